//! Layout and indexing primitives. `ShapeOp` names them and holds their parameters; each op's
//! rules (parameters as printed, shape rule, eager evaluation, JVP linearity, transpose and
//! batching) sit together in one `impl ShapeRule` block: layout ops (`broadcast_in_dim`,
//! `reshape`, `transpose`, `rev`, `squeeze`, `concatenate`, `pad`, `slice`, `iota`) in `layout`,
//! indexing ops (`dynamic_slice`, `dynamic_update_slice`, `gather`, `scatter-add`) in
//! `indexing`.

mod indexing;
mod layout;

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
pub enum ShapeOp {
    /// Operand dimension `i` becomes output dimension `broadcast_dimensions[i]` (size 1 stretches).
    BroadcastInDim {
        shape: Vec<usize>,
        broadcast_dimensions: Vec<usize>,
    },
    Reshape {
        new_sizes: Vec<usize>,
    },
    Transpose {
        permutation: Vec<usize>,
    },
    /// Reverse the order of the elements along each axis of `dimensions`.
    Rev {
        dimensions: Vec<usize>,
    },
    /// Remove size-1 dimensions.
    Squeeze {
        dimensions: Vec<usize>,
    },
    Concatenate {
        dimension: usize,
    },
    /// Per axis `(low, high, interior)` padding with the second operand's value.
    Pad {
        padding_config: Vec<(usize, usize, usize)>,
    },
    Slice {
        start_indices: Vec<usize>,
        limit_indices: Vec<usize>,
        strides: Option<Vec<usize>>,
    },
    /// Operand, then one integer scalar start per axis (clamped so the slice fits).
    DynamicSlice {
        slice_sizes: Vec<usize>,
    },
    /// Operand, update, then one integer scalar start per axis (clamped).
    DynamicUpdateSlice,
    /// `take(operand, indices, axis)`: indices clamped into range.
    Gather {
        axis: usize,
    },
    /// `operand` with `updates` added at `indices` along `axis` (operand, indices, updates).
    ScatterAdd {
        axis: usize,
    },
    Iota {
        dtype: DType,
        shape: Vec<usize>,
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
            ShapeOp::Gather { .. } => "gather",
            ShapeOp::ScatterAdd { .. } => "scatter-add",
            ShapeOp::Iota { .. } => "iota",
        }
    }

    pub fn arity(&self) -> Option<usize> {
        match self {
            ShapeOp::BroadcastInDim { .. }
            | ShapeOp::Reshape { .. }
            | ShapeOp::Transpose { .. }
            | ShapeOp::Rev { .. }
            | ShapeOp::Squeeze { .. }
            | ShapeOp::Slice { .. } => Some(1),
            ShapeOp::Pad { .. } | ShapeOp::Gather { .. } => Some(2),
            ShapeOp::ScatterAdd { .. } => Some(3),
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
            ShapeOp::Gather { axis } => f(&indexing::Gather { axis: *axis }),
            ShapeOp::ScatterAdd { axis } => f(&indexing::ScatterAdd { axis: *axis }),
        }
    }

    pub fn params(&self) -> Vec<(&'static str, Param)> {
        self.with_rule(|r| r.params())
    }

    /// The op printed as `name[params]` (`None`: not a shape op), read by its rule.
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
            "gather" => indexing::Gather::from_printed,
            "scatter-add" => indexing::ScatterAdd::from_printed,
            _ => return Ok(None),
        };
        read(p).map(Some)
    }

    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        self.with_rule(|r| r.abstract_eval(avals))
    }

    pub fn eval(&self, args: &[Array], out: Aval) -> Result<Array> {
        let data = self.with_rule(|r| r.eval(args, &out))?;
        Ok(Array::from_concrete(out, data))
    }

    /// Every shape op is linear in its array operands: the JVP applies it to the tangents.
    pub fn jvp(&self, primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
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

    pub fn transpose(&self, ct: &Tangent, args: &[LinArg]) -> Result<Vec<Tangent>> {
        let mut out: Vec<Tangent> = vec![None; args.len()];
        if let Some(ct) = ct {
            self.with_rule(|r| r.transpose(ct, args, &mut out))?;
        }
        Ok(out)
    }

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
