//! Staged compilation, as `jax.stages`: `jit(f).lower(args)` traces `f` at the arguments' types
//! (arrays, or [`ShapeDtypeStruct`] specs with no data, in any pytree) and lowers it to
//! Cranelift IR: a [`Lowered`]. `.compile()` makes machine code, a [`Compiled`], without
//! running anything. A `Compiled` is `Send + Sync + 'static` and holds no tracing state: it is
//! native code and the types it was compiled for. It runs three ways:
//!
//! - [`Compiled::call`]: the jitted function's own pytree arguments and result;
//! - [`Compiled::call_into`]: borrowed input slices, caller-owned output slices, checked once
//!   for shape and dtype, no allocation (the embedding path: an inner loop, a solver step);
//! - [`Compiled::export_object`]: an object file with a C entry point and a header, linked
//!   with `libcranax_runtime.a` into a program that needs no cranax at run time.
//!
//! ```
//! use cranax::api::stages::{ArgView, OutView, ShapeDtypeStruct};
//! use cranax::numpy as jnp;
//! use cranax::{jit, Array, DType};
//!
//! let f = jit(|x: &Array, y: &Array| jnp::sin(x) * y);
//! let spec = ShapeDtypeStruct::new(&[3], DType::F32);
//! let lowered = f.lower((spec.clone().into(), spec.into())).unwrap();
//! assert!(lowered.as_text().contains("function"));   // the Cranelift IR
//! let compiled = lowered.compile().unwrap();
//! println!("{:?}", compiled.cost_analysis());
//!
//! // The jitted function's own calling convention...
//! let x = Array::from_slice(&[0.0f32, 1.0, 2.0]);
//! let y = compiled.call((x.clone(), x)).unwrap();
//! // ... or borrowed slices in, caller-owned slices out, no allocation.
//! let (xs, mut out) = ([0.0f32, 1.0, 2.0], [0.0f32; 3]);
//! compiled
//!     .call_into(&[ArgView::from(&xs[..]), ArgView::from(&xs[..])], &mut [OutView::from(&mut out[..])])
//!     .unwrap();
//! assert_eq!(y.to_vec::<f32>().unwrap(), out);
//! ```

use super::jit::{signature_of, Jit};
use super::{leaf_avals, stage, Function};
use crate::array::{Array, Element};
use crate::backend::{self, Executable, ExportOptions, ExportedObject};
use crate::core::aval::Aval;
use crate::core::error::{ArgumentMismatch, Error, Result};
use crate::core::trace::{Payload, Tag, Tracer};
use crate::dtype::DType;
use crate::ir::{ClosedJaxpr, Var};
use crate::pytree::{ArgTuple, Pytree};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// JAX's `jax.ShapeDtypeStruct`: the type of an argument with no data, for lowering. Convert it
/// into an [`Array`] (`spec.into()`) to put it where the function takes an array: it is an
/// abstract placeholder that only tracing may read (its data is an error).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShapeDtypeStruct {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// The element type.
    pub dtype: DType,
    /// JAX's weak type (a type that came from a Rust literal).
    pub weak_type: bool,
}

impl ShapeDtypeStruct {
    /// A strongly typed spec of this shape and dtype.
    pub fn new(shape: &[usize], dtype: DType) -> Self {
        ShapeDtypeStruct {
            shape: shape.to_vec(),
            dtype,
            weak_type: false,
        }
    }

    /// The type of `x`.
    pub fn like(x: &Array) -> Self {
        let a = x.aval();
        ShapeDtypeStruct {
            shape: a.shape.clone(),
            dtype: a.dtype,
            weak_type: a.weak_type,
        }
    }

    fn aval(&self) -> Aval {
        Aval::new(self.shape.clone(), self.dtype).weak(self.weak_type)
    }
}

impl From<ShapeDtypeStruct> for Array {
    /// An abstract array of this type: a tracer of no running trace (a fresh tag no
    /// interpreter has), so reading its data, or using it outside tracing, is an error.
    fn from(s: ShapeDtypeStruct) -> Array {
        Array::from_tracer(Tracer {
            tag: Tag::fresh(),
            aval: s.aval(),
            payload: Payload::Staged(Var(u32::MAX)),
        })
    }
}

impl<F, Out: Pytree> Jit<F, Out> {
    /// Trace the function at the types of `args` (arrays or `ShapeDtypeStruct` specs; their
    /// data is never read) and lower it to Cranelift IR. Nothing runs and the jit's cache is
    /// not touched (as in JAX).
    ///
    /// # Errors
    /// What tracing the function raises (shape and dtype errors of its operations), or a
    /// program the backend cannot compile.
    pub fn lower<Args>(&self, args: Args) -> Result<Lowered<Args, F::Output>>
    where
        Args: ArgTuple,
        F: Function<Args, Output = Out>,
    {
        let sig = signature_of(&args);
        let start = std::time::Instant::now();
        let (jaxpr, out) = stage(self.function(), &args, &leaf_avals(&args.leaves()))?;
        let trace_time = start.elapsed();
        // The output structure, with concrete placeholders for leaves (no tracer kept).
        let placeholders = jaxpr
            .out_avals()
            .iter()
            .map(|a| Array::zeros(&[], a.dtype))
            .collect();
        let out = out.rebuild(placeholders)?;
        let backend = backend::lower(&jaxpr)?;
        Ok(Lowered {
            inner: Staged {
                jaxpr,
                name: self.function().name(),
                in_tree: sig.treedef,
                in_statics: sig.statics,
                in_avals: sig.avals,
                arg_leaves: args.arg_leaf_counts().to_vec(),
                out,
                trace_time,
                _args: PhantomData,
            },
            backend,
        })
    }
}

/// What both stages know: the function's jaxpr and the types it was lowered for.
struct Staged<Args, Out> {
    jaxpr: ClosedJaxpr,
    name: String,
    in_tree: String,
    /// The static values of the signature it was lowered for.
    in_statics: Vec<crate::pytree::StaticValue>,
    in_avals: Vec<Aval>,
    arg_leaves: Vec<usize>,
    out: Out,
    /// Tracing, with the transformations.
    trace_time: Duration,
    _args: PhantomData<fn(Args)>,
}

impl<Args, Out> Staged<Args, Out> {
    fn export(&self, path: &Path, opts: &ExportOptions) -> Result<ExportedObject> {
        let e = backend::export_object(&self.jaxpr, opts)?;
        e.write(path)?;
        Ok(e)
    }
}

/// JAX's `Lowered`: a function traced and lowered to Cranelift IR for one input signature.
pub struct Lowered<Args, Out> {
    inner: Staged<Args, Out>,
    backend: backend::Lowered,
}

impl<Args: ArgTuple, Out: Pytree> Lowered<Args, Out> {
    /// The traced jaxpr.
    pub fn jaxpr(&self) -> &ClosedJaxpr {
        &self.inner.jaxpr
    }

    /// The lowered program as text (JAX's `Lowered.as_text()`): the Cranelift IR.
    pub fn as_text(&self) -> &str {
        self.backend.clif_ir()
    }

    /// The fusion plan, one line per kernel.
    pub fn kernels_summary(&self) -> &str {
        self.backend.kernels_summary()
    }

    /// The types of the flattened inputs.
    pub fn in_avals(&self) -> &[Aval] {
        &self.inner.in_avals
    }

    /// The types of the flattened outputs.
    pub fn out_avals(&self) -> Vec<Aval> {
        self.inner.jaxpr.out_avals()
    }

    /// Compile to machine code (with Cranelift's annotated listing, `Compiled::as_text`).
    ///
    /// # Errors
    /// Cranelift failing to compile the function (a backend bug).
    pub fn compile(self) -> Result<Compiled<Args, Out>> {
        let lower_time = self.backend.lower_time();
        let exe = self.backend.compile_with(true)?;
        let avals: Vec<String> = self.inner.in_avals.iter().map(|a| a.to_string()).collect();
        crate::observe::compiled(&crate::observe::CompileEvent {
            name: &self.inner.name,
            signature: &format!("({})", avals.join(", ")),
            jaxpr: &self.inner.jaxpr,
            exe: &exe,
            trace: Some(self.inner.trace_time),
        });
        Ok(Compiled {
            inner: self.inner,
            exe,
            lower_time,
        })
    }

    /// Ahead-of-time export, as [`Compiled::export_object`].
    ///
    /// # Errors
    /// As [`Compiled::export_object`].
    pub fn export(&self, path: impl AsRef<Path>, opts: &ExportOptions) -> Result<ExportedObject> {
        self.inner.export(path.as_ref(), opts)
    }
}

/// What compiling cost and made (JAX's `Compiled.cost_analysis()`, with what a native backend
/// knows).
#[derive(Clone, Debug, PartialEq)]
pub struct CostAnalysis {
    /// Lowering: graph passes, fusion plan, Cranelift IR.
    pub lower_time: Duration,
    /// Lowering and Cranelift's compilation together (tracing excluded).
    pub compile_time: Duration,
    /// Bytes of machine code.
    pub code_bytes: usize,
    /// Kernels (loop nests and runtime calls) the function runs.
    pub kernels: usize,
    /// Bytes of scratch memory for intermediate buffers.
    pub scratch_bytes: usize,
    /// Bytes of the inputs and outputs (JAX's `bytes accessed` of the arguments and results).
    pub bytes_accessed: usize,
}

/// JAX's `Compiled`: native code for one input signature. `Send + Sync + 'static` when the
/// output pytree type is: any number of threads may call it at once.
pub struct Compiled<Args, Out> {
    inner: Staged<Args, Out>,
    exe: Arc<Executable>,
    lower_time: Duration,
}

/// A borrowed input for [`Compiled::call_into`]: a slice of elements (`&[f32]`, `&[f64]`,
/// `&[i32]`, `&[u32]`, `&[bool]`), row-major, and optionally the shape it has.
#[derive(Clone, Copy, Debug)]
pub struct ArgView<'a> {
    ptr: *const u8,
    len: usize,
    dtype: DType,
    shape: Option<&'a [usize]>,
    _data: PhantomData<&'a [u8]>,
}

impl<'a> ArgView<'a> {
    /// A typed view with a shape (checked against the compiled one, not only the size).
    pub fn new<T: Element>(data: &'a [T], shape: &'a [usize]) -> Self {
        ArgView {
            shape: Some(shape),
            ..ArgView::from(data)
        }
    }
}

impl<'a, T: Element> From<&'a [T]> for ArgView<'a> {
    fn from(data: &'a [T]) -> Self {
        ArgView {
            ptr: data.as_ptr() as *const u8,
            len: data.len(),
            dtype: T::DTYPE,
            shape: None,
            _data: PhantomData,
        }
    }
}

impl<'a, T: Element, const N: usize> From<&'a [T; N]> for ArgView<'a> {
    fn from(data: &'a [T; N]) -> Self {
        ArgView::from(&data[..])
    }
}

/// A caller-owned output for [`Compiled::call_into`]: a mutable slice the result is written
/// to, and optionally the shape it has.
#[derive(Debug)]
pub struct OutView<'a> {
    ptr: *mut u8,
    len: usize,
    dtype: DType,
    shape: Option<&'a [usize]>,
    _data: PhantomData<&'a mut [u8]>,
}

impl<'a> OutView<'a> {
    /// A typed view with a shape (checked against the compiled one, not only the size).
    pub fn new<T: Element>(data: &'a mut [T], shape: &'a [usize]) -> Self {
        OutView {
            shape: Some(shape),
            ..OutView::from(data)
        }
    }
}

impl<'a, T: Element> From<&'a mut [T]> for OutView<'a> {
    fn from(data: &'a mut [T]) -> Self {
        OutView {
            ptr: data.as_mut_ptr() as *mut u8,
            len: data.len(),
            dtype: T::DTYPE,
            shape: None,
            _data: PhantomData,
        }
    }
}

impl<'a, T: Element, const N: usize> From<&'a mut [T; N]> for OutView<'a> {
    fn from(data: &'a mut [T; N]) -> Self {
        OutView::from(&mut data[..])
    }
}

/// Check one view against its compiled type: the dtype, the element count, the shape if the
/// view has one. The message names the argument, both types, and allocates only on error.
fn check_view(
    what: &str,
    i: usize,
    (dtype, len, shape): (DType, usize, Option<&[usize]>),
    want: &Aval,
) -> Result<()> {
    let same = dtype == want.dtype
        && len == want.size()
        && shape.is_none_or(|s| s == want.shape.as_slice());
    if same {
        return Ok(());
    }
    let got = match shape {
        Some(s) => Aval::new(s, dtype).str_long(),
        None => format!("a {} slice of {len} elements", dtype.numpy_name()),
    };
    let message = format!(
        "call_into: {what} {i} is {got} but the function was compiled for {} ({} elements)",
        want.str_long(),
        want.size()
    );
    Err(Error::ArgumentTypes {
        op: "call_into".into(),
        mismatches: vec![ArgumentMismatch {
            name: format!("{what} {i}"),
            expected: (want.shape.clone(), want.dtype),
            got: (shape.map_or_else(|| vec![len], <[usize]>::to_vec), dtype),
        }],
        message,
    })
}

/// How many input or output pointers `call_into` keeps on the stack.
const STACK_PTRS: usize = 16;

thread_local! {
    /// Pointer arrays for calls with more than `STACK_PTRS` inputs or outputs (grown once per
    /// thread, then reused).
    static PTRS: RefCell<(Vec<*const u8>, Vec<*mut u8>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl<Args: ArgTuple, Out: Pytree> Compiled<Args, Out> {
    /// Run on `args`, the jitted function's own arguments; the result in its output pytree.
    ///
    /// # Errors
    /// Arguments of another pytree structure, shapes or dtypes than compiled for (JAX's
    /// wording: "Argument types differ from the types for which this computation was
    /// compiled"), or tracers (a `Compiled` is not traceable).
    pub fn call(&self, args: Args) -> Result<Out> {
        let sig = signature_of(&args);
        let s = &self.inner;
        if sig.treedef != s.in_tree || sig.statics != s.in_statics {
            return Err(Error::type_err(format!(
                "Function compiled with input pytree does not match the input pytree it was \
                 called with: compiled with {}, called with {}",
                s.in_tree, sig.treedef
            )));
        }
        let mismatches: Vec<ArgumentMismatch> = sig
            .avals
            .iter()
            .zip(&s.in_avals)
            .enumerate()
            .filter(|(_, (got, want))| got.shape != want.shape || got.dtype != want.dtype)
            .map(|(j, (got, want))| ArgumentMismatch {
                name: self.leaf_path(j),
                expected: (want.shape.clone(), want.dtype),
                got: (got.shape.clone(), got.dtype),
            })
            .collect();
        if !mismatches.is_empty() {
            let lines: Vec<String> = mismatches
                .iter()
                .map(|m| {
                    format!(
                        "Argument '{}' compiled with {} and called with {}",
                        m.name,
                        Aval::new(m.expected.0.clone(), m.expected.1).str_long(),
                        Aval::new(m.got.0.clone(), m.got.1).str_long()
                    )
                })
                .collect();
            return Err(Error::ArgumentTypes {
                op: "call".into(),
                message: format!(
                    "Argument types differ from the types for which this computation was \
                     compiled. The mismatches are:\n{}",
                    lines.join("\n")
                ),
                mismatches,
            });
        }
        let outs = self.exe.run(&args.leaves())?;
        s.out.rebuild(outs)
    }

    /// `args[i]` for a leaf that is a whole positional argument, `args[i][j]` for the `j`-th
    /// leaf of one.
    fn leaf_path(&self, leaf: usize) -> String {
        crate::observe::leaf_path(&self.inner.arg_leaves, leaf)
    }

    /// Run on borrowed inputs, writing the results into caller-owned outputs: one view per
    /// input and output leaf, in flattening order (`in_avals`, `out_avals`). Each view is
    /// checked once for dtype and element count (and shape, if it has one); then the native
    /// code runs on the slices in place, on the calling thread, with its intermediate buffers
    /// in a per-thread scratch that is grown once and reused. No allocation on this path
    /// (for more than 16 inputs or outputs, a per-thread pointer array is grown once).
    ///
    /// # Errors
    /// The wrong number of views, or a view whose dtype, size or shape is not the compiled
    /// one (the message names which input or output, its type and the compiled type).
    pub fn call_into(&self, inputs: &[ArgView<'_>], outputs: &mut [OutView<'_>]) -> Result<()> {
        let (ins, outs) = (self.exe.in_avals(), self.exe.out_avals());
        if inputs.len() != ins.len() || outputs.len() != outs.len() {
            return Err(Error::type_err(format!(
                "call_into: the function was compiled for {} inputs and {} outputs, got {} and {}",
                ins.len(),
                outs.len(),
                inputs.len(),
                outputs.len()
            )));
        }
        for (i, (v, want)) in inputs.iter().zip(ins).enumerate() {
            check_view("input", i, (v.dtype, v.len, v.shape), want)?;
        }
        for (k, (v, want)) in outputs.iter().zip(outs).enumerate() {
            check_view("output", k, (v.dtype, v.len, v.shape), want)?;
        }
        let run = |ip: &mut [*const u8], op: &mut [*mut u8]| {
            for (p, v) in ip.iter_mut().zip(inputs) {
                *p = v.ptr;
            }
            for (p, v) in op.iter_mut().zip(outputs.iter()) {
                *p = v.ptr;
            }
            // SAFETY: each input view borrows `len` elements of its dtype and each output view
            // borrows `len` writable elements of its dtype exclusively (`&mut`, so no output
            // aliases an input or another output); both were checked above to be exactly the
            // compiled dtype and element count.
            unsafe { self.exe.call_ptrs(ip, op, false) };
        };
        if inputs.len() <= STACK_PTRS && outputs.len() <= STACK_PTRS {
            let mut ip = [std::ptr::null::<u8>(); STACK_PTRS];
            let mut op = [std::ptr::null_mut::<u8>(); STACK_PTRS];
            run(&mut ip[..inputs.len()], &mut op[..outputs.len()]);
        } else {
            PTRS.with(|p| {
                let mut p = p.borrow_mut();
                let (ip, op) = &mut *p;
                ip.resize(inputs.len(), std::ptr::null());
                op.resize(outputs.len(), std::ptr::null_mut());
                run(ip, op);
            });
        }
        Ok(())
    }

    /// Run on raw buffers with no checks: the native code and nothing else (what
    /// `call_into` runs after its checks).
    ///
    /// # Safety
    /// `inputs` and `outputs` hold one pointer per input and output leaf (`in_avals`,
    /// `out_avals`), each to a buffer of exactly that leaf's dtype and element count, aligned
    /// for the dtype; outputs writable and aliasing nothing else.
    pub unsafe fn call_unchecked(&self, inputs: &[*const u8], outputs: &[*mut u8]) {
        assert!(inputs.len() == self.exe.in_avals().len());
        assert!(outputs.len() == self.exe.out_avals().len());
        // SAFETY: the caller vouches for the buffers.
        unsafe { self.exe.call_ptrs(inputs, outputs, false) }
    }

    /// The traced jaxpr.
    pub fn jaxpr(&self) -> &ClosedJaxpr {
        &self.inner.jaxpr
    }

    /// The name of the function compiled.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The compiled program as text (JAX's `Compiled.as_text()`): Cranelift's annotated
    /// listing of the machine code.
    pub fn as_text(&self) -> &str {
        self.exe.disassembly().unwrap_or(self.exe.clif_ir())
    }

    /// The Cranelift IR that was compiled.
    pub fn clif_ir(&self) -> &str {
        self.exe.clif_ir()
    }

    /// The machine code (x86-64: `objdump -D -b binary -mi386:x86-64 FILE`).
    pub fn machine_code(&self) -> &[u8] {
        self.exe.machine_code()
    }

    /// The fusion plan, one line per kernel.
    pub fn kernels_summary(&self) -> &str {
        self.exe.kernels_summary()
    }

    /// The types of the flattened inputs (the order of `call_into`'s inputs).
    pub fn in_avals(&self) -> &[Aval] {
        self.exe.in_avals()
    }

    /// The types of the flattened outputs (the order of `call_into`'s outputs).
    pub fn out_avals(&self) -> &[Aval] {
        self.exe.out_avals()
    }

    /// The executable the jit cache would hold for this signature.
    pub fn executable(&self) -> &Arc<Executable> {
        &self.exe
    }

    /// Compile time, code size, kernels, scratch and bytes accessed.
    pub fn cost_analysis(&self) -> CostAnalysis {
        let bytes =
            |a: &[Aval]| -> usize { a.iter().map(|a| a.size() * a.dtype.size_bytes()).sum() };
        CostAnalysis {
            lower_time: self.lower_time,
            compile_time: self.exe.compile_time(),
            code_bytes: self.exe.machine_code().len(),
            kernels: self.exe.num_kernels(),
            scratch_bytes: self.exe.scratch_bytes(),
            bytes_accessed: bytes(self.exe.in_avals()) + bytes(self.exe.out_avals()),
        }
    }

    /// Ahead-of-time export: write a relocatable object file at `path` with the C entry point
    /// `void NAME(const void *const *inputs, void *const *outputs, void *scratch)` and its
    /// header next to it (`path` with extension `h`), for `opts.target` (this machine by
    /// default). Link it with `libcranax_runtime.a` (the `cranax-runtime` crate's static
    /// library) and `-lm -lpthread -ldl`; the inputs and outputs are the leaves in
    /// `in_avals`/`out_avals` order. See `backend::export` for the calling convention.
    ///
    /// # Errors
    /// A name that is not a C identifier, an unsupported target, or a file that cannot be
    /// written.
    pub fn export_object(
        &self,
        path: impl AsRef<Path>,
        opts: &ExportOptions,
    ) -> Result<ExportedObject> {
        self.inner.export(path.as_ref(), opts)
    }
}

impl<Args, Out> std::fmt::Debug for Compiled<Args, Out> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Compiled({}: {:?})", self.inner.name, self.exe)
    }
}

impl<Args, Out> std::fmt::Debug for Lowered<Args, Out> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Lowered({}: {} kernels)",
            self.inner.name,
            self.backend.num_kernels()
        )
    }
}
