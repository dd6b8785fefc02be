//! `lax`: one function per primitive, binding it in the current context. Transformation rules
//! and the `numpy` layer are written in terms of these. Every function returns `Result`.

use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::Result;
use crate::core::trace::{bind, bind1};
use crate::dtype::{DType, Scalar};
pub use crate::prims::unary::RoundingMethod;
use crate::prims::{BinaryOp, DotGeneral, LinalgOp, Prim, RandomOp, ReduceOp, ShapeOp, UnaryOp};

pub mod linalg;

macro_rules! unary_fns {
    ($($(#[$doc:meta])* $name:ident => $op:ident),* $(,)?) => {
        $( $(#[$doc])* pub fn $name(x: &Array) -> Result<Array> { bind1(Prim::Unary(UnaryOp::$op), std::slice::from_ref(x)) } )*
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
        $( pub fn $name(x: &Array, y: &Array) -> Result<Array> { bind1(Prim::Binary(BinaryOp::$op), &[x.clone(), y.clone()]) } )*
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
pub fn round(x: &Array, rounding_method: RoundingMethod) -> Result<Array> {
    bind1(
        Prim::Unary(UnaryOp::Round { rounding_method }),
        std::slice::from_ref(x),
    )
}

/// `1 / x` as JAX writes it, `integer_pow(x, -1)`.
pub fn reciprocal(x: &Array) -> Result<Array> {
    integer_pow(x, -1)
}

/// `x ** y` for a constant integer `y`.
pub fn integer_pow(x: &Array, y: i32) -> Result<Array> {
    bind1(
        Prim::Unary(UnaryOp::IntegerPow { y }),
        std::slice::from_ref(x),
    )
}

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

pub fn bitcast_convert_type(x: &Array, dtype: DType) -> Result<Array> {
    bind1(
        Prim::Unary(UnaryOp::BitcastConvertType { new_dtype: dtype }),
        std::slice::from_ref(x),
    )
}

/// `select_n(which, cases)`: `cases[which]` elementwise (`which` bool or i32).
pub fn select_n(which: &Array, cases: &[Array]) -> Result<Array> {
    let mut args = vec![which.clone()];
    args.extend(cases.iter().cloned());
    bind1(Prim::SelectN, &args)
}

/// `pred ? on_true : on_false` elementwise.
pub fn select(pred: &Array, on_true: &Array, on_false: &Array) -> Result<Array> {
    select_n(pred, &[on_false.clone(), on_true.clone()])
}

pub fn reduce_sum(x: &Array, axes: &[usize]) -> Result<Array> {
    bind1(
        Prim::Reduce(ReduceOp::Sum {
            axes: axes.to_vec(),
        }),
        std::slice::from_ref(x),
    )
}

pub fn reduce_max(x: &Array, axes: &[usize]) -> Result<Array> {
    bind1(
        Prim::Reduce(ReduceOp::Max {
            axes: axes.to_vec(),
        }),
        std::slice::from_ref(x),
    )
}

pub fn reduce_min(x: &Array, axes: &[usize]) -> Result<Array> {
    bind1(
        Prim::Reduce(ReduceOp::Min {
            axes: axes.to_vec(),
        }),
        std::slice::from_ref(x),
    )
}

pub fn argmax(x: &Array, axis: usize, index_dtype: DType) -> Result<Array> {
    bind1(
        Prim::Reduce(ReduceOp::Argmax {
            axes: vec![axis],
            index_dtype,
        }),
        std::slice::from_ref(x),
    )
}

pub fn argmin(x: &Array, axis: usize, index_dtype: DType) -> Result<Array> {
    bind1(
        Prim::Reduce(ReduceOp::Argmin {
            axes: vec![axis],
            index_dtype,
        }),
        std::slice::from_ref(x),
    )
}

pub fn broadcast_in_dim(
    x: &Array,
    shape: &[usize],
    broadcast_dimensions: &[usize],
) -> Result<Array> {
    if x.shape() == shape
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
pub fn broadcast_to_rank(x: &Array, shape: &[usize]) -> Result<Array> {
    let offset = shape.len() - x.ndim();
    let dims: Vec<usize> = (offset..shape.len()).collect();
    broadcast_in_dim(x, shape, &dims)
}

pub fn reshape(x: &Array, new_sizes: &[usize]) -> Result<Array> {
    if x.shape() == new_sizes {
        return Ok(x.clone());
    }
    bind1(
        Prim::Shape(ShapeOp::Reshape {
            new_sizes: new_sizes.to_vec(),
        }),
        std::slice::from_ref(x),
    )
}

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

pub fn concatenate(xs: &[Array], dimension: usize) -> Result<Array> {
    bind1(Prim::Shape(ShapeOp::Concatenate { dimension }), xs)
}

/// Pad with `padding_value`: per axis `(low, high, interior)` elements.
pub fn pad(x: &Array, padding_value: &Array, config: &[(usize, usize, usize)]) -> Result<Array> {
    bind1(
        Prim::Shape(ShapeOp::Pad {
            padding_config: config.to_vec(),
        }),
        &[x.clone(), padding_value.clone()],
    )
}

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

pub fn dynamic_update_slice(x: &Array, update: &Array, starts: &[Array]) -> Result<Array> {
    let mut args = vec![x.clone(), update.clone()];
    args.extend(starts.iter().cloned());
    bind1(Prim::Shape(ShapeOp::DynamicUpdateSlice), &args)
}

/// `take(x, indices, axis)`: indices (integers, clamped into range) replace axis `axis`.
pub fn gather(x: &Array, indices: &Array, axis: usize) -> Result<Array> {
    bind1(
        Prim::Shape(ShapeOp::Gather { axis }),
        &[x.clone(), indices.clone()],
    )
}

/// `x` with `updates` added at `indices` along `axis` (the transpose of `gather`).
pub fn scatter_add(x: &Array, indices: &Array, updates: &Array, axis: usize) -> Result<Array> {
    bind1(
        Prim::Shape(ShapeOp::ScatterAdd { axis }),
        &[x.clone(), indices.clone(), updates.clone()],
    )
}

/// `0, 1, 2, ...` along `dimension` of an array of `shape`.
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

pub fn dot_general(x: &Array, y: &Array, dims: DotGeneral) -> Result<Array> {
    bind1(Prim::Dot(dims), &[x.clone(), y.clone()])
}

/// The threefry2x32 block cipher on u32 arrays: `(k0, k1, x0, x1) -> (y0, y1)`.
/// `cholesky(a)`: the lower Cholesky factor of each matrix (only the lower triangle read;
/// NaNs where not positive definite). `jnp.linalg.cholesky` symmetrises first.
pub fn cholesky(a: &Array) -> Result<Array> {
    bind1(Prim::Linalg(LinalgOp::Cholesky), std::slice::from_ref(a))
}

/// `triangular_solve(a, b, ...)`: `x` with `op(a) x = b` (left side) or `x op(a) = b`.
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
pub fn lu(a: &Array) -> Result<(Array, Array, Array)> {
    let mut o = bind(Prim::Linalg(LinalgOp::Lu), std::slice::from_ref(a))?;
    let perm = o.pop().expect("three outputs");
    let piv = o.pop().expect("three outputs");
    Ok((o.pop().expect("three outputs"), piv, perm))
}

/// `lu_pivots_to_permutation(pivots, permutation_size)`: the row order the swaps produce.
pub fn lu_pivots_to_permutation(pivots: &Array, permutation_size: usize) -> Result<Array> {
    let op = LinalgOp::LuPivotsToPermutation { permutation_size };
    bind1(Prim::Linalg(op), std::slice::from_ref(pivots))
}

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

pub fn scalar_of(aval: &Aval, v: f64) -> Array {
    if aval.weak_type {
        Array::weak_scalar(v, aval.dtype)
    } else {
        Array::from_scalar(Scalar::from_f64(v, aval.dtype))
    }
}

/// Zeros of a type: a scalar literal broadcast to the shape (JAX's `zeros_like_aval`).
pub fn zeros(aval: &Aval) -> Result<Array> {
    full(aval, 0.0)
}

pub fn full(aval: &Aval, v: f64) -> Result<Array> {
    let s = scalar_of(aval, v);
    if aval.shape.is_empty() {
        Ok(s)
    } else {
        broadcast_in_dim(&s, &aval.shape, &[])
    }
}

/// Move axis `from` to position `to`.
pub fn moveaxis(x: &Array, from: usize, to: usize) -> Result<Array> {
    if from == to {
        return Ok(x.clone());
    }
    let mut perm: Vec<usize> = (0..x.ndim()).filter(|&d| d != from).collect();
    perm.insert(to, from);
    transpose(x, &perm)
}

/// Sum `t` down to `aval`'s shape, undoing the scalar broadcasting of elementwise ops.
pub fn unbroadcast(aval: &Aval, t: &Array) -> Result<Array> {
    let t = if t.shape() == aval.shape.as_slice() {
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
