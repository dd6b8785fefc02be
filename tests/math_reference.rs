//! Every transcendental against high-precision references, in f32 and f64, eager and compiled.
//!
//! The references are not computed by the code under test: tests/data/math_reference.json holds
//! each function's true value at ~600 inputs per dtype, evaluated with mpmath at 200 bits by the
//! committed tests/data/gen_mpmath_reference.py and stored as a double-double (`hi + lo`), so
//! an error is measured in fractional ulps of the result's own dtype. Each function has an ulp
//! budget per dtype and per path (eager: the reference interpreter's Rust code; jit: the
//! backend's inline polynomials), set at the measured maximum rounded up, never at a level that
//! would let a wrong constant through: scaling any result by (1 + 4e-6) is ~34 ulp in f32 and
//! ~2e10 ulp in f64. `cargo test --test math_reference -- --nocapture` prints the measured table.

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::{jit, lax, Array, Function};
use jax_data::floats;

/// One function under test: how to apply it eagerly (or traced, under `jit`).
type Op = fn(&Array, Option<&Array>) -> Array;

struct Budget {
    name: &'static str,
    op: Op,
    /// Max ulps: f32 eager, f32 jit, f64 eager, f64 jit.
    ulps: [f64; 4],
    /// Whether jit gives eager's bits (NaN for NaN) at every point: f32, f64.
    same_bits: [bool; 2],
}

fn unary(f: fn(&Array) -> cranax::Result<Array>, x: &Array) -> Array {
    f(x).unwrap()
}

/// The budgets: the measured maximum over the reference points rounded up to a quarter ulp;
/// 0.501 means correctly rounded. erf_inv in f32 is XLA's ErfInv32 (what makes JAX's normal
/// draws bit for bit): its `1 - x*x` cancels near |x| = 1, so beyond the sampled |x| <= 0.99999
/// its error grows to ~64 ulp (documented in the backend's math module). The f64 erf_inv is one
/// definition (`defs::erf_inv::erf_inv_f64`) for eager and compiled code; eager f32 tanh is the
/// platform's `tanhf` (glibc: ~1.6 ulp). The compiled f64 log is glibc's algorithm and data,
/// so it gives the bits of eager's `f64::ln` (glibc's `log`), as `same_bits` asserts. The
/// functions after `pow` compute f32 in f64 on both paths (so f32 is correctly rounded here);
/// eager f64 is glibc's or musl's, compiled f64 is `backend::math::elementary`'s; erf, erfc,
/// lgamma and digamma are the runtime's scalar functions on both paths (musl's lgamma loses
/// relative accuracy near its negative zeros: 271 ulp at x = -3.1445, next to the zero at
/// -3.1436; digamma's recurrence cancels up to 14 ulp near x = 1.1, just outside the Taylor
/// window around its root).
const BUDGETS: &[Budget] = &[
    Budget {
        name: "exp",
        op: |x, _| unary(lax::exp, x),
        ulps: [0.501, 1.0, 0.501, 1.0],
        same_bits: [false, false],
    },
    Budget {
        name: "log",
        op: |x, _| unary(lax::log, x),
        ulps: [0.75, 0.75, 0.501, 0.501],
        same_bits: [false, true],
    },
    Budget {
        name: "log1p",
        op: |x, _| unary(lax::log1p, x),
        ulps: [0.75, 0.75, 0.75, 0.75],
        same_bits: [false, false],
    },
    Budget {
        name: "expm1",
        op: |x, _| unary(lax::expm1, x),
        ulps: [0.75, 1.0, 0.75, 1.0],
        same_bits: [false, false],
    },
    Budget {
        name: "sin",
        op: |x, _| unary(lax::sin, x),
        ulps: [0.75, 1.25, 0.501, 1.0],
        same_bits: [false, false],
    },
    Budget {
        name: "cos",
        op: |x, _| unary(lax::cos, x),
        ulps: [0.75, 1.25, 0.501, 1.25],
        same_bits: [false, false],
    },
    Budget {
        name: "tanh",
        op: |x, _| unary(lax::tanh, x),
        ulps: [1.75, 2.25, 1.5, 1.75],
        same_bits: [false, false],
    },
    Budget {
        name: "logistic",
        op: |x, _| unary(lax::logistic, x),
        ulps: [0.501, 1.5, 1.25, 1.25],
        same_bits: [false, false],
    },
    Budget {
        name: "sqrt",
        op: |x, _| unary(lax::sqrt, x),
        ulps: [0.501, 0.501, 0.501, 0.501],
        same_bits: [true, true],
    },
    Budget {
        name: "rsqrt",
        op: |x, _| unary(lax::rsqrt, x),
        ulps: [0.501, 1.5, 1.5, 1.5],
        same_bits: [false, true],
    },
    Budget {
        name: "erf_inv",
        op: |x, _| unary(lax::erf_inv, x),
        ulps: [5.75, 5.75, 3.25, 3.25],
        same_bits: [false, true],
    },
    Budget {
        name: "pow",
        op: |x, y| lax::pow(x, y.unwrap()).unwrap(),
        ulps: [0.501, 0.501, 0.501, 0.75],
        same_bits: [true, false],
    },
    Budget {
        name: "tan",
        op: |x, _| unary(lax::tan, x),
        ulps: [0.501, 0.501, 0.75, 1.75],
        same_bits: [true, false],
    },
    Budget {
        name: "asin",
        op: |x, _| unary(lax::asin, x),
        ulps: [0.501, 0.501, 0.75, 1.5],
        same_bits: [true, false],
    },
    Budget {
        name: "acos",
        op: |x, _| unary(lax::acos, x),
        ulps: [0.501, 0.501, 0.501, 1.75],
        same_bits: [true, false],
    },
    Budget {
        name: "atan",
        op: |x, _| unary(lax::atan, x),
        ulps: [0.501, 0.501, 0.501, 0.75],
        same_bits: [true, false],
    },
    Budget {
        name: "sinh",
        op: |x, _| unary(lax::sinh, x),
        ulps: [0.501, 0.501, 1.25, 2.0],
        same_bits: [true, false],
    },
    Budget {
        name: "cosh",
        op: |x, _| unary(lax::cosh, x),
        ulps: [0.501, 0.501, 1.25, 2.0],
        same_bits: [true, false],
    },
    Budget {
        name: "asinh",
        op: |x, _| unary(lax::asinh, x),
        ulps: [0.501, 0.501, 1.25, 1.25],
        same_bits: [true, false],
    },
    Budget {
        name: "acosh",
        op: |x, _| unary(lax::acosh, x),
        ulps: [0.501, 0.501, 1.75, 1.75],
        same_bits: [true, false],
    },
    Budget {
        name: "atanh",
        op: |x, _| unary(lax::atanh, x),
        ulps: [0.501, 0.501, 1.5, 1.0],
        same_bits: [true, false],
    },
    Budget {
        name: "cbrt",
        op: |x, _| unary(lax::cbrt, x),
        ulps: [0.501, 0.501, 0.501, 0.75],
        same_bits: [true, false],
    },
    Budget {
        name: "exp2",
        op: |x, _| unary(lax::exp2, x),
        ulps: [0.501, 0.501, 0.501, 1.0],
        same_bits: [true, false],
    },
    Budget {
        name: "erf",
        op: |x, _| unary(lax::erf, x),
        ulps: [0.501, 0.501, 0.75, 0.75],
        same_bits: [true, true],
    },
    Budget {
        name: "erfc",
        op: |x, _| unary(lax::erfc, x),
        ulps: [0.501, 0.501, 2.0, 2.0],
        same_bits: [true, true],
    },
    Budget {
        name: "lgamma",
        op: |x, _| unary(lax::lgamma, x),
        ulps: [0.501, 0.501, 275.0, 275.0],
        same_bits: [true, true],
    },
    Budget {
        name: "digamma",
        op: |x, _| unary(lax::digamma, x),
        ulps: [0.501, 0.501, 14.5, 14.5],
        same_bits: [true, true],
    },
    Budget {
        name: "atan2",
        op: |y, x| lax::atan2(y, x.unwrap()).unwrap(),
        ulps: [0.501, 0.501, 0.75, 1.25],
        same_bits: [true, false],
    },
];

/// The spacing of the `f32` (or `f64`) numbers at `v`, subnormals included.
fn ulp(v: f64, f32s: bool) -> f64 {
    let (mantissa_bits, min_exp) = if f32s { (23, -149) } else { (52, -1074) };
    let e = if v == 0.0 {
        min_exp
    } else {
        v.abs().log2().floor() as i32
    };
    pow2((e - mantissa_bits).max(min_exp))
}

/// 2^k exactly, for k down to -1074 (`powi` underflows to 0 below -1022).
fn pow2(k: i32) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (k + 1074))
    }
}

fn array(data: &[f64], f32s: bool) -> Array {
    if f32s {
        Array::from_slice(&data.iter().map(|&d| d as f32).collect::<Vec<_>>())
    } else {
        Array::from_slice(data)
    }
}

fn values(a: &Array) -> Vec<f64> {
    match a.to_vec::<f32>() {
        Ok(v) => v.into_iter().map(f64::from).collect(),
        Err(_) => a.to_vec::<f64>().unwrap(),
    }
}

/// The largest error in ulps of `got` against the references, and the input where it occurs.
fn max_error(got: &[f64], hi: &[f64], lo: &[f64], xs: &[f64], f32s: bool) -> (f64, f64) {
    let mut worst = (0.0, f64::NAN);
    for i in 0..got.len() {
        let err = ((got[i] - hi[i]) - lo[i]).abs() / ulp(hi[i], f32s);
        // A NaN result where the true value is finite is an infinite error.
        let err = if err.is_nan() { f64::INFINITY } else { err };
        if err > worst.0 {
            worst = (err, xs[i]);
        }
    }
    worst
}

#[test]
fn every_transcendental_within_its_ulp_budget_eager_and_jit() {
    let data = jax_data::load("math_reference.json");
    let mut failures = Vec::new();
    println!(
        "{:<10} {:>6} {:>8} {:>8}",
        "function", "dtype", "eager", "jit"
    );
    for budget in BUDGETS {
        for (d, dtype) in ["f32", "f64"].into_iter().enumerate() {
            let f32s = dtype == "f32";
            let section = &data["functions"][budget.name][dtype];
            let xs = floats(&section["x"]);
            let (hi, lo) = (floats(&section["hi"]), floats(&section["lo"]));
            assert!(
                xs.len() > 500,
                "{} {dtype}: too few reference points",
                budget.name
            );
            let x = array(&xs, f32s);
            let y = section.get("y").map(|y| array(&floats(y), f32s));
            let op = budget.op;
            let eager = values(&op(&x, y.as_ref()));
            let compiled = match &y {
                Some(y) => {
                    jit(move |x: &Array, y: &Array| op(x, Some(y))).call((x.clone(), y.clone()))
                }
                None => jit(move |x: &Array| op(x, None)).call((x.clone(),)),
            };
            let compiled = values(&compiled.unwrap());
            let same = eager
                .iter()
                .zip(&compiled)
                .all(|(a, b)| a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan());
            if same != budget.same_bits[d] {
                failures.push(format!(
                    "{} {dtype}: jit {} eager's bits",
                    budget.name,
                    if same { "now gives" } else { "does not give" }
                ));
            }
            let results = [("eager", eager), ("jit", compiled)];
            let mut row = Vec::new();
            for (p, (path, got)) in results.iter().enumerate() {
                let (err, at) = max_error(got, &hi, &lo, &xs, f32s);
                let allowed = budget.ulps[2 * d + p];
                row.push(err);
                if err > allowed {
                    failures.push(format!(
                        "{} {dtype} {path}: {err:.3} ulp at x = {at:e} (budget {allowed})",
                        budget.name
                    ));
                }
            }
            println!(
                "{:<10} {:>6} {:>8.4} {:>8.4}",
                budget.name, dtype, row[0], row[1]
            );
        }
    }
    assert!(failures.is_empty(), "over budget:\n{}", failures.join("\n"));
}

#[test]
fn ulp_spacing_is_the_dtypes_own() {
    assert_eq!(ulp(1.0, true), f32::EPSILON as f64);
    assert_eq!(ulp(1.0, false), f64::EPSILON);
    assert_eq!(ulp(1.5, true), f32::EPSILON as f64);
    assert_eq!(ulp(0.75, false), f64::EPSILON / 2.0);
    assert_eq!(ulp(1e-45, true), 2f64.powi(-149));
    assert_eq!(ulp(0.0, false), f64::from_bits(1));
    assert_eq!(ulp(1e-310, false), f64::from_bits(1));
}
