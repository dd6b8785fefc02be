//! Structured control flow: `cond`, `fori_loop`, `scan` under every transformation.

use cranax::numpy as jnp;
use cranax::{cond, fori_loop, grad, jit, make_jaxpr, scan, vmap, Array, Function};

fn f32s(x: &Array) -> Vec<f32> {
    x.to_vec::<f32>().expect("f32 array")
}

/// relu(x) written with cond: x if x > 0 else 0.
fn relu_cond(x: &Array) -> Array {
    cond(
        &jnp::greater(x, 0.0f32),
        |x: &Array| x.clone(),
        |x: &Array| jnp::zeros_like(x),
        x,
    )
    .expect("cond")
}

#[test]
fn cond_with_a_concrete_predicate_takes_one_branch() {
    // Both branches are traced (as in JAX); only the taken one is evaluated.
    let r: Array = cond(
        &Array::scalar(true),
        |x: &Array| x * 2.0,
        |x: &Array| x * 3.0,
        &Array::from(3.0f32),
    )
    .expect("cond");
    assert_eq!(r.item::<f32>().expect("scalar"), 6.0);
}

#[test]
fn cond_on_a_traced_predicate_selects_and_differentiates() {
    // d/dx relu(x) = 1 for x > 0, 0 for x < 0.
    let g = vmap(grad(relu_cond))
        .call((Array::from_slice(&[-2.0f32, 3.0]),))
        .expect("vmap grad");
    assert_eq!(f32s(&g), vec![0.0, 1.0]);
    let jitted = jit(vmap(relu_cond))
        .call((Array::from_slice(&[-1.5f32, 0.5, 2.0]),))
        .expect("jit");
    assert_eq!(f32s(&jitted), vec![0.0, 0.5, 2.0]);
    let jaxpr = make_jaxpr(relu_cond)
        .call((Array::from(1.0f32),))
        .expect("jaxpr")
        .to_string();
    assert!(jaxpr.contains("cond["), "{jaxpr}");
}

#[test]
fn cond_branches_must_agree_in_type() {
    let err = make_jaxpr(|x: &Array| {
        cond(
            &jnp::greater(x, 0.0f32),
            |x: &Array| x.clone(),
            |x: &Array| jnp::stack(&[x.clone(), x.clone()], 0),
            x,
        )
        .unwrap_or_else(|e| cranax::core::error::raise(e))
    })
    .call((Array::from(1.0f32),))
    .expect_err("mismatched branches");
    assert!(
        err.to_string()
            .contains("cond branches must have equal output types"),
        "{err}"
    );
}

#[test]
fn fori_loop_computes_powers_and_their_gradient() {
    // x^5 by repeated multiplication; d/dx x^5 = 5 x^4.
    let pow5 =
        |x: &Array| fori_loop(0, 5, |_, acc: &Array| acc * x, Array::from(1.0f32)).expect("loop");
    let x = Array::from(2.0f32);
    assert_eq!(pow5(&x).item::<f32>().expect("scalar"), 32.0);
    assert_eq!(
        grad(pow5)
            .call((x.clone(),))
            .expect("grad")
            .item::<f32>()
            .expect("scalar"),
        80.0
    );
    assert_eq!(
        jit(grad(pow5))
            .call((x,))
            .expect("jit grad")
            .item::<f32>()
            .expect("scalar"),
        80.0
    );
}

#[test]
fn scan_gives_cumulative_sums() {
    let xs = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0]);
    let (total, partial) = scan(
        |c: &Array, x: &Array| (c + x, c + x),
        Array::from(0.0f32),
        xs.clone(),
    )
    .expect("scan");
    assert_eq!(total.item::<f32>().expect("scalar"), 10.0);
    assert_eq!(f32s(&partial), vec![1.0, 3.0, 6.0, 10.0]);
    // d/dx_i sum_k cumsum(x)_k = (n - i).
    let g = grad(|xs: &Array| {
        scan(
            |c: &Array, x: &Array| (c + x, c + x),
            Array::from(0.0f32),
            xs.clone(),
        )
        .expect("scan")
        .1
        .sum()
    })
    .call((xs,))
    .expect("grad");
    assert_eq!(f32s(&g), vec![4.0, 3.0, 2.0, 1.0]);
}

/// The error of `f` traced under `jit` (bad input never crashes; JAX's wording).
fn jit_error<F: Fn(&Array) -> Array>(f: F) -> String {
    cranax::jit(f)
        .call((Array::from(1.0f32),))
        .expect_err("bad input")
        .to_string()
}

fn raised<T>(r: cranax::Result<T>) -> T {
    r.unwrap_or_else(|e| cranax::core::error::raise(e))
}

#[test]
fn bad_loops_and_branches_give_jaxs_errors() {
    use cranax::lax;
    let cases: Vec<(String, &str)> = vec![
        (
            // A body that changes the carry's shape.
            jit_error(|x: &Array| {
                raised(lax::while_loop(
                    |c: &Array| jnp::less(jnp::sum(c, None, false), 10.0f32),
                    |c: &Array| jnp::stack(&[c.clone(), c.clone()], 0),
                    x.clone(),
                ))
            }),
            "while_loop body function carry input and carry output must have equal types, but they differ:\n\nThe input carry c has type float32[] but the corresponding output carry component has type float32[2], so the shapes do not match.",
        ),
        (
            // A scan body that changes the carry's dtype.
            jit_error(|x: &Array| {
                let xs = Array::ones(&[3], cranax::DType::F32);
                raised(lax::scan(
                    |c: &Array, x: &Array| (jnp::astype(&(c + x), cranax::DType::I32), x.clone()),
                    x.clone(),
                    xs,
                ))
                .0
            }),
            "scan body function carry input and carry output must have equal types, but they differ:\n\nThe input carry c has type float32[] but the corresponding output carry component has type int32[], so the dtypes do not match.",
        ),
        (
            // Branches of different output types.
            jit_error(|x: &Array| {
                raised(lax::cond(
                    &jnp::greater(x, 0.0f32),
                    |x: &Array| x.clone(),
                    |x: &Array| jnp::astype(x, cranax::DType::I32),
                    x,
                ))
            }),
            "cond branches must have equal output types but they differ.\n\nThe output of true_fun has type float32[] but the corresponding output of false_fun has type int32[], so the dtypes do not match.",
        ),
        (
            // A loop predicate that is not a boolean scalar.
            jit_error(|x: &Array| {
                raised(lax::while_loop(|c: &Array| c.clone(), |c: &Array| c * 2.0f32, x.clone()))
            }),
            "cond_fun must return a boolean scalar, but got output type(s) [ShapedArray(float32[])].",
        ),
        (
            jit_error(|x: &Array| {
                let p = jnp::stack(&[jnp::greater(x, 0.0f32), jnp::greater(x, 1.0f32)], 0);
                raised(lax::cond(&p, |x: &Array| x.clone(), |x: &Array| x * 2.0f32, x))
            }),
            "Pred must be a scalar, got bool[2] of shape (2,).",
        ),
        (
            jit_error(|x: &Array| {
                let b0 = |x: &Array| x.clone();
                raised(lax::switch(x, &[&b0, &b0], x))
            }),
            "Index type must be an integer, got float32[] as float32",
        ),
        (
            jit_error(|x: &Array| {
                let xs = Array::ones(&[3], cranax::DType::F32);
                let opts = lax::ScanOptions {
                    length: Some(4),
                    ..Default::default()
                };
                raised(lax::scan_with(|c: &Array, x: &Array| (c + x, ()), x.clone(), xs, opts)).0
            }),
            "scan got `length` argument of 4 which disagrees with leading axis sizes [3].",
        ),
        (
            jit_error(|x: &Array| {
                raised(lax::scan(|c: &Array, _: &()| (c * 2.0f32, ()), x.clone(), ())).0
            }),
            "scan got no values to scan over and `length` not provided.",
        ),
        (
            // Reverse-mode differentiation through a while loop.
            cranax::grad(|x: &Array| {
                raised(lax::while_loop(
                    |c: &Array| jnp::less(c, 10.0f32),
                    |c: &Array| c * 2.0f32,
                    x.clone(),
                ))
            })
            .call((Array::from(1.0f32),))
            .expect_err("grad of while")
            .to_string(),
            "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic start/stop values. Try using lax.scan, or using fori_loop with static start/stop.",
        ),
    ];
    for (got, want) in cases {
        assert!(got.contains(want), "got:\n{got}\nwant:\n{want}");
    }
}
