//! `sort[dimension is_stable num_keys]`: several operands of one shape sorted together along
//! `dimension` by the first `num_keys` of them (lexicographically), under JAX's total order
//! (-0.0 equal to +0.0, NaNs last; `cranax_runtime::sort`, which eager and compiled code
//! share), and `top_k[axis k]`. The JVP of `sort` sorts an iota with the operands and gathers each tangent by that
//! permutation, as JAX's does; batching moves the batch dimension to the front.

use super::batching::Batching;
use super::{BatchOut, JvpOut, Prim, Tangent};
use crate::array::Array;
use crate::array::Data;
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::bind;
use crate::dtype::{DType, Scalar};
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::Param;
use crate::lax;
use cranax_runtime::sort::{float_order, sort_permutation, top_k_order};
use std::cmp::Ordering;

/// The `sort` primitive's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Sort {
    /// The axis sorted along.
    pub dimension: usize,
    /// Whether equal keys keep their order (cranax's sort is always stable).
    pub is_stable: bool,
    /// How many leading operands are keys.
    pub num_keys: usize,
}

impl Sort {
    /// Parameters as JAX prints them.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        let py_bool = if self.is_stable { "True" } else { "False" };
        vec![
            ("dimension", Param::Text(self.dimension.to_string())),
            ("is_stable", Param::Text(py_bool.into())),
            ("num_keys", Param::Text(self.num_keys.to_string())),
        ]
    }

    /// The inverse of `params`.
    ///
    /// # Errors
    /// Missing or malformed parameters.
    pub fn from_printed(p: &PrintedParams) -> Result<Sort> {
        Ok(Sort {
            dimension: p.get("dimension")?,
            is_stable: p.get("is_stable")?,
            num_keys: p.get("num_keys")?,
        })
    }

    /// The result types (the operands'), or JAX's error.
    ///
    /// # Errors
    /// No operands, operands of different shapes, a dimension out of range, `num_keys` not in
    /// `1..=operands`.
    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Vec<Aval>> {
        let Some(first) = avals.first() else {
            return Err(Error::type_err(
                "sort requires at least one operand".to_string(),
            ));
        };
        if avals.iter().any(|a| a.shape != first.shape) {
            let shapes: Vec<String> = avals.iter().map(|a| shape_str(&a.shape)).collect();
            return Err(Error::type_err(format!(
                "sort: operands must have the same shape, got {}",
                shapes.join(", ")
            )));
        }
        if self.dimension >= first.ndim() {
            return Err(Error::value_err(format!(
                "sort: dimension {} is out of bounds for operands of shape {}",
                self.dimension,
                shape_str(&first.shape)
            )));
        }
        if self.num_keys < 1 || self.num_keys > avals.len() {
            return Err(Error::value_err(format!(
                "sort: num_keys must be between 1 and the number of operands ({}), got {}",
                avals.len(),
                self.num_keys
            )));
        }
        Ok(avals.iter().map(|a| (*a).clone().weak(false)).collect())
    }

    /// Evaluate: the stable permutation of the keys (lexicographic in operand order), then
    /// every operand taken in that order.
    ///
    /// # Errors
    /// A tracer as operand.
    pub fn eval(&self, args: &[Array]) -> Result<Vec<Array>> {
        let keys: Vec<_> = args[..self.num_keys]
            .iter()
            .map(|a| a.data())
            .collect::<Result<_>>()?;
        let (outer, n, inner) = lines(args[0].shape(), self.dimension);
        let mut perm = vec![0i32; args[0].size()];
        let cmp = |p: usize, q: usize| {
            keys.iter()
                .map(|k| scalar_order(k.get(p), k.get(q)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        sort_permutation(outer, n, inner, cmp, &mut perm);
        let src: Vec<usize> = (0..perm.len())
            .map(|flat| {
                let k = flat / inner % n.max(1);
                flat - k * inner + perm[flat] as usize * inner
            })
            .collect();
        args.iter()
            .map(|a| {
                let data = a.data()?.take(src.iter().copied());
                Ok(Array::from_concrete(a.aval().clone().weak(false), data))
            })
            .collect()
    }

    fn bind(&self, args: &[Array]) -> Result<Vec<Array>> {
        bind(Prim::Sort(self.clone()), args)
    }

    /// JAX's `_sort_jvp`: sort an iota along with the operands, then gather each tangent by
    /// the permutation it comes back as.
    ///
    /// # Errors
    /// Errors of the primitives it binds.
    pub fn jvp(&self, primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
        let shape = primals[0].shape().to_vec();
        let iota = lax::iota(DType::I32, &shape, self.dimension)?;
        let mut args = primals.to_vec();
        args.push(iota);
        let mut outs = self.bind(&args)?;
        let perm = outs.pop().expect("the iota's result");
        let tangents_out = tangents
            .iter()
            .map(|t| {
                t.as_ref()
                    .map(|t| take_along_axis(t, &perm, self.dimension))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        Ok((outs, tangents_out))
    }

    /// Batching: every operand with the batch dimension in front (unbatched ones broadcast),
    /// the sorted dimension one further.
    ///
    /// # Errors
    /// Errors of the primitives it binds.
    pub fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let args: Vec<Array> = (0..b.args.len())
            .map(|i| b.front(i))
            .collect::<Result<_>>()?;
        let op = Sort {
            dimension: self.dimension + 1,
            ..self.clone()
        };
        let outs = op.bind(&args)?;
        let n = outs.len();
        Ok((outs, vec![Some(0); n]))
    }
}

/// JAX's order of two scalars of one dtype: floats by `float_order`, the rest as numbers.
fn scalar_order(a: Scalar, b: Scalar) -> Ordering {
    match (a, b) {
        (Scalar::F32(x), Scalar::F32(y)) => float_order(x as f64, y as f64),
        (Scalar::F64(x), Scalar::F64(y)) => float_order(x, y),
        (Scalar::I32(x), Scalar::I32(y)) => x.cmp(&y),
        (Scalar::U32(x), Scalar::U32(y)) => x.cmp(&y),
        (Scalar::Bool(x), Scalar::Bool(y)) => x.cmp(&y),
        _ if a.dtype() != b.dtype() => unreachable!("one dtype per operand"),
        // The 16-bit floats exactly as f64, the other integers exactly as i128.
        _ if a.dtype().is_float() => float_order(a.to_f64(), b.to_f64()),
        _ => a.to_i128().cmp(&b.to_i128()),
    }
}

/// `x` taken along `axis` at `idx` (`jnp.take_along_axis`; `idx`'s extent along `axis` may
/// differ from `x`'s, the others are equal): `out[o, j, i] = x[o, idx[o, j, i], i]`, a gather
/// from the flattened `x`.
///
/// # Errors
/// Shapes that do not fit.
pub fn take_along_axis(x: &Array, idx: &Array, axis: usize) -> Result<Array> {
    let s = x.shape();
    let (outer, n, inner) = (
        s[..axis].iter().product::<usize>(),
        s[axis],
        s[axis + 1..].iter().product::<usize>(),
    );
    let lines = [outer, idx.shape()[axis], inner];
    let idx3 = lax::reshape(idx, &lines)?;
    let o = lax::iota(DType::I32, &lines, 0)?;
    let i = lax::iota(DType::I32, &lines, 2)?;
    let c = |v: usize| lax::scalar_like(&o, v as f64);
    let row = lax::add(&lax::mul(&o, &c(n))?, &idx3)?;
    let src = lax::add(&lax::mul(&row, &c(inner))?, &i)?;
    let flat = lax::reshape(x, &[x.size()])?;
    lax::reshape(&lax::take_clamped(&flat, &src, 0)?, idx.shape())
}

/// `top_k[axis k]`: the `k` largest elements along `axis` (JAX 0.10 prints the axis; the last
/// by default), in descending order (NaN largest, +0.0 above -0.0, ties in index order), and
/// their i32 indices.
#[derive(Clone, Debug, PartialEq)]
pub struct TopK {
    /// How many elements.
    pub k: usize,
    /// The axis they are taken along.
    pub axis: usize,
}

impl TopK {
    /// Parameters as JAX prints them.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        vec![
            ("axis", Param::Text(self.axis.to_string())),
            ("k", Param::Text(self.k.to_string())),
        ]
    }

    /// The inverse of `params`.
    ///
    /// # Errors
    /// Missing or malformed parameters.
    pub fn from_printed(p: &PrintedParams) -> Result<TopK> {
        Ok(TopK {
            k: p.get("k")?,
            axis: p.get("axis")?,
        })
    }

    /// The values' and indices' types, or JAX's error.
    ///
    /// # Errors
    /// A scalar operand, an axis out of range, `k` above the axis' extent.
    pub fn abstract_eval(&self, x: &Aval) -> Result<Vec<Aval>> {
        if x.ndim() == 0 {
            return Err(Error::value_err(
                "top_k operand must have >= 1 dimension, got ()".to_string(),
            ));
        }
        if self.axis >= x.ndim() {
            return Err(Error::value_err(format!(
                "top_k: axis {} is out of bounds for an operand of shape {}",
                self.axis,
                shape_str(&x.shape)
            )));
        }
        if self.k > x.shape[self.axis] {
            return Err(Error::value_err(format!(
                "k argument to top_k must be no larger than size of the operand along axis {}, got k={} for shape {}",
                self.axis,
                self.k,
                shape_str(&x.shape)
            )));
        }
        let mut shape = x.shape.clone();
        shape[self.axis] = self.k;
        Ok(vec![
            Aval::new(shape.clone(), x.dtype),
            Aval::new(shape, DType::I32),
        ])
    }

    /// Evaluate: the permutation in top_k's order, its first `k` positions, the values there.
    ///
    /// # Errors
    /// A tracer as operand.
    pub fn eval(&self, x: &Array) -> Result<Vec<Array>> {
        let data = x.data()?;
        let shape = x.shape();
        let (outer, n, inner) = lines(shape, self.axis);
        let mut perm = vec![0i32; x.size()];
        let cmp = |p: usize, q: usize| match (data.get(p), data.get(q)) {
            (Scalar::F32(a), Scalar::F32(b)) => top_k_order(a as f64, b as f64),
            (Scalar::F64(a), Scalar::F64(b)) => top_k_order(a, b),
            (a, b) if a.dtype().is_half() => top_k_order(a.to_f64(), b.to_f64()),
            (a, b) => scalar_order(b, a),
        };
        sort_permutation(outer, n, inner, cmp, &mut perm);
        let mut idx = Vec::with_capacity(outer * self.k * inner);
        for o in 0..outer {
            for j in 0..self.k {
                for i in 0..inner {
                    idx.push(perm[(o * n + j) * inner + i]);
                }
            }
        }
        let mut out_shape = shape.to_vec();
        out_shape[self.axis] = self.k;
        let src = (0..idx.len()).map(|f| {
            let (o, i) = (f / (self.k * inner), f % inner);
            (o * n + idx[f] as usize) * inner + i
        });
        let vals = Data::take(data, src);
        Ok(vec![
            Array::from_concrete(Aval::new(out_shape.clone(), x.dtype()), vals),
            Array::from_vec(idx, &out_shape)?,
        ])
    }

    /// JVP: the tangent at the chosen indices.
    ///
    /// # Errors
    /// Errors of the primitives it binds.
    pub fn jvp(&self, x: &Array, t: &Tangent) -> Result<JvpOut> {
        let outs = bind(Prim::TopK(self.clone()), std::slice::from_ref(x))?;
        let tv = t
            .as_ref()
            .map(|t| take_along_axis(t, &outs[1], self.axis))
            .transpose()?;
        Ok((outs, vec![tv, None]))
    }

    /// Batching: the batch dimension in front, the axis one further.
    ///
    /// # Errors
    /// Errors of the primitive it binds.
    pub fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let x = b.front(0)?;
        let op = TopK {
            axis: self.axis + 1,
            ..self.clone()
        };
        Ok((bind(Prim::TopK(op), &[x])?, vec![Some(0), Some(0)]))
    }
}

/// `[outer, n, inner]`: the extents before, along and after `axis`.
fn lines(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis],
        shape[axis + 1..].iter().product(),
    )
}
