//! Small random programs for property tests (shared by tests/autodiff.rs, tests/vmap.rs and
//! tests/jit.rs): a chain of unary, binary, reduce-and-broadcast, dot and indexing steps on a
//! value of shape (a, b), driven by two inputs `x: (a, b)` and `y: (b,)`, returning the final
//! value and its sum of squares (two outputs, one of them scalar). Every step keeps the shape
//! (a, b), for any a and b, 0 and 1 included.

use cranax::core::error::or_raise;
use cranax::lax;
use cranax::prims::DotGeneral;
use cranax::{Array, DType, Result};
use proptest::prelude::*;

#[derive(Clone, Debug)]
pub enum Step {
    /// sin, cos, tanh, logistic, neg, exp of tanh, integer_pow 2 of tanh, abs, log1p of square.
    Unary(u8),
    /// `v op x` for add, sub, mul, max, min, and `v / (2 + x^2)`.
    WithX(u8),
    /// `v op broadcast(y)` (y along the last axis).
    WithY(u8),
    /// `v op c` with a literal (add, mul, sub from, div by `1 + c^2`).
    WithConst(u8, f64),
    /// `broadcast(reduce_sum(v, axis))` or the same with reduce_max, scaled by 1.2 / len.
    Reduce { axis: usize, max: bool },
    /// `v @ W` with a constant (b, b) matrix, `W' @ v` with an (a, a) one, or `(v vᵀ) v 3 / ab`
    /// (each scaled so that its sums stay O(1): on (3, 4) as before, `/ 4`).
    Dot(u8),
    /// Layout round trips: transpose of a reshape; concatenate with x then a strided slice;
    /// pad then slice; a gather of rows (row i takes row (2i + 2) mod a); a
    /// dynamic_update_slice of an up-to-2x2 window (start indices clamped); a select.
    Layout(u8),
}

pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..9).prop_map(Step::Unary),
        (0u8..6).prop_map(Step::WithX),
        (0u8..4).prop_map(Step::WithY),
        ((0u8..4), -1.5f64..1.5).prop_map(|(k, c)| Step::WithConst(k, c)),
        ((0usize..2), any::<bool>()).prop_map(|(axis, max)| Step::Reduce { axis, max }),
        (0u8..3).prop_map(Step::Dot),
        (0u8..6).prop_map(Step::Layout),
    ]
}

pub fn program() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 1..7)
}

/// `n` values in [-2, 2].
pub fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-2.0f64..2.0, n)
}

fn ok(r: Result<Array>) -> Array {
    or_raise(r)
}

/// A constant matrix for `v @ W` or `W @ v`, its entries scaled by 3.2 / n (n = its contracted
/// length, `shape[0]`) so that the products stay O(1) on any shape.
fn konst(shape: &[usize], seed: f64, dtype: DType) -> Array {
    let n: usize = shape.iter().product();
    let scale = 3.2 / shape[0].max(1) as f64;
    let v: Vec<f64> = (0..n)
        .map(|k| ((k as f64 + 1.0) * (0.7 + seed)).sin() * scale)
        .collect();
    let a = Array::from_vec(v, shape).unwrap();
    ok(lax::convert_element_type(&a, dtype))
}

fn lit(x: &Array, v: f64) -> Array {
    lax::scalar_like(x, v)
}

/// Run the program on `x: (a, b)` and `y: (b,)`: returns `(v, sum(v^2))`.
pub fn run(steps: &[Step], x: &Array, y: &Array) -> (Array, Array) {
    let dt = x.dtype();
    let shape = [x.shape()[0], x.shape()[1]];
    let [a, b] = shape;
    let mut v = ok(lax::sin(x));
    for s in steps {
        v = match s {
            Step::Unary(k) => ok(match k {
                0 => lax::sin(&v),
                1 => lax::cos(&v),
                2 => lax::tanh(&v),
                3 => lax::logistic(&v),
                4 => lax::neg(&v),
                5 => lax::tanh(&v).and_then(|t| lax::exp(&t)),
                6 => lax::tanh(&v).and_then(|t| lax::integer_pow(&t, 2)),
                7 => lax::abs(&v),
                _ => lax::square(&v).and_then(|t| lax::log1p(&t)),
            }),
            Step::WithX(k) => ok(match k {
                0 => lax::add(&v, x),
                1 => lax::sub(&v, x),
                2 => lax::mul(&v, x),
                3 => lax::max(&v, x),
                4 => lax::min(&v, x),
                _ => lax::square(x)
                    .and_then(|x2| lax::add(&x2, &lit(x, 2.0)))
                    .and_then(|d| lax::div(&v, &d)),
            }),
            Step::WithY(k) => {
                let yb = ok(lax::broadcast_in_dim(y, &shape, &[1]));
                ok(match k {
                    0 => lax::add(&v, &yb),
                    1 => lax::mul(&v, &yb),
                    2 => lax::sub(&yb, &v),
                    _ => lax::tanh(&yb).and_then(|t| lax::mul(&t, &v)),
                })
            }
            Step::WithConst(k, c) => ok(match k {
                0 => lax::add(&v, &lit(&v, *c)),
                1 => lax::mul(&lit(&v, *c), &v),
                2 => lax::sub(&lit(&v, *c), &v),
                _ => lax::div(&v, &lit(&v, 1.0 + c * c)),
            }),
            Step::Reduce { axis, max } => {
                let r = ok(if *max {
                    lax::reduce_max(&v, &[*axis])
                } else {
                    lax::reduce_sum(&v, &[*axis])
                });
                let keep = 1 - axis;
                // 0.3 per 4 terms summed (or, for max, 1.2 / len), so sums stay O(1).
                let scale = 1.2 / shape[*axis].max(1) as f64;
                ok(lax::broadcast_in_dim(&r, &shape, &[keep])
                    .and_then(|b| lax::mul(&b, &lit(&b, scale))))
            }
            Step::Dot(k) => ok(match k {
                0 => lax::dot_general(&v, &konst(&[b, b], 0.1, dt), DotGeneral::contract(1, 0)),
                1 => lax::dot_general(&konst(&[a, a], 0.2, dt), &v, DotGeneral::contract(1, 0)),
                _ => lax::dot_general(&v, &v, DotGeneral::contract(1, 1))
                    .and_then(|g| lax::dot_general(&g, &v, DotGeneral::contract(1, 0)))
                    .and_then(|r| lax::mul(&r, &lit(&r, 3.0 / (a * b).max(1) as f64))),
            }),
            Step::Layout(k) => ok(match k {
                0 => lax::reshape(&v, &[b, a]).and_then(|r| lax::transpose(&r, &[1, 0])),
                // Columns 1, 3, ..., 2b - 1 of [v x]: v's odd columns, then x's.
                1 => lax::concatenate(&[v.clone(), x.clone()], 1)
                    .and_then(|c| lax::slice(&c, &[0, b.min(1)], &[a, 2 * b], Some(&[1, 2]))),
                2 => lax::pad(&v, &lit(&v, 0.5), &[(1, 0, 0), (0, 1, 1)])
                    .and_then(|p| lax::slice(&p, &[1, 0], &[a + 1, 2 * b], Some(&[1, 2]))),
                3 => {
                    let rows: Vec<i32> = (0..a).map(|i| ((2 * i + 2) % a) as i32).collect();
                    lax::take_clamped(&v, &Array::from_slice(&rows), 0)
                }
                4 => lax::dynamic_slice(
                    &v,
                    &[Array::scalar(1i32), Array::scalar(1i32)],
                    &[a.min(2), b.min(2)],
                )
                .and_then(|w| lax::square(&w))
                .and_then(|w| {
                    lax::dynamic_update_slice(&v, &w, &[Array::scalar(0i32), Array::scalar(2i32)])
                }),
                _ => lax::gt(&v, x).and_then(|p| lax::select(&p, &v, &lax::mul(x, &lit(x, 0.5))?)),
            }),
        };
    }
    let s = ok(lax::mul(&v, &v).and_then(|s| lax::reduce_sum(&s, &[0, 1])));
    (v, s)
}
