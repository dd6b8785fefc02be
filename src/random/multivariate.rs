//! `jax.random`'s samplers built on linear algebra and on indexing: `multivariate_normal`
//! (a Cholesky, eigh or SVD factor of the covariance times standard normals), `orthogonal`
//! (the QR of a normal matrix with JAX's sign correction), and `choice` with probabilities
//! `p` or from the rows of an array (`choice_p`, `choice_array`). JAX 0.10's algorithms; the
//! decompositions are cranax's (faer's), so these draws agree with JAX's to rounding, not bit
//! for bit (docs/PRNG.md).

use super::{check_float, check_i32, check_key, constant, normal, permutation, randint, uniform};
use crate::array::Array;
use crate::core::error::{catch, shape_str, Error, Result};
use crate::dtype::DType;
use crate::lax;
use crate::numpy as jnp;

/// Normal vectors with `mean` (`[..., n]`) and covariance `cov` (`[..., n, n]`), of shape
/// `shape + (n,)` (`shape` defaults to the broadcast batch shape of `mean` and `cov`):
/// `mean + factor z` for standard normals `z`, where `factor` is `cholesky(cov)`
/// (`method = "cholesky"`), `v sqrt(w)` of `eigh(cov)` (`"eigh"`) or `u sqrt(s)` of
/// `svd(cov)` (`"svd"`).
///
/// # Errors
/// A malformed key, a non-float dtype, an unknown method, `mean` of rank 0, `cov` of rank
/// below 2 or not `[..., n, n]`, or batch shapes that do not broadcast to `shape`.
pub fn multivariate_normal(
    key: &Array,
    mean: &Array,
    cov: &Array,
    shape: Option<&[usize]>,
    dtype: DType,
    method: &str,
) -> Result<Array> {
    check_key("multivariate_normal", key)?;
    check_float("multivariate_normal", dtype)?;
    if !["svd", "eigh", "cholesky"].contains(&method) {
        return Err(Error::value_err(
            "method must be one of {'svd', 'eigh', 'cholesky'}",
        ));
    }
    if mean.ndim() == 0 {
        return Err(Error::value_err(
            "multivariate_normal requires mean.ndim >= 1, got mean.ndim == 0",
        ));
    }
    if cov.ndim() < 2 {
        return Err(Error::value_err(format!(
            "multivariate_normal requires cov.ndim >= 2, got cov.ndim == {}",
            cov.ndim()
        )));
    }
    let n = mean.shape()[mean.ndim() - 1];
    let (cov_batch, cov_mat) = cov.shape().split_at(cov.ndim() - 2);
    if cov_mat != [n, n] {
        return Err(Error::value_err(format!(
            "multivariate_normal requires cov.shape == (..., n, n) for n={n}, but got \
             cov.shape == {}.",
            shape_str(cov.shape())
        )));
    }
    let mean_batch = &mean.shape()[..mean.ndim() - 1];
    let joint = jnp::broadcast_shapes("normal", &[mean_batch, cov_batch])?;
    let shape = match shape {
        None => joint,
        Some(s) => {
            let all = jnp::broadcast_shapes("normal", &[s, mean_batch, cov_batch])?;
            if all != s {
                return Err(Error::value_err(format!(
                    "normal parameter shapes must be broadcast-compatible with shape argument, \
                     and the result of broadcasting the shapes must equal the shape argument, \
                     but got result {} for shape argument {}.",
                    shape_str(&all),
                    shape_str(s)
                )));
            }
            s.to_vec()
        }
    };
    let (mean, cov) = (
        lax::convert_element_type(mean, dtype)?,
        lax::convert_element_type(cov, dtype)?,
    );
    let factor = match method {
        "svd" => {
            let opts = lax::linalg::SvdOptions::default();
            let (u, s, _) = lax::linalg::svd(&cov, &opts)?;
            scale_columns(&u, &lax::sqrt(&s)?)?
        }
        "eigh" => {
            let (w, v) = catch(|| Ok(jnp::linalg::eigh(&cov, None, true)))?;
            scale_columns(&v, &lax::sqrt(&w)?)?
        }
        _ => catch(|| Ok(jnp::linalg::cholesky(&cov)))?,
    };
    let vector = [&shape[..], &[n]].concat();
    let z = normal(key, &vector, dtype)?;
    // einsum('...ij,...j->...i'): the factor and the normals broadcast to `shape`.
    let matrix = [&shape[..], &[n, n]].concat();
    let rank = shape.len();
    let factor = lax::broadcast_to_rank(&factor, &matrix)?;
    let z_rows = lax::broadcast_in_dim(
        &z,
        &matrix,
        &(0..rank).chain([rank + 1]).collect::<Vec<_>>(),
    )?;
    let fz = lax::reduce_sum(&lax::mul(&factor, &z_rows)?, &[rank + 1])?;
    lax::add(&lax::broadcast_to_rank(&mean, &vector)?, &fz)
}

/// `m[..., i, j] * d[..., j]`: each column of `m` scaled by an entry of `d`.
fn scale_columns(m: &Array, d: &Array) -> Result<Array> {
    let rank = m.ndim();
    let dims: Vec<usize> = (0..rank - 2).chain([rank - 1]).collect();
    lax::mul(m, &lax::broadcast_in_dim(d, m.shape(), &dims)?)
}

/// Matrices uniform on the orthogonal group O(n) (Haar measure), of shape `shape + (n, m)`
/// (`m` defaults to `n`; unequal sizes give semi-orthogonal matrices): `q` of the QR of a
/// `max(n, m) x min(n, m)` normal matrix, each column multiplied by the sign of `r`'s diagonal
/// (Mezzadri), transposed when `n < m`.
///
/// # Errors
/// A malformed key or a non-float dtype.
pub fn orthogonal(
    key: &Array,
    n: usize,
    shape: &[usize],
    dtype: DType,
    m: Option<usize>,
) -> Result<Array> {
    check_key("orthogonal", key)?;
    check_float("orthogonal", dtype)?;
    let m = m.unwrap_or(n);
    let z = normal(key, &[shape, &[n.max(m), n.min(m)]].concat(), dtype)?;
    let (q, r) = lax::linalg::qr(&z, false)?;
    let d = catch(|| Ok(jnp::diagonal(&r, 0, -2, -1)))?;
    let x = scale_columns(&q, &lax::sign(&d)?)?;
    if n < m {
        let rank = x.ndim();
        let mut perm: Vec<usize> = (0..rank).collect();
        perm.swap(rank - 2, rank - 1);
        lax::transpose(&x, &perm)
    } else {
        Ok(x)
    }
}

/// Indices into `0..len(p)` (i32) of `shape`, drawn with probabilities `p` (1-D, any
/// non-negative weights): with replacement by inverting the CDF (`searchsorted(cumsum(p),
/// cumsum(p)[-1] (1 - u))`), without it by the Gumbel top-k trick (the `k` largest of
/// `gumbel + log p`). The draws are computed in `p`'s float dtype.
///
/// # Errors
/// A malformed key, a `p` that is not a 1-D float array, or more draws than entries without
/// `replace`.
pub fn choice_p(key: &Array, p: &Array, shape: &[usize], replace: bool) -> Result<Array> {
    check_key("choice", key)?;
    indices_with_p(
        key,
        p.shape().first().copied().unwrap_or(0),
        shape,
        replace,
        p,
    )
}

/// The population indices of [`choice_p`] for a population of `n`.
fn indices_with_p(
    key: &Array,
    n: usize,
    shape: &[usize],
    replace: bool,
    p: &Array,
) -> Result<Array> {
    if p.ndim() != 1 || p.size() != n {
        return Err(Error::value_err(format!(
            "p must be None or a 1D vector with the same size as a.shape[axis]. p has shape \
             {} and a.shape[axis] is {n}.",
            shape_str(p.shape())
        )));
    }
    let dtype = if p.dtype().is_float() {
        p.dtype()
    } else {
        DType::F32
    };
    let p = lax::convert_element_type(p, dtype)?;
    check_counts(n, shape, replace)?;
    let draws: usize = shape.iter().product();
    if draws == 0 {
        return Ok(Array::zeros(shape, DType::I32));
    }
    if replace {
        let cdf = lax::cumsum(&p, 0, false)?;
        let total = lax::reshape(&lax::slice(&cdf, &[n - 1], &[n], None)?, &[])?;
        let u = uniform(key, shape, dtype, 0.0, 1.0)?;
        let r = lax::mul(&total, &lax::sub(&constant(1.0, dtype), &u)?)?;
        catch(|| Ok(jnp::searchsorted(&cdf, &r, "left")))
    } else {
        let g = lax::add(&super::gumbel(key, &[n], dtype)?, &super::log(&p)?)?;
        let (_, ind) = lax::top_k(&g, draws)?;
        lax::reshape(&ind, shape)
    }
}

/// JAX's checks on a population of `n` and the number of draws.
fn check_counts(n: usize, shape: &[usize], replace: bool) -> Result<()> {
    check_i32("choice", n)?;
    let draws: usize = shape.iter().product();
    if n == 0 && draws > 0 {
        return Err(Error::value_err(
            "a must be greater than 0 unless no samples are taken",
        ));
    }
    if !replace && draws > n {
        return Err(Error::value_err(format!(
            "Cannot take a larger sample (size {draws}) than population (size {n}) when \
             'replace=False'"
        )));
    }
    Ok(())
}

/// Samples of the slices of `a` along `axis` (JAX's `choice(key, a, shape, replace, p,
/// axis)` for an array `a` of rank >= 1): the result has shape `a.shape[:axis] + shape +
/// a.shape[axis+1:]`. Uniform with replacement (`randint`), the first draws of a permutation
/// without, or with probabilities `p` as [`choice_p`].
///
/// # Errors
/// A malformed key, a scalar `a` (use [`super::choice`] for a population `0..n`), an axis out
/// of range, a malformed `p`, or more draws than slices without `replace`.
pub fn choice_array(
    key: &Array,
    a: &Array,
    shape: &[usize],
    replace: bool,
    p: Option<&Array>,
    axis: isize,
) -> Result<Array> {
    check_key("choice", key)?;
    if a.ndim() == 0 {
        return Err(Error::value_err(
            "choice_array needs an array of rank >= 1; use choice(key, n, ...) for 0..n",
        ));
    }
    let axis = jnp::normalize_axes("choice", Some(&[axis]), a.ndim())?[0];
    let n = a.shape()[axis];
    let draws: usize = shape.iter().product();
    let out_shape = [&a.shape()[..axis], shape, &a.shape()[axis + 1..]].concat();
    if draws == 0 {
        return Ok(Array::zeros(&out_shape, a.dtype()));
    }
    check_counts(n, shape, replace)?;
    let ind = match p {
        Some(p) => indices_with_p(key, n, shape, replace, p)?,
        None if replace => randint(key, shape, 0, n as i32)?,
        None => {
            let perm = permutation(key, n)?;
            lax::reshape(&lax::slice(&perm, &[0], &[draws], None)?, shape)?
        }
    };
    let flat = lax::reshape(&ind, &[draws])?;
    let taken = catch(|| Ok(jnp::take(a, &flat, axis as isize)))?;
    lax::reshape(&taken, &out_shape)
}
