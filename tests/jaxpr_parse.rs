//! The jaxpr parser (`cranax::ir::parse`): every primitive reads back from its printed form,
//! jaxprs with nested calls and control flow round-trip, JAX's own printing reads, and bad
//! text gives an error with its line and column.

use cranax::core::aval::Aval;
use cranax::ir::parse::{parse, parse_closed};
use cranax::ir::{Atom, ClosedJaxpr, Eqn, Jaxpr, Var};
use cranax::prims::Prim;
use cranax::{
    checkpoint, custom_jvp, eval_jaxpr, jit, lax, make_jaxpr, Array, DType, Function, Scalar,
};
use proptest::prelude::*;
use std::sync::Arc;

#[path = "support/programs.rs"]
mod programs;

#[path = "support/primitives.rs"]
mod primitives;
use primitives::{instances, variant};

#[path = "support/exact_programs.rs"]
mod exact_programs;
use exact_programs::{apply_exact, exact_step};

/// `print → parse` gives a jaxpr `same_as` the original, which prints the same.
fn assert_round_trip(j: &ClosedJaxpr) {
    let text = j.to_string();
    let back = parse_closed(&text, j.consts.clone())
        .unwrap_or_else(|e| panic!("cannot parse back\n{text}\n{e}"));
    assert_eq!(back.to_string(), text, "prints differently after parsing");
    assert!(back.same_as(j), "not the same jaxpr after parsing:\n{text}");
}

/// One equation of `prim` on inputs of these types, as a closed jaxpr.
fn one_eqn(prim: Prim, ins: &[Aval]) -> ClosedJaxpr {
    let refs: Vec<&Aval> = ins.iter().collect();
    let outs = prim
        .abstract_eval(&refs)
        .unwrap_or_else(|e| panic!("{}: {e}", prim.name()));
    let mut avals = ins.to_vec();
    avals.extend(outs.iter().cloned());
    let n = ins.len() as u32;
    let outputs: Vec<Var> = (n..n + outs.len() as u32).map(Var).collect();
    let j = Jaxpr {
        avals,
        constvars: vec![],
        invars: (0..n).map(Var).collect(),
        eqns: vec![Eqn {
            prim,
            inputs: (0..n).map(|i| Atom::Var(Var(i))).collect(),
            outputs: outputs.iter().copied().collect(),
        }],
        outvars: outputs.into_iter().map(Atom::Var).collect(),
    };
    ClosedJaxpr::from(j)
}

#[test]
fn every_primitive_reads_back_from_its_printed_form() {
    let mut seen = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for (prim, ins) in instances() {
        seen.insert(variant(&prim));
        let j = one_eqn(prim, &ins);
        let text = j.to_string();
        match parse(&text) {
            Ok(back) if ClosedJaxpr::from(back.clone()).same_as(&j) => {}
            Ok(back) => failures.push(format!("{text}\n  reads back as\n{back}")),
            Err(e) => failures.push(format!("{text}\n  {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Every variant of every family (custom_lin has no text form) has an instance.
    for name in [
        "select_n",
        "dot_general",
        "conv_general_dilated",
        "threefry2x32",
        "reduce_sum",
        "reduce_prod",
        "reduce_and",
        "reduce_or",
        "reduce_xor",
        "cumsum",
        "cumprod",
        "cummax",
        "cummin",
        "cumlogsumexp",
        "sort",
        "top_k",
        "reduce_max",
        "reduce_min",
        "argmax",
        "argmin",
        "broadcast_in_dim",
        "reshape",
        "transpose",
        "rev",
        "squeeze",
        "concatenate",
        "pad",
        "slice",
        "dynamic_slice",
        "dynamic_update_slice",
        "gather",
        "scatter",
        "scatter-add",
        "scatter-mul",
        "scatter-min",
        "scatter-max",
        "iota",
        "clamp",
        "reduce_window_sum",
        "reduce_window_max",
        "reduce_window_min",
        "select_and_gather_add",
        "select_and_scatter_add",
        "cholesky",
        "triangular_solve",
        "lu",
        "lu_pivots_to_permutation",
        "qr",
        "eigh",
        "svd",
        "pjit",
        "custom_jvp_call",
        "custom_vjp_call",
        "remat2",
        "while",
        "scan",
        "cond",
    ] {
        assert!(seen.contains(name), "no instance of {name}");
    }
}

#[test]
fn nested_calls_and_control_flow_round_trip() {
    let x = Array::from_vec(vec![0.5f32, -1.0, 2.0], &[3]).unwrap();
    let inner = jit(|x: &Array| &lax::tanh(x).unwrap() * 3.0);
    let j = make_jaxpr(|x: &Array| {
        let y = inner.call((x.clone(),)).unwrap();
        let z = checkpoint(|v: &Array| lax::exp(v).unwrap())
            .call((y.clone(),))
            .unwrap();
        let (c, ys) = lax::scan(
            |c: &Array, x: &Array| {
                let k = lax::cond(
                    &lax::gt(x, &Array::from(0.0f32)).unwrap(),
                    |v: &Array| v * 2.0,
                    |v: &Array| v - 1.0,
                    x,
                )
                .unwrap();
                (c + &k, c * x)
            },
            Array::from(0.0f32),
            z,
        )
        .unwrap();
        (c, ys)
    })
    .call((x.clone(),))
    .unwrap();
    assert_round_trip(&j);
    let gj = make_jaxpr(cranax::grad(|x: &Array| {
        let y = inner.call((x.clone(),)).unwrap();
        lax::reduce_sum(
            &checkpoint(|v: &Array| lax::sin(v).unwrap())
                .call((y,))
                .unwrap(),
            &[0],
        )
        .unwrap()
    }))
    .call((x.clone(),))
    .unwrap();
    assert_round_trip(&gj);
    let back = parse_closed(&gj.to_string(), vec![]).unwrap();
    assert_eq!(
        eval_jaxpr(&back, std::slice::from_ref(&x)).unwrap()[0]
            .to_f64_vec()
            .unwrap(),
        eval_jaxpr(&gj, &[x]).unwrap()[0].to_f64_vec().unwrap()
    );
}

#[test]
fn a_custom_jvp_call_read_from_text_differentiates_its_jaxpr() {
    // The rule is Rust code and is not in the text: the parsed call prints the same and
    // evaluates the same, and its derivative is that of its jaxpr.
    let f = custom_jvp(
        |x: &Array| lax::sin(x).unwrap(),
        |p: &[Array], t: &[Array]| (vec![lax::sin(&p[0]).unwrap()], vec![&t[0] * 100.0]),
    );
    let x = Array::from(0.5f32);
    let j = make_jaxpr(|x: &Array| f.call((x.clone(),)).unwrap())
        .call((x.clone(),))
        .unwrap();
    let back = parse_closed(&j.to_string(), vec![]).unwrap();
    assert_eq!(back.to_string(), j.to_string());
    assert!(!back.same_as(&j), "the rules differ");
    let g =
        cranax::grad(|x: &Array| eval_jaxpr(&back, std::slice::from_ref(x)).unwrap()[0].clone())
            .call((x,))
            .unwrap();
    assert_eq!(g.to_scalar().unwrap(), Scalar::F32(0.5f32.cos()));
}

#[test]
fn reads_jax_0_10_printing() {
    // Printed by JAX 0.10.2: make_jaxpr(f)(ones((3, 4)), ones((2, 3))) with
    // f = lambda w, x: jnp.sum(jnp.where(jnp.tanh(x @ w) > 0, ...) ** 2) and a grad of it.
    let text = "{ lambda ; a:f32[3,4] b:f32[2,3]. let
    c:f32[2,4] = dot_general[
      dimension_numbers=(([1], [0]), ([], []))
      preferred_element_type=float32
    ] b a
    d:f32[2,4] = tanh c
    e:bool[2,4] = gt d 0.0:f32[]
    f:f32[2,4] = neg d
    g:f32[2,4] = jit[
      name=_where
      jaxpr={ lambda ; e:bool[2,4] d:f32[2,4] f:f32[2,4]. let
          g:f32[2,4] = select_n e f d
        in (g,) }
    ] e d f
    h:f32[2,4] = integer_pow[y=2] g
    i:f32[] = reduce_sum[axes=(0, 1) out_sharding=None] h
    k:f32[2,4] = broadcast_in_dim 1.0:f32[]
    l:f32[2,4] = mul k h
  in (i, l) }";
    let j = parse(text).unwrap();
    assert_eq!(j.eqns.len(), 9);
    let ins = [
        Array::from_vec(vec![0.5f32; 12], &[3, 4]).unwrap(),
        Array::from_vec(vec![1.0f32, -2.0, 0.5, 0.0, 1.5, -1.0], &[2, 3]).unwrap(),
    ];
    let out = eval_jaxpr(&ClosedJaxpr::from(j), &ins).unwrap();
    // Row sums of x are -0.5 and 0.5, so every entry of x @ w is -0.25 or 0.25 and
    // |tanh|^2 summed over 8 entries is 8 tanh(0.25)^2.
    let want = 8.0 * (0.25f64).tanh().powi(2);
    assert!((out[0].to_f64_vec().unwrap()[0] - want).abs() < 1e-6);

    // Top-level `let` definitions referenced by name, as JAX 0.7+ prints repeated jits.
    let text = "let g = { lambda ; a:f32[3]. let
    b:f32[3] = sin a
    c:f32[3] = mul b 2.0:f32[]
  in (c,) } in
{ lambda ; d:f32[3]. let
    e:f32[3] = jit[name=g jaxpr=g] d
    f:f32[3] = jit[name=g jaxpr=g] d
    h:f32[3] = add e f
  in (h,) }";
    let j = ClosedJaxpr::from(parse(text).unwrap());
    let x = Array::from_vec(vec![0.0f32, 1.0, -1.0], &[3]).unwrap();
    let out = eval_jaxpr(&j, &[x]).unwrap()[0].to_f64_vec().unwrap();
    let want = [0.0, 4.0 * 1.0f32.sin() as f64, -4.0 * 1.0f32.sin() as f64];
    for (o, w) in out.iter().zip(want) {
        assert!((o - w).abs() < 1e-6, "{o} vs {w}");
    }
}

#[test]
fn literals_take_the_dtype_of_their_equation() {
    let j = parse("{ lambda ; a:f64[2] b:u32[]. let c:f64[2] = mul 2.5 a; d:u32[] = shift_left b 3 in (c, d) }")
        .unwrap();
    let lit = |e: usize| match &j.eqns[e].inputs[..] {
        [Atom::Lit(l), _] | [_, Atom::Lit(l)] => l.value,
        _ => panic!("no literal"),
    };
    assert_eq!(lit(0), Scalar::F64(2.5));
    assert_eq!(lit(1), Scalar::U32(3));
}

#[test]
fn bad_text_gives_line_column_and_what_was_expected() {
    let err = |t: &str| parse(t).unwrap_err().to_string();
    let e = err("{ lambda ; a:f32[]. let\n    b:f32[] = frobnicate a\n  in (b,) }");
    assert!(
        e.contains("line 2, column 15") && e.contains("unknown primitive `frobnicate`"),
        "{e}"
    );
    let e = err("{ lambda ; a:f32[]. let b:f32[] = sin c in (b,) }");
    assert!(
        e.contains("line 1, column 39") && e.contains("unknown variable `c`"),
        "{e}"
    );
    let e = err("{ lambda ; a:f32[] let b:f32[] = sin a in (b,) }");
    assert!(
        e.contains("line 1, column 20") && e.contains("expected"),
        "{e}"
    );
    let e = err("{ lambda ; a:f32[3]. let b:f32[4] = sin a in (b,) }");
    assert!(
        e.contains("b is declared f32[4] but sin gives f32[3]"),
        "{e}"
    );
    let e = err("{ lambda ; a:f32[3]. let b:f32[] = reduce_sum a in (b,) }");
    assert!(e.contains("reduce_sum: missing parameter axes"), "{e}");
    let e = err("{ lambda ; a:f32[3]. let b:f32[] = reduce_sum[axes=x] a in (b,) }");
    assert!(e.contains("axes=x should be a tuple or list"), "{e}");
    let e = err("{ lambda ; a:c64[3]. let in (a,) }");
    assert!(e.contains("unsupported dtype `c64`"), "{e}");
    let e = err("{ lambda ; a:f32[3]. let b:f32[3] = add a True in (b,) }");
    assert!(e.contains("add"), "{e}");
    let e = err("{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b,)");
    assert!(
        e.contains("expected `}`") && e.contains("the end of the text"),
        "{e}"
    );
}

#[test]
fn constvars_take_their_values_from_the_caller() {
    let w = Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
    let j = make_jaxpr(|x: &Array| x * &w)
        .call((Array::zeros(&[3], DType::F32),))
        .unwrap();
    assert_eq!(j.jaxpr.constvars.len(), 1);
    assert_round_trip(&j);
    assert!(parse_closed(&j.to_string(), vec![]).is_err());
    let _ = Arc::clone(&j.jaxpr);
}

fn proptest_cases(default: u32) -> u32 {
    std::env::var("CRANAX_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn array(v: &[f64], shape: &[usize], dt: DType) -> Array {
    let a = Array::from_vec(v.to_vec(), shape).unwrap();
    lax::convert_element_type(&a, dt).unwrap()
}

/// print → parse → print is the same text, the parsed jaxpr is `same_as` the original, and
/// it evaluates to the same bits.
fn check_round_trip(j: &ClosedJaxpr, args: &[Array]) -> std::result::Result<(), TestCaseError> {
    let text = j.to_string();
    let back = parse_closed(&text, j.consts.clone())
        .map_err(|e| TestCaseError::fail(format!("{text}\n{e}")))?;
    prop_assert_eq!(back.to_string(), text.clone());
    prop_assert!(back.same_as(j), "not same_as after parsing:\n{}", text);
    let (want, got) = (
        eval_jaxpr(j, args).unwrap(),
        eval_jaxpr(&back, args).unwrap(),
    );
    for (w, g) in want.iter().zip(&got) {
        prop_assert!(w.same_bits(g), "{} vs {}", w, g);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: proptest_cases(24), ..ProptestConfig::default() })]

    /// The random programs of tests/jit.rs, as traced, differentiated and batched.
    #[test]
    fn random_programs_round_trip(
        steps in programs::program(),
        xv in programs::values(12),
        yv in programs::values(4),
        f32s in any::<bool>(),
    ) {
        let dt = if f32s { DType::F32 } else { DType::F64 };
        let (x, y) = (array(&xv, &[3, 4], dt), array(&yv, &[4], dt));
        let args = [x.clone(), y.clone()];
        let f = |x: &Array, y: &Array| programs::run(&steps, x, y);
        check_round_trip(&make_jaxpr(f).call((x.clone(), y.clone())).unwrap(), &args)?;
        let g = cranax::grad(|x: &Array, y: &Array| programs::run(&steps, x, y).1);
        check_round_trip(&make_jaxpr(g).call((x.clone(), y.clone())).unwrap(), &args)?;
        let xb = array(&[xv.clone(), xv.iter().map(|v| -v).collect()].concat(), &[2, 3, 4], dt);
        let v = cranax::vmap(|x: &Array, y: &Array| programs::run(&steps, x, y).0)
            .in_axes([Some(0), None]);
        check_round_trip(&make_jaxpr(v).call((xb.clone(), y.clone())).unwrap(), &[xb, y])?;
    }

    /// The exact programs of tests/jit.rs (transposes, selects, broadcasts, reductions).
    #[test]
    fn exact_programs_round_trip(
        steps in prop::collection::vec(exact_step(), 1..8),
        xv in programs::values(6),
    ) {
        let x = array(&xv, &[2, 3], DType::F32);
        let (row, col) = (array(&xv[..3], &[3], DType::F32), array(&xv[3..5], &[2], DType::F32));
        let f = |x: &Array, r: &Array, c: &Array| {
            cranax::core::error::or_raise(apply_exact(&steps, x, x, r, c)).0
        };
        let args = [x.clone(), row.clone(), col.clone()];
        check_round_trip(&make_jaxpr(f).call((x, row, col)).unwrap(), &args)?;
    }
}

#[test]
fn weak_types_follow_from_the_equations() {
    // `convert_element_type[weak_type=True]` makes a weak value; the literal multiplying it
    // is weak too, as `lax::scalar_like` makes it. Neither is printed.
    let weak = Prim::Unary(cranax::prims::UnaryOp::ConvertElementType {
        new_dtype: DType::F32,
        weak_type: true,
    });
    let j = make_jaxpr(|x: &Array| {
        let w = cranax::core::trace::bind1(weak.clone(), std::slice::from_ref(x)).unwrap();
        let s = lax::add(&w, &w).unwrap();
        lax::mul(&s, &lax::scalar_like(&s, 3.0)).unwrap()
    })
    .call((Array::from_vec(vec![1.0f64, 2.0], &[2]).unwrap(),))
    .unwrap();
    assert!(j.jaxpr.avals.iter().any(|a| a.weak_type), "{j}");
    assert_round_trip(&j);
}

#[test]
fn same_as_is_equality_up_to_renaming() {
    let p = |t: &str| ClosedJaxpr::from(parse(t).unwrap());
    let base =
        p("{ lambda ; a:f32[] b:f32[]. let c:f32[] = sub a b; d:f32[] = mul c 2.0 in (d,) }");
    let renamed =
        p("{ lambda ; x:f32[] y:f32[]. let z:f32[] = sub x y; w:f32[] = mul z 2.0 in (w,) }");
    assert!(base.same_as(&renamed));
    for other in [
        "{ lambda ; a:f32[] b:f32[]. let c:f32[] = sub b a; d:f32[] = mul c 2.0 in (d,) }",
        "{ lambda ; a:f32[] b:f32[]. let c:f32[] = sub a b; d:f32[] = mul c 3.0 in (d,) }",
        "{ lambda ; a:f32[] b:f32[]. let c:f32[] = sub a b; d:f32[] = mul c 2.0 in (c,) }",
        "{ lambda ; a:f32[] b:f32[]. let c:f32[] = add a b; d:f32[] = mul c 2.0 in (d,) }",
        "{ lambda ; a:f64[] b:f64[]. let c:f64[] = sub a b; d:f64[] = mul c 2.0 in (d,) }",
    ] {
        assert!(!base.same_as(&p(other)), "{other}");
    }
}
