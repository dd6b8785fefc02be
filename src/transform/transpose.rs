//! Transposition of linear jaxprs (reverse mode): walk the equations backwards, handing each
//! output cotangent to its primitive's transpose rule and accumulating input cotangents with
//! `add_any`. `vjp` is linearize followed by this.

use super::linearize::{linearize_flat, LinearFn};
use super::subjaxpr::Transforms;
use crate::array::Array;
use crate::core::error::Result;
use crate::core::trace::{bind, bind1};
use crate::ir::env::Env;
use crate::ir::{Atom, Eqn, Jaxpr, Var};
use crate::lax;
use crate::prims::{Cotangents, LinArg, Tangent};
use smallvec::SmallVec;

/// Cotangents of the linear inputs of `jaxpr` given cotangents of its outputs. `args` says
/// which inputs are linear (their values unknown) and gives the rest.
pub fn backward_pass(
    jaxpr: &Jaxpr,
    consts: &[Array],
    args: &[LinArg],
    cts_out: &[Tangent],
) -> Result<Cotangents> {
    // Forward: every value that does not depend on a linear input.
    let mut known: Env<Array> = Env::new(jaxpr);
    known.write_all(&jaxpr.constvars, consts.iter().cloned());
    for (v, a) in jaxpr.invars.iter().zip(args) {
        if let LinArg::Known(x) = a {
            known.write(*v, x.clone());
        }
    }
    let mut linear_eqns: SmallVec<[&Eqn; 8]> = SmallVec::new();
    for eqn in &jaxpr.eqns {
        if eqn.inputs.iter().all(|a| known.has(a)) {
            let ins: SmallVec<[Array; 4]> = eqn.inputs.iter().map(|a| known.read(a)).collect();
            if let [v] = eqn.outputs[..] {
                known.write(v, bind1(eqn.prim.clone(), &ins)?);
            } else {
                known.write_all(&eqn.outputs, bind(eqn.prim.clone(), &ins)?);
            }
        } else {
            linear_eqns.push(eqn);
        }
    }
    // Backward.
    let mut cts: Env<Array> = Env::new(jaxpr);
    let accumulate = |cts: &mut Env<Array>, v: Var, ct: Array| -> Result<()> {
        let total = match cts.take(v) {
            None => ct,
            Some(prev) => lax::add_any(&prev, &ct)?,
        };
        cts.write(v, total);
        Ok(())
    };
    for (a, ct) in jaxpr.outvars.iter().zip(cts_out) {
        if let (Atom::Var(v), Some(ct)) = (a, ct) {
            if !known.has(a) {
                accumulate(&mut cts, *v, ct.clone())?;
            }
        }
    }
    for eqn in linear_eqns.iter().rev() {
        // On the stack for the usual one to four outputs and operands (pushed one by one,
        // cheaper than collecting so few).
        let mut eqn_cts: SmallVec<[Tangent; 4]> = SmallVec::new();
        for v in &eqn.outputs {
            eqn_cts.push(cts.take(*v));
        }
        if eqn_cts.iter().all(|c| c.is_none()) {
            continue;
        }
        let mut lin_args: SmallVec<[LinArg; 4]> = SmallVec::new();
        for a in &eqn.inputs {
            lin_args.push(match a {
                Atom::Var(v) if !known.has(a) => LinArg::Linear(jaxpr.aval(*v).clone()),
                _ => LinArg::Known(known.read(a)),
            });
        }
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
        .map(|(v, a)| if a.is_linear() { cts.take(*v) } else { None })
        .collect())
}

impl LinearFn {
    /// The transposed map: cotangents of the inputs from cotangents of the outputs.
    pub fn transpose(&self, cts: &[Tangent]) -> Result<Cotangents> {
        let mut args: SmallVec<[LinArg; 4]> = SmallVec::new();
        for a in &self.in_avals {
            args.push(LinArg::Linear(a.clone()));
        }
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
