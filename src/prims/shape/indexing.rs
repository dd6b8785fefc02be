//! Indexing primitives: windows at dynamic offsets (`dynamic_slice`, `dynamic_update_slice`)
//! and `take` along an axis (`gather`) with its transpose (`scatter-add`). One block per
//! primitive with all its rules; gather and scatter-add share the batch-folding helpers that
//! sit between them.

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
        let zeros = lax::zeros(&args[0].aval())?;
        out[0] = Some(lax::dynamic_update_slice(&zeros, ct, &starts)?);
        Ok(())
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        if b.dims[1..].iter().any(|d| d.is_some()) {
            return dynamic_slice_as_gathers(b.args, b.dims, self.slice_sizes, b.size);
        }
        let x = b.front(0)?;
        let starts = starts_with_batch(&b.args[1..])?;
        let sizes = [&[b.size][..], self.slice_sizes].concat();
        one(lax::dynamic_slice(&x, &starts, &sizes)?, 0)
    }
}

/// `dynamic_slice` with batched start indices, as one `take` per axis of the indices
/// `clamp(start) + iota(size)` (batched takes have their own rule).
fn dynamic_slice_as_gathers(
    args: &[Array],
    dims: &[Option<usize>],
    sizes: &[usize],
    size: usize,
) -> Result<BatchOut> {
    let mut x = bdim_to_front(&args[0], dims[0], size)?;
    for (k, &s) in sizes.iter().enumerate() {
        let n = args[0].shape()[if dims[0].is_some_and(|d| d <= k) {
            k + 1
        } else {
            k
        }];
        let start = bdim_to_front(&args[1 + k], dims[1 + k], size)?; // [size]
        let start = lax::convert_element_type(&start, DType::I32)?;
        let hi = Array::scalar((n - s) as i32);
        let start = lax::max(&lax::min(&start, &hi)?, &Array::scalar(0i32))?;
        let start = lax::broadcast_in_dim(&start, &[size, s], &[0])?;
        let idx = lax::add(&start, &lax::iota(DType::I32, &[size, s], 1)?)?; // [size, s]
        x = batched_gather(&x, &idx, k)?;
    }
    Ok((vec![x], vec![Some(0)]))
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
            let zeros = lax::zeros(&upd_aval)?;
            out[0] = Some(lax::dynamic_update_slice(ct, &zeros, &starts)?);
        }
        if args[1].is_linear() {
            out[1] = Some(lax::dynamic_slice(ct, &starts, &upd_aval.shape)?);
        }
        Ok(())
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        if b.dims[2..].iter().any(|d| d.is_some()) {
            // Start indices per example: the update placed by gathers at `clamp(iota - start)`
            // and selected inside the window, staged for one example and batched by the gather
            // and select rules.
            let example_avals: Vec<Aval> = b
                .args
                .iter()
                .zip(b.dims)
                .map(|(a, d)| {
                    let mut aval = a.aval().clone();
                    if let Some(d) = d {
                        aval.shape.remove(*d);
                    }
                    aval
                })
                .collect();
            let update = b.sub.trace(
                &|a: &[Array]| Ok(vec![update_by_gathers(&a[0], &a[1], &a[2..])?]),
                &example_avals,
            )?;
            let (mut outs, out_dims) = b.sub.batch_call(&update, b.args, b.dims, b.size)?;
            let out = outs.pop().expect("one output");
            return one(bdim_to_front(&out, out_dims[0], b.size)?, 0);
        }
        let (x, u) = (b.front(0)?, b.front(1)?);
        let starts = starts_with_batch(&b.args[2..])?;
        one(lax::dynamic_update_slice(&x, &u, &starts)?, 0)
    }
}

/// `dynamic_update_slice(x, u, starts)` of one example as gathers and a select: along each
/// axis `k`, `u` is gathered at `clamp(iota(n_k) - s_k, 0, u_k - 1)` (so it covers `x`'s shape),
/// and the window `s_k <= iota < s_k + u_k` selects it (starts clamped so the update fits).
fn update_by_gathers(x: &Array, u: &Array, starts: &[Array]) -> Result<Array> {
    let mut placed = u.clone();
    let mut mask: Option<Array> = None;
    for (k, s) in starts.iter().enumerate() {
        let (n, m) = (x.shape()[k], u.shape()[k]);
        let s = lax::convert_element_type(s, DType::I32)?;
        let s = lax::max(
            &lax::min(&s, &Array::scalar((n - m) as i32))?,
            &Array::scalar(0i32),
        )?;
        let iota = lax::iota(DType::I32, &[n], 0)?;
        let shifted = lax::sub(&iota, &s)?;
        let idx = lax::max(
            &lax::min(&shifted, &Array::scalar(m.max(1) as i32 - 1))?,
            &Array::scalar(0i32),
        )?;
        placed = lax::gather(&placed, &idx, k)?;
        let inside = lax::and(
            &lax::ge(&shifted, &Array::scalar(0i32))?,
            &lax::lt(&shifted, &Array::scalar(m as i32))?,
        )?;
        let inside = lax::broadcast_in_dim(&inside, x.shape(), &[k])?;
        mask = Some(match mask {
            None => inside,
            Some(m) => lax::and(&m, &inside)?,
        });
    }
    match mask {
        Some(mask) => lax::select(&mask, &placed, x),
        None => Ok(u.clone()),
    }
}

// ---------------------------------------------------------------------------------------------
// gather

pub(super) struct Gather {
    pub axis: usize,
}

impl ShapeRule for Gather {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![("axis", Param::Text(self.axis.to_string()))]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::Gather {
            axis: p.get("axis")?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (axis, x, idx) = (self.axis, avals[0], avals[1]);
        if axis >= x.ndim() || !idx.dtype.is_int() {
            return type_err("gather", format!(
                "axis {axis} must be an axis of the operand {x}, and indices must be integers (got {idx})"
            ));
        }
        if x.shape[axis] == 0 && idx.size() > 0 {
            return type_err(
                "gather",
                format!("cannot take indices from the empty axis {axis} of {x}"),
            );
        }
        let mut shape = x.shape[..axis].to_vec();
        shape.extend(&idx.shape);
        shape.extend(&x.shape[axis + 1..]);
        Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
    }

    fn eval(&self, args: &[Array], _: &Aval) -> Result<Data> {
        let (x, idx) = (&args[0], &args[1]);
        let src = gather_sources(x.shape(), idx, self.axis)?;
        Ok(x.data()?.take(src.into_iter()))
    }

    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let idx = args[1].known()?;
        let zeros = lax::zeros(&args[0].aval())?;
        out[0] = Some(lax::scatter_add(&zeros, idx, ct, self.axis)?);
        Ok(())
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let axis = self.axis;
        match (b.dims[0], b.dims[1]) {
            (Some(_), None) => one(lax::gather(&b.front(0)?, &b.args[1], axis + 1)?, 0),
            (None, Some(di)) => one(lax::gather(&b.args[0], &b.args[1], axis)?, axis + di),
            _ => {
                let (x, idx) = (b.front(0)?, b.front(1)?);
                one(batched_gather(&x, &idx, axis)?, 0)
            }
        }
    }
}

/// Flat source index of every output element of `take(x, indices, axis)` (indices clamped);
/// also the destination of every update of `scatter-add`.
fn gather_sources(x_shape: &[usize], indices: &Array, axis: usize) -> Result<Vec<usize>> {
    let idx: Vec<i64> = indices.to_f64_vec()?.iter().map(|&v| v as i64).collect();
    let n = x_shape[axis];
    let pre: usize = x_shape[..axis].iter().product();
    let post: usize = x_shape[axis + 1..].iter().product();
    let mut src = Vec::with_capacity(pre * idx.len() * post);
    for p in 0..pre {
        for &i in &idx {
            let i = i.clamp(0, n as i64 - 1) as usize;
            src.extend((0..post).map(|q| (p * n + i) * post + q));
        }
    }
    Ok(src)
}

/// Per-example `take` with both operand and indices batched at axis 0: fold the batch into the
/// gathered axis (`b * n + i`), gather once, and move the index axes back into place.
fn batched_gather(x: &Array, idx: &Array, axis: usize) -> Result<Array> {
    let xs = &x.shape()[1..];
    let n = xs[axis];
    let x = fold_batch_into_axis(x, axis)?;
    let idx = fold_batch_into_indices(idx, n)?;
    // Result: [b, I..., pre..., post...]; per example we want [pre..., I..., post...].
    let g = lax::gather(&x, &idx, 0)?;
    let ni = idx.ndim() - 1;
    lax::transpose(&g, &swap_blocks(ni, axis, xs.len() - axis - 1))
}

/// The permutation taking `[batch, first..., second..., rest...]` (blocks of `first`, `second`
/// and `rest` axes) to `[batch, second..., first..., rest...]`.
fn swap_blocks(first: usize, second: usize, rest: usize) -> Vec<usize> {
    let mut perm = vec![0];
    perm.extend(1 + first..1 + first + second);
    perm.extend(1..1 + first);
    perm.extend(1 + first + second..1 + first + second + rest);
    perm
}

/// `x: [b, pre..., n, post...]` as `[b*n, pre..., post...]`: the batch folded into the
/// indexed axis, so one gather or scatter along axis 0 serves every example.
fn fold_batch_into_axis(x: &Array, axis: usize) -> Result<Array> {
    let moved = lax::moveaxis(x, axis + 1, 1)?;
    let s = moved.shape();
    let mut folded = vec![s[0] * s[1]];
    folded.extend(&s[2..]);
    lax::reshape(&moved, &folded)
}

/// Per-example indices `[b, I...]` into an axis of size `n`, clamped as the primitive clamps
/// them, then offset by `b * n` to index the folded axis.
fn fold_batch_into_indices(idx: &Array, n: usize) -> Result<Array> {
    let idx = lax::convert_element_type(idx, DType::I32)?;
    let hi = Array::scalar((n as i32 - 1).max(0));
    let idx = lax::max(&lax::min(&idx, &hi)?, &Array::scalar(0i32))?;
    let offsets = lax::mul(
        &lax::iota(DType::I32, idx.shape(), 0)?,
        &Array::scalar(n as i32),
    )?;
    lax::add(&idx, &offsets)
}

// ---------------------------------------------------------------------------------------------
// scatter-add

pub(super) struct ScatterAdd {
    pub axis: usize,
}

impl ShapeRule for ScatterAdd {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![("axis", Param::Text(self.axis.to_string()))]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::ScatterAdd {
            axis: p.get("axis")?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (axis, x, idx, upd) = (self.axis, avals[0], avals[1], avals[2]);
        let mut expect = x.shape[..axis.min(x.ndim())].to_vec();
        expect.extend(&idx.shape);
        if axis < x.ndim() {
            expect.extend(&x.shape[axis + 1..]);
        }
        if axis >= x.ndim() || !idx.dtype.is_int() || upd.shape != expect || upd.dtype != x.dtype {
            return type_err(
                "scatter-add",
                format!(
                    "updates {upd} do not match operand {x} with indices {idx} along axis {axis}"
                ),
            );
        }
        Ok(x.clone())
    }

    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let (x, idx, upd) = (&args[0], &args[1], &args[2]);
        let dst = gather_sources(x.shape(), idx, self.axis)?;
        let mut acc: Vec<f64> = x.to_f64_vec()?;
        let ud = upd.to_f64_vec()?;
        match x.dtype() {
            DType::I32 | DType::U32 => {
                let mut ints: Vec<i64> = acc.iter().map(|&v| v as i64).collect();
                for (j, &i) in dst.iter().enumerate() {
                    ints[i] = ints[i].wrapping_add(ud[j] as i64);
                }
                // Wrap mod 2^32 into the dtype's own range (u32 sums above 2^31 too).
                acc = if x.dtype() == DType::U32 {
                    ints.iter().map(|&v| v as u32 as f64).collect()
                } else {
                    ints.iter().map(|&v| v as i32 as f64).collect()
                };
            }
            _ => {
                for (j, &i) in dst.iter().enumerate() {
                    acc[i] += ud[j];
                }
            }
        }
        Ok(Data::from_scalars(
            out.dtype,
            acc.into_iter().map(Scalar::F64),
        ))
    }

    /// Linear in the operand and the updates together.
    fn linear_operands(&self, _: usize) -> Vec<usize> {
        vec![0, 2]
    }

    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let idx = args[1].known()?;
        if args[0].is_linear() {
            out[0] = Some(ct.clone());
        }
        if args[2].is_linear() {
            out[2] = Some(lax::gather(ct, idx, self.axis)?);
        }
        Ok(())
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let x = b.front(0)?;
        if b.dims[1].is_some() {
            let (idx, u) = (b.front(1)?, b.front(2)?);
            return one(batched_scatter_add(&x, &idx, &u, self.axis)?, 0);
        }
        // Indices shared by every example: the batch is one more leading axis of the operand,
        // and of the updates.
        let u = b.front(2)?;
        one(lax::scatter_add(&x, &b.args[1], &u, self.axis + 1)?, 0)
    }
}

/// `scatter-add` with operand, indices and updates all batched at axis 0: fold the batch into
/// the scattered axis (`b * n + i`, indices clamped per example as the primitive does), scatter
/// once, and unfold.
fn batched_scatter_add(x: &Array, idx: &Array, u: &Array, axis: usize) -> Result<Array> {
    let (b, xs) = (x.shape()[0], x.shape()[1..].to_vec());
    let n = xs[axis];
    let mut moved_shape = vec![b, n];
    moved_shape.extend(xs[..axis].iter().chain(&xs[axis + 1..]));
    let xf = fold_batch_into_axis(x, axis)?;
    let idx = fold_batch_into_indices(idx, n)?;
    // Updates: [b, pre..., I..., post...] -> [b, I..., pre..., post...] to match the folded
    // operand scattered along axis 0.
    let ni = idx.ndim() - 1;
    let uf = lax::transpose(u, &swap_blocks(axis, ni, xs.len() - axis - 1))?;
    let r = lax::scatter_add(&xf, &idx, &uf, 0)?;
    let r = lax::reshape(&r, &moved_shape)?;
    lax::moveaxis(&r, 1, axis + 1)
}
