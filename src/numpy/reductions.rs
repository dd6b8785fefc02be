//! `jnp` reductions beyond `sum`/`mean`/`max`/`min`: `prod`, `all`, `any`, `var`, `std`,
//! `average`, `count_nonzero`, `ptp`, the NaN-ignoring forms (`nansum`, `nanmean`, `nanmax`,
//! `nanmin`, `nanprod`, `nanvar`, `nanstd`, `nanargmax`, `nanargmin`) and the cumulative ones
//! (`cumsum`, `cumprod`, `cumulative_sum`, `nancumsum`, `nancumprod`), written as JAX writes
//! them over the lax primitives, so they differentiate, batch and compile as those do.

use super::{
    isnan, keep_dims, max, mean, min, normalize_axes, result_type, subtract, sum, to_float, where_,
    AsArray,
};
use crate::array::Array;
use crate::core::error::{or_raise, shape_str, Error, Result};
use crate::dtype::DType;
use crate::lax;

/// The element count reduced into each result: the product of the extents of `axes`.
fn count(x: &Array, axes: &[usize]) -> usize {
    axes.iter().map(|&a| x.shape()[a]).product()
}

/// `x` as it enters an integer-promoting reduction (`sum`, `prod`): bools as i32.
fn promote_integers(x: &Array) -> Result<Array> {
    if x.dtype() == DType::Bool {
        lax::convert_element_type(x, DType::I32)
    } else {
        Ok(x.clone())
    }
}

/// `jnp.prod(x, axis, keepdims)`: the product over `axes` (`None`: all); bools multiply as i32.
pub fn prod(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let ax = normalize_axes("prod", axes, x.ndim())?;
        let r = lax::reduce_prod(&promote_integers(&x)?, &ax)?;
        keep_dims(&x, r, &ax, keepdims)
    })())
}

/// `x != 0` (bools as they are): what `all`/`any` reduce.
fn truth(x: &Array) -> Result<Array> {
    if x.dtype() == DType::Bool {
        Ok(x.clone())
    } else {
        lax::ne(x, &lax::scalar_like(x, 0.0))
    }
}

/// `jnp.all(x, axis, keepdims)`: `reduce_and` of `x != 0`.
pub fn all(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let ax = normalize_axes("all", axes, x.ndim())?;
        keep_dims(&x, lax::reduce_and(&truth(&x)?, &ax)?, &ax, keepdims)
    })())
}

/// `jnp.any(x, axis, keepdims)`: `reduce_or` of `x != 0`.
pub fn any(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let ax = normalize_axes("any", axes, x.ndim())?;
        keep_dims(&x, lax::reduce_or(&truth(&x)?, &ax)?, &ax, keepdims)
    })())
}

/// `jnp.count_nonzero(x, axis, keepdims)`: the number of nonzero elements, as i32.
pub fn count_nonzero(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let nz = lax::convert_element_type(&truth(&x)?, DType::I32)?;
        Ok(sum(&nz, axes, keepdims))
    })())
}

/// `jnp.ptp(x, axis, keepdims)`: `max - min` (peak to peak).
pub fn ptp(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    subtract(max(&x, axes, keepdims), min(&x, axes, keepdims))
}

/// `sum(x, axes) / (n - ddof)`, NaN where `n - ddof <= 0`, as JAX divides in `var`.
fn over_dof(total: &Array, n: &Array, ddof: usize) -> Result<Array> {
    let n = lax::convert_element_type(n, total.dtype())?;
    let dof = lax::sub(&n, &lax::scalar_like(&n, ddof as f64))?;
    let empty = lax::le(&dof, &lax::scalar_like(&dof, 0.0))?;
    let nan = lax::scalar_like(total, f64::NAN);
    Ok(where_(&empty, &nan, lax::div(total, &dof)?))
}

/// `jnp.var(x, axis, ddof, keepdims)`: the mean of the squared deviations from the mean,
/// divided by `n - ddof` (NaN when that is not positive); integers in f32.
pub fn var(x: impl AsArray, axes: Option<&[isize]>, ddof: usize, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let x = to_float(&x)?;
        let ax = normalize_axes("var", axes, x.ndim())?;
        let centered = subtract(&x, mean(&x, axes, true));
        let sq = lax::mul(&centered, &centered)?;
        let n = Array::scalar(count(&x, &ax) as f64);
        over_dof(&sum(&sq, axes, keepdims), &n, ddof)
    })())
}

/// `jnp.std(x, axis, ddof, keepdims)`: the square root of `var`.
pub fn std(x: impl AsArray, axes: Option<&[isize]>, ddof: usize, keepdims: bool) -> Array {
    or_raise(lax::sqrt(&var(x, axes, ddof, keepdims)))
}

/// `jnp.average(x, axis, weights, keepdims=keepdims)`: the weighted mean `sum(x w) / sum(w)`
/// (`None` weights: the mean). Weights have `x`'s shape, or are 1-D along a single `axis`.
pub fn average(
    x: impl AsArray,
    axes: Option<&[isize]>,
    weights: Option<&Array>,
    keepdims: bool,
) -> Array {
    average_returned(x, axes, weights, keepdims).0
}

/// `jnp.average(..., returned=True)`: the average and the sum of the weights (for no weights,
/// the element count), broadcast to the average's shape.
pub fn average_returned(
    x: impl AsArray,
    axes: Option<&[isize]>,
    weights: Option<&Array>,
    keepdims: bool,
) -> (Array, Array) {
    let x = x.as_array();
    or_raise((|| {
        let ax = normalize_axes("average", axes, x.ndim())?;
        let Some(w) = weights else {
            let avg = mean(&x, axes, keepdims);
            let n = lax::scalar_like(&avg, (x.size() / avg.size().max(1)) as f64);
            return Ok((avg.clone(), lax::broadcast_to_rank(&n, avg.shape())?));
        };
        let (x, w) = (to_float(&x)?, to_float(w)?);
        let (dt, _) = result_type(&[&x, &w]);
        let (x, mut w) = (
            lax::convert_element_type(&x, dt)?,
            lax::convert_element_type(&w, dt)?,
        );
        if x.shape() != w.shape() {
            let err = |m: &str| Err(Error::value_err(format!("average: {m}")));
            if w.ndim() != 1 {
                return err("1D weights expected when shapes of a and weights differ.");
            }
            let Some(axes) = axes else {
                return err("Axis must be specified when shapes of a and weights differ.");
            };
            if ax.len() != 1 {
                return err("Single axis expected when shapes of a and weights differ");
            }
            if w.shape()[0] != x.shape()[ax[0]] {
                return Err(Error::value_err(format!(
                    "average: Length of weights not compatible with specified axis {} (a: {}, weights: {}).",
                    axes[0],
                    shape_str(x.shape()),
                    shape_str(w.shape())
                )));
            }
            w = lax::broadcast_in_dim(&w, x.shape(), &ax)?;
        }
        let wsum = sum(&w, axes, keepdims);
        let avg = lax::div(&sum(lax::mul(&x, &w)?, axes, keepdims), &wsum)?;
        Ok((avg, wsum))
    })())
}

/// `x` with its NaNs replaced by `fill` (integers and bools as they are).
fn nan_to(x: &Array, fill: f64) -> Array {
    if x.dtype().is_float() {
        where_(isnan(x), lax::scalar_like(x, fill), x)
    } else {
        x.clone()
    }
}

/// JAX's `_nan_reduction`: `reduce` of `x` with NaNs replaced by `fill`; where every element
/// is NaN and `nan_if_all_nan`, NaN.
fn nan_reduction(
    x: &Array,
    fill: f64,
    nan_if_all_nan: bool,
    reduce: impl Fn(&Array) -> Array,
    axes: Option<&[isize]>,
    keepdims: bool,
) -> Array {
    let out = reduce(&nan_to(x, fill));
    if !nan_if_all_nan || !x.dtype().is_float() {
        return out;
    }
    let all_nan = super::reductions::all(isnan(x), axes, keepdims);
    where_(all_nan, lax::scalar_like(&out, f64::NAN), out)
}

/// `jnp.nansum`: the sum ignoring NaNs.
pub fn nansum(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    nan_reduction(&x, 0.0, false, |v| sum(v, axes, keepdims), axes, keepdims)
}

/// `jnp.nanprod`: the product ignoring NaNs.
pub fn nanprod(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    nan_reduction(&x, 1.0, false, |v| prod(v, axes, keepdims), axes, keepdims)
}

/// `jnp.nanmax`: the maximum ignoring NaNs (NaN where all are NaN).
pub fn nanmax(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    let fill = f64::NEG_INFINITY;
    nan_reduction(&x, fill, true, |v| max(v, axes, keepdims), axes, keepdims)
}

/// `jnp.nanmin`: the minimum ignoring NaNs (NaN where all are NaN).
pub fn nanmin(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    let fill = f64::INFINITY;
    nan_reduction(&x, fill, true, |v| min(v, axes, keepdims), axes, keepdims)
}

/// The number of non-NaN elements over `axes`, as i32.
fn non_nan_count(x: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let ok = lax::convert_element_type(&lax::eq(x, x)?, DType::I32)?;
    Ok(sum(&ok, axes, keepdims))
}

/// `jnp.nanmean`: the mean of the non-NaN elements (NaN where there are none).
pub fn nanmean(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let x = to_float(&x)?;
        let n = lax::convert_element_type(&non_nan_count(&x, axes, keepdims)?, x.dtype())?;
        lax::div(&nansum(&x, axes, keepdims), &n)
    })())
}

/// `jnp.nanvar(x, axis, ddof, keepdims)`: `var` of the non-NaN elements.
pub fn nanvar(x: impl AsArray, axes: Option<&[isize]>, ddof: usize, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let x = to_float(&x)?;
        let deviation = subtract(&x, nanmean(&x, axes, true));
        let centered = where_(isnan(&x), lax::scalar_like(&x, 0.0), deviation);
        let sq = lax::mul(&centered, &centered)?;
        over_dof(
            &sum(&sq, axes, keepdims),
            &non_nan_count(&x, axes, keepdims)?,
            ddof,
        )
    })())
}

/// `jnp.nanstd(x, axis, ddof, keepdims)`: the square root of `nanvar`.
pub fn nanstd(x: impl AsArray, axes: Option<&[isize]>, ddof: usize, keepdims: bool) -> Array {
    or_raise(lax::sqrt(&nanvar(x, axes, ddof, keepdims)))
}

/// `jnp.nanargmax(x, axis)`: the index of the maximum ignoring NaNs; -1 where all are NaN.
pub fn nanargmax(x: impl AsArray, axis: Option<isize>) -> Array {
    nan_arg(x.as_array(), axis, true)
}

/// `jnp.nanargmin(x, axis)`: the index of the minimum ignoring NaNs; -1 where all are NaN.
pub fn nanargmin(x: impl AsArray, axis: Option<isize>) -> Array {
    nan_arg(x.as_array(), axis, false)
}

fn nan_arg(x: Array, axis: Option<isize>, is_max: bool) -> Array {
    let pick = |v: &Array| {
        if is_max {
            super::argmax(v, axis)
        } else {
            super::argmin(v, axis)
        }
    };
    if !x.dtype().is_float() {
        return pick(&x);
    }
    let fill = if is_max {
        f64::NEG_INFINITY
    } else {
        f64::INFINITY
    };
    let res = pick(&nan_to(&x, fill));
    let axes = axis.map(|a| vec![a]);
    let all_nan = all(isnan(&x), axes.as_deref(), false);
    where_(all_nan, lax::scalar_like(&res, -1.0), res)
}

/// `x` flattened for `axis = None`, else `x` and the normalised axis.
fn along(name: &str, x: &Array, axis: Option<isize>) -> Result<(Array, usize)> {
    match axis {
        None => Ok((lax::reshape(x, &[x.size()])?, 0)),
        Some(a) => Ok((x.clone(), normalize_axes(name, Some(&[a]), x.ndim())?[0])),
    }
}

fn cumulative(
    name: &str,
    x: &Array,
    axis: Option<isize>,
    scan: fn(&Array, usize, bool) -> Result<Array>,
) -> Array {
    or_raise((|| {
        let (x, ax) = along(name, &promote_integers(x)?, axis)?;
        scan(&x, ax, false)
    })())
}

/// `jnp.cumsum(x, axis)`: running sums along `axis` (`None`: of the flattened array); bools
/// sum as i32.
pub fn cumsum(x: impl AsArray, axis: Option<isize>) -> Array {
    cumulative("cumsum", &x.as_array(), axis, lax::cumsum)
}

/// `jnp.cumprod(x, axis)`: running products along `axis` (`None`: flattened).
pub fn cumprod(x: impl AsArray, axis: Option<isize>) -> Array {
    cumulative("cumprod", &x.as_array(), axis, lax::cumprod)
}

/// `jnp.nancumsum(x, axis)`: `cumsum` with NaNs counted as 0.
pub fn nancumsum(x: impl AsArray, axis: Option<isize>) -> Array {
    cumsum(nan_to(&x.as_array(), 0.0), axis)
}

/// `jnp.nancumprod(x, axis)`: `cumprod` with NaNs counted as 1.
pub fn nancumprod(x: impl AsArray, axis: Option<isize>) -> Array {
    cumprod(nan_to(&x.as_array(), 1.0), axis)
}

/// `jnp.cumulative_sum(x, axis, include_initial=...)`: `cumsum` (`axis` may be `None` only
/// for 1-D `x`), with a leading 0 along the axis when `include_initial`.
pub fn cumulative_sum(x: impl AsArray, axis: Option<isize>, include_initial: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let axis = match axis {
            Some(a) => a,
            None if x.ndim() <= 1 => 0,
            None => {
                return Err(Error::value_err(format!(
                    "cumulative_sum: The provided axis is None but the input array has {} dimensions; axis must be specified for ndim > 1",
                    x.ndim()
                )))
            }
        };
        let x = if x.ndim() == 0 {
            lax::reshape(&x, &[1])?
        } else {
            x
        };
        let out = cumsum(&x, Some(axis));
        if !include_initial {
            return Ok(out);
        }
        let ax = normalize_axes("cumulative_sum", Some(&[axis]), x.ndim())?[0];
        let mut cfg = vec![(0, 0, 0); out.ndim()];
        cfg[ax] = (1, 0, 0);
        lax::pad(&out, &lax::scalar_like(&out, 0.0), &cfg)
    })())
}
