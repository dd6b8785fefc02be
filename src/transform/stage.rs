//! Staging: an interpreter that records equations into a jaxpr instead of computing them.
//! `make_jaxpr` and `jit` trace with it; linearize uses it in partial-evaluation mode for the
//! tangent side, where equations that touch no tangent are handed to the parent to compute.

use crate::array::{with_avals, Array, Repr};
use crate::core::aval::Aval;
use crate::core::error::Result;
use crate::core::trace::{
    self, bind, bind1, escaped, is_live_in, with_interpreter, Interpreter, Payload, Tag, Tracer,
};
use crate::ir::builder::{literal_of, JaxprBuilder};
use crate::ir::{Atom, ClosedJaxpr, EqnInputs};
use crate::prims::Prim;
use smallvec::SmallVec;
use std::cell::RefCell;
use std::rc::Rc;

pub struct StagingInterp {
    tag: Tag,
    parent: Option<Rc<dyn Interpreter>>,
    builder: RefCell<JaxprBuilder>,
    /// Partial evaluation: equations with no operand of this trace are computed by the parent.
    forward_known: bool,
}

impl std::fmt::Debug for StagingInterp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagingInterp")
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

impl StagingInterp {
    pub fn new(parent: Option<Rc<dyn Interpreter>>, forward_known: bool) -> Rc<StagingInterp> {
        Rc::new(StagingInterp {
            tag: Tag::fresh(),
            parent,
            builder: RefCell::new(JaxprBuilder::new()),
            forward_known,
        })
    }

    /// A new input variable and the tracer standing for it.
    pub fn new_arg(&self, aval: Aval) -> Array {
        let v = self.builder.borrow_mut().add_invar(aval.clone());
        Array::from_tracer(Tracer {
            tag: self.tag,
            aval,
            payload: Payload::Staged(v),
        })
    }

    /// The operand for a value: own variable, inline literal, or constvar.
    pub fn to_atom(&self, x: &Array) -> Result<Atom> {
        if let Repr::Tracer(t) = &x.repr {
            if t.tag == self.tag {
                if let Payload::Staged(v) = t.payload {
                    return Ok(Atom::Var(v));
                }
            }
            if !is_live_in(t.tag, &self.parent) {
                return Err(escaped(t));
            }
        } else if let Some(lit) = literal_of(x) {
            return Ok(Atom::Lit(lit));
        }
        let mut b = self.builder.borrow_mut();
        let v = match b.find_const(x) {
            Some(v) => v,
            None => b.add_const(x.clone()),
        };
        Ok(Atom::Var(v))
    }

    /// Is `x` a tracer of this trace?
    pub fn owns(&self, x: &Array) -> bool {
        x.tracer().is_some_and(|t| t.tag == self.tag)
    }

    /// Finish: the jaxpr with `outs` as its outputs.
    pub fn finish(&self, outs: &[Array]) -> Result<ClosedJaxpr> {
        let mut atoms = self.builder.borrow_mut().outvars_list(outs.len());
        for o in outs {
            atoms.push(self.to_atom(o)?);
        }
        let builder = std::mem::take(&mut *self.builder.borrow_mut());
        Ok(builder.build(atoms))
    }
}

impl Interpreter for StagingInterp {
    fn tag(&self) -> Tag {
        self.tag
    }

    fn parent(&self) -> Option<Rc<dyn Interpreter>> {
        self.parent.clone()
    }

    fn name(&self) -> &'static str {
        "make_jaxpr"
    }

    fn process(&self, prim: &Prim, args: &[Array]) -> Result<Vec<Array>> {
        if self.forward_known && !args.iter().any(|a| self.owns(a)) {
            return with_interpreter(self.parent.clone(), || bind(prim.clone(), args));
        }
        Ok(self.stage(prim, args)?.into_vec())
    }

    fn process1(&self, prim: &Prim, args: &[Array]) -> Result<Array> {
        if self.forward_known && !args.iter().any(|a| self.owns(a)) {
            return with_interpreter(self.parent.clone(), || bind1(prim.clone(), args));
        }
        let mut outs = self.stage(prim, args)?;
        debug_assert_eq!(outs.len(), 1);
        Ok(outs.pop().expect("one output"))
    }
}

impl StagingInterp {
    /// Record `prim` on `args` as an equation; tracers for its outputs. (Pushed one by one:
    /// collecting the one or two operands and outputs of an equation through iterator
    /// adapters cost more than the rest of staging it.)
    fn stage(&self, prim: &Prim, args: &[Array]) -> Result<SmallVec<[Array; 1]>> {
        let mut atoms = EqnInputs::new();
        for a in args {
            atoms.push(self.to_atom(a)?);
        }
        let out_avals = with_avals(args, |avals| prim.out_avals(avals))?;
        let vars = (self.builder.borrow_mut()).push_eqn(prim.clone(), atoms, &out_avals);
        let mut outs = SmallVec::new();
        for (v, aval) in vars.zip(out_avals) {
            outs.push(Array::from_tracer(Tracer {
                tag: self.tag,
                aval,
                payload: Payload::Staged(v),
            }));
        }
        Ok(outs)
    }
}

/// Trace a flat function on arguments of the given types into a closed jaxpr.
pub fn trace_to_jaxpr(
    f: &dyn Fn(&[Array]) -> Result<Vec<Array>>,
    in_avals: &[Aval],
) -> Result<ClosedJaxpr> {
    let interp = StagingInterp::new(trace::current(), false);
    let args: Vec<Array> = in_avals.iter().map(|a| interp.new_arg(a.clone())).collect();
    let dyn_interp: Rc<dyn Interpreter> = interp.clone();
    let outs = with_interpreter(Some(dyn_interp), || f(&args))?;
    interp.finish(&outs)
}
