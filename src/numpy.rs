//! `numpy`: NumPy-style functions over the lax primitives, used as `jnp` (`use cranax::numpy as
//! jnp;`). NumPy broadcasting and JAX's dtype promotion (Rust float literals are weakly typed:
//! `x * 2.0` stays f32) happen here; the primitives themselves see equal shapes and dtypes.
//!
//! These functions return `Array` and, like the arithmetic operators, panic on bad input with
//! an `Error` naming the operation, shapes and dtypes. Inside any transformation (grad, vmap,
//! jit, make_jaxpr, ...) that panic is caught and returned as `Err`. The `lax` module has the
//! `Result`-returning forms.

use crate::array::Array;
use crate::core::aval::same_shape;
use crate::core::error::{or_raise, shape_str, Error, Result};
use crate::dtype::{DType, Lattice, Scalar};
use crate::lax;
use crate::prims::DotGeneral;

mod convolve;
mod einsum;
pub mod indexing;
pub mod linalg;
mod reductions;
mod shape;
mod sorting;

pub use convolve::{convolve, correlate};
pub use einsum::einsum;
pub use reductions::{
    all, any, average, average_returned, count_nonzero, cumprod, cumsum, cumulative_sum, nanargmax,
    nanargmin, nancumprod, nancumsum, nanmax, nanmean, nanmin, nanprod, nanstd, nansum, nanvar,
    prod, ptp, std, var,
};
pub use shape::*;
pub use sorting::{
    argsort, median, nanmedian, nanpercentile, nanquantile, percentile, quantile, searchsorted,
    sort, unique, QuantileMethod,
};

pub use indexing::{
    index, index_mode, put_along_axis, take_along_axis, take_mode, At, Ellipsis, Index, NewAxis,
    TakeMode,
};

/// Anything usable as an operand: arrays, and Rust numbers (weakly typed, as Python scalars
/// are in JAX).
pub trait AsArray {
    /// The array (a clone: cheap, the data is shared).
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

/// Rust integers of an explicit width other than `i32` are strongly typed scalars, as NumPy
/// scalars (`np.int64(2)`) are in JAX: `x_i32 + 2i64` is an i64.
macro_rules! strong_int_operand {
    ($($t:ty),*) => {$(
        impl AsArray for $t {
            fn as_array(&self) -> Array {
                Array::scalar(*self)
            }
        }
    )*};
}
strong_int_operand!(i8, i16, i64, u8, u16, u32, u64);

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

/// `jax.dtypes.result_type` with weak types: the join of the operands in JAX's lattice
/// ([`Lattice`]), a weak int or float operand standing for its kind (`i8` with a weak int is
/// `i8`, `i8` with a weak float a weak `f32`, `bool` with a weak int a weak `i32`). Returns
/// the dtype and whether it is weak. Checked pair by pair against JAX in
/// tests/dtype_promotion.rs.
pub fn result_type(xs: &[&Array]) -> (DType, bool) {
    let joined = xs
        .iter()
        .map(|x| Lattice::of(promotion_dtype(x), x.is_weak()))
        .reduce(Lattice::join);
    match joined {
        // A weak result keeps the widest weak operand of its kind (a weak f64 stays f64);
        // otherwise it is cranax's default of the kind.
        Some(node) if node.is_weak() => {
            let widest = xs
                .iter()
                .filter(|x| x.is_weak() && Lattice::of(promotion_dtype(x), true) == node)
                .map(|x| promotion_dtype(x))
                .reduce(DType::promote);
            (widest.unwrap_or(node.dtype()), true)
        }
        Some(node) => (node.dtype(), false),
        None => (DType::F32, false),
    }
}

/// NumPy broadcasting of shapes, or the error JAX gives.
///
/// # Errors
/// Shapes that do not broadcast (JAX's message, naming `name` and the shapes).
pub fn broadcast_shapes(name: &str, shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for s in shapes {
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[rank - s.len() + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                return Err(Error::incompatible_shapes(name, shapes.iter().copied()));
            }
        }
    }
    Ok(out)
}

/// Promote dtypes and broadcast shapes of operands for an elementwise op (scalars stay scalars:
/// lax broadcasts them, as JAX's jaxprs show).
///
/// # Errors
/// As [`broadcast_shapes`].
pub fn promote_and_broadcast(name: &str, xs: &[Array]) -> Result<Vec<Array>> {
    let refs: Vec<&Array> = xs.iter().collect();
    let (dt, weak) = result_type(&refs);
    let shapes: Vec<&[usize]> = xs.iter().map(|x| x.shape()).collect();
    let out_shape = broadcast_shapes(name, &shapes)?;
    xs.iter()
        .map(|x| {
            let x = convert_operand(x, dt, weak)?;
            if x.ndim() == 0 || same_shape(x.shape(), &out_shape) {
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
    binary_with(name, a, b, op)
}

/// Float operands for ops that need them (ints promote to f32, as `jnp.exp` does).
pub(crate) fn to_float(x: &Array) -> Result<Array> {
    if x.dtype().is_float() {
        Ok(x.clone())
    } else {
        lax::convert_element_type(x, DType::F32)
    }
}

macro_rules! float_unary {
    ($($(#[$doc:meta])* $name:ident => $lax:ident),* $(,)?) => {
        $( #[doc = concat!("`jnp.", stringify!($name), "`, elementwise; integer and boolean inputs are converted to float first.\n\n# Panics\nOn an error of the underlying `lax` function (as every `numpy` function; inside a transformation it comes back as `Err`).")] $(#[$doc])* pub fn $name(x: impl AsArray) -> Array { or_raise(to_float(&operand(x)).and_then(|x| lax::$lax(&x))) } )*
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
    tan => tan, arcsin => asin, arccos => acos, arctan => atan, sinh => sinh, cosh => cosh,
    arcsinh => asinh, arccosh => acosh, arctanh => atanh,
    /// Array-API spellings of `arcsin` ... `arctanh`.
    asin => asin, acos => acos, atan => atan, asinh => asinh, acosh => acosh, atanh => atanh,
    /// The real cube root.
    cbrt => cbrt,
    /// `2 ** x`.
    exp2 => exp2,
}

// ---- rounding, remainders, float predicates and bitwise ops (jax/_src/numpy/ufuncs.py) ----

/// `x` unchanged for integers and bools, `f(x)` for floats (jnp's `floor`, `ceil`, ...).
fn float_or_identity(x: impl AsArray, f: impl Fn(&Array) -> Result<Array>) -> Array {
    let x = operand(x);
    if x.dtype().is_float() {
        or_raise(f(&x))
    } else {
        x
    }
}

/// `jnp.floor`.
pub fn floor(x: impl AsArray) -> Array {
    float_or_identity(x, lax::floor)
}
/// `jnp.ceil`.
pub fn ceil(x: impl AsArray) -> Array {
    float_or_identity(x, lax::ceil)
}
/// Round toward zero: `where(x < 0, ceil(x), floor(x))`.
pub fn trunc(x: impl AsArray) -> Array {
    float_or_identity(x, |x| {
        lax::select(
            &lax::lt(x, &lax::scalar_like(x, 0.0))?,
            &lax::ceil(x)?,
            &lax::floor(x)?,
        )
    })
}
/// Round to the nearest integer, halfway cases to even; integers become floats.
pub fn rint(x: impl AsArray) -> Array {
    let x = operand(x);
    or_raise(if x.dtype().is_float() {
        lax::round(&x, lax::RoundingMethod::ToNearestEven)
    } else {
        to_float(&x)
    })
}
/// `jnp.round(x, decimals)`: halfway cases to even, at `decimals` digits (`x * 10^d`
/// rounded, divided by `10^d`). Integers are returned unchanged for `decimals >= 0`.
pub fn round(x: impl AsArray, decimals: i32) -> Array {
    let x = operand(x);
    or_raise((|| {
        if !x.dtype().is_float() {
            if decimals >= 0 {
                return Ok(x.clone());
            }
            return Err(Error::value_err(format!(
                "round: decimals={decimals} on integer input is not supported"
            )));
        }
        let even = lax::RoundingMethod::ToNearestEven;
        if decimals == 0 {
            return lax::round(&x, even);
        }
        let factor = lax::scalar_like(&x, 10f64.powi(decimals));
        lax::div(&lax::round(&lax::mul(&x, &factor)?, even)?, &factor)
    })())
}
/// `jnp.clip(x, min, max)`: `minimum(max, maximum(min, x))` (for one bound use `maximum` or
/// `minimum`).
pub fn clip(x: impl AsArray, min: impl AsArray, max: impl AsArray) -> Array {
    minimum(max, maximum(min, x))
}

/// Operands promoted to one inexact dtype and broadcast (JAX's `promote_args_inexact`).
fn promote_inexact(name: &str, a: impl AsArray, b: impl AsArray) -> Result<(Array, Array)> {
    let v = promote_and_broadcast(name, &[a.as_array(), b.as_array()])?;
    Ok((to_float(&v[0])?, to_float(&v[1])?))
}

fn binary_inexact(
    name: &str,
    a: impl AsArray,
    b: impl AsArray,
    op: impl Fn(&Array, &Array) -> Result<Array>,
) -> Array {
    or_raise(promote_inexact(name, a, b).and_then(|(a, b)| op(&a, &b)))
}

/// Numeric operands promoted to one dtype and broadcast.
fn binary_with(
    name: &str,
    a: impl AsArray,
    b: impl AsArray,
    op: impl Fn(&Array, &Array) -> Result<Array>,
) -> Array {
    let (a, b) = (a.as_array(), b.as_array());
    if !a.is_weak() && !b.is_weak() && a.dtype() == b.dtype() {
        // Nothing to promote; nothing to broadcast when the shapes agree or one is a scalar
        // (lax broadcasts scalars): `promote_and_broadcast` would hand back the operands.
        if a.ndim() == 0 || b.ndim() == 0 || same_shape(a.shape(), b.shape()) {
            return or_raise(op(&a, &b));
        }
    }
    or_raise((|| {
        let v = promote_and_broadcast(name, &[a, b])?;
        op(&v[0], &v[1])
    })())
}

/// An integer divisor with its zeros replaced by ones (jnp's remainders never divide by 0).
fn nonzero_divisor(y: &Array) -> Result<Array> {
    if y.dtype().is_float() {
        return Ok(y.clone());
    }
    let zero = lax::eq(y, &lax::scalar_like(y, 0.0))?;
    lax::select(&zero, &lax::full(y.aval(), 1.0)?, y)
}

/// `x mod y` with the sign of `y` (Python's `%`): `rem`, then `+ y` where the signs differ.
fn remainder_of(x: &Array, y: &Array) -> Result<Array> {
    let y = nonzero_divisor(y)?;
    let r = lax::rem(x, &y)?;
    let zero = |a: &Array| lax::scalar_like(a, 0.0);
    let nonzero = lax::ne(&r, &zero(&r))?;
    let signs_differ = lax::ne(&lax::lt(&r, &zero(&r))?, &lax::lt(&y, &zero(&y))?)?;
    let fix = lax::and(&signs_differ, &nonzero)?;
    lax::select(&fix, &lax::add(&r, &y)?, &r)
}

/// `jnp.remainder(x, y)` (also `jnp.mod` and the `%` operator): the remainder with the sign of
/// the divisor, as Python's `%`.
pub fn remainder(a: impl AsArray, b: impl AsArray) -> Array {
    binary_with("remainder", a, b, remainder_of)
}
/// `jnp.mod`: the same as `remainder`.
pub fn mod_(a: impl AsArray, b: impl AsArray) -> Array {
    remainder(a, b)
}
/// `jnp.fmod(x, y)`: the remainder with the sign of the dividend (C's `fmod`).
pub fn fmod(a: impl AsArray, b: impl AsArray) -> Array {
    binary_with("fmod", a, b, |x, y| lax::rem(x, &nonzero_divisor(y)?))
}

/// CPython's float divmod: `(round(div), mod)` with the quotient floored.
fn float_divmod(x: &Array, y: &Array) -> Result<(Array, Array)> {
    let m = lax::rem(x, y)?;
    let zero = |a: &Array| lax::scalar_like(a, 0.0);
    let corrected = lax::select(&lax::eq(y, &zero(y))?, x, &lax::sub(x, &m)?)?;
    let d = lax::div(&corrected, y)?;
    let ind = lax::and(
        &lax::ne(&m, &zero(&m))?,
        &lax::ne(&lax::sign(y)?, &lax::sign(&m)?)?,
    )?;
    let m = lax::select(&ind, &lax::add(&m, y)?, &m)?;
    let d = lax::select(&ind, &lax::sub(&d, &lax::scalar_like(&d, 1.0))?, &d)?;
    Ok((lax::round(&d, lax::RoundingMethod::AwayFromZero)?, m))
}

fn floor_divide_of(x: &Array, y: &Array) -> Result<Array> {
    match x.dtype() {
        d if d.is_float() => Ok(float_divmod(x, y)?.0),
        d if d.is_unsigned_int() => lax::div(x, y),
        _ => {
            let d = lax::div(x, y)?;
            let signs_differ = lax::ne(&lax::sign(x)?, &lax::sign(y)?)?;
            let r = lax::rem(x, y)?;
            let inexact = lax::ne(&r, &lax::scalar_like(&r, 0.0))?;
            let fix = lax::and(&signs_differ, &inexact)?;
            lax::select(&fix, &lax::sub(&d, &lax::scalar_like(&d, 1.0))?, &d)
        }
    }
}

/// `jnp.floor_divide(x, y)` (Python's `//`): the quotient rounded toward -inf.
pub fn floor_divide(a: impl AsArray, b: impl AsArray) -> Array {
    binary_with("floor_divide", a, b, floor_divide_of)
}
/// `jnp.divmod(x, y)`: `(floor_divide(x, y), remainder(x, y))`.
pub fn divmod(a: impl AsArray, b: impl AsArray) -> (Array, Array) {
    or_raise((|| {
        let v = promote_and_broadcast("divmod", &[a.as_array(), b.as_array()])?;
        if v[0].dtype().is_float() {
            float_divmod(&v[0], &v[1])
        } else {
            Ok((floor_divide_of(&v[0], &v[1])?, remainder_of(&v[0], &v[1])?))
        }
    })())
}

/// A bool array of `x`'s shape, all `v` (the float predicates on integers).
fn all_bool(x: &Array, v: bool) -> Result<Array> {
    lax::full(
        &crate::core::aval::Aval::new(x.shape().to_vec(), DType::Bool),
        v as u8 as f64,
    )
}

/// `x != x`.
pub fn isnan(x: impl AsArray) -> Array {
    let x = operand(x);
    or_raise(lax::ne(&x, &x))
}
/// A float predicate of `x`; all false for integers and bools.
fn float_test(x: impl AsArray, pred: impl Fn(&Array) -> Result<Array>) -> Array {
    let x = operand(x);
    or_raise(if x.dtype().is_float() {
        pred(&x)
    } else {
        all_bool(&x, false)
    })
}

/// `|x| == inf` (false for integers).
pub fn isinf(x: impl AsArray) -> Array {
    float_test(x, |x| {
        lax::eq(&lax::abs(x)?, &lax::scalar_like(x, f64::INFINITY))
    })
}
/// `x == inf`.
pub fn isposinf(x: impl AsArray) -> Array {
    float_test(x, |x| lax::eq(x, &lax::scalar_like(x, f64::INFINITY)))
}
/// `x == -inf`.
pub fn isneginf(x: impl AsArray) -> Array {
    float_test(x, |x| lax::eq(x, &lax::scalar_like(x, f64::NEG_INFINITY)))
}
/// Neither infinite nor NaN (true for integers).
pub fn isfinite(x: impl AsArray) -> Array {
    let x = operand(x);
    or_raise(if x.dtype().is_float() {
        lax::is_finite(&x)
    } else {
        all_bool(&x, true)
    })
}

fn signbit_of(x: &Array) -> Result<Array> {
    let dt = x.dtype();
    if dt.is_signed_int() {
        lax::lt(x, &lax::scalar_like(x, 0.0))
    } else if !dt.is_float() {
        all_bool(x, false)
    } else {
        // The sign bit of the float's bits, read as a signed integer of the same width.
        let ity = DType::int_of_bits(dt.bits(), true).expect("floats are 16, 32 or 64 bits");
        let bits = lax::bitcast_convert_type(x, ity)?;
        lax::lt(&bits, &lax::scalar_like(&bits, 0.0))
    }
}

/// The sign bit (set for -0.0 and negative NaNs).
pub fn signbit(x: impl AsArray) -> Array {
    or_raise(signbit_of(&operand(x)))
}
/// `|x1|` with the sign of `x2`.
pub fn copysign(a: impl AsArray, b: impl AsArray) -> Array {
    binary_inexact("copysign", a, b, |x, y| {
        lax::select(&signbit_of(y)?, &lax::neg(&lax::abs(x)?)?, &lax::abs(x)?)
    })
}
/// `jnp.nan_to_num(x, nan, posinf, neginf)`: NaN to `nan`, infinities to `posinf`/`neginf`
/// (default: the dtype's largest finite values). Integers are unchanged.
pub fn nan_to_num(x: impl AsArray, nan: f64, posinf: Option<f64>, neginf: Option<f64>) -> Array {
    let x = operand(x);
    if !x.dtype().is_float() {
        return x;
    }
    or_raise((|| {
        let max = if x.dtype() == DType::F32 {
            f32::MAX as f64
        } else {
            f64::MAX
        };
        let c = |v: f64| Array::from_scalar(Scalar::from_f64(v, x.dtype()));
        let out = lax::select(&lax::ne(&x, &x)?, &full_of(&x, nan)?, &x)?;
        let is = |a: &Array, v: f64| lax::eq(a, &c(v));
        let out = lax::select(
            &is(&out, f64::INFINITY)?,
            &full_of(&x, posinf.unwrap_or(max))?,
            &out,
        )?;
        let out = lax::select(
            &is(&out, f64::NEG_INFINITY)?,
            &full_of(&x, neginf.unwrap_or(-max))?,
            &out,
        )?;
        Ok(out)
    })())
}

/// A strongly typed array of `like`'s type, all `v`.
fn full_of(like: &Array, v: f64) -> Result<Array> {
    lax::full(&like.aval().clone().weak(false), v)
}

/// `log2(x) = log(x) / log(2)`.
pub fn log2(x: impl AsArray) -> Array {
    or_raise(
        to_float(&operand(x))
            .and_then(|x| lax::div(&lax::log(&x)?, &lax::log(&lax::scalar_like(&x, 2.0))?)),
    )
}
/// `log10(x) = log(x) log10(e)`.
pub fn log10(x: impl AsArray) -> Array {
    or_raise(to_float(&operand(x)).and_then(|x| {
        lax::mul(
            &lax::log(&x)?,
            &lax::scalar_like(&x, std::f64::consts::LOG10_E),
        )
    }))
}
/// Degrees to radians.
pub fn deg2rad(x: impl AsArray) -> Array {
    or_raise(
        to_float(&operand(x))
            .and_then(|x| lax::mul(&x, &lax::scalar_like(&x, std::f64::consts::PI / 180.0))),
    )
}
/// Radians to degrees.
pub fn rad2deg(x: impl AsArray) -> Array {
    or_raise(
        to_float(&operand(x))
            .and_then(|x| lax::mul(&x, &lax::scalar_like(&x, 180.0 / std::f64::consts::PI))),
    )
}
/// `jnp.radians`: `deg2rad`.
pub fn radians(x: impl AsArray) -> Array {
    deg2rad(x)
}
/// `jnp.degrees`: `rad2deg`.
pub fn degrees(x: impl AsArray) -> Array {
    rad2deg(x)
}

/// `atan2(y, x)`: the angle of the point `(x, y)`.
pub fn arctan2(y: impl AsArray, x: impl AsArray) -> Array {
    binary_inexact("arctan2", y, x, lax::atan2)
}
/// The array-API spelling of `arctan2`.
pub fn atan2(y: impl AsArray, x: impl AsArray) -> Array {
    arctan2(y, x)
}
/// The next float after `x` toward `y`.
pub fn nextafter(a: impl AsArray, b: impl AsArray) -> Array {
    binary_inexact("nextafter", a, b, lax::nextafter)
}

/// `sqrt(x^2 + y^2)` without overflow: `max * sqrt(1 + (min/max)^2)` (JAX's form).
pub fn hypot(a: impl AsArray, b: impl AsArray) -> Array {
    binary_inexact("hypot", a, b, |x, y| {
        let (x, y) = (lax::abs(x)?, lax::abs(y)?);
        let inf = lax::scalar_like(&x, f64::INFINITY);
        let any_inf = lax::or(&lax::eq(&x, &inf)?, &lax::eq(&y, &inf)?)?;
        let (hi, lo) = (lax::max(&x, &y)?, lax::min(&x, &y)?);
        let hi0 = lax::eq(&hi, &lax::scalar_like(&hi, 0.0))?;
        let safe = lax::select(&hi0, &full_of(&hi, 1.0)?, &hi)?;
        let ratio = lax::square(&lax::div(&lo, &safe)?)?;
        let r = lax::mul(
            &hi,
            &lax::sqrt(&lax::add(&lax::scalar_like(&ratio, 1.0), &ratio)?)?,
        )?;
        let r = lax::select(&hi0, &hi, &r)?;
        lax::select(&any_inf, &full_of(&r, f64::INFINITY)?, &r)
    })
}

/// `log(exp(x) + exp(y))` without overflow, with JAX's custom JVP (finite at infinities).
pub fn logaddexp(a: impl AsArray, b: impl AsArray) -> Array {
    fn logaddexp(x: &Array, y: &Array) -> Array {
        or_raise(lax::logaddexp(x, y))
    }
    binary_inexact("logaddexp", a, b, |x, y| {
        let f = crate::api::custom::custom_jvp(logaddexp, |p: &[Array], t: &[Array]| {
            let out = or_raise(lax::logaddexp(&p[0], &p[1]));
            let weight = |xi: &Array| -> Result<Array> {
                lax::exp(&lax::sub(&lax::replace_inf(xi)?, &lax::replace_inf(&out)?)?)
            };
            let tangent = or_raise((|| {
                lax::add(
                    &lax::mul(&t[0], &weight(&p[0])?)?,
                    &lax::mul(&t[1], &weight(&p[1])?)?,
                )
            })());
            (vec![out], vec![tangent])
        });
        crate::api::Function::call(&f, (x.clone(), y.clone()))
    })
}

/// `jnp.heaviside(x1, x2)`: 0 below zero, 1 above, `x2` at zero (NaN stays NaN).
pub fn heaviside(a: impl AsArray, b: impl AsArray) -> Array {
    binary_inexact("heaviside", a, b, |x, h| {
        let zero = lax::scalar_like(x, 0.0);
        let at_zero = lax::select(&lax::ne(x, x)?, x, h)?;
        let r = lax::select(&lax::gt(x, &zero)?, &full_of(x, 1.0)?, &at_zero)?;
        lax::select(&lax::lt(x, &zero)?, &full_of(x, 0.0)?, &r)
    })
}

/// Bitwise (integers) or logical (bools) and.
pub fn bitwise_and(a: impl AsArray, b: impl AsArray) -> Array {
    binary("and", a, b, lax::and)
}
/// `jnp.bitwise_or` (`|`).
pub fn bitwise_or(a: impl AsArray, b: impl AsArray) -> Array {
    binary("or", a, b, lax::or)
}
/// `jnp.bitwise_xor` (`^`).
pub fn bitwise_xor(a: impl AsArray, b: impl AsArray) -> Array {
    binary("xor", a, b, lax::xor)
}
/// Bitwise not (integers), logical not (bools): `~x`.
pub fn bitwise_not(x: impl AsArray) -> Array {
    or_raise(lax::not(&operand(x)))
}
/// `jnp.invert`: `bitwise_not`.
pub fn invert(x: impl AsArray) -> Array {
    bitwise_not(x)
}
/// `x << y`.
pub fn left_shift(a: impl AsArray, b: impl AsArray) -> Array {
    binary("shift_left", a, b, lax::shift_left)
}
/// `x >> y`: arithmetic for signed integers, logical for unsigned.
pub fn right_shift(a: impl AsArray, b: impl AsArray) -> Array {
    binary_with("right_shift", a, b, |x, y| {
        if x.dtype().is_unsigned_int() {
            lax::shift_right_logical(x, y)
        } else {
            lax::shift_right_arithmetic(x, y)
        }
    })
}

/// `jnp.negative` (`-x`).
pub fn negative(x: impl AsArray) -> Array {
    or_raise(lax::neg(&operand(x)))
}
/// `jnp.abs`.
pub fn abs(x: impl AsArray) -> Array {
    or_raise(lax::abs(&operand(x)))
}
/// `jnp.sign`: -1, 0 or 1 (NaN for NaN).
pub fn sign(x: impl AsArray) -> Array {
    or_raise(lax::sign(&operand(x)))
}
/// `jnp.square`.
pub fn square(x: impl AsArray) -> Array {
    or_raise(lax::square(&operand(x)))
}
/// `jnp.reciprocal`: `1 / x`.
pub fn reciprocal(x: impl AsArray) -> Array {
    divide(1.0f32, x)
}
/// `jnp.logical_not`.
pub fn logical_not(x: impl AsArray) -> Array {
    or_raise(lax::not(&operand(x)))
}
/// The identity with a zero derivative.
pub fn stop_gradient(x: impl AsArray) -> Array {
    or_raise(lax::stop_gradient(&operand(x)))
}

/// `jnp.add`, with NumPy broadcasting and JAX's type promotion.
pub fn add(a: impl AsArray, b: impl AsArray) -> Array {
    binary("add", a, b, lax::add)
}
/// `jnp.subtract`, with NumPy broadcasting and JAX's type promotion.
pub fn subtract(a: impl AsArray, b: impl AsArray) -> Array {
    binary("sub", a, b, lax::sub)
}
/// `jnp.multiply`, with NumPy broadcasting and JAX's type promotion.
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
/// `jnp.maximum`, elementwise (NaN propagates).
pub fn maximum(a: impl AsArray, b: impl AsArray) -> Array {
    binary("max", a, b, lax::max)
}
/// `jnp.minimum`, elementwise (NaN propagates).
pub fn minimum(a: impl AsArray, b: impl AsArray) -> Array {
    binary("min", a, b, lax::min)
}
/// `jnp.less` (`<`), elementwise, a bool array.
pub fn less(a: impl AsArray, b: impl AsArray) -> Array {
    binary("lt", a, b, lax::lt)
}
/// `jnp.less_equal` (`<=`), elementwise, a bool array.
pub fn less_equal(a: impl AsArray, b: impl AsArray) -> Array {
    binary("le", a, b, lax::le)
}
/// `jnp.greater` (`>`), elementwise, a bool array.
pub fn greater(a: impl AsArray, b: impl AsArray) -> Array {
    binary("gt", a, b, lax::gt)
}
/// `jnp.greater_equal` (`>=`), elementwise, a bool array.
pub fn greater_equal(a: impl AsArray, b: impl AsArray) -> Array {
    binary("ge", a, b, lax::ge)
}
/// `jnp.equal` (`==`), elementwise, a bool array.
pub fn equal(a: impl AsArray, b: impl AsArray) -> Array {
    binary("eq", a, b, lax::eq)
}
/// `jnp.not_equal` (`!=`), elementwise, a bool array.
pub fn not_equal(a: impl AsArray, b: impl AsArray) -> Array {
    binary("ne", a, b, lax::ne)
}
/// `jnp.logical_and`.
pub fn logical_and(a: impl AsArray, b: impl AsArray) -> Array {
    binary("and", a, b, lax::and)
}
/// `jnp.logical_or`.
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

/// `jnp.finfo(dtype)`: the limits of a floating dtype (`eps`, `max`, `tiny`, ...).
///
/// # Errors
/// A dtype that is not floating (NumPy's wording).
pub fn finfo(dtype: DType) -> Result<crate::dtype::FInfo> {
    dtype
        .finfo()
        .ok_or_else(|| Error::value_err(format!("data type {} not inexact", dtype.numpy_name())))
}

/// `jnp.iinfo(dtype)`: the bounds of an integer dtype.
///
/// # Errors
/// A dtype that is not an integer (NumPy's wording).
pub fn iinfo(dtype: DType) -> Result<crate::dtype::IInfo> {
    dtype.iinfo().ok_or_else(|| {
        Error::value_err(format!(
            "Invalid integer data type '{}'.",
            dtype.numpy_name()
        ))
    })
}

/// `x.astype(dtype)`.
pub fn astype(x: impl AsArray, dtype: DType) -> Array {
    or_raise(lax::convert_element_type(&x.as_array(), dtype))
}

/// Normalise axes (negative from the end) against a rank; `None` is every axis.
///
/// # Errors
/// An axis out of range or repeated (naming `name`).
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

pub(crate) fn keep_dims(x: &Array, r: Array, axes: &[usize], keepdims: bool) -> Result<Array> {
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

/// `jnp.max` over `axes` (all when `None`), keeping them as size 1 when `keepdims`.
pub fn max(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let axes = normalize_axes("max", axes, x.ndim())?;
        keep_dims(&x, lax::reduce_max(&x, &axes)?, &axes, keepdims)
    })())
}

/// `jnp.min` over `axes` (all when `None`), keeping them as size 1 when `keepdims`.
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

/// `jnp.argmin`: the index of the first minimum along `axis` (of the flattened array when `None`).
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
            let message = format!(
                "cannot reshape array of shape {} (size {}) into shape {:?}",
                shape_str(x.shape()),
                x.size(),
                shape
            );
            return Err(Error::invalid_operands("reshape", &[x.aval()], message));
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

/// `jnp.broadcast_to`: `x` broadcast to `shape` by NumPy's rules.
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
    or_raise(take_mode(
        &x.as_array(),
        &indices.as_array(),
        axis,
        TakeMode::Fill,
    ))
}

/// `take` that clamps out-of-range indices instead of filling (`x[i]` indexing).
pub(crate) fn take_clamped(x: &Array, indices: &Array, axis: isize) -> Array {
    or_raise(take_impl(x, indices, axis, false))
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
    let fill = lax::full(
        &got.aval().clone().weak(false),
        crate::prims::shape::default_fill(got.dtype()),
    )?;
    lax::select(&valid, got, &fill)
}

fn take_impl(x: &Array, idx: &Array, axis: isize, fill: bool) -> Result<Array> {
    let axis = normalize_axes("take", Some(&[axis]), x.ndim())?[0];
    let (wrapped, valid) = wrap_indices(idx, x.shape()[axis])?;
    let got = lax::take_clamped(x, &wrapped, axis)?;
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
        let got = lax::take_clamped(&flat_x, &lax::add(&offsets, &label)?, 0)?;
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

/// `jnp.zeros`.
pub fn zeros(shape: &[usize], dtype: DType) -> Array {
    Array::zeros(shape, dtype)
}
/// `jnp.ones`.
pub fn ones(shape: &[usize], dtype: DType) -> Array {
    Array::ones(shape, dtype)
}
/// `jnp.full`: `shape` filled with `value` (of its dtype).
pub fn full(shape: &[usize], value: Scalar) -> Array {
    Array::full(shape, value)
}
/// `jnp.zeros_like`.
pub fn zeros_like(x: &Array) -> Array {
    or_raise(lax::zeros(&x.aval().clone().weak(false)))
}
/// `jnp.ones_like`.
pub fn ones_like(x: &Array) -> Array {
    or_raise(lax::full(&x.aval().clone().weak(false), 1.0))
}
/// `jnp.eye`: the `n` by `n` identity.
pub fn eye(n: usize, dtype: DType) -> Array {
    Array::eye(n, dtype)
}
/// `jnp.arange(start, stop, step)` as `dtype`.
pub fn arange(start: f64, stop: f64, step: f64, dtype: DType) -> Array {
    or_raise(Array::arange(start, stop, step, dtype))
}
/// `jnp.linspace(start, stop, num)` (both ends included) as `dtype`.
pub fn linspace(start: f64, stop: f64, num: usize, dtype: DType) -> Array {
    Array::linspace(start, stop, num, dtype)
}

/// `x` as a float array of `shape` from f32 data (a shorthand for tests and examples).
pub fn array(data: &[f32], shape: &[usize]) -> Array {
    or_raise(Array::from_vec(data.to_vec(), shape))
}
