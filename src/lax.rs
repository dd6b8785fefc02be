//! `lax`: one function per primitive, binding it in the current context. Transformation rules
//! and the `numpy` layer are written in terms of these. Every function returns `Result`.

use crate::array::Array;
use crate::core::aval::{same_shape, Aval};
use crate::core::error::{Error, Result};
use crate::core::trace::{bind, bind1};
use crate::dtype::{DType, Scalar};
use crate::prims::cumulative::{Cumulative, CumulativeKind};
pub use crate::prims::shape::{
    GatherDimensionNumbers, GatherOptions, GatherScatterMode, ScatterDimensionNumbers, ScatterKind,
    ScatterOptions,
};
use crate::prims::shape::{GatherParams, ScatterParams};
use crate::prims::sort::{Sort, TopK};
pub use crate::prims::unary::RoundingMethod;
use crate::prims::{BinaryOp, DotGeneral, LinalgOp, Prim, RandomOp, ReduceOp, ShapeOp, UnaryOp};

pub mod conv;
pub mod linalg;
mod window;
pub use conv::{conv, conv_general_dilated, conv_with_general_padding};
pub use window::{
    clamp, padtype_to_pads, reduce_window, reduce_window_max, reduce_window_min, reduce_window_sum,
    Padding, Window,
};

macro_rules! unary_fns {
    ($($(#[$doc:meta])* $name:ident => $op:ident),* $(,)?) => {
        $( #[doc = concat!("JAX's `lax.", stringify!($name), "`: the elementwise `", stringify!($op), "` primitive.\n\n# Errors\nAn operand of a dtype the primitive does not accept (the message names it).")] $(#[$doc])* pub fn $name(x: &Array) -> Result<Array> { bind1(Prim::Unary(UnaryOp::$op), std::slice::from_ref(x)) } )*
    };
}

unary_fns! {
    neg => Neg, exp => Exp, log => Log, log1p => Log1p, expm1 => Expm1, sin => Sin, cos => Cos,
    tanh => Tanh, logistic => Logistic, sqrt => Sqrt, rsqrt => Rsqrt, abs => Abs, sign => Sign,
    square => Square, erf_inv => ErfInv, not => Not, floor => Floor, ceil => Ceil,
    is_finite => IsFinite, exp2 => Exp2, tan => Tan, asin => Asin, acos => Acos, atan => Atan,
    sinh => Sinh, cosh => Cosh, asinh => Asinh, acosh => Acosh, atanh => Atanh, cbrt => Cbrt,
    erf => Erf, erfc => Erfc, lgamma => Lgamma, digamma => Digamma,
    population_count => PopulationCount, clz => Clz,
    /// The identity whose derivative is zero.
    stop_gradient => StopGradient,
}

macro_rules! binary_fns {
    ($($name:ident => $op:ident),* $(,)?) => {
        $( #[doc = concat!("`lax::", stringify!($name), "`: the elementwise `", stringify!($op), "` primitive of `x` and `y` (JAX's `lax` function of that name).\n\n# Errors\nOperands whose shapes do not broadcast or whose dtypes differ or are not accepted (JAX's wording).")] pub fn $name(x: &Array, y: &Array) -> Result<Array> { bind1(Prim::Binary(BinaryOp::$op), &[x.clone(), y.clone()]) } )*
    };
}

binary_fns! {
    add => Add, add_any => AddAny, sub => Sub, mul => Mul, div => Div, pow => Pow, max => Max,
    min => Min, and => And, or => Or, xor => Xor, shift_left => ShiftLeft,
    shift_right_logical => ShiftRightLogical, eq => Eq, ne => Ne, lt => Lt, le => Le, gt => Gt,
    ge => Ge, shift_right_arithmetic => ShiftRightArithmetic, atan2 => Atan2, rem => Rem,
    nextafter => Nextafter, polygamma => Polygamma,
}

/// `round(x, rounding_method)`: JAX's `lax.round` (its default is `AwayFromZero`).
///
/// # Errors
/// A non-float operand.
pub fn round(x: &Array, rounding_method: RoundingMethod) -> Result<Array> {
    bind1(
        Prim::Unary(UnaryOp::Round { rounding_method }),
        std::slice::from_ref(x),
    )
}

/// `1 / x` as JAX writes it, `integer_pow(x, -1)`.
///
/// # Errors
/// A non-float operand.
pub fn reciprocal(x: &Array) -> Result<Array> {
    integer_pow(x, -1)
}

/// `x ** y` for a constant integer `y`.
///
/// # Errors
/// A boolean operand.
pub fn integer_pow(x: &Array, y: i32) -> Result<Array> {
    bind1(
        Prim::Unary(UnaryOp::IntegerPow { y }),
        std::slice::from_ref(x),
    )
}

/// JAX's `lax.convert_element_type`: `x` as `dtype` (floats to integers round toward zero, saturating).
///
/// # Errors
/// None for the supported dtypes; the `Result` is the `lax` convention.
pub fn convert_element_type(x: &Array, dtype: DType) -> Result<Array> {
    if x.dtype() == dtype && !x.is_weak() {
        return Ok(x.clone());
    }
    convert_with(
        x,
        UnaryOp::ConvertElementType {
            new_dtype: dtype,
            weak_type: false,
        },
    )
}

/// A concrete value (a Rust literal in `x * 2.0`) converts right away, as JAX converts Python
/// scalars without staging, so jaxprs show the literal (`mul a 2.0`); tracers bind.
fn convert_with(x: &Array, op: UnaryOp) -> Result<Array> {
    let prim = Prim::Unary(op);
    if x.is_concrete() {
        let mut out = crate::prims::eval_eager(&prim, std::slice::from_ref(x))?;
        Ok(out.pop().expect("one output"))
    } else {
        bind1(prim, std::slice::from_ref(x))
    }
}

/// Convert keeping weak typing (how a Rust float literal takes an array's dtype).
///
/// # Errors
/// A `dtype` that `x` cannot be converted to.
pub fn convert_weak(x: &Array, dtype: DType) -> Result<Array> {
    if x.dtype() == dtype {
        return Ok(x.clone());
    }
    convert_with(
        x,
        UnaryOp::ConvertElementType {
            new_dtype: dtype,
            weak_type: x.is_weak(),
        },
    )
}

/// JAX's `lax.bitcast_convert_type`: the bits of `x` read as `dtype`.
///
/// # Errors
/// A `dtype` of another width than `x`'s.
pub fn bitcast_convert_type(x: &Array, dtype: DType) -> Result<Array> {
    bind1(
        Prim::Unary(UnaryOp::BitcastConvertType { new_dtype: dtype }),
        std::slice::from_ref(x),
    )
}

/// `select_n(which, cases)`: `cases[which]` elementwise (`which` bool or i32).
///
/// # Errors
/// A `which` that is not an integer or bool scalar of the cases' shape, cases of different types, or no cases (JAX's wording).
pub fn select_n(which: &Array, cases: &[Array]) -> Result<Array> {
    let mut args = vec![which.clone()];
    args.extend(cases.iter().cloned());
    bind1(Prim::SelectN, &args)
}

/// `pred ? on_true : on_false` elementwise.
///
/// # Errors
/// A predicate that is not bool, or cases of different types.
pub fn select(pred: &Array, on_true: &Array, on_false: &Array) -> Result<Array> {
    select_n(pred, &[on_false.clone(), on_true.clone()])
}

/// One reduction of `x`.
fn reduce(x: &Array, op: ReduceOp) -> Result<Array> {
    bind1(Prim::Reduce(op), std::slice::from_ref(x))
}

/// JAX's `lax.reduce_sum` over `axes`.
///
/// # Errors
/// An axis out of range or repeated.
pub fn reduce_sum(x: &Array, axes: &[usize]) -> Result<Array> {
    reduce(
        x,
        ReduceOp::Sum {
            axes: axes.to_vec(),
        },
    )
}

/// `lax.reduce_prod`.
///
/// # Errors
/// An axis out of range or repeated, or a dtype the reduction does not take.
pub fn reduce_prod(x: &Array, axes: &[usize]) -> Result<Array> {
    reduce(
        x,
        ReduceOp::Prod {
            axes: axes.to_vec(),
        },
    )
}

/// `lax.reduce_and`: bitwise and over `axes` (bools: all).
///
/// # Errors
/// An axis out of range or repeated, or a dtype the reduction does not take.
pub fn reduce_and(x: &Array, axes: &[usize]) -> Result<Array> {
    reduce(
        x,
        ReduceOp::And {
            axes: axes.to_vec(),
        },
    )
}

/// `lax.reduce_or`: bitwise or over `axes` (bools: any).
///
/// # Errors
/// An axis out of range or repeated, or a dtype the reduction does not take.
pub fn reduce_or(x: &Array, axes: &[usize]) -> Result<Array> {
    reduce(
        x,
        ReduceOp::Or {
            axes: axes.to_vec(),
        },
    )
}

/// `lax.reduce_xor`: bitwise exclusive or over `axes`.
///
/// # Errors
/// An axis out of range or repeated, or a dtype the reduction does not take.
pub fn reduce_xor(x: &Array, axes: &[usize]) -> Result<Array> {
    reduce(
        x,
        ReduceOp::Xor {
            axes: axes.to_vec(),
        },
    )
}

/// JAX's `lax.reduce_max` over `axes`.
///
/// # Errors
/// An axis out of range or repeated.
pub fn reduce_max(x: &Array, axes: &[usize]) -> Result<Array> {
    reduce(
        x,
        ReduceOp::Max {
            axes: axes.to_vec(),
        },
    )
}

/// JAX's `lax.reduce_min` over `axes`.
///
/// # Errors
/// An axis out of range or repeated.
pub fn reduce_min(x: &Array, axes: &[usize]) -> Result<Array> {
    reduce(
        x,
        ReduceOp::Min {
            axes: axes.to_vec(),
        },
    )
}

/// JAX's `lax.argmax`: the index of the first maximum along `axis`, as `index_dtype`.
///
/// # Errors
/// An axis out of range or a non-integer `index_dtype`.
pub fn argmax(x: &Array, axis: usize, index_dtype: DType) -> Result<Array> {
    bind1(
        Prim::Reduce(ReduceOp::Argmax {
            axes: vec![axis],
            index_dtype,
        }),
        std::slice::from_ref(x),
    )
}

/// JAX's `lax.argmin`: the index of the first minimum along `axis`, as `index_dtype`.
///
/// # Errors
/// An axis out of range or a non-integer `index_dtype`.
pub fn argmin(x: &Array, axis: usize, index_dtype: DType) -> Result<Array> {
    bind1(
        Prim::Reduce(ReduceOp::Argmin {
            axes: vec![axis],
            index_dtype,
        }),
        std::slice::from_ref(x),
    )
}

/// JAX's `lax.broadcast_in_dim`: `x`'s dimension `i` becomes dimension `broadcast_dimensions[i]` of `shape`.
///
/// # Errors
/// Dimensions that do not match `shape` (JAX's wording).
pub fn broadcast_in_dim(
    x: &Array,
    shape: &[usize],
    broadcast_dimensions: &[usize],
) -> Result<Array> {
    if same_shape(x.shape(), shape)
        && broadcast_dimensions
            .iter()
            .enumerate()
            .all(|(i, &d)| i == d)
    {
        return Ok(x.clone());
    }
    bind1(
        Prim::Shape(ShapeOp::BroadcastInDim {
            shape: shape.to_vec(),
            broadcast_dimensions: broadcast_dimensions.to_vec(),
        }),
        std::slice::from_ref(x),
    )
}

/// Broadcast `x` (any rank ≤ the target's) to `shape`, aligning trailing dimensions as NumPy does.
///
/// # Errors
/// `x` has more dimensions than `shape`, or a dimension that does not broadcast.
pub fn broadcast_to_rank(x: &Array, shape: &[usize]) -> Result<Array> {
    let offset = shape.len() - x.ndim();
    let dims: Vec<usize> = (offset..shape.len()).collect();
    broadcast_in_dim(x, shape, &dims)
}

/// JAX's `lax.reshape` to `new_sizes` (row-major).
///
/// # Errors
/// A size with another element count.
pub fn reshape(x: &Array, new_sizes: &[usize]) -> Result<Array> {
    if same_shape(x.shape(), new_sizes) {
        return Ok(x.clone());
    }
    bind1(
        Prim::Shape(ShapeOp::Reshape {
            new_sizes: new_sizes.to_vec(),
        }),
        std::slice::from_ref(x),
    )
}

/// JAX's `lax.transpose`: dimension `i` of the result is dimension `permutation[i]` of `x`.
///
/// # Errors
/// A `permutation` that is not one of `x`'s dimensions.
pub fn transpose(x: &Array, permutation: &[usize]) -> Result<Array> {
    if permutation.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(x.clone());
    }
    bind1(
        Prim::Shape(ShapeOp::Transpose {
            permutation: permutation.to_vec(),
        }),
        std::slice::from_ref(x),
    )
}

/// `lax.rev`: `x` with the order of its elements reversed along each axis of `dimensions`.
///
/// # Errors
/// When `dimensions` are not distinct axes of `x`.
pub fn rev(x: &Array, dimensions: &[usize]) -> Result<Array> {
    bind1(
        Prim::Shape(ShapeOp::Rev {
            dimensions: dimensions.to_vec(),
        }),
        std::slice::from_ref(x),
    )
}

/// JAX's `lax.squeeze`: `dimensions` (each of size 1) removed.
///
/// # Errors
/// A dimension out of range or not of size 1.
pub fn squeeze(x: &Array, dimensions: &[usize]) -> Result<Array> {
    if dimensions.is_empty() {
        return Ok(x.clone());
    }
    bind1(
        Prim::Shape(ShapeOp::Squeeze {
            dimensions: dimensions.to_vec(),
        }),
        std::slice::from_ref(x),
    )
}

/// Insert a size-1 axis at `axis` (a reshape, as JAX's `lax.expand_dims`).
///
/// # Errors
/// A dimension out of range.
pub fn expand_dims(x: &Array, axis: usize) -> Result<Array> {
    let mut shape = x.shape().to_vec();
    if axis > shape.len() {
        return Err(crate::core::error::Error::value_err(format!(
            "expand_dims: axis {axis} is out of range for an array of rank {}",
            shape.len()
        )));
    }
    shape.insert(axis, 1);
    let dims: Vec<usize> = (0..x.ndim())
        .map(|d| if d < axis { d } else { d + 1 })
        .collect();
    broadcast_in_dim(x, &shape, &dims)
}

/// JAX's `lax.concatenate` along `dimension`.
///
/// # Errors
/// No operands, or operands whose dtypes or other dimensions differ.
pub fn concatenate(xs: &[Array], dimension: usize) -> Result<Array> {
    bind1(Prim::Shape(ShapeOp::Concatenate { dimension }), xs)
}

/// Pad with `padding_value`: per axis `(low, high, interior)` elements.
///
/// # Errors
/// A padding of the wrong count, a padding value that is not a scalar of `x`'s dtype, or a negative resulting size.
pub fn pad(x: &Array, padding_value: &Array, config: &[(usize, usize, usize)]) -> Result<Array> {
    bind1(
        Prim::Shape(ShapeOp::Pad {
            padding_config: config.to_vec(),
        }),
        &[x.clone(), padding_value.clone()],
    )
}

/// JAX's `lax.slice`: `start_indices` to `limit_indices` (exclusive), with optional `strides`.
///
/// # Errors
/// Indices out of range or of the wrong count.
pub fn slice(
    x: &Array,
    start: &[usize],
    limit: &[usize],
    strides: Option<&[usize]>,
) -> Result<Array> {
    bind1(
        Prim::Shape(ShapeOp::Slice {
            start_indices: start.to_vec(),
            limit_indices: limit.to_vec(),
            strides: strides.map(|s| s.to_vec()),
        }),
        std::slice::from_ref(x),
    )
}

/// A slice of static size at dynamic (clamped) start indices, one i32 scalar per axis.
///
/// # Errors
/// Starts of the wrong count or not integer scalars, or slice sizes larger than `x`.
pub fn dynamic_slice(x: &Array, starts: &[Array], slice_sizes: &[usize]) -> Result<Array> {
    let mut args = vec![x.clone()];
    args.extend(starts.iter().cloned());
    bind1(
        Prim::Shape(ShapeOp::DynamicSlice {
            slice_sizes: slice_sizes.to_vec(),
        }),
        &args,
    )
}

/// JAX's `lax.dynamic_update_slice`: `update` written into `x` at `starts` (integer scalars, clamped so the update fits).
///
/// # Errors
/// An update larger than `x`, or starts of the wrong count or dtype.
pub fn dynamic_update_slice(x: &Array, update: &Array, starts: &[Array]) -> Result<Array> {
    let mut args = vec![x.clone(), update.clone()];
    args.extend(starts.iter().cloned());
    bind1(Prim::Shape(ShapeOp::DynamicUpdateSlice), &args)
}

/// XLA's general gather (`lax.gather`): the slices of `operand` of `slice_sizes` that start
/// at the index vectors of `indices` (its last axis), arranged by `dimension_numbers`.
///
/// # Errors
/// JAX's shape errors (dimension numbers that do not fit the operand and indices, non-integer
/// indices).
pub fn gather(
    operand: &Array,
    indices: &Array,
    dimension_numbers: &GatherDimensionNumbers,
    slice_sizes: &[usize],
    options: GatherOptions,
) -> Result<Array> {
    let p = GatherParams {
        dimension_numbers: dimension_numbers.clone(),
        slice_sizes: slice_sizes.to_vec(),
        indices_are_sorted: options.indices_are_sorted,
        unique_indices: options.unique_indices,
        mode: options.mode,
        fill_value: options.fill_value,
    };
    bind1(
        Prim::Shape(ShapeOp::Gather(Box::new(p))),
        &[operand.clone(), indices.clone()],
    )
}

/// One of the scatters (`lax.scatter`, `scatter_add`, ...).
///
/// # Errors
/// JAX's shape errors, and dtypes of operand and updates that differ.
pub fn scatter_kind(
    kind: ScatterKind,
    operand: &Array,
    indices: &Array,
    updates: &Array,
    dimension_numbers: &ScatterDimensionNumbers,
    options: ScatterOptions,
) -> Result<Array> {
    let p = ScatterParams {
        kind,
        dimension_numbers: dimension_numbers.clone(),
        indices_are_sorted: options.indices_are_sorted,
        unique_indices: options.unique_indices,
        mode: options.mode,
        dtype: operand.dtype(),
    };
    bind1(
        Prim::Shape(ShapeOp::Scatter(Box::new(p))),
        &[operand.clone(), indices.clone(), updates.clone()],
    )
}

macro_rules! scatter_fns {
    ($($name:ident => $kind:ident, $doc:literal;)*) => {$(
        #[doc = $doc]
        ///
        /// # Errors
        /// JAX's shape errors, and dtypes of operand and updates that differ.
        pub fn $name(
            operand: &Array,
            indices: &Array,
            updates: &Array,
            dimension_numbers: &ScatterDimensionNumbers,
            options: ScatterOptions,
        ) -> Result<Array> {
            scatter_kind(ScatterKind::$kind, operand, indices, updates, dimension_numbers, options)
        }
    )*};
}

scatter_fns! {
    scatter => Replace, "`lax.scatter`: `operand` with `updates` written at `indices` (the last of repeated indices wins).";
    scatter_add => Add, "`lax.scatter_add`: `operand` with `updates` added at `indices` (repeats accumulate).";
    scatter_mul => Mul, "`lax.scatter_mul`: `operand` multiplied by `updates` at `indices`.";
    scatter_min => Min, "`lax.scatter_min`: the minimum of `operand` and `updates` at `indices`.";
    scatter_max => Max, "`lax.scatter_max`: the maximum of `operand` and `updates` at `indices`.";
}

/// The dimension numbers of `take(x, indices, axis)` for an `x` of rank `ndim` and indices of
/// rank `ni` (with the index vector axis of length 1 appended): the indices' axes replace
/// `axis`.
fn take_dims(ndim: usize, ni: usize, axis: usize) -> GatherDimensionNumbers {
    GatherDimensionNumbers {
        offset_dims: (0..axis).chain(axis + ni..ndim - 1 + ni).collect(),
        collapsed_slice_dims: vec![axis],
        start_index_map: vec![axis],
        ..Default::default()
    }
}

/// `take(x, indices, axis)` as one `gather` with `mode`: the indices' axes replace axis
/// `axis`.
///
/// # Errors
/// An axis out of range or non-integer indices.
pub fn take_along(
    x: &Array,
    indices: &Array,
    axis: usize,
    mode: GatherScatterMode,
) -> Result<Array> {
    check_axis("take", axis, x.ndim())?;
    let idx = lax_expand_last(indices)?;
    let mut sizes = x.shape().to_vec();
    sizes[axis] = 1;
    let opts = GatherOptions {
        mode,
        ..GatherOptions::default()
    };
    gather(
        x,
        &idx,
        &take_dims(x.ndim(), indices.ndim(), axis),
        &sizes,
        opts,
    )
}

fn check_axis(op: &str, axis: usize, ndim: usize) -> Result<()> {
    if axis >= ndim {
        return Err(Error::value_err(format!(
            "{op}: axis {axis} is out of bounds for an array of rank {ndim}"
        )));
    }
    Ok(())
}

/// `indices[..., None]` (the index vector axis).
fn lax_expand_last(indices: &Array) -> Result<Array> {
    let mut shape = indices.shape().to_vec();
    shape.push(1);
    broadcast_in_dim(indices, &shape, &(0..indices.ndim()).collect::<Vec<_>>())
}

/// `take` with indices clamped into range (`CLIP`).
///
/// # Errors
/// An axis out of range or non-integer indices.
pub fn take_clamped(x: &Array, indices: &Array, axis: usize) -> Result<Array> {
    take_along(x, indices, axis, GatherScatterMode::Clip)
}

/// [`scatter_add_along`] with indices clamped into range (`CLIP`), the transpose of
/// [`take_clamped`].
///
/// # Errors
/// An axis out of range, non-integer indices, or updates of another shape.
pub fn scatter_add_clamped(
    x: &Array,
    indices: &Array,
    updates: &Array,
    axis: usize,
) -> Result<Array> {
    scatter_add_along(x, indices, updates, axis, GatherScatterMode::Clip)
}

/// `x` with `updates` added at `indices` along `axis` (the transpose of [`take_along`]):
/// `updates` has `x`'s shape with axis `axis` replaced by the indices' axes.
///
/// # Errors
/// An axis out of range, non-integer indices, or updates of another shape.
pub fn scatter_add_along(
    x: &Array,
    indices: &Array,
    updates: &Array,
    axis: usize,
    mode: GatherScatterMode,
) -> Result<Array> {
    check_axis("scatter_add", axis, x.ndim())?;
    let idx = lax_expand_last(indices)?;
    let dn = take_dims(x.ndim(), indices.ndim(), axis).to_scatter();
    let opts = ScatterOptions {
        mode,
        ..ScatterOptions::default()
    };
    scatter_add(x, &idx, updates, &dn, opts)
}

/// `0, 1, 2, ...` along `dimension` of an array of `shape`.
///
/// # Errors
/// A `dimension` out of range, or a shape too large to allocate.
pub fn iota(dtype: DType, shape: &[usize], dimension: usize) -> Result<Array> {
    bind1(
        Prim::Shape(ShapeOp::Iota {
            dtype,
            shape: shape.to_vec(),
            dimension,
        }),
        &[],
    )
}

/// JAX's `lax.dot_general` with its contracting and batch dimensions.
///
/// # Errors
/// Dimensions out of range or of different sizes, or operands of different dtypes.
pub fn dot_general(x: &Array, y: &Array, dims: DotGeneral) -> Result<Array> {
    bind1(Prim::Dot(dims), &[x.clone(), y.clone()])
}

/// The threefry2x32 block cipher on u32 arrays: `(k0, k1, x0, x1) -> (y0, y1)`.
/// `cholesky(a)`: the lower Cholesky factor of each matrix (only the lower triangle read;
/// NaNs where not positive definite). `jnp.linalg.cholesky` symmetrises first.
///
/// # Errors
/// A non-float operand, or one that is not a batch of square matrices.
pub fn cholesky(a: &Array) -> Result<Array> {
    bind1(Prim::Linalg(LinalgOp::Cholesky), std::slice::from_ref(a))
}

/// `triangular_solve(a, b, ...)`: `x` with `op(a) x = b` (left side) or `x op(a) = b`.
///
/// # Errors
/// Operands of different dtypes, non-float, or whose shapes do not fit (JAX's wording).
pub fn triangular_solve(
    a: &Array,
    b: &Array,
    left_side: bool,
    lower: bool,
    transpose_a: bool,
    conjugate_a: bool,
    unit_diagonal: bool,
) -> Result<Array> {
    let op = LinalgOp::TriangularSolve {
        left_side,
        lower,
        transpose_a,
        conjugate_a,
        unit_diagonal,
    };
    bind1(Prim::Linalg(op), &[a.clone(), b.clone()])
}

/// `lu(a)`: `(lu, pivots, permutation)`, LU with partial pivoting, `a[permutation] = L U`.
///
/// # Errors
/// A non-float operand of fewer than two dimensions.
pub fn lu(a: &Array) -> Result<(Array, Array, Array)> {
    let mut o = bind(Prim::Linalg(LinalgOp::Lu), std::slice::from_ref(a))?;
    let perm = o.pop().expect("three outputs");
    let piv = o.pop().expect("three outputs");
    Ok((o.pop().expect("three outputs"), piv, perm))
}

/// `lu_pivots_to_permutation(pivots, permutation_size)`: the row order the swaps produce.
///
/// # Errors
/// Pivots that are not integers of at least one dimension.
pub fn lu_pivots_to_permutation(pivots: &Array, permutation_size: usize) -> Result<Array> {
    let op = LinalgOp::LuPivotsToPermutation { permutation_size };
    bind1(Prim::Linalg(op), std::slice::from_ref(pivots))
}

/// JAX's threefry2x32 hash (`jax.random`'s bits): `(k0, k1)` the key, `(x0, x1)` the counts, all u32.
///
/// # Errors
/// Operands that are not u32 or whose shapes differ.
pub fn threefry2x32(k0: &Array, k1: &Array, x0: &Array, x1: &Array) -> Result<(Array, Array)> {
    let mut outs = bind(
        Prim::Random(RandomOp::Threefry2x32),
        &[k0.clone(), k1.clone(), x0.clone(), x1.clone()],
    )?;
    let y1 = outs.pop().expect("two outputs");
    let y0 = outs.pop().expect("two outputs");
    Ok((y0, y1))
}

/// A scalar constant of `like`'s dtype (JAX's `_const(x, v)`), weak if `like` is.
pub fn scalar_like(like: &Array, v: f64) -> Array {
    scalar_of(like.aval(), v)
}

/// A scalar of `aval`'s dtype and weak type holding `v`.
pub fn scalar_of(aval: &Aval, v: f64) -> Array {
    if aval.weak_type {
        Array::weak_scalar(v, aval.dtype)
    } else {
        Array::from_scalar(Scalar::from_f64(v, aval.dtype))
    }
}

/// Zeros of a type: a scalar literal broadcast to the shape (JAX's `zeros_like_aval`).
///
/// # Errors
/// A shape too large to allocate.
pub fn zeros(aval: &Aval) -> Result<Array> {
    full(aval, 0.0)
}

/// An array of type `aval` filled with `v`.
///
/// # Errors
/// A shape too large to allocate.
pub fn full(aval: &Aval, v: f64) -> Result<Array> {
    let s = scalar_of(aval, v);
    if aval.shape.is_empty() {
        Ok(s)
    } else {
        broadcast_in_dim(&s, &aval.shape, &[])
    }
}

/// Move axis `from` to position `to`.
///
/// # Errors
/// An axis out of range.
pub fn moveaxis(x: &Array, from: usize, to: usize) -> Result<Array> {
    if from == to {
        return Ok(x.clone());
    }
    let mut perm: Vec<usize> = (0..x.ndim()).filter(|&d| d != from).collect();
    perm.insert(to, from);
    transpose(x, &perm)
}

/// Sum `t` down to `aval`'s shape, undoing the scalar broadcasting of elementwise ops.
///
/// # Errors
/// `t` of a shape that does not broadcast to `aval`'s.
pub fn unbroadcast(aval: &Aval, t: &Array) -> Result<Array> {
    let t = if same_shape(t.shape(), &aval.shape) {
        t.clone()
    } else {
        let axes: Vec<usize> = (0..t.ndim()).collect();
        let summed = reduce_sum(t, &axes)?;
        reshape(&summed, &aval.shape)?
    };
    if t.dtype() != aval.dtype {
        convert_element_type(&t, aval.dtype)
    } else {
        Ok(t)
    }
}

// Control flow lives in `api::control` (it traces functions); `lax` gives it JAX's names.
pub use crate::api::control::{
    cond, fori_loop, map, scan, scan_with, switch, while_loop, LoopBound, ScanOptions,
};

/// `log(exp(x) + exp(y))` as JAX's `lax.logaddexp` computes it (its primal: `x + y` where
/// `x - y` is NaN, else `max + log1p(exp(-|x - y|))`); its custom JVP is the callers'.
pub fn logaddexp(x: &Array, y: &Array) -> Result<Array> {
    let amax = max(x, y)?;
    let delta = sub(x, y)?;
    select(
        &ne(&delta, &delta)?,
        &add(x, y)?,
        &add(&amax, &log1p(&exp(&neg(&abs(&delta)?)?)?)?)?,
    )
}

/// `x` with +inf replaced by 0 (JAX's `_replace_inf`, in `logaddexp`'s JVP).
pub fn replace_inf(x: &Array) -> Result<Array> {
    let inf = eq(x, &scalar_like(x, f64::INFINITY))?;
    select(&inf, &zeros(x.aval())?, x)
}

/// `lax.cumsum(x, axis, reverse)`.
pub fn cumsum(x: &Array, axis: usize, reverse: bool) -> Result<Array> {
    cumulative(CumulativeKind::Sum, x, axis, reverse)
}

/// `lax.cumprod(x, axis, reverse)`.
pub fn cumprod(x: &Array, axis: usize, reverse: bool) -> Result<Array> {
    cumulative(CumulativeKind::Prod, x, axis, reverse)
}

/// `lax.cummax(x, axis, reverse)`.
pub fn cummax(x: &Array, axis: usize, reverse: bool) -> Result<Array> {
    cumulative(CumulativeKind::Max, x, axis, reverse)
}

/// `lax.cummin(x, axis, reverse)`.
pub fn cummin(x: &Array, axis: usize, reverse: bool) -> Result<Array> {
    cumulative(CumulativeKind::Min, x, axis, reverse)
}

/// `lax.cumlogsumexp(x, axis, reverse)`.
pub fn cumlogsumexp(x: &Array, axis: usize, reverse: bool) -> Result<Array> {
    cumulative(CumulativeKind::LogSumExp, x, axis, reverse)
}

fn cumulative(kind: CumulativeKind, x: &Array, axis: usize, reverse: bool) -> Result<Array> {
    let op = Cumulative {
        kind,
        axis,
        reverse,
    };
    bind1(Prim::Cumulative(op), std::slice::from_ref(x))
}

/// `lax.sort(operands, dimension, is_stable, num_keys)`: the operands (of one shape) sorted
/// together along `dimension` by the first `num_keys` of them, NaNs last.
pub fn sort(
    operands: &[Array],
    dimension: usize,
    is_stable: bool,
    num_keys: usize,
) -> Result<Vec<Array>> {
    let op = Sort {
        dimension,
        is_stable,
        num_keys,
    };
    crate::core::trace::bind(Prim::Sort(op), operands)
}

/// The i32 indices that stably sort `x` along `axis`; descending as JAX's `argsort` does it
/// (the reversed array sorted, the result reversed), so ties keep their order either way.
///
/// # Errors
/// An axis out of range.
pub fn argsort_along(x: &Array, axis: usize, descending: bool) -> Result<Array> {
    use crate::prims::cumulative::rev;
    let iota = iota(DType::I32, x.shape(), axis)?;
    if descending {
        let out = sort(&[rev(x, axis)?, rev(&iota, axis)?], axis, true, 1)?;
        rev(&out[1], axis)
    } else {
        Ok(sort(&[x.clone(), iota], axis, true, 1)?.remove(1))
    }
}

/// `lax.top_k(x, k)`: the `k` largest elements along the last axis in descending order (NaN
/// largest, +0.0 above -0.0, ties in index order) and their i32 indices.
///
/// # Errors
/// `x` a scalar, or `k` larger than the last axis.
pub fn top_k(x: &Array, k: usize) -> Result<(Array, Array)> {
    let axis = x.ndim().max(1) - 1;
    let mut out = crate::core::trace::bind(Prim::TopK(TopK { k, axis }), std::slice::from_ref(x))?;
    let idx = out.pop().expect("two outputs");
    Ok((out.pop().expect("two outputs"), idx))
}
