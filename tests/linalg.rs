//! Linear algebra against JAX 0.10.2's values (tests/data/jax_linalg.json, made by the committed
//! tests/data/gen_jax_linalg.py): jnp.linalg, jax.scipy.linalg and lax.linalg.lu with their
//! gradients, in f64 and f32, eagerly, under `jit` and under `vmap`; reconstruction identities
//! on random matrices; `check_grads` on each primitive; bad input.

#[path = "support/linalg_util.rs"]
#[allow(dead_code)]
mod linalg_util;

use cranax::core::error::or_raise;
use cranax::numpy as jnp;
use cranax::numpy::linalg as la;
use cranax::scipy::linalg as sla;
use cranax::test_util::FWD_REV;
use cranax::{check_grads, grad, jit, lax, vmap, Array, DType, Function, ARG0, ARG1};
use linalg_util::{call, data, err_of, floats, input, rel_err, to_f64, Mode};
use serde_json::Value;

/// Agreement within `rtol` relative (absolute below magnitude 1): 1e-10 in f64 (LU and
/// triangular solves round differently from LAPACK's), 2e-4 in f32 (condition number ~10).
fn assert_close(what: &str, got: &Array, want: &Value) {
    linalg_util::assert_close_tol(what, got, want, 1e-10, 2e-4)
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

against_jax_tests!(against_jax);

// ---- check_grads on each primitive (f64, fwd and rev, order 2) -----------------------------

fn f64m(v: Vec<f64>, shape: &[usize]) -> Array {
    Array::from_vec(v, shape).unwrap()
}

/// A well-conditioned 4x4 test matrix (needs row swaps: a small leading entry).
fn mat4() -> Array {
    let v: Vec<f64> = (0..16)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) * 0.3 + if i % 5 == 0 { 3.0 } else { 0.0 })
        .collect();
    let mut v = v;
    v[0] = 0.05;
    f64m(v, &[4, 4])
}

#[test]
fn check_grads_cholesky() {
    let a = mat4();
    let spd = jnp::matmul(&a, jnp::transpose(&a, None)) + jnp::eye(4, DType::F64) * 2.0;
    // Through the symmetrising wrapper, as JAX's test does (the primitive reads one triangle).
    let f = |s: &Array| la::cholesky(s);
    check_grads(&f, (spd,), 2, FWD_REV).unwrap();
}

#[test]
fn check_grads_triangular_solve() {
    let l = jnp::add(la::cholesky(jnp::eye(4, DType::F64) * 4.0), mat4() * 0.1);
    let b = f64m((0..12).map(|i| (i as f64 * 0.37).sin()).collect(), &[4, 3]);
    for (left, lower, trans, unit) in [
        (true, true, false, false),
        (true, false, true, false),
        (false, true, true, true),
        (false, false, false, false),
    ] {
        let b = if left {
            b.clone()
        } else {
            jnp::transpose(&b, None)
        };
        let f = move |a: &Array, b: &Array| {
            or_raise(lax::triangular_solve(a, b, left, lower, trans, false, unit))
        };
        check_grads(&f, (l.clone(), b), 2, FWD_REV)
            .unwrap_or_else(|e| panic!("left={left} lower={lower} trans={trans} unit={unit}: {e}"));
    }
}

#[test]
fn check_grads_lu() {
    let f = |a: &Array| or_raise(lax::lu(a)).0;
    check_grads(&f, (mat4(),), 2, FWD_REV).unwrap();
    // Non-square, both ways.
    let wide = or_raise(lax::slice(&mat4(), &[0, 0], &[3, 4], None));
    check_grads(&f, (wide.clone(),), 1, FWD_REV).unwrap();
    check_grads(&f, (jnp::transpose(&wide, None),), 1, FWD_REV).unwrap();
}

#[test]
fn check_grads_solve_and_friends() {
    let b = f64m(vec![1.0, -2.0, 0.5, 3.0], &[4]);
    let f = |a: &Array, b: &Array| la::solve(a, b);
    check_grads(&f, (mat4(), b), 2, FWD_REV).unwrap();
    check_grads(&|a: &Array| la::inv(a), (mat4(),), 1, FWD_REV).unwrap();
    check_grads(&|a: &Array| la::slogdet(a).1, (mat4(),), 2, FWD_REV).unwrap();
    check_grads(&|a: &Array| la::det(a), (mat4(),), 1, FWD_REV).unwrap();
}

// ---- reconstruction identities on random sizes 1..64 ---------------------------------------

/// L Lᵀ = A and P L U = A within 1e-12 (f64) and 1e-5 (f32) of max |A|, on random matrices
/// (normal entries; A + n I for LU, B Bᵀ + n I for Cholesky) of sizes 1..64, in a batch of 2.
#[test]
fn reconstruction_identities() {
    for (dt, tol) in [(DType::F64, 1e-12), (DType::F32, 1e-5)] {
        for (i, n) in [1usize, 2, 3, 7, 16, 33, 64].into_iter().enumerate() {
            let key = cranax::random::PRNGKey(i as i64);
            let x = cranax::random::normal(&key, &[2, n, n], dt).unwrap();
            let eye = lax::convert_element_type(&jnp::eye(n, DType::F64), dt).unwrap();
            let spd = jnp::matmul(&x, jnp::transpose(&x, Some(&[0, 2, 1]))) + &eye * n as f64;
            let l = la::cholesky(&spd);
            let llt = jnp::matmul(&l, jnp::transpose(&l, Some(&[0, 2, 1])));
            assert!(
                rel_err(&llt, &spd) < tol,
                "L Lᵀ = A, n={n} {dt:?}: {}",
                rel_err(&llt, &spd)
            );
            let a = &x + &eye * 0.5;
            let (lu, _, perm) = or_raise(lax::lu(&a));
            let tri = |lower: bool| {
                let r = lax::iota(DType::I32, &[n, n], 0).unwrap();
                let c = lax::iota(DType::I32, &[n, n], 1).unwrap();
                let keep = if lower {
                    jnp::greater(&r, &c)
                } else {
                    jnp::less_equal(&r, &c)
                };
                jnp::where_(keep, &lu, 0.0)
            };
            let ll = tri(true) + &eye;
            let pa = jnp::stack(
                &(0..2)
                    .map(|b| jnp::take(a.at(b), perm.at(b), 0))
                    .collect::<Vec<_>>(),
                0,
            );
            let recon = jnp::matmul(&ll, tri(false));
            assert!(
                rel_err(&recon, &pa) < tol * 10.0,
                "P L U = A, n={n} {dt:?}: {}",
                rel_err(&recon, &pa)
            );
        }
    }
}

// ---- failures are values; bad input is an error ---------------------------------------------

#[test]
fn singular_and_not_positive_definite() {
    let c = la::cholesky(f64m(vec![1.0, 2.0, 2.0, 1.0], &[2, 2]));
    // As JAX: NaNs in the lower triangle, zeros above it.
    let v = to_f64(&c);
    assert!(
        v[0].is_nan() && v[1] == 0.0 && v[2].is_nan() && v[3].is_nan(),
        "cholesky of an indefinite matrix: {c:?}"
    );
    let sing = f64m(vec![1.0, 2.0, 2.0, 4.0], &[2, 2]);
    let x = la::solve(&sing, f64m(vec![1.0, 1.0], &[2]));
    assert!(
        to_f64(&x).iter().any(|v| !v.is_finite()),
        "solve of a singular matrix: {x:?}"
    );
    let (sign, logdet) = la::slogdet(&sing);
    assert_eq!(
        (to_f64(&sign)[0], to_f64(&logdet)[0]),
        (0.0, f64::NEG_INFINITY)
    );
    // A zero first column (a zero pivot at the first step): det 0, as JAX.
    let zero_col = f64m(vec![0.0, 1.0, 0.0, 1.0], &[2, 2]);
    let (sign, logdet) = la::slogdet(&zero_col);
    assert_eq!(
        (to_f64(&sign)[0], to_f64(&logdet)[0]),
        (0.0, f64::NEG_INFINITY)
    );
    assert_eq!(to_f64(&la::det(&zero_col)), vec![0.0]);
    // Under jit too, the same values.
    let xj = jit(|a: &Array, b: &Array| la::solve(a, b))
        .call((sing.clone(), f64m(vec![1.0, 1.0], &[2])))
        .unwrap();
    assert!(xj.same_bits(&x));
}

#[test]
fn bad_input_errors() {
    let r34 = Array::zeros(&[3, 4], DType::F64);
    let e = err_of(|| lax::cholesky(&r34));
    assert!(
        e.contains("cholesky") && e.contains("f64[3,4]") || e.contains("float64[3,4]"),
        "{e}"
    );
    let e = err_of(|| Ok(la::solve(&r34, Array::zeros(&[3], DType::F64))));
    assert!(e.contains("solve") && e.contains("square"), "{e}");
    let e = err_of(|| {
        Ok(la::solve(
            jnp::eye(3, DType::F64),
            Array::zeros(&[4], DType::F64),
        ))
    });
    assert!(
        e.contains("solve") && e.contains("core dimension 'm': 4 vs 3") && e.contains("f64[4]"),
        "{e}"
    );
    let a = jnp::eye(3, DType::F64);
    let e = err_of(|| {
        lax::triangular_solve(
            &a,
            &Array::zeros(&[4, 2], DType::F64),
            true,
            true,
            false,
            false,
            false,
        )
    });
    assert!(e.contains("triangular_solve") && e.contains("[4,2]"), "{e}");
    let e = err_of(|| {
        lax::triangular_solve(
            &a,
            &Array::zeros(&[3, 2], DType::F32),
            true,
            true,
            false,
            false,
            false,
        )
    });
    assert!(e.contains("same dtype"), "{e}");
    let e = err_of(|| lax::lu(&Array::zeros(&[3], DType::F32)).map(|_| ()));
    assert!(e.contains("lu") && e.contains("[3]"), "{e}");
    let e = err_of(|| lax::cholesky(&Array::zeros(&[2, 2], DType::I32)));
    assert!(e.contains("float32 or float64"), "{e}");
    // Under jit, the same errors.
    let e = jit(|a: &Array| la::inv(a))
        .call((r34,))
        .unwrap_err()
        .to_string();
    assert!(e.contains("inv") && e.contains("square"), "{e}");
}

#[test]
fn jaxpr_printing() {
    let j = cranax::make_jaxpr(|a: &Array, b: &Array| {
        or_raise(lax::triangular_solve(a, b, true, true, false, false, false))
    })
    .call((jnp::eye(3, DType::F64), jnp::eye(3, DType::F64)))
    .unwrap();
    let s = j.to_string();
    assert!(s.contains("triangular_solve[\n      conjugate_a=False\n      left_side=True\n      lower=True\n      transpose_a=False\n      unit_diagonal=False\n    ] a b"), "{s}");
    let j = cranax::make_jaxpr(|a: &Array| or_raise(lax::lu(a)))
        .call((jnp::eye(3, DType::F64),))
        .unwrap();
    assert!(
        j.to_string()
            .contains("b:f64[3,3] c:i32[3] d:i32[3] = lu a"),
        "{j}"
    );
}

/// Compiled code calls the same faer kernels as eager evaluation: identical bits, batched,
/// for each primitive (lu's pivots and permutation through its packed buffer too).
#[test]
fn jit_agrees_with_eager_bit_for_bit() {
    for dt in [DType::F32, DType::F64] {
        let key = cranax::random::PRNGKey(7);
        let x = cranax::random::normal(&key, &[2, 40, 40], dt).unwrap();
        let b = cranax::random::normal(&key, &[2, 40, 3], dt).unwrap();
        let spd = jnp::matmul(&x, jnp::transpose(&x, Some(&[0, 2, 1])));
        let lu = |a: &Array| {
            let (f, p, q) = or_raise(lax::lu(a));
            (f, p, q)
        };
        let (e, j) = (lu(&x), jit(lu).call((x.clone(),)).unwrap());
        assert!(
            e.0.same_bits(&j.0) && e.1.same_bits(&j.1) && e.2.same_bits(&j.2),
            "lu {dt:?}"
        );
        let ch = |a: &Array| or_raise(lax::cholesky(a));
        assert!(
            ch(&spd).same_bits(&jit(ch).call((spd.clone(),)).unwrap()),
            "cholesky {dt:?}"
        );
        let ts = |a: &Array, b: &Array| {
            or_raise(lax::triangular_solve(a, b, true, false, true, false, false))
        };
        let want = ts(&spd, &b);
        assert!(
            want.same_bits(&jit(ts).call((spd.clone(), b.clone())).unwrap()),
            "triangular_solve {dt:?}"
        );
        let sv = |a: &Array, b: &Array| {
            sla::lu_solve((&sla::lu_factor(a).0, &sla::lu_factor(a).1), b, 0)
        };
        assert!(
            sv(&x, &b).same_bits(&jit(sv).call((x.clone(), b.clone())).unwrap()),
            "lu_solve {dt:?}"
        );
    }
}

/// `grad` through `solve` factors the matrix once: the backward pass reuses the forward
/// pass's LU factors (JAX's custom_linear_solve), in reverse and forward mode alike.
#[test]
fn grad_of_solve_factors_once() {
    let loss = |a: &Array, b: &Array| jnp::sum(jnp::square(la::solve(a, b)), None, false);
    let b = f64m(vec![1.0, -2.0, 0.5, 3.0], &[4]);
    let j = cranax::make_jaxpr(grad(loss).argnums((ARG0, ARG1)))
        .call((mat4(), b.clone()))
        .unwrap()
        .to_string();
    assert_eq!(j.matches("= lu ").count(), 1, "{j}");
    // Two triangular solves forward (L, then U) and their two transposes backward; none from
    // differentiating the factorisation itself.
    assert_eq!(j.matches("triangular_solve[").count(), 4, "{j}");
    let bb = b.clone();
    let of_a = move |a: &Array| loss(a, &bb);
    let j = cranax::make_jaxpr(cranax::jacfwd(of_a))
        .call((mat4(),))
        .unwrap()
        .to_string();
    assert_eq!(j.matches("= lu ").count(), 1, "{j}");
}

/// Empty matrices (and empty batches) give empty results eagerly and under jit, never a panic.
#[test]
fn empty_matrices() {
    for shape in [[0usize, 0, 0], [2, 0, 0], [0, 3, 3]] {
        let a = Array::zeros(&shape, DType::F64);
        let f = |a: &Array| {
            let (lu, piv, perm) = or_raise(lax::lu(a));
            let c = or_raise(lax::cholesky(a));
            let x = or_raise(lax::triangular_solve(a, a, true, true, false, false, false));
            (lu, piv, perm, c, x)
        };
        let e = f(&a);
        let j = jit(f).call((a.clone(),)).unwrap();
        assert!(
            e.0.same_bits(&j.0)
                && e.2.same_bits(&j.2)
                && e.3.same_bits(&j.3)
                && e.4.same_bits(&j.4),
            "{shape:?}"
        );
        assert_eq!(e.1.shape(), &shape[..2], "{shape:?}");
    }
    let wide = Array::zeros(&[3, 0], DType::F32);
    let (_, piv, perm) = or_raise(lax::lu(&wide));
    assert_eq!(
        (piv.shape(), perm.to_vec::<i32>().unwrap()),
        (&[0usize][..], vec![0, 1, 2])
    );
}
