//! Differentiation of control flow (issue 11): JVP, linearize and transpose of `scan`, `cond`
//! and `while`, checked against finite differences (`check_grads`) and closed forms.

use cranax::core::error::or_raise;
use cranax::lax::{scan_with, ScanOptions};
use cranax::numpy as jnp;
use cranax::test_util::{Mode, FWD_REV};
use cranax::*;

fn f64s(data: &[f64], shape: &[usize]) -> Array {
    Array::from_vec(data.to_vec(), shape).unwrap()
}

fn vals(x: &Array) -> Vec<f64> {
    x.to_f64_vec().unwrap()
}

#[track_caller]
fn assert_vals(a: &Array, want: &[f64], tol: f64) {
    let got = vals(a);
    assert_eq!(got.len(), want.len(), "{a:?}");
    for (i, (x, y)) in got.iter().zip(want).enumerate() {
        assert!(
            (x - y).abs() <= tol * (1.0 + y.abs()),
            "element {i}: {x} vs {y}\n got {got:?}\nwant {want:?}"
        );
    }
}

/// Deterministic test data in [-1, 1).
fn data(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

fn cumsum_scan(xs: &Array) -> (Array, Array) {
    or_raise(scan(
        |c: &Array, x: &Array| (c + x, c + x),
        Array::from(0.0f64),
        xs.clone(),
    ))
}

// ---------------------------------------------------------------------------------------------
// scan

#[test]
fn grad_of_a_scan_of_cumulative_sums() {
    // f(x) = sum_k c_k^2 with c = cumsum(x): df/dx_i = 2 sum_{k >= i} c_k.
    let x = [0.5, -1.0, 2.0, 0.25, 1.5];
    let f = |xs: &Array| {
        let (_, cs) = cumsum_scan(xs);
        (&cs * &cs).sum()
    };
    let g = grad(f).call((f64s(&x, &[5]),)).unwrap();
    let c: Vec<f64> = x
        .iter()
        .scan(0.0, |s, v| {
            *s += v;
            Some(*s)
        })
        .collect();
    let want: Vec<f64> = (0..5).map(|i| 2.0 * c[i..].iter().sum::<f64>()).collect();
    assert_vals(&g, &want, 1e-12);
    check_grads(&f, (f64s(&x, &[5]),), 2, FWD_REV).unwrap();
}

#[test]
fn fori_loop_power_derivatives() {
    // x^5 by a fori_loop with concrete bounds (a scan): d/dx = 5 x^4, d2/dx2 = 20 x^3.
    let pow5 = |x: &Array| {
        or_raise(fori_loop(
            0,
            5,
            |_, acc: &Array| acc * x,
            Array::from(1.0f64),
        ))
    };
    let x = 1.3f64;
    let g = grad(pow5).call((Array::from(x),)).unwrap();
    assert_vals(&g, &[5.0 * x.powi(4)], 1e-13);
    let (y, t) = jvp(&pow5, (Array::from(x),), (Array::from(1.0f64),)).unwrap();
    assert_vals(&y, &[x.powi(5)], 1e-13);
    assert_vals(&t, &[5.0 * x.powi(4)], 1e-13);
    let gg = grad(grad(pow5)).call((Array::from(x),)).unwrap();
    assert_vals(&gg, &[20.0 * x.powi(3)], 1e-13);
    check_grads(&pow5, (Array::from(x),), 2, FWD_REV).unwrap();
}

/// An RNN: `h = tanh(W h + U x)` over the rows of `xs`; the loss is the sum of every `h`.
fn rnn(w: &Array, u: &Array, xs: &Array, h0: &Array) -> Array {
    let (h, hs) = or_raise(scan(
        |h: &Array, x: &Array| {
            let h = jnp::tanh(jnp::matmul(w, h) + jnp::matmul(u, x));
            (h.clone(), h)
        },
        h0.clone(),
        xs.clone(),
    ));
    h.sum() + hs.sum()
}

#[test]
fn grad_of_an_rnn_scan_matches_finite_differences() {
    let (d, d_in, t) = (4, 3, 6);
    let w = f64s(&data(d * d, 1), &[d, d]) * 0.5;
    let u = f64s(&data(d * d_in, 2), &[d, d_in]);
    let xs = f64s(&data(t * d_in, 3), &[t, d_in]);
    let h0 = f64s(&data(d, 4), &[d]);
    let f = |w: &Array, u: &Array| rnn(w, u, &xs, &h0);
    check_grads(&f, (w.clone(), u.clone()), 1, &[Mode::Fwd]).unwrap();
    check_grads(&f, (w.clone(), u.clone()), 1, &[Mode::Rev]).unwrap();
    check_grads(&f, (w.clone(), u.clone()), 2, FWD_REV).unwrap();
    check_grads(&f, (w, u), 1, &[Mode::Lin]).unwrap();
}

#[test]
fn grad_of_a_reverse_scan() {
    // Reverse cumulative sum: c_i = sum_{k >= i} x_k; f = sum_i (i + 1) c_i, so
    // df/dx_k = sum_{i <= k} (i + 1).
    let f = |xs: &Array| {
        let opts = ScanOptions {
            reverse: true,
            ..ScanOptions::default()
        };
        let (_, cs) = or_raise(scan_with(
            |c: &Array, x: &Array| (c + x, c + x),
            Array::from(0.0f64),
            xs.clone(),
            opts,
        ));
        (&cs * &jnp::arange(1.0, 5.0, 1.0, DType::F64)).sum()
    };
    let x = f64s(&[0.3, -0.7, 1.1, 2.0], &[4]);
    let g = grad(f).call((x.clone(),)).unwrap();
    assert_vals(&g, &[1.0, 3.0, 6.0, 10.0], 1e-13);
    let sines = |xs: &Array| {
        let opts = ScanOptions {
            reverse: true,
            ..ScanOptions::default()
        };
        let (c, ys) = or_raise(scan_with(
            |c: &Array, x: &Array| (jnp::sin(&(c * x)), c * x),
            Array::from(0.5f64),
            xs.clone(),
            opts,
        ));
        c + (&ys * &ys).sum()
    };
    check_grads(&sines, (x,), 2, FWD_REV).unwrap();
}

#[test]
fn scan_with_several_carries_and_ys() {
    // Carries (a, b), xs (p, q), ys (a * q, b - p, sin(a)); consts closed over (k).
    let k = f64s(&[0.7, -0.2], &[2]);
    let f = |a0: &Array, p: &Array, q: &Array| {
        let ((a, b), (y1, y2, y3)) = or_raise(scan(
            |c: &(Array, Array), x: &(Array, Array)| {
                let (a, b) = c;
                let (p, q) = x;
                let a2 = jnp::sin(a) * &k + b * p;
                let b2 = b + (a * q).sum();
                ((a2, b2), (a * q, b - p, jnp::sin(a)))
            },
            (a0.clone(), Array::from(1.0f64)),
            (p.clone(), q.clone()),
        ));
        a.sum() + b * 2.0 + y1.sum() * y2.sum() + (&y3 * &y3).sum()
    };
    let a0 = f64s(&[0.1, 0.4], &[2]);
    let p = f64s(&data(5, 7), &[5]);
    let q = f64s(&data(10, 8), &[5, 2]);
    check_grads(&f, (a0, p, q), 2, FWD_REV).unwrap();
}

#[test]
fn jacfwd_of_a_scan_with_stacked_outputs() {
    // Running products: y_i = prod_{k <= i} x_k, so dy_i/dx_j = y_i / x_j for j <= i, else 0.
    let f = |xs: &Array| running_products(xs).1;
    let x = [1.5, -0.5, 2.0, 0.8];
    let j = jacfwd(f).call((f64s(&x, &[4]),)).unwrap();
    assert_eq!(j.shape(), &[4, 4]);
    let y: Vec<f64> = x
        .iter()
        .scan(1.0, |p, v| {
            *p *= v;
            Some(*p)
        })
        .collect();
    let want: Vec<f64> = (0..16)
        .map(|ij| {
            let (i, j) = (ij / 4, ij % 4);
            if j <= i {
                y[i] / x[j]
            } else {
                0.0
            }
        })
        .collect();
    assert_vals(&j, &want, 1e-13);
}

#[test]
fn linearize_a_scan_then_apply_it() {
    // cumsum is linear: its linear map at any point is cumsum itself.
    let f = |xs: &Array| cumsum_scan(xs).1;
    let x = f64s(&[1.0, 2.0, 3.0], &[3]);
    let (y, lin) = linearize(&f, (x.clone(),)).unwrap();
    assert_vals(&y, &[1.0, 3.0, 6.0], 0.0);
    let t = lin.jvp((f64s(&[0.5, -1.0, 4.0], &[3]),)).unwrap();
    assert_vals(&t, &[0.5, -0.5, 3.5], 1e-15);
    let (ct,) = lin.vjp(f64s(&[1.0, 1.0, 1.0], &[3])).unwrap();
    assert_vals(&ct, &[3.0, 2.0, 1.0], 1e-15);
    // A nonlinear scan: the linear map against finite differences.
    let g = |xs: &Array| {
        or_raise(scan(
            |c: &Array, x: &Array| (jnp::sin(&(c * x)) + x, c * c),
            Array::from(0.3f64),
            xs.clone(),
        ))
        .1
    };
    check_grads(&g, (x,), 1, &[Mode::Lin]).unwrap();
}

/// The running products of `xs` (a scan): final carry and stacked ys.
fn running_products(xs: &Array) -> (Array, Array) {
    or_raise(scan(
        |c: &Array, x: &Array| (c * x, c * x),
        Array::from(1.0f64),
        xs.clone(),
    ))
}

#[test]
fn hessian_of_a_scan() {
    // f(x) = prod_k x_k: d2f/dx_i dx_j = f / (x_i x_j) for i != j, 0 on the diagonal.
    let f = |x: &Array| running_products(x).0;
    let x = [0.5, -1.2, 0.9, 1.4];
    let h = hessian(f).call((f64s(&x, &[4]),)).unwrap();
    let p: f64 = x.iter().product();
    let want: Vec<f64> = (0..16)
        .map(|ij| {
            let (i, j) = (ij / 4, ij % 4);
            if i == j {
                0.0
            } else {
                p / (x[i] * x[j])
            }
        })
        .collect();
    assert_vals(&h, &want, 1e-13);
}

/// `e_j` of length `n` (f64).
fn unit(n: usize, j: usize) -> Array {
    f64s(&(0..n).map(|k| f64::from(k == j)).collect::<Vec<_>>(), &[n])
}

#[test]
fn jacobian_and_hessian_columns_of_a_scan_by_jvp() {
    // What jacfwd and hessian compute, one basis vector at a time (no vmap): J e_j by jvp of
    // the running products, H e_j by jvp of grad of their product.
    let x = [1.5, -0.5, 2.0, 0.8];
    let p: f64 = x.iter().product();
    let y: Vec<f64> = x
        .iter()
        .scan(1.0, |p, v| {
            *p *= v;
            Some(*p)
        })
        .collect();
    let ys = |xs: &Array| running_products(xs).1;
    let prod = |xs: &Array| running_products(xs).0;
    for j in 0..4 {
        let (_, col) = jvp(&ys, (f64s(&x, &[4]),), (unit(4, j),)).unwrap();
        let want: Vec<f64> = (0..4)
            .map(|i| if j <= i { y[i] / x[j] } else { 0.0 })
            .collect();
        assert_vals(&col, &want, 1e-13);
        let (_, hcol) = jvp(&grad(prod), (f64s(&x, &[4]),), (unit(4, j),)).unwrap();
        let want: Vec<f64> = (0..4)
            .map(|i| if i == j { 0.0 } else { p / (x[i] * x[j]) })
            .collect();
        assert_vals(&hcol, &want, 1e-13);
    }
}

#[test]
fn jit_of_grad_of_a_scan_equals_grad() {
    let f = |xs: &Array| {
        let (c, ys) = cumsum_scan(&jnp::sin(xs));
        c * (&ys * &ys).sum()
    };
    let x = f64s(&data(7, 11), &[7]);
    let g = grad(f).call((x.clone(),)).unwrap();
    let jg = jit(grad(f)).call((x,)).unwrap();
    assert_vals(&jg, &vals(&g), 1e-14);
}

#[test]
fn grad_through_a_scan_does_not_stack_a_loop_invariant_weight() {
    // The RNN workload's shape: 1000 steps with a 64x64 weight. The weight is a residual of
    // the tangent scan once, not 1000 times.
    let (d, t) = (64, 1000);
    let w = Array::zeros(&[d, d], DType::F32);
    let xs = Array::zeros(&[t, d], DType::F32);
    let f = |w: &Array| {
        let (h, _) = or_raise(scan(
            |h: &Array, x: &Array| {
                let h = jnp::tanh(jnp::matmul(w, h) + x);
                (h.clone(), ())
            },
            Array::zeros(&[d], DType::F32),
            xs.clone(),
        ));
        h.sum()
    };
    let text = make_jaxpr(grad(f)).call((w.clone(),)).unwrap().to_string();
    assert!(text.contains("scan["), "{text}");
    assert!(!text.contains("f32[1000,64,64]"), "{text}");
    let (_, lin) = linearize(&f, (w,)).unwrap();
    let lin_text = lin.jaxpr().to_string();
    assert!(!lin_text.contains("f32[1000,64,64]"), "{lin_text}");
    assert!(lin_text.contains("f32[64,64]"), "{lin_text}");
}

#[test]
fn grad_through_a_scan_reads_xs_residuals_from_xs() {
    // d(c x) = dc x + c dx needs the slices of xs: the tangent scan reads xs itself, the
    // primal scan stacks no copy of it (JAX's forwarding in `_scan_partial_eval`).
    let f = |c0: &Array, xs: &Array| {
        or_raise(scan(
            |c: &Array, x: &Array| (c * x, ()),
            c0.clone(),
            xs.clone(),
        ))
        .0
    };
    let xs = f64s(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
    let g = grad(f).call((Array::from(1.5f64), xs.clone())).unwrap();
    assert_vals(&g, &[120.0], 0.0);
    let text = make_jaxpr(grad(f))
        .call((Array::from(1.5f64), xs))
        .unwrap()
        .to_string();
    // The only f64[5] is the input.
    assert_eq!(text.matches("f64[5]").count(), 1, "{text}");
}

// ---------------------------------------------------------------------------------------------
// cond

#[test]
fn grad_of_cond_in_each_branch() {
    let f = |x: &Array| {
        or_raise(cond(
            &jnp::greater(x, 0.0f64),
            |x: &Array| jnp::sin(x) * x,
            |x: &Array| jnp::cos(x),
            x,
        ))
    };
    for x in [0.7f64, -1.3] {
        let g = grad(f).call((Array::from(x),)).unwrap();
        let want = if x > 0.0 {
            x.cos() * x + x.sin()
        } else {
            -x.sin()
        };
        assert_vals(&g, &[want], 1e-14);
        check_grads(&f, (Array::from(x),), 2, FWD_REV).unwrap();
    }
}

#[test]
fn grad_of_switch_in_each_branch() {
    // Branches with different residuals: x^3, exp(y) * x, a constant.
    let f = |i: i32| {
        move |x: &Array, y: &Array| {
            let b0 = |p: &(Array, Array)| &p.0 * &p.0 * &p.0;
            let b1 = |p: &(Array, Array)| jnp::exp(&p.1) * &p.0;
            let b2 = |p: &(Array, Array)| jnp::zeros_like(&p.0) + 2.0;
            or_raise(switch(
                &Array::scalar(i),
                &[&b0, &b1, &b2],
                &(x.clone(), y.clone()),
            ))
        }
    };
    let (x, y) = (1.7f64, -0.4f64);
    let want = [(3.0 * x * x, 0.0), (y.exp(), y.exp() * x), (0.0, 0.0)];
    for (i, (gx, gy)) in want.into_iter().enumerate() {
        let (dx, dy) = grad(f(i as i32))
            .argnums((ARG0, ARG1))
            .call((Array::from(x), Array::from(y)))
            .unwrap();
        assert_vals(&dx, &[gx], 1e-14);
        assert_vals(&dy, &[gy], 1e-14);
        check_grads(&f(i as i32), (Array::from(x), Array::from(y)), 2, FWD_REV).unwrap();
    }
}

#[test]
fn grad_of_a_cond_inside_a_scan() {
    // c = c * x if x > 0 else c + x.
    let f = |c0: &Array, xs: &Array| {
        or_raise(scan(
            |c: &Array, x: &Array| {
                let c = or_raise(cond(
                    &jnp::greater(x, 0.0f64),
                    |(c, x): &(Array, Array)| c * x,
                    |(c, x): &(Array, Array)| c + x,
                    &(c.clone(), x.clone()),
                ));
                (c.clone(), c)
            },
            c0.clone(),
            xs.clone(),
        ))
        .0
    };
    let xs = [0.5, -1.0, 2.0, -0.25];
    // c = ((c0 * 0.5 - 1) * 2 - 0.25): dc/dc0 = 1, dc/dxs = [c0 * 2, 2, c0 * 0.5 - 1, 1].
    let c0 = 1.5;
    let (gc, gx) = grad(f)
        .argnums((ARG0, ARG1))
        .call((Array::from(c0), f64s(&xs, &[4])))
        .unwrap();
    assert_vals(&gc, &[1.0], 1e-14);
    assert_vals(&gx, &[c0 * 2.0, 2.0, c0 * 0.5 - 1.0, 1.0], 1e-14);
    check_grads(&f, (Array::from(c0), f64s(&xs, &[4])), 2, FWD_REV).unwrap();
}

// ---------------------------------------------------------------------------------------------
// while

/// sqrt(a) by Newton's method in a while loop (30 iterations at most).
fn newton_sqrt(a: &Array) -> Array {
    let (_, y) = or_raise(while_loop(
        |(i, y): &(Array, Array)| {
            jnp::logical_and(
                jnp::less(i, 30),
                jnp::greater(jnp::abs(&(y * y - a)), 1e-14),
            )
        },
        |(i, y): &(Array, Array)| (i + &Array::scalar(1i32), (y + &(a / y)) * 0.5),
        (Array::scalar(0i32), a.clone()),
    ));
    y
}

#[test]
fn jvp_through_a_while_newton_sqrt() {
    for a in [2.0f64, 0.3, 9.0] {
        let (y, t) = jvp(&newton_sqrt, (Array::from(a),), (Array::from(1.0f64),)).unwrap();
        assert_vals(&y, &[a.sqrt()], 1e-14);
        assert_vals(&t, &[0.5 / a.sqrt()], 1e-12);
        let (y, lin) = linearize(&newton_sqrt, (Array::from(a),)).unwrap();
        assert_vals(&y, &[a.sqrt()], 1e-14);
        let t = lin.jvp((Array::from(2.0f64),)).unwrap();
        assert_vals(&t, &[1.0 / a.sqrt()], 1e-12);
    }
}

#[test]
fn jvp_through_a_while_whose_carry_tangent_starts_at_zero() {
    // acc starts as a constant (zero tangent) and picks up x's tangent in the body: the
    // fixpoint over carry tangents. x^5: d/dx = 5 x^4.
    let pow5 = |x: &Array| {
        or_raise(while_loop(
            |(i, _): &(Array, Array)| jnp::less(i, 5),
            |(i, acc): &(Array, Array)| (i + &Array::scalar(1i32), acc * x),
            (Array::scalar(0i32), Array::from(1.0f64)),
        ))
        .1
    };
    let x = 1.3f64;
    let (y, t) = jvp(&pow5, (Array::from(x),), (Array::from(1.0f64),)).unwrap();
    assert_vals(&y, &[x.powi(5)], 1e-14);
    assert_vals(&t, &[5.0 * x.powi(4)], 1e-14);
    check_grads(&pow5, (Array::from(x),), 2, &[Mode::Fwd]).unwrap();
}

#[test]
fn jacfwd_through_a_while_newton_sqrt() {
    let f = |a: &Array| {
        let (_, y) = or_raise(while_loop(
            |(i, _): &(Array, Array)| jnp::less(i, 40),
            |(i, y): &(Array, Array)| (i + &Array::scalar(1i32), (y + &(a / y)) * 0.5),
            (Array::scalar(0i32), a.clone()),
        ));
        y
    };
    let a = [2.0, 0.5, 7.0];
    let j = jacfwd(f).call((f64s(&a, &[3]),)).unwrap();
    let want: Vec<f64> = (0..9)
        .map(|ij| {
            if ij / 3 == ij % 3 {
                0.5 / a[ij / 3].sqrt()
            } else {
                0.0
            }
        })
        .collect();
    assert_vals(&j, &want, 1e-12);
}

#[test]
fn grad_through_a_while_is_jax_error() {
    let err = grad(newton_sqrt)
        .call((Array::from(2.0f64),))
        .expect_err("while has no transpose");
    assert_eq!(
        err.to_string(),
        Error::value_err(
            "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic start/stop values. Try using lax.scan, or using fori_loop with static start/stop."
        )
        .to_string()
    );
    // fori_loop with traced bounds (under jit) is a while: the same error, raised while
    // tracing.
    let f = |x: &Array, n: &Array| {
        or_raise(fori_loop(
            Array::scalar(0i32),
            n.clone(),
            |_, acc: &Array| acc * x,
            Array::from(1.0f64),
        ))
    };
    let err = jit(grad(f))
        .call((Array::from(2.0f64), Array::scalar(3i32)))
        .expect_err("while has no transpose");
    assert!(
        err.to_string()
            .contains("Reverse-mode differentiation does not work for lax.while_loop"),
        "{err}"
    );
}
