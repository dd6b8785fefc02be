//! The 16-bit floats (`f16`, `bf16`) widened to f32 and rounded back from it, on their bit
//! patterns with integer instructions (scalar code; compiled code holds them as `i16` bits and
//! computes in f32). Bit for bit the `half` crate's conversions, which eager evaluation uses:
//! round to nearest even, subnormals kept, infinities kept, a NaN stays a NaN with its quiet
//! bit set and the top of its payload kept.

use crate::dtype::DType;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

use super::ops::le;

/// The f32 value of the 16-bit float bits `h` (an `i16`) of `dt`: exact.
pub fn to_f32(b: &mut FunctionBuilder, h: Value, dt: DType) -> Value {
    let h = b.ins().uextend(types::I32, h);
    let bits = if dt == DType::BF16 {
        // bf16 is the high half of an f32; a NaN gets its quiet bit.
        let mag = b.ins().band_imm_s(h, 0x7FFF);
        let nan = b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, mag, 0x7F80);
        let quiet = b.ins().bor_imm_s(h, 0x40);
        let h = b.ins().select(nan, quiet, h);
        b.ins().ishl_imm_s(h, 16)
    } else {
        f16_bits_to_f32_bits(b, h)
    };
    b.ins().bitcast(types::F32, le(), bits)
}

/// The f32 bits of the f16 bits `h` (zero-extended to i32).
fn f16_bits_to_f32_bits(b: &mut FunctionBuilder, h: Value) -> Value {
    let sign = b.ins().band_imm_s(h, 0x8000);
    let sign = b.ins().ishl_imm_s(sign, 16);
    let e = b.ins().ushr_imm_s(h, 10);
    let e = b.ins().band_imm_s(e, 0x1F);
    let m = b.ins().band_imm_s(h, 0x3FF);
    let m13 = b.ins().ishl_imm_s(m, 13);
    // Normal: the exponent rebiased (127 - 15), the mantissa moved up.
    let e_f32 = b.ins().iadd_imm_s(e, 127 - 15);
    let e_f32 = b.ins().ishl_imm_s(e_f32, 23);
    let normal = b.ins().bor(e_f32, m13);
    // Infinity or NaN: all exponent bits, a NaN's payload with the quiet bit.
    let is_nan = b.ins().icmp_imm_u(IntCC::NotEqual, m, 0);
    let quiet = b.ins().iconst(types::I32, 0x0040_0000);
    let zero = b.ins().iconst(types::I32, 0);
    let quiet = b.ins().select(is_nan, quiet, zero);
    let special = b.ins().bor_imm_s(m13, 0x7F80_0000);
    let special = b.ins().bor(special, quiet);
    // Zero or subnormal: m * 2^-24, exact in f32.
    let mf = b.ins().fcvt_from_uint(types::F32, m);
    let scale = b.ins().f32const(2f32.powi(-24));
    let sub = b.ins().fmul(mf, scale);
    let sub = b.ins().bitcast(types::I32, le(), sub);
    let is_special = b.ins().icmp_imm_u(IntCC::Equal, e, 0x1F);
    let is_sub = b.ins().icmp_imm_u(IntCC::Equal, e, 0);
    let r = b.ins().select(is_special, special, normal);
    let r = b.ins().select(is_sub, sub, r);
    b.ins().bor(r, sign)
}

/// The 16-bit float bits (an `i16`) of `dt` nearest the f32 `x` (ties to even).
pub fn from_f32(b: &mut FunctionBuilder, x: Value, dt: DType) -> Value {
    let xi = b.ins().bitcast(types::I32, le(), x);
    let r = if dt == DType::BF16 {
        f32_bits_to_bf16_bits(b, xi)
    } else {
        f32_bits_to_f16_bits(b, xi)
    };
    b.ins().ireduce(types::I16, r)
}

/// `(v >> shift)` rounded to nearest even on the bits shifted out: `round_bit` is the highest
/// of them (`1 << (shift - 1)`), `v` holds every bit (no sticky bits lost).
fn shift_round_even(b: &mut FunctionBuilder, v: Value, shift: Value, round_bit: Value) -> Value {
    let q = b.ins().ushr(v, shift);
    let half = b.ins().band(v, round_bit);
    let has_half = b.ins().icmp_imm_u(IntCC::NotEqual, half, 0);
    // The bits below the round bit, and the lowest kept bit: (3 * round_bit - 1).
    let three = b.ins().imul_imm_s(round_bit, 3);
    let mask = b.ins().iadd_imm_s(three, -1);
    let rest = b.ins().band(v, mask);
    let rest = b.ins().icmp_imm_u(IntCC::NotEqual, rest, 0);
    let up = b.ins().band(has_half, rest);
    let up = b.ins().uextend(types::I32, up);
    b.ins().iadd(q, up)
}

fn f32_bits_to_bf16_bits(b: &mut FunctionBuilder, xi: Value) -> Value {
    let mag = b.ins().band_imm_s(xi, 0x7FFF_FFFF);
    let nan = b
        .ins()
        .icmp_imm_u(IntCC::UnsignedGreaterThan, mag, 0x7F80_0000);
    let hi = b.ins().ushr_imm_s(xi, 16);
    let quiet = b.ins().bor_imm_s(hi, 0x40);
    let sixteen = b.ins().iconst(types::I32, 16);
    let round_bit = b.ins().iconst(types::I32, 0x8000);
    let rounded = shift_round_even(b, xi, sixteen, round_bit);
    b.ins().select(nan, quiet, rounded)
}

fn f32_bits_to_f16_bits(b: &mut FunctionBuilder, xi: Value) -> Value {
    let sign = b.ins().ushr_imm_s(xi, 16);
    let sign = b.ins().band_imm_s(sign, 0x8000);
    let exp = b.ins().ushr_imm_s(xi, 23);
    let exp = b.ins().band_imm_s(exp, 0xFF);
    let man = b.ins().band_imm_s(xi, 0x7F_FFFF);
    // Infinity or NaN.
    let is_nan = b.ins().icmp_imm_u(IntCC::NotEqual, man, 0);
    let nan_bit = b.ins().iconst(types::I32, 0x200);
    let zero = b.ins().iconst(types::I32, 0);
    let nan_bit = b.ins().select(is_nan, nan_bit, zero);
    let payload = b.ins().ushr_imm_s(man, 13);
    let special = b.ins().bor_imm_s(payload, 0x7C00);
    let special = b.ins().bor(special, nan_bit);
    // The exponent rebiased for f16 (signed).
    let half_exp = b.ins().iadd_imm_s(exp, 15 - 127);
    let inf = b.ins().iconst(types::I32, 0x7C00);
    // Normal: the rounding may carry into the exponent (up to infinity), as it should.
    let e10 = b.ins().ishl_imm_s(half_exp, 10);
    let thirteen = b.ins().iconst(types::I32, 13);
    let round_bit = b.ins().iconst(types::I32, 0x1000);
    let m = shift_round_even(b, man, thirteen, round_bit);
    let normal = b.ins().iadd(e10, m);
    // Subnormal: the mantissa with its hidden bit, shifted by 14 - half_exp (14..=24).
    let full = b.ins().bor_imm_s(man, 0x80_0000);
    let fourteen = b.ins().iconst(types::I32, 14);
    let shift = b.ins().isub(fourteen, half_exp);
    let k31 = b.ins().iconst(types::I32, 31);
    let shift_c = b.ins().umin(shift, k31);
    let rb_shift = b.ins().iadd_imm_s(shift_c, -1);
    let one = b.ins().iconst(types::I32, 1);
    let rb = b.ins().ishl(one, rb_shift);
    let sub = shift_round_even(b, full, shift_c, rb);
    let underflow = b.ins().icmp_imm_s(IntCC::SignedLessThan, half_exp, -10);
    let sub = b.ins().select(underflow, zero, sub);
    let is_special = b.ins().icmp_imm_u(IntCC::Equal, exp, 0xFF);
    let overflow = b
        .ins()
        .icmp_imm_s(IntCC::SignedGreaterThanOrEqual, half_exp, 0x1F);
    let is_sub = b
        .ins()
        .icmp_imm_s(IntCC::SignedLessThanOrEqual, half_exp, 0);
    let r = b.ins().select(is_sub, sub, normal);
    let r = b.ins().select(overflow, inf, r);
    let r = b.ins().select(is_special, special, r);
    b.ins().bor(r, sign)
}

/// C's `nextafter` on 16-bit float bits `x` toward `y` (one step of the 16-bit pattern, as
/// `prims::binary::nextafter_f16` takes): a NaN if either is NaN, `y` if they are equal, from
/// a zero the smallest subnormal with `y`'s sign.
pub fn nextafter(b: &mut FunctionBuilder, x: Value, y: Value, dt: DType) -> Value {
    use cranelift_codegen::ir::condcodes::FloatCC;
    let (xf, yf) = (to_f32(b, x, dt), to_f32(b, y, dt));
    let sum = b.ins().fadd(xf, yf);
    let nan = from_f32(b, sum, dt);
    let unordered = b.ins().fcmp(FloatCC::Unordered, xf, yf);
    let equal = b.ins().fcmp(FloatCC::Equal, xf, yf);
    let zero = b.ins().f32const(0.0);
    let x_zero = b.ins().fcmp(FloatCC::Equal, xf, zero);
    let y_neg = b.ins().fcmp(FloatCC::LessThan, yf, zero);
    let tiny_neg = b.ins().iconst(types::I16, 0x8001);
    let tiny_pos = b.ins().iconst(types::I16, 1);
    let tiny = b.ins().select(y_neg, tiny_neg, tiny_pos);
    let up_dir = b.ins().fcmp(FloatCC::LessThan, xf, yf);
    let x_pos = b.ins().fcmp(FloatCC::GreaterThan, xf, zero);
    let up = b.ins().icmp(IntCC::Equal, up_dir, x_pos);
    let inc = b.ins().iadd_imm_s(x, 1);
    let dec = b.ins().iadd_imm_s(x, -1);
    let step = b.ins().select(up, inc, dec);
    let r = b.ins().select(x_zero, tiny, step);
    let r = b.ins().select(equal, y, r);
    b.ins().select(unordered, nan, r)
}
