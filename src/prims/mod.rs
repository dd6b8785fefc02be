//! The closed set of primitives. Each family file holds ALL the rules of its primitives:
//! shape/dtype rule (`abstract_eval`), eager evaluation, JVP, transpose (for linear ones) and
//! batching. Adding a primitive is one enum variant in its family plus its rules there; the
//! exhaustive matches make the compiler list anything missing.
//!
//! Rules only bind primitives (through `lax`); they never call up into `src/transform/`. The
//! rules of primitives that carry jaxprs (`call`) transform them through the
//! `core::jaxpr_transforms::JaxprTransforms` handed to `jvp`, `transpose` and `batch`, and
//! batching rules share the toolkit in `batching` with the vmap interpreter.

pub mod batching;
pub mod binary;
pub mod call;
pub mod clamp;
pub mod control;
pub mod conv;
pub mod cumulative;
pub mod dot;
pub mod linalg;
pub mod random;
pub mod reduce;
pub mod select;
pub mod shape;
pub mod sort;
pub mod unary;
pub mod window;

use crate::array::{with_avals, Array};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::core::jaxpr_transforms::JaxprTransforms;
use crate::core::trace::escaped;
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::Param;
use crate::ir::ClosedJaxpr;
use smallvec::{smallvec, SmallVec};

pub use binary::BinaryOp;
pub use call::CallOp;
pub use control::ControlOp;
pub use conv::{ConvDimensionNumbers, ConvGeneralDilated, Padding};
pub use cumulative::Cumulative;
pub use dot::DotGeneral;
pub use linalg::LinalgOp;
pub use random::RandomOp;
pub use reduce::ReduceOp;
pub use shape::ShapeOp;
pub use sort::{Sort, TopK};
pub use unary::UnaryOp;
pub use window::WindowOp;

/// A primitive with its parameters. Comparable: `==` compares parameters, and the jaxprs and
/// rules of call primitives by identity; `same_as` compares those jaxprs by structure.
#[derive(Clone, Debug, PartialEq)]
pub enum Prim {
    /// Elementwise, one operand: `neg`, `exp`, `tanh`, `convert_element_type`, ...
    Unary(UnaryOp),
    /// Elementwise, two operands (scalars broadcast): `add`, `mul`, `lt`, `and`, ...
    Binary(BinaryOp),
    /// `select_n(which, *cases)`: elementwise choice among cases by a bool or int predicate.
    SelectN,
    /// `reduce_sum`, `reduce_prod`, `reduce_max`, `reduce_min`, `reduce_and`/`or`/`xor`, `argmax`,
    /// `argmin` over axes.
    Reduce(ReduceOp),
    /// `cumsum`, `cumprod`, `cummax`, `cummin`, `cumlogsumexp` along one axis.
    Cumulative(Cumulative),
    /// `sort`: operands sorted together along one dimension by the leading keys.
    Sort(Sort),
    /// `top_k`: the k largest along one axis and their indices.
    TopK(TopK),
    /// Layout and indexing: `broadcast_in_dim`, `reshape`, `transpose`, `slice`, `gather`, ...
    Shape(ShapeOp),
    /// `dot_general`.
    Dot(DotGeneral),
    /// `conv_general_dilated` (boxed, as are the other large parameter sets, so that a
    /// `Prim`, and every equation holding one, stays small: equations are built and copied on
    /// every eager op).
    Conv(Box<ConvGeneralDilated>),
    /// `threefry2x32`.
    Random(RandomOp),
    /// Primitives that carry jaxprs: `pjit` (a nested jit), custom derivative calls.
    Call(CallOp),
    /// Loops and branches over sub-jaxprs: `while`, `scan`, `cond`.
    Control(ControlOp),
    /// `cholesky`, `triangular_solve`, `lu` on batches of matrices.
    Linalg(LinalgOp),
    /// `reduce_window_sum`/`max`/`min`, `select_and_gather_add`, `select_and_scatter_add`.
    Window(Box<WindowOp>),
    /// `clamp(min, x, max)`.
    Clamp,
}

impl Prim {
    /// Structural equality (see `ClosedJaxpr::same_as`): `==` except that the jaxprs of call
    /// primitives are compared by structure instead of identity.
    pub fn same_as(&self, other: &Prim) -> bool {
        match (self, other) {
            (Prim::Call(a), Prim::Call(b)) => a.equal_by(b, ClosedJaxpr::same_as),
            (Prim::Control(a), Prim::Control(b)) => a.equal_by(b, ClosedJaxpr::same_as),
            _ => self == other,
        }
    }
}

/// How a transpose rule sees an operand: a linear input (its cotangent is wanted) or a
/// known value (a residual or literal).
#[derive(Debug, Clone)]
pub enum LinArg {
    /// A linear input of this type.
    Linear(Aval),
    /// A known value.
    Known(Array),
}

impl LinArg {
    /// Whether it is a linear input.
    pub fn is_linear(&self) -> bool {
        matches!(self, LinArg::Linear(_))
    }

    /// Its type.
    pub fn aval(&self) -> &Aval {
        match self {
            LinArg::Linear(a) => a,
            LinArg::Known(x) => x.aval(),
        }
    }

    /// The known value (transpose rules ask for it only for non-linear operands).
    ///
    /// # Errors
    /// The operand is linear (it has no known value).
    pub fn known(&self) -> Result<&Array> {
        match self {
            LinArg::Known(x) => Ok(x),
            LinArg::Linear(a) => Err(Error::type_err(format!(
                "transpose: a {a} operand was expected to be known but is linear (the function is not linear in it)"
            ))),
        }
    }
}

/// Tangents: `None` is a symbolic zero.
pub type Tangent = Option<Array>;
/// Transpose rule result: a cotangent per operand (`None` for known operands and zeros), on
/// the stack for the one or two operands of the elementwise families.
pub type Cotangents = SmallVec<[Tangent; 2]>;
/// JVP rule result: primal outputs and their tangents.
pub type JvpOut = (Vec<Array>, Vec<Tangent>);
/// Batching rule result: outputs and their batch dimensions (`None`: not batched).
pub type BatchOut = (Vec<Array>, Vec<Option<usize>>);

impl Prim {
    /// The name JAX prints: `mul`, `reduce_sum`, `broadcast_in_dim`.
    pub fn name(&self) -> &'static str {
        match self {
            Prim::Unary(op) => op.name(),
            Prim::Binary(op) => op.name(),
            Prim::SelectN => "select_n",
            Prim::Reduce(op) => op.name(),
            Prim::Cumulative(op) => op.name(),
            Prim::Sort(_) => "sort",
            Prim::TopK(_) => "top_k",
            Prim::Shape(op) => op.name(),
            Prim::Dot(_) => "dot_general",
            Prim::Conv(_) => "conv_general_dilated",
            Prim::Random(op) => op.name(),
            Prim::Call(op) => op.name(),
            Prim::Control(op) => op.name(),
            Prim::Linalg(op) => op.name(),
            Prim::Window(op) => op.name(),
            Prim::Clamp => "clamp",
        }
    }

    /// Parameters as printed in a jaxpr, sorted by name.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        let mut ps = match self {
            Prim::Unary(op) => op.params(),
            Prim::Binary(_) | Prim::SelectN => vec![],
            Prim::Reduce(op) => op.params(),
            Prim::Cumulative(op) => op.params(),
            Prim::Sort(op) => op.params(),
            Prim::TopK(op) => op.params(),
            Prim::Shape(op) => op.params(),
            Prim::Dot(d) => d.params(),
            Prim::Conv(c) => c.params(),
            Prim::Random(_) => vec![],
            Prim::Call(op) => op.params(),
            Prim::Control(op) => op.params(),
            Prim::Linalg(op) => op.params(),
            Prim::Window(op) => op.params(),
            Prim::Clamp => vec![],
        };
        ps.sort_by_key(|(k, _)| *k);
        ps
    }

    /// The primitive printed as `name[params]` (`None`: cranax has no such primitive): the
    /// inverse of `name` and `params`, each family reading its own parameters back
    /// (`ir::parse` calls this for every equation it reads).
    ///
    /// # Errors
    /// Parameters missing or malformed in the printed jaxpr (the message names the primitive and the parameter).
    pub fn from_printed(name: &str, p: &PrintedParams) -> Result<Option<Prim>> {
        Ok(match name {
            "select_n" => Some(Prim::SelectN),
            "clamp" => Some(Prim::Clamp),
            "dot_general" => Some(Prim::Dot(DotGeneral::from_printed(p)?)),
            "conv_general_dilated" => {
                Some(Prim::Conv(Box::new(ConvGeneralDilated::from_printed(p)?)))
            }
            "threefry2x32" => Some(Prim::Random(RandomOp::Threefry2x32)),
            "sort" => Some(Prim::Sort(Sort::from_printed(p)?)),
            "top_k" => Some(Prim::TopK(TopK::from_printed(p)?)),
            _ => UnaryOp::from_printed(name, p)?
                .map(Prim::Unary)
                .or(BinaryOp::from_name(name).map(Prim::Binary))
                .or(ReduceOp::from_printed(name, p)?.map(Prim::Reduce))
                .or(Cumulative::from_printed(name, p)?.map(Prim::Cumulative))
                .or(ShapeOp::from_printed(name, p)?.map(Prim::Shape))
                .or(CallOp::from_printed(name, p)?.map(Prim::Call))
                .or(ControlOp::from_printed(name, p)?.map(Prim::Control))
                .or(LinalgOp::from_printed(name, p)?.map(Prim::Linalg))
                .or(WindowOp::from_printed(name, p)?.map(|w| Prim::Window(Box::new(w)))),
        })
    }

    /// The output types for these input types, or an error naming the op, shapes and dtypes.
    ///
    /// # Errors
    /// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Vec<Aval>> {
        self.out_avals(avals).map(SmallVec::into_vec)
    }

    /// As [`Prim::abstract_eval`], the one output of most primitives kept on the stack (what
    /// eager evaluation and staging use: binding a primitive allocates no list of types).
    pub(crate) fn out_avals(&self, avals: &[&Aval]) -> Result<OutAvals> {
        self.check_arity(avals.len())?;
        let one = |a: Aval| smallvec![a];
        match self {
            Prim::Unary(op) => op.abstract_eval(avals[0]).map(one),
            Prim::Binary(op) => op.abstract_eval(avals[0], avals[1]).map(one),
            Prim::SelectN => select::abstract_eval(avals).map(one),
            Prim::Reduce(op) => op.abstract_eval(avals[0]).map(one),
            Prim::Cumulative(op) => op.abstract_eval(avals[0]).map(one),
            Prim::Sort(op) => op.abstract_eval(avals).map(SmallVec::from_vec),
            Prim::TopK(op) => op.abstract_eval(avals[0]).map(SmallVec::from_vec),
            Prim::Shape(op) => op.abstract_eval(avals).map(one),
            Prim::Dot(d) => d.abstract_eval(avals[0], avals[1]).map(one),
            Prim::Conv(c) => c.abstract_eval(avals[0], avals[1]).map(one),
            Prim::Random(op) => op.abstract_eval(avals).map(SmallVec::from_vec),
            Prim::Call(op) => op.abstract_eval(avals).map(SmallVec::from_vec),
            Prim::Control(op) => op.abstract_eval(avals).map(SmallVec::from_vec),
            Prim::Linalg(op) => op.abstract_eval(avals).map(SmallVec::from_vec),
            Prim::Window(op) => op.abstract_eval(avals).map(one),
            Prim::Clamp => clamp::abstract_eval(avals).map(one),
        }
    }

    /// How many operands the primitive takes (`None`: variadic).
    fn arity(&self) -> Option<usize> {
        match self {
            Prim::Unary(_) | Prim::Reduce(_) | Prim::Cumulative(_) | Prim::TopK(_) => Some(1),
            Prim::Binary(_) | Prim::Dot(_) | Prim::Conv(_) => Some(2),
            Prim::SelectN | Prim::Sort(_) => None,
            Prim::Shape(op) => op.arity(),
            Prim::Random(op) => op.arity(),
            Prim::Linalg(op) => Some(op.arity()),
            Prim::Window(op) => Some(op.arity()),
            Prim::Clamp => Some(3),
            Prim::Call(_) | Prim::Control(_) => None,
        }
    }

    fn check_arity(&self, n: usize) -> Result<()> {
        match self.arity() {
            Some(k) if k != n => Err(Error::type_err(format!(
                "{} takes {k} operands, got {n}",
                self.name()
            ))),
            _ => Ok(()),
        }
    }

    /// Evaluate on concrete arrays (types already checked).
    fn eval(&self, args: &[Array], out_avals: OutAvals) -> Result<Vec<Array>> {
        match self {
            Prim::Sort(op) => op.eval(args),
            Prim::TopK(op) => op.eval(&args[0]),
            Prim::Random(op) => op.eval(args),
            Prim::Call(op) => op.eval(args),
            Prim::Control(op) => op.eval(args),
            Prim::Linalg(op) => op.eval(args, out_avals.into_vec()),
            _ => self.eval1(args, out_avals).map(|a| vec![a]),
        }
    }

    /// [`Prim::eval`] of a primitive with one output, without a list.
    fn eval1(&self, args: &[Array], out_avals: OutAvals) -> Result<Array> {
        let one = |avals: OutAvals| avals.into_iter().next().expect("one output");
        match self {
            Prim::Unary(op) => op.eval(&args[0], one(out_avals)),
            Prim::Binary(op) => op.eval(&args[0], &args[1], one(out_avals)),
            Prim::SelectN => select::eval(args, one(out_avals)),
            Prim::Reduce(op) => op.eval(&args[0], one(out_avals)),
            Prim::Cumulative(op) => op.eval(&args[0]),
            Prim::Shape(op) => op.eval(args, one(out_avals)),
            Prim::Dot(d) => d.eval(&args[0], &args[1], one(out_avals)),
            Prim::Conv(c) => c.eval(&args[0], &args[1]),
            Prim::Window(op) => op.eval(args, one(out_avals)),
            Prim::Clamp => clamp::eval(args, one(out_avals)),
            Prim::Sort(_)
            | Prim::TopK(_)
            | Prim::Random(_)
            | Prim::Call(_)
            | Prim::Control(_)
            | Prim::Linalg(_) => single(self.eval(args, out_avals)?),
        }
    }

    /// JVP rule: primal and tangent outputs, binding in the current context. `sub` is the
    /// transformation running the rule, for rules of primitives that carry jaxprs.
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
            Prim::Unary(_) | Prim::Binary(_) => {
                let (ans, t) = self.jvp1(primals, tangents, sub)?;
                Ok((vec![ans], vec![t]))
            }
            Prim::SelectN => select::jvp(primals, tangents),
            Prim::Reduce(op) => op.jvp(&primals[0], &tangents[0]),
            Prim::Cumulative(op) => op.jvp(&primals[0], &tangents[0]),
            Prim::Sort(op) => op.jvp(primals, tangents),
            Prim::TopK(op) => op.jvp(&primals[0], &tangents[0]),
            Prim::Shape(op) => op.jvp(primals, tangents),
            Prim::Dot(d) => d.jvp(&primals[0], &primals[1], &tangents[0], &tangents[1]),
            Prim::Conv(c) => c.jvp(&primals[0], &primals[1], &tangents[0], &tangents[1]),
            Prim::Random(op) => op.jvp(primals, tangents),
            Prim::Call(op) => op.jvp(primals, tangents, sub),
            Prim::Control(op) => op.jvp(primals, tangents, sub),
            Prim::Linalg(op) => op.jvp(primals, tangents),
            Prim::Window(op) => op.jvp(primals, tangents),
            Prim::Clamp => clamp::jvp(primals, tangents),
        }
    }

    /// [`Prim::jvp`] of a primitive with exactly one output: its primal and tangent, without
    /// lists for the elementwise families.
    ///
    /// # Errors
    /// As [`Prim::jvp`].
    pub fn jvp1(
        &self,
        primals: &[Array],
        tangents: &[Tangent],
        sub: &dyn JaxprTransforms,
    ) -> Result<(Array, Tangent)> {
        match self {
            Prim::Unary(op) => op.jvp1(&primals[0], &tangents[0]),
            Prim::Binary(op) => op.jvp1(&primals[0], &primals[1], &tangents[0], &tangents[1]),
            _ => {
                let (outs, touts) = self.jvp(primals, tangents, sub)?;
                debug_assert!(outs.len() == 1 && touts.len() == 1);
                let t = touts.into_iter().next().expect("one tangent");
                Ok((single(outs)?, t))
            }
        }
    }

    /// Transpose rule of a linear primitive: cotangents for the linear operands.
    ///
    /// # Errors
    /// A linear operand used non-linearly, or an error of a primitive the rule binds.
    pub fn transpose(
        &self,
        cts: &[Tangent],
        args: &[LinArg],
        sub: &dyn JaxprTransforms,
    ) -> Result<Cotangents> {
        let not_linear = || {
            Error::type_err(format!(
                "transpose of {} is not defined: it is not linear",
                self.name()
            ))
        };
        let one = |c: Tangent| smallvec![c];
        let listed = |cs: Vec<Tangent>| SmallVec::from_vec(cs);
        match self {
            Prim::Unary(op) => op.transpose(&cts[0], &args[0]).map(one),
            Prim::Binary(op) => op
                .transpose(&cts[0], &args[0], &args[1])
                .map(SmallVec::from),
            Prim::SelectN => select::transpose(&cts[0], args).map(listed),
            Prim::Reduce(op) => op.transpose(&cts[0], &args[0]).map(one),
            Prim::Cumulative(op) => op.transpose(&cts[0], &args[0]).map(one),
            Prim::Sort(_) | Prim::TopK(_) => Err(not_linear()),
            Prim::Shape(op) => op.transpose(&cts[0], args).map(listed),
            Prim::Dot(d) => d.transpose(&cts[0], &args[0], &args[1]).map(listed),
            Prim::Conv(c) => c.transpose(&cts[0], &args[0], &args[1]).map(listed),
            Prim::Random(_) => Err(not_linear()),
            Prim::Call(op) => op.transpose(cts, args, sub).map(listed),
            Prim::Control(op) => op.transpose(cts, args, sub).map(listed),
            Prim::Linalg(op) => op.transpose(&cts[0], args).map(listed),
            Prim::Window(op) => op.transpose(&cts[0], args).map(listed),
            Prim::Clamp => Err(not_linear()),
        }
    }

    /// Batching rule: outputs with their batch dimensions, binding in the current context.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn batch(
        &self,
        args: &[Array],
        dims: &[Option<usize>],
        axis_size: usize,
        sub: &dyn JaxprTransforms,
    ) -> Result<BatchOut> {
        let b = batching::Batching {
            args,
            dims,
            size: axis_size,
            sub,
        };
        match self {
            Prim::Unary(op) => op.batch(&args[0], dims[0]),
            Prim::Binary(op) => batching::broadcast_batcher(&Prim::Binary(op.clone()), args, dims),
            Prim::SelectN => select::batch(args, dims),
            Prim::Reduce(op) => op.batch(&args[0], dims[0]),
            Prim::Cumulative(op) => op.batch(&args[0], dims[0]),
            Prim::Sort(op) => op.batch(&b),
            Prim::TopK(op) => op.batch(&b),
            Prim::Shape(op) => op.batch(&b),
            Prim::Dot(d) => d.batch(&args[0], &args[1], dims[0], dims[1]),
            Prim::Conv(c) => c.batch(&args[0], &args[1], dims[0], dims[1], axis_size),
            Prim::Random(op) => op.batch(args, dims),
            Prim::Call(op) => op.batch(&b),
            Prim::Control(op) => op.batch(&b),
            Prim::Linalg(op) => op.batch(&b),
            Prim::Window(op) => op.batch(&b),
            Prim::Clamp => clamp::batch(&b),
        }
    }
}

/// The output types of one equation, on the stack when there is one.
pub(crate) type OutAvals = SmallVec<[Aval; 1]>;

/// Eager evaluation: type-check, then compute on concrete arrays.
///
/// # Errors
/// As `abstract_eval`, for concrete operands.
pub fn eval_eager(prim: &Prim, args: &[Array]) -> Result<Vec<Array>> {
    match prim {
        // Call and control primitives evaluate their jaxprs (and check their own types).
        Prim::Call(op) => eval_concrete(args).and_then(|()| op.eval(args)),
        Prim::Control(op) => eval_concrete(args).and_then(|()| op.eval(args)),
        _ => prim.eval(args, eager_out_avals(prim, args)?),
    }
}

/// [`eval_eager`] of a primitive with exactly one output (what `bind1` calls outside any
/// transformation): no list of outputs is made.
///
/// # Errors
/// As [`eval_eager`].
pub fn eval_eager1(prim: &Prim, args: &[Array]) -> Result<Array> {
    match prim {
        Prim::Call(_) | Prim::Control(_) => single(eval_eager(prim, args)?),
        _ => prim.eval1(args, eager_out_avals(prim, args)?),
    }
}

/// Operands of eager evaluation must be concrete (a tracer here escaped its trace).
fn eval_concrete(args: &[Array]) -> Result<()> {
    match args.iter().find_map(Array::tracer) {
        Some(t) => Err(escaped(t)),
        None => Ok(()),
    }
}

/// The checks of eager evaluation: concrete operands, their types admitted, the results
/// allocatable; the results' types.
fn eager_out_avals(prim: &Prim, args: &[Array]) -> Result<OutAvals> {
    eval_concrete(args)?;
    let out_avals = with_avals(args, |avals| prim.out_avals(avals))?;
    for aval in &out_avals {
        aval.check_allocatable(prim.name())?;
    }
    Ok(out_avals)
}

/// The one result of a primitive with one output.
fn single(mut outs: Vec<Array>) -> Result<Array> {
    debug_assert_eq!(outs.len(), 1);
    Ok(outs.pop().expect("one output"))
}
