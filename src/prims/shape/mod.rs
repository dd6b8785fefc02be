//! Layout and indexing primitives. `ShapeOp` names them and holds their parameters; each op's
//! rules (parameters as printed, shape rule, eager evaluation, JVP linearity, transpose and
//! batching) sit together in one `impl ShapeRule` block: layout ops (`broadcast_in_dim`,
//! `reshape`, `transpose`, `rev`, `squeeze`, `concatenate`, `pad`, `slice`, `iota`) in
//! `layout`, indexing ops (`dynamic_slice`, `dynamic_update_slice`) in `indexing`, and the
//! general `gather` and the scatter family in `gather`.

mod gather;
mod indexing;
mod layout;

pub use gather::{
    default_fill, GatherDimensionNumbers, GatherOptions, GatherParams, GatherScatterMode,
    ScatterDimensionNumbers, ScatterKind, ScatterOptions, ScatterParams, Walk,
};

use super::batching::Batching;
use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::core::trace::bind1;
use crate::dtype::DType;
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::Param;
use crate::lax;

#[derive(Clone, Debug, PartialEq)]
/// The shape and indexing primitives, with JAX's parameters.
pub enum ShapeOp {
    /// Operand dimension `i` becomes output dimension `broadcast_dimensions[i]` (size 1 stretches).
    BroadcastInDim {
        /// The output shape.
        shape: Vec<usize>,
        /// Where each operand dimension goes.
        broadcast_dimensions: Vec<usize>,
    },
    /// `reshape` (row-major).
    Reshape {
        /// The output shape.
        new_sizes: Vec<usize>,
    },
    /// `transpose`: output dimension `i` is operand dimension `permutation[i]`.
    Transpose {
        /// The operand dimension of each output dimension.
        permutation: Vec<usize>,
    },
    /// Reverse the order of the elements along each axis of `dimensions`.
    Rev {
        /// The reversed axes.
        dimensions: Vec<usize>,
    },
    /// Remove size-1 dimensions.
    Squeeze {
        /// The removed dimensions.
        dimensions: Vec<usize>,
    },
    /// `concatenate` along `dimension`.
    Concatenate {
        /// The joined dimension.
        dimension: usize,
    },
    /// Per axis `(low, high, interior)` padding with the second operand's value.
    Pad {
        /// `(low, high, interior)` per dimension.
        padding_config: Vec<(usize, usize, usize)>,
    },
    /// `slice` from `start_indices` to `limit_indices` by `strides`.
    Slice {
        /// The first index per dimension.
        start_indices: Vec<usize>,
        /// The end (exclusive) per dimension.
        limit_indices: Vec<usize>,
        /// The step per dimension (`None`: 1).
        strides: Option<Vec<usize>>,
    },
    /// Operand, then one integer scalar start per axis (clamped so the slice fits).
    DynamicSlice {
        /// The size of the slice per dimension.
        slice_sizes: Vec<usize>,
    },
    /// Operand, update, then one integer scalar start per axis (clamped).
    DynamicUpdateSlice,
    /// XLA's general gather (operand, indices).
    Gather(Box<GatherParams>),
    /// `scatter`, `scatter-add`, `scatter-mul`, `scatter-min`, `scatter-max` (operand,
    /// indices, updates).
    Scatter(Box<ScatterParams>),
    /// `iota`: `0, 1, ...` along `dimension` of `shape`.
    Iota {
        /// The element type.
        dtype: DType,
        /// The output shape.
        shape: Vec<usize>,
        /// The dimension that counts.
        dimension: usize,
    },
}

/// The rules of one shape primitive, on a view of its parameters.
trait ShapeRule {
    /// Parameters as printed in a jaxpr.
    fn params(&self) -> Vec<(&'static str, Param)>;
    /// The inverse of `params`: the op from its printed parameters.
    fn from_printed(p: &PrintedParams) -> Result<ShapeOp>
    where
        Self: Sized;
    /// The output type, or an error naming the op and saying what does not fit.
    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval>;
    /// The output elements on concrete operands of checked types.
    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data>;
    /// The operands the op is linear in: its JVP applies it to their tangents (the other
    /// operands, indices or starts, keep their primal values).
    fn linear_operands(&self, _num_operands: usize) -> Vec<usize> {
        vec![0]
    }
    /// Cotangents of the linear operands into `out` (all `None` on entry).
    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()>;
    /// Outputs and their batch dimensions, some operand batched.
    fn batch(&self, b: &Batching) -> Result<BatchOut>;
}

impl ShapeOp {
    /// The primitive's name as jaxprs print it.
    pub fn name(&self) -> &'static str {
        match self {
            ShapeOp::BroadcastInDim { .. } => "broadcast_in_dim",
            ShapeOp::Reshape { .. } => "reshape",
            ShapeOp::Transpose { .. } => "transpose",
            ShapeOp::Rev { .. } => "rev",
            ShapeOp::Squeeze { .. } => "squeeze",
            ShapeOp::Concatenate { .. } => "concatenate",
            ShapeOp::Pad { .. } => "pad",
            ShapeOp::Slice { .. } => "slice",
            ShapeOp::DynamicSlice { .. } => "dynamic_slice",
            ShapeOp::DynamicUpdateSlice => "dynamic_update_slice",
            ShapeOp::Gather(_) => "gather",
            ShapeOp::Scatter(p) => p.kind.name(),
            ShapeOp::Iota { .. } => "iota",
        }
    }

    /// The number of operands (`None`: any).
    pub fn arity(&self) -> Option<usize> {
        match self {
            ShapeOp::BroadcastInDim { .. }
            | ShapeOp::Reshape { .. }
            | ShapeOp::Transpose { .. }
            | ShapeOp::Rev { .. }
            | ShapeOp::Squeeze { .. }
            | ShapeOp::Slice { .. } => Some(1),
            ShapeOp::Pad { .. } | ShapeOp::Gather(_) => Some(2),
            ShapeOp::Scatter(_) => Some(3),
            ShapeOp::Iota { .. } => Some(0),
            ShapeOp::Concatenate { .. }
            | ShapeOp::DynamicSlice { .. }
            | ShapeOp::DynamicUpdateSlice => None,
        }
    }

    /// Run `f` on the rules of this op.
    fn with_rule<T>(&self, f: impl FnOnce(&dyn ShapeRule) -> T) -> T {
        match self {
            ShapeOp::BroadcastInDim {
                shape,
                broadcast_dimensions,
            } => f(&layout::BroadcastInDim {
                shape,
                broadcast_dimensions,
            }),
            ShapeOp::Reshape { new_sizes } => f(&layout::Reshape { new_sizes }),
            ShapeOp::Transpose { permutation } => f(&layout::Transpose { permutation }),
            ShapeOp::Rev { dimensions } => f(&layout::Rev { dimensions }),
            ShapeOp::Squeeze { dimensions } => f(&layout::Squeeze { dimensions }),
            ShapeOp::Concatenate { dimension } => f(&layout::Concatenate {
                dimension: *dimension,
            }),
            ShapeOp::Pad { padding_config } => f(&layout::Pad { padding_config }),
            ShapeOp::Slice {
                start_indices,
                limit_indices,
                strides,
            } => f(&layout::Slice {
                start_indices,
                limit_indices,
                strides: strides.as_deref(),
            }),
            ShapeOp::Iota {
                dtype,
                shape,
                dimension,
            } => f(&layout::Iota {
                dtype: *dtype,
                shape,
                dimension: *dimension,
            }),
            ShapeOp::DynamicSlice { slice_sizes } => f(&indexing::DynamicSlice { slice_sizes }),
            ShapeOp::DynamicUpdateSlice => f(&indexing::DynamicUpdateSlice),
            ShapeOp::Gather(p) => f(&**p),
            ShapeOp::Scatter(p) => f(&**p),
        }
    }

    /// The parameters as jaxprs print them.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        self.with_rule(|r| r.params())
    }

    /// The op printed as `name[params]` (`None`: not a shape op), read by its rule.
    ///
    /// # Errors
    /// Parameters missing or malformed in the printed jaxpr (the message names the primitive and the parameter).
    pub fn from_printed(name: &str, p: &PrintedParams) -> Result<Option<ShapeOp>> {
        let read: fn(&PrintedParams) -> Result<ShapeOp> = match name {
            "broadcast_in_dim" => layout::BroadcastInDim::from_printed,
            "reshape" => layout::Reshape::from_printed,
            "transpose" => layout::Transpose::from_printed,
            "rev" => layout::Rev::from_printed,
            "squeeze" => layout::Squeeze::from_printed,
            "concatenate" => layout::Concatenate::from_printed,
            "pad" => layout::Pad::from_printed,
            "slice" => layout::Slice::from_printed,
            "iota" => layout::Iota::from_printed,
            "dynamic_slice" => indexing::DynamicSlice::from_printed,
            "dynamic_update_slice" => indexing::DynamicUpdateSlice::from_printed,
            "gather" => GatherParams::from_printed,
            "scatter" | "scatter-add" | "scatter-mul" | "scatter-min" | "scatter-max" => {
                ScatterParams::from_printed
            }
            _ => return Ok(None),
        };
        read(p).map(Some)
    }

    /// The output type.
    ///
    /// # Errors
    /// Operands the primitive does not accept: their count, shapes or dtypes (JAX's wording, naming the primitive).
    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        self.with_rule(|r| r.abstract_eval(avals))
    }

    /// Evaluate on concrete arrays.
    ///
    /// # Errors
    /// As `abstract_eval`, for concrete operands.
    pub fn eval(&self, args: &[Array], out: Aval) -> Result<Array> {
        let data = self.with_rule(|r| r.eval(args, &out))?;
        Ok(Array::from_concrete(out, data))
    }

    /// Every shape op is linear in its array operands: the JVP applies it to the tangents.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn jvp(&self, primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
        match self {
            ShapeOp::Gather(p) => return p.jvp(primals, tangents),
            ShapeOp::Scatter(p) => return p.jvp(primals, tangents),
            _ => {}
        }
        let ans = bind1(Prim::Shape(self.clone()), primals)?;
        let linear = self.with_rule(|r| r.linear_operands(primals.len()));
        if linear.iter().all(|&i| tangents[i].is_none()) {
            return Ok((vec![ans], vec![None]));
        }
        let mut args = primals.to_vec();
        for &i in &linear {
            args[i] = match &tangents[i] {
                Some(t) => t.clone(),
                None => lax::zeros(primals[i].aval())?,
            };
        }
        let t = bind1(Prim::Shape(self.clone()), &args)?;
        Ok((vec![ans], vec![Some(t)]))
    }

    /// The transpose rule.
    ///
    /// # Errors
    /// A linear operand used non-linearly, or an error of a primitive the rule binds.
    pub fn transpose(&self, ct: &Tangent, args: &[LinArg]) -> Result<Vec<Tangent>> {
        let mut out: Vec<Tangent> = vec![None; args.len()];
        if let Some(ct) = ct {
            self.with_rule(|r| r.transpose(ct, args, &mut out))?;
        }
        Ok(out)
    }

    /// The batching rule.
    ///
    /// # Errors
    /// An error of a primitive the rule binds.
    pub fn batch(&self, b: &Batching) -> Result<BatchOut> {
        self.with_rule(|r| r.batch(b))
    }
}

/// The type error `op: msg`.
fn type_err<T>(op: &str, msg: String) -> Result<T> {
    Err(Error::type_err(format!("{op}: {msg}")))
}

/// A batching rule's single output, batched at `d`.
fn one(x: Array, d: usize) -> Result<BatchOut> {
    Ok((vec![x], vec![Some(d)]))
}

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// The data of a row-major array of `shape` transposed by `perm` (output axis `k` is input
/// axis `perm[k]`), as `transpose` computes it: output element `(o_0, ..)` is input element
/// `sum_k o_k * stride[perm[k]]`, the first source index of each row (the last output axis)
/// found by walking the outer axes as an odometer, each row then read at its stride.
pub fn transposed_data(data: &Data, shape: &[usize], perm: &[usize]) -> Data {
    let in_strides = strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let step: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let size: usize = out_shape.iter().product();
    let (inner, inner_step, row_starts) = match out_shape.split_last() {
        None => (1, 0, vec![0]),
        Some(_) if size == 0 => (0, 0, vec![]),
        Some((&inner, outer)) => {
            let mut starts = Vec::with_capacity(size / inner);
            let (mut idx, mut at) = (vec![0usize; outer.len()], 0usize);
            for _ in 0..size / inner {
                starts.push(at);
                for k in (0..idx.len()).rev() {
                    idx[k] += 1;
                    at += step[k];
                    if idx[k] < outer[k] {
                        break;
                    }
                    at -= step[k] * outer[k];
                    idx[k] = 0;
                }
            }
            (inner, step[outer.len()], starts)
        }
    };
    crate::array::map_data!(data, v => {
        let mut out = Vec::with_capacity(size);
        for &at in &row_starts {
            out.extend((0..inner).map(|i| v[at + i * inner_step]));
        }
        out.into()
    })
}

/// Visit every multi-index of `shape` in row-major order, collecting `f(index)`.
pub fn for_each_index<T>(shape: &[usize], mut f: impl FnMut(&[usize]) -> T) -> Vec<T> {
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..total {
        out.push(f(&idx));
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}
