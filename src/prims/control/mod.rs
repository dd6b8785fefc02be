//! Control flow: the primitives that carry closed sub-jaxprs and run them in loops and
//! branches, with JAX's names and parameters (`while`, `scan`, `cond`; JAX's
//! `lax/control_flow/loops.py` and `conditionals.py`).
//!
//! Operands, as JAX orders them:
//! - `while`: `cond_consts ++ body_consts ++ carry`; outputs: the final carry. `cond_jaxpr`:
//!   `(cond_consts, carry) -> bool[]`; `body_jaxpr`: `(body_consts, carry) -> carry`.
//! - `scan`: `consts ++ carry ++ xs`; outputs: `carry ++ ys`. `jaxpr`: `(consts, carry, x
//!   slices) -> (carry, y slices)`; `ys` are stacked along a new leading axis of `length`.
//! - `cond`: `index ++ operands`; outputs: those of `branches[clamp(index, 0, n - 1)]`. The
//!   index is an `int32` scalar (`lax::cond` converts a boolean predicate, `lax::switch`
//!   clamps).
//!
//! Sub-jaxprs have no constvars: what a traced body closes over is passed as leading operands
//! (JAX's `convert_constvars_jaxpr`), so every value a loop reads is an operand the
//! transformations see. This file holds the type rules (abstract evaluation with JAX's errors),
//! printing and eager evaluation (the reference interpreter runs the loop); `jvp.rs`,
//! `transpose.rs` and `batch.rs` hold the transformation rules.

mod batch;
mod jvp;
mod transpose;

use super::batching::Batching;
use super::{BatchOut, JvpOut, LinArg, Tangent};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::core::jaxpr_transforms::JaxprTransforms;
use crate::ir::eval::eval_closed;
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::Param;
use crate::ir::ClosedJaxpr;
use crate::prims::batching::index_in_dim;

#[derive(Clone, PartialEq)]
/// The control-flow primitives `while`, `scan` and `cond`, with JAX's parameters.
pub enum ControlOp {
    /// `while cond(carry): carry = body(carry)`.
    While {
        /// The loop condition.
        cond_jaxpr: ClosedJaxpr,
        /// The loop body.
        body_jaxpr: ClosedJaxpr,
        /// How many leading operands are the condition's constants.
        cond_nconsts: usize,
        /// How many operands after those are the body's constants.
        body_nconsts: usize,
    },
    /// `for i in 0..length (or reversed): (carry, ys[i]) = jaxpr(consts, carry, xs[i])`.
    Scan {
        /// The scanned function: constants, carry, slice to carry, output slice.
        jaxpr: ClosedJaxpr,
        /// The number of iterations.
        length: usize,
        /// Scan from the end.
        reverse: bool,
        /// How many leading operands are constants.
        num_consts: usize,
        /// How many operands after those are carries.
        num_carry: usize,
        /// Per operand: is the scan linear in it (set by transformations; informational).
        linear: Vec<bool>,
        /// JAX's `unroll` (recorded and printed).
        unroll: usize,
    },
    /// `branches[index](operands)`.
    Cond {
        /// The branches, by index.
        branches: Vec<ClosedJaxpr>,
    },
}

use ControlOp::*;

impl std::fmt::Debug for ControlOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name())
    }
}

fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

/// A tuple of Python booleans: `(False,)`, `(False, True)`.
fn py_bools(bs: &[bool]) -> String {
    let items: Vec<String> = bs.iter().map(|&b| py_bool(b)).collect();
    crate::ir::pretty::py_tuple(&items)
}

/// `c[0]`-style names of carry components for error messages, as JAX words them.
fn component(prefix: &str, i: usize, n: usize) -> String {
    if n == 1 {
        prefix.to_string()
    } else {
        format!("{prefix}[{i}]")
    }
}

/// JAX's carry-type check: `what` names the loop (`while_loop body function`).
pub(crate) fn check_carry(what: &str, ins: &[Aval], outs: &[Aval]) -> Result<()> {
    if ins.len() != outs.len() {
        return Err(Error::type_err(format!(
            "{what} carry input and carry output must have equal types, but they differ:\n\nthe input carry has {} components but the output carry has {}.\n\nRevise the function so that all output types match the corresponding input types.",
            ins.len(),
            outs.len()
        )));
    }
    let n = ins.len();
    let diffs: Vec<String> = ins
        .iter()
        .zip(outs)
        .enumerate()
        .filter(|(_, (a, b))| a.shape != b.shape || a.dtype != b.dtype)
        .map(|(i, (a, b))| {
            let what_differs = if a.shape != b.shape {
                "shapes"
            } else {
                "dtypes"
            };
            let name = component("c", i, n);
            let carry = if n == 1 { "carry" } else { "carry component" };
            format!(
                "The input {carry} {name} has type {} but the corresponding output carry component has type {}, so the {what_differs} do not match.",
                a.str_long(),
                b.str_long()
            )
        })
        .collect();
    if diffs.is_empty() {
        return Ok(());
    }
    Err(Error::type_err(format!(
        "{what} carry input and carry output must have equal types, but they differ:\n\n{}\n\nRevise the function so that all output types match the corresponding input types.",
        diffs.join("\n")
    )))
}

/// The operand types `jaxpr` takes must be `avals` (shape and dtype).
fn check_operands(op: &str, what: &str, jaxpr: &ClosedJaxpr, avals: &[Aval]) -> Result<()> {
    let want = jaxpr.in_avals();
    let ok = want.len() == avals.len()
        && want
            .iter()
            .zip(avals)
            .all(|(w, a)| w.shape == a.shape && w.dtype == a.dtype);
    if ok {
        return Ok(());
    }
    let show = |v: &[Aval]| {
        v.iter()
            .map(|a| a.str_long())
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(Error::type_err(format!(
        "{op}: {what} takes ({}) but is given ({})",
        show(&want),
        show(avals)
    )))
}

fn strong(avals: &[Aval]) -> Vec<Aval> {
    avals.iter().map(|a| a.clone().weak(false)).collect()
}

/// The type of one slice along the leading axis.
pub(crate) fn slice_aval(a: &Aval) -> Aval {
    Aval::new(a.shape[1..].to_vec(), a.dtype).weak(a.weak_type)
}

/// The type of `length` stacked slices.
pub(crate) fn stacked_aval(a: &Aval, length: usize) -> Aval {
    let mut shape = vec![length];
    shape.extend_from_slice(&a.shape);
    Aval::new(shape, a.dtype).weak(a.weak_type)
}

impl ControlOp {
    /// The name JAX prints.
    pub fn name(&self) -> &'static str {
        match self {
            While { .. } => "while",
            Scan { .. } => "scan",
            Cond { .. } => "cond",
        }
    }

    /// The sub-jaxprs it carries.
    pub fn jaxprs(&self) -> Vec<&ClosedJaxpr> {
        match self {
            While {
                cond_jaxpr,
                body_jaxpr,
                ..
            } => vec![cond_jaxpr, body_jaxpr],
            Scan { jaxpr, .. } => vec![jaxpr],
            Cond { branches } => branches.iter().collect(),
        }
    }

    /// Equality with the carried jaxprs compared by `same_jaxpr`.
    pub fn equal_by(
        &self,
        other: &Self,
        same_jaxpr: fn(&ClosedJaxpr, &ClosedJaxpr) -> bool,
    ) -> bool {
        let same_params = match (self, other) {
            (
                While {
                    cond_nconsts: a,
                    body_nconsts: b,
                    ..
                },
                While {
                    cond_nconsts: c,
                    body_nconsts: d,
                    ..
                },
            ) => a == c && b == d,
            (
                Scan {
                    length,
                    reverse,
                    num_consts,
                    num_carry,
                    linear,
                    unroll,
                    ..
                },
                Scan {
                    length: l2,
                    reverse: r2,
                    num_consts: nc2,
                    num_carry: ncar2,
                    linear: lin2,
                    unroll: u2,
                    ..
                },
            ) => {
                length == l2
                    && reverse == r2
                    && num_consts == nc2
                    && num_carry == ncar2
                    && linear == lin2
                    && unroll == u2
            }
            (Cond { branches: a }, Cond { branches: b }) => a.len() == b.len(),
            _ => false,
        };
        same_params
            && self
                .jaxprs()
                .iter()
                .zip(other.jaxprs())
                .all(|(a, b)| same_jaxpr(a, b))
    }

    /// Parameters as JAX prints them (sorted by the caller).
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        let text = |s: String| Param::Text(s);
        match self {
            While {
                cond_jaxpr,
                body_jaxpr,
                cond_nconsts,
                body_nconsts,
            } => vec![
                ("body_jaxpr", Param::Jaxpr(body_jaxpr.jaxpr.clone())),
                ("body_nconsts", text(body_nconsts.to_string())),
                ("cond_jaxpr", Param::Jaxpr(cond_jaxpr.jaxpr.clone())),
                ("cond_nconsts", text(cond_nconsts.to_string())),
            ],
            // As JAX 0.4.13 prints them (the seed's printer, see tests/jaxpr_printing.rs):
            // with `linear`, which JAX 0.10 no longer prints.
            Scan {
                jaxpr,
                length,
                reverse,
                num_consts,
                num_carry,
                linear,
                unroll,
            } => vec![
                ("jaxpr", Param::Jaxpr(jaxpr.jaxpr.clone())),
                ("length", text(length.to_string())),
                ("linear", text(py_bools(linear))),
                ("num_carry", text(num_carry.to_string())),
                ("num_consts", text(num_consts.to_string())),
                ("reverse", text(py_bool(*reverse))),
                ("unroll", text(unroll.to_string())),
            ],
            // `linear` (one flag per operand after the index) is informational: cranax's rules
            // do not use it, and it prints as JAX prints it for a function of primals.
            Cond { branches } => {
                let n_ops = branches.first().map_or(0, |b| b.jaxpr.invars.len());
                vec![
                    (
                        "branches",
                        Param::Jaxprs(branches.iter().map(|b| b.jaxpr.clone()).collect()),
                    ),
                    ("linear", text(py_bools(&vec![false; n_ops]))),
                ]
            }
        }
    }

    /// The inverse of `params` (`None`: not a control-flow primitive). JAX 0.10 leaves out
    /// `scan`'s `linear` (all False here) and `cond`'s `linear`, which cranax does not keep.
    ///
    /// # Errors
    /// Parameters missing or malformed in the printed jaxpr (the message names the primitive and the parameter).
    pub fn from_printed(name: &str, p: &PrintedParams) -> Result<Option<ControlOp>> {
        Ok(Some(match name {
            "while" => While {
                cond_jaxpr: p.jaxpr("cond_jaxpr")?,
                body_jaxpr: p.jaxpr("body_jaxpr")?,
                cond_nconsts: p.get("cond_nconsts")?,
                body_nconsts: p.get("body_nconsts")?,
            },
            "scan" => Scan {
                jaxpr: p.jaxpr("jaxpr")?,
                length: p.get("length")?,
                reverse: p.get("reverse")?,
                num_consts: p.get("num_consts")?,
                num_carry: p.get("num_carry")?,
                linear: p.get_or("linear", vec![false; p.num_operands()])?,
                unroll: p.get_or("unroll", 1)?,
            },
            "cond" => Cond {
                branches: p.jaxprs("branches")?,
            },
            _ => return Ok(None),
        }))
    }

    /// Output types, or JAX's error for operands the sub-jaxprs do not take.
    ///
    /// # Errors
    /// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Vec<Aval>> {
        let avals: Vec<Aval> = avals.iter().map(|&a| a.clone()).collect();
        match self {
            While {
                cond_jaxpr,
                body_jaxpr,
                cond_nconsts,
                body_nconsts,
            } => {
                let nc = cond_nconsts + body_nconsts;
                if avals.len() < nc {
                    return Err(Error::type_err(format!(
                        "while takes {nc} consts and a carry, got {} operands",
                        avals.len()
                    )));
                }
                let (cc, rest) = avals.split_at(*cond_nconsts);
                let (bc, carry) = rest.split_at(*body_nconsts);
                let pred = cond_jaxpr.out_avals();
                if pred.len() != 1
                    || !pred[0].shape.is_empty()
                    || pred[0].dtype != crate::DType::Bool
                {
                    return Err(cond_fun_error(&pred));
                }
                check_operands("while", "cond_jaxpr", cond_jaxpr, &[cc, carry].concat())?;
                check_operands("while", "body_jaxpr", body_jaxpr, &[bc, carry].concat())?;
                check_carry("while_loop body function", carry, &body_jaxpr.out_avals())?;
                Ok(strong(carry))
            }
            Scan {
                jaxpr,
                length,
                num_consts,
                num_carry,
                ..
            } => {
                if avals.len() < num_consts + num_carry {
                    return Err(Error::type_err(format!(
                        "scan takes {num_consts} consts and {num_carry} carries, got {} operands",
                        avals.len()
                    )));
                }
                let (consts, rest) = avals.split_at(*num_consts);
                let (carry, xs) = rest.split_at(*num_carry);
                if let Some(x) = xs.iter().find(|x| x.shape.first() != Some(length)) {
                    return Err(Error::value_err(format!(
                        "scan got `length` argument of {length} which disagrees with leading axis sizes [{}].",
                        x.shape.first().map_or("()".into(), |d| d.to_string())
                    )));
                }
                let x_slices: Vec<Aval> = xs.iter().map(slice_aval).collect();
                check_operands("scan", "jaxpr", jaxpr, &[consts, carry, &x_slices].concat())?;
                let outs = jaxpr.out_avals();
                check_carry("scan body function", carry, &outs[..*num_carry])?;
                let ys = outs[*num_carry..]
                    .iter()
                    .map(|y| stacked_aval(&y.clone().weak(false), *length));
                Ok(strong(carry).into_iter().chain(ys).collect())
            }
            Cond { branches } => {
                let Some((index, ops)) = avals.split_first() else {
                    return Err(Error::type_err("cond takes an index and operands"));
                };
                if branches.is_empty() {
                    return Err(Error::value_err("Empty branch sequence"));
                }
                if !index.shape.is_empty() || index.dtype != crate::DType::I32 {
                    return Err(Error::type_err(format!(
                        "cond: the branch index must be an int32 scalar, got {}",
                        index.str_long()
                    )));
                }
                for b in branches {
                    check_operands("cond", "a branch", b, ops)?;
                }
                let first = branches[0].out_avals();
                for (i, b) in branches.iter().enumerate().skip(1) {
                    check_branch_outputs(0, &first, i, &b.out_avals())?;
                }
                Ok(strong(&first))
            }
        }
    }

    /// Eager evaluation: the reference interpreter runs the loop or the taken branch.
    ///
    /// # Errors
    /// As `abstract_eval`, for concrete operands.
    pub fn eval(&self, args: &[Array]) -> Result<Vec<Array>> {
        let avals: Vec<&Aval> = args.iter().map(|a| a.aval()).collect();
        let out_avals = self.abstract_eval(&avals)?;
        for a in &out_avals {
            a.check_allocatable(self.name())?;
        }
        match self {
            While {
                cond_jaxpr,
                body_jaxpr,
                cond_nconsts,
                body_nconsts,
            } => {
                let (cc, rest) = args.split_at(*cond_nconsts);
                let (bc, init) = rest.split_at(*body_nconsts);
                let mut carry = init.to_vec();
                loop {
                    let pred = eval_closed(cond_jaxpr, &[cc, &carry].concat())?;
                    if !truth(&pred[0])? {
                        return Ok(carry);
                    }
                    carry = eval_closed(body_jaxpr, &[bc, &carry].concat())?;
                }
            }
            Scan {
                jaxpr,
                length,
                reverse,
                num_consts,
                num_carry,
                ..
            } => {
                let (consts, rest) = args.split_at(*num_consts);
                let (init, xs) = rest.split_at(*num_carry);
                let mut carry = init.to_vec();
                let mut ys: Vec<Vec<Array>> = Vec::with_capacity(*length);
                for step in 0..*length {
                    let i = if *reverse { length - 1 - step } else { step };
                    let x: Vec<Array> = xs
                        .iter()
                        .map(|x| index_in_dim(x, i, 0))
                        .collect::<Result<_>>()?;
                    let mut outs = eval_closed(jaxpr, &[consts, &carry, &x].concat())?;
                    let y = outs.split_off(*num_carry);
                    carry = outs;
                    ys.push(y);
                }
                if *reverse {
                    ys.reverse();
                }
                let stacked = out_avals[*num_carry..]
                    .iter()
                    .enumerate()
                    .map(|(k, aval)| stack_slices(ys.iter().map(|y| &y[k]), aval));
                let stacked: Vec<Array> = stacked.collect::<Result<_>>()?;
                Ok(carry.into_iter().chain(stacked).collect())
            }
            Cond { branches } => {
                let index = args[0].data()?.get(0).to_f64() as i64;
                let i = index.clamp(0, branches.len() as i64 - 1) as usize;
                eval_closed(&branches[i], &args[1..])
            }
        }
    }

    /// The JVP rule.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp(
        &self,
        primals: &[Array],
        tangents: &[Tangent],
        sub: &dyn JaxprTransforms,
    ) -> Result<JvpOut> {
        jvp::jvp(self, primals, tangents, sub)
    }

    /// The transpose rule.
    ///
    /// # Errors
    /// A linear operand used non-linearly, or an error of a primitive the rule binds.
    pub fn transpose(
        &self,
        cts: &[Tangent],
        args: &[LinArg],
        sub: &dyn JaxprTransforms,
    ) -> Result<Vec<Tangent>> {
        transpose::transpose(self, cts, args, sub)
    }

    /// The batching rule.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn batch(&self, b: &Batching) -> Result<BatchOut> {
        batch::batch(self, b)
    }
}

/// JAX's error for a `cond_fun` that does not return a boolean scalar.
fn cond_fun_error(outs: &[Aval]) -> Error {
    let shown: Vec<String> = outs.iter().map(shaped_array).collect();
    Error::type_err(format!(
        "cond_fun must return a boolean scalar, but got output type(s) [{}].",
        shown.join(", ")
    ))
}

/// How JAX prints an aval in errors: `ShapedArray(int32[], weak_type=True)`.
pub(crate) fn shaped_array(a: &Aval) -> String {
    let weak = if a.weak_type { ", weak_type=True" } else { "" };
    format!("ShapedArray({}{weak})", a.str_long())
}

/// JAX's error for branches whose outputs differ in type.
pub(crate) fn check_branch_outputs(i: usize, a: &[Aval], j: usize, b: &[Aval]) -> Result<()> {
    let (name_a, name_b) = if i == 0 && j == 1 {
        ("true_fun".to_string(), "false_fun".to_string())
    } else {
        (format!("branch {i}"), format!("branch {j}"))
    };
    let mismatch = |detail: String| {
        Error::type_err(format!(
            "cond branches must have equal output types but they differ.\n\n{detail}\n\nRevise {name_a} and/or {name_b} so that all output types match."
        ))
    };
    if a.len() != b.len() {
        return Err(mismatch(format!(
            "{name_a} has {} outputs but {name_b} has {}.",
            a.len(),
            b.len()
        )));
    }
    for (x, y) in a.iter().zip(b) {
        if x.shape != y.shape || x.dtype != y.dtype {
            let what = if x.shape != y.shape {
                "shapes"
            } else {
                "dtypes"
            };
            return Err(mismatch(format!(
                "The output of {name_a} has type {} but the corresponding output of {name_b} has type {}, so the {what} do not match.",
                x.str_long(),
                y.str_long()
            )));
        }
    }
    Ok(())
}

/// A `bool[]` value as a Rust bool (eager evaluation of a loop predicate).
fn truth(pred: &Array) -> Result<bool> {
    Ok(pred.data()?.get(0).to_f64() != 0.0)
}

/// Stack equally shaped slices along a new leading axis into an array of type `aval`.
fn stack_slices<'a>(slices: impl Iterator<Item = &'a Array>, aval: &Aval) -> Result<Array> {
    let datas: Vec<&crate::array::Data> = slices.map(|s| s.data()).collect::<Result<_>>()?;
    let elems = datas.iter().flat_map(|d| (0..d.len()).map(|k| d.get(k)));
    let data = crate::array::Data::from_scalars(aval.dtype, elems);
    Ok(Array::from_concrete(aval.clone(), data))
}

/// `jaxpr` with its inputs reordered: input `k` of the result is input `order[k]` of `jaxpr`
/// (how the transformation rules put the operands they add where the loop expects them).
pub(crate) fn reorder_invars(jaxpr: &ClosedJaxpr, order: &[usize]) -> ClosedJaxpr {
    let mut j = (*jaxpr.jaxpr).clone();
    j.invars = order.iter().map(|&k| jaxpr.jaxpr.invars[k]).collect();
    ClosedJaxpr {
        jaxpr: std::sync::Arc::new(j),
        consts: jaxpr.consts.clone(),
    }
}

/// How a `scan` runs (what the scans its transformations bind keep or turn around).
#[derive(Clone, Copy)]
pub(crate) struct ScanRun {
    pub length: usize,
    pub reverse: bool,
    pub unroll: usize,
}

/// Bind a `scan` of `body` (its constvars, if any, become leading consts); `linear` per
/// operand.
pub(crate) fn bind_scan(
    body: &ClosedJaxpr,
    consts: &[Array],
    carry: &[Array],
    xs: &[Array],
    run: ScanRun,
    linear: &[bool],
) -> Result<Vec<Array>> {
    let (jaxpr, closed) = body.consts_as_invars();
    let linear = std::iter::repeat_n(false, closed.len()).chain(linear.iter().copied());
    let op = Scan {
        jaxpr,
        length: run.length,
        reverse: run.reverse,
        num_consts: closed.len() + consts.len(),
        num_carry: carry.len(),
        linear: linear.collect(),
        unroll: run.unroll,
    };
    let args = [&closed, consts, carry, xs].concat();
    crate::core::trace::bind(crate::prims::Prim::Control(op), &args)
}

/// Bind a `cond` of `branches` (their constvars, if any, become leading operands that the
/// other branches ignore).
pub(crate) fn bind_cond(
    branches: &[ClosedJaxpr],
    index: &Array,
    operands: &[Array],
) -> Result<Vec<Array>> {
    let opened: Vec<(ClosedJaxpr, Vec<Array>)> =
        branches.iter().map(ClosedJaxpr::consts_as_invars).collect();
    let closed: Vec<Array> = opened.iter().flat_map(|(_, c)| c.clone()).collect();
    let avals: Vec<Aval> = closed.iter().map(|c| c.aval().clone()).collect();
    let mut at = 0;
    let branches = opened
        .iter()
        .map(|(b, c)| {
            let b = b
                .with_unused_invars(0, &avals[..at])
                .with_unused_invars(at + c.len(), &avals[at + c.len()..]);
            at += c.len();
            b
        })
        .collect();
    let args: Vec<Array> = [std::slice::from_ref(index), &closed, operands].concat();
    crate::core::trace::bind(crate::prims::Prim::Control(Cond { branches }), &args)
}

/// Bind a `while` of `cond_jaxpr` and `body_jaxpr` (their constvars, if any, become leading
/// consts).
pub(crate) fn bind_while(
    cond_jaxpr: &ClosedJaxpr,
    body_jaxpr: &ClosedJaxpr,
    cond_consts: &[Array],
    body_consts: &[Array],
    carry: &[Array],
) -> Result<Vec<Array>> {
    let (cond_jaxpr, cc) = cond_jaxpr.consts_as_invars();
    let (body_jaxpr, bc) = body_jaxpr.consts_as_invars();
    let op = While {
        cond_jaxpr,
        body_jaxpr,
        cond_nconsts: cc.len() + cond_consts.len(),
        body_nconsts: bc.len() + body_consts.len(),
    };
    let args = [&cc, cond_consts, &bc, body_consts, carry].concat();
    crate::core::trace::bind(crate::prims::Prim::Control(op), &args)
}
