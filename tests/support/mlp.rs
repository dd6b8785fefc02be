//! examples/mlp.rs's model and loss (a two-layer tanh MLP, mean squared error), and smooth
//! deterministic test data, for the staged-compilation and export tests.

use cranax::numpy as jnp;
use cranax::Array;

pub type Params = (Array, Array, Array, Array);

pub fn predict(p: &Params, x: &Array) -> Array {
    let (w1, b1, w2, b2) = p;
    jnp::tanh(x.matmul(w1) + b1).matmul(w2) + b2
}

pub fn loss(p: &Params, x: &Array, y: &Array) -> Array {
    (predict(p, x) - y).pow(2).mean()
}

/// `sin(0.37 i + seed)` at each flat index `i`, in `shape`.
pub fn data(shape: &[usize], seed: f32) -> Array {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37 + seed).sin()).collect();
    Array::from_vec(v, shape).unwrap()
}
