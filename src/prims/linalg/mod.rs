//! Linear-algebra primitives on batches of matrices (any leading batch dimensions): `cholesky`,
//! `triangular_solve`, `lu`, `lu_pivots_to_permutation` here and the decompositions `qr`,
//! `eigh`, `svd` in `decomp`, with JAX's names, parameters and rules. Eager evaluation calls
//! the runtime's faer kernels, the same ones compiled code calls.

mod decomp;
pub(crate) use decomp::symmetrize;
pub use decomp::{EighImplementation, SvdAlgorithm};

use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::{Array, Buffer, Data};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::core::trace::{bind, bind1};
use crate::dtype::DType;
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::Param;
use crate::lax;
use crate::prims::DotGeneral;
use cranax_runtime::linalg as rt;

#[derive(Clone, Debug, PartialEq)]
/// The linear-algebra primitives, with JAX's parameters.
pub enum LinalgOp {
    /// `cholesky`: the lower factor `L` of `A = L Lᵀ` (only `A`'s lower triangle is read).
    Cholesky,
    /// `triangular_solve(a, b)`: `x` with `op(a) x = b` (left side) or `x op(a) = b`.
    TriangularSolve {
        /// Solve `x a = b` instead of `a x = b`.
        left_side: bool,
        /// `a` is lower triangular.
        lower: bool,
        /// Use `a`'s transpose.
        transpose_a: bool,
        /// Use `a`'s conjugate (no effect on real arrays).
        conjugate_a: bool,
        /// Take `a`'s diagonal as ones.
        unit_diagonal: bool,
    },
    /// `lu`: `(lu, pivots, permutation)` with `a[permutation] = L U`.
    Lu,
    /// `lu_pivots_to_permutation`: the row order LAPACK-style `pivots` (`[..., k]`, row `i`
    /// swapped with row `pivots[i]` in turn) produce on `permutation_size` rows.
    LuPivotsToPermutation {
        /// The number of rows permuted.
        permutation_size: usize,
    },
    /// `qr`: `(q, r)` (and the column order `p` when `pivoting`: `a[..., p] = q r`).
    /// `use_magma` is JAX's GPU switch, carried and printed only.
    Qr {
        /// Column pivoting.
        pivoting: bool,
        /// Square `q` instead of the economy size.
        full_matrices: bool,
        /// JAX's GPU switch (printed only).
        use_magma: Option<bool>,
    },
    /// `eigh`: `(v, w)`, eigenvalues ascending (always sorted, as JAX on CPU) and eigenvectors
    /// as columns; only the triangle `lower` names is read.
    Eigh {
        /// Read the lower triangle.
        lower: bool,
        /// Eigenvalues in ascending order.
        sort_eigenvalues: bool,
        /// Only the eigenpairs of indices `[lo, hi)`.
        subset_by_index: Option<(usize, usize)>,
        /// JAX's `algorithm` (printed only).
        algorithm: Option<EighImplementation>,
    },
    /// `svd`: `(s, u, vt)` (or `(s,)`), singular values descending.
    Svd {
        /// Square `u` and `vh` instead of the economy sizes.
        full_matrices: bool,
        /// Compute `u` and `vh`, not only the singular values.
        compute_uv: bool,
        /// Only the singular triples of indices `[lo, hi)`.
        subset_by_index: Option<(usize, usize)>,
        /// JAX's `algorithm` (printed only).
        algorithm: Option<SvdAlgorithm>,
    },
}

impl LinalgOp {
    /// The primitive's name as jaxprs print it.
    pub fn name(&self) -> &'static str {
        match self {
            LinalgOp::Cholesky => "cholesky",
            LinalgOp::TriangularSolve { .. } => "triangular_solve",
            LinalgOp::Lu => "lu",
            LinalgOp::LuPivotsToPermutation { .. } => "lu_pivots_to_permutation",
            LinalgOp::Qr { .. } => "qr",
            LinalgOp::Eigh { .. } => "eigh",
            LinalgOp::Svd { .. } => "svd",
        }
    }

    /// The parameters as jaxprs print them.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        let b = decomp::py_bool;
        match *self {
            LinalgOp::TriangularSolve {
                left_side,
                lower,
                transpose_a,
                conjugate_a,
                unit_diagonal,
            } => vec![
                ("conjugate_a", b(conjugate_a)),
                ("left_side", b(left_side)),
                ("lower", b(lower)),
                ("transpose_a", b(transpose_a)),
                ("unit_diagonal", b(unit_diagonal)),
            ],
            LinalgOp::LuPivotsToPermutation { permutation_size } => vec![(
                "permutation_size",
                Param::Text(permutation_size.to_string()),
            )],
            LinalgOp::Qr { .. } | LinalgOp::Eigh { .. } | LinalgOp::Svd { .. } => {
                decomp::params(self)
            }
            LinalgOp::Cholesky | LinalgOp::Lu => vec![],
        }
    }

    /// The inverse of `params` (`None`: not a linear-algebra primitive).
    ///
    /// # Errors
    /// Parameters missing or malformed in the printed jaxpr (the message names the primitive and the parameter).
    pub fn from_printed(name: &str, p: &PrintedParams) -> Result<Option<LinalgOp>> {
        Ok(Some(match name {
            "cholesky" => LinalgOp::Cholesky,
            "triangular_solve" => LinalgOp::TriangularSolve {
                left_side: p.get("left_side")?,
                lower: p.get("lower")?,
                transpose_a: p.get("transpose_a")?,
                conjugate_a: p.get("conjugate_a")?,
                unit_diagonal: p.get("unit_diagonal")?,
            },
            "lu" => LinalgOp::Lu,
            "lu_pivots_to_permutation" => LinalgOp::LuPivotsToPermutation {
                permutation_size: p.get("permutation_size")?,
            },
            "qr" => LinalgOp::Qr {
                pivoting: p.get("pivoting")?,
                full_matrices: p.get("full_matrices")?,
                use_magma: p.get("use_magma")?,
            },
            "eigh" => LinalgOp::Eigh {
                lower: p.get("lower")?,
                sort_eigenvalues: p.get("sort_eigenvalues")?,
                subset_by_index: p.get("subset_by_index")?,
                algorithm: p.get("algorithm")?,
            },
            "svd" => LinalgOp::Svd {
                full_matrices: p.get("full_matrices")?,
                compute_uv: p.get("compute_uv")?,
                subset_by_index: p.get("subset_by_index")?,
                algorithm: p.get("algorithm")?,
            },
            _ => return Ok(None),
        }))
    }

    /// The number of operands.
    pub fn arity(&self) -> usize {
        match self {
            LinalgOp::TriangularSolve { .. } => 2,
            _ => 1,
        }
    }

    /// The output types.
    ///
    /// # Errors
    /// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Vec<Aval>> {
        let name = self.name();
        let matrices = |a: &Aval, square: bool| -> Result<(usize, usize)> {
            let float = matches!(a.dtype, DType::F32 | DType::F64);
            let nd = a.ndim();
            if !float || nd < 2 || (square && a.shape[nd - 2] != a.shape[nd - 1]) {
                let what = if square {
                    "square matrices"
                } else {
                    "matrices"
                };
                return Err(Error::type_err(format!(
                    "{name} requires a batch of {what} (shape [..., m, n]) of float32 or float64, got {a}"
                )));
            }
            Ok((a.shape[nd - 2], a.shape[nd - 1]))
        };
        let strong = |a: &Aval| a.clone().weak(false);
        match *self {
            LinalgOp::Qr { .. } | LinalgOp::Eigh { .. } | LinalgOp::Svd { .. } => {
                decomp::abstract_eval(self, avals[0])
            }
            LinalgOp::LuPivotsToPermutation { permutation_size } => {
                let p = avals[0];
                let nd = p.ndim();
                if p.dtype != DType::I32 || nd < 1 || p.shape[nd - 1] > permutation_size {
                    return Err(Error::type_err(format!(
                        "lu_pivots_to_permutation requires int32 pivots [..., k] with k <= permutation_size={permutation_size}, got {p}"
                    )));
                }
                let shape = [&p.shape[..nd - 1], &[permutation_size]].concat();
                Ok(vec![Aval::new(shape, DType::I32)])
            }
            LinalgOp::Cholesky => {
                matrices(avals[0], true)?;
                Ok(vec![strong(avals[0])])
            }
            LinalgOp::Lu => {
                let a = avals[0];
                let (m, n) = matrices(a, false)?;
                let batch = &a.shape[..a.ndim() - 2];
                let ints = |last: usize| Aval::new([batch, &[last]].concat(), DType::I32);
                Ok(vec![strong(a), ints(m.min(n)), ints(m)])
            }
            LinalgOp::TriangularSolve { left_side, .. } => {
                let (a, b) = (avals[0], avals[1]);
                matrices(a, true)?;
                let (m, n) = matrices(b, false)?;
                let bad = |why: &str| {
                    Err(Error::type_err(format!(
                        "triangular_solve {why}, got a {a} and b {b} (left_side={left_side})"
                    )))
                };
                if a.dtype != b.dtype {
                    return bad("requires a and b of the same dtype");
                }
                if a.ndim() != b.ndim() || a.shape[..a.ndim() - 2] != b.shape[..b.ndim() - 2] {
                    return bad("requires a and b to have the same number of dimensions and equal batch dimensions");
                }
                let k = a.shape[a.ndim() - 1];
                if k != if left_side { m } else { n } {
                    return bad("requires the size of a to match b's rows (left side) or columns (right side)");
                }
                Ok(vec![strong(b)])
            }
        }
    }

    /// Evaluate on concrete arrays.
    ///
    /// # Errors
    /// As `abstract_eval`, for concrete operands.
    pub fn eval(&self, args: &[Array], out: Vec<Aval>) -> Result<Vec<Array>> {
        let a = &args[0];
        let nd = a.ndim();
        let (m, n) = (a.shape()[nd.max(2) - 2], a.shape()[nd.max(1) - 1]);
        let batch: usize = a.shape()[..nd.max(2) - 2].iter().product();
        match self {
            LinalgOp::Qr { .. } | LinalgOp::Eigh { .. } | LinalgOp::Svd { .. } => {
                decomp::eval(self, a, out)
            }
            LinalgOp::LuPivotsToPermutation { permutation_size } => {
                pivots_to_permutation(a, *permutation_size, &out[0])
            }
            LinalgOp::Cholesky => {
                let data = match a.data()? {
                    Data::F32(x) => Data::F32(run(x, |x, o| rt::cholesky(batch, n, x, o))),
                    Data::F64(x) => Data::F64(run(x, |x, o| rt::cholesky(batch, n, x, o))),
                    _ => unreachable!("abstract_eval admits only floats"),
                };
                Ok(vec![Array::from_concrete(out[0].clone(), data)])
            }
            LinalgOp::TriangularSolve {
                left_side,
                lower,
                transpose_a,
                unit_diagonal,
                ..
            } => {
                let p = rt::TriangularSolve {
                    left_side: *left_side,
                    lower: *lower,
                    transpose_a: *transpose_a,
                    unit_diagonal: *unit_diagonal,
                };
                let b = &args[1];
                let (m, n) = (b.shape()[nd - 2], b.shape()[nd - 1]);
                let data = match (a.data()?, b.data()?) {
                    (Data::F32(a), Data::F32(b)) => {
                        Data::F32(run(b, |b, o| rt::triangular_solve(p, batch, m, n, a, b, o)))
                    }
                    (Data::F64(a), Data::F64(b)) => {
                        Data::F64(run(b, |b, o| rt::triangular_solve(p, batch, m, n, a, b, o)))
                    }
                    _ => unreachable!("abstract_eval admits only equal float dtypes"),
                };
                Ok(vec![Array::from_concrete(out[0].clone(), data)])
            }
            LinalgOp::Lu => {
                let mut piv = vec![0i32; out[1].size()];
                let mut perm = vec![0i32; out[2].size()];
                let data = match a.data()? {
                    Data::F32(x) => Data::F32(run(x, |x, o| {
                        rt::lu(batch, m, n, x, o, &mut piv, &mut perm)
                    })),
                    Data::F64(x) => Data::F64(run(x, |x, o| {
                        rt::lu(batch, m, n, x, o, &mut piv, &mut perm)
                    })),
                    _ => unreachable!("abstract_eval admits only floats"),
                };
                Ok(vec![
                    Array::from_concrete(out[0].clone(), data),
                    Array::from_concrete(out[1].clone(), Data::I32(piv.into())),
                    Array::from_concrete(out[2].clone(), Data::I32(perm.into())),
                ])
            }
        }
    }

    /// The JVP rule.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp(&self, primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
        match self {
            LinalgOp::Qr { .. } => return decomp::qr_jvp(self, &primals[0], &tangents[0]),
            LinalgOp::Eigh { .. } => return decomp::eigh_jvp(self, &primals[0], &tangents[0]),
            LinalgOp::Svd { .. } => return decomp::svd_jvp(self, &primals[0], &tangents[0]),
            _ => {}
        }
        let outs = bind(Prim::Linalg(self.clone()), primals)?;
        match self {
            LinalgOp::Cholesky => {
                // JAX's `_cholesky_jvp_rule` (Murray 2016): L̇ = L Φ(L⁻¹ Σ̇ L⁻ᵀ), Φ taking the
                // lower triangle with the diagonal halved.
                let Some(sd) = &tangents[0] else {
                    return Ok((outs, vec![None]));
                };
                let l = &outs[0];
                let tmp = triangular_solve(l, sd, false, true, true, false)?;
                let inner = triangular_solve(l, &tmp, true, true, false, false)?;
                let n = l.shape()[l.ndim() - 1];
                let half_diag = lax::add(&Array::ones(&[n, n], l.dtype()), &eye_like(l, n)?)?;
                let phi = lax::div(
                    &tril(&inner, 0)?,
                    &lax::broadcast_to_rank(&half_diag, inner.shape())?,
                )?;
                let t = matmul(l, &phi)?;
                Ok((outs, vec![Some(t)]))
            }
            LinalgOp::TriangularSolve {
                left_side,
                lower,
                transpose_a,
                unit_diagonal,
                ..
            } => {
                let (a, b) = (&primals[0], &primals[1]);
                let ans = &outs[0];
                let a_inverse =
                    |rhs: &Array| bind1(Prim::Linalg(self.clone()), &[a.clone(), rhs.clone()]);
                let from_b = tangents[1].as_ref().map(a_inverse).transpose()?;
                let from_a = match &tangents[0] {
                    None => None,
                    Some(ga) => {
                        // JAX's `_triangular_solve_jvp_rule_a`: -A⁻¹ Ȧ X (or -X Ȧ A⁻¹), in the
                        // cheaper order.
                        let nd = b.ndim();
                        let (m, n) = (b.shape()[nd - 2], b.shape()[nd - 1]);
                        let k = if *unit_diagonal { 1 } else { 0 };
                        let ga = if *lower { tril(ga, -k)? } else { triu(ga, k)? };
                        let ga = lax::neg(&ga)?;
                        let ga = if *transpose_a { mt(&ga)? } else { ga };
                        Some(match (*left_side, m > n, m < n) {
                            (true, true, _) => a_inverse(&matmul(&ga, ans)?)?,
                            (true, false, _) => matmul(&a_inverse(&ga)?, ans)?,
                            (false, _, true) => a_inverse(&matmul(ans, &ga)?)?,
                            (false, _, false) => matmul(ans, &a_inverse(&ga)?)?,
                        })
                    }
                };
                let t = super::binary::sum_terms([from_a, from_b])?;
                Ok((outs, vec![t]))
            }
            LinalgOp::Lu => {
                let Some(a_dot) = &tangents[0] else {
                    return Ok((outs, vec![None, None, None]));
                };
                let t = lu_jvp(&outs[0], a_dot, &outs[2])?;
                Ok((outs, vec![Some(t), None, None]))
            }
            LinalgOp::LuPivotsToPermutation { .. } => Ok((outs, vec![None])),
            LinalgOp::Qr { .. } | LinalgOp::Eigh { .. } | LinalgOp::Svd { .. } => {
                unreachable!("decompositions returned above")
            }
        }
    }

    /// `triangular_solve` is linear in `b`: its transpose solves with `op(a)` transposed.
    ///
    /// # Errors
    /// A linear operand used non-linearly, or an error of a primitive the rule binds.
    pub fn transpose(&self, ct: &Tangent, args: &[LinArg]) -> Result<Vec<Tangent>> {
        let not_linear = || {
            Error::type_err(format!(
                "transpose of {} is not defined: it is not linear",
                self.name()
            ))
        };
        match self {
            LinalgOp::TriangularSolve {
                left_side,
                lower,
                transpose_a,
                conjugate_a,
                unit_diagonal,
            } => {
                if args[0].is_linear() || !args[1].is_linear() {
                    return Err(Error::type_err(
                        "transpose of triangular_solve: it is linear in b only (a must be known)",
                    ));
                }
                let Some(ct) = ct else {
                    return Ok(vec![None, None]);
                };
                let op = LinalgOp::TriangularSolve {
                    left_side: *left_side,
                    lower: *lower,
                    transpose_a: !transpose_a,
                    conjugate_a: *conjugate_a,
                    unit_diagonal: *unit_diagonal,
                };
                let a = args[0].known()?.clone();
                Ok(vec![None, Some(bind1(Prim::Linalg(op), &[a, ct.clone()])?)])
            }
            _ => Err(not_linear()),
        }
    }

    /// Batch axes move to the front, where the primitive's own batch dimensions take them.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn batch(&self, b: &super::batching::Batching) -> Result<BatchOut> {
        let args: Vec<Array> = (0..b.args.len())
            .map(|i| b.front(i))
            .collect::<Result<_>>()?;
        let outs = bind(Prim::Linalg(self.clone()), &args)?;
        let dims = vec![Some(0); outs.len()];
        Ok((outs, dims))
    }
}

/// A fresh buffer shaped like `x`, filled by the kernel `f(x, out)`.
fn run<T: Copy + Default>(x: &[T], f: impl FnOnce(&[T], &mut [T])) -> Buffer<T> {
    let mut out = Buffer::filled(T::default(), x.len());
    f(x, &mut out);
    out
}

/// `triangular_solve` with `unit_diagonal = False`, `conjugate_a = False`.
fn triangular_solve(
    a: &Array,
    b: &Array,
    left_side: bool,
    lower: bool,
    transpose_a: bool,
    unit_diagonal: bool,
) -> Result<Array> {
    lax::triangular_solve(a, b, left_side, lower, transpose_a, false, unit_diagonal)
}

/// Batched matrix product over the leading dimensions.
pub(crate) fn matmul(a: &Array, b: &Array) -> Result<Array> {
    let nd = a.ndim();
    let batch: Vec<usize> = (0..nd - 2).collect();
    lax::dot_general(a, b, DotGeneral::new(&[nd - 1], &[nd - 2], &batch, &batch))
}

/// The matrix transpose of the last two axes.
pub(crate) fn mt(x: &Array) -> Result<Array> {
    let nd = x.ndim();
    let mut perm: Vec<usize> = (0..nd).collect();
    perm.swap(nd - 2, nd - 1);
    lax::transpose(x, &perm)
}

/// `x` where `col - row <= k` (`tril`) or `col - row >= k` (`triu`), else zero.
fn band(x: &Array, k: i64, lower: bool) -> Result<Array> {
    let nd = x.ndim();
    let (m, n) = (x.shape()[nd - 2], x.shape()[nd - 1]);
    let rows = lax::iota(DType::I32, &[m, n], 0)?;
    let cols = lax::iota(DType::I32, &[m, n], 1)?;
    let rows = lax::add(
        &rows,
        &Array::full(&[m, n], crate::dtype::Scalar::I32(k as i32)),
    )?;
    let keep = if lower {
        lax::ge(&rows, &cols)?
    } else {
        lax::le(&rows, &cols)?
    };
    let keep = lax::broadcast_to_rank(&keep, x.shape())?;
    let zero = lax::full(x.aval(), 0.0)?;
    lax::select(&keep, x, &zero)
}

pub(crate) fn tril(x: &Array, k: i64) -> Result<Array> {
    band(x, k, true)
}

pub(crate) fn triu(x: &Array, k: i64) -> Result<Array> {
    band(x, k, false)
}

/// The `n x n` identity in `like`'s dtype.
pub(crate) fn eye_like(like: &Array, n: usize) -> Result<Array> {
    lax::convert_element_type(&Array::eye(n, DType::F64), like.dtype())
}

/// Rows of `x` (`[..., m, n]`) reordered by `perm` (`[..., m]`, per batch): `x[..., perm, :]`.
pub(crate) fn permute_rows(x: &Array, perm: &Array) -> Result<Array> {
    let nd = x.ndim();
    let (m, n) = (x.shape()[nd - 2], x.shape()[nd - 1]);
    let batch: usize = x.shape()[..nd - 2].iter().product();
    let offsets = lax::mul(
        &lax::iota(DType::I32, &[batch, m], 0)?,
        &Array::full(&[batch, m], crate::dtype::Scalar::I32(m as i32)),
    )?;
    let idx = lax::reshape(
        &lax::add(&offsets, &lax::reshape(perm, &[batch, m])?)?,
        &[batch * m],
    )?;
    let rows = lax::take_clamped(&lax::reshape(x, &[batch * m, n])?, &idx, 0)?;
    lax::reshape(&rows, x.shape())
}

/// Columns of `x` (`[..., m, n]`) reordered by `perm` (`[..., n]`): `x[..., :, perm]`.
pub(crate) fn permute_columns(x: &Array, perm: &Array) -> Result<Array> {
    mt(&permute_rows(&mt(x)?, perm)?)
}

/// The diagonals `x[..., i, i]` of a batch of `n x n` matrices.
pub(crate) fn diagonal(x: &Array) -> Result<Array> {
    let nd = x.ndim();
    let n = x.shape()[nd - 1];
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
        &Array::full(&[batch, m], crate::dtype::Scalar::I32(m as i32)),
    )?;
    let idx = lax::add(&offsets, &lax::reshape(perm, &[batch, m])?)?;
    let local = lax::iota(DType::I32, &[batch * m], 0)?;
    let local = lax::sub(&local, &lax::reshape(&offsets, &[batch * m])?)?;
    let inv = lax::scatter_add_clamped(
        &Array::zeros(&[batch * m], DType::I32),
        &lax::reshape(&idx, &[batch * m])?,
        &local,
        0,
    )?;
    lax::reshape(&inv, perm.shape())
}

/// JAX's `_lu_jvp_inner`: with `P Ȧ = L̇ U + L U̇`, `L⁻¹ P Ȧ U⁻¹` splits into `L⁻¹ L̇`
/// (strictly lower) and `U̇ U⁻¹` (upper).
fn lu_jvp(lu: &Array, a_dot: &Array, perm: &Array) -> Result<Array> {
    let nd = lu.ndim();
    let (m, n) = (lu.shape()[nd - 2], lu.shape()[nd - 1]);
    let k = m.min(n);
    let x = permute_rows(a_dot, perm)?;
    let zero = lax::scalar_like(lu, 0.0);
    let mut start = vec![0; nd];
    let mut limit = lu.shape().to_vec();
    limit[nd - 1] = k;
    let mut pad = vec![(0, 0, 0); nd];
    pad[nd - 1] = (0, m - k, 0);
    let l = lax::pad(
        &tril(&lax::slice(lu, &start, &limit, None)?, -1)?,
        &zero,
        &pad,
    )?;
    let l = lax::add(&l, &lax::broadcast_to_rank(&eye_like(lu, m)?, l.shape())?)?;
    limit = lu.shape().to_vec();
    limit[nd - 2] = k;
    start[nd - 2] = 0;
    let mut pad = vec![(0, 0, 0); nd];
    pad[nd - 2] = (0, n - k, 0);
    let u = lax::pad(
        &triu(&lax::slice(lu, &start, &limit, None)?, 0)?,
        &zero,
        &pad,
    )?;
    let u_eye = lax::pad(&eye_like(lu, n - k)?, &zero, &[(k, 0, 0), (k, 0, 0)])?;
    let u = lax::add(&u, &lax::broadcast_to_rank(&u_eye, u.shape())?)?;
    let la = triangular_solve(&l, &x, true, true, false, true)?;
    let lau = triangular_solve(&u, &la, false, false, false, false)?;
    let l_dot = matmul(&l, &tril(&lau, -1)?)?;
    let u_dot = matmul(&triu(&lau, 0)?, &u)?;
    lax::add(&l_dot, &u_dot)
}

/// `lu_pivots_to_permutation` on concrete pivots.
fn pivots_to_permutation(a: &Array, m: usize, out: &Aval) -> Result<Vec<Array>> {
    let k = a.shape()[a.ndim() - 1];
    let batch: usize = a.shape()[..a.ndim() - 1].iter().product();
    let mut perm = vec![0i32; out.size()];
    rt::lu_pivots_to_permutation(batch, k, m, a.as_slice::<i32>()?, &mut perm);
    Ok(vec![Array::from_concrete(
        out.clone(),
        Data::I32(perm.into()),
    )])
}
