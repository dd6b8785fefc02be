//! Cranelift plumbing, the one place Cranelift is set up: the target ISA (the host's, built
//! once, for the JIT; the host or another x86-64/aarch64 triple, position-independent, for
//! object files) and the code of one executable generated into any `cranelift_module::Module`:
//! the entry function `fn(inputs: *const *const u8, outputs: *const *mut u8, scratch: *mut u8,
//! lo: usize, hi: usize)` whose body `emit` writes kernel by kernel, the runtime's kernels
//! imported by symbol name (`cranax_runtime::symbols`), constants as data objects. [`jit`]
//! finishes it in a `JITModule` (symbols bound to this process's addresses); `backend::export`
//! in an `ObjectModule` (symbols left to the linker). Also what users may inspect (CLIF text,
//! machine code).

use super::emit::{buffer_bases, program, FunctionEnv, LinalgFns};
use super::graph::Graph;
use super::plan::{Buf, Plan};
use crate::array::Concrete;
use crate::core::error::{Error, Result};
use cranax_runtime::symbols::{Param, SYMBOLS};
use cranelift_codegen::ir::{
    types, AbiParam, ExtFuncData, ExternalName, FuncRef, GlobalValue, InstBuilder, MemFlagsData,
    Signature, UserExternalName, UserFuncName,
};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, DataDescription, FuncId, Linkage, Module};
use rustc_hash::FxHashMap;
use std::sync::{Arc, OnceLock};

/// An ISA with the backend's flags, and whether it has FMA.
pub struct Target {
    pub isa: OwnedTargetIsa,
    pub fma: bool,
}

/// The backend's flags on the host (`triple: None`, with the host's features) or on `triple`
/// (its baseline features); `pic` for object files, which may be linked into
/// position-independent executables.
fn make_target(triple: Option<target_lexicon::Triple>, pic: bool) -> Result<Target, String> {
    let mut fb = settings::builder();
    let set = |fb: &mut settings::Builder, k: &str, v: &str| {
        fb.set(k, v)
            .map_err(|e| format!("cranelift flag {k}={v}: {e}"))
    };
    // Measured (callgrind, first call vs cached call): the single-pass register allocator
    // cuts a first call's instructions by 0-39% but adds 10-77% to every cached call;
    // opt_level "none" saves nothing at compile time and adds 4-57%. So: speed, and
    // Cranelift's default (backtracking) allocator.
    set(&mut fb, "opt_level", "speed")?;
    // The IR verifier in debug and test builds only (it adds 30-60% to compile time).
    let verify = if cfg!(debug_assertions) {
        "true"
    } else {
        "false"
    };
    set(&mut fb, "enable_verifier", verify)?;
    set(&mut fb, "is_pic", if pic { "true" } else { "false" })?;
    set(&mut fb, "use_colocated_libcalls", "false")?;
    let isa_builder = match triple {
        None => cranelift_native::builder().map_err(|e| e.to_string())?,
        Some(t) => cranelift_codegen::isa::lookup(t.clone())
            .map_err(|e| format!("no Cranelift backend for target {t}: {e}"))?,
    };
    let isa = isa_builder
        .finish(settings::Flags::new(fb))
        .map_err(|e| e.to_string())?;
    let fma = isa
        .isa_flags()
        .iter()
        .any(|f| f.name == "has_fma" && f.as_bool() == Some(true));
    Ok(Target { isa, fma })
}

fn host() -> Result<&'static Target> {
    static HOST: OnceLock<std::result::Result<Target, String>> = OnceLock::new();
    HOST.get_or_init(|| {
        // Setting up the JIT includes its worker pool (as XLA's client starts its threads).
        cranax_runtime::start_workers();
        make_target(None, false)
    })
    .as_ref()
    .map_err(|e| Error::Jit(format!("cannot set up Cranelift for this machine: {e}")))
}

/// The target of an object file: the host (same instruction set features as the JIT, so the
/// same code) or the triple named, e.g. `aarch64-unknown-linux-gnu`.
pub fn object_target(triple: Option<&str>) -> Result<Target> {
    let triple = triple
        .map(|t| {
            t.parse::<target_lexicon::Triple>()
                .map_err(|e| Error::Jit(format!("export: bad target triple {t:?}: {e}")))
        })
        .transpose()?;
    let supported = triple.as_ref().is_none_or(|t| {
        matches!(
            t.architecture,
            target_lexicon::Architecture::X86_64 | target_lexicon::Architecture::Aarch64(_)
        )
    });
    if !supported {
        return Err(Error::Jit(format!(
            "export: target {} is not supported (x86_64 and aarch64 are)",
            triple.map_or(String::new(), |t| t.to_string())
        )));
    }
    make_target(triple, true).map_err(|e| Error::Jit(format!("export: {e}")))
}

/// Whether generated code may use fused multiply-add on this machine.
pub fn host_has_fma() -> bool {
    host().map(|h| h.fma).unwrap_or(false)
}

/// The entry function, declared and written in a module, not yet compiled.
pub struct Built {
    pub fid: FuncId,
    pub ctx: Context,
    /// The function as emitted (before Cranelift's own passes), for its CLIF text, which is
    /// rendered only when asked (`Executable::clif_ir`).
    pub func: cranelift_codegen::ir::Function,
}

/// The symbol of the `k`-th constant of `prefix`'s function.
fn const_symbol(prefix: &str, k: usize) -> String {
    format!("{prefix}const{k}")
}

/// Every constant `g` and its sub-programs read, and the copies `plan` relaid, each once (by
/// the address of its data).
pub fn distinct_consts(g: &Graph, plan: &Plan) -> Vec<Arc<Concrete>> {
    let mut seen = rustc_hash::FxHashSet::default();
    let mut all = [g.all_consts(), plan.relaid_consts()].concat();
    all.retain(|c| seen.insert(c.data.as_ptr() as usize));
    all
}

/// The bytes of a constant.
fn const_bytes(c: &Concrete) -> &[u8] {
    let n = c.data.len() * c.aval.dtype.size_bytes();
    // SAFETY: `data` holds `len()` contiguous elements of the dtype's size (bool is one
    // byte), initialised, alive as long as `c`.
    unsafe { std::slice::from_raw_parts(c.data.as_ptr(), n) }
}

/// How a module gets the constants: imported (bound to their addresses, the JIT) or defined
/// as read-only data objects in it (an object file).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Consts {
    Imported,
    Defined,
}

fn jit_err(what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::Jit(format!("{what}: {e}"))
}

/// The namespace of a runtime entry point's name while its function is being written: the
/// name's index is the entry point's position in `cranax_runtime::symbols::SYMBOLS`, until
/// [`declare_runtime_used`] declares the entry point in the module and renames it.
const RUNTIME_NAMESPACE: u32 = 2;

/// The signature of runtime entry point `s` (pointers as `ptr`).
fn runtime_signature(
    s: &cranax_runtime::symbols::Symbol,
    ptr: types::Type,
    call_conv: CallConv,
) -> Signature {
    let kind = |p: &Param| match p {
        Param::Ptr => ptr,
        Param::U32 => types::I32,
        Param::F32 => types::F32,
        Param::F64 => types::F64,
    };
    let mut sig = Signature::new(call_conv);
    sig.params
        .extend(s.params.iter().map(|p| AbiParam::new(kind(p))));
    sig.returns
        .extend(s.returns.iter().map(|p| AbiParam::new(kind(p))));
    sig
}

/// A reference to the runtime entry point `name` in the function `b` writes, imported on
/// first use (a function imports only the entry points it calls: each import costs Cranelift
/// a signature to lower and the module a declaration). Generated code passes pointers as
/// `i64` and calls with the function's own calling convention, the platform's C one.
pub fn runtime_func(b: &mut FunctionBuilder, name: &str) -> FuncRef {
    let k = cranax_runtime::symbols::index(name)
        .unwrap_or_else(|| panic!("{name} is not in the runtime's symbol table"));
    let user = UserExternalName::new(RUNTIME_NAMESPACE, k as u32);
    let func = &*b.func;
    let imported = func
        .dfg
        .ext_funcs
        .iter()
        .find_map(|(r, ext)| match ext.name {
            ExternalName::User(u) if func.params.user_named_funcs()[u] == user => Some(r),
            _ => None,
        });
    if let Some(r) = imported {
        return r;
    }
    let sig = runtime_signature(&SYMBOLS[k], types::I64, b.func.signature.call_conv);
    let signature = b.import_signature(sig);
    let name = b.func.declare_imported_user_function(user);
    b.import_function(ExtFuncData {
        name: ExternalName::user(name),
        signature,
        colocated: false,
        patchable: false,
    })
}

/// Declare in `module` each runtime entry point `func` imported through [`runtime_func`] (with
/// the signature imported there), and name it by its declaration there (as
/// `Module::declare_func_in_func` would have).
pub fn declare_runtime_used<M: Module>(
    module: &mut M,
    func: &mut cranelift_codegen::ir::Function,
) -> Result<()> {
    let used: Vec<_> = (func.dfg.ext_funcs.values())
        .filter_map(|ext| match ext.name {
            ExternalName::User(r) => {
                let n = &func.params.user_named_funcs()[r];
                (n.namespace == RUNTIME_NAMESPACE).then_some((r, n.index as usize, ext.signature))
            }
            _ => None,
        })
        .collect();
    for (r, k, sig) in used {
        let name = SYMBOLS[k].name;
        let id = module
            .declare_function(name, Linkage::Import, &func.dfg.signatures[sig])
            .map_err(|e| jit_err(&format!("declaring {name}"), &e))?;
        func.params
            .reset_user_func_name(r, UserExternalName::new(0, id.as_u32()));
    }
    Ok(())
}

/// A JIT builder for `isa` with the runtime's entry points bound to their addresses here.
pub fn jit_builder(isa: OwnedTargetIsa) -> JITBuilder {
    let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
    for s in SYMBOLS {
        jb.symbol(s.name, s.addr);
    }
    jb
}

/// Declare the runtime's entry points and the constants in `module` and write the entry
/// function `{prefix}entry` (local) computing `plan` over `g`.
pub fn build<M: Module>(
    module: &mut M,
    fma: bool,
    g: &Graph,
    plan: &Plan,
    prefix: &str,
    consts: Consts,
) -> Result<Built> {
    let ptr = module.target_config().pointer_type();
    let call_conv = module.isa().default_call_conv();
    let mut data_ids = Vec::new();
    for (k, c) in distinct_consts(g, plan).iter().enumerate() {
        let name = const_symbol(prefix, k);
        let linkage = match consts {
            Consts::Imported => Linkage::Import,
            Consts::Defined => Linkage::Local,
        };
        let id = module
            .declare_data(&name, linkage, false, false)
            .map_err(|e| jit_err(&format!("declaring {name}"), &e))?;
        if consts == Consts::Defined {
            let mut desc = DataDescription::new();
            let bytes = const_bytes(c);
            // An empty constant is never read; give its symbol one byte.
            desc.define(
                if bytes.is_empty() {
                    vec![0]
                } else {
                    bytes.to_vec()
                }
                .into(),
            );
            desc.set_align(64);
            module
                .define_data(id, &desc)
                .map_err(|e| jit_err(&format!("defining {name}"), &e))?;
        }
        data_ids.push((c.data.as_ptr() as usize, id));
    }

    let mut sig = Signature::new(call_conv);
    // inputs, outputs, scratch, lo, hi.
    sig.params.extend([AbiParam::new(ptr); 5]);
    let fid = module
        .declare_function(&format!("{prefix}entry"), Linkage::Local, &sig)
        .map_err(|e| jit_err("declaring the entry function", &e))?;

    let mut ctx: Context = module.make_context();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, fid.as_u32());
    let mut fbc = FunctionBuilderContext::new();
    let target = module.target_config();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
        let const_gvs: FxHashMap<usize, GlobalValue> = data_ids
            .iter()
            .map(|&(addr, id)| (addr, module.declare_data_in_func(id, b.func)))
            .collect();
        let linalg = LinalgFns {
            cholesky: ["cranax_cholesky_f32", "cranax_cholesky_f64"],
            triangular_solve: ["cranax_triangular_solve_f32", "cranax_triangular_solve_f64"],
            lu_packed: ["cranax_lu_packed_f32", "cranax_lu_packed_f64"],
            lu_pivots_to_permutation: "cranax_lu_pivots_to_permutation",
            decompose: ["cranax_decompose_f32", "cranax_decompose_f64"],
        };
        let sort_perm = "cranax_sort_perm";
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (inputs, outputs, scratch) = (params[0], params[1], params[2]);
        let trusted = MemFlagsData::trusted();
        let bases = buffer_bases(
            &mut b,
            g,
            plan,
            scratch,
            &const_gvs,
            &mut |b, buf| match buf {
                Buf::Input(i) => b.ins().load(ptr, trusted, inputs, (8 * i) as i32),
                Buf::Output(k) => b.ins().load(ptr, trusted, outputs, (8 * k) as i32),
                _ => unreachable!("only inputs and outputs are passed in"),
            },
        );
        let env = FunctionEnv {
            g,
            plan,
            fma,
            bases,
            matmul: ["cranax_matmul_f32", "cranax_matmul_f64"],
            linalg,
            sort_perm,
            consts: &const_gvs,
            range: (params[3], params[4]),
            scratch,
        };
        program(&env, &mut b)?;
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(target);
    }
    declare_runtime_used(module, &mut ctx.func)?;
    let func = ctx.func.clone();
    Ok(Built { fid, ctx, func })
}

/// Compile a built function into its module: its machine code, and Cranelift's listing of it
/// when `disasm`.
pub fn define<M: Module>(
    module: &mut M,
    built: &mut Built,
    disasm: bool,
) -> Result<(Vec<u8>, Option<String>)> {
    built.ctx.set_disasm(disasm);
    module
        .define_function(built.fid, &mut built.ctx)
        .map_err(|e| {
            jit_err(
                "Cranelift could not compile the function",
                &format!("{e:?}"),
            )
        })?;
    let compiled = built
        .ctx
        .compiled_code()
        .ok_or_else(|| Error::Jit("Cranelift produced no code".into()))?;
    let code = compiled.code_buffer().to_vec();
    let listing = if disasm { compiled.vcode.clone() } else { None };
    module.clear_context(&mut built.ctx);
    Ok((code, listing))
}

/// Add the exported C-ABI function `name(inputs, outputs, scratch)` to `module`: it runs the
/// built entry function on the whole range `0..hi` of its outermost loop, on the calling
/// thread.
pub fn c_entry<M: Module>(module: &mut M, built: &Built, name: &str, hi: usize) -> Result<()> {
    let ptr = module.target_config().pointer_type();
    let mut sig = Signature::new(module.isa().default_call_conv());
    sig.params.extend([AbiParam::new(ptr); 3]);
    let fid = module
        .declare_function(name, Linkage::Export, &sig)
        .map_err(|e| jit_err(&format!("declaring {name}"), &e))?;
    let mut ctx: Context = module.make_context();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, fid.as_u32());
    let mut fbc = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
        let body = module.declare_func_in_func(built.fid, b.func);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        let mut args = b.block_params(block).to_vec();
        args.push(b.ins().iconst(ptr, 0));
        args.push(b.ins().iconst(ptr, hi as i64));
        b.ins().call(body, &args);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(module.target_config());
    }
    module
        .define_function(fid, &mut ctx)
        .map_err(|e| jit_err(&format!("compiling {name}"), &format!("{e:?}")))?;
    Ok(())
}

/// A function built in a JIT module for this machine, not yet compiled.
pub struct JitBuilt {
    pub module: JITModule,
    pub built: Built,
}

/// Write `plan` over `g` as CLIF in a fresh JIT module (runtime entry points and constants
/// bound to their addresses in this process).
pub fn lower_jit(g: &Graph, plan: &Plan) -> Result<JitBuilt> {
    let host = host()?;
    let mut jb = jit_builder(host.isa.clone());
    for (k, c) in distinct_consts(g, plan).iter().enumerate() {
        jb.symbol(const_symbol("", k), c.data.as_ptr());
    }
    let mut module = JITModule::new(jb);
    let built = build(&mut module, host.fma, g, plan, "", Consts::Imported)?;
    Ok(JitBuilt { module, built })
}

/// A finished function and the module owning its code.
pub struct Compiled {
    pub module: JITModule,
    pub entry: *const u8,
    pub func: cranelift_codegen::ir::Function,
    pub code: Vec<u8>,
    pub disasm: Option<String>,
    /// Time in Cranelift itself (optimisation, register allocation, code emission).
    pub cranelift_time: std::time::Duration,
}

fn disasm_wanted() -> bool {
    static FLAG: OnceLock<bool> = OnceLock::new();
    *FLAG
        .get_or_init(|| std::env::var("CRANAX_JIT_DISASM").is_ok_and(|v| !v.is_empty() && v != "0"))
}

impl JitBuilt {
    /// Compile to machine code in this process; with Cranelift's listing when `disasm` (or
    /// `CRANAX_JIT_DISASM=1`).
    pub fn compile(mut self, disasm: bool) -> Result<Compiled> {
        let disasm = disasm || disasm_wanted();
        let cranelift_start = std::time::Instant::now();
        let (code, listing) = define(&mut self.module, &mut self.built, disasm)?;
        self.module
            .finalize_definitions()
            .map_err(|e| jit_err("finalizing the compiled code", &e))?;
        let entry = self.module.get_finalized_function(self.built.fid);
        Ok(Compiled {
            module: self.module,
            entry,
            func: self.built.func,
            code,
            disasm: listing,
            cranelift_time: cranelift_start.elapsed(),
        })
    }
}
