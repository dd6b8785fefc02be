//! Linear algebra through cranax against faer called directly (issue 12): `cholesky` (the
//! primitive) and `jnp.linalg.solve(a, b)` (LU with partial pivoting, a vector right-hand side)
//! at n = 16, 128, 512, each a cached `jit` call next to the same factorisation by faer's own
//! API (`Mat::llt`, `Mat::partial_piv_lu().solve`, sequential as cranax's kernels are), so
//! the cost of going through cranax (argument checks, buffer copies into faer's column-major
//! layout, the permutation and triangular solves as separate calls) is visible.
//!
//! Criterion's throughput is set to the flop count (`n³/3` for Cholesky, `2n³/3 + 2n²` for
//! LU and the two triangular solves), so its `thrpt:` line reads in FLOP/s
//! (`Gelem/s` = GFLOP/s).
//!
//! `cargo bench --bench linalg`

use cranax::core::error::or_raise;
use cranax::numpy::linalg as la;
use cranax::{jit, lax, random, Array, DType, Function};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 3] = [16, 128, 512];

/// A random well-conditioned matrix (`x + n I`) and its SPD companion (`x xᵀ + n I`).
fn inputs(n: usize) -> (Array, Array, Array) {
    let key = random::PRNGKey(n as i64);
    let x = random::normal(&key, &[n, n], DType::F64).unwrap();
    let eye = cranax::numpy::eye(n, DType::F64) * n as f64;
    let a = &x + &eye;
    let spd = cranax::numpy::matmul(&x, cranax::numpy::transpose(&x, None)) + &eye;
    let b = random::normal(&random::split(&key, 2).unwrap().at(1), &[n], DType::F64).unwrap();
    (a, spd, b)
}

fn to_mat(x: &Array, n: usize) -> Mat<f64> {
    let v = x.to_vec::<f64>().unwrap();
    Mat::from_fn(n, n, |i, j| v[i * n + j])
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(3));
    g.warm_up_time(Duration::from_secs(1));
    g
}

fn cholesky(c: &mut Criterion) {
    let mut g = group(c, "cholesky");
    for n in SIZES {
        let (_, spd, _) = inputs(n);
        g.throughput(Throughput::Elements((n * n * n / 3) as u64));
        let f = jit(|a: &Array| or_raise(lax::cholesky(a)));
        f.call((spd.clone(),)).unwrap();
        g.bench_with_input(BenchmarkId::new("cranax_jit", n), &spd, |bch, a| {
            bch.iter(|| black_box(f.call((a.clone(),)).unwrap()))
        });
        let m = to_mat(&spd, n);
        g.bench_with_input(BenchmarkId::new("faer", n), &m, |bch, m| {
            bch.iter(|| black_box(m.llt(Side::Lower).unwrap()))
        });
    }
    g.finish();
}

fn solve(c: &mut Criterion) {
    let mut g = group(c, "solve");
    for n in SIZES {
        let (a, _, b) = inputs(n);
        g.throughput(Throughput::Elements((2 * n * n * n / 3 + 2 * n * n) as u64));
        let f = jit(|a: &Array, b: &Array| la::solve(a, b));
        f.call((a.clone(), b.clone())).unwrap();
        g.bench_with_input(
            BenchmarkId::new("cranax_jit", n),
            &(a.clone(), b.clone()),
            |bch, (a, b)| bch.iter(|| black_box(f.call((a.clone(), b.clone())).unwrap())),
        );
        let m = to_mat(&a, n);
        let bv = b.to_vec::<f64>().unwrap();
        let rhs = Mat::from_fn(n, 1, |i, _| bv[i]);
        g.bench_with_input(BenchmarkId::new("faer", n), &(m, rhs), |bch, (m, rhs)| {
            bch.iter(|| black_box(m.partial_piv_lu().solve(rhs)))
        });
    }
    g.finish();
}

criterion_group!(benches, cholesky, solve);
criterion_main!(benches);
