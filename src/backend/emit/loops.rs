//! `Map` kernels: the loop nest over the collapsed groups, storing (or combining) each output
//! per iteration; the innermost loop vectorised with a scalar tail, and the outermost one over
//! the entry's `(lo, hi)` range when the kernel is split across threads.

use super::{flags, for_range, for_range_dyn, Emitter, SHORT_EXTENT};
use crate::backend::ops::{self, to_vec, Val};
use crate::backend::plan::{Dest, Out};
use crate::backend::schedule::{MapId, PAR_ALIGN};
use crate::core::error::Result;
use crate::dtype::DType;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

impl Emitter<'_, '_> {
    pub(super) fn map_kernel(&mut self, b: &mut FunctionBuilder, outs: &[Out]) -> Result<()> {
        let s = self.k.s;
        let ctx = MapKernel {
            outs,
            out_maps: &s.out_maps,
            dyn_maps: &s.dyn_maps,
            lanes: s.lanes,
            par: s.split.is_some(),
        };
        self.map_loops(b, &ctx, 0)
    }

    fn map_loops(&mut self, b: &mut FunctionBuilder, c: &MapKernel, gi: usize) -> Result<()> {
        let ng = self.k.s.groups.len();
        if ng == 0 {
            self.k.lanes = 1;
            self.k.cache.clear();
            return self.map_body(b, c);
        }
        let ext = self.k.s.groups[gi].0 as i64;
        let par = c.par && gi == 0;
        if gi + 1 < ng {
            let mut body = |s: &mut Self, b: &mut FunctionBuilder, i, _| {
                s.k.vars[gi] = Some(i);
                s.map_loops(b, c, gi + 1)?;
                Ok(vec![])
            };
            if par {
                let (lo, hi) = self.cx.range;
                for_range_dyn(self, b, lo, hi, 1, &mut body)?;
            } else {
                for_range(self, b, 0, ext, 1, vec![], &mut body)?;
            }
            return Ok(());
        }
        if let Some(tv) = &self.k.s.two_valued {
            let io = (c.outs, c.out_maps, c.dyn_maps);
            return self.two_valued_loop(b, io, gi, ext, tv);
        }
        let pairs = self.block_pairs(c.outs, c.out_maps);
        if pairs.is_empty() && !par && c.lanes > 1 && ext <= SHORT_EXTENT && self.long_body() {
            self.k.unroll = 1;
        }
        let step = c.lanes as i64 * self.k.unroll as i64;
        if !pairs.is_empty() {
            let (lo, hi) = if par {
                self.cx.range
            } else {
                let zero = b.ins().iconst(types::I64, 0);
                (zero, b.ins().iconst(types::I64, ext))
            };
            return self.blocked(b, &pairs, c.outs, (lo, hi), &mut |s, b| s.map_body(b, c));
        }
        if par {
            let range = self.cx.range;
            return self.map_inner_range(b, c, gi, step, range);
        }
        let mut body = |s: &mut Self, b: &mut FunctionBuilder, _, _| {
            s.map_body(b, c)?;
            Ok(vec![])
        };
        let mut tail = |s: &mut Self, b: &mut FunctionBuilder, _| {
            s.map_body(b, c)?;
            Ok(vec![])
        };
        self.vector_then_scalar(b, gi, ext, vec![], &mut body, &mut tail)?;
        Ok(())
    }

    /// The innermost (vectorised) loop over `[lo, hi)` (a split kernel's range), `lo` a
    /// multiple of `PAR_ALIGN`: vector
    /// iterations up to `hi` rounded down to the step, then a scalar tail.
    fn map_inner_range(
        &mut self,
        b: &mut FunctionBuilder,
        c: &MapKernel,
        gi: usize,
        step: i64,
        (lo, hi): (Value, Value),
    ) -> Result<()> {
        let nv = if c.lanes > 1 {
            debug_assert!(PAR_ALIGN as i64 % step == 0 && step.count_ones() == 1);
            let nv = b.ins().band_imm_s(hi, !(step - 1));
            for_range_dyn(self, b, lo, nv, step, &mut |s, b, i, _| {
                let mut body = |s: &mut Self, b: &mut FunctionBuilder, _, _| {
                    s.map_body(b, c)?;
                    Ok(vec![])
                };
                s.unrolled(b, gi, i, vec![], &mut body)
            })?;
            // An empty vector loop (lo > nv) must not start the tail below lo.
            let above = b.ins().icmp(IntCC::SignedGreaterThan, nv, lo);
            b.ins().select(above, nv, lo)
        } else {
            lo
        };
        for_range_dyn(self, b, nv, hi, 1, &mut |s, b, i, _| {
            s.scalar_at(gi, i);
            s.map_body(b, c)?;
            Ok(vec![])
        })
    }

    pub(super) fn dest_address(
        &mut self,
        b: &mut FunctionBuilder,
        dest: &Dest,
        ids: &[MapId],
        dt: DType,
    ) -> Result<Value> {
        let mut off = self.form(b, &dest.form);
        for (t, &id) in dest.dyn_terms.iter().zip(ids) {
            let v = self.eval(b, t.node, id)?;
            off = self.add_index_term(b, off, (v, self.dt(t.node)), t.hi, t.stride);
        }
        let base = self.base(self.cx.plan.target_buf(dest.target));
        Ok(self.address(b, base, off, dt))
    }

    fn map_body(&mut self, b: &mut FunctionBuilder, c: &MapKernel) -> Result<()> {
        let vector = self.k.lanes > 1;
        let cx = self.ops_cx();
        let outs = c.outs.iter().zip(c.out_maps.iter().zip(c.dyn_maps));
        for (k, (o, (&m, ids))) in outs.enumerate() {
            if !o.store || self.k.stored.contains(&k) {
                continue;
            }
            let dt = self.dt(o.node);
            let v = self.eval(b, o.node, m)?;
            let addr = self.dest_address(b, &o.dest, ids, dt)?;
            let v = if vector {
                Val::V(to_vec(b, &cx, dt, v))
            } else {
                v
            };
            let v = match &o.combine {
                Some(op) => {
                    let old = self.load(b, addr, dt, vector);
                    ops::combine(b, &cx, op, dt, old, v)
                }
                None => v,
            };
            let raw = match v {
                Val::S(x) | Val::V(x) => x,
            };
            b.ins().store(flags(), raw, addr, 0);
        }
        Ok(())
    }
}

/// The `Map` kernel being emitted: its outputs and the schedule's maps and lanes for them.
struct MapKernel<'o> {
    /// The outermost loop runs over the entry function's `(lo, hi)` range.
    par: bool,
    outs: &'o [Out],
    out_maps: &'o [MapId],
    dyn_maps: &'o [Vec<MapId>],
    lanes: u8,
}
