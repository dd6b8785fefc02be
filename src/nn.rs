//! `jax.nn`: activations and losses composed from `numpy` functions.

use crate::array::Array;
use crate::core::error::or_raise;
use crate::dtype::DType;
use crate::lax;
use crate::numpy::{self as jnp, AsArray};

pub fn sigmoid(x: impl AsArray) -> Array {
    jnp::sigmoid(x)
}

pub fn relu(x: impl AsArray) -> Array {
    jnp::maximum(x, 0.0f32)
}

/// `log(1 + exp(x))`, stable for large |x|.
pub fn softplus(x: impl AsArray) -> Array {
    let x = x.as_array();
    jnp::add(
        jnp::log1p(jnp::exp(jnp::negative(jnp::abs(&x)))),
        jnp::maximum(&x, 0.0f32),
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

pub fn softmax(x: impl AsArray, axis: isize) -> Array {
    let x = x.as_array();
    let unnormalized = jnp::exp(jnp::subtract(
        &x,
        jnp::stop_gradient(jnp::max(&x, Some(&[axis]), true)),
    ));
    jnp::divide(&unnormalized, jnp::sum(&unnormalized, Some(&[axis]), true))
}

/// One-hot rows: `labels[..., None] == arange(classes)` as `dtype`.
pub fn one_hot(labels: impl AsArray, classes: usize, dtype: DType) -> Array {
    let labels = labels.as_array();
    let mut shape = labels.shape().to_vec();
    shape.push(classes);
    let ids = or_raise(lax::iota(DType::I32, &shape, shape.len() - 1));
    let l = or_raise(lax::convert_element_type(&labels, DType::I32));
    let l = jnp::expand_dims(&l, -1);
    jnp::astype(jnp::equal(l, ids), dtype)
}
