//! Cumulative reductions (`cumsum`, `cumprod`, `cummax`, `cummin`, `cumlogsumexp`): the axes
//! before the scanned one loop outside, the scanned axis next (forwards or backwards), the axes
//! after it innermost, so each step combines a whole contiguous row of the operand with the
//! previous row of the result, vectorised across that row (f32x4/i32x4/f64x2 with a scalar
//! tail) where the combining op vectorises. The first element of each scan is copied, as the
//! interpreter (`Cumulative::eval`) starts from it, and every step is the same scalar op.
//! Also the sort permutation kernel (a runtime call), the other scan-like kernel over a
//! buffered operand.

use super::{flags, for_range, val_raw, Emitter};
use crate::backend::codegen::runtime_func;
use crate::backend::graph::{Kind, NodeId};
use crate::backend::ops::{self, Cx, Val};
use crate::core::error::Result;
use crate::dtype::DType;
use crate::prims::cumulative::CumulativeKind;
use crate::prims::{BinaryOp, UnaryOp};
use cranax_runtime::sort;
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

impl Emitter<'_, '_> {
    pub(super) fn cumulative(&mut self, b: &mut FunctionBuilder, node: NodeId) -> Result<()> {
        let Kind::Cumulative { op, x } = &self.g().nodes[node].kind else {
            unreachable!("cumulative kernels compute Cumulative nodes")
        };
        let (op, x) = (op.clone(), *x);
        let shape = self.g().nodes[x].shape.clone();
        let dt = self.dt(x);
        let n = shape[op.axis] as i64;
        let inner: i64 = shape[op.axis + 1..].iter().product::<usize>() as i64;
        let outer: i64 = shape[..op.axis].iter().product::<usize>() as i64;
        if n == 0 || inner == 0 || outer == 0 {
            return Ok(());
        }
        let plan = self.cx.plan;
        let xb = self.base(plan.buf_of(x).expect("cumulative operands have buffers"));
        let ob = self.base(plan.buf_of(node).expect("cumulative results have buffers"));
        let comb = match op.kind {
            CumulativeKind::Sum => Some(BinaryOp::Add),
            CumulativeKind::Prod => Some(BinaryOp::Mul),
            CumulativeKind::Max => Some(BinaryOp::Max),
            CumulativeKind::Min => Some(BinaryOp::Min),
            CumulativeKind::LogSumExp => None,
        };
        let lanes: u8 = match (dt, &comb) {
            (DType::F64, Some(c)) if ops::binary_vectorizes(c, dt, false) => 2,
            (DType::F32 | DType::I32 | DType::U32, Some(c))
                if ops::binary_vectorizes(c, dt, false) =>
            {
                4
            }
            _ => 1,
        };
        let nv = if lanes > 1 {
            inner / lanes as i64 * lanes as i64
        } else {
            0
        };
        let reverse = op.reverse;
        for_range(self, b, 0, outer, 1, vec![], &mut |s, b, o, _| {
            let row0 = b.ins().imul_imm_s(o, n * inner);
            // The first element of each scan (the last one, reversed) is copied.
            let first = if reverse { n - 1 } else { 0 };
            let start = b.ins().iadd_imm_s(row0, first * inner);
            for_range(s, b, 0, inner, 1, vec![], &mut |s, b, i, _| {
                let off = b.ins().iadd(start, i);
                let v = s.load_elem(b, xb, off, dt, 1);
                s.store_elem(b, ob, off, dt, v);
                Ok(vec![])
            })?;
            for_range(s, b, 1, n, 1, vec![], &mut |s, b, step, _| {
                // Row k combines x[k] into out[k -/+ 1].
                let k = if reverse {
                    let last = b.ins().iconst(types::I64, n - 1);
                    b.ins().isub(last, step)
                } else {
                    step
                };
                let here = b.ins().imul_imm_s(k, inner);
                let here = b.ins().iadd(row0, here);
                let prev = b
                    .ins()
                    .iadd_imm_s(here, if reverse { inner } else { -inner });
                let at = |s: &mut Self, b: &mut FunctionBuilder, i: Value, l: u8| {
                    let (h, p) = (b.ins().iadd(here, i), b.ins().iadd(prev, i));
                    let acc = s.load_elem(b, ob, p, dt, l);
                    let v = s.load_elem(b, xb, h, dt, l);
                    let r = s.cumulative_step(b, op.kind, comb.as_ref(), dt, l, acc, v);
                    s.store_elem(b, ob, h, dt, r);
                    Ok(vec![])
                };
                if nv > 0 {
                    for_range(s, b, 0, nv, lanes as i64, vec![], &mut |s, b, i, _| {
                        at(s, b, i, lanes)
                    })?;
                }
                for_range(s, b, nv, inner, 1, vec![], &mut |s, b, i, _| at(s, b, i, 1))?;
                Ok(vec![])
            })?;
            Ok(vec![])
        })?;
        Ok(())
    }

    /// A `SortPerm` node: `cranax_sort_perm(dtype, outer, n, inner, key, perm)`, the
    /// permutation eager evaluation computes too (`cranax_runtime::sort`).
    pub(super) fn sort_perm(&mut self, b: &mut FunctionBuilder, node: NodeId) -> Result<()> {
        let Kind::SortPerm {
            dimension,
            key,
            top_k,
        } = self.g().nodes[node].kind
        else {
            unreachable!("sort kernels compute SortPerm nodes")
        };
        let shape = self.g().nodes[key].shape.clone();
        if shape.iter().product::<usize>() == 0 {
            return Ok(());
        }
        let code =
            sort::dtype_code(self.dt(key).numpy_name()) | if top_k { sort::TOP_K } else { 0 };
        let plan = self.cx.plan;
        let kb = self.base(plan.buf_of(key).expect("sort keys have buffers"));
        let pb = self.base(plan.buf_of(node).expect("sort permutations have buffers"));
        let n = shape[dimension];
        let inner: usize = shape[dimension + 1..].iter().product();
        let outer: usize = shape[..dimension].iter().product();
        let c = |b: &mut FunctionBuilder, v: usize| b.ins().iconst(types::I64, v as i64);
        let dt = b.ins().iconst(types::I32, code as i64);
        let (o, nn, i) = (c(b, outer), c(b, n), c(b, inner));
        let f = runtime_func(b, self.cx.sort_perm);
        b.ins().call(f, &[dt, o, nn, i, kb, pb]);
        Ok(())
    }

    /// The element (or `lanes` elements) of dtype `dt` at element offset `off` from `base`.
    fn load_elem(
        &mut self,
        b: &mut FunctionBuilder,
        base: Value,
        off: Value,
        dt: DType,
        lanes: u8,
    ) -> Val {
        self.k.lanes = lanes;
        let addr = self.address(b, base, off, dt);
        self.load(b, addr, dt, lanes > 1)
    }

    fn store_elem(&mut self, b: &mut FunctionBuilder, base: Value, off: Value, dt: DType, v: Val) {
        let addr = self.address(b, base, off, dt);
        b.ins().store(flags(), val_raw(v), addr, 0);
    }

    /// `acc ⊕ v`: the combining op, or for `cumlogsumexp` (scalar) JAX's `logaddexp` formula
    /// (`acc + v` where `acc - v` is NaN, else `max + log1p(exp(-|acc - v|))`).
    #[allow(clippy::too_many_arguments)]
    fn cumulative_step(
        &mut self,
        b: &mut FunctionBuilder,
        kind: CumulativeKind,
        comb: Option<&BinaryOp>,
        dt: DType,
        lanes: u8,
        acc: Val,
        v: Val,
    ) -> Val {
        let cx = Cx {
            fma: self.cx.fma,
            lanes,
        };
        if let Some(c) = comb {
            return ops::combine(b, &cx, c, dt, acc, v);
        }
        if dt.is_half() {
            // A step in f32, rounded back (as every op on the 16-bit floats).
            let wide = |b: &mut FunctionBuilder, x: Val| {
                Val::S(ops::convert_scalar(b, val_raw(x), dt, DType::F32))
            };
            let (acc, v) = (wide(b, acc), wide(b, v));
            let r = self.cumulative_step(b, kind, None, DType::F32, lanes, acc, v);
            return Val::S(ops::convert_scalar(b, val_raw(r), DType::F32, dt));
        }
        debug_assert_eq!(kind, CumulativeKind::LogSumExp);
        let un = |b: &mut FunctionBuilder, op: UnaryOp, x: Val| ops::unary(b, &cx, &op, dt, dt, x);
        let delta = ops::combine(b, &cx, &BinaryOp::Sub, dt, acc, v);
        let amax = ops::combine(b, &cx, &BinaryOp::Max, dt, acc, v);
        let mag = un(b, UnaryOp::Abs, delta);
        let neg = un(b, UnaryOp::Neg, mag);
        let e = un(b, UnaryOp::Exp, neg);
        let l = un(b, UnaryOp::Log1p, e);
        let r = ops::combine(b, &cx, &BinaryOp::Add, dt, amax, l);
        let sum = ops::combine(b, &cx, &BinaryOp::Add, dt, acc, v);
        let d = val_raw(delta);
        let nan = b.ins().fcmp(FloatCC::Unordered, d, d);
        Val::S(b.ins().select(nan, val_raw(sum), val_raw(r)))
    }
}
