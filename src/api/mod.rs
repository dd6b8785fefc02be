//! The user-facing transformations, with JAX's names: each wraps a function and is itself a
//! function (`Function`), so they compose: `jit(vmap(grad(f)))`, `hessian(f)`.
//! Functions take and return pytrees; internally everything runs on flat lists of arrays.

pub mod autodiff;
pub mod batching;
pub mod checkpoint;
pub mod control;
pub mod custom;
pub mod jacobian;
pub mod jit;
pub mod stages;

use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{catch, Result};
use crate::core::trace::bind;
use crate::ir::ClosedJaxpr;
use crate::prims::{CallOp, Prim};
use crate::pytree::{ArgTuple, Pytree};
use crate::transform::stage::trace_to_jaxpr;
use std::cell::{Cell, RefCell};

/// A function of a tuple of pytree arguments. Implemented by Rust closures and `fn`s of one
/// to twelve (`MAX_ARITY`) `&` arguments (`Fn(&A, &B) -> R`, `R` a pytree or a `Result` of one) and by every transformation's result.
pub trait Function<Args: ArgTuple> {
    /// The result's pytree type.
    type Output: Pytree;
    /// Call with a tuple of arguments. Errors raised inside (shape mismatches, escaped
    /// tracers) come back as `Err`.
    fn call(&self, args: Args) -> Result<Self::Output>;

    /// A name for jaxprs and logs (`pjit[name=...]`).
    fn name(&self) -> String {
        "<lambda>".into()
    }
}

/// The name of a Rust function type as JAX would print it: `product` for `fn product`,
/// `<lambda>` for closures.
pub fn fn_name<F>() -> String {
    let full = std::any::type_name::<F>();
    let last = full.rsplit("::").next().unwrap_or(full);
    if last.contains('{') || last.contains('<') || last.contains('>') {
        "<lambda>".into()
    } else {
        last.to_string()
    }
}

/// What a traced function may return: a pytree, or a `Result` of one (so `lax` functions,
/// which return `Result`, compose with `?` inside it).
pub trait FnResult {
    /// The pytree returned.
    type Output: Pytree;
    /// The value, or the error the function returned.
    ///
    /// # Errors
    /// The function's own error.
    fn into_result(self) -> Result<Self::Output>;
}

impl<T: Pytree> FnResult for T {
    type Output = T;
    fn into_result(self) -> Result<T> {
        Ok(self)
    }
}

impl<T: Pytree> FnResult for Result<T> {
    type Output = T;
    fn into_result(self) -> Result<T> {
        self
    }
}

macro_rules! closure_function {
    ($($T:ident $i:tt),+) => {
        impl<Func, R, $($T),+> Function<($($T,)+)> for Func
        where
            Func: Fn($(&$T),+) -> R,
            R: FnResult,
            $($T: Pytree),+
        {
            type Output = R::Output;
            fn call(&self, args: ($($T,)+)) -> Result<R::Output> {
                catch(|| self($(&args.$i),+).into_result())
            }
            fn name(&self) -> String {
                fn_name::<Func>()
            }
        }
    };
}
crate::pytree::up_to_max_arity!(closure_function);

/// Holds the output of the last call of a flattened function, as a structure template.
pub(crate) struct OutTemplate<T>(pub RefCell<Option<T>>);

impl<T: Pytree> OutTemplate<T> {
    pub fn new() -> Self {
        OutTemplate(RefCell::new(None))
    }
    pub fn take(&self) -> T {
        self.0.borrow_mut().take().expect("the function was called")
    }
    pub fn get(&self) -> T {
        self.0.borrow().clone().expect("the function was called")
    }
}

/// A thread's spare list of arrays, kept between calls in a `thread_local!` slot.
pub(crate) type SpareList = std::thread::LocalKey<Cell<Vec<Array>>>;

/// The thread's spare list in `slot` (a nested call finds it taken and gets a new one).
pub(crate) fn take_list(slot: &'static SpareList) -> Vec<Array> {
    slot.with(|l| l.take())
}

/// Return a list to the thread's spare `slot`, emptied.
pub(crate) fn give_list(slot: &'static SpareList, mut v: Vec<Array>) {
    v.clear();
    slot.with(|l| l.set(v));
}

thread_local! {
    /// The spare list [`with_leaves`] lists arguments' leaves in.
    static ARG_LEAVES: Cell<Vec<Array>> = const { Cell::new(Vec::new()) };
}

/// `f` of the leaves of `args`, listed in the thread's spare list (an eager `grad` lists its
/// arguments' leaves on every call; this way it allocates no list for them).
pub(crate) fn with_leaves<T: Pytree, R>(args: &T, f: impl FnOnce(&[Array]) -> R) -> R {
    let mut leaves = take_list(&ARG_LEAVES);
    args.flatten(&mut leaves);
    let r = f(&leaves);
    give_list(&ARG_LEAVES, leaves);
    r
}

/// `f` as a function of the flat leaves of arguments shaped like `template`, recording its
/// output structure in `out`.
pub(crate) fn flat_fn<'a, Args, F>(
    f: &'a F,
    template: &'a Args,
    out: &'a OutTemplate<F::Output>,
) -> impl Fn(&[Array]) -> Result<Vec<Array>> + 'a
where
    Args: ArgTuple,
    F: Function<Args>,
{
    move |leaves: &[Array]| {
        let args = template.rebuild_cloned(leaves)?;
        let r = f.call(args)?;
        let flat = r.leaves();
        *out.0.borrow_mut() = Some(r);
        Ok(flat)
    }
}

/// Stage `f` at the types of `args` and bind, on their leaves, the call primitive that `call`
/// makes of its jaxpr: how `jit` under a transformation and the custom-derivative functions
/// appear in a trace. The outputs come back in `f`'s output structure.
pub(crate) fn bind_call<Args, F>(
    f: &F,
    args: Args,
    call: impl FnOnce(ClosedJaxpr) -> CallOp,
) -> Result<F::Output>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    let leaves = args.leaves();
    let (jaxpr, template) = stage(f, &args, &leaf_avals(&leaves))?;
    let outs = bind(Prim::Call(call(jaxpr)), &leaves)?;
    template.rebuild(outs)
}

/// Trace `f` on arguments shaped like `args` with leaves of types `avals`: its jaxpr, and its
/// output (whose structure rebuilds the jaxpr's outputs).
pub(crate) fn stage<Args, F>(f: &F, args: &Args, avals: &[Aval]) -> Result<(ClosedJaxpr, F::Output)>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    let out = OutTemplate::new();
    let jaxpr = trace_to_jaxpr(&flat_fn(f, args, &out), avals)?;
    Ok((jaxpr, out.take()))
}

/// The types of the leaves.
pub(crate) fn leaf_avals(leaves: &[Array]) -> Vec<Aval> {
    leaves.iter().map(|a| a.aval().clone()).collect()
}

/// `make_jaxpr(f)`: the jaxpr of `f` at the arguments' shapes and dtypes.
pub fn make_jaxpr<F>(f: F) -> MakeJaxpr<F> {
    MakeJaxpr { f }
}

/// `make_jaxpr(f)`: traces `f` into a jaxpr at its arguments' types.
pub struct MakeJaxpr<F> {
    f: F,
}

impl<F> std::fmt::Debug for MakeJaxpr<F> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MakeJaxpr").finish_non_exhaustive()
    }
}

impl<F> MakeJaxpr<F> {
    /// Trace `f` on `args` (only their shapes and dtypes matter).
    ///
    /// # Errors
    /// An error `f` raises while traced.
    pub fn call<Args: ArgTuple>(&self, args: Args) -> Result<ClosedJaxpr>
    where
        F: Function<Args>,
    {
        let (jaxpr, _) = stage(&self.f, &args, &leaf_avals(&args.leaves()))?;
        Ok(jaxpr)
    }
}

/// Evaluate a closed jaxpr on arrays with the reference interpreter.
///
/// # Errors
/// Arguments whose count or types do not match the jaxpr's inputs, or an error of an equation.
pub fn eval_jaxpr(jaxpr: &ClosedJaxpr, args: &[Array]) -> Result<Vec<Array>> {
    crate::ir::eval::eval_closed(jaxpr, args)
}
