//! Carry-independent products out of `scan` bodies (the first pass of `rewrites::PASSES`).
//!
//! - Hoisting: a `dot_general` in a body whose operands are only the scan's consts and its
//!   `xs[i]` is, for all steps at once, one product over the stacked `xs` computed before the
//!   loop and read as one more `xs` (`U xᵢ` for every `i` is `X Uᵀ`).
//! - Sinking: a carry whose only use is `c' = c + dot_general(aᵢ, bᵢ)` (a gradient's weight
//!   accumulation, `dW += gᵢ hᵢᵀ`) leaves the loop: its result is `c + dot_general(A, B)` over
//!   the stacked `aᵢ`, `bᵢ` with the step axis contracted as well (`dW = Gᵀ H`); the `aᵢ`, `bᵢ`
//!   that are not `xs` already become `ys`.
//! - Transposing: a product left in the loop of a const matrix and a vector that contracts
//!   the matrix's last dim (`W hᵢ`, summed along rows: one horizontal sum per output) reads
//!   the matrix transposed, as one more const computed once before the loop (`hᵢ Wᵀ`,
//!   vectorised along the output and accumulated row by row, as a gradient's `gᵢ W` is).
//!
//! All three change only the order of a product's sums (as compiled products already do);
//! results are the same bits for exact data. Only f32 and f64 products, scans of at least one
//! step (two for a transposed const) and stacked values of at most [`MAX_STACKED_BYTES`] are
//! rewritten; each nested scan is rewritten when its own graph is.

use super::graph::{Control, Graph, Kind, NodeId};
use super::rewrites::{dead_code, use_counts, THIN_DOT_MAX_WORK};
use crate::dtype::DType;
use crate::prims::{BinaryOp, DotGeneral};
use rustc_hash::FxHashMap;

/// The largest array (bytes) a rewrite stacks over the steps (a hoisted product's result, a
/// new `ys`).
const MAX_STACKED_BYTES: usize = 1 << 26;

/// Where a sunk product's stacked operand comes from: the scan's operand (an `xs`, by its
/// index in the rewritten scan's operands) or an output of the rewritten body (a `ys`).
#[derive(Clone, Copy)]
enum Stacked {
    Operand(usize),
    Output(usize),
}

/// A carry whose accumulation leaves the loop.
struct Sink {
    /// Its index among the carries (before the rewrite).
    carry: usize,
    /// The accumulating op (`add` or `add_any`) and whether the carry is its left operand.
    add: BinaryOp,
    carry_on_left: bool,
    dot: DotGeneral,
    a: Stacked,
    b: Stacked,
}

/// A product computed for all steps before the loop, read as the last `xs`.
struct Hoist {
    dot: DotGeneral,
    /// The operands' indices in the rewritten scan's operands, and whether each is an `xs`.
    a: (usize, bool),
    b: (usize, bool),
    shape: Vec<usize>,
    dtype: DType,
    /// The rank of the product's left operand (one step's).
    lhs_rank: usize,
}

/// The rewrite of one scan (its body already rewritten).
struct Change {
    /// The consts (by index) whose transposes are new consts after the old ones, in order.
    transposed: Vec<usize>,
    sinks: Vec<Sink>,
    hoists: Vec<Hoist>,
    /// The body's number of outputs before the rewrite.
    old_outputs: usize,
    /// Shape and dtype of each output of the rewritten body.
    outputs: Vec<(Vec<usize>, DType)>,
}

/// What an old output of a rewritten scan is now.
#[derive(Clone, Copy)]
enum Out {
    /// The rewritten scan's output with this index.
    Index(usize),
    /// A node after the loop (a sunk carry's result).
    Node(NodeId),
}

/// Hoist and sink the carry-independent products of every `scan` of `g` (see the module doc).
pub fn scan_invariants(g: &mut Graph) {
    let mut changes: FxHashMap<NodeId, Change> = FxHashMap::default();
    for i in 0..g.nodes.len() {
        let Kind::Control {
            op:
                Control::Scan {
                    body,
                    length,
                    num_consts,
                    num_carry,
                    ..
                },
            operands,
        } = &g.nodes[i].kind
        else {
            continue;
        };
        let (body, length, nc, ncarry, nops) =
            (*body, *length, *num_consts, *num_carry, operands.len());
        if length == 0 {
            continue;
        }
        if let Some(c) = rewrite_body(&mut g.subs[body], length, nc, ncarry, nops) {
            changes.insert(i, c);
        }
    }
    if changes.is_empty() {
        return;
    }
    let mut outs: FxHashMap<NodeId, Vec<Out>> = FxHashMap::default();
    g.rewrite(|g, i, mut node| {
        if let Some(c) = changes.remove(&i) {
            return rebuild(g, node, c, &mut outs);
        }
        if let Kind::ControlOut(ctrl, k) = node.kind {
            match outs.get(&ctrl).map(|m| m[k]) {
                Some(Out::Node(n)) => return n,
                Some(Out::Index(k)) => node.kind = Kind::ControlOut(ctrl, k),
                None => {}
            }
        }
        g.push_node(node)
    });
}

/// Whether products of this dtype are rewritten.
fn rewritable(dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::F64)
}

/// Rewrite the body of a scan of `length` steps with `nc` consts, `ncarry` carries and `nops`
/// operands: its sunk carries and hoisted products removed, their `xs` and `ys` added.
fn rewrite_body(
    body: &mut Graph,
    length: usize,
    nc: usize,
    ncarry: usize,
    nops: usize,
) -> Option<Change> {
    let old_outputs = body.outputs.len();
    let transposed = transpose_consts(body, length, nc, ncarry);
    let (nc, nops) = (nc + transposed.len(), nops + transposed.len());
    let sinks = sink(body, length, nc, ncarry);
    let ncarry = ncarry - sinks.len();
    let hoists = hoist(body, length, nc, ncarry, nops - sinks.len());
    if transposed.is_empty() && sinks.is_empty() && hoists.is_empty() {
        return None;
    }
    let outputs = (body.outputs.iter())
        .map(|&o| (body.nodes[o].shape.clone(), body.nodes[o].dtype))
        .collect();
    Some(Change {
        transposed,
        sinks,
        hoists,
        old_outputs,
        outputs,
    })
}

/// Make each matrix-vector product of `body` (`nc` consts, `ncarry` carries) that contracts
/// the last dim of a rank-2 const `M` (both dims above 1, small enough for the product to be
/// a fused loop) with a vector computed in the loop (not a const or an `xs`, whose products
/// `hoist` takes) read `Mᵀ` instead, as a new const input after the old ones (the carries
/// and `xs` renumbered after them): `M v` and `v Mᵀ` become the vector-matrix product
/// `v (Mᵀ)`, the same result. Returns the transposed consts, in the
/// order of the new inputs (one per const, however many products read it).
fn transpose_consts(body: &mut Graph, length: usize, nc: usize, ncarry: usize) -> Vec<usize> {
    if length < 2 {
        return Vec::new();
    }
    let loop_vector = |n: NodeId| {
        body.nodes[n].shape.len() == 1
            && !matches!(body.nodes[n].kind, Kind::Input(i) if i < nc || i >= nc + ncarry)
    };
    // A matrix whose product `rewrites::canonical_operands` fuses into a loop (a gemm call
    // reads it through strides in either order).
    let matrix = |n: NodeId| {
        let s = &body.nodes[n].shape;
        let fused = s.len() == 2 && s[0] > 1 && s[1] > 1 && s[0] * s[1] <= THIN_DOT_MAX_WORK;
        match body.nodes[n].kind {
            Kind::Input(i) if i < nc && fused => Some(i),
            _ => None,
        }
    };
    let mut transposed: Vec<usize> = Vec::new();
    // Each product rewritten: whether the matrix is its left operand, and the new input's
    // position among the transposed consts.
    let mut products: FxHashMap<NodeId, (bool, usize)> = FxHashMap::default();
    for (n, node) in body.nodes.iter().enumerate() {
        let Kind::Dot(d, a, b) = &node.kind else {
            continue;
        };
        if !rewritable(node.dtype) || !d.lhs_batch.is_empty() {
            continue;
        }
        let (konst, on_left) = match (matrix(*a), matrix(*b)) {
            (Some(i), None) if d.lhs_contracting == [1] && loop_vector(*b) => (i, true),
            (None, Some(i)) if d.rhs_contracting == [1] && loop_vector(*a) => (i, false),
            _ => continue,
        };
        let p = match transposed.iter().position(|&c| c == konst) {
            Some(p) => p,
            None => {
                transposed.push(konst);
                transposed.len() - 1
            }
        };
        products.insert(n, (on_left, p));
    }
    if transposed.is_empty() {
        return transposed;
    }
    let t = transposed.len();
    // The matrices' shapes and dtypes, read before the rewrite renumbers the inputs.
    let matrices: Vec<(Vec<usize>, DType)> = (transposed.iter())
        .map(|&c| {
            let node = (body.nodes.iter())
                .find(|node| matches!(node.kind, Kind::Input(i) if i == c))
                .expect("a transposed const is read");
            (vec![node.shape[1], node.shape[0]], node.dtype)
        })
        .collect();
    let mut inputs: Vec<Option<NodeId>> = vec![None; t];
    body.rewrite(|g, n, mut node| {
        if let Kind::Input(i) = node.kind {
            if i >= nc {
                node.kind = Kind::Input(i + t);
            }
        }
        let Some(&(on_left, p)) = products.get(&n) else {
            return g.push_node(node);
        };
        let Kind::Dot(d, a, b) = &node.kind else {
            unreachable!("only products are transposed")
        };
        let v = if on_left { *b } else { *a };
        let mt = match inputs[p] {
            Some(mt) => mt,
            None => {
                let (shape, dtype) = matrices[p].clone();
                let mt = g.push(Kind::Input(nc + p), shape, dtype, usize::MAX);
                inputs[p] = Some(mt);
                mt
            }
        };
        let dot = DotGeneral {
            lhs_contracting: vec![0],
            rhs_contracting: vec![0],
            lhs_batch: vec![],
            rhs_batch: vec![],
            preferred_element_type: d.preferred_element_type,
        };
        g.push(Kind::Dot(dot, v, mt), node.shape, node.dtype, usize::MAX)
    });
    dead_code(body);
    transposed
}

/// Take the sinkable carries out of `body` (see the module doc); returns them, in order.
fn sink(body: &mut Graph, length: usize, nc: usize, ncarry: usize) -> Vec<Sink> {
    let uses = use_counts(body);
    let mut input_nodes: FxHashMap<usize, Vec<NodeId>> = FxHashMap::default();
    for (n, node) in body.nodes.iter().enumerate() {
        if let Kind::Input(i) = node.kind {
            input_nodes.entry(i).or_default().push(n);
        }
    }
    // Stacking a step-invariant factor would only copy it every step: its product is left
    // to `hoist` (or to the loop).
    let invariant = step_invariant(body, nc);
    let stackable =
        |n: NodeId| !invariant[n] && body.nodes[n].bytes() * length <= MAX_STACKED_BYTES;
    // (carry, its input node, its output node, the sink with node ids for a and b)
    let mut found = Vec::new();
    for k in 0..ncarry {
        let Some([c]) = input_nodes.get(&(nc + k)).map(Vec::as_slice) else {
            continue;
        };
        let out = body.outputs[k];
        let Kind::Binary(add @ (BinaryOp::Add | BinaryOp::AddAny), x, y) = &body.nodes[out].kind
        else {
            continue;
        };
        let (t, carry_on_left) = match (*x == *c, *y == *c) {
            (true, false) => (*y, true),
            (false, true) => (*x, false),
            _ => continue,
        };
        let Kind::Dot(dot, a, b) = &body.nodes[t].kind else {
            continue;
        };
        let same = |n: NodeId| {
            body.nodes[n].shape == body.nodes[out].shape
                && body.nodes[n].dtype == body.nodes[out].dtype
        };
        if uses[*c] != 1
            || uses[out] != 1
            || !same(*c)
            || !same(t)
            || !rewritable(body.nodes[out].dtype)
            || !stackable(*a)
            || !stackable(*b)
        {
            continue;
        }
        found.push((k, *c, out, add.clone(), carry_on_left, dot.clone(), *a, *b));
    }
    if found.is_empty() {
        return Vec::new();
    }
    let removed: Vec<usize> = found.iter().map(|f| f.0).collect();
    let dropped: Vec<NodeId> = found.iter().flat_map(|f| [f.1, f.2]).collect();
    let xs_start = nc + ncarry;
    // The outputs: the kept carries, the old ys, then each stacked operand not an xs or a ys.
    let mut outputs: Vec<NodeId> = (0..ncarry)
        .filter(|k| !removed.contains(k))
        .map(|k| body.outputs[k])
        .collect();
    outputs.extend_from_slice(&body.outputs[ncarry..]);
    let ys_start = outputs.len() - (body.outputs.len() - ncarry);
    let stacked = |n: NodeId, outputs: &mut Vec<NodeId>| match body.nodes[n].kind {
        Kind::Input(i) if i >= xs_start => Stacked::Operand(i - removed.len()),
        _ => match outputs[ys_start..].iter().position(|&o| o == n) {
            Some(p) => Stacked::Output(ys_start + p),
            None => {
                outputs.push(n);
                Stacked::Output(outputs.len() - 1)
            }
        },
    };
    let sinks: Vec<Sink> = (found.iter())
        .map(|(k, _, _, add, left, dot, a, b)| Sink {
            carry: *k,
            add: add.clone(),
            carry_on_left: *left,
            dot: dot.clone(),
            a: stacked(*a, &mut outputs),
            b: stacked(*b, &mut outputs),
        })
        .collect();
    body.outputs = outputs;
    // Renumber the inputs after the removed carries.
    let new_index = |i: usize| i - removed.iter().filter(|&&k| nc + k < i).count();
    body.rewrite(|g, n, mut node| {
        if dropped.contains(&n) {
            return usize::MAX;
        }
        if let Kind::Input(i) = node.kind {
            node.kind = Kind::Input(new_index(i));
        }
        g.push_node(node)
    });
    dead_code(body);
    sinks
}

/// Which nodes of a scan body with `nc` consts are the same at every step (computed from
/// consts, constants and literals only).
fn step_invariant(body: &Graph, nc: usize) -> Vec<bool> {
    let mut inv = vec![false; body.nodes.len()];
    for (n, node) in body.nodes.iter().enumerate() {
        inv[n] = match node.kind {
            Kind::Input(i) => i < nc,
            Kind::Const(_) | Kind::Lit(_) | Kind::Iota { .. } => true,
            _ => node.operands().iter().all(|&o| inv[o]),
        };
    }
    inv
}

/// Replace each product of `body` on consts and `xs` only by a new last `xs` input; returns
/// them, in order (`nops` operands, of which `nc` consts and `ncarry` carries).
fn hoist(body: &mut Graph, length: usize, nc: usize, ncarry: usize, nops: usize) -> Vec<Hoist> {
    let xs_start = nc + ncarry;
    let invariant = |n: NodeId| match body.nodes[n].kind {
        Kind::Input(i) if i < nc => Some((i, false)),
        Kind::Input(i) if i >= xs_start => Some((i, true)),
        _ => None,
    };
    let mut hoists = Vec::new();
    let mut replaced: FxHashMap<NodeId, usize> = FxHashMap::default();
    for (n, node) in body.nodes.iter().enumerate() {
        let Kind::Dot(dot, a, b) = &node.kind else {
            continue;
        };
        let (Some(ia), Some(ib)) = (invariant(*a), invariant(*b)) else {
            continue;
        };
        if !(ia.1 || ib.1) || !rewritable(node.dtype) || node.bytes() * length > MAX_STACKED_BYTES {
            continue;
        }
        replaced.insert(n, nops + hoists.len());
        hoists.push(Hoist {
            dot: dot.clone(),
            a: ia,
            b: ib,
            shape: node.shape.clone(),
            dtype: node.dtype,
            lhs_rank: body.nodes[*a].shape.len(),
        });
    }
    if !hoists.is_empty() {
        body.rewrite(|g, n, mut node| {
            if let Some(&i) = replaced.get(&n) {
                node.kind = Kind::Input(i);
                node.arg = usize::MAX;
            }
            g.push_node(node)
        });
    }
    hoists
}

/// Push the rewritten scan `node` (operands renamed) with its hoisted products before it and
/// its sunk carries' results after it; records in `outs` what each old output now is.
fn rebuild(
    g: &mut Graph,
    node: super::graph::Node,
    c: Change,
    outs: &mut FxHashMap<NodeId, Vec<Out>>,
) -> NodeId {
    let Kind::Control {
        op:
            Control::Scan {
                body,
                length,
                reverse,
                num_consts,
                num_carry,
            },
        operands,
    } = node.kind
    else {
        unreachable!("only scans are rewritten")
    };
    // The transposed consts after the old ones.
    let mut operands = operands;
    for (p, &k) in c.transposed.iter().enumerate() {
        let m = operands[k];
        let (shape, dtype) = (&g.nodes[m].shape, g.nodes[m].dtype);
        let shape = vec![shape[1], shape[0]];
        let perm = vec![1, 0];
        let mt = g.push(Kind::Transpose { perm }, shape, dtype, m);
        operands.insert(num_consts + p, mt);
    }
    let num_consts = num_consts + c.transposed.len();
    let removed: Vec<usize> = c.sinks.iter().map(|s| s.carry).collect();
    let carry_operand = |j: usize| (num_consts..num_consts + num_carry).contains(&j);
    let mut ops: Vec<NodeId> = (operands.iter().enumerate())
        .filter(|&(j, _)| !(carry_operand(j) && removed.contains(&(j - num_consts))))
        .map(|(_, &o)| o)
        .collect();
    for h in &c.hoists {
        let x = hoisted(g, h, &ops, length);
        ops.push(x);
    }
    let op = Control::Scan {
        body,
        length,
        reverse,
        num_consts,
        num_carry: num_carry - removed.len(),
    };
    let kind = Kind::Control {
        op,
        operands: ops.clone(),
    };
    let ctrl = g.push(kind, vec![], DType::Bool, usize::MAX);
    let mut map: Vec<Out> = (0..c.old_outputs)
        .map(|k| Out::Index(k - removed.iter().filter(|&&r| r < k).count()))
        .collect();
    for s in &c.sinks {
        let mut operand = |st: Stacked| match st {
            Stacked::Operand(j) => ops[j],
            Stacked::Output(k) => {
                let (shape, dtype) = &c.outputs[k];
                let shape = [&[length], &shape[..]].concat();
                g.push(Kind::ControlOut(ctrl, k), shape, *dtype, usize::MAX)
            }
        };
        let (a, b) = (operand(s.a), operand(s.b));
        // The steps' product, batched over the steps, summed over them: the step axis is
        // contracted instead.
        let (mut dot, _) = s
            .dot
            .with_leading_axis(true, true, g.nodes[a].shape.len() - 1);
        for (batch, contracting) in [
            (&mut dot.lhs_batch, &mut dot.lhs_contracting),
            (&mut dot.rhs_batch, &mut dot.rhs_contracting),
        ] {
            contracting.insert(0, batch.remove(0));
        }
        let init = operands[num_consts + s.carry];
        let (shape, dtype) = (g.nodes[init].shape.clone(), g.nodes[init].dtype);
        let sum = g.push(Kind::Dot(dot, a, b), shape.clone(), dtype, usize::MAX);
        let (x, y) = if s.carry_on_left {
            (init, sum)
        } else {
            (sum, init)
        };
        let total = g.push(Kind::Binary(s.add.clone(), x, y), shape, dtype, usize::MAX);
        map[s.carry] = Out::Node(total);
    }
    outs.insert(ctrl, map);
    ctrl
}

/// The product `h` for every step: one `dot_general` over the stacked `xs` operands (the step
/// axis a free dim, or a batch dim when both are `xs`), transposed to put the steps first.
fn hoisted(g: &mut Graph, h: &Hoist, ops: &[NodeId], length: usize) -> NodeId {
    let (dot, p) = h.dot.with_leading_axis(h.a.1, h.b.1, h.lhs_rank);
    let mut shape = h.shape.clone();
    shape.insert(p, length);
    let prod = g.push(
        Kind::Dot(dot, ops[h.a.0], ops[h.b.0]),
        shape,
        h.dtype,
        usize::MAX,
    );
    if p == 0 {
        return prod;
    }
    let perm = (std::iter::once(p).chain(0..p).chain(p + 1..=h.shape.len())).collect();
    let shape = [&[length], &h.shape[..]].concat();
    g.push(Kind::Transpose { perm }, shape, h.dtype, prod)
}
