//! Kernel emission: each planned kernel becomes a loop nest in the one Cranelift function of
//! the executable, exactly as its `Schedule` decided (collapsed loop groups, the innermost
//! loop vectorised with f32x4/i32x4/f64x2 lanes, unrolled `UNROLL` times, scalar tail; the
//! outermost loop over the entry's `(lo, hi)` range when split across threads). Values of
//! inline nodes are computed at the index each consumer needs (no intermediate buffers) and
//! shared within one loop body.

use super::graph::{Graph, Kind, NodeId};
use super::index::{self, Aff};
use super::ops::{self, sconst, sty, to_vec, vty, Cx, Val};
use super::plan::{reduce_combiner, Buf, Dest, Kernel, KernelKind, Out, Plan};
use super::schedule::{MapId, Schedule, PAR_ALIGN, UNROLL};
use crate::core::error::{Error, Result};
use crate::dtype::DType;
use crate::prims::{BinaryOp, ReduceOp};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, BlockArg, FuncRef, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use std::collections::HashMap;

/// Elements an f32 sum adds in f32 before moving the partial sums to f64.
const WIDE_BLOCK: i64 = 256;

/// What every kernel of one function is emitted against.
pub struct FunctionEnv<'a> {
    pub g: &'a Graph,
    pub plan: &'a Plan,
    pub fma: bool,
    /// Base address of every buffer (defined in the entry block).
    pub bases: HashMap<Buf, Value>,
    /// `cranax_matmul_f32`, `cranax_matmul_f64` (imported with absolute addresses).
    pub matmul: [FuncRef; 2],
    /// The entry function's `(lo, hi)` parameters: the range of the outermost loop a
    /// split kernel runs (see `Schedule::split`).
    pub range: (Value, Value),
}

#[derive(Clone, Copy)]
enum Cached {
    One(Val),
    Two(Val, Val),
}

/// The state of emitting one kernel: its schedule, the current loop variables, the values
/// computed so far in the current loop body.
struct LoopState<'a> {
    s: &'a Schedule,
    /// Original loop dimensions.
    nl: usize,
    /// Current value of each group's loop variable.
    vars: Vec<Option<Value>>,
    cache: HashMap<(NodeId, MapId, u8), Cached>,
    /// Lanes of the code being emitted now (1 in scalar bodies).
    lanes: u8,
    /// Unroll copy being emitted (part of the cache key of non-uniform values).
    copy: u8,
}

impl LoopState<'_> {
    fn key(&self, n: NodeId, m: u32) -> (NodeId, u32, u8) {
        let copy = if self.lanes > 1 && self.s.uniform(m) {
            u8::MAX
        } else {
            self.copy
        };
        (n, m, copy)
    }
}

/// Writes the code of one kernel.
pub struct Emitter<'a, 'c> {
    cx: &'c FunctionEnv<'a>,
    kern: &'a Kernel,
    k: LoopState<'a>,
}

fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// A loop body: (state, builder, induction variable, carried values) -> next carried values.
type LoopBody<'f, S> =
    dyn FnMut(&mut S, &mut FunctionBuilder, Value, Vec<Value>) -> Result<Vec<Value>> + 'f;

/// One unrolled copy of a vector body: (state, builder, copy, carried) -> next carried.
type CopyBody<'f, S> =
    dyn FnMut(&mut S, &mut FunctionBuilder, usize, Vec<Value>) -> Result<Vec<Value>> + 'f;

/// The body of a scalar tail: (state, builder, carried) -> next carried.
type TailBody<'f, S> = dyn FnMut(&mut S, &mut FunctionBuilder, Vec<Value>) -> Result<Vec<Value>> + 'f;

/// An evaluation task: a node at a map, with its operands once they have been pushed.
type Task<'a> = (NodeId, MapId, Option<&'a [(NodeId, MapId)]>);

/// `for i in (start..end).step_by(step)`, threading `carried` values through the iterations.
fn for_range<S>(
    st: &mut S,
    b: &mut FunctionBuilder,
    start: i64,
    end: i64,
    step: i64,
    carried: Vec<Value>,
    body: &mut LoopBody<S>,
) -> Result<Vec<Value>> {
    if start >= end {
        return Ok(carried);
    }
    if start + step >= end {
        let i = b.ins().iconst(types::I64, start);
        return body(st, b, i, carried);
    }
    let header = b.create_block();
    let body_block = b.create_block();
    let exit = b.create_block();
    b.append_block_param(header, types::I64);
    for &c in &carried {
        let ty = b.func.dfg.value_type(c);
        b.append_block_param(header, ty);
        b.append_block_param(exit, ty);
    }
    let i0 = b.ins().iconst(types::I64, start);
    let args: Vec<BlockArg> = std::iter::once(i0)
        .chain(carried.iter().copied())
        .map(BlockArg::Value)
        .collect();
    b.ins().jump(header, &args);
    b.switch_to_block(header);
    let params = b.block_params(header).to_vec();
    let i = params[0];
    let cond = b.ins().icmp_imm_s(IntCC::SignedLessThan, i, end);
    let exit_args: Vec<BlockArg> = params[1..].iter().copied().map(BlockArg::Value).collect();
    b.ins().brif(cond, body_block, &[], exit, &exit_args);
    b.switch_to_block(body_block);
    let next = body(st, b, i, params[1..].to_vec())?;
    let i2 = b.ins().iadd_imm_s(i, step);
    let args: Vec<BlockArg> = std::iter::once(i2)
        .chain(next)
        .map(BlockArg::Value)
        .collect();
    b.ins().jump(header, &args);
    b.switch_to_block(exit);
    Ok(b.block_params(exit).to_vec())
}

/// `for i in (start..end).step_by(step)` with run-time bounds (no carried values).
fn for_range_dyn<S>(
    st: &mut S,
    b: &mut FunctionBuilder,
    start: Value,
    end: Value,
    step: i64,
    body: &mut LoopBody<S>,
) -> Result<()> {
    let header = b.create_block();
    let body_block = b.create_block();
    let exit = b.create_block();
    b.append_block_param(header, types::I64);
    b.ins().jump(header, &[BlockArg::Value(start)]);
    b.switch_to_block(header);
    let i = b.block_params(header)[0];
    let cond = b.ins().icmp(IntCC::SignedLessThan, i, end);
    b.ins().brif(cond, body_block, &[], exit, &[]);
    b.switch_to_block(body_block);
    body(st, b, i, vec![])?;
    let i2 = b.ins().iadd_imm_s(i, step);
    b.ins().jump(header, &[BlockArg::Value(i2)]);
    b.switch_to_block(exit);
    Ok(())
}

impl<'a, 'c> Emitter<'a, 'c> {
    pub fn new(cx: &'c FunctionEnv<'a>, kern: &'a Kernel) -> Self {
        let s = &kern.schedule;
        Emitter {
            cx,
            kern,
            k: LoopState {
                s,
                nl: kern.dims.len(),
                vars: vec![None; s.groups.len()],
                cache: HashMap::new(),
                lanes: 1,
                copy: 0,
            },
        }
    }

    fn g(&self) -> &'a Graph {
        self.cx.g
    }

    fn dt(&self, n: NodeId) -> DType {
        self.cx.g.nodes[n].dtype
    }

    fn base(&self, buf: Buf) -> Value {
        self.cx.bases[&buf]
    }

    fn ops_cx(&self) -> Cx {
        Cx {
            fma: self.cx.fma,
            lanes: self.k.lanes,
        }
    }

    /// Emit the kernel's code.
    pub fn kernel(&mut self, b: &mut FunctionBuilder) -> Result<()> {
        let kern = self.kern;
        if kern.is_empty() {
            return Ok(());
        }
        match &kern.kind {
            KernelKind::Map { outs } => self.map_kernel(b, outs),
            KernelKind::Reduce { node, x, op, .. } => self.reduce_kernel(b, *node, *x, op),
            KernelKind::MatMul {
                node,
                lhs,
                rhs,
                batch,
                m,
                k,
                n,
            } => self.matmul(b, *node, *lhs, *rhs, [*batch, *m, *k, *n]),
        }
    }

    // ----- evaluation of inline expressions -------------------------------------------------

    /// The i64 value of `form` at the current loop variables.
    fn form(&self, b: &mut FunctionBuilder, f: &Aff) -> Value {
        let mut acc = b.ins().iconst(types::I64, f.c);
        for (gi, (_, dims)) in self.k.s.groups.iter().enumerate() {
            let coef = f.k[*dims.last().expect("groups are non-empty")];
            if coef == 0 {
                continue;
            }
            let v = self.k.vars[gi].expect("loop variable is defined");
            let t = if coef == 1 {
                v
            } else {
                b.ins().imul_imm_s(v, coef)
            };
            acc = b.ins().iadd(acc, t);
        }
        acc
    }

    /// `base + esize * offset`.
    fn address(&self, b: &mut FunctionBuilder, base: Value, offset: Value, dt: DType) -> Value {
        let bytes = b.ins().imul_imm_s(offset, dt.size_bytes() as i64);
        b.ins().iadd(base, bytes)
    }

    /// An integer index value as i64, clamped into `[0, hi]`.
    fn clamped_index(&self, b: &mut FunctionBuilder, v: Val, dt: DType, hi: i64) -> Value {
        let Val::S(v) = v else {
            unreachable!("dynamic indices are uniform in vector code")
        };
        let w = if dt == DType::U32 {
            b.ins().uextend(types::I64, v)
        } else {
            b.ins().sextend(types::I64, v)
        };
        let zero = b.ins().iconst(types::I64, 0);
        let hi = b.ins().iconst(types::I64, hi.max(0));
        let t = b.ins().smax(w, zero);
        b.ins().smin(t, hi)
    }

    fn load(&self, b: &mut FunctionBuilder, addr: Value, dt: DType, vector: bool) -> Val {
        if vector {
            Val::V(b.ins().load(vty(dt, self.k.lanes), flags(), addr, 0))
        } else {
            Val::S(b.ins().load(sty(dt), flags(), addr, 0))
        }
    }

    fn leaf(&mut self, b: &mut FunctionBuilder, n: NodeId, m: u32) -> Result<Val> {
        let node = &self.g().nodes[n];
        let buf = self.cx.plan.buf_of(n).ok_or_else(|| {
            Error::Jit(format!(
                "internal: node {n} ({:?}) has no buffer",
                node.kind
            ))
        })?;
        let form = index::linear(
            &self.k.s.maps[m as usize],
            &index::row_strides(&node.shape),
            self.k.nl,
        );
        let off = self.form(b, &form);
        let addr = self.address(b, self.base(buf), off, node.dtype);
        let vector = self.k.lanes > 1 && !self.k.s.uniform(m);
        Ok(self.load(b, addr, node.dtype, vector))
    }

    fn eval(&mut self, b: &mut FunctionBuilder, n: NodeId, m: u32) -> Result<Val> {
        match self.eval_cached(b, n, m)? {
            Cached::One(v) => Ok(v),
            Cached::Two(..) => unreachable!("multi-output nodes are read through Proj"),
        }
    }

    fn eval_cached(&mut self, b: &mut FunctionBuilder, n: NodeId, m: u32) -> Result<Cached> {
        if let Some(&v) = self.k.cache.get(&self.k.key(n, m)) {
            return Ok(v);
        }
        let s = self.k.s;
        let mut stack: Vec<Task> = vec![(n, m, None)];
        while let Some((n, m, children)) = stack.pop() {
            let key = self.k.key(n, m);
            if self.k.cache.contains_key(&key) {
                continue;
            }
            let v = match children {
                None => match &s.exprs[&(n, m)] {
                    None => Cached::One(self.leaf(b, n, m)?),
                    Some(ch) => {
                        let pending: Vec<(NodeId, u32)> = ch
                            .iter()
                            .copied()
                            .filter(|&(c, cm)| !self.k.cache.contains_key(&self.k.key(c, cm)))
                            .collect();
                        stack.push((n, m, Some(ch.as_slice())));
                        for (c, cm) in pending {
                            stack.push((c, cm, None));
                        }
                        continue;
                    }
                },
                Some(ch) => {
                    let vals: Vec<Cached> = ch
                        .iter()
                        .map(|&(c, cm)| self.k.cache[&self.k.key(c, cm)])
                        .collect();
                    self.emit_node(b, n, m, ch, &vals)?
                }
            };
            self.k.cache.insert(key, v);
        }
        Ok(self.k.cache[&self.k.key(n, m)])
    }

    fn emit_node(
        &mut self,
        b: &mut FunctionBuilder,
        n: NodeId,
        m: u32,
        ch: &[(NodeId, u32)],
        vals: &[Cached],
    ) -> Result<Cached> {
        let g = self.g();
        let node = &g.nodes[n];
        let one = |v: &Cached| match v {
            Cached::One(v) => *v,
            Cached::Two(..) => unreachable!(),
        };
        let vs: Vec<Val> = vals
            .iter()
            .filter(|v| matches!(v, Cached::One(_)))
            .map(one)
            .collect();
        let cx = self.ops_cx();
        let v = match &node.kind {
            Kind::Lit(s) => Val::S(sconst(b, *s)),
            Kind::Iota { dimension } => {
                let row = self.k.s.maps[m as usize][*dimension].clone();
                self.iota(b, &row, node.dtype)
            }
            Kind::Unary(op, a) => ops::unary(b, &cx, op, self.dt(*a), node.dtype, vs[0]),
            Kind::Binary(op, a, _) => ops::binary(b, &cx, op, self.dt(*a), vs[0], vs[1]),
            Kind::Select(xs) => ops::select_n(b, &cx, self.dt(xs[0]), node.dtype, vs[0], &vs[1..]),
            Kind::Threefry(_) => {
                let (y0, y1) = ops::threefry(b, &cx, [vs[0], vs[1], vs[2], vs[3]]);
                return Ok(Cached::Two(y0, y1));
            }
            Kind::Proj(_, k) => match vals[0] {
                Cached::Two(a, c) => {
                    if *k == 0 {
                        a
                    } else {
                        c
                    }
                }
                Cached::One(_) => unreachable!("Proj reads a multi-output node"),
            },
            Kind::Broadcast { .. }
            | Kind::Transpose { .. }
            | Kind::Reshape
            | Kind::Squeeze
            | Kind::Slice { .. } => vs[0],
            Kind::DynSlice { x, starts } => {
                let xn = &g.nodes[*x];
                let strides = index::row_strides(&xn.shape);
                let form = index::linear(&self.k.s.maps[m as usize], &strides, self.k.nl);
                let mut off = self.form(b, &form);
                for (d, (&s, &(_, _))) in starts.iter().zip(ch).enumerate() {
                    let hi = (xn.shape[d] - node.shape[d]) as i64;
                    let st = self.clamped_index(b, vs[d], self.dt(s), hi);
                    let t = b.ins().imul_imm_s(st, strides[d]);
                    off = b.ins().iadd(off, t);
                }
                let buf = self
                    .cx
                    .plan
                    .buf_of(*x)
                    .expect("dynamic_slice operand has a buffer");
                let addr = self.address(b, self.base(buf), off, node.dtype);
                let vector = self.k.lanes > 1 && !self.k.s.uniform(m);
                self.load(b, addr, node.dtype, vector)
            }
            Kind::Gather { axis, x, idx } => {
                let xn = &g.nodes[*x];
                let ni = g.nodes[*idx].shape.len();
                let strides = index::row_strides(&xn.shape);
                let map = &self.k.s.maps[m as usize];
                let form = index::gather_offset(map, &xn.shape, ni, *axis, self.k.nl);
                let mut off = self.form(b, &form);
                let i = self.clamped_index(b, vs[0], self.dt(*idx), xn.shape[*axis] as i64 - 1);
                let t = b.ins().imul_imm_s(i, strides[*axis]);
                off = b.ins().iadd(off, t);
                let buf = self
                    .cx
                    .plan
                    .buf_of(*x)
                    .expect("gather operand has a buffer");
                let addr = self.address(b, self.base(buf), off, node.dtype);
                let vector = self.k.lanes > 1 && !self.k.s.aff_uniform(&form);
                self.load(b, addr, node.dtype, vector)
            }
            other => {
                return Err(Error::Jit(format!(
                    "internal: {other:?} cannot be evaluated inline"
                )))
            }
        };
        Ok(Cached::One(v))
    }

    fn iota(&mut self, b: &mut FunctionBuilder, row: &Aff, dt: DType) -> Val {
        let base = self.form(b, row);
        let lanes = self.k.lanes;
        if lanes == 1 || self.k.s.aff_uniform(row) {
            return Val::S(match dt {
                DType::F32 | DType::F64 => b.ins().fcvt_from_sint(sty(dt), base),
                _ => b.ins().ireduce(types::I32, base),
            });
        }
        let k = self.k.s.inner_coef(row);
        match dt {
            DType::F64 => {
                let f = b.ins().fcvt_from_sint(types::F64, base);
                let v = b.ins().splat(types::F64X2, f);
                let lane_bytes: Vec<u8> = [0.0f64, k as f64]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect();
                let c = b.func.dfg.constants.insert(lane_bytes.into());
                let steps = b.ins().vconst(types::F64X2, c);
                Val::V(b.ins().fadd(v, steps))
            }
            _ => {
                let i = b.ins().ireduce(types::I32, base);
                let v = b.ins().splat(types::I32X4, i);
                let lane_bytes: Vec<u8> = (0..4)
                    .flat_map(|l| ((l * k) as i32).to_le_bytes())
                    .collect();
                let c = b.func.dfg.constants.insert(lane_bytes.into());
                let steps = b.ins().vconst(types::I32X4, c);
                let r = b.ins().iadd(v, steps);
                Val::V(if dt == DType::F32 {
                    b.ins().fcvt_from_sint(types::F32X4, r)
                } else {
                    r
                })
            }
        }
    }

    // ----- vector bodies and scalar tails ---------------------------------------------------

    /// One vector step of the innermost group `gi` from element `i`: its `UNROLL` copies, the
    /// `u`-th at `i + u * lanes`, each running `body(u, carried)`.
    fn unrolled(
        &mut self,
        b: &mut FunctionBuilder,
        gi: usize,
        i: Value,
        lanes: u8,
        mut carried: Vec<Value>,
        body: &mut CopyBody<Self>,
    ) -> Result<Vec<Value>> {
        self.k.lanes = lanes;
        self.k.cache.clear();
        for u in 0..UNROLL {
            self.k.copy = u as u8;
            let iu = if u == 0 {
                i
            } else {
                b.ins().iadd_imm_s(i, u as i64 * lanes as i64)
            };
            self.k.vars[gi] = Some(iu);
            carried = body(self, b, u, carried)?;
        }
        self.k.copy = 0;
        Ok(carried)
    }

    /// Scalar code for element `i` of the innermost group `gi`.
    fn scalar_at(&mut self, gi: usize, i: Value) {
        self.k.lanes = 1;
        self.k.copy = 0;
        self.k.cache.clear();
        self.k.vars[gi] = Some(i);
    }

    /// The innermost group `gi` over `[0, ext)`: vector steps of `lanes * UNROLL` elements
    /// (see [`Self::unrolled`]) while a whole step fits, then a scalar `tail` per element,
    /// threading `carried` through.
    #[allow(clippy::too_many_arguments)]
    fn vector_then_scalar(
        &mut self,
        b: &mut FunctionBuilder,
        gi: usize,
        ext: i64,
        lanes: u8,
        mut carried: Vec<Value>,
        body: &mut CopyBody<Self>,
        tail: &mut TailBody<Self>,
    ) -> Result<Vec<Value>> {
        let step = lanes as i64 * UNROLL as i64;
        let nv = if lanes > 1 { ext / step * step } else { 0 };
        if nv > 0 {
            carried = for_range(self, b, 0, nv, step, carried, &mut |s, b, i, cs| {
                s.unrolled(b, gi, i, lanes, cs, body)
            })?;
        }
        for_range(self, b, nv, ext, 1, carried, &mut |s, b, i, cs| {
            s.scalar_at(gi, i);
            tail(s, b, cs)
        })
    }

    // ----- Map kernels ------------------------------------------------------------------------

    fn map_kernel(&mut self, b: &mut FunctionBuilder, outs: &[Out]) -> Result<()> {
        let s = self.k.s;
        let ctx = MapCtx {
            outs,
            out_maps: &s.out_maps,
            dyn_maps: &s.dyn_maps,
            lanes: s.lanes,
            par: s.split.is_some(),
        };
        self.map_loops(b, &ctx, 0)
    }

    fn map_loops(&mut self, b: &mut FunctionBuilder, c: &MapCtx, gi: usize) -> Result<()> {
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
        if par {
            let step = c.lanes as i64 * UNROLL as i64;
            return self.map_inner_range(b, c, gi, step);
        }
        let mut body = |s: &mut Self, b: &mut FunctionBuilder, _, _| {
            s.map_body(b, c)?;
            Ok(vec![])
        };
        let mut tail = |s: &mut Self, b: &mut FunctionBuilder, _| {
            s.map_body(b, c)?;
            Ok(vec![])
        };
        self.vector_then_scalar(b, gi, ext, c.lanes, vec![], &mut body, &mut tail)?;
        Ok(())
    }

    /// The innermost (vectorised) loop of a split kernel over `[lo, hi)`, `lo` a multiple of
    /// `PAR_ALIGN`: vector iterations up to `hi` rounded down to the step, then a scalar tail.
    fn map_inner_range(
        &mut self,
        b: &mut FunctionBuilder,
        c: &MapCtx,
        gi: usize,
        step: i64,
    ) -> Result<()> {
        let (lo, hi) = self.cx.range;
        let nv = if c.lanes > 1 {
            debug_assert!(PAR_ALIGN as i64 % step == 0 && step.count_ones() == 1);
            let nv = b.ins().band_imm_s(hi, !(step - 1));
            for_range_dyn(self, b, lo, nv, step, &mut |s, b, i, _| {
                let mut body = |s: &mut Self, b: &mut FunctionBuilder, _, _| {
                    s.map_body(b, c)?;
                    Ok(vec![])
                };
                s.unrolled(b, gi, i, c.lanes, vec![], &mut body)
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

    fn dest_address(
        &mut self,
        b: &mut FunctionBuilder,
        dest: &Dest,
        ids: &[u32],
        dt: DType,
    ) -> Result<Value> {
        let mut off = self.form(b, &dest.form);
        for (t, &id) in dest.dyn_terms.iter().zip(ids) {
            let v = self.eval(b, t.node, id)?;
            let i = self.clamped_index(b, v, self.dt(t.node), t.hi);
            let s = b.ins().imul_imm_s(i, t.stride);
            off = b.ins().iadd(off, s);
        }
        let base = self.base(self.cx.plan.target_buf(dest.target));
        Ok(self.address(b, base, off, dt))
    }

    fn map_body(&mut self, b: &mut FunctionBuilder, c: &MapCtx) -> Result<()> {
        let vector = self.k.lanes > 1;
        let cx = self.ops_cx();
        for (o, (&m, ids)) in c.outs.iter().zip(c.out_maps.iter().zip(c.dyn_maps)) {
            if !o.store {
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

    // ----- reductions -------------------------------------------------------------------------

    fn reduce_kernel(
        &mut self,
        b: &mut FunctionBuilder,
        node: NodeId,
        x: NodeId,
        op: &ReduceOp,
    ) -> Result<()> {
        let s = self.k.s;
        let rc = RedCtx {
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

    fn reduce_outer(&mut self, b: &mut FunctionBuilder, c: &RedCtx, gi: usize) -> Result<()> {
        if gi < c.n_kept_groups {
            let ext = self.k.s.groups[gi].0 as i64;
            for_range(self, b, 0, ext, 1, vec![], &mut |s, b, i, _| {
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
    fn accumulate(&mut self, b: &mut FunctionBuilder, c: &RedCtx) -> Result<Value> {
        let dt = self.dt(c.x);
        let comb = reduce_combiner(c.op, dt);
        let lanes = c.lanes;
        if dt == DType::F32 && matches!(c.op, ReduceOp::Sum { .. }) {
            return self.wide_sum(b, c);
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
    fn wide_sum(&mut self, b: &mut FunctionBuilder, c: &RedCtx) -> Result<Value> {
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
        let mut acc = out[0];
        if c.lanes > 1 {
            let d = b.ins().fadd(out[1], out[2]);
            let l0 = b.ins().extractlane(d, 0);
            let l1 = b.ins().extractlane(d, 1);
            let h = b.ins().fadd(l0, l1);
            acc = b.ins().fadd(h, acc);
        }
        Ok(b.ins().fdemote(types::F32, acc))
    }

    fn wide_loops(
        &mut self,
        b: &mut FunctionBuilder,
        c: &RedCtx,
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
                s.wide_block(b, c, gi, bs, WIDE_BLOCK, cs)
            })?;
        }
        if nv > nb {
            let bs = b.ins().iconst(types::I64, nb);
            carried = self.wide_block(b, c, gi, bs, nv - nb, carried)?;
        }
        for_range(self, b, nv, ext, 1, carried, &mut |s, b, i, mut cs| {
            s.scalar_at(gi, i);
            let v = val_raw(s.eval(b, c.x, c.xm)?);
            let w = b.ins().fpromote(types::F64, v);
            cs[0] = b.ins().fadd(cs[0], w);
            Ok(cs)
        })
    }

    /// `len` elements from `start` in f32x4 accumulators, then into the f64x2 ones.
    fn wide_block(
        &mut self,
        b: &mut FunctionBuilder,
        c: &RedCtx,
        gi: usize,
        start: Value,
        len: i64,
        mut cs: Vec<Value>,
    ) -> Result<Vec<Value>> {
        let lanes = c.lanes as i64;
        let zero = b.ins().f32const(0.0);
        let z = b.ins().splat(types::F32X4, zero);
        let accs = for_range(
            self,
            b,
            0,
            len,
            lanes * UNROLL as i64,
            vec![z; UNROLL],
            &mut |s, b, i, acc| {
                let base = b.ins().iadd(start, i);
                let mut body = |s: &mut Self, b: &mut FunctionBuilder, u: usize, mut acc: Vec<Value>| {
                    let v = s.eval(b, c.x, c.xm)?;
                    let v = to_vec(b, &s.ops_cx(), DType::F32, v);
                    acc[u] = b.ins().fadd(acc[u], v);
                    Ok(acc)
                };
                s.unrolled(b, gi, base, c.lanes, acc, &mut body)
            },
        )?;
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
        Ok(cs)
    }

    fn reduce_loops(
        &mut self,
        b: &mut FunctionBuilder,
        c: &RedCtx,
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
        self.vector_then_scalar(b, gi, ext, c.lanes, carried, &mut body, &mut tail)
    }

    /// argmax/argmin along one axis: the first extremum, NaN counting as the extremum.
    fn arg_reduce(&mut self, b: &mut FunctionBuilder, c: &RedCtx) -> Result<Value> {
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
                let cc = match (dt == DType::I32, is_max) {
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

    // ----- dot_general ------------------------------------------------------------------------

    fn matmul(
        &mut self,
        b: &mut FunctionBuilder,
        node: NodeId,
        lhs: NodeId,
        rhs: NodeId,
        [batch, m, k, n]: [usize; 4],
    ) -> Result<()> {
        if batch * m * n == 0 {
            return Ok(());
        }
        let plan = self.cx.plan;
        let a = self.base(plan.buf_of(lhs).expect("dot operands have buffers"));
        let bb = self.base(plan.buf_of(rhs).expect("dot operands have buffers"));
        let cc = self.base(plan.buf_of(node).expect("dot results have buffers"));
        let dt = self.dt(node);
        if dt.is_float() {
            let f = self.cx.matmul[if dt == DType::F32 { 0 } else { 1 }];
            let dims: Vec<Value> = [batch, m, k, n]
                .iter()
                .map(|&d| b.ins().iconst(types::I64, d as i64))
                .collect();
            b.ins()
                .call(f, &[dims[0], dims[1], dims[2], dims[3], a, bb, cc]);
            return Ok(());
        }
        // Integers: a plain loop with wrapping arithmetic.
        let (mi, ki, ni) = (m as i64, k as i64, n as i64);
        for_range(self, b, 0, batch as i64, 1, vec![], &mut |s, b, bi, _| {
            for_range(s, b, 0, mi, 1, vec![], &mut |s, b, r, _| {
                for_range(s, b, 0, ni, 1, vec![], &mut |s, b, col, _| {
                    let z = b.ins().iconst(types::I32, 0);
                    let acc = for_range(s, b, 0, ki, 1, vec![z], &mut |s, b, p, cs| {
                        // a[bi, r, p] and b[bi, p, col]
                        let ao = b.ins().imul_imm_s(bi, mi * ki);
                        let ro = b.ins().imul_imm_s(r, ki);
                        let ao = b.ins().iadd(ao, ro);
                        let ao = b.ins().iadd(ao, p);
                        let bo = b.ins().imul_imm_s(bi, ki * ni);
                        let po = b.ins().imul_imm_s(p, ni);
                        let bo = b.ins().iadd(bo, po);
                        let bo = b.ins().iadd(bo, col);
                        let aa = s.address(b, a, ao, dt);
                        let ba = s.address(b, bb, bo, dt);
                        let x = b.ins().load(types::I32, flags(), aa, 0);
                        let y = b.ins().load(types::I32, flags(), ba, 0);
                        let t = b.ins().imul(x, y);
                        Ok(vec![b.ins().iadd(cs[0], t)])
                    })?;
                    let co = b.ins().imul_imm_s(bi, mi * ni);
                    let ro = b.ins().imul_imm_s(r, ni);
                    let co = b.ins().iadd(co, ro);
                    let co = b.ins().iadd(co, col);
                    let ca = s.address(b, cc, co, dt);
                    b.ins().store(flags(), acc[0], ca, 0);
                    Ok(vec![])
                })?;
                Ok(vec![])
            })?;
            Ok(vec![])
        })?;
        Ok(())
    }
}

fn val_raw(v: Val) -> Value {
    match v {
        Val::S(x) | Val::V(x) => x,
    }
}

struct MapCtx<'o> {
    /// The outermost loop runs over the entry function's `(lo, hi)` range.
    par: bool,
    outs: &'o [Out],
    out_maps: &'o [u32],
    dyn_maps: &'o [Vec<u32>],
    lanes: u8,
}

struct RedCtx<'o> {
    node: NodeId,
    x: NodeId,
    xm: u32,
    op: &'o ReduceOp,
    n_kept_groups: usize,
    lanes: u8,
    dest_form: Aff,
}
