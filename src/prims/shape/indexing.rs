//! Indexing primitives: windows at dynamic offsets (`dynamic_slice`, `dynamic_update_slice`),
//! one block per primitive with all its rules. With batched start indices they batch as JAX
//! does, as a `gather` / `scatter` (`gather.rs`) of the stacked starts.

use super::gather::{
    GatherDimensionNumbers, GatherParams, GatherScatterMode, ScatterDimensionNumbers, ScatterKind,
    ScatterParams,
};
use super::ShapeOp;
use super::{for_each_index, one, strides, type_err, Batching, ShapeRule};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::{DType, Scalar};
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::{py_tuple, Param};
use crate::lax;
use crate::prims::batching::bdim_to_front;
use crate::prims::{BatchOut, LinArg, Tangent};

fn check_start_indices(name: &str, x: &Aval, starts: &[&Aval]) -> Result<()> {
    if starts.len() != x.ndim()
        || starts
            .iter()
            .any(|s| !s.shape.is_empty() || !s.dtype.is_int())
    {
        return Err(Error::type_err(format!(
            "{name}: needs one integer scalar start index per axis of the operand {x}, got {}",
            starts
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// Start indices clamped into `[0, dim - size]`, as XLA does.
fn clamped_starts(shape: &[usize], sizes: &[usize], starts: &[Array]) -> Result<Vec<usize>> {
    starts
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let v = s.to_scalar()?.to_f64() as i64;
            Ok(v.clamp(0, (shape[k] - sizes[k]) as i64) as usize)
        })
        .collect()
}

/// The start indices as values (a transpose needs them known).
fn known_all(args: &[LinArg]) -> Result<Vec<Array>> {
    args.iter().map(|a| a.known().cloned()).collect()
}

/// Start indices with the batch axis's own start, 0, in front, as `i32`.
fn starts_with_batch(starts: &[Array]) -> Result<Vec<Array>> {
    let mut out = vec![Array::scalar(0i32)];
    for s in starts {
        out.push(lax::convert_element_type(s, DType::I32)?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// dynamic_slice

pub(super) struct DynamicSlice<'a> {
    pub slice_sizes: &'a [usize],
}

impl ShapeRule for DynamicSlice<'_> {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![("slice_sizes", Param::Text(py_tuple(self.slice_sizes)))]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::DynamicSlice {
            slice_sizes: p.get("slice_sizes")?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (sizes, x) = (self.slice_sizes, avals[0]);
        check_start_indices("dynamic_slice", x, &avals[1..])?;
        if sizes.len() != x.ndim() || sizes.iter().zip(&x.shape).any(|(s, n)| s > n) {
            return type_err(
                "dynamic_slice",
                format!(
                    "slice_sizes {} do not fit the operand shape {}",
                    py_tuple(sizes),
                    shape_str(&x.shape)
                ),
            );
        }
        Ok(Aval::new(sizes, x.dtype).weak(x.weak_type))
    }

    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let x = &args[0];
        let starts = clamped_starts(x.shape(), self.slice_sizes, &args[1..])?;
        let in_strides = strides(x.shape());
        let src = for_each_index(&out.shape, |o| {
            (0..o.len())
                .map(|k| (starts[k] + o[k]) * in_strides[k])
                .sum()
        });
        Ok(x.data()?.take(src.into_iter()))
    }

    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let starts = known_all(&args[1..])?;
        let zeros = lax::zeros(args[0].aval())?;
        out[0] = Some(lax::dynamic_update_slice(&zeros, ct, &starts)?);
        Ok(())
    }

    /// JAX's `_dynamic_slice_batching_rule`: batched starts make a gather of the stacked
    /// start vectors (`CLIP`), batched by the gather rule.
    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        if b.dims[1..].iter().any(|d| d.is_some()) {
            let n = self.slice_sizes.len();
            let params = GatherParams {
                dimension_numbers: GatherDimensionNumbers {
                    offset_dims: (0..n).collect(),
                    start_index_map: (0..n).collect(),
                    ..Default::default()
                },
                slice_sizes: self.slice_sizes.to_vec(),
                indices_are_sorted: true,
                unique_indices: true,
                mode: GatherScatterMode::Clip,
                fill_value: None,
            };
            let index = stacked_starts(&b.args[1..], &b.dims[1..], b.size)?;
            let args = [b.args[0].clone(), index];
            let dims = [b.dims[0], Some(0)];
            return params.batch(&Batching {
                args: &args,
                dims: &dims,
                size: b.size,
                sub: b.sub,
            });
        }
        let x = b.front(0)?;
        let starts = starts_with_batch(&b.args[1..])?;
        let sizes = [&[b.size][..], self.slice_sizes].concat();
        one(lax::dynamic_slice(&x, &starts, &sizes)?, 0)
    }
}

/// JAX's `_batch_dynamic_slice_indices`: the scalar starts (some batched) as one `[size, n]`
/// array of index vectors.
fn stacked_starts(starts: &[Array], dims: &[Option<usize>], size: usize) -> Result<Array> {
    let cols = starts
        .iter()
        .zip(dims)
        .map(|(s, &d)| {
            let s = lax::convert_element_type(&bdim_to_front(s, d, size)?, DType::I32)?;
            lax::reshape(&s, &[size, 1])
        })
        .collect::<Result<Vec<_>>>()?;
    if cols.is_empty() {
        return lax::zeros(&Aval::new(vec![size, 0], DType::I32));
    }
    lax::concatenate(&cols, 1)
}

// ---------------------------------------------------------------------------------------------
// dynamic_update_slice

pub(super) struct DynamicUpdateSlice;

impl ShapeRule for DynamicUpdateSlice {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![]
    }

    fn from_printed(_: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::DynamicUpdateSlice)
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        if avals.len() < 2 {
            return type_err(
                "dynamic_update_slice",
                "needs an operand and an update".into(),
            );
        }
        let (x, u) = (avals[0], avals[1]);
        check_start_indices("dynamic_update_slice", x, &avals[2..])?;
        if u.ndim() != x.ndim()
            || u.shape.iter().zip(&x.shape).any(|(s, n)| s > n)
            || u.dtype != x.dtype
        {
            return type_err(
                "dynamic_update_slice",
                format!("update {u} does not fit the operand {x}"),
            );
        }
        Ok(x.clone())
    }

    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let (x, u) = (&args[0], &args[1]);
        let starts = clamped_starts(x.shape(), u.shape(), &args[2..])?;
        let in_strides = strides(x.shape());
        let dst: Vec<usize> = for_each_index(u.shape(), |o| {
            (0..o.len())
                .map(|k| (starts[k] + o[k]) * in_strides[k])
                .sum()
        });
        let mut vals: Vec<Scalar> = (0..x.size())
            .map(|i| x.data().expect("concrete").get(i))
            .collect();
        let ud = u.data()?;
        for (j, &i) in dst.iter().enumerate() {
            vals[i] = ud.get(j);
        }
        Ok(Data::from_scalars(out.dtype, vals.into_iter()))
    }

    /// Linear in the operand and the update together.
    fn linear_operands(&self, _: usize) -> Vec<usize> {
        vec![0, 1]
    }

    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let starts = known_all(&args[2..])?;
        let upd_aval = args[1].aval();
        if args[0].is_linear() {
            let zeros = lax::zeros(upd_aval)?;
            out[0] = Some(lax::dynamic_update_slice(ct, &zeros, &starts)?);
        }
        if args[1].is_linear() {
            out[1] = Some(lax::dynamic_slice(ct, &starts, &upd_aval.shape)?);
        }
        Ok(())
    }

    /// JAX's `_dynamic_update_slice_batching_rule`: batched starts make a `scatter` of the
    /// stacked start vectors (`CLIP`), batched by the scatter rule.
    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        if b.dims[2..].iter().any(|d| d.is_some()) {
            let n = b.args.len() - 2;
            let params = ScatterParams {
                kind: ScatterKind::Replace,
                dimension_numbers: ScatterDimensionNumbers {
                    update_window_dims: (0..n).collect(),
                    scatter_dims_to_operand_dims: (0..n).collect(),
                    ..Default::default()
                },
                indices_are_sorted: true,
                unique_indices: true,
                mode: GatherScatterMode::Clip,
                dtype: b.args[0].dtype(),
            };
            let index = stacked_starts(&b.args[2..], &b.dims[2..], b.size)?;
            let args = [b.args[0].clone(), index, b.args[1].clone()];
            let dims = [b.dims[0], Some(0), b.dims[1]];
            return params.batch(&Batching {
                args: &args,
                dims: &dims,
                size: b.size,
                sub: b.sub,
            });
        }
        let (x, u) = (b.front(0)?, b.front(1)?);
        let starts = starts_with_batch(&b.args[2..])?;
        one(lax::dynamic_update_slice(&x, &u, &starts)?, 0)
    }
}
