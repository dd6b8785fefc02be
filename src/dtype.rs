//! Element types (`DType`) and single typed values (`Scalar`), with JAX's promotion lattice.

use std::fmt;

/// An element type. f32 is the default for float literals, as in JAX without x64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `bool`.
    Bool,
    /// `int32`.
    I32,
    /// `uint32`.
    U32,
    /// `float32`.
    F32,
    /// `float64`.
    F64,
}

impl DType {
    /// JAX's short name, as printed in jaxprs: `f32`, `i32`, `bool`.
    pub fn short_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I32 => "i32",
            DType::U32 => "u32",
            DType::F32 => "f32",
            DType::F64 => "f64",
        }
    }

    /// NumPy's name: `float32`, `int32`, `bool`.
    pub fn numpy_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I32 => "int32",
            DType::U32 => "uint32",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Whether it is `f32` or `f64`.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// Whether it is `i32` or `u32`.
    pub fn is_int(self) -> bool {
        matches!(self, DType::I32 | DType::U32)
    }

    /// Size of one element in bytes (bool is one byte, 0 or 1).
    pub fn size_bytes(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::F64 => 8,
        }
    }

    /// The result type of combining two dtypes (JAX's lattice, restricted to these types;
    /// without x64, `u32` with `i32` promotes to `i32`).
    pub fn promote(a: DType, b: DType) -> DType {
        use DType::*;
        match (a, b) {
            _ if a == b => a,
            (Bool, x) | (x, Bool) => x,
            (F64, _) | (_, F64) => F64,
            (F32, _) | (_, F32) => F32,
            _ => I32,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// One value of some dtype: a literal in a jaxpr, an element read back from an array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A `bool`.
    Bool(bool),
    /// An `i32`.
    I32(i32),
    /// A `u32`.
    U32(u32),
    /// An `f32`.
    F32(f32),
    /// An `f64`.
    F64(f64),
}

impl Scalar {
    /// Its dtype.
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::I32(_) => DType::I32,
            Scalar::U32(_) => DType::U32,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
        }
    }

    /// The value widened to f64 (exact for every dtype here).
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::I32(v) => v as f64,
            Scalar::U32(v) => v as f64,
            Scalar::F32(v) => v as f64,
            Scalar::F64(v) => v,
        }
    }

    /// `v` converted to `dtype` as `convert_element_type` does (floats to ints truncate toward
    /// zero and saturate; NaN becomes 0).
    pub fn from_f64(v: f64, dtype: DType) -> Scalar {
        match dtype {
            DType::Bool => Scalar::Bool(v != 0.0),
            DType::I32 => Scalar::I32(v as i32),
            DType::U32 => Scalar::U32(v as u32),
            DType::F32 => Scalar::F32(v as f32),
            DType::F64 => Scalar::F64(v),
        }
    }

    /// Bit-exact hashable key (floats by bit pattern).
    pub fn bits(self) -> u64 {
        match self {
            Scalar::Bool(b) => b as u64,
            Scalar::I32(v) => v as u32 as u64,
            Scalar::U32(v) => v as u64,
            Scalar::F32(v) => v.to_bits() as u64,
            Scalar::F64(v) => v.to_bits(),
        }
    }
}

impl fmt::Display for Scalar {
    /// Python's `repr` of the value: `1.0`, `2`, `True`, `1e-05`, `inf`, `nan`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Scalar::Bool(b) => f.write_str(if b { "True" } else { "False" }),
            Scalar::I32(v) => write!(f, "{v}"),
            Scalar::U32(v) => write!(f, "{v}"),
            Scalar::F32(v) => f.write_str(&python_float_repr(v as f64, &format!("{v:e}"))),
            Scalar::F64(v) => f.write_str(&python_float_repr(v, &format!("{v:e}"))),
        }
    }
}

/// Python's `repr(float)` from the shortest round-trip digits (`sci` is Rust's `{:e}` of the
/// value in its own precision, so f32 values print with f32's shortest digits, as NumPy does).
/// Positional for exponents in [-4, 16), scientific (`1e-05`, `1.5e+16`) otherwise.
pub fn python_float_repr(v: f64, sci: &str) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let (int, frac) = if point <= 0 {
            (
                "0".to_string(),
                format!("{}{}", "0".repeat((-point) as usize), digits),
            )
        } else if point as usize >= digits.len() {
            (
                format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
                String::new(),
            )
        } else {
            (
                digits[..point as usize].to_string(),
                digits[point as usize..].to_string(),
            )
        };
        let frac = if frac.is_empty() {
            "0".to_string()
        } else {
            frac
        };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mant = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mant}e{esign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr_of_floats() {
        let r = |v: f32| Scalar::F32(v).to_string();
        assert_eq!(r(1.0), "1.0");
        assert_eq!(r(-0.0), "-0.0");
        assert_eq!(r(0.1), "0.1");
        assert_eq!(r(12.0), "12.0");
        assert_eq!(r(1e-5), "1e-05");
        assert_eq!(r(0.0001), "0.0001");
        assert_eq!(r(1.5e16), "1.5e+16");
        assert_eq!(r(0.45585027), "0.45585027");
        assert_eq!(Scalar::F64(1e15).to_string(), "1000000000000000.0");
        assert_eq!(Scalar::Bool(true).to_string(), "True");
    }
}
