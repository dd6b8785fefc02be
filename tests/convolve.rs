//! `jnp.convolve` and `jnp.correlate` against JAX 0.10.2 (tests/data/jax_convolve.json, made by
//! the committed tests/data/gen_jax_convolve.py): every mode, both input orders (the shorter
//! input swapped in), values and gradients w.r.t. both inputs in f64, eagerly and under `jit`;
//! integer inputs promoted to floats; bad input.

use cranax::numpy as jnp;
use cranax::{grad, jit, Array, DType, Function, ARG0, ARG1};
use serde_json::Value;

fn data() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/jax_convolve.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The script's inputs: `sin(0.37 i + seed)`.
fn seq(n: usize, seed: f64) -> Array {
    let v: Vec<f64> = (0..n).map(|i| (0.37 * i as f64 + seed).sin()).collect();
    Array::from_vec(v, &[n]).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn assert_close(what: &str, got: &Array, want: &[f64]) {
    let got = got.to_vec::<f64>().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-13 * (1.0 + w.abs()),
            "{what}[{k}]: got {g}, JAX {w}"
        );
    }
}

type Op = fn(&Array, &Array, &str) -> Array;

#[test]
fn convolve_and_correlate_match_jax() {
    let d = data();
    let cases = d["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 30);
    for c in cases {
        let (op, mode) = (
            c["op"].as_str().unwrap(),
            c["mode"].as_str().unwrap().to_string(),
        );
        let f: Op = match op {
            "convolve" => |a, v, m| jnp::convolve(a, v, m),
            _ => |a, v, m| jnp::correlate(a, v, m),
        };
        let (na, nv) = (
            c["na"].as_u64().unwrap() as usize,
            c["nv"].as_u64().unwrap() as usize,
        );
        let (a, v) = (seq(na, 0.3), seq(nv, 1.1));
        let what = format!("{op}({na}, {nv}, {mode})");
        let want = floats(&c["out"]);
        assert_close(&what, &f(&a, &v, &mode), &want);
        let m = mode.clone();
        let jitted = jit(move |a: &Array, v: &Array| f(a, v, &m));
        assert_close(
            &format!("jit {what}"),
            &jitted.call((a.clone(), v.clone())).unwrap(),
            &want,
        );
        let w: Vec<f64> = (0..want.len()).map(|i| (0.5 * i as f64).cos()).collect();
        let w = Array::from_vec(w, &[want.len()]).unwrap();
        let loss = move |a: &Array, v: &Array| jnp::sum(&(f(a, v, &mode) * &w), None, false);
        let (ga, gv) = grad(loss.clone())
            .argnums((ARG0, ARG1))
            .call((a.clone(), v.clone()))
            .unwrap();
        assert_close(&format!("grad_a {what}"), &ga, &floats(&c["grad_a"]));
        assert_close(&format!("grad_v {what}"), &gv, &floats(&c["grad_v"]));
        let (ja, jv) = jit(grad(loss).argnums((ARG0, ARG1))).call((a, v)).unwrap();
        assert_close(&format!("jit grad_a {what}"), &ja, &floats(&c["grad_a"]));
        assert_close(&format!("jit grad_v {what}"), &jv, &floats(&c["grad_v"]));
    }
}

/// Integers are promoted to the default float (f32 here; JAX with x64 gives f64), values exact.
#[test]
fn integer_inputs_convolve_as_floats() {
    let d = data();
    let a = Array::from_vec(vec![1i32, 2, 3], &[3]).unwrap();
    let v = Array::from_vec(vec![0i32, 1], &[2]).unwrap();
    let out = jnp::convolve(&a, &v, "full");
    assert_eq!(out.dtype(), DType::F32);
    let got: Vec<f64> = out
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|&x| x as f64)
        .collect();
    assert_eq!(got, floats(&d["int_convolve"]["out"]));
}

#[test]
fn bad_input_is_an_error_naming_the_op() {
    let (a, m) = (seq(4, 0.0), Array::zeros(&[2, 2], DType::F64));
    let staged = |f: fn(&Array, &Array) -> Array, x: Array, y: Array| {
        jit(move |x: &Array, y: &Array| f(x, y))
            .call((x, y))
            .unwrap_err()
            .to_string()
    };
    let msg = staged(|x, y| jnp::convolve(x, y, "full"), a.clone(), m.clone());
    assert!(
        msg.contains("convolve() only support 1-dimensional inputs."),
        "{msg}"
    );
    let msg = staged(|x, y| jnp::correlate(x, y, "middle"), a.clone(), a.clone());
    assert!(
        msg.contains("mode must be one of ['full', 'same', 'valid']"),
        "{msg}"
    );
    let empty = Array::zeros(&[0], DType::F64);
    let msg = staged(|x, y| jnp::convolve(x, y, "same"), a, empty);
    assert!(msg.contains("convolve: inputs cannot be empty"), "{msg}");
}
