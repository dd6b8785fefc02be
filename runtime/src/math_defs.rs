//! The constants of cranax's inline math (coefficient tables, range-reduction splits, clamp
//! bounds), in one place for the two implementations that must agree bit for bit: the
//! Cranelift emitters (`cranax::backend::math`) and the runtime's wide-vector block kernels
//! ([`crate::vecmath`]). Sources and methods are in the emitters' module docs.

// Coefficients are kept verbatim as published, digits beyond the type's precision included, so
// they can be checked against their sources.
#![allow(clippy::excessive_precision)]

/// log2(e).
pub const LOG2E: f64 = std::f64::consts::LOG2_E;
/// ln2 = LN2_HI + LN2_LO; LN2_HI has 32 significant bits so n * LN2_HI is exact (fdlibm).
pub const LN2_HI_F64: f64 = 6.931_471_803_691_238_164_90e-1;
/// The low part of fdlibm's ln2 split.
pub const LN2_LO_F64: f64 = 1.908_214_929_270_587_700_02e-10;
/// Cephes split of ln2 for f32: 0.693359375 has 9 bits.
pub const LN2_HI_F32: f32 = 0.693_359_375;
/// The low part of cephes' f32 ln2 split.
pub const LN2_LO_F32: f32 = -2.121_944_4e-4;
/// 1.5 * 2^23: adding it to an f32 rounds to an integer held in the low mantissa bits.
pub const MAGIC_F32: f32 = 12_582_912.0;
/// 1.5 * 2^52, the f64 rounding constant.
pub const MAGIC_F64: f64 = 6_755_399_441_055_744.0;

/// Cephes expf: exp(r) = 1 + r + r^2 * P(r) on |r| <= ln2/2.
pub const EXP_P_F32: [f32; 6] = [
    1.987_569_15e-4,
    1.398_199_950_7e-3,
    8.333_451_907_3e-3,
    4.166_579_589_4e-2,
    1.666_666_545_9e-1,
    5.000_000_120_1e-1,
];
/// f32 exp's input clamp (past it exp is 0 or inf anyway; the clamp keeps n in range).
pub const EXP_CLAMP_F32: (f64, f64) = (-104.0, 89.0);
/// f64 exp's input clamp.
pub const EXP_CLAMP_F64: (f64, f64) = (-746.0, 710.0);
/// fdlibm exp: the Remez polynomial of the rational form (|error| < 2^-59).
pub const EXP_P_F64: [f64; 5] = [
    4.138_136_797_057_238_460_39e-8,
    -1.653_390_220_546_525_153_90e-6,
    6.613_756_321_437_934_361_17e-5,
    -2.777_777_777_701_559_338_42e-3,
    1.666_666_666_666_660_190_37e-1,
];
/// Cephes logf: log(1+f) = f - f^2/2 + f^3 * P(f) for 1+f in [sqrt(1/2), sqrt(2)).
pub const LOG_P_F32: [f32; 9] = [
    7.037_683_629_2e-2,
    -1.151_461_031_0e-1,
    1.167_699_874_0e-1,
    -1.242_014_084_6e-1,
    1.424_932_278_7e-1,
    -1.666_805_766_5e-1,
    2.000_071_476_5e-1,
    -2.499_999_399_3e-1,
    3.333_333_117_4e-1,
];
/// fdlibm log: Lg1..Lg7.
pub const LG: [f64; 7] = [
    6.666_666_666_666_735_130e-1,
    3.999_999_999_940_941_908e-1,
    2.857_142_874_366_239_149e-1,
    2.222_219_843_214_978_396e-1,
    1.818_357_216_161_805_012e-1,
    1.531_383_769_920_937_332e-1,
    1.479_819_860_511_658_591e-1,
];
/// Bits of 1.0f32, sqrt(1/2) rounded to f32, and the f32 mantissa field (log's frexp).
pub const FREXP_BITS_F32: (i32, i32, i32) = (0x3f80_0000, 0x3f35_04f3, 0x007f_ffff);
/// The same for f64.
pub const FREXP_BITS_F64: (i64, i64, i64) = (
    0x3ff0_0000_0000_0000,
    0x3fe6_a09e_667f_3bcd,
    0x000f_ffff_ffff_ffff,
);

/// f32 tanh: s = tanh(x/2) ~ x P(x^2) / Q2(x^2) (tools/fit_tanh.py), P highest first.
pub const TANH_P_F32: [f32; 6] = [
    -3.566_618_6e-13,
    2.481_193_6e-10,
    -1.144_845_2e-7,
    7.956_38e-5,
    0.026_118_953,
    0.9,
];
/// f32 tanh's Q2, highest first.
pub const TANH_Q_F32: [f32; 3] = [0.002_012_302_2, 0.202_237_87, 1.8];
/// f32 tanh's input clamp (tanh rounds to +-1 beyond).
pub const TANH_CLAMP_F32: f64 = 9.1;

/// Cephes sinf on |r| <= pi/4 (a polynomial in z = r^2).
pub const SIN_P_F32: [f32; 3] = [-1.951_529_589_1e-4, 8.332_160_873_6e-3, -1.666_665_461_1e-1];
/// Cephes cosf on |r| <= pi/4.
pub const COS_P_F32: [f32; 3] = [
    2.443_315_711_809_948e-5,
    -1.388_731_625_493_765e-3,
    4.166_664_568_298_827e-2,
];
/// fdlibm __kernel_sin S1..S6.
pub const SIN_S_F64: [f64; 6] = [
    -1.666_666_666_666_663_243_48e-1,
    8.333_333_333_322_489_461_24e-3,
    -1.984_126_982_985_794_931_34e-4,
    2.755_731_370_707_006_767_89e-6,
    -2.505_076_025_340_686_341_95e-8,
    1.589_690_995_211_550_102_21e-10,
];
/// fdlibm __kernel_cos C1..C6.
pub const COS_C_F64: [f64; 6] = [
    4.166_666_666_666_660_190_37e-2,
    -1.388_888_888_887_410_957_49e-3,
    2.480_158_728_947_672_941_78e-5,
    -2.755_731_435_139_066_330_35e-7,
    2.087_572_321_298_174_827_90e-9,
    -1.135_964_755_778_819_482_65e-11,
];
/// pi/2 split for Cody-Waite (bit patterns): with FMA three f32 parts suffice (each product
/// is exact inside the fma).
pub const PIO2_F32_FMA: [u32; 3] = [0x3fc9_0fdb, 0xb33b_bd2e, 0xa6f7_2ced];
/// Without FMA, 8-bit parts so n * part is exact for |n| < 2^16, and a full last part.
pub const PIO2_F32_NOFMA: [u32; 7] = [
    0x3fc9_0000,
    0x39fe_0000,
    0xb52c_0000,
    0x3088_0000,
    0x2c34_0000,
    0x27c2_0000,
    0x22d3_131a,
];
/// f64 pi/2 in three parts (FMA).
pub const PIO2_F64_FMA: [u64; 3] = [
    0x3ff9_21fb_5444_2d18,
    0x3c91_a626_3314_5c07,
    0xb91f_1976_b7ed_8fbc,
];
/// f64 pi/2 in 26-bit parts (exact products for |n| < 2^27) and a full last part.
pub const PIO2_F64_NOFMA: [u64; 5] = [
    0x3ff9_21fb_5800_0000,
    0xbe4d_de97_4000_0000,
    0x3c91_a626_3000_0000,
    0x3ae8_a2e0_3800_0000,
    0xb91f_1976_b7ed_8fbc,
];

/// f32 expm1's Taylor coefficients 1/8! .. 1/2!, highest first.
pub const EXPM1_P_F32: [f32; 7] = [
    1.0 / 40320.0,
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
];
