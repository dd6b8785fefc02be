//! How an eagerly evaluated `pjit` runs native code while the primitive layer knows nothing of
//! the backend: the `jit` layer installs a runner here (`api::jit` does, the first time a `jit`
//! is made, and a `pjit` only exists once one was); before that a `pjit` runs through the
//! reference interpreter. As in JAX, every `pjit` evaluated outside a trace runs compiled code:
//! the ones `grad(jit(f))`, `vmap(jit(f))` or a nested `jit` leave at top level included.

use crate::array::Array;
use crate::core::error::Result;
use crate::ir::ClosedJaxpr;
use std::sync::OnceLock;

/// Compiles (or finds compiled) and runs a closed jaxpr on concrete arguments.
pub type Runner = fn(&ClosedJaxpr, &[Array]) -> Result<Vec<Array>>;

static RUNNER: OnceLock<Runner> = OnceLock::new();

/// Install the runner (the first installation wins; later calls are no-ops).
pub fn install(runner: Runner) {
    let _ = RUNNER.set(runner);
}

/// The installed runner, if any.
pub fn runner() -> Option<Runner> {
    RUNNER.get().copied()
}
