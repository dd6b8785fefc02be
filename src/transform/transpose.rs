//! Transposition of linear jaxprs (reverse mode): walk the equations backwards, handing each
//! output cotangent to its primitive's transpose rule and accumulating input cotangents with
//! `add_any`. `vjp` is linearize followed by this.

use super::linearize::{linearize_flat, LinearFn};
use super::subjaxpr::Transforms;
use crate::array::Array;
use crate::core::error::Result;
use crate::core::trace::bind;
use crate::ir::{Atom, Jaxpr, Var};
use crate::lax;
use crate::prims::{LinArg, Tangent};
use std::collections::HashMap;

/// Cotangents of the linear inputs of `jaxpr` given cotangents of its outputs. `args` says
/// which inputs are linear (their values unknown) and gives the rest.
pub fn backward_pass(
    jaxpr: &Jaxpr,
    consts: &[Array],
    args: &[LinArg],
    cts_out: &[Tangent],
) -> Result<Vec<Tangent>> {
    // Forward: every value that does not depend on a linear input.
    let mut known: HashMap<Var, Array> = HashMap::new();
    for (v, c) in jaxpr.constvars.iter().zip(consts) {
        known.insert(*v, c.clone());
    }
    for (v, a) in jaxpr.invars.iter().zip(args) {
        if let LinArg::Known(x) = a {
            known.insert(*v, x.clone());
        }
    }
    let is_known = |known: &HashMap<Var, Array>, a: &Atom| match a {
        Atom::Var(v) => known.contains_key(v),
        Atom::Lit(_) => true,
    };
    let value = |known: &HashMap<Var, Array>, a: &Atom| match a {
        Atom::Var(v) => known[v].clone(),
        Atom::Lit(l) => l.to_array(),
    };
    let mut linear_eqns = Vec::new();
    for eqn in &jaxpr.eqns {
        if eqn.inputs.iter().all(|a| is_known(&known, a)) {
            let ins: Vec<Array> = eqn.inputs.iter().map(|a| value(&known, a)).collect();
            for (v, x) in eqn.outputs.iter().zip(bind(eqn.prim.clone(), &ins)?) {
                known.insert(*v, x);
            }
        } else {
            linear_eqns.push(eqn);
        }
    }
    // Backward.
    let mut cts: HashMap<Var, Array> = HashMap::new();
    let accumulate = |cts: &mut HashMap<Var, Array>, v: Var, ct: Array| -> Result<()> {
        let total = match cts.remove(&v) {
            None => ct,
            Some(prev) => lax::add_any(&prev, &ct)?,
        };
        cts.insert(v, total);
        Ok(())
    };
    for (a, ct) in jaxpr.outvars.iter().zip(cts_out) {
        if let (Atom::Var(v), Some(ct)) = (a, ct) {
            if !known.contains_key(v) {
                accumulate(&mut cts, *v, ct.clone())?;
            }
        }
    }
    for eqn in linear_eqns.iter().rev() {
        let eqn_cts: Vec<Tangent> = eqn.outputs.iter().map(|v| cts.remove(v)).collect();
        if eqn_cts.iter().all(|c| c.is_none()) {
            continue;
        }
        let lin_args: Vec<LinArg> = eqn
            .inputs
            .iter()
            .map(|a| match a {
                Atom::Var(v) if !known.contains_key(v) => LinArg::Linear(jaxpr.aval(*v).clone()),
                _ => LinArg::Known(value(&known, a)),
            })
            .collect();
        let cts_in = eqn.prim.transpose(&eqn_cts, &lin_args, &Transforms)?;
        for ((a, la), ct) in eqn.inputs.iter().zip(&lin_args).zip(cts_in) {
            if let (Atom::Var(v), true, Some(ct)) = (a, la.is_linear(), ct) {
                accumulate(&mut cts, *v, ct)?;
            }
        }
    }
    Ok(jaxpr
        .invars
        .iter()
        .zip(args)
        .map(|(v, a)| if a.is_linear() { cts.remove(v) } else { None })
        .collect())
}

impl LinearFn {
    /// The transposed map: cotangents of the inputs from cotangents of the outputs.
    pub fn transpose(&self, cts: &[Tangent]) -> Result<Vec<Tangent>> {
        let args: Vec<LinArg> = self
            .in_avals
            .iter()
            .map(|a| LinArg::Linear(a.clone()))
            .collect();
        backward_pass(&self.jaxpr.jaxpr, &self.jaxpr.consts, &args, cts)
    }
}

/// `vjp` on flat lists: primal outputs and the pullback.
pub fn vjp_flat(
    f: &dyn Fn(&[Array]) -> Result<Vec<Array>>,
    primals: &[Array],
    wrt: &[bool],
) -> Result<(Vec<Array>, LinearFn)> {
    linearize_flat(f, primals, wrt)
}
