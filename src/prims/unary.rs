//! Elementwise primitives of one operand: the table of their rules. JVP forms follow JAX's
//! `jax/_src/lax/lax.py` (`defjvp`/`defjvp2` rows), so jaxprs print as JAX's do.
//!
//! `unary_table!` holds one row per primitive (as JAX's `standard_unop` plus its `defjvp`, or
//! candle's `unary_op!` rows), and everything else is generated from it: here the enum, its
//! JAX name and printed params, the dtypes it accepts, its output type, eager evaluation, JVP,
//! transpose (for the linear rows) and cost class; in `backend::ops` its vectorisability and
//! lowering. A row reads
//!
//! ```text
//! /// doc
//! Variant { params } = "jax_name", Dtypes, Cost, vectorizes: ops_fn, lower: math::Fn | ops::fn {
//!     abstract_eval(x) => ...,   // optional: the output type (default: that of x)
//!     params => ...,             // optional: the printed params (default: none)
//!     eval(data) => ...,         // eager evaluation on the operand's data
//!     jvp(g, x, ans) => ...,     // the tangent (`None`: a symbolic zero)
//!     transpose(ct, x) => ...,   // only for linear rows
//! }
//! ```
//!
//! where `Dtypes` is an [`Accepts`] class, `Cost` a [`Cost`] class, `vectorizes:` names the
//! function of `backend::ops` that says whether a vector of the op can be emitted, and
//! `lower:` names the `backend::math` function (a `MathFn`, for the ops Cranelift has no
//! instruction for) or the `backend::ops` function that emits it.

use super::{BatchOut, JvpOut, LinArg, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::dtype::DType;
use crate::ir::pretty::Param;
use crate::lax::{self, scalar_like};

/// The table: one row per elementwise unary primitive (see the module doc for the columns).
/// `$then` is the macro that turns the rows into code: `define_unary_ops` below, and
/// `unary_lowerings` in `backend::ops`.
macro_rules! unary_table {
    ($then:ident) => {
        $then! {
            Neg = "neg", Numeric, Cheap, vectorizes: always, lower: ops::neg {
                eval(d) => numbers(d, |x| -x, |x| -x, i32::wrapping_neg, u32::wrapping_neg),
                jvp(g, _x, _ans) => Some(lax::neg(g)?),
                transpose(ct, _x) => Some(lax::neg(ct)?),
            }
            Exp = "exp", Floating, Expensive, vectorizes: always, lower: math::Exp {
                eval(d) => floats(d, f32::exp, f64::exp),
                jvp(g, _x, ans) => Some(lax::mul(g, ans)?),
            }
            Log = "log", Floating, Expensive, vectorizes: always, lower: math::Log {
                eval(d) => floats(d, f32::ln, f64::ln),
                jvp(g, x, _ans) => Some(lax::div(g, x)?),
            }
            Log1p = "log1p", Floating, Expensive, vectorizes: always, lower: math::Log1p {
                eval(d) => floats(d, f32::ln_1p, f64::ln_1p),
                jvp(g, x, _ans) => Some(lax::div(g, &lax::add(x, &scalar_like(x, 1.0))?)?),
            }
            Expm1 = "expm1", Floating, Expensive, vectorizes: always, lower: math::Expm1 {
                eval(d) => floats(d, f32::exp_m1, f64::exp_m1),
                jvp(g, _x, ans) => Some(lax::mul(g, &lax::add(ans, &scalar_like(ans, 1.0))?)?),
            }
            Sin = "sin", Floating, Expensive, vectorizes: always, lower: math::Sin {
                eval(d) => floats(d, f32::sin, f64::sin),
                jvp(g, x, _ans) => Some(lax::mul(g, &lax::cos(x)?)?),
            }
            Cos = "cos", Floating, Expensive, vectorizes: always, lower: math::Cos {
                eval(d) => floats(d, f32::cos, f64::cos),
                jvp(g, x, _ans) => Some(lax::neg(&lax::mul(g, &lax::sin(x)?)?)?),
            }
            Tanh = "tanh", Floating, Expensive, vectorizes: always, lower: math::Tanh {
                eval(d) => floats(d, f32::tanh, f64::tanh),
                jvp(g, x, ans) => Some(lax::mul(
                    &lax::add(g, &lax::mul(g, ans)?)?,
                    &lax::sub(&scalar_like(x, 1.0), ans)?,
                )?),
            }
            Logistic = "logistic", Floating, Expensive, vectorizes: always, lower: math::Logistic {
                eval(d) => floats(d, |x| logistic_f64(x as f64) as f32, logistic_f64),
                jvp(g, _x, ans) => Some(lax::mul(
                    g,
                    &lax::mul(ans, &lax::sub(&scalar_like(ans, 1.0), ans)?)?,
                )?),
            }
            Sqrt = "sqrt", Floating, Cheap, vectorizes: always, lower: ops::sqrt {
                eval(d) => floats(d, f32::sqrt, f64::sqrt),
                jvp(g, x, ans) => Some(lax::mul(g, &lax::div(&scalar_like(x, 0.5), ans)?)?),
            }
            Rsqrt = "rsqrt", Floating, Cheap, vectorizes: always, lower: ops::rsqrt {
                eval(d) => floats(d, |x| (1.0 / (x as f64).sqrt()) as f32, |x| 1.0 / x.sqrt()),
                jvp(g, x, ans) => Some(lax::mul(
                    g,
                    &lax::mul(&scalar_like(x, -0.5), &lax::div(ans, x)?)?,
                )?),
            }
            Abs = "abs", Numeric, Cheap, vectorizes: always, lower: ops::abs {
                eval(d) => numbers(d, f32::abs, f64::abs, i32::wrapping_abs, |x| x),
                jvp(g, x, _ans) => Some(lax::select(
                    &lax::ge(x, &scalar_like(x, 0.0))?,
                    g,
                    &lax::neg(g)?,
                )?),
            }
            Sign = "sign", Numeric, Cheap, vectorizes: always, lower: ops::sign {
                eval(d) => numbers(
                    d,
                    |x| sign_f64(x as f64) as f32,
                    sign_f64,
                    i32::signum,
                    |x| (x != 0) as u32,
                ),
                jvp(_g, _x, _ans) => None,
            }
            Square = "square", Numeric, Cheap, vectorizes: always, lower: ops::square {
                eval(d) => numbers(
                    d,
                    |x| x * x,
                    |x| x * x,
                    |x| x.wrapping_mul(x),
                    |x| x.wrapping_mul(x),
                ),
                jvp(g, x, _ans) => Some(lax::mul(g, &lax::mul(&scalar_like(x, 2.0), x)?)?),
            }
            ErfInv = "erf_inv", Floating, Expensive, vectorizes: always, lower: math::ErfInv {
                eval(d) => floats(d, erf_inv_f32, erf_inv_f64),
                jvp(g, x, ans) => Some(lax::mul(
                    &scalar_like(x, std::f64::consts::PI.sqrt() / 2.0),
                    &lax::mul(g, &lax::exp(&lax::square(ans)?)?)?,
                )?),
            }
            /// `x ** y` for a constant integer `y`.
            IntegerPow { y: i32 } = "integer_pow", Numeric, Cheap, vectorizes: always,
                lower: ops::integer_pow {
                abstract_eval(x) => if *y < 0 && !x.dtype.is_float() {
                    Err(Error::type_err(format!(
                        "integer_pow with a negative exponent {y} needs a floating dtype, got {}",
                        x.dtype.numpy_name()
                    )))
                } else {
                    Ok(x.clone())
                },
                params => vec![("y", Param::Text(y.to_string()))],
                eval(d) => numbers(
                    d,
                    |x| integer_pow_f32(x, *y),
                    |x| integer_pow_f64(x, *y),
                    |x| (0..*y).fold(1i32, |acc, _| acc.wrapping_mul(x)),
                    |x| (0..*y).fold(1u32, |acc, _| acc.wrapping_mul(x)),
                ),
                jvp(g, x, _ans) => if *y == 0 {
                    None
                } else {
                    Some(lax::mul(
                        g,
                        &lax::mul(&scalar_like(x, *y as f64), &lax::integer_pow(x, y - 1)?)?,
                    )?)
                },
            }
            /// Logical not for bool, bitwise not for integers.
            Not = "not", IntegerOrBool, Cheap, vectorizes: always, lower: ops::not {
                eval(d) => integers_and_bools(d, |x: i32| !x, |x: u32| !x, |x: bool| !x),
                jvp(_g, _x, _ans) => None,
            }
            /// The identity with a zero derivative.
            StopGradient = "stop_gradient", Any, Cheap, vectorizes: always, lower: ops::identity {
                eval(d) => d.clone(),
                jvp(_g, _x, _ans) => None,
            }
            ConvertElementType { new_dtype: DType, weak_type: bool } = "convert_element_type",
                Any, Cheap, vectorizes: convertible_in_lanes, lower: ops::convert {
                abstract_eval(x) => Ok(Aval::new(x.shape.clone(), *new_dtype).weak(*weak_type)),
                params => vec![
                    ("new_dtype", Param::Text(new_dtype.numpy_name().into())),
                    (
                        "weak_type",
                        Param::Text(if *weak_type { "True" } else { "False" }.into()),
                    ),
                ],
                eval(d) => convert_data(d, *new_dtype),
                jvp(g, x, _ans) => if new_dtype.is_float() && x.dtype().is_float() {
                    Some(lax::convert_element_type(g, *new_dtype)?)
                } else {
                    None
                },
                transpose(ct, x) => Some(lax::convert_element_type(ct, x.aval().dtype)?),
            }
            /// Reinterpret the bits (same width): `u32 <-> f32 <-> i32`.
            BitcastConvertType { new_dtype: DType } = "bitcast_convert_type", Any, Cheap,
                vectorizes: always, lower: ops::bitcast {
                abstract_eval(x) => if new_dtype.size_bytes() != x.dtype.size_bytes()
                    || *new_dtype == DType::Bool
                    || x.dtype == DType::Bool
                {
                    Err(Error::type_err(format!(
                        "bitcast_convert_type from {} to {} needs two non-bool types of the same width",
                        x.dtype.numpy_name(),
                        new_dtype.numpy_name()
                    )))
                } else {
                    Ok(Aval::new(x.shape.clone(), *new_dtype))
                },
                params => vec![("new_dtype", Param::Text(new_dtype.numpy_name().into()))],
                eval(d) => bitcast_data(d, *new_dtype),
                jvp(_g, _x, _ans) => None,
            }
        }
    };
}
pub(crate) use unary_table;

/// Which dtypes an elementwise op accepts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Accepts {
    Floating,
    /// Anything but bool.
    Numeric,
    Integer,
    IntegerOrBool,
    Any,
}

impl Accepts {
    pub fn admits(self, dtype: DType) -> bool {
        match self {
            Accepts::Floating => dtype.is_float(),
            Accepts::Numeric => dtype != DType::Bool,
            Accepts::Integer => dtype.is_int(),
            Accepts::IntegerOrBool => !dtype.is_float(),
            Accepts::Any => true,
        }
    }
}

/// What an op costs, for the fusion planner: an expensive node read more than once is
/// computed once and stored rather than recomputed inline in each reader.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cost {
    Cheap,
    Expensive,
}

/// The rows as the primitive's rules (the backend's columns are read by `backend::ops`).
macro_rules! define_unary_ops {
    (@or $default:expr;) => { $default };
    (@or $default:expr; $given:expr) => { $given };
    (@unit $op:ident) => { Some(UnaryOp::$op) };
    (@unit $op:ident { $($fields:tt)* }) => { None };
    ($(
        $(#[$doc:meta])*
        $op:ident $({ $($field:ident: $fty:ty),* })? = $name:literal, $accepts:ident, $cost:ident,
            vectorizes: $vectorizes:ident, lower: $lib:ident::$lower:ident {
            $(abstract_eval($ax:ident) => $abstract_eval:expr,)?
            $(params => $params:expr,)?
            eval($d:ident) => $eval:expr,
            jvp($g:ident, $x:ident, $ans:ident) => $jvp:expr,
            $(transpose($ct:ident, $tx:ident) => $transpose:expr,)?
        }
    )*) => {
        #[derive(Clone, Debug, PartialEq)]
        pub enum UnaryOp {
            $( $(#[$doc])* $op $({ $($field: $fty),* })?, )*
        }

        #[allow(unused_variables)]
        impl UnaryOp {
            /// Every op without parameters, in table order (the list the test suites iterate).
            pub fn without_params() -> Vec<UnaryOp> {
                [$(define_unary_ops!(@unit $op $({ $($field)* })?)),*]
                    .into_iter()
                    .flatten()
                    .collect()
            }

            /// The name JAX prints.
            pub fn name(&self) -> &'static str {
                match self {
                    $(UnaryOp::$op { .. } => $name,)*
                }
            }

            /// Parameters as printed in a jaxpr.
            pub fn params(&self) -> Vec<(&'static str, Param)> {
                match self {
                    $(UnaryOp::$op $({ $($field),* })? => {
                        define_unary_ops!(@or vec![]; $($params)?)
                    })*
                }
            }

            /// Which dtypes the op accepts.
            pub fn accepts(&self) -> Accepts {
                match self {
                    $(UnaryOp::$op { .. } => Accepts::$accepts,)*
                }
            }

            /// Cheap to recompute, or worth storing when read more than once.
            pub fn cost(&self) -> Cost {
                match self {
                    $(UnaryOp::$op { .. } => Cost::$cost,)*
                }
            }

            /// The output type of an operand whose dtype the op accepts.
            fn output_type(&self, x: &Aval) -> Result<Aval> {
                match self {
                    $(UnaryOp::$op $({ $($field),* })? => define_unary_ops!(
                        @or Ok(x.clone()); $({ let $ax = x; $abstract_eval })?
                    ),)*
                }
            }

            /// Eager evaluation on the operand's data.
            fn eval_data(&self, data: &Data) -> Data {
                match self {
                    $(UnaryOp::$op $({ $($field),* })? => {
                        let $d = data;
                        $eval
                    })*
                }
            }

            /// The tangent of `ans = op(x)` for the (nonzero) tangent `g` of `x`.
            fn tangent(&self, g: &Array, x: &Array, ans: &Array) -> Result<Tangent> {
                Ok(match self {
                    $(UnaryOp::$op $({ $($field),* })? => {
                        let ($g, $x, $ans) = (g, x, ans);
                        $jvp
                    })*
                })
            }

            /// Transposes of the linear rows (`neg` and float-to-float `convert_element_type`).
            pub fn transpose(&self, ct: &Tangent, x: &LinArg) -> Result<Tangent> {
                let Some(ct) = ct else { return Ok(None) };
                match self {
                    $(UnaryOp::$op $({ $($field),* })? => define_unary_ops!(
                        @or Err(Error::type_err(format!(
                            "transpose of {} is not defined: it is not linear",
                            self.name()
                        )));
                        $({
                            let ($ct, $tx) = (ct, x);
                            Ok($transpose)
                        })?
                    ),)*
                }
            }
        }
    };
}

unary_table!(define_unary_ops);

impl UnaryOp {
    pub fn abstract_eval(&self, x: &Aval) -> Result<Aval> {
        if !self.accepts().admits(x.dtype) {
            let kind = match self.accepts() {
                Accepts::Floating => "floating",
                Accepts::Numeric => "numeric (not bool)",
                Accepts::Integer => "integer",
                Accepts::IntegerOrBool | Accepts::Any => "integer or bool",
            };
            return Err(Error::type_err(format!(
                "{} does not accept dtype {}. Accepted dtypes are {kind}.",
                self.name(),
                x.dtype.numpy_name()
            )));
        }
        self.output_type(x)
    }

    pub fn eval(&self, x: &Array, out: Aval) -> Result<Array> {
        Ok(Array::from_concrete(out, self.eval_data(x.data()?)))
    }

    /// JVP rules, as JAX writes them (`g` the tangent, `ans` the primal output).
    pub fn jvp(&self, x: &Array, g: &Tangent) -> Result<JvpOut> {
        let ans = lax_unary(self, x)?;
        let Some(g) = g else {
            return Ok((vec![ans], vec![None]));
        };
        let t = self.tangent(g, x, &ans)?;
        Ok((vec![ans], vec![t]))
    }

    /// Elementwise: the batch dimension stays where it is.
    pub fn batch(&self, x: &Array, d: Option<usize>) -> Result<BatchOut> {
        Ok((vec![lax_unary(self, x)?], vec![d]))
    }
}

fn lax_unary(op: &UnaryOp, x: &Array) -> Result<Array> {
    crate::core::trace::bind1(super::Prim::Unary(op.clone()), std::slice::from_ref(x))
}

/// A float-only op on float data (the dtype check admits nothing else).
fn floats(d: &Data, f32_op: impl Fn(f32) -> f32, f64_op: impl Fn(f64) -> f64) -> Data {
    match d {
        Data::F32(v) => Data::F32(v.iter().map(|&a| f32_op(a)).collect()),
        Data::F64(v) => Data::F64(v.iter().map(|&a| f64_op(a)).collect()),
        Data::I32(_) | Data::U32(_) | Data::Bool(_) => {
            unreachable!("a float-only op on integers or bools")
        }
    }
}

/// A numeric op on float or integer data.
fn numbers(
    d: &Data,
    f32_op: impl Fn(f32) -> f32,
    f64_op: impl Fn(f64) -> f64,
    i32_op: impl Fn(i32) -> i32,
    u32_op: impl Fn(u32) -> u32,
) -> Data {
    match d {
        Data::I32(v) => Data::I32(v.iter().map(|&a| i32_op(a)).collect()),
        Data::U32(v) => Data::U32(v.iter().map(|&a| u32_op(a)).collect()),
        Data::Bool(_) => unreachable!("a numeric op on bools"),
        Data::F32(_) | Data::F64(_) => floats(d, f32_op, f64_op),
    }
}

/// An integer-or-bool op.
fn integers_and_bools(
    d: &Data,
    i32_op: impl Fn(i32) -> i32,
    u32_op: impl Fn(u32) -> u32,
    bool_op: impl Fn(bool) -> bool,
) -> Data {
    match d {
        Data::I32(v) => Data::I32(v.iter().map(|&a| i32_op(a)).collect()),
        Data::U32(v) => Data::U32(v.iter().map(|&a| u32_op(a)).collect()),
        Data::Bool(v) => Data::Bool(v.iter().map(|&a| bool_op(a)).collect()),
        Data::F32(_) | Data::F64(_) => unreachable!("an integer-or-bool op on floats"),
    }
}

/// `1 / (1 + exp(-x))`, stable at both ends.
pub fn logistic_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `sign`: -1, 0 (keeping the sign of zero), 1, or NaN.
pub fn sign_f64(x: f64) -> f64 {
    if x.is_nan() || x == 0.0 {
        x
    } else {
        x.signum()
    }
}

fn integer_pow_f32(x: f32, y: i32) -> f32 {
    let mut acc = 1.0f32;
    let mut base = x;
    let mut n = y.unsigned_abs();
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    if y < 0 {
        1.0 / acc
    } else {
        acc
    }
}

fn integer_pow_f64(x: f64, y: i32) -> f64 {
    let mut acc = 1.0f64;
    let mut base = x;
    let mut n = y.unsigned_abs();
    while n > 0 {
        if n & 1 == 1 {
            acc *= base;
        }
        base *= base;
        n >>= 1;
    }
    if y < 0 {
        1.0 / acc
    } else {
        acc
    }
}

/// Giles' single-precision inverse error function, every step in f32, as XLA's `ErfInv32`
/// (the random normals depend on it bit for bit).
pub fn erf_inv_f32(x: f32) -> f32 {
    if x.abs() == 1.0 {
        return x * f32::INFINITY;
    }
    let mut w = -(-x * x).ln_1p();
    let p = if w < 5.0 {
        w -= 2.5;
        horner_f32(w, &ERF_INV_F32_CENTRAL)
    } else {
        w = w.sqrt() - 3.0;
        horner_f32(w, &ERF_INV_F32_TAIL)
    };
    p * x
}

/// Giles' single-precision coefficients for `w < 5` (Horner order, highest first).
pub const ERF_INV_F32_CENTRAL: [f32; 9] = [
    2.810_226_4e-8,
    3.432_739_4e-7,
    -3.523_387_7e-6,
    -4.391_506_5e-6,
    0.000_218_580_87,
    -0.001_253_725,
    -0.004_177_681_6,
    0.246_640_73,
    1.501_409_4,
];

/// Giles' single-precision coefficients for `w >= 5`.
pub const ERF_INV_F32_TAIL: [f32; 9] = [
    -0.000_200_214_26,
    0.000_100_950_56,
    0.001_349_343_2,
    -0.003_673_428_4,
    0.005_739_507_7,
    -0.007_622_461,
    0.009_438_870_5,
    1.001_674,
    2.832_976_8,
];

/// Giles' double-precision coefficients for `w < 6.25`.
pub const ERF_INV_F64_CENTRAL: [f64; 23] = [
    -3.644_412_064_017_82e-21,
    -1.685_059_138_182_016_6e-19,
    1.285_848_071_525_64e-18,
    1.115_787_767_802_518_1e-17,
    -1.333_171_662_854_621e-16,
    2.097_276_787_596_856_2e-17,
    6.637_638_134_358_324e-15,
    -4.054_566_272_975_207e-14,
    -8.151_934_197_605_472e-14,
    2.633_509_315_308_232_3e-12,
    -1.297_513_325_345_353_2e-11,
    -5.415_412_054_294_628e-11,
    1.051_212_273_321_532_3e-9,
    -4.112_633_980_346_984e-9,
    -2.907_036_995_788_200_5e-8,
    4.234_787_782_793_240_4e-7,
    -1.365_469_200_083_467_9e-6,
    -1.388_252_336_278_646_9e-5,
    0.000_186_734_208_034_057_13,
    -0.000_740_702_534_166_267,
    -0.006_033_670_871_430_149,
    0.240_158_182_425_589_62,
    1.653_654_562_683_102_7,
];

/// Giles' double-precision coefficients for `6.25 <= w < 16`.
pub const ERF_INV_F64_MIDDLE: [f64; 19] = [
    2.213_737_692_177_578_7e-9,
    9.075_656_193_888_539e-8,
    -2.751_740_629_706_454_5e-7,
    1.823_962_921_438_922_8e-8,
    1.502_740_396_890_982_8e-6,
    -4.013_867_526_981_546e-6,
    2.923_444_908_995_544_6e-6,
    1.247_530_448_167_177_9e-5,
    -4.731_822_900_905_573_4e-5,
    6.828_485_145_957_318e-5,
    2.403_111_038_709_789_4e-5,
    -0.000_355_037_520_362_847_5,
    0.000_953_289_379_737_380_5,
    -0.001_688_275_556_023_504_7,
    0.002_491_442_096_107_851,
    -0.003_751_208_507_569_241,
    0.005_370_914_553_590_064,
    1.005_258_967_694_159_2,
    3.083_885_610_492_220_8,
];

/// Giles' double-precision coefficients for `w >= 16`.
pub const ERF_INV_F64_TAIL: [f64; 17] = [
    -2.710_992_061_643_857_3e-11,
    -2.555_641_816_996_525e-10,
    1.507_657_269_350_054_8e-9,
    -3.789_465_440_126_737e-9,
    7.615_701_208_078_34e-9,
    -1.496_002_662_714_924e-8,
    2.914_795_345_090_108e-8,
    -6.771_199_775_845_234e-8,
    2.290_048_222_802_665_5e-7,
    -9.929_827_294_231_7e-7,
    4.526_062_597_223_154e-6,
    -1.968_177_810_553_167e-5,
    7.599_527_703_001_776e-5,
    -0.000_215_030_119_300_444_77,
    -0.000_138_719_318_336_231_22,
    1.010_300_464_864_534_4,
    4.849_906_401_408_584,
];

fn horner_f32(w: f32, coeffs: &[f32]) -> f32 {
    coeffs[1..].iter().fold(coeffs[0], |p, &c| c + p * w)
}

fn horner_f64(w: f64, coeffs: &[f64]) -> f64 {
    coeffs[1..].iter().fold(coeffs[0], |p, &c| c + p * w)
}

/// Giles' double-precision inverse error function (three ranges), as XLA's `ErfInv64`.
pub fn erf_inv_f64(x: f64) -> f64 {
    if x.abs() == 1.0 {
        return x * f64::INFINITY;
    }
    let w = -(-x * x).ln_1p();
    let p = if w < 6.25 {
        horner_f64(w - 3.125, &ERF_INV_F64_CENTRAL)
    } else if w < 16.0 {
        horner_f64(w.sqrt() - 3.25, &ERF_INV_F64_MIDDLE)
    } else {
        horner_f64(w.sqrt() - 5.0, &ERF_INV_F64_TAIL)
    };
    p * x
}

/// `convert_element_type` on data: floats to ints truncate toward zero and saturate, NaN is 0.
pub fn convert_data(d: &Data, to: DType) -> Data {
    macro_rules! conv {
        ($v:expr) => {
            match to {
                DType::F32 => Data::F32($v.iter().map(|&a| a as f32).collect()),
                DType::F64 => Data::F64($v.iter().map(|&a| a as f64).collect()),
                DType::I32 => Data::I32($v.iter().map(|&a| a as i32).collect()),
                DType::U32 => Data::U32($v.iter().map(|&a| a as u32).collect()),
                DType::Bool => Data::Bool($v.iter().map(|&a| a as f64 != 0.0).collect()),
            }
        };
    }
    match d {
        Data::F32(v) => conv!(v),
        Data::F64(v) => conv!(v),
        Data::I32(v) => conv!(v),
        Data::U32(v) => conv!(v),
        Data::Bool(v) => {
            let as_u8: Vec<u8> = v.iter().map(|&b| b as u8).collect();
            conv!(as_u8)
        }
    }
}

fn bitcast_data(d: &Data, to: DType) -> Data {
    let bits: Vec<u64> = match d {
        Data::F32(v) => v.iter().map(|a| a.to_bits() as u64).collect(),
        Data::I32(v) => v.iter().map(|&a| a as u32 as u64).collect(),
        Data::U32(v) => v.iter().map(|&a| a as u64).collect(),
        Data::F64(v) => v.iter().map(|a| a.to_bits()).collect(),
        Data::Bool(v) => v.iter().map(|&a| a as u64).collect(),
    };
    match to {
        DType::F32 => Data::F32(bits.iter().map(|&b| f32::from_bits(b as u32)).collect()),
        DType::I32 => Data::I32(bits.iter().map(|&b| b as u32 as i32).collect()),
        DType::U32 => Data::U32(bits.iter().map(|&b| b as u32).collect()),
        DType::F64 => Data::F64(bits.iter().map(|&b| f64::from_bits(b)).collect()),
        DType::Bool => Data::Bool(bits.iter().map(|&b| b != 0).collect()),
    }
}
