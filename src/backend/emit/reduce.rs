//! Reductions: sum/prod/max/min/and/or/xor with several vector accumulators along the innermost reduced group,
//! f32 sums accumulated in f64 (blocks in f32x4, then f64x2), `any`/`all` of bools (lane masks
//! tested per vector step, leaving as soon as the result is decided), and argmax/argmin. A
//! thin matrix-vector product's f32 sums run two rows per loop, sharing the vector's loads.

use super::{flags, for_range, val_raw, Emitter};
use crate::backend::graph::NodeId;
use crate::backend::index::Aff;
use crate::backend::ops::{self, sconst, to_vec, Cx, Val};
use crate::backend::plan::reduce_combiner;
use crate::backend::schedule::{MapId, UNROLL};
use crate::core::error::Result;
use crate::dtype::DType;
use crate::prims::{BinaryOp, ReduceOp};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, Block, BlockArg, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// Elements an f32 sum adds in f32 before moving the partial sums to f64.
const WIDE_BLOCK: i64 = 256;

impl Emitter<'_, '_> {
    pub(super) fn reduce_kernel(
        &mut self,
        b: &mut FunctionBuilder,
        node: NodeId,
        x: NodeId,
        op: &ReduceOp,
    ) -> Result<()> {
        let s = self.k.s;
        let rc = Reduction {
            node,
            x,
            xm: s.x_map,
            op,
            n_kept_groups: s.kept_groups,
            lanes: s.lanes,
            dest_form: s.dest_form.clone(),
        };
        self.reduce_outer(b, &rc, 0)
    }

    fn reduce_outer(&mut self, b: &mut FunctionBuilder, c: &Reduction, gi: usize) -> Result<()> {
        if gi < c.n_kept_groups {
            let ext = self.k.s.groups[gi].0 as i64;
            let mut done = 0;
            if self.paired_rows(c, gi) {
                done = ext / 2 * 2;
                for_range(self, b, 0, done, 2, vec![], &mut |s, b, i, _| {
                    s.wide_sum_rows(b, c, gi, i)?;
                    Ok(vec![])
                })?;
            }
            for_range(self, b, done, ext, 1, vec![], &mut |s, b, i, _| {
                s.k.vars[gi] = Some(i);
                s.reduce_outer(b, c, gi + 1)?;
                Ok(vec![])
            })?;
            return Ok(());
        }
        let out_dt = self.dt(c.node);
        let result = if matches!(c.op, ReduceOp::Argmax { .. } | ReduceOp::Argmin { .. }) {
            self.arg_reduce(b, c)?
        } else {
            self.accumulate(b, c)?
        };
        let off = self.form(b, &c.dest_form);
        let base = self.base(
            self.cx
                .plan
                .buf_of(c.node)
                .expect("reductions have buffers"),
        );
        let addr = self.address(b, base, off, out_dt);
        b.ins().store(flags(), result, addr, 0);
        Ok(())
    }

    /// Sum/max/min over the reduced groups: several vector accumulators on the innermost
    /// contiguous group when vectorised, one scalar accumulator otherwise.
    fn accumulate(&mut self, b: &mut FunctionBuilder, c: &Reduction) -> Result<Value> {
        let dt = self.dt(c.x);
        let comb = reduce_combiner(c.op, dt);
        let lanes = c.lanes;
        if dt == DType::F32 && matches!(c.op, ReduceOp::Sum { .. }) {
            return self.wide_sum(b, c);
        }
        let any_all = matches!(
            c.op,
            ReduceOp::Max { .. }
                | ReduceOp::Min { .. }
                | ReduceOp::And { .. }
                | ReduceOp::Or { .. }
        );
        if dt == DType::Bool && any_all && c.n_kept_groups < self.k.s.groups.len() {
            return self.any_all(b, c);
        }
        let id = sconst(b, c.op.identity(dt));
        let mut carried = vec![id];
        if lanes > 1 {
            let cx = Cx {
                fma: self.cx.fma,
                lanes,
            };
            let v = to_vec(b, &cx, dt, Val::S(id));
            carried.extend(std::iter::repeat_n(v, UNROLL));
        }
        let ng = self.k.s.groups.len();
        let out = if c.n_kept_groups == ng {
            // Nothing to reduce (all reduced extents are 1): one element.
            self.k.lanes = 1;
            self.k.cache.clear();
            let v = self.eval(b, c.x, c.xm)?;
            let r = ops::combine(b, &self.ops_cx(), &comb, dt, Val::S(id), v);
            vec![val_raw(r)]
        } else {
            self.reduce_loops(b, c, &comb, c.n_kept_groups, carried)?
        };
        let mut acc = Val::S(out[0]);
        if lanes > 1 {
            let cx = Cx {
                fma: self.cx.fma,
                lanes,
            };
            let v = &out[1..];
            let a = ops::combine(b, &cx, &comb, dt, Val::V(v[0]), Val::V(v[1]));
            let d = ops::combine(b, &cx, &comb, dt, Val::V(v[2]), Val::V(v[3]));
            let t = val_raw(ops::combine(b, &cx, &comb, dt, a, d));
            let scx = Cx {
                fma: self.cx.fma,
                lanes: 1,
            };
            let mut h = Val::S(b.ins().extractlane(t, 0));
            for l in 1..lanes {
                let e = Val::S(b.ins().extractlane(t, l));
                h = ops::combine(b, &scx, &comb, dt, h, e);
            }
            acc = ops::combine(b, &scx, &comb, dt, h, acc);
        }
        Ok(val_raw(acc))
    }

    /// An f32 sum accumulated in f64 (as the interpreter does): scalar code adds each element
    /// in f64; vector code sums blocks of `WIDE_BLOCK` elements in four f32x4 accumulators and
    /// adds each block's partial sums into two f64x2 accumulators.
    fn wide_sum(&mut self, b: &mut FunctionBuilder, c: &Reduction) -> Result<Value> {
        let zero = b.ins().f64const(0.0);
        let mut carried = vec![zero];
        if c.lanes > 1 {
            let z = b.ins().splat(types::F64X2, zero);
            carried.extend([z, z]);
        }
        let ng = self.k.s.groups.len();
        let out = if c.n_kept_groups == ng {
            self.k.lanes = 1;
            self.k.cache.clear();
            let v = val_raw(self.eval(b, c.x, c.xm)?);
            let w = b.ins().fpromote(types::F64, v);
            vec![b.ins().fadd(zero, w)]
        } else {
            self.wide_loops(b, c, c.n_kept_groups, carried)?
        };
        Ok(wide_result(b, &out, c.lanes))
    }

    /// Can the last kept group `gi` of `c` run two rows per iteration ([`Self::wide_sum_rows`]):
    /// an f32 sum over one vectorised group of at most one `WIDE_BLOCK` (a thin matrix-vector
    /// product's rows) of a cheap expression?
    fn paired_rows(&self, c: &Reduction, gi: usize) -> bool {
        let s = self.k.s;
        let wide = self.dt(c.x) == DType::F32 && matches!(c.op, ReduceOp::Sum { .. });
        let step = c.lanes as i64 * UNROLL as i64;
        wide && c.lanes > 1
            && gi + 1 == c.n_kept_groups
            && s.groups.len() == gi + 2
            && s.groups[gi].0 >= 2
            && (step..=WIDE_BLOCK).contains(&(s.groups[gi + 1].0 as i64 / step * step))
            && !self.long_body()
    }

    /// Rows `i` and `i + 1` of the kept group `gi` of a sum [`Self::paired_rows`] allows, in
    /// one loop over the reduced group: each row's operations are [`Self::wide_sum`]'s, in its
    /// order (so the same bits), and what the rows share (a matrix-vector product's vector)
    /// is loaded once per step for both (Cranelift merges the identical loads).
    fn wide_sum_rows(
        &mut self,
        b: &mut FunctionBuilder,
        c: &Reduction,
        gi: usize,
        i: Value,
    ) -> Result<()> {
        let rows = [i, b.ins().iadd_imm_s(i, 1)];
        let gj = gi + 1;
        let ext = self.k.s.groups[gj].0 as i64;
        let step = c.lanes as i64 * UNROLL as i64;
        let nv = ext / step * step;
        let zero = b.ins().f32const(0.0);
        let z = b.ins().splat(types::F32X4, zero);
        let carried = vec![z; rows.len() * UNROLL];
        let accs = for_range(self, b, 0, nv, step, carried, &mut |s, b, j, acc| {
            s.unrolled(b, gj, j, acc, &mut |s, b, u, mut acc| {
                for (r, &row) in rows.iter().enumerate() {
                    s.k.cache.clear();
                    s.k.vars[gi] = Some(row);
                    let v = s.eval(b, c.x, c.xm)?;
                    let v = to_vec(b, &s.ops_cx(), DType::F32, v);
                    acc[r * UNROLL + u] = b.ins().fadd(acc[r * UNROLL + u], v);
                }
                Ok(acc)
            })
        })?;
        let base = self.base(
            self.cx
                .plan
                .buf_of(c.node)
                .expect("reductions have buffers"),
        );
        for (r, &row) in rows.iter().enumerate() {
            let zero = b.ins().f64const(0.0);
            let z = b.ins().splat(types::F64X2, zero);
            let cs = block_into_wide(b, &accs[r * UNROLL..(r + 1) * UNROLL], vec![zero, z, z]);
            self.k.vars[gi] = Some(row);
            let out = self.wide_tail(b, c, gj, (nv, ext), cs)?;
            let result = wide_result(b, &out, c.lanes);
            self.k.vars[gi] = Some(row);
            let off = self.form(b, &c.dest_form);
            let addr = self.address(b, base, off, DType::F32);
            b.ins().store(flags(), result, addr, 0);
        }
        Ok(())
    }

    fn wide_loops(
        &mut self,
        b: &mut FunctionBuilder,
        c: &Reduction,
        gi: usize,
        carried: Vec<Value>,
    ) -> Result<Vec<Value>> {
        let ng = self.k.s.groups.len();
        let ext = self.k.s.groups[gi].0 as i64;
        if gi + 1 < ng {
            return for_range(self, b, 0, ext, 1, carried, &mut |s, b, i, cs| {
                s.k.vars[gi] = Some(i);
                s.wide_loops(b, c, gi + 1, cs)
            });
        }
        let step = c.lanes as i64 * UNROLL as i64;
        let nv = if c.lanes > 1 { ext / step * step } else { 0 };
        let nb = nv / WIDE_BLOCK * WIDE_BLOCK;
        let mut carried = carried;
        if nb > 0 {
            carried = for_range(self, b, 0, nb, WIDE_BLOCK, carried, &mut |s, b, bs, cs| {
                s.wide_block(b, c, gi, (Some(bs), 0), WIDE_BLOCK, cs)
            })?;
        }
        if nv > nb {
            carried = self.wide_block(b, c, gi, (None, nb), nv - nb, carried)?;
        }
        self.wide_tail(b, c, gi, (nv, ext), carried)
    }

    /// The scalar tail `[from, to)` of the innermost group `gi` of a wide sum: each element
    /// added in f64 to `carried[0]`.
    fn wide_tail(
        &mut self,
        b: &mut FunctionBuilder,
        c: &Reduction,
        gi: usize,
        (from, to): (i64, i64),
        carried: Vec<Value>,
    ) -> Result<Vec<Value>> {
        for_range(self, b, from, to, 1, carried, &mut |s, b, i, mut cs| {
            s.scalar_at(gi, i);
            let v = val_raw(s.eval(b, c.x, c.xm)?);
            let w = b.ins().fpromote(types::F64, v);
            cs[0] = b.ins().fadd(cs[0], w);
            Ok(cs)
        })
    }

    /// `len` elements from `start.0 + start.1` (see [`Self::vector_steps`]) in f32x4
    /// accumulators, then into the f64x2 ones.
    fn wide_block(
        &mut self,
        b: &mut FunctionBuilder,
        c: &Reduction,
        gi: usize,
        start: (Option<Value>, i64),
        len: i64,
        cs: Vec<Value>,
    ) -> Result<Vec<Value>> {
        let zero = b.ins().f32const(0.0);
        let z = b.ins().splat(types::F32X4, zero);
        debug_assert_eq!(c.lanes, self.k.s.lanes);
        let mut body = |s: &mut Self, b: &mut FunctionBuilder, u: usize, mut acc: Vec<Value>| {
            let v = s.eval(b, c.x, c.xm)?;
            let v = to_vec(b, &s.ops_cx(), DType::F32, v);
            acc[u] = b.ins().fadd(acc[u], v);
            Ok(acc)
        };
        let accs = self.vector_steps(b, gi, start, len, vec![z; UNROLL], &mut body)?;
        Ok(block_into_wide(b, &accs, cs))
    }

    fn reduce_loops(
        &mut self,
        b: &mut FunctionBuilder,
        c: &Reduction,
        comb: &BinaryOp,
        gi: usize,
        carried: Vec<Value>,
    ) -> Result<Vec<Value>> {
        let ng = self.k.s.groups.len();
        let ext = self.k.s.groups[gi].0 as i64;
        let dt = self.dt(c.x);
        if gi + 1 < ng {
            return for_range(self, b, 0, ext, 1, carried, &mut |s, b, i, cs| {
                s.k.vars[gi] = Some(i);
                s.reduce_loops(b, c, comb, gi + 1, cs)
            });
        }
        let mut body = |s: &mut Self, b: &mut FunctionBuilder, u: usize, mut cs: Vec<Value>| {
            let cx = s.ops_cx();
            let v = s.eval(b, c.x, c.xm)?;
            let v = Val::V(to_vec(b, &cx, dt, v));
            cs[1 + u] = val_raw(ops::combine(b, &cx, comb, dt, Val::V(cs[1 + u]), v));
            Ok(cs)
        };
        let mut tail = |s: &mut Self, b: &mut FunctionBuilder, mut cs: Vec<Value>| {
            let v = s.eval(b, c.x, c.xm)?;
            let cx = s.ops_cx();
            cs[0] = val_raw(ops::combine(b, &cx, comb, dt, Val::S(cs[0]), v));
            Ok(cs)
        };
        self.vector_then_scalar(b, gi, ext, carried, &mut body, &mut tail)
    }

    /// `any` (reduce_max of bools) or `all` (reduce_min): each vector step ORs (ANDs) its
    /// lane masks and tests them with `vany_true` (`vall_true`), each scalar tail element is
    /// tested alone, and the loops are left at the first step that decides the result (a true
    /// element for `any`, a false one for `all`).
    fn any_all(&mut self, b: &mut FunctionBuilder, c: &Reduction) -> Result<Value> {
        let any = match c.op {
            ReduceOp::Max { .. } | ReduceOp::Or { .. } => true,
            ReduceOp::Min { .. } | ReduceOp::And { .. } => false,
            _ => unreachable!("bool reductions other than max/min are not any/all"),
        };
        let done = b.create_block();
        b.append_block_param(done, types::I8);
        self.any_all_loops(b, c, any, done, c.n_kept_groups)?;
        let undecided = b.ins().iconst(types::I8, !any as i64);
        b.ins().jump(done, &[BlockArg::Value(undecided)]);
        b.switch_to_block(done);
        Ok(b.block_params(done)[0])
    }

    fn any_all_loops(
        &mut self,
        b: &mut FunctionBuilder,
        c: &Reduction,
        any: bool,
        done: Block,
        gi: usize,
    ) -> Result<()> {
        let ng = self.k.s.groups.len();
        let ext = self.k.s.groups[gi].0 as i64;
        if gi + 1 < ng {
            for_range(self, b, 0, ext, 1, vec![], &mut |s, b, i, _| {
                s.k.vars[gi] = Some(i);
                s.any_all_loops(b, c, any, done, gi + 1)?;
                Ok(vec![])
            })?;
            return Ok(());
        }
        let comb = reduce_combiner(c.op, DType::Bool);
        let mut masks: Vec<Value> = Vec::with_capacity(UNROLL);
        let mut body = |s: &mut Self, b: &mut FunctionBuilder, u: usize, cs: Vec<Value>| {
            let cx = s.ops_cx();
            let v = s.eval(b, c.x, c.xm)?;
            masks.push(to_vec(b, &cx, DType::Bool, v));
            if u + 1 == UNROLL {
                let mut m = Val::V(masks[0]);
                for &q in &masks[1..] {
                    m = ops::combine(b, &cx, &comb, DType::Bool, m, Val::V(q));
                }
                masks.clear();
                let flag = if any {
                    b.ins().vany_true(val_raw(m))
                } else {
                    b.ins().vall_true(val_raw(m))
                };
                leave_if_decided(b, flag, any, done);
            }
            Ok(cs)
        };
        let mut tail = |s: &mut Self, b: &mut FunctionBuilder, cs: Vec<Value>| {
            let flag = val_raw(s.eval(b, c.x, c.xm)?);
            leave_if_decided(b, flag, any, done);
            Ok(cs)
        };
        self.vector_then_scalar(b, gi, ext, vec![], &mut body, &mut tail)?;
        Ok(())
    }

    /// argmax/argmin along one axis: the first extremum, NaN counting as the extremum.
    fn arg_reduce(&mut self, b: &mut FunctionBuilder, c: &Reduction) -> Result<Value> {
        let dt = self.dt(c.x);
        let is_max = matches!(c.op, ReduceOp::Argmax { .. });
        let gi = c.n_kept_groups;
        self.k.lanes = 1;
        let zero = b.ins().iconst(types::I64, 0);
        if gi >= self.k.s.groups.len() {
            return Ok(b.ins().ireduce(types::I32, zero));
        }
        let ext = self.k.s.groups[gi].0 as i64;
        self.k.vars[gi] = Some(zero);
        self.k.cache.clear();
        let first = val_raw(self.eval(b, c.x, c.xm)?);
        let out = for_range(self, b, 1, ext, 1, vec![first, zero], &mut |s, b, i, cs| {
            s.k.cache.clear();
            s.k.vars[gi] = Some(i);
            let v = val_raw(s.eval(b, c.x, c.xm)?);
            let (best, idx) = (cs[0], cs[1]);
            let take = if dt.is_float() {
                let better = b.ins().fcmp(
                    if is_max {
                        FloatCC::GreaterThan
                    } else {
                        FloatCC::LessThan
                    },
                    v,
                    best,
                );
                let v_nan = b.ins().fcmp(FloatCC::Unordered, v, v);
                let best_ok = b.ins().fcmp(FloatCC::Ordered, best, best);
                let t = b.ins().bor(better, v_nan);
                b.ins().band(t, best_ok)
            } else {
                let cc = match (dt.is_signed_int(), is_max) {
                    (true, true) => IntCC::SignedGreaterThan,
                    (true, false) => IntCC::SignedLessThan,
                    (false, true) => IntCC::UnsignedGreaterThan,
                    (false, false) => IntCC::UnsignedLessThan,
                };
                b.ins().icmp(cc, v, best)
            };
            let nb = b.ins().select(take, v, best);
            let ni = b.ins().select(take, i, idx);
            Ok(vec![nb, ni])
        })?;
        Ok(b.ins().ireduce(types::I32, out[1]))
    }
}

/// A block's four f32x4 partial sums `accs` added into the f64x2 accumulators `cs[1]`,
/// `cs[2]` of a wide sum.
fn block_into_wide(b: &mut FunctionBuilder, accs: &[Value], mut cs: Vec<Value>) -> Vec<Value> {
    let p = b.ins().fadd(accs[0], accs[1]);
    let q = b.ins().fadd(accs[2], accs[3]);
    let t = b.ins().fadd(p, q);
    let lo = b.ins().fvpromote_low(t);
    let mask: Vec<u8> = (8..16).chain(0..8).collect();
    let tb = b.ins().bitcast(types::I8X16, ops::le(), t);
    let imm = b.func.dfg.immediates.push(mask.into());
    let swapped = b.ins().shuffle(tb, tb, imm);
    let swapped = b.ins().bitcast(types::F32X4, ops::le(), swapped);
    let hi = b.ins().fvpromote_low(swapped);
    cs[1] = b.ins().fadd(cs[1], lo);
    cs[2] = b.ins().fadd(cs[2], hi);
    cs
}

/// A wide sum's f32 result from its accumulators (`out[0]` the scalar one, then the two
/// f64x2 ones when vectorised).
fn wide_result(b: &mut FunctionBuilder, out: &[Value], lanes: u8) -> Value {
    let mut acc = out[0];
    if lanes > 1 {
        let d = b.ins().fadd(out[1], out[2]);
        let l0 = b.ins().extractlane(d, 0);
        let l1 = b.ins().extractlane(d, 1);
        let h = b.ins().fadd(l0, l1);
        acc = b.ins().fadd(h, acc);
    }
    b.ins().fdemote(types::F32, acc)
}

/// Jump to `done` with the result when `flag` (an element or a step's `vany_true` /
/// `vall_true`) decides it: true for `any`, false for `all`; else continue here.
fn leave_if_decided(b: &mut FunctionBuilder, flag: Value, any: bool, done: Block) {
    let go_on = b.create_block();
    let decided = b.ins().iconst(types::I8, any as i64);
    let out = [BlockArg::Value(decided)];
    if any {
        b.ins().brif(flag, done, &out, go_on, &[]);
    } else {
        b.ins().brif(flag, go_on, &[], done, &out);
    }
    b.switch_to_block(go_on);
}

/// The reduction being emitted: `node = op(x)`, `x` read at map `xm`.
struct Reduction<'o> {
    node: NodeId,
    x: NodeId,
    xm: MapId,
    op: &'o ReduceOp,
    n_kept_groups: usize,
    lanes: u8,
    dest_form: Aff,
}
