//! `nalgebra` interop (feature `nalgebra`). nalgebra stores matrices column-major and cranax
//! row-major, so owned `DMatrix` conversions copy (transposing the storage order, not the
//! matrix); [`Array::as_nalgebra_view`] is a zero-copy view with row-major strides instead.
//! `DVector` and a 1-D array share their layout: owned conversions move the buffer.

use super::{from_matrix_fn, matrix_dims};
use crate::array::{Array, Element};
use crate::core::error::{shape_str, Error, Result};
use nalgebra::{DMatrix, DVector, Dyn, MatrixView, Scalar};

/// A zero-copy view of a row-major matrix: row stride `ncols`, column stride 1.
pub type RowMajorView<'a, T> = MatrixView<'a, T, Dyn, Dyn, Dyn, Dyn>;

impl Array {
    /// A zero-copy nalgebra view of a 2-D array (strided: rows `ncols` apart, columns 1).
    ///
    /// # Errors
    /// If the array is not 2-D, its dtype is not `T`'s, or it is a tracer.
    pub fn as_nalgebra_view<T: Element + Scalar>(&self) -> Result<RowMajorView<'_, T>> {
        let (r, c) = matrix_dims(self, "a nalgebra matrix view")?;
        let data = self.as_slice::<T>()?;
        Ok(MatrixView::from_slice_with_strides_generic(
            data,
            Dyn(r),
            Dyn(c),
            Dyn(c.max(1)),
            Dyn(1),
        ))
    }
}

impl<T: Element + Scalar> From<&DMatrix<T>> for Array {
    /// One copy, into row-major order.
    fn from(m: &DMatrix<T>) -> Array {
        from_matrix_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)])
    }
}

impl<T: Element + Scalar> From<DMatrix<T>> for Array {
    /// One copy, into row-major order.
    fn from(m: DMatrix<T>) -> Array {
        Array::from(&m)
    }
}

impl<T: Element + Scalar> TryFrom<&Array> for DMatrix<T> {
    type Error = Error;
    /// One copy, into column-major order.
    fn try_from(x: &Array) -> Result<Self> {
        let (r, c) = matrix_dims(x, "a nalgebra DMatrix")?;
        Ok(DMatrix::from_row_slice(r, c, x.as_slice::<T>()?))
    }
}

impl<T: Element + Scalar> TryFrom<Array> for DMatrix<T> {
    type Error = Error;
    /// One copy, into column-major order.
    fn try_from(x: Array) -> Result<Self> {
        DMatrix::try_from(&x)
    }
}

impl<T: Element + Scalar> From<DVector<T>> for Array {
    /// Moves the buffer in (no copy).
    fn from(v: DVector<T>) -> Array {
        let data: Vec<T> = v.data.into();
        let n = data.len();
        Array::from_vec(data, &[n]).expect("a vector's length is its size")
    }
}

impl<T: Element + Scalar> From<&DVector<T>> for Array {
    /// One copy.
    fn from(v: &DVector<T>) -> Array {
        Array::from_slice(v.as_slice())
    }
}

impl<T: Element + Scalar> TryFrom<Array> for DVector<T> {
    type Error = Error;
    /// Moves the buffer out when the array is not shared ([`Array::into_vec`]).
    fn try_from(x: Array) -> Result<Self> {
        vector_len(&x)?;
        Ok(DVector::from_vec(x.into_vec::<T>()?))
    }
}

impl<T: Element + Scalar> TryFrom<&Array> for DVector<T> {
    type Error = Error;
    /// One copy.
    fn try_from(x: &Array) -> Result<Self> {
        vector_len(x)?;
        Ok(DVector::from_column_slice(x.as_slice::<T>()?))
    }
}

fn vector_len(x: &Array) -> Result<usize> {
    match *x.shape() {
        [n] => Ok(n),
        _ => Err(Error::type_err(format!(
            "a nalgebra DVector needs a 1-D array, got shape {} ({})",
            shape_str(x.shape()),
            x.aval().str_short()
        ))),
    }
}
