//! Numerical definitions with one home: coefficient tables and constants that eager
//! evaluation (`prims`), compiled code (`backend`) and the samplers (`random`) all read, so
//! that they cannot drift apart. Leaf modules: nothing here imports from the rest of the crate.

pub mod erf;
pub mod erf_inv;
pub mod log;
pub mod threefry;
