//! Loop schedules: how each planned kernel runs, decided from index maps alone before any code
//! is written. For every kernel: the (node, index map) expressions it evaluates and how each is
//! obtained (loaded, or computed from which operands at which maps), its loop dimensions
//! collapsed where every access allows it, the vector lanes of its innermost loop, and whether
//! its outermost loop is split across threads. A kernel that would evaluate one inline node at
//! more than [`MAX_MAPS_PER_NODE`] index maps is reported instead, so that planning gives the
//! node a buffer.

use super::graph::{Graph, Kind, NodeId};
use super::index::{self, Aff, IndexMap};
use super::ops;
use super::plan::{access, Access, Buf, Kernel, KernelKind, Out, Plan};
use crate::dtype::DType;
use crate::prims::ReduceOp;
use rustc_hash::{FxHashMap, FxHashSet};

/// How many vector bodies one iteration of a vectorised loop runs (and accumulators a
/// vectorised reduction keeps).
pub const UNROLL: usize = 4;

/// Least elements of work (product of loop extents) for which a kernel is split across
/// threads.
pub const PAR_MIN_WORK: usize = 1 << 16;

/// Chunk boundaries of a split single-group (vectorised) loop are multiples of this, a
/// multiple of every vector step (`lanes * UNROLL`), so every chunk's vector loop covers
/// the same elements as one unsplit loop would and the scalar tail stays the last chunk's.
pub const PAR_ALIGN: usize = 16;

/// How a kernel's outermost loop is split across threads: the entry function runs it over
/// `[lo, hi)` chunks of `0..extent` whose inner boundaries are multiples of `align`, each at
/// least `min_chunk` long (see `cranax_runtime::for_chunks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub extent: usize,
    pub align: usize,
    pub min_chunk: usize,
}

/// Most distinct index maps one inline node may be evaluated at in one kernel.
pub const MAX_MAPS_PER_NODE: usize = 8;

/// An index into [`Schedule::maps`].
pub type MapId = u32;

/// The map of a scalar (no dimensions).
pub const EMPTY: MapId = 0;

/// The (operand, map) pairs a computed expression reads; `None` for a load from a buffer.
pub type Operands = Option<Vec<(NodeId, MapId)>>;

/// What emission does for one kernel.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    /// The index maps nodes are evaluated at (`EMPTY` first).
    pub maps: Vec<IndexMap>,
    /// Every expression the kernel evaluates, by (node, map).
    pub exprs: FxHashMap<(NodeId, MapId), Operands>,
    /// Collapsed loop groups, outermost first: (extent, the kernel's dims it covers).
    pub groups: Vec<(usize, Vec<usize>)>,
    /// The kernel dims of the vectorised group (empty when scalar).
    pub inner_dims: Vec<usize>,
    /// Lanes of the innermost loop (1: scalar).
    pub lanes: u8,
    /// The split of the outermost loop when it runs over the entry function's `(lo, hi)`
    /// range in chunks on several threads.
    pub split: Option<Split>,
    /// `Map` kernels: the map of each output, and of each output's dynamic address terms.
    pub out_maps: Vec<MapId>,
    pub dyn_maps: Vec<Vec<MapId>>,
    /// `Reduce` kernels: the map of the reduced operand, how many leading groups are kept
    /// dims, and the result's element offset.
    pub x_map: MapId,
    pub kept_groups: usize,
    pub dest_form: Aff,
    /// `Map` kernels: the one value varying along the vectorised loop, when it is a constant
    /// of at most two distinct elements (see [`TwoValued`]).
    pub two_valued: Option<TwoValued>,
}

/// A vectorised `Map` kernel in which only one value varies along the innermost loop: a
/// constant with one or two distinct elements (`jacfwd`'s and `hessian`'s identity basis),
/// every other leaf being uniform along that loop. Each output is then a function of that
/// constant's element and of uniform values alone, so emission computes each output once per
/// distinct element (scalar code, before the innermost loop), and the loop only selects
/// between them by the constant's bits: the same operations on the same operands, so the same
/// bits as computing every element.
#[derive(Clone, Debug)]
pub struct TwoValued {
    /// The constant, and the (non-uniform) map at which the kernel reads it.
    pub node: NodeId,
    pub map: MapId,
    /// The bit patterns of its distinct elements (one or two, in order of appearance).
    pub bits: Vec<u64>,
}

impl Schedule {
    /// Does `form` not move along the vectorised loop?
    pub fn aff_uniform(&self, a: &Aff) -> bool {
        self.inner_dims.iter().all(|&d| a.k[d] == 0)
    }

    /// Is the map `m` the same in every lane?
    pub fn uniform(&self, m: MapId) -> bool {
        self.maps[m as usize].iter().all(|a| self.aff_uniform(a))
    }

    /// The coefficient of `form` along the vectorised loop.
    pub fn inner_coef(&self, a: &Aff) -> i64 {
        self.inner_dims.last().map(|&d| a.k[d]).unwrap_or(0)
    }

    /// How many expressions are computed (not loaded).
    pub fn computed(&self) -> usize {
        self.exprs.values().filter(|e| e.is_some()).count()
    }
}

/// Schedule every kernel of `plan`, in order. `Err(nodes)`: the first kernel that evaluates
/// these inline nodes at too many index maps (views that do not commute can multiply them).
pub fn schedule(g: &Graph, plan: &mut Plan) -> std::result::Result<(), Vec<NodeId>> {
    schedule_where(g, plan, |_| true)
}

/// Schedule again, after constants were relaid, only the kernels that load one of them: a
/// kernel's schedule depends on the plan only through the strides of the nodes it loads
/// (`Plan::load_strides`), so every other kernel's schedule stays what it was.
pub fn reschedule_relaid(g: &Graph, plan: &mut Plan) -> std::result::Result<(), Vec<NodeId>> {
    let relaid: FxHashSet<NodeId> = plan.relaid.keys().copied().collect();
    schedule_where(g, plan, |k| {
        k.schedule
            .exprs
            .iter()
            .any(|(&(n, _), e)| e.is_none() && relaid.contains(&n))
    })
}

/// Schedule the kernels of `plan` that `wanted` picks, in order (see [`schedule`]).
fn schedule_where(
    g: &Graph,
    plan: &mut Plan,
    wanted: impl Fn(&Kernel) -> bool,
) -> std::result::Result<(), Vec<NodeId>> {
    for i in 0..plan.kernels.len() {
        let kern = &plan.kernels[i];
        if kern.is_empty() || !wanted(kern) {
            continue;
        }
        let mut b = Builder {
            g,
            plan,
            roots: kern.roots(g),
            nl: kern.dims.len(),
            s: Schedule {
                lanes: 1,
                ..Schedule::default()
            },
            map_ids: FxHashMap::default(),
            forms: Vec::new(),
            visited: Vec::new(),
        };
        b.intern(Vec::new());
        match &kern.kind {
            KernelKind::Map { outs } => b.map_kernel(kern, outs),
            KernelKind::Reduce {
                node,
                x,
                op,
                kept,
                reduced,
            } => b.reduce_kernel(kern, *node, *x, op, kept, reduced),
            KernelKind::MatMul { .. }
            | KernelKind::Linalg { .. }
            | KernelKind::Cumulative { .. }
            | KernelKind::SortPerm { .. }
            | KernelKind::Control(_) => {}
        }
        let over = b.over_expanded();
        if !over.is_empty() {
            return Err(over);
        }
        let s = b.s;
        plan.kernels[i].schedule = s;
    }
    Ok(())
}

struct Builder<'a> {
    g: &'a Graph,
    plan: &'a Plan,
    /// Nodes the kernel evaluates inline even though they have buffers (`Kernel::roots`).
    roots: FxHashSet<NodeId>,
    /// The kernel's loop dimensions (before collapsing).
    nl: usize,
    s: Schedule,
    map_ids: FxHashMap<IndexMap, MapId>,
    /// The element offsets the kernel addresses (they decide which loops collapse).
    forms: Vec<Aff>,
    /// Every (node, map, loaded?) in visiting order.
    visited: Vec<(NodeId, MapId, bool)>,
}

impl Builder<'_> {
    fn intern(&mut self, m: IndexMap) -> MapId {
        if let Some(&id) = self.map_ids.get(&m) {
            return id;
        }
        let id = self.s.maps.len() as MapId;
        self.s.maps.push(m.clone());
        self.map_ids.insert(m, id);
        id
    }

    /// Visit every (node, map) evaluating `starts` takes, recording how each is obtained and
    /// the offsets it addresses.
    fn walk(&mut self, starts: &[(NodeId, MapId)]) {
        let (g, nl) = (self.g, self.nl);
        let mut stack = starts.to_vec();
        while let Some((n, m)) = stack.pop() {
            if self.s.exprs.contains_key(&(n, m)) {
                continue;
            }
            let node = &g.nodes[n];
            let map = self.s.maps[m as usize].clone();
            let operands = match access(g, &self.plan.owner, &self.roots, n) {
                Access::Load => {
                    let strides = self.plan.load_strides(g, n);
                    self.forms.push(index::linear(&map, &strides, nl));
                    None
                }
                Access::Compute { operands, .. } => {
                    match &node.kind {
                        Kind::Iota { dimension } => self.forms.push(map[*dimension].clone()),
                        Kind::DynSlice { x, .. } => self.forms.push(index::linear(
                            &map,
                            &index::row_strides(&g.nodes[*x].shape),
                            nl,
                        )),
                        Kind::Gather { axis, x, idx } => self.forms.push(index::gather_offset(
                            &map,
                            &g.nodes[*x].shape,
                            g.nodes[*idx].shape.len(),
                            *axis,
                            nl,
                        )),
                        _ => {}
                    }
                    let ch = self.operand_maps(n, &map, m, &operands);
                    stack.extend(ch.iter().copied());
                    Some(ch)
                }
            };
            self.visited.push((n, m, operands.is_none()));
            self.s.exprs.insert((n, m), operands);
        }
    }

    /// The maps at which the operands of node `n`, computed at `map` (id `m`), are read.
    fn operand_maps(
        &mut self,
        n: NodeId,
        map: &IndexMap,
        m: MapId,
        operands: &[NodeId],
    ) -> Vec<(NodeId, MapId)> {
        let (g, nl) = (self.g, self.nl);
        let node = &g.nodes[n];
        let arg_map = match &node.kind {
            Kind::Broadcast { dims } => {
                let arg = &g.nodes[node.arg];
                (0..arg.shape.len())
                    .map(|i| {
                        if arg.shape[i] == 1 {
                            Aff::zero(nl)
                        } else {
                            map[dims[i]].clone()
                        }
                    })
                    .collect()
            }
            Kind::Transpose { perm } => {
                let mut amap = vec![Aff::zero(nl); perm.len()];
                for (k, &p) in perm.iter().enumerate() {
                    amap[p] = map[k].clone();
                }
                amap
            }
            Kind::Reshape | Kind::Squeeze => {
                let plan = self.plan.reshape[n]
                    .as_ref()
                    .expect("inline reshapes have a plan");
                index::apply_reshape(plan, map, nl)
            }
            Kind::Rev { dims } => {
                let shape = &g.nodes[n].shape;
                map.iter()
                    .enumerate()
                    .map(|(d, a)| {
                        if dims.contains(&d) {
                            a.scale_add(-1, shape[d] as i64 - 1)
                        } else {
                            a.clone()
                        }
                    })
                    .collect()
            }
            Kind::Slice { start, strides } => map
                .iter()
                .enumerate()
                .map(|(d, a)| a.scale_add(strides[d] as i64, start[d] as i64))
                .collect(),
            Kind::Gather { axis, idx, .. } => {
                let ni = g.nodes[*idx].shape.len();
                let imap = map[*axis..axis + ni].to_vec();
                return vec![(*idx, self.intern(imap))];
            }
            Kind::DynSlice { starts, .. } => return starts.iter().map(|&s| (s, EMPTY)).collect(),
            Kind::Proj(t, _) => return vec![(*t, m)],
            _ => {
                return operands
                    .iter()
                    .map(|&a| {
                        (
                            a,
                            if g.nodes[a].shape.is_empty() {
                                EMPTY
                            } else {
                                m
                            },
                        )
                    })
                    .collect()
            }
        };
        vec![(node.arg, self.intern(arg_map))]
    }

    /// Inline nodes evaluated at more than `MAX_MAPS_PER_NODE` maps, in increasing order.
    fn over_expanded(&self) -> Vec<NodeId> {
        let mut maps_of: FxHashMap<NodeId, usize> = FxHashMap::default();
        for &(n, _, loaded) in &self.visited {
            if !loaded {
                *maps_of.entry(n).or_default() += 1;
            }
        }
        let mut many: Vec<NodeId> = maps_of
            .into_iter()
            .filter(|&(_, k)| k > MAX_MAPS_PER_NODE)
            .map(|(n, _)| n)
            .collect();
        many.sort_unstable();
        many
    }

    fn map_kernel(&mut self, kern: &Kernel, outs: &[Out]) {
        self.s.out_maps = outs.iter().map(|o| self.intern(o.map.clone())).collect();
        self.s.dyn_maps = outs
            .iter()
            .map(|o| {
                let terms = &o.dest.dyn_terms;
                terms.iter().map(|t| self.intern(t.map.clone())).collect()
            })
            .collect();
        let mut roots: Vec<(NodeId, MapId)> = outs
            .iter()
            .zip(self.s.out_maps.iter().copied())
            .filter(|(o, _)| o.store)
            .map(|(o, m)| (o.node, m))
            .collect();
        for (o, ids) in outs.iter().zip(&self.s.dyn_maps) {
            let nodes = o.dest.dyn_terms.iter().map(|t| t.node);
            roots.extend(nodes.zip(ids.iter().copied()));
        }
        self.walk(&roots);
        let stored = outs.iter().filter(|o| o.store);
        self.forms.extend(stored.map(|o| o.dest.form.clone()));
        let form_refs: Vec<&Aff> = self.forms.iter().collect();
        self.s.groups = index::collapse(&kern.dims, &form_refs, &[]);
        let Some((inner_extent, inner_dims)) = self.s.groups.last().cloned() else {
            return;
        };
        self.s.inner_dims = inner_dims;
        let dests: Vec<(DType, Aff, bool)> = outs
            .iter()
            .zip(&self.s.dyn_maps)
            .filter(|(o, _)| o.store)
            .map(|(o, ids)| {
                let dyn_ok = (o.combine.is_none() || o.dest.dyn_terms.is_empty())
                    && ids.iter().all(|&id| self.s.uniform(id));
                (self.g.nodes[o.node].dtype, o.dest.form.clone(), dyn_ok)
            })
            .collect();
        self.set_lanes(&dests, inner_extent);
        if self.parallelisable(kern, outs) {
            // One vectorised group: chunks start on a vector step, and are at least a block
            // long (a blocked loop's last block ends at its chunk's end and may start
            // before the last whole one: it stays inside the chunk).
            let (align, min_chunk) = if self.s.groups.len() == 1 {
                (PAR_ALIGN, super::emit::BLOCK as usize)
            } else {
                (1, 1)
            };
            let extent = self.s.groups[0].0;
            self.s.split = Some(Split {
                extent,
                align,
                min_chunk,
            });
        }
        if self.s.split.is_none() && outs.iter().all(|o| o.is_plain()) {
            self.s.two_valued = self.two_valued();
        }
    }

    /// The [`TwoValued`] constant of a vectorised `Map` kernel, if it has one: every
    /// (node, map) it evaluates at a map that moves along the innermost loop is computed from
    /// its operands by a pure elementwise op or view, except one load of a constant with at
    /// most two distinct elements.
    fn two_valued(&self) -> Option<TwoValued> {
        let (g, s) = (self.g, &self.s);
        if s.lanes == 1 {
            return None;
        }
        let mut leaf = None;
        for (&(n, m), e) in &s.exprs {
            if s.uniform(m) {
                continue;
            }
            let node = &g.nodes[n];
            match (e, &node.kind) {
                (None, Kind::Const(_)) if leaf.is_none_or(|l| l == (n, m)) => leaf = Some((n, m)),
                (None, _) => return None,
                (Some(_), Kind::Iota { .. } | Kind::DynSlice { .. } | Kind::Gather { .. }) => {
                    return None
                }
                (Some(_), _) => {}
            }
        }
        let (node, map) = leaf?;
        let Kind::Const(j) = g.nodes[node].kind else {
            unreachable!("matched above")
        };
        let bits = g.consts[j].data.distinct_bits(2)?;
        Some(TwoValued { node, map, bits })
    }

    fn reduce_kernel(
        &mut self,
        kern: &Kernel,
        node: NodeId,
        x: NodeId,
        op: &ReduceOp,
        kept: &[usize],
        reduced: &[usize],
    ) {
        let nl = self.nl;
        let nk = kept.len();
        // x dim d is loop var position of d in kept ++ reduced.
        let order: Vec<usize> = kept.iter().chain(reduced).copied().collect();
        let mut xmap = vec![Aff::zero(nl); nl];
        for (pos, &d) in order.iter().enumerate() {
            xmap[d] = Aff::var(nl, pos);
        }
        self.s.x_map = self.intern(xmap);
        let ostrides = index::row_strides(&self.g.nodes[node].shape);
        let mut dest_form = Aff::zero(nl);
        dest_form.k[..nk].copy_from_slice(&ostrides[..nk]);
        self.walk(&[(x, self.s.x_map)]);
        self.forms.push(dest_form.clone());
        self.s.dest_form = dest_form;
        let form_refs: Vec<&Aff> = self.forms.iter().collect();
        self.s.groups = index::collapse(&kern.dims, &form_refs, &[nk]);
        self.s.kept_groups = self
            .s
            .groups
            .iter()
            .take_while(|(_, dims)| dims[0] < nk)
            .count();
        // Bool xor has no mask-vector form (any/all test masks as a whole): scalar.
        let bool_xor = matches!(op, ReduceOp::Xor { .. })
            && self.g.nodes[x].dtype == crate::dtype::DType::Bool;
        let is_arg = matches!(op, ReduceOp::Argmax { .. } | ReduceOp::Argmin { .. }) || bool_xor;
        let last_is_reduced = self.s.groups.len() > self.s.kept_groups;
        if !is_arg && last_is_reduced {
            let (extent, dims) = self.s.groups.last().expect("checked").clone();
            self.s.inner_dims = dims;
            self.set_lanes(&[], extent);
        }
    }

    /// Lanes for the innermost loop (1: scalar, and then no vectorised dims), given the
    /// stores (dest dtype, dest form, uniform dynamic terms?).
    fn set_lanes(&mut self, dests: &[(DType, Aff, bool)], inner_extent: usize) {
        self.s.lanes = self.lanes(dests, inner_extent);
        if self.s.lanes == 1 {
            self.s.inner_dims.clear();
        }
    }

    fn lanes(&self, dests: &[(DType, Aff, bool)], inner_extent: usize) -> u8 {
        let (g, s) = (self.g, &self.s);
        let nl = self.nl;
        let mut widths = FxHashSet::default();
        for &(n, m, loaded) in &self.visited {
            if s.uniform(m) {
                continue;
            }
            let node = &g.nodes[n];
            let dt = node.dtype;
            if !ops::has_lanes(dt) {
                return 1;
            }
            if dt != DType::Bool {
                widths.insert(dt.size_bytes());
            }
            let map = &s.maps[m as usize];
            let contiguous = |strides: &[i64]| {
                dt != DType::Bool && s.inner_coef(&index::linear(map, strides, nl)) == 1
            };
            let ok = if loaded {
                contiguous(&self.plan.load_strides(g, n))
            } else {
                match &node.kind {
                    Kind::Unary(op, a) => ops::unary_vectorizes(op, g.nodes[*a].dtype, dt),
                    Kind::Binary(op, a, c) => {
                        ops::binary_vectorizes(op, g.nodes[*a].dtype, g.nodes[*c].shape.is_empty())
                    }
                    Kind::DynSlice { x, .. } => contiguous(&index::row_strides(&g.nodes[*x].shape)),
                    Kind::Gather { axis, x, idx } => {
                        let ni = g.nodes[*idx].shape.len();
                        let f = index::gather_offset(map, &g.nodes[*x].shape, ni, *axis, nl);
                        let idx_uniform = map[*axis..axis + ni].iter().all(|a| s.aff_uniform(a));
                        dt != DType::Bool && idx_uniform && s.inner_coef(&f) == 1
                    }
                    _ => true,
                }
            };
            if !ok {
                return 1;
            }
        }
        for (dt, form, dyn_uniform) in dests {
            if *dt == DType::Bool || !ops::has_lanes(*dt) || !dyn_uniform || s.inner_coef(form) != 1
            {
                return 1;
            }
            if widths.is_empty() {
                widths.insert(dt.size_bytes());
            }
        }
        if widths.len() != 1 {
            return 1;
        }
        let w = *widths.iter().next().expect("one width");
        let lanes = (16 / w) as u8;
        if inner_extent < UNROLL * lanes as usize {
            return 1;
        }
        lanes
    }

    /// Whether this `Map` kernel may run its outermost loop in independent chunks on several
    /// threads: it is the function's only kernel (so nothing else runs before or after it
    /// and it uses no scratch), it has enough work, and each iteration stores plain values to
    /// its own row-major output element (distinct iterations never touch the same element,
    /// and nothing the kernel reads is written by it).
    fn parallelisable(&self, kern: &Kernel, outs: &[Out]) -> bool {
        let plan = self.plan;
        let strides = index::row_strides(&kern.dims);
        plan.kernels.len() == 1
            && plan.scratch_bytes == 0
            && !self.s.groups.is_empty()
            && self.s.groups[0].0 >= 2
            && kern.dims.iter().product::<usize>() >= PAR_MIN_WORK
            && outs.iter().all(|o| {
                o.combine.is_none()
                    && o.dest.dyn_terms.is_empty()
                    && (!o.store
                        || (o.dest.form.c == 0
                            && o.dest.form.k == strides
                            && matches!(plan.target_buf(o.dest.target), Buf::Output(_))))
            })
    }
}
