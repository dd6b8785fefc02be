//! The runtime's wide-vector block kernels (`cranax_runtime::vecmath`) against the inline
//! emitters' compiled code: the same bits for every 97th f32 bit pattern (997th in debug
//! builds, `CRANAX_MATH_STEP` to change) and the special values, for each instruction set
//! this CPU has and each FMA setting, on the vector path and the scalar tail of both.

use super::tests::{compile, host_fma, specials32, sweep_step, Op};
use super::MathFn;
use cranax_runtime::vecmath::{run, BlockFn, Isa};
use cranelift_codegen::ir::types::F32X4;

const FNS: [(BlockFn, MathFn); 7] = [
    (BlockFn::Exp, MathFn::Exp),
    (BlockFn::Log, MathFn::Log),
    (BlockFn::Log1p, MathFn::Log1p),
    (BlockFn::Tanh, MathFn::Tanh),
    (BlockFn::Logistic, MathFn::Logistic),
    (BlockFn::Sin, MathFn::Sin),
    (BlockFn::Cos, MathFn::Cos),
];

fn inputs() -> Vec<f32> {
    let mut xs: Vec<f32> = (0..=u32::MAX as u64)
        .step_by(sweep_step())
        .map(|b| f32::from_bits(b as u32))
        .collect();
    xs.extend(specials32());
    // NaNs with payloads and both signs.
    xs.extend([0x7fc0_0001u32, 0xffc0_1234, 0x7f80_0001, 0xff80_4321].map(f32::from_bits));
    xs
}

fn block(f: BlockFn, isa: Isa, fused: bool, xs: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; xs.len()];
    // SAFETY: both buffers hold xs.len() f32s and do not overlap; the ISA is available.
    unsafe { run(f, isa, fused, xs.as_ptr(), out.as_mut_ptr(), xs.len()) };
    out
}

#[test]
fn block_kernels_match_the_inline_code_bit_for_bit() {
    let xs = inputs();
    let isas: Vec<Isa> = [Isa::Portable, Isa::Avx2Fma, Isa::Avx512]
        .into_iter()
        .filter(|i| i.available())
        .collect();
    let fmas: &[bool] = if host_fma() { &[true, false] } else { &[false] };
    for (bf, mf) in FNS {
        for &fma in fmas {
            // The inline code: vector loop then scalar tail (31 elements: 28 vector, 3 tail)
            // and scalar throughout; they agree (tests.rs), the block kernels must give both.
            let inline = compile(Op::F(mf), F32X4, fma, true, 1).run1(&xs);
            for &isa in &isas {
                // Also a length that leaves a short tail chunk, and in place.
                let got = block(bf, isa, fma, &xs);
                let mut inplace = xs[..1001].to_vec();
                // SAFETY: src == dst is allowed; the buffer holds 1001 f32s.
                unsafe { run(bf, isa, fma, inplace.as_ptr(), inplace.as_mut_ptr(), 1001) };
                for (i, &x) in xs.iter().enumerate() {
                    let (a, b) = (inline[i].to_bits(), got[i].to_bits());
                    assert!(
                        a == b && (i >= 1001 || inplace[i].to_bits() == a),
                        "{bf:?} {isa:?} fma={fma}: x = {x:e} ({:#010x}): inline {:e} ({a:#010x}), \
                         block {:e} ({b:#010x})",
                        x.to_bits(),
                        inline[i],
                        got[i],
                    );
                }
            }
        }
    }
}

/// `tanh_grad` is the compiled code's `d + d t`, `d = 1 - t`, from the inline tanh's `t`
/// (each step an IEEE operation, as `ops` emits them), on every instruction set.
#[test]
fn tanh_grad_kernel_is_the_inline_composition() {
    let xs = inputs();
    let fmas: &[bool] = if host_fma() { &[true, false] } else { &[false] };
    for &fma in fmas {
        let t = compile(Op::F(MathFn::Tanh), F32X4, fma, true, 1).run1(&xs);
        let want: Vec<u32> = t
            .iter()
            .map(|&t| {
                let d = 1.0 - t;
                (d + d * t).to_bits()
            })
            .collect();
        for isa in [Isa::Portable, Isa::Avx2Fma, Isa::Avx512] {
            if !isa.available() {
                continue;
            }
            let got = block(BlockFn::TanhGrad, isa, fma, &xs);
            for (i, &x) in xs.iter().enumerate() {
                assert_eq!(
                    got[i].to_bits(),
                    want[i],
                    "{isa:?} fma={fma}: x = {x:e}: block {:e}, inline {:e}",
                    got[i],
                    f32::from_bits(want[i])
                );
            }
        }
    }
}

#[test]
fn every_block_kernel_is_a_runtime_symbol() {
    let all = FNS.iter().map(|f| f.0).chain([BlockFn::TanhGrad]);
    for bf in all {
        let (fused, unfused) = bf.symbols();
        for name in [fused, unfused] {
            let s = cranax_runtime::symbols::symbol(name).expect(name);
            assert_eq!(s.params.len(), 3, "{name}");
        }
    }
}
