//! `checkpoint` (`remat2`): printed as JAX prints it, derivatives equal to those of the plain
//! function (and to finite differences), and under `linearize` only the inputs kept as
//! residuals, everything else recomputed.

use cranax::core::error::raise;
use cranax::lax;
use cranax::numpy as jnp;
use cranax::test_util::FWD_REV;
use cranax::*;

fn ok<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| raise(e))
}

fn sin_sin(x: &Array) -> Array {
    jnp::sin(jnp::sin(x))
}

#[test]
fn jaxpr_matches_jax() {
    // jax.make_jaxpr(jax.checkpoint(lambda x: jnp.sin(jnp.sin(x))))(1.0), JAX 0.10.2.
    let want = "{ lambda ; a:f32[]. let
    b:f32[] = remat2[
      differentiated=False
      jaxpr={ lambda ; c:f32[]. let d:f32[] = sin c; e:f32[] = sin d in (e,) }
      policy=None
      prevent_cse=True
    ] a
  in (b,) }";
    let got = ok(make_jaxpr(checkpoint(sin_sin)).call((Array::from(1.0f32),)));
    assert_eq!(got.to_string(), want);
}

/// `sum(tanh(w * sin(x)))`: closes over nothing; `w` and `x` both differentiated.
fn model(w: &Array, x: &Array) -> Array {
    jnp::tanh(&(w * &jnp::sin(x))).sum()
}

#[test]
fn derivatives_equal_the_plain_functions() {
    let w = Array::from_slice(&[0.3f64, -1.2, 2.0]);
    let x = Array::from_slice(&[0.7f64, 1.1, -0.4]);
    let plain = ok(grad(model)
        .argnums((ARG0, ARG1))
        .call((w.clone(), x.clone())));
    let remat = ok(grad(checkpoint(model))
        .argnums((ARG0, ARG1))
        .call((w.clone(), x.clone())));
    assert_eq!(
        plain.0.to_vec::<f64>().unwrap(),
        remat.0.to_vec::<f64>().unwrap()
    );
    assert_eq!(
        plain.1.to_vec::<f64>().unwrap(),
        remat.1.to_vec::<f64>().unwrap()
    );
    ok(check_grads(
        &checkpoint(model),
        (w.clone(), x.clone()),
        2,
        FWD_REV,
    ));
    // A checkpointed function closing over a value being differentiated.
    let closed = |w: &Array| {
        let inner = checkpoint(|x: &Array| model(w, x));
        ok(inner.call((x.clone(),)))
    };
    let g = ok(grad(closed).call((w.clone(),)));
    assert_eq!(g.to_vec::<f64>().unwrap(), plain.0.to_vec::<f64>().unwrap());
    ok(check_grads(&closed, (w,), 1, FWD_REV));
}

#[test]
fn linearize_keeps_only_the_inputs() {
    // Three sines: the plain linearization keeps each cos as a residual; the checkpointed one
    // keeps x alone and recomputes the rest.
    let f = |x: &Array| jnp::sin(jnp::sin(jnp::sin(x)));
    let x = Array::from_vec((0..1000).map(|i| i as f64 * 1e-3).collect(), &[1000]).unwrap();
    let residual_bytes = |lin: &ClosedJaxpr| -> usize {
        lin.consts
            .iter()
            .map(|c| c.size() * c.dtype().size_bytes())
            .sum()
    };
    let (_, plain) = ok(linearize(&f, (x.clone(),)));
    let (_, remat) = ok(linearize(&checkpoint(f), (x.clone(),)));
    assert_eq!(residual_bytes(plain.jaxpr()), 3 * 8000);
    assert_eq!(residual_bytes(remat.jaxpr()), 8000);
    let t = Array::ones(&[1000], DType::F64);
    let (a, b) = (ok(plain.jvp((t.clone(),))), ok(remat.jvp((t.clone(),))));
    assert_eq!(a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
    let (ga,) = ok(plain.vjp(t.clone()));
    let (gb,) = ok(remat.vjp(t));
    assert_eq!(ga.to_vec::<f64>().unwrap(), gb.to_vec::<f64>().unwrap());
}

#[test]
fn vmap_and_jit_of_checkpoint() {
    let x = Array::from_slice(&[0.1f64, 0.2, 0.3]);
    let g = ok(vmap(grad(checkpoint(sin_sin))).call((x.clone(),)));
    let h = ok(jit(vmap(grad(sin_sin))).call((x,)));
    assert_eq!(g.to_vec::<f64>().unwrap(), h.to_vec::<f64>().unwrap());
}

/// `sum(h_T)` of the RNN `h = tanh(W h + U x)` over `xs`, the step checkpointed or not.
fn rnn(remat: bool, w: &Array, u: &Array, xs: &Array) -> Array {
    let step = |h: &Array, x: &Array| {
        let cell = |h: &Array, x: &Array| jnp::tanh(w.matmul(h) + u.matmul(x));
        let h = if remat {
            ok(checkpoint(cell).call((h.clone(), x.clone())))
        } else {
            cell(h, x)
        };
        (h.clone(), h.sum())
    };
    let h0 = jnp::zeros(&[w.shape()[0]], DType::F64);
    let (h, ys) = ok(lax::scan(step, h0, xs.clone()));
    h.sum() + ys.mean()
}

#[test]
fn grad_through_a_checkpointed_scan_stores_one_stacked_residual() {
    let w = Array::from_vec(
        (0..64).map(|i| ((i as f64) * 0.37).sin() * 0.3).collect(),
        &[8, 8],
    )
    .unwrap();
    let u = Array::from_vec(
        (0..32).map(|i| ((i as f64) * 0.11).cos() * 0.3).collect(),
        &[8, 4],
    )
    .unwrap();
    let xs = Array::from_vec(
        (0..80).map(|i| ((i as f64) * 0.7).sin()).collect(),
        &[20, 4],
    )
    .unwrap();
    let grads = |remat: bool| {
        let f = move |w: &Array, u: &Array, xs: &Array| rnn(remat, w, u, xs);
        let g = ok(grad(f)
            .argnums((ARG0, ARG1))
            .call((w.clone(), u.clone(), xs.clone())));
        let jaxpr =
            ok(make_jaxpr(grad(f).argnums((ARG0, ARG1))).call((w.clone(), u.clone(), xs.clone())));
        (g, jaxpr.to_string())
    };
    let ((gw, gu), plain) = grads(false);
    let ((rw, ru), remat) = grads(true);
    // The same derivative (the backward pass recomputes what it did not store).
    let close = |a: &Array, b: &Array| {
        let (a, b) = (a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
        a.iter()
            .zip(&b)
            .all(|(x, y)| (x - y).abs() <= 1e-14 * (1.0 + x.abs()))
    };
    assert!(close(&gw, &rw) && close(&gu, &ru));
    // Residuals stacked over the 20 steps by the forward scan: tanh's output, 1 - tanh^2's
    // factor and the carry without checkpoint; only the carry (the checkpoint's input) with it.
    let stacked = |j: &str| j.matches("f64[20,8]").count();
    assert!(stacked(&remat) < stacked(&plain), "{remat}\n---\n{plain}");
    let first_scan_outputs = |j: &str| {
        j.lines()
            .find(|l| l.contains("= scan["))
            .map(|l| l.matches("f64[20,8]").count())
    };
    assert_eq!(first_scan_outputs(&remat), Some(1), "{remat}");
    assert_eq!(first_scan_outputs(&plain), Some(3), "{plain}");
    ok(check_grads(
        &move |w: &Array| rnn(true, w, &u, &xs),
        (w,),
        1,
        FWD_REV,
    ));
}
