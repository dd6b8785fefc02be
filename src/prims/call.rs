//! Primitives that carry functions: `pjit` (a nested jit: a call of a staged jaxpr), the
//! custom-derivative calls (`custom_jvp_call`, `custom_vjp_call` and its linear half
//! `custom_lin`) and `remat2` (`checkpoint`: residuals recomputed in the backward pass instead
//! of stored). Their rules replay the carried jaxpr through the transformation being applied,
//! reached through `JaxprTransforms`.

use super::batching::{batch_by_loop, unbatched, Batching};
use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::compiled_call;
use crate::core::error::{Error, Result};
use crate::core::jaxpr_transforms::JaxprTransforms;
use crate::core::trace::bind;
use crate::ir::eval::eval_closed;
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::Param;
use crate::ir::ClosedJaxpr;
use std::fmt;
use std::sync::Arc;

/// A user's JVP rule: `(primals, tangents) -> (primal outputs, tangent outputs)`.
pub type JvpRule =
    Arc<dyn Fn(&[Array], &[Array]) -> Result<(Vec<Array>, Vec<Array>)> + Send + Sync>;
/// A user's forward pass for `custom_vjp`: `primals -> (outputs, residuals)`.
pub type FwdRule = Arc<dyn Fn(&[Array]) -> Result<(Vec<Array>, Vec<Array>)> + Send + Sync>;
/// A user's backward pass: `(residuals, output cotangents) -> input cotangents`.
pub type BwdRule = Arc<dyn Fn(&[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync>;

#[derive(Clone)]
/// The primitives that carry a jaxpr and call it.
pub enum CallOp {
    /// A call of a staged function (how `jit` inside a transformation appears).
    Pjit {
        /// The function's name.
        name: String,
        /// The function's jaxpr.
        jaxpr: ClosedJaxpr,
    },
    /// A function with a user JVP rule. `None`: a call read from text, which holds no rule;
    /// it differentiates `call_jaxpr` itself.
    CustomJvpCall {
        /// The function's name.
        name: String,
        /// The function's jaxpr.
        call_jaxpr: ClosedJaxpr,
        /// The user's JVP rule.
        jvp: Option<JvpRule>,
    },
    /// A function with user forward and backward passes (`None`: read from text, as above).
    CustomVjpCall {
        /// The function's name.
        name: String,
        /// The function's jaxpr.
        call_jaxpr: ClosedJaxpr,
        /// The user's forward and backward rules.
        rules: Option<(FwdRule, BwdRule)>,
    },
    /// The linear part of a `custom_vjp` under linearize: operands are the residuals then the
    /// tangents; its transpose calls `bwd`.
    CustomLin {
        /// How many leading operands are residuals.
        num_res: usize,
        /// The types of the tangent outputs.
        out_avals: Vec<Aval>,
        /// The user's backward rule.
        bwd: BwdRule,
    },
    /// `jax.checkpoint` with its default policy (nothing saveable): under differentiation only
    /// the inputs are kept, and the primal is recomputed where the derivative needs it.
    /// `differentiated` marks the copy that computes tangents (it recomputes the primal).
    Remat {
        /// The checkpointed function's jaxpr.
        jaxpr: ClosedJaxpr,
        /// Whether this copy computes tangents.
        differentiated: bool,
        /// JAX's `prevent_cse`.
        prevent_cse: bool,
    },
}

use CallOp::*;

impl fmt::Debug for CallOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())
    }
}

impl PartialEq for CallOp {
    /// By identity of the carried jaxpr or rules.
    fn eq(&self, other: &Self) -> bool {
        self.equal_by(other, |a, b| a == b)
    }
}

impl CallOp {
    /// Equality with the carried jaxprs compared by `same_jaxpr` and the rules by identity.
    pub fn equal_by(
        &self,
        other: &Self,
        same_jaxpr: fn(&ClosedJaxpr, &ClosedJaxpr) -> bool,
    ) -> bool {
        match (self, other) {
            (Pjit { jaxpr: a, name: n }, Pjit { jaxpr: b, name: m }) => n == m && same_jaxpr(a, b),
            (
                CustomJvpCall {
                    call_jaxpr: a,
                    jvp: r,
                    ..
                },
                CustomJvpCall {
                    call_jaxpr: b,
                    jvp: s,
                    ..
                },
            ) => same_rule(&r.as_ref(), &s.as_ref()) && same_jaxpr(a, b),
            (
                CustomVjpCall {
                    call_jaxpr: a,
                    rules: r,
                    ..
                },
                CustomVjpCall {
                    call_jaxpr: b,
                    rules: s,
                    ..
                },
            ) => {
                same_rule(&r.as_ref().map(|r| &r.0), &s.as_ref().map(|s| &s.0)) && same_jaxpr(a, b)
            }
            (CustomLin { bwd: a, .. }, CustomLin { bwd: b, .. }) => Arc::ptr_eq(a, b),
            (
                Remat {
                    jaxpr: a,
                    differentiated: d,
                    prevent_cse: p,
                },
                Remat {
                    jaxpr: b,
                    differentiated: e,
                    prevent_cse: q,
                },
            ) => d == e && p == q && same_jaxpr(a, b),
            _ => false,
        }
    }
}

impl CallOp {
    /// The primitive's name as jaxprs print it.
    pub fn name(&self) -> &'static str {
        match self {
            Pjit { .. } => "pjit",
            CustomJvpCall { .. } => "custom_jvp_call",
            CustomVjpCall { .. } => "custom_vjp_call",
            CustomLin { .. } => "custom_lin",
            Remat { .. } => "remat2",
        }
    }

    /// The jaxpr a call carries (none for `custom_lin`).
    pub fn call_jaxpr(&self) -> Option<&ClosedJaxpr> {
        match self {
            Pjit { jaxpr, .. } | Remat { jaxpr, .. } => Some(jaxpr),
            CustomJvpCall { call_jaxpr, .. } | CustomVjpCall { call_jaxpr, .. } => Some(call_jaxpr),
            CustomLin { .. } => None,
        }
    }

    /// Why a call that carries no jaxpr cannot be compiled (`custom_lin` is only transposed).
    pub fn uncompilable(&self) -> Error {
        Error::Jit(format!(
            "{} (the linear half of a custom_vjp function under linearize) cannot be compiled: it only exists to be transposed; compile grad/vjp of the function instead",
            self.name()
        ))
    }

    /// The parameters as jaxprs print them.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        match self {
            Pjit { name, jaxpr } => vec![
                ("jaxpr", Param::Jaxpr(jaxpr.jaxpr.clone())),
                ("name", Param::Text(name.clone())),
            ],
            CustomJvpCall {
                name, call_jaxpr, ..
            }
            | CustomVjpCall {
                name, call_jaxpr, ..
            } => vec![
                ("call_jaxpr", Param::Jaxpr(call_jaxpr.jaxpr.clone())),
                ("name", Param::Text(name.clone())),
            ],
            CustomLin { num_res, .. } => vec![("num_res", Param::Text(num_res.to_string()))],
            Remat {
                jaxpr,
                differentiated,
                prevent_cse,
            } => {
                let py = |b: bool| Param::Text(if b { "True" } else { "False" }.into());
                vec![
                    ("differentiated", py(*differentiated)),
                    ("jaxpr", Param::Jaxpr(jaxpr.jaxpr.clone())),
                    ("policy", Param::Text("None".into())),
                    ("prevent_cse", py(*prevent_cse)),
                ]
            }
        }
    }

    /// The inverse of `params`: the op printed as `name[params]` (`None`: not a call). JAX's
    /// `jit` (0.5+) and `checkpoint` read as `pjit` and `remat2`. The rules of custom calls are
    /// Rust code, not text: a call read from text differentiates its `call_jaxpr`.
    ///
    /// # Errors
    /// Parameters missing or malformed in the printed jaxpr (the message names the primitive and the parameter).
    pub fn from_printed(name: &str, p: &PrintedParams) -> Result<Option<CallOp>> {
        let default_name = || p.get_or("name", "<lambda>".to_string());
        Ok(Some(match name {
            "pjit" | "jit" => Pjit {
                name: default_name()?,
                jaxpr: p.jaxpr("jaxpr")?,
            },
            "custom_jvp_call" => CustomJvpCall {
                name: default_name()?,
                call_jaxpr: p.jaxpr("call_jaxpr")?,
                jvp: None,
            },
            "custom_vjp_call" | "custom_vjp_call_jaxpr" => CustomVjpCall {
                name: default_name()?,
                call_jaxpr: p.jaxpr(if p.has("call_jaxpr") { "call_jaxpr" } else { "fun_jaxpr" })?,
                rules: None,
            },
            "custom_lin" => {
                return Err(Error::value_err(
                    "custom_lin (the linear half of a custom_vjp function) carries a Rust backward pass and cannot be read from text",
                ))
            }
            "remat2" | "checkpoint" => Remat {
                jaxpr: p.jaxpr("jaxpr")?,
                differentiated: p.get_or("differentiated", false)?,
                prevent_cse: p.get_or("prevent_cse", true)?,
            },
            _ => return Ok(None),
        }))
    }

    /// The output types.
    ///
    /// # Errors
    /// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Vec<Aval>> {
        match self {
            CustomLin { out_avals, .. } => Ok(out_avals.clone()),
            _ => {
                let cj = self.call_jaxpr().expect("calls carry a jaxpr");
                let want = cj.in_avals();
                let ok = want.len() == avals.len()
                    && want
                        .iter()
                        .zip(avals)
                        .all(|(w, a)| w.shape == a.shape && w.dtype == a.dtype);
                if !ok {
                    let got: Vec<String> = avals.iter().map(|a| a.to_string()).collect();
                    let exp: Vec<String> = want.iter().map(|a| a.to_string()).collect();
                    return Err(Error::type_err(format!(
                        "{} was traced for arguments ({}) but called with ({})",
                        self.name(),
                        exp.join(", "),
                        got.join(", ")
                    )));
                }
                Ok(cj.out_avals())
            }
        }
    }

    /// Eager evaluation: run the carried jaxpr with the reference interpreter.
    ///
    /// # Errors
    /// As `abstract_eval`, for concrete operands.
    pub fn eval(&self, args: &[Array]) -> Result<Vec<Array>> {
        let avals: Vec<&Aval> = args.iter().map(|a| a.aval()).collect();
        self.abstract_eval(&avals)?;
        match self {
            CustomLin { .. } => Err(Error::type_err(
                "forward-mode differentiation (jvp, jacfwd) of a custom_vjp function is not supported; use grad, vjp or jacrev",
            )),
            Pjit { jaxpr, .. } => match compiled_call::runner() {
                Some(run) => run(jaxpr, args),
                None => eval_closed(jaxpr, args),
            },
            _ => eval_closed(self.call_jaxpr().expect("calls carry a jaxpr"), args),
        }
    }

    /// The JVP rule.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Tangent],
        sub: &dyn JaxprTransforms,
    ) -> Result<JvpOut> {
        match self {
            Pjit { name, jaxpr } => pjit_jvp(name, jaxpr, primals, tangents, sub),
            CustomJvpCall {
                jvp: None,
                call_jaxpr,
                ..
            }
            | CustomVjpCall {
                rules: None,
                call_jaxpr,
                ..
            } => sub.jvp_call(call_jaxpr, primals, tangents),
            CustomJvpCall { jvp: Some(jvp), .. } => {
                let ts: Vec<Array> = instantiate(primals, tangents)?;
                let (outs, touts) = jvp(primals, &ts)?;
                Ok((outs, touts.into_iter().map(Some).collect()))
            }
            CustomVjpCall {
                call_jaxpr,
                rules: Some((fwd, bwd)),
                ..
            } => {
                let (outs, res) = fwd(primals)?;
                if outs.len() != call_jaxpr.jaxpr.outvars.len() {
                    return Err(Error::type_err(
                        "custom_vjp: forward pass returned the wrong number of outputs",
                    ));
                }
                if tangents.iter().all(|t| t.is_none()) {
                    let n = outs.len();
                    return Ok((outs, vec![None; n]));
                }
                let ts = instantiate(primals, tangents)?;
                let lin = Prim::Call(CustomLin {
                    num_res: res.len(),
                    out_avals: outs.iter().map(|o| o.aval().clone().weak(false)).collect(),
                    bwd: bwd.clone(),
                });
                let args: Vec<Array> = res.into_iter().chain(ts).collect();
                let touts = bind(lin, &args)?;
                Ok((outs, touts.into_iter().map(Some).collect()))
            }
            CustomLin { .. } => Err(Error::type_err(
                "custom_lin cannot be differentiated again in forward mode",
            )),
            Remat {
                jaxpr, prevent_cse, ..
            } => remat_jvp(jaxpr, *prevent_cse, primals, tangents, sub),
        }
    }

    /// The transpose rule.
    ///
    /// # Errors
    /// A linear operand used non-linearly, or an error of a primitive the rule binds.
    pub fn transpose(
        &self,
        cts: &[Tangent],
        args: &[LinArg],
        sub: &dyn JaxprTransforms,
    ) -> Result<Vec<Tangent>> {
        match self {
            CustomLin {
                num_res,
                out_avals,
                bwd,
            } => {
                let res: Vec<Array> = args[..*num_res]
                    .iter()
                    .map(|a| a.known().cloned())
                    .collect::<Result<_>>()?;
                let cts: Vec<Array> = cts
                    .iter()
                    .zip(out_avals)
                    .map(|(c, a)| c.clone().map(Ok).unwrap_or_else(|| crate::lax::zeros(a)))
                    .collect::<Result<_>>()?;
                let grads = bwd(&res, &cts)?;
                let linear = &args[*num_res..];
                if grads.len() != linear.len() {
                    return Err(Error::type_err(format!(
                        "custom_vjp backward pass returned {} cotangents for {} inputs",
                        grads.len(),
                        linear.len()
                    )));
                }
                let mut out = vec![None; *num_res];
                out.extend(grads.into_iter().map(Some));
                Ok(out)
            }
            Pjit { name, jaxpr } => pjit_transpose(name, jaxpr, args, cts, sub),
            Remat { jaxpr, .. } => remat_transpose(jaxpr, args, cts, sub),
            _ => Err(Error::type_err(format!(
                "{} is not linear, so it has no transpose",
                self.name()
            ))),
        }
    }

    /// The batching rule.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let &Batching {
            args,
            dims,
            size,
            sub,
        } = b;
        match self {
            CustomLin { .. } => batch_by_loop(&Prim::Call(self.clone()), args, dims, size),
            Pjit { name, jaxpr } => {
                // JAX's `_pjit_batcher`: a pjit of the batched jaxpr.
                let unforced = vec![false; jaxpr.jaxpr.outvars.len()];
                let (jaxpr, out_batched) =
                    sub.batch_jaxpr(jaxpr, size, &b.in_batched(), &unforced)?;
                let outs = bind(pjit(name, jaxpr), &b.batched_in_front()?)?;
                Ok((outs, out_batched.iter().map(|&b| b.then_some(0)).collect()))
            }
            Remat {
                jaxpr,
                differentiated,
                prevent_cse,
            } => {
                let unforced = vec![false; jaxpr.jaxpr.outvars.len()];
                let (jaxpr, out_batched) =
                    sub.batch_jaxpr(jaxpr, size, &b.in_batched(), &unforced)?;
                let prim = Prim::Call(Remat {
                    jaxpr,
                    differentiated: *differentiated,
                    prevent_cse: *prevent_cse,
                });
                let outs = bind(prim, &b.batched_in_front()?)?;
                Ok((outs, out_batched.iter().map(|&b| b.then_some(0)).collect()))
            }
            CustomJvpCall {
                name,
                call_jaxpr,
                jvp: None,
            }
            | CustomVjpCall {
                name,
                call_jaxpr,
                rules: None,
            } => {
                // No rule to batch: the batched call differentiates its batched jaxpr.
                let call_jaxpr = b.batch_jaxpr_all_out(call_jaxpr, &b.in_batched())?;
                let n_out = call_jaxpr.jaxpr.outvars.len();
                let op = match self {
                    CustomJvpCall { .. } => CustomJvpCall {
                        name: name.clone(),
                        call_jaxpr,
                        jvp: None,
                    },
                    _ => CustomVjpCall {
                        name: name.clone(),
                        call_jaxpr,
                        rules: None,
                    },
                };
                Ok((
                    bind(Prim::Call(op), &b.batched_in_front()?)?,
                    vec![Some(0); n_out],
                ))
            }
            CustomJvpCall {
                name,
                call_jaxpr,
                jvp: Some(jvp),
            } => {
                // JAX's `_custom_jvp_call_vmap`: the function and its rule are both batched,
                // so the rule still defines the derivative of the batched call.
                let in_batched = b.in_batched();
                let n_out = call_jaxpr.jaxpr.outvars.len();
                let call_jaxpr = b.batch_jaxpr_all_out(call_jaxpr, &in_batched)?;
                let avals = b.example_avals();
                let tangent_avals = avals.iter().map(|a| a.clone().weak(false));
                let rule_avals: Vec<Aval> = avals.iter().cloned().chain(tangent_avals).collect();
                let n = avals.len();
                let rule = sub.trace(
                    &|pt: &[Array]| {
                        let (outs, touts) = jvp(&pt[..n], &pt[n..])?;
                        Ok(outs.into_iter().chain(touts).collect())
                    },
                    &rule_avals,
                )?;
                let twice = [in_batched.clone(), in_batched].concat();
                let rule = b.batch_jaxpr_all_out(&rule, &twice)?;
                let jvp: JvpRule = Arc::new(move |p: &[Array], t: &[Array]| {
                    let mut outs = eval_closed(&rule, &[p, t].concat())?;
                    let touts = outs.split_off(n_out);
                    Ok((outs, touts))
                });
                let prim = Prim::Call(CustomJvpCall {
                    name: name.clone(),
                    call_jaxpr,
                    jvp: Some(jvp),
                });
                Ok((bind(prim, &b.batched_in_front()?)?, vec![Some(0); n_out]))
            }
            CustomVjpCall {
                name,
                call_jaxpr,
                rules: Some((fwd, bwd)),
            } => {
                // JAX's `_custom_vjp_call_jaxpr_vmap`: forward and backward passes batched; the
                // cotangent of an unbatched input is summed over the batch.
                let in_batched = b.in_batched();
                let n_out = call_jaxpr.jaxpr.outvars.len();
                let out_avals = call_jaxpr.out_avals();
                let call_jaxpr = b.batch_jaxpr_all_out(call_jaxpr, &in_batched)?;
                let num_res = std::cell::Cell::new(0);
                let fwd_jaxpr = sub.trace(
                    &|p: &[Array]| {
                        let (outs, res) = fwd(p)?;
                        num_res.set(res.len());
                        Ok(outs.into_iter().chain(res).collect())
                    },
                    &b.example_avals(),
                )?;
                let fwd_jaxpr = b.batch_jaxpr_all_out(&fwd_jaxpr, &in_batched)?;
                let res_avals: Vec<Aval> = fwd_jaxpr.out_avals()[n_out..]
                    .iter()
                    .map(unbatched)
                    .collect();
                let num_res = num_res.get();
                let bwd_avals: Vec<Aval> = res_avals.into_iter().chain(out_avals).collect();
                let bwd_jaxpr = sub.trace(
                    &|rc: &[Array]| bwd(&rc[..num_res], &rc[num_res..]),
                    &bwd_avals,
                )?;
                let bwd_jaxpr = b.batch_jaxpr_all_out(&bwd_jaxpr, &vec![true; bwd_avals.len()])?;
                let fwd: FwdRule = Arc::new(move |p: &[Array]| {
                    let mut outs = eval_closed(&fwd_jaxpr, p)?;
                    let res = outs.split_off(n_out);
                    Ok((outs, res))
                });
                let bwd: BwdRule = Arc::new(move |res: &[Array], cts: &[Array]| {
                    let grads = eval_closed(&bwd_jaxpr, &[res, cts].concat())?;
                    grads
                        .into_iter()
                        .zip(&in_batched)
                        .map(|(g, &b)| {
                            if b {
                                Ok(g)
                            } else {
                                crate::lax::reduce_sum(&g, &[0])
                            }
                        })
                        .collect()
                });
                let prim = Prim::Call(CustomVjpCall {
                    name: name.clone(),
                    call_jaxpr,
                    rules: Some((fwd, bwd)),
                });
                Ok((bind(prim, &b.batched_in_front()?)?, vec![Some(0); n_out]))
            }
        }
    }
}

/// The same user rule (by identity), or both calls read from text.
fn same_rule<T: ?Sized>(a: &Option<&Arc<T>>, b: &Option<&Arc<T>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn pjit(name: &str, jaxpr: ClosedJaxpr) -> Prim {
    Prim::Call(Pjit {
        name: name.to_string(),
        jaxpr,
    })
}

/// JAX's `_pjit_jvp` with `_pjit_partial_eval`: the JVP jaxpr split into a pjit of the primal
/// computation (which also returns the residuals) and a pjit of the tangent computation. So
/// under `linearize` the primal pjit runs now (compiled, at top level) and only the tangent
/// pjit is staged into the linear jaxpr, to be transposed as a pjit again.
fn pjit_jvp(
    name: &str,
    jaxpr: &ClosedJaxpr,
    primals: &[Array],
    tangents: &[Tangent],
    sub: &dyn JaxprTransforms,
) -> Result<JvpOut> {
    let n_out = jaxpr.jaxpr.outvars.len();
    let nonzeros: Vec<bool> = tangents.iter().map(Option::is_some).collect();
    let (jvp, out_nonzeros) = sub.jvp_jaxpr(jaxpr, &nonzeros, &vec![false; n_out])?;
    let ts: Vec<Array> = tangents.iter().flatten().cloned().collect();
    let unknowns: Vec<bool> = (0..primals.len() + ts.len())
        .map(|i| i >= primals.len())
        .collect();
    let n_tout = out_nonzeros.iter().filter(|&&nz| nz).count();
    let tangents_unknown: Vec<bool> = (0..n_out + n_tout).map(|i| i >= n_out).collect();
    let split = sub.partial_eval_jaxpr(&jvp, &unknowns, &tangents_unknown)?;
    if split.out_unknowns != tangents_unknown {
        // A primal output that needs a tangent cannot happen; stay correct regardless.
        return sub.jvp_call(jaxpr, primals, tangents);
    }
    let mut outs = bind(pjit(name, split.known), primals)?;
    let residuals = outs.split_off(n_out);
    let tangent_args: Vec<Array> = residuals.into_iter().chain(ts).collect();
    let mut touts = bind(pjit(&format!("jvp({name})"), split.unknown), &tangent_args)?.into_iter();
    let touts = out_nonzeros
        .iter()
        .map(|&nz| if nz { touts.next() } else { None })
        .collect();
    Ok((outs, touts))
}

/// JAX's `_pjit_transpose`: a pjit of the transposed jaxpr, on the known operands and the
/// nonzero cotangents; its outputs are the cotangents of the linear operands.
fn pjit_transpose(
    name: &str,
    jaxpr: &ClosedJaxpr,
    args: &[LinArg],
    cts: &[Tangent],
    sub: &dyn JaxprTransforms,
) -> Result<Vec<Tangent>> {
    let known: Vec<Array> = args
        .iter()
        .filter_map(|a| a.known().ok().cloned())
        .collect();
    let given: Vec<Array> = cts.iter().flatten().cloned().collect();
    let avals: Vec<Aval> = known
        .iter()
        .chain(&given)
        .map(|a| a.aval().clone())
        .collect();
    let n_known = known.len();
    let transposed = sub.trace(
        &|kc: &[Array]| {
            let (mut known, mut given) = (kc[..n_known].iter(), kc[n_known..].iter());
            let lin_args: Vec<LinArg> = args
                .iter()
                .map(|a| match a {
                    LinArg::Known(_) => LinArg::Known(known.next().expect("known").clone()),
                    LinArg::Linear(aval) => LinArg::Linear(aval.clone()),
                })
                .collect();
            let cts: Vec<Tangent> = cts
                .iter()
                .map(|c| c.as_ref().map(|_| given.next().expect("cotangent").clone()))
                .collect();
            let grads = sub.backward_pass(jaxpr, &lin_args, &cts)?;
            args.iter()
                .zip(grads)
                .filter(|(a, _)| a.is_linear())
                .map(|(a, g)| match (a, g) {
                    (_, Some(g)) => Ok(g),
                    (LinArg::Linear(aval), None) => crate::lax::zeros(aval),
                    (LinArg::Known(_), None) => unreachable!("filtered to linear operands"),
                })
                .collect()
        },
        &avals,
    )?;
    let operands: Vec<Array> = known.into_iter().chain(given).collect();
    let name = format!("transpose({name})");
    let mut grads = bind(pjit(&name, transposed), &operands)?.into_iter();
    Ok(args
        .iter()
        .map(|a| if a.is_linear() { grads.next() } else { None })
        .collect())
}

/// JAX's `remat_jvp` with `remat_partial_eval` under the default policy: the primal outputs
/// from a `remat2` of the function on the primals, and the tangents from a `remat2` (marked
/// `differentiated`) of its JVP on the primals and tangents. Under `linearize` the first runs
/// now and only the second is staged, so the residuals are the inputs alone and everything
/// else is recomputed when the tangents (or, transposed, the cotangents) are computed.
fn remat_jvp(
    jaxpr: &ClosedJaxpr,
    prevent_cse: bool,
    primals: &[Array],
    tangents: &[Tangent],
    sub: &dyn JaxprTransforms,
) -> Result<JvpOut> {
    let remat = |jaxpr: ClosedJaxpr, differentiated: bool| {
        Prim::Call(Remat {
            jaxpr,
            differentiated,
            prevent_cse,
        })
    };
    let outs = bind(remat(jaxpr.clone(), false), primals)?;
    let n_out = outs.len();
    let nonzeros: Vec<bool> = tangents.iter().map(Option::is_some).collect();
    if !nonzeros.contains(&true) {
        return Ok((outs, vec![None; n_out]));
    }
    let (jvp, out_nonzeros) = sub.jvp_jaxpr(jaxpr, &nonzeros, &vec![false; n_out])?;
    let tangent_part = sub.trace(
        &|args: &[Array]| Ok(eval_closed(&jvp, args)?.split_off(n_out)),
        &jvp.in_avals(),
    )?;
    let args: Vec<Array> = primals
        .iter()
        .chain(tangents.iter().flatten())
        .cloned()
        .collect();
    let mut touts = bind(remat(tangent_part, true), &args)?.into_iter();
    let touts = out_nonzeros
        .iter()
        .map(|&nz| if nz { touts.next() } else { None })
        .collect();
    Ok((outs, touts))
}

/// JAX's `remat_transpose`: the function split by partial evaluation into the recomputation
/// of what the known inputs determine (run now, in the backward pass) and its linear rest,
/// which is transposed.
fn remat_transpose(
    jaxpr: &ClosedJaxpr,
    args: &[LinArg],
    cts: &[Tangent],
    sub: &dyn JaxprTransforms,
) -> Result<Vec<Tangent>> {
    let unknowns: Vec<bool> = args.iter().map(LinArg::is_linear).collect();
    let all = vec![true; jaxpr.jaxpr.outvars.len()];
    let split = sub.partial_eval_jaxpr(jaxpr, &unknowns, &all)?;
    let known: Vec<Array> = args
        .iter()
        .filter_map(|a| a.known().ok().cloned())
        .collect();
    let residuals = eval_closed(&split.known, &known)?;
    let lin_args: Vec<LinArg> = residuals
        .into_iter()
        .map(LinArg::Known)
        .chain(args.iter().filter(|a| a.is_linear()).cloned())
        .collect();
    let grads = sub.backward_pass(&split.unknown, &lin_args, cts)?;
    let mut linear = grads.into_iter().skip(split.num_res);
    Ok(args
        .iter()
        .map(|a| {
            if a.is_linear() {
                linear.next().flatten()
            } else {
                None
            }
        })
        .collect())
}

fn instantiate(primals: &[Array], tangents: &[Tangent]) -> Result<Vec<Array>> {
    primals
        .iter()
        .zip(tangents)
        .map(|(p, t)| {
            t.clone()
                .map(Ok)
                .unwrap_or_else(|| crate::lax::zeros(&p.aval().clone().weak(false)))
        })
        .collect()
}
