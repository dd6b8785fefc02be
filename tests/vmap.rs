//! vmap (issue 4): every primitive's batching rule against a loop over examples, with the batch
//! axis first, last and in the middle and with operands unbatched; nested vmap; out_axes;
//! axis_size; per-example gradients; the seed's vmap(grad(tanh)); composition with jvp, grad,
//! jacfwd and jacrev; errors that name the arguments and sizes.

use cranax::core::error::raise;
use cranax::lax;
use cranax::lax::RoundingMethod;
use cranax::numpy as jnp;
use cranax::prims::DotGeneral;
use cranax::test_util::FWD_REV;
use cranax::*;
use proptest::prelude::*;

#[path = "support/programs.rs"]
mod programs;

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;
use jax_data::{arr, load};

// ---------------------------------------------------------------------------------------------
// helpers

fn ok<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => raise(e),
    }
}

fn f32s(data: &[f32], shape: &[usize]) -> Array {
    Array::from_vec(data.to_vec(), shape).unwrap()
}

fn f64s(data: &[f64], shape: &[usize]) -> Array {
    Array::from_vec(data.to_vec(), shape).unwrap()
}

fn i32s(data: &[i32], shape: &[usize]) -> Array {
    Array::from_vec(data.to_vec(), shape).unwrap()
}

fn vals(x: &Array) -> Vec<f64> {
    x.to_f64_vec().unwrap()
}

/// Distinct, kink-free values in [lo, hi) of a shape, varying with `seed`.
fn spread(shape: &[usize], lo: f64, hi: f64, seed: usize) -> Array {
    let n: usize = shape.iter().product();
    let phi = 0.618_033_988_749_895_f64;
    let data: Vec<f32> = (0..n)
        .map(|k| (lo + (hi - lo) * (((k + 1 + 7 * seed) as f64 * phi).fract())) as f32)
        .collect();
    f32s(&data, shape)
}

/// Same dtype, shape, and values within `rtol` for floats (exact for integers and bools).
#[track_caller]
fn assert_same(got: &Array, want: &Array, rtol: f64, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(
        got.shape(),
        want.shape(),
        "{what}: shape\n got {got}\nwant {want}"
    );
    let exact = !want.dtype().is_float();
    for (i, (a, b)) in vals(got).iter().zip(vals(want)).enumerate() {
        let close = if exact {
            *a == b
        } else {
            (a.is_nan() && b.is_nan()) || (a - b).abs() <= rtol * (1.0 + b.abs())
        };
        assert!(
            close,
            "{what}: element {i}: {a} vs {b}\n got {got}\nwant {want}"
        );
    }
}

/// `xs` stacked along a new axis `axis` (eagerly).
fn stack(xs: &[Array], axis: usize) -> Array {
    let expanded: Vec<Array> = xs
        .iter()
        .map(|x| lax::expand_dims(x, axis).unwrap())
        .collect();
    lax::concatenate(&expanded, axis).unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. The seed: make_jaxpr(vmap(grad(tanh))) and its values.

const SEED_X: [f32; 5] = [0.9066547, -0.9453376, 0.08205657, -1.8436362, 0.45950902];

#[test]
fn seed_vmap_grad_tanh_jaxpr_and_values() {
    let activate = |x: &Array| jnp::tanh(x);
    let x = f32s(&SEED_X, &[5]);
    let jaxpr = make_jaxpr(vmap(grad(activate))).call((x.clone(),)).unwrap();
    assert_eq!(
        format!("{jaxpr}"),
        "{ lambda ; a:f32[5]. let\n    b:f32[5] = tanh a\n    c:f32[5] = sub 1.0 b\n    d:f32[5] = mul 1.0 c\n    e:f32[5] = mul d b\n    f:f32[5] = add_any d e\n  in (f,) }"
    );
    let g = vmap(grad(activate)).call((x,)).unwrap();
    let want = [0.482287, 0.45585027, 0.99329686, 0.09532695, 0.8153717];
    for (a, b) in vals(&g).iter().zip(want) {
        assert!((a - b).abs() <= 1e-6, "{g}");
    }
    // The seed's finite-difference check of the same function (without jit), and to order 2.
    let x = f32s(&SEED_X, &[5]);
    check_grads(&vmap(grad(activate)), (x.clone(),), 1, FWD_REV).unwrap();
    check_grads(&vmap(grad(activate)), (x.clone(),), 2, FWD_REV).unwrap();
    // JAX's own values for the same input (tests/data/jax_autodiff.json), f32 and f64.
    let data = load("jax_autodiff.json");
    for dtype in ["f32", "f64"] {
        let case = &data[dtype]["vmap_grad_tanh"];
        let x = arr(&case["inputs"]["x"]);
        let g = vmap(grad(activate)).call((x,)).unwrap();
        let tol = if dtype == "f32" { 1e-6 } else { 1e-14 };
        assert_same(&g, &arr(&case["outputs"]["output"]), tol, dtype);
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Every primitive: vmap(f)(xs) equals stacking f(x) over the examples.

type Prim = Box<dyn Fn(&[Array]) -> Vec<Array>>;
type Examples = Box<dyn Fn(usize) -> Vec<Array>>;

/// A primitive applied to its operands (all of them, integer ones too: indices, predicates
/// and start positions are batched like the rest), and the operands of example `b`.
struct Row {
    name: &'static str,
    f: Prim,
    example: Examples,
}

fn row(
    name: &'static str,
    example: impl Fn(usize) -> Vec<Array> + 'static,
    f: impl Fn(&[Array]) -> Vec<Array> + 'static,
) -> Row {
    Row {
        name,
        f: Box::new(f),
        example: Box::new(example),
    }
}

fn one(r: Result<Array>) -> Vec<Array> {
    vec![ok(r)]
}

fn unary(name: &'static str, lo: f64, hi: f64, op: fn(&Array) -> Result<Array>) -> Row {
    row(
        name,
        move |b| vec![spread(&[2, 3], lo, hi, b)],
        move |a| one(op(&a[0])),
    )
}

fn binary(name: &'static str, op: fn(&Array, &Array) -> Result<Array>) -> Row {
    row(
        name,
        |b| {
            vec![
                spread(&[2, 3], -2.0, 2.0, b),
                spread(&[2, 3], -2.0, 2.0, b + 10),
            ]
        },
        move |a| one(op(&a[0], &a[1])),
    )
}

fn int_binary(name: &'static str, op: fn(&Array, &Array) -> Result<Array>) -> Row {
    row(
        name,
        |b| {
            let b = b as i32;
            vec![
                i32s(&[1 + b, -7, 12 * b, 5, 0, 3], &[2, 3]),
                i32s(&[3, 2 + b, 1, 4 - b, 7, 2], &[2, 3]),
            ]
        },
        move |a| one(op(&a[0], &a[1])),
    )
}

fn dims(lc: &[usize], rc: &[usize], lb: &[usize], rb: &[usize]) -> DotGeneral {
    DotGeneral::new(lc, rc, lb, rb)
}

fn rows() -> Vec<Row> {
    vec![
        unary("neg", -2.0, 2.0, lax::neg),
        unary("exp", -2.0, 2.0, lax::exp),
        unary("log", 0.1, 4.0, lax::log),
        unary("log1p", -0.5, 3.0, lax::log1p),
        unary("expm1", -2.0, 2.0, lax::expm1),
        unary("sin", -3.0, 3.0, lax::sin),
        unary("cos", -3.0, 3.0, lax::cos),
        unary("tanh", -3.0, 3.0, lax::tanh),
        unary("logistic", -3.0, 3.0, lax::logistic),
        unary("sqrt", 0.1, 4.0, lax::sqrt),
        unary("rsqrt", 0.1, 4.0, lax::rsqrt),
        unary("abs", -2.0, 2.0, lax::abs),
        unary("sign", -2.0, 2.0, lax::sign),
        unary("square", -2.0, 2.0, lax::square),
        unary("erf_inv", -0.9, 0.9, lax::erf_inv),
        unary("stop_gradient", -2.0, 2.0, lax::stop_gradient),
        unary("floor", -3.0, 3.0, lax::floor),
        unary("ceil", -3.0, 3.0, lax::ceil),
        row(
            "round (to nearest even)",
            |b| vec![spread(&[2, 3], -3.0, 3.0, b)],
            |a| one(lax::round(&a[0], RoundingMethod::ToNearestEven)),
        ),
        row(
            "round (away from zero)",
            |b| vec![spread(&[2, 3], -3.0, 3.0, b)],
            |a| one(lax::round(&a[0], RoundingMethod::AwayFromZero)),
        ),
        unary("is_finite", -3.0, 3.0, lax::is_finite),
        unary("exp2", -3.0, 3.0, lax::exp2),
        unary("tan", -1.2, 1.2, lax::tan),
        unary("asin", -0.9, 0.9, lax::asin),
        unary("acos", -0.9, 0.9, lax::acos),
        unary("atan", -3.0, 3.0, lax::atan),
        unary("sinh", -3.0, 3.0, lax::sinh),
        unary("cosh", -3.0, 3.0, lax::cosh),
        unary("asinh", -3.0, 3.0, lax::asinh),
        unary("acosh", 1.1, 4.0, lax::acosh),
        unary("atanh", -0.9, 0.9, lax::atanh),
        unary("cbrt", -3.0, 3.0, lax::cbrt),
        unary("erf", -3.0, 3.0, lax::erf),
        unary("erfc", -3.0, 3.0, lax::erfc),
        unary("lgamma", 0.1, 6.0, lax::lgamma),
        unary("digamma", 0.1, 6.0, lax::digamma),
        row(
            "population_count",
            |b| vec![i32s(&[b as i32, -1, 7, 0], &[4])],
            |a| one(lax::population_count(&a[0])),
        ),
        row(
            "clz",
            |b| vec![i32s(&[b as i32, -1, 7, 0], &[4])],
            |a| one(lax::clz(&a[0])),
        ),
        row(
            "integer_pow",
            |b| vec![spread(&[2, 3], -2.0, 2.0, b)],
            |a| one(lax::integer_pow(&a[0], 3)),
        ),
        row(
            "not (int32)",
            |b| vec![i32s(&[b as i32, -1, 7, 0], &[4])],
            |a| one(lax::not(&a[0])),
        ),
        row(
            "not (bool)",
            |b| vec![Array::from_vec(vec![b % 2 == 0, true, false], &[3]).unwrap()],
            |a| one(lax::not(&a[0])),
        ),
        row(
            "convert_element_type f32 -> int32",
            |b| vec![spread(&[2, 3], -9.0, 9.0, b)],
            |a| one(lax::convert_element_type(&a[0], DType::I32)),
        ),
        row(
            "bitcast_convert_type f32 -> uint32",
            |b| vec![spread(&[3], -9.0, 9.0, b)],
            |a| one(lax::bitcast_convert_type(&a[0], DType::U32)),
        ),
        binary("add", lax::add),
        binary("add_any", lax::add_any),
        binary("sub", lax::sub),
        binary("mul", lax::mul),
        binary("div", lax::div),
        row(
            "pow",
            |b| {
                vec![
                    spread(&[2, 3], 0.1, 3.0, b),
                    spread(&[2, 3], -2.0, 2.0, b + 3),
                ]
            },
            |a| one(lax::pow(&a[0], &a[1])),
        ),
        binary("max", lax::max),
        binary("min", lax::min),
        binary("eq", lax::eq),
        binary("ne", lax::ne),
        binary("lt", lax::lt),
        binary("le", lax::le),
        binary("gt", lax::gt),
        binary("ge", lax::ge),
        int_binary("add (int32)", lax::add),
        int_binary("div (int32)", lax::div),
        int_binary("and", lax::and),
        int_binary("or", lax::or),
        int_binary("xor", lax::xor),
        int_binary("shift_left", lax::shift_left),
        int_binary("shift_right_logical", lax::shift_right_logical),
        int_binary("shift_right_arithmetic", lax::shift_right_arithmetic),
        int_binary("rem (int32)", lax::rem),
        binary("atan2", lax::atan2),
        binary("rem", lax::rem),
        binary("nextafter", lax::nextafter),
        row(
            "polygamma",
            |b| {
                vec![
                    Array::from_vec(vec![0.0f32, 1.0, 2.0, 1.0, 3.0, 0.0], &[2, 3]).unwrap(),
                    spread(&[2, 3], 0.2, 4.0, b),
                ]
            },
            |a| one(lax::polygamma(&a[0], &a[1])),
        ),
        // A rank-0 operand broadcasts against the other (lax's scalar rule).
        row(
            "mul by a rank-0 operand",
            |b| vec![spread(&[2, 3], -2.0, 2.0, b), spread(&[], -2.0, 2.0, b + 5)],
            |a| one(lax::mul(&a[0], &a[1])),
        ),
        row(
            "sub from a rank-0 operand",
            |b| vec![spread(&[], -2.0, 2.0, b + 5), spread(&[4], -2.0, 2.0, b)],
            |a| one(lax::sub(&a[0], &a[1])),
        ),
        row(
            "select_n (bool)",
            |b| {
                vec![
                    Array::from_vec(vec![b == 1, true, false, b != 2], &[4]).unwrap(),
                    spread(&[4], -2.0, 2.0, b),
                    spread(&[4], -2.0, 2.0, b + 4),
                ]
            },
            |a| one(lax::select_n(&a[0], &a[1..])),
        ),
        row(
            "select_n (rank-0 predicate)",
            |b| {
                vec![
                    Array::scalar(b % 2 == 1),
                    spread(&[2, 2], -2.0, 2.0, b),
                    spread(&[2, 2], -2.0, 2.0, b + 4),
                ]
            },
            |a| one(lax::select_n(&a[0], &a[1..])),
        ),
        row(
            "select_n (int32, three cases)",
            |b| {
                vec![
                    i32s(&[(b % 3) as i32, 2, 1, 0], &[4]),
                    spread(&[4], -2.0, 2.0, b),
                    spread(&[4], -2.0, 2.0, b + 4),
                    spread(&[4], -2.0, 2.0, b + 8),
                ]
            },
            |a| one(lax::select_n(&a[0], &a[1..])),
        ),
        row(
            "reduce_sum axes=(1,)",
            |b| vec![spread(&[2, 3, 4], -2.0, 2.0, b)],
            |a| one(lax::reduce_sum(&a[0], &[1])),
        ),
        row(
            "reduce_sum axes=(0, 2)",
            |b| vec![spread(&[2, 3, 4], -2.0, 2.0, b)],
            |a| one(lax::reduce_sum(&a[0], &[0, 2])),
        ),
        row(
            "reduce_max axes=(0,)",
            |b| vec![spread(&[3, 4], -2.0, 2.0, b)],
            |a| one(lax::reduce_max(&a[0], &[0])),
        ),
        row(
            "reduce_prod axes=(0,)",
            |b| vec![spread(&[3, 4], -2.0, 2.0, b)],
            |a| one(lax::reduce_prod(&a[0], &[0])),
        ),
        row(
            "jnp.var(ddof=1) axis 1, jnp.nanmax axis 0, jnp.all axis 1",
            |b| vec![spread(&[3, 4], -2.0, 2.0, b)],
            |a| {
                let x = &a[0];
                let with_nan = jnp::where_(jnp::greater(x, 1.5), f64::NAN, x);
                vec![
                    jnp::var(x, Some(&[1]), 1, false),
                    jnp::nanmax(&with_nan, Some(&[0]), false),
                    jnp::all(jnp::greater(x, -1.0), Some(&[1]), false),
                    jnp::prod(x, Some(&[0]), true),
                ]
            },
        ),
        row(
            "cumsum, cumprod, cummax, cumlogsumexp axis 1",
            |b| vec![spread(&[3, 4], -2.0, 2.0, b)],
            |a| {
                let x = &a[0];
                vec![
                    lax::cumsum(x, 1, false).unwrap(),
                    lax::cumprod(x, 0, true).unwrap(),
                    lax::cummax(x, 1, true).unwrap(),
                    lax::cumlogsumexp(x, 1, false).unwrap(),
                    jnp::cumsum(x, None),
                ]
            },
        ),
        row(
            "sort, argsort, top_k, median, searchsorted",
            |b| vec![spread(&[3, 4], -2.0, 2.0, b)],
            |a| {
                let x = &a[0];
                let grid = Array::from_vec(vec![-1.0, 0.0, 0.5, 1.5], &[4]).unwrap();
                let grid = jnp::astype(&grid, x.dtype());
                vec![
                    jnp::sort(x, Some(0), false),
                    jnp::argsort(x, Some(1), true),
                    lax::top_k(x, 2).unwrap().1,
                    jnp::median(x, Some(1), false),
                    jnp::searchsorted(&grid, jnp::reshape(x, &[-1]), "right"),
                ]
            },
        ),
        row(
            "reduce_min axes=(1,)",
            |b| vec![spread(&[3, 4], -2.0, 2.0, b)],
            |a| one(lax::reduce_min(&a[0], &[1])),
        ),
        row(
            "argmax axis=1",
            |b| vec![spread(&[3, 4], -2.0, 2.0, b)],
            |a| one(lax::argmax(&a[0], 1, DType::I32)),
        ),
        row(
            "argmin axis=0",
            |b| vec![spread(&[3, 4], -2.0, 2.0, b)],
            |a| one(lax::argmin(&a[0], 0, DType::I32)),
        ),
        row(
            "broadcast_in_dim (3,) -> (2, 3)",
            |b| vec![spread(&[3], -2.0, 2.0, b)],
            |a| one(lax::broadcast_in_dim(&a[0], &[2, 3], &[1])),
        ),
        row(
            "broadcast_in_dim (3, 1) -> (2, 3, 4)",
            |b| vec![spread(&[3, 1], -2.0, 2.0, b)],
            |a| one(lax::broadcast_in_dim(&a[0], &[2, 3, 4], &[1, 2])),
        ),
        row(
            "broadcast_in_dim () -> (2, 2)",
            |b| vec![spread(&[], -2.0, 2.0, b)],
            |a| one(lax::broadcast_in_dim(&a[0], &[2, 2], &[])),
        ),
        row(
            "reshape",
            |b| vec![spread(&[2, 3, 2], -2.0, 2.0, b)],
            |a| one(lax::reshape(&a[0], &[3, 4])),
        ),
        row(
            "transpose",
            |b| vec![spread(&[2, 3, 4], -2.0, 2.0, b)],
            |a| one(lax::transpose(&a[0], &[2, 0, 1])),
        ),
        row(
            "squeeze",
            |b| vec![spread(&[2, 1, 3, 1], -2.0, 2.0, b)],
            |a| one(lax::squeeze(&a[0], &[1, 3])),
        ),
        row(
            "concatenate",
            |b| {
                vec![
                    spread(&[2, 3], -2.0, 2.0, b),
                    spread(&[2, 1], -2.0, 2.0, b + 3),
                    spread(&[2, 2], -2.0, 2.0, b + 6),
                ]
            },
            |a| one(lax::concatenate(a, 1)),
        ),
        row(
            "pad",
            |b| vec![spread(&[2, 3], -2.0, 2.0, b), spread(&[], -2.0, 2.0, b + 9)],
            |a| one(lax::pad(&a[0], &a[1], &[(1, 0, 1), (0, 2, 2)])),
        ),
        row(
            "slice",
            |b| vec![spread(&[4, 5], -2.0, 2.0, b)],
            |a| one(lax::slice(&a[0], &[1, 0], &[4, 5], None)),
        ),
        row(
            "slice with strides",
            |b| vec![spread(&[5, 6], -2.0, 2.0, b)],
            |a| one(lax::slice(&a[0], &[0, 1], &[5, 6], Some(&[2, 3]))),
        ),
        row(
            "dynamic_slice",
            |b| {
                vec![
                    spread(&[4, 5], -2.0, 2.0, b),
                    Array::scalar(b as i32),
                    Array::scalar(3 - 2 * b as i32),
                ]
            },
            |a| one(lax::dynamic_slice(&a[0], &a[1..], &[2, 3])),
        ),
        row(
            "dynamic_update_slice",
            |b| {
                vec![
                    spread(&[4, 5], -2.0, 2.0, b),
                    spread(&[2, 2], -2.0, 2.0, b + 5),
                    Array::scalar(2 - b as i32),
                    Array::scalar(1 + 2 * b as i32),
                ]
            },
            |a| one(lax::dynamic_update_slice(&a[0], &a[1], &a[2..])),
        ),
        row(
            "gather axis=0",
            |b| {
                let b = b as i32;
                vec![
                    spread(&[4, 3], -2.0, 2.0, b as usize),
                    i32s(&[2, b, 3, 0, b + 1], &[5]),
                ]
            },
            |a| one(lax::take_clamped(&a[0], &a[1], 0)),
        ),
        row(
            "gather axis=1, 2-d indices",
            |b| {
                let b = b as i32;
                vec![
                    spread(&[2, 4, 3], -2.0, 2.0, b as usize),
                    i32s(&[3, b, 1, 0], &[2, 2]),
                ]
            },
            |a| one(lax::take_clamped(&a[0], &a[1], 1)),
        ),
        row(
            "scatter-add",
            |b| {
                let b = b as i32;
                vec![
                    spread(&[4, 3], -2.0, 2.0, b as usize),
                    i32s(&[1, 3 - b, 1], &[3]),
                    spread(&[3, 3], -2.0, 2.0, b as usize + 7),
                ]
            },
            |a| one(lax::scatter_add_clamped(&a[0], &a[1], &a[2], 0)),
        ),
        row(
            "iota (unbatched) plus an operand",
            |b| vec![spread(&[2, 3], -2.0, 2.0, b)],
            |a| one(lax::iota(DType::F32, &[2, 3], 1).and_then(|i| lax::add(&i, &a[0]))),
        ),
        row(
            "dot_general matmul",
            |b| {
                vec![
                    spread(&[2, 3], -1.0, 1.0, b),
                    spread(&[3, 4], -1.0, 1.0, b + 3),
                ]
            },
            |a| one(lax::dot_general(&a[0], &a[1], DotGeneral::contract(1, 0))),
        ),
        row(
            "dot_general batched",
            |b| {
                vec![
                    spread(&[2, 3, 4], -1.0, 1.0, b),
                    spread(&[2, 4, 2], -1.0, 1.0, b + 3),
                ]
            },
            |a| one(lax::dot_general(&a[0], &a[1], dims(&[2], &[1], &[0], &[0]))),
        ),
        row(
            "dot_general odd axes",
            |b| {
                vec![
                    spread(&[3, 2, 4], -1.0, 1.0, b),
                    spread(&[4, 5, 3], -1.0, 1.0, b + 3),
                ]
            },
            |a| {
                one(lax::dot_general(
                    &a[0],
                    &a[1],
                    dims(&[2, 0], &[0, 2], &[], &[]),
                ))
            },
        ),
        row(
            "dot_general batch not leading",
            |b| {
                vec![
                    spread(&[3, 2, 4], -1.0, 1.0, b),
                    spread(&[4, 2], -1.0, 1.0, b + 3),
                ]
            },
            |a| one(lax::dot_general(&a[0], &a[1], dims(&[2], &[0], &[1], &[1]))),
        ),
        row(
            "dot_general vector dot",
            |b| vec![spread(&[5], -1.0, 1.0, b), spread(&[5], -1.0, 1.0, b + 3)],
            |a| one(lax::dot_general(&a[0], &a[1], DotGeneral::contract(0, 0))),
        ),
        row(
            "threefry2x32",
            |b| {
                let b = b as u32;
                let u = |v: &[u32]| Array::from_vec(v.to_vec(), &[3]).unwrap();
                vec![
                    u(&[b, 7, 1234]),
                    u(&[42, b * 3, 0]),
                    u(&[0, 1, 2 + b]),
                    u(&[9, 8, 7]),
                ]
            },
            |a| {
                let (y0, y1) = ok(lax::threefry2x32(&a[0], &a[1], &a[2], &a[3]));
                vec![y0, y1]
            },
        ),
        row(
            "custom_jvp_call",
            |b| vec![spread(&[3], -2.0, 2.0, b), spread(&[3], -2.0, 2.0, b + 2)],
            |a| {
                let f = custom_jvp(
                    |x: &Array, y: &Array| jnp::sin(x) * y,
                    |p: &[Array], t: &[Array]| {
                        let out = jnp::sin(&p[0]) * &p[1];
                        let tout = jnp::cos(&p[0]) * &p[1] * &t[0] + jnp::sin(&p[0]) * &t[1];
                        (vec![out], vec![tout])
                    },
                );
                vec![ok(f.call((a[0].clone(), a[1].clone())))]
            },
        ),
        row(
            "custom_vjp_call",
            |b| vec![spread(&[3], -2.0, 2.0, b)],
            |a| {
                let f = custom_vjp(
                    |x: &Array| jnp::exp(x),
                    |p: &[Array]| {
                        let e = jnp::exp(&p[0]);
                        (vec![e.clone()], vec![e])
                    },
                    |res: &[Array], ct: &[Array]| vec![&res[0] * &ct[0]],
                );
                vec![ok(f.call((a[0].clone(),)))]
            },
        ),
    ]
}

/// How each operand is batched in one configuration.
#[derive(Clone, Copy, Debug)]
enum Where {
    First,
    Last,
    Middle,
    Unbatched,
}

const B: usize = 3;

/// The operands of `count` examples stacked per `placement` (an unbatched operand is example
/// 0's), and the in_axes that say so.
fn batched_operands(
    r: &Row,
    placement: &[Where],
    count: usize,
) -> (Vec<Vec<Array>>, Vec<Array>, Vec<Option<isize>>) {
    let examples: Vec<Vec<Array>> = (0..count).map(|b| (r.example)(b)).collect();
    let n = examples[0].len();
    let mut batched = Vec::with_capacity(n);
    let mut axes = Vec::with_capacity(n);
    for k in 0..n {
        let rank = examples[0][k].ndim();
        let axis = match placement[k] {
            Where::First => Some(0),
            Where::Last => Some(rank),
            Where::Middle => Some(rank.div_ceil(2)),
            Where::Unbatched => None,
        };
        match axis {
            Some(ax) => {
                let xs: Vec<Array> = examples.iter().map(|e| e[k].clone()).collect();
                batched.push(stack(&xs, ax));
                // Negative axes count from the end of the batched operand.
                let a = if matches!(placement[k], Where::Last) {
                    -1
                } else {
                    ax as isize
                };
                axes.push(Some(a));
            }
            None => {
                batched.push(examples[0][k].clone());
                axes.push(None);
            }
        }
    }
    (examples, batched, axes)
}

/// Check `vmap(f)` against a loop for one placement of the batch axis per operand.
fn check_row(r: &Row, placement: &[Where]) -> std::result::Result<(), String> {
    let (examples, batched, axes) = batched_operands(r, placement, B);
    let n = examples[0].len();
    let f = |xs: &Vec<Array>| (r.f)(xs);
    let got = vmap(f)
        .in_axes(Axes::PerLeaf(axes.clone()))
        .call((batched,))
        .map_err(|e| format!("{placement:?}: {e}"))?;
    let per_example: Vec<Vec<Array>> = (0..B)
        .map(|b| {
            let args: Vec<Array> = (0..n)
                .map(|k| match placement[k] {
                    Where::Unbatched => examples[0][k].clone(),
                    _ => examples[b][k].clone(),
                })
                .collect();
            (r.f)(&args)
        })
        .collect();
    for (j, g) in got.iter().enumerate() {
        let want = stack(
            &per_example.iter().map(|o| o[j].clone()).collect::<Vec<_>>(),
            0,
        );
        let res = std::panic::catch_unwind(|| {
            assert_same(g, &want, 1e-6, "");
        });
        if let Err(p) = res {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "mismatch".into());
            return Err(format!("{placement:?} output {j}: {msg}"));
        }
    }
    Ok(())
}

#[test]
fn every_primitive_vmap_equals_a_loop() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for r in rows() {
        let n = (r.example)(0).len();
        for p in placements(n) {
            checked += 1;
            if let Err(e) = check_row(&r, &p) {
                failures.push(format!("{}: {e}", r.name));
            }
        }
    }
    assert!(checked > 250, "{checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every placement checked for a row: all first, all last, all in the middle, and with more
/// than one operand each one alone unbatched and each one alone batched.
fn placements(n: usize) -> Vec<Vec<Where>> {
    let mut ps = vec![
        vec![Where::First; n],
        vec![Where::Last; n],
        vec![Where::Middle; n],
    ];
    if n > 1 {
        for k in 0..n {
            let mut p = vec![Where::First; n];
            p[k] = Where::Unbatched;
            ps.push(p);
            let mut q = vec![Where::Unbatched; n];
            q[k] = Where::Last;
            ps.push(q);
        }
    }
    ps
}

/// The rules move the batch axis instead of looping: the jaxpr of vmap(f) has as many
/// equations for 2 examples as for 5.
#[test]
fn batching_rules_do_not_loop_over_examples() {
    let mut failures = Vec::new();
    for r in rows() {
        let n = (r.example)(0).len();
        for p in placements(n) {
            let f = |xs: &Vec<Array>| (r.f)(xs);
            let count = |b: usize| {
                let (_, batched, axes) = batched_operands(&r, &p, b);
                make_jaxpr(vmap(f).in_axes(Axes::PerLeaf(axes)))
                    .call((batched,))
                    .map(|j| j.jaxpr.eqns.len())
            };
            match (count(2), count(5)) {
                (Ok(a), Ok(b)) if a == b => {}
                (a, b) => failures.push(format!("{} {p:?}: {a:?} vs {b:?} equations", r.name)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// 3. Nested vmap, out_axes, axis_size.

#[test]
fn nested_vmap_is_a_double_loop() {
    // Pairwise dot products: the outer vmap maps a's rows, the inner one b's rows.
    let dot = |a: &Array, b: &Array| jnp::dot(a, b);
    let a = spread(&[3, 4], -1.0, 1.0, 0);
    let b = spread(&[5, 4], -1.0, 1.0, 1);
    let inner = vmap(dot).in_axes([None, Some(0)]);
    let pairwise = vmap(inner).in_axes([Some(0), None]);
    let got = pairwise.call((a.clone(), b.clone())).unwrap();
    let want = jnp::matmul(&a, jnp::transpose(&b, None));
    assert_same(&got, &want, 1e-6, "pairwise dots");
    // The same with the inner batch along axis 1 of a transposed b, and the outer along
    // axis 1 of a transposed a.
    let inner = vmap(dot).in_axes([None, Some(1)]);
    let pairwise = vmap(inner).in_axes([Some(1), None]);
    let got = pairwise
        .call((jnp::transpose(&a, None), jnp::transpose(&b, None)))
        .unwrap();
    assert_same(&got, &want, 1e-6, "pairwise dots, axis 1");
    // vmap(vmap(f)) over a (2, 3, ...) batch equals the double loop.
    let f = |x: &Array| jnp::sum(jnp::sin(x) * x, None, false);
    let xs = spread(&[2, 3, 4], -2.0, 2.0, 2);
    let got = vmap(vmap(f)).call((xs.clone(),)).unwrap();
    assert_eq!(got.shape(), &[2, 3]);
    for i in 0..2 {
        for j in 0..3 {
            let want = f(&xs.at(i).at(j));
            let g = got.at(i).at(j);
            assert_same(&g, &want, 1e-6, "vmap(vmap)");
        }
    }
}

#[test]
fn closures_over_outer_values_batch_correctly() {
    // vmap inside grad, closing over the differentiated w: d/dw sum_i (w . x_i)^2.
    let w = f64s(&[1.0, 2.0, 3.0], &[3]);
    let xs = f64s(&[1.0, 0.0, 0.0, 0.0, 1.0, 1.0], &[2, 3]);
    let loss = |w: &Array| {
        let per = ok(vmap(|x: &Array| jnp::dot(w, x)).call((xs.clone(),)));
        jnp::sum(per.pow(2), None, false)
    };
    // = sum_i 2 (w . x_i) x_i = 2 * 1 * [1, 0, 0] + 2 * 5 * [0, 1, 1].
    assert_eq!(vals(&grad(loss).call((w,)).unwrap()), vec![2.0, 10.0, 10.0]);
    // vmap inside vmap, closing over the outer example: an outer product.
    let outer = |x: &Array| ok(vmap(|y: &Array| x * y).call((f64s(&[1.0, 10.0], &[2]),)));
    let r = vmap(outer).call((f64s(&[1.0, 2.0, 3.0], &[3]),)).unwrap();
    assert_eq!(r.shape(), &[3, 2]);
    assert_eq!(vals(&r), vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0]);
    // grad inside vmap, closing over the batched example: d/dy sum(x * y) = x.
    let h = |x: &Array| ok(grad(|y: &Array| (x * y).sum()).call((f64s(&[1.0, 1.0], &[2]),)));
    let xs = f64s(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    assert_eq!(
        vals(&vmap(h).call((xs,)).unwrap()),
        vec![1.0, 2.0, 3.0, 4.0]
    );
}

#[test]
fn pytree_arguments_take_per_argument_or_per_leaf_axes() {
    let f = |p: &(Array, Array), z: &Array| &p.0 * &p.1 + z;
    let a = f64s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let at = jnp::transpose(&a, None);
    let want = vmap(f)
        .in_axes([Some(0), None])
        .call(((a.clone(), a.clone()), Array::scalar(1.0f64)))
        .unwrap();
    assert_eq!(vals(&want), vec![2.0, 5.0, 10.0, 17.0, 26.0, 37.0]);
    // One axis for the whole tuple argument.
    let got = vmap(f)
        .in_axes([Some(1), None])
        .call(((at.clone(), at.clone()), Array::scalar(1.0f64)))
        .unwrap();
    assert_same(&got, &want, 0.0, "per argument");
    // One axis per leaf.
    let got = vmap(f)
        .in_axes(Axes::PerLeaf(vec![Some(0), Some(1), None]))
        .call(((a, at), Array::scalar(1.0f64)))
        .unwrap();
    assert_same(&got, &want, 0.0, "per leaf");
}

#[test]
fn an_empty_batch_gives_empty_results() {
    let f = |x: &Array| jnp::sum(jnp::sin(x), None, false);
    let xs = Array::zeros(&[0, 3], DType::F32);
    assert_eq!(vmap(f).call((xs.clone(),)).unwrap().shape(), &[0]);
    assert_eq!(vmap(grad(f)).call((xs,)).unwrap().shape(), &[0, 3]);
}

#[test]
fn out_axes_place_the_batch_axis() {
    let f = |x: &Array| jnp::sin(x) * 2.0;
    let xs = spread(&[3, 4], -2.0, 2.0, 3);
    let base = vmap(f).call((xs.clone(),)).unwrap();
    let t = jnp::transpose(&base, None);
    assert_same(
        &vmap(f).out_axes(1).call((xs.clone(),)).unwrap(),
        &t,
        0.0,
        "out_axes 1",
    );
    assert_same(
        &vmap(f).out_axes(-1).call((xs.clone(),)).unwrap(),
        &t,
        0.0,
        "out_axes -1",
    );
    // in_axes 1 and out_axes 1 together: columns in, columns out.
    let cols = vmap(f)
        .in_axes(1)
        .out_axes(1)
        .call((jnp::transpose(&xs, None),))
        .unwrap();
    assert_same(&cols, &t, 0.0, "in 1, out 1");
    // Per output: the first output batched at 0, the second (unbatched) not batched at all.
    let g = |x: &Array, w: &Array| (x * w, jnp::sum(w, None, false));
    let w = f32s(&[1.0, 2.0, 3.0, 4.0], &[4]);
    let (a, s) = vmap(g)
        .in_axes([Some(0), None])
        .out_axes([Some(0), None])
        .call((xs.clone(), w.clone()))
        .unwrap();
    assert_eq!(a.shape(), &[3, 4]);
    assert_eq!(s.shape(), &[] as &[usize]);
    assert_eq!(s.item::<f32>().unwrap(), 10.0);
    // An unbatched output with out_axes 0 is broadcast along the batch.
    let (_, s) = vmap(g).in_axes([Some(0), None]).call((xs, w)).unwrap();
    assert_eq!(vals(&s), vec![10.0; 3]);
}

#[test]
fn axis_size_maps_a_function_of_unbatched_inputs() {
    let f = |x: &Array| x * 2.0f32;
    let x = f32s(&[1.0, 2.0], &[2]);
    let got = vmap(f)
        .in_axes(Axes::All(None))
        .axis_size(3)
        .call((x,))
        .unwrap();
    assert_eq!(got.shape(), &[3, 2]);
    assert_eq!(vals(&got), vec![2.0, 4.0, 2.0, 4.0, 2.0, 4.0]);
    // axis_size must agree with the batched inputs.
    let e = vmap(f)
        .axis_size(4)
        .call((f32s(&[1.0, 2.0, 3.0], &[3]),))
        .unwrap_err();
    assert!(e.to_string().contains("inconsistent sizes"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// 4. Per-example gradients: vmap(grad(loss), in_axes=(None, 0, 0)) is a loop of grad.

/// (x . w - y)^2.
fn lsq_loss(w: &Array, x: &Array, y: &Array) -> Array {
    (jnp::dot(x, w) - y).pow(2)
}

#[test]
fn per_example_gradients_equal_a_loop_of_grad_and_jax() {
    let data = load("jax_autodiff.json");
    for dtype in ["f64", "f32"] {
        let case = &data[dtype]["per_example_grads"];
        let i = |k: &str| arr(&case["inputs"][k]);
        let (w, xs, ys) = (i("w"), i("xs"), i("ys"));
        let per_example = vmap(grad(lsq_loss))
            .in_axes([None, Some(0), Some(0)])
            .call((w.clone(), xs.clone(), ys.clone()))
            .unwrap();
        assert_eq!(per_example.shape(), &[6, 3]);
        let rows: Vec<Array> = (0..6)
            .map(|k| {
                grad(lsq_loss)
                    .call((w.clone(), xs.at(k), ys.at(k)))
                    .unwrap()
            })
            .collect();
        let tol = if dtype == "f64" { 1e-14 } else { 1e-6 };
        assert_same(&per_example, &stack(&rows, 0), tol, "loop of grad");
        assert_same(&per_example, &arr(&case["outputs"]["output"]), tol, "JAX");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Composition with jvp, grad, jacfwd, jacrev and custom rules, in both orders.

fn cubic(x: &Array) -> Array {
    jnp::sum(jnp::tanh(x).pow(2) * x, None, false)
}

#[test]
fn vmap_of_jvp_and_jvp_of_vmap() {
    let f = |x: &Array| jnp::sin(x) * x;
    let xs = spread(&[4, 3], -2.0, 2.0, 4);
    let ts = spread(&[4, 3], -1.0, 1.0, 5);
    let jvp_f = |x: &Array, t: &Array| ok(jvp(&f, (x.clone(),), (t.clone(),)));
    let (p, t) = vmap(jvp_f).call((xs.clone(), ts.clone())).unwrap();
    let (p2, t2) = jvp(&vmap(f), (xs.clone(),), (ts.clone(),)).unwrap();
    for k in 0..4 {
        let (pk, tk) = jvp(&f, (xs.at(k),), (ts.at(k),)).unwrap();
        assert_same(&p.at(k), &pk, 1e-6, "vmap(jvp) primal");
        assert_same(&t.at(k), &tk, 1e-6, "vmap(jvp) tangent");
    }
    assert_same(&p2, &p, 1e-6, "jvp(vmap) primal");
    assert_same(&t2, &t, 1e-6, "jvp(vmap) tangent");
    // linearize of a vmapped function.
    let (_, lin) = linearize(&vmap(f), (xs,)).unwrap();
    assert_same(&lin.jvp((ts,)).unwrap(), &t, 1e-6, "linearize(vmap)");
}

#[test]
fn vmap_of_jacobians_and_jacobians_of_vmap() {
    let xs = f64s(&[0.3, -1.1, 0.7, 1.9, -0.4, 0.2, 1.2, -2.0, 0.5], &[3, 3]);
    let jf = vmap(jacfwd(grad(cubic))).call((xs.clone(),)).unwrap();
    let jr = vmap(jacrev(grad(cubic))).call((xs.clone(),)).unwrap();
    let h = vmap(hessian(cubic)).call((xs.clone(),)).unwrap();
    assert_eq!(h.shape(), &[3, 3, 3]);
    for k in 0..3 {
        let want = hessian(cubic).call((xs.at(k),)).unwrap();
        assert_same(&h.at(k), &want, 1e-12, "vmap(hessian)");
        assert_same(&jf.at(k), &want, 1e-12, "vmap(jacfwd(grad))");
        assert_same(&jr.at(k), &want, 1e-12, "vmap(jacrev(grad))");
    }
    // The Jacobian of a vmapped elementwise function is diagonal across the batch:
    // d/dx_i sin(x_j) = cos(x_i) [i = j].
    let x = f64s(&[0.3, -1.1, 0.7], &[3]);
    let s = |x: &Array| jnp::sin(x);
    for j in [
        jacfwd(vmap(s)).call((x.clone(),)).unwrap(),
        jacrev(vmap(s)).call((x.clone(),)).unwrap(),
    ] {
        let want: Vec<f64> = (0..9)
            .map(|k| {
                if k / 3 == k % 3 {
                    vals(&x)[k / 3].cos()
                } else {
                    0.0
                }
            })
            .collect();
        assert_same(&j, &f64s(&want, &[3, 3]), 1e-15, "jac(vmap)");
    }
}

#[test]
fn grad_of_vmap_and_vmap_of_grad_of_grad() {
    // grad(sum(vmap(cubic)(xs))) is the per-row gradient, stacked.
    let xs = f64s(&[0.3, -1.1, 0.7, 1.9, -0.4, 0.2], &[2, 3]);
    let total = |xs: &Array| jnp::sum(ok(vmap(cubic).call((xs.clone(),))), None, false);
    let g = grad(total).call((xs.clone(),)).unwrap();
    let per_row = vmap(grad(cubic)).call((xs.clone(),)).unwrap();
    assert_same(&g, &per_row, 1e-14, "grad(sum(vmap))");
    // vmap(grad(grad(tanh))) = -2 tanh(x) (1 - tanh(x)^2), elementwise.
    let x = f64s(&[0.3, -1.1, 0.7, 1.9], &[4]);
    let d2 = vmap(grad(grad(|x: &Array| jnp::tanh(x))))
        .call((x.clone(),))
        .unwrap();
    let want: Vec<f64> = vals(&x)
        .iter()
        .map(|v| -2.0 * v.tanh() * (1.0 - v.tanh() * v.tanh()))
        .collect();
    assert_same(&d2, &f64s(&want, &[4]), 1e-14, "vmap(grad(grad(tanh)))");
    // And vmap(value_and_grad) returns both, batched.
    let (v, g) = vmap(value_and_grad(cubic)).call((xs.clone(),)).unwrap();
    assert_eq!((v.shape(), g.shape()), (&[2][..], &[2, 3][..]));
    assert_same(&v.at(1), &cubic(&xs.at(1)), 1e-14, "value");
}

#[test]
fn vmap_of_grad_through_custom_rules() {
    // A custom_jvp (stable log(1 + exp(x))) and a custom_vjp (gradient clipping) under
    // vmap(grad).
    let softplus = custom_jvp(
        |x: &Array| jnp::log(1.0 + jnp::exp(x)),
        |p: &[Array], t: &[Array]| {
            let x = &p[0];
            let slope = 1.0 - 1.0 / (1.0 + jnp::exp(x));
            (vec![jnp::log(1.0 + jnp::exp(x))], vec![&t[0] * &slope])
        },
    );
    let x = f32s(&[-3.0, 0.0, 2.0, 100.0], &[4]);
    let g = vmap(grad(softplus)).call((x,)).unwrap();
    let want = [0.047425874f32, 0.5, 0.880797, 1.0];
    for (a, b) in vals(&g).iter().zip(want) {
        assert!((a - b as f64).abs() < 1e-6, "{g}");
    }
    let clip = custom_vjp(
        |x: &Array| x.clone(),
        |p: &[Array]| (vec![p[0].clone()], vec![]),
        |_: &[Array], ct: &[Array]| vec![jnp::maximum(jnp::minimum(&ct[0], 1.0), -1.0)],
    );
    let scaled = move |x: &Array, w: &Array| ok(clip.call((x.clone(),))) * w;
    let ws = f32s(&[5.0, 0.25, -7.0], &[3]);
    let g = vmap(grad(scaled))
        .in_axes([None, Some(0)])
        .call((Array::from(2.0f32), ws))
        .unwrap();
    assert_eq!(vals(&g), vec![1.0, 0.25, -1.0]);
}

// ---------------------------------------------------------------------------------------------
// 6. Random programs: vmap equals a loop with the batch axis anywhere (proptest).

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn vmap_of_random_programs_equals_a_loop(
        steps in programs::program(),
        xv in programs::values(36),
        yv in programs::values(12),
        x_axis in 0usize..3,
        y_axis in prop::option::of(0usize..2),
    ) {
        let f = |x: &Array, y: &Array| programs::run(&steps, x, y);
        // Three examples of x: (3, 4) and y: (4,), stacked at the chosen axes.
        let xs: Vec<Array> = (0..3).map(|b| f64s(&xv[12 * b..12 * (b + 1)], &[3, 4])).collect();
        let ys: Vec<Array> = (0..3).map(|b| f64s(&yv[4 * b..4 * (b + 1)], &[4])).collect();
        let xb = stack(&xs, x_axis);
        let yb = match y_axis {
            Some(a) => stack(&ys, a),
            None => ys[0].clone(),
        };
        let in_axes = [Some(x_axis as isize), y_axis.map(|a| a as isize)];
        let (v, s) = vmap(f).in_axes(in_axes).call((xb, yb)).unwrap();
        for b in 0..3 {
            let y = if y_axis.is_some() { &ys[b] } else { &ys[0] };
            let (vw, sw) = f(&xs[b], y);
            for (g, w) in vals(&v.at(b as i32)).iter().zip(vals(&vw)) {
                prop_assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{} vs {}", g, w);
            }
            let g = vals(&s)[b];
            let w = vals(&sw)[0];
            prop_assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{} vs {}", g, w);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Bad input: errors that name the arguments and the sizes.

#[test]
fn batch_sizes_that_differ_are_an_error_naming_the_arguments() {
    let f = |x: &Array, y: &Array| x + y;
    let e = vmap(f)
        .call((f32s(&[1.0; 3], &[3]), f32s(&[1.0; 8], &[4, 2])))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "vmap got inconsistent sizes for array axes to be mapped:\n  * one axis had size 3: axis 0 of argument 0 of type f32[3];\n  * one axis had size 4: axis 0 of argument 1 of type f32[4,2]"
    );
    // With a majority, and in a pytree argument.
    let g = |p: &(Array, Array), z: &Array| &p.0 + &p.1 + z;
    let e = vmap(g)
        .call((
            (f32s(&[1.0; 3], &[3]), f32s(&[1.0; 3], &[3])),
            f32s(&[1.0; 5], &[5]),
        ))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "vmap got inconsistent sizes for array axes to be mapped:\n  * most axes (2 of them) had size 3, e.g. axis 0 of leaf 0 of argument 0 of type f32[3];\n  * one axis had size 5: axis 0 of argument 1 of type f32[5]"
    );
}

#[test]
fn in_axes_out_of_range_is_an_error() {
    let f = |x: &Array| x * 2.0f32;
    let e = vmap(f)
        .in_axes(1)
        .call((f32s(&[1.0; 3], &[3]),))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "vmap was requested to map its argument along axis 1, which implies that its rank should be at least 2, but is only 1 (its shape is (3,)); in_axes for argument 0"
    );
    let e = vmap(f)
        .in_axes(-3)
        .call((f32s(&[1.0; 6], &[2, 3]),))
        .unwrap_err();
    assert!(e.to_string().contains("along axis -3"), "{e}");
    // A scalar cannot be mapped.
    let e = vmap(f).call((Array::from(1.0f32),)).unwrap_err();
    assert!(
        e.to_string().contains("but is only 0 (its shape is ())"),
        "{e}"
    );
    // One in_axes entry per argument.
    let g = |x: &Array, y: &Array| x * y;
    let e = vmap(g)
        .in_axes([Some(0)])
        .call((f32s(&[1.0; 3], &[3]), f32s(&[1.0; 3], &[3])))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("one entry per positional argument (2), got 1"),
        "{e}"
    );
}

#[test]
fn out_axes_beyond_the_rank_is_an_error() {
    // Per example the output has shape (4,): batched it has rank 2, so out_axes 2 is out of range.
    let f = |x: &Array| x * 2.0f32;
    let xs = f32s(&[1.0; 12], &[3, 4]);
    let e = vmap(f).out_axes(2).call((xs.clone(),)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "vmap out_axes 2 is out of range for output 0 of per-example shape (4,): batched, it has rank 2, so out_axes must be in [-2, 2)"
    );
    let e = vmap(f).out_axes(-3).call((xs.clone(),)).unwrap_err();
    assert!(e.to_string().contains("out_axes -3 is out of range"), "{e}");
    // A batched output cannot have out_axes None.
    let e = vmap(f).out_axes(Axes::All(None)).call((xs,)).unwrap_err();
    assert!(e.to_string().contains("out_axes is None"), "{e}");
}

#[test]
fn vmap_without_a_batched_argument_needs_axis_size() {
    let f = |x: &Array| x * 2.0f32;
    let e = vmap(f)
        .in_axes(Axes::All(None))
        .call((f32s(&[1.0; 3], &[3]),))
        .unwrap_err();
    assert!(e.to_string().contains("axis_size"), "{e}");
}

#[test]
fn errors_inside_a_vmapped_function_name_per_example_shapes() {
    // Per example, (4,) * (3,) does not broadcast.
    let f = |x: &Array| x * f32s(&[1.0, 2.0, 3.0], &[3]);
    let e = vmap(f).call((f32s(&[1.0; 8], &[2, 4]),)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "mul got incompatible shapes for broadcasting: (4,), (3,)"
    );
}
