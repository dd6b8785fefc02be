//! `jit(f)`: trace once per input signature, compile with the Cranelift backend, and run native
//! code on every later call with that signature. Under another transformation (grad, vmap,
//! make_jaxpr) a jitted function stages as a `pjit` call of its jaxpr.
//!
//! Seeing what was compiled: `Jit::stats()` counts hits, misses, compiles and compile time;
//! each compilation and each cache miss (with its reason) is a `log` record, with the time of
//! each stage (see [`crate::observe`]; `CRANAX_LOG_COMPILES=1` prints them with no logger,
//! `CRANAX_DUMP_DIR=dir` writes every compiled program's jaxpr, CLIF and machine code there).
//! For a signature seen before, `Jit::executable_for(&signature_of(&args))` gives the [`Executable`]:
//! `clif_ir()` is the Cranelift IR, `machine_code()` the x86-64 bytes (disassemble with
//! `objdump -D -b binary -mi386:x86-64 FILE`), and with `CRANAX_JIT_DISASM=1` set,
//! `disassembly()` is Cranelift's own listing.

use super::{bind_call, give_list, stage, take_list, Function};
use crate::array::Array;
use crate::backend::{self, Executable};
use crate::core::aval::Aval;
use crate::core::compiled_call;
use crate::core::error::Result;
use crate::core::trace;
use crate::ir::ClosedJaxpr;
use crate::observe;
use crate::prims::CallOp;
use crate::pytree::{treedef_and_statics, ArgTuple, Pytree, StaticValue};
use std::cell::Cell;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The cache key: pytree structure (with static values) and every leaf's shape, dtype and
/// weak type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The pytree structure of the arguments (see [`Pytree::treedef`]).
    pub treedef: String,
    /// The static values met in it, in order (compared by `==`).
    pub statics: Vec<StaticValue>,
    /// Each leaf's shape, dtype and weak type.
    pub avals: Vec<Aval>,
    /// The global switches at trace time ([`crate::config::trace_context`]).
    pub trace_context: u32,
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

/// What a jitted function keeps per signature.
struct Entry<Out> {
    jaxpr: ClosedJaxpr,
    exe: Arc<Executable>,
    out: Out,
}

/// A bounded cache with its statistics: entries found by a key predicate, the least recently
/// used evicted beyond the capacity. Serves each `Jit` (keyed by signature) and the
/// process-wide pjit cache (keyed by jaxpr structure, which has no hash).
struct Lru<K, V> {
    /// `(key, value, last use)`.
    entries: Vec<(K, V, u64)>,
    stats: CacheStats,
    clock: u64,
}

impl<K, V: Clone> Lru<K, V> {
    const fn new() -> Self {
        Lru {
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
        }
    }

    /// The value whose key `matches`, counted as a hit (and marked used) or a miss.
    fn lookup(&mut self, matches: impl Fn(&K) -> bool) -> Option<V> {
        self.clock += 1;
        let now = self.clock;
        let hit = self.entries.iter_mut().find(|e| matches(&e.0)).map(|e| {
            e.2 = now;
            e.1.clone()
        });
        match hit {
            Some(_) => self.stats.hits += 1,
            None => self.stats.misses += 1,
        }
        hit
    }

    /// The value whose key `matches`, for inspection (not counted, not marked used).
    fn peek(&self, matches: impl Fn(&K) -> bool) -> Option<&V> {
        self.entries.iter().find(|e| matches(&e.0)).map(|e| &e.1)
    }

    /// Add a freshly compiled entry, evicting the least recently used beyond `capacity`.
    fn insert(&mut self, key: K, value: V, capacity: usize, compile_time: Duration) {
        self.stats.compiles += 1;
        self.stats.compile_time += compile_time;
        if self.entries.len() >= capacity {
            if let Some(oldest) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].2) {
                self.entries.swap_remove(oldest);
                self.stats.evictions += 1;
            }
        }
        self.entries.push((key, value, self.clock));
    }

    fn stats(&self) -> CacheStats {
        CacheStats {
            entries: self.entries.len(),
            ..self.stats.clone()
        }
    }
}

/// Most signatures a jitted function keeps compiled (least recently used evicted first).
pub const DEFAULT_CACHE_CAPACITY: usize = 64;

/// The one-time start of what compiled code runs on, done when the first `jit` is made
/// rather than inside the first call that needs it (as JAX's backend starts before its first
/// compile): the worker pool that runs large kernels in chunks (0.2-0.4 ms to start its
/// threads, which otherwise landed in the first call on a large array).
fn start_engine() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        cranax_runtime::num_threads();
    });
}

/// `jit(f)`: compile `f` for each new input signature.
pub fn jit<Args, F>(f: F) -> Jit<F, F::Output>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    compiled_call::install(run_pjit);
    start_engine();
    Jit {
        f,
        cache: Arc::new(Mutex::new(Lru::new())),
        capacity: DEFAULT_CACHE_CAPACITY,
    }
}

/// `jit(f)`: `f` compiled once per input signature (see [`jit`]). Clones share the cache.
pub struct Jit<F, Out> {
    f: F,
    cache: Arc<Mutex<Lru<Signature, Arc<Entry<Out>>>>>,
    capacity: usize,
}

impl<F, Out: Pytree> fmt::Debug for Jit<F, Out> {
    /// The capacity and the cache's statistics (the function is a closure, which has no
    /// `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jit")
            .field("capacity", &self.capacity)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
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
    /// The cache's hit, miss and compile counts.
    pub fn stats(&self) -> CacheStats {
        self.cache.lock().expect("jit cache lock").stats()
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

    /// The function being jitted (what `lower` traces).
    pub(crate) fn function(&self) -> &F {
        &self.f
    }

    fn entry_for(&self, sig: &Signature) -> Option<Arc<Entry<Out>>> {
        let cache = self.cache.lock().expect("jit cache lock");
        cache.peek(|k| k == sig).cloned()
    }

    /// The jaxpr compiled for a signature seen before (for inspection).
    pub fn jaxpr_for(&self, sig: &Signature) -> Option<ClosedJaxpr> {
        self.entry_for(sig).map(|e| e.jaxpr.clone())
    }

    /// The compiled code for a signature seen before: Cranelift IR and machine code.
    pub fn executable_for(&self, sig: &Signature) -> Option<Arc<Executable>> {
        self.entry_for(sig).map(|e| e.exe.clone())
    }
}

/// The process-wide cache of `pjit`s evaluated outside any trace (what `grad(jit(f))`,
/// `vmap(jit(f))` and nested jits leave at top level), keyed by the jaxpr itself: it fixes the
/// input types. Least recently used entries are evicted beyond `DEFAULT_CACHE_CAPACITY`.
static PJIT_CACHE: Mutex<Lru<ClosedJaxpr, Arc<Executable>>> = Mutex::new(Lru::new());

/// Statistics of the process-wide `pjit` cache (see `run_pjit`).
pub fn pjit_cache_stats() -> CacheStats {
    PJIT_CACHE.lock().unwrap_or_else(|e| e.into_inner()).stats()
}

/// Run a `pjit` evaluated outside any trace: compiled once per jaxpr, native code afterwards.
/// A jaxpr the backend cannot compile (a `custom_lin` inside) runs through the interpreter.
fn run_pjit(jaxpr: &ClosedJaxpr, args: &[Array]) -> Result<Vec<Array>> {
    let found = PJIT_CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .lookup(|j| j.same_as(jaxpr));
    let exe = match found {
        Some(exe) => exe,
        None => {
            let start = Instant::now();
            let exe = match backend::lower(jaxpr).and_then(|l| l.compile_with(observe::dumping())) {
                Ok(exe) => exe,
                Err(_) => return crate::ir::eval::eval_closed(jaxpr, args),
            };
            let avals: Vec<String> = jaxpr.in_avals().iter().map(|a| a.to_string()).collect();
            observe::compiled(&observe::CompileEvent {
                name: "pjit",
                signature: &format!("({})", avals.join(", ")),
                jaxpr,
                exe: &exe,
                trace: None,
            });
            PJIT_CACHE.lock().unwrap_or_else(|e| e.into_inner()).insert(
                jaxpr.clone(),
                exe.clone(),
                DEFAULT_CACHE_CAPACITY,
                start.elapsed(),
            );
            exe
        }
    };
    exe.run(args)
}

/// The signature of a call.
pub fn signature_of<Args: Pytree>(args: &Args) -> Signature {
    let mut treedef = String::new();
    let statics = treedef_and_statics(args, &mut treedef);
    Signature {
        treedef,
        statics,
        avals: args.leaves().iter().map(|a| a.aval().clone()).collect(),
        trace_context: crate::config::trace_context(),
    }
}

thread_local! {
    /// The treedef of the current call (reused: a cached call allocates no string).
    static TREEDEF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    /// Spare lists for the leaves and the results of a call, kept between calls.
    static LEAVES: Cell<Vec<Array>> = const { Cell::new(Vec::new()) };
    static RESULTS: Cell<Vec<Array>> = const { Cell::new(Vec::new()) };
}

impl Signature {
    /// Whether a call with this treedef and these leaves has this signature.
    fn matches(&self, treedef: &str, statics: &[StaticValue], leaves: &[Array]) -> bool {
        self.treedef == treedef
            && self.trace_context == crate::config::trace_context()
            && self.statics == statics
            && self.avals.len() == leaves.len()
            && self.avals.iter().zip(leaves).all(|(a, l)| a == l.aval())
    }
}

impl<F, Out: Pytree> Jit<F, Out> {
    /// Trace and compile for a new signature, and cache the result.
    fn compile<Args: ArgTuple>(&self, args: &Args, sig: Signature) -> Result<Arc<Entry<Out>>>
    where
        F: Function<Args, Output = Out>,
    {
        let start = Instant::now();
        let (jaxpr, template) = stage(&self.f, args, &sig.avals)?;
        let traced = start.elapsed();
        // The first call's large outputs are faulted in on a worker while this thread lowers
        // and compiles (see `cranax_runtime::pages`), and wait in the buffer pool for the run.
        let out_bytes: Vec<usize> = (jaxpr.out_avals().iter())
            .map(|a| a.size() * a.dtype.size_bytes())
            .collect();
        let outputs_ready = cranax_runtime::pages::prefault(&out_bytes);
        let exe = backend::lower(&jaxpr)?.compile_with(observe::dumping())?;
        outputs_ready.wait();
        let out = template.rebuild(
            jaxpr
                .out_avals()
                .iter()
                .map(|a| Array::zeros(&[], a.dtype))
                .collect(),
        )?;
        let elapsed = start.elapsed();
        observe::compiled(&observe::CompileEvent {
            name: &self.f.name(),
            signature: &sig.to_string(),
            jaxpr: &jaxpr,
            exe: &exe,
            trace: Some(traced),
        });
        let entry = Arc::new(Entry { jaxpr, exe, out });
        self.cache.lock().expect("jit cache lock").insert(
            sig,
            entry.clone(),
            self.capacity,
            elapsed,
        );
        Ok(entry)
    }
}

impl<F, Out: Pytree> Jit<F, Out> {
    /// Report why `sig` missed the cache (the nearest cached signature and how it differs).
    fn explain_miss<Args: ArgTuple>(&self, sig: &Signature, arg_leaves: &[usize])
    where
        F: Function<Args, Output = Out>,
    {
        let cache = self.cache.lock().expect("jit cache lock");
        observe::cache_miss(&observe::CacheMiss {
            name: &self.f.name(),
            treedef: &sig.treedef,
            avals: &sig.avals,
            arg_leaves,
            seen: cache
                .entries
                .iter()
                .map(|(k, _, _)| (k.treedef.as_str(), k.avals.as_slice()))
                .collect(),
            evictions: cache.stats.evictions,
            capacity: self.capacity,
        });
    }
}

impl<Args, F> Function<Args> for Jit<F, F::Output>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    type Output = F::Output;

    fn call(&self, args: Args) -> Result<F::Output> {
        let mut leaves = take_list(&LEAVES);
        args.flatten(&mut leaves);
        if trace::current().is_some() || leaves.iter().any(|l| !l.is_concrete()) {
            // Under a transformation: a pjit call of the traced jaxpr.
            return bind_call(&self.f, args, |jaxpr| CallOp::Pjit {
                name: self.f.name(),
                jaxpr,
            });
        }
        // The cached path: the treedef is written into a reused per-thread buffer and the
        // leaves' types compared in place, so a hit builds no `Signature`.
        let found = TREEDEF.with(|buf| {
            let mut treedef = buf.borrow_mut();
            treedef.clear();
            let statics = treedef_and_statics(&args, &mut treedef);
            let hit = self
                .cache
                .lock()
                .expect("jit cache lock")
                .lookup(|k| k.matches(&treedef, &statics, &leaves));
            hit.ok_or_else(|| (treedef.clone(), statics))
        });
        let entry = match found {
            Ok(entry) => entry,
            Err((treedef, statics)) => {
                let sig = Signature {
                    treedef,
                    statics,
                    avals: super::leaf_avals(&leaves),
                    trace_context: crate::config::trace_context(),
                };
                if observe::explaining_cache_misses() {
                    self.explain_miss(&sig, &args.arg_leaf_counts());
                }
                self.compile(&args, sig)?
            }
        };
        let mut results = take_list(&RESULTS);
        let ran = entry.exe.run_into(&leaves, &mut results);
        give_list(&LEAVES, leaves);
        let out = ran.and_then(|()| entry.out.rebuild_from(&mut results));
        give_list(&RESULTS, results);
        out
    }

    fn name(&self) -> String {
        self.f.name()
    }
}
