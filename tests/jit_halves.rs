//! Compiled conversions of the 16-bit floats against the `half` crate (which eager evaluation
//! uses): f16 and bf16 to f32 and f64 for all 65536 bit patterns, and f32 to f16 and bf16 for
//! every rounding boundary (each pair of neighbouring 16-bit values: their midpoint, the tie,
//! and the f32 values next to it; each 16-bit value and its f32 neighbours; the largest finite
//! value and overflow; subnormal outputs; NaN payloads) plus a large sample of random f32 bit
//! patterns. f64 sources round through f32, as `Scalar::convert` defines. Bit for bit.

use cranax::lax;
use cranax::*;
use half::{bf16, f16};

fn compiled_convert(x: &Array, to: DType) -> Array {
    jit(move |a: &Array| lax::convert_element_type(a, to).unwrap())
        .call((x.clone(),))
        .unwrap()
}

fn all_patterns(dt: DType) -> Array {
    let data = match dt {
        DType::F16 => Data::F16((0..=u16::MAX).map(f16::from_bits).collect()),
        _ => Data::BF16((0..=u16::MAX).map(bf16::from_bits).collect()),
    };
    Array::from_data(data, &[1 << 16]).unwrap()
}

/// The 16-bit value of pattern `h` widened by the `half` crate.
fn half_to_f32(dt: DType, h: u16) -> f32 {
    match dt {
        DType::F16 => f16::from_bits(h).to_f32(),
        _ => bf16::from_bits(h).to_f32(),
    }
}

fn half_from_f32(dt: DType, x: f32) -> u16 {
    match dt {
        DType::F16 => f16::from_f32(x).to_bits(),
        _ => bf16::from_f32(x).to_bits(),
    }
}

#[test]
fn every_16_bit_pattern_widens_as_the_half_crate_does() {
    for dt in [DType::F16, DType::BF16] {
        let x = all_patterns(dt);
        let got32 = compiled_convert(&x, DType::F32).to_vec::<f32>().unwrap();
        let got64 = compiled_convert(&x, DType::F64).to_vec::<f64>().unwrap();
        for h in 0..=u16::MAX {
            let want = half_to_f32(dt, h);
            let g = got32[h as usize];
            assert_eq!(
                g.to_bits(),
                want.to_bits(),
                "{dt} {h:#06x} -> f32: got {g:e}, half gives {want:e}"
            );
            // f64: exact through f32 (so the same NaN payload, widened).
            let want64 = Scalar::from_bits(h as u64, dt).convert(DType::F64);
            assert_eq!(
                got64[h as usize].to_bits(),
                want64.bits(),
                "{dt} {h:#06x} -> f64"
            );
        }
    }
}

/// f32 values at and around every rounding boundary of `dt`, and a random sample.
fn boundary_sample(dt: DType) -> Vec<f32> {
    let step = |x: f32, k: i32| f32::from_bits((x.to_bits() as i64 + k as i64) as u32);
    let mut v = Vec::new();
    for h in 0..=u16::MAX {
        let a = half_to_f32(dt, h);
        if !a.is_finite() {
            continue;
        }
        for k in -2..=2 {
            v.push(step(a, k));
        }
        // The midpoint to the next pattern of the same sign (the next magnitude up, or
        // infinity past the largest finite value): a tie, and its neighbours.
        let b = half_to_f32(dt, h.wrapping_add(1));
        if h & 0x7FFF != 0x7FFF && !b.is_nan() {
            let mid = ((a as f64 + b as f64) / 2.0) as f32;
            for k in -1..=1 {
                v.push(step(mid, k));
            }
        }
    }
    // Specials: NaNs (quiet, signalling, negative, full payload), infinities, f32 subnormals.
    v.extend(
        [
            0x7FC0_0000u32,
            0x7F80_0001,
            0xFF80_0001,
            0x7FFF_FFFF,
            0xFFFF_FFFF,
            0x7FA0_1234,
            0x7F80_0000,
            0xFF80_0000,
            0x0000_0001,
            0x8000_0001,
            0x007F_FFFF,
            0x7F7F_FFFF,
            0xFF7F_FFFF,
        ]
        .map(f32::from_bits),
    );
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..(1 << 20) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.push(f32::from_bits((s >> 32) as u32));
    }
    v
}

#[test]
fn f32_rounds_to_16_bits_as_the_half_crate_does() {
    for dt in [DType::F16, DType::BF16] {
        let xs = boundary_sample(dt);
        let x = Array::from_vec(xs.clone(), &[xs.len()]).unwrap();
        let got = compiled_convert(&x, dt);
        let got = got.data().unwrap();
        for (i, &v) in xs.iter().enumerate() {
            let g = got.get(i).bits() as u16;
            let want = half_from_f32(dt, v);
            assert_eq!(
                g,
                want,
                "f32 {v:e} ({:#010x}) -> {dt}: got {g:#06x}, half gives {want:#06x}",
                v.to_bits()
            );
        }
    }
}

#[test]
fn f64_rounds_to_16_bits_through_f32() {
    for dt in [DType::F16, DType::BF16] {
        // f64 values around f32's roundings of the boundaries: halfway between two f32s
        // (whose f32 rounding then decides), and values beyond f32's range.
        let mut xs: Vec<f64> = boundary_sample(dt)
            .into_iter()
            .step_by(7)
            .flat_map(|x| {
                let d = x as f64;
                let next = f64::from_bits(d.to_bits().wrapping_add(1 << 28));
                [d, next, -next]
            })
            .collect();
        xs.extend([
            1e300,
            -1e300,
            1e-300,
            f64::NAN,
            65519.999,
            65520.0,
            3.4e38 * 1.5,
        ]);
        let x = Array::from_vec(xs.clone(), &[xs.len()]).unwrap();
        let got = compiled_convert(&x, dt);
        let got = got.data().unwrap();
        for (i, &v) in xs.iter().enumerate() {
            let want = Scalar::F64(v).convert(dt).bits();
            assert_eq!(
                got.get(i).bits(),
                want,
                "f64 {v:e} -> {dt}: got {:#06x}, Scalar::convert gives {want:#06x}",
                got.get(i).bits()
            );
            // And that is the f32 rounding first.
            assert_eq!(want as u16, half_from_f32(dt, v as f32), "{v:e}");
        }
    }
}
