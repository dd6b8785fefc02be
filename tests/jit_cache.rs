//! The jit caches' policy and the life of compiled code: least-recently-used eviction, the
//! default capacity, code that is really released when evicted or dropped, and the
//! process-wide cache through which the `pjit`s that `grad(jit(f))` and `vmap(jit(f))` leave at
//! top level run compiled.
//!
//! These tests read process-wide figures (`backend::live_executables()`, the mapped size of the
//! process), so they run one at a time under `SERIAL` and nothing else in this binary compiles.

use cranax::api::jit::{pjit_cache_stats, DEFAULT_CACHE_CAPACITY};
use cranax::{backend, grad, jit, make_jaxpr, numpy as jnp, vmap, Array, Function};
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn tanh(x: &Array) -> Array {
    jnp::tanh(x)
}

/// An f32 vector of length `n`: each length is its own signature.
fn sig(n: usize) -> (Array,) {
    (Array::from_vec(vec![0.5f32; n], &[n]).unwrap(),)
}

#[test]
fn eviction_is_least_recently_used() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let f = jit(tanh).with_capacity(3);
    for n in [1, 2, 3] {
        f.call(sig(n)).unwrap();
    }
    f.call(sig(1)).unwrap(); // 1 is now the most recently used; 2 the least.
    f.call(sig(4)).unwrap(); // evicts 2
    let s = f.stats();
    assert_eq!(
        (s.misses, s.hits, s.evictions, s.entries),
        (4, 1, 1, 3),
        "{s:?}"
    );
    f.call(sig(1)).unwrap();
    f.call(sig(3)).unwrap();
    f.call(sig(4)).unwrap();
    assert_eq!(f.stats().hits, 4, "1, 3 and 4 stay cached: {:?}", f.stats());
    f.call(sig(2)).unwrap();
    let s = f.stats();
    assert_eq!((s.misses, s.evictions), (5, 2), "2 was evicted: {s:?}");
}

#[test]
fn default_capacity_holds_64_signatures_then_evicts_the_oldest() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(DEFAULT_CACHE_CAPACITY, 64);
    let f = jit(tanh);
    for n in 1..=DEFAULT_CACHE_CAPACITY {
        f.call(sig(n)).unwrap();
    }
    let s = f.stats();
    assert_eq!((s.entries, s.evictions), (64, 0), "{s:?}");
    f.call(sig(65)).unwrap();
    let s = f.stats();
    assert_eq!((s.entries, s.evictions), (64, 1), "{s:?}");
    f.call(sig(2)).unwrap();
    assert_eq!(
        f.stats().hits,
        1,
        "the second-oldest stays: {:?}",
        f.stats()
    );
    f.call(sig(1)).unwrap();
    assert_eq!(
        f.stats().misses,
        66,
        "the oldest was evicted: {:?}",
        f.stats()
    );
}

#[test]
fn evicted_and_dropped_code_is_released() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = backend::live_executables();
    {
        let f = jit(tanh).with_capacity(4);
        for n in 1..=50 {
            f.call(sig(n)).unwrap();
            assert!(
                backend::live_executables() <= before + 4,
                "evicted code is still live"
            );
        }
        assert_eq!(backend::live_executables(), before + 4);
        let g = jit(tanh);
        g.call(sig(3)).unwrap();
        assert_eq!(backend::live_executables(), before + 5);
        drop(g);
        assert_eq!(backend::live_executables(), before + 4);
        f.clear_cache();
        assert_eq!(backend::live_executables(), before);
        f.call(sig(7)).unwrap();
    }
    assert_eq!(
        backend::live_executables(),
        before,
        "a dropped jit releases its code"
    );
}

/// The process's mapped size in bytes (Linux: /proc/self/statm, pages).
#[cfg(target_os = "linux")]
fn mapped_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().next().unwrap().parse().unwrap();
    pages * 4096
}

/// The process's resident size in bytes (Linux: /proc/self/statm, pages).
#[cfg(target_os = "linux")]
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[cfg(target_os = "linux")]
#[test]
fn ten_thousand_signatures_through_one_jit_keep_memory_flat() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The default capacity: 64 executables stay cached, every other one is evicted and freed.
    let f = jit(tanh);
    let warm_up = 500;
    for n in 1..=warm_up {
        f.call(sig(n)).unwrap();
    }
    let (mapped, resident) = (mapped_bytes(), resident_bytes());
    let compiles = 10_000;
    for n in warm_up + 1..=warm_up + compiles {
        f.call(sig(n)).unwrap();
    }
    assert_eq!(f.stats().entries, 64);
    let mapped_growth = mapped_bytes().saturating_sub(mapped);
    let resident_growth = resident_bytes().saturating_sub(resident);
    // Each executable maps at least one page of code: kept alive or never unmapped, 10,000 of
    // them would add at least 40 MB. The cached inputs differ in size, so allow some heap drift.
    assert!(
        mapped_growth < 8 << 20 && resident_growth < 8 << 20,
        "over {compiles} compiles mapped memory grew by {mapped_growth} bytes, resident by \
         {resident_growth}"
    );
}

#[test]
fn one_compiled_function_called_from_8_threads_with_mixed_signatures() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let f = jit(|x: &Array| jnp::tanh(x) * x + 1.0f32).with_capacity(4);
    let sizes = [1usize, 3, 4, 5, 8, 17, 64, 1000];
    let input = |n: usize| {
        let data: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        Array::from_vec(data, &[n]).unwrap()
    };
    // One thread's answers are the reference.
    let want: Vec<Vec<f32>> = sizes
        .iter()
        .map(|&n| f.call((input(n),)).unwrap().to_vec::<f32>().unwrap())
        .collect();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (f, want, sizes) = (&f, &want, &sizes);
            s.spawn(move || {
                for round in 0..40 {
                    // Each thread walks the signatures in its own order, so the cache (capacity
                    // 4 of 8 signatures) evicts and recompiles while others run.
                    let k = (t * 3 + round * 5) % sizes.len();
                    let got = f.call((input(sizes[k]),)).unwrap().to_vec::<f32>().unwrap();
                    assert_eq!(got, want[k], "thread {t}, size {}", sizes[k]);
                }
            });
        }
    });
    assert!(f.stats().evictions > 0, "{:?}", f.stats());
}

fn close(a: &Array, b: &Array) -> bool {
    let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    a.len() == b.len()
        && a.iter()
            .zip(&b)
            .all(|(x, y)| (x - y).abs() <= 1e-6 * y.abs().max(1.0))
}

#[test]
fn grad_and_vmap_of_jit_at_top_level_run_compiled_pjits() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let loss = |x: &Array| jnp::sum(jnp::tanh(x) * x, None, false);
    let x = Array::from_slice(&[0.5f32, -1.0, 2.0]);
    let want = grad(loss).call((x.clone(),)).unwrap();

    // grad(jit(f)): the primal pjit and the transposed tangent pjit both compile, once.
    let f = jit(loss);
    let jaxpr = make_jaxpr(grad(f.clone()))
        .call((x.clone(),))
        .unwrap()
        .to_string();
    assert!(
        jaxpr.contains("pjit[") && jaxpr.contains("transpose(jvp("),
        "{jaxpr}"
    );
    let before = pjit_cache_stats();
    let got = grad(f.clone()).call((x.clone(),)).unwrap();
    let first = pjit_cache_stats();
    assert!(close(&got, &want), "{got} vs {want}");
    assert!(
        first.compiles >= before.compiles + 2,
        "{before:?} -> {first:?}"
    );
    let again = grad(f).call((x.clone(),)).unwrap();
    let second = pjit_cache_stats();
    assert_eq!(again.to_vec::<f32>().unwrap(), got.to_vec::<f32>().unwrap());
    assert_eq!(
        second.compiles, first.compiles,
        "the second call reuses the compiled code"
    );
    assert!(second.hits >= first.hits + 2, "{first:?} -> {second:?}");

    // vmap(jit(f)): a pjit of the batched jaxpr.
    let rows = Array::from_vec((0..12).map(|i| i as f32 * 0.25 - 1.0).collect(), &[4, 3]).unwrap();
    let per_row = vmap(jit(loss)).call((rows.clone(),)).unwrap();
    let plain = vmap(loss).call((rows,)).unwrap();
    assert!(close(&per_row, &plain), "{per_row} vs {plain}");
    assert!(pjit_cache_stats().compiles > second.compiles);
}
