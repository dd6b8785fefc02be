//! `exp`, `expm1`, `log`, `log1p`.
//!
//! * exp: n = round(x log2 e), r = x - n ln2 in two parts; cephes' degree-6 polynomial (f32),
//!   fdlibm's rational form (f64); 2^n applied in two halves so subnormal and overflowing
//!   results round once. 1 / 1 ulp.
//! * expm1: 2^n p + (2^n - 1), p = Taylor expm1 on the reduced argument, built from 2^(n-1)
//!   so the top binade does not overflow. 1 / 2 ulp.
//! * log f32: m in [sqrt(1/2), sqrt(2)) by integer ops, subnormals prescaled; cephes' logf
//!   polynomial. 1 ulp.
//! * log f64: glibc's `log` (the ARM optimized-routines algorithm, data in `defs::log`) as the
//!   same operations on the same constants, fused where glibc's FMA build fuses: bit-identical
//!   to glibc's `log` (Rust's `f64::ln`, and the `log` XLA's CPU code calls) for every input.
//!   The table is read per lane (two 16-byte loads for an f64x2).
//! * log1p, and the logs inside pow and erf_inv: fdlibm's Lg1..Lg7 (f64) on m in
//!   [sqrt(1/2), sqrt(2)) (`log_core`). log1p = log(u) + c/u with u = fl(1+x) and c its exact
//!   rounding error (TwoSum). 1 / 1 ulp.
//!
//! Speed (f32x4 / f64x2, ns per element): exp 0.9 / 2.6, log 1.7 / 3.8 (fdlibm's; glibc's
//! table log measured in `bench_ns_per_element`). Sources: cephes expf and logf, fdlibm
//! e_exp.c and e_log.c, glibc's `sysdeps/ieee754/dbl-64/e_log.c` (its operation order and
//! fusions read from this machine's libm.so.6, Debian glibc 2.36).

// Coefficients are kept verbatim as published, digits beyond the type's precision included, so
// they can be checked against their sources.
#![allow(clippy::excessive_precision)]

use super::emitter::{Em, LN2_HI_F32, LN2_HI_F64, LN2_LO_F32, LN2_LO_F64, LOG2E};
use cranax_runtime::math_defs::{
    EXPM1_P_F32, EXP_CLAMP_F32, EXP_CLAMP_F64, EXP_P_F32, EXP_P_F64, FREXP_BITS_F32,
    FREXP_BITS_F64, LG, LOG_P_F32,
};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F64, F64X2, I64};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value};

/// The NaN x86's SSE arithmetic returns for an invalid operation such as 0/0 (glibc's
/// log(x < 0)); other targets' is the positive one.
const DEFAULT_NAN_F64: u64 = if cfg!(target_arch = "x86_64") {
    0xfff8_0000_0000_0000
} else {
    0x7ff8_0000_0000_0000
};

/// Whether glibc's `log` on this machine is one of its fused builds (`fma`: the backend emits
/// FMA). glibc picks its FMA build when the CPU has FMA and AVX2, its FMA4 build (fused the
/// same way) when it has FMA4, else a build that rounds every step. Not matched: a CPU with
/// FMA4 but no FMA (AMD Bulldozer, 2011), where glibc fuses and Cranelift cannot.
pub(super) fn glibc_log_fused(fma: bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // FMA4 is CPUID leaf 0x8000_0001, ECX bit 16 (std has no detection macro for it).
        let fma4 = || std::arch::x86_64::__cpuid(0x8000_0001).ecx & (1 << 16) != 0;
        fma && (std::is_x86_feature_detected!("avx2") || fma4())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        fma
    }
}

impl Em<'_, '_> {
    // ---- exp -------------------------------------------------------------------------------

    pub(super) fn exp(&mut self, x: Value) -> Value {
        self.exp_impl(x, true)
    }
    /// exp(x); `upper = false` when x <= 0 is known (skips one clamp).
    pub(super) fn exp_impl(&mut self, x: Value, upper: bool) -> Value {
        // Past these bounds exp is inf or 0 anyway; the clamp keeps n in range.
        let (lo, hi) = if self.wide {
            EXP_CLAMP_F64
        } else {
            EXP_CLAMP_F32
        };
        let x = self.clamp(x, Some(lo), if upper { Some(hi) } else { None });
        let (nf, tb) = self.round_mul(x, LOG2E);
        let p = if self.wide {
            let nhi = self.c(-LN2_HI_F64);
            let hi = self.madd(nf, nhi, x); // exact
            let lo2 = self.c(LN2_LO_F64);
            let lo = self.mul(nf, lo2);
            self.exp_core_f64(hi, lo)
        } else {
            let r = self.reduce_ln2(x, nf);
            let q = self.horner32(r, &EXP_P_F32);
            let r2 = self.mul(r, r);
            let y = self.madd(q, r2, r);
            let one = self.c(1.0);
            self.add(y, one)
        };
        self.scale(p, tb)
    }
    /// fdlibm: exp(hi - lo) for |hi - lo| <= ln2/2, via the rational form
    /// 1 - ((lo - r*c/(2-c)) - hi), c = r - r^2*P(r^2).
    pub(super) fn exp_core_f64(&mut self, hi: Value, lo: Value) -> Value {
        let r = self.sub(hi, lo);
        let t = self.mul(r, r);
        let q = self.horner(t, &EXP_P_F64);
        let c = self.nmadd(t, q, r);
        let two = self.c(2.0);
        let d = self.sub(two, c);
        let rc = self.mul(r, c);
        let f = self.div(rc, d);
        let a = self.sub(lo, f);
        let a = self.sub(a, hi);
        let one = self.c(1.0);
        self.sub(one, a)
    }

    // ---- log, log1p ------------------------------------------------------------------------

    /// (m, k): x = 2^k * m with m in [sqrt(1/2), sqrt(2)), k as a float. Subnormal x are
    /// normalised first when `subnormal`. x must be positive and finite (else garbage).
    pub(super) fn frexp_sqrt2(&mut self, x: Value, subnormal: bool) -> (Value, Value) {
        let (xs, kadj) = if subnormal {
            let tiny = self.cbits(if self.wide {
                0x0010_0000_0000_0000
            } else {
                0x0080_0000
            });
            let m = self.fcmp(FloatCC::LessThan, x, tiny);
            let up = self.c(if self.wide {
                18_014_398_509_481_984.0
            } else {
                8_388_608.0
            });
            let xu = self.mul(x, up);
            let xs = self.sel(m, xu, x);
            let zero = self.c(0.0);
            let adj = self.c(if self.wide { 54.0 } else { 23.0 });
            (xs, Some(self.sel(m, adj, zero)))
        } else {
            (x, None)
        };
        let (one_bits, sqrth_bits, mant_mask) = if self.wide {
            FREXP_BITS_F64
        } else {
            let (o, s, m) = FREXP_BITS_F32;
            (o as i64, s as i64, m as i64)
        };
        let ib = self.bits(xs);
        // ix = bits - bits(sqrt(1/2)) + bits(1): its exponent field is k + bias, its mantissa
        // field is that of m / sqrt(1/2) - 1 ... shifted so m lands in [sqrt(1/2), sqrt(2)).
        let ix = self.iadd_c(ib, one_bits - sqrth_bits);
        let kb = self.ushr(ix, self.mant_bits());
        let mm = self.ci(mant_mask);
        let mb = self.and(ix, mm);
        let mb = self.iadd_c(mb, sqrth_bits);
        let m = self.float(mb);
        // k = (k + bias) converted exactly through the magic constant.
        let kb = self.iadd_c(kb, self.magic_bits());
        let kf = self.float(kb);
        let mk = self.c(self.magic() + self.bias() as f64);
        let mut kf = self.sub(kf, mk);
        if let Some(adj) = kadj {
            kf = self.sub(kf, adj);
        }
        (m, kf)
    }

    /// log(x) for positive finite x (no special cases); `corr` is added to the low part
    /// (log1p's rounding correction).
    pub(super) fn log_core(&mut self, x: Value, subnormal: bool, corr: Option<Value>) -> Value {
        let (m, kf) = self.frexp_sqrt2(x, subnormal);
        let one = self.c(1.0);
        let f = self.sub(m, one);
        if self.wide {
            // fdlibm: s = f/(2+f), log(1+f) = f - hfsq + s*(hfsq+R(s^2)).
            let half = self.c(0.5);
            let hf = self.mul(half, f);
            let hfsq = self.mul(hf, f);
            let two = self.c(2.0);
            let d = self.add(two, f);
            let s = self.div(f, d);
            let z = self.mul(s, s);
            let w = self.mul(z, z);
            let t1 = self.horner(w, &[LG[5], LG[3], LG[1]]);
            let t1 = self.mul(w, t1);
            let t2 = self.horner(w, &[LG[6], LG[4], LG[2], LG[0]]);
            let t2 = self.mul(z, t2);
            let r = self.add(t2, t1);
            let hr = self.add(hfsq, r);
            let a = self.mul(s, hr);
            let lo = self.c(LN2_LO_F64);
            let mut a = self.madd(kf, lo, a);
            if let Some(c) = corr {
                a = self.add(a, c);
            }
            let a = self.sub(a, hfsq);
            let a = self.add(a, f);
            let hi = self.c(LN2_HI_F64);
            self.madd(kf, hi, a)
        } else {
            // Cephes logf.
            let z = self.mul(f, f);
            let p = self.horner32(f, &LOG_P_F32);
            let y = self.mul(p, f);
            let y = self.mul(y, z);
            let lo = self.c2(LN2_LO_F32, 0.0);
            let mut y = self.madd(kf, lo, y);
            if let Some(c) = corr {
                y = self.add(y, c);
            }
            let half = self.c(0.5);
            let y = self.nmadd(half, z, y);
            let r = self.add(f, y);
            let hi = self.c2(LN2_HI_F32, 0.0);
            self.madd(kf, hi, r)
        }
    }

    pub(super) fn log(&mut self, x: Value) -> Value {
        if self.wide {
            return self.log_f64_glibc(x);
        }
        let r = self.log_core(x, true, None);
        self.log_specials(x, r)
    }

    /// f64 log bit-identical to glibc's `log` (data and method in `defs::log`): the same
    /// operations on the same constants, in the order of glibc's compiled code, with its
    /// multiply-adds fused exactly where glibc's FMA build fuses them (GCC contracts
    /// `a * b + c` there; the non-FMA build rounds every step and takes z/c - 1 as
    /// (z - chi - clo) / c). Which build glibc runs is chosen at load time: FMA with AVX2, or
    /// FMA4, selects a fused one ([`glibc_log_fused`]). Both branches of glibc's code (the
    /// table and the near-1 polynomial) are computed and the lane's one selected; special
    /// inputs are selected last as glibc returns them: log(+-0) = -inf, log(inf) = inf,
    /// log(x < 0) = the default NaN (that of 0/0), log(NaN) = the NaN quieted.
    pub(super) fn log_f64_glibc(&mut self, x: Value) -> Value {
        use crate::defs::log::{NEAR_ONE_HI, NEAR_ONE_LO, OFF, POLY as A, TABLE_BITS};
        let fused = glibc_log_fused(self.fma);
        // Subnormal x: scaled by 2^52 and its exponent field lowered by 52 again, so the
        // integer steps below see the same x = 2^k z (only the bits change, not the value).
        let tiny = self.cbits(0x0010_0000_0000_0000);
        let sub = self.fcmp(FloatCC::LessThan, x, tiny);
        let up = self.c(4_503_599_627_370_496.0); // 2^52
        let xu = self.mul(x, up);
        let ixu = self.bits(xu);
        let ixu = self.iadd_c(ixu, -(52i64 << 52));
        let ix = self.bits(x);
        let ix = self.sel(sub, ixu, ix);
        // tmp = ix - OFF: k in the exponent field, the row in the next TABLE_BITS bits;
        // z = x / 2^k in [0x1.6p-1, 0x1.6p0).
        let tmp = self.iadd_c(ix, -(OFF as i64));
        let row = self.ushr(tmp, 52 - TABLE_BITS as i64);
        let rmask = self.ci((1 << TABLE_BITS) - 1);
        let row = self.and(row, rmask);
        let ke = self.sshr(tmp, 52);
        let kb = self.iadd_c(ke, self.magic_bits());
        let kf = self.float(kb);
        let mk = self.c(self.magic());
        let kd = self.sub(kf, mk); // k, exactly
        let emask = self.ci(0xfff0_0000_0000_0000u64 as i64);
        let te = self.and(tmp, emask);
        let iz = self.isub(ix, te);
        let z = self.float(iz);
        let [invc, logc] = self.table_rows(&crate::defs::log::TAB, row);
        // r = z/c - 1, w = k ln2hi + log c (exact), hi + lo = w + r.
        let r = if fused {
            let m1 = self.c(-1.0);
            self.b.ins().fma(z, invc, m1)
        } else {
            let [chi, clo] = self.table_rows(&crate::defs::log::TAB2, row);
            let d = self.sub(z, chi);
            let d = self.sub(d, clo);
            self.mul(d, invc)
        };
        let ln2hi = self.c(crate::defs::log::LN2_HI);
        let ln2lo = self.c(crate::defs::log::LN2_LO);
        let w = self.fmadd(fused, kd, ln2hi, logc);
        let hi = self.add(w, r);
        let lo = self.sub(w, hi);
        let lo = self.add(lo, r);
        let lo = self.fmadd(fused, kd, ln2lo, lo);
        // log x = lo + r^2 A0 + r^3 (A1 + r A2 + r^2 (A3 + r A4)) + hi.
        let r2 = self.mul(r, r);
        let r3 = self.mul(r, r2);
        let [a0, a1, a2, a3, a4] = A.map(|k| self.c(k));
        let p12 = self.fmadd(fused, r, a2, a1);
        let p34 = self.fmadd(fused, r, a4, a3);
        let p = self.fmadd(fused, p34, r2, p12);
        let y = self.fmadd(fused, r2, a0, lo);
        let y = self.fmadd(fused, r3, p, y);
        let table = self.add(y, hi);

        let near_lo = self.c(NEAR_ONE_LO);
        let near_hi = self.c(NEAR_ONE_HI);
        let m_lo = self.fcmp(FloatCC::GreaterThanOrEqual, x, near_lo);
        let m_hi = self.fcmp(FloatCC::LessThan, x, near_hi);
        let near = self.and(m_lo, m_hi);
        let close = self.log_f64_glibc_near_one(x, fused);
        let res = self.sel(near, close, table);

        let inf = self.inf();
        let m = self.fcmp(FloatCC::Equal, x, inf);
        let res = self.sel(m, inf, res);
        let zero = self.c(0.0);
        let m = self.fcmp(FloatCC::Equal, x, zero);
        let res = self.sel_c(m, f64::NEG_INFINITY, res);
        let m = self.fcmp(FloatCC::LessThan, x, zero);
        let dnan = self.cbits(DEFAULT_NAN_F64);
        let res = self.sel(m, dnan, res);
        let m = self.fcmp(FloatCC::Unordered, x, x);
        let quiet = self.add(x, x);
        self.sel(m, quiet, res)
    }

    /// glibc's log for x in [0x1.ep-1, 0x1.109p0): r = x - 1 exactly, log1p(r) =
    /// r + r^2 (B0 + r B1 + ... + r^10 B10), with r^2 B0 (B0 = -1/2) carried exactly by
    /// splitting r = rhi + rlo (rhi of 26 bits, so rhi^2 is exact).
    fn log_f64_glibc_near_one(&mut self, x: Value, fused: bool) -> Value {
        let one = self.c(1.0);
        let r = self.sub(x, one);
        let r2 = self.mul(r, r);
        let r3 = self.mul(r, r2);
        let b = crate::defs::log::POLY1.map(|k| self.c(k));
        // y = r3 (B1 + r B2 + r2 B3 + r3 (B4 + r B5 + r2 B6 + r3 (B7 + r B8 + r2 B9 + r3 B10))).
        let q1 = self.fmadd(fused, r, b[2], b[1]);
        let q1 = self.fmadd(fused, r2, b[3], q1);
        let q2 = self.fmadd(fused, r, b[5], b[4]);
        let q2 = self.fmadd(fused, r2, b[6], q2);
        let q3 = self.fmadd(fused, r, b[8], b[7]);
        let q3 = self.fmadd(fused, r2, b[9], q3);
        let q3 = self.fmadd(fused, r3, b[10], q3);
        let p = self.fmadd(fused, q3, r3, q2);
        let p = self.fmadd(fused, p, r3, q1);
        // rhi = r + r 2^27 - r 2^27 (the top 26 bits of r), rlo = r - rhi.
        let s27 = self.c(134_217_728.0);
        let rhi = if fused {
            let t = self.b.ins().fma(r, s27, r);
            let nr = self.neg(r);
            self.b.ins().fma(nr, s27, t)
        } else {
            let w = self.mul(r, s27);
            let t = self.add(r, w);
            self.sub(t, w)
        };
        let rlo = self.sub(r, rhi);
        // hi + lo = r + rhi^2 B0 (exact product); lo += B0 rlo (rhi + r), the rest of r^2 B0.
        let rhi2 = self.mul(rhi, rhi);
        let (hi, lo) = if fused {
            let hi = self.b.ins().fma(rhi2, b[0], r);
            let d = self.sub(r, hi);
            (hi, self.b.ins().fma(rhi2, b[0], d))
        } else {
            let w = self.mul(rhi2, b[0]);
            let hi = self.add(r, w);
            let d = self.sub(r, hi);
            (hi, self.add(d, w))
        };
        let brlo = self.mul(b[0], rlo);
        let rr = self.add(r, rhi);
        let lo = self.fmadd(fused, brlo, rr, lo);
        let y = self.fmadd(fused, p, r3, lo);
        self.add(hi, y)
    }

    /// `[table[row][0], table[row][1]]` per lane, for rows below the table's length.
    fn table_rows(&mut self, table: &'static [[f64; 2]], row: Value) -> [Value; 2] {
        let base = self.b.ins().iconst(I64, table.as_ptr() as i64);
        // The rows are in bounds (the caller masks `row` to the table's length) and the table
        // is a `static`, alive and unchanging for as long as any compiled code.
        let flags = MemFlagsData::trusted().with_readonly();
        if !self.vec {
            let off = self.b.ins().ishl_imm_u(row, 4);
            let a = self.b.ins().iadd(base, off);
            let first = self.b.ins().load(F64, flags, a, 0);
            let second = self.b.ins().load(F64, flags, a, 8);
            return [first, second];
        }
        // Each lane's row as one f64x2, then the first and the second columns interleaved.
        let r0 = self.b.ins().extractlane(row, 0);
        let r1 = self.b.ins().extractlane(row, 1);
        let v0 = self.load_row(base, r0);
        let v1 = self.load_row(base, r1);
        let first = super::shuffle_f64x2(self.b, v0, v1, [0, 2]);
        let second = super::shuffle_f64x2(self.b, v0, v1, [1, 3]);
        [first, second]
    }
    fn load_row(&mut self, base: Value, row: Value) -> Value {
        let off = self.b.ins().ishl_imm_u(row, 4);
        let a = self.b.ins().iadd(base, off);
        self.b
            .ins()
            .load(F64X2, MemFlagsData::trusted().with_readonly(), a, 0)
    }

    /// a * b + c, fused when `fused` (only ever true with FMA).
    fn fmadd(&mut self, fused: bool, a: Value, b: Value, c: Value) -> Value {
        if fused {
            self.b.ins().fma(a, b, c)
        } else {
            let p = self.mul(a, b);
            self.add(p, c)
        }
    }

    /// x < 0 or NaN -> NaN, x == 0 -> -inf, x == inf -> inf.
    pub(super) fn log_specials(&mut self, x: Value, r: Value) -> Value {
        let zero = self.c(0.0);
        let inf = self.inf();
        let m = self.fcmp(FloatCC::UnorderedOrLessThan, x, zero);
        let r = self.sel_c(m, f64::NAN, r);
        let m = self.fcmp(FloatCC::Equal, x, zero);
        let r = self.sel_c(m, f64::NEG_INFINITY, r);
        let m = self.fcmp(FloatCC::Equal, x, inf);
        self.sel(m, inf, r)
    }

    pub(super) fn log1p(&mut self, x: Value) -> Value {
        // u = fl(1 + x) with its exact rounding error c; log1p(x) = log(u) + c/u.
        let one = self.c(1.0);
        let (u, c) = self.two_sum(x, one);
        let corr = self.div(c, u);
        // u >= 2^-24 when u > 0, so it is never subnormal.
        let r = self.log_core(u, false, Some(corr));
        // u = inf (x = inf) -> inf, u = 0 (x = -1) -> -inf, u < 0 or NaN -> NaN.
        let r = self.log_specials(u, r);
        // log1p(+-0) = +-0 (and tiny x: log1p(x) rounds to x).
        let zero = self.c(0.0);
        let m = self.fcmp(FloatCC::Equal, x, zero);
        self.sel(m, x, r)
    }

    // ---- expm1, tanh, logistic -------------------------------------------------------------

    /// expm1(r) for |r| <= ln2/2: r + r^2 * (1/2! + r/3! + ...) (Taylor; degree 8 for f32,
    /// 13 for f64, truncation well below half an ulp).
    pub(super) fn expm1_poly(&mut self, r: Value) -> Value {
        let q = if self.wide {
            // 1/13!, 1/12!, ..., 1/2! (the factorials are exact in f64).
            let k: Vec<f64> = (2..=13u32)
                .rev()
                .map(|n| 1.0 / (1..=n).map(f64::from).product::<f64>())
                .collect();
            self.horner(r, &k)
        } else {
            self.horner32(r, &EXPM1_P_F32)
        };
        let r2 = self.mul(r, r);
        self.madd(r2, q, r)
    }

    pub(super) fn expm1(&mut self, x: Value) -> Value {
        // Below lo, expm1 rounds to -1; above hi it overflows.
        let (lo, hi, big) = if self.wide {
            (-40.0, 710.0, 53.5)
        } else {
            (-20.0, 89.0, 24.5)
        };
        let xc = self.clamp(x, Some(lo), Some(hi));
        let (nf, tb) = self.round_mul(xc, LOG2E);
        let r = self.reduce_ln2(xc, nf);
        let p = self.expm1_poly(r);
        // expm1(x) = 2^n * p + (2^n - 1); built from 2^(n-1) so n = 128 / 1024 fits.
        let sm1 = self.pow2_of_magic(tb, -1);
        let s = self.add(sm1, sm1);
        let one = self.c(1.0);
        let s1 = self.sub(s, one);
        let small = self.madd(s, p, s1);
        let p1 = self.add(p, one);
        let bg = self.mul(p1, sm1);
        let two = self.c(2.0);
        let bg = self.mul(bg, two);
        let bigc = self.c(big);
        let m = self.fcmp(FloatCC::GreaterThan, nf, bigc);
        let r = self.sel(m, bg, small);
        // expm1(+-0) = +-0.
        let zero = self.c(0.0);
        let m = self.fcmp(FloatCC::Equal, x, zero);
        self.sel(m, x, r)
    }
}
