//! `jnp.convolve` and `jnp.correlate`: 1-D discrete convolution and cross-correlation as one
//! `conv_general_dilated` over a batch of one and a feature of one, as JAX computes them.

use super::{promote_and_broadcast_dtypes, to_float, AsArray};
use crate::array::Array;
use crate::core::error::{or_raise, shape_str, Error, Result};
use crate::lax;
use crate::prims::Padding;

/// `jnp.convolve(a, v, mode)`: `sum_k a[k] v[n - k]` for `mode` `"full"` (every overlap),
/// `"same"` (the length of the longer input, centred) or `"valid"` (full overlaps only).
/// Integer and bool inputs are promoted to floats, as NumPy's convolution does in JAX.
pub fn convolve(a: impl AsArray, v: impl AsArray, mode: &str) -> Array {
    or_raise(conv_1d(&a.as_array(), &v.as_array(), mode, "convolve"))
}

/// `jnp.correlate(a, v, mode)`: `sum_k a[n + k] v[k]` (NumPy's cross-correlation; real
/// inputs, so no conjugation), modes as [`convolve`] (NumPy's default is `"valid"`).
pub fn correlate(a: impl AsArray, v: impl AsArray, mode: &str) -> Array {
    or_raise(conv_1d(&a.as_array(), &v.as_array(), mode, "correlate"))
}

/// JAX's `_conv`: the longer input slides, the shorter is the kernel (flipped for a
/// convolution); a correlation whose inputs were swapped is read backwards.
fn conv_1d(x: &Array, y: &Array, mode: &str, op: &str) -> Result<Array> {
    if x.ndim() != 1 || y.ndim() != 1 {
        return Err(Error::value_err(format!(
            "{op}() only support 1-dimensional inputs."
        )));
    }
    let xy = promote_and_broadcast_dtypes(&[x.clone(), y.clone()])?;
    let (mut x, mut y) = (to_float(&xy[0])?, to_float(&xy[1])?);
    if x.size() == 0 || y.size() == 0 {
        return Err(Error::value_err(format!(
            "{op}: inputs cannot be empty, got shapes {} and {}.",
            shape_str(x.shape()),
            shape_str(y.shape())
        )));
    }
    let swapped = x.shape()[0] < y.shape()[0];
    if swapped {
        std::mem::swap(&mut x, &mut y);
    }
    if op == "convolve" {
        y = lax::rev(&y, &[0])?;
    }
    let m = y.shape()[0] as i64;
    let padding = match mode {
        "valid" => (0, 0),
        "same" => (m / 2, m - m / 2 - 1),
        "full" => (m - 1, m - 1),
        _ => {
            return Err(Error::value_err(
                "mode must be one of ['full', 'same', 'valid']",
            ))
        }
    };
    let as_3d = |t: &Array| lax::reshape(t, &[1, 1, t.shape()[0]]);
    let out = lax::conv_general_dilated(
        &as_3d(&x)?,
        &as_3d(&y)?,
        &[1],
        Padding::Explicit(vec![padding]),
        None,
        None,
        None,
        1,
        1,
    )?;
    let n = out.shape()[2];
    let out = lax::reshape(&out, &[n])?;
    if op == "correlate" && swapped {
        lax::rev(&out, &[0])
    } else {
        Ok(out)
    }
}
