//! Pytrees: user structs (via `impl_pytree!`), tuples, `Vec`s and fixed-size arrays pass
//! through every transformation with their structure intact, and the structure is part of the
//! jit cache key.

use cranax::numpy as jnp;
use cranax::{grad, impl_pytree, jit, vmap, Array, Axes, Function, Pytree, Static};

#[derive(Clone)]
struct Layer {
    w: Array,
    b: Array,
}
impl_pytree!(Layer { w, b });

#[derive(Clone)]
struct Mlp {
    layers: Vec<Layer>,
    scale: Array,
}
impl_pytree!(Mlp { layers, scale });

fn f32s(x: &Array) -> Vec<f32> {
    x.to_vec::<f32>().expect("f32")
}

fn mlp() -> Mlp {
    let layer = |w: &[f32], b: &[f32], n: usize, m: usize| Layer {
        w: Array::from_vec(w.to_vec(), &[n, m]).expect("w"),
        b: Array::from_vec(b.to_vec(), &[m]).expect("b"),
    };
    Mlp {
        layers: vec![
            layer(&[0.1, -0.2, 0.3, 0.4, 0.5, -0.6], &[0.0, 0.1], 3, 2),
            layer(&[0.7, -0.8], &[0.2], 2, 1),
        ],
        scale: Array::from(2.0f32),
    }
}

fn forward(p: &Mlp, x: &Array) -> Array {
    let mut h = x.clone();
    for (i, l) in p.layers.iter().enumerate() {
        h = h.matmul(&l.w) + &l.b;
        if i + 1 < p.layers.len() {
            h = jnp::tanh(&h);
        }
    }
    h * &p.scale
}

fn loss(p: &Mlp, x: &Array) -> Array {
    forward(p, x).pow(2).sum()
}

#[test]
fn a_user_struct_flattens_in_field_order_and_rebuilds() {
    let p = mlp();
    let leaves = p.leaves();
    assert_eq!(leaves.len(), 5);
    assert_eq!(leaves[0].shape(), &[3, 2]);
    assert_eq!(leaves[4].shape(), &[] as &[usize]);
    let doubled = p
        .rebuild(leaves.iter().map(|l| l * 2.0).collect())
        .expect("rebuild");
    assert_eq!(f32s(&doubled.layers[1].w), vec![1.4, -1.6]);
    assert!(
        p.rebuild(leaves[..4].to_vec()).is_err(),
        "too few leaves is an error"
    );
}

#[test]
fn grad_with_respect_to_a_struct_matches_finite_differences() {
    let p = mlp();
    let x = Array::from_vec(vec![1.0f32, -2.0, 0.5, 0.3, 0.2, -0.1], &[2, 3]).expect("x");
    let g: Mlp = grad(loss).call((p.clone(), x.clone())).expect("grad");
    // d loss / d scale = 2 * sum(forward(p, x)^2) / scale.
    let out = forward(&p, &x);
    let expected = 2.0 * f32s(&out).iter().map(|v| v * v).sum::<f32>() / 2.0;
    assert!((g.scale.item::<f32>().expect("scalar") - expected).abs() < 1e-4);
    // Central differences on one weight of the first layer.
    let eps = 1e-3f32;
    let bump = |d: f32| {
        let mut q = p.clone();
        let mut w = f32s(&q.layers[0].w);
        w[1] += d;
        q.layers[0].w = Array::from_vec(w, &[3, 2]).expect("w");
        loss(&q, &x).item::<f32>().expect("scalar")
    };
    let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
    let analytic = f32s(&g.layers[0].w)[1];
    assert!(
        (numeric - analytic).abs() < 1e-2 * numeric.abs().max(1.0),
        "{numeric} vs {analytic}"
    );
}

#[test]
fn jit_caches_by_structure_and_static_values() {
    let f = jit(|p: &Mlp, x: &Array, k: &Static<usize>| forward(p, x) * (k.0 as f32));
    let x = Array::from_vec(vec![1.0f32, -2.0, 0.5], &[1, 3]).expect("x");
    let a = f.call((mlp(), x.clone(), Static(1))).expect("call");
    let b = f.call((mlp(), x.clone(), Static(3))).expect("call");
    assert!((f32s(&b)[0] - 3.0 * f32s(&a)[0]).abs() < 1e-5);
    let mut shallow = mlp();
    shallow.layers.truncate(1);
    shallow.layers[0].w = Array::from_vec(vec![0.5f32, -0.5, 0.25], &[3, 1]).expect("w");
    shallow.layers[0].b = Array::from_slice(&[0.0f32]);
    f.call((shallow, x, Static(1))).expect("call");
    let s = f.stats();
    assert_eq!(
        (s.misses, s.compiles),
        (3, 3),
        "two static values and two structures"
    );
}

#[test]
fn vmap_maps_some_leaves_of_a_struct() {
    // Batch only the inputs; the parameters (every leaf of the struct) are shared.
    let xs = Array::from_vec((0..12).map(|i| i as f32 * 0.1).collect(), &[4, 1, 3]).expect("xs");
    let batched = vmap(forward)
        .in_axes([None, Some(0)])
        .call((mlp(), xs.clone()))
        .expect("vmap");
    assert_eq!(batched.shape(), &[4, 1, 1]);
    for i in 0..4 {
        let one = forward(&mlp(), &xs.at(i as i32));
        assert!((f32s(&batched)[i] - f32s(&one)[0]).abs() < 1e-6);
    }
    // The same with one entry per leaf: five parameter leaves unbatched, then x batched.
    let per_leaf = Axes::PerLeaf(vec![None, None, None, None, None, Some(0)]);
    let again = vmap(forward)
        .in_axes(per_leaf)
        .call((mlp(), xs))
        .expect("vmap");
    assert_eq!(f32s(&again), f32s(&batched));
}

#[test]
fn tuples_vecs_and_fixed_arrays_nest() {
    let tree = (
        vec![Array::from(1.0f32), Array::from(2.0f32)],
        [Array::from(3.0f32), Array::from(3.0f32)],
        Some(Array::from(4.0f32)),
    );
    let g = grad(|t: &(Vec<Array>, [Array; 2], Option<Array>)| {
        let (v, a, o) = t;
        &v[0] * &v[1] + &a[0] * &a[1] + o.clone().expect("some").pow(2)
    })
    .call((tree,))
    .expect("grad");
    let flat: Vec<f32> = g
        .leaves()
        .iter()
        .map(|l| l.item::<f32>().expect("scalar"))
        .collect();
    // d/dv0 = v1, d/dv1 = v0, d/da0 = a1, d/da1 = a0, d/do = 2o.
    assert_eq!(flat, vec![2.0, 1.0, 3.0, 3.0, 8.0]);
}

/// `num_leaves` (counted without flattening for arrays, tuples, `Vec`s and fixed-size arrays)
/// agrees with the number of leaves `flatten` lists, nested and empty containers included;
/// and grad's argnums pick the right leaves of multi-leaf arguments.
#[test]
fn num_leaves_counts_what_flatten_lists() {
    let x = Array::from(1.0f32);
    let tree = (
        vec![
            (x.clone(), [x.clone(), x.clone()]),
            (x.clone(), [x.clone(), x.clone()]),
        ],
        Vec::<Array>::new(),
        Static(3usize),
        (Some(x.clone()), None::<Array>, mlp()),
        [(); 2],
    );
    assert_eq!(tree.num_leaves(), tree.leaves().len());
    assert_eq!(tree.num_leaves(), 6 + 1 + 5);
    assert_eq!(mlp().num_leaves(), mlp().leaves().len());

    // d/dw of sum(w) * y * z, with the tuple argument's leaves before and after.
    let f = |a: &(Array, Array), w: &Array, y: &Array| (w.sum() * &a.0 * y).sum();
    let a = (Array::from(2.0f32), Array::from(5.0f32));
    let w = Array::from_slice(&[1.0f32, 2.0]);
    let y = Array::from(3.0f32);
    let gw = grad(f)
        .argnums(cranax::ARG1)
        .call((a.clone(), w.clone(), y.clone()));
    assert_eq!(f32s(&gw.unwrap()), vec![6.0, 6.0]);
    let (ga, gy) = grad(f)
        .argnums((cranax::ARG0, cranax::ARG2))
        .call((a, w, y))
        .unwrap();
    assert_eq!(
        (f32s(&ga.0), f32s(&ga.1), f32s(&gy)),
        (vec![9.0], vec![0.0], vec![6.0])
    );
}

#[test]
fn rebuild_cloned_takes_exactly_the_leaves_it_needs() {
    let template = (Array::scalar(1.0f32), vec![Array::scalar(2.0f32)]);
    let leaves = [Array::scalar(3.0f32), Array::scalar(4.0f32)];
    let (a, v) = template.rebuild_cloned(&leaves).unwrap();
    assert_eq!(
        (a.item::<f32>().unwrap(), v[0].item::<f32>().unwrap()),
        (3.0, 4.0)
    );
    let three = [leaves[0].clone(), leaves[1].clone(), leaves[0].clone()];
    let err = template.rebuild_cloned(&three).unwrap_err().to_string();
    assert!(
        err.contains("got 3 leaves, more than the structure holds"),
        "{err}"
    );
    assert!(template.rebuild_cloned(&leaves[..1]).is_err());
}
