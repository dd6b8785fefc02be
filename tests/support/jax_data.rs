//! Reading the JAX reference data committed in tests/data (made by tests/data/gen_jax_reference.py).

use cranax::Array;
use serde_json::Value;

/// A JSON file of tests/data.
pub fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `{shape, dtype, data}` as an array of that dtype (float32 or float64).
pub fn arr(v: &Value) -> Array {
    let shape = shape(v);
    let data = floats(&v["data"]);
    match v["dtype"].as_str().unwrap() {
        "float64" => Array::from_vec(data, &shape).unwrap(),
        "float32" => Array::from_vec(data.iter().map(|&d| d as f32).collect(), &shape).unwrap(),
        other => panic!("dtype {other}"),
    }
}

/// The `shape` of a `{shape, dtype, data}` record.
pub fn shape(v: &Value) -> Vec<usize> {
    v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

/// A JSON list of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap())
        .collect()
}
