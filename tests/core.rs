//! Every primitive evaluated eagerly, in f32 and f64 (and i32, u32, bool where they apply),
//! against references computed here with f64 std math (never cranax's own kernels).
//!
//! Table-driven: one row per primitive, one loop running the property for every row. Inputs
//! include ±0, ±inf, NaN, subnormals, the largest finite values, rank-0 operands broadcasting
//! against arrays, and empty arrays of shape (0,) and (2, 0).
//!
//! Exactness: an f32 op that IEEE 754 rounds correctly (add, sub, mul, div, sqrt, neg, abs, max,
//! min, comparisons, select, conversions) must equal the f64 result rounded to f32 bit for bit
//! (any NaN equals any NaN); the f64 result of an f32 op on f32 inputs is exact or rounds
//! innocuously (53 >= 2 * 24 + 2 bits). Transcendentals call libm's f32 functions, so they get
//! a small ulp bound.

use cranax::{lax, nn, numpy as jnp, Array, DType, Result, Scalar};

// ---------------------------------------------------------------------------------------------
// Inputs and comparison
// ---------------------------------------------------------------------------------------------

const F32_SPECIALS: &[f32] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -2.5,
    3.0,
    0.1,
    -7.25,
    1e-3,
    100.0,
    -88.0,
    89.0,
    1e30,
    -1e30,
    f32::MAX,
    f32::MIN_POSITIVE, // smallest normal
    1e-40,             // subnormal
    -1.4e-45,          // smallest subnormal
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
];

const F64_SPECIALS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -2.5,
    3.0,
    0.1,
    -7.25,
    1e-3,
    100.0,
    -700.0,
    710.0,
    1e300,
    -1e300,
    f64::MAX,
    f64::MIN_POSITIVE,
    1e-310,  // subnormal
    -5e-324, // smallest subnormal
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];

#[derive(Clone, Copy, Debug)]
enum Tol {
    /// Bit-identical (any NaN equals any NaN).
    Exact,
    /// At most this many units in the last place apart (infinities and NaN must match).
    Ulps(u64),
    /// Relative error at most this (zeros, infinities and NaN must match).
    Rel(f64),
}

/// Position of a float on the number line in units of the last place (monotonic in value).
fn ordinal32(x: f32) -> i64 {
    let b = x.to_bits() as i32 as i64;
    if b < 0 {
        i32::MIN as i64 - b
    } else {
        b
    }
}

fn ordinal64(x: f64) -> i128 {
    let b = x.to_bits() as i64 as i128;
    if b < 0 {
        i64::MIN as i128 - b
    } else {
        b
    }
}

/// Does `got` (a value of `dtype`, widened to f64) match the reference `want` (computed in f64,
/// rounded to `dtype` here) within `tol`?
fn close(dtype: DType, got: f64, want: f64, tol: Tol) -> bool {
    match dtype {
        DType::F32 => {
            let (g, w) = (got as f32, want as f32);
            if g.is_nan() || w.is_nan() {
                return g.is_nan() && w.is_nan();
            }
            match tol {
                Tol::Exact => g.to_bits() == w.to_bits(),
                _ if g.is_infinite() || w.is_infinite() => g == w,
                Tol::Ulps(n) => (ordinal32(g) - ordinal32(w)).unsigned_abs() <= n,
                Tol::Rel(r) => g == w || ((g - w).abs() as f64) <= r * (w.abs() as f64),
            }
        }
        DType::F64 => {
            if got.is_nan() || want.is_nan() {
                return got.is_nan() && want.is_nan();
            }
            match tol {
                Tol::Exact => got.to_bits() == want.to_bits(),
                _ if got.is_infinite() || want.is_infinite() => got == want,
                Tol::Ulps(n) => (ordinal64(got) - ordinal64(want)).unsigned_abs() <= n as u128,
                Tol::Rel(r) => got == want || (got - want).abs() <= r * want.abs(),
            }
        }
        _ => got == want,
    }
}

/// An array of `dtype` holding `vals` (given in f64; rounded for f32).
fn arr(dtype: DType, vals: &[f64], shape: &[usize]) -> Array {
    match dtype {
        DType::F32 => Array::from_vec(vals.iter().map(|&v| v as f32).collect(), shape),
        DType::F64 => Array::from_vec(vals.to_vec(), shape),
        DType::I32 => Array::from_vec(vals.iter().map(|&v| v as i32).collect(), shape),
        DType::U32 => Array::from_vec(vals.iter().map(|&v| v as u32).collect(), shape),
        DType::Bool => Array::from_vec(vals.iter().map(|&v| v != 0.0).collect(), shape),
        other => unreachable!("the core tests use the 32-bit types, f64 and bool, not {other}"),
    }
    .unwrap()
}

fn specials(dtype: DType) -> Vec<f64> {
    match dtype {
        DType::F32 => F32_SPECIALS.iter().map(|&v| v as f64).collect(),
        _ => F64_SPECIALS.to_vec(),
    }
}

/// Compare every element; the message names the row, dtype, element and inputs.
fn check_all(what: &str, got: &Array, dtype: DType, shape: &[usize], want: &[f64], tol: Tol) {
    assert_eq!(got.dtype(), dtype, "{what}: dtype");
    assert_eq!(got.shape(), shape, "{what}: shape");
    let g = got.to_f64_vec().unwrap();
    assert_eq!(g.len(), want.len(), "{what}: size");
    for (i, (&g, &w)) in g.iter().zip(want).enumerate() {
        assert!(
            close(dtype, g, w, tol),
            "{what} [{dtype}] element {i}: got {g:e}, want {w:e} ({tol:?})"
        );
    }
}

const FLOATS: [DType; 2] = [DType::F32, DType::F64];

// ---------------------------------------------------------------------------------------------
// References that std does not provide
// ---------------------------------------------------------------------------------------------

/// `erf` by its Taylor series (|x| < 2) and `erfc` by its continued fraction (|x| >= 2).
fn erf_ref(x: f64) -> f64 {
    if x.abs() >= 2.0 {
        x.signum() * (1.0 - erfc_ref(x.abs()))
    } else {
        let (mut term, mut sum, x2) = (x, x, x * x);
        for n in 1..200 {
            term *= -x2 / n as f64;
            let t = term / (2 * n + 1) as f64;
            sum += t;
            if t.abs() < 1e-18 * sum.abs() {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }
}

/// `erfc(x)` for x >= 2: exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))).
fn erfc_ref(x: f64) -> f64 {
    let mut k = x;
    for n in (1..120).rev() {
        k = x + (n as f64 / 2.0) / k;
    }
    (-x * x).exp() / (std::f64::consts::PI.sqrt() * k)
}

/// `erf_inv(y)` by bisection on `erf` (on `erfc` near ±1, where it keeps its precision).
fn erf_inv_ref(y: f64) -> f64 {
    if y.is_nan() || y.abs() > 1.0 {
        return f64::NAN;
    }
    if y.abs() == 1.0 {
        return y * f64::INFINITY;
    }
    if y.abs() < 1e-6 {
        // The series erf_inv(y) = √π/2 · (y + π/12 · y³ + ...), exact to f64 here (and for
        // subnormals, which bisection cannot resolve).
        let c = std::f64::consts::PI.sqrt() / 2.0;
        return c * y + c * (std::f64::consts::PI / 12.0) * y * y * y;
    }
    let (sign, y) = (y.signum(), y.abs());
    let (mut lo, mut hi) = (0.0f64, 7.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let below = if y > 0.5 {
            erfc_of(mid) > 1.0 - y
        } else {
            erf_ref(mid) < y
        };
        if below {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    sign * 0.5 * (lo + hi)
}

fn erfc_of(x: f64) -> f64 {
    if x >= 2.0 {
        erfc_ref(x)
    } else {
        1.0 - erf_ref(x)
    }
}

fn max_ref(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        // ±0: +0 is the larger.
        if a == 0.0 && (a.is_sign_positive() || b.is_sign_positive()) {
            0.0
        } else {
            a
        }
    } else if a > b {
        a
    } else {
        b
    }
}

fn min_ref(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a == b {
        if a == 0.0 && (a.is_sign_negative() || b.is_sign_negative()) {
            -0.0
        } else {
            a
        }
    } else if a < b {
        a
    } else {
        b
    }
}

fn logistic_ref(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

fn sign_ref(x: f64) -> f64 {
    if x.is_nan() || x == 0.0 {
        x
    } else if x > 0.0 {
        1.0
    } else {
        -1.0
    }
}

// ---------------------------------------------------------------------------------------------
// Float unary primitives
// ---------------------------------------------------------------------------------------------

struct Unary {
    name: &'static str,
    op: fn(&Array) -> Result<Array>,
    reference: fn(f64) -> f64,
    tol32: Tol,
    tol64: Tol,
    /// Inputs outside this are skipped (where the op is defined by an algorithm whose
    /// intermediate overflow the math reference does not model).
    domain: fn(f64) -> bool,
}

fn anywhere(_: f64) -> bool {
    true
}

/// |x| small enough that x² neither overflows nor underflows in f32.
fn moderate(x: f64) -> bool {
    !x.is_finite() || x == 0.0 || (1e-15..1e15).contains(&x.abs())
}

fn integer_pow_3(x: &Array) -> Result<Array> {
    lax::integer_pow(x, 3)
}
fn integer_pow_0(x: &Array) -> Result<Array> {
    lax::integer_pow(x, 0)
}
fn integer_pow_m2(x: &Array) -> Result<Array> {
    lax::integer_pow(x, -2)
}
fn integer_pow_1(x: &Array) -> Result<Array> {
    lax::integer_pow(x, 1)
}

fn unary_rows() -> Vec<Unary> {
    use Tol::*;
    let row = |name, op, reference, tol32, tol64| Unary {
        name,
        op,
        reference,
        tol32,
        tol64,
        domain: anywhere,
    };
    vec![
        row("neg", lax::neg, |x| -x, Exact, Exact),
        row("abs", lax::abs, f64::abs, Exact, Exact),
        row("sign", lax::sign, sign_ref, Exact, Exact),
        row("square", lax::square, |x| x * x, Exact, Exact),
        row("sqrt", lax::sqrt, f64::sqrt, Exact, Exact),
        row("rsqrt", lax::rsqrt, |x| 1.0 / x.sqrt(), Ulps(1), Ulps(1)),
        row("exp", lax::exp, f64::exp, Ulps(1), Ulps(1)),
        row("log", lax::log, f64::ln, Ulps(1), Ulps(1)),
        row("log1p", lax::log1p, f64::ln_1p, Ulps(1), Ulps(1)),
        row("expm1", lax::expm1, f64::exp_m1, Ulps(1), Ulps(1)),
        row("sin", lax::sin, f64::sin, Ulps(1), Ulps(1)),
        row("cos", lax::cos, f64::cos, Ulps(1), Ulps(1)),
        row("tanh", lax::tanh, f64::tanh, Ulps(1), Ulps(1)),
        row("logistic", lax::logistic, logistic_ref, Ulps(1), Ulps(2)),
        // Giles' approximations, as XLA's ErfInv32/ErfInv64 (bit for bit: random normals depend
        // on it). Near ±1 they round x² before taking log1p(-x²), so the error grows with the
        // conditioning: measured 3 ulps for |y| <= 0.5, 5 for 0.99, 12 for 0.999, 63 for
        // 0.9999 in f32; the inputs here go to 0.999.
        row("erf_inv", lax::erf_inv, erf_inv_ref, Ulps(16), Rel(1e-12)),
        row("stop_gradient", lax::stop_gradient, |x| x, Exact, Exact),
        row("integer_pow[y=0]", integer_pow_0, |_| 1.0, Exact, Exact),
        row("integer_pow[y=1]", integer_pow_1, |x| x, Exact, Exact),
        Unary {
            domain: moderate,
            ..row(
                "integer_pow[y=3]",
                integer_pow_3,
                |x| x * x * x,
                Ulps(2),
                Ulps(2),
            )
        },
        Unary {
            domain: moderate,
            ..row(
                "integer_pow[y=-2]",
                integer_pow_m2,
                |x| 1.0 / (x * x),
                Ulps(2),
                Ulps(2),
            )
        },
    ]
}

/// Extra inputs in erf_inv's domain (the specials are mostly outside (-1, 1)).
fn unary_inputs(dtype: DType) -> Vec<f64> {
    let mut v = specials(dtype);
    v.extend([
        0.25,
        -0.75,
        0.9,
        -0.99,
        0.999,
        0.3,
        -0.05,
        std::f64::consts::FRAC_PI_4,
        2.0,
        -3.5,
    ]);
    v
}

#[test]
fn unary_float_primitives() {
    for row in unary_rows() {
        for dtype in FLOATS {
            let tol = if dtype == DType::F32 {
                row.tol32
            } else {
                row.tol64
            };
            let xs: Vec<f64> = unary_inputs(dtype)
                .into_iter()
                .map(|v| {
                    if dtype == DType::F32 {
                        v as f32 as f64
                    } else {
                        v
                    }
                })
                .filter(|&v| (row.domain)(v))
                .collect();
            let want: Vec<f64> = xs.iter().map(|&x| (row.reference)(x)).collect();
            // An array of every input.
            let x = arr(dtype, &xs, &[xs.len()]);
            let got = (row.op)(&x).unwrap();
            check_all(row.name, &got, dtype, &[xs.len()], &want, tol);
            // Each input as a rank-0 array.
            for (&x, &w) in xs.iter().zip(&want) {
                let got = (row.op)(&arr(dtype, &[x], &[])).unwrap();
                check_all(
                    &format!("{} of {x:e}", row.name),
                    &got,
                    dtype,
                    &[],
                    &[w],
                    tol,
                );
            }
            // Empty arrays keep their shape.
            for shape in [&[0][..], &[2, 0]] {
                let got = (row.op)(&arr(dtype, &[], shape)).unwrap();
                check_all(row.name, &got, dtype, shape, &[], tol);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Float binary primitives
// ---------------------------------------------------------------------------------------------

struct Binary {
    name: &'static str,
    op: fn(&Array, &Array) -> Result<Array>,
    /// The NumPy-broadcasting form.
    jnp: fn(&Array, &Array) -> Array,
    reference: fn(f64, f64) -> f64,
    tol32: Tol,
    tol64: Tol,
}

fn binary_rows() -> Vec<Binary> {
    use Tol::*;
    vec![
        Binary {
            name: "add",
            op: lax::add,
            jnp: |a, b| jnp::add(a, b),
            reference: |a, b| a + b,
            tol32: Exact,
            tol64: Exact,
        },
        Binary {
            name: "sub",
            op: lax::sub,
            jnp: |a, b| jnp::subtract(a, b),
            reference: |a, b| a - b,
            tol32: Exact,
            tol64: Exact,
        },
        Binary {
            name: "mul",
            op: lax::mul,
            jnp: |a, b| jnp::multiply(a, b),
            reference: |a, b| a * b,
            tol32: Exact,
            tol64: Exact,
        },
        Binary {
            name: "div",
            op: lax::div,
            jnp: |a, b| jnp::divide(a, b),
            reference: |a, b| a / b,
            tol32: Exact,
            tol64: Exact,
        },
        Binary {
            name: "max",
            op: lax::max,
            jnp: |a, b| jnp::maximum(a, b),
            reference: max_ref,
            tol32: Exact,
            tol64: Exact,
        },
        Binary {
            name: "min",
            op: lax::min,
            jnp: |a, b| jnp::minimum(a, b),
            reference: min_ref,
            tol32: Exact,
            tol64: Exact,
        },
        Binary {
            name: "add_any",
            op: lax::add_any,
            jnp: |a, b| jnp::add(a, b),
            reference: |a, b| a + b,
            tol32: Exact,
            tol64: Exact,
        },
        Binary {
            name: "pow",
            op: lax::pow,
            jnp: |a, b| jnp::power(a, b),
            reference: f64::powf,
            tol32: Ulps(1),
            tol64: Exact,
        },
    ]
}

/// Every (x, y) pair of the specials, as two flat lists.
fn pairs(dtype: DType) -> (Vec<f64>, Vec<f64>) {
    let s = specials(dtype);
    let xs = s.iter().flat_map(|&x| s.iter().map(move |_| x)).collect();
    let ys = s.iter().flat_map(|_| s.iter().copied()).collect();
    (xs, ys)
}

#[test]
fn binary_float_primitives() {
    for row in binary_rows() {
        for dtype in FLOATS {
            let tol = if dtype == DType::F32 {
                row.tol32
            } else {
                row.tol64
            };
            let (xs, ys) = pairs(dtype);
            let n = xs.len();
            let want: Vec<f64> = xs
                .iter()
                .zip(&ys)
                .map(|(&a, &b)| (row.reference)(a, b))
                .collect();
            let (x, y) = (arr(dtype, &xs, &[n]), arr(dtype, &ys, &[n]));
            check_all(
                row.name,
                &(row.op)(&x, &y).unwrap(),
                dtype,
                &[n],
                &want,
                tol,
            );
            // The same pairs as a 2-D array (shape does not matter to elementwise ops).
            let s = specials(dtype).len();
            let x2 = arr(dtype, &xs, &[s, s]);
            let y2 = arr(dtype, &ys, &[s, s]);
            check_all(
                row.name,
                &(row.op)(&x2, &y2).unwrap(),
                dtype,
                &[s, s],
                &want,
                tol,
            );

            // A rank-0 operand broadcasts against an array, on either side.
            let col = specials(dtype);
            for &c in &col {
                let scalar = arr(dtype, &[c], &[]);
                let vec = arr(dtype, &col, &[col.len()]);
                let left: Vec<f64> = col.iter().map(|&v| (row.reference)(c, v)).collect();
                let right: Vec<f64> = col.iter().map(|&v| (row.reference)(v, c)).collect();
                let what = format!("{}(scalar {c:e}, array)", row.name);
                check_all(
                    &what,
                    &(row.op)(&scalar, &vec).unwrap(),
                    dtype,
                    &[col.len()],
                    &left,
                    tol,
                );
                let what = format!("{}(array, scalar {c:e})", row.name);
                check_all(
                    &what,
                    &(row.op)(&vec, &scalar).unwrap(),
                    dtype,
                    &[col.len()],
                    &right,
                    tol,
                );
            }

            // Empty arrays, alone and with a scalar.
            for shape in [&[0][..], &[2, 0]] {
                let e = arr(dtype, &[], shape);
                let one = arr(dtype, &[1.5], &[]);
                check_all(row.name, &(row.op)(&e, &e).unwrap(), dtype, shape, &[], tol);
                check_all(
                    row.name,
                    &(row.op)(&one, &e).unwrap(),
                    dtype,
                    shape,
                    &[],
                    tol,
                );
                check_all(row.name, &(row.jnp)(&e, &one), dtype, shape, &[], tol);
            }

            // NumPy broadcasting in the jnp form: (3, 1) with (4,) gives (3, 4).
            let a: Vec<f64> = vec![-2.0, 0.5, 3.0];
            let b: Vec<f64> = vec![1.0, -0.0, 2.5, 4.0];
            let got = (row.jnp)(&arr(dtype, &a, &[3, 1]), &arr(dtype, &b, &[4]));
            let want: Vec<f64> = a
                .iter()
                .flat_map(|&p| b.iter().map(move |&q| (row.reference)(p, q)))
                .collect();
            check_all(row.name, &got, dtype, &[3, 4], &want, tol);
            // (2, 0) with (1, 0) and (0,): empty results of the broadcast shape.
            let got = (row.jnp)(&arr(dtype, &[], &[2, 0]), &arr(dtype, &[], &[0]));
            check_all(row.name, &got, dtype, &[2, 0], &[], tol);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Comparisons and select
// ---------------------------------------------------------------------------------------------

struct Compare {
    name: &'static str,
    op: fn(&Array, &Array) -> Result<Array>,
    reference: fn(f64, f64) -> bool,
}

fn compare_rows() -> Vec<Compare> {
    vec![
        Compare {
            name: "eq",
            op: lax::eq,
            reference: |a, b| a == b,
        },
        Compare {
            name: "ne",
            op: lax::ne,
            reference: |a, b| a != b,
        },
        Compare {
            name: "lt",
            op: lax::lt,
            reference: |a, b| a < b,
        },
        Compare {
            name: "le",
            op: lax::le,
            reference: |a, b| a <= b,
        },
        Compare {
            name: "gt",
            op: lax::gt,
            reference: |a, b| a > b,
        },
        Compare {
            name: "ge",
            op: lax::ge,
            reference: |a, b| a >= b,
        },
    ]
}

#[test]
fn comparisons_of_every_dtype() {
    let ints = [0.0, 1.0, -1.0, 7.0, -7.0, i32::MAX as f64, i32::MIN as f64];
    let uints = [0.0, 1.0, 7.0, 2147483648.0, u32::MAX as f64];
    let bools = [0.0, 1.0];
    for row in compare_rows() {
        for dtype in [DType::F32, DType::F64, DType::I32, DType::U32, DType::Bool] {
            let s: Vec<f64> = match dtype {
                DType::I32 => ints.to_vec(),
                DType::U32 => uints.to_vec(),
                DType::Bool => bools.to_vec(),
                _ => specials(dtype),
            };
            let xs: Vec<f64> = s.iter().flat_map(|&x| s.iter().map(move |_| x)).collect();
            let ys: Vec<f64> = s.iter().flat_map(|_| s.iter().copied()).collect();
            let n = xs.len();
            let want: Vec<f64> = xs
                .iter()
                .zip(&ys)
                .map(|(&a, &b)| (row.reference)(a, b) as u8 as f64)
                .collect();
            let got = (row.op)(&arr(dtype, &xs, &[n]), &arr(dtype, &ys, &[n])).unwrap();
            check_all(row.name, &got, DType::Bool, &[n], &want, Tol::Exact);
            // Scalar with array, and empty.
            let got = (row.op)(&arr(dtype, &s[..1], &[]), &arr(dtype, &s, &[s.len()])).unwrap();
            let want: Vec<f64> = s
                .iter()
                .map(|&b| (row.reference)(s[0], b) as u8 as f64)
                .collect();
            check_all(row.name, &got, DType::Bool, &[s.len()], &want, Tol::Exact);
            let e = arr(dtype, &[], &[2, 0]);
            check_all(
                row.name,
                &(row.op)(&e, &e).unwrap(),
                DType::Bool,
                &[2, 0],
                &[],
                Tol::Exact,
            );
        }
    }
}

#[test]
fn select_n_and_where() {
    for dtype in FLOATS {
        let s = specials(dtype);
        let n = s.len();
        let rev: Vec<f64> = s.iter().rev().copied().collect();
        let pred: Vec<f64> = (0..n).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let want: Vec<f64> = (0..n)
            .map(|i| if pred[i] != 0.0 { s[i] } else { rev[i] })
            .collect();
        let (t, f) = (arr(dtype, &s, &[n]), arr(dtype, &rev, &[n]));
        let p = arr(DType::Bool, &pred, &[n]);
        check_all(
            "select",
            &lax::select(&p, &t, &f).unwrap(),
            dtype,
            &[n],
            &want,
            Tol::Exact,
        );
        check_all(
            "where",
            &jnp::where_(&p, &t, &f),
            dtype,
            &[n],
            &want,
            Tol::Exact,
        );
        // select_n with an i32 predicate picks among three cases.
        let which: Vec<f64> = (0..n).map(|i| (i % 3) as f64).collect();
        let third: Vec<f64> = vec![42.0; n];
        let cases = [t.clone(), f.clone(), arr(dtype, &third, &[n])];
        let want: Vec<f64> = (0..n).map(|i| [s[i], rev[i], 42.0][i % 3]).collect();
        let got = lax::select_n(&arr(DType::I32, &which, &[n]), &cases).unwrap();
        check_all("select_n", &got, dtype, &[n], &want, Tol::Exact);
        // A scalar predicate selects whole arrays; jnp::where broadcasts a scalar case.
        let got = lax::select(&Array::from(false), &t, &f).unwrap();
        check_all("select(scalar)", &got, dtype, &[n], &rev, Tol::Exact);
        let got = jnp::where_(&p, &t, 0.0);
        let want: Vec<f64> = (0..n)
            .map(|i| if pred[i] != 0.0 { s[i] } else { 0.0 })
            .collect();
        check_all("where(x, 0.0)", &got, dtype, &[n], &want, Tol::Exact);
        // Empty.
        let e = arr(dtype, &[], &[2, 0]);
        let pe = arr(DType::Bool, &[], &[2, 0]);
        check_all(
            "select",
            &lax::select(&pe, &e, &e).unwrap(),
            dtype,
            &[2, 0],
            &[],
            Tol::Exact,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Integer and bool primitives
// ---------------------------------------------------------------------------------------------

struct IntBinary {
    name: &'static str,
    op: fn(&Array, &Array) -> Result<Array>,
    i32_ref: fn(i32, i32) -> i32,
    u32_ref: fn(u32, u32) -> u32,
}

fn int_binary_rows() -> Vec<IntBinary> {
    vec![
        IntBinary {
            name: "add",
            op: lax::add,
            i32_ref: i32::wrapping_add,
            u32_ref: u32::wrapping_add,
        },
        IntBinary {
            name: "sub",
            op: lax::sub,
            i32_ref: i32::wrapping_sub,
            u32_ref: u32::wrapping_sub,
        },
        IntBinary {
            name: "mul",
            op: lax::mul,
            i32_ref: i32::wrapping_mul,
            u32_ref: u32::wrapping_mul,
        },
        // XLA: x / 0 is -1 (all ones), INT_MIN / -1 is INT_MIN, rounding toward zero.
        IntBinary {
            name: "div",
            op: lax::div,
            i32_ref: |a, b| match (a, b) {
                (_, 0) => -1,
                (i32::MIN, -1) => i32::MIN,
                _ => a / b,
            },
            u32_ref: |a, b| a.checked_div(b).unwrap_or(u32::MAX),
        },
        IntBinary {
            name: "max",
            op: lax::max,
            i32_ref: |a, b| if a > b { a } else { b },
            u32_ref: |a, b| if a > b { a } else { b },
        },
        IntBinary {
            name: "min",
            op: lax::min,
            i32_ref: |a, b| if a < b { a } else { b },
            u32_ref: |a, b| if a < b { a } else { b },
        },
        IntBinary {
            name: "and",
            op: lax::and,
            i32_ref: |a, b| a & b,
            u32_ref: |a, b| a & b,
        },
        IntBinary {
            name: "or",
            op: lax::or,
            i32_ref: |a, b| a | b,
            u32_ref: |a, b| a | b,
        },
        IntBinary {
            name: "xor",
            op: lax::xor,
            i32_ref: |a, b| a ^ b,
            u32_ref: |a, b| a ^ b,
        },
        // Shifts by a negative amount or by 32 or more give 0.
        IntBinary {
            name: "shift_left",
            op: lax::shift_left,
            i32_ref: |a, b| {
                if (0..32).contains(&b) {
                    ((a as u32) << b) as i32
                } else {
                    0
                }
            },
            u32_ref: |a, b| if b < 32 { a << b } else { 0 },
        },
        IntBinary {
            name: "shift_right_logical",
            op: lax::shift_right_logical,
            i32_ref: |a, b| {
                if (0..32).contains(&b) {
                    ((a as u32) >> b) as i32
                } else {
                    0
                }
            },
            u32_ref: |a, b| if b < 32 { a >> b } else { 0 },
        },
    ]
}

const I32S: &[i32] = &[
    0,
    1,
    -1,
    2,
    -7,
    7,
    31,
    32,
    33,
    -32,
    100_000,
    i32::MAX,
    i32::MIN,
];
const U32S: &[u32] = &[
    0,
    1,
    2,
    7,
    31,
    32,
    33,
    100_000,
    1 << 31,
    3_000_000_000,
    u32::MAX,
];

#[test]
fn integer_binary_primitives() {
    for row in int_binary_rows() {
        // i32: every pair.
        let xs: Vec<i32> = I32S
            .iter()
            .flat_map(|&x| I32S.iter().map(move |_| x))
            .collect();
        let ys: Vec<i32> = I32S.iter().flat_map(|_| I32S.iter().copied()).collect();
        let got = (row.op)(&Array::from_slice(&xs), &Array::from_slice(&ys)).unwrap();
        let want: Vec<i32> = xs
            .iter()
            .zip(&ys)
            .map(|(&a, &b)| (row.i32_ref)(a, b))
            .collect();
        assert_eq!(got.to_vec::<i32>().unwrap(), want, "{} i32", row.name);
        // u32: every pair.
        let xs: Vec<u32> = U32S
            .iter()
            .flat_map(|&x| U32S.iter().map(move |_| x))
            .collect();
        let ys: Vec<u32> = U32S.iter().flat_map(|_| U32S.iter().copied()).collect();
        let got = (row.op)(&Array::from_slice(&xs), &Array::from_slice(&ys)).unwrap();
        let want: Vec<u32> = xs
            .iter()
            .zip(&ys)
            .map(|(&a, &b)| (row.u32_ref)(a, b))
            .collect();
        assert_eq!(got.to_vec::<u32>().unwrap(), want, "{} u32", row.name);
        // A scalar with an array, and empties.
        let got = (row.op)(&Array::from(3i32), &Array::from_slice(I32S)).unwrap();
        let want: Vec<i32> = I32S.iter().map(|&b| (row.i32_ref)(3, b)).collect();
        assert_eq!(
            got.to_vec::<i32>().unwrap(),
            want,
            "{} scalar i32",
            row.name
        );
        let e = Array::from_vec(Vec::<u32>::new(), &[2, 0]).unwrap();
        let got = (row.op)(&e, &Array::from(5u32)).unwrap();
        assert_eq!((got.shape(), got.dtype()), (&[2usize, 0][..], DType::U32));
    }
}

#[test]
fn integer_unary_primitives() {
    type Row = (
        &'static str,
        fn(&Array) -> Result<Array>,
        fn(i32) -> i32,
        fn(u32) -> u32,
    );
    let rows: Vec<Row> = vec![
        ("neg", lax::neg, i32::wrapping_neg, u32::wrapping_neg),
        ("abs", lax::abs, i32::wrapping_abs, |x| x),
        ("sign", lax::sign, i32::signum, |x| (x != 0) as u32),
        (
            "square",
            lax::square,
            |x| x.wrapping_mul(x),
            |x| x.wrapping_mul(x),
        ),
        ("not", lax::not, |x| !x, |x| !x),
        (
            "integer_pow[y=3]",
            |x| lax::integer_pow(x, 3),
            |x| x.wrapping_mul(x).wrapping_mul(x),
            |x| x.wrapping_mul(x).wrapping_mul(x),
        ),
    ];
    for (name, op, i_ref, u_ref) in rows {
        let got = op(&Array::from_slice(I32S)).unwrap();
        let want: Vec<i32> = I32S.iter().map(|&x| i_ref(x)).collect();
        assert_eq!(got.to_vec::<i32>().unwrap(), want, "{name} i32");
        let got = op(&Array::from_slice(U32S)).unwrap();
        let want: Vec<u32> = U32S.iter().map(|&x| u_ref(x)).collect();
        assert_eq!(got.to_vec::<u32>().unwrap(), want, "{name} u32");
        let e = Array::from_vec(Vec::<i32>::new(), &[0]).unwrap();
        assert_eq!(op(&e).unwrap().shape(), &[0]);
    }
}

#[test]
fn bool_primitives() {
    let xs = [false, false, true, true];
    let ys = [false, true, false, true];
    let (x, y) = (Array::from_slice(&xs), Array::from_slice(&ys));
    type Row = (
        &'static str,
        fn(&Array, &Array) -> Result<Array>,
        fn(bool, bool) -> bool,
    );
    let rows: Vec<Row> = vec![
        ("and", lax::and, |a, b| a & b),
        ("or", lax::or, |a, b| a | b),
        ("xor", lax::xor, |a, b| a ^ b),
        ("eq", lax::eq, |a, b| a == b),
        ("ne", lax::ne, |a, b| a != b),
        ("lt", lax::lt, |a, b| !a & b),
        ("ge", lax::ge, |a, b| a | !b),
    ];
    for (name, op, reference) in rows {
        let want: Vec<bool> = xs.iter().zip(&ys).map(|(&a, &b)| reference(a, b)).collect();
        assert_eq!(
            op(&x, &y).unwrap().to_vec::<bool>().unwrap(),
            want,
            "{name}"
        );
        let got = op(&Array::from(true), &y).unwrap();
        let want: Vec<bool> = ys.iter().map(|&b| reference(true, b)).collect();
        assert_eq!(got.to_vec::<bool>().unwrap(), want, "{name} scalar");
    }
    let not = lax::not(&x).unwrap().to_vec::<bool>().unwrap();
    assert_eq!(not, vec![true, true, false, false]);
    assert_eq!(jnp::logical_not(&x).to_vec::<bool>().unwrap(), not);
    assert_eq!(
        jnp::logical_and(&x, &y).to_vec::<bool>().unwrap(),
        vec![false, false, false, true]
    );
    // Arithmetic on bools is a type error at the lax level (jnp::sum converts to i32 first).
    assert!(lax::add(&x, &y).is_err());
    assert_eq!(jnp::sum(&x, None, false).item::<i32>().unwrap(), 2);
}

// ---------------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------------

/// `convert_element_type` as XLA defines it: floats to ints truncate toward zero, saturate, and
/// NaN becomes 0; ints between i32 and u32 wrap; to bool is `!= 0` (NaN is true).
fn convert_ref(v: f64, from: DType, to: DType) -> f64 {
    match to {
        DType::F32 => v as f32 as f64,
        DType::F64 => v,
        DType::Bool => (v != 0.0) as u8 as f64,
        DType::I32 => match from {
            DType::U32 => v as u32 as i32 as f64,
            _ if v.is_nan() => 0.0,
            _ => v.trunc().clamp(i32::MIN as f64, i32::MAX as f64),
        },
        DType::U32 => match from {
            DType::I32 => v as i32 as u32 as f64,
            _ if v.is_nan() => 0.0,
            _ => v.trunc().clamp(0.0, u32::MAX as f64),
        },
        other => unreachable!("not one of this test's dtypes: {other}"),
    }
}

#[test]
fn convert_element_type_between_every_pair() {
    let inputs = |dt: DType| -> Vec<f64> {
        match dt {
            DType::F32 | DType::F64 => {
                let mut v = specials(dt);
                v.extend([
                    16777217.0,
                    2.5,
                    -2.5,
                    0.9999,
                    3e9,
                    -3e9,
                    4294967295.0,
                    1e-50,
                    1e39,
                ]);
                v.into_iter()
                    .map(|x| if dt == DType::F32 { x as f32 as f64 } else { x })
                    .collect()
            }
            DType::I32 => I32S.iter().map(|&x| x as f64).chain([16777217.0]).collect(),
            DType::U32 => U32S.iter().map(|&x| x as f64).chain([16777217.0]).collect(),
            DType::Bool => vec![0.0, 1.0],
            other => unreachable!("not one of this test's dtypes: {other}"),
        }
    };
    let all = [DType::F32, DType::F64, DType::I32, DType::U32, DType::Bool];
    for from in all {
        for to in all {
            let xs = inputs(from);
            let n = xs.len();
            let got = lax::convert_element_type(&arr(from, &xs, &[n]), to).unwrap();
            let want: Vec<f64> = xs.iter().map(|&v| convert_ref(v, from, to)).collect();
            check_all(
                &format!("convert {from} -> {to}"),
                &got,
                to,
                &[n],
                &want,
                Tol::Exact,
            );
            let got = lax::convert_element_type(&arr(from, &[], &[2, 0]), to).unwrap();
            check_all("convert empty", &got, to, &[2, 0], &[], Tol::Exact);
        }
    }
}

#[test]
fn bitcast_convert_type() {
    let xs: Vec<f32> = F32_SPECIALS.to_vec();
    let bits = lax::bitcast_convert_type(&Array::from_slice(&xs), DType::U32).unwrap();
    let want: Vec<u32> = xs.iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits.to_vec::<u32>().unwrap(), want);
    let back = lax::bitcast_convert_type(&bits, DType::F32).unwrap();
    let back_bits: Vec<u32> = back
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    assert_eq!(back_bits, want);
    let ints = lax::bitcast_convert_type(&bits, DType::I32).unwrap();
    let want: Vec<i32> = want.iter().map(|&b| b as i32).collect();
    assert_eq!(ints.to_vec::<i32>().unwrap(), want);
    // Widths must agree.
    assert!(lax::bitcast_convert_type(&Array::from(1.0f64), DType::U32).is_err());
}

// ---------------------------------------------------------------------------------------------
// Weak types: Rust literals take the array's dtype
// ---------------------------------------------------------------------------------------------

#[test]
fn rust_literals_are_weakly_typed() {
    let x = Array::from_slice(&[1.5f32, -2.0]);
    let y = &x * 2.0;
    assert_eq!(y.dtype(), DType::F32);
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![3.0, -4.0]);
    assert_eq!((2.0f32 - &x).to_vec::<f32>().unwrap(), vec![0.5, 4.0]);
    // An f64 literal meeting an f64 array keeps all its digits (0.1, not 0.1 rounded to f32).
    let x64 = Array::from_slice(&[1.0f64, 3.0]);
    let y64 = &x64 * 0.1;
    assert_eq!(y64.dtype(), DType::F64);
    assert_eq!(y64.to_vec::<f64>().unwrap(), vec![0.1, 3.0 * 0.1]);
    assert_eq!(
        (&x64 + 1e-10).to_vec::<f64>().unwrap(),
        vec![1.0 + 1e-10, 3.0 + 1e-10]
    );
    // With an f32 array the same literal is f32's 0.1.
    assert_eq!(
        (&x * 0.1).to_vec::<f32>().unwrap(),
        vec![1.5f32 * 0.1f32, -2.0f32 * 0.1f32]
    );
    // Ints: an int array with a float literal becomes f32, with an int literal stays i32.
    let i = Array::from_slice(&[1i32, 2]);
    assert_eq!(jnp::multiply(&i, 2.5).dtype(), DType::F32);
    assert_eq!(jnp::add(&i, 2).to_vec::<i32>().unwrap(), vec![3, 4]);
    // A literal alone is a (weak) f32, as a Python float in JAX.
    let e = jnp::exp(0.5);
    assert_eq!((e.dtype(), e.is_weak()), (DType::F32, true));
    assert_eq!(e.item::<f32>().unwrap(), 0.5f32.exp());
}

// ---------------------------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------------------------

/// Naive reduction over `axes` of a row-major array: for every output element, fold the inputs
/// that map to it.
fn naive_reduce(
    vals: &[f64],
    shape: &[usize],
    axes: &[usize],
    init: f64,
    f: impl Fn(f64, f64) -> f64,
) -> (Vec<f64>, Vec<usize>) {
    let out_shape: Vec<usize> = (0..shape.len())
        .filter(|d| !axes.contains(d))
        .map(|d| shape[d])
        .collect();
    let out_size: usize = out_shape.iter().product();
    let mut out = vec![init; out_size];
    for (flat, &v) in vals.iter().enumerate() {
        // Unflatten, then flatten over the kept axes.
        let mut rem = flat;
        let mut idx = vec![0; shape.len()];
        for d in (0..shape.len()).rev() {
            idx[d] = rem % shape[d];
            rem /= shape[d];
        }
        let mut o = 0;
        for d in 0..shape.len() {
            if !axes.contains(&d) {
                o = o * shape[d] + idx[d];
            }
        }
        out[o] = f(out[o], v);
    }
    (out, out_shape)
}

/// `(value, index)` folding for argmax: the first maximum, and the first NaN if there is one.
fn argmax_ref(vals: &[f64], shape: &[usize], axis: usize) -> Vec<f64> {
    let out_shape: Vec<usize> = (0..shape.len())
        .filter(|&d| d != axis)
        .map(|d| shape[d])
        .collect();
    let out_size: usize = out_shape.iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let n = shape[axis];
    (0..out_size)
        .map(|o| {
            let (outer, inn) = (o / inner, o % inner);
            let at = |k: usize| vals[(outer * n + k) * inner + inn];
            let mut best = 0;
            for k in 0..n {
                if at(best).is_nan() {
                    break;
                }
                if at(k).is_nan() || at(k) > at(best) {
                    best = k;
                }
            }
            best as f64
        })
        .collect()
}

#[test]
fn reductions_over_any_axes() {
    let shape = [2usize, 3, 4];
    let vals: Vec<f64> = (0..24)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) * 0.75)
        .collect();
    let axes_list: Vec<Option<Vec<isize>>> = vec![
        None,
        Some(vec![0]),
        Some(vec![1]),
        Some(vec![2]),
        Some(vec![-1]),
        Some(vec![0, 2]),
        Some(vec![2, 0]),
        Some(vec![1, 2]),
        Some(vec![0, 1, 2]),
        Some(vec![]),
    ];
    for dtype in FLOATS {
        let x = arr(dtype, &vals, &shape);
        for axes in &axes_list {
            let ax: Vec<usize> = match axes {
                None => vec![0, 1, 2],
                Some(a) => a
                    .iter()
                    .map(|&d| if d < 0 { (d + 3) as usize } else { d as usize })
                    .collect(),
            };
            let count: usize = ax.iter().map(|&d| shape[d]).product();
            let (sum, out_shape) = naive_reduce(&vals, &shape, &ax, 0.0, |a, b| a + b);
            let (mx, _) = naive_reduce(&vals, &shape, &ax, f64::NEG_INFINITY, max_ref);
            let (mn, _) = naive_reduce(&vals, &shape, &ax, f64::INFINITY, min_ref);
            let mean: Vec<f64> = sum.iter().map(|s| s / count as f64).collect();
            let kept: Vec<usize> = (0..3)
                .map(|d| if ax.contains(&d) { 1 } else { shape[d] })
                .collect();
            let a = axes.as_deref();
            for keepdims in [false, true] {
                let s = if keepdims { &kept } else { &out_shape };
                let what = format!("{axes:?} keepdims={keepdims}");
                let tol = Tol::Rel(1e-6);
                check_all(
                    &format!("sum {what}"),
                    &jnp::sum(&x, a, keepdims),
                    dtype,
                    s,
                    &sum,
                    tol,
                );
                check_all(
                    &format!("max {what}"),
                    &jnp::max(&x, a, keepdims),
                    dtype,
                    s,
                    &mx,
                    Tol::Exact,
                );
                check_all(
                    &format!("min {what}"),
                    &jnp::min(&x, a, keepdims),
                    dtype,
                    s,
                    &mn,
                    Tol::Exact,
                );
                check_all(
                    &format!("mean {what}"),
                    &jnp::mean(&x, a, keepdims),
                    dtype,
                    s,
                    &mean,
                    tol,
                );
            }
        }
        // argmax along each axis and of the flattened array.
        for axis in 0..3 {
            let got = jnp::argmax(&x, Some(axis as isize));
            let shape_out: Vec<usize> = (0..3).filter(|&d| d != axis).map(|d| shape[d]).collect();
            check_all(
                "argmax",
                &got,
                DType::I32,
                &shape_out,
                &argmax_ref(&vals, &shape, axis),
                Tol::Exact,
            );
        }
        let flat = jnp::argmax(&x, None);
        check_all(
            "argmax(None)",
            &flat,
            DType::I32,
            &[],
            &argmax_ref(&vals, &[24], 0),
            Tol::Exact,
        );
        // argmin is argmax of the negation (no NaN here).
        let neg: Vec<f64> = vals.iter().map(|v| -v).collect();
        for axis in 0..3 {
            let got = jnp::argmin(&x, Some(axis as isize));
            let shape_out: Vec<usize> = (0..3).filter(|&d| d != axis).map(|d| shape[d]).collect();
            let want = argmax_ref(&neg, &shape, axis);
            check_all("argmin", &got, DType::I32, &shape_out, &want, Tol::Exact);
        }
    }
}

#[test]
fn reductions_with_special_values_and_empties() {
    for dtype in FLOATS {
        let s = specials(dtype);
        let n = s.len();
        let x = arr(dtype, &s, &[n]);
        // NaN anywhere makes max, min and sum NaN; argmax points at the first NaN.
        assert!(jnp::max(&x, None, false).to_f64_vec().unwrap()[0].is_nan());
        assert!(jnp::min(&x, None, false).to_f64_vec().unwrap()[0].is_nan());
        assert!(jnp::sum(&x, None, false).to_f64_vec().unwrap()[0].is_nan());
        let first_nan = s.iter().position(|v| v.is_nan()).unwrap() as i32;
        assert_eq!(jnp::argmax(&x, None).item::<i32>().unwrap(), first_nan);
        // Without NaN: ±inf, and -0 vs +0 (max gives +0 of the pair, min -0).
        let no_nan: Vec<f64> = s.iter().copied().filter(|v| !v.is_nan()).collect();
        let y = arr(dtype, &no_nan, &[no_nan.len()]);
        check_all(
            "max",
            &jnp::max(&y, None, false),
            dtype,
            &[],
            &[f64::INFINITY],
            Tol::Exact,
        );
        check_all(
            "min",
            &jnp::min(&y, None, false),
            dtype,
            &[],
            &[f64::NEG_INFINITY],
            Tol::Exact,
        );
        let zeros = arr(dtype, &[-0.0, 0.0, -0.0], &[3]);
        check_all(
            "max ±0",
            &jnp::max(&zeros, None, false),
            dtype,
            &[],
            &[0.0],
            Tol::Exact,
        );
        check_all(
            "min ±0",
            &jnp::min(&zeros, None, false),
            dtype,
            &[],
            &[-0.0],
            Tol::Exact,
        );
        let neg_zeros = arr(dtype, &[-0.0, -0.0], &[2]);
        check_all(
            "sum -0",
            &jnp::sum(&neg_zeros, None, false),
            dtype,
            &[],
            &[-0.0],
            Tol::Rel(0.0),
        );
        // Subnormals sum exactly.
        let tiny = if dtype == DType::F32 { 1e-40 } else { 1e-310 };
        let t = arr(dtype, &[tiny, tiny, -tiny, tiny], &[4]);
        let want = if dtype == DType::F32 {
            (tiny as f32 * 2.0) as f64
        } else {
            tiny * 2.0
        };
        check_all(
            "sum subnormal",
            &jnp::sum(&t, None, false),
            dtype,
            &[],
            &[want],
            Tol::Exact,
        );

        // Empty: sum is 0, mean NaN, max/min the identities (lax's reduce_max of nothing).
        let e = arr(dtype, &[], &[2, 0]);
        check_all(
            "sum empty",
            &jnp::sum(&e, Some(&[1]), false),
            dtype,
            &[2],
            &[0.0, 0.0],
            Tol::Exact,
        );
        check_all(
            "sum empty all",
            &jnp::sum(&e, None, false),
            dtype,
            &[],
            &[0.0],
            Tol::Exact,
        );
        check_all(
            "sum empty axis 0",
            &jnp::sum(&e, Some(&[0]), true),
            dtype,
            &[1, 0],
            &[],
            Tol::Exact,
        );
        let m = jnp::mean(&e, Some(&[1]), false);
        check_all(
            "mean empty",
            &m,
            dtype,
            &[2],
            &[f64::NAN, f64::NAN],
            Tol::Exact,
        );
        let mx = lax::reduce_max(&e, &[1]).unwrap();
        check_all(
            "reduce_max empty",
            &mx,
            dtype,
            &[2],
            &[f64::NEG_INFINITY; 2],
            Tol::Exact,
        );
        let mn = lax::reduce_min(&e, &[1]).unwrap();
        check_all(
            "reduce_min empty",
            &mn,
            dtype,
            &[2],
            &[f64::INFINITY; 2],
            Tol::Exact,
        );
        assert!(
            lax::argmax(&e, 1, DType::I32).is_err(),
            "argmax of an empty axis"
        );
    }
    // Integer reductions wrap; their max/min identities are the dtype's extremes.
    let i = Array::from_slice(&[i32::MAX, 1, 5]);
    assert_eq!(
        jnp::sum(&i, None, false).item::<i32>().unwrap(),
        i32::MIN + 5
    );
    let u = Array::from_slice(&[u32::MAX, 2, 7]);
    assert_eq!(jnp::sum(&u, None, false).item::<u32>().unwrap(), 8);
    assert_eq!(jnp::max(&u, None, false).item::<u32>().unwrap(), u32::MAX);
    let ie = Array::from_vec(Vec::<i32>::new(), &[0]).unwrap();
    assert_eq!(
        lax::reduce_max(&ie, &[0]).unwrap().item::<i32>().unwrap(),
        i32::MIN
    );
    assert_eq!(
        lax::reduce_min(&ie, &[0]).unwrap().item::<i32>().unwrap(),
        i32::MAX
    );
    assert_eq!(
        jnp::argmax(Array::from_slice(&[3i32, 9, 9, -1]), None)
            .item::<i32>()
            .unwrap(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Shape primitives
// ---------------------------------------------------------------------------------------------

/// `0, 1, 2, ...` as an array of `shape` and `dtype`.
fn counting(dtype: DType, shape: &[usize]) -> (Array, Vec<f64>) {
    let n: usize = shape.iter().product();
    let vals: Vec<f64> = (0..n).map(|i| i as f64).collect();
    (arr(dtype, &vals, shape), vals)
}

/// Row-major multi-index of a flat index.
fn unflatten(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = flat % shape[d];
        flat /= shape[d];
    }
    idx
}

fn flatten(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// One shape op: the op on a counting array, the expected shape, and the source of every
/// output element (`None`: a padding value of -1).
struct ShapeRow {
    name: &'static str,
    in_shape: Vec<usize>,
    op: Box<dyn Fn(&Array) -> Array>,
    out_shape: Vec<usize>,
    source: Source,
}

/// Where an output element comes from (`None`: padding).
type Source = Box<dyn Fn(&[usize]) -> Option<Vec<usize>>>;

fn shape_rows() -> Vec<ShapeRow> {
    let ok = |r: Result<Array>| r.unwrap();
    vec![
        ShapeRow {
            name: "broadcast_in_dim (3,1)->(2,3,4) dims (1,2)",
            in_shape: vec![3, 1],
            op: Box::new(move |x| ok(lax::broadcast_in_dim(x, &[2, 3, 4], &[1, 2]))),
            out_shape: vec![2, 3, 4],
            source: Box::new(|o| Some(vec![o[1], 0])),
        },
        ShapeRow {
            name: "broadcast_in_dim of a scalar",
            in_shape: vec![],
            op: Box::new(move |x| ok(lax::broadcast_in_dim(x, &[2, 2], &[]))),
            out_shape: vec![2, 2],
            source: Box::new(|_| Some(vec![])),
        },
        ShapeRow {
            name: "jnp::broadcast_to (3,)->(2,3)",
            in_shape: vec![3],
            op: Box::new(|x| jnp::broadcast_to(x, &[2, 3])),
            out_shape: vec![2, 3],
            source: Box::new(|o| Some(vec![o[1]])),
        },
        ShapeRow {
            name: "reshape (2,3,4)->(4,6)",
            in_shape: vec![2, 3, 4],
            op: Box::new(|x| jnp::reshape(x, &[4, -1])),
            out_shape: vec![4, 6],
            source: Box::new(|o| Some(unflatten(flatten(o, &[4, 6]), &[2, 3, 4]))),
        },
        ShapeRow {
            name: "reshape (2,0)->(0,5)",
            in_shape: vec![2, 0],
            op: Box::new(move |x| ok(lax::reshape(x, &[0, 5]))),
            out_shape: vec![0, 5],
            source: Box::new(|_| unreachable!()),
        },
        ShapeRow {
            name: "transpose (2,3,4) perm (2,0,1)",
            in_shape: vec![2, 3, 4],
            op: Box::new(|x| jnp::transpose(x, Some(&[2, 0, 1]))),
            out_shape: vec![4, 2, 3],
            source: Box::new(|o| Some(vec![o[1], o[2], o[0]])),
        },
        ShapeRow {
            name: "transpose (2,3) reversed",
            in_shape: vec![2, 3],
            op: Box::new(|x| x.t()),
            out_shape: vec![3, 2],
            source: Box::new(|o| Some(vec![o[1], o[0]])),
        },
        ShapeRow {
            name: "transpose (2,0)",
            in_shape: vec![2, 0],
            op: Box::new(|x| x.t()),
            out_shape: vec![0, 2],
            source: Box::new(|_| unreachable!()),
        },
        ShapeRow {
            name: "squeeze (1,3,1) axes (0,-1)",
            in_shape: vec![1, 3, 1],
            op: Box::new(|x| jnp::squeeze(x, Some(&[0, -1]))),
            out_shape: vec![3],
            source: Box::new(|o| Some(vec![0, o[0], 0])),
        },
        ShapeRow {
            name: "squeeze all (1,2,1)",
            in_shape: vec![1, 2, 1],
            op: Box::new(|x| jnp::squeeze(x, None)),
            out_shape: vec![2],
            source: Box::new(|o| Some(vec![0, o[0], 0])),
        },
        ShapeRow {
            name: "expand_dims (2,3) axis 1",
            in_shape: vec![2, 3],
            op: Box::new(|x| jnp::expand_dims(x, 1)),
            out_shape: vec![2, 1, 3],
            source: Box::new(|o| Some(vec![o[0], o[2]])),
        },
        ShapeRow {
            name: "expand_dims (2,3) axis -1",
            in_shape: vec![2, 3],
            op: Box::new(|x| jnp::expand_dims(x, -1)),
            out_shape: vec![2, 3, 1],
            source: Box::new(|o| Some(vec![o[0], o[1]])),
        },
        ShapeRow {
            name: "concatenate [x, x[:, :1], empty] axis 1",
            in_shape: vec![2, 3],
            op: Box::new(move |x| {
                let first = ok(lax::slice(x, &[0, 0], &[2, 1], None));
                let empty = ok(lax::slice(x, &[0, 0], &[2, 0], None));
                jnp::concatenate(&[x.clone(), first, empty], -1)
            }),
            out_shape: vec![2, 4],
            source: Box::new(|o| Some(vec![o[0], if o[1] < 3 { o[1] } else { 0 }])),
        },
        ShapeRow {
            name: "concatenate axis 0",
            in_shape: vec![2, 3],
            op: Box::new(|x| jnp::concatenate(&[x.clone(), x.clone()], 0)),
            out_shape: vec![4, 3],
            source: Box::new(|o| Some(vec![o[0] % 2, o[1]])),
        },
        ShapeRow {
            name: "stack axis 0",
            in_shape: vec![3],
            op: Box::new(|x| jnp::stack(&[x.clone(), x.clone()], 0)),
            out_shape: vec![2, 3],
            source: Box::new(|o| Some(vec![o[1]])),
        },
        ShapeRow {
            name: "stack axis -1",
            in_shape: vec![3],
            op: Box::new(|x| jnp::stack(&[x.clone(), x.clone()], -1)),
            out_shape: vec![3, 2],
            source: Box::new(|o| Some(vec![o[0]])),
        },
        ShapeRow {
            name: "pad ((1,2,0),(0,0,1)) with -1",
            in_shape: vec![2, 3],
            op: Box::new(move |x| {
                let v = ok(lax::convert_element_type(&Array::from(-1i32), x.dtype()));
                ok(lax::pad(x, &v, &[(1, 2, 0), (0, 0, 1)]))
            }),
            out_shape: vec![5, 5],
            source: Box::new(|o| {
                let r = o[0].checked_sub(1).filter(|&r| r < 2)?;
                (o[1] % 2 == 0).then(|| vec![r, o[1] / 2])
            }),
        },
        ShapeRow {
            name: "slice (5,6) [1:4:2, 0:6:3]",
            in_shape: vec![5, 6],
            op: Box::new(move |x| ok(lax::slice(x, &[1, 0], &[4, 6], Some(&[2, 3])))),
            out_shape: vec![2, 2],
            source: Box::new(|o| Some(vec![1 + 2 * o[0], 3 * o[1]])),
        },
        ShapeRow {
            name: "slice to empty",
            in_shape: vec![5],
            op: Box::new(move |x| ok(lax::slice(x, &[2], &[2], None))),
            out_shape: vec![0],
            source: Box::new(|_| unreachable!()),
        },
        ShapeRow {
            name: "dynamic_slice (5,6) at (3, -2) size (3, 2): clamped to (2, 0)",
            in_shape: vec![5, 6],
            op: Box::new(move |x| {
                ok(lax::dynamic_slice(
                    x,
                    &[Array::from(3i32), Array::from(-2i32)],
                    &[3, 2],
                ))
            }),
            out_shape: vec![3, 2],
            source: Box::new(|o| Some(vec![2 + o[0], o[1]])),
        },
        ShapeRow {
            name: "dynamic_slice (5,) at 1 size 2",
            in_shape: vec![5],
            op: Box::new(move |x| ok(lax::dynamic_slice(x, &[Array::from(1u32)], &[2]))),
            out_shape: vec![2],
            source: Box::new(|o| Some(vec![1 + o[0]])),
        },
        ShapeRow {
            name: "dynamic_update_slice (5,) with x[:2]*0-1 at 4: clamped to 3",
            in_shape: vec![5],
            op: Box::new(move |x| {
                let v = ok(lax::convert_element_type(
                    &Array::from_slice(&[-1i32, -1]),
                    x.dtype(),
                ));
                ok(lax::dynamic_update_slice(x, &v, &[Array::from(4i32)]))
            }),
            out_shape: vec![5],
            source: Box::new(|o| (o[0] < 3).then(|| vec![o[0]])),
        },
        ShapeRow {
            name: "take [2, -1, 0] axis 1",
            in_shape: vec![2, 3],
            op: Box::new(|x| jnp::take(x, Array::from_slice(&[2i32, -1, 0]), 1)),
            out_shape: vec![2, 3],
            source: Box::new(|o| Some(vec![o[0], [2, 2, 0][o[1]]])),
        },
        ShapeRow {
            name: "take 2-D indices axis 0",
            in_shape: vec![3, 2],
            op: Box::new(|x| {
                let idx = Array::from_vec(vec![0i32, -3, 2, 1], &[2, 2]).unwrap();
                jnp::take(x, idx, 0)
            }),
            out_shape: vec![2, 2, 2],
            source: Box::new(|o| Some(vec![[0, 0, 2, 1][o[0] * 2 + o[1]], o[2]])),
        },
        ShapeRow {
            name: "x.at(-1), x.at(7) (clamped), x.at(-9) (clamped)",
            in_shape: vec![3, 2],
            op: Box::new(|x| jnp::stack(&[x.at(-1), x.at(7), x.at(-9)], 0)),
            out_shape: vec![3, 2],
            source: Box::new(|o| Some(vec![[2, 2, 0][o[0]], o[1]])),
        },
        ShapeRow {
            name: "gather clamps",
            in_shape: vec![4],
            op: Box::new(move |x| ok(lax::take_clamped(x, &Array::from_slice(&[-5i32, 9, 1]), 0))),
            out_shape: vec![3],
            source: Box::new(|o| Some(vec![[0, 3, 1][o[0]]])),
        },
    ]
}

#[test]
fn shape_primitives() {
    for row in shape_rows() {
        for dtype in [DType::F32, DType::F64, DType::I32] {
            let (x, vals) = counting(dtype, &row.in_shape);
            let got = (row.op)(&x);
            let n: usize = row.out_shape.iter().product();
            let want: Vec<f64> = (0..n)
                .map(|o| match (row.source)(&unflatten(o, &row.out_shape)) {
                    Some(src) => vals[flatten(&src, &row.in_shape)],
                    None => -1.0,
                })
                .collect();
            check_all(row.name, &got, dtype, &row.out_shape, &want, Tol::Exact);
        }
    }
}

#[test]
fn take_fills_out_of_range_indices() {
    // jnp.take's default mode: an index outside [-n, n) gives NaN (the int minimum for i32).
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0]);
    let got = jnp::take(&x, Array::from_slice(&[-1i32, -3, -4, 3, 5, 0]), 0);
    check_all(
        "take fill",
        &got,
        DType::F32,
        &[6],
        &[3.0, 1.0, f64::NAN, f64::NAN, f64::NAN, 1.0],
        Tol::Exact,
    );
    let xi = Array::from_slice(&[1i32, 2, 3]);
    let got = jnp::take(&xi, Array::from_slice(&[-4i32, 3, 1]), 0);
    assert_eq!(got.to_vec::<i32>().unwrap(), vec![i32::MIN, i32::MIN, 2]);
    let xu = Array::from_slice(&[1u32, 2]);
    assert_eq!(
        jnp::take(&xu, 7, 0).to_vec::<u32>().unwrap(),
        vec![u32::MAX]
    );
    // Float indices are an error.
    assert!(cranax::core::error::catch(|| Ok(jnp::take(&x, 1.0f32, 0))).is_err());
}

#[test]
fn label_picking_and_one_hot() {
    // Log-probabilities with -inf entries: picking must not multiply them by zero.
    let logp = Array::from_vec(
        vec![
            f32::NEG_INFINITY,
            -0.5,
            -1.0,
            -2.0,
            f32::NEG_INFINITY,
            -0.25,
        ],
        &[2, 3],
    )
    .unwrap();
    let labels = Array::from_slice(&[1i32, 2]);
    let got = jnp::take_along_last(&logp, &labels);
    check_all(
        "take_along_last",
        &got,
        DType::F32,
        &[2],
        &[-0.5, -0.25],
        Tol::Exact,
    );
    // Negative labels count from the end; out-of-range ones fill with NaN.
    let got = jnp::take_along_last(&logp, Array::from_slice(&[-1i32, 3]));
    check_all(
        "take_along_last wrap/fill",
        &got,
        DType::F32,
        &[2],
        &[-1.0, f64::NAN],
        Tol::Exact,
    );
    // Higher rank: rows (2, 2) of 3 classes.
    let (x, vals) = counting(DType::F64, &[2, 2, 3]);
    let labels = Array::from_vec(vec![0i32, 2, 1, 1], &[2, 2]).unwrap();
    let got = jnp::take_along_last(&x, &labels);
    let want = [vals[0], vals[5], vals[7], vals[10]];
    check_all(
        "take_along_last 3-D",
        &got,
        DType::F64,
        &[2, 2],
        &want,
        Tol::Exact,
    );

    // one_hot: out-of-range and negative labels give all-zero rows, as jax.nn.one_hot.
    let oh = nn::one_hot(Array::from_slice(&[0i32, 2, 5, -1]), 3, DType::F32);
    let want = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    check_all("one_hot", &oh, DType::F32, &[4, 3], &want, Tol::Exact);
    let oh = nn::one_hot(
        Array::from_vec(Vec::<i32>::new(), &[0]).unwrap(),
        3,
        DType::F64,
    );
    assert_eq!(oh.shape(), &[0, 3]);
}

#[test]
fn scatter_add_accumulates_at_clamped_indices() {
    // The transpose of gather: updates added at their (clamped) indices, repeats accumulating.
    let idx = Array::from_slice(&[0i32, 2, 2, -1, 9]);
    for dtype in [DType::F32, DType::F64, DType::I32, DType::U32] {
        let x = arr(dtype, &[10.0, 20.0, 30.0, 40.0], &[4]);
        let upd = arr(dtype, &[1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
        let got = lax::scatter_add_clamped(&x, &idx, &upd, 0).unwrap();
        check_all(
            "scatter-add",
            &got,
            dtype,
            &[4],
            &[15.0, 20.0, 35.0, 45.0],
            Tol::Exact,
        );
    }
    // Along axis 1 of a (2, 3), with 2-D indices.
    let x = arr(DType::F32, &[0.0; 6], &[2, 3]);
    let idx2 = Array::from_vec(vec![2i32, 2, 0, 1], &[2, 2]).unwrap();
    let upd = arr(
        DType::F32,
        &(1..=8).map(f64::from).collect::<Vec<_>>(),
        &[2, 2, 2],
    );
    let got = lax::scatter_add_clamped(&x, &idx2, &upd, 1).unwrap();
    // Row r gets upd[r, a, b] at column idx2[a, b].
    check_all(
        "scatter-add axis 1",
        &got,
        DType::F32,
        &[2, 3],
        &[3.0, 4.0, 3.0, 7.0, 8.0, 11.0],
        Tol::Exact,
    );
    // u32 sums wrap mod 2^32 (and above 2^31 stay u32).
    let x = Array::from_slice(&[3_000_000_000u32, 0]);
    let upd = Array::from_slice(&[3_000_000_000u32, 2_500_000_000]);
    let got = lax::scatter_add_clamped(&x, &Array::from_slice(&[0i32, 1]), &upd, 0).unwrap();
    assert_eq!(
        got.to_vec::<u32>().unwrap(),
        vec![3_000_000_000u32.wrapping_add(3_000_000_000), 2_500_000_000]
    );
}

#[test]
fn iota_along_each_dimension() {
    for dtype in [DType::F32, DType::F64, DType::I32, DType::U32] {
        for dim in 0..2 {
            let got = lax::iota(dtype, &[2, 3], dim).unwrap();
            let want: Vec<f64> = (0..6).map(|o| unflatten(o, &[2, 3])[dim] as f64).collect();
            check_all("iota", &got, dtype, &[2, 3], &want, Tol::Exact);
        }
        let got = lax::iota(dtype, &[0], 0).unwrap();
        check_all("iota empty", &got, dtype, &[0], &[], Tol::Exact);
    }
}

// ---------------------------------------------------------------------------------------------
// dot_general, dot, matmul
// ---------------------------------------------------------------------------------------------

/// Batched matmul by the definition: out[b, i, j] = Σ_k x[b, i, k] · y[b, k, j] (in f64), with
/// the batch of y broadcast when it has one element.
fn naive_matmul(
    x: &[f64],
    y: &[f64],
    b: usize,
    m: usize,
    k: usize,
    n: usize,
    y_batched: bool,
) -> Vec<f64> {
    let mut out = vec![0.0; b * m * n];
    for bi in 0..b {
        let yb = if y_batched { bi } else { 0 };
        for i in 0..m {
            for j in 0..n {
                out[(bi * m + i) * n + j] = (0..k)
                    .map(|p| x[(bi * m + i) * k + p] * y[(yb * k + p) * n + j])
                    .sum();
            }
        }
    }
    out
}

fn values(n: usize, seed: usize) -> Vec<f64> {
    (0..n)
        .map(|i| (((i * 37 + seed * 11) % 17) as f64 - 8.0) / 4.0)
        .collect()
}

#[test]
fn dot_and_matmul_against_a_naive_loop() {
    // (x shape, y shape, out shape, batch, m, k, n, y batched)
    type Case = (
        Vec<usize>,
        Vec<usize>,
        Vec<usize>,
        usize,
        usize,
        usize,
        usize,
        bool,
    );
    let cases: Vec<Case> = vec![
        (vec![4], vec![4], vec![], 1, 1, 4, 1, false),
        (vec![3, 4], vec![4], vec![3], 1, 3, 4, 1, false),
        (vec![4], vec![4, 5], vec![5], 1, 1, 4, 5, false),
        (vec![3, 4], vec![4, 5], vec![3, 5], 1, 3, 4, 5, false),
        (
            vec![2, 3, 4],
            vec![2, 4, 5],
            vec![2, 3, 5],
            2,
            3,
            4,
            5,
            true,
        ),
        (vec![2, 3, 4], vec![4, 5], vec![2, 3, 5], 2, 3, 4, 5, false),
        (vec![3, 0], vec![0, 2], vec![3, 2], 1, 3, 0, 2, false),
        (vec![0, 4], vec![4, 2], vec![0, 2], 1, 0, 4, 2, false),
        (vec![17, 33], vec![33, 9], vec![17, 9], 1, 17, 33, 9, false),
    ];
    for dtype in [DType::F32, DType::F64, DType::I32] {
        for (xs, ys, out, b, m, k, n, yb) in &cases {
            let xv = values(xs.iter().product(), 1);
            let yv = values(ys.iter().product(), 2);
            let (xv, yv) = if dtype == DType::I32 {
                (
                    xv.iter().map(|v| (v * 4.0).round()).collect(),
                    yv.iter().map(|v| (v * 4.0).round()).collect(),
                )
            } else {
                (xv, yv)
            };
            let want = naive_matmul(&xv, &yv, *b, *m, *k, *n, *yb);
            let (x, y) = (arr(dtype, &xv, xs), arr(dtype, &yv, ys));
            let tol = if dtype == DType::F32 {
                Tol::Rel(1e-6)
            } else {
                Tol::Rel(1e-13)
            };
            let what = format!("matmul {xs:?} @ {ys:?}");
            check_all(&what, &jnp::matmul(&x, &y), dtype, out, &want, tol);
            check_all(&what, &x.matmul(&y), dtype, out, &want, tol);
            if xs.len() <= 2 && ys.len() <= 2 {
                check_all(
                    &format!("dot {xs:?} . {ys:?}"),
                    &jnp::dot(&x, &y),
                    dtype,
                    out,
                    &want,
                    tol,
                );
            }
        }
    }
    // dot_general with batch and contracting axes in unusual places:
    // x[c, b, i] · y[b, j, c] -> out[b, i, j].
    let (b, i, j, c) = (2, 3, 4, 5);
    let xv = values(c * b * i, 3);
    let yv = values(b * j * c, 4);
    let mut want = vec![0.0; b * i * j];
    for bb in 0..b {
        for ii in 0..i {
            for jj in 0..j {
                want[(bb * i + ii) * j + jj] = (0..c)
                    .map(|cc| xv[(cc * b + bb) * i + ii] * yv[(bb * j + jj) * c + cc])
                    .sum();
            }
        }
    }
    let dims = cranax::prims::DotGeneral {
        lhs_contracting: vec![0],
        rhs_contracting: vec![2],
        lhs_batch: vec![1],
        rhs_batch: vec![0],
        preferred_element_type: None,
    };
    for dtype in FLOATS {
        let got = lax::dot_general(
            &arr(dtype, &xv, &[c, b, i]),
            &arr(dtype, &yv, &[b, j, c]),
            dims.clone(),
        )
        .unwrap();
        check_all(
            "dot_general",
            &got,
            dtype,
            &[b, i, j],
            &want,
            Tol::Rel(1e-6),
        );
    }
    // Special values propagate as IEEE says: inf · 0 is NaN.
    let x = Array::from_slice(&[f32::INFINITY, 1.0]);
    let y = Array::from_slice(&[0.0f32, 2.0]);
    assert!(jnp::dot(&x, &y).item::<f32>().unwrap().is_nan());
    // Integer products wrap mod 2^32, in i32 and in u32.
    let xi = Array::from_slice(&[65536i32, 3]);
    assert_eq!(jnp::dot(&xi, &xi).item::<i32>().unwrap(), 9);
    let xu = Array::from_slice(&[3_000_000_000u32, 1]);
    let yu = Array::from_slice(&[1u32, 2]);
    assert_eq!(jnp::dot(&xu, &yu).item::<u32>().unwrap(), 3_000_000_002);
}

// ---------------------------------------------------------------------------------------------
// Constructors and read-back
// ---------------------------------------------------------------------------------------------

#[test]
fn constructors() {
    for dtype in [DType::F32, DType::F64, DType::I32, DType::U32, DType::Bool] {
        let z = jnp::zeros(&[2, 3], dtype);
        check_all("zeros", &z, dtype, &[2, 3], &[0.0; 6], Tol::Exact);
        let o = jnp::ones(&[3], dtype);
        check_all("ones", &o, dtype, &[3], &[1.0; 3], Tol::Exact);
        let e = jnp::eye(3, dtype);
        let want: Vec<f64> = (0..9).map(|i| (i / 3 == i % 3) as u8 as f64).collect();
        check_all("eye", &e, dtype, &[3, 3], &want, Tol::Exact);
        check_all(
            "zeros empty",
            &jnp::zeros(&[2, 0], dtype),
            dtype,
            &[2, 0],
            &[],
            Tol::Exact,
        );
        check_all(
            "eye(0)",
            &jnp::eye(0, dtype),
            dtype,
            &[0, 0],
            &[],
            Tol::Exact,
        );
    }
    let f = jnp::full(&[2, 2], Scalar::F32(-0.0));
    check_all("full -0.0", &f, DType::F32, &[2, 2], &[-0.0; 4], Tol::Exact);
    let f = Array::full(&[3], Scalar::I32(7));
    assert_eq!(f.to_vec::<i32>().unwrap(), vec![7, 7, 7]);
    let f = Array::full(&[], Scalar::F64(f64::NAN));
    assert!(f.item::<f64>().unwrap().is_nan());

    // arange: [start, stop) by step, as jnp.arange.
    type Arange = (f64, f64, f64, DType, Vec<f64>);
    let aranges: Vec<Arange> = vec![
        (0.0, 5.0, 1.0, DType::I32, vec![0.0, 1.0, 2.0, 3.0, 4.0]),
        (1.0, 2.0, 0.25, DType::F32, vec![1.0, 1.25, 1.5, 1.75]),
        (5.0, 0.0, -2.0, DType::F64, vec![5.0, 3.0, 1.0]),
        (3.0, 3.0, 1.0, DType::F32, vec![]),
        (3.0, 0.0, 1.0, DType::I32, vec![]),
        (
            0.0,
            1.0,
            0.1,
            DType::F64,
            (0..10).map(|i| i as f64 * 0.1).collect(),
        ),
    ];
    for (start, stop, step, dtype, want) in aranges {
        let a = Array::arange(start, stop, step, dtype).unwrap();
        check_all("arange", &a, dtype, &[want.len()], &want, Tol::Exact);
        check_all(
            "jnp::arange",
            &jnp::arange(start, stop, step, dtype),
            dtype,
            &[want.len()],
            &want,
            Tol::Exact,
        );
    }
    assert!(Array::arange(0.0, 1.0, 0.0, DType::F32).is_err());
    assert!(Array::arange(0.0, 1.0, f64::NAN, DType::F32).is_err());

    // linspace: both ends included, the last exactly `stop`.
    let l = jnp::linspace(0.0, 1.0, 5, DType::F32);
    check_all(
        "linspace",
        &l,
        DType::F32,
        &[5],
        &[0.0, 0.25, 0.5, 0.75, 1.0],
        Tol::Exact,
    );
    let l = jnp::linspace(-1.0, 0.3, 7, DType::F64);
    let want: Vec<f64> = (0..7)
        .map(|i| {
            if i == 6 {
                0.3
            } else {
                -1.0 + i as f64 * (1.3 / 6.0)
            }
        })
        .collect();
    check_all("linspace f64", &l, DType::F64, &[7], &want, Tol::Ulps(2));
    check_all(
        "linspace 1",
        &jnp::linspace(2.0, 3.0, 1, DType::F32),
        DType::F32,
        &[1],
        &[2.0],
        Tol::Exact,
    );
    check_all(
        "linspace 0",
        &jnp::linspace(2.0, 3.0, 0, DType::F32),
        DType::F32,
        &[0],
        &[],
        Tol::Exact,
    );
}

#[test]
fn read_back() {
    let x = Array::from_vec(vec![1.0f32, -0.0, f32::NAN, 1e-40], &[2, 2]).unwrap();
    assert_eq!(x.shape(), &[2, 2]);
    assert_eq!(x.dtype(), DType::F32);
    assert_eq!(x.ndim(), 2);
    assert_eq!(x.size(), 4);
    let bits: Vec<u32> = x
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    assert_eq!(bits[..2], [1.0f32.to_bits(), (-0.0f32).to_bits()]);
    assert!(f32::from_bits(bits[2]).is_nan());
    assert_eq!(f32::from_bits(bits[3]), 1e-40);
    assert_eq!(x.as_slice::<f32>().unwrap().len(), 4);
    // The wrong element type, or a non-scalar read as a scalar, is an error (not a panic).
    assert!(x.as_slice::<f64>().is_err());
    assert!(x.to_vec::<i32>().is_err());
    assert!(x.item::<f32>().is_err());
    assert_eq!(Array::from(2.5f64).item::<f64>().unwrap(), 2.5);
    assert!(Array::from(true).item::<bool>().unwrap());
    assert_eq!(Array::from(7u32).item::<u32>().unwrap(), 7);
    assert_eq!(Array::from_slice(&[-3i32]).item::<i32>().unwrap(), -3);
    assert_eq!(Array::from(1.5f32).to_scalar().unwrap(), Scalar::F32(1.5));
    let e = Array::from_vec(Vec::<f64>::new(), &[2, 0]).unwrap();
    assert_eq!((e.size(), e.to_vec::<f64>().unwrap().len()), (0, 0));
    assert!(e.item::<f64>().is_err());
    assert_eq!(
        Array::from_slice(&[1u32, 2]).to_f64_vec().unwrap(),
        vec![1.0, 2.0]
    );
}

// The gather-based picking under the transformations it is used with (cross-entropy losses):
// d/dlogits of -mean(log_softmax(logits)[i, label_i]) is (softmax - one_hot) / rows.
#[test]
fn label_picking_differentiates_and_batches() {
    use cranax::{grad, vmap, Function};
    let logits = Array::from_vec(vec![0.5f32, -1.0, 2.0, 0.0, 0.25, -0.5], &[2, 3]).unwrap();
    let labels = Array::from_slice(&[2i32, 0]);
    let l2 = labels.clone();
    let loss = move |z: &Array| {
        -jnp::mean(
            jnp::take_along_last(nn::log_softmax(z, -1), &l2),
            None,
            false,
        )
    };
    let g = grad(loss).call((logits.clone(),)).unwrap();
    let z = logits.to_vec::<f32>().unwrap();
    let mut want = Vec::new();
    for r in 0..2 {
        let row = &z[r * 3..r * 3 + 3];
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
        let s: f64 = row.iter().map(|&v| (v as f64 - m).exp()).sum();
        let label = [2, 0][r];
        for (c, &v) in row.iter().enumerate() {
            let p = (v as f64 - m).exp() / s;
            want.push((p - (c == label) as u8 as f64) / 2.0);
        }
    }
    check_all(
        "grad of picking",
        &g,
        DType::F32,
        &[2, 3],
        &want,
        Tol::Rel(1e-5),
    );
    // vmap over rows gives the same picks as the batched call.
    let pick = |row: &Array, label: &Array| jnp::take_along_last(row, label);
    let per_row = vmap(pick).call((logits.clone(), labels.clone())).unwrap();
    let batched = jnp::take_along_last(&logits, &labels);
    assert_eq!(
        per_row.to_vec::<f32>().unwrap(),
        batched.to_vec::<f32>().unwrap()
    );
    // take with a batched index and fill semantics under vmap.
    let t = |x: &Array, i: &Array| jnp::take(x, i, 0);
    let idx = Array::from_slice(&[0i32, 5]);
    let got = vmap(t).call((logits.clone(), idx)).unwrap();
    check_all(
        "vmap take",
        &got,
        DType::F32,
        &[2],
        &[0.5, f64::NAN],
        Tol::Exact,
    );
}

// Display: strings printed by NumPy 2 (`str(np.array(..., np.float32))` etc.) for the same
// values.
#[test]
fn display_like_numpy() {
    let f = |v: &[f32]| Array::from_slice(v).to_string();
    assert_eq!(
        f(&[1.0, f32::NAN, f32::INFINITY, -0.0, 1e-40]),
        "[ 1.e+00     nan     inf -0.e+00  1.e-40]"
    );
    assert_eq!(f(&[1e10, 1.0, 2.5]), "[1.0e+10 1.0e+00 2.5e+00]");
    assert_eq!(f(&[0.001, 123456.0]), "[1.00000e-03 1.23456e+05]");
    assert_eq!(f(&[-1.5, f32::NAN, 2.0]), "[-1.5  nan  2. ]");
    assert_eq!(f(&[1.0 / 3.0, 2.0 / 3.0]), "[0.33333334 0.6666667 ]");
    assert_eq!(
        f(&[0.482287, 0.45585027, 0.99329686, 0.09532695, 0.8153717]),
        "[0.482287   0.45585027 0.99329686 0.09532695 0.8153717 ]"
    );
    assert_eq!(
        Array::from_slice(&[1.0f64 / 3.0]).to_string(),
        "[0.33333333]"
    );
    assert_eq!(Array::from(3.0f32).to_string(), "3.0");
    assert_eq!(Array::from(-0.0f32).to_string(), "-0.0");
    assert_eq!(
        Array::from_slice(&[1i32, -20, 300]).to_string(),
        "[  1 -20 300]"
    );
    assert_eq!(
        Array::from_slice(&[true, false]).to_string(),
        "[ True False]"
    );
    let m = Array::from_vec(vec![1.5f64, 2.0, -3.25, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    assert_eq!(m.to_string(), "[[ 1.5   2.   -3.25]\n [ 4.    5.    6.  ]]");
    // Every empty array prints as `[]`.
    let e = Array::from_vec(Vec::<f32>::new(), &[2, 0]).unwrap();
    assert_eq!(e.to_string(), "[]");
    assert_eq!(
        Array::from_vec(Vec::<i32>::new(), &[0])
            .unwrap()
            .to_string(),
        "[]"
    );
}
