//! `Map` kernels over a two-valued constant (`Schedule::two_valued`, e.g. the identity basis
//! of `jacfwd` and `hessian`): before the innermost loop, each output is computed once per
//! distinct element of the constant, in scalar code at the outer loops' index; the loop then
//! only loads the constant, compares its bits with the first distinct element's and stores the
//! matching value (vector steps, the whole vectors left, then a scalar tail, as every `Map`
//! kernel's innermost loop).

use super::{flags, val_raw, Cached, Emitter};
use crate::backend::graph::NodeId;
use crate::backend::ops::{sconst, sty, vty, Val};
use crate::backend::plan::Out;
use crate::backend::schedule::{MapId, TwoValued};
use crate::core::error::{Error, Result};
use crate::dtype::{DType, Scalar};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, Block, InstBuilder, StackSlot, StackSlotData, StackSlotKind, Type, Value,
};
use cranelift_frontend::FunctionBuilder;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;

/// The outputs of a two-valued kernel and their values at each distinct element.
pub(super) struct Selected<'o> {
    outs: &'o [Out],
    dyn_maps: &'o [Vec<MapId>],
    tv: &'o TwoValued,
    /// The stored outputs (indices into `outs`).
    stored: Vec<usize>,
    /// Each stored output's value at each distinct element (the first element's for every
    /// output, then the second's), one 16-byte vector each.
    slot: StackSlot,
    /// Per block: the values loaded from `slot` (by type and position), and the splat first
    /// element (position `usize::MAX`).
    loaded: RefCell<FxHashMap<(Block, Type, usize), Value>>,
}

/// The integer type holding the bits of a `dt` element (`lanes` of them when above 1).
fn bits_type(dt: DType, lanes: u8) -> Type {
    let lane = if dt.size_bytes() == 8 {
        types::I64
    } else {
        types::I32
    };
    if lanes > 1 {
        lane.by(lanes as u32).expect("a vector type")
    } else {
        lane
    }
}

impl Emitter<'_, '_> {
    /// The innermost group `gi` (of `ext` elements) of a two-valued kernel.
    pub(super) fn two_valued_loop(
        &mut self,
        b: &mut FunctionBuilder,
        (outs, out_maps, dyn_maps): (&[Out], &[MapId], &[Vec<MapId>]),
        gi: usize,
        ext: i64,
        tv: &TwoValued,
    ) -> Result<()> {
        let dt = self.dt(tv.node);
        let mut values = Vec::with_capacity(tv.bits.len());
        self.k.lanes = 1;
        self.k.copy = 0;
        self.k.cache.clear();
        for (d, &bits) in tv.bits.iter().enumerate() {
            if d > 0 {
                // What does not read the constant is the same at every distinct element.
                let varying = self.reads_constant(tv);
                self.k
                    .cache
                    .retain(|&(n, m, _), _| !varying.contains(&(n, m)));
            }
            let c = sconst(b, Scalar::from_bits(bits, dt));
            let key = self.k.key(tv.node, tv.map);
            self.k.cache.insert(key, Cached::One(Val::S(c)));
            let mut row = Vec::new();
            for (k, o) in outs.iter().enumerate().filter(|(_, o)| o.store) {
                match self.eval(b, o.node, out_maps[k])? {
                    Val::S(v) => row.push((k, v)),
                    Val::V(_) => {
                        return Err(Error::Jit(
                            "internal: a two-valued kernel's output varies along its loop".into(),
                        ))
                    }
                }
            }
            values.push(row);
        }
        // The values reach the loop through a stack slot (as vectors, lane 0 first): values
        // computed before it, carried in registers or block parameters, would be sunk into
        // the loop body by Cranelift (its constants are rematerialised at each use, so the
        // chains using them look computed in the loop) and recomputed at every step.
        let lanes = self.k.s.lanes;
        let stored: Vec<usize> = values[0].iter().map(|&(k, _)| k).collect();
        let slot = b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (16 * stored.len() * values.len()) as u32,
            4,
        ));
        for (i, &(k, v)) in values.iter().flatten().enumerate() {
            let v = b.ins().splat(vty(self.dt(outs[k].node), lanes), v);
            b.ins().stack_store(types::I64, v, slot, 16 * i as i32);
        }
        let sel = Selected {
            outs,
            dyn_maps,
            tv,
            stored,
            slot,
            loaded: RefCell::default(),
        };
        self.elementwise_then_scalar(
            b,
            gi,
            ext,
            &mut |s, b, _, _| s.select_step(b, &sel).map(|()| vec![]),
            &mut |s, b, _| s.select_step(b, &sel).map(|()| vec![]),
        )
    }

    /// The (node, map) pairs in the cache whose value reads the two-valued constant.
    fn reads_constant(&self, tv: &TwoValued) -> FxHashSet<(NodeId, MapId)> {
        // Operands have smaller ids than the nodes reading them.
        let mut keys: Vec<(NodeId, MapId)> = self.k.cache.keys().map(|&(n, m, _)| (n, m)).collect();
        keys.sort_unstable();
        let mut varying = FxHashSet::default();
        for key in keys {
            let reads = key == (tv.node, tv.map)
                || self.k.s.exprs[&key]
                    .as_ref()
                    .is_some_and(|ops| ops.iter().any(|o| varying.contains(o)));
            if reads {
                varying.insert(key);
            }
        }
        varying
    }

    /// One step (a vector, or one element in the tail) of a two-valued kernel's loop.
    fn select_step(&mut self, b: &mut FunctionBuilder, sel: &Selected) -> Result<()> {
        let lanes = self.k.lanes;
        let vector = lanes > 1;
        let dt = self.dt(sel.tv.node);
        // Is the element the first distinct one (bit for bit)?
        let (no, nd) = (sel.stored.len(), sel.tv.bits.len());
        // The selected values and the compared bits are loaded and built once per block.
        let block = b.current_block().expect("steps are emitted inside a block");
        let at = |b: &mut FunctionBuilder, ty: Type, d: usize, j: usize| {
            *sel.loaded
                .borrow_mut()
                .entry((block, ty, d * no + j))
                .or_insert_with(|| {
                    b.ins()
                        .stack_load(types::I64, ty, sel.slot, 16 * (d * no + j) as i32)
                })
        };
        let first = match nd {
            1 => None,
            _ => {
                let d = val_raw(self.eval(b, sel.tv.node, sel.tv.map)?);
                let ity = bits_type(dt, lanes);
                let d = if b.func.dfg.value_type(d) == ity {
                    d
                } else {
                    b.ins().bitcast(ity, crate::backend::ops::le(), d)
                };
                let lane = bits_type(dt, 1);
                let bits = sel.tv.bits[0] as i64;
                Some(if vector {
                    let c = *sel
                        .loaded
                        .borrow_mut()
                        .entry((block, ity, usize::MAX))
                        .or_insert_with(|| {
                            let c = b.ins().iconst(lane, bits);
                            b.ins().splat(ity, c)
                        });
                    b.ins().icmp(IntCC::Equal, d, c)
                } else {
                    b.ins().icmp_imm_u(IntCC::Equal, d, bits)
                })
            }
        };
        for (j, &k) in sel.stored.iter().enumerate() {
            let o = &sel.outs[k];
            let odt = self.dt(o.node);
            let ty = if vector { vty(odt, lanes) } else { sty(odt) };
            let x = at(b, ty, 0, j);
            let v = match first {
                None => x,
                Some(m) => {
                    let y = at(b, ty, 1, j);
                    if vector {
                        let ty = vty(odt, lanes);
                        let m = if b.func.dfg.value_type(m) == ty {
                            m
                        } else {
                            b.ins().bitcast(ty, crate::backend::ops::le(), m)
                        };
                        b.ins().bitselect(m, x, y)
                    } else {
                        b.ins().select(m, x, y)
                    }
                }
            };
            let (addr, disp) = self.dest_address(b, &o.dest, &sel.dyn_maps[k], odt)?;
            b.ins().store(flags(), v, addr, disp);
        }
        Ok(())
    }
}
