//! JIT-compiles `extern "C" fn(in, out, n)` loops (a vector body plus a scalar tail) around
//! the emitters and measures ulp error against Rust's f64 functions. Run with
//! `--nocapture` to see the table of measured maxima; `CRANAX_MATH_STEP=13` sweeps every
//! 13th f32 (needs ~6 GB per test thread), `CRANAX_MATH_N` sets the number of random f64
//! inputs, `CRANAX_MATH_DISASM=1` prints the generated machine code.

// Reference values are written as their sources print them.
#![allow(clippy::excessive_precision)]

use super::*;
use crate::backend::codegen;
use crate::defs::threefry::threefry2x32;
use crate::defs::{erf, erf_inv};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{AbiParam, BlockArg};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::JITModule;
use cranelift_module::{Linkage, Module};

const ALL: [MathFn; 9] = [
    MathFn::Exp,
    MathFn::Log,
    MathFn::Log1p,
    MathFn::Expm1,
    MathFn::Tanh,
    MathFn::Logistic,
    MathFn::Sin,
    MathFn::Cos,
    MathFn::ErfInv,
];

// ---- harness ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
pub(super) enum Op {
    F(MathFn),
    Pow,
}

/// A compiled `fn(in.., out, n)`; frees its code on drop.
pub(super) struct Kernel {
    module: Option<JITModule>,
    ptr: *const u8,
}

impl Drop for Kernel {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: no pointer into this module outlives the Kernel.
            unsafe { m.free_memory() };
        }
    }
}

impl Kernel {
    pub(super) fn run1<T: Copy + Default>(&self, x: &[T]) -> Vec<T> {
        let mut out = vec![T::default(); x.len()];
        // SAFETY: compiled with this signature; the buffers hold n elements.
        let f: extern "C" fn(*const T, *mut T, usize) = unsafe { std::mem::transmute(self.ptr) };
        f(x.as_ptr(), out.as_mut_ptr(), x.len());
        out
    }
    fn run2<T: Copy + Default>(&self, x: &[T], y: &[T]) -> Vec<T> {
        assert_eq!(x.len(), y.len());
        let mut out = vec![T::default(); x.len()];
        // SAFETY: as above.
        let f: extern "C" fn(*const T, *const T, *mut T, usize) =
            unsafe { std::mem::transmute(self.ptr) };
        f(x.as_ptr(), y.as_ptr(), out.as_mut_ptr(), x.len());
        out
    }
}

pub(super) fn host_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("fma")
    }
    #[cfg(target_arch = "aarch64")]
    {
        true
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

/// The FMA settings to test: the host's (if it has FMA) and plain mul+add.
fn fma_variants() -> Vec<bool> {
    if host_fma() {
        vec![true, false]
    } else {
        vec![false]
    }
}

/// The inputs and the ulp distance with which `check_variants` compares a kernel's paths.
type SamePaths<'a, T> = (&'a [T], fn(T, T) -> u64);

/// Checks one row per compiled variant of the kernel `op` at `ty`: each FMA setting the host
/// has, the vector path then the scalar path, named `{name} fma={fma} {ty or "scalar"}`. `run`
/// runs a variant and `measure` finds its worst error; every row must be within `bound` ulp
/// (`report_and_assert`). With `same_paths: Some((xs, ulps))`, the scalar path must give the
/// vector path's outputs on the inputs `xs` to the bit (`ulps` 0).
fn check_variants<T: Copy + std::fmt::LowerExp>(
    name: &str,
    op: Op,
    ty: Type,
    bound: u64,
    run: impl Fn(&Kernel) -> Vec<T>,
    measure: impl Fn(&[T]) -> Worst,
    same_paths: Option<SamePaths<T>>,
) -> Vec<(String, Worst)> {
    let mut rows = Vec::new();
    for fma in fma_variants() {
        let mut first: Option<Vec<T>> = None;
        for vector in [true, false] {
            let got = run(&compile(op, ty, fma, vector, 1));
            let w = measure(&got);
            match (&first, same_paths) {
                (Some(prev), Some((xs, ulps))) => {
                    for i in 0..xs.len() {
                        assert!(
                            ulps(prev[i], got[i]) == 0,
                            "{name} vector and scalar paths differ at {:e}: {:e} vs {:e}",
                            xs[i],
                            prev[i],
                            got[i]
                        );
                    }
                }
                (Some(_), None) => {}
                (None, _) => first = Some(got),
            }
            let path = if vector {
                ty.to_string()
            } else {
                "scalar".into()
            };
            rows.push((format!("{name} fma={fma} {path}"), w));
        }
    }
    report_and_assert(bound, rows)
}

/// `vector`: a loop over `ty` (unrolled `unroll` times) then a scalar tail; otherwise only
/// the scalar loop runs.
pub(super) fn compile(op: Op, ty: Type, fma: bool, vector: bool, unroll: usize) -> Kernel {
    let mut fb = settings::builder();
    fb.set("opt_level", "speed").unwrap();
    fb.set("enable_verifier", "true").unwrap();
    let isa = cranelift_native::builder()
        .unwrap()
        .finish(settings::Flags::new(fb))
        .unwrap();
    let mut module = JITModule::new(codegen::jit_builder(isa));
    let cfg = module.target_config();
    let pt = cfg.pointer_type();
    let nin = match op {
        Op::F(_) => 1,
        Op::Pow => 2,
    };
    let mut sig = module.make_signature();
    for _ in 0..nin + 2 {
        sig.params.push(AbiParam::new(pt));
    }
    let id = module
        .declare_function("kernel", Linkage::Local, &sig)
        .unwrap();
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    let mut fctx = FunctionBuilderContext::new();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let ins = params[..nin].to_vec();
        let out = params[nin];
        let n = params[nin + 1];
        let lane = ty.lane_type();
        let esize = lane.bytes() as i64;
        let lanes = ty.lane_count() as i64;
        let flags = MemFlagsData::new().with_notrap();
        let apply = |b: &mut FunctionBuilder, args: &[Value], t: Type| match op {
            Op::F(f) => emit_math(b, f, args[0], t, fma),
            Op::Pow => emit_pow(b, args[0], args[1], t, fma),
        };
        let vhead = b.create_block();
        let vbody = b.create_block();
        let thead = b.create_block();
        let tbody = b.create_block();
        let exit = b.create_block();
        for blk in [vhead, vbody, thead, tbody] {
            b.append_block_param(blk, pt);
        }
        let zero = b.ins().iconst(pt, 0);
        let step = lanes * unroll as i64;
        let nvec = if vector {
            b.ins().band_imm_s(n, -step)
        } else {
            zero
        };
        b.ins().jump(vhead, &[BlockArg::Value(zero)]);

        b.switch_to_block(vhead);
        let i = b.block_params(vhead)[0];
        let c = b.ins().icmp(IntCC::UnsignedLessThan, i, nvec);
        b.ins().brif(
            c,
            vbody,
            &[BlockArg::Value(i)],
            thead,
            &[BlockArg::Value(i)],
        );

        b.switch_to_block(vbody);
        let i = b.block_params(vbody)[0];
        let off = b.ins().imul_imm_s(i, esize);
        let mut addrs = Vec::new();
        for &p in &ins {
            addrs.push(b.ins().iadd(p, off));
        }
        let oaddr = b.ins().iadd(out, off);
        for u in 0..unroll {
            let o = (u as i64 * lanes * esize) as i32;
            let args: Vec<Value> = addrs
                .iter()
                .map(|&a| b.ins().load(ty, flags, a, o))
                .collect();
            let r = apply(&mut b, &args, ty);
            b.ins().store(flags, r, oaddr, o);
        }
        let i2 = b.ins().iadd_imm_s(i, step);
        b.ins().jump(vhead, &[BlockArg::Value(i2)]);

        b.switch_to_block(thead);
        let i = b.block_params(thead)[0];
        let c = b.ins().icmp(IntCC::UnsignedLessThan, i, n);
        b.ins().brif(c, tbody, &[BlockArg::Value(i)], exit, &[]);

        b.switch_to_block(tbody);
        let i = b.block_params(tbody)[0];
        let off = b.ins().imul_imm_s(i, esize);
        let args: Vec<Value> = ins
            .iter()
            .map(|&p| {
                let a = b.ins().iadd(p, off);
                b.ins().load(lane, flags, a, 0)
            })
            .collect();
        let r = apply(&mut b, &args, lane);
        let a = b.ins().iadd(out, off);
        b.ins().store(flags, r, a, 0);
        let i2 = b.ins().iadd_imm_s(i, 1);
        b.ins().jump(thead, &[BlockArg::Value(i2)]);

        b.switch_to_block(exit);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(cfg);
    }
    codegen::declare_runtime_used(&mut module, &mut ctx.func).unwrap();
    if std::env::var("CRANAX_MATH_DISASM").is_ok() {
        ctx.set_disasm(true);
    }
    module.define_function(id, &mut ctx).unwrap();
    if let Some(cc) = ctx.compiled_code() {
        if let Some(v) = &cc.vcode {
            println!("{v}");
        }
    }
    module.clear_context(&mut ctx);
    module.finalize_definitions().unwrap();
    let ptr = module.get_finalized_function(id);
    Kernel {
        module: Some(module),
        ptr,
    }
}

// ---- ulps ------------------------------------------------------------------------------

/// Distance in representable values between two floats given as (is NaN, bits) with `sign`
/// their sign bit: 0 when both are NaN, MAX when one is.
fn ulps_of_bits((a_nan, a): (bool, u64), (b_nan, b): (bool, u64), sign: u64) -> u64 {
    // Sign-magnitude bits to a count along the number line.
    let ord = |bits: u64| {
        if bits & sign != 0 {
            -((bits & !sign) as i128)
        } else {
            bits as i128
        }
    };
    match (a_nan, b_nan) {
        (true, true) => 0,
        (false, false) => (ord(a) - ord(b)).unsigned_abs().min(u64::MAX as u128) as u64,
        _ => u64::MAX,
    }
}
/// Distance in representable f32 values (0 when both are NaN, MAX when one is).
fn ulps32(a: f32, b: f32) -> u64 {
    let bits = |x: f32| (x.is_nan(), x.to_bits() as u64);
    ulps_of_bits(bits(a), bits(b), 1 << 31)
}
/// Distance in representable f64 values (0 when both are NaN, MAX when one is).
fn ulps64(a: f64, b: f64) -> u64 {
    let bits = |x: f64| (x.is_nan(), x.to_bits());
    ulps_of_bits(bits(a), bits(b), 1 << 63)
}
fn ulp64(x: f64) -> f64 {
    let e = ((x.abs().to_bits() >> 52) as i64).max(1);
    f64::from_bits(((e - 52).max(1) as u64) << 52).max(f64::from_bits(1))
        * if e - 52 < 1 { 0.0 } else { 1.0 }
        + if e - 52 < 1 {
            f64::from_bits(1u64 << (e - 1).max(0))
        } else {
            0.0
        }
}

/// Worst case of one variant.
#[derive(Default)]
struct Worst {
    ulps: f64,
    x: f64,
    y: f64,
    got: f64,
    want: f64,
    n: usize,
}
impl Worst {
    fn see(&mut self, u: impl Into<Ulps>, x: f64, y: f64, got: f64, want: f64) {
        let u = u.into().0;
        self.n += 1;
        if u > self.ulps || self.n == 1 {
            *self = Worst {
                ulps: u.max(self.ulps),
                x,
                y,
                got,
                want,
                n: self.n,
            };
        }
    }
}

/// An error in ulps: exact counts (u64) or estimates (f64).
struct Ulps(f64);
impl From<u64> for Ulps {
    fn from(u: u64) -> Ulps {
        Ulps(u as f64)
    }
}
impl From<f64> for Ulps {
    fn from(u: f64) -> Ulps {
        Ulps(u)
    }
}

fn budget(f: Option<MathFn>) -> u64 {
    match f {
        Some(MathFn::Exp | MathFn::Log | MathFn::Log1p) => 2,
        _ => 4,
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|s| s.parse().ok())
}
/// Every `step`-th f32 bit pattern: 97 in release builds, coarser in debug ones.
pub(super) fn sweep_step() -> usize {
    env_usize("CRANAX_MATH_STEP").unwrap_or(if cfg!(debug_assertions) { 997 } else { 97 })
}
fn n_random() -> usize {
    env_usize("CRANAX_MATH_N").unwrap_or(if cfg!(debug_assertions) {
        300_000
    } else {
        3_000_000
    })
}

/// splitmix64
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// uniform in [0, 1)
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn finite64(&mut self) -> f64 {
        loop {
            let x = f64::from_bits(self.next());
            if x.is_finite() {
                return x;
            }
        }
    }
}

// ---- references ------------------------------------------------------------------------

fn reference(f: MathFn, x: f64) -> f64 {
    match f {
        MathFn::Exp => x.exp(),
        MathFn::Log => x.ln(),
        MathFn::Log1p => x.ln_1p(),
        MathFn::Expm1 => x.exp_m1(),
        MathFn::Tanh => x.tanh(),
        MathFn::Logistic => logistic_ref(x),
        MathFn::Sin => x.sin(),
        MathFn::Cos => x.cos(),
        MathFn::ErfInv => giles_f64(x),
        MathFn::Tan => x.tan(),
        MathFn::Asin => x.asin(),
        MathFn::Acos => x.acos(),
        MathFn::Atan => x.atan(),
        MathFn::Sinh => x.sinh(),
        MathFn::Cosh => x.cosh(),
        // musl's (Rust's std forms overflow above ~1e154 and cancel near |x| = 1).
        MathFn::Asinh => libm::asinh(x),
        MathFn::Acosh => crate::prims::unary::acosh_f64(x),
        MathFn::Atanh => libm::atanh(x),
        MathFn::Cbrt => x.cbrt(),
        MathFn::Exp2 => x.exp2(),
        // The runtime calls compute exactly these (the checks cover the call, lane by lane).
        MathFn::Erf => cranax_runtime::special::erf_f64(x),
        MathFn::Erfc => cranax_runtime::special::erfc_f64(x),
        MathFn::Lgamma => cranax_runtime::special::lgamma_f64(x),
        MathFn::Digamma => cranax_runtime::special::digamma_f64(x),
    }
}

/// num / (1 + e) with 1 + e kept as a double-double: within ~0.5 ulp of logistic(x).
fn logistic_ref(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let e = (-x.abs()).exp();
    let num = if x < 0.0 { e } else { 1.0 };
    let s = 1.0 + e;
    let t = e - (s - 1.0);
    let q = num / s;
    let r = (-q).mul_add(s, num) - q * t;
    q + r / s
}

/// Giles' double-precision erfinv in plain f64 (the reference for the f32 version).
fn giles_f64(x: f64) -> f64 {
    if x.is_nan() || x.abs() > 1.0 {
        return f64::NAN;
    }
    if x.abs() == 1.0 {
        return x * f64::INFINITY;
    }
    let w = -((1.0 - x) * (1.0 + x)).ln();
    let (tab, ws): (&[f64], f64) = if w < 6.25 {
        (&erf_inv::F64_CENTRAL, w - 3.125)
    } else if w < 16.0 {
        (&erf_inv::F64_MIDDLE, w.sqrt() - 3.25)
    } else {
        (&erf_inv::F64_TAIL, w.sqrt() - 5.0)
    };
    let mut p = tab[0];
    for &k in &tab[1..] {
        p = k + p * ws;
    }
    p * x
}

// Double-double helpers for the f64 erfinv check.
fn dd_add(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let s = a.0 + b.0;
    let bb = s - a.0;
    let e = (a.0 - (s - bb)) + (b.0 - bb) + a.1 + b.1;
    let h = s + e;
    (h, e - (h - s))
}
fn dd_mul(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let p = a.0 * b.0;
    let e = a.0.mul_add(b.0, -p) + (a.0 * b.1 + a.1 * b.0);
    let h = p + e;
    (h, e - (h - p))
}
fn dd_div(a: (f64, f64), d: f64) -> (f64, f64) {
    let q = a.0 / d;
    let r = (-q).mul_add(d, a.0) + a.1;
    let q2 = r / d;
    let h = q + q2;
    (h, q2 - (h - q))
}
/// erf(x) for |x| <= 1.5 as a double-double (Taylor series, terms to 1e-34).
fn erf_dd(x: f64) -> (f64, f64) {
    let x2 = dd_mul((x, 0.0), (x, 0.0));
    let mut term = (x, 0.0); // x^(2n+1) / n!
    let mut sum = (0.0, 0.0);
    for n in 0..60 {
        let t = dd_div(term, (2 * n + 1) as f64);
        sum = dd_add(sum, if n % 2 == 0 { t } else { (-t.0, -t.1) });
        term = dd_div(dd_mul(term, x2), (n + 1) as f64);
    }
    dd_mul(
        sum,
        (std::f64::consts::FRAC_2_SQRT_PI, 1.533_545_961_316_588e-17),
    )
}
/// fdlibm erfc for 1.25 <= x < 28 (< 1 ulp).
fn erfc_big(x: f64) -> f64 {
    let poly = |c: &[f64], s: f64, one: bool| -> f64 {
        let mut p = c[c.len() - 1];
        for &k in c[..c.len() - 1].iter().rev() {
            p = k + s * p;
        }
        if one {
            1.0 + s * p
        } else {
            p
        }
    };
    let s = 1.0 / (x * x);
    let (r, q) = if x < 1.0 / 0.35 {
        (poly(&erf::RA, s, false), poly(&erf::SA, s, true))
    } else {
        (poly(&erf::RB, s, false), poly(&erf::SB, s, true))
    };
    let z = f64::from_bits(x.to_bits() & 0xffff_ffff_0000_0000);
    (-z * z - 0.5625).exp() * ((z - x) * (z + x) + r / q).exp() / x
}
/// Forward error, in ulps of `got`, of got = erfinv(y): |got - erfinv(y)| estimated from
/// the residual erf(got) - y (double-double) or erfc(|got|) - (1 - |y|), divided by erf'.
fn erfinv_err_ulps(y: f64, got: f64) -> f64 {
    if y.is_nan() || y.abs() > 1.0 {
        return if got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if y.abs() == 1.0 || y == 0.0 {
        return if got.to_bits() == (y * f64::INFINITY).to_bits()
            || (y == 0.0 && got.to_bits() == y.to_bits())
        {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if !got.is_finite() {
        return f64::INFINITY;
    }
    let deriv = std::f64::consts::FRAC_2_SQRT_PI * (-got * got).exp();
    let dx = if got.abs() <= 1.5 {
        let (h, l) = erf_dd(got);
        ((h - y) + l) / deriv
    } else {
        let ag = got.abs();
        let t = erfc_big(ag) - (1.0 - y.abs());
        -t / deriv * got.signum()
    };
    dx.abs() / ulp64(got)
}

// ---- f32 sweeps ------------------------------------------------------------------------

pub(super) fn specials32() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        -2.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::from_bits(1),
        -f32::from_bits(1),
        f32::MAX,
        f32::MIN,
        f32::EPSILON,
        88.72283,
        88.72284,
        -87.33655,
        -103.2789,
        -103.9720,
        -104.0,
        89.0,
        1e-8,
        -1e-8,
        0.55,
        0.5493,
        9.0,
        10.0,
        20.0,
        -17.3,
        1e5,
        -1e5,
        0.999_999_94,
        -0.999_999_94,
        std::f32::consts::FRAC_PI_2,
        std::f32::consts::PI,
        0.999,
        -0.999,
        0.9999,
        1.0e-30,
    ];
    for k in 0..200 {
        let t = k as f32 * 0.05 - 5.0;
        v.push(t);
    }
    v
}

fn check_f32(f: MathFn, domain: impl Fn(f32) -> bool) -> Vec<(String, Worst)> {
    check_f32_bound(f, domain, budget(Some(f)))
}

fn check_f32_bound(f: MathFn, domain: impl Fn(f32) -> bool, bound: u64) -> Vec<(String, Worst)> {
    let step = sweep_step();
    let mut xs: Vec<f32> = (0..=u32::MAX as u64)
        .step_by(step)
        .map(|b| f32::from_bits(b as u32))
        .collect();
    xs.extend(specials32());
    let want: Vec<f32> = xs.iter().map(|&x| reference(f, x as f64) as f32).collect();
    let measure = |got: &[f32]| {
        let mut w = Worst::default();
        for i in 0..xs.len() {
            if !domain(xs[i]) {
                continue;
            }
            let u = ulps32(got[i], want[i]);
            w.see(u, xs[i] as f64, 0.0, got[i] as f64, want[i] as f64);
        }
        w
    };
    let name = format!("{f:?} f32");
    check_variants(
        &name,
        Op::F(f),
        F32X4,
        bound,
        |k| k.run1(&xs),
        measure,
        Some((&xs, ulps32)),
    )
}

fn report_and_assert(bud: u64, rows: Vec<(String, Worst)>) -> Vec<(String, Worst)> {
    for (name, w) in &rows {
        println!(
            "{name:34} max {:>5.2} ulp  at x={:e} y={:e}: got {:e} want {:e}  ({} inputs)",
            w.ulps, w.x, w.y, w.got, w.want, w.n
        );
    }
    for (name, w) in &rows {
        assert!(
            w.ulps <= bud as f64,
            "{name}: {} ulp > {bud} at x={:e} y={:e}: got {:e} want {:e}",
            w.ulps,
            w.x,
            w.y,
            w.got,
            w.want
        );
    }
    rows
}

/// One accuracy test a row: the test's name and the check it runs.
macro_rules! accuracy_tests {
    ($($name:ident => $check:expr;)*) => {
        $(
            #[test]
            fn $name() {
                $check;
            }
        )*
    };
}

/// |x| <= 1e5 (or NaN): where sin and cos of f32 are held to the budget.
fn trig_range(x: f32) -> bool {
    x.abs() <= 1e5 || x.is_nan()
}

accuracy_tests! {
    f32_exp => check_f32(MathFn::Exp, |_| true);
    f32_log => check_f32(MathFn::Log, |_| true);
    f32_log1p => check_f32(MathFn::Log1p, |_| true);
    f32_expm1 => check_f32(MathFn::Expm1, |_| true);
    f32_tanh => check_f32(MathFn::Tanh, |_| true);
    f32_logistic => check_f32(MathFn::Logistic, |_| true);
    f32_sin => check_f32(MathFn::Sin, trig_range);
    f32_cos => check_f32(MathFn::Cos, trig_range);
}

#[test]
fn f32_erf_inv() {
    // XLA's formula loses accuracy in 1 - x*x near |x| = 1 (up to ~65 ulp around 0.9998);
    // the 4 ulp budget is asserted for |x| <= 0.9, and a regression bound beyond.
    check_f32(MathFn::ErfInv, |x| !(x.abs() > 0.9 && x.abs() < 1.0));
    let rows = check_f32_bound(MathFn::ErfInv, |x| x.abs() > 0.9 && x.abs() < 1.0, 80);
    drop(rows);
}

// ---- f64 random samples ----------------------------------------------------------------

/// Random inputs: half random finite bit patterns, half uniform over the interesting range.
fn inputs64(f: MathFn, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    let mut xs: Vec<f64> = Vec::with_capacity(n + 64);
    for i in 0..n {
        let x = if i % 2 == 0 {
            match f {
                MathFn::Sin | MathFn::Cos | MathFn::Tan => loop {
                    let x = rng.finite64();
                    if x.abs() <= 1e5 {
                        break x;
                    }
                },
                MathFn::ErfInv => {
                    // near +-1: 1 - 2^-k * u
                    let k = rng.range(1.0, 53.0).floor();
                    let s = if rng.next() & 1 == 0 { 1.0 } else { -1.0 };
                    s * (1.0 - rng.unit() * 2f64.powf(-k))
                }
                _ => rng.finite64(),
            }
        } else {
            match f {
                MathFn::Exp => rng.range(-746.0, 710.0),
                MathFn::Log => rng.range(0.0, 4.0),
                MathFn::Log1p => rng.range(-1.0, 4.0),
                MathFn::Expm1 => rng.range(-40.0, 710.0),
                MathFn::Tanh => rng.range(-23.0, 23.0),
                MathFn::Logistic => rng.range(-750.0, 40.0),
                MathFn::Sin | MathFn::Cos => rng.range(-1e5, 1e5),
                MathFn::ErfInv => rng.range(-1.0, 1.0),
                MathFn::Tan => rng.range(-10.0, 10.0),
                MathFn::Asin | MathFn::Acos | MathFn::Atanh => rng.range(-1.0, 1.0),
                MathFn::Atan | MathFn::Asinh | MathFn::Cbrt => rng.range(-4.0, 4.0),
                MathFn::Sinh | MathFn::Cosh => rng.range(-712.0, 712.0),
                MathFn::Acosh => rng.range(1.0, 4.0),
                MathFn::Exp2 => rng.range(-1080.0, 1025.0),
                MathFn::Erf | MathFn::Erfc => rng.range(-7.0, 28.0),
                MathFn::Lgamma | MathFn::Digamma => rng.range(-20.0, 50.0),
            }
        };
        xs.push(x);
    }
    // small magnitudes everywhere
    for k in 0..64 {
        xs.push(2f64.powi(-k * 17) * if k % 2 == 0 { 1.0 } else { -1.0 });
    }
    xs
}

fn check_f64(f: MathFn) {
    let xs = inputs64(f, n_random(), 0x5eed ^ f as u64);
    let want: Vec<f64> = xs.iter().map(|&x| reference(f, x)).collect();
    let measure = |got: &[f64]| {
        let mut w = Worst::default();
        for i in 0..xs.len() {
            let u = if f == MathFn::ErfInv {
                erfinv_err_ulps(xs[i], got[i])
            } else {
                ulps64(got[i], want[i]) as f64
            };
            w.see(u, xs[i], 0.0, got[i], want[i]);
        }
        w
    };
    let name = format!("{f:?} f64");
    check_variants(
        &name,
        Op::F(f),
        F64X2,
        budget(Some(f)),
        |k| k.run1(&xs),
        measure,
        Some((&xs, ulps64)),
    );
}

accuracy_tests! {
    f64_exp => check_f64(MathFn::Exp);
    f64_log => check_f64(MathFn::Log);
    f64_log1p => check_f64(MathFn::Log1p);
    f64_expm1 => check_f64(MathFn::Expm1);
    f64_tanh => check_f64(MathFn::Tanh);
    f64_logistic => check_f64(MathFn::Logistic);
    f64_sin => check_f64(MathFn::Sin);
    f64_cos => check_f64(MathFn::Cos);
    f64_erf_inv => check_f64(MathFn::ErfInv);
}

// ---- f64 log: glibc's, bit for bit -------------------------------------------------------

/// Inputs for the bit-for-bit f64 log check: every special class (signed zeros, infinities,
/// quiet and signalling NaNs of both signs with payloads, negatives, subnormals, the normal
/// limits), both sides of every table row boundary and of the near-1 bounds in several
/// binades (subnormal ones included), 1 +- k ulp for k < 20,000, random values near 1, and
/// `n` random bit patterns: half over all 2^64 patterns, half positive with a uniform
/// exponent.
fn log_f64_inputs(n: usize) -> Vec<f64> {
    use crate::defs::log::{NEAR_ONE_HI, NEAR_ONE_LO, OFF, TABLE_BITS};
    let mut xs: Vec<f64> = [
        0x0000_0000_0000_0000u64, // +0
        0x8000_0000_0000_0000,    // -0
        0x7ff0_0000_0000_0000,    // inf
        0xfff0_0000_0000_0000,    // -inf
        0x7ff8_0000_0000_0000,    // NaN
        0xfff8_0000_0000_0000,    // -NaN
        0x7ff0_0000_0000_0001,    // signalling NaN
        0xfff4_dead_beef_0001,    // negative signalling NaN with a payload
        0x7ffc_0123_4567_89ab,    // quiet NaN with a payload
        0x0000_0000_0000_0001,    // smallest subnormal
        0x000f_ffff_ffff_ffff,    // largest subnormal
        0x0010_0000_0000_0000,    // smallest normal
        0x7fef_ffff_ffff_ffff,    // largest finite
        0x8000_0000_0000_0001,
        0x8010_0000_0000_0000,
        0xbff0_0000_0000_0000, // -1
    ]
    .iter()
    .map(|&b| f64::from_bits(b))
    .collect();
    let near = |x: f64, k: i64| f64::from_bits((x.to_bits() as i64 + k) as u64);
    for b in [NEAR_ONE_LO, NEAR_ONE_HI] {
        xs.extend((-3..=3).map(|k| near(b, k)));
    }
    for k in 0..20_000 {
        xs.push(near(1.0, k));
        xs.push(near(1.0, -k));
    }
    // Row boundaries: z's bits OFF + i 2^45, in the binades of 2^e for these e, and in
    // subnormals (whose bits are z's shifted right).
    for e in [-1022i64, -700, -60, -1, 0, 1, 60, 700, 1023] {
        for i in 0..(1u64 << TABLE_BITS) {
            let zb = OFF + (i << (52 - TABLE_BITS));
            let b = (zb as i64 + (e << 52)) as u64;
            if (0x0010_0000_0000_0000..0x7ff0_0000_0000_0000).contains(&b) {
                xs.extend((-2..=2).map(|k| near(f64::from_bits(b), k)));
            }
        }
    }
    for shift in [1u32, 7, 20, 40, 51] {
        for i in 0..(1u64 << TABLE_BITS) {
            let m = (OFF + (i << (52 - TABLE_BITS))) & ((1 << 52) - 1) | 1 << 52;
            xs.extend((-2i64..=2).map(|k| f64::from_bits(((m >> shift) as i64 + k) as u64)));
        }
    }
    let mut rng = Rng(0x106_f64);
    for _ in 0..n / 20 {
        xs.push(rng.range(0.9, 1.1));
    }
    for i in 0..n {
        xs.push(if i % 2 == 0 {
            f64::from_bits(rng.next())
        } else {
            let e = rng.next() % 2047;
            f64::from_bits(e << 52 | rng.next() >> 12)
        });
    }
    xs
}

/// The compiled f64 log (FMA setting `fma`), vector and scalar paths, gives `f64::ln`'s bits
/// on `log_f64_inputs`; a failure shows the first 5 lanes that differ.
fn assert_log_f64_is_libm(fma: bool) {
    let xs = log_f64_inputs(n_random());
    for vector in [true, false] {
        let got = compile(Op::F(MathFn::Log), F64X2, fma, vector, 1).run1(&xs);
        let bad: Vec<usize> = (0..xs.len())
            .filter(|&i| got[i].to_bits() != xs[i].ln().to_bits())
            .collect();
        let shown: Vec<String> = bad
            .iter()
            .take(5)
            .map(|&i| {
                let (x, y, want) = (xs[i], got[i], xs[i].ln());
                format!(
                    "log({x:e} = {:#x}) = {:#x}, libm {:#x}",
                    x.to_bits(),
                    y.to_bits(),
                    want.to_bits()
                )
            })
            .collect();
        assert!(
            bad.is_empty(),
            "{} of {} differ (fma {fma}, vector {vector}):\n{}",
            bad.len(),
            xs.len(),
            shown.join("\n")
        );
    }
}

/// The compiled f64 log, vector and scalar paths, equals `f64::ln` (glibc's `log`) bit for
/// bit, NaN payloads and signs included, with the FMA setting the backend uses on this
/// machine (`glibc_log_fused` then picks the glibc build this machine runs).
#[test]
fn f64_log_is_libm_bit_for_bit() {
    assert_log_f64_is_libm(host_fma());
}

/// The compiled f64 erf_inv, vector and scalar paths, gives the bits of the shared definition
/// that eager code calls (`defs::erf_inv::erf_inv_f64`), NaN for NaN, with the backend's FMA
/// setting (the one under which the compiled f64 log is this machine's libm `log`).
#[test]
fn f64_erf_inv_is_the_eager_definition_bit_for_bit() {
    let mut xs = inputs64(MathFn::ErfInv, n_random(), 0xe1f);
    xs.extend([
        0.0,
        -0.0,
        1.0,
        -1.0,
        1.5,
        -2.0,
        f64::INFINITY,
        f64::NAN,
        1e-300,
        5e-324,
    ]);
    xs.extend((1..60).map(|k| 1.0 - 2f64.powi(-k)));
    let want: Vec<f64> = xs.iter().map(|&x| erf_inv::erf_inv_f64(x)).collect();
    for vector in [true, false] {
        let got = compile(Op::F(MathFn::ErfInv), F64X2, host_fma(), vector, 1).run1(&xs);
        let bad: Vec<String> = (0..xs.len())
            .filter(|&i| got[i].to_bits() != want[i].to_bits())
            .take(5)
            .map(|i| format!("x = {:e}: {:e} vs {:e}", xs[i], got[i], want[i]))
            .collect();
        assert!(bad.is_empty(), "vector {vector}:\n{}", bad.join("\n"));
    }
}

/// The unfused f64 log equals glibc's non-FMA `log`: this test runs itself again in a child
/// process with glibc told to ignore FMA and AVX2 (`GLIBC_TUNABLES`), where `f64::ln` is
/// glibc's SSE2 build, and compares the kernel compiled without FMA to it there.
#[test]
#[cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]
fn f64_log_without_fma_is_libm_without_fma_bit_for_bit() {
    const CHILD: &str = "CRANAX_LOG_UNFUSED_CHILD";
    if std::env::var_os(CHILD).is_some() {
        // glibc's two builds differ at this input (found by comparing them); the unfused one
        // must be the one running, or the comparison below would prove nothing.
        let x = std::hint::black_box(f64::from_bits(0x3fec_e6c7_37d2_f423));
        assert_eq!(
            x.ln().to_bits(),
            0xbfba_1265_3434_caf2,
            "glibc still runs its FMA log"
        );
        assert_log_f64_is_libm(false);
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "backend::math::tests::f64_log_without_fma_is_libm_without_fma_bit_for_bit",
            "--exact",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX2,-FMA,-FMA4")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("1 passed"),
        "child run failed:\n{text}"
    );
}

// The elementary functions of `elementary.rs` (f64 algorithms; f32 computed in f64) and the
// runtime calls: the f32 sweep and f64 samples against Rust's f64 functions (budget 4 ulp).
accuracy_tests! {
    f32_tan => check_f32(MathFn::Tan, trig_range);
    f32_asin => check_f32(MathFn::Asin, |_| true);
    f32_acos => check_f32(MathFn::Acos, |_| true);
    f32_atan => check_f32(MathFn::Atan, |_| true);
    f32_sinh => check_f32(MathFn::Sinh, |_| true);
    f32_cosh => check_f32(MathFn::Cosh, |_| true);
    f32_asinh => check_f32(MathFn::Asinh, |_| true);
    f32_acosh => check_f32(MathFn::Acosh, |_| true);
    f32_atanh => check_f32(MathFn::Atanh, |_| true);
    f32_cbrt => check_f32(MathFn::Cbrt, |_| true);
    f32_exp2 => check_f32(MathFn::Exp2, |_| true);
    f32_erf_call => check_f32(MathFn::Erf, |_| true);
    f32_lgamma_call => check_f32(MathFn::Lgamma, |_| true);
    f64_tan => check_f64(MathFn::Tan);
    f64_asin => check_f64(MathFn::Asin);
    f64_acos => check_f64(MathFn::Acos);
    f64_atan => check_f64(MathFn::Atan);
    f64_sinh => check_f64(MathFn::Sinh);
    f64_cosh => check_f64(MathFn::Cosh);
    f64_asinh => check_f64(MathFn::Asinh);
    f64_acosh => check_f64(MathFn::Acosh);
    f64_atanh => check_f64(MathFn::Atanh);
    f64_cbrt => check_f64(MathFn::Cbrt);
    f64_exp2 => check_f64(MathFn::Exp2);
    f64_erfc_call => check_f64(MathFn::Erfc);
    f64_digamma_call => check_f64(MathFn::Digamma);
}

// ---- pow -------------------------------------------------------------------------------

/// (x, y) pairs: x over all magnitudes with y scaled so |y log2 x| spans the finite range
/// and a bit beyond; negative x with integer y; fully random pairs; then `pow_specials`.
fn pow_inputs(
    n: usize,
    seed: u64,
    maxlog2: f64,
    finite: impl Fn(&mut Rng) -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng(seed);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..n {
        let (x, y) = match i % 4 {
            0 | 1 => {
                let x = finite(&mut rng).abs();
                let l = x.log2().abs().max(1e-300);
                (x, rng.range(-1.1, 1.1) * maxlog2 / l)
            }
            2 => {
                let x = -finite(&mut rng).abs();
                let l = x.abs().log2().abs().max(1e-300);
                (x, (rng.range(-1.1, 1.1) * maxlog2 / l).round())
            }
            _ => (finite(&mut rng), finite(&mut rng)),
        };
        xs.push(x);
        ys.push(y);
    }
    for (x, y) in pow_specials() {
        xs.push(x);
        ys.push(y);
    }
    (xs, ys)
}

fn pow_specials() -> Vec<(f64, f64)> {
    let vals = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        -2.0,
        3.0,
        -3.0,
        10.0,
        0.1,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1.0 / 3.0,
        -8.0,
        1e30,
        1e-30,
        1e300,
        -1e300,
    ];
    let mut v = Vec::new();
    for &x in &vals {
        for &y in &vals {
            v.push((x, y));
        }
    }
    v.extend([
        (2.0, -149.0),
        (2.0, -1074.0),
        (2.0, 127.0),
        (2.0, 1023.0),
        (2.0, 10.0),
        (-1.0, 1e301),
        (-1.0, 5e300),
    ]);
    v
}

/// `pow(x, y) = got` where libm says `s`: NaN where libm has NaN, and the very bits of an
/// infinite or zero result (a float widened to f64 keeps both).
fn assert_pow_special<T: Copy + Into<f64> + std::fmt::LowerExp>(x: T, y: T, got: T, s: T) {
    let (g, w) = (got.into(), s.into());
    assert!(
        !(w.is_nan() != g.is_nan()
            || (w.is_infinite() || w == 0.0) && w.to_bits() != g.to_bits() && !w.is_nan()),
        "pow({x:e}, {y:e}) = {got:e}, libm says {s:e}"
    );
}

#[test]
fn f32_pow() {
    let n = n_random();
    let (xs, ys) = pow_inputs(n, 7, 160.0, |r| loop {
        let x = f32::from_bits(r.next() as u32);
        if x.is_finite() {
            break x as f64;
        }
    });
    let xs: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
    let ys: Vec<f32> = ys.iter().map(|&y| y as f32).collect();
    let want: Vec<f32> = xs
        .iter()
        .zip(&ys)
        .map(|(&x, &y)| (x as f64).powf(y as f64) as f32)
        .collect();
    let measure = |got: &[f32]| {
        let mut w = Worst::default();
        for i in 0..xs.len() {
            // std's f32::powf agrees on special values (C99 rules).
            assert_pow_special(xs[i], ys[i], got[i], xs[i].powf(ys[i]));
            w.see(
                ulps32(got[i], want[i]),
                xs[i] as f64,
                ys[i] as f64,
                got[i] as f64,
                want[i] as f64,
            );
        }
        w
    };
    check_variants(
        "pow f32",
        Op::Pow,
        F32X4,
        budget(None),
        |k| k.run2(&xs, &ys),
        measure,
        None,
    );
}

#[test]
fn f64_pow() {
    let n = n_random();
    let (xs, ys) = pow_inputs(n, 11, 1100.0, |r| r.finite64());
    let want: Vec<f64> = xs.iter().zip(&ys).map(|(&x, &y)| x.powf(y)).collect();
    let measure = |got: &[f64]| {
        let mut w = Worst::default();
        for i in 0..xs.len() {
            assert_pow_special(xs[i], ys[i], got[i], want[i]);
            w.see(ulps64(got[i], want[i]), xs[i], ys[i], got[i], want[i]);
        }
        w
    };
    check_variants(
        "pow f64",
        Op::Pow,
        F64X2,
        budget(None),
        |k| k.run2(&xs, &ys),
        measure,
        None,
    );
}

// ---- special values --------------------------------------------------------------------

/// NaN, infinities and zeros exactly (zeros with their sign), other values within `bud` ulp;
/// `ulps` is the distance at the result's own precision (an f32 widened to f64 keeps the rest).
fn special_ok(got: f64, want: f64, ulps: u64, bud: u64) -> bool {
    if want.is_nan() {
        got.is_nan()
    } else if want.is_infinite() || want == 0.0 {
        got.to_bits() == want.to_bits()
    } else {
        ulps <= bud
    }
}

#[test]
fn special_values() {
    use MathFn::*;
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    // (function, x, expected for f32, expected for f64); NaN means "any NaN", zeros are
    // compared with their sign.
    let cases: Vec<(MathFn, f64, f64, f64)> = vec![
        (Exp, nan, nan, nan),
        (Exp, inf, inf, inf),
        (Exp, -inf, 0.0, 0.0),
        (Exp, 0.0, 1.0, 1.0),
        (Exp, -0.0, 1.0, 1.0),
        (Exp, 89.0, inf, 89f64.exp()),
        (Exp, 710.0, inf, inf),
        (Exp, -104.0, 0.0, (-104f64).exp()),
        (Exp, -746.0, 0.0, 0.0),
        (Exp, 1.0, std::f32::consts::E as f64, std::f64::consts::E),
        (Log, nan, nan, nan),
        (Log, -1.0, nan, nan),
        (Log, -inf, nan, nan),
        (Log, 0.0, -inf, -inf),
        (Log, -0.0, -inf, -inf),
        (Log, inf, inf, inf),
        (Log, 1.0, 0.0, 0.0),
        (Log1p, nan, nan, nan),
        (Log1p, -1.0, -inf, -inf),
        (Log1p, -2.0, nan, nan),
        (Log1p, -inf, nan, nan),
        (Log1p, inf, inf, inf),
        (Log1p, 0.0, 0.0, 0.0),
        (Log1p, -0.0, -0.0, -0.0),
        (Expm1, nan, nan, nan),
        (Expm1, inf, inf, inf),
        (Expm1, -inf, -1.0, -1.0),
        (Expm1, 0.0, 0.0, 0.0),
        (Expm1, -0.0, -0.0, -0.0),
        (Expm1, 89.0, inf, 89f64.exp_m1()),
        (Expm1, 710.0, inf, inf),
        (Tanh, nan, nan, nan),
        (Tanh, inf, 1.0, 1.0),
        (Tanh, -inf, -1.0, -1.0),
        (Tanh, 0.0, 0.0, 0.0),
        (Tanh, -0.0, -0.0, -0.0),
        (Tanh, 30.0, 1.0, 1.0),
        (Tanh, -30.0, -1.0, -1.0),
        (Logistic, nan, nan, nan),
        (Logistic, inf, 1.0, 1.0),
        (Logistic, -inf, 0.0, 0.0),
        (Logistic, 0.0, 0.5, 0.5),
        (Logistic, -0.0, 0.5, 0.5),
        (Logistic, -800.0, 0.0, 0.0),
        (Sin, nan, nan, nan),
        (Sin, inf, nan, nan),
        (Sin, -inf, nan, nan),
        (Sin, 0.0, 0.0, 0.0),
        (Sin, -0.0, -0.0, -0.0),
        (Cos, nan, nan, nan),
        (Cos, inf, nan, nan),
        (Cos, -inf, nan, nan),
        (Cos, 0.0, 1.0, 1.0),
        (Cos, -0.0, 1.0, 1.0),
        (ErfInv, nan, nan, nan),
        (ErfInv, 1.0, inf, inf),
        (ErfInv, -1.0, -inf, -inf),
        (ErfInv, 0.0, 0.0, 0.0),
        (ErfInv, -0.0, -0.0, -0.0),
        (ErfInv, 2.0, nan, nan),
        (ErfInv, -inf, nan, nan),
    ];
    for fma in fma_variants() {
        for vector in [true, false] {
            for f in ALL {
                let sel: Vec<_> = cases.iter().filter(|c| c.0 == f).collect();
                let x32: Vec<f32> = sel.iter().map(|c| c.1 as f32).collect();
                let x64: Vec<f64> = sel.iter().map(|c| c.1).collect();
                // Pad so the vector path sees every case (it handles n - n % lanes).
                let pad = |mut v: Vec<f32>| {
                    let k = v.len();
                    for i in 0..k {
                        for _ in 0..3 {
                            v.push(v[i]);
                        }
                    }
                    v
                };
                let g32 = compile(Op::F(f), F32X4, fma, vector, 1).run1(&pad(x32.clone()));
                let g64 = compile(Op::F(f), F64X2, fma, vector, 1)
                    .run1(&[x64.clone(), x64.clone()].concat());
                // NaN, infinities and zeros exactly (zeros with their sign), other values
                // within the function's budget.
                let bud = budget(Some(f));
                for (i, c) in sel.iter().enumerate() {
                    let e32 = c.2 as f32;
                    assert!(
                        special_ok(g32[i].into(), e32.into(), ulps32(g32[i], e32), bud),
                        "{f:?} f32 fma={fma} vector={vector} ({:e}) = {:e}, want {:e}",
                        c.1,
                        g32[i],
                        e32
                    );
                    let e64 = c.3;
                    assert!(
                        special_ok(g64[i], e64, ulps64(g64[i], e64), bud),
                        "{f:?} f64 fma={fma} vector={vector} ({:e}) = {:e}, want {:e}",
                        c.1,
                        g64[i],
                        e64
                    );
                }
            }
        }
    }
}

/// Subnormal results and inputs come out within budget (the sweep covers them too; this
/// pins a few by name).
#[test]
fn subnormals() {
    let xs: Vec<f32> = vec![-87.5, -90.0, -100.0, -103.0, -103.2];
    for fma in fma_variants() {
        let got = compile(Op::F(MathFn::Exp), F32X4, fma, false, 1).run1(&xs);
        for (x, g) in xs.iter().zip(&got) {
            let w = (*x as f64).exp() as f32;
            assert!(w != 0.0 && w < f32::MIN_POSITIVE);
            assert!(ulps32(*g, w) <= 1, "exp({x}) = {g:e}, want {w:e}");
        }
        let xs: Vec<f32> = vec![
            f32::from_bits(1),
            f32::from_bits(0x1234),
            f32::from_bits(0x7fffff),
        ];
        let got = compile(Op::F(MathFn::Log), F32X4, fma, false, 1).run1(&xs);
        for (x, g) in xs.iter().zip(&got) {
            let w = (*x as f64).ln() as f32;
            assert!(ulps32(*g, w) <= 1, "log({x:e}) = {g:e}, want {w:e}");
        }
    }
}

// ---- JAX's random.normal -----------------------------------------------------------------

fn random_bits(key: (u32, u32), n: usize) -> Vec<u32> {
    let m = n + n % 2;
    let half = m / 2;
    let counts: Vec<u32> = (0..m as u32)
        .map(|i| if (i as usize) < n { i } else { 0 })
        .collect();
    let mut y0 = Vec::new();
    let mut y1 = Vec::new();
    for i in 0..half {
        let (a, b) = threefry2x32([key.0, key.1], [counts[i], counts[half + i]]);
        y0.push(a);
        y1.push(b);
    }
    y0.extend(y1);
    y0.truncate(n);
    y0
}

/// normal(PRNGKey(seed), (n,)) = sqrt(2) * erf_inv(uniform(-1+, 1)), bit for bit.
#[test]
fn jax_normal_bits() {
    let cases: [((u32, u32), [f64; 6]); 3] = [
        (
            (0, 0),
            [
                0.187_843_844_294_548_03,
                -1.283_342_599_868_774_4,
                0.649_418_115_615_844_7,
                1.249_059_438_705_444_3,
                0.244_470_030_069_351_2,
                -0.117_449_648_678_302_76,
            ],
        ),
        (
            (0, 1234),
            [
                0.906_654_715_538_024_9,
                -0.945_337_593_555_450_4,
                -0.693_970_382_213_592_5,
                -1.843_636_155_128_479,
                0.459_509_015_083_313,
                0.882_357_060_909_271_2,
            ],
        ),
        (
            (0, 7),
            [
                -1.518_965_840_339_660_6,
                -0.839_150_369_167_327_9,
                -0.141_545_116_901_397_7,
                -0.299_508_720_636_367_8,
                0.454_922_407_865_524_3,
                -0.449_336_111_545_562_74,
            ],
        ),
    ];
    let shape5: [[f64; 5]; 3] = [
        [
            0.187_843_844_294_548_03,
            -1.283_342_599_868_774_4,
            -0.271_091_699_600_219_7,
            1.249_059_438_705_444_3,
            0.244_470_030_069_351_2,
        ],
        [
            0.906_654_715_538_024_9,
            -0.945_337_593_555_450_4,
            0.082_056_567_072_868_35,
            -1.843_636_155_128_479,
            0.459_509_015_083_313,
        ],
        [
            -1.518_965_840_339_660_6,
            -0.839_150_369_167_327_9,
            0.386_560_559_272_766_1,
            -0.299_508_720_636_367_8,
            0.454_922_407_865_524_3,
        ],
    ];
    let lo = f32::from_bits(0xBF7F_FFFF);
    let uniform = |bits: &[u32]| -> Vec<f32> {
        bits.iter()
            .map(|&b| {
                let f = f32::from_bits(b >> 9 | 0x3F80_0000) - 1.0;
                lo.max(f * (1.0 - lo) + lo)
            })
            .collect()
    };
    for fma in fma_variants() {
        for vector in [true, false] {
            let k = compile(Op::F(MathFn::ErfInv), F32X4, fma, vector, 1);
            for (ci, (key, want6)) in cases.iter().enumerate() {
                for (n, want) in [(6usize, &want6[..]), (5, &shape5[ci][..])] {
                    let u = uniform(&random_bits(*key, n));
                    let e = k.run1(&u);
                    for i in 0..n {
                        let z = std::f32::consts::SQRT_2 * e[i];
                        // XLA contracts the Horner steps into FMAs: bit-exact with FMA,
                        // within 2 ulp with separate multiply and add.
                        let tol = if fma { 0 } else { 2 };
                        assert!(
                            ulps32(z, want[i] as f32) <= tol,
                            "normal key {key:?} n={n} [{i}] fma={fma} vector={vector}: {z:e} vs {:e}",
                            want[i] as f32
                        );
                    }
                }
            }
        }
    }
}

// ---- speed -------------------------------------------------------------------------------

/// ns/element over 1e6 elements, vector loop unrolled 4x. Run with
/// `cargo test --release -- --ignored --nocapture bench_ns_per_element`.
/// `time` of the kernel `k` of `op` (pow takes `ys` too) on `xs`, with preallocated buffers
/// so that only the kernel is timed.
fn ns_per_element<T: Copy + Default>(
    k: &Kernel,
    op: Op,
    xs: &[T],
    ys: &[T],
    time: &dyn Fn(&mut dyn FnMut()) -> f64,
) -> f64 {
    let n = xs.len();
    let mut out = vec![T::default(); n];
    match op {
        Op::Pow => {
            // SAFETY: compiled with this signature; the buffers hold n elements.
            let f: extern "C" fn(*const T, *const T, *mut T, usize) =
                unsafe { std::mem::transmute(k.ptr) };
            time(&mut || f(xs.as_ptr(), ys.as_ptr(), out.as_mut_ptr(), n))
        }
        _ => {
            // SAFETY: as above.
            let f: extern "C" fn(*const T, *mut T, usize) = unsafe { std::mem::transmute(k.ptr) };
            time(&mut || f(xs.as_ptr(), out.as_mut_ptr(), n))
        }
    }
}

#[test]
#[ignore]
fn bench_ns_per_element() {
    let n = 1_000_000;
    let mut rng = Rng(3);
    let fma = host_fma();
    for (op, ty) in ALL
        .iter()
        .map(|&f| (Op::F(f), F32X4))
        .chain([(Op::Pow, F32X4)])
        .chain(ALL.iter().map(|&f| (Op::F(f), F64X2)))
        .chain([(Op::Pow, F64X2)])
    {
        let range = match op {
            Op::F(MathFn::ErfInv) => (-0.999, 0.999),
            Op::F(MathFn::Log | MathFn::Log1p) | Op::Pow => (0.01, 10.0),
            _ => (-10.0, 10.0),
        };
        let xs: Vec<f64> = (0..n).map(|_| rng.range(range.0, range.1)).collect();
        let ys: Vec<f64> = (0..n).map(|_| rng.range(-3.0, 3.0)).collect();
        let k = compile(op, ty, fma, true, 4);
        let time = |run: &mut dyn FnMut()| {
            run();
            let mut best = f64::INFINITY;
            for _ in 0..7 {
                let t = std::time::Instant::now();
                run();
                best = best.min(t.elapsed().as_secs_f64());
            }
            best * 1e9 / n as f64
        };
        let ns = if ty == F32X4 {
            let x32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
            let y32: Vec<f32> = ys.iter().map(|&v| v as f32).collect();
            ns_per_element(&k, op, &x32, &y32, &time)
        } else {
            ns_per_element(&k, op, &xs, &ys, &time)
        };
        println!("{op:?} {ty} fma={fma}: {ns:.2} ns/element");
    }
}
