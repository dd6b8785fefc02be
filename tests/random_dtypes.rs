//! `random.bits` in every unsigned width and `uniform`/`normal` in float16, bfloat16, float32
//! and float64 against JAX 0.10.2, bit for bit (tests/data/gen_jax_random_dtypes.py; x64 on,
//! `jax_threefry_partitionable=False`).

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::dtype::{DType, Scalar};
use cranax::random;
use jax_data::load;

#[test]
fn bits_uniform_and_normal_in_every_dtype_match_jax() {
    let data = load("jax_random_dtypes.json");
    let mut failures = vec![];
    let cases = data["cases"].as_array().unwrap();
    for case in cases {
        let f = case["fn"].as_str().unwrap();
        let seed = case["seed"].as_u64().unwrap();
        let dtype = DType::from_name(case["dtype"].as_str().unwrap()).unwrap();
        let shape = jax_data::shape(case);
        let key = random::PRNGKey(seed as i64);
        let got = match f {
            "bits" => random::bits_as(&key, &shape, dtype),
            "uniform" => random::uniform(
                &key,
                &shape,
                dtype,
                case["minval"].as_f64().unwrap(),
                case["maxval"].as_f64().unwrap(),
            ),
            "normal" => random::normal(&key, &shape, dtype),
            _ => unreachable!(),
        }
        .unwrap();
        assert_eq!(got.shape(), &shape[..]);
        assert_eq!(got.dtype(), dtype);
        let want = jax_data::bits(&case["out"]);
        let got = got.data().unwrap().to_bits();
        if got != want {
            let show = |b: &[u64]| -> Vec<String> {
                b.iter()
                    .map(|&x| Scalar::from_bits(x, dtype).to_string())
                    .collect()
            };
            failures.push(format!(
                "{f} seed {seed} {dtype}{shape:?} {:?}:\n   got {:?}\n  want {:?}",
                case.get("minval"),
                show(&got),
                show(&want)
            ));
        }
    }
    assert_eq!(cases.len(), 96);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
