//! The batching toolkit shared by the primitives' batching rules and the `vmap` interpreter:
//! what a batching rule is given (`Batching`), moving a batch axis, taking one example out of a
//! batch, the broadcasting batcher of the elementwise primitives, and the per-example loop for
//! rules without a vectorised form (JAX's `batching.bdim_at_front`, `index_in_dim`,
//! `broadcast_batcher`).

use super::{BatchOut, Prim};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::Result;
use crate::core::jaxpr_transforms::JaxprTransforms;
use crate::core::trace::bind;
use crate::ir::ClosedJaxpr;
use crate::lax;

/// What a batching rule is given: the operands, their batch dimensions (`None`: unbatched),
/// the batch size, and the transformations (for a rule that stages and batches a sub-jaxpr).
pub struct Batching<'a> {
    /// The operands.
    pub args: &'a [Array],
    /// Each operand's batch dimension (`None`: not batched).
    pub dims: &'a [Option<usize>],
    /// The batch size.
    pub size: usize,
    /// The transformations, for rules that batch a sub-jaxpr.
    pub sub: &'a dyn JaxprTransforms,
}

impl std::fmt::Debug for Batching<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batching")
            .field("args", &self.args)
            .field("dims", &self.dims)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Batching<'_> {
    /// Operand `i` with its batch axis in front (broadcast if unbatched).
    ///
    /// # Errors
    /// An error of the broadcast or transpose it binds.
    pub fn front(&self, i: usize) -> Result<Array> {
        bdim_to_front(&self.args[i], self.dims[i], self.size)
    }

    /// The operands with each batched one's axis moved to the front and the unbatched ones as
    /// they are: the form `JaxprTransforms::batch_jaxpr` takes.
    ///
    /// # Errors
    /// An error of the broadcasts or transposes it binds.
    pub fn batched_in_front(&self) -> Result<Vec<Array>> {
        self.args
            .iter()
            .zip(self.dims)
            .map(|(a, &d)| match d {
                Some(_) => bdim_to_front(a, d, self.size),
                None => Ok(a.clone()),
            })
            .collect()
    }

    /// Which operands are batched.
    pub fn in_batched(&self) -> Vec<bool> {
        self.dims.iter().map(Option::is_some).collect()
    }

    /// The operand types one example sees.
    pub fn example_avals(&self) -> Vec<Aval> {
        self.args
            .iter()
            .zip(self.dims)
            .map(|(a, d)| {
                let mut aval = a.aval().clone();
                if let Some(d) = *d {
                    aval.shape.remove(d);
                }
                aval
            })
            .collect()
    }

    /// `jaxpr` batched on the inputs marked in `in_batched`, every output batched at axis 0.
    ///
    /// # Errors
    /// An error batching an equation of `jaxpr`.
    pub fn batch_jaxpr_all_out(
        &self,
        jaxpr: &ClosedJaxpr,
        in_batched: &[bool],
    ) -> Result<ClosedJaxpr> {
        let all = vec![true; jaxpr.jaxpr.outvars.len()];
        Ok(self.sub.batch_jaxpr(jaxpr, self.size, in_batched, &all)?.0)
    }
}

/// The type of one example of a value batched at axis 0.
pub fn unbatched(aval: &Aval) -> Aval {
    let mut aval = aval.clone();
    aval.shape.remove(0);
    aval
}

/// Move the batch dimension to the front (broadcasting an unbatched operand).
///
/// # Errors
/// An error of the transpose it binds.
pub fn bdim_to_front(x: &Array, d: Option<usize>, size: usize) -> Result<Array> {
    match d {
        Some(d) => lax::moveaxis(x, d, 0),
        None => {
            let mut shape = vec![size];
            shape.extend(x.shape());
            let dims: Vec<usize> = (1..=x.ndim()).collect();
            lax::broadcast_in_dim(x, &shape, &dims)
        }
    }
}

/// `x[..., i, ...]` along axis `d` (a static slice, the axis removed).
///
/// # Errors
/// An error of the slice or reshape it binds.
pub fn index_in_dim(x: &Array, i: usize, d: usize) -> Result<Array> {
    let mut start = vec![0; x.ndim()];
    let mut limit = x.shape().to_vec();
    start[d] = i;
    limit[d] = i + 1;
    let s = lax::slice(x, &start, &limit, None)?;
    lax::squeeze(&s, &[d])
}

/// The fallback for a rule without a vectorised form (today `custom_lin`, whose backward
/// pass is a user function): apply the primitive per example and stack the results.
///
/// # Errors
/// An error of the primitive applied to a slice.
pub fn batch_by_loop(
    prim: &Prim,
    args: &[Array],
    dims: &[Option<usize>],
    size: usize,
) -> Result<BatchOut> {
    let mut per_output: Vec<Vec<Array>> = Vec::new();
    for b in 0..size {
        let example: Vec<Array> = args
            .iter()
            .zip(dims)
            .map(|(a, d)| match d {
                None => Ok(a.clone()),
                Some(d) => index_in_dim(a, b, *d),
            })
            .collect::<Result<_>>()?;
        let outs = bind(prim.clone(), &example)?;
        if per_output.is_empty() {
            per_output = vec![Vec::with_capacity(size); outs.len()];
        }
        for (k, o) in outs.into_iter().enumerate() {
            per_output[k].push(lax::expand_dims(&o, 0)?);
        }
    }
    let outs: Vec<Array> = per_output
        .iter()
        .map(|xs| lax::concatenate(xs, 0))
        .collect::<Result<_>>()?;
    let n = outs.len();
    Ok((outs, vec![Some(0); n]))
}

/// JAX's `broadcast_batcher`: if the batched operands agree in shape and batch dimension and
/// the rest are scalars, bind directly (a scalar literal stays a scalar); otherwise move every
/// batch dimension to the front and broadcast the unbatched operands.
///
/// # Errors
/// An error of the primitive or the broadcasts it binds.
pub fn broadcast_batcher(prim: &Prim, args: &[Array], dims: &[Option<usize>]) -> Result<BatchOut> {
    batch_elementwise(prim, args, dims, &|_| true)
}

/// The broadcast batcher, with `may_stay_scalar(i)` saying whether an unbatched rank-0
/// operand `i` can stay a scalar (true for lax's elementwise ops; for `select_n` only the
/// predicate, since its cases must share one shape).
///
/// # Errors
/// An error of the primitive or the broadcasts it binds.
pub fn batch_elementwise(
    prim: &Prim,
    args: &[Array],
    dims: &[Option<usize>],
    may_stay_scalar: &dyn Fn(usize) -> bool,
) -> Result<BatchOut> {
    let (first, first_dim) = args
        .iter()
        .zip(dims)
        .find_map(|(x, d)| d.map(|d| (x, d)))
        .expect("a batching rule runs only with a batched operand");
    let agree = args
        .iter()
        .zip(dims)
        .enumerate()
        .all(|(i, (x, d))| match d {
            Some(d) => *d == first_dim && x.shape() == first.shape(),
            None => x.ndim() == 0 && may_stay_scalar(i),
        });
    if agree {
        let outs = bind(prim.clone(), args)?;
        let n = outs.len();
        return Ok((outs, vec![Some(first_dim); n]));
    }
    let size = first.shape()[first_dim];
    // The per-example output shape: the common non-scalar per-example shape.
    let per_example: Vec<Vec<usize>> = args
        .iter()
        .zip(dims)
        .map(|(x, d)| {
            let mut s = x.shape().to_vec();
            if let Some(d) = d {
                s.remove(*d);
            }
            s
        })
        .collect();
    let out_shape = per_example
        .iter()
        .find(|s| !s.is_empty())
        .cloned()
        .unwrap_or_default();
    let mut full = vec![size];
    full.extend(&out_shape);
    let mut moved = Vec::with_capacity(args.len());
    for (i, ((x, d), pe)) in args.iter().zip(dims).zip(&per_example).enumerate() {
        moved.push(match d {
            Some(d) => {
                let x = lax::moveaxis(x, *d, 0)?;
                if pe.is_empty() && !out_shape.is_empty() {
                    lax::broadcast_in_dim(&x, &full, &[0])?
                } else {
                    x
                }
            }
            None if x.ndim() == 0 && may_stay_scalar(i) => x.clone(),
            None => {
                let dims: Vec<usize> = (1..=x.ndim()).collect();
                lax::broadcast_in_dim(x, &full, &dims)?
            }
        });
    }
    let outs = bind(prim.clone(), &moved)?;
    let n = outs.len();
    Ok((outs, vec![Some(0); n]))
}
