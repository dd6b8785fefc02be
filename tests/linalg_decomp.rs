//! The decompositions `qr`, `eigh`, `svd` and what is composed from them (`jnp.linalg.{qr,
//! eigh, eigvalsh, svd, norm, lstsq, pinv, matrix_power}`, `solve` with broadcast batch
//! dimensions) against JAX 0.10.2's values (tests/data/jax_linalg.json, made by the committed
//! tests/data/gen_jax_linalg.py), eagerly, under `jit` and under `vmap`; `check_grads` on each
//! primitive; reconstruction identities on random matrices of sizes 1..64; bad input, NaN
//! input and empty matrices; jaxpr printing; jit agreeing with eager bit for bit.
//!
//! Eigenvectors and singular vectors are defined up to sign, and faer's choice is not
//! LAPACK's: they are compared sign-normalised (each column's largest-magnitude entry made
//! positive, a singular pair flipped together), as the generator records them.

#[path = "support/linalg_util.rs"]
#[allow(dead_code)]
mod linalg_util;

use cranax::core::error::or_raise;
use cranax::lax::linalg::{self as lla, EighImplementation, EighOptions, SvdAlgorithm, SvdOptions};
use cranax::numpy as jnp;
use cranax::numpy::linalg as la;
use cranax::test_util::FWD_REV;
use cranax::{check_grads, grad, jit, lax, vmap, Array, DType, Function};
use linalg_util::{assert_close_vals, call, data, err_of, floats, input, rel_err, to_f64, Mode};
use serde_json::Value;

/// Agreement with JAX within 1e-12 (f64) and 5e-5 (f32) relative, absolute below magnitude 1.
/// The decompositions run different algorithms from LAPACK's (faer's blocked Householder QR,
/// tridiagonal and bidiagonal divide and conquer), so results agree to rounding amplified by
/// the conditioning (condition numbers and spectral gaps of order 10 here; derivatives of
/// eigen- and singular vectors divide by gaps). The largest differences seen: 1.5e-14 (f64)
/// and 3.6e-6 (f32), both in gradients through singular vectors.
const RTOL: (f64, f64) = (1e-12, 5e-5);

fn close(what: &str, got: &Array, want: &Value) {
    linalg_util::assert_close_tol(what, got, want, RTOL.0, RTOL.1)
}

/// `u` (`[..., m, k]`) with each column flipped so its largest-magnitude entry is positive
/// (the first such entry, as `argmax`), and the matching rows of `vt` (`[..., k, n]`) with it.
fn signfix(u: &Array, vt: Option<&Array>) -> (Vec<f64>, Option<Vec<f64>>) {
    let nd = u.ndim();
    let (m, k) = (u.shape()[nd - 2], u.shape()[nd - 1]);
    let mut uv = to_f64(u);
    let mut vv = vt.map(to_f64);
    let batch = uv.len().checked_div(m * k).unwrap_or(0);
    for b in 0..batch {
        for j in 0..k {
            let at = |i: usize| b * m * k + i * k + j;
            let mut best = 0;
            for i in 1..m {
                if uv[at(i)].abs() > uv[at(best)].abs() {
                    best = i;
                }
            }
            if uv[at(best)] < 0.0 {
                (0..m).for_each(|i| uv[at(i)] = -uv[at(i)]);
                if let (Some(vv), Some(vt)) = (vv.as_mut(), vt) {
                    let n = vt.shape()[nd - 1];
                    let row = b * k * n + j * n;
                    vv[row..row + n].iter_mut().for_each(|x| *x = -*x);
                }
            }
        }
    }
    (uv, vv)
}

fn close_vals(what: &str, dt: DType, got: &[f64], want: &Value) {
    let tol = if dt == DType::F32 { RTOL.1 } else { RTOL.0 };
    assert_close_vals(&format!("{what} ({dt:?})"), got, &floats(want), tol);
}

/// `sum(x * w[:rows, :cols])` for the read-out weights `w` (`[7, 7]`).
fn readout(x: &Array, w: &Array) -> Array {
    let (r, c) = (x.shape()[0], x.shape()[1]);
    let w = or_raise(lax::slice(w, &[0, 0], &[r, c], None));
    jnp::sum(x * &w, None, false)
}

fn sq_readout(x: &Array, w: &Array) -> Array {
    readout(&(x * x), w)
}

fn thin() -> SvdOptions {
    SvdOptions {
        full_matrices: false,
        ..SvdOptions::default()
    }
}

fn against_jax(mode: Mode, dt: DType) {
    let d = data();
    let n = d["n"].as_u64().unwrap() as usize;
    let m = d["m"].as_u64().unwrap() as usize;
    let k = d["k"].as_u64().unwrap() as usize;
    let nb = d["batch"].as_u64().unwrap() as usize;
    let j = &d[if dt == DType::F32 { "f32" } else { "f64" }];
    let a = input(&d, "A", &[n, n], dt);
    let t = input(&d, "T", &[m, n], dt);
    let wide = jnp::transpose(&t, None);
    let sym = input(&d, "Sym", &[n, n], dt);
    let low = input(&d, "Low", &[m, n], dt);
    let wm = input(&d, "Wm", &[m, m], dt);
    let ww = input(&d, "W", &[n, n], dt);
    let wt = input(&d, "Wt", &[m, n], dt);
    let w = input(&d, "w", &[n], dt);
    let b = input(&d, "b", &[n], dt);
    let bm = input(&d, "bm", &[m], dt);
    let bm2 = input(&d, "Bm2", &[m, k], dt);
    let x3 = input(&d, "X3", &[2, 3, 4], dt);
    let m_ = format!("{mode:?}");

    // qr, every mode, three shapes; q and r compare directly (LAPACK's Householder signs).
    for (name, x) in [("sq", &a), ("tall", &t), ("wide", &wide)] {
        for qmode in ["reduced", "complete"] {
            let (q, r) = call(mode, move |x: &Array| la::qr(x, qmode).qr(), (x.clone(),));
            close(
                &format!("qr {name} {qmode} q {m_}"),
                &q,
                &j[format!("qr_{name}_{qmode}_q")],
            );
            close(
                &format!("qr {name} {qmode} r {m_}"),
                &r,
                &j[format!("qr_{name}_{qmode}_r")],
            );
        }
    }
    let r = call(mode, |x: &Array| la::qr(x, "r").r().clone(), (t.clone(),));
    close(&format!("qr mode r {m_}"), &r, &j["qr_r_only"]);
    let (q, r, p) = call(
        mode,
        |x: &Array| or_raise(lla::qr_pivoted(x, false)),
        (t.clone(),),
    );
    close(&format!("qr pivoted q {m_}"), &q, &j["qr_piv_q"]);
    close(&format!("qr pivoted r {m_}"), &r, &j["qr_piv_r"]);
    assert_eq!(to_f64(&p), floats(&j["qr_piv_p"]), "qr pivots {m_} {dt:?}");
    for (name, x, full) in [
        ("sq", &a, false),
        ("tall", &t, false),
        ("wide", &wide, false),
        ("tall_full", &t, true),
    ] {
        let wmc = wm.clone();
        let f = move |x: &Array| {
            let (q, r) = or_raise(lla::qr(x, full));
            readout(&q, &wmc) + readout(&r, &wmc)
        };
        let g = call(mode, grad(f), (x.clone(),));
        close(
            &format!("grad qr {name} {m_}"),
            &g,
            &j[format!("qr_grad_{name}")],
        );
    }

    // eigh: eigenvalues, sign-normalised eigenvectors, gradients of sign-invariant read-outs.
    let (ew, ev) = call(mode, |s: &Array| la::eigh(s, None, true), (sym.clone(),));
    close(&format!("eigh w {m_}"), &ew, &j["eigh_w"]);
    close_vals(
        &format!("eigh v {m_}"),
        dt,
        &signfix(&ev, None).0,
        &j["eigh_v"],
    );
    let e = call(mode, |s: &Array| la::eigvalsh(s, None), (sym.clone(),));
    close(&format!("eigvalsh {m_}"), &e, &j["eigvalsh"]);
    let wts = or_raise(lax::convert_element_type(
        &jnp::arange(1.0, n as f64 + 1.0, 1.0, DType::F64),
        dt,
    ));
    let wc = wts.clone();
    let g = call(
        mode,
        grad(move |s: &Array| jnp::sum(la::eigvalsh(s, None) * &wc, None, false)),
        (sym.clone(),),
    );
    close(&format!("grad eigvalsh {m_}"), &g, &j["eigh_w_grad"]);
    let wc = ww.clone();
    let g = call(
        mode,
        grad(move |s: &Array| sq_readout(&la::eigh(s, None, true).1, &wc)),
        (sym.clone(),),
    );
    close(&format!("grad eigh v {m_}"), &g, &j["eigh_v_grad"]);
    let (wu, _) = call(
        mode,
        |s: &Array| la::eigh(s, Some("U"), false),
        (sym.clone(),),
    );
    close(&format!("eigh upper {m_}"), &wu, &j["eigh_upper_w"]);

    // svd
    for (name, x) in [("sq", &a), ("tall", &t), ("wide", &wide)] {
        let (u, s, vt) = call(
            mode,
            |x: &Array| la::svd(x, false, true).usvh(),
            (x.clone(),),
        );
        close(
            &format!("svd {name} s {m_}"),
            &s,
            &j[format!("svd_{name}_s")],
        );
        let (uf, vf) = signfix(&u, Some(&vt));
        close_vals(
            &format!("svd {name} u {m_}"),
            dt,
            &uf,
            &j[format!("svd_{name}_u")],
        );
        close_vals(
            &format!("svd {name} vt {m_}"),
            dt,
            &vf.unwrap(),
            &j[format!("svd_{name}_vt")],
        );
        let wc = wts.clone();
        let g = call(
            mode,
            grad(move |x: &Array| jnp::sum(la::svd(x, true, false).s() * &wc, None, false)),
            (x.clone(),),
        );
        close(
            &format!("grad svd {name} s {m_}"),
            &g,
            &j[format!("svd_{name}_s_grad")],
        );
        let wmc = wm.clone();
        let uv = move |x: &Array| {
            let (u, _, vt) = la::svd(x, false, true).usvh();
            sq_readout(&u, &wmc) + sq_readout(&vt, &wmc)
        };
        let g = call(mode, grad(uv), (x.clone(),));
        close(
            &format!("grad svd {name} u, vt {m_}"),
            &g,
            &j[format!("svd_{name}_uv_grad")],
        );
    }
    let (u, s, vt) = call(
        mode,
        |x: &Array| la::svd(x, true, true).usvh(),
        (t.clone(),),
    );
    assert_eq!((u.shape(), vt.shape()), (&[m, m][..], &[n, n][..]));
    close(&format!("svd full s {m_}"), &s, &j["svd_tall_full_s"]);
    let u_cols = or_raise(lax::slice(&u, &[0, 0], &[m, n], None));
    close_vals(
        &format!("svd full u[:, :n] {m_}"),
        dt,
        &signfix(&u_cols, None).0,
        &j["svd_tall_full_u_cols"],
    );

    // norm
    let inf = f64::INFINITY;
    for (key, o) in [
        ("None", la::NormOrd::None),
        ("1", 1.into()),
        ("2", 2.into()),
        ("inf", inf.into()),
        ("-inf", (-inf).into()),
        ("0", 0.into()),
        ("3", 3.into()),
        ("0.5", 0.5.into()),
        ("-1", (-1).into()),
    ] {
        let v = call(
            mode,
            move |v: &Array| la::norm(v, o.clone(), None, false),
            (b.clone(),),
        );
        close(
            &format!("norm vector ord={key} {m_}"),
            &v,
            &j[format!("norm_vec_{key}")],
        );
    }
    for (key, o) in [
        ("None", la::NormOrd::None),
        ("fro", "fro".into()),
        ("nuc", "nuc".into()),
        ("1", 1.into()),
        ("-1", (-1).into()),
        ("2", 2.into()),
        ("-2", (-2).into()),
        ("inf", inf.into()),
        ("-inf", (-inf).into()),
    ] {
        let v = call(
            mode,
            move |x: &Array| la::norm(x, o.clone(), None, false),
            (t.clone(),),
        );
        close(
            &format!("norm matrix ord={key} {m_}"),
            &v,
            &j[format!("norm_mat_{key}")],
        );
    }
    type NormCase = (
        &'static str,
        la::NormOrd,
        &'static [isize],
        bool,
        &'static [usize],
    );
    let cases: [NormCase; 5] = [
        ("norm_axis1", la::NormOrd::None, &[1], false, &[2, 4]),
        ("norm_axis1_inf_keep", inf.into(), &[-2], true, &[2, 1, 4]),
        ("norm_axes_20_1", 1.into(), &[2, 0], false, &[3]),
        (
            "norm_axes_02_nuc_keep",
            "nuc".into(),
            &[0, 2],
            true,
            &[1, 3, 1],
        ),
        ("norm_axes_12_inf", inf.into(), &[1, 2], false, &[2]),
    ];
    for (key, o, axes, keep, shape) in cases {
        let v = call(
            mode,
            move |x: &Array| la::norm(x, o.clone(), Some(axes), keep),
            (x3.clone(),),
        );
        assert_eq!(v.shape(), shape, "{key}");
        close(&format!("{key} {m_}"), &v, &j[key]);
    }
    let v = call(
        mode,
        |x: &Array| la::norm(x, la::NormOrd::None, None, false),
        (x3.clone(),),
    );
    close(&format!("norm of a rank-3 array {m_}"), &v, &j["norm_all"]);
    for o in ["fro", "nuc"] {
        let g = call(
            mode,
            grad(move |x: &Array| la::norm(x, o, None, false)),
            (t.clone(),),
        );
        close(
            &format!("grad norm {o} {m_}"),
            &g,
            &j[format!("norm_grad_{o}")],
        );
    }
    let g = call(
        mode,
        grad(|x: &Array| la::norm(x, 2, None, false)),
        (t.clone(),),
    );
    close(&format!("grad norm 2 {m_}"), &g, &j["norm_grad_2"]);
    let g = call(
        mode,
        grad(|v: &Array| la::norm(v, 3, None, false)),
        (b.clone(),),
    );
    close(
        &format!("grad vector norm 3 {m_}"),
        &g,
        &j["norm_grad_vec3"],
    );

    // lstsq, pinv, matrix_power
    for (name, x) in [("full", &t), ("low", &low)] {
        for (bname, rhs) in [("vec", &bm), ("mat", &bm2)] {
            let (xs, resid, rank, s) = call(
                mode,
                |x: &Array, r: &Array| la::lstsq(x, r, None),
                (x.clone(), rhs.clone()),
            );
            let key = format!("lstsq_{name}_{bname}");
            close(&format!("{key} x {m_}"), &xs, &j[format!("{key}_x")]);
            // The residual of the rank-deficient fit is a difference of nearly equal sums.
            close(
                &format!("{key} resid {m_}"),
                &resid,
                &j[format!("{key}_resid")],
            );
            assert_eq!(
                to_f64(&rank),
                floats(&j[format!("{key}_rank")]),
                "{key} rank"
            );
            close(&format!("{key} s {m_}"), &s, &j[format!("{key}_s")]);
        }
    }
    let (xs, _, rank, _) = call(
        mode,
        |x: &Array, r: &Array| la::lstsq(x, r, Some(0.5)),
        (t.clone(), bm.clone()),
    );
    close(&format!("lstsq rcond {m_}"), &xs, &j["lstsq_rcond"]);
    assert_eq!(to_f64(&rank), floats(&j["lstsq_rcond_rank"]));
    let (bc, wc) = (bm.clone(), w.clone());
    let g = call(
        mode,
        grad(move |x: &Array| jnp::sum(la::lstsq(x, &bc, None).0 * &wc, None, false)),
        (t.clone(),),
    );
    close(&format!("grad lstsq {m_}"), &g, &j["lstsq_grad"]);
    for (key, x) in [("pinv_tall", &t), ("pinv_low", &low), ("pinv_wide", &wide)] {
        let p = call(mode, |x: &Array| la::pinv(x, None), (x.clone(),));
        close(&format!("{key} {m_}"), &p, &j[key]);
    }
    let p = call(mode, |x: &Array| la::pinv(x, Some(0.5)), (t.clone(),));
    close(&format!("pinv rtol {m_}"), &p, &j["pinv_rtol"]);
    let wtt = jnp::transpose(&wt, None);
    let g = call(
        mode,
        grad(move |x: &Array| jnp::sum(la::pinv(x, None) * &wtt, None, false)),
        (t.clone(),),
    );
    close(&format!("grad pinv {m_}"), &g, &j["pinv_grad"]);
    let half = &a * 0.5;
    for p in [0i64, 1, 2, 3, 5, -1, -3] {
        let v = call(
            mode,
            move |x: &Array| la::matrix_power(x, p),
            (half.clone(),),
        );
        close(
            &format!("matrix_power {p} {m_}"),
            &v,
            &j[format!("matrix_power_{p}")],
        );
    }
    let wc = ww.clone();
    let g = call(
        mode,
        grad(move |x: &Array| jnp::sum(la::matrix_power(x, 5) * &wc, None, false)),
        (half.clone(),),
    );
    close(
        &format!("grad matrix_power {m_}"),
        &g,
        &j["matrix_power_grad"],
    );

    // solve with broadcast batch dimensions
    let ab = input(&d, "As", &[nb, n, n], dt);
    let tb = input(&d, "Ts", &[nb, m, n], dt);
    let solve = |a: &Array, b: &Array| la::solve(a, b);
    let x = call(mode, solve, (ab.clone(), b.clone()));
    assert_eq!(x.shape(), &[nb, n]);
    close(
        &format!("solve [B,n,n] [n] {m_}"),
        &x,
        &j["solve_bcast_vec"],
    );
    let rhs = or_raise(lax::slice(&tb, &[0, 0, 0], &[nb, n, n], None));
    let x = call(mode, solve, (a.clone(), rhs));
    close(
        &format!("solve [n,n] [B,n,n] {m_}"),
        &x,
        &j["solve_bcast_a2"],
    );
    let a1 = jnp::expand_dims(&ab, 0);
    let rhs = jnp::expand_dims(or_raise(lax::slice(&tb, &[0, 0, 0], &[2, n, k], None)), 1);
    let x = call(mode, solve, (a1, rhs));
    assert_eq!(x.shape(), &[2, nb, n, k]);
    close(
        &format!("solve [1,B,n,n] [2,1,n,k] {m_}"),
        &x,
        &j["solve_bcast_both"],
    );

    // vmap over a batch of matrices
    let sb = input(&d, "Sb", &[nb, n, n], dt);
    let v = call(mode, vmap(|s: &Array| la::eigvalsh(s, None)), (sb.clone(),));
    close(&format!("vmap eigvalsh {m_}"), &v, &j["vmap_eigvalsh"]);
    let wc = wts.clone();
    let g = call(
        mode,
        vmap(grad(move |s: &Array| {
            jnp::sum(la::eigvalsh(s, None) * &wc, None, false)
        })),
        (sb.clone(),),
    );
    close(
        &format!("vmap grad eigvalsh {m_}"),
        &g,
        &j["vmap_eigvalsh_grad"],
    );
    let v = call(
        mode,
        vmap(|x: &Array| la::svd(x, true, false).s().clone()),
        (tb.clone(),),
    );
    close(&format!("vmap svd values {m_}"), &v, &j["vmap_svd_s"]);
    let v = call(
        mode,
        vmap(|x: &Array| la::qr(x, "reduced").r().clone()),
        (tb.clone(),),
    );
    close(&format!("vmap qr r {m_}"), &v, &j["vmap_qr_r"]);
    let v = call(
        mode,
        vmap(|x: &Array| la::norm(x, "nuc", None, false)),
        (tb.clone(),),
    );
    close(&format!("vmap norm nuc {m_}"), &v, &j["vmap_norm_nuc"]);
    let bc = bm.clone();
    let v = call(
        mode,
        vmap(move |x: &Array| la::lstsq(x, &bc, None).0),
        (tb.clone(),),
    );
    close(&format!("vmap lstsq {m_}"), &v, &j["vmap_lstsq"]);
    let v = call(mode, vmap(|x: &Array| la::pinv(x, None)), (tb.clone(),));
    close(&format!("vmap pinv {m_}"), &v, &j["vmap_pinv"]);
}

against_jax_tests!(against_jax);

// ---- check_grads on each primitive (f64, forward and reverse, order 2) ---------------------

fn f64m(v: Vec<f64>, shape: &[usize]) -> Array {
    Array::from_vec(v, shape).unwrap()
}

/// A fixed `r x c` matrix with distinct singular values (and no zero entries).
fn mat(r: usize, c: usize) -> Array {
    let v = (0..r * c)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) * 0.3 + if i % (c + 1) == 0 { 2.0 } else { 0.1 })
        .collect();
    f64m(v, &[r, c])
}

/// A symmetric 4x4 matrix with eigenvalues near 1, 2, 3, 4 (gaps of about 1).
fn sym4() -> Array {
    let d = f64m(vec![1.0, 2.0, 3.0, 4.0], &[4]);
    let p = mat(4, 4) * 0.05;
    jnp::add(
        jnp::multiply(jnp::eye(4, DType::F64), d),
        jnp::add(&p, jnp::transpose(&p, None)),
    )
}

#[test]
fn check_grads_qr() {
    for (r, c, full) in [
        (4, 4, false),
        (5, 3, false),
        (3, 5, false),
        (5, 3, true),
        (3, 5, true),
    ] {
        let f = move |x: &Array| or_raise(lla::qr(x, full));
        check_grads(&f, (mat(r, c),), 2, FWD_REV)
            .unwrap_or_else(|e| panic!("qr {r}x{c} full={full}: {e}"));
    }
    // Pivoted: the column order is locally constant, so q and r are smooth.
    let f = |x: &Array| {
        let (q, r, _) = or_raise(lla::qr_pivoted(x, false));
        (q, r)
    };
    check_grads(&f, (mat(5, 3),), 2, FWD_REV).unwrap();
}

#[test]
fn check_grads_eigh() {
    // Through jnp.linalg.eigh (symmetrised input), as JAX's tests do; eigenvectors included
    // (their signs are locally constant).
    let f = |s: &Array| la::eigh(s, None, true);
    check_grads(&f, (sym4(),), 2, FWD_REV).unwrap();
    let f = |s: &Array| la::eigvalsh(s, None);
    check_grads(&f, (sym4(),), 2, FWD_REV).unwrap();
}

#[test]
fn check_grads_svd() {
    for (r, c) in [(4, 4), (5, 3), (3, 5)] {
        let f = |x: &Array| la::svd(x, false, true).usvh();
        check_grads(&f, (mat(r, c),), 2, FWD_REV).unwrap_or_else(|e| panic!("svd {r}x{c}: {e}"));
        let f = |x: &Array| la::svd(x, true, false).s().clone();
        check_grads(&f, (mat(r, c),), 2, FWD_REV)
            .unwrap_or_else(|e| panic!("svd values {r}x{c}: {e}"));
    }
    // Square full_matrices is the thin decomposition.
    let f = |x: &Array| la::svd(x, true, true).usvh();
    check_grads(&f, (mat(4, 4),), 1, FWD_REV).unwrap();
}

#[test]
fn check_grads_composites() {
    let b = f64m(vec![1.0, -2.0, 0.5, 3.0, 0.25], &[5]);
    check_grads(&|x: &Array| la::pinv(x, None), (mat(5, 3),), 2, FWD_REV).unwrap();
    check_grads(&|x: &Array| la::pinv(x, None), (mat(3, 5),), 1, FWD_REV).unwrap();
    let f = move |x: &Array| la::lstsq(x, &b, None).0;
    check_grads(&f, (mat(5, 3),), 1, FWD_REV).unwrap();
    for o in [la::NormOrd::None, "nuc".into(), 2.into(), 1.into()] {
        let f = move |x: &Array| la::norm(x, o.clone(), None, false);
        check_grads(&f, (mat(4, 3),), 1, FWD_REV).unwrap();
    }
    check_grads(&|x: &Array| la::matrix_power(x, -3), (sym4(),), 1, FWD_REV).unwrap();
}

// ---- reconstruction identities on random sizes 1..64 ---------------------------------------

fn fro(x: &Array) -> f64 {
    to_f64(x).iter().map(|v| v * v).sum::<f64>().sqrt()
}

fn eps(dt: DType) -> f64 {
    if dt == DType::F32 {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    }
}

fn mt(x: &Array) -> Array {
    let nd = x.ndim();
    let mut p: Vec<usize> = (0..nd).collect();
    p.swap(nd - 2, nd - 1);
    jnp::transpose(x, Some(&p))
}

fn eye_of(n: usize, dt: DType) -> Array {
    or_raise(lax::convert_element_type(&jnp::eye(n, DType::F64), dt))
}

/// `‖got - want‖_F <= 10 n eps ‖scale‖_F` (Householder QR, symmetric QR/divide and conquer
/// and bidiagonal SVD are backward stable with errors of order `n eps ‖A‖`, `n` the largest
/// dimension; the largest `error / (n eps ‖A‖_F)` seen over these cases is 1.5).
fn assert_small(what: &str, got: &Array, want: &Array, scale: f64, n: usize, dt: DType) {
    let err = fro(&(got - want));
    let tol = 10.0 * n as f64 * eps(dt) * scale;
    assert!(
        err <= tol,
        "{what}: error {err:e} > {tol:e} (n={n}, {dt:?})"
    );
}

/// `Q R = A` (Q with orthonormal columns, R upper triangular), `U diag(s) Vᵀ = A` (U, V
/// orthonormal, s descending), `A v = w v` (V orthonormal, w ascending) on random normal
/// matrices of sizes 1..64, square, tall and wide, in a batch of 2, f32 and f64.
#[test]
fn reconstruction_identities() {
    for dt in [DType::F64, DType::F32] {
        for (i, n) in [1usize, 2, 3, 7, 16, 33, 64].into_iter().enumerate() {
            for (r, c) in [(n, n), (n + n / 2 + 1, n), (n, n + n / 2 + 1)] {
                let key = cranax::random::PRNGKey(100 + i as i64);
                let a = cranax::random::normal(&key, &[2, r, c], dt).unwrap();
                let big = r.max(c);
                let scale = fro(&a);
                let what = |s: &str| format!("{s} [{r}x{c}]");
                for full in [false, true] {
                    let (q, rr) = or_raise(lla::qr(&a, full));
                    let kk = q.shape()[2];
                    assert_small(&what("Q R = A"), &jnp::matmul(&q, &rr), &a, scale, big, dt);
                    let qtq = jnp::matmul(mt(&q), &q);
                    let eye = jnp::broadcast_to(eye_of(kk, dt), qtq.shape());
                    assert_small(
                        &what("QᵀQ = I"),
                        &qtq,
                        &eye,
                        2f64.sqrt() * (kk as f64).sqrt(),
                        big,
                        dt,
                    );
                    let (rk, rn) = (rr.shape()[1], rr.shape()[2]);
                    let rv = to_f64(&rr);
                    let below = (0..2 * rk * rn).filter(|&e| (e / rn) % rk > e % rn);
                    assert!(below.into_iter().all(|e| rv[e] == 0.0), "R upper {r}x{c}");
                }
                let (u, s, vt) = la::svd(&a, false, true).usvh();
                let kk = s.shape()[1];
                let us = jnp::multiply(&u, jnp::expand_dims(&s, 1));
                assert_small(
                    &what("U diag(s) Vᵀ = A"),
                    &jnp::matmul(us, &vt),
                    &a,
                    scale,
                    big,
                    dt,
                );
                let sv = to_f64(&s);
                for b in 0..2 {
                    let row = &sv[b * kk..(b + 1) * kk];
                    assert!(row.windows(2).all(|p| p[0] >= p[1]), "s descending {row:?}");
                }
                for (x, k2) in [(mt(&u), kk), (vt.clone(), kk)] {
                    let g = jnp::matmul(&x, mt(&x));
                    let eye = jnp::broadcast_to(eye_of(k2, dt), g.shape());
                    assert_small(
                        &what("UᵀU = VᵀV = I"),
                        &g,
                        &eye,
                        2f64.sqrt() * (k2 as f64).sqrt(),
                        big,
                        dt,
                    );
                }
                if r == c {
                    let sym = (&a + mt(&a)) * 0.5;
                    let (w, v) = la::eigh(&sym, None, true);
                    let av = jnp::matmul(&sym, &v);
                    let vw = jnp::multiply(&v, jnp::expand_dims(&w, 1));
                    assert_small(&what("A v = w v"), &av, &vw, fro(&sym), n, dt);
                    let vtv = jnp::matmul(mt(&v), &v);
                    let eye = jnp::broadcast_to(eye_of(n, dt), vtv.shape());
                    assert_small(
                        &what("VᵀV = I"),
                        &vtv,
                        &eye,
                        2f64.sqrt() * (n as f64).sqrt(),
                        n,
                        dt,
                    );
                    let wv = to_f64(&w);
                    assert!(
                        wv[..n].windows(2).all(|p| p[0] <= p[1]),
                        "w ascending {wv:?}"
                    );
                }
            }
        }
    }
}

// ---- bad input is an error with shapes; NaN input gives NaNs -------------------------------

#[test]
fn bad_input_errors() {
    let r34 = Array::zeros(&[3, 4], DType::F64);
    let raw = EighOptions {
        symmetrize_input: false,
        ..EighOptions::default()
    };
    let e = err_of(|| lla::eigh(&r34, &raw));
    assert_eq!(
        e,
        "Argument to symmetric eigendecomposition must have shape [..., n, n], got shape (3, 4)"
    );
    let e = err_of(|| Ok(la::eigh(Array::zeros(&[2, 3, 4], DType::F64), None, false)));
    assert!(e.contains("got shape (3, 4)"), "{e}");
    // Symmetrising first fails first, as in JAX.
    let e = err_of(|| Ok(la::eigh(Array::zeros(&[2, 3, 4], DType::F64), None, true)));
    assert!(e.contains("(2, 3, 4)") && e.contains("(2, 4, 3)"), "{e}");
    let v3 = Array::zeros(&[3], DType::F32);
    for (name, e) in [
        ("qr", err_of(|| lla::qr(&v3, false))),
        ("eigh", err_of(|| lla::eigh(&v3, &EighOptions::default()))),
        ("svd", err_of(|| lla::svd(&v3, &SvdOptions::default()))),
        ("svd", err_of(|| Ok(la::svd(&v3, true, true)))),
        ("eigh", err_of(|| Ok(la::eigvalsh(&v3, None)))),
    ] {
        assert_eq!(
            e,
            format!("Input 0 to {name} must have rank at least 2, but got shape=(3,)")
        );
    }
    let i33 = Array::zeros(&[3, 3], DType::I32);
    let e = err_of(|| lla::qr(&i33, false));
    assert_eq!(e, "qr does not accept dtype int32 at position 0. Accepted dtypes at position 0 are subtypes of floating, complexfloating.");
    let sq = jnp::eye(3, DType::F64);
    let e = err_of(|| Ok(la::qr(&sq, "foo")));
    assert_eq!(e, "Unsupported QR decomposition mode 'foo'");
    let e = err_of(|| Ok(la::eigh(&sq, Some("X"), true)));
    assert_eq!(e, "UPLO must be one of None, 'L', or 'U', got X");
    let e = err_of(|| Ok(la::norm(&sq, "foo", None, false)));
    assert_eq!(e, "Invalid order 'foo' for matrix norm.");
    let e = err_of(|| Ok(la::norm(&sq, 3, None, false)));
    assert_eq!(e, "Invalid order '3' for matrix norm.");
    let e = err_of(|| Ok(la::norm(Array::zeros(&[3], DType::F64), "fro", None, false)));
    assert_eq!(e, "Invalid order 'fro' for vector norm.");
    let e = err_of(|| {
        Ok(la::norm(
            Array::zeros(&[2, 2, 2], DType::F64),
            2,
            None,
            false,
        ))
    });
    assert!(
        e.starts_with("Improper number of axes for norm: axis=(0, 1, 2)."),
        "{e}"
    );
    let e = err_of(|| Ok(la::lstsq(&sq, Array::zeros(&[4], DType::F64), None)));
    assert!(
        e.contains("Leading dimensions") && e.contains("f64[3,3]") && e.contains("f64[4]"),
        "{e}"
    );
    let e = err_of(|| Ok(la::matrix_power(Array::zeros(&[3], DType::F64), 2)));
    assert!(
        e.contains("1-dimensional array given") && e.contains("f64[3]"),
        "{e}"
    );
    let e = err_of(|| Ok(la::matrix_power(&r34, 2)));
    assert!(
        e.contains("must be square") && e.contains("f64[3,4]"),
        "{e}"
    );
    let e = err_of(|| {
        Ok(la::solve(
            Array::zeros(&[4, 3, 3], DType::F64),
            Array::zeros(&[2, 3], DType::F64),
        ))
    });
    assert!(
        e.starts_with("Invalid shapes for solve: (4, 3, 3), (2, 3)."),
        "{e}"
    );
    let e = err_of(|| {
        Ok(la::solve(
            Array::zeros(&[3], DType::F64),
            Array::zeros(&[3], DType::F64),
        ))
    });
    assert!(
        e.contains("left hand array must be at least two dimensional; got a.shape=(3,)"),
        "{e}"
    );
    let e = err_of(|| {
        Ok(la::solve(
            Array::zeros(&[2, 3, 3], DType::F64),
            Array::zeros(&[4, 3, 1], DType::F64),
        ))
    });
    assert!(
        e.contains("solve") && e.contains("(2,)") && e.contains("(4,)"),
        "{e}"
    );
    // Parameters JAX rejects.
    let full_subset = SvdOptions {
        subset_by_index: Some((0, 1)),
        ..SvdOptions::default()
    };
    let e = err_of(|| lla::svd(&sq, &full_subset));
    assert_eq!(e, "full_matrices and subset_by_index cannot both be set");
    let e = err_of(|| {
        lla::eigh(
            &sq,
            &EighOptions {
                subset_by_index: Some((2, 5)),
                ..EighOptions::default()
            },
        )
    });
    assert!(e.contains("subset_by_index") && e.contains("(2, 5)"), "{e}");
    // Algorithms JAX's CPU backend does not have: eagerly and under jit.
    let jacobi = EighOptions {
        implementation: Some(EighImplementation::Jacobi),
        ..EighOptions::default()
    };
    let e = err_of(|| lla::eigh(&sq, &jacobi));
    assert_eq!(e, "Jacobi implementation is not supported on CPU");
    let jc = jacobi.clone();
    let e = jit(move |x: &Array| or_raise(lla::eigh(x, &jc)).1)
        .call((sq.clone(),))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Jacobi implementation is not supported on CPU"),
        "{e}"
    );
    let polar = SvdOptions {
        algorithm: Some(SvdAlgorithm::Polar),
        ..SvdOptions::default()
    };
    let e = err_of(|| lla::svd_values(&sq, &polar));
    assert_eq!(
        e,
        "The SVD Jacobi and Polar algorithms are not implemented on CPU."
    );
    // Derivatives JAX does not define.
    let partial = EighOptions {
        subset_by_index: Some((0, 2)),
        ..EighOptions::default()
    };
    let e = grad(move |x: &Array| jnp::sum(or_raise(lla::eigh(x, &partial)).1, None, false))
        .call((sym4(),))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Derivatives not defined for partial eigen decomposition."
    );
    let e = grad(|x: &Array| jnp::sum(la::svd(x, true, true).usvh().0, None, false))
        .call((mat(5, 3),))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Singular value decomposition JVP not implemented for full matrices"
    );
}

fn all_nan(x: &Array) -> bool {
    to_f64(x).iter().all(|v| v.is_nan())
}

fn any_nan(x: &Array) -> bool {
    // (composites: pinv, lstsq, norm)
    to_f64(x).iter().any(|v| v.is_nan())
}

/// A NaN (or infinite) entry gives NaNs, eagerly and under jit, never a panic or a hang: the
/// results of `qr`, `eigh` and `svd` are NaN throughout (JAX's LAPACK leaves some finite: the
/// columns of `q` before the bad one, `eigh`'s eigenvectors), and what is composed from them
/// has NaNs.
#[test]
fn nan_input_gives_nans() {
    for dt in [DType::F32, DType::F64] {
        for bad in [f64::NAN, f64::INFINITY] {
            let mut v = to_f64(&mat(4, 4));
            v[5] = bad;
            let x = or_raise(lax::convert_element_type(&f64m(v, &[4, 4]), dt));
            let f = |x: &Array| {
                let (q, r) = or_raise(lla::qr(x, false));
                let (w, ev) = la::eigh(x, None, true);
                let (u, s, vt) = la::svd(x, false, true).usvh();
                let p = la::pinv(x, None);
                let ls = la::lstsq(x, jnp::ones(&[4], x.dtype()), None).0;
                let nm = la::norm(x, "nuc", None, false);
                vec![q, r, w, ev, u, s, vt, p, ls, nm]
            };
            for out in [f(&x), jit(f).call((x.clone(),)).unwrap()] {
                let [q, r, w, ev, u, s, vt, p, ls, nm]: [Array; 10] = out.try_into().unwrap();
                for (name, y) in [
                    ("q", &q),
                    ("r", &r),
                    ("w", &w),
                    ("v", &ev),
                    ("u", &u),
                    ("s", &s),
                    ("vt", &vt),
                ] {
                    assert!(all_nan(y), "{name} of a matrix with {bad} ({dt:?}): {y:?}");
                }
                for (name, y) in [("pinv", &p), ("lstsq", &ls), ("norm", &nm)] {
                    assert!(any_nan(y), "{name} with {bad} ({dt:?}): {y:?}");
                }
            }
        }
    }
}

// ---- printing, jit == eager, empty matrices, subsets ---------------------------------------

#[test]
fn jaxpr_printing() {
    let a32 = jnp::ones(&[3, 2], DType::F64);
    let s = cranax::make_jaxpr(|a: &Array| or_raise(lla::qr(a, true)))
        .call((a32.clone(),))
        .unwrap()
        .to_string();
    assert_eq!(
        s,
        "{ lambda ; a:f64[3,2]. let\n    b:f64[3,3] c:f64[3,2] = qr[full_matrices=True pivoting=False use_magma=None] a\n  in (b, c) }"
    );
    let s = cranax::make_jaxpr(|a: &Array| or_raise(lla::qr_pivoted(a, false)))
        .call((a32.clone(),))
        .unwrap()
        .to_string();
    assert_eq!(
        s,
        "{ lambda ; a:f64[3,2]. let\n    b:f64[3,2] c:f64[2,2] d:i32[2] = qr[\n      full_matrices=False\n      pivoting=True\n      use_magma=None\n    ] a\n  in (b, c, d) }"
    );
    let s = cranax::make_jaxpr(|a: &Array| or_raise(lla::eigh(a, &EighOptions::default())))
        .call((jnp::eye(3, DType::F64),))
        .unwrap()
        .to_string();
    assert_eq!(
        s,
        "{ lambda ; a:f64[3,3]. let\n    b:f64[3,3] = transpose[permutation=(1, 0)] a\n    c:f64[3,3] = add a b\n    d:f64[3,3] = div c 2.0\n    e:f64[3,3] f:f64[3] = eigh[\n      algorithm=None\n      lower=True\n      sort_eigenvalues=True\n      subset_by_index=None\n    ] d\n  in (e, f) }"
    );
    let opts = EighOptions {
        symmetrize_input: false,
        subset_by_index: Some((1, 3)),
        ..EighOptions::default()
    };
    let s = cranax::make_jaxpr(move |a: &Array| or_raise(lla::eigh(a, &opts)))
        .call((jnp::eye(3, DType::F64),))
        .unwrap()
        .to_string();
    assert!(s.contains("b:f64[3,2] c:f64[2] = eigh[\n      algorithm=None\n      lower=True\n      sort_eigenvalues=True\n      subset_by_index=(1, 3)\n    ] a"), "{s}");
    let s = cranax::make_jaxpr(|a: &Array| or_raise(lla::svd(a, &SvdOptions::default())))
        .call((a32.clone(),))
        .unwrap()
        .to_string();
    assert_eq!(
        s,
        "{ lambda ; a:f64[3,2]. let\n    b:f64[2] c:f64[3,3] d:f64[2,2] = svd[\n      algorithm=None\n      compute_uv=True\n      full_matrices=True\n      subset_by_index=None\n    ] a\n  in (c, b, d) }"
    );
    let jacobi = SvdOptions {
        full_matrices: false,
        subset_by_index: Some((0, 1)),
        algorithm: Some(SvdAlgorithm::Jacobi),
    };
    let s = cranax::make_jaxpr(move |a: &Array| or_raise(lla::svd(a, &jacobi)))
        .call((a32,))
        .unwrap()
        .to_string();
    assert!(s.contains("b:f64[1] c:f64[3,1] d:f64[1,2] = svd[\n      algorithm=SvdAlgorithm.JACOBI\n      compute_uv=True\n      full_matrices=False\n      subset_by_index=(0, 1)\n    ] a"), "{s}");
}

/// Compiled code calls the same packed faer kernel as eager evaluation: identical bits, for
/// every result of each decomposition, batched, f32 and f64.
#[test]
fn jit_agrees_with_eager_bit_for_bit() {
    for dt in [DType::F32, DType::F64] {
        let key = cranax::random::PRNGKey(3);
        let x = cranax::random::normal(&key, &[2, 3, 40, 30], dt).unwrap();
        let sq = or_raise(lax::slice(&x, &[0, 0, 0, 0], &[2, 3, 30, 30], None));
        let sym = (&sq + mt(&sq)) * 0.5;
        let check = |name: &str, e: Vec<Array>, j: Vec<Array>| {
            assert_eq!(e.len(), j.len());
            for (i, (e, j)) in e.iter().zip(&j).enumerate() {
                assert!(e.same_bits(j), "{name} result {i} {dt:?}");
            }
        };
        for full in [false, true] {
            let f = move |x: &Array| {
                let (q, r) = or_raise(lla::qr(x, full));
                vec![q, r]
            };
            check("qr", f(&x), jit(f).call((x.clone(),)).unwrap());
            let f = move |x: &Array| {
                let (q, r, p) = or_raise(lla::qr_pivoted(x, full));
                vec![q, r, p]
            };
            check("qr pivoted", f(&x), jit(f).call((x.clone(),)).unwrap());
            let f = move |x: &Array| la::svd(x, full, true).usvh();
            let (e, j) = (f(&x), jit(f).call((x.clone(),)).unwrap());
            check("svd", vec![e.0, e.1, e.2], vec![j.0, j.1, j.2]);
        }
        let f = |x: &Array| vec![la::svd(x, true, false).s().clone()];
        check("svd values", f(&x), jit(f).call((x.clone(),)).unwrap());
        let f = |x: &Array| {
            let (w, v) = la::eigh(x, None, true);
            vec![w, v]
        };
        check("eigh", f(&sym), jit(f).call((sym.clone(),)).unwrap());
    }
}

/// Empty matrices and batches give JAX's results (qr: q the identity, r zeros; svd: no
/// singular values, full u and vt identities), eagerly and under jit.
#[test]
fn empty_matrices() {
    for (shape, full) in [
        ([0usize, 3], false),
        ([0, 3], true),
        ([3, 0], false),
        ([3, 0], true),
        ([0, 0], true),
    ] {
        let a = Array::zeros(&shape, DType::F64);
        let f = move |a: &Array| {
            let (q, r) = or_raise(lla::qr(a, full));
            let (u, s, vt) = or_raise(lla::svd(
                a,
                &SvdOptions {
                    full_matrices: full,
                    ..SvdOptions::default()
                },
            ));
            (q, r, u, s, vt)
        };
        let e = f(&a);
        let j = jit(f).call((a.clone(),)).unwrap();
        assert!(
            e.0.same_bits(&j.0)
                && e.1.same_bits(&j.1)
                && e.2.same_bits(&j.2)
                && e.4.same_bits(&j.4),
            "{shape:?}"
        );
        let (m, n) = (shape[0], shape[1]);
        let k = if full { m } else { 0 };
        assert_eq!(
            to_f64(&e.0),
            to_f64(&or_raise(lax::slice(
                &jnp::eye(m, DType::F64),
                &[0, 0],
                &[m, k],
                None
            )))
        );
        assert_eq!(e.3.shape(), &[0]);
        if full {
            assert_eq!(to_f64(&e.2), to_f64(&jnp::eye(m, DType::F64)), "{shape:?}");
            assert_eq!(to_f64(&e.4), to_f64(&jnp::eye(n, DType::F64)), "{shape:?}");
        }
    }
    for shape in [[0usize, 0, 0], [0, 3, 3], [2, 0, 0]] {
        let a = Array::zeros(&shape, DType::F32);
        let f = |a: &Array| la::eigh(a, None, true);
        let (w, v) = f(&a);
        let (wj, vj) = jit(f).call((a.clone(),)).unwrap();
        assert!(w.same_bits(&wj) && v.same_bits(&vj), "{shape:?}");
        assert_eq!(w.shape(), &shape[..2]);
    }
}

/// `subset_by_index` (JAX's TPU-only option, implemented here): the same values as the
/// matching slice of the whole decomposition.
#[test]
fn subset_by_index() {
    let s = sym4();
    let (v, w) = or_raise(lla::eigh(&s, &EighOptions::default()));
    let (vs, ws) = or_raise(lla::eigh(
        &s,
        &EighOptions {
            subset_by_index: Some((1, 3)),
            ..EighOptions::default()
        },
    ));
    assert_eq!(to_f64(&ws), to_f64(&w)[1..3]);
    assert!(vs.same_bits(&or_raise(lax::slice(&v, &[0, 1], &[4, 3], None))));
    let x = mat(5, 3);
    let (u, sv, vt) = or_raise(lla::svd(&x, &thin()));
    let sub = SvdOptions {
        subset_by_index: Some((1, 3)),
        ..thin()
    };
    let (us, ss, vts) = or_raise(lla::svd(&x, &sub));
    assert_eq!(to_f64(&ss), to_f64(&sv)[1..3]);
    assert!(us.same_bits(&or_raise(lax::slice(&u, &[0, 1], &[5, 3], None))));
    assert!(vts.same_bits(&or_raise(lax::slice(&vt, &[1, 0], &[3, 3], None))));
}

/// `solve` with one matrix and a batch of right-hand sides factors once, and its gradient
/// reuses that factorisation.
#[test]
fn broadcast_solve_factors_once() {
    let b = cranax::random::normal(&cranax::random::PRNGKey(5), &[3, 4, 2], DType::F64).unwrap();
    let loss = |a: &Array, b: &Array| jnp::sum(jnp::square(la::solve(a, b)), None, false);
    let j = cranax::make_jaxpr(grad(loss))
        .call((sym4(), b.clone()))
        .unwrap()
        .to_string();
    assert_eq!(j.matches("= lu ").count(), 1, "{j}");
    let x = la::solve(sym4(), &b);
    let per: Vec<Array> = (0..3).map(|i| la::solve(sym4(), b.at(i))).collect();
    assert!(rel_err(&x, &jnp::stack(&per, 0)) < 1e-14);
}
