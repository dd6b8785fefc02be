//! The derivative of gamma samples with respect to their shape parameter (JAX's
//! `lax.random_gamma_grad`, the implicit reparameterisation gradient
//! `dx/da = -(dP(a, x)/da) / (dP(a, x)/dx)` of the regularized incomplete gamma function `P`),
//! by JAX's algorithm: the power series of `P` for `x <= max(1, a)` and the continued fraction
//! of its complement beyond, each differentiated term by term in `a` and run as a whole-array
//! `while_loop` until every element has converged.

use super::xla_math::log;
use super::{any, constant};
use crate::api::control::while_loop;
use crate::array::Array;
use crate::core::error::{or_raise, Result};
use crate::dtype::DType;
use crate::lax;

/// `d sample / d a` for gamma samples `x` of shape parameters `a` (same shape and float
/// dtype): `-(dP/da) / (dP/dx)`. 0 where `x = 0`; NaN where `x < 0`, `a <= 0` or either is
/// NaN.
///
/// # Errors
/// Operands of different shapes or dtypes, or not floats.
pub fn random_gamma_grad(a: &Array, x: &Array) -> Result<Array> {
    let dtype = a.dtype();
    super::check_float("random_gamma_grad", dtype)?;
    let k = |v: f64| constant(v, dtype);
    let full = |v: f64| lax::broadcast_to_rank(&k(v), a.shape());
    let is_nan = lax::or(&lax::ne(a, a)?, &lax::ne(x, x)?)?;
    let x_is_zero = lax::eq(x, &k(0.0))?;
    let domain_error = lax::or(&lax::lt(x, &k(0.0))?, &lax::le(a, &k(0.0))?)?;
    let use_igammac = lax::and(&lax::gt(x, &k(1.0))?, &lax::gt(x, a)?)?;
    let ax = lax::sub(&lax::sub(&lax::mul(a, &log(x)?)?, x)?, &lax::lgamma(a)?)?;
    let max = if dtype == DType::F32 {
        f32::MAX as f64
    } else {
        f64::MAX
    };
    let underflow = lax::lt(&ax, &k(-max.ln()))?;
    let disabled = lax::or(
        &lax::or(&x_is_zero, &domain_error)?,
        &lax::or(&underflow, &is_nan)?,
    )?;
    let enabled = lax::not(&disabled)?;
    let fraction = lax::neg(&continued_fraction(
        x,
        a,
        &lax::and(&enabled, &use_igammac)?,
    )?)?;
    let series = series(x, a, &lax::and(&enabled, &lax::not(&use_igammac)?)?)?;
    let out = lax::select(&use_igammac, &fraction, &series)?;
    let out = lax::select(&x_is_zero, &full(0.0)?, &out)?;
    lax::select(&lax::or(&domain_error, &is_nan)?, &full(f64::NAN)?, &out)
}

/// The machine epsilon of `dtype` as a scalar of it.
fn eps(dtype: DType) -> Array {
    let e = if dtype == DType::F32 {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    };
    constant(e, dtype)
}

/// The series `P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n))` and its
/// `a`-derivative term by term, while `|d term / d sum| > eps`; returns the sample derivative
/// `-(d sum/da + sum dlog(ax)/da) x / a`.
fn series(x: &Array, a: &Array, enabled: &Array) -> Result<Array> {
    let dtype = a.dtype();
    let k = |v: f64| constant(v, dtype);
    let zeros = lax::broadcast_to_rank(&k(0.0), a.shape())?;
    let ones = lax::broadcast_to_rank(&k(1.0), a.shape())?;
    type State = (Array, Array, Array, Array, Array, Array);
    let cond = |s: &State| or_raise(any(&s.0));
    let body = |s: &State| -> State {
        or_raise((|| {
            let (on, r0, c0, ans0, dc0, dans0) = s;
            let r = lax::add(r0, &k(1.0))?;
            let x_over_r = lax::div(x, &r)?;
            let dc = lax::sub(
                &lax::mul(dc0, &x_over_r)?,
                &lax::div(&lax::mul(c0, x)?, &lax::mul(&r, &r)?)?,
            )?;
            let dans = lax::add(dans0, &dc)?;
            let c = lax::mul(c0, &x_over_r)?;
            let ans = lax::add(ans0, &c)?;
            let going = lax::gt(&lax::abs(&lax::div(&dc, &dans)?)?, &eps(dtype))?;
            let keep = |new: &Array, old: &Array| lax::select(on, new, old);
            Ok((
                lax::and(on, &going)?,
                keep(&r, r0)?,
                keep(&c, c0)?,
                keep(&ans, ans0)?,
                keep(&dc, dc0)?,
                keep(&dans, dans0)?,
            ))
        })())
    };
    let init = (
        enabled.clone(),
        a.clone(),
        ones.clone(),
        ones,
        zeros.clone(),
        zeros,
    );
    let (_, _, _, ans, _, dans) = while_loop(cond, body, init)?;
    let dlogax = lax::sub(&log(x)?, &lax::digamma(&lax::add(a, &k(1.0))?)?)?;
    let d = lax::add(&dans, &lax::mul(&ans, &dlogax)?)?;
    lax::div(&lax::mul(&lax::neg(&d)?, x)?, a)
}

/// Legendre's continued fraction of `Q(a, x) = 1 - P(a, x)` with its `a`-derivative, the
/// convergents rescaled by `eps` when they grow past `1/eps`, for at most 2000 steps or until
/// the derivative moves by at most `eps`; returns `-(dQ/da + Q dlog(ax)/da) x` (up to the
/// `x^a e^-x / Gamma(a)` factor that cancels in the sample derivative).
fn continued_fraction(x: &Array, a: &Array, enabled: &Array) -> Result<Array> {
    let dtype = a.dtype();
    let k = |v: f64| constant(v, dtype);
    let full = |v: f64| lax::broadcast_to_rank(&k(v), a.shape());
    let y = lax::sub(&k(1.0), a)?;
    let z = lax::add(&lax::add(x, &y)?, &k(1.0))?;
    let pkm1 = lax::add(x, &k(1.0))?;
    let qkm1 = lax::mul(&z, x)?;
    let ans = lax::div(&pkm1, &qkm1)?;
    let dqkm1 = lax::neg(x)?;
    let dans = lax::div(&lax::neg(&lax::mul(&ans, &dqkm1)?)?, &qkm1)?;
    // (enabled, ans, y, z, c, [pkm1, qkm1, pkm2, qkm2], [dpkm2, dqkm2, dpkm1, dqkm1], dans)
    type State = (
        Array,
        Array,
        Array,
        Array,
        Array,
        Vec<Array>,
        Vec<Array>,
        Array,
    );
    let cond = |s: &State| -> Array {
        or_raise((|| lax::and(&lax::lt(&s.4, &k(2000.0))?, &any(&s.0)?))())
    };
    let body = |s: &State| -> State {
        or_raise((|| {
            let (on, ans0, y0, z0, c0, p, dp, dans0) = s;
            let (pkm1, qkm1, pkm2, qkm2) = (&p[0], &p[1], &p[2], &p[3]);
            let (dpkm2, dqkm2, dpkm1, dqkm1) = (&dp[0], &dp[1], &dp[2], &dp[3]);
            let c = lax::add(c0, &k(1.0))?;
            let y = lax::add(y0, &k(1.0))?;
            let z = lax::add(z0, &k(2.0))?;
            let yc = lax::mul(&y, &c)?;
            let pk = lax::sub(&lax::mul(pkm1, &z)?, &lax::mul(pkm2, &yc)?)?;
            let qk = lax::sub(&lax::mul(qkm1, &z)?, &lax::mul(qkm2, &yc)?)?;
            let nonzero = lax::ne(&qk, &k(0.0))?;
            let r = lax::div(&pk, &qk)?;
            let ans = lax::select(&nonzero, &r, ans0)?;
            // d/da of the recurrences: y = n - a and z = x + 2n + 1 - a move with a.
            let dpk = lax::add(
                &lax::sub(
                    &lax::sub(&lax::mul(dpkm1, &z)?, pkm1)?,
                    &lax::mul(dpkm2, &yc)?,
                )?,
                &lax::mul(pkm2, &c)?,
            )?;
            let dqk = lax::add(
                &lax::sub(
                    &lax::sub(&lax::mul(dqkm1, &z)?, qkm1)?,
                    &lax::mul(dqkm2, &yc)?,
                )?,
                &lax::mul(qkm2, &c)?,
            )?;
            let dans_new = lax::select(
                &nonzero,
                &lax::div(&lax::sub(&dpk, &lax::mul(&ans, &dqk)?)?, &qk)?,
                dans0,
            )?;
            let moved = lax::select(
                &nonzero,
                &lax::abs(&lax::sub(&dans_new, dans0)?)?,
                &full(1.0)?,
            )?;
            let rescale = lax::gt(&lax::abs(&pk)?, &lax::div(&k(1.0), &eps(dtype))?)?;
            let scaled = |v: &Array| -> Result<Array> {
                lax::select(&rescale, &lax::mul(v, &eps(dtype))?, v)
            };
            let new_p = [scaled(&pk)?, scaled(&qk)?, scaled(pkm1)?, scaled(qkm1)?];
            let new_dp = [scaled(dpkm1)?, scaled(dqkm1)?, scaled(&dpk)?, scaled(&dqk)?];
            let keep = |new: &Array, old: &Array| lax::select(on, new, old);
            let going = lax::and(on, &lax::gt(&moved, &eps(dtype))?)?;
            Ok((
                going,
                keep(&ans, ans0)?,
                keep(&y, y0)?,
                keep(&z, z0)?,
                c,
                new_p
                    .iter()
                    .zip(p)
                    .map(|(n, o)| keep(n, o))
                    .collect::<Result<_>>()?,
                new_dp
                    .iter()
                    .zip(dp)
                    .map(|(n, o)| keep(n, o))
                    .collect::<Result<_>>()?,
                keep(&dans_new, dans0)?,
            ))
        })())
    };
    let init = (
        enabled.clone(),
        ans,
        y,
        z,
        k(0.0),
        vec![pkm1, qkm1, full(1.0)?, x.clone()],
        vec![full(0.0)?, full(0.0)?, full(0.0)?, dqkm1],
        dans,
    );
    let (_, ans, _, _, _, _, _, dans) = while_loop(cond, body, init)?;
    let dlogax = lax::sub(&log(x)?, &lax::digamma(a)?)?;
    lax::mul(&lax::neg(&lax::add(&dans, &lax::mul(&ans, &dlogax)?)?)?, x)
}
