//! Calls from compiled code to the runtime's scalar special functions
//! (`cranax_runtime::special`: `lgamma`, `digamma`, `erf`, `erfc`, `polygamma`, float `rem`).
//!
//! These have no inline polynomial yet: the element (each lane of a vector, in turn) is passed
//! to the runtime's `extern "C"` entry point, imported by symbol name from the runtime's table
//! (`cranax_runtime::symbols`), so the JIT binds it to this process's function and an exported
//! object file to the static library's. Eager evaluation calls the same Rust functions, so
//! compiled and eager results agree bit for bit. The cost is a call per element (~10x an
//! inline polynomial: every vector register is caller-saved).

use super::elementary::per_lane;
use crate::backend::codegen::runtime_func;
use cranelift_codegen::ir::types::{F32, F64};
use cranelift_codegen::ir::{InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// A runtime scalar function (`f32` and `f64` entry points).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuntimeFn {
    Lgamma,
    Digamma,
    Erf,
    Erfc,
    /// `polygamma(m, x)`
    Polygamma,
    /// C's `fmod` (the float `rem`)
    Fmod,
}

impl RuntimeFn {
    /// The entry point's symbol for f32 (`wide = false`) or f64 lanes, and its arity.
    fn entry(self, wide: bool) -> (&'static str, usize) {
        let pick = |f32: &'static str, f64: &'static str| if wide { f64 } else { f32 };
        match self {
            RuntimeFn::Lgamma => (pick("cranax_lgamma_f32", "cranax_lgamma_f64"), 1),
            RuntimeFn::Digamma => (pick("cranax_digamma_f32", "cranax_digamma_f64"), 1),
            RuntimeFn::Erf => (pick("cranax_erf_f32", "cranax_erf_f64"), 1),
            RuntimeFn::Erfc => (pick("cranax_erfc_f32", "cranax_erfc_f64"), 1),
            RuntimeFn::Polygamma => (pick("cranax_polygamma_f32", "cranax_polygamma_f64"), 2),
            RuntimeFn::Fmod => (pick("cranax_fmod_f32", "cranax_fmod_f64"), 2),
        }
    }
}

/// `f(args)` elementwise on scalars or vectors of f32 or f64 (all of one type).
pub fn emit_runtime_call(b: &mut FunctionBuilder, f: RuntimeFn, args: &[Value]) -> Value {
    let lane = b.func.dfg.value_type(args[0]).lane_type();
    let wide = match lane {
        F32 => false,
        F64 => true,
        _ => panic!("runtime call {f:?}: no entry point for lanes of {lane}"),
    };
    let (name, arity) = f.entry(wide);
    assert_eq!(args.len(), arity, "runtime call {f:?}: arity");
    let callee = runtime_func(b, name);
    per_lane(b, args, &|b, xs| {
        let call = b.ins().call(callee, xs);
        b.inst_results(call)[0]
    })
}
