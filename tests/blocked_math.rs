//! Large fused f32 loops with `exp`, `log`, `log1p`, `tanh`, `logistic`, `sin`, `cos` run in
//! L1-sized blocks through the runtime's wide-vector kernels (backend/emit/blocked.rs). Their
//! results must be those of the inline polynomial bit for bit: a large array's results are
//! compared with the same program compiled at a small (unblocked) shape, chunk by chunk, at
//! sizes that give whole blocks only, blocks and a remainder (a last block that starts early
//! and computes again part of the one before, or, where that would change what is stored, a
//! shorter one), and a loop split across threads; and with the reference interpreter within
//! the jit tests' bounds.

use cranax::backend;
use cranax::numpy as jnp;
use cranax::transform::stage::trace_to_jaxpr;
use cranax::*;

type Prog = fn(&Array) -> Result<Array>;

/// A vmap(grad(tanh))-like chain: 1 - tanh(x)^2 scaled.
fn tanh_grad(x: &Array) -> Result<Array> {
    let t = lax::tanh(x)?;
    let t2 = lax::mul(&t, &t)?;
    let one = Array::scalar(1.0f32);
    lax::mul(&lax::sub(&one, &t2)?, x)
}

/// What `vmap(grad(tanh))` computes: `d + d t`, `d = 1 - t`, `t = tanh(x)` (one block
/// kernel, writing the output directly).
fn grad_tanh(x: &Array) -> Result<Array> {
    let t = lax::tanh(x)?;
    let d = lax::sub(&Array::scalar(1.0f32), &t)?;
    lax::add_any(&d, &lax::mul(&d, &t)?)
}

/// The same with the sum's and the product's operands swapped (the same bits), and `t` also
/// used on its own (the derivative's kernel then writes a block buffer, and tanh has a
/// kernel of its own).
fn grad_tanh_swapped(x: &Array) -> Result<Array> {
    let t = lax::tanh(x)?;
    let d = lax::sub(&Array::scalar(1.0f32), &t)?;
    let dt = lax::add(&lax::mul(&t, &d)?, &d)?;
    lax::add(&dt, &lax::mul(&t, &Array::scalar(0.5f32))?)
}

/// Not tanh's derivative (`d + d t` with `d = 2 - t`): the ordinary blocked tanh.
fn near_grad_tanh(x: &Array) -> Result<Array> {
    let t = lax::tanh(x)?;
    let d = lax::sub(&Array::scalar(2.0f32), &t)?;
    lax::add_any(&d, &lax::mul(&d, &t)?)
}

/// Every blocked function, nested (exp of sin) and side by side, with shared producers.
fn all_fns(x: &Array) -> Result<Array> {
    let a = lax::abs(x)?;
    let s = lax::sin(x)?;
    let e = lax::exp(&lax::mul(&s, &Array::scalar(0.5f32))?)?;
    let l = lax::log(&lax::add(&a, &Array::scalar(1e-3_f32))?)?;
    let l1 = lax::log1p(&a)?;
    let c = lax::cos(&lax::add(x, &e)?)?;
    let g = lax::logistic(x)?;
    let t = lax::tanh(&lax::mul(&l, &l1)?)?;
    let r = lax::add(&lax::mul(&e, &l)?, &lax::sub(&c, &g)?)?;
    lax::add(&r, &lax::mul(&t, x)?)
}

/// Each function alone, on its own input.
fn singles() -> Vec<(&'static str, Prog)> {
    vec![
        ("exp", |x| lax::exp(x)),
        ("log", |x| lax::log(x)),
        ("log1p", |x| lax::log1p(x)),
        ("tanh", |x| lax::tanh(x)),
        ("logistic", |x| lax::logistic(x)),
        ("sin", |x| lax::sin(x)),
        ("cos", |x| lax::cos(x)),
    ]
}

/// Deterministic inputs: special values, then a spread of magnitudes and signs.
fn inputs(n: usize) -> Vec<f32> {
    let specials = [
        0.0f32,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(1),
        f32::MIN_POSITIVE,
        f32::MAX,
        -1.0,
        1e-8,
        88.7,
        -104.5,
        9.2,
    ];
    let mut s: u64 = 0x2545_f491_4f6c_dd1d;
    (0..n)
        .map(|i| {
            if i % 101 < specials.len() {
                return specials[i % 101];
            }
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 40) as f32 / (1u64 << 24) as f32; // [0, 1)
            let mag = 10f32.powf(u * 8.0 - 4.0);
            if s & 1 == 0 {
                mag
            } else {
                -mag
            }
        })
        .collect()
}

fn run(f: Prog, x: &[f32]) -> Vec<u32> {
    let a = Array::from_vec(x.to_vec(), &[x.len()]).unwrap();
    let cj = trace_to_jaxpr(&|v: &[Array]| Ok(vec![f(&v[0])?]), &[a.aval().clone()]).unwrap();
    let exe = backend::compile(&cj).unwrap();
    let out = exe.run(&[a]).unwrap();
    out[0]
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

/// The large shape's results against the small shape's, chunk by chunk (1000 < the blocking
/// threshold, so those run the inline polynomial).
fn check_same_as_inline(name: &str, f: Prog, n: usize) {
    let xs = inputs(n);
    let big = run(f, &xs);
    let mut small = Vec::with_capacity(n);
    let mut chunks = xs.chunks_exact(1000);
    for c in &mut chunks {
        small.extend(run(f, c));
    }
    if !chunks.remainder().is_empty() {
        small.extend(run(f, chunks.remainder()));
    }
    for i in 0..n {
        assert_eq!(
            big[i],
            small[i],
            "{name} n={n}: element {i} (x = {:e}): blocked {:e}, inline {:e}",
            xs[i],
            f32::from_bits(big[i]),
            f32::from_bits(small[i])
        );
    }
}

/// 4096: four whole blocks; 5000: blocks and a shorter last block; 5003: the last block
/// with a scalar tail; 70001: split across threads.
const SIZES: [usize; 4] = [4096, 5000, 5003, 70_001];

#[test]
fn blocked_loops_give_the_inline_bits() {
    for n in SIZES {
        check_same_as_inline("tanh_grad", tanh_grad, n);
        check_same_as_inline("all_fns", all_fns, n);
        check_same_as_inline("grad_tanh", grad_tanh, n);
        check_same_as_inline("grad_tanh_swapped", grad_tanh_swapped, n);
        check_same_as_inline("near_grad_tanh", near_grad_tanh, n);
    }
    for (name, f) in singles() {
        check_same_as_inline(name, f, 5000);
    }
}

/// A blocked function written into a larger array at a dynamic offset (its store has a
/// dynamic term, so its last block is not recomputed from an earlier start but runs short,
/// with a scalar tail at 5003) gives the inline bits there and leaves the rest alone.
#[test]
fn blocked_loops_store_at_dynamic_offsets() {
    for n in [5000, 5003] {
        let xs = inputs(n);
        let x = Array::from_vec(xs.clone(), &[n]).unwrap();
        let big = Array::from_vec(vec![7.0f32; n + 40], &[n + 40]).unwrap();
        let at = 17;
        let prog = |v: &[Array]| {
            Ok(vec![lax::dynamic_update_slice(
                &v[0],
                &all_fns(&v[1])?,
                &[v[2].clone()],
            )?])
        };
        let args = [big, x, Array::scalar(at as i32)];
        let avals: Vec<Aval> = args.iter().map(|a| a.aval().clone()).collect();
        let cj = trace_to_jaxpr(&prog, &avals).unwrap();
        let got = backend::compile(&cj).unwrap().run(&args).unwrap()[0]
            .to_vec::<f32>()
            .unwrap();
        let inline: Vec<u32> = xs.chunks(1000).flat_map(|c| run(all_fns, c)).collect();
        for (i, g) in got.iter().enumerate() {
            let want = match i.checked_sub(at) {
                Some(j) if j < n => inline[j],
                _ => 7.0f32.to_bits(),
            };
            assert_eq!(
                g.to_bits(),
                want,
                "n={n}: element {i}: {g:e}, want {:e}",
                f32::from_bits(want)
            );
        }
    }
}

/// `f` applied to a view of the input: `x[3:]` (read in place from an offset), `x[::-1]`
/// and `x[::2]` (not contiguous: copied into the block buffer first).
fn views() -> Vec<(&'static str, Prog)> {
    vec![
        ("offset", |x| {
            let n = x.shape()[0];
            lax::slice(x, &[3], &[n], None)
        }),
        ("reversed", |x| lax::rev(x, &[0])),
        ("strided", |x| {
            let n = x.shape()[0];
            lax::slice(x, &[0], &[n], Some(&[2]))
        }),
    ]
}

/// A blocked function of a view gives the bits of the inline function of the view's values.
#[test]
fn blocked_loops_read_views_of_their_inputs() {
    for n in [9000, 9011] {
        let xs = inputs(n);
        let a = Array::from_vec(xs.clone(), &[n]).unwrap();
        for (view_name, view) in views() {
            let viewed = view(&a).unwrap().to_vec::<f32>().unwrap();
            let progs = [
                ("tanh_grad", tanh_grad as Prog),
                ("all_fns", all_fns),
                ("grad_tanh", grad_tanh),
            ];
            for (name, f) in progs {
                let prog = |v: &[Array]| Ok(vec![f(&view(&v[0])?)?]);
                let cj = trace_to_jaxpr(&prog, &[a.aval().clone()]).unwrap();
                let out = backend::compile(&cj).unwrap().run(std::slice::from_ref(&a));
                let big: Vec<u32> = out.unwrap()[0]
                    .to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                let small: Vec<u32> = viewed.chunks(1000).flat_map(|c| run(f, c)).collect();
                assert_eq!(big.len(), small.len());
                for i in 0..big.len() {
                    assert_eq!(
                        big[i],
                        small[i],
                        "{name} of {view_name} n={n}: element {i}: blocked {:e}, inline {:e}",
                        f32::from_bits(big[i]),
                        f32::from_bits(small[i])
                    );
                }
            }
        }
    }
}

#[test]
fn blocked_loops_match_the_interpreter() {
    let xs = inputs(9000);
    let a = Array::from_vec(xs.clone(), &[xs.len()]).unwrap();
    for (name, f) in singles() {
        let cj = trace_to_jaxpr(&|v: &[Array]| Ok(vec![f(&v[0])?]), &[a.aval().clone()]).unwrap();
        let want = eval_jaxpr(&cj, std::slice::from_ref(&a)).unwrap()[0]
            .to_vec::<f32>()
            .unwrap();
        let got = backend::compile(&cj)
            .unwrap()
            .run(std::slice::from_ref(&a))
            .unwrap()[0]
            .to_vec::<f32>()
            .unwrap();
        for i in 0..xs.len() {
            // sin and cos hold their bound for |x| <= 1e5 (no Payne-Hanek; backend/math).
            if matches!(name, "sin" | "cos") && xs[i].abs() > 1e5 {
                continue;
            }
            let (g, w) = (got[i], want[i]);
            let ok = (g.is_nan() && w.is_nan())
                || g == w
                || (g.is_finite()
                    && w.is_finite()
                    && (g.to_bits() as i64 - w.to_bits() as i64).unsigned_abs() <= 4);
            assert!(ok, "{name}: x = {:e}: jit {g:e}, interpreter {w:e}", xs[i]);
        }
    }
}

/// A blockable op whose value an earlier kernel materialised (the hidden layer's tanh of an
/// MLP, written after its gemm and read back by the backward pass) is loaded, not recomputed:
/// the gradient of `mean((tanh(x W1 + b1) W2 + b2 - y)^2)` with 32 x 256 = 8192 hidden units
/// compiles (it once hit an unreachable arm) and matches eager evaluation.
#[test]
fn blocked_kernels_read_materialised_unary_values() {
    let input = |r: usize, c: usize, s: f32| {
        let v: Vec<f32> = (0..r * c).map(|k| ((k as f32) * s).sin() * 0.1).collect();
        Array::from_vec(v, &[r, c]).unwrap()
    };
    let (x, y) = (input(32, 64, 0.37), input(32, 10, 0.23));
    let (w1, w2) = (input(64, 256, 0.11), input(256, 10, 0.07));
    let (b1, b2) = (input(1, 256, 0.5), input(1, 10, 0.3));
    let loss = |w1: &Array, b1: &Array, w2: &Array, b2: &Array, x: &Array, y: &Array| {
        let h = jnp::tanh(jnp::matmul(x, w1) + b1);
        let d = jnp::matmul(&h, w2) + b2 - y;
        jnp::mean(&(&d * &d), None, false)
    };
    let args = (w1, b1, w2, b2, x, y);
    let g = || grad(loss).argnums((ARG0, ARG1, ARG2, ARG3));
    let eager = g().call(args.clone()).unwrap();
    let compiled = jit(g()).call(args).unwrap();
    let pairs = [
        (&eager.0, &compiled.0),
        (&eager.1, &compiled.1),
        (&eager.2, &compiled.2),
        (&eager.3, &compiled.3),
    ];
    for (i, (e, c)) in pairs.into_iter().enumerate() {
        let (e, c) = (e.to_vec::<f32>().unwrap(), c.to_vec::<f32>().unwrap());
        for (k, (a, b)) in e.iter().zip(&c).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                "grad {i}[{k}]: eager {a}, jit {b}"
            );
        }
    }
}
