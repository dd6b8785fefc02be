//! The README's quick start, compiled and run so it stays true.
//!
//! Run: `cargo run --release --example quickstart`

use cranax::numpy as jnp;
use cranax::{grad, jit, make_jaxpr, random, vmap, Array, DType, Function, ARG0, ARG1};
use std::io::Write;

fn product(x: &Array, y: &Array) -> Array {
    x * y
}

/// Run the example, printing to `out`.
///
/// # Errors
/// What cranax raises, or a failed write.
pub fn run(out: &mut dyn Write) -> cranax::Result<()> {
    let io = |e: std::io::Error| cranax::Error::value_err(format!("writing the output: {e}"));
    let (x, y) = (Array::from(3.0f32), Array::from(4.0f32));
    let dx = grad(product).call((x.clone(), y.clone()))?;
    let (gx, gy) = grad(product)
        .argnums((ARG0, ARG1))
        .call((x.clone(), y.clone()))?;
    writeln!(out, "{dx} {gx} {gy}").map_err(io)?; // 4.0 4.0 3.0
    writeln!(out, "{}", make_jaxpr(grad(product)).call((x, y))?).map_err(io)?;
    // { lambda ; a:f32[] b:f32[]. let _:f32[] = mul a b; c:f32[] = mul 1.0 b in (c,) }

    let xs = random::normal(&random::PRNGKey(1234), &[5], DType::F32)?;
    let per_example = jit(vmap(grad(|x: &Array| jnp::tanh(x))));
    writeln!(out, "{}", per_example.call((xs.clone(),))?).map_err(io)?; // compiles once ...
    writeln!(out, "{}", per_example.call((xs,))?).map_err(io)?; // ... then runs native code
    Ok(())
}

#[allow(dead_code)]
fn main() -> cranax::Result<()> {
    run(&mut std::io::stdout().lock())
}
