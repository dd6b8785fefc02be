//! The native backend: jaxprs lowered to Cranelift functions, cached by signature.
//! (Placeholder interface while the Cranelift lowering lands: `compile` must return native code.)

use crate::array::Array;
use crate::core::error::Result;
use crate::ir::ClosedJaxpr;
use std::sync::Arc;

/// A compiled function for one input signature.
pub struct Executable {
    jaxpr: ClosedJaxpr,
}

impl Executable {
    pub fn run(&self, args: &[Array]) -> Result<Vec<Array>> {
        crate::ir::eval::eval_closed(&self.jaxpr, args)
    }
}

pub fn compile(jaxpr: &ClosedJaxpr) -> Result<Arc<Executable>> {
    Ok(Arc::new(Executable {
        jaxpr: jaxpr.clone(),
    }))
}
