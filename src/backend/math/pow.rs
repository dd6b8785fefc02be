//! `pow` on f64 lanes (f32 `pow` is evaluated through these, see `emit_pow`): exp(y log|x|)
//! with log|x| and y log|x| in double-double for f64, plain for f32 (whose result is then
//! rounded once), and C99's special cases. 1 / 1 ulp. Speed: 14 (f32) / 19 (f64) ns per
//! element.

// Coefficients are kept verbatim as published, digits beyond the type's precision included, so
// they can be checked against their sources.
#![allow(clippy::excessive_precision)]

use super::emitter::{Em, LN2_HI_F64, LN2_LO_F64, LOG2E};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{InstBuilder, Value};

/// 2/3 as a double-double (for the double-double logarithm of f64 pow).
const TWO_THIRDS_HI: f64 = 0.666_666_666_666_666_6;
const TWO_THIRDS_LO: f64 = 3.700_743_415_417_188e-17;

impl Em<'_, '_> {
    // ---- pow (f64 lanes) -------------------------------------------------------------------

    /// log(x) as a double-double (hi, lo), relative error ~2^-65, for positive finite x.
    pub(super) fn log_dd(&mut self, x: Value, subnormal: bool) -> (Value, Value) {
        let (m, kf) = self.frexp_sqrt2(x, subnormal);
        let one = self.c(1.0);
        let f = self.sub(m, one); // exact
                                  // s = f / (1 + m) as a double-double: u + e = 1 + m exactly.
        let (u, e) = self.fast_two_sum(one, m);
        let sh = self.div(f, u);
        let rem = if self.fma {
            let nsh = self.neg(sh);
            self.b.ins().fma(nsh, u, f) // exact remainder
        } else {
            let (ph, pl) = self.two_prod(sh, u);
            let r = self.sub(f, ph);
            self.sub(r, pl)
        };
        let rem = self.nmadd(sh, e, rem);
        let sl = self.div(rem, u);
        // s^2, s^3 as double-doubles.
        let (s2h, s2l) = self.two_prod(sh, sh);
        let shl = self.mul(sh, sl);
        let shl2 = self.add(shl, shl);
        let s2l = self.add(s2l, shl2);
        let (s3h, s3l) = self.two_prod(sh, s2h);
        let a = self.mul(sh, s2l);
        let a = self.madd(sl, s2h, a);
        let s3l = self.add(s3l, a);
        // log(m) = 2s + (2/3)s^3 + s^5 * (2/5 + 2/7 s^2 + ...).
        let c23h = self.c(TWO_THIRDS_HI);
        let c23l = self.c(TWO_THIRDS_LO);
        let (t1h, t1l) = self.two_prod(c23h, s3h);
        let a = self.mul(c23h, s3l);
        let a = self.madd(c23l, s3h, a);
        let t1l = self.add(t1l, a);
        let coeffs: Vec<f64> = (2..=12).rev().map(|k| 2.0 / (2 * k + 1) as f64).collect();
        let q = self.horner(s2h, &coeffs);
        let q = self.mul(s2h, q);
        let t2 = self.mul(s3h, q);
        // Sum: k*ln2_hi + 2s_h + t1h, then the small terms.
        let l2h = self.c(LN2_HI_F64);
        let kh = self.mul(kf, l2h); // exact
        let two_sh = self.add(sh, sh);
        let (ah, al) = self.two_sum(kh, two_sh);
        let (bh, bl) = self.two_sum(ah, t1h);
        let l2l = self.c(LN2_LO_F64);
        let small = self.mul(kf, l2l);
        let small = self.add(small, t2);
        let two_sl = self.add(sl, sl);
        let s1 = self.add(two_sl, t1l);
        let small = self.add(small, s1);
        let lo = self.add(al, bl);
        let lo = self.add(lo, small);
        self.fast_two_sum(bh, lo)
    }

    /// pow in f64 lanes. `dd`: carry log|x| and y*log|x| in double-double (for f64 results);
    /// without it the error is ~2^-44 relative, plenty for f32 results.
    pub(super) fn pow_f64(&mut self, x: Value, y: Value, dd: bool) -> Value {
        let ax = self.abs(x);
        let ay = self.abs(y);
        let zero = self.c(0.0);
        let inf = self.inf();
        let (lh, ll) = if dd {
            self.log_dd(ax, true)
        } else {
            (self.log_core(ax, true, None), zero)
        };
        let m0 = self.fcmp(FloatCC::Equal, ax, zero);
        let lh = self.sel_c(m0, f64::NEG_INFINITY, lh);
        let mi = self.fcmp(FloatCC::Equal, ax, inf);
        let lh = self.sel(mi, inf, lh);
        // t = y * log|x| (th + tl).
        let (th, tl) = if dd {
            let (th, e) = self.two_prod(y, lh);
            let tl = self.madd(y, ll, e);
            (th, tl)
        } else {
            (self.mul(y, lh), zero)
        };
        // Past +-720 the result is inf or 0: clamp th. tl is tiny unless th is huge or not
        // finite (then it may be large or NaN, e.g. inf - inf, or a Dekker split overflowing
        // for huge y); drop it there, where it cannot matter.
        let atl = self.abs(tl);
        let one = self.c(1.0);
        let keep = self.fcmp(FloatCC::LessThan, atl, one);
        let tl = self.sel(keep, tl, zero);
        let th = self.clamp(th, Some(-760.0), Some(720.0));
        let (nf, tb) = self.round_mul(th, LOG2E);
        let nhi = self.c(-LN2_HI_F64);
        let hi = self.madd(nf, nhi, th); // exact
        let l2l = self.c(LN2_LO_F64);
        let ntl = self.neg(tl);
        let lo = self.madd(nf, l2l, ntl);
        let p = self.exp_core_f64(hi, lo);
        let g = self.scale(p, tb);

        // Integer and odd-integer tests on y (exact float tricks).
        let two52 = self.c(4_503_599_627_370_496.0);
        let ysmall = self.fcmp(FloatCC::LessThan, ay, two52);
        let u0 = self.add(ay, two52);
        let u = self.sel(ysmall, u0, ay);
        let ar0 = self.sub(u0, two52);
        let ar = self.sel(ysmall, ar0, ay);
        let is_int = self.fcmp(FloatCC::Equal, ar, ay); // also true for inf
        let not_int = self.fcmp(FloatCC::NotEqual, ar, ay); // also true for NaN
        let ub = self.bits(u);
        let one_i = self.ci(1);
        let lowbit = self.and(ub, one_i);
        let odd_bit = self.icmp(IntCC::Equal, lowbit, one_i);
        let two53 = self.c(9_007_199_254_740_992.0);
        let below53 = self.fcmp(FloatCC::LessThan, ay, two53);
        let odd = self.and(is_int, odd_bit);
        let odd = self.and(odd, below53);
        // Negative x (or -0, -inf) to an odd integer power: negate.
        let xb = self.bits(x);
        let sm = self.ci(self.sign_mask());
        let sx = self.and(xb, sm);
        let zi = self.ci(0);
        let flip = self.sel(odd, sx, zi);
        let gb = self.bits(g);
        let gb = self.xor(gb, flip);
        let g = self.float(gb);
        // Finite x < 0 to a non-integer power: NaN.
        let xneg = self.fcmp(FloatCC::LessThan, x, zero);
        let ninf = self.c(f64::NEG_INFINITY);
        let xfin = self.fcmp(FloatCC::GreaterThan, x, ninf);
        let bad = self.and(xneg, xfin);
        let bad = self.and(bad, not_int);
        let g = self.sel_c(bad, f64::NAN, g);
        let any_nan = self.fcmp(FloatCC::Unordered, x, y);
        let g = self.sel_c(any_nan, f64::NAN, g);
        // pow(x, +-0) = 1, pow(1, y) = 1, pow(-1, +-inf) = 1 (even for NaN operands).
        let one = self.c(1.0);
        let y0 = self.fcmp(FloatCC::Equal, y, zero);
        let x1 = self.fcmp(FloatCC::Equal, x, one);
        let ax1 = self.fcmp(FloatCC::Equal, ax, one);
        let yinf = self.fcmp(FloatCC::Equal, ay, inf);
        let m1 = self.and(ax1, yinf);
        let ones = self.or(y0, x1);
        let ones = self.or(ones, m1);
        self.sel(ones, one, g)
    }
}
