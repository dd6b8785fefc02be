//! Blocked `Map` loops: a large vectorised single-group f32 loop that computes `exp`, `log`,
//! `log1p`, `tanh`, `logistic`, `sin` or `cos` runs over L1-sized blocks of [`BLOCK`]
//! elements. For each such (node, map), in dependency order, a loop over the block computes
//! its operand into a stack buffer and the runtime's wide-vector block kernel
//! (`cranax_runtime::vecmath`, AVX-512 or AVX2 where the CPU has them) applies the function
//! in place; then the kernel's outputs are computed over the block with those values read
//! back from the buffers. Fusion is kept (no full-size intermediate) and the results are the
//! inline code's bit for bit (the block kernels compute the same operations). What is left
//! after the last whole block runs as the ordinary vector loop and scalar tail.

use super::Emitter;
use crate::backend::graph::{Kind, NodeId};
use crate::backend::ops::{to_vec, Val};
use crate::backend::schedule::{MapId, UNROLL};
use crate::core::error::Result;
use crate::dtype::DType;
use crate::prims::UnaryOp;
use cranax_runtime::vecmath::BlockFn;
use cranelift_codegen::ir::{types, InstBuilder, StackSlotData, StackSlotKind, Value};
use cranelift_frontend::FunctionBuilder;
use std::collections::HashSet;

/// Elements per block (4 KB of f32 per buffer, so a few buffers and the block's inputs stay
/// in L1).
pub(super) const BLOCK: i64 = 1024;

/// Least loop extent that is blocked (smaller loops keep the inline polynomial).
pub(super) const MIN_EXTENT: usize = 4 * BLOCK as usize;

/// A (node, map) computed by a block kernel.
pub(super) type BlockPair = ((NodeId, MapId), BlockFn);

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
    pub(super) fn block_pairs(&self, roots: &[MapId], outs: &[NodeId]) -> Vec<BlockPair> {
        let s = self.k.s;
        if s.groups.len() != 1 || s.lanes != 4 || s.groups[0].0 < MIN_EXTENT {
            return vec![];
        }
        let g = self.g();
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        // Iterative post-order over the expressions from the outputs.
        let mut stack: Vec<((NodeId, MapId), bool)> = outs
            .iter()
            .zip(roots)
            .map(|(&n, &m)| ((n, m), false))
            .collect();
        while let Some((p, done)) = stack.pop() {
            if done {
                let node = &g.nodes[p.0];
                // Only a unary op computed inline here is blocked: one read from its own
                // buffer (materialised by an earlier kernel) is a plain load.
                let inline = matches!(s.exprs.get(&p), Some(Some(_)));
                if let (Kind::Unary(op, a), true) = (&node.kind, inline) {
                    let f32s = node.dtype == DType::F32 && self.dt(*a) == DType::F32;
                    if let (Some(f), true, false) = (block_fn(op), f32s, s.uniform(p.1)) {
                        order.push((p, f));
                    }
                }
                continue;
            }
            if !seen.insert(p) {
                continue;
            }
            stack.push((p, true));
            if let Some(Some(ch)) = s.exprs.get(&p) {
                stack.extend(ch.iter().map(|&c| (c, false)));
            }
        }
        order
    }

    /// The blocks of `[lo, hi)` (`lo` a multiple of the vector step): each block's pairs
    /// through their kernels, then `body` (the outputs) over the block. Returns where the
    /// blocks end (the rest is the caller's).
    pub(super) fn blocked(
        &mut self,
        b: &mut FunctionBuilder,
        pairs: &[BlockPair],
        (lo, hi): (Value, Value),
        body: &mut dyn FnMut(&mut Self, &mut FunctionBuilder) -> Result<()>,
    ) -> Result<Value> {
        let bytes = (BLOCK as u32) * 4;
        let bufs: Vec<Value> = pairs
            .iter()
            .map(|_| {
                let slot = b.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    bytes,
                    6,
                ));
                b.ins().stack_addr(types::I64, slot, 0)
            })
            .collect();
        let span = b.ins().isub(hi, lo);
        let whole = b.ins().band_imm_s(span, !(BLOCK - 1));
        let end = b.ins().iadd(lo, whole);
        let step = self.k.s.lanes as i64 * UNROLL as i64;
        let fma = self.cx.fma;
        super::for_range_dyn(self, b, lo, end, BLOCK, &mut |s, b, i0, _| {
            s.k.block_start = Some(i0);
            let stop = b.ins().iadd_imm_s(i0, BLOCK);
            for (k, &((n, m), f)) in pairs.iter().enumerate() {
                let operand = match &s.k.s.exprs[&(n, m)] {
                    Some(ch) => ch[0],
                    None => unreachable!("a unary op has an operand"),
                };
                let buf = bufs[k];
                super::for_range_dyn(s, b, i0, stop, step, &mut |s, b, i, _| {
                    s.unrolled(b, 0, i, vec![], &mut |s, b, _, _| {
                        let v = s.eval(b, operand.0, operand.1)?;
                        let v = to_vec(b, &s.ops_cx(), DType::F32, v);
                        let addr = s.block_addr(b, buf);
                        b.ins().store(super::flags(), v, addr, 0);
                        Ok(vec![])
                    })?;
                    Ok(vec![])
                })?;
                let (fused, unfused) = f.symbols();
                let callee =
                    crate::backend::codegen::runtime_func(if fma { fused } else { unfused });
                let n_el = b.ins().iconst(types::I64, BLOCK);
                b.ins().call(callee, &[buf, buf, n_el]);
                s.k.ready.insert((n, m), buf);
            }
            super::for_range_dyn(s, b, i0, stop, step, &mut |s, b, i, _| {
                s.unrolled(b, 0, i, vec![], &mut |s, b, _, _| {
                    body(s, b)?;
                    Ok(vec![])
                })?;
                Ok(vec![])
            })?;
            s.k.ready.clear();
            s.k.block_start = None;
            Ok(vec![])
        })?;
        Ok(end)
    }

    /// The address in a block buffer of the current (vector) element.
    fn block_addr(&self, b: &mut FunctionBuilder, buf: Value) -> Value {
        let i0 = self.k.block_start.expect("inside a block");
        let i = self.k.vars[0].expect("loop variable is defined");
        let j = b.ins().isub(i, i0);
        let off = b.ins().imul_imm_s(j, 4);
        b.ins().iadd(buf, off)
    }

    /// The value of a pair already computed into its block buffer, if it is one.
    pub(super) fn block_value(&self, b: &mut FunctionBuilder, n: NodeId, m: MapId) -> Option<Val> {
        let &buf = self.k.ready.get(&(n, m))?;
        let addr = self.block_addr(b, buf);
        Some(Val::V(b.ins().load(types::F32X4, super::flags(), addr, 0)))
    }
}
