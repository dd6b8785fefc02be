//! `jax.scipy`: SciPy-style functions over the lax primitives (`use cranax::scipy`). So far
//! `scipy::linalg`.

pub mod linalg;
