//! The emission context `Em` shared by every function of `backend::math`: the float type and
//! its same-shape integer type, typed constants (splatted for vectors), arithmetic whose
//! multiply-adds are fused exactly when the ISA has FMA, error-free transformations
//! (two-sum, two-product, Veltkamp split), masks, selects and bit casts, and the pieces several
//! functions share: rounding by the 1.5 * 2^p magic constant, 2^n built from exponent bits,
//! and the two-part (Cody-Waite) reduction by ln 2 (fdlibm's and cephes' splits).

// Coefficients are kept verbatim as published, digits beyond the type's precision included, so
// they can be checked against their sources.
#![allow(clippy::excessive_precision)]

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, F64, F64X2, I32, I32X4, I64, I64X2};
use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

pub(super) use cranax_runtime::math_defs::{
    LN2_HI_F32, LN2_HI_F64, LN2_LO_F32, LN2_LO_F64, LOG2E, MAGIC_F32, MAGIC_F64,
};

/// Emission context: the float type, its same-shape integer type, and whether to fuse.
pub(super) struct Em<'a, 'f> {
    pub(super) b: &'a mut FunctionBuilder<'f>,
    pub(super) ty: Type,
    pub(super) ity: Type,
    /// f64 lanes (else f32)
    pub(super) wide: bool,
    pub(super) vec: bool,
    pub(super) fma: bool,
}

impl<'a, 'f> Em<'a, 'f> {
    pub(super) fn new(b: &'a mut FunctionBuilder<'f>, ty: Type, fma: bool) -> Self {
        let (ity, wide, vec) = match ty {
            F32 => (I32, false, false),
            F64 => (I64, true, false),
            F32X4 => (I32X4, false, true),
            F64X2 => (I64X2, true, true),
            _ => panic!("inline math: no lowering for type {ty}"),
        };
        Em {
            b,
            ty,
            ity,
            wide,
            vec,
            fma,
        }
    }

    // ---- constants -------------------------------------------------------------------------

    pub(super) fn splat(&mut self, s: Value, vty: Type) -> Value {
        if self.vec {
            self.b.ins().splat(vty, s)
        } else {
            s
        }
    }
    /// A float constant (rounded to f32 for f32 lanes; use `c2` where that matters).
    pub(super) fn c(&mut self, v: f64) -> Value {
        let s = if self.wide {
            self.b.ins().f64const(v)
        } else {
            self.b.ins().f32const(v as f32)
        };
        self.splat(s, self.ty)
    }
    /// A float constant given separately for f32 and f64 lanes.
    pub(super) fn c2(&mut self, v32: f32, v64: f64) -> Value {
        let s = if self.wide {
            self.b.ins().f64const(v64)
        } else {
            self.b.ins().f32const(v32)
        };
        self.splat(s, self.ty)
    }
    /// A float constant from its bit pattern (lane width).
    pub(super) fn cbits(&mut self, bits: u64) -> Value {
        let s = if self.wide {
            self.b.ins().f64const(f64::from_bits(bits))
        } else {
            self.b.ins().f32const(f32::from_bits(bits as u32))
        };
        self.splat(s, self.ty)
    }
    pub(super) fn inf(&mut self) -> Value {
        self.c(f64::INFINITY)
    }
    /// An integer constant in the lane integer type.
    pub(super) fn ci(&mut self, v: i64) -> Value {
        let lane = self.ity.lane_type();
        let imm = if self.wide { v } else { v as i32 as u32 as i64 };
        let s = self.b.ins().iconst(lane, imm);
        self.splat(s, self.ity)
    }
    pub(super) fn mant_bits(&self) -> i64 {
        if self.wide {
            52
        } else {
            23
        }
    }
    pub(super) fn bias(&self) -> i64 {
        if self.wide {
            1023
        } else {
            127
        }
    }
    pub(super) fn sign_mask(&self) -> i64 {
        if self.wide {
            i64::MIN
        } else {
            0x8000_0000
        }
    }
    /// 1.5 * 2^p: adding it rounds to an integer held in the low mantissa bits.
    pub(super) fn magic(&self) -> f64 {
        if self.wide {
            MAGIC_F64
        } else {
            MAGIC_F32 as f64
        }
    }
    pub(super) fn magic_bits(&self) -> i64 {
        if self.wide {
            MAGIC_F64.to_bits() as i64
        } else {
            MAGIC_F32.to_bits() as i64
        }
    }

    // ---- arithmetic ------------------------------------------------------------------------

    pub(super) fn add(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fadd(a, b)
    }
    pub(super) fn sub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fsub(a, b)
    }
    pub(super) fn mul(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fmul(a, b)
    }
    pub(super) fn div(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().fdiv(a, b)
    }
    pub(super) fn neg(&mut self, a: Value) -> Value {
        self.b.ins().fneg(a)
    }
    pub(super) fn abs(&mut self, a: Value) -> Value {
        self.b.ins().fabs(a)
    }
    pub(super) fn sqrt(&mut self, a: Value) -> Value {
        self.b.ins().sqrt(a)
    }
    /// a * b + c (fused when the ISA has FMA).
    pub(super) fn madd(&mut self, a: Value, b: Value, c: Value) -> Value {
        if self.fma {
            self.b.ins().fma(a, b, c)
        } else {
            let p = self.b.ins().fmul(a, b);
            self.b.ins().fadd(p, c)
        }
    }
    /// c - a * b (fused when the ISA has FMA).
    pub(super) fn nmadd(&mut self, a: Value, b: Value, c: Value) -> Value {
        if self.fma {
            let na = self.b.ins().fneg(a);
            self.b.ins().fma(na, b, c)
        } else {
            let p = self.b.ins().fmul(a, b);
            self.b.ins().fsub(c, p)
        }
    }
    /// Horner's rule, highest coefficient first.
    pub(super) fn horner(&mut self, x: Value, coeffs: &[f64]) -> Value {
        let mut p = self.c(coeffs[0]);
        for &k in &coeffs[1..] {
            let kc = self.c(k);
            p = self.madd(p, x, kc);
        }
        p
    }
    pub(super) fn horner32(&mut self, x: Value, coeffs: &[f32]) -> Value {
        let mut p = self.c2(coeffs[0], 0.0);
        for &k in &coeffs[1..] {
            let kc = self.c2(k, 0.0);
            p = self.madd(p, x, kc);
        }
        p
    }
    /// (s, e) with s + e == a + b exactly (Knuth's TwoSum, any magnitudes).
    pub(super) fn two_sum(&mut self, a: Value, b: Value) -> (Value, Value) {
        let s = self.add(a, b);
        let bb = self.sub(s, a);
        let t = self.sub(s, bb);
        let ea = self.sub(a, t);
        let eb = self.sub(b, bb);
        let e = self.add(ea, eb);
        (s, e)
    }
    /// (s, e) with s + e == a + b exactly, for |a| >= |b| (Dekker's Fast2Sum).
    pub(super) fn fast_two_sum(&mut self, a: Value, b: Value) -> (Value, Value) {
        let s = self.add(a, b);
        let t = self.sub(s, a);
        let e = self.sub(b, t);
        (s, e)
    }
    /// (p, e) with p + e == a * b exactly (FMA, or Dekker's product with Veltkamp splitting).
    pub(super) fn two_prod(&mut self, a: Value, b: Value) -> (Value, Value) {
        let p = self.mul(a, b);
        if self.fma {
            let np = self.neg(p);
            let e = self.b.ins().fma(a, b, np);
            (p, e)
        } else {
            let (ah, al) = self.split(a);
            let (bh, bl) = self.split(b);
            let hh = self.mul(ah, bh);
            let e = self.sub(hh, p);
            let hl = self.mul(ah, bl);
            let e = self.add(e, hl);
            let lh = self.mul(al, bh);
            let e = self.add(e, lh);
            let ll = self.mul(al, bl);
            let e = self.add(e, ll);
            (p, e)
        }
    }
    pub(super) fn split(&mut self, a: Value) -> (Value, Value) {
        let k = self.c(if self.wide { 134_217_729.0 } else { 4097.0 });
        let c = self.mul(k, a);
        let d = self.sub(c, a);
        let hi = self.sub(c, d);
        let lo = self.sub(a, hi);
        (hi, lo)
    }

    // ---- masks, selects and bits -----------------------------------------------------------

    pub(super) fn fcmp(&mut self, cc: FloatCC, a: Value, b: Value) -> Value {
        self.b.ins().fcmp(cc, a, b)
    }
    pub(super) fn icmp(&mut self, cc: IntCC, a: Value, b: Value) -> Value {
        self.b.ins().icmp(cc, a, b)
    }
    /// `m ? a : b` lane-wise. Masks come from fcmp/icmp (never `bnot` a scalar mask: it is 0/1).
    pub(super) fn sel(&mut self, m: Value, a: Value, b: Value) -> Value {
        if self.vec {
            let vt = self.b.func.dfg.value_type(a);
            let mt = self.b.func.dfg.value_type(m);
            let m = if mt != vt {
                self.b.ins().bitcast(vt, MemFlagsData::new(), m)
            } else {
                m
            };
            self.b.ins().bitselect(m, a, b)
        } else {
            self.b.ins().select(m, a, b)
        }
    }
    pub(super) fn and(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().band(a, b)
    }
    pub(super) fn or(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().bor(a, b)
    }
    pub(super) fn xor(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().bxor(a, b)
    }
    pub(super) fn bits(&mut self, a: Value) -> Value {
        self.b.ins().bitcast(self.ity, MemFlagsData::new(), a)
    }
    pub(super) fn float(&mut self, i: Value) -> Value {
        self.b.ins().bitcast(self.ty, MemFlagsData::new(), i)
    }
    pub(super) fn isub(&mut self, a: Value, b: Value) -> Value {
        self.b.ins().isub(a, b)
    }
    pub(super) fn iadd_c(&mut self, a: Value, k: i64) -> Value {
        let kc = self.ci(k);
        self.b.ins().iadd(a, kc)
    }
    pub(super) fn ishl(&mut self, a: Value, s: i64) -> Value {
        self.b.ins().ishl_imm_u(a, s)
    }
    pub(super) fn ushr(&mut self, a: Value, s: i64) -> Value {
        self.b.ins().ushr_imm_u(a, s)
    }
    pub(super) fn sshr(&mut self, a: Value, s: i64) -> Value {
        self.b.ins().sshr_imm_u(a, s)
    }
    /// `m ? k : a` with a constant k.
    pub(super) fn sel_c(&mut self, m: Value, k: f64, a: Value) -> Value {
        let kc = self.c(k);
        self.sel(m, kc, a)
    }
    /// x clamped to [lo, hi]; NaN passes through (the compare is false). These are the
    /// `bitselect(fcmp lt ..)` shapes that x86 lowers to one minps/maxps.
    pub(super) fn clamp(&mut self, x: Value, lo: Option<f64>, hi: Option<f64>) -> Value {
        let mut x = x;
        if let Some(hi) = hi {
            let h = self.c(hi);
            let m = self.fcmp(FloatCC::LessThan, h, x);
            x = self.sel(m, h, x);
        }
        if let Some(lo) = lo {
            let l = self.c(lo);
            let m = self.fcmp(FloatCC::LessThan, x, l);
            x = self.sel(m, l, x);
        }
        x
    }
    /// copysign(mag, sgn) for mag >= 0.
    pub(super) fn with_sign_of(&mut self, mag: Value, sgn: Value) -> Value {
        let sm = self.ci(self.sign_mask());
        let sb = self.bits(sgn);
        let s = self.and(sb, sm);
        let mb = self.bits(mag);
        let r = self.or(mb, s);
        self.float(r)
    }

    // ---- shared pieces ---------------------------------------------------------------------

    /// round(a * k) as a float, and the bits of `a*k + 1.5*2^p`, whose low bits hold that
    /// integer in two's complement (|n| < 2^(p-1)).
    pub(super) fn round_mul(&mut self, a: Value, k: f64) -> (Value, Value) {
        let m = self.c(self.magic());
        let kc = self.c(k);
        let t = self.madd(a, kc, m);
        let nf = self.sub(t, m);
        let tb = self.bits(t);
        (nf, tb)
    }
    /// n as an integer from `round_mul`'s bits.
    pub(super) fn int_of(&mut self, tb: Value) -> Value {
        let mb = self.ci(self.magic_bits());
        self.isub(tb, mb)
    }
    /// 2^(n + k) from `round_mul`'s bits (the magic's low bits are zero, so shifting the bits
    /// left by the mantissa width leaves n << p); n + k must be a normal exponent.
    pub(super) fn pow2_of_magic(&mut self, tb: Value, k: i64) -> Value {
        let p = self.mant_bits();
        let sh = self.ishl(tb, p);
        let e = self.iadd_c(sh, (self.bias() + k) << p);
        self.float(e)
    }
    /// 2^n for an integer n in the normal exponent range.
    pub(super) fn pow2_int(&mut self, n: Value) -> Value {
        let e = self.iadd_c(n, self.bias());
        let e = self.ishl(e, self.mant_bits());
        self.float(e)
    }
    /// p * 2^n for any n from an exp-style reduction (overflow and subnormal results are
    /// rounded once): n is split in two halves that are both normal exponents.
    pub(super) fn scale(&mut self, p: Value, tb: Value) -> Value {
        let n = self.int_of(tb);
        let n1 = self.sshr(n, 1);
        let n2 = self.isub(n, n1);
        let s1 = self.pow2_int(n1);
        let s2 = self.pow2_int(n2);
        let r = self.mul(p, s1);
        self.mul(r, s2)
    }
    /// r = x - n*ln2 (Cody-Waite, two parts).
    pub(super) fn reduce_ln2(&mut self, x: Value, nf: Value) -> Value {
        let hi = self.c2(-LN2_HI_F32, -LN2_HI_F64);
        let lo = self.c2(-LN2_LO_F32, -LN2_LO_F64);
        let r = self.madd(nf, hi, x);
        self.madd(nf, lo, r)
    }
}
