//! Exchanging arrays with the rest of Rust's numeric code: owned vectors
//! ([`Array::from_shape_vec`], [`Array::into_vec`]), NumPy's closeness test
//! ([`Array::allclose`]) and, behind cargo features that are off by default, conversions with
//! `ndarray` (feature `ndarray`), `nalgebra` (`nalgebra`), `faer` (`faer`) and `serde`
//! (`serde`). Files (`.npy`, `.npz`, safetensors) are `cranax::io`'s.
//!
//! A cranax array is row-major (C order) and contiguous. Which conversions copy:
//!
//! | conversion | copies? |
//! |---|---|
//! | `Array::from_shape_vec`, `Array::from(ndarray::Array<T, D>)` in standard layout, `Array::from(DVector<T>)` | no: the vector moves in |
//! | `array.into_vec()`, `ArrayD::try_from(array)`, `DVector::try_from(array)` | no when the array is not shared (no clone alive) and not a compiled call's output of 2 MiB or more, else one copy |
//! | `array.as_ndarray_view()`, `as_nalgebra_view()`, `as_faer_view()` | no: views of the array's own buffer |
//! | `Array::from(ndarray view)` / a non-standard-layout `ndarray::Array` | one copy, in logical (row-major) order |
//! | `DMatrix` / `faer::Mat` to or from `Array` (owned) | one copy (they are column-major) |
//!
//! ```
//! # #[cfg(all(feature = "ndarray", feature = "nalgebra", feature = "faer", feature = "serde"))]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cranax::Array;
//! let x = Array::from(ndarray::Array2::<f32>::zeros((2, 3)));   // standard layout: moved, no copy
//! let v = x.as_ndarray_view::<f32>()?;                           // zero-copy ArrayViewD
//! let a: ndarray::Array2<f32> = x.clone().try_into()?;           // moved out if unshared, else one copy
//! let m = nalgebra::DMatrix::<f32>::try_from(&x)?;               // one copy (column-major)
//! let mv = x.as_nalgebra_view::<f32>()?;                         // zero-copy, row-major strides
//! let f = faer::Mat::<f32>::try_from(&x)?;                       // one copy; x.as_faer_view() is zero-copy
//! let json = serde_json::to_string(&x)?;                         // {"shape":[2,3],"dtype":"float32","data":[...]}
//! assert_eq!((v.shape(), a.dim(), m.shape(), mv.shape(), f.nrows()), (&[2, 3][..], (2, 3), (2, 3), (2, 3), 2));
//! assert!(json.starts_with(r#"{"shape":[2,3],"dtype":"float32""#));
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "ndarray", feature = "nalgebra", feature = "faer", feature = "serde")))]
//! # fn main() {}
//! ```

use crate::array::{Array, Element, Repr};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use std::sync::Arc;

#[cfg(feature = "faer")]
mod faer;
#[cfg(feature = "nalgebra")]
mod nalgebra;
#[cfg(feature = "ndarray")]
mod ndarray;
#[cfg(feature = "serde")]
mod serde;

impl Array {
    /// An array of `shape` holding `data` in row-major order, without copying it (ndarray's
    /// `from_shape_vec`; the same as [`Array::from_vec`] with the arguments swapped).
    ///
    /// # Errors
    /// If `data.len()` is not the product of `shape`.
    pub fn from_shape_vec<T: Element>(shape: &[usize], data: Vec<T>) -> Result<Array> {
        Array::from_vec(data, shape)
    }

    /// The elements in row-major order, moved out without a copy when this is the only handle
    /// to the buffer (no clone of the array is alive), copied otherwise. A compiled call's
    /// output of 2 MiB or more lives in a pooled mapping, not a `Vec`, and is copied.
    ///
    /// # Errors
    /// If the dtype is not `T`'s, or for a tracer.
    pub fn into_vec<T: Element>(self) -> Result<Vec<T>> {
        // Check first, so that an error leaves nothing half-moved.
        self.as_slice::<T>()?;
        match self.repr {
            Repr::Concrete(c) => match Arc::try_unwrap(c) {
                Ok(c) => Ok(T::from_data(c.data).expect("the dtype was checked")),
                Err(shared) => Ok(T::slice(&shared.data).expect("checked").to_vec()),
            },
            Repr::Tracer(_) => unreachable!("as_slice refused tracers"),
        }
    }

    /// NumPy's `allclose(a, b, rtol, atol)`: whether `|a - b| <= atol + rtol * |b|` for every
    /// element after broadcasting (NumPy's defaults are `rtol = 1e-5`, `atol = 1e-8`). NaNs are
    /// never close (`equal_nan=False`); infinities are close only to themselves. Any dtypes
    /// (compared as f64).
    ///
    /// # Errors
    /// If the shapes do not broadcast together, or for a tracer.
    pub fn allclose(&self, other: &Array, rtol: f64, atol: f64) -> Result<bool> {
        let shape = crate::numpy::broadcast_shapes("allclose", &[self.shape(), other.shape()])?;
        let widened = |x: &Array| -> Result<Vec<f64>> {
            let dims: Vec<usize> = (shape.len() - x.ndim()..shape.len()).collect();
            crate::lax::broadcast_in_dim(x, &shape, &dims)?.to_f64_vec()
        };
        let (a, b) = (widened(self)?, widened(other)?);
        Ok(a.iter().zip(&b).all(|(&a, &b)| {
            if a.is_infinite() || b.is_infinite() {
                a == b
            } else {
                (a - b).abs() <= atol + rtol * b.abs()
            }
        }))
    }
}

/// The `(rows, columns)` of a 2-D array, for the matrix conversions (`what` names the target).
#[allow(dead_code)] // used by the nalgebra and faer features
pub(crate) fn matrix_dims(x: &Array, what: &str) -> Result<(usize, usize)> {
    match *x.shape() {
        [r, c] => Ok((r, c)),
        _ => Err(Error::type_err(format!(
            "{what} needs a 2-D array, got shape {} ({})",
            shape_str(x.shape()),
            x.aval().str_short()
        ))),
    }
}

/// A row-major array of `shape` from the `rows x cols` elements `at(i, j)` (the copy out of a
/// column-major matrix).
#[allow(dead_code)] // used by the nalgebra and faer features
pub(crate) fn from_matrix_fn<T: Element>(
    rows: usize,
    cols: usize,
    at: impl Fn(usize, usize) -> T,
) -> Array {
    let data: Vec<T> = (0..rows)
        .flat_map(|i| (0..cols).map(move |j| (i, j)))
        .map(|(i, j)| at(i, j))
        .collect();
    Array::from_concrete(Aval::new([rows, cols], T::DTYPE), T::into_data(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DType;

    #[test]
    fn into_vec_moves_an_unshared_buffer_and_copies_a_shared_one() {
        let v = vec![1.0f32, 2.0, 3.0, 4.0];
        let ptr = v.as_ptr();
        let x = Array::from_shape_vec(&[2, 2], v).unwrap();
        let shared = x.clone();
        let copied = x.into_vec::<f32>().unwrap();
        assert_ne!(copied.as_ptr(), ptr);
        let moved = shared.into_vec::<f32>().unwrap();
        assert_eq!(moved.as_ptr(), ptr);
        assert_eq!(moved, [1.0, 2.0, 3.0, 4.0]);
        let e = Array::from_shape_vec(&[3], vec![1i32, 2])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "cannot make an array of shape (3,) from 2 elements");
        assert!(Array::from_slice(&[1i32]).into_vec::<f32>().is_err());
    }

    #[test]
    fn allclose_is_numpys() {
        let a = Array::from_slice(&[1.0f64, 2.0, f64::INFINITY]);
        // |a - b| <= atol + rtol * |b|, asymmetric in b as NumPy's.
        let b = Array::from_slice(&[1.0 + 1.5e-5, 2.0, f64::INFINITY]);
        assert!(!a.allclose(&b, 1e-5, 1e-8).unwrap());
        assert!(a.allclose(&b, 2e-5, 0.0).unwrap());
        let neg_inf = Array::from_slice(&[1.0f64, 2.0, f64::NEG_INFINITY]);
        assert!(!a.allclose(&neg_inf, 1.0, 1.0).unwrap());
        let nan = Array::from_slice(&[f64::NAN]);
        assert!(!nan.allclose(&nan, 1.0, 1.0).unwrap());
        // Broadcasting, and mixed dtypes.
        let row = Array::from_slice(&[1.0f32, 2.0]);
        let m = Array::from_vec(vec![1i32, 2, 1, 2], &[2, 2]).unwrap();
        assert!(m.allclose(&row, 0.0, 0.0).unwrap());
        let e = row
            .allclose(&Array::zeros(&[3], DType::F32), 1e-5, 1e-8)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "allclose got incompatible shapes for broadcasting: (2,), (3,)"
        );
    }
}
