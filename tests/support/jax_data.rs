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

/// A JSON list of unsigned integers (values stored as their bits).
pub fn bits(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
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

/// A JSON number or one of the strings "nan", "inf", "-inf".
pub fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            other => panic!("number {other}"),
        },
        Value::Bool(b) => *b as u8 as f64,
        _ => v.as_f64().unwrap(),
    }
}

pub fn array(v: &Value) -> Array {
    let shape = shape(v);
    let data: Vec<f64> = v["data"].as_array().unwrap().iter().map(num).collect();
    match v["dtype"].as_str().unwrap() {
        "float64" => Array::from_vec(data, &shape),
        "float32" => Array::from_vec(data.iter().map(|&d| d as f32).collect(), &shape),
        "int32" => Array::from_vec(data.iter().map(|&d| d as i32).collect(), &shape),
        "uint32" => Array::from_vec(data.iter().map(|&d| d as u32).collect(), &shape),
        "bool" => Array::from_vec(data.iter().map(|&d| d != 0.0).collect(), &shape),
        other => panic!("dtype {other}"),
    }
    .unwrap()
}

/// The distance in ulps of the dtype (f32 or f64) between two floats of one sign class.
pub fn ulps(a: f64, b: f64, f32s: bool) -> u64 {
    let key = |x: f64| -> i128 {
        let i = if f32s {
            (x as f32).to_bits() as i32 as i128
        } else {
            x.to_bits() as i64 as i128
        };
        if i < 0 {
            (if f32s {
                i32::MIN as i128
            } else {
                i64::MIN as i128
            }) - i
        } else {
            i
        }
    };
    (key(a) - key(b)).unsigned_abs() as u64
}
