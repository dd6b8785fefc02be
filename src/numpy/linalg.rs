//! `jnp.linalg`: `solve`, `inv`, `det`, `slogdet`, `cholesky`, composed from the `lu`,
//! `triangular_solve` and `cholesky` primitives as JAX composes them. `solve` factors once and
//! its derivative (forward and reverse) reuses that factorisation, as JAX's
//! `custom_linear_solve` does. Any leading batch dimensions; bad input panics with an `Error`
//! (caught as `Err` inside transformations), as the rest of `numpy`.

use super::AsArray;
use crate::api::custom::custom_jvp;
use crate::api::Function;
use crate::array::Array;
use crate::core::error::{or_raise, Error, Result};
use crate::dtype::{DType, Scalar};
use crate::lax;
use crate::prims::linalg::{matmul, mt, permute_rows, tril};

/// Float operands of one dtype (integers become the default float, as JAX's
/// `promote_dtypes_inexact`).
fn inexact(xs: &[Array]) -> Result<Vec<Array>> {
    let v = super::promote_and_broadcast_dtypes(xs)?;
    v.iter()
        .map(|x| match x.dtype() {
            DType::F32 | DType::F64 => Ok(x.clone()),
            _ => lax::convert_element_type(x, DType::F32),
        })
        .collect()
}

/// `a` must be a batch of square matrices.
pub(crate) fn check_square(name: &str, a: &Array) -> Result<usize> {
    let nd = a.ndim();
    if nd < 2 || a.shape()[nd - 1] != a.shape()[nd - 2] {
        return Err(Error::value_err(format!(
            "{name}: argument must be a batch of square matrices (shape [..., n, n]), got {}",
            a.aval()
        )));
    }
    Ok(a.shape()[nd - 1])
}

/// `lu_solve` on a factored batch: `x` with `a x = b` (`trans = false`) or `aᵀ x = b`, `b` a
/// batch of matrices `[..., m, k]` with `a`'s batch dimensions (JAX's `_lu_solve_core`).
pub(crate) fn lu_solve_core(lu: &Array, perm: &Array, b: &Array, trans: bool) -> Result<Array> {
    let ts = |a: &Array, b: &Array, lower: bool, transpose_a: bool, unit: bool| {
        lax::triangular_solve(a, b, true, lower, transpose_a, false, unit)
    };
    if !trans {
        let x = permute_rows(b, perm)?;
        let x = ts(lu, &x, true, false, true)?;
        ts(lu, &x, false, false, false)
    } else {
        let x = ts(lu, b, false, true, false)?;
        let x = ts(lu, &x, true, true, true)?;
        permute_rows(&x, &inverse_permutation(perm)?)
    }
}

/// `inv[..., perm[..., i]] = i`.
fn inverse_permutation(perm: &Array) -> Result<Array> {
    let nd = perm.ndim();
    let m = perm.shape()[nd - 1];
    let batch: usize = perm.shape()[..nd - 1].iter().product();
    let offsets = lax::mul(
        &lax::iota(DType::I32, &[batch, m], 0)?,
        &Array::full(&[batch, m], Scalar::I32(m as i32)),
    )?;
    let idx = lax::add(&offsets, &lax::reshape(perm, &[batch, m])?)?;
    let local = lax::iota(DType::I32, &[batch * m], 0)?;
    let local = lax::sub(&local, &lax::reshape(&offsets, &[batch * m])?)?;
    let inv = lax::scatter_add(
        &Array::zeros(&[batch * m], DType::I32),
        &lax::reshape(&idx, &[batch * m])?,
        &local,
        0,
    )?;
    lax::reshape(&inv, perm.shape())
}

/// `b` as a batch of matrices: a vector (`b.ndim() == 1`) becomes one column.
fn as_columns(b: &Array) -> Result<(Array, bool)> {
    if b.ndim() == 1 {
        Ok((lax::expand_dims(b, 1)?, true))
    } else {
        Ok((b.clone(), false))
    }
}

fn solve_impl(a: &Array, b: &Array) -> Result<Array> {
    let v = inexact(&[a.clone(), b.clone()])?;
    let (a, b) = (&v[0], &v[1]);
    let n = check_square("solve", a)?;
    let (bm, vector) = as_columns(b)?;
    let nd = a.ndim();
    if (vector && nd != 2)
        || (!vector && (bm.ndim() != nd || bm.shape()[..nd - 2] != a.shape()[..nd - 2]))
        || bm.shape()[bm.ndim() - 2] != n
    {
        return Err(Error::value_err(format!(
            "solve: incompatible shapes a {} and b {} (b must be [n] or [..., n, k] with a's batch dimensions)",
            a.aval(),
            b.aval()
        )));
    }
    // x = A⁻¹ b, and ẋ = A⁻¹ (ḃ - Ȧ x) with the same factors of A (custom_linear_solve).
    let f = custom_jvp(
        |a: &Array, b: &Array| {
            let (lu, _, perm) = or_raise(lax::lu(a));
            or_raise(lu_solve_core(&lu, &perm, b, false))
        },
        |p: &[Array], t: &[Array]| {
            let (lu, _, perm) = or_raise(lax::lu(&p[0]));
            let x = or_raise(lu_solve_core(&lu, &perm, &p[1], false));
            let rhs = or_raise(lax::sub(&t[1], &or_raise(matmul(&t[0], &x))));
            let xd = or_raise(lu_solve_core(&lu, &perm, &rhs, false));
            (vec![x], vec![xd])
        },
    );
    let x = f.call((a.clone(), bm))?;
    if vector {
        lax::squeeze(&x, &[1])
    } else {
        Ok(x)
    }
}

/// `jnp.linalg.solve(a, b)`: `x` with `a x = b`; `b` is `[n]` (with `a` one matrix) or
/// `[..., n, k]` with `a`'s batch dimensions. Singular `a` gives infinities/NaNs.
pub fn solve(a: impl AsArray, b: impl AsArray) -> Array {
    or_raise(solve_impl(&a.as_array(), &b.as_array()))
}

/// `jnp.linalg.inv(a)`: `solve(a, I)`.
pub fn inv(a: impl AsArray) -> Array {
    let a = a.as_array();
    or_raise((|| {
        let a = &inexact(std::slice::from_ref(&a))?[0];
        let n = check_square("inv", a)?;
        let eye = lax::convert_element_type(&Array::eye(n, DType::F64), a.dtype())?;
        solve_impl(a, &lax::broadcast_to_rank(&eye, a.shape())?)
    })())
}

/// `(sign, log|det|)` from an LU factorisation: `(0, -inf)` when a pivot is zero.
fn slogdet_impl(a: &Array) -> Result<(Array, Array)> {
    let a = &inexact(std::slice::from_ref(a))?[0];
    let n = check_square("slogdet", a)?;
    let (lu, pivots, _) = lax::lu(a)?;
    let diag = diagonal(&lu, n)?;
    let last = diag.ndim() - 1;
    let zero = lax::full(diag.aval(), 0.0)?;
    let is_zero = lax::reduce_max(
        &lax::convert_element_type(&lax::eq(&diag, &zero)?, DType::I32)?,
        &[last],
    )?;
    let is_zero = lax::ne(&is_zero, &Array::full(is_zero.shape(), Scalar::I32(0)))?;
    // sign = (-1)^(row swaps + negative pivots).
    let count = |x: Array| lax::reduce_sum(&lax::convert_element_type(&x, DType::I32)?, &[last]);
    let iota = lax::broadcast_to_rank(&lax::iota(DType::I32, &[n], 0)?, pivots.shape())?;
    let flips = lax::add(
        &count(lax::ne(&pivots, &iota)?)?,
        &count(lax::lt(&diag, &zero)?)?,
    )?;
    let odd = lax::and(&flips, &Array::full(flips.shape(), Scalar::I32(1)))?;
    let odd = lax::convert_element_type(&odd, a.dtype())?;
    let sign = lax::sub(
        &lax::full(odd.aval(), 1.0)?,
        &lax::mul(&lax::full(odd.aval(), 2.0)?, &odd)?,
    )?;
    let logdet = lax::reduce_sum(&lax::log(&lax::abs(&diag)?)?, &[last])?;
    let sign = lax::select(&is_zero, &lax::full(sign.aval(), 0.0)?, &sign)?;
    let logdet = lax::select(
        &is_zero,
        &lax::full(logdet.aval(), f64::NEG_INFINITY)?,
        &logdet,
    )?;
    Ok((sign, logdet))
}

/// The diagonals `x[..., i, i]` of a batch of `n x n` matrices.
fn diagonal(x: &Array, n: usize) -> Result<Array> {
    let nd = x.ndim();
    let eye = lax::broadcast_to_rank(
        &lax::eq(
            &lax::iota(DType::I32, &[n, n], 0)?,
            &lax::iota(DType::I32, &[n, n], 1)?,
        )?,
        x.shape(),
    )?;
    let masked = lax::select(&eye, x, &lax::full(x.aval(), 0.0)?)?;
    lax::reduce_sum(&masked, &[nd - 1])
}

/// `jnp.linalg.slogdet(a)`: `(sign, logabsdet)` of each matrix, from its LU factors.
pub fn slogdet(a: impl AsArray) -> (Array, Array) {
    or_raise(slogdet_impl(&a.as_array()))
}

/// `jnp.linalg.det(a)`: `sign * exp(logabsdet)`.
pub fn det(a: impl AsArray) -> Array {
    or_raise((|| {
        let (sign, logdet) = slogdet_impl(&a.as_array())?;
        lax::mul(&sign, &lax::exp(&logdet)?)
    })())
}

/// `jnp.linalg.cholesky(a)`: the lower factor of `(a + aᵀ)/2` (NaNs where not positive
/// definite).
pub fn cholesky(a: impl AsArray) -> Array {
    or_raise((|| {
        let a = &inexact(&[a.as_array()])?[0];
        check_square("cholesky", a)?;
        let sym = lax::div(&lax::add(a, &mt(a)?)?, &lax::full(a.aval(), 2.0)?)?;
        tril(&lax::cholesky(&sym)?, 0)
    })())
}
