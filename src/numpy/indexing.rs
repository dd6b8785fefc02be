//! NumPy-style indexing (`x[1:, ::2, None]`, integer-array and static boolean-mask indices) and
//! JAX's functional updates `x.at[idx].set / add / multiply / min / max / get`, with
//! `take_along_axis`, `put_along_axis` and `take` with modes.
//!
//! Spelling: `cranax::s![1.., ..;2, NewAxis, Ellipsis, -1]` builds the index list (`a..b;step`
//! is a slice with a step, as in ndarray's `s!`); `index(&x, &s![...])` is `x[...]` and
//! `x.at_idx(&s![...]).set(&v)` is `x.at[...].set(v)`.
//!
//! Lowering follows JAX: static basic indices (integers, slices, `None`, `...`) become `slice`,
//! `squeeze` and `broadcast_in_dim` (a negative step reverses by a gather until cranax has
//! `rev`); integer arrays become one `gather` (`PROMISE_IN_BOUNDS` after negative indices are
//! wrapped, as `x[i]` in JAX). Updates by integer arrays (with integers and whole slices) are
//! one scatter at the stacked indices, as JAX writes them; other updates scatter into the
//! flattened array at the positions the same index selects in `arange(x.size)`. Updates drop
//! out-of-range indices (`FILL_OR_DROP`) by default.

use crate::array::Array;
use crate::core::error::{Error, Result};
use crate::dtype::DType;
use crate::lax::{self, GatherDimensionNumbers, GatherOptions, GatherScatterMode};
use crate::lax::{ScatterDimensionNumbers, ScatterKind, ScatterOptions};

/// One item of a NumPy index.
#[derive(Clone, Debug)]
pub enum Index {
    /// An integer (negative counts from the end); drops the axis.
    Int(i64),
    /// `start:stop:step` with Python's defaults for `None`.
    Slice {
        /// First element (`None`: the start in the step's direction).
        start: Option<i64>,
        /// One past the last (`None`: the end in the step's direction).
        stop: Option<i64>,
        /// The step (not 0).
        step: i64,
    },
    /// `None` / `jnp.newaxis`: a new axis of size 1.
    NewAxis,
    /// `...`: as many full slices as the other items leave.
    Ellipsis,
    /// An integer array (advanced indexing) or a concrete boolean mask.
    Array(Array),
}

/// `None` / `jnp.newaxis` in an index.
#[derive(Clone, Copy, Debug)]
pub struct NewAxis;

/// `...` in an index.
#[derive(Clone, Copy, Debug)]
pub struct Ellipsis;

impl Index {
    /// Python's `start:stop:step` (`Index::slice(Some(2), Some(0), -1)` is `2:0:-1`, which as a
    /// Rust range `2..0` reads as empty).
    pub fn slice(start: Option<i64>, stop: Option<i64>, step: i64) -> Index {
        Index::Slice { start, stop, step }
    }

    /// This slice with `step` (an integer index cannot take one).
    pub fn with_step(self, step: i64) -> Index {
        match self {
            Index::Slice { start, stop, .. } => Index::Slice { start, stop, step },
            other => other,
        }
    }
}

impl From<NewAxis> for Index {
    fn from(_: NewAxis) -> Index {
        Index::NewAxis
    }
}
impl From<Ellipsis> for Index {
    fn from(_: Ellipsis) -> Index {
        Index::Ellipsis
    }
}
impl From<Array> for Index {
    fn from(a: Array) -> Index {
        Index::Array(a)
    }
}
impl From<&Array> for Index {
    fn from(a: &Array) -> Index {
        Index::Array(a.clone())
    }
}
impl From<std::ops::RangeFull> for Index {
    fn from(_: std::ops::RangeFull) -> Index {
        Index::Slice {
            start: None,
            stop: None,
            step: 1,
        }
    }
}

macro_rules! int_index {
    ($($t:ty),*) => {$(
        impl From<$t> for Index {
            fn from(i: $t) -> Index {
                Index::Int(i as i64)
            }
        }
        impl From<std::ops::Range<$t>> for Index {
            fn from(r: std::ops::Range<$t>) -> Index {
                Index::Slice { start: Some(r.start as i64), stop: Some(r.end as i64), step: 1 }
            }
        }
        impl From<std::ops::RangeFrom<$t>> for Index {
            fn from(r: std::ops::RangeFrom<$t>) -> Index {
                Index::Slice { start: Some(r.start as i64), stop: None, step: 1 }
            }
        }
        impl From<std::ops::RangeTo<$t>> for Index {
            fn from(r: std::ops::RangeTo<$t>) -> Index {
                Index::Slice { start: None, stop: Some(r.end as i64), step: 1 }
            }
        }
        impl From<std::ops::RangeInclusive<$t>> for Index {
            fn from(r: std::ops::RangeInclusive<$t>) -> Index {
                let stop = *r.end() as i64 + 1;
                Index::Slice { start: Some(*r.start() as i64), stop: (stop != 0).then_some(stop), step: 1 }
            }
        }
    )*};
}
int_index!(i32, i64, isize, usize);

/// A NumPy index: `s![1.., ..;2, NewAxis, Ellipsis, -1, &idx]`, an array of [`Index`] (each
/// item converts into one; `range;step` gives a slice a step, Python's meaning:
/// `s![..;-1]` reverses).
#[macro_export]
macro_rules! s {
    ($($item:expr $(; $step:expr)?),* $(,)?) => {
        [$({
            let i = $crate::numpy::Index::from($item);
            $(let i = i.with_step($step as i64);)?
            i
        }),*]
    };
}

fn index_err(msg: String) -> Error {
    Error::value_err(msg)
}

/// Python's `slice(start, stop, step).indices(n)` as the elements it picks: `(first, count,
/// stop)`.
pub(crate) fn slice_range(
    start: Option<i64>,
    stop: Option<i64>,
    step: i64,
    n: usize,
) -> Result<(i64, usize, i64)> {
    if step == 0 {
        return Err(index_err("slice step cannot be zero".into()));
    }
    let n = n as i64;
    let norm = |v: i64, lo: i64, hi: i64| {
        let v = if v < 0 { v + n } else { v };
        v.clamp(lo, hi)
    };
    let (start, stop) = if step > 0 {
        (
            start.map_or(0, |s| norm(s, 0, n)),
            stop.map_or(n, |s| norm(s, 0, n)),
        )
    } else {
        (
            start.map_or(n - 1, |s| norm(s, -1, n - 1)),
            stop.map_or(-1, |s| norm(s, -1, n - 1)),
        )
    };
    let count = if step > 0 {
        ((stop - start + step - 1) / step).max(0)
    } else {
        ((start - stop - step - 1) / -step).max(0)
    };
    Ok((start, count as usize, stop))
}

/// The items with `...` expanded and boolean masks turned into their integer arrays (one
/// per mask axis, from the concrete mask's nonzero positions).
fn expand(x_ndim: usize, idx: &[Index]) -> Result<Vec<Index>> {
    let mut items = Vec::new();
    for i in idx {
        match i {
            Index::Array(a) if a.dtype() == DType::Bool => {
                let mask = a.as_slice::<bool>().map_err(|_| {
                    Error::Concretization(
                        "a boolean index must be concrete (its size decides the result's shape); use where() instead".into(),
                    )
                })?;
                let shape = a.shape().to_vec();
                let strides = crate::prims::shape::strides(&shape);
                let hits: Vec<usize> = (0..mask.len()).filter(|&k| mask[k]).collect();
                for (d, s) in strides.iter().enumerate() {
                    let pos: Vec<i32> = hits.iter().map(|&k| ((k / s) % shape[d]) as i32).collect();
                    items.push(Index::Array(Array::from_vec(pos, &[hits.len()])?));
                }
            }
            other => items.push(other.clone()),
        }
    }
    let ellipses = items
        .iter()
        .filter(|i| matches!(i, Index::Ellipsis))
        .count();
    if ellipses > 1 {
        return Err(index_err(
            "an index can only have a single ellipsis ('...')".into(),
        ));
    }
    let used = items
        .iter()
        .filter(|i| !matches!(i, Index::NewAxis | Index::Ellipsis))
        .count();
    if used > x_ndim {
        return Err(index_err(format!(
            "Too many indices: {x_ndim}-dimensional array indexed with {used} regular indices."
        )));
    }
    let fill = || Index::Slice {
        start: None,
        stop: None,
        step: 1,
    };
    let mut out = Vec::new();
    for i in items {
        if matches!(i, Index::Ellipsis) {
            out.extend((0..x_ndim - used).map(|_| fill()));
        } else {
            out.push(i);
        }
    }
    if ellipses == 0 {
        out.extend((0..x_ndim - used).map(|_| fill()));
    }
    Ok(out)
}

/// A static integer index normalised into `[0, n)`, or JAX's IndexError wording.
fn norm_int(i: i64, axis: usize, n: usize) -> Result<usize> {
    let j = if i < 0 { i + n as i64 } else { i };
    if j < 0 || j >= n as i64 {
        return Err(index_err(format!(
            "index {i} is out of bounds for axis {axis} with size {n}"
        )));
    }
    Ok(j as usize)
}

/// Integer array indices with negative entries wrapped (`lt`, `add`, `select_n`, as JAX).
fn wrap_negative(i: &Array, n: usize) -> Result<Array> {
    if !i.dtype().is_int() {
        return Err(Error::type_err(format!(
            "Indexer must have integer or boolean type, got indexer with type {}",
            i.dtype().numpy_name()
        )));
    }
    if i.dtype().is_unsigned_int() {
        return Ok(i.clone());
    }
    let neg = lax::lt(i, &lax::scalar_like(i, 0.0))?;
    let up = lax::add(i, &lax::scalar_like(i, n as f64))?;
    lax::select(&neg, &up, i)
}

/// `x[idx]` as NumPy and JAX define it.
///
/// # Errors
/// JAX's IndexError / TypeError wording: too many indices, an integer out of bounds, a
/// non-integer indexer, a traced boolean mask.
pub fn index(x: &Array, idx: &[Index]) -> Result<Array> {
    index_mode(x, idx, GatherOptions::default())
}

/// `x.at[idx].get(mode=...)`: [`index`] with the gather's mode and fill value.
///
/// # Errors
/// As [`index`].
pub fn index_mode(x: &Array, idx: &[Index], opts: GatherOptions) -> Result<Array> {
    let items = expand(x.ndim(), idx)?;
    let has_array = items.iter().any(|i| matches!(i, Index::Array(_)));
    // Basic part: slices and static integers (integers count as advanced next to arrays).
    let mut y = x.clone();
    let (mut start, mut limit, mut strides) = (vec![], vec![], vec![]);
    let mut reversed = vec![];
    let mut squeeze = vec![];
    let mut out_newaxes = vec![]; // positions (in the result before advanced indexing)
    let mut advanced: Vec<(usize, Array)> = vec![]; // (axis of y, indices)
    let mut axis = 0;
    let mut kept = 0; // axes of the result so far
    for i in &items {
        match i {
            Index::NewAxis => {
                out_newaxes.push(kept);
                kept += 1;
            }
            Index::Ellipsis => unreachable!("expanded"),
            Index::Int(k) => {
                let n = x.shape()[axis];
                let j = norm_int(*k, axis, n)?;
                if has_array {
                    start.push(0);
                    limit.push(n);
                    strides.push(1);
                    advanced.push((axis, Array::scalar(j as i32)));
                    kept += 1;
                } else {
                    start.push(j);
                    limit.push(j + 1);
                    strides.push(1);
                    squeeze.push(axis);
                }
                axis += 1;
            }
            Index::Slice {
                start: s,
                stop: e,
                step,
            } => {
                let n = x.shape()[axis];
                let (first, count, stop) = slice_range(*s, *e, *step, n)?;
                if count == 0 {
                    start.push(0);
                    limit.push(0);
                    strides.push(1);
                } else if *step > 0 {
                    // JAX's limit is the slice's stop.
                    start.push(first as usize);
                    limit.push(stop as usize);
                    strides.push(*step as usize);
                } else {
                    let last = first + (count as i64 - 1) * step;
                    start.push(last as usize);
                    limit.push(first as usize + 1);
                    strides.push((-step) as usize);
                    reversed.push(axis);
                }
                axis += 1;
                kept += 1;
            }
            Index::Array(a) => {
                let n = x.shape()[axis];
                start.push(0);
                limit.push(n);
                strides.push(1);
                advanced.push((axis, wrap_negative(a, n)?));
                axis += 1;
                kept += 1;
            }
        }
    }
    let full = start.iter().all(|&s| s == 0)
        && limit.iter().zip(x.shape()).all(|(l, n)| l == n)
        && strides.iter().all(|&s| s == 1);
    if !full {
        let st = strides.iter().any(|&s| s != 1).then_some(&strides[..]);
        y = lax::slice(&y, &start, &limit, st)?;
    }
    for &d in &reversed {
        y = reverse_axis(&y, d)?;
    }
    if !squeeze.is_empty() {
        y = lax::squeeze(&y, &squeeze)?;
    }
    if !advanced.is_empty() {
        if !out_newaxes.is_empty() {
            return Err(index_err(
                "indexing with both None and integer arrays is not supported yet".into(),
            ));
        }
        y = advanced_gather(&y, &advanced, opts)?;
    }
    if !out_newaxes.is_empty() {
        let rank = y.ndim() + out_newaxes.len();
        let mut shape = Vec::with_capacity(rank);
        let mut dims = Vec::new();
        let mut src = y.shape().iter();
        for d in 0..rank {
            if out_newaxes.contains(&d) {
                shape.push(1);
            } else {
                shape.push(*src.next().expect("rank"));
                dims.push(d);
            }
        }
        y = lax::broadcast_in_dim(&y, &shape, &dims)?;
    }
    Ok(y)
}

/// `x` reversed along `axis` (a gather of `n-1, ..., 0`; `rev` once cranax has it).
fn reverse_axis(x: &Array, axis: usize) -> Result<Array> {
    let n = x.shape()[axis];
    let idx: Vec<i32> = (0..n as i32).rev().collect();
    lax::take_along(
        x,
        &Array::from_vec(idx, &[n])?,
        axis,
        GatherScatterMode::PromiseInBounds,
    )
}

/// How a gather (or the scatter writing there) reaches the advanced indices `(axis, indices)`
/// of an array of `shape` with its other axes kept whole: the indices broadcast together and
/// stacked as index vectors; their result axes where the first advanced axis was when they
/// are adjacent, else first (NumPy's rule).
struct AdvancedPlan {
    indices: Array,
    dn: GatherDimensionNumbers,
    sizes: Vec<usize>,
    out_shape: Vec<usize>,
}

fn advanced_plan(shape: &[usize], adv: &[(usize, Array)]) -> Result<AdvancedPlan> {
    let shapes: Vec<&[usize]> = adv.iter().map(|(_, a)| a.shape()).collect();
    let b = broadcast_shapes(&shapes)?;
    let cols = adv
        .iter()
        .map(|(_, a)| {
            let a = lax::convert_element_type(a, DType::I32)?;
            let a = lax::broadcast_to_rank(&a, &b)?;
            let mut s = b.clone();
            s.push(1);
            lax::broadcast_in_dim(&a, &s, &(0..b.len()).collect::<Vec<_>>())
        })
        .collect::<Result<Vec<_>>>()?;
    let indices = if cols.len() == 1 {
        cols[0].clone()
    } else {
        lax::concatenate(&cols, b.len())?
    };
    let axes: Vec<usize> = adv.iter().map(|(d, _)| *d).collect();
    let adjacent = axes.windows(2).all(|w| w[1] == w[0] + 1);
    let others: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let at = if adjacent {
        others.iter().filter(|&&d| d < axes[0]).count()
    } else {
        0
    };
    let offset_dims: Vec<usize> = (0..others.len())
        .map(|k| if k < at { k } else { k + b.len() })
        .collect();
    let mut out_shape: Vec<usize> = others.iter().map(|&d| shape[d]).collect();
    out_shape.splice(at..at, b.iter().copied());
    let mut sorted = axes.clone();
    sorted.sort_unstable();
    let sizes: Vec<usize> = (0..shape.len())
        .map(|d| if axes.contains(&d) { 1 } else { shape[d] })
        .collect();
    let dn = GatherDimensionNumbers {
        offset_dims,
        collapsed_slice_dims: sorted,
        start_index_map: axes,
        ..Default::default()
    };
    Ok(AdvancedPlan {
        indices,
        dn,
        sizes,
        out_shape,
    })
}

/// One gather for the advanced indices `(axis, indices)` of `y` (other axes kept whole).
fn advanced_gather(y: &Array, adv: &[(usize, Array)], opts: GatherOptions) -> Result<Array> {
    let p = advanced_plan(y.shape(), adv)?;
    lax::gather(y, &p.indices, &p.dn, &p.sizes, opts)
}

/// The advanced indices of an index made only of integer arrays, integers and whole slices
/// (the form JAX scatters at directly), with negative entries wrapped; `None` otherwise.
fn only_advanced(x: &Array, items: &[Index]) -> Result<Option<Vec<(usize, Array)>>> {
    if !items.iter().any(|i| matches!(i, Index::Array(_))) {
        return Ok(None);
    }
    let mut adv = vec![];
    for (axis, i) in items.iter().enumerate() {
        let n = x.shape()[axis];
        match i {
            Index::Array(a) => adv.push((axis, wrap_negative(a, n)?)),
            Index::Int(k) => adv.push((axis, Array::scalar(norm_int(*k, axis, n)? as i32))),
            Index::Slice { start, stop, step } => {
                let (first, count, _) = slice_range(*start, *stop, *step, n)?;
                if !(first == 0 && count == n && *step == 1) {
                    return Ok(None);
                }
            }
            Index::NewAxis | Index::Ellipsis => return Ok(None),
        }
    }
    Ok(Some(adv))
}

/// NumPy's broadcast of shapes.
fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1; rank];
    for s in shapes {
        for (k, &n) in s.iter().enumerate() {
            let o = &mut out[rank - s.len() + k];
            if *o == 1 {
                *o = n;
            } else if n != 1 && n != *o {
                return Err(Error::value_err(format!(
                    "Incompatible shapes for broadcasting: shapes={}",
                    shapes
                        .iter()
                        .map(|s| crate::core::error::shape_str(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    Ok(out)
}

/// `x.at[idx]`: JAX's functional updates.
#[derive(Debug)]
pub struct At<'a> {
    x: &'a Array,
    idx: Vec<Index>,
    mode: Option<GatherScatterMode>,
    fill_value: Option<f64>,
}

impl Array {
    /// `x.at[idx]` (JAX's `.at` property; `x.at(i)` is `x[i]`): `.get()`, `.set(v)`, `.add(v)`, `.multiply(v)`,
    /// `.min(v)`, `.max(v)`.
    pub fn at_idx(&self, idx: &[Index]) -> At<'_> {
        At {
            x: self,
            idx: idx.to_vec(),
            mode: None,
            fill_value: None,
        }
    }
}

impl At<'_> {
    /// The `mode=` of the update (default: `FILL_OR_DROP`, out-of-range updates dropped;
    /// `get` defaults to `FILL_OR_DROP` too, as JAX's `.at[].get()`).
    pub fn mode(mut self, mode: GatherScatterMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// The `fill_value=` of `get` under `FILL_OR_DROP`.
    pub fn fill_value(mut self, v: f64) -> Self {
        self.fill_value = Some(v);
        self
    }

    /// `x.at[idx].get()`.
    ///
    /// # Errors
    /// As [`index`].
    pub fn get(&self) -> Result<Array> {
        index_mode(
            self.x,
            &self.idx,
            GatherOptions {
                mode: self.mode.unwrap_or(GatherScatterMode::FillOrDrop),
                fill_value: self.fill_value,
                ..GatherOptions::default()
            },
        )
    }

    fn update(&self, kind: ScatterKind, v: &Array) -> Result<Array> {
        let x = self.x;
        let mode = self.mode.unwrap_or(GatherScatterMode::FillOrDrop);
        // Positions the index selects, in the flattened x (-1 where it falls outside).
        let v = lax::convert_element_type(v, x.dtype())?;
        let broadcast = |v: &Array, shape: &[usize]| {
            lax::broadcast_to_rank(v, shape).map_err(|_| {
                Error::value_err(format!(
                    "Incompatible shapes for broadcasting: shapes={}, {}",
                    crate::core::error::shape_str(v.shape()),
                    crate::core::error::shape_str(shape)
                ))
            })
        };
        // Integer arrays (and integers, whole slices): one scatter at the stacked indices,
        // as JAX writes it.
        if let Some(adv) = only_advanced(x, &expand(x.ndim(), &self.idx)?)? {
            let p = advanced_plan(x.shape(), &adv)?;
            let v = broadcast(&v, &p.out_shape)?;
            let opts = ScatterOptions {
                mode,
                ..ScatterOptions::default()
            };
            return lax::scatter_kind(kind, x, &p.indices, &v, &p.dn.to_scatter(), opts);
        }
        let n = x.size();
        if n == 0 {
            return Ok(x.clone());
        }
        let pos = lax::reshape(&lax::iota(DType::I32, &[n], 0)?, x.shape())?;
        let pos = index_mode(
            &pos,
            &self.idx,
            GatherOptions {
                mode: if mode == GatherScatterMode::Clip {
                    GatherScatterMode::Clip
                } else {
                    GatherScatterMode::FillOrDrop
                },
                fill_value: Some(-1.0),
                ..GatherOptions::default()
            },
        )?;
        let v = broadcast(&v, pos.shape())?;
        let flat = lax::reshape(x, &[n])?;
        let mut s = pos.shape().to_vec();
        s.push(1);
        let idx = lax::broadcast_in_dim(&pos, &s, &(0..pos.ndim()).collect::<Vec<_>>())?;
        let dn = ScatterDimensionNumbers {
            inserted_window_dims: vec![0],
            scatter_dims_to_operand_dims: vec![0],
            ..Default::default()
        };
        let opts = ScatterOptions {
            mode: GatherScatterMode::FillOrDrop,
            ..ScatterOptions::default()
        };
        let out = lax::scatter_kind(kind, &flat, &idx, &v, &dn, opts)?;
        lax::reshape(&out, x.shape())
    }

    /// `x.at[idx].set(v)`.
    ///
    /// # Errors
    /// As [`index`], and values that do not broadcast to the indexed shape.
    pub fn set(&self, v: &Array) -> Result<Array> {
        self.update(ScatterKind::Replace, v)
    }
    /// `x.at[idx].add(v)` (repeated indices accumulate).
    ///
    /// # Errors
    /// As [`At::set`].
    pub fn add(&self, v: &Array) -> Result<Array> {
        self.update(ScatterKind::Add, v)
    }
    /// `x.at[idx].multiply(v)`.
    ///
    /// # Errors
    /// As [`At::set`].
    pub fn multiply(&self, v: &Array) -> Result<Array> {
        self.update(ScatterKind::Mul, v)
    }
    /// `x.at[idx].min(v)`.
    ///
    /// # Errors
    /// As [`At::set`].
    pub fn min(&self, v: &Array) -> Result<Array> {
        self.update(ScatterKind::Min, v)
    }
    /// `x.at[idx].max(v)`.
    ///
    /// # Errors
    /// As [`At::set`].
    pub fn max(&self, v: &Array) -> Result<Array> {
        self.update(ScatterKind::Max, v)
    }
}

/// The dimension numbers of `take_along_axis` on rank `r` along `axis`: every other axis a
/// batching axis, as JAX 0.10 writes it.
fn along_axis_dims(r: usize, axis: usize) -> GatherDimensionNumbers {
    let others: Vec<usize> = (0..r).filter(|&d| d != axis).collect();
    GatherDimensionNumbers {
        offset_dims: vec![],
        collapsed_slice_dims: vec![axis],
        start_index_map: vec![axis],
        operand_batching_dims: others.clone(),
        start_indices_batching_dims: others,
    }
}

/// `indices` (wrapped, broadcast to `x`'s shape off `axis`) with the index vector axis.
fn along_axis_indices(x: &Array, indices: &Array, axis: usize, name: &str) -> Result<Array> {
    if indices.ndim() != x.ndim() {
        return Err(Error::value_err(format!(
            "{name}: indices and arr must have the same number of dimensions; {} vs. {}",
            indices.ndim(),
            x.ndim()
        )));
    }
    let mut shape = x.shape().to_vec();
    shape[axis] = indices.shape()[axis];
    let i = wrap_negative(indices, x.shape()[axis])?;
    let i = lax::convert_element_type(&i, DType::I32)?;
    let i = if i.shape() == &shape[..] {
        i
    } else {
        lax::broadcast_to_rank(&i, &shape)?
    };
    let mut s = shape.clone();
    s.push(1);
    lax::reshape(&i, &s)
}

/// `jnp.take_along_axis(x, indices, axis)` (out-of-range indices give the fill value).
///
/// # Errors
/// An axis out of range, or indices of another rank.
pub fn take_along_axis(x: &Array, indices: &Array, axis: isize) -> Result<Array> {
    let axis = super::normalize_axes("take_along_axis", Some(&[axis]), x.ndim())?[0];
    let i = along_axis_indices(x, indices, axis, "take_along_axis")?;
    let opts = GatherOptions {
        mode: GatherScatterMode::FillOrDrop,
        fill_value: Some(crate::prims::shape::default_fill(x.dtype())),
        ..GatherOptions::default()
    };
    lax::gather(
        x,
        &i,
        &along_axis_dims(x.ndim(), axis),
        &vec![1; x.ndim()],
        opts,
    )
}

/// `jnp.put_along_axis(x, indices, values, axis, inplace=False)`: `x` with `values` written
/// at `indices` along `axis` (out-of-range ones dropped).
///
/// # Errors
/// As [`take_along_axis`], and values that do not broadcast to the indices' shape.
pub fn put_along_axis(x: &Array, indices: &Array, values: &Array, axis: isize) -> Result<Array> {
    let axis = super::normalize_axes("put_along_axis", Some(&[axis]), x.ndim())?[0];
    let i = along_axis_indices(x, indices, axis, "put_along_axis")?;
    let shape = &i.shape()[..x.ndim()];
    let v = lax::convert_element_type(values, x.dtype())?;
    let v = lax::broadcast_to_rank(&v, shape)?;
    let dn = along_axis_dims(x.ndim(), axis).to_scatter();
    lax::scatter(x, &i, &v, &dn, ScatterOptions::default())
}

/// How `take` treats out-of-range indices (`jnp.take`'s `mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TakeMode {
    /// `"fill"` (the default): negative indices wrap once, others out of range read the fill.
    Fill,
    /// `"clip"`: clamped into range.
    Clip,
    /// `"wrap"`: taken modulo the axis size.
    Wrap,
}

/// `jnp.take(x, indices, axis, mode)`.
///
/// # Errors
/// An axis out of range or non-integer indices.
pub fn take_mode(x: &Array, indices: &Array, axis: isize, mode: TakeMode) -> Result<Array> {
    let axis = super::normalize_axes("take", Some(&[axis]), x.ndim())?[0];
    if !indices.dtype().is_int() {
        return Err(Error::type_err(format!(
            "take: indices must be integers, got {}",
            indices.dtype().numpy_name()
        )));
    }
    let n = x.shape()[axis];
    match mode {
        TakeMode::Clip => lax::take_along(x, indices, axis, GatherScatterMode::Clip),
        TakeMode::Wrap => {
            let i = super::remainder(indices, Array::scalar(n.max(1) as i32));
            lax::take_along(x, &i, axis, GatherScatterMode::PromiseInBounds)
        }
        TakeMode::Fill => {
            let i = wrap_negative(indices, n)?;
            let mut idx_shape = i.shape().to_vec();
            idx_shape.push(1);
            let idx = lax::broadcast_in_dim(&i, &idx_shape, &(0..i.ndim()).collect::<Vec<_>>())?;
            let mut sizes = x.shape().to_vec();
            sizes[axis] = 1;
            let ni = i.ndim();
            let dn = GatherDimensionNumbers {
                offset_dims: (0..axis).chain(axis + ni..x.ndim() - 1 + ni).collect(),
                collapsed_slice_dims: vec![axis],
                start_index_map: vec![axis],
                ..Default::default()
            };
            let opts = GatherOptions {
                mode: GatherScatterMode::FillOrDrop,
                fill_value: Some(crate::prims::shape::default_fill(x.dtype())),
                ..GatherOptions::default()
            };
            lax::gather(x, &idx, &dn, &sizes, opts)
        }
    }
}
