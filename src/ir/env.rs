//! The environment of a jaxpr interpreter: the value of each variable while a jaxpr is run,
//! and `interpret`, the loop every interpreter of jaxprs shares (bind the constvars and
//! invars, run each equation on its operands, write its outputs, read the outvars). What a
//! value is depends on the interpreter: an array (evaluation), a primal with its tangent (jvp),
//! a value with its batch dimension (vmap), a graph node or literal (the backend's graph).

use super::{Atom, ClosedJaxpr, Eqn, Jaxpr, Literal, Var};
use crate::array::Array;
use crate::core::error::Result;
use crate::core::trace::bind;
use crate::prims::Prim;
use smallvec::SmallVec;

/// What an interpreter's value is for an inline literal.
pub trait FromLiteral {
    fn from_literal(l: &Literal) -> Self;
}

impl FromLiteral for Array {
    fn from_literal(l: &Literal) -> Self {
        l.to_array()
    }
}

/// A literal with an empty annotation: no tangent (jvp), not batched (vmap).
impl<U> FromLiteral for (Array, Option<U>) {
    fn from_literal(l: &Literal) -> Self {
        (l.to_array(), None)
    }
}

/// The values of a jaxpr's variables, indexed by `Var`; a variable is unset until written.
/// On the stack for the few variables of a small jaxpr (eager `grad` of a scalar function
/// interprets one per call).
#[derive(Debug)]
pub struct Env<T> {
    values: SmallVec<[Option<T>; 8]>,
}

impl<T: Clone + FromLiteral> Env<T> {
    /// An environment for `jaxpr` with nothing set.
    pub fn new(jaxpr: &Jaxpr) -> Env<T> {
        Env {
            values: smallvec::smallvec![None; jaxpr.avals.len()],
        }
    }

    pub fn write(&mut self, v: Var, x: T) {
        self.values[v.0 as usize] = Some(x);
    }

    /// Write `xs` to `vars`, pairwise.
    pub fn write_all(&mut self, vars: &[Var], xs: impl IntoIterator<Item = T>) {
        for (v, x) in vars.iter().zip(xs) {
            self.write(*v, x);
        }
    }

    /// Is the operand's value known (a literal, or a variable that was written)?
    pub fn has(&self, a: &Atom) -> bool {
        match a {
            Atom::Var(v) => self.values[v.0 as usize].is_some(),
            Atom::Lit(_) => true,
        }
    }

    /// Remove and return a variable's value.
    pub fn take(&mut self, v: Var) -> Option<T> {
        self.values[v.0 as usize].take()
    }

    /// The value of an operand (variables are written before they are read).
    pub fn read(&self, a: &Atom) -> T {
        match a {
            Atom::Var(v) => self.values[v.0 as usize]
                .clone()
                .expect("jaxpr variables are defined before use"),
            Atom::Lit(l) => T::from_literal(l),
        }
    }

    pub fn read_all(&self, atoms: &[Atom]) -> Vec<T> {
        atoms.iter().map(|a| self.read(a)).collect()
    }
}

/// Run `jaxpr` on `consts` and `args`, computing each equation's outputs from its operands
/// with `step`; the values of the outvars.
pub fn interpret<T: Clone + FromLiteral>(
    jaxpr: &Jaxpr,
    consts: impl IntoIterator<Item = T>,
    args: impl IntoIterator<Item = T>,
    mut step: impl FnMut(&Eqn, Vec<T>) -> Result<Vec<T>>,
) -> Result<Vec<T>> {
    let mut env = Env::new(jaxpr);
    env.write_all(&jaxpr.constvars, consts);
    env.write_all(&jaxpr.invars, args);
    for eqn in &jaxpr.eqns {
        let outs = step(eqn, env.read_all(&eqn.inputs))?;
        env.write_all(&eqn.outputs, outs);
    }
    Ok(env.read_all(&jaxpr.outvars))
}

/// `interpret` for values that carry an optional annotation (a tangent, a batch dimension):
/// an equation none of whose operands is annotated is bound as it is in the current context,
/// the others go to `rule`. Constants and literals are unannotated.
pub fn interpret_annotated<A: Clone>(
    jaxpr: &ClosedJaxpr,
    args: &[Array],
    annotations: &[Option<A>],
    rule: impl Fn(&Prim, &[Array], &[Option<A>]) -> Result<(Vec<Array>, Vec<Option<A>>)>,
) -> Result<(Vec<Array>, Vec<Option<A>>)> {
    let consts = jaxpr.consts.iter().map(|c| (c.clone(), None));
    let args = args.iter().cloned().zip(annotations.iter().cloned());
    let outs = interpret(&jaxpr.jaxpr, consts, args, |eqn, ins| {
        let (vals, annots): (Vec<Array>, Vec<Option<A>>) = ins.into_iter().unzip();
        let (outs, out_annots) = if annots.iter().all(|a| a.is_none()) {
            let outs = bind(eqn.prim.clone(), &vals)?;
            let n = outs.len();
            (outs, vec![None; n])
        } else {
            rule(&eqn.prim, &vals, &annots)?
        };
        Ok(outs.into_iter().zip(out_annots).collect())
    })?;
    Ok(outs.into_iter().unzip())
}
