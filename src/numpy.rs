//! `numpy`: NumPy-style functions over the lax primitives, used as `jnp` (`use cranax::numpy as
//! jnp;`). NumPy broadcasting and JAX's dtype promotion (Rust float literals are weakly typed:
//! `x * 2.0` stays f32) happen here; the primitives themselves see equal shapes and dtypes.
//!
//! These functions return `Array` and, like the arithmetic operators, panic on bad input with
//! an `Error` naming the operation, shapes and dtypes. Inside any transformation (grad, vmap,
//! jit, make_jaxpr, ...) that panic is caught and returned as `Err`. The `lax` module has the
//! `Result`-returning forms.

use crate::array::Array;
use crate::core::error::{or_raise, shape_str, Error, Result};
use crate::dtype::{DType, Scalar};
use crate::lax;
use crate::prims::DotGeneral;

pub mod linalg;

/// Anything usable as an operand: arrays, and Rust numbers (weakly typed, as Python scalars
/// are in JAX).
pub trait AsArray {
    fn as_array(&self) -> Array;
}

impl AsArray for Array {
    fn as_array(&self) -> Array {
        self.clone()
    }
}
impl AsArray for &Array {
    fn as_array(&self) -> Array {
        (*self).clone()
    }
}
impl AsArray for f32 {
    fn as_array(&self) -> Array {
        Array::weak_scalar(*self as f64, DType::F32)
    }
}
impl AsArray for f64 {
    /// A weakly typed float, as a Python float in JAX: it takes the other operand's dtype (f32
    /// alone). It is held in f64 so that `x * 0.1` on an f64 array uses 0.1 itself, not 0.1
    /// rounded to f32.
    fn as_array(&self) -> Array {
        Array::weak_scalar(*self, DType::F64)
    }
}
impl AsArray for i32 {
    fn as_array(&self) -> Array {
        Array::weak_scalar(*self as f64, DType::I32)
    }
}
impl AsArray for bool {
    fn as_array(&self) -> Array {
        Array::scalar(*self)
    }
}

/// Is `x` a Rust `f64` literal (a concrete weakly typed f64 scalar, see `AsArray for f64`)?
fn is_f64_literal(x: &Array) -> bool {
    x.is_weak() && x.dtype() == DType::F64 && x.ndim() == 0 && x.is_concrete()
}

/// The dtype `x` takes part in promotion with: a Rust `f64` literal is a weak float like any
/// other, which defaults to f32.
fn promotion_dtype(x: &Array) -> DType {
    if is_f64_literal(x) {
        DType::F32
    } else {
        x.dtype()
    }
}

/// A lone operand: a Rust `f64` literal becomes the weak f32 it stands for (JAX's
/// `jnp.exp(0.5)` is a weak f32).
fn operand(x: impl AsArray) -> Array {
    let x = x.as_array();
    if is_f64_literal(&x) {
        let v = x.to_scalar().expect("a concrete scalar").to_f64();
        Array::weak_scalar(v, DType::F32)
    } else {
        x
    }
}

/// Convert an operand to the promoted dtype. A concrete weak scalar (a Rust literal) converts
/// right away, as JAX converts a Python scalar with NumPy, so it stays an inline literal in a
/// jaxpr (`mul a 2.0`) rather than a staged `convert_element_type` of a literal.
fn convert_operand(x: &Array, dt: DType, weak: bool) -> Result<Array> {
    if x.is_weak() && x.ndim() == 0 && x.is_concrete() {
        if x.dtype() == dt && weak {
            return Ok(x.clone());
        }
        let v = x.to_scalar()?.to_f64();
        return Ok(if weak {
            Array::weak_scalar(v, dt)
        } else {
            Array::from_scalar(Scalar::from_f64(v, dt))
        });
    }
    if weak {
        lax::convert_weak(x, dt)
    } else {
        lax::convert_element_type(x, dt)
    }
}

fn kind(d: DType) -> u8 {
    match d {
        DType::Bool => 0,
        DType::I32 | DType::U32 => 1,
        DType::F32 | DType::F64 => 2,
    }
}

/// JAX's promotion with weak types: a weak operand takes the other's dtype when that is of the
/// same or a higher kind (bool < int < float); otherwise the default dtype of its own kind.
pub fn result_type(xs: &[&Array]) -> (DType, bool) {
    let strong: Vec<DType> = xs
        .iter()
        .filter(|x| !x.is_weak())
        .map(|x| promotion_dtype(x))
        .collect();
    let weak: Vec<DType> = xs
        .iter()
        .filter(|x| x.is_weak())
        .map(|x| promotion_dtype(x))
        .collect();
    let strong_dt = strong.iter().copied().reduce(DType::promote);
    let weak_dt = weak.iter().copied().reduce(DType::promote);
    match (strong_dt, weak_dt) {
        (Some(s), None) => (s, false),
        (None, Some(w)) => (w, true),
        (Some(s), Some(w)) => {
            if kind(w) <= kind(s) {
                (s, false)
            } else {
                (if kind(w) == 2 { DType::F32 } else { DType::I32 }, false)
            }
        }
        (None, None) => (DType::F32, false),
    }
}

/// NumPy broadcasting of shapes, or the error JAX gives.
pub fn broadcast_shapes(name: &str, shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for s in shapes {
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[rank - s.len() + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                let all: Vec<String> = shapes.iter().map(|s| shape_str(s)).collect();
                return Err(Error::type_err(format!(
                    "{name} got incompatible shapes for broadcasting: {}",
                    all.join(", ")
                )));
            }
        }
    }
    Ok(out)
}

/// Promote dtypes and broadcast shapes of operands for an elementwise op (scalars stay scalars:
/// lax broadcasts them, as JAX's jaxprs show).
pub fn promote_and_broadcast(name: &str, xs: &[Array]) -> Result<Vec<Array>> {
    let refs: Vec<&Array> = xs.iter().collect();
    let (dt, weak) = result_type(&refs);
    let shapes: Vec<&[usize]> = xs.iter().map(|x| x.shape()).collect();
    let out_shape = broadcast_shapes(name, &shapes)?;
    xs.iter()
        .map(|x| {
            let x = convert_operand(x, dt, weak)?;
            if x.ndim() == 0 || x.shape() == out_shape.as_slice() {
                Ok(x)
            } else {
                lax::broadcast_to_rank(&x, &out_shape)
            }
        })
        .collect()
}

fn binary(
    name: &str,
    a: impl AsArray,
    b: impl AsArray,
    op: fn(&Array, &Array) -> Result<Array>,
) -> Array {
    or_raise((|| {
        let v = promote_and_broadcast(name, &[a.as_array(), b.as_array()])?;
        op(&v[0], &v[1])
    })())
}

/// Float operands for ops that need them (ints promote to f32, as `jnp.exp` does).
fn to_float(x: &Array) -> Result<Array> {
    if x.dtype().is_float() {
        Ok(x.clone())
    } else {
        lax::convert_element_type(x, DType::F32)
    }
}

macro_rules! float_unary {
    ($($(#[$doc:meta])* $name:ident => $lax:ident),* $(,)?) => {
        $( $(#[$doc])* pub fn $name(x: impl AsArray) -> Array { or_raise(to_float(&operand(x)).and_then(|x| lax::$lax(&x))) } )*
    };
}

float_unary! {
    exp => exp, log => log, log1p => log1p, expm1 => expm1, sin => sin, cos => cos, tanh => tanh,
    sqrt => sqrt,
    /// `1 / sqrt(x)`.
    rsqrt => rsqrt,
    /// The logistic sigmoid `1 / (1 + exp(-x))`.
    sigmoid => logistic,
    /// The inverse error function.
    erfinv => erf_inv,
}

pub fn negative(x: impl AsArray) -> Array {
    or_raise(lax::neg(&operand(x)))
}
pub fn abs(x: impl AsArray) -> Array {
    or_raise(lax::abs(&operand(x)))
}
pub fn sign(x: impl AsArray) -> Array {
    or_raise(lax::sign(&operand(x)))
}
pub fn square(x: impl AsArray) -> Array {
    or_raise(lax::square(&operand(x)))
}
pub fn reciprocal(x: impl AsArray) -> Array {
    divide(1.0f32, x)
}
pub fn logical_not(x: impl AsArray) -> Array {
    or_raise(lax::not(&operand(x)))
}
/// The identity with a zero derivative.
pub fn stop_gradient(x: impl AsArray) -> Array {
    or_raise(lax::stop_gradient(&operand(x)))
}

pub fn add(a: impl AsArray, b: impl AsArray) -> Array {
    binary("add", a, b, lax::add)
}
pub fn subtract(a: impl AsArray, b: impl AsArray) -> Array {
    binary("sub", a, b, lax::sub)
}
pub fn multiply(a: impl AsArray, b: impl AsArray) -> Array {
    binary("mul", a, b, lax::mul)
}
/// True division: integers are converted to f32 first.
pub fn divide(a: impl AsArray, b: impl AsArray) -> Array {
    let (a, b) = (a.as_array(), b.as_array());
    let (dt, _) = result_type(&[&a, &b]);
    if dt.is_float() {
        binary("div", a, b, lax::div)
    } else {
        binary(
            "div",
            or_raise(to_float(&a)),
            or_raise(to_float(&b)),
            lax::div,
        )
    }
}
/// `a ** b`: an integer literal exponent becomes `integer_pow`, as in JAX.
pub fn power(a: impl AsArray, b: impl AsArray) -> Array {
    let (a, b) = (a.as_array(), b.as_array());
    if let (Some(c), true) = (b.concrete(), b.ndim() == 0) {
        if c.aval.dtype.is_int() {
            let y = c.data.get(0).to_f64() as i32;
            return or_raise(lax::integer_pow(&a, y));
        }
    }
    binary("pow", or_raise(to_float(&a)), b, lax::pow)
}
pub fn maximum(a: impl AsArray, b: impl AsArray) -> Array {
    binary("max", a, b, lax::max)
}
pub fn minimum(a: impl AsArray, b: impl AsArray) -> Array {
    binary("min", a, b, lax::min)
}
pub fn less(a: impl AsArray, b: impl AsArray) -> Array {
    binary("lt", a, b, lax::lt)
}
pub fn less_equal(a: impl AsArray, b: impl AsArray) -> Array {
    binary("le", a, b, lax::le)
}
pub fn greater(a: impl AsArray, b: impl AsArray) -> Array {
    binary("gt", a, b, lax::gt)
}
pub fn greater_equal(a: impl AsArray, b: impl AsArray) -> Array {
    binary("ge", a, b, lax::ge)
}
pub fn equal(a: impl AsArray, b: impl AsArray) -> Array {
    binary("eq", a, b, lax::eq)
}
pub fn not_equal(a: impl AsArray, b: impl AsArray) -> Array {
    binary("ne", a, b, lax::ne)
}
pub fn logical_and(a: impl AsArray, b: impl AsArray) -> Array {
    binary("and", a, b, lax::and)
}
pub fn logical_or(a: impl AsArray, b: impl AsArray) -> Array {
    binary("or", a, b, lax::or)
}

/// `where(cond, x, y)`: `x` where `cond` is true, else `y` (broadcasting all three).
pub fn where_(cond: impl AsArray, x: impl AsArray, y: impl AsArray) -> Array {
    or_raise((|| {
        let c = cond.as_array();
        let c = if c.dtype() == DType::Bool {
            c
        } else {
            lax::ne(&c, &lax::scalar_like(&c, 0.0))?
        };
        let v = promote_and_broadcast("select_n", &[x.as_array(), y.as_array()])?;
        let shapes: Vec<&[usize]> = vec![c.shape(), v[0].shape(), v[1].shape()];
        let shape = broadcast_shapes("select_n", &shapes)?;
        let full = |a: &Array| {
            if a.shape() == shape.as_slice() {
                Ok(a.clone())
            } else {
                lax::broadcast_to_rank(a, &shape)
            }
        };
        lax::select(&full(&c)?, &full(&v[0])?, &full(&v[1])?)
    })())
}

/// `x.astype(dtype)`.
pub fn astype(x: impl AsArray, dtype: DType) -> Array {
    or_raise(lax::convert_element_type(&x.as_array(), dtype))
}

/// Normalise axes (negative from the end) against a rank; `None` is every axis.
pub fn normalize_axes(name: &str, axes: Option<&[isize]>, rank: usize) -> Result<Vec<usize>> {
    let Some(axes) = axes else {
        return Ok((0..rank).collect());
    };
    let mut out: Vec<usize> = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = if a < 0 { a + rank as isize } else { a };
        if n < 0 || n as usize >= rank {
            return Err(Error::value_err(format!(
                "{name}: axis {a} is out of bounds for array of dimension {rank}"
            )));
        }
        if out.contains(&(n as usize)) {
            return Err(Error::value_err(format!("{name}: repeated axis {a}")));
        }
        out.push(n as usize);
    }
    out.sort_unstable();
    Ok(out)
}

fn keep_dims(x: &Array, r: Array, axes: &[usize], keepdims: bool) -> Result<Array> {
    if !keepdims {
        return Ok(r);
    }
    let shape: Vec<usize> = (0..x.ndim())
        .map(|d| if axes.contains(&d) { 1 } else { x.shape()[d] })
        .collect();
    lax::reshape(&r, &shape)
}

/// Sum over `axes` (`None`: all). Bools sum as i32, as in NumPy.
pub fn sum(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let axes = normalize_axes("sum", axes, x.ndim())?;
        let xs = if x.dtype() == DType::Bool {
            lax::convert_element_type(&x, DType::I32)?
        } else {
            x.clone()
        };
        keep_dims(&x, lax::reduce_sum(&xs, &axes)?, &axes, keepdims)
    })())
}

/// Mean over `axes`: a sum divided by the count (integers average in f32).
pub fn mean(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    let count: usize = or_raise(normalize_axes("mean", axes, x.ndim()))
        .iter()
        .map(|&a| x.shape()[a])
        .product();
    let s = sum(or_raise(to_float(&x)), axes, keepdims);
    divide(&s, count as f32)
}

pub fn max(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let axes = normalize_axes("max", axes, x.ndim())?;
        keep_dims(&x, lax::reduce_max(&x, &axes)?, &axes, keepdims)
    })())
}

pub fn min(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let axes = normalize_axes("min", axes, x.ndim())?;
        keep_dims(&x, lax::reduce_min(&x, &axes)?, &axes, keepdims)
    })())
}

/// Index of the maximum along `axis` (`None`: of the flattened array), as i32.
pub fn argmax(x: impl AsArray, axis: Option<isize>) -> Array {
    arg_extremum(x.as_array(), axis, true)
}

pub fn argmin(x: impl AsArray, axis: Option<isize>) -> Array {
    arg_extremum(x.as_array(), axis, false)
}

fn arg_extremum(x: Array, axis: Option<isize>, is_max: bool) -> Array {
    or_raise((|| {
        let (x, axis) = match axis {
            None => (lax::reshape(&x, &[x.size()])?, 0),
            Some(a) => {
                let ax = normalize_axes("argmax", Some(&[a]), x.ndim())?[0];
                (x, ax)
            }
        };
        if is_max {
            lax::argmax(&x, axis, DType::I32)
        } else {
            lax::argmin(&x, axis, DType::I32)
        }
    })())
}

/// Reshape; one entry may be -1 (inferred).
pub fn reshape(x: impl AsArray, shape: &[isize]) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let known: usize = shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .product();
        let infer = shape.iter().filter(|&&d| d < 0).count();
        if infer > 1 || (infer == 1 && (known == 0 || !x.size().is_multiple_of(known))) {
            return Err(Error::type_err(format!(
                "cannot reshape array of shape {} (size {}) into shape {:?}",
                shape_str(x.shape()),
                x.size(),
                shape
            )));
        }
        let dims: Vec<usize> = shape
            .iter()
            .map(|&d| if d < 0 { x.size() / known } else { d as usize })
            .collect();
        lax::reshape(&x, &dims)
    })())
}

/// Transpose (`None`: reverse the axes).
pub fn transpose(x: impl AsArray, axes: Option<&[usize]>) -> Array {
    let x = x.as_array();
    let perm: Vec<usize> = axes
        .map(|a| a.to_vec())
        .unwrap_or_else(|| (0..x.ndim()).rev().collect());
    or_raise(lax::transpose(&x, &perm))
}

/// Remove size-1 axes (`None`: all of them).
pub fn squeeze(x: impl AsArray, axes: Option<&[isize]>) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let dims = match axes {
            Some(a) => normalize_axes("squeeze", Some(a), x.ndim())?,
            None => (0..x.ndim()).filter(|&d| x.shape()[d] == 1).collect(),
        };
        lax::squeeze(&x, &dims)
    })())
}

/// Insert a size-1 axis at `axis` (negative counts from the end of the result).
pub fn expand_dims(x: impl AsArray, axis: isize) -> Array {
    let x = x.as_array();
    let rank = x.ndim() + 1;
    let a = if axis < 0 { axis + rank as isize } else { axis };
    if a < 0 || a as usize >= rank {
        crate::core::error::raise(Error::value_err(format!(
            "expand_dims: axis {axis} is out of bounds for array of dimension {rank}"
        )));
    }
    or_raise(lax::expand_dims(&x, a as usize))
}

/// Join arrays along an existing axis.
pub fn concatenate(xs: &[Array], axis: isize) -> Array {
    or_raise((|| {
        let first = xs
            .first()
            .ok_or_else(|| Error::value_err("need at least one array to concatenate"))?;
        let axis = normalize_axes("concatenate", Some(&[axis]), first.ndim().max(1))?[0];
        let refs: Vec<&Array> = xs.iter().collect();
        let (dt, _) = result_type(&refs);
        let xs: Vec<Array> = xs
            .iter()
            .map(|x| lax::convert_element_type(x, dt))
            .collect::<Result<_>>()?;
        lax::concatenate(&xs, axis)
    })())
}

/// Join arrays along a new axis.
pub fn stack(xs: &[Array], axis: isize) -> Array {
    let expanded: Vec<Array> = xs.iter().map(|x| expand_dims(x, axis)).collect();
    concatenate(&expanded, axis)
}

pub fn broadcast_to(x: impl AsArray, shape: &[usize]) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let out = broadcast_shapes("broadcast_to", &[x.shape(), shape])?;
        if out != shape {
            return Err(Error::value_err(format!(
                "cannot broadcast an array of shape {} to shape {}",
                shape_str(x.shape()),
                shape_str(shape)
            )));
        }
        lax::broadcast_to_rank(&x, shape)
    })())
}

/// `take(x, indices, axis)`, as `jnp.take` (mode "fill"): negative indices count from the end,
/// and an index outside `[-n, n)` gives the fill value: NaN for floats, the most negative
/// `i32`, the largest `u32`, `true`.
pub fn take(x: impl AsArray, indices: impl AsArray, axis: isize) -> Array {
    or_raise(take_impl(&x.as_array(), &indices.as_array(), axis, true))
}

/// `take` that clamps out-of-range indices instead of filling (`x[i]` indexing).
pub(crate) fn take_clamped(x: &Array, indices: &Array, axis: isize) -> Array {
    or_raise(take_impl(x, indices, axis, false))
}

/// The value `take` gives for an out-of-range index (JAX's default `fill_value`).
fn fill_value(dtype: DType) -> f64 {
    match dtype {
        DType::F32 | DType::F64 => f64::NAN,
        DType::I32 => i32::MIN as f64,
        DType::U32 => u32::MAX as f64,
        DType::Bool => 1.0,
    }
}

/// Indices as i32 with negative ones wrapped (`i + n`), and whether each is in `[0, n)`.
fn wrap_indices(idx: &Array, n: usize) -> Result<(Array, Array)> {
    if !idx.dtype().is_int() {
        return Err(Error::type_err(format!(
            "take: indices must be integers, got {}",
            idx.dtype().numpy_name()
        )));
    }
    if idx.is_concrete() {
        // Known indices (`x.at(-1)`) wrap here, as JAX normalises static indices in Python:
        // no equations for index arithmetic on constants.
        let vals = idx.to_f64_vec()?;
        let wrapped: Vec<i32> = vals
            .iter()
            .map(|&v| {
                let i = v as i64;
                let i = if i < 0 { i + n as i64 } else { i };
                i.clamp(i32::MIN as i64, i32::MAX as i64) as i32
            })
            .collect();
        let valid: Vec<bool> = wrapped
            .iter()
            .map(|&i| i >= 0 && (i as usize) < n)
            .collect();
        return Ok((
            Array::from_vec(wrapped, idx.shape())?,
            Array::from_vec(valid, idx.shape())?,
        ));
    }
    let idx = convert_operand(idx, DType::I32, false)?;
    let n = Array::scalar(n as i32);
    let zero = Array::scalar(0i32);
    let wrapped = lax::select(&lax::lt(&idx, &zero)?, &lax::add(&idx, &n)?, &idx)?;
    let valid = lax::and(&lax::ge(&wrapped, &zero)?, &lax::lt(&wrapped, &n)?)?;
    Ok((wrapped, valid))
}

/// `where(valid, got, fill)`, with `valid` (of the indices' shape) placed at `dims` of `got`.
fn fill_invalid(got: &Array, valid: &Array, dims: &[usize]) -> Result<Array> {
    if valid
        .as_slice::<bool>()
        .is_ok_and(|v| v.iter().all(|&ok| ok))
    {
        return Ok(got.clone());
    }
    let valid = lax::broadcast_in_dim(valid, got.shape(), dims)?;
    let fill = lax::full(&got.aval().clone().weak(false), fill_value(got.dtype()))?;
    lax::select(&valid, got, &fill)
}

fn take_impl(x: &Array, idx: &Array, axis: isize, fill: bool) -> Result<Array> {
    let axis = normalize_axes("take", Some(&[axis]), x.ndim())?[0];
    let (wrapped, valid) = wrap_indices(idx, x.shape()[axis])?;
    let got = lax::gather(x, &wrapped, axis)?;
    if !fill {
        return Ok(got);
    }
    let dims: Vec<usize> = (axis..axis + wrapped.ndim()).collect();
    fill_invalid(&got, &valid, &dims)
}

/// Pick `x[..., labels[...]]` along the last axis: `take_along_axis(x, labels[..., None],
/// -1)[..., 0]`, with `take`'s fill for out-of-range labels. A gather, so other entries of a row
/// (an `-inf` log-probability, say) never reach the result.
pub fn take_along_last(x: impl AsArray, labels: impl AsArray) -> Array {
    let (x, labels) = (x.as_array(), labels.as_array());
    or_raise((|| {
        let Some((&classes, rows_shape)) = x.shape().split_last() else {
            return Err(Error::value_err(
                "take_along_last: the array must have at least one axis",
            ));
        };
        let labels = if labels.shape() == rows_shape {
            labels
        } else {
            broadcast_to(&labels, rows_shape)
        };
        let (wrapped, valid) = wrap_indices(&labels, classes)?;
        // Row r's label l is element r * classes + l of the flattened array.
        let rows: usize = rows_shape.iter().product();
        let flat_x = lax::reshape(&x, &[rows * classes])?;
        let hi = Array::scalar((classes as i32 - 1).max(0));
        let label = lax::max(&lax::min(&wrapped, &hi)?, &Array::scalar(0i32))?;
        let label = lax::reshape(&label, &[rows])?;
        let offsets = lax::mul(
            &lax::iota(DType::I32, &[rows], 0)?,
            &Array::scalar(classes as i32),
        )?;
        let got = lax::gather(&flat_x, &lax::add(&offsets, &label)?, 0)?;
        let got = lax::reshape(&got, rows_shape)?;
        let dims: Vec<usize> = (0..rows_shape.len()).collect();
        fill_invalid(&got, &valid, &dims)
    })())
}

/// `dot(a, b)`: inner product of vectors, matrix-vector and matrix-matrix products (and the
/// last axis of `a` with the second-to-last of `b` in general), as NumPy.
pub fn dot(a: impl AsArray, b: impl AsArray) -> Array {
    let v = or_raise(promote_and_broadcast_dtypes(&[a.as_array(), b.as_array()]));
    let (a, b) = (&v[0], &v[1]);
    or_raise((|| {
        if a.ndim() == 0 || b.ndim() == 0 {
            return Ok(multiply(a, b));
        }
        let rc = if b.ndim() == 1 { 0 } else { b.ndim() - 2 };
        lax::dot_general(a, b, DotGeneral::contract(a.ndim() - 1, rc))
    })())
}

/// `matmul(a, b)` (`a @ b`): batched over leading axes, which broadcast.
pub fn matmul(a: impl AsArray, b: impl AsArray) -> Array {
    let v = or_raise(promote_and_broadcast_dtypes(&[a.as_array(), b.as_array()]));
    let (a, b) = (&v[0], &v[1]);
    or_raise((|| {
        if a.ndim() == 0 || b.ndim() == 0 {
            return Err(Error::value_err("matmul: operands must not be scalars"));
        }
        if a.ndim() <= 2 && b.ndim() <= 2 {
            return Ok(dot(a, b));
        }
        // Promote vectors, broadcast batch axes, then one batched dot_general.
        let a2 = if a.ndim() == 1 {
            lax::reshape(a, &[1, a.shape()[0]])?
        } else {
            a.clone()
        };
        let b2 = if b.ndim() == 1 {
            lax::reshape(b, &[b.shape()[0], 1])?
        } else {
            b.clone()
        };
        let (ab, bb) = (&a2.shape()[..a2.ndim() - 2], &b2.shape()[..b2.ndim() - 2]);
        let batch = broadcast_shapes("matmul", &[ab, bb])?;
        let full = |x: &Array| -> Result<Array> {
            let mut s = batch.clone();
            s.extend(&x.shape()[x.ndim() - 2..]);
            if x.shape() == s.as_slice() {
                Ok(x.clone())
            } else {
                lax::broadcast_to_rank(x, &s)
            }
        };
        let (a3, b3) = (full(&a2)?, full(&b2)?);
        let nb = batch.len();
        let dims = DotGeneral {
            lhs_contracting: vec![nb + 1],
            rhs_contracting: vec![nb],
            lhs_batch: (0..nb).collect(),
            rhs_batch: (0..nb).collect(),
            preferred_element_type: None,
        };
        let r = lax::dot_general(&a3, &b3, dims)?;
        let mut shape = batch.clone();
        if a.ndim() > 1 {
            shape.push(a.shape()[a.ndim() - 2]);
        }
        if b.ndim() > 1 {
            shape.push(b.shape()[b.ndim() - 1]);
        }
        lax::reshape(&r, &shape)
    })())
}

/// Outer product of two vectors.
pub fn outer(a: impl AsArray, b: impl AsArray) -> Array {
    let (a, b) = (a.as_array(), b.as_array());
    multiply(reshape(&a, &[-1, 1]), reshape(&b, &[1, -1]))
}

pub(crate) fn promote_and_broadcast_dtypes(xs: &[Array]) -> Result<Vec<Array>> {
    let refs: Vec<&Array> = xs.iter().collect();
    let (dt, _) = result_type(&refs);
    xs.iter().map(|x| convert_operand(x, dt, false)).collect()
}

/// Log of the sum of exponentials over `axes`, computed stably.
pub fn logsumexp(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    let m = stop_gradient(max(&x, axes, true));
    let s = log(sum(exp(subtract(&x, &m)), axes, true));
    let r = add(s, m);
    if keepdims {
        r
    } else {
        let axes = or_raise(normalize_axes("logsumexp", axes, x.ndim()));
        let axes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        squeeze(r, Some(&axes))
    }
}

pub fn zeros(shape: &[usize], dtype: DType) -> Array {
    Array::zeros(shape, dtype)
}
pub fn ones(shape: &[usize], dtype: DType) -> Array {
    Array::ones(shape, dtype)
}
pub fn full(shape: &[usize], value: Scalar) -> Array {
    Array::full(shape, value)
}
pub fn zeros_like(x: &Array) -> Array {
    or_raise(lax::zeros(&x.aval().clone().weak(false)))
}
pub fn ones_like(x: &Array) -> Array {
    or_raise(lax::full(&x.aval().clone().weak(false), 1.0))
}
pub fn eye(n: usize, dtype: DType) -> Array {
    Array::eye(n, dtype)
}
pub fn arange(start: f64, stop: f64, step: f64, dtype: DType) -> Array {
    or_raise(Array::arange(start, stop, step, dtype))
}
pub fn linspace(start: f64, stop: f64, num: usize, dtype: DType) -> Array {
    Array::linspace(start, stop, num, dtype)
}

/// `x` as a float array of `shape` from f32 data (a shorthand for tests and examples).
pub fn array(data: &[f32], shape: &[usize]) -> Array {
    or_raise(Array::from_vec(data.to_vec(), shape))
}
