//! `dot_general` kernels: f32 and f64 call the runtime's gemm (imported by absolute address;
//! the 16-bit floats reach it as f32, `legalize`), integers run a plain loop with wrapping
//! arithmetic.

use super::{flags, for_range, Emitter};
use crate::backend::codegen::runtime_func;
use crate::backend::graph::{Kind, NodeId};
use crate::backend::ops::{self, sty, Cx, Val};
use crate::core::error::Result;
use crate::dtype::DType;
use crate::prims::BinaryOp;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

impl Emitter<'_, '_> {
    pub(super) fn matmul(&mut self, b: &mut FunctionBuilder, node: NodeId) -> Result<()> {
        let Kind::MatMul {
            lhs,
            rhs,
            batch,
            m,
            k,
            n,
            lhs_strides,
            rhs_strides,
        } = self.g().nodes[node].kind
        else {
            unreachable!("matmul kernels compute MatMul nodes")
        };
        if batch * m * n == 0 {
            return Ok(());
        }
        let plan = self.cx.plan;
        let a = self.base(plan.buf_of(lhs).expect("dot operands have buffers"));
        let bb = self.base(plan.buf_of(rhs).expect("dot operands have buffers"));
        let cc = self.base(plan.buf_of(node).expect("dot results have buffers"));
        let dt = self.dt(node);
        if dt.is_float() {
            let f = runtime_func(b, self.cx.matmul[if dt == DType::F32 { 0 } else { 1 }]);
            let mut c = |v: i64| b.ins().iconst(types::I64, v);
            let [ab, ar, ac] = lhs_strides.map(&mut c);
            let [bb_, br, bc] = rhs_strides.map(&mut c);
            let dims = [batch, m, k, n].map(|d| c(d as i64));
            let args = [
                dims[0], dims[1], dims[2], dims[3], a, ab, ar, ac, bb, bb_, br, bc, cc,
            ];
            b.ins().call(f, &args);
            return Ok(());
        }
        // Integers: a plain loop with wrapping arithmetic (narrow ones computed in 32 bits).
        let cx = Cx {
            fma: self.cx.fma,
            lanes: 1,
        };
        let (mi, ki, ni) = (m as i64, k as i64, n as i64);
        for_range(self, b, 0, batch as i64, 1, vec![], &mut |s, b, bi, _| {
            for_range(s, b, 0, mi, 1, vec![], &mut |s, b, r, _| {
                for_range(s, b, 0, ni, 1, vec![], &mut |s, b, col, _| {
                    let z = b.ins().iconst(sty(dt), 0);
                    let acc = for_range(s, b, 0, ki, 1, vec![z], &mut |s, b, p, cs| {
                        // a[bi, r, p] and b[bi, p, col], through their strides
                        let offset = |b: &mut FunctionBuilder, s: [i64; 3], i: [Value; 3]| {
                            let o = b.ins().imul_imm_s(i[0], s[0]);
                            let r = b.ins().imul_imm_s(i[1], s[1]);
                            let c = b.ins().imul_imm_s(i[2], s[2]);
                            let o = b.ins().iadd(o, r);
                            b.ins().iadd(o, c)
                        };
                        let ao = offset(b, lhs_strides, [bi, r, p]);
                        let bo = offset(b, rhs_strides, [bi, p, col]);
                        let aa = s.address(b, a, ao, dt);
                        let ba = s.address(b, bb, bo, dt);
                        let x = Val::S(b.ins().load(sty(dt), flags(), aa, 0));
                        let y = Val::S(b.ins().load(sty(dt), flags(), ba, 0));
                        let (mul, add) = (&BinaryOp::Mul, &BinaryOp::Add);
                        let t = ops::binary(b, &cx, mul, dt, x, y);
                        let Val::S(r) = ops::binary(b, &cx, add, dt, Val::S(cs[0]), t) else {
                            unreachable!("scalar operands")
                        };
                        Ok(vec![r])
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
