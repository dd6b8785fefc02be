//! Transformations, each an interpreter of `bind`, with no per-primitive knowledge:
//! staging (make_jaxpr, jit tracing), jvp, linearize, transpose (vjp), vmap; and `Transforms`,
//! the same transformations applied to the sub-jaxprs of higher-order primitives.

pub mod jvp;
pub mod linearize;
pub mod stage;
pub mod subjaxpr;
pub mod transpose;
pub mod vmap;
