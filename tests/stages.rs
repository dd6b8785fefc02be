//! Staged compilation (issue 14 items 1-2): `jit(f).lower(args)` with arrays or
//! `ShapeDtypeStruct` specs in pytrees, `Lowered` (jaxpr, CLIF), `compile()` without running,
//! `Compiled` (Send + Sync + 'static, called from threads), its cost analysis, `call` with
//! JAX's error wording, and `call_into` over borrowed slices against `call` bit for bit.

use cranax::api::stages::{ArgView, Compiled, OutView};
use cranax::numpy as jnp;
use cranax::*;
use std::sync::Arc;

#[path = "support/mlp.rs"]
mod mlp;
use mlp::{data, loss, Params};

fn params() -> Params {
    (
        data(&[3, 5], 0.1),
        data(&[5], 0.2),
        data(&[5, 2], 0.3),
        data(&[2], 0.4),
    )
}

fn spec(x: &Array) -> Array {
    ShapeDtypeStruct::like(x).into()
}

#[test]
fn lowering_from_specs_gives_the_jaxpr_and_clif_of_lowering_from_arrays() {
    let f = jit(grad(loss));
    let (p, x, y) = (params(), data(&[4, 3], 0.5), data(&[4, 2], 0.6));
    let from_arrays = f.lower((p.clone(), x.clone(), y.clone())).unwrap();
    let specs: Params = (spec(&p.0), spec(&p.1), spec(&p.2), spec(&p.3));
    let from_specs = f.lower((specs, spec(&x), spec(&y))).unwrap();
    assert_eq!(
        from_specs.jaxpr().to_string(),
        from_arrays.jaxpr().to_string()
    );
    assert_eq!(
        from_specs.jaxpr().to_string(),
        make_jaxpr(grad(loss)).call((p, x, y)).unwrap().to_string()
    );
    assert_eq!(from_specs.as_text(), from_arrays.as_text());
    assert!(from_specs.as_text().starts_with("function"), "CLIF text");
    assert!(from_specs.kernels_summary().contains("(gemm)"));
    assert_eq!(from_specs.in_avals().len(), 6);
    // Lowering runs nothing and leaves the jit's cache alone.
    assert_eq!(f.stats().compiles, 0);
    assert_eq!(f.stats().misses, 0);
}

#[test]
fn a_spec_has_no_data() {
    let x: Array = ShapeDtypeStruct::new(&[2], DType::F32).into();
    assert_eq!(x.shape(), &[2]);
    assert!(!x.is_concrete());
    assert!(x.data().is_err());
}

#[test]
fn compiled_call_gives_the_bits_jit_gives() {
    let f = jit(value_and_grad(loss));
    let (p, x, y) = (params(), data(&[4, 3], 0.5), data(&[4, 2], 0.6));
    let specs = (spec(&p.0), spec(&p.1), spec(&p.2), spec(&p.3));
    let compiled = f
        .lower((specs, spec(&x), spec(&y)))
        .unwrap()
        .compile()
        .unwrap();
    assert_eq!(
        f.stats().compiles,
        0,
        "compile() does not use the jit cache"
    );
    let (l, g) = compiled.call((p.clone(), x.clone(), y.clone())).unwrap();
    let (l_jit, g_jit) = f.call((p.clone(), x.clone(), y.clone())).unwrap();
    assert!(l.same_bits(&l_jit));
    for (a, b) in g.leaves().iter().zip(g_jit.leaves().iter()) {
        assert!(a.same_bits(b));
    }
    // And the interpreter (the oracle) agrees to rounding.
    let want = eval_jaxpr(compiled.jaxpr(), &(p, x, y).leaves()).unwrap();
    let got = (l, g).leaves();
    for (a, b) in got.iter().zip(&want) {
        for (u, v) in a
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .zip(b.to_vec::<f32>().unwrap())
        {
            assert!((u - v).abs() <= 1e-5 * (1.0 + v.abs()), "{u} vs {v}");
        }
    }
}

#[test]
fn compiled_call_rejects_other_types_with_jaxs_message() {
    let f = jit(|x: &Array, y: &Array| x * y);
    let x3 = Array::from_slice(&[1.0f32, 2.0, 3.0]);
    let compiled = f
        .lower((x3.clone(), x3.clone()))
        .unwrap()
        .compile()
        .unwrap();
    let x4 = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0]);
    let e = compiled.call((x3.clone(), x4)).unwrap_err().to_string();
    assert_eq!(
        e,
        "Argument types differ from the types for which this computation was compiled. The \
         mismatches are:\nArgument 'args[1]' compiled with float32[3] and called with float32[4]"
    );
    let i3 = Array::from_slice(&[1i32, 2, 3]);
    let e = compiled.call((i3, x3.clone())).unwrap_err().to_string();
    assert!(
        e.ends_with("Argument 'args[0]' compiled with float32[3] and called with int32[3]"),
        "{e}"
    );

    let g = jit(|v: &Vec<Array>| v[0].clone());
    let c = g
        .lower((vec![x3.clone(), x3.clone()],))
        .unwrap()
        .compile()
        .unwrap();
    let e = c.call((vec![x3.clone()],)).unwrap_err().to_string();
    assert!(
        e.starts_with(
            "Function compiled with input pytree does not match the input pytree it was called with"
        ),
        "{e}"
    );
    let e = c
        .call((vec![x3.clone(), x3.reshape(&[3, 1])],))
        .unwrap_err();
    assert!(
        e.to_string().ends_with(
            "Argument 'args[0][1]' compiled with float32[3] and called with float32[3,1]"
        ),
        "{e}"
    );
}

fn assert_send_sync_static<T: Send + Sync + 'static>(_: &T) {}

#[test]
fn compiled_is_send_sync_static_and_runs_on_many_threads() {
    let f = jit(|x: &Array| jnp::tanh(x) * 2.0 + x);
    let xs: Vec<f32> = (0..100).map(|i| i as f32 * 0.01 - 0.5).collect();
    let compiled: Compiled<(Array,), Array> = f
        .lower((ShapeDtypeStruct::new(&[100], DType::F32).into(),))
        .unwrap()
        .compile()
        .unwrap();
    assert_send_sync_static(&compiled);
    let want = f.call((Array::from_slice(&xs),)).unwrap();
    let compiled = Arc::new(compiled);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (c, xs) = (compiled.clone(), xs.clone());
            std::thread::spawn(move || {
                let mut out = vec![0.0f32; 100];
                for _ in 0..50 {
                    c.call_into(
                        &[ArgView::from(&xs[..])],
                        &mut [OutView::from(&mut out[..])],
                    )
                    .unwrap();
                }
                let y = c.call((Array::from_slice(&xs),)).unwrap();
                (out, y)
            })
        })
        .collect();
    for h in handles {
        let (out, y) = h.join().unwrap();
        assert!(y.same_bits(&want));
        assert_eq!(
            out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.to_vec::<f32>()
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn cost_analysis_reports_what_was_compiled() {
    let f = jit(grad(loss));
    let (p, x, y) = (params(), data(&[4, 3], 0.5), data(&[4, 2], 0.6));
    let c = f.lower((p, x, y)).unwrap().compile().unwrap();
    let cost = c.cost_analysis();
    assert_eq!(cost.code_bytes, c.machine_code().len());
    assert!(cost.code_bytes > 0);
    assert_eq!(cost.kernels, c.kernels_summary().lines().count());
    assert!(cost.kernels >= 3, "{}", c.kernels_summary());
    assert!(cost.compile_time >= cost.lower_time);
    // Inputs: 15 + 5 + 10 + 2 + 12 + 8 floats; outputs: the four gradients, 32 floats.
    assert_eq!(cost.bytes_accessed, 4 * (52 + 32));
    assert_eq!(cost.scratch_bytes, c.executable().scratch_bytes());
    // The listing of the machine code, with its instructions.
    assert!(c.as_text().contains("ret"), "{}", c.as_text());
}

#[test]
fn call_into_writes_what_call_returns() {
    let f = jit(value_and_grad(loss));
    let (p, x, y) = (params(), data(&[4, 3], 0.5), data(&[4, 2], 0.6));
    let c = f
        .lower((p.clone(), x.clone(), y.clone()))
        .unwrap()
        .compile()
        .unwrap();
    let leaves = (p.clone(), x.clone(), y.clone()).leaves();
    let ins: Vec<Vec<f32>> = leaves.iter().map(|a| a.to_vec::<f32>().unwrap()).collect();
    let mut outs: Vec<Vec<f32>> = c.out_avals().iter().map(|a| vec![0.0; a.size()]).collect();
    let shapes: Vec<Vec<usize>> = leaves.iter().map(|a| a.shape().to_vec()).collect();
    let views: Vec<ArgView> = ins
        .iter()
        .zip(&shapes)
        .map(|(v, s)| ArgView::new(v, s))
        .collect();
    let mut out_views: Vec<OutView> = outs.iter_mut().map(|v| OutView::from(&mut v[..])).collect();
    c.call_into(&views, &mut out_views).unwrap();
    let want = c.call((p, x, y)).unwrap().leaves();
    for (o, w) in outs.iter().zip(&want) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(o), bits(&w.to_vec::<f32>().unwrap()));
    }
}

#[test]
fn call_into_checks_count_dtype_size_and_shape() {
    let f = jit(|x: &Array, n: &Array| x * 2.0 + n.astype(DType::F32));
    let c = f
        .lower((
            ShapeDtypeStruct::new(&[2, 3], DType::F32).into(),
            ShapeDtypeStruct::new(&[], DType::I32).into(),
        ))
        .unwrap()
        .compile()
        .unwrap();
    let (x, n, mut out) = ([1.0f32; 6], [3i32], [0.0f32; 6]);
    c.call_into(&[(&x).into(), (&n).into()], &mut [(&mut out).into()])
        .unwrap();
    assert_eq!(out, [5.0; 6]);
    let err =
        |ins: &[ArgView], outs: &mut [OutView]| c.call_into(ins, outs).unwrap_err().to_string();
    let mut o = [0.0f32; 6];
    assert_eq!(
        err(&[(&x).into()], &mut [(&mut o).into()]),
        "call_into: the function was compiled for 2 inputs and 1 outputs, got 1 and 1"
    );
    let xd = [1.0f64; 6];
    assert_eq!(
        err(&[(&xd).into(), (&n).into()], &mut [(&mut o).into()]),
        "call_into: input 0 is a float64 slice of 6 elements but the function was compiled for \
         float32[2,3] (6 elements)"
    );
    let short = [1.0f32; 5];
    assert!(err(&[(&short).into(), (&n).into()], &mut [(&mut o).into()])
        .starts_with("call_into: input 0 is a float32 slice of 5 elements"));
    assert_eq!(
        err(
            &[ArgView::new(&x, &[3, 2]), (&n).into()],
            &mut [(&mut o).into()]
        ),
        "call_into: input 0 is float32[3,2] but the function was compiled for float32[2,3] (6 \
         elements)"
    );
    let nf = [3.0f32];
    assert!(
        err(&[(&x).into(), (&nf).into()], &mut [(&mut o).into()]).starts_with(
            "call_into: input 1 is a float32 slice of 1 elements but the function was \
                      compiled for int32[]"
        )
    );
    let mut oi = [0i32; 6];
    assert!(err(&[(&x).into(), (&n).into()], &mut [(&mut oi).into()])
        .starts_with("call_into: output 0 is a int32 slice of 6 elements"));
    assert_eq!(o, [0.0; 6], "nothing written on error");
}

#[test]
fn call_into_takes_more_pointers_than_the_stack_holds() {
    // 20 inputs, 20 outputs: `x_i * i`.
    let f = jit(|xs: &Vec<Array>| -> Vec<Array> {
        xs.iter().enumerate().map(|(i, x)| x * (i as f32)).collect()
    });
    let xs: Vec<Array> = (0..20)
        .map(|i| Array::from_slice(&[i as f32, 1.0]))
        .collect();
    let c = f.lower((xs,)).unwrap().compile().unwrap();
    let ins: Vec<[f32; 2]> = (0..20).map(|i| [i as f32, 1.0]).collect();
    let mut outs = [[0.0f32; 2]; 20];
    let views: Vec<ArgView> = ins.iter().map(ArgView::from).collect();
    let mut out_views: Vec<OutView> = outs.iter_mut().map(OutView::from).collect();
    for _ in 0..3 {
        c.call_into(&views, &mut out_views).unwrap();
    }
    drop(out_views);
    for (i, o) in outs.iter().enumerate() {
        assert_eq!(*o, [(i * i) as f32, i as f32]);
    }
}

#[test]
fn control_flow_lowers_compiles_and_runs_into_slices() {
    // Newton's iteration for sqrt(a), in a while_loop until converged.
    let newton = |a: &Array| -> Array {
        let (r, _) = or_raise(while_loop(
            |c: &(Array, Array)| jnp::less(&c.1, 30i32),
            |c: &(Array, Array)| ((&c.0 + a / &c.0) * 0.5, &c.1 + Array::scalar(1i32)),
            (a.clone(), Array::scalar(0i32)),
        ));
        r
    };
    let f = jit(newton);
    let c = f
        .lower((ShapeDtypeStruct::new(&[4], DType::F64).into(),))
        .unwrap()
        .compile()
        .unwrap();
    assert!(
        c.kernels_summary().contains("while"),
        "{}",
        c.kernels_summary()
    );
    let a = [2.0f64, 9.0, 0.25, 1e6];
    let mut r = [0.0f64; 4];
    c.call_into(&[(&a).into()], &mut [(&mut r).into()]).unwrap();
    let want = f
        .call((Array::from_slice(&a),))
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    assert_eq!(r.to_vec(), want);
    for (r, a) in r.iter().zip(a) {
        assert!((r - a.sqrt()).abs() <= 1e-12 * a.sqrt(), "{r} vs sqrt({a})");
    }
}

use cranax::core::error::or_raise;
