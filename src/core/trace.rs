//! The stackless trace machinery: one current interpreter per thread, each holding its parent.
//! `bind` hands a primitive to the current interpreter; with none, it is evaluated eagerly.
//! Every transformation (jvp, linearize, vmap, staging for make_jaxpr and jit) is an
//! `Interpreter`, so they compose without special cases.

use crate::array::{Array, Repr};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::ir::Var;
use crate::prims::Prim;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one run of one transformation; tracers carry their interpreter's tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag(u64);

impl Tag {
    pub fn fresh() -> Tag {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Tag(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A value standing for an array inside a transformation.
#[derive(Debug)]
pub struct Tracer {
    pub tag: Tag,
    pub aval: Aval,
    pub payload: Payload,
}

/// What a tracer carries, per kind of interpreter.
#[derive(Debug)]
pub enum Payload {
    /// A variable of the jaxpr being built (make_jaxpr, jit, the tangent side of linearize).
    Staged(Var),
    /// A primal and its tangent (`None`: a symbolic zero), for jvp and linearize.
    Dual {
        primal: Array,
        tangent: Option<Array>,
    },
    /// A batch of values stacked along `bdim`, for vmap.
    Batched { val: Array, bdim: usize },
}

/// One transformation's way of handling primitives.
pub trait Interpreter {
    fn tag(&self) -> Tag;
    fn parent(&self) -> Option<Rc<dyn Interpreter>>;
    /// Apply `prim` to `args` (some may be this interpreter's tracers, others outer values).
    fn process(&self, prim: &Prim, args: &[Array]) -> Result<Vec<Array>>;
    /// `process` for a primitive with exactly one output, returned without a list (what
    /// `bind1`, and so every `lax` function of one result, calls).
    fn process1(&self, prim: &Prim, args: &[Array]) -> Result<Array> {
        let mut outs = self.process(prim, args)?;
        debug_assert_eq!(outs.len(), 1);
        Ok(outs.pop().expect("one output"))
    }
    /// A short name for messages ("jvp", "vmap", "make_jaxpr", ...).
    fn name(&self) -> &'static str;
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<dyn Interpreter>>> = const { RefCell::new(None) };
}

/// The interpreter that `bind` hands primitives to (`None`: eager evaluation).
pub fn current() -> Option<Rc<dyn Interpreter>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Restores the previous current interpreter when dropped (also when unwinding from a panic).
pub struct InterpreterGuard {
    previous: Option<Rc<dyn Interpreter>>,
}

impl std::fmt::Debug for InterpreterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterpreterGuard").finish_non_exhaustive()
    }
}

impl Drop for InterpreterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Make `interp` current until the guard drops.
pub fn set_current(interp: Option<Rc<dyn Interpreter>>) -> InterpreterGuard {
    let previous = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), interp));
    InterpreterGuard { previous }
}

/// Run `f` with `interp` current.
pub fn with_interpreter<T>(interp: Option<Rc<dyn Interpreter>>, f: impl FnOnce() -> T) -> T {
    let _guard = set_current(interp);
    f()
}

/// Apply a primitive in the current context: eagerly, or through the current transformation.
pub fn bind(prim: Prim, args: &[Array]) -> Result<Vec<Array>> {
    match current() {
        None => crate::prims::eval_eager(&prim, args),
        Some(interp) => interp.process(&prim, args),
    }
}

/// `bind` for primitives with exactly one output (no list of outputs is made).
pub fn bind1(prim: Prim, args: &[Array]) -> Result<Array> {
    match current() {
        None => crate::prims::eval_eager1(&prim, args),
        Some(interp) => interp.process1(&prim, args),
    }
}

/// Is `tag` the tag of `interp` or of one of its ancestors (the traces still running)?
pub fn is_live_in(tag: Tag, interp: &Option<Rc<dyn Interpreter>>) -> bool {
    let mut cur = interp.clone();
    while let Some(i) = cur {
        if i.tag() == tag {
            return true;
        }
        cur = i.parent();
    }
    false
}

/// The error for a tracer whose transformation has ended.
pub fn escaped(t: &Tracer) -> Error {
    Error::EscapedTracer(format!("a traced {}", t.aval))
}

/// Check that a tracer that is not `own`'s belongs to a live outer trace; such values are
/// constants to `own` and are passed on to the parent as they are.
pub fn check_outer(arg: &Array, own: Tag, parent: &Option<Rc<dyn Interpreter>>) -> Result<()> {
    if let Repr::Tracer(t) = &arg.repr {
        if t.tag != own && !is_live_in(t.tag, parent) {
            return Err(escaped(t));
        }
    }
    Ok(())
}
