//! `lax.reduce_window` (sum / max / min pooling) and `lax.clamp` against JAX 0.10.2's own
//! numbers (tests/data/jax_window.json, made by tests/data/gen_jax_window.py): every case
//! eager, under `jit`, and under `vmap` (two examples stacked), its JVP and its gradient where
//! JAX defines one (the max's gradient goes to the first maximum of a window, as in JAX), in
//! f32 and f64 (int32 values too); check_grads (fwd and rev, order 2, f64) on sum pooling and
//! on max pooling away from ties; and the printed jaxprs of a max pool, its grad, its jvp, a
//! vmapped min pool, a sum pool's grad and clamp.
//!
//! Selections (max, min, their derivatives, clamp) must match bit for bit, NaN for NaN; sums
//! within 4 ulps of the largest term (XLA and cranax both add a window in row-major order from
//! the init value, but XLA may reassociate).

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::lax::{self, Padding, Window};
use cranax::numpy as jnp;
use cranax::prims::BinaryOp;
use cranax::test_util::{check_grads, FWD_REV};
use cranax::{grad, jit, jvp, make_jaxpr, vmap, Argnum, Array, DType, Function};
use jax_data::{array, ulps};
use serde_json::Value;

fn usizes(v: &Value) -> Option<Vec<usize>> {
    v.as_array()
        .map(|a| a.iter().map(|d| d.as_u64().unwrap() as usize).collect())
}

fn padding(v: &Value) -> Padding {
    match v.as_str() {
        Some("VALID") => Padding::Valid,
        Some("SAME") => Padding::Same,
        Some("SAME_LOWER") => Padding::SameLower,
        Some(other) => panic!("padding {other}"),
        None => Padding::Explicit(
            v.as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let p = usizes(p).unwrap();
                    (p[0] as i64, p[1] as i64)
                })
                .collect(),
        ),
    }
}

/// The `lax::reduce_window` call a case records.
fn window_fn(case: &Value) -> impl Fn(&Array) -> cranax::core::error::Result<Array> + Clone {
    let op = match case["op"].as_str().unwrap() {
        "sum" => BinaryOp::Add,
        "max" => BinaryOp::Max,
        "min" => BinaryOp::Min,
        other => panic!("op {other}"),
    };
    let dtype = array(&case["x"]).dtype();
    let init = match (&case["init"], &op, dtype) {
        (Value::Null, BinaryOp::Add, _) => 0.0,
        (Value::Null, BinaryOp::Max, DType::I32) => i32::MIN as f64,
        (Value::Null, BinaryOp::Min, DType::I32) => i32::MAX as f64,
        (Value::Null, BinaryOp::Max, _) => f64::NEG_INFINITY,
        (Value::Null, _, _) => f64::INFINITY,
        (v, _, _) => jax_data::num(v),
    };
    let wd = usizes(&case["window_dimensions"]).unwrap();
    let ws = usizes(&case["window_strides"]).unwrap();
    let pad = padding(&case["padding"]);
    let bd = usizes(&case["base_dilation"]);
    let wdl = usizes(&case["window_dilation"]);
    move |x: &Array| {
        let init = Array::weak_scalar(init, x.dtype());
        lax::reduce_window(
            x,
            &init,
            op.clone(),
            &wd,
            Some(&ws),
            &pad,
            bd.as_deref(),
            wdl.as_deref(),
        )
    }
}

/// The first element of `got` more than `budget` ulps of the largest magnitude of `want` away
/// (0: bit for bit; NaN matches NaN, the sign of zero counts).
fn mismatch(got: &Array, want: &Array, budget: u64) -> Option<String> {
    if got.shape() != want.shape() || got.dtype() != want.dtype() {
        return Some(format!("got {got:?}, JAX {want:?}"));
    }
    let (g, w) = (got.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
    let f32s = got.dtype() == DType::F32;
    let scale = w
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let eps = if f32s {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    };
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = if a.is_nan() || b.is_nan() {
            a.is_nan() && b.is_nan()
        } else if budget == 0 {
            a == b && a.is_sign_negative() == b.is_sign_negative()
        } else {
            a == b
                || (got.dtype().is_float() && ulps(*a, *b, f32s) <= budget)
                || (a - b).abs() <= budget as f64 * eps * scale
        };
        if !ok {
            return Some(format!(
                "element {i}: got {a}, JAX {b} (got {got}, JAX {want})"
            ));
        }
    }
    None
}

fn describe(case: &Value) -> String {
    format!(
        "{} {} {} init={}",
        case["name"].as_str().unwrap(),
        case["op"].as_str().unwrap_or(""),
        case["dtype"].as_str().unwrap(),
        case["init"]
    )
}

#[test]
fn reduce_window_matches_jax_eager_jit_vmap_jvp_and_grad() {
    let data = jax_data::load("jax_window.json");
    let cases: Vec<&Value> = data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("op").is_some())
        .collect();
    let mut failures = Vec::new();
    for case in &cases {
        let what = describe(case);
        let f = window_fn(case);
        let x = array(&case["x"]);
        let want = array(&case["out"]);
        let budget = if case["op"] == "sum" { 4 } else { 0 };
        let mut check =
            |path: &str, got: cranax::core::error::Result<Array>, want: &Array| match got {
                Ok(got) => {
                    if let Some(m) = mismatch(&got, want, budget) {
                        failures.push(format!("{what} {path}: {m}"));
                    }
                }
                Err(e) => failures.push(format!("{what} {path}: {e}")),
            };
        check("eager", f(&x), &want);
        check("jit", jit(f.clone()).call((x.clone(),)), &want);
        // vmap over two examples (x and 2x) against each computed alone.
        let x2 = jnp::multiply(&x, Array::weak_scalar(2.0, x.dtype()));
        let both = jnp::stack(&[x.clone(), x2.clone()], 0);
        if let (Ok(a), Ok(b)) = (f(&x), f(&x2)) {
            let want_v = jnp::stack(&[a, b], 0);
            check("vmap", vmap(f.clone()).call((both.clone(),)), &want_v);
            check("jit(vmap)", jit(vmap(f.clone())).call((both,)), &want_v);
        }
        if let Some(t) = case.get("t") {
            let t = array(t);
            let want_t = array(&case["jvp"]);
            let got = jvp(&f, (x.clone(),), (t.clone(),)).map(|(_, t)| t);
            check("jvp", got, &want_t);
            let g = f.clone();
            let got =
                jit(move |x: &Array, t: &Array| jvp(&g, (x.clone(),), (t.clone(),)).map(|p| p.1))
                    .call((x.clone(), t));
            check("jit(jvp)", got, &want_t);
        }
        if let Some(w) = case.get("w") {
            let w = array(w);
            let want_g = array(&case["grad"]);
            let g = f.clone();
            let loss = move |x: &Array| g(x).map(|y| jnp::sum(jnp::multiply(&y, &w), None, false));
            check("grad", grad(loss.clone()).call((x.clone(),)), &want_g);
            check("jit(grad)", jit(grad(loss)).call((x.clone(),)), &want_g);
        }
    }
    assert!(
        cases.len() > 250,
        "the reference data has {} window cases",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn clamp_matches_jax_eager_jit_and_grads() {
    let data = jax_data::load("jax_window.json");
    let mut n = 0;
    for case in data["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if !name.starts_with("clamp") {
            continue;
        }
        n += 1;
        let (lo, x, hi) = (array(&case["lo"]), array(&case["x"]), array(&case["hi"]));
        let want = array(&case["out"]);
        let f = |lo: &Array, x: &Array, hi: &Array| lax::clamp(lo, x, hi);
        let eager = f(&lo, &x, &hi).unwrap();
        let jitted = jit(f).call((lo.clone(), x.clone(), hi.clone())).unwrap();
        for (path, got) in [("eager", eager), ("jit", jitted)] {
            if let Some(m) = mismatch(&got, &want, 0) {
                panic!("{name} {} {path}: {m}", case["dtype"]);
            }
        }
        let Some(w) = case.get("w") else { continue };
        let w = array(w);
        let loss = move |lo: &Array, x: &Array, hi: &Array| {
            lax::clamp(lo, x, hi).map(|y| jnp::sum(jnp::multiply(&y, &w), None, false))
        };
        let g = grad(loss).argnums((Argnum::<0>, Argnum::<1>, Argnum::<2>));
        let (glo, gx, ghi) = g.call((lo.clone(), x.clone(), hi.clone())).unwrap();
        for (k, got) in [glo, gx, ghi].iter().enumerate() {
            let want = array(&case["grads"][k]);
            if let Some(m) = mismatch(got, &want, 0) {
                panic!("{name} {} grad {k}: {m}", case["dtype"]);
            }
        }
    }
    assert_eq!(n, 8, "clamp cases");
}

fn pool2(x: &Array) -> cranax::core::error::Result<Array> {
    let neg_inf = Array::weak_scalar(f64::NEG_INFINITY, x.dtype());
    lax::reduce_window(
        x,
        &neg_inf,
        BinaryOp::Max,
        &[2, 2],
        Some(&[1, 2]),
        &Padding::Same,
        None,
        None,
    )
}

fn sum_pool(x: &Array) -> cranax::core::error::Result<Array> {
    let w = Window {
        window_strides: vec![2, 1],
        padding: vec![(1, 0), (0, 1)],
        base_dilation: vec![1, 2],
        ..Window::new(&[2, 3])
    };
    lax::reduce_window_sum(x, &w)
}

/// cranax prints JAX 0.4.13's literals (docs/JAXPR.md: `1.0` for JAX 0.10's `1.0:f64[]`),
/// `broadcast_in_dim`'s shape, no `out_sharding=None`, `pad`'s config as plain integers, and
/// names a dropped result where JAX 0.10 prints `_`; both texts are brought to one form.
fn normal(text: &str) -> String {
    let mut t = text.to_string();
    for ty in [":i32[]", ":u32[]", ":f32[]", ":f64[]", ":bool[]"] {
        t = t.replace(ty, "");
    }
    while let Some(a) = t.find(" shape=(") {
        let b = a + t[a..].find(')').expect("closing bracket") + 1;
        t.replace_range(a..b, "");
    }
    while let Some(a) = t.find("np.int64(") {
        let close = a + t[a..].find(')').expect("closing bracket");
        t.replace_range(close..close + 1, "");
        t.replace_range(a..a + "np.int64(".len(), "");
    }
    let t = t
        .replace("[broadcast_dimensions=()]", "")
        .replace(" out_sharding=None", "");
    // JAX broke its lines before the parts removed above were removed, so line breaks are
    // compared as spaces: a bracket that JAX broke over lines reads as the flat one.
    t.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("[ ", "[")
        .replace(" ]", "]")
}

#[test]
fn printed_jaxprs_match_jax() {
    let data = jax_data::load("jax_window.json");
    let want = |k: &str| normal(data["jaxprs"][k].as_str().unwrap());
    let x = Array::zeros(&[4, 5], DType::F64);
    let p = |s: String| normal(&s);
    assert_eq!(
        p(make_jaxpr(pool2).call((x.clone(),)).unwrap().to_string()),
        want("max_pool")
    );
    let pool_loss = |x: &Array| pool2(x).map(|y| jnp::sum(y, None, false));
    let got = make_jaxpr(grad(pool_loss)).call((x.clone(),)).unwrap();
    assert_eq!(p(got.to_string()), want("max_pool_grad"));
    let pool_jvp = |x: &Array| jvp(&pool2, (x.clone(),), (x.clone(),));
    let got = make_jaxpr(pool_jvp).call((x.clone(),)).unwrap();
    assert_eq!(p(got.to_string()), want("max_pool_jvp"));
    let min_pool = |x: &Array| {
        let w = Window::new(&[2]);
        lax::reduce_window_min(x, &w)
    };
    let got = make_jaxpr(vmap(min_pool)).call((x.clone(),)).unwrap();
    assert_eq!(p(got.to_string()), want("min_pool_vmap"));
    let sum_loss = |x: &Array| sum_pool(x).map(|y| jnp::sum(y, None, false));
    let got = make_jaxpr(grad(sum_loss)).call((x.clone(),)).unwrap();
    assert_eq!(p(got.to_string()), want("sum_pool_grad"));
    let clamp = |x: &Array| {
        let (lo, hi) = (Array::scalar(0.0f64), Array::scalar(1.0f64));
        lax::clamp(&lo, x, &hi)
    };
    let got = make_jaxpr(clamp).call((x,)).unwrap();
    assert_eq!(p(got.to_string()), want("clamp"));
}

/// Values of no symmetry, so no window has ties (f64).
fn distinct(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|k| ((k * 37 % 101) as f64) * 0.173 - 3.1 + (k as f64) * 1e-3)
        .collect();
    Array::from_vec(v, shape).unwrap()
}

#[test]
fn check_grads_sum_and_max_pooling_order_2() {
    let x = distinct(&[5, 6]);
    check_grads(&sum_pool, (x.clone(),), 2, FWD_REV).unwrap();
    let dilated = |x: &Array| {
        let w = Window {
            window_strides: vec![2, 1],
            padding: vec![(2, 1), (0, 0)],
            base_dilation: vec![2, 1],
            window_dilation: vec![1, 2],
            ..Window::new(&[3, 2])
        };
        lax::reduce_window_sum(x, &w)
    };
    check_grads(&dilated, (x.clone(),), 2, FWD_REV).unwrap();
    check_grads(&pool2, (x.clone(),), 2, FWD_REV).unwrap();
    let min_pool = |x: &Array| {
        let w = Window {
            window_strides: vec![1, 2],
            padding: vec![(1, 1), (0, 1)],
            base_dilation: vec![1, 2],
            ..Window::new(&[3, 2])
        };
        lax::reduce_window_min(x, &w)
    };
    check_grads(&min_pool, (x.clone(),), 2, FWD_REV).unwrap();
    let jitted = jit(pool2);
    check_grads(&jitted, (x,), 1, FWD_REV).unwrap();
}
