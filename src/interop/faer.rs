//! `faer` interop (feature `faer`; the faer version the runtime's kernels use). faer's `Mat`
//! is column-major with padded columns, so owned conversions copy; [`Array::as_faer_view`] is a
//! zero-copy `MatRef` with row-major strides over the array's buffer.

use super::{from_matrix_fn, matrix_dims};
use crate::array::{Array, Element};
use crate::core::error::{Error, Result};
use faer::{Mat, MatRef};

impl Array {
    /// A zero-copy faer view of a 2-D array (row-major strides).
    ///
    /// # Errors
    /// If the array is not 2-D, its dtype is not `T`'s, or it is a tracer.
    pub fn as_faer_view<T: Element>(&self) -> Result<MatRef<'_, T>> {
        let (r, c) = matrix_dims(self, "a faer matrix view")?;
        Ok(MatRef::from_row_major_slice(self.as_slice::<T>()?, r, c))
    }
}

impl<T: Element> From<MatRef<'_, T>> for Array {
    /// One copy, into row-major order.
    fn from(m: MatRef<'_, T>) -> Array {
        from_matrix_fn(m.nrows(), m.ncols(), |i, j| *m.get(i, j))
    }
}

impl<T: Element> From<&Mat<T>> for Array {
    /// One copy, into row-major order.
    fn from(m: &Mat<T>) -> Array {
        Array::from(m.as_ref())
    }
}

impl<T: Element> From<Mat<T>> for Array {
    /// One copy, into row-major order.
    fn from(m: Mat<T>) -> Array {
        Array::from(m.as_ref())
    }
}

impl<T: Element> TryFrom<&Array> for Mat<T> {
    type Error = Error;
    /// One copy, into column-major order.
    fn try_from(x: &Array) -> Result<Self> {
        let (r, c) = matrix_dims(x, "a faer Mat")?;
        let s = x.as_slice::<T>()?;
        Ok(Mat::from_fn(r, c, |i, j| s[i * c + j]))
    }
}

impl<T: Element> TryFrom<Array> for Mat<T> {
    type Error = Error;
    /// One copy, into column-major order.
    fn try_from(x: Array) -> Result<Self> {
        Mat::try_from(&x)
    }
}
