//! `Compiled::call_into` allocates nothing (issue 14's acceptance): a counting global
//! allocator (this test binary's own) sees zero allocations over 1e6 calls of a scalar
//! function in a plain loop, and over many calls of a function of several kernels (softmax
//! cross-entropy and its gradient: reductions, broadcasts, scratch) and of one with control flow.
//! And an eager op on scalars allocates one block, its result's (the element is held inline).

use cranax::api::stages::{ArgView, OutView};
use cranax::core::error::or_raise;
use cranax::numpy as jnp;
use cranax::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations on each thread that enabled counting (the tests run in parallel, each
/// counting its own).
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            ALLOCS.with(|n| n.set(n.get() + 1));
            // Where an allocation comes from, when debugging (not counted: counting is off).
            c.set(false);
            if std::env::var_os("CRANAX_ALLOC_BACKTRACE").is_some() {
                eprintln!("{}", std::backtrace::Backtrace::force_capture());
            }
            c.set(true);
        }
    });
}

// SAFETY: every method forwards to the system allocator unchanged; counting touches only
// const-initialised thread-locals (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as the caller of `alloc` promises.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller of `dealloc` promises.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as the caller of `realloc` promises.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.with(|n| n.get());
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(|n| n.get()) - before
}

#[test]
fn an_eager_scalar_op_allocates_only_its_result() {
    let (x, y) = (Array::scalar(3.0f32), Array::scalar(4.0f32));
    let n = allocations(|| drop(std::hint::black_box(lax::mul(&x, &y).unwrap())));
    assert_eq!(n, 1);
}

#[test]
fn the_counter_sees_allocations() {
    // The guard of the tests below: an allocation inside the counted region is counted.
    let n = allocations(|| drop(std::hint::black_box(vec![1u8; 10])));
    assert_eq!(n, 1);
    // And an ordinary `call` allocates (its output arrays at least).
    let f = jit(|x: &Array| x * 2.0);
    let c = f
        .lower((Array::scalar(1.0f32),))
        .unwrap()
        .compile()
        .unwrap();
    let x = Array::scalar(1.0f32);
    c.call((x.clone(),)).unwrap();
    assert!(allocations(|| drop(c.call((x.clone(),)).unwrap())) > 0);
}

#[test]
fn a_million_scalar_calls_allocate_nothing() {
    let f = jit(|x: &Array, y: &Array| x * y + jnp::sin(x));
    let c = f
        .lower((
            ShapeDtypeStruct::new(&[], DType::F64).into(),
            ShapeDtypeStruct::new(&[], DType::F64).into(),
        ))
        .unwrap()
        .compile()
        .unwrap();
    let (mut x, y, mut out) = ([0.5f64], [1.5f64], [0.0f64]);
    let mut sum = 0.0;
    let n = allocations(|| {
        for i in 0..1_000_000 {
            x[0] = i as f64 * 1e-6;
            c.call_into(&[(&x).into(), (&y).into()], &mut [(&mut out).into()])
                .unwrap();
            sum += out[0];
        }
    });
    assert_eq!(n, 0, "allocations in 1e6 calls");
    // The loop computed something: sum of x*1.5 + sin(x) over x in [0, 1).
    let want: f64 = (0..1_000_000)
        .map(|i| {
            let x = i as f64 * 1e-6;
            x * 1.5 + x.sin()
        })
        .sum();
    assert!((sum - want).abs() <= 1e-9 * want, "{sum} vs {want}");
}

/// Softmax cross-entropy of logits `z = x * w + b` against one-hot targets: reductions along
/// both axes, broadcasts, exp/log, and its gradient; no dot products (the gemm crate
/// allocates its packing buffers inside each product, so matmuls are not allocation-free).
fn xent(w: &Array, b: &Array, x: &Array, t: &Array) -> Array {
    let z = x * w + b;
    let logp = cranax::nn::log_softmax(&z, -1);
    -(jnp::sum(&logp * t, None, false)) / (x.shape()[0] as f32)
}

#[test]
fn a_function_of_several_kernels_and_scratch_allocates_nothing() {
    let f = jit(value_and_grad(xent).argnums((ARG0, ARG1)));
    let s = |shape: &[usize]| -> Array { ShapeDtypeStruct::new(shape, DType::F32).into() };
    let c = f
        .lower((s(&[10]), s(&[10]), s(&[32, 10]), s(&[32, 10])))
        .unwrap()
        .compile()
        .unwrap();
    assert!(c.cost_analysis().kernels >= 4, "{}", c.kernels_summary());
    assert!(c.cost_analysis().scratch_bytes > 0, "uses scratch buffers");
    let ins: Vec<Vec<f32>> = c
        .in_avals()
        .iter()
        .enumerate()
        .map(|(k, a)| {
            (0..a.size())
                .map(|i| ((i + k) as f32 * 0.1).sin())
                .collect()
        })
        .collect();
    let mut outs: Vec<Vec<f32>> = c.out_avals().iter().map(|a| vec![0.0; a.size()]).collect();
    let views: Vec<ArgView> = ins.iter().map(|v| ArgView::from(&v[..])).collect();
    let mut out_views: Vec<OutView> = outs.iter_mut().map(|v| OutView::from(&mut v[..])).collect();
    // The first call on this thread grows its scratch.
    c.call_into(&views, &mut out_views).unwrap();
    let n = allocations(|| {
        for _ in 0..10_000 {
            c.call_into(&views, &mut out_views).unwrap();
        }
    });
    assert_eq!(n, 0, "allocations in 1e4 calls");
    drop(out_views);
    let want = c
        .call((
            Array::from_slice(&ins[0]),
            Array::from_slice(&ins[1]),
            Array::from_vec(ins[2].clone(), &[32, 10]).unwrap(),
            Array::from_vec(ins[3].clone(), &[32, 10]).unwrap(),
        ))
        .unwrap();
    assert_eq!(outs[0], want.0.to_vec::<f32>().unwrap());
    assert_eq!(outs[1], want.1 .0.to_vec::<f32>().unwrap());
}

#[test]
fn a_function_with_control_flow_allocates_nothing() {
    let f = jit(|a: &Array| -> Array {
        let (r, _) = or_raise(while_loop(
            |c: &(Array, Array)| jnp::less(&c.1, 20i32),
            |c: &(Array, Array)| ((&c.0 + a / &c.0) * 0.5, &c.1 + Array::scalar(1i32)),
            (a.clone(), Array::scalar(0i32)),
        ));
        r
    });
    let c = f
        .lower((ShapeDtypeStruct::new(&[64], DType::F32).into(),))
        .unwrap()
        .compile()
        .unwrap();
    let a: Vec<f32> = (1..=64).map(|i| i as f32).collect();
    let mut r = vec![0.0f32; 64];
    c.call_into(&[(&a[..]).into()], &mut [(&mut r[..]).into()])
        .unwrap();
    let n = allocations(|| {
        for _ in 0..10_000 {
            c.call_into(&[(&a[..]).into()], &mut [(&mut r[..]).into()])
                .unwrap();
        }
    });
    assert_eq!(n, 0, "allocations in 1e4 calls");
    assert!((r[3] - 2.0).abs() < 1e-6, "sqrt(4) = {}", r[3]);
}
