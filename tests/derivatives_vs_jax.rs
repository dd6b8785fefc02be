//! JVPs and VJPs of the non-elementwise primitives (reductions, layout, indexing, dot_general,
//! select_n) against JAX's own values: tests/data/jax_derivatives.json, made by the committed
//! tests/data/gen_jax_derivatives.py with JAX in f64. Each case is a function of one array built
//! around one primitive, written here with cranax's lax exactly as the script writes it with
//! JAX's. (The elementwise primitives are pinned the same way in tests/autodiff.rs.)

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::core::error::or_raise;
use cranax::prims::DotGeneral;
use cranax::{jvp, lax, numpy as jnp, vjp, Array, Result};
use jax_data::floats;
use serde_json::Value;

fn ok(r: Result<Array>) -> Array {
    or_raise(r)
}

fn f64s(v: &[f64], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

/// The script's `W = linspace(-1, 1.5, 12).reshape(3, 4)`.
fn w() -> Array {
    f64s(
        &(0..12)
            .map(|i| -1.0 + 2.5 * i as f64 / 11.0)
            .collect::<Vec<_>>(),
        &[3, 4],
    )
}

fn dims(lc: &[usize], rc: &[usize], lb: &[usize], rb: &[usize]) -> DotGeneral {
    DotGeneral::new(lc, rc, lb, rb)
}

fn sq(x: &Array) -> Array {
    ok(lax::integer_pow(x, 2))
}

fn index(v: &[i32]) -> Array {
    Array::from_slice(v)
}

fn start(i: i32) -> Array {
    Array::from(i)
}

/// The cases, by the script's names.
fn case(name: &str, x: &Array) -> Array {
    match name {
        "reduce_sum_axis0" => ok(lax::reduce_sum(x, &[0])),
        "reduce_sum_all" => ok(lax::reduce_sum(x, &[0, 1])),
        "reduce_max_axis1" => ok(lax::reduce_max(x, &[1])),
        "reduce_min_axis0" => ok(lax::reduce_min(x, &[0])),
        "broadcast_in_dim" => ok(lax::broadcast_in_dim(x, &[2, 3, 4], &[1])) * w(),
        "reshape" => {
            let r = f64s(&(0..12).map(f64::from).collect::<Vec<_>>(), &[2, 6]);
            ok(lax::reshape(x, &[2, 6])) * r
        }
        "transpose" => ok(lax::transpose(x, &[1, 0])) * ok(lax::transpose(&w(), &[1, 0])),
        "squeeze" => sq(&ok(lax::squeeze(x, &[0]))),
        "expand_dims" => {
            let w0 = ok(lax::slice(&w(), &[0, 0], &[1, 4], None));
            ok(lax::expand_dims(x, 0)) * w0
        }
        "slice_strided" => sq(&ok(lax::slice(x, &[0, 1], &[3, 4], Some(&[2, 2])))),
        "pad_interior" => ok(lax::pad(&sq(x), &Array::from(0.5f64), &[(1, 2, 1)])),
        "concatenate" => ok(lax::concatenate(&[x.clone(), sq(x)], 0)),
        "dynamic_slice" => ok(lax::dynamic_slice(&sq(x), &[start(1), start(1)], &[2, 2])),
        "dynamic_update_slice" => {
            let corner = ok(lax::integer_pow(
                &ok(lax::slice(x, &[0, 0], &[2, 2], None)),
                3,
            ));
            ok(lax::dynamic_update_slice(x, &corner, &[start(1), start(2)]))
        }
        "gather_rows" => ok(lax::take_clamped(&sq(x), &index(&[2, 0, 2]), 0)),
        "gather_cols" => ok(lax::take_clamped(&(x * w()), &index(&[3, 1]), 1)),
        "scatter_add_rows" => ok(lax::scatter_add_clamped(x, &index(&[1, 1, 0]), &sq(x), 0)),
        "dot_matmul" => ok(lax::dot_general(
            x,
            &ok(lax::transpose(&w(), &[1, 0])),
            dims(&[1], &[0], &[], &[]),
        )),
        "dot_self" => ok(lax::dot_general(x, x, dims(&[0], &[0], &[], &[]))),
        "dot_batched" => ok(lax::dot_general(x, &sq(x), dims(&[2], &[2], &[0], &[0]))),
        "select_n" => {
            let pred = ok(lax::gt(x, &lax::scalar_like(x, 0.1)));
            ok(lax::select(&pred, &sq(x), &jnp::sin(x)))
        }
        other => panic!("no case {other}"),
    }
}

fn shape(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

/// f64 agreement with JAX up to the rounding of a few operations (both sides compute the same
/// expressions; summation orders may differ).
fn assert_close(what: &str, got: &Array, want: &[f64]) {
    let got = got.to_vec::<f64>().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-14 * w.abs().max(1.0),
            "{what}[{i}]: {g} vs JAX {w}"
        );
    }
}

#[test]
fn jvp_and_vjp_of_every_structural_primitive_equal_jax() {
    let data = jax_data::load("jax_derivatives.json");
    let cases = data["cases"].as_object().unwrap();
    assert!(cases.len() >= 21);
    for (name, c) in cases {
        let x = f64s(&floats(&c["x"]), &shape(&c["x_shape"]));
        let t = f64s(&floats(&c["t"]), &shape(&c["x_shape"]));
        let ct = f64s(&floats(&c["ct"]), &shape(&c["y_shape"]));
        let f = |x: &Array| case(name, x);
        let (y, ty) = jvp(&f, (x.clone(),), (t,)).unwrap();
        assert_close(&format!("{name}: value"), &y, &floats(&c["y"]));
        assert_close(&format!("{name}: jvp"), &ty, &floats(&c["jvp"]));
        let (_, pullback) = vjp(&f, (x,)).unwrap();
        let (g,) = pullback.vjp(ct).unwrap();
        assert_close(&format!("{name}: vjp"), &g, &floats(&c["vjp"]));
    }
}
