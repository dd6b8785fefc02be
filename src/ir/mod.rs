//! The typed IR: a `Jaxpr` is a list of equations over variables, as JAX's.
//! `builder` stages equations, `pretty` prints JAX's format, `eval` is the reference interpreter,
//! `env` the environment loop shared by every interpreter of jaxprs, `parse` reads printed
//! jaxprs back.

// Building jaxprs equation by equation and the interpreters' environment: public for the
// tests that build jaxprs directly, not for users.
#[doc(hidden)]
pub mod builder;
#[doc(hidden)]
pub mod env;
pub mod eval;
pub mod parse;
pub mod pretty;

use crate::array::Array;
use crate::core::aval::Aval;
use crate::dtype::Scalar;
use crate::prims::Prim;
use std::fmt;
use std::sync::Arc;

/// A variable: an index into its jaxpr's `avals`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Var(pub u32);

/// An equation operand: a variable or an inline scalar literal.
#[derive(Clone, Debug, PartialEq)]
pub enum Atom {
    /// A variable.
    Var(Var),
    /// An inline scalar literal.
    Lit(Literal),
}

/// A scalar constant inlined into an equation (`1.0` in `mul 1.0 b`).
#[derive(Clone)]
pub struct Literal {
    /// The value (its dtype is the literal's).
    pub value: Scalar,
    /// Whether the literal is weakly typed (printed without a dtype, as `1.0`).
    pub weak_type: bool,
    /// The literal as an array, made once: the array it was staged from, or built on the
    /// first [`Literal::to_array`] (the backward pass of an eager `grad` reads each residual
    /// literal once per call; this way it allocates nothing).
    array: std::sync::OnceLock<Array>,
}

/// Literals are equal when their values and weak types are (the cached array is not compared).
impl PartialEq for Literal {
    fn eq(&self, other: &Literal) -> bool {
        self.value == other.value && self.weak_type == other.weak_type
    }
}

impl fmt::Debug for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Literal")
            .field("value", &self.value)
            .field("weak_type", &self.weak_type)
            .finish()
    }
}

impl Literal {
    /// A literal of this value and weak type.
    pub fn new(value: Scalar, weak_type: bool) -> Literal {
        Literal {
            value,
            weak_type,
            array: std::sync::OnceLock::new(),
        }
    }

    /// The literal of a concrete scalar array, which [`Literal::to_array`] gives back (a
    /// clone of the same array, not a copy).
    pub(crate) fn of_array(value: Scalar, array: &Array) -> Literal {
        Literal {
            value,
            weak_type: array.is_weak(),
            array: std::sync::OnceLock::from(array.clone()),
        }
    }

    /// The literal's type.
    pub fn aval(&self) -> Aval {
        Aval::scalar(self.value.dtype()).weak(self.weak_type)
    }

    /// The literal as a scalar array.
    pub fn to_array(&self) -> Array {
        let make = || {
            if self.weak_type {
                Array::weak_scalar(self.value.to_f64(), self.value.dtype())
            } else {
                Array::from_scalar(self.value)
            }
        };
        self.array.get_or_init(make).clone()
    }
}

/// An equation's operands: on the stack for the one or two of nearly every primitive, so
/// staging one (an eager `grad` stages every equation of its tangent map) allocates no list.
pub type EqnInputs = smallvec::SmallVec<[Atom; 2]>;
/// An equation's output variables, on the stack for up to four.
pub type EqnOutputs = smallvec::SmallVec<[Var; 4]>;

/// `outputs = prim inputs`.
#[derive(Clone, Debug)]
pub struct Eqn {
    /// The primitive and its parameters.
    pub prim: Prim,
    /// The operands.
    pub inputs: EqnInputs,
    /// The variables the results are bound to.
    pub outputs: EqnOutputs,
}

/// A function in A-normal form: `{ lambda constvars ; invars . let eqns in outvars }`.
#[derive(Clone, Debug, Default)]
pub struct Jaxpr {
    /// The type of every variable, indexed by `Var`.
    pub avals: Vec<Aval>,
    /// Variables bound to the closed-over constants (`ClosedJaxpr::consts`).
    pub constvars: Vec<Var>,
    /// The inputs.
    pub invars: Vec<Var>,
    /// The equations, in order.
    pub eqns: Vec<Eqn>,
    /// The outputs.
    pub outvars: Vec<Atom>,
}

/// A dropped small jaxpr's lists go, emptied, to the thread's next [`builder::JaxprBuilder`]
/// (an eager `grad` builds and drops one linear jaxpr per call).
impl Drop for Jaxpr {
    fn drop(&mut self) {
        builder::recycle(self);
    }
}

impl Jaxpr {
    /// The type of a variable.
    pub fn aval(&self, v: Var) -> &Aval {
        &self.avals[v.0 as usize]
    }

    /// The type of an operand.
    pub fn atom_aval(&self, a: &Atom) -> Aval {
        match a {
            Atom::Var(v) => self.aval(*v).clone(),
            Atom::Lit(l) => l.aval(),
        }
    }

    /// The types of the inputs.
    pub fn in_avals(&self) -> Vec<Aval> {
        self.invars.iter().map(|v| self.aval(*v).clone()).collect()
    }

    /// The types of the outputs.
    pub fn out_avals(&self) -> Vec<Aval> {
        self.outvars.iter().map(|a| self.atom_aval(a)).collect()
    }

    /// The same jaxpr up to a renaming of variables: binders correspond in order with equal
    /// types, and every use refers to corresponding binders.
    pub fn alpha_equivalent(&self, other: &Jaxpr) -> bool {
        let (a, b) = (self, other);
        let mut map: Vec<Option<Var>> = vec![None; a.avals.len()];
        let bind = |map: &mut Vec<Option<Var>>, xs: &[Var], ys: &[Var]| {
            xs.len() == ys.len()
                && xs.iter().zip(ys).all(|(&x, &y)| {
                    let fresh = map[x.0 as usize].replace(y).is_none();
                    fresh && a.aval(x) == b.aval(y)
                })
        };
        let same_atom = |map: &Vec<Option<Var>>, x: &Atom, y: &Atom| match (x, y) {
            (Atom::Var(x), Atom::Var(y)) => map[x.0 as usize] == Some(*y),
            (Atom::Lit(x), Atom::Lit(y)) => x == y,
            _ => false,
        };
        let same_atoms = |map: &Vec<Option<Var>>, xs: &[Atom], ys: &[Atom]| {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_atom(map, x, y))
        };
        if !bind(&mut map, &a.constvars, &b.constvars)
            || !bind(&mut map, &a.invars, &b.invars)
            || a.eqns.len() != b.eqns.len()
        {
            return false;
        }
        for (x, y) in a.eqns.iter().zip(&b.eqns) {
            if !x.prim.same_as(&y.prim)
                || !same_atoms(&map, &x.inputs, &y.inputs)
                || !bind(&mut map, &x.outputs, &y.outputs)
            {
                return false;
            }
        }
        same_atoms(&map, &a.outvars, &b.outvars)
    }
}

/// A jaxpr with values for its constvars.
#[derive(Clone)]
pub struct ClosedJaxpr {
    /// The jaxpr.
    pub jaxpr: Arc<Jaxpr>,
    /// The values of its constvars, in order.
    pub consts: Vec<Array>,
}

impl ClosedJaxpr {
    /// Structural equality: the same equations on the same types, up to the numbering of
    /// variables (a jaxpr read back from its text is `same_as` the one printed), with
    /// constants of the same bits; jaxprs carried by call primitives compared the same way,
    /// custom rules by identity. A jaxpr traced again from the same function is `same_as` the
    /// first (`==` is identity), which is what a cache keyed by the jaxpr itself needs.
    pub fn same_as(&self, other: &ClosedJaxpr) -> bool {
        let same_consts = self.consts.len() == other.consts.len()
            && self
                .consts
                .iter()
                .zip(&other.consts)
                .all(|(x, y)| x.same_bits(y));
        same_consts && self.jaxpr.alpha_equivalent(&other.jaxpr)
    }

    /// The types of the inputs (constvars excluded).
    pub fn in_avals(&self) -> Vec<Aval> {
        self.jaxpr.in_avals()
    }

    /// The same function with unused inputs of types `avals` inserted at input position `at`
    /// (so that branches of a `cond` take one common operand list).
    pub fn with_unused_invars(&self, at: usize, avals: &[Aval]) -> ClosedJaxpr {
        if avals.is_empty() {
            return self.clone();
        }
        let mut j = (*self.jaxpr).clone();
        let fresh: Vec<Var> = avals
            .iter()
            .map(|a| {
                j.avals.push(a.clone());
                Var(j.avals.len() as u32 - 1)
            })
            .collect();
        j.invars.splice(at..at, fresh);
        ClosedJaxpr {
            jaxpr: Arc::new(j),
            consts: self.consts.clone(),
        }
    }

    /// JAX's `convert_constvars_jaxpr`: the constvars become leading invars, and their values
    /// come back to be passed as operands (how loops and branches take what a body closes
    /// over).
    pub fn consts_as_invars(&self) -> (ClosedJaxpr, Vec<Array>) {
        let mut j = (*self.jaxpr).clone();
        let mut invars = std::mem::take(&mut j.constvars);
        invars.append(&mut j.invars);
        j.invars = invars;
        let closed = ClosedJaxpr {
            jaxpr: Arc::new(j),
            consts: vec![],
        };
        (closed, self.consts.clone())
    }

    /// The types of the outputs.
    pub fn out_avals(&self) -> Vec<Aval> {
        self.jaxpr.out_avals()
    }
}

impl fmt::Debug for ClosedJaxpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for ClosedJaxpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.jaxpr)
    }
}

impl fmt::Display for Jaxpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&pretty::pp_jaxpr(self))
    }
}

impl PartialEq for ClosedJaxpr {
    /// Identity: two handles to the same staged jaxpr.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.jaxpr, &other.jaxpr)
    }
}
