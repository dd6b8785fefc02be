//! `cranax::config::set_threefry_partitionable(true)`: JAX 0.10's default threefry scheme, bit
//! for bit against JAX 0.10.2 (tests/data/gen_jax_random_partitionable.py): bits in every
//! unsigned width, split, fold_in, uniform and normal in f16/f32/f64, randint, bernoulli and
//! permutation, eagerly and under `jit` (whose cache keys the switch). The switch is global:
//! this file holds one test so that nothing else runs while it is on.

#[path = "support/jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::dtype::DType;
use cranax::{config, jit, random, vmap, Array, Function};
use jax_data::load;

fn draw(f: &str, key: &Array, shape: &[usize], dtype: DType) -> Array {
    match f {
        "split" => random::split(key, shape[0]),
        "fold_in" => random::fold_in(key, 7u32),
        "bits" => random::bits_as(key, shape, dtype),
        "uniform" => random::uniform(key, shape, dtype, 0.0, 1.0),
        "normal" => random::normal(key, shape, dtype),
        "randint" => random::randint(key, shape, -5, 100),
        "bernoulli" => random::bernoulli(key, 0.3, shape),
        "permutation" => random::permutation(key, shape[0]),
        _ => unreachable!("no {f} here"),
    }
    .unwrap()
}

#[test]
fn partitionable_threefry_draws_match_jax_eager_and_jit() {
    let data = load("jax_random_partitionable.json");
    let key0 = random::PRNGKey(0);
    let original = random::uniform(&key0, &[3], DType::F32, 0.0, 1.0).unwrap();
    let jitted = jit(|k: &Array| random::uniform(k, &[3], DType::F32, 0.0, 1.0));
    let jit_original = jitted.call((key0.clone(),)).unwrap();
    assert!(!config::set_threefry_partitionable(true));
    let mut failures = vec![];
    let cases = data["cases"].as_array().unwrap();
    for case in cases {
        let f = case["fn"].as_str().unwrap();
        let seed = case["seed"].as_i64().unwrap();
        let dtype = DType::from_name(case["dtype"].as_str().unwrap()).unwrap();
        let shape = jax_data::shape(case);
        let want = jax_data::bits(&case["out"]);
        let key = random::PRNGKey(seed);
        let eager = draw(f, &key, &shape, dtype);
        let (s, f2) = (shape.clone(), f.to_string());
        let compiled = jit(move |k: &Array| Ok(draw(&f2, k, &s, dtype)))
            .call((key,))
            .unwrap();
        for (how, got) in [("eager", eager), ("jit", compiled)] {
            let got = got.data().unwrap().to_bits();
            if got != want {
                failures.push(format!(
                    "{how} {f} seed {seed} {dtype}{shape:?}: {got:?} vs {want:?}"
                ));
            }
        }
    }
    // The jit cache keys the switch: the same function retraces for the other scheme. So does
    // the compiled draw behind a large eager `normal` (see `random::normal`).
    let jit_partitionable = jitted.call((key0.clone(),)).unwrap();
    let large = random::normal(&key0, &[5000], DType::F32).unwrap();
    let by_ops = vmap(|k: &Array| random::normal(k, &[5000], DType::F32))
        .call((cranax::lax::reshape(&key0, &[1, 2]).unwrap(),))
        .unwrap();
    assert!(large.same_bits(&cranax::lax::reshape(&by_ops, &[5000]).unwrap()));
    config::set_threefry_partitionable(false);
    assert!(!jit_partitionable.same_bits(&jit_original));
    assert!(jitted.call((key0.clone(),)).unwrap().same_bits(&original));
    let large_original = random::normal(&key0, &[5000], DType::F32).unwrap();
    assert!(
        !large_original.same_bits(&large),
        "the compiled draw follows the switch"
    );
    assert_eq!(cases.len(), 78);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
