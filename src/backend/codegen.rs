//! Cranelift plumbing: the host ISA (built once), one `JITModule` per executable, the entry
//! function `fn(inputs: *const *const u8, outputs: *const *mut u8, scratch: *mut u8, lo: usize,
//! hi: usize)` whose body `emit` writes kernel by kernel, the runtime's matmul kernels imported by absolute address, and what users may inspect (the
//! emitted IR, machine code, compile time).

use super::emit::{buffer_bases, program, FunctionEnv, LinalgFns};
use super::graph::Graph;
use super::plan::{Buf, Plan};
use crate::core::error::{Error, Result};
use cranax_runtime::linalg as rt;
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, Signature, UserFuncName};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use std::sync::OnceLock;

/// The host ISA with the backend's flags, and whether it has FMA.
struct Host {
    isa: OwnedTargetIsa,
    fma: bool,
}

fn host() -> Result<&'static Host> {
    static HOST: OnceLock<std::result::Result<Host, String>> = OnceLock::new();
    HOST.get_or_init(|| {
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
        set(
            &mut fb,
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        set(&mut fb, "is_pic", "false")?;
        set(&mut fb, "use_colocated_libcalls", "false")?;
        let isa_builder = cranelift_native::builder().map_err(|e| e.to_string())?;
        let isa = isa_builder
            .finish(settings::Flags::new(fb))
            .map_err(|e| e.to_string())?;
        let fma = isa
            .isa_flags()
            .iter()
            .any(|f| f.name == "has_fma" && f.as_bool() == Some(true));
        Ok(Host { isa, fma })
    })
    .as_ref()
    .map_err(|e| Error::Jit(format!("cannot set up Cranelift for this machine: {e}")))
}

/// Whether generated code may use fused multiply-add on this machine.
pub fn host_has_fma() -> bool {
    host().map(|h| h.fma).unwrap_or(false)
}

/// A finished function and the module owning its code.
pub struct Compiled {
    pub module: JITModule,
    pub entry: *const u8,
    /// The function as emitted (before Cranelift's own passes).
    pub func: cranelift_codegen::ir::Function,
    /// Time in Cranelift itself (optimisation, register allocation, code emission).
    pub cranelift_time: std::time::Duration,
    pub code: Vec<u8>,
    pub disasm: Option<String>,
}

fn disasm_wanted() -> bool {
    static FLAG: OnceLock<bool> = OnceLock::new();
    *FLAG
        .get_or_init(|| std::env::var("CRANAX_JIT_DISASM").is_ok_and(|v| !v.is_empty() && v != "0"))
}

/// Compile the kernels of `plan`, in order, into one function.
pub fn compile(g: &Graph, plan: &Plan) -> Result<Compiled> {
    let host = host()?;
    let jit_err = |what: &str, e: &dyn std::fmt::Display| Error::Jit(format!("{what}: {e}"));
    let mut jb = JITBuilder::with_isa(host.isa.clone(), default_libcall_names());
    jb.symbol(
        "cranax_matmul_f32",
        cranax_runtime::cranax_matmul_f32 as *const u8,
    );
    jb.symbol(
        "cranax_matmul_f64",
        cranax_runtime::cranax_matmul_f64 as *const u8,
    );
    let linalg_symbols: [(&str, *const u8); 7] = [
        ("cranax_cholesky_f32", rt::cranax_cholesky_f32 as *const u8),
        ("cranax_cholesky_f64", rt::cranax_cholesky_f64 as *const u8),
        (
            "cranax_triangular_solve_f32",
            rt::cranax_triangular_solve_f32 as *const u8,
        ),
        (
            "cranax_triangular_solve_f64",
            rt::cranax_triangular_solve_f64 as *const u8,
        ),
        (
            "cranax_lu_packed_f32",
            rt::cranax_lu_packed_f32 as *const u8,
        ),
        (
            "cranax_lu_packed_f64",
            rt::cranax_lu_packed_f64 as *const u8,
        ),
        (
            "cranax_lu_pivots_to_permutation",
            rt::cranax_lu_pivots_to_permutation as *const u8,
        ),
    ];
    for (name, addr) in linalg_symbols {
        jb.symbol(name, addr);
    }
    let mut module = JITModule::new(jb);
    let ptr = types::I64;
    let call_conv = module.isa().default_call_conv();

    let mut mm_sig = Signature::new(call_conv);
    for _ in 0..7 {
        mm_sig.params.push(AbiParam::new(ptr));
    }
    let mm_ids = [
        module
            .declare_function("cranax_matmul_f32", Linkage::Import, &mm_sig)
            .map_err(|e| jit_err("declaring cranax_matmul_f32", &e))?,
        module
            .declare_function("cranax_matmul_f64", Linkage::Import, &mm_sig)
            .map_err(|e| jit_err("declaring cranax_matmul_f64", &e))?,
    ];

    // Each linalg entry point: its parameters (pointer-sized unless a u32 flags word).
    let mut linalg_ids = Vec::new();
    for (name, _) in linalg_symbols {
        let mut s = Signature::new(call_conv);
        if name.starts_with("cranax_triangular_solve") {
            s.params.push(AbiParam::new(types::I32));
        }
        let n = match name {
            "cranax_cholesky_f32" | "cranax_cholesky_f64" => 4,
            "cranax_lu_packed_f32" | "cranax_lu_packed_f64" | "cranax_lu_pivots_to_permutation" => {
                5
            }
            _ => 6,
        };
        for _ in 0..n {
            s.params.push(AbiParam::new(ptr));
        }
        let id = module
            .declare_function(name, Linkage::Import, &s)
            .map_err(|e| jit_err(&format!("declaring {name}"), &e))?;
        linalg_ids.push(id);
    }

    let mut sig = Signature::new(call_conv);
    // inputs, outputs, scratch, lo, hi.
    for _ in 0..5 {
        sig.params.push(AbiParam::new(ptr));
    }
    let fid = module
        .declare_function("cranax_entry", Linkage::Local, &sig)
        .map_err(|e| jit_err("declaring the entry function", &e))?;

    let mut ctx: Context = module.make_context();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, fid.as_u32());
    let want_disasm = disasm_wanted();
    ctx.set_disasm(want_disasm);
    let mut fbc = FunctionBuilderContext::new();
    let target = module.target_config();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
        let matmul = [
            module.declare_func_in_func(mm_ids[0], b.func),
            module.declare_func_in_func(mm_ids[1], b.func),
        ];
        let lf: Vec<_> = linalg_ids
            .iter()
            .map(|&id| module.declare_func_in_func(id, b.func))
            .collect();
        let linalg = LinalgFns {
            cholesky: [lf[0], lf[1]],
            triangular_solve: [lf[2], lf[3]],
            lu_packed: [lf[4], lf[5]],
            lu_pivots_to_permutation: lf[6],
        };
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (inputs, outputs, scratch) = (params[0], params[1], params[2]);
        let trusted = MemFlagsData::trusted();
        let bases = buffer_bases(&mut b, g, plan, scratch, &mut |b, buf| match buf {
            Buf::Input(i) => b.ins().load(ptr, trusted, inputs, (8 * i) as i32),
            Buf::Output(k) => b.ins().load(ptr, trusted, outputs, (8 * k) as i32),
            _ => unreachable!("only inputs and outputs are passed in"),
        });
        let env = FunctionEnv {
            g,
            plan,
            fma: host.fma,
            bases,
            matmul,
            linalg,
            range: (params[3], params[4]),
            scratch,
        };
        program(&env, &mut b)?;
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(target);
    }
    // The IR as emitted, kept for `Executable::clif_ir` (rendered as text only when asked).
    let func = ctx.func.clone();
    let cranelift_start = std::time::Instant::now();
    module.define_function(fid, &mut ctx).map_err(|e| {
        jit_err(
            "Cranelift could not compile the function",
            &format!("{e:?}"),
        )
    })?;
    let compiled = ctx
        .compiled_code()
        .ok_or_else(|| Error::Jit("Cranelift produced no code".into()))?;
    let code = compiled.code_buffer().to_vec();
    let disasm = compiled.vcode.clone();
    module.clear_context(&mut ctx);
    module
        .finalize_definitions()
        .map_err(|e| jit_err("finalizing the compiled code", &e))?;
    let entry = module.get_finalized_function(fid);
    Ok(Compiled {
        module,
        entry,
        func,
        cranelift_time: cranelift_start.elapsed(),
        code,
        disasm: if want_disasm { disasm } else { None },
    })
}
