//! What the linear-algebra tests (tests/linalg.rs, tests/linalg_decomp.rs) share: the JAX data
//! file, its inputs, comparisons within a tolerance, eager-or-jit calls, error capture.

#[path = "jax_data.rs"]
#[allow(dead_code)]
mod jax_data;

use cranax::core::error::or_raise;
use cranax::pytree::ArgTuple;
use cranax::{jit, lax, Array, DType, Function, Result};
pub use jax_data::floats;
use serde_json::Value;

/// tests/data/jax_linalg.json (made by tests/data/gen_jax_linalg.py).
pub fn data() -> Value {
    jax_data::load("jax_linalg.json")
}

/// The input `name` of the data file, shaped and converted to `dt`.
pub fn input(d: &Value, name: &str, shape: &[usize], dt: DType) -> Array {
    let a = Array::from_vec(floats(&d["inputs"][name]), shape).unwrap();
    or_raise(lax::convert_element_type(&a, dt))
}

pub fn to_f64(x: &Array) -> Vec<f64> {
    match x.dtype() {
        DType::F32 => x
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        DType::I32 => x
            .to_vec::<i32>()
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .collect(),
        _ => x.to_vec::<f64>().unwrap(),
    }
}

/// `got` agrees with `want` within `rtol` relative (absolute below magnitude 1).
pub fn assert_close_vals(what: &str, got: &[f64], want: &[f64], rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs JAX {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= rtol * w.abs().max(1.0),
            "{what}[{i}]: {g} vs JAX {w} (rtol {rtol})"
        );
    }
}

/// `got` agrees with JAX's `want` within `rtol` (f64) or `rtol32` (f32).
pub fn assert_close_tol(what: &str, got: &Array, want: &Value, rtol: f64, rtol32: f64) {
    let tol = if got.dtype() == DType::F32 {
        rtol32
    } else {
        rtol
    };
    let what = format!("{what} ({:?})", got.dtype());
    assert_close_vals(&what, &to_f64(got), &floats(want), tol);
}

#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Eager,
    Jit,
}

pub fn call<Args: ArgTuple, F: Function<Args>>(mode: Mode, f: F, args: Args) -> F::Output {
    match mode {
        Mode::Eager => f.call(args).unwrap_or_else(|e| panic!("eager: {e}")),
        Mode::Jit => jit(f).call(args).unwrap_or_else(|e| panic!("jit: {e}")),
    }
}

/// Max |x - y| relative to max |y|.
pub fn rel_err(x: &Array, y: &Array) -> f64 {
    let (x, y) = (to_f64(x), to_f64(y));
    let scale = y.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    x.iter()
        .zip(&y)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

/// The error message of a call expected to fail (raised or returned).
pub fn err_of<T>(f: impl FnOnce() -> Result<T>) -> String {
    match cranax::core::error::catch(f) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// The four tests `against_jax_{f64,f32}_{eager,jit}` running `$f(Mode, DType)`.
#[macro_export]
macro_rules! against_jax_tests {
    ($f:ident) => {
        #[test]
        fn against_jax_f64_eager() {
            $f(Mode::Eager, DType::F64)
        }
        #[test]
        fn against_jax_f64_jit() {
            $f(Mode::Jit, DType::F64)
        }
        #[test]
        fn against_jax_f32_eager() {
            $f(Mode::Eager, DType::F32)
        }
        #[test]
        fn against_jax_f32_jit() {
            $f(Mode::Jit, DType::F32)
        }
    };
}
