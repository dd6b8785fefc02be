//! The standard workloads of docs/BENCHMARKING.md, side by side with JAX's
//! (`benches/jax/jax_workloads.py`): first call of a freshly wrapped function (trace,
//! transform, compile, run), the median cached call, the peak memory (RSS) of a process that
//! runs only that workload (counted from when its inputs are made), and the minor page faults
//! per cached call. Each workload runs in a
//! child process of its own (this program again, with `CRANAX_WORKLOAD` naming it), so its
//! peak RSS is its own. A readable table; with `--json`, one JSON line per workload for
//! `benches/jax/compare.py` (which reads the time keys and ignores the others). `--quick`
//! takes fewer samples.
//!
//! `cargo bench --bench workloads -- --json`

use cranax::{grad, hessian, jit, vmap, Array, Function, ARG0, ARG1};
use std::hint::black_box;
use std::time::Instant;

#[path = "support/workloads.rs"]
mod defs;
use defs::*;

struct Figures {
    name: &'static str,
    first_call_us: f64,
    cached_us: f64,
    /// Minor page faults per cached call.
    faults_per_call: f64,
}

/// The workloads, in the order they run.
const WORKLOADS: [&str; 11] = [
    "grad_product_scalar",
    "seed_vmap_grad_tanh_n5",
    "vmap_grad_tanh_n1e6",
    "elementwise_chain_n1e6",
    "hessian_n100",
    "mlp_grad_b128",
    "eager_grad_product",
    "scan_rnn_grad_T1000_h64",
    "while_newton_sqrt_n1e4",
    "fori_rk4_grad_steps1000_n64",
    "solve_grad_n128",
];

/// The environment variable naming the one workload a child process runs.
const CHILD: &str = "CRANAX_WORKLOAD";

/// This process's minor page faults so far (Linux: field 10 of /proc/self/stat).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) is parenthesised and may hold spaces: count after it.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    rest.split_whitespace()
        .nth(7)
        .and_then(|f| f.parse().ok())
        .unwrap_or(0)
}

/// Restart the peak RSS count from the current RSS (Linux: `5` into /proc/self/clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident set size in MiB (Linux: VmHWM in /proc/self/status).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Wall time of the first call of a fresh `make()`, then the median per-call time over
/// batches of calls each lasting at least ~20 ms. A workload whose first call fails (a
/// feature not there yet) is reported on stderr and left out.
fn measure<Args, F>(
    name: &'static str,
    make: impl Fn() -> F,
    inputs: impl FnOnce() -> Args,
    samples: usize,
) -> Option<Figures>
where
    Args: cranax::pytree::ArgTuple,
    F: Function<Args>,
{
    if !wanted(name) {
        return None;
    }
    let args = inputs();
    // The peak counts from here: the workload with its inputs, not the making of them.
    reset_peak_rss();
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
    let faults = minor_faults();
    let mut per_call: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                black_box(f.call(args.clone()).expect("call"));
            }
            t.elapsed().as_secs_f64() / n as f64
        })
        .collect();
    let faults_per_call = (minor_faults() - faults) as f64 / (samples * n) as f64;
    per_call.sort_by(f64::total_cmp);
    Some(Figures {
        name,
        first_call_us: first * 1e6,
        cached_us: per_call[per_call.len() / 2] * 1e6,
        faults_per_call,
    })
}

/// Optional filter: `cargo bench --bench workloads -- rnn newton` runs only the workloads
/// whose names contain one of the words (as criterion filters). A child runs only its own.
fn wanted(name: &str) -> bool {
    if let Ok(child) = std::env::var(CHILD) {
        return name == child;
    }
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    words.is_empty() || words.iter().any(|w| name.contains(w.as_str()))
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if std::env::var(CHILD).is_err() {
        return parent(&argv);
    }
    let samples = if argv.iter().any(|a| a == "--quick") {
        3
    } else {
        9
    };

    // Inputs are made only for the workload that runs (they count in its peak RSS).
    // Start the engine once, outside every figure.
    black_box(
        jit(|v: &Array| v + 1.0)
            .call((Array::from(3.0f32),))
            .expect("warm-up"),
    );

    let figures = vec![
        measure(
            "grad_product_scalar",
            || jit(grad(product).argnums((ARG0, ARG1))),
            scalars,
            samples,
        ),
        measure(
            "seed_vmap_grad_tanh_n5",
            || jit(vmap(grad(activate))),
            || (normal(1234, &[5]),),
            samples,
        ),
        measure(
            "vmap_grad_tanh_n1e6",
            || jit(vmap(grad(activate))),
            || (normal(0, &[1_000_000]),),
            samples,
        ),
        measure(
            "elementwise_chain_n1e6",
            || jit(chain),
            || (normal(0, &[1_000_000]),),
            samples,
        ),
        measure(
            "hessian_n100",
            || jit(hessian(cubic_tanh)),
            || (normal(2, &[100]),),
            samples,
        ),
        measure("mlp_grad_b128", || jit(grad(mlp_loss)), mlp_inputs, samples),
        measure(
            "eager_grad_product",
            || grad(product).argnums((ARG0, ARG1)),
            scalars,
            samples,
        ),
        // Control flow (compiled loops, not unrolled) and linear algebra.
        measure(
            "scan_rnn_grad_T1000_h64",
            || jit(grad(rnn_loss).argnums((ARG0, ARG1))),
            rnn_inputs,
            samples,
        ),
        measure(
            "while_newton_sqrt_n1e4",
            || jit(vmap(newton_sqrt)),
            newton_inputs,
            samples,
        ),
        measure(
            "fori_rk4_grad_steps1000_n64",
            || jit(grad(rk4).argnums((ARG0, ARG1))),
            rk4_inputs,
            samples,
        ),
        measure(
            "solve_grad_n128",
            || jit(grad(solve_loss).argnums((ARG0, ARG1))),
            solve_inputs,
            samples,
        ),
    ];
    // The child's one line, read by the parent.
    for f in figures.into_iter().flatten() {
        println!(
            "{{\"workload\": \"{}\", \"first_call_us\": {:.3}, \"cached_us\": {:.3}, \
             \"peak_rss_mib\": {:.1}, \"faults_per_call\": {:.3}}}",
            f.name,
            f.first_call_us,
            f.cached_us,
            peak_rss_mib(),
            f.faults_per_call
        );
    }
}

/// Run each wanted workload in a child process; print the table (and the JSON lines).
fn parent(argv: &[String]) {
    let json = argv.iter().any(|a| a == "--json");
    let exe = std::env::current_exe().expect("the harness's own path");
    let mut lines = Vec::new();
    println!(
        "{:28} {:>16} {:>14} {:>14} {:>14}",
        "workload", "first call (us)", "cached (us)", "peak RSS (MiB)", "faults/call"
    );
    for name in WORKLOADS.iter().filter(|n| wanted(n)) {
        let out = std::process::Command::new(&exe)
            .args(&argv[1..])
            .env(CHILD, name)
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run a workload's child process");
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(line) = text.lines().find(|l| l.starts_with('{')) else {
            eprintln!("{name}: no figures ({})", out.status);
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(line).expect("the child's JSON line");
        let num = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "{:28} {:>16.1} {:>14.3} {:>14.1} {:>14.3}",
            name,
            num("first_call_us"),
            num("cached_us"),
            num("peak_rss_mib"),
            num("faults_per_call")
        );
        lines.push(line.to_string());
    }
    if json {
        for l in lines {
            println!("{l}");
        }
    }
}
