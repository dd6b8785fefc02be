//! `lax`'s windowed reductions and `clamp`: JAX's `lax.reduce_window` (the generic entry,
//! dispatching to `reduce_window_sum`/`max`/`min` when the init value is the monoid's
//! identity, as JAX's `_get_monoid_window_reducer` does), the three specific reductions, and
//! `lax.clamp`.

use crate::array::Array;
use crate::core::error::{Error, Result};
use crate::core::trace::bind1;
pub use crate::prims::window::Window;
use crate::prims::window::{WindowKind, WindowOp};
pub use crate::prims::Padding;
use crate::prims::{BinaryOp, Prim};

fn reduce(x: &Array, kind: WindowKind, window: &Window) -> Result<Array> {
    let op = WindowOp::Reduce {
        kind,
        window: window.clone(),
    };
    bind1(Prim::Window(Box::new(op)), std::slice::from_ref(x))
}

/// The `reduce_window_sum` primitive: the sum of every window of `x` (padding adds zeros).
///
/// # Errors
/// A bool operand, or a geometry that does not fit `x` (JAX's wording).
pub fn reduce_window_sum(x: &Array, window: &Window) -> Result<Array> {
    reduce(x, WindowKind::Sum, window)
}

/// The `reduce_window_max` primitive: the maximum of every window (padding is `-inf`, or
/// the lowest integer).
///
/// # Errors
/// A bool operand, or a geometry that does not fit `x` (JAX's wording).
pub fn reduce_window_max(x: &Array, window: &Window) -> Result<Array> {
    reduce(x, WindowKind::Max, window)
}

/// The `reduce_window_min` primitive: the minimum of every window (padding is `+inf`, or
/// the highest integer).
///
/// # Errors
/// A bool operand, or a geometry that does not fit `x` (JAX's wording).
pub fn reduce_window_min(x: &Array, window: &Window) -> Result<Array> {
    reduce(x, WindowKind::Min, window)
}

/// JAX's `lax.padtype_to_pads(in_shape, window_shape, window_strides, padding)`: explicit
/// `(low, high)` pairs for a padding type ([`Padding::to_pads`], shared with the convolutions).
pub fn padtype_to_pads(
    in_shape: &[usize],
    window_shape: &[usize],
    window_strides: &[usize],
    padding: &Padding,
) -> Vec<(i64, i64)> {
    padding.to_pads(in_shape, window_shape, window_strides)
}

/// JAX's `lax.reduce_window(operand, init_value, computation, window_dimensions,
/// window_strides, padding, base_dilation, window_dilation)` for the monoids `computation` =
/// `BinaryOp::Add`, `Max` or `Min` (JAX's `lax.add`, `lax.max`, `lax.min`). `None` strides and
/// dilations are ones. A concrete init value equal to the monoid's identity binds
/// `reduce_window_sum`/`max`/`min`, as in JAX; any other init value (or a traced one) gives
/// XLA CPU's values (every window starts from it once; padding and base-dilation holes
/// contribute nothing, as JAX 0.10.2's numbers show) by reducing with the identity and
/// combining the init value in once; JAX binds its generic `reduce_window` there, which cranax
/// does not have. A weak-typed init (a Rust literal) takes `x`'s dtype.
///
/// # Errors
/// Another computation, an init value that is not a scalar of `x`'s dtype, or a geometry that
/// does not fit `x` (JAX's wording).
#[allow(clippy::too_many_arguments)] // JAX's signature, argument for argument.
pub fn reduce_window(
    operand: &Array,
    init_value: &Array,
    computation: BinaryOp,
    window_dimensions: &[usize],
    window_strides: Option<&[usize]>,
    padding: &Padding,
    base_dilation: Option<&[usize]>,
    window_dilation: Option<&[usize]>,
) -> Result<Array> {
    let n = window_dimensions.len();
    let ones = vec![1; n];
    let strides = window_strides.unwrap_or(&ones).to_vec();
    let mut window = Window {
        window_dimensions: window_dimensions.to_vec(),
        window_strides: strides.clone(),
        padding: vec![],
        base_dilation: base_dilation.unwrap_or(&ones).to_vec(),
        window_dilation: window_dilation.unwrap_or(&ones).to_vec(),
    };
    let pads = padtype_to_pads(operand.shape(), &window.dilated_window(), &strides, padding);
    window.padding = pads
        .iter()
        .map(
            |&(lo, hi)| match (usize::try_from(lo), usize::try_from(hi)) {
                (Ok(lo), Ok(hi)) => Ok((lo, hi)),
                _ => Err(Error::value_err(format!(
                    "reduce_window: negative padding ({lo}, {hi}) is not supported"
                ))),
            },
        )
        .collect::<Result<_>>()?;
    let kind = match computation {
        BinaryOp::Add => WindowKind::Sum,
        BinaryOp::Max => WindowKind::Max,
        BinaryOp::Min => WindowKind::Min,
        other => {
            return Err(Error::value_err(format!(
                "reduce_window: computation {} is not supported (cranax reduces windows with add, max or min)",
                other.name()
            )))
        }
    };
    let dt = operand.dtype();
    let init = if init_value.aval().weak_type && init_value.dtype() != dt {
        super::convert_element_type(init_value, dt)?
    } else {
        init_value.clone()
    };
    if init.dtype() != dt {
        return Err(Error::type_err(format!(
            "reduce_window got inconsistent dtypes for operands and init_values: got operand dtypes [{}] and init_value dtypes [{}].",
            dt.numpy_name(),
            init.dtype().numpy_name()
        )));
    }
    if init.ndim() != 0 {
        return Err(Error::type_err(format!(
            "reduce_window expected init_values to be scalars but init_values have shapes [{}].",
            crate::core::error::shape_str(init.shape())
        )));
    }
    let identity = kind.identity(dt);
    let is_identity = init.is_concrete()
        && init
            .data()
            .is_ok_and(|d| d.get(0).to_f64() == identity.to_f64());
    if is_identity {
        return reduce(operand, kind, &window);
    }
    let reduced = reduce(operand, kind, &window)?;
    bind1(Prim::Binary(computation), &[reduced, init])
}

/// JAX's `lax.clamp(min, x, max)`: `x` limited to `[min, max]` elementwise (`min(max(x, min),
/// max)`); `min` and `max` are scalars or of `x`'s shape.
///
/// # Errors
/// Dtypes that differ, bool operands, or bounds of another shape (JAX's wording).
pub fn clamp(min: &Array, x: &Array, max: &Array) -> Result<Array> {
    bind1(Prim::Clamp, &[min.clone(), x.clone(), max.clone()])
}
