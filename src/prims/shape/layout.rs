//! Layout primitives: they move, repeat, drop or pad elements without looking at values
//! (`broadcast_in_dim`, `reshape`, `transpose`, `rev`, `squeeze`, `concatenate`, `pad`, `slice`), and
//! `iota`. One block per primitive with all its rules.

use super::ShapeOp;
use super::{for_each_index, one, strides, transposed_data, type_err, Batching, ShapeRule};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::{DType, Scalar};
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::{py_tuple, Param};
use crate::lax;
use crate::prims::{BatchOut, LinArg, Tangent};

fn text(s: String) -> Param {
    Param::Text(s)
}

// ---------------------------------------------------------------------------------------------
// broadcast_in_dim

pub(super) struct BroadcastInDim<'a> {
    pub shape: &'a [usize],
    pub broadcast_dimensions: &'a [usize],
}

impl ShapeRule for BroadcastInDim<'_> {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![
            (
                "broadcast_dimensions",
                text(py_tuple(self.broadcast_dimensions)),
            ),
            ("shape", text(py_tuple(self.shape))),
        ]
    }

    /// JAX (0.4.14+) leaves out `shape` (the binder's type has it) and empty
    /// `broadcast_dimensions`.
    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        let shape = match p.out_types() {
            _ if p.has("shape") => p.get("shape")?,
            [out] => out.shape.clone(),
            _ => p.get("shape")?,
        };
        Ok(ShapeOp::BroadcastInDim {
            shape,
            broadcast_dimensions: p.get_or("broadcast_dimensions", vec![])?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (shape, bd, x) = (self.shape, self.broadcast_dimensions, avals[0]);
        if bd.len() != x.ndim() {
            return type_err("broadcast_in_dim", format!(
                "broadcast_dimensions {} must have one entry per operand dimension (operand shape {})",
                py_tuple(bd),
                shape_str(&x.shape)
            ));
        }
        for (i, &d) in bd.iter().enumerate() {
            let ok = d < shape.len()
                && (i == 0 || bd[i - 1] < d)
                && (x.shape[i] == 1 || x.shape[i] == shape[d]);
            if !ok {
                let message = format!(
                    "broadcast_in_dim: operand shape {} cannot be broadcast to {} with broadcast_dimensions {}",
                    shape_str(&x.shape),
                    shape_str(shape),
                    py_tuple(bd)
                );
                return Err(Error::invalid_operands("broadcast_in_dim", &[x], message));
            }
        }
        Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
    }

    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let x = &args[0];
        let in_shape = x.shape();
        let in_strides = strides(in_shape);
        let src = for_each_index(&out.shape, |o| {
            self.broadcast_dimensions
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    if in_shape[i] == 1 {
                        0
                    } else {
                        o[d] * in_strides[i]
                    }
                })
                .sum()
        });
        Ok(x.data()?.take(src.into_iter()))
    }

    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let (shape, bd, aval0) = (self.shape, self.broadcast_dimensions, args[0].aval());
        let mut sum_axes: Vec<usize> = (0..shape.len()).filter(|d| !bd.contains(d)).collect();
        sum_axes.extend(
            bd.iter()
                .enumerate()
                .filter(|(i, &d)| aval0.shape[*i] == 1 && shape[d] != 1)
                .map(|(_, &d)| d),
        );
        sum_axes.sort_unstable();
        let summed = lax::reduce_sum(ct, &sum_axes)?;
        out[0] = Some(lax::reshape(&summed, &aval0.shape)?);
        Ok(())
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let x = b.front(0)?;
        let mut new_shape = vec![b.size];
        new_shape.extend(self.shape);
        let mut new_bd = vec![0];
        new_bd.extend(self.broadcast_dimensions.iter().map(|d| d + 1));
        one(lax::broadcast_in_dim(&x, &new_shape, &new_bd)?, 0)
    }
}

// ---------------------------------------------------------------------------------------------
// reshape

pub(super) struct Reshape<'a> {
    pub new_sizes: &'a [usize],
}

impl ShapeRule for Reshape<'_> {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![
            ("dimensions", text("None".into())),
            ("new_sizes", text(py_tuple(self.new_sizes))),
        ]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::Reshape {
            new_sizes: p.get("new_sizes")?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (new_sizes, x) = (self.new_sizes, avals[0]);
        if new_sizes.iter().product::<usize>() != x.size() {
            let message = format!(
                "reshape: cannot reshape an array of shape {} (size {}) into shape {}",
                shape_str(&x.shape),
                x.size(),
                shape_str(new_sizes)
            );
            return Err(Error::invalid_operands("reshape", &[x], message));
        }
        Ok(Aval::new(new_sizes, x.dtype).weak(x.weak_type))
    }

    fn eval(&self, args: &[Array], _: &Aval) -> Result<Data> {
        reshaped_data(args)
    }

    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        reshape_back(ct, args, out)
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let x = b.front(0)?;
        let mut new_shape = vec![b.size];
        new_shape.extend(self.new_sizes);
        one(lax::reshape(&x, &new_shape)?, 0)
    }
}

/// A reshape's data (and a squeeze's, a reshape that drops size-1 axes): the operand's, unchanged.
fn reshaped_data(args: &[Array]) -> Result<Data> {
    Ok(args[0].data()?.clone())
}

/// The transpose of a reshape (and of a squeeze): the cotangent reshaped to the operand's shape.
fn reshape_back(ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
    out[0] = Some(lax::reshape(ct, &args[0].aval().shape)?);
    Ok(())
}

/// The type error of an axes parameter that does not fit the operand `x`:
/// `op: {axes_name} {axes} {requirement} of shape {x.shape}`.
fn bad_axes<T>(
    op: &str,
    axes_name: &str,
    axes: &[usize],
    requirement: &str,
    x: &Aval,
) -> Result<T> {
    type_err(
        op,
        format!(
            "{axes_name} {} {requirement} of shape {}",
            py_tuple(axes),
            shape_str(&x.shape)
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// transpose

pub(super) struct Transpose<'a> {
    pub permutation: &'a [usize],
}

impl ShapeRule for Transpose<'_> {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![("permutation", text(py_tuple(self.permutation)))]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::Transpose {
            permutation: p.get("permutation")?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (permutation, x) = (self.permutation, avals[0]);
        let mut sorted = permutation.to_vec();
        sorted.sort_unstable();
        if sorted != (0..x.ndim()).collect::<Vec<_>>() {
            return bad_axes(
                "transpose",
                "permutation",
                permutation,
                "is not a permutation of the axes of an operand",
                x,
            );
        }
        let shape = permutation.iter().map(|&p| x.shape[p]).collect::<Vec<_>>();
        Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
    }

    fn eval(&self, args: &[Array], _: &Aval) -> Result<Data> {
        let x = &args[0];
        Ok(transposed_data(x.data()?, x.shape(), self.permutation))
    }

    fn transpose(&self, ct: &Array, _: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let mut inverse = vec![0; self.permutation.len()];
        for (i, &p) in self.permutation.iter().enumerate() {
            inverse[p] = i;
        }
        out[0] = Some(lax::transpose(ct, &inverse)?);
        Ok(())
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let x = b.front(0)?;
        let mut perm = vec![0];
        perm.extend(self.permutation.iter().map(|p| p + 1));
        one(lax::transpose(&x, &perm)?, 0)
    }
}

// ---------------------------------------------------------------------------------------------
// rev

pub(super) struct Rev<'a> {
    pub dimensions: &'a [usize],
}

impl ShapeRule for Rev<'_> {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![("dimensions", text(py_tuple(self.dimensions)))]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::Rev {
            dimensions: p.get("dimensions")?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (dimensions, x) = (self.dimensions, avals[0]);
        let mut seen = vec![false; x.ndim()];
        for &d in dimensions {
            if d >= x.ndim() || std::mem::replace(&mut seen[d], true) {
                return bad_axes(
                    "rev",
                    "dimensions",
                    dimensions,
                    "must be distinct axes of an operand",
                    x,
                );
            }
        }
        Ok(x.clone())
    }

    /// Output element `o` is operand element `o` with `o[d]` read as `n[d] - 1 - o[d]` on the
    /// reversed axes.
    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let x = &args[0];
        let in_strides = strides(x.shape());
        let src = for_each_index(&out.shape, |o| {
            (0..o.len())
                .map(|k| {
                    let i = if self.dimensions.contains(&k) {
                        out.shape[k] - 1 - o[k]
                    } else {
                        o[k]
                    };
                    i * in_strides[k]
                })
                .sum()
        });
        Ok(x.data()?.take(src.into_iter()))
    }

    /// Its own transpose: reverse the cotangent on the same axes.
    fn transpose(&self, ct: &Array, _: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        out[0] = Some(lax::rev(ct, self.dimensions)?);
        Ok(())
    }

    /// JAX's `_rev_batch_rule`: the batch axis stays where it is; the axes at or after it shift.
    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let bd = b.dims[0].expect("rev's one operand is batched");
        let dims: Vec<usize> = self
            .dimensions
            .iter()
            .map(|&d| if d >= bd { d + 1 } else { d })
            .collect();
        one(lax::rev(&b.args[0], &dims)?, bd)
    }
}

// ---------------------------------------------------------------------------------------------
// squeeze

pub(super) struct Squeeze<'a> {
    pub dimensions: &'a [usize],
}

impl ShapeRule for Squeeze<'_> {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![("dimensions", text(py_tuple(self.dimensions)))]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::Squeeze {
            dimensions: p.get("dimensions")?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (dimensions, x) = (self.dimensions, avals[0]);
        if dimensions.iter().any(|&d| d >= x.ndim() || x.shape[d] != 1) {
            return bad_axes(
                "squeeze",
                "dimensions",
                dimensions,
                "must be size-1 axes of the operand",
                x,
            );
        }
        let shape = (0..x.ndim())
            .filter(|d| !dimensions.contains(d))
            .map(|d| x.shape[d])
            .collect::<Vec<_>>();
        Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
    }

    fn eval(&self, args: &[Array], _: &Aval) -> Result<Data> {
        reshaped_data(args)
    }

    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        reshape_back(ct, args, out)
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let x = b.front(0)?;
        let axes: Vec<usize> = self.dimensions.iter().map(|d| d + 1).collect();
        one(lax::squeeze(&x, &axes)?, 0)
    }
}

// ---------------------------------------------------------------------------------------------
// concatenate

pub(super) struct Concatenate {
    pub dimension: usize,
}

impl ShapeRule for Concatenate {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![("dimension", text(self.dimension.to_string()))]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::Concatenate {
            dimension: p.get("dimension")?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let first = avals
            .first()
            .ok_or_else(|| Error::type_err("concatenate needs at least one operand"))?;
        let d = self.dimension;
        let mut total = 0;
        for a in avals {
            let same_rank = a.ndim() == first.ndim() && d < a.ndim();
            let others_agree =
                same_rank && (0..a.ndim()).all(|k| k == d || a.shape[k] == first.shape[k]);
            if !others_agree || a.dtype != first.dtype {
                let all: Vec<String> = avals.iter().map(|a| a.to_string()).collect();
                return type_err("concatenate", format!(
                    "operands must have one dtype and equal shapes except along dimension {d}, got {}",
                    all.join(", ")
                ));
            }
            total += a.shape[d];
        }
        let mut shape = first.shape.clone();
        shape[d] = total;
        Ok(Aval::new(shape, first.dtype).weak(avals.iter().all(|a| a.weak_type)))
    }

    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let d = self.dimension;
        let outer: usize = out.shape[..d].iter().product();
        let mut vals = Vec::with_capacity(out.size());
        for o in 0..outer {
            for a in args {
                let chunk: usize = a.shape()[d..].iter().product();
                let data = a.data()?;
                vals.extend((o * chunk..(o + 1) * chunk).map(|i| data.get(i)));
            }
        }
        Ok(Data::from_scalars(out.dtype, vals.into_iter()))
    }

    /// Linear in every operand.
    fn linear_operands(&self, num_operands: usize) -> Vec<usize> {
        (0..num_operands).collect()
    }

    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let d = self.dimension;
        let mut offset = 0;
        for (i, a) in args.iter().enumerate() {
            let av = a.aval();
            if a.is_linear() {
                let mut start = vec![0; av.ndim()];
                let mut limit = ct.shape().to_vec();
                start[d] = offset;
                limit[d] = offset + av.shape[d];
                out[i] = Some(lax::slice(ct, &start, &limit, None)?);
            }
            offset += av.shape[d];
        }
        Ok(())
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let xs: Vec<Array> = (0..b.args.len())
            .map(|i| b.front(i))
            .collect::<Result<_>>()?;
        one(lax::concatenate(&xs, self.dimension + 1)?, 0)
    }
}

// ---------------------------------------------------------------------------------------------
// pad

pub(super) struct Pad<'a> {
    pub padding_config: &'a [(usize, usize, usize)],
}

impl ShapeRule for Pad<'_> {
    fn params(&self) -> Vec<(&'static str, Param)> {
        let items: Vec<String> = self
            .padding_config
            .iter()
            .map(|(l, h, i)| format!("({l}, {h}, {i})"))
            .collect();
        vec![("padding_config", text(py_tuple(&items)))]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::Pad {
            padding_config: p.get("padding_config")?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (config, x, v) = (self.padding_config, avals[0], avals[1]);
        if config.len() != x.ndim() || !v.shape.is_empty() || v.dtype != x.dtype {
            return type_err("pad", format!(
                "needs one (low, high, interior) per axis of the operand {x} and a scalar padding value of its dtype, got {} entries and {v}",
                config.len()
            ));
        }
        let shape = x
            .shape
            .iter()
            .zip(config)
            .map(|(&n, &(lo, hi, int))| lo + hi + n + n.saturating_sub(1) * int)
            .collect::<Vec<_>>();
        Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
    }

    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let x = &args[0];
        let (xd, pad) = (x.data()?, args[1].data()?.get(0));
        let in_strides = strides(x.shape());
        let vals = for_each_index(&out.shape, |o| {
            let mut src = 0;
            for (k, &(lo, _, int)) in self.padding_config.iter().enumerate() {
                let p = o[k] as isize - lo as isize;
                if p < 0
                    || !(p as usize).is_multiple_of(int + 1)
                    || p as usize / (int + 1) >= x.shape()[k]
                {
                    return usize::MAX;
                }
                src += p as usize / (int + 1) * in_strides[k];
            }
            src
        });
        Ok(Data::from_scalars(
            out.dtype,
            vals.into_iter()
                .map(|i| if i == usize::MAX { pad } else { xd.get(i) }),
        ))
    }

    /// Linear in the operand and the padding value together.
    fn linear_operands(&self, _: usize) -> Vec<usize> {
        vec![0, 1]
    }

    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let config = self.padding_config;
        let start: Vec<usize> = config.iter().map(|p| p.0).collect();
        let limit: Vec<usize> = ct
            .shape()
            .iter()
            .zip(config)
            .map(|(&n, p)| n - p.1)
            .collect();
        let st: Vec<usize> = config.iter().map(|p| p.2 + 1).collect();
        let t_operand = lax::slice(ct, &start, &limit, Some(&st))?;
        if args[1].is_linear() {
            let all: Vec<usize> = (0..ct.ndim()).collect();
            let total = lax::reduce_sum(ct, &all)?;
            let inner = lax::reduce_sum(&t_operand, &all)?;
            out[1] = Some(lax::sub(&total, &inner)?);
        }
        if args[0].is_linear() {
            out[0] = Some(t_operand);
        }
        Ok(())
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        // JAX's `_pad_batch_rule`: the batch axis stays where it is, unpadded.
        let (x, d) = match b.dims[0] {
            Some(d) => (b.args[0].clone(), d),
            None => (b.front(0)?, 0),
        };
        let mut config = self.padding_config.to_vec();
        config.insert(d, (0, 0, 0));
        if b.dims[1].is_none() {
            return one(lax::pad(&x, &b.args[1], &config)?, d);
        }
        // A padding value per example: pad with zeros, then select each example's value where
        // the padding is.
        let zero = lax::scalar_like(&b.args[1], 0.0);
        let padded = lax::pad(&x, &zero, &config)?;
        let inside = lax::full(&Aval::new(x.shape(), DType::Bool), 1.0)?;
        let mask = lax::pad(&inside, &Array::scalar(false), &config)?;
        let value = lax::broadcast_in_dim(&b.args[1], padded.shape(), &[d])?;
        one(lax::select(&mask, &padded, &value)?, d)
    }
}

// ---------------------------------------------------------------------------------------------
// slice

pub(super) struct Slice<'a> {
    pub start_indices: &'a [usize],
    pub limit_indices: &'a [usize],
    pub strides: Option<&'a [usize]>,
}

impl Slice<'_> {
    fn stride(&self, d: usize) -> usize {
        self.strides.map(|s| s[d]).unwrap_or(1)
    }
}

impl ShapeRule for Slice<'_> {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![
            ("limit_indices", text(py_tuple(self.limit_indices))),
            ("start_indices", text(py_tuple(self.start_indices))),
            (
                "strides",
                text(self.strides.map(py_tuple).unwrap_or_else(|| "None".into())),
            ),
        ]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::Slice {
            start_indices: p.get("start_indices")?,
            limit_indices: p.get("limit_indices")?,
            strides: p.get_or("strides", None)?,
        })
    }

    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (start, limit, x) = (self.start_indices, self.limit_indices, avals[0]);
        let n = x.ndim();
        if let Some(s) = self.strides.filter(|s| s.len() != n || s.contains(&0)) {
            return type_err(
                "slice",
                format!(
                    "strides {} must be one positive stride per axis of the operand shape {}",
                    py_tuple(s),
                    shape_str(&x.shape)
                ),
            );
        }
        let ok = start.len() == n
            && limit.len() == n
            && (0..n).all(|d| start[d] <= limit[d] && limit[d] <= x.shape[d]);
        if !ok {
            return type_err(
                "slice",
                format!(
                    "start_indices {} and limit_indices {} do not fit the operand shape {}",
                    py_tuple(start),
                    py_tuple(limit),
                    shape_str(&x.shape)
                ),
            );
        }
        let shape = (0..n)
            .map(|d| (limit[d] - start[d]).div_ceil(self.stride(d)))
            .collect::<Vec<_>>();
        Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
    }

    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let x = &args[0];
        let in_strides = strides(x.shape());
        let src = for_each_index(&out.shape, |o| {
            (0..o.len())
                .map(|k| (self.start_indices[k] + o[k] * self.stride(k)) * in_strides[k])
                .sum()
        });
        Ok(x.data()?.take(src.into_iter()))
    }

    /// Pad the cotangent back with zeros: `low` before the start, the stride's gaps inside.
    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let aval0 = args[0].aval();
        let config: Vec<(usize, usize, usize)> = (0..aval0.ndim())
            .map(|k| {
                let s = self.stride(k);
                let n = ct.shape()[k];
                let start = self.start_indices[k];
                let last = if n == 0 {
                    start
                } else {
                    start + (n - 1) * s + 1
                };
                (start, aval0.shape[k] - last, s - 1)
            })
            .collect();
        let zero = lax::scalar_of(&Aval::scalar(ct.dtype()), 0.0);
        out[0] = Some(lax::pad(ct, &zero, &config)?);
        Ok(())
    }

    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let x = b.front(0)?;
        let start = [&[0][..], self.start_indices].concat();
        let limit = [&[b.size][..], self.limit_indices].concat();
        let st = self.strides.map(|s| [&[1][..], s].concat());
        one(lax::slice(&x, &start, &limit, st.as_deref())?, 0)
    }
}

// ---------------------------------------------------------------------------------------------
// iota

pub(super) struct Iota<'a> {
    pub dtype: DType,
    pub shape: &'a [usize],
    pub dimension: usize,
}

impl ShapeRule for Iota<'_> {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![
            ("dimension", text(self.dimension.to_string())),
            ("dtype", text(self.dtype.numpy_name().into())),
            ("shape", text(py_tuple(self.shape))),
        ]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        Ok(ShapeOp::Iota {
            dtype: p.get("dtype")?,
            shape: p.get("shape")?,
            dimension: p.get("dimension")?,
        })
    }

    fn abstract_eval(&self, _: &[&Aval]) -> Result<Aval> {
        if self.dimension >= self.shape.len() || self.dtype == DType::Bool {
            return type_err(
                "iota",
                format!(
                    "dimension {} must be an axis of shape {} and the dtype numeric",
                    self.dimension,
                    shape_str(self.shape)
                ),
            );
        }
        Ok(Aval::new(self.shape, self.dtype))
    }

    fn eval(&self, _: &[Array], out: &Aval) -> Result<Data> {
        let vals = for_each_index(&out.shape, |o| o[self.dimension]);
        Ok(Data::from_scalars(
            out.dtype,
            // From an integer: narrow integer dtypes wrap, as XLA's iota does.
            vals.into_iter().map(|v| Scalar::I64(v as i64)),
        ))
    }

    /// No operands.
    fn linear_operands(&self, _: usize) -> Vec<usize> {
        vec![]
    }

    fn transpose(&self, _: &Array, _: &[LinArg], _: &mut [Tangent]) -> Result<()> {
        Ok(())
    }

    fn batch(&self, _: &Batching) -> Result<BatchOut> {
        unreachable!("iota has no operands, so it is never batched")
    }
}
