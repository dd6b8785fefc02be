//! `jax.random.binomial`: counts of successes in `n` trials of probability `p`, as floats, by
//! JAX's (and TensorFlow's) two samplers run over the whole array: the inversion of geometric
//! waiting times for `n q <= 10` and Hörmann's transformed rejection with squeeze (BTRS) beyond,
//! with `q = min(p, 1 - p)` and the count mirrored for `p >= 1/2`.

use super::xla_math::{fma, log, log1p};
use super::{any, check_float, check_key, constant, param, split2, split3, uniform, Param};
use crate::api::control::while_loop;
use crate::array::Array;
use crate::core::error::{or_raise, Result};
use crate::dtype::DType;
use crate::lax;

/// Binomial counts (floats of `dtype`) for `n` trials of success probability `p`, of `shape`
/// (default: the broadcast shape of `n` and `p`). NaN for a NaN or negative `n` or an invalid
/// `p`, `inf` for an infinite `n`; a fractional `n` is floored.
///
/// # Errors
/// A malformed key, a non-float dtype, or parameters that do not broadcast to `shape`.
pub fn binomial(
    key: &Array,
    n: impl Param,
    p: impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("binomial", key)?;
    check_float("binomial", dtype)?;
    let (nx, px) = (n.to_dtype(dtype)?, p.to_dtype(dtype)?);
    let joint = crate::numpy::broadcast_shapes("binomial", &[nx.shape(), px.shape()])?;
    let shape = shape.map_or(joint, <[usize]>::to_vec);
    let count = lax::broadcast_to_rank(&param("binomial", &nx, dtype, &shape)?, &shape)?;
    let prob = lax::broadcast_to_rank(&param("binomial", &px, dtype, &shape)?, &shape)?;
    let k = |v: f64| constant(v, dtype);
    let full = |v: f64| lax::broadcast_to_rank(&k(v), &shape);
    let is_nan = |x: &Array| lax::ne(x, x);
    let p_lt_half = lax::lt(&prob, &k(0.5))?;
    let q = lax::select(&p_lt_half, &prob, &lax::sub(&k(1.0), &prob)?)?;
    let count_nan_or_neg = lax::or(&is_nan(&count)?, &lax::lt(&count, &k(0.0))?)?;
    let count_inf = lax::eq(&lax::abs(&count)?, &k(f64::INFINITY))?;
    let q_is_nan = is_nan(&q)?;
    let q_below_0 = lax::lt(&q, &k(0.0))?;
    let q = lax::select(&lax::or(&q_is_nan, &q_below_0)?, &full(0.01)?, &q)?;
    let use_inversion = lax::or(
        &count_nan_or_neg,
        &lax::le(&lax::mul(&count, &q)?, &k(10.0))?,
    )?;
    let count = lax::floor(&count)?;
    let count_inv = lax::select(&use_inversion, &count, &full(0.0)?)?;
    let count_btrs = lax::select(&use_inversion, &full(1e4)?, &count)?;
    let q_btrs = lax::select(&use_inversion, &full(0.5)?, &q)?;
    let samples = lax::select(
        &use_inversion,
        &inversion(key, &count_inv, &q)?,
        &btrs(key, &count_btrs, &q_btrs)?,
    )?;
    let invalid = lax::or(&lax::or(&q_below_0, &q_is_nan)?, &count_nan_or_neg)?;
    let samples = lax::select(&invalid, &full(f64::NAN)?, &samples)?;
    let samples = lax::select(
        &lax::and(&count_inf, &lax::not(&invalid)?)?,
        &full(f64::INFINITY)?,
        &samples,
    )?;
    let as_drawn = lax::or(
        &lax::or(&p_lt_half, &count_nan_or_neg)?,
        &lax::or(&q_is_nan, &count_inf)?,
    )?;
    lax::select(&as_drawn, &samples, &lax::sub(&count, &samples)?)
}

/// Geometric waiting times `ceil(log u / log(1 - p))` summed until they pass `count`; the
/// number of them, minus one, is the count of successes.
fn inversion(key: &Array, count: &Array, prob: &Array) -> Result<Array> {
    let (dtype, shape) = (prob.dtype(), prob.shape().to_vec());
    let k = |v: f64| constant(v, dtype);
    let log_q = log1p(&lax::neg(prob)?)?;
    type State = (Array, Array, Array, Array);
    let cond = |s: &State| or_raise((|| any(&lax::le(&s.2, count)?))());
    let body = |s: &State| -> State {
        or_raise((|| {
            let (i, num_geom, geom_sum, key) = s;
            let (subkey, key) = split2(key)?;
            let going = lax::le(geom_sum, count)?;
            let num_geom = lax::select(&going, &lax::add(num_geom, &k(1.0))?, num_geom)?;
            let u = uniform(&subkey, &shape, dtype, 0.0, 1.0)?;
            let geom = lax::ceil(&lax::div(&log(&u)?, &log_q)?)?;
            let geom_sum = lax::add(geom_sum, &geom)?;
            Ok((lax::add(i, &Array::scalar(1i32))?, num_geom, geom_sum, key))
        })())
    };
    let zeros = lax::broadcast_to_rank(&k(0.0), &shape)?;
    let init = (Array::scalar(0i32), zeros.clone(), zeros, key.clone());
    let (_, num_geom, _, _) = while_loop(cond, body, init)?;
    lax::sub(&num_geom, &k(1.0))
}

/// The tail `log(k!) - Stirling's approximation` of `k`: tabulated for `k <= 9`; beyond, JAX's
/// series `(1/12 - (1/360 - 1/1260/(k+1)^2)/(k+1)^2)/(k+1)`, which it evaluates at `k` clamped
/// to `[0, 9]` (so every `k > 9` gets the value at 9; cranax does the same).
fn stirling_tail(k: &Array) -> Result<Array> {
    const TAIL: [f64; 10] = [
        0.0810614667953272,
        0.0413406959554092,
        0.0276779256849983,
        0.02079067210376509,
        0.0166446911898211,
        0.0138761288230707,
        0.0118967099458917,
        0.0104112652619720,
        0.00925546218271273,
        0.00833056343336287,
    ];
    let dtype = k.dtype();
    let c = |v: f64| constant(v, dtype);
    let use_table = lax::le(k, &c(9.0))?;
    let kc = lax::min(&lax::max(k, &c(0.0))?, &c(9.0))?;
    let k1 = lax::add(&kc, &c(1.0))?;
    let kp1sq = lax::mul(&k1, &k1)?;
    let inner = lax::sub(&c(1.0 / 360.0), &lax::div(&c(1.0 / 1260.0), &kp1sq)?)?;
    let approx = lax::div(&lax::sub(&c(1.0 / 12.0), &lax::div(&inner, &kp1sq)?)?, &k1)?;
    let table = lax::convert_element_type(&Array::from_slice(&TAIL), dtype)?;
    let index = lax::convert_element_type(&lax::floor(&kc)?, DType::I32)?;
    let looked_up = lax::take_clamped(&table, &index, 0)?;
    lax::select(&use_table, &looked_up, &approx)
}

/// BTRS (Hörmann 1993), all elements at once until each has accepted.
fn btrs(key: &Array, count: &Array, prob: &Array) -> Result<Array> {
    let (dtype, shape) = (prob.dtype(), prob.shape().to_vec());
    let k = |v: f64| constant(v, dtype);
    let one_minus_p = lax::sub(&k(1.0), prob)?;
    let stddev = lax::sqrt(&lax::mul(&lax::mul(count, prob)?, &one_minus_p)?)?;
    let b = fma(&k(2.53), &stddev, &k(1.15))?;
    let a = fma(&k(0.01), prob, &fma(&k(0.0248), &b, &k(-0.0873))?)?;
    let c = fma(count, prob, &k(0.5))?;
    let v_r = lax::sub(&k(0.92), &lax::div(&k(4.2), &b)?)?;
    let r = lax::div(prob, &one_minus_p)?;
    let alpha = lax::mul(&lax::add(&k(2.83), &lax::div(&k(5.1), &b)?)?, &stddev)?;
    let m = lax::floor(&lax::mul(&lax::add(count, &k(1.0))?, prob)?)?;
    let n_minus_m_1 = lax::add(&lax::sub(count, &m)?, &k(1.0))?;
    let ub_m = lax::mul(
        &lax::add(&m, &k(0.5))?,
        &log(&lax::div(
            &lax::add(&m, &k(1.0))?,
            &lax::mul(&r, &n_minus_m_1)?,
        )?)?,
    )?;
    let tails_m = lax::add(&stirling_tail(&m)?, &stirling_tail(&lax::sub(count, &m)?)?)?;
    type State = (Array, Array, Array, Array);
    let cond = |s: &State| or_raise((|| any(&lax::not(&s.2)?))());
    let body = |s: &State| -> State {
        or_raise((|| {
            let (i, k_out, accepted, key) = s;
            let (key, key0, key1) = split3(key)?;
            let u = lax::sub(&uniform(&key0, &shape, dtype, 0.0, 1.0)?, &k(0.5))?;
            let v = uniform(&key1, &shape, dtype, 0.0, 1.0)?;
            let us = lax::sub(&k(0.5), &lax::abs(&u)?)?;
            let accept1 = lax::and(&lax::ge(&us, &k(0.07))?, &lax::le(&v, &v_r)?)?;
            let slope = lax::add(&lax::div(&lax::mul(&k(2.0), &a)?, &us)?, &b)?;
            let kk = lax::floor(&fma(&slope, &u, &c)?)?;
            let reject = lax::or(&lax::lt(&kk, &k(0.0))?, &lax::gt(&kk, count)?)?;
            let denom = lax::add(&lax::div(&a, &lax::mul(&us, &us)?)?, &b)?;
            let v = log(&lax::div(&lax::mul(&v, &alpha)?, &denom)?)?;
            let n_minus_k_1 = lax::add(&lax::sub(count, &kk)?, &k(1.0))?;
            let ub = fma(
                &lax::add(count, &k(1.0))?,
                &log(&lax::div(&n_minus_m_1, &n_minus_k_1)?)?,
                &ub_m,
            )?;
            let ub = fma(
                &lax::add(&kk, &k(0.5))?,
                &log(&lax::div(
                    &lax::mul(&r, &n_minus_k_1)?,
                    &lax::add(&kk, &k(1.0))?,
                )?)?,
                &ub,
            )?;
            let ub = lax::add(&ub, &tails_m)?;
            let ub = lax::sub(&ub, &stirling_tail(&kk)?)?;
            let ub = lax::sub(&ub, &stirling_tail(&lax::sub(count, &kk)?)?)?;
            let accept = lax::or(
                &accept1,
                &lax::and(&lax::not(&reject)?, &lax::le(&v, &ub)?)?,
            )?;
            let k_out = lax::select(&accept, &kk, k_out)?;
            let accepted = lax::or(accepted, &accept)?;
            Ok((lax::add(i, &Array::scalar(1i32))?, k_out, accepted, key))
        })())
    };
    let init = (
        Array::scalar(0i32),
        lax::broadcast_to_rank(&k(-1.0), &shape)?,
        lax::broadcast_to_rank(&Array::scalar(false), &shape)?,
        key.clone(),
    );
    let (_, k_out, _, _) = while_loop(cond, body, init)?;
    Ok(k_out)
}
