//! The standard workloads' functions and inputs (docs/BENCHMARKING.md), shared by the
//! workloads harness (`benches/workloads.rs`) and the criterion guards (`benches/jit.rs`).
#![allow(dead_code)]

use cranax::core::error::or_raise;
use cranax::lax;
use cranax::numpy as jnp;
use cranax::{random, Array, DType};

pub fn product(x: &Array, y: &Array) -> Array {
    x * y
}

pub fn activate(x: &Array) -> Array {
    jnp::tanh(x)
}

pub fn chain(x: &Array) -> Array {
    jnp::exp(jnp::sin(x)) * jnp::cos(x) + jnp::log1p(x * x)
}

pub fn cubic_tanh(x: &Array) -> Array {
    (jnp::tanh(x).pow(2) * x).sum()
}

pub type Params = (Array, Array, Array, Array);

pub fn mlp_loss(p: &Params, x: &Array, y: &Array) -> Array {
    let (w1, b1, w2, b2) = p;
    let h = jnp::tanh(x.matmul(w1) + b1);
    (h.matmul(w2) + b2 - y).pow(2).mean()
}

/// `lax.scan` of `h = tanh(W h + U x)` from `h = 0`; `sum(h_T) + mean(per-step sum(h))`.
pub fn rnn_loss(w: &Array, u: &Array, xs: &Array) -> Array {
    let step = |h: &Array, x: &Array| {
        let h = jnp::tanh(w.matmul(h) + u.matmul(x));
        let s = h.sum();
        (h, s)
    };
    let h0 = jnp::zeros(&[w.shape()[0]], DType::F32);
    let (h, ys) = or_raise(lax::scan(step, h0, xs.clone()));
    h.sum() + ys.mean()
}

/// `lax.while_loop` Newton iteration `x = (x + a/x)/2` from `x = a` while
/// `|x*x - a| > 1e-5 a` and fewer than 100 steps.
pub fn newton_sqrt(a: &Array) -> Array {
    let (x, _) = or_raise(lax::while_loop(
        |(x, i): &(Array, Array)| {
            let far = jnp::greater(jnp::abs(x * x - a), a * 1e-5);
            jnp::logical_and(far, jnp::less(i, 100))
        },
        |(x, i): &(Array, Array)| ((x + a / x) * 0.5, jnp::add(i, 1)),
        (a.clone(), Array::scalar(0i32)),
    ));
    x
}

/// `lax.fori_loop(0, 1000)` RK4 steps (`h = 0.01`, `t = i h`) of `y' = -k y + sin t`;
/// `sum(y_1000)`.
pub fn rk4(y0: &Array, k: &Array) -> Array {
    let f = |t: &Array, y: &Array| -k * y + jnp::sin(t);
    let h = 0.01;
    let step = |i: &Array, y: &Array| {
        let t = jnp::astype(i, DType::F32) * 0.01;
        let k1 = f(&t, y);
        let k2 = f(&(&t + h / 2.0), &(y + h / 2.0 * &k1));
        let k3 = f(&(&t + h / 2.0), &(y + h / 2.0 * &k2));
        let k4 = f(&(&t + h), &(y + h * &k3));
        y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    };
    or_raise(lax::fori_loop(0, 1000, step, y0.clone())).sum()
}

/// `sum(solve(A, b)²)`.
pub fn solve_loss(a: &Array, b: &Array) -> Array {
    jnp::sum(jnp::square(jnp::linalg::solve(a, b)), None, false)
}

pub fn normal(seed: i64, shape: &[usize]) -> Array {
    random::normal(&random::PRNGKey(seed), shape, DType::F32).expect("normal")
}

fn nrm(k: &Array, shape: &[usize]) -> Array {
    random::normal(k, shape, DType::F32).expect("normal")
}

fn key(i: i32) -> Array {
    random::split(&random::PRNGKey(0), 4).expect("split").at(i)
}

fn kr(i: i32) -> Array {
    random::split(&random::PRNGKey(5), 6).expect("split").at(i)
}

pub fn scalars() -> (Array, Array) {
    (Array::from(3.0f32), Array::from(4.0f32))
}

pub fn mlp_inputs() -> (Params, Array, Array) {
    let params: Params = (
        nrm(&key(0), &[784, 256]) * 0.05,
        Array::zeros(&[256], DType::F32),
        nrm(&key(1), &[256, 10]) * 0.05,
        Array::zeros(&[10], DType::F32),
    );
    (params, nrm(&key(2), &[128, 784]), nrm(&key(3), &[128, 10]))
}

pub fn rnn_inputs() -> (Array, Array, Array) {
    let w64 = nrm(&kr(0), &[64, 64]) * 0.1;
    let u64 = nrm(&kr(1), &[64, 32]) * 0.1;
    (w64, u64, nrm(&kr(2), &[1000, 32]))
}

pub fn newton_inputs() -> (Array,) {
    (jnp::abs(nrm(&kr(3), &[10_000])) * 100.0 + 0.01,)
}

pub fn rk4_inputs() -> (Array, Array) {
    (nrm(&kr(4), &[64]), Array::from(0.7f32))
}

pub fn solve_inputs() -> (Array, Array) {
    let a128 = nrm(&kr(5), &[128, 128]) + jnp::eye(128, DType::F32) * 128.0;
    (a128, nrm(&kr(0), &[128]))
}
