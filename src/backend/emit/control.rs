//! `while`, `scan` and `cond` kernels: native loops and branches in the one function. Each
//! sub-program's kernels are emitted inline, in the loop body or branch block, against an
//! environment of its own whose `Input(i)` and `Output(k)` are the current pointers.
//!
//! A carry lives in two buffers, the result's and a scratch one: the body reads the current
//! one and writes the other, and the pointers swap through block parameters, so nothing is
//! allocated or copied per iteration and a body's inputs never alias its outputs. The first
//! iteration reads the operand in place; at the end the final carry is copied into the
//! result's buffer only when it is not already there. A scan reads `xs[i]` and writes `ys[i]`
//! in place. The trip count is a loop bound, never unrolled.

use super::{buffer_bases, flags, for_range, program, Emitter, FunctionEnv};
use crate::backend::graph::{Control, Kind};
use crate::backend::plan::{sub_output, Buf, ControlKernel};
use crate::core::error::Result;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, Value};
use cranelift_frontend::{FunctionBuilder, Switch};

impl Emitter<'_, '_> {
    pub(super) fn control(&mut self, b: &mut FunctionBuilder, c: &ControlKernel) -> Result<()> {
        let cx = self.cx;
        let Kind::Control { op, operands } = &cx.g.nodes[c.node].kind else {
            unreachable!("control kernels run Control nodes")
        };
        let buf_of = |n| {
            cx.plan
                .buf_of(n)
                .expect("control operands and results have buffers")
        };
        let ins: Vec<Value> = operands.iter().map(|&o| self.base(buf_of(o))).collect();
        let at = |b: &mut FunctionBuilder, off: usize| b.ins().iadd_imm_s(cx.scratch, off as i64);
        let outs: Vec<Value> = c
            .outs
            .iter()
            .zip(&c.out_temps)
            .map(|(o, temp)| match (o, temp) {
                (_, Some(off)) => at(b, *off),
                (Some(o), None) => self.base(buf_of(*o)),
                (None, None) => unreachable!("planning gives unread results scratch"),
            })
            .collect();
        let spare: Vec<Value> = c.carry_temps.iter().map(|&off| at(b, off)).collect();
        let scratch = at(b, c.sub_scratch);
        let ncar = spare.len();
        let finals = match op {
            Control::While {
                cond,
                body,
                cond_nconsts,
                body_nconsts,
            } => {
                let (cc, rest) = ins.split_at(*cond_nconsts);
                let (bc, init) = rest.split_at(*body_nconsts);
                let pred = at(b, c.pred);
                let header = b.create_block();
                let body_block = b.create_block();
                let exit = b.create_block();
                for _ in 0..3 * ncar {
                    b.append_block_param(header, types::I64);
                }
                for _ in 0..ncar {
                    b.append_block_param(exit, types::I64);
                }
                jump(b, header, &[init, &outs[..ncar], &spare].concat());
                b.switch_to_block(header);
                let params = b.block_params(header).to_vec();
                let (cur, rest) = params.split_at(ncar);
                let (next, spare) = rest.split_at(ncar);
                run_sub(cx, b, *cond, &[cc, cur].concat(), &[pred], scratch)?;
                let p = b.ins().load(types::I8, flags(), pred, 0);
                let cur_args: Vec<BlockArg> = cur.iter().map(|&v| BlockArg::Value(v)).collect();
                b.ins().brif(p, body_block, &[], exit, &cur_args);
                b.switch_to_block(body_block);
                run_sub(cx, b, *body, &[bc, cur].concat(), next, scratch)?;
                jump(b, header, &[next, spare, next].concat());
                b.switch_to_block(exit);
                b.block_params(exit).to_vec()
            }
            Control::Scan {
                body,
                length,
                reverse,
                num_consts,
                ..
            } => {
                let (consts, rest) = ins.split_at(*num_consts);
                let (init, xs) = rest.split_at(ncar);
                let node_bytes = |n: usize| {
                    let node = &cx.g.nodes[n];
                    (node.size() * node.dtype.size_bytes()) as i64
                };
                let x_slices: Vec<i64> = operands[num_consts + ncar..]
                    .iter()
                    .map(|&x| node_bytes(x) / (*length as i64).max(1))
                    .collect();
                let y_strides: Vec<i64> = (ncar..outs.len())
                    .map(|k| match c.out_temps[k] {
                        Some(_) => 0,
                        None => {
                            let y = sub_output(cx.g, *body, k);
                            (y.size() * y.dtype.size_bytes()) as i64
                        }
                    })
                    .collect();
                let last = *length as i64 - 1;
                let carried = [init, &outs[..ncar], &spare].concat();
                let end = for_range(
                    &mut (),
                    b,
                    0,
                    *length as i64,
                    1,
                    carried,
                    &mut |_, b, i, cs| {
                        let (cur, rest) = cs.split_at(ncar);
                        let (next, spare) = rest.split_at(ncar);
                        let step = if *reverse {
                            let l = b.ins().iconst(types::I64, last);
                            b.ins().isub(l, i)
                        } else {
                            i
                        };
                        let offset = |b: &mut FunctionBuilder, base: Value, bytes: i64| {
                            let o = b.ins().imul_imm_s(step, bytes);
                            b.ins().iadd(base, o)
                        };
                        let x: Vec<Value> = xs
                            .iter()
                            .zip(&x_slices)
                            .map(|(&p, &n)| offset(b, p, n))
                            .collect();
                        let y: Vec<Value> = outs[ncar..]
                            .iter()
                            .zip(&y_strides)
                            .map(|(&p, &n)| offset(b, p, n))
                            .collect();
                        run_sub(
                            cx,
                            b,
                            *body,
                            &[consts, cur, &x].concat(),
                            &[next, &y].concat(),
                            scratch,
                        )?;
                        Ok([next, spare, next].concat())
                    },
                )?;
                end[..ncar].to_vec()
            }
            Control::Cond { branches } => {
                let n = branches.len();
                let index = b.ins().load(types::I32, flags(), ins[0], 0);
                let zero = b.ins().iconst(types::I32, 0);
                let hi = b.ins().iconst(types::I32, n as i64 - 1);
                let index = b.ins().smax(index, zero);
                let index = b.ins().smin(index, hi);
                let blocks: Vec<_> = (0..n).map(|_| b.create_block()).collect();
                let merge = b.create_block();
                let mut switch = Switch::new();
                for (k, &block) in blocks.iter().enumerate().take(n - 1) {
                    switch.set_entry(k as u128, block);
                }
                switch.emit(b, index, blocks[n - 1]);
                for (&s, &block) in branches.iter().zip(&blocks) {
                    b.switch_to_block(block);
                    run_sub(cx, b, s, &ins[1..], &outs, scratch)?;
                    b.ins().jump(merge, &[]);
                }
                b.switch_to_block(merge);
                vec![]
            }
        };
        // The final carry, into the result's buffer unless it is there already.
        for (k, &v) in finals.iter().enumerate() {
            if c.outs[k].is_some() {
                let n = sub_output(cx.g, *op.subs().last().expect("a body"), k);
                copy_unless_same(b, outs[k], v, n.size() * n.dtype.size_bytes())?;
            }
        }
        Ok(())
    }
}

fn jump(b: &mut FunctionBuilder, block: cranelift_codegen::ir::Block, args: &[Value]) {
    let args: Vec<BlockArg> = args.iter().map(|&v| BlockArg::Value(v)).collect();
    b.ins().jump(block, &args);
}

/// Emit sub-program `s` of the program `cx` describes at the current point, reading its
/// inputs at `ins` and writing its outputs at `outs`, with its scratch at `scratch`.
fn run_sub(
    cx: &FunctionEnv,
    b: &mut FunctionBuilder,
    s: usize,
    ins: &[Value],
    outs: &[Value],
    scratch: Value,
) -> Result<()> {
    let (g, plan) = (&cx.g.subs[s], &cx.plan.subs[s]);
    let bases = buffer_bases(b, g, plan, scratch, &mut |_, buf| match buf {
        Buf::Input(i) => ins[i],
        Buf::Output(k) => outs[k],
        _ => unreachable!("only inputs and outputs are passed in"),
    });
    let env = FunctionEnv {
        g,
        plan,
        fma: cx.fma,
        bases,
        matmul: cx.matmul,
        range: cx.range,
        scratch,
    };
    program(&env, b)
}

/// Copy `n` bytes from `src` to `dst` when they are different buffers.
fn copy_unless_same(b: &mut FunctionBuilder, dst: Value, src: Value, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let copy = b.create_block();
    let done = b.create_block();
    let differ = b.ins().icmp(IntCC::NotEqual, dst, src);
    b.ins().brif(differ, copy, &[], done, &[]);
    b.switch_to_block(copy);
    let n = n as i64;
    let wide = n / 16 * 16;
    for (start, end, step, ty) in [(0, wide, 16, types::I8X16), (wide, n, 1, types::I8)] {
        for_range(&mut (), b, start, end, step, vec![], &mut |_, b, i, _| {
            let s = b.ins().iadd(src, i);
            let v = b.ins().load(ty, flags(), s, 0);
            let d = b.ins().iadd(dst, i);
            b.ins().store(flags(), v, d, 0);
            Ok(vec![])
        })?;
    }
    b.ins().jump(done, &[]);
    b.switch_to_block(done);
    Ok(())
}
