//! Transformations, each an interpreter of `bind`, with no per-primitive knowledge:
//! staging (make_jaxpr, jit tracing), jvp, linearize, transpose (vjp), vmap.

pub mod jvp;
pub mod linearize;
pub mod stage;
pub mod transpose;
pub mod vmap;
