//! Transpose rules: `scan` (JAX's `_scan_transpose`: a scan in the opposite direction whose
//! body is the backward pass of the body) and `cond` (JAX's `_cond_transpose`: a `cond` of the
//! branches' backward passes); `while` has none (JAX's error).

use super::{bind_cond, bind_scan, slice_aval, ControlOp, ScanRun};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::core::jaxpr_transforms::JaxprTransforms;
use crate::ir::ClosedJaxpr;
use crate::lax;
use crate::prims::{LinArg, Tangent};

/// # Errors
/// A linear operand used non-linearly, or an error of a primitive the rule binds.
pub fn transpose(
    op: &ControlOp,
    cts: &[Tangent],
    args: &[LinArg],
    sub: &dyn JaxprTransforms,
) -> Result<Vec<Tangent>> {
    match op {
        ControlOp::While { .. } => Err(Error::value_err(
            "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic start/stop values. Try using lax.scan, or using fori_loop with static start/stop.",
        )),
        ControlOp::Cond { branches } => cond_transpose(branches, cts, args, sub),
        ControlOp::Scan {
            jaxpr,
            length,
            reverse,
            num_consts,
            num_carry,
            unroll,
            ..
        } => {
            let (consts, rest) = args.split_at(*num_consts);
            let (carry, xs) = rest.split_at(*num_carry);
            let scan = ScanT {
                jaxpr,
                run: ScanRun {
                    length: *length,
                    reverse: !*reverse,
                    unroll: *unroll,
                },
            };
            scan.transpose((consts, carry, xs), cts, sub)
        }
    }
}

/// A cotangent, zeros for a symbolic zero.
fn instantiate(ct: Tangent, aval: &Aval) -> Result<Array> {
    ct.map_or_else(|| lax::zeros(&aval.clone().weak(false)), Ok)
}

fn known_values(args: &[LinArg]) -> Vec<Array> {
    args.iter()
        .filter_map(|a| a.known().ok().cloned())
        .collect()
}

fn linear_avals(args: &[LinArg]) -> Vec<Aval> {
    args.iter()
        .filter(|a| a.is_linear())
        .map(|a| a.aval().clone().weak(false))
        .collect()
}

/// `args` with the known values replaced, in order, by `known` (the tracers of a sub-trace).
fn with_known(args: &[LinArg], known: &mut dyn Iterator<Item = Array>) -> Vec<LinArg> {
    args.iter()
        .map(|a| match a {
            LinArg::Known(_) => LinArg::Known(known.next().expect("one value per known operand")),
            linear => linear.clone(),
        })
        .collect()
}

/// The cotangents of the linear operands among `args`, zeros instantiated.
fn linear_cts(args: &[LinArg], grads: impl IntoIterator<Item = Tangent>) -> Result<Vec<Array>> {
    args.iter()
        .zip(grads)
        .filter(|(a, _)| a.is_linear())
        .map(|(a, g)| instantiate(g, a.aval()))
        .collect()
}

/// Per operand: its cotangent (the next of `grads`) if linear, none if known.
fn spread(args: &[LinArg], grads: Vec<Array>) -> Vec<Tangent> {
    let mut grads = grads.into_iter();
    args.iter()
        .map(|a| if a.is_linear() { grads.next() } else { None })
        .collect()
}

/// A scan to transpose: its body, and how the transposed scan runs (the other way).
struct ScanT<'a> {
    jaxpr: &'a ClosedJaxpr,
    run: ScanRun,
}

impl ScanT<'_> {
    /// A scan the other way over (known xs, cotangents of ys), carrying (cotangents of the
    /// linear consts, accumulated; cotangents of the carry), producing the linear xs'
    /// cotangents as ys. Known consts and xs are residuals.
    fn transpose(
        &self,
        (consts, carry, xs): (&[LinArg], &[LinArg], &[LinArg]),
        cts: &[Tangent],
        sub: &dyn JaxprTransforms,
    ) -> Result<Vec<Tangent>> {
        // A known initial carry is a zero tangent instantiated under linearize (a constant
        // of the linear function): as in JAX, the body is still transposed in it, and its
        // cotangent dropped.
        let carry_lin: Vec<LinArg> = carry
            .iter()
            .map(|a| LinArg::Linear(a.aval().clone()))
            .collect();
        let ncar = carry.len();
        let known_consts = known_values(consts);
        let const_avals = linear_avals(consts);
        let carry_avals = linear_avals(&carry_lin);
        let known_xs = known_values(xs);
        let (ct_carry, ct_ys) = cts.split_at(ncar);
        let ct_consts: Vec<Array> = const_avals.iter().map(lax::zeros).collect::<Result<_>>()?;
        let ct_carry: Vec<Array> = ct_carry
            .iter()
            .zip(&carry_avals)
            .map(|(c, a)| instantiate(c.clone(), a))
            .collect::<Result<_>>()?;
        let given_ys: Vec<Array> = ct_ys.iter().flatten().cloned().collect();

        // The body's operands as the backward pass sees them: slices of the xs.
        let x_slices: Vec<LinArg> = xs
            .iter()
            .map(|a| match a {
                LinArg::Linear(aval) => LinArg::Linear(slice_aval(aval)),
                known => known.clone(),
            })
            .collect();
        let slice_avals = |v: &[Array]| v.iter().map(|x| slice_aval(x.aval())).collect();
        let avals: Vec<Aval> = [
            known_consts.iter().map(|c| c.aval().clone()).collect(),
            const_avals.clone(),
            carry_avals,
            slice_avals(&known_xs),
            slice_avals(&given_ys),
        ]
        .concat();
        let (nkc, nlc, nkx) = (known_consts.len(), const_avals.len(), known_xs.len());
        let body = sub.trace(
            &|args: &[Array]| {
                let (kc, rest) = args.split_at(nkc);
                let (acc, rest) = rest.split_at(nlc);
                let (ct_carry, rest) = rest.split_at(ncar);
                let (kx, ct_y) = rest.split_at(nkx);
                let lin_args = [
                    with_known(consts, &mut kc.iter().cloned()),
                    carry_lin.clone(),
                    with_known(&x_slices, &mut kx.iter().cloned()),
                ]
                .concat();
                let mut ct_y = ct_y.iter();
                let cts_out: Vec<Tangent> = ct_carry
                    .iter()
                    .cloned()
                    .map(Some)
                    .chain(
                        ct_ys
                            .iter()
                            .map(|c| c.as_ref().and_then(|_| ct_y.next().cloned())),
                    )
                    .collect();
                let mut grads = sub
                    .backward_pass(self.jaxpr, &lin_args, &cts_out)?
                    .into_vec();
                let x_grads = grads.split_off(consts.len() + ncar);
                let carry_grads = grads.split_off(consts.len());
                let acc: Vec<Array> = linear_cts(consts, grads)?
                    .iter()
                    .zip(acc)
                    .map(|(g, a)| lax::add_any(a, g))
                    .collect::<Result<_>>()?;
                Ok([
                    acc,
                    linear_cts(&carry_lin, carry_grads)?,
                    linear_cts(&x_slices, x_grads)?,
                ]
                .concat())
            },
            &avals,
        )?;
        let linear: Vec<bool> = [
            vec![false; nkc],
            vec![true; nlc + ncar],
            vec![false; nkx],
            vec![true; given_ys.len()],
        ]
        .concat();
        let mut outs = bind_scan(
            &body,
            &known_consts,
            &[ct_consts, ct_carry].concat(),
            &[known_xs, given_ys].concat(),
            self.run,
            &linear,
        )?;
        let ct_xs = outs.split_off(nlc + ncar);
        let ct_init = outs.split_off(nlc);
        let ct_init = ct_init.into_iter().zip(carry);
        let ct_init = ct_init.map(|(g, a)| a.is_linear().then_some(g)).collect();
        Ok([spread(consts, outs), ct_init, spread(xs, ct_xs)].concat())
    }
}

/// JAX's `_cond_transpose`: a `cond` on the same index of each branch's backward pass, on the
/// known operands and the nonzero cotangents; its outputs are the linear operands' cotangents.
fn cond_transpose(
    branches: &[ClosedJaxpr],
    cts: &[Tangent],
    args: &[LinArg],
    sub: &dyn JaxprTransforms,
) -> Result<Vec<Tangent>> {
    let Some((LinArg::Known(index), ops)) = args.split_first() else {
        return Err(Error::type_err(
            "cond transpose: the branch index must be known, not linear",
        ));
    };
    let known = known_values(ops);
    let given: Vec<Array> = cts.iter().flatten().cloned().collect();
    let avals: Vec<Aval> = known
        .iter()
        .chain(&given)
        .map(|a| a.aval().clone())
        .collect();
    let n_known = known.len();
    let transposed: Vec<ClosedJaxpr> = branches
        .iter()
        .map(|b| {
            sub.trace(
                &|kc: &[Array]| {
                    let lin_args = with_known(ops, &mut kc[..n_known].iter().cloned());
                    let mut given = kc[n_known..].iter();
                    let cts: Vec<Tangent> = cts
                        .iter()
                        .map(|c| c.as_ref().and_then(|_| given.next().cloned()))
                        .collect();
                    linear_cts(ops, sub.backward_pass(b, &lin_args, &cts)?)
                },
                &avals,
            )
        })
        .collect::<Result<_>>()?;
    let grads = bind_cond(&transposed, index, &[known, given].concat())?;
    Ok([vec![None], spread(ops, grads)].concat())
}
