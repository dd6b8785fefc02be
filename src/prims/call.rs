//! Primitives that carry functions: `pjit` (a nested jit: a call of a staged jaxpr) and the
//! custom-derivative calls (`custom_jvp_call`, `custom_vjp_call` and its linear half
//! `custom_lin`). Their rules replay the carried jaxpr through the transformation being
//! applied, reached through `JaxprTransforms`.

use super::batching::batch_by_loop;
use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::core::jaxpr_transforms::JaxprTransforms;
use crate::ir::eval::eval_closed;
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
pub enum CallOp {
    /// A call of a staged function (how `jit` inside a transformation appears).
    Pjit { name: String, jaxpr: ClosedJaxpr },
    /// A function with a user JVP rule.
    CustomJvpCall {
        name: String,
        call_jaxpr: ClosedJaxpr,
        jvp: JvpRule,
    },
    /// A function with user forward and backward passes.
    CustomVjpCall {
        name: String,
        call_jaxpr: ClosedJaxpr,
        fwd: FwdRule,
        bwd: BwdRule,
    },
    /// The linear part of a `custom_vjp` under linearize: operands are the residuals then the
    /// tangents; its transpose calls `bwd`.
    CustomLin {
        num_res: usize,
        out_avals: Vec<Aval>,
        bwd: BwdRule,
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
        match (self, other) {
            (Pjit { jaxpr: a, name: n }, Pjit { jaxpr: b, name: m }) => a == b && n == m,
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
            ) => a == b && Arc::ptr_eq(r, s),
            (
                CustomVjpCall {
                    call_jaxpr: a,
                    fwd: r,
                    ..
                },
                CustomVjpCall {
                    call_jaxpr: b,
                    fwd: s,
                    ..
                },
            ) => a == b && Arc::ptr_eq(r, s),
            (CustomLin { bwd: a, .. }, CustomLin { bwd: b, .. }) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl CallOp {
    pub fn name(&self) -> &'static str {
        match self {
            Pjit { .. } => "pjit",
            CustomJvpCall { .. } => "custom_jvp_call",
            CustomVjpCall { .. } => "custom_vjp_call",
            CustomLin { .. } => "custom_lin",
        }
    }

    /// The jaxpr a call carries (none for `custom_lin`).
    pub fn call_jaxpr(&self) -> Option<&ClosedJaxpr> {
        match self {
            Pjit { jaxpr, .. } => Some(jaxpr),
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
        }
    }

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
    pub fn eval(&self, args: &[Array]) -> Result<Vec<Array>> {
        let avals: Vec<&Aval> = args.iter().map(|a| a.aval()).collect();
        self.abstract_eval(&avals)?;
        match self {
            CustomLin { .. } => Err(Error::type_err(
                "forward-mode differentiation (jvp, jacfwd) of a custom_vjp function is not supported; use grad, vjp or jacrev",
            )),
            _ => eval_closed(self.call_jaxpr().expect("calls carry a jaxpr"), args),
        }
    }

    pub fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Tangent],
        sub: &dyn JaxprTransforms,
    ) -> Result<JvpOut> {
        match self {
            Pjit { jaxpr, .. } => sub.jvp_call(jaxpr, primals, tangents),
            CustomJvpCall { jvp, .. } => {
                let ts: Vec<Array> = instantiate(primals, tangents)?;
                let (outs, touts) = jvp(primals, &ts)?;
                Ok((outs, touts.into_iter().map(Some).collect()))
            }
            CustomVjpCall {
                call_jaxpr,
                fwd,
                bwd,
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
                let touts = crate::core::trace::bind(lin, &args)?;
                Ok((outs, touts.into_iter().map(Some).collect()))
            }
            CustomLin { .. } => Err(Error::type_err(
                "custom_lin cannot be differentiated again in forward mode",
            )),
        }
    }

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
            Pjit { jaxpr, .. } => sub.backward_pass(jaxpr, args, cts),
            _ => Err(Error::type_err(format!(
                "{} is not linear, so it has no transpose",
                self.name()
            ))),
        }
    }

    pub fn batch(
        &self,
        args: &[Array],
        dims: &[Option<usize>],
        size: usize,
        sub: &dyn JaxprTransforms,
    ) -> Result<BatchOut> {
        match self {
            CustomLin { .. } => batch_by_loop(&Prim::Call(self.clone()), args, dims, size),
            _ => sub.batch_call(
                self.call_jaxpr().expect("calls carry a jaxpr"),
                args,
                dims,
                size,
            ),
        }
    }
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
