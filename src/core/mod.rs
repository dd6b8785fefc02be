//! The trace machinery: abstract values, errors, the current interpreter and `bind`, and the
//! interface through which primitives' rules transform the jaxprs they carry.

pub mod aval;
pub mod compiled_call;
pub mod error;
pub mod jaxpr_transforms;
// Tracing machinery: public for the tests that bind primitives directly, not for users.
#[doc(hidden)]
pub mod trace;
