//! Random exact programs for property tests of compiled code (shared by tests/jit.rs and
//! tests/jit_control.rs): steps over a matrix that may be transposed on the way, each exact in
//! IEEE arithmetic, so compiled code must agree with the interpreter bit for bit.

use cranax::{lax, Array, Result};
use proptest::prelude::*;

/// One step of a random program over a matrix that may be transposed on the way; every step is
/// exact in IEEE arithmetic, so compiled code must agree with the interpreter bit for bit.
#[derive(Clone, Debug)]
pub enum ExactStep {
    /// neg, abs, square, sqrt(abs), `v * 0.5`, integer_pow 3.
    Unary(u8),
    /// `v op x` (x in the current orientation): add, sub, mul, max, min, `v / (1 + x*x)`.
    WithX(u8),
    /// `v op row` with the row broadcast along the last axis (the same ops).
    WithRow(u8),
    /// `v op col` with the column broadcast along the first axis (the same ops).
    WithCol(u8),
    /// `select(v < c, v, c - v)` for a literal c.
    Select(f64),
    /// transpose (the rest of the program sees the other orientation).
    Transpose,
    /// `broadcast(reduce_max(v, axis))`.
    MaxBack(usize),
}

pub fn exact_step() -> impl Strategy<Value = ExactStep> {
    prop_oneof![
        (0u8..6).prop_map(ExactStep::Unary),
        (0u8..6).prop_map(ExactStep::WithX),
        (0u8..6).prop_map(ExactStep::WithRow),
        (0u8..6).prop_map(ExactStep::WithCol),
        (-1.5f64..1.5).prop_map(ExactStep::Select),
        Just(ExactStep::Transpose),
        (0usize..2).prop_map(ExactStep::MaxBack),
    ]
}

fn exact_binary(k: u8, v: &Array, w: &Array) -> Result<Array> {
    match k {
        0 => lax::add(v, w),
        1 => lax::sub(v, w),
        2 => lax::mul(v, w),
        3 => lax::max(v, w),
        4 => lax::min(v, w),
        _ => lax::div(v, &lax::add(&lax::mul(w, w)?, &lax::scalar_like(w, 1.0))?),
    }
}

/// Apply an exact program to `v`, of the shape of `x: [a, b]`, with `row: [b]` and `col: [a]`:
/// the final value and whether it is transposed (an odd number of `Transpose` steps).
pub fn apply_exact(
    steps: &[ExactStep],
    v: &Array,
    x: &Array,
    row: &Array,
    col: &Array,
) -> Result<(Array, bool)> {
    let xt = lax::transpose(x, &[1, 0])?;
    let mut v = v.clone();
    let mut flipped = false;
    for step in steps {
        let shape = v.shape().to_vec();
        // In the flipped orientation the row runs along the first axis and the column along
        // the last.
        let (last, first) = if flipped { (col, row) } else { (row, col) };
        v = match step {
            ExactStep::Unary(k) => match k {
                0 => lax::neg(&v)?,
                1 => lax::abs(&v)?,
                2 => lax::square(&v)?,
                3 => lax::sqrt(&lax::abs(&v)?)?,
                4 => lax::mul(&v, &lax::scalar_like(&v, 0.5))?,
                _ => lax::integer_pow(&v, 3)?,
            },
            ExactStep::WithX(k) => exact_binary(*k, &v, if flipped { &xt } else { x })?,
            ExactStep::WithRow(k) => {
                exact_binary(*k, &v, &lax::broadcast_in_dim(last, &shape, &[1])?)?
            }
            ExactStep::WithCol(k) => {
                exact_binary(*k, &v, &lax::broadcast_in_dim(first, &shape, &[0])?)?
            }
            ExactStep::Select(c) => {
                let c = lax::scalar_like(&v, *c);
                let c = lax::broadcast_in_dim(&c, &shape, &[])?;
                lax::select(&lax::lt(&v, &c)?, &v, &lax::sub(&c, &v)?)?
            }
            ExactStep::Transpose => {
                flipped = !flipped;
                lax::transpose(&v, &[1, 0])?
            }
            ExactStep::MaxBack(axis) => {
                let m = lax::reduce_max(&v, &[*axis])?;
                lax::broadcast_in_dim(&m, &shape, &[1 - axis])?
            }
        };
    }
    Ok((v, flipped))
}
