//! Structured control flow with JAX's names and signatures: `while_loop`, `fori_loop`, `scan`,
//! `cond`, `switch`, `map`. Each traces its functions once into closed sub-jaxprs (whatever
//! they close over becomes leading operands, as JAX's `_initial_style_jaxpr` does) and binds
//! one `while`, `scan` or `cond` equation (`prims::control`), so a loop's jaxpr and its
//! compile time do not grow with its trip count, and a branch runs only the branch taken.
//!
//! Carries, `xs`, `ys` and operands are pytrees. A carry whose initial value is weakly typed
//! (a Rust literal) and whose body returns a strongly typed array of the same dtype is made
//! strong and the functions traced again, as JAX's `_promote_weak_typed_inputs` does.
//!
//! Plain Rust `if` and `for` on concrete values need none of this: they run at trace time.

use super::{leaf_avals, FnResult};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{catch, Error, Result};
use crate::core::trace::bind;
use crate::dtype::DType;
use crate::ir::ClosedJaxpr;
use crate::lax;
use crate::prims::control::{check_branch_outputs, check_carry, shaped_array, slice_aval};
use crate::prims::{ControlOp, Prim};
use crate::pytree::Pytree;
use crate::transform::stage::trace_to_jaxpr;
use std::cell::RefCell;

/// A traced sub-function: its jaxpr (consts as leading invars), the values of those consts,
/// and the structure of its output.
struct Traced<R> {
    jaxpr: ClosedJaxpr,
    consts: Vec<Array>,
    out: R,
}

/// Trace `f` on leaves of types `avals` rebuilt like `template`.
fn trace_sub<T: Pytree, R: FnResult>(
    f: &dyn Fn(&T) -> R,
    template: &T,
    avals: &[Aval],
) -> Result<Traced<R::Output>> {
    let out: RefCell<Option<R::Output>> = RefCell::new(None);
    let closed = trace_to_jaxpr(
        &|leaves: &[Array]| {
            let arg = template.rebuild_cloned(leaves)?;
            let r = catch(|| f(&arg).into_result())?;
            let flat = r.leaves();
            *out.borrow_mut() = Some(r);
            Ok(flat)
        },
        avals,
    )?;
    let (jaxpr, consts) = closed.consts_as_invars();
    let out = out.into_inner().expect("the function was traced");
    Ok(Traced { jaxpr, consts, out })
}

fn treedef<T: Pytree>(t: &T) -> String {
    let mut s = String::new();
    t.treedef(&mut s);
    s
}

/// JAX's `_promote_weak_typed_inputs`: a weakly typed initial carry leaf whose body output is
/// strongly typed (same dtype) becomes strongly typed. Returns whether anything changed.
fn promote_weak(init: &mut [Array], outs: &[Aval]) -> Result<bool> {
    let mut changed = false;
    for (x, o) in init.iter_mut().zip(outs) {
        if x.is_weak() && !o.weak_type && x.dtype() == o.dtype && x.shape() == o.shape {
            *x = lax::convert_element_type(x, x.dtype())?;
            changed = true;
        }
    }
    Ok(changed)
}

fn structure_error(what: &str, a: &str, b: &str) -> Error {
    Error::type_err(format!(
        "{what} carry input and carry output must have equal types, but they differ:\n\nthe input carry has structure {a} but the output carry has structure {b}.\n\nRevise the function so that all output types match the corresponding input types."
    ))
}

/// `while_loop(cond_fun, body_fun, init_val)`: `while cond_fun(val): val = body_fun(val)`.
/// `cond_fun` returns a boolean scalar; `body_fun` returns a value of `init_val`'s types.
///
/// # Errors
/// An error `cond_fun` or `body_fun` raises while traced, a condition that is not a bool scalar, or a body whose carry's structure or types differ from `init_val`'s (JAX's wording).
pub fn while_loop<C: Pytree, P: FnResult<Output = Array>, B: FnResult<Output = C>>(
    cond_fun: impl Fn(&C) -> P,
    body_fun: impl Fn(&C) -> B,
    init_val: C,
) -> Result<C> {
    let mut init = init_val.leaves();
    loop {
        let avals = leaf_avals(&init);
        let cond = trace_sub(&cond_fun, &init_val, &avals)?;
        let pred = cond.jaxpr.out_avals();
        if pred.len() != 1 || !pred[0].shape.is_empty() || pred[0].dtype != DType::Bool {
            let shown: Vec<String> = pred.iter().map(shaped_array).collect();
            return Err(Error::type_err(format!(
                "cond_fun must return a boolean scalar, but got output type(s) [{}].",
                shown.join(", ")
            )));
        }
        let body = trace_sub(&body_fun, &init_val, &avals)?;
        let what = "while_loop body function";
        let (a, b) = (treedef(&init_val), treedef(&body.out));
        if a != b {
            return Err(structure_error(what, &a, &b));
        }
        let outs = body.jaxpr.out_avals();
        check_carry(what, &avals, &outs)?;
        if promote_weak(&mut init, &outs)? {
            continue;
        }
        let op = ControlOp::While {
            cond_nconsts: cond.consts.len(),
            body_nconsts: body.consts.len(),
            cond_jaxpr: cond.jaxpr,
            body_jaxpr: body.jaxpr,
        };
        let operands = [cond.consts, body.consts, init].concat();
        let outs = bind(Prim::Control(op), &operands)?;
        return init_val.rebuild(outs);
    }
}

/// A loop bound of `fori_loop`: an integer known now, or an array (possibly traced).
pub trait LoopBound {
    /// The bound as a scalar array.
    fn to_bound(&self) -> Array;
}

impl LoopBound for i32 {
    fn to_bound(&self) -> Array {
        Array::scalar(*self)
    }
}

impl LoopBound for usize {
    fn to_bound(&self) -> Array {
        Array::scalar(*self as i32)
    }
}

impl LoopBound for Array {
    fn to_bound(&self) -> Array {
        self.clone()
    }
}

impl LoopBound for &Array {
    fn to_bound(&self) -> Array {
        (*self).clone()
    }
}

/// `fori_loop(lower, upper, body_fun, init_val)`: `val = body_fun(i, val)` for `i` in
/// `lower..upper` (`i` an int32 scalar). With bounds known now it is a `scan` of
/// `upper - lower` steps (so reverse-mode differentiable); with a traced bound a `while`.
///
/// # Errors
/// As [`while_loop`]; also bounds that are not integer scalars.
pub fn fori_loop<C: Pytree, B: FnResult<Output = C>>(
    lower: impl LoopBound,
    upper: impl LoopBound,
    body_fun: impl Fn(&Array, &C) -> B,
    init_val: C,
) -> Result<C> {
    let (lo, hi) = (lower.to_bound(), upper.to_bound());
    for (name, b) in [("lower", &lo), ("upper", &hi)] {
        if b.ndim() != 0 || !b.dtype().is_int() {
            return Err(Error::type_err(format!(
                "fori_loop: {name} must be an integer scalar, got {}",
                b.aval().str_short()
            )));
        }
    }
    let (lo, hi) = (
        lax::convert_element_type(&lo, DType::I32)?,
        lax::convert_element_type(&hi, DType::I32)?,
    );
    if let (Some(l), Some(h)) = (lo.concrete(), hi.concrete()) {
        let (l, h) = (l.data.get(0).to_f64() as i64, h.data.get(0).to_f64() as i64);
        let length = (h - l).max(0) as usize;
        let step = |c: &(Array, C), _: &()| -> Result<_> {
            let next = lax::add(&c.0, &Array::scalar(1i32))?;
            Ok(((next, body_fun(&c.0, &c.1).into_result()?), ()))
        };
        let opts = ScanOptions {
            length: Some(length),
            ..ScanOptions::default()
        };
        let ((_, out), ()) = scan_with(step, (lo, init_val), (), opts)?;
        return Ok(out);
    }
    let (_, _, out) = while_loop(
        |c: &(Array, Array, C)| lax::lt(&c.0, &c.1),
        |c: &(Array, Array, C)| -> Result<_> {
            let next = lax::add(&c.0, &Array::scalar(1i32))?;
            Ok((next, c.1.clone(), body_fun(&c.0, &c.2).into_result()?))
        },
        (lo, hi, init_val),
    )?;
    Ok(out)
}

/// `scan`'s keyword arguments: `length` (required when there are no `xs`), `reverse`, and
/// `unroll` (recorded; the compiled loop is not unrolled).
#[derive(Clone, Copy, Debug)]
pub struct ScanOptions {
    /// The number of iterations when `xs` is `()` (JAX's `length`).
    pub length: Option<usize>,
    /// Scan from the last element to the first (JAX's `reverse`).
    pub reverse: bool,
    /// JAX's `unroll`: recorded and printed; the compiled loop is not unrolled.
    pub unroll: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            length: None,
            reverse: false,
            unroll: 1,
        }
    }
}

/// `scan(f, init, xs)`: `(carry, y) = f(carry, x)` over the leading axis of every leaf of
/// `xs`; returns the final carry and the `y`s stacked along a new leading axis.
///
/// # Errors
/// An error `f` raises while traced, `xs` leaves whose leading dimensions differ, or a carry whose structure or types change (JAX's wording).
pub fn scan<C: Pytree, X: Pytree, Y: Pytree, R: FnResult<Output = (C, Y)>>(
    f: impl Fn(&C, &X) -> R,
    init: C,
    xs: X,
) -> Result<(C, Y)> {
    scan_with(f, init, xs, ScanOptions::default())
}

/// `scan` with `length`, `reverse` and `unroll` (`xs = ()` scans `length` times over nothing,
/// JAX's `xs=None`).
///
/// # Errors
/// As [`scan`]; also a `length` that disagrees with `xs`, or `xs = ()` with no `length`.
pub fn scan_with<C: Pytree, X: Pytree, Y: Pytree, R: FnResult<Output = (C, Y)>>(
    f: impl Fn(&C, &X) -> R,
    init: C,
    xs: X,
    opts: ScanOptions,
) -> Result<(C, Y)> {
    let x_leaves = xs.leaves();
    if let Some(x) = x_leaves.iter().find(|x| x.ndim() == 0) {
        return Err(Error::type_err(format!(
            "scan got value with no leading axis to scan over: {}",
            x.aval().str_short()
        )));
    }
    let lengths: Vec<usize> = x_leaves.iter().map(|x| x.shape()[0]).collect();
    let length = match (opts.length, lengths.first()) {
        (None, None) => {
            return Err(Error::value_err(
                "scan got no values to scan over and `length` not provided.",
            ))
        }
        (Some(n), _) if lengths.iter().any(|&l| l != n) => {
            return Err(Error::value_err(format!(
                "scan got `length` argument of {n} which disagrees with leading axis sizes {lengths:?}."
            )))
        }
        (None, Some(&n)) if lengths.iter().any(|&l| l != n) => {
            return Err(Error::value_err(format!(
                "scan got values with different leading axis sizes: {lengths:?}."
            )))
        }
        (Some(n), _) | (None, Some(&n)) => n,
    };
    let x_avals: Vec<Aval> = x_leaves.iter().map(|x| slice_aval(x.aval())).collect();
    let mut init_leaves = init.leaves();
    let n_carry = init_leaves.len();
    let template = (init.clone(), xs.clone());
    let body = |cx: &(C, X)| f(&cx.0, &cx.1);
    loop {
        let avals = [leaf_avals(&init_leaves), x_avals.clone()].concat();
        let traced = trace_sub(&body, &template, &avals)?;
        let what = "scan body function";
        let (a, b) = (treedef(&init), treedef(&traced.out.0));
        if a != b {
            return Err(structure_error(what, &a, &b));
        }
        let outs = traced.jaxpr.out_avals();
        check_carry(what, &avals[..n_carry], &outs[..n_carry])?;
        if promote_weak(&mut init_leaves, &outs[..n_carry])? {
            continue;
        }
        let op = ControlOp::Scan {
            length,
            reverse: opts.reverse,
            num_consts: traced.consts.len(),
            num_carry: n_carry,
            linear: vec![false; traced.consts.len() + n_carry + x_leaves.len()],
            unroll: opts.unroll,
            jaxpr: traced.jaxpr,
        };
        let operands = [traced.consts, init_leaves, x_leaves].concat();
        let mut outs = bind(Prim::Control(op), &operands)?;
        let ys = outs.split_off(n_carry);
        return Ok((init.rebuild(outs)?, traced.out.1.rebuild(ys)?));
    }
}

/// `map(f, xs)`: `f` applied to each slice of `xs` along the leading axis, the results
/// stacked (a `scan` with no carry).
///
/// # Errors
/// As [`scan`].
pub fn map<X: Pytree, Y: Pytree>(f: impl Fn(&X) -> Y, xs: X) -> Result<Y> {
    let ((), ys) = scan(|_: &(), x: &X| ((), f(x)), (), xs)?;
    Ok(ys)
}

/// `cond(pred, true_fun, false_fun, operand)`: `true_fun(operand)` if `pred` else
/// `false_fun(operand)`; only the branch taken runs. `pred` is a boolean (or numeric, nonzero
/// meaning true) scalar; both branches return the same types.
///
/// # Errors
/// A predicate that is not a bool scalar, an error a branch raises while traced, or branches whose outputs differ in structure or types (JAX's wording).
pub fn cond<T: Pytree, R: Pytree>(
    pred: &Array,
    true_fun: impl Fn(&T) -> R,
    false_fun: impl Fn(&T) -> R,
    operand: &T,
) -> Result<R> {
    if pred.ndim() != 0 {
        return Err(Error::type_err(format!(
            "Pred must be a scalar, got {} of shape {}.",
            pred.aval().str_long(),
            crate::core::error::shape_str(pred.shape())
        )));
    }
    let truth = if pred.dtype() == DType::Bool {
        pred.clone()
    } else {
        lax::ne(pred, &lax::scalar_like(pred, 0.0))?
    };
    let index = lax::convert_element_type(&truth, DType::I32)?;
    let branches: [&dyn Fn(&T) -> R; 2] = [&false_fun, &true_fun];
    bind_branches(&index, &branches, operand, |outs| {
        check_branch_outputs(0, &outs[1], 1, &outs[0])
    })
}

/// `switch(index, branches, operand)`: `branches[clamp(index, 0, n - 1)](operand)`.
///
/// # Errors
/// An index that is not an integer scalar, no branches, or as [`cond`].
pub fn switch<T: Pytree, R: Pytree>(
    index: &Array,
    branches: &[&dyn Fn(&T) -> R],
    operand: &T,
) -> Result<R> {
    if branches.is_empty() {
        return Err(Error::value_err("Empty branch sequence"));
    }
    if index.ndim() != 0 || !index.dtype().is_int() {
        return Err(Error::type_err(format!(
            "Index type must be an integer, got {} as {}",
            index.aval().str_long(),
            index.dtype().numpy_name()
        )));
    }
    if branches.len() == 1 {
        return catch(|| Ok(branches[0](operand)));
    }
    let index = lax::convert_element_type(index, DType::I32)?;
    let hi = Array::scalar(branches.len() as i32 - 1);
    let index = lax::min(&lax::max(&index, &Array::scalar(0i32))?, &hi)?;
    bind_branches(&index, branches, operand, |outs| {
        for (j, o) in outs.iter().enumerate().skip(1) {
            check_branch_outputs(0, &outs[0], j, o)?;
        }
        Ok(())
    })
}

/// Trace each branch on `operand`'s types (all of them taking every branch's consts, as JAX's
/// `_initial_style_jaxprs_with_common_consts` arranges), check their outputs with `check`,
/// and bind one `cond`.
fn bind_branches<T: Pytree, R: Pytree>(
    index: &Array,
    branches: &[&dyn Fn(&T) -> R],
    operand: &T,
    check: impl Fn(&[Vec<Aval>]) -> Result<()>,
) -> Result<R> {
    let ops = operand.leaves();
    let avals = leaf_avals(&ops);
    let traced: Vec<Traced<R>> = branches
        .iter()
        .map(|b| trace_sub(*b, operand, &avals))
        .collect::<Result<_>>()?;
    let defs: Vec<String> = traced.iter().map(|t| treedef(&t.out)).collect();
    if let Some(j) = defs.iter().position(|d| *d != defs[0]) {
        return Err(Error::type_err(format!(
            "cond branch outputs must have the same pytree structure, but they differ: branch 0 returns {} but branch {j} returns {}.",
            defs[0], defs[j]
        )));
    }
    let outs: Vec<Vec<Aval>> = traced.iter().map(|t| t.jaxpr.out_avals()).collect();
    check(&outs)?;
    let const_avals: Vec<Vec<Aval>> = traced.iter().map(|t| leaf_avals(&t.consts)).collect();
    let jaxprs: Vec<ClosedJaxpr> = traced
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let before: Vec<Aval> = const_avals[..i].concat();
            let after: Vec<Aval> = const_avals[i + 1..].concat();
            t.jaxpr
                .with_unused_invars(0, &before)
                .with_unused_invars(before.len() + const_avals[i].len(), &after)
        })
        .collect();
    let consts: Vec<Array> = traced.iter().flat_map(|t| t.consts.clone()).collect();
    let out_template = traced.into_iter().next().expect("at least one branch").out;
    let operands: Vec<Array> = std::iter::once(index.clone())
        .chain(consts)
        .chain(ops)
        .collect();
    let outs = bind(
        Prim::Control(ControlOp::Cond { branches: jaxprs }),
        &operands,
    )?;
    out_template.rebuild(outs)
}
