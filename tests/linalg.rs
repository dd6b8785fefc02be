//! Linear algebra against JAX 0.10.2's values (tests/data/jax_linalg.json, made by the committed
//! tests/data/gen_jax_linalg.py): jnp.linalg, jax.scipy.linalg and lax.linalg.lu with their
//! gradients, in f64 and f32, eagerly, under `jit` and under `vmap`; reconstruction identities
//! on random matrices; `check_grads` on each primitive; bad input.

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::core::error::or_raise;
use cranax::numpy as jnp;
use cranax::numpy::linalg as la;
use cranax::pytree::ArgTuple;
use cranax::scipy::linalg as sla;
use cranax::test_util::Mode as GradMode;
use cranax::{check_grads, grad, jit, lax, vmap, Array, DType, Function, Result, ARG0, ARG1};
use jax_data::{floats, load};
use serde_json::Value;

fn data() -> Value {
    load("jax_linalg.json")
}

fn input(d: &Value, name: &str, shape: &[usize], dt: DType) -> Array {
    let a = Array::from_vec(floats(&d["inputs"][name]), shape).unwrap();
    or_raise(lax::convert_element_type(&a, dt))
}

fn to_f64(x: &Array) -> Vec<f64> {
    match x.dtype() {
        DType::F32 => x
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        DType::I32 => x
            .to_vec::<i32>()
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        _ => x.to_vec::<f64>().unwrap(),
    }
}

/// Agreement within `rtol` relative (absolute below magnitude 1): 1e-10 in f64 (LU and
/// triangular solves round differently from LAPACK's), 2e-4 in f32 (condition number ~10).
fn assert_close(what: &str, got: &Array, want: &Value) {
    let want = floats(want);
    let got_v = to_f64(got);
    let rtol = if got.dtype() == DType::F32 {
        2e-4
    } else {
        1e-10
    };
    assert_eq!(got_v.len(), want.len(), "{what}: {got_v:?} vs JAX {want:?}");
    for (i, (g, w)) in got_v.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= rtol * w.abs().max(1.0),
            "{what}[{i}] ({:?}): {g} vs JAX {w}",
            got.dtype()
        );
    }
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Eager,
    Jit,
}

fn call<Args: ArgTuple, F: Function<Args>>(mode: Mode, f: F, args: Args) -> F::Output {
    match mode {
        Mode::Eager => f.call(args).unwrap_or_else(|e| panic!("eager: {e}")),
        Mode::Jit => jit(f).call(args).unwrap_or_else(|e| panic!("jit: {e}")),
    }
}

fn against_jax(mode: Mode, dt: DType) {
    let d = data();
    let n = d["n"].as_u64().unwrap() as usize;
    let k = d["k"].as_u64().unwrap() as usize;
    let nb = d["batch"].as_u64().unwrap() as usize;
    let j = &d[if dt == DType::F32 { "f32" } else { "f64" }];
    let a = input(&d, "A", &[n, n], dt);
    let s = input(&d, "S", &[n, n], dt);
    let l = input(&d, "L", &[n, n], dt);
    let b = input(&d, "b", &[n], dt);
    let bm = input(&d, "B", &[n, k], dt);
    let ww = input(&d, "W", &[n, n], dt);
    let w = input(&d, "w", &[n], dt);
    let wk = input(&d, "Wk", &[n, k], dt);
    let m = format!("{mode:?} {dt:?}");

    let x = call(
        mode,
        |a: &Array, b: &Array| la::solve(a, b),
        (a.clone(), b.clone()),
    );
    assert_close(&format!("solve {m}"), &x, &j["solve"]);
    let wc = w.clone();
    let loss = move |a: &Array, b: &Array| jnp::sum(la::solve(a, b) * &wc, None, false);
    let (ga, gb) = call(
        mode,
        grad(loss).argnums((ARG0, ARG1)),
        (a.clone(), b.clone()),
    );
    assert_close(&format!("grad solve wrt A {m}"), &ga, &j["solve_grad_a"]);
    assert_close(&format!("grad solve wrt b {m}"), &gb, &j["solve_grad_b"]);
    let wkc = wk.clone();
    let loss = move |a: &Array, b: &Array| jnp::sum(la::solve(a, b) * &wkc, None, false);
    let (ga, gb) = call(
        mode,
        grad(loss).argnums((ARG0, ARG1)),
        (a.clone(), bm.clone()),
    );
    assert_close(
        &format!("solve matrix rhs {m}"),
        &la::solve(&a, &bm),
        &j["solve_mat"],
    );
    assert_close(
        &format!("grad solve matrix wrt A {m}"),
        &ga,
        &j["solve_mat_grad_a"],
    );
    assert_close(
        &format!("grad solve matrix wrt B {m}"),
        &gb,
        &j["solve_mat_grad_b"],
    );

    assert_close(
        &format!("inv {m}"),
        &call(mode, |a: &Array| la::inv(a), (a.clone(),)),
        &j["inv"],
    );
    let wc = ww.clone();
    let g = call(
        mode,
        grad(move |a: &Array| jnp::sum(la::inv(a) * &wc, None, false)),
        (a.clone(),),
    );
    assert_close(&format!("grad inv {m}"), &g, &j["inv_grad"]);
    assert_close(
        &format!("det {m}"),
        &call(mode, |a: &Array| la::det(a), (a.clone(),)),
        &j["det"],
    );
    let g = call(mode, grad(|a: &Array| la::det(a)), (a.clone(),));
    assert_close(&format!("grad det {m}"), &g, &j["det_grad"]);
    let (sign, logdet) = call(mode, |a: &Array| la::slogdet(a), (a.clone(),));
    assert_close(
        &format!("slogdet {m}"),
        &jnp::stack(&[sign, logdet], 0),
        &j["slogdet"],
    );
    let g = call(mode, grad(|a: &Array| la::slogdet(a).1), (a.clone(),));
    assert_close(&format!("grad slogdet {m}"), &g, &j["slogdet_grad"]);

    let c = call(mode, |s: &Array| la::cholesky(s), (s.clone(),));
    assert_close(&format!("cholesky {m}"), &c, &j["cholesky"]);
    let wc = ww.clone();
    let g = call(
        mode,
        grad(move |s: &Array| jnp::sum(la::cholesky(s) * &wc, None, false)),
        (s.clone(),),
    );
    assert_close(&format!("grad cholesky {m}"), &g, &j["cholesky_grad"]);

    for trans in [0u8, 1] {
        let x = call(
            mode,
            move |l: &Array, b: &Array| sla::solve_triangular(l, b, trans, true, false),
            (l.clone(), b.clone()),
        );
        assert_close(
            &format!("solve_triangular trans={trans} {m}"),
            &x,
            &j[format!("solve_triangular_{trans}")],
        );
        let wc = w.clone();
        let loss = move |l: &Array, b: &Array| {
            jnp::sum(
                sla::solve_triangular(l, b, trans, true, false) * &wc,
                None,
                false,
            )
        };
        let (ga, gb) = call(
            mode,
            grad(loss).argnums((ARG0, ARG1)),
            (l.clone(), b.clone()),
        );
        assert_close(
            &format!("grad solve_triangular {trans} wrt a {m}"),
            &ga,
            &j[format!("solve_triangular_{trans}_grad_a")],
        );
        assert_close(
            &format!("grad solve_triangular {trans} wrt b {m}"),
            &gb,
            &j[format!("solve_triangular_{trans}_grad_b")],
        );
    }

    let x = call(
        mode,
        |s: &Array, b: &Array| sla::cho_solve((&sla::cho_factor(s, true).0, true), b),
        (s.clone(), bm.clone()),
    );
    assert_close(&format!("cho_solve {m}"), &x, &j["cho_solve"]);
    let (lu, piv) = call(mode, |a: &Array| sla::lu_factor(a), (a.clone(),));
    assert_close(&format!("lu_factor lu {m}"), &lu, &j["lu_factor_lu"]);
    assert_eq!(
        to_f64(&piv),
        floats(&j["lu_factor_piv"]),
        "lu_factor pivots {m}"
    );
    for trans in [0u8, 1] {
        let x = call(
            mode,
            move |lu: &Array, piv: &Array, b: &Array| sla::lu_solve((lu, piv), b, trans),
            (lu.clone(), piv.clone(), bm.clone()),
        );
        assert_close(
            &format!("lu_solve trans={trans} {m}"),
            &x,
            &j[format!("lu_solve_{trans}")],
        );
    }
    let perm = call(mode, |a: &Array| or_raise(lax::lu(a)).2, (a.clone(),));
    assert_eq!(to_f64(&perm), floats(&j["lu_perm"]), "lu permutation {m}");
    let wc = ww.clone();
    let g = call(
        mode,
        grad(move |a: &Array| jnp::sum(or_raise(lax::lu(a)).0 * &wc, None, false)),
        (a.clone(),),
    );
    assert_close(&format!("grad lu {m}"), &g, &j["lu_grad"]);

    let xs = input(&d, "As", &[nb, n, n], dt);
    let ys = input(&d, "bs", &[nb, n], dt);
    let v = call(
        mode,
        vmap(|a: &Array, b: &Array| la::solve(a, b)),
        (xs.clone(), ys.clone()),
    );
    assert_close(&format!("vmap solve {m}"), &v, &j["vmap_solve"]);
    let wc = w.clone();
    let loss = move |a: &Array, b: &Array| jnp::sum(la::solve(a, b) * &wc, None, false);
    let v = call(mode, vmap(grad(loss)), (xs.clone(), ys.clone()));
    assert_close(&format!("vmap grad solve {m}"), &v, &j["vmap_solve_grad_a"]);
    let v = call(mode, vmap(|a: &Array| la::slogdet(a).1), (xs.clone(),));
    assert_close(&format!("vmap slogdet {m}"), &v, &j["vmap_slogdet"]);
    let spd = jnp::matmul(&xs, jnp::transpose(&xs, Some(&[0, 2, 1])));
    let v = call(mode, vmap(|a: &Array| la::cholesky(a)), (spd,));
    assert_close(&format!("vmap cholesky {m}"), &v, &j["vmap_cholesky"]);
}

#[test]
fn against_jax_f64_eager() {
    against_jax(Mode::Eager, DType::F64)
}
#[test]
fn against_jax_f64_jit() {
    against_jax(Mode::Jit, DType::F64)
}
#[test]
fn against_jax_f32_eager() {
    against_jax(Mode::Eager, DType::F32)
}
#[test]
fn against_jax_f32_jit() {
    against_jax(Mode::Jit, DType::F32)
}
