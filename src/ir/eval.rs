//! The reference interpreter: runs a jaxpr by binding each equation in turn. At top level that
//! is eager evaluation, the oracle the JIT is tested against; under a transformation it
//! replays the jaxpr through that transformation (how call primitives are transformed).

use super::env::interpret;
use super::{ClosedJaxpr, Jaxpr};
use crate::array::Array;
use crate::core::error::{Error, Result};
use crate::core::trace::bind;

/// Evaluate `jaxpr` on `consts` and `args`.
///
/// # Errors
/// Arguments whose count or types do not match the jaxpr's inputs, or an error of an equation.
pub fn eval_jaxpr(jaxpr: &Jaxpr, consts: &[Array], args: &[Array]) -> Result<Vec<Array>> {
    if args.len() != jaxpr.invars.len() || consts.len() != jaxpr.constvars.len() {
        return Err(Error::type_err(format!(
            "eval_jaxpr: the jaxpr takes {} consts and {} arguments, got {} and {}",
            jaxpr.constvars.len(),
            jaxpr.invars.len(),
            consts.len(),
            args.len()
        )));
    }
    interpret(
        jaxpr,
        consts.iter().cloned(),
        args.iter().cloned(),
        |eqn, ins| bind(eqn.prim.clone(), &ins),
    )
}

/// Evaluate a closed jaxpr on `args`.
///
/// # Errors
/// As [`eval_jaxpr`].
pub fn eval_closed(cj: &ClosedJaxpr, args: &[Array]) -> Result<Vec<Array>> {
    eval_jaxpr(&cj.jaxpr, &cj.consts, args)
}
