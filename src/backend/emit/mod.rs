//! Kernel emission: each planned kernel becomes a loop nest in the one Cranelift function of
//! the executable, exactly as its `Schedule` decided (collapsed loop groups, the innermost
//! loop vectorised with f32x4/i32x4/f64x2 lanes, unrolled `UNROLL` times, then (in `Map`
//! kernels) the whole vectors left as single copies, scalar tail; a
//! short innermost loop of a cheap `Map` body as straight-line steps; the outermost loop over
//! the entry's `(lo, hi)` range when split across threads). Addresses are summed so that
//! constant offsets become displacements of the accesses. Values of
//! inline nodes are computed at the index each consumer needs (no intermediate buffers) and
//! shared within one loop body; large f32 loops with expensive functions run in L1-sized
//! blocks through the runtime's wide-vector kernels ([`blocked`]). Nothing is decided here:
//! emission only writes code.
//!
//! This file holds the emitter, loop helpers and the vector-body/scalar-tail combinator;
//! [`eval`] inline expressions, [`blocked`] blocked loops, [`loops`] `Map` kernels ([`two_valued`]
//! those over a two-valued constant), [`reduce`] reductions, [`matmul`]
//! `dot_general`, [`control`] `while`/`scan`/`cond` (their sub-programs emitted inline, in
//! the loop body or branch, against an environment of their own).

mod blocked;
mod control;
mod cumulative;
mod eval;
mod linalg;
mod loops;
mod matmul;
mod two_valued;

pub use linalg::LinalgFns;
mod reduce;

use super::graph::{Graph, Kind, NodeId};
use super::index::Aff;
use super::ops::{sty, vty, Cx, Val};
use super::plan::{is_expensive, Buf, Kernel, KernelKind, Plan};
use super::schedule::{MapId, Schedule, UNROLL};
use crate::core::error::Result;
use crate::dtype::DType;
pub(super) use blocked::BLOCK;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, Block, BlockArg, GlobalValue, InstBuilder, InstructionData, MemFlagsData, Opcode, Value,
};
use cranelift_frontend::FunctionBuilder;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;

/// What every kernel of one function is emitted against.
pub struct FunctionEnv<'a> {
    pub g: &'a Graph,
    pub plan: &'a Plan,
    pub fma: bool,
    /// Base address of every buffer (defined in the entry block).
    pub bases: FxHashMap<Buf, Value>,
    /// `cranax_matmul_f32`, `cranax_matmul_f64` (runtime entry points, imported where called
    /// through `codegen::runtime_func`, like all of them).
    pub matmul: [&'static str; 2],
    /// The runtime's linalg entry points.
    pub linalg: LinalgFns,
    /// `cranax_sort_perm`.
    pub sort_perm: &'static str,
    /// The data object of every constant, by the address of its data.
    pub consts: &'a FxHashMap<usize, GlobalValue>,
    /// The entry function's `(lo, hi)` parameters: the range of the outermost loop a
    /// split kernel runs (see `Schedule::split`).
    pub range: (Value, Value),
    /// The start of this program's scratch (`Buf::Temp` offsets and control kernels'
    /// scratch are from here).
    pub scratch: Value,
}

/// The base address of every buffer `plan` names (and of every output of `g`), defined at the
/// current point: inputs and outputs as `io` says, temporaries at `scratch + offset`,
/// constants at their data objects (`consts`, by the address of their data).
pub fn buffer_bases(
    b: &mut FunctionBuilder,
    g: &Graph,
    plan: &Plan,
    scratch: Value,
    consts: &FxHashMap<usize, GlobalValue>,
    io: &mut dyn FnMut(&mut FunctionBuilder, Buf) -> Value,
) -> FxHashMap<Buf, Value> {
    let mut bases = FxHashMap::default();
    let mut bufs: Vec<Buf> = plan.buf.iter().flatten().copied().collect();
    bufs.extend((0..g.outputs.len()).map(Buf::Output));
    for buf in bufs {
        if bases.contains_key(&buf) {
            continue;
        }
        let v = match buf {
            Buf::Input(_) | Buf::Output(_) => io(b, buf),
            Buf::Temp(off) => b.ins().iadd_imm_s(scratch, off as i64),
            Buf::Const(j) => {
                let gv = consts[&(g.consts[j].data.as_ptr() as usize)];
                b.ins().symbol_value(types::I64, gv)
            }
        };
        bases.insert(buf, v);
    }
    bases
}

/// Emit every kernel of the program `cx` describes, in order.
pub fn program(cx: &FunctionEnv, b: &mut FunctionBuilder) -> Result<()> {
    for kern in &cx.plan.kernels {
        Emitter::new(cx, kern).kernel(b)?;
    }
    Ok(())
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
    cache: FxHashMap<(NodeId, MapId, u8), Cached>,
    /// Lanes of the code being emitted now (1 in scalar bodies).
    lanes: u8,
    /// Unroll copy being emitted (part of the cache key of non-uniform values).
    copy: u8,
    /// Copies per vector step of the innermost loop: `UNROLL`, or 1 for a short loop of a
    /// long `Map` body (see `SHORT_EXTENT`).
    unroll: usize,
    /// In a blocked loop (`blocked`): the block's first element, and the block buffer of
    /// each (node, map) its kernels have computed so far.
    block_start: Option<Value>,
    ready: FxHashMap<(NodeId, MapId), Value>,
    /// In a blocked loop: the outputs (by index) a block kernel has stored already.
    stored: FxHashSet<usize>,
    /// Address arithmetic already emitted in a block: the unrolled copies of a body read the
    /// same buffers at the same index plus constants.
    addresses: RefCell<FxHashMap<(Block, AddressPart), Value>>,
}

/// A step of address arithmetic [`LoopState::addresses`] remembers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum AddressPart {
    /// `at + esize * term`: (at, term, esize).
    Scaled(Value, Value, i64),
    /// `x - y`.
    Difference(Value, Value),
    /// `v * k`, `x + y`, `v + c` and `c` ([`Emitter::form`]'s steps).
    Product(Value, i64),
    Sum(Value, Value),
    Offset(Value, i64),
    Const(i64),
    /// The address of a data object (a relaid constant's).
    Symbol(GlobalValue),
}

impl LoopState<'_> {
    fn key(&self, n: NodeId, m: MapId) -> (NodeId, MapId, u8) {
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
type TailBody<'f, S> =
    dyn FnMut(&mut S, &mut FunctionBuilder, Vec<Value>) -> Result<Vec<Value>> + 'f;

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
                cache: FxHashMap::default(),
                lanes: 1,
                copy: 0,
                unroll: UNROLL,
                block_start: None,
                ready: FxHashMap::default(),
                stored: FxHashSet::default(),
                addresses: RefCell::default(),
            },
        }
    }

    fn g(&self) -> &'a Graph {
        self.cx.g
    }

    /// Every buffer the current kernel reads: its leaves', and those gathers and dynamic
    /// slices read through their own addresses.
    fn read_bufs(&self) -> FxHashSet<Buf> {
        let g = self.g();
        let plan = self.cx.plan;
        self.k
            .s
            .exprs
            .iter()
            .filter_map(|(&(n, _), e)| match (&g.nodes[n].kind, e) {
                (_, None) => Some(n),
                (Kind::Gather { x, .. } | Kind::DynSlice { x, .. }, _) => Some(*x),
                _ => None,
            })
            .filter_map(|n| plan.buf_of(n))
            .collect()
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
            KernelKind::MatMul { node } => self.matmul(b, *node),
            KernelKind::Linalg { node } => self.linalg(b, *node),
            KernelKind::Cumulative { node } => self.cumulative(b, *node),
            KernelKind::SortPerm { node } => self.sort_perm(b, *node),
            KernelKind::Control(c) => self.control(b, c),
        }
    }

    // ----- evaluation of inline expressions -------------------------------------------------

    /// The i64 value of `form` at the current loop variables: the variable terms, then the
    /// constant added last, where [`Self::address`] finds it, with the constants of the loop
    /// variables folded in (a straight-line step's constant variable, an unrolled copy's
    /// `i + u * lanes`). Each step is emitted once per block (the unrolled copies of a body,
    /// its loads and stores, compute the same terms).
    fn form(&self, b: &mut FunctionBuilder, f: &Aff) -> Value {
        let (terms, c) = self.form_parts(b, f);
        let mut acc: Option<Value> = None;
        for t in terms {
            acc = Some(match acc {
                Some(a) => self.once_per_block(b, AddressPart::Sum(a, t), |b| b.ins().iadd(a, t)),
                None => t,
            });
        }
        match acc {
            Some(a) if c != 0 => {
                self.once_per_block(b, AddressPart::Offset(a, c), |b| b.ins().iadd_imm_s(a, c))
            }
            Some(a) => a,
            None => {
                self.once_per_block(b, AddressPart::Const(c), |b| b.ins().iconst(types::I64, c))
            }
        }
    }

    /// [`Self::form`] unsummed: its variable terms (outermost first) and its constant.
    fn form_parts(&self, b: &mut FunctionBuilder, f: &Aff) -> (Vec<Value>, i64) {
        let mut c = f.c;
        let mut terms = Vec::new();
        for (gi, (_, dims)) in self.k.s.groups.iter().enumerate() {
            let coef = f.k[*dims.last().expect("groups are non-empty")];
            if coef == 0 {
                continue;
            }
            let mut v = self.k.vars[gi].expect("loop variable is defined");
            if let Some(k) = iconst_of(b, v) {
                c += coef * k;
                continue;
            }
            // An unrolled copy's variable `i + u * lanes`: its constant joins `c`.
            if let Some((x, k)) = plus_const(b, v) {
                c += coef * k;
                v = x;
            }
            terms.push(if coef == 1 {
                v
            } else {
                self.once_per_block(b, AddressPart::Product(v, coef), |b| {
                    b.ins().imul_imm_s(v, coef)
                })
            });
        }
        (terms, c)
    }

    /// [`Self::address_parts`] at the element offset `f` (no sum of its terms is emitted).
    fn form_address(
        &self,
        b: &mut FunctionBuilder,
        base: Value,
        f: &Aff,
        dt: DType,
    ) -> (Value, i32) {
        let (parts, mut c) = self.form_parts(b, f);
        let mut terms = Vec::with_capacity(parts.len());
        for t in parts {
            let (ts, k) = sum_terms(b, t);
            terms.extend(ts);
            c += k;
        }
        self.scaled_address(b, base, &terms, c, dt)
    }

    /// The address of the data object `gv`, computed once per block.
    fn symbol(&self, b: &mut FunctionBuilder, gv: GlobalValue) -> Value {
        self.once_per_block(b, AddressPart::Symbol(gv), |b| {
            b.ins().symbol_value(types::I64, gv)
        })
    }

    /// `base + esize * offset`, summed term by term when `offset` is a sum (as [`Self::form`]
    /// builds it: the outer loops' terms first, the constant last): `base` plus the outer
    /// terms is then invariant in the inner loop (Cranelift hoists it), the innermost term
    /// becomes the access's scaled index and the constant its displacement.
    fn address(&self, b: &mut FunctionBuilder, base: Value, offset: Value, dt: DType) -> Value {
        match self.address_parts(b, base, offset, dt) {
            (at, 0) => at,
            (at, disp) => b.ins().iadd_imm_s(at, i64::from(disp)),
        }
    }

    /// [`Self::address`] as `(at, disp)` for an access instruction's displacement: the
    /// constant term in bytes when it fits in 32 bits (else it is added into `at`). Each
    /// `at + esize * term` is computed once per block.
    fn address_parts(
        &self,
        b: &mut FunctionBuilder,
        base: Value,
        offset: Value,
        dt: DType,
    ) -> (Value, i32) {
        let (terms, c) = sum_terms(b, offset);
        self.scaled_address(b, base, &terms, c, dt)
    }

    /// `base + esize * (sum of terms + c)` as `(at, disp)` (see [`Self::address_parts`]).
    fn scaled_address(
        &self,
        b: &mut FunctionBuilder,
        base: Value,
        terms: &[Value],
        c: i64,
        dt: DType,
    ) -> (Value, i32) {
        let size = dt.size_bytes() as i64;
        let mut at = base;
        for &t in terms {
            at = self.once_per_block(b, AddressPart::Scaled(at, t, size), |b| {
                let bytes = b.ins().imul_imm_s(t, size);
                b.ins().iadd(at, bytes)
            });
        }
        match i32::try_from(c * size) {
            Ok(disp) => (at, disp),
            Err(_) => (b.ins().iadd_imm_s(at, c * size), 0),
        }
    }

    /// `x - y`, computed once per block.
    fn difference(&self, b: &mut FunctionBuilder, x: Value, y: Value) -> Value {
        self.once_per_block(b, AddressPart::Difference(x, y), |b| b.ins().isub(x, y))
    }

    /// The value of `part` in the current block: `emit`ted the first time.
    fn once_per_block(
        &self,
        b: &mut FunctionBuilder,
        part: AddressPart,
        emit: impl FnOnce(&mut FunctionBuilder) -> Value,
    ) -> Value {
        let block = b
            .current_block()
            .expect("addresses are computed inside a block");
        if let Some(&v) = self.k.addresses.borrow().get(&(block, part)) {
            return v;
        }
        let v = emit(b);
        self.k.addresses.borrow_mut().insert((block, part), v);
        v
    }

    /// An integer index value as i64, clamped into `[0, hi]`.
    fn clamped_index(&self, b: &mut FunctionBuilder, v: Val, dt: DType, hi: i64) -> Value {
        let Val::S(v) = v else {
            unreachable!("dynamic indices are uniform in vector code")
        };
        let hi = b.ins().iconst(types::I64, hi.max(0));
        if dt == DType::U64 {
            // Unsigned: only the upper bound applies (a signed test would read 2^63 as < 0).
            return b.ins().umin(v, hi);
        }
        let w = super::ops::convert_scalar(b, v, dt, DType::I64);
        let zero = b.ins().iconst(types::I64, 0);
        let t = b.ins().smax(w, zero);
        b.ins().smin(t, hi)
    }

    /// `off + clamp(v, 0, hi) * stride`: a dynamic index term added to an element offset.
    fn add_index_term(
        &self,
        b: &mut FunctionBuilder,
        off: Value,
        (v, dt): (Val, DType),
        hi: i64,
        stride: i64,
    ) -> Value {
        let i = self.clamped_index(b, v, dt, hi);
        let t = b.ins().imul_imm_s(i, stride);
        b.ins().iadd(off, t)
    }

    /// Load an element of node `x` (one with a buffer) at element offset `off`.
    fn load_at(&self, b: &mut FunctionBuilder, x: NodeId, off: Value, vector: bool) -> Val {
        let dt = self.dt(x);
        let buf = self
            .cx
            .plan
            .buf_of(x)
            .expect("operands read in place have buffers");
        let addr = self.address_parts(b, self.base(buf), off, dt);
        self.load_disp(b, addr, dt, vector)
    }

    fn load(&self, b: &mut FunctionBuilder, addr: Value, dt: DType, vector: bool) -> Val {
        self.load_disp(b, (addr, 0), dt, vector)
    }

    /// Load from `at + disp`.
    fn load_disp(
        &self,
        b: &mut FunctionBuilder,
        (at, disp): (Value, i32),
        dt: DType,
        vector: bool,
    ) -> Val {
        if vector {
            Val::V(b.ins().load(vty(dt, self.k.lanes), flags(), at, disp))
        } else {
            Val::S(b.ins().load(sty(dt), flags(), at, disp))
        }
    }

    // ----- vector bodies and scalar tails ---------------------------------------------------

    /// One vector step of the innermost group `gi` from element `i`: its `UNROLL` copies, the
    /// `u`-th at `i + u * lanes` (the schedule's lanes), each running `body(u, carried)`.
    fn unrolled(
        &mut self,
        b: &mut FunctionBuilder,
        gi: usize,
        i: Value,
        carried: Vec<Value>,
        body: &mut CopyBody<Self>,
    ) -> Result<Vec<Value>> {
        self.unrolled_by(b, gi, i, self.k.unroll, carried, body)
    }

    /// [`Self::unrolled`] with `copies` copies.
    fn unrolled_by(
        &mut self,
        b: &mut FunctionBuilder,
        gi: usize,
        i: Value,
        copies: usize,
        mut carried: Vec<Value>,
        body: &mut CopyBody<Self>,
    ) -> Result<Vec<Value>> {
        let lanes = self.k.s.lanes;
        self.k.lanes = lanes;
        self.k.cache.clear();
        for u in 0..copies {
            self.k.copy = u as u8;
            let du = u as i64 * lanes as i64;
            let iu = match iconst_of(b, i) {
                Some(k) => b.ins().iconst(types::I64, k + du),
                None if u == 0 => i,
                None => b.ins().iadd_imm_s(i, du),
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
    fn vector_then_scalar(
        &mut self,
        b: &mut FunctionBuilder,
        gi: usize,
        ext: i64,
        carried: Vec<Value>,
        body: &mut CopyBody<Self>,
        tail: &mut TailBody<Self>,
    ) -> Result<Vec<Value>> {
        self.vectors_then_scalar(b, gi, ext, (carried, false), body, tail)
    }

    /// [`Self::vector_then_scalar`] for a `Map` kernel's elementwise body (no carried
    /// values, every element independent of the others): the whole vectors left after the
    /// last step run as single copies of the body, straight-line, so that the scalar tail
    /// (a loop) covers only the elements short of a vector. The same operations on the same
    /// elements, so the same values.
    fn elementwise_then_scalar(
        &mut self,
        b: &mut FunctionBuilder,
        gi: usize,
        ext: i64,
        body: &mut CopyBody<Self>,
        tail: &mut TailBody<Self>,
    ) -> Result<()> {
        self.vectors_then_scalar(b, gi, ext, (vec![], true), body, tail)?;
        Ok(())
    }

    /// [`Self::vector_then_scalar`], with the left-over whole vectors as single copies when
    /// `independent` (see [`Self::elementwise_then_scalar`]).
    fn vectors_then_scalar(
        &mut self,
        b: &mut FunctionBuilder,
        gi: usize,
        ext: i64,
        (mut carried, independent): (Vec<Value>, bool),
        body: &mut CopyBody<Self>,
        tail: &mut TailBody<Self>,
    ) -> Result<Vec<Value>> {
        let lanes = self.k.s.lanes as i64;
        let step = lanes * self.k.unroll as i64;
        let nv = if lanes > 1 { ext / step * step } else { 0 };
        carried = self.vector_steps(b, gi, (None, 0), nv, carried, body)?;
        let whole = if lanes > 1 && independent {
            (ext - nv) / lanes
        } else {
            0
        };
        if whole > 0 {
            let i = b.ins().iconst(types::I64, nv);
            carried = self.unrolled_by(b, gi, i, whole as usize, carried, body)?;
        }
        for_range(
            self,
            b,
            nv + whole * lanes,
            ext,
            1,
            carried,
            &mut |s, b, i, cs| {
                s.scalar_at(gi, i);
                tail(s, b, cs)
            },
        )
    }

    /// The vector steps ([`Self::unrolled`]) of the innermost group `gi` over `len` elements
    /// (a multiple of the step) from `start + off` (`start` a run-time value, or 0): a loop,
    /// or, for a short loop carrying no values (a `Map` kernel's), straight-line code: the
    /// same steps one after the other, each in a block of its own (so that Cranelift
    /// rematerialises the constants per step instead of keeping them all live; the jumps
    /// fall through). Straight-line steps read at constant offsets from the enclosing loop's
    /// addresses, without the inner loop's counter, compare and branch. (A reduction keeps
    /// its loop: unrolled, the pure adds of every step would be placed after all the steps'
    /// loads, which then spill.) The operations and their order are those of the loop.
    fn vector_steps(
        &mut self,
        b: &mut FunctionBuilder,
        gi: usize,
        (start, off): (Option<Value>, i64),
        len: i64,
        carried: Vec<Value>,
        body: &mut CopyBody<Self>,
    ) -> Result<Vec<Value>> {
        let step = self.k.s.lanes as i64 * self.k.unroll as i64;
        let at = |b: &mut FunctionBuilder, i: Value| match start {
            Some(s) => b.ins().iadd(s, i),
            None => i,
        };
        if len <= 0 {
            return Ok(carried);
        }
        if len > STRAIGHT_STEPS * step || !carried.is_empty() || self.long_body() {
            return for_range(
                self,
                b,
                off,
                off + len,
                step,
                carried,
                &mut |s, b, i, cs| {
                    let i = at(b, i);
                    s.unrolled(b, gi, i, cs, body)
                },
            );
        }
        for k in 0..len / step {
            if k > 0 {
                let next = b.create_block();
                b.ins().jump(next, &[]);
                b.switch_to_block(next);
            }
            let c = b.ins().iconst(types::I64, off + k * step);
            let i = at(b, c);
            self.unrolled(b, gi, i, vec![], body)?;
        }
        Ok(vec![])
    }
}

impl Emitter<'_, '_> {
    /// Is the kernel's body long: more than `STRAIGHT_BODY` computed expressions, or an
    /// expensive function (`tanh`, `exp`, a division, ...)? Then a loop's overhead hardly
    /// shows, and straight-line copies of the body would only cost compile time.
    fn long_body(&self) -> bool {
        let g = self.g();
        let s = self.k.s;
        s.computed() > STRAIGHT_BODY
            || s.exprs
                .iter()
                .any(|(&(n, _), ops)| ops.is_some() && is_expensive(&g.nodes[n].kind))
    }
}

/// The longest innermost loop of a long `Map` body (see [`Emitter::long_body`]) emitted with
/// one copy per vector step instead of `UNROLL`: its run time hardly shows next to compiling
/// four copies of the body (and a scalar tail, when the extent is a multiple of the lanes but
/// not of the unrolled step), and the elements are independent, so the results are the same.
pub(super) const SHORT_EXTENT: i64 = 128;

/// The most vector steps a short innermost loop emits as straight-line code (see
/// [`Emitter::vector_steps`]): 64 f32 elements at 4 lanes, unrolled 4 times.
const STRAIGHT_STEPS: i64 = 4;

/// The most computed expressions a kernel emitted as straight-line steps has (see
/// [`Emitter::long_body`]).
const STRAIGHT_BODY: usize = 8;

/// The constant `v` is, if an `iconst` defines it.
fn iconst_of(b: &FunctionBuilder, v: Value) -> Option<i64> {
    let inst = b.func.dfg.value_def(v).inst()?;
    match b.func.dfg.insts[inst] {
        InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm,
        } => Some(imm.bits()),
        _ => None,
    }
}

/// `(x, c)` when `v` is `iadd x, c` for a constant `c`.
fn plus_const(b: &FunctionBuilder, v: Value) -> Option<(Value, i64)> {
    let inst = b.func.dfg.value_def(v).inst()?;
    match b.func.dfg.insts[inst] {
        InstructionData::Binary {
            opcode: Opcode::Iadd,
            args: [x, y],
        } => Some((x, iconst_of(b, y)?)),
        _ => None,
    }
}

/// `v` as a sum of terms and a constant, looking through the `iadd`s that define it (a few
/// levels deep, leftmost term first).
fn sum_terms(b: &FunctionBuilder, v: Value) -> (Vec<Value>, i64) {
    fn walk(b: &FunctionBuilder, v: Value, depth: u8, terms: &mut Vec<Value>, c: &mut i64) {
        if let Some(k) = iconst_of(b, v) {
            *c += k;
            return;
        }
        if depth > 0 {
            if let Some(inst) = b.func.dfg.value_def(v).inst() {
                if let InstructionData::Binary {
                    opcode: Opcode::Iadd,
                    args: [x, y],
                } = b.func.dfg.insts[inst]
                {
                    walk(b, x, depth - 1, terms, c);
                    walk(b, y, depth - 1, terms, c);
                    return;
                }
            }
        }
        terms.push(v);
    }
    let (mut terms, mut c) = (Vec::new(), 0);
    walk(b, v, 4, &mut terms, &mut c);
    (terms, c)
}

fn val_raw(v: Val) -> Value {
    match v {
        Val::S(x) | Val::V(x) => x,
    }
}
