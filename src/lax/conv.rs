//! `lax.conv_general_dilated` and its wrappers `lax.conv` and `lax.conv_with_general_padding`
//! (the primitive's rules are in `prims::conv`).

use crate::array::Array;
use crate::core::error::{Error, Result};
use crate::core::trace::bind1;
use crate::prims::{ConvDimensionNumbers, ConvGeneralDilated, Padding, Prim};

/// JAX's `lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
/// rhs_dilation, dimension_numbers, feature_group_count, batch_group_count)`;
/// `dimension_numbers` as JAX's strings, e.g. `Some(("NHWC", "HWIO", "NHWC"))` (`None`:
/// `NCHW`, `OIHW`, `NCHW`).
///
/// # Errors
/// Bad dimension numbers, string padding with lhs dilation, or operands the primitive rejects
/// (mismatched feature dimensions, group counts that do not divide: JAX's messages).
#[allow(clippy::too_many_arguments)]
pub fn conv_general_dilated(
    lhs: &Array,
    rhs: &Array,
    window_strides: &[usize],
    padding: Padding,
    lhs_dilation: Option<&[usize]>,
    rhs_dilation: Option<&[usize]>,
    dimension_numbers: Option<(&str, &str, &str)>,
    feature_group_count: usize,
    batch_group_count: usize,
) -> Result<Array> {
    let dn = match dimension_numbers {
        None => {
            if lhs.ndim() != rhs.ndim() {
                return Err(Error::type_err(format!(
                    "convolution requires lhs and rhs ndim to be equal, got {} and {}.",
                    lhs.ndim(),
                    rhs.ndim()
                )));
            }
            ConvDimensionNumbers::iota(lhs.ndim())
        }
        Some(s) => ConvDimensionNumbers::from_strings(lhs.shape(), rhs.shape(), s)?,
    };
    let ns = lhs.ndim().saturating_sub(2);
    let lhs_dilation = lhs_dilation.map_or(vec![1; ns], <[usize]>::to_vec);
    let rhs_dilation = rhs_dilation.map_or(vec![1; ns], <[usize]>::to_vec);
    if !matches!(padding, Padding::Explicit(_)) && lhs_dilation.iter().any(|&d| d != 1) {
        return Err(Error::value_err(
            "String padding is not implemented for transposed convolution using this op. Please either exactly specify the required padding or use conv_transpose.",
        ));
    }
    let spatial = |spec: &[usize], shape: &[usize]| -> Vec<usize> {
        spec.iter()
            .skip(2)
            .map(|&d| shape.get(d).copied().unwrap_or(0))
            .collect()
    };
    let window: Vec<usize> = spatial(&dn.rhs_spec, rhs.shape())
        .iter()
        .zip(rhs_dilation.iter().chain(std::iter::repeat(&1)))
        .map(|(&k, &r)| if k == 0 { 0 } else { 1 + r * (k - 1) })
        .collect();
    let pads = padding.to_pads(&spatial(&dn.lhs_spec, lhs.shape()), &window, window_strides);
    let params = ConvGeneralDilated {
        window_strides: window_strides.to_vec(),
        padding: pads,
        lhs_dilation,
        rhs_dilation,
        dimension_numbers: dn,
        feature_group_count,
        batch_group_count,
        preferred_element_type: None,
    };
    bind1(Prim::Conv(Box::new(params)), &[lhs.clone(), rhs.clone()])
}

/// JAX's `lax.conv(lhs, rhs, window_strides, padding)`: NCHW input, OIHW kernel.
///
/// # Errors
/// As [`conv_general_dilated`].
pub fn conv(lhs: &Array, rhs: &Array, window_strides: &[usize], padding: Padding) -> Result<Array> {
    conv_general_dilated(lhs, rhs, window_strides, padding, None, None, None, 1, 1)
}

/// JAX's `lax.conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation,
/// rhs_dilation)`.
///
/// # Errors
/// As [`conv_general_dilated`].
pub fn conv_with_general_padding(
    lhs: &Array,
    rhs: &Array,
    window_strides: &[usize],
    padding: Padding,
    lhs_dilation: Option<&[usize]>,
    rhs_dilation: Option<&[usize]>,
) -> Result<Array> {
    conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        None,
        1,
        1,
    )
}
