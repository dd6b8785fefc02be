use cranax::numpy as jnp;
use cranax::*;

fn product(x: &Array, y: &Array) -> Array {
    x * y
}

fn main() -> Result<()> {
    let (x, y) = (Array::from(3.0f32), Array::from(4.0f32));
    println!("{}", product(&x, &y));
    println!("{}", grad(product).call((x.clone(), y.clone()))?);
    println!(
        "{}",
        grad(product).argnums(ARG1).call((x.clone(), y.clone()))?
    );
    let p = grad(product)
        .argnums((ARG0, ARG1))
        .call((x.clone(), y.clone()))?;
    println!("{} {}", p.0, p.1);
    println!(
        "{}",
        make_jaxpr(grad(product)).call((x.clone(), y.clone()))?
    );
    println!(
        "{}",
        make_jaxpr(grad(product).argnums(ARG1)).call((x.clone(), y.clone()))?
    );
    println!(
        "{}",
        make_jaxpr(grad(product).argnums((ARG0, ARG1))).call((x.clone(), y.clone()))?
    );
    let xs = Array::from_slice(&[0.9066547f32, -0.9453376, 0.08205657, -1.8436362, 0.45950902]);
    let act = |x: &Array| jnp::tanh(x);
    println!("{}", vmap(grad(act)).call((xs.clone(),))?);
    println!("{}", make_jaxpr(vmap(grad(act))).call((xs.clone(),))?);
    let f = jit(vmap(grad(act)));
    println!("{}", f.call((xs.clone(),))?);
    println!("{}", f.call((xs.clone(),))?);
    println!("{:?}", f.stats());
    Ok(())
}
