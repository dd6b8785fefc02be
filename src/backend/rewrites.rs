//! Graph rewrites between `graph::build` and planning: a list of named passes, each a function
//! of the graph, run in order. After them the graph is final: planning adds no node. A new
//! pass is one function added to [`PASSES`]. Each sub-program of a control-flow node is a
//! graph of its own and is rewritten on its own (nothing is merged across the boundary).

use super::graph::{Graph, Kind, Node, NodeId};
use crate::dtype::Scalar;
use crate::prims::{BinaryOp, DotGeneral, ReduceOp, UnaryOp};
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

/// A graph pass: rewrites the graph in place, computing the same outputs bit for bit (except
/// `thin_dot`'s sums, which run in another order than gemm's, and the products
/// `scan_invariants` moves out of scan bodies).
pub type Pass = fn(&mut Graph);

/// The passes, in the order they run.
pub const PASSES: &[(&str, Pass)] = &[
    ("scan_invariants", super::scan_invariants::scan_invariants),
    ("legalize", super::legalize::legalize),
    ("simplify", simplify),
    ("common_subexpressions", common_subexpressions),
    ("wide_fma", wide_fma),
    ("transposed_products", transposed_products),
    ("canonical_operands", canonical_operands),
    ("dead_code", dead_code),
];

/// Run every pass of [`PASSES`] on `g` and on each of its sub-programs.
pub fn run(g: &mut Graph) {
    for (_, pass) in PASSES {
        pass(g);
    }
    for sub in &mut g.subs {
        run(sub);
    }
}

/// How many times each node is read (as an operand or an output).
pub fn use_counts(g: &Graph) -> Vec<usize> {
    let mut uses = vec![0usize; g.nodes.len()];
    for node in &g.nodes {
        for o in node.operands() {
            uses[o] += 1;
        }
    }
    for &o in &g.outputs {
        uses[o] += 1;
    }
    uses
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

/// Algebraic identities that keep every bit of `x`: `x * 1`, `x + (-0.0)`, `x - 0.0` (and
/// `1 * x`, `-0.0 + x`) are `x`, for floats and integers (`x + 0` for integers). `x + 0.0` is
/// not `x` for floats: `-0.0 + 0.0` is `+0.0`. (A signalling NaN, which the arithmetic would
/// quiet, passes through unchanged.) A literal spread by broadcasts counts as the literal.
/// `integer_pow` by 1 is `x` and by 0 is 1 (as the compiled code computes them: no
/// multiplication by the initial 1).
pub fn simplify(g: &mut Graph) {
    g.rewrite(|g, _, node| {
        match &node.kind {
            Kind::Binary(op, a, b) => {
                let same_type =
                    |n: NodeId| g.nodes[n].shape == node.shape && g.nodes[n].dtype == node.dtype;
                if spread_lit(g, *b).is_some_and(|v| keeps_bits(op, v, true)) && same_type(*a) {
                    return *a;
                }
                if spread_lit(g, *a).is_some_and(|v| keeps_bits(op, v, false)) && same_type(*b) {
                    return *b;
                }
            }
            Kind::Unary(UnaryOp::IntegerPow { y: 1 }, x) => return *x,
            Kind::Unary(UnaryOp::IntegerPow { y: 0 }, _) => {
                let one = Kind::Lit(Scalar::from_i128(1, node.dtype));
                let lit = g.push(one, vec![], node.dtype, usize::MAX);
                if node.shape.is_empty() {
                    return lit;
                }
                let spread = Kind::Broadcast { dims: vec![] };
                return g.push(spread, node.shape, node.dtype, lit);
            }
            _ => {}
        }
        g.push_node(node)
    });
}

/// The literal node `n` is, or spreads by broadcasts.
fn spread_lit(g: &Graph, mut n: NodeId) -> Option<Scalar> {
    loop {
        match g.nodes[n].kind {
            Kind::Lit(v) => return Some(v),
            Kind::Broadcast { .. } => n = g.nodes[n].arg,
            _ => return None,
        }
    }
}

/// Is `x op v` (`v op x` when `!on_right`) `x`, bit for bit, for every `x`?
fn keeps_bits(op: &BinaryOp, v: Scalar, on_right: bool) -> bool {
    let (zero, one, neg_zero) = match v {
        Scalar::F32(c) => (
            c == 0.0 && c.is_sign_positive(),
            c == 1.0,
            c == 0.0 && c.is_sign_negative(),
        ),
        Scalar::F64(c) => (
            c == 0.0 && c.is_sign_positive(),
            c == 1.0,
            c == 0.0 && c.is_sign_negative(),
        ),
        // The 16-bit floats are computed through f32: no algebraic shortcuts for them.
        Scalar::Bool(_) | Scalar::F16(_) | Scalar::BF16(_) => return false,
        c => (c.to_i128() == 0, c.to_i128() == 1, c.to_i128() == 0),
    };
    match op {
        BinaryOp::Mul => one,
        BinaryOp::Add => neg_zero,
        BinaryOp::Sub => on_right && zero,
        _ => false,
    }
}

/// Compute each value once: a node with the kind, operands, shape and dtype of an earlier
/// one is that node (literals are the same when their bits are).
///
/// Nodes are bucketed by a cheap [`fingerprint`]; only nodes sharing one are compared in
/// full (by their printed form), so a graph with few repeats prints almost nothing.
pub fn common_subexpressions(g: &mut Graph) {
    let mut buckets: FxHashMap<u64, SmallVec<[NodeId; 1]>> = FxHashMap::default();
    g.rewrite(|g, _, node| {
        let bucket = buckets.entry(fingerprint(&node)).or_default();
        if !bucket.is_empty() {
            let key = full_key(&node);
            if let Some(&same) = bucket.iter().find(|&&id| full_key(&g.nodes[id]) == key) {
                return same;
            }
        }
        let id = g.push_node(node);
        bucket.push(id);
        id
    });
}

/// What two nodes computing the same value must share: the variant of their kind, shape,
/// dtype, view operand, and for the commonest kinds (literals, elementwise ops) the rest.
fn fingerprint(node: &Node) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    std::mem::discriminant(&node.kind).hash(&mut h);
    (&node.shape, node.dtype, node.arg).hash(&mut h);
    match &node.kind {
        Kind::Lit(v) => lit_bits(*v).hash(&mut h),
        Kind::Input(i) | Kind::Const(i) => i.hash(&mut h),
        Kind::Unary(_, x) => x.hash(&mut h),
        Kind::Binary(_, a, b) => (a, b).hash(&mut h),
        _ => {}
    }
    h.finish()
}

/// Everything a node computes, as text: equal exactly for nodes computing the same value.
fn full_key(node: &Node) -> String {
    match node.kind {
        Kind::Lit(v) => format!("Lit {:?}", lit_bits(v)),
        _ => format!("{node:?}"),
    }
}

/// A literal's dtype and bits.
fn lit_bits(v: Scalar) -> (crate::dtype::DType, u64) {
    (v.dtype(), v.bits())
}

/// `convert_f32(convert_f64(a) * convert_f64(b) + convert_f64(c))` for f32 `a`, `b`, `c` is
/// one `WideFma` node (the same instructions, see `ops::wide_fma`): a loop holding it then
/// computes in f32 lanes only, and vectorises (a loop mixing 4- and 8-byte lanes does not).
/// The f64 nodes stay for any other reader (`dead_code` drops them otherwise).
pub fn wide_fma(g: &mut Graph) {
    use crate::dtype::DType;
    use crate::prims::UnaryOp;
    g.rewrite(|g, _, node| {
        // `n` as `convert_element_type(x, to)`: `x`.
        let converted = |n: NodeId, to: DType, from: DType| match g.nodes[n].kind {
            Kind::Unary(UnaryOp::ConvertElementType { new_dtype, .. }, x)
                if new_dtype == to && g.nodes[x].dtype == from =>
            {
                Some(x)
            }
            _ => None,
        };
        let binary = |n: NodeId, want: BinaryOp| match &g.nodes[n].kind {
            Kind::Binary(op, x, y) if *op == want => Some((*x, *y)),
            _ => None,
        };
        let fold = (|| {
            let Kind::Unary(UnaryOp::ConvertElementType { new_dtype, .. }, sum) = node.kind else {
                return None;
            };
            if new_dtype != DType::F32 || g.nodes[sum].dtype != DType::F64 {
                return None;
            }
            let (product, c) = binary(sum, BinaryOp::Add)?;
            // An f64 literal that is exactly an f32 is one converted from f32 (folded).
            let exact_f32 = |n: NodeId| match g.nodes[n].kind {
                Kind::Lit(Scalar::F64(v)) if (v as f32 as f64).to_bits() == v.to_bits() => {
                    Some(v as f32)
                }
                _ => None,
            };
            let narrow = |n: NodeId| match converted(n, DType::F64, DType::F32) {
                Some(x) => Some(Ok(x)),
                None => exact_f32(n).map(Err),
            };
            let (a, b) = match binary(product, BinaryOp::Mul) {
                Some((a, b)) => (narrow(a)?, narrow(b)?),
                // A product by 1.0 that `simplify` dropped is still `a * 1.0`, exactly.
                None => (narrow(product)?, Err(1.0)),
            };
            Some([a, b, narrow(c)?])
        })();
        let fold = fold.map(|xs| {
            xs.map(|x| match x {
                Ok(x) => x,
                Err(v) => g.push(Kind::Lit(Scalar::F32(v)), vec![], DType::F32, usize::MAX),
            })
        });
        match fold {
            Some(xs) => g.push_node(Node {
                kind: Kind::WideFma(xs),
                ..node
            }),
            None => g.push_node(node),
        }
    });
}

/// `transpose(dot_general(a, b))` that swaps the result's lhs-free and rhs-free dims is
/// `dot_general(b, a)` with the dimension numbers swapped: computed that way, the product
/// writes the transposed result directly instead of a result that is then copied transposed
/// (a gradient's `dW = (xᵀ g)ᵀ`). Only for a product nothing else reads.
pub fn transposed_products(g: &mut Graph) {
    let uses = use_counts(g);
    let swaps_free_dims = |node: &Node| {
        let Kind::Transpose { perm } = &node.kind else {
            return false;
        };
        let Kind::Dot(d, a, _) = &g.nodes[node.arg].kind else {
            return false;
        };
        let nb = d.lhs_batch.len();
        let nlf = g.nodes[*a].shape.len() - nb - d.lhs_contracting.len();
        let nrf = perm.len() - nb - nlf;
        let want = (0..nb).chain(nb + nlf..nb + nlf + nrf).chain(nb..nb + nlf);
        uses[node.arg] == 1 && perm.iter().copied().eq(want)
    };
    let swap: Vec<bool> = g.nodes.iter().map(swaps_free_dims).collect();
    g.rewrite(|g, i, node| {
        if !swap[i] {
            return g.push_node(node);
        }
        let Kind::Dot(d, a, b) = &g.nodes[node.arg].kind else {
            unreachable!("only transposed products are swapped")
        };
        let swapped = DotGeneral {
            lhs_contracting: d.rhs_contracting.clone(),
            rhs_contracting: d.lhs_contracting.clone(),
            lhs_batch: d.rhs_batch.clone(),
            rhs_batch: d.lhs_batch.clone(),
            preferred_element_type: d.preferred_element_type,
        };
        let kind = Kind::Dot(swapped, *b, *a);
        g.push(kind, node.shape, node.dtype, usize::MAX)
    });
}

/// Make explicit what planning needs as nodes: each `dot_general` becomes a `MatMul` reading
/// its operands in `[batch, m, k]` and `[batch, k, n]` order through strides into their own
/// buffers (through a `Transpose` node only where the permuted dims do not merge into three
/// strided ones), and a reduction whose innermost dimension is kept gets its identity as
/// an `init` literal (it is then computed by combining into a filled result).
pub fn canonical_operands(g: &mut Graph) {
    g.rewrite(|g, _, mut node| {
        match &mut node.kind {
            Kind::Dot(d, a, b) => {
                if let Some(fused) = thin_dot(g, d, *a, *b, &node.shape, node.dtype) {
                    return fused;
                }
                let c = d.canonical(&g.nodes[*a].shape, &g.nodes[*b].shape);
                let nb = d.lhs_batch.len();
                let (nc, nlf) = (
                    d.lhs_contracting.len(),
                    c.lhs_perm.len() - nb - d.lhs_contracting.len(),
                );
                let nrf = c.rhs_perm.len() - nb - nc;
                let (lhs, lhs_strides) = strided(g, *a, &c.lhs_perm, [nb, nlf, nc]);
                let (rhs, rhs_strides) = strided(g, *b, &c.rhs_perm, [nb, nc, nrf]);
                node.kind = Kind::MatMul {
                    lhs,
                    rhs,
                    batch: c.batch,
                    m: c.m,
                    k: c.k,
                    n: c.n,
                    lhs_strides,
                    rhs_strides,
                };
                node.arg = usize::MAX;
            }
            Kind::Reduce { op, x, init } => *init = reduce_init(g, op, *x),
            _ => {}
        }
        g.push_node(node)
    });
}

/// The identity literal a reduction starts from when the innermost dimension of `x` with more
/// than one element is kept (then the result is filled with it and every element of `x` is
/// combined into its place, vectorised along that dimension); `None` when accumulators in
/// registers run over the reduced dims innermost.
fn reduce_init(g: &mut Graph, op: &ReduceOp, x: NodeId) -> Option<NodeId> {
    let xs = &g.nodes[x].shape;
    let axes = op.axes();
    let last_big = (0..xs.len()).rev().find(|&d| xs[d] > 1);
    let inner = matches!(op, ReduceOp::Argmax { .. } | ReduceOp::Argmin { .. })
        || last_big.is_none_or(|d| axes.contains(&d));
    if inner {
        return None;
    }
    let v = op.identity(g.nodes[x].dtype);
    Some(g.push(Kind::Lit(v), vec![], v.dtype(), usize::MAX))
}

/// Products with at most this many multiply-adds and a unit dimension become fused loops.
pub(super) const THIN_DOT_MAX_WORK: usize = 1 << 22;

/// A floating-point `dot_general` with a unit free or contracted size (matrix-vector,
/// vector-matrix, outer product) as a sum over the contracted dims of the broadcast product of
/// its operands, which planning fuses with its neighbours and vectorises: a gemm call pays off
/// only for real matrix products, and in a loop body (an RNN step) these are the common case.
/// The product's dims are `batch ++ lhs free ++ rhs free ++ contracted` for a matrix-vector
/// product (accumulated in registers along the contiguous contracted dim), `batch ++
/// contracted ++ free` for a vector-matrix product (accumulated into the result, vectorised
/// along the rhs free dim), and no reduction at all for an outer product. The summation order
/// differs from gemm's (within the same error bound).
fn thin_dot(
    g: &mut Graph,
    d: &DotGeneral,
    a: NodeId,
    b: NodeId,
    out_shape: &[usize],
    dt: crate::dtype::DType,
) -> Option<NodeId> {
    let (xs, ys) = (g.nodes[a].shape.clone(), g.nodes[b].shape.clone());
    let c = d.canonical(&xs, &ys);
    let work = c.batch * c.m * c.n * c.k;
    let thin = c.k == 1 || c.m == 1 || c.n == 1;
    if !dt.is_float() || !thin || work == 0 || work > THIN_DOT_MAX_WORK {
        return None;
    }
    let free = |contract: &[usize], batch: &[usize], rank: usize| -> Vec<usize> {
        (0..rank)
            .filter(|i| !contract.contains(i) && !batch.contains(i))
            .collect()
    };
    let (lb, lc) = (&d.lhs_batch, &d.lhs_contracting);
    let (rb, rc) = (&d.rhs_batch, &d.rhs_contracting);
    let (lf, rf) = (free(lc, lb, xs.len()), free(rc, rb, ys.len()));
    let sizes = |s: &[usize], dims: &[usize]| dims.iter().map(|&i| s[i]).collect::<Vec<_>>();
    let (nb, nlf, nrf, nc) = (lb.len(), lf.len(), rf.len(), lc.len());
    let range = |lo: usize, n: usize| (lo..lo + n).collect::<Vec<_>>();
    // Where each group of operand dims goes in the product, and the reduced axes.
    let contract_first = c.k > 1 && c.n > 1 && c.m == 1;
    let (lhs_groups, rhs_groups, reduced): (Vec<&[usize]>, Vec<&[usize]>, Vec<usize>) = if c.k == 1
    {
        // The unit contracted dims are dropped after the transpose.
        (vec![lb, &lf, lc], vec![rb, &rf, rc], vec![])
    } else if contract_first {
        (vec![lb, lc, &lf], vec![rb, rc, &rf], range(nb, nc))
    } else {
        (
            vec![lb, &lf, lc],
            vec![rb, &rf, rc],
            range(nb + nlf + nrf, nc),
        )
    };
    let mut pshape = sizes(&xs, lb);
    let (lhs_dims, rhs_dims) = if c.k == 1 {
        pshape.extend(sizes(&xs, &lf));
        pshape.extend(sizes(&ys, &rf));
        (
            [range(0, nb), range(nb, nlf)].concat(),
            [range(0, nb), range(nb + nlf, nrf)].concat(),
        )
    } else if contract_first {
        pshape.extend(sizes(&xs, lc));
        pshape.extend(sizes(&xs, &lf));
        pshape.extend(sizes(&ys, &rf));
        (
            [range(0, nb), range(nb, nc), range(nb + nc, nlf)].concat(),
            [range(0, nb), range(nb, nc), range(nb + nc + nlf, nrf)].concat(),
        )
    } else {
        pshape.extend(sizes(&xs, &lf));
        pshape.extend(sizes(&ys, &rf));
        pshape.extend(sizes(&xs, lc));
        (
            [range(0, nb), range(nb, nlf), range(nb + nlf + nrf, nc)].concat(),
            [
                range(0, nb),
                range(nb + nlf, nrf),
                range(nb + nlf + nrf, nc),
            ]
            .concat(),
        )
    };
    let spread = |g: &mut Graph, x: NodeId, groups: &[&[usize]], dims: Vec<usize>| {
        let perm: Vec<usize> = groups.concat();
        let t = transposed(g, x, &perm);
        // An outer product drops the (unit) contracted dims.
        let kept: Vec<usize> = dims.iter().map(|&p| pshape[p]).collect();
        let t = if kept.len() == perm.len() {
            t
        } else {
            g.push(Kind::Reshape, kept, dt, t)
        };
        g.push(Kind::Broadcast { dims }, pshape.clone(), dt, t)
    };
    let lhs = spread(g, a, &lhs_groups, lhs_dims);
    let rhs = spread(g, b, &rhs_groups, rhs_dims);
    let product = g.push(
        Kind::Binary(BinaryOp::Mul, lhs, rhs),
        pshape.clone(),
        dt,
        usize::MAX,
    );
    if reduced.is_empty() {
        return Some(product);
    }
    let op = ReduceOp::Sum { axes: reduced };
    let init = reduce_init(g, &op, product);
    Some(g.push(
        Kind::Reduce {
            op,
            x: product,
            init,
        },
        out_shape.to_vec(),
        dt,
        product,
    ))
}

/// Operand `x` of a product, read with its dims in `perm` order as three groups of `sizes`
/// dims each (batch, rows, columns): the node whose row-major buffer is read (`x`, or the
/// operand of `x` when `x` is a transpose) and the element strides of the three groups in it;
/// where no such strides exist, a `Transpose` node of `x` and its row-major strides.
fn strided(g: &mut Graph, x: NodeId, perm: &[usize], sizes: [usize; 3]) -> (NodeId, [i64; 3]) {
    if let Kind::Transpose { perm: p } = &g.nodes[x].kind {
        let through: Vec<usize> = perm.iter().map(|&d| p[d]).collect();
        let arg = g.nodes[x].arg;
        if let Some(s) = group_strides(&g.nodes[arg].shape, &through, sizes) {
            return (arg, s);
        }
    }
    if let Some(s) = group_strides(&g.nodes[x].shape, perm, sizes) {
        return (x, s);
    }
    let shape = g.nodes[x].shape.clone();
    let t = transposed(g, x, perm);
    let size = |group: std::ops::Range<usize>| -> i64 {
        perm[group].iter().map(|&d| shape[d] as i64).product()
    };
    let (cols, inner) = (
        size(sizes[0] + sizes[1]..perm.len()),
        size(sizes[0]..perm.len()),
    );
    (t, [inner, cols, 1])
}

/// The element strides of three groups of `sizes` dims (in `perm` order) of a row-major
/// array of `shape`, when each group's dims merge into one strided dim.
fn group_strides(shape: &[usize], perm: &[usize], sizes: [usize; 3]) -> Option<[i64; 3]> {
    let rows = crate::backend::index::row_strides(shape);
    let mut out = [0i64; 3];
    let mut at = 0;
    for (group, &len) in sizes.iter().enumerate() {
        let dims: Vec<usize> = perm[at..at + len]
            .iter()
            .copied()
            .filter(|&d| shape[d] > 1)
            .collect();
        at += len;
        if !dims
            .windows(2)
            .all(|w| rows[w[0]] == rows[w[1]] * shape[w[1]] as i64)
        {
            return None;
        }
        // A group of unit dims is never stepped: any stride does.
        out[group] = dims.last().map_or(1, |&d| rows[d]);
    }
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    fn graph() -> Graph {
        let mut g = Graph {
            nodes: Vec::new(),
            consts: Vec::new(),
            outputs: Vec::new(),
            subs: Vec::new(),
        };
        g.push(Kind::Input(0), vec![3], DType::F32, usize::MAX);
        g
    }

    fn lit(g: &mut Graph, v: f32) -> NodeId {
        g.push(Kind::Lit(Scalar::F32(v)), vec![], DType::F32, usize::MAX)
    }

    fn binary(g: &mut Graph, op: BinaryOp, a: NodeId, b: NodeId) -> NodeId {
        g.push(Kind::Binary(op, a, b), vec![3], DType::F32, usize::MAX)
    }

    fn is_binary(g: &Graph, n: NodeId, op: BinaryOp) -> bool {
        matches!(&g.nodes[n].kind, Kind::Binary(o, 0, _) if *o == op)
    }

    #[test]
    fn simplify_keeps_only_bit_exact_identities() {
        let mut g = graph();
        let (one, zero, neg_zero) = (lit(&mut g, 1.0), lit(&mut g, 0.0), lit(&mut g, -0.0));
        let a = binary(&mut g, BinaryOp::Mul, 0, one);
        let b = binary(&mut g, BinaryOp::Add, neg_zero, a);
        let c = binary(&mut g, BinaryOp::Sub, b, zero);
        let d = binary(&mut g, BinaryOp::Add, 0, zero);
        let e = binary(&mut g, BinaryOp::Sub, 0, neg_zero);
        g.outputs = vec![c, d, e];
        simplify(&mut g);
        dead_code(&mut g);
        assert_eq!(g.outputs[0], 0, "x * 1 + -0.0 - 0.0 is x");
        assert!(is_binary(&g, g.outputs[1], BinaryOp::Add), "x + 0.0 stays");
        assert!(
            is_binary(&g, g.outputs[2], BinaryOp::Sub),
            "x - (-0.0) stays"
        );
    }

    #[test]
    fn simplify_folds_integer_pow_by_one_and_zero() {
        // x^1 is x; x^0 is a spread 1, and x * (x^0 spread again) is x.
        let mut g = graph();
        let pow = |g: &mut Graph, y: i32| {
            g.push(
                Kind::Unary(UnaryOp::IntegerPow { y }, 0),
                vec![3],
                DType::F32,
                0,
            )
        };
        let (p1, p0, p2) = (pow(&mut g, 1), pow(&mut g, 0), pow(&mut g, 2));
        let spread = g.push(Kind::Broadcast { dims: vec![0] }, vec![3], DType::F32, p0);
        let times_one = binary(&mut g, BinaryOp::Mul, 0, spread);
        g.outputs = vec![p1, p0, times_one, p2];
        simplify(&mut g);
        dead_code(&mut g);
        let o = &g.outputs;
        assert_eq!((o[0], o[2]), (0, 0), "x^1 and x * x^0 are x");
        assert_eq!(spread_lit(&g, o[1]), Some(Scalar::F32(1.0)), "x^0 is 1");
        assert_eq!(g.nodes[o[1]].shape, vec![3]);
        assert!(matches!(
            g.nodes[o[3]].kind,
            Kind::Unary(UnaryOp::IntegerPow { y: 2 }, 0)
        ));
    }

    #[test]
    fn common_subexpressions_are_computed_once() {
        let mut g = graph();
        let (two, two_again) = (lit(&mut g, 2.0), lit(&mut g, 2.0));
        let (zero, neg_zero) = (lit(&mut g, 0.0), lit(&mut g, -0.0));
        let a = binary(&mut g, BinaryOp::Mul, 0, two);
        let b = binary(&mut g, BinaryOp::Mul, 0, two_again);
        let c = binary(&mut g, BinaryOp::Add, 0, zero);
        let d = binary(&mut g, BinaryOp::Add, 0, neg_zero);
        g.outputs = vec![a, b, c, d];
        common_subexpressions(&mut g);
        assert_eq!(g.outputs[0], g.outputs[1]);
        assert_ne!(g.outputs[2], g.outputs[3], "0.0 and -0.0 differ");
        assert_eq!(g.nodes.len(), 1 + 3 + 3);
    }

    #[test]
    fn common_subexpressions_compare_what_the_fingerprint_leaves_out() {
        // Same fingerprint (kind variant, operands, shape, dtype), different op or attributes.
        let mut g = graph();
        let two = lit(&mut g, 2.0);
        let mul = binary(&mut g, BinaryOp::Mul, 0, two);
        let add = binary(&mut g, BinaryOp::Add, 0, two);
        let mul_again = binary(&mut g, BinaryOp::Mul, 0, two);
        let slice = |g: &mut Graph, start: usize| {
            let kind = Kind::Slice {
                start: vec![start],
                strides: vec![1],
            };
            g.push(kind, vec![2], DType::F32, 0)
        };
        let (head, tail, head_again) = (slice(&mut g, 0), slice(&mut g, 1), slice(&mut g, 0));
        g.outputs = vec![mul, add, mul_again, head, tail, head_again];
        common_subexpressions(&mut g);
        let o = &g.outputs;
        assert_eq!((o[0], o[3]), (o[2], o[5]), "repeats are computed once");
        assert!(is_binary(&g, o[1], BinaryOp::Add), "x + 2 is not x * 2");
        assert!(
            o[0] != o[1] && o[3] != o[4],
            "different ops or starts stay apart"
        );
        assert_eq!(g.nodes.len(), 1 + 1 + 2 + 2);
    }

    #[test]
    fn dead_code_keeps_what_the_outputs_read() {
        let mut g = graph();
        let two = lit(&mut g, 2.0);
        let unused = binary(&mut g, BinaryOp::Add, 0, two);
        let used = binary(&mut g, BinaryOp::Mul, 0, two);
        binary(&mut g, BinaryOp::Sub, unused, 0);
        g.outputs = vec![used];
        dead_code(&mut g);
        assert_eq!(g.nodes.len(), 3);
        assert!(is_binary(&g, g.outputs[0], BinaryOp::Mul));
    }
}
