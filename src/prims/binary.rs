//! Elementwise primitives of two operands: all their rules. Operands have one
//! dtype; non-scalar operands have one shape, and rank-0 operands broadcast (lax's rule, which
//! keeps the seed's `sub 1.0 b` a scalar literal under vmap).
//!
//! `binary_table!` holds one row per primitive, as `prims::unary`'s table does, and the enum,
//! names, dtype rule, eager evaluation, JVP, transpose and cost class here and the
//! vectorisability and lowering in `backend::ops` are generated from it. A row reads
//!
//! ```text
//! /// doc
//! Variant = "jax_name", Dtypes -> Output, Cost, vectorizes: ops_fn, lower: ops::fn | vals::fn {
//!     eval(x, y, n) => ...,                 // eager: n elements of x op y (scalars broadcast)
//!     jvp(x, y, xdot, ydot, ans) => ...,    // the tangent (`None`: a symbolic zero)
//!     transpose(ct, x, y) => ...,           // only for rows linear in an operand
//! }
//! ```
//!
//! where `Dtypes` is an [`Accepts`] class of the operands, `Output` is `Same` (their dtype) or
//! `Bool` (comparisons), `Cost` a [`Cost`] class, `vectorizes:` names the function of
//! `backend::ops` that says whether a vector of the op can be emitted, and `lower:` the
//! `backend::ops` function that emits it (`ops::` on operands lifted to one representation,
//! `vals::` on them as they come).

use super::unary::{Accepts, Cost};
use super::{JvpOut, LinArg, Prim, Tangent};
use crate::array::{Array, Buffer, Data};
use crate::core::aval::{same_shape, Aval};
use crate::core::error::{Error, Result};
use crate::core::trace::bind1;
use crate::dtype::DType;
use crate::lax::{self, scalar_like, unbroadcast};
use cranax_runtime::special;
use half::{bf16, f16};
use std::cmp::Ordering::{self, Equal, Greater, Less};

/// The table: one row per elementwise binary primitive (see the module doc for the columns).
/// `$then` is the macro that turns the rows into code: `define_binary_ops` below, and
/// `binary_lowerings` in `backend::ops`.
macro_rules! binary_table {
    ($then:ident) => {
        $then! {
            Add = "add", Numeric -> Same, Cheap, vectorizes: lanes_always, lower: ops::add {
                eval(x, y, n) => numbers(
                    x, y, n, |p, q| p + q, |p, q| p + q, i64::wrapping_add, u64::wrapping_add,
                ),
                jvp(_x, _y, xd, yd, _ans) => sum_jvp(xd, yd, false, lax::add)?,
                transpose(ct, x, y) => sum_transpose(ct, x, y, false),
            }
            /// Addition of tangents/cotangents (what transposition accumulates with).
            AddAny = "add_any", Numeric -> Same, Cheap, vectorizes: lanes_always, lower: ops::add {
                eval(x, y, n) => numbers(
                    x, y, n, |p, q| p + q, |p, q| p + q, i64::wrapping_add, u64::wrapping_add,
                ),
                jvp(_x, _y, xd, yd, _ans) => sum_jvp(xd, yd, false, lax::add_any)?,
                transpose(ct, x, y) => sum_transpose(ct, x, y, false),
            }
            Sub = "sub", Numeric -> Same, Cheap, vectorizes: lanes_always, lower: ops::sub {
                eval(x, y, n) => numbers(
                    x, y, n, |p, q| p - q, |p, q| p - q, i64::wrapping_sub, u64::wrapping_sub,
                ),
                jvp(_x, _y, xd, yd, _ans) => sum_jvp(xd, yd, true, lax::sub)?,
                transpose(ct, x, y) => sum_transpose(ct, x, y, true),
            }
            Mul = "mul", Numeric -> Same, Cheap, vectorizes: lanes_always, lower: ops::mul {
                eval(x, y, n) => numbers(
                    x, y, n, |p, q| p * q, |p, q| p * q, i64::wrapping_mul, u64::wrapping_mul,
                ),
                jvp(x, y, xd, yd, _ans) => sum_terms([
                    xd.as_ref().map(|g| lax::mul(g, y)).transpose()?,
                    yd.as_ref().map(|g| lax::mul(x, g)).transpose()?,
                ])?,
                transpose(ct, x, y) => match (x, y) {
                    (LinArg::Linear(_), LinArg::Known(yv)) => {
                        Ok([for_linear(x, lax::mul(ct, yv))?, None])
                    }
                    (LinArg::Known(xv), LinArg::Linear(_)) => {
                        Ok([None, for_linear(y, lax::mul(xv, ct))?])
                    }
                    _ => Err(Error::type_err(
                        "transpose of mul: exactly one operand must be linear",
                    )),
                },
            }
            Div = "div", Numeric -> Same, Cheap, vectorizes: lanes_for_floats, lower: ops::div {
                eval(x, y, n) => numbers(x, y, n, |p, q| p / q, |p, q| p / q, int_div, uint_div),
                jvp(x, y, xd, yd, _ans) => sum_terms([
                    xd.as_ref().map(|g| lax::div(g, y)).transpose()?,
                    yd.as_ref()
                        .map(|g| lax::mul(&lax::mul(&lax::neg(g)?, x)?, &lax::integer_pow(y, -2)?))
                        .transpose()?,
                ])?,
                transpose(ct, x, y) => match (x, y) {
                    (LinArg::Linear(_), LinArg::Known(yv)) => {
                        Ok([for_linear(x, lax::div(ct, yv))?, None])
                    }
                    _ => Err(Error::type_err(
                        "transpose of div: only the numerator may be linear",
                    )),
                },
            }
            Pow = "pow", Floating -> Same, Expensive, vectorizes: lanes_always, lower: ops::pow {
                eval(x, y, n) => floats(x, y, n, f32::powf, f64::powf),
                jvp(x, y, xd, yd, ans) => pow_jvp(x, y, xd, yd, ans)?,
            }
            Max = "max", Any -> Same, Cheap, vectorizes: lanes_always, lower: ops::max {
                eval(x, y, n) => numbers_and_bools(
                    x,
                    y,
                    n,
                    |p, q| float_max(p as f64, q as f64) as f32,
                    float_max,
                    i64::max,
                    u64::max,
                    |p, q| p | q,
                ),
                jvp(x, y, xd, yd, ans) => max_min_jvp(x, y, xd, yd, ans)?,
            }
            Min = "min", Any -> Same, Cheap, vectorizes: lanes_always, lower: ops::min {
                eval(x, y, n) => numbers_and_bools(
                    x,
                    y,
                    n,
                    |p, q| float_min(p as f64, q as f64) as f32,
                    float_min,
                    i64::min,
                    u64::min,
                    |p, q| p & q,
                ),
                jvp(x, y, xd, yd, ans) => max_min_jvp(x, y, xd, yd, ans)?,
            }
            And = "and", IntegerOrBool -> Same, Cheap, vectorizes: lanes_always, lower: ops::and {
                eval(x, y, n) => bitwise(x, y, n, |p, q| p & q, |p, q| p & q, |p, q| p & q),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            Or = "or", IntegerOrBool -> Same, Cheap, vectorizes: lanes_always, lower: ops::or {
                eval(x, y, n) => bitwise(x, y, n, |p, q| p | q, |p, q| p | q, |p, q| p | q),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            Xor = "xor", IntegerOrBool -> Same, Cheap, vectorizes: lanes_always, lower: ops::xor {
                eval(x, y, n) => bitwise(x, y, n, |p, q| p ^ q, |p, q| p ^ q, |p, q| p ^ q),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            ShiftLeft = "shift_left", Integer -> Same, Cheap, vectorizes: lanes_for_uniform_rhs,
                lower: vals::shift_left {
                eval(x, y, n) => shifts(x, y, n, |p, q, width| if q < width { p << q } else { 0 }),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            ShiftRightLogical = "shift_right_logical", Integer -> Same, Cheap,
                vectorizes: lanes_for_uniform_rhs, lower: vals::shift_right_logical {
                eval(x, y, n) => shifts(x, y, n, |p, q, width| if q < width { p >> q } else { 0 }),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            ShiftRightArithmetic = "shift_right_arithmetic", Integer -> Same, Cheap,
                vectorizes: lanes_for_uniform_rhs, lower: vals::shift_right_arithmetic {
                eval(x, y, n) => shifts(x, y, n, |p, q, width| {
                    // Sign-extend from the element width, shift by at most width - 1.
                    let signed = ((p << (64 - width)) as i64) >> (64 - width);
                    (signed >> q.min(width - 1)) as u64
                }),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            Atan2 = "atan2", Floating -> Same, Expensive, vectorizes: lanes_always,
                lower: ops::atan2 {
                eval(x, y, n) => floats(
                    x, y, n, |p, q| (p as f64).atan2(q as f64) as f32, f64::atan2,
                ),
                jvp(x, y, xd, yd, _ans) => {
                    let r2 = || lax::add(&lax::square(x)?, &lax::square(y)?);
                    sum_terms([
                        xd.as_ref().map(|g| lax::mul(g, &lax::div(y, &r2()?)?)).transpose()?,
                        yd.as_ref()
                            .map(|g| lax::mul(g, &lax::div(&lax::neg(x)?, &r2()?)?))
                            .transpose()?,
                    ])?
                },
            }
            /// The remainder of truncated division (C's `fmod`; XLA's integer rules).
            Rem = "rem", Numeric -> Same, Cheap, vectorizes: lanes_for_floats, lower: ops::rem {
                eval(x, y, n) => numbers(
                    x, y, n, special::fmod_f32, special::fmod_f64, int_rem, uint_rem,
                ),
                jvp(x, y, xd, yd, _ans) => sum_terms([
                    xd.clone(),
                    yd.as_ref()
                        .map(|g| -> Result<Array> {
                            let q = lax::div(x, y)?;
                            lax::mul(
                                &lax::neg(g)?,
                                &lax::mul(&lax::sign(&q)?, &lax::floor(&lax::abs(&q)?)?)?,
                            )
                        })
                        .transpose()?,
                ])?,
            }
            /// The next float after `x` toward `y`.
            Nextafter = "nextafter", Floating -> Same, Cheap, vectorizes: lanes_always,
                lower: ops::nextafter {
                eval(x, y, n) => match (x, y) {
                    (Data::F16(a), Data::F16(b)) => Data::F16(zip(a, b, n, nextafter_f16)),
                    (Data::BF16(a), Data::BF16(b)) => Data::BF16(zip(a, b, n, nextafter_bf16)),
                    _ => floats(x, y, n, nextafter_f32, nextafter_f64),
                },
                jvp(_x, _y, _xd, _yd, _ans) => {
                    return Err(Error::type_err(
                        "Differentiation rule for 'nextafter' not implemented",
                    ))
                },
            }
            /// `polygamma(m, x)`: the m-th derivative of digamma (m a non-negative integer).
            Polygamma = "polygamma", Floating -> Same, Expensive, vectorizes: lanes_always,
                lower: ops::polygamma {
                eval(x, y, n) => floats(
                    x, y, n, special::polygamma_f32, special::polygamma_f64,
                ),
                jvp(x, y, xd, yd, _ans) => {
                    if xd.is_some() {
                        return Err(Error::value_err(
                            "polygamma gradient with respect to m is not supported",
                        ));
                    }
                    sum_terms([
                        None,
                        yd.as_ref()
                            .map(|g| -> Result<Array> {
                                let m1 = lax::add(x, &scalar_like(x, 1.0))?;
                                lax::mul(g, &lax::polygamma(&m1, y)?)
                            })
                            .transpose()?,
                    ])?
                },
            }
            Eq = "eq", Any -> Bool, Cheap, vectorizes: lanes_always, lower: ops::cmp_eq {
                eval(x, y, n) => compare(x, y, n, |p, q| p == q, |o| o == Equal),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            Ne = "ne", Any -> Bool, Cheap, vectorizes: lanes_always, lower: ops::cmp_ne {
                eval(x, y, n) => compare(x, y, n, |p, q| p != q, |o| o != Equal),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            Lt = "lt", Any -> Bool, Cheap, vectorizes: lanes_always, lower: ops::cmp_lt {
                eval(x, y, n) => compare(x, y, n, |p, q| p < q, |o| o == Less),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            Le = "le", Any -> Bool, Cheap, vectorizes: lanes_always, lower: ops::cmp_le {
                eval(x, y, n) => compare(x, y, n, |p, q| p <= q, |o| o != Greater),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            Gt = "gt", Any -> Bool, Cheap, vectorizes: lanes_always, lower: ops::cmp_gt {
                eval(x, y, n) => compare(x, y, n, |p, q| p > q, |o| o == Greater),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
            Ge = "ge", Any -> Bool, Cheap, vectorizes: lanes_always, lower: ops::cmp_ge {
                eval(x, y, n) => compare(x, y, n, |p, q| p >= q, |o| o != Less),
                jvp(_x, _y, _xd, _yd, _ans) => None,
            }
        }
    };
}
pub(crate) use binary_table;

/// The dtype of a binary op's result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Output {
    /// The operands' dtype.
    Same,
    /// Bool (comparisons).
    Bool,
}

/// The rows as the primitive's rules (the backend's columns are read by `backend::ops`).
macro_rules! define_binary_ops {
    (@or $default:expr;) => { $default };
    (@or $default:expr; $given:expr) => { $given };
    ($(
        $(#[$doc:meta])*
        $op:ident = $name:literal, $accepts:ident -> $output:ident, $cost:ident,
            vectorizes: $vectorizes:ident, lower: $lib:ident::$lower:ident {
            eval($ex:ident, $ey:ident, $n:ident) => $eval:expr,
            jvp($x:ident, $y:ident, $xd:ident, $yd:ident, $ans:ident) => $jvp:expr,
            $(transpose($ct:ident, $tx:ident, $ty:ident) => $transpose:expr,)?
        }
    )*) => {
        /// The elementwise primitives of two operands: one variant per row of `binary_table!`.
        #[derive(Clone, Debug, PartialEq)]
        pub enum BinaryOp {
            $( #[doc = concat!("`", $name, "`.")] $(#[$doc])* $op, )*
        }

        impl BinaryOp {
            /// Every op, in table order (the list the test suites iterate).
            pub const ALL: &'static [BinaryOp] = &[$(BinaryOp::$op),*];

            /// The name JAX prints.
            pub fn name(&self) -> &'static str {
                match self {
                    $(BinaryOp::$op => $name,)*
                }
            }

            /// The op JAX prints as `name` (binary ops print no parameters).
            pub fn from_name(name: &str) -> Option<BinaryOp> {
                match name {
                    $($name => Some(BinaryOp::$op),)*
                    _ => None,
                }
            }

            /// Which dtypes the operands may have.
            pub fn accepts(&self) -> Accepts {
                match self {
                    $(BinaryOp::$op => Accepts::$accepts,)*
                }
            }

            /// The result's dtype.
            pub fn output(&self) -> Output {
                match self {
                    $(BinaryOp::$op => Output::$output,)*
                }
            }

            /// Cheap to recompute, or worth storing when read more than once.
            pub fn cost(&self) -> Cost {
                match self {
                    $(BinaryOp::$op => Cost::$cost,)*
                }
            }

            /// Eager evaluation: `n` elements of `x op y`, operands of one dtype (rank-0
            /// operands broadcast).
            fn eval_data(&self, x: &Data, y: &Data, n: usize) -> Data {
                match self {
                    $(BinaryOp::$op => {
                        let ($ex, $ey, $n) = (x, y, n);
                        $eval
                    })*
                }
            }

            /// The tangent of `ans = x op y` (before broadcasting to `ans`'s shape).
            fn tangent(
                &self,
                x: &Array,
                y: &Array,
                xd: &Tangent,
                yd: &Tangent,
                ans: &Array,
            ) -> Result<Tangent> {
                Ok(match self {
                    $(BinaryOp::$op => {
                        let ($x, $y, $xd, $yd, $ans) = (x, y, xd, yd, ans);
                        $jvp
                    })*
                })
            }

            /// Transposes of the rows linear in an operand (`add`, `sub`; `mul` and `div` in
            /// their linear operand).
            ///
            /// # Errors
            /// A linear operand used non-linearly, or an error of a primitive the rule binds.
            pub fn transpose(&self, ct: &Tangent, x: &LinArg, y: &LinArg) -> Result<[Tangent; 2]> {
                let Some(ct) = ct else {
                    return Ok([None, None]);
                };
                match self {
                    $(BinaryOp::$op => define_binary_ops!(
                        @or Err(Error::type_err(format!(
                            "transpose of {} is not defined: it is not linear",
                            self.name()
                        )));
                        $({
                            let ($ct, $tx, $ty) = (ct, x, y);
                            $transpose
                        })?
                    ),)*
                }
            }
        }
    };
}

binary_table!(define_binary_ops);

impl BinaryOp {
    /// Whether the result is bool (`eq`, `lt`, ...).
    pub fn is_comparison(&self) -> bool {
        self.output() == Output::Bool
    }

    /// The output type (dtype and broadcast shape checks, JAX's wording).
    ///
    /// # Errors
    /// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
    pub fn abstract_eval(&self, x: &Aval, y: &Aval) -> Result<Aval> {
        let shape = broadcast_shapes(self.name(), &[x, y])?;
        if x.dtype != y.dtype {
            return Err(Error::DTypeMismatch {
                op: self.name().into(),
                dtypes: vec![x.dtype, y.dtype],
            });
        }
        let dt = x.dtype;
        if !self.accepts().admits(dt) {
            return Err(Error::UnsupportedDType {
                op: self.name().into(),
                dtype: dt,
                accepted: None,
            });
        }
        let (out_dtype, weak) = match self.output() {
            Output::Same => (dt, x.weak_type && y.weak_type),
            Output::Bool => (DType::Bool, false),
        };
        Ok(Aval::new(shape, out_dtype).weak(weak))
    }

    /// Evaluate on concrete arrays into an array of type `out`.
    ///
    /// # Errors
    /// As `abstract_eval`, for concrete operands.
    pub fn eval(&self, x: &Array, y: &Array, out: Aval) -> Result<Array> {
        let data = self.eval_data(x.data()?, y.data()?, out.size());
        Ok(Array::from_concrete(out, data))
    }

    /// JVP rules in JAX's forms: `mul` is `xdot*y + x*ydot` with symbolic-zero skipping and
    /// `add_any` combining the terms; `add` and `sub` combine with `add`/`sub`. A tangent of
    /// a broadcast (rank-0) operand is broadcast to the output's shape.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp(&self, x: &Array, y: &Array, xd: &Tangent, yd: &Tangent) -> Result<JvpOut> {
        let (ans, t) = self.jvp1(x, y, xd, yd)?;
        Ok((vec![ans], vec![t]))
    }

    /// [`BinaryOp::jvp`]'s one primal and tangent, without lists.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp1(
        &self,
        x: &Array,
        y: &Array,
        xd: &Tangent,
        yd: &Tangent,
    ) -> Result<(Array, Tangent)> {
        let ans = bind1(Prim::Binary(self.clone()), &[x.clone(), y.clone()])?;
        let t = match self.tangent(x, y, xd, yd, &ans)? {
            Some(t) if !same_shape(t.shape(), ans.shape()) => {
                Some(lax::broadcast_in_dim(&t, ans.shape(), &[])?)
            }
            t => t,
        };
        Ok((ans, t))
    }
}

/// `n` elements of `f(x[i], y[i])`, a rank-0 operand read at index 0 for every element.
fn zip<T: Copy, R>(x: &[T], y: &[T], n: usize, f: impl Fn(T, T) -> R) -> Buffer<R> {
    let ix = |i: usize| if x.len() == 1 { 0 } else { i };
    let iy = |i: usize| if y.len() == 1 { 0 } else { i };
    (0..n).map(|i| f(x[ix(i)], y[iy(i)])).collect()
}

fn mismatch(x: &Data, y: &Data) -> ! {
    unreachable!(
        "abstract_eval admits these dtypes, and checked that they agree: {:?} and {:?}",
        x.dtype(),
        y.dtype()
    )
}

/// A float-only op; f16 and bf16 are computed in f32 and rounded back.
fn floats(
    x: &Data,
    y: &Data,
    n: usize,
    f32_op: impl Fn(f32, f32) -> f32,
    f64_op: impl Fn(f64, f64) -> f64,
) -> Data {
    match (x, y) {
        (Data::F16(a), Data::F16(b)) => Data::F16(zip(a, b, n, |p, q| {
            f16::from_f32(f32_op(p.to_f32(), q.to_f32()))
        })),
        (Data::BF16(a), Data::BF16(b)) => Data::BF16(zip(a, b, n, |p, q| {
            bf16::from_f32(f32_op(p.to_f32(), q.to_f32()))
        })),
        (Data::F32(a), Data::F32(b)) => Data::F32(zip(a, b, n, f32_op)),
        (Data::F64(a), Data::F64(b)) => Data::F64(zip(a, b, n, f64_op)),
        _ => mismatch(x, y),
    }
}

/// An integer op, computed on the operands widened to i64 (signed dtypes) or u64 (unsigned)
/// and wrapped back to the element width (exact for the ring operations, and for division
/// and remainder, whose results fit). `None` for non-integer data.
fn integers(
    x: &Data,
    y: &Data,
    n: usize,
    i_op: impl Fn(i64, i64) -> i64,
    u_op: impl Fn(u64, u64) -> u64,
) -> Option<Data> {
    macro_rules! wrap {
        ($a:expr, $b:expr, $op:expr, $wide:ty, $variant:ident, $t:ty) => {
            Data::$variant(zip($a, $b, n, |p, q| $op(p as $wide, q as $wide) as $t))
        };
    }
    Some(match (x, y) {
        (Data::I8(a), Data::I8(b)) => wrap!(a, b, i_op, i64, I8, i8),
        (Data::I16(a), Data::I16(b)) => wrap!(a, b, i_op, i64, I16, i16),
        (Data::I32(a), Data::I32(b)) => wrap!(a, b, i_op, i64, I32, i32),
        (Data::I64(a), Data::I64(b)) => wrap!(a, b, i_op, i64, I64, i64),
        (Data::U8(a), Data::U8(b)) => wrap!(a, b, u_op, u64, U8, u8),
        (Data::U16(a), Data::U16(b)) => wrap!(a, b, u_op, u64, U16, u16),
        (Data::U32(a), Data::U32(b)) => wrap!(a, b, u_op, u64, U32, u32),
        (Data::U64(a), Data::U64(b)) => wrap!(a, b, u_op, u64, U64, u64),
        _ => return None,
    })
}

/// A shift: `op(bits, amount, width)` on the value's two's complement bits zero-extended to
/// 64, with the amount read as unsigned (a negative amount is out of range, as in XLA), and
/// `width` the dtype's width.
fn shifts(x: &Data, y: &Data, n: usize, op: impl Fn(u64, u64, u64) -> u64) -> Data {
    let width = x.dtype().bits() as u64;
    let mask = u64::MAX >> (64 - width);
    let on_bits = |p: u64, q: u64| op(p & mask, q & mask, width);
    integers(x, y, n, |p, q| on_bits(p as u64, q as u64) as i64, on_bits)
        .unwrap_or_else(|| mismatch(x, y))
}

/// A numeric (not bool) op.
fn numbers(
    x: &Data,
    y: &Data,
    n: usize,
    f32_op: impl Fn(f32, f32) -> f32,
    f64_op: impl Fn(f64, f64) -> f64,
    i_op: impl Fn(i64, i64) -> i64,
    u_op: impl Fn(u64, u64) -> u64,
) -> Data {
    integers(x, y, n, i_op, u_op).unwrap_or_else(|| floats(x, y, n, f32_op, f64_op))
}

/// A numeric op that also takes bools (max and min: or and and).
#[allow(clippy::too_many_arguments)]
fn numbers_and_bools(
    x: &Data,
    y: &Data,
    n: usize,
    f32_op: impl Fn(f32, f32) -> f32,
    f64_op: impl Fn(f64, f64) -> f64,
    i_op: impl Fn(i64, i64) -> i64,
    u_op: impl Fn(u64, u64) -> u64,
    bool_op: impl Fn(bool, bool) -> bool,
) -> Data {
    match (x, y) {
        (Data::Bool(a), Data::Bool(b)) => Data::Bool(zip(a, b, n, bool_op)),
        _ => numbers(x, y, n, f32_op, f64_op, i_op, u_op),
    }
}

/// A bitwise op on integers or bools.
fn bitwise(
    x: &Data,
    y: &Data,
    n: usize,
    i_op: impl Fn(i64, i64) -> i64,
    u_op: impl Fn(u64, u64) -> u64,
    bool_op: impl Fn(bool, bool) -> bool,
) -> Data {
    match (x, y) {
        (Data::Bool(a), Data::Bool(b)) => Data::Bool(zip(a, b, n, bool_op)),
        _ => integers(x, y, n, i_op, u_op).unwrap_or_else(|| mismatch(x, y)),
    }
}

/// A comparison: floats compared as f64, integers and bools by their order.
fn compare(
    x: &Data,
    y: &Data,
    n: usize,
    float_op: impl Fn(f64, f64) -> bool,
    order_op: impl Fn(Ordering) -> bool,
) -> Data {
    match (x, y) {
        (Data::F32(a), Data::F32(b)) => {
            return Data::Bool(zip(a, b, n, |p, q| float_op(p as f64, q as f64)))
        }
        (Data::F64(a), Data::F64(b)) => return Data::Bool(zip(a, b, n, float_op)),
        (Data::I32(a), Data::I32(b)) => {
            return Data::Bool(zip(a, b, n, |p, q| order_op(p.cmp(&q))))
        }
        _ if x.dtype() != y.dtype() => mismatch(x, y),
        _ => {}
    }
    // The other dtypes, through scalars.
    let (sx, sy) = (x.len() == 1, y.len() == 1);
    let at = |d: &Data, scalar: bool, i: usize| d.get(if scalar { 0 } else { i });
    Data::Bool(
        (0..n)
            .map(|i| {
                let (p, q) = (at(x, sx, i), at(y, sy, i));
                if x.dtype().is_float() {
                    float_op(p.to_f64(), q.to_f64())
                } else {
                    order_op(p.to_i128().cmp(&q.to_i128()))
                }
            })
            .collect(),
    )
}

/// XLA's signed integer division: `x / 0` is -1, `MIN / -1` is `MIN` (wrapping).
fn int_div(p: i64, q: i64) -> i64 {
    if q == 0 {
        -1
    } else {
        p.wrapping_div(q)
    }
}

/// XLA's signed integer remainder: `x rem 0` is `x`, `MIN rem -1` is 0.
fn int_rem(p: i64, q: i64) -> i64 {
    if q == 0 {
        p
    } else {
        p.wrapping_rem(q)
    }
}

/// XLA's unsigned remainder: `x rem 0` is `x`.
fn uint_rem(p: u64, q: u64) -> u64 {
    p.checked_rem(q).unwrap_or(p)
}

/// XLA's unsigned division: `x / 0` is all ones.
fn uint_div(p: u64, q: u64) -> u64 {
    p.checked_div(q).unwrap_or(u64::MAX)
}

/// C's `nextafter`: NaN if either is NaN, `y` if equal, else one step of the bit pattern
/// (from a zero, the smallest subnormal with `y`'s sign).
fn nextafter_bits(x: f64, y: f64, bits: u64, sign: u64, to_float: impl Fn(u64) -> f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        x + y
    } else if x == y {
        y
    } else if x == 0.0 {
        to_float(if y < 0.0 { sign | 1 } else { 1 })
    } else if (x < y) == (x > 0.0) {
        to_float(bits + 1)
    } else {
        to_float(bits - 1)
    }
}

/// `nextafter` of f32s (the next representable value from `x` toward `y`).
pub fn nextafter_f32(x: f32, y: f32) -> f32 {
    let to_float = |b: u64| f32::from_bits(b as u32) as f64;
    let (xd, yd) = (x as f64, y as f64);
    nextafter_bits(xd, yd, x.to_bits() as u64, 1 << 31, to_float) as f32
}

/// `nextafter` of f16s (one step of the 16-bit pattern, not of f32's).
pub fn nextafter_f16(x: f16, y: f16) -> f16 {
    let to_float = |b: u64| f16::from_bits(b as u16).to_f64();
    let v = nextafter_bits(
        x.to_f64(),
        y.to_f64(),
        x.to_bits() as u64,
        1 << 15,
        to_float,
    );
    f16::from_f64(v)
}

/// `nextafter` of bf16s (one step of the 16-bit pattern).
pub fn nextafter_bf16(x: bf16, y: bf16) -> bf16 {
    let to_float = |b: u64| bf16::from_bits(b as u16).to_f64();
    let v = nextafter_bits(
        x.to_f64(),
        y.to_f64(),
        x.to_bits() as u64,
        1 << 15,
        to_float,
    );
    bf16::from_f64(v)
}

/// `nextafter` of f64s (the next representable value from `x` toward `y`).
pub fn nextafter_f64(x: f64, y: f64) -> f64 {
    nextafter_bits(x, y, x.to_bits(), 1 << 63, f64::from_bits)
}

/// JVP of `add`, `add_any`, `sub`: a tangent alone (negated on `sub`'s right), or both
/// combined by the op itself.
fn sum_jvp(
    xd: &Tangent,
    yd: &Tangent,
    negate_y: bool,
    combine: fn(&Array, &Array) -> Result<Array>,
) -> Result<Tangent> {
    Ok(match (xd, yd) {
        (None, None) => None,
        (Some(a), None) => Some(a.clone()),
        (None, Some(b)) if negate_y => Some(lax::neg(b)?),
        (None, Some(b)) => Some(b.clone()),
        (Some(a), Some(b)) => Some(combine(a, b)?),
    })
}

/// JAX's `pow` JVP: `y x^(y-1)` (0 where y == 0) and `log(x) x^y` (log(0) replaced by log(1)).
fn pow_jvp(x: &Array, y: &Array, xd: &Tangent, yd: &Tangent, ans: &Array) -> Result<Tangent> {
    let one = scalar_like(y, 1.0);
    let zero = scalar_like(y, 0.0);
    sum_terms([
        xd.as_ref()
            .map(|g| -> Result<Array> {
                // d/dx x^y = y * x^(y-1), and 0 where y == 0.
                let jac = lax::mul(&replace_zero(y)?, &lax::pow(x, &lax::sub(y, &one)?)?)?;
                let jac = lax::select(&lax::eq(y, &zero)?, &lax::zeros(jac.aval())?, &jac)?;
                lax::mul(g, &jac)
            })
            .transpose()?,
        yd.as_ref()
            .map(|g| -> Result<Array> {
                // d/dy x^y = log(x) * x^y, with log(0) replaced by log(1).
                lax::mul(g, &lax::mul(&lax::log(&replace_zero(x)?)?, ans)?)
            })
            .transpose()?,
    ])
}

/// JAX's `max`/`min` JVP: each tangent weighted by `_balanced_eq` (ties split the tangent).
fn max_min_jvp(x: &Array, y: &Array, xd: &Tangent, yd: &Tangent, ans: &Array) -> Result<Tangent> {
    sum_terms([
        xd.as_ref()
            .map(|g| lax::mul(g, &balanced_eq(x, ans, y)?))
            .transpose()?,
        yd.as_ref()
            .map(|g| lax::mul(g, &balanced_eq(y, ans, x)?))
            .transpose()?,
    ])
}

/// A cotangent for a linear operand (unbroadcast to its shape); none for a known one.
fn for_linear(arg: &LinArg, v: Result<Array>) -> Result<Tangent> {
    if arg.is_linear() {
        Ok(Some(unbroadcast(arg.aval(), &v?)?))
    } else {
        Ok(None)
    }
}

/// Transpose of `add`, `add_any`, `sub`: the cotangent to each linear operand (negated on
/// `sub`'s right).
fn sum_transpose(ct: &Array, x: &LinArg, y: &LinArg, negate_y: bool) -> Result<[Tangent; 2]> {
    Ok([
        for_linear(x, Ok(ct.clone()))?,
        if !negate_y {
            for_linear(y, Ok(ct.clone()))?
        } else if y.is_linear() {
            for_linear(y, lax::neg(ct))?
        } else {
            None
        },
    ])
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
///
/// # Errors
/// An error of the `add_any` it binds.
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
///
/// # Errors
/// Shapes that do not broadcast (JAX's wording).
pub fn broadcast_shapes(name: &str, avals: &[&Aval]) -> Result<Vec<usize>> {
    let mut shape: Option<&[usize]> = None;
    for a in avals {
        if a.shape.is_empty() {
            continue;
        }
        match shape {
            None => shape = Some(&a.shape),
            Some(s) if same_shape(s, &a.shape) => {}
            Some(_) => {
                let shapes = avals.iter().map(|a| a.shape.as_slice());
                return Err(Error::incompatible_shapes(name, shapes));
            }
        }
    }
    Ok(shape.map(|s| s.to_vec()).unwrap_or_default())
}
