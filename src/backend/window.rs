//! The windowed primitives (`prims::window`) and `clamp` as graph nodes. A window reduction
//! is the operand padded with the init value (base dilation as interior padding: one `Pad`
//! buffer), then one strided `Slice` view of it per window position, combined in the
//! window's row-major order from the init value, exactly as `WindowOp::eval` folds: the
//! planner fuses the chain into one loop over the output that reads each window element
//! from the padded buffer. Every slice lies inside the padded shape (the output shape
//! rule guarantees it), so compiled code never reads out of bounds; the window is unrolled,
//! so code size grows with the number of window positions.
//!
//! `select_and_gather_add` carries (value, tangent) pairs through the same chain with the
//! chooser as a `select`; `select_and_scatter_add` carries the chosen element's flat offset
//! in the padded operand instead, then scatter-adds each window's source value there
//! (row-major, as eager evaluation adds) and slices the padding off. `clamp` is `max` then
//! `min`, as eager evaluation computes it.

use super::graph::{Graph, Kind, NodeId};
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::dtype::{DType, Scalar};
use crate::prims::window::{window_offsets, Window, WindowKind, WindowOp};
use crate::prims::BinaryOp;

fn lit(g: &mut Graph, v: Scalar) -> NodeId {
    g.push(Kind::Lit(v), vec![], v.dtype(), usize::MAX)
}

fn filled(g: &mut Graph, v: Scalar, shape: &[usize]) -> NodeId {
    let l = lit(g, v);
    let kind = Kind::Broadcast { dims: vec![] };
    g.push(kind, shape.to_vec(), v.dtype(), l)
}

fn bin(g: &mut Graph, op: BinaryOp, a: NodeId, b: NodeId, shape: &[usize]) -> NodeId {
    let dt = match op {
        BinaryOp::Ge | BinaryOp::Le => DType::Bool,
        _ => g.node(a).dtype,
    };
    g.push(Kind::Binary(op, a, b), shape.to_vec(), dt, usize::MAX)
}

fn select(g: &mut Graph, keep: NodeId, other: NodeId, kept: NodeId, shape: &[usize]) -> NodeId {
    let dt = g.node(kept).dtype;
    g.push(
        Kind::Select(vec![keep, other, kept]),
        shape.to_vec(),
        dt,
        usize::MAX,
    )
}

/// `x` padded by `config` with the scalar `value` (itself when there is no padding).
fn pad(g: &mut Graph, x: NodeId, value: Scalar, config: Vec<(usize, usize, usize)>) -> NodeId {
    if config.iter().all(|&c| c == (0, 0, 0)) {
        return x;
    }
    let (shape, dt) = (g.node(x).shape.clone(), g.node(x).dtype);
    let padded: Vec<usize> = shape
        .iter()
        .zip(&config)
        .map(|(&n, &(lo, hi, int))| lo + hi + n + n.saturating_sub(1) * int)
        .collect();
    let value = lit(g, value);
    g.push(Kind::Pad { config, x, value }, padded, dt, x)
}

/// The window position `w`'s element of every output window: a strided view of `padded`.
fn window_view(g: &mut Graph, padded: NodeId, w: &Window, pos: &[usize], out: &[usize]) -> NodeId {
    let start: Vec<usize> = pos
        .iter()
        .zip(&w.window_dilation)
        .map(|(p, d)| p * d)
        .collect();
    let node = g.node(padded);
    if start.iter().all(|&s| s == 0)
        && w.window_strides.iter().all(|&s| s == 1)
        && node.shape == out
    {
        return padded;
    }
    let dt = node.dtype;
    let kind = Kind::Slice {
        start,
        strides: w.window_strides.clone(),
    };
    g.push(kind, out.to_vec(), dt, padded)
}

/// The padding config of `w` (base dilation as interior padding).
fn config(w: &Window) -> Vec<(usize, usize, usize)> {
    w.padding
        .iter()
        .zip(&w.base_dilation)
        .map(|(&(lo, hi), &b)| (lo, hi, b - 1))
        .collect()
}

/// The nodes of a windowed primitive on `ins`; returns its output node.
pub fn window(g: &mut Graph, op: &WindowOp, ins: &[NodeId], out: &Aval) -> Result<NodeId> {
    let x = ins[ins.len() - 1];
    let dt = out.dtype;
    let w = op.window();
    if out.size() == 0 {
        return Ok(filled(g, Scalar::from_f64(0.0, dt), &out.shape));
    }
    let positions = window_offsets(&w.window_dimensions);
    Ok(match op {
        WindowOp::Reduce { kind, .. } => {
            let init = kind.identity(dt);
            let padded = pad(g, x, init, config(w));
            let comb = match kind {
                WindowKind::Sum => BinaryOp::Add,
                WindowKind::Max => BinaryOp::Max,
                WindowKind::Min => BinaryOp::Min,
            };
            let mut acc = lit(g, init);
            for pos in &positions {
                let v = window_view(g, padded, w, pos, &out.shape);
                acc = bin(g, comb.clone(), acc, v, &out.shape);
            }
            acc
        }
        WindowOp::SelectAndGatherAdd { select_prim, .. } => {
            let (init, zero) = (select_prim.identity(dt), Scalar::from_f64(0.0, dt));
            let cmp = chooser(*select_prim);
            let pk = pad(g, x, init, config(w));
            let pt = pad(g, ins[0], zero, config(w));
            let mut acc_k = filled(g, init, &out.shape);
            let mut acc_t = filled(g, zero, &out.shape);
            for pos in &positions {
                let k = window_view(g, pk, w, pos, &out.shape);
                let t = window_view(g, pt, w, pos, &out.shape);
                let keep = bin(g, cmp.clone(), acc_k, k, &out.shape);
                acc_k = select(g, keep, k, acc_k, &out.shape);
                acc_t = select(g, keep, t, acc_t, &out.shape);
            }
            acc_t
        }
        WindowOp::SelectAndScatterAdd { select_prim, .. } => {
            scatter_add(g, *select_prim, w, ins[0], x, &positions, out)?
        }
    })
}

fn chooser(s: crate::prims::window::SelectPrim) -> BinaryOp {
    match s {
        crate::prims::window::SelectPrim::Ge => BinaryOp::Ge,
        crate::prims::window::SelectPrim::Le => BinaryOp::Le,
    }
}

/// `select_and_scatter_add(source, x)`: the chosen flat offset of every window in the padded
/// operand, the source scatter-added there, the padding sliced off.
fn scatter_add(
    g: &mut Graph,
    select_prim: crate::prims::window::SelectPrim,
    w: &Window,
    source: NodeId,
    x: NodeId,
    positions: &[Vec<usize>],
    out: &Aval,
) -> Result<NodeId> {
    let dt = out.dtype;
    let wins = g.node(source).shape.clone();
    let pk = pad(g, x, select_prim.identity(dt), config(w));
    let pshape = g.node(pk).shape.clone();
    let psize: usize = pshape.iter().product();
    if wins.iter().product::<usize>() == 0 {
        return Ok(filled(g, Scalar::from_f64(0.0, dt), &out.shape));
    }
    if psize > i32::MAX as usize {
        return Err(Error::Jit(format!(
            "select_and_scatter_add of a padded operand of {psize} elements is not compiled (offsets are i32)"
        )));
    }
    let pstrides = super::index::row_strides(&pshape);
    let i32s = |v: i64| Scalar::I32(v as i32);
    // The flat offset of each window's first element.
    let mut base = filled(g, i32s(0), &wins);
    for (d, &pstride) in pstrides.iter().enumerate().take(wins.len()) {
        let i = g.push(
            Kind::Iota { dimension: d },
            wins.clone(),
            DType::I32,
            usize::MAX,
        );
        let step = lit(g, i32s((w.window_strides[d] * pstride as usize) as i64));
        let term = bin(g, BinaryOp::Mul, i, step, &wins);
        base = bin(g, BinaryOp::Add, base, term, &wins);
    }
    let offset = |g: &mut Graph, pos: &[usize]| {
        let off: usize = pos
            .iter()
            .zip(&pstrides)
            .map(|(p, s)| p * *s as usize)
            .sum();
        let off = lit(g, i32s(off as i64));
        bin(g, BinaryOp::Add, base, off, &wins)
    };
    let cmp = chooser(select_prim);
    let mut sel_k = window_view(g, pk, w, &positions[0], &wins);
    let mut sel_f = offset(g, &positions[0]);
    for pos in &positions[1..] {
        let k = window_view(g, pk, w, pos, &wins);
        let keep = bin(g, cmp.clone(), sel_k, k, &wins);
        sel_k = select(g, keep, k, sel_k, &wins);
        let f = offset(g, pos);
        sel_f = select(g, keep, f, sel_f, &wins);
    }
    let zeros = filled(g, Scalar::from_f64(0.0, dt), &[psize]);
    let scattered = g.push(
        Kind::Scatter {
            combine: Some(BinaryOp::Add),
            axis: 0,
            x: zeros,
            idx: sel_f,
            updates: source,
        },
        vec![psize],
        dt,
        zeros,
    );
    let full = g.push(Kind::Reshape, pshape, dt, scattered);
    let start: Vec<usize> = w.padding.iter().map(|p| p.0).collect();
    let kind = Kind::Slice {
        start,
        strides: vec![1; out.shape.len()],
    };
    Ok(g.push(kind, out.shape.clone(), dt, full))
}

/// `clamp(lo, x, hi)`: `min(max(x, lo), hi)`.
pub fn clamp(g: &mut Graph, ins: &[NodeId], out: &Aval) -> NodeId {
    let above = bin(g, BinaryOp::Max, ins[1], ins[0], &out.shape);
    bin(g, BinaryOp::Min, above, ins[2], &out.shape)
}
