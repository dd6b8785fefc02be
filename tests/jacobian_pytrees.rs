//! `jacfwd`, `jacrev` and `hessian` with `argnums`, pytree inputs and outputs and `has_aux`,
//! and `jvp`/`vjp`/`linearize` with `has_aux`, against JAX 0.10.2's own values:
//! tests/data/jax_pytree_jacobians.json, made by tests/data/gen_jax_pytree_jacobians.py (the
//! parameters there are a NamedTuple `Params(w, b)`, here a `#[derive(Pytree)]` struct).

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::numpy as jnp;
use cranax::{
    hessian, jacfwd, jacrev, jvp_has_aux, linearize_has_aux, vjp_has_aux, Array, Function, Pytree,
    Result, ARG0, ARG1,
};
use serde_json::Value;
use std::collections::HashMap;

#[derive(Clone, Pytree)]
struct Params {
    w: Array,
    b: Array,
}

fn data() -> &'static Value {
    static DATA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DATA.get_or_init(|| jax_data::load("jax_pytree_jacobians.json"))
}

fn input(name: &str) -> Array {
    jax_data::arr(&data()["inputs"][name])
}

fn params(name: &str) -> Params {
    let p = &data()["inputs"][name];
    Params {
        w: jax_data::arr(&p[".w"]),
        b: jax_data::arr(&p[".b"]),
    }
}

fn dict() -> HashMap<String, Array> {
    let d = &data()["inputs"]["D"];
    ["a", "b"]
        .map(|k| (k.to_string(), jax_data::arr(&d[format!(".{k}")])))
        .into()
}

/// Every leaf of a result, by its path, matches JAX's (shape exactly, values to 1e-12
/// relative), and the result has no other leaves than JAX's.
fn check(case: &str, got: &[(&str, &Array)]) {
    let want = data()["cases"][case]
        .as_object()
        .unwrap_or_else(|| panic!("no case {case}"));
    let mut paths: Vec<&str> = got.iter().map(|(p, _)| *p).collect();
    paths.sort();
    let mut expected: Vec<&str> = want.keys().map(String::as_str).collect();
    expected.sort();
    assert_eq!(paths, expected, "{case}: the leaves of the result");
    for (path, x) in got {
        let w = &want[*path];
        assert_eq!(
            x.shape(),
            jax_data::shape(w).as_slice(),
            "{case} {path} shape"
        );
        let (a, b) = (
            x.to_vec::<f64>().expect("f64"),
            jax_data::floats(&w["data"]),
        );
        for (i, (u, v)) in a.iter().zip(&b).enumerate() {
            assert!(
                (u - v).abs() <= 1e-12 * (1.0 + v.abs()),
                "{case} {path}[{i}]: {u} vs JAX {v}"
            );
        }
    }
}

fn layer(p: &Params, x: &Array) -> Array {
    jnp::tanh(jnp::matmul(x, &p.w) + &p.b)
}

fn layer_pair(p: &Params, x: &Array) -> (Array, Array) {
    let y = layer(p, x);
    (&y * 2.0, y.pow(2).sum())
}

fn layer_aux(p: &Params, x: &Array) -> (Array, Array) {
    let y = layer(p, x);
    (y.clone(), y.sum())
}

fn scalar2(x: &Array, y: &Array) -> Array {
    jnp::sin(x).pow(2).sum() * y.pow(3).sum() + jnp::dot(x, x) * y.at(0)
}

fn of_dict(d: &HashMap<String, Array>, x: &Array) -> Array {
    jnp::sin(&d["a"] * &d["b"]) + x.pow(2)
}

fn args() -> (Params, Array) {
    (params("P"), input("X"))
}

#[test]
fn jacfwd_and_jacrev_of_a_struct_with_argnums_match_jax() {
    let (p, x) = (args().0, args().1);
    let (jp, jx) = jacfwd(layer)
        .argnums((ARG0, ARG1))
        .call((p.clone(), x.clone()))
        .expect("jacfwd");
    check(
        "jacfwd_struct_argnums01",
        &[(".0.w", &jp.w), (".0.b", &jp.b), (".1", &jx)],
    );
    let (jp, jx) = jacrev(layer)
        .argnums((ARG0, ARG1))
        .call((p.clone(), x.clone()))
        .expect("jacrev");
    check(
        "jacrev_struct_argnums01",
        &[(".0.w", &jp.w), (".0.b", &jp.b), (".1", &jx)],
    );
    let (jx, jp) = jacfwd(layer)
        .argnums((ARG1, ARG0))
        .call((p, x))
        .expect("jacfwd");
    check(
        "jacfwd_struct_argnums10",
        &[(".0", &jx), (".1.w", &jp.w), (".1.b", &jp.b)],
    );
}

#[test]
fn jacobians_of_tuple_outputs_have_the_output_structure_outside() {
    let (y2, s) = jacrev(layer_pair).call(args()).expect("jacrev");
    check(
        "jacrev_struct_tuple_out",
        &[
            (".0.w", &y2.w),
            (".0.b", &y2.b),
            (".1.w", &s.w),
            (".1.b", &s.b),
        ],
    );
    let (y2, s) = jacfwd(layer_pair)
        .argnums(ARG1)
        .call(args())
        .expect("jacfwd");
    check("jacfwd_x_tuple_out", &[(".0", &y2), (".1", &s)]);
}

#[test]
fn has_aux_returns_the_aux_output_undifferentiated() {
    let (j, aux) = jacfwd(layer_aux)
        .argnums(ARG1)
        .has_aux()
        .call(args())
        .expect("jacfwd");
    check("jacfwd_has_aux", &[(".0", &j), (".1", &aux)]);
    let ((jp,), aux) = jacrev(layer_aux)
        .argnums((ARG0,))
        .has_aux()
        .call(args())
        .expect("jacrev");
    check(
        "jacrev_has_aux",
        &[(".0.0.w", &jp.w), (".0.0.b", &jp.b), (".1", &aux)],
    );
}

#[test]
fn hessian_with_argnums_and_has_aux_matches_jax() {
    let (x, y) = (input("X"), input("Y"));
    let ((hxx, hxy), (hyx, hyy)) = hessian(scalar2)
        .argnums((ARG0, ARG1))
        .call((x.clone(), y.clone()))
        .expect("hessian");
    check(
        "hessian_argnums01",
        &[
            (".0.0", &hxx),
            (".0.1", &hxy),
            (".1.0", &hyx),
            (".1.1", &hyy),
        ],
    );
    let (h, aux) = hessian(|x: &Array, y: &Array| (scalar2(x, y), x * 2.0))
        .has_aux()
        .call((x, y))
        .expect("hessian");
    check("hessian_has_aux", &[(".0", &h), (".1", &aux)]);
}

#[test]
fn jacobians_with_respect_to_a_dict_use_its_sorted_keys() {
    let j = jacrev(of_dict).call((dict(), input("X"))).expect("jacrev");
    check("jacrev_dict", &[(".a", &j["a"]), (".b", &j["b"])]);
    let (jd, jx) = jacfwd(of_dict)
        .argnums((ARG0, ARG1))
        .call((dict(), input("X")))
        .expect("jacfwd");
    check(
        "jacfwd_dict_argnums01",
        &[(".0.a", &jd["a"]), (".0.b", &jd["b"]), (".1", &jx)],
    );
}

#[test]
fn jvp_vjp_and_linearize_with_aux_match_jax() {
    let (p, x) = args();
    let (t, tx) = (params("T"), input("TX"));
    let (out, tan, aux) =
        jvp_has_aux(&layer_aux, (p.clone(), x.clone()), (t.clone(), tx.clone())).expect("jvp");
    check("jvp_has_aux", &[(".0", &out), (".1", &tan), (".2", &aux)]);
    let (out, pullback, aux) = vjp_has_aux(&layer_aux, (p.clone(), x.clone())).expect("vjp");
    let (cp, cx) = pullback.vjp(input("CT")).expect("pullback");
    check(
        "vjp_has_aux",
        &[
            (".0", &out),
            (".1.0.w", &cp.w),
            (".1.0.b", &cp.b),
            (".1.1", &cx),
            (".2", &aux),
        ],
    );
    let (out, lin, aux) = linearize_has_aux(&layer_aux, (p, x)).expect("linearize");
    let tan = lin.jvp((t, tx)).expect("jvp");
    check(
        "linearize_has_aux",
        &[(".0", &out), (".1", &tan), (".2", &aux)],
    );
}

#[test]
fn jacobian_errors_name_the_transformation() {
    let ints = Array::from_vec(vec![1i32, 2], &[2]).expect("ints");
    let e = jacfwd(|x: &Array| x * 2)
        .call((ints.clone(),))
        .expect_err("integer input");
    assert!(
        e.to_string().contains("jacfwd requires real-valued inputs"),
        "{e}"
    );
    let e = jacrev(|x: &Array| -> Result<Array> {
        cranax::lax::convert_element_type(x, cranax::DType::I32)
    })
    .call((input("X"),))
    .expect_err("integer output");
    assert!(
        e.to_string()
            .contains("jacrev requires real-valued outputs"),
        "{e}"
    );
}
