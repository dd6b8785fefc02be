//! Gaussian-process regression with hyperparameters fitted by `grad` of the log marginal
//! likelihood, all through `cholesky`, `cho_solve` and `solve_triangular`.
//!
//! Data: y = sin(3x) + 0.3x + noise (noise standard deviation 0.1) at 40 points drawn on
//! [-2, 2] with cranax's (JAX-compatible) PRNG. Model: a squared-exponential kernel
//! `sf² exp(-(x - x')² / (2 ell²))` plus `sn² I`. The negative log marginal likelihood
//! `½ yᵀ K⁻¹ y + Σ log Lᵢᵢ + n/2 log 2π` (`K = L Lᵀ`) is minimised over the logs of
//! `(ell, sf, sn)` by Adam with `jit(value_and_grad(...))`; then the posterior mean and
//! standard deviation are printed at a few points next to the true function, with the test
//! error and the share of a test grid inside the ±2σ band.
//!
//! Run: `cargo run --release --example gaussian_process`

use cranax::numpy as jnp;
use cranax::numpy::linalg as la;
use cranax::scipy::linalg as sla;
use cranax::{jit, random, value_and_grad, Array, DType, Function, Result};
use std::io::Write;

#[path = "support/small.rs"]
mod small;
use small::small_from_env;

const NOISE: f64 = 0.1;

fn truth(x: &Array) -> Array {
    jnp::sin(x * 3.0) + x * 0.3
}

/// The squared-exponential kernel matrix `k(a_i, b_j)`.
fn kernel(a: &Array, b: &Array, ell: &Array, sf2: &Array) -> Array {
    let d = jnp::subtract(jnp::expand_dims(a, 1), jnp::expand_dims(b, 0));
    jnp::multiply(sf2, jnp::exp(jnp::square(d / ell) * -0.5))
}

/// `(ell, sf², sn²)` from the unconstrained parameters `[log ell, log sf, log sn]`.
fn hyper(p: &Array) -> (Array, Array, Array) {
    (
        jnp::exp(p.at(0)),
        jnp::exp(p.at(1) * 2.0),
        jnp::exp(p.at(2) * 2.0),
    )
}

/// The lower Cholesky factor of `K(x, x) + sn² I`.
fn factor(p: &Array, x: &Array) -> Array {
    let (ell, sf2, sn2) = hyper(p);
    let n = x.shape()[0];
    let k = kernel(x, x, &ell, &sf2) + jnp::multiply(jnp::eye(n, DType::F64), &sn2);
    la::cholesky(k)
}

/// The negative log marginal likelihood of `y` at `x`.
fn nlml(p: &Array, x: &Array, y: &Array) -> Array {
    let n = x.shape()[0] as f64;
    let l = factor(p, x);
    let alpha = sla::cho_solve((&l, true), y);
    let log_diag = jnp::log(jnp::sum(
        &l * jnp::eye(x.shape()[0], DType::F64),
        Some(&[1]),
        false,
    ));
    jnp::sum(y * &alpha, None, false) * 0.5
        + jnp::sum(log_diag, None, false)
        + 0.5 * n * (2.0 * std::f64::consts::PI).ln()
}

/// Posterior mean and standard deviation at `xs`.
fn predict(p: &Array, x: &Array, y: &Array, xs: &Array) -> (Array, Array) {
    let (ell, sf2, _) = hyper(p);
    let l = factor(p, x);
    let ks = kernel(x, xs, &ell, &sf2);
    let mean = jnp::matmul(jnp::transpose(&ks, None), sla::cho_solve((&l, true), y));
    let v = sla::solve_triangular(&l, &ks, 0, true, false);
    let var = jnp::subtract(sf2, jnp::sum(jnp::square(v), Some(&[0]), false));
    (mean, jnp::sqrt(var))
}

/// Run the example, printing to `out` (`small`: the test suite's few-iteration size).
///
/// # Errors
/// What cranax raises, or a failed write.
pub fn run(out: &mut dyn Write, small: bool) -> Result<()> {
    let io = |e: std::io::Error| cranax::Error::value_err(format!("writing the output: {e}"));
    let n = 40;
    let keys = random::split(&random::PRNGKey(0), 2)?;
    let x = random::uniform(&keys.at(0), &[n], DType::F64, -2.0, 2.0)?;
    let y = truth(&x) + random::normal(&keys.at(1), &[n], DType::F64)? * NOISE;

    let step = jit(value_and_grad(nlml));
    // Start from ell = 1, sf = 1, sn = 0.5; Adam with learning rate 0.05.
    let mut p = vec![0.0f64, 0.0, 0.5f64.ln()];
    let (mut m1, mut m2) = ([0.0f64; 3], [0.0f64; 3]);
    let (b1, b2, lr) = (0.9f64, 0.999f64, 0.05);
    let show = |it: usize, p: &[f64], loss: f64, g: &[f64]| {
        format!(
            "step {it:3}: -log p(y) = {loss:9.4}  ell = {:.4}  sf = {:.4}  sn = {:.4}  |grad| = {:.2e}",
            p[0].exp(),
            p[1].exp(),
            p[2].exp(),
            g.iter().map(|v| v * v).sum::<f64>().sqrt()
        )
    };
    let iters = if small { 20 } else { 300 };
    for it in 0..=iters {
        let pa = Array::from_slice(&p);
        let (loss, g) = step.call((pa, x.clone(), y.clone()))?;
        let (loss, g) = (loss.item::<f64>()?, g.to_vec::<f64>()?);
        if it % 50 == 0 || it == iters {
            writeln!(out, "{}", show(it, &p, loss, &g)).map_err(io)?;
        }
        if it == iters {
            break;
        }
        let t = (it + 1) as i32;
        for i in 0..3 {
            m1[i] = b1 * m1[i] + (1.0 - b1) * g[i];
            m2[i] = b2 * m2[i] + (1.0 - b2) * g[i] * g[i];
            let (mh, vh) = (m1[i] / (1.0 - b1.powi(t)), m2[i] / (1.0 - b2.powi(t)));
            p[i] -= lr * mh / (vh.sqrt() + 1e-8);
        }
    }
    writeln!(
        out,
        "fitted noise sd sn = {:.4} (true {NOISE}); lengthscale ell = {:.4}, signal sd sf = {:.4}",
        p[2].exp(),
        p[0].exp(),
        p[1].exp()
    )
    .map_err(io)?;

    let pa = Array::from_slice(&p);
    let xs = Array::from_slice(&[-1.9f64, -1.0, 0.0, 0.5, 1.25, 2.5]);
    let (mean, sd) = jit(predict).call((pa.clone(), x.clone(), y.clone(), xs.clone()))?;
    let (xv, mv, sv, tv) = (
        xs.to_vec::<f64>()?,
        mean.to_vec::<f64>()?,
        sd.to_vec::<f64>()?,
        truth(&xs).to_vec::<f64>()?,
    );
    writeln!(
        out,
        "   x     mean ± 2 sd          true   (2.5 is outside the data)"
    )
    .map_err(io)?;
    for i in 0..xv.len() {
        writeln!(
            out,
            "{:5.2}  {:8.4} ± {:.4}   {:8.4}",
            xv[i],
            mv[i],
            2.0 * sv[i],
            tv[i]
        )
        .map_err(io)?;
    }
    let grid = jnp::linspace(-2.0, 2.0, 201, DType::F64);
    let (mean, sd) = jit(predict).call((pa, x, y, grid.clone()))?;
    let (mv, sv, tv) = (
        mean.to_vec::<f64>()?,
        sd.to_vec::<f64>()?,
        truth(&grid).to_vec::<f64>()?,
    );
    let rmse = (mv
        .iter()
        .zip(&tv)
        .map(|(m, t)| (m - t).powi(2))
        .sum::<f64>()
        / mv.len() as f64)
        .sqrt();
    // The band is for f, not for a noisy y: compare with the noise-free truth.
    let inside = (0..mv.len())
        .filter(|&i| (mv[i] - tv[i]).abs() <= 2.0 * sv[i])
        .count();
    writeln!(
            out,
        "on a grid of {} points in [-2, 2]: RMSE of the mean vs the true function {rmse:.4}, {inside} inside ±2 sd",
        mv.len()
    ).map_err(io)?;
    Ok(())
}

#[allow(dead_code)]
fn main() -> Result<()> {
    run(&mut std::io::stdout().lock(), small_from_env())
}
