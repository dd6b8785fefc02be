//! `jnp.linalg`: `solve`, `inv`, `det`, `slogdet`, `cholesky`, `qr`, `eigh`, `eigvalsh`,
//! `svd`, `norm`, `lstsq`, `pinv`, `matrix_power`, composed from the `lu`, `triangular_solve`,
//! `cholesky`, `qr`, `eigh` and `svd` primitives as JAX composes them. `solve` factors once and
//! its derivative (forward and reverse) reuses that factorisation, as JAX's
//! `custom_linear_solve` does; `pinv` has JAX's custom JVP. Any leading batch dimensions
//! (`lstsq`: one matrix, as JAX); bad input panics with an `Error` (caught as `Err` inside
//! transformations), as the rest of `numpy`.

use super::AsArray;
use crate::api::custom::custom_jvp;
use crate::api::Function;
use crate::array::Array;
use crate::core::error::{or_raise, shape_str, Error, Result};
use crate::dtype::{DType, Scalar};
use crate::lax;
use crate::lax::linalg::{EighOptions, SvdOptions};
use crate::numpy as jnp;
use crate::prims::linalg::{diagonal, lu_solve_core, matmul, mt, symmetrize, tril};

/// Float operands of one dtype (integers become the default float, as JAX's
/// `promote_dtypes_inexact`).
fn inexact(xs: &[Array]) -> Result<Vec<Array>> {
    let v = super::promote_and_broadcast_dtypes(xs)?;
    v.iter()
        .map(|x| match x.dtype() {
            DType::F32 | DType::F64 => Ok(x.clone()),
            // JAX's linalg kernels have no 16-bit float forms either.
            d if d.is_half() => Err(Error::type_err(format!(
                "linalg: unsupported dtype {}: the decompositions take float32 or float64",
                d.numpy_name()
            ))),
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

/// JAX's `jnp.vectorize` core-dimension check for `solve`'s signature.
fn solve_shapes(a: &Array, b: &Array) -> Result<()> {
    let (sa, sb) = (a.shape(), b.shape());
    let (na, nb) = (sa.len(), sb.len());
    if na < 2 {
        return Err(Error::value_err(format!(
            "solve: left hand array must be at least two dimensional; got a.shape={}",
            shape_str(sa)
        )));
    }
    if nb > 1 && na == nb + 1 && sa[na - 1] == sb[nb - 1] && sa[na - 1] != sb[nb - 2] {
        return Err(Error::value_err(format!(
            "Invalid shapes for solve: {}, {}. Prior to JAX v0.5.0, this would have been treated as a batched 1-dimensional solve. To recover this behavior, use solve(a, b[..., None]).squeeze(-1).",
            shape_str(sa),
            shape_str(sb)
        )));
    }
    let (sig, bm) = if nb == 1 {
        ("(m,m),(m)->(m)", sb[0])
    } else if nb == 0 {
        return Err(Error::value_err(format!(
            "solve: b must have at least one dimension, got b.shape={}",
            shape_str(sb)
        )));
    } else {
        ("(m,m),(m,n)->(m,n)", sb[nb - 2])
    };
    let m = sa[na - 2];
    for got in [sa[na - 1], bm] {
        if got != m {
            return Err(Error::value_err(format!(
                "solve: inconsistent size for core dimension 'm': {got} vs {m} on vectorized function with signature '{sig}' (a must be square, [..., m, m], and b [..., m] or [..., m, n]), got a {} and b {}",
                a.aval(),
                b.aval()
            )));
        }
    }
    Ok(())
}

/// `x` with `a x = b` for `a` `[..., n, n]` and `b` `[..., n, k]` of the same batch shape:
/// one LU factorisation, reused by the derivative (`custom_linear_solve`).
fn solve_core(a: &Array, b: &Array) -> Result<Array> {
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
    f.call((a.clone(), b.clone()))
}

fn solve_impl(a: &Array, b: &Array) -> Result<Array> {
    let v = inexact(&[a.clone(), b.clone()])?;
    let (a, b) = (&v[0], &v[1]);
    solve_shapes(a, b)?;
    let nd = a.ndim();
    let n = a.shape()[nd - 1];
    let vector = b.ndim() == 1;
    let b_batch = if vector {
        &[][..]
    } else {
        &b.shape()[..b.ndim() - 2]
    };
    let batch = super::broadcast_shapes("solve", &[&a.shape()[..nd - 2], b_batch])?;
    let k = if vector { 1 } else { b.shape()[b.ndim() - 1] };
    let nb = batch.len();
    let bm = if vector {
        let bv = lax::broadcast_to_rank(b, &[&batch[..], &[n]].concat())?;
        lax::expand_dims(&bv, nb + 1)?
    } else {
        lax::broadcast_to_rank(b, &[&batch[..], &[n, k]].concat())?
    };
    let x = if nd == 2 && nb > 0 {
        // One matrix, many right-hand sides: factor once, the batch folded into columns.
        let cols = lax::moveaxis(&bm, nb, 0)?;
        let wide = lax::reshape(&cols, &[n, cols.size() / n.max(1)])?;
        let x = solve_core(a, &wide)?;
        lax::moveaxis(&lax::reshape(&x, cols.shape())?, 0, nb)?
    } else {
        let a = lax::broadcast_to_rank(a, &[&batch[..], &[n, n]].concat())?;
        solve_core(&a, &bm)?
    };
    if vector {
        lax::squeeze(&x, &[nb + 1])
    } else {
        Ok(x)
    }
}

/// `jnp.linalg.solve(a, b)`: `x` with `a x = b`; `b` is `[n]` or `[..., n, k]`, the batch
/// dimensions of `a` and `b` broadcast against each other (as JAX's `jnp.vectorize` with
/// signature `(m,m),(m,n)->(m,n)`). Singular `a` gives infinities/NaNs.
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
    let diag = diagonal(&lu)?;
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
        tril(&lax::cholesky(&symmetrize(a)?)?, 0)
    })())
}

/// The result of [`qr`]: `(Q, R)`, or `R` alone for mode `"r"` (JAX returns a `QRResult` or
/// an array).
#[derive(Clone, Debug)]
pub enum QrResult {
    /// `(Q, R)`.
    QR(Array, Array),
    /// `R` alone (mode `"r"`).
    R(Array),
}

impl QrResult {
    /// `(Q, R)`; mode `"r"` has no `Q` (an error raised as `numpy` raises).
    pub fn qr(self) -> (Array, Array) {
        match self {
            QrResult::QR(q, r) => (q, r),
            QrResult::R(_) => or_raise(Err(Error::value_err(
                "qr: mode 'r' computes R only; use mode 'reduced' or 'complete' for Q",
            ))),
        }
    }

    /// `R`.
    pub fn r(&self) -> &Array {
        match self {
            QrResult::QR(_, r) | QrResult::R(r) => r,
        }
    }
}

/// `jnp.linalg.qr(a, mode)`: `"reduced"` (and `"full"`, its old name): `Q` `[..., m, k]`, `R`
/// `[..., k, n]`, `k = min(m, n)`; `"complete"`: `Q` `[..., m, m]`, `R` `[..., m, n]`; `"r"`:
/// `R` of `"reduced"`. (`"raw"`, LAPACK's Householder form, is not supported.)
///
/// # Errors
/// An unknown `mode`, or as [`crate::lax::linalg::qr`].
pub fn qr(a: impl AsArray, mode: &str) -> QrResult {
    or_raise((|| {
        let a = &inexact(&[a.as_array()])?[0];
        let full_matrices = match mode {
            "reduced" | "r" | "full" => false,
            "complete" => true,
            "raw" => {
                return Err(Error::value_err(
                    "qr: mode 'raw' (LAPACK's Householder representation) is not supported",
                ))
            }
            _ => {
                return Err(Error::value_err(format!(
                    "Unsupported QR decomposition mode '{mode}'"
                )))
            }
        };
        let (q, r) = lax::linalg::qr(a, full_matrices)?;
        Ok(if mode == "r" {
            QrResult::R(r)
        } else {
            QrResult::QR(q, r)
        })
    })())
}

fn lower_of(uplo: Option<&str>) -> Result<bool> {
    match uplo {
        None | Some("L") => Ok(true),
        Some("U") => Ok(false),
        Some(u) => Err(Error::value_err(format!(
            "UPLO must be one of None, 'L', or 'U', got {u}"
        ))),
    }
}

/// `jnp.linalg.eigh(a, UPLO, symmetrize_input)`: `(eigenvalues, eigenvectors)`, eigenvalues
/// ascending, `eigenvectors[..., :, i]` the unit eigenvector of `eigenvalues[..., i]` (its sign
/// is faer's choice, which can differ from LAPACK's). `UPLO` (`"L"`, the default, or `"U"`)
/// names the triangle read when `symmetrize_input` is false.
pub fn eigh(a: impl AsArray, uplo: Option<&str>, symmetrize_input: bool) -> (Array, Array) {
    or_raise((|| {
        let a = &inexact(&[a.as_array()])?[0];
        let opts = EighOptions {
            lower: lower_of(uplo)?,
            symmetrize_input,
            ..EighOptions::default()
        };
        let (v, w) = lax::linalg::eigh(a, &opts)?;
        Ok((w, v))
    })())
}

/// `jnp.linalg.eigvalsh(a, UPLO)`: the eigenvalues of `eigh`, ascending.
pub fn eigvalsh(a: impl AsArray, uplo: Option<&str>) -> Array {
    eigh(a, uplo, true).0
}

/// The result of [`svd`]: `(U, S, Vh)`, or `S` alone when `compute_uv` is false.
#[derive(Clone, Debug)]
pub enum SvdResult {
    /// `(U, S, Vh)`.
    USVh(Array, Array, Array),
    /// The singular values alone.
    S(Array),
}

impl SvdResult {
    /// `(U, S, Vh)`; with `compute_uv = false` there are none (an error raised as `numpy`
    /// raises).
    pub fn usvh(self) -> (Array, Array, Array) {
        match self {
            SvdResult::USVh(u, s, vh) => (u, s, vh),
            SvdResult::S(_) => or_raise(Err(Error::value_err(
                "svd: compute_uv=False computes the singular values only",
            ))),
        }
    }

    /// The singular values, descending.
    pub fn s(&self) -> &Array {
        match self {
            SvdResult::USVh(_, s, _) | SvdResult::S(s) => s,
        }
    }
}

/// `jnp.linalg.svd(a, full_matrices, compute_uv)`: `a = U diag(S) Vh`, `S` descending; `U`
/// `[..., m, m]` and `Vh` `[..., n, n]` (`full_matrices`) or `[..., m, k]` and `[..., k, n]`,
/// `k = min(m, n)`. A singular pair's sign is faer's choice (it can differ from LAPACK's).
///
/// # Errors
/// As [`crate::lax::linalg::svd`].
pub fn svd(a: impl AsArray, full_matrices: bool, compute_uv: bool) -> SvdResult {
    or_raise((|| {
        let a = &inexact(&[a.as_array()])?[0];
        let opts = SvdOptions {
            full_matrices,
            ..SvdOptions::default()
        };
        Ok(if compute_uv {
            let (u, s, vh) = lax::linalg::svd(a, &opts)?;
            SvdResult::USVh(u, s, vh)
        } else {
            SvdResult::S(lax::linalg::svd_values(a, &opts)?)
        })
    })())
}

/// The `ord` of [`norm`]: `None` (JAX's default: 2 for vectors, Frobenius for matrices), a
/// number (`f64::INFINITY` for `inf`) or a name (`"fro"`, `"nuc"`).
#[derive(Clone, Debug, PartialEq)]
pub enum NormOrd {
    /// JAX's default.
    None,
    /// A number (`f64::INFINITY`, `-f64::INFINITY`, `1.0`, `2.0`, ...).
    Num(f64),
    /// A name: `"fro"` or `"nuc"`.
    Name(String),
}

impl From<f64> for NormOrd {
    fn from(v: f64) -> Self {
        NormOrd::Num(v)
    }
}

impl From<i32> for NormOrd {
    fn from(v: i32) -> Self {
        NormOrd::Num(v as f64)
    }
}

impl From<&str> for NormOrd {
    fn from(v: &str) -> Self {
        NormOrd::Name(v.to_string())
    }
}

impl std::fmt::Display for NormOrd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NormOrd::None => f.write_str("None"),
            NormOrd::Num(v) => write!(f, "{v}"),
            NormOrd::Name(s) => f.write_str(s),
        }
    }
}

/// `max` over `axes` with JAX's `initial=0` (zero over an empty extent; the values are >= 0).
fn amax0(x: &Array, axes: &[isize], keepdims: bool) -> Array {
    let nd = x.ndim() as isize;
    if axes
        .iter()
        .any(|&a| x.shape()[a.rem_euclid(nd.max(1)) as usize] == 0)
    {
        return jnp::zeros_like(&jnp::sum(x, Some(axes), keepdims));
    }
    jnp::max(x, Some(axes), keepdims)
}

fn sum_of_squares(x: &Array, axes: Option<&[isize]>, keepdims: bool) -> Array {
    jnp::sqrt(jnp::sum(jnp::multiply(x, x), axes, keepdims))
}

/// JAX's `vector_norm` along `axes`.
fn vector_norm(x: &Array, ord: &NormOrd, axes: &[isize], keepdims: bool) -> Result<Array> {
    let ax = Some(axes);
    Ok(match ord {
        NormOrd::None => sum_of_squares(x, ax, keepdims),
        NormOrd::Num(p) if *p == 2.0 => sum_of_squares(x, ax, keepdims),
        NormOrd::Num(p) if *p == f64::INFINITY => amax0(&jnp::abs(x), axes, keepdims),
        NormOrd::Num(p) if *p == f64::NEG_INFINITY => jnp::min(jnp::abs(x), ax, keepdims),
        NormOrd::Num(p) if *p == 0.0 => {
            let nonzero = jnp::astype(jnp::not_equal(x, 0.0), x.dtype());
            jnp::sum(nonzero, ax, keepdims)
        }
        NormOrd::Num(p) if *p == 1.0 => jnp::sum(jnp::abs(x), ax, keepdims),
        NormOrd::Num(p) => {
            let total = jnp::sum(jnp::power(jnp::abs(x), *p), ax, keepdims);
            jnp::power(total, 1.0 / *p)
        }
        NormOrd::Name(s) => {
            let hint = match s.as_str() {
                "inf" => "Use 'jax.numpy.inf' instead.",
                "-inf" => "Use '-jax.numpy.inf' instead.",
                _ => "",
            };
            return Err(Error::value_err(format!(
                "Invalid order '{s}' for vector norm.{hint}"
            )));
        }
    })
}

fn norm_impl(x: &Array, ord: &NormOrd, axis: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let x = &inexact(std::slice::from_ref(x))?[0];
    let nd = x.ndim();
    let axes: Vec<usize> = match axis {
        None if *ord == NormOrd::None => return Ok(sum_of_squares(x, None, keepdims)),
        None => (0..nd).collect(),
        Some(ax) => ax
            .iter()
            .map(|&a| super::normalize_axes("norm", Some(&[a]), nd).map(|v| v[0]))
            .collect::<Result<_>>()?,
    };
    let signed = |a: usize| a as isize;
    match axes[..] {
        [a] => vector_norm(x, ord, &[signed(a)], keepdims),
        [row, col] => {
            let (r, c) = (signed(row), signed(col));
            let fro = matches!(ord, NormOrd::None)
                || matches!(ord, NormOrd::Name(s) if s == "f" || s == "fro");
            let abs = || jnp::abs(x);
            // After summing one axis away (no keepdims), the other moves down past it.
            let shifted = |a: isize, gone: isize| if !keepdims && a > gone { a - 1 } else { a };
            Ok(match ord {
                _ if fro => sum_of_squares(x, Some(&[r, c]), keepdims),
                NormOrd::Num(p) if *p == 1.0 => amax0(
                    &jnp::sum(abs(), Some(&[r]), keepdims),
                    &[shifted(c, r)],
                    keepdims,
                ),
                NormOrd::Num(p) if *p == -1.0 => jnp::min(
                    jnp::sum(abs(), Some(&[r]), keepdims),
                    Some(&[shifted(c, r)]),
                    keepdims,
                ),
                NormOrd::Num(p) if *p == f64::INFINITY => amax0(
                    &jnp::sum(abs(), Some(&[c]), keepdims),
                    &[shifted(r, c)],
                    keepdims,
                ),
                NormOrd::Num(p) if *p == f64::NEG_INFINITY => jnp::min(
                    jnp::sum(abs(), Some(&[c]), keepdims),
                    Some(&[shifted(r, c)]),
                    keepdims,
                ),
                NormOrd::Num(p) if *p == 2.0 || *p == -2.0 => {
                    singular_norm(x, row, col, keepdims, |s| {
                        if *p > 0.0 {
                            amax0(s, &[-1], false)
                        } else {
                            jnp::min(s, Some(&[-1]), false)
                        }
                    })?
                }
                NormOrd::Name(s) if s == "nuc" => {
                    singular_norm(x, row, col, keepdims, |s| jnp::sum(s, Some(&[-1]), false))?
                }
                _ => {
                    return Err(Error::value_err(format!(
                        "Invalid order '{ord}' for matrix norm."
                    )))
                }
            })
        }
        _ => {
            let shown: Vec<String> = axes.iter().map(|a| a.to_string()).collect();
            let tuple = if shown.len() == 1 {
                format!("({},)", shown[0])
            } else {
                format!("({})", shown.join(", "))
            };
            Err(Error::value_err(format!(
                "Improper number of axes for norm: axis={tuple}. Pass one axis to compute a vector-norm, or two axes to compute a matrix-norm."
            )))
        }
    }
}

/// A norm from the singular values of the matrices on axes `(row, col)`.
fn singular_norm(
    x: &Array,
    row: usize,
    col: usize,
    keepdims: bool,
    reduce: impl Fn(&Array) -> Array,
) -> Result<Array> {
    let nd = x.ndim();
    // jnp.moveaxis(x, (row, col), (-2, -1)).
    let mut perm: Vec<usize> = (0..nd).filter(|&d| d != row && d != col).collect();
    perm.extend([row, col]);
    let m = lax::transpose(x, &perm)?;
    let s = lax::linalg::svd_values(&m, &SvdOptions::default())?;
    let y = reduce(&s);
    if !keepdims {
        return Ok(y);
    }
    let (lo, hi) = (row.min(col), row.max(col));
    Ok(jnp::expand_dims(
        jnp::expand_dims(y, lo as isize),
        hi as isize,
    ))
}

/// `jnp.linalg.norm(x, ord, axis, keepdims)`: a vector norm over one axis (`ord` `None`/2, 1,
/// `inf`, `-inf`, 0 (the count of nonzeros), any other `p`), a matrix norm over two (`None`/
/// `"fro"`, `"nuc"`, 1, -1, 2, -2, `inf`, `-inf`); with `axis = None` all axes (and for
/// `ord = None` the 2-norm of the flattened array, any rank).
pub fn norm(
    x: impl AsArray,
    ord: impl Into<NormOrd>,
    axis: Option<&[isize]>,
    keepdims: bool,
) -> Array {
    or_raise(norm_impl(&x.as_array(), &ord.into(), axis, keepdims))
}

fn eps(dt: DType) -> f64 {
    match dt {
        DType::F32 => f32::EPSILON as f64,
        _ => f64::EPSILON,
    }
}

/// `jnp.linalg.lstsq(a, b, rcond)`: `(x, resid, rank, s)` minimising `|a x - b|₂` for one
/// `[m, n]` matrix `a` and `b` `[m]` or `[m, k]`, through the SVD: singular values below
/// `rcond * s[0]` (default `eps * max(m, n)`; a negative `rcond` means `eps`) count as zero.
/// `resid` is the squared residual norm per column (shape `[k]`, `[1]` for a vector `b`),
/// `rank` (int32) the number of singular values kept, `s` all of them.
pub fn lstsq(a: impl AsArray, b: impl AsArray, rcond: Option<f64>) -> (Array, Array, Array, Array) {
    or_raise(lstsq_impl(&a.as_array(), &b.as_array(), rcond))
}

fn lstsq_impl(a: &Array, b: &Array, rcond: Option<f64>) -> Result<(Array, Array, Array, Array)> {
    let v = inexact(&[a.clone(), b.clone()])?;
    let (a, b) = (&v[0], &v[1]);
    let shapes = || format!("got a {} and b {}", a.aval(), b.aval());
    if a.ndim() == 0 || b.ndim() == 0 || a.shape()[0] != b.shape()[0] {
        return Err(Error::value_err(format!(
            "lstsq: Leading dimensions of input arrays must match, {}",
            shapes()
        )));
    }
    let vector = b.ndim() == 1;
    let b = &if vector {
        lax::expand_dims(b, 1)?
    } else {
        b.clone()
    };
    if a.ndim() != 2 {
        return Err(Error::type_err(format!(
            "lstsq: {}-dimensional array given. Array must be two-dimensional, {}",
            a.ndim(),
            shapes()
        )));
    }
    if b.ndim() != 2 {
        return Err(Error::type_err(format!(
            "lstsq: {}-dimensional array given. Array must be one or two-dimensional, {}",
            b.ndim(),
            shapes()
        )));
    }
    let (m, n) = (a.shape()[0], a.shape()[1]);
    let dt = a.dtype();
    let (x, rank, s) = if a.size() == 0 {
        (
            Array::zeros(&[n, b.shape()[1]], dt),
            Array::zeros(&[], DType::I32),
            Array::zeros(&[0], dt),
        )
    } else {
        let rcond = match rcond {
            None => eps(dt) * m.max(n) as f64,
            Some(r) if r < 0.0 => eps(dt),
            Some(r) => r,
        };
        let svd_opts = SvdOptions {
            full_matrices: false,
            ..SvdOptions::default()
        };
        let (u, s, vt) = lax::linalg::svd(a, &svd_opts)?;
        let s0 = lax::slice(&s, &[0], &[1], None)?;
        let mask = jnp::logical_and(
            jnp::greater(&s, 0.0),
            jnp::greater_equal(&s, jnp::multiply(rcond, &s0)),
        );
        let rank = jnp::sum(jnp::astype(&mask, DType::I32), None, false);
        let safe_s = jnp::where_(&mask, &s, 1.0);
        let s_inv = jnp::expand_dims(jnp::where_(&mask, jnp::reciprocal(safe_s), 0.0), 1);
        let utb = jnp::matmul(jnp::transpose(&u, None), b);
        let x = jnp::matmul(jnp::transpose(&vt, None), jnp::multiply(s_inv, utb));
        (x, rank, s)
    };
    let resid = jnp::square(norm_impl(
        &jnp::subtract(b, jnp::matmul(a, &x)),
        &NormOrd::None,
        Some(&[0]),
        false,
    )?);
    let x = if vector { lax::reshape(&x, &[n])? } else { x };
    Ok((x, resid, rank, s))
}

/// JAX's `_pinv`: `vhᵀ diag(1/s) uᵀ` over the singular values above `rtol * s[0]`.
fn pinv_primal(a: &Array, rtol: Option<f64>) -> Result<Array> {
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    if m == 0 || n == 0 {
        return Ok(Array::zeros(
            &[&a.shape()[..nd - 2], &[n, m]].concat(),
            a.dtype(),
        ));
    }
    let rtol = rtol.unwrap_or(10.0 * m.max(n) as f64 * eps(a.dtype()));
    let opts = SvdOptions {
        full_matrices: false,
        ..SvdOptions::default()
    };
    let (u, s, vh) = lax::linalg::svd(a, &opts)?;
    let k = s.ndim() - 1;
    let mut start = vec![0; k + 1];
    let mut limit = s.shape().to_vec();
    start[k] = 0;
    limit[k] = 1;
    let cutoff = jnp::multiply(rtol, lax::slice(&s, &start, &limit, None)?);
    let s = jnp::where_(jnp::greater(&s, &cutoff), &s, f64::INFINITY);
    let ut_over_s = jnp::divide(mt(&u)?, jnp::expand_dims(&s, -1));
    matmul(&mt(&vh)?, &ut_over_s)
}

/// `jnp.linalg.pinv(a, rtol)`: the Moore-Penrose pseudo-inverse (`[..., n, m]`) through the
/// SVD, singular values at or below `rtol * s[0]` (default `10 * max(m, n) * eps`) dropped;
/// its derivative is JAX's custom JVP (Golub and Pereyra).
pub fn pinv(a: impl AsArray, rtol: Option<f64>) -> Array {
    or_raise((|| {
        let a = &inexact(&[a.as_array()])?[0];
        if a.ndim() < 2 {
            return Err(Error::value_err(format!(
                "pinv: a must be a batch of matrices (shape [..., m, n]), got {}",
                a.aval()
            )));
        }
        let f = custom_jvp(
            move |a: &Array| or_raise(pinv_primal(a, rtol)),
            move |p: &[Array], t: &[Array]| {
                let (a, a_dot) = (&p[0], &t[0]);
                let pi = or_raise(pinv_primal(a, rtol));
                let p_dot = or_raise(pinv_jvp(a, &pi, a_dot));
                (vec![pi], vec![p_dot])
            },
        );
        f.call((a.clone(),))
    })())
}

/// JAX's `_pinv_jvp` (real matrices).
fn pinv_jvp(a: &Array, p: &Array, a_dot: &Array) -> Result<Array> {
    let mm = |x: &Array, y: &Array| matmul(x, y);
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let (pt, at) = (mt(p)?, mt(a_dot)?);
    let neg = |x: Array| lax::neg(&x);
    if m >= n {
        let s = mm(&mm(p, &pt)?, &at)?;
        let t = mm(&mm(&at, &pt)?, p)?;
        let r = neg(mm(&mm(p, a_dot)?, p)?)?;
        let r = lax::add(&r, &s)?;
        let r = lax::sub(&r, &mm(&mm(&s, a)?, p)?)?;
        let r = lax::add(&r, &t)?;
        lax::sub(&r, &mm(&mm(p, a)?, &t)?)
    } else {
        let s = mm(p, &mm(&pt, &at)?)?;
        let t = mm(&at, &mm(&pt, p)?)?;
        let r = neg(mm(p, &mm(a_dot, p)?)?)?;
        let r = lax::add(&r, &s)?;
        let r = lax::sub(&r, &mm(&s, &mm(a, p)?)?)?;
        let r = lax::add(&r, &t)?;
        lax::sub(&r, &mm(p, &mm(a, &t)?)?)
    }
}

/// `jnp.linalg.matrix_power(a, n)`: `a` multiplied by itself `n` times by repeated squaring
/// (`n = 0`: the identity; `n < 0`: powers of `inv(a)`).
pub fn matrix_power(a: impl AsArray, n: i64) -> Array {
    or_raise((|| {
        let a = a.as_array();
        let nd = a.ndim();
        if nd < 2 {
            return Err(Error::type_err(format!(
                "matrix_power: {nd}-dimensional array given. Array must be at least two-dimensional, got {}",
                a.aval()
            )));
        }
        if a.shape()[nd - 2] != a.shape()[nd - 1] {
            return Err(Error::type_err(format!(
                "matrix_power: Last 2 dimensions of the array must be square, got {}",
                a.aval()
            )));
        }
        if n == 0 {
            let eye =
                lax::convert_element_type(&Array::eye(a.shape()[nd - 1], DType::F64), a.dtype())?;
            return lax::broadcast_to_rank(&eye, a.shape());
        }
        let arr = if n < 0 { inv(&a) } else { a };
        let mut k = n.unsigned_abs();
        let mm = |x: &Array, y: &Array| jnp::matmul(x, y);
        match k {
            1 => return Ok(arr),
            2 => return Ok(mm(&arr, &arr)),
            3 => return Ok(mm(&mm(&arr, &arr), &arr)),
            _ => {}
        }
        let (mut z, mut result): (Option<Array>, Option<Array>) = (None, None);
        while k > 0 {
            let zz = match &z {
                None => arr.clone(),
                Some(z) => mm(z, z),
            };
            if k % 2 == 1 {
                result = Some(match result {
                    None => zz.clone(),
                    Some(r) => mm(&r, &zz),
                });
            }
            z = Some(zz);
            k /= 2;
        }
        Ok(result.expect("n > 0 has a set bit"))
    })())
}
