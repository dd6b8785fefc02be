//! Blocked `Map` loops: a large vectorised single-group f32 loop that computes `exp`, `log`,
//! `log1p`, `tanh`, `logistic`, `sin` or `cos` runs over L1-sized blocks of [`BLOCK`]
//! elements and one shorter last block. For each such (node, map), in dependency order, the
//! runtime's wide-vector block kernel (`cranax_runtime::vecmath`, AVX-512 or AVX2 where the
//! CPU has them) computes the function over the block into a stack buffer, reading its
//! operand in place when that is contiguous (an input read along the loop, or an earlier
//! pair's buffer) and otherwise from a buffer that a loop over the block first fills; then
//! the kernel's outputs are computed over the block with those values read back from the
//! buffers. Fusion is kept (no full-size intermediate), no inline polynomial is emitted
//! (compile time), and the results are the inline code's bit for bit (the block kernels
//! compute the same operations).

use super::Emitter;
use crate::backend::graph::{is_view, Kind, NodeId};
use crate::backend::index::Aff;
use crate::backend::ops::{to_vec, Val};
use crate::backend::plan::{Buf, Out};
use crate::backend::schedule::MapId;
use crate::core::error::Result;
use crate::dtype::DType;
use crate::prims::{BinaryOp, UnaryOp};
use cranax_runtime::vecmath::BlockFn;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, StackSlotData, StackSlotKind, Value};
use cranelift_frontend::FunctionBuilder;
use rustc_hash::FxHashSet;

/// Elements per block (4 KB of f32 per buffer, so a few buffers and the block's inputs stay
/// in L1).
pub(in crate::backend) const BLOCK: i64 = 1024;

/// Unrolled copies of the vector body over a whole block. Measured (callgrind,
/// `elementwise_chain_n1e6`): 1 instead of 4 saves 22% of Cranelift's instructions at compile
/// time but adds 60% to the blocked passes' (10% to the whole call).
pub(super) const BLOCK_UNROLL: usize = 4;

/// Least loop extent that is blocked (smaller loops keep the inline polynomial).
pub(super) const MIN_EXTENT: usize = 4 * BLOCK as usize;

/// A pass over a block: the code for the current element (vector or scalar).
pub(super) type Pass<'f, S> = dyn FnMut(&mut S, &mut FunctionBuilder) -> Result<()> + 'f;

/// A (node, map) computed by a block kernel, the kernel, and the (node, map) it reads.
pub(super) type BlockPair = ((NodeId, MapId), BlockFn, (NodeId, MapId));

/// Where a pair's block kernel writes: an output (its index, buffer and element offset),
/// or a block buffer.
enum Dst {
    Out((usize, Buf, Aff)),
    Buf(Value),
}

/// The block kernel of a unary op, if it has one.
fn block_fn(op: &UnaryOp) -> Option<BlockFn> {
    Some(match op {
        UnaryOp::Exp => BlockFn::Exp,
        UnaryOp::Log => BlockFn::Log,
        UnaryOp::Log1p => BlockFn::Log1p,
        UnaryOp::Tanh => BlockFn::Tanh,
        UnaryOp::Logistic => BlockFn::Logistic,
        UnaryOp::Sin => BlockFn::Sin,
        UnaryOp::Cos => BlockFn::Cos,
        _ => return None,
    })
}

impl Emitter<'_, '_> {
    /// The (node, map) pairs this `Map` kernel computes with block kernels, operands before
    /// their users; empty when the kernel is not blocked (several loop groups, not f32x4
    /// lanes, or an extent below [`MIN_EXTENT`]).
    pub(super) fn block_pairs(&self, outs: &[Out], roots: &[MapId]) -> Vec<BlockPair> {
        let s = self.k.s;
        if s.groups.len() != 1 || s.lanes != 4 || s.groups[0].0 < MIN_EXTENT {
            return vec![];
        }
        let g = self.g();
        let mut order = Vec::new();
        let mut seen = FxHashSet::default();
        // Iterative post-order over the expressions from the outputs (a task is done when
        // it carries its kernel).
        type Task = ((NodeId, MapId), Option<(BlockFn, (NodeId, MapId))>);
        let mut stack: Vec<Task> = outs
            .iter()
            .zip(roots)
            .filter(|(o, _)| o.store)
            .map(|(o, &m)| ((o.node, m), None))
            .collect();
        while let Some((p, done)) = stack.pop() {
            if let Some((f, operand)) = done {
                order.push((p, f, operand));
                continue;
            }
            if !seen.insert(p) {
                continue;
            }
            let Some(Some(ch)) = s.exprs.get(&p) else {
                continue;
            };
            let node = &g.nodes[p.0];
            let f32s = node.dtype == DType::F32 && !s.uniform(p.1);
            // Only a unary op computed inline here is blocked: one read from its own buffer
            // (materialised by an earlier kernel) is a plain load.
            let kernel = match (&node.kind, f32s) {
                (Kind::Unary(op, a), true) if self.dt(*a) == DType::F32 => {
                    block_fn(op).map(|f| (f, ch[0]))
                }
                (Kind::Binary(..), true) => self.tanh_grad_of(p).map(|x| (BlockFn::TanhGrad, x)),
                _ => None,
            };
            match kernel {
                // Its operand's expression only: what the kernel computes is not evaluated.
                Some((f, operand)) => {
                    stack.push((p, Some((f, operand))));
                    stack.push((operand, None));
                }
                None => stack.extend(ch.iter().map(|&c| (c, None))),
            }
        }
        order
    }

    /// The operand `x` when `p` is tanh's derivative as `grad(tanh)` computes it at a unit
    /// cotangent: `d + d t` with `d = 1 - t`, `t = tanh(x)` (the sum and the product in
    /// either order: the same bits), all computed inline here in f32.
    fn tanh_grad_of(&self, p: (NodeId, MapId)) -> Option<(NodeId, MapId)> {
        let s = self.k.s;
        let g = self.g();
        let binary =
            |p: (NodeId, MapId), want: BinaryOp| match (&g.nodes[p.0].kind, s.exprs.get(&p)) {
                (Kind::Binary(op, ..), Some(Some(ch)))
                    if *op == want && g.nodes[p.0].dtype == DType::F32 =>
                {
                    Some((ch[0], ch[1]))
                }
                _ => None,
            };
        let (a, c) = binary(p, BinaryOp::AddAny).or_else(|| binary(p, BinaryOp::Add))?;
        // One of the sum's terms is d, the other d * t.
        let (d, (t, one)) = [(a, c), (c, a)].into_iter().find_map(|(d, e)| {
            let (u, v) = binary(e, BinaryOp::Mul)?;
            let t = if u == d {
                v
            } else if v == d {
                u
            } else {
                return None;
            };
            Some((
                d,
                binary(d, BinaryOp::Sub)
                    .filter(|&(_, tt)| tt == t)
                    .map(|(one, _)| (t, one))?,
            ))
        })?;
        let _ = d;
        let x = match (&g.nodes[t.0].kind, s.exprs.get(&t)) {
            (Kind::Unary(UnaryOp::Tanh, a), Some(Some(ch))) if self.dt(*a) == DType::F32 => ch[0],
            _ => return None,
        };
        (self.literal(one) == Some(1.0)).then_some(x)
    }

    /// The value of a (node, map) that is a literal, through views.
    fn literal(&self, (mut n, mut m): (NodeId, MapId)) -> Option<f64> {
        loop {
            let node = &self.g().nodes[n];
            match (&node.kind, self.k.s.exprs.get(&(n, m))) {
                (Kind::Lit(v), _) => return Some(v.to_f64()),
                (k, Some(Some(ch))) if is_view(k) => (n, m) = ch[0],
                _ => return None,
            }
        }
    }

    /// The loop over `[lo, hi)` (`lo` a multiple of the vector step) in blocks of [`BLOCK`]
    /// elements and one shorter last block: in each, each pair through its kernel, then
    /// `body` (the outputs) over the block. No inline polynomial is emitted.
    pub(super) fn blocked(
        &mut self,
        b: &mut FunctionBuilder,
        pairs: &[BlockPair],
        outs: &[Out],
        (lo, hi): (Value, Value),
        body: &mut Pass<Self>,
    ) -> Result<()> {
        let read = self.read_bufs();
        let direct = self.direct_outputs(pairs, outs, &read);
        // Whether any output is left for the pass over the block after the kernels.
        let rest = outs
            .iter()
            .enumerate()
            .any(|(k, o)| o.store && !direct.iter().flatten().any(|d| d.0 == k));
        let mut body = if rest { Some(body) } else { None };
        let bytes = (BLOCK as u32) * 4;
        // A buffer for each pair not written into an output.
        let dsts: Vec<Dst> = direct
            .into_iter()
            .map(|d| match d {
                Some(out) => Dst::Out(out),
                None => {
                    let slot = b.create_sized_stack_slot(StackSlotData::new(
                        StackSlotKind::ExplicitSlot,
                        bytes,
                        6,
                    ));
                    Dst::Buf(b.ins().stack_addr(types::I64, slot, 0))
                }
            })
            .collect();
        if self.recomputable(outs, &read) {
            // One copy of the block's code: the last block, when the range is not a whole
            // number of blocks, ends at `hi` and starts up to BLOCK - 1 elements early,
            // computing again (the same bits) what the block before it wrote. It starts at
            // 0 or later, so it stays inside the loop's extent (at least MIN_EXTENT), and
            // inside a split chunk (at least BLOCK long, `Split::min_chunk`).
            let back = b.ins().iadd_imm_s(hi, -BLOCK);
            let zero = b.ins().iconst(types::I64, 0);
            let last = b.ins().smax(back, zero);
            return super::for_range_dyn(self, b, lo, hi, BLOCK, &mut |s, b, i, _| {
                let i0 = b.ins().smin(i, last);
                let stop = b.ins().iadd_imm_s(i0, BLOCK);
                s.block(b, pairs, &dsts, (i0, stop), true, &mut body)?;
                Ok(vec![])
            });
        }
        let span = b.ins().isub(hi, lo);
        let whole = b.ins().band_imm_s(span, !(BLOCK - 1));
        let end = b.ins().iadd(lo, whole);
        super::for_range_dyn(self, b, lo, end, BLOCK, &mut |s, b, i0, _| {
            let stop = b.ins().iadd_imm_s(i0, BLOCK);
            s.block(b, pairs, &dsts, (i0, stop), true, &mut body)?;
            Ok(vec![])
        })?;
        // The last, shorter block (when the range is not a whole number of blocks).
        let last = b.create_block();
        let exit = b.create_block();
        let more = b.ins().icmp(IntCC::SignedLessThan, end, hi);
        b.ins().brif(more, last, &[], exit, &[]);
        b.switch_to_block(last);
        self.block(b, pairs, &dsts, (end, hi), false, &mut body)?;
        b.ins().jump(exit, &[]);
        b.switch_to_block(exit);
        Ok(())
    }

    /// One block `[i0, stop)`: whole ([`BLOCK`] elements) or the shorter last one.
    fn block(
        &mut self,
        b: &mut FunctionBuilder,
        pairs: &[BlockPair],
        dsts: &[Dst],
        (i0, stop): (Value, Value),
        whole: bool,
        body: &mut Option<&mut Pass<Self>>,
    ) -> Result<()> {
        self.k.block_start = Some(i0);
        let fma = self.cx.fma;
        let n_el = if whole {
            b.ins().iconst(types::I64, BLOCK)
        } else {
            b.ins().isub(stop, i0)
        };
        for (k, &((n, m), f, operand)) in pairs.iter().enumerate() {
            // Into the output itself when it is stored there as it is, else the pair's buffer.
            let dst = match &dsts[k] {
                Dst::Out((out, buf, form)) => {
                    let base = self.base(*buf);
                    let off = b.ins().iadd_imm_s(i0, form.c);
                    self.k.stored.insert(*out);
                    self.address(b, base, off, DType::F32)
                }
                Dst::Buf(buf) => *buf,
            };
            let src = match self.contiguous_src(b, operand, i0)? {
                Some(src) => src,
                None => {
                    // The operand's values over the block, into the pair's buffer.
                    self.pass(b, (i0, stop), whole, &mut |s, b| {
                        let v = s.eval(b, operand.0, operand.1)?;
                        let v = match s.k.lanes {
                            1 => v,
                            _ => Val::V(to_vec(b, &s.ops_cx(), DType::F32, v)),
                        };
                        let (addr, disp) = s.block_addr(b, dst);
                        let (Val::S(raw) | Val::V(raw)) = v;
                        b.ins().store(super::flags(), raw, addr, disp);
                        Ok(())
                    })?;
                    dst
                }
            };
            let (fused, unfused) = f.symbols();
            let callee =
                crate::backend::codegen::runtime_func(b, if fma { fused } else { unfused });
            b.ins().call(callee, &[src, dst, n_el]);
            self.k.ready.insert((n, m), dst);
        }
        if let Some(body) = body {
            self.pass(b, (i0, stop), whole, body)?;
        }
        self.k.stored.clear();
        self.k.ready.clear();
        self.k.block_start = None;
        Ok(())
    }

    /// For each pair, the output (its index and element offset) the block kernel may write
    /// in place of the pair's buffer: one that stores the pair's value as it is
    /// (contiguously, with no read-modify-write) into a buffer that nothing else in the
    /// kernel reads or writes (written a block ahead of the other outputs, it must not
    /// change what they read).
    fn direct_outputs(
        &self,
        pairs: &[BlockPair],
        outs: &[Out],
        read: &FxHashSet<Buf>,
    ) -> Vec<Option<(usize, Buf, Aff)>> {
        let s = self.k.s;
        let plan = self.cx.plan;
        let target = |o: &Out| plan.target_buf(o.dest.target);
        let only = |k: usize| {
            let t = target(&outs[k]);
            let other = |(j, o): (usize, &Out)| j != k && o.store && target(o) == t;
            !read.contains(&t) && !outs.iter().enumerate().any(other)
        };
        pairs
            .iter()
            .map(|&((n, m), ..)| {
                let k = outs.iter().zip(&s.out_maps).position(|(o, &om)| {
                    o.node == n
                        && om == m
                        && o.store
                        && o.combine.is_none()
                        && o.dest.dyn_terms.is_empty()
                        && s.inner_coef(&o.dest.form) == 1
                })?;
                only(k).then(|| (k, target(&outs[k]), outs[k].dest.form.clone()))
            })
            .collect()
    }

    /// Whether computing an element again gives what is already there: every output a
    /// plain store at a static place (no combine into it, no dynamic offset) into a buffer
    /// the kernel does not read (no output written in place of an operand).
    fn recomputable(&self, outs: &[Out], read: &FxHashSet<Buf>) -> bool {
        outs.iter().filter(|o| o.store).all(|o| {
            o.combine.is_none()
                && o.dest.dyn_terms.is_empty()
                && !read.contains(&self.cx.plan.target_buf(o.dest.target))
        })
    }

    /// `body` over `[i0, stop)`: in vector steps of [`BLOCK_UNROLL`] copies over a whole
    /// block; over the last block, single vector steps and then a scalar tail.
    fn pass(
        &mut self,
        b: &mut FunctionBuilder,
        (i0, stop): (Value, Value),
        whole: bool,
        body: &mut Pass<Self>,
    ) -> Result<()> {
        let lanes = self.k.s.lanes as i64;
        let mut copy = |s: &mut Self, b: &mut FunctionBuilder, _, _| {
            body(s, b)?;
            Ok(vec![])
        };
        if whole {
            let step = lanes * BLOCK_UNROLL as i64;
            return super::for_range_dyn(self, b, i0, stop, step, &mut |s, b, i, _| {
                s.unrolled_by(b, 0, i, BLOCK_UNROLL, vec![], &mut copy)
            });
        }
        let span = b.ins().isub(stop, i0);
        let vspan = b.ins().band_imm_s(span, !(lanes - 1));
        let nv = b.ins().iadd(i0, vspan);
        super::for_range_dyn(self, b, i0, nv, lanes, &mut |s, b, i, _| {
            s.unrolled_by(b, 0, i, 1, vec![], &mut copy)
        })?;
        super::for_range_dyn(self, b, nv, stop, 1, &mut |s, b, i, _| {
            s.scalar_at(0, i);
            copy(s, b, 0, vec![])
        })
    }

    /// The address of the operand's values over the block starting at `i0` when they are
    /// there already: a pair computed into its buffer, or a leaf read contiguously (then
    /// the kernel reads it in place, with no copy).
    fn contiguous_src(
        &mut self,
        b: &mut FunctionBuilder,
        (n, m): (NodeId, MapId),
        i0: Value,
    ) -> Result<Option<Value>> {
        if let Some(&buf) = self.k.ready.get(&(n, m)) {
            return Ok(Some(buf));
        }
        // Through views (their value is their operand's at the operand's map) to a leaf.
        let (mut n, mut m) = (n, m);
        loop {
            match self.k.s.exprs.get(&(n, m)) {
                Some(None) => break,
                Some(Some(ch)) if is_view(&self.g().nodes[n].kind) => (n, m) = ch[0],
                _ => return Ok(None),
            }
        }
        if self.dt(n) != DType::F32 {
            return Ok(None);
        }
        let form = self.leaf_form(n, m);
        // One loop group: the offset is form.c + coef * i; contiguous when coef is 1.
        if self.k.s.inner_coef(&form) != 1 {
            return Ok(None);
        }
        let base = self.leaf_base(b, n)?;
        let off = b.ins().iadd_imm_s(i0, form.c);
        Ok(Some(self.address(b, base, off, DType::F32)))
    }

    /// The address in a block buffer of the current element, as `(at, disp)`: an unrolled
    /// copy's `i + k` is `(i - block start) + k`, its constant the displacement.
    fn block_addr(&self, b: &mut FunctionBuilder, buf: Value) -> (Value, i32) {
        let i0 = self.k.block_start.expect("inside a block");
        let i = self.k.vars[0].expect("loop variable is defined");
        let (i, k) = super::plus_const(b, i).unwrap_or((i, 0));
        let j = self.difference(b, i, i0);
        let off = b.ins().iadd_imm_s(j, k);
        self.address_parts(b, buf, off, DType::F32)
    }

    /// The value (vector or scalar, as the code being emitted) of a pair already computed
    /// into its block buffer, if it is one.
    pub(super) fn block_value(&self, b: &mut FunctionBuilder, n: NodeId, m: MapId) -> Option<Val> {
        let &buf = self.k.ready.get(&(n, m))?;
        let addr = self.block_addr(b, buf);
        let vector = self.k.lanes > 1;
        Some(self.load_disp(b, addr, DType::F32, vector))
    }
}
