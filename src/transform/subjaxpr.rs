//! `Transforms`: this layer's implementation of `JaxprTransforms`, the interface through which
//! the rules of primitives that carry jaxprs transform them (see `core::jaxpr_transforms`).
//! Every interpreter hands `&Transforms` to the rules it runs.

use super::jvp::jvp_eval_jaxpr;
use super::stage::{trace_to_jaxpr, StagingInterp};
use super::transpose;
use super::vmap::batch_eval_jaxpr;
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::Result;
use crate::core::jaxpr_transforms::{FlatFn, JaxprTransforms, PartialJaxpr};
use crate::core::trace::{self, with_interpreter, Interpreter};
use crate::ir::eval::eval_closed;
use crate::ir::{ClosedJaxpr, Jaxpr};
use crate::lax;
use crate::prims::batching::bdim_to_front;
use crate::prims::{BatchOut, Cotangents, JvpOut, LinArg, Tangent};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

/// The transformations of `src/transform/`, applied to sub-jaxprs.
#[derive(Debug)]
pub struct Transforms;

impl JaxprTransforms for Transforms {
    fn trace(&self, f: FlatFn, in_avals: &[Aval]) -> Result<ClosedJaxpr> {
        trace_to_jaxpr(f, in_avals)
    }

    fn jvp_call(
        &self,
        jaxpr: &ClosedJaxpr,
        primals: &[Array],
        tangents: &[Tangent],
    ) -> Result<JvpOut> {
        jvp_eval_jaxpr(jaxpr, primals, tangents)
    }

    fn jvp_jaxpr(
        &self,
        jaxpr: &ClosedJaxpr,
        nonzeros: &[bool],
        instantiate: &[bool],
    ) -> Result<(ClosedJaxpr, Vec<bool>)> {
        let in_avals = jaxpr.in_avals();
        let n = in_avals.len();
        let tangent_avals = in_avals
            .iter()
            .zip(nonzeros)
            .filter(|(_, &nz)| nz)
            .map(|(a, _)| a.clone().weak(false));
        let all_avals: Vec<Aval> = in_avals.iter().cloned().chain(tangent_avals).collect();
        let out_nonzeros = RefCell::new(Vec::new());
        let jvp = trace_to_jaxpr(
            &|args: &[Array]| {
                let (primals, mut given) = (&args[..n], args[n..].iter());
                let tangents: Vec<Tangent> = nonzeros
                    .iter()
                    .map(|&nz| if nz { given.next().cloned() } else { None })
                    .collect();
                let (mut outs, touts) = jvp_eval_jaxpr(jaxpr, primals, &tangents)?;
                let mut nonzero = Vec::with_capacity(touts.len());
                for ((t, &inst), aval) in touts.into_iter().zip(instantiate).zip(jaxpr.out_avals())
                {
                    let t = match t {
                        None if inst => Some(lax::zeros(&aval.weak(false))?),
                        t => t,
                    };
                    nonzero.push(t.is_some());
                    outs.extend(t);
                }
                *out_nonzeros.borrow_mut() = nonzero;
                Ok(outs)
            },
            &all_avals,
        )?;
        Ok((jvp, out_nonzeros.into_inner()))
    }

    fn partial_eval_jaxpr(
        &self,
        jaxpr: &ClosedJaxpr,
        unknowns: &[bool],
        instantiate: &[bool],
    ) -> Result<PartialJaxpr> {
        // Two staging traces: the known side records what the known inputs compute; the
        // unknown side, in partial-evaluation mode, hands it every equation that touches no
        // unknown value and records the rest, taking known values as constvars: the residuals.
        let known_side = StagingInterp::new(trace::current(), false);
        let known_ctx: Rc<dyn Interpreter> = known_side.clone();
        let unknown_side = StagingInterp::new(Some(known_ctx.clone()), true);
        let args: Vec<Array> = jaxpr
            .in_avals()
            .into_iter()
            .zip(unknowns)
            .map(|(aval, &u)| {
                if u {
                    unknown_side.new_arg(aval)
                } else {
                    known_side.new_arg(aval)
                }
            })
            .collect();
        let unknown_ctx: Rc<dyn Interpreter> = unknown_side.clone();
        let outs = with_interpreter(Some(unknown_ctx), || eval_closed(jaxpr, &args))?;
        let out_unknowns: Vec<bool> = outs
            .iter()
            .zip(instantiate)
            .map(|(o, &inst)| inst || unknown_side.owns(o))
            .collect();
        let pick = |unknown: bool| -> Vec<Array> {
            outs.iter()
                .zip(&out_unknowns)
                .filter(|(_, &u)| u == unknown)
                .map(|(o, _)| o.clone())
                .collect()
        };
        let staged =
            with_interpreter(Some(known_ctx.clone()), || unknown_side.finish(&pick(true)))?;
        let num_res = staged.consts.len();
        let known_outs: Vec<Array> = pick(false).into_iter().chain(staged.consts).collect();
        let known = with_interpreter(Some(known_ctx), || known_side.finish(&known_outs))?;
        // The residuals (the unknown side's constvars) become its leading inputs.
        let j = &staged.jaxpr;
        let unknown = ClosedJaxpr {
            jaxpr: Arc::new(Jaxpr {
                avals: j.avals.clone(),
                constvars: vec![],
                invars: j.constvars.iter().chain(&j.invars).copied().collect(),
                eqns: j.eqns.clone(),
                outvars: j.outvars.clone(),
            }),
            consts: vec![],
        };
        Ok(PartialJaxpr {
            known,
            unknown,
            out_unknowns,
            num_res,
        })
    }

    fn backward_pass(
        &self,
        jaxpr: &ClosedJaxpr,
        args: &[LinArg],
        cts_out: &[Tangent],
    ) -> Result<Cotangents> {
        transpose::backward_pass(&jaxpr.jaxpr, &jaxpr.consts, args, cts_out)
    }

    fn batch_call(
        &self,
        jaxpr: &ClosedJaxpr,
        args: &[Array],
        dims: &[Option<usize>],
        axis_size: usize,
    ) -> Result<BatchOut> {
        batch_eval_jaxpr(jaxpr, args, dims, axis_size)
    }

    fn batch_jaxpr(
        &self,
        jaxpr: &ClosedJaxpr,
        axis_size: usize,
        in_batched: &[bool],
        instantiate: &[bool],
    ) -> Result<(ClosedJaxpr, Vec<bool>)> {
        let in_avals: Vec<Aval> = jaxpr
            .in_avals()
            .into_iter()
            .zip(in_batched)
            .map(|(mut aval, &b)| {
                if b {
                    aval.shape.insert(0, axis_size);
                }
                aval
            })
            .collect();
        let dims: Vec<Option<usize>> = in_batched.iter().map(|&b| b.then_some(0)).collect();
        let out_batched = RefCell::new(Vec::new());
        let batched = trace_to_jaxpr(
            &|args: &[Array]| {
                let (outs, out_dims) = batch_eval_jaxpr(jaxpr, args, &dims, axis_size)?;
                let mut batched = Vec::with_capacity(outs.len());
                let outs = outs
                    .iter()
                    .zip(out_dims)
                    .zip(instantiate)
                    .map(|((o, d), &inst)| {
                        batched.push(d.is_some() || inst);
                        if d.is_some() || inst {
                            bdim_to_front(o, d, axis_size)
                        } else {
                            Ok(o.clone())
                        }
                    })
                    .collect::<Result<_>>()?;
                *out_batched.borrow_mut() = batched;
                Ok(outs)
            },
            &in_avals,
        )?;
        Ok((batched, out_batched.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    /// `f(x, y) = (sin(x) * y, y)` on f32[3] and its values at a point.
    fn example() -> (ClosedJaxpr, Array, Array) {
        let aval = Aval::new([3], DType::F32);
        let f = |a: &[Array]| Ok(vec![lax::mul(&lax::sin(&a[0])?, &a[1])?, a[1].clone()]);
        let cj = trace_to_jaxpr(&f, &[aval.clone(), aval]).unwrap();
        let x = Array::from_vec(vec![0.1f32, 0.2, 0.3], &[3]).unwrap();
        let y = Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
        (cj, x, y)
    }

    fn values(a: &Array) -> Vec<f32> {
        a.to_vec::<f32>().unwrap()
    }

    #[test]
    fn jvp_jaxpr_keeps_the_nonzero_tangents() {
        let (cj, x, y) = example();
        let (jvp, out_nz) = Transforms
            .jvp_jaxpr(&cj, &[true, false], &[false, false])
            .unwrap();
        assert_eq!(out_nz, vec![true, false]);
        let tx = Array::from_vec(vec![1.0f32, 1.0, 1.0], &[3]).unwrap();
        let outs = eval_closed(&jvp, &[x.clone(), y.clone(), tx]).unwrap();
        assert_eq!(outs.len(), 3);
        let want: Vec<f32> = values(&lax::mul(&lax::cos(&x).unwrap(), &y).unwrap());
        assert_eq!(values(&outs[2]), want);
        let (_, out_nz) = Transforms
            .jvp_jaxpr(&cj, &[true, false], &[false, true])
            .unwrap();
        assert_eq!(out_nz, vec![true, true]);
    }

    #[test]
    fn partial_eval_jaxpr_splits_known_from_unknown() {
        let (cj, x, y) = example();
        let pe = Transforms
            .partial_eval_jaxpr(&cj, &[false, true], &[false, false])
            .unwrap();
        assert_eq!(pe.out_unknowns, vec![true, true]);
        let res = eval_closed(&pe.known, std::slice::from_ref(&x)).unwrap();
        assert_eq!(res.len(), pe.num_res);
        let args: Vec<Array> = res.into_iter().chain([y.clone()]).collect();
        let outs = eval_closed(&pe.unknown, &args).unwrap();
        let whole = eval_closed(&cj, &[x, y]).unwrap();
        assert_eq!(values(&outs[0]), values(&whole[0]));
        assert_eq!(values(&outs[1]), values(&whole[1]));
    }

    #[test]
    fn partial_eval_jaxpr_keeps_known_outputs_known_unless_instantiated() {
        let (cj, x, y) = example();
        let pe = Transforms
            .partial_eval_jaxpr(&cj, &[true, false], &[false, false])
            .unwrap();
        assert_eq!(pe.out_unknowns, vec![true, false]);
        // Known side: y itself, then the residuals.
        let known = eval_closed(&pe.known, std::slice::from_ref(&y)).unwrap();
        assert_eq!(known.len(), 1 + pe.num_res);
        assert_eq!(values(&known[0]), values(&y));
        let args: Vec<Array> = known[1..].iter().cloned().chain([x.clone()]).collect();
        let outs = eval_closed(&pe.unknown, &args).unwrap();
        let whole = eval_closed(&cj, &[x, y]).unwrap();
        assert_eq!(values(&outs[0]), values(&whole[0]));
        let pe = Transforms
            .partial_eval_jaxpr(&cj, &[true, false], &[false, true])
            .unwrap();
        assert_eq!(pe.out_unknowns, vec![true, true]);
    }

    /// The reverse-mode recipe of a loop body: jvp, split off the tangent part, transpose it.
    #[test]
    fn jvp_then_partial_eval_then_backward_pass_is_the_vjp() {
        let (cj, x, y) = example();
        let (jvp, _) = Transforms
            .jvp_jaxpr(&cj, &[true, false], &[true, true])
            .unwrap();
        // Inputs (x, y, tx): only the tangent is unknown.
        let pe = Transforms
            .partial_eval_jaxpr(&jvp, &[false, false, true], &[false, false, true, true])
            .unwrap();
        assert_eq!(pe.out_unknowns, vec![false, false, true, true]);
        let known = eval_closed(&pe.known, &[x.clone(), y.clone()]).unwrap();
        let args: Vec<LinArg> = known[2..]
            .iter()
            .map(|r| LinArg::Known(r.clone()))
            .chain([LinArg::Linear(x.aval().clone().weak(false))])
            .collect();
        let ct = Array::from_vec(vec![1.0f32, 1.0, 1.0], &[3]).unwrap();
        let cts = Transforms
            .backward_pass(&pe.unknown, &args, &[Some(ct), None])
            .unwrap();
        let want = values(&lax::mul(&lax::cos(&x).unwrap(), &y).unwrap());
        assert_eq!(values(cts[pe.num_res].as_ref().unwrap()), want);
    }

    #[test]
    fn batch_jaxpr_batches_what_depends_on_a_batched_input() {
        let (cj, x, y) = example();
        let (batched, out_b) = Transforms
            .batch_jaxpr(&cj, 2, &[true, false], &[false, false])
            .unwrap();
        assert_eq!(out_b, vec![true, false]);
        let xs = lax::concatenate(
            &[
                lax::expand_dims(&x, 0).unwrap(),
                lax::expand_dims(&x, 0).unwrap(),
            ],
            0,
        )
        .unwrap();
        let outs = eval_closed(&batched, &[xs, y.clone()]).unwrap();
        assert_eq!(outs[0].shape(), &[2, 3]);
        let one = eval_closed(&cj, &[x, y]).unwrap();
        assert_eq!(values(&outs[0])[3..], values(&one[0])[..]);
        let (_, out_b) = Transforms
            .batch_jaxpr(&cj, 2, &[true, false], &[false, true])
            .unwrap();
        assert_eq!(out_b, vec![true, true]);
    }
}
