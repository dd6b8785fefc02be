//! `jax.lax.linalg`: the linear-algebra primitives as functions, with JAX's parameters
//! (`cholesky`, `triangular_solve`, `lu`, `lu_pivots_to_permutation` are also at `lax::`).

use crate::array::Array;
use crate::core::error::Result;
use crate::core::trace::bind;
use crate::prims::{LinalgOp, Prim};

pub use super::{cholesky, lu, lu_pivots_to_permutation, triangular_solve};
pub use crate::prims::linalg::{EighImplementation, SvdAlgorithm};

fn qr_op(x: &Array, pivoting: bool, full_matrices: bool) -> Result<Vec<Array>> {
    let op = LinalgOp::Qr {
        pivoting,
        full_matrices,
        use_magma: None,
    };
    bind(Prim::Linalg(op), std::slice::from_ref(x))
}

/// `lax.linalg.qr(x, full_matrices=...)`: `(q, r)` with `x = q r`, `q` `[..., m, k]` with
/// orthonormal columns and `r` `[..., k, n]` upper triangular, `k = m` (full) or `min(m, n)`.
///
/// # Errors
/// A non-float operand of fewer than two dimensions.
pub fn qr(x: &Array, full_matrices: bool) -> Result<(Array, Array)> {
    let mut o = qr_op(x, false, full_matrices)?.into_iter();
    Ok((o.next().expect("q"), o.next().expect("r")))
}

/// `lax.linalg.qr(x, pivoting=True, full_matrices=...)`: `(q, r, p)` with `x[..., p] = q r`
/// and `|r|`'s diagonal non-increasing.
///
/// # Errors
/// As [`qr`].
pub fn qr_pivoted(x: &Array, full_matrices: bool) -> Result<(Array, Array, Array)> {
    let mut o = qr_op(x, true, full_matrices)?.into_iter();
    Ok((
        o.next().expect("q"),
        o.next().expect("r"),
        o.next().expect("p"),
    ))
}

/// The keyword arguments of `lax.linalg.eigh`, with JAX's defaults.
#[derive(Clone, Debug)]
pub struct EighOptions {
    /// Which triangle is read when `symmetrize_input` is false.
    pub lower: bool,
    /// Use `(x + xᵀ) / 2` (better behaved under differentiation).
    pub symmetrize_input: bool,
    /// Always true in effect: eigenvalues come ascending, as on JAX's CPU backend.
    pub sort_eigenvalues: bool,
    /// Only eigenvalues `start..end` (ascending order) and their eigenvectors.
    pub subset_by_index: Option<(usize, usize)>,
    /// JAX's `implementation` (recorded and printed; the decomposition is faer's).
    pub implementation: Option<EighImplementation>,
}

impl Default for EighOptions {
    fn default() -> Self {
        EighOptions {
            lower: true,
            symmetrize_input: true,
            sort_eigenvalues: true,
            subset_by_index: None,
            implementation: None,
        }
    }
}

/// `lax.linalg.eigh(x, ...)`: `(v, w)`, eigenvalues `w` ascending and orthonormal
/// eigenvectors `v[..., :, i]` of each symmetric matrix. Eigenvector signs are faer's, which
/// can differ from LAPACK's (JAX's) per column.
///
/// # Errors
/// A non-float operand that is not a batch of square matrices, or an algorithm JAX's CPU backend lacks.
pub fn eigh(x: &Array, opts: &EighOptions) -> Result<(Array, Array)> {
    // (A rank below 2 is the primitive's error, not the transpose's.)
    let x = if opts.symmetrize_input && x.ndim() >= 2 {
        crate::prims::linalg::symmetrize(x)?
    } else {
        x.clone()
    };
    let op = LinalgOp::Eigh {
        lower: opts.lower,
        sort_eigenvalues: opts.sort_eigenvalues,
        subset_by_index: opts.subset_by_index,
        algorithm: opts.implementation,
    };
    let mut o = bind(Prim::Linalg(op), &[x])?.into_iter();
    Ok((o.next().expect("v"), o.next().expect("w")))
}

/// The keyword arguments of `lax.linalg.svd` other than `compute_uv`, with JAX's defaults.
#[derive(Clone, Debug)]
pub struct SvdOptions {
    /// Square `U` and `Vh` instead of the economy sizes.
    pub full_matrices: bool,
    /// Only singular values `start..end` (descending order) and their vectors.
    pub subset_by_index: Option<(usize, usize)>,
    /// JAX's `algorithm` (recorded and printed; the decomposition is faer's).
    pub algorithm: Option<SvdAlgorithm>,
}

impl Default for SvdOptions {
    fn default() -> Self {
        SvdOptions {
            full_matrices: true,
            subset_by_index: None,
            algorithm: None,
        }
    }
}

fn svd_op(x: &Array, compute_uv: bool, opts: &SvdOptions) -> Result<Vec<Array>> {
    let op = LinalgOp::Svd {
        full_matrices: opts.full_matrices,
        compute_uv,
        subset_by_index: opts.subset_by_index,
        algorithm: opts.algorithm,
    };
    bind(Prim::Linalg(op), std::slice::from_ref(x))
}

/// `lax.linalg.svd(x, compute_uv=True, ...)`: `(u, s, vt)` with `x = u diag(s) vt`, singular
/// values descending. Singular-vector signs are faer's: a pair `(u[:, i], vt[i])` can be the
/// negation of LAPACK's (JAX's).
///
/// # Errors
/// A non-float operand of fewer than two dimensions, or an algorithm JAX's CPU backend lacks.
pub fn svd(x: &Array, opts: &SvdOptions) -> Result<(Array, Array, Array)> {
    let mut o = svd_op(x, true, opts)?.into_iter();
    let s = o.next().expect("s");
    Ok((o.next().expect("u"), s, o.next().expect("vt")))
}

/// `lax.linalg.svd(x, compute_uv=False, ...)`: the singular values, descending.
///
/// # Errors
/// As [`svd`].
pub fn svd_values(x: &Array, opts: &SvdOptions) -> Result<Array> {
    Ok(svd_op(x, false, opts)?.remove(0))
}
