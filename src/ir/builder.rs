//! Builds a jaxpr one equation at a time (the staging side of make_jaxpr, jit and linearize).

use super::{Atom, ClosedJaxpr, Eqn, EqnInputs, EqnOutputs, Jaxpr, Literal, Var};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::prims::Prim;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct JaxprBuilder {
    avals: Vec<Aval>,
    constvars: Vec<Var>,
    consts: Vec<Array>,
    invars: Vec<Var>,
    eqns: Vec<Eqn>,
}

impl JaxprBuilder {
    /// An empty builder, with room for the types of a small jaxpr's first eight variables
    /// (an eager `grad` of a scalar function builds one per call; they then grow once, not
    /// twice).
    pub fn new() -> JaxprBuilder {
        JaxprBuilder {
            avals: Vec::with_capacity(8),
            ..JaxprBuilder::default()
        }
    }

    pub fn new_var(&mut self, aval: Aval) -> Var {
        self.avals.push(aval);
        Var(self.avals.len() as u32 - 1)
    }

    pub fn aval(&self, v: Var) -> &Aval {
        &self.avals[v.0 as usize]
    }

    pub fn add_invar(&mut self, aval: Aval) -> Var {
        let v = self.new_var(aval);
        self.invars.push(v);
        v
    }

    /// A constvar holding `value` (a closed-over array or an outer tracer).
    pub fn add_const(&mut self, value: Array) -> Var {
        let v = self.new_var(value.aval().clone());
        self.constvars.push(v);
        self.consts.push(value);
        v
    }

    /// The constvar already made for this very array, if any (by identity).
    pub fn find_const(&self, value: &Array) -> Option<Var> {
        self.consts
            .iter()
            .position(|c| same_array(c, value))
            .map(|i| self.constvars[i])
    }

    pub fn add_eqn(&mut self, prim: Prim, inputs: Vec<Atom>, out_avals: Vec<Aval>) -> Vec<Var> {
        self.push_eqn(prim, inputs.into(), &out_avals).collect()
    }

    /// As [`JaxprBuilder::add_eqn`], the new variables as an iterator (they are numbered
    /// consecutively, so staging a primitive builds no second list of them).
    pub(crate) fn push_eqn(
        &mut self,
        prim: Prim,
        inputs: EqnInputs,
        out_avals: &[Aval],
    ) -> impl Iterator<Item = Var> {
        let first = self.avals.len() as u32;
        let mut outputs = EqnOutputs::new();
        for a in out_avals {
            outputs.push(self.new_var(a.clone()));
        }
        self.eqns.push(Eqn {
            prim,
            inputs,
            outputs,
        });
        (first..self.avals.len() as u32).map(Var)
    }

    pub fn num_eqns(&self) -> usize {
        self.eqns.len()
    }

    /// Finish: the jaxpr and the values of its constvars.
    pub fn build(self, outvars: Vec<Atom>) -> ClosedJaxpr {
        let jaxpr = Jaxpr {
            avals: self.avals,
            constvars: self.constvars,
            invars: self.invars,
            eqns: self.eqns,
            outvars,
        };
        ClosedJaxpr {
            jaxpr: Arc::new(jaxpr),
            consts: self.consts,
        }
    }
}

/// A scalar concrete array becomes an inline literal.
pub fn literal_of(value: &Array) -> Option<Literal> {
    let c = value.concrete()?;
    if !c.aval.shape.is_empty() {
        return None;
    }
    Some(Literal::of_array(c.data.get(0), value))
}

/// Do two arrays share their storage (or tracer)?
pub fn same_array(a: &Array, b: &Array) -> bool {
    use crate::array::Repr;
    match (&a.repr, &b.repr) {
        (Repr::Concrete(x), Repr::Concrete(y)) => Arc::ptr_eq(x, y),
        (Repr::Tracer(x), Repr::Tracer(y)) => Arc::ptr_eq(x, y),
        _ => false,
    }
}
