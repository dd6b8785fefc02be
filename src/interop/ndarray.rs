//! `ndarray` interop (feature `ndarray`): `From` an owned `ndarray::Array<T, D>` of any
//! dimension (`ArrayD`, `Array1`, ..., moved in without a copy when in standard layout), `From`
//! a view (one copy), `TryFrom<Array>` / `TryFrom<&Array>` for owned arrays of any dimension
//! type (the rank must match a fixed `D`), and [`Array::as_ndarray_view`], a zero-copy view.

use crate::array::{Array, Element};
use crate::core::error::{shape_str, Error, Result};
use ndarray::{ArrayBase, ArrayView, ArrayViewD, Dimension, IxDyn, OwnedRepr};

/// The error for an ndarray of the wrong rank or dtype.
fn conversion_err(x: &Array, what: &str, why: impl std::fmt::Display) -> Error {
    Error::type_err(format!(
        "cannot convert an array of type {} to {what}: {why}",
        x.aval().str_short()
    ))
}

fn typed<T: Element>(x: &Array, what: &str) -> Result<()> {
    if x.dtype() != T::DTYPE {
        return Err(conversion_err(
            x,
            what,
            format_args!(
                "its dtype is {}, not {}",
                x.dtype().numpy_name(),
                T::DTYPE.numpy_name()
            ),
        ));
    }
    Ok(())
}

/// `shape` as the dimension type `D` (an error naming the ranks for a fixed `D` of another).
fn dim_of<D: Dimension>(x: &Array, what: &str) -> Result<D> {
    D::from_dimension(&IxDyn(x.shape())).ok_or_else(|| {
        conversion_err(
            x,
            what,
            format_args!(
                "it has {} dimensions (shape {}), the target type {}",
                x.ndim(),
                shape_str(x.shape()),
                D::NDIM.map_or("any".to_string(), |n| format!("has {n}"))
            ),
        )
    })
}

impl Array {
    /// A zero-copy `ndarray` view of the elements (row-major, the array's own buffer).
    ///
    /// # Errors
    /// If the dtype is not `T`'s, or for a tracer.
    pub fn as_ndarray_view<T: Element>(&self) -> Result<ArrayViewD<'_, T>> {
        let data = self.as_slice::<T>()?;
        Ok(ArrayView::from_shape(IxDyn(self.shape()), data).expect("size matches the shape"))
    }
}

impl<T: Element, D: Dimension> From<ArrayBase<OwnedRepr<T>, D>> for Array {
    /// Moves the buffer in when `a` is in standard (C-contiguous) layout; copies it in logical
    /// order otherwise (a transposed or sliced array).
    fn from(a: ArrayBase<OwnedRepr<T>, D>) -> Array {
        let shape = a.shape().to_vec();
        let n = a.len();
        let data = if n == 0 {
            Vec::new()
        } else if a.is_standard_layout() {
            // The elements are `v[off..off + n]`: an owned array sliced in place
            // (`slice_collapse`) keeps its whole vector.
            match a.into_raw_vec_and_offset() {
                (mut v, Some(0) | None) => {
                    v.truncate(n);
                    v
                }
                (v, Some(off)) => v[off..off + n].to_vec(),
            }
        } else {
            a.iter().copied().collect()
        };
        Array::from_vec(data, &shape).expect("an ndarray's size matches its shape")
    }
}

impl<'a, T: Element, D: Dimension> From<ArrayView<'a, T, D>> for Array {
    /// One copy, in logical (row-major) order.
    fn from(a: ArrayView<'a, T, D>) -> Array {
        let data = match a.as_slice() {
            Some(s) => s.to_vec(),
            None => a.iter().copied().collect(),
        };
        Array::from_vec(data, a.shape()).expect("an ndarray's size matches its shape")
    }
}

impl<T: Element, D: Dimension> TryFrom<Array> for ArrayBase<OwnedRepr<T>, D> {
    type Error = Error;
    /// Moves the buffer out without a copy when the array is not shared ([`Array::into_vec`]).
    fn try_from(x: Array) -> Result<Self> {
        typed::<T>(&x, "an ndarray array")?;
        let dim = dim_of::<D>(&x, "an ndarray array")?;
        let v = x.into_vec::<T>()?;
        Ok(ArrayBase::from_shape_vec(dim, v).expect("size matches the shape"))
    }
}

impl<T: Element, D: Dimension> TryFrom<&Array> for ArrayBase<OwnedRepr<T>, D> {
    type Error = Error;
    /// One copy.
    fn try_from(x: &Array) -> Result<Self> {
        typed::<T>(x, "an ndarray array")?;
        let dim = dim_of::<D>(x, "an ndarray array")?;
        Ok(ArrayBase::from_shape_vec(dim, x.to_vec::<T>()?).expect("size matches the shape"))
    }
}
