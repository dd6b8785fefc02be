//! Bad input at every public entry point, as one table: each row calls one function wrongly
//! (shapes, dtypes, argument counts, axes, keys, sizes) and must return an `Err` whose message
//! says what JAX's says (the operation, and the shapes or dtypes involved), never panic past
//! the call, never abort. Rows run eagerly, and the ones that trace also under `jit`, `grad` or
//! `vmap` where the row says so. Messages name types JAX's way: `(2, 3)` for a shape, `float32`
//! for a dtype, `f32[2,3]` for both.

use cranax::core::error::or_raise;
use cranax::numpy as jnp;
use cranax::prims::DotGeneral;
use cranax::{grad, jit, lax, random, vmap, Array, DType, Function, Result};

fn f32s(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    Array::from_vec((0..n).map(|i| i as f32 + 0.5).collect(), shape).unwrap()
}

fn i32s(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    Array::from_vec((0..n).map(|i| i as i32).collect(), shape).unwrap()
}

fn u32s(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    Array::from_vec((0..n).map(|i| i as u32).collect(), shape).unwrap()
}

fn dims(lc: &[usize], rc: &[usize], lb: &[usize], rb: &[usize]) -> DotGeneral {
    DotGeneral::new(lc, rc, lb, rb)
}

fn unit<T>(r: Result<T>) -> Result<()> {
    r.map(|_| ())
}

type Row = (
    &'static str,
    Box<dyn Fn() -> Result<()>>,
    &'static [&'static str],
);

macro_rules! row {
    ($name:expr, $call:expr, [$($want:expr),* $(,)?]) => {
        ($name, Box::new(move || unit($call)) as Box<dyn Fn() -> Result<()>>, &[$($want),*])
    };
}

fn rows() -> Vec<Row> {
    let k = || random::PRNGKey(0);
    vec![
        // --- elementwise: shapes and dtypes
        row!(
            "add shapes",
            lax::add(&f32s(&[3]), &f32s(&[4])),
            ["add", "(3,)", "(4,)"]
        ),
        row!(
            "sub rank",
            lax::sub(&f32s(&[3, 1]), &f32s(&[3])),
            ["sub", "(3, 1)", "(3,)"]
        ),
        row!(
            "mul 2d",
            lax::mul(&f32s(&[2, 3]), &f32s(&[3, 2])),
            ["mul", "(2, 3)", "(3, 2)"]
        ),
        row!(
            "div dtypes",
            lax::div(&f32s(&[2]), &i32s(&[2])),
            ["div", "float32", "int32"]
        ),
        row!(
            "max dtypes",
            lax::max(&i32s(&[2]), &u32s(&[2])),
            ["max", "int32", "uint32"]
        ),
        row!(
            "pow ints",
            lax::pow(&i32s(&[2]), &i32s(&[2])),
            ["pow", "int32"]
        ),
        row!("exp int", lax::exp(&i32s(&[2])), ["exp", "int32"]),
        row!("log int", lax::log(&u32s(&[2])), ["log", "uint32"]),
        row!("tanh int", lax::tanh(&i32s(&[3])), ["tanh", "int32"]),
        row!("sin int", lax::sin(&i32s(&[1])), ["sin", "int32"]),
        row!("sqrt int", lax::sqrt(&i32s(&[1])), ["sqrt", "int32"]),
        row!(
            "erf_inv int",
            lax::erf_inv(&i32s(&[1])),
            ["erf_inv", "int32"]
        ),
        row!("not float", lax::not(&f32s(&[2])), ["not", "float32"]),
        row!(
            "and float",
            lax::and(&f32s(&[2]), &f32s(&[2])),
            ["and", "float32"]
        ),
        row!(
            "shift float",
            lax::shift_left(&f32s(&[2]), &f32s(&[2])),
            ["shift_left", "float32"]
        ),
        row!(
            "lt shapes",
            lax::lt(&f32s(&[2]), &f32s(&[3])),
            ["lt", "(2,)", "(3,)"]
        ),
        row!(
            "select pred dtype",
            lax::select(&f32s(&[2]), &f32s(&[2]), &f32s(&[2])),
            ["select_n", "float32"]
        ),
        row!(
            "select shapes",
            lax::select(
                &lax::lt(&f32s(&[2]), &f32s(&[2]))?,
                &f32s(&[2]),
                &f32s(&[3])
            ),
            ["select_n", "(2,)", "(3,)"]
        ),
        row!(
            "jnp broadcast",
            std::panic::catch_unwind(|| jnp::add(f32s(&[2, 3]), f32s(&[4])))
                .map_err(|e| cranax::Error::Type(panic_text(e))),
            ["add", "(2, 3)", "(4,)"]
        ),
        // --- reductions
        row!(
            "reduce_sum axis",
            lax::reduce_sum(&f32s(&[2, 3]), &[2]),
            ["reduce_sum", "2", "(2, 3)"]
        ),
        row!(
            "reduce_prod of bools",
            lax::reduce_prod(&Array::from_vec(vec![true, false], &[2]).unwrap(), &[0]),
            ["reduce_prod", "bool"]
        ),
        row!(
            "reduce_and of floats",
            lax::reduce_and(&f32s(&[2]), &[0]),
            ["reduce_and", "float32", "bool or int"]
        ),
        row!(
            "cumsum axis",
            lax::cumsum(&f32s(&[2, 3]), 2, false),
            ["cumsum", "2", "(2, 3)"]
        ),
        row!(
            "cumlogsumexp of ints",
            lax::cumlogsumexp(&i32s(&[3]), 0, false),
            ["cumlogsumexp", "int32"]
        ),
        row!(
            "sort shapes",
            lax::sort(&[f32s(&[3]), f32s(&[4])], 0, true, 1),
            ["sort", "(3,)", "(4,)"]
        ),
        row!(
            "sort num_keys",
            lax::sort(&[f32s(&[3])], 0, true, 2),
            ["sort", "num_keys", "2"]
        ),
        row!(
            "top_k k",
            lax::top_k(&f32s(&[2, 3]), 4),
            ["top_k", "k=4", "(2, 3)"]
        ),
        row!(
            "reduce_max axis",
            lax::reduce_max(&f32s(&[4]), &[1]),
            ["reduce_max", "(4,)"]
        ),
        row!(
            "reduce_min dup axes",
            lax::reduce_min(&f32s(&[2, 2]), &[0, 0]),
            ["reduce_min", "(0, 0)"]
        ),
        row!(
            "argmax axis",
            lax::argmax(&f32s(&[3]), 1, DType::I32),
            ["argmax", "(3,)"]
        ),
        row!(
            "argmin index dtype",
            lax::argmin(&f32s(&[3]), 0, DType::F32),
            ["argmin", "index_dtype", "float32"]
        ),
        row!(
            "argmax empty",
            lax::argmax(&f32s(&[0]), 0, DType::I32),
            ["argmax", "(0,)"]
        ),
        // --- layout
        row!(
            "reshape size",
            lax::reshape(&f32s(&[2, 3]), &[4, 2]),
            ["reshape", "(2, 3)", "(4, 2)"]
        ),
        row!(
            "transpose perm",
            lax::transpose(&f32s(&[2, 3]), &[0, 0]),
            ["transpose", "(0, 0)"]
        ),
        row!(
            "transpose rank",
            lax::transpose(&f32s(&[2, 3]), &[1, 0, 2]),
            ["transpose", "(1, 0, 2)", "(2, 3)"]
        ),
        row!(
            "squeeze non-1",
            lax::squeeze(&f32s(&[2, 3]), &[0]),
            ["squeeze", "(2, 3)"]
        ),
        row!(
            "squeeze axis",
            lax::squeeze(&f32s(&[1, 3]), &[2]),
            ["squeeze", "(1, 3)"]
        ),
        row!(
            "expand_dims axis",
            lax::expand_dims(&f32s(&[3]), 3),
            ["expand_dims", "axis 3", "rank 1"]
        ),
        row!(
            "broadcast_in_dim shape",
            lax::broadcast_in_dim(&f32s(&[3]), &[2, 4], &[1]),
            ["broadcast_in_dim", "(3,)", "(2, 4)"]
        ),
        row!(
            "broadcast_in_dim dims",
            lax::broadcast_in_dim(&f32s(&[3]), &[3, 2], &[0, 1]),
            ["broadcast_in_dim", "(3,)"]
        ),
        row!(
            "concatenate shapes",
            lax::concatenate(&[f32s(&[2, 3]), f32s(&[2, 4])], 0),
            ["concatenate", "f32[2,3]", "f32[2,4]"]
        ),
        row!(
            "concatenate dtypes",
            lax::concatenate(&[f32s(&[2]), i32s(&[2])], 0),
            ["concatenate", "f32[2]", "i32[2]"]
        ),
        row!(
            "concatenate axis",
            lax::concatenate(&[f32s(&[2]), f32s(&[2])], 1),
            ["concatenate", "1"]
        ),
        row!(
            "concatenate none",
            lax::concatenate(&[], 0),
            ["concatenate"]
        ),
        row!(
            "slice limit",
            lax::slice(&f32s(&[4]), &[1], &[5], None),
            ["slice", "(4,)"]
        ),
        row!(
            "slice start>limit",
            lax::slice(&f32s(&[4]), &[3], &[2], None),
            ["slice", "(4,)"]
        ),
        row!(
            "slice rank",
            lax::slice(&f32s(&[4, 2]), &[0], &[1], None),
            ["slice", "(4, 2)"]
        ),
        row!(
            "slice stride 0",
            lax::slice(&f32s(&[4]), &[0], &[4], Some(&[0])),
            ["slice", "strides (0,)", "(4,)"]
        ),
        row!(
            "pad rank",
            lax::pad(&f32s(&[3]), &Array::from(0.0f32), &[(1, 1, 0), (0, 0, 0)]),
            ["pad", "f32[3]", "2 entries"]
        ),
        row!(
            "pad value dtype",
            lax::pad(&f32s(&[3]), &Array::from(0i32), &[(1, 1, 0)]),
            ["pad", "f32[3]", "i32[]"]
        ),
        row!("iota dim", lax::iota(DType::I32, &[3], 1), ["iota", "1"]),
        // --- indexing
        row!(
            "dynamic_slice size",
            lax::dynamic_slice(&f32s(&[4]), &[Array::from(0i32)], &[5]),
            ["dynamic_slice", "(4,)"]
        ),
        row!(
            "dynamic_slice starts",
            lax::dynamic_slice(&f32s(&[4, 4]), &[Array::from(0i32)], &[2, 2]),
            ["dynamic_slice", "f32[4,4]", "i32[]"]
        ),
        row!(
            "dynamic_slice index dtype",
            lax::dynamic_slice(&f32s(&[4]), &[Array::from(0.0f32)], &[2]),
            ["dynamic_slice", "f32[4]", "got f32[]"]
        ),
        row!(
            "dynamic_update_slice shape",
            lax::dynamic_update_slice(&f32s(&[4]), &f32s(&[5]), &[Array::from(0i32)]),
            ["dynamic_update_slice", "f32[5]", "f32[4]"]
        ),
        row!(
            "dynamic_update_slice dtype",
            lax::dynamic_update_slice(&f32s(&[4]), &i32s(&[2]), &[Array::from(0i32)]),
            ["dynamic_update_slice", "i32[2]", "f32[4]"]
        ),
        row!(
            "gather axis",
            lax::take_clamped(&f32s(&[4]), &i32s(&[2]), 1),
            ["take", "axis 1", "rank 1"]
        ),
        row!(
            "gather index dtype",
            lax::take_clamped(&f32s(&[4]), &f32s(&[2]), 0),
            ["gather", "integer type", "f32[2,1]"]
        ),
        row!(
            "scatter_add shapes",
            lax::scatter_add_clamped(&f32s(&[4]), &i32s(&[2]), &f32s(&[3]), 0),
            ["scatter-add", "updates f32[3]", "indices i32[2,1]"]
        ),
        row!(
            "gather start_index_map length",
            lax::gather(
                &f32s(&[4, 3]),
                &i32s(&[2, 2]),
                &lax::GatherDimensionNumbers {
                    offset_dims: vec![1],
                    collapsed_slice_dims: vec![0],
                    start_index_map: vec![0],
                    ..Default::default()
                },
                &[1, 3],
                lax::GatherOptions::default(),
            ),
            ["gather", "1 elements in start_index_map", "is 2"]
        ),
        row!(
            "gather collapsed slice size",
            lax::gather(
                &f32s(&[4, 3]),
                &i32s(&[2, 1]),
                &lax::GatherDimensionNumbers {
                    offset_dims: vec![1],
                    collapsed_slice_dims: vec![0],
                    start_index_map: vec![0],
                    ..Default::default()
                },
                &[2, 3],
                lax::GatherOptions::default(),
            ),
            ["gather", "collapse slice dims with bound 1", "bound is 2"]
        ),
        row!(
            "scatter dtypes",
            lax::scatter(
                &f32s(&[4]),
                &i32s(&[2, 1]),
                &i32s(&[2]),
                &lax::ScatterDimensionNumbers {
                    inserted_window_dims: vec![0],
                    scatter_dims_to_operand_dims: vec![0],
                    ..Default::default()
                },
                lax::ScatterOptions::default(),
            ),
            ["scatter", "same dtypes", "float32", "int32"]
        ),
        // --- dot_general
        row!(
            "dot contracting sizes",
            lax::dot_general(&f32s(&[2, 3]), &f32s(&[4, 2]), dims(&[1], &[0], &[], &[])),
            ["dot_general", "(2, 3)", "(4, 2)"]
        ),
        row!(
            "dot dtypes",
            lax::dot_general(&f32s(&[2, 3]), &i32s(&[3, 2]), dims(&[1], &[0], &[], &[])),
            ["dot_general", "same dtype", "f32[2,3]", "i32[3,2]"]
        ),
        row!(
            "dot axis range",
            lax::dot_general(&f32s(&[2, 3]), &f32s(&[3, 2]), dims(&[2], &[0], &[], &[])),
            ["dot_general", "out of range", "f32[2,3]"]
        ),
        row!(
            "dot batch sizes",
            lax::dot_general(
                &f32s(&[2, 2, 3]),
                &f32s(&[3, 3, 2]),
                dims(&[2], &[1], &[0], &[0])
            ),
            ["dot_general", "batch sizes", "f32[2,2,3]", "f32[3,3,2]"]
        ),
        row!(
            "dot contract count",
            lax::dot_general(&f32s(&[2, 3]), &f32s(&[3, 2]), dims(&[1], &[], &[], &[])),
            ["dot_general"]
        ),
        row!(
            "matmul shapes",
            std::panic::catch_unwind(|| f32s(&[2, 3]).matmul(&f32s(&[2, 3])))
                .map_err(|e| cranax::Error::Type(panic_text(e))),
            ["dot_general", "(2, 3)"]
        ),
        // --- conversions and construction
        row!(
            "from_vec size",
            Array::from_vec(vec![1.0f32; 5], &[2, 3]),
            ["5", "(2, 3)"]
        ),
        row!("to_vec dtype", f32s(&[2]).to_vec::<i32>(), ["f32", "i32"]),
        row!("item non-scalar", f32s(&[2]).item::<f32>(), ["(2,)"]),
        // --- random
        row!(
            "normal bad key shape",
            random::normal(&f32s(&[3]), &[2], DType::F32),
            ["PRNG key", "uint32", "shape (2,)", "f32[3]"]
        ),
        row!(
            "normal int dtype",
            random::normal(&k(), &[2], DType::I32),
            ["normal", "int32"]
        ),
        row!(
            "uniform int dtype",
            random::uniform(&k(), &[2], DType::I32, 0.0, 1.0),
            ["uniform", "int32"]
        ),
        row!(
            "split bad key",
            random::split(&i32s(&[2]), 2),
            ["PRNG key", "i32[2]"]
        ),
        row!(
            "bits bad key",
            random::bits(&u32s(&[3]), &[2]),
            ["PRNG key", "u32[3]"]
        ),
        row!(
            "choice too many",
            random::choice(&k(), 3, &[5], false),
            ["larger sample (size 5)", "population (size 3)"]
        ),
        row!(
            "categorical axis",
            random::categorical(&k(), &f32s(&[2, 3]), 2, None),
            ["categorical", "axis 2", "dimension 2"]
        ),
        row!(
            "randint bad key",
            random::randint(&f32s(&[2]), &[2], 0, 5),
            ["PRNG key", "f32[2]"]
        ),
        // --- sizes that cannot be allocated
        row!(
            "broadcast 4 TB",
            lax::broadcast_in_dim(&Array::from(1.0f32), &[1 << 20, 1 << 20], &[]),
            [
                "broadcast_in_dim",
                "cannot allocate",
                "f32[1048576,1048576]"
            ]
        ),
        row!(
            "full overflowing",
            lax::broadcast_in_dim(&Array::from(1.0f64), &[1 << 40, 1 << 40], &[]),
            [
                "broadcast_in_dim",
                "cannot allocate",
                "more than the address space"
            ]
        ),
        row!(
            "jit output 4 TB",
            jit(|x: &Array| or_raise(lax::broadcast_in_dim(x, &[1 << 20, 1 << 20], &[])))
                .call((Array::from(1.0f32),)),
            ["jit", "cannot allocate"]
        ),
        // --- transformations
        row!(
            "grad non-scalar",
            grad(|x: &Array| x * 2.0f32).call((f32s(&[3]),)),
            ["Gradient only defined for scalar-output functions", "(3,)"]
        ),
        row!(
            "grad int input",
            grad(|x: &Array| x.sum()).call((i32s(&[3]),)),
            ["grad", "int32"]
        ),
        row!(
            "vmap sizes",
            vmap(|x: &Array, y: &Array| x + y).call((f32s(&[2, 3]), f32s(&[3, 3]))),
            ["vmap", "2", "3"]
        ),
        row!(
            "vmap axis",
            vmap(|x: &Array| x.clone())
                .in_axes([Some(2)])
                .call((f32s(&[2, 3]),)),
            ["vmap", "2"]
        ),
        row!(
            "vmap out_axes",
            vmap(|x: &Array| x.clone())
                .out_axes(3)
                .call((f32s(&[2, 3]),)),
            ["out_axes", "3"]
        ),
        row!(
            "jit shapes inside",
            jit(|x: &Array, y: &Array| x * y).call((f32s(&[3]), f32s(&[4]))),
            ["mul", "(3,)", "(4,)"]
        ),
        row!(
            "jit dtypes inside",
            jit(|x: &Array| or_raise(lax::exp(x))).call((i32s(&[2]),)),
            ["exp", "int32"]
        ),
        row!(
            "grad shapes inside",
            grad(|x: &Array| or_raise(lax::reshape(x, &[4])).sum()).call((f32s(&[3]),)),
            ["reshape", "(3,)", "(4,)"]
        ),
    ]
}

fn panic_text(e: Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn every_bad_input_is_an_err_with_jaxs_wording() {
    let rows = rows();
    assert!(rows.len() >= 60, "{} rows", rows.len());
    let mut failures = Vec::new();
    for (name, call, want) in &rows {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
            Err(p) => failures.push(format!("{name}: panicked past the call: {}", panic_text(p))),
            Ok(Ok(())) => failures.push(format!("{name}: no error")),
            Ok(Err(e)) => {
                let text = e.to_string();
                println!("{name:28} {text}");
                let missing: Vec<&str> =
                    want.iter().copied().filter(|w| !text.contains(w)).collect();
                if !missing.is_empty() {
                    failures.push(format!("{name}: {text:?} lacks {missing:?}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}
