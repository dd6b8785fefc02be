//! `lax.conv_general_dilated` against JAX 0.10.2 (tests/data/jax_conv.json, made by the
//! committed tests/data/gen_jax_conv.py): values and gradients w.r.t. both operands in f32 and
//! f64, eagerly and under `jit`; `check_grads` (fwd and rev, order 2, f64); `vmap` against a
//! per-example loop; the printed jaxpr against JAX's; bad input errors.

use cranax::lax;
use cranax::prims::Padding;
use cranax::test_util::FWD_REV;
use cranax::{check_grads, grad, jit, make_jaxpr, vmap, Array, DType, Function, ARG0, ARG1};
use serde_json::Value;

fn data() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/jax_conv.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The script's inputs: `sin(0.37 i + seed)`, computed in f64 and rounded to `dt`.
fn input(shape: &[usize], seed: f64, dt: DType) -> Array {
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n).map(|i| (0.37 * i as f64 + seed).sin()).collect();
    let a = Array::from_vec(v, shape).unwrap();
    lax::convert_element_type(&a, dt).unwrap()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// The case's keyword arguments as a call of `lax::conv_general_dilated`.
fn conv_of(kw: &Value) -> impl Fn(&Array, &Array) -> cranax::core::error::Result<Array> + Clone {
    let strides = usizes(&kw["window_strides"]);
    let padding = match &kw["padding"] {
        Value::String(s) if s == "SAME" => Padding::Same,
        Value::String(s) if s == "SAME_LOWER" => Padding::SameLower,
        Value::String(s) if s == "VALID" => Padding::Valid,
        p => Padding::Explicit(
            p.as_array()
                .unwrap()
                .iter()
                .map(|lh| (lh[0].as_i64().unwrap(), lh[1].as_i64().unwrap()))
                .collect(),
        ),
    };
    let opt = |k: &str| kw.get(k).map(usizes);
    let (ld, rd) = (opt("lhs_dilation"), opt("rhs_dilation"));
    let dn: Option<(String, String, String)> = kw.get("dimension_numbers").map(|d| {
        let s = |i: usize| d[i].as_str().unwrap().to_string();
        (s(0), s(1), s(2))
    });
    let count = |k: &str| kw.get(k).map_or(1, |v| v.as_u64().unwrap() as usize);
    let (fg, bg) = (count("feature_group_count"), count("batch_group_count"));
    move |x: &Array, w: &Array| {
        lax::conv_general_dilated(
            x,
            w,
            &strides,
            padding.clone(),
            ld.as_deref(),
            rd.as_deref(),
            dn.as_ref()
                .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str())),
            fg,
            bg,
        )
    }
}

fn assert_close(what: &str, got: &Array, want: &Value, dt: DType) {
    let want: Vec<f64> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let got = got.to_f64_vec().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: size");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    // f64: summation order differs from XLA's (a few ulps of the largest term); f32 likewise.
    let tol = if dt == DType::F64 { 1e-12 } else { 2e-5 } * scale;
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= tol, "{what}[{i}]: got {g}, JAX {w}");
    }
}

#[test]
fn values_and_grads_match_jax() {
    let d = data();
    for case in d["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let conv = conv_of(&case["kwargs"]);
        for (key, dt) in [("f32", DType::F32), ("f64", DType::F64)] {
            let j = &case[key];
            let x = input(&usizes(&case["lhs"]), 0.1, dt);
            let w = input(&usizes(&case["rhs"]), 0.7, dt);
            let cot = input(&usizes(&j["out_shape"]), 1.3, dt);
            let c = conv.clone();
            let loss = move |x: &Array, w: &Array| {
                let y = c(x, w)?;
                lax::reduce_sum(&lax::mul(&y, &cot)?, &(0..y.ndim()).collect::<Vec<_>>())
            };
            for jitted in [false, true] {
                let m = format!("{name} {key} jit={jitted}");
                let (out, (gx, gw)) = if jitted {
                    (
                        jit(conv.clone()).call((x.clone(), w.clone())).unwrap(),
                        jit(grad(loss.clone()).argnums((ARG0, ARG1)))
                            .call((x.clone(), w.clone()))
                            .unwrap(),
                    )
                } else {
                    (
                        Function::call(&conv, (x.clone(), w.clone())).unwrap(),
                        grad(loss.clone())
                            .argnums((ARG0, ARG1))
                            .call((x.clone(), w.clone()))
                            .unwrap(),
                    )
                };
                assert_eq!(out.shape(), usizes(&j["out_shape"]).as_slice(), "{m}");
                assert_eq!(out.dtype(), dt, "{m}");
                assert_close(&format!("{m} out"), &out, &j["out"], dt);
                assert_close(&format!("{m} grad lhs"), &gx, &j["grad_lhs"], dt);
                assert_close(&format!("{m} grad rhs"), &gw, &j["grad_rhs"], dt);
            }
        }
    }
}

#[test]
fn check_grads_order_2() {
    let d = data();
    for case in d["cases"].as_array().unwrap() {
        let conv = conv_of(&case["kwargs"]);
        let x = input(&usizes(&case["lhs"]), 0.1, DType::F64);
        let w = input(&usizes(&case["rhs"]), 0.7, DType::F64);
        check_grads(&conv, (x, w), 2, FWD_REV).unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
    }
}

#[test]
fn vmap_matches_a_loop() {
    let d = data();
    for case in d["cases"].as_array().unwrap() {
        let conv = conv_of(&case["kwargs"]);
        let (ls, rs) = (usizes(&case["lhs"]), usizes(&case["rhs"]));
        let xb = input(&[[3].as_slice(), &ls].concat(), 0.2, DType::F64);
        let wb = input(&[[3].as_slice(), &rs].concat(), 0.9, DType::F64);
        let x = input(&ls, 0.1, DType::F64);
        let w = input(&rs, 0.7, DType::F64);
        let slice = |a: &Array, i: usize| {
            let mut s = vec![0; a.ndim()];
            let mut l = a.shape().to_vec();
            s[0] = i;
            l[0] = i + 1;
            lax::reshape(&lax::slice(a, &s, &l, None).unwrap(), &a.shape()[1..]).unwrap()
        };
        let name = case["name"].as_str().unwrap();
        for (which, xs, ws) in [
            ("both", true, true),
            ("lhs", true, false),
            ("rhs", false, true),
        ] {
            let c = conv.clone();
            let (xa, wa) = (
                if xs { xb.clone() } else { x.clone() },
                if ws { wb.clone() } else { w.clone() },
            );
            let axes: Vec<Option<isize>> = vec![
                if xs { Some(0) } else { None },
                if ws { Some(0) } else { None },
            ];
            let got = vmap(move |x: &Array, w: &Array| c(x, w))
                .in_axes(axes)
                .call((xa.clone(), wa.clone()))
                .unwrap();
            for i in 0..3 {
                let xi = if xs { slice(&xa, i) } else { xa.clone() };
                let wi = if ws { slice(&wa, i) } else { wa.clone() };
                let want = conv(&xi, &wi).unwrap().to_f64_vec().unwrap();
                assert_eq!(
                    slice(&got, i).to_f64_vec().unwrap(),
                    want,
                    "{name} vmap {which} [{i}]"
                );
            }
        }
    }
}

#[test]
fn jaxprs_print_as_jax() {
    let d = data();
    let x = Array::zeros(&[1, 2, 5, 5], DType::F32);
    let w = Array::zeros(&[3, 2, 2, 2], DType::F32);
    let f = |x: &Array, w: &Array| {
        lax::conv_general_dilated(
            x,
            w,
            &[1, 1],
            Padding::Same,
            None,
            Some(&[2, 1]),
            None,
            1,
            1,
        )
    };
    assert_eq!(
        make_jaxpr(f).call((x, w)).unwrap().to_string().trim(),
        d["jaxprs"]["nchw_same_dil"].as_str().unwrap().trim()
    );
    let x = Array::zeros(&[1, 5, 5, 2], DType::F32);
    let w = Array::zeros(&[2, 2, 2, 3], DType::F32);
    let f = |x: &Array, w: &Array| {
        let dn = ("NHWC", "HWIO", "NHWC");
        lax::conv_general_dilated(
            x,
            w,
            &[1, 1],
            Padding::Explicit(vec![(1, -1), (0, 0)]),
            None,
            None,
            Some(dn),
            1,
            1,
        )
    };
    let printed = make_jaxpr(f).call((x, w)).unwrap().to_string();
    assert_eq!(
        printed.trim(),
        d["jaxprs"]["nhwc_explicit"].as_str().unwrap().trim()
    );
    // And it reads back.
    let parsed = cranax::ir::parse::parse(&printed).unwrap();
    assert_eq!(cranax::ir::pretty::pp_jaxpr(&parsed).trim(), printed.trim());
}

#[test]
fn bad_input_names_the_op_and_shapes() {
    let x = Array::zeros(&[1, 4, 5, 5], DType::F32);
    let err = |w: &Array, fg: usize, bg: usize| {
        lax::conv_general_dilated(&x, w, &[1, 1], Padding::Valid, None, None, None, fg, bg)
            .unwrap_err()
            .to_string()
    };
    let e = err(&Array::zeros(&[2, 3, 2, 2], DType::F32), 1, 1);
    assert!(e.contains("conv_general_dilated lhs feature dimension size divided by feature_group_count must equal the rhs input feature dimension size, but 4 // 1 != 3."), "{e}");
    assert!(
        e.contains("f32[1,4,5,5]") && e.contains("f32[2,3,2,2]"),
        "{e}"
    );
    let e = err(&Array::zeros(&[2, 1, 2, 2], DType::F32), 3, 1);
    assert!(
        e.contains(
            "feature_group_count must divide lhs feature dimension size, but 3 does not divide 4."
        ),
        "{e}"
    );
    let e = err(&Array::zeros(&[3, 2, 2, 2], DType::F32), 2, 1);
    assert!(e.contains("rhs output feature dimension size must be a multiple of feature_group_count, but 3 is not a multiple of 2."), "{e}");
    let e = err(&Array::zeros(&[2, 4, 2, 2], DType::F32), 1, 2);
    assert!(
        e.contains(
            "batch_group_count must divide lhs batch dimension size, but 2 does not divide 1."
        ),
        "{e}"
    );
    let e = err(&Array::zeros(&[2, 4, 2, 2], DType::F64), 1, 1);
    assert!(e.contains("conv_general_dilated requires arguments to have the same dtypes, got float32, float64."), "{e}");
    let e = err(&Array::zeros(&[2, 4, 2], DType::F32), 1, 1);
    assert!(
        e.contains("convolution requires lhs and rhs ndim to be equal, got 4 and 3."),
        "{e}"
    );
    let e = lax::conv_general_dilated(
        &x,
        &Array::zeros(&[2, 4, 2, 2], DType::F32),
        &[1, 1],
        Padding::Explicit(vec![(-3, -3), (0, 0)]),
        None,
        None,
        None,
        1,
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("Negative padding is larger than the size of the corresponding dimension"),
        "{e}"
    );
    let e = lax::conv_general_dilated(
        &x,
        &Array::zeros(&[2, 4, 2, 2], DType::F32),
        &[1, 1],
        Padding::Valid,
        None,
        None,
        Some(("NCHW", "OIHW", "NXHW")),
        1,
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(
            "convolution dimension_numbers[2] must contain the characters 'N' and 'C' exactly once"
        ),
        "{e}"
    );
}
