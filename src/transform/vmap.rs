//! `vmap`: an interpreter whose tracers carry a batch of values and the axis it is stacked on.
//! Each primitive's batching rule moves the batch axis instead of looping.

use super::subjaxpr::Transforms;
use crate::array::{Array, Repr};
use crate::core::error::{Error, Result};
use crate::core::trace::{
    self, bind, check_outer, with_interpreter, Interpreter, Payload, Tag, Tracer,
};
use crate::ir::env::interpret_annotated;
use crate::ir::ClosedJaxpr;
use crate::lax;
use crate::prims::batching::bdim_to_front;
use crate::prims::{BatchOut, Prim};
use std::rc::Rc;

pub struct BatchInterp {
    tag: Tag,
    parent: Option<Rc<dyn Interpreter>>,
    size: usize,
}

impl std::fmt::Debug for BatchInterp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchInterp")
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

impl BatchInterp {
    fn wrap(&self, val: Array, bdim: Option<usize>) -> Array {
        match bdim {
            None => val,
            Some(bdim) => {
                let mut aval = val.aval().clone();
                aval.shape.remove(bdim);
                Array::from_tracer(Tracer {
                    tag: self.tag,
                    aval,
                    payload: Payload::Batched { val, bdim },
                })
            }
        }
    }

    fn unpack(&self, x: &Array) -> Result<(Array, Option<usize>)> {
        if let Repr::Tracer(t) = &x.repr {
            if t.tag == self.tag {
                if let Payload::Batched { val, bdim } = &t.payload {
                    return Ok((val.clone(), Some(*bdim)));
                }
            }
        }
        check_outer(x, self.tag, &self.parent)?;
        Ok((x.clone(), None))
    }
}

impl Interpreter for BatchInterp {
    fn tag(&self) -> Tag {
        self.tag
    }

    fn parent(&self) -> Option<Rc<dyn Interpreter>> {
        self.parent.clone()
    }

    fn name(&self) -> &'static str {
        "vmap"
    }

    fn process(&self, prim: &Prim, args: &[Array]) -> Result<Vec<Array>> {
        let (vals, dims): (Vec<Array>, Vec<Option<usize>>) = args
            .iter()
            .map(|a| self.unpack(a))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        if dims.iter().all(|d| d.is_none()) {
            return with_interpreter(self.parent.clone(), || bind(prim.clone(), &vals));
        }
        let (outs, odims) = with_interpreter(self.parent.clone(), || {
            prim.batch(&vals, &dims, self.size, &Transforms)
        })?;
        Ok(outs
            .into_iter()
            .zip(odims)
            .map(|(v, d)| self.wrap(v, d))
            .collect())
    }
}

/// `vmap` on flat lists. `in_axes[i]`: the axis of argument `i` to map over (`None`: shared by
/// every example); `out_axes[j]`: where the batch axis goes in output `j`.
pub fn vmap_flat(
    f: &dyn Fn(&[Array]) -> Result<Vec<Array>>,
    args: &[Array],
    in_axes: &[Option<usize>],
    out_axes: &dyn Fn(usize) -> Option<usize>,
    axis_size: Option<usize>,
) -> Result<Vec<Array>> {
    let mut size = axis_size;
    for (i, (a, ax)) in args.iter().zip(in_axes).enumerate() {
        let Some(ax) = ax else { continue };
        if *ax >= a.ndim() {
            return Err(Error::value_err(format!(
                "vmap was requested to map its argument along axis {ax}, which implies that its rank should be at least {}, but is only {} (its shape is {}); argument {i}",
                ax + 1,
                a.ndim(),
                crate::core::error::shape_str(a.shape())
            )));
        }
        let n = a.shape()[*ax];
        match size {
            None => size = Some(n),
            Some(s) if s != n => {
                let sizes: Vec<String> = args
                    .iter()
                    .zip(in_axes)
                    .enumerate()
                    .filter_map(|(k, (a, ax))| {
                        ax.map(|ax| {
                            format!(
                                "argument {k} of shape {} has size {} along axis {ax}",
                                crate::core::error::shape_str(a.shape()),
                                a.shape()[ax]
                            )
                        })
                    })
                    .collect();
                return Err(Error::value_err(format!(
                    "vmap got inconsistent sizes for the mapped axis: {}",
                    sizes.join("; ")
                )));
            }
            _ => {}
        }
    }
    let size = size.ok_or_else(|| {
        Error::value_err(
            "vmap must have at least one non-None value in in_axes, or be given axis_size",
        )
    })?;
    let interp = Rc::new(BatchInterp {
        tag: Tag::fresh(),
        parent: trace::current(),
        size,
    });
    let ins: Vec<Array> = args
        .iter()
        .zip(in_axes)
        .map(|(a, ax)| interp.wrap(a.clone(), *ax))
        .collect();
    let dyn_interp: Rc<dyn Interpreter> = interp.clone();
    let outs = with_interpreter(Some(dyn_interp), || f(&ins))?;
    outs.iter()
        .enumerate()
        .map(|(j, o)| {
            let (val, d) = interp.unpack(o)?;
            match (out_axes(j), d) {
                (None, None) => Ok(val),
                (None, Some(_)) => Err(Error::value_err(format!(
                    "vmap has mapped output {j} but out_axes is None for it"
                ))),
                (Some(oa), d) => {
                    let rank = val.ndim() + usize::from(d.is_none());
                    if oa >= rank {
                        return Err(Error::value_err(format!(
                            "out_axes {oa} is out of range for output {j}, of rank {} once batched (shape {})",
                            rank,
                            crate::core::error::shape_str(val.shape())
                        )));
                    }
                    match d {
                        Some(d) => lax::moveaxis(&val, d, oa),
                        None => {
                            let front = bdim_to_front(&val, None, size)?;
                            lax::moveaxis(&front, 0, oa)
                        }
                    }
                }
            }
        })
        .collect()
}

/// Batch a jaxpr on explicit (value, batch dim) pairs, applying each equation's batching rule
/// in the current context (how call primitives are batched: their body inlined).
pub fn batch_eval_jaxpr(
    cj: &ClosedJaxpr,
    args: &[Array],
    dims: &[Option<usize>],
    size: usize,
) -> Result<BatchOut> {
    interpret_annotated(cj, args, dims, |prim, vals, ds| {
        prim.batch(vals, ds, size, &Transforms)
    })
}
