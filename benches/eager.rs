//! The cost of one eager op on f32 scalars (issue 2: "an eager scalar op costs well under a
//! microsecond"): the operator `&x * &y` (promotion and broadcasting in the jnp layer, then the
//! primitive) and `lax::mul` (the primitive alone), next to a few other scalar ops; and the
//! eager `grad` of `x * y` (issue 16: under 2 us; linearize, transpose and the three scalar
//! products they evaluate).
//!
//! Run: `cargo bench --bench eager`.

use cranax::{grad, lax, numpy as jnp, value_and_grad, Array, Function, ARG0, ARG1};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn eager_scalar_ops(c: &mut Criterion) {
    let x = Array::from(3.0f32);
    let y = Array::from(4.0f32);
    let mut g = c.benchmark_group("eager_scalar_f32");
    g.bench_function("operator &x * &y", |b| {
        b.iter(|| black_box(black_box(&x) * black_box(&y)))
    });
    g.bench_function("lax::mul", |b| {
        b.iter(|| black_box(lax::mul(black_box(&x), black_box(&y)).unwrap()))
    });
    g.bench_function("operator &x * 2.0 (weak literal)", |b| {
        b.iter(|| black_box(black_box(&x) * 2.0f32))
    });
    g.bench_function("jnp::tanh", |b| {
        b.iter(|| black_box(jnp::tanh(black_box(&x))))
    });
    g.bench_function("read back item", |b| {
        b.iter(|| black_box(black_box(&x).item::<f32>().unwrap()))
    });
    g.finish();
}

fn product(x: &Array, y: &Array) -> Array {
    x * y
}

fn eager_grad(c: &mut Criterion) {
    let x = Array::from(3.0f32);
    let y = Array::from(4.0f32);
    let mut g = c.benchmark_group("eager_grad_f32");
    let both = grad(product).argnums((ARG0, ARG1));
    g.bench_function("grad(x*y) argnums (0, 1)", |b| {
        b.iter(|| black_box(both.call(black_box((x.clone(), y.clone()))).unwrap()))
    });
    let first = grad(product);
    g.bench_function("grad(x*y)", |b| {
        b.iter(|| black_box(first.call(black_box((x.clone(), y.clone()))).unwrap()))
    });
    let tanh = value_and_grad(|x: &Array| jnp::tanh(x));
    g.bench_function("value_and_grad(tanh)", |b| {
        b.iter(|| black_box(tanh.call(black_box((x.clone(),))).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, eager_scalar_ops, eager_grad);
criterion_main!(benches);
