//! issue 13 item 5 against JAX 0.10.2 (tests/data/jax_indexing.json, made by
//! tests/data/gen_jax_indexing.py): NumPy-style indexing, `.at[...]` updates, `take` modes,
//! `take_along_axis` / `put_along_axis`, eager and under jit, f32 and f64, the gradient of
//! `sum(sin(f(x)))`, vmap rows and printed jaxprs; then check_grads on gather and the scatters,
//! and the compiled gather / scatters against eager evaluation with out-of-range and repeated
//! indices in every mode.

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::lax::{
    self, GatherDimensionNumbers, GatherOptions, GatherScatterMode, ScatterDimensionNumbers,
    ScatterKind, ScatterOptions,
};
use cranax::numpy::{self as jnp, index, Ellipsis, Index, NewAxis, TakeMode};
use cranax::test_util::Mode;
use cranax::{check_grads, grad, jit, make_jaxpr, s, vmap, Array, DType, Function};
use serde_json::Value;

fn i32s(v: &[i32]) -> Array {
    Array::from_slice(v)
}

fn i32m(v: &[i32], shape: &[usize]) -> Array {
    Array::from_vec(v.to_vec(), shape).unwrap()
}

fn full_like(x: &Array, rows: &[f64], shape: &[usize]) -> Array {
    jnp::astype(Array::from_vec(rows.to_vec(), shape).unwrap(), x.dtype())
}

fn mask() -> Array {
    let m = [
        true, false, true, false, false, false, true, true, true, false, false, false,
    ];
    Array::from_vec(m.to_vec(), &[3, 4]).unwrap()
}

fn sc(x: &Array, v: f64) -> Array {
    jnp::astype(Array::scalar(v), x.dtype())
}

/// The generator's cases, by name.
fn case(name: &str, x: &Array) -> cranax::Result<Array> {
    match name {
        "basic_slice_step" => index(x, &s![1.., ..;2]),
        "negative_step" => index(x, &s![..;-1, 1]),
        "newaxis_ellipsis" => index(x, &s![NewAxis, Ellipsis, 1]),
        "int_scalar" => index(x, &s![-1]),
        "int_array" => index(x, &s![i32s(&[0, 2, -1])]),
        "two_arrays" => index(x, &s![i32s(&[0, 2]), i32s(&[1, -1])]),
        "slice_then_array" => index(x, &s![.., i32s(&[3, 0])]),
        "int_and_array" => index(x, &s![1, i32s(&[3, 0, 3])]),
        "bool_mask" => index(x, &s![mask()]),
        "neg_step_range" => index(
            x,
            &s![
                Index::slice(Some(2), Some(0), -1),
                Index::slice(Some(3), Some(0), -2)
            ],
        ),
        "at_set" => x.at_idx(&s![i32s(&[0, 2])]).set(&sc(x, 7.0)),
        "at_add_dup" => {
            let u: Vec<f64> = (0..12).map(f64::from).collect();
            x.at_idx(&s![i32s(&[1, 1, -1])])
                .add(&full_like(x, &u, &[3, 4]))
        }
        "at_add_oob" => x.at_idx(&s![i32s(&[1, 5]), 2]).add(&sc(x, 10.0)),
        "at_mul" => x.at_idx(&s![i32s(&[0, 2]), 1..3]).multiply(&sc(x, 3.0)),
        "at_min" => {
            let u = full_like(x, &[1.5, -2.0, 1.5, -2.0, 1.5, -2.0], &[3, 2]);
            x.at_idx(&s![.., i32s(&[0, 0])]).min(&u)
        }
        "at_max" => x.at_idx(&s![1]).max(&sc(x, 2.5)),
        "at_get_fill" => x
            .at_idx(&s![i32s(&[0, 7])])
            .mode(GatherScatterMode::FillOrDrop)
            .fill_value(-3.0)
            .get(),
        "at_set_slice_step" => x.at_idx(&s![..;2, 1..;2]).set(&sc(x, -1.0)),
        "take_fill" => jnp::take_mode(x, &i32s(&[1, -1, 9]), 1, TakeMode::Fill),
        "take_clip" => jnp::take_mode(x, &i32s(&[1, -1, 9]), 1, TakeMode::Clip),
        "take_wrap" => jnp::take_mode(x, &i32s(&[1, -1, 9]), 1, TakeMode::Wrap),
        "take_along_axis" => jnp::take_along_axis(x, &i32m(&[0, 3, 1, -1, 2, 2], &[3, 2]), 1),
        "put_along_axis" => jnp::put_along_axis(
            x,
            &i32m(&[0, 3, 1], &[3, 1]),
            &full_like(x, &[9.0, 8.0, 7.0], &[3, 1]),
            1,
        ),
        other => panic!("no case {other}"),
    }
}

fn record(v: &Value, dtype: DType) -> Array {
    let shape = jax_data::shape(v);
    let data: Vec<f64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap_or(f64::NAN))
        .collect();
    jnp::astype(Array::from_vec(data, &shape).unwrap(), dtype)
}

/// Exact equality (NaN equal to NaN): indexing only moves elements, and the updates here are
/// one rounding each.
fn assert_exact(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
    for (k, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            a == b || (a.is_nan() && b.is_nan()),
            "{what}: element {k}: {a} vs JAX {b}"
        );
    }
}

fn assert_close(got: &Array, want: &Array, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.to_f64_vec().unwrap(), want.to_f64_vec().unwrap());
    for (k, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what}: element {k}: {a} vs JAX {b}"
        );
    }
}

#[test]
fn indexing_matches_jax_eager_and_jit_f32_and_f64() {
    let data = jax_data::load("jax_indexing.json");
    for (dt, dtype, tol) in [
        ("float32", DType::F32, 2e-6),
        ("float64", DType::F64, 1e-13),
    ] {
        let x = record(&data[dt]["x"], dtype);
        let cases = data[dt]["cases"].as_object().unwrap();
        assert_eq!(cases.len(), 23, "every case of the generator");
        for (name, row) in cases {
            let what = format!("{name} {dt}");
            let want = record(&row["value"], dtype);
            assert_exact(&case(name, &x).unwrap(), &want, &what);
            let n = name.clone();
            let jitted = jit(move |x: &Array| case(&n, x).unwrap()).call((x.clone(),));
            assert_exact(
                &jitted.unwrap(),
                &record(&row["jit"], dtype),
                &format!("{what} jit"),
            );
            if row.get("grad").is_none() {
                continue;
            }
            let n = name.clone();
            let loss = move |x: &Array| jnp::sum(jnp::sin(case(&n, x).unwrap()), None, false);
            let want_g = record(&row["grad"], dtype);
            let g = grad(loss.clone()).call((x.clone(),)).unwrap();
            assert_close(&g, &want_g, tol, &format!("{what} grad"));
            let g = jit(grad(loss)).call((x.clone(),)).unwrap();
            assert_close(&g, &want_g, tol, &format!("{what} jit(grad)"));
        }
    }
}

#[test]
fn vmap_rows_match_jax() {
    let data = jax_data::load("jax_indexing.json");
    let v = &data["vmap"];
    let xs = record(&v["xs"], DType::F32);
    let ids = i32m(&[2, 0, 1, -1], &[2, 2]);
    let getitem = vmap(|x: &Array, i: &Array| index(x, &s![i]).unwrap());
    assert_exact(
        &getitem.call((xs.clone(), ids.clone())).unwrap(),
        &record(&v["getitem"], DType::F32),
        "vmap getitem",
    );
    let at_add = vmap(|x: &Array, i: &Array| x.at_idx(&s![i]).add(&Array::scalar(1.0f32)).unwrap());
    assert_exact(
        &at_add.call((xs.clone(), ids.clone())).unwrap(),
        &record(&v["at_add"], DType::F32),
        "vmap at_add",
    );
    let along = vmap(|x: &Array, i: &Array| {
        jnp::take_along_axis(x, &lax::reshape(i, &[1, 2]).unwrap(), 1).unwrap()
    });
    let got = along.call((xs.clone(), ids.clone())).unwrap();
    assert_exact(
        &got,
        &record(&v["take_along"], DType::F32),
        "vmap take_along_axis",
    );
    let got = jit(along).call((xs, ids)).unwrap();
    assert_exact(
        &got,
        &record(&v["take_along"], DType::F32),
        "jit(vmap take_along_axis)",
    );
}

/// cranax's printer writes JAX 0.4.13's form (docs/JAXPR.md): literals without their type
/// (`0`, where JAX 0.10 prints `0:i32[]`) and `broadcast_in_dim` with its `shape` and empty
/// `broadcast_dimensions=()` (JAX 0.10 leaves both out), and no `out_sharding=None` on
/// reductions. Both texts are brought to one form;
/// everything else must agree character for character.
fn as_0_4_13(text: &str) -> String {
    let mut t = text.to_string();
    for ty in [":i32[]", ":u32[]", ":f32[]", ":f64[]", ":bool[]"] {
        t = t.replace(ty, "");
    }
    while let Some(a) = t.find(" shape=(") {
        let b = a + t[a..].find(')').expect("closing bracket") + 1;
        t.replace_range(a..b, "");
    }
    t.replace("[broadcast_dimensions=()]", "")
        .replace(" out_sharding=None", "")
}

#[test]
fn printed_jaxprs_match_jax() {
    let data = jax_data::load("jax_indexing.json");
    let j = &data["jaxprs"];
    let x = Array::zeros(&[3, 4], DType::F32);
    let i = Array::zeros(&[2], DType::I32);
    let p2 = |f: fn(&Array, &Array) -> Array| {
        as_0_4_13(
            &make_jaxpr(f)
                .call((x.clone(), i.clone()))
                .unwrap()
                .to_string(),
        )
    };
    let p1 =
        |f: fn(&Array) -> Array| as_0_4_13(&make_jaxpr(f).call((x.clone(),)).unwrap().to_string());
    let want = |k: &str| as_0_4_13(j[k].as_str().unwrap());
    assert_eq!(p2(|x, i| index(x, &s![i]).unwrap()), want("getitem_array"));
    assert_eq!(
        p2(|x, i| index(x, &s![.., i]).unwrap()),
        want("getitem_columns")
    );
    assert_eq!(
        p1(|x| index(x, &s![1.., ..;2]).unwrap()),
        want("basic_slice_step")
    );
    assert_eq!(p1(|x| index(x, &s![1]).unwrap()), want("int_scalar"));
    assert_eq!(
        p2(|x, i| x.at_idx(&s![i]).add(&Array::scalar(1.0f32)).unwrap()),
        want("at_add")
    );
    assert_eq!(
        p2(|x, i| x.at_idx(&s![.., i]).set(&Array::scalar(2.0f32)).unwrap()),
        want("at_set_columns")
    );
    let g = grad(|x: &Array, i: &Array| jnp::sum(index(x, &s![i]).unwrap(), None, false));
    let got = make_jaxpr(g)
        .call((x.clone(), i.clone()))
        .unwrap()
        .to_string();
    assert_eq!(as_0_4_13(&got), want("grad_getitem"));
}

fn take_dims() -> ScatterDimensionNumbers {
    ScatterDimensionNumbers {
        update_window_dims: vec![1],
        inserted_window_dims: vec![0],
        scatter_dims_to_operand_dims: vec![0],
        ..Default::default()
    }
}

fn x64() -> Array {
    let v: Vec<f64> = (0..12)
        .map(|k| 0.3 * k as f64 - 1.1 + 0.01 * (k * k) as f64)
        .collect();
    Array::from_vec(v, &[4, 3]).unwrap()
}

#[test]
fn check_grads_of_gather_and_scatters() {
    let modes = [Mode::Fwd, Mode::Rev];
    let idx = i32m(&[2, 0, 3], &[3, 1]);
    let g = move |x: &Array| {
        lax::gather(
            x,
            &idx,
            &take_dims().to_gather(),
            &[1, 3],
            GatherOptions::default(),
        )
        .unwrap()
    };
    check_grads(&g, (x64(),), 2, &modes).unwrap();
    // A repeated index: scatter-add accumulates, and its gradient counts both.
    let dup = i32m(&[1, 1, 3], &[3, 1]);
    let u = Array::from_vec((0..9).map(|k| 0.5 - 0.2 * k as f64).collect(), &[3, 3]).unwrap();
    for kind in [
        ScatterKind::Add,
        ScatterKind::Replace,
        ScatterKind::Min,
        ScatterKind::Max,
    ] {
        let (dup, u2) = (dup.clone(), u.clone());
        let f = move |x: &Array, u: &Array| {
            lax::scatter_kind(kind, x, &dup, u, &take_dims(), ScatterOptions::default()).unwrap()
        };
        check_grads(&f, (x64(), u2), 2, &modes).unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    }
    // scatter-mul: JAX differentiates the updates only with unique indices.
    let uniq = i32m(&[1, 0, 3], &[3, 1]);
    let opts = ScatterOptions {
        unique_indices: true,
        ..ScatterOptions::default()
    };
    let f = move |x: &Array, u: &Array| lax::scatter_mul(x, &uniq, u, &take_dims(), opts).unwrap();
    check_grads(&f, (x64(), u.clone()), 2, &modes).unwrap();
    let e = grad(move |u: &Array| {
        let y = lax::scatter_mul(&x64(), &dup, u, &take_dims(), ScatterOptions::default());
        jnp::sum(cranax::core::error::or_raise(y), None, false)
    })
    .call((u,))
    .unwrap_err();
    assert!(e.to_string().contains("unique_indices=True"), "{e}");
}

/// Compiled gather and scatters agree with eager evaluation (the reference interpreter's
/// rule) on indices that repeat and fall outside the operand, in every mode.
#[test]
fn jit_matches_eager_with_out_of_range_and_repeated_indices() {
    let x = Array::from_vec((0..12).map(|k| k as f32 - 4.5).collect(), &[4, 3]).unwrap();
    let idx = i32m(&[1, -1, 3, 1, 4, 9, 0, 1], &[4, 2]);
    let u = Array::from_vec((0..8).map(|k| 0.25 * k as f32 - 1.0).collect(), &[4, 2]).unwrap();
    // Index vectors of two components into a [4, 3] operand, one element each.
    let dn = ScatterDimensionNumbers {
        update_window_dims: vec![],
        inserted_window_dims: vec![0, 1],
        scatter_dims_to_operand_dims: vec![0, 1],
        ..Default::default()
    };
    let idx2 = i32m(&[1, 2, 1, 2, 3, 0, -1, 0, 7, 1, 0, 5], &[6, 2]);
    let u2 = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[6]).unwrap();
    for mode in [
        GatherScatterMode::Clip,
        GatherScatterMode::FillOrDrop,
        GatherScatterMode::PromiseInBounds,
    ] {
        let gopts = GatherOptions {
            mode,
            fill_value: Some(-7.0),
            ..GatherOptions::default()
        };
        let gdn = GatherDimensionNumbers {
            offset_dims: vec![1, 2],
            collapsed_slice_dims: vec![],
            start_index_map: vec![0, 1],
            ..Default::default()
        };
        let g = move |x: &Array, i: &Array| lax::gather(x, i, &gdn, &[2, 2], gopts).unwrap();
        let eager = g(&x, &idx);
        let compiled = jit(g).call((x.clone(), idx.clone())).unwrap();
        assert_exact(&compiled, &eager, &format!("gather {mode:?}"));
        for kind in ScatterKind::ALL {
            let opts = ScatterOptions {
                mode,
                ..ScatterOptions::default()
            };
            let dn1 = ScatterDimensionNumbers {
                update_window_dims: vec![],
                inserted_window_dims: vec![0],
                scatter_dims_to_operand_dims: vec![0],
                ..Default::default()
            };
            let col = i32m(&[1, -1, 3, 1, 4, 9, 0, 1], &[8, 1]);
            let x1 = Array::from_vec((0..4).map(|k| k as f32 + 0.5).collect(), &[4]).unwrap();
            let u1 = lax::reshape(&u, &[8]).unwrap();
            let f1 = move |x: &Array, i: &Array, u: &Array| {
                lax::scatter_kind(kind, x, i, u, &dn1, opts).unwrap()
            };
            let eager = f1(&x1, &col, &u1);
            let compiled = jit(f1).call((x1, col, u1)).unwrap();
            assert_exact(&compiled, &eager, &format!("{kind:?} {mode:?} 1-d"));
            let dn2 = dn.clone();
            let f2 = move |x: &Array, i: &Array, u: &Array| {
                lax::scatter_kind(kind, x, i, u, &dn2, opts).unwrap()
            };
            let eager = f2(&x, &idx2, &u2);
            let compiled = jit(f2).call((x.clone(), idx2.clone(), u2.clone())).unwrap();
            assert_exact(&compiled, &eager, &format!("{kind:?} {mode:?} 2-d"));
        }
    }
    // By hand: scatter-add at (1, 2) twice accumulates; (-1, 0), (7, 1) and (0, 5) are dropped
    // under FILL_OR_DROP; (3, 0) lands once.
    let got = lax::scatter_add(
        &lax::reshape(&Array::zeros(&[12], DType::F32), &[4, 3]).unwrap(),
        &idx2,
        &u2,
        &dn,
        ScatterOptions::default(),
    )
    .unwrap();
    let mut want = vec![0.0f32; 12];
    want[5] = 3.0;
    want[9] = 3.0;
    assert_exact(
        &got,
        &Array::from_vec(want, &[4, 3]).unwrap(),
        "scatter-add by hand",
    );
}

/// JAX's gather JVP fills the tangent with 0 where the primal reads `fill_value`
/// (`jax.jvp(lambda x: x.at[[0, 7]].get(mode="fill", fill_value=-3.0), (x,), (ones,))` gives a
/// tangent of ones in row 0 and zeros in row 1).
#[test]
fn gather_tangent_is_zero_where_filled() {
    let f = |x: &Array| {
        let got = x
            .at_idx(&s![i32s(&[0, 7])])
            .mode(GatherScatterMode::FillOrDrop)
            .fill_value(-3.0)
            .get();
        cranax::core::error::or_raise(got)
    };
    let x = Array::from_vec((0..12).map(|k| k as f32).collect(), &[3, 4]).unwrap();
    let ones = Array::ones(&[3, 4], DType::F32);
    let (y, t) = cranax::jvp(&f, (x,), (ones,)).unwrap();
    let mut want = vec![1.0f32; 4];
    want.extend([0.0; 4]);
    assert_exact(&t, &Array::from_vec(want, &[2, 4]).unwrap(), "tangent");
    let mut want_y: Vec<f32> = (0..4).map(|k| k as f32).collect();
    want_y.extend([-3.0; 4]);
    assert_exact(&y, &Array::from_vec(want_y, &[2, 4]).unwrap(), "primal");
}

#[test]
fn index_errors_use_jax_wording() {
    let x = Array::zeros(&[3, 4], DType::F32);
    let e = index(&x, &s![3]).unwrap_err().to_string();
    assert!(
        e.contains("index 3 is out of bounds for axis 0 with size 3"),
        "{e}"
    );
    let e = index(&x, &s![0, 0, 0]).unwrap_err().to_string();
    assert!(e.contains("Too many indices"), "{e}");
    let e = index(&x, &s![Ellipsis, Ellipsis]).unwrap_err().to_string();
    assert!(e.contains("single ellipsis"), "{e}");
    let e = index(&x, &s![Array::scalar(1.0f32)])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Indexer must have integer or boolean type"),
        "{e}"
    );
    let e = index(&x, &s![..;0]).unwrap_err().to_string();
    assert!(e.contains("slice step cannot be zero"), "{e}");
}
