//! Abstract values: what a tracer knows about the array it stands for (shape, dtype, weak type).

use crate::core::error::shape_str;
use crate::dtype::DType;
use std::fmt;

/// JAX's `ShapedArray`: a shape, a dtype and whether the type is weak (came from a Rust float
/// literal such as the `2.0` in `x * 2.0`, so it takes the other operand's dtype).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Aval {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub weak_type: bool,
}

impl Aval {
    pub fn new(shape: impl Into<Vec<usize>>, dtype: DType) -> Aval {
        Aval {
            shape: shape.into(),
            dtype,
            weak_type: false,
        }
    }

    pub fn scalar(dtype: DType) -> Aval {
        Aval::new(Vec::new(), dtype)
    }

    pub fn weak(mut self, weak_type: bool) -> Aval {
        self.weak_type = weak_type;
        self
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// The same shape with another dtype (strong).
    pub fn with_dtype(&self, dtype: DType) -> Aval {
        Aval::new(self.shape.clone(), dtype)
    }

    /// `float32[3,4]`-style description used in error messages: `f32[3,4]`.
    pub fn str_short(&self) -> String {
        format!("{self}")
    }

    pub fn shape_str(&self) -> String {
        shape_str(&self.shape)
    }
}

impl fmt::Display for Aval {
    /// As jaxprs print types: `f32[]`, `f32[3,4]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        write!(f, "{}[{}]", self.dtype.short_name(), dims.join(","))
    }
}
