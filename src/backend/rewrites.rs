//! Graph rewrites between `graph::build` and planning: a list of named passes, each a function
//! of the graph, run in order. After them the graph is final: planning adds no node. A new
//! pass is one function added to [`PASSES`].

use super::graph::{Graph, Kind, Node, NodeId};
use crate::prims::ReduceOp;

/// A graph pass: rewrites the graph in place, computing the same outputs bit for bit.
pub type Pass = fn(&mut Graph);

/// The passes, in the order they run.
pub const PASSES: &[(&str, Pass)] = &[
    ("canonical_operands", canonical_operands),
    ("dead_code", dead_code),
];

/// Run every pass of [`PASSES`] on `g`.
pub fn run(g: &mut Graph) {
    for (_, pass) in PASSES {
        pass(g);
    }
}

/// Drop the nodes no output depends on.
pub fn dead_code(g: &mut Graph) {
    let mut live = vec![false; g.nodes.len()];
    for &o in &g.outputs {
        live[o] = true;
    }
    for i in (0..g.nodes.len()).rev() {
        if live[i] {
            for o in g.nodes[i].operands() {
                live[o] = true;
            }
        }
    }
    g.rewrite(|g, i, node| {
        if live[i] {
            g.push_node(node)
        } else {
            usize::MAX
        }
    });
}

/// Make explicit what planning needs as nodes: each `dot_general` becomes a `MatMul` of its
/// operands transposed into `[batch, m, k]` and `[batch, k, n]` order (a `Transpose` node where
/// the order differs), and a reduction whose innermost dimension is kept gets its identity as
/// an `init` literal (it is then computed by combining into a filled result).
pub fn canonical_operands(g: &mut Graph) {
    g.rewrite(|g, _, mut node| {
        match &mut node.kind {
            Kind::Dot(d, a, b) => {
                let c = d.canonical(&g.nodes[*a].shape, &g.nodes[*b].shape);
                let lhs = transposed(g, *a, &c.lhs_perm);
                let rhs = transposed(g, *b, &c.rhs_perm);
                node.kind = Kind::MatMul {
                    lhs,
                    rhs,
                    batch: c.batch,
                    m: c.m,
                    k: c.k,
                    n: c.n,
                };
                node.arg = usize::MAX;
            }
            Kind::Reduce { op, x, init } => {
                let xs = &g.nodes[*x].shape;
                let axes = op.axes();
                let last_big = (0..xs.len()).rev().find(|&d| xs[d] > 1);
                let inner = matches!(op, ReduceOp::Argmax { .. } | ReduceOp::Argmin { .. })
                    || last_big.is_none_or(|d| axes.contains(&d));
                if !inner {
                    let v = op.identity(g.nodes[*x].dtype);
                    *init = Some(g.push(Kind::Lit(v), vec![], v.dtype(), usize::MAX));
                }
            }
            _ => {}
        }
        g.push_node(node)
    });
}

/// Node `x` permuted by `perm` (`x` itself for the identity).
fn transposed(g: &mut Graph, x: NodeId, perm: &[usize]) -> NodeId {
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return x;
    }
    let xn = &g.nodes[x];
    g.push_node(Node {
        kind: Kind::Transpose {
            perm: perm.to_vec(),
        },
        shape: perm.iter().map(|&p| xn.shape[p]).collect(),
        dtype: xn.dtype,
        arg: x,
    })
}
