//! Batching rules of `while`, `scan` and `cond` (JAX's `_while_loop_batching_rule`,
//! `_scan_batching_rule`, `_cond_batching_rule`).

use super::ControlOp;
use crate::core::error::{Error, Result};
use crate::prims::batching::Batching;
use crate::prims::BatchOut;

pub fn batch(op: &ControlOp, _b: &Batching) -> Result<BatchOut> {
    Err(Error::type_err(format!(
        "vmap of {} is not implemented yet",
        op.name()
    )))
}
