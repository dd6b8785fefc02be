//! Cumulative reductions along one axis: `cumsum`, `cumprod`, `cummax`, `cummin`,
//! `cumlogsumexp` (`[axis reverse]`, as JAX prints them). `cumsum` is linear (its transpose is
//! a reversed `cumsum`); the others differentiate as JAX's do, by the JVP of an associative
//! scan (`associative_scan`, JAX's algorithm step for step) of the combining op, so ties of
//! `cummax` share their tangent exactly as JAX's do. The scalar combining step (`combine`) is
//! the one definition eager evaluation uses; compiled code computes the same step.

use super::binary::{float_max, float_min};
use super::{BatchOut, BinaryOp, JvpOut, LinArg, Prim, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::bind1;
use crate::dtype::{DType, Scalar};
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::Param;
use crate::lax;

/// Which cumulative reduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CumulativeKind {
    /// Running sums.
    Sum,
    /// Running products.
    Prod,
    /// Running maxima (NaN propagates).
    Max,
    /// Running minima (NaN propagates).
    Min,
    /// Running `log(sum(exp))`, by `logaddexp` steps.
    LogSumExp,
}

/// A cumulative reduction primitive with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Cumulative {
    /// Which reduction.
    pub kind: CumulativeKind,
    /// The scanned axis.
    pub axis: usize,
    /// Scan from the end of the axis.
    pub reverse: bool,
}

impl Cumulative {
    /// The name JAX prints.
    pub fn name(&self) -> &'static str {
        match self.kind {
            CumulativeKind::Sum => "cumsum",
            CumulativeKind::Prod => "cumprod",
            CumulativeKind::Max => "cummax",
            CumulativeKind::Min => "cummin",
            CumulativeKind::LogSumExp => "cumlogsumexp",
        }
    }

    /// Parameters as JAX prints them.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        let py_bool = if self.reverse { "True" } else { "False" };
        vec![
            ("axis", Param::Text(self.axis.to_string())),
            ("reverse", Param::Text(py_bool.into())),
        ]
    }

    /// The inverse of `name` and `params` (`None`: not a cumulative reduction).
    ///
    /// # Errors
    /// Missing or malformed parameters.
    pub fn from_printed(name: &str, p: &PrintedParams) -> Result<Option<Cumulative>> {
        let kind = match name {
            "cumsum" => CumulativeKind::Sum,
            "cumprod" => CumulativeKind::Prod,
            "cummax" => CumulativeKind::Max,
            "cummin" => CumulativeKind::Min,
            "cumlogsumexp" => CumulativeKind::LogSumExp,
            _ => return Ok(None),
        };
        Ok(Some(Cumulative {
            kind,
            axis: p.get("axis")?,
            reverse: p.get("reverse")?,
        }))
    }

    /// The result type (the operand's), or JAX's error.
    ///
    /// # Errors
    /// An axis out of bounds; a bool operand (an integer one for `cumlogsumexp`).
    pub fn abstract_eval(&self, x: &Aval) -> Result<Aval> {
        if self.axis >= x.ndim() {
            return Err(Error::value_err(format!(
                "{}: axis {} is out of bounds for array of shape {}",
                self.name(),
                self.axis,
                shape_str(&x.shape)
            )));
        }
        let float_only = self.kind == CumulativeKind::LogSumExp;
        if x.dtype == DType::Bool || (float_only && !x.dtype.is_float()) {
            return Err(Error::type_err(format!(
                "{} does not accept dtype {}. Accepted dtypes are subtypes of {}.",
                self.name(),
                x.dtype.numpy_name(),
                if float_only { "floating" } else { "number" }
            )));
        }
        Ok(x.clone())
    }

    /// One step of the scan on scalars of one dtype: `acc ⊕ v` (integers wrap).
    pub fn combine(&self, acc: Scalar, v: Scalar) -> Scalar {
        use CumulativeKind as K;
        use Scalar as S;
        match (self.kind, acc, v) {
            (K::Sum, S::F32(a), S::F32(b)) => S::F32(a + b),
            (K::Sum, S::F64(a), S::F64(b)) => S::F64(a + b),
            (K::Sum, S::I32(a), S::I32(b)) => S::I32(a.wrapping_add(b)),
            (K::Sum, S::U32(a), S::U32(b)) => S::U32(a.wrapping_add(b)),
            (K::Prod, S::F32(a), S::F32(b)) => S::F32(a * b),
            (K::Prod, S::F64(a), S::F64(b)) => S::F64(a * b),
            (K::Prod, S::I32(a), S::I32(b)) => S::I32(a.wrapping_mul(b)),
            (K::Prod, S::U32(a), S::U32(b)) => S::U32(a.wrapping_mul(b)),
            (K::Max, S::F32(a), S::F32(b)) => S::F32(float_max(a as f64, b as f64) as f32),
            (K::Max, S::F64(a), S::F64(b)) => S::F64(float_max(a, b)),
            (K::Max, S::I32(a), S::I32(b)) => S::I32(a.max(b)),
            (K::Max, S::U32(a), S::U32(b)) => S::U32(a.max(b)),
            (K::Min, S::F32(a), S::F32(b)) => S::F32(float_min(a as f64, b as f64) as f32),
            (K::Min, S::F64(a), S::F64(b)) => S::F64(float_min(a, b)),
            (K::Min, S::I32(a), S::I32(b)) => S::I32(a.min(b)),
            (K::Min, S::U32(a), S::U32(b)) => S::U32(a.min(b)),
            (K::LogSumExp, S::F32(a), S::F32(b)) => {
                S::F32(logaddexp_f64(a as f64, b as f64) as f32)
            }
            (K::LogSumExp, S::F64(a), S::F64(b)) => S::F64(logaddexp_f64(a, b)),
            // The 16-bit floats: each step in f32, rounded back.
            (_, a, b) if a.dtype().is_half() => {
                let (x, y) = (S::F32(a.to_f64() as f32), S::F32(b.to_f64() as f32));
                self.combine(x, y).convert(a.dtype())
            }
            // The other integers widened (a product of two 64-bit values fits), wrapped back.
            (kind, a, b) if a.dtype().is_int() => {
                let (x, y) = (a.to_i128(), b.to_i128());
                let r = match kind {
                    K::Sum => x.wrapping_add(y),
                    K::Prod => x.wrapping_mul(y),
                    K::Max => x.max(y),
                    K::Min => x.min(y),
                    K::LogSumExp => unreachable!("dtypes checked by abstract_eval"),
                };
                S::from_i128(r, a.dtype())
            }
            _ => unreachable!("dtypes checked by abstract_eval"),
        }
    }

    /// Evaluate on a concrete array: a running value along the axis.
    ///
    /// # Errors
    /// A tracer as operand.
    pub fn eval(&self, x: &Array) -> Result<Array> {
        let data = x.data()?;
        let shape = x.shape();
        let n = shape[self.axis];
        let inner: usize = shape[self.axis + 1..].iter().product();
        let outer: usize = shape[..self.axis].iter().product();
        let mut out: Vec<Scalar> = (0..x.size()).map(|i| data.get(i)).collect();
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| (o * n + k) * inner + i;
                let mut acc: Option<Scalar> = None;
                for step in 0..n {
                    let k = if self.reverse { n - 1 - step } else { step };
                    let v = out[at(k)];
                    let next = acc.map_or(v, |a| self.combine(a, v));
                    out[at(k)] = next;
                    acc = Some(next);
                }
            }
        }
        Ok(Array::from_concrete(
            x.aval().clone().weak(false),
            Data::from_scalars(x.dtype(), out.into_iter()),
        ))
    }

    fn bind(&self, x: &Array) -> Result<Array> {
        bind1(Prim::Cumulative(self.clone()), std::slice::from_ref(x))
    }

    /// JVP rule: `cumsum` of the tangent; for the others JAX's `_cumulative_jvp_rule`, the JVP
    /// of an associative scan of the combining op on (primal, tangent) pairs.
    ///
    /// # Errors
    /// Errors of the primitives it binds.
    pub fn jvp(&self, x: &Array, g: &Tangent) -> Result<JvpOut> {
        let Some(g) = g else {
            return Ok((vec![self.bind(x)?], vec![None]));
        };
        if self.kind == CumulativeKind::Sum {
            return Ok((vec![self.bind(x)?], vec![Some(self.bind(g)?)]));
        }
        let kind = self.kind;
        let combine = move |a: &[Array], b: &[Array]| -> Result<Vec<Array>> {
            let (p, t) = pair_jvp(kind, &a[0], &b[0], &a[1], &b[1])?;
            Ok(vec![p, t])
        };
        let out = associative_scan(&[x.clone(), g.clone()], self.axis, self.reverse, &combine)?;
        Ok((vec![out[0].clone()], vec![Some(out[1].clone())]))
    }

    /// `cumsum` is linear: its transpose is a `cumsum` in the other direction.
    ///
    /// # Errors
    /// Any other cumulative reduction (not linear).
    pub fn transpose(&self, ct: &Tangent, _x: &LinArg) -> Result<Tangent> {
        if self.kind != CumulativeKind::Sum {
            return Err(Error::type_err(format!(
                "transpose of {} is not defined: it is not linear",
                self.name()
            )));
        }
        let Some(ct) = ct else { return Ok(None) };
        let rev = Cumulative {
            reverse: !self.reverse,
            ..self.clone()
        };
        Ok(Some(rev.bind(ct)?))
    }

    /// The batch dimension is an extra axis; the scanned axis moves past it.
    ///
    /// # Errors
    /// Errors of the primitive it binds.
    pub fn batch(&self, x: &Array, d: Option<usize>) -> Result<BatchOut> {
        let d = d.expect("batched operand");
        let axis = if self.axis < d {
            self.axis
        } else {
            self.axis + 1
        };
        let op = Cumulative {
            axis,
            ..self.clone()
        };
        Ok((vec![op.bind(x)?], vec![Some(d)]))
    }
}

/// `log(exp(a) + exp(b))` as JAX's `logaddexp` computes it (`lax::logaddexp`'s formula on
/// scalars): `a + b` where `a - b` is NaN, else `max + log1p(exp(-|a - b|))`.
pub fn logaddexp_f64(a: f64, b: f64) -> f64 {
    let delta = a - b;
    if delta.is_nan() {
        a + b
    } else {
        float_max(a, b) + (-delta.abs()).exp().ln_1p()
    }
}

/// The combining op's value and JVP at `(a, b)` with tangents `(ta, tb)`: the rules of `mul`,
/// `max`, `min` (ties split evenly), and JAX's custom JVP of `logaddexp`.
fn pair_jvp(
    kind: CumulativeKind,
    a: &Array,
    b: &Array,
    ta: &Array,
    tb: &Array,
) -> Result<(Array, Array)> {
    let op = match kind {
        CumulativeKind::Prod => BinaryOp::Mul,
        CumulativeKind::Max => BinaryOp::Max,
        CumulativeKind::Min => BinaryOp::Min,
        CumulativeKind::LogSumExp => {
            let out = lax::logaddexp(a, b)?;
            let w =
                |x: &Array| lax::exp(&lax::sub(&lax::replace_inf(x)?, &lax::replace_inf(&out)?)?);
            let t = lax::add(&lax::mul(ta, &w(a)?)?, &lax::mul(tb, &w(b)?)?)?;
            return Ok((out, t));
        }
        CumulativeKind::Sum => unreachable!("cumsum is linear"),
    };
    let (mut p, mut t) = op.jvp(a, b, &Some(ta.clone()), &Some(tb.clone()))?;
    let t = t
        .pop()
        .flatten()
        .map_or_else(|| lax::zeros(ta.aval()), Ok)?;
    Ok((p.pop().expect("one output"), t))
}

/// `x` reversed along `axis` (JAX's `lax.rev` of one axis).
///
/// # Errors
/// An axis out of range.
pub fn rev(x: &Array, axis: usize) -> Result<Array> {
    lax::rev(x, &[axis])
}

/// Elements `[start, stop)` of `axis` with `stride`.
fn slice_in_dim(x: &Array, start: usize, stop: usize, stride: usize, axis: usize) -> Result<Array> {
    let nd = x.ndim();
    let mut lo = vec![0; nd];
    let mut hi = x.shape().to_vec();
    let mut st = vec![1; nd];
    lo[axis] = start;
    hi[axis] = stop.max(start);
    st[axis] = stride;
    lax::slice(x, &lo, &hi, Some(&st))
}

/// A pairwise combination of lists of arrays.
type Combine<'a> = dyn Fn(&[Array], &[Array]) -> Result<Vec<Array>> + 'a;

/// JAX's `lax.associative_scan` of `combine` over `elems` along `axis`: pairs of neighbours
/// combined, the half-length scan recursively, the even elements from the odd ones,
/// interleaved.
pub fn associative_scan(
    elems: &[Array],
    axis: usize,
    reverse: bool,
    combine: &Combine,
) -> Result<Vec<Array>> {
    let elems: Vec<Array> = if reverse {
        elems.iter().map(|e| rev(e, axis)).collect::<Result<_>>()?
    } else {
        elems.to_vec()
    };
    let scans = scan_rec(&elems, axis, combine)?;
    if reverse {
        scans.iter().map(|e| rev(e, axis)).collect()
    } else {
        Ok(scans)
    }
}

fn scan_rec(elems: &[Array], axis: usize, combine: &Combine) -> Result<Vec<Array>> {
    let n = elems[0].shape()[axis];
    if n < 2 {
        return Ok(elems.to_vec());
    }
    let each = |f: &dyn Fn(&Array) -> Result<Array>, xs: &[Array]| -> Result<Vec<Array>> {
        xs.iter().map(f).collect()
    };
    let evens = each(&|e| slice_in_dim(e, 0, n - 1, 2, axis), elems)?;
    let odds = each(&|e| slice_in_dim(e, 1, n, 2, axis), elems)?;
    let reduced = combine(&evens, &odds)?;
    let odd_elems = scan_rec(&reduced, axis, combine)?;
    let rest = each(&|e| slice_in_dim(e, 2, n, 2, axis), elems)?;
    let even_elems = if n.is_multiple_of(2) {
        let m = odd_elems[0].shape()[axis];
        let heads = each(&|e| slice_in_dim(e, 0, m - 1, 1, axis), &odd_elems)?;
        combine(&heads, &rest)?
    } else {
        combine(&odd_elems, &rest)?
    };
    elems
        .iter()
        .zip(even_elems)
        .zip(odd_elems)
        .map(|((e, r), o)| {
            let first = slice_in_dim(e, 0, 1, 1, axis)?;
            let even = lax::concatenate(&[first, r], axis)?;
            interleave(&even, &o, axis)
        })
        .collect()
}

/// JAX's `_interleave`: `a` and `b` alternating along `axis` (`a` first; as long as `b` or one
/// longer), by padding each with zeros between its elements and adding.
fn interleave(a: &Array, b: &Array, axis: usize) -> Result<Array> {
    let same = a.shape()[axis] == b.shape()[axis];
    let mut ap = vec![(0, 0, 0); a.ndim()];
    let mut bp = ap.clone();
    ap[axis] = (0, usize::from(same), 1);
    bp[axis] = (1, usize::from(!same), 1);
    let pa = lax::pad(a, &lax::scalar_like(a, 0.0), &ap)?;
    let pb = lax::pad(b, &lax::scalar_like(b, 0.0), &bp)?;
    if a.dtype() == DType::Bool {
        lax::or(&pa, &pb)
    } else {
        lax::add(&pa, &pb)
    }
}
