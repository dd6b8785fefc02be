//! issue 13 items 2 and 3 against JAX 0.10.2's own numbers (tests/data/jax_reductions.json,
//! made by tests/data/gen_jax_reductions.py): each jnp / lax reduction, scan and sort, eager
//! and under `jit`, in f32 and f64 (and int32 / bool where JAX takes them), at inputs with NaN,
//! +-inf, +-0 and ties; and the gradient of `sum(f(x) * w)` where JAX defines one.
//!
//! Values must match within `ulps` of the dtype (0: bit for bit, NaN matching NaN, the sign of
//! zero checked): exact for selections (max, min, arg*, sort, counts), a few ulps where the
//! summation order may differ from XLA's (var, std, mean, products, cumulative sums).

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::numpy as jnp;
use cranax::{grad, jit, lax, Array, DType, Function};
use jax_data::{array, ulps};

type F = Box<dyn Fn(&Array) -> Vec<Array>>;

fn one(f: impl Fn(&Array) -> Array + 'static) -> F {
    Box::new(move |x| vec![f(x)])
}

fn two(f: impl Fn(&Array) -> (Array, Array) + 'static) -> F {
    Box::new(move |x| {
        let (a, b) = f(x);
        vec![a, b]
    })
}

/// The cranax spelling of each case of the generator.
fn function(name: &str, dtype: &str) -> F {
    let w = |v: &[f64], shape: &[usize], dt: &str| {
        let a = Array::from_vec(v.to_vec(), shape).unwrap();
        if dt == "float32" {
            jnp::astype(&a, DType::F32)
        } else {
            a
        }
    };
    let w1 = w(&[0.5, 1.5, 2.0, 1.0], &[4], dtype);
    let wfull = w(
        &[0.2, 1.0, 0.5, 2.0, 1.0, 1.0, 3.0, 0.5, 0.7, 0.1, 0.4, 1.2],
        &[3, 4],
        dtype,
    );
    match name {
        "prod" => one(|x| jnp::prod(x, None, false)),
        "prod_axis0" => one(|x| jnp::prod(x, Some(&[0]), false)),
        "prod_axis1_keepdims" => one(|x| jnp::prod(x, Some(&[1]), true)),
        "all" => one(|x| jnp::all(x, None, false)),
        "all_axis1" => one(|x| jnp::all(x, Some(&[1]), false)),
        "any_axis0" => one(|x| jnp::any(x, Some(&[0]), false)),
        "any_keepdims" => one(|x| jnp::any(x, Some(&[1]), true)),
        "var" => one(|x| jnp::var(x, None, 0, false)),
        "var_axis1" => one(|x| jnp::var(x, Some(&[1]), 0, false)),
        "var_ddof1_axis0_keepdims" => one(|x| jnp::var(x, Some(&[0]), 1, true)),
        "var_ddof4_axis1" => one(|x| jnp::var(x, Some(&[1]), 4, false)),
        "std" => one(|x| jnp::std(x, None, 0, false)),
        "std_ddof1_axis1" => one(|x| jnp::std(x, Some(&[1]), 1, false)),
        "average" => one(|x| jnp::average(x, None, None, false)),
        "average_w1_axis1" => one(move |x| jnp::average(x, Some(&[1]), Some(&w1), false)),
        "average_wfull_axis0" => one(move |x| jnp::average(x, Some(&[0]), Some(&wfull), false)),
        "average_wfull_returned" => {
            two(move |x| jnp::average_returned(x, None, Some(&wfull), false))
        }
        "average_returned_axis1" => two(|x| jnp::average_returned(x, Some(&[1]), None, false)),
        "nansum" => one(|x| jnp::nansum(x, None, false)),
        "nansum_axis1" => one(|x| jnp::nansum(x, Some(&[1]), false)),
        "nanmean_axis1" => one(|x| jnp::nanmean(x, Some(&[1]), false)),
        "nanmean" => one(|x| jnp::nanmean(x, None, false)),
        "nanmax_axis1" => one(|x| jnp::nanmax(x, Some(&[1]), false)),
        "nanmax_axis0" => one(|x| jnp::nanmax(x, Some(&[0]), false)),
        "nanmin_axis1" => one(|x| jnp::nanmin(x, Some(&[1]), false)),
        "nanprod_axis1" => one(|x| jnp::nanprod(x, Some(&[1]), false)),
        "nanvar_axis1" => one(|x| jnp::nanvar(x, Some(&[1]), 0, false)),
        "nanvar_ddof1" => one(|x| jnp::nanvar(x, None, 1, false)),
        "nanstd_axis1" => one(|x| jnp::nanstd(x, Some(&[1]), 0, false)),
        "nanargmax_axis1" => one(|x| jnp::nanargmax(x, Some(1))),
        "nanargmin_axis1" => one(|x| jnp::nanargmin(x, Some(1))),
        "nanargmax" => one(|x| jnp::nanargmax(x, None)),
        "argmax_axis1" => one(|x| jnp::argmax(x, Some(1))),
        "argmin_axis1" => one(|x| jnp::argmin(x, Some(1))),
        "argmax_axis0" => one(|x| jnp::argmax(x, Some(0))),
        "argmin" => one(|x| jnp::argmin(x, None)),
        "count_nonzero" => one(|x| jnp::count_nonzero(x, None, false)),
        "count_nonzero_axis0" => one(|x| jnp::count_nonzero(x, Some(&[0]), false)),
        "ptp_axis1" => one(|x| jnp::ptp(x, Some(&[1]), false)),
        "ptp" => one(|x| jnp::ptp(x, None, false)),
        "reduce_xor_axis0" => one(|x| lax::reduce_xor(x, &[0]).unwrap()),
        "reduce_and_axis1" => one(|x| lax::reduce_and(x, &[1]).unwrap()),
        "reduce_or_axis1" => one(|x| lax::reduce_or(x, &[1]).unwrap()),
        "cumsum" => one(|x| jnp::cumsum(x, None)),
        "cumsum_axis1" => one(|x| jnp::cumsum(x, Some(1))),
        "lax_cumsum_axis0_reverse" => one(|x| lax::cumsum(x, 0, true).unwrap()),
        "cumprod_axis0" => one(|x| jnp::cumprod(x, Some(0))),
        "cumprod_axis1" => one(|x| jnp::cumprod(x, Some(1))),
        "lax_cumprod_axis1_reverse" => one(|x| lax::cumprod(x, 1, true).unwrap()),
        "lax_cummax_axis1" | "lax_cummax_axis1_wide" => one(|x| lax::cummax(x, 1, false).unwrap()),
        "lax_cummin_axis0_reverse" => one(|x| lax::cummin(x, 0, true).unwrap()),
        "lax_cummin_axis1" => one(|x| lax::cummin(x, 1, false).unwrap()),
        "lax_cumlogsumexp_axis1" => one(|x| lax::cumlogsumexp(x, 1, false).unwrap()),
        "lax_cumlogsumexp_axis0_reverse" => one(|x| lax::cumlogsumexp(x, 0, true).unwrap()),
        "cumulative_sum_axis1_initial" => one(|x| jnp::cumulative_sum(x, Some(1), true)),
        "nancumsum_axis1" => one(|x| jnp::nancumsum(x, Some(1))),
        "nancumprod_axis1" => one(|x| jnp::nancumprod(x, Some(1))),
        "sort_axis1" => one(|x| jnp::sort(x, Some(1), false)),
        "sort" => one(|x| jnp::sort(x, None, false)),
        "sort_axis0_descending" => one(|x| jnp::sort(x, Some(0), true)),
        "argsort_axis1" => one(|x| jnp::argsort(x, Some(1), false)),
        "argsort_axis1_descending" => one(|x| jnp::argsort(x, Some(1), true)),
        "argsort" => one(|x| jnp::argsort(x, None, false)),
        "lax_sort_key_val_axis1" => Box::new(|x| {
            let tens = lax::iota(DType::I32, x.shape(), 1).unwrap();
            let tens = lax::mul(&tens, &lax::scalar_like(&tens, 10.0)).unwrap();
            lax::sort(&[x.clone(), tens], 1, true, 1).unwrap()
        }),
        "lax_top_k_2" => two(|x| lax::top_k(x, 2).unwrap()),
        "searchsorted_left" | "searchsorted_right" => {
            let grid = w(
                &[
                    f64::NEG_INFINITY,
                    -1.0,
                    0.0,
                    0.0,
                    2.0,
                    2.0,
                    2.0,
                    3.5,
                    f64::INFINITY,
                    f64::NAN,
                ],
                &[10],
                dtype,
            );
            let side = if name.ends_with("left") {
                "left"
            } else {
                "right"
            };
            one(move |x| jnp::searchsorted(&grid, x, side))
        }
        "unique_size6" => one(|x| jnp::unique(x, 6, None)),
        "unique_size12_fill" => one(|x| jnp::unique(x, 12, Some(-7.0))),
        "unique_size3" => one(|x| jnp::unique(x, 3, None)),
        "median_axis1" => one(|x| jnp::median(x, Some(1), false)),
        "median" => one(|x| jnp::median(x, None, false)),
        "median_axis0_keepdims" => one(|x| jnp::median(x, Some(0), true)),
        "quantile_linear_axis1" => one(|x| jnp::quantile(x, 0.3, Some(1), "linear", false)),
        "quantile_lower_axis1" => one(|x| jnp::quantile(x, 0.3, Some(1), "lower", false)),
        "quantile_higher_axis1" => one(|x| jnp::quantile(x, 0.3, Some(1), "higher", false)),
        "quantile_midpoint_axis1" => one(|x| jnp::quantile(x, 0.3, Some(1), "midpoint", false)),
        "quantile_nearest_axis1" => one(|x| jnp::quantile(x, 0.3, Some(1), "nearest", false)),
        "quantile_nearest_half" => one(|x| jnp::quantile(x, 0.5, Some(1), "nearest", false)),
        "quantile_linear_all" => one(|x| jnp::quantile(x, 0.85, None, "linear", false)),
        "percentile_75_axis0" => one(|x| jnp::percentile(x, 75.0, Some(0), "linear", false)),
        "nanmedian_axis1" => one(|x| jnp::nanmedian(x, Some(1), false)),
        "nanquantile_linear_axis1" => one(|x| jnp::nanquantile(x, 0.4, Some(1), "linear", false)),
        "nanpercentile_90" => one(|x| jnp::nanpercentile(x, 90.0, None, "linear", false)),
        other => panic!("no cranax function for case {other}"),
    }
}

/// The ulp budget of a case: 0 for selections and exact arithmetic; where cranax adds or
/// multiplies in another order than XLA (a mean, variance or weighted average of 4-12
/// elements, or their derivatives) a few ulps.
fn value_ulps(name: &str) -> u64 {
    let rounded = [
        "var",
        "std",
        "average",
        "nanmean",
        "nanvar",
        "nanstd",
        "prod",
        "cumsum",
        "cumprod",
        "cumulative_sum",
        "lax_cumsum",
        "lax_cumprod",
        "lax_cumlogsumexp",
        "nancum",
    ];
    // XLA contracts the linear interpolation `low * (1 - w) + high * w` into an fma.
    let interpolated = [
        "quantile_linear",
        "percentile",
        "nanquantile_linear",
        "nanpercentile",
    ];
    if rounded.iter().any(|p| name.starts_with(p)) {
        8
    } else if interpolated.iter().any(|p| name.starts_with(p)) {
        1
    } else {
        0
    }
}

/// Within `budget` ulps elementwise, or (where the budget is not 0: a rounded result that may
/// cancel) within `budget` eps times `scale` absolutely, the classic bound of a short sum of
/// terms of size `scale`. NaN matches NaN; +0 and -0 are one ulp apart. The first mismatch
/// otherwise.
fn mismatch(got: &Array, want: &Array, budget: u64, scale: f64) -> Option<String> {
    if got.shape() != want.shape() || got.dtype() != want.dtype() {
        return Some(format!("got {got:?}, JAX {want:?}"));
    }
    let (g, w) = (got.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
    let f32s = got.dtype() == DType::F32;
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let d = if a.is_nan() || b.is_nan() {
            if a.is_nan() && b.is_nan() {
                0
            } else {
                u64::MAX
            }
        } else if *a == 0.0 && *b == 0.0 {
            u64::from(a.is_sign_negative() != b.is_sign_negative())
        } else if got.dtype().is_float() {
            ulps(*a, *b, f32s)
        } else {
            u64::from(a != b) * u64::MAX
        };
        let eps = if f32s {
            f32::EPSILON as f64
        } else {
            f64::EPSILON
        };
        let cancels = budget > 0 && (a - b).abs() <= budget as f64 * eps * scale;
        if d > budget && !cancels {
            return Some(format!("element {i}: {d} ulp: got {got}, JAX {want}"));
        }
    }
    None
}

/// The largest finite magnitude of `x` (1 if none).
fn finite_max(x: &Array) -> f64 {
    let v = x.to_f64_vec().unwrap();
    v.iter()
        .filter(|a| a.is_finite())
        .fold(0.0f64, |m, a| m.max(a.abs()))
        .max(if v.iter().all(|a| !a.is_finite()) {
            1.0
        } else {
            0.0
        })
}

#[test]
fn every_function_matches_jax_eager_and_jit_values_and_grads() {
    let data = jax_data::load("jax_reductions.json");
    let mut failures = Vec::new();
    let cases = data["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let dtype = case["dtype"].as_str().unwrap();
        let x = array(&case["args"][0]);
        let want: Vec<Array> = case["outs"].as_array().unwrap().iter().map(array).collect();
        let budget = value_ulps(name);
        let scale = finite_max(&x);
        let f = function(name, dtype);
        let eager = f(&x);
        let g = function(name, dtype);
        let jitted = jit(move |x: &Array| g(x)).call((x.clone(),)).unwrap();
        for (path, got) in [("eager", eager), ("jit", jitted)] {
            for (k, (o, w)) in got.iter().zip(&want).enumerate() {
                if let Some(m) = mismatch(o, w, budget, scale) {
                    failures.push(format!("{name} {dtype} {path} output {k} at {x}: {m}"));
                }
            }
        }
        let Some(gargs) = case.get("grad_args") else {
            continue;
        };
        let gx = array(&gargs[0]);
        let ws: Vec<Array> = case["grad_w"]
            .as_array()
            .unwrap()
            .iter()
            .map(array)
            .collect();
        let want_g = array(&case["grads"][0]);
        for under_jit in [false, true] {
            let (f, ws) = (function(name, dtype), ws.clone());
            let loss = move |x: &Array| {
                // The float outputs (indices have no tangent), as the generator weighs them.
                let ys: Vec<Array> = f(x).into_iter().filter(|y| y.dtype().is_float()).collect();
                let mut total = jnp::sum(jnp::multiply(&ys[0], &ws[0]), None, false);
                for (y, w) in ys.iter().zip(&ws).skip(1) {
                    total = jnp::add(&total, jnp::sum(jnp::multiply(y, w), None, false));
                }
                total
            };
            let got = if under_jit {
                jit(grad(loss)).call((gx.clone(),))
            } else {
                grad(loss).call((gx.clone(),))
            }
            .unwrap();
            // Derivatives chain several rounded ops and cancel (a variance's derivative is a
            // difference from the mean): relative to the largest derivative.
            if let Some(m) = mismatch(&got, &want_g, 16, finite_max(&want_g)) {
                failures.push(format!("grad {name} {dtype} jit={under_jit}: {m}"));
            }
        }
    }
    assert!(
        cases.len() > 150,
        "the reference data has {} cases",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
