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
use cranelift_codegen::ir::{types, Block, BlockArg, InstBuilder, Value};
use cranelift_frontend::{FunctionBuilder, Switch};

/// The pointers a control kernel works with (all defined before its loop or branch).
struct Ptrs {
    /// Each operand, in place.
    ins: Vec<Value>,
    /// Each result's buffer (or scratch for a result nothing reads).
    outs: Vec<Value>,
    /// The second buffer of each carry.
    spare: Vec<Value>,
    /// The sub-programs' scratch.
    scratch: Value,
}

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
        let at = |b: &mut FunctionBuilder, off: usize| b.ins().iadd_imm_s(cx.scratch, off as i64);
        let outs = c.outs.iter().zip(&c.out_temps);
        let p = Ptrs {
            ins: operands.iter().map(|&o| self.base(buf_of(o))).collect(),
            outs: outs
                .map(|(o, temp)| match (o, temp) {
                    (_, Some(off)) => at(b, *off),
                    (Some(o), None) => self.base(buf_of(*o)),
                    (None, None) => unreachable!("planning gives unread results scratch"),
                })
                .collect(),
            spare: c.carry_temps.iter().map(|&off| at(b, off)).collect(),
            scratch: at(b, c.sub_scratch),
        };
        let finals = match op {
            Control::While {
                cond,
                body,
                cond_nconsts,
                body_nconsts,
            } => {
                let pred = at(b, c.pred);
                let (cc, rest) = p.ins.split_at(*cond_nconsts);
                let (bc, init) = rest.split_at(*body_nconsts);
                while_loop(cx, b, (*cond, cc), (*body, bc), init, pred, &p)?
            }
            Control::Scan {
                body,
                length,
                reverse,
                num_consts,
                ..
            } => {
                let xs = &operands[num_consts + p.spare.len()..];
                let x_slices = xs.iter().map(|&x| cx.g.nodes[x].bytes() / (*length).max(1));
                // A result nothing reads is one slice rewritten every step.
                let y_strides = (p.spare.len()..p.outs.len()).map(|k| match c.out_temps[k] {
                    Some(_) => 0,
                    None => sub_output(cx.g, *body, k).bytes(),
                });
                let strides = x_slices.chain(y_strides).map(|n| n as i64).collect();
                scan_loop(cx, b, *body, (*length, *reverse), *num_consts, strides, &p)?
            }
            Control::Cond { branches } => {
                branch(cx, b, branches, &p)?;
                vec![]
            }
        };
        // The final carry, into the result's buffer unless it is there already.
        let writer = *op.subs().last().expect("control ops run a sub-program");
        for (k, &v) in finals.iter().enumerate() {
            if c.outs[k].is_some() {
                copy_unless_same(b, p.outs[k], v, sub_output(cx.g, writer, k).bytes())?;
            }
        }
        Ok(())
    }
}

/// `while cond(cond_consts, carry): carry = body(body_consts, carry)` from `init`, the
/// predicate written to `pred`; returns the pointers of the final carry.
fn while_loop(
    cx: &FunctionEnv,
    b: &mut FunctionBuilder,
    (cond, cc): (usize, &[Value]),
    (body, bc): (usize, &[Value]),
    init: &[Value],
    pred: Value,
    p: &Ptrs,
) -> Result<Vec<Value>> {
    let ncar = init.len();
    let header = b.create_block();
    let body_block = b.create_block();
    let exit = b.create_block();
    for _ in 0..3 * ncar {
        b.append_block_param(header, types::I64);
    }
    for _ in 0..ncar {
        b.append_block_param(exit, types::I64);
    }
    // (current, next, spare): the body reads current and writes next; then next is current,
    // spare next, and the old next the spare (the operand is never written).
    jump(b, header, &[init, &p.outs[..ncar], &p.spare].concat());
    b.switch_to_block(header);
    let params = b.block_params(header).to_vec();
    let (cur, rest) = params.split_at(ncar);
    let (next, spare) = rest.split_at(ncar);
    run_sub(cx, b, cond, &[cc, cur].concat(), &[pred], p.scratch)?;
    let go = b.ins().load(types::I8, flags(), pred, 0);
    let cur_args: Vec<BlockArg> = cur.iter().map(|&v| BlockArg::Value(v)).collect();
    b.ins().brif(go, body_block, &[], exit, &cur_args);
    b.switch_to_block(body_block);
    run_sub(cx, b, body, &[bc, cur].concat(), next, p.scratch)?;
    jump(b, header, &[next, spare, next].concat());
    b.switch_to_block(exit);
    Ok(b.block_params(exit).to_vec())
}

/// `(carry, ys[i]) = body(consts, carry, xs[i])` for `i` in `0..length` (or reversed), the
/// operands being `consts ++ carry ++ xs`; `strides` are the bytes between consecutive slices
/// of each `x` and then each `y`. Returns the pointers of the final carry.
fn scan_loop(
    cx: &FunctionEnv,
    b: &mut FunctionBuilder,
    body: usize,
    (length, reverse): (usize, bool),
    num_consts: usize,
    strides: Vec<i64>,
    p: &Ptrs,
) -> Result<Vec<Value>> {
    let ncar = p.spare.len();
    let (consts, rest) = p.ins.split_at(num_consts);
    let (init, xs) = rest.split_at(ncar);
    let sliced: Vec<Value> = xs.iter().chain(&p.outs[ncar..]).copied().collect();
    let carried = [init, &p.outs[..ncar], &p.spare].concat();
    let last = length as i64 - 1;
    let mut step = |_: &mut (), b: &mut FunctionBuilder, i: Value, cs: Vec<Value>| {
        // (current, next, spare) as in `while_loop`.
        let (cur, rest) = cs.split_at(ncar);
        let (next, spare) = rest.split_at(ncar);
        let at = if reverse {
            let l = b.ins().iconst(types::I64, last);
            b.ins().isub(l, i)
        } else {
            i
        };
        let slices: Vec<Value> = sliced
            .iter()
            .zip(&strides)
            .map(|(&base, &stride)| {
                let o = b.ins().imul_imm_s(at, stride);
                b.ins().iadd(base, o)
            })
            .collect();
        let (x, y) = slices.split_at(xs.len());
        let ins = [consts, cur, x].concat();
        run_sub(cx, b, body, &ins, &[next, y].concat(), p.scratch)?;
        Ok([next, spare, next].concat())
    };
    let end = for_range(&mut (), b, 0, length as i64, 1, carried, &mut step)?;
    Ok(end[..ncar].to_vec())
}

/// `branches[clamp(index, 0, n - 1)](operands)`, the operands being `index ++ operands`.
fn branch(cx: &FunctionEnv, b: &mut FunctionBuilder, branches: &[usize], p: &Ptrs) -> Result<()> {
    let n = branches.len();
    let index = b.ins().load(types::I32, flags(), p.ins[0], 0);
    let zero = b.ins().iconst(types::I32, 0);
    let hi = b.ins().iconst(types::I32, n as i64 - 1);
    let index = b.ins().smax(index, zero);
    let index = b.ins().smin(index, hi);
    let blocks: Vec<Block> = (0..n).map(|_| b.create_block()).collect();
    let merge = b.create_block();
    let mut switch = Switch::new();
    for (k, &block) in blocks.iter().enumerate().take(n - 1) {
        switch.set_entry(k as u128, block);
    }
    switch.emit(b, index, blocks[n - 1]);
    for (&s, &block) in branches.iter().zip(&blocks) {
        b.switch_to_block(block);
        run_sub(cx, b, s, &p.ins[1..], &p.outs, p.scratch)?;
        b.ins().jump(merge, &[]);
    }
    b.switch_to_block(merge);
    Ok(())
}

fn jump(b: &mut FunctionBuilder, block: Block, args: &[Value]) {
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
    let bases = buffer_bases(b, g, plan, scratch, cx.consts, &mut |_, buf| match buf {
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
        linalg: cx.linalg,
        sort_perm: cx.sort_perm,
        consts: cx.consts,
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
