//! `gather` and the scatters as graph nodes: the operand flattened to one axis, and one `i32`
//! flat offset per output element (gather) or per update (scatter) computed from the indices
//! by elementwise nodes, with the rule of `prims::shape::gather` (starts clamped into
//! `[0, dim - size]` or, per mode, filled / dropped). A gather is then a `take` along that one
//! axis; a scatter writes into the operand with one extra slot at the end where dropped
//! updates go, sliced off afterwards. So compiled code never reads or writes out of bounds
//! (the `take` and the store clamp their flat index as well).

use super::graph::{Graph, Kind, NodeId};
use crate::core::aval::Aval;
use crate::dtype::{DType, Scalar};
use crate::prims::shape::{default_fill, GatherParams, ScatterParams, Walk};
use crate::prims::{BinaryOp, UnaryOp};

fn lit(g: &mut Graph, v: i32) -> NodeId {
    g.push(Kind::Lit(Scalar::I32(v)), vec![], DType::I32, usize::MAX)
}

fn bin(g: &mut Graph, op: BinaryOp, a: NodeId, b: NodeId) -> NodeId {
    let (shape, dt) = {
        let (na, nb) = (g.node(a), g.node(b));
        let shape = if na.shape.len() >= nb.shape.len() {
            &na.shape
        } else {
            &nb.shape
        };
        let dt = match op {
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Ge | BinaryOp::Gt | BinaryOp::Eq => DType::Bool,
            _ => na.dtype,
        };
        (shape.clone(), dt)
    };
    g.push(Kind::Binary(op, a, b), shape, dt, usize::MAX)
}

fn iota(g: &mut Graph, shape: &[usize], dimension: usize) -> NodeId {
    g.push(
        Kind::Iota { dimension },
        shape.to_vec(),
        DType::I32,
        usize::MAX,
    )
}

/// Integer indices of any dtype as i32, saturated into i32's range first (wider values would
/// wrap; every start in range, and every out-of-range one stays out of range).
fn index_as_i32(g: &mut Graph, idx: NodeId) -> NodeId {
    let (dt, shape) = (g.node(idx).dtype, g.node(idx).shape.clone());
    if dt == DType::I32 {
        return idx;
    }
    // Bounds the dtype can exceed: i32::MAX above (64-bit and u32), i32::MIN below (i64).
    let bounds = [
        (BinaryOp::Min, i32::MAX, dt.bits() > 32 || dt == DType::U32),
        (BinaryOp::Max, i32::MIN, dt == DType::I64),
    ];
    let mut idx = idx;
    for (op, v, needed) in bounds {
        if needed {
            let s = Scalar::from_i128(v as i128, dt);
            let v = g.push(Kind::Lit(s), vec![], dt, usize::MAX);
            idx = g.push(Kind::Binary(op, idx, v), shape.clone(), dt, usize::MAX);
        }
    }
    let conv = UnaryOp::ConvertElementType {
        new_dtype: DType::I32,
        weak_type: false,
    };
    g.push(Kind::Unary(conv, idx), shape, DType::I32, idx)
}

/// The flat operand offset of every element of `walk_shape` (`i32`, clamped starts) and, when
/// not clamping, whether every start of it was in range (`bool`, `None` when clamping).
fn flat_offsets(
    g: &mut Graph,
    w: &Walk,
    walk_shape: &[usize],
    idx: NodeId,
    clamp: bool,
) -> (NodeId, Option<NodeId>) {
    let operand_shape = w.operand_shape;
    let strides = super::index::row_strides(operand_shape);
    let idx_shape = g.node(idx).shape.clone();
    let batch_shape = &idx_shape[..idx_shape.len() - 1];
    let batch_dims: Vec<usize> = (0..walk_shape.len())
        .filter(|d| !w.window_dims.contains(d))
        .collect();
    let idx = index_as_i32(g, idx);
    let mut flat = lit(g, 0);
    let mut valid: Option<NodeId> = None;
    let add_term = |g: &mut Graph, flat: &mut NodeId, v: NodeId, stride: i64| {
        let s = lit(g, stride as i32);
        let t = bin(g, BinaryOp::Mul, v, s);
        *flat = bin(g, BinaryOp::Add, *flat, t);
    };
    for (j, &d) in w.start_map.iter().enumerate() {
        let mut start = vec![0; idx_shape.len()];
        *start.last_mut().expect("index vector axis") = j;
        let mut one_shape = batch_shape.to_vec();
        one_shape.push(1);
        let col = g.push(
            Kind::Slice {
                start,
                strides: vec![1; idx_shape.len()],
            },
            one_shape,
            DType::I32,
            idx,
        );
        let col = g.push(Kind::Reshape, batch_shape.to_vec(), DType::I32, col);
        let col = g.push(
            Kind::Broadcast {
                dims: batch_dims.clone(),
            },
            walk_shape.to_vec(),
            DType::I32,
            col,
        );
        let hi = (operand_shape[d] as i64 - w.sizes[d] as i64).max(0) as i32;
        let (lo, hi_n) = (lit(g, 0), lit(g, hi));
        if !clamp {
            let ge = bin(g, BinaryOp::Ge, col, lo);
            let le = bin(g, BinaryOp::Le, col, hi_n);
            let ok = bin(g, BinaryOp::And, ge, le);
            valid = Some(match valid {
                None => ok,
                Some(v) => bin(g, BinaryOp::And, v, ok),
            });
        }
        let c = bin(g, BinaryOp::Min, col, hi_n);
        let c = bin(g, BinaryOp::Max, c, lo);
        add_term(g, &mut flat, c, strides[d]);
    }
    for (&od, &id) in w.operand_batching_dims.iter().zip(w.indices_batching_dims) {
        let i = iota(g, walk_shape, batch_dims[id]);
        add_term(g, &mut flat, i, strides[od]);
    }
    let window_operand_dims = (0..operand_shape.len()).filter(|d| !w.dropped.contains(d));
    for (k, d) in window_operand_dims.enumerate() {
        let i = iota(g, walk_shape, w.window_dims[k]);
        add_term(g, &mut flat, i, strides[d]);
    }
    if g.node(flat).shape.len() != walk_shape.len() {
        flat = g.push(
            Kind::Broadcast { dims: vec![] },
            walk_shape.to_vec(),
            DType::I32,
            flat,
        );
    }
    (flat, valid)
}

/// `x` (of `shape`) as one axis.
fn flatten(g: &mut Graph, x: NodeId) -> NodeId {
    let n = g.node(x);
    let (size, dt) = (n.size(), n.dtype);
    g.push(Kind::Reshape, vec![size], dt, x)
}

/// The nodes of a `gather` of `x` at `idx`; returns the output node.
pub fn gather(g: &mut Graph, p: &GatherParams, x: NodeId, idx: NodeId, out: &Aval) -> NodeId {
    let x_shape = g.node(x).shape.clone();
    let w = p.walk(&x_shape);
    let (flat, valid) = flat_offsets(g, &w, &out.shape, idx, p.mode.clamps(false));
    let fx = flatten(g, x);
    let got = g.push(
        Kind::Gather {
            axis: 0,
            x: fx,
            idx: flat,
        },
        out.shape.clone(),
        out.dtype,
        fx,
    );
    let Some(valid) = valid else { return got };
    let fill = Scalar::from_f64(p.fill_value.unwrap_or(default_fill(out.dtype)), out.dtype);
    let fill = g.push(Kind::Lit(fill), vec![], out.dtype, usize::MAX);
    let fill = g.push(
        Kind::Broadcast { dims: vec![] },
        out.shape.clone(),
        out.dtype,
        fill,
    );
    g.push(
        Kind::Select(vec![valid, fill, got]),
        out.shape.clone(),
        out.dtype,
        usize::MAX,
    )
}

/// The nodes of a scatter of `updates` into `x` at `idx`; returns the output node.
pub fn scatter(
    g: &mut Graph,
    p: &ScatterParams,
    x: NodeId,
    idx: NodeId,
    updates: NodeId,
    out: &Aval,
) -> NodeId {
    let x_shape = out.shape.clone();
    let n: usize = x_shape.iter().product();
    let upd_shape = g.node(updates).shape.clone();
    let sizes = p.dimension_numbers.window_sizes(x_shape.len(), &upd_shape);
    let w = p.walk(&x_shape, &sizes);
    let clamp = p.mode.clamps(true) && n > 0;
    let (mut flat, valid) = flat_offsets(g, &w, &upd_shape, idx, clamp);
    if n == 0 {
        // Nothing lands: every update goes to the extra slot.
        flat = lit(g, 0);
        flat = g.push(
            Kind::Broadcast { dims: vec![] },
            upd_shape.clone(),
            DType::I32,
            flat,
        );
    } else if let Some(valid) = valid {
        // Dropped updates land in the extra slot `n`.
        let dump = lit(g, n as i32);
        let dump = g.push(
            Kind::Broadcast { dims: vec![] },
            upd_shape.clone(),
            DType::I32,
            dump,
        );
        flat = g.push(
            Kind::Select(vec![valid, dump, flat]),
            upd_shape.clone(),
            DType::I32,
            usize::MAX,
        );
    }
    let fx = flatten(g, x);
    let zero = g.push(
        Kind::Lit(Scalar::from_f64(0.0, out.dtype)),
        vec![],
        out.dtype,
        usize::MAX,
    );
    let padded = g.push(
        Kind::Pad {
            config: vec![(0, 1, 0)],
            x: fx,
            value: zero,
        },
        vec![n + 1],
        out.dtype,
        fx,
    );
    let scattered = g.push(
        Kind::Scatter {
            combine: p.kind.combiner(),
            axis: 0,
            x: padded,
            idx: flat,
            updates,
        },
        vec![n + 1],
        out.dtype,
        padded,
    );
    let kept = g.push(
        Kind::Slice {
            start: vec![0],
            strides: vec![1],
        },
        vec![n],
        out.dtype,
        scattered,
    );
    g.push(Kind::Reshape, x_shape, out.dtype, kept)
}
