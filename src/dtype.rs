//! Element types (`DType`) and single typed values (`Scalar`), with JAX's promotion lattice.

use half::{bf16, f16};
use std::fmt;

/// An element type: JAX's real dtypes. All of them are always available (JAX's x64 types
/// included, as a Rust user expects of `i64` and `f64`), while the defaults stay JAX's
/// non-x64 ones: a float literal is `f32` and an integer literal `i32`, weakly typed, so the
/// jaxprs of the seed programs print as JAX's do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `bool`.
    Bool,
    /// `int8`.
    I8,
    /// `int16`.
    I16,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `uint8`.
    U8,
    /// `uint16`.
    U16,
    /// `uint32`.
    U32,
    /// `uint64`.
    U64,
    /// `float16` (IEEE half): stored as 16 bits, computed in f32 and rounded after each
    /// operation, as XLA does on the CPU.
    F16,
    /// `bfloat16`: stored as 16 bits, computed in f32 and rounded after each operation.
    BF16,
    /// `float32`.
    F32,
    /// `float64`.
    F64,
}

impl DType {
    /// Every dtype, in the order of the enum.
    pub const ALL: [DType; 13] = [
        DType::Bool,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
    ];

    /// JAX's short name, as printed in jaxprs: `f32`, `i32`, `bool`.
    pub fn short_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "i8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// NumPy's name: `float32`, `int32`, `bool`, `bfloat16`.
    pub fn numpy_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// The dtype of a short (`f32`) or NumPy (`float32`) name.
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL
            .into_iter()
            .find(|d| d.short_name() == name || d.numpy_name() == name)
    }

    /// Whether it is a floating dtype (`f16`, `bf16`, `f32`, `f64`).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// Whether it is an integer dtype, signed or unsigned.
    pub fn is_int(self) -> bool {
        self.is_signed_int() || self.is_unsigned_int()
    }

    /// Whether it is `i8`, `i16`, `i32` or `i64`.
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// Whether it is `u8`, `u16`, `u32` or `u64`.
    pub fn is_unsigned_int(self) -> bool {
        matches!(self, DType::U8 | DType::U16 | DType::U32 | DType::U64)
    }

    /// Whether it is a 16-bit float, stored narrow and computed in f32.
    pub fn is_half(self) -> bool {
        matches!(self, DType::F16 | DType::BF16)
    }

    /// Size of one element in bytes (bool is one byte, 0 or 1).
    pub fn size_bytes(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 | DType::F16 | DType::BF16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// Width in bits.
    pub fn bits(self) -> u32 {
        self.size_bytes() as u32 * 8
    }

    /// The signed or unsigned integer dtype of a width in bits (8, 16, 32, 64).
    pub fn int_of_bits(bits: u32, signed: bool) -> Option<DType> {
        Some(match (bits, signed) {
            (8, true) => DType::I8,
            (16, true) => DType::I16,
            (32, true) => DType::I32,
            (64, true) => DType::I64,
            (8, false) => DType::U8,
            (16, false) => DType::U16,
            (32, false) => DType::U32,
            (64, false) => DType::U64,
            _ => return None,
        })
    }

    /// The dtype in which elementwise arithmetic on this dtype is carried out: f32 for the
    /// 16-bit floats (each result rounded back), the dtype itself otherwise.
    pub fn compute_dtype(self) -> DType {
        if self.is_half() {
            DType::F32
        } else {
            self
        }
    }

    /// The result type of combining two strongly typed dtypes: `jnp.promote_types`, the join
    /// in JAX's lattice (see [`Lattice`]). Where the join is the weak float (`u64` with a
    /// signed integer), cranax's default float `f32` is the answer where x64 JAX says f64.
    pub fn promote(a: DType, b: DType) -> DType {
        Lattice::of(a, false).join(Lattice::of(b, false)).dtype()
    }
}

/// Machine limits of a floating dtype (`jnp.finfo`), all from its mantissa and exponent
/// widths (IEEE-style layouts: f16 10 and 5 bits, bf16 7 and 8, f32 23 and 8, f64 52 and 11).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FInfo {
    /// The dtype described.
    pub dtype: DType,
    /// Width in bits.
    pub bits: u32,
    /// Explicit mantissa bits.
    pub nmant: u32,
    /// Exponent bits.
    pub nexp: u32,
    /// `2^-nmant`: the gap between 1 and the next value.
    pub eps: f64,
    /// The largest finite value.
    pub max: f64,
    /// The most negative finite value (`-max`).
    pub min: f64,
    /// The smallest positive normal value (NumPy's `tiny`, `smallest_normal`).
    pub tiny: f64,
    /// The smallest positive subnormal value.
    pub smallest_subnormal: f64,
    /// Decimal digits of precision (`floor(nmant log10 2)`).
    pub precision: u32,
    /// `10^-precision`.
    pub resolution: f64,
}

/// Limits of an integer dtype (`jnp.iinfo`); i128 holds every bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IInfo {
    /// The dtype described.
    pub dtype: DType,
    /// Width in bits.
    pub bits: u32,
    /// The smallest value.
    pub min: i128,
    /// The largest value.
    pub max: i128,
}

impl DType {
    /// `jnp.finfo(dtype)`, or `None` for a dtype that is not floating.
    pub fn finfo(self) -> Option<FInfo> {
        let (nmant, nexp) = match self {
            DType::F16 => (10, 5),
            DType::BF16 => (7, 8),
            DType::F32 => (23, 8),
            DType::F64 => (52, 11),
            _ => return None,
        };
        let max_exp = (1i32 << (nexp - 1)) - 1;
        let eps = 2f64.powi(-(nmant as i32));
        let max = (2.0 - eps) * 2f64.powi(max_exp);
        let tiny = 2f64.powi(1 - max_exp);
        let precision = (nmant as f64 * std::f64::consts::LOG10_2).floor() as u32;
        Some(FInfo {
            dtype: self,
            bits: self.bits(),
            nmant,
            nexp,
            eps,
            max,
            min: -max,
            tiny,
            smallest_subnormal: tiny * eps,
            precision,
            resolution: 10f64.powi(-(precision as i32)),
        })
    }

    /// `jnp.iinfo(dtype)`, or `None` for a dtype that is not an integer.
    pub fn iinfo(self) -> Option<IInfo> {
        let bits = self.bits();
        let (min, max) = if self.is_signed_int() {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else if self.is_unsigned_int() {
            (0, (1i128 << bits) - 1)
        } else {
            return None;
        };
        Some(IInfo {
            dtype: self,
            bits,
            min,
            max,
        })
    }
}

/// A node of JAX's type-promotion lattice (`jax._src.dtypes`): the dtypes and the two weak
/// kinds a Python scalar has, `i*` and `f*`. The edges, lowest first:
/// `bool → i*`, `i* → u8, i8`, `u8 → u16, i16`, `u16 → u32, i32`, `u32 → u64, i64`,
/// `i8 → i16 → i32 → i64`, `u64 → f*`, `i64 → f*`, `f* → f16, bf16`, `f16 → f32`,
/// `bf16 → f32`, `f32 → f64`. The result type of operands is the least upper bound of
/// their nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lattice {
    /// A strongly typed dtype.
    Strong(DType),
    /// A weakly typed integer (a Python int).
    WeakInt,
    /// A weakly typed float (a Python float).
    WeakFloat,
}

impl Lattice {
    /// The node of an operand of `dtype`, weakly typed or not. A weak bool is strong (JAX has
    /// no weak bools).
    pub fn of(dtype: DType, weak: bool) -> Lattice {
        match (weak, dtype) {
            (true, d) if d.is_int() => Lattice::WeakInt,
            (true, d) if d.is_float() => Lattice::WeakFloat,
            _ => Lattice::Strong(dtype),
        }
    }

    /// The nodes directly above this one.
    fn parents(self) -> &'static [Lattice] {
        use DType::*;
        use Lattice::{Strong as S, WeakFloat, WeakInt};
        match self {
            S(Bool) => &[WeakInt],
            WeakInt => &[S(U8), S(I8)],
            S(U8) => &[S(U16), S(I16)],
            S(U16) => &[S(U32), S(I32)],
            S(U32) => &[S(U64), S(I64)],
            S(I8) => &[S(I16)],
            S(I16) => &[S(I32)],
            S(I32) => &[S(I64)],
            S(I64) | S(U64) => &[WeakFloat],
            WeakFloat => &[S(F16), S(BF16)],
            S(F16) | S(BF16) => &[S(F32)],
            S(F32) => &[S(F64)],
            S(F64) => &[],
        }
    }

    /// Whether `other` is this node or above it.
    fn below_or_eq(self, other: Lattice) -> bool {
        self == other || self.parents().iter().any(|p| p.below_or_eq(other))
    }

    /// The least upper bound of two nodes: the common upper bound below every other one
    /// (the lattice has one for every pair; f64 is the top).
    pub fn join(self, other: Lattice) -> Lattice {
        let nodes = DType::ALL
            .into_iter()
            .map(Lattice::Strong)
            .chain([Lattice::WeakInt, Lattice::WeakFloat]);
        let common: Vec<Lattice> = nodes
            .filter(|&n| self.below_or_eq(n) && other.below_or_eq(n))
            .collect();
        common
            .iter()
            .copied()
            .find(|&n| common.iter().all(|&m| n.below_or_eq(m)))
            .expect("JAX's promotion lattice has a least upper bound for every pair")
    }

    /// Whether this node is a weak kind.
    pub fn is_weak(self) -> bool {
        !matches!(self, Lattice::Strong(_))
    }

    /// The dtype of the node: a weak kind takes cranax's default (`i32`, `f32`).
    pub fn dtype(self) -> DType {
        match self {
            Lattice::Strong(d) => d,
            Lattice::WeakInt => DType::I32,
            Lattice::WeakFloat => DType::F32,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// One value of some dtype: a literal in a jaxpr, an element read back from an array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A `bool`.
    Bool(bool),
    /// An `i8`.
    I8(i8),
    /// An `i16`.
    I16(i16),
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// A `u8`.
    U8(u8),
    /// A `u16`.
    U16(u16),
    /// A `u32`.
    U32(u32),
    /// A `u64`.
    U64(u64),
    /// An `f16`.
    F16(f16),
    /// A `bf16`.
    BF16(bf16),
    /// An `f32`.
    F32(f32),
    /// An `f64`.
    F64(f64),
}

/// `$body` for the value inside a [`Scalar`], bound to `$v` whatever its type.
macro_rules! each_scalar {
    ($s:expr, $v:ident => $body:expr) => {
        match $s {
            Scalar::Bool($v) => $body,
            Scalar::I8($v) => $body,
            Scalar::I16($v) => $body,
            Scalar::I32($v) => $body,
            Scalar::I64($v) => $body,
            Scalar::U8($v) => $body,
            Scalar::U16($v) => $body,
            Scalar::U32($v) => $body,
            Scalar::U64($v) => $body,
            Scalar::F16($v) => $body,
            Scalar::BF16($v) => $body,
            Scalar::F32($v) => $body,
            Scalar::F64($v) => $body,
        }
    };
}

impl Scalar {
    /// Its dtype.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::I8(_) => DType::I8,
            Scalar::I16(_) => DType::I16,
            Scalar::I32(_) => DType::I32,
            Scalar::I64(_) => DType::I64,
            Scalar::U8(_) => DType::U8,
            Scalar::U16(_) => DType::U16,
            Scalar::U32(_) => DType::U32,
            Scalar::U64(_) => DType::U64,
            Scalar::F16(_) => DType::F16,
            Scalar::BF16(_) => DType::BF16,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
        }
    }

    /// The value widened to f64 (exact but for 64-bit integers beyond 2^53, which round).
    pub fn to_f64(self) -> f64 {
        each_scalar!(self, v => Element64::to_f64(v))
    }

    /// An integer or bool value as i128 (exact for every integer dtype); floats truncate
    /// toward zero, saturating, NaN as 0 (Rust's `as`).
    pub fn to_i128(self) -> i128 {
        each_scalar!(self, v => Element64::to_i128(v))
    }

    /// `v` converted to `dtype` as `convert_element_type` does (floats to ints truncate toward
    /// zero and saturate; NaN becomes 0).
    pub fn from_f64(v: f64, dtype: DType) -> Scalar {
        Scalar::F64(v).convert(dtype)
    }

    /// An integer value `v` of any width converted to `dtype` (integers wrap, as C's
    /// conversions of two's-complement values do; floats round to nearest).
    #[inline]
    pub fn from_i128(v: i128, dtype: DType) -> Scalar {
        match dtype {
            DType::Bool => Scalar::Bool(v != 0),
            DType::I8 => Scalar::I8(v as i8),
            DType::I16 => Scalar::I16(v as i16),
            DType::I32 => Scalar::I32(v as i32),
            DType::I64 => Scalar::I64(v as i64),
            DType::U8 => Scalar::U8(v as u8),
            DType::U16 => Scalar::U16(v as u16),
            DType::U32 => Scalar::U32(v as u32),
            DType::U64 => Scalar::U64(v as u64),
            // Through f32 (Rust's `as` rounds to nearest even), as from a float.
            DType::F16 => Scalar::F16(f16::from_f32(v as f32)),
            DType::BF16 => Scalar::BF16(bf16::from_f32(v as f32)),
            DType::F32 => Scalar::F32(v as f32),
            DType::F64 => Scalar::F64(v as f64),
        }
    }

    /// The value converted to `dtype`: `lax.convert_element_type`'s semantics on the CPU.
    /// Integers to integers wrap (two's complement); floats to integers truncate toward zero
    /// and saturate, NaN giving 0; to floats, the nearest value (ties to even); to bool,
    /// `!= 0` (NaN is true).
    #[inline]
    pub fn convert(self, dtype: DType) -> Scalar {
        if self.dtype() == dtype {
            return self;
        }
        let float = match self {
            Scalar::F16(v) => Some(v.to_f64()),
            Scalar::BF16(v) => Some(v.to_f64()),
            Scalar::F32(v) => Some(v as f64),
            Scalar::F64(v) => Some(v),
            _ => None,
        };
        let Some(x) = float else {
            return Scalar::from_i128(self.to_i128(), dtype);
        };
        match dtype {
            DType::Bool => Scalar::Bool(x != 0.0),
            DType::I8 => Scalar::I8(x as i8),
            DType::I16 => Scalar::I16(x as i16),
            DType::I32 => Scalar::I32(x as i32),
            DType::I64 => Scalar::I64(x as i64),
            DType::U8 => Scalar::U8(x as u8),
            DType::U16 => Scalar::U16(x as u16),
            DType::U32 => Scalar::U32(x as u32),
            DType::U64 => Scalar::U64(x as u64),
            // Through f32: exact from the narrower floats, and from f64 a rounding to f32
            // first, as XLA's CPU code converts to bf16 and `half` with the F16C instructions
            // converts to f16 (`half`'s own f64 path drops the low 32 bits of the mantissa
            // before rounding, so the result would depend on the CPU).
            DType::F16 => Scalar::F16(f16::from_f32(x as f32)),
            DType::BF16 => Scalar::BF16(bf16::from_f32(x as f32)),
            DType::F32 => Scalar::F32(x as f32),
            DType::F64 => Scalar::F64(x),
        }
    }

    /// Bit-exact hashable key (floats by bit pattern).
    pub fn bits(self) -> u64 {
        match self {
            Scalar::Bool(b) => b as u64,
            Scalar::I8(v) => v as u8 as u64,
            Scalar::I16(v) => v as u16 as u64,
            Scalar::I32(v) => v as u32 as u64,
            Scalar::I64(v) => v as u64,
            Scalar::U8(v) => v as u64,
            Scalar::U16(v) => v as u64,
            Scalar::U32(v) => v as u64,
            Scalar::U64(v) => v,
            Scalar::F16(v) => v.to_bits() as u64,
            Scalar::BF16(v) => v.to_bits() as u64,
            Scalar::F32(v) => v.to_bits() as u64,
            Scalar::F64(v) => v.to_bits(),
        }
    }

    /// A number's text (`3`, `-1.5e-3`, `inf`, `nan`) as a value of `dtype`: integers must be
    /// integer text in the dtype's range; floats round to the nearest value. `None` if the
    /// text is not such a number (bools are spelled by the caller's rules).
    pub fn parse(text: &str, dtype: DType) -> Option<Scalar> {
        match dtype {
            DType::Bool => None,
            DType::F16 => text
                .parse::<f64>()
                .ok()
                .map(|v| Scalar::F16(f16::from_f64(v))),
            DType::BF16 => text
                .parse::<f64>()
                .ok()
                .map(|v| Scalar::BF16(bf16::from_f64(v))),
            DType::F32 => text.parse().ok().map(Scalar::F32),
            DType::F64 => text.parse().ok().map(Scalar::F64),
            int => {
                let v: i128 = text.parse().ok()?;
                let s = Scalar::from_i128(v, int);
                (s.to_i128() == v).then_some(s)
            }
        }
    }

    /// The scalar of `dtype` whose bits (low `dtype.bits()` of them) are `bits`.
    pub fn from_bits(bits: u64, dtype: DType) -> Scalar {
        match dtype {
            DType::Bool => Scalar::Bool(bits & 1 != 0),
            DType::F16 => Scalar::F16(f16::from_bits(bits as u16)),
            DType::BF16 => Scalar::BF16(bf16::from_bits(bits as u16)),
            DType::F32 => Scalar::F32(f32::from_bits(bits as u32)),
            DType::F64 => Scalar::F64(f64::from_bits(bits)),
            int => Scalar::from_i128(bits as i128, int),
        }
    }
}

/// Widening of the primitive element types, for [`Scalar`]'s conversions.
trait Element64: Copy {
    fn to_f64(self) -> f64;
    fn to_i128(self) -> i128;
}

macro_rules! element64_int {
    ($($t:ty),*) => {$(
        impl Element64 for $t {
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn to_i128(self) -> i128 {
                self as i128
            }
        }
    )*};
}
element64_int!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Element64 for bool {
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    fn to_i128(self) -> i128 {
        self as i128
    }
}

macro_rules! element64_float {
    ($($t:ty),*) => {$(
        impl Element64 for $t {
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
            fn to_i128(self) -> i128 {
                f64::from(self) as i128
            }
        }
    )*};
}
element64_float!(f16, bf16, f32, f64);

impl fmt::Display for Scalar {
    /// Python's `repr` of the value: `1.0`, `2`, `True`, `1e-05`, `inf`, `nan`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Scalar::Bool(b) => f.write_str(if b { "True" } else { "False" }),
            Scalar::F16(v) => f.write_str(&python_float_repr(
                v.to_f64(),
                &shortest_sci(v.to_f64(), |x| f16::from_f64(x).to_f64()),
            )),
            Scalar::BF16(v) => f.write_str(&python_float_repr(
                v.to_f64(),
                &shortest_sci(v.to_f64(), |x| bf16::from_f64(x).to_f64()),
            )),
            Scalar::F32(v) => f.write_str(&python_float_repr(v as f64, &format!("{v:e}"))),
            Scalar::F64(v) => f.write_str(&python_float_repr(v, &format!("{v:e}"))),
            Scalar::I8(v) => write!(f, "{v}"),
            Scalar::I16(v) => write!(f, "{v}"),
            Scalar::I32(v) => write!(f, "{v}"),
            Scalar::I64(v) => write!(f, "{v}"),
            Scalar::U8(v) => write!(f, "{v}"),
            Scalar::U16(v) => write!(f, "{v}"),
            Scalar::U32(v) => write!(f, "{v}"),
            Scalar::U64(v) => write!(f, "{v}"),
        }
    }
}

/// The shortest scientific form (`{:e}`) of `v` that reads back as `v` through `round`
/// (a narrow float's rounding): NumPy's repr digits for `float16` and `bfloat16`.
fn shortest_sci(v: f64, round: impl Fn(f64) -> f64) -> String {
    if !v.is_finite() {
        return format!("{v:e}");
    }
    (0..17)
        .map(|p| format!("{v:.p$e}"))
        .find(|t| t.parse::<f64>().map(&round) == Ok(v))
        .unwrap_or_else(|| format!("{v:e}"))
}

/// Python's `repr(float)` from the shortest round-trip digits (`sci` is Rust's `{:e}` of the
/// value in its own precision, so f32 values print with f32's shortest digits, as NumPy does).
/// Positional for exponents in [-4, 16), scientific (`1e-05`, `1.5e+16`) otherwise.
pub fn python_float_repr(v: f64, sci: &str) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let (int, frac) = if point <= 0 {
            (
                "0".to_string(),
                format!("{}{}", "0".repeat((-point) as usize), digits),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        let frac = if frac.is_empty() {
            "0".to_string()
        } else {
            frac
        };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mant = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finfo_and_iinfo_are_numpys() {
        // NumPy's and ml_dtypes' values (np.finfo(np.float16).max etc.).
        let f16 = DType::F16.finfo().unwrap();
        assert_eq!(
            (f16.max, f16.tiny, f16.eps),
            (65504.0, 6.103515625e-05, 0.0009765625)
        );
        assert_eq!(
            (f16.smallest_subnormal, f16.resolution),
            (5.960464477539063e-08, 0.001)
        );
        let bf16 = DType::BF16.finfo().unwrap();
        assert_eq!((bf16.max, bf16.eps), (3.3895313892515355e38, 0.0078125));
        assert_eq!(bf16.smallest_subnormal, 9.183549615799121e-41);
        let f32 = DType::F32.finfo().unwrap();
        assert_eq!(
            (f32.max, f32.tiny),
            (f32::MAX as f64, f32::MIN_POSITIVE as f64)
        );
        assert_eq!((f32.eps, f32.resolution), (f32::EPSILON as f64, 1e-06));
        let f64i = DType::F64.finfo().unwrap();
        assert_eq!(
            (f64i.max, f64i.tiny, f64i.eps),
            (f64::MAX, f64::MIN_POSITIVE, f64::EPSILON)
        );
        assert_eq!((f64i.smallest_subnormal, f64i.precision), (5e-324, 15));
        assert!(DType::I32.finfo().is_none());
        assert_eq!(DType::I8.iinfo().unwrap().min, -128);
        assert_eq!(DType::U64.iinfo().unwrap().max, u64::MAX as i128);
        assert_eq!(DType::I64.iinfo().unwrap().min, i64::MIN as i128);
        assert!(DType::F16.iinfo().is_none());
    }

    #[test]
    fn python_repr_of_floats() {
        let r = |v: f32| Scalar::F32(v).to_string();
        assert_eq!(r(1.0), "1.0");
        assert_eq!(r(-0.0), "-0.0");
        assert_eq!(r(0.1), "0.1");
        assert_eq!(r(12.0), "12.0");
        assert_eq!(r(1e-5), "1e-05");
        assert_eq!(r(0.0001), "0.0001");
        assert_eq!(r(1.5e16), "1.5e+16");
        assert_eq!(r(0.45585027), "0.45585027");
        assert_eq!(Scalar::F64(1e15).to_string(), "1000000000000000.0");
        assert_eq!(Scalar::Bool(true).to_string(), "True");
    }
}
