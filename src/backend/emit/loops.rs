//! `Map` kernels: the loop nest over the collapsed groups, storing (or combining) each output
//! per iteration; the innermost loop vectorised (the whole vectors left after its unrolled
//! steps as single copies) with a scalar tail, and the outermost one over
//! the entry's `(lo, hi)` range when the kernel is split across threads; an output combined
//! along a loop it does not move with (a vector-matrix product's rows) held in registers
//! across that loop.

use super::{flags, for_range, for_range_dyn, val_raw, Emitter, SHORT_EXTENT};
use crate::backend::ops::{self, to_vec, Val};
use crate::backend::plan::{Dest, Out};
use crate::backend::schedule::{MapId, PAR_ALIGN, UNROLL};
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
        if gi + 2 == ng && !par && self.accumulates_rows(c, gi) {
            return self.accumulate_rows(b, c, gi);
        }
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
        // Only where four copies leave a scalar tail: a loop that they divide (fori_rk4's
        // 64-wide steps) runs 1.3-1.8x slower with one copy.
        let tail = ext % (c.lanes as i64 * UNROLL as i64) != 0;
        if pairs.is_empty()
            && !par
            && c.lanes > 1
            && ext <= SHORT_EXTENT
            && tail
            && self.long_body()
        {
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
        self.elementwise_then_scalar(b, gi, ext, &mut body, &mut tail)
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

    /// Is the kernel `out op= f(i, j)` with the loop `gi` over `i` just outside the vector
    /// loop over `j`, `out` not moving along `i` and not read by `f` (a vector-matrix
    /// product's rows accumulated into the result), the vector loop without a scalar tail?
    /// Then [`Self::accumulate_rows`] keeps `out` in registers across the loop over `i`.
    fn accumulates_rows(&self, c: &MapKernel, gi: usize) -> bool {
        let s = self.k.s;
        let [o] = c.outs else { return false };
        if o.combine.is_none() {
            return false;
        }
        let inner = s.groups[gi + 1].0 as i64;
        let step = c.lanes as i64 * UNROLL as i64;
        if !o.store || !o.dest.dyn_terms.is_empty() || c.lanes == 1 || inner % step != 0 {
            return false;
        }
        if s.groups[gi].0 < 2 || s.groups[gi].1.iter().any(|&d| o.dest.form.k[d] != 0) {
            return false;
        }
        let target = self.cx.plan.target_buf(o.dest.target);
        !self.read_bufs().contains(&target)
    }

    /// The kernel [`Self::accumulates_rows`] allows: for each chunk of `ROW_VECTORS` vectors
    /// of `out`, load them, combine every `i`'s values into them in registers, in the order
    /// the loop nest would (so the same bits), and store them once.
    fn accumulate_rows(&mut self, b: &mut FunctionBuilder, c: &MapKernel, gi: usize) -> Result<()> {
        let o = &c.outs[0];
        let (m, op) = (
            c.out_maps[0],
            o.combine.clone().expect("a combining output"),
        );
        let dt = self.dt(o.node);
        let (gj, lanes) = (gi + 1, c.lanes as i64);
        let (outer, inner) = (self.k.s.groups[gi].0 as i64, self.k.s.groups[gj].0 as i64);
        self.k.lanes = c.lanes;
        let mut chunk = 0;
        while chunk < inner {
            let n = ((inner - chunk) / lanes).min(ROW_VECTORS);
            let at = |s: &mut Self, b: &mut FunctionBuilder, v: i64| {
                s.k.vars[gj] = Some(b.ins().iconst(types::I64, chunk + v * lanes));
                s.dest_address(b, &o.dest, &[], dt)
            };
            self.k.vars[gi] = Some(b.ins().iconst(types::I64, 0));
            let mut accs = Vec::with_capacity(n as usize);
            for v in 0..n {
                let addr = at(self, b, v)?;
                accs.push(val_raw(self.load_disp(b, addr, dt, true)));
            }
            let start = b.ins().iconst(types::I64, chunk);
            let accs = for_range(self, b, 0, outer, 1, accs, &mut |s, b, i, accs| {
                s.k.vars[gi] = Some(i);
                s.unrolled_by(b, gj, start, n as usize, accs, &mut |s, b, u, mut accs| {
                    let cx = s.ops_cx();
                    let v = s.eval(b, o.node, m)?;
                    let v = Val::V(to_vec(b, &cx, dt, v));
                    accs[u] = val_raw(ops::combine(b, &cx, &op, dt, Val::V(accs[u]), v));
                    Ok(accs)
                })
            })?;
            for (v, &acc) in accs.iter().enumerate() {
                let (addr, disp) = at(self, b, v as i64)?;
                b.ins().store(flags(), acc, addr, disp);
            }
            chunk += n * lanes;
        }
        Ok(())
    }

    pub(super) fn dest_address(
        &mut self,
        b: &mut FunctionBuilder,
        dest: &Dest,
        ids: &[MapId],
        dt: DType,
    ) -> Result<(Value, i32)> {
        let base = self.base(self.cx.plan.target_buf(dest.target));
        if dest.dyn_terms.is_empty() {
            return Ok(self.form_address(b, base, &dest.form, dt));
        }
        let mut off = self.form(b, &dest.form);
        for (t, &id) in dest.dyn_terms.iter().zip(ids) {
            let v = self.eval(b, t.node, id)?;
            off = self.add_index_term(b, off, (v, self.dt(t.node)), t.hi, t.stride);
        }
        Ok(self.address_parts(b, base, off, dt))
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
                    let old = self.load_disp(b, addr, dt, vector);
                    ops::combine(b, &cx, op, dt, old, v)
                }
                None => v,
            };
            let raw = match v {
                Val::S(x) | Val::V(x) => x,
            };
            b.ins().store(flags(), raw, addr.0, addr.1);
        }
        Ok(())
    }
}

/// The most vectors of an output [`Emitter::accumulate_rows`] keeps in registers at a time.
const ROW_VECTORS: i64 = 8;

/// The `Map` kernel being emitted: its outputs and the schedule's maps and lanes for them.
struct MapKernel<'o> {
    /// The outermost loop runs over the entry function's `(lo, hi)` range.
    par: bool,
    outs: &'o [Out],
    out_maps: &'o [MapId],
    dyn_maps: &'o [Vec<MapId>],
    lanes: u8,
}
