//! The table of every `extern "C"` entry point compiled code calls: its symbol name, its
//! address in this process and how each parameter is passed. The JIT binds the names to these
//! addresses; an exported object file refers to the same names, resolved by linking this
//! crate's static library (`libcranax_runtime.a`). Adding a kernel is one line here.
//!
//! A compiled function imports only the entry points it calls, each found here by name.

use crate::linalg::*;
use crate::sort::*;
use crate::special::entry::*;
use crate::vecmath::*;
use crate::*;

/// How compiled code passes one parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// A pointer or a `usize`.
    Ptr,
    /// A `u32` (a flags word).
    U32,
    /// An `f32` value (in a float register).
    F32,
    /// An `f64` value.
    F64,
}

/// One entry point: `name` is its `#[no_mangle]` symbol.
#[derive(Debug)]
pub struct Symbol {
    /// The symbol.
    pub name: &'static str,
    /// The function's address in this process.
    pub addr: *const u8,
    /// Its parameters' types, in order.
    pub params: &'static [Param],
    /// The return value's kind (none for kernels that write through pointers).
    pub returns: Option<Param>,
}

// SAFETY: `addr` is the address of a function, which never changes and is never written
// through; sharing it between threads is sharing an integer.
unsafe impl Sync for Symbol {}

macro_rules! symbol {
    ($f:ident($($p:ident),*)) => {
        Symbol {
            name: stringify!($f),
            addr: $f as *const u8,
            params: &[$(Param::$p),*],
            returns: None,
        }
    };
    ($f:ident($($p:ident),*) -> $r:ident) => {
        Symbol {
            name: stringify!($f),
            addr: $f as *const u8,
            params: &[$(Param::$p),*],
            returns: Some(Param::$r),
        }
    };
}

/// Every entry point compiled code may call.
pub static SYMBOLS: &[Symbol] = &[
    symbol!(cranax_matmul_f32(
        Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr
    )),
    symbol!(cranax_matmul_f64(
        Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr
    )),
    symbol!(cranax_cholesky_f32(Ptr, Ptr, Ptr, Ptr)),
    symbol!(cranax_cholesky_f64(Ptr, Ptr, Ptr, Ptr)),
    symbol!(cranax_triangular_solve_f32(
        U32, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr
    )),
    symbol!(cranax_triangular_solve_f64(
        U32, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr
    )),
    symbol!(cranax_lu_packed_f32(Ptr, Ptr, Ptr, Ptr, Ptr)),
    symbol!(cranax_lu_packed_f64(Ptr, Ptr, Ptr, Ptr, Ptr)),
    symbol!(cranax_lu_pivots_to_permutation(Ptr, Ptr, Ptr, Ptr, Ptr)),
    symbol!(cranax_decompose_f32(Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr)),
    symbol!(cranax_decompose_f64(Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr)),
    // The scalar special functions (`crate::special`), called once per element.
    symbol!(cranax_lgamma_f32(F32) -> F32),
    symbol!(cranax_lgamma_f64(F64) -> F64),
    symbol!(cranax_digamma_f32(F32) -> F32),
    symbol!(cranax_digamma_f64(F64) -> F64),
    symbol!(cranax_erf_f32(F32) -> F32),
    symbol!(cranax_erf_f64(F64) -> F64),
    symbol!(cranax_erfc_f32(F32) -> F32),
    symbol!(cranax_erfc_f64(F64) -> F64),
    symbol!(cranax_polygamma_f32(F32, F32) -> F32),
    symbol!(cranax_polygamma_f64(F64, F64) -> F64),
    symbol!(cranax_fmod_f32(F32, F32) -> F32),
    symbol!(cranax_fmod_f64(F64, F64) -> F64),
    symbol!(cranax_sort_perm(U32, Ptr, Ptr, Ptr, Ptr, Ptr)),
    // Wide-vector block kernels (`crate::vecmath`): fused and unfused, `(src, dst, n)`.
    symbol!(cranax_exp_f32_block(Ptr, Ptr, Ptr)),
    symbol!(cranax_exp_f32_block_unfused(Ptr, Ptr, Ptr)),
    symbol!(cranax_log_f32_block(Ptr, Ptr, Ptr)),
    symbol!(cranax_log_f32_block_unfused(Ptr, Ptr, Ptr)),
    symbol!(cranax_log1p_f32_block(Ptr, Ptr, Ptr)),
    symbol!(cranax_log1p_f32_block_unfused(Ptr, Ptr, Ptr)),
    symbol!(cranax_tanh_f32_block(Ptr, Ptr, Ptr)),
    symbol!(cranax_tanh_f32_block_unfused(Ptr, Ptr, Ptr)),
    symbol!(cranax_tanh_grad_f32_block(Ptr, Ptr, Ptr)),
    symbol!(cranax_tanh_grad_f32_block_unfused(Ptr, Ptr, Ptr)),
    symbol!(cranax_logistic_f32_block(Ptr, Ptr, Ptr)),
    symbol!(cranax_logistic_f32_block_unfused(Ptr, Ptr, Ptr)),
    symbol!(cranax_sin_f32_block(Ptr, Ptr, Ptr)),
    symbol!(cranax_sin_f32_block_unfused(Ptr, Ptr, Ptr)),
    symbol!(cranax_cos_f32_block(Ptr, Ptr, Ptr)),
    symbol!(cranax_cos_f32_block_unfused(Ptr, Ptr, Ptr)),
];

/// The entry point named `name`.
pub fn symbol(name: &str) -> Option<&'static Symbol> {
    SYMBOLS.iter().find(|s| s.name == name)
}

/// The position of `name` in [`SYMBOLS`].
pub fn index(name: &str) -> Option<usize> {
    SYMBOLS.iter().position(|s| s.name == name)
}
