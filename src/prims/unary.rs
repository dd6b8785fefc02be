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
use crate::array::{data_of_dtype, each_data, Array, Data, Element};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::defs::erf_inv;
use crate::dtype::DType;
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::Param;
use crate::lax::{self, scalar_like};
use cranax_runtime::special;
use half::{bf16, f16};

/// The table: one row per elementwise unary primitive (see the module doc for the columns).
/// `$then` is the macro that turns the rows into code: `define_unary_ops` below, and
/// `unary_lowerings` in `backend::ops`.
macro_rules! unary_table {
    ($then:ident) => {
        $then! {
            Neg = "neg", Numeric, Cheap, vectorizes: always, lower: ops::neg {
                eval(d) => numbers(d, |x| -x, |x| -x, i64::wrapping_neg, u64::wrapping_neg),
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
                eval(d) => numbers(d, f32::abs, f64::abs, i64::wrapping_abs, |x| x),
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
                    i64::signum,
                    |x| (x != 0) as u64,
                ),
                jvp(_g, _x, _ans) => None,
            }
            Square = "square", Numeric, Cheap, vectorizes: always, lower: ops::square {
                eval(d) => numbers(
                    d,
                    |x| x * x,
                    |x| x * x,
                    |x: i64| x.wrapping_mul(x),
                    |x: u64| x.wrapping_mul(x),
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
                eval(d) => match d {
                    // Each multiplication rounded to the 16-bit type, as XLA's chain of muls.
                    Data::F16(v) => Data::F16(
                        v.iter().map(|&x| integer_pow_float(x, *y, f16::ONE)).collect(),
                    ),
                    Data::BF16(v) => Data::BF16(
                        v.iter().map(|&x| integer_pow_float(x, *y, bf16::ONE)).collect(),
                    ),
                    _ => numbers(
                    d,
                    |x| integer_pow_float(x, *y, 1.0),
                    |x| integer_pow_float(x, *y, 1.0),
                    |x| (0..*y).fold(1i64, |acc, _| acc.wrapping_mul(x)),
                    |x| (0..*y).fold(1u64, |acc, _| acc.wrapping_mul(x)),
                ),
                },
                jvp(g, x, _ans) => if *y == 0 {
                    None
                } else {
                    Some(lax::mul(
                        g,
                        &lax::mul(&scalar_like(x, *y as f64), &lax::integer_pow(x, y - 1)?)?,
                    )?)
                },
            }
            Floor = "floor", Floating, Cheap, vectorizes: always, lower: ops::floor {
                eval(d) => floats(d, f32::floor, f64::floor),
                jvp(_g, _x, _ans) => None,
            }
            Ceil = "ceil", Floating, Cheap, vectorizes: always, lower: ops::ceil {
                eval(d) => floats(d, f32::ceil, f64::ceil),
                jvp(_g, _x, _ans) => None,
            }
            /// Round to an integer; halfway cases by `rounding_method` (JAX's `RoundingMethod`).
            Round { rounding_method: RoundingMethod } = "round", Floating, Cheap,
                vectorizes: always, lower: ops::round {
                params => vec![("rounding_method", Param::Text((*rounding_method as u8).to_string()))],
                eval(d) => match rounding_method {
                    RoundingMethod::AwayFromZero => floats(d, f32::round, f64::round),
                    RoundingMethod::ToNearestEven => {
                        floats(d, f32::round_ties_even, f64::round_ties_even)
                    }
                },
                jvp(_g, _x, _ans) => None,
            }
            IsFinite = "is_finite", Floating, Cheap, vectorizes: always, lower: ops::is_finite {
                abstract_eval(x) => Ok(Aval::new(x.shape.clone(), DType::Bool)),
                eval(d) => float_predicate(d, f64::is_finite),
                jvp(_g, _x, _ans) => None,
            }
            Exp2 = "exp2", Floating, Expensive, vectorizes: always, lower: math::Exp2 {
                eval(d) => floats_in_f64(d, f64::exp2),
                jvp(g, x, ans) => Some(lax::mul(
                    &lax::log(&scalar_like(x, 2.0))?,
                    &lax::mul(g, ans)?,
                )?),
            }
            Tan = "tan", Floating, Expensive, vectorizes: always, lower: math::Tan {
                eval(d) => floats_in_f64(d, f64::tan),
                jvp(g, x, ans) => Some(lax::mul(
                    g,
                    &lax::add(&scalar_like(x, 1.0), &lax::square(ans)?)?,
                )?),
            }
            Asin = "asin", Floating, Expensive, vectorizes: always, lower: math::Asin {
                eval(d) => floats_in_f64(d, f64::asin),
                jvp(g, x, _ans) => Some(lax::mul(
                    g,
                    &lax::rsqrt(&lax::sub(&scalar_like(x, 1.0), &lax::square(x)?)?)?,
                )?),
            }
            Acos = "acos", Floating, Expensive, vectorizes: always, lower: math::Acos {
                eval(d) => floats_in_f64(d, f64::acos),
                jvp(g, x, _ans) => Some(lax::mul(
                    g,
                    &lax::neg(&lax::rsqrt(&lax::sub(&scalar_like(x, 1.0), &lax::square(x)?)?)?)?,
                )?),
            }
            Atan = "atan", Floating, Expensive, vectorizes: always, lower: math::Atan {
                eval(d) => floats_in_f64(d, f64::atan),
                jvp(g, x, _ans) => Some(lax::div(
                    g,
                    &lax::add(&scalar_like(x, 1.0), &lax::square(x)?)?,
                )?),
            }
            Sinh = "sinh", Floating, Expensive, vectorizes: always, lower: math::Sinh {
                eval(d) => floats_in_f64(d, f64::sinh),
                jvp(g, x, _ans) => Some(lax::mul(g, &lax::cosh(x)?)?),
            }
            Cosh = "cosh", Floating, Expensive, vectorizes: always, lower: math::Cosh {
                eval(d) => floats_in_f64(d, f64::cosh),
                jvp(g, x, _ans) => Some(lax::mul(g, &lax::sinh(x)?)?),
            }
            Asinh = "asinh", Floating, Expensive, vectorizes: always, lower: math::Asinh {
                eval(d) => floats_in_f64(d, libm::asinh),
                jvp(g, x, _ans) => Some(lax::mul(
                    g,
                    &lax::rsqrt(&lax::add(&lax::square(x)?, &scalar_like(x, 1.0))?)?,
                )?),
            }
            Acosh = "acosh", Floating, Expensive, vectorizes: always, lower: math::Acosh {
                eval(d) => floats_in_f64(d, acosh_f64),
                jvp(g, x, _ans) => Some(lax::mul(
                    g,
                    &lax::rsqrt(&lax::sub(&lax::square(x)?, &scalar_like(x, 1.0))?)?,
                )?),
            }
            Atanh = "atanh", Floating, Expensive, vectorizes: always, lower: math::Atanh {
                eval(d) => floats_in_f64(d, libm::atanh),
                jvp(g, x, _ans) => Some(lax::mul(
                    &lax::integer_pow(&lax::add(&scalar_like(x, 1.0), x)?, -1)?,
                    &lax::div(g, &lax::sub(&scalar_like(x, 1.0), x)?)?,
                )?),
            }
            Cbrt = "cbrt", Floating, Expensive, vectorizes: always, lower: math::Cbrt {
                eval(d) => floats_in_f64(d, f64::cbrt),
                jvp(g, x, ans) => Some(lax::mul(
                    g,
                    &lax::mul(&scalar_like(x, 1.0 / 3.0), &lax::integer_pow(ans, -2)?)?,
                )?),
            }
            Erf = "erf", Floating, Expensive, vectorizes: always, lower: math::Erf {
                eval(d) => floats(d, special::erf_f32, special::erf_f64),
                jvp(g, x, _ans) => Some(lax::mul(
                    &scalar_like(x, 2.0 / std::f64::consts::PI.sqrt()),
                    &lax::mul(g, &lax::exp(&lax::neg(&lax::square(x)?)?)?)?,
                )?),
            }
            Erfc = "erfc", Floating, Expensive, vectorizes: always, lower: math::Erfc {
                eval(d) => floats(d, special::erfc_f32, special::erfc_f64),
                jvp(g, x, _ans) => Some(lax::mul(
                    &scalar_like(x, -2.0 / std::f64::consts::PI.sqrt()),
                    &lax::mul(g, &lax::exp(&lax::neg(&lax::square(x)?)?)?)?,
                )?),
            }
            /// `log |Gamma(x)|`.
            Lgamma = "lgamma", Floating, Expensive, vectorizes: always, lower: math::Lgamma {
                eval(d) => floats(d, special::lgamma_f32, special::lgamma_f64),
                jvp(g, x, _ans) => Some(lax::mul(g, &lax::digamma(x)?)?),
            }
            Digamma = "digamma", Floating, Expensive, vectorizes: always, lower: math::Digamma {
                eval(d) => floats(d, special::digamma_f32, special::digamma_f64),
                jvp(g, x, _ans) => Some(lax::mul(
                    g,
                    &lax::polygamma(&scalar_like(x, 1.0), x)?,
                )?),
            }
            /// The number of set bits.
            PopulationCount = "population_count", Integer, Cheap, vectorizes: never,
                lower: ops::population_count {
                eval(d) => bit_counts(d, |bits, _width| bits.count_ones()),
                jvp(_g, _x, _ans) => None,
            }
            /// The number of leading zero bits.
            Clz = "clz", Integer, Cheap, vectorizes: never, lower: ops::clz {
                eval(d) => bit_counts(d, |bits, width| bits.leading_zeros() - (64 - width)),
                jvp(_g, _x, _ans) => None,
            }
            /// Logical not for bool, bitwise not for integers.
            Not = "not", IntegerOrBool, Cheap, vectorizes: always, lower: ops::not {
                eval(d) => integers_and_bools(d, |x: i64| !x, |x: u64| !x, |x: bool| !x),
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
    /// Floats only.
    Floating,
    /// Anything but bool.
    Numeric,
    /// Integers only.
    Integer,
    /// Integers and bool.
    IntegerOrBool,
    /// Any dtype.
    Any,
}

impl Accepts {
    /// Whether `dtype` is accepted.
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
    /// Recomputed inline wherever it is read.
    Cheap,
    /// Stored when read more than once.
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
        /// The elementwise primitives of one operand: one variant per row of `unary_table!`.
        #[derive(Clone, Debug, PartialEq)]
        pub enum UnaryOp {
            $( #[doc = concat!("`", $name, "`.")] $(#[$doc])* $op $({ $(#[doc = concat!("The `", stringify!($field), "` parameter.")] $field: $fty),* })?, )*
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

            /// The inverse of `name` and `params` (`None`: no such row): each field is read
            /// from the printed parameter of its name.
            ///
            /// # Errors
            /// Parameters missing or malformed in the printed jaxpr (the message names the primitive and the parameter).
            pub fn from_printed(name: &str, p: &PrintedParams) -> Result<Option<UnaryOp>> {
                $(if name == $name {
                    return Ok(Some(UnaryOp::$op $({ $($field: p.get(stringify!($field))?),* })?));
                })*
                Ok(None)
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
            ///
            /// # Errors
            /// A linear operand used non-linearly, or an error of a primitive the rule binds.
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
    /// The output type (the dtype check, JAX's wording).
    ///
    /// # Errors
    /// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
    pub fn abstract_eval(&self, x: &Aval) -> Result<Aval> {
        if !self.accepts().admits(x.dtype) {
            let kind = match self.accepts() {
                Accepts::Floating => "floating",
                Accepts::Numeric => "numeric (not bool)",
                Accepts::Integer => "integer",
                Accepts::IntegerOrBool | Accepts::Any => "integer or bool",
            };
            return Err(Error::UnsupportedDType {
                op: self.name().into(),
                dtype: x.dtype,
                accepted: Some(kind),
            });
        }
        self.output_type(x)
    }

    /// Evaluate on a concrete array into an array of type `out`.
    ///
    /// # Errors
    /// As `abstract_eval`, for concrete operands.
    pub fn eval(&self, x: &Array, out: Aval) -> Result<Array> {
        Ok(Array::from_concrete(out, self.eval_data(x.data()?)))
    }

    /// JVP rules, as JAX writes them (`g` the tangent, `ans` the primal output).
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp(&self, x: &Array, g: &Tangent) -> Result<JvpOut> {
        let (ans, t) = self.jvp1(x, g)?;
        Ok((vec![ans], vec![t]))
    }

    /// [`UnaryOp::jvp`]'s one primal and tangent, without lists.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp1(&self, x: &Array, g: &Tangent) -> Result<(Array, Tangent)> {
        let ans = lax_unary(self, x)?;
        let Some(g) = g else {
            return Ok((ans, None));
        };
        let t = self.tangent(g, x, &ans)?;
        Ok((ans, t))
    }

    /// Elementwise: the batch dimension stays where it is.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn batch(&self, x: &Array, d: Option<usize>) -> Result<BatchOut> {
        Ok((vec![lax_unary(self, x)?], vec![d]))
    }
}

fn lax_unary(op: &UnaryOp, x: &Array) -> Result<Array> {
    crate::core::trace::bind1(super::Prim::Unary(op.clone()), std::slice::from_ref(x))
}

/// A float-only op on float data (the dtype check admits nothing else); f16 and bf16 are
/// computed in f32 and rounded back.
fn floats(d: &Data, f32_op: impl Fn(f32) -> f32, f64_op: impl Fn(f64) -> f64) -> Data {
    match d {
        Data::F16(v) => Data::F16(
            v.iter()
                .map(|&a| f16::from_f32(f32_op(a.to_f32())))
                .collect(),
        ),
        Data::BF16(v) => Data::BF16(
            v.iter()
                .map(|&a| bf16::from_f32(f32_op(a.to_f32())))
                .collect(),
        ),
        Data::F32(v) => Data::F32(v.iter().map(|&a| f32_op(a)).collect()),
        Data::F64(v) => Data::F64(v.iter().map(|&a| f64_op(a)).collect()),
        _ => unreachable!("a float-only op on {}", d.dtype()),
    }
}

/// A float op evaluated in f64 (f32 operands widened, the result rounded once): the std
/// functions are within an ulp in f64, so f32 results are correctly rounded but for rare
/// double roundings, as the compiled forms (which also compute f32 in f64) are.
fn floats_in_f64(d: &Data, f64_op: impl Fn(f64) -> f64) -> Data {
    floats(d, |x| f64_op(x as f64) as f32, &f64_op)
}

/// A float predicate (`is_finite`): bool data.
fn float_predicate(d: &Data, pred: impl Fn(f64) -> bool) -> Data {
    match d {
        Data::F16(v) => Data::Bool(v.iter().map(|&a| pred(a.to_f64())).collect()),
        Data::BF16(v) => Data::Bool(v.iter().map(|&a| pred(a.to_f64())).collect()),
        Data::F32(v) => Data::Bool(v.iter().map(|&a| pred(a as f64)).collect()),
        Data::F64(v) => Data::Bool(v.iter().map(|&a| pred(a)).collect()),
        _ => unreachable!("a float predicate on {}", d.dtype()),
    }
}

/// An integer op, computed on each value widened to i64 (signed dtypes) or u64 (unsigned)
/// and wrapped back to the element width: for the ring operations (neg, add, mul, ...)
/// the low bits of the wide result are the narrow result. `None` for non-integer data.
pub(crate) fn integers(
    d: &Data,
    i_op: impl Fn(i64) -> i64,
    u_op: impl Fn(u64) -> u64,
) -> Option<Data> {
    macro_rules! wrap {
        ($v:expr, $op:expr, $wide:ty, $variant:ident, $t:ty) => {
            Data::$variant($v.iter().map(|&a| $op(a as $wide) as $t).collect())
        };
    }
    Some(match d {
        Data::I8(v) => wrap!(v, i_op, i64, I8, i8),
        Data::I16(v) => wrap!(v, i_op, i64, I16, i16),
        Data::I32(v) => wrap!(v, i_op, i64, I32, i32),
        Data::I64(v) => wrap!(v, i_op, i64, I64, i64),
        Data::U8(v) => wrap!(v, u_op, u64, U8, u8),
        Data::U16(v) => wrap!(v, u_op, u64, U16, u16),
        Data::U32(v) => wrap!(v, u_op, u64, U32, u32),
        Data::U64(v) => wrap!(v, u_op, u64, U64, u64),
        _ => return None,
    })
}

/// A count over each integer's bits: `count(bits, width)` with `bits` the element's two's
/// complement bits zero-extended to 64 and `width` its dtype's width.
fn bit_counts(d: &Data, count: impl Fn(u64, u32) -> u32) -> Data {
    let width = d.dtype().bits();
    let mask = u64::MAX >> (64 - width);
    let on_bits = |x: u64| count(x & mask, width) as u64;
    integers(d, |x| on_bits(x as u64) as i64, on_bits)
        .unwrap_or_else(|| unreachable!("a bit count of {}", d.dtype()))
}

/// JAX's `lax.RoundingMethod`: how `round` breaks ties (printed as its integer value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RoundingMethod {
    /// `AWAY_FROM_ZERO` (0): `round(0.5) = 1`, `round(-2.5) = -3` (lax.round's default).
    AwayFromZero = 0,
    /// `TO_NEAREST_EVEN` (1): `round(0.5) = 0`, `round(2.5) = 2` (`jnp.round`, `jnp.rint`).
    ToNearestEven = 1,
}

/// Read back as printed (`0`, `1`), or by JAX's member names.
impl crate::ir::parse::FromParam for RoundingMethod {
    const WHAT: &'static str = "a RoundingMethod (0: AWAY_FROM_ZERO, 1: TO_NEAREST_EVEN)";
    fn from_param(v: &crate::ir::parse::PValue) -> Option<Self> {
        let crate::ir::parse::PValue::Word(w) = v else {
            return None;
        };
        match w.trim_start_matches("RoundingMethod.") {
            "0" | "AWAY_FROM_ZERO" => Some(RoundingMethod::AwayFromZero),
            "1" | "TO_NEAREST_EVEN" => Some(RoundingMethod::ToNearestEven),
            _ => None,
        }
    }
}

/// A numeric op on float or integer data.
fn numbers(
    d: &Data,
    f32_op: impl Fn(f32) -> f32,
    f64_op: impl Fn(f64) -> f64,
    i_op: impl Fn(i64) -> i64,
    u_op: impl Fn(u64) -> u64,
) -> Data {
    integers(d, i_op, u_op).unwrap_or_else(|| floats(d, f32_op, f64_op))
}

/// An integer-or-bool op.
fn integers_and_bools(
    d: &Data,
    i_op: impl Fn(i64) -> i64,
    u_op: impl Fn(u64) -> u64,
    bool_op: impl Fn(bool) -> bool,
) -> Data {
    match d {
        Data::Bool(v) => Data::Bool(v.iter().map(|&a| bool_op(a)).collect()),
        _ => integers(d, i_op, u_op)
            .unwrap_or_else(|| unreachable!("an integer-or-bool op on {}", d.dtype())),
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

/// musl's acosh, NaN below 1 (musl tests only the exponent, so it returns values for x < -2).
pub fn acosh_f64(x: f64) -> f64 {
    if x < 1.0 {
        f64::NAN
    } else {
        libm::acosh(x)
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

/// `x ** y` for a float `x` by repeated squaring (the order the compiled code multiplies in).
fn integer_pow_float<T>(x: T, y: i32, one: T) -> T
where
    T: Copy + std::ops::MulAssign + std::ops::Div<Output = T>,
{
    let mut acc = one;
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
        one / acc
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
    let w = -(-x * x).ln_1p();
    let range = erf_inv::range_for(&erf_inv::F32, w as f64);
    let z = if range.sqrt { w.sqrt() } else { w } - range.shift as f32;
    horner_f32(z, range.coeffs) * x
}

fn horner_f32(w: f32, coeffs: &[f32]) -> f32 {
    coeffs[1..].iter().fold(coeffs[0], |p, &c| c + p * w)
}

/// Giles' double-precision inverse error function (three ranges), as defined once in
/// `defs::erf_inv` for eager and compiled code alike.
pub fn erf_inv_f64(x: f64) -> f64 {
    erf_inv::erf_inv_f64(x)
}

/// `convert_element_type` on data ([`Scalar::convert`]'s rules: floats to ints truncate toward
/// zero and saturate, NaN is 0; ints wrap; to floats round to nearest even).
pub fn convert_data(d: &Data, to: DType) -> Data {
    // One loop per (source, target) pair, each through `Scalar::convert` (the one definition
    // of the rules) with both dtypes known, so it inlines to the plain conversion.
    each_data!(d, v => data_of_dtype!(to, T => (v.iter()).map(|&x| T::from_scalar(x.scalar())).collect()))
}

fn bitcast_data(d: &Data, to: DType) -> Data {
    Data::from_bits(to, d.to_bits().into_iter())
}
