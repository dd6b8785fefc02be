//! Giles' inverse error function: the ranges and coefficients of "Approximating the erfinv
//! function" (M. Giles, GPU Computing Gems, 2011), as XLA's `ErfInv32` and `ErfInv64` use them,
//! coefficients in Horner order (highest degree first). With `w = -log1p(-x^2)`,
//! `erfinv(x) = x * p(z)`, in the first range whose bound `w` is below ([`F32`], [`F64`]):
//!
//! | type | range | z |
//! |---|---|---|
//! | f32 | w < 5 | w - 2.5 |
//! | f32 | w >= 5 | sqrt(w) - 3 |
//! | f64 | w < 6.25 | w - 3.125 |
//! | f64 | 6.25 <= w < 16 | sqrt(w) - 3.25 |
//! | f64 | w >= 16 | sqrt(w) - 5 |
//!
//! Read by the eager `erf_inv` (`prims::unary`), the compiled one (`backend::math`) and the
//! samplers' XLA-exact one (`random::xla_math`), so the three cannot drift apart. The f64
//! function itself is defined here too ([`erf_inv_f64`]): eager code calls it and compiled code
//! emits the same operations, so the two give the same bits.

// Written as XLA's sources publish them, digits beyond the type's precision included: shortening
// a literal can change the value (`-0.0076224613f32` is not `-0.007622461f32`).
#![allow(clippy::excessive_precision)]

/// f32, `w < 5`.
pub const F32_CENTRAL: [f32; 9] = [
    2.810_226_36e-08,
    3.432_739_39e-07,
    -3.523_387_7e-06,
    -4.391_506_54e-06,
    0.000_218_580_87,
    -0.001_253_725_03,
    -0.004_177_681_64,
    0.246_640_727,
    1.501_409_41,
];

/// f32, `w >= 5`.
pub const F32_TAIL: [f32; 9] = [
    -0.000_200_214_257,
    0.000_100_950_558,
    0.001_349_343_22,
    -0.003_673_428_44,
    0.005_739_507_73,
    -0.007_622_461_3,
    0.009_438_870_47,
    1.001_674_06,
    2.832_976_82,
];

/// f64, `w < 6.25`.
pub const F64_CENTRAL: [f64; 23] = [
    -3.644_412_064_017_819_699_6e-21,
    -1.685_059_138_182_016_589e-19,
    1.285_848_071_525_640_016_7e-18,
    1.115_787_767_802_518_096e-17,
    -1.333_171_662_854_620_906e-16,
    2.097_276_787_596_856_163_7e-17,
    6.637_638_134_358_323_832_5e-15,
    -4.054_566_272_975_206_863_9e-14,
    -8.151_934_197_605_472_152_2e-14,
    2.633_509_315_308_232_297_7e-12,
    -1.297_513_325_345_353_249_8e-11,
    -5.415_412_054_294_627_931_7e-11,
    1.051_212_273_321_532_285e-09,
    -4.112_633_980_346_983_697_6e-09,
    -2.907_036_995_788_200_508_6e-08,
    4.234_787_782_793_240_351_8e-07,
    -1.365_469_200_083_467_864_5e-06,
    -1.388_252_336_278_646_871_9e-05,
    0.000_186_734_208_034_057_135_2,
    -0.000_740_702_534_166_266_975_12,
    -0.006_033_670_871_430_149_053_3,
    0.240_158_182_425_589_616_93,
    1.653_654_562_683_102_735_6,
];

/// f64, `6.25 <= w < 16`.
pub const F64_MIDDLE: [f64; 19] = [
    2.213_737_692_177_578_704_9e-09,
    9.075_656_193_888_539_097_9e-08,
    -2.751_740_629_706_454_542_8e-07,
    1.823_962_921_438_922_775_5e-08,
    1.502_740_396_890_982_762_7e-06,
    -4.013_867_526_981_545_969e-06,
    2.923_444_908_995_544_604_4e-06,
    1.247_530_448_167_177_872_3e-05,
    -4.731_822_900_905_573_398_1e-05,
    6.828_485_145_957_317_544_8e-05,
    2.403_111_038_709_789_399_9e-05,
    -0.000_355_037_520_362_847_479_6,
    0.000_953_289_379_737_380_497_03,
    -0.001_688_275_556_023_504_731_3,
    0.002_491_442_096_107_850_806_6,
    -0.003_751_208_507_569_241_210_7,
    0.005_370_914_553_590_063_617,
    1.005_258_967_694_159_233_4,
    3.083_885_610_492_220_763_5,
];

/// f64, `w >= 16`.
pub const F64_TAIL: [f64; 17] = [
    -2.710_992_061_643_857_324_3e-11,
    -2.555_641_816_996_525_205_5e-10,
    1.507_657_269_350_054_808_3e-09,
    -3.789_465_440_126_736_993_7e-09,
    7.615_701_208_078_339_380_4e-09,
    -1.496_002_662_714_924_047_8e-08,
    2.914_795_345_090_108_082_6e-08,
    -6.771_199_775_845_233_949_8e-08,
    2.290_048_222_802_665_471_7e-07,
    -9.929_827_294_231_700_253_9e-07,
    4.526_062_597_223_153_703_9e-06,
    -1.968_177_810_553_167_056_7e-05,
    7.599_527_703_001_776_113_9e-05,
    -0.000_215_030_119_300_444_773_47,
    -0.000_138_719_318_336_231_220_26,
    1.010_300_464_864_534_397_7,
    4.849_906_401_408_584_422_1,
];

/// One range: for `w < below`, the polynomial `coeffs` in `z = w - shift`, or in
/// `z = sqrt(w) - shift` when `sqrt`.
pub struct Range<T: 'static> {
    pub below: f64,
    pub sqrt: bool,
    pub shift: f64,
    pub coeffs: &'static [T],
}

/// The f32 ranges (XLA's `ErfInv32`).
pub const F32: [Range<f32>; 2] = [
    Range {
        below: 5.0,
        sqrt: false,
        shift: 2.5,
        coeffs: &F32_CENTRAL,
    },
    Range {
        below: f64::INFINITY,
        sqrt: true,
        shift: 3.0,
        coeffs: &F32_TAIL,
    },
];

/// The f64 ranges (XLA's `ErfInv64`).
pub const F64: [Range<f64>; 3] = [
    Range {
        below: 6.25,
        sqrt: false,
        shift: 3.125,
        coeffs: &F64_CENTRAL,
    },
    Range {
        below: 16.0,
        sqrt: true,
        shift: 3.25,
        coeffs: &F64_MIDDLE,
    },
    Range {
        below: f64::INFINITY,
        sqrt: true,
        shift: 5.0,
        coeffs: &F64_TAIL,
    },
];

/// The range for `w`: the first whose bound `w` is below, and the last one for NaN.
pub fn range_for<T>(ranges: &'static [Range<T>], w: f64) -> &'static Range<T> {
    ranges
        .iter()
        .find(|r| w < r.below)
        .unwrap_or(&ranges[ranges.len() - 1])
}

/// erfinv(x) in f64, the definition eager and compiled code share, step by step (every step one
/// correctly rounded operation, no fused multiply-add, so the result does not depend on
/// whether the machine fuses; `ln` is the C library's `log`, which the compiled f64 `log`
/// reproduces bit for bit):
///
/// 1. (1 - x)(1 + x) = ph + pl: both factors by two-sum and their product by an exact
///    two-product, the cross terms added to the product's error;
/// 2. w = -(ln ph + pl / ph), which keeps the accuracy near |x| = 1 where 1 - x^2 cancels
///    (`-log1p(-x*x)` loses it there: 6.3 ulp at 0.999);
/// 3. z = w - 3.125 in the central range, else z = (sqrt w - shift) + e with
///    e = (w - s^2) / 2s putting back sqrt's rounding error (s^2 by two-product);
/// 4. p(z) by Horner's rule, each step `p * z + c` rounded twice; erfinv = p * x.
///
/// erfinv(+-1) = +-inf, NaN for |x| > 1 and NaN (the positive quiet NaN), -0 for -0.
/// Error: 3.1 ulp against mpmath at the reference points (6.3 before step 2 was exact; the
/// budget is in tests/math_reference.rs).
pub fn erf_inv_f64(x: f64) -> f64 {
    let ax = x.abs();
    if ax.is_nan() || ax > 1.0 {
        return f64::NAN;
    }
    if ax == 1.0 {
        return x * f64::INFINITY;
    }
    let (ah, al) = two_sum(1.0, -x);
    let (bh, bl) = two_sum(1.0, x);
    let (ph, pe) = two_prod(ah, bh);
    let pl = pe + (ah * bl + al * bh);
    let w = -(ph.ln() + pl / ph);
    let range = range_for(&F64, w);
    let z = if range.sqrt {
        let s = w.sqrt();
        let (qh, ql) = two_prod(s, s);
        let e = ((w - qh) - ql) / (s + s);
        (s - range.shift) + e
    } else {
        w - range.shift
    };
    let p = range.coeffs[1..]
        .iter()
        .fold(range.coeffs[0], |p, &c| p * z + c);
    p * x
}

/// (s, e) with s + e = a + b exactly (Knuth's two-sum).
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// (p, e) with p + e = a b exactly (the fused multiply-add's exact remainder).
fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    (p, a.mul_add(b, -p))
}
