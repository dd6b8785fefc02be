//! `clamp(min, x, max)`: JAX's `lax.clamp_p`, XLA's `Clamp`: `min(max(x, min), max)`
//! elementwise, `min` and `max` scalars or of `x`'s shape. Eager and compiled code both compute
//! it as those two binary ops (`BinaryOp::Max`, then `BinaryOp::Min`), so NaN and signed zeros
//! behave as `max` and `min` do. Its JVP is JAX's three `defjvp` terms; batching follows JAX's
//! `_clamp_batch_rule` (unbatched scalar bounds stay scalars).

use super::batching::{bdim_to_front, Batching};
use super::{BatchOut, BinaryOp, JvpOut, Prim, Tangent};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::bind1;
use crate::lax;

/// The result type: `x`'s, weak if all three are; JAX's errors for mismatched dtypes or
/// bounds that are neither scalars nor of `x`'s shape.
///
/// # Errors
/// Dtypes that differ or that `max`/`min` do not take, or bounds of another shape.
pub fn abstract_eval(avals: &[&Aval]) -> Result<Aval> {
    let (lo, x, hi) = (avals[0], avals[1], avals[2]);
    if lo.dtype != x.dtype || hi.dtype != x.dtype {
        return Err(Error::DTypeMismatch {
            op: "clamp".into(),
            dtypes: vec![lo.dtype, x.dtype, hi.dtype],
        });
    }
    BinaryOp::Max
        .abstract_eval(x, x)
        .map_err(|_| Error::UnsupportedDType {
            op: "clamp".into(),
            dtype: x.dtype,
            accepted: Some("number"),
        })?;
    for (name, b) in [("min", lo), ("max", hi)] {
        if !b.shape.is_empty() && b.shape != x.shape {
            return Err(Error::invalid_operands(
                "clamp",
                avals,
                format!(
                    "clamp requires {name}.shape == operand.shape or {name}.shape == (), got {name}.shape={}, operand.shape={}.",
                    shape_str(&b.shape),
                    shape_str(&x.shape)
                ),
            ));
        }
    }
    let weak = avals.iter().all(|a| a.weak_type);
    Ok(Aval::new(x.shape.clone(), x.dtype).weak(weak))
}

/// `min(max(x, lo), hi)` on concrete arrays.
///
/// # Errors
/// A tracer as operand.
pub fn eval(args: &[Array], out: Aval) -> Result<Array> {
    let (lo, x, hi) = (&args[0], &args[1], &args[2]);
    let above = BinaryOp::Max.eval(x, lo, out.clone())?;
    BinaryOp::Min.eval(&above, hi, out)
}

fn bind(lo: &Array, x: &Array, hi: &Array) -> Result<Array> {
    bind1(Prim::Clamp, &[lo.clone(), x.clone(), hi.clone()])
}

/// JAX's JVP: the tangent of `min` where `min > x` (and `min < max`), of `x` where
/// `min < x < max`, of `max` where `max < x`; zero elsewhere.
///
/// # Errors
/// Errors of the primitives it binds.
pub fn jvp(primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
    let (lo, x, hi) = (&primals[0], &primals[1], &primals[2]);
    let out = bind(lo, x, hi)?;
    let zeros = lax::zeros(x.aval())?;
    let spread = |g: &Array| {
        if g.shape() == x.shape() {
            Ok(g.clone())
        } else {
            lax::broadcast_in_dim(g, x.shape(), &[])
        }
    };
    let term = |g: &Tangent, pred: &dyn Fn() -> Result<Array>| -> Result<Tangent> {
        let Some(g) = g else { return Ok(None) };
        Ok(Some(lax::select(&pred()?, &spread(g)?, &zeros)?))
    };
    let t_lo = term(&tangents[0], &|| {
        lax::and(&lax::gt(lo, x)?, &lax::lt(lo, hi)?)
    })?;
    let t_x = term(&tangents[1], &|| {
        lax::and(&lax::gt(x, lo)?, &lax::lt(x, hi)?)
    })?;
    let t_hi = term(&tangents[2], &|| lax::lt(hi, x))?;
    Ok((
        vec![out],
        vec![super::binary::sum_terms([t_lo, t_x, t_hi])?],
    ))
}

/// JAX's `_clamp_batch_rule`: every operand with its batch dimension in front (an unbatched
/// scalar bound stays a scalar; a batched scalar bound is spread along `x`).
///
/// # Errors
/// Errors of the primitives it binds.
pub fn batch(b: &Batching) -> Result<BatchOut> {
    let (args, dims) = (b.args, b.dims);
    if dims[0].is_none() && dims[2].is_none() && args[0].ndim() == 0 && args[2].ndim() == 0 {
        return Ok((vec![bind(&args[0], &args[1], &args[2])?], vec![dims[1]]));
    }
    let x = bdim_to_front(&args[1], dims[1], b.size)?;
    let bound = |i: usize| -> Result<Array> {
        if dims[i].is_none() && args[i].ndim() == 0 {
            return Ok(args[i].clone());
        }
        let v = bdim_to_front(&args[i], dims[i], b.size)?;
        if v.ndim() < x.ndim() {
            lax::broadcast_in_dim(&v, x.shape(), &[0])
        } else {
            Ok(v)
        }
    };
    Ok((vec![bind(&bound(0)?, &x, &bound(2)?)?], vec![Some(0)]))
}
