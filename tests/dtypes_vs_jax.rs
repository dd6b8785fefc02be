//! Every dtype against JAX 0.10.2 (x64 on), bit for bit (tests/data/gen_jax_dtypes.py): the lax
//! elementwise ops, conversions between every pair of the 13 dtypes, and reductions, on edge
//! values (integer extremes, shift counts around the width, ±0, ±inf, NaN, f16 subnormals and
//! overflow). Transcendental functions, which JAX computes through f32 for the 16-bit floats and
//! with its own polynomials for f32/f64, may differ by one unit in the last place of the
//! result's dtype; everything else is exact (a NaN matches any NaN).
//!
//! XLA's CPU code runs with denormals flushed to zero in floating-point arithmetic (f32, f64
//! and bfloat16; float16 is computed in f32 and keeps its subnormals), while sign and bit
//! operations (neg, abs, a tiny `sin(x) = x`) pass them through. cranax keeps IEEE subnormals.
//! So elements with a subnormal operand are not compared, and results are compared modulo the
//! flush: the documented difference. The other one: JAX's CPU cumsum is an associative scan,
//! whose float roundings differ from a running sum's (one ulp here).

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::dtype::{DType, Scalar};
use cranax::lax::{self, RoundingMethod};
use cranax::{Array, Data, Result};
use jax_data::load;
use serde_json::Value;

fn dtype(name: &str) -> DType {
    DType::from_name(name).unwrap_or_else(|| panic!("unknown dtype {name}"))
}

/// Whether XLA's CPU code flushes subnormals of `dt` (f32 and wider, and bf16 computed in f32).
fn flushes(dt: DType) -> bool {
    matches!(dt, DType::F32 | DType::F64 | DType::BF16)
}

/// The bits with a subnormal of a flushing dtype replaced by the zero of its sign.
fn flushed(dt: DType, b: u64) -> u64 {
    let v = Scalar::from_bits(b, dt).to_f64();
    let subnormal = match dt {
        DType::F32 | DType::BF16 => v != 0.0 && v.abs() < f32::MIN_POSITIVE as f64,
        DType::F64 => v != 0.0 && v.abs() < f64::MIN_POSITIVE,
        _ => false,
    };
    if flushes(dt) && subnormal {
        b & (1u64 << (dt.bits() - 1))
    } else {
        b
    }
}

fn array(dt: DType, bits: &Value) -> Array {
    let bits = jax_data::bits(bits);
    let n = bits.len();
    Array::from_data(Data::from_bits(dt, bits.into_iter()), &[n]).unwrap()
}

fn bits_of(x: &Array) -> Vec<u64> {
    x.data().unwrap().to_bits()
}

/// Which elements to compare: those with no subnormal operand of a flushing dtype.
fn compared(operands: &[&Array]) -> Vec<bool> {
    let n = operands[0].size();
    (0..n)
        .map(|i| {
            operands.iter().all(|x| {
                let b = bits_of(x)[i];
                flushed(x.dtype(), b) == b
            })
        })
        .collect()
}

fn unary(op: &str, x: &Array) -> Option<Result<Array>> {
    Some(match op {
        "neg" => lax::neg(x),
        "abs" => lax::abs(x),
        "sign" => lax::sign(x),
        "square" => lax::square(x),
        "exp" => lax::exp(x),
        "log" => lax::log(x),
        "sin" => lax::sin(x),
        "tanh" => lax::tanh(x),
        "sqrt" => lax::sqrt(x),
        "floor" => lax::floor(x),
        "round" => lax::round(x, RoundingMethod::ToNearestEven),
        "is_finite" => lax::is_finite(x),
        "not" => lax::not(x),
        "population_count" => lax::population_count(x),
        "clz" => lax::clz(x),
        "integer_pow3" => lax::integer_pow(x, 3),
        "logistic" => lax::logistic(x),
        "expm1" => lax::expm1(x),
        "reduce_sum" => lax::reduce_sum(x, &[0]),
        "reduce_max" => lax::reduce_max(x, &[0]),
        "reduce_min" => lax::reduce_min(x, &[0]),
        "reduce_prod" => lax::reduce_prod(x, &[0]),
        "argmax" => lax::argmax(x, 0, DType::I32),
        "argmin" => lax::argmin(x, 0, DType::I32),
        "cumsum" => lax::cumsum(x, 0, false),
        _ => return None,
    })
}

fn binary(op: &str, x: &Array, y: &Array) -> Result<Array> {
    let f = match op {
        "add" => lax::add,
        "sub" => lax::sub,
        "mul" => lax::mul,
        "div" => lax::div,
        "rem" => lax::rem,
        "max" => lax::max,
        "min" => lax::min,
        "pow" => lax::pow,
        "atan2" => lax::atan2,
        "and" => lax::and,
        "or" => lax::or,
        "xor" => lax::xor,
        "shift_left" => lax::shift_left,
        "shift_right_logical" => lax::shift_right_logical,
        "shift_right_arithmetic" => lax::shift_right_arithmetic,
        "eq" => lax::eq,
        "lt" => lax::lt,
        "ge" => lax::ge,
        "nextafter" => lax::nextafter,
        _ => panic!("no binary op {op} in this test"),
    };
    f(x, y)
}

/// The transcendental functions: JAX's f32/f64 polynomials and the f32 detour of the 16-bit
/// floats may land one unit in the last place away.
fn ulp_tolerance(op: &str) -> u64 {
    match op {
        "exp" | "log" | "sin" | "tanh" | "logistic" | "expm1" | "pow" | "atan2" => 2,
        "cumsum" => 1,
        _ => 0,
    }
}

/// Distance in units in the last place of `dt` between two values' bits (0 for two NaNs).
fn ulps(dt: DType, a: u64, b: u64) -> u64 {
    let (x, y) = (
        Scalar::from_bits(a, dt).to_f64(),
        Scalar::from_bits(b, dt).to_f64(),
    );
    if x.is_nan() && y.is_nan() || a == b {
        return 0;
    }
    if x.is_nan() || y.is_nan() || x.signum() != y.signum() && x != 0.0 && y != 0.0 {
        return u64::MAX;
    }
    // Same sign: the bit patterns (sign bit cleared) are ordered as the values.
    let mask = (1u64 << (dt.bits() - 1)) - 1;
    (a & mask).abs_diff(b & mask)
}

fn same(dt: DType, got: &[u64], want: &[u64], mask: &[bool], tol: u64) -> bool {
    got.len() == want.len()
        && got.iter().zip(want).zip(mask).all(|((&g, &w), &m)| {
            let (g, w) = (flushed(dt, g), flushed(dt, w));
            !m || g == w || (dt.is_float() && ulps(dt, g, w) <= tol)
        })
}

fn show(dt: DType, bits: &[u64]) -> String {
    let vals: Vec<String> = bits
        .iter()
        .map(|&b| Scalar::from_bits(b, dt).to_string())
        .collect();
    format!("[{}]", vals.join(", "))
}

#[test]
fn every_op_on_every_dtype_matches_jax() {
    let data = load("jax_dtypes.json");
    let mut failures = vec![];
    let mut checked = 0;
    for case in data["cases"].as_array().unwrap() {
        let Some(op) = case["op"].as_str() else {
            continue;
        };
        let dt = dtype(case["dtype"].as_str().unwrap());
        let out_dt = dtype(case["out_dtype"].as_str().unwrap());
        let x = array(dt, &case["x"]);
        let (got, mask) = if case.get("y").is_some() {
            let y = array(dt, &case["y"]);
            (binary(op, &x, &y), compared(&[&x, &y]))
        } else {
            let got = unary(op, &x).unwrap_or_else(|| panic!("no unary op {op} in this test"));
            // A reduction's one result depends on every operand.
            let mask = compared(&[&x]);
            let mask = match &got {
                Ok(g) if g.size() != x.size() => vec![mask.iter().all(|&m| m); g.size()],
                _ => mask,
            };
            (got, mask)
        };
        let want = jax_data::bits(&case["out"]);
        checked += 1;
        match got {
            Err(e) => failures.push(format!("{op}({dt}): error {e}")),
            Ok(got) if got.dtype() != out_dt => {
                failures.push(format!("{op}({dt}): dtype {} not {out_dt}", got.dtype()))
            }
            Ok(got) => {
                let g = bits_of(&got);
                if !same(out_dt, &g, &want, &mask, ulp_tolerance(op)) {
                    failures.push(format!(
                        "{op}({dt}) on {}:\n   got {}\n  want {}",
                        show(dt, &bits_of(&x)),
                        show(out_dt, &g),
                        show(out_dt, &want)
                    ));
                }
            }
        }
    }
    assert!(checked > 450, "only {checked} cases");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ from JAX:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn convert_element_type_between_every_pair_matches_jax() {
    let data = load("jax_dtypes.json");
    let mut failures = vec![];
    let mut pairs = 0;
    for case in data["cases"].as_array().unwrap() {
        let Some(pair) = case["convert"].as_array() else {
            continue;
        };
        let (from, to) = (
            dtype(pair[0].as_str().unwrap()),
            dtype(pair[1].as_str().unwrap()),
        );
        let x = array(from, &case["x"]);
        let want = jax_data::bits(&case["out"]);
        let got = bits_of(&lax::convert_element_type(&x, to).unwrap());
        if !same(to, &got, &want, &compared(&[&x]), 0) {
            failures.push(format!(
                "{from} -> {to} of {}:\n   got {}\n  want {}",
                show(from, &bits_of(&x)),
                show(to, &got),
                show(to, &want)
            ));
        }
        pairs += 1;
    }
    assert_eq!(pairs, 13 * 13);
    assert!(
        failures.is_empty(),
        "{} of {pairs} conversions differ from JAX:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rust_scalars_promote_as_jax_scalars_do() {
    // A Rust float or i32 is a weak scalar (a Python number); other integer widths are strong
    // (NumPy scalars), as `jnp.int8(x) + np.int64(2)` is int64 in JAX with x64.
    let i8s = Array::from_slice(&[1i8, -2, 3]);
    assert_eq!((&i8s + 1).dtype(), DType::I8);
    assert_eq!((&i8s + 2i64).dtype(), DType::I64);
    assert_eq!((&i8s * 0.5).dtype(), DType::F32);
    assert_eq!((&i8s + 7u8).dtype(), DType::I16);
    let h = Array::from_slice(&[cranax::half::f16::from_f32(1.5)]);
    assert_eq!((&h * 2.0).dtype(), DType::F16);
    assert_eq!((&h * 2.0).to_f64_vec().unwrap(), vec![3.0]);
    let u = Array::from_slice(&[u32::MAX]);
    assert_eq!((&u + 1u64).dtype(), DType::U64);
    assert_eq!((&u + 1u64).to_vec::<u64>().unwrap(), vec![1u64 << 32]);
    assert_eq!((&u + Array::from_slice(&[1i32])).dtype(), DType::I64);
}
