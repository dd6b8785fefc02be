//! Compile logging (`cranax::observe`): the records a logger receives for each compilation and
//! each cache miss (with its reason, as JAX's `explain_cache_misses`), the level compile
//! logging raises them to, `CRANAX_LOG_COMPILES` printing with no logger, and the per-compile
//! dump files. A capturing logger keeps each thread's records (every compile runs on the
//! calling thread), so the tests run in parallel without seeing each other's records. No
//! timings are asserted, only that each stage is reported.

use cranax::api::stages::ShapeDtypeStruct;
use cranax::numpy as jnp;
use cranax::observe::{self, CACHE_MISS_TARGET, COMPILE_TARGET};
use cranax::{grad, jit, Array, DType, Function, Static};
use std::cell::RefCell;
use std::sync::{Mutex, Once};

thread_local! {
    static RECORDS: RefCell<Vec<(String, log::Level, String)>> = const { RefCell::new(Vec::new()) };
}

/// Keeps every `cranax::` record in the logging thread's list.
struct Capture;

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.target().starts_with("cranax::")
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            RECORDS.with(|v| {
                v.borrow_mut()
                    .push((r.target().into(), r.level(), r.args().to_string()))
            });
        }
    }
    fn flush(&self) {}
}

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// The messages of this thread's records for `target` since the last call.
fn take(target: &str) -> Vec<String> {
    RECORDS.with(|v| {
        let mut v = v.borrow_mut();
        let (mine, rest) = std::mem::take(&mut *v)
            .into_iter()
            .partition::<Vec<_>, _>(|r| r.0 == target);
        *v = rest;
        mine.into_iter().map(|r| r.2).collect()
    })
}

/// Tests that change the process-wide compile-logging level run one at a time.
static LEVEL: Mutex<()> = Mutex::new(());

fn scale(x: &Array) -> Array {
    jnp::sin(x) * 2.0
}

fn f32s(n: usize) -> Array {
    Array::from_vec(vec![0.5f32; n], &[n]).unwrap()
}

#[test]
fn each_compile_is_one_record_with_every_stage() {
    install();
    let f = jit(scale);
    f.call((f32s(3),)).unwrap();
    let recs = take(COMPILE_TARGET);
    assert_eq!(recs.len(), 1, "{recs:?}");
    let r = &recs[0];
    assert!(r.starts_with("compiled `scale` for (f32[3]) in "), "{r}");
    for stage in [
        "tracing and transformations",
        "graph rewrites",
        "lowering",
        "Cranelift",
        "kernels",
        "bytes of code",
    ] {
        assert!(r.contains(stage), "{stage} missing from {r}");
    }
    // A cache hit compiles nothing and logs nothing.
    f.call((f32s(3),)).unwrap();
    assert!(take(COMPILE_TARGET).is_empty());
    assert!(
        take(CACHE_MISS_TARGET).len() == 1,
        "the first call's miss only"
    );
}

#[test]
fn cache_misses_name_the_argument_and_what_changed() {
    install();
    let f = jit(|x: &Array, y: &Array| x * y);
    f.call((f32s(3), f32s(3))).unwrap();
    let first = take(CACHE_MISS_TARGET);
    assert_eq!(first.len(), 1);
    assert!(first[0].contains("never seen the function"), "{first:?}");

    f.call((f32s(3), f32s(3).reshape(&[1, 3]))).unwrap();
    let m = take(CACHE_MISS_TARGET);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(
        m[0].starts_with("cache miss for `<lambda>` at (f32[3], f32[1,3])"),
        "{m:?}"
    );
    assert!(m[0].contains("has 1 mismatch:"), "{m:?}");
    assert!(
        m[0].contains("args[1]: shape changed: seen f32[3], but now given f32[1,3]"),
        "{m:?}"
    );

    let i32s = Array::from_slice(&[1i32, 2, 3]);
    f.call((i32s.clone(), i32s)).unwrap();
    let m = take(CACHE_MISS_TARGET).join("\n");
    assert!(m.contains("has 2 mismatches:"), "{m}");
    assert!(
        m.contains("args[0]: dtype changed: seen f32[3], but now given i32[3]"),
        "{m}"
    );

    // A weak-typed scalar (from a Rust literal) against a strong one.
    let g = jit(|x: &Array| x + 1.0);
    g.call((Array::scalar(1.0f32),)).unwrap();
    g.call((Array::weak_scalar(1.0, DType::F32),)).unwrap();
    let m = take(CACHE_MISS_TARGET).join("\n");
    assert!(
        m.contains("args[0]: weak type changed: seen f32[], but now given f32[] (weak)"),
        "{m}"
    );
}

#[test]
fn cache_misses_name_static_values_and_leaves_of_pytrees() {
    install();
    let f = jit(|xs: &Vec<Array>, n: &Static<i32>| &xs[0] * (n.0 as f64) + &xs[1]);
    f.call((vec![f32s(2), f32s(2)], Static(1))).unwrap();
    f.call((vec![f32s(2), f32s(2)], Static(2))).unwrap();
    f.call((vec![f32s(2), f32s(1)], Static(2))).unwrap();
    let m = take(CACHE_MISS_TARGET);
    assert_eq!(m.len(), 3, "{m:?}");
    assert!(
        // Static values are compared by `==` and shown by their hash (`T` need not be `Debug`).
        m[1].contains("args[1]: static value seen Static#")
            && m[1].contains("but now given Static#"),
        "{m:?}"
    );
    // Nearest is the `Static(2)` entry: only the leaf differs.
    assert!(m[2].contains("has 1 mismatch:"), "{m:?}");
    assert!(
        m[2].contains("args[0][1]: shape changed: seen f32[2], but now given f32[1]"),
        "{m:?}"
    );
    // A different pytree structure.
    f.call((vec![f32s(2), f32s(2), f32s(2)], Static(2)))
        .unwrap();
    let m = take(CACHE_MISS_TARGET).join("\n");
    assert!(
        m.contains("args[0]: pytree structure seen [*,*,], but now given [*,*,*,]"),
        "{m}"
    );
}

#[test]
fn cache_misses_after_evictions_say_so() {
    install();
    let f = jit(scale).with_capacity(1);
    f.call((f32s(1),)).unwrap();
    f.call((f32s(2),)).unwrap();
    f.call((f32s(1),)).unwrap();
    let m = take(CACHE_MISS_TARGET);
    assert_eq!(m.len(), 3);
    assert!(!m[1].contains("evicted"), "{m:?}");
    assert!(m[2].contains("1 signatures evicted so far"), "{m:?}");
}

#[test]
fn top_level_pjits_and_staged_compiles_are_logged() {
    install();
    // `grad(jit(f))` leaves a pjit that runs compiled through the process-wide cache.
    let g = grad(jit(|x: &Array| jnp::sum(&jnp::cos(x) * 7.25, None, false)));
    g.call((f32s(6),)).unwrap();
    let recs = take(COMPILE_TARGET);
    assert!(
        recs.iter().any(|r| r.starts_with("compiled `pjit` for ")),
        "{recs:?}"
    );

    let spec = ShapeDtypeStruct::new(&[2, 3], DType::F64);
    let lowered = jit(scale).lower((spec.into(),)).unwrap();
    assert!(take(COMPILE_TARGET).is_empty(), "lowering compiles nothing");
    lowered.compile().unwrap();
    let recs = take(COMPILE_TARGET);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert!(
        recs[0].starts_with("compiled `scale` for (f64[2,3]) in "),
        "{recs:?}"
    );
    assert!(recs[0].contains("tracing and transformations"), "{recs:?}");
}

#[test]
fn log_compiles_raises_the_level_to_warn() {
    install();
    let _serial = LEVEL.lock().unwrap_or_else(|e| e.into_inner());
    let level = |on: bool| {
        observe::set_log_compiles(on);
        RECORDS.with(|v| v.borrow_mut().clear());
        jit(scale).call((f32s(7),)).unwrap();
        let levels: Vec<log::Level> = RECORDS.with(|v| v.borrow().iter().map(|r| r.1).collect());
        assert_eq!(levels.len(), 2, "a miss and a compile");
        levels
    };
    assert_eq!(level(true), [log::Level::Warn; 2]);
    assert_eq!(level(false), [log::Level::Debug; 2]);
}

/// Run in a child process by `log_compiles_prints_without_a_logger` (no logger installed).
#[test]
#[ignore = "run by log_compiles_prints_without_a_logger in a child process"]
fn child_compiles_with_no_logger() {
    jit(scale).call((f32s(3),)).unwrap();
}

#[test]
fn log_compiles_prints_without_a_logger() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_compiles_with_no_logger", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env("CRANAX_LOG_COMPILES", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cranax: cache miss for `scale` at (f32[3]): never seen the function"),
        "{err}"
    );
    assert!(
        err.contains("cranax: compiled `scale` for (f32[3]) in "),
        "{err}"
    );
}

#[test]
fn dumps_write_one_file_set_per_compile() {
    install();
    let dir = std::env::temp_dir().join(format!("cranax-dump-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    observe::set_dump_dir(Some(&dir));
    fn dumped_fn(x: &Array) -> Array {
        jnp::exp(x) - 1.0
    }
    let f = jit(dumped_fn);
    f.call((f32s(4),)).unwrap();
    f.call((f32s(4),)).unwrap(); // a hit: no second dump
    f.call((f32s(5),)).unwrap();
    observe::set_dump_dir(None::<&str>);
    let mut stems: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("-dumped_fn."))
        .collect();
    stems.sort();
    let mut sets: Vec<(&str, Vec<&str>)> = Vec::new();
    for name in &stems {
        let (stem, ext) = name.split_once('.').unwrap();
        match sets.last_mut() {
            Some((s, exts)) if *s == stem => exts.push(ext),
            _ => sets.push((stem, vec![ext])),
        }
    }
    assert_eq!(sets.len(), 2, "two compiles: {stems:?}");
    for (_, exts) in &sets {
        assert_eq!(exts, &["asm", "bin", "clif", "jaxpr", "txt"]);
    }
    let read = |ext: &str| {
        let name = stems.iter().find(|n| n.ends_with(ext)).unwrap();
        std::fs::read(dir.join(name)).unwrap()
    };
    let jaxpr = String::from_utf8(read(".jaxpr")).unwrap();
    assert!(jaxpr.contains("exp") && jaxpr.contains("f32[4]"), "{jaxpr}");
    assert!(String::from_utf8(read(".clif"))
        .unwrap()
        .contains("function"));
    assert!(!read(".bin").is_empty());
    let txt = String::from_utf8(read(".txt")).unwrap();
    assert!(txt.starts_with("compiled `dumped_fn` for (f32[4])") && txt.contains("kernels:"));
    // The compile record names the files.
    let recs = take(COMPILE_TARGET);
    assert!(recs.iter().all(|r| r.contains("; dumped to ")), "{recs:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
