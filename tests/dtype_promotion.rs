//! Type promotion against JAX 0.10.2's own table (tests/data/gen_dtype_promotion.py, x64 on):
//! `DType::promote` is `jnp.promote_types` and `numpy::result_type` is `jax.dtypes.result_type`
//! with weak types, for every pair of operand types cranax has. A weak result takes cranax's
//! default of its kind (`i32`, `f32`: JAX's non-x64 defaults) where x64 JAX says int64/float64.

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::dtype::DType;
use cranax::numpy::result_type;
use cranax::Array;
use jax_data::load;

fn dtype(name: &str) -> Option<DType> {
    DType::ALL.into_iter().find(|d| d.numpy_name() == name)
}

fn operand(dt: DType, weak: bool) -> Array {
    if weak {
        Array::weak_scalar(0.0, dt)
    } else {
        Array::zeros(&[], dt)
    }
}

/// JAX's x64 answer, with a weak int64/float64 read as cranax's weak default of that kind.
fn expected(name: &str, weak: bool) -> Option<DType> {
    match (name, weak) {
        ("int64", true) => Some(DType::I32),
        ("float64", true) => Some(DType::F32),
        _ => dtype(name),
    }
}

#[test]
fn promote_types_matches_jax_for_every_pair() {
    let data = load("jax_dtype_promotion.json");
    let mut checked = 0;
    for case in data["cases"].as_array().unwrap() {
        let Some(pair) = case["promote_types"].as_array() else {
            continue;
        };
        let (Some(a), Some(b)) = (
            dtype(pair[0].as_str().unwrap()),
            dtype(pair[1].as_str().unwrap()),
        ) else {
            continue;
        };
        let want = dtype(case["dtype"].as_str().unwrap()).unwrap();
        // u64 with a signed integer joins at the weak float: x64 JAX's default float is f64,
        // cranax's is f32.
        let want = if want == DType::F64 && a != DType::F64 && b != DType::F64 {
            DType::F32
        } else {
            want
        };
        assert_eq!(DType::promote(a, b), want, "promote_types({a}, {b})");
        checked += 1;
    }
    assert_eq!(checked, 13 * 13, "pairs checked");
}

#[test]
fn result_type_with_weak_types_matches_jax_for_every_pair() {
    let data = load("jax_dtype_promotion.json");
    let mut checked = 0;
    for case in data["cases"].as_array().unwrap() {
        let Some(a) = case["a"].as_str() else {
            continue;
        };
        let (Some(a), Some(b)) = (dtype(a), dtype(case["b"].as_str().unwrap())) else {
            continue;
        };
        let (aw, bw) = (
            case["a_weak"].as_bool().unwrap(),
            case["b_weak"].as_bool().unwrap(),
        );
        let (want, want_weak) = (
            case["dtype"].as_str().unwrap(),
            case["weak"].as_bool().unwrap(),
        );
        let got = result_type(&[&operand(a, aw), &operand(b, bw)]);
        let w = expected(want, want_weak).unwrap();
        assert_eq!(
            got,
            (w, want_weak),
            "result_type({a}{}, {b}{}): JAX x64 gives {want} weak={want_weak}",
            if aw { " weak" } else { "" },
            if bw { " weak" } else { "" },
        );
        checked += 1;
    }
    assert_eq!(checked, 15 * 15, "pairs checked");
}
