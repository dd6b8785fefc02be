//! `custom_jvp` and `custom_vjp`: functions with user-supplied derivative rules (for example a
//! numerically stable `log1p(exp(x))`).

use super::{bind_call, Function};
use crate::array::Array;
use crate::core::error::{catch, Result};
use crate::prims::call::{BwdRule, CallOp, FwdRule, JvpRule};
use crate::pytree::{ArgTuple, Pytree};
use std::sync::Arc;

/// `custom_jvp(f, rule)`: `f` whose JVP is `rule(primals, tangents) -> (outputs, tangent
/// outputs)`, on flat lists of arrays (one per leaf of the arguments and outputs).
pub fn custom_jvp<F, R>(f: F, rule: R) -> CustomJvp<F>
where
    R: Fn(&[Array], &[Array]) -> (Vec<Array>, Vec<Array>) + Send + Sync + 'static,
{
    let rule: JvpRule = Arc::new(move |p: &[Array], t: &[Array]| catch(|| Ok(rule(p, t))));
    CustomJvp { f, rule }
}

#[derive(Clone)]
/// `custom_jvp(f, rule)`: `f` with a user JVP rule.
pub struct CustomJvp<F> {
    f: F,
    rule: JvpRule,
}

impl<F> std::fmt::Debug for CustomJvp<F> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomJvp").finish_non_exhaustive()
    }
}

impl<Args, F> Function<Args> for CustomJvp<F>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    type Output = F::Output;

    fn call(&self, args: Args) -> Result<F::Output> {
        bind_call(&self.f, args, |call_jaxpr| CallOp::CustomJvpCall {
            name: self.f.name(),
            call_jaxpr,
            jvp: Some(self.rule.clone()),
        })
    }

    fn name(&self) -> String {
        self.f.name()
    }
}

/// `custom_vjp(f, fwd, bwd)`: `fwd(primals) -> (outputs, residuals)` and
/// `bwd(residuals, output cotangents) -> input cotangents`, on flat lists of arrays.
pub fn custom_vjp<F, Fw, Bw>(f: F, fwd: Fw, bwd: Bw) -> CustomVjp<F>
where
    Fw: Fn(&[Array]) -> (Vec<Array>, Vec<Array>) + Send + Sync + 'static,
    Bw: Fn(&[Array], &[Array]) -> Vec<Array> + Send + Sync + 'static,
{
    let fwd: FwdRule = Arc::new(move |p: &[Array]| catch(|| Ok(fwd(p))));
    let bwd: BwdRule = Arc::new(move |r: &[Array], c: &[Array]| catch(|| Ok(bwd(r, c))));
    CustomVjp { f, fwd, bwd }
}

#[derive(Clone)]
/// `custom_vjp(f, fwd, bwd)`: `f` with user forward and backward passes.
pub struct CustomVjp<F> {
    f: F,
    fwd: FwdRule,
    bwd: BwdRule,
}

impl<F> std::fmt::Debug for CustomVjp<F> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomVjp").finish_non_exhaustive()
    }
}

impl<Args, F> Function<Args> for CustomVjp<F>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    type Output = F::Output;

    fn call(&self, args: Args) -> Result<F::Output> {
        bind_call(&self.f, args, |call_jaxpr| CallOp::CustomVjpCall {
            name: self.f.name(),
            call_jaxpr,
            rules: Some((self.fwd.clone(), self.bwd.clone())),
        })
    }

    fn name(&self) -> String {
        self.f.name()
    }
}

/// Helper so users can check a pytree's leaf count when writing flat rules.
pub fn num_leaves<T: Pytree>(t: &T) -> usize {
    t.num_leaves()
}
