//! Pytrees that scale: functions of up to twelve arguments through every transformation,
//! `tree_util` (`tree_map`, `tree_leaves`, `tree_structure`, `tree_unflatten`), maps with
//! sorted keys, `Static<T>` keyed by `Hash + Eq`, `#[derive(Pytree)]`, and traced closures
//! that return `Result` so `lax` composes with `?`.

use cranax::tree_util::{tree_flatten, PyTreeDef};
use cranax::{
    grad, jit, jvp, lax, tree_leaves, tree_map, tree_map2, tree_structure, tree_unflatten, vjp,
    vmap, Array, Function, Pytree, Result, Static, ARG0, ARG11, ARG5,
};
use std::collections::{BTreeMap, HashMap};

fn arr(v: &[f32]) -> Array {
    Array::from_vec(v.to_vec(), &[v.len()]).expect("array")
}

fn f32s(x: &Array) -> Vec<f32> {
    x.to_vec::<f32>().expect("f32")
}

type Twelve = (
    Array,
    Array,
    Array,
    Array,
    Array,
    Array,
    Array,
    Array,
    Array,
    Array,
    Array,
    Array,
);

/// sum_k (k+1) * x_k^2, of twelve scalars.
#[allow(clippy::too_many_arguments)]
fn twelve(
    a: &Array,
    b: &Array,
    c: &Array,
    d: &Array,
    e: &Array,
    f: &Array,
    g: &Array,
    h: &Array,
    i: &Array,
    j: &Array,
    k: &Array,
    l: &Array,
) -> Array {
    [a, b, c, d, e, f, g, h, i, j, k, l]
        .iter()
        .enumerate()
        .map(|(n, x)| (*x * *x) * (n as f32 + 1.0))
        .reduce(|s, t| s + t)
        .expect("twelve terms")
}

fn twelve_args() -> Twelve {
    let s = |v: f32| Array::from(v);
    (
        s(1.0),
        s(2.0),
        s(3.0),
        s(4.0),
        s(5.0),
        s(6.0),
        s(7.0),
        s(8.0),
        s(9.0),
        s(10.0),
        s(11.0),
        s(12.0),
    )
}

#[test]
fn a_function_of_twelve_arguments_goes_through_jit_grad_vmap_jvp_and_vjp() {
    let args = twelve_args();
    let expected: f32 = (1..=12).map(|n| (n * n * n) as f32).sum();
    let eager = Function::call(&twelve, args.clone()).expect("eager");
    assert_eq!(eager.item::<f32>().expect("scalar"), expected);
    let jitted = jit(twelve).call(args.clone()).expect("jit");
    assert_eq!(jitted.item::<f32>().expect("scalar"), expected);
    // d/dx_k = 2 (k+1) x_k = 2 (k+1)^2 with x_k = k+1.
    let g11 = grad(twelve)
        .argnums(ARG11)
        .call(args.clone())
        .expect("grad");
    assert_eq!(g11.item::<f32>().expect("scalar"), 2.0 * 144.0);
    let (g0, g5, g11) = grad(twelve)
        .argnums((ARG0, ARG5, ARG11))
        .call(args.clone())
        .expect("grad");
    let got: Vec<f32> = [g0, g5, g11].iter().map(|g| g.item().expect("s")).collect();
    assert_eq!(got, vec![2.0, 72.0, 288.0]);
    let batched = {
        let mut b = args.clone();
        b.11 = arr(&[1.0, 2.0]);
        b
    };
    let v = vmap(twelve)
        .in_axes([None; 11].into_iter().chain([Some(0)]).collect::<Vec<_>>())
        .call(batched)
        .expect("vmap");
    let base = expected - 12.0 * 144.0;
    assert_eq!(f32s(&v), vec![base + 12.0, base + 48.0]);
    let ones = {
        let o = |_: &Array| Array::from(1.0f32);
        let a = &args;
        (
            o(&a.0),
            o(&a.1),
            o(&a.2),
            o(&a.3),
            o(&a.4),
            o(&a.5),
            o(&a.6),
            o(&a.7),
            o(&a.8),
            o(&a.9),
            o(&a.10),
            o(&a.11),
        )
    };
    let (_, t) = jvp(&twelve, args.clone(), ones).expect("jvp");
    let dirsum: f32 = (1..=12).map(|n| (2 * n * n) as f32).sum();
    assert_eq!(t.item::<f32>().expect("scalar"), dirsum);
    let (_, pullback) = vjp(&twelve, args).expect("vjp");
    let cts = pullback.vjp(Array::from(1.0f32)).expect("pullback");
    assert_eq!(cts.6.item::<f32>().expect("scalar"), 2.0 * 49.0);
}

#[test]
fn tree_map_leaves_structure_and_unflatten_follow_jax() {
    let tree = (
        arr(&[1.0, 2.0]),
        vec![Array::from(3.0f32), Array::from(4.0f32)],
    );
    let leaves = tree_leaves(&tree);
    assert_eq!(leaves.len(), 3);
    let doubled = tree_map(|x| x * 2.0, &tree).expect("tree_map");
    assert_eq!(f32s(&doubled.0), vec![2.0, 4.0]);
    assert_eq!(doubled.1[1].item::<f32>().expect("scalar"), 8.0);
    let diff = tree_map2(|a, b| a - b, &doubled, &tree).expect("tree_map2");
    assert_eq!(f32s(&diff.0), vec![1.0, 2.0]);
    let def: PyTreeDef<_> = tree_structure(&tree);
    assert_eq!(def.num_leaves(), 3);
    assert_eq!(def.to_string(), "PyTreeDef((*,[*,*,],))");
    let back = tree_unflatten(&def, tree_leaves(&doubled)).expect("unflatten");
    assert_eq!(f32s(&back.0), vec![2.0, 4.0]);
    let e = tree_unflatten(&def, leaves[..2].to_vec()).expect_err("too few");
    assert!(
        e.to_string()
            .contains("Too few leaves for PyTreeDef; expected 3, got 2."),
        "{e}"
    );
    let e = tree_unflatten(&def, [leaves.clone(), leaves.clone()].concat()).expect_err("many");
    assert!(
        e.to_string()
            .contains("Too many leaves for PyTreeDef; expected 3."),
        "{e}"
    );
    // Trees of one type but another structure (a Vec of another length) do not zip.
    let other = (arr(&[1.0, 2.0]), vec![Array::from(3.0f32)]);
    let e = tree_map2(|a, b| a + b, &tree, &other).expect_err("structures differ");
    assert!(e.to_string().contains("different structures"), "{e}");
    let (l, d) = tree_flatten(&other);
    assert_eq!((l.len(), d.num_leaves()), (2, 2));
}

#[test]
fn tree_map_inside_jit_and_grad_maps_tracers() {
    let step = jit(|p: &Vec<Array>, x: &Array| -> Result<Vec<Array>> {
        let g = grad(|p: &Vec<Array>, x: &Array| (&p[0] * x + &p[1]).pow(2).sum())
            .call((p.clone(), x.clone()))?;
        tree_map2(|p, g| p - g * 0.5, p, &g)
    });
    let p = vec![Array::from(1.0f32), Array::from(0.0f32)];
    let out = step.call((p, Array::from(2.0f32))).expect("step");
    // loss = (2w + b)^2: dw = 4(2w+b) = 8, db = 2(2w+b) = 4.
    assert_eq!(out[0].item::<f32>().expect("s"), 1.0 - 4.0);
    assert_eq!(out[1].item::<f32>().expect("s"), -2.0);
}

#[test]
fn maps_flatten_in_sorted_key_order_whatever_the_insertion_order() {
    let mut a = HashMap::new();
    a.insert("b".to_string(), Array::from(2.0f32));
    a.insert("a".to_string(), Array::from(1.0f32));
    a.insert("c".to_string(), Array::from(3.0f32));
    let leaves: Vec<f32> = tree_leaves(&a)
        .iter()
        .map(|x| x.item().expect("s"))
        .collect();
    assert_eq!(leaves, vec![1.0, 2.0, 3.0]);
    let b: BTreeMap<&'static str, Array> = [("c", 3.0f32), ("a", 1.0), ("b", 2.0)]
        .map(|(k, v)| (k, Array::from(v)))
        .into();
    let leaves: Vec<f32> = tree_leaves(&b)
        .iter()
        .map(|x| x.item().expect("s"))
        .collect();
    assert_eq!(leaves, vec![1.0, 2.0, 3.0]);
    assert_eq!(
        tree_structure(&b).to_string(),
        r#"PyTreeDef({"a":*,"b":*,"c":*,})"#
    );
    // grad through a dict: d/dv_k of sum_k w_k v_k^2 with w = (1, 2, 3) by sorted key.
    let loss = |m: &HashMap<String, Array>| {
        let w = [1.0f32, 2.0, 3.0];
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        keys.iter()
            .zip(w)
            .map(|(k, w)| (&m[*k] * &m[*k]) * w)
            .reduce(|s, t| s + t)
            .expect("terms")
    };
    let g = grad(loss).call((a.clone(),)).expect("grad");
    assert_eq!(g["a"].item::<f32>().expect("s"), 2.0);
    assert_eq!(g["c"].item::<f32>().expect("s"), 18.0);
    // The same keys in another insertion order hit the jit cache; other keys miss.
    let f = jit(loss);
    f.call((a.clone(),)).expect("call");
    let mut a2 = HashMap::new();
    for k in ["c", "a", "b"] {
        a2.insert(k.to_string(), a[k].clone());
    }
    f.call((a2,)).expect("call");
    assert_eq!((f.stats().misses, f.stats().hits), (1, 1));
    let mut a3 = a.clone();
    let v = a3.remove("c").expect("c");
    a3.insert("d".to_string(), v);
    f.call((a3,)).expect("call");
    assert_eq!(f.stats().misses, 2, "other keys are another structure");
}

/// A static value that is `Hash + Eq + Clone` but not `Debug`.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Mode {
    scale: u32,
}

/// Every value hashes alike: the cache must still tell them apart by `==`.
#[derive(Clone, PartialEq, Eq)]
struct Colliding(u32);
impl std::hash::Hash for Colliding {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        0u8.hash(h);
    }
}

#[test]
fn static_values_key_the_jit_cache_by_hash_and_eq() {
    let f = jit(|x: &Array, m: &Static<Mode>| x * (m.0.scale as f32));
    let x = Array::from(2.0f32);
    let run = |s: u32| {
        f.call((x.clone(), Static(Mode { scale: s })))
            .expect("call")
            .item::<f32>()
            .expect("s")
    };
    assert_eq!((run(1), run(3), run(1)), (2.0, 6.0, 2.0));
    assert_eq!((f.stats().misses, f.stats().hits), (2, 1));
    let g = jit(|x: &Array, c: &Static<Colliding>| x + (c.0 .0 as f32));
    let a = g.call((x.clone(), Static(Colliding(1)))).expect("call");
    let b = g.call((x.clone(), Static(Colliding(5)))).expect("call");
    assert_eq!(
        (a.item::<f32>().expect("s"), b.item::<f32>().expect("s")),
        (3.0, 7.0)
    );
    assert_eq!(g.stats().misses, 2, "equal hashes, unequal values: a miss");
}

#[derive(Clone, Pytree)]
struct Dense {
    w: Array,
    b: Array,
    #[pytree(static)]
    activation: String,
}

#[derive(Clone, Pytree)]
struct Pair(Array, Vec<Array>);

#[derive(Clone, Pytree)]
struct Generic<T> {
    inner: T,
    scale: Array,
}

fn dense_apply(l: &Dense, x: &Array) -> Array {
    let h = x * &l.w + &l.b;
    match l.activation.as_str() {
        "tanh" => cranax::numpy::tanh(&h),
        _ => h,
    }
}

#[test]
fn derived_pytrees_flatten_their_fields_and_key_on_static_fields() {
    let l = Dense {
        w: arr(&[1.0, 2.0]),
        b: arr(&[0.5, -0.5]),
        activation: "linear".into(),
    };
    assert_eq!(l.num_leaves(), 2);
    let s = tree_structure(&l).to_string();
    assert!(s.starts_with("PyTreeDef(Dense{*,*,Static#"), "{s}");
    let g = grad(|l: &Dense, x: &Array| dense_apply(l, x).sum())
        .call((l.clone(), arr(&[3.0, 4.0])))
        .expect("grad");
    assert_eq!((f32s(&g.w), f32s(&g.b)), (vec![3.0, 4.0], vec![1.0, 1.0]));
    assert_eq!(g.activation, "linear", "static fields are carried over");
    let f = jit(dense_apply);
    let x = arr(&[3.0, 4.0]);
    let lin = f.call((l.clone(), x.clone())).expect("call");
    let tanh = Dense {
        activation: "tanh".into(),
        ..l.clone()
    };
    let th = f.call((tanh, x.clone())).expect("call");
    assert_eq!(f32s(&lin), vec![3.5, 7.5]);
    assert!((f32s(&th)[0] - 3.5f32.tanh()).abs() < 1e-6);
    assert_eq!(f.stats().misses, 2, "a static field's value keys the cache");
    let p = Pair(
        Array::from(1.0f32),
        vec![Array::from(2.0f32), Array::from(3.0f32)],
    );
    assert_eq!(tree_structure(&p).to_string(), "PyTreeDef(Pair(*,[*,*,],))");
    let q = tree_map(|x| x + 1.0, &p).expect("map");
    assert_eq!(q.1[1].item::<f32>().expect("s"), 4.0);
    let gen = Generic {
        inner: p,
        scale: Array::from(2.0f32),
    };
    assert_eq!(gen.num_leaves(), 4);
}

#[test]
fn traced_closures_may_return_results_and_compose_lax_with_question_marks() {
    let f = |x: &Array| -> Result<Array> { Ok(lax::sin(&lax::mul(x, x)?)?.sum()) };
    let x = arr(&[0.5, 1.0]);
    let g = grad(f).call((x.clone(),)).expect("grad");
    let expect: Vec<f32> = [0.5f32, 1.0]
        .iter()
        .map(|v| 2.0 * v * (v * v).cos())
        .collect();
    for (a, b) in f32s(&g).iter().zip(&expect) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    let j = jit(f).call((x.clone(),)).expect("jit");
    assert!((j.item::<f32>().expect("s") - (0.25f32.sin() + 1f32.sin())).abs() < 1e-6);
    // An error returned by the closure comes back as the transformation's `Err`.
    let bad = |x: &Array| -> Result<Array> { Ok(lax::reshape(x, &[3])?.sum()) };
    let e = grad(bad).call((x.clone(),)).expect_err("bad reshape");
    assert!(e.to_string().contains("reshape"), "{e}");
    let e = jit(bad).call((x,)).expect_err("bad reshape");
    assert!(e.to_string().contains("reshape"), "{e}");
}

#[test]
fn control_flow_bodies_may_return_results() {
    // sum_{i<4} i via fori_loop, a while_loop doubling to >= 100, a scan of running sums.
    let total = lax::fori_loop(
        0,
        4,
        |i, c: &Array| -> Result<Array> {
            lax::add(c, &lax::convert_element_type(i, cranax::DType::F32)?)
        },
        Array::from(0.0f32),
    )
    .expect("fori_loop");
    assert_eq!(total.item::<f32>().expect("s"), 6.0);
    let doubled = lax::while_loop(
        |x: &Array| lax::lt(x, &Array::from(100.0f32)),
        |x: &Array| lax::mul(x, &Array::from(2.0f32)),
        Array::from(3.0f32),
    )
    .expect("while_loop");
    assert_eq!(doubled.item::<f32>().expect("s"), 192.0);
    let (last, sums) = lax::scan(
        |c: &Array, x: &Array| -> Result<(Array, Array)> {
            let s = lax::add(c, x)?;
            Ok((s.clone(), s))
        },
        Array::from(0.0f32),
        arr(&[1.0, 2.0, 3.0]),
    )
    .expect("scan");
    assert_eq!(
        (last.item::<f32>().expect("s"), f32s(&sums)),
        (6.0, vec![1.0, 3.0, 6.0])
    );
    let e = lax::scan(
        |c: &Array, x: &Array| -> Result<(Array, Array)> {
            let s = lax::add(c, &lax::reshape(x, &[2])?)?;
            Ok((s.clone(), s))
        },
        Array::from(0.0f32),
        arr(&[1.0, 2.0, 3.0]),
    )
    .expect_err("a bad reshape in the body");
    assert!(e.to_string().contains("reshape"), "{e}");
}
