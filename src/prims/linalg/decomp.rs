//! The decompositions `qr`, `eigh` and `svd`: their parameters (JAX's, printed as JAX prints
//! them), shape rules with JAX's errors, eager evaluation through the runtime's packed faer
//! kernel (`cranax_runtime::linalg::decompose`, which compiled code calls too), and JAX's JVP
//! rules (`qr_jvp_rule`, `_eigh_jvp_rule`, `_svd_jvp_rule`) written with `lax` ops.

use super::{diagonal, eye_like, lu_solve_core, matmul, mt, permute_columns, tril, LinalgOp};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::bind;
use crate::dtype::DType;
use crate::ir::parse::{FromParam, PValue};
use crate::ir::pretty::Param;
use crate::lax;
use crate::prims::{JvpOut, Prim, Tangent};
use cranax_runtime::linalg as rt;

/// JAX's `lax.linalg.EighImplementation`: which eigensolver `eigh` uses. On CPU only the
/// default (`None`) and `QR` exist, as in JAX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EighImplementation {
    /// QR iteration.
    Qr,
    /// Jacobi rotations.
    Jacobi,
    /// QDWH (polar decomposition).
    Qdwh,
}

/// JAX's `lax.linalg.SvdAlgorithm`. On CPU `Jacobi` and `Polar` are JAX's error; the others
/// run the same kernel here (faer's divide and conquer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SvdAlgorithm {
    /// The backend's default.
    Default,
    /// QR iteration.
    Qr,
    /// Jacobi rotations.
    Jacobi,
    /// Via the polar decomposition.
    Polar,
    /// Divide and conquer.
    DivideAndConquer,
}

impl EighImplementation {
    fn printed(self) -> &'static str {
        match self {
            EighImplementation::Qr => "EighImplementation.QR",
            EighImplementation::Jacobi => "EighImplementation.JACOBI",
            EighImplementation::Qdwh => "EighImplementation.QDWH",
        }
    }
}

impl FromParam for EighImplementation {
    const WHAT: &'static str = "an EighImplementation (EighImplementation.QR, .JACOBI or .QDWH)";
    fn from_param(v: &PValue) -> Option<Self> {
        use EighImplementation::*;
        [Qr, Jacobi, Qdwh]
            .into_iter()
            .find(|a| matches!(v, PValue::Word(w) if w == a.printed()))
    }
}

impl FromParam for SvdAlgorithm {
    const WHAT: &'static str = "an SvdAlgorithm (SvdAlgorithm.DEFAULT, .QR, ...)";
    fn from_param(v: &PValue) -> Option<Self> {
        use SvdAlgorithm::*;
        [Default, Qr, Jacobi, Polar, DivideAndConquer]
            .into_iter()
            .find(|a| matches!(v, PValue::Word(w) if w == a.printed()))
    }
}

impl SvdAlgorithm {
    fn printed(self) -> &'static str {
        match self {
            SvdAlgorithm::Default => "SvdAlgorithm.DEFAULT",
            SvdAlgorithm::Qr => "SvdAlgorithm.QR",
            SvdAlgorithm::Jacobi => "SvdAlgorithm.JACOBI",
            SvdAlgorithm::Polar => "SvdAlgorithm.POLAR",
            SvdAlgorithm::DivideAndConquer => "SvdAlgorithm.DIVIDE_AND_CONQUER",
        }
    }
}

/// A Python bool as JAX prints it.
pub(super) fn py_bool(v: bool) -> Param {
    Param::Text(if v { "True" } else { "False" }.to_string())
}

fn py_option(v: Option<String>) -> Param {
    Param::Text(v.unwrap_or_else(|| "None".to_string()))
}

fn py_pair(v: Option<(usize, usize)>) -> Param {
    py_option(v.map(|(a, b)| format!("({a}, {b})")))
}

/// The printed parameters of `qr`, `eigh`, `svd`.
pub(super) fn params(op: &LinalgOp) -> Vec<(&'static str, Param)> {
    match *op {
        LinalgOp::Qr {
            pivoting,
            full_matrices,
            use_magma,
        } => vec![
            ("full_matrices", py_bool(full_matrices)),
            ("pivoting", py_bool(pivoting)),
            (
                "use_magma",
                py_option(use_magma.map(|v| if v { "True" } else { "False" }.to_string())),
            ),
        ],
        LinalgOp::Eigh {
            lower,
            sort_eigenvalues,
            subset_by_index,
            algorithm,
        } => vec![
            (
                "algorithm",
                py_option(algorithm.map(|a| a.printed().to_string())),
            ),
            ("lower", py_bool(lower)),
            ("sort_eigenvalues", py_bool(sort_eigenvalues)),
            ("subset_by_index", py_pair(subset_by_index)),
        ],
        LinalgOp::Svd {
            full_matrices,
            compute_uv,
            subset_by_index,
            algorithm,
        } => vec![
            (
                "algorithm",
                py_option(algorithm.map(|a| a.printed().to_string())),
            ),
            ("compute_uv", py_bool(compute_uv)),
            ("full_matrices", py_bool(full_matrices)),
            ("subset_by_index", py_pair(subset_by_index)),
        ],
        _ => unreachable!("decomposition parameters of a decomposition"),
    }
}

/// JAX's `linalg_shape_rule` and dtype rule for one operand of rank >= 2: `(batch, m, n)`.
fn matrix_operand<'a>(name: &str, a: &'a Aval) -> Result<(&'a [usize], usize, usize)> {
    let nd = a.ndim();
    if nd < 2 {
        return Err(Error::type_err(format!(
            "Input 0 to {name} must have rank at least 2, but got shape={}",
            shape_str(&a.shape)
        )));
    }
    if !matches!(a.dtype, DType::F32 | DType::F64) {
        return Err(Error::type_err(format!(
            "{name} does not accept dtype {} at position 0. Accepted dtypes at position 0 are subtypes of floating, complexfloating.",
            a.dtype.numpy_name()
        )));
    }
    Ok((&a.shape[..nd - 2], a.shape[nd - 2], a.shape[nd - 1]))
}

/// `subset_by_index` as a checked range within `0..size`.
fn subset(name: &str, s: Option<(usize, usize)>, size: usize) -> Result<(usize, usize)> {
    match s {
        None => Ok((0, size)),
        Some((lo, hi)) if lo <= hi && hi <= size => Ok((lo, hi)),
        Some((lo, hi)) => Err(Error::value_err(format!(
            "{name}: subset_by_index must be a range (start, end) with 0 <= start <= end <= {size}, got ({lo}, {hi})"
        ))),
    }
}

impl LinalgOp {
    /// The runtime kernel's description of this decomposition on `m x n` matrices.
    ///
    /// # Errors
    /// An algorithm JAX's CPU backend does not have.
    pub fn decomposition(&self, m: usize, n: usize) -> Result<rt::Decomposition> {
        Ok(match *self {
            LinalgOp::Qr {
                pivoting,
                full_matrices,
                ..
            } => rt::Decomposition::Qr {
                full_matrices,
                pivoting,
            },
            LinalgOp::Eigh {
                lower,
                subset_by_index,
                ..
            } => {
                let (lo, hi) = subset("eigh", subset_by_index, n)?;
                rt::Decomposition::Eigh { lower, lo, hi }
            }
            LinalgOp::Svd {
                full_matrices,
                compute_uv,
                subset_by_index,
                ..
            } => {
                let size = m.min(n);
                let (lo, hi) = subset("svd", subset_by_index, size)?;
                rt::Decomposition::Svd {
                    full_matrices,
                    compute_uv,
                    lo,
                    hi,
                }
            }
            _ => unreachable!("a decomposition"),
        })
    }

    /// JAX's CPU lowering errors: the algorithms CPU does not have.
    ///
    /// # Errors
    /// An algorithm JAX's CPU backend does not have (JAX's message).
    pub fn check_implemented(&self) -> Result<()> {
        let not_here = |msg: &str| Err(Error::value_err(msg.to_string()));
        match self {
            LinalgOp::Eigh {
                algorithm: Some(EighImplementation::Jacobi),
                ..
            } => not_here("Jacobi implementation is not supported on CPU"),
            LinalgOp::Eigh {
                algorithm: Some(EighImplementation::Qdwh),
                ..
            } => not_here("QDWH implementation is only supported on TPU"),
            LinalgOp::Svd {
                algorithm: Some(SvdAlgorithm::Jacobi | SvdAlgorithm::Polar),
                ..
            } => not_here("The SVD Jacobi and Polar algorithms are not implemented on CPU."),
            _ => Ok(()),
        }
    }
}

/// The shape rules (`_qr_shape_rule`, `_eigh_shape_rule`, `_svd_shape_rule`).
pub(super) fn abstract_eval(op: &LinalgOp, a: &Aval) -> Result<Vec<Aval>> {
    let (batch, m, n) = matrix_operand(op.name(), a)?;
    let mat = |r: usize, c: usize| Aval::new([batch, &[r, c]].concat(), a.dtype);
    let vec = |k: usize, dt: DType| Aval::new([batch, &[k]].concat(), dt);
    match *op {
        LinalgOp::Qr {
            pivoting,
            full_matrices,
            ..
        } => {
            let k = if full_matrices { m } else { m.min(n) };
            let mut out = vec![mat(m, k), mat(k, n)];
            if pivoting {
                out.push(vec(n, DType::I32));
            }
            Ok(out)
        }
        LinalgOp::Eigh {
            subset_by_index, ..
        } => {
            if m != n {
                return Err(Error::value_err(format!(
                    "Argument to symmetric eigendecomposition must have shape [..., n, n], got shape {}",
                    shape_str(&[m, n])
                )));
            }
            let (lo, hi) = subset("eigh", subset_by_index, n)?;
            Ok(vec![mat(n, hi - lo), vec(hi - lo, a.dtype)])
        }
        LinalgOp::Svd {
            full_matrices,
            compute_uv,
            subset_by_index,
            ..
        } => {
            let rank = m.min(n);
            if full_matrices && subset_by_index.is_some_and(|s| s != (0, rank)) {
                return Err(Error::value_err(
                    "full_matrices and subset_by_index cannot both be set",
                ));
            }
            let (lo, hi) = subset("svd", subset_by_index, rank)?;
            let r = hi - lo;
            let s = vec(r, a.dtype);
            if !compute_uv {
                return Ok(vec![s]);
            }
            let (ku, kv) = if full_matrices { (m, n) } else { (r, r) };
            Ok(vec![s, mat(m, ku), mat(kv, n)])
        }
        _ => unreachable!("a decomposition"),
    }
}

/// Eager evaluation: the packed kernel, then each result cut out of the packed rows.
pub(super) fn eval(op: &LinalgOp, a: &Array, out: Vec<Aval>) -> Result<Vec<Array>> {
    op.check_implemented()?;
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let batch: usize = a.shape()[..nd - 2].iter().product();
    let d = op.decomposition(m, n)?;
    let parts = d.parts(m, n);
    fn unpack<T: Copy>(packed: &[T], batch: usize, parts: &[usize]) -> Vec<Vec<T>> {
        let w: usize = parts.iter().sum();
        let mut off = 0;
        parts
            .iter()
            .map(|&len| {
                let v = (0..batch)
                    .flat_map(|b| packed[b * w + off..b * w + off + len].iter().copied())
                    .collect();
                off += len;
                v
            })
            .collect()
    }
    let datas: Vec<Data> = match a.data()? {
        Data::F32(x) => {
            let mut p = vec![0f32; batch * d.width(m, n)];
            rt::decompose(d, batch, m, n, x, &mut p);
            unpack(&p, batch, &parts)
                .into_iter()
                .map(|v| Data::F32(v.into()))
                .collect()
        }
        Data::F64(x) => {
            let mut p = vec![0f64; batch * d.width(m, n)];
            rt::decompose(d, batch, m, n, x, &mut p);
            unpack(&p, batch, &parts)
                .into_iter()
                .map(|v| Data::F64(v.into()))
                .collect()
        }
        _ => unreachable!("abstract_eval admits only floats"),
    };
    Ok(datas
        .into_iter()
        .zip(out)
        .map(|(data, aval)| {
            let data = match (aval.dtype, data) {
                (DType::I32, Data::F32(v)) => Data::I32(v.iter().map(|&x| x as i32).collect()),
                (DType::I32, Data::F64(v)) => Data::I32(v.iter().map(|&x| x as i32).collect()),
                (_, d) => d,
            };
            Array::from_concrete(aval, data)
        })
        .collect())
}

/// The slice `x[..., rows, cols]` of a batch of matrices.
fn block(x: &Array, rows: (usize, usize), cols: (usize, usize)) -> Result<Array> {
    let nd = x.ndim();
    let mut start = vec![0; nd];
    let mut limit = x.shape().to_vec();
    (start[nd - 2], limit[nd - 2]) = rows;
    (start[nd - 1], limit[nd - 1]) = cols;
    lax::slice(x, &start, &limit, None)
}

fn rows_of(x: &Array) -> usize {
    x.shape()[x.ndim() - 2]
}

fn cols_of(x: &Array) -> usize {
    x.shape()[x.ndim() - 1]
}

/// `eye(n)` broadcast to `like`'s batch of `n x n` matrices.
fn batch_eye(like: &Array, n: usize) -> Result<Array> {
    let nd = like.ndim();
    let shape = [&like.shape()[..nd - 2], &[n, n]].concat();
    lax::broadcast_to_rank(&eye_like(like, n)?, &shape)
}

/// JAX's `_thin_qr_jvp` (m >= n, real): with `Ω = tril(Qᵀ Ẋ R⁻¹, -1)` made skew-symmetric,
/// `Q̇ = Q (Ω - Qᵀ Ẋ R⁻¹) + Ẋ R⁻¹` and `Ṙ = (Qᵀ Ẋ R⁻¹ - Ω) R`.
fn thin_qr_jvp(q: &Array, r: &Array, dx: &Array) -> Result<(Array, Array)> {
    let dx_rinv = lax::triangular_solve(r, dx, false, false, false, false, false)?;
    let qt_dx_rinv = matmul(&mt(q)?, &dx_rinv)?;
    let lower = tril(&qt_dx_rinv, -1)?;
    let omega = lax::sub(&lower, &mt(&lower)?)?;
    let dq = lax::add(&matmul(q, &lax::sub(&omega, &qt_dx_rinv)?)?, &dx_rinv)?;
    let dr = matmul(&lax::sub(&qt_dx_rinv, &omega)?, r)?;
    Ok((dq, dr))
}

/// JAX's `qr_jvp_rule`: wide matrices split as `[X₁ X₂]`; tall ones with full matrices
/// complete `Q̇` as arXiv:2409.13374 does.
pub(super) fn qr_jvp(op: &LinalgOp, x: &Array, dx: &Tangent) -> Result<JvpOut> {
    let outs = bind(Prim::Linalg(op.clone()), std::slice::from_ref(x))?;
    let LinalgOp::Qr {
        pivoting,
        full_matrices,
        ..
    } = *op
    else {
        unreachable!("qr")
    };
    let none = |outs: Vec<Array>| {
        let k = outs.len();
        Ok((outs, vec![None; k]))
    };
    let Some(dx) = dx else { return none(outs) };
    let (q, r) = (&outs[0], &outs[1]);
    let (m, n) = (rows_of(x), cols_of(x));
    let dx = if pivoting {
        permute_columns(dx, &outs[2])?
    } else {
        dx.clone()
    };
    let (dq, dr) = if m < n {
        let x2 = block(x, (0, m), (m, n))?;
        let dx1 = block(&dx, (0, m), (0, m))?;
        let dx2 = block(&dx, (0, m), (m, n))?;
        let r1 = block(r, (0, m), (0, m))?;
        let (dq, dr1) = thin_qr_jvp(q, &r1, &dx1)?;
        let dr2 = lax::add(&matmul(&mt(&dq)?, &x2)?, &matmul(&mt(q)?, &dx2)?)?;
        let dr = lax::concatenate(&[dr1, dr2], dq.ndim() - 1)?;
        (dq, dr)
    } else {
        let (q_mn, r_nn) = if full_matrices {
            (block(q, (0, m), (0, n))?, block(r, (0, n), (0, n))?)
        } else {
            (q.clone(), r.clone())
        };
        let (dq_mn, dr_nn) = thin_qr_jvp(&q_mn, &r_nn, &dx)?;
        if !full_matrices || m == n {
            (dq_mn, dr_nn)
        } else {
            let q_nn = block(&q_mn, (0, n), (0, n))?;
            let q_pn = block(&q_mn, (n, m), (0, n))?;
            let q_mp = block(q, (0, m), (n, m))?;
            let dq_nn = block(&dq_mn, (0, n), (0, n))?;
            let dq_pn = block(&dq_mn, (n, m), (0, n))?;
            // Z = Q_pn (Q_nn - I)⁻¹, from a solve with (Q_nn - I)ᵀ.
            let (lu, _, perm) = lax::lu(&lax::sub(&q_nn, &batch_eye(&q_nn, n)?)?)?;
            let z_h = lu_solve_core(&lu, &perm, &mt(&q_pn)?, true)?;
            let z = mt(&z_h)?;
            let dq_mp = lax::sub(
                &matmul(&dq_mn, &z_h)?,
                &matmul(
                    &lax::add(&q_mn, &matmul(&q_mp, &z)?)?,
                    &mt(&lax::sub(&dq_pn, &matmul(&z, &dq_nn)?)?)?,
                )?,
            )?;
            let nd = dq_mn.ndim();
            let dq = lax::concatenate(&[dq_mn, dq_mp], nd - 1)?;
            let zeros_shape = [&dr_nn.shape()[..nd - 2], &[m - n, n]].concat();
            let zeros = lax::full(&Aval::new(zeros_shape, dr_nn.dtype()), 0.0)?;
            let dr = lax::concatenate(&[dr_nn, zeros], nd - 2)?;
            (dq, dr)
        }
    };
    let mut ts = vec![Some(dq), Some(dr)];
    if pivoting {
        ts.push(None);
    }
    Ok((outs, ts))
}

/// `(x + xᵀ) / 2`.
pub(crate) fn symmetrize(x: &Array) -> Result<Array> {
    lax::div(&lax::add(x, &mt(x)?)?, &Array::weak_scalar(2.0, x.dtype()))
}

/// A batch of vectors `w` (`[..., k]`) spread over `[..., rows, k]` (`w[..., None, :]`, each
/// column `j` holding `w[j]`) or, `transposed`, over `[..., k, rows]` (`w[..., :, None]`).
fn spread(w: &Array, rows: usize, transposed: bool) -> Result<Array> {
    let nd = w.ndim();
    let k = w.shape()[nd - 1];
    let mut dims: Vec<usize> = (0..nd - 1).collect();
    let tail = if transposed {
        dims.push(nd - 1);
        [k, rows]
    } else {
        dims.push(nd);
        [rows, k]
    };
    lax::broadcast_in_dim(w, &[&w.shape()[..nd - 1], &tail].concat(), &dims)
}

/// JAX's `_eigh_jvp_rule` (distinct eigenvalues): with `F = 1/(wⱼ - wᵢ)` off the diagonal,
/// `v̇ = v (F ∘ vᵀ ȧ v)` and `ẇ = diag(vᵀ ȧ v)`; the primal is `eigh(symmetrize(a))`.
pub(super) fn eigh_jvp(op: &LinalgOp, a: &Array, a_dot: &Tangent) -> Result<JvpOut> {
    let LinalgOp::Eigh {
        subset_by_index, ..
    } = *op
    else {
        unreachable!("eigh")
    };
    let n = cols_of(a);
    if subset_by_index.is_some_and(|s| s != (0, n)) {
        return Err(Error::value_err(
            "Derivatives not defined for partial eigen decomposition.",
        ));
    }
    let Some(a_dot) = a_dot else {
        let outs = bind(Prim::Linalg(op.clone()), std::slice::from_ref(a))?;
        return Ok((outs, vec![None, None]));
    };
    let outs = bind(Prim::Linalg(op.clone()), &[symmetrize(a)?])?;
    let (v, w) = (&outs[0], &outs[1]);
    let eye = batch_eye(v, n)?;
    let gaps = lax::sub(
        &lax::add(&eye, &spread(w, n, false)?)?,
        &spread(w, n, true)?,
    )?;
    let f = lax::sub(&lax::integer_pow(&gaps, -1)?, &eye)?;
    let vt_adot_v = matmul(&matmul(&mt(v)?, a_dot)?, v)?;
    let dv = matmul(v, &lax::mul(&f, &vt_adot_v)?)?;
    let dw = diagonal(&vt_adot_v)?;
    Ok((outs, vec![Some(dv), Some(dw)]))
}

/// JAX's `_svd_jvp_rule` (thin; distinct nonzero singular values): `Ṡ = Uᵀ Ȧ V`,
/// `ṡ = diag(Ṡ)`, `U̇`/`V̇` from `F = 1/(sⱼ² - sᵢ²)` plus, for non-square `A`, the parts
/// outside the span of `U` (tall) or `V` (wide).
pub(super) fn svd_jvp(op: &LinalgOp, a: &Array, da: &Tangent) -> Result<JvpOut> {
    let LinalgOp::Svd {
        full_matrices,
        compute_uv,
        subset_by_index,
        algorithm,
    } = *op
    else {
        unreachable!("svd")
    };
    let Some(da) = da else {
        let outs = bind(Prim::Linalg(op.clone()), std::slice::from_ref(a))?;
        let k = outs.len();
        return Ok((outs, vec![None; k]));
    };
    let (m, n) = (rows_of(a), cols_of(a));
    let thin = LinalgOp::Svd {
        full_matrices: false,
        compute_uv: true,
        subset_by_index,
        algorithm,
    };
    let outs = bind(Prim::Linalg(thin), std::slice::from_ref(a))?;
    if compute_uv && full_matrices && m != n {
        return Err(Error::value_err(
            "Singular value decomposition JVP not implemented for full matrices",
        ));
    }
    let (s, u, vt) = (&outs[0], &outs[1], &outs[2]);
    let (ut, v) = (mt(u)?, mt(vt)?);
    let ds_mat = matmul(&matmul(&ut, da)?, &v)?;
    let ds = diagonal(&ds_mat)?;
    if !compute_uv {
        return Ok((vec![s.clone()], vec![Some(ds)]));
    }
    let k = s.shape()[s.ndim() - 1];
    let (s_row, s_col) = (spread(s, k, false)?, spread(s, k, true)?);
    let eye = batch_eye(&s_row, k)?;
    let s_diffs = lax::mul(&lax::add(&s_row, &s_col)?, &lax::sub(&s_row, &s_col)?)?;
    let one = lax::full(eye.aval(), 1.0)?;
    let f = lax::sub(&lax::div(&one, &lax::add(&s_diffs, &eye)?)?, &eye)?;
    let dss = lax::mul(&s_row, &ds_mat)?;
    let sds = lax::mul(&s_col, &ds_mat)?;
    let s_zeros = lax::convert_element_type(&lax::eq(s, &lax::full(s.aval(), 0.0)?)?, s.dtype())?;
    let s_inv = lax::sub(
        &lax::div(&lax::full(s.aval(), 1.0)?, &lax::add(s, &s_zeros)?)?,
        &s_zeros,
    )?;
    let s_inv_mat = lax::mul(&spread(&s_inv, k, false)?, &eye)?;
    let half = lax::full(ds_mat.aval(), 0.5)?;
    let dudv_diag = lax::mul(
        &lax::mul(&half, &lax::sub(&ds_mat, &mt(&ds_mat)?)?)?,
        &s_inv_mat,
    )?;
    let mut du = matmul(
        u,
        &lax::add(&lax::mul(&f, &lax::add(&dss, &mt(&dss)?)?)?, &dudv_diag)?,
    )?;
    let mut dv = matmul(&v, &lax::mul(&f, &lax::add(&sds, &mt(&sds)?)?)?)?;
    if m > n {
        let dav = matmul(da, &v)?;
        let outside = lax::sub(&dav, &matmul(u, &matmul(&ut, &dav)?)?)?;
        du = lax::add(&du, &lax::div(&outside, &spread(s, m, false)?)?)?;
    }
    if n > m {
        let dahu = matmul(&mt(da)?, u)?;
        let outside = lax::sub(&dahu, &matmul(&v, &matmul(vt, &dahu)?)?)?;
        dv = lax::add(&dv, &lax::div(&outside, &spread(s, n, false)?)?)?;
    }
    Ok((outs.clone(), vec![Some(ds), Some(du), Some(mt(&dv)?)]))
}
