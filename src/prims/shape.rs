//! Layout and indexing primitives: `broadcast_in_dim`, `reshape`, `transpose`, `squeeze`,
//! `concatenate`, `pad`, `slice`, `dynamic_slice`, `dynamic_update_slice`, `gather` (take along
//! an axis), `scatter-add` (its transpose) and `iota`. All their rules.

use super::batching::bdim_to_front;
use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::jaxpr_transforms::JaxprTransforms;
use crate::core::trace::bind1;
use crate::dtype::{DType, Scalar};
use crate::ir::pretty::{py_tuple, Param};
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

use ShapeOp::*;

impl ShapeOp {
    pub fn name(&self) -> &'static str {
        match self {
            BroadcastInDim { .. } => "broadcast_in_dim",
            Reshape { .. } => "reshape",
            Transpose { .. } => "transpose",
            Squeeze { .. } => "squeeze",
            Concatenate { .. } => "concatenate",
            Pad { .. } => "pad",
            Slice { .. } => "slice",
            DynamicSlice { .. } => "dynamic_slice",
            DynamicUpdateSlice => "dynamic_update_slice",
            Gather { .. } => "gather",
            ScatterAdd { .. } => "scatter-add",
            Iota { .. } => "iota",
        }
    }

    pub fn arity(&self) -> Option<usize> {
        match self {
            BroadcastInDim { .. }
            | Reshape { .. }
            | Transpose { .. }
            | Squeeze { .. }
            | Slice { .. } => Some(1),
            Pad { .. } | Gather { .. } => Some(2),
            ScatterAdd { .. } => Some(3),
            Iota { .. } => Some(0),
            Concatenate { .. } | DynamicSlice { .. } | DynamicUpdateSlice => None,
        }
    }

    pub fn params(&self) -> Vec<(&'static str, Param)> {
        let t = |s: String| Param::Text(s);
        match self {
            BroadcastInDim {
                shape,
                broadcast_dimensions,
            } => vec![
                ("broadcast_dimensions", t(py_tuple(broadcast_dimensions))),
                ("shape", t(py_tuple(shape))),
            ],
            Reshape { new_sizes } => vec![
                ("dimensions", t("None".into())),
                ("new_sizes", t(py_tuple(new_sizes))),
            ],
            Transpose { permutation } => vec![("permutation", t(py_tuple(permutation)))],
            Squeeze { dimensions } => vec![("dimensions", t(py_tuple(dimensions)))],
            Concatenate { dimension } => vec![("dimension", t(dimension.to_string()))],
            Pad { padding_config } => {
                let items: Vec<String> = padding_config
                    .iter()
                    .map(|(l, h, i)| format!("({l}, {h}, {i})"))
                    .collect();
                vec![("padding_config", t(py_tuple(&items)))]
            }
            Slice {
                start_indices,
                limit_indices,
                strides,
            } => vec![
                ("limit_indices", t(py_tuple(limit_indices))),
                ("start_indices", t(py_tuple(start_indices))),
                (
                    "strides",
                    t(strides
                        .as_ref()
                        .map(|s| py_tuple(s))
                        .unwrap_or_else(|| "None".into())),
                ),
            ],
            DynamicSlice { slice_sizes } => vec![("slice_sizes", t(py_tuple(slice_sizes)))],
            DynamicUpdateSlice => vec![],
            Gather { axis } | ScatterAdd { axis } => vec![("axis", t(axis.to_string()))],
            Iota {
                dtype,
                shape,
                dimension,
            } => vec![
                ("dimension", t(dimension.to_string())),
                ("dtype", t(dtype.numpy_name().into())),
                ("shape", t(py_tuple(shape))),
            ],
        }
    }

    pub fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let err = |msg: String| Err(Error::type_err(format!("{}: {msg}", self.name())));
        match self {
            BroadcastInDim {
                shape,
                broadcast_dimensions: bd,
            } => {
                let x = avals[0];
                if bd.len() != x.ndim() {
                    return err(format!(
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
                        return err(format!(
                            "operand shape {} cannot be broadcast to {} with broadcast_dimensions {}",
                            shape_str(&x.shape),
                            shape_str(shape),
                            py_tuple(bd)
                        ));
                    }
                }
                Ok(Aval::new(shape.clone(), x.dtype).weak(x.weak_type))
            }
            Reshape { new_sizes } => {
                let x = avals[0];
                if new_sizes.iter().product::<usize>() != x.size() {
                    return err(format!(
                        "cannot reshape an array of shape {} (size {}) into shape {}",
                        shape_str(&x.shape),
                        x.size(),
                        shape_str(new_sizes)
                    ));
                }
                Ok(Aval::new(new_sizes.clone(), x.dtype).weak(x.weak_type))
            }
            Transpose { permutation } => {
                let x = avals[0];
                let mut sorted = permutation.clone();
                sorted.sort_unstable();
                if sorted != (0..x.ndim()).collect::<Vec<_>>() {
                    return err(format!(
                        "permutation {} is not a permutation of the axes of an operand of shape {}",
                        py_tuple(permutation),
                        shape_str(&x.shape)
                    ));
                }
                let shape = permutation.iter().map(|&p| x.shape[p]).collect::<Vec<_>>();
                Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
            }
            Squeeze { dimensions } => {
                let x = avals[0];
                if dimensions.iter().any(|&d| d >= x.ndim() || x.shape[d] != 1) {
                    return err(format!(
                        "dimensions {} must be size-1 axes of the operand of shape {}",
                        py_tuple(dimensions),
                        shape_str(&x.shape)
                    ));
                }
                let shape = (0..x.ndim())
                    .filter(|d| !dimensions.contains(d))
                    .map(|d| x.shape[d])
                    .collect::<Vec<_>>();
                Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
            }
            Concatenate { dimension } => {
                let first = avals
                    .first()
                    .ok_or_else(|| Error::type_err("concatenate needs at least one operand"))?;
                let d = *dimension;
                let mut total = 0;
                for a in avals {
                    let same_rank = a.ndim() == first.ndim() && d < a.ndim();
                    let others_agree =
                        same_rank && (0..a.ndim()).all(|k| k == d || a.shape[k] == first.shape[k]);
                    if !others_agree || a.dtype != first.dtype {
                        let all: Vec<String> = avals.iter().map(|a| a.to_string()).collect();
                        return err(format!(
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
            Pad { padding_config } => {
                let (x, v) = (avals[0], avals[1]);
                if padding_config.len() != x.ndim() || !v.shape.is_empty() || v.dtype != x.dtype {
                    return err(format!(
                        "needs one (low, high, interior) per axis of the operand {x} and a scalar padding value of its dtype, got {} entries and {v}",
                        padding_config.len()
                    ));
                }
                let shape = x
                    .shape
                    .iter()
                    .zip(padding_config)
                    .map(|(&n, &(lo, hi, int))| lo + hi + n + n.saturating_sub(1) * int)
                    .collect::<Vec<_>>();
                Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
            }
            Slice {
                start_indices,
                limit_indices,
                strides,
            } => {
                let x = avals[0];
                let n = x.ndim();
                let strides_ok = strides
                    .as_ref()
                    .map(|s| s.len() == n && s.iter().all(|&k| k > 0))
                    .unwrap_or(true);
                let ok = start_indices.len() == n
                    && limit_indices.len() == n
                    && strides_ok
                    && (0..n).all(|d| {
                        start_indices[d] <= limit_indices[d] && limit_indices[d] <= x.shape[d]
                    });
                if !ok {
                    return err(format!(
                        "start_indices {} and limit_indices {} do not fit the operand shape {}",
                        py_tuple(start_indices),
                        py_tuple(limit_indices),
                        shape_str(&x.shape)
                    ));
                }
                let shape = (0..n)
                    .map(|d| {
                        let s = strides.as_ref().map(|s| s[d]).unwrap_or(1);
                        (limit_indices[d] - start_indices[d]).div_ceil(s)
                    })
                    .collect::<Vec<_>>();
                Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
            }
            DynamicSlice { slice_sizes } => {
                let x = avals[0];
                check_start_indices(self.name(), x, &avals[1..])?;
                if slice_sizes.len() != x.ndim()
                    || slice_sizes.iter().zip(&x.shape).any(|(s, n)| s > n)
                {
                    return err(format!(
                        "slice_sizes {} do not fit the operand shape {}",
                        py_tuple(slice_sizes),
                        shape_str(&x.shape)
                    ));
                }
                Ok(Aval::new(slice_sizes.clone(), x.dtype).weak(x.weak_type))
            }
            DynamicUpdateSlice => {
                if avals.len() < 2 {
                    return err("needs an operand and an update".into());
                }
                let (x, u) = (avals[0], avals[1]);
                check_start_indices(self.name(), x, &avals[2..])?;
                if u.ndim() != x.ndim()
                    || u.shape.iter().zip(&x.shape).any(|(s, n)| s > n)
                    || u.dtype != x.dtype
                {
                    return err(format!("update {u} does not fit the operand {x}"));
                }
                Ok(x.clone())
            }
            Gather { axis } => {
                let (x, idx) = (avals[0], avals[1]);
                if *axis >= x.ndim() || !idx.dtype.is_int() {
                    return err(format!(
                        "axis {axis} must be an axis of the operand {x}, and indices must be integers (got {idx})"
                    ));
                }
                if x.shape[*axis] == 0 && idx.size() > 0 {
                    return err(format!(
                        "cannot take indices from the empty axis {axis} of {x}"
                    ));
                }
                let mut shape = x.shape[..*axis].to_vec();
                shape.extend(&idx.shape);
                shape.extend(&x.shape[axis + 1..]);
                Ok(Aval::new(shape, x.dtype).weak(x.weak_type))
            }
            ScatterAdd { axis } => {
                let (x, idx, upd) = (avals[0], avals[1], avals[2]);
                let mut expect = x.shape[..(*axis).min(x.ndim())].to_vec();
                expect.extend(&idx.shape);
                if *axis < x.ndim() {
                    expect.extend(&x.shape[axis + 1..]);
                }
                if *axis >= x.ndim()
                    || !idx.dtype.is_int()
                    || upd.shape != expect
                    || upd.dtype != x.dtype
                {
                    return err(format!("updates {upd} do not match operand {x} with indices {idx} along axis {axis}"));
                }
                Ok(x.clone())
            }
            Iota {
                dtype,
                shape,
                dimension,
            } => {
                if *dimension >= shape.len() || *dtype == DType::Bool {
                    return err(format!(
                        "dimension {dimension} must be an axis of shape {} and the dtype numeric",
                        shape_str(shape)
                    ));
                }
                Ok(Aval::new(shape.clone(), *dtype))
            }
        }
    }

    pub fn eval(&self, args: &[Array], out: Aval) -> Result<Array> {
        let x = args.first();
        let data = match self {
            BroadcastInDim {
                broadcast_dimensions: bd,
                ..
            } => {
                let x = x.expect("operand");
                let in_shape = x.shape();
                let in_strides = strides(in_shape);
                let src = for_each_index(&out.shape, |o| {
                    bd.iter()
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
                x.data()?.take(src.into_iter())
            }
            Reshape { .. } | Squeeze { .. } => x.expect("operand").data()?.clone(),
            Transpose { permutation } => {
                let x = x.expect("operand");
                let in_strides = strides(x.shape());
                let src = for_each_index(&out.shape, |o| {
                    permutation
                        .iter()
                        .enumerate()
                        .map(|(k, &p)| o[k] * in_strides[p])
                        .sum()
                });
                x.data()?.take(src.into_iter())
            }
            Concatenate { dimension } => {
                let d = *dimension;
                let outer: usize = out.shape[..d].iter().product();
                let mut vals = Vec::with_capacity(out.size());
                for o in 0..outer {
                    for a in args {
                        let chunk: usize = a.shape()[d..].iter().product();
                        let data = a.data()?;
                        vals.extend((o * chunk..(o + 1) * chunk).map(|i| data.get(i)));
                    }
                }
                Data::from_scalars(out.dtype, vals.into_iter())
            }
            Pad { padding_config } => {
                let x = x.expect("operand");
                let (xd, pad) = (x.data()?, args[1].data()?.get(0));
                let in_strides = strides(x.shape());
                let vals = for_each_index(&out.shape, |o| {
                    let mut src = 0;
                    for (k, &(lo, _, int)) in padding_config.iter().enumerate() {
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
                Data::from_scalars(
                    out.dtype,
                    vals.into_iter()
                        .map(|i| if i == usize::MAX { pad } else { xd.get(i) }),
                )
            }
            Slice {
                start_indices,
                strides: st,
                ..
            } => {
                let x = x.expect("operand");
                let in_strides = strides(x.shape());
                let src = for_each_index(&out.shape, |o| {
                    (0..o.len())
                        .map(|k| {
                            (start_indices[k] + o[k] * st.as_ref().map(|s| s[k]).unwrap_or(1))
                                * in_strides[k]
                        })
                        .sum()
                });
                x.data()?.take(src.into_iter())
            }
            DynamicSlice { slice_sizes } => {
                let x = x.expect("operand");
                let starts = clamped_starts(x.shape(), slice_sizes, &args[1..])?;
                let in_strides = strides(x.shape());
                let src = for_each_index(&out.shape, |o| {
                    (0..o.len())
                        .map(|k| (starts[k] + o[k]) * in_strides[k])
                        .sum()
                });
                x.data()?.take(src.into_iter())
            }
            DynamicUpdateSlice => {
                let (x, u) = (x.expect("operand"), &args[1]);
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
                Data::from_scalars(out.dtype, vals.into_iter())
            }
            Gather { axis } => {
                let (x, idx) = (x.expect("operand"), &args[1]);
                let src = gather_sources(x.shape(), idx, *axis)?;
                x.data()?.take(src.into_iter())
            }
            ScatterAdd { axis } => {
                let (x, idx, upd) = (x.expect("operand"), &args[1], &args[2]);
                let dst = gather_sources(x.shape(), idx, *axis)?;
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
                Data::from_scalars(out.dtype, acc.into_iter().map(Scalar::F64))
            }
            Iota { dimension, .. } => {
                let vals = for_each_index(&out.shape, |o| o[*dimension]);
                Data::from_scalars(out.dtype, vals.into_iter().map(|v| Scalar::F64(v as f64)))
            }
        };
        Ok(Array::from_concrete(out, data))
    }

    /// Every shape op is linear in its array operands: the JVP applies it to the tangents.
    pub fn jvp(&self, primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
        let ans = bind1(Prim::Shape(self.clone()), primals)?;
        let linear_operands: &[usize] = match self {
            Iota { .. } => &[],
            BroadcastInDim { .. }
            | Reshape { .. }
            | Transpose { .. }
            | Squeeze { .. }
            | Slice { .. } => &[0],
            DynamicSlice { .. } | Gather { .. } => &[0],
            Pad { .. } | DynamicUpdateSlice => &[0, 1],
            ScatterAdd { .. } => &[0, 2],
            Concatenate { .. } => &[],
        };
        let all_operands: Vec<usize> = (0..primals.len()).collect();
        let linear = if let Concatenate { .. } = self {
            &all_operands[..]
        } else {
            linear_operands
        };
        if linear.iter().all(|&i| tangents[i].is_none()) {
            return Ok((vec![ans], vec![None]));
        }
        let mut args = primals.to_vec();
        for &i in linear {
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
        let Some(ct) = ct else { return Ok(out) };
        let aval0 = args[0].aval();
        match self {
            BroadcastInDim {
                shape,
                broadcast_dimensions: bd,
            } => {
                let mut sum_axes: Vec<usize> =
                    (0..shape.len()).filter(|d| !bd.contains(d)).collect();
                sum_axes.extend(
                    bd.iter()
                        .enumerate()
                        .filter(|(i, &d)| aval0.shape[*i] == 1 && shape[d] != 1)
                        .map(|(_, &d)| d),
                );
                sum_axes.sort_unstable();
                let summed = lax::reduce_sum(ct, &sum_axes)?;
                out[0] = Some(lax::reshape(&summed, &aval0.shape)?);
            }
            Reshape { .. } | Squeeze { .. } => out[0] = Some(lax::reshape(ct, &aval0.shape)?),
            Transpose { permutation } => {
                let mut inverse = vec![0; permutation.len()];
                for (i, &p) in permutation.iter().enumerate() {
                    inverse[p] = i;
                }
                out[0] = Some(lax::transpose(ct, &inverse)?);
            }
            Concatenate { dimension } => {
                let d = *dimension;
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
            }
            Pad { padding_config } => {
                let start: Vec<usize> = padding_config.iter().map(|p| p.0).collect();
                let limit: Vec<usize> = ct
                    .shape()
                    .iter()
                    .zip(padding_config)
                    .map(|(&n, p)| n - p.1)
                    .collect();
                let st: Vec<usize> = padding_config.iter().map(|p| p.2 + 1).collect();
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
            }
            Slice {
                start_indices,
                strides: st,
                ..
            } => {
                let config: Vec<(usize, usize, usize)> = (0..aval0.ndim())
                    .map(|k| {
                        let s = st.as_ref().map(|s| s[k]).unwrap_or(1);
                        let n = ct.shape()[k];
                        let last = if n == 0 {
                            start_indices[k]
                        } else {
                            start_indices[k] + (n - 1) * s + 1
                        };
                        (start_indices[k], aval0.shape[k] - last, s - 1)
                    })
                    .collect();
                let zero = lax::scalar_of(&Aval::scalar(ct.dtype()), 0.0);
                out[0] = Some(lax::pad(ct, &zero, &config)?);
            }
            DynamicSlice { .. } => {
                let starts = known_all(&args[1..])?;
                out[0] = Some(lax::dynamic_update_slice(
                    &lax::zeros(&aval0)?,
                    ct,
                    &starts,
                )?);
            }
            DynamicUpdateSlice => {
                let starts = known_all(&args[2..])?;
                let upd_aval = args[1].aval();
                if args[0].is_linear() {
                    out[0] = Some(lax::dynamic_update_slice(
                        ct,
                        &lax::zeros(&upd_aval)?,
                        &starts,
                    )?);
                }
                if args[1].is_linear() {
                    out[1] = Some(lax::dynamic_slice(ct, &starts, &upd_aval.shape)?);
                }
            }
            Gather { axis } => {
                let idx = args[1].known()?;
                out[0] = Some(lax::scatter_add(&lax::zeros(&aval0)?, idx, ct, *axis)?);
            }
            ScatterAdd { axis } => {
                let idx = args[1].known()?;
                if args[0].is_linear() {
                    out[0] = Some(ct.clone());
                }
                if args[2].is_linear() {
                    out[2] = Some(lax::gather(ct, idx, *axis)?);
                }
            }
            Iota { .. } => {}
        }
        Ok(out)
    }

    pub fn batch(
        &self,
        args: &[Array],
        dims: &[Option<usize>],
        size: usize,
        sub: &dyn JaxprTransforms,
    ) -> Result<BatchOut> {
        let one = |x: Array, d: usize| Ok((vec![x], vec![Some(d)]));
        let front = |i: usize| -> Result<Array> { bdim_to_front(&args[i], dims[i], size) };
        match self {
            BroadcastInDim {
                shape,
                broadcast_dimensions: bd,
            } => {
                let x = front(0)?;
                let mut new_shape = vec![size];
                new_shape.extend(shape);
                let mut new_bd = vec![0];
                new_bd.extend(bd.iter().map(|d| d + 1));
                one(lax::broadcast_in_dim(&x, &new_shape, &new_bd)?, 0)
            }
            Reshape { new_sizes } => {
                let x = front(0)?;
                let mut new_shape = vec![size];
                new_shape.extend(new_sizes);
                one(lax::reshape(&x, &new_shape)?, 0)
            }
            Transpose { permutation } => {
                let x = front(0)?;
                let mut perm = vec![0];
                perm.extend(permutation.iter().map(|p| p + 1));
                one(lax::transpose(&x, &perm)?, 0)
            }
            Squeeze { dimensions } => {
                let x = front(0)?;
                let dims: Vec<usize> = dimensions.iter().map(|d| d + 1).collect();
                one(lax::squeeze(&x, &dims)?, 0)
            }
            Concatenate { dimension } => {
                let xs: Vec<Array> = (0..args.len()).map(front).collect::<Result<_>>()?;
                one(lax::concatenate(&xs, dimension + 1)?, 0)
            }
            Pad { padding_config } => {
                // JAX's `_pad_batch_rule`: the batch axis stays where it is, unpadded.
                let (x, d) = match dims[0] {
                    Some(d) => (args[0].clone(), d),
                    None => (front(0)?, 0),
                };
                let mut config = padding_config.clone();
                config.insert(d, (0, 0, 0));
                if dims[1].is_none() {
                    return one(lax::pad(&x, &args[1], &config)?, d);
                }
                // A padding value per example: pad with zeros, then select each example's
                // value where the padding is.
                let zero = lax::scalar_like(&args[1], 0.0);
                let padded = lax::pad(&x, &zero, &config)?;
                let inside = lax::full(&Aval::new(x.shape(), DType::Bool), 1.0)?;
                let mask = lax::pad(&inside, &Array::scalar(false), &config)?;
                let value = lax::broadcast_in_dim(&args[1], padded.shape(), &[d])?;
                one(lax::select(&mask, &padded, &value)?, d)
            }
            Slice {
                start_indices,
                limit_indices,
                strides,
            } => {
                let x = front(0)?;
                let start = [&[0][..], start_indices].concat();
                let limit = [&[size][..], limit_indices].concat();
                let st = strides.as_ref().map(|s| [&[1][..], s].concat());
                one(lax::slice(&x, &start, &limit, st.as_deref())?, 0)
            }
            DynamicSlice { slice_sizes } => {
                if dims[1..].iter().any(|d| d.is_some()) {
                    return dynamic_slice_as_gathers(args, dims, slice_sizes, size);
                }
                let x = front(0)?;
                let mut starts = vec![Array::scalar(0i32)];
                starts.extend(
                    args[1..]
                        .iter()
                        .map(|s| lax::convert_element_type(s, DType::I32))
                        .collect::<Result<Vec<_>>>()?,
                );
                let sizes = [&[size][..], slice_sizes].concat();
                one(lax::dynamic_slice(&x, &starts, &sizes)?, 0)
            }
            DynamicUpdateSlice => {
                if dims[2..].iter().any(|d| d.is_some()) {
                    // Start indices per example: the update placed by gathers at
                    // `clamp(iota - start)` and selected inside the window, batched by the
                    // gather and select rules.
                    let example_avals: Vec<Aval> = args
                        .iter()
                        .zip(dims)
                        .map(|(a, d)| {
                            let mut aval = a.aval().clone();
                            if let Some(d) = d {
                                aval.shape.remove(*d);
                            }
                            aval
                        })
                        .collect();
                    let update = sub.trace(
                        &|a: &[Array]| Ok(vec![update_by_gathers(&a[0], &a[1], &a[2..])?]),
                        &example_avals,
                    )?;
                    let (mut outs, out_dims) = sub.batch_call(&update, args, dims, size)?;
                    let out = outs.pop().expect("one output");
                    return one(bdim_to_front(&out, out_dims[0], size)?, 0);
                }
                let (x, u) = (front(0)?, front(1)?);
                let mut starts = vec![Array::scalar(0i32)];
                starts.extend(
                    args[2..]
                        .iter()
                        .map(|s| lax::convert_element_type(s, DType::I32))
                        .collect::<Result<Vec<_>>>()?,
                );
                one(lax::dynamic_update_slice(&x, &u, &starts)?, 0)
            }
            Gather { axis } => match (dims[0], dims[1]) {
                (Some(_), None) => one(lax::gather(&front(0)?, &args[1], axis + 1)?, 0),
                (None, Some(di)) => one(lax::gather(&args[0], &args[1], *axis)?, axis + di),
                _ => {
                    let (x, idx) = (front(0)?, front(1)?);
                    one(batched_gather(&x, &idx, *axis)?, 0)
                }
            },
            ScatterAdd { axis } => {
                if dims[1].is_some() {
                    let (x, idx, u) = (front(0)?, front(1)?, front(2)?);
                    return one(batched_scatter_add(&x, &idx, &u, *axis)?, 0);
                }
                // Indices shared by every example: the batch is one more leading axis of the
                // operand, and of the updates.
                let x = front(0)?;
                let u = front(2)?;
                one(lax::scatter_add(&x, &args[1], &u, axis + 1)?, 0)
            }
            Iota { .. } => unreachable!("iota has no operands, so it is never batched"),
        }
    }
}

fn known_all(args: &[LinArg]) -> Result<Vec<Array>> {
    args.iter().map(|a| a.known().cloned()).collect()
}

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

/// Flat source index of every output element of `take(x, indices, axis)` (indices clamped).
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
