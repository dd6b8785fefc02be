// cranax: JAX's transformation core in Rust. Trace a Rust function into a typed IR (a jaxpr),
// differentiate and batch it, and compile it to native code with Cranelift. The crate's
// documentation is README.md (below); the pipeline, as the folders show it: `core` (tracing,
// `bind`) → `prims` (the primitives and all their rules) → `ir` (jaxprs, the reference
// interpreter, printing) → `transform` (jvp, linearize, transpose, vmap, staging) → `backend`
// (Cranelift lowering and the compile cache).
#![doc = include_str!("../README.md")]
// New public items need a `///` comment and public types a `Debug` impl
// (docs/ADDING_A_PRIMITIVE.md); `.ci/run`'s `cargo clippy -- -D warnings` makes a missing one
// an error.
#![warn(missing_docs, missing_debug_implementations)]

pub mod array;
mod array_format;
pub mod config;
pub mod core;
mod defs;
pub mod dtype;
pub mod interop;
pub mod io;
pub mod ir;
pub mod lax;
pub mod prims;
// The transformations' interpreters: public for the tests and benches that trace flat
// functions (`transform::stage::trace_to_jaxpr`), not for users.
#[doc(hidden)]
pub mod transform;

pub use array::{Array, Buffer, Data, Element};
pub use core::aval::Aval;
pub use core::error::{install_quiet_panic_hook, ArgumentMismatch, Error, Result};
pub use dtype::{DType, Scalar};
/// The `half` crate, whose `f16` and `bf16` are the element types of `DType::F16` and
/// `DType::BF16` (re-exported so that a user's version always matches).
pub use half;
pub use ir::ClosedJaxpr;
pub mod api;
pub mod backend;
pub mod pytree;

pub use api::autodiff::{
    grad, jvp, jvp_has_aux, linearize, linearize_has_aux, value_and_grad, vjp, vjp_has_aux, Argnum,
    ARG0, ARG1, ARG10, ARG11, ARG2, ARG3, ARG4, ARG5, ARG6, ARG7, ARG8, ARG9,
};
pub use api::batching::{vmap, Axes};
pub use api::checkpoint::{checkpoint, remat, Checkpoint};
pub use api::control::{cond, fori_loop, scan, switch, while_loop};
pub use api::custom::{custom_jvp, custom_vjp};
pub use api::jacobian::{hessian, jacfwd, jacobian, jacrev};
pub use api::jit::{jit, CacheStats, Jit, Signature};
pub use api::stages::{self, ShapeDtypeStruct};
pub use api::{eval_jaxpr, make_jaxpr, FnResult, Function};
pub use backend::ExportOptions;
/// `#[derive(Pytree)]` for structs (see the `cranax-derive` crate).
pub use cranax_derive::Pytree;
pub use pytree::{MapLeaves, Pytree, Static};
// The derive's output names `::cranax`, which this makes valid inside the crate as well.
extern crate self as cranax;
pub mod nn;
pub mod numpy;
pub mod observe;
mod ops;
pub mod random;
pub mod scipy;
pub mod test_util;
pub mod tree_util;
pub use test_util::check_grads;
pub use tree_util::{
    tree_flatten, tree_leaves, tree_map, tree_map2, tree_structure, tree_unflatten,
};
