//! Batching rules of `while`, `scan` and `cond` (JAX's `_while_loop_batching_rule`,
//! `_scan_batching_rule`, `_cond_batching_rule`).
//!
//! Sub-jaxprs are batched with `JaxprTransforms::batch_jaxpr` (batch axis 0 of every batched
//! input and output). A carry that comes out of the body batched must go in batched, so the
//! batched carries are found by a fixpoint, as JAX does. A batched loop predicate or branch
//! index changes the control flow itself:
//! - `while` with a batched predicate runs while any element is still going; the body freezes
//!   the finished elements with a `select_n` on their own predicate (all carries batched);
//! - `cond` with a batched index computes every branch and selects elementwise.

use super::ControlOp;
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::Result;
use crate::core::trace::bind;
use crate::ir::eval::eval_closed;
use crate::ir::ClosedJaxpr;
use crate::lax;
use crate::prims::batching::Batching;
use crate::prims::{BatchOut, Prim};

/// # Errors
/// An error of a primitive the rule binds.
pub fn batch(op: &ControlOp, b: &Batching) -> Result<BatchOut> {
    match op {
        ControlOp::Scan {
            jaxpr,
            length,
            reverse,
            num_consts,
            num_carry,
            linear,
            unroll,
        } => batch_scan(
            b,
            jaxpr,
            *length,
            *reverse,
            *num_consts,
            *num_carry,
            linear,
            *unroll,
        ),
        ControlOp::While {
            cond_jaxpr,
            body_jaxpr,
            cond_nconsts,
            body_nconsts,
        } => batch_while(b, cond_jaxpr, body_jaxpr, *cond_nconsts, *body_nconsts),
        ControlOp::Cond { branches } => batch_cond(b, branches),
    }
}

/// Operand `i` with its batch axis at `axis` if it is to be batched (broadcast if it is not
/// batched yet), else as it is.
fn place(b: &Batching, i: usize, batched: bool, axis: usize) -> Result<Array> {
    if !batched {
        return Ok(b.args[i].clone());
    }
    lax::moveaxis(&b.front(i)?, 0, axis)
}

/// Which carries must be batched: those batched on entry and those the body makes batched,
/// to a fixpoint; returns the body's batched outputs at the fixpoint. `body_in` builds the
/// body's `in_batched` from the carry's; the body has `extra_outs` outputs after the carry.
fn carry_fixpoint(
    b: &Batching,
    body: &ClosedJaxpr,
    mut carry: Vec<bool>,
    body_in: impl Fn(&[bool]) -> Vec<bool>,
    extra_outs: usize,
) -> Result<(ClosedJaxpr, Vec<bool>)> {
    loop {
        let instantiate: Vec<bool> = carry
            .iter()
            .copied()
            .chain(vec![false; extra_outs])
            .collect();
        let (batched, out) = b
            .sub
            .batch_jaxpr(body, b.size, &body_in(&carry), &instantiate)?;
        let next: Vec<bool> = carry.iter().zip(&out).map(|(&c, &o)| c || o).collect();
        if next == carry {
            return Ok((batched, out));
        }
        carry = next;
    }
}

#[allow(clippy::too_many_arguments)]
fn batch_scan(
    b: &Batching,
    jaxpr: &ClosedJaxpr,
    length: usize,
    reverse: bool,
    num_consts: usize,
    num_carry: usize,
    linear: &[bool],
    unroll: usize,
) -> Result<BatchOut> {
    let in_b = b.in_batched();
    let (consts_b, rest) = in_b.split_at(num_consts);
    let (carry_b, xs_b) = rest.split_at(num_carry);
    let num_ys = jaxpr.jaxpr.outvars.len() - num_carry;
    let body_in = |carry: &[bool]| [consts_b, carry, xs_b].concat();
    let (body, out_b) = carry_fixpoint(b, jaxpr, carry_b.to_vec(), body_in, num_ys)?;
    let carry_b = &out_b[..num_carry];
    // Consts and carries batched at axis 0; xs at axis 1 (axis 0 is the scanned one).
    let mut operands = Vec::with_capacity(b.args.len());
    for i in 0..b.args.len() {
        let (batched, axis) = if i < num_consts {
            (consts_b[i], 0)
        } else if i < num_consts + num_carry {
            (carry_b[i - num_consts], 0)
        } else {
            (xs_b[i - num_consts - num_carry], 1)
        };
        operands.push(place(b, i, batched, axis)?);
    }
    let op = ControlOp::Scan {
        jaxpr: body,
        length,
        reverse,
        num_consts,
        num_carry,
        linear: linear.to_vec(),
        unroll,
    };
    let outs = bind(Prim::Control(op), &operands)?;
    let dims = out_b
        .iter()
        .enumerate()
        .map(|(k, &bt)| bt.then_some(if k < num_carry { 0 } else { 1 }))
        .collect();
    Ok((outs, dims))
}

fn batch_while(
    b: &Batching,
    cond_jaxpr: &ClosedJaxpr,
    body_jaxpr: &ClosedJaxpr,
    cond_nconsts: usize,
    body_nconsts: usize,
) -> Result<BatchOut> {
    let in_b = b.in_batched();
    let (cconsts_b, rest) = in_b.split_at(cond_nconsts);
    let (bconsts_b, carry_b) = rest.split_at(body_nconsts);
    let body_in = |carry: &[bool]| [bconsts_b, carry].concat();
    let (_, out_b) = carry_fixpoint(b, body_jaxpr, carry_b.to_vec(), body_in, 0)?;
    let cond_in = |carry: &[bool]| [cconsts_b, carry].concat();
    let (_, pred_b) = b
        .sub
        .batch_jaxpr(cond_jaxpr, b.size, &cond_in(&out_b), &[false])?;
    let pred_batched = pred_b[0];
    // A batched predicate needs every carry batched (each element stops on its own).
    let carry_b = if pred_batched {
        vec![true; out_b.len()]
    } else {
        out_b
    };
    let (body, _) = b
        .sub
        .batch_jaxpr(body_jaxpr, b.size, &body_in(&carry_b), &carry_b)?;
    let (cond, _) = b
        .sub
        .batch_jaxpr(cond_jaxpr, b.size, &cond_in(&carry_b), &[false])?;
    let n_consts = cond_nconsts + body_nconsts;
    let operand = |i: usize| {
        let batched = if i < n_consts {
            in_b[i]
        } else {
            carry_b[i - n_consts]
        };
        place(b, i, batched, 0)
    };
    let operands: Vec<Array> = (0..b.args.len()).map(operand).collect::<Result<_>>()?;
    let (cconsts, rest) = operands.split_at(cond_nconsts);
    let (bconsts, carry) = rest.split_at(body_nconsts);
    let dims = carry_b.iter().map(|&bt| bt.then_some(0)).collect();
    if !pred_batched {
        let op = ControlOp::While {
            cond_jaxpr: cond,
            body_jaxpr: body,
            cond_nconsts,
            body_nconsts,
        };
        return Ok((bind(Prim::Control(op), &operands)?, dims));
    }
    // cond: any element still going; body on (cond consts, body consts, carry): each element
    // advanced where its own predicate holds, kept where it does not.
    let avals = |xs: &[Array]| -> Vec<Aval> { xs.iter().map(|a| a.aval().clone()).collect() };
    let any_cond = b.sub.trace(
        &|args: &[Array]| {
            let pred = eval_closed(&cond, args)?;
            Ok(vec![lax::reduce_max(&pred[0], &[0])?])
        },
        &[avals(cconsts), avals(carry)].concat(),
    )?;
    let frozen_body = b.sub.trace(
        &|args: &[Array]| {
            let (cc, rest) = args.split_at(cond_nconsts);
            let (bc, carry) = rest.split_at(body_nconsts);
            let pred = eval_closed(&cond, &[cc, carry].concat())?.remove(0);
            let advanced = eval_closed(&body, &[bc, carry].concat())?;
            advanced
                .iter()
                .zip(carry)
                .map(|(new, old)| {
                    let which = lax::broadcast_in_dim(&pred, new.shape(), &[0])?;
                    lax::select(&which, new, old)
                })
                .collect()
        },
        &[avals(cconsts), avals(bconsts), avals(carry)].concat(),
    )?;
    let op = ControlOp::While {
        cond_jaxpr: any_cond,
        body_jaxpr: frozen_body,
        cond_nconsts,
        body_nconsts: cond_nconsts + body_nconsts,
    };
    let operands = [cconsts, cconsts, bconsts, carry].concat();
    Ok((bind(Prim::Control(op), &operands)?, dims))
}

fn batch_cond(b: &Batching, branches: &[ClosedJaxpr]) -> Result<BatchOut> {
    let in_b = b.in_batched();
    let ops_b = &in_b[1..];
    let n_out = branches[0].jaxpr.outvars.len();
    if in_b[0] {
        // A batched index: every branch on every example, then an elementwise choice (the
        // index clamped, as JAX clamps it).
        let index = b.front(0)?;
        let hi = Array::scalar(branches.len() as i32 - 1);
        let index = lax::min(&lax::max(&index, &Array::scalar(0i32))?, &hi)?;
        let ops: Vec<Array> = (1..b.args.len())
            .map(|i| b.front(i))
            .collect::<Result<_>>()?;
        let all_batched = vec![true; ops.len()];
        let outs: Vec<Vec<Array>> = branches
            .iter()
            .map(|br| eval_closed(&b.batch_jaxpr_all_out(br, &all_batched)?, &ops))
            .collect::<Result<_>>()?;
        let picked = (0..n_out)
            .map(|k| {
                let cases: Vec<Array> = outs.iter().map(|o| o[k].clone()).collect();
                let which = lax::broadcast_in_dim(&index, cases[0].shape(), &[0])?;
                lax::select_n(&which, &cases)
            })
            .collect::<Result<Vec<_>>>()?;
        return Ok((picked, vec![Some(0); n_out]));
    }
    // An unbatched index: one cond of the batched branches, whose outputs are batched where
    // any branch's is.
    let mut out_b = vec![false; n_out];
    for br in branches {
        let (_, o) = b.sub.batch_jaxpr(br, b.size, ops_b, &out_b)?;
        out_b = out_b.iter().zip(&o).map(|(&x, &y)| x || y).collect();
    }
    let batched: Vec<ClosedJaxpr> = branches
        .iter()
        .map(|br| Ok(b.sub.batch_jaxpr(br, b.size, ops_b, &out_b)?.0))
        .collect::<Result<_>>()?;
    let operands = b.batched_in_front()?;
    let op = ControlOp::Cond { branches: batched };
    let outs = bind(Prim::Control(op), &operands)?;
    Ok((outs, out_b.iter().map(|&bt| bt.then_some(0)).collect()))
}
