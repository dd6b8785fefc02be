//! The float functions behind JAX's samplers exactly as XLA computes them on an x86-64 CPU
//! with FMA (the machine and JAX 0.10 that made tests/data's reference numbers), written in
//! lax ops so they trace, batch and compile like the rest of `random`, and give the same bits
//! eagerly and under `jit`, whatever the backend's own `erf_inv` or `log1p` do.
//!
//! What XLA does that a plain reading of JAX's Python does not show: its CPU code fuses a
//! multiply feeding an add into one `fma` (so `u * (hi - lo) + lo` in `uniform` rounds once, as
//! does every Horner step), `log1p` is a Cephes rational function below `sqrt(2) - 1`, f32 `log`
//! is Cephes' polynomial as Eigen arranges it, and f64 `log` is the C library's (here the lax
//! `log`, whose reference evaluation calls it too). These were read from XLA's sources and the
//! machine code of JAX's compiled functions, and checked against JAX on millions of inputs.
//!
//! cranax has no `fma` primitive, so `fma` is emulated: exactly for f32 (through f64), and for
//! f64 by an exact two-term product and sum. An `fma` primitive would make this cheaper.

// Coefficients are written as their sources publish them (some are near, not equal to, named
// constants such as 2/sqrt(pi)).
#![allow(clippy::excessive_precision, clippy::approx_constant)]

use crate::array::Array;
use crate::core::error::Result;
use crate::defs::{erf, erf_inv};
use crate::dtype::{DType, Scalar};
use crate::lax;

/// A scalar of `dtype`.
/// A 16-bit float widened to f32, where XLA computes its functions (each result rounded
/// back once).
fn to_f32(x: &Array) -> Result<Array> {
    lax::convert_element_type(x, DType::F32)
}

fn c(v: f64, dtype: DType) -> Array {
    Array::from_scalar(Scalar::from_f64(v, dtype))
}

/// `v` in the shape and dtype of `like`.
fn fill(v: f64, like: &Array) -> Result<Array> {
    lax::broadcast_in_dim(&c(v, like.dtype()), like.shape(), &[])
}

/// `a * b + c` rounded once, as XLA's fused code computes it.
pub(super) fn fma(a: &Array, b: &Array, c: &Array) -> Result<Array> {
    match a.dtype() {
        DType::F32 => fma_f32(a, b, c),
        // XLA rounds the 16-bit product before the sum (each op computed in f32, rounded).
        d if d.is_half() => lax::add(&lax::mul(a, b)?, c),
        _ => fma_f64(a, b, c),
    }
}

/// f32: the product of two f32 is exact in f64, so the sum is formed in f64 and rounded to f32.
/// That is a hardware fma's number except when the f64 sum lands exactly on an f32 tie, which a
/// random input hits with probability about 2^-29.
fn fma_f32(a: &Array, b: &Array, c: &Array) -> Result<Array> {
    let wide = |x: &Array| lax::convert_element_type(x, DType::F64);
    let sum = lax::add(&lax::mul(&wide(a)?, &wide(b)?)?, &wide(c)?)?;
    lax::convert_element_type(&sum, DType::F32)
}

/// f64: `a * b = ph + pl` exactly (Dekker's product), `ph + c = s + e` exactly (Knuth's
/// two-sum), then `s + (e + pl)`: the fma's number unless the exact sum lies within about
/// 2^-100 of it of a rounding tie. Beyond 2^996 the splitting overflows; there the plain
/// `a * b + c` stands in. So it does for a zero sum: then `a * b` is exactly `-c`, the plain sum
/// is exact too and has the fma's sign of zero (the error terms would make `-0.0` `+0.0`, and
/// `log1p(-0.0)` must stay `-0.0`).
fn fma_f64(a: &Array, b: &Array, c: &Array) -> Result<Array> {
    let (ph, pl) = two_product(a, b)?;
    let (s, e) = two_sum(&ph, c)?;
    let fused = lax::add(&s, &lax::add(&e, &pl)?)?;
    let plain = lax::add(&lax::mul(a, b)?, c)?;
    let zero = lax::eq(&fused, &lax::scalar_like(&fused, 0.0))?;
    let use_plain = lax::or(&lax::ne(&fused, &fused)?, &zero)?;
    lax::select(&use_plain, &plain, &fused)
}

/// `x = hi + lo` with `hi` holding the upper 26 bits (Veltkamp's split).
fn split(x: &Array) -> Result<(Array, Array)> {
    let t = lax::mul(x, &c(134_217_729.0, DType::F64))?; // 2^27 + 1
    let hi = lax::sub(&t, &lax::sub(&t, x)?)?;
    Ok((hi.clone(), lax::sub(x, &hi)?))
}

/// `a * b = p + err` exactly (Dekker).
fn two_product(a: &Array, b: &Array) -> Result<(Array, Array)> {
    let p = lax::mul(a, b)?;
    let ((ah, al), (bh, bl)) = (split(a)?, split(b)?);
    let err = lax::sub(&lax::mul(&ah, &bh)?, &p)?;
    let err = lax::add(&err, &lax::mul(&ah, &bl)?)?;
    let err = lax::add(&err, &lax::mul(&al, &bh)?)?;
    Ok((p, lax::add(&err, &lax::mul(&al, &bl)?)?))
}

/// `a + b = s + err` exactly (Knuth).
fn two_sum(a: &Array, b: &Array) -> Result<(Array, Array)> {
    let s = lax::add(a, b)?;
    let b_part = lax::sub(&s, a)?;
    let a_part = lax::sub(&s, &b_part)?;
    let err = lax::add(&lax::sub(a, &a_part)?, &lax::sub(b, &b_part)?)?;
    Ok((s, err))
}

/// Horner's rule with a fused step per coefficient: `p = c0; p = fma(p, x, c_i)`.
fn horner(x: &Array, coeffs: &[f64]) -> Result<Array> {
    let mut p = c(coeffs[0], x.dtype());
    for &k in &coeffs[1..] {
        p = fma(&p, x, &c(k, x.dtype()))?;
    }
    Ok(p)
}

/// `log` as XLA computes it: Cephes' for f32, the C library's for f64.
pub(super) fn log(x: &Array) -> Result<Array> {
    match x.dtype() {
        DType::F32 => log_f32(x),
        d if d.is_half() => lax::convert_element_type(&log_f32(&to_f32(x)?)?, d),
        _ => lax::log(x),
    }
}

/// XLA's f32 `log`: `x = m 2^e` with `m` in `[sqrt(1/2), sqrt(2))`, `log(m)` by Cephes' degree-8
/// polynomial in `t = m - 1` (evaluated in three interleaved parts), and `e ln 2` added in two
/// parts (`0.693359375 - 2.12194440e-4`). Zero gives `-inf`, negatives NaN, `+inf` itself.
fn log_f32(v: &Array) -> Result<Array> {
    const P: [u32; 9] = [
        0x3D90_21BB, // 7.0376836292e-2
        0xBDEB_D1B8, // -1.1514610310e-1
        0x3DEF_251A, // 1.1676998740e-1
        0xBDFE_5D4F, // -1.2420140846e-1
        0x3E11_E9BF, // 1.4249322787e-1
        0xBE2A_AE50, // -1.6668057665e-1
        0x3E4C_CEAC, // 2.0000714765e-1
        0xBE7F_FFFC, // -2.4999993993e-1
        0x3EAA_AAAA, // 3.3333331174e-1
    ];
    let f = |v: f32| Array::scalar(v);
    let p = |i: usize| f(f32::from_bits(P[i]));

    // Mantissa in [0.5, 1) and exponent from the bits (subnormals are first raised to the
    // smallest normal), then the mantissa moved into [sqrt(1/2), sqrt(2)).
    let x = lax::max(v, &f(f32::MIN_POSITIVE))?;
    let bits = lax::bitcast_convert_type(&x, DType::U32)?;
    let mantissa = lax::or(
        &lax::and(&bits, &Array::scalar(0x807F_FFFFu32))?,
        &Array::scalar(0x3F00_0000u32),
    )?;
    let m = lax::bitcast_convert_type(&mantissa, DType::F32)?;
    let biased = lax::shift_right_logical(&bits, &Array::scalar(23u32))?;
    let biased = lax::convert_element_type(&biased, DType::F32)?;
    let below = lax::lt(&m, &f(std::f32::consts::FRAC_1_SQRT_2))?;
    let e = lax::sub(
        &lax::add(&biased, &f(-126.0))?,
        &lax::select(&below, &fill(1.0, &m)?, &fill(0.0, &m)?)?,
    )?;
    let t = lax::add(
        &lax::sub(&m, &f(1.0))?,
        &lax::select(&below, &m, &fill(0.0, &m)?)?,
    )?;

    let t2 = lax::mul(&t, &t)?;
    let t3 = lax::mul(&t2, &t)?;
    let y0 = fma(&fma(&p(0), &t, &p(1))?, &t, &p(2))?;
    let y1 = fma(&fma(&p(3), &t, &p(4))?, &t, &p(5))?;
    let y2 = fma(&fma(&p(6), &t, &p(7))?, &t, &p(8))?;
    let y = fma(&fma(&y0, &t3, &y1)?, &t3, &y2)?;
    let (ln2_hi, ln2_lo) = (
        f(f32::from_bits(0x3F31_8000)),
        f(f32::from_bits(0xB95E_8083)),
    );
    let y = fma(&y, &t3, &lax::mul(&e, &ln2_lo)?)?;
    let r = lax::add(&fma(&t2, &f(-0.5), &t)?, &y)?;
    let r = fma(&e, &ln2_hi, &r)?;

    let invalid = lax::not(&lax::gt(v, &f(0.0))?)?; // negative or NaN
    let r = lax::select(&invalid, &fill(f64::NAN, v)?, &r)?;
    let r = lax::select(
        &lax::eq(v, &f(f32::INFINITY))?,
        &fill(f64::INFINITY, v)?,
        &r,
    )?;
    lax::select(&lax::eq(v, &f(0.0))?, &fill(f64::NEG_INFINITY, v)?, &r)
}

/// XLA's `log1p`: Cephes' rational approximation `x - x^2/2 + x^3 P(x)/Q(x)` for
/// `|x| < sqrt(2) - 1`, `log(1 + x)` beyond. The coefficients are the f64 values in XLA's
/// compiled code (its `xla.log1p` intrinsic, read from the LLVM IR JAX 0.10.2 dumps), which
/// for `NUM[6]` and `DEN[4]` are one ulp from the nearest f64 of Cephes' printed digits.
pub(super) fn log1p(x: &Array) -> Result<Array> {
    const NUM: [f64; 7] = [
        4.527_000_086_244_52e-5,
        4.985_410_282_319_337_6e-1,
        6.578_732_594_206_104,
        2.991_191_932_855_307_3e1,
        6.094_966_798_098_779e1,
        5.711_296_359_058_554e1,
        2.003_955_349_920_128_3e1,
    ];
    const DEN: [f64; 7] = [
        1.0,
        1.506_290_908_346_919_2e1,
        8.304_756_596_796_721e1,
        2.217_623_982_373_285_7e2,
        3.090_987_222_531_205_7e2,
        2.164_278_861_449_594_8e2,
        6.011_866_049_760_384e1,
    ];
    let dt = x.dtype();
    let large = log(&lax::add(x, &c(1.0, dt))?)?;
    let x2 = lax::mul(x, x)?;
    let ratio = lax::div(&horner(x, &NUM)?, &horner(x, &DEN)?)?;
    let small = lax::mul(&lax::mul(x, &x2)?, &ratio)?;
    let small = lax::add(x, &fma(&c(-0.5, dt), &x2, &small)?)?;
    let is_small = lax::lt(&lax::abs(x)?, &c(std::f64::consts::SQRT_2 - 1.0, dt))?;
    lax::select(&is_small, &small, &large)
}

/// One range of Giles' `erf_inv` (`defs::erf_inv::Range`) with its coefficients in f64.
struct Piece {
    below: f64,
    sqrt: bool,
    shift: f64,
    coeffs: Vec<f64>,
}

fn pieces<T: Copy + Into<f64>>(ranges: &[erf_inv::Range<T>]) -> Vec<Piece> {
    ranges
        .iter()
        .map(|r| Piece {
            below: r.below,
            sqrt: r.sqrt,
            shift: r.shift,
            coeffs: r.coeffs.iter().map(|&k| k.into()).collect(),
        })
        .collect()
}

/// XLA's `erf_inv` (Giles' approximations, two ranges in f32 and three in f64):
/// `w = -log1p(-x^2)`, the range's polynomial by fused Horner steps, times `x`; `±1` give `±inf`.
pub(super) fn erf_inv(x: &Array) -> Result<Array> {
    if x.dtype().is_half() {
        return lax::convert_element_type(&erf_inv(&to_f32(x)?)?, x.dtype());
    }
    let pieces = match x.dtype() {
        DType::F32 => pieces(&erf_inv::F32),
        _ => pieces(&erf_inv::F64),
    };
    let dt = x.dtype();
    let w = lax::neg(&log1p(&lax::neg(&lax::mul(x, x)?)?)?)?;
    let root = lax::sqrt(&w)?;
    // Per element: which range (the first whose bound `w` is below), its argument, and its
    // coefficients, aligned at the constant term (shorter polynomials start with zeros).
    let in_range: Vec<Array> = pieces
        .iter()
        .map(|p| lax::lt(&w, &c(p.below, dt)))
        .collect::<Result<_>>()?;
    let pick = |value: &dyn Fn(&Piece) -> Result<Array>| -> Result<Array> {
        let mut out = value(&pieces[pieces.len() - 1])?;
        for (piece, cond) in pieces.iter().zip(&in_range).rev().skip(1) {
            out = lax::select(cond, &value(piece)?, &out)?;
        }
        Ok(out)
    };
    let z = pick(&|p| lax::sub(if p.sqrt { &root } else { &w }, &c(p.shift, dt)))?;
    let terms = pieces.iter().map(|p| p.coeffs.len()).max().unwrap_or(0);
    let coeff = |p: &Piece, i: usize| -> Result<Array> {
        let k = (i + p.coeffs.len())
            .checked_sub(terms)
            .map_or(0.0, |j| p.coeffs[j]);
        fill(k, &w)
    };
    let mut acc = pick(&|p| coeff(p, 0))?;
    for i in 1..terms {
        acc = fma(&acc, &z, &pick(&|p| coeff(p, i))?)?;
    }
    let out = lax::mul(&acc, x)?;
    let at_one = lax::eq(&lax::abs(x)?, &c(1.0, dt))?;
    lax::select(&at_one, &lax::mul(x, &c(f64::INFINITY, dt))?, &out)
}

/// `erf` as XLA computes it.
pub(super) fn erf(x: &Array) -> Result<Array> {
    match x.dtype() {
        DType::F32 => erf_f32(x),
        d if d.is_half() => lax::convert_element_type(&erf_f32(&to_f32(x)?)?, d),
        _ => erf_f64(x),
    }
}

/// XLA's f32 `erf`: an odd rational function of degree 9/12 on `|x| < 3.8325`, `±1` beyond.
fn erf_f32(x: &Array) -> Result<Array> {
    const NUM: [f64; 5] = [
        0.000_229_050_66,
        0.003_408_291,
        0.050_955_694,
        0.185_208_32,
        1.128_379_1,
    ];
    const DEN: [f64; 7] = [
        -1.179_160_3e-7,
        2.354_796_6e-5,
        0.001_017_962_6,
        0.014_070_47,
        0.110_985_05,
        0.497_469_25,
        1.0,
    ];
    let x2 = lax::mul(x, x)?;
    let ratio = lax::div(&lax::mul(x, &horner(&x2, &NUM)?)?, &horner(&x2, &DEN)?)?;
    let saturated = lax::ge(&lax::abs(x)?, &Array::scalar(3.832_507f32))?;
    let negative = lax::lt(x, &Array::scalar(0.0f32))?;
    let sign = lax::select(&negative, &fill(-1.0, x)?, &fill(1.0, x)?)?;
    lax::select(&saturated, &sign, &ratio)
}

/// XLA's f64 `erf`, which is the C library's: glibc's (fdlibm's rational approximations on
/// `|x|` below 0.84375 and 1.25; beyond, `exp(-z^2 - 0.5625) exp((z - x)(z + x) + R/S) / x` with
/// `z` the upper 21 bits of `x`; ±1 from 6 on), in glibc's evaluation order, plain f64 ops.
/// The `exp` is lax's, which the reference evaluation computes with the C library too.
fn erf_f64(x: &Array) -> Result<Array> {
    let k = |v: f64| c(v, DType::F64);
    let (add, mul, div) = (lax::add, lax::mul, lax::div);
    // `a + s * b` for constants, and a left-to-right sum `t0 + p1 t1 + p2 t2 + ...`.
    let lin = |a: f64, b: f64, s: &Array| add(&k(a), &mul(s, &k(b))?);
    let sum = |t0: Array, rest: &[(&Array, &Array)]| -> Result<Array> {
        rest.iter()
            .try_fold(t0, |acc, (p, t)| add(&acc, &mul(p, t)?))
    };
    let ax = lax::abs(x)?;
    let positive = lax::ge(x, &k(0.0))?;
    let signed = |pos: Array, neg: Array| lax::select(&positive, &pos, &neg);

    // |x| < 0.84375: x + x R(x^2)/S(x^2).
    let z = mul(x, x)?;
    let (z2, r1, r2, s1, s2, s3) = (
        mul(&z, &z)?,
        lin(erf::PP[0], erf::PP[1], &z)?,
        lin(erf::PP[2], erf::PP[3], &z)?,
        lin(1.0, erf::QQ[0], &z)?,
        lin(erf::QQ[1], erf::QQ[2], &z)?,
        lin(erf::QQ[3], erf::QQ[4], &z)?,
    );
    let z4 = mul(&z2, &z2)?;
    let r = sum(r1, &[(&z2, &r2), (&z4, &k(erf::PP[4]))])?;
    let s = sum(s1, &[(&z2, &s2), (&z4, &s3)])?;
    let near_zero = add(x, &mul(x, &div(&r, &s)?)?)?;
    let tiny = add(x, &mul(&k(erf::EFX), x)?)?;
    let subnormal = mul(
        &k(0.0625),
        &add(&mul(&k(16.0), x)?, &mul(&k(16.0 * erf::EFX), x)?)?,
    )?;

    // 0.84375 <= |x| < 1.25: erx + P(s)/Q(s) with s = |x| - 1.
    let s = lax::sub(&ax, &k(1.0))?;
    let (s2, p1, q1, p2, q2, p3, q3) = (
        mul(&s, &s)?,
        lin(erf::PA[0], erf::PA[1], &s)?,
        lin(1.0, erf::QA[0], &s)?,
        lin(erf::PA[2], erf::PA[3], &s)?,
        lin(erf::QA[1], erf::QA[2], &s)?,
        lin(erf::PA[4], erf::PA[5], &s)?,
        lin(erf::QA[3], erf::QA[4], &s)?,
    );
    let s4 = mul(&s2, &s2)?;
    let s6 = mul(&s4, &s2)?;
    let p = sum(p1, &[(&s2, &p2), (&s4, &p3), (&s6, &k(erf::PA[6]))])?;
    let q = sum(q1, &[(&s2, &q2), (&s4, &q3), (&s6, &k(erf::QA[5]))])?;
    let ratio = div(&p, &q)?;
    let middle = signed(add(&k(erf::ERX), &ratio)?, lax::sub(&k(-erf::ERX), &ratio)?)?;

    // 1.25 <= |x| < 6: 1 - exp(-z^2 - 0.5625) exp((z - x)(z + x) + R(s)/S(s)) / |x|, s = 1/x^2,
    // with one rational function below 1/0.35 and another above.
    let s = div(&k(1.0), &mul(&ax, &ax)?)?;
    let (s2, s4) = (mul(&s, &s)?, mul(&mul(&s, &s)?, &mul(&s, &s)?)?);
    let (s6, s8) = (mul(&s4, &s2)?, mul(&s4, &s4)?);
    let lower = lax::div(
        &sum(
            lin(erf::RA[0], erf::RA[1], &s)?,
            &[
                (&s2, &lin(erf::RA[2], erf::RA[3], &s)?),
                (&s4, &lin(erf::RA[4], erf::RA[5], &s)?),
                (&s6, &lin(erf::RA[6], erf::RA[7], &s)?),
            ],
        )?,
        &sum(
            lin(1.0, erf::SA[0], &s)?,
            &[
                (&s2, &lin(erf::SA[1], erf::SA[2], &s)?),
                (&s4, &lin(erf::SA[3], erf::SA[4], &s)?),
                (&s6, &lin(erf::SA[5], erf::SA[6], &s)?),
                (&s8, &k(erf::SA[7])),
            ],
        )?,
    )?;
    let upper = lax::div(
        &sum(
            lin(erf::RB[0], erf::RB[1], &s)?,
            &[
                (&s2, &lin(erf::RB[2], erf::RB[3], &s)?),
                (&s4, &lin(erf::RB[4], erf::RB[5], &s)?),
                (&s6, &k(erf::RB[6])),
            ],
        )?,
        &sum(
            lin(1.0, erf::SB[0], &s)?,
            &[
                (&s2, &lin(erf::SB[1], erf::SB[2], &s)?),
                (&s4, &lin(erf::SB[3], erf::SB[4], &s)?),
                (&s6, &lin(erf::SB[5], erf::SB[6], &s)?),
            ],
        )?,
    )?;
    let below_third = lax::lt(&ax, &k(f64::from_bits(0x4006_DB6E_0000_0000)))?; // ~1/0.35
    let rs = lax::select(&below_third, &lower, &upper)?;
    // z: |x| cut to its upper 21 significant bits (glibc clears the low 32 bits of the double),
    // by truncating |x| 2^(20 - exponent) to an integer; |x| < 8 here.
    let scale = lax::select(
        &lax::lt(&ax, &k(2.0))?,
        &fill(2f64.powi(20), &ax)?,
        &lax::select(
            &lax::lt(&ax, &k(4.0))?,
            &fill(2f64.powi(19), &ax)?,
            &fill(2f64.powi(18), &ax)?,
        )?,
    )?;
    let whole = lax::convert_element_type(&lax::mul(&ax, &scale)?, DType::I32)?;
    let z = div(&lax::convert_element_type(&whole, DType::F64)?, &scale)?;
    let e1 = lax::exp(&lax::sub(&mul(&lax::neg(&z)?, &z)?, &k(0.5625))?)?;
    let e2 = lax::exp(&add(&mul(&lax::sub(&z, &ax)?, &add(&z, &ax)?)?, &rs)?)?;
    let tail = div(&mul(&e1, &e2)?, &ax)?;
    let far = signed(lax::sub(&k(1.0), &tail)?, lax::sub(&tail, &k(1.0))?)?;
    let saturated = signed(fill(1.0, x)?, fill(-1.0, x)?)?;

    let pieces = [
        (2f64.powi(-1015), subnormal),
        (2f64.powi(-28), tiny),
        (0.84375, near_zero),
        (1.25, middle),
        (6.0, far),
    ];
    let mut out = saturated;
    for (bound, value) in pieces.into_iter().rev() {
        out = lax::select(&lax::lt(&ax, &k(bound))?, &value, &out)?;
    }
    lax::select(&lax::ne(x, x)?, x, &out) // NaN stays NaN
}

/// `x` with subnormals flushed to (signed) zero, as XLA's CPU code runs (FTZ and DAZ set):
/// where a result falls below the smallest normal float, XLA's is zero.
pub(super) fn flush_subnormal(x: &Array) -> Result<Array> {
    let tiny = match x.dtype() {
        DType::F32 => f32::MIN_POSITIVE as f64,
        _ => f64::MIN_POSITIVE,
    };
    let small = lax::lt(&lax::abs(x)?, &c(tiny, x.dtype()))?;
    lax::select(&small, &lax::mul(x, &c(0.0, x.dtype()))?, x)
}

/// XLA's f32 `rsqrt` on x86-64, on the host: the hardware estimate (`rsqrtss`, about 12 bits)
/// refined by one Newton step `y + (-y/2) (x y y - 1)` with XLA's fused multiply-adds; zeros,
/// infinities, negatives and subnormals keep the estimate. The estimate is the CPU's own
/// (Intel's and AMD's tables differ), so this is JAX's number on the machine that runs it.
/// Elsewhere the correctly rounded `1 / sqrt(x)` stands in.
pub(super) fn rsqrt_f32(x: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_cvtss_f32, _mm_rsqrt_ss, _mm_set_ss};
        // SAFETY: these SSE intrinsics only need SSE, which every x86-64 CPU has (it is in
        // the x86-64 baseline the crate compiles for); they touch no memory.
        let y = unsafe { _mm_cvtss_f32(_mm_rsqrt_ss(_mm_set_ss(x))) };
        if !(x.is_nan() || x.is_normal() && x > 0.0) {
            return y;
        }
        let e = (x * y).mul_add(y, -1.0);
        (y * -0.5).mul_add(e, y)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        1.0 / x.sqrt()
    }
}

/// XLA's f64 `rsqrt` on an x86-64 CPU with AVX-512, on the host: the `vrsqrt14pd` estimate
/// (14 bits) refined by two of `rsqrt_f32`'s Newton steps. Without AVX-512 (where XLA emits
/// other code) the correctly rounded `1 / sqrt(x)` stands in.
pub(super) fn rsqrt_f64(x: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx512vl")]
        fn estimate(x: f64) -> f64 {
            use std::arch::x86_64::{_mm_cvtsd_f64, _mm_rsqrt14_pd, _mm_set1_pd};
            _mm_cvtsd_f64(_mm_rsqrt14_pd(_mm_set1_pd(x)))
        }
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // SAFETY: the CPU was just checked to have the AVX-512 features `estimate` needs.
            let y = unsafe { estimate(x) };
            if !(x.is_nan() || x.is_normal() && x > 0.0) {
                return y;
            }
            let step = |y: f64| (y * -0.5).mul_add((x * y).mul_add(y, -1.0), y);
            return step(step(y));
        }
    }
    1.0 / x.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zeros keep the sign IEEE gives them: `fma(-0.5, 0, -0.0) = -0.0` and
    /// `log1p(-0.0) = -0.0` (binomial's inversion divides by it: `+0.0` never ends its loop).
    #[test]
    fn zeros_keep_their_sign() {
        for dt in [DType::F32, DType::F64] {
            let f = fma(&c(-0.5, dt), &c(0.0, dt), &c(-0.0, dt)).unwrap();
            let l = log1p(&c(-0.0, dt)).unwrap();
            let p = fma(&c(-0.5, dt), &c(0.0, dt), &c(0.0, dt)).unwrap();
            for (v, neg) in [(f, true), (l, true), (p, false)] {
                let v = v.to_f64_vec().unwrap()[0];
                assert!(v == 0.0 && v.is_sign_negative() == neg, "{dt:?}: {v}");
            }
        }
    }

    /// Random finite floats of varied magnitude (a fixed xorshift stream).
    fn floats(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let mantissa = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                mantissa * 2f64.powi((s % 40) as i32 - 20)
            })
            .collect()
    }

    #[test]
    fn fma_is_the_hardware_fma() {
        let (a, b, c) = (floats(20_000, 1), floats(20_000, 2), floats(20_000, 3));
        let arr64 = |v: &[f64]| Array::from_slice(v);
        let got = fma(&arr64(&a), &arr64(&b), &arr64(&c))
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        for i in 0..a.len() {
            assert_eq!(
                got[i].to_bits(),
                a[i].mul_add(b[i], c[i]).to_bits(),
                "f64 {i}"
            );
        }
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<_>>();
        let (a, b, c) = (f32s(&a), f32s(&b), f32s(&c));
        let arr32 = |v: &[f32]| Array::from_slice(v);
        let got = fma(&arr32(&a), &arr32(&b), &arr32(&c))
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        for i in 0..a.len() {
            assert_eq!(
                got[i].to_bits(),
                a[i].mul_add(b[i], c[i]).to_bits(),
                "f32 {i}"
            );
        }
    }

    #[test]
    fn log_special_values() {
        let x = Array::from_slice(&[0.0f32, -1.0, f32::INFINITY, f32::NAN, 1.0, 1e-45]);
        let y = log(&x).unwrap().to_vec::<f32>().unwrap();
        assert_eq!(y[0], f32::NEG_INFINITY);
        assert!(y[1].is_nan() && y[3].is_nan());
        assert_eq!(y[2], f32::INFINITY);
        assert_eq!(y[4], 0.0);
        // Subnormals are raised to the smallest normal first, as XLA does.
        assert_eq!(y[5], (f32::MIN_POSITIVE as f64).ln() as f32);
    }

    #[test]
    fn erf_and_erf_inv_invert_each_other() {
        for dtype in [DType::F32, DType::F64] {
            let xs: Vec<f64> = (-19..=19).map(|i| i as f64 / 20.0).collect();
            let x = lax::convert_element_type(&Array::from_slice(&xs), dtype).unwrap();
            let back = erf(&erf_inv(&x).unwrap()).unwrap().to_vec::<f64>();
            let back = back.unwrap_or_else(|_| {
                let y = erf(&erf_inv(&x).unwrap()).unwrap();
                y.to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .map(|&v| v as f64)
                    .collect()
            });
            let tol = if dtype == DType::F32 { 1e-6 } else { 1e-15 };
            for (a, b) in xs.iter().zip(&back) {
                assert!((a - b).abs() <= tol, "{dtype}: erf(erf_inv({a})) = {b}");
            }
        }
        let ends = Array::from_slice(&[1.0f32, -1.0]);
        let inf = erf_inv(&ends).unwrap().to_vec::<f32>().unwrap();
        assert_eq!(inf, [f32::INFINITY, f32::NEG_INFINITY]);
    }
}
