//! The JIT (issue 5) against the reference interpreter as the oracle: every primitive at sizes
//! 0..1000 with edge values (NaN, ±inf, ±0, subnormals, large), f32 and f64, bit-exact where the
//! operation is exact; random programs (proptest) plain, batched and differentiated; the jit
//! cache (statistics, recompiles, bound, eviction, clearing), argument checking, threads, and
//! composition with grad/vmap/nested jit.

use cranax::api::jit::signature_of;
use cranax::backend;
use cranax::core::error::or_raise;
use cranax::lax;
use cranax::lax::RoundingMethod;
use cranax::prims::DotGeneral;
use cranax::transform::stage::trace_to_jaxpr;
use cranax::*;
use proptest::prelude::*;

#[path = "support/programs.rs"]
#[allow(dead_code)] // `values` serves the other suites
mod programs;

#[path = "support/exact_programs.rs"]
mod exact_programs;
use exact_programs::{apply_exact, exact_step, ExactStep};

// ---------------------------------------------------------------------------------------------
// the oracle

const SIZES: [usize; 11] = [0, 1, 3, 4, 5, 7, 8, 9, 15, 17, 1000];

/// How closely compiled results must match the interpreter's.
#[derive(Clone, Copy, Debug)]
enum Tol {
    /// Bit for bit (NaNs match NaNs of any payload).
    Exact,
    /// Within this many units in the last place (f32 or f64 ulps).
    Ulp(u64),
    /// `|a - b| <= atol + rtol |b|` (reductions, dots: another summation order).
    Close(f64, f64),
}

/// The tolerance for a result computed in another summation order (reductions, dot products,
/// scatter-add): `f32_tol` in f32, f64 at f64 precision (a few hundred ulps of the magnitudes
/// summed here, and far below what rounding any step to f32 would cost).
fn summation_tol(dt: DType, f32_tol: Tol) -> Tol {
    if dt == DType::F64 {
        Tol::Close(1e-12, 1e-12)
    } else {
        f32_tol
    }
}

fn ulp_distance(a: f64, b: f64, f32s: bool) -> u64 {
    if f32s {
        let key = |x: f32| {
            let i = x.to_bits() as i32;
            if i < 0 {
                i32::MIN as i64 - i as i64
            } else {
                i as i64
            }
        };
        (key(a as f32) - key(b as f32)).unsigned_abs()
    } else {
        let key = |x: f64| {
            let i = x.to_bits() as i64;
            if i < 0 {
                (i64::MIN as i128) - i as i128
            } else {
                i as i128
            }
        };
        (key(a) - key(b)).unsigned_abs() as u64
    }
}

/// The distance in units in the last place of two 16-bit float patterns.
fn half_ulps(a: u64, b: u64) -> u64 {
    let key = |x: u64| {
        let x = x as i64;
        if x & 0x8000 != 0 {
            0x8000 - x
        } else {
            x
        }
    };
    (key(a) - key(b)).unsigned_abs()
}

#[track_caller]
fn assert_matches(what: &str, got: &Array, want: &Array, tol: Tol) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    let (g, w) = (got.data().unwrap(), want.data().unwrap());
    let is_f32 = got.dtype() == DType::F32;
    for i in 0..g.len() {
        let (a, b) = (g.get(i), w.get(i));
        let ok = match (a, b) {
            (Scalar::F32(x), Scalar::F32(y)) if x.is_nan() && y.is_nan() => true,
            (Scalar::F64(x), Scalar::F64(y)) if x.is_nan() && y.is_nan() => true,
            (Scalar::F16(_) | Scalar::BF16(_), _) if a.to_f64().is_nan() && b.to_f64().is_nan() => {
                true
            }
            // The 16-bit floats are computed in f32: an op within a few f32 ulps of the
            // interpreter's may round to the neighbouring 16-bit value, never further.
            (Scalar::F16(_), Scalar::F16(_)) | (Scalar::BF16(_), Scalar::BF16(_)) => match tol {
                Tol::Exact => a.bits() == b.bits(),
                Tol::Ulp(_) => half_ulps(a.bits(), b.bits()) <= 1,
                Tol::Close(rtol, atol) => {
                    let (x, y) = (a.to_f64(), b.to_f64());
                    x == y || (x - y).abs() <= atol + rtol * y.abs()
                }
            },
            (Scalar::F32(_), Scalar::F32(_)) | (Scalar::F64(_), Scalar::F64(_)) => {
                let (x, y) = (a.to_f64(), b.to_f64());
                match tol {
                    Tol::Exact => a.bits() == b.bits(),
                    Tol::Ulp(n) => x == y || ulp_distance(x, y, is_f32) <= n,
                    Tol::Close(rtol, atol) => x == y || (x - y).abs() <= atol + rtol * y.abs(),
                }
            }
            _ => a.bits() == b.bits(),
        };
        assert!(
            ok,
            "{what}: element {i} of {}: jit gave {a:?}, the interpreter {b:?}",
            got.aval()
        );
    }
}

/// Trace `f` at `args`, then compare compiled code with the interpreter.
#[track_caller]
fn check(what: &str, f: &dyn Fn(&[Array]) -> Result<Vec<Array>>, args: &[Array], tol: Tol) {
    let avals: Vec<Aval> = args.iter().map(|a| a.aval().clone()).collect();
    let cj = trace_to_jaxpr(f, &avals).unwrap_or_else(|e| panic!("{what}: tracing: {e}"));
    let want = eval_jaxpr(&cj, args).unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
    let exe = backend::compile(&cj).unwrap_or_else(|e| panic!("{what}: compile: {e}\n{cj}"));
    let got = exe.run(args).unwrap_or_else(|e| panic!("{what}: run: {e}"));
    assert_eq!(got.len(), want.len(), "{what}: number of outputs");
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_matches(&format!("{what} (output {k}) {}", cj), g, w, tol);
    }
}

/// Sums in another summation order, compared by the classic bound: each result is within
/// `(n-1) u sum|v|` of the exact sum (`u` the unit roundoff of the accumulation: f32's for f32,
/// whose vector partial sums are f32, f64's for f64) plus half an ulp for the final rounding, so
/// the two differ by at most twice that. `f` returns the sums, then the sums of magnitudes;
/// where the magnitudes overflow the comparison says nothing and is skipped.
fn check_sum(what: &str, f: &dyn Fn(&[Array]) -> Result<Vec<Array>>, args: &[Array], n: usize) {
    let avals: Vec<Aval> = args.iter().map(|a| a.aval().clone()).collect();
    let cj = trace_to_jaxpr(f, &avals).unwrap_or_else(|e| panic!("{what}: tracing: {e}"));
    let want = eval_jaxpr(&cj, args).unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
    let exe = backend::compile(&cj).unwrap_or_else(|e| panic!("{what}: compile: {e}\n{cj}"));
    let got = exe.run(args).unwrap_or_else(|e| panic!("{what}: run: {e}"));
    let f32s = got[0].dtype() == DType::F32;
    let u = if f32s {
        f32::EPSILON as f64 / 2.0
    } else {
        f64::EPSILON / 2.0
    };
    let (g, w, m) = (
        got[0].to_f64_vec().unwrap(),
        want[0].to_f64_vec().unwrap(),
        want[1].to_f64_vec().unwrap(),
    );
    for i in 0..g.len() {
        if !m[i].is_finite() || (g[i].is_nan() && w[i].is_nan()) {
            continue;
        }
        let bound = 2.0 * (n.saturating_sub(1) as f64 * u * m[i] + u * w[i].abs());
        assert!(
            (g[i] - w[i]).abs() <= bound,
            "{what}: element {i}: jit gave {}, the interpreter {} (bound {bound:e})\n{cj}",
            g[i],
            w[i]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// inputs

const F32_EDGES: [f32; 16] = [
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    0.0,
    -0.0,
    1e-40,  // subnormal
    -1e-45, // smallest subnormal
    f32::MAX,
    -f32::MAX,
    f32::MIN_POSITIVE,
    1.0,
    -1.0,
    0.5,
    -2.5,
    3e9,
    -7e-3,
];

const F64_EDGES: [f64; 16] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    1e-310,
    -5e-324,
    f64::MAX,
    -f64::MAX,
    f64::MIN_POSITIVE,
    1.0,
    -1.0,
    0.5,
    -2.5,
    3e18,
    -7e-3,
];

/// A deterministic pseudo-random stream.
fn lcg(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 11
    }
}

/// `n` values of `dt`: edge values first (when `edges`), then values spread over `[-r, r]`.
fn values(dt: DType, n: usize, seed: u64, edges: bool, r: f64) -> Array {
    let edges_on = |i: usize| edges && i < 16;
    let mut next = lcg(seed);
    let mut unit = move || (next() as f64 / (1u64 << 53) as f64) * 2.0 - 1.0;
    let data = match dt {
        DType::F32 => Data::F32(
            (0..n)
                .map(|i| {
                    if edges && i < F32_EDGES.len() {
                        F32_EDGES[(i + seed as usize) % F32_EDGES.len()]
                    } else {
                        (unit() * r) as f32
                    }
                })
                .collect(),
        ),
        DType::F64 => Data::F64(
            (0..n)
                .map(|i| {
                    if edges && i < F64_EDGES.len() {
                        F64_EDGES[(i + seed as usize) % F64_EDGES.len()]
                    } else {
                        unit() * r
                    }
                })
                .collect(),
        ),
        DType::I32 => {
            let special = [0, 1, -1, i32::MIN, i32::MAX, 31, 32, 33, -32];
            Data::I32(
                (0..n)
                    .map(|i| {
                        if edges && i < special.len() {
                            special[(i + seed as usize) % special.len()]
                        } else {
                            (unit() * r) as i32
                        }
                    })
                    .collect(),
            )
        }
        DType::U32 => {
            let special = [0, 1, u32::MAX, 1 << 31, 31, 32, 33, 7];
            Data::U32(
                (0..n)
                    .map(|i| {
                        if edges && i < special.len() {
                            special[(i + seed as usize) % special.len()]
                        } else {
                            (unit().abs() * r) as u32
                        }
                    })
                    .collect(),
            )
        }
        DType::Bool => Data::Bool((0..n).map(|_| unit() > 0.0).collect()),
        DType::F16 | DType::BF16 => {
            // NaN, ±inf, ±0, subnormals (the smallest), the largest finite values, ties.
            let edges = [
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                0.0,
                -0.0,
                if dt == DType::F16 { 6e-8 } else { 9.2e-41 },
                if dt == DType::F16 { -3e-5 } else { -1e-39 },
                if dt == DType::F16 { 65504.0 } else { 3.38e38 },
                if dt == DType::F16 { -65504.0 } else { -3.38e38 },
                if dt == DType::F16 {
                    6.1035e-5
                } else {
                    1.1755e-38
                },
                1.0,
                -1.0,
                0.5,
                -2.5,
                1000.0,
                -7e-3,
            ];
            let v = (0..n).map(|i| {
                let x = if edges_on(i) {
                    edges[(i + seed as usize) % edges.len()]
                } else {
                    unit() * r
                };
                Scalar::F64(x).convert(dt)
            });
            Data::from_scalars(dt, v)
        }
        int => {
            // 0, ±1, the extremes, shift counts around the width.
            let (lo, hi) = int_range(int);
            let w = int.bits() as i128;
            let special = [0, 1, -1, lo, hi, w - 1, w, w + 1, -w, lo + 1, hi - 1, 7];
            let v = (0..n).map(|i| {
                let x = if edges_on(i) {
                    special[(i + seed as usize) % special.len()]
                } else if int.is_signed_int() {
                    (unit() * r) as i128
                } else {
                    (unit().abs() * r) as i128
                };
                Scalar::from_i128(x, int)
            });
            Data::from_scalars(int, v)
        }
    };
    Array::from_data(data, &[n]).unwrap()
}

fn reshaped(x: &Array, shape: &[usize]) -> Array {
    Array::from_data(x.data().unwrap().clone(), shape).unwrap()
}

/// The smallest and largest values of an integer dtype.
fn int_range(dt: DType) -> (i128, i128) {
    let bits = dt.bits();
    if dt.is_signed_int() {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

const FLOATS: [DType; 4] = [DType::F16, DType::BF16, DType::F32, DType::F64];
/// The floats compiled in vector lanes (and whose rounding tests state f32/f64 values).
const WIDE_FLOATS: [DType; 2] = [DType::F32, DType::F64];
const ALL: [DType; 13] = DType::ALL;
/// The integer dtypes, signed then unsigned.
fn ints() -> impl Iterator<Item = DType> + Clone {
    ALL.into_iter().filter(|d| d.is_int())
}

fn one(r: Result<Array>) -> Result<Vec<Array>> {
    r.map(|a| vec![a])
}

// ---------------------------------------------------------------------------------------------
// elementwise primitives

fn unary_tol(op: &prims::UnaryOp) -> Tol {
    use prims::UnaryOp::*;
    match op {
        Exp | Log | Log1p => Tol::Ulp(3),
        Expm1 | Tanh | Logistic | Sin | Cos => Tol::Ulp(5),
        // f32: both are XLA's ErfInv32 (within 4 ulp of each other: the compiled one fuses its
        // multiply-adds). f64: two Giles forms (compiled: w in double-double), within 8 ulp of
        // each other here; tests/math_reference.rs bounds each against mpmath.
        ErfInv => Tol::Ulp(8),
        Rsqrt => Tol::Ulp(1),
        // Eager: the platform's f64 functions (glibc, musl for the inverse hyperbolics),
        // f32 through f64; compiled: backend::math::elementary's f64 algorithms, f32 through
        // f64. Each within 2 ulp of mpmath (tests/math_reference.rs), so within 4 of each other.
        Tan | Asin | Acos | Atan | Sinh | Cosh | Asinh | Acosh | Atanh | Cbrt | Exp2 => Tol::Ulp(4),
        _ => Tol::Exact,
    }
}

#[test]
fn unary_float_ops_at_every_size() {
    use prims::UnaryOp::*;
    let mut ops: Vec<prims::UnaryOp> = prims::UnaryOp::without_params()
        .into_iter()
        .filter(|op| op.accepts().admits(DType::F64))
        .collect();
    ops.extend([2, 3, -2, 0, 7].map(|y| IntegerPow { y }));
    ops.extend(
        [RoundingMethod::AwayFromZero, RoundingMethod::ToNearestEven]
            .map(|rounding_method| Round { rounding_method }),
    );
    for dt in FLOATS {
        for &n in &SIZES {
            for op in &ops {
                // erf_inv, asin, acos and atanh live on [-1, 1]; the others see the whole range.
                let r = if matches!(op, ErfInv | Asin | Acos | Atanh) {
                    1.0
                } else {
                    40.0
                };
                let mut x = values(dt, n, n as u64 + 3, true, r);
                if matches!(op, Sin | Cos | Tan) {
                    // backend::math documents its sin/cos accuracy for |x| <= 1e5 (no Payne-Hanek
                    // reduction for huge arguments); NaN and ±inf still go through.
                    let clip = |v: f64| if v.is_finite() { v.clamp(-1e5, 1e5) } else { v };
                    let v: Vec<f64> = x.to_f64_vec().unwrap().into_iter().map(clip).collect();
                    x = lax::convert_element_type(&Array::from_vec(v, &[n]).unwrap(), dt).unwrap();
                }
                let f = |a: &[Array]| {
                    one(core::trace::bind1(
                        prims::Prim::Unary(op.clone()),
                        std::slice::from_ref(&a[0]),
                    ))
                };
                check(&format!("{} {dt}[{n}]", op.name()), &f, &[x], unary_tol(op));
            }
        }
    }
}

/// Halfway cases, signed zeros and the largest fractional floats, compiled and interpreted,
/// against the values IEEE (and JAX: tests/numpy_vs_jax.rs) gives.
#[test]
fn rounding_ties_and_signed_zeros() {
    let x = [
        0.5,
        1.5,
        2.5,
        -0.5,
        -2.5,
        0.499_999_97,
        -0.3,
        -0.0,
        8_388_607.5,
        1e30,
    ];
    let even = [
        0.0,
        2.0,
        2.0,
        -0.0,
        -2.0,
        0.0,
        -0.0,
        -0.0,
        8_388_608.0,
        1e30,
    ];
    let away = [
        1.0,
        2.0,
        3.0,
        -1.0,
        -3.0,
        0.0,
        -0.0,
        -0.0,
        8_388_608.0,
        1e30,
    ];
    for dt in FLOATS {
        for n in [x.len(), 3 * x.len() + 1] {
            let xs: Vec<f64> = (0..n).map(|i| x[i % x.len()]).collect();
            let input = lax::convert_element_type(&Array::from_vec(xs, &[n]).unwrap(), dt).unwrap();
            for (method, want) in [
                (RoundingMethod::ToNearestEven, even),
                (RoundingMethod::AwayFromZero, away),
            ] {
                let f = move |a: &[Array]| one(lax::round(&a[0], method));
                check(
                    &format!("round {method:?} {dt}[{n}]"),
                    &f,
                    std::slice::from_ref(&input),
                    Tol::Exact,
                );
                let got = jit(move |a: &Array| lax::round(a, method).unwrap())
                    .call((input.clone(),))
                    .unwrap()
                    .to_f64_vec()
                    .unwrap();
                if dt.is_half() {
                    continue; // checked against the interpreter above
                }
                for (i, g) in got.iter().enumerate() {
                    let w = want[i % x.len()] as f32 as f64;
                    let w = if dt == DType::F32 {
                        w
                    } else {
                        want[i % x.len()]
                    };
                    assert!(
                        g.to_bits() == w.to_bits(),
                        "round {method:?} {dt} of {}: {g} want {w}",
                        x[i % x.len()]
                    );
                }
            }
        }
    }
}

#[test]
fn unary_integer_and_bool_ops() {
    use prims::UnaryOp::*;
    for dt in ints() {
        for &n in &SIZES {
            let int_ops = prims::UnaryOp::without_params()
                .into_iter()
                .filter(|op| op.accepts().admits(dt))
                .chain([IntegerPow { y: 3 }, IntegerPow { y: 0 }]);
            for op in int_ops {
                let x = values(dt, n, n as u64, true, 1e5);
                let f = |a: &[Array]| {
                    one(core::trace::bind1(
                        prims::Prim::Unary(op.clone()),
                        std::slice::from_ref(&a[0]),
                    ))
                };
                check(&format!("{} {dt}[{n}]", op.name()), &f, &[x], Tol::Exact);
            }
        }
    }
    for &n in &SIZES {
        let x = values(DType::Bool, n, 1, true, 1.0);
        check("not bool", &|a| one(lax::not(&a[0])), &[x], Tol::Exact);
    }
}

#[test]
fn conversions_between_every_pair_of_dtypes() {
    for from in ALL {
        for to in ALL {
            for &n in &SIZES {
                let x = values(from, n, n as u64 + 1, true, 3e9);
                check(
                    &format!("convert {from}->{to} [{n}]"),
                    &|a| one(lax::convert_element_type(&a[0], to)),
                    &[x],
                    Tol::Exact,
                );
            }
        }
    }
    for (from, to) in [
        (DType::F32, DType::I32),
        (DType::F32, DType::U32),
        (DType::I32, DType::F32),
        (DType::U32, DType::F32),
        (DType::I32, DType::U32),
        (DType::U32, DType::I32),
    ] {
        for &n in &SIZES {
            let x = values(from, n, 5, true, 1e6);
            check(
                &format!("bitcast {from}->{to} [{n}]"),
                &|a| one(lax::bitcast_convert_type(&a[0], to)),
                &[x],
                Tol::Exact,
            );
        }
    }
}

#[test]
fn an_f32_multiply_add_formed_in_f64_keeps_its_bits_at_every_size() {
    // `random`'s emulated f32 fma: converts, an f64 multiply and add, one rounding back to
    // f32. The backend folds it into one node and vectorises the loop around it (with a
    // literal operand, and with the product by 1.0 that `simplify` drops).
    let wide = |x: &Array| lax::convert_element_type(x, DType::F64);
    let fma = |a: &Array, b: &Array, c: &Array| -> Result<Array> {
        let sum = lax::add(&lax::mul(&wide(a)?, &wide(b)?)?, &wide(c)?)?;
        lax::convert_element_type(&sum, DType::F32)
    };
    for &n in &SIZES {
        let (a, b, c) = (
            values(DType::F32, n, 3, true, 1e3),
            values(DType::F32, n, 4, true, 1e3),
            values(DType::F32, n, 5, true, 1e6),
        );
        check(
            &format!("fma [{n}]"),
            &|x| one(fma(&x[0], &x[1], &x[2])),
            &[a.clone(), b, c.clone()],
            Tol::Exact,
        );
        check(
            &format!("fma with literals [{n}]"),
            &|x| {
                let y = fma(&x[0], &Array::from(0.3f32), &x[1])?;
                one(fma(&y, &Array::from(1.0f32), &x[1]))
            },
            &[a, c],
            Tol::Exact,
        );
    }
}

#[test]
fn binary_ops_at_every_size_and_dtype() {
    use prims::BinaryOp::*;
    for dt in ALL {
        let ops = prims::BinaryOp::ALL
            .iter()
            .filter(|op| op.accepts().admits(dt));
        for &n in &SIZES {
            for op in ops.clone() {
                let tol = match op {
                    Pow => Tol::Ulp(4),
                    // glibc's atan2 against backend::math::elementary's (each within 1.25 ulp).
                    Atan2 => Tol::Ulp(3),
                    _ => Tol::Exact,
                };
                let r = if matches!(op, ShiftLeft | ShiftRightLogical | ShiftRightArithmetic) {
                    40.0
                } else {
                    1e3
                };
                let x = values(dt, n, n as u64 + 7, true, 1e3);
                let y = values(dt, n, n as u64 + 2, true, r);
                let f = |a: &[Array]| {
                    one(core::trace::bind1(
                        prims::Prim::Binary(op.clone()),
                        &[a[0].clone(), a[1].clone()],
                    ))
                };
                let name = format!("{} {dt}[{n}]", op.name());
                check(&name, &f, &[x.clone(), y.clone()], tol);
                // A scalar operand on either side (uniform across vector lanes).
                if n > 0 {
                    let s = reshaped(&values(dt, 1, n as u64 + 11, false, r), &[]);
                    check(
                        &format!("{name} with scalar rhs"),
                        &f,
                        &[x.clone(), s.clone()],
                        tol,
                    );
                    check(&format!("{name} with scalar lhs"), &f, &[s, y], tol);
                }
            }
        }
    }
}

#[test]
fn integer_division_and_shift_edge_cases() {
    let x = Array::from_slice(&[7i32, -7, i32::MIN, i32::MIN, 5, 0, -1, 3]);
    let y = Array::from_slice(&[2i32, 2, -1, 0, 0, 0, 32, -1]);
    check(
        "div i32",
        &|a| one(lax::div(&a[0], &a[1])),
        &[x.clone(), y.clone()],
        Tol::Exact,
    );
    check(
        "shl i32",
        &|a| one(lax::shift_left(&a[0], &a[1])),
        &[x.clone(), y.clone()],
        Tol::Exact,
    );
    check(
        "shr i32",
        &|a| one(lax::shift_right_logical(&a[0], &a[1])),
        &[x.clone(), y.clone()],
        Tol::Exact,
    );
    check(
        "rem i32",
        &|a| one(lax::rem(&a[0], &a[1])),
        &[x.clone(), y.clone()],
        Tol::Exact,
    );
    // XLA's rules, which the interpreter implements: x rem 0 = x, INT_MIN rem -1 = 0.
    let r = jit(|a: &Array, b: &Array| lax::rem(a, b).unwrap())
        .call((x.clone(), y.clone()))
        .unwrap();
    assert_eq!(
        r.to_vec::<i32>().unwrap(),
        vec![1, -1, 0, i32::MIN, 5, 0, -1, 0]
    );
    // Arithmetic shifts by 32 or more fill with the sign (uniform amounts vectorise).
    for amount in [0, 1, 31, 32, 40, -1] {
        let s = Array::scalar(amount);
        check(
            &format!("sar i32 by {amount}"),
            &|a| one(lax::shift_right_arithmetic(&a[0], &a[1])),
            &[x.clone(), s],
            Tol::Exact,
        );
    }
    check(
        "sar i32",
        &|a| one(lax::shift_right_arithmetic(&a[0], &a[1])),
        &[x, y],
        Tol::Exact,
    );
    let x = Array::from_slice(&[7u32, u32::MAX, 0, 9]);
    let y = Array::from_slice(&[0u32, 2, 0, 33]);
    check(
        "div u32",
        &|a| one(lax::div(&a[0], &a[1])),
        &[x.clone(), y.clone()],
        Tol::Exact,
    );
    check(
        "shl u32",
        &|a| one(lax::shift_left(&a[0], &a[1])),
        &[x, y],
        Tol::Exact,
    );
    // Spot checks of the semantics themselves.
    let exe = |f: &dyn Fn(&[Array]) -> Result<Vec<Array>>, args: &[Array]| {
        let avals: Vec<Aval> = args.iter().map(|a| a.aval().clone()).collect();
        let cj = trace_to_jaxpr(f, &avals).unwrap();
        backend::compile(&cj).unwrap().run(args).unwrap()
    };
    let r = exe(
        &|a| one(lax::div(&a[0], &a[1])),
        &[
            Array::from_slice(&[i32::MIN, 3]),
            Array::from_slice(&[-1i32, 0]),
        ],
    );
    assert_eq!(r[0].to_vec::<i32>().unwrap(), vec![i32::MIN, -1]);
    let r = exe(
        &|a| one(lax::max(&a[0], &a[1])),
        &[
            Array::from_slice(&[0.0f32, -0.0, f32::NAN]),
            Array::from_slice(&[-0.0f32, 0.0, 1.0]),
        ],
    );
    let v = r[0].to_vec::<f32>().unwrap();
    assert!(v[0].to_bits() == 0 && v[1].to_bits() == 0 && v[2].is_nan());
}

/// Every integer dtype: XLA's division and remainder by 0 and of MIN by -1, and shifts by
/// every amount around the width (below, at, above, "negative"), operand and amount aligned.
#[test]
fn integer_division_and_shifts_in_every_width() {
    for dt in ints() {
        let (lo, hi) = int_range(dt);
        let w = dt.bits() as i128;
        let s = |v: &[i128]| {
            let data = Data::from_scalars(dt, v.iter().map(|&x| Scalar::from_i128(x, dt)));
            Array::from_data(data, &[v.len()]).unwrap()
        };
        let x = s(&[lo, lo, 7, -7, 5, hi, -1, 0, lo + 1, hi]);
        let y = s(&[-1, 0, 0, 2, -1, -1, 3, 0, -1, hi]);
        for (name, f) in [
            ("div", lax::div as fn(&Array, &Array) -> Result<Array>),
            ("rem", lax::rem),
            ("max", lax::max),
            ("min", lax::min),
            ("mul", lax::mul),
            ("add", lax::add),
            ("lt", lax::lt),
        ] {
            check(
                &format!("{name} {dt} edges"),
                &|a| one(f(&a[0], &a[1])),
                &[x.clone(), y.clone()],
                Tol::Exact,
            );
        }
        // The semantics themselves: x / 0 is all ones, MIN / -1 is MIN, x rem 0 is x.
        let q = jit(|a: &Array, b: &Array| lax::div(a, b).unwrap())
            .call((x.clone(), y.clone()))
            .unwrap();
        let q = q.data().unwrap();
        assert_eq!(
            q.get(1).to_i128(),
            Scalar::from_i128(-1, dt).to_i128(),
            "{dt} x/0"
        );
        if dt.is_signed_int() {
            assert_eq!(q.get(0).to_i128(), lo, "{dt} MIN/-1");
        }
        let amounts: Vec<i128> = [0, 1, w / 2, w - 1, w, w + 1, 2 * w, -1, -w, hi]
            .into_iter()
            .collect();
        let xs: Vec<i128> = (0..amounts.len())
            .map(|i| [lo, hi, -1, 1, lo + 3, 0x55][i % 6])
            .collect();
        let amt = s(&amounts);
        let xv = s(&xs);
        for (name, f) in [
            (
                "shift_left",
                lax::shift_left as fn(&Array, &Array) -> Result<Array>,
            ),
            ("shift_right_logical", lax::shift_right_logical),
            ("shift_right_arithmetic", lax::shift_right_arithmetic),
        ] {
            check(
                &format!("{name} {dt} by every amount"),
                &|a| one(f(&a[0], &a[1])),
                &[xv.clone(), amt.clone()],
                Tol::Exact,
            );
        }
        // A shift by the width: 0 to the left and logically, the sign to the right.
        let by_w = |f: fn(&Array, &Array) -> Result<Array>| {
            let r = jit(move |a: &Array, b: &Array| f(a, b).unwrap())
                .call((s(&[lo, hi]), s(&[w, w])))
                .unwrap();
            let r = r.data().unwrap();
            (r.get(0).to_i128(), r.get(1).to_i128())
        };
        assert_eq!(by_w(lax::shift_left), (0, 0), "{dt} << width");
        assert_eq!(by_w(lax::shift_right_logical), (0, 0), "{dt} >> width");
        // Arithmetic: the bits read as signed, so an unsigned MAX is all ones still.
        let want = if dt.is_signed_int() { (-1, 0) } else { (0, hi) };
        assert_eq!(by_w(lax::shift_right_arithmetic), want, "{dt} sar width");
    }
}

/// vmap over the new dtypes (a batched program of shifts, reductions and 16-bit float math)
/// and a fori_loop carrying an i64 and an f16 (wrapping and rounding every step), compiled
/// against the interpreter.
#[test]
fn batched_and_looping_programs_in_the_new_dtypes() {
    for dt in [DType::I8, DType::U16, DType::I64, DType::U64] {
        for n in [1, 5, 17] {
            let x = reshaped(&values(dt, 4 * n, n as u64, true, 200.0), &[4, n]);
            let one_int = Array::from_data(
                Data::from_scalars(dt, [Scalar::from_i128(1, dt)].into_iter()),
                &[],
            )
            .unwrap();
            let f = |a: &[Array]| {
                let row = |r: &Array| {
                    let t = lax::shift_right_arithmetic(r, &one_int)?;
                    lax::add(&lax::mul(&t, r)?, &lax::reduce_max(r, &[0])?)
                };
                one(vmap(move |r: &Array| row(r).unwrap()).call((a[0].clone(),)))
            };
            check(&format!("vmap {dt}[4,{n}]"), &f, &[x], Tol::Exact);
        }
    }
    for dt in [DType::F16, DType::BF16] {
        for n in [1, 5, 17] {
            let x = reshaped(&values(dt, 4 * n, n as u64, true, 3.0), &[4, n]);
            let f = |a: &[Array]| {
                let row = |r: &Array| {
                    let e = lax::exp(&lax::mul(r, r)?)?;
                    lax::sub(&e, &lax::reduce_sum(&lax::abs(r)?, &[0])?)
                };
                one(vmap(move |r: &Array| row(r).unwrap()).call((a[0].clone(),)))
            };
            check(&format!("vmap {dt}[4,{n}]"), &f, &[x], Tol::Ulp(1));
        }
    }
    let carry = (
        Array::from_vec(vec![3i64, -5, i64::MAX, i64::MIN], &[4]).unwrap(),
        lax::convert_element_type(
            &Array::from_slice(&[0.1f32, -2.5, 1000.0, 6e-5]),
            DType::F16,
        )
        .unwrap(),
    );
    let f = |a: &[Array]| {
        let body = |i: &Array, c: &(Array, Array)| -> Result<(Array, Array)> {
            let i64s = lax::convert_element_type(i, DType::I64)?;
            let k = lax::mul(&c.0, &Array::from_vec(vec![3i64], &[]).unwrap())?;
            let h = lax::convert_element_type(&Array::from(1.5f32), DType::F16)?;
            let q = lax::convert_element_type(&Array::from(0.25f32), DType::F16)?;
            Ok((lax::add(&k, &i64s)?, lax::sub(&lax::mul(&c.1, &h)?, &q)?))
        };
        let (p, q) = fori_loop(0, 9, body, (a[0].clone(), a[1].clone()))?;
        Ok(vec![p, q])
    };
    check(
        "fori_loop carrying i64 and f16",
        &f,
        &[carry.0, carry.1],
        Tol::Exact,
    );
}

/// Dynamic slices, gathers and scatters with start indices of every integer dtype, far out of
/// range included (a 64-bit index beyond i32's range must clamp, not wrap).
#[test]
fn indices_of_every_integer_dtype() {
    for dt in [DType::F32, DType::F16, DType::I64, DType::U8, DType::BF16] {
        let n = 9;
        let x = reshaped(&values(dt, 3 * n, 4, true, 100.0), &[3, n]);
        for idt in [DType::I32].into_iter().chain(ints()) {
            let (lo, hi) = int_range(idt);
            for start in [0, 2, 7, -3, 1 << 33, -(1 << 33) - 1, lo, hi] {
                let s = Array::from_data(
                    Data::from_scalars(idt, [Scalar::from_i128(start, idt)].into_iter()),
                    &[],
                )
                .unwrap();
                check(
                    &format!("dynamic_slice {dt} at {idt} {start}"),
                    &|a| {
                        one(lax::dynamic_slice(
                            &a[0],
                            &[a[1].clone(), a[1].clone()],
                            &[2, 4],
                        ))
                    },
                    &[x.clone(), s.clone()],
                    Tol::Exact,
                );
                let u = reshaped(&values(dt, 8, 7, false, 9.0), &[2, 4]);
                check(
                    &format!("dynamic_update_slice {dt} at {idt} {start}"),
                    &|a| {
                        one(lax::dynamic_update_slice(
                            &a[0],
                            &a[1],
                            &[a[2].clone(), a[2].clone()],
                        ))
                    },
                    &[x.clone(), u, s],
                    Tol::Exact,
                );
            }
            let idx: Vec<Scalar> = [0, 1 << 40, 2, -1, 5, hi, lo, 8]
                .iter()
                .map(|&v| Scalar::from_i128(v, idt))
                .collect();
            let idx = Array::from_data(Data::from_scalars(idt, idx.into_iter()), &[8]).unwrap();
            check(
                &format!("gather {dt} at {idt}"),
                &|a| one(lax::take_clamped(&a[0], &a[1], 1)),
                &[x.clone(), idx.clone()],
                Tol::Exact,
            );
            let upd = reshaped(&values(dt, 3 * 8, 5, false, 9.0), &[3, 8]);
            check(
                &format!("scatter-add {dt} at {idt}"),
                &|a| one(lax::scatter_add_clamped(&a[0], &a[1], &a[2], 1)),
                &[x.clone(), idx, upd],
                Tol::Exact,
            );
        }
    }
}

/// Windows and convolutions (graph nodes of reductions, pads and products) in the new
/// dtypes: 16-bit floats through f32, integers in their width.
#[test]
fn windows_and_convolutions_in_the_new_dtypes() {
    use cranax::lax::{reduce_window_max, reduce_window_min, reduce_window_sum, Padding, Window};
    for dt in [
        DType::F16,
        DType::BF16,
        DType::I8,
        DType::U16,
        DType::I64,
        DType::U64,
    ] {
        let x = reshaped(&values(dt, 5 * 7, 2, true, 20.0), &[5, 7]);
        let w = Window::new(&[2, 3]);
        for (name, f) in [
            (
                "sum",
                reduce_window_sum as fn(&Array, &Window) -> Result<Array>,
            ),
            ("max", reduce_window_max),
            ("min", reduce_window_min),
        ] {
            check(
                &format!("reduce_window_{name} {dt}"),
                &|a| one(f(&a[0], &w)),
                std::slice::from_ref(&x),
                Tol::Exact,
            );
        }
    }
    for dt in [DType::F16, DType::BF16, DType::I16] {
        let lhs = reshaped(&values(dt, 2 * 3 * 9, 3, false, 4.0), &[2, 3, 9]);
        let rhs = reshaped(&values(dt, 4 * 3 * 2, 4, false, 4.0), &[4, 3, 2]);
        let tol = if dt.is_half() {
            Tol::Ulp(1)
        } else {
            Tol::Exact
        };
        check(
            &format!("conv {dt}"),
            &|a| one(lax::conv(&a[0], &a[1], &[1], Padding::Same)),
            &[lhs, rhs],
            tol,
        );
    }
}

#[test]
fn select_n_with_bool_and_int_predicates() {
    for dt in ALL {
        for &n in &SIZES {
            let p = values(DType::Bool, n, n as u64, false, 1.0);
            let (x, y, z) = (
                values(dt, n, 1, true, 100.0),
                values(dt, n, 2, true, 100.0),
                values(dt, n, 3, true, 100.0),
            );
            check(
                &format!("select_n bool {dt}[{n}]"),
                &|a| one(lax::select_n(&a[0], &[a[1].clone(), a[2].clone()])),
                &[p, x.clone(), y.clone()],
                Tol::Exact,
            );
            let w = values(DType::I32, n, 4, false, 4.0); // -4..4: clamped into 0..2
            check(
                &format!("select_n i32 {dt}[{n}]"),
                &|a| {
                    one(lax::select_n(
                        &a[0],
                        &[a[1].clone(), a[2].clone(), a[3].clone()],
                    ))
                },
                &[w, x.clone(), y.clone(), z],
                Tol::Exact,
            );
            if n > 0 {
                let ps = Array::scalar(true);
                check(
                    &format!("select_n scalar predicate {dt}[{n}]"),
                    &|a| one(lax::select_n(&a[0], &[a[1].clone(), a[2].clone()])),
                    &[ps, x, y],
                    Tol::Exact,
                );
            }
        }
    }
}

#[test]
fn threefry_is_bit_exact() {
    for &n in &SIZES {
        let k0 = values(DType::U32, n, 1, true, 4e9);
        let k1 = values(DType::U32, n, 2, true, 4e9);
        let x0 = values(DType::U32, n, 3, true, 4e9);
        let x1 = values(DType::U32, n, 4, true, 4e9);
        let f = |a: &[Array]| {
            let (p, q) = lax::threefry2x32(&a[0], &a[1], &a[2], &a[3])?;
            Ok(vec![p, q])
        };
        check(
            &format!("threefry [{n}]"),
            &f,
            &[k0, k1, x0.clone(), x1.clone()],
            Tol::Exact,
        );
        // Scalar keys (the usual case: one key, many counters).
        let ks = (Array::scalar(0x1319_8a2eu32), Array::scalar(0x0370_7344u32));
        check(
            &format!("threefry scalar keys [{n}]"),
            &f,
            &[ks.0, ks.1, x0, x1],
            Tol::Exact,
        );
    }
}

#[test]
fn iota_in_every_numeric_dtype() {
    for dt in ALL.into_iter().filter(|&d| d != DType::Bool) {
        for &n in &SIZES {
            check(
                &format!("iota {dt}[{n}]"),
                &|_| one(lax::iota(dt, &[n], 0)),
                &[],
                Tol::Exact,
            );
            check(
                &format!("iota {dt}[3,{n}] dim 0 plus x"),
                &|a| {
                    let i = lax::iota(dt, &[3, n], 0)?;
                    let j = lax::iota(dt, &[3, n], 1)?;
                    one(lax::add(
                        &lax::add(&i, &j)?,
                        &lax::broadcast_in_dim(&a[0], &[3, n], &[1])?,
                    ))
                },
                &[lax::convert_element_type(&values(DType::I32, n, 1, false, 50.0), dt).unwrap()],
                Tol::Exact,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// reductions

#[test]
fn reductions_over_every_axis_choice() {
    for dt in ALL.into_iter().filter(|&d| d != DType::Bool) {
        for &n in &SIZES {
            let x = values(dt, 3 * n, n as u64, false, 10.0);
            let x2 = reshaped(&x, &[3, n]);
            let x2t = reshaped(&x, &[n, 3]);
            // 16-bit floats are summed in f64 (exact here) and rounded once, as eager.
            let sum_tol = if dt.is_float() && !dt.is_half() {
                summation_tol(dt, Tol::Close(1e-5, 1e-4))
            } else {
                Tol::Exact
            };
            for (name, arr, axes) in [
                ("[3,n] axis 1", &x2, vec![1]),
                ("[3,n] axis 0", &x2, vec![0]),
                ("[3,n] both", &x2, vec![0, 1]),
                ("[n,3] axis 0", &x2t, vec![0]),
                ("[n,3] axis 1", &x2t, vec![1]),
                ("[3,n] none", &x2, vec![]),
            ] {
                let w = format!("{dt} {name} n={n}");
                check(
                    &format!("sum {w}"),
                    &|a| one(lax::reduce_sum(&a[0], &axes)),
                    std::slice::from_ref(arr),
                    sum_tol,
                );
                check(
                    &format!("max {w}"),
                    &|a| one(lax::reduce_max(&a[0], &axes)),
                    std::slice::from_ref(arr),
                    Tol::Exact,
                );
                check(
                    &format!("min {w}"),
                    &|a| one(lax::reduce_min(&a[0], &axes)),
                    std::slice::from_ref(arr),
                    Tol::Exact,
                );
                if axes.len() == 1 && arr.shape()[axes[0]] > 0 {
                    check(
                        &format!("argmax {w}"),
                        &|a| one(lax::argmax(&a[0], axes[0], DType::I32)),
                        std::slice::from_ref(arr),
                        Tol::Exact,
                    );
                    check(
                        &format!("argmin {w}"),
                        &|a| one(lax::argmin(&a[0], axes[0], DType::I32)),
                        std::slice::from_ref(arr),
                        Tol::Exact,
                    );
                }
            }
        }
    }
}

#[test]
fn products_and_bitwise_reductions() {
    for &n in &SIZES {
        for dt in ALL.into_iter().filter(|&d| d != DType::Bool) {
            // Values near 1 keep float products finite; ints wrap.
            let x = values(
                dt,
                3 * n,
                n as u64 + 7,
                false,
                if dt.is_float() { 1.5 } else { 9.0 },
            );
            for (name, arr, axes) in [
                ("[3,n] axis 1", reshaped(&x, &[3, n]), vec![1]),
                ("[3,n] axis 0", reshaped(&x, &[3, n]), vec![0]),
                ("[n,3] axis 0", reshaped(&x, &[n, 3]), vec![0]),
                ("[3,n] both", reshaped(&x, &[3, n]), vec![0, 1]),
            ] {
                // Vector accumulators multiply in another order: a few ulps per factor.
                // 16-bit floats: scalar code rounding every step in eager's order, exactly.
                let tol = if dt.is_float() && !dt.is_half() {
                    summation_tol(dt, Tol::Close(1e-5, 1e-4))
                } else {
                    Tol::Exact
                };
                check(
                    &format!("prod {dt} {name} n={n}"),
                    &|a| one(lax::reduce_prod(&a[0], &axes)),
                    std::slice::from_ref(&arr),
                    tol,
                );
                if !dt.is_float() {
                    for (op, f) in [
                        (
                            "and",
                            lax::reduce_and as fn(&Array, &[usize]) -> Result<Array>,
                        ),
                        ("or", lax::reduce_or),
                        ("xor", lax::reduce_xor),
                    ] {
                        check(
                            &format!("reduce_{op} {dt} {name} n={n}"),
                            &|a| one(f(&a[0], &axes)),
                            std::slice::from_ref(&arr),
                            Tol::Exact,
                        );
                    }
                }
            }
        }
        // Bools, loaded and computed inline (`x > 0.5`: the vectorised any/all form).
        let b = reshaped(&values(DType::Bool, 2 * n, 5, false, 1.0), &[2, n]);
        let y = reshaped(&values(DType::F32, 2 * n, 6, false, 1.0), &[2, n]);
        for axes in [vec![0], vec![1], vec![0, 1]] {
            for (op, f) in [
                (
                    "and",
                    lax::reduce_and as fn(&Array, &[usize]) -> Result<Array>,
                ),
                ("or", lax::reduce_or),
                ("xor", lax::reduce_xor),
            ] {
                check(
                    &format!("reduce_{op} bool {axes:?} n={n}"),
                    &|a| one(f(&a[0], &axes)),
                    std::slice::from_ref(&b),
                    Tol::Exact,
                );
                check(
                    &format!("reduce_{op} of x > 0.5 {axes:?} n={n}"),
                    &|a| one(f(&lax::gt(&a[0], &Array::from(0.5f32))?, &axes)),
                    std::slice::from_ref(&y),
                    Tol::Exact,
                );
            }
        }
        // Products with zeros of both signs, ±inf and NaN among values near 1 (no overflow,
        // so the order of the factors cannot change which special value results).
        for dt in FLOATS {
            let specials = [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
            for (k, &v) in specials.iter().enumerate() {
                let mut d: Vec<f64> = (0..n).map(|i| 0.9 + 0.01 * (i % 20) as f64).collect();
                for i in (k..n).step_by(7) {
                    d[i] = if i % 2 == 0 { v } else { -v };
                }
                let e = lax::convert_element_type(&Array::from_slice(&d), dt).unwrap();
                check(
                    &format!("prod with {v} n={n}"),
                    &|a| one(lax::reduce_prod(&a[0], &[0])),
                    std::slice::from_ref(&e),
                    summation_tol(dt, Tol::Close(1e-5, 1e-4)),
                );
            }
        }
    }
}

#[test]
fn cumulative_reductions_along_every_axis() {
    type Scan = fn(&Array, usize, bool) -> Result<Array>;
    let scans: [(&str, Scan); 5] = [
        ("cumsum", lax::cumsum),
        ("cumprod", lax::cumprod),
        ("cummax", lax::cummax),
        ("cummin", lax::cummin),
        ("cumlogsumexp", lax::cumlogsumexp),
    ];
    for &n in &SIZES {
        for dt in ALL.into_iter().filter(|&d| d != DType::Bool) {
            // Edge values (NaN, ±inf, ±0, ties) for floats; products of values near 1.
            let x = values(
                dt,
                3 * n,
                n as u64 + 3,
                dt.is_float(),
                if dt.is_float() { 1.2 } else { 9.0 },
            );
            for (name, arr, axis) in [
                ("[3,n] axis 1", reshaped(&x, &[3, n]), 1),
                ("[3,n] axis 0", reshaped(&x, &[3, n]), 0),
                ("[n,3] axis 0", reshaped(&x, &[n, 3]), 0),
                ("[n] axis 0", x.clone(), 0),
            ] {
                for (op, f) in scans {
                    if op == "cumlogsumexp" && !dt.is_float() {
                        continue;
                    }
                    // The same scalar steps in the same order: exact, but for cumlogsumexp's
                    // exp/log1p (compiled polynomials against the libm of eager code), whose
                    // `max + log1p(..)` cancels near 0: a few eps of the operands absolutely.
                    let eps = if dt == DType::F32 {
                        f32::EPSILON as f64
                    } else {
                        f64::EPSILON
                    };
                    let tol = if op == "cumlogsumexp" && dt.is_half() {
                        // f32 steps within a few f32 eps: at most one 16-bit rounding apart.
                        Tol::Ulp(1)
                    } else if op == "cumlogsumexp" {
                        Tol::Close(4.0 * eps, 4.0 * eps)
                    } else {
                        Tol::Exact
                    };
                    for reverse in [false, true] {
                        check(
                            &format!("{op} reverse={reverse} {dt} {name} n={n}"),
                            &|a| one(f(&a[0], axis, reverse)),
                            std::slice::from_ref(&arr),
                            tol,
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn sort_and_argsort_with_ties_and_edges() {
    for &n in &SIZES {
        for dt in ALL {
            // Few distinct values (ties), and NaN, ±inf, ±0 for floats.
            let x = values(dt, 3 * n, n as u64 + 11, dt.is_float(), 3.0);
            let x = if dt.is_float() {
                lax::round(&x, lax::RoundingMethod::ToNearestEven).unwrap()
            } else {
                x
            };
            for (name, arr, dim) in [
                ("[3,n] dim 1", reshaped(&x, &[3, n]), 1),
                ("[3,n] dim 0", reshaped(&x, &[3, n]), 0),
                ("[n,3] dim 0", reshaped(&x, &[n, 3]), 0),
            ] {
                check(
                    &format!("sort {dt} {name} n={n}"),
                    &|a| lax::sort(&a[..1], dim, true, 1),
                    std::slice::from_ref(&arr),
                    Tol::Exact,
                );
                if dim == 1 && n >= 2 {
                    check(
                        &format!("top_k 2 {dt} {name} n={n}"),
                        &|a| {
                            let (v, i) = lax::top_k(&a[0], 2)?;
                            Ok(vec![v, i])
                        },
                        std::slice::from_ref(&arr),
                        Tol::Exact,
                    );
                }
                for descending in [false, true] {
                    check(
                        &format!("argsort descending={descending} {dt} {name} n={n}"),
                        &|a| one(lax::argsort_along(&a[0], dim, descending)),
                        std::slice::from_ref(&arr),
                        Tol::Exact,
                    );
                }
            }
        }
    }
}

#[test]
fn reductions_with_edge_values() {
    for dt in FLOATS {
        for &n in &SIZES {
            // NaN, ±inf and ±0 among the values: max/min/argmax/argmin exactly.
            let x = values(dt, n, n as u64, true, 10.0);
            if n > 0 {
                check(
                    "argmax edges",
                    &|a| one(lax::argmax(&a[0], 0, DType::I32)),
                    std::slice::from_ref(&x),
                    Tol::Exact,
                );
                check(
                    "argmin edges",
                    &|a| one(lax::argmin(&a[0], 0, DType::I32)),
                    std::slice::from_ref(&x),
                    Tol::Exact,
                );
            }
            check(
                "max edges",
                &|a| one(lax::reduce_max(&a[0], &[0])),
                std::slice::from_ref(&x),
                Tol::Exact,
            );
            check(
                "min edges",
                &|a| one(lax::reduce_min(&a[0], &[0])),
                std::slice::from_ref(&x),
                Tol::Exact,
            );
            let zeros = reshaped(
                &lax::convert_element_type(&Array::from_slice(&vec![-0.0f64; n]), dt).unwrap(),
                &[n],
            );
            check(
                "sum of -0",
                &|a| one(lax::reduce_sum(&a[0], &[0])),
                &[zeros],
                Tol::Exact,
            );
        }
    }
    for &n in &SIZES {
        let b = values(DType::Bool, 2 * n, 3, false, 1.0);
        let b = reshaped(&b, &[2, n]);
        for axes in [vec![0], vec![1], vec![0, 1]] {
            check(
                "max bool",
                &|a| one(lax::reduce_max(&a[0], &axes)),
                std::slice::from_ref(&b),
                Tol::Exact,
            );
            check(
                "min bool",
                &|a| one(lax::reduce_min(&a[0], &axes)),
                std::slice::from_ref(&b),
                Tol::Exact,
            );
        }
    }
}

#[test]
fn fused_reduction_of_an_elementwise_expression() {
    for &n in &SIZES {
        let x = values(DType::F32, n, 1, false, 2.0);
        let y = values(DType::F32, n, 2, false, 2.0);
        check(
            "sum(x*y + sin x)",
            &|a| {
                let t = lax::add(&lax::mul(&a[0], &a[1])?, &lax::sin(&a[0])?)?;
                one(lax::reduce_sum(&t, &[0]))
            },
            &[x, y],
            Tol::Close(1e-5, 1e-4),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// layout and indexing

/// A named program and its arguments.
type Case = (
    &'static str,
    Box<dyn Fn(&[Array]) -> Result<Vec<Array>>>,
    Vec<Array>,
);

#[test]
fn shape_ops_at_every_size() {
    for dt in ALL {
        for &n in &SIZES {
            let x = values(dt, 2 * n, n as u64, true, 100.0);
            let x2 = reshaped(&x, &[2, n]);
            let v = values(dt, n, 9, true, 100.0);
            let cases: Vec<Case> = vec![
                (
                    "broadcast row",
                    Box::new(move |a: &[Array]| one(lax::broadcast_in_dim(&a[0], &[3, n], &[1]))),
                    vec![v.clone()],
                ),
                (
                    "broadcast col",
                    Box::new(move |a: &[Array]| one(lax::broadcast_in_dim(&a[0], &[n, 3], &[0]))),
                    vec![v.clone()],
                ),
                (
                    "broadcast scalar",
                    Box::new(move |a: &[Array]| one(lax::broadcast_in_dim(&a[0], &[2, n], &[]))),
                    vec![reshaped(&values(dt, 1, 4, false, 9.0), &[])],
                ),
                (
                    "transpose",
                    Box::new(|a: &[Array]| one(lax::transpose(&a[0], &[1, 0]))),
                    vec![x2.clone()],
                ),
                (
                    "reshape merge",
                    Box::new(move |a: &[Array]| one(lax::reshape(&a[0], &[2 * n]))),
                    vec![x2.clone()],
                ),
                (
                    "reshape of transpose",
                    Box::new(move |a: &[Array]| {
                        one(lax::reshape(&lax::transpose(&a[0], &[1, 0])?, &[2 * n]))
                    }),
                    vec![x2.clone()],
                ),
                (
                    "reshape split",
                    Box::new(move |a: &[Array]| one(lax::reshape(&a[0], &[n, 1, 2]))),
                    vec![x.clone()],
                ),
                (
                    "squeeze",
                    Box::new(move |a: &[Array]| {
                        one(lax::squeeze(&lax::reshape(&a[0], &[1, n, 1])?, &[0, 2]))
                    }),
                    vec![v.clone()],
                ),
                (
                    "concatenate",
                    Box::new(|a: &[Array]| {
                        one(lax::concatenate(
                            &[a[0].clone(), a[1].clone(), a[0].clone()],
                            1,
                        ))
                    }),
                    vec![x2.clone(), x2.clone()],
                ),
                (
                    "concatenate axis 0",
                    Box::new(|a: &[Array]| one(lax::concatenate(&[a[0].clone(), a[1].clone()], 0))),
                    vec![x2.clone(), x2.clone()],
                ),
                (
                    "slice strided",
                    Box::new(move |a: &[Array]| {
                        one(lax::slice(&a[0], &[0, n / 3], &[2, n], Some(&[1, 2])))
                    }),
                    vec![x2.clone()],
                ),
                (
                    "pad",
                    Box::new(|a: &[Array]| one(lax::pad(&a[0], &a[1], &[(1, 2, 0), (0, 1, 2)]))),
                    vec![x2.clone(), reshaped(&values(dt, 1, 3, false, 5.0), &[])],
                ),
                (
                    "rev-like transpose chain",
                    Box::new(|a: &[Array]| {
                        one(lax::transpose(&lax::transpose(&a[0], &[1, 0])?, &[1, 0]))
                    }),
                    vec![x2.clone()],
                ),
            ];
            for (name, f, args) in cases {
                check(&format!("{name} {dt}[{n}]"), &*f, &args, Tol::Exact);
            }
        }
    }
}

#[test]
fn dynamic_indexing_clamps() {
    for dt in [DType::F32, DType::I32, DType::F64] {
        for &n in &SIZES {
            let x = reshaped(&values(dt, 3 * n, n as u64, true, 100.0), &[3, n]);
            let len = n.min(4);
            for start in [-5i32, 0, 1, 2, 1000] {
                let s0 = Array::scalar(start);
                let s1 = Array::scalar(start.wrapping_mul(3));
                check(
                    &format!("dynamic_slice {dt}[3,{n}] at {start}"),
                    &|a| {
                        one(lax::dynamic_slice(
                            &a[0],
                            &[a[1].clone(), a[2].clone()],
                            &[2, len],
                        ))
                    },
                    &[x.clone(), s0.clone(), s1.clone()],
                    Tol::Exact,
                );
                let u = reshaped(&values(dt, 2 * len, 7, false, 9.0), &[2, len]);
                check(
                    &format!("dynamic_update_slice {dt}[3,{n}] at {start}"),
                    &|a| {
                        one(lax::dynamic_update_slice(
                            &a[0],
                            &a[1],
                            &[a[2].clone(), a[3].clone()],
                        ))
                    },
                    &[x.clone(), u, s0, s1],
                    Tol::Exact,
                );
            }
            if n > 0 {
                let idx = Array::from_slice(&[0i32, -3, 2, 1000, 1, 1, n as i32 - 1]);
                check(
                    &format!("gather axis 1 {dt}[3,{n}]"),
                    &|a| one(lax::take_clamped(&a[0], &a[1], 1)),
                    &[x.clone(), idx.clone()],
                    Tol::Exact,
                );
                let idx0 = Array::from_slice(&[2u32, 0, 7, 1]);
                check(
                    &format!("gather axis 0 {dt}[3,{n}]"),
                    &|a| one(lax::take_clamped(&a[0], &a[1], 0)),
                    &[x.clone(), idx0.clone()],
                    Tol::Exact,
                );
                let tol = if dt.is_float() {
                    summation_tol(dt, Tol::Close(1e-6, 1e-5))
                } else {
                    Tol::Exact
                };
                let upd = reshaped(&values(dt, 3 * 7, 5, false, 9.0), &[3, 7]);
                check(
                    &format!("scatter-add axis 1 {dt}[3,{n}]"),
                    &|a| one(lax::scatter_add_clamped(&a[0], &a[1], &a[2], 1)),
                    &[x.clone(), idx, upd],
                    tol,
                );
                let upd0 = reshaped(&values(dt, 4 * n, 6, false, 9.0), &[4, n]);
                check(
                    &format!("scatter-add axis 0 {dt}[3,{n}]"),
                    &|a| one(lax::scatter_add_clamped(&a[0], &a[1], &a[2], 0)),
                    &[x.clone(), idx0, upd0],
                    tol,
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dot_general

/// `dot_general` in every numeric dtype: integers wrap in their width (a loop), the 16-bit
/// floats multiply as f32 (gemm, or the fused loops of a thin product) and round once.
#[test]
fn dot_general_in_every_dtype() {
    for dt in ALL.into_iter().filter(|&d| d != DType::Bool) {
        // Edge values for integers (wrapping is exact in any order); floats overflow or not
        // depending on the summation order, so they get finite values.
        let edges = !dt.is_float();
        for (m, k, n) in [(3, 5, 4), (1, 7, 3), (4, 6, 1), (2, 1, 2)] {
            let a = reshaped(&values(dt, m * k, 3, edges, 50.0), &[m, k]);
            let b = reshaped(&values(dt, k * n, 4, edges, 50.0), &[k, n]);
            // Within a 16-bit rounding of each other where the f32 sums differ in order.
            let tol = if dt.is_half() {
                Tol::Ulp(1)
            } else if dt.is_float() {
                summation_tol(dt, Tol::Close(1e-5, 1e-4))
            } else {
                Tol::Exact
            };
            check(
                &format!("matmul {dt} {m}x{k}x{n}"),
                &|x| {
                    let d = DotGeneral {
                        lhs_contracting: vec![1],
                        rhs_contracting: vec![0],
                        lhs_batch: vec![],
                        rhs_batch: vec![],
                        preferred_element_type: None,
                    };
                    one(lax::dot_general(&x[0], &x[1], d))
                },
                &[a.clone(), b.clone()],
                tol,
            );
            let bt = reshaped(&values(dt, 2 * n * k, 5, edges, 50.0), &[2, n, k]);
            let a2 = reshaped(&values(dt, 2 * m * k, 6, edges, 50.0), &[2, m, k]);
            let d = DotGeneral {
                lhs_contracting: vec![2],
                rhs_contracting: vec![2],
                lhs_batch: vec![0],
                rhs_batch: vec![0],
                preferred_element_type: None,
            };
            check(
                &format!("batched dot_general {dt} {m}x{k}x{n}"),
                &|x| one(lax::dot_general(&x[0], &x[1], d.clone())),
                &[a2, bt],
                tol,
            );
        }
    }
}

#[test]
fn dot_general_canonicalises_and_calls_gemm() {
    let dims = |lc: &[usize], rc: &[usize], lb: &[usize], rb: &[usize]| DotGeneral {
        lhs_contracting: lc.to_vec(),
        rhs_contracting: rc.to_vec(),
        lhs_batch: lb.to_vec(),
        rhs_batch: rb.to_vec(),
        preferred_element_type: None,
    };
    for dt in [DType::F32, DType::F64, DType::I32] {
        let tol = if dt.is_float() {
            summation_tol(dt, Tol::Close(1e-5, 1e-5))
        } else {
            Tol::Exact
        };
        for (m, k, n) in [
            (0, 3, 2),
            (2, 0, 3),
            (1, 1, 1),
            (3, 4, 5),
            (7, 9, 8),
            (17, 15, 16),
            (33, 64, 5),
            // Thin products, compiled as fused loops rather than gemm calls: vector-matrix,
            // matrix-vector, outer product.
            (1, 9, 8),
            (1, 64, 33),
            (1, 9, 64),
            (7, 9, 1),
            (64, 33, 1),
            (63, 48, 1),
            (5, 1, 6),
            (1, 7, 1),
        ] {
            let a = reshaped(&values(dt, m * k, 1, false, 3.0), &[m, k]);
            let b = reshaped(&values(dt, k * n, 2, false, 3.0), &[k, n]);
            check(
                &format!("matmul {dt} {m}x{k}x{n}"),
                &|x| one(lax::dot_general(&x[0], &x[1], dims(&[1], &[0], &[], &[]))),
                &[a.clone(), b.clone()],
                tol,
            );
            // Contract the lhs's first axis (a transposed operand).
            let at = reshaped(&values(dt, k * m, 3, false, 3.0), &[k, m]);
            check(
                &format!("aT b {dt}"),
                &|x| one(lax::dot_general(&x[0], &x[1], dims(&[0], &[0], &[], &[]))),
                &[at, b.clone()],
                tol,
            );
            // Contract the rhs's last axis (`a bᵀ`, read in place).
            let bt = reshaped(&values(dt, n * k, 8, false, 3.0), &[n, k]);
            check(
                &format!("a bT {dt}"),
                &|x| one(lax::dot_general(&x[0], &x[1], dims(&[1], &[1], &[], &[]))),
                &[a.clone(), bt],
                tol,
            );
            // A transposed result (`(a b)ᵀ`, computed as `bᵀ aᵀ`), alone and also read as is.
            check(
                &format!("(a b)T {dt}"),
                &|x| {
                    let p = lax::dot_general(&x[0], &x[1], dims(&[1], &[0], &[], &[]))?;
                    one(lax::transpose(&p, &[1, 0]))
                },
                &[a.clone(), b.clone()],
                tol,
            );
            check(
                &format!("a b and (a b)T {dt}"),
                &|x| {
                    let p = lax::dot_general(&x[0], &x[1], dims(&[1], &[0], &[], &[]))?;
                    Ok(vec![lax::transpose(&p, &[1, 0])?, p])
                },
                &[a.clone(), b.clone()],
                tol,
            );
            // Free dims split around the contracted one: they do not merge into one strided
            // dim, so this operand is copied transposed.
            let split = reshaped(&values(dt, 2 * k * m, 9, false, 3.0), &[2, k, m]);
            check(
                &format!("split free dims {dt}"),
                &|x| one(lax::dot_general(&x[0], &x[1], dims(&[1], &[0], &[], &[]))),
                &[split, b.clone()],
                tol,
            );
            // Batched, transposed result batch-first: [b, n, m] from [b, m, k] x [b, k, n].
            let ab = reshaped(&values(dt, 2 * m * k, 10, false, 3.0), &[2, m, k]);
            let bb = reshaped(&values(dt, 2 * k * n, 11, false, 3.0), &[2, k, n]);
            check(
                &format!("batched (a b)T {dt}"),
                &|x| {
                    let p = lax::dot_general(&x[0], &x[1], dims(&[2], &[1], &[0], &[0]))?;
                    one(lax::transpose(&p, &[0, 2, 1]))
                },
                &[ab, bb],
                tol,
            );
            // Batched, with the batch axis last on the rhs.
            let ab = reshaped(&values(dt, 2 * m * k, 4, false, 3.0), &[2, m, k]);
            let bb = reshaped(&values(dt, k * n * 2, 5, false, 3.0), &[k, n, 2]);
            check(
                &format!("batched {dt}"),
                &|x| one(lax::dot_general(&x[0], &x[1], dims(&[2], &[0], &[0], &[2]))),
                &[ab, bb],
                tol,
            );
            // A fused elementwise operand.
            check(
                &format!("tanh(a) @ b {dt}"),
                &|x| {
                    let t = if dt.is_float() {
                        lax::tanh(&x[0])?
                    } else {
                        lax::neg(&x[0])?
                    };
                    one(lax::dot_general(&t, &x[1], dims(&[1], &[0], &[], &[])))
                },
                &[a, b],
                if dt.is_float() {
                    summation_tol(dt, Tol::Close(1e-5, 1e-5))
                } else {
                    Tol::Exact
                },
            );
        }
        // A result dtype other than the operands' (computed in theirs, then converted).
        let target = if dt == DType::F32 {
            DType::F64
        } else {
            DType::F32
        };
        let a = reshaped(&values(dt, 12, 6, false, 3.0), &[3, 4]);
        let b = reshaped(&values(dt, 8, 7, false, 3.0), &[4, 2]);
        let pref = DotGeneral {
            preferred_element_type: Some(target),
            ..dims(&[1], &[0], &[], &[])
        };
        check(
            &format!("preferred {target} {dt}"),
            &|x| one(lax::dot_general(&x[0], &x[1], pref.clone())),
            &[a, b],
            tol,
        );
        // Vector dot (no free axes).
        let v = values(dt, 9, 1, false, 2.0);
        check(
            &format!("vdot {dt}"),
            &|x| one(lax::dot_general(&x[0], &x[1], dims(&[0], &[0], &[], &[]))),
            &[v.clone(), v],
            tol,
        );
    }
}

/// The thin products' blocked loops (two matrix-vector rows per loop sharing the vector's
/// loads; a vector-matrix product's result held in registers across the rows) run each
/// element's operations in the plain loops' order: a row computed in a pair has the bits of
/// the same row computed alone, and a result column held in registers those of the same
/// column computed in memory (a width with a scalar tail, which takes the plain loop).
#[test]
fn blocked_thin_products_keep_the_plain_loops_bits() {
    let dims = |lc: usize| DotGeneral::new(&[lc], &[0], &[], &[]);
    let compiled = |f: &dyn Fn(&[Array]) -> Result<Vec<Array>>, args: &[Array]| {
        let avals: Vec<Aval> = args.iter().map(|a| a.aval().clone()).collect();
        let cj = trace_to_jaxpr(f, &avals).unwrap();
        let out = backend::compile(&cj).unwrap().run(args).unwrap();
        out[0].to_vec::<f32>().unwrap()
    };
    // W h with 65 rows: rows 0..64 in pairs, row 64 alone; rows 0 and 1 (the two places of
    // a pair) are copies of row 64.
    let (rows, k) = (65, 48);
    let mut w = values(DType::F32, rows * k, 5, false, 3.0)
        .to_vec::<f32>()
        .unwrap();
    w.copy_within((rows - 1) * k.., 0);
    w.copy_within((rows - 1) * k.., k);
    let w = Array::from_vec(w, &[rows, k]).unwrap();
    let h = values(DType::F32, k, 6, false, 3.0);
    let wh = compiled(&|x| one(lax::dot_general(&x[0], &x[1], dims(1))), &[w, h]);
    for i in [0, 1] {
        assert_eq!(
            wh[i].to_bits(),
            wh[rows - 1].to_bits(),
            "paired row {i}, row 64"
        );
    }
    // gᵀ W: 64 columns in registers against the same columns of a 68-wide W.
    let (m, n) = (40, 68);
    let w = values(DType::F32, m * n, 7, false, 3.0)
        .to_vec::<f32>()
        .unwrap();
    let w64: Vec<f32> = w.chunks(n).flat_map(|r| r[..64].to_vec()).collect();
    let g = values(DType::F32, m, 8, false, 3.0);
    let f = |x: &[Array]| one(lax::dot_general(&x[0], &x[1], dims(0)));
    let wide = compiled(&f, &[g.clone(), Array::from_vec(w, &[m, n]).unwrap()]);
    let narrow = compiled(&f, &[g, Array::from_vec(w64, &[m, 64]).unwrap()]);
    for j in 0..64 {
        assert_eq!(narrow[j].to_bits(), wide[j].to_bits(), "column {j}");
    }
}

/// A gradient's products read transposed operands in place and write a transposed result
/// directly: `(aᵀ b)ᵀ`, `a bᵀ` and `c @ transpose(a)` on inputs are each one gemm call, no
/// copy kernels.
#[test]
fn transposed_products_are_one_gemm_call_each() {
    let dims = |lc: usize, rc: usize| DotGeneral::new(&[lc], &[rc], &[], &[]);
    let (a, b) = (
        values(DType::F32, 12 * 8, 1, false, 1.0),
        values(DType::F32, 12 * 9, 2, false, 1.0),
    );
    let (a, b) = (reshaped(&a, &[12, 8]), reshaped(&b, &[12, 9]));
    let at_b_t = |x: &[Array]| {
        let p = lax::dot_general(&x[0], &x[1], dims(0, 0))?;
        one(lax::transpose(&p, &[1, 0]))
    };
    let bt = reshaped(&values(DType::F32, 9 * 8, 3, false, 1.0), &[9, 8]);
    let a_bt = |x: &[Array]| one(lax::dot_general(&x[0], &x[1], dims(1, 1)));
    type Program<'a> = &'a dyn Fn(&[Array]) -> Result<Vec<Array>>;
    // A transpose the user wrote, `transpose(a) @ b`, is read in place too.
    let c = reshaped(&values(DType::F32, 5 * 8, 4, false, 1.0), &[5, 8]);
    let t_a_c = |x: &[Array]| {
        let t = lax::transpose(&x[0], &[1, 0])?;
        Ok(vec![lax::dot_general(&x[1], &t, dims(1, 0))?])
    };
    let cases: [(&str, Program, Vec<Array>); 3] = [
        ("(aT b)T", &at_b_t, vec![a.clone(), b]),
        ("a bT", &a_bt, vec![a.clone(), bt]),
        ("c @ transpose(a)", &t_a_c, vec![a.clone(), c]),
    ];
    for (what, f, args) in cases {
        let avals: Vec<Aval> = args.iter().map(|a| a.aval().clone()).collect();
        let cj = trace_to_jaxpr(f, &avals).unwrap();
        let exe = backend::compile(&cj).unwrap();
        assert_eq!(exe.num_kernels(), 1, "{what}:\n{}", exe.kernels_summary());
        check(
            what,
            f,
            &args,
            summation_tol(DType::F32, Tol::Close(1e-5, 1e-5)),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// nested calls

#[test]
fn nested_calls_are_inlined_and_custom_lin_is_refused() {
    let inner = jit(|x: &Array| or_raise(lax::sin(x)) * 2.0);
    let f = |a: &[Array]| {
        let y = inner.call((a[0].clone(),))?;
        one(lax::add(&y, &a[0]))
    };
    check(
        "pjit inlined",
        &f,
        &[values(DType::F32, 9, 1, false, 3.0)],
        Tol::Exact,
    );
    let g = custom_jvp(
        |x: &Array| or_raise(lax::exp(x)),
        |p: &[Array], t: &[Array]| {
            let y = or_raise(lax::exp(&p[0]));
            (vec![y.clone()], vec![or_raise(lax::mul(&y, &t[0]))])
        },
    );
    let f = |a: &[Array]| one(g.call((a[0].clone(),)));
    check(
        "custom_jvp_call inlined",
        &f,
        &[values(DType::F64, 9, 1, false, 3.0)],
        Tol::Ulp(3),
    );
    let h = custom_vjp(
        |x: &Array| or_raise(lax::sin(x)),
        |p: &[Array]| (vec![or_raise(lax::sin(&p[0]))], vec![p[0].clone()]),
        |res: &[Array], ct: &[Array]| {
            vec![or_raise(lax::mul(&ct[0], &or_raise(lax::cos(&res[0]))))]
        },
    );
    let f = |a: &[Array]| one(h.call((a[0].clone(),)));
    check(
        "custom_vjp_call inlined",
        &f,
        &[values(DType::F32, 9, 1, false, 3.0)],
        Tol::Ulp(5),
    );
    // grad of the custom_vjp function under jit: the user's bwd runs inside compiled code.
    let dh = jit(grad(|x: &Array| {
        numpy::sum(h.call((x.clone(),)).unwrap(), None, false)
    }));
    let x = values(DType::F32, 9, 2, false, 3.0);
    let d = dh.call((x.clone(),)).unwrap();
    for (dv, xv) in d
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .zip(x.to_vec::<f32>().unwrap())
    {
        assert!((dv - xv.cos()).abs() < 1e-5);
    }
    // custom_lin (the linear half of a custom_vjp function under linearize) is transposed,
    // never run: compiling it is a clear error, not a silent fallback.
    let mut b = cranax::ir::builder::JaxprBuilder::new();
    let aval = Aval::new([3], DType::F32);
    let v = b.add_invar(aval.clone());
    let bwd: prims::call::BwdRule = std::sync::Arc::new(|_: &[Array], c: &[Array]| Ok(c.to_vec()));
    let outs = b.add_eqn(
        prims::Prim::Call(prims::CallOp::CustomLin {
            num_res: 0,
            out_avals: vec![aval.clone()],
            bwd,
        }),
        vec![ir::Atom::Var(v)],
        vec![aval],
    );
    let cj = b.build(vec![ir::Atom::Var(outs[0])]);
    let err = backend::compile(&cj).unwrap_err().to_string();
    assert!(err.contains("custom_lin"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// random programs

/// How many cases a property test runs: `default` in CI, `CRANAX_PROPTEST_CASES` when set (the
/// long mode: `CRANAX_PROPTEST_CASES=100000 cargo test --release --test jit random_`).
fn proptest_cases(default: u32) -> u32 {
    std::env::var("CRANAX_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Extents for random shapes: empty, one, around and off the vector width and the unroll.
const EXTENTS: [usize; 12] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33];

/// Run an exact program on `x: [a, b]`, `row: [b]`, `col: [a]`: the final value, its
/// reduce_max over the last axis and its reduce_sum over the first.
fn run_exact(steps: &[ExactStep], a: &[Array]) -> Result<Vec<Array>> {
    let (v, _) = apply_exact(steps, &a[0], &a[0], &a[1], &a[2])?;
    Ok(vec![
        v.clone(),
        lax::reduce_max(&v, &[1])?,
        lax::reduce_sum(&v, &[0])?,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(1000), ..ProptestConfig::default() })]

    /// Random programs of exact ops over random shapes (0, 1, and extents on and off the vector
    /// width): compiled results equal the interpreter's bit for bit; the sum, in another
    /// summation order, within the summation error bound.
    #[test]
    fn random_exact_programs_on_random_shapes(
        steps in prop::collection::vec(exact_step(), 1..12),
        a in prop::sample::select(EXTENTS.to_vec()),
        b in prop::sample::select(EXTENTS.to_vec()),
        seed in 0u64..1000,
        f32s in any::<bool>(),
    ) {
        let dt = if f32s { DType::F32 } else { DType::F64 };
        let x = reshaped(&values(dt, a * b, seed, true, 3.0), &[a, b]);
        let row = values(dt, b, seed + 1, false, 3.0);
        let col = values(dt, a, seed + 2, false, 3.0);
        let args = [x, row, col];
        let exact = |a: &[Array]| run_exact(&steps, a).map(|mut o| { o.truncate(2); o });
        check("exact program", &exact, &args, Tol::Exact);
        let sums = |a: &[Array]| {
            let out = run_exact(&steps, a)?;
            let magnitudes = lax::reduce_sum(&lax::abs(&out[0])?, &[0])?;
            Ok(vec![out[2].clone(), magnitudes])
        };
        check_sum("exact program, sum", &sums, &args, a.max(b));
    }
}

/// How far compiled random programs may be from the interpreter, in ulps of the dtype relative
/// to max(1, |want|) (the programs keep their values O(1) on every shape): the values within
/// `VALUE_ULPS`, their gradients within `GRAD_ULPS`, in f32 and f64 alike. The compiled
/// transcendentals are 1-2.25 ulp from the eager ones (tests/math_reference.rs), reductions and
/// dots sum in another order, and chains of up to 6 steps and their derivatives compound both.
/// Measured worst over 10,000 cases (`CRANAX_PROPTEST_CASES=10000`): values 23 (f32) / 57
/// (f64) ulp, gradients 254 / 362.
const VALUE_ULPS: f64 = 256.0;
const GRAD_ULPS: f64 = 1024.0;

fn program_tol(dt: DType, ulps: f64) -> Tol {
    let eps = match dt {
        DType::F32 => f32::EPSILON as f64,
        _ => f64::EPSILON,
    };
    Tol::Close(ulps * eps, ulps * eps)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(64), ..ProptestConfig::default() })]

    /// Elementwise chains (transcendentals included), broadcasts, reductions, dots and layout
    /// ops on random shapes (0, 1, and extents on and off the vector width): compiled vs
    /// interpreted, as is, differentiated and batched, within `VALUE_ULPS` and `GRAD_ULPS`.
    #[test]
    fn random_programs_match_the_interpreter(
        steps in programs::program(),
        a in prop::sample::select(EXTENTS.to_vec()),
        b in prop::sample::select(EXTENTS.to_vec()),
        seed in 0u64..1000,
        f32s in any::<bool>(),
    ) {
        let dt = if f32s { DType::F32 } else { DType::F64 };
        let x = reshaped(&values(dt, a * b, seed, false, 2.0), &[a, b]);
        let y = values(dt, b, seed + 1, false, 2.0);
        let f = |a: &[Array]| {
            let (v, s) = programs::run(&steps, &a[0], &a[1]);
            Ok(vec![v, s])
        };
        check("program", &f, &[x.clone(), y.clone()], program_tol(dt, VALUE_ULPS));
        let df = |a: &[Array]| {
            let g = grad(|x: &Array, y: &Array| programs::run(&steps, x, y).1);
            g.call((a[0].clone(), a[1].clone())).map(|g| vec![g])
        };
        check("grad of program", &df, &[x.clone(), y.clone()], program_tol(dt, GRAD_ULPS));
        let xb = reshaped(&values(dt, 2 * a * b, seed + 2, false, 2.0), &[2, a, b]);
        let vf = |a: &[Array]| {
            let g = vmap(|x: &Array, y: &Array| programs::run(&steps, x, y).0).in_axes([Some(0), None]);
            g.call((a[0].clone(), a[1].clone())).map(|g| vec![g])
        };
        check("vmap of program", &vf, &[xb, y], program_tol(dt, VALUE_ULPS));
    }

    /// Long random elementwise chains over broadcast operands fuse into one loop and agree.
    #[test]
    fn random_elementwise_chains(
        ops in prop::collection::vec(0u8..10, 1..40),
        n in 0usize..40,
        f32s in any::<bool>(),
    ) {
        let dt = if f32s { DType::F32 } else { DType::F64 };
        let x = values(dt, 3 * n, 1, false, 2.0);
        let x = reshaped(&x, &[3, n]);
        let row = values(dt, n, 2, false, 2.0);
        let col = values(dt, 3, 3, false, 2.0);
        let f = |a: &[Array]| {
            let r = lax::broadcast_in_dim(&a[1], &[3, n], &[1])?;
            let c = lax::broadcast_in_dim(&a[2], &[3, n], &[0])?;
            let mut v = a[0].clone();
            for op in &ops {
                v = match op {
                    0 => lax::add(&v, &r)?,
                    1 => lax::mul(&v, &c)?,
                    2 => lax::sub(&lax::scalar_like(&v, 0.5), &v)?,
                    3 => lax::max(&v, &lax::neg(&r)?)?,
                    4 => lax::select(&lax::lt(&v, &c)?, &v, &r)?,
                    5 => lax::div(&v, &lax::add(&lax::square(&c)?, &lax::scalar_like(&v, 1.0))?)?,
                    6 => lax::abs(&v)?,
                    7 => lax::integer_pow(&v, 2)?,
                    8 => lax::convert_element_type(&lax::convert_element_type(&v, DType::I32)?, dt)?,
                    _ => lax::min(&v, &lax::scalar_like(&v, 3.0))?,
                };
            }
            Ok(vec![v.clone(), lax::reduce_sum(&v, &[1])?])
        };
        check("chain", &f, &[x, row, col], Tol::Close(1e-5, 1e-5));
    }
}

// ---------------------------------------------------------------------------------------------
// the jit wrapper: cache, errors, threads, composition

fn seed_x() -> Array {
    Array::from_slice(&[0.9066547f32, -0.9453376, 0.08205657, -1.8436362, 0.45950902])
}

const SEED_Y: [f32; 5] = [0.482287, 0.45585027, 0.99329686, 0.09532695, 0.8153717];

fn tanh(x: &Array) -> Array {
    or_raise(lax::tanh(x))
}

#[test]
fn seed_workload_compiles_once_then_hits() {
    let f = jit(vmap(grad(tanh)));
    for call in 0..3 {
        let y = f.call((seed_x(),)).unwrap();
        let got = y.to_vec::<f32>().unwrap();
        for (g, w) in got.iter().zip(SEED_Y) {
            assert!((g - w).abs() < 1e-6, "call {call}: {got:?}");
        }
    }
    let s = f.stats();
    assert_eq!(
        (s.misses, s.hits, s.compiles, s.entries),
        (1, 2, 1, 1),
        "{s:?}"
    );
    // What was compiled can be inspected.
    let exe = f.executable_for(&signature_of(&(seed_x(),))).unwrap();
    assert!(exe.clif_ir().contains("function"), "{}", exe.clif_ir());
    assert!(!exe.machine_code().is_empty());
    assert!(exe.compile_time().as_nanos() > 0);
    assert_eq!(exe.num_kernels(), 1, "one fused loop:\n{}", exe.clif_ir());
    assert_eq!(exe.scratch_bytes(), 0);
    // A new shape compiles once more; the old one is still cached.
    let x7 = values(DType::F32, 7, 1, false, 2.0);
    f.call((x7.clone(),)).unwrap();
    f.call((x7,)).unwrap();
    f.call((seed_x(),)).unwrap();
    let s = f.stats();
    assert_eq!(
        (s.misses, s.hits, s.compiles, s.entries),
        (2, 4, 2, 2),
        "{s:?}"
    );
}

#[test]
fn wrong_arguments_are_clear_errors() {
    let cj = trace_to_jaxpr(
        &|a: &[Array]| one(lax::mul(&a[0], &a[1])),
        &[Aval::new([3], DType::F32), Aval::new([3], DType::F32)],
    )
    .unwrap();
    let exe = backend::compile(&cj).unwrap();
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0]);
    let err = exe.run(std::slice::from_ref(&x)).unwrap_err().to_string();
    assert!(err.contains("takes 2 arguments, got 1"), "{err}");
    let bad_dtype = Array::from_slice(&[1.0f64, 2.0, 3.0]);
    let err = exe.run(&[x.clone(), bad_dtype]).unwrap_err().to_string();
    assert!(
        err.contains("argument 1") && err.contains("f64") && err.contains("f32"),
        "{err}"
    );
    let bad_shape = Array::from_slice(&[1.0f32, 2.0]);
    let err = exe.run(&[bad_shape, x.clone()]).unwrap_err().to_string();
    assert!(
        err.contains("argument 0") && err.contains("(2,)") && err.contains("(3,)"),
        "{err}"
    );
    assert_eq!(
        exe.run(&[x.clone(), x]).unwrap()[0]
            .to_vec::<f32>()
            .unwrap(),
        vec![1.0, 4.0, 9.0]
    );
    // Through jit: a mismatch in structure is a new signature, never a wrong call.
    let f = jit(|x: &Array, y: &Array| x * y);
    let a = Array::from_slice(&[1.0f32, 2.0]);
    assert!(f
        .call((a.clone(), Array::from_slice(&[1.0f32, 2.0, 3.0])))
        .is_err());
}

#[test]
fn cache_bound_eviction_and_clear() {
    let f = jit(tanh).with_capacity(2);
    for n in 1..=4 {
        f.call((values(DType::F32, n, 1, false, 1.0),)).unwrap();
    }
    let s = f.stats();
    assert_eq!((s.compiles, s.entries, s.evictions), (4, 2, 2), "{s:?}");
    // Evicted code is freed; the survivors still run.
    let y = f.call((values(DType::F32, 4, 1, false, 1.0),)).unwrap();
    assert_eq!(y.shape(), &[4]);
    assert_eq!(f.stats().hits, 1);
    f.clear_cache();
    assert_eq!(f.stats().entries, 0);
    f.call((values(DType::F32, 4, 1, false, 1.0),)).unwrap();
    assert_eq!(f.stats().compiles, 5);
    // Dropping many executables frees their code (this would exhaust memory otherwise).
    for n in 0..200 {
        let g = jit(tanh);
        g.call((values(DType::F32, n % 7, 1, false, 1.0),)).unwrap();
    }
}

#[test]
fn many_threads_share_code_with_scratch_buffers() {
    // tanh(x) is materialised (the matmul's operand) in per-thread scratch memory.
    let f = jit(|x: &Array| numpy::matmul(numpy::tanh(x), x.clone()) + 1.0);
    let x = reshaped(&values(DType::F32, 32 * 32, 5, false, 1.0), &[32, 32]);
    let want = f.call((x.clone(),)).unwrap().to_vec::<f32>().unwrap();
    let exe = f.executable_for(&signature_of(&(x.clone(),))).unwrap();
    assert!(exe.scratch_bytes() >= 32 * 32 * 4, "{exe:?}");
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                for _ in 0..30 {
                    assert_eq!(f.call((x.clone(),)).unwrap().to_vec::<f32>().unwrap(), want);
                }
            });
        }
    });
}

#[test]
fn many_threads_call_one_compiled_function() {
    let f = jit(|x: &Array| {
        let t = or_raise(lax::tanh(x));
        or_raise(lax::reduce_sum(&(&t * &t), &[0])) + numpy::sum(&t, None, false)
    });
    let x = values(DType::F32, 1000, 3, false, 2.0);
    let want = f.call((x.clone(),)).unwrap().to_vec::<f32>().unwrap();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..50 {
                    let y = f.call((x.clone(),)).unwrap();
                    assert_eq!(y.to_vec::<f32>().unwrap(), want);
                }
            });
        }
    });
    assert_eq!(f.stats().compiles, 1);
    // The executable itself is Send + Sync.
    fn send_sync<T: Send + Sync>() {}
    send_sync::<backend::Executable>();
}

#[test]
fn jit_composes_with_grad_vmap_and_itself() {
    let x = seed_x();
    let eager = vmap(grad(tanh)).call((x.clone(),)).unwrap();
    let close = |a: &Array, b: &Array| assert_matches("composition", a, b, Tol::Close(1e-6, 1e-6));
    // jit(grad(f)) on a scalar, grad(jit(f)), vmap(jit(f)), jit(jit(f)).
    let s = Array::scalar(0.3f32);
    let d1 = jit(grad(tanh)).call((s.clone(),)).unwrap();
    let d2 = grad(jit(tanh)).call((s.clone(),)).unwrap();
    close(&d1, &d2);
    let v1 = vmap(jit(grad(tanh))).call((x.clone(),)).unwrap();
    close(&v1, &eager);
    let v2 = jit(jit(vmap(grad(tanh)))).call((x.clone(),)).unwrap();
    close(&v2, &eager);
    // Nested jit prints as JAX prints it: a pjit with the name and the inner jaxpr.
    fn double(x: &Array) -> Array {
        x * 2.0
    }
    let j = make_jaxpr(jit(|x: &Array| {
        jit(double).call((x.clone(),)).unwrap() + 1.0
    }))
    .call((x.clone(),))
    .unwrap()
    .to_string();
    assert!(
        j.contains("pjit[") && j.contains("name=double") && j.contains("jaxpr={"),
        "{j}"
    );
    // A function of several arguments and outputs.
    let f = jit(|a: &Array, b: &Array| (a * b, a - b));
    let (p, q) = f.call((x.clone(), x.clone())).unwrap();
    close(&p, &(&x * &x));
    close(&q, &(&x - &x));
}

#[test]
fn constants_and_repeated_outputs() {
    let w = values(DType::F32, 5, 3, false, 1.0);
    let f = jit(move |x: &Array| (x + &w, x.clone(), w.clone()));
    let x = seed_x();
    let (a, b, c) = f.call((x.clone(),)).unwrap();
    assert_eq!(b.to_vec::<f32>().unwrap(), x.to_vec::<f32>().unwrap());
    assert_eq!(c.shape(), &[5]);
    assert_eq!(a.shape(), &[5]);
    let g = jit(|x: &Array| (x * 2.0, x * 2.0, 3.0f32.into()));
    let (p, q, r): (Array, Array, Array) = g.call((x.clone(),)).unwrap();
    assert_eq!(p.to_vec::<f32>().unwrap(), q.to_vec::<f32>().unwrap());
    assert_eq!(r.item::<f32>().unwrap(), 3.0);
}

#[test]
fn large_kernels_are_fused_and_vectorised() {
    let x = values(DType::F32, 1000, 1, false, 2.0);
    let f = jit(vmap(grad(tanh)));
    f.call((x.clone(),)).unwrap();
    let exe = f.executable_for(&signature_of(&(x.clone(),))).unwrap();
    assert_eq!(exe.num_kernels(), 1);
    assert!(exe.clif_ir().contains("f32x4"), "{}", exe.clif_ir());
    // An elementwise chain reduced along the contiguous axis: one loop, vector accumulators.
    let g = jit(|x: &Array| numpy::sum(numpy::exp(numpy::sin(x)) * numpy::cos(x), None, false));
    g.call((x.clone(),)).unwrap();
    let exe = g.executable_for(&signature_of(&(x.clone(),))).unwrap();
    assert_eq!(exe.num_kernels(), 1, "{}", exe.clif_ir());
    assert!(exe.clif_ir().contains("f32x4"));
    assert_eq!(exe.scratch_bytes(), 0);
    // f64 uses f64x2 lanes.
    let x64 = values(DType::F64, 1000, 1, false, 2.0);
    f.call((x64.clone(),)).unwrap();
    let exe = f.executable_for(&signature_of(&(x64,))).unwrap();
    assert!(exe.clif_ir().contains("f64x2"));
}

#[test]
fn views_that_multiply_indices_get_buffers() {
    // Each level reads the previous one through two different (non-commuting) views, so
    // inline evaluation would need level k at O(k^2) indices: the planner gives such values
    // buffers instead, and the result still matches.
    let levels = 12;
    let m = 20;
    let f = |a: &[Array]| {
        let mut v = a[0].clone();
        for k in 0..levels {
            let s = m - k;
            let p = lax::slice(&v, &[0, 0], &[s - 1, s - 1], None)?;
            let q = lax::transpose(&lax::slice(&v, &[1, 1], &[s, s], None)?, &[1, 0])?;
            v = lax::add(&lax::mul(&p, &lax::scalar_like(&p, 0.5))?, &lax::sin(&q)?)?;
        }
        one(Ok(v))
    };
    let x = reshaped(&values(DType::F32, m * m, 1, false, 1.0), &[m, m]);
    check(
        "non-commuting views",
        &f,
        std::slice::from_ref(&x),
        Tol::Close(1e-5, 1e-5),
    );
    let cj = trace_to_jaxpr(&f, &[x.aval().clone()]).unwrap();
    let exe = backend::compile(&cj).unwrap();
    assert!(exe.num_kernels() > 1, "{}", exe.kernels_summary());
}

#[test]
fn large_f32_sums_accumulate_in_f64() {
    // 2^20 + 3 values: a naive f32 running sum would be off by ~1e-3 relative.
    let n = (1 << 20) + 3;
    let x = values(DType::F32, n, 9, false, 1.0);
    let shifted = lax::add(&x, &lax::scalar_like(&x, 0.1)).unwrap();
    check(
        "sum 1M",
        &|a| one(lax::reduce_sum(&a[0], &[0])),
        std::slice::from_ref(&shifted),
        Tol::Ulp(2),
    );
    let m = reshaped(&shifted, &[1, n]);
    check(
        "sum rows 1M",
        &|a| one(lax::reduce_sum(&a[0], &[1])),
        std::slice::from_ref(&m),
        Tol::Ulp(2),
    );
}

/// Large elementwise kernels run their outer loop in chunks on several threads: results are
/// bit for bit those of unsplit runs (the same function on pieces too small to split, cut at
/// multiples of the vector step so the same elements take the vector and scalar paths).
#[test]
fn large_kernels_split_across_threads_match_unsplit_runs() {
    let chain = |x: &Array, y: &Array| numpy::tanh(&(numpy::exp(numpy::sin(x)) * y)) + x * x;
    for dt in FLOATS {
        let n = 100_003;
        let x = values(dt, n, 7, true, 3.0);
        let y = values(dt, n, 8, true, 3.0);
        let f = jit(chain);
        let whole = f.call((x.clone(), y.clone())).unwrap();
        let exe = f
            .executable_for(&signature_of(&(x.clone(), y.clone())))
            .unwrap();
        assert!(
            exe.kernels_summary().contains("split across threads"),
            "{}",
            exe.kernels_summary()
        );
        let (xs, ys) = (x.to_f64_vec().unwrap(), y.to_f64_vec().unwrap());
        let mut pieces = Vec::new();
        for lo in (0..n).step_by(1024) {
            let hi = (lo + 1024).min(n);
            let part = |v: &[f64]| {
                let a = Array::from_vec(v[lo..hi].to_vec(), &[hi - lo]).unwrap();
                lax::convert_element_type(&a, dt).unwrap()
            };
            let r = f.call((part(&xs), part(&ys))).unwrap();
            pieces.extend(r.to_f64_vec().unwrap());
        }
        let want = lax::convert_element_type(&Array::from_vec(pieces, &[n]).unwrap(), dt).unwrap();
        assert_matches(&format!("split chain {dt}[{n}]"), &whole, &want, Tol::Exact);

        // Two loop groups (a broadcast row keeps them apart): rows are split, exact ops.
        let a = reshaped(&values(dt, 301 * 257, 9, true, 3.0), &[301, 257]);
        let row = values(dt, 257, 10, true, 3.0);
        check(
            &format!("split broadcast {dt}[301, 257]"),
            &|v: &[Array]| Ok(vec![&v[0] * &v[0] + &v[1]]),
            &[a, row],
            Tol::Exact,
        );
    }
}

#[test]
fn a_computed_vector_spread_by_an_outer_product_is_stored_once() {
    // c + outer(tanh(v) * 2 + 1, w): the [64] chain gets a buffer of its own instead of being
    // recomputed at each of the 4,096 elements of the [64, 64] loop.
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let t = lax::add(
            &lax::mul(&lax::tanh(&a[1])?, &lax::scalar_like(&a[1], 2.0))?,
            &lax::scalar_like(&a[1], 1.0),
        )?;
        let outer = lax::dot_general(&t, &a[2], DotGeneral::new(&[], &[], &[], &[]))?;
        Ok(vec![lax::add(&a[0], &outer)?])
    };
    let args = [
        reshaped(&values(DType::F32, 64 * 64, 1, false, 1.0), &[64, 64]),
        values(DType::F32, 64, 2, false, 1.0),
        values(DType::F32, 64, 3, false, 1.0),
    ];
    check(
        "spread chain",
        &f,
        &args,
        summation_tol(DType::F32, Tol::Close(1e-6, 1e-6)),
    );
    let avals: Vec<Aval> = args.iter().map(|a| a.aval().clone()).collect();
    let exe = backend::compile(&trace_to_jaxpr(&f, &avals).unwrap()).unwrap();
    let plan = exe.kernels_summary();
    assert!(plan.contains("loop [64] ->"), "{plan}");
    let big = plan
        .lines()
        .find(|l| l.contains("[4096]") || l.contains("[64, 64]"));
    let inline: usize = big
        .and_then(|l| l.split("]: ").nth(1))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no [64, 64] loop line:\n{plan}"));
    assert!(
        inline <= 4,
        "the chain is recomputed in the big loop:\n{plan}"
    );
}

#[test]
fn constants_read_transposed_are_relaid_and_vectorise() {
    // A non-symmetric constant read through a transpose (2-d) and a rotation (3-d): the loop
    // reads a copy in its own order, vectorises, and gives the interpreter's bits.
    for dt in WIDE_FLOATS {
        let c2 = reshaped(&values(dt, 24 * 40, 11, true, 3.0), &[24, 40]);
        let c3 = reshaped(&values(dt, 6 * 5 * 16, 12, true, 3.0), &[6, 5, 16]);
        let f = move |a: &[Array]| -> Result<Vec<Array>> {
            let t2 = lax::transpose(&c2, &[1, 0])?;
            let t3 = lax::transpose(&c3, &[1, 2, 0])?;
            Ok(vec![
                lax::add(&lax::mul(&a[0], &t2)?, &lax::mul(&t2, &t2)?)?,
                lax::mul(&a[1], &t3)?,
            ])
        };
        let args = [
            reshaped(&values(dt, 40 * 24, 13, true, 3.0), &[40, 24]),
            reshaped(&values(dt, 5 * 16 * 6, 14, true, 3.0), &[5, 16, 6]),
        ];
        check(&format!("relaid constants {dt}"), &f, &args, Tol::Exact);
        let avals: Vec<Aval> = args.iter().map(|a| a.aval().clone()).collect();
        let exe = backend::compile(&trace_to_jaxpr(&f, &avals).unwrap()).unwrap();
        let plan = exe.kernels_summary();
        assert!(
            plan.lines().all(|l| l.contains("lanes")),
            "a kernel stayed scalar:\n{plan}"
        );
    }
    // The hessian's identity basis is read transposed by the final transpose.
    let x = values(DType::F32, 100, 15, false, 2.0);
    let h = |a: &[Array]| -> Result<Vec<Array>> {
        let cubic = |x: &Array| (numpy::tanh(x).pow(2) * x).sum();
        Ok(vec![hessian(cubic).call((a[0].clone(),))?])
    };
    let tol = summation_tol(DType::F32, Tol::Close(1e-5, 1e-6));
    check("hessian n100", &h, std::slice::from_ref(&x), tol);
    let exe = backend::compile(&trace_to_jaxpr(&h, &[x.aval().clone()]).unwrap()).unwrap();
    let plan = exe.kernels_summary();
    assert!(plan.lines().all(|l| l.contains("lanes")), "{plan}");
}

#[test]
fn elementwise_roots_over_loops_equal_up_to_unit_dims_share_one_kernel() {
    // `[n]` and `[1, n]` roots (jacrev's seed times a vector next to the vector itself): one
    // loop nest, the interpreter's bits; `[n, 1]` after `[n]` too, `[2, n]` not.
    for n in [5, 40] {
        let f = move |a: &[Array]| -> Result<Vec<Array>> {
            let t = lax::mul(&a[0], &a[0])?;
            let u = lax::sub(&t, &a[0])?;
            let seed = |shape: &[usize], d: usize| lax::broadcast_in_dim(&a[1], shape, &[d]);
            let row = lax::mul(
                &lax::broadcast_in_dim(&u, &[1, n], &[1])?,
                &seed(&[1, n], 0)?,
            )?;
            let col = lax::add(
                &lax::broadcast_in_dim(&t, &[n, 1], &[0])?,
                &seed(&[n, 1], 1)?,
            )?;
            Ok(vec![t, u, row, col])
        };
        let args = [
            values(DType::F32, n, 31, true, 3.0),
            Array::from_vec(vec![1.5f32], &[1]).unwrap(),
        ];
        check(&format!("unit dims n={n}"), &f, &args, Tol::Exact);
        let avals: Vec<Aval> = args.iter().map(|a| a.aval().clone()).collect();
        let exe = backend::compile(&trace_to_jaxpr(&f, &avals).unwrap()).unwrap();
        let plan = exe.kernels_summary();
        assert_eq!(plan.lines().count(), 1, "n={n}:\n{plan}");
        let g = |a: &[Array]| -> Result<Vec<Array>> {
            let t = lax::mul(&a[0], &a[0])?;
            Ok(vec![t.clone(), lax::broadcast_in_dim(&t, &[2, n], &[1])?])
        };
        let args = [values(DType::F32, n, 32, true, 3.0)];
        check(&format!("two rows n={n}"), &g, &args, Tol::Exact);
    }
}

/// A constant of `shape` whose element `i` is `a` where `pick(i)`, else `b`.
fn two_valued_const(
    dt: DType,
    shape: &[usize],
    (a, b): (f64, f64),
    pick: impl Fn(usize) -> bool,
) -> Array {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|i| if pick(i) { a } else { b }).collect();
    Array::from_vec(v, shape).unwrap().astype(dt)
}

#[test]
fn kernels_over_a_two_valued_constant_select_between_two_results() {
    // Only a constant of two distinct elements varies along the vectorised loop (as the
    // identity basis of `jacfwd` and `hessian` does): each output is computed once per distinct
    // element and the loop selects by the constant's bits. The interpreter's bits, with
    // NaN, infinities and signed zeros in the row values (0 * inf, -0 + 0, ...), vectors left
    // after the unrolled steps (f32: 40 = 2 x 16 + 2 x 4), a scalar tail after them (43 =
    // 2 x 16 + 2 x 4 + 3) and a constant of one distinct element.
    for (dt, (rows, cols)) in WIDE_FLOATS
        .into_iter()
        .flat_map(|dt| [(dt, (24, 40)), (dt, (5, 43))])
    {
        let basis = two_valued_const(dt, &[rows, cols], (1.0, 0.0), |i| i % (cols + 1) == 0);
        let signed = two_valued_const(dt, &[rows, cols], (-0.0, 2.5), |i| (i / 3) % 2 == 0);
        let flat = two_valued_const(dt, &[rows, cols], (-1.5, -1.5), |_| true);
        for (name, c) in [("basis", basis), ("signed", signed), ("flat", flat)] {
            // Two outputs of one loop, both selected.
            let f = move |a: &[Array]| -> Result<Vec<Array>> {
                let r = lax::broadcast_in_dim(&a[0], &[rows, cols], &[0])?;
                let sq = lax::sub(&lax::mul(&a[0], &a[0])?, &a[0])?;
                let t = lax::broadcast_in_dim(&sq, &[rows, cols], &[0])?;
                let y = lax::add(&lax::mul(&c, &r)?, &c)?;
                let y = lax::sub(&lax::mul(&y, &t)?, &lax::neg(&lax::mul(&c, &r)?)?)?;
                Ok(vec![lax::mul(&y, &r)?, y])
            };
            let x = values(dt, rows, 21, true, 3.0);
            let what = format!("two-valued constant {name} {dt} [{rows}, {cols}]");
            check(&what, &f, std::slice::from_ref(&x), Tol::Exact);
            let exe = backend::compile(&trace_to_jaxpr(&f, &[x.aval().clone()]).unwrap()).unwrap();
            let plan = exe.kernels_summary();
            assert!(
                plan.contains("two-valued"),
                "{what}: no kernel selects:\n{plan}"
            );
        }
    }
    // Three distinct elements: computed at every element, as before.
    let three = two_valued_const(DType::F32, &[8, 32], (1.0, 0.0), |i| i % 9 == 0);
    let three = lax::add(
        &three,
        &two_valued_const(DType::F32, &[8, 32], (2.0, 0.0), |i| i == 5),
    )
    .unwrap();
    let f = move |a: &[Array]| -> Result<Vec<Array>> {
        let r = lax::broadcast_in_dim(&a[0], &[8, 32], &[0])?;
        Ok(vec![lax::mul(&lax::add(&three, &r)?, &r)?])
    };
    let x = values(DType::F32, 8, 22, true, 3.0);
    check(
        "three-valued constant",
        &f,
        std::slice::from_ref(&x),
        Tol::Exact,
    );
    let exe = backend::compile(&trace_to_jaxpr(&f, &[x.aval().clone()]).unwrap()).unwrap();
    assert!(
        !exe.kernels_summary().contains("two-valued"),
        "{}",
        exe.kernels_summary()
    );
}

/// The runtime entry points a compiled function's CLIF imports (`fnK = ...` lines) and the
/// distinct ones it calls (`call fnK(...)`).
fn imported_and_called(clif: &str) -> (Vec<String>, Vec<String>) {
    let mut imported: Vec<String> = clif
        .lines()
        .filter_map(|l| l.trim().split_once(" = ").map(|(k, _)| k.to_string()))
        .filter(|k| k.starts_with("fn"))
        .collect();
    let mut called: Vec<String> = clif
        .lines()
        .filter_map(|l| l.split_once("call ").map(|(_, r)| r))
        .filter_map(|r| r.split_once('(').map(|(f, _)| f.to_string()))
        .collect();
    imported.sort();
    called.sort();
    called.dedup();
    (imported, called)
}

#[test]
fn compiled_functions_import_only_the_runtime_entry_points_they_call() {
    let x = Array::from_vec((0..4096).map(|i| i as f32 * 1e-3).collect(), &[4096]).unwrap();
    let m = Array::from_vec((0..64 * 64).map(|i| i as f32 * 1e-3).collect(), &[64, 64]).unwrap();
    let affine = jit(|x: &Array| x * 2.0 + 1.0);
    let chain = jit(|x: &Array| {
        use cranax::numpy as jnp;
        jnp::exp(jnp::sin(x)) * jnp::cos(x) + jnp::log1p(x * x)
    });
    let square = jit(|m: &Array| m.matmul(m));
    affine.call((x.clone(),)).unwrap();
    chain.call((x.clone(),)).unwrap();
    square.call((m.clone(),)).unwrap();
    let (xs, ms) = (signature_of(&(x,)), signature_of(&(m,)));
    let cases = [
        ("x * 2 + 1", affine.executable_for(&xs), 0),
        ("the elementwise chain", chain.executable_for(&xs), 4),
        ("a 64x64 matmul", square.executable_for(&ms), 1),
    ];
    for (what, exe, calls) in cases {
        let clif = exe.unwrap().clif_ir().to_string();
        let (imported, called) = imported_and_called(&clif);
        assert_eq!(
            imported, called,
            "{what}: imports are what is called:\n{clif}"
        );
        assert_eq!(called.len(), calls, "{what}:\n{clif}");
    }
}
