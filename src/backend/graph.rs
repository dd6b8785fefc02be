//! The backend's input form: a closed jaxpr flattened into one graph of nodes, with nested
//! calls (`pjit`, `custom_jvp_call`, `custom_vjp_call`) inlined, literals and consts as nodes,
//! and `dot_general` split into a same-dtype product plus a conversion. [`Graph::rewrite`]
//! rebuilds the node list in order; the passes of `rewrites` are written with it.
//!
//! Control flow (`while`, `scan`, `cond`) is one [`Kind::Control`] node whose sub-jaxprs are
//! graphs of their own (`Graph::subs`, built by this same function, inputs `Input(i)` and
//! outputs the sub-jaxpr's), read through [`Kind::ControlOut`] nodes.

use crate::array::{Array, Concrete};
use crate::core::error::{Error, Result};
use crate::dtype::{DType, Scalar};
use crate::ir::env::{interpret, FromLiteral};
use crate::ir::{ClosedJaxpr, Jaxpr, Literal};
use crate::prims::{
    BinaryOp, ControlOp, Cumulative, DotGeneral, LinalgOp, Prim, RandomOp, ReduceOp, ShapeOp, Sort,
    TopK, UnaryOp,
};
use std::sync::Arc;

/// Index of a node in `Graph::nodes` (nodes are in topological order).
pub type NodeId = usize;

/// What a node computes.
#[derive(Clone, Debug)]
pub enum Kind {
    /// The `i`-th argument of the compiled function.
    Input(usize),
    /// The `i`-th constant (`Graph::consts`).
    Const(usize),
    /// A scalar literal.
    Lit(Scalar),
    Unary(UnaryOp, NodeId),
    Binary(BinaryOp, NodeId, NodeId),
    /// `select_n(which, cases...)`.
    Select(Vec<NodeId>),
    /// Both words of `threefry2x32(k0, k1, x0, x1)`; read through `Proj`.
    Threefry([NodeId; 4]),
    /// `a * b + c` of f32 operands formed in f64 and rounded once to f32: the value of
    /// `convert_f32(convert_f64(a) * convert_f64(b) + convert_f64(c))`, which `rewrites`
    /// folds into this node so that the loop around it keeps f32 lanes (the f32 `fma` that
    /// `random`'s XLA functions emulate).
    WideFma([NodeId; 3]),
    /// Output `k` of a multi-output node.
    Proj(NodeId, usize),
    Iota {
        dimension: usize,
    },
    Broadcast {
        dims: Vec<usize>,
    },
    Transpose {
        perm: Vec<usize>,
    },
    /// Element `o` of the operand with `o[d]` read from the end on each axis `d` of `dims`.
    Rev {
        dims: Vec<usize>,
    },
    Reshape,
    Squeeze,
    Slice {
        start: Vec<usize>,
        strides: Vec<usize>,
    },
    DynSlice {
        x: NodeId,
        starts: Vec<NodeId>,
    },
    Gather {
        axis: usize,
        x: NodeId,
        idx: NodeId,
    },
    /// `op` over `x`. With `init` (set by `rewrites` when the innermost dimension is kept),
    /// computed by filling the result with the literal `init` and combining every element of
    /// `x` into its place; otherwise with accumulators in registers, reduced dims innermost.
    Reduce {
        op: ReduceOp,
        x: NodeId,
        init: Option<NodeId>,
    },
    /// A `dot_general` computed in the operands' dtype (`rewrites` turns it into a `MatMul`).
    Dot(DotGeneral, NodeId, NodeId),
    /// `[batch, m, k] x [batch, k, n]` into a row-major `[batch, m, n]` result: each operand
    /// is read from its own (row-major) buffer through `strides`, the element strides of its
    /// batch, row and column dims (a transposed operand is read in place).
    MatMul {
        lhs: NodeId,
        rhs: NodeId,
        batch: usize,
        m: usize,
        k: usize,
        n: usize,
        lhs_strides: [i64; 3],
        rhs_strides: [i64; 3],
    },
    /// A linear-algebra primitive computed by a runtime kernel on row-major operand buffers
    /// (`lu`'s three results packed in one buffer, see `cranax_runtime::linalg::lu_packed`).
    Linalg {
        op: LinalgOp,
        operands: Vec<NodeId>,
    },
    /// A cumulative reduction of `x` along its axis (`emit/cumulative.rs`: loops reading `x`'s
    /// buffer and writing the running value into its own).
    Cumulative {
        op: Cumulative,
        x: NodeId,
    },
    /// The stable permutation (i32, along `dimension`) that sorts `key` under JAX's order,
    /// or `lax.top_k`'s descending one (`cranax_runtime::sort`), computed by a runtime call
    /// into this node's buffer.
    SortPerm {
        dimension: usize,
        key: NodeId,
        top_k: bool,
    },
    Pad {
        config: Vec<(usize, usize, usize)>,
        x: NodeId,
        value: NodeId,
    },
    Concat {
        dim: usize,
        xs: Vec<NodeId>,
    },
    UpdateSlice {
        x: NodeId,
        update: NodeId,
        starts: Vec<NodeId>,
    },
    /// `x` with each update combined (`combine`, or replacing it when `None`) into its
    /// element along `axis` at `idx` (clamped), in row-major order of the updates.
    Scatter {
        combine: Option<BinaryOp>,
        axis: usize,
        x: NodeId,
        idx: NodeId,
        updates: NodeId,
    },
    /// A `while`, `scan` or `cond` of `operands` (JAX's operand order); its sub-programs are
    /// `Graph::subs`. Read through `ControlOut`; it has no buffer of its own.
    Control {
        op: Control,
        operands: Vec<NodeId>,
    },
    /// Output `k` of a `Control` node (written by its kernel).
    ControlOut(NodeId, usize),
}

/// A control-flow primitive with its sub-programs named by their index in `Graph::subs`.
#[derive(Clone, Debug)]
pub enum Control {
    /// `while cond(cond_consts, carry): carry = body(body_consts, carry)`.
    While {
        cond: usize,
        body: usize,
        cond_nconsts: usize,
        body_nconsts: usize,
    },
    /// `(carry, ys[i]) = body(consts, carry, xs[i])` for `i` in `0..length` (or reversed).
    Scan {
        body: usize,
        length: usize,
        reverse: bool,
        num_consts: usize,
        num_carry: usize,
    },
    /// `branches[clamp(index, 0, n - 1)](operands)`.
    Cond { branches: Vec<usize> },
}

impl Control {
    /// The sub-programs it runs (indices into `Graph::subs`).
    pub fn subs(&self) -> Vec<usize> {
        match self {
            Control::While { cond, body, .. } => vec![*cond, *body],
            Control::Scan { body, .. } => vec![*body],
            Control::Cond { branches } => branches.clone(),
        }
    }

    /// The JAX name.
    pub fn name(&self) -> &'static str {
        match self {
            Control::While { .. } => "while",
            Control::Scan { .. } => "scan",
            Control::Cond { .. } => "cond",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Node {
    pub kind: Kind,
    pub shape: Vec<usize>,
    pub dtype: DType,
    /// The single array operand of a view (`Broadcast`, `Transpose`, `Reshape`, `Squeeze`,
    /// `Slice`) or of a unary op; unused otherwise.
    pub arg: NodeId,
}

impl Node {
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes of its row-major data.
    pub fn bytes(&self) -> usize {
        self.size() * self.dtype.size_bytes()
    }

    /// Operands, in order.
    pub fn operands(&self) -> Vec<NodeId> {
        if is_view(&self.kind) {
            return vec![self.arg];
        }
        let mut kind = self.kind.clone();
        kind.operand_slots().into_iter().map(|n| *n).collect()
    }

    /// This node with every operand `n` renamed to `rename(n)`.
    fn renamed(mut self, rename: impl Fn(NodeId) -> NodeId) -> Node {
        for n in self.kind.operand_slots() {
            *n = rename(*n);
        }
        if self.arg != usize::MAX {
            self.arg = rename(self.arg);
        }
        self
    }
}

/// A view: its value is its one operand's at another index map (nothing to compute). Views
/// name their one operand in `Node::arg` only.
pub(crate) fn is_view(k: &Kind) -> bool {
    matches!(
        k,
        Kind::Broadcast { .. }
            | Kind::Transpose { .. }
            | Kind::Rev { .. }
            | Kind::Reshape
            | Kind::Squeeze
            | Kind::Slice { .. }
    )
}

impl Kind {
    /// The operands this kind names, in order (none for views: see `Node::arg`).
    fn operand_slots(&mut self) -> Vec<&mut NodeId> {
        match self {
            Kind::Input(_)
            | Kind::Const(_)
            | Kind::Lit(_)
            | Kind::Iota { .. }
            | Kind::Broadcast { .. }
            | Kind::Transpose { .. }
            | Kind::Rev { .. }
            | Kind::Reshape
            | Kind::Squeeze
            | Kind::Slice { .. } => vec![],
            Kind::Unary(_, a)
            | Kind::Proj(a, _)
            | Kind::ControlOut(a, _)
            | Kind::Cumulative { x: a, .. }
            | Kind::SortPerm { key: a, .. } => vec![a],
            Kind::Reduce { x, init, .. } => std::iter::once(x).chain(init).collect(),
            Kind::Binary(_, a, b)
            | Kind::Dot(_, a, b)
            | Kind::MatMul { lhs: a, rhs: b, .. }
            | Kind::Gather { x: a, idx: b, .. }
            | Kind::Pad { x: a, value: b, .. } => vec![a, b],
            Kind::Select(xs)
            | Kind::Concat { xs, .. }
            | Kind::Control { operands: xs, .. }
            | Kind::Linalg { operands: xs, .. } => xs.iter_mut().collect(),
            Kind::Threefry(xs) => xs.iter_mut().collect(),
            Kind::WideFma(xs) => xs.iter_mut().collect(),
            Kind::DynSlice { x, starts } => std::iter::once(x).chain(starts).collect(),
            Kind::UpdateSlice { x, update, starts } => {
                [x, update].into_iter().chain(starts).collect()
            }
            Kind::Scatter {
                x, idx, updates, ..
            } => vec![x, idx, updates],
        }
    }
}

/// The flattened program.
pub struct Graph {
    pub nodes: Vec<Node>,
    /// Constant arrays (kept alive by the executable; compiled code reads them in place).
    pub consts: Vec<Arc<Concrete>>,
    pub outputs: Vec<NodeId>,
    /// The sub-programs of `Control` nodes (each a graph of its own).
    pub subs: Vec<Graph>,
}

impl Graph {
    pub fn node(&self, n: NodeId) -> &Node {
        &self.nodes[n]
    }

    pub fn push(&mut self, kind: Kind, shape: Vec<usize>, dtype: DType, arg: NodeId) -> NodeId {
        self.push_node(Node {
            kind,
            shape,
            dtype,
            arg,
        })
    }

    /// Rebuild the node list in order: `f` gets the graph built so far, the old id of each
    /// node and the node with its operands renamed, and returns the node's new id (after
    /// pushing it, or other nodes before it; or naming a node already there; or `usize::MAX`
    /// for a node nothing live reads). Outputs are renamed.
    pub fn rewrite(&mut self, mut f: impl FnMut(&mut Graph, NodeId, Node) -> NodeId) {
        let old = std::mem::take(&mut self.nodes);
        let mut new_id: Vec<NodeId> = Vec::with_capacity(old.len());
        for (i, node) in old.into_iter().enumerate() {
            let node = node.renamed(|n| new_id.get(n).copied().unwrap_or(usize::MAX));
            let id = f(self, i, node);
            new_id.push(id);
        }
        for o in &mut self.outputs {
            *o = new_id[*o];
        }
    }

    /// Append `node`; returns its id.
    pub fn push_node(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Every constant this graph and its sub-programs read (compiled code reads them in place).
    pub fn all_consts(&self) -> Vec<Arc<Concrete>> {
        let mut all = self.consts.clone();
        for s in &self.subs {
            all.extend(s.all_consts());
        }
        all
    }

    /// Add `kind` with the shape and dtype of `like`.
    fn push_like(&mut self, kind: Kind, like: &crate::core::aval::Aval, arg: NodeId) -> NodeId {
        self.push(kind, like.shape.clone(), like.dtype, arg)
    }
}

/// Flatten `cj` (its inputs become `Input` nodes).
pub fn build(cj: &ClosedJaxpr) -> Result<Graph> {
    let mut g = Graph {
        nodes: Vec::new(),
        consts: Vec::new(),
        outputs: Vec::new(),
        subs: Vec::new(),
    };
    let inputs: Vec<NodeId> = cj
        .jaxpr
        .invars
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let a = cj.jaxpr.aval(*v);
            g.push(Kind::Input(i), a.shape.clone(), a.dtype, usize::MAX)
        })
        .collect();
    g.outputs = inline(&mut g, &cj.jaxpr, &cj.consts, &inputs)?;
    Ok(g)
}

fn const_node(g: &mut Graph, c: &Array) -> Result<NodeId> {
    let Some(concrete) = (match &c.repr {
        crate::array::Repr::Concrete(k) => Some(k.clone()),
        crate::array::Repr::Tracer(_) => None,
    }) else {
        return Err(Error::Jit(format!(
            "a constant of type {} is a tracer; only concrete constants can be compiled",
            c.aval()
        )));
    };
    g.consts.push(concrete);
    let i = g.consts.len() - 1;
    Ok(g.push(Kind::Const(i), c.shape().to_vec(), c.dtype(), usize::MAX))
}

/// A jaxpr operand while the jaxpr is inlined: a node, or a literal that becomes a `Lit` node
/// of its own where it is used (`Env` reads literals without the graph at hand).
#[derive(Clone)]
enum Operand {
    Node(NodeId),
    Lit(Literal),
}

impl FromLiteral for Operand {
    fn from_literal(l: &Literal) -> Self {
        Operand::Lit(l.clone())
    }
}

impl Operand {
    /// The operand's node (a literal's added now).
    fn node(self, g: &mut Graph) -> NodeId {
        match self {
            Operand::Node(n) => n,
            Operand::Lit(l) => g.push(Kind::Lit(l.value), vec![], l.value.dtype(), usize::MAX),
        }
    }
}

/// The operands' nodes, in order.
fn nodes(g: &mut Graph, operands: Vec<Operand>) -> Vec<NodeId> {
    operands.into_iter().map(|o| o.node(g)).collect()
}

/// Add the equations of `jaxpr` with its invars bound to `args`; returns its outputs.
fn inline(g: &mut Graph, jaxpr: &Jaxpr, consts: &[Array], args: &[NodeId]) -> Result<Vec<NodeId>> {
    let consts = consts
        .iter()
        .map(|c| const_node(g, c).map(Operand::Node))
        .collect::<Result<Vec<_>>>()?;
    let args = args.iter().map(|&a| Operand::Node(a));
    let outs = interpret(jaxpr, consts, args, |eqn, ins| {
        let ins = nodes(g, ins);
        let out_aval = |i: usize| jaxpr.aval(eqn.outputs[i]).clone();
        let outs: Vec<NodeId> = match &eqn.prim {
            Prim::Unary(op) => {
                vec![g.push_like(Kind::Unary(op.clone(), ins[0]), &out_aval(0), ins[0])]
            }
            Prim::Binary(op) => vec![g.push_like(
                Kind::Binary(op.clone(), ins[0], ins[1]),
                &out_aval(0),
                usize::MAX,
            )],
            Prim::SelectN => vec![g.push_like(Kind::Select(ins.clone()), &out_aval(0), usize::MAX)],
            Prim::Reduce(op) => vec![g.push_like(
                Kind::Reduce {
                    op: op.clone(),
                    x: ins[0],
                    init: None,
                },
                &out_aval(0),
                ins[0],
            )],
            Prim::Cumulative(op) => vec![g.push_like(
                Kind::Cumulative {
                    op: op.clone(),
                    x: ins[0],
                },
                &out_aval(0),
                usize::MAX,
            )],
            Prim::Sort(op) => sort_nodes(g, op, &ins)?,
            Prim::TopK(op) => top_k_nodes(g, op, ins[0]),
            Prim::Random(RandomOp::Threefry2x32) => {
                let a = out_aval(0);
                let t = g.push(
                    Kind::Threefry([ins[0], ins[1], ins[2], ins[3]]),
                    a.shape.clone(),
                    DType::U32,
                    usize::MAX,
                );
                vec![
                    g.push_like(Kind::Proj(t, 0), &a, t),
                    g.push_like(Kind::Proj(t, 1), &out_aval(1), t),
                ]
            }
            Prim::Dot(d) => {
                let a = out_aval(0);
                let in_dtype = g.node(ins[0]).dtype;
                let dot = g.push(
                    Kind::Dot(d.clone(), ins[0], ins[1]),
                    a.shape.clone(),
                    in_dtype,
                    usize::MAX,
                );
                if a.dtype == in_dtype {
                    vec![dot]
                } else {
                    let conv = UnaryOp::ConvertElementType {
                        new_dtype: a.dtype,
                        weak_type: false,
                    };
                    vec![g.push_like(Kind::Unary(conv, dot), &a, dot)]
                }
            }
            Prim::Shape(op) => vec![shape_node(g, op, &ins, &out_aval(0))],
            Prim::Conv(c) => {
                // The same im2col decomposition the interpreter evaluates, inlined.
                let (l, r) = (g.node(ins[0]), g.node(ins[1]));
                use crate::core::aval::Aval;
                let avals = [
                    Aval::new(l.shape.clone(), l.dtype),
                    Aval::new(r.shape.clone(), r.dtype),
                ];
                let cj = c.im2col_jaxpr(&avals[0], &avals[1])?;
                inline(g, &cj.jaxpr, &cj.consts, &ins)?
            }
            Prim::Call(op) => {
                let cj = op.call_jaxpr().ok_or_else(|| op.uncompilable())?;
                inline(g, &cj.jaxpr, &cj.consts, &ins)?
            }
            Prim::Control(op) => {
                let avals: Vec<_> = (0..eqn.outputs.len()).map(out_aval).collect();
                control_node(g, op, ins, &avals)?
            }
            Prim::Linalg(op) => {
                let avals: Vec<_> = (0..eqn.outputs.len()).map(out_aval).collect();
                linalg_node(g, op, ins, &avals)?
            }
            Prim::Window(op) => vec![super::window::window(g, op, &ins, &out_aval(0))?],
            Prim::Clamp => vec![super::window::clamp(g, &ins, &out_aval(0))],
        };
        Ok(outs.into_iter().map(Operand::Node).collect())
    })?;
    Ok(nodes(g, outs))
}

/// A `Control` node for `op` on `operands` (its sub-jaxprs built as sub-graphs) and one
/// `ControlOut` per output.
fn control_node(
    g: &mut Graph,
    op: &ControlOp,
    operands: Vec<NodeId>,
    outs: &[crate::core::aval::Aval],
) -> Result<Vec<NodeId>> {
    let mut sub = |cj: &ClosedJaxpr| -> Result<usize> {
        g.subs.push(build(cj)?);
        Ok(g.subs.len() - 1)
    };
    let op = match op {
        ControlOp::While {
            cond_jaxpr,
            body_jaxpr,
            cond_nconsts,
            body_nconsts,
        } => Control::While {
            cond: sub(cond_jaxpr)?,
            body: sub(body_jaxpr)?,
            cond_nconsts: *cond_nconsts,
            body_nconsts: *body_nconsts,
        },
        ControlOp::Scan {
            jaxpr,
            length,
            reverse,
            num_consts,
            num_carry,
            ..
        } => Control::Scan {
            body: sub(jaxpr)?,
            length: *length,
            reverse: *reverse,
            num_consts: *num_consts,
            num_carry: *num_carry,
        },
        ControlOp::Cond { branches } => Control::Cond {
            branches: branches.iter().map(&mut sub).collect::<Result<_>>()?,
        },
    };
    let c = g.push(
        Kind::Control { op, operands },
        vec![],
        DType::Bool,
        usize::MAX,
    );
    Ok(outs
        .iter()
        .enumerate()
        .map(|(k, a)| g.push_like(Kind::ControlOut(c, k), a, usize::MAX))
        .collect())
}

fn shape_node(
    g: &mut Graph,
    op: &ShapeOp,
    ins: &[NodeId],
    out: &crate::core::aval::Aval,
) -> NodeId {
    let x = ins.first().copied().unwrap_or(usize::MAX);
    let kind = match op {
        ShapeOp::BroadcastInDim {
            broadcast_dimensions,
            ..
        } => Kind::Broadcast {
            dims: broadcast_dimensions.clone(),
        },
        ShapeOp::Reshape { .. } => Kind::Reshape,
        ShapeOp::Transpose { permutation } => Kind::Transpose {
            perm: permutation.clone(),
        },
        ShapeOp::Rev { dimensions } => Kind::Rev {
            dims: dimensions.clone(),
        },
        ShapeOp::Squeeze { .. } => Kind::Squeeze,
        ShapeOp::Concatenate { dimension } => Kind::Concat {
            dim: *dimension,
            xs: ins.to_vec(),
        },
        ShapeOp::Pad { padding_config } => Kind::Pad {
            config: padding_config.clone(),
            x,
            value: ins[1],
        },
        ShapeOp::Slice {
            start_indices,
            strides,
            ..
        } => Kind::Slice {
            start: start_indices.clone(),
            strides: strides
                .clone()
                .unwrap_or_else(|| vec![1; start_indices.len()]),
        },
        ShapeOp::DynamicSlice { .. } => Kind::DynSlice {
            x,
            starts: ins[1..].to_vec(),
        },
        ShapeOp::DynamicUpdateSlice => Kind::UpdateSlice {
            x,
            update: ins[1],
            starts: ins[2..].to_vec(),
        },
        ShapeOp::Gather(p) => return super::gather::gather(g, p, x, ins[1], out),
        ShapeOp::Scatter(p) => return super::gather::scatter(g, p, x, ins[1], ins[2], out),
        ShapeOp::Iota { dimension, .. } => Kind::Iota {
            dimension: *dimension,
        },
    };
    g.push_like(kind, out, x)
}

/// The nodes of a `sort`: the permutation of its key (`SortPerm`), and each operand taken
/// along the sorted dimension at it.
fn sort_nodes(g: &mut Graph, op: &Sort, ins: &[NodeId]) -> Result<Vec<NodeId>> {
    if op.num_keys != 1 {
        return Err(Error::Jit(format!(
            "sort with num_keys={} is not compiled yet (only one key; eager evaluation sorts by several)",
            op.num_keys
        )));
    }
    let perm = sort_perm(g, ins[0], op.dimension, false);
    Ok(ins
        .iter()
        .map(|&x| take_along(g, x, perm, op.dimension))
        .collect())
}

/// The nodes of a `top_k`: the permutation in top_k's order, its first `k` positions along
/// the axis (the indices), and the operand taken there.
fn top_k_nodes(g: &mut Graph, op: &TopK, x: NodeId) -> Vec<NodeId> {
    let perm = sort_perm(g, x, op.axis, true);
    let mut shape = g.node(x).shape.clone();
    shape[op.axis] = op.k;
    let start = vec![0; shape.len()];
    let strides = vec![1; shape.len()];
    let idx = g.push(Kind::Slice { start, strides }, shape, DType::I32, perm);
    vec![take_along(g, x, idx, op.axis), idx]
}

fn sort_perm(g: &mut Graph, key: NodeId, dimension: usize, top_k: bool) -> NodeId {
    let shape = g.node(key).shape.clone();
    let kind = Kind::SortPerm {
        dimension,
        key,
        top_k,
    };
    g.push(kind, shape, DType::I32, usize::MAX)
}

/// `x` taken along `axis` at the i32 `idx` (of `x`'s shape but for `axis`): a gather from the
/// flattened `x` at `(o n + idx) inner + i`, as `prims::sort::take_along_axis` computes.
fn take_along(g: &mut Graph, x: NodeId, idx: NodeId, axis: usize) -> NodeId {
    let (xs, dt) = (g.node(x).shape.clone(), g.node(x).dtype);
    let shape = g.node(idx).shape.clone();
    let (n, m) = (xs[axis], shape[axis]);
    let outer: usize = xs[..axis].iter().product();
    let inner: usize = xs[axis + 1..].iter().product();
    let lines = vec![outer, m, inner];
    let i32s = DType::I32;
    let iota = |g: &mut Graph, d: usize| {
        g.push(Kind::Iota { dimension: d }, lines.clone(), i32s, usize::MAX)
    };
    let lit = |g: &mut Graph, v: usize| {
        g.push(Kind::Lit(Scalar::I32(v as i32)), vec![], i32s, usize::MAX)
    };
    let bin = |g: &mut Graph, o: BinaryOp, a: NodeId, b: NodeId| {
        g.push(Kind::Binary(o, a, b), lines.clone(), i32s, usize::MAX)
    };
    let (o, i) = (iota(g, 0), iota(g, 2));
    let idx3 = g.push(Kind::Reshape, lines.clone(), i32s, idx);
    let (nl, il) = (lit(g, n), lit(g, inner));
    let row = bin(g, BinaryOp::Mul, o, nl);
    let row = bin(g, BinaryOp::Add, row, idx3);
    let src = bin(g, BinaryOp::Mul, row, il);
    let src = bin(g, BinaryOp::Add, src, i);
    let src = g.push(Kind::Reshape, shape.clone(), i32s, src);
    let size: usize = xs.iter().product();
    let flat = g.push(Kind::Reshape, vec![size], dt, x);
    let kind = Kind::Gather {
        axis: 0,
        x: flat,
        idx: src,
    };
    g.push(kind, shape, dt, usize::MAX)
}

/// The nodes of a linalg primitive: one kernel node, and for one with several results (`lu`,
/// `qr`, `eigh`, `svd`) the slices of its packed buffer (each result's elements per matrix, in
/// order: `cranax_runtime::linalg::{lu_packed, decompose}`), reshaped and, for integer
/// results, converted back.
fn linalg_node(
    g: &mut Graph,
    op: &LinalgOp,
    ins: Vec<NodeId>,
    outs: &[crate::core::aval::Aval],
) -> Result<Vec<NodeId>> {
    op.check_implemented()?;
    let kind = Kind::Linalg {
        op: op.clone(),
        operands: ins.clone(),
    };
    if let [out] = outs {
        return Ok(vec![g.push(kind, out.shape.clone(), out.dtype, usize::MAX)]);
    }
    let (shape, dt) = (g.node(ins[0]).shape.clone(), g.node(ins[0]).dtype);
    let batch = &shape[..shape.len() - 2];
    let nb = batch.len();
    let parts: Vec<usize> = outs
        .iter()
        .map(|o| o.shape[nb..].iter().product())
        .collect();
    let width = parts.iter().sum();
    let packed = g.push(kind, [batch, &[width]].concat(), dt, usize::MAX);
    let mut lo = 0;
    let mut nodes = Vec::new();
    for (out, len) in outs.iter().zip(parts) {
        let mut start = vec![0; nb + 1];
        start[nb] = lo;
        lo += len;
        let slice = Kind::Slice {
            start,
            strides: vec![1; nb + 1],
        };
        let part = g.push(slice, [batch, &[len]].concat(), dt, packed);
        let part = if out.dtype == dt {
            part
        } else {
            let conv = UnaryOp::ConvertElementType {
                new_dtype: out.dtype,
                weak_type: false,
            };
            g.push(
                Kind::Unary(conv, part),
                [batch, &[len]].concat(),
                out.dtype,
                part,
            )
        };
        nodes.push(if out.shape.len() == nb + 1 {
            part
        } else {
            g.push(Kind::Reshape, out.shape.clone(), out.dtype, part)
        });
    }
    Ok(nodes)
}
