//! Inline math: transcendental functions as Cranelift IR polynomials with range reduction.
//!
//! Cranelift has no transcendental instructions, and a libm call per element costs ~17x an
//! inline polynomial (every xmm register is caller-saved). So `exp`, `log`, `log1p`, `expm1`,
//! `tanh`, `logistic`, `sin`, `cos`, `erf_inv` and `pow` are emitted here as straight-line CLIF:
//! range reduction, a polynomial, reconstruction, and `select`/`bitselect` for the special
//! cases. There are no branches, so the same emitter serves a vectorised loop body (`f32x4`,
//! `f64x2`) and its scalar tail (`f32`, `f64`), and the two give bit-identical results.
//! Constants are `f32const`/`f64const` (splatted for vectors; Cranelift turns those into
//! constant-pool loads and hoists them out of loops).
//!
//! The coefficient tables and constants are `cranax_runtime::math_defs`, shared with the
//! runtime's wide-vector block kernels (`cranax_runtime::vecmath`: f32 exp, log, log1p, tanh,
//! logistic, sin, cos), which compute the same operations as the emitters here so that large
//! loops can call them per block (`emit/blocked.rs`) with unchanged results; `block_tests.rs`
//! checks the two agree bit for bit.
//!
//! Files: `emitter.rs` (the emission context: typed constants, fused or unfused arithmetic,
//! masks, shared reduction pieces), one file per family (`exp_log.rs`, `tanh_logistic.rs`,
//! `trig.rs`, `erf_inv.rs`, `pow.rs`, each with its method, error and sources), and
//! `tests.rs` (the accuracy sweeps and special values behind the figures below).
//!
//! With `fma = true` every multiply-add is a fused `fma` (Cranelift never fuses on its own);
//! with `fma = false` it is `fmul` + `fadd`, and the range reductions use constants split so
//! that their products are exact without FMA.
//!
//! | function | method | max error measured (f32 / f64) |
//! |---|---|---|
//! | exp | n = round(x log2 e), 2-part ln2; cephes degree-6 (f32), fdlibm rational (f64); 2^n in two halves so subnormal and overflowing results round once | 1 / 1 ulp |
//! | log | f32: m in [sqrt(1/2), sqrt(2)) by integer ops, subnormals prescaled, cephes; f64: glibc's algorithm and data (`defs::log`: 128-entry table, order-6 polynomial, order-12 near 1), bit-identical to glibc's `log` | 1 / 0 (equals libm) |
//! | log1p | log(u) + c/u with u = fl(1+x) and c its exact rounding error (TwoSum) | 1 / 1 |
//! | expm1 | 2^n p + (2^n - 1), p = Taylor expm1 on the reduced argument; built from 2^(n-1) so the top binade does not overflow | 1 / 2 |
//! | tanh | f32: s = tanh(x/2) as a 5/2 rational in x^2 (tools/fit_tanh.py), then 2s/(1+s^2) with one division; f64: t = expm1(2\|x\|); t/(t+2) below 0.55, 1 - 2/(t+2) above; sign copied | 3 / 4 (2.45 true) |
//! | logistic | e = exp(-\|x\|); 1/(1+e) or e/(1+e): no cancellation, tiny results are e | 2 / 3 (1.75 true) |
//! | sin, cos | q = round(x 2/pi), Cody-Waite pi/2 (3 parts with FMA; 7 (f32) / 5 (f64) without), cephes (f32) / fdlibm (f64) kernels, quadrant from q's low bits | 2 (3 no FMA) / 1 (2 no FMA) for \|x\| <= 1e5 |
//! | erf_inv | Giles: f32 exactly XLA's ErfInv32; f64 three ranges, w from an exact (1-x)(1+x), unfused: `defs::erf_inv::erf_inv_f64` emitted op for op (eager's bits) | 4 for \|x\| <= 0.9, 64 near 1 / 3.1 |
//! | pow | exp(y log\|x\|): f32 through f64; f64 with log\|x\| and y log\|x\| in double-double; C99 special cases | 1 / 1 |
//!
//! The errors are against Rust's f64 functions (libm; for f64 results their own error of up to
//! ~1.5 ulp is included, "true" figures are against mpmath), over every 13th f32 bit pattern and
//! 3 million random f64 inputs per function (the tests in `tests.rs` use every
//! 97th pattern in release builds and every 997th in debug builds). Special values follow
//! C99/libm: NaN in gives NaN out, exp(-inf) = 0, exp(89f) = inf, log(0) = -inf,
//! log(x < 0) = NaN, tanh(+-inf) = +-1, logistic(-inf) = 0, sin(inf) = NaN, and the sign of
//! zero is kept where libm keeps it (tanh, sin, expm1, log1p, erf_inv of -0 is -0).
//! Subnormal results are produced (exp(-100f) = 3.7e-44, within 1 ulp).
//!
//! Speed on this machine (AMD EPYC Zen 3, release, 1e6 elements, vector loop unrolled 4x,
//! machine shared): f32x4 exp 0.9 ns/element, tanh 0.6, logistic 1.3, log 1.7, sin 0.9;
//! f64x2 exp 2.6, log 3.8; pow 14 (f32) / 19 (f64); erf_inv 4.9 (f32) / 27 (f64).
//!
//! Known limits:
//! * `sin`/`cos`: no Payne-Hanek. With FMA, f32 stays within 2 ulp up to |x| = 1e6 and
//!   ~17 ulp up to 6.5e6 (|x| 2/pi < 2^22); f64 within 1 ulp up to 1e13 and 3 ulp up to 1e15.
//!   Without FMA the short-part reductions are exact only while |x| 2/pi < 2^16 (f32, ~1e5)
//!   or 2^27 (f64, ~2e8). Beyond those ranges the result is meaningless, but clamped to
//!   [-1, 1] (NaN for inf and NaN inputs).
//! * `erf_inv` for f32 is the Giles polynomial exactly as XLA's `ErfInv32` (what JAX's
//!   `random.normal` uses), every step in f32 with `w = -log1p(-x*x)` and the Horner steps
//!   fused: with FMA it reproduces JAX's normal samples bit for bit. That `1 - x*x` in f32
//!   cancels for |x| near 1, so there the result is up to ~64 ulp from the true erfinv (the
//!   same error XLA has; the same polynomial with an exact `w` is within 3 ulp). The f64
//!   version is Giles' three-range double polynomial (itself ~2.4 ulp), with
//!   `w = -log((1-x)(1+x))` and the shifted argument carried in extra precision.
//! * `tanh` is not XLA's 13/6 rational (4.75 ulp), so results can differ from XLA's in the
//!   last ulps. The f32 half-angle rational is fitted by tools/fit_tanh.py.
//!
//! Also here: `elementary.rs` (`tan`, `asin`, `acos`, `atan`, `atan2`, `sinh`, `cosh`, `asinh`,
//! `acosh`, `atanh`, `cbrt`, `exp2`, round-half-away and `nextafter`: f64 algorithms after
//! fdlibm, f32 computed in f64 and rounded once; its module doc has methods and errors) and
//! `runtime_calls.rs`: `erf`, `erfc`, `lgamma`, `digamma`, `polygamma` and float `rem` are
//! NOT inline polynomials yet but a call per element (lane by lane) to the runtime's scalar
//! functions (`cranax_runtime::special`), the same code eager evaluation runs.

use cranelift_codegen::ir::types::{F32, F32X4, F64, F64X2, I8X16};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

#[cfg(test)]
mod block_tests;
mod elementary;
mod emitter;
mod erf_inv;
mod exp_log;
mod pow;
mod runtime_calls;
mod tanh_logistic;
#[cfg(test)]
mod tests;
mod trig;

use emitter::Em;
pub use runtime_calls::{emit_runtime_call, RuntimeFn};

/// The transcendental functions this module emits (pow has its own entry point).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MathFn {
    /// e^x
    Exp,
    /// natural logarithm
    Log,
    /// log(1 + x), accurate near 0
    Log1p,
    /// e^x - 1, accurate near 0
    Expm1,
    Tanh,
    /// 1 / (1 + e^-x)
    Logistic,
    Sin,
    Cos,
    /// inverse error function (XLA's ErfInv32 for f32)
    ErfInv,
    // `elementary.rs`: f64 algorithms (f32 computed in f64).
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    Cbrt,
    /// 2^x
    Exp2,
    // `runtime_calls.rs`: calls to the runtime's scalar functions, one per element.
    Erf,
    Erfc,
    /// log |Gamma(x)|
    Lgamma,
    Digamma,
}

/// Emit `f(x)`; `ty` is F32, F64, F32X4 or F64X2 (x has that type). `fma`: the ISA has FMA.
pub fn emit_math(b: &mut FunctionBuilder, f: MathFn, x: Value, ty: Type, fma: bool) -> Value {
    let mut e = Em::new(b, ty, fma);
    match f {
        MathFn::Exp => e.exp(x),
        MathFn::Log => e.log(x),
        MathFn::Log1p => e.log1p(x),
        MathFn::Expm1 => e.expm1(x),
        MathFn::Tanh => e.tanh(x),
        MathFn::Logistic => e.logistic(x),
        MathFn::Sin => e.sincos(x, false),
        MathFn::Cos => e.sincos(x, true),
        MathFn::ErfInv => {
            if e.wide {
                e.erf_inv_f64(x)
            } else {
                e.erf_inv_f32(x)
            }
        }
        MathFn::Tan => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.tan_f64(v[0])),
        MathFn::Asin => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.asin_f64(v[0])),
        MathFn::Acos => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.acos_f64(v[0])),
        MathFn::Atan => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.atan_f64(v[0])),
        MathFn::Sinh => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.sinh_f64(v[0])),
        MathFn::Cosh => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.cosh_f64(v[0])),
        MathFn::Asinh => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.asinh_f64(v[0])),
        MathFn::Acosh => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.acosh_f64(v[0])),
        MathFn::Atanh => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.atanh_f64(v[0])),
        MathFn::Cbrt => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.cbrt_f64(v[0])),
        MathFn::Exp2 => elementary::via_f64(e.b, &[x], ty, fma, |e, v| e.exp2_f64(v[0])),
        MathFn::Erf => emit_runtime_call(e.b, RuntimeFn::Erf, &[x]),
        MathFn::Erfc => emit_runtime_call(e.b, RuntimeFn::Erfc, &[x]),
        MathFn::Lgamma => emit_runtime_call(e.b, RuntimeFn::Lgamma, &[x]),
        MathFn::Digamma => emit_runtime_call(e.b, RuntimeFn::Digamma, &[x]),
    }
}

/// atan2(y, x) elementwise, same types (f32 computed in f64).
pub fn emit_atan2(b: &mut FunctionBuilder, y: Value, x: Value, ty: Type, fma: bool) -> Value {
    elementary::via_f64(b, &[y, x], ty, fma, |e, v| e.atan2_f64(v[0], v[1]))
}

/// round(x) with halfway cases away from zero (lax.round's `AWAY_FROM_ZERO`).
pub fn emit_round_away(b: &mut FunctionBuilder, x: Value, ty: Type) -> Value {
    Em::new(b, ty, false).round_away(x)
}

/// nextafter(x, y) elementwise, same types.
pub fn emit_nextafter(b: &mut FunctionBuilder, x: Value, y: Value, ty: Type) -> Value {
    Em::new(b, ty, false).nextafter(x, y)
}

/// x ** y elementwise (pow), same types.
pub fn emit_pow(b: &mut FunctionBuilder, x: Value, y: Value, ty: Type, fma: bool) -> Value {
    match ty {
        F64 | F64X2 => Em::new(b, ty, fma).pow_f64(x, y, true),
        F32 => {
            // f32 pow is evaluated in f64: log and exp in double precision leave ~2^-44
            // relative error, far below an f32 ulp, and f64 holds every f32 overflow and
            // subnormal result, so one final rounding gives ~0.5 ulp.
            let xd = b.ins().fpromote(F64, x);
            let yd = b.ins().fpromote(F64, y);
            let r = Em::new(b, F64, fma).pow_f64(xd, yd, false);
            b.ins().fdemote(F32, r)
        }
        F32X4 => {
            let lo_x = b.ins().fvpromote_low(x);
            let lo_y = b.ins().fvpromote_low(y);
            let xs = swap_halves(b, x);
            let ys = swap_halves(b, y);
            let hi_x = b.ins().fvpromote_low(xs);
            let hi_y = b.ins().fvpromote_low(ys);
            let lo = Em::new(b, F64X2, fma).pow_f64(lo_x, lo_y, false);
            let hi = Em::new(b, F64X2, fma).pow_f64(hi_x, hi_y, false);
            let lo = b.ins().fvdemote(lo); // [l0, l1, 0, 0]
            let hi = b.ins().fvdemote(hi); // [h0, h1, 0, 0]
            let mask: Vec<u8> = (0..8).chain(16..24).collect();
            shuffle_f32x4(b, lo, hi, mask)
        }
        _ => panic!("inline math: pow has no lowering for type {ty}"),
    }
}

/// `[x2, x3, x0, x1]` of an f32x4, so `fvpromote_low` can widen the upper half.
fn swap_halves(b: &mut FunctionBuilder, x: Value) -> Value {
    let mask: Vec<u8> = (8..16).chain(0..8).collect();
    shuffle_f32x4(b, x, x, mask)
}

/// `[x[lanes[0]], x_or_y[lanes[1]]]` of two f64x2 (lanes 0-1 are x's, 2-3 y's).
fn shuffle_f64x2(b: &mut FunctionBuilder, x: Value, y: Value, lanes: [u8; 2]) -> Value {
    let le = MemFlagsData::new().with_endianness(Endianness::Little);
    let xb = b.ins().bitcast(I8X16, le, x);
    let yb = b.ins().bitcast(I8X16, le, y);
    let mask: Vec<u8> = lanes.iter().flat_map(|&l| l * 8..l * 8 + 8).collect();
    let imm = b.func.dfg.immediates.push(ConstantData::from(mask));
    let r = b.ins().shuffle(xb, yb, imm);
    b.ins().bitcast(F64X2, le, r)
}

fn shuffle_f32x4(b: &mut FunctionBuilder, x: Value, y: Value, mask: Vec<u8>) -> Value {
    let le = MemFlagsData::new().with_endianness(Endianness::Little);
    let xb = b.ins().bitcast(I8X16, le, x);
    let yb = b.ins().bitcast(I8X16, le, y);
    let imm = b.func.dfg.immediates.push(ConstantData::from(mask));
    let r = b.ins().shuffle(xb, yb, imm);
    b.ins().bitcast(F32X4, le, r)
}
