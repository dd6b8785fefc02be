//! `jax.random.multinomial`: counts of `n` trials over the outcomes along `p`'s last axis, as
//! JAX draws them: one `binomial` per outcome in a `scan`, each the count of the trials still
//! left that fall on this outcome rather than a later one.

use super::{binomial, check_key, constant, split, Param};
use crate::api::control::scan;
use crate::array::Array;
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::DType;
use crate::lax;

/// Multinomial counts (of `dtype`) of `n` trials with outcome probabilities `p` along its last
/// axis. `shape` is the whole result shape, outcomes last (JAX 0.10's code, whose docstring says
/// otherwise); it defaults to `p.shape`, and `n` broadcasts to `shape[:-1]`. `n` and `p` are
/// computed in their promoted float type (f32 unless either is f64). For each outcome `i` in
/// turn, with the remaining probability `r_i = p_i + ... + p_last`, the count is
/// `binomial(key_i, remaining trials, p_i / r_i)` (`keys = split(key, outcomes)`), as JAX's scan.
///
/// # Errors
/// A malformed key, a `p` without an outcome axis, or `n` and `p` that do not broadcast to
/// `shape`.
pub fn multinomial(
    key: &Array,
    n: impl Param,
    p: &Array,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("multinomial", key)?;
    // promote_dtypes_inexact(n, p).
    let float = if [p.dtype(), n.own_dtype()].contains(&DType::F64) {
        DType::F64
    } else {
        DType::F32
    };
    let shape = shape.unwrap_or(p.shape()).to_vec();
    let Some((&outcomes, batch)) = shape.split_last() else {
        return Err(Error::value_err(format!(
            "multinomial: p must have an outcome axis, got p of shape {} and shape {}",
            shape_str(p.shape()),
            shape_str(&shape)
        )));
    };
    let broadcast = |x: &Array, to: &[usize], what: &str| {
        lax::broadcast_to_rank(x, to).map_err(|_| {
            Error::value_err(format!(
                "multinomial: {what} of shape {} does not broadcast to shape {}",
                shape_str(x.shape()),
                shape_str(to)
            ))
        })
    };
    let n = broadcast(&n.to_dtype(float)?, batch, "n")?;
    let p = broadcast(&lax::convert_element_type(p, float)?, &shape, "p")?;
    let p = lax::moveaxis(&p, shape.len() - 1, 0)?;
    let remaining = lax::cumsum(&p, 0, true)?;
    let zero = lax::eq(&remaining, &constant(0.0, float))?;
    let ones = lax::broadcast_to_rank(&constant(1.0, float), remaining.shape())?;
    let ratios = lax::div(&p, &lax::select(&zero, &ones, &remaining)?)?;
    let keys = split(key, outcomes)?;
    let step = |left: &Array, (ratio, key): &(Array, Array)| -> Result<(Array, Array)> {
        let ratio = lax::min(
            &lax::max(ratio, &constant(0.0, float))?,
            &constant(1.0, float),
        )?;
        let count = binomial(key, left, &ratio, None, float)?;
        Ok((lax::sub(left, &count)?, count))
    };
    let (_, counts) = scan(step, n, (ratios, keys))?;
    let counts = lax::moveaxis(&counts, 0, shape.len() - 1)?;
    lax::convert_element_type(&counts, dtype)
}
