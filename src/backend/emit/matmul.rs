//! `dot_general` kernels: floats call the runtime's gemm (imported by absolute address),
//! integers run a plain loop with wrapping arithmetic.

use super::{flags, for_range, Emitter};
use crate::backend::graph::{Kind, NodeId};
use crate::core::error::Result;
use crate::dtype::DType;
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
