//! Custom derivative rules survive every composition of grad, vmap, jit, jvp and linearize.
//!
//! Both functions below compute `sin(x)` but declare a derivative that is not `cos(x)`, so a
//! rule lost on the way (autodiff of the primal function used instead) shows as `cos(x)`:
//! - `jvp_rule`: `custom_jvp` with tangent `x^2 t` (so d/dx = x^2, d2/dx2 = 2x: the rule is
//!   itself differentiated for second order, as JAX does);
//! - `vjp_rule`: `custom_vjp` with cotangent `x^3 g` (d/dx = x^3; forward mode is an error).

use cranax::numpy as jnp;
use cranax::{
    custom_jvp, custom_vjp, grad, jacfwd, jacrev, jit, jvp, linearize, vjp, vmap, Array, Function,
};

fn jvp_rule() -> impl Function<(Array,), Output = Array> + Clone {
    custom_jvp(
        |x: &Array| jnp::sin(x),
        |p: &[Array], t: &[Array]| (vec![jnp::sin(&p[0])], vec![&t[0] * &p[0] * &p[0]]),
    )
}

fn vjp_rule() -> impl Function<(Array,), Output = Array> + Clone {
    custom_vjp(
        |x: &Array| jnp::sin(x),
        |p: &[Array]| (vec![jnp::sin(&p[0])], vec![p[0].clone()]),
        |r: &[Array], g: &[Array]| vec![&g[0] * &r[0] * &r[0] * &r[0]],
    )
}

const XS: [f64; 4] = [0.5, -1.25, 2.0, 3.0];

fn xs() -> Array {
    Array::from_slice(&XS)
}

fn vals(a: &Array) -> Vec<f64> {
    a.to_vec::<f64>().unwrap()
}

/// d/dx of the custom rule at each x.
fn slope(power: i32) -> Vec<f64> {
    XS.iter().map(|x| x.powi(power)).collect()
}

/// Exact comparison up to the rounding of a few multiplications.
fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 4.0 * f64::EPSILON * w.abs(),
            "{what}: {got:?} vs {want:?}"
        );
    }
}

/// `f` applied to a vector elementwise and summed, through `vmap`.
fn summed<F: Function<(Array,), Output = Array> + Clone + 'static>(
    f: F,
) -> impl Fn(&Array) -> Array + Clone {
    move |x: &Array| jnp::sum(vmap(f.clone()).call((x.clone(),)).unwrap(), None, false)
}

/// `d/dx f` at each of `XS` by every composition of grad, vmap and jit (in either order).
fn reverse_mode_compositions<F>(f: &F) -> Vec<(&'static str, Array)>
where
    F: Function<(Array,), Output = Array> + Clone + 'static,
{
    vec![
        ("vmap(grad)", vmap(grad(f.clone())).call((xs(),)).unwrap()),
        ("grad(vmap)", grad(summed(f.clone())).call((xs(),)).unwrap()),
        (
            "jit(vmap(grad))",
            jit(vmap(grad(f.clone()))).call((xs(),)).unwrap(),
        ),
        (
            "vmap(jit(grad))",
            vmap(jit(grad(f.clone()))).call((xs(),)).unwrap(),
        ),
        (
            "vmap(grad(jit))",
            vmap(grad(jit(f.clone()))).call((xs(),)).unwrap(),
        ),
        (
            "grad(jit(vmap))",
            grad(jit(summed(f.clone()))).call((xs(),)).unwrap(),
        ),
        (
            "jit(grad(vmap))",
            jit(grad(summed(f.clone()))).call((xs(),)).unwrap(),
        ),
        (
            "grad(vmap(jit))",
            grad(summed(jit(f.clone()))).call((xs(),)).unwrap(),
        ),
    ]
}

#[test]
fn custom_jvp_rule_under_reverse_mode_compositions() {
    let want = slope(2);
    let f = jvp_rule();
    let cases = reverse_mode_compositions(&f);
    for (what, got) in cases {
        assert_close(what, &vals(&got), &want);
    }
    let (_, pullback) = vjp(&summed(f.clone()), (xs(),)).unwrap();
    assert_close(
        "vjp(vmap)",
        &vals(&pullback.vjp(Array::from(1.0f64)).unwrap().0),
        &want,
    );
}

#[test]
fn custom_jvp_rule_under_forward_mode_compositions() {
    let want = slope(2);
    let f = jvp_rule();
    let ones = Array::from_slice(&[1.0f64; 4]);
    let elementwise = move |x: &Array| vmap(f.clone()).call((x.clone(),)).unwrap();
    let (_, t) = jvp(&elementwise, (xs(),), (ones.clone(),)).unwrap();
    assert_close("jvp(vmap)", &vals(&t), &want);
    let (_, t) = jvp(&jit(elementwise.clone()), (xs(),), (ones.clone(),)).unwrap();
    assert_close("jvp(jit(vmap))", &vals(&t), &want);
    let per_x = vmap(|x: &Array| {
        jvp(&jvp_rule(), (x.clone(),), (jnp::ones_like(x),))
            .unwrap()
            .1
    });
    assert_close("vmap(jvp)", &vals(&per_x.call((xs(),)).unwrap()), &want);
    let (_, lin) = linearize(&elementwise, (xs(),)).unwrap();
    assert_close("linearize(vmap)", &vals(&lin.jvp((ones,)).unwrap()), &want);
    // Jacobians are diagonal with the rule's slope.
    for (what, j) in [
        ("jacfwd", jacfwd(elementwise.clone()).call((xs(),)).unwrap()),
        ("jacrev", jacrev(elementwise.clone()).call((xs(),)).unwrap()),
        (
            "jit(jacfwd)",
            jit(jacfwd(elementwise.clone())).call((xs(),)).unwrap(),
        ),
    ] {
        let diag: Vec<f64> = (0..4).map(|i| vals(&j)[i * 5]).collect();
        assert_close(what, &diag, &want);
    }
}

#[test]
fn custom_jvp_rule_is_differentiated_for_second_order() {
    // d2/dx2 = d/dx x^2 = 2x, by forward-over-reverse and reverse-over-reverse.
    let want: Vec<f64> = XS.iter().map(|x| 2.0 * x).collect();
    let f = jvp_rule();
    let g2 = vmap(grad(grad(f.clone()))).call((xs(),)).unwrap();
    assert_close("vmap(grad(grad))", &vals(&g2), &want);
    let g2 = jit(vmap(grad(grad(f.clone())))).call((xs(),)).unwrap();
    assert_close("jit(vmap(grad(grad)))", &vals(&g2), &want);
    let h = jacfwd(grad(summed(f))).call((xs(),)).unwrap();
    let diag: Vec<f64> = (0..4).map(|i| vals(&h)[i * 5]).collect();
    assert_close("jacfwd(grad(vmap))", &diag, &want);
}

#[test]
fn custom_vjp_rule_under_every_reverse_mode_composition() {
    let want = slope(3);
    let f = vjp_rule();
    let cases = reverse_mode_compositions(&f);
    for (what, got) in cases {
        assert_close(what, &vals(&got), &want);
    }
    let elementwise = move |x: &Array| vmap(f.clone()).call((x.clone(),)).unwrap();
    let j = jacrev(elementwise).call((xs(),)).unwrap();
    let diag: Vec<f64> = (0..4).map(|i| vals(&j)[i * 5]).collect();
    assert_close("jacrev(vmap)", &diag, &want);
}

#[test]
fn forward_mode_through_custom_vjp_is_an_error_in_every_composition() {
    let f = vjp_rule();
    let x = Array::from(0.5f64);
    let message = |e: cranax::Error| e.to_string();
    let errors = [
        message(jvp(&f, (x.clone(),), (x.clone(),)).unwrap_err()),
        message(jvp(&jit(f.clone()), (x.clone(),), (x.clone(),)).unwrap_err()),
        message(jacfwd(vmap(f.clone())).call((xs(),)).unwrap_err()),
    ];
    // As in JAX, linearize itself succeeds (its linear half is `custom_lin`); applying the
    // linear map is forward mode, and fails.
    let (_, lin) = linearize(&f, (x.clone(),)).unwrap();
    let errors = errors
        .into_iter()
        .chain([message(lin.jvp((x,)).unwrap_err())]);
    for e in errors {
        assert!(e.contains("custom_vjp"), "{e}");
    }
}
