//! issue 13 item 4 against JAX 0.10.2's numbers (tests/data/jax_shape.json, made by
//! tests/data/gen_jax_shape.py): every shape/layout `jnp` function eager and under `jit`, f32
//! and f64, its gradient of `sum(f(x) * w)` and a `vmap` row; and the `rev` primitive: jit vs the
//! reference interpreter and check_grads.
//!
//! Tolerance: layout-only functions are exact (they move elements); the ones that multiply and
//! add (tensordot, einsum, kron, cross, trace, ...) allow 4 ulps of the result's largest
//! element, since JAX may sum in another order.

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::numpy as jnp;
use cranax::numpy::{Index, IndicesOrSections as S, PadMode, TensordotAxes as T};
use cranax::test_util::{check_grads, Mode};
use cranax::{eval_jaxpr, grad, jit, lax, make_jaxpr, vmap, Array, Function};

fn ints(v: &[i32]) -> Array {
    Array::from_slice(v)
}

fn f(name: &str, a: &[Array]) -> Vec<Array> {
    let x = &a[0];
    let y = || a[1].clone();
    let one = |r: Array| vec![r];
    match name {
        "flip" => one(jnp::flip(x, None)),
        "flip_axis1" => one(jnp::flip(x, Some(&[1]))),
        "flip_axes_0_m1" => one(jnp::flip(x, Some(&[0, -1]))),
        "fliplr" => one(jnp::fliplr(x)),
        "flipud" => one(jnp::flipud(x)),
        "swapaxes" => one(jnp::swapaxes(x, 0, 2)),
        "moveaxis" => one(jnp::moveaxis(x, &[0], &[-1])),
        "moveaxis_multi" => one(jnp::moveaxis(x, &[0, 1], &[2, 0])),
        "ravel" => one(jnp::ravel(x)),
        "atleast_1d" => one(jnp::atleast_1d(x)),
        "atleast_2d" => one(jnp::atleast_2d(x)),
        "atleast_3d_1" | "atleast_3d_2" => one(jnp::atleast_3d(x)),
        "roll" => one(jnp::roll(x, &[2], None)),
        "roll_axis0" => one(jnp::roll(x, &[-1], Some(&[0]))),
        "roll_axes" => one(jnp::roll(x, &[1, 5], Some(&[0, 1]))),
        "roll_big" => one(jnp::roll(x, &[7], Some(&[-1]))),
        "tile" => one(jnp::tile(x, &[2, 1, 2])),
        "tile_short" => one(jnp::tile(x, &[3])),
        "repeat" => one(jnp::repeat(x, &[2], None)),
        "repeat_axis1" => one(jnp::repeat(x, &[3], Some(1))),
        "repeat_per" => one(jnp::repeat(x, &[1, 0, 2], Some(1))),
        "split3" => jnp::split(x, S::Sections(3), 1),
        "split_idx" => jnp::split(x, S::Indices(&[1, 4, 4]), 1),
        "array_split" => jnp::array_split(x, S::Sections(4), 1),
        "tril" => one(jnp::tril(x, 0)),
        "tril_k1" => one(jnp::tril(x, 1)),
        "triu" => one(jnp::triu(x, 0)),
        "triu_km1" => one(jnp::triu(x, -1)),
        "diagonal" => one(jnp::diagonal(x, 0, 0, 1)),
        "diagonal_off1" => one(jnp::diagonal(x, 1, 0, 1)),
        "diagonal_offm2" => one(jnp::diagonal(x, -2, 0, 1)),
        "diagonal_axes" => one(jnp::diagonal(x, 1, 2, 0)),
        "diag_vec" => one(jnp::diag(x, 0)),
        "diag_vec_k1" => one(jnp::diag(x, 1)),
        "diag_vec_km2" => one(jnp::diag(x, -2)),
        "diag_mat" => one(jnp::diag(x, -1)),
        "trace" => one(jnp::trace(x, 0, 0, 1)),
        "trace_off" => one(jnp::trace(x, 1, 0, 2)),
        "meshgrid_xy" => jnp::meshgrid(a, "xy"),
        "meshgrid_ij" => jnp::meshgrid(a, "ij"),
        "hstack" | "hstack_1d" => one(jnp::hstack(a)),
        "vstack" => one(jnp::vstack(a)),
        "column_stack" => one(jnp::column_stack(a)),
        "pad_constant" => one(jnp::pad(
            x,
            &[(1, 2), (0, 1)],
            PadMode::Constant(&[(0.0, 0.0)]),
        )),
        "pad_constant_values" => one(jnp::pad(
            x,
            &[(1, 0), (2, 1)],
            PadMode::Constant(&[(-1.0, -2.0), (-3.0, -4.0)]),
        )),
        "pad_edge" => one(jnp::pad(x, &[(2, 1), (1, 3)], PadMode::Edge)),
        "pad_reflect" => one(jnp::pad(x, &[(1, 1), (2, 3)], PadMode::Reflect)),
        "pad_reflect_long" => one(jnp::pad(x, &[(7, 7)], PadMode::Reflect)),
        "pad_symmetric" => one(jnp::pad(x, &[(2, 1), (3, 2)], PadMode::Symmetric)),
        "pad_symmetric_long" => one(jnp::pad(x, &[(5, 7)], PadMode::Symmetric)),
        "pad_wrap" => one(jnp::pad(x, &[(1, 2), (4, 5)], PadMode::Wrap)),
        "tensordot" => one(jnp::tensordot(x, y(), T::Count(2))),
        "tensordot_1" => one(jnp::tensordot(x, y(), T::Count(1))),
        "tensordot_pairs" => one(jnp::tensordot(x, y(), T::Pairs(&[0, 2], &[1, 0]))),
        "inner" | "inner_vec" => one(jnp::inner(x, y())),
        "vdot" => one(jnp::vdot(x, y())),
        "kron" => one(jnp::kron(x, y())),
        "cross" => one(jnp::cross(x, y(), -1, -1, -1, None)),
        "cross_axis" => one(jnp::cross(x, y(), 0, 1, 0, None)),
        "rot90" => one(jnp::rot90(x, 1, (0, 1))),
        "rot90_k2" => one(jnp::rot90(x, 2, (0, 1))),
        "rot90_k3_axes" => one(jnp::rot90(x, -1, (2, 0))),
        "einsum_matmul" => one(jnp::einsum("ij,jk->ik", a)),
        "einsum_implicit" => one(jnp::einsum("ij,jk", a)),
        "einsum_trace" => one(jnp::einsum("ii", a)),
        "einsum_diag" => one(jnp::einsum("ii->i", a)),
        "einsum_transpose" => one(jnp::einsum("ijk->kij", a)),
        "einsum_sum" => one(jnp::einsum("ijk->j", a)),
        "einsum_outer" => one(jnp::einsum("i,j->ij", a)),
        "einsum_batch" => one(jnp::einsum("bij,bjk->bik", a)),
        "einsum_three" => one(jnp::einsum("ij,jk,kl->il", a)),
        "einsum_four" => one(jnp::einsum("ab,bc,cd,d->a", a)),
        "einsum_ellipsis" => one(jnp::einsum("...ij,...jk->...ik", a)),
        "dstack" | "dstack_1d" | "dstack_3d" => one(jnp::dstack(a)),
        "append" => one(jnp::append(x, y(), None)),
        "append_axis0" => one(jnp::append(x, y(), Some(0))),
        "append_axis_m1" => one(jnp::append(x, y(), Some(-1))),
        "insert_scalar" => one(jnp::insert(x, 2, 9.5f32, None)),
        "insert_scalar_axis1" => one(jnp::insert(x, 1, y(), Some(1))),
        "insert_scalar_end" => one(jnp::insert(x, 3, y(), Some(1))),
        "insert_scalar_row" => one(jnp::insert(x, -1, y(), Some(0))),
        "insert_array" => one(jnp::insert(x, ints(&[0, 2, 2, -1]), y(), Some(1))),
        "insert_array_one" => one(jnp::insert(x, ints(&[1]), y(), Some(0))),
        "insert_array_clipped" => one(jnp::insert(x, ints(&[-10, 10]), 0.5f32, Some(0))),
        "insert_array_flat" => one(jnp::insert(x, ints(&[5, 0, 3]), 4.25f32, None)),
        "insert_slice" => one(jnp::insert(x, Index::slice(None, None, 2), 7.0f32, None)),
        "insert_slice_axis1" => one(jnp::insert(x, 1..3, y(), Some(1))),
        "insert_values_grad" => one(jnp::insert(y(), ints(&[0, 3]), x, Some(1))),
        "delete_int" => one(jnp::delete(x, 4, None)),
        "delete_int_axis1" => one(jnp::delete(x, -1, Some(1))),
        "delete_slice" => one(jnp::delete(x, Index::slice(None, None, 2), Some(1))),
        "delete_slice_flat" => one(jnp::delete(x, 1..5, None)),
        "delete_slice_neg" => one(jnp::delete(x, Index::slice(None, None, -3), Some(0))),
        "delete_array" => one(jnp::delete(x, ints(&[0, 2, 0, -1]), Some(1))),
        "delete_mask" => one(jnp::delete(
            x,
            Array::from_slice(&[true, false, true]),
            Some(0),
        )),
        "delete_all" => one(jnp::delete(x, .., Some(0))),
        _ => panic!("no cranax function for case {name}"),
    }
}

/// Functions whose values are sums of products (not just moved elements).
fn arithmetic(name: &str) -> bool {
    [
        "trace",
        "tensordot",
        "inner",
        "vdot",
        "kron",
        "cross",
        "einsum",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// Largest difference relative to the largest element of `want` (0 for exact agreement).
fn rel_err(got: &Array, want: &Array) -> f64 {
    assert_eq!(got.shape(), want.shape(), "shapes");
    let g = jnp::astype(got, cranax::DType::F64)
        .to_vec::<f64>()
        .unwrap();
    let w = jnp::astype(want, cranax::DType::F64)
        .to_vec::<f64>()
        .unwrap();
    let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    g.iter()
        .zip(&w)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs() / scale))
}

#[test]
fn every_function_matches_jax_eager_jit_grad_and_vmap() {
    let data = jax_data::load("jax_shape.json");
    let mut failures = Vec::new();
    for case in data["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap().to_string();
        let dtype = case["dtype"].as_str().unwrap();
        let eps = if dtype == "float32" { 1.2e-7 } else { 2.3e-16 };
        let tol = if arithmetic(&name) { 4.0 * eps } else { 0.0 };
        let args: Vec<Array> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(jax_data::arr)
            .collect();
        let wants: Vec<Array> = case["outs"]
            .as_array()
            .unwrap()
            .iter()
            .map(jax_data::arr)
            .collect();
        let n = name.clone();
        let jitted = jit(move |xs: &Vec<Array>| f(&n, xs))
            .call((args.clone(),))
            .unwrap();
        for (path, got) in [("eager", f(&name, &args)), ("jit", jitted)] {
            assert_eq!(got.len(), wants.len(), "{name}: number of outputs");
            for (k, (g, w)) in got.iter().zip(&wants).enumerate() {
                if g.shape() != w.shape() {
                    failures.push(format!(
                        "{name} {dtype} {path} out {k}: shape {:?} vs JAX {:?}",
                        g.shape(),
                        w.shape()
                    ));
                    continue;
                }
                let e = rel_err(g, w);
                if e > tol {
                    failures.push(format!(
                        "{name} {dtype} {path} out {k}: error {e:e}: got {g}, JAX {w}"
                    ));
                }
            }
        }
        let rest: Vec<Array> = args[1..].to_vec();
        let f0 = {
            let (n, rest) = (name.clone(), rest.clone());
            move |x: &Array| {
                let mut a = vec![x.clone()];
                a.extend(rest.iter().cloned());
                f(&n, &a).remove(0)
            }
        };
        if let Some(gw) = case.get("grad") {
            let want = jax_data::arr(gw);
            let out = &wants[0];
            let w: Vec<f64> = (0..out.size()).map(|i| (i % 7) as f64 - 3.0).collect();
            let w = jnp::astype(Array::from_vec(w, out.shape()).unwrap(), args[0].dtype());
            let f1 = f0.clone();
            let loss = move |x: &Array| jnp::sum(jnp::multiply(f1(x), &w), None, false);
            for (path, got) in [
                ("eager", grad(loss.clone()).call((args[0].clone(),))),
                ("jit", jit(grad(loss)).call((args[0].clone(),))),
            ] {
                let got = match got {
                    Ok(g) if g.shape() == want.shape() => g,
                    other => {
                        failures.push(format!("grad {name} {dtype} {path}: {other:?}"));
                        continue;
                    }
                };
                let e = rel_err(&got, &want);
                if e > tol {
                    failures.push(format!(
                        "grad {name} {dtype} {path}: error {e:e}: got {got}, JAX {want}"
                    ));
                }
            }
        }
        if let Some(vin) = case.get("vmap_in") {
            let (vin, want) = (jax_data::arr(vin), jax_data::arr(&case["vmap_out"]));
            let got = match vmap(f0).call((vin,)) {
                Ok(g) if g.shape() == want.shape() => g,
                other => {
                    failures.push(format!("vmap {name} {dtype}: {other:?}"));
                    continue;
                }
            };
            let e = rel_err(&got, &want);
            if e > tol {
                failures.push(format!(
                    "vmap {name} {dtype}: error {e:e}: got {got}, JAX {want}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rev_jit_matches_the_interpreter_and_its_gradients_check() {
    for (shape, dims) in [
        (vec![7], vec![0]),
        (vec![3, 5], vec![1]),
        (vec![3, 5], vec![0, 1]),
        (vec![2, 3, 9], vec![0, 2]),
        (vec![4, 17], vec![0]),
        (vec![0, 3], vec![0]),
    ] {
        let n: usize = shape.iter().product();
        let x = Array::from_vec((0..n).map(|i| i as f64 * 0.25 - 1.0).collect(), &shape).unwrap();
        let d = dims.clone();
        let g = move |x: &Array| lax::rev(&lax::mul(x, x).unwrap(), &d).unwrap();
        let j = make_jaxpr(g.clone()).call((x.clone(),)).unwrap();
        let want = eval_jaxpr(&j, std::slice::from_ref(&x)).unwrap().remove(0);
        let got = jit(g.clone()).call((x.clone(),)).unwrap();
        assert_eq!(
            got.to_vec::<f64>().unwrap(),
            want.to_vec::<f64>().unwrap(),
            "{shape:?} {dims:?}"
        );
        if n > 0 {
            check_grads(&g, (x,), 2, &[Mode::Fwd, Mode::Rev]).unwrap();
        }
    }
}

#[test]
fn bad_input_is_an_error_naming_the_operation() {
    let x = Array::from_vec(vec![1.0f32; 6], &[2, 3]).unwrap();
    let e = lax::rev(&x, &[2]).unwrap_err().to_string();
    assert!(e.contains("rev") && e.contains("(2, 3)"), "{e}");
    let e = jit(|x: &Array| jnp::split(x, S::Sections(4), 1).remove(0))
        .call((x.clone(),))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("array split does not result in an equal division"),
        "{e}"
    );
    let e = jit(|x: &Array| jnp::einsum("ij,jk->ik", &[x.clone(), x.clone()]))
        .call((x,))
        .unwrap_err()
        .to_string();
    assert!(e.contains("einsum"), "{e}");
}

/// `insert` with positions traced under `jit` (JAX's algorithm needs no concrete positions)
/// gives the eager result, which the JAX cases above check; and the gradient through a traced
/// insert reaches both `x` and the values.
#[test]
fn insert_with_traced_positions_matches_eager() {
    let x = Array::from_vec((0..6).map(|i| i as f32 * 0.5 - 1.0).collect(), &[2, 3]).unwrap();
    let v = Array::from_slice(&[10.0f32, 20.0, 30.0, 40.0]);
    for pos in [vec![0i32, 2, 2, -1], vec![3, 3, -4, 1], vec![-10, 10, 0, 1]] {
        let i = ints(&pos);
        let eager = jnp::insert(&x, &i, &v, Some(1));
        let traced = jit(|x: &Array, i: &Array, v: &Array| jnp::insert(x, i, v, Some(1)))
            .call((x.clone(), i.clone(), v.clone()))
            .unwrap();
        assert_eq!(
            traced.to_vec::<f32>().unwrap(),
            eager.to_vec::<f32>().unwrap(),
            "{pos:?}"
        );
        let loss = move |x: &Array, v: &Array| {
            let w = Array::from_vec((0..14).map(|k| k as f32).collect(), &[2, 7]).unwrap();
            jnp::sum(
                jnp::multiply(jnp::insert(x, &i, v, Some(1)), &w),
                None,
                false,
            )
        };
        let (gx, gv) = grad(loss)
            .argnums((cranax::ARG0, cranax::ARG1))
            .call((x.clone(), v.clone()))
            .unwrap();
        // Each element's gradient is the weight of the slot it lands in: every weight once.
        let mut all: Vec<f32> = gx.to_vec::<f32>().unwrap();
        let gv = gv.to_vec::<f32>().unwrap();
        assert_eq!(gv.len(), 4);
        all.extend(gv.iter().flat_map(|g| {
            // A value fills one slot per row: weights k and k + 7 sum to 2k + 7.
            let k = (g - 7.0) / 2.0;
            [k, k + 7.0]
        }));
        all.sort_by(f32::total_cmp);
        assert_eq!(
            all,
            (0..14).map(|k| k as f32).collect::<Vec<_>>(),
            "{pos:?}"
        );
    }
}

/// `insert` and `delete` refuse what JAX refuses, with its wording.
#[test]
fn insert_and_delete_reject_bad_input_as_jax() {
    let x = Array::from_vec(vec![1.0f32; 6], &[2, 3]).unwrap();
    let run = |f: &dyn Fn(&Array) -> Array| {
        jit(|x: &Array| f(x))
            .call((x.clone(),))
            .unwrap_err()
            .to_string()
    };
    let e = run(&|x| jnp::delete(x, 5, Some(1)));
    assert!(
        e.contains("delete: axis 5 is out of bounds for array of dimension 3"),
        "{e}"
    );
    let e = run(&|x| jnp::delete(x, 3, Some(2)));
    assert!(
        e.contains("delete: axis 2 is out of bounds for array of dimension 2"),
        "{e}"
    );
    let e = run(&|x| jnp::delete(x, ints(&[0, 7]), Some(1)));
    assert!(
        e.contains("index 7 is out of bounds for axis 0 with size 3"),
        "{e}"
    );
    let e = run(&|x| jnp::delete(x, Array::from_slice(&[true, false]), Some(1)));
    assert!(
        e.contains("np.delete(arr, obj): for boolean indices, obj must be one-dimensional with length matching specified axis."),
        "{e}"
    );
    let e = run(&|x| jnp::delete(x, Array::from_slice(&[0.5f32]), Some(1)));
    assert!(
        e.contains("np.delete(arr, obj): got obj.dtype=float32; must be integer or bool."),
        "{e}"
    );
    let e = jit(|x: &Array, i: &Array| jnp::delete(x, i, Some(1)))
        .call((x.clone(), ints(&[0])))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("traced array with shape i32[1]") && e.contains("jnp.delete()"),
        "{e}"
    );
    let e = run(&|x| {
        jnp::insert(
            x,
            Array::from_vec(vec![0i32, 1], &[2, 1]).unwrap(),
            5.0f32,
            Some(1),
        )
    });
    assert!(
        e.contains("jnp.insert(): obj must be a slice, a one-dimensional array, or a scalar"),
        "{e}"
    );
    let e = run(&|x| jnp::insert(x, Array::from_slice(&[0.5f32]), 5.0f32, Some(1)));
    assert!(
        e.contains("jnp.insert(): index array must be integer typed"),
        "{e}"
    );
    let e = run(&|x| jnp::insert(x, 1, 5.0f32, Some(3)));
    assert!(
        e.contains("insert: axis 3 is out of bounds for array of dimension 2"),
        "{e}"
    );
    let e = run(&|x| jnp::insert(x, 1, Array::from_slice(&[1.0f32, 2.0, 3.0]), Some(1)));
    assert!(e.contains("broadcast"), "{e}");
    let e = run(&|x| jnp::append(x, Array::from_slice(&[1.0f32, 2.0, 3.0]), Some(0)));
    assert!(e.contains("concatenate"), "{e}");
    let e = run(&|x| jnp::dstack(&[x.clone(), Array::from_slice(&[1.0f32, 2.0, 3.0])]));
    assert!(e.contains("concatenate"), "{e}");
}
