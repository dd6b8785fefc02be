//! Elementwise primitives of one operand: all their rules. JVP forms follow JAX's
//! `jax/_src/lax/lax.py` (`defjvp`/`defjvp2` rows), so jaxprs print as JAX's do.

use super::{BatchOut, JvpOut, LinArg, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::dtype::DType;
use crate::ir::pretty::Param;
use crate::lax::{self, scalar_like};

#[derive(Clone, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Log1p,
    Expm1,
    Sin,
    Cos,
    Tanh,
    Logistic,
    Sqrt,
    Rsqrt,
    Abs,
    Sign,
    Square,
    ErfInv,
    /// `x ** y` for a constant integer `y`.
    IntegerPow {
        y: i32,
    },
    /// Logical not for bool, bitwise not for integers.
    Not,
    /// The identity with a zero derivative.
    StopGradient,
    ConvertElementType {
        new_dtype: DType,
        weak_type: bool,
    },
    /// Reinterpret the bits (same width): `u32 <-> f32 <-> i32`.
    BitcastConvertType {
        new_dtype: DType,
    },
}

use UnaryOp::*;

/// Which dtypes an op accepts.
#[derive(PartialEq)]
enum Accepts {
    Floating,
    Numeric,
    IntegerOrBool,
    Any,
}

impl UnaryOp {
    pub fn name(&self) -> &'static str {
        match self {
            Neg => "neg",
            Exp => "exp",
            Log => "log",
            Log1p => "log1p",
            Expm1 => "expm1",
            Sin => "sin",
            Cos => "cos",
            Tanh => "tanh",
            Logistic => "logistic",
            Sqrt => "sqrt",
            Rsqrt => "rsqrt",
            Abs => "abs",
            Sign => "sign",
            Square => "square",
            ErfInv => "erf_inv",
            IntegerPow { .. } => "integer_pow",
            Not => "not",
            StopGradient => "stop_gradient",
            ConvertElementType { .. } => "convert_element_type",
            BitcastConvertType { .. } => "bitcast_convert_type",
        }
    }

    pub fn params(&self) -> Vec<(&'static str, Param)> {
        match self {
            IntegerPow { y } => vec![("y", Param::Text(y.to_string()))],
            ConvertElementType {
                new_dtype,
                weak_type,
            } => vec![
                ("new_dtype", Param::Text(new_dtype.numpy_name().into())),
                (
                    "weak_type",
                    Param::Text(if *weak_type { "True" } else { "False" }.into()),
                ),
            ],
            BitcastConvertType { new_dtype } => {
                vec![("new_dtype", Param::Text(new_dtype.numpy_name().into()))]
            }
            _ => vec![],
        }
    }

    fn accepts(&self) -> Accepts {
        match self {
            Exp | Log | Log1p | Expm1 | Sin | Cos | Tanh | Logistic | Sqrt | Rsqrt | ErfInv => {
                Accepts::Floating
            }
            Neg | Abs | Sign | Square | IntegerPow { .. } => Accepts::Numeric,
            Not => Accepts::IntegerOrBool,
            StopGradient | ConvertElementType { .. } | BitcastConvertType { .. } => Accepts::Any,
        }
    }

    pub fn abstract_eval(&self, x: &Aval) -> Result<Aval> {
        let ok = match self.accepts() {
            Accepts::Floating => x.dtype.is_float(),
            Accepts::Numeric => x.dtype != DType::Bool,
            Accepts::IntegerOrBool => !x.dtype.is_float(),
            Accepts::Any => true,
        };
        if !ok {
            let kind = match self.accepts() {
                Accepts::Floating => "floating",
                Accepts::Numeric => "numeric (not bool)",
                _ => "integer or bool",
            };
            return Err(Error::type_err(format!(
                "{} does not accept dtype {}. Accepted dtypes are {kind}.",
                self.name(),
                x.dtype.numpy_name()
            )));
        }
        match self {
            ConvertElementType {
                new_dtype,
                weak_type,
            } => Ok(Aval::new(x.shape.clone(), *new_dtype).weak(*weak_type)),
            BitcastConvertType { new_dtype } => {
                if new_dtype.size_bytes() != x.dtype.size_bytes()
                    || *new_dtype == DType::Bool
                    || x.dtype == DType::Bool
                {
                    return Err(Error::type_err(format!(
                        "bitcast_convert_type from {} to {} needs two non-bool types of the same width",
                        x.dtype.numpy_name(),
                        new_dtype.numpy_name()
                    )));
                }
                Ok(Aval::new(x.shape.clone(), *new_dtype))
            }
            IntegerPow { y } if *y < 0 && !x.dtype.is_float() => Err(Error::type_err(format!(
                "integer_pow with a negative exponent {y} needs a floating dtype, got {}",
                x.dtype.numpy_name()
            ))),
            _ => Ok(x.clone()),
        }
    }

    pub fn eval(&self, x: &Array, out: Aval) -> Result<Array> {
        let data = x.data()?;
        let result = match self {
            ConvertElementType { new_dtype, .. } => convert_data(data, *new_dtype),
            BitcastConvertType { new_dtype } => bitcast_data(data, *new_dtype),
            StopGradient => data.clone(),
            _ => match data {
                Data::F32(v) => Data::F32(v.iter().map(|&a| self.apply_f32(a)).collect()),
                Data::F64(v) => Data::F64(v.iter().map(|&a| self.apply_f64(a)).collect()),
                Data::I32(v) => Data::I32(v.iter().map(|&a| self.apply_i32(a)).collect()),
                Data::U32(v) => Data::U32(v.iter().map(|&a| self.apply_u32(a)).collect()),
                Data::Bool(v) => Data::Bool(v.iter().map(|&a| !a).collect()), // only `not` accepts bool
            },
        };
        Ok(Array::from_concrete(out, result))
    }

    /// The f64 definition of each float op (also the reference for the f32 tests).
    pub fn apply_f64(&self, x: f64) -> f64 {
        match self {
            Neg => -x,
            Exp => x.exp(),
            Log => x.ln(),
            Log1p => x.ln_1p(),
            Expm1 => x.exp_m1(),
            Sin => x.sin(),
            Cos => x.cos(),
            Tanh => x.tanh(),
            Logistic => logistic_f64(x),
            Sqrt => x.sqrt(),
            Rsqrt => 1.0 / x.sqrt(),
            Abs => x.abs(),
            Sign => sign_f64(x),
            Square => x * x,
            ErfInv => erf_inv_f64(x),
            IntegerPow { y } => integer_pow_f64(x, *y),
            Not | StopGradient | ConvertElementType { .. } | BitcastConvertType { .. } => x,
        }
    }

    pub fn apply_f32(&self, x: f32) -> f32 {
        match self {
            Neg => -x,
            Exp => x.exp(),
            Log => x.ln(),
            Log1p => x.ln_1p(),
            Expm1 => x.exp_m1(),
            Sin => x.sin(),
            Cos => x.cos(),
            Tanh => x.tanh(),
            Logistic => logistic_f64(x as f64) as f32,
            Sqrt => x.sqrt(),
            Rsqrt => (1.0 / (x as f64).sqrt()) as f32,
            Abs => x.abs(),
            Sign => sign_f64(x as f64) as f32,
            Square => x * x,
            ErfInv => erf_inv_f32(x),
            IntegerPow { y } => integer_pow_f32(x, *y),
            Not | StopGradient | ConvertElementType { .. } | BitcastConvertType { .. } => x,
        }
    }

    fn apply_i32(&self, x: i32) -> i32 {
        match self {
            Neg => x.wrapping_neg(),
            Abs => x.wrapping_abs(),
            Sign => x.signum(),
            Square => x.wrapping_mul(x),
            IntegerPow { y } => (0..*y).fold(1i32, |acc, _| acc.wrapping_mul(x)),
            Not => !x,
            _ => x,
        }
    }

    fn apply_u32(&self, x: u32) -> u32 {
        match self {
            Neg => x.wrapping_neg(),
            Sign => (x != 0) as u32,
            Square => x.wrapping_mul(x),
            IntegerPow { y } => (0..*y).fold(1u32, |acc, _| acc.wrapping_mul(x)),
            Not => !x,
            _ => x,
        }
    }

    /// JVP rules, as JAX writes them (`g` the tangent, `ans` the primal output).
    pub fn jvp(&self, x: &Array, g: &Tangent) -> Result<JvpOut> {
        let ans = lax_unary(self, x)?;
        let Some(g) = g else {
            return Ok((vec![ans], vec![None]));
        };
        let t = match self {
            Neg => Some(lax::neg(g)?),
            Exp => Some(lax::mul(g, &ans)?),
            Log => Some(lax::div(g, x)?),
            Log1p => Some(lax::div(g, &lax::add(x, &scalar_like(x, 1.0))?)?),
            Expm1 => Some(lax::mul(g, &lax::add(&ans, &scalar_like(&ans, 1.0))?)?),
            Sin => Some(lax::mul(g, &lax::cos(x)?)?),
            Cos => Some(lax::neg(&lax::mul(g, &lax::sin(x)?)?)?),
            Tanh => Some(lax::mul(
                &lax::add(g, &lax::mul(g, &ans)?)?,
                &lax::sub(&scalar_like(x, 1.0), &ans)?,
            )?),
            Logistic => Some(lax::mul(
                g,
                &lax::mul(&ans, &lax::sub(&scalar_like(&ans, 1.0), &ans)?)?,
            )?),
            Sqrt => Some(lax::mul(g, &lax::div(&scalar_like(x, 0.5), &ans)?)?),
            Rsqrt => Some(lax::mul(
                g,
                &lax::mul(&scalar_like(x, -0.5), &lax::div(&ans, x)?)?,
            )?),
            Abs => Some(lax::select(
                &lax::ge(x, &scalar_like(x, 0.0))?,
                g,
                &lax::neg(g)?,
            )?),
            Square => Some(lax::mul(g, &lax::mul(&scalar_like(x, 2.0), x)?)?),
            ErfInv => Some(lax::mul(
                &scalar_like(x, std::f64::consts::PI.sqrt() / 2.0),
                &lax::mul(g, &lax::exp(&lax::square(&ans)?)?)?,
            )?),
            IntegerPow { y: 0 } => None,
            IntegerPow { y } => Some(lax::mul(
                g,
                &lax::mul(&scalar_like(x, *y as f64), &lax::integer_pow(x, y - 1)?)?,
            )?),
            ConvertElementType { new_dtype, .. }
                if new_dtype.is_float() && x.dtype().is_float() =>
            {
                Some(lax::convert_element_type(g, *new_dtype)?)
            }
            Sign | Not | StopGradient | ConvertElementType { .. } | BitcastConvertType { .. } => {
                None
            }
        };
        Ok((vec![ans], vec![t]))
    }

    /// Transposes of the linear ones: `neg` and float-to-float `convert_element_type`.
    pub fn transpose(&self, ct: &Tangent, x: &LinArg) -> Result<Tangent> {
        let Some(ct) = ct else { return Ok(None) };
        match self {
            Neg => Ok(Some(lax::neg(ct)?)),
            ConvertElementType { .. } => Ok(Some(lax::convert_element_type(ct, x.aval().dtype)?)),
            _ => Err(Error::type_err(format!(
                "transpose of {} is not defined: it is not linear",
                self.name()
            ))),
        }
    }

    /// Elementwise: the batch dimension stays where it is.
    pub fn batch(&self, x: &Array, d: Option<usize>) -> Result<BatchOut> {
        Ok((vec![lax_unary(self, x)?], vec![d]))
    }
}

fn lax_unary(op: &UnaryOp, x: &Array) -> Result<Array> {
    crate::core::trace::bind1(super::Prim::Unary(op.clone()), std::slice::from_ref(x))
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
