//! The seed notebook (`shared/seed/`), line for line, from Rust: gradients with `argnums`, the
//! jaxprs of those gradients, `vmap(grad(tanh))` over `normal(PRNGKey(1234), (5,))`, `jit`
//! with first-call and cached timings, and `check_grads`.
//!
//! Run: `cargo run --release --example autodiff_tutorial`

use cranax::numpy as jnp;
use cranax::random;
use cranax::test_util::{check_grads, Mode};
use cranax::{grad, jit, make_jaxpr, vmap, Array, DType, Function, Result, ARG0, ARG1};
use std::io::Write;
use std::time::Instant;

fn product(x: &Array, y: &Array) -> Array {
    x * y
}

/// Applies tanh activation.
fn activate(x: &Array) -> Array {
    jnp::tanh(x)
}

/// Everything the notebook prints, written to `out`.
pub fn run(out: &mut dyn Write) -> Result<()> {
    let io =
        |e: std::io::Error| cranax::Error::Value(format!("writing the tutorial's output: {e}"));

    // In [37]: gradients of a product, and their jaxprs.
    let x = Array::from(3.0f32);
    let y = Array::from(4.0f32);
    let z = product(&x, &y);
    writeln!(out, "Input Variable x: {x}").map_err(io)?;
    writeln!(out, "Input Variable y: {y}").map_err(io)?;
    writeln!(out, "Product z: {z}\n").map_err(io)?;

    // dz / dx
    let dx = grad(product).call((x.clone(), y.clone()))?; // argnums defaults to 0
    writeln!(out, "Gradient of z wrt x: {dx}").map_err(io)?;
    // dz / dy
    let dy = grad(product).argnums(ARG1).call((x.clone(), y.clone()))?;
    writeln!(out, "Gradient of z wrt y: {dy}").map_err(io)?;
    // p = dz / d(x, y)
    let p = grad(product)
        .argnums((ARG0, ARG1))
        .call((x.clone(), y.clone()))?;
    writeln!(
        out,
        "Gradient of z wrt x: {}, gradient of z wrt x: {}",
        p.0, p.1
    )
    .map_err(io)?;

    writeln!(out, "Differentiating wrt x").map_err(io)?;
    writeln!(
        out,
        "{}",
        make_jaxpr(grad(product).argnums(ARG0)).call((x.clone(), y.clone()))?
    )
    .map_err(io)?;
    writeln!(out, "Differentiating wrt y").map_err(io)?;
    writeln!(
        out,
        "{}",
        make_jaxpr(grad(product).argnums(ARG1)).call((x.clone(), y.clone()))?
    )
    .map_err(io)?;
    writeln!(out, "Differentiating wrt x, y").map_err(io)?;
    writeln!(
        out,
        "{}",
        make_jaxpr(grad(product).argnums((ARG0, ARG1))).call((x.clone(), y.clone()))?
    )
    .map_err(io)?;

    // In [38]: per-example gradients with vmap.
    let key = random::PRNGKey(1234);
    let x = random::normal(&key, &[5], DType::F32)?;
    let _activations = activate(&x);
    let grads_batch = vmap(grad(activate)).call((x.clone(),))?;
    writeln!(out, "Gradients for the batch:  {grads_batch}").map_err(io)?;
    writeln!(
        out,
        "Jaxpr:\n {}",
        make_jaxpr(vmap(grad(activate))).call((x.clone(),))?
    )
    .map_err(io)?;

    // In [39]: the same, compiled: the first call traces and compiles, later calls run native code.
    let jitted_grads_batch = jit(vmap(grad(activate)));
    for _ in 0..3 {
        let start = Instant::now();
        let g = jitted_grads_batch.call((x.clone(),))?;
        writeln!(out, "Gradients for the batch:  {g}").map_err(io)?;
        writeln!(
            out,
            "Time taken: {:.4} second",
            start.elapsed().as_secs_f64()
        )
        .map_err(io)?;
        writeln!(out, "{}", "=".repeat(50)).map_err(io)?;
    }

    // In [40]: gradients against finite differences.
    match check_grads(
        &jitted_grads_batch,
        (x.clone(),),
        1,
        &[Mode::Fwd, Mode::Rev],
    ) {
        Ok(()) => writeln!(
            out,
            "Gradient match with gradient calculated using finite differences"
        )
        .map_err(io)?,
        Err(e) => writeln!(out, "GradCheckError {e}").map_err(io)?,
    }
    Ok(())
}

#[cfg_attr(test, allow(dead_code))]
fn main() -> Result<()> {
    let stdout = std::io::stdout();
    run(&mut stdout.lock())
}
