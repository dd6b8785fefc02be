//! Transpose rules: `scan` (JAX's `_scan_transpose`: a reverse scan of the transposed body)
//! and `cond` (a `cond` of the transposed branches); `while` has none (JAX's error).

use super::ControlOp;
use crate::core::error::{Error, Result};
use crate::core::jaxpr_transforms::JaxprTransforms;
use crate::prims::{LinArg, Tangent};

pub fn transpose(
    op: &ControlOp,
    _cts: &[Tangent],
    _args: &[LinArg],
    _sub: &dyn JaxprTransforms,
) -> Result<Vec<Tangent>> {
    Err(Error::type_err(format!(
        "transpose of {} is not implemented yet",
        op.name()
    )))
}
