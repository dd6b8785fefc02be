//! The JIT's own costs (issue 5): the seed workload `jit(vmap(grad(tanh)))` on f32[5] as a first
//! call (trace, transform, compile, run with a fresh `jit` each iteration), as a cached call, and
//! eagerly; and compile time against jaxpr size (chains of 10, 100 and 1000 elementwise ops,
//! which should grow about linearly); and the compile time of a `scan` of 10 and of 10,000
//! steps (`control_compile`: a loop in the compiled code, so the two should be about equal);
//! and the cached call of every standard workload (`workloads`, the functions and inputs of
//! `benches/workloads.rs`), among them `grad_product_scalar`, the cached-call overhead of a
//! scalar function, guarding each against regressions (`cargo bench --bench jit -- workloads`);
//! and the MLP gradient's transposed products (`transposed_products`) and each of its
//! products, the threading threshold and the whole gradient (`mlp_products`); the small kernels
//! of a scan body (`scan_small_kernels`, issue 16): a 1000-step scan accumulating the outer
//! product `c + y xᵀ` on f32[64, 64], the row-by-row product `xᵀ W` (straight-line steps) and
//! an accumulated `dot_general` outer product (moved out of the loop),
//! and the compile time of the RNN workload's gradient (which straight-line steps enlarge);
//! and blocked loops (`blocked`: the large workloads' compile time, inline against blocked at
//! the threshold); and the hessian workload's first call, compile and cached call
//! (`hessian_n100`).
//!
//! `cargo bench --bench jit` (criterion prints medians as the middle of each `time:` triple).

use cranax::core::error::or_raise;
use cranax::transform::stage::trace_to_jaxpr;
use cranax::{backend, grad, jit, lax, vmap, Array, Aval, DType, Function};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;
use std::time::Duration;

#[path = "support/workloads.rs"]
mod defs;

fn tanh(x: &Array) -> Array {
    or_raise(lax::tanh(x))
}

fn seed_x() -> Array {
    Array::from_slice(&[0.9066547f32, -0.9453376, 0.08205657, -1.8436362, 0.45950902])
}

fn seed(c: &mut Criterion) {
    let x = seed_x();
    // Warm the one-time set-up (host ISA detection) outside the figures.
    jit(vmap(grad(tanh))).call((x.clone(),)).unwrap();
    let mut g = c.benchmark_group("seed_vmap_grad_tanh_n5");
    g.bench_function("first_call", |b| {
        b.iter(|| {
            let f = jit(vmap(grad(tanh)));
            black_box(f.call((x.clone(),)).unwrap())
        })
    });
    let f = jit(vmap(grad(tanh)));
    f.call((x.clone(),)).unwrap();
    g.bench_function("cached_call", |b| {
        b.iter(|| black_box(f.call((x.clone(),)).unwrap()))
    });
    let cj = cranax::make_jaxpr(vmap(grad(tanh)))
        .call((x.clone(),))
        .unwrap();
    let exe = backend::compile(&cj).unwrap();
    let args = [x.clone()];
    g.bench_function("executable_run", |b| {
        b.iter(|| black_box(exe.run(&args).unwrap()))
    });
    let eager = vmap(grad(tanh));
    g.bench_function("eager", |b| {
        b.iter(|| black_box(eager.call((x.clone(),)).unwrap()))
    });
    g.finish();
}

/// `n` elementwise ops on one f32[1000] input (cycling through cheap and mixed ops).
fn chain_jaxpr(n: usize) -> cranax::ClosedJaxpr {
    let f = move |a: &[Array]| -> cranax::Result<Vec<Array>> {
        let mut v = a[0].clone();
        for k in 0..n {
            v = match k % 5 {
                0 => lax::add(&v, &a[0])?,
                1 => lax::mul(&v, &lax::scalar_like(&v, 0.5))?,
                2 => lax::max(&v, &a[0])?,
                3 => lax::sub(&v, &lax::scalar_like(&v, 0.25))?,
                _ => lax::neg(&v)?,
            };
        }
        Ok(vec![v])
    };
    trace_to_jaxpr(&f, &[Aval::new([1000], DType::F32)]).unwrap()
}

fn compile_time(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile_chain");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(4));
    for n in [10usize, 100, 1000] {
        let cj = chain_jaxpr(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &cj, |b, cj| {
            b.iter(|| black_box(backend::compile(cj).unwrap()))
        });
    }
    g.finish();
}

/// A `scan` of `length` steps over a f32[1000] carry (an elementwise body and a ys row).
fn scan_jaxpr(length: usize) -> cranax::ClosedJaxpr {
    let f = move |a: &[Array]| -> cranax::Result<Vec<Array>> {
        let step = |c: &Array, _: &()| {
            let next = or_raise(lax::add(
                &or_raise(lax::mul(c, c)),
                &lax::scalar_like(c, 0.25),
            ));
            (next.clone(), or_raise(lax::neg(&next)))
        };
        let opts = lax::ScanOptions {
            length: Some(length),
            ..lax::ScanOptions::default()
        };
        let (c, ys) = lax::scan_with(step, a[0].clone(), (), opts)?;
        Ok(vec![c, ys])
    };
    trace_to_jaxpr(&f, &[Aval::new([1000], DType::F32)]).unwrap()
}

fn control_compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("control_compile");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(4));
    for n in [10usize, 10_000] {
        let cj = scan_jaxpr(n);
        g.bench_with_input(BenchmarkId::new("scan", n), &cj, |b, cj| {
            b.iter(|| black_box(backend::compile(cj).unwrap()))
        });
    }
    g.finish();
}

/// The cached call of each standard workload.
fn workloads(c: &mut Criterion) {
    use cranax::{hessian, ARG0, ARG1};
    use defs::*;
    fn cached<A: cranax::pytree::ArgTuple, F: Function<A>>(
        g: &mut criterion::BenchmarkGroup<criterion::measurement::WallTime>,
        name: &str,
        f: F,
        args: A,
    ) {
        f.call(args.clone()).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(f.call(args.clone()).unwrap()))
        });
    }
    let mut g = c.benchmark_group("workloads");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(2));
    let pair = (ARG0, ARG1);
    cached(
        &mut g,
        "grad_product_scalar",
        jit(grad(product).argnums(pair)),
        scalars(),
    );
    let x1m = (normal(0, &[1_000_000]),);
    cached(
        &mut g,
        "vmap_grad_tanh_n1e6",
        jit(vmap(grad(activate))),
        x1m.clone(),
    );
    cached(&mut g, "elementwise_chain_n1e6", jit(chain), x1m);
    let x100 = (normal(2, &[100]),);
    cached(&mut g, "hessian_n100", jit(hessian(cubic_tanh)), x100);
    cached(&mut g, "mlp_grad_b128", jit(grad(mlp_loss)), mlp_inputs());
    cached(
        &mut g,
        "eager_grad_product",
        grad(product).argnums(pair),
        scalars(),
    );
    let rnn = jit(grad(rnn_loss).argnums((ARG0, ARG1)));
    cached(&mut g, "scan_rnn_grad_T1000_h64", rnn, rnn_inputs());
    cached(
        &mut g,
        "while_newton_sqrt_n1e4",
        jit(vmap(newton_sqrt)),
        newton_inputs(),
    );
    let rk = jit(grad(rk4).argnums(pair));
    cached(&mut g, "fori_rk4_grad_steps1000_n64", rk, rk4_inputs());
    let solve = jit(grad(solve_loss).argnums(pair));
    cached(&mut g, "solve_grad_n128", solve, solve_inputs());
    g.finish();
}

/// Blocked loops (backend/emit/blocked.rs): the compile time of the two large workloads'
/// programs (no inline polynomial in their blocked kernels), and a run of `tanh` and of
/// `vmap(grad(tanh))` just below the blocking threshold (4095: the inline polynomial) and at
/// it (4096: the runtime's wide-vector kernels), per element the same work.
fn blocked(c: &mut Criterion) {
    use defs::*;
    let mut g = c.benchmark_group("blocked");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(2));
    let x1m = normal(0, &[1_000_000]);
    let programs = [
        (
            "compile_vmap_grad_tanh_n1e6",
            cranax::make_jaxpr(vmap(grad(activate))).call((x1m.clone(),)),
        ),
        (
            "compile_elementwise_chain_n1e6",
            cranax::make_jaxpr(chain).call((x1m,)),
        ),
    ];
    for (name, cj) in programs {
        let cj = cj.unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(backend::compile(&cj).unwrap()))
        });
    }
    for n in [4095usize, 4096] {
        let x = (normal(1, &[n]),);
        let t = jit(activate);
        t.call(x.clone()).unwrap();
        g.bench_with_input(BenchmarkId::new("tanh", n), &x, |b, x| {
            b.iter(|| black_box(t.call(x.clone()).unwrap()))
        });
        let dt = jit(vmap(grad(activate)));
        dt.call(x.clone()).unwrap();
        g.bench_with_input(BenchmarkId::new("vmap_grad_tanh", n), &x, |b, x| {
            b.iter(|| black_box(dt.call(x.clone()).unwrap()))
        });
    }
    g.finish();
}

/// The MLP gradient's two large products on their own: `dW1 = xᵀ g` (a transposed operand,
/// read in place) and `(gᵀ x)ᵀ` (a transposed result, computed as `xᵀ g`), guarding the strided
/// gemm path against a return of the transpose copies.
fn transposed_products(c: &mut Criterion) {
    let x = defs::normal(2, &[128, 784]);
    let grad_out = defs::normal(3, &[128, 256]);
    fn contract_rows() -> cranax::prims::DotGeneral {
        cranax::prims::DotGeneral::new(&[0], &[0], &[], &[])
    }
    let mut g = c.benchmark_group("transposed_products");
    g.sample_size(20);
    let xt_g = |x: &Array, g: &Array| or_raise(lax::dot_general(x, g, contract_rows()));
    let gt_x_t = |x: &Array, g: &Array| {
        let p = or_raise(lax::dot_general(g, x, contract_rows()));
        or_raise(lax::transpose(&p, &[1, 0]))
    };
    let args = (x, grad_out);
    type Product = fn(&Array, &Array) -> Array;
    let cases: [(&str, Product); 2] = [("xT_g_784x128x256", xt_g), ("gT_x_T_784x128x256", gt_x_t)];
    for (name, f) in cases {
        let f = jit(f);
        f.call(args.clone()).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(f.call(args.clone()).unwrap()))
        });
    }
    g.finish();
}

/// The MLP gradient's products one by one (issue 16), as cached jit calls on the workload's
/// own shapes: the forward `x @ W1` and the backward `xᵀ g` (the two large ones, faer's
/// kernels split between threads), and the three 10-wide ones (faer on one thread); then
/// square products at 2^20, 2^21 (the threading threshold) and 2^22 multiply-adds, the
/// threshold's guard; then the whole cached gradient.
fn mlp_products(c: &mut Criterion) {
    let mut g = c.benchmark_group("mlp_products");
    g.sample_size(20);
    fn dot(a: &Array, b: &Array, lc: usize, rc: usize) -> Array {
        let d = cranax::prims::DotGeneral::new(&[lc], &[rc], &[], &[]);
        or_raise(lax::dot_general(a, b, d))
    }
    type Product = fn(&Array, &Array) -> Array;
    let mm: Product = |a, b| dot(a, b, 1, 0);
    let at_b: Product = |a, b| dot(a, b, 0, 0);
    let a_bt: Product = |a, b| dot(a, b, 1, 1);
    let n = defs::normal;
    let cases: Vec<(&str, Product, Array, Array)> = vec![
        ("x_W1_128x784x256", mm, n(2, &[128, 784]), n(0, &[784, 256])),
        (
            "xT_g_784x128x256",
            at_b,
            n(2, &[128, 784]),
            n(3, &[128, 256]),
        ),
        ("h_W2_128x256x10", mm, n(4, &[128, 256]), n(1, &[256, 10])),
        ("hT_v_256x128x10", at_b, n(4, &[128, 256]), n(5, &[128, 10])),
        ("v_W2T_128x10x256", a_bt, n(5, &[128, 10]), n(1, &[256, 10])),
        ("square_2e20_102", mm, n(6, &[102, 102]), n(7, &[102, 102])),
        ("square_2e21_128", mm, n(6, &[128, 128]), n(7, &[128, 128])),
        ("square_2e22_161", mm, n(6, &[161, 161]), n(7, &[161, 161])),
    ];
    for (name, f, a, b) in cases {
        let f = jit(f);
        let args = (a, b);
        f.call(args.clone()).unwrap();
        g.bench_function(name, |bch| {
            bch.iter(|| black_box(f.call(args.clone()).unwrap()))
        });
    }
    let (p, x, y) = defs::mlp_inputs();
    let f = jit(grad(defs::mlp_loss));
    let args = (p, x, y);
    f.call(args.clone()).unwrap();
    g.bench_function("mlp_grad_b128", |bch| {
        bch.iter(|| black_box(f.call(args.clone()).unwrap()))
    });
    g.finish();
}

/// The small kernels of a scan body: cached calls of the straight-line steps' two shapes (an
/// outer-product accumulation, a transposed matrix-vector product), and the compile time of
/// the RNN gradient whose kernels they are.
fn scan_small_kernels(c: &mut Criterion) {
    use cranax::api::make_jaxpr;
    use cranax::{ARG0, ARG1};
    let mut g = c.benchmark_group("scan_small_kernels");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(2));
    let outer = |c0: &Array, xs: &Array| {
        let step = |c: &Array, x: &Array| {
            let y = or_raise(lax::broadcast_in_dim(x, &[64, 64], &[0]));
            let xr = or_raise(lax::broadcast_in_dim(x, &[64, 64], &[1]));
            (c + y * xr, ())
        };
        or_raise(lax::scan(step, c0.clone(), xs.clone())).0
    };
    let transposed = |w: &Array, xs: &Array| {
        let step = |h: &Array, x: &Array| {
            let p = or_raise(lax::dot_general(
                x,
                w,
                cranax::prims::DotGeneral::new(&[0], &[0], &[], &[]),
            ));
            (h + p, ())
        };
        let h0 = cranax::numpy::zeros(&[64], DType::F32);
        or_raise(lax::scan(step, h0, xs.clone())).0
    };
    // `c + dot_general(tanh(W x), x)` (an outer product): the accumulation leaves the loop
    // (backend/scan_invariants.rs, one product over the steps after it).
    let sunk = |w: &Array, xs: &Array| {
        let step = |c: &Array, x: &Array| {
            let g = tanh(&w.matmul(x));
            let p = or_raise(lax::dot_general(
                &g,
                x,
                cranax::prims::DotGeneral::new(&[], &[], &[], &[]),
            ));
            (c + p, ())
        };
        let c0 = cranax::numpy::zeros(&[64, 64], DType::F32);
        or_raise(lax::scan(step, c0, xs.clone())).0
    };
    let w = defs::normal(7, &[64, 64]);
    let xs = defs::normal(8, &[1000, 64]);
    type Kernel = fn(&Array, &Array) -> Array;
    let cases: [(&str, Kernel); 3] = [
        ("outer_accumulate_T1000_64x64", outer),
        ("transposed_matvec_T1000_64x64", transposed),
        ("sunk_dot_accumulate_T1000_64x64", sunk),
    ];
    for (name, f) in cases {
        let f = jit(f);
        let args = (w.clone(), xs.clone());
        f.call(args.clone()).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(f.call(args.clone()).unwrap()))
        });
    }
    let (w, u, xs) = defs::rnn_inputs();
    let cj = make_jaxpr(grad(defs::rnn_loss).argnums((ARG0, ARG1)))
        .call((w, u, xs))
        .unwrap();
    g.bench_function("compile_scan_rnn_grad_T1000_h64", |b| {
        b.iter(|| black_box(backend::compile(&cj).unwrap()))
    });
    g.finish();
}

/// The hessian workload (`hessian_n100`): its first call (trace, transform, compile, run, a
/// fresh `jit` each iteration), its compile alone, and its cached call, whose big loop selects
/// between two values per row (the identity basis is a two-valued constant).
fn hessian_n100(c: &mut Criterion) {
    use cranax::{hessian, make_jaxpr};
    let x = defs::normal(2, &[100]);
    let mut g = c.benchmark_group("hessian_n100");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(2));
    g.bench_function("first_call", |b| {
        b.iter(|| {
            let f = jit(hessian(defs::cubic_tanh));
            black_box(f.call((x.clone(),)).unwrap())
        })
    });
    let cj = make_jaxpr(hessian(defs::cubic_tanh))
        .call((x.clone(),))
        .unwrap();
    g.bench_function("compile", |b| {
        b.iter(|| black_box(backend::compile(&cj).unwrap()))
    });
    let f = jit(hessian(defs::cubic_tanh));
    f.call((x.clone(),)).unwrap();
    g.bench_function("cached_call", |b| {
        b.iter(|| black_box(f.call((x.clone(),)).unwrap()))
    });
    g.finish();
}

criterion_group!(
    benches,
    hessian_n100,
    seed,
    compile_time,
    control_compile,
    workloads,
    blocked,
    transposed_products,
    mlp_products,
    scan_small_kernels
);
criterion_main!(benches);
