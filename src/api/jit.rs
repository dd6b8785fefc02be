//! `jit(f)`: trace once per input signature, compile with the Cranelift backend, and run native
//! code on every later call with that signature. Under another transformation (grad, vmap,
//! make_jaxpr) a jitted function stages as a `pjit` call of its jaxpr.
//!
//! Seeing what was compiled: `Jit::stats()` counts hits, misses, compiles and compile time;
//! `CRANAX_LOG_COMPILES=1` logs each compilation with its signature and time. For a signature
//! seen before, `Jit::executable_for(&signature_of(&args))` gives the [`Executable`]:
//! `clif_ir()` is the Cranelift IR, `machine_code()` the x86-64 bytes (disassemble with
//! `objdump -D -b binary -mi386:x86-64 FILE`), and with `CRANAX_JIT_DISASM=1` set,
//! `disassembly()` is Cranelift's own listing.

use super::{bind_call, stage, Function};
use crate::array::Array;
use crate::backend::{self, Executable};
use crate::core::aval::Aval;
use crate::core::compiled_call;
use crate::core::error::Result;
use crate::core::trace;
use crate::ir::ClosedJaxpr;
use crate::prims::CallOp;
use crate::pytree::{ArgTuple, Pytree};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The cache key: pytree structure (with static values) and every leaf's shape, dtype and
/// weak type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    pub treedef: String,
    pub avals: Vec<Aval>,
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let avals: Vec<String> = self.avals.iter().map(|a| a.to_string()).collect();
        write!(f, "({})", avals.join(", "))
    }
}

/// Per-function cache statistics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheStats {
    /// Calls that found compiled code for their signature.
    pub hits: u64,
    /// Calls that did not (each traces and compiles).
    pub misses: u64,
    /// Compilations done.
    pub compiles: u64,
    /// Total time spent tracing and compiling.
    pub compile_time: Duration,
    /// Signatures currently cached.
    pub entries: usize,
    /// Entries dropped to respect the bound.
    pub evictions: u64,
}

struct Entry<Out> {
    jaxpr: ClosedJaxpr,
    exe: Arc<Executable>,
    out: Out,
    last_used: u64,
}

struct Cache<Out> {
    entries: HashMap<Signature, Entry<Out>>,
    stats: CacheStats,
    clock: u64,
}

/// Most signatures a jitted function keeps compiled (least recently used evicted first).
pub const DEFAULT_CACHE_CAPACITY: usize = 64;

/// `jit(f)`: compile `f` for each new input signature.
pub fn jit<Args, F>(f: F) -> Jit<F, F::Output>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    compiled_call::install(run_pjit);
    Jit {
        f,
        cache: Arc::new(Mutex::new(Cache {
            entries: HashMap::new(),
            stats: CacheStats::default(),
            clock: 0,
        })),
        capacity: DEFAULT_CACHE_CAPACITY,
    }
}

pub struct Jit<F, Out> {
    f: F,
    cache: Arc<Mutex<Cache<Out>>>,
    capacity: usize,
}

impl<F: Clone, Out> Clone for Jit<F, Out> {
    /// Clones share the cache.
    fn clone(&self) -> Self {
        Jit {
            f: self.f.clone(),
            cache: self.cache.clone(),
            capacity: self.capacity,
        }
    }
}

impl<F, Out: Pytree> Jit<F, Out> {
    pub fn stats(&self) -> CacheStats {
        let c = self.cache.lock().expect("jit cache lock");
        CacheStats {
            entries: c.entries.len(),
            ..c.stats.clone()
        }
    }

    /// Drop every compiled signature (their code is freed once no call is running it).
    pub fn clear_cache(&self) {
        self.cache.lock().expect("jit cache lock").entries.clear();
    }

    /// Keep at most `n` signatures compiled.
    pub fn with_capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// The jaxpr compiled for a signature seen before (for inspection).
    pub fn jaxpr_for(&self, sig: &Signature) -> Option<ClosedJaxpr> {
        self.cache
            .lock()
            .expect("jit cache lock")
            .entries
            .get(sig)
            .map(|e| e.jaxpr.clone())
    }

    /// The compiled code for a signature seen before: Cranelift IR and machine code.
    pub fn executable_for(&self, sig: &Signature) -> Option<Arc<Executable>> {
        self.cache
            .lock()
            .expect("jit cache lock")
            .entries
            .get(sig)
            .map(|e| e.exe.clone())
    }
}

/// The process-wide cache of `pjit`s evaluated outside any trace (what `grad(jit(f))`,
/// `vmap(jit(f))` and nested jits leave at top level), keyed by the jaxpr itself: it fixes the
/// input types. Least recently used entries are evicted beyond `DEFAULT_CACHE_CAPACITY`.
struct PjitCache {
    entries: Vec<(ClosedJaxpr, Arc<Executable>, u64)>,
    stats: CacheStats,
    clock: u64,
}

static PJIT_CACHE: Mutex<PjitCache> = Mutex::new(PjitCache {
    entries: Vec::new(),
    stats: CacheStats {
        hits: 0,
        misses: 0,
        compiles: 0,
        compile_time: Duration::ZERO,
        entries: 0,
        evictions: 0,
    },
    clock: 0,
});

/// Statistics of the process-wide `pjit` cache (see `run_pjit`).
pub fn pjit_cache_stats() -> CacheStats {
    let c = PJIT_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    CacheStats {
        entries: c.entries.len(),
        ..c.stats.clone()
    }
}

/// Run a `pjit` evaluated outside any trace: compiled once per jaxpr, native code afterwards.
/// A jaxpr the backend cannot compile (a `custom_lin` inside) runs through the interpreter.
fn run_pjit(jaxpr: &ClosedJaxpr, args: &[Array]) -> Result<Vec<Array>> {
    let found = {
        let mut c = PJIT_CACHE.lock().unwrap_or_else(|e| e.into_inner());
        c.clock += 1;
        let now = c.clock;
        let hit = c
            .entries
            .iter_mut()
            .find(|(j, _, _)| j.same_as(jaxpr))
            .map(|e| {
                e.2 = now;
                e.1.clone()
            });
        match hit {
            Some(_) => c.stats.hits += 1,
            None => c.stats.misses += 1,
        }
        hit
    };
    let exe = match found {
        Some(exe) => exe,
        None => {
            let start = Instant::now();
            let exe = match backend::compile(jaxpr) {
                Ok(exe) => exe,
                Err(_) => return crate::ir::eval::eval_closed(jaxpr, args),
            };
            let mut c = PJIT_CACHE.lock().unwrap_or_else(|e| e.into_inner());
            c.stats.compiles += 1;
            c.stats.compile_time += start.elapsed();
            if c.entries.len() >= DEFAULT_CACHE_CAPACITY {
                if let Some(oldest) = (0..c.entries.len()).min_by_key(|&i| c.entries[i].2) {
                    c.entries.swap_remove(oldest);
                    c.stats.evictions += 1;
                }
            }
            let now = c.clock;
            c.entries.push((jaxpr.clone(), exe.clone(), now));
            exe
        }
    };
    exe.run(args)
}

/// The signature of a call.
pub fn signature_of<Args: Pytree>(args: &Args) -> Signature {
    let mut treedef = String::new();
    args.treedef(&mut treedef);
    Signature {
        treedef,
        avals: args.leaves().iter().map(|a| a.aval().clone()).collect(),
    }
}

fn log_compiles() -> bool {
    static FLAG: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FLAG.get_or_init(|| {
        std::env::var("CRANAX_LOG_COMPILES").is_ok_and(|v| !v.is_empty() && v != "0")
    })
}

impl<Args, F> Function<Args> for Jit<F, F::Output>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    type Output = F::Output;

    fn call(&self, args: Args) -> Result<F::Output> {
        let leaves = args.leaves();
        let staged = trace::current().is_some() || leaves.iter().any(|l| !l.is_concrete());
        let sig = signature_of(&args);
        if staged {
            // Under a transformation: a pjit call of the traced jaxpr.
            return bind_call(&self.f, args, |jaxpr| CallOp::Pjit {
                name: self.f.name(),
                jaxpr,
            });
        }
        let found = {
            let mut c = self.cache.lock().expect("jit cache lock");
            c.clock += 1;
            let now = c.clock;
            match c.entries.get_mut(&sig) {
                Some(e) => {
                    e.last_used = now;
                    let r = (e.exe.clone(), e.out.clone());
                    c.stats.hits += 1;
                    Some(r)
                }
                None => {
                    c.stats.misses += 1;
                    None
                }
            }
        };
        let (exe, template) = match found {
            Some(found) => found,
            None => {
                let start = Instant::now();
                let (jaxpr, template) = stage(&self.f, &args, &sig.avals)?;
                let exe = backend::compile(&jaxpr)?;
                let placeholder = template.rebuild(
                    jaxpr
                        .out_avals()
                        .iter()
                        .map(|a| Array::zeros(&[], a.dtype))
                        .collect(),
                )?;
                let elapsed = start.elapsed();
                if log_compiles() {
                    eprintln!(
                        "cranax: compiling {} for signature {} took {:.3} ms",
                        self.f.name(),
                        sig,
                        elapsed.as_secs_f64() * 1e3
                    );
                }
                let mut c = self.cache.lock().expect("jit cache lock");
                c.stats.compiles += 1;
                c.stats.compile_time += elapsed;
                if c.entries.len() >= self.capacity {
                    if let Some(oldest) = c
                        .entries
                        .iter()
                        .min_by_key(|(_, e)| e.last_used)
                        .map(|(k, _)| k.clone())
                    {
                        c.entries.remove(&oldest);
                        c.stats.evictions += 1;
                    }
                }
                let now = c.clock;
                c.entries.insert(
                    sig.clone(),
                    Entry {
                        jaxpr,
                        exe: exe.clone(),
                        out: placeholder.clone(),
                        last_used: now,
                    },
                );
                (exe, placeholder)
            }
        };
        let outs = exe.run(&leaves)?;
        template.rebuild(outs)
    }

    fn name(&self) -> String {
        self.f.name()
    }
}
