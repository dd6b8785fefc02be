//! Fusion planning: which nodes get buffers, and the list of kernels (loop nests and library
//! calls) that fill them, in execution order.
//!
//! Elementwise nodes and views have no buffer of their own unless something needs one (a jaxpr
//! output, a non-fusible consumer such as `gather`'s operand, or an expensive value used more
//! than once). Every consumer evaluates them inline at the index it needs, so a run of
//! elementwise ops becomes one loop with no intermediate buffers. Elementwise roots of the same
//! shape that follow each other share one loop nest (multi-output fusion); inside it they are
//! evaluated inline, so shared subexpressions are computed once per element.

use super::graph::{Graph, Kind, NodeId};
use super::index::{self, Aff, Map, ReshapePlan};
use crate::core::error::{Error, Result};
use crate::dtype::{DType, Scalar};
use crate::prims::{BinaryOp, ReduceOp, UnaryOp};
use std::collections::HashSet;

/// Where a node's row-major data lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Buf {
    Input(usize),
    Const(usize),
    Output(usize),
    /// Byte offset into the per-call scratch area.
    Temp(usize),
}

/// The buffer a kernel writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The buffer of this node (resolved through aliases).
    Node(NodeId),
    /// Output `k` directly (copies of inputs, constants and repeated outputs).
    Out(usize),
}

/// A dynamic part of an address: `clamp(value(node at map), 0, hi) * stride`.
#[derive(Clone, Debug)]
pub struct DynTerm {
    pub node: NodeId,
    pub map: Map,
    pub hi: i64,
    pub stride: i64,
}

/// Where an output element goes: `form` (in elements) plus the dynamic terms.
#[derive(Clone, Debug)]
pub struct Dest {
    pub target: Target,
    pub form: Aff,
    pub dyn_terms: Vec<DynTerm>,
}

/// One value stored per loop iteration of a `Map` kernel.
#[derive(Clone, Debug)]
pub struct Out {
    pub node: NodeId,
    pub map: Map,
    pub dest: Dest,
    /// Read-modify-write with this op instead of a plain store (reductions into a buffer,
    /// scatter-add).
    pub combine: Option<BinaryOp>,
    /// False for a root whose buffer nobody reads: it is only evaluated (inline, shared by
    /// the other outputs of its loop), not stored.
    pub store: bool,
}

impl Out {
    fn is_plain(&self) -> bool {
        self.combine.is_none() && self.dest.dyn_terms.is_empty()
    }

    /// A plain store of an elementwise node into its own buffer, or a copy into an output:
    /// the only outputs that may share a loop nest (nothing later reads what they write
    /// inside the same loop, because their values are recomputed inline instead).
    fn is_root(&self, g: &Graph) -> bool {
        self.is_plain()
            && match self.dest.target {
                Target::Out(_) => true,
                Target::Node(t) => t == self.node && is_inline_kind(&g.nodes[t].kind),
            }
    }
}

#[derive(Clone, Debug)]
pub enum KernelKind {
    /// A loop nest over `dims` storing each `Out`.
    Map { outs: Vec<Out> },
    /// `node = reduce(x)` with the reduced dims innermost: loop dims are `kept` then
    /// `reduced` (dims of `x`), accumulating in registers.
    Reduce {
        node: NodeId,
        x: NodeId,
        op: ReduceOp,
        kept: Vec<usize>,
        reduced: Vec<usize>,
    },
    /// `dot_general` on canonical [B,M,K] x [B,K,N] buffers.
    MatMul {
        node: NodeId,
        lhs: NodeId,
        rhs: NodeId,
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
    },
}

#[derive(Clone, Debug)]
pub struct Kernel {
    /// Loop extents (for `Map`: the iteration domain; for `Reduce`: `x`'s dims permuted).
    pub dims: Vec<usize>,
    pub kind: KernelKind,
}

impl Kernel {
    /// Nodes a `Map` kernel evaluates inline even if they have a buffer: the values of its
    /// plain outputs (elementwise kinds only).
    pub fn roots(&self, g: &Graph) -> HashSet<NodeId> {
        match &self.kind {
            KernelKind::Map { outs } => outs
                .iter()
                .filter(|o| o.is_root(g) && is_inline_kind(&g.nodes[o.node].kind))
                .map(|o| o.node)
                .collect(),
            _ => HashSet::new(),
        }
    }
}

pub struct Plan {
    /// Per node: the node whose buffer holds its data (itself, or the operand of a reshape
    /// alias), if it has one.
    pub owner: Vec<Option<NodeId>>,
    /// Per owner node: its buffer.
    pub buf: Vec<Option<Buf>>,
    pub reshape: Vec<Option<ReshapePlan>>,
    pub kernels: Vec<Kernel>,
    pub scratch_bytes: usize,
    /// Nodes of the jaxpr itself (planning appends helper nodes after them).
    pub original_nodes: usize,
}

impl Plan {
    /// Is node `n` computed inline (rather than read from a buffer) in a kernel whose
    /// roots are `roots`? Inline kinds without a buffer are; so are a kernel's own roots.
    pub fn expands(&self, g: &Graph, n: NodeId, roots: &HashSet<NodeId>) -> bool {
        is_inline_kind(&g.nodes[n].kind)
            && match self.owner[n] {
                None => true,
                Some(o) => o == n && roots.contains(&n),
            }
    }

    /// The buffer holding node `n`, if any.
    pub fn buf_of(&self, n: NodeId) -> Option<Buf> {
        self.owner[n].and_then(|o| self.buf[o])
    }

    pub fn target_buf(&self, t: Target) -> Buf {
        match t {
            Target::Node(n) => self.buf_of(n).expect("written nodes have buffers"),
            Target::Out(k) => Buf::Output(k),
        }
    }
}

/// Nodes computed inline by their consumers (pure functions of an index).
pub fn is_inline_kind(k: &Kind) -> bool {
    matches!(
        k,
        Kind::Lit(_)
            | Kind::Unary(..)
            | Kind::Binary(..)
            | Kind::Select(_)
            | Kind::Threefry(_)
            | Kind::Proj(..)
            | Kind::Iota { .. }
            | Kind::Broadcast { .. }
            | Kind::Transpose { .. }
            | Kind::Reshape
            | Kind::Squeeze
            | Kind::Slice { .. }
            | Kind::DynSlice { .. }
            | Kind::Gather { .. }
    )
}

/// Worth computing once and storing when used more than once.
fn is_expensive(k: &Kind) -> bool {
    use crate::prims::unary::Cost;
    match k {
        Kind::Unary(op, _) => UnaryOp::cost(op) == Cost::Expensive,
        Kind::Binary(op, ..) => BinaryOp::cost(op) == Cost::Expensive,
        Kind::Proj(..) | Kind::Gather { .. } => true,
        _ => false,
    }
}

/// The binary op a reduction combines with.
pub fn reduce_combiner(op: &ReduceOp, dt: DType) -> BinaryOp {
    match (op, dt) {
        (ReduceOp::Sum { .. }, _) => BinaryOp::Add,
        (ReduceOp::Max { .. }, DType::Bool) => BinaryOp::Or,
        (ReduceOp::Min { .. }, DType::Bool) => BinaryOp::And,
        (ReduceOp::Max { .. }, _) => BinaryOp::Max,
        (ReduceOp::Min { .. }, _) => BinaryOp::Min,
        _ => unreachable!("argmax/argmin do not combine elementwise"),
    }
}

/// Does evaluating `n` inline in a loop that also stores `outs` read (from memory) a buffer
/// one of those outputs writes? Then it cannot share their loop.
fn reads_any(g: &Graph, owner: &[Option<NodeId>], outs: &[Out], n: NodeId) -> bool {
    let written: HashSet<NodeId> = outs
        .iter()
        .filter_map(|o| match o.dest.target {
            Target::Node(t) => owner[t],
            Target::Out(_) => None,
        })
        .collect();
    let roots: HashSet<NodeId> = outs.iter().map(|o| o.node).chain([n]).collect();
    let mut stack = vec![n];
    let mut seen = HashSet::new();
    while let Some(m) = stack.pop() {
        if !seen.insert(m) {
            continue;
        }
        let expand = is_inline_kind(&g.nodes[m].kind)
            && match owner[m] {
                None => true,
                Some(o) => o == m && roots.contains(&m),
            };
        if !expand {
            if owner[m].is_some_and(|o| written.contains(&o)) {
                return true;
            }
            continue;
        }
        match &g.nodes[m].kind {
            Kind::Gather { x, idx, .. } => {
                if owner[*x].is_some_and(|o| written.contains(&o)) {
                    return true;
                }
                stack.push(*idx);
            }
            Kind::DynSlice { x, starts } => {
                if owner[*x].is_some_and(|o| written.contains(&o)) {
                    return true;
                }
                stack.extend(starts);
            }
            _ => stack.extend(g.nodes[m].operands()),
        }
    }
    false
}

struct Planner<'g> {
    g: &'g mut Graph,
    needs_len_at_start: usize,
    needs: Vec<bool>,
    owner: Vec<Option<NodeId>>,
    reshape: Vec<Option<ReshapePlan>>,
    kernels: Vec<Kernel>,
}

/// Plan `g`; nodes in `force` get buffers even if they could be computed inline.
pub fn plan(g: &mut Graph, force: &HashSet<NodeId>) -> Result<Plan> {
    let n = g.nodes.len();
    // Only what the outputs depend on is computed.
    let mut live = vec![false; n];
    for &o in &g.outputs {
        live[o] = true;
    }
    for i in (0..n).rev() {
        if live[i] {
            for o in g.nodes[i].operands() {
                live[o] = true;
            }
        }
    }
    let mut uses = vec![0usize; n];
    for node in g
        .nodes
        .iter()
        .zip(&live)
        .filter(|(_, &l)| l)
        .map(|(n, _)| n)
    {
        for o in node.operands() {
            uses[o] += 1;
        }
    }
    for &o in &g.outputs {
        uses[o] += 1;
    }
    let mut reshape: Vec<Option<ReshapePlan>> = vec![None; n];
    let mut needs = vec![false; n];
    for i in 0..n {
        if !live[i] {
            continue;
        }
        let node = &g.nodes[i];
        match &node.kind {
            Kind::Reshape | Kind::Squeeze => {
                let arg = &g.nodes[node.arg];
                reshape[i] = index::reshape_plan(&arg.shape, &node.shape);
                if reshape[i].is_none() {
                    needs[node.arg] = true;
                }
            }
            Kind::Gather { x, .. } | Kind::DynSlice { x, .. } => needs[*x] = true,
            Kind::Lit(_) | Kind::Threefry(_) => {}
            k if !is_inline_kind(k) => needs[i] = true,
            k if is_expensive(k) && uses[i] > 1 => needs[i] = true,
            _ => {}
        }
    }
    for &o in &g.outputs {
        if !matches!(g.nodes[o].kind, Kind::Lit(_)) {
            needs[o] = true;
        }
    }
    for &f in force {
        if f < n && !matches!(g.nodes[f].kind, Kind::Lit(_) | Kind::Threefry(_)) {
            needs[f] = true;
        }
    }
    let mut p = Planner {
        g,
        needs_len_at_start: n,
        needs,
        owner: vec![None; n],
        reshape,
        kernels: Vec::new(),
    };
    for i in (0..n).filter(|&i| live[i]) {
        p.visit(i)?;
    }
    p.finish()
}

impl Planner<'_> {
    fn extend(&mut self) {
        let n = self.g.nodes.len();
        self.needs.resize(n, false);
        self.owner.resize(n, None);
        self.reshape.resize(n, None);
    }

    fn shape(&self, n: NodeId) -> &[usize] {
        &self.g.nodes[n].shape
    }

    /// A plain store of node `n` into its own buffer over its own shape.
    fn own_out(&self, n: NodeId) -> (Vec<usize>, Out) {
        let shape = self.shape(n).to_vec();
        let nl = shape.len();
        let vars: Vec<usize> = (0..nl).collect();
        let map = index::identity(nl, &vars);
        let form = index::linear(&map, &index::row_strides(&shape), nl);
        (
            shape,
            Out {
                node: n,
                map,
                dest: Dest {
                    target: Target::Node(n),
                    form,
                    dyn_terms: vec![],
                },
                combine: None,
                store: true,
            },
        )
    }

    /// Append a kernel that stores node `src`, read through `map`, into node `target`'s buffer
    /// at `form` (plus `dyn_terms`), over the loop domain `dims`.
    fn push_store(
        &mut self,
        dims: Vec<usize>,
        src: NodeId,
        map: Map,
        target: NodeId,
        form: Aff,
        dyn_terms: Vec<DynTerm>,
    ) {
        self.kernels.push(Kernel {
            dims,
            kind: KernelKind::Map {
                outs: vec![Out {
                    node: src,
                    map,
                    dest: Dest {
                        target: Target::Node(target),
                        form,
                        dyn_terms,
                    },
                    combine: None,
                    store: true,
                }],
            },
        });
    }

    /// Append a `Map` kernel, merging plain outputs into the previous kernel when it is a
    /// plain `Map` over the same domain.
    fn push_map(&mut self, dims: Vec<usize>, out: Out) {
        if out.is_root(self.g) {
            let g = &*self.g;
            if let Some(Kernel {
                dims: last_dims,
                kind: KernelKind::Map { outs },
            }) = self.kernels.last_mut()
            {
                if *last_dims == dims
                    && outs.iter().all(|o| o.is_root(g))
                    && !reads_any(g, &self.owner, outs, out.node)
                {
                    outs.push(out);
                    return;
                }
            }
        }
        self.kernels.push(Kernel {
            dims,
            kind: KernelKind::Map { outs: vec![out] },
        });
    }

    fn lit(&mut self, v: Scalar) -> NodeId {
        self.g.nodes.push(super::graph::Node {
            kind: Kind::Lit(v),
            shape: vec![],
            dtype: v.dtype(),
            arg: usize::MAX,
        });
        self.extend();
        self.g.nodes.len() - 1
    }

    fn visit(&mut self, i: NodeId) -> Result<()> {
        let kind = self.g.nodes[i].kind.clone();
        match &kind {
            Kind::Input(_) | Kind::Const(_) => {
                self.owner[i] = Some(i);
                return Ok(());
            }
            Kind::Reshape | Kind::Squeeze => {
                let arg = self.g.nodes[i].arg;
                if let Some(o) = self.owner[arg] {
                    self.owner[i] = Some(o); // the same bytes, relabelled
                    return Ok(());
                }
            }
            _ => {}
        }
        if !self.needs[i] {
            return Ok(());
        }
        self.owner[i] = Some(i);
        let shape = self.shape(i).to_vec();
        let nl = shape.len();
        let strides = index::row_strides(&shape);
        let ident = |vars: &[usize], nloops: usize| index::identity(nloops, vars);
        match &kind {
            k if is_inline_kind(k) => {
                let (dims, out) = self.own_out(i);
                self.push_map(dims, out);
            }
            Kind::Reduce(op, x) => self.reduce(i, op, *x),
            Kind::Dot(d, a, b) => {
                let (xs, ys) = (self.shape(*a).to_vec(), self.shape(*b).to_vec());
                let c = d.canonical(&xs, &ys);
                let lhs = self.canonical_operand(*a, &c.lhs_perm);
                let rhs = self.canonical_operand(*b, &c.rhs_perm);
                self.kernels.push(Kernel {
                    dims: vec![],
                    kind: KernelKind::MatMul {
                        node: i,
                        lhs,
                        rhs,
                        batch: c.batch,
                        m: c.m,
                        k: c.k,
                        n: c.n,
                    },
                });
            }
            Kind::Pad { config, x, value } => {
                // Fill with the padding value, then copy the operand to its strided place.
                self.push_store(
                    shape.clone(),
                    *value,
                    vec![],
                    i,
                    index::linear(&ident(&(0..nl).collect::<Vec<_>>(), nl), &strides, nl),
                    vec![],
                );
                let xs = self.shape(*x).to_vec();
                let vars: Vec<usize> = (0..nl).collect();
                let xmap = ident(&vars, nl);
                let mut form = Aff::zero(nl);
                for (d, &(lo, _, int)) in config.iter().enumerate() {
                    form.add_assign(
                        &Aff::var(nl, d).scale_add(int as i64 + 1, lo as i64),
                        strides[d],
                    );
                }
                self.push_store(xs, *x, xmap, i, form, vec![]);
            }
            Kind::Concat { dim, xs } => {
                let mut offset = 0i64;
                for &x in xs {
                    let s = self.shape(x).to_vec();
                    let vars: Vec<usize> = (0..nl).collect();
                    let map = ident(&vars, nl);
                    let mut form = index::linear(&map, &strides, nl);
                    form.c += offset * strides[*dim];
                    offset += s[*dim] as i64;
                    self.push_store(s, x, map, i, form, vec![]);
                }
            }
            Kind::UpdateSlice { x, update, starts } => {
                let (dims, mut out) = self.own_out(i);
                out.node = *x;
                self.kernels.push(Kernel {
                    dims,
                    kind: KernelKind::Map { outs: vec![out] },
                });
                let us = self.shape(*update).to_vec();
                let vars: Vec<usize> = (0..nl).collect();
                let map = ident(&vars, nl);
                let form = index::linear(&map, &strides, nl);
                let dyn_terms = starts
                    .iter()
                    .enumerate()
                    .map(|(d, &s)| DynTerm {
                        node: s,
                        map: vec![],
                        hi: (shape[d] - us[d]) as i64,
                        stride: strides[d],
                    })
                    .collect();
                self.push_store(us, *update, map, i, form, dyn_terms);
            }
            Kind::ScatterAdd {
                axis,
                x,
                idx,
                updates,
            } => {
                let (dims, mut out) = self.own_out(i);
                out.node = *x;
                self.kernels.push(Kernel {
                    dims,
                    kind: KernelKind::Map { outs: vec![out] },
                });
                let us = self.shape(*updates).to_vec();
                let ni = self.shape(*idx).len();
                let ul = us.len();
                let vars: Vec<usize> = (0..ul).collect();
                let umap = ident(&vars, ul);
                // Operand dims: pre (= update dims 0..axis), [indexed], post.
                let mut form = Aff::zero(ul);
                for (d, &st) in strides.iter().enumerate() {
                    if d < *axis {
                        form.add_assign(&Aff::var(ul, d), st);
                    } else if d > *axis {
                        form.add_assign(&Aff::var(ul, d - 1 + ni), st);
                    }
                }
                let idx_map: Map = (*axis..axis + ni).map(|v| Aff::var(ul, v)).collect();
                self.kernels.push(Kernel {
                    dims: us,
                    kind: KernelKind::Map {
                        outs: vec![Out {
                            node: *updates,
                            map: umap,
                            dest: Dest {
                                target: Target::Node(i),
                                form,
                                dyn_terms: vec![DynTerm {
                                    node: *idx,
                                    map: idx_map,
                                    hi: shape[*axis] as i64 - 1,
                                    stride: strides[*axis],
                                }],
                            },
                            combine: Some(BinaryOp::Add),
                            store: true,
                        }],
                    },
                });
            }
            Kind::Input(_) | Kind::Const(_) => unreachable!("handled above"),
            other => {
                return Err(Error::Jit(format!(
                    "internal: no lowering plan for {other:?}"
                )))
            }
        }
        Ok(())
    }

    /// A node holding `x` permuted by `perm` in row-major order (x itself if possible).
    fn canonical_operand(&mut self, x: NodeId, perm: &[usize]) -> NodeId {
        let is_identity = perm.iter().enumerate().all(|(i, &p)| i == p);
        if is_identity && self.owner[x].is_some() {
            return x;
        }
        let xs = self.shape(x).to_vec();
        let node = super::graph::Node {
            kind: Kind::Transpose {
                perm: perm.to_vec(),
            },
            shape: perm.iter().map(|&p| xs[p]).collect(),
            dtype: self.g.nodes[x].dtype,
            arg: x,
        };
        self.g.nodes.push(node);
        self.extend();
        let t = self.g.nodes.len() - 1;
        self.owner[t] = Some(t);
        self.needs[t] = true;
        let (dims, out) = self.own_out(t);
        self.push_map(dims, out);
        t
    }

    fn reduce(&mut self, i: NodeId, op: &ReduceOp, x: NodeId) {
        let xs = self.shape(x).to_vec();
        let axes = op.axes().to_vec();
        let kept: Vec<usize> = (0..xs.len()).filter(|d| !axes.contains(d)).collect();
        let last_big = (0..xs.len()).rev().find(|&d| xs[d] > 1);
        let inner = matches!(op, ReduceOp::Argmax { .. } | ReduceOp::Argmin { .. })
            || last_big.is_none_or(|d| axes.contains(&d));
        if inner {
            let dims = kept.iter().chain(&axes).map(|&d| xs[d]).collect();
            self.kernels.push(Kernel {
                dims,
                kind: KernelKind::Reduce {
                    node: i,
                    x,
                    op: op.clone(),
                    kept,
                    reduced: axes,
                },
            });
            return;
        }
        // The innermost dim is kept: initialise with the identity, then combine every
        // element of x into its place in row-major order (vectorised along the kept dim).
        let dt = self.g.nodes[x].dtype;
        let id = self.lit(op.identity(dt));
        let out_shape = self.shape(i).to_vec();
        let ol = out_shape.len();
        let ostrides = index::row_strides(&out_shape);
        let oform = index::linear(
            &index::identity(ol, &(0..ol).collect::<Vec<_>>()),
            &ostrides,
            ol,
        );
        self.push_store(out_shape, id, vec![], i, oform, vec![]);
        let xl = xs.len();
        let xmap = index::identity(xl, &(0..xl).collect::<Vec<_>>());
        let mut form = Aff::zero(xl);
        for (j, &d) in kept.iter().enumerate() {
            form.add_assign(&Aff::var(xl, d), ostrides[j]);
        }
        self.kernels.push(Kernel {
            dims: xs,
            kind: KernelKind::Map {
                outs: vec![Out {
                    node: x,
                    map: xmap,
                    dest: Dest {
                        target: Target::Node(i),
                        form,
                        dyn_terms: vec![],
                    },
                    combine: Some(reduce_combiner(op, dt)),
                    store: true,
                }],
            },
        });
    }

    /// Output buffers, dropping stores nobody reads, scratch layout.
    fn finish(mut self) -> Result<Plan> {
        let original_nodes = self.needs_len_at_start;
        let n = self.g.nodes.len();
        let mut buf: Vec<Option<Buf>> = vec![None; n];
        for (b, node) in buf.iter_mut().zip(&self.g.nodes) {
            match node.kind {
                Kind::Input(k) => *b = Some(Buf::Input(k)),
                Kind::Const(k) => *b = Some(Buf::Const(k)),
                _ => {}
            }
        }
        // Outputs: claim the owner's buffer, or copy.
        let outputs = self.g.outputs.clone();
        let mut copies = Vec::new();
        for (k, &o) in outputs.iter().enumerate() {
            match self.owner[o] {
                Some(w) if buf[w].is_none() && self.g.nodes[w].size() == self.g.nodes[o].size() => {
                    buf[w] = Some(Buf::Output(k))
                }
                _ => copies.push((k, o)),
            }
        }
        for (k, o) in copies {
            let (dims, mut out) = self.own_out(o);
            out.dest.target = Target::Out(k);
            self.push_map(dims, out);
        }
        // Which owners' buffers are read by some kernel.
        let mut read = vec![false; n];
        for kern in &self.kernels {
            let roots = kern.roots(self.g);
            let mut stack: Vec<NodeId> = Vec::new();
            match &kern.kind {
                KernelKind::Map { outs } => {
                    for o in outs {
                        stack.push(o.node);
                        stack.extend(o.dest.dyn_terms.iter().map(|t| t.node));
                        if o.combine.is_some() {
                            if let Target::Node(t) = o.dest.target {
                                read[self.owner[t].expect("written")] = true;
                            }
                        }
                    }
                }
                KernelKind::Reduce { x, .. } => stack.push(*x),
                KernelKind::MatMul { lhs, rhs, .. } => stack.extend([*lhs, *rhs]),
            }
            let mut seen = HashSet::new();
            while let Some(m) = stack.pop() {
                if !seen.insert(m) {
                    continue;
                }
                let node = &self.g.nodes[m];
                let expand =
                    is_inline_kind(&node.kind) && (roots.contains(&m) || self.owner[m].is_none());
                if !expand {
                    let w = self.owner[m].ok_or_else(|| {
                        Error::Jit(format!("internal: node {m} is read but has no buffer"))
                    })?;
                    read[w] = true;
                    continue;
                }
                match &node.kind {
                    Kind::Gather { x, idx, .. } => {
                        read[self.owner[*x].expect("gather operands have buffers")] = true;
                        stack.push(*idx);
                    }
                    Kind::DynSlice { x, starts } => {
                        read[self.owner[*x].expect("dynamic_slice operands have buffers")] = true;
                        stack.extend(starts);
                    }
                    _ => stack.extend(node.operands()),
                }
            }
        }
        for kern in &mut self.kernels {
            if let KernelKind::Map { outs } = &mut kern.kind {
                for o in outs.iter_mut() {
                    let Target::Node(t) = o.dest.target else {
                        continue;
                    };
                    let w = self.owner[t].expect("written");
                    o.store = !(o.node == t
                        && o.is_plain()
                        && is_inline_kind(&self.g.nodes[t].kind)
                        && !read[w]
                        && buf[w].is_none());
                }
            }
        }
        self.kernels.retain(
            |k| !matches!(&k.kind, KernelKind::Map { outs } if outs.iter().all(|o| !o.store)),
        );
        // Scratch for every remaining owner without a buffer.
        let mut used = vec![false; n];
        for kern in &self.kernels {
            match &kern.kind {
                KernelKind::Map { outs } => {
                    for o in outs.iter().filter(|o| o.store) {
                        if let Target::Node(t) = o.dest.target {
                            used[self.owner[t].expect("written")] = true;
                        }
                    }
                }
                KernelKind::Reduce { node, .. } | KernelKind::MatMul { node, .. } => {
                    used[self.owner[*node].expect("written")] = true;
                }
            }
        }
        let mut scratch = 0usize;
        for w in 0..n {
            if buf[w].is_none() && (used[w] || read[w]) {
                buf[w] = Some(Buf::Temp(scratch));
                let bytes = self.g.nodes[w].size() * self.g.nodes[w].dtype.size_bytes();
                scratch += bytes.div_ceil(64) * 64;
            }
        }
        Ok(Plan {
            owner: self.owner,
            buf,
            reshape: self.reshape,
            kernels: self.kernels,
            scratch_bytes: scratch,
            original_nodes,
        })
    }
}
