//! `jax.random`'s samplers that transform uniform and normal draws: exponential, laplace,
//! logistic, rademacher, maxwell, double_sided_maxwell, and the rejection samplers gamma (JAX's
//! `random_gamma_p`: Marsaglia and Tsang's method, one `while_loop` per element) with
//! loggamma, t, beta, chisquare and dirichlet on top of it, and poisson (Knuth's and
//! Hörmann's samplers, each a `while_loop` over the whole array). Same algorithms and same XLA
//! arithmetic as JAX 0.10 on CPU (`xla_math`), so the draws are JAX's bit for bit wherever
//! docs/PRNG.md says so.

use super::gamma_grad::random_gamma_grad;
use super::transforms::tiny;
use super::xla_math::{flush_subnormal, fma, log, log1p, rsqrt_f32, rsqrt_f64};
use super::{
    bernoulli, check_float, check_key, constant, draw, normal, param, split, split2, split3,
    staging, uniform, Param,
};
use crate::api::batching::vmap;
use crate::api::control::while_loop;
use crate::api::custom::custom_jvp;
use crate::api::Function;
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{or_raise, Error, Result};
use crate::dtype::DType;
use crate::dtype::Scalar;
use crate::lax;

/// Exponential floats (rate 1): `-log1p(-u)` with `u` uniform in `[0, 1)`.
pub fn exponential(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("exponential", key)?;
    check_float("exponential", dtype)?;
    draw(
        "exponential",
        key,
        &[],
        shape,
        dtype,
        |key, _, shape, dtype| {
            let u = uniform(key, shape, dtype, 0.0, 1.0)?;
            lax::neg(&log1p(&lax::neg(&u)?)?)
        },
    )
}

/// Laplace floats (location 0, scale 1): `sign(u) log1p(-|u|)` with `u` uniform in
/// `[-1 + epsneg, 1)`.
pub fn laplace(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("laplace", key)?;
    check_float("laplace", dtype)?;
    draw("laplace", key, &[], shape, dtype, |key, _, shape, dtype| {
        let epsneg = match dtype {
            DType::F32 => 2f64.powi(-24),
            _ => 2f64.powi(-53),
        };
        let u = uniform(key, shape, dtype, -1.0 + epsneg, 1.0)?;
        lax::mul(&lax::sign(&u)?, &log1p(&lax::neg(&lax::abs(&u)?)?)?)
    })
}

/// Logistic floats: `log(u) - log1p(-u)` with `u` uniform in `[tiny, 1)`.
pub fn logistic(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("logistic", key)?;
    check_float("logistic", dtype)?;
    draw(
        "logistic",
        key,
        &[],
        shape,
        dtype,
        |key, _, shape, dtype| {
            let u = uniform(key, shape, dtype, tiny(dtype), 1.0)?;
            lax::sub(&log(&u)?, &log1p(&lax::neg(&u)?)?)
        },
    )
}

/// `-1` or `1` with equal probability, in `dtype` (any numeric dtype): `2 b - 1` for
/// `b = bernoulli(key, 0.5, shape)`. JAX draws `b` in its default float dtype (f32 with x64
/// off, f64 with it on); cranax draws it in f64 for an f64 `dtype` and in f32 otherwise, which
/// is JAX's choice whenever the requested dtype exists in JAX's mode.
pub fn rademacher(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("rademacher", key)?;
    let p_dtype = if dtype == DType::F64 {
        DType::F64
    } else {
        DType::F32
    };
    let b = bernoulli(key, constant(0.5, p_dtype), shape)?;
    let b = lax::convert_element_type(&b, DType::I32)?;
    let pm = lax::sub(&lax::mul(&Array::scalar(2i32), &b)?, &Array::scalar(1i32))?;
    lax::convert_element_type(&pm, dtype)
}

/// One-sided Maxwell floats: the Euclidean norm of 3 standard normals per sample (drawn as
/// `normal(key, shape + (3,))`), the squares summed as XLA's reduction sums them.
pub fn maxwell(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("maxwell", key)?;
    check_float("maxwell", dtype)?;
    draw("maxwell", key, &[], shape, dtype, maxwell_ops)
}

/// [`maxwell`]'s lax ops.
fn maxwell_ops(key: &Array, _: &[Array], shape: &[usize], dtype: DType) -> Result<Array> {
    let mut full = shape.to_vec();
    full.push(3);
    let x = normal(key, &full, dtype)?;
    let rank = shape.len();
    let part = |i: usize| -> Result<Array> {
        let mut lo = vec![0; rank + 1];
        lo[rank] = i;
        let mut hi = full.clone();
        hi[rank] = i + 1;
        lax::reshape(&lax::slice(&x, &lo, &hi, None)?, shape)
    };
    let (x0, x1, x2) = (part(0)?, part(1)?, part(2)?);
    // XLA's reduction adds the squares in order and fuses each multiply into an add, pairing
    // them differently in f32 and f64.
    let first_two = match dtype {
        DType::F32 => fma(&x0, &x0, &lax::mul(&x1, &x1)?)?,
        _ => fma(&x1, &x1, &lax::mul(&x0, &x0)?)?,
    };
    let sum = fma(&x2, &x2, &first_two)?;
    lax::sqrt(&sum)
}

/// Double-sided Maxwell floats of shape `shape + broadcast(loc, scale)`: `sign * m * scale +
/// loc` with `m` a Maxwell and `sign` a Rademacher draw from the two halves of `split(key)`.
pub fn double_sided_maxwell(
    key: &Array,
    loc: impl Param,
    scale: impl Param,
    shape: &[usize],
    dtype: DType,
) -> Result<Array> {
    check_key("double_sided_maxwell", key)?;
    check_float("double_sided_maxwell", dtype)?;
    let (loc, scale) = (loc.to_dtype(dtype)?, scale.to_dtype(dtype)?);
    let params =
        crate::numpy::broadcast_shapes("double_sided_maxwell", &[loc.shape(), scale.shape()])?;
    let full = [shape, &params[..]].concat();
    let (maxwell_key, sign_key) = split2(key)?;
    let m = maxwell(&maxwell_key, &full, dtype)?;
    let sign = rademacher(&sign_key, &full, dtype)?;
    let (loc, scale) = (
        lax::broadcast_to_rank(&loc, &full)?,
        lax::broadcast_to_rank(&scale, &full)?,
    );
    fma(&lax::mul(&sign, &m)?, &scale, &loc)
}

// ---------------------------------------------------------------------------------------------
// Gamma

/// Gamma floats with shape parameter `a` (scale 1), of `shape` (default: `a`'s shape).
///
/// JAX's algorithm: `split(key, size)` gives each element its own key; each element runs
/// Marsaglia and Tsang's rejection loop for `alpha = a` (or `a + 1` when `a < 1`, the draw then
/// scaled by `u^(1/a)`). The `u^(1/a)` power uses the backend's `pow`, not XLA's, so for
/// `a < 1` the draws may differ from JAX's in the last bits (docs/PRNG.md gives the bound).
///
/// # Errors
/// A malformed key, a non-float dtype, or an `a` that does not broadcast to `shape`.
pub fn gamma(key: &Array, a: impl Param, shape: Option<&[usize]>, dtype: DType) -> Result<Array> {
    gamma_impl("gamma", key, &a, shape, dtype, false)
}

/// The logarithm of gamma floats, computed in log space so that small `a` does not underflow:
/// `log(d) + log(V) + log(u) / a` (JAX's `loggamma`). Bit for bit with JAX for every `a`.
///
/// # Errors
/// As [`gamma`].
pub fn loggamma(
    key: &Array,
    a: impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    gamma_impl("loggamma", key, &a, shape, dtype, true)
}

fn gamma_impl(
    name: &str,
    key: &Array,
    a: &impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
    log_space: bool,
) -> Result<Array> {
    check_key(name, key)?;
    check_float(name, dtype)?;
    let a_param = a;
    let a = a.to_dtype(dtype)?;
    let shape = shape.unwrap_or(a.shape()).to_vec();
    let a = lax::broadcast_to_rank(&param(name, &a, dtype, &shape)?, &shape)?;
    if a.size() == 0 {
        return Ok(a);
    }
    if a_param.host().is_some() {
        return gamma_draws(key, &a, host_values(a_param, a.size(), dtype), log_space);
    }
    // A traced `a` may be differentiated: JAX's JVP rule, tangent times `random_gamma_grad`
    // (for loggamma divided by the sample), around the draws.
    let draw = move |key: &Array, a: &Array| or_raise(gamma_draws(key, a, None, log_space));
    let rule = move |p: &[Array], t: &[Array]| {
        or_raise((|| {
            let out = gamma_draws(&p[0], &p[1], p[1].host().map(|(v, _)| v), log_space)?;
            let d = if log_space {
                let sample = lax::exp(&out)?;
                let tiny = constant(tiny(dtype), dtype);
                let zero = lax::eq(&sample, &constant(0.0, dtype))?;
                let sample = lax::select(&zero, &lax::broadcast_to_rank(&tiny, &shape)?, &sample)?;
                lax::div(&random_gamma_grad(&p[1], &sample)?, &sample)?
            } else {
                random_gamma_grad(&p[1], &out)?
            };
            Ok((vec![out], vec![lax::mul(&t[1], &d)?]))
        })())
    };
    custom_jvp(draw, rule).call((key.clone(), a))
}

/// The draws of `gamma_impl` for `a` already of the sample's shape and dtype (`host`: its
/// values, when known now).
fn gamma_draws(key: &Array, a: &Array, host: Option<Vec<f64>>, log_space: bool) -> Result<Array> {
    let (dtype, shape) = (a.dtype(), a.shape().to_vec());
    let n = a.size();
    let alphas = lax::reshape(a, &[n])?;
    let keys = split(key, n)?;
    let (boost, d, c, log_d, one_over_a) = gamma_constants(&alphas, host)?;
    let per_element = move |key: &Array, d: &Array, c: &Array| -> (Array, Array) {
        or_raise(gamma_one(key, d, c, log_space))
    };
    let (v, boost_draw) = vmap(per_element).call((keys, d.clone(), c))?;
    let zero = constant(0.0, dtype);
    let out = if log_space {
        // log_boost = log(u) / a, taken as -exponential (log(1 - u)) to keep u = 0 away.
        let skip = lax::or(&boost, &lax::eq(&boost_draw, &zero)?)?;
        let log_boost = lax::select(
            &skip,
            &lax::broadcast_to_rank(&zero, &[n])?,
            &lax::mul(&boost_draw, &one_over_a)?,
        )?;
        lax::add(&lax::add(&log_d, &log(&v)?)?, &log_boost)?
    } else {
        let scale = lax::select(
            &boost,
            &lax::broadcast_to_rank(&constant(1.0, dtype), &[n])?,
            &flush_subnormal(&lax::pow(&boost_draw, &one_over_a)?)?,
        )?;
        flush_subnormal(&lax::mul(&lax::mul(&d, &v)?, &scale)?)?
    };
    lax::reshape(&out, &shape)
}

/// The per-element constants of `_gamma_one` for shape parameters `a`: whether `a >= 1`
/// (no boost), `d = alpha - 1/3` with `alpha = a` or `a + 1`, `c = (1/3) / sqrt(d)`, `log(d)`
/// and `1 / a`, each as XLA computes it.
///
/// XLA's simplifier turns `(1/3) / sqrt(d)` into `(1/3) * rsqrt(d)`, and its f32 `rsqrt` is the
/// CPU's estimate refined by Newton steps (`xla_math::rsqrt_f32`, `rsqrt_f64`).
/// Inside `jit` a constant `a` makes these constants, which XLA's folder computes exactly on
/// the host (`c` by true division, `log` by the C library); a concrete `a` is therefore
/// computed here on the host, the same way in both modes. A traced `a` gets the correctly
/// rounded `1 / sqrt(d)`, which is XLA's number for about 4 `d` in 5 (f32) or 7 in 10 (f64).
#[allow(clippy::type_complexity)]
fn gamma_constants(
    a: &Array,
    host: Option<Vec<f64>>,
) -> Result<(Array, Array, Array, Array, Array)> {
    let dtype = a.dtype();
    let k = |v: f64| constant(v, dtype);
    let Some(a_host) = host else {
        let boost = lax::ge(a, &k(1.0))?;
        let alpha = lax::select(&boost, a, &lax::add(a, &k(1.0))?)?;
        let d = lax::sub(&alpha, &k(1.0 / 3.0))?;
        let rsqrt = lax::div(&k(1.0), &lax::sqrt(&d)?)?;
        let c = lax::mul(&k(1.0 / 3.0), &rsqrt)?;
        let (log_d, one_over_a) = (log(&d)?, lax::div(&k(1.0), a)?);
        return Ok((boost, d, c, log_d, one_over_a));
    };
    // Host arithmetic in f64, rounded to the dtype after each step (exact for f32 operands).
    let is_f32 = dtype == DType::F32;
    let round = |v: f64| if is_f32 { v as f32 as f64 } else { v };
    let third = round(1.0 / 3.0);
    let d: Vec<f64> = a_host
        .iter()
        .map(|&a| round(if a >= 1.0 { a } else { round(a + 1.0) } - third))
        .collect();
    let folding = staging();
    let c: Vec<f64> = d
        .iter()
        .map(|&d| match (folding, is_f32) {
            (true, _) => round(third / round(d.sqrt())),
            (false, true) => round(third * rsqrt_f32(d as f32) as f64),
            (false, false) => third * rsqrt_f64(d),
        })
        .collect();
    let host = |v: Vec<f64>| -> Result<Array> { Ok(host_array(&v, &[v.len()], dtype)) };
    let boost: Vec<bool> = a_host.iter().map(|&a| a >= 1.0).collect();
    let one_over_a = host(a_host.iter().map(|&a| round(1.0 / a)).collect())?;
    let d_arr = host(d.clone())?;
    let log_d = match (folding, is_f32) {
        (true, true) => host(d.iter().map(|&d| (d as f32).ln() as f64).collect())?,
        (true, false) => host(d.iter().map(|&d| d.ln()).collect())?,
        (false, _) => log(&d_arr)?,
    };
    Ok((
        Array::from_slice(&boost),
        d_arr,
        host(c)?,
        log_d,
        one_over_a,
    ))
}

/// A parameter's `n` values rounded to `dtype`, when known now and either a scalar or of `n`
/// elements already (the cases that need no broadcasting on the host).
fn host_values(p: &impl Param, n: usize, dtype: DType) -> Option<Vec<f64>> {
    let (values, _) = p.host()?;
    let round = |v: f64| {
        if dtype == DType::F32 {
            v as f32 as f64
        } else {
            v
        }
    };
    match values.len() {
        1 => Some(vec![round(values[0]); n]),
        len if len == n => Some(values.into_iter().map(round).collect()),
        _ => None,
    }
}

/// A concrete array of `dtype` from f64 values (exact for values of that dtype).
fn host_array(values: &[f64], shape: &[usize], dtype: DType) -> Array {
    let data = Data::from_scalars(dtype, values.iter().map(|&v| Scalar::from_f64(v, dtype)));
    Array::from_concrete(Aval::new(shape.to_vec(), dtype), data)
}

/// One element of JAX's `_gamma_one` for `d = alpha - 1/3` and `c = 1 / (3 sqrt d)`: returns
/// the accepted `V` and the draw for the boost (`1 - u`, or `-exponential` in log space) from
/// the first half of `split(key)`.
fn gamma_one(key: &Array, d: &Array, c: &Array, log_space: bool) -> Result<(Array, Array)> {
    let dtype = d.dtype();
    let k = |v: f64| constant(v, dtype);
    let (key, subkey) = split2(key)?;
    // Accept when u < 1 - 0.0331 X^2 or log u < X/2 + d (1 - V + log V); loop while neither.
    let reject = move |s: &(Array, Array, Array, Array)| -> Array {
        let (_, x2, v, u) = s;
        or_raise((|| {
            let squeeze = fma(&k(-0.0331), &lax::mul(x2, x2)?, &k(1.0))?;
            let bound = lax::add(
                &lax::mul(x2, &k(0.5))?,
                &lax::mul(d, &lax::add(&lax::sub(&k(1.0), v)?, &log(v)?)?)?,
            )?;
            lax::and(&lax::ge(u, &squeeze)?, &lax::ge(&log(u)?, &bound)?)
        })())
    };
    let propose = move |s: &(Array, Array, Array, Array)| -> (Array, Array, Array, Array) {
        or_raise((|| {
            let (key, x_key, u_key) = split3(&s.0)?;
            // Draw normals until v = 1 + x c is positive.
            let (_, x, v) = while_loop(
                |s: &(Array, Array, Array)| or_raise(lax::le(&s.2, &k(0.0))),
                |s: &(Array, Array, Array)| {
                    or_raise((|| {
                        let (key, subkey) = split2(&s.0)?;
                        let x = normal(&subkey, &[], dtype)?;
                        let v = fma(&x, c, &k(1.0))?;
                        Ok((key, x, v))
                    })())
                },
                (x_key, k(0.0), k(-1.0)),
            )?;
            let x2 = lax::mul(&x, &x)?;
            let v3 = lax::mul(&lax::mul(&v, &v)?, &v)?;
            let u = uniform(&u_key, &[], dtype, 0.0, 1.0)?;
            Ok((key, x2, v3, u))
        })())
    };
    let init = (key, k(0.0), k(1.0), k(2.0));
    let (_, _, v, _) = while_loop(reject, propose, init)?;
    let draw = if log_space {
        lax::neg(&super::exponential(&subkey, &[], dtype)?)?
    } else {
        lax::sub(&k(1.0), &uniform(&subkey, &[], dtype, 0.0, 1.0)?)?
    };
    Ok((v, draw))
}

/// Student's t floats with `df` degrees of freedom: `n sqrt((df / 2) / g)` for a normal `n`
/// and `g = gamma(df / 2)` from the two halves of `split(key)`.
///
/// # Errors
/// As [`gamma`].
pub fn t(key: &Array, df: impl Param, shape: Option<&[usize]>, dtype: DType) -> Result<Array> {
    check_key("t", key)?;
    check_float("t", dtype)?;
    let df_param = df;
    let df = df_param.to_dtype(dtype)?;
    let shape = shape.unwrap_or(df.shape()).to_vec();
    let df = param("t", &df, dtype, &shape)?;
    let (key_n, key_g) = split2(key)?;
    let n = normal(&key_n, &shape, dtype)?;
    let half_df = half(&df_param, &df)?;
    let g = gamma(&key_g, &half_df, Some(&shape), dtype)?;
    lax::mul(&n, &lax::sqrt(&lax::div(&half_df, &g)?)?)
}

// ---------------------------------------------------------------------------------------------
// Built on loggamma. They exponentiate with the backend's `exp`, not XLA's (XLA's CPU `exp` is
// its own polynomial), so their draws are JAX's to a few ulp (docs/PRNG.md has the bound).

/// `df / 2` of a degrees-of-freedom parameter: computed now when `df` is known (XLA folds it
/// as a constant inside `jit`, and `gamma` then sees a known shape parameter), traced otherwise.
fn half(p: &impl Param, x: &Array) -> Result<Array> {
    match host_values(p, x.size(), x.dtype()) {
        Some(v) => Ok(host_array(
            &v.iter().map(|x| x * 0.5).collect::<Vec<_>>(),
            x.shape(),
            x.dtype(),
        )),
        None => lax::mul(x, &constant(0.5, x.dtype())),
    }
}

/// Chi-square floats with `df` degrees of freedom: `2 exp(loggamma(df / 2))`.
///
/// # Errors
/// As [`gamma`].
pub fn chisquare(
    key: &Array,
    df: impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("chisquare", key)?;
    check_float("chisquare", dtype)?;
    let x = df.to_dtype(dtype)?;
    let half_df = half(&df, &x)?;
    let log_g = loggamma(key, &half_df, shape, dtype)?;
    lax::mul(&lax::exp(&log_g)?, &constant(2.0, dtype))
}

/// Beta floats: `Ga / (Ga + Gb)` for gamma draws with shape parameters `a` and `b` from the two
/// halves of `split(key)`, formed from their logarithms scaled by the larger one.
/// `shape` defaults to the broadcast shape of `a` and `b`.
///
/// # Errors
/// A malformed key, a non-float dtype, or parameters that do not broadcast to `shape`.
pub fn beta(
    key: &Array,
    a: impl Param,
    b: impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("beta", key)?;
    check_float("beta", dtype)?;
    let (xa, xb) = (a.to_dtype(dtype)?, b.to_dtype(dtype)?);
    let joint = crate::numpy::broadcast_shapes("beta", &[xa.shape(), xb.shape()])?;
    let shape = shape.unwrap_or(&joint).to_vec();
    param("beta", &xa, dtype, &shape)?;
    param("beta", &xb, dtype, &shape)?;
    let (key_a, key_b) = split2(key)?;
    let log_a = loggamma(&key_a, a, Some(&shape), dtype)?;
    let log_b = loggamma(&key_b, b, Some(&shape), dtype)?;
    let log_max = lax::max(&log_a, &log_b)?;
    let ga = lax::exp(&lax::sub(&log_a, &log_max)?)?;
    let gb = lax::exp(&lax::sub(&log_b, &log_max)?)?;
    lax::div(&ga, &lax::add(&ga, &gb)?)
}

/// Dirichlet floats: for concentrations `alpha` (last axis: the `k` categories), draws of
/// shape `shape + (k,)` (`shape` defaults to `alpha`'s batch shape), the softmax of `k`
/// loggamma draws.
///
/// # Errors
/// A malformed key, a non-float dtype, a scalar `alpha`, or an `alpha` whose batch shape does
/// not broadcast to `shape`.
pub fn dirichlet(
    key: &Array,
    alpha: &Array,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("dirichlet", key)?;
    check_float("dirichlet", dtype)?;
    if alpha.ndim() == 0 {
        return Err(Error::value_err(
            "dirichlet requires alpha.ndim >= 1, got alpha.ndim == 0",
        ));
    }
    let (batch, k) = alpha.shape().split_at(alpha.ndim() - 1);
    let full = [shape.unwrap_or(batch), k].concat();
    let x = loggamma(key, alpha, Some(&full), dtype)?;
    // jax.nn.softmax: exp(x - max) / sum, along the last axis.
    let last = full.len() - 1;
    let keep: Vec<usize> = (0..last).collect();
    let max = lax::broadcast_in_dim(&lax::reduce_max(&x, &[last])?, &full, &keep)?;
    let e = lax::exp(&lax::sub(&x, &lax::stop_gradient(&max)?)?)?;
    let sum = lax::broadcast_in_dim(&lax::reduce_sum(&e, &[last])?, &full, &keep)?;
    lax::div(&e, &sum)
}

// ---------------------------------------------------------------------------------------------
// Poisson

/// Poisson counts (i32) with rate `lam` (computed in f32, as JAX does), of `shape` (default:
/// `lam`'s shape). JAX's two algorithms, both run over the whole array: Knuth's product of
/// uniforms for `lam < 10` and Hörmann's transformed rejection for larger rates, each a
/// `while_loop` until every element is done; the element's `lam` picks which one it keeps.
/// A zero rate gives 0.
///
/// # Errors
/// A malformed key or an `lam` that does not broadcast to `shape`.
pub fn poisson(key: &Array, lam: impl Param, shape: Option<&[usize]>) -> Result<Array> {
    check_key("poisson", key)?;
    let f32s = DType::F32;
    let x = lam.to_dtype(f32s)?;
    let shape = shape.unwrap_or(x.shape()).to_vec();
    let lam_arr = lax::broadcast_to_rank(&param("poisson", &x, f32s, &shape)?, &shape)?;
    let n = lam_arr.size();
    let k = |v: f64| constant(v, f32s);
    let full = |v: f64| lax::broadcast_to_rank(&k(v), &shape);
    let use_knuth = lax::or(&lax::ne(&lam_arr, &lam_arr)?, &lax::lt(&lam_arr, &k(10.0))?)?;
    let lam_knuth = lax::select(&use_knuth, &lam_arr, &full(0.0)?)?;
    let lam_rejection = lax::select(&use_knuth, &full(1e5)?, &lam_arr)?;
    // The rejection sampler's per-element constants: on the host when `lam` is known.
    let host = host_values(&lam, n, f32s).map(|v| {
        v.iter()
            .map(|&l| if l.is_nan() || l < 10.0 { 1e5 } else { l })
            .collect::<Vec<f64>>()
    });
    let consts = poisson_constants(&lam_rejection, host, &shape)?;
    let knuth = poisson_knuth(key, &lam_knuth)?;
    let rejection = poisson_rejection(key, &lam_rejection, &consts)?;
    let out = lax::select(&use_knuth, &knuth, &rejection)?;
    let zero = lax::broadcast_to_rank(&Array::scalar(0i32), &shape)?;
    lax::select(&lax::eq(&lam_arr, &k(0.0))?, &zero, &out)
}

/// Knuth: count uniforms until their product falls below `exp(-lam)`, in logs.
fn poisson_knuth(key: &Array, lam: &Array) -> Result<Array> {
    let shape = lam.shape().to_vec();
    let neg_lam = lax::neg(lam)?;
    type State = (Array, Array, Array, Array);
    let cond = |s: &State| -> Array {
        or_raise(lax::gt(&s.3, &neg_lam).and_then(|live| goes_on(&live, &s.0)))
    };
    let body = |s: &State| -> State {
        or_raise((|| {
            let (i, count, rng, log_prod) = s;
            let (rng, subkey) = split2(rng)?;
            let live = lax::gt(log_prod, &neg_lam)?;
            let count = lax::select(&live, &lax::add(count, &Array::scalar(1i32))?, count)?;
            let u = uniform(&subkey, &shape, DType::F32, 0.0, 1.0)?;
            let log_prod = lax::add(log_prod, &log(&u)?)?;
            Ok((lax::add(i, &Array::scalar(1i32))?, count, rng, log_prod))
        })())
    };
    let init = (
        Array::scalar(0i32),
        lax::broadcast_to_rank(&Array::scalar(0i32), &shape)?,
        key.clone(),
        lax::broadcast_to_rank(&constant(0.0, DType::F32), &shape)?,
    );
    let (_, count, _, _) = while_loop(cond, body, init)?;
    lax::sub(&count, &Array::scalar(1i32))
}

/// A whole-array loop's condition: some element still `pending` and the step count `i` below
/// JAX's (int32 max) limit.
fn goes_on(pending: &Array, i: &Array) -> Result<Array> {
    let axes: Vec<usize> = (0..pending.ndim()).collect();
    let any = lax::reduce_max(&lax::convert_element_type(pending, DType::I32)?, &axes)?;
    lax::and(
        &lax::gt(&any, &Array::scalar(0i32))?,
        &lax::lt(i, &Array::scalar(i32::MAX))?,
    )
}

/// `log(lam)`, `b = 0.931 + 2.53 sqrt(lam)`, `a = -0.059 + 0.02483 b`,
/// `1/alpha = 1.1239 + 1.1328 / (b - 3.4)` and `v_r = 0.9277 - 3.6224 / (b - 2)`.
struct PoissonConstants {
    log_lam: Array,
    b: Array,
    a: Array,
    inv_alpha: Array,
    v_r: Array,
}

/// The rejection sampler's constants as XLA computes them: fused multiply-adds and XLA's `log`
/// at run time; for a known `lam` inside `jit`, XLA's folder instead rounds each operation and
/// takes the C library's `log` (as `gamma_constants`).
fn poisson_constants(
    lam: &Array,
    host: Option<Vec<f64>>,
    shape: &[usize],
) -> Result<PoissonConstants> {
    let k = |v: f64| constant(v, DType::F32);
    let Some(lam_host) = host else {
        let b = fma(&k(2.53), &lax::sqrt(lam)?, &k(0.931))?;
        let a = fma(&k(0.02483), &b, &k(-0.059))?;
        let inv_alpha = lax::add(&k(1.1239), &lax::div(&k(1.1328), &lax::sub(&b, &k(3.4))?)?)?;
        let v_r = lax::sub(&k(0.9277), &lax::div(&k(3.6224), &lax::sub(&b, &k(2.0))?)?)?;
        return Ok(PoissonConstants {
            log_lam: log(lam)?,
            b,
            a,
            inv_alpha,
            v_r,
        });
    };
    let folding = staging();
    let c = |v: f64| v as f32;
    let mul_add = |x: f32, y: f32, z: f32| if folding { x * y + z } else { x.mul_add(y, z) };
    let (mut b, mut a, mut inv_alpha, mut v_r) = (vec![], vec![], vec![], vec![]);
    for &l in &lam_host {
        let bi = mul_add(c(2.53), (l as f32).sqrt(), c(0.931));
        b.push(bi as f64);
        a.push(mul_add(c(0.02483), bi, c(-0.059)) as f64);
        inv_alpha.push((c(1.1239) + c(1.1328) / (bi - c(3.4))) as f64);
        v_r.push((c(0.9277) - c(3.6224) / (bi - c(2.0))) as f64);
    }
    let arr = |v: &[f64]| host_array(v, shape, DType::F32);
    let log_lam = if folding {
        arr(&lam_host
            .iter()
            .map(|&l| (l as f32).ln() as f64)
            .collect::<Vec<_>>())
    } else {
        log(&arr(&lam_host))?
    };
    Ok(PoissonConstants {
        log_lam,
        b: arr(&b),
        a: arr(&a),
        inv_alpha: arr(&inv_alpha),
        v_r: arr(&v_r),
    })
}

/// Hörmann's transformed rejection (PTRS), all elements at once until each has accepted.
fn poisson_rejection(key: &Array, lam: &Array, p: &PoissonConstants) -> Result<Array> {
    let shape = lam.shape().to_vec();
    let k = |v: f64| constant(v, DType::F32);
    type State = (Array, Array, Array, Array);
    let cond = |s: &State| -> Array {
        or_raise(lax::not(&s.2).and_then(|waiting| goes_on(&waiting, &s.0)))
    };
    let body = |s: &State| -> State {
        or_raise((|| {
            let (i, k_out, accepted, rng) = s;
            let (rng, key0, key1) = split3(rng)?;
            let u = lax::sub(&uniform(&key0, &shape, DType::F32, 0.0, 1.0)?, &k(0.5))?;
            let v = uniform(&key1, &shape, DType::F32, 0.0, 1.0)?;
            let us = lax::sub(&k(0.5), &lax::abs(&u)?)?;
            let slope = lax::add(&lax::div(&lax::mul(&k(2.0), &p.a)?, &us)?, &p.b)?;
            let kk = lax::floor(&lax::add(&fma(&slope, &u, lam)?, &k(0.43))?)?;
            let denom = lax::add(&lax::div(&p.a, &lax::mul(&us, &us)?)?, &p.b)?;
            let s_ = log(&lax::div(&lax::mul(&v, &p.inv_alpha)?, &denom)?)?;
            let t = lax::sub(
                &fma(&kk, &p.log_lam, &lax::neg(lam)?)?,
                &lax::lgamma(&lax::add(&kk, &k(1.0))?)?,
            )?;
            let accept1 = lax::and(&lax::ge(&us, &k(0.07))?, &lax::le(&v, &p.v_r)?)?;
            let reject = lax::or(
                &lax::lt(&kk, &k(0.0))?,
                &lax::and(&lax::lt(&us, &k(0.013))?, &lax::gt(&v, &us)?)?,
            )?;
            let accept = lax::or(
                &accept1,
                &lax::and(&lax::not(&reject)?, &lax::le(&s_, &t)?)?,
            )?;
            let k_out = lax::select(&accept, &kk, k_out)?;
            let accepted = lax::or(accepted, &accept)?;
            Ok((lax::add(i, &Array::scalar(1i32))?, k_out, accepted, rng))
        })())
    };
    let init = (
        Array::scalar(0i32),
        lax::broadcast_to_rank(&k(-1.0), &shape)?,
        lax::broadcast_to_rank(&Array::scalar(false), &shape)?,
        key.clone(),
    );
    let (_, k_out, _, _) = while_loop(cond, body, init)?;
    lax::convert_element_type(&k_out, DType::I32)
}
