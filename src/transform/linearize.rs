//! `linearize`: primal outputs computed now (in the parent trace) and the tangent map staged
//! as a linear jaxpr whose constvars are the residuals (JAX's `LinearizeTrace`).

use super::jvp::JvpInterp;
use super::stage::StagingInterp;
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::Result;
use crate::core::trace::{self, with_interpreter, Interpreter};
use crate::ir::eval::eval_closed;
use crate::ir::ClosedJaxpr;
use crate::prims::Tangent;
use smallvec::SmallVec;
use std::rc::Rc;

/// Types of a linear map's inputs or outputs, on the stack for up to four (an eager `grad`
/// of a scalar function linearizes one per call).
pub type LinAvals = SmallVec<[Aval; 4]>;

/// The linear map `tangents in -> tangents out` of a function at a point.
#[derive(Debug, Clone)]
pub struct LinearFn {
    /// `{ lambda residuals ; tangents . ... }`.
    pub jaxpr: ClosedJaxpr,
    /// The types of the inputs (and so of their tangents and cotangents).
    pub in_avals: LinAvals,
    /// The types of the outputs.
    pub out_avals: LinAvals,
}

impl LinearFn {
    /// Apply the linear map (the JVP at the linearization point).
    pub fn call(&self, tangents: &[Array]) -> Result<Vec<Array>> {
        eval_closed(&self.jaxpr, tangents)
    }
}

/// Linearize a flat function at `primals`, differentiating the inputs where `wrt` is true.
pub fn linearize_flat(
    f: &dyn Fn(&[Array]) -> Result<Vec<Array>>,
    primals: &[Array],
    wrt: &[bool],
) -> Result<(Vec<Array>, LinearFn)> {
    let parent = trace::current();
    let tangent_trace = StagingInterp::new(parent.clone(), true);
    let tangent_ctx: Rc<dyn Interpreter> = tangent_trace.clone();
    let interp = JvpInterp::new(parent, Some(tangent_ctx));
    let mut in_avals = LinAvals::new();
    let mut ins: SmallVec<[Array; 4]> = SmallVec::new();
    for (p, &w) in primals.iter().zip(wrt) {
        ins.push(if w {
            let aval = p.aval().clone().weak(false);
            in_avals.push(aval.clone());
            let t = tangent_trace.new_arg(aval);
            interp.dual(p.clone(), Some(t))
        } else {
            p.clone()
        });
    }
    let dyn_interp: Rc<dyn Interpreter> = interp.clone();
    // The primal outputs replace the outputs in their list (no second list is made).
    let mut primal_outs = with_interpreter(Some(dyn_interp), || f(&ins))?;
    let mut tangent_outs: SmallVec<[Array; 4]> = SmallVec::with_capacity(primal_outs.len());
    let mut out_avals = LinAvals::with_capacity(primal_outs.len());
    for o in &mut primal_outs {
        let (p, t): (Array, Tangent) = interp.unpack(o)?;
        out_avals.push(p.aval().clone().weak(false));
        let t = match t {
            Some(t) => t,
            None => with_interpreter(trace::current(), || {
                crate::lax::zeros(&p.aval().clone().weak(false))
            })?,
        };
        *o = p;
        tangent_outs.push(t);
    }
    let jaxpr = tangent_trace.finish(&tangent_outs)?;
    Ok((
        primal_outs,
        LinearFn {
            jaxpr,
            in_avals,
            out_avals,
        },
    ))
}
