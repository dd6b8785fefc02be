//! The trace machinery: abstract values, errors, the current interpreter and `bind`, and the
//! interface through which primitives' rules transform the jaxprs they carry.

pub mod aval;
pub mod compiled_call;
pub mod error;
pub mod jaxpr_transforms;
pub mod trace;
