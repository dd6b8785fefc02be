//! Jaxprs printed by real JAX 0.10.2 programs (an MLP loss and SGD step, softmax
//! cross-entropy, logistic regression, where/abs/relu, a scan, a while_loop, a cond), made by
//! tests/data/gen_jax_jaxprs.py with JAX's outputs and derivatives: cranax parses each file,
//! runs it with the interpreter and compiled, differentiates it (grad of the parsed jaxpr, or
//! jvp for the while_loop, as JAX allows) and matches JAX within 1e-5 (f32) or 1e-12 (f64)
//! of each array's largest magnitude.

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::core::error::or_raise;
use cranax::ir::parse::parse;
use cranax::{eval_jaxpr, grad, jit, jvp, Array, ClosedJaxpr, DType, Function};
use serde_json::Value;

fn data(name: &str) -> (ClosedJaxpr, Value) {
    let dir = format!("{}/tests/data/jax_jaxprs", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(format!("{dir}/{name}.jaxpr")).unwrap();
    let j = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    (
        ClosedJaxpr::from(j),
        jax_data::load(&format!("jax_jaxprs/{name}.json")),
    )
}

fn arrays(v: &Value) -> Vec<Array> {
    v.as_array().unwrap().iter().map(jax_data::arr).collect()
}

/// Within `rtol` of the largest magnitude of `want` (1e-5 in f32, 1e-12 in f64).
fn assert_close(what: &str, got: &[Array], want: &[Array]) {
    assert_eq!(got.len(), want.len(), "{what}: number of outputs");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.shape(), w.shape(), "{what}[{k}] shape");
        assert_eq!(g.dtype(), w.dtype(), "{what}[{k}] dtype");
        let rtol = if w.dtype() == DType::F64 { 1e-12 } else { 1e-5 };
        let (g, w) = (g.to_f64_vec().unwrap(), w.to_f64_vec().unwrap());
        let scale = w.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (i, (a, b)) in g.iter().zip(&w).enumerate() {
            assert!(
                (a - b).abs() <= rtol * scale,
                "{what}[{k}][{i}]: cranax {a} vs JAX {b} (tolerance {})",
                rtol * scale
            );
        }
    }
}

fn check(name: &str) {
    let (j, rec) = data(name);
    let args = arrays(&rec["args"]);
    let want = arrays(&rec["outputs"]);
    assert_close(
        &format!("{name} eager"),
        &eval_jaxpr(&j, &args).unwrap(),
        &want,
    );
    let f = |xs: &Vec<Array>| or_raise(eval_jaxpr(&j, xs));
    let compiled = jit(f).call((args.clone(),)).unwrap();
    assert_close(&format!("{name} jit"), &compiled, &want);
    if let Some(argnums) = rec.get("grad_argnums") {
        let argnums: Vec<usize> = argnums
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let loss = |w: &Vec<Array>| {
            let mut xs = args.clone();
            for (&i, x) in argnums.iter().zip(w) {
                xs[i] = x.clone();
            }
            f(&xs).remove(0)
        };
        let wrt: Vec<Array> = argnums.iter().map(|&i| args[i].clone()).collect();
        let grads = grad(loss).call((wrt.clone(),)).unwrap();
        assert_close(&format!("{name} grad"), &grads, &arrays(&rec["grads"]));
        let grads = jit(grad(loss)).call((wrt,)).unwrap();
        assert_close(&format!("{name} jit(grad)"), &grads, &arrays(&rec["grads"]));
    }
    if let Some(tangents) = rec.get("tangents") {
        let (_, touts) = jvp(&f, (args.clone(),), (arrays(tangents),)).unwrap();
        assert_close(
            &format!("{name} jvp"),
            &touts,
            &arrays(&rec["output_tangents"]),
        );
    }
}

#[test]
fn mlp_loss() {
    check("mlp_loss");
    check("mlp_loss_f64");
}

#[test]
fn mlp_step() {
    // JAX's own grad jaxpr (transposes, broadcasts, reduce_sums), run by cranax.
    check("mlp_step");
}

#[test]
fn softmax_cross_entropy() {
    check("softmax_xent");
}

#[test]
fn logistic_regression() {
    check("logistic_regression");
    check("logistic_regression_f64");
}

#[test]
fn where_abs_relu() {
    // jnp.where is a nested `jit[name=_where]`, relu a `custom_jvp_call` around another jit.
    check("where_abs_relu");
}

#[test]
fn scan() {
    check("scan_rnn");
}

#[test]
fn while_loop() {
    check("while_newton_sqrt");
}

#[test]
fn cond() {
    check("cond_branches");
    check("cond_branches_neg");
}
