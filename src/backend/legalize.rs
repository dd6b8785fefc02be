//! The first graph pass: arithmetic on the 16-bit floats becomes arithmetic in f32, as XLA's
//! CPU backend normalises floats. Each elementwise op on `f16`/`bf16` operands reads them
//! converted to f32, computes in f32 and converts its result back, so it rounds once, as eager
//! evaluation does; a `dot_general` multiplies them as f32 (gemm's) and rounds once; a sum
//! reads them as f64 (eager accumulates them in f64 and rounds once); max, min, argmax and
//! argmin read them as f32 (exact). Data movement (views, slices, concatenation, gathers,
//! selects, pads, control-flow carries) keeps the 16-bit storage, and so do a product and a
//! cumulative reduction, whose every step rounds to the 16-bit type (`ops::binary` computes
//! that step in f32), and `nextafter`, which steps the 16-bit pattern.
//!
//! Sort keys of the 16-bit floats and narrow integers are read converted (exactly, keeping
//! their order) to f32, i32 or u32, which the runtime's sort reads (with f64, i64, u64 and
//! bool). Narrow integer arithmetic needs no pass: `ops` computes it in 32 bits.

use super::graph::{Graph, Kind, NodeId};
use crate::dtype::DType;
use crate::prims::{BinaryOp, ReduceOp, UnaryOp};

/// Rewrite every arithmetic node on 16-bit floats into f32 (f64 for sums) arithmetic.
pub fn legalize(g: &mut Graph) {
    g.rewrite(|g, _, node| {
        let dt = |g: &Graph, n: NodeId| g.nodes[n].dtype;
        match node.kind.clone() {
            // x ** y as a chain of products each rounded to the 16-bit type (eager's and
            // XLA's), by repeated squaring in the interpreter's order; 1 / acc rounded once.
            Kind::Unary(UnaryOp::IntegerPow { y }, a) if dt(g, a).is_half() && y.abs() > 1 => {
                let half = dt(g, a);
                let shape = node.shape.clone();
                let mul = |g: &mut Graph, p: NodeId, q: NodeId| {
                    let (x, z) = (convert(g, p, DType::F32), convert(g, q, DType::F32));
                    let r = g.push(
                        Kind::Binary(BinaryOp::Mul, x, z),
                        shape.clone(),
                        DType::F32,
                        usize::MAX,
                    );
                    convert(g, r, half)
                };
                let (mut acc, mut base, mut n) = (None, a, y.unsigned_abs());
                while n > 0 {
                    if n & 1 == 1 {
                        acc = Some(match acc {
                            None => base,
                            Some(c) => mul(g, c, base),
                        });
                    }
                    n >>= 1;
                    if n > 0 {
                        base = mul(g, base, base);
                    }
                }
                let acc = acc.expect("|y| > 1 has a set bit");
                if y > 0 {
                    acc
                } else {
                    let x = convert(g, acc, DType::F32);
                    let inv = UnaryOp::IntegerPow { y: -1 };
                    let r = g.push(Kind::Unary(inv, x), shape.clone(), DType::F32, x);
                    convert(g, r, half)
                }
            }
            Kind::Unary(op, a) if dt(g, a).is_half() && !moves_bits(&op) => {
                let half = dt(g, a);
                let x = convert(g, a, DType::F32);
                let out = if node.dtype == half {
                    DType::F32
                } else {
                    node.dtype
                };
                let r = g.push(Kind::Unary(op, x), node.shape.clone(), out, x);
                narrowed(g, r, node.dtype)
            }
            // nextafter steps the 16-bit pattern itself (`half::nextafter`).
            Kind::Binary(op, a, c) if dt(g, a).is_half() && op != BinaryOp::Nextafter => {
                let half = dt(g, a);
                let (x, y) = (convert(g, a, DType::F32), convert(g, c, DType::F32));
                let out = if node.dtype == half {
                    DType::F32
                } else {
                    node.dtype
                };
                let r = g.push(Kind::Binary(op, x, y), node.shape.clone(), out, usize::MAX);
                narrowed(g, r, node.dtype)
            }
            // A product of 16-bit floats is an f32 product (gemm's), rounded once.
            Kind::Dot(d, a, c) if dt(g, a).is_half() => {
                let half = dt(g, a);
                let (x, y) = (convert(g, a, DType::F32), convert(g, c, DType::F32));
                let r = g.push(
                    Kind::Dot(d, x, y),
                    node.shape.clone(),
                    DType::F32,
                    usize::MAX,
                );
                narrowed(g, r, half)
            }
            // Sort keys in an order-preserving wider dtype the runtime's sort reads: the
            // 16-bit floats as f32, narrow integers as i32/u32 (exact conversions).
            Kind::SortPerm {
                dimension,
                key,
                top_k,
            } if super::ops::computed_in(dt(g, key)).is_some() => {
                let wide = super::ops::computed_in(dt(g, key)).expect("checked");
                let key = convert(g, key, wide);
                let kind = Kind::SortPerm {
                    dimension,
                    key,
                    top_k,
                };
                g.push(kind, node.shape.clone(), node.dtype, usize::MAX)
            }
            Kind::Reduce { op, x, init } if dt(g, x).is_half() => {
                let wide = match op {
                    ReduceOp::Sum { .. } => DType::F64,
                    ReduceOp::Prod { .. } => return g.push_node(node),
                    _ => DType::F32,
                };
                let half = dt(g, x);
                let xw = convert(g, x, wide);
                let out = if node.dtype == half { wide } else { node.dtype };
                let kind = Kind::Reduce { op, x: xw, init };
                let r = g.push(kind, node.shape.clone(), out, xw);
                narrowed(g, r, node.dtype)
            }
            _ => g.push_node(node),
        }
    });
}

/// Conversions, bitcasts and `stop_gradient` read the 16-bit bits as they are.
fn moves_bits(op: &UnaryOp) -> bool {
    matches!(
        op,
        UnaryOp::ConvertElementType { .. }
            | UnaryOp::BitcastConvertType { .. }
            | UnaryOp::StopGradient
    )
}

/// `x` converted to `to` (a new node).
fn convert(g: &mut Graph, x: NodeId, to: DType) -> NodeId {
    let op = UnaryOp::ConvertElementType {
        new_dtype: to,
        weak_type: false,
    };
    let shape = g.nodes[x].shape.clone();
    g.push(Kind::Unary(op, x), shape, to, x)
}

/// `r` converted to `to` if it is not of that dtype already.
fn narrowed(g: &mut Graph, r: NodeId, to: DType) -> NodeId {
    if g.nodes[r].dtype == to {
        r
    } else {
        convert(g, r, to)
    }
}
