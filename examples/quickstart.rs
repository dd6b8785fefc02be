//! The README's quick start, compiled and run so it stays true.
//!
//! Run: `cargo run --release --example quickstart`

use cranax::numpy as jnp;
use cranax::{grad, jit, make_jaxpr, random, vmap, Array, DType, Function, ARG0, ARG1};

fn product(x: &Array, y: &Array) -> Array {
    x * y
}

fn main() -> cranax::Result<()> {
    let (x, y) = (Array::from(3.0f32), Array::from(4.0f32));
    let dx = grad(product).call((x.clone(), y.clone()))?;
    let (gx, gy) = grad(product)
        .argnums((ARG0, ARG1))
        .call((x.clone(), y.clone()))?;
    println!("{dx} {gx} {gy}"); // 4.0 4.0 3.0
    println!("{}", make_jaxpr(grad(product)).call((x, y))?);
    // { lambda ; a:f32[] b:f32[]. let _:f32[] = mul a b; c:f32[] = mul 1.0 b in (c,) }

    let xs = random::normal(&random::PRNGKey(1234), &[5], DType::F32)?;
    let per_example = jit(vmap(grad(|x: &Array| jnp::tanh(x))));
    println!("{}", per_example.call((xs.clone(),))?); // compiles once ...
    println!("{}", per_example.call((xs,))?); // ... then runs native code
    Ok(())
}
