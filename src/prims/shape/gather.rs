//! XLA's general `gather` and the scatter family (`scatter`, `scatter-add`, `scatter-mul`,
//! `scatter-min`, `scatter-max`) as JAX defines and prints them: dimension numbers, slice
//! sizes, `GatherScatterMode`, `fill_value`. One place for what an index means
//! ([`locate`]: which operand element each output element reads, or each update writes,
//! clamped or dropped per mode), used by eager evaluation; the backend lowers the same rule in
//! `backend::gather`. JVP, transpose and batching follow JAX's `lax/slicing.py`.

use super::{one, strides, type_err, Batching, ShapeOp, ShapeRule};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::core::trace::bind1;
use crate::dtype::{DType, Scalar};
use crate::ir::builder::JaxprBuilder;
use crate::ir::parse::{PValue, PrintedParams};
use crate::ir::pretty::{py_tuple, Param};
use crate::ir::Atom;
use crate::lax;
use crate::prims::{BatchOut, BinaryOp, JvpOut, LinArg, Prim, Tangent};

/// How `gather` and the scatters treat out-of-range start indices (`GatherScatterMode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GatherScatterMode {
    /// Start indices clamped so the slice (window) fits.
    Clip,
    /// Gather: slices that do not fit read `fill_value`; scatter: their updates are dropped.
    FillOrDrop,
    /// The user promises in-range indices; gather clamps and scatter drops, as XLA does.
    PromiseInBounds,
}

impl GatherScatterMode {
    /// JAX's printed name, `GatherScatterMode.CLIP`.
    pub fn printed(self) -> &'static str {
        match self {
            GatherScatterMode::Clip => "GatherScatterMode.CLIP",
            GatherScatterMode::FillOrDrop => "GatherScatterMode.FILL_OR_DROP",
            GatherScatterMode::PromiseInBounds => "GatherScatterMode.PROMISE_IN_BOUNDS",
        }
    }

    fn from_printed(p: &PValue) -> Option<Self> {
        let PValue::Word(w) = p else { return None };
        [Self::Clip, Self::FillOrDrop, Self::PromiseInBounds]
            .into_iter()
            .find(|m| m.printed() == w)
    }

    /// Whether out-of-range starts are clamped (else filled or dropped). Gather clamps under
    /// `PROMISE_IN_BOUNDS`; scatter drops (XLA's semantics).
    pub fn clamps(self, scatter: bool) -> bool {
        match self {
            GatherScatterMode::Clip => true,
            GatherScatterMode::FillOrDrop => false,
            GatherScatterMode::PromiseInBounds => !scatter,
        }
    }
}

/// JAX's `GatherDimensionNumbers` (the index vector is always the last axis of the indices).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GatherDimensionNumbers {
    /// Output axes that hold the slice's (non-collapsed, non-batching) axes, sorted.
    pub offset_dims: Vec<usize>,
    /// Operand axes of slice size 1 that the output drops.
    pub collapsed_slice_dims: Vec<usize>,
    /// The operand axis each component of an index vector starts.
    pub start_index_map: Vec<usize>,
    /// Operand axes indexed by the position along `start_indices_batching_dims`.
    pub operand_batching_dims: Vec<usize>,
    /// Axes of the indices paired with `operand_batching_dims`.
    pub start_indices_batching_dims: Vec<usize>,
}

/// JAX's `ScatterDimensionNumbers`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ScatterDimensionNumbers {
    /// Axes of the updates that run along the window.
    pub update_window_dims: Vec<usize>,
    /// Operand axes of window size 1 the updates do not have.
    pub inserted_window_dims: Vec<usize>,
    /// The operand axis each component of an index vector starts.
    pub scatter_dims_to_operand_dims: Vec<usize>,
    /// Operand axes indexed by the position along `scatter_indices_batching_dims`.
    pub operand_batching_dims: Vec<usize>,
    /// Axes of the indices paired with `operand_batching_dims`.
    pub scatter_indices_batching_dims: Vec<usize>,
}

impl GatherDimensionNumbers {
    fn printed(&self) -> String {
        format!(
            "GatherDimensionNumbers(offset_dims={}, collapsed_slice_dims={}, start_index_map={}, operand_batching_dims={}, start_indices_batching_dims={})",
            py_tuple(&self.offset_dims),
            py_tuple(&self.collapsed_slice_dims),
            py_tuple(&self.start_index_map),
            py_tuple(&self.operand_batching_dims),
            py_tuple(&self.start_indices_batching_dims)
        )
    }

    /// The scatter that writes where this gather reads (its transpose).
    pub fn to_scatter(&self) -> ScatterDimensionNumbers {
        ScatterDimensionNumbers {
            update_window_dims: self.offset_dims.clone(),
            inserted_window_dims: self.collapsed_slice_dims.clone(),
            scatter_dims_to_operand_dims: self.start_index_map.clone(),
            operand_batching_dims: self.operand_batching_dims.clone(),
            scatter_indices_batching_dims: self.start_indices_batching_dims.clone(),
        }
    }
}

impl ScatterDimensionNumbers {
    fn printed(&self) -> String {
        format!(
            "ScatterDimensionNumbers(update_window_dims={}, inserted_window_dims={}, scatter_dims_to_operand_dims={}, operand_batching_dims={}, scatter_indices_batching_dims={})",
            py_tuple(&self.update_window_dims),
            py_tuple(&self.inserted_window_dims),
            py_tuple(&self.scatter_dims_to_operand_dims),
            py_tuple(&self.operand_batching_dims),
            py_tuple(&self.scatter_indices_batching_dims)
        )
    }

    /// The gather that reads where this scatter writes.
    pub fn to_gather(&self) -> GatherDimensionNumbers {
        GatherDimensionNumbers {
            offset_dims: self.update_window_dims.clone(),
            collapsed_slice_dims: self.inserted_window_dims.clone(),
            start_index_map: self.scatter_dims_to_operand_dims.clone(),
            operand_batching_dims: self.operand_batching_dims.clone(),
            start_indices_batching_dims: self.scatter_indices_batching_dims.clone(),
        }
    }

    /// The window size along each operand axis (1 on inserted and batching axes), JAX's
    /// `slice_sizes` of the inverse gather.
    pub fn window_sizes(&self, operand_ndim: usize, updates_shape: &[usize]) -> Vec<usize> {
        let mut pos = 0;
        (0..operand_ndim)
            .map(|i| {
                if self.inserted_window_dims.contains(&i) || self.operand_batching_dims.contains(&i)
                {
                    1
                } else {
                    let s = self
                        .update_window_dims
                        .get(pos)
                        .map_or(1, |&d| updates_shape.get(d).copied().unwrap_or(1));
                    pos += 1;
                    s
                }
            })
            .collect()
    }
}

/// A printed `Name(a, b, ...)` with integer tuples as arguments (JAX's vmap prints
/// `np.int64(1)` for some of them).
fn dim_tuples(v: &PValue, name: &str, n: usize) -> Option<Vec<Vec<usize>>> {
    let PValue::Call(w, args) = v else {
        return None;
    };
    if w != name || args.len() != n {
        return None;
    }
    let int = |x: &PValue| match x {
        PValue::Word(w) => w.parse().ok(),
        PValue::Call(f, a) if f == "np.int64" && a.len() == 1 => match &a[0] {
            PValue::Word(w) => w.parse().ok(),
            _ => None,
        },
        _ => None,
    };
    args.iter()
        .map(|a| match a {
            PValue::Tuple(xs) | PValue::List(xs) => xs.iter().map(int).collect(),
            _ => None,
        })
        .collect()
}

fn param_err(p: &PrintedParams, prim: &str, key: &str) -> Error {
    let shown = p.raw(key).map_or("nothing".to_string(), |v| v.to_string());
    Error::value_err(format!("{prim}: cannot read parameter {key}={shown}"))
}

fn read_mode(p: &PrintedParams, prim: &str) -> Result<GatherScatterMode> {
    p.raw("mode")
        .and_then(GatherScatterMode::from_printed)
        .ok_or_else(|| param_err(p, prim, "mode"))
}

/// A fill value as Python prints it (`nan`, `0`, `-inf`, `1.5`).
fn py_number(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e18 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

// ---------------------------------------------------------------------------------------------
// The index rule shared by gather and scatter

/// One walk over an output (gather) or the updates (scatter): which axes are the window's
/// (`window_dims`, in the order of the operand's window axes) and which index the indices.
/// Eager evaluation (`locate`) and the backend's lowering read the same walk.
#[derive(Debug)]
pub struct Walk<'a> {
    /// The operand's shape.
    pub operand_shape: &'a [usize],
    /// Slice (window) size per operand axis.
    pub sizes: &'a [usize],
    /// Walk axes that run along the operand's window axes, in order.
    pub window_dims: &'a [usize],
    /// Operand axes without a window axis (collapsed / inserted, and batching).
    pub dropped: Vec<usize>,
    /// The operand axis each index vector component starts.
    pub start_map: &'a [usize],
    /// Operand axes indexed by the position along `indices_batching_dims`.
    pub operand_batching_dims: &'a [usize],
    /// The indices' axes paired with `operand_batching_dims`.
    pub indices_batching_dims: &'a [usize],
}

/// For every element of `walk_shape` (row-major), the flat operand offset it reads or writes:
/// start indices clamped into `[0, dim - size]` when `clamp`, else `None` when any start
/// falls outside it. `indices` holds the index vectors (last axis) as `i64`.
fn locate(
    w: &Walk,
    walk_shape: &[usize],
    indices: &[i64],
    indices_shape: &[usize],
    clamp: bool,
) -> Vec<Option<usize>> {
    let nvec = *indices_shape.last().unwrap_or(&0);
    let istrides = strides(indices_shape);
    let ostrides = strides(w.operand_shape);
    let batch_dims: Vec<usize> = (0..walk_shape.len())
        .filter(|d| !w.window_dims.contains(d))
        .collect();
    let window_operand_dims: Vec<usize> = (0..w.operand_shape.len())
        .filter(|d| !w.dropped.contains(d))
        .collect();
    super::for_each_index(walk_shape, |o| {
        let g: Vec<usize> = batch_dims.iter().map(|&d| o[d]).collect();
        let base: usize = g.iter().zip(&istrides).map(|(a, s)| a * s).sum();
        let mut start = vec![0i64; w.operand_shape.len()];
        for (j, &d) in w.start_map.iter().enumerate().take(nvec) {
            start[d] = indices[base + j];
        }
        for (&od, &id) in w.operand_batching_dims.iter().zip(w.indices_batching_dims) {
            start[od] = g[id] as i64;
        }
        let mut flat = 0;
        for d in 0..w.operand_shape.len() {
            let hi = w.operand_shape[d] as i64 - w.sizes[d] as i64;
            let mut s = start[d];
            if !(0..=hi).contains(&s) {
                if !clamp {
                    return None;
                }
                s = s.clamp(0, hi.max(0));
            }
            flat += s as usize * ostrides[d];
        }
        for (k, &d) in window_operand_dims.iter().enumerate() {
            flat += o[w.window_dims[k]] * ostrides[d];
        }
        Some(flat)
    })
}

fn int_values(x: &Array) -> Result<Vec<i64>> {
    Ok(x.to_f64_vec()?.iter().map(|&v| v as i64).collect())
}

fn check_sorted(op: &str, name: &str, dims: &[usize]) -> Result<()> {
    if dims.windows(2).any(|w| w[0] > w[1]) {
        return type_err(
            op,
            format!("{name} in {op} op must be sorted; got {}", py_tuple(dims)),
        );
    }
    if dims.windows(2).any(|w| w[0] == w[1]) {
        return type_err(
            op,
            format!("{name} in {op} op must not repeat; got {}", py_tuple(dims)),
        );
    }
    Ok(())
}

fn check_in_range(op: &str, name: &str, dims: &[usize], rank: usize) -> Result<()> {
    if let Some(d) = dims.iter().find(|&&d| d >= rank) {
        return type_err(
            op,
            format!("Invalid {name} set in {op} op; valid range is [0, {rank}); got: {d}."),
        );
    }
    Ok(())
}

fn check_indices(op: &str, indices: &Aval) -> Result<()> {
    if !indices.dtype.is_int() {
        return type_err(
            op,
            format!("indices must have an integer type, got {indices}"),
        );
    }
    if indices.ndim() == 0 {
        return type_err(
            op,
            "indices must have at least one axis (the index vector, last)".into(),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// gather

/// The parameters of `gather`.
#[derive(Clone, Debug, PartialEq)]
pub struct GatherParams {
    /// How the output axes relate to the operand and the indices.
    pub dimension_numbers: GatherDimensionNumbers,
    /// The size of the slice read per index vector, per operand axis.
    pub slice_sizes: Vec<usize>,
    /// The user's promise that indices are sorted (kept and printed; no effect here).
    pub indices_are_sorted: bool,
    /// The user's promise that indices do not repeat (kept and printed).
    pub unique_indices: bool,
    /// How out-of-range indices are treated.
    pub mode: GatherScatterMode,
    /// What `FILL_OR_DROP` reads out of range (`None`: NaN, the dtype's minimum for signed
    /// integers, its maximum for unsigned ones, `True` for bool).
    pub fill_value: Option<f64>,
}

/// The default fill of a `FILL_OR_DROP` gather for `dtype` (JAX's `_gather_fill`).
pub fn default_fill(dtype: DType) -> f64 {
    match dtype {
        DType::Bool => 1.0,
        d if d.is_float() => f64::NAN,
        d => {
            let range = d.iinfo().expect("an integer dtype");
            (if d.is_signed_int() {
                range.min
            } else {
                range.max
            }) as f64
        }
    }
}

impl ShapeRule for GatherParams {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![
            (
                "dimension_numbers",
                Param::Text(self.dimension_numbers.printed()),
            ),
            (
                "fill_value",
                Param::Text(self.fill_value.map_or("None".into(), py_number)),
            ),
            (
                "indices_are_sorted",
                Param::Text(py_bool(self.indices_are_sorted)),
            ),
            ("mode", Param::Text(self.mode.printed().into())),
            ("slice_sizes", Param::Text(py_tuple(&self.slice_sizes))),
            ("unique_indices", Param::Text(py_bool(self.unique_indices))),
        ]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        let dn = p
            .raw("dimension_numbers")
            .and_then(|v| dim_tuples(v, "GatherDimensionNumbers", 5))
            .ok_or_else(|| param_err(p, "gather", "dimension_numbers"))?;
        let [offset_dims, collapsed_slice_dims, start_index_map, operand_batching_dims, start_indices_batching_dims]: [Vec<usize>; 5] =
            dn.try_into().expect("five tuples");
        let fill_value = match p.raw("fill_value") {
            None => None,
            Some(PValue::Word(w)) if w == "None" => None,
            Some(PValue::Word(w)) => Some(match w.as_str() {
                "nan" => f64::NAN,
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "True" => 1.0,
                "False" => 0.0,
                _ => w
                    .parse()
                    .map_err(|_| param_err(p, "gather", "fill_value"))?,
            }),
            Some(_) => return Err(param_err(p, "gather", "fill_value")),
        };
        Ok(ShapeOp::Gather(Box::new(GatherParams {
            dimension_numbers: GatherDimensionNumbers {
                offset_dims,
                collapsed_slice_dims,
                start_index_map,
                operand_batching_dims,
                start_indices_batching_dims,
            },
            slice_sizes: p.get("slice_sizes")?,
            indices_are_sorted: p.get_or("indices_are_sorted", false)?,
            unique_indices: p.get_or("unique_indices", false)?,
            mode: read_mode(p, "gather")?,
            fill_value,
        })))
    }

    /// JAX's `_gather_shape_rule` and `_gather_dtype_rule`.
    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (x, idx) = (avals[0], avals[1]);
        let dn = &self.dimension_numbers;
        check_indices("gather", idx)?;
        let vec_dim = idx.ndim() - 1;
        let out_rank = dn.offset_dims.len() + idx.ndim() - 1;
        check_sorted("gather", "offset_dims", &dn.offset_dims)?;
        if let Some((i, d)) = dn
            .offset_dims
            .iter()
            .enumerate()
            .find(|(_, &d)| d >= out_rank)
        {
            return type_err("gather", format!(
                "Offset dimension {i} in gather op is out of bounds; got {d}, but should have been in [0, {out_rank})"
            ));
        }
        if dn.start_index_map.len() != idx.shape[vec_dim] {
            return type_err("gather", format!(
                "Gather op has {} elements in start_index_map and the bound of dimension index_vector_dim={vec_dim} of indices is {}. These two numbers must be equal.",
                dn.start_index_map.len(), idx.shape[vec_dim]
            ));
        }
        check_in_range("gather", "start_index_map", &dn.start_index_map, x.ndim())?;
        check_sorted("gather", "collapsed_slice_dims", &dn.collapsed_slice_dims)?;
        check_in_range(
            "gather",
            "collapsed_slice_dims",
            &dn.collapsed_slice_dims,
            x.ndim(),
        )?;
        check_sorted("gather", "operand_batching_dims", &dn.operand_batching_dims)?;
        check_in_range(
            "gather",
            "operand_batching_dims",
            &dn.operand_batching_dims,
            x.ndim(),
        )?;
        check_in_range(
            "gather",
            "start_indices_batching_dims",
            &dn.start_indices_batching_dims,
            idx.ndim(),
        )?;
        if dn.start_indices_batching_dims.contains(&vec_dim) {
            return type_err(
                "gather",
                format!(
                "Gather op cannot have the index vector dimension as a batching dimension; got {}.",
                py_tuple(&dn.start_indices_batching_dims)
            ),
            );
        }
        if dn.operand_batching_dims.len() != dn.start_indices_batching_dims.len() {
            return type_err("gather", format!(
                "Gather op requires equal numbers of operand_batching_dims and start_indices_batching_dims, got {} and {}.",
                py_tuple(&dn.operand_batching_dims), py_tuple(&dn.start_indices_batching_dims)
            ));
        }
        let ob: Vec<usize> = dn
            .operand_batching_dims
            .iter()
            .map(|&d| x.shape[d])
            .collect();
        let ib: Vec<usize> = dn
            .start_indices_batching_dims
            .iter()
            .map(|&d| idx.shape[d])
            .collect();
        if ob != ib {
            return type_err("gather", format!(
                "Gather op requires operand batching dimensions and indices batching dimensions to have the same shape, got {} and {}.",
                py_tuple(&ob), py_tuple(&ib)
            ));
        }
        let sizes = &self.slice_sizes;
        if sizes.len() != x.ndim() {
            return type_err("gather", format!(
                "Gather op must have one slice size for every input dimension; got: len(slice_sizes)={}, input_shape.rank={}",
                sizes.len(), x.ndim()
            ));
        }
        if sizes.len()
            != dn.offset_dims.len() + dn.collapsed_slice_dims.len() + dn.operand_batching_dims.len()
        {
            return type_err("gather", format!(
                "All components of the offset index in a gather op must either be a offset dimension or explicitly collapsed/batching; got len(slice_sizes)={}, output_slice_sizes={}, collapsed_slice_dims={}, operand_batching_dims={}.",
                sizes.len(), py_tuple(&dn.offset_dims), py_tuple(&dn.collapsed_slice_dims), py_tuple(&dn.operand_batching_dims)
            ));
        }
        let overlap = dn
            .collapsed_slice_dims
            .iter()
            .chain(&dn.start_index_map)
            .any(|d| dn.operand_batching_dims.contains(d));
        if overlap {
            return type_err("gather", format!(
                "collapsed_slice_dims {} and start_index_map {} must be disjoint from operand_batching_dims {}",
                py_tuple(&dn.collapsed_slice_dims), py_tuple(&dn.start_index_map), py_tuple(&dn.operand_batching_dims)
            ));
        }
        if idx.size() > 0 {
            if let Some(i) = (0..sizes.len()).find(|&i| sizes[i] > x.shape[i]) {
                return type_err("gather", format!(
                    "Slice size at index {i} in gather op is out of range, must be within [0, {} + 1), got {}.",
                    x.shape[i], sizes[i]
                ));
            }
        }
        for (i, &d) in dn.collapsed_slice_dims.iter().enumerate() {
            if sizes[d] != 1 {
                return type_err("gather", format!(
                    "Gather op can only collapse slice dims with bound 1, but bound is {} for index {d} at position {i}.",
                    sizes[d]
                ));
            }
        }
        for (i, &d) in dn.operand_batching_dims.iter().enumerate() {
            if sizes[d] > 1 {
                return type_err("gather", format!(
                    "Gather op can only have operand batching dims with bound 0/1, but bound is {} for index {d} at position {i}.",
                    sizes[d]
                ));
            }
        }
        Ok(Aval::new(self.out_shape(x.ndim(), &idx.shape), x.dtype).weak(x.weak_type))
    }

    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let (x, idx) = (&args[0], &args[1]);
        let src = locate(
            &self.walk(x.shape()),
            &out.shape,
            &int_values(idx)?,
            idx.shape(),
            self.mode.clamps(false),
        );
        let fill = Scalar::from_f64(
            self.fill_value.unwrap_or(default_fill(x.dtype())),
            x.dtype(),
        );
        let xd = x.data()?;
        Ok(Data::from_scalars(
            out.dtype,
            src.into_iter().map(|s| s.map_or(fill, |i| xd.get(i))),
        ))
    }

    /// JAX's `_gather_transpose_rule`: a scatter-add into zeros.
    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let idx = args[1].known()?;
        let zeros = lax::zeros(&args[0].aval().clone().weak(false))?;
        let opts = ScatterOptions {
            indices_are_sorted: self.indices_are_sorted,
            unique_indices: self.unique_indices,
            mode: self.mode,
        };
        out[0] = Some(lax::scatter_add(
            &zeros,
            idx,
            ct,
            &self.dimension_numbers.to_scatter(),
            opts,
        )?);
        Ok(())
    }

    /// JAX's `_gather_batching_rule`.
    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let dn = &self.dimension_numbers;
        let up = |v: &[usize]| v.iter().map(|d| d + 1).collect::<Vec<_>>();
        let bind = |x: &Array, i: &Array, p: GatherParams| -> Result<BatchOut> {
            one(
                bind1(
                    Prim::Shape(ShapeOp::Gather(Box::new(p))),
                    &[x.clone(), i.clone()],
                )?,
                0,
            )
        };
        match (b.dims[0], b.dims[1]) {
            (Some(_), None) => {
                let x = b.front(0)?;
                let mut sizes = vec![x.shape()[0]];
                sizes.extend(&self.slice_sizes);
                let p = GatherParams {
                    dimension_numbers: GatherDimensionNumbers {
                        offset_dims: [vec![0], up(&dn.offset_dims)].concat(),
                        collapsed_slice_dims: up(&dn.collapsed_slice_dims),
                        start_index_map: up(&dn.start_index_map),
                        operand_batching_dims: up(&dn.operand_batching_dims),
                        start_indices_batching_dims: dn.start_indices_batching_dims.clone(),
                    },
                    slice_sizes: sizes,
                    ..self.clone()
                };
                bind(&x, &b.args[1], p)
            }
            (None, Some(_)) => {
                let i = b.front(1)?;
                let p = GatherParams {
                    dimension_numbers: GatherDimensionNumbers {
                        offset_dims: up(&dn.offset_dims),
                        start_indices_batching_dims: up(&dn.start_indices_batching_dims),
                        ..dn.clone()
                    },
                    unique_indices: false,
                    indices_are_sorted: false,
                    ..self.clone()
                };
                bind(&b.args[0], &i, p)
            }
            _ => {
                let (x, i) = (b.front(0)?, b.front(1)?);
                let mut sizes = vec![if x.shape()[0] == 0 { 0 } else { 1 }];
                sizes.extend(&self.slice_sizes);
                let p = GatherParams {
                    dimension_numbers: GatherDimensionNumbers {
                        offset_dims: up(&dn.offset_dims),
                        collapsed_slice_dims: up(&dn.collapsed_slice_dims),
                        start_index_map: up(&dn.start_index_map),
                        operand_batching_dims: [vec![0], up(&dn.operand_batching_dims)].concat(),
                        start_indices_batching_dims: [vec![0], up(&dn.start_indices_batching_dims)]
                            .concat(),
                    },
                    slice_sizes: sizes,
                    ..self.clone()
                };
                bind(&x, &i, p)
            }
        }
    }
}

impl GatherParams {
    /// The output shape: slice sizes of the offset axes at `offset_dims`, the indices' batch
    /// axes elsewhere in order.
    fn out_shape(&self, x_ndim: usize, idx_shape: &[usize]) -> Vec<usize> {
        let dn = &self.dimension_numbers;
        let window = self.window_operand_dims(x_ndim);
        let rank = dn.offset_dims.len() + idx_shape.len() - 1;
        let (mut w, mut b) = (0, 0);
        (0..rank)
            .map(|d| {
                if dn.offset_dims.contains(&d) {
                    w += 1;
                    self.slice_sizes[window[w - 1]]
                } else {
                    b += 1;
                    idx_shape[b - 1]
                }
            })
            .collect()
    }

    fn window_operand_dims(&self, x_ndim: usize) -> Vec<usize> {
        let dn = &self.dimension_numbers;
        (0..x_ndim)
            .filter(|d| {
                !dn.collapsed_slice_dims.contains(d) && !dn.operand_batching_dims.contains(d)
            })
            .collect()
    }

    /// The walk over the output of this gather of an operand of `x_shape`.
    pub fn walk<'a>(&'a self, x_shape: &'a [usize]) -> Walk<'a> {
        let dn = &self.dimension_numbers;
        Walk {
            operand_shape: x_shape,
            sizes: &self.slice_sizes,
            window_dims: &dn.offset_dims,
            dropped: dn
                .collapsed_slice_dims
                .iter()
                .chain(&dn.operand_batching_dims)
                .copied()
                .collect(),
            start_map: &dn.start_index_map,
            operand_batching_dims: &dn.operand_batching_dims,
            indices_batching_dims: &dn.start_indices_batching_dims,
        }
    }

    /// JAX's `_gather_jvp_rule`: the tangent gathered the same way, filled with 0.
    pub(super) fn jvp(&self, primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
        let ans = bind1(
            Prim::Shape(ShapeOp::Gather(Box::new(self.clone()))),
            primals,
        )?;
        let t = match &tangents[0] {
            None => None,
            Some(t) => {
                let p = GatherParams {
                    fill_value: Some(0.0),
                    ..self.clone()
                };
                Some(bind1(
                    Prim::Shape(ShapeOp::Gather(Box::new(p))),
                    &[t.clone(), primals[1].clone()],
                )?)
            }
        };
        Ok((vec![ans], vec![t]))
    }
}

fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.into()
}

// ---------------------------------------------------------------------------------------------
// scatter, scatter-add, scatter-mul, scatter-min, scatter-max

/// Which scatter: how an update combines with the element it lands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScatterKind {
    /// `scatter`: the update replaces the element (the last of repeated indices wins).
    Replace,
    /// `scatter-add`.
    Add,
    /// `scatter-mul`.
    Mul,
    /// `scatter-min`.
    Min,
    /// `scatter-max`.
    Max,
}

impl ScatterKind {
    /// Every scatter, in the order JAX lists them.
    pub const ALL: [ScatterKind; 5] = [
        ScatterKind::Replace,
        ScatterKind::Add,
        ScatterKind::Mul,
        ScatterKind::Min,
        ScatterKind::Max,
    ];

    /// The primitive's name.
    pub fn name(self) -> &'static str {
        match self {
            ScatterKind::Replace => "scatter",
            ScatterKind::Add => "scatter-add",
            ScatterKind::Mul => "scatter-mul",
            ScatterKind::Min => "scatter-min",
            ScatterKind::Max => "scatter-max",
        }
    }

    /// The binary op that combines the old element with the update (`None`: replace).
    pub fn combiner(self) -> Option<BinaryOp> {
        match self {
            ScatterKind::Replace => None,
            ScatterKind::Add => Some(BinaryOp::Add),
            ScatterKind::Mul => Some(BinaryOp::Mul),
            ScatterKind::Min => Some(BinaryOp::Min),
            ScatterKind::Max => Some(BinaryOp::Max),
        }
    }

    /// `old ∘ update` in `dtype`'s own arithmetic (wrapping for integers, rounded per step
    /// for floats, as compiled code accumulates).
    fn combine(self, old: Scalar, upd: Scalar) -> Scalar {
        use Scalar::*;
        let Some(op) = self.combiner() else {
            return upd;
        };
        macro_rules! arith {
            ($a:expr, $b:expr, $add:expr, $mul:expr) => {
                match op {
                    BinaryOp::Add => $add($a, $b),
                    BinaryOp::Mul => $mul($a, $b),
                    BinaryOp::Min => {
                        if $a.partial_cmp(&$b) == Some(std::cmp::Ordering::Greater) || $b != $b {
                            $b
                        } else {
                            $a
                        }
                    }
                    _ => {
                        if $a.partial_cmp(&$b) == Some(std::cmp::Ordering::Less) || $b != $b {
                            $b
                        } else {
                            $a
                        }
                    }
                }
            };
        }
        match (old, upd) {
            (F32(a), F32(b)) => F32(arith!(a, b, |a, b| a + b, |a, b| a * b)),
            (F64(a), F64(b)) => F64(arith!(a, b, |a, b| a + b, |a, b| a * b)),
            (I32(a), I32(b)) => I32(arith!(a, b, i32::wrapping_add, i32::wrapping_mul)),
            (U32(a), U32(b)) => U32(arith!(a, b, u32::wrapping_add, u32::wrapping_mul)),
            (Bool(a), Bool(b)) => Bool(match op {
                BinaryOp::Add | BinaryOp::Max => a | b,
                _ => a & b,
            }),
            // The 16-bit floats in f32, rounded back each step.
            (a, b) if a.dtype().is_half() => {
                let (x, y) = (a.to_f64() as f32, b.to_f64() as f32);
                F32(arith!(x, y, |a, b| a + b, |a, b| a * b)).convert(a.dtype())
            }
            // The other integers widened (products of two 64-bit values fit), wrapped back.
            (a, b) if a.dtype().is_int() => {
                let (x, y) = (a.to_i128(), b.to_i128());
                let r = arith!(x, y, i128::wrapping_add, i128::wrapping_mul);
                Scalar::from_i128(r, a.dtype())
            }
            _ => upd,
        }
    }
}

/// The parameters of a scatter.
#[derive(Clone, Debug, PartialEq)]
pub struct ScatterParams {
    /// Which scatter.
    pub kind: ScatterKind,
    /// How the updates' axes relate to the operand and the indices.
    pub dimension_numbers: ScatterDimensionNumbers,
    /// The user's promise that indices are sorted (kept and printed).
    pub indices_are_sorted: bool,
    /// The user's promise that indices do not repeat (JAX's JVPs use it).
    pub unique_indices: bool,
    /// How out-of-range indices are treated (`CLIP` clamps; the others drop the update).
    pub mode: GatherScatterMode,
    /// The dtype of `update_jaxpr`'s scalars, as printed.
    pub dtype: DType,
}

/// The options of a scatter (JAX's keyword arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScatterOptions {
    /// Promise that indices are sorted.
    pub indices_are_sorted: bool,
    /// Promise that indices do not repeat.
    pub unique_indices: bool,
    /// Out-of-range indices: clamped or dropped.
    pub mode: GatherScatterMode,
}

impl Default for ScatterOptions {
    /// JAX's `lax.scatter*` defaults: `FILL_OR_DROP`, no promises.
    fn default() -> Self {
        ScatterOptions {
            indices_are_sorted: false,
            unique_indices: false,
            mode: GatherScatterMode::FillOrDrop,
        }
    }
}

/// The options of a gather (JAX's keyword arguments).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatherOptions {
    /// Promise that indices are sorted.
    pub indices_are_sorted: bool,
    /// Promise that indices do not repeat.
    pub unique_indices: bool,
    /// Out-of-range indices: clamped or filled.
    pub mode: GatherScatterMode,
    /// The value `FILL_OR_DROP` reads out of range (`None`: the dtype's default).
    pub fill_value: Option<f64>,
}

impl Default for GatherOptions {
    /// JAX's `lax.gather` defaults (printed `PROMISE_IN_BOUNDS`).
    fn default() -> Self {
        GatherOptions {
            indices_are_sorted: false,
            unique_indices: false,
            mode: GatherScatterMode::PromiseInBounds,
            fill_value: None,
        }
    }
}

impl ScatterParams {
    fn update_jaxpr(&self) -> Param {
        let Some(op) = self.kind.combiner() else {
            return Param::Text("None".into());
        };
        let mut b = JaxprBuilder::new();
        let s = Aval::new(vec![], self.dtype);
        let x = b.add_invar(s.clone());
        let y = b.add_invar(s.clone());
        let out = b.add_eqn(Prim::Binary(op), vec![Atom::Var(x), Atom::Var(y)], vec![s]);
        let cj = b.build(vec![Atom::Var(out[0])]);
        Param::Jaxpr(cj.jaxpr)
    }

    fn op(&self) -> &'static str {
        self.kind.name()
    }

    /// The walk over the updates of this scatter into an operand of `x_shape`, with the
    /// window `sizes` ([`ScatterDimensionNumbers::window_sizes`]).
    pub fn walk<'a>(&'a self, x_shape: &'a [usize], sizes: &'a [usize]) -> Walk<'a> {
        let dn = &self.dimension_numbers;
        Walk {
            operand_shape: x_shape,
            sizes,
            window_dims: &dn.update_window_dims,
            dropped: dn
                .inserted_window_dims
                .iter()
                .chain(&dn.operand_batching_dims)
                .copied()
                .collect(),
            start_map: &dn.scatter_dims_to_operand_dims,
            operand_batching_dims: &dn.operand_batching_dims,
            indices_batching_dims: &dn.scatter_indices_batching_dims,
        }
    }

    /// Where each update lands (row-major over the updates), `None` where it is dropped.
    fn destinations(
        &self,
        x_shape: &[usize],
        idx: &Array,
        upd_shape: &[usize],
    ) -> Result<Vec<Option<usize>>> {
        let sizes = self
            .dimension_numbers
            .window_sizes(x_shape.len(), upd_shape);
        let clamp = self.mode.clamps(true) && !x_shape.contains(&0);
        Ok(locate(
            &self.walk(x_shape, &sizes),
            upd_shape,
            &int_values(idx)?,
            idx.shape(),
            clamp,
        ))
    }

    fn with_kind(&self, kind: ScatterKind) -> ScatterParams {
        ScatterParams {
            kind,
            ..self.clone()
        }
    }

    fn bind(&self, x: &Array, idx: &Array, upd: &Array) -> Result<Array> {
        let p = ScatterParams {
            dtype: x.dtype(),
            ..self.clone()
        };
        bind1(
            Prim::Shape(ShapeOp::Scatter(Box::new(p))),
            &[x.clone(), idx.clone(), upd.clone()],
        )
    }

    /// The gather reading where this scatter writes (`fill_value=0` out of range).
    fn inverse_gather(
        &self,
        t: &Array,
        idx: &Array,
        upd_shape: &[usize],
        fill: Option<f64>,
    ) -> Result<Array> {
        let dn = &self.dimension_numbers;
        let sizes = dn.window_sizes(t.ndim(), upd_shape);
        lax::gather(
            t,
            idx,
            &dn.to_gather(),
            &sizes,
            GatherOptions {
                mode: self.mode,
                fill_value: fill,
                ..GatherOptions::default()
            },
        )
    }

    /// JAX's JVPs: scatter-add linear; scatter with unique indices linear, otherwise by ids;
    /// scatter-mul (`mul(x, scatter_add(0, i, g))` for the updates, unique indices only);
    /// scatter-min/max by `_scatter_extremal_jvp`.
    pub(super) fn jvp(&self, primals: &[Array], tangents: &[Tangent]) -> Result<JvpOut> {
        let (x, idx, upd) = (&primals[0], &primals[1], &primals[2]);
        let (gx, gu) = (&tangents[0], &tangents[2]);
        let zeros_or = |t: &Tangent, like: &Array| match t {
            Some(t) => Ok(t.clone()),
            None => lax::zeros(&like.aval().clone().weak(false)),
        };
        if gx.is_none() && gu.is_none() {
            return Ok((vec![self.bind(x, idx, upd)?], vec![None]));
        }
        match self.kind {
            ScatterKind::Add => {
                let ans = self.bind(x, idx, upd)?;
                let t = self.bind(&zeros_or(gx, x)?, idx, &zeros_or(gu, upd)?)?;
                Ok((vec![ans], vec![Some(t)]))
            }
            ScatterKind::Replace => {
                self.replace_jvp(x, idx, upd, &zeros_or(gx, x)?, &zeros_or(gu, upd)?)
            }
            ScatterKind::Mul => {
                let ans = self.bind(x, idx, upd)?;
                let mut t: Option<Array> = None;
                if let Some(gx) = gx {
                    t = Some(self.bind(gx, idx, upd)?);
                }
                if let Some(gu) = gu {
                    if !self.unique_indices {
                        return Err(Error::type_err(
                            "scatter_mul gradients are only implemented if `unique_indices=True`",
                        ));
                    }
                    let z = lax::zeros(&x.aval().clone().weak(false))?;
                    let add = self.with_kind(ScatterKind::Add).bind(&z, idx, gu)?;
                    let rhs = lax::mul(x, &add)?;
                    t = Some(match t {
                        Some(a) => lax::add(&a, &rhs)?,
                        None => rhs,
                    });
                }
                Ok((vec![ans], vec![t]))
            }
            ScatterKind::Min | ScatterKind::Max => {
                self.extremal_jvp(x, idx, upd, &zeros_or(gx, x)?, &zeros_or(gu, upd)?)
            }
        }
    }

    /// JAX's `_scatter_jvp`.
    fn replace_jvp(
        &self,
        x: &Array,
        idx: &Array,
        upd: &Array,
        gx: &Array,
        gu: &Array,
    ) -> Result<JvpOut> {
        if self.unique_indices {
            return Ok((
                vec![self.bind(x, idx, upd)?],
                vec![Some(self.bind(gx, idx, gu)?)],
            ));
        }
        let dn = &self.dimension_numbers;
        let mut ids_shape = upd.shape().to_vec();
        for &d in &dn.update_window_dims {
            ids_shape[d] = 1;
        }
        let num_ids: usize = ids_shape.iter().product();
        let ids = lax::reshape(&lax::iota(DType::U32, &[num_ids], 0)?, &ids_shape)?;
        let ids = lax::add(
            &lax::broadcast_in_dim(&ids, upd.shape(), &(0..upd.ndim()).collect::<Vec<_>>())?,
            &lax::full(&Aval::new(upd.shape().to_vec(), DType::U32), 1.0)?,
        )?;
        let zeros_ids = lax::full(&Aval::new(x.shape().to_vec(), DType::U32), 0.0)?;
        let scattered = self.bind(&zeros_ids, idx, &ids)?;
        let gathered = lax::gather(
            &scattered,
            idx,
            &dn.to_gather(),
            &dn.window_sizes(x.ndim(), upd.shape()),
            GatherOptions::default(),
        )?;
        let keep_x = lax::eq(&scattered, &lax::zeros(scattered.aval())?)?;
        let keep_u = lax::eq(&ids, &gathered)?;
        let mask = |m: &Array, v: &Array| -> Result<Array> {
            lax::select(m, v, &lax::zeros(&v.aval().clone().weak(false))?)
        };
        let add = self.with_kind(ScatterKind::Add);
        let val = add.bind(&mask(&keep_x, x)?, idx, &mask(&keep_u, upd)?)?;
        let tan = add.bind(&mask(&keep_x, gx)?, idx, &mask(&keep_u, gu)?)?;
        Ok((vec![val], vec![Some(tan)]))
    }

    /// JAX's `_scatter_extremal_jvp`: contending updates share the tangent equally.
    fn extremal_jvp(
        &self,
        x: &Array,
        idx: &Array,
        upd: &Array,
        gx: &Array,
        gu: &Array,
    ) -> Result<JvpOut> {
        let dn = &self.dimension_numbers;
        let sizes = dn.window_sizes(x.ndim(), upd.shape());
        let g = |a: &Array| lax::gather(a, idx, &dn.to_gather(), &sizes, GatherOptions::default());
        let add = |a: &Array, u: &Array| self.with_kind(ScatterKind::Add).bind(a, idx, u);
        let zeros = |a: &Array| lax::zeros(&a.aval().clone().weak(false));
        let ones = |a: &Array| lax::full(&a.aval().clone().weak(false), 1.0);
        let val = self.bind(x, idx, upd)?;
        let initial = g(x)?;
        let target = g(&val)?;
        let successful = lax::eq(upd, &target)?;
        let retained = lax::eq(&initial, &target)?;
        let plain = ScatterParams {
            mode: GatherScatterMode::FillOrDrop,
            indices_are_sorted: false,
            unique_indices: false,
            ..self.with_kind(ScatterKind::Add)
        };
        let num_updates = g(&plain.bind(
            &zeros(x)?,
            idx,
            &lax::select(&successful, &ones(upd)?, &zeros(upd)?)?,
        )?)?;
        let num_refs = g(&plain.bind(&zeros(x)?, idx, &ones(upd)?)?)?;
        let one_ = ones(&num_updates)?;
        let upd_norm = lax::select(
            &retained,
            &lax::div(&one_, &lax::add(&num_updates, &one_)?)?,
            &lax::div(&one_, &num_updates)?,
        )?;
        let upd_coef = lax::select(&successful, &upd_norm, &zeros(upd)?)?;
        let op_norm = lax::select(
            &retained,
            &lax::div(&one_, &lax::add(&num_updates, &one_)?)?,
            &zeros(&num_updates)?,
        )?;
        let op_coef = lax::div(&lax::sub(&op_norm, &one_)?, &num_refs)?;
        let tangent_updates = lax::add(&lax::mul(&g(gx)?, &op_coef)?, &lax::mul(gu, &upd_coef)?)?;
        let tan = add(gx, &tangent_updates)?;
        Ok((vec![val], vec![Some(tan)]))
    }
}

impl ShapeRule for ScatterParams {
    fn params(&self) -> Vec<(&'static str, Param)> {
        vec![
            (
                "dimension_numbers",
                Param::Text(self.dimension_numbers.printed()),
            ),
            (
                "indices_are_sorted",
                Param::Text(py_bool(self.indices_are_sorted)),
            ),
            ("mode", Param::Text(self.mode.printed().into())),
            ("unique_indices", Param::Text(py_bool(self.unique_indices))),
            ("update_consts", Param::Text("()".into())),
            ("update_jaxpr", self.update_jaxpr()),
        ]
    }

    fn from_printed(p: &PrintedParams) -> Result<ShapeOp> {
        let kind = ScatterKind::ALL
            .into_iter()
            .find(|k| k.name() == p.prim())
            .ok_or_else(|| Error::value_err(format!("{} is not a scatter", p.prim())))?;
        let name = kind.name();
        let dn = p
            .raw("dimension_numbers")
            .and_then(|v| dim_tuples(v, "ScatterDimensionNumbers", 5))
            .ok_or_else(|| param_err(p, name, "dimension_numbers"))?;
        let [update_window_dims, inserted_window_dims, scatter_dims_to_operand_dims, operand_batching_dims, scatter_indices_batching_dims]: [Vec<usize>; 5] =
            dn.try_into().expect("five tuples");
        let dtype = p
            .out_types()
            .first()
            .map(|a| a.dtype)
            .ok_or_else(|| param_err(p, name, "update_jaxpr"))?;
        Ok(ShapeOp::Scatter(Box::new(ScatterParams {
            kind,
            dimension_numbers: ScatterDimensionNumbers {
                update_window_dims,
                inserted_window_dims,
                scatter_dims_to_operand_dims,
                operand_batching_dims,
                scatter_indices_batching_dims,
            },
            indices_are_sorted: p.get_or("indices_are_sorted", false)?,
            unique_indices: p.get_or("unique_indices", false)?,
            mode: read_mode(p, name)?,
            dtype,
        })))
    }

    /// JAX's `_scatter_shape_rule` and `_scatter_dtype_rule`.
    fn abstract_eval(&self, avals: &[&Aval]) -> Result<Aval> {
        let (x, idx, upd) = (avals[0], avals[1], avals[2]);
        let op = self.op();
        let dn = &self.dimension_numbers;
        check_indices(op, idx)?;
        if x.dtype != upd.dtype {
            return type_err(
                op,
                format!(
                    "{op} requires arguments to have the same dtypes, got {}, {}.",
                    x.dtype.numpy_name(),
                    upd.dtype.numpy_name()
                ),
            );
        }
        let vec_dim = idx.ndim() - 1;
        check_sorted(op, "update_window_dims", &dn.update_window_dims)?;
        check_in_range(op, "update_window_dims", &dn.update_window_dims, upd.ndim())?;
        check_sorted(op, "inserted_window_dims", &dn.inserted_window_dims)?;
        check_in_range(
            op,
            "inserted_window_dims",
            &dn.inserted_window_dims,
            x.ndim(),
        )?;
        check_sorted(op, "operand_batching_dims", &dn.operand_batching_dims)?;
        check_in_range(
            op,
            "operand_batching_dims",
            &dn.operand_batching_dims,
            x.ndim(),
        )?;
        check_in_range(
            op,
            "scatter_indices_batching_dims",
            &dn.scatter_indices_batching_dims,
            idx.ndim(),
        )?;
        check_in_range(
            op,
            "scatter_dims_to_operand_dims",
            &dn.scatter_dims_to_operand_dims,
            x.ndim(),
        )?;
        let window_rank = dn.update_window_dims.len()
            + dn.inserted_window_dims.len()
            + dn.operand_batching_dims.len();
        if window_rank != x.ndim() {
            return type_err(op, format!(
                "Updates rank {} of update_window_dims, inserted_window_dims and operand_batching_dims must add up to the operand rank {}; got update_window_dims={}, inserted_window_dims={}, operand_batching_dims={}.",
                window_rank, x.ndim(), py_tuple(&dn.update_window_dims), py_tuple(&dn.inserted_window_dims), py_tuple(&dn.operand_batching_dims)
            ));
        }
        if dn.scatter_dims_to_operand_dims.len() != idx.shape[vec_dim] {
            return type_err(op, format!(
                "Scatter op has {} elements in scatter_dims_to_operand_dims and the bound of dimension index_vector_dim={vec_dim} of indices is {}. These two numbers must be equal",
                dn.scatter_dims_to_operand_dims.len(), idx.shape[vec_dim]
            ));
        }
        if dn.operand_batching_dims.len() != dn.scatter_indices_batching_dims.len()
            || dn.scatter_indices_batching_dims.contains(&vec_dim)
        {
            return type_err(op, format!(
                "Scatter op requires equal numbers of operand_batching_dims and scatter_indices_batching_dims (not the index vector dimension), got {} and {}.",
                py_tuple(&dn.operand_batching_dims), py_tuple(&dn.scatter_indices_batching_dims)
            ));
        }
        // The updates' scatter axes are the indices' batch axes, in order.
        let scatter_dims: Vec<usize> = (0..upd.ndim())
            .filter(|d| !dn.update_window_dims.contains(d))
            .map(|d| upd.shape[d])
            .collect();
        let expected = &idx.shape[..vec_dim];
        if scatter_dims != expected {
            return type_err(op, format!(
                "Bounds of the scatter dimensions of updates must be the same as the bounds of the corresponding dimensions of scatter indices; updates {upd} have scatter dimensions {}, indices {idx} have batch dimensions {}.",
                py_tuple(&scatter_dims), py_tuple(expected)
            ));
        }
        // Only the updates' own window axes are bounded (as JAX's rule): inserted and batching
        // axes have an implicit window of 1, which an empty operand axis may not hold.
        let sizes = dn.window_sizes(x.ndim(), &upd.shape);
        let implicit =
            |i: &usize| dn.inserted_window_dims.contains(i) || dn.operand_batching_dims.contains(i);
        if let Some(i) = (0..x.ndim()).find(|i| !implicit(i) && sizes[*i] > x.shape[*i]) {
            return type_err(op, format!(
                "Bounds of the window dimensions of updates must not exceed the bounds of the corresponding dimensions of operand. For dimension {i}, updates bound is {}, operand bound is {}.",
                sizes[i], x.shape[i]
            ));
        }
        let ob: Vec<usize> = dn
            .operand_batching_dims
            .iter()
            .map(|&d| x.shape[d])
            .collect();
        let ib: Vec<usize> = dn
            .scatter_indices_batching_dims
            .iter()
            .map(|&d| idx.shape[d])
            .collect();
        if ob != ib {
            return type_err(op, format!(
                "Scatter op requires operand batching dimensions and indices batching dimensions to have the same shape, got {} and {}.",
                py_tuple(&ob), py_tuple(&ib)
            ));
        }
        Ok(x.clone())
    }

    fn eval(&self, args: &[Array], out: &Aval) -> Result<Data> {
        let (x, idx, upd) = (&args[0], &args[1], &args[2]);
        let dst = self.destinations(x.shape(), idx, upd.shape())?;
        let (xd, ud) = (x.data()?, upd.data()?);
        let mut vals: Vec<Scalar> = (0..x.size()).map(|i| xd.get(i)).collect();
        for (j, d) in dst.into_iter().enumerate() {
            if let Some(i) = d {
                vals[i] = self.kind.combine(vals[i], ud.get(j));
            }
        }
        Ok(Data::from_scalars(out.dtype, vals.into_iter()))
    }

    /// JAX's transpose rules of scatter-add, scatter (unique indices) and scatter-mul.
    fn transpose(&self, ct: &Array, args: &[LinArg], out: &mut [Tangent]) -> Result<()> {
        let idx = args[1].known()?;
        let upd_shape = args[2].aval().shape.clone();
        match self.kind {
            ScatterKind::Add => {
                if args[0].is_linear() {
                    out[0] = Some(ct.clone());
                }
                if args[2].is_linear() {
                    out[2] = Some(self.inverse_gather(ct, idx, &upd_shape, Some(0.0))?);
                }
            }
            ScatterKind::Replace => {
                if !self.unique_indices {
                    return Err(Error::type_err(
                        "scatter transpose is only implemented where unique_indices=True",
                    ));
                }
                if args[0].is_linear() {
                    let z = lax::zeros(&Aval::new(upd_shape.clone(), ct.dtype()))?;
                    let p = ScatterParams {
                        unique_indices: true,
                        ..self.clone()
                    };
                    out[0] = Some(p.bind(ct, idx, &z)?);
                }
                if args[2].is_linear() {
                    out[2] = Some(self.inverse_gather(ct, idx, &upd_shape, Some(0.0))?);
                }
            }
            ScatterKind::Mul => {
                let upd = args[2].known()?;
                if args[0].is_linear() {
                    out[0] = Some(self.bind(ct, idx, upd)?);
                }
            }
            ScatterKind::Min | ScatterKind::Max => {
                return Err(Error::type_err(format!(
                    "transpose of {} is not defined: it is not linear",
                    self.op()
                )))
            }
        }
        Ok(())
    }

    /// JAX's `_scatter_batching_rule`.
    fn batch(&self, b: &Batching) -> Result<BatchOut> {
        let dn = &self.dimension_numbers;
        let up = |v: &[usize]| v.iter().map(|d| d + 1).collect::<Vec<_>>();
        let x = b.front(0)?;
        let u = b.front(2)?;
        if b.dims[1].is_none() {
            let p = ScatterParams {
                dimension_numbers: ScatterDimensionNumbers {
                    update_window_dims: [vec![0], up(&dn.update_window_dims)].concat(),
                    inserted_window_dims: up(&dn.inserted_window_dims),
                    scatter_dims_to_operand_dims: up(&dn.scatter_dims_to_operand_dims),
                    operand_batching_dims: up(&dn.operand_batching_dims),
                    scatter_indices_batching_dims: dn.scatter_indices_batching_dims.clone(),
                },
                ..self.clone()
            };
            return one(p.bind(&x, &b.args[1], &u)?, 0);
        }
        let i = b.front(1)?;
        let p = ScatterParams {
            dimension_numbers: ScatterDimensionNumbers {
                update_window_dims: up(&dn.update_window_dims),
                inserted_window_dims: up(&dn.inserted_window_dims),
                scatter_dims_to_operand_dims: up(&dn.scatter_dims_to_operand_dims),
                operand_batching_dims: [vec![0], up(&dn.operand_batching_dims)].concat(),
                scatter_indices_batching_dims: [vec![0], up(&dn.scatter_indices_batching_dims)]
                    .concat(),
            },
            ..self.clone()
        };
        one(p.bind(&x, &i, &u)?, 0)
    }
}
