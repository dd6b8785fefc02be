//! Per-call overhead of a `Compiled` (issue 14's acceptance: `call_into` should cost the native
//! code's time plus under 50 ns): for a scalar function and a small vector function, the
//! native code alone (`call_unchecked`: raw pointers, no checks), `call_into` (borrowed slices,
//! checked, no allocation) and `call` (arrays in, arrays out, allocating).
//!
//! `cargo bench --bench stages` (criterion prints medians as the middle of each `time:` triple).

use cranax::api::stages::{ArgView, OutView};
use cranax::numpy as jnp;
use cranax::{jit, Array, DType, ShapeDtypeStruct};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn overhead(c: &mut Criterion) {
    // Scalar: x * y + sin(x), f64.
    let scalar = jit(|x: &Array, y: &Array| x * y + jnp::sin(x));
    let s = ShapeDtypeStruct::new(&[], DType::F64);
    let cs = scalar
        .lower((s.clone().into(), s.into()))
        .unwrap()
        .compile()
        .unwrap();
    let (x, y, mut out) = ([0.5f64], [1.5f64], [0.0f64]);
    let mut g = c.benchmark_group("call_overhead_scalar_f64");
    g.bench_function("native (call_unchecked)", |b| {
        b.iter(|| {
            let ins = [black_box(x.as_ptr()) as *const u8, y.as_ptr() as *const u8];
            let outs = [out.as_mut_ptr() as *mut u8];
            // SAFETY: one f64 per input and output, as compiled.
            unsafe { cs.call_unchecked(&ins, &outs) };
        })
    });
    g.bench_function("call_into", |b| {
        b.iter(|| {
            cs.call_into(
                &[black_box(&x).into(), (&y).into()],
                &mut [(&mut out).into()],
            )
            .unwrap()
        })
    });
    let (xa, ya) = (Array::scalar(0.5f64), Array::scalar(1.5f64));
    g.bench_function("call", |b| {
        b.iter(|| black_box(cs.call((xa.clone(), ya.clone())).unwrap()))
    });
    g.finish();

    // Small vector: tanh(x) * w + b on f32[16].
    let vector = jit(|x: &Array, w: &Array, b: &Array| jnp::tanh(x) * w + b);
    let v = ShapeDtypeStruct::new(&[16], DType::F32);
    let cv = vector
        .lower((v.clone().into(), v.clone().into(), v.into()))
        .unwrap()
        .compile()
        .unwrap();
    let xs: Vec<f32> = (0..16).map(|i| i as f32 * 0.1 - 0.8).collect();
    let (ws, bs, mut outv) = (vec![0.5f32; 16], vec![0.25f32; 16], vec![0.0f32; 16]);
    let mut g = c.benchmark_group("call_overhead_vector_f32x16");
    g.bench_function("native (call_unchecked)", |b| {
        b.iter(|| {
            let ins = [
                black_box(xs.as_ptr()) as *const u8,
                ws.as_ptr() as *const u8,
                bs.as_ptr() as *const u8,
            ];
            let outs = [outv.as_mut_ptr() as *mut u8];
            // SAFETY: 16 f32s per input and output, as compiled.
            unsafe { cv.call_unchecked(&ins, &outs) };
        })
    });
    g.bench_function("call_into", |b| {
        b.iter(|| {
            cv.call_into(
                &[
                    ArgView::from(black_box(&xs[..])),
                    ArgView::from(&ws[..]),
                    ArgView::from(&bs[..]),
                ],
                &mut [OutView::from(&mut outv[..])],
            )
            .unwrap()
        })
    });
    let (xa, wa, ba) = (
        Array::from_slice(&xs),
        Array::from_slice(&ws),
        Array::from_slice(&bs),
    );
    g.bench_function("call", |b| {
        b.iter(|| black_box(cv.call((xa.clone(), wa.clone(), ba.clone())).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
