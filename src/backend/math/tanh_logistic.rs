//! `tanh` and `logistic`.
//!
//! * tanh: f32: s = tanh(x/2) as a 5/2 rational in x^2 (fitted by tools/fit_tanh.py), then
//!   2s/(1+s^2) with one division; f64: t = expm1(2|x|), t/(t+2) below 0.55, 1 - 2/(t+2)
//!   above; the sign copied. 3 / 4 ulp (2.45 true). Not XLA's 13/6 rational (4.75 ulp), so
//!   results can differ from XLA's in the last ulps.
//! * logistic: e = exp(-|x|); 1/(1+e) or e/(1+e): no cancellation, tiny results are e.
//!   2 / 3 ulp (1.75 true).
//!
//! Speed (f32x4, ns per element): tanh 0.6, logistic 1.3.

use super::emitter::{Em, LOG2E};
use cranax_runtime::math_defs::{TANH_CLAMP_F32, TANH_P_F32, TANH_Q_F32};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::Value;

impl Em<'_, '_> {
    // ---- tanh, logistic ---------------------------------------------------------------------

    pub(super) fn tanh(&mut self, x: Value) -> Value {
        if !self.wide {
            return self.tanh_f32(x);
        }
        // tanh|x| = t/(t+2) for small |x|, 1 - 2/(t+2) otherwise, t = expm1(2|x|).
        // Beyond the clamp tanh rounds to 1.
        let ax = self.abs(x);
        let ax = self.clamp(ax, None, Some(if self.wide { 22.0 } else { 10.0 }));
        let y = self.add(ax, ax);
        let (nf, tb) = self.round_mul(y, LOG2E);
        let r = self.reduce_ln2(y, nf);
        let p = self.expm1_poly(r);
        let s = self.pow2_of_magic(tb, 0);
        let one = self.c(1.0);
        let s1 = self.sub(s, one);
        let t = self.madd(s, p, s1);
        let two = self.c(2.0);
        let d = self.add(t, two);
        let lim = self.c(0.55);
        let small = self.fcmp(FloatCC::LessThan, ax, lim);
        let num = self.sel(small, t, two);
        let q = self.div(num, d);
        let oq = self.sub(one, q);
        let r = self.sel(small, q, oq);
        self.with_sign_of(r, x)
    }

    /// f32 tanh without exp: a 5/2 rational in t = x^2 for s = tanh(x/2) ~ n/q2 (n = x P(t),
    /// q2 = Q2(t)), then tanh x = 2s/(1+s^2) = n (2 q2) / (q2^2 + n^2). Going through the
    /// half angle damps the rounding errors of n and q2 where tanh nears 1 (a direct rational
    /// for tanh, e.g. XLA's 13/6, is ~5 ulp there). P and Q2 carry a common factor 0.9 (it
    /// cancels) so p and q2/2 sit just below 1 for small x, which halves their relative
    /// rounding error. Coefficients and an f32 simulation: tools/fit_tanh.py. Max error 3 ulp
    /// with and without FMA; tanh(+-0) = +-0, tanh(+-inf) = +-1 (clamp at 9.1, where tanh
    /// rounds to 1), NaN propagates through the clamp.
    pub(super) fn tanh_f32(&mut self, x: Value) -> Value {
        let xc = self.clamp(x, Some(-TANH_CLAMP_F32), Some(TANH_CLAMP_F32));
        let t = self.mul(xc, xc);
        let p = self.horner32(t, &TANH_P_F32);
        let n = self.mul(xc, p);
        let q2 = self.horner32(t, &TANH_Q_F32);
        let q4 = self.add(q2, q2);
        let num = self.mul(n, q4);
        let nn = self.mul(n, n);
        let den = self.madd(q2, q2, nn);
        self.div(num, den)
    }

    pub(super) fn logistic(&mut self, x: Value) -> Value {
        // e = exp(-|x|); logistic(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, so neither
        // side cancels and tiny results come out as (subnormal) e.
        let ax = self.abs(x);
        let nax = self.neg(ax);
        let e = self.exp_impl(nax, false);
        let one = self.c(1.0);
        let d = self.add(one, e);
        let zero = self.c(0.0);
        let neg = self.fcmp(FloatCC::LessThan, x, zero);
        let num = self.sel(neg, e, one);
        self.div(num, d)
    }
}
