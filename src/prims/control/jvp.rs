//! JVP rules of `while`, `scan` and `cond` (JAX's `_while_loop_jvp`, `_scan_jvp` with
//! `_scan_partial_eval`, `_cond_jvp` with `_cond_partial_eval`).
//!
//! `scan` and `cond` bind their JVP already split, as `pjit_jvp` does: a primal loop or branch
//! that also returns the residuals, and a tangent one on (residuals, tangents), linear in the
//! tangents. So under `linearize` the primal half runs now and only the tangent half is
//! staged, to be transposed. `while` has no transpose, so it binds the primal loop for the
//! primal outputs and the JVP loop for the tangents (pure `jvp` runs the primal loop twice).

use super::{bind_cond, bind_scan, bind_while, reorder_invars, ControlOp, ScanRun};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::core::jaxpr_transforms::{JaxprTransforms, PartialJaxpr};
use crate::core::trace::bind;
use crate::ir::eval::eval_closed;
use crate::ir::{Atom, ClosedJaxpr};
use crate::lax;
use crate::prims::{JvpOut, Prim, Tangent};

/// # Errors
/// An error of a primitive the rule binds.
pub fn jvp(
    op: &ControlOp,
    primals: &[Array],
    tangents: &[Tangent],
    sub: &dyn JaxprTransforms,
) -> Result<JvpOut> {
    match op {
        ControlOp::Scan {
            jaxpr,
            length,
            reverse,
            num_consts,
            num_carry,
            unroll,
            ..
        } => {
            let run = ScanRun {
                length: *length,
                reverse: *reverse,
                unroll: *unroll,
            };
            let (consts, rest) = primals.split_at(*num_consts);
            let (carry, xs) = rest.split_at(*num_carry);
            scan_jvp(op, jaxpr, run, (consts, carry, xs), tangents, sub)
        }
        ControlOp::Cond { branches } => cond_jvp(op, branches, primals, tangents, sub),
        ControlOp::While {
            cond_jaxpr,
            body_jaxpr,
            cond_nconsts,
            body_nconsts,
        } => {
            let (cc, rest) = primals.split_at(*cond_nconsts);
            let (bc, carry) = rest.split_at(*body_nconsts);
            let bc_t = &tangents[*cond_nconsts..cond_nconsts + body_nconsts];
            let carry_t = &tangents[cond_nconsts + body_nconsts..];
            while_jvp(
                op,
                cond_jaxpr,
                body_jaxpr,
                (cc, bc, carry),
                bc_t,
                carry_t,
                sub,
            )
        }
    }
}

fn or(a: &[bool], b: &[bool]) -> Vec<bool> {
    a.iter().zip(b).map(|(x, y)| x | y).collect()
}

fn count(v: &[bool]) -> usize {
    v.iter().filter(|&&b| b).count()
}

/// The tangents where `nonzeros`, zeros instantiated for symbolic zeros.
fn tangents_where(
    primals: &[Array],
    tangents: &[Tangent],
    nonzeros: &[bool],
) -> Result<Vec<Array>> {
    primals
        .iter()
        .zip(tangents)
        .zip(nonzeros)
        .filter(|(_, &nz)| nz)
        .map(|((p, t), _)| match t {
            Some(t) => Ok(t.clone()),
            None => lax::zeros(&p.aval().clone().weak(false)),
        })
        .collect()
}

/// Output tangents: the next of `touts` where `nonzeros`, symbolic zeros elsewhere.
fn spread(nonzeros: &[bool], touts: Vec<Array>) -> Vec<Tangent> {
    let mut touts = touts.into_iter();
    nonzeros
        .iter()
        .map(|&nz| if nz { touts.next() } else { None })
        .collect()
}

/// JAX's `_scan_jvp`'s fixpoint: which carries have nonzero tangents (those given and those
/// the body makes nonzero), and the body's JVP jaxpr for them.
fn carry_fixpoint(
    jaxpr: &ClosedJaxpr,
    sub: &dyn JaxprTransforms,
    const_nz: &[bool],
    init_nz: &[bool],
    rest_nz: &[bool],
    num_outs: usize,
) -> Result<(ClosedJaxpr, Vec<bool>, Vec<bool>)> {
    let mut carry_nz = init_nz.to_vec();
    loop {
        let nonzeros = [const_nz, &carry_nz, rest_nz].concat();
        let mut instantiate = carry_nz.clone();
        instantiate.resize(num_outs, false);
        let (jvp, out_nz) = sub.jvp_jaxpr(jaxpr, &nonzeros, &instantiate)?;
        if out_nz[..carry_nz.len()] == carry_nz[..] {
            return Ok((jvp, carry_nz, out_nz));
        }
        carry_nz = or(&carry_nz, &out_nz);
    }
}

/// Split a JVP jaxpr whose first `n_primal_in` inputs are primals (known) and the rest
/// tangents (unknown) into its primal and tangent halves.
fn split_jvp(
    jvp: &ClosedJaxpr,
    sub: &dyn JaxprTransforms,
    op: &str,
    n_primal_in: usize,
    n_primal_out: usize,
) -> Result<PartialJaxpr> {
    let n_in = jvp.jaxpr.invars.len();
    let n_out = jvp.jaxpr.outvars.len();
    let unknowns: Vec<bool> = (0..n_in).map(|i| i >= n_primal_in).collect();
    let tangents_out: Vec<bool> = (0..n_out).map(|i| i >= n_primal_out).collect();
    let split = sub.partial_eval_jaxpr(jvp, &unknowns, &tangents_out)?;
    if split.out_unknowns != tangents_out {
        return Err(Error::type_err(format!(
            "{op} jvp: a primal output of the body depends on a tangent"
        )));
    }
    Ok(split)
}

fn scan_jvp(
    op: &ControlOp,
    jaxpr: &ClosedJaxpr,
    run: ScanRun,
    (consts, carry, xs): (&[Array], &[Array], &[Array]),
    tangents: &[Tangent],
    sub: &dyn JaxprTransforms,
) -> Result<JvpOut> {
    let primals = &[consts, carry, xs].concat();
    let (nc, ncar) = (consts.len(), carry.len());
    let n_out = jaxpr.jaxpr.outvars.len();
    let nonzeros: Vec<bool> = tangents.iter().map(Option::is_some).collect();
    let (const_nz, rest) = nonzeros.split_at(nc);
    let (init_nz, xs_nz) = rest.split_at(ncar);
    let (jvp, carry_nz, out_nz) = carry_fixpoint(jaxpr, sub, const_nz, init_nz, xs_nz, n_out)?;
    if !out_nz.contains(&true) {
        let outs = bind(Prim::Control(op.clone()), primals)?;
        return Ok((outs, vec![None; n_out]));
    }
    let nonzeros = [const_nz, &carry_nz, xs_nz].concat();
    let ts = tangents_where(primals, tangents, &nonzeros)?;
    let (const_ts, rest) = ts.split_at(count(const_nz));
    let (carry_ts, xs_ts) = rest.split_at(count(&carry_nz));

    // JAX's `_scan_partial_eval`: the primal half returns the residuals as extra ys...
    let split = split_jvp(&jvp, sub, "scan", primals.len(), n_out)?;
    let num_res = split.num_res;
    // ...except those that depend on the consts alone (loop-invariant), computed once here:
    // partially evaluate the primal half again with the carry and xs unknown.
    let (known, closed) = split.known.consts_as_invars();
    let known_consts: Vec<Array> = closed.iter().chain(consts).cloned().collect();
    let n_known_in = known.jaxpr.invars.len();
    let loop_dependent: Vec<bool> = (0..n_known_in).map(|i| i >= known_consts.len()).collect();
    let keep_primal: Vec<bool> = (0..n_out + num_res).map(|i| i < n_out).collect();
    let hoist = sub.partial_eval_jaxpr(&known, &loop_dependent, &keep_primal)?;
    let invariant: Vec<bool> = hoist.out_unknowns[n_out..].iter().map(|u| !u).collect();
    let mut hoisted = eval_closed(&hoist.known, &known_consts)?;
    let loop_consts = hoisted.split_off(count(&invariant));
    let invariant_res = hoisted;
    // A residual that is an x slice itself is `xs`: forwarded, not stacked again.
    let (primal_body, forwarded) = forward_xs(&hoist.unknown, loop_consts.len() + ncar, n_out);
    let mut outs = bind_scan(
        &primal_body,
        &loop_consts,
        carry,
        xs,
        run,
        &vec![false; loop_consts.len() + ncar + xs.len()],
    )?;
    let mut stacked = outs.split_off(n_out).into_iter();
    let stacked_res: Vec<Array> = forwarded
        .iter()
        .map(|f| match f {
            Some(k) => xs[*k].clone(),
            None => stacked
                .next()
                .expect("one stacked residual per unforwarded one"),
        })
        .collect();

    // The tangent half: (residuals, const tangents, carry tangents, xs tangents) -> tangents,
    // reordered to consts (invariant residuals, const tangents), carry tangents, xs (stacked
    // residuals, xs tangents).
    let invariant = &invariant;
    let res = |inv: bool| (0..num_res).filter(move |&r| invariant[r] == inv);
    let (n_ct, n_cart, n_xt) = (const_ts.len(), carry_ts.len(), xs_ts.len());
    let order: Vec<usize> = res(true)
        .chain(num_res..num_res + n_ct + n_cart)
        .chain(res(false))
        .chain(num_res + n_ct + n_cart..num_res + n_ct + n_cart + n_xt)
        .collect();
    let tangent_body = reorder_invars(&split.unknown, &order);
    let linear: Vec<bool> = std::iter::repeat_n(false, invariant_res.len())
        .chain(std::iter::repeat_n(true, n_ct + n_cart))
        .chain(std::iter::repeat_n(false, stacked_res.len()))
        .chain(std::iter::repeat_n(true, n_xt))
        .collect();
    let touts = bind_scan(
        &tangent_body,
        &[&invariant_res, const_ts].concat(),
        carry_ts,
        &[&stacked_res, xs_ts].concat(),
        run,
        &linear,
    )?;
    Ok((outs, spread(&out_nz, touts)))
}

/// The outputs after the first `n_out` of a scan body that are its x slices (inputs from
/// `xs_start` on) unchanged: which x each is (`None`: computed), and the body without them.
fn forward_xs(
    body: &ClosedJaxpr,
    xs_start: usize,
    n_out: usize,
) -> (ClosedJaxpr, Vec<Option<usize>>) {
    let j = &body.jaxpr;
    let forwarded: Vec<Option<usize>> = j.outvars[n_out..]
        .iter()
        .map(|a| match a {
            Atom::Var(v) => j.invars[xs_start..].iter().position(|x| x == v),
            Atom::Lit(_) => None,
        })
        .collect();
    let mut kept = (**j).clone();
    kept.outvars = j.outvars[..n_out]
        .iter()
        .chain(
            j.outvars[n_out..]
                .iter()
                .zip(&forwarded)
                .filter(|(_, f)| f.is_none())
                .map(|(a, _)| a),
        )
        .cloned()
        .collect();
    let kept = ClosedJaxpr {
        jaxpr: std::sync::Arc::new(kept),
        consts: body.consts.clone(),
    };
    (kept, forwarded)
}

fn cond_jvp(
    op: &ControlOp,
    branches: &[ClosedJaxpr],
    primals: &[Array],
    tangents: &[Tangent],
    sub: &dyn JaxprTransforms,
) -> Result<JvpOut> {
    // The index is never differentiated.
    let (index, ops) = (&primals[0], &primals[1..]);
    let nonzeros: Vec<bool> = tangents[1..].iter().map(Option::is_some).collect();
    let n_out = branches[0].jaxpr.outvars.len();
    let mut out_nz = vec![false; n_out];
    for b in branches {
        out_nz = or(
            &out_nz,
            &sub.jvp_jaxpr(b, &nonzeros, &vec![false; n_out])?.1,
        );
    }
    if !out_nz.contains(&true) {
        let outs = bind(Prim::Control(op.clone()), primals)?;
        return Ok((outs, vec![None; n_out]));
    }
    let ts = tangents_where(ops, &tangents[1..], &nonzeros)?;
    let splits: Vec<PartialJaxpr> = branches
        .iter()
        .map(|b| {
            let (jvp, _) = sub.jvp_jaxpr(b, &nonzeros, &out_nz)?;
            split_jvp(&jvp, sub, "cond", ops.len(), n_out)
        })
        .collect::<Result<_>>()?;
    // JAX's `_cond_partial_eval`: every branch returns every branch's residual slots (zeros
    // in the others'), so the primal cond has one output list.
    let res_avals: Vec<Vec<Aval>> = splits
        .iter()
        .map(|s| s.known.out_avals()[n_out..].to_vec())
        .collect();
    let all_res: Vec<Aval> = res_avals.concat();
    let known: Vec<ClosedJaxpr> = splits
        .iter()
        .enumerate()
        .map(|(i, s)| {
            sub.trace(
                &|ops: &[Array]| {
                    let mut outs = eval_closed(&s.known, ops)?;
                    let mut mine = outs.split_off(n_out);
                    for (j, avals) in res_avals.iter().enumerate() {
                        if i == j {
                            outs.append(&mut mine);
                        } else {
                            for aval in avals {
                                outs.push(lax::zeros(aval)?);
                            }
                        }
                    }
                    Ok(outs)
                },
                &branches[0].in_avals(),
            )
        })
        .collect::<Result<_>>()?;
    let t_avals: Vec<Aval> = ts.iter().map(|t| t.aval().clone()).collect();
    let tangent: Vec<ClosedJaxpr> = splits
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let start: usize = res_avals[..i].iter().map(Vec::len).sum();
            let mine = start..start + s.num_res;
            let nres = all_res.len();
            sub.trace(
                &|args: &[Array]| {
                    let ins = [&args[mine.clone()], &args[nres..]].concat();
                    eval_closed(&s.unknown, &ins)
                },
                &[all_res.clone(), t_avals.clone()].concat(),
            )
        })
        .collect::<Result<_>>()?;
    let mut outs = bind_cond(&known, index, ops)?;
    let res = outs.split_off(n_out);
    let touts = bind_cond(&tangent, index, &[res, ts].concat())?;
    Ok((outs, spread(&out_nz, touts)))
}

fn while_jvp(
    op: &ControlOp,
    cond_jaxpr: &ClosedJaxpr,
    body_jaxpr: &ClosedJaxpr,
    (cc, bc, carry): (&[Array], &[Array], &[Array]),
    bc_t: &[Tangent],
    carry_t: &[Tangent],
    sub: &dyn JaxprTransforms,
) -> Result<JvpOut> {
    // The cond consts' tangents do not matter: the predicate is boolean.
    let bc_nz: Vec<bool> = bc_t.iter().map(Option::is_some).collect();
    let init_nz: Vec<bool> = carry_t.iter().map(Option::is_some).collect();
    let ncar = carry.len();
    let (jvp, carry_nz, _) = carry_fixpoint(body_jaxpr, sub, &bc_nz, &init_nz, &[], ncar)?;
    let primal_outs = bind(Prim::Control(op.clone()), &[cc, bc, carry].concat())?;
    if !carry_nz.contains(&true) {
        return Ok((primal_outs, vec![None; ncar]));
    }
    let bc_ts = tangents_where(bc, bc_t, &bc_nz)?;
    let carry_ts = tangents_where(carry, carry_t, &carry_nz)?;
    // The JVP body takes (bc, carry, bc tangents, carry tangents); the loop wants (bc, bc
    // tangents, carry, carry tangents). The predicate ignores the carry tangents.
    let (nb, nbt, nct) = (bc.len(), bc_ts.len(), carry_ts.len());
    let order: Vec<usize> = (0..nb)
        .chain(nb + ncar..nb + ncar + nbt)
        .chain(nb..nb + ncar)
        .chain(nb + ncar + nbt..nb + ncar + nbt + nct)
        .collect();
    let body = reorder_invars(&jvp, &order);
    let t_avals: Vec<Aval> = carry_ts.iter().map(|t| t.aval().clone()).collect();
    let cond = cond_jaxpr.with_unused_invars(cond_jaxpr.jaxpr.invars.len(), &t_avals);
    let mut both = bind_while(
        &cond,
        &body,
        cc,
        &[bc, &bc_ts].concat(),
        &[carry, &carry_ts].concat(),
    )?;
    let touts = both.split_off(ncar);
    Ok((primal_outs, spread(&carry_nz, touts)))
}
