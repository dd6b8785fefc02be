//! Linear-algebra kernels: one call of the runtime's faer entry point (imported by symbol name
//! from `cranax_runtime::symbols`, as matmul's) on the operand and result buffers, so compiled
//! code computes exactly what eager evaluation does.

use super::Emitter;
use crate::backend::codegen::runtime_func;
use crate::backend::graph::{Kind, NodeId};
use crate::core::error::Result;
use crate::dtype::DType;
use crate::prims::LinalgOp;
use cranelift_codegen::ir::{types, InstBuilder};
use cranelift_frontend::FunctionBuilder;

/// The runtime's linalg entry points, `[f32, f64]` where typed.
#[derive(Clone, Copy)]
pub struct LinalgFns {
    pub cholesky: [&'static str; 2],
    pub triangular_solve: [&'static str; 2],
    pub lu_packed: [&'static str; 2],
    pub lu_pivots_to_permutation: &'static str,
    pub decompose: [&'static str; 2],
}

impl Emitter<'_, '_> {
    pub(super) fn linalg(&mut self, b: &mut FunctionBuilder, node: NodeId) -> Result<()> {
        let Kind::Linalg { op, operands } = &self.g().nodes[node].kind else {
            unreachable!("linalg kernels compute Linalg nodes")
        };
        let (op, operands) = (op.clone(), operands.clone());
        let plan = self.cx.plan;
        let buf = |s: &mut Self, n: NodeId| {
            s.base(
                plan.buf_of(n)
                    .expect("linalg operands and results have buffers"),
            )
        };
        let args: Vec<_> = operands.iter().map(|&o| buf(self, o)).collect();
        let out = buf(self, node);
        let shape = self.g().nodes[operands[0]].shape.clone();
        let nd = shape.len();
        let batch: usize = shape[..nd.max(2) - 2].iter().product();
        let f64_index = usize::from(self.dt(operands[0]) == DType::F64);
        let fns = self.cx.linalg;
        let c = |b: &mut FunctionBuilder, v: usize| b.ins().iconst(types::I64, v as i64);
        match op {
            LinalgOp::Cholesky => {
                let n = shape[nd - 1];
                let (bt, nn) = (c(b, batch), c(b, n));
                let f = runtime_func(b, fns.cholesky[f64_index]);
                b.ins().call(f, &[bt, nn, args[0], out]);
            }
            LinalgOp::TriangularSolve {
                left_side,
                lower,
                transpose_a,
                unit_diagonal,
                ..
            } => {
                let bshape = &self.g().nodes[operands[1]].shape;
                let (m, n) = (bshape[nd - 2], bshape[nd - 1]);
                let flags = u32::from(left_side)
                    | u32::from(lower) << 1
                    | u32::from(transpose_a) << 2
                    | u32::from(unit_diagonal) << 3;
                let fl = b.ins().iconst(types::I32, flags as i64);
                let (bt, mm, nn) = (c(b, batch), c(b, m), c(b, n));
                let f = runtime_func(b, fns.triangular_solve[f64_index]);
                b.ins().call(f, &[fl, bt, mm, nn, args[0], args[1], out]);
            }
            LinalgOp::Lu => {
                let (m, n) = (shape[nd - 2], shape[nd - 1]);
                let (bt, mm, nn) = (c(b, batch), c(b, m), c(b, n));
                let f = runtime_func(b, fns.lu_packed[f64_index]);
                b.ins().call(f, &[bt, mm, nn, args[0], out]);
            }
            LinalgOp::LuPivotsToPermutation { permutation_size } => {
                let k = shape[nd - 1];
                let batch: usize = shape[..nd - 1].iter().product();
                let (bt, kk, mm) = (c(b, batch), c(b, k), c(b, permutation_size));
                let f = runtime_func(b, fns.lu_pivots_to_permutation);
                b.ins().call(f, &[bt, kk, mm, args[0], out]);
            }
            LinalgOp::Qr { .. } | LinalgOp::Eigh { .. } | LinalgOp::Svd { .. } => {
                let (m, n) = (shape[nd - 2], shape[nd - 1]);
                let (flags, lo, hi) = op.decomposition(m, n)?.encode();
                let vals: Vec<_> = [flags, lo, hi, batch, m, n]
                    .into_iter()
                    .map(|v| c(b, v))
                    .collect();
                let f = runtime_func(b, fns.decompose[f64_index]);
                b.ins().call(f, &[&vals[..], &[args[0], out]].concat());
            }
        }
        Ok(())
    }
}
