//! Abstract values: what a tracer knows about the array it stands for (shape, dtype, weak type).

use crate::core::error::{shape_str, Error, Result};
use crate::dtype::DType;
use std::fmt;

/// JAX's `ShapedArray`: a shape, a dtype and whether the type is weak (came from a Rust float
/// literal such as the `2.0` in `x * 2.0`, so it takes the other operand's dtype).
#[derive(Clone, Debug, Eq)]
pub struct Aval {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// The element type.
    pub dtype: DType,
    /// JAX's weak type: the type came from a Rust literal and gives way to the other operand's dtype in promotion.
    pub weak_type: bool,
}

/// Two shapes are equal: compared element by element (a slice `==` on `usize` calls `memcmp`,
/// which for the empty shapes of scalars costs more than the whole comparison should: glibc's
/// vector `memcmp` takes a slow path on their dangling pointer).
pub fn same_shape(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

impl PartialEq for Aval {
    fn eq(&self, other: &Aval) -> bool {
        self.dtype == other.dtype
            && self.weak_type == other.weak_type
            && same_shape(&self.shape, &other.shape)
    }
}

/// Hashes the same fields `eq` compares (so equal avals hash equally).
impl std::hash::Hash for Aval {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.shape.hash(h);
        self.dtype.hash(h);
        self.weak_type.hash(h);
    }
}

impl Aval {
    /// A strongly typed aval of this shape and dtype.
    pub fn new(shape: impl Into<Vec<usize>>, dtype: DType) -> Aval {
        Aval {
            shape: shape.into(),
            dtype,
            weak_type: false,
        }
    }

    /// A scalar (shape `[]`) of this dtype.
    pub fn scalar(dtype: DType) -> Aval {
        Aval::new(Vec::new(), dtype)
    }

    /// The same type with weak type `weak_type`.
    pub fn weak(mut self, weak_type: bool) -> Aval {
        self.weak_type = weak_type;
        self
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// Check that an array of this type can be allocated, so that an impossible size is an
    /// `Err` naming `op` and the type instead of an out-of-memory abort: the byte count must
    /// not overflow, and a buffer of a GiB or more is test-allocated first (an allocation the
    /// system refuses fails here, cheaply: large blocks are mapped lazily).
    ///
    /// # Errors
    /// A byte count that overflows, or a large buffer the system refuses (the message names `op` and the type).
    pub fn check_allocatable(&self, op: &str) -> Result<()> {
        const PROBE_BYTES: usize = 1 << 30;
        let bytes = self
            .shape
            .iter()
            .try_fold(self.dtype.size_bytes(), |n, &d| n.checked_mul(d))
            .filter(|&n| n <= isize::MAX as usize);
        let fails = match bytes {
            None => true,
            Some(n) if n >= PROBE_BYTES => Vec::<u8>::new().try_reserve_exact(n).is_err(),
            Some(_) => false,
        };
        if fails {
            let size = bytes.map_or_else(
                || "more than the address space".into(),
                |n| format!("{n} bytes"),
            );
            return Err(Error::value_err(format!(
                "{op}: cannot allocate an array of type {self} ({size})"
            )));
        }
        Ok(())
    }

    /// The same shape with another dtype (strong).
    pub fn with_dtype(&self, dtype: DType) -> Aval {
        Aval::new(self.shape.clone(), dtype)
    }

    /// `float32[3,4]`-style description used in error messages: `f32[3,4]`.
    pub fn str_short(&self) -> String {
        format!("{self}")
    }

    /// The shape as JAX prints it in errors: `(3, 4)`.
    pub fn shape_str(&self) -> String {
        shape_str(&self.shape)
    }

    /// The type as JAX's `str_short(short_dtypes=False)` writes it in control-flow errors:
    /// `float32[3,4]`.
    pub fn str_long(&self) -> String {
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        format!("{}[{}]", self.dtype.numpy_name(), dims.join(","))
    }
}

impl fmt::Display for Aval {
    /// As jaxprs print types: `f32[]`, `f32[3,4]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        write!(f, "{}[{}]", self.dtype.short_name(), dims.join(","))
    }
}
