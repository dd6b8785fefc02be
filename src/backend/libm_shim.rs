//! Stand-in for `math.rs` (inline polynomial transcendentals) until it lands: the same API,
//! implemented as calls of the interpreter's own scalar functions by absolute address (one
//! call per lane). Correct to the bit against the interpreter, but ~17x slower than inline
//! code; replace with `mod math;` when the inline version exists.

use crate::prims::unary::{erf_inv_f32, erf_inv_f64, logistic_f64};
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// The transcendental functions compiled code needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MathFn {
    Exp,
    Log,
    Log1p,
    Expm1,
    Tanh,
    Logistic,
    Sin,
    Cos,
    ErfInv,
}

macro_rules! shims {
    ($($name:ident: $t:ty => $e:expr;)*) => {
        $(
            extern "C" fn $name(x: $t) -> $t {
                let f: fn($t) -> $t = $e;
                f(x)
            }
        )*
    };
}

shims! {
    exp_f32: f32 => |x| x.exp();
    log_f32: f32 => |x| x.ln();
    log1p_f32: f32 => |x| x.ln_1p();
    expm1_f32: f32 => |x| x.exp_m1();
    tanh_f32: f32 => |x| x.tanh();
    logistic_f32: f32 => |x| logistic_f64(x as f64) as f32;
    sin_f32: f32 => |x| x.sin();
    cos_f32: f32 => |x| x.cos();
    erfinv_f32: f32 => erf_inv_f32;
    exp_f64: f64 => |x| x.exp();
    log_f64: f64 => |x| x.ln();
    log1p_f64: f64 => |x| x.ln_1p();
    expm1_f64: f64 => |x| x.exp_m1();
    tanh_f64: f64 => |x| x.tanh();
    logistic_f64_: f64 => logistic_f64;
    sin_f64: f64 => |x| x.sin();
    cos_f64: f64 => |x| x.cos();
    erfinv_f64: f64 => erf_inv_f64;
}

extern "C" fn pow_f32(x: f32, y: f32) -> f32 {
    x.powf(y)
}

extern "C" fn pow_f64(x: f64, y: f64) -> f64 {
    x.powf(y)
}

fn address(f: MathFn, t: Type) -> *const u8 {
    let f32s: [extern "C" fn(f32) -> f32; 9] = [
        exp_f32,
        log_f32,
        log1p_f32,
        expm1_f32,
        tanh_f32,
        logistic_f32,
        sin_f32,
        cos_f32,
        erfinv_f32,
    ];
    let f64s: [extern "C" fn(f64) -> f64; 9] = [
        exp_f64,
        log_f64,
        log1p_f64,
        expm1_f64,
        tanh_f64,
        logistic_f64_,
        sin_f64,
        cos_f64,
        erfinv_f64,
    ];
    let i = f as usize;
    if t == types::F32 {
        f32s[i] as *const u8
    } else {
        f64s[i] as *const u8
    }
}

/// Call `addr` (an `extern "C"` function of `n` scalar `t` arguments) on each lane.
fn per_lane(b: &mut FunctionBuilder, addr: *const u8, args: &[Value], ty: Type) -> Value {
    let lane = ty.lane_type();
    let mut sig = Signature::new(b.func.signature.call_conv);
    sig.params.extend(args.iter().map(|_| AbiParam::new(lane)));
    sig.returns.push(AbiParam::new(lane));
    let sigref = b.import_signature(sig);
    let callee = b.ins().iconst(types::I64, addr as i64);
    let call = |b: &mut FunctionBuilder, xs: &[Value]| {
        let inst = b.ins().call_indirect(sigref, callee, xs);
        b.inst_results(inst)[0]
    };
    if !ty.is_vector() {
        return call(b, args);
    }
    let z = if lane == types::F32 {
        b.ins().f32const(0.0)
    } else {
        b.ins().f64const(0.0)
    };
    let mut out = b.ins().splat(ty, z);
    for l in 0..ty.lane_count() as u8 {
        let xs: Vec<Value> = args.iter().map(|&a| b.ins().extractlane(a, l)).collect();
        let r = call(b, &xs);
        out = b.ins().insertlane(out, r, l);
    }
    out
}

/// `f(x)` for `ty` in F32/F64/F32X4/F64X2.
pub fn emit_math(b: &mut FunctionBuilder, f: MathFn, x: Value, ty: Type, _fma: bool) -> Value {
    per_lane(b, address(f, ty.lane_type()), &[x], ty)
}

/// `x ** y` for `ty` in F32/F64/F32X4/F64X2.
pub fn emit_pow(b: &mut FunctionBuilder, x: Value, y: Value, ty: Type, _fma: bool) -> Value {
    let addr = if ty.lane_type() == types::F32 {
        pow_f32 as *const u8
    } else {
        pow_f64 as *const u8
    };
    per_lane(b, addr, &[x, y], ty)
}
