//! Structured control flow against JAX's own values: tests/data/jax_control_flow.json, made by
//! the committed tests/data/gen_jax_control_flow.py (JAX in f64 unless a case says f32). Each
//! function is written here with cranax's `lax::{while_loop, fori_loop, scan, scan_with, map,
//! cond, switch}` exactly as the script writes it with JAX's, and compared eagerly, under
//! `jit`, and under `vmap`, `grad`, `jvp`, `jacfwd` and their compositions. Iteration counts
//! must agree exactly, f64 values to rounding.

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::core::error::or_raise;
use cranax::lax::{self, ScanOptions};
use cranax::numpy as jnp;
use cranax::pytree::ArgTuple;
use cranax::{grad, jacfwd, jit, jvp, vmap, Array, DType, Function, Result, ARG0, ARG1};
use jax_data::{arr, floats, load};
use serde_json::Value;

fn ok<T>(r: Result<T>) -> T {
    or_raise(r)
}

fn case(name: &str) -> Value {
    load("jax_control_flow.json")["cases"][name].clone()
}

fn f64s(v: &Value) -> Array {
    Array::from_slice(&floats(v))
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn ints(v: &Value) -> Vec<i32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_i64().unwrap() as i32)
        .collect()
}

/// Agreement with JAX within `rtol` relative (absolute below magnitude 1), same length.
fn assert_close_tol(what: &str, got: &Array, want: &[f64], rtol: f64) {
    let got: Vec<f64> = match got.dtype() {
        DType::F32 => got
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        _ => got.to_vec::<f64>().unwrap(),
    };
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs JAX {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rtol * w.abs().max(1.0),
            "{what}[{i}]: {g} vs JAX {w}"
        );
    }
}

/// f64 agreement up to the rounding of a few operations (summation orders may differ).
fn assert_close(what: &str, got: &Array, want: &[f64]) {
    assert_eq!(got.dtype(), DType::F64, "{what}");
    assert_close_tol(what, got, want, 1e-12);
}

fn assert_counts(what: &str, got: &Array, want: &[i32]) {
    assert_eq!(
        got.to_vec::<i32>().unwrap(),
        want,
        "{what}: iteration counts"
    );
}

/// The transformation's result, or a panic showing its error.
fn run<T>(what: &str, r: Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e}"))
}

// ---- the script's functions --------------------------------------------------------------

/// `(x, i)`: `x = (x + a/x)/2` from `x = a` while `|x*x - a| > tol*a` and `i < 100`.
fn newton_sqrt(a: &Array, tol: f64) -> (Array, Array) {
    ok(lax::while_loop(
        |c: &(Array, Array)| {
            let far = jnp::greater(jnp::abs(&c.0 * &c.0 - a), a * tol);
            jnp::logical_and(far, jnp::less(&c.1, 100))
        },
        |c: &(Array, Array)| ((&c.0 + a / &c.0) * 0.5, jnp::add(&c.1, 1)),
        (a.clone(), Array::scalar(0i32)),
    ))
}

fn newton_value(a: &Array) -> Array {
    newton_sqrt(a, 1e-12).0
}

/// The workload's RK4 of `y' = -k y + sin t`, `h = 0.01`, `t = i h`; `sum(y_steps)`.
fn rk4(y0: &Array, k: &Array, steps: usize) -> Array {
    let f = |t: &Array, y: &Array| -k * y + jnp::sin(t);
    let h = 0.01;
    let step = |i: &Array, y: &Array| {
        let t = jnp::astype(i, DType::F64) * 0.01;
        let k1 = f(&t, y);
        let k2 = f(&(&t + h / 2.0), &(y + h / 2.0 * &k1));
        let k3 = f(&(&t + h / 2.0), &(y + h / 2.0 * &k2));
        let k4 = f(&(&t + h), &(y + h * &k3));
        y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    };
    ok(lax::fori_loop(0, steps, step, y0.clone())).sum()
}

fn rk4_50(y0: &Array, k: &Array) -> Array {
    rk4(y0, k, 50)
}

/// The workload's RNN: `h = tanh(W h + U x)` from `h = 0`; `sum(h_T) + mean(sum(h_t))`.
fn rnn_loss(w: &Array, u: &Array, xs: &Array) -> Array {
    let step = |h: &Array, x: &Array| {
        let h = jnp::tanh(w.matmul(h) + u.matmul(x));
        let s = h.sum();
        (h, s)
    };
    let h0 = jnp::zeros(&[w.shape()[0]], DType::F64);
    let (h, ys) = ok(lax::scan(step, h0, xs.clone()));
    h.sum() + ys.mean()
}

/// A vector carry and two stacked outputs: `[c_final, ys0.ravel(), ys1.ravel()]`.
fn scan_stacked(x: &Array) -> Array {
    let step = |c: &Array, x: &Array| {
        let c2 = jnp::sin(c) * x + c * 0.5;
        let ys = (&c2 * &c2, jnp::cos(c) - x);
        (c2, ys)
    };
    let init = Array::from_slice(&[1.0f64, -0.5]);
    let (c, (y0, y1)) = ok(lax::scan(step, init, x.reshape(&[4, 2])));
    jnp::concatenate(&[c, y0.reshape(&[-1]), y1.reshape(&[-1])], 0)
}

/// `x > 0.25`: `sin(x) x^2 c`, else `cos(x) - c x`, with `c = 1.5` closed over by both.
fn cond_fn(x: &Array) -> Array {
    let c = Array::from(1.5f64);
    ok(lax::cond(
        &jnp::greater(x, 0.25),
        |x: &Array| jnp::sin(x) * x.pow(2) * &c,
        |x: &Array| jnp::cos(x) - &c * x,
        x,
    ))
}

fn switch_fn(i: &Array, x: &Array) -> Array {
    let b0 = |x: &Array| x * 2.0;
    let b1 = |x: &Array| jnp::sin(x);
    let b2 = |x: &Array| x.pow(3) - 1.0;
    ok(lax::switch(i, &[&b0, &b1, &b2], x))
}

/// Carry `(x, v, n)`: while `x < 100`: `(1.5 x + 1, 0.9 v + x, n + 1)`.
fn while_pytree(x: &Array, v: &Array) -> (Array, Array, Array) {
    ok(lax::while_loop(
        |c: &(Array, Array, Array)| jnp::less(&c.0, 100.0),
        |c: &(Array, Array, Array)| (&c.0 * 1.5 + 1.0, &c.1 * 0.9 + &c.0, jnp::add(&c.2, 1)),
        (x.clone(), v.clone(), Array::scalar(0i32)),
    ))
}

type ScanTwo = ((Array, Array), (Array, Array));

/// Carry `(c, s)`, xs `(a, b)`: `(0.9 c + a b, s + sum(a))`, ys `(c + a, s b)`.
fn scan_two(c: &Array, xa: &Array, xb: &Array, reverse: bool) -> ScanTwo {
    let step = |carry: &(Array, Array), x: &(Array, Array)| {
        let ((c, s), (a, b)) = (carry, x);
        ((c * 0.9 + a * b, s + a.sum()), (c + a, s * b))
    };
    let opts = ScanOptions {
        reverse,
        ..ScanOptions::default()
    };
    let init = (c.clone(), Array::from(0.25f64));
    ok(lax::scan_with(step, init, (xa.clone(), xb.clone()), opts))
}

fn cond_pytree(p: &Array, x: &Array, y: &Array) -> (Array, Array) {
    ok(lax::cond(
        p,
        |o: &(Array, Array)| (&o.0 * &o.1, jnp::sin(&o.1)),
        |o: &(Array, Array)| (&o.0 - &o.1, jnp::cos(&o.0) * 2.0),
        &(x.clone(), y.clone()),
    ))
}

fn map_fn(xs: &Array) -> Array {
    ok(lax::map(|x: &Array| (jnp::sin(x) * x).sum(), xs.clone()))
}

/// `x = 0.5 x + sin(i)` for `i` in `lo..hi`.
fn fori_bounds(lo: &Array, hi: &Array, x: &Array) -> Array {
    let body = |i: &Array, x: &Array| x * 0.5 + jnp::sin(jnp::astype(i, DType::F64));
    ok(lax::fori_loop(lo, hi, body, x.clone()))
}

// ---- eager or jit ------------------------------------------------------------------------

/// Every check runs twice: eagerly (the reference interpreter runs the loops) and under `jit`.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Eager,
    Jit,
}

/// `f(args)` in `mode`, or a panic showing the error.
fn call<Args: ArgTuple, F: Function<Args>>(mode: Mode, f: F, args: Args) -> F::Output {
    match mode {
        Mode::Eager => run("eager", f.call(args)),
        Mode::Jit => run("jit", jit(f).call(args)),
    }
}

/// One `#[test]` per mode, so eager results pass or fail apart from compiled ones.
macro_rules! eager_and_jit {
    ($($check:ident => $eager:ident, $jit:ident;)+) => {$(
        #[test]
        fn $eager() {
            $check(Mode::Eager)
        }
        #[test]
        fn $jit() {
            $check(Mode::Jit)
        }
    )+};
}

eager_and_jit! {
    while_newton_sqrt => while_newton_sqrt_per_element_eager, while_newton_sqrt_per_element_jit;
    while_newton_sqrt_f32 => while_newton_sqrt_f32_per_element_eager, while_newton_sqrt_f32_per_element_jit;
    fori_rk4_value => fori_rk4_value_eager, fori_rk4_value_jit;
    scan_rnn_value => scan_rnn_value_eager, scan_rnn_value_jit;
    scan_stacked_value => scan_stacked_value_eager, scan_stacked_value_jit;
    cond_value => cond_per_element_value_eager, cond_per_element_value_jit;
    switch_value => switch_out_of_range_indices_eager, switch_out_of_range_indices_jit;
    while_pytree_value => while_pytree_carry_eager, while_pytree_carry_jit;
    scan_two_value => scan_several_xs_ys_forward_and_reverse_eager, scan_several_xs_ys_forward_and_reverse_jit;
    cond_pytree_value => cond_pytree_operand_eager, cond_pytree_operand_jit;
    map_value => map_eager, map_jit;
    fori_bounds_value => fori_loop_concrete_and_traced_bounds_eager, fori_loop_concrete_and_traced_bounds_jit;
    vmap_newton_sqrt => vmap_while_newton_sqrt_values_and_counts_eager, vmap_while_newton_sqrt_values_and_counts_jit;
    vmap_newton_sqrt_f32 => vmap_while_newton_sqrt_f32_workload_eager, vmap_while_newton_sqrt_f32_workload_jit;
    jvp_newton_sqrt => jvp_while_newton_sqrt_eager, jvp_while_newton_sqrt_jit;
    jvp_vmap_newton_sqrt => jvp_vmap_while_newton_sqrt_eager, jvp_vmap_while_newton_sqrt_jit;
    grad_rk4 => grad_fori_rk4_wrt_y0_and_k_eager, grad_fori_rk4_wrt_y0_and_k_jit;
    grad_rnn => grad_scan_rnn_wrt_weights_eager, grad_scan_rnn_wrt_weights_jit;
    jacfwd_scan_stacked => jacfwd_scan_stacked_outputs_eager, jacfwd_scan_stacked_outputs_jit;
    grad_cond => grad_cond_per_element_eager, grad_cond_per_element_jit;
    vmap_cond => vmap_cond_value_eager, vmap_cond_value_jit;
    vmap_grad_cond => vmap_grad_cond_eager, vmap_grad_cond_jit;
    vmap_switch => vmap_switch_out_of_range_indices_eager, vmap_switch_out_of_range_indices_jit;
}

// ---- forward values ----------------------------------------------------------------------

fn while_newton_sqrt(mode: Mode) {
    let c = case("newton_sqrt_vmap");
    let (a, x, n) = (floats(&c["a"]), floats(&c["x"]), ints(&c["iters"]));
    for (k, &ak) in a.iter().enumerate() {
        let (xk, nk) = call(mode, |a: &Array| newton_sqrt(a, 1e-12), (Array::from(ak),));
        assert_close(&format!("sqrt(a[{k}])"), &xk, &x[k..=k]);
        assert_counts(&format!("a[{k}]"), &nk, &n[k..=k]);
    }
}

fn while_newton_sqrt_f32(mode: Mode) {
    let c = case("newton_sqrt_vmap_f32");
    let (a, x, n) = (floats(&c["a"]), floats(&c["x"]), ints(&c["iters"]));
    for (k, &ak) in a.iter().enumerate() {
        let (xk, nk) = call(
            mode,
            |a: &Array| newton_sqrt(a, 1e-5),
            (Array::from(ak as f32),),
        );
        assert_eq!(xk.dtype(), DType::F32);
        // The same f32 operations in the same order: equal to the last bit.
        assert_close_tol(&format!("sqrt(a[{k}])"), &xk, &x[k..=k], 0.0);
        assert_counts(&format!("a[{k}]"), &nk, &n[k..=k]);
    }
}

fn fori_rk4_value(mode: Mode) {
    let c = case("rk4_grad");
    let (y0, k) = (f64s(&c["y0"]), Array::from(num(&c["k"])));
    assert_close("rk4", &call(mode, rk4_50, (y0, k)), &[num(&c["value"])]);
}

fn scan_rnn_value(mode: Mode) {
    let c = case("rnn_grad");
    let (w, u, xs) = (arr(&c["W"]), arr(&c["U"]), arr(&c["xs"]));
    let v = call(mode, rnn_loss, (w, u, xs));
    assert_close("rnn", &v, &[num(&c["value"])]);
}

fn scan_stacked_value(mode: Mode) {
    let c = case("scan_jacfwd");
    let v = call(mode, scan_stacked, (f64s(&c["x"]),));
    assert_close("scan_stacked", &v, &floats(&c["value"]));
}

fn cond_value(mode: Mode) {
    let c = case("cond_vmap_grad");
    let want = floats(&c["value"]);
    for (k, &xk) in floats(&c["x"]).iter().enumerate() {
        let v = call(mode, cond_fn, (Array::from(xk),));
        assert_close(&format!("f(x[{k}])"), &v, &want[k..=k]);
    }
}

fn switch_value(mode: Mode) {
    let c = case("switch_vmap");
    let (idx, x, want) = (ints(&c["index"]), floats(&c["x"]), floats(&c["value"]));
    for (k, (&i, &xk)) in idx.iter().zip(&x).enumerate() {
        let v = call(mode, switch_fn, (Array::scalar(i), Array::from(xk)));
        assert_close(&format!("switch({i}, x[{k}])"), &v, &want[k..=k]);
    }
    let c = case("switch_eager");
    let x = f64s(&c["x"]);
    for (&i, want) in ints(&c["index"]).iter().zip(c["value"].as_array().unwrap()) {
        let v = call(mode, switch_fn, (Array::scalar(i), x.clone()));
        assert_close(&format!("switch({i}, x)"), &v, &floats(want));
    }
}

fn while_pytree_value(mode: Mode) {
    let c = case("while_pytree");
    let (x0, v0) = (Array::from(num(&c["x0"])), f64s(&c["v0"]));
    let (x, v, n) = call(mode, while_pytree, (x0, v0));
    assert_close("x", &x, &[num(&c["x"])]);
    assert_close("v", &v, &floats(&c["v"]));
    assert_counts("n", &n, &[c["n"].as_i64().unwrap() as i32]);
}

fn scan_two_value(mode: Mode) {
    for (name, reverse) in [("scan_two", false), ("scan_two_reverse", true)] {
        let c = case(name);
        let (c0, xa, xb) = (f64s(&c["c0"]), arr(&c["xa"]), f64s(&c["xb"]));
        let f = move |c0: &Array, xa: &Array, xb: &Array| scan_two(c0, xa, xb, reverse);
        let ((cf, s), (ya, yb)) = call(mode, f, (c0, xa, xb));
        assert_close(&format!("{name} c"), &cf, &floats(&c["c"]));
        assert_close(&format!("{name} s"), &s, &[num(&c["s"])]);
        assert_eq!(ya.shape(), &[5, 3]);
        assert_close(&format!("{name} ya"), &ya, &floats(&c["ya"]["data"]));
        assert_close(&format!("{name} yb"), &yb, &floats(&c["yb"]));
    }
}

fn cond_pytree_value(mode: Mode) {
    let c = case("cond_pytree");
    let (x, y) = (f64s(&c["x"]), f64s(&c["y"]));
    for (p, key) in [(true, "true"), (false, "false")] {
        let want = c[key].as_array().unwrap();
        let (a, b) = call(mode, cond_pytree, (Array::scalar(p), x.clone(), y.clone()));
        assert_close(&format!("{key} .0"), &a, &floats(&want[0]));
        assert_close(&format!("{key} .1"), &b, &floats(&want[1]));
    }
}

fn map_value(mode: Mode) {
    let c = case("map");
    let v = call(mode, map_fn, (arr(&c["xs"]),));
    assert_close("map", &v, &floats(&c["value"]));
}

/// Eagerly the bounds are concrete (a `scan`); under `jit` they are traced (a `while`).
fn fori_bounds_value(mode: Mode) {
    let c = case("fori_traced");
    let x = f64s(&c["x"]);
    let bounds = c["bounds"].as_array().unwrap();
    for (b, want) in bounds.iter().zip(c["value"].as_array().unwrap()) {
        let b = ints(b);
        let (lo, hi) = (Array::scalar(b[0]), Array::scalar(b[1]));
        let v = call(mode, fori_bounds, (lo, hi, x.clone()));
        assert_close(&format!("bounds {b:?}"), &v, &floats(want));
    }
}

// ---- transformations: vmap, jvp, grad, jacfwd and their compositions ---------------------

fn vmap_newton_sqrt(mode: Mode) {
    let c = case("newton_sqrt_vmap");
    let f = vmap(|a: &Array| newton_sqrt(a, 1e-12));
    let (x, n) = call(mode, f, (f64s(&c["a"]),));
    assert_close("x", &x, &floats(&c["x"]));
    assert_counts("vmap", &n, &ints(&c["iters"]));
}

fn vmap_newton_sqrt_f32(mode: Mode) {
    let c = case("newton_sqrt_vmap_f32");
    let a: Vec<f32> = floats(&c["a"]).iter().map(|&v| v as f32).collect();
    let f = vmap(|a: &Array| newton_sqrt(a, 1e-5));
    let (x, n) = call(mode, f, (Array::from_slice(&a),));
    assert_eq!(x.dtype(), DType::F32);
    assert_close_tol("x", &x, &floats(&c["x"]), 0.0);
    assert_counts("vmap", &n, &ints(&c["iters"]));
}

fn jvp_newton_sqrt(mode: Mode) {
    let c = case("newton_sqrt_vmap");
    let a = Array::from(num(&c["jvp_scalar_a"]));
    let t = Array::from(num(&c["jvp_scalar_t"]));
    let f = |a: &Array, t: &Array| ok(jvp(&newton_value, (a.clone(),), (t.clone(),)));
    let (x, ta) = call(mode, f, (a, t));
    assert_close("primal", &x, &[floats(&c["x"])[5]]);
    assert_close("tangent", &ta, &[num(&c["jvp_scalar"])]);
}

fn jvp_vmap_newton_sqrt(mode: Mode) {
    let c = case("newton_sqrt_vmap");
    let f = |a: &Array, t: &Array| ok(jvp(&vmap(newton_value), (a.clone(),), (t.clone(),)));
    let (x, ta) = call(mode, f, (f64s(&c["a"]), f64s(&c["t"])));
    assert_close("primal", &x, &floats(&c["x"]));
    assert_close("tangent", &ta, &floats(&c["jvp"]));
}

fn grad_rk4(mode: Mode) {
    let c = case("rk4_grad");
    let (y0, k) = (f64s(&c["y0"]), Array::from(num(&c["k"])));
    let (gy0, gk) = call(mode, grad(rk4_50).argnums((ARG0, ARG1)), (y0, k));
    assert_close("wrt y0", &gy0, &floats(&c["grad_y0"]));
    assert_close("wrt k", &gk, &[num(&c["grad_k"])]);
}

fn grad_rnn(mode: Mode) {
    let c = case("rnn_grad");
    let (w, u, xs) = (arr(&c["W"]), arr(&c["U"]), arr(&c["xs"]));
    let (gw, gu) = call(mode, grad(rnn_loss).argnums((ARG0, ARG1)), (w, u, xs));
    assert_eq!((gw.shape(), gu.shape()), (&[8, 8][..], &[8, 4][..]));
    assert_close("wrt W", &gw, &floats(&c["grad_W"]["data"]));
    assert_close("wrt U", &gu, &floats(&c["grad_U"]["data"]));
}

fn jacfwd_scan_stacked(mode: Mode) {
    let c = case("scan_jacfwd");
    let want = arr(&c["jac"]);
    let j = call(mode, jacfwd(scan_stacked), (f64s(&c["x"]),));
    assert_eq!(j.shape(), want.shape());
    assert_close("jacfwd", &j, &want.to_vec::<f64>().unwrap());
}

fn grad_cond(mode: Mode) {
    let c = case("cond_vmap_grad");
    let want = floats(&c["grad"]);
    for (k, &xk) in floats(&c["x"]).iter().enumerate() {
        let g = call(mode, grad(cond_fn), (Array::from(xk),));
        assert_close(&format!("grad at x[{k}]"), &g, &want[k..=k]);
    }
}

fn vmap_cond(mode: Mode) {
    let c = case("cond_vmap_grad");
    let v = call(mode, vmap(cond_fn), (f64s(&c["x"]),));
    assert_close("vmap", &v, &floats(&c["value"]));
}

fn vmap_grad_cond(mode: Mode) {
    let c = case("cond_vmap_grad");
    let g = call(mode, vmap(grad(cond_fn)), (f64s(&c["x"]),));
    assert_close("vmap(grad)", &g, &floats(&c["grad"]));
}

fn vmap_switch(mode: Mode) {
    let c = case("switch_vmap");
    let i = Array::from_slice(&ints(&c["index"]));
    let v = call(mode, vmap(switch_fn), (i.clone(), f64s(&c["x"])));
    assert_close("vmap", &v, &floats(&c["value"]));
    // Only the index batched: x[0] in every lane.
    let x0 = Array::from(floats(&c["x"])[0]);
    let f = vmap(switch_fn).in_axes([Some(0), None]);
    let v = call(mode, f, (i, x0));
    assert_close("index batched only", &v, &floats(&c["value_x_unbatched"]));
}
