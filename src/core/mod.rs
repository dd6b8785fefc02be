//! The trace machinery: abstract values, errors, the current interpreter and `bind`.

pub mod aval;
pub mod error;
pub mod trace;
