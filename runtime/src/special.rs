//! Scalar special functions that eager evaluation and compiled code both call (the compiled
//! code through `extern "C"` entry points by absolute address, one call per element): `lgamma`,
//! `digamma`, `polygamma`, `erf`, `erfc` and the float remainder `fmod`. One definition serves
//! both paths, so `jit` and eager results agree bit for bit.
//!
//! These are the functions for which an inline vectorised polynomial (`backend::math`) is not
//! written yet; a call costs ~10x an inline polynomial per element.
//!
//! * `lgamma`, `erf`, `erfc`: musl's (fdlibm's) algorithms from the `libm` crate, < 1 ulp in
//!   f64 away from lgamma's negative zeros; the f32 forms evaluate in f64 and round once.
//! * `digamma`: reflection `psi(x) = psi(1 - x) - pi / tan(pi x)` for x < 0, the recurrence
//!   `psi(x) = psi(x + 1) - 1/x` up to x >= 10, then the asymptotic series
//!   `ln x - 1/(2x) - sum B_2k / (2k x^2k)` (8 terms); near the positive root x0 = 1.46163...
//!   (|x - x0| <= 0.25), where those cancel, a Taylor series about x0 (coefficients from mpmath:
//!   tools/digamma_root_series.py). Poles (0, negative integers) give NaN, as XLA's.
//!   Within 15 ulp for x > 0 (tests/math_reference.rs: the recurrence cancels by up to ~7x
//!   just outside the root's window, near x = 1.1); for x < 0 the reflection cancels near the
//!   negative zeros (relative error there grows as the value nears 0).
//! * `polygamma(n, x)` for integer n >= 1: `(-1)^(n+1) n! zeta(n + 1, x)`, Hurwitz zeta by
//!   the recurrence to x >= 16 then Euler-Maclaurin (8 Bernoulli terms); n = 0 is digamma,
//!   a non-integer or negative n is NaN (as JAX's).
//! * `fmod`: Rust's `%` on floats (exact: C's `fmod`).

use std::f64::consts::PI;

pub(crate) const X0_HI: f64 = 1.4616321449683622;
pub(crate) const X0_LO: f64 = 9.549995429965697e-17;
/// Taylor coefficients c_1 .. c_24 of digamma about x0 (c_0 = 0): tools/digamma_root_series.py.
pub(crate) const ROOT_SERIES: [f64; 24] = [
    0.9676722454476212,
    -0.4427631689835921,
    0.258499760955651,
    -0.16394270544240652,
    0.10782405069126237,
    -0.07219956125645471,
    0.04880428816414311,
    -0.03316112647484736,
    0.022597648232218104,
    -0.01542476590494896,
    0.010538791616612175,
    -0.007204534386356869,
    0.004926781395729853,
    -0.003369801655439328,
    0.002305126326734928,
    -0.0015769367714301972,
    0.0010788252019162967,
    -0.0007380709389960052,
    0.000504953265834602,
    -0.0003454680251063077,
    0.00023635601564027053,
    -0.00016170622091974803,
    0.0001106337276874741,
    -7.569179582195066e-05,
];

/// B_2k / (2k) for k = 1..8 (the asymptotic series of digamma).
const DIGAMMA_ASYMPTOTIC: [f64; 8] = [
    1.0 / 12.0,
    -1.0 / 120.0,
    1.0 / 252.0,
    -1.0 / 240.0,
    1.0 / 132.0,
    -691.0 / 32760.0,
    1.0 / 12.0,
    -3617.0 / 8160.0,
];

/// B_2k / (2k)! for k = 1..8 (Euler-Maclaurin for the Hurwitz zeta function).
const ZETA_EM: [f64; 8] = [
    1.0 / 12.0,
    -1.0 / 720.0,
    1.0 / 30240.0,
    -1.0 / 1209600.0,
    1.0 / 47900160.0,
    -691.0 / 1307674368000.0,
    1.0 / 74724249600.0,
    -3617.0 / 10670622842880000.0,
];

/// `lgamma` (musl's): the log of the absolute value of the gamma function.
pub fn lgamma_f64(x: f64) -> f64 {
    libm::lgamma_r(x).0
}

/// `lgamma` of an f32, computed in f64 and rounded.
pub fn lgamma_f32(x: f32) -> f32 {
    lgamma_f64(x as f64) as f32
}

/// `erf` (musl's).
pub fn erf_f64(x: f64) -> f64 {
    libm::erf(x)
}

/// `erf` of an f32, computed in f64 and rounded.
pub fn erf_f32(x: f32) -> f32 {
    libm::erf(x as f64) as f32
}

/// `erfc` (musl's): `1 - erf(x)` without cancellation.
pub fn erfc_f64(x: f64) -> f64 {
    libm::erfc(x)
}

/// `erfc` of an f32, computed in f64 and rounded.
pub fn erfc_f32(x: f32) -> f32 {
    libm::erfc(x as f64) as f32
}

/// C's `fmod`: the remainder with the sign of `x`.
pub fn fmod_f64(x: f64, y: f64) -> f64 {
    x % y
}

/// C's `fmod` of f32s.
pub fn fmod_f32(x: f32, y: f32) -> f32 {
    x % y
}

/// `tan(pi x)` with the argument reduced exactly (x - round(x) is exact).
fn tan_pi(x: f64) -> f64 {
    let r = x - x.round();
    (PI * r).tan()
}

/// The digamma function (the derivative of `lgamma`); NaN at the poles.
pub fn digamma_f64(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return x;
    }
    if x <= 0.0 && x == x.floor() {
        return f64::NAN;
    }
    let (mut x, mut acc) = (x, 0.0);
    if x < 0.0 {
        acc = -PI / tan_pi(x);
        x = 1.0 - x;
    }
    let h = (x - X0_HI) - X0_LO;
    if h.abs() <= 0.25 {
        let series = ROOT_SERIES.iter().rev().fold(0.0, |p, &c| p * h + c) * h;
        return acc + series;
    }
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let w = 1.0 / (x * x);
    let tail = DIGAMMA_ASYMPTOTIC.iter().rev().fold(0.0, |p, &c| p * w + c) * w;
    acc + (x.ln() - 0.5 / x - tail)
}

/// Digamma of an f32, computed in f64 and rounded.
pub fn digamma_f32(x: f32) -> f32 {
    digamma_f64(x as f64) as f32
}

/// The Hurwitz zeta function `sum_k (x + k)^-s` for an integer `s >= 2`.
fn hurwitz_zeta(s: i32, x: f64) -> f64 {
    let mut x = x;
    let mut acc = 0.0;
    let mut steps = 0;
    while x < 16.0 {
        if steps > 100_000 {
            return f64::NAN;
        }
        acc += x.powi(-s);
        x += 1.0;
        steps += 1;
    }
    let sf = s as f64;
    // Euler-Maclaurin: x^(1-s)/(s-1) + x^-s/2 + sum_j B_2j/(2j)! s(s+1)...(s+2j-2) x^(-s-2j+1).
    let mut term = x.powi(-s) / x; // x^(-s-1), times the rising factorial below
    let mut rising = sf;
    let mut tail = 0.0;
    for (j, &b) in ZETA_EM.iter().enumerate() {
        tail += b * rising * term;
        let k = 2 * j as i32;
        rising *= (sf + k as f64 + 1.0) * (sf + k as f64 + 2.0);
        term /= x * x;
    }
    acc + x.powi(1 - s) / (sf - 1.0) + 0.5 * x.powi(-s) + tail
}

/// The polygamma function of order `n` (a non-negative integer; NaN otherwise).
pub fn polygamma_f64(n: f64, x: f64) -> f64 {
    if n.is_nan() || x.is_nan() || n < 0.0 || n != n.floor() || n > 170.0 {
        return f64::NAN;
    }
    if n == 0.0 {
        return digamma_f64(x);
    }
    let k = n as i32;
    let factorial: f64 = (1..=k).map(f64::from).product();
    let sign = if k % 2 == 1 { 1.0 } else { -1.0 };
    sign * factorial * hurwitz_zeta(k + 1, x)
}

/// Polygamma of f32s, computed in f64 and rounded.
pub fn polygamma_f32(n: f32, x: f32) -> f32 {
    polygamma_f64(n as f64, x as f64) as f32
}

/// The `extern "C"` entry points compiled code calls (by address: `backend::ops`).
pub mod entry {
    macro_rules! entries {
        ($($name:ident = $f:ident($($a:ident: $t:ty),*) -> $r:ty;)*) => {
            $(
                /// Called by compiled code, one element at a time (`crate::symbols`).
                #[no_mangle]
                pub extern "C" fn $name($($a: $t),*) -> $r {
                    super::$f($($a),*)
                }
            )*
        };
    }
    entries! {
        cranax_lgamma_f32 = lgamma_f32(x: f32) -> f32;
        cranax_lgamma_f64 = lgamma_f64(x: f64) -> f64;
        cranax_digamma_f32 = digamma_f32(x: f32) -> f32;
        cranax_digamma_f64 = digamma_f64(x: f64) -> f64;
        cranax_erf_f32 = erf_f32(x: f32) -> f32;
        cranax_erf_f64 = erf_f64(x: f64) -> f64;
        cranax_erfc_f32 = erfc_f32(x: f32) -> f32;
        cranax_erfc_f64 = erfc_f64(x: f64) -> f64;
        cranax_polygamma_f32 = polygamma_f32(n: f32, x: f32) -> f32;
        cranax_polygamma_f64 = polygamma_f64(n: f64, x: f64) -> f64;
        cranax_fmod_f32 = fmod_f32(x: f32, y: f32) -> f32;
        cranax_fmod_f64 = fmod_f64(x: f64, y: f64) -> f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digamma_special_values() {
        assert!(digamma_f64(0.0).is_nan());
        assert!(digamma_f64(-3.0).is_nan());
        assert_eq!(digamma_f64(f64::INFINITY), f64::INFINITY);
        // digamma(1) = -gamma (Euler's constant), digamma(0.5) = -gamma - 2 ln 2.
        let gamma = 0.577_215_664_901_532_9;
        assert!((digamma_f64(1.0) + gamma).abs() < 1e-15);
        assert!((digamma_f64(0.5) + gamma + 2.0 * std::f64::consts::LN_2).abs() < 1e-15);
        assert!(digamma_f64(X0_HI).abs() < 1e-16);
    }

    #[test]
    fn polygamma_known_values() {
        // trigamma(1) = pi^2/6, polygamma(2, 1) = -2 zeta(3).
        let z3 = 1.202_056_903_159_594_3;
        assert!((polygamma_f64(1.0, 1.0) - PI * PI / 6.0).abs() < 1e-14);
        assert!((polygamma_f64(2.0, 1.0) + 2.0 * z3).abs() < 1e-14);
        assert!(polygamma_f64(1.5, 2.0).is_nan());
    }
}
