//! Structured control flow with JAX's names: `cond`, `fori_loop`, `scan`. Loops run in Rust at
//! trace time (a traced loop is unrolled into the jaxpr, so bounds are concrete); `cond` on a
//! concrete predicate runs one branch, and on a traced predicate computes both branches and
//! selects elementwise (what JAX's `cond` becomes under `vmap`). Both branches must return the
//! same types. All of them differentiate, batch and compile like straight-line code.

use crate::array::Array;
use crate::core::error::{catch, Error, Result};
use crate::lax;
use crate::numpy as jnp;
use crate::pytree::Pytree;

/// `cond(pred, true_fn, false_fn, operand)`.
pub fn cond<T: Pytree, R: Pytree>(
    pred: &Array,
    true_fn: impl Fn(&T) -> R,
    false_fn: impl Fn(&T) -> R,
    operand: &T,
) -> Result<R> {
    if pred.ndim() != 0 {
        return Err(Error::type_err(format!(
            "cond: the predicate must be a scalar, got {}",
            pred.aval()
        )));
    }
    if let Some(c) = pred.concrete() {
        let taken = c.data.get(0).to_f64() != 0.0;
        return catch(|| {
            Ok(if taken {
                true_fn(operand)
            } else {
                false_fn(operand)
            })
        });
    }
    let (t, f) = catch(|| Ok((true_fn(operand), false_fn(operand))))?;
    let (tl, fl) = (t.leaves(), f.leaves());
    let mut def_t = String::new();
    let mut def_f = String::new();
    t.treedef(&mut def_t);
    f.treedef(&mut def_f);
    if def_t != def_f
        || tl
            .iter()
            .zip(&fl)
            .any(|(a, b)| a.shape() != b.shape() || a.dtype() != b.dtype())
    {
        let show = |v: &[Array]| {
            v.iter()
                .map(|a| a.aval().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Error::type_err(format!(
            "cond: true_fun and false_fun output must have identical types, got ({}) and ({})",
            show(&tl),
            show(&fl)
        )));
    }
    let p = if pred.dtype() == crate::DType::Bool {
        pred.clone()
    } else {
        lax::ne(pred, &lax::scalar_like(pred, 0.0))?
    };
    let picked = tl
        .iter()
        .zip(&fl)
        .map(|(a, b)| {
            let p = if a.ndim() == 0 {
                p.clone()
            } else {
                lax::broadcast_in_dim(&p, a.shape(), &[])?
            };
            lax::select(&p, a, b)
        })
        .collect::<Result<Vec<_>>>()?;
    t.rebuild(picked)
}

/// `fori_loop(lower, upper, body, init)`: `carry = body(i, carry)` for `i` in `lower..upper`
/// (`i` an i32 scalar).
pub fn fori_loop<C: Pytree>(
    lower: i32,
    upper: i32,
    body: impl Fn(&Array, &C) -> C,
    init: C,
) -> Result<C> {
    let mut carry = init;
    for i in lower..upper {
        let i = Array::scalar(i);
        carry = catch(|| Ok(body(&i, &carry)))?;
    }
    Ok(carry)
}

/// `scan(f, init, xs)`: `(carry, y) = f(carry, x)` over the leading axis of `xs`; returns the
/// final carry and the `y`s stacked along a new leading axis.
pub fn scan<C: Pytree>(
    f: impl Fn(&C, &Array) -> (C, Array),
    init: C,
    xs: &Array,
) -> Result<(C, Array)> {
    if xs.ndim() == 0 {
        return Err(Error::type_err(
            "scan: xs must have a leading axis to scan over, got a scalar",
        ));
    }
    let mut carry = init;
    let mut ys = Vec::with_capacity(xs.shape()[0]);
    for i in 0..xs.shape()[0] {
        let x = crate::prims::batching::index_in_dim(xs, i, 0)?;
        let (c, y) = catch(|| Ok(f(&carry, &x)))?;
        carry = c;
        ys.push(y);
    }
    if ys.is_empty() {
        return Err(Error::value_err(
            "scan over an empty leading axis: the output type of f is unknown",
        ));
    }
    Ok((carry, catch(|| Ok(jnp::stack(&ys, 0)))?))
}
