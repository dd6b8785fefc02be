//! issue 13 items 1 and 6 against JAX 0.10.2's own numbers (tests/data/jax_numpy.json, made by
//! tests/data/gen_jax_numpy.py): every new elementwise `jnp` / `lax` / `jax.scipy.special` /
//! `jax.nn` function, eager and under `jit`, in f32 and f64 (and int32, uint32, bool for the
//! integer ops), at inputs that include NaN, +-inf, +-0, rounding ties, domain boundaries and
//! integer overflow; and first derivatives (`vmap(grad(f))`) where JAX defines them.
//!
//! Tolerances: exact (bit for bit, NaN matching NaN) for rounding, predicates, remainders,
//! bitwise ops and everything built from exact operations; for transcendentals a budget in
//! ulps of the result's dtype per function, set at the measured maximum against XLA's own
//! approximations (`-- --nocapture` prints them), far below what a wrong formula or constant
//! gives (a relative error of 1e-5 is ~84 f32 ulps and ~5e10 f64 ulps).

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use jax_data::{array, ulps};

use cranax::lax::RoundingMethod;
use cranax::numpy as jnp;
use cranax::scipy::special as sp;
use cranax::{grad, jit, lax, nn, vmap, Array, DType, Function, ARG0, ARG1};

type F1 = fn(&Array) -> Array;
type F2 = fn(&Array, &Array) -> Array;

fn ok(r: cranax::Result<Array>) -> Array {
    r.unwrap()
}

fn unary(name: &str) -> Option<F1> {
    Some(match name {
        "floor" => |x| jnp::floor(x),
        "ceil" => |x| jnp::ceil(x),
        "trunc" => |x| jnp::trunc(x),
        "rint" => |x| jnp::rint(x),
        "round" => |x| jnp::round(x, 0),
        "round_decimals_2" => |x| jnp::round(x, 2),
        "lax_round_away" => |x| ok(lax::round(x, RoundingMethod::AwayFromZero)),
        "isnan" => |x| jnp::isnan(x),
        "isinf" => |x| jnp::isinf(x),
        "isfinite" => |x| jnp::isfinite(x),
        "signbit" => |x| jnp::signbit(x),
        "nan_to_num" => |x| jnp::nan_to_num(x, 0.0, None, None),
        "tan" => |x| jnp::tan(x),
        "arcsin" => |x| jnp::arcsin(x),
        "arccos" => |x| jnp::arccos(x),
        "arctan" => |x| jnp::arctan(x),
        "sinh" => |x| jnp::sinh(x),
        "cosh" => |x| jnp::cosh(x),
        "arcsinh" => |x| jnp::arcsinh(x),
        "arccosh" => |x| jnp::arccosh(x),
        "arctanh" => |x| jnp::arctanh(x),
        "log2" => |x| jnp::log2(x),
        "log10" => |x| jnp::log10(x),
        "exp2" => |x| jnp::exp2(x),
        "cbrt" => |x| jnp::cbrt(x),
        "square" => |x| jnp::square(x),
        "deg2rad" => |x| jnp::deg2rad(x),
        "rad2deg" => |x| jnp::rad2deg(x),
        "erf" => |x| sp::erf(x),
        "erfc" => |x| sp::erfc(x),
        "erfinv" => |x| sp::erfinv(x),
        "gammaln" => |x| sp::gammaln(x),
        "digamma" => |x| sp::digamma(x),
        "logit" => |x| sp::logit(x),
        "expit" => |x| sp::expit(x),
        "relu" => |x| nn::relu(x),
        "relu6" => |x| nn::relu6(x),
        "gelu_tanh" => |x| nn::gelu(x, true),
        "gelu_exact" => |x| nn::gelu(x, false),
        "silu" => |x| nn::silu(x),
        "softplus" => |x| nn::softplus(x),
        "elu" => |x| nn::elu(x, 1.0),
        "leaky_relu" => |x| nn::leaky_relu(x, 0.01),
        "sigmoid" => |x| nn::sigmoid(x),
        "log_sigmoid" => |x| nn::log_sigmoid(x),
        // integer and bool cases
        "bitwise_not" => |x| jnp::bitwise_not(x),
        "population_count" | "population_count_u32" => |x| ok(lax::population_count(x)),
        "clz" | "clz_u32" => |x| ok(lax::clz(x)),
        "abs" => |x| jnp::abs(x),
        "negative" => |x| jnp::negative(x),
        "sign" => |x| jnp::sign(x),
        "one_hot" => |x| nn::one_hot(x, 3, DType::F32),
        // along axes
        "softmax" => |x| nn::softmax(x, -1),
        "softmax_axis0" => |x| nn::softmax(x, 0),
        "log_softmax" => |x| nn::log_softmax(x, -1),
        "logsumexp" => |x| sp::logsumexp(x, Some(&[-1]), false),
        "logsumexp_all" => |x| sp::logsumexp(x, None, false),
        "logsumexp_keepdims" => |x| sp::logsumexp(x, Some(&[0]), true),
        "standardize" => |x| nn::standardize(x, -1, 1e-5),
        _ => return None,
    })
}

fn binary(name: &str) -> Option<F2> {
    Some(match name {
        "remainder" | "remainder_u32" => |x, y| jnp::remainder(x, y),
        "fmod" => |x, y| jnp::fmod(x, y),
        "floor_divide" | "floor_divide_u32" => |x, y| jnp::floor_divide(x, y),
        "copysign" => |x, y| jnp::copysign(x, y),
        "arctan2" => |x, y| jnp::arctan2(x, y),
        "hypot" => |x, y| jnp::hypot(x, y),
        "logaddexp" => |x, y| jnp::logaddexp(x, y),
        "heaviside" => |x, y| jnp::heaviside(x, y),
        "xlogy" => |x, y| sp::xlogy(x, y),
        "xlog1py" => |x, y| sp::xlog1py(x, y),
        "nextafter" => |x, y| jnp::nextafter(x, y),
        "rem_grad" => |x, y| ok(lax::rem(x, y)),
        "polygamma" => |x, y| sp::polygamma(x, y),
        "bitwise_and" => |x, y| jnp::bitwise_and(x, y),
        "bitwise_or" => |x, y| jnp::bitwise_or(x, y),
        "bitwise_xor" => |x, y| jnp::bitwise_xor(x, y),
        "left_shift" => |x, y| jnp::left_shift(x, y),
        "right_shift" | "right_shift_u32" => |x, y| jnp::right_shift(x, y),
        "shift_right_arithmetic" | "shift_right_arithmetic_u32" => {
            |x, y| ok(lax::shift_right_arithmetic(x, y))
        }
        _ => return None,
    })
}

/// How closely a value must match JAX's: within `ulps` (f32, f64), or within `atol` (f32, f64)
/// absolutely. 0 ulps and no atol is bit for bit. Where the budget is above a few ulps, the
/// excess is XLA's error, not cranax's (tests/math_reference.rs holds both paths to mpmath):
/// XLA's f32/f64 sinh, cosh and exp2 lose ~|x| eps at large |x| (exp2(3.0) is
/// 7.999999999999998 in f64), its digamma and lgamma are Lanczos/series forms with ~1e-7
/// (f32: lgamma(0.9) is 8e-6 off) / ~1e-15 (f64) absolute error, its f64 atanh is
/// 0.5 log((1+x)/(1-x)) (50 ulp at 0.4); gelu's tanh form cancels in `1 + tanh` for
/// negative x, so the last-ulp differences of the two tanh implementations grow there.
struct Tol {
    ulps: (u64, u64),
    atol: (f64, f64),
}

fn value_tol(name: &str) -> Tol {
    let t = |u32: u64, u64_: u64| Tol {
        ulps: (u32, u64_),
        atol: (0.0, 0.0),
    };
    match name {
        "sinh" | "cosh" => t(16, 14),
        "exp2" => t(18, 8),
        "arctanh" => t(1, 50),
        "erfc" | "gelu_exact" => t(4, 3),
        "logaddexp" | "softplus" => t(4, 4),
        "gammaln" | "digamma" | "polygamma" => Tol {
            ulps: (128, 16),
            atol: (1e-6, 1e-15),
        },
        "gelu_tanh" => Tol {
            ulps: (4, 4),
            atol: (3e-7, 1e-16),
        },
        "tan" | "arcsin" | "arccos" | "arctan" | "arcsinh" | "arccosh" | "cbrt" | "log2"
        | "log10" | "erf" | "erfinv" | "expit" | "silu" | "elu" | "sigmoid" | "log_sigmoid"
        | "logit" | "arctan2" | "hypot" | "xlogy" | "xlog1py" | "softmax" | "softmax_axis0"
        | "log_softmax" | "logsumexp" | "logsumexp_all" | "logsumexp_keepdims" | "standardize" => {
            t(2, 2)
        }
        _ => t(0, 0),
    }
}

/// Derivatives must match JAX's to `max |got - jax| <= tol max |jax|` (f32: ~32 eps, f64:
/// ~90 eps; the derivative formulas chain several rounded ops, and standardize's and gelu's
/// cancel).
const GRAD_RTOL: (f64, f64) = (4e-6, 2e-14);

/// The worst element of `got` against `want` under `tol`: (its ulp distance, its index, all
/// within tolerance?). NaN matches NaN; a shape, dtype or NaN mismatch is `u64::MAX` ulps;
/// zeros of opposite sign are 1 ulp apart.
/// Where JAX's result is 0 and cranax's is subnormal, it is XLA flushing subnormals (its CPU
/// code runs with FTZ), and counts as a match.
fn distance(got: &Array, want: &Array, tol: &Tol) -> (u64, usize, bool) {
    if got.shape() != want.shape() || got.dtype() != want.dtype() {
        return (u64::MAX, 0, false);
    }
    let f32s = got.dtype() == DType::F32;
    let (ulp_tol, atol) = if f32s {
        (tol.ulps.0, tol.atol.0)
    } else {
        (tol.ulps.1, tol.atol.1)
    };
    let tiny = if f32s {
        f32::MIN_POSITIVE as f64
    } else {
        f64::MIN_POSITIVE
    };
    let (g, w) = (got.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
    let mut worst = (0, 0, true);
    for i in 0..g.len() {
        let (d, fine) = if g[i].is_nan() || w[i].is_nan() {
            let same = g[i].is_nan() && w[i].is_nan();
            (if same { 0 } else { u64::MAX }, same)
        } else if got.dtype().is_float() {
            // +0 and -0 count as one ulp apart, so bit-for-bit cases check the sign of zero.
            let signed_zeros =
                g[i] == 0.0 && w[i] == 0.0 && g[i].is_sign_negative() != w[i].is_sign_negative();
            let d = if signed_zeros {
                1
            } else {
                ulps(g[i], w[i], f32s)
            };
            let flushed = w[i] == 0.0 && g[i].abs() < tiny;
            (d, d <= ulp_tol || (g[i] - w[i]).abs() <= atol || flushed)
        } else if g[i] == w[i] {
            (0, true)
        } else {
            (u64::MAX, false)
        };
        if !fine && worst.2 {
            worst = (d, i, false);
        } else if worst.2 && d > worst.0 {
            worst = (d, i, true);
        }
    }
    worst
}

/// `max |got - want| / max |want|` (infinite for a shape mismatch or a NaN where JAX has none).
fn relative_error(got: &Array, want: &Array) -> f64 {
    if got.shape() != want.shape() {
        return f64::INFINITY;
    }
    let (g, w) = (got.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
    let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let err = g.iter().zip(&w).fold(0.0f64, |m, (a, b)| {
        if a.is_nan() || b.is_nan() {
            if a.is_nan() && b.is_nan() {
                m
            } else {
                f64::INFINITY
            }
        } else {
            m.max((a - b).abs())
        }
    });
    if err == 0.0 {
        0.0
    } else {
        err / scale
    }
}

fn run_jit1(f: F1, x: &Array) -> Array {
    jit(move |x: &Array| f(x)).call((x.clone(),)).unwrap()
}

fn run_jit2(f: F2, x: &Array, y: &Array) -> Array {
    jit(move |x: &Array, y: &Array| f(x, y))
        .call((x.clone(), y.clone()))
        .unwrap()
}

/// Per-example derivatives as the generator computes them (vmap(grad(f)), or for the
/// functions along an axis, grad of sum(f(x) * w) or sum(f(x) * 0.7)).
fn grads(name: &str, args: &[Array], under_jit: bool) -> Vec<Array> {
    if name == "polygamma" {
        // Only in x: JAX raises for n, and so does cranax (`polygamma_rejects_a_gradient_in_n`).
        let f = binary(name).unwrap();
        let g = vmap(grad(move |n: &Array, x: &Array| f(n, x)).argnums(ARG1));
        let args = (args[0].clone(), args[1].clone());
        let dx = if under_jit {
            jit(g).call(args)
        } else {
            g.call(args)
        };
        return vec![jnp::zeros_like(&args_zero(&dx)), dx.unwrap()];
    }
    if let Some(f) = binary(name) {
        let g = vmap(grad(move |x: &Array, y: &Array| f(x, y)).argnums((ARG0, ARG1)));
        let (dx, dy) = if under_jit {
            jit(g).call((args[0].clone(), args[1].clone())).unwrap()
        } else {
            g.call((args[0].clone(), args[1].clone())).unwrap()
        };
        return vec![dx, dy];
    }
    let f = unary(name).unwrap();
    let along_axis = matches!(
        name,
        "softmax"
            | "softmax_axis0"
            | "log_softmax"
            | "logsumexp"
            | "logsumexp_all"
            | "logsumexp_keepdims"
            | "standardize"
    );
    let d = if along_axis {
        let w = Array::from_vec(vec![0.7, -0.2, 1.1, 0.4, 0.3, 0.9, -1.5, 2.0], &[2, 4]).unwrap();
        let w = jnp::astype(&w, args[0].dtype());
        let loss = move |x: &Array| {
            let y = f(x);
            if y.shape() == x.shape() {
                jnp::sum(jnp::multiply(&y, &w), None, false)
            } else {
                jnp::sum(jnp::multiply(&y, 0.7f64), None, false)
            }
        };
        if under_jit {
            jit(grad(loss)).call((args[0].clone(),)).unwrap()
        } else {
            grad(loss).call((args[0].clone(),)).unwrap()
        }
    } else {
        let g = vmap(grad(move |x: &Array| f(x)));
        if under_jit {
            jit(g).call((args[0].clone(),)).unwrap()
        } else {
            g.call((args[0].clone(),)).unwrap()
        }
    };
    vec![d]
}

fn args_zero(r: &cranax::Result<Array>) -> Array {
    r.as_ref().unwrap().clone()
}

#[test]
fn polygamma_rejects_a_gradient_in_n() {
    let f = |n: &Array, x: &Array| sp::polygamma(n, x);
    let e = grad(f)
        .call((Array::scalar(1.0f64), Array::scalar(2.0f64)))
        .unwrap_err();
    assert!(e
        .to_string()
        .contains("polygamma gradient with respect to m is not supported"));
}

#[test]
fn nextafter_has_no_derivative() {
    let f = |x: &Array| jnp::nextafter(x, 1.0f64);
    let e = grad(f).call((Array::scalar(0.5f64),)).unwrap_err();
    assert!(e
        .to_string()
        .contains("Differentiation rule for 'nextafter' not implemented"));
}

#[test]
fn every_function_matches_jax_eager_and_jit_values_and_grads() {
    let data = jax_data::load("jax_numpy.json");
    let mut failures = Vec::new();
    let mut measured: std::collections::BTreeMap<String, String> = Default::default();
    for case in data["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let dtype = case["dtype"].as_str().unwrap();
        let args: Vec<Array> = case["args"].as_array().unwrap().iter().map(array).collect();
        let want = array(&case["out"]);
        let f32s = dtype == "float32";
        let tol = value_tol(name);
        let results = if let Some(f) = binary(name) {
            vec![
                ("eager", f(&args[0], &args[1])),
                ("jit", run_jit2(f, &args[0], &args[1])),
            ]
        } else if let Some(f) = unary(name) {
            vec![("eager", f(&args[0])), ("jit", run_jit1(f, &args[0]))]
        } else {
            panic!("no cranax function for case {name}");
        };
        for (path, got) in results {
            let (d, at, fine) = distance(&got, &want, &tol);
            let key = format!("{name} {dtype} {path}");
            measured.insert(key.clone(), format!("{d} ulp"));
            if !fine {
                failures.push(format!(
                    "{key}: {d} ulp (allowed {:?}) at element {at}: got {got}, JAX {want}",
                    tol.ulps
                ));
            }
        }
        if let Some(gargs) = case.get("grad_args") {
            let gargs: Vec<Array> = gargs.as_array().unwrap().iter().map(array).collect();
            let wants: Vec<Array> = case["grads"]
                .as_array()
                .unwrap()
                .iter()
                .map(array)
                .collect();
            let gtol = if f32s { GRAD_RTOL.0 } else { GRAD_RTOL.1 };
            for under_jit in [false, true] {
                let got = grads(name, &gargs, under_jit);
                for (k, (g, w)) in got.iter().zip(&wants).enumerate() {
                    if name == "polygamma" && k == 0 {
                        continue; // no derivative in n (JAX raises)
                    }
                    let e = relative_error(g, w);
                    let key = format!("d{name}/darg{k} {dtype} jit={under_jit}");
                    measured.insert(key.clone(), format!("{e:.2e} relative"));
                    if e > gtol {
                        failures.push(format!(
                            "{key}: relative error {e:.3e} (allowed {gtol:e}): got {g}, JAX {w}"
                        ));
                    }
                }
            }
        }
    }
    for (k, d) in &measured {
        if d != "0 ulp" && d != "0.00e0 relative" {
            println!("{k:50} {d}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The new primitives print as JAX 0.10.2 prints them (strings from `jax.make_jaxpr`; literals
/// without JAX's `:f32[]` suffix, as cranax's printer writes every literal: docs/JAXPR.md).
#[test]
fn jaxprs_print_as_jax() {
    use cranax::make_jaxpr;
    let x = Array::scalar(1.5f32);
    let cases: [(&str, String); 5] = [
        (
            "{ lambda ; a:f32[]. let b:f32[] = round[rounding_method=0] a in (b,) }",
            make_jaxpr(|x: &Array| ok(lax::round(x, RoundingMethod::AwayFromZero)))
                .call((x.clone(),))
                .unwrap()
                .to_string(),
        ),
        (
            "{ lambda ; a:f32[]. let b:bool[] = is_finite a in (b,) }",
            make_jaxpr(|x: &Array| jnp::isfinite(x))
                .call((x.clone(),))
                .unwrap()
                .to_string(),
        ),
        (
            "{ lambda ; a:f32[] b:f32[]. let c:f32[] = atan2 a b in (c,) }",
            make_jaxpr(|x: &Array, y: &Array| jnp::arctan2(x, y))
                .call((x.clone(), x.clone()))
                .unwrap()
                .to_string(),
        ),
        (
            "{ lambda ; a:i32[]. let\n    b:f32[] = convert_element_type[new_dtype=float32 weak_type=False] a\n    c:f32[] = cbrt b\n  in (c,) }",
            make_jaxpr(|x: &Array| jnp::cbrt(x))
                .call((Array::scalar(5i32),))
                .unwrap()
                .to_string(),
        ),
        (
            "{ lambda ; a:f32[]. let\n    _:f32[] = digamma a\n    b:f32[] = polygamma 1.0 a\n    c:f32[] = mul 1.0 b\n  in (c,) }",
            make_jaxpr(grad(|x: &Array| sp::digamma(x)))
                .call((x.clone(),))
                .unwrap()
                .to_string(),
        ),
    ];
    for (want, got) in cases {
        assert_eq!(got, want);
    }
}
