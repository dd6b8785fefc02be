//! Staged compilation in the backend: a closed jaxpr lowered to Cranelift IR ([`Lowered`]: the
//! graph rewritten, the fusion plan made and the entry function written as CLIF, no machine
//! code yet), then compiled into an [`Executable`]. `backend::compile` is the two in one step.

use super::{codegen, graph, plan, rewrites, EntryFn, Executable, LIVE_EXECUTABLES};
use crate::core::aval::Aval;
use crate::core::error::Result;
use crate::ir::ClosedJaxpr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A function lowered to Cranelift IR for one input signature, not yet compiled.
pub struct Lowered {
    jit: codegen::JitBuilt,
    in_avals: Vec<Aval>,
    out_avals: Vec<Aval>,
    scratch_bytes: usize,
    consts: Vec<Arc<crate::array::Concrete>>,
    kernels: usize,
    summary: String,
    par: Option<super::schedule::Split>,
    lower_time: Duration,
    /// The part of `lower_time` spent building the graph and running its rewrites.
    rewrite_time: Duration,
    /// The CLIF text, once `clif_ir` has rendered it.
    clif: std::sync::OnceLock<String>,
}

impl std::fmt::Debug for Lowered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lowered")
            .field("in_avals", &self.in_avals)
            .field("out_avals", &self.out_avals)
            .field("kernels", &self.kernels)
            .finish_non_exhaustive()
    }
}

/// Lower `jaxpr` for its input types: graph, rewrites, fusion plan, CLIF.
///
/// # Errors
/// An output too large to allocate, or a program the backend cannot compile (a `custom_lin` inside).
pub fn lower(jaxpr: &ClosedJaxpr) -> Result<Lowered> {
    let start = Instant::now();
    // Every call allocates the outputs: a size the system cannot provide is an error now.
    for aval in jaxpr.out_avals() {
        aval.check_allocatable("jit")?;
    }
    let mut g = graph::build(jaxpr)?;
    rewrites::run(&mut g);
    let rewrite_time = start.elapsed();
    let plan = plan::plan(&g)?;
    let jit = codegen::lower_jit(&g, &plan)?;
    Ok(Lowered {
        jit,
        in_avals: jaxpr.in_avals(),
        out_avals: jaxpr.out_avals(),
        scratch_bytes: plan.scratch_bytes,
        consts: codegen::distinct_consts(&g, &plan),
        kernels: plan.kernels.len(),
        summary: plan.summary(&g),
        par: plan.split,
        lower_time: start.elapsed(),
        rewrite_time,
        clif: std::sync::OnceLock::new(),
    })
}

impl Lowered {
    /// The Cranelift IR of the entry function (as `Function::display` prints it).
    pub fn clif_ir(&self) -> &str {
        self.clif
            .get_or_init(|| self.jit.built.func.display().to_string())
    }

    /// The fusion plan, one line per kernel (as `Executable::kernels_summary`).
    pub fn kernels_summary(&self) -> &str {
        &self.summary
    }

    /// How many kernels (loop nests and library calls) the function runs.
    pub fn num_kernels(&self) -> usize {
        self.kernels
    }

    /// Time spent lowering (graph, plan, CLIF).
    pub fn lower_time(&self) -> Duration {
        self.lower_time
    }

    /// Compile to machine code.
    ///
    /// # Errors
    /// Cranelift failing to compile the function (a backend bug).
    pub fn compile(self) -> Result<Arc<Executable>> {
        self.compile_with(false)
    }

    /// Compile to machine code, keeping Cranelift's annotated listing of it when `listing`.
    ///
    /// # Errors
    /// Cranelift failing to compile the function (a backend bug).
    pub fn compile_with(self, listing: bool) -> Result<Arc<Executable>> {
        let start = Instant::now();
        let c = self.jit.compile(listing)?;
        // SAFETY: the code was compiled with exactly this signature (three pointers and two
        // pointer-sized integers, no results, the platform's default calling convention).
        let entry: EntryFn = unsafe { std::mem::transmute::<*const u8, EntryFn>(c.entry) };
        LIVE_EXECUTABLES.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(Executable {
            entry,
            module: Mutex::new(Some(c.module)),
            in_avals: self.in_avals,
            out_avals: self.out_avals,
            scratch_bytes: self.scratch_bytes,
            _consts: self.consts,
            func: c.func,
            clif: std::sync::OnceLock::new(),
            code: c.code,
            disasm: c.disasm,
            compile_time: self.lower_time + start.elapsed(),
            cranelift_time: c.cranelift_time,
            rewrite_time: self.rewrite_time,
            kernels: self.kernels,
            summary: self.summary,
            par: self.par,
        }))
    }
}
