//! Builds a jaxpr one equation at a time (the staging side of make_jaxpr, jit and linearize).

use super::{Atom, ClosedJaxpr, Eqn, EqnInputs, EqnOutputs, Jaxpr, Literal, Var};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::prims::Prim;
use std::cell::Cell;
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct JaxprBuilder {
    avals: Vec<Aval>,
    constvars: Vec<Var>,
    consts: Vec<Array>,
    invars: Vec<Var>,
    eqns: Vec<Eqn>,
    /// An empty list for the outputs (a recycled one; see [`JaxprBuilder::outvars_list`]).
    outvars: Vec<Atom>,
}

/// The emptied lists of a dropped small jaxpr, kept for the thread's next builder.
struct Spare {
    avals: Vec<Aval>,
    invars: Vec<Var>,
    eqns: Vec<Eqn>,
    outvars: Vec<Atom>,
}

/// The most equations a jaxpr may have for its lists to be kept (a spare holds no large
/// allocation for long).
const SPARE_MAX_EQNS: usize = 32;

thread_local! {
    static SPARE: Cell<Option<Spare>> = const { Cell::new(None) };
}

/// Keep `jaxpr`'s lists, emptied, for the thread's next builder if it is small and no spare
/// is kept yet (its equations are dropped first: a nested jaxpr recycles before its parent).
pub(super) fn recycle(jaxpr: &mut Jaxpr) {
    if jaxpr.eqns.capacity() > SPARE_MAX_EQNS || jaxpr.avals.capacity() > 4 * SPARE_MAX_EQNS {
        return;
    }
    let (mut avals, mut invars, mut eqns, mut outvars) = (
        std::mem::take(&mut jaxpr.avals),
        std::mem::take(&mut jaxpr.invars),
        std::mem::take(&mut jaxpr.eqns),
        std::mem::take(&mut jaxpr.outvars),
    );
    eqns.clear();
    avals.clear();
    invars.clear();
    outvars.clear();
    // At thread exit the slot may be gone: the lists are then simply freed.
    let _ = SPARE.try_with(|s| {
        let kept = s.take();
        s.set(Some(kept.unwrap_or(Spare {
            avals,
            invars,
            eqns,
            outvars,
        })));
    });
}

impl JaxprBuilder {
    /// An empty builder: the lists of the last small jaxpr this thread dropped, or room for
    /// the types of a small jaxpr's first eight variables (an eager `grad` of a scalar
    /// function builds one per call).
    pub fn new() -> JaxprBuilder {
        match SPARE.try_with(Cell::take).ok().flatten() {
            Some(Spare {
                avals,
                invars,
                eqns,
                outvars,
            }) => JaxprBuilder {
                avals,
                invars,
                eqns,
                outvars,
                ..JaxprBuilder::default()
            },
            None => JaxprBuilder {
                avals: Vec::with_capacity(8),
                ..JaxprBuilder::default()
            },
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

    /// An empty list to gather the outputs for [`JaxprBuilder::build`] in, with room for `n`
    /// (the recycled list of a dropped jaxpr, if this builder has one).
    pub fn outvars_list(&mut self, n: usize) -> Vec<Atom> {
        let mut v = std::mem::take(&mut self.outvars);
        v.reserve(n);
        v
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::prims::BinaryOp;

    /// `x + x + ... + x`, `n` equations.
    fn sum_of(n: usize) -> ClosedJaxpr {
        let f32 = || Aval::scalar(DType::F32);
        let mut b = JaxprBuilder::new();
        let x = b.add_invar(f32());
        let mut v = x;
        for _ in 0..n {
            let ins = vec![Atom::Var(v), Atom::Var(x)];
            v = b.add_eqn(Prim::Binary(BinaryOp::Add), ins, vec![f32()])[0];
        }
        let mut outs = b.outvars_list(n);
        outs.push(Atom::Var(v));
        b.build(outs)
    }

    /// The next builder on the thread takes a dropped small jaxpr's lists (their capacity
    /// shows it), emptied: the new jaxpr holds only its own variables and equations.
    #[test]
    fn a_dropped_jaxprs_lists_serve_the_next_builder_empty() {
        drop(sum_of(9));
        let j = sum_of(1);
        assert!(j.jaxpr.eqns.capacity() >= 9 && j.jaxpr.avals.capacity() >= 10);
        assert!(j.jaxpr.outvars.capacity() >= 9);
        assert_eq!(j.jaxpr.invars, [Var(0)]);
        assert_eq!((j.jaxpr.eqns.len(), j.jaxpr.avals.len()), (1, 2));
        assert_eq!(j.jaxpr.outvars, [Atom::Var(Var(1))]);
        assert_eq!(j.to_string(), sum_of(1).to_string());
        assert_eq!(
            j.jaxpr.eqns[0].inputs[..],
            [Atom::Var(Var(0)), Atom::Var(Var(0))]
        );
    }
}
