//! Forward-mode differentiation. One interpreter serves `jvp` (tangents computed by the
//! parent) and `linearize` (tangents staged by a partial-evaluation trace, primals computed by
//! the parent): the rules are the same, only the context they run in differs.

use super::subjaxpr::Transforms;
use crate::array::{Array, Repr};
use crate::core::error::Result;
use crate::core::trace::{
    self, bind, bind1, check_outer, with_interpreter, Interpreter, Payload, Tag, Tracer,
};
use crate::ir::env::interpret_annotated;
use crate::ir::ClosedJaxpr;
use crate::prims::{JvpOut, Prim, Tangent};
use smallvec::SmallVec;
use std::rc::Rc;

pub struct JvpInterp {
    tag: Tag,
    parent: Option<Rc<dyn Interpreter>>,
    /// Where rules run: the parent (jvp) or the tangent staging trace (linearize).
    rule_ctx: Option<Rc<dyn Interpreter>>,
}

impl std::fmt::Debug for JvpInterp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JvpInterp")
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

impl JvpInterp {
    pub fn new(
        parent: Option<Rc<dyn Interpreter>>,
        rule_ctx: Option<Rc<dyn Interpreter>>,
    ) -> Rc<JvpInterp> {
        Rc::new(JvpInterp {
            tag: Tag::fresh(),
            parent,
            rule_ctx,
        })
    }

    /// A dual number of this trace (a primal with a symbolic-zero tangent stays plain).
    pub fn dual(&self, primal: Array, tangent: Tangent) -> Array {
        match tangent {
            None => primal,
            Some(t) => {
                let aval = primal.aval().clone();
                Array::from_tracer(Tracer {
                    tag: self.tag,
                    aval,
                    payload: Payload::Dual {
                        primal,
                        tangent: Some(t),
                    },
                })
            }
        }
    }

    /// Split a value into primal and tangent (values from outside have a zero tangent).
    pub fn unpack(&self, x: &Array) -> Result<(Array, Tangent)> {
        if let Repr::Tracer(t) = &x.repr {
            if t.tag == self.tag {
                if let Payload::Dual { primal, tangent } = &t.payload {
                    return Ok((primal.clone(), tangent.clone()));
                }
            }
        }
        check_outer(x, self.tag, &self.parent)?;
        Ok((x.clone(), None))
    }
}

impl Interpreter for JvpInterp {
    fn tag(&self) -> Tag {
        self.tag
    }

    fn parent(&self) -> Option<Rc<dyn Interpreter>> {
        self.parent.clone()
    }

    fn name(&self) -> &'static str {
        "jvp"
    }

    fn process(&self, prim: &Prim, args: &[Array]) -> Result<Vec<Array>> {
        let (primals, tangents) = self.unpack_all(args)?;
        if tangents.iter().all(|t| t.is_none()) {
            return with_interpreter(self.parent.clone(), || bind(prim.clone(), &primals));
        }
        let (outs, touts) = with_interpreter(self.rule_ctx.clone(), || {
            prim.jvp(&primals, &tangents, &Transforms)
        })?;
        Ok(outs
            .into_iter()
            .zip(touts)
            .map(|(p, t)| self.dual(p, t))
            .collect())
    }

    fn process1(&self, prim: &Prim, args: &[Array]) -> Result<Array> {
        let (primals, tangents) = self.unpack_all(args)?;
        if tangents.iter().all(|t| t.is_none()) {
            return with_interpreter(self.parent.clone(), || bind1(prim.clone(), &primals));
        }
        let (out, tout) = with_interpreter(self.rule_ctx.clone(), || {
            prim.jvp1(&primals, &tangents, &Transforms)
        })?;
        Ok(self.dual(out, tout))
    }
}

/// Operands split into primals and tangents, on the stack for the usual one to four.
type Unpacked = (SmallVec<[Array; 4]>, SmallVec<[Tangent; 4]>);

impl JvpInterp {
    /// [`JvpInterp::unpack`] of each operand.
    fn unpack_all(&self, args: &[Array]) -> Result<Unpacked> {
        let mut primals = SmallVec::new();
        let mut tangents = SmallVec::new();
        for a in args {
            let (p, t) = self.unpack(a)?;
            primals.push(p);
            tangents.push(t);
        }
        Ok((primals, tangents))
    }
}

/// `jvp(f, primals, tangents)` on flat lists: primal outputs and tangent outputs (`None`: zero).
pub fn jvp_flat(
    f: &dyn Fn(&[Array]) -> Result<Vec<Array>>,
    primals: &[Array],
    tangents: &[Tangent],
) -> Result<(Vec<Array>, Vec<Tangent>)> {
    let parent = trace::current();
    let interp = JvpInterp::new(parent.clone(), parent);
    let ins: Vec<Array> = primals
        .iter()
        .zip(tangents)
        .map(|(p, t)| interp.dual(p.clone(), t.clone()))
        .collect();
    let dyn_interp: Rc<dyn Interpreter> = interp.clone();
    let outs = with_interpreter(Some(dyn_interp), || f(&ins))?;
    outs.iter()
        .map(|o| interp.unpack(o))
        .collect::<Result<Vec<_>>>()
        .map(|v| v.into_iter().unzip())
}

/// JVP of a jaxpr on explicit primal/tangent pairs, applying each equation's rule in the
/// current context (how a `pjit` is differentiated: its body inlined into the derivative).
pub fn jvp_eval_jaxpr(cj: &ClosedJaxpr, primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
    interpret_annotated(cj, primals, tangents, |prim, ps, ts| {
        prim.jvp(ps, ts, &Transforms)
    })
}
