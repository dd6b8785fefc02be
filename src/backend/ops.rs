//! Instruction selection for one element (or one vector of elements) of each elementwise
//! primitive, with the interpreter's semantics: IEEE `max`/`min` (NaN wins, +0 > -0), XLA's
//! integer division and shift rules, saturating float-to-int conversion, threefry2x32.
//! Which function here (or in `math`) emits a primitive, and whether it vectorises, is read
//! from the primitive's row in `prims::unary`'s or `prims::binary`'s table.
//!
//! Every dtype: the 16-bit floats (held as `i16` bits) are computed in f32 and rounded back
//! (`half`), 8- and 16-bit integers in 32 bits and wrapped back, 64-bit integers natively;
//! those are scalar code only (`has_lanes`).
//!
//! A value is either uniform across the vector lanes (`Val::S`, a scalar: literals, rank-0
//! operands, broadcasts along the vectorised dimension) or a vector (`Val::V`). Ops on
//! uniform operands stay scalar (and are hoisted out of loops by Cranelift); mixed operands are
//! splatted. Bools are `i8` 0/1 as scalars and all-ones lane masks as vectors.

use super::math::{self, MathFn, RuntimeFn};
use crate::defs::threefry;
use crate::dtype::{DType, Scalar};
use crate::prims::unary::RoundingMethod;
use crate::prims::{BinaryOp, UnaryOp};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// The same scalar in every lane.
    S(Value),
    /// One element per lane.
    V(Value),
}

impl Val {
    pub fn is_vec(self) -> bool {
        matches!(self, Val::V(_))
    }
}

/// Per-kernel code generation settings.
#[derive(Clone, Copy, Debug)]
pub struct Cx {
    /// The ISA has fused multiply-add.
    pub fma: bool,
    /// Lanes of the vector values (4 for 32-bit elements, 2 for f64; 1 in scalar code).
    pub lanes: u8,
}

/// The scalar Cranelift type of a dtype.
pub fn sty(dt: DType) -> Type {
    match dt {
        DType::Bool | DType::I8 | DType::U8 => types::I8,
        // The 16-bit floats are held as their bits; arithmetic on them is done in f32.
        DType::I16 | DType::U16 | DType::F16 | DType::BF16 => types::I16,
        DType::I32 | DType::U32 => types::I32,
        DType::I64 | DType::U64 => types::I64,
        DType::F32 => types::F32,
        DType::F64 => types::F64,
    }
}

/// The vector type of a dtype with `lanes` lanes (bools are lane masks).
pub fn vty(dt: DType, lanes: u8) -> Type {
    match (dt, lanes) {
        (DType::F32, 4) => types::F32X4,
        (DType::I32 | DType::U32, 4) | (DType::Bool, 4) => types::I32X4,
        (DType::F64, 2) | (DType::Bool, 2) => {
            if dt == DType::F64 {
                types::F64X2
            } else {
                types::I64X2
            }
        }
        _ => unreachable!("no {lanes}-lane vector of {dt}"),
    }
}

/// Flags for vector bitcasts (lane layouts must be stated).
pub fn le() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// A scalar constant.
pub fn sconst(b: &mut FunctionBuilder, v: Scalar) -> Value {
    match v {
        Scalar::F32(x) => b.ins().f32const(x),
        Scalar::F64(x) => b.ins().f64const(x),
        // Integers, bools and the 16-bit floats' bits.
        _ => b.ins().iconst(sty(v.dtype()), v.bits() as i64),
    }
}

/// A value as a vector of `dt` (splatting a uniform one).
pub fn to_vec(b: &mut FunctionBuilder, cx: &Cx, dt: DType, v: Val) -> Value {
    match v {
        Val::V(x) => x,
        Val::S(x) => {
            let ty = vty(dt, cx.lanes);
            if dt == DType::Bool {
                let m = b.ins().bmask(ty.lane_type(), x);
                b.ins().splat(ty, m)
            } else {
                b.ins().splat(ty, x)
            }
        }
    }
}

/// Operands in one representation: all scalar, or all vectors. Returns (values, vector?).
fn lift(b: &mut FunctionBuilder, cx: &Cx, dts: &[DType], vals: &[Val]) -> (Vec<Value>, bool) {
    if vals.iter().any(|v| v.is_vec()) {
        let vs = vals
            .iter()
            .zip(dts)
            .map(|(&v, &dt)| to_vec(b, cx, dt, v))
            .collect();
        (vs, true)
    } else {
        let vs = vals
            .iter()
            .map(|v| match v {
                Val::S(x) => *x,
                Val::V(_) => unreachable!(),
            })
            .collect();
        (vs, false)
    }
}

fn wrap(v: Value, vec: bool) -> Val {
    if vec {
        Val::V(v)
    } else {
        Val::S(v)
    }
}

/// `x` as a constant of the type of `like` (scalar or splatted vector).
fn konst(b: &mut FunctionBuilder, cx: &Cx, v: Scalar, vec: bool) -> Value {
    let s = sconst(b, v);
    if vec {
        let dt = v.dtype();
        to_vec(b, cx, dt, Val::S(s))
    } else {
        s
    }
}

fn float_one(dt: DType) -> Scalar {
    if dt == DType::F32 {
        Scalar::F32(1.0)
    } else {
        Scalar::F64(1.0)
    }
}

fn float_zero(dt: DType) -> Scalar {
    if dt == DType::F32 {
        Scalar::F32(0.0)
    } else {
        Scalar::F64(0.0)
    }
}

/// `cond ? x : y` where cond is a bool (i8 or mask) of the same representation as x and y.
fn choose(b: &mut FunctionBuilder, vec: bool, cond: Value, x: Value, y: Value) -> Value {
    if vec {
        let ty = b.func.dfg.value_type(x);
        let m = if b.func.dfg.value_type(cond) == ty {
            cond
        } else {
            b.ins().bitcast(ty, le(), cond)
        };
        b.ins().bitselect(m, x, y)
    } else {
        b.ins().select(cond, x, y)
    }
}

/// The backend's columns of `prims::unary`'s table: `vectorizes:` names a function here
/// (`from`, `to` -> can a vector of the op be emitted?), and `lower:` either a `MathFn` of
/// `backend::math` (`math::Exp`) or a function here (`ops::neg`) that emits the op on its
/// lifted operand (and the row's params).
macro_rules! unary_lowerings {
    (@lower math::$f:ident($b:ident, $cx:ident, $a:ident $(, $param:expr)*)) => {
        math::emit_math($b, MathFn::$f, $a.x, $a.ty, $cx.fma)
    };
    (@lower ops::$f:ident($b:ident, $cx:ident, $a:ident $(, $param:expr)*)) => {
        $f($b, $cx, $a $(, $param)*)
    };
    ($(
        $(#[$doc:meta])*
        $op:ident $({ $($field:ident: $fty:ty),* })? = $name:literal, $accepts:ident, $cost:ident,
            vectorizes: $vectorizes:ident, lower: $lib:ident::$lower:ident { $($rules:tt)* }
    )*) => {
        /// Could this unary op on a vector of `from` be emitted with vector instructions?
        pub fn unary_vectorizes(op: &UnaryOp, from: DType, to: DType) -> bool {
            match op {
                $(UnaryOp::$op { .. } => $vectorizes(from, to),)*
            }
        }

        /// The row's lowering of `op` on its lifted operand.
        fn lower_unary(b: &mut FunctionBuilder, cx: &Cx, op: &UnaryOp, a: Operand) -> Value {
            match op {
                $(UnaryOp::$op $({ $($field),* })? => {
                    unary_lowerings!(@lower $lib::$lower(b, cx, a $($(, *$field)*)?))
                })*
            }
        }
    };
}

crate::prims::unary::unary_table!(unary_lowerings);

/// The operand of a unary op, lifted to one representation (scalar or vector of `ty`).
#[derive(Clone, Copy)]
struct Operand {
    x: Value,
    from: DType,
    to: DType,
    vec: bool,
    ty: Type,
}

/// One element (or vector) of `op` on `x` of dtype `from`, giving `to`. The 16-bit floats
/// are computed in f32 and rounded back, narrow integers in 32 bits and wrapped back (scalar
/// code only), conversions and bitcasts as they are.
pub fn unary(
    b: &mut FunctionBuilder,
    cx: &Cx,
    op: &UnaryOp,
    from: DType,
    to: DType,
    x: Val,
) -> Val {
    let moves_bits = matches!(
        op,
        UnaryOp::ConvertElementType { .. }
            | UnaryOp::BitcastConvertType { .. }
            | UnaryOp::StopGradient
    );
    if !moves_bits {
        if let Some(wide) = computed_in(from) {
            let Val::S(v) = x else {
                unreachable!("{from} is computed in scalar code only")
            };
            // The bit counts read the bits as unsigned; the rest the value.
            let bit_count = matches!(op, UnaryOp::PopulationCount | UnaryOp::Clz);
            let v = if bit_count {
                b.ins().uextend(types::I32, v)
            } else {
                convert_scalar(b, v, from, wide)
            };
            let wide_to = if to == from { wide } else { to };
            let Val::S(r) = unary_in(b, cx, op, wide, wide_to, Val::S(v)) else {
                unreachable!("scalar in, scalar out")
            };
            let r = if matches!(op, UnaryOp::Clz) {
                // Leading zeros of the 32-bit extension, less the extension's zeros.
                b.ins().iadd_imm_s(r, -(32 - from.bits() as i64))
            } else {
                r
            };
            return Val::S(if to == from {
                convert_scalar(b, r, wide, to)
            } else {
                r
            });
        }
    }
    unary_in(b, cx, op, from, to, x)
}

/// The dtype a narrow dtype's arithmetic is computed in: f32 for the 16-bit floats, i32 or
/// u32 for the 8- and 16-bit integers (the low bits of a ring operation, a quotient or a
/// comparison are the same); `None` for the dtypes computed as they are.
pub fn computed_in(dt: DType) -> Option<DType> {
    match dt {
        d if d.is_half() => Some(DType::F32),
        DType::I8 | DType::I16 => Some(DType::I32),
        DType::U8 | DType::U16 => Some(DType::U32),
        _ => None,
    }
}

/// Whether values of `dt` may be held in vector lanes (the others are computed in scalar
/// code: their lanes would need instructions x86-64 lacks).
pub fn has_lanes(dt: DType) -> bool {
    matches!(
        dt,
        DType::Bool | DType::I32 | DType::U32 | DType::F32 | DType::F64
    )
}

fn unary_in(b: &mut FunctionBuilder, cx: &Cx, op: &UnaryOp, from: DType, to: DType, x: Val) -> Val {
    let (xs, vec) = lift(b, cx, &[from], &[x]);
    let ty = if vec { vty(from, cx.lanes) } else { sty(from) };
    let a = Operand {
        x: xs[0],
        from,
        to,
        vec,
        ty,
    };
    wrap(lower_unary(b, cx, op, a), vec)
}

/// Every dtype pair vectorises.
fn always(_from: DType, _to: DType) -> bool {
    true
}

/// No lane-wise instruction (x86-64 has none for 32-bit popcnt/clz before AVX-512): scalar code.
fn never(_from: DType, _to: DType) -> bool {
    false
}

/// The conversions with a lane-wise instruction (the rest go through scalar code).
fn convertible_in_lanes(from: DType, to: DType) -> bool {
    use DType::*;
    match (from, to) {
        (a, b) if a == b => true,
        (I32, U32) | (U32, I32) | (F32, I32) | (I32, F32) | (U32, F32) => true,
        (_, Bool) | (Bool, _) => true,
        _ => false,
    }
}

fn neg(b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    if a.from.is_float() {
        b.ins().fneg(a.x)
    } else {
        b.ins().ineg(a.x)
    }
}

fn abs(b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    match a.from {
        // x86-64 lowers a vector `fabs` by building the sign mask in registers each time; a
        // constant mask (the same bits cleared) is loaded once or read from memory.
        DType::F32 if a.vec => {
            let m = b.ins().f32const(f32::from_bits(u32::MAX >> 1));
            let m = b.ins().splat(a.ty, m);
            b.ins().band(a.x, m)
        }
        DType::F64 if a.vec => {
            let m = b.ins().f64const(f64::from_bits(u64::MAX >> 1));
            let m = b.ins().splat(a.ty, m);
            b.ins().band(a.x, m)
        }
        d if d.is_float() => b.ins().fabs(a.x),
        d if d.is_signed_int() => b.ins().iabs(a.x),
        _ => a.x,
    }
}

fn sign(b: &mut FunctionBuilder, cx: &Cx, a: Operand) -> Value {
    let (x, vec, from) = (a.x, a.vec, a.from);
    match from {
        d if d.is_float() => {
            let one = konst(b, cx, float_one(from), vec);
            let zero = konst(b, cx, float_zero(from), vec);
            let cs = if vec {
                // fcopysign has no vector lowering on x86-64: do it on the bits.
                let ity = if from == DType::F32 {
                    types::I32X4
                } else {
                    types::I64X2
                };
                let lane = ity.lane_type();
                let xi = b.ins().bitcast(ity, le(), x);
                let sign = b.ins().iconst(
                    lane,
                    if lane == types::I32 {
                        0x8000_0000
                    } else {
                        i64::MIN
                    },
                );
                let sign = b.ins().splat(ity, sign);
                let s = b.ins().band(xi, sign);
                let oi = b.ins().bitcast(ity, le(), one);
                let r = b.ins().bor(s, oi);
                b.ins().bitcast(a.ty, le(), r)
            } else {
                b.ins().fcopysign(one, x)
            };
            let is0 = b.ins().fcmp(FloatCC::Equal, x, zero);
            let isnan = b.ins().fcmp(FloatCC::Unordered, x, x);
            let keep = b.ins().bor(is0, isnan);
            choose(b, vec, keep, x, cs)
        }
        d if d.is_signed_int() => {
            let one = konst(b, cx, Scalar::from_i128(1, d), vec);
            let m1 = konst(b, cx, Scalar::from_i128(-1, d), vec);
            let t = b.ins().smin(x, one);
            b.ins().smax(t, m1)
        }
        d => {
            let zero = konst(b, cx, Scalar::from_i128(0, d), vec);
            let nz = b.ins().icmp(IntCC::NotEqual, x, zero);
            let one = konst(b, cx, Scalar::from_i128(1, d), vec);
            choose(b, vec, nz, one, zero)
        }
    }
}

fn square(b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    if a.from.is_float() {
        b.ins().fmul(a.x, a.x)
    } else {
        b.ins().imul(a.x, a.x)
    }
}

fn floor(b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    b.ins().floor(a.x)
}

fn ceil(b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    b.ins().ceil(a.x)
}

fn round(b: &mut FunctionBuilder, _cx: &Cx, a: Operand, method: RoundingMethod) -> Value {
    match method {
        RoundingMethod::ToNearestEven => b.ins().nearest(a.x),
        RoundingMethod::AwayFromZero => math::emit_round_away(b, a.x, a.ty),
    }
}

/// |x| < inf: false for infinities and NaN.
fn is_finite(b: &mut FunctionBuilder, cx: &Cx, a: Operand) -> Value {
    let inf = if a.from == DType::F32 {
        Scalar::F32(f32::INFINITY)
    } else {
        Scalar::F64(f64::INFINITY)
    };
    let inf = konst(b, cx, inf, a.vec);
    let ax = b.ins().fabs(a.x);
    b.ins().fcmp(FloatCC::LessThan, ax, inf)
}

fn population_count(b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    b.ins().popcnt(a.x)
}

fn clz(b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    b.ins().clz(a.x)
}

fn sqrt(b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    b.ins().sqrt(a.x)
}

fn rsqrt(b: &mut FunctionBuilder, cx: &Cx, a: Operand) -> Value {
    let one = konst(b, cx, float_one(a.from), a.vec);
    let s = b.ins().sqrt(a.x);
    b.ins().fdiv(one, s)
}

fn not(b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    if a.from == DType::Bool && !a.vec {
        b.ins().bxor_imm_s(a.x, 1)
    } else {
        b.ins().bnot(a.x)
    }
}

fn identity(_b: &mut FunctionBuilder, _cx: &Cx, a: Operand) -> Value {
    a.x
}

fn bitcast(b: &mut FunctionBuilder, cx: &Cx, a: Operand, _new_dtype: DType) -> Value {
    let (from, to) = (a.from, a.to);
    let same = if a.vec {
        from.size_bytes() == to.size_bytes() && from.is_float() == to.is_float()
    } else {
        sty(from) == sty(to)
    };
    if same {
        a.x
    } else {
        let tty = if a.vec { vty(to, cx.lanes) } else { sty(to) };
        b.ins().bitcast(tty, le(), a.x)
    }
}

/// A bool (i8 0/1 or mask) as an i32 0/1.
fn bool_to_int(b: &mut FunctionBuilder, cx: &Cx, x: Value, vec: bool) -> Value {
    if vec {
        let one = konst(b, cx, Scalar::I32(1), true);
        b.ins().band(x, one)
    } else {
        b.ins().uextend(types::I32, x)
    }
}

fn convert(b: &mut FunctionBuilder, cx: &Cx, a: Operand, _new_dtype: DType, _weak: bool) -> Value {
    if !a.vec {
        return convert_scalar(b, a.x, a.from, a.to);
    }
    convert_lanes(b, cx, a)
}

/// A scalar of `from` converted to `to` with [`Scalar::convert`]'s semantics: integers wrap,
/// floats to integers truncate and saturate (NaN is 0), to floats the nearest value (ties to
/// even; the 16-bit floats from f32, an f64 or integer through f32 first), to bool `!= 0`.
pub fn convert_scalar(b: &mut FunctionBuilder, x: Value, from: DType, to: DType) -> Value {
    use DType::*;
    if from == to {
        return x;
    }
    if from.is_half() {
        let f = super::half::to_f32(b, x, from);
        return convert_scalar(b, f, F32, to);
    }
    if to.is_half() {
        let f = convert_scalar(b, x, from, F32);
        return super::half::from_f32(b, f, to);
    }
    let tty = sty(to);
    if to == Bool {
        return if from.is_float() {
            let zero = sconst(b, float_zero(from));
            b.ins().fcmp(FloatCC::NotEqual, x, zero)
        } else {
            b.ins().icmp_imm_s(IntCC::NotEqual, x, 0)
        };
    }
    // A bool is the integer 0 or 1.
    let from = if from == Bool { U8 } else { from };
    match (from.is_float(), to.is_float()) {
        (true, true) if to == F64 => b.ins().fpromote(tty, x),
        (true, true) => b.ins().fdemote(tty, x),
        (false, false) => {
            let (fw, tw) = (from.bits(), to.bits());
            if fw == tw {
                x
            } else if fw > tw {
                b.ins().ireduce(tty, x)
            } else if from.is_signed_int() {
                b.ins().sextend(tty, x)
            } else {
                b.ins().uextend(tty, x)
            }
        }
        (false, true) => match from {
            I64 => b.ins().fcvt_from_sint(tty, x),
            U64 => b.ins().fcvt_from_uint(tty, x),
            // Narrower integers are exact in i64 (u32's range needs it).
            _ => {
                let w = convert_scalar(b, x, from, I64);
                b.ins().fcvt_from_sint(tty, w)
            }
        },
        (true, false) => match to {
            I64 | I32 => b.ins().fcvt_to_sint_sat(tty, x),
            U64 | U32 => b.ins().fcvt_to_uint_sat(tty, x),
            // Saturate to i32, then into the narrow range.
            _ => {
                let range = to.iinfo().expect("an integer dtype");
                let (lo, hi) = (range.min, range.max);
                let w = if to.is_signed_int() {
                    let w = b.ins().fcvt_to_sint_sat(types::I32, x);
                    let lo = b.ins().iconst(types::I32, lo as i64);
                    let w = b.ins().smax(w, lo);
                    let hi = b.ins().iconst(types::I32, hi as i64);
                    b.ins().smin(w, hi)
                } else {
                    let w = b.ins().fcvt_to_uint_sat(types::I32, x);
                    let hi = b.ins().iconst(types::I32, hi as i64);
                    b.ins().umin(w, hi)
                };
                b.ins().ireduce(tty, w)
            }
        },
    }
}

/// The conversions between the vectorised dtypes, in lanes (`convertible_in_lanes`).
fn convert_lanes(b: &mut FunctionBuilder, cx: &Cx, a: Operand) -> Value {
    use DType::*;
    let (x, from, to, vec) = (a.x, a.from, a.to, a.vec);
    let tty = if vec { vty(to, cx.lanes) } else { sty(to) };
    match (from, to) {
        (a, c) if a == c => x,
        (I32, U32) | (U32, I32) => x,
        (F32, F64) => b.ins().fpromote(tty, x),
        (F64, F32) => b.ins().fdemote(tty, x),
        (F32 | F64, I32) => b.ins().fcvt_to_sint_sat(tty, x),
        (F32 | F64, U32) => b.ins().fcvt_to_uint_sat(tty, x),
        (I32, F32 | F64) => b.ins().fcvt_from_sint(tty, x),
        (U32, F32) if vec => {
            // The high and low 16 bits are exact as f32 (and so is the high part times
            // 2^16); their sum is the one rounding a direct conversion makes.
            let bits16 = konst(b, cx, Scalar::I32(0xFFFF), true);
            let lo = b.ins().band(x, bits16);
            let hi = b.ins().ushr_imm_s(x, 16);
            let (lo, hi) = (
                b.ins().fcvt_from_sint(tty, lo),
                b.ins().fcvt_from_sint(tty, hi),
            );
            let scale = konst(b, cx, Scalar::F32(65536.0), true);
            let hi = b.ins().fmul(hi, scale);
            b.ins().fadd(hi, lo)
        }
        (U32, F32 | F64) => {
            debug_assert!(!vec);
            let w = b.ins().uextend(types::I64, x);
            b.ins().fcvt_from_sint(tty, w)
        }
        (F32 | F64, Bool) => {
            let zero = konst(b, cx, float_zero(from), vec);
            b.ins().fcmp(FloatCC::NotEqual, x, zero)
        }
        (I32 | U32, Bool) => {
            let zero = konst(b, cx, Scalar::I32(0), vec);
            b.ins().icmp(IntCC::NotEqual, x, zero)
        }
        (Bool, I32 | U32) => bool_to_int(b, cx, x, vec),
        (Bool, F32 | F64) => {
            if vec {
                let bits = if to == F32 {
                    Scalar::I32(1.0f32.to_bits() as i32)
                } else {
                    // Only reachable with 2 lanes, where masks are i64x2.
                    return {
                        let one = b.ins().iconst(types::I64, 1.0f64.to_bits() as i64);
                        let one = b.ins().splat(types::I64X2, one);
                        let m = b.ins().band(x, one);
                        b.ins().bitcast(tty, le(), m)
                    };
                };
                let one = konst(b, cx, bits, true);
                let m = b.ins().band(x, one);
                b.ins().bitcast(tty, le(), m)
            } else {
                let w = b.ins().uextend(types::I32, x);
                b.ins().fcvt_from_sint(tty, w)
            }
        }
        _ => unreachable!("convert {from} -> {to}"),
    }
}

/// `x ** y` by repeated squaring, in the interpreter's order (so results are bit-identical).
fn integer_pow(b: &mut FunctionBuilder, cx: &Cx, a: Operand, y: i32) -> Value {
    let (x, dt, vec) = (a.x, a.from, a.vec);
    let float = dt.is_float();
    let mul = |b: &mut FunctionBuilder, p: Value, q: Value| {
        if float {
            b.ins().fmul(p, q)
        } else {
            b.ins().imul(p, q)
        }
    };
    let mut acc: Option<Value> = None;
    let mut base = x;
    let mut n = y.unsigned_abs();
    while n > 0 {
        if n & 1 == 1 {
            acc = Some(match acc {
                None => base,
                Some(a) => mul(b, a, base),
            });
        }
        n >>= 1;
        if n > 0 {
            base = mul(b, base, base);
        }
    }
    let one = if float {
        float_one(dt)
    } else {
        Scalar::from_i128(1, dt)
    };
    let acc = match acc {
        Some(a) => a,
        None => konst(b, cx, one, vec),
    };
    if y < 0 {
        let one = konst(b, cx, one, vec);
        b.ins().fdiv(one, acc)
    } else {
        acc
    }
}

/// The backend's columns of `prims::binary`'s table: `vectorizes:` names a function here
/// (`dt`, `rhs_uniform` -> can a vector of the op be emitted?), and `lower:` a function here
/// that emits the op, on operands lifted to one representation (`ops::add`) or as they come
/// (`vals::shift_left`).
macro_rules! binary_lowerings {
    (@lower ops::$f:ident($b:ident, $cx:ident, $dt:ident, $x:ident, $y:ident)) => {
        lifted($b, $cx, $dt, $x, $y, $f)
    };
    (@lower vals::$f:ident($b:ident, $cx:ident, $dt:ident, $x:ident, $y:ident)) => {
        $f($b, $cx, $dt, $x, $y)
    };
    ($(
        $(#[$doc:meta])*
        $op:ident = $name:literal, $accepts:ident -> $output:ident, $cost:ident,
            vectorizes: $vectorizes:ident, lower: $lib:ident::$lower:ident { $($rules:tt)* }
    )*) => {
        /// Could this binary op be emitted with vector instructions (`rhs_uniform`: the right
        /// operand is the same in every lane)?
        pub fn binary_vectorizes(op: &BinaryOp, dt: DType, rhs_uniform: bool) -> bool {
            match op {
                $(BinaryOp::$op => $vectorizes(dt, rhs_uniform),)*
            }
        }

        fn binary_in(
            b: &mut FunctionBuilder,
            cx: &Cx,
            op: &BinaryOp,
            dt: DType,
            x: Val,
            y: Val,
        ) -> Val {
            match op {
                $(BinaryOp::$op => binary_lowerings!(@lower $lib::$lower(b, cx, dt, x, y)),)*
            }
        }
    };
}

crate::prims::binary::binary_table!(binary_lowerings);

/// One element (or vector) of `x op y` on operands of dtype `dt`. The 16-bit floats are
/// computed in f32 and rounded back, narrow integers in 32 bits and wrapped back (scalar code
/// only; a shift extends its operand by the op's signedness and tests the amount against the
/// narrow width).
pub fn binary(b: &mut FunctionBuilder, cx: &Cx, op: &BinaryOp, dt: DType, x: Val, y: Val) -> Val {
    let Some(wide) = computed_in(dt) else {
        return binary_in(b, cx, op, dt, x, y);
    };
    let (Val::S(p), Val::S(q)) = (x, y) else {
        unreachable!("{dt} is computed in scalar code only")
    };
    let shift = matches!(
        op,
        BinaryOp::ShiftLeft | BinaryOp::ShiftRightLogical | BinaryOp::ShiftRightArithmetic
    );
    if dt.is_half() && matches!(op, BinaryOp::Nextafter) {
        return Val::S(super::half::nextafter(b, p, q, dt));
    }
    if shift {
        // The operand's bits extended by the op (arithmetic: the sign), the amount unsigned.
        let arith = matches!(op, BinaryOp::ShiftRightArithmetic);
        let p = if arith {
            b.ins().sextend(types::I32, p)
        } else {
            b.ins().uextend(types::I32, p)
        };
        let q = b.ins().uextend(types::I32, q);
        let r = shift_by(b, cx, p, q, dt.bits(), op);
        return Val::S(b.ins().ireduce(sty(dt), r));
    }
    let p = convert_scalar(b, p, dt, wide);
    let q = convert_scalar(b, q, dt, wide);
    let Val::S(r) = binary_in(b, cx, op, wide, Val::S(p), Val::S(q)) else {
        unreachable!("scalar in, scalar out")
    };
    Val::S(if op.is_comparison() {
        r
    } else {
        convert_scalar(b, r, wide, dt)
    })
}

/// The operands of a binary op, lifted to one representation (scalars or vectors of `ty`).
#[derive(Clone, Copy)]
struct Operands {
    p: Value,
    q: Value,
    dt: DType,
    vec: bool,
    ty: Type,
}

/// `lower` applied to `x` and `y` lifted to one representation.
fn lifted(
    b: &mut FunctionBuilder,
    cx: &Cx,
    dt: DType,
    x: Val,
    y: Val,
    lower: fn(&mut FunctionBuilder, &Cx, Operands) -> Value,
) -> Val {
    let (vs, vec) = lift(b, cx, &[dt, dt], &[x, y]);
    let ty = if vec { vty(dt, cx.lanes) } else { sty(dt) };
    let a = Operands {
        p: vs[0],
        q: vs[1],
        dt,
        vec,
        ty,
    };
    wrap(lower(b, cx, a), vec)
}

fn lanes_always(_dt: DType, _rhs_uniform: bool) -> bool {
    true
}

/// Integer division has no vector instruction.
fn lanes_for_floats(dt: DType, _rhs_uniform: bool) -> bool {
    dt.is_float()
}

/// Vector shifts take one amount for every lane.
fn lanes_for_uniform_rhs(_dt: DType, rhs_uniform: bool) -> bool {
    rhs_uniform
}

fn add(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    if a.dt.is_float() {
        b.ins().fadd(a.p, a.q)
    } else {
        b.ins().iadd(a.p, a.q)
    }
}

fn sub(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    if a.dt.is_float() {
        b.ins().fsub(a.p, a.q)
    } else {
        b.ins().isub(a.p, a.q)
    }
}

fn mul(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    if a.dt.is_float() {
        b.ins().fmul(a.p, a.q)
    } else {
        b.ins().imul(a.p, a.q)
    }
}

fn div(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    if a.dt.is_float() {
        b.ins().fdiv(a.p, a.q)
    } else {
        debug_assert!(!a.vec);
        int_div(b, a.p, a.q, a.dt)
    }
}

fn pow(b: &mut FunctionBuilder, cx: &Cx, a: Operands) -> Value {
    math::emit_pow(b, a.p, a.q, a.ty, cx.fma)
}

fn max(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    match a.dt {
        d if d.is_float() => b.ins().fmax(a.p, a.q),
        d if d.is_signed_int() => b.ins().smax(a.p, a.q),
        _ => b.ins().umax(a.p, a.q),
    }
}

fn min(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    match a.dt {
        d if d.is_float() => b.ins().fmin(a.p, a.q),
        d if d.is_signed_int() => b.ins().smin(a.p, a.q),
        _ => b.ins().umin(a.p, a.q),
    }
}

fn and(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    b.ins().band(a.p, a.q)
}

fn or(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    b.ins().bor(a.p, a.q)
}

fn xor(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    b.ins().bxor(a.p, a.q)
}

fn atan2(b: &mut FunctionBuilder, cx: &Cx, a: Operands) -> Value {
    math::emit_atan2(b, a.p, a.q, a.ty, cx.fma)
}

fn nextafter(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    math::emit_nextafter(b, a.p, a.q, a.ty)
}

fn polygamma(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    math::emit_runtime_call(b, RuntimeFn::Polygamma, &[a.p, a.q])
}

/// Float `rem` is C's `fmod` (a runtime call); integers follow XLA: `x rem 0 = x`,
/// `INT_MIN rem -1 = 0`.
fn rem(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    if a.dt.is_float() {
        return math::emit_runtime_call(b, RuntimeFn::Fmod, &[a.p, a.q]);
    }
    debug_assert!(!a.vec);
    let (p, q) = (a.p, a.q);
    let zero = b.ins().icmp_imm_s(IntCC::Equal, q, 0);
    let bad = if a.dt.is_signed_int() {
        let m1 = b.ins().icmp_imm_s(IntCC::Equal, q, -1);
        b.ins().bor(zero, m1)
    } else {
        zero
    };
    // A divisor of 0 or -1 is replaced by 1 (no trap; x rem -1 is 0 as x rem 1 is).
    let one = b.ins().iconst(sty(a.dt), 1);
    let safe_q = b.ins().select(bad, one, q);
    let r = if a.dt.is_signed_int() {
        b.ins().srem(p, safe_q)
    } else {
        b.ins().urem(p, safe_q)
    };
    b.ins().select(zero, p, r)
}

/// A comparison by the condition for floats, signed or unsigned integers (bools unsigned).
fn compare(
    b: &mut FunctionBuilder,
    a: Operands,
    float: FloatCC,
    signed: IntCC,
    unsigned: IntCC,
) -> Value {
    match a.dt {
        d if d.is_float() => b.ins().fcmp(float, a.p, a.q),
        d if d.is_signed_int() => b.ins().icmp(signed, a.p, a.q),
        _ => b.ins().icmp(unsigned, a.p, a.q),
    }
}

fn cmp_eq(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    compare(b, a, FloatCC::Equal, IntCC::Equal, IntCC::Equal)
}

fn cmp_ne(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    compare(b, a, FloatCC::NotEqual, IntCC::NotEqual, IntCC::NotEqual)
}

fn cmp_lt(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    compare(
        b,
        a,
        FloatCC::LessThan,
        IntCC::SignedLessThan,
        IntCC::UnsignedLessThan,
    )
}

fn cmp_le(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    use IntCC::*;
    compare(
        b,
        a,
        FloatCC::LessThanOrEqual,
        SignedLessThanOrEqual,
        UnsignedLessThanOrEqual,
    )
}

fn cmp_gt(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    use IntCC::*;
    compare(
        b,
        a,
        FloatCC::GreaterThan,
        SignedGreaterThan,
        UnsignedGreaterThan,
    )
}

fn cmp_ge(b: &mut FunctionBuilder, _cx: &Cx, a: Operands) -> Value {
    use IntCC::*;
    compare(
        b,
        a,
        FloatCC::GreaterThanOrEqual,
        SignedGreaterThanOrEqual,
        UnsignedGreaterThanOrEqual,
    )
}

/// XLA's integer division: `x / 0` is -1 (all ones for unsigned), `MIN / -1` is `MIN`.
fn int_div(b: &mut FunctionBuilder, p: Value, q: Value, dt: DType) -> Value {
    let ty = sty(dt);
    let zero = b.ins().icmp_imm_s(IntCC::Equal, q, 0);
    let one = b.ins().iconst(ty, 1);
    let signed = dt.is_signed_int();
    let bad = if signed {
        let m1 = b.ins().icmp_imm_s(IntCC::Equal, q, -1);
        let min = dt.iinfo().expect("an integer dtype").min as i64;
        let min = b.ins().icmp_imm_s(IntCC::Equal, p, min);
        let ovf = b.ins().band(m1, min);
        b.ins().bor(zero, ovf)
    } else {
        zero
    };
    let safe_q = b.ins().select(bad, one, q);
    let r = if signed {
        b.ins().sdiv(p, safe_q)
    } else {
        b.ins().udiv(p, safe_q)
    };
    let all_ones = b.ins().iconst(ty, -1);
    b.ins().select(zero, all_ones, r)
}

fn shift_left(b: &mut FunctionBuilder, cx: &Cx, dt: DType, x: Val, y: Val) -> Val {
    shift(b, cx, dt, x, y, &BinaryOp::ShiftLeft)
}

fn shift_right_logical(b: &mut FunctionBuilder, cx: &Cx, dt: DType, x: Val, y: Val) -> Val {
    shift(b, cx, dt, x, y, &BinaryOp::ShiftRightLogical)
}

fn shift_right_arithmetic(b: &mut FunctionBuilder, cx: &Cx, dt: DType, x: Val, y: Val) -> Val {
    shift(b, cx, dt, x, y, &BinaryOp::ShiftRightArithmetic)
}

/// A shift of a 32- or 64-bit `dt` by a uniform amount (vector amounts are not vectorised).
fn shift(b: &mut FunctionBuilder, cx: &Cx, dt: DType, x: Val, y: Val, op: &BinaryOp) -> Val {
    let Val::S(amount) = y else {
        unreachable!("vector shift amounts are not vectorised")
    };
    let vec = x.is_vec();
    let p = to_vec_or_scalar(b, cx, dt, x, vec);
    wrap(shift_by(b, cx, p, amount, dt.bits(), op), vec)
}

/// XLA's shift of a `width`-bit value held in `p` (in a wider type for the narrow dtypes,
/// extended as the op reads it) by the unsigned `amount`: amounts of the width or more give
/// 0 (left, logical) or fill with the sign bit (arithmetic, a shift by `width - 1`), where
/// Cranelift would take them modulo its type's width.
fn shift_by(
    b: &mut FunctionBuilder,
    _cx: &Cx,
    p: Value,
    amount: Value,
    width: u32,
    op: &BinaryOp,
) -> Value {
    let big = b
        .ins()
        .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, amount, width as i64);
    if matches!(op, BinaryOp::ShiftRightArithmetic) {
        let aty = b.func.dfg.value_type(amount);
        let last = b.ins().iconst(aty, width as i64 - 1);
        let amount = b.ins().select(big, last, amount);
        return b.ins().sshr(p, amount);
    }
    let r = if matches!(op, BinaryOp::ShiftLeft) {
        b.ins().ishl(p, amount)
    } else {
        b.ins().ushr(p, amount)
    };
    let ty = b.func.dfg.value_type(p);
    let zero = b.ins().iconst(ty.lane_type(), 0);
    let zero = if ty.is_vector() {
        b.ins().splat(ty, zero)
    } else {
        zero
    };
    b.ins().select(big, zero, r)
}

fn to_vec_or_scalar(b: &mut FunctionBuilder, cx: &Cx, dt: DType, v: Val, vec: bool) -> Value {
    match (v, vec) {
        (Val::S(x), false) => x,
        _ => to_vec(b, cx, dt, v),
    }
}

/// `select_n(which, cases...)`: `which` clamped into range, as the interpreter does.
pub fn select_n(
    b: &mut FunctionBuilder,
    cx: &Cx,
    which_dt: DType,
    case_dt: DType,
    which: Val,
    cases: &[Val],
) -> Val {
    let vec = which.is_vec() || cases.iter().any(|c| c.is_vec());
    let cs: Vec<Value> = cases
        .iter()
        .map(|&c| to_vec_or_scalar(b, cx, case_dt, c, vec))
        .collect();
    let mut res = cs[0];
    for (k, &c) in cs.iter().enumerate().skip(1) {
        match which {
            Val::S(w) => {
                let cond = if which_dt == DType::Bool {
                    w
                } else {
                    b.ins()
                        .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, w, k as i64)
                };
                res = b.ins().select(cond, c, res);
            }
            Val::V(w) => {
                let cond = if which_dt == DType::Bool {
                    w
                } else {
                    let kv = konst(b, cx, Scalar::I32(k as i32), true);
                    b.ins().icmp(IntCC::SignedGreaterThanOrEqual, w, kv)
                };
                res = choose(b, true, cond, c, res);
            }
        }
    }
    wrap(res, vec)
}

/// threefry2x32 over u32 lanes: (k0, k1, x0, x1) -> (y0, y1).
pub fn threefry(b: &mut FunctionBuilder, cx: &Cx, args: [Val; 4]) -> (Val, Val) {
    let dt = DType::U32;
    let add = |b: &mut FunctionBuilder, p: Val, q: Val| binary(b, cx, &BinaryOp::Add, dt, p, q);
    let xor = |b: &mut FunctionBuilder, p: Val, q: Val| binary(b, cx, &BinaryOp::Xor, dt, p, q);
    let c = |b: &mut FunctionBuilder, v: u32| Val::S(b.ins().iconst(types::I32, v as i64));
    let rotl = |b: &mut FunctionBuilder, v: Val, r: u32| match v {
        Val::S(x) => Val::S(b.ins().rotl_imm_s(x, r as i64)),
        Val::V(x) => {
            let hi = b.ins().ishl_imm_s(x, r as i64);
            let lo = b.ins().ushr_imm_s(x, (32 - r) as i64);
            Val::V(b.ins().bor(hi, lo))
        }
    };
    let [k0, k1, b0, b1] = args;
    let parity = c(b, threefry::PARITY);
    let k01 = xor(b, k0, k1);
    let ks = [k0, k1, xor(b, k01, parity)];
    let mut x0 = add(b, b0, ks[0]);
    let mut x1 = add(b, b1, ks[1]);
    for group in 0..5usize {
        for &r in &threefry::ROTATIONS[group % 2] {
            x0 = add(b, x0, x1);
            x1 = rotl(b, x1, r);
            x1 = xor(b, x1, x0);
        }
        x0 = add(b, x0, ks[(group + 1) % 3]);
        let t = add(b, x1, ks[(group + 2) % 3]);
        let g1 = c(b, group as u32 + 1);
        x1 = add(b, t, g1);
    }
    (x0, x1)
}

/// `a * b + c` for f32 values (scalars or f32x4 vectors) formed in f64 and rounded once to f32
/// (`Kind::WideFma`): the instructions the unfused converts, multiply and add would run, a
/// vector taken as two f64x2 halves, so the loop stays 4 lanes wide.
pub fn wide_fma(b: &mut FunctionBuilder, x: Val, y: Val, z: Val) -> Val {
    let formed = |b: &mut FunctionBuilder, x: Value, y: Value, z: Value| {
        let p = b.ins().fmul(x, y);
        b.ins().fadd(p, z)
    };
    if let (Val::S(x), Val::S(y), Val::S(z)) = (x, y, z) {
        let wide = |b: &mut FunctionBuilder, v: Value| b.ins().fpromote(types::F64, v);
        let (x, y, z) = (wide(b, x), wide(b, y), wide(b, z));
        let s = formed(b, x, y, z);
        return Val::S(b.ins().fdemote(types::F32, s));
    }
    let vector = |b: &mut FunctionBuilder, v: Val| match v {
        Val::S(s) => b.ins().splat(types::F32X4, s),
        Val::V(v) => v,
    };
    let (x, y, z) = (vector(b, x), vector(b, y), vector(b, z));
    let lanes = |b: &mut FunctionBuilder, v: Value, bytes_of: [u8; 16], w: Value| {
        let mask = b.func.dfg.immediates.push(bytes_of.to_vec().into());
        let (v, w) = (
            b.ins().bitcast(types::I8X16, le(), v),
            b.ins().bitcast(types::I8X16, le(), w),
        );
        let r = b.ins().shuffle(v, w, mask);
        b.ins().bitcast(types::F32X4, le(), r)
    };
    // Lanes 2 and 3 moved down to 0 and 1.
    const HIGH: [u8; 16] = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
    let half = |b: &mut FunctionBuilder, high: bool| {
        let wide = |b: &mut FunctionBuilder, v: Value| {
            let v = if high { lanes(b, v, HIGH, v) } else { v };
            b.ins().fvpromote_low(v)
        };
        let (p, q, r) = (wide(b, x), wide(b, y), wide(b, z));
        let s = formed(b, p, q, r);
        b.ins().fvdemote(s)
    };
    let (lo, hi) = (half(b, false), half(b, true));
    // Each demoted half holds its two results in lanes 0 and 1: lo's, then hi's.
    const JOIN: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
    Val::V(lanes(b, lo, JOIN, hi))
}

/// A reduction's combining op on two values of one representation.
pub fn combine(b: &mut FunctionBuilder, cx: &Cx, op: &BinaryOp, dt: DType, x: Val, y: Val) -> Val {
    binary(b, cx, op, dt, x, y)
}
