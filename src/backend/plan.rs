//! Fusion planning: which nodes get buffers, and the list of kernels (loop nests and library
//! calls) that fill them, in execution order, each with its [`Schedule`] decided. Planning
//! reads the final graph (after `rewrites`) and adds nothing to it.
//!
//! Elementwise nodes and views have no buffer of their own unless something needs one (a jaxpr
//! output, a non-fusible consumer such as `gather`'s operand, or an expensive value used more
//! than once). Every consumer evaluates them inline at the index it needs, so a run of
//! elementwise ops becomes one loop with no intermediate buffers. Elementwise roots of the same
//! shape (up to unit dims) that follow each other share one loop nest (multi-output fusion);
//! inside it they are evaluated inline, so shared subexpressions are computed once per element. [`access`] is the
//! one rule for what a kernel computes inline and what it loads. A node that some kernel would
//! evaluate at too many indices (see `schedule`) gets a buffer, and fusion is planned again.
//!
//! A control-flow node is one [`ControlKernel`]: its operands get buffers, its sub-programs are
//! planned on their own (`Plan::subs`, never split across threads) and run inside the kernel's
//! loop or branch with their inputs and outputs bound to the carries, slices and results. Its
//! scratch (the second buffer of each carry, then the sub-programs' scratch) follows the
//! function's own temporaries.

use super::graph::{Control, Graph, Kind, Node, NodeId};
use super::index::{self, Aff, IndexMap, ReshapePlan};
use super::layout::{self, Relaid};
use super::schedule::{self, Schedule, UNROLL};
use crate::array::Concrete;
use crate::core::error::{Error, Result};
use crate::dtype::DType;
use crate::prims::{BinaryOp, ReduceOp, UnaryOp};
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

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
    pub map: IndexMap,
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
    pub map: IndexMap,
    pub dest: Dest,
    /// Read-modify-write with this op instead of a plain store (reductions into a buffer,
    /// scatter-add).
    pub combine: Option<BinaryOp>,
    /// False for a root whose buffer nobody reads: it is only evaluated (inline, shared by
    /// the other outputs of its loop), not stored.
    pub store: bool,
}

impl Out {
    pub(super) fn is_plain(&self) -> bool {
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
    /// `node`, a `Kind::MatMul` (operands and sizes are the node's).
    MatMul { node: NodeId },
    /// `node`, a `Kind::Linalg`: a runtime kernel call on the operands' buffers.
    Linalg { node: NodeId },
    /// `node`, a `Kind::Cumulative`: loops along its axis over its operand's buffer.
    Cumulative { node: NodeId },
    /// `node`, a `Kind::SortPerm`: a runtime call on its key's buffer.
    SortPerm { node: NodeId },
    /// A `Kind::Control` node: a loop or branch running its sub-programs.
    Control(Box<ControlKernel>),
}

/// A `while`, `scan` or `cond` kernel. Offsets are into the scratch of the function it runs in.
#[derive(Clone, Debug)]
pub struct ControlKernel {
    /// The `Kind::Control` node.
    pub node: NodeId,
    /// Per output: the live `ControlOut` node reading it, if any (its buffer is the result).
    pub outs: Vec<Option<NodeId>>,
    /// Per output nothing reads: scratch the sub-program writes it to (for a scan's `ys`, one
    /// slice, rewritten every step).
    pub out_temps: Vec<Option<usize>>,
    /// `while`, `scan`: the second buffer of each carry (the first is the output's): the body
    /// reads one and writes the other, and they swap every iteration.
    pub carry_temps: Vec<usize>,
    /// `while`: the byte the predicate is written to.
    pub pred: usize,
    /// Where the scratch of the sub-programs starts (they run one at a time and share it).
    pub sub_scratch: usize,
}

/// The output `k` of sub-program `s` of a control node, as one call writes it (for a scan's
/// `ys`, one slice).
pub fn sub_output(g: &Graph, s: usize, k: usize) -> &Node {
    let sub = &g.subs[s];
    &sub.nodes[sub.outputs[k]]
}

/// How many carries a control op threads through its iterations (none for `cond`).
pub fn num_carry(g: &Graph, op: &Control) -> usize {
    match op {
        Control::While { body, .. } => g.subs[*body].outputs.len(),
        Control::Scan { num_carry, .. } => *num_carry,
        Control::Cond { .. } => 0,
    }
}

/// The sub-program that writes a control op's outputs (their types and count).
fn writer(op: &Control) -> usize {
    *op.subs()
        .last()
        .expect("control ops run at least one sub-program")
}

#[derive(Clone, Debug)]
pub struct Kernel {
    /// Loop extents (for `Map`: the iteration domain; for `Reduce`: `x`'s dims permuted).
    pub dims: Vec<usize>,
    pub kind: KernelKind,
    /// How its loops run (set once fusion is final).
    pub schedule: Schedule,
}

impl Kernel {
    fn new(dims: Vec<usize>, kind: KernelKind) -> Kernel {
        Kernel {
            dims,
            kind,
            schedule: Schedule::default(),
        }
    }

    /// Nothing to run: an empty loop domain (except reductions over an empty axis, which
    /// write identities).
    pub fn is_empty(&self) -> bool {
        if !self.dims.contains(&0) {
            return false;
        }
        match &self.kind {
            KernelKind::Reduce { kept, .. } => self.dims[..kept.len()].contains(&0),
            _ => true,
        }
    }

    /// One line: what it stores, its loop nest after collapsing, its lanes.
    fn summary(&self, g: &Graph) -> String {
        let s = &self.schedule;
        let extents: Vec<usize> = s.groups.iter().map(|g| g.0).collect();
        let lanes = |what: &str| {
            if s.lanes > 1 {
                format!("{} lanes x {UNROLL}{what}", s.lanes)
            } else {
                "scalar".into()
            }
        };
        match &self.kind {
            KernelKind::Map { outs } => {
                let names: Vec<String> = outs
                    .iter()
                    .filter(|o| o.store)
                    .map(|o| {
                        let op = match &o.combine {
                            Some(c) => format!(" {}=", c.name()),
                            None => " =".into(),
                        };
                        format!("{:?}{op} n{}", o.dest.target, o.node)
                    })
                    .collect();
                let split = if s.split.is_some() {
                    ", split across threads".to_string()
                } else if let Some(tv) = &s.two_valued {
                    format!(", selecting by n{} (two-valued)", tv.node)
                } else {
                    String::new()
                };
                format!(
                    "loop {extents:?} -> [{}]: {} nodes inline, {}{split}",
                    names.join(", "),
                    s.computed(),
                    lanes("")
                )
            }
            KernelKind::Reduce { node, x, op, .. } => format!(
                "{} {extents:?} of n{x} -> n{node}: {} nodes inline, {}",
                op.name(),
                s.computed(),
                if g.nodes[*x].dtype == DType::Bool {
                    // any/all: each step's masks are combined at once, and the loop stops at
                    // the first step that decides the result.
                    lanes(" masks per step, early exit")
                } else {
                    lanes(" accumulators")
                }
            ),
            KernelKind::Control(c) => {
                let Kind::Control { op, operands } = &g.nodes[c.node].kind else {
                    unreachable!("control kernels run Control nodes")
                };
                let ids = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(", ");
                let ins = ids(&mut operands.iter().map(|o| format!("n{o}")));
                let outs = ids(&mut c.outs.iter().map(|o| match o {
                    Some(o) => format!("n{o}"),
                    None => "-".into(),
                }));
                let how = match op {
                    Control::While { .. } => "loop".to_string(),
                    Control::Scan {
                        length, reverse, ..
                    } => {
                        let rev = if *reverse { ", reverse" } else { "" };
                        format!("loop of {length} steps{rev}")
                    }
                    Control::Cond { branches } => format!("branch of {}", branches.len()),
                };
                format!("{} [{ins}] -> [{outs}]: {how}", op.name())
            }
            KernelKind::MatMul { node } => {
                let Kind::MatMul {
                    lhs,
                    rhs,
                    batch,
                    m,
                    k,
                    n,
                    lhs_strides,
                    rhs_strides,
                } = g.nodes[*node].kind
                else {
                    unreachable!("matmul kernels compute MatMul nodes")
                };
                let how = if g.nodes[*node].dtype.is_float() {
                    "gemm"
                } else {
                    "loop"
                };
                let st = |s: [i64; 3]| format!("{}, {}, {}", s[0], s[1], s[2]);
                format!(
                    "dot_general n{lhs} x n{rhs} -> n{node}: batch {batch}, {m}x{k} @ {k}x{n}, \
                     strides ({}) and ({}) ({how})",
                    st(lhs_strides),
                    st(rhs_strides)
                )
            }
            KernelKind::Linalg { node } => {
                let Kind::Linalg { op, operands } = &g.nodes[*node].kind else {
                    unreachable!("linalg kernels compute Linalg nodes")
                };
                let ins: Vec<String> = operands.iter().map(|o| format!("n{o}")).collect();
                format!("{} [{}] -> n{node} (faer)", op.name(), ins.join(", "))
            }
            KernelKind::Cumulative { node } => {
                let Kind::Cumulative { op, x } = &g.nodes[*node].kind else {
                    unreachable!("cumulative kernels compute Cumulative nodes")
                };
                format!("{} axis {} n{x} -> n{node}", op.name(), op.axis)
            }
            KernelKind::SortPerm { node } => {
                let Kind::SortPerm { dimension, key, .. } = &g.nodes[*node].kind else {
                    unreachable!("sort kernels compute SortPerm nodes")
                };
                format!("sort permutation of n{key} along {dimension} -> n{node} (runtime)")
            }
        }
    }

    /// Nodes a `Map` kernel evaluates inline even if they have a buffer: the values of its
    /// plain outputs (elementwise kinds only).
    pub fn roots(&self, g: &Graph) -> FxHashSet<NodeId> {
        match &self.kind {
            KernelKind::Map { outs } => outs
                .iter()
                .filter(|o| o.is_root(g) && is_inline_kind(&g.nodes[o.node].kind))
                .map(|o| o.node)
                .collect(),
            _ => FxHashSet::default(),
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
    /// The split of the outermost loop when the function is one kernel split across
    /// threads (see `Schedule::split`).
    pub split: Option<super::schedule::Split>,
    /// The plan of each sub-program (`Graph::subs`).
    pub subs: Vec<Plan>,
    /// Constants loaded through a copy in another dimension order (`layout`).
    pub relaid: FxHashMap<NodeId, Relaid>,
}

impl Plan {
    /// The fusion plan, one line per kernel that runs; a control kernel's sub-programs
    /// follow it, indented.
    pub fn summary(&self, g: &Graph) -> String {
        let mut out = String::new();
        for (i, k) in self.kernels.iter().filter(|k| !k.is_empty()).enumerate() {
            out += &format!("{i}: {}\n", k.summary(g));
            let KernelKind::Control(c) = &k.kind else {
                continue;
            };
            let Kind::Control { op, .. } = &g.nodes[c.node].kind else {
                unreachable!("control kernels run Control nodes")
            };
            let names: Vec<String> = match op {
                Control::While { .. } => vec!["cond".into(), "body".into()],
                Control::Scan { .. } => vec!["body".into()],
                Control::Cond { branches } => {
                    (0..branches.len()).map(|b| format!("branch {b}")).collect()
                }
            };
            for (name, s) in names.iter().zip(op.subs()) {
                out += &format!("  {name}:\n");
                for line in self.subs[s].summary(&g.subs[s]).lines() {
                    out += &format!("    {line}\n");
                }
            }
        }
        out
    }

    /// Run every kernel on one thread (sub-programs, and functions with control flow).
    fn no_split(&mut self) {
        self.split = None;
        for k in &mut self.kernels {
            k.schedule.split = None;
        }
    }

    /// The element strides through which kernels load node `n`: row-major, or those of its
    /// relaid copy.
    pub fn load_strides(&self, g: &Graph, n: NodeId) -> Vec<i64> {
        match self.relaid.get(&n) {
            Some(r) => r.strides.clone(),
            None => index::row_strides(&g.nodes[n].shape),
        }
    }

    /// Every relaid copy of a constant, this program's and its sub-programs' (the
    /// executable keeps them alive: compiled code reads them by address).
    pub fn relaid_consts(&self) -> Vec<Arc<Concrete>> {
        let mut all: Vec<Arc<Concrete>> = self.relaid.values().map(|r| r.data.clone()).collect();
        all.extend(self.subs.iter().flat_map(|s| s.relaid_consts()));
        all
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
            | Kind::WideFma(_)
            | Kind::Proj(..)
            | Kind::Iota { .. }
            | Kind::Broadcast { .. }
            | Kind::Transpose { .. }
            | Kind::Rev { .. }
            | Kind::Reshape
            | Kind::Squeeze
            | Kind::Slice { .. }
            | Kind::DynSlice { .. }
            | Kind::Gather { .. }
    )
}

/// A value computed by a chain of ops and spread by a broadcast over at least this many times
/// its own elements is stored once (a small buffer) instead of recomputed at every element it
/// is spread to, e.g. the vector of an outer product or of a vector-matrix product in a loop
/// body (emission does not hoist values that are uniform along inner loops).
const SPREAD_STORE_RATIO: usize = 8;

/// A plain `Map` output over loops of extents `from`, over loops of extents `to` instead,
/// when the two agree once their unit loops (whose variable is always 0) are dropped: the
/// same elements, indexed by the matching variables.
fn on_loops(out: &Out, from: &[usize], to: &[usize]) -> Option<Out> {
    if from == to {
        return Some(out.clone());
    }
    let moving =
        |dims: &[usize]| -> Vec<usize> { (0..dims.len()).filter(|&d| dims[d] != 1).collect() };
    let (src, dst) = (moving(from), moving(to));
    let same = src.len() == dst.len() && src.iter().zip(&dst).all(|(&a, &b)| from[a] == to[b]);
    if !same || !out.dest.dyn_terms.is_empty() {
        return None;
    }
    let move_aff = |a: &Aff| {
        let mut k = vec![0; to.len()];
        for (&a_d, &b_d) in src.iter().zip(&dst) {
            k[b_d] = a.k[a_d];
        }
        Aff { c: a.c, k }
    };
    let mut moved = out.clone();
    moved.map = out.map.iter().map(move_aff).collect();
    moved.dest.form = move_aff(&out.dest.form);
    Some(moved)
}

/// The node a chain of views (reshape, transpose, squeeze) reads.
fn through_views(g: &Graph, mut n: NodeId) -> NodeId {
    while matches!(
        g.nodes[n].kind,
        Kind::Reshape | Kind::Squeeze | Kind::Transpose { .. }
    ) {
        n = g.nodes[n].arg;
    }
    n
}

/// An elementwise op that is expensive or has an operand that is itself computed (not a load,
/// literal or view): recomputing it costs more than loading it.
fn computes_a_chain(g: &Graph, n: NodeId) -> bool {
    let computed = |k: &Kind| matches!(k, Kind::Unary(..) | Kind::Binary(..) | Kind::Select(_));
    let node = &g.nodes[n];
    computed(&node.kind)
        && (is_expensive(&node.kind)
            || node
                .operands()
                .iter()
                .any(|&o| computed(&g.nodes[through_views(g, o)].kind)))
}

/// Worth computing once and storing when used more than once.
pub(super) fn is_expensive(k: &Kind) -> bool {
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
        (ReduceOp::Prod { .. }, _) => BinaryOp::Mul,
        (ReduceOp::And { .. }, _) => BinaryOp::And,
        (ReduceOp::Or { .. }, _) => BinaryOp::Or,
        (ReduceOp::Xor { .. }, _) => BinaryOp::Xor,
        (ReduceOp::Max { .. }, DType::Bool) => BinaryOp::Or,
        (ReduceOp::Min { .. }, DType::Bool) => BinaryOp::And,
        (ReduceOp::Max { .. }, _) => BinaryOp::Max,
        (ReduceOp::Min { .. }, _) => BinaryOp::Min,
        _ => unreachable!("argmax/argmin do not combine elementwise"),
    }
}

/// How a kernel whose roots are `roots` obtains node `n` at one index.
pub enum Access {
    /// Loaded from the buffer of its owner.
    Load,
    /// Computed in the kernel from `operands`, each obtained in turn by this rule; `gathered`
    /// (the operand of `gather` or `dynamic_slice`) is loaded at a computed address.
    Compute {
        operands: Vec<NodeId>,
        gathered: Option<NodeId>,
    },
}

/// The one rule for what a kernel computes inline: inline kinds without a buffer, and the
/// kernel's own roots; everything else is loaded.
pub fn access(g: &Graph, owner: &[Option<NodeId>], roots: &FxHashSet<NodeId>, n: NodeId) -> Access {
    let node = &g.nodes[n];
    let inline = is_inline_kind(&node.kind)
        && match owner[n] {
            None => true,
            Some(o) => o == n && roots.contains(&n),
        };
    match &node.kind {
        _ if !inline => Access::Load,
        Kind::Gather { x, idx, .. } => Access::Compute {
            operands: vec![*idx],
            gathered: Some(*x),
        },
        Kind::DynSlice { x, starts } => Access::Compute {
            operands: starts.clone(),
            gathered: Some(*x),
        },
        _ => Access::Compute {
            operands: node.operands(),
            gathered: None,
        },
    }
}

/// Every node whose buffer evaluating `starts` in a kernel with roots `roots` loads from
/// (each once), by the rule [`access`]; stops at the first for which `load` says `true`.
fn any_load(
    g: &Graph,
    owner: &[Option<NodeId>],
    roots: &FxHashSet<NodeId>,
    starts: Vec<NodeId>,
    mut load: impl FnMut(NodeId) -> Result<bool>,
) -> Result<bool> {
    let mut stack = starts;
    let mut seen = FxHashSet::default();
    while let Some(m) = stack.pop() {
        if !seen.insert(m) {
            continue;
        }
        match access(g, owner, roots, m) {
            Access::Load => {
                if load(m)? {
                    return Ok(true);
                }
            }
            Access::Compute { operands, gathered } => {
                if let Some(x) = gathered {
                    if load(x)? {
                        return Ok(true);
                    }
                }
                stack.extend(operands);
            }
        }
    }
    Ok(false)
}

/// Does evaluating `n` inline in a loop that also stores `outs` read (from memory) a buffer
/// one of those outputs writes? Then it cannot share their loop.
fn reads_any(g: &Graph, owner: &[Option<NodeId>], outs: &[Out], n: NodeId) -> bool {
    let written: FxHashSet<NodeId> = outs
        .iter()
        .filter_map(|o| match o.dest.target {
            Target::Node(t) => owner[t],
            Target::Out(_) => None,
        })
        .collect();
    let roots: FxHashSet<NodeId> = outs.iter().map(|o| o.node).chain([n]).collect();
    let writes = |m: NodeId| Ok(owner[m].is_some_and(|o| written.contains(&o)));
    any_load(g, owner, &roots, vec![n], writes).expect("the check cannot fail")
}

struct Planner<'g> {
    g: &'g Graph,
    /// The plans of `g.subs`.
    subs: &'g [Plan],
    needs: Vec<bool>,
    owner: Vec<Option<NodeId>>,
    reshape: Vec<Option<ReshapePlan>>,
    kernels: Vec<Kernel>,
}

/// Plan `g`, with every kernel scheduled. Nodes that some kernel would evaluate inline at too
/// many indices get buffers (fusion is planned again until none remains).
pub fn plan(g: &Graph) -> Result<Plan> {
    let subs = g
        .subs
        .iter()
        .map(|s| {
            let mut p = plan(s)?;
            p.no_split();
            Ok(p)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut buffered = FxHashSet::default();
    loop {
        let mut p = fuse(g, &buffered, &subs)?;
        match schedule::schedule(g, &mut p) {
            Ok(()) => {
                // Constants read transposed get a copy in the order the loops walk them,
                // and the kernels reading it are scheduled again with its strides (same
                // maps).
                p.relaid = layout::relayout(g, &p);
                if !p.relaid.is_empty() {
                    // The maps are those of the first run, so no node is over-expanded.
                    schedule::reschedule_relaid(g, &mut p).map_err(|_| {
                        Error::Jit("internal: relaid constants changed the schedule".into())
                    })?;
                }
                p.split = p.kernels.iter().find_map(|k| k.schedule.split);
                if p.kernels
                    .iter()
                    .any(|k| matches!(k.kind, KernelKind::Control(_)))
                {
                    p.no_split();
                }
                p.subs = subs;
                return Ok(p);
            }
            Err(nodes) if nodes.iter().any(|n| !buffered.contains(n)) => buffered.extend(nodes),
            Err(_) => {
                return Err(Error::Jit(
                    "internal: fusion planning did not converge".into(),
                ))
            }
        }
    }
}

/// Plan fusion for `g` (every node live, as `rewrites` leaves it); nodes in `force` get
/// buffers even if they could be computed inline.
fn fuse(g: &Graph, force: &FxHashSet<NodeId>, subs: &[Plan]) -> Result<Plan> {
    let n = g.nodes.len();
    let mut uses = vec![0usize; n];
    for node in &g.nodes {
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
            Kind::MatMul { lhs, rhs, .. } => {
                needs[i] = true;
                needs[*lhs] = true;
                needs[*rhs] = true;
            }
            Kind::Lit(_) | Kind::Threefry(_) => {}
            Kind::Control { operands, .. } => {
                for &o in operands {
                    needs[o] = true;
                }
            }
            Kind::Linalg { operands, .. } => {
                needs[i] = true;
                for &o in operands {
                    needs[o] = true;
                }
            }
            Kind::Cumulative { x, .. } | Kind::SortPerm { key: x, .. } => {
                needs[i] = true;
                needs[*x] = true;
            }
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
    for node in &g.nodes {
        if let Kind::Broadcast { .. } = node.kind {
            let src = through_views(g, node.arg);
            if node.size() >= SPREAD_STORE_RATIO * g.nodes[src].size() && computes_a_chain(g, src) {
                needs[src] = true;
            }
        }
    }
    for &f in force {
        if f < n && !matches!(g.nodes[f].kind, Kind::Lit(_) | Kind::Threefry(_)) {
            needs[f] = true;
        }
    }
    let mut p = Planner {
        g,
        subs,
        needs,
        owner: vec![None; n],
        reshape,
        kernels: Vec::new(),
    };
    for i in 0..n {
        p.visit(i)?;
    }
    p.finish()
}

impl Planner<'_> {
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

    /// Append a kernel that stores (or combines with `combine`) node `src`, read through
    /// `map`, into node `target`'s buffer at `form` (plus `dyn_terms`), over `dims`.
    #[allow(clippy::too_many_arguments)]
    fn push_store(
        &mut self,
        dims: Vec<usize>,
        src: NodeId,
        map: IndexMap,
        target: NodeId,
        form: Aff,
        dyn_terms: Vec<DynTerm>,
        combine: Option<BinaryOp>,
    ) {
        let dest = Dest {
            target: Target::Node(target),
            form,
            dyn_terms,
        };
        let out = Out {
            node: src,
            map,
            dest,
            combine,
            store: true,
        };
        let outs = vec![out];
        self.kernels
            .push(Kernel::new(dims, KernelKind::Map { outs }));
    }

    /// Append a `Map` kernel, merging plain outputs into the previous kernel when it is a
    /// plain `Map` over the same domain (up to unit dims: `[1, n]` and `[n]` are one loop).
    fn push_map(&mut self, dims: Vec<usize>, out: Out) {
        if out.is_root(self.g) {
            let g = self.g;
            if let Some(Kernel {
                dims: last_dims,
                kind: KernelKind::Map { outs },
                ..
            }) = self.kernels.last_mut()
            {
                if outs.iter().all(|o| o.is_root(g)) && !reads_any(g, &self.owner, outs, out.node) {
                    if let Some(out) = on_loops(&out, &dims, last_dims) {
                        outs.push(out);
                        return;
                    }
                }
            }
        }
        let outs = vec![out];
        self.kernels
            .push(Kernel::new(dims, KernelKind::Map { outs }));
    }

    fn visit(&mut self, i: NodeId) -> Result<()> {
        let kind = self.g.nodes[i].kind.clone();
        match &kind {
            Kind::Input(_) | Kind::Const(_) => {
                self.owner[i] = Some(i);
                return Ok(());
            }
            Kind::Control { op, .. } => {
                let n_outs = self.g.subs[writer(op)].outputs.len();
                let mut outs = vec![None; n_outs];
                for (j, node) in self.g.nodes.iter().enumerate().skip(i + 1) {
                    if let Kind::ControlOut(c, k) = node.kind {
                        if c == i && outs[k].is_none() {
                            outs[k] = Some(j);
                        }
                    }
                }
                let kind = KernelKind::Control(Box::new(ControlKernel {
                    node: i,
                    outs,
                    out_temps: vec![],
                    carry_temps: vec![],
                    pred: 0,
                    sub_scratch: 0,
                }));
                self.kernels.push(Kernel::new(vec![], kind));
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
            Kind::Reduce { op, x, init } => self.reduce(i, op, *x, *init),
            Kind::MatMul { .. } => {
                let kind = KernelKind::MatMul { node: i };
                self.kernels.push(Kernel::new(vec![], kind));
            }
            Kind::Linalg { .. } => {
                let kind = KernelKind::Linalg { node: i };
                self.kernels.push(Kernel::new(vec![], kind));
            }
            Kind::Cumulative { .. } => {
                let kind = KernelKind::Cumulative { node: i };
                self.kernels.push(Kernel::new(vec![], kind));
            }
            Kind::SortPerm { .. } => {
                let kind = KernelKind::SortPerm { node: i };
                self.kernels.push(Kernel::new(vec![], kind));
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
                    None,
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
                self.push_store(xs, *x, xmap, i, form, vec![], None);
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
                    self.push_store(s, x, map, i, form, vec![], None);
                }
            }
            Kind::UpdateSlice { x, update, starts } => {
                self.push_copy(i, *x);
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
                self.push_store(us, *update, map, i, form, dyn_terms, None);
            }
            Kind::Scatter {
                combine,
                axis,
                x,
                idx,
                updates,
            } => {
                self.push_copy(i, *x);
                let us = self.shape(*updates).to_vec();
                let ni = self.shape(*idx).len();
                let ul = us.len();
                let vars: Vec<usize> = (0..ul).collect();
                let umap = ident(&vars, ul);
                // The update at index u adds into x at u with the index axes replaced.
                let form = index::gather_offset(&umap, &shape, ni, *axis, ul);
                let idx_map: IndexMap = (*axis..axis + ni).map(|v| Aff::var(ul, v)).collect();
                let dyn_term = DynTerm {
                    node: *idx,
                    map: idx_map,
                    hi: shape[*axis] as i64 - 1,
                    stride: strides[*axis],
                };
                self.push_store(us, *updates, umap, i, form, vec![dyn_term], combine.clone());
            }
            // Written by the control kernel.
            Kind::ControlOut(..) => {}
            Kind::Input(_) | Kind::Const(_) | Kind::Control { .. } => {
                unreachable!("handled above")
            }
            Kind::Dot(..) => {
                return Err(Error::Jit(
                    "internal: dot_general reached planning without its canonical operands".into(),
                ))
            }
            other => {
                return Err(Error::Jit(format!(
                    "internal: no lowering plan for {other:?}"
                )))
            }
        }
        Ok(())
    }

    /// A kernel storing node `x` into node `n`'s buffer over `n`'s shape (the first step of
    /// `dynamic_update_slice` and `scatter-add`).
    fn push_copy(&mut self, n: NodeId, x: NodeId) {
        let (dims, mut out) = self.own_out(n);
        out.node = x;
        self.kernels
            .push(Kernel::new(dims, KernelKind::Map { outs: vec![out] }));
    }

    fn reduce(&mut self, i: NodeId, op: &ReduceOp, x: NodeId, init: Option<NodeId>) {
        let xs = self.shape(x).to_vec();
        let axes = op.axes().to_vec();
        let kept: Vec<usize> = (0..xs.len()).filter(|d| !axes.contains(d)).collect();
        let Some(id) = init else {
            let dims = kept.iter().chain(&axes).map(|&d| xs[d]).collect();
            let kind = KernelKind::Reduce {
                node: i,
                x,
                op: op.clone(),
                kept,
                reduced: axes,
            };
            self.kernels.push(Kernel::new(dims, kind));
            return;
        };
        // The innermost dim is kept: initialise with the identity, then combine every
        // element of x into its place in row-major order (vectorised along the kept dim).
        let dt = self.g.nodes[x].dtype;
        let out_shape = self.shape(i).to_vec();
        let ol = out_shape.len();
        let ostrides = index::row_strides(&out_shape);
        let oform = index::linear(
            &index::identity(ol, &(0..ol).collect::<Vec<_>>()),
            &ostrides,
            ol,
        );
        self.push_store(out_shape, id, vec![], i, oform, vec![], None);
        let xl = xs.len();
        let xmap = index::identity(xl, &(0..xl).collect::<Vec<_>>());
        let mut form = Aff::zero(xl);
        for (j, &d) in kept.iter().enumerate() {
            form.add_assign(&Aff::var(xl, d), ostrides[j]);
        }
        let combine = Some(reduce_combiner(op, dt));
        self.push_store(xs, x, xmap, i, form, vec![], combine);
    }

    /// Output buffers, dropping stores nobody reads, scratch layout.
    fn finish(mut self) -> Result<Plan> {
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
                KernelKind::MatMul { node }
                | KernelKind::Linalg { node }
                | KernelKind::Cumulative { node }
                | KernelKind::SortPerm { node } => stack.extend(self.g.nodes[*node].operands()),
                KernelKind::Control(c) => stack.extend(self.g.nodes[c.node].operands()),
            }
            let owner = &self.owner;
            any_load(self.g, owner, &roots, stack, |m| {
                let w = owner[m].ok_or_else(|| {
                    Error::Jit(format!("internal: node {m} is read but has no buffer"))
                })?;
                read[w] = true;
                Ok(false)
            })?;
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
                KernelKind::Reduce { node, .. }
                | KernelKind::MatMul { node, .. }
                | KernelKind::Linalg { node }
                | KernelKind::Cumulative { node }
                | KernelKind::SortPerm { node } => {
                    used[self.owner[*node].expect("written")] = true;
                }
                KernelKind::Control(c) => {
                    for &o in c.outs.iter().flatten() {
                        used[self.owner[o].expect("written")] = true;
                    }
                }
            }
        }
        let mut scratch = 0usize;
        for w in 0..n {
            if buf[w].is_none() && (used[w] || read[w]) {
                buf[w] = Some(Buf::Temp(scratch));
                scratch += self.g.nodes[w].bytes().div_ceil(64) * 64;
            }
        }
        // Control kernels run one after another: each lays its scratch out from the end of
        // the function's own temporaries.
        let mut end = scratch;
        for kern in &mut self.kernels {
            let KernelKind::Control(c) = &mut kern.kind else {
                continue;
            };
            let Kind::Control { op, .. } = &self.g.nodes[c.node].kind else {
                unreachable!("control kernels run Control nodes")
            };
            let mut off = scratch;
            let mut take = |n: usize| {
                let at = off;
                off += n.div_ceil(64) * 64;
                at
            };
            let w = writer(op);
            let owner = &self.owner;
            c.out_temps = c
                .outs
                .iter()
                .enumerate()
                .map(
                    |(k, o)| match o.and_then(|o| owner[o]).and_then(|o| buf[o]) {
                        Some(_) => None,
                        None => Some(take(sub_output(self.g, w, k).bytes())),
                    },
                )
                .collect();
            c.carry_temps = (0..num_carry(self.g, op))
                .map(|k| take(sub_output(self.g, w, k).bytes()))
                .collect();
            if matches!(op, Control::While { .. }) {
                c.pred = take(1);
            }
            c.sub_scratch = off;
            let subs = op.subs().into_iter().map(|s| self.subs[s].scratch_bytes);
            end = end.max(off + subs.max().unwrap_or(0));
        }
        Ok(Plan {
            owner: self.owner,
            buf,
            reshape: self.reshape,
            kernels: self.kernels,
            scratch_bytes: end,
            split: None,
            subs: vec![],
            relaid: FxHashMap::default(),
        })
    }
}
