//! JVP rules of `while`, `scan` and `cond` (JAX's `_while_loop_jvp`, `_scan_jvp` with
//! `_scan_partial_eval`, `_cond_jvp` with `_cond_partial_eval`).

use super::ControlOp;
use crate::array::Array;
use crate::core::error::{Error, Result};
use crate::core::jaxpr_transforms::JaxprTransforms;
use crate::prims::{JvpOut, Tangent};

pub fn jvp(
    op: &ControlOp,
    _primals: &[Array],
    _tangents: &[Tangent],
    _sub: &dyn JaxprTransforms,
) -> Result<JvpOut> {
    Err(Error::type_err(format!(
        "differentiation of {} is not implemented yet",
        op.name()
    )))
}
