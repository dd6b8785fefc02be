//! Arithmetic operators on arrays (`&x * &y`, `x * 2.0`, `-x`, `x % y`, `x & y`, `!x`,
//! `x << 2`): the `numpy` functions, so they broadcast and promote, and panic with the same
//! message on bad input. `%` is `jnp.remainder` (Python's `%`: the sign of the divisor), `>>`
//! is arithmetic on signed and logical on unsigned integers, `!` is `~` (bitwise not; logical
//! on bools).

use crate::array::Array;
use crate::numpy as jnp;
use std::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Not, Rem, Shl, Shr, Sub};

macro_rules! binop {
    ($Trait:ident, $method:ident, $f:path) => {
        impl $Trait<&Array> for &Array {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                $f(self, rhs)
            }
        }
        impl $Trait<Array> for Array {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                $f(&self, &rhs)
            }
        }
        impl $Trait<&Array> for Array {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                $f(&self, rhs)
            }
        }
        impl $Trait<Array> for &Array {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                $f(self, &rhs)
            }
        }
        // One generic impl for the scalar on the right: its output type is known before the
        // literal's type is, so `let y = &x * 2.0; y.dtype()` compiles (with one impl per
        // scalar type, the unresolved `{float}` left `y`'s type unknown: E0282).
        impl<S: ScalarOperand> $Trait<S> for &Array {
            type Output = Array;
            fn $method(self, rhs: S) -> Array {
                $f(self, rhs)
            }
        }
        impl<S: ScalarOperand> $Trait<S> for Array {
            type Output = Array;
            fn $method(self, rhs: S) -> Array {
                $f(&self, rhs)
            }
        }
        binop!(@scalar $Trait, $method, $f, f32);
        binop!(@scalar $Trait, $method, $f, f64);
    };
    (@scalar $Trait:ident, $method:ident, $f:path, $t:ty) => {
        impl $Trait<&Array> for $t {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                $f(self, rhs)
            }
        }
        impl $Trait<Array> for $t {
            type Output = Array;
            fn $method(self, rhs: Array) -> Array {
                $f(self, &rhs)
            }
        }
    };
}

/// Rust numbers usable on the right of an operator with an array: `x * 2.0`, `x - 1.5f32`.
/// Floats and `i32` are weakly typed, as Python scalars in JAX; the other integer widths are
/// strong, as NumPy scalars (see `numpy::AsArray`).
pub trait ScalarOperand: jnp::AsArray + Copy + private::Sealed {}
macro_rules! scalar_operands {
    ($($t:ty),*) => {$(
        impl ScalarOperand for $t {}
        impl private::Sealed for $t {}
    )*};
}
scalar_operands!(f32, f64, i32, i8, i16, i64, u8, u16, u32, u64);

mod private {
    pub trait Sealed {}
}

binop!(Add, add, jnp::add);
binop!(Sub, sub, jnp::subtract);
binop!(Mul, mul, jnp::multiply);
binop!(Div, div, jnp::divide);
binop!(Rem, rem, jnp::remainder);
binop!(BitAnd, bitand, jnp::bitwise_and);
binop!(BitOr, bitor, jnp::bitwise_or);
binop!(BitXor, bitxor, jnp::bitwise_xor);
binop!(Shl, shl, jnp::left_shift);
binop!(Shr, shr, jnp::right_shift);

impl Not for &Array {
    type Output = Array;
    fn not(self) -> Array {
        jnp::bitwise_not(self)
    }
}

impl Not for Array {
    type Output = Array;
    fn not(self) -> Array {
        jnp::bitwise_not(&self)
    }
}

impl Neg for &Array {
    type Output = Array;
    fn neg(self) -> Array {
        jnp::negative(self)
    }
}

impl Neg for Array {
    type Output = Array;
    fn neg(self) -> Array {
        jnp::negative(&self)
    }
}

impl Array {
    /// Matrix product (`a @ b`).
    pub fn matmul(&self, rhs: &Array) -> Array {
        jnp::matmul(self, rhs)
    }

    /// `self ** p` (an integer power becomes `integer_pow`).
    pub fn pow(&self, p: impl jnp::AsArray) -> Array {
        jnp::power(self, p)
    }

    /// `x[i]` along the first axis: negative counts from the end, and an out-of-range index
    /// clamps, as JAX's indexing does (`jnp::take` fills instead).
    pub fn at(&self, i: i32) -> Array {
        jnp::take_clamped(self, &Array::scalar(i), 0)
    }

    /// Sum of all elements.
    pub fn sum(&self) -> Array {
        jnp::sum(self, None, false)
    }

    /// Mean of all elements.
    pub fn mean(&self) -> Array {
        jnp::mean(self, None, false)
    }

    /// `x.reshape(shape)` as NumPy's, one dimension may be `-1`.
    ///
    /// # Panics
    /// A shape with another element count.
    pub fn reshape(&self, shape: &[isize]) -> Array {
        jnp::reshape(self, shape)
    }

    /// The transpose (axes reversed).
    pub fn t(&self) -> Array {
        jnp::transpose(self, None)
    }

    /// `x.astype(dtype)`.
    pub fn astype(&self, dtype: crate::DType) -> Array {
        jnp::astype(self, dtype)
    }
}
