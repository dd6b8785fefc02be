//! The standard workloads of docs/BENCHMARKING.md, side by side with JAX's
//! (`benches/jax/jax_workloads.py`): first call of a freshly wrapped function (trace,
//! transform, compile, run) and the median cached call. A readable table; with `--json`, one
//! JSON line per workload for `benches/jax/compare.py`. `--quick` takes fewer samples.
//!
//! `cargo bench --bench workloads -- --json`

use cranax::core::error::or_raise;
use cranax::lax;
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

/// `lax.scan` of `h = tanh(W h + U x)` from `h = 0`; `sum(h_T) + mean(per-step sum(h))`.
fn rnn_loss(w: &Array, u: &Array, xs: &Array) -> Array {
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
fn newton_sqrt(a: &Array) -> Array {
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
fn rk4(y0: &Array, k: &Array) -> Array {
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

struct Figures {
    name: &'static str,
    first_call_us: f64,
    cached_us: f64,
}

/// Wall time of the first call of a fresh `make()`, then the median per-call time over
/// batches of calls each lasting at least ~20 ms. A workload whose first call fails (a
/// feature not there yet) is reported on stderr and left out.
/// `sum(solve(A, b)²)`.
fn solve_loss(a: &Array, b: &Array) -> Array {
    jnp::sum(jnp::square(jnp::linalg::solve(a, b)), None, false)
}

fn measure<Args, F>(
    name: &'static str,
    make: impl Fn() -> F,
    args: Args,
    samples: usize,
) -> Option<Figures>
where
    Args: cranax::pytree::ArgTuple,
    F: Function<Args>,
{
    if !wanted(name) {
        return None;
    }
    let f = make();
    let t = Instant::now();
    if let Err(e) = f.call(args.clone()) {
        eprintln!("{name}: skipped: {e}");
        return None;
    }
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
    Some(Figures {
        name,
        first_call_us: first * 1e6,
        cached_us: per_call[per_call.len() / 2] * 1e6,
    })
}

/// Optional filter: `cargo bench --bench workloads -- rnn newton` runs only the workloads
/// whose names contain one of the words (as criterion filters).
fn wanted(name: &str) -> bool {
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    words.is_empty() || words.iter().any(|w| name.contains(w.as_str()))
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
    let kr = random::split(&random::PRNGKey(5), 6).expect("split");
    let w64 = nrm(&kr.at(0), &[64, 64]) * 0.1;
    let u64 = nrm(&kr.at(1), &[64, 32]) * 0.1;
    let xs1000 = nrm(&kr.at(2), &[1000, 32]);
    let a1e4 = jnp::abs(nrm(&kr.at(3), &[10_000])) * 100.0 + 0.01;
    let y0_64 = nrm(&kr.at(4), &[64]);
    let a128 = nrm(&kr.at(5), &[128, 128]) + jnp::eye(128, DType::F32) * 128.0;
    let b128 = nrm(&kr.at(0), &[128]);
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
        // Control flow (compiled loops, not unrolled) and linear algebra.
        measure(
            "scan_rnn_grad_T1000_h64",
            || jit(grad(rnn_loss).argnums((ARG0, ARG1))),
            (w64, u64, xs1000),
            samples,
        ),
        measure(
            "while_newton_sqrt_n1e4",
            || jit(vmap(newton_sqrt)),
            (a1e4,),
            samples,
        ),
        measure(
            "fori_rk4_grad_steps1000_n64",
            || jit(grad(rk4).argnums((ARG0, ARG1))),
            (y0_64, Array::from(0.7f32)),
            samples,
        ),
        measure(
            "solve_grad_n128",
            || jit(grad(solve_loss).argnums((ARG0, ARG1))),
            (a128, b128),
            samples,
        ),
    ];
    let figures: Vec<Figures> = figures.into_iter().flatten().collect();

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
