//! The native backend: a closed jaxpr lowered to one Cranelift function, cached by signature in
//! `api::jit`.
//!
//! The pipeline, `graph::build → rewrites → plan → emit`, each pass a function of the previous
//! one's output only:
//! - `graph`: the jaxpr flattened into one graph (nested `pjit`/custom calls inlined;
//!   `while`/`scan`/`cond` one node each, their sub-jaxprs graphs of their own);
//! - `rewrites`: named graph passes run in order (`legalize`: 16-bit float arithmetic in
//!   f32, as XLA's CPU backend does; algebraic simplification, common
//!   subexpressions, canonical `dot_general` operands and reduction identities as nodes, dead
//!   code); after them the graph is final;
//! - `plan`: fusion: which nodes get buffers and which kernels (loop nests, gemm calls)
//!   compute them, in order. Runs of elementwise ops and views fuse into one loop nest with no
//!   intermediate buffers. Each kernel is then scheduled (`schedule`): the expressions it
//!   evaluates at which index maps, collapsed loops, vector lanes, threading; a node that
//!   would be recomputed at too many indices gets a buffer (planning again). A control-flow
//!   node is one kernel whose sub-programs are planned the same way, on their own;
//! - `layout`: constants read transposed by every kernel get a copy in the loops' order;
//! - `index`: the affine index maps through which views are read (strides, broadcasts,
//!   transposes) and the collapsing of loop dimensions;
//! - `emit`: writes each scheduled kernel: loop nests, vectorised innermost loops
//!   (f32x4/i32x4/f64x2, unrolled 4 times, scalar tail), reductions with several vector
//!   accumulators, `dot_general` via the runtime's gemm; `while`/`scan`/`cond` as native
//!   loops and branches with their sub-programs' kernels inline (carries double-buffered,
//!   scan slices read and written in place, trip counts never unrolled);
//! - `ops`: one element of each primitive (scalar or vector instructions), for every dtype
//!   (`half`: the 16-bit floats' conversions on their bits);
//! - `codegen`: Cranelift setup, the code generated into any `cranelift_module::Module`
//!   (one `JITModule` per executable); `lowered` the split into CLIF ([`Lowered`]) and machine
//!   code; `export` the same code as an object file with a C entry point ([`export_object`]);
//! - `math`: transcendental functions as inline polynomials (no libm calls).
//!
//! # Seeing what was compiled
//!
//! ```no_run
//! use cranax::api::jit::signature_of;
//! use cranax::{jit, Array, Function};
//! let f = jit(|x: &Array| cranax::numpy::tanh(x));
//! let x = Array::from_slice(&[1.0f32, 2.0]);
//! f.call((x.clone(),)).unwrap();
//! let exe = f.executable_for(&signature_of(&(x,))).unwrap();
//! println!("{}", exe.clif_ir());          // the Cranelift IR
//! println!("{:?}", exe.compile_time());   // lowering + Cranelift time
//! std::fs::write("/tmp/f.bin", exe.machine_code()).unwrap();
//! // objdump -D -b binary -mi386:x86-64 /tmp/f.bin
//! // With CRANAX_JIT_DISASM=1, exe.disassembly() has Cranelift's own listing.
//! ```

mod codegen;
mod emit;
mod export;
mod gather;
mod graph;
mod half;
mod index;
mod layout;
mod legalize;
mod lowered;
mod math;
mod ops;
mod plan;
mod rewrites;
mod scan_invariants;
mod schedule;
mod window;

pub use export::{export_object, ExportOptions, ExportedObject};
pub use lowered::{lower, Lowered};

use crate::array::{Array, Concrete};
use crate::core::aval::{same_shape, Aval};
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::DType;
use crate::ir::ClosedJaxpr;
use cranelift_jit::JITModule;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The compiled entry point: input pointers, output pointers, scratch memory, and the range
/// `[lo, hi)` of the outermost loop to run when the function is splittable (see
/// `Executable::par`; ignored otherwise).
type EntryFn = unsafe extern "C" fn(*const *const u8, *const *mut u8, *mut u8, usize, usize);

/// The pointers of one call, shared by the threads that run its chunks.
struct CallPtrs(*const *const u8, *const *mut u8);

// SAFETY: the chunks of a split kernel read only inputs and constants and write disjoint
// output elements (`schedule::Builder::parallelisable`), so the pointed-to buffers may be used
// from several threads at once; the arrays outlive the call (`for_chunks` joins).
unsafe impl Sync for CallPtrs {}

/// A compiled function for one input signature. `Send + Sync`: the code is immutable once
/// finalized, so any number of threads may `run` it at once.
pub struct Executable {
    entry: EntryFn,
    /// Owns the code; freed on drop.
    module: Mutex<Option<JITModule>>,
    in_avals: Vec<Aval>,
    out_avals: Vec<Aval>,
    scratch_bytes: usize,
    /// Constants the code reads in place (by absolute address).
    _consts: Vec<Arc<Concrete>>,
    /// The emitted IR, and its text once `clif_ir` has rendered it.
    func: cranelift_codegen::ir::Function,
    clif: std::sync::OnceLock<String>,
    code: Vec<u8>,
    disasm: Option<String>,
    compile_time: Duration,
    cranelift_time: Duration,
    /// The part of `compile_time` spent building the graph and running its rewrites.
    pub(crate) rewrite_time: Duration,
    kernels: usize,
    summary: String,
    /// The split of the outermost loop when the code may run it in chunks on several
    /// threads.
    par: Option<schedule::Split>,
}

/// How many argument or output pointers a call keeps on the stack.
const STACK: usize = 8;

/// Room for `n` pointers: the first `n` of `small` when they fit, else `big` grown to `n`
/// (filled with copies of `small[0]`, a null pointer).
fn pointer_slots<'s, T: Copy>(
    small: &'s mut [T; STACK],
    big: &'s mut Vec<T>,
    n: usize,
) -> &'s mut [T] {
    if n > STACK {
        big.resize(n, small[0]);
        big
    } else {
        &mut small[..n]
    }
}

thread_local! {
    /// Per-thread scratch for intermediate buffers (grown on demand, reused across calls).
    static SCRATCH: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

impl Executable {
    /// Run on `args`, which must match the compiled signature exactly (count, shapes, dtypes).
    ///
    /// # Errors
    /// As [`Executable::run_into`].
    pub fn run(&self, args: &[Array]) -> Result<Vec<Array>> {
        let mut outs = Vec::with_capacity(self.out_avals.len());
        self.run_into(args, &mut outs)?;
        Ok(outs)
    }

    /// As [`Executable::run`], appending the outputs to `outs` (a vector the caller reuses).
    ///
    /// # Errors
    /// The wrong number of arguments, an argument whose shape or dtype is not the compiled one, or a tracer.
    pub fn run_into(&self, args: &[Array], results: &mut Vec<Array>) -> Result<()> {
        if args.len() != self.in_avals.len() {
            return Err(Error::Jit(format!(
                "the compiled function takes {} arguments, got {}",
                self.in_avals.len(),
                args.len()
            )));
        }
        let mut in_small = [std::ptr::null::<u8>(); STACK];
        let mut in_big = Vec::new();
        let ins = pointer_slots(&mut in_small, &mut in_big, args.len());
        for (i, (a, want)) in args.iter().zip(&self.in_avals).enumerate() {
            let got = a.aval();
            if !same_shape(&got.shape, &want.shape) || got.dtype != want.dtype {
                return Err(Error::Jit(format!(
                    "argument {i} has type {}{} but the function was compiled for {}{}",
                    got.dtype,
                    shape_str(&got.shape),
                    want.dtype,
                    shape_str(&want.shape)
                )));
            }
            let data = a.data().map_err(|_| {
                Error::Jit(format!(
                    "argument {i} is a tracer; compiled code runs on concrete arrays"
                ))
            })?;
            ins[i] = data.as_ptr();
        }
        // Outputs are not zero-filled: the plan writes every element of every output
        // (`plan::finish` gives each one the buffer of a node its kernels compute whole, or a
        // copy kernel over its whole shape). Debug builds fill them with a pattern first, so
        // that the tests against the interpreter catch an element left unwritten.
        let first = results.len();
        let mut out_small = [std::ptr::null_mut::<u8>(); STACK];
        let mut out_big = Vec::new();
        let out_ptrs = pointer_slots(&mut out_small, &mut out_big, self.out_avals.len());
        for (p, a) in out_ptrs.iter_mut().zip(&self.out_avals) {
            let (array, ptr) = Array::unfilled(a);
            results.push(array);
            *p = ptr;
            if cfg!(debug_assertions) {
                let fill = if a.dtype == DType::Bool { 1 } else { 0xA5 };
                // SAFETY: `ptr` has room for `a.size()` elements of `a.dtype`.
                unsafe { std::ptr::write_bytes(ptr, fill, a.size() * a.dtype.size_bytes()) };
            }
        }
        // SAFETY: every argument was checked above to have exactly the shape and dtype the code
        // was compiled for, and every output buffer was allocated with the size and dtype of
        // its compiled output.
        unsafe { self.call_ptrs(ins, out_ptrs, true) };
        for r in &mut results[first..] {
            // SAFETY: the code has written every element of every output (see above),
            // booleans as the bytes 0 or 1; nothing has cloned the arrays.
            unsafe { r.assume_filled() };
        }
        Ok(())
    }

    /// Run the code on raw buffers: split across the worker pool when it is splittable and
    /// `threads` (else on the calling thread), intermediate buffers in this thread's scratch
    /// (grown once, then reused: no allocation).
    ///
    /// # Safety
    /// `ins` and `outs` hold one pointer per compiled input and output, each to a buffer of
    /// exactly that input's or output's dtype and element count (outputs writable, not
    /// aliasing any other buffer).
    pub(crate) unsafe fn call_ptrs(&self, ins: &[*const u8], outs: &[*mut u8], threads: bool) {
        debug_assert!(ins.len() == self.in_avals.len() && outs.len() == self.out_avals.len());
        let call = |scratch: *mut u8| {
            // SAFETY: the caller vouches for the buffers; the code only indexes within those
            // static shapes (dynamic indices are clamped in the code), and within
            // `scratch_bytes` of `scratch`. The module owning the code lives as long as
            // `self`. A function that is not split ignores `lo`/`hi`; a split one runs its
            // whole range here.
            let hi = self.par.map_or(0, |p| p.extent);
            unsafe { (self.entry)(ins.as_ptr(), outs.as_ptr(), scratch, 0, hi) }
        };
        let par = self
            .par
            .filter(|_| threads && cranax_runtime::num_threads() > 1);
        if let Some(split) = par {
            let ptrs = CallPtrs(ins.as_ptr(), outs.as_ptr());
            cranax_runtime::for_chunks(split.extent, split.align, split.min_chunk, |lo, hi| {
                let p = &ptrs;
                let scratch = std::ptr::NonNull::<u64>::dangling().as_ptr() as *mut u8;
                // SAFETY: as for `call` (split functions use no scratch); `lo < hi <= ext`
                // with `lo` a multiple of `align`, the range contract of split code, and the
                // chunks write disjoint output elements.
                unsafe { (self.entry)(p.0, p.1, scratch, lo, hi) }
            });
        } else if self.scratch_bytes == 0 {
            call(std::ptr::NonNull::<u64>::dangling().as_ptr() as *mut u8);
        } else {
            SCRATCH.with(|s| {
                let mut s = s.borrow_mut();
                let words = self.scratch_bytes.div_ceil(8);
                if s.len() < words {
                    s.resize(words, 0);
                }
                call(s.as_mut_ptr() as *mut u8);
            });
        }
    }

    /// The Cranelift IR of the compiled function as emitted (as `Function::display` prints
    /// it; rendered on the first call, not at compile time).
    pub fn clif_ir(&self) -> &str {
        self.clif.get_or_init(|| self.func.display().to_string())
    }

    /// The machine code (x86-64: `objdump -D -b binary -mi386:x86-64 file`).
    pub fn machine_code(&self) -> &[u8] {
        &self.code
    }

    /// Cranelift's annotated listing of the machine code, when compiled with
    /// `CRANAX_JIT_DISASM=1` in the environment.
    pub fn disassembly(&self) -> Option<&str> {
        self.disasm.as_deref()
    }

    /// Time spent lowering and compiling (not tracing).
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// The part of [`Executable::compile_time`] spent in Cranelift itself (optimisation,
    /// register allocation, code emission); the rest is lowering (graph, rewrites, fusion
    /// planning, emitting the IR).
    pub fn cranelift_time(&self) -> Duration {
        self.cranelift_time
    }

    /// How many kernels (loop nests and library calls) the function runs.
    pub fn num_kernels(&self) -> usize {
        self.kernels
    }

    /// The fusion plan, one line per kernel: what each loop nest stores (`Node(n)`: an
    /// intermediate or output buffer; `Out(k)`: a copy into output `k`), its loop extents after
    /// collapsing, how many nodes it evaluates inline, and whether it is vectorised.
    pub fn kernels_summary(&self) -> &str {
        &self.summary
    }

    /// Bytes of per-call scratch memory for intermediate buffers.
    pub fn scratch_bytes(&self) -> usize {
        self.scratch_bytes
    }

    /// The types of the inputs it was compiled for.
    pub fn in_avals(&self) -> &[Aval] {
        &self.in_avals
    }

    /// The types of its outputs.
    pub fn out_avals(&self) -> &[Aval] {
        &self.out_avals
    }
}

impl Drop for Executable {
    fn drop(&mut self) {
        if let Some(module) = self.module.get_mut().ok().and_then(|m| m.take()) {
            // SAFETY: `run` borrows `self`, so no call of this code is in progress once the
            // executable is being dropped (callers hold it in an `Arc` while running), and the
            // entry pointer dies with `self`.
            unsafe { module.free_memory() };
            LIVE_EXECUTABLES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Executables whose code is still mapped: compiled and not yet dropped (and freed).
static LIVE_EXECUTABLES: AtomicUsize = AtomicUsize::new(0);

/// How many compiled executables hold code in memory right now, process-wide. A jit cache
/// that evicts an entry, or a dropped `Jit`, lowers it once no caller holds the executable.
pub fn live_executables() -> usize {
    LIVE_EXECUTABLES.load(Ordering::Relaxed)
}

impl std::fmt::Debug for Executable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Executable({} -> {}, {} kernels, {} bytes of code)",
            self.in_avals
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            self.out_avals
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            self.kernels,
            self.code.len()
        )
    }
}

/// Lower and compile `jaxpr` for its input types.
///
/// # Errors
/// As [`lower`] and [`Lowered::compile`].
pub fn compile(jaxpr: &ClosedJaxpr) -> Result<Arc<Executable>> {
    lower(jaxpr)?.compile()
}

/// Whether compiled code uses fused multiply-add on this machine.
pub fn uses_fma() -> bool {
    codegen::host_has_fma()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::transform::stage::trace_to_jaxpr;

    #[test]
    fn calls_with_more_pointers_than_the_stack_holds() {
        // 10 arguments and 10 outputs: `x_i * i`.
        let n = STACK + 2;
        let avals = vec![Aval::new([2], DType::I32); n];
        let f = |a: &[Array]| -> Result<Vec<Array>> {
            let scaled = a
                .iter()
                .enumerate()
                .map(|(i, x)| crate::lax::mul(x, &crate::lax::scalar_like(x, i as f64)));
            scaled.collect()
        };
        let exe = compile(&trace_to_jaxpr(&f, &avals).unwrap()).unwrap();
        let args: Vec<Array> = (0..n).map(|i| Array::from_slice(&[i as i32, 1])).collect();
        let outs = exe.run(&args).unwrap();
        for (i, y) in outs.iter().enumerate() {
            let i = i as i32;
            assert_eq!(y.to_vec::<i32>().unwrap(), vec![i * i, i]);
        }
    }

    /// Every scratch span `p` lays out (byte ranges), checking that each lies in
    /// `[0, p.scratch_bytes)`, that the function's temporaries and each control kernel's own
    /// spans are pairwise disjoint, and (recursively) that each sub-program's scratch fits in
    /// its kernel's region after those spans.
    fn check_layout(g: &graph::Graph, p: &plan::Plan) {
        use plan::{sub_output, Buf, KernelKind};
        let temps: Vec<(usize, usize)> = (0..g.nodes.len())
            .filter_map(|w| match p.buf[w] {
                Some(Buf::Temp(off)) if p.owner[w] == Some(w) => Some((off, g.nodes[w].bytes())),
                _ => None,
            })
            .collect();
        let disjoint = |spans: &[(usize, usize)]| {
            for (i, a) in spans.iter().enumerate() {
                assert!(
                    a.0 + a.1 <= p.scratch_bytes,
                    "{a:?} past {}",
                    p.scratch_bytes
                );
                for b in &spans[i + 1..] {
                    assert!(a.0 + a.1 <= b.0 || b.0 + b.1 <= a.0, "{a:?} overlaps {b:?}");
                }
            }
        };
        disjoint(&temps);
        for k in &p.kernels {
            let KernelKind::Control(c) = &k.kind else {
                continue;
            };
            let graph::Kind::Control { op, .. } = &g.nodes[c.node].kind else {
                unreachable!()
            };
            let w = *op.subs().last().unwrap();
            let mut spans = temps.clone();
            for (k, t) in c.out_temps.iter().enumerate() {
                spans.extend(t.map(|off| (off, sub_output(g, w, k).bytes())));
            }
            for (k, &off) in c.carry_temps.iter().enumerate() {
                spans.push((off, sub_output(g, w, k).bytes()));
            }
            if matches!(op, graph::Control::While { .. }) {
                spans.push((c.pred, 1));
            }
            assert!(spans.iter().all(|s| s.0 + s.1 <= c.sub_scratch));
            disjoint(&spans);
            for s in op.subs() {
                assert!(c.sub_scratch + p.subs[s].scratch_bytes <= p.scratch_bytes);
                check_layout(&g.subs[s], &p.subs[s]);
            }
        }
    }

    #[test]
    fn control_scratch_covers_every_buffer_without_overlap() {
        use crate::lax;
        // A while around a scan around a cond, carries of several sizes, an unread result.
        let f = |a: &[Array]| -> Result<Vec<Array>> {
            let (x, xs) = (&a[0], &a[1]);
            let inner = |c: &(Array, Array), row: &Array| {
                let v = crate::core::error::or_raise(lax::add(&c.0, row));
                let p = crate::core::error::or_raise(lax::gt(&c.1, &Array::scalar(0.0f32)));
                let w = crate::core::error::or_raise(lax::cond(
                    &p,
                    |v: &Array| crate::core::error::or_raise(lax::neg(v)),
                    |v: &Array| crate::core::error::or_raise(lax::mul(v, v)),
                    &v,
                ));
                let s = crate::core::error::or_raise(lax::reduce_sum(&w, &[0]));
                ((w.clone(), s), w)
            };
            let body = |c: &(Array, Array)| {
                let ((v, _), _) = crate::core::error::or_raise(lax::scan(
                    inner,
                    (c.0.clone(), Array::scalar(1.0f32)),
                    xs.clone(),
                ));
                let n = crate::core::error::or_raise(lax::add(&c.1, &Array::scalar(1i32)));
                (v, n)
            };
            let lt3 = |c: &(Array, Array)| {
                crate::core::error::or_raise(lax::lt(&c.1, &Array::scalar(3i32)))
            };
            let (v, _) = lax::while_loop(lt3, body, (x.clone(), Array::scalar(0i32)))?;
            Ok(vec![v])
        };
        let avals = [
            Aval::new([1000], DType::F32),
            Aval::new([5, 1000], DType::F32),
        ];
        let cj = trace_to_jaxpr(&f, &avals).unwrap();
        let mut g = graph::build(&cj).unwrap();
        rewrites::run(&mut g);
        let p = plan::plan(&g).unwrap();
        let summary = p.summary(&g);
        assert!(summary.contains("while") && summary.contains("scan") && summary.contains("cond"));
        check_layout(&g, &p);
        // At least the while's second carry buffer, the scan's, and one slice for its ys.
        assert!(p.scratch_bytes >= 4000 * 3, "{}", p.scratch_bytes);
    }
}
