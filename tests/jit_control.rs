//! Native lowering of `while`, `scan` and `cond` (issue 11): compiled code against the
//! reference interpreter as the oracle, bit for bit (every program here is exact in IEEE
//! arithmetic or integer), and the compiled plan shows a loop or branch (the code really ran
//! natively: `jit` reports a compile failure as an error, and the summary names the kernel).

use cranax::api::jit::signature_of;
use cranax::core::error::or_raise;
use cranax::lax;
use cranax::lax::{map, scan_with, ScanOptions};
use cranax::pytree::ArgTuple;
use cranax::*;
use proptest::prelude::*;

#[path = "support/exact_programs.rs"]
mod exact_programs;
use exact_programs::{apply_exact, exact_step, ExactStep};

fn r<T>(x: Result<T>) -> T {
    or_raise(x)
}

fn lit(like: &Array, v: f64) -> Array {
    lax::scalar_like(like, v)
}

/// `jit(f)(args)` equals the interpreter running `make_jaxpr(f)(args)`, bit for bit (a NaN
/// matching a NaN of any payload, as in tests/jit.rs), and the
/// compiled plan contains every word of `kernels` (e.g. "while", "scan", "cond"). Returns the
/// plan.
#[track_caller]
fn check<Args, F>(what: &str, f: F, args: Args, kernels: &[&str]) -> String
where
    Args: ArgTuple,
    F: Function<Args> + Clone,
{
    let leaves = args.leaves();
    let cj = make_jaxpr(f.clone())
        .call(args.clone())
        .unwrap_or_else(|e| panic!("{what}: tracing: {e}"));
    let want = eval_jaxpr(&cj, &leaves).unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
    let jitted = jit(f);
    let got = jitted
        .call(args.clone())
        .unwrap_or_else(|e| panic!("{what}: jit: {e}\n{cj}"))
        .leaves();
    assert_eq!(got.len(), want.len(), "{what}: number of outputs");
    for (k, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.aval(), w.aval(), "{what}: output {k} type");
        let (gd, wd) = (g.data().unwrap(), w.data().unwrap());
        for i in 0..gd.len() {
            let (a, b) = (gd.get(i), wd.get(i));
            let nans = a.to_f64().is_nan() && b.to_f64().is_nan();
            assert!(
                a.bits() == b.bits() || nans,
                "{what}: output {k}, element {i}: jit gave {a:?}, the interpreter {b:?}\n{cj}"
            );
        }
    }
    let exe = jitted
        .executable_for(&signature_of(&args))
        .unwrap_or_else(|| panic!("{what}: no executable"));
    let summary = exe.kernels_summary().to_string();
    for k in kernels {
        assert!(summary.contains(k), "{what}: no {k} kernel in\n{summary}");
    }
    summary
}

/// Does a kernel line indented under a control kernel (a sub-program's) contain `what`?
fn nested(plan: &str, what: &str) -> bool {
    plan.lines()
        .any(|l| l.starts_with("    ") && l.contains(what))
}

fn f32s(v: &[f32]) -> Array {
    Array::from_slice(v)
}

fn ramp(n: usize, scale: f32, offset: f32) -> Array {
    let v: Vec<f32> = (0..n).map(|i| (i as f32) * scale + offset).collect();
    Array::from_slice(&v)
}

// ---------------------------------------------------------------------------------------------
// while

/// Newton's iteration for sqrt(a), elementwise, until every relative residual is below
/// 1e-6 (at most 60 steps); returns the root and the number of steps.
fn newton_sqrt(a: &Array) -> (Array, Array) {
    let init = (a.clone(), Array::scalar(0i32));
    r(while_loop(
        |(x, n): &(Array, Array)| {
            let res = r(lax::abs(&r(lax::sub(&r(lax::mul(x, x)), a))));
            let worst = r(lax::reduce_max(&r(lax::div(&res, a)), &[0]));
            let far = r(lax::gt(&worst, &lit(&worst, 1e-6)));
            r(lax::and(&far, &r(lax::lt(n, &Array::scalar(60i32)))))
        },
        |(x, n): &(Array, Array)| {
            let half = lit(x, 0.5);
            let next = r(lax::mul(&r(lax::add(x, &r(lax::div(a, x)))), &half));
            (next, r(lax::add(n, &Array::scalar(1i32))))
        },
        init,
    ))
}

#[test]
fn while_with_a_data_dependent_trip_count() {
    check(
        "newton sqrt",
        newton_sqrt,
        (f32s(&[2.0, 9.0, 1e4, 0.25, 7.0]),),
        &["while"],
    );
    // A big carry: the body's elementwise work runs in vector loops inside the while.
    let plan = check(
        "newton sqrt, 10000",
        newton_sqrt,
        (ramp(10_000, 0.37, 1.0),),
        &["while"],
    );
    assert!(plan.contains("4 lanes"), "{plan}");
    let (_, steps) = jit(newton_sqrt).call((ramp(10_000, 0.37, 1.0),)).unwrap();
    assert!(
        steps.item::<i32>().unwrap() > 3,
        "the loop ran several times"
    );
}

/// Collatz steps of each element (an i32 vector), counted while any element is not 1.
fn collatz(n0: &Array) -> (Array, Array) {
    let init = (n0.clone(), r(lax::mul(n0, &lit(n0, 0.0))));
    r(while_loop(
        |(n, _): &(Array, Array)| {
            let not_one = r(lax::ne(n, &lit(n, 1.0)));
            r(lax::gt(
                &r(lax::reduce_max(
                    &r(lax::convert_element_type(&not_one, DType::I32)),
                    &[0],
                )),
                &Array::scalar(0i32),
            ))
        },
        |(n, steps): &(Array, Array)| {
            let odd = r(lax::eq(&r(lax::and(n, &lit(n, 1.0))), &lit(n, 1.0)));
            let up = r(lax::add(&r(lax::mul(n, &lit(n, 3.0))), &lit(n, 1.0)));
            let down = r(lax::div(n, &lit(n, 2.0)));
            let done = r(lax::eq(n, &lit(n, 1.0)));
            let next = r(lax::select(&done, n, &r(lax::select(&odd, &up, &down))));
            let more = r(lax::convert_element_type(&r(lax::not(&done)), DType::I32));
            (next, r(lax::add(steps, &more)))
        },
        init,
    ))
}

#[test]
fn collatz_steps_on_i32() {
    let n: Vec<i32> = (1..=37).collect();
    let plan = check("collatz", collatz, (Array::from_slice(&n),), &["while"]);
    let (_, steps) = jit(collatz)
        .call((Array::from_slice(&[27i32, 1, 6]),))
        .unwrap();
    // Independent reference: 27 takes 111 steps, 6 takes 8.
    assert_eq!(steps.to_vec::<i32>().unwrap(), vec![111, 0, 8], "{plan}");
}

/// `any` and `all` (reduce_max / reduce_min of a bool computed inline) of `x > 0.5` along
/// the last axis and over everything.
fn any_all(x: &Array) -> (Array, Array, Array, Array) {
    let big = r(lax::gt(x, &lit(x, 0.5)));
    let last = x.shape().len() - 1;
    let every: Vec<usize> = (0..=last).collect();
    (
        r(lax::reduce_max(&big, &[last])),
        r(lax::reduce_min(&big, &[last])),
        r(lax::reduce_max(&big, &every)),
        r(lax::reduce_min(&big, &every)),
    )
}

/// Vectorised `any`/`all` (lane masks, leaving at the first deciding vector step or tail
/// element) match the interpreter: lengths that are and are not a multiple of the vector
/// step (16 f32 or 8 f64 elements), all false, all true, one true or one false at the start,
/// at the end of the vector part, in the tail, at the very end; rows deciding differently.
#[test]
fn any_and_all_of_an_inline_predicate_run_in_lanes() {
    for n in [16usize, 17, 35, 100, 1003] {
        let step = 16;
        let mut spots = vec![0, n / step * step - 1, n - 1];
        if n % step != 0 {
            spots.push(n / step * step);
        }
        let mut rows: Vec<Vec<f32>> = vec![vec![0.0; n], vec![1.0; n]];
        for &p in &spots {
            let mut one_true = vec![0.0f32; n];
            one_true[p] = 1.0;
            let mut one_false = vec![1.0f32; n];
            one_false[p] = 0.0;
            rows.push(one_true);
            rows.push(one_false);
        }
        for row in &rows {
            let what = format!("any/all of {n} f32");
            let plan = check(&what, any_all, (f32s(row),), &["reduce_max", "reduce_min"]);
            let reduces: Vec<&str> = plan.lines().filter(|l| l.contains("reduce_")).collect();
            assert!(!reduces.is_empty(), "{plan}");
            for l in reduces {
                assert!(
                    l.contains("4 lanes"),
                    "{what}: a bool reduction is scalar:\n{plan}"
                );
            }
            let wide: Vec<f64> = row.iter().map(|&v| v as f64).collect();
            let what = format!("any/all of {n} f64");
            let plan = check(&what, any_all, (Array::from_slice(&wide),), &["reduce_"]);
            assert!(plan.contains("2 lanes"), "{what}:\n{plan}");
        }
        // Several rows at once: each row is reduced (and decided) on its own.
        let flat: Vec<f32> = rows.concat();
        let m = r(lax::reshape(&f32s(&flat), &[rows.len(), n]));
        let plan = check(
            &format!("any/all of rows of {n}"),
            any_all,
            (m,),
            &["reduce_"],
        );
        assert!(plan.contains("4 lanes"), "{plan}");
    }
}

/// The batched while of `vmap(newton)`: its cond reduces the per-element predicate with
/// `any` in vector lanes.
#[test]
fn a_batched_while_tests_its_predicate_in_lanes() {
    let newton = |a: &Array| {
        let (x, _) = r(while_loop(
            |(x, i): &(Array, Array)| {
                let res = r(lax::abs(&r(lax::sub(&r(lax::mul(x, x)), a))));
                let far = r(lax::gt(&res, &r(lax::mul(a, &lit(a, 1e-5)))));
                r(lax::and(&far, &r(lax::lt(i, &Array::scalar(100i32)))))
            },
            |(x, i): &(Array, Array)| {
                let next = r(lax::mul(&r(lax::add(x, &r(lax::div(a, x)))), &lit(x, 0.5)));
                (next, r(lax::add(i, &Array::scalar(1i32))))
            },
            (a.clone(), Array::scalar(0i32)),
        ));
        x
    };
    let plan = check(
        "vmap(newton)",
        vmap(newton),
        (ramp(1003, 0.37, 0.01),),
        &["while"],
    );
    assert!(
        plan.lines()
            .any(|l| l.contains("reduce_max") && l.contains("4 lanes")),
        "{plan}"
    );
}

#[test]
fn while_with_zero_iterations_returns_the_init_carry() {
    let f = |x: &Array| {
        r(while_loop(
            |c: &Array| r(lax::lt(&r(lax::reduce_sum(c, &[0])), &lit(c, -1.0))),
            |c: &Array| r(lax::mul(c, &lit(c, 2.0))),
            x.clone(),
        ))
    };
    check("zero-trip while", f, (f32s(&[1.0, -0.0, 3.5]),), &["while"]);
    let y = jit(f).call((f32s(&[1.0, -0.0, 3.5]),)).unwrap();
    assert_eq!(y.to_vec::<f32>().unwrap(), vec![1.0, -0.0, 3.5]);
}

#[test]
fn fori_loop_with_traced_bounds() {
    // sum_{i=lo}^{hi-1} (x * i), with the bounds as arguments (a while in the jaxpr).
    let f = |lo: &Array, hi: &Array, x: &Array| {
        r(fori_loop(
            lo,
            hi,
            |i: &Array, acc: &Array| {
                let fi = r(lax::convert_element_type(i, DType::F32));
                r(lax::add(acc, &r(lax::mul(x, &fi))))
            },
            r(lax::mul(x, &lit(x, 0.0))),
        ))
    };
    let x = ramp(9, 0.5, -1.0);
    for (lo, hi) in [(0, 10), (3, 4), (5, 5), (7, 2), (-3, 3)] {
        let args = (Array::scalar(lo), Array::scalar(hi), x.clone());
        check(&format!("fori {lo}..{hi}"), f, args, &["while"]);
    }
}

#[test]
fn a_10000_step_fori_loop_has_the_equations_of_a_10_step_one() {
    let f = |n: usize| {
        move |x: &Array| {
            r(fori_loop(
                0usize,
                n,
                |_: &Array, v: &Array| r(lax::mul(v, v)),
                x.clone(),
            ))
        }
    };
    let x = f32s(&[1.0]);
    let short = make_jaxpr(f(10)).call((x.clone(),)).unwrap();
    let long = make_jaxpr(f(10_000)).call((x,)).unwrap();
    assert_eq!(short.jaxpr.eqns.len(), long.jaxpr.eqns.len());
    assert!(long.to_string().contains("length=10000"), "{long}");
}

// ---------------------------------------------------------------------------------------------
// scan

/// The carry and the ys of `running`.
type Running = ((Array, Array), (Array, Array, Array));

/// Running sums of two streams (f32 rows and i32 scalars) with several ys.
fn running(carry: &(Array, Array), xs: &(Array, Array)) -> Running {
    let (s, k) = carry;
    let (row, n) = xs;
    let s2 = r(lax::add(s, row));
    let k2 = r(lax::add(k, n));
    let prod = r(lax::mul(&s2, &lit(&s2, 2.0)));
    ((s2.clone(), k2.clone()), (s2, r(lax::mul(&k2, n)), prod))
}

fn scan_running(reverse: bool) -> impl Fn(&Array, &Array, &Array) -> Running + Clone {
    move |s0: &Array, rows: &Array, ns: &Array| {
        let opts = ScanOptions {
            reverse,
            ..ScanOptions::default()
        };
        r(scan_with(
            running,
            (s0.clone(), Array::scalar(5i32)),
            (rows.clone(), ns.clone()),
            opts,
        ))
    }
}

#[test]
fn scan_forward_and_reverse_with_pytrees() {
    for len in [1usize, 2, 7, 33] {
        let rows = r(lax::reshape(&ramp(len * 3, 0.25, -2.0), &[len, 3]));
        let ns: Vec<i32> = (0..len as i32).map(|i| i * 7 - 11).collect();
        let s0 = f32s(&[0.5, -0.0, 1.0]);
        for reverse in [false, true] {
            let args = (s0.clone(), rows.clone(), Array::from_slice(&ns));
            let plan = check(
                &format!("scan len {len} reverse {reverse}"),
                scan_running(reverse),
                args,
                &["scan"],
            );
            assert!(plan.contains(&format!("{len} steps")), "{plan}");
        }
    }
}

#[test]
fn scan_of_length_zero_returns_the_init_carry_and_empty_ys() {
    let rows = Array::zeros(&[0, 3], DType::F32);
    let ns = Array::zeros(&[0], DType::I32);
    let s0 = f32s(&[0.5, -0.0, 1.0]);
    check(
        "scan len 0",
        scan_running(false),
        (s0.clone(), rows.clone(), ns.clone()),
        &["scan"],
    );
    let ((s, k), (ys, _, _)) = jit(scan_running(true)).call((s0, rows, ns)).unwrap();
    assert_eq!(s.to_vec::<f32>().unwrap(), vec![0.5, -0.0, 1.0]);
    assert_eq!(k.item::<i32>().unwrap(), 5);
    assert_eq!(ys.shape(), &[0, 3]);
}

#[test]
fn map_applies_to_each_slice() {
    let f = |xs: &Array| {
        r(map(
            |x: &Array| r(lax::add(&r(lax::mul(x, x)), &lit(x, 1.0))),
            xs.clone(),
        ))
    };
    let xs = r(lax::reshape(&ramp(20, 0.5, -3.0), &[5, 4]));
    check("map", f, (xs,), &["scan"]);
}

#[test]
fn carries_of_several_shapes_and_dtypes() {
    type C = (Array, Array, Array, Array, Array);
    let f = |a: &Array, b: &Array, c: &Array, d: &Array| {
        let init: C = (
            a.clone(),
            b.clone(),
            c.clone(),
            Array::scalar(false),
            d.clone(),
        );
        let step = |c: &C, _: &()| {
            let (m, s, v, flag, u) = c;
            let m2 = r(lax::add(
                m,
                &r(lax::broadcast_in_dim(
                    &r(lax::convert_element_type(s, DType::F32)),
                    &[2, 3],
                    &[],
                )),
            ));
            let s2 = r(lax::mul(s, &lit(s, 1.5)));
            let v2 = r(lax::sub(&r(lax::mul(v, &lit(v, 3.0))), &lit(v, 1.0)));
            let flag2 = r(lax::not(flag));
            let u2 = r(lax::xor(
                &r(lax::shift_left(u, &lit(u, 1.0))),
                &lit(u, 2654435769.0),
            ));
            ((m2, s2, v2, flag2, u2), ())
        };
        let opts = ScanOptions {
            length: Some(13),
            ..ScanOptions::default()
        };
        r(scan_with(step, init, (), opts)).0
    };
    let m = r(lax::reshape(&ramp(6, 0.5, -1.0), &[2, 3]));
    let s = Array::scalar(0.75f64);
    let v = Array::from_slice(&[1i32, -2, 3, 1 << 20]);
    let u = Array::from_slice(&[1u32, 2, 3, 4, 5]);
    check("mixed carries", f, (m, s, v, u), &["scan"]);
}

#[test]
fn a_big_carry_runs_in_vector_loops() {
    let f = |x: &Array, xs: &Array| {
        r(scan(
            |c: &Array, w: &Array| {
                let next = r(lax::add(
                    &r(lax::mul(c, &lit(c, 0.5))),
                    &r(lax::broadcast_in_dim(w, c.shape(), &[])),
                ));
                (next, r(lax::reduce_max(c, &[0])))
            },
            x.clone(),
            xs.clone(),
        ))
    };
    let plan = check(
        "big carry",
        f,
        (ramp(10_000, 0.001, -3.0), ramp(50, 0.25, 1.0)),
        &["scan"],
    );
    assert!(plan.contains("4 lanes"), "{plan}");
}

#[test]
fn loops_alike_but_for_their_bodies_stay_distinct() {
    // Two scans on the same operands whose bodies differ only in a literal: common
    // subexpression elimination must not merge them (nor anything across a body's boundary).
    let f = |x: &Array| {
        let run = |k: f64| {
            let step =
                |c: &Array, _: &()| (r(lax::add(&r(lax::mul(c, &lit(c, 0.5))), &lit(c, k))), ());
            let opts = ScanOptions {
                length: Some(4),
                ..ScanOptions::default()
            };
            r(scan_with(step, x.clone(), (), opts)).0
        };
        (
            run(1.0),
            run(2.0),
            r(lax::add(&r(lax::mul(x, &lit(x, 0.5))), &lit(x, 1.0))),
        )
    };
    let plan = check("twin scans", f, (ramp(9, 0.5, -1.0),), &["scan"]);
    assert_eq!(plan.matches(": scan [").count(), 2, "{plan}");
}

#[test]
fn loop_bodies_are_never_split_across_threads() {
    // A body big enough that a function of it alone would be split across threads: inside a
    // loop it runs on one thread (the loop's iterations depend on each other).
    let f = |x: &Array| {
        let step =
            |c: &Array, _: &()| (r(lax::sub(&r(lax::mul(c, &lit(c, 0.5))), &lit(c, 1.0))), ());
        let opts = ScanOptions {
            length: Some(3),
            ..ScanOptions::default()
        };
        r(scan_with(step, x.clone(), (), opts)).0
    };
    let plan = check("big body", f, (ramp(1 << 17, 0.125, -5.0),), &["scan"]);
    assert!(!plan.contains("split"), "{plan}");
}

#[test]
fn constants_inside_loop_bodies_live_as_long_as_the_code() {
    // A jitted function closing over an array, called in a scan body: its constant belongs to
    // the body's sub-program, and the executable keeps it alive after the jaxpr is gone.
    let f = |x: &Array| {
        let table = ramp(1000, 0.5, 1.0);
        let shift = jit(move |c: &Array| r(lax::add(&r(lax::mul(c, &lit(c, 0.5))), &table)));
        let step = |c: &Array, _: &()| (shift.call((c.clone(),)).unwrap(), ());
        let opts = ScanOptions {
            length: Some(3),
            ..ScanOptions::default()
        };
        r(scan_with(step, x.clone(), (), opts)).0
    };
    let x = ramp(1000, -0.25, 2.0);
    let exe = cranax::backend::compile(&make_jaxpr(f).call((x.clone(),)).unwrap()).unwrap();
    // The jaxpr is gone (the interpreter, which caches what it runs, has not seen it); reuse
    // the memory it freed with other values.
    let junk: Vec<Vec<f32>> = (0..64).map(|_| vec![f32::NAN; 1000]).collect();
    let got = exe.run(std::slice::from_ref(&x)).unwrap();
    drop(junk);
    let cj = make_jaxpr(f).call((x.clone(),)).unwrap();
    let want = eval_jaxpr(&cj, std::slice::from_ref(&x)).unwrap();
    assert_eq!(
        got[0].to_vec::<f32>().unwrap(),
        want[0].to_vec::<f32>().unwrap()
    );
    assert!(exe.kernels_summary().contains("scan"));
}

// ---------------------------------------------------------------------------------------------
// cond

fn three_branches(i: &Array, x: &Array) -> Array {
    let b0 = |x: &Array| r(lax::add(x, &lit(x, 1.0)));
    let b1 = |x: &Array| r(lax::mul(x, x));
    let b2 = |x: &Array| r(lax::neg(x));
    r(switch(i, &[&b0, &b1, &b2], x))
}

#[test]
fn cond_and_switch_clamp_the_index() {
    let x = ramp(11, 0.5, -2.0);
    for i in [-5, -1, 0, 1, 2, 3, 9] {
        check(
            &format!("switch {i}"),
            three_branches,
            (Array::scalar(i), x.clone()),
            &["cond"],
        );
    }
    let relu = |x: &Array| {
        let p = r(lax::gt(&r(lax::reduce_sum(x, &[0])), &lit(x, 0.0)));
        r(cond(
            &p,
            |x: &Array| x.clone(),
            |x: &Array| r(lax::mul(x, &lit(x, 0.0))),
            x,
        ))
    };
    check("cond true", relu, (f32s(&[1.0, 2.0]),), &["cond"]);
    check("cond false", relu, (f32s(&[-1.0, 0.5]),), &["cond"]);
}

#[test]
fn the_cond_primitive_clamps_an_index_out_of_range() {
    // `switch` clamps before binding; bound directly, `cond` clamps itself (as JAX's does).
    let branch = |k: f64| {
        make_jaxpr(move |x: &Array| r(lax::add(&r(lax::mul(x, x)), &lit(x, k))))
            .call((f32s(&[0.0; 3]),))
            .unwrap()
    };
    let branches = vec![branch(1.0), branch(2.0), branch(3.0)];
    let f = move |i: &Array, x: &Array| {
        let op = cranax::prims::ControlOp::Cond {
            branches: branches.clone(),
        };
        let prim = cranax::prims::Prim::Control(op);
        r(cranax::core::trace::bind(prim, &[i.clone(), x.clone()])).remove(0)
    };
    let x = f32s(&[0.5, -1.0, 2.0]);
    for (i, k) in [
        (i32::MIN, 1.0f32),
        (-1, 1.0),
        (0, 1.0),
        (1, 2.0),
        (2, 3.0),
        (3, 3.0),
        (i32::MAX, 3.0),
    ] {
        check(
            &format!("cond index {i}"),
            f.clone(),
            (Array::scalar(i), x.clone()),
            &["cond"],
        );
        let y = jit(f.clone()).call((Array::scalar(i), x.clone())).unwrap();
        assert_eq!(
            y.to_vec::<f32>().unwrap(),
            vec![0.25 + k, 1.0 + k, 4.0 + k],
            "index {i}"
        );
    }
}

#[test]
fn cond_inside_scan_and_scan_inside_while() {
    let f = |x: &Array, xs: &Array| {
        r(scan(
            |c: &Array, k: &Array| {
                let next = three_branches(k, c);
                (next.clone(), r(lax::reduce_sum(&next, &[0])))
            },
            x.clone(),
            xs.clone(),
        ))
    };
    let ks = Array::from_slice(&[0i32, 2, 1, 5, -1, 1, 0]);
    let plan = check(
        "cond in scan",
        f,
        (ramp(6, 0.25, -0.5), ks),
        &["scan", "cond"],
    );
    assert!(nested(&plan, "cond ["), "{plan}");

    let g = |x: &Array| {
        r(while_loop(
            |(_, n): &(Array, Array)| r(lax::lt(n, &Array::scalar(4i32))),
            |(v, n): &(Array, Array)| {
                let (v2, _) = r(scan(
                    |c: &Array, w: &Array| {
                        let c2 = r(lax::add(
                            &r(lax::mul(c, &lit(c, 0.5))),
                            &r(lax::broadcast_in_dim(w, c.shape(), &[])),
                        ));
                        (c2, ())
                    },
                    v.clone(),
                    ramp(3, 1.0, 0.0),
                ));
                (v2, r(lax::add(n, &Array::scalar(1i32))))
            },
            (x.clone(), Array::scalar(0i32)),
        ))
    };
    let plan = check("scan in while", g, (ramp(5, 1.0, 0.0),), &["while", "scan"]);
    assert!(nested(&plan, "scan ["), "{plan}");
}

#[test]
fn passthrough_carries_and_repeated_outputs_do_not_alias() {
    // The body returns its input carry unchanged, swaps two carries, and repeats one: each
    // output is written by a copy kernel, never in place.
    let f = |a: &Array, b: &Array| {
        let step = |c: &(Array, Array, Array), _: &()| {
            let (x, y, z) = c;
            (
                (y.clone(), x.clone(), r(lax::add(z, y))),
                (y.clone(), y.clone()),
            )
        };
        let opts = ScanOptions {
            length: Some(5),
            ..ScanOptions::default()
        };
        r(scan_with(step, (a.clone(), b.clone(), a.clone()), (), opts))
    };
    check(
        "swaps",
        f,
        (f32s(&[1.0, 2.0]), f32s(&[10.0, 20.0])),
        &["scan"],
    );
}

// ---------------------------------------------------------------------------------------------
// random programs

/// The loop's value after an exact program (`v` and `x` of the same shape `[a, b]`, `row: [b]`,
/// `col: [a]`), in `v`'s orientation.
fn body(steps: &[ExactStep], v: &Array, x: &Array, row: &Array, col: &Array) -> Array {
    let (out, flipped) = r(apply_exact(steps, v, x, row, col));
    if flipped {
        r(lax::transpose(&out, &[1, 0]))
    } else {
        out
    }
}

/// A loop around random exact bodies.
#[derive(Clone, Debug)]
enum Structure {
    /// scan over `xs` (reversed or not): the carry is the first body's result, the ys the
    /// second body's.
    Scan { reverse: bool },
    /// a while loop running `n` times (a traced counter) on `xs[0]`.
    While { n: i32 },
    /// cond on the sign of `sum(v)` between the two bodies.
    Cond,
    /// a scan whose body is a cond on the step's parity.
    CondInScan,
}

fn structure() -> impl Strategy<Value = Structure> {
    prop_oneof![
        any::<bool>().prop_map(|reverse| Structure::Scan { reverse }),
        (0i32..5).prop_map(|n| Structure::While { n }),
        Just(Structure::Cond),
        Just(Structure::CondInScan),
    ]
}

/// The program: `s` around the bodies `a` and `b`; returns the loop's result and a second
/// value (the ys, or the other body applied once more).
fn run_structure(
    s: &Structure,
    a: &[ExactStep],
    b: &[ExactStep],
    args: [&Array; 4],
) -> (Array, Array) {
    let [v, xs, row, col] = args;
    let ab = [xs.shape()[1], xs.shape()[2]];
    let x0 = r(lax::reshape(
        &r(lax::slice(xs, &[0, 0, 0], &[1, ab[0], ab[1]], None)),
        &ab,
    ));
    let f = |steps: &[ExactStep], c: &Array, x: &Array| body(steps, c, x, row, col);
    let one = Array::scalar(1i32);
    match s {
        Structure::Scan { reverse } => {
            let opts = ScanOptions {
                reverse: *reverse,
                ..ScanOptions::default()
            };
            let step = |c: &Array, x: &Array| {
                let n = f(a, c, x);
                (n.clone(), f(b, &n, x))
            };
            r(scan_with(step, v.clone(), xs.clone(), opts))
        }
        Structure::While { n } => {
            let (out, _) = r(while_loop(
                |(_, i): &(Array, Array)| r(lax::lt(i, &Array::scalar(*n))),
                |(c, i): &(Array, Array)| (f(a, c, &x0), r(lax::add(i, &one))),
                (v.clone(), Array::scalar(0i32)),
            ));
            (out.clone(), f(b, &out, &x0))
        }
        Structure::Cond => {
            let p = r(lax::gt(&r(lax::reduce_sum(v, &[0, 1])), &lit(v, 0.0)));
            let out = r(cond(
                &p,
                |c: &Array| f(a, c, &x0),
                |c: &Array| f(b, c, &x0),
                v,
            ));
            (out.clone(), r(lax::neg(&out)))
        }
        Structure::CondInScan => {
            let step = |c: &(Array, Array), x: &Array| {
                let (v, i) = c;
                let odd = r(lax::eq(&r(lax::and(i, &one)), &one));
                let n = r(cond(
                    &odd,
                    |c: &Array| f(a, c, x),
                    |c: &Array| f(b, c, x),
                    v,
                ));
                ((n.clone(), r(lax::add(i, &one))), n)
            };
            let ((out, _), ys) = r(scan(step, (v.clone(), Array::scalar(0i32)), xs.clone()));
            (out, ys)
        }
    }
}

const EXTENTS: [usize; 8] = [0, 1, 3, 4, 5, 9, 16, 17];

/// `n` values in [-4, 4] on a grid of 1/250 (a linear congruential generator).
fn values(n: usize, seed: u64, dt: DType) -> Array {
    let mut s = seed;
    let v: Vec<f64> = (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) % 2001) as f64 / 250.0 - 4.0
        })
        .collect();
    r(lax::convert_element_type(
        &Array::from_vec(v, &[n]).unwrap(),
        dt,
    ))
}

fn proptest_cases(default: u32) -> u32 {
    std::env::var("CRANAX_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(256), ..ProptestConfig::default() })]

    /// Random exact programs (tests/jit.rs's generator) as the bodies of scan, while and cond
    /// on random shapes: the compiled loop equals the interpreter bit for bit.
    #[test]
    fn random_loops_around_exact_bodies(
        s in structure(),
        a in prop::collection::vec(exact_step(), 0..6),
        b in prop::collection::vec(exact_step(), 0..6),
        len in 1usize..5,
        m in prop::sample::select(EXTENTS.to_vec()),
        n in prop::sample::select(EXTENTS.to_vec()),
        seed in 0u64..1000,
        single in any::<bool>(),
    ) {
        let dt = if single { DType::F32 } else { DType::F64 };
        let v = r(lax::reshape(&values(m * n, seed, dt), &[m, n]));
        let xs = r(lax::reshape(&values(len * m * n, seed + 1, dt), &[len, m, n]));
        let (row, col) = (values(n, seed + 2, dt), values(m, seed + 3, dt));
        let (s2, a2, b2) = (s.clone(), a.clone(), b.clone());
        let f = move |v: &Array, xs: &Array, row: &Array, col: &Array| {
            run_structure(&s2, &a2, &b2, [v, xs, row, col])
        };
        let word = match s {
            Structure::Scan { .. } => "scan",
            Structure::While { .. } => "while",
            Structure::Cond | Structure::CondInScan => "cond",
        };
        check(&format!("{s:?} {a:?} {b:?} [{m}, {n}]"), f, (v, xs, row, col), &[word]);
    }
}

/// Short inner loops of a scan body (issue 16): `Map` kernels of at most four vector steps are
/// emitted as straight-line steps at constant offsets, longer ones and reductions as loops;
/// every width around the boundary (vector steps of 16 f32 and a scalar tail) against the
/// interpreter, bit for bit. The body is an outer-product accumulation `c + y xᵀ` (as in an
/// RNN's weight gradient) and a broadcast row `c[0] * 2 + x`.
#[test]
fn short_inner_loops_at_every_width_around_the_straight_line_bound() {
    for n in [3usize, 4, 16, 20, 32, 47, 48, 63, 64, 65, 80, 96] {
        let f = move |c0: &Array, xs: &Array, ys: &Array| {
            r(scan(
                |c: &Array, (x, y): &(Array, Array)| {
                    let outer = r(lax::mul(
                        &r(lax::broadcast_in_dim(y, &[5, n], &[0])),
                        &r(lax::broadcast_in_dim(x, &[5, n], &[1])),
                    ));
                    let next = r(lax::add(c, &outer));
                    let row = r(lax::slice(c, &[0, 0], &[1, n], None));
                    let row = r(lax::reshape(&row, &[n]));
                    let out = r(lax::add(&r(lax::mul(&row, &lit(&row, 2.0))), x));
                    (next, out)
                },
                c0.clone(),
                (xs.clone(), ys.clone()),
            ))
        };
        let c0 = r(lax::reshape(&ramp(5 * n, 0.125, -1.0), &[5, n]));
        let xs = r(lax::reshape(&ramp(7 * n, 0.25, -2.0), &[7, n]));
        let ys = r(lax::reshape(&ramp(35, 0.5, 1.0), &[7, 5]));
        check(&format!("outer products n={n}"), f, (c0, xs, ys), &["scan"]);
    }
}

/// An RNN's gradient through a scan (`h = clamp(W h + U x, -1, 1)`, h = 64: matrix-vector
/// reductions, a transposed product accumulated row by row and outer-product weight
/// gradients, the last two in straight-line steps) compiled equals the interpreter bit for
/// bit. Small integer weights and inputs and 16 steps keep every sum exact (the workload's
/// `tanh` and real weights round, differently in the compiled reductions' order).
#[test]
fn rnn_gradient_through_a_scan_matches_the_interpreter() {
    let loss = |w: &Array, u: &Array, xs: &Array| {
        let step = |h: &Array, x: &Array| {
            let pre = w.matmul(h) + u.matmul(x);
            let h = r(lax::clamp(&lit(&pre, -1.0), &pre, &lit(&pre, 1.0)));
            let s = h.sum();
            (h, s)
        };
        let h0 = numpy::zeros(&[w.shape()[0]], DType::F32);
        let (h, ys) = r(lax::scan(step, h0, xs.clone()));
        h.sum() + ys.mean()
    };
    let ints = |shape: &[usize], k: usize| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|i| ((i * k) % 5) as f32 - 2.0).collect();
        r(lax::reshape(&f32s(&v), shape))
    };
    let (w, u, xs) = (ints(&[64, 64], 7), ints(&[64, 32], 3), ints(&[16, 32], 11));
    check(
        "rnn gradient",
        grad(loss).argnums((ARG0, ARG1)),
        (w, u, xs),
        &["scan"],
    );
}

// ---------------------------------------------------------------------------------------------
// scan: carry-independent products out of the loop (src/backend/scan_invariants.rs)

/// Small integers of `shape` (every product and sum here stays exact in f32).
fn small_ints(shape: &[usize], k: usize) -> Array {
    let n: usize = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|i| ((i * k + 1) % 5) as f32 - 2.0).collect();
    r(lax::reshape(&f32s(&v), shape))
}

fn dot(x: &Array, y: &Array, c: (&[usize], &[usize]), b: (&[usize], &[usize])) -> Array {
    r(lax::dot_general(
        x,
        y,
        prims::DotGeneral::new(c.0, c.1, b.0, b.1),
    ))
}

/// The number of operands and of results of the plan's (first, outermost) scan kernel.
fn scan_arity(plan: &str) -> (usize, usize) {
    let line = plan
        .lines()
        .find(|l| !l.starts_with(' ') && l.contains(": scan ["))
        .unwrap_or_else(|| panic!("no scan in\n{plan}"));
    let count = |s: &str| s.split(',').count();
    let (ins, outs) = line.split_once("] -> [").expect("scan [..] -> [..]");
    let ins = &ins[ins.find('[').unwrap() + 1..];
    (count(ins), count(&outs[..outs.find(']').unwrap()]))
}

/// `h = clamp(W h + U x)` with ys `x V` (xs on the left) and `x·x` (both xs): `U x`, `x V`
/// and `x·x` are hoisted (3 more xs), `W h` (carry-dependent) stays in the loop.
fn hoistable(
    reverse: bool,
) -> impl Fn(&Array, &Array, &Array, &Array) -> (Array, Array, Array) + Clone {
    move |w: &Array, u: &Array, v: &Array, xs: &Array| {
        let step = |h: &Array, x: &Array| {
            let pre = w.matmul(h) + u.matmul(x);
            let h = r(lax::clamp(&lit(&pre, -4.0), &pre, &lit(&pre, 4.0)));
            let xv = dot(x, v, (&[0], &[0]), (&[], &[]));
            let xx = dot(x, x, (&[0], &[0]), (&[], &[]));
            (h, (xv, xx))
        };
        let h0 = numpy::zeros(&[w.shape()[0]], DType::F32);
        let opts = ScanOptions {
            reverse,
            ..ScanOptions::default()
        };
        let (h, (xv, xx)) = r(scan_with(step, h0, xs.clone(), opts));
        (h, xv, xx)
    }
}

#[test]
fn scan_products_on_consts_and_xs_run_before_the_loop() {
    let (w, u, v) = (
        small_ints(&[8, 8], 7),
        small_ints(&[8, 4], 3),
        small_ints(&[4, 3], 2),
    );
    for len in [0usize, 1, 2, 9] {
        for reverse in [false, true] {
            let xs = small_ints(&[len, 4], 11);
            let what = format!("hoisting, {len} steps, reverse {reverse}");
            let plan = check(
                &what,
                hoistable(reverse),
                (w.clone(), u.clone(), v.clone(), xs),
                &["scan"],
            );
            // W, U, V, h0, xs; the carry and two ys. Hoisted: three more xs; from two steps
            // `W h` reads `Wᵀ`, one more const.
            let want = match len {
                0 => (5, 3),
                1 => (8, 3),
                _ => (9, 3),
            };
            assert_eq!(scan_arity(&plan), want, "{what}\n{plan}");
        }
    }
}

/// Carries `(dW, h, dU)`: `dW += g hᵀ` (g carry-dependent) and `dU = x gᵀ + dU` (the carry on
/// the right) leave the loop; `h = g` stays. `g` becomes a ys (`h` is one already).
type Sunk = ((Array, Array, Array), Array);

fn sinkable(reverse: bool) -> impl Fn(&Array, &Array, &Array) -> Sunk + Clone {
    move |w: &Array, u: &Array, xs: &Array| {
        let step = |c: &(Array, Array, Array), x: &Array| {
            let (dw, h, du) = c;
            let pre = w.matmul(h) + u.matmul(x);
            let g = r(lax::clamp(&lit(&pre, -3.0), &pre, &lit(&pre, 3.0)));
            let dw = r(lax::add(dw, &dot(&g, h, (&[], &[]), (&[], &[]))));
            let du = r(lax::add(&dot(x, &g, (&[], &[]), (&[], &[])), du));
            ((dw, g, du), h.clone())
        };
        let n = w.shape()[0];
        let init = (
            small_ints(&[n, n], 5),
            numpy::ones(&[n], DType::F32),
            r(lax::neg(&numpy::zeros(&[u.shape()[1], n], DType::F32))),
        );
        let opts = ScanOptions {
            reverse,
            ..ScanOptions::default()
        };
        r(scan_with(step, init, xs.clone(), opts))
    }
}

#[test]
fn scan_carries_accumulating_products_leave_the_loop() {
    let (w, u) = (small_ints(&[8, 8], 7), small_ints(&[8, 4], 3));
    for len in [0usize, 1, 2, 9] {
        for reverse in [false, true] {
            let xs = small_ints(&[len, 4], 11);
            let what = format!("sinking, {len} steps, reverse {reverse}");
            let plan = check(
                &what,
                sinkable(reverse),
                (w.clone(), u.clone(), xs),
                &["scan"],
            );
            // W, U, three carries, xs; three carries and one ys. Sunk: two carries out, `g`
            // as a ys, `U x` hoisted; from two steps `W h` reads `Wᵀ`, one more const.
            let want = match len {
                0 => (6, 4),
                1 => (5, 3),
                _ => (6, 3),
            };
            assert_eq!(scan_arity(&plan), want, "{what}\n{plan}");
        }
    }
}

#[test]
fn scan_carries_read_elsewhere_or_in_their_own_product_stay_in_the_loop() {
    let (w, xs) = (small_ints(&[6, 6], 7), small_ints(&[5, 6], 3));
    // The carry is also a ys.
    let read_twice = |w: &Array, xs: &Array| {
        let step = |c: &Array, x: &Array| {
            let wx = w.matmul(x);
            (c + dot(&wx, x, (&[], &[]), (&[], &[])), c.clone())
        };
        r(lax::scan(
            step,
            numpy::zeros(&[6, 6], DType::F32),
            xs.clone(),
        ))
    };
    let plan = check(
        "carry read twice",
        read_twice,
        (w.clone(), xs.clone()),
        &["scan"],
    );
    // W, c, xs (+ `W x` hoisted); one carry, one ys.
    assert_eq!(scan_arity(&plan), (4, 2), "{plan}");
    // The carry is a factor of its own increment.
    let own = |w: &Array, xs: &Array| {
        let step = |c: &Array, x: &Array| {
            let cx = dot(c, x, (&[1], &[0]), (&[], &[]));
            (c + dot(&cx, x, (&[], &[]), (&[], &[])), ())
        };
        r(lax::scan(step, w.clone(), xs.clone())).0
    };
    let plan = check(
        "carry in its own product",
        own,
        (w.clone(), xs.clone()),
        &["scan"],
    );
    assert_eq!(scan_arity(&plan), (2, 1), "{plan}");
    // A step-invariant factor is not stacked: `c + x W` is hoisted, not sunk.
    let invariant = |w: &Array, xs: &Array| {
        let step = |c: &Array, x: &Array| (c + dot(x, w, (&[0], &[0]), (&[], &[])), ());
        r(lax::scan(step, numpy::zeros(&[6], DType::F32), xs.clone())).0
    };
    let plan = check("step-invariant factor", invariant, (w, xs), &["scan"]);
    assert_eq!(scan_arity(&plan), (4, 1), "{plan}");
}

/// Matrix-vector products in a scan body that sum along a const matrix's rows (`W h` and
/// `h Wᵀ`, and `V h` on a non-square const) read the const transposed, one new const per
/// matrix however many products read it; a vector-matrix product (`h W`, already summed
/// along columns), a product with an `xs` (hoisted), one with a single-row const (`R h`) and
/// a one-step scan are left alone.
#[test]
fn scan_products_summing_along_const_rows_read_the_const_transposed() {
    let f = |w: &Array, v: &Array, row: &Array, h0: &Array, xs: &Array| {
        let step = |h: &Array, x: &Array| {
            let wh = dot(w, h, (&[1], &[0]), (&[], &[]));
            let hw_t = dot(h, w, (&[0], &[1]), (&[], &[]));
            let hw = dot(h, w, (&[0], &[0]), (&[], &[]));
            let vh = dot(v, h, (&[1], &[0]), (&[], &[]));
            let vx = dot(v, x, (&[1], &[0]), (&[], &[]));
            let rh = dot(row, h, (&[1], &[0]), (&[], &[]));
            let pre = r(lax::add(&r(lax::sub(&wh, &hw_t)), x));
            let next = r(lax::clamp(&lit(h, -8.0), &pre, &lit(h, 8.0)));
            (next, (hw, vh, vx, rh))
        };
        r(lax::scan(step, h0.clone(), xs.clone()))
    };
    let (w, v, row, h0) = (
        small_ints(&[6, 6], 7),
        small_ints(&[4, 6], 3),
        small_ints(&[1, 6], 2),
        small_ints(&[6], 5),
    );
    for len in [1usize, 2, 7] {
        let xs = small_ints(&[len, 6], 11);
        let what = format!("transposed consts, {len} steps");
        let args = (w.clone(), v.clone(), row.clone(), h0.clone(), xs);
        let plan = check(&what, f, args, &["scan"]);
        // W, V, R, h0, xs and the hoisted `V x`; from two steps `Wᵀ` and `Vᵀ`. One carry,
        // four ys.
        let want = if len == 1 { (6, 5) } else { (8, 5) };
        assert_eq!(scan_arity(&plan), want, "{what}\n{plan}");
    }
}

/// The RNN workload's gradient (`tanh`, real data, 200 steps) compiled against the
/// interpreter: the hoisted and sunk products sum in another order, within f32 rounding.
#[test]
fn rnn_gradient_on_real_data_is_close_to_the_interpreter() {
    let loss = |w: &Array, u: &Array, xs: &Array| {
        let step = |h: &Array, x: &Array| {
            let h = numpy::tanh(&(w.matmul(h) + u.matmul(x)));
            let s = h.sum();
            (h, s)
        };
        let (h, ys) = r(lax::scan(step, numpy::zeros(&[32], DType::F32), xs.clone()));
        h.sum() + ys.mean()
    };
    let key = |i| r(random::split(&random::PRNGKey(3), 3)).at(i);
    let normal = |i, shape: &[usize]| r(random::normal(&key(i), shape, DType::F32));
    let args = (
        normal(0, &[32, 32]) * 0.2,
        normal(1, &[32, 16]) * 0.2,
        normal(2, &[200, 16]),
    );
    let f = grad(loss).argnums((ARG0, ARG1));
    let cj = make_jaxpr(f.clone()).call(args.clone()).unwrap();
    let want = eval_jaxpr(&cj, &args.leaves()).unwrap();
    let got = jit(f).call(args.clone()).unwrap().leaves();
    for (g, w) in got.iter().zip(&want) {
        let (g, w) = (g.to_vec::<f32>().unwrap(), w.to_vec::<f32>().unwrap());
        let scale = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        let err = g
            .iter()
            .zip(&w)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        // 200-term f32 sums: measured 6e-7 of the largest entry; a wrong term is far more.
        assert!(err <= 5e-6 * scale, "error {err} at scale {scale}");
    }
}

/// Hoisted products with batch dims, the steps landing among the free dims (then transposed
/// to the front, in place or as a copy the scan reads): `A mᵢ` (xs on the right) and `mᵢ A`
/// (xs on the left), batched over their first dim.
#[test]
fn hoisted_batched_products_put_the_steps_first() {
    let f = |a: &Array, ms: &Array| {
        let step = |c: &Array, m: &Array| {
            let am = dot(a, m, (&[2], &[1]), (&[0], &[0]));
            let ma = dot(m, a, (&[1], &[2]), (&[0], &[0]));
            let s = r(lax::reduce_sum(&am, &[0, 2]));
            (c + s, (am, ma))
        };
        r(lax::scan(step, numpy::zeros(&[8], DType::F32), ms.clone()))
    };
    let a = small_ints(&[2, 8, 4], 3);
    for len in [1usize, 3] {
        let ms = small_ints(&[len, 2, 4, 3], 7);
        let plan = check("batched hoisting", f, (a.clone(), ms), &["scan"]);
        // A, c, ms and the two hoisted products; the carry and two ys.
        assert_eq!(scan_arity(&plan), (5, 3), "{plan}");
    }
}
