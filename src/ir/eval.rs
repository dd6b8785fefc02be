//! The reference interpreter: runs a jaxpr by binding each equation in turn. At top level that
//! is eager evaluation, the oracle the JIT is tested against; under a transformation it
//! replays the jaxpr through that transformation (how call primitives are transformed).

use super::{Atom, ClosedJaxpr, Jaxpr};
use crate::array::Array;
use crate::core::error::{Error, Result};
use crate::core::trace::bind;

/// Evaluate `jaxpr` on `consts` and `args`.
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
    let mut env: Vec<Option<Array>> = vec![None; jaxpr.avals.len()];
    for (v, x) in jaxpr
        .constvars
        .iter()
        .zip(consts)
        .chain(jaxpr.invars.iter().zip(args))
    {
        env[v.0 as usize] = Some(x.clone());
    }
    let read = |env: &Vec<Option<Array>>, a: &Atom| -> Array {
        match a {
            Atom::Var(v) => env[v.0 as usize]
                .clone()
                .expect("jaxpr variables are defined before use"),
            Atom::Lit(l) => l.to_array(),
        }
    };
    for eqn in &jaxpr.eqns {
        let ins: Vec<Array> = eqn.inputs.iter().map(|a| read(&env, a)).collect();
        let outs = bind(eqn.prim.clone(), &ins)?;
        for (v, x) in eqn.outputs.iter().zip(outs) {
            env[v.0 as usize] = Some(x);
        }
    }
    Ok(jaxpr.outvars.iter().map(|a| read(&env, a)).collect())
}

/// Evaluate a closed jaxpr on `args`.
pub fn eval_closed(cj: &ClosedJaxpr, args: &[Array]) -> Result<Vec<Array>> {
    eval_jaxpr(&cj.jaxpr, &cj.consts, args)
}
