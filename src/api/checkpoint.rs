//! `checkpoint` (JAX's `jax.checkpoint`, alias `remat`): a function whose intermediate values
//! are not stored for differentiation but recomputed from its inputs when the derivative needs
//! them, trading compute for memory (for example the body of a long `scan` under `grad`).
//! Only the default policy (nothing saveable) is offered.

use super::{leaf_avals, stage, Function};
use crate::core::error::Result;
use crate::core::trace::bind;
use crate::prims::{CallOp, Prim};
use crate::pytree::{ArgTuple, Pytree};

/// `checkpoint(f)`: `f`, with its residuals recomputed under differentiation.
pub fn checkpoint<F>(f: F) -> Checkpoint<F> {
    Checkpoint { f }
}

/// JAX's other name for `checkpoint`.
pub fn remat<F>(f: F) -> Checkpoint<F> {
    checkpoint(f)
}

#[derive(Clone)]
/// `checkpoint(f)` / `remat(f)`: `f` whose intermediates are recomputed, not stored, for its derivative.
pub struct Checkpoint<F> {
    f: F,
}

impl<F> std::fmt::Debug for Checkpoint<F> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoint").finish_non_exhaustive()
    }
}

impl<Args, F> Function<Args> for Checkpoint<F>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    type Output = F::Output;

    /// Binds one `remat2` equation; what `f` closes over becomes leading operands (JAX's
    /// `convert_constvars_jaxpr`), so derivatives with respect to captured values flow through.
    fn call(&self, args: Args) -> Result<F::Output> {
        let leaves = args.leaves();
        let (closed, template) = stage(&self.f, &args, &leaf_avals(&leaves))?;
        let (jaxpr, consts) = closed.consts_as_invars();
        let prim = Prim::Call(CallOp::Remat {
            jaxpr,
            differentiated: false,
            prevent_cse: true,
        });
        let operands: Vec<_> = consts.into_iter().chain(leaves).collect();
        template.rebuild(bind(prim, &operands)?)
    }

    fn name(&self) -> String {
        self.f.name()
    }
}
