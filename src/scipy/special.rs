//! `jax.scipy.special`: `erf`, `erfc`, `erfinv`, `gammaln`, `digamma`, `polygamma`, `xlogy`,
//! `xlog1py`, `logit`, `expit` and `logsumexp`, with JAX's stable forms and custom derivatives
//! (`jax/_src/scipy/special.py`, `jax/_src/ops/special.py`).

use crate::api::custom::custom_jvp;
use crate::api::Function;
use crate::array::Array;
use crate::core::error::{or_raise, Result};
use crate::dtype::DType;
use crate::lax;
use crate::numpy::{self as jnp, AsArray};

/// A float operand (integers and bools promote to f32, as `promote_args_inexact`).
fn float_operand(x: &Array) -> Result<Array> {
    if x.dtype().is_float() {
        Ok(x.clone())
    } else {
        lax::convert_element_type(x, DType::F32)
    }
}

macro_rules! unary_special {
    ($($(#[$doc:meta])* $name:ident => $lax:ident),* $(,)?) => {
        $( $(#[$doc])* pub fn $name(x: impl AsArray) -> Array {
            or_raise(float_operand(&x.as_array()).and_then(|x| lax::$lax(&x)))
        } )*
    };
}

unary_special! {
    /// The error function.
    erf => erf,
    /// The complementary error function `1 - erf(x)`, accurate where erf nears 1.
    erfc => erfc,
    /// The inverse error function.
    erfinv => erf_inv,
    /// `log |Gamma(x)|`.
    gammaln => lgamma,
    /// The logarithmic derivative of Gamma.
    digamma => digamma,
    /// The logistic sigmoid `1 / (1 + exp(-x))`.
    expit => logistic,
}

/// Two float operands of one dtype and shape.
fn float_pair(name: &str, a: impl AsArray, b: impl AsArray) -> Result<(Array, Array)> {
    let v = jnp::promote_and_broadcast(name, &[a.as_array(), b.as_array()])?;
    Ok((float_operand(&v[0])?, float_operand(&v[1])?))
}

/// `polygamma(n, x)`: the n-th derivative of digamma (n a non-negative integer, else NaN).
pub fn polygamma(n: impl AsArray, x: impl AsArray) -> Array {
    or_raise(float_pair("polygamma", n, x).and_then(|(n, x)| lax::polygamma(&n, &x)))
}

/// `x * f(y)`, 0 where `x == 0` unless `y` is NaN (xlogy's and xlog1py's primal).
fn x_times(x: &Array, y: &Array, f: fn(&Array) -> Result<Array>) -> Result<Array> {
    let x_ok = lax::ne(x, &lax::scalar_like(x, 0.0))?;
    let keep = lax::or(&x_ok, &lax::ne(y, y)?)?;
    lax::select(&keep, &lax::mul(x, &f(y)?)?, &jnp::zeros_like(x))
}

/// `log1p` as xlog1py's `f` and `1 + y` as its derivative's denominator.
fn one_plus(y: &Array) -> Result<Array> {
    lax::add(&lax::scalar_like(y, 1.0), y)
}

/// `x log(y)`, 0 at `x = 0` (unless y is NaN), with JAX's JVP `dx log(y) + dy x / y`.
pub fn xlogy(x: impl AsArray, y: impl AsArray) -> Array {
    fn xlogy(x: &Array, y: &Array) -> Array {
        or_raise(x_times(x, y, lax::log))
    }
    let f = custom_jvp(xlogy, |p: &[Array], t: &[Array]| {
        let out = xlogy(&p[0], &p[1]);
        let tangent = or_raise((|| {
            let dx = lax::mul(&t[0], &lax::log(&p[1])?)?;
            let dy = lax::div(&lax::mul(&t[1], &p[0])?, &p[1])?;
            lax::add(&dx, &dy)
        })());
        (vec![out], vec![tangent])
    });
    or_raise(float_pair("xlogy", x, y).and_then(|(x, y)| f.call((x, y))))
}

/// `x log1p(y)`, 0 at `x = 0` (unless y is NaN), with JAX's JVP `dx log1p(y) + dy x / (1+y)`.
pub fn xlog1py(x: impl AsArray, y: impl AsArray) -> Array {
    fn xlog1py(x: &Array, y: &Array) -> Array {
        or_raise(x_times(x, y, lax::log1p))
    }
    let f = custom_jvp(xlog1py, |p: &[Array], t: &[Array]| {
        let out = xlog1py(&p[0], &p[1]);
        let tangent = or_raise((|| {
            let dx = lax::mul(&t[0], &lax::log1p(&p[1])?)?;
            let dy = lax::div(&lax::mul(&t[1], &p[0])?, &one_plus(&p[1])?)?;
            lax::add(&dx, &dy)
        })());
        (vec![out], vec![tangent])
    });
    or_raise(float_pair("xlog1py", x, y).and_then(|(x, y)| f.call((x, y))))
}

/// `log(x / (1 - x))`, with JAX's JVP `g / (x (1 - x))`.
pub fn logit(x: impl AsArray) -> Array {
    fn logit(x: &Array) -> Array {
        or_raise((|| {
            lax::log(&lax::div(x, &lax::sub(&lax::scalar_like(x, 1.0), x)?)?)
        })())
    }
    let f = custom_jvp(logit, |p: &[Array], t: &[Array]| {
        let x = &p[0];
        let tangent = or_raise((|| {
            lax::div(
                &t[0],
                &lax::mul(x, &lax::sub(&lax::scalar_like(x, 1.0), x)?)?,
            )
        })());
        (vec![logit(x)], vec![tangent])
    });
    or_raise(float_operand(&x.as_array()).and_then(|x| f.call((x,))))
}

/// `log(sum(exp(x)))` over `axes` (all if `None`), stable: the maximum (0 where it is not
/// finite, held by `stop_gradient`) is subtracted first and added back, as JAX's.
pub fn logsumexp(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    or_raise((|| {
        let a = float_operand(&x.as_array())?;
        let dims = jnp::normalize_axes("logsumexp", axes, a.ndim())?;
        let amax = lax::max(
            &lax::scalar_like(&a, f64::NEG_INFINITY),
            &lax::reduce_max(&a, &dims)?,
        )?;
        let finite = lax::is_finite(&amax)?;
        let amax = lax::select(
            &finite,
            &amax,
            &lax::zeros(&amax.aval().clone().weak(false))?,
        )?;
        let amax = lax::stop_gradient(&amax)?;
        let kept: Vec<usize> = {
            let mut shape = a.shape().to_vec();
            for &d in &dims {
                shape[d] = 1;
            }
            shape
        };
        let amax_dims = lax::reshape(&amax, &kept)?;
        let exp_a = lax::exp(&lax::sub(
            &a,
            &lax::broadcast_to_rank(&amax_dims, a.shape())?,
        )?)?;
        let sumexp = lax::reduce_sum(&exp_a, &dims)?;
        let sumexp = lax::abs(&sumexp)?;
        let out = lax::add(&lax::log(&sumexp)?, &amax)?;
        if keepdims {
            lax::reshape(&out, &kept)
        } else {
            Ok(out)
        }
    })())
}
