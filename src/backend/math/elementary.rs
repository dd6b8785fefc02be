//! The inverse trigonometric, hyperbolic and remaining elementary functions: `atan`, `atan2`,
//! `asin`, `acos`, `sinh`, `cosh`, `asinh`, `acosh`, `atanh`, `tan`, `exp2`, `cbrt`, and the
//! bit-level `round` (halfway away from zero) and `nextafter`.
//!
//! Each transcendental here is one f64 algorithm; f32 lanes are widened to f64 (an f32x4 as two
//! f64x2 halves), computed, and rounded once (`via_f64`), so f32 results are correctly rounded
//! but for rare double roundings, at about twice the cost of an f32 polynomial. Methods (f64):
//!
//! | function | method | error (f64, mpmath: tests/math_reference.rs) |
//! |---|---|---|
//! | atan | fdlibm `s_atan.c`'s reduction (|x| at 7/16, 11/16, 19/16, 39/16 to atan(0, 1/2, 1, 3/2, inf) plus atan of a small argument) chosen by selects, its degree-11 odd polynomial and hi/lo constants | 1 ulp |
//! | atan2 | atan(\|y\|/\|x\|), pi - that (pi in two parts) where x's sign bit is set, y's sign copied; 0/0, inf/inf as C99 | 2 ulp |
//! | asin, acos | atan2(x, sqrt((1-x)(1+x))) and atan2(sqrt((1-x)(1+x)), x) | 2 ulp |
//! | sinh | t = expm1(\|x\|), (t + t/(t+1))/2 below 22; above, h = exp(\|x\|/2), (h/2) h so the top of the range does not overflow (fdlibm's split) | 2 ulp |
//! | cosh | 1 + t^2/(2(1+t)) (t = expm1) below ln2/2, (e + 1/e)/2 below 22, (h/2) h above | 2 ulp |
//! | asinh | log1p(a + a^2/(1+sqrt(1+a^2))) for a = \|x\| <= 2, log(2a + 1/(sqrt(a^2+1)+a)) above, log(a) + ln2 beyond 2^28 (fdlibm `s_asinh.c`'s forms) | 2 ulp |
//! | acosh | log1p(t + sqrt(2t + t^2)) (t = x-1) for x <= 2, log(2x - 1/(x+sqrt(x^2-1))) above, log(x) + ln2 beyond 2^28 | 2 ulp |
//! | atanh | log1p(2a + 2a^2/(1-a))/2 below a = 1/2, log1p(2a/(1-a))/2 above | 2 ulp |
//! | tan | sin / cos (the `trig` kernels) | 3 ulp |
//! | exp2 | n = round(x), f = x - n exact, 2^f = exp(p)(1 + e) with f ln2 = p + e in double-double, scaled by 2^n in two halves (so exp2 of an integer is exact) | 1 ulp |
//! | cbrt | bits/3 + B1 (fdlibm's exponent trick; subnormals prescaled by 2^54), three Newton steps, one Halley-form step | 1 ulp |
//!
//! Special values follow C99: NaN in, NaN out; atan(+-inf) = +-pi/2; asin/acos/acosh/atanh
//! outside their domain are NaN, atanh(+-1) = +-inf; the sign of zero is kept by the odd
//! functions. `tan` inherits `sin`/`cos`'s argument range (accurate to |x| ~ 1e13 in f64).
//! Sources: fdlibm (Sun, 1993: `s_atan.c`, `e_atan2.c`, `s_asinh.c`, `e_acosh.c`, `e_atanh.c`,
//! `e_sinh.c`, `e_cosh.c`, `s_cbrt.c`) for the reductions and the atan coefficients.

// Coefficients are kept verbatim as published.
#![allow(clippy::excessive_precision)]

use super::emitter::Em;
use super::{shuffle_f32x4, swap_halves};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, F64, F64X2};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// atan(1/2), atan(1), atan(3/2), atan(inf) in two parts (fdlibm `atanhi`/`atanlo`; the
/// high parts of atan(1) and atan(inf) are pi/4 and pi/2 rounded to f64).
const ATAN_HI: [f64; 4] = [
    4.63647609000806093515e-01,
    std::f64::consts::FRAC_PI_4, // 7.85398163397448278999e-01
    9.82793723247329054082e-01,
    std::f64::consts::FRAC_PI_2, // 1.57079632679489655800e+00
];
const ATAN_LO: [f64; 4] = [
    2.26987774529616870924e-17,
    3.06161699786838301793e-17,
    1.39033110312309984516e-17,
    6.12323399573676603587e-17,
];
/// fdlibm's `aT`: atan(z) = z - z^3 (aT0 + aT1 z^2 + ... + aT10 z^20) on |z| <= 7/16.
const AT: [f64; 11] = [
    3.33333333333329318027e-01,
    -1.99999999998764832476e-01,
    1.42857142725034663711e-01,
    -1.11111104054623557880e-01,
    9.09088713343650656196e-02,
    -7.69187620504482999495e-02,
    6.66107313738753120669e-02,
    -5.83357013379057348645e-02,
    4.97687799461593236017e-02,
    -3.65315727442169155270e-02,
    1.62858201153657823623e-02,
];
/// pi = PI_HI + PI_LO (PI_HI is pi rounded to f64: 3.1415926535897931160).
const PI_HI: f64 = std::f64::consts::PI;
const PI_LO: f64 = 1.2246467991473531772e-16;
/// ln2 = LN2 + LN2_LO.
const LN2: f64 = std::f64::consts::LN_2;
const LN2_LO: f64 = 2.319046813846299558e-17;
/// fdlibm's cbrt exponent bias: (1023 - 1023/3 - 0.03306235651) 2^20, in the high word.
const CBRT_B1: i64 = 715_094_163 << 32;

/// `f` on f64 lanes: f64 operands as they are, f32 operands widened (an f32x4 as two f64x2
/// halves) and the result rounded to f32 once.
pub(super) fn via_f64(
    b: &mut FunctionBuilder,
    xs: &[Value],
    ty: Type,
    fma: bool,
    f: fn(&mut Em, &[Value]) -> Value,
) -> Value {
    match ty {
        F64 | F64X2 => f(&mut Em::new(b, ty, fma), xs),
        F32 => {
            let wide: Vec<Value> = xs.iter().map(|&x| b.ins().fpromote(F64, x)).collect();
            let r = f(&mut Em::new(b, F64, fma), &wide);
            b.ins().fdemote(F32, r)
        }
        F32X4 => {
            let lo: Vec<Value> = xs.iter().map(|&x| b.ins().fvpromote_low(x)).collect();
            let hi: Vec<Value> = xs
                .iter()
                .map(|&x| {
                    let s = swap_halves(b, x);
                    b.ins().fvpromote_low(s)
                })
                .collect();
            let lo = f(&mut Em::new(b, F64X2, fma), &lo);
            let hi = f(&mut Em::new(b, F64X2, fma), &hi);
            let lo = b.ins().fvdemote(lo); // [l0, l1, 0, 0]
            let hi = b.ins().fvdemote(hi); // [h0, h1, 0, 0]
            let mask: Vec<u8> = (0..8).chain(16..24).collect();
            shuffle_f32x4(b, lo, hi, mask)
        }
        _ => panic!("inline math: no f64 evaluation for type {ty}"),
    }
}

/// `f` applied to each lane of the vectors `xs` (or to the scalars `xs`), results gathered
/// into a value of `xs[0]`'s type: for the steps with no lane-wise instruction.
pub(super) fn per_lane(
    b: &mut FunctionBuilder,
    xs: &[Value],
    f: &dyn Fn(&mut FunctionBuilder, &[Value]) -> Value,
) -> Value {
    let ty = b.func.dfg.value_type(xs[0]);
    if !ty.is_vector() {
        return f(b, xs);
    }
    let mut acc = xs[0];
    for lane in 0..ty.lane_count() as u8 {
        let args: Vec<Value> = xs.iter().map(|&x| b.ins().extractlane(x, lane)).collect();
        let r = f(b, &args);
        acc = b.ins().insertlane(acc, r, lane);
    }
    acc
}

impl Em<'_, '_> {
    /// The sign bit of `x` as a mask (set for -0 and negative NaNs too).
    fn sign_bit_set(&mut self, x: Value) -> Value {
        let xb = self.bits(x);
        let zero = self.ci(0);
        self.icmp(IntCC::SignedLessThan, xb, zero)
    }

    /// pi - z, with pi in two parts.
    fn pi_minus(&mut self, z: Value) -> Value {
        let lo = self.c(PI_LO);
        let t = self.sub(z, lo);
        let hi = self.c(PI_HI);
        self.sub(hi, t)
    }

    /// atan(a) for a >= 0 (or NaN): fdlibm's reduction to an argument of magnitude <= 7/16,
    /// chosen by selects (the five ranges share one form, (p a - q) / (p + q a)).
    fn atan_abs(&mut self, a: Value) -> Value {
        let mut m = [a; 4];
        for (k, bound) in [7.0 / 16.0, 11.0 / 16.0, 19.0 / 16.0, 39.0 / 16.0]
            .into_iter()
            .enumerate()
        {
            let bc = self.c(bound);
            m[k] = self.fcmp(FloatCC::GreaterThanOrEqual, a, bc);
        }
        // The range masks nest (m[3] implies m[2] ...), so later selects override earlier.
        let pick = |e: &mut Self, none: f64, ks: [f64; 4]| {
            let mut v = e.c(none);
            for (mk, k) in m.iter().zip(ks) {
                v = e.sel_c(*mk, k, v);
            }
            v
        };
        let p = pick(self, 1.0, [2.0, 1.0, 1.0, 0.0]);
        let q = pick(self, 0.0, [1.0, 1.0, 1.5, 1.0]);
        let hi = pick(self, 0.0, ATAN_HI);
        let lo = pick(self, 0.0, ATAN_LO);
        let nq = self.neg(q);
        let num = self.madd(p, a, nq);
        // -1/a above 39/16 (written out, so that 0 * inf does not make a NaN).
        let num = self.sel_c(m[3], -1.0, num);
        let den = self.madd(q, a, p);
        let z = self.div(num, den);
        let zz = self.mul(z, z);
        let w = self.mul(zz, zz);
        let even = self.horner(w, &[AT[10], AT[8], AT[6], AT[4], AT[2], AT[0]]);
        let s1 = self.mul(zz, even);
        let odd = self.horner(w, &[AT[9], AT[7], AT[5], AT[3], AT[1]]);
        let s2 = self.mul(w, odd);
        let s = self.add(s1, s2);
        let u = self.mul(z, s);
        let u = self.sub(u, lo);
        let u = self.sub(u, z);
        self.sub(hi, u)
    }

    pub(super) fn atan_f64(&mut self, x: Value) -> Value {
        let a = self.abs(x);
        let r = self.atan_abs(a);
        self.with_sign_of(r, x)
    }

    /// atan2(y, x) from z = atan(|y| / |x|): z or pi - z by x's sign bit, y's sign copied.
    pub(super) fn atan2_f64(&mut self, y: Value, x: Value) -> Value {
        let ay = self.abs(y);
        let ax = self.abs(x);
        let q = self.div(ay, ax);
        let z = self.atan_abs(q);
        // atan2(+-0, x) = +-0 or +-pi (q is NaN for 0/0), unless x is NaN.
        let zero = self.c(0.0);
        let y0 = self.fcmp(FloatCC::Equal, ay, zero);
        let x_num = self.fcmp(FloatCC::Ordered, x, x);
        let y0 = self.and(y0, x_num);
        let z = self.sel(y0, zero, z);
        // atan2(+-inf, +-inf) = +-pi/4 or +-3pi/4 (q is NaN for inf/inf).
        let inf = self.inf();
        let yi = self.fcmp(FloatCC::Equal, ay, inf);
        let xi = self.fcmp(FloatCC::Equal, ax, inf);
        let both = self.and(yi, xi);
        let z = self.sel_c(both, std::f64::consts::FRAC_PI_4, z);
        let neg = self.sign_bit_set(x);
        let flipped = self.pi_minus(z);
        let r = self.sel(neg, flipped, z);
        self.with_sign_of(r, y)
    }

    /// sqrt((1 - x)(1 + x)) = sqrt(1 - x^2) without cancelling near |x| = 1.
    fn cos_of_asin(&mut self, x: Value) -> Value {
        let one = self.c(1.0);
        let a = self.sub(one, x);
        let b = self.add(one, x);
        let p = self.mul(a, b);
        self.sqrt(p)
    }

    pub(super) fn asin_f64(&mut self, x: Value) -> Value {
        let s = self.cos_of_asin(x);
        let a = self.abs(x);
        let q = self.div(a, s);
        let r = self.atan_abs(q);
        self.with_sign_of(r, x)
    }

    pub(super) fn acos_f64(&mut self, x: Value) -> Value {
        let s = self.cos_of_asin(x);
        let a = self.abs(x);
        let q = self.div(s, a);
        let z = self.atan_abs(q);
        let neg = self.sign_bit_set(x);
        let flipped = self.pi_minus(z);
        self.sel(neg, flipped, z)
    }

    /// exp(a/2)^2 / 2 as (h/2) h: sinh and cosh where e^-a no longer counts (a >= 22), without
    /// overflowing before the result does.
    fn half_exp_squared(&mut self, a: Value) -> Value {
        let half = self.c(0.5);
        let ha = self.mul(half, a);
        let h = self.exp(ha);
        let hh = self.mul(half, h);
        self.mul(hh, h)
    }

    pub(super) fn sinh_f64(&mut self, x: Value) -> Value {
        let a = self.abs(x);
        let t = self.expm1(a);
        let one = self.c(1.0);
        let t1 = self.add(t, one);
        let q = self.div(t, t1);
        let s = self.add(t, q);
        let half = self.c(0.5);
        let small = self.mul(half, s);
        let big = self.half_exp_squared(a);
        let lim = self.c(22.0);
        let is_small = self.fcmp(FloatCC::LessThan, a, lim);
        let r = self.sel(is_small, small, big);
        self.with_sign_of(r, x)
    }

    pub(super) fn cosh_f64(&mut self, x: Value) -> Value {
        let a = self.abs(x);
        let one = self.c(1.0);
        let half = self.c(0.5);
        // 1 + t^2 / (2 (1 + t)), t = expm1(a).
        let t = self.expm1(a);
        let w = self.add(one, t);
        let w2 = self.add(w, w);
        let tt = self.mul(t, t);
        let q = self.div(tt, w2);
        let tiny = self.add(one, q);
        // (e + 1/e) / 2.
        let e = self.exp(a);
        let he = self.mul(half, e);
        let ie = self.div(half, e);
        let mid = self.add(he, ie);
        let big = self.half_exp_squared(a);
        let lim_mid = self.c(22.0);
        let is_mid = self.fcmp(FloatCC::LessThan, a, lim_mid);
        let r = self.sel(is_mid, mid, big);
        let lim_tiny = self.c(0.5 * LN2);
        let is_tiny = self.fcmp(FloatCC::LessThan, a, lim_tiny);
        self.sel(is_tiny, tiny, r)
    }

    /// asinh's and acosh's forms above a = 2: log(mid_arg), or log(a) + ln2 beyond 2^28 (where
    /// mid_arg is 2a to working precision, and 2a could overflow); `small` at and below 2.
    fn above_two_by_log(&mut self, a: Value, mid_arg: Value, small: Value) -> Value {
        let huge = self.c(2f64.powi(28));
        let is_huge = self.fcmp(FloatCC::GreaterThan, a, huge);
        let arg = self.sel(is_huge, a, mid_arg);
        let l = self.log(arg);
        let zero = self.c(0.0);
        let ln2 = self.sel_c(is_huge, LN2, zero);
        let large = self.add(l, ln2);
        let two = self.c(2.0);
        let is_large = self.fcmp(FloatCC::GreaterThan, a, two);
        self.sel(is_large, large, small)
    }

    pub(super) fn asinh_f64(&mut self, x: Value) -> Value {
        let a = self.abs(x);
        let one = self.c(1.0);
        let aa = self.mul(a, a);
        let s = self.add(aa, one);
        let r = self.sqrt(s); // sqrt(a^2 + 1)
                              // a <= 2: log1p(a + a^2 / (1 + sqrt(1 + a^2))).
        let d = self.add(one, r);
        let q = self.div(aa, d);
        let u = self.add(a, q);
        let small = self.log1p(u);
        // a > 2: log(2a + 1 / (sqrt(a^2 + 1) + a)); a > 2^28: log(a) + ln2.
        let ra = self.add(r, a);
        let inv = self.div(one, ra);
        let two_a = self.add(a, a);
        let mid_arg = self.add(two_a, inv);
        let res = self.above_two_by_log(a, mid_arg, small);
        self.with_sign_of(res, x)
    }

    pub(super) fn acosh_f64(&mut self, x: Value) -> Value {
        let one = self.c(1.0);
        // x <= 2: log1p(t + sqrt(2t + t^2)), t = x - 1.
        let t = self.sub(x, one);
        let tt = self.mul(t, t);
        let t2 = self.add(t, t);
        let s = self.add(t2, tt);
        let r = self.sqrt(s);
        let u = self.add(t, r);
        let small = self.log1p(u);
        // x > 2: log(2x - 1 / (x + sqrt(x^2 - 1))); x > 2^28: log(x) + ln2.
        let xx = self.mul(x, x);
        let xm = self.sub(xx, one);
        let sq = self.sqrt(xm);
        let d = self.add(x, sq);
        let inv = self.div(one, d);
        let two_x = self.add(x, x);
        let mid_arg = self.sub(two_x, inv);
        let res = self.above_two_by_log(x, mid_arg, small);
        // Below 1 (and for NaN) the forms are NaN or wrong: NaN.
        let below = self.fcmp(FloatCC::UnorderedOrLessThan, x, one);
        let nan = self.c(f64::NAN);
        self.sel(below, nan, res)
    }

    pub(super) fn atanh_f64(&mut self, x: Value) -> Value {
        let a = self.abs(x);
        let one = self.c(1.0);
        let d = self.sub(one, a);
        let two_a = self.add(a, a);
        let big_arg = self.div(two_a, d); // 2a / (1 - a)
        let q = self.mul(big_arg, a); // 2a^2 / (1 - a)
        let small_arg = self.add(two_a, q);
        let half = self.c(0.5);
        let is_small = self.fcmp(FloatCC::LessThan, a, half);
        let arg = self.sel(is_small, small_arg, big_arg);
        let l = self.log1p(arg);
        let r = self.mul(half, l);
        self.with_sign_of(r, x)
    }

    pub(super) fn tan_f64(&mut self, x: Value) -> Value {
        let s = self.sincos(x, false);
        let c = self.sincos(x, true);
        self.div(s, c)
    }

    pub(super) fn exp2_f64(&mut self, x: Value) -> Value {
        // Beyond +-1100 the result is inf or 0 either way; the clamp keeps n's halves normal.
        let xc = self.clamp(x, Some(-1100.0), Some(1100.0));
        let (nf, tb) = self.round_mul(xc, 1.0);
        let f = self.sub(xc, nf);
        let ln2 = self.c(LN2);
        let (p, e) = self.two_prod(f, ln2);
        let ln2_lo = self.c(LN2_LO);
        let e = self.madd(f, ln2_lo, e);
        let ep = self.exp(p);
        let r = self.madd(ep, e, ep);
        self.scale(r, tb)
    }

    pub(super) fn cbrt_f64(&mut self, x: Value) -> Value {
        let a = self.abs(x);
        let tiny = self.c(f64::MIN_POSITIVE);
        let is_sub = self.fcmp(FloatCC::LessThan, a, tiny);
        let up = self.c(2f64.powi(54));
        let scaled = self.mul(a, up);
        let a_s = self.sel(is_sub, scaled, a);
        // t0 = from_bits(bits / 3 + B1): the exponent divided by three, within 3.3%.
        let bits = self.bits(a_s);
        let third = per_lane(self.b, &[bits], &|b, v| b.ins().udiv_imm_u(v[0], 3));
        let t_bits = self.iadd_c(third, CBRT_B1);
        let t = self.float(t_bits);
        let down = self.c(2f64.powi(-18));
        let t_down = self.mul(t, down);
        let mut t = self.sel(is_sub, t_down, t);
        // Newton: t += (a/t^2 - t)/3, the relative error squaring each time.
        let third_c = self.c(1.0 / 3.0);
        for _ in 0..3 {
            let tt = self.mul(t, t);
            let r = self.div(a, tt);
            let d = self.sub(r, t);
            t = self.madd(d, third_c, t);
        }
        // Last step in fdlibm's form: t + t (r - t) / (2t + r), r = a / t^2.
        let tt = self.mul(t, t);
        let r = self.div(a, tt);
        let d = self.sub(r, t);
        let w = self.add(t, t);
        let w = self.add(w, r);
        let q = self.div(d, w);
        let t = self.madd(t, q, t);
        // 0, inf and NaN are their own cube roots.
        let zero = self.c(0.0);
        let pos = self.fcmp(FloatCC::GreaterThan, a, zero);
        let inf = self.inf();
        let fin = self.fcmp(FloatCC::LessThan, a, inf);
        let regular = self.and(pos, fin);
        let r = self.sel(regular, t, a);
        self.with_sign_of(r, x)
    }

    /// round(x) with halfway cases away from zero: t = trunc(x), plus trunc(2 (x - t)) (both
    /// steps exact), with x's sign; |x| >= 2^p is already an integer (and inf, NaN pass
    /// through).
    pub(super) fn round_away(&mut self, x: Value) -> Value {
        let t = self.b.ins().trunc(x);
        let d = self.sub(x, t);
        let d2 = self.add(d, d);
        let adj = self.b.ins().trunc(d2);
        let r = self.add(t, adj);
        // The sign of x (t + adj is +0 for x = -0: -0 + +0).
        let r = self.abs(r);
        let r = self.with_sign_of(r, x);
        let a = self.abs(x);
        let lim = self.c(if self.wide {
            2f64.powi(52)
        } else {
            2f64.powi(23)
        });
        let fractional = self.fcmp(FloatCC::LessThan, a, lim);
        self.sel(fractional, r, x)
    }

    /// C's nextafter on the bit patterns: one step up or down, from a zero the smallest
    /// subnormal with y's sign; y where x == y; NaN where either is NaN.
    pub(super) fn nextafter(&mut self, x: Value, y: Value) -> Value {
        let xb = self.bits(x);
        let up = self.iadd_c(xb, 1);
        let down = self.iadd_c(xb, -1);
        let zero = self.c(0.0);
        let toward_up = self.fcmp(FloatCC::LessThan, x, y);
        let positive = self.fcmp(FloatCC::GreaterThan, x, zero);
        // Moving up from a positive x, or down from a negative one, grows the bit pattern.
        let shrink = self.xor(toward_up, positive);
        let stepped = self.sel(shrink, down, up);
        let yb = self.bits(y);
        let sm = self.ci(self.sign_mask());
        let ys = self.and(yb, sm);
        let one = self.ci(1);
        let smallest = self.or(ys, one);
        let x0 = self.fcmp(FloatCC::Equal, x, zero);
        let r = self.sel(x0, smallest, stepped);
        let r = self.float(r);
        let eq = self.fcmp(FloatCC::Equal, x, y);
        let r = self.sel(eq, y, r);
        let unordered = self.fcmp(FloatCC::Unordered, x, y);
        let nan = self.add(x, y);
        self.sel(unordered, nan, r)
    }
}
