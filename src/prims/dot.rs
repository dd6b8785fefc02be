//! `dot_general`: contraction over paired axes with shared batch axes. Eager evaluation
//! canonicalises to batched row-major matmuls and calls the runtime's gemm.

use super::binary::sum_terms;
use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::bind1;
use crate::dtype::{DType, Scalar};
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::Param;
use crate::lax;

/// `dimension_numbers = ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))`.
/// Output axes: batch, then lhs free, then rhs free.
#[derive(Clone, Debug, PartialEq)]
pub struct DotGeneral {
    /// The contracted dimensions of the left operand.
    pub lhs_contracting: Vec<usize>,
    /// The contracted dimensions of the right operand.
    pub rhs_contracting: Vec<usize>,
    /// The batch dimensions of the left operand.
    pub lhs_batch: Vec<usize>,
    /// The batch dimensions of the right operand.
    pub rhs_batch: Vec<usize>,
    /// The result's dtype, if not the operands'.
    pub preferred_element_type: Option<DType>,
}

impl DotGeneral {
    /// JAX's `dimension_numbers = ((lhs_contracting, rhs_contracting), (lhs_batch,
    /// rhs_batch))`, with no preferred element type.
    pub fn new(
        lhs_contracting: &[usize],
        rhs_contracting: &[usize],
        lhs_batch: &[usize],
        rhs_batch: &[usize],
    ) -> DotGeneral {
        DotGeneral {
            lhs_contracting: lhs_contracting.to_vec(),
            rhs_contracting: rhs_contracting.to_vec(),
            lhs_batch: lhs_batch.to_vec(),
            rhs_batch: rhs_batch.to_vec(),
            preferred_element_type: None,
        }
    }

    /// Contract `lhs` axis `l` with `rhs` axis `r`, no batch axes.
    pub fn contract(l: usize, r: usize) -> DotGeneral {
        DotGeneral::new(&[l], &[r], &[], &[])
    }

    /// As JAX's `_dot_general_pp_rule` prints them: dimension numbers as lists, and
    /// `precision` / `preferred_element_type` only when set (never, for precision, here).
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        let list = |v: &[usize]| {
            format!(
                "[{}]",
                v.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut ps = vec![(
            "dimension_numbers",
            Param::Text(format!(
                "(({}, {}), ({}, {}))",
                list(&self.lhs_contracting),
                list(&self.rhs_contracting),
                list(&self.lhs_batch),
                list(&self.rhs_batch)
            )),
        )];
        if let Some(d) = self.preferred_element_type {
            ps.push((
                "preferred_element_type",
                Param::Text(d.numpy_name().to_string()),
            ));
        }
        ps
    }

    /// The inverse of `params`. JAX also prints `precision=None`, `out_sharding=None` and
    /// (0.7+) `accumulation_type=None`, which cranax has no use for.
    ///
    /// # Errors
    /// Parameters missing or malformed in the printed jaxpr (the message names the primitive and the parameter).
    pub fn from_printed(p: &PrintedParams) -> Result<DotGeneral> {
        type Pair = (Vec<usize>, Vec<usize>);
        let ((lc, rc), (lb, rb)): (Pair, Pair) = p.get("dimension_numbers")?;
        Ok(DotGeneral {
            lhs_contracting: lc,
            rhs_contracting: rc,
            lhs_batch: lb,
            rhs_batch: rb,
            preferred_element_type: p.get_or("preferred_element_type", None)?,
        })
    }

    fn free(axes_c: &[usize], axes_b: &[usize], ndim: usize) -> Vec<usize> {
        (0..ndim)
            .filter(|d| !axes_c.contains(d) && !axes_b.contains(d))
            .collect()
    }

    /// The output type.
    ///
    /// # Errors
    /// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
    pub fn abstract_eval(&self, x: &Aval, y: &Aval) -> Result<Aval> {
        let bad = |why: &str| {
            Err(Error::invalid_operands("dot_general", &[x, y], format!(
                "dot_general {why}: lhs {x} and rhs {y} with dimension_numbers (({:?}, {:?}), ({:?}, {:?}))",
                self.lhs_contracting, self.rhs_contracting, self.lhs_batch, self.rhs_batch
            )))
        };
        if x.dtype != y.dtype {
            return bad("requires operands of the same dtype");
        }
        if x.dtype == DType::Bool {
            return bad("does not accept bool operands");
        }
        let (lc, rc, lb, rb) = (
            &self.lhs_contracting,
            &self.rhs_contracting,
            &self.lhs_batch,
            &self.rhs_batch,
        );
        if lc.len() != rc.len() || lb.len() != rb.len() {
            return bad("needs as many lhs as rhs contracting (and batch) axes");
        }
        let in_range = |axes: &[usize], n: usize| {
            axes.iter().all(|&a| a < n) && (0..axes.len()).all(|i| !axes[..i].contains(&axes[i]))
        };
        let lhs_axes: Vec<usize> = lc.iter().chain(lb).copied().collect();
        let rhs_axes: Vec<usize> = rc.iter().chain(rb).copied().collect();
        if !in_range(&lhs_axes, x.ndim()) || !in_range(&rhs_axes, y.ndim()) {
            return bad("has axes out of range or repeated");
        }
        if lc.iter().zip(rc).any(|(&a, &b)| x.shape[a] != y.shape[b]) {
            return bad(&format!(
                "got incompatible contracting sizes ({} vs {})",
                shape_str(&x.shape),
                shape_str(&y.shape)
            ));
        }
        if lb.iter().zip(rb).any(|(&a, &b)| x.shape[a] != y.shape[b]) {
            return bad("got incompatible batch sizes");
        }
        let mut shape: Vec<usize> = lb.iter().map(|&a| x.shape[a]).collect();
        shape.extend(Self::free(lc, lb, x.ndim()).iter().map(|&a| x.shape[a]));
        shape.extend(Self::free(rc, rb, y.ndim()).iter().map(|&a| y.shape[a]));
        let dtype = self.preferred_element_type.unwrap_or(x.dtype);
        Ok(Aval::new(shape, dtype).weak(x.weak_type && y.weak_type))
    }

    /// The canonical layout: lhs as [B, M, K] and rhs as [B, K, N] (permutations and sizes).
    pub fn canonical(&self, x: &[usize], y: &[usize]) -> Canonical {
        let (lc, rc, lb, rb) = (
            &self.lhs_contracting,
            &self.rhs_contracting,
            &self.lhs_batch,
            &self.rhs_batch,
        );
        let lf = Self::free(lc, lb, x.len());
        let rf = Self::free(rc, rb, y.len());
        let size = |s: &[usize], axes: &[usize]| axes.iter().map(|&a| s[a]).product::<usize>();
        Canonical {
            lhs_perm: lb.iter().chain(&lf).chain(lc).copied().collect(),
            rhs_perm: rb.iter().chain(rc).chain(&rf).copied().collect(),
            batch: size(x, lb),
            m: size(x, &lf),
            k: size(x, lc),
            n: size(y, &rf),
        }
    }

    /// Evaluate on concrete arrays.
    ///
    /// # Errors
    /// As `abstract_eval`, for concrete operands.
    pub fn eval(&self, x: &Array, y: &Array, out: Aval) -> Result<Array> {
        let c = self.canonical(x.shape(), y.shape());
        let xt = permuted(x, &c.lhs_perm)?;
        let yt = permuted(y, &c.rhs_perm)?;
        let (b, m, k, n) = (c.batch, c.m, c.k, c.n);
        let data = match (&xt, &yt) {
            (Data::F32(a), Data::F32(bb)) => {
                let mut r = vec![0.0f32; b * m * n];
                cranax_runtime::matmul_f32(b, m, k, n, a, bb, &mut r);
                Data::F32(r.into())
            }
            (Data::F64(a), Data::F64(bb)) => {
                let mut r = vec![0.0f64; b * m * n];
                cranax_runtime::matmul_f64(b, m, k, n, a, bb, &mut r);
                Data::F64(r.into())
            }
            // The 16-bit floats: an f32 product, rounded once (as compiled code and XLA's CPU
            // backend compute it).
            (a, _) if a.dtype().is_half() => {
                let to_f32 = |d: &Data| super::unary::convert_data(d, DType::F32);
                let (af, bf) = (to_f32(a), to_f32(&yt));
                let (Data::F32(af), Data::F32(bf)) = (af, bf) else {
                    unreachable!("converted to f32")
                };
                let mut r = vec![0.0f32; b * m * n];
                cranax_runtime::matmul_f32(b, m, k, n, &af, &bf, &mut r);
                super::unary::convert_data(&Data::F32(r.into()), a.dtype())
            }
            _ => {
                // Integers: a plain loop with wrapping arithmetic in the operands' width.
                let (a, bb) = (xt, yt);
                let dt = x.dtype();
                let dot = |o: usize| -> Scalar {
                    let (bi, mi, ni) = (o / (m * n), (o / n) % m, o % n);
                    let acc = (0..k).fold(0i128, |acc, p| {
                        let l = a.get(bi * m * k + mi * k + p).to_i128();
                        let r = bb.get(bi * k * n + p * n + ni).to_i128();
                        // Wrapped to 64 bits each step: exact modulo every integer width.
                        (acc.wrapping_add(l.wrapping_mul(r)) as i64) as i128
                    });
                    Scalar::from_i128(acc, dt)
                };
                Data::from_scalars(dt, (0..b * m * n).map(dot))
            }
        };
        let data = if data.dtype() != out.dtype {
            super::unary::convert_data(&data, out.dtype)
        } else {
            data
        };
        Ok(Array::from_concrete(out, data))
    }

    /// Bilinear: `dot(lhs_dot, rhs) + dot(lhs, rhs_dot)`.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp(&self, x: &Array, y: &Array, xd: &Tangent, yd: &Tangent) -> Result<JvpOut> {
        let ans = bind1(Prim::Dot(self.clone()), &[x.clone(), y.clone()])?;
        let t = sum_terms([
            xd.as_ref()
                .map(|t| lax::dot_general(t, y, self.clone()))
                .transpose()?,
            yd.as_ref()
                .map(|t| lax::dot_general(x, t, self.clone()))
                .transpose()?,
        ])?;
        Ok((vec![ans], vec![t]))
    }

    /// The transpose rule.
    ///
    /// # Errors
    /// A linear operand used non-linearly, or an error of a primitive the rule binds.
    pub fn transpose(&self, ct: &Tangent, x: &LinArg, y: &LinArg) -> Result<Vec<Tangent>> {
        let Some(ct) = ct else {
            return Ok(vec![None, None]);
        };
        match (x, y) {
            (LinArg::Linear(xa), LinArg::Known(yv)) => {
                Ok(vec![Some(self.transpose_lhs(ct, xa, yv, false)?), None])
            }
            (LinArg::Known(xv), LinArg::Linear(ya)) => {
                let swapped = DotGeneral {
                    lhs_contracting: self.rhs_contracting.clone(),
                    rhs_contracting: self.lhs_contracting.clone(),
                    lhs_batch: self.rhs_batch.clone(),
                    rhs_batch: self.lhs_batch.clone(),
                    preferred_element_type: self.preferred_element_type,
                };
                Ok(vec![None, Some(swapped.transpose_lhs(ct, ya, xv, true)?)])
            }
            _ => Err(Error::type_err(
                "transpose of dot_general: exactly one operand must be linear",
            )),
        }
    }

    /// JAX's `_dot_general_transpose_lhs`: contract the cotangent with the other operand over
    /// its free axes, then permute into the linear operand's layout.
    fn transpose_lhs(&self, g: &Array, x: &Aval, y: &Array, swap_ans: bool) -> Result<Array> {
        let (xc, yc, xb, yb) = (
            &self.lhs_contracting,
            &self.rhs_contracting,
            &self.lhs_batch,
            &self.rhs_batch,
        );
        let x_kept = Self::free(xc, xb, x.ndim());
        let y_kept = Self::free(yc, yb, y.ndim());
        let nb = xb.len();
        let ans_batch: Vec<usize> = (0..nb).collect();
        let ans_y: Vec<usize> = if swap_ans {
            (nb..nb + y_kept.len()).collect()
        } else {
            (nb + x_kept.len()..nb + x_kept.len() + y_kept.len()).collect()
        };
        let dims = DotGeneral {
            lhs_contracting: ans_y,
            rhs_contracting: y_kept,
            lhs_batch: ans_batch,
            rhs_batch: yb.clone(),
            preferred_element_type: self.preferred_element_type,
        };
        let mut order: Vec<usize> = (0..yc.len()).collect();
        order.sort_by_key(|&i| yc[i]);
        let x_contract_sorted_by_y: Vec<usize> = order.iter().map(|&i| xc[i]).collect();
        let layout: Vec<usize> = xb
            .iter()
            .chain(&x_kept)
            .chain(&x_contract_sorted_by_y)
            .copied()
            .collect();
        let mut out_axes: Vec<usize> = (0..layout.len()).collect();
        out_axes.sort_by_key(|&i| layout[i]);
        let r = lax::dot_general(g, y, dims)?;
        let r = lax::transpose(&r, &out_axes)?;
        if r.dtype() != x.dtype {
            lax::convert_element_type(&r, x.dtype)
        } else {
            Ok(r)
        }
    }

    /// The batch axis joins the batch dimensions (both batched) or a free dimension (one).
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn batch(
        &self,
        x: &Array,
        y: &Array,
        dx: Option<usize>,
        dy: Option<usize>,
    ) -> Result<BatchOut> {
        let lead = |a: &Array, d: Option<usize>| match d {
            Some(d) => lax::moveaxis(a, d, 0),
            None => Ok(a.clone()),
        };
        let lhs_rank = x.ndim() - dx.is_some() as usize;
        let (dims, axis) = self.with_leading_axis(dx.is_some(), dy.is_some(), lhs_rank);
        let out = lax::dot_general(&lead(x, dx)?, &lead(y, dy)?, dims)?;
        Ok((vec![out], vec![Some(axis)]))
    }

    /// These dimension numbers for operands given a new leading axis 0 (the left one, the
    /// right one or both, as marked; `lhs_rank` is the left operand's rank without it), and
    /// where that axis lands in the result: it joins the batch dimensions (both), or is its
    /// operand's first free axis (one: right after the batch axes for the left operand, after
    /// the left operand's free axes for the right one). The rule of `batch`, and of products
    /// compiled for all steps of a loop at once.
    pub fn with_leading_axis(&self, lhs: bool, rhs: bool, lhs_rank: usize) -> (DotGeneral, usize) {
        let shift = |axes: &[usize], on: bool| axes.iter().map(|a| a + on as usize).collect();
        let mut dims = DotGeneral {
            lhs_contracting: shift(&self.lhs_contracting, lhs),
            rhs_contracting: shift(&self.rhs_contracting, rhs),
            lhs_batch: shift(&self.lhs_batch, lhs),
            rhs_batch: shift(&self.rhs_batch, rhs),
            preferred_element_type: self.preferred_element_type,
        };
        let nb = self.lhs_batch.len();
        let axis = match (lhs, rhs) {
            (true, true) => {
                dims.lhs_batch.insert(0, 0);
                dims.rhs_batch.insert(0, 0);
                0
            }
            (true, false) => nb,
            (false, true) => lhs_rank - self.lhs_contracting.len(),
            (false, false) => unreachable!("a leading axis is added to at least one operand"),
        };
        (dims, axis)
    }
}

/// The canonical matmul layout of a `dot_general`.
#[derive(Debug)]
pub struct Canonical {
    /// The left operand's permutation to `[batch, m, k]`.
    pub lhs_perm: Vec<usize>,
    /// The right operand's permutation to `[batch, k, n]`.
    pub rhs_perm: Vec<usize>,
    /// The product of the batch dimensions.
    pub batch: usize,
    /// Rows of the result.
    pub m: usize,
    /// The contracted size.
    pub k: usize,
    /// Columns of the result.
    pub n: usize,
}

/// The data of `x` transposed by `perm` (row-major).
fn permuted(x: &Array, perm: &[usize]) -> Result<Data> {
    let data = x.data()?;
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(data.clone());
    }
    Ok(super::shape::transposed_data(data, x.shape(), perm))
}
