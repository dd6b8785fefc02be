//! `jax.nn`: activations, normalisation and one-hot encoding composed from `numpy` and `lax`
//! functions in JAX's forms (`jax/_src/nn/functions.py`): `relu` and `relu6` carry JAX's
//! custom JVPs (derivative 0 at the kinks), `softplus` is `logaddexp(x, 0)`, `softmax` and
//! `log_softmax` subtract the (stop-gradient) maximum first.

use crate::api::custom::custom_jvp;
use crate::api::Function;
use crate::array::Array;
use crate::core::error::{or_raise, Result};
use crate::dtype::DType;
use crate::lax;
use crate::numpy::{self as jnp, AsArray};

/// `jax.nn.sigmoid`: `1 / (1 + exp(-x))`.
pub fn sigmoid(x: impl AsArray) -> Array {
    jnp::sigmoid(x)
}

/// `g` where `keep`, else 0 (the JVP of relu and relu6).
fn tangent_where(keep: Result<Array>, g: &Array) -> Array {
    or_raise(keep.and_then(|k| lax::select(&k, g, &lax::zeros(&g.aval().clone().weak(false))?)))
}

/// `max(x, 0)`, whose derivative at 0 is 0 (JAX's custom JVP: `select(x > 0, g, 0)`).
pub fn relu(x: impl AsArray) -> Array {
    fn relu(x: &Array) -> Array {
        jnp::maximum(x, 0.0f32)
    }
    let f = custom_jvp(relu, |p: &[Array], t: &[Array]| {
        let x = &p[0];
        let keep = lax::gt(x, &lax::scalar_like(x, 0.0));
        (vec![relu(x)], vec![tangent_where(keep, &t[0])])
    });
    or_raise(f.call((x.as_array(),)))
}

/// `min(max(x, 0), 6)`, with derivative 1 strictly inside (0, 6) and 0 elsewhere (JAX's rule).
pub fn relu6(x: impl AsArray) -> Array {
    fn relu6(x: &Array) -> Array {
        jnp::minimum(jnp::maximum(x, 0.0f32), 6.0f32)
    }
    let f = custom_jvp(relu6, |p: &[Array], t: &[Array]| {
        let x = &p[0];
        let keep = (|| {
            let above = lax::gt(x, &lax::scalar_like(x, 0.0))?;
            let below = lax::lt(x, &lax::scalar_like(x, 6.0))?;
            lax::and(&above, &below)
        })();
        (vec![relu6(x)], vec![tangent_where(keep, &t[0])])
    });
    or_raise(f.call((x.as_array(),)))
}

/// GELU: `approximate = true` is the tanh form `x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))/2`,
/// `false` the exact `x erfc(-x / sqrt 2) / 2`.
pub fn gelu(x: impl AsArray, approximate: bool) -> Array {
    let x = x.as_array();
    let x = if x.dtype().is_float() {
        x
    } else {
        jnp::astype(&x, DType::F32)
    };
    if approximate {
        let k = lax::scalar_of(
            &x.aval().clone().weak(false),
            (2.0 / std::f64::consts::PI).sqrt(),
        );
        let inner = jnp::add(&x, jnp::multiply(0.044715f64, jnp::power(&x, 3i32)));
        let cdf = jnp::multiply(0.5f64, jnp::add(1.0f64, jnp::tanh(jnp::multiply(k, inner))));
        jnp::multiply(&x, cdf)
    } else {
        let k = lax::scalar_of(&x.aval().clone().weak(false), 0.5f64.sqrt());
        let arg = jnp::multiply(jnp::negative(&x), k);
        jnp::multiply(jnp::multiply(0.5f64, &x), crate::scipy::special::erfc(arg))
    }
}

/// SiLU (swish): `x * sigmoid(x)`.
pub fn silu(x: impl AsArray) -> Array {
    let x = x.as_array();
    jnp::multiply(&x, jnp::sigmoid(&x))
}

/// `jax.nn.swish`: `silu`.
pub fn swish(x: impl AsArray) -> Array {
    silu(x)
}

/// `log(1 + exp(x))` as `logaddexp(x, 0)` (stable for large |x|; JAX's custom JVP).
pub fn softplus(x: impl AsArray) -> Array {
    jnp::logaddexp(x, 0.0f32)
}

/// `log(sigmoid(x)) = -softplus(-x)`.
pub fn log_sigmoid(x: impl AsArray) -> Array {
    jnp::negative(softplus(jnp::negative(x)))
}

/// ELU: `x` above 0, `alpha (exp(x) - 1)` below.
pub fn elu(x: impl AsArray, alpha: f64) -> Array {
    let x = x.as_array();
    let positive = jnp::greater(&x, 0.0f32);
    let safe = jnp::where_(&positive, 0.0f32, &x);
    jnp::where_(&positive, &x, jnp::multiply(alpha, jnp::expm1(safe)))
}

/// Leaky ReLU: `x` at and above 0, `negative_slope * x` below (JAX's default slope: 0.01).
pub fn leaky_relu(x: impl AsArray, negative_slope: f64) -> Array {
    let x = x.as_array();
    jnp::where_(
        jnp::greater_equal(&x, 0.0f32),
        &x,
        jnp::multiply(negative_slope, &x),
    )
}

/// `x - logsumexp(x)` along `axis`.
pub fn log_softmax(x: impl AsArray, axis: isize) -> Array {
    let x = x.as_array();
    let shifted = jnp::subtract(&x, jnp::stop_gradient(jnp::max(&x, Some(&[axis]), true)));
    jnp::subtract(
        &shifted,
        jnp::log(jnp::sum(jnp::exp(&shifted), Some(&[axis]), true)),
    )
}

/// `jax.nn.softmax` along `axis`.
pub fn softmax(x: impl AsArray, axis: isize) -> Array {
    let x = x.as_array();
    let unnormalized = jnp::exp(jnp::subtract(
        &x,
        jnp::stop_gradient(jnp::max(&x, Some(&[axis]), true)),
    ));
    jnp::divide(&unnormalized, jnp::sum(&unnormalized, Some(&[axis]), true))
}

/// `jax.nn.logsumexp`: `jax.scipy.special.logsumexp`.
pub fn logsumexp(x: impl AsArray, axes: Option<&[isize]>, keepdims: bool) -> Array {
    crate::scipy::special::logsumexp(x, axes, keepdims)
}

/// `(x - mean) / sqrt(variance + epsilon)` along `axis`, the variance as JAX's default
/// (`"fast"`): `mean(x^2) - mean(x)^2`, clipped at 0 (JAX's default epsilon: 1e-5).
pub fn standardize(x: impl AsArray, axis: isize, epsilon: f64) -> Array {
    let x = x.as_array();
    let mean = jnp::mean(&x, Some(&[axis]), true);
    let variance = jnp::subtract(
        jnp::mean(jnp::square(&x), Some(&[axis]), true),
        jnp::square(&mean),
    );
    let variance = jnp::maximum(0i32, variance);
    jnp::multiply(
        jnp::subtract(&x, &mean),
        jnp::rsqrt(jnp::add(variance, epsilon)),
    )
}

/// One-hot rows: `labels[..., None] == arange(classes)` as `dtype` (labels out of range give
/// rows of zeros).
pub fn one_hot(labels: impl AsArray, classes: usize, dtype: DType) -> Array {
    let labels = labels.as_array();
    let mut shape = labels.shape().to_vec();
    shape.push(classes);
    let ids = or_raise(lax::iota(DType::I32, &shape, shape.len() - 1));
    let l = or_raise(lax::convert_element_type(&labels, DType::I32));
    let l = jnp::expand_dims(&l, -1);
    jnp::astype(jnp::equal(l, ids), dtype)
}
