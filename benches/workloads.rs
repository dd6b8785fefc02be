//! The standard workloads of docs/BENCHMARKING.md, side by side with JAX's
//! (`benches/jax/jax_workloads.py`): first call of a freshly wrapped function (trace,
//! transform, compile, run) and the median cached call. A readable table; with `--json`, one
//! JSON line per workload for `benches/jax/compare.py`. `--quick` takes fewer samples.
//!
//! `cargo bench --bench workloads -- --json`

use cranax::numpy as jnp;
use cranax::{grad, hessian, jit, random, vmap, Array, DType, Function, ARG0, ARG1};
use std::hint::black_box;
use std::time::Instant;

fn product(x: &Array, y: &Array) -> Array {
    x * y
}

fn activate(x: &Array) -> Array {
    jnp::tanh(x)
}

fn chain(x: &Array) -> Array {
    jnp::exp(jnp::sin(x)) * jnp::cos(x) + jnp::log1p(x * x)
}

fn cubic_tanh(x: &Array) -> Array {
    (jnp::tanh(x).pow(2) * x).sum()
}

type Params = (Array, Array, Array, Array);

fn mlp_loss(p: &Params, x: &Array, y: &Array) -> Array {
    let (w1, b1, w2, b2) = p;
    let h = jnp::tanh(x.matmul(w1) + b1);
    (h.matmul(w2) + b2 - y).pow(2).mean()
}

struct Figures {
    name: &'static str,
    first_call_us: f64,
    cached_us: f64,
}

/// Wall time of the first call of a fresh `make()`, then the median per-call time over
/// batches of calls each lasting at least ~20 ms.
fn measure<Args, F>(name: &'static str, make: impl Fn() -> F, args: Args, samples: usize) -> Figures
where
    Args: cranax::pytree::ArgTuple,
    F: Function<Args>,
{
    let f = make();
    let t = Instant::now();
    black_box(f.call(args.clone()).expect("first call"));
    let first = t.elapsed().as_secs_f64();
    let mut n = 1usize;
    loop {
        let t = Instant::now();
        for _ in 0..n {
            black_box(f.call(args.clone()).expect("call"));
        }
        if t.elapsed().as_secs_f64() > 0.02 {
            break;
        }
        n *= 2;
    }
    let mut per_call: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                black_box(f.call(args.clone()).expect("call"));
            }
            t.elapsed().as_secs_f64() / n as f64
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    Figures {
        name,
        first_call_us: first * 1e6,
        cached_us: per_call[per_call.len() / 2] * 1e6,
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let json = argv.iter().any(|a| a == "--json");
    let samples = if argv.iter().any(|a| a == "--quick") {
        3
    } else {
        9
    };

    let normal = |seed: i64, shape: &[usize]| {
        random::normal(&random::PRNGKey(seed), shape, DType::F32).expect("normal")
    };
    let x5 = normal(1234, &[5]);
    let x1m = normal(0, &[1_000_000]);
    let x100 = normal(2, &[100]);
    let keys = random::split(&random::PRNGKey(0), 4).expect("split");
    let key = |i: i32| keys.at(i);
    let nrm = |k: &Array, shape: &[usize]| random::normal(k, shape, DType::F32).expect("normal");
    let params: Params = (
        nrm(&key(0), &[784, 256]) * 0.05,
        Array::zeros(&[256], DType::F32),
        nrm(&key(1), &[256, 10]) * 0.05,
        Array::zeros(&[10], DType::F32),
    );
    let (xb, yb) = (nrm(&key(2), &[128, 784]), nrm(&key(3), &[128, 10]));
    let (s3, s4) = (Array::from(3.0f32), Array::from(4.0f32));
    // Start the engine once, outside every figure.
    black_box(
        jit(|v: &Array| v + 1.0)
            .call((s3.clone(),))
            .expect("warm-up"),
    );

    let figures = vec![
        measure(
            "grad_product_scalar",
            || jit(grad(product).argnums((ARG0, ARG1))),
            (s3.clone(), s4.clone()),
            samples,
        ),
        measure(
            "seed_vmap_grad_tanh_n5",
            || jit(vmap(grad(activate))),
            (x5,),
            samples,
        ),
        measure(
            "vmap_grad_tanh_n1e6",
            || jit(vmap(grad(activate))),
            (x1m.clone(),),
            samples,
        ),
        measure("elementwise_chain_n1e6", || jit(chain), (x1m,), samples),
        measure(
            "hessian_n100",
            || jit(hessian(cubic_tanh)),
            (x100,),
            samples,
        ),
        measure(
            "mlp_grad_b128",
            || jit(grad(mlp_loss)),
            (params, xb, yb),
            samples,
        ),
        measure(
            "eager_grad_product",
            || grad(product).argnums((ARG0, ARG1)),
            (s3, s4),
            samples,
        ),
    ];

    println!(
        "{:26} {:>16} {:>14}",
        "workload", "first call (us)", "cached (us)"
    );
    for f in &figures {
        println!(
            "{:26} {:>16.1} {:>14.3}",
            f.name, f.first_call_us, f.cached_us
        );
    }
    if json {
        for f in &figures {
            println!(
                "{{\"workload\": \"{}\", \"first_call_us\": {:.3}, \"cached_us\": {:.3}}}",
                f.name, f.first_call_us, f.cached_us
            );
        }
    }
}
