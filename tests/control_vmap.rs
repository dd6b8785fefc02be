//! vmap of `while`, `scan` and `cond`/`switch` against the independent oracle of running the
//! unbatched loop or branch once per example: batched carries, consts and xs, a batched loop
//! predicate (per-element trip counts), a batched branch index (every branch, then a select),
//! out-of-range `switch` indices, nested vmap, and the jaxprs the rules produce.

use cranax::core::error::raise;
use cranax::lax;
use cranax::numpy as jnp;
use cranax::*;

fn ok<T>(r: Result<T>) -> T {
    r.unwrap_or_else(|e| raise(e))
}

fn f64s(x: &Array) -> Vec<f64> {
    x.to_vec::<f64>().expect("f64 array")
}

fn i32s(x: &Array) -> Vec<i32> {
    x.to_vec::<i32>().expect("i32 array")
}

/// Row `i` of a batched array (the oracle's per-example input).
fn row(x: &Array, i: usize) -> Array {
    ok(cranax::prims::batching::index_in_dim(x, i, 0))
}

/// Newton's square root of `a` to a relative residual of 1e-12, and its step count.
fn newton_sqrt(a: &Array) -> (Array, Array) {
    ok(lax::while_loop(
        |c: &(Array, Array)| {
            let resid = jnp::abs(&(&(&c.0 * &c.0) - a));
            let going = jnp::greater(&resid, &(a * 1e-12));
            ok(lax::and(&going, &ok(lax::lt(&c.1, &Array::scalar(100i32)))))
        },
        |c: &(Array, Array)| {
            let x = &(&c.0 + &(a / &c.0)) * 0.5;
            (x, ok(lax::add(&c.1, &Array::scalar(1i32))))
        },
        (a.clone(), Array::scalar(0i32)),
    ))
}

#[test]
fn while_with_a_batched_predicate_runs_each_element_its_own_number_of_steps() {
    let a = Array::from_slice(&[0.01f64, 1.0, 2.0, 1e6, 3.0]);
    let (roots, steps) = ok(vmap(newton_sqrt).call((a.clone(),)));
    let (roots, steps) = (f64s(&roots), i32s(&steps));
    for i in 0..5 {
        let (r, s) = newton_sqrt(&row(&a, i));
        assert_eq!(
            roots[i].to_bits(),
            r.item::<f64>().unwrap().to_bits(),
            "root {i}"
        );
        assert_eq!(steps[i], s.item::<i32>().unwrap(), "steps {i}");
    }
    // The trip counts differ, so the batched loop really froze finished elements.
    assert!(steps.iter().min() < steps.iter().max(), "{steps:?}");
    assert!((roots[3] - 1000.0).abs() < 1e-9);
    let jaxpr = ok(make_jaxpr(vmap(newton_sqrt)).call((a.clone(),))).to_string();
    assert!(jaxpr.contains("reduce_max"), "{jaxpr}");
    assert!(jaxpr.contains("select_n"), "{jaxpr}");
    // jit of the batched loop agrees bit for bit.
    let (jr, js) = ok(jit(vmap(newton_sqrt)).call((a,)));
    assert_eq!(f64s(&jr), roots);
    assert_eq!(i32s(&js), steps);
}

#[test]
fn while_with_an_unbatched_predicate_stays_one_loop() {
    // Ten doublings of each element: the trip count does not depend on the batched value.
    let f = |x: &Array| {
        ok(lax::while_loop(
            |c: &(Array, Array)| ok(lax::lt(&c.0, &Array::scalar(10i32))),
            |c: &(Array, Array)| (ok(lax::add(&c.0, &Array::scalar(1i32))), &c.1 * 2.0f64),
            (Array::scalar(0i32), x.clone()),
        ))
        .1
    };
    let x = Array::from_slice(&[1.0f64, -3.0, 0.5]);
    let y = ok(vmap(f).call((x.clone(),)));
    assert_eq!(f64s(&y), vec![1024.0, -3072.0, 512.0]);
    let jaxpr = ok(make_jaxpr(vmap(f)).call((x,))).to_string();
    assert!(jaxpr.contains("while["), "{jaxpr}");
    assert!(!jaxpr.contains("reduce_max"), "{jaxpr}");
}

/// `(sum, running products)` of `x_t * w + c` over `xs`, with `w` closed over.
fn scan_fn(c0: &Array, w: &Array, xs: &Array) -> (Array, Array) {
    ok(lax::scan(
        |c: &Array, x: &Array| {
            let nc = &(c * w) + x;
            (nc.clone(), &nc * 2.0f64)
        },
        c0.clone(),
        xs.clone(),
    ))
}

#[test]
fn scan_batched_in_each_operand_matches_the_per_example_loop() {
    let c0 = Array::from_slice(&[1.0f64, 2.0, -1.0]);
    let w = Array::from_slice(&[0.5f64, -1.5, 2.0]);
    let xs = ok(Array::from_vec(
        (0..12).map(|i| i as f64 * 0.25 - 1.0).collect::<Vec<_>>(),
        &[3, 4],
    ));
    let cases: Vec<[Option<isize>; 3]> = vec![
        [Some(0), None, None],
        [None, Some(0), None],
        [None, None, Some(0)],
        [Some(0), Some(0), Some(0)],
        [None, Some(0), Some(1)],
    ];
    // An unbatched operand is one example's value.
    let one = |x: &Array, d: Option<isize>| match d {
        Some(_) => x.clone(),
        None => row(x, 1),
    };
    for axes in cases {
        let c_in = one(&c0, axes[0]);
        let w_in = one(&w, axes[1]);
        let xs_in = match axes[2] {
            Some(1) => ok(lax::transpose(&xs, &[1, 0])),
            Some(_) => xs.clone(),
            None => row(&xs, 1),
        };
        let args = (c_in.clone(), w_in.clone(), xs_in.clone());
        let (c, ys) = ok(vmap(scan_fn).in_axes(axes).call(args.clone()));
        let pick = |x: &Array, d: Option<isize>, i: usize| match d {
            Some(_) => row(x, i),
            None => x.clone(),
        };
        for i in 0..3 {
            let example_xs = match axes[2] {
                Some(_) => row(&xs, i),
                None => xs_in.clone(),
            };
            let (ec, eys) = scan_fn(
                &pick(&c_in, axes[0], i),
                &pick(&w_in, axes[1], i),
                &example_xs,
            );
            assert_eq!(f64s(&row(&c, i)), f64s(&ec), "carry {axes:?} example {i}");
            assert_eq!(f64s(&row(&ys, i)), f64s(&eys), "ys {axes:?} example {i}");
        }
        let (jc, jys) = ok(jit(vmap(scan_fn).in_axes(axes)).call(args));
        assert_eq!(f64s(&c), f64s(&jc), "{axes:?}");
        assert_eq!(f64s(&ys), f64s(&jys), "{axes:?}");
    }
}

#[test]
fn nested_vmap_of_scan() {
    let xs = ok(Array::from_vec(
        (0..24).map(|i| (i as f64).sin()).collect::<Vec<_>>(),
        &[2, 3, 4],
    ));
    let cumsum = |xs: &Array| {
        ok(lax::scan(
            |c: &Array, x: &Array| (c + x, c + x),
            Array::scalar(0.0f64),
            xs.clone(),
        ))
        .1
    };
    let got = ok(vmap(vmap(cumsum)).call((xs.clone(),)));
    for i in 0..2 {
        for j in 0..3 {
            let want = cumsum(&row(&row(&xs, i), j));
            assert_eq!(f64s(&row(&row(&got, i), j)), f64s(&want));
        }
    }
}

fn relu_cond(x: &Array) -> Array {
    ok(lax::cond(
        &jnp::greater(x, 0.0f64),
        |x: &Array| x * 3.0f64,
        |x: &Array| jnp::sin(x),
        x,
    ))
}

#[test]
fn cond_with_a_batched_predicate_computes_both_branches_and_selects() {
    let x = Array::from_slice(&[-2.0f64, 3.0, 0.0, 0.5]);
    let y = ok(vmap(relu_cond).call((x.clone(),)));
    for i in 0..4 {
        assert_eq!(f64s(&row(&y, i)), f64s(&relu_cond(&row(&x, i))), "{i}");
    }
    let jaxpr = ok(make_jaxpr(vmap(relu_cond)).call((x.clone(),))).to_string();
    assert!(
        jaxpr.contains("select_n") && !jaxpr.contains("cond["),
        "{jaxpr}"
    );
    assert_eq!(f64s(&ok(jit(vmap(relu_cond)).call((x,)))), f64s(&y));
}

#[test]
fn cond_with_an_unbatched_predicate_stays_a_cond() {
    let f = |p: &Array, x: &Array| {
        ok(lax::cond(
            p,
            |x: &Array| x * 3.0f64,
            |x: &Array| jnp::sin(x),
            x,
        ))
    };
    let x = Array::from_slice(&[-2.0f64, 3.0]);
    for p in [true, false] {
        let p = Array::scalar(p);
        let g = vmap(f).in_axes([None, Some(0)]);
        let y = ok(g.call((p.clone(), x.clone())));
        for i in 0..2 {
            assert_eq!(f64s(&row(&y, i)), f64s(&f(&p, &row(&x, i))));
        }
        let jaxpr = ok(make_jaxpr(vmap(f).in_axes([None, Some(0)])).call((p, x.clone())));
        assert!(jaxpr.to_string().contains("cond["), "{jaxpr}");
    }
}

#[test]
fn switch_under_vmap_clamps_out_of_range_indices() {
    let f = |i: &Array, x: &Array| {
        let b0 = |x: &Array| x + 1.0f64;
        let b1 = |x: &Array| x * 2.0f64;
        let b2 = |x: &Array| jnp::sin(x);
        ok(lax::switch(i, &[&b0, &b1, &b2], x))
    };
    let idx = Array::from_slice(&[-5i32, 0, 1, 2, 3, 100]);
    let x = Array::from_slice(&[0.5f64, 0.5, 0.5, 0.5, 0.5, 0.5]);
    let y = f64s(&ok(vmap(f).call((idx.clone(), x.clone()))));
    let s = 0.5f64.sin();
    assert_eq!(y, vec![1.5, 1.5, 1.0, s, s, s]);
    let jy = f64s(&ok(jit(vmap(f)).call((idx, x))));
    assert_eq!(jy, y);
}
