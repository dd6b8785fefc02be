//! Inline expressions: the value of a node at an index map, computed from its operands as the
//! schedule says (loaded from a buffer, or computed by `ops`), shared within one loop body
//! (cached per node, map and unroll copy).

use super::{Cached, Emitter};
use crate::backend::graph::{is_view, Kind, NodeId};
use crate::backend::index::{self, Aff};
use crate::backend::ops::{self, sconst, Val};
use crate::backend::schedule::MapId;
use crate::core::error::{Error, Result};
use crate::dtype::DType;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;

/// An evaluation task: a node at a map, with its operands once they have been pushed.
type Task<'a> = (NodeId, MapId, Option<&'a [(NodeId, MapId)]>);

impl Emitter<'_, '_> {
    /// The element offset at which a leaf (a node read from its buffer) is read at map `m`,
    /// as a function of the loop variables.
    pub(super) fn leaf_form(&self, n: NodeId, m: MapId) -> Aff {
        let plan = self.cx.plan;
        index::linear(
            &self.k.s.maps[m as usize],
            &plan.load_strides(self.g(), n),
            self.k.nl,
        )
    }

    /// The base address a leaf is read from (its buffer, or its relaid copy).
    pub(super) fn leaf_base(&mut self, b: &mut FunctionBuilder, n: NodeId) -> Result<Value> {
        let node = &self.g().nodes[n];
        let buf = self.cx.plan.buf_of(n).ok_or_else(|| {
            Error::Jit(format!(
                "internal: node {n} ({:?}) has no buffer",
                node.kind
            ))
        })?;
        Ok(match self.cx.plan.relaid.get(&n) {
            Some(r) => {
                let gv = self.cx.consts[&(r.data.data.as_ptr() as usize)];
                self.symbol(b, gv)
            }
            None => self.base(buf),
        })
    }

    fn leaf(&mut self, b: &mut FunctionBuilder, n: NodeId, m: MapId) -> Result<Val> {
        let base = self.leaf_base(b, n)?;
        let form = self.leaf_form(n, m);
        let dt = self.dt(n);
        let addr = self.form_address(b, base, &form, dt);
        let vector = self.k.lanes > 1 && !self.k.s.uniform(m);
        Ok(self.load_disp(b, addr, dt, vector))
    }

    pub(super) fn eval(&mut self, b: &mut FunctionBuilder, n: NodeId, m: MapId) -> Result<Val> {
        match self.eval_cached(b, n, m)? {
            Cached::One(v) => Ok(v),
            Cached::Two(..) => unreachable!("multi-output nodes are read through Proj"),
        }
    }

    fn eval_cached(&mut self, b: &mut FunctionBuilder, n: NodeId, m: MapId) -> Result<Cached> {
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
                None if self.k.ready.contains_key(&(n, m)) => Cached::One(
                    self.block_value(b, n, m)
                        .expect("a computed block pair has a buffer"),
                ),
                None => match &s.exprs[&(n, m)] {
                    None => Cached::One(self.leaf(b, n, m)?),
                    Some(ch) => {
                        let pending: Vec<(NodeId, MapId)> = ch
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
                    self.emit_node(b, n, m, &vals)?
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
        m: MapId,
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
            Kind::WideFma(_) => ops::wide_fma(b, vs[0], vs[1], vs[2]),
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
            kind if is_view(kind) => vs[0],
            Kind::DynSlice { x, starts } => {
                let xn = &g.nodes[*x];
                let strides = index::row_strides(&xn.shape);
                let form = index::linear(&self.k.s.maps[m as usize], &strides, self.k.nl);
                let mut off = self.form(b, &form);
                for (d, &s) in starts.iter().enumerate() {
                    let hi = (xn.shape[d] - node.shape[d]) as i64;
                    off = self.add_index_term(b, off, (vs[d], self.dt(s)), hi, strides[d]);
                }
                let vector = self.k.lanes > 1 && !self.k.s.uniform(m);
                self.load_at(b, *x, off, vector)
            }
            Kind::Gather { axis, x, idx } => {
                let xn = &g.nodes[*x];
                let ni = g.nodes[*idx].shape.len();
                let strides = index::row_strides(&xn.shape);
                let map = &self.k.s.maps[m as usize];
                let form = index::gather_offset(map, &xn.shape, ni, *axis, self.k.nl);
                let off = self.form(b, &form);
                let hi = xn.shape[*axis] as i64 - 1;
                let index = (vs[0], self.dt(*idx));
                let off = self.add_index_term(b, off, index, hi, strides[*axis]);
                let vector = self.k.lanes > 1 && !self.k.s.aff_uniform(&form);
                self.load_at(b, *x, off, vector)
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
            // The loop index is an i64: converted as `convert_element_type` would.
            return Val::S(ops::convert_scalar(b, base, DType::I64, dt));
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
}
