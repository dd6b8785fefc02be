//! Bad input, one test per kind: the error names the operation, the shapes and the dtypes, as
//! JAX's messages do; nothing crashes the process or returns a wrong result.
//!
//! Which calls return `Result` and which panic: `lax::*`, `Array::from_vec`, the read-back
//! methods (`to_vec`, `as_slice`, `item`) and every transformation's `call` return `Result`.
//! The operators (`+ - * /`, unary `-`) and the `numpy`/`nn` functions return `Array` and panic
//! with the same message on bad input, as ndarray's operators do; inside a transformation
//! (`grad`, `vmap`, `jit`, `make_jaxpr`, ...) that panic is caught and the call returns `Err`.

use cranax::api::autodiff::Argnums;
use cranax::core::error::or_raise;
use cranax::numpy as jnp;
use cranax::prims::DotGeneral;
use cranax::{grad, jit, lax, make_jaxpr, vmap, Array, DType, Error, Function};
use std::cell::RefCell;

fn f32s(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    Array::from_vec((0..n).map(|i| i as f32).collect(), shape).unwrap()
}

fn msg<T: std::fmt::Debug>(r: cranax::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

// --- Shape mismatch ------------------------------------------------------------------------

#[test]
fn shape_mismatch_eagerly_in_lax() {
    let err = lax::add(&f32s(&[3]), &f32s(&[4])).unwrap_err();
    assert!(err.is_type_error());
    assert!(
        matches!(&err, Error::IncompatibleShapes { op, shapes } if op == "add" && shapes == &[vec![3], vec![4]])
    );
    assert_eq!(
        err.to_string(),
        "add got incompatible shapes for broadcasting: (3,), (4,)"
    );
    assert_eq!(
        msg(lax::mul(&f32s(&[2, 3]), &f32s(&[3, 2]))),
        "mul got incompatible shapes for broadcasting: (2, 3), (3, 2)"
    );
    // lax broadcasts only rank-0 operands (NumPy broadcasting is the jnp layer's).
    assert_eq!(
        msg(lax::sub(&f32s(&[3, 1]), &f32s(&[3]))),
        "sub got incompatible shapes for broadcasting: (3, 1), (3,)"
    );
}

#[test]
fn shape_mismatch_under_transformations_is_an_err() {
    let (x, y) = (f32s(&[3]), f32s(&[4]));
    // Operators inside a traced function: the panic becomes the transformation's Err.
    let add = |a: &Array, b: &Array| a + b;
    assert_eq!(
        msg(make_jaxpr(add).call((x.clone(), y.clone()))),
        "add got incompatible shapes for broadcasting: (3,), (4,)"
    );
    let loss = |a: &Array, b: &Array| (a * b).sum();
    assert_eq!(
        msg(grad(loss).call((x.clone(), y.clone()))),
        "mul got incompatible shapes for broadcasting: (3,), (4,)"
    );
    let f = |a: &Array, b: &Array| jnp::maximum(a, b);
    assert_eq!(
        msg(jit(f).call((x.clone(), y.clone()))),
        "max got incompatible shapes for broadcasting: (3,), (4,)"
    );
    // NumPy broadcasting names both shapes too.
    let g = |a: &Array, b: &Array| jnp::subtract(a, b);
    assert_eq!(
        msg(vmap(g).call((f32s(&[2, 3]), f32s(&[2, 4])))),
        "sub got incompatible shapes for broadcasting: (3,), (4,)"
    );
    // The process and later calls are unaffected.
    assert_eq!((&x + &x).to_vec::<f32>().unwrap(), vec![0.0, 2.0, 4.0]);
}

#[test]
#[should_panic(expected = "add got incompatible shapes for broadcasting: (3,), (4,)")]
fn operator_panics_outside_transformations() {
    let _ = &f32s(&[3]) + &f32s(&[4]);
}

#[test]
#[should_panic(expected = "div got incompatible shapes for broadcasting: (2, 3), (3, 2)")]
fn owned_operator_panics_with_the_message() {
    let _ = f32s(&[2, 3]) / f32s(&[3, 2]);
}

#[test]
#[should_panic(expected = "sum: axis 2 is out of bounds for array of dimension 2")]
fn numpy_function_panics_outside_transformations() {
    let _ = jnp::sum(f32s(&[2, 3]), Some(&[2]), false);
}

#[test]
fn a_panic_caught_by_the_caller_carries_the_message() {
    let r = std::panic::catch_unwind(|| -f32s(&[2]) * f32s(&[5]));
    let payload = r.expect_err("a shape mismatch panics");
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<Error>().map(|e| e.to_string()))
        .expect("a message");
    assert_eq!(
        text,
        "mul got incompatible shapes for broadcasting: (2,), (5,)"
    );
}

// --- Structured fields ---------------------------------------------------------------------

#[test]
fn errors_carry_the_op_shapes_and_dtypes_as_fields() {
    let i32s = |n: usize| Array::from_vec(vec![1i32; n], &[n]).unwrap();
    let e = lax::add(&f32s(&[2]), &i32s(2)).unwrap_err();
    assert_eq!(
        e,
        Error::DTypeMismatch {
            op: "add".into(),
            dtypes: vec![DType::F32, DType::I32]
        }
    );
    assert_eq!(
        e.to_string(),
        "add requires arguments to have the same dtypes, got float32, int32."
    );
    let e = lax::exp(&i32s(3)).unwrap_err();
    assert_eq!((e.op(), e.dtypes()), (Some("exp"), vec![DType::I32]));
    assert_eq!(
        e.to_string(),
        "exp does not accept dtype int32. Accepted dtypes are floating."
    );
    let e = lax::and(&f32s(&[1]), &f32s(&[1])).unwrap_err();
    assert!(matches!(
        e,
        Error::UnsupportedDType {
            accepted: None,
            dtype: DType::F32,
            ..
        }
    ));
    let e = lax::dot_general(
        &f32s(&[2, 3]),
        &f32s(&[4, 5]),
        DotGeneral::new(&[1], &[0], &[], &[]),
    )
    .unwrap_err();
    assert_eq!(e.op(), Some("dot_general"));
    assert_eq!(e.shapes(), [&[2, 3][..], &[4, 5]]);
    assert_eq!(e.dtypes(), [DType::F32, DType::F32]);
    assert!(e.to_string().starts_with("dot_general "), "{e}");
    let e = lax::reshape(&f32s(&[2, 3]), &[4]).unwrap_err();
    assert_eq!((e.op(), e.shapes()), (Some("reshape"), vec![&[2, 3][..]]));
    assert_eq!(
        e.to_string(),
        "reshape: cannot reshape an array of shape (2, 3) (size 6) into shape (4,)"
    );
    let e = lax::broadcast_in_dim(&f32s(&[3]), &[2, 4], &[1]).unwrap_err();
    assert_eq!(
        (e.op(), e.shapes()),
        (Some("broadcast_in_dim"), vec![&[3][..]])
    );
    // numpy broadcasting, and a compiled function called with the wrong types.
    let e = jnp::broadcast_shapes("add", &[&[2, 3], &[4]]).unwrap_err();
    assert_eq!(e.shapes(), [&[2, 3][..], &[4]]);
    let spec = cranax::ShapeDtypeStruct::new(&[3], DType::F32);
    let compiled = jit(|x: &Array| x * 2.0)
        .lower((spec.into(),))
        .unwrap()
        .compile()
        .unwrap();
    let e = compiled.call((f32s(&[4]),)).unwrap_err();
    let Error::ArgumentTypes { op, mismatches, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(op, "call");
    assert_eq!(mismatches[0].name, "args[0]");
    assert_eq!(mismatches[0].expected, (vec![3], DType::F32));
    assert_eq!(mismatches[0].got, (vec![4], DType::F32));
    let e = compiled
        .call_into(
            &[cranax::stages::ArgView::from(&[1i32, 2, 3][..])],
            &mut [cranax::stages::OutView::from(&mut [0.0f32; 3][..])],
        )
        .unwrap_err();
    assert_eq!((e.op(), e.dtypes()), (Some("call_into"), vec![DType::I32]));
    // The unstructured kinds name no operation.
    assert_eq!(Error::value_err("x").op(), None);
    assert!(!Error::value_err("x").is_type_error());
}

// --- Dtypes --------------------------------------------------------------------------------

#[test]
fn dtype_mismatch_at_the_lax_level() {
    let x32 = f32s(&[3]);
    let x64 = Array::from_slice(&[1.0f64, 2.0, 3.0]);
    assert_eq!(
        msg(lax::add(&x32, &x64)),
        "add requires arguments to have the same dtypes, got float32, float64."
    );
    let i = Array::from_slice(&[1i32, 2, 3]);
    assert_eq!(
        msg(lax::mul(&i, &x32)),
        "mul requires arguments to have the same dtypes, got int32, float32."
    );
    // The jnp layer promotes instead, as jnp does.
    assert_eq!(jnp::add(&x32, &x64).dtype(), DType::F64);
    assert_eq!(jnp::multiply(&i, &x32).dtype(), DType::F32);
    // select_n's cases, concatenate's operands and dot_general's operands must agree too.
    assert_eq!(
        msg(lax::select(&Array::from(true), &x32, &x64)),
        "select_n cases must have the same dtypes, got float64 and float32."
    );
    assert!(msg(lax::concatenate(&[x32.clone(), x64.clone()], 0)).contains("one dtype"));
    assert!(msg(lax::dot_general(&x32, &x64, DotGeneral::contract(0, 0))).contains("same dtype"));
}

#[test]
fn float_only_ops_reject_integers() {
    let i = Array::from_slice(&[1i32, 4]);
    assert_eq!(
        msg(lax::exp(&i)),
        "exp does not accept dtype int32. Accepted dtypes are floating."
    );
    assert_eq!(
        msg(lax::sqrt(&Array::from_slice(&[1u32]))),
        "sqrt does not accept dtype uint32. Accepted dtypes are floating."
    );
    assert_eq!(
        msg(lax::tanh(&Array::from(true))),
        "tanh does not accept dtype bool. Accepted dtypes are floating."
    );
    assert_eq!(msg(lax::pow(&i, &i)), "pow does not accept dtype int32.");
    assert!(msg(lax::integer_pow(&i, -1)).contains("negative exponent -1"));
    // Bitwise ops reject floats, arithmetic rejects bools.
    assert_eq!(
        msg(lax::and(&f32s(&[2]), &f32s(&[2]))),
        "and does not accept dtype float32."
    );
    assert_eq!(
        msg(lax::add(&Array::from(true), &Array::from(false))),
        "add does not accept dtype bool."
    );
    // jnp converts integers to f32 first, as jnp.exp does.
    assert_eq!(jnp::exp(&i).dtype(), DType::F32);
}

// --- Shapes and axes -------------------------------------------------------------------------

#[test]
fn bad_reshape() {
    let x = f32s(&[2, 3]);
    assert_eq!(
        msg(lax::reshape(&x, &[4])),
        "reshape: cannot reshape an array of shape (2, 3) (size 6) into shape (4,)"
    );
    let f = |x: &Array| x.reshape(&[4, -1]);
    assert_eq!(
        msg(make_jaxpr(f).call((x.clone(),))),
        "cannot reshape array of shape (2, 3) (size 6) into shape [4, -1]"
    );
    let two_unknowns = |x: &Array| x.reshape(&[-1, -1]);
    assert!(msg(make_jaxpr(two_unknowns).call((x,))).starts_with("cannot reshape"));
}

#[test]
fn axis_out_of_range() {
    let x = f32s(&[2, 3]);
    let sum_axis_2 = |x: &Array| jnp::sum(x, Some(&[2]), false);
    assert_eq!(
        msg(make_jaxpr(sum_axis_2).call((x.clone(),))),
        "sum: axis 2 is out of bounds for array of dimension 2"
    );
    let max_axis_m3 = |x: &Array| jnp::max(x, Some(&[-3]), true);
    assert_eq!(
        msg(grad(move |x: &Array| max_axis_m3(x).sum()).call((x.clone(),))),
        "max: axis -3 is out of bounds for array of dimension 2"
    );
    assert_eq!(
        msg(lax::reduce_sum(&x, &[0, 0])),
        "reduce_sum: axes (0, 0) are out of range or repeated for an operand of shape (2, 3)"
    );
    assert!(msg(lax::argmax(&x, 2, DType::I32)).contains("out of range"));
    assert_eq!(
        msg(lax::expand_dims(&x, 3)),
        "expand_dims: axis 3 is out of range for an array of rank 2"
    );
    let squeeze_axis_0 = |x: &Array| jnp::squeeze(x, Some(&[0]));
    assert_eq!(
        msg(make_jaxpr(squeeze_axis_0).call((x.clone(),))),
        "squeeze: dimensions (0,) must be size-1 axes of the operand of shape (2, 3)"
    );
    assert!(msg(lax::transpose(&x, &[0, 0])).contains("is not a permutation"));
    let take_axis_5 = |x: &Array| jnp::take(x, Array::from(0i32), 5);
    assert_eq!(
        msg(make_jaxpr(take_axis_5).call((x.clone(),))),
        "take: axis 5 is out of bounds for array of dimension 2"
    );
    assert!(
        msg(lax::slice(&x, &[0, 0], &[3, 3], None)).contains("do not fit the operand shape (2, 3)")
    );
    assert!(msg(lax::dynamic_slice(&x, &[Array::from(0i32)], &[1, 1]))
        .contains("one integer scalar start index per axis"));
    assert!(
        msg(lax::iota(DType::F32, &[3], 1)).contains("dimension 1 must be an axis of shape (3,)")
    );
    assert!(
        msg(lax::broadcast_in_dim(&x, &[3, 2], &[0, 1])).contains("cannot be broadcast to (3, 2)")
    );
    // argmax of an empty axis has no answer.
    let e = Array::from_vec(Vec::<f32>::new(), &[0]).unwrap();
    assert!(msg(lax::argmax(&e, 0, DType::I32)).contains("empty axis"));
}

#[test]
fn dot_general_contracting_size_mismatch() {
    let (a, b) = (f32s(&[2, 3]), f32s(&[4, 5]));
    assert_eq!(
        msg(lax::dot_general(&a, &b, DotGeneral::contract(1, 0))),
        "dot_general got incompatible contracting sizes ((2, 3) vs (4, 5)): lhs f32[2,3] and rhs f32[4,5] with dimension_numbers (([1], [0]), ([], []))"
    );
    let mm = |a: &Array, b: &Array| a.matmul(b);
    assert!(msg(make_jaxpr(mm).call((a.clone(), b.clone())))
        .contains("incompatible contracting sizes ((2, 3) vs (4, 5))"));
    let dot = |a: &Array, b: &Array| jnp::dot(a, b).sum();
    assert!(msg(grad(dot).call((a, b))).contains("incompatible contracting sizes"));
    // Batched matmul batch axes must broadcast.
    let bm = |a: &Array, b: &Array| jnp::matmul(a, b);
    assert_eq!(
        msg(make_jaxpr(bm).call((f32s(&[2, 3, 4]), f32s(&[3, 4, 5])))),
        "matmul got incompatible shapes for broadcasting: (2,), (3,)"
    );
}

#[test]
fn concatenate_mismatch() {
    let (a, b) = (f32s(&[2, 3]), f32s(&[3, 3]));
    assert_eq!(
        msg(lax::concatenate(&[a.clone(), b.clone()], 1)),
        "concatenate: operands must have one dtype and equal shapes except along dimension 1, got f32[2,3], f32[3,3]"
    );
    // Along axis 0 they fit.
    assert_eq!(
        lax::concatenate(&[a.clone(), b.clone()], 0)
            .unwrap()
            .shape(),
        &[5, 3]
    );
    let stack = |a: &Array, b: &Array| jnp::stack(&[a.clone(), b.clone()], 0);
    assert!(msg(make_jaxpr(stack).call((a, b))).contains("equal shapes except along dimension 0"));
    assert!(msg(lax::concatenate(&[], 0)).contains("at least one operand"));
}

// --- Arrays ----------------------------------------------------------------------------------

#[test]
fn from_vec_size_mismatch() {
    assert_eq!(
        msg(Array::from_vec(vec![1.0f32; 5], &[2, 3])),
        "cannot make an array of shape (2, 3) from 5 elements"
    );
    assert_eq!(
        msg(Array::from_vec(vec![1u32, 2], &[])),
        "cannot make an array of shape () from 2 elements"
    );
    assert!(Array::from_vec(Vec::<i32>::new(), &[0, 7]).is_ok());
}

#[test]
fn read_back_with_the_wrong_type_or_size() {
    let x = f32s(&[2]);
    assert_eq!(
        msg(x.as_slice::<f64>()),
        "as_slice: the array has dtype f32, not f64"
    );
    assert_eq!(
        msg(x.item::<f32>()),
        "item: only size-1 arrays can be read as a scalar, got shape (2,)"
    );
    assert!(Array::arange(0.0, 1.0, 0.0, DType::F32).is_err());
}

// --- Tracers -------------------------------------------------------------------------------

#[test]
fn reading_a_tracers_data_is_an_error() {
    let seen = RefCell::new(None);
    let f = |x: &Array| {
        *seen.borrow_mut() = Some(x.to_vec::<f32>().map(|_| ()));
        x * 2.0f32
    };
    make_jaxpr(f).call((f32s(&[3]),)).unwrap();
    let err = seen.into_inner().unwrap().unwrap_err();
    assert!(matches!(err, Error::Concretization(_)));
    assert_eq!(
        err.to_string(),
        "Abstract tracer value encountered where a concrete value is expected: the data of a traced array f32[3] was requested"
    );
    // Value-dependent Rust control flow inside grad: raised with `or_raise`, returned as Err.
    let branchy = |x: &Array| {
        if or_raise(x.item::<f32>()) > 0.0 {
            x * 2.0f32
        } else {
            x * 3.0f32
        }
    };
    let err = grad(branchy).call((Array::from(1.0f32),)).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("Abstract tracer value encountered"));
}

#[test]
fn an_escaped_tracer_is_an_error_not_a_crash() {
    let leaked: RefCell<Option<Array>> = RefCell::new(None);
    let f = |x: &Array| {
        *leaked.borrow_mut() = Some(x.clone());
        jnp::sin(x)
    };
    let g = grad(f).call((Array::from(0.5f32),)).unwrap();
    assert!((g.item::<f32>().unwrap() - 0.5f32.cos()).abs() < 1e-6);
    let t = leaked.borrow().clone().unwrap();
    assert!(!t.is_concrete());

    let escaped = |e: Error| {
        let s = e.to_string();
        assert!(matches!(e, Error::EscapedTracer(_)), "{s}");
        assert!(
            s.contains("escaped tracer") && s.contains("a traced f32["),
            "{s}"
        );
    };
    // Eagerly: lax returns Err.
    escaped(lax::add(&t, &Array::from(1.0f32)).unwrap_err());
    escaped(lax::sin(&t).unwrap_err());
    // Inside any later transformation: the call returns Err.
    let t2 = t.clone();
    escaped(
        make_jaxpr(move |x: &Array| x + &t2)
            .call((Array::from(1.0f32),))
            .unwrap_err(),
    );
    let t3 = t.clone();
    escaped(
        grad(move |x: &Array| x * &t3)
            .call((Array::from(1.0f32),))
            .unwrap_err(),
    );
    let t4 = t.clone();
    escaped(
        vmap(move |x: &Array| x * &t4)
            .call((f32s(&[3]),))
            .unwrap_err(),
    );
    let t5 = t.clone();
    escaped(
        jit(move |x: &Array| x - &t5)
            .call((Array::from(1.0f32),))
            .unwrap_err(),
    );
    // Passed as an argument rather than closed over.
    let sin = |x: &Array| jnp::sin(x);
    escaped(grad(sin).call((t.clone(),)).unwrap_err());
    let leaked_vec: RefCell<Option<Array>> = RefCell::new(None);
    let keep = |x: &Array| {
        *leaked_vec.borrow_mut() = Some(x.clone());
        x.sum()
    };
    grad(keep).call((f32s(&[3]),)).unwrap();
    let tv = leaked_vec.borrow().clone().unwrap();
    let e = vmap(sin).call((tv,)).unwrap_err();
    assert!(e.to_string().contains("f32[3]"), "{e}");
    escaped(e);
    escaped(jit(sin).call((t.clone(),)).unwrap_err());
    // Its data cannot be read; printing it is harmless.
    assert!(t.to_vec::<f32>().is_err());
    assert_eq!(format!("{t}"), "Traced<f32[]>");
    // An operator on it outside any transformation panics with the message.
    let r = std::panic::catch_unwind(|| &t + 1.0f32);
    assert!(r.is_err());
}

// --- Transformations -------------------------------------------------------------------------

#[test]
fn grad_of_a_non_scalar_output() {
    let f = |x: &Array| jnp::sin(x);
    assert_eq!(
        msg(grad(f).call((f32s(&[5]),))),
        "Gradient only defined for scalar-output functions. Output had shape: (5,)"
    );
    let g = |x: &Array| x.reshape(&[2, 3]);
    assert_eq!(
        msg(grad(g).call((f32s(&[6]),))),
        "Gradient only defined for scalar-output functions. Output had shape: (2, 3)"
    );
}

#[test]
fn grad_of_an_int_input() {
    let f = |x: &Array| x.astype(DType::F32).sum();
    assert_eq!(
        msg(grad(f).call((Array::from_slice(&[1i32, 2]),))),
        "grad requires real-valued inputs (input dtype that is a sub-dtype of np.floating), but got int32. If you want to use integer-valued inputs, use vjp or set allow_int to True."
    );
    // An integer output is refused too.
    let h = |x: &Array| x.astype(DType::I32).sum();
    assert!(msg(grad(h).call((f32s(&[2]),))).starts_with("grad requires real-valued outputs"));
}

/// `argnums` beyond the arguments: `grad(f).argnums(ARG2)` on a two-argument function does not
/// compile (no `Argnums<(A, B)>` impl for `Argnum<2>`), so the run-time check is reached only
/// through a hand-written `Argnums`.
#[derive(Clone)]
struct Third;
impl Argnums<(Array, Array)> for Third {
    type Grads = Array;
    fn indices(&self) -> cranax::pytree::PerArg<usize> {
        [2].into_iter().collect()
    }
    fn template(&self, args: &(Array, Array)) -> Array {
        args.0.clone()
    }
}

#[test]
fn argnums_out_of_range() {
    let f = |x: &Array, y: &Array| (x * y).sum();
    assert_eq!(
        msg(grad(f).argnums(Third).call((f32s(&[2]), f32s(&[2])))),
        "argnums 2 is out of range for a function of 2 positional arguments"
    );
}

#[test]
fn vmap_with_mismatched_batch_sizes() {
    let f = |x: &Array, y: &Array| x + y;
    let err = msg(vmap(f).call((f32s(&[3]), f32s(&[4]))));
    // JAX: "vmap got inconsistent sizes for array axes to be mapped: * one axis had size 3: ..."
    assert!(err.starts_with("vmap got inconsistent sizes"), "{err}");
    assert!(err.contains("size 3") && err.contains("size 4"), "{err}");
    assert!(
        err.contains("argument 0") && err.contains("argument 1"),
        "{err}"
    );
    // Mapping an axis a rank-0 argument does not have.
    let g = |x: &Array| x * 2.0f32;
    assert!(msg(vmap(g).call((Array::from(1.0f32),))).contains("its rank should be at least 1"));
}

#[test]
fn errors_leave_no_transformation_running() {
    // After every failure above, eager evaluation is still eager (no trace left current).
    let f = |x: &Array, y: &Array| x + y;
    assert!(grad(f).call((f32s(&[3]), f32s(&[4]))).is_err());
    let x = f32s(&[3]);
    assert!((&x * 2.0f32).is_concrete());
    assert_eq!(
        lax::add(&x, &x).unwrap().to_vec::<f32>().unwrap(),
        vec![0.0, 2.0, 4.0]
    );
}
