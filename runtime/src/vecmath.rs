//! Wide-vector block kernels for the expensive f32 functions of large fused loops: `tanh`,
//! `exp`, `log`, `log1p`, `sin`, `cos` and `logistic` over a block, `fn(src, dst, n)`, and
//! `tanh_grad`, tanh's derivative as `grad(tanh)` computes it (the whole loop of
//! `vmap(grad(tanh))` in one pass).
//!
//! Each computes *the same operation sequence* as the inline Cranelift polynomial of
//! `cranax::backend::math` (the constants of both are [`crate::math_defs`]; the same fused
//! or unfused multiply-adds, the same selects for the special cases), so a block kernel and
//! the inline code give the same bits for every input. The functions are written once, per
//! element and branch-free (`madd` fused when `F`), and rustc vectorises the loop over 16
//! elements for each instruction set: AVX-512 (one zmm), AVX2+FMA (two ymm), and a portable
//! build (SSE2 on x86-64) for the unfused variant and for FMA machines without AVX2. The
//! variant is chosen at run time from the CPU (detected once).
//!
//! Two entry points per function: `cranax_<f>_f32_block` (fused multiply-adds, matching
//! compiled code on an FMA target) and `cranax_<f>_f32_block_unfused` (every step rounded).
//! `src` and `dst` may be the same buffer (each 16-element chunk is read before it is
//! written), but must not otherwise overlap.

use crate::math_defs::*;

/// a * b + c, fused when `F`.
#[inline(always)]
fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}
/// c - a * b, fused (as fma(-a, b, c)) when `F`.
#[inline(always)]
fn nmadd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F {
        (-a).mul_add(b, c)
    } else {
        c - a * b
    }
}
#[inline(always)]
fn horner<const F: bool>(x: f32, k: &[f32]) -> f32 {
    let mut p = k[0];
    for &c in &k[1..] {
        p = madd::<F>(p, x, c);
    }
    p
}
#[inline(always)]
fn sel(m: bool, a: f32, b: f32) -> f32 {
    if m {
        a
    } else {
        b
    }
}
/// x clamped to [lo, hi] as the emitters' `clamp`: hi first, NaN passes through.
#[inline(always)]
fn clamp(x: f32, lo: Option<f64>, hi: Option<f64>) -> f32 {
    let mut x = x;
    if let Some(h) = hi {
        let h = h as f32;
        x = sel(h < x, h, x);
    }
    if let Some(l) = lo {
        let l = l as f32;
        x = sel(x < l, l, x);
    }
    x
}
#[inline(always)]
fn bits(x: f32) -> i32 {
    x.to_bits() as i32
}
#[inline(always)]
fn float(i: i32) -> f32 {
    f32::from_bits(i as u32)
}
/// (round(a k) as a float, the bits of a k + 1.5 2^23).
#[inline(always)]
fn round_mul<const F: bool>(a: f32, k: f64) -> (f32, i32) {
    let t = madd::<F>(a, k as f32, MAGIC_F32);
    (t - MAGIC_F32, bits(t))
}
#[inline(always)]
fn pow2_int(n: i32) -> f32 {
    float(n.wrapping_add(127).wrapping_shl(23))
}
/// p 2^n with n from `round_mul`'s bits, in two halves.
#[inline(always)]
fn scale(p: f32, tb: i32) -> f32 {
    let n = tb.wrapping_sub(bits(MAGIC_F32));
    let n1 = n >> 1;
    let n2 = n.wrapping_sub(n1);
    p * pow2_int(n1) * pow2_int(n2)
}
#[inline(always)]
fn reduce_ln2<const F: bool>(x: f32, nf: f32) -> f32 {
    let r = madd::<F>(nf, -LN2_HI_F32, x);
    madd::<F>(nf, -LN2_LO_F32, r)
}

#[inline(always)]
fn exp_impl<const F: bool>(x: f32, upper: bool) -> f32 {
    let (lo, hi) = EXP_CLAMP_F32;
    let x = clamp(x, Some(lo), if upper { Some(hi) } else { None });
    let (nf, tb) = round_mul::<F>(x, LOG2E);
    let r = reduce_ln2::<F>(x, nf);
    let q = horner::<F>(r, &EXP_P_F32);
    let r2 = r * r;
    let y = madd::<F>(q, r2, r);
    scale(y + 1.0, tb)
}

/// f32 exp (the emitters' `exp`).
#[inline(always)]
pub fn exp<const F: bool>(x: f32) -> f32 {
    exp_impl::<F>(x, true)
}

/// f32 tanh (the emitters' `tanh_f32`).
#[inline(always)]
pub fn tanh<const F: bool>(x: f32) -> f32 {
    let xc = clamp(x, Some(-TANH_CLAMP_F32), Some(TANH_CLAMP_F32));
    let t = xc * xc;
    let n = xc * horner::<F>(t, &TANH_P_F32);
    let q2 = horner::<F>(t, &TANH_Q_F32);
    let num = n * (q2 + q2);
    let den = madd::<F>(q2, q2, n * n);
    num / den
}

/// tanh's derivative as the gradient of `tanh` at a unit cotangent computes it from
/// `t = tanh(x)`: `d + d t` with `d = 1 - t` (JAX's JVP rule `(g + g t)(1 - t)`, transposed,
/// with `g = 1`); each step rounded, as the compiled code's.
#[inline(always)]
pub fn tanh_grad<const F: bool>(x: f32) -> f32 {
    let t = tanh::<F>(x);
    let d = 1.0 - t;
    d + d * t
}

/// f32 logistic (the emitters' `logistic`).
#[inline(always)]
pub fn logistic<const F: bool>(x: f32) -> f32 {
    let e = exp_impl::<F>(-x.abs(), false);
    let d = 1.0 + e;
    sel(x < 0.0, e, 1.0) / d
}

/// (m, k) with x = 2^k m, m in [sqrt(1/2), sqrt(2)) (the emitters' `frexp_sqrt2`).
#[inline(always)]
fn frexp_sqrt2(x: f32, subnormal: bool) -> (f32, f32) {
    let (xs, adj) = if subnormal {
        let m = x < f32::from_bits(0x0080_0000);
        (sel(m, x * 8_388_608.0, x), Some(sel(m, 23.0, 0.0)))
    } else {
        (x, None)
    };
    let (one_bits, sqrth_bits, mant_mask) = FREXP_BITS_F32;
    let ix = bits(xs).wrapping_add(one_bits - sqrth_bits);
    let kb = ((ix as u32) >> 23) as i32;
    let m = float((ix & mant_mask).wrapping_add(sqrth_bits));
    let kf = float(kb.wrapping_add(bits(MAGIC_F32)));
    let mut kf = kf - (MAGIC_F32 as f64 + 127.0) as f32;
    if let Some(a) = adj {
        kf -= a;
    }
    (m, kf)
}

/// Cephes logf for positive finite x (the emitters' f32 `log_core`).
#[inline(always)]
fn log_core<const F: bool>(x: f32, subnormal: bool, corr: Option<f32>) -> f32 {
    let (m, kf) = frexp_sqrt2(x, subnormal);
    let f = m - 1.0;
    let z = f * f;
    let y = horner::<F>(f, &LOG_P_F32) * f * z;
    let mut y = madd::<F>(kf, LN2_LO_F32, y);
    if let Some(c) = corr {
        y += c;
    }
    let y = nmadd::<F>(0.5, z, y);
    madd::<F>(kf, LN2_HI_F32, f + y)
}

#[inline(always)]
fn log_specials(x: f32, r: f32) -> f32 {
    // UnorderedOrLessThan: x < 0 or NaN.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    let r = sel(!(x >= 0.0), f64::NAN as f32, r);
    let r = sel(x == 0.0, f32::NEG_INFINITY, r);
    sel(x == f32::INFINITY, f32::INFINITY, r)
}

/// f32 log (the emitters' `log`).
#[inline(always)]
pub fn log<const F: bool>(x: f32) -> f32 {
    log_specials(x, log_core::<F>(x, true, None))
}

/// f32 log1p (the emitters' `log1p`).
#[inline(always)]
pub fn log1p<const F: bool>(x: f32) -> f32 {
    // u = fl(1 + x) and its exact rounding error c (TwoSum).
    let u = x + 1.0;
    let bb = u - x;
    let t = u - bb;
    let c = (x - t) + (1.0 - bb);
    let r = log_core::<F>(u, false, Some(c / u));
    let r = log_specials(u, r);
    sel(x == 0.0, x, r)
}

/// f32 sin or cos (the emitters' `sincos`).
#[inline(always)]
fn sincos<const F: bool>(x: f32, cos: bool) -> f32 {
    let (nf, tb) = round_mul::<F>(x, std::f64::consts::FRAC_2_PI);
    let mut r = x;
    if F {
        for &p in &PIO2_F32_FMA {
            r = madd::<F>(nf, f32::from_bits(p ^ 0x8000_0000), r);
        }
    } else {
        for &p in &PIO2_F32_NOFMA {
            r -= nf * f32::from_bits(p);
        }
    }
    let z = r * r;
    let s = madd::<F>(horner::<F>(z, &SIN_P_F32) * z, r, r);
    let w = nmadd::<F>(0.5, z, 1.0);
    let c = madd::<F>(horner::<F>(z, &COS_P_F32) * z, z, w);
    let q = if cos { tb.wrapping_add(1) } else { tb };
    let res = sel(q & 1 == 1, c, s);
    let res = float(bits(res) ^ ((q & 2) << 30));
    let res = clamp(res, Some(-1.0), Some(1.0));
    if cos {
        res
    } else {
        sel(x == 0.0, x, res)
    }
}

/// f32 sin.
#[inline(always)]
pub fn sin<const F: bool>(x: f32) -> f32 {
    sincos::<F>(x, false)
}
/// f32 cos.
#[inline(always)]
pub fn cos<const F: bool>(x: f32) -> f32 {
    sincos::<F>(x, true)
}

// ---- the block loop and its instruction-set variants -----------------------------------

/// Elements per vectorised chunk (one zmm of f32).
const CHUNK: usize = 16;

/// `dst[i] = f(src[i])` for i < n, 16 at a time through a local buffer (so src may be dst).
///
/// # Safety
/// `src` must be valid for reading and `dst` for writing `n` f32s; they are the same
/// pointer or do not overlap.
#[inline(always)]
unsafe fn map_block(src: *const f32, dst: *mut f32, n: usize, f: impl Fn(f32) -> f32) {
    let chunk = |buf: &mut [f32; CHUNK]| {
        for v in buf {
            *v = f(*v);
        }
    };
    let mut i = 0;
    while i + CHUNK <= n {
        // SAFETY: i + CHUNK <= n, inside both buffers (the caller's contract); unaligned
        // reads and writes of a local copy, so src may equal dst.
        unsafe {
            let mut buf = std::ptr::read_unaligned(src.add(i).cast::<[f32; CHUNK]>());
            chunk(&mut buf);
            std::ptr::write_unaligned(dst.add(i).cast::<[f32; CHUNK]>(), buf);
        }
        i += CHUNK;
    }
    if i < n {
        let len = n - i;
        let mut buf = [0f32; CHUNK];
        // SAFETY: i + len == n, inside both buffers; buf is a local, overlapping neither.
        unsafe { std::ptr::copy_nonoverlapping(src.add(i), buf.as_mut_ptr(), len) };
        chunk(&mut buf);
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), dst.add(i), len) };
    }
}

/// The instruction sets a block kernel is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// The target's baseline (SSE2 on x86-64); `mul_add` is the libm call without FMA.
    Portable,
    /// AVX2 and FMA (256-bit).
    Avx2Fma,
    /// AVX-512F (512-bit; implies FMA).
    Avx512,
}

impl Isa {
    /// Whether this CPU can run code compiled for `self`.
    pub fn available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Isa::Portable => true,
                Isa::Avx2Fma => {
                    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
                }
                Isa::Avx512 => {
                    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("fma")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Isa::Portable
        }
    }

    /// The widest instruction set this CPU has (detected once).
    pub fn best() -> Isa {
        static BEST: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
        *BEST.get_or_init(|| {
            [Isa::Avx512, Isa::Avx2Fma]
                .into_iter()
                .find(|i| i.available())
                .unwrap_or(Isa::Portable)
        })
    }
}

/// The functions with block kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockFn {
    /// e^x
    Exp,
    /// natural logarithm
    Log,
    /// log(1 + x)
    Log1p,
    /// tanh
    Tanh,
    /// tanh's derivative at a unit cotangent ([`tanh_grad`])
    TanhGrad,
    /// 1 / (1 + e^-x)
    Logistic,
    /// sine
    Sin,
    /// cosine
    Cos,
}

macro_rules! block_kernels {
    ($($f:ident: $fused:ident, $unfused:ident, $variant:ident;)*) => {
    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use crate::vecmath::*;
        $(
            #[target_feature(enable = "avx512f,fma")]
            pub(super) unsafe fn $f<const F: bool>(s: *const f32, d: *mut f32, n: usize) {
                // SAFETY: the caller's contract.
                unsafe { map_block(s, d, n, crate::vecmath::$f::<F>) }
            }
        )*
        pub(super) mod avx2 {
            use crate::vecmath::*;
            $(
                #[target_feature(enable = "avx2,fma")]
                pub(in super::super) unsafe fn $f<const F: bool>(s: *const f32, d: *mut f32, n: usize) {
                    // SAFETY: the caller's contract.
                    unsafe { map_block(s, d, n, crate::vecmath::$f::<F>) }
                }
            )*
        }
    }

        /// Runs `f` over a block with the given instruction set and fusion.
        ///
        /// # Safety
        /// As [`map_block`]'s, and `isa.available()` must hold.
        pub unsafe fn run(f: BlockFn, isa: Isa, fused: bool, src: *const f32, dst: *mut f32, n: usize) {
            // SAFETY: the caller's contract; the ISA is available.
            unsafe {
                match f {
                    $(
                        BlockFn::$variant => match (isa, fused) {
                            #[cfg(target_arch = "x86_64")]
                            (Isa::Avx512, true) => x86::$f::<true>(src, dst, n),
                            #[cfg(target_arch = "x86_64")]
                            (Isa::Avx512, false) => x86::$f::<false>(src, dst, n),
                            #[cfg(target_arch = "x86_64")]
                            (Isa::Avx2Fma, true) => x86::avx2::$f::<true>(src, dst, n),
                            #[cfg(target_arch = "x86_64")]
                            (Isa::Avx2Fma, false) => x86::avx2::$f::<false>(src, dst, n),
                            (_, true) => map_block(src, dst, n, $f::<true>),
                            (_, false) => map_block(src, dst, n, $f::<false>),
                        },
                    )*
                }
            }
        }

        impl BlockFn {
            /// The runtime symbols of this function's block kernel: (fused, unfused).
            pub fn symbols(self) -> (&'static str, &'static str) {
                match self {
                    $(BlockFn::$variant => (stringify!($fused), stringify!($unfused)),)*
                }
            }
        }

        $(
            /// The block kernel with fused multiply-adds, on the widest instruction set the
            /// CPU has.
            ///
            /// # Safety
            /// `src` valid for reading and `dst` for writing `n` f32s, equal or disjoint.
            #[no_mangle]
            pub unsafe extern "C" fn $fused(src: *const f32, dst: *mut f32, n: usize) {
                // SAFETY: the caller's contract; `best` is available.
                unsafe { run(BlockFn::$variant, Isa::best(), true, src, dst, n) }
            }
            /// The block kernel with every step rounded (compiled code without FMA).
            ///
            /// # Safety
            /// As the fused kernel's.
            #[no_mangle]
            pub unsafe extern "C" fn $unfused(src: *const f32, dst: *mut f32, n: usize) {
                // SAFETY: as above.
                unsafe { run(BlockFn::$variant, Isa::best(), false, src, dst, n) }
            }
        )*
    };
}

block_kernels! {
    exp: cranax_exp_f32_block, cranax_exp_f32_block_unfused, Exp;
    log: cranax_log_f32_block, cranax_log_f32_block_unfused, Log;
    log1p: cranax_log1p_f32_block, cranax_log1p_f32_block_unfused, Log1p;
    tanh: cranax_tanh_f32_block, cranax_tanh_f32_block_unfused, Tanh;
    tanh_grad: cranax_tanh_grad_f32_block, cranax_tanh_grad_f32_block_unfused, TanhGrad;
    logistic: cranax_logistic_f32_block, cranax_logistic_f32_block_unfused, Logistic;
    sin: cranax_sin_f32_block, cranax_sin_f32_block_unfused, Sin;
    cos: cranax_cos_f32_block, cranax_cos_f32_block_unfused, Cos;
}
