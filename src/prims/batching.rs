//! The batching toolkit shared by the primitives' batching rules and the `vmap` interpreter:
//! moving a batch axis, taking one example out of a batch, and the per-example loop for rules
//! without a vectorised form (JAX's `batching.bdim_at_front`, `index_in_dim`).

use super::{BatchOut, Prim};
use crate::array::Array;
use crate::core::error::Result;
use crate::core::trace::bind;
use crate::lax;

/// Move the batch dimension to the front (broadcasting an unbatched operand).
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
