//! Elementwise primitives of two operands: all their rules. Operands have one
//! dtype; non-scalar operands have one shape, and rank-0 operands broadcast (lax's rule, which
//! keeps the seed's `sub 1.0 b` a scalar literal under vmap).

use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::bind1;
use crate::dtype::DType;
use crate::lax::{self, scalar_like, unbroadcast};

#[derive(Clone, Debug, PartialEq)]
pub enum BinaryOp {
    Add,
    /// Addition of tangents/cotangents (what transposition accumulates with).
    AddAny,
    Sub,
    Mul,
    Div,
    Pow,
    Max,
    Min,
    And,
    Or,
    Xor,
    ShiftLeft,
    ShiftRightLogical,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

use BinaryOp::*;

impl BinaryOp {
    pub fn name(&self) -> &'static str {
        match self {
            Add => "add",
            AddAny => "add_any",
            Sub => "sub",
            Mul => "mul",
            Div => "div",
            Pow => "pow",
            Max => "max",
            Min => "min",
            And => "and",
            Or => "or",
            Xor => "xor",
            ShiftLeft => "shift_left",
            ShiftRightLogical => "shift_right_logical",
            Eq => "eq",
            Ne => "ne",
            Lt => "lt",
            Le => "le",
            Gt => "gt",
            Ge => "ge",
        }
    }

    pub fn is_comparison(&self) -> bool {
        matches!(self, Eq | Ne | Lt | Le | Gt | Ge)
    }

    pub fn abstract_eval(&self, x: &Aval, y: &Aval) -> Result<Aval> {
        let shape = broadcast_shapes(self.name(), &[x, y])?;
        if x.dtype != y.dtype {
            return Err(Error::type_err(format!(
                "{} requires arguments to have the same dtypes, got {}, {}.",
                self.name(),
                x.dtype.numpy_name(),
                y.dtype.numpy_name()
            )));
        }
        let dt = x.dtype;
        let ok = match self {
            Pow => dt.is_float(),
            And | Or | Xor => !dt.is_float(),
            ShiftLeft | ShiftRightLogical => dt.is_int(),
            Add | AddAny | Sub | Mul | Div | Max | Min => dt != DType::Bool,
            Eq | Ne | Lt | Le | Gt | Ge => true,
        };
        if !ok {
            return Err(Error::type_err(format!(
                "{} does not accept dtype {}.",
                self.name(),
                dt.numpy_name()
            )));
        }
        let out_dtype = if self.is_comparison() {
            DType::Bool
        } else {
            dt
        };
        let weak = !self.is_comparison() && x.weak_type && y.weak_type;
        Ok(Aval::new(shape, out_dtype).weak(weak))
    }

    pub fn eval(&self, x: &Array, y: &Array, out: Aval) -> Result<Array> {
        let n = out.size();
        let (a, b) = (x.data()?, y.data()?);
        // A rank-0 operand broadcasts: index 0 for every element.
        let ia = |i: usize| if a.len() == 1 { 0 } else { i };
        let ib = |i: usize| if b.len() == 1 { 0 } else { i };
        macro_rules! zip {
            ($va:expr, $vb:expr, $f:expr, $wrap:ident) => {
                Data::$wrap((0..n).map(|i| $f($va[ia(i)], $vb[ib(i)])).collect())
            };
        }
        let data = match (a, b) {
            (Data::F32(va), Data::F32(vb)) => match self {
                _ if self.is_comparison() => {
                    zip!(va, vb, |p, q| self.compare(p as f64, q as f64), Bool)
                }
                Pow => zip!(va, vb, |p: f32, q: f32| p.powf(q), F32),
                _ => zip!(va, vb, |p, q| self.arith_f32(p, q), F32),
            },
            (Data::F64(va), Data::F64(vb)) => match self {
                _ if self.is_comparison() => zip!(va, vb, |p, q| self.compare(p, q), Bool),
                _ => zip!(va, vb, |p, q| self.arith_f64(p, q), F64),
            },
            (Data::I32(va), Data::I32(vb)) => match self {
                _ if self.is_comparison() => {
                    zip!(va, vb, |p: i32, q: i32| self.compare_ord(p.cmp(&q)), Bool)
                }
                _ => zip!(va, vb, |p, q| self.arith_i32(p, q), I32),
            },
            (Data::U32(va), Data::U32(vb)) => match self {
                _ if self.is_comparison() => {
                    zip!(va, vb, |p: u32, q: u32| self.compare_ord(p.cmp(&q)), Bool)
                }
                _ => zip!(va, vb, |p, q| self.arith_u32(p, q), U32),
            },
            (Data::Bool(va), Data::Bool(vb)) => match self {
                _ if self.is_comparison() => {
                    zip!(va, vb, |p: bool, q: bool| self.compare_ord(p.cmp(&q)), Bool)
                }
                And => zip!(va, vb, |p, q| p & q, Bool),
                Or => zip!(va, vb, |p, q| p | q, Bool),
                _ => zip!(va, vb, |p, q| p ^ q, Bool),
            },
            _ => unreachable!("abstract_eval checked that the dtypes agree"),
        };
        Ok(Array::from_concrete(out, data))
    }

    fn compare(&self, p: f64, q: f64) -> bool {
        match self {
            Eq => p == q,
            Ne => p != q,
            Lt => p < q,
            Le => p <= q,
            Gt => p > q,
            _ => p >= q,
        }
    }

    fn compare_ord(&self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Eq => o == Equal,
            Ne => o != Equal,
            Lt => o == Less,
            Le => o != Greater,
            Gt => o == Greater,
            _ => o != Less,
        }
    }

    fn arith_f32(&self, p: f32, q: f32) -> f32 {
        match self {
            Add | AddAny => p + q,
            Sub => p - q,
            Mul => p * q,
            Div => p / q,
            Pow => p.powf(q),
            Max => float_max(p as f64, q as f64) as f32,
            Min => float_min(p as f64, q as f64) as f32,
            _ => unreachable!("integer-only op on floats"),
        }
    }

    fn arith_f64(&self, p: f64, q: f64) -> f64 {
        match self {
            Add | AddAny => p + q,
            Sub => p - q,
            Mul => p * q,
            Div => p / q,
            Pow => p.powf(q),
            Max => float_max(p, q),
            Min => float_min(p, q),
            _ => unreachable!("integer-only op on floats"),
        }
    }

    fn arith_i32(&self, p: i32, q: i32) -> i32 {
        match self {
            Add | AddAny => p.wrapping_add(q),
            Sub => p.wrapping_sub(q),
            Mul => p.wrapping_mul(q),
            // XLA's rules: x / 0 = -1, INT_MIN / -1 = INT_MIN.
            Div => {
                if q == 0 {
                    -1
                } else {
                    p.wrapping_div(q)
                }
            }
            Max => p.max(q),
            Min => p.min(q),
            And => p & q,
            Or => p | q,
            Xor => p ^ q,
            ShiftLeft => {
                if (q as u32) < 32 {
                    p << q
                } else {
                    0
                }
            }
            ShiftRightLogical => {
                if (q as u32) < 32 {
                    ((p as u32) >> q) as i32
                } else {
                    0
                }
            }
            _ => unreachable!("float-only op on integers"),
        }
    }

    fn arith_u32(&self, p: u32, q: u32) -> u32 {
        match self {
            Add | AddAny => p.wrapping_add(q),
            Sub => p.wrapping_sub(q),
            Mul => p.wrapping_mul(q),
            Div => p.checked_div(q).unwrap_or(u32::MAX),
            Max => p.max(q),
            Min => p.min(q),
            And => p & q,
            Or => p | q,
            Xor => p ^ q,
            ShiftLeft => {
                if q < 32 {
                    p << q
                } else {
                    0
                }
            }
            ShiftRightLogical => {
                if q < 32 {
                    p >> q
                } else {
                    0
                }
            }
            _ => unreachable!("float-only op on integers"),
        }
    }

    /// JVP rules in JAX's forms: `mul` is `xdot*y + x*ydot` with symbolic-zero skipping and
    /// `add_any` combining the terms; `add` and `sub` combine with `add`/`sub`.
    pub fn jvp(&self, x: &Array, y: &Array, xd: &Tangent, yd: &Tangent) -> Result<JvpOut> {
        let ans = bind1(Prim::Binary(self.clone()), &[x.clone(), y.clone()])?;
        let out_shape = ans.shape().to_vec();
        let widen = |t: Array| -> Result<Array> {
            if t.shape() == out_shape.as_slice() {
                Ok(t)
            } else {
                lax::broadcast_in_dim(&t, &out_shape, &[])
            }
        };
        let t = match self {
            Add | AddAny | Sub => match (xd, yd) {
                (None, None) => None,
                (Some(a), None) => Some(widen(a.clone())?),
                (None, Some(b)) => Some(widen(if *self == Sub {
                    lax::neg(b)?
                } else {
                    b.clone()
                })?),
                (Some(a), Some(b)) => Some(match self {
                    Add => lax::add(a, b)?,
                    AddAny => lax::add_any(a, b)?,
                    _ => lax::sub(a, b)?,
                }),
            },
            Mul => sum_terms([
                xd.as_ref().map(|g| lax::mul(g, y)).transpose()?,
                yd.as_ref().map(|g| lax::mul(x, g)).transpose()?,
            ])?,
            Div => sum_terms([
                xd.as_ref().map(|g| lax::div(g, y)).transpose()?,
                yd.as_ref()
                    .map(|g| lax::mul(&lax::mul(&lax::neg(g)?, x)?, &lax::integer_pow(y, -2)?))
                    .transpose()?,
            ])?,
            Pow => {
                let one = scalar_like(y, 1.0);
                let zero = scalar_like(y, 0.0);
                sum_terms([
                    xd.as_ref()
                        .map(|g| -> Result<Array> {
                            // d/dx x^y = y * x^(y-1), and 0 where y == 0.
                            let jac =
                                lax::mul(&replace_zero(y)?, &lax::pow(x, &lax::sub(y, &one)?)?)?;
                            let jac =
                                lax::select(&lax::eq(y, &zero)?, &lax::zeros(jac.aval())?, &jac)?;
                            lax::mul(g, &jac)
                        })
                        .transpose()?,
                    yd.as_ref()
                        .map(|g| -> Result<Array> {
                            // d/dy x^y = log(x) * x^y, with log(0) replaced by log(1).
                            lax::mul(g, &lax::mul(&lax::log(&replace_zero(x)?)?, &ans)?)
                        })
                        .transpose()?,
                ])?
            }
            Max | Min => sum_terms([
                xd.as_ref()
                    .map(|g| lax::mul(g, &balanced_eq(x, &ans, y)?))
                    .transpose()?,
                yd.as_ref()
                    .map(|g| lax::mul(g, &balanced_eq(y, &ans, x)?))
                    .transpose()?,
            ])?,
            And | Or | Xor | ShiftLeft | ShiftRightLogical | Eq | Ne | Lt | Le | Gt | Ge => None,
        };
        let t = t.map(widen).transpose()?;
        Ok((vec![ans], vec![t]))
    }

    /// Transposes of the linear ones (`mul` and `div` in their linear operand).
    pub fn transpose(&self, ct: &Tangent, x: &LinArg, y: &LinArg) -> Result<Vec<Tangent>> {
        let Some(ct) = ct else {
            return Ok(vec![None, None]);
        };
        let for_linear = |arg: &LinArg, v: Result<Array>| -> Result<Tangent> {
            if arg.is_linear() {
                Ok(Some(unbroadcast(&arg.aval(), &v?)?))
            } else {
                Ok(None)
            }
        };
        match self {
            Add | AddAny => Ok(vec![
                for_linear(x, Ok(ct.clone()))?,
                for_linear(y, Ok(ct.clone()))?,
            ]),
            Sub => Ok(vec![
                for_linear(x, Ok(ct.clone()))?,
                if y.is_linear() {
                    for_linear(y, lax::neg(ct))?
                } else {
                    None
                },
            ]),
            Mul => match (x, y) {
                (LinArg::Linear(_), LinArg::Known(yv)) => {
                    Ok(vec![for_linear(x, lax::mul(ct, yv))?, None])
                }
                (LinArg::Known(xv), LinArg::Linear(_)) => {
                    Ok(vec![None, for_linear(y, lax::mul(xv, ct))?])
                }
                _ => Err(Error::type_err(
                    "transpose of mul: exactly one operand must be linear",
                )),
            },
            Div => match (x, y) {
                (LinArg::Linear(_), LinArg::Known(yv)) => {
                    Ok(vec![for_linear(x, lax::div(ct, yv))?, None])
                }
                _ => Err(Error::type_err(
                    "transpose of div: only the numerator may be linear",
                )),
            },
            _ => Err(Error::type_err(format!(
                "transpose of {} is not defined: it is not linear",
                self.name()
            ))),
        }
    }
}

/// IEEE maximum: NaN if either is NaN, and +0 above -0.
pub fn float_max(p: f64, q: f64) -> f64 {
    if p.is_nan() || q.is_nan() {
        f64::NAN
    } else if p > q {
        p
    } else if q > p {
        q
    } else {
        f64::from_bits(p.to_bits() & q.to_bits())
    }
}

/// IEEE minimum: NaN if either is NaN, and -0 below +0.
pub fn float_min(p: f64, q: f64) -> f64 {
    if p.is_nan() || q.is_nan() {
        f64::NAN
    } else if p < q {
        p
    } else if q < p {
        q
    } else {
        f64::from_bits(p.to_bits() | q.to_bits())
    }
}

/// JAX's `_balanced_eq(x, z, y)`: 1 where x == z != y, 0.5 where both equal z, else 0, as
/// `select(x == z, 1, 0) / select(y == z, 2, 1)`. The constants are full arrays of `z`'s type
/// (`_ones(z)`), since `select_n` cases must have the predicate's shape.
fn balanced_eq(x: &Array, z: &Array, y: &Array) -> Result<Array> {
    let full = |v: f64| lax::full(z.aval(), v);
    lax::div(
        &lax::select(&lax::eq(x, z)?, &full(1.0)?, &full(0.0)?)?,
        &lax::select(&lax::eq(y, z)?, &full(2.0)?, &full(1.0)?)?,
    )
}

/// JAX's `_replace_zero(x)`: `x` with its zeros replaced by ones.
fn replace_zero(x: &Array) -> Result<Array> {
    lax::select(
        &lax::eq(x, &scalar_like(x, 0.0))?,
        &lax::full(x.aval(), 1.0)?,
        x,
    )
}

/// JAX's `add_tangents` over the terms of a sum: zeros skipped, the rest combined by `add_any`.
pub fn sum_terms<const N: usize>(terms: [Tangent; N]) -> Result<Tangent> {
    let mut acc: Tangent = None;
    for t in terms.into_iter().flatten() {
        acc = Some(match acc {
            None => t,
            Some(a) => lax::add_any(&a, &t)?,
        });
    }
    Ok(acc)
}

/// The common shape of elementwise operands: all non-scalar shapes must agree.
pub fn broadcast_shapes(name: &str, avals: &[&Aval]) -> Result<Vec<usize>> {
    let mut shape: Option<&[usize]> = None;
    for a in avals {
        if a.shape.is_empty() {
            continue;
        }
        match shape {
            None => shape = Some(&a.shape),
            Some(s) if s == a.shape.as_slice() => {}
            Some(_) => {
                let all: Vec<String> = avals.iter().map(|a| shape_str(&a.shape)).collect();
                return Err(Error::type_err(format!(
                    "{name} got incompatible shapes for broadcasting: {}",
                    all.join(", ")
                )));
            }
        }
    }
    Ok(shape.map(|s| s.to_vec()).unwrap_or_default())
}

/// JAX's `broadcast_batcher`: if the batched operands agree in shape and batch dimension and
/// the rest are scalars, bind directly (a scalar literal stays a scalar); otherwise move every
/// batch dimension to the front and broadcast the unbatched operands.
pub fn broadcast_batcher(prim: &Prim, args: &[Array], dims: &[Option<usize>]) -> Result<BatchOut> {
    batch_elementwise(prim, args, dims, &|_| true)
}

/// The broadcast batcher, with `may_stay_scalar(i)` saying whether an unbatched rank-0
/// operand `i` can stay a scalar (true for lax's elementwise ops; for `select_n` only the
/// predicate, since its cases must share one shape).
pub(super) fn batch_elementwise(
    prim: &Prim,
    args: &[Array],
    dims: &[Option<usize>],
    may_stay_scalar: &dyn Fn(usize) -> bool,
) -> Result<BatchOut> {
    let (first, first_dim) = args
        .iter()
        .zip(dims)
        .find_map(|(x, d)| d.map(|d| (x, d)))
        .expect("a batching rule runs only with a batched operand");
    let agree = args
        .iter()
        .zip(dims)
        .enumerate()
        .all(|(i, (x, d))| match d {
            Some(d) => *d == first_dim && x.shape() == first.shape(),
            None => x.ndim() == 0 && may_stay_scalar(i),
        });
    if agree {
        let outs = crate::core::trace::bind(prim.clone(), args)?;
        let n = outs.len();
        return Ok((outs, vec![Some(first_dim); n]));
    }
    let size = first.shape()[first_dim];
    // The per-example output shape: the common non-scalar per-example shape.
    let per_example: Vec<Vec<usize>> = args
        .iter()
        .zip(dims)
        .map(|(x, d)| {
            let mut s = x.shape().to_vec();
            if let Some(d) = d {
                s.remove(*d);
            }
            s
        })
        .collect();
    let out_shape = per_example
        .iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_default();
    let mut full = vec![size];
    full.extend(&out_shape);
    let mut moved = Vec::with_capacity(args.len());
    for (i, ((x, d), pe)) in args.iter().zip(dims).zip(&per_example).enumerate() {
        moved.push(match d {
            Some(d) => {
                let x = lax::moveaxis(x, *d, 0)?;
                if pe.is_empty() && !out_shape.is_empty() {
                    lax::broadcast_in_dim(&x, &full, &[0])?
                } else {
                    x
                }
            }
            None if x.ndim() == 0 && may_stay_scalar(i) => x.clone(),
            None => {
                let dims: Vec<usize> = (1..=x.ndim()).collect();
                lax::broadcast_in_dim(x, &full, &dims)?
            }
        });
    }
    let outs = crate::core::trace::bind(prim.clone(), &moved)?;
    let n = outs.len();
    Ok((outs, vec![Some(0); n]))
}
