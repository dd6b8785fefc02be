//! Train a two-layer tanh MLP on synthetic regression data with `jit(value_and_grad(loss))`
//! and plain SGD; the loss printed falls. Parameters are a tuple pytree.
//!
//! Run: `cargo run --release --example mlp`

use cranax::numpy as jnp;
use cranax::{jit, random, value_and_grad, Array, DType, Function, Result};

type Params = (Array, Array, Array, Array);

fn predict(p: &Params, x: &Array) -> Array {
    let (w1, b1, w2, b2) = p;
    jnp::tanh(x.matmul(w1) + b1).matmul(w2) + b2
}

fn loss(p: &Params, x: &Array, y: &Array) -> Array {
    (predict(p, x) - y).pow(2).mean()
}

fn main() -> Result<()> {
    let (n, d_in, hidden, d_out) = (256, 8, 32, 1);
    let keys = random::split(&random::PRNGKey(0), 5)?;
    let normal = |i: i32, shape: &[usize]| random::normal(&keys.at(i), shape, DType::F32);

    // Targets from a fixed random "teacher" network plus a little noise.
    let x = normal(0, &[n, d_in])?;
    let teacher: Params = (
        normal(1, &[d_in, hidden])?,
        Array::zeros(&[hidden], DType::F32),
        normal(2, &[hidden, d_out])? * 0.3,
        Array::zeros(&[d_out], DType::F32),
    );
    let y: Array = predict(&teacher, &x) + normal(3, &[n, d_out])? * 0.01;

    let k = random::split(&keys.at(4), 2)?;
    let mut params: Params = (
        random::normal(&k.at(0), &[d_in, hidden], DType::F32)? * (1.0 / (d_in as f32).sqrt()),
        Array::zeros(&[hidden], DType::F32),
        random::normal(&k.at(1), &[hidden, d_out], DType::F32)? * (1.0 / (hidden as f32).sqrt()),
        Array::zeros(&[d_out], DType::F32),
    );

    let step = jit(value_and_grad(loss));
    let lr = 0.1f32;
    for epoch in 0..=300 {
        let (l, g) = step.call((params.clone(), x.clone(), y.clone()))?;
        if epoch % 30 == 0 {
            println!("epoch {epoch:3}  loss {l}");
        }
        params = (
            &params.0 - &g.0 * lr,
            &params.1 - &g.1 * lr,
            &params.2 - &g.2 * lr,
            &params.3 - &g.3 * lr,
        );
    }
    let stats = step.stats();
    println!(
        "compiled {} time(s) in {:.2} ms; {} cached calls",
        stats.compiles,
        stats.compile_time.as_secs_f64() * 1e3,
        stats.hits
    );
    Ok(())
}
