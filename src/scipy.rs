//! `jax.scipy`: SciPy-style functions over the lax primitives (`use cranax::scipy`):
//! `scipy::linalg` and `scipy::special`.

pub mod linalg;
pub mod special;
