//! Arithmetic operators on arrays (`&x * &y`, `x * 2.0`, `-x`): the `numpy` functions, so they
//! broadcast and promote, and panic with the same message on bad input.

use crate::array::Array;
use crate::numpy as jnp;
use std::ops::{Add, Div, Mul, Neg, Sub};

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
        binop!(@scalar $Trait, $method, $f, f32);
        binop!(@scalar $Trait, $method, $f, f64);
    };
    (@scalar $Trait:ident, $method:ident, $f:path, $t:ty) => {
        impl $Trait<$t> for &Array {
            type Output = Array;
            fn $method(self, rhs: $t) -> Array {
                $f(self, rhs)
            }
        }
        impl $Trait<$t> for Array {
            type Output = Array;
            fn $method(self, rhs: $t) -> Array {
                $f(&self, rhs)
            }
        }
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

binop!(Add, add, jnp::add);
binop!(Sub, sub, jnp::subtract);
binop!(Mul, mul, jnp::multiply);
binop!(Div, div, jnp::divide);

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

    pub fn reshape(&self, shape: &[isize]) -> Array {
        jnp::reshape(self, shape)
    }

    /// The transpose (axes reversed).
    pub fn t(&self) -> Array {
        jnp::transpose(self, None)
    }

    pub fn astype(&self, dtype: crate::DType) -> Array {
        jnp::astype(self, dtype)
    }
}
