//! The one interface through which the rules of higher-order primitives (the call primitives
//! today; `while`, `scan` and `cond` next) apply a transformation to the jaxpr they carry, as
//! JAX's control-flow rules call `ad.jvp_jaxpr`, `pe.partial_eval_jaxpr_nounits`,
//! `ad.backward_pass` and `batching.batch_jaxpr`.
//!
//! The trait lives here, below both sides: `src/transform/` implements it (`Transforms`), and
//! `src/prims/` only sees the trait, so primitives never call up into the transformations. The
//! transformation that runs a rule hands itself to the rule as a parameter (`Prim::jvp`,
//! `Prim::transpose` and `Prim::batch` take a `&dyn JaxprTransforms`): only interpreters run
//! rules, so every caller has one to give, and no global registration is needed.
//!
//! Evaluating a sub-jaxpr needs no transformation: `crate::ir::eval::eval_closed` binds each
//! equation in the current context.

use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::Result;
use crate::ir::ClosedJaxpr;
use crate::prims::{BatchOut, Cotangents, JvpOut, LinArg, Tangent};

/// A traceable function on flat lists of arrays.
pub type FlatFn<'a> = &'a dyn Fn(&[Array]) -> Result<Vec<Array>>;

/// A jaxpr split by partial evaluation: `known` runs now, `unknown` later on its residuals.
#[derive(Debug)]
pub struct PartialJaxpr {
    /// `known inputs -> (known outputs, residuals)`.
    pub known: ClosedJaxpr,
    /// `(residuals, unknown inputs) -> unknown outputs`.
    pub unknown: ClosedJaxpr,
    /// Which outputs of the original jaxpr the unknown jaxpr computes (the rest: `known`).
    pub out_unknowns: Vec<bool>,
    /// How many residuals `known` returns after its outputs and `unknown` takes first.
    pub num_res: usize,
}

/// Transformations of a sub-jaxpr, for the rules of primitives that carry jaxprs.
///
/// The `*_call` methods replay a jaxpr through a transformation in the current context (its
/// body inlined into the derivative or the batch, what a call primitive needs); the `*_jaxpr`
/// methods return a new jaxpr (what a loop or a branch needs, to bind it again as its body).
pub trait JaxprTransforms {
    /// Stage `f` on arguments of the given types into a closed jaxpr (JAX's
    /// `trace_to_jaxpr`), e.g. to turn a rule's helper into a sub-jaxpr.
    fn trace(&self, f: FlatFn, in_avals: &[Aval]) -> Result<ClosedJaxpr>;

    /// JVP of a call of `jaxpr` on primal/tangent pairs (`None`: a symbolic zero), each
    /// equation's rule applied in the current context.
    fn jvp_call(
        &self,
        jaxpr: &ClosedJaxpr,
        primals: &[Array],
        tangents: &[Tangent],
    ) -> Result<JvpOut>;

    /// JAX's `ad.jvp_jaxpr`: the jaxpr `(primals, tangents of the inputs where nonzeros) ->
    /// (primal outputs, tangents of the outputs where out_nonzeros)`, and `out_nonzeros`: an
    /// output's tangent is there when it depends on a nonzero input tangent or `instantiate`
    /// asks for it (as zeros). A loop rule iterates this to a fixpoint over its carry.
    fn jvp_jaxpr(
        &self,
        jaxpr: &ClosedJaxpr,
        nonzeros: &[bool],
        instantiate: &[bool],
    ) -> Result<(ClosedJaxpr, Vec<bool>)>;

    /// JAX's `pe.partial_eval_jaxpr_nounits`: split `jaxpr` into what the known inputs compute
    /// now and what needs the `unknowns`; outputs with `instantiate` are made unknown.
    fn partial_eval_jaxpr(
        &self,
        jaxpr: &ClosedJaxpr,
        unknowns: &[bool],
        instantiate: &[bool],
    ) -> Result<PartialJaxpr>;

    /// JAX's `ad.backward_pass`: cotangents of the linear inputs of `jaxpr` (those given as
    /// `LinArg::Linear`) from cotangents of its outputs.
    fn backward_pass(
        &self,
        jaxpr: &ClosedJaxpr,
        args: &[LinArg],
        cts_out: &[Tangent],
    ) -> Result<Cotangents>;

    /// Batching of a call of `jaxpr` on (value, batch dimension) pairs, each equation's rule
    /// applied in the current context.
    fn batch_call(
        &self,
        jaxpr: &ClosedJaxpr,
        args: &[Array],
        dims: &[Option<usize>],
        axis_size: usize,
    ) -> Result<BatchOut>;

    /// JAX's `batching.batch_jaxpr`: the jaxpr on inputs batched at axis 0 where `in_batched`,
    /// and which outputs come out batched (at axis 0): those that depend on a batched input,
    /// and those `instantiate` forces (broadcast).
    fn batch_jaxpr(
        &self,
        jaxpr: &ClosedJaxpr,
        axis_size: usize,
        in_batched: &[bool],
        instantiate: &[bool],
    ) -> Result<(ClosedJaxpr, Vec<bool>)>;
}
