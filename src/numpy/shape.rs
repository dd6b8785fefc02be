//! Shape and layout functions of `jax.numpy` (issue 13 item 4): flipping, rolling, tiling,
//! repeating, splitting, stacking, triangles and diagonals, grids, padding modes and tensor
//! products. Each is a composite of lax primitives, written as JAX writes it (`roll` is slices
//! and a concatenate, `tile` a broadcast and a reshape, `flip` one `rev`), so its jaxpr,
//! derivatives and batching come from those primitives.
//!
//! Like the rest of `numpy`, these return `Array` and panic with an `Error` on bad input (caught
//! and returned as `Err` inside transformations); axes are `isize`, negative from the end.

use super::{normalize_axes, AsArray, Index};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{or_raise, shape_str, Error, Result};
use crate::dtype::DType;
use crate::lax;

/// One axis, negative from the end, checked against `rank`.
pub(crate) fn axis_index(name: &str, axis: isize, rank: usize) -> Result<usize> {
    let a = if axis < 0 { axis + rank as isize } else { axis };
    if a < 0 || a as usize >= rank {
        return Err(Error::value_err(format!(
            "{name}: axis {axis} is out of bounds for array of dimension {rank}"
        )));
    }
    Ok(a as usize)
}

/// `x[start:stop]` along `axis`.
fn slice_axis(x: &Array, axis: usize, start: usize, stop: usize) -> Result<Array> {
    let mut lo = vec![0; x.ndim()];
    let mut hi = x.shape().to_vec();
    lo[axis] = start;
    hi[axis] = stop;
    lax::slice(x, &lo, &hi, None)
}

/// `jnp.flip(x, axis)`: the elements in reverse order along `axis` (`None`: every axis), one
/// `rev`.
pub fn flip(x: impl AsArray, axis: Option<&[isize]>) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let dims = normalize_axes("flip", axis, x.ndim())?;
        lax::rev(&x, &dims)
    })())
}

/// `jnp.fliplr`: flip along axis 1.
pub fn fliplr(x: impl AsArray) -> Array {
    let x = x.as_array();
    if x.ndim() < 2 {
        or_raise::<()>(Err(Error::value_err(format!(
            "fliplr: the array must be at least 2-D, got shape {}",
            shape_str(x.shape())
        ))));
    }
    flip(x, Some(&[1]))
}

/// `jnp.flipud`: flip along axis 0.
pub fn flipud(x: impl AsArray) -> Array {
    let x = x.as_array();
    if x.ndim() < 1 {
        or_raise::<()>(Err(Error::value_err(
            "flipud: the array must be at least 1-D, got shape ()",
        )));
    }
    flip(x, Some(&[0]))
}

/// `jnp.swapaxes(x, axis1, axis2)`: a transpose exchanging two axes.
pub fn swapaxes(x: impl AsArray, axis1: isize, axis2: isize) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let a = axis_index("swapaxes", axis1, x.ndim())?;
        let b = axis_index("swapaxes", axis2, x.ndim())?;
        let mut perm: Vec<usize> = (0..x.ndim()).collect();
        perm.swap(a, b);
        lax::transpose(&x, &perm)
    })())
}

/// `jnp.moveaxis(x, source, destination)`: the axes `source` moved to positions
/// `destination`, the others keeping their order.
pub fn moveaxis(x: impl AsArray, source: &[isize], destination: &[isize]) -> Array {
    let x = x.as_array();
    or_raise((|| {
        if source.len() != destination.len() {
            return Err(Error::value_err(format!(
                "moveaxis: Inconsistent number of elements: {} vs {}",
                source.len(),
                destination.len()
            )));
        }
        let n = x.ndim();
        let src = source
            .iter()
            .map(|&a| axis_index("moveaxis", a, n))
            .collect::<Result<Vec<_>>>()?;
        let dst = destination
            .iter()
            .map(|&a| axis_index("moveaxis", a, n))
            .collect::<Result<Vec<_>>>()?;
        let mut perm: Vec<usize> = (0..n).filter(|d| !src.contains(d)).collect();
        let mut pairs: Vec<(usize, usize)> = dst.into_iter().zip(src).collect();
        pairs.sort_unstable();
        for (d, s) in pairs {
            perm.insert(d, s);
        }
        lax::transpose(&x, &perm)
    })())
}

/// `jnp.ravel(x)`: the elements as a 1-D array, row-major.
pub fn ravel(x: impl AsArray) -> Array {
    let x = x.as_array();
    or_raise(lax::reshape(&x, &[x.size()]))
}

/// `x` reshaped to at least `rank` axes: `shape` with size-1 axes where NumPy puts them
/// (`atleast_2d` before, `atleast_3d` around a 1-D array and after a 2-D one).
fn atleast(x: Array, rank: usize) -> Array {
    let s = x.shape().to_vec();
    let shape: Vec<usize> = match (rank, s.len()) {
        (_, n) if n >= rank => return x,
        (3, 1) => vec![1, s[0], 1],
        (3, 2) => vec![s[0], s[1], 1],
        (_, n) => std::iter::repeat_n(1, rank - n).chain(s).collect(),
    };
    or_raise(lax::reshape(&x, &shape))
}

/// `jnp.atleast_1d`: a scalar becomes shape `(1,)`.
pub fn atleast_1d(x: impl AsArray) -> Array {
    atleast(x.as_array(), 1)
}

/// `jnp.atleast_2d`: size-1 axes in front up to rank 2.
pub fn atleast_2d(x: impl AsArray) -> Array {
    atleast(x.as_array(), 2)
}

/// `jnp.atleast_3d`: `(n,)` becomes `(1, n, 1)`, `(m, n)` becomes `(m, n, 1)`.
pub fn atleast_3d(x: impl AsArray) -> Array {
    atleast(x.as_array(), 3)
}

/// `jnp.roll(x, shift, axis)`: elements shifted by `shift[i]` along `axis[i]`, wrapping
/// around (`axis` `None`: of the flattened array, reshaped back). One `shift` with several axes,
/// or one axis with several shifts, broadcasts. As JAX: each axis a slice of the tail and of the
/// head, concatenated.
pub fn roll(x: impl AsArray, shift: &[isize], axis: Option<&[isize]>) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let (flat, axes): (Array, Vec<isize>) = match axis {
            None => (lax::reshape(&x, &[x.size()])?, vec![0]),
            Some(a) => (x.clone(), a.to_vec()),
        };
        let n = shift.len().max(axes.len());
        let ok = |len: usize| len == n || len == 1;
        if !ok(shift.len()) || !ok(axes.len()) {
            return Err(Error::value_err(format!(
                "roll: shift {shift:?} and axis {axes:?} do not broadcast to one length"
            )));
        }
        let mut y = flat;
        for i in 0..n {
            let s = shift[i.min(shift.len() - 1)];
            let a = axis_index("roll", axes[i.min(axes.len() - 1)], y.ndim())?;
            let len = y.shape()[a];
            if len == 0 {
                continue;
            }
            let cut = (-s).rem_euclid(len as isize) as usize;
            if cut != 0 {
                let tail = slice_axis(&y, a, cut, len)?;
                let head = slice_axis(&y, a, 0, cut)?;
                y = lax::concatenate(&[tail, head], a)?;
            }
        }
        lax::reshape(&y, x.shape())
    })())
}

/// `jnp.tile(x, reps)`: `x` repeated `reps[i]` times along each axis (the shorter of `reps`
/// and the shape padded with leading 1s). A broadcast to `[r0, n0, r1, n1, ...]`, reshaped.
pub fn tile(x: impl AsArray, reps: &[usize]) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let rank = reps.len().max(x.ndim());
        let pad = |v: &[usize]| -> Vec<usize> {
            std::iter::repeat_n(1, rank - v.len())
                .chain(v.iter().copied())
                .collect()
        };
        let (shape, reps) = (pad(x.shape()), pad(reps));
        let xr = lax::reshape(&x, &shape)?;
        let wide: Vec<usize> = (0..rank).flat_map(|d| [reps[d], shape[d]]).collect();
        let dims: Vec<usize> = (0..rank).map(|d| 2 * d + 1).collect();
        let b = lax::broadcast_in_dim(&xr, &wide, &dims)?;
        let out: Vec<usize> = (0..rank).map(|d| reps[d] * shape[d]).collect();
        lax::reshape(&b, &out)
    })())
}

/// `jnp.repeat(x, repeats, axis)` with static repeats: each element repeated `repeats[0]`
/// times (one entry) or element `i` `repeats[i]` times (one entry per element along `axis`).
/// `axis` `None` repeats the flattened array. One count is a broadcast and a reshape; counts
/// per element a gather of the repeated indices.
pub fn repeat(x: impl AsArray, repeats: &[usize], axis: Option<isize>) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let (x, a) = match axis {
            None => (lax::reshape(&x, &[x.size()])?, 0),
            Some(a) => {
                let a = axis_index("repeat", a, x.ndim())?;
                (x, a)
            }
        };
        let n = x.shape()[a];
        match repeats {
            [r] => {
                let mut wide = x.shape().to_vec();
                wide.insert(a + 1, *r);
                let dims: Vec<usize> = (0..x.ndim()).map(|d| d + usize::from(d > a)).collect();
                let b = lax::broadcast_in_dim(&x, &wide, &dims)?;
                let mut out = x.shape().to_vec();
                out[a] *= r;
                lax::reshape(&b, &out)
            }
            rs if rs.len() == n => {
                let idx: Vec<i32> = rs
                    .iter()
                    .enumerate()
                    .flat_map(|(i, &r)| std::iter::repeat_n(i as i32, r))
                    .collect();
                let len = idx.len();
                lax::take_clamped(&x, &Array::from_vec(idx, &[len])?, a)
            }
            rs => Err(Error::value_err(format!(
                "repeat: repeats has {} entries; it must have one or one per element ({n}) along axis {a} of an array of shape {}",
                rs.len(),
                shape_str(x.shape())
            ))),
        }
    })())
}

/// How `split` cuts an axis: into `Sections(n)` parts, or at the given `Indices`.
#[derive(Clone, Copy, Debug)]
pub enum IndicesOrSections<'a> {
    /// This many parts.
    Sections(usize),
    /// Cut before each of these indices (nondecreasing, within the axis: JAX does not wrap
    /// negative ones).
    Indices(&'a [isize]),
}

/// The pieces of axis `a` of `x` cut at `bounds` (start 0 and end `n` included).
fn split_at(x: &Array, a: usize, bounds: &[usize]) -> Result<Vec<Array>> {
    bounds
        .windows(2)
        .map(|w| slice_axis(x, a, w[0], w[1]))
        .collect()
}

fn split_impl(x: &Array, s: IndicesOrSections, axis: isize, equal: bool) -> Result<Vec<Array>> {
    let name = if equal { "split" } else { "array_split" };
    let a = axis_index(name, axis, x.ndim())?;
    let n = x.shape()[a];
    let bounds: Vec<usize> = match s {
        IndicesOrSections::Sections(0) => {
            return Err(Error::value_err(format!(
                "{name}: number sections must be larger than 0."
            )))
        }
        IndicesOrSections::Sections(k) => {
            if equal && !n.is_multiple_of(k) {
                return Err(Error::value_err(format!(
                    "array split does not result in an equal division: {n} / {k}"
                )));
            }
            // The first n % k parts hold one element more, as NumPy's array_split.
            let (q, r) = (n / k, n % k);
            (0..=k).map(|i| i * q + i.min(r)).collect()
        }
        IndicesOrSections::Indices(ix) => {
            // As JAX (not NumPy): the indices are taken as they are, and the pieces between
            // them must not have negative sizes.
            let b: Vec<isize> = std::iter::once(0)
                .chain(ix.iter().copied())
                .chain(std::iter::once(n as isize))
                .collect();
            if b.windows(2).any(|w| w[1] < w[0]) {
                let sizes: Vec<isize> = b.windows(2).map(|w| w[1] - w[0]).collect();
                return Err(Error::value_err(format!(
                    "{name}: Sizes passed to split must be nonnegative, got {sizes:?}"
                )));
            }
            b.into_iter().map(|i| i as usize).collect()
        }
    };
    split_at(x, a, &bounds)
}

/// `jnp.split(x, indices_or_sections, axis)`: equal parts (an error if they are not) or the
/// pieces between the indices.
pub fn split(x: impl AsArray, indices_or_sections: IndicesOrSections, axis: isize) -> Vec<Array> {
    or_raise(split_impl(&x.as_array(), indices_or_sections, axis, true))
}

/// `jnp.array_split`: `split` that allows parts of unequal size (the first ones one longer).
pub fn array_split(
    x: impl AsArray,
    indices_or_sections: IndicesOrSections,
    axis: isize,
) -> Vec<Array> {
    or_raise(split_impl(&x.as_array(), indices_or_sections, axis, false))
}

/// `[m, n]` booleans: `j - i >= k` (`upper`) or `j - i <= k`, from two iotas.
fn tri_mask(m: usize, n: usize, k: isize, upper: bool) -> Result<Array> {
    let i = lax::iota(DType::I32, &[m, n], 0)?;
    let j = lax::iota(DType::I32, &[m, n], 1)?;
    let d = lax::sub(&j, &i)?;
    let k = Array::scalar(k as i32);
    let k = lax::broadcast_in_dim(&k, &[m, n], &[])?;
    if upper {
        lax::ge(&d, &k)
    } else {
        lax::le(&d, &k)
    }
}

fn tri_part(x: Array, k: isize, upper: bool) -> Array {
    let name = if upper { "triu" } else { "tril" };
    or_raise((|| {
        let r = x.ndim();
        if r < 2 {
            return Err(Error::value_err(format!(
                "{name}: the array must be at least 2-D, got shape {}",
                shape_str(x.shape())
            )));
        }
        let mask = tri_mask(x.shape()[r - 2], x.shape()[r - 1], k, upper)?;
        let mask = lax::broadcast_in_dim(&mask, x.shape(), &[r - 2, r - 1])?;
        let zeros = lax::zeros(&Aval::new(x.shape(), x.dtype()).weak(x.is_weak()))?;
        lax::select(&mask, &x, &zeros)
    })())
}

/// `jnp.tril(x, k)`: zeros above diagonal `k` of the last two axes.
pub fn tril(x: impl AsArray, k: isize) -> Array {
    tri_part(x.as_array(), k, false)
}

/// `jnp.triu(x, k)`: zeros below diagonal `k` of the last two axes.
pub fn triu(x: impl AsArray, k: isize) -> Array {
    tri_part(x.as_array(), k, true)
}

/// `jnp.diagonal(x, offset, axis1, axis2)`: elements `x[..., i, i + offset]` of the two axes,
/// which go, as the diagonal's axis, last. The two axes are moved last and merged, and the
/// diagonal is one strided slice of the merged axis (element `(i, j)` is `i * n + j`).
pub fn diagonal(x: impl AsArray, offset: isize, axis1: isize, axis2: isize) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let r = x.ndim();
        if r < 2 {
            return Err(Error::value_err(format!(
                "diagonal requires an array of at least two dimensions, got shape {}",
                shape_str(x.shape())
            )));
        }
        let a1 = axis_index("diagonal", axis1, r)?;
        let a2 = axis_index("diagonal", axis2, r)?;
        if a1 == a2 {
            return Err(Error::value_err(
                "diagonal: axis1 and axis2 must not be equal",
            ));
        }
        let (m, n) = (x.shape()[a1], x.shape()[a2]);
        let mut perm: Vec<usize> = (0..r).filter(|&d| d != a1 && d != a2).collect();
        perm.extend([a1, a2]);
        let y = lax::transpose(&x, &perm)?;
        let mut shape: Vec<usize> = y.shape()[..r - 2].to_vec();
        let (start, len) = if offset >= 0 {
            let o = offset as usize;
            (o, m.min(n.saturating_sub(o)))
        } else {
            let o = offset.unsigned_abs();
            (o * n, n.min(m.saturating_sub(o)))
        };
        shape.push(m * n);
        let flat = lax::reshape(&y, &shape)?;
        let batch = r - 2;
        let mut lo = vec![0; batch + 1];
        let mut hi = shape.clone();
        let mut st = vec![1; batch + 1];
        if len == 0 {
            hi[batch] = 0;
        } else {
            lo[batch] = start;
            hi[batch] = start + (len - 1) * (n + 1) + 1;
            st[batch] = n + 1;
        }
        lax::slice(&flat, &lo, &hi, Some(&st))
    })())
}

/// `jnp.diag(v, k)`: a 1-D `v` on diagonal `k` of a square matrix of zeros; the diagonal `k` of
/// a 2-D `v`.
pub fn diag(v: impl AsArray, k: isize) -> Array {
    let v = v.as_array();
    match v.ndim() {
        1 => or_raise((|| {
            let n = v.shape()[0];
            let size = n + k.unsigned_abs();
            // Pad v to the matrix's side, spread it along rows (k >= 0: v[i] at row i) or
            // columns (k < 0: v[j] at column j), and keep diagonal k.
            let zero = lax::scalar_like(&v, 0.0);
            let vp = lax::pad(&v, &zero, &[(0, size - n, 0)])?;
            let along = if k >= 0 { 0 } else { 1 };
            let spread = lax::broadcast_in_dim(&vp, &[size, size], &[along])?;
            let on_k = lax::and(
                &tri_mask(size, size, k, true)?,
                &tri_mask(size, size, k, false)?,
            )?;
            let zeros = lax::zeros(spread.aval())?;
            lax::select(&on_k, &spread, &zeros)
        })()),
        2 => diagonal(v, k, 0, 1),
        _ => or_raise(Err(Error::value_err(format!(
            "diag input must be 1d or 2d, got shape {}",
            shape_str(v.shape())
        )))),
    }
}

/// `jnp.trace(x, offset, axis1, axis2)`: the sum of `diagonal(x, offset, axis1, axis2)`.
pub fn trace(x: impl AsArray, offset: isize, axis1: isize, axis2: isize) -> Array {
    super::sum(diagonal(x, offset, axis1, axis2), Some(&[-1]), false)
}

/// `jnp.meshgrid(*xs, indexing=...)`: for 1-D `xs` of lengths `n_i`, each spread over the grid
/// of all of them. `"xy"` (Cartesian, NumPy's default) swaps the first two grid axes;
/// `"ij"` (matrix) keeps them in order.
pub fn meshgrid(xs: &[Array], indexing: &str) -> Vec<Array> {
    or_raise((|| {
        if indexing != "xy" && indexing != "ij" {
            return Err(Error::value_err(format!(
                "Valid values for indexing are 'xy' and 'ij', got {indexing}"
            )));
        }
        if let Some(x) = xs.iter().find(|x| x.ndim() != 1) {
            return Err(Error::value_err(format!(
                "Arguments to jax.numpy.meshgrid must be 1D, got shape {}",
                shape_str(x.shape())
            )));
        }
        let mut shape: Vec<usize> = xs.iter().map(|x| x.shape()[0]).collect();
        let mut dims: Vec<usize> = (0..xs.len()).collect();
        if indexing == "xy" && xs.len() >= 2 {
            shape.swap(0, 1);
            dims.swap(0, 1);
        }
        xs.iter()
            .zip(dims)
            .map(|(x, d)| lax::broadcast_in_dim(x, &shape, &[d]))
            .collect()
    })())
}

/// `jnp.hstack`: concatenate along axis 1 (axis 0 for 1-D arrays), scalars as 1-D.
pub fn hstack(xs: &[Array]) -> Array {
    let xs: Vec<Array> = xs.iter().map(atleast_1d).collect();
    let axis = if xs.first().is_some_and(|x| x.ndim() == 1) {
        0
    } else {
        1
    };
    super::concatenate(&xs, axis)
}

/// `jnp.vstack`: concatenate along axis 0, after `atleast_2d`.
pub fn vstack(xs: &[Array]) -> Array {
    let xs: Vec<Array> = xs.iter().map(atleast_2d).collect();
    super::concatenate(&xs, 0)
}

/// `jnp.column_stack`: 1-D arrays as columns, others after `atleast_2d`, along axis 1.
pub fn column_stack(xs: &[Array]) -> Array {
    let xs: Vec<Array> = xs
        .iter()
        .map(|x| {
            if x.ndim() < 2 {
                or_raise(lax::reshape(x, &[x.size(), 1]))
            } else {
                x.clone()
            }
        })
        .collect();
    super::concatenate(&xs, 1)
}

/// `jnp.dstack`: the `atleast_3d` forms concatenated along axis 2.
pub fn dstack(xs: &[Array]) -> Array {
    let xs: Vec<Array> = xs.iter().map(atleast_3d).collect();
    super::concatenate(&xs, 2)
}

/// `jnp.append(x, values, axis)`: `values` concatenated after `x` along `axis` (`None`: both
/// flattened first).
pub fn append(x: impl AsArray, values: impl AsArray, axis: Option<isize>) -> Array {
    let (x, v) = (x.as_array(), values.as_array());
    match axis {
        None => super::concatenate(&[ravel(x), ravel(v)], 0),
        Some(a) => super::concatenate(&[x, v], a),
    }
}

/// `x` and the axis `insert`/`delete` work along: `None` flattens `x` (axis 0).
fn flat_or_axis(name: &str, x: &Array, axis: Option<isize>) -> Result<(Array, usize)> {
    match axis {
        None => Ok((lax::reshape(x, &[x.size()])?, 0)),
        Some(a) => Ok((x.clone(), axis_index(name, a, x.ndim())?)),
    }
}

/// The elements a static slice `start:stop:step` picks from an axis of length `n`.
fn slice_positions(start: Option<i64>, stop: Option<i64>, step: i64, n: usize) -> Result<Vec<i64>> {
    let (first, count, _) = super::indexing::slice_range(start, stop, step, n)?;
    Ok((0..count as i64).map(|k| first + k * step).collect())
}

/// `[:, ..., :, i]` with `axis` full slices before the integer array `i`.
fn along(axis: usize, i: Array) -> Vec<Index> {
    let mut idx = vec![Index::from(..); axis];
    idx.push(Index::Array(i));
    idx
}

/// `jnp.delete(x, obj, axis)` with a static `obj` (`None` axis: of the flattened array): an
/// integer (the two slices around it, concatenated, as JAX), a slice (`Index::slice(..)`,
/// `1..4`) or a concrete array of integer indices (negative from the end, repeats allowed) or
/// a boolean mask of the axis' length; the kept elements are gathered, as JAX's `a[mask]`.
pub fn delete(x: impl AsArray, obj: impl Into<Index>, axis: Option<isize>) -> Array {
    let (x, obj) = (x.as_array(), obj.into());
    or_raise((|| {
        let (a, axis) = flat_or_axis("delete", &x, axis)?;
        let n = a.shape()[axis];
        let mut keep = vec![true; n];
        match obj {
            Index::Int(i) => {
                let i = axis_index("delete", i as isize, n)?;
                let parts = [slice_axis(&a, axis, 0, i)?, slice_axis(&a, axis, i + 1, n)?];
                return lax::concatenate(&parts, axis);
            }
            Index::Slice { start, stop, step } => {
                for p in slice_positions(start, stop, step, n)? {
                    keep[p as usize] = false;
                }
            }
            Index::Array(i) if !i.is_concrete() => {
                return Err(Error::Concretization(format!(
                    "traced array with shape {}\nThe error arose in 'obj' array argument of jnp.delete()",
                    i.aval()
                )));
            }
            Index::Array(i) if i.dtype() == DType::Bool => {
                if i.shape() != [n] {
                    return Err(Error::value_err(
                        "np.delete(arr, obj): for boolean indices, obj must be one-dimensional \
                         with length matching specified axis.",
                    ));
                }
                keep = i.to_vec::<bool>()?.iter().map(|m| !m).collect();
            }
            Index::Array(i) if i.dtype().is_int() => {
                for v in i.to_f64_vec()? {
                    let j = if v < 0.0 { v + n as f64 } else { v };
                    if j < 0.0 || j >= n as f64 {
                        return Err(Error::value_err(format!(
                            "index {v} is out of bounds for axis 0 with size {n}"
                        )));
                    }
                    keep[j as usize] = false;
                }
            }
            Index::Array(i) => {
                return Err(Error::value_err(format!(
                    "np.delete(arr, obj): got obj.dtype={}; must be integer or bool.",
                    i.dtype().numpy_name()
                )));
            }
            Index::NewAxis | Index::Ellipsis => {
                return Err(Error::type_err(
                    "np.delete(arr, obj): obj must be an integer, a slice or an array",
                ));
            }
        }
        let kept: Vec<i32> = (0..n as i32).filter(|&i| keep[i as usize]).collect();
        let len = kept.len();
        super::index(&a, &along(axis, Array::from_vec(kept, &[len])?))
    })())
}

/// `jnp.insert(x, obj, values, axis)`: `values` inserted before the positions `obj` along
/// `axis` (`None`: of the flattened array). `obj` is an integer (then `values`' first axis runs
/// along `axis`, as NumPy), a static slice, or an integer array of positions (traced ones
/// too), negative from the end and clipped to `0..=n`; `values` broadcast to the inserted
/// slices and take `x`'s dtype. JAX's algorithm: the inserted positions are the sorted
/// positions plus their ranks, and two scatters fill a zero array of the result's shape.
pub fn insert(
    x: impl AsArray,
    obj: impl Into<Index>,
    values: impl AsArray,
    axis: Option<isize>,
) -> Array {
    let (x, values, obj) = (x.as_array(), values.as_array(), obj.into());
    or_raise((|| {
        let (a, axis) = flat_or_axis("insert", &x, axis)?;
        let n_input = a.shape()[axis];
        let indices = match obj {
            Index::Int(i) => Array::scalar(i as i32),
            Index::Slice { start, stop, step } => {
                let p: Vec<i32> = slice_positions(start, stop, step, n_input)?
                    .into_iter()
                    .map(|p| p as i32)
                    .collect();
                let len = p.len();
                Array::from_vec(p, &[len])?
            }
            Index::Array(i) if i.ndim() > 1 || i.dtype().is_int() => i,
            Index::Array(i) => {
                return Err(Error::value_err(format!(
                    "jnp.insert(): index array must be integer typed; got {}",
                    i.aval()
                )))
            }
            other => {
                return Err(Error::value_err(format!(
                    "jnp.insert(): obj must be a slice, a one-dimensional array, or a scalar; got {other:?}"
                )))
            }
        };
        if indices.ndim() > 1 || indices.dtype() == DType::Bool {
            return Err(Error::value_err(format!(
                "jnp.insert(): obj must be a slice, a one-dimensional array, or a scalar; got {}",
                indices.aval()
            )));
        }
        // `array(values, ndmin=a.ndim, dtype=a.dtype)`.
        let mut v = lax::convert_element_type(&values, a.dtype())?;
        if v.ndim() < a.ndim() {
            let shape: Vec<usize> = std::iter::repeat_n(1, a.ndim() - v.ndim())
                .chain(v.shape().iter().copied())
                .collect();
            v = lax::reshape(&v, &shape)?;
        }
        let indices = lax::convert_element_type(&indices, DType::I32)?;
        let indices = if indices.size() == 1 {
            if indices.ndim() == 0 {
                v = lax::moveaxis(&v, 0, axis)?;
            }
            let index = lax::reshape(&indices, &[])?;
            lax::broadcast_in_dim(&index, &[v.shape()[axis]], &[])?
        } else {
            indices
        };
        let n_insert =
            super::broadcast_shapes("insert", &[indices.shape(), &[v.shape()[axis]]])?[0];
        let indices = lax::broadcast_to_rank(&indices, &[n_insert])?;
        let mut out_shape = a.shape().to_vec();
        out_shape[axis] += n_insert;
        let out = lax::zeros(&Aval::new(out_shape, a.dtype()).weak(a.is_weak()))?;

        let n = Array::scalar(n_input as i32);
        let indices = lax::select(
            &lax::lt(&indices, &Array::scalar(0i32))?,
            &lax::add(&indices, &n)?,
            &indices,
        )?;
        let indices = lax::min(&lax::max(&indices, &Array::scalar(0i32))?, &n)?;
        // Value k goes to its position plus its rank among the positions (ties in order).
        let ranks = lax::iota(DType::I32, &[n_insert], 0)?;
        let order = lax::argsort_along(&indices, 0, false)?;
        let values_ind = indices.at_idx(&[Index::Array(order)]).add(&ranks)?;
        // Element j of `a` goes to the j-th slot no value took.
        let total = n_input + n_insert;
        let free = lax::full(&Aval::new([total], DType::Bool), 1.0)?
            .at_idx(&[Index::Array(values_ind.clone())])
            .set(&Array::scalar(false))?;
        let arr_ind = nth_true(&free, n_input)?;
        let out = out.at_idx(&along(axis, values_ind)).set(&v)?;
        out.at_idx(&along(axis, arr_ind)).set(&a)
    })())
}

/// The positions of the first `size` true elements of the 1-D `mask` (JAX's
/// `where(mask, size=size)[0]`, with at least `size` true elements): how many elements have
/// fewer than `j + 1` trues up to and including themselves, for each `j`.
fn nth_true(mask: &Array, size: usize) -> Result<Array> {
    let running = lax::cumsum(&lax::convert_element_type(mask, DType::I32)?, 0, false)?;
    let counts = lax::zeros(&Aval::new([size], DType::I32))?
        .at_idx(&[Index::Array(running)])
        .add(&Array::scalar(1i32))?;
    lax::cumsum(&counts, 0, false)
}

/// How `pad` fills the new elements (NumPy's `mode`).
#[derive(Clone, Copy, Debug)]
pub enum PadMode<'a> {
    /// `(before, after)` values: one pair for every axis or one per axis (`&[(0.0, 0.0)]` is
    /// NumPy's default).
    Constant(&'a [(f64, f64)]),
    /// Repeat the edge element.
    Edge,
    /// Mirror without repeating the edge (`[1, 2, 3]` padded by 2: `3 2 | 1 2 3 | 2 1`).
    Reflect,
    /// Mirror including the edge (`2 1 | 1 2 3 | 3 2`).
    Symmetric,
    /// Wrap around (`2 3 | 1 2 3 | 1 2`).
    Wrap,
}

/// One entry per axis from one for all (`what` names the argument in the error).
fn per_axis<T: Copy>(name: &str, what: &str, v: &[T], rank: usize) -> Result<Vec<T>> {
    match v.len() {
        1 => Ok(vec![v[0]; rank]),
        n if n == rank => Ok(v.to_vec()),
        n => Err(Error::value_err(format!(
            "{name}: {what} has {n} entries; it needs 1 or one per axis ({rank})"
        ))),
    }
}

/// The operand index element `p` (counted from the first padded element, `p - before` in the
/// operand's coordinates) of an axis of length `n` reads in the non-constant modes.
fn pad_source(mode: PadMode, p: isize, n: isize) -> isize {
    match mode {
        PadMode::Edge => p.clamp(0, n - 1),
        PadMode::Wrap => p.rem_euclid(n),
        PadMode::Reflect if n == 1 => 0,
        PadMode::Reflect => {
            let i = p.rem_euclid(2 * (n - 1));
            if i >= n {
                2 * (n - 1) - i
            } else {
                i
            }
        }
        PadMode::Symmetric => {
            let i = p.rem_euclid(2 * n);
            if i >= n {
                2 * n - 1 - i
            } else {
                i
            }
        }
        PadMode::Constant(_) => unreachable!("constant padding reads no operand element"),
    }
}

/// `jnp.pad(x, pad_width, mode)`: `pad_width` is `(before, after)` for every axis (one pair)
/// or per axis. The constant mode pads axis by axis with `lax.pad` (an axis' `before` value,
/// then its `after` value, as JAX); the others gather each axis' elements at indices fixed at
/// trace time.
pub fn pad(x: impl AsArray, pad_width: &[(usize, usize)], mode: PadMode) -> Array {
    let x = x.as_array();
    or_raise((|| {
        let r = x.ndim();
        let widths = per_axis("pad", "pad_width", pad_width, r)?;
        let mut y = x.clone();
        if let PadMode::Constant(values) = mode {
            let values = per_axis("pad", "constant_values", values, r)?;
            for (d, (&(lo, hi), &(vlo, vhi))) in widths.iter().zip(&values).enumerate() {
                for (w, v, low) in [(lo, vlo, true), (hi, vhi, false)] {
                    if w > 0 {
                        let mut config = vec![(0, 0, 0); r];
                        config[d] = if low { (w, 0, 0) } else { (0, w, 0) };
                        y = lax::pad(&y, &lax::scalar_like(&y, v), &config)?;
                    }
                }
            }
            return Ok(y);
        }
        for (d, &(lo, hi)) in widths.iter().enumerate() {
            let n = x.shape()[d];
            if lo + hi == 0 {
                continue;
            }
            if n == 0 {
                return Err(Error::value_err(format!(
                    "pad: can't extend empty axis {d} of an array of shape {} with mode {mode:?}",
                    shape_str(x.shape())
                )));
            }
            let idx: Vec<i32> = (-(lo as isize)..(n + hi) as isize)
                .map(|p| pad_source(mode, p, n as isize) as i32)
                .collect();
            let len = idx.len();
            y = lax::take_clamped(&y, &Array::from_vec(idx, &[len])?, d)?;
        }
        Ok(y)
    })())
}

/// Which axes `tensordot` contracts: the last `Count(n)` of `a` with the first `n` of `b`, or
/// the listed pairs.
#[derive(Clone, Copy, Debug)]
pub enum TensordotAxes<'a> {
    /// The last `n` axes of `a` with the first `n` of `b` (JAX's default is 2).
    Count(usize),
    /// Axis `a_axes[i]` of `a` with `b_axes[i]` of `b`.
    Pairs(&'a [isize], &'a [isize]),
}

/// `jnp.tensordot(a, b, axes)`: one `dot_general` contracting the given axes; the result has
/// `a`'s free axes, then `b`'s.
pub fn tensordot(a: impl AsArray, b: impl AsArray, axes: TensordotAxes) -> Array {
    let v = or_raise(super::promote_and_broadcast_dtypes(&[
        a.as_array(),
        b.as_array(),
    ]));
    let (a, b) = (&v[0], &v[1]);
    or_raise((|| {
        let (la, lb): (Vec<usize>, Vec<usize>) = match axes {
            TensordotAxes::Count(n) => {
                if n > a.ndim() || n > b.ndim() {
                    return Err(Error::type_err(format!(
                        "Number of tensordot axes (axes {n}) exceeds input ranks ({} and {})",
                        shape_str(a.shape()),
                        shape_str(b.shape())
                    )));
                }
                ((a.ndim() - n..a.ndim()).collect(), (0..n).collect())
            }
            TensordotAxes::Pairs(xa, xb) => {
                if xa.len() != xb.len() {
                    return Err(Error::type_err(format!(
                        "tensordot requires axes lists to have equal length, got {xa:?} and {xb:?}."
                    )));
                }
                (
                    xa.iter()
                        .map(|&d| axis_index("tensordot", d, a.ndim()))
                        .collect::<Result<_>>()?,
                    xb.iter()
                        .map(|&d| axis_index("tensordot", d, b.ndim()))
                        .collect::<Result<_>>()?,
                )
            }
        };
        lax::dot_general(a, b, crate::prims::DotGeneral::new(&la, &lb, &[], &[]))
    })())
}

/// `jnp.inner(a, b)`: the sum over the last axes of both (a product when one is a scalar).
pub fn inner(a: impl AsArray, b: impl AsArray) -> Array {
    let (a, b) = (a.as_array(), b.as_array());
    if a.ndim() == 0 || b.ndim() == 0 {
        return super::multiply(a, b);
    }
    let (la, lb) = (a.ndim() as isize - 1, b.ndim() as isize - 1);
    tensordot(a, b, TensordotAxes::Pairs(&[la], &[lb]))
}

/// `jnp.vdot(a, b)`: the dot product of the flattened arrays.
pub fn vdot(a: impl AsArray, b: impl AsArray) -> Array {
    super::dot(ravel(a), ravel(b))
}

/// `jnp.kron(a, b)`: the Kronecker product, block `(i, j, ...)` being `a[i, j, ...] * b` (the
/// ranks made equal with leading 1s). A broadcast product on interleaved axes, reshaped.
pub fn kron(a: impl AsArray, b: impl AsArray) -> Array {
    let (a, b) = (a.as_array(), b.as_array());
    let r = a.ndim().max(b.ndim());
    let lead = |x: &Array| -> Vec<usize> {
        std::iter::repeat_n(1, r - x.ndim())
            .chain(x.shape().iter().copied())
            .collect()
    };
    let (sa, sb) = (lead(&a), lead(&b));
    let ia: Vec<usize> = sa.iter().flat_map(|&n| [n, 1]).collect();
    let ib: Vec<usize> = sb.iter().flat_map(|&n| [1, n]).collect();
    let prod = super::multiply(
        or_raise(lax::reshape(&a, &ia)),
        or_raise(lax::reshape(&b, &ib)),
    );
    let out: Vec<usize> = sa.iter().zip(&sb).map(|(p, q)| p * q).collect();
    or_raise(lax::reshape(&prod, &out))
}

/// `jnp.cross(a, b, axisa, axisb, axisc, axis)`: the cross product of 3-vectors along `axisa`
/// of `a` and `axisb` of `b` (the other axes broadcast), the result's vectors along `axisc`;
/// `axis` (when given) sets all three.
pub fn cross(
    a: impl AsArray,
    b: impl AsArray,
    axisa: isize,
    axisb: isize,
    axisc: isize,
    axis: Option<isize>,
) -> Array {
    let (axisa, axisb, axisc) = axis.map_or((axisa, axisb, axisc), |d| (d, d, d));
    let v = or_raise(super::promote_and_broadcast_dtypes(&[
        a.as_array(),
        b.as_array(),
    ]));
    let last = |x: &Array, ax: isize| -> Array {
        let d = or_raise(axis_index("cross", ax, x.ndim().max(1)));
        or_raise(lax::moveaxis(x, d, x.ndim() - 1))
    };
    let (a, b) = (last(&v[0], axisa), last(&v[1], axisb));
    let (na, nb) = (a.shape().last().copied(), b.shape().last().copied());
    if na != Some(3) || nb != Some(3) {
        or_raise::<()>(Err(Error::value_err(format!(
            "cross: the vector axes must have 3 elements, got shapes {} and {}",
            shape_str(v[0].shape()),
            shape_str(v[1].shape())
        ))));
    }
    let at = |x: &Array, i: usize| or_raise(slice_axis(x, x.ndim() - 1, i, i + 1));
    let (a0, a1, a2) = (at(&a, 0), at(&a, 1), at(&a, 2));
    let (b0, b1, b2) = (at(&b, 0), at(&b, 1), at(&b, 2));
    let term = |p: &Array, q: &Array, s: &Array, t: &Array| {
        super::subtract(super::multiply(p, q), super::multiply(s, t))
    };
    let c = super::concatenate(
        &[
            term(&a1, &b2, &a2, &b1),
            term(&a2, &b0, &a0, &b2),
            term(&a0, &b1, &a1, &b0),
        ],
        -1,
    );
    let d = or_raise(axis_index("cross", axisc, c.ndim()));
    or_raise(lax::moveaxis(&c, c.ndim() - 1, d))
}

/// `jnp.rot90(m, k, axes)`: rotate by `k` quarter turns in the plane of `axes`, from the first
/// axis towards the second (a flip and a transpose, as JAX).
pub fn rot90(m: impl AsArray, k: isize, axes: (isize, isize)) -> Array {
    let m = m.as_array();
    or_raise((|| {
        let r = m.ndim();
        if r < 2 {
            return Err(Error::value_err(format!(
                "rot90 requires its first argument to have ndim at least two, but got first argument of shape {}, which has ndim {r}",
                shape_str(m.shape())
            )));
        }
        let a1 = axis_index("rot90", axes.0, r)?;
        let a2 = axis_index("rot90", axes.1, r)?;
        if a1 == a2 {
            return Err(Error::value_err(format!(
                "rot90 requires that the axes are different, got axes {axes:?}"
            )));
        }
        let mut perm: Vec<usize> = (0..r).collect();
        perm.swap(a1, a2);
        match k.rem_euclid(4) {
            0 => Ok(m.clone()),
            1 => lax::transpose(&lax::rev(&m, &[a2])?, &perm),
            2 => lax::rev(&m, &sorted(&[a1, a2])),
            _ => lax::rev(&lax::transpose(&m, &perm)?, &[a2]),
        }
    })())
}

fn sorted(v: &[usize]) -> Vec<usize> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v
}
