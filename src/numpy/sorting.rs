//! `jnp` sorting and order statistics over the `sort` primitive, as JAX writes them: `sort`,
//! `argsort` (stable; descending by sorting the reversed array), `searchsorted`
//! (counts under JAX's sort order, what its default binary search returns for a sorted
//! array), `unique` with a static `size`, `quantile`/`percentile` (methods linear, lower,
//! higher, midpoint, nearest), `median`, `nanquantile`, `nanpercentile`, `nanmedian`.

use super::{any, isnan, normalize_axes, sum, to_float, where_, AsArray};
use crate::array::Array;
use crate::core::error::{or_raise, Error, Result};
use crate::dtype::DType;
use crate::lax;
use crate::prims::cumulative::rev;
use crate::prims::sort::take_along_axis;

/// `x` flattened for `axis = None`, else `x` and the normalised axis.
fn along(name: &str, x: &Array, axis: Option<isize>) -> Result<(Array, usize)> {
    match axis {
        None => Ok((lax::reshape(x, &[x.size()])?, 0)),
        Some(a) => Ok((x.clone(), normalize_axes(name, Some(&[a]), x.ndim())?[0])),
    }
}

/// `jnp.sort(x, axis, descending=...)`: sorted along `axis` (`None`: the flattened array),
/// NaNs last (first when descending).
pub fn sort(x: impl AsArray, axis: Option<isize>, descending: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let (x, ax) = along("sort", &x, axis)?;
        let s = lax::sort(&[x], ax, true, 1)?.remove(0);
        if descending {
            rev(&s, ax)
        } else {
            Ok(s)
        }
    })())
}

/// `jnp.argsort(x, axis, stable=True, descending=...)`: the i32 indices that sort `x` along
/// `axis` (`None`: flattened); ties keep their order, descending too.
pub fn argsort(x: impl AsArray, axis: Option<isize>, descending: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let (x, ax) = along("argsort", &x, axis)?;
        lax::argsort_along(&x, ax, descending)
    })())
}

/// `x` with -0.0 as +0.0 and every NaN one NaN (JAX's `_canonicalize_float_for_sort`).
fn canonical(x: &Array) -> Result<Array> {
    if !x.dtype().is_float() {
        return Ok(x.clone());
    }
    let zero = lax::scalar_like(x, 0.0);
    let z = lax::select(&lax::eq(x, &zero)?, &lax::zeros(x.aval())?, x)?;
    Ok(where_(isnan(x), lax::scalar_like(x, f64::NAN), z))
}

/// `a < b` in JAX's sort order (NaN after every number).
fn sort_lt(a: &Array, b: &Array) -> Result<Array> {
    let (a, b) = (canonical(a)?, canonical(b)?);
    if !a.dtype().is_float() {
        return lax::lt(&a, &b);
    }
    let b_nan_a_not = lax::and(&lax::ne(&b, &b)?, &lax::eq(&a, &a)?)?;
    lax::or(&lax::lt(&a, &b)?, &b_nan_a_not)
}

/// `jnp.searchsorted(a, v, side)`: for each element of `v`, where it would be inserted into
/// the sorted 1-D `a` to keep it sorted: before equal elements (`side = "left"`) or after them
/// (`"right"`), as i32, under JAX's sort order (NaN last, -0.0 equal to +0.0).
pub fn searchsorted(a: impl AsArray, v: impl AsArray, side: &str) -> Array {
    let (a, v) = (a.as_array(), v.as_array());
    or_raise((|| {
        if a.ndim() != 1 {
            return Err(Error::value_err(format!(
                "searchsorted: a should be 1-dimensional, got shape {}",
                crate::core::error::shape_str(a.shape())
            )));
        }
        if side != "left" && side != "right" {
            return Err(Error::value_err(format!(
                "searchsorted: side={side:?} is not supported; use 'left' or 'right'"
            )));
        }
        let v = super::astype(&v, a.dtype());
        let nv = v.ndim();
        let shape: Vec<usize> = v.shape().iter().copied().chain([a.size()]).collect();
        let ab = lax::broadcast_in_dim(&a, &shape, &[nv])?;
        let vb = lax::broadcast_in_dim(&v, &shape, &(0..nv).collect::<Vec<_>>())?;
        // left: how many a < v; right: how many a <= v, i.e. not v < a.
        let before = if side == "left" {
            sort_lt(&ab, &vb)?
        } else {
            lax::not(&sort_lt(&vb, &ab)?)?
        };
        let count = lax::convert_element_type(&before, DType::I32)?;
        lax::reduce_sum(&count, &[nv])
    })())
}

/// `jnp.unique(x, size=size, fill_value=fill_value)`: the sorted distinct values of the
/// flattened `x` (NaNs one value), the first `size` of them, padded with `fill_value`
/// (`None`: the smallest value of `x`) when there are fewer.
pub fn unique(x: impl AsArray, size: usize, fill_value: Option<f64>) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let flat = lax::reshape(&x, &[x.size()])?;
        let n = flat.size();
        if n == 0 {
            let fill = fill_value.unwrap_or(0.0);
            return lax::full(&crate::core::aval::Aval::new(vec![size], x.dtype()), fill);
        }
        let s = lax::sort(&[flat], 0, true, 1)?.remove(0);
        // The first element of each run of equal values (NaNs equal to each other).
        let head = lax::slice(&s, &[0], &[n - 1], None)?;
        let tail = lax::slice(&s, &[1], &[n], None)?;
        let new = lax::or(&sort_lt(&head, &tail)?, &sort_lt(&tail, &head)?)?;
        let first = lax::broadcast_in_dim(&Array::scalar(true), &[1], &[])?;
        let is_first = lax::concatenate(&[first, new], 0)?;
        // Stable-sort the run heads to the front.
        let later = lax::convert_element_type(&lax::not(&is_first)?, DType::I32)?;
        let packed = lax::sort(&[later, s.clone()], 0, true, 1)?.remove(1);
        let count = lax::reduce_sum(&lax::convert_element_type(&is_first, DType::I32)?, &[0])?;
        let fill = match fill_value {
            Some(v) => lax::scalar_like(&s, v),
            None => lax::slice(&s, &[0], &[1], None).and_then(|f| lax::reshape(&f, &[]))?,
        };
        let padded = if size > n {
            lax::pad(&packed, &fill, &[(0, size - n, 0)])?
        } else {
            lax::slice(&packed, &[0], &[size], None)?
        };
        let pos = lax::iota(DType::I32, &[size], 0)?;
        let keep = lax::lt(&pos, &count)?;
        Ok(where_(keep, &padded, &fill))
    })())
}

/// How `quantile` picks a value between the two order statistics around `q (n - 1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantileMethod {
    /// Linear interpolation (JAX's default).
    Linear,
    /// The lower one.
    Lower,
    /// The higher one.
    Higher,
    /// Their mean.
    Midpoint,
    /// The nearer one (the lower at exactly halfway).
    Nearest,
}

impl QuantileMethod {
    /// The method JAX names `name` (`"linear"`, `"lower"`, `"higher"`, `"midpoint"`,
    /// `"nearest"`).
    ///
    /// # Errors
    /// Any other name (JAX's message).
    pub fn from_name(name: &str) -> Result<QuantileMethod> {
        Ok(match name {
            "linear" => QuantileMethod::Linear,
            "lower" => QuantileMethod::Lower,
            "higher" => QuantileMethod::Higher,
            "midpoint" => QuantileMethod::Midpoint,
            "nearest" => QuantileMethod::Nearest,
            _ => {
                return Err(Error::value_err(
                    "method can only be 'linear', 'lower', 'higher', 'midpoint', 'nearest' or 'inverted_cdf'".to_string(),
                ))
            }
        })
    }
}

/// JAX's `_quantile` for a scalar `q` along one axis (`None`: flattened): sort (NaNs last;
/// without `squash_nans` a line with a NaN is all NaN), then the order statistics at
/// `floor`/`ceil` of `q (count - 1)`, combined by `method`, in the float dtype of `x`.
fn quantile_impl(
    x: &Array,
    q: f64,
    axis: Option<isize>,
    method: QuantileMethod,
    keepdims: bool,
    squash_nans: bool,
) -> Result<Array> {
    let x = to_float(x)?;
    let (a, ax) = along("quantile", &x, axis)?;
    let n = a.shape()[ax];
    let a = if squash_nans {
        a
    } else {
        let any_nan = any(isnan(&a), Some(&[ax as isize]), true);
        where_(any_nan, lax::scalar_like(&a, f64::NAN), &a)
    };
    let a = lax::sort(&[a], ax, true, 1)?.remove(0);
    let counts = if squash_nans {
        let ok = lax::convert_element_type(&lax::eq(&a, &a)?, a.dtype())?;
        sum(&ok, Some(&[ax as isize]), true)
    } else {
        let mut shape = a.shape().to_vec();
        shape[ax] = 1;
        lax::full(&crate::core::aval::Aval::new(shape, a.dtype()), n as f64)?
    };
    let one = lax::scalar_like(&counts, 1.0);
    let last = lax::sub(&counts, &one)?;
    let qq = lax::mul(&lax::scalar_like(&counts, q), &last)?;
    let (low, high) = (lax::floor(&qq)?, lax::ceil(&qq)?);
    let high_weight = lax::sub(&qq, &low)?;
    let low_weight = lax::sub(&one, &high_weight)?;
    let zero = lax::scalar_like(&counts, 0.0);
    let clamp = |v: &Array| -> Result<Array> {
        let v = lax::max(&zero, &lax::min(v, &last)?)?;
        lax::convert_element_type(&v, DType::I32)
    };
    let low_value = take_along_axis(&a, &clamp(&low)?, ax)?;
    let high_value = take_along_axis(&a, &clamp(&high)?, ax)?;
    let r = match method {
        QuantileMethod::Linear => lax::add(
            &lax::mul(&low_value, &low_weight)?,
            &lax::mul(&high_value, &high_weight)?,
        )?,
        QuantileMethod::Lower => low_value,
        QuantileMethod::Higher => high_value,
        QuantileMethod::Nearest => {
            let pred = lax::le(&high_weight, &lax::scalar_like(&high_weight, 0.5))?;
            lax::select(&pred, &low_value, &high_value)?
        }
        QuantileMethod::Midpoint => lax::mul(
            &lax::add(&low_value, &high_value)?,
            &lax::scalar_like(&low_value, 0.5),
        )?,
    };
    if keepdims {
        if axis.is_none() {
            return lax::reshape(&r, &vec![1; x.ndim()]);
        }
        Ok(r)
    } else {
        lax::squeeze(&r, &[ax])
    }
}

/// The user-facing quantile functions: `q` of `top` (1 for quantiles, 100 for percentiles)
/// checked and scaled, the method read by name.
fn quantile_of(
    name: &str,
    x: Array,
    (q, top): (f64, f64),
    axis: Option<isize>,
    method: &str,
    (keepdims, squash_nans): (bool, bool),
) -> Array {
    or_raise((|| {
        let m = QuantileMethod::from_name(method)?;
        if !(0.0..=top).contains(&q) {
            return Err(Error::value_err(format!(
                "{name}: q must be in the range [0, {top}], got {q}"
            )));
        }
        quantile_impl(&x, q / top, axis, m, keepdims, squash_nans)
    })())
}

/// `jnp.quantile(x, q, axis, method=..., keepdims=...)` for a scalar `q` in `[0, 1]` (NaN if
/// a reduced line holds a NaN).
pub fn quantile(
    x: impl AsArray,
    q: f64,
    axis: Option<isize>,
    method: &str,
    keepdims: bool,
) -> Array {
    let flags = (keepdims, false);
    quantile_of("quantile", x.as_array(), (q, 1.0), axis, method, flags)
}

/// `jnp.nanquantile`: `quantile` ignoring NaNs (NaN where a line is all NaN).
pub fn nanquantile(
    x: impl AsArray,
    q: f64,
    axis: Option<isize>,
    method: &str,
    keepdims: bool,
) -> Array {
    let flags = (keepdims, true);
    quantile_of("nanquantile", x.as_array(), (q, 1.0), axis, method, flags)
}

/// `jnp.percentile(x, p, ...)`: `quantile` at `p / 100`.
pub fn percentile(
    x: impl AsArray,
    p: f64,
    axis: Option<isize>,
    method: &str,
    keepdims: bool,
) -> Array {
    let flags = (keepdims, false);
    quantile_of("percentile", x.as_array(), (p, 100.0), axis, method, flags)
}

/// `jnp.nanpercentile(x, p, ...)`: `nanquantile` at `p / 100`.
pub fn nanpercentile(
    x: impl AsArray,
    p: f64,
    axis: Option<isize>,
    method: &str,
    keepdims: bool,
) -> Array {
    let flags = (keepdims, true);
    quantile_of(
        "nanpercentile",
        x.as_array(),
        (p, 100.0),
        axis,
        method,
        flags,
    )
}

/// `jnp.median(x, axis, keepdims)`: the `midpoint` quantile at 0.5.
pub fn median(x: impl AsArray, axis: Option<isize>, keepdims: bool) -> Array {
    quantile(x, 0.5, axis, "midpoint", keepdims)
}

/// `jnp.nanmedian(x, axis, keepdims)`: `median` ignoring NaNs.
pub fn nanmedian(x: impl AsArray, axis: Option<isize>, keepdims: bool) -> Array {
    nanquantile(x, 0.5, axis, "midpoint", keepdims)
}
