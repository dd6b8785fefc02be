//! `jax.scipy.linalg`: `solve_triangular`, `cho_factor`, `cho_solve`, `lu_factor`,
//! `lu_solve`, composed from the `triangular_solve`, `cholesky`, `lu` and
//! `lu_pivots_to_permutation` primitives as JAX composes them. Any leading batch dimensions;
//! bad input panics with an `Error` (caught as `Err` inside transformations), as `numpy` does.

use crate::array::Array;
use crate::core::error::{or_raise, Error, Result};
use crate::lax;
use crate::numpy::linalg::check_square;
use crate::numpy::AsArray;
use crate::prims::linalg::{lu_solve_core, mt};

/// Float operands of one dtype.
fn floats(a: &Array, b: &Array) -> Result<(Array, Array)> {
    let v = crate::numpy::promote_and_broadcast_dtypes(&[a.clone(), b.clone()])?;
    let to_float = |x: &Array| match x.dtype() {
        crate::DType::F32 | crate::DType::F64 => Ok(x.clone()),
        _ => lax::convert_element_type(x, crate::DType::F32),
    };
    Ok((to_float(&v[0])?, to_float(&v[1])?))
}

/// Apply `f` to `b` as a batch of matrices: a `b` with one dimension fewer than `a` is a
/// batch of vectors, solved as single columns (JAX's `singleton` handling).
fn on_columns(
    name: &str,
    a: &Array,
    b: &Array,
    f: impl FnOnce(&Array) -> Result<Array>,
) -> Result<Array> {
    let n = check_square(name, a)?;
    let vector = b.ndim() + 1 == a.ndim();
    let bm = if vector {
        lax::expand_dims(b, b.ndim())?
    } else {
        b.clone()
    };
    let nd = a.ndim();
    if bm.ndim() != nd || bm.shape()[..nd - 2] != a.shape()[..nd - 2] || bm.shape()[nd - 2] != n {
        return Err(Error::value_err(format!(
            "{name}: incompatible shapes a {} and b {} (b must be [..., n] or [..., n, k] with a's batch dimensions)",
            a.aval(),
            b.aval()
        )));
    }
    let x = f(&bm)?;
    if vector {
        lax::squeeze(&x, &[nd - 1])
    } else {
        Ok(x)
    }
}

/// `solve_triangular(a, b, trans, lower, unit_diagonal)`: `x` with `op(a) x = b`, `op` the
/// identity (`trans = 0`), the transpose (1) or the conjugate transpose (2).
pub fn solve_triangular(
    a: impl AsArray,
    b: impl AsArray,
    trans: u8,
    lower: bool,
    unit_diagonal: bool,
) -> Array {
    or_raise((|| {
        let (a, b) = floats(&a.as_array(), &b.as_array())?;
        if trans > 2 {
            return Err(Error::value_err(format!(
                "solve_triangular: trans must be 0, 1 or 2, got {trans}"
            )));
        }
        on_columns("solve_triangular", &a, &b, |b| {
            lax::triangular_solve(&a, b, true, lower, trans != 0, trans == 2, unit_diagonal)
        })
    })())
}

/// `cho_factor(a, lower)`: `(c, lower)`, `c` the Cholesky factor (lower, or upper when
/// `lower` is false) of `a` (the triangle `lower` names is read).
pub fn cho_factor(a: impl AsArray, lower: bool) -> (Array, bool) {
    or_raise((|| {
        let a = a.as_array();
        let (a, _) = floats(&a, &a)?;
        check_square("cho_factor", &a)?;
        let c = if lower {
            lax::cholesky(&a)?
        } else {
            mt(&lax::cholesky(&mt(&a)?)?)?
        };
        Ok((c, lower))
    })())
}

/// `cho_solve((c, lower), b)`: `x` with `a x = b`, `c` from `cho_factor`.
pub fn cho_solve(c_and_lower: (&Array, bool), b: impl AsArray) -> Array {
    let (c, lower) = c_and_lower;
    or_raise((|| {
        let (c, b) = floats(c, &b.as_array())?;
        on_columns("cho_solve", &c, &b, |b| {
            let x = lax::triangular_solve(&c, b, true, lower, !lower, !lower, false)?;
            lax::triangular_solve(&c, &x, true, lower, lower, lower, false)
        })
    })())
}

/// `lu_factor(a)`: `(lu, piv)`, LAPACK-style pivots.
pub fn lu_factor(a: impl AsArray) -> (Array, Array) {
    or_raise((|| {
        let a = a.as_array();
        let (a, _) = floats(&a, &a)?;
        let (lu, piv, _) = lax::lu(&a)?;
        Ok((lu, piv))
    })())
}

/// `lu_solve((lu, piv), b, trans)`: `x` with `a x = b` (`trans = 0`) or `aᵀ x = b` (1, 2).
pub fn lu_solve(lu_and_piv: (&Array, &Array), b: impl AsArray, trans: u8) -> Array {
    let (lu, piv) = lu_and_piv;
    or_raise((|| {
        let (lu, b) = floats(lu, &b.as_array())?;
        if trans > 2 {
            return Err(Error::value_err(format!(
                "lu_solve: trans must be 0, 1 or 2, got {trans}"
            )));
        }
        let n = check_square("lu_solve", &lu)?;
        let perm = lax::lu_pivots_to_permutation(piv, n)?;
        on_columns("lu_solve", &lu, &b, |b| {
            lu_solve_core(&lu, &perm, b, trans != 0)
        })
    })())
}
