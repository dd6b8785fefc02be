//! `jax.random`'s samplers that are closed-form transforms of uniform, normal, exponential and
//! gamma draws: cauchy, pareto, weibull_min, lognormal, triangular, rayleigh, wald, geometric,
//! generalized_normal, ball, f, and gumbel's `"high"` and `"highest"` modes. JAX 0.10's formulas step for step,
//! with XLA's CPU arithmetic where cranax reproduces it (`xla_math`: `log`, `log1p`, fused
//! multiply-adds); `tan`, `exp` and `pow` are the backend's, so samplers through them agree
//! with JAX to the ulp bounds docs/PRNG.md states.

use super::samplers::{chisquare, gamma, rademacher};
use super::xla_math::{fma, log, log1p};
use super::{
    check_float, check_key, constant, draw, exponential, normal, param, split2, staging, uniform,
    Param,
};
use crate::array::Array;
use crate::core::error::{Error, Result};
use crate::dtype::DType;
use crate::lax;

/// The sample shape: `shape` if given (every parameter must broadcast to it), else the
/// broadcast shape of the parameters (JAX's `_check_broadcast_shapes`).
fn sample_shape(name: &str, shape: Option<&[usize]>, params: &[&Array]) -> Result<Vec<usize>> {
    let shapes: Vec<&[usize]> = params.iter().map(|p| p.shape()).collect();
    let joint = crate::numpy::broadcast_shapes(name, &shapes)?;
    Ok(shape.map_or(joint, <[usize]>::to_vec))
}

/// A parameter of `dtype` broadcast to the sample `shape`.
fn full_param(name: &str, p: &impl Param, dtype: DType, shape: &[usize]) -> Result<Array> {
    lax::broadcast_to_rank(&param(name, p, dtype, shape)?, shape)
}

/// `x / p` as XLA computes it for JAX: a parameter known now is a constant of JAX's jitted
/// function while staging, and XLA's CPU code divides by a constant as a multiplication by its
/// rounded reciprocal; a runtime divisor is divided exactly.
fn div_by_param(x: &Array, p: &Array) -> Result<Array> {
    if p.is_concrete() && staging() {
        let one = constant(1.0, p.dtype());
        return lax::mul(x, &lax::div(&one, p)?);
    }
    lax::div(x, p)
}

/// The machine epsilon of a float dtype (`finfo(dtype).eps`).
fn eps(dtype: DType) -> f64 {
    match dtype {
        DType::F32 => f32::EPSILON as f64,
        _ => f64::EPSILON,
    }
}

/// The smallest normal float of a float dtype (`finfo(dtype).tiny`).
pub(super) fn tiny(dtype: DType) -> f64 {
    match dtype {
        DType::F32 => f32::MIN_POSITIVE as f64,
        _ => f64::MIN_POSITIVE,
    }
}

/// Cauchy floats (location 0, scale 1): `tan(pi (u - 1/2))` with `u` uniform in `[eps, 1)`.
///
/// # Errors
/// A malformed key or a non-float dtype.
pub fn cauchy(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("cauchy", key)?;
    check_float("cauchy", dtype)?;
    draw("cauchy", key, &[], shape, dtype, |key, _, shape, dtype| {
        let u = uniform(key, shape, dtype, eps(dtype), 1.0)?;
        let pi = constant(std::f64::consts::PI, dtype);
        lax::tan(&lax::mul(&pi, &lax::sub(&u, &constant(0.5, dtype))?)?)
    })
}

/// Pareto floats with shape parameter `b` (support `[1, inf)`): `exp(e / b)` for a standard
/// exponential `e`. `shape` defaults to `b`'s shape.
///
/// # Errors
/// A malformed key, a non-float dtype, or a `b` that does not broadcast to `shape`.
pub fn pareto(key: &Array, b: impl Param, shape: Option<&[usize]>, dtype: DType) -> Result<Array> {
    check_key("pareto", key)?;
    check_float("pareto", dtype)?;
    let bx = b.to_dtype(dtype)?;
    let shape = sample_shape("pareto", shape, &[&bx])?;
    let b = param("pareto", &b, dtype, &shape)?;
    let e = exponential(key, &shape, dtype)?;
    lax::exp(&div_by_param(&e, &b)?)
}

/// Weibull floats with `scale` and `concentration`: the inverse CDF
/// `(-log1p(-u))^(1 / concentration) * scale` of a uniform `u` in `[0, 1)`.
///
/// # Errors
/// A malformed key, a non-float dtype, or parameters that do not broadcast to `shape`.
pub fn weibull_min(
    key: &Array,
    scale: impl Param,
    concentration: impl Param,
    shape: &[usize],
    dtype: DType,
) -> Result<Array> {
    check_key("weibull_min", key)?;
    check_float("weibull_min", dtype)?;
    let scale = param("weibull_min", &scale, dtype, shape)?;
    let conc = param("weibull_min", &concentration, dtype, shape)?;
    let u = uniform(key, shape, dtype, 0.0, 1.0)?;
    let inv_conc = lax::div(&constant(1.0, dtype), &conc)?;
    let x = lax::pow(&lax::neg(&log1p(&lax::neg(&u)?)?)?, &inv_conc)?;
    lax::mul(&x, &scale)
}

/// Log-normal floats: `exp(sigma n)` for a standard normal `n` (`sigma` is the standard
/// deviation of the underlying normal). `shape` defaults to `sigma`'s shape.
///
/// # Errors
/// A malformed key, a non-float dtype, or a `sigma` that does not broadcast to `shape`.
pub fn lognormal(
    key: &Array,
    sigma: impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("lognormal", key)?;
    check_float("lognormal", dtype)?;
    let sx = sigma.to_dtype(dtype)?;
    let shape = sample_shape("lognormal", shape, &[&sx])?;
    let sigma = param("lognormal", &sigma, dtype, &shape)?;
    lax::exp(&lax::mul(&normal(key, &shape, dtype)?, &sigma)?)
}

/// Triangular floats on `[left, right]` with peak at `mode`, by the inverse CDF of a uniform
/// `u`: `left + sqrt(u (right - left)(mode - left))` below `fc = (mode - left) / (right -
/// left)`, `right - sqrt((1 - u)(right - left)(right - mode))` from there.
///
/// # Errors
/// A malformed key, a non-float dtype, or parameters that do not broadcast to `shape`.
pub fn triangular(
    key: &Array,
    left: impl Param,
    mode: impl Param,
    right: impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("triangular", key)?;
    check_float("triangular", dtype)?;
    let (l, m, r) = (
        left.to_dtype(dtype)?,
        mode.to_dtype(dtype)?,
        right.to_dtype(dtype)?,
    );
    let shape = sample_shape("triangular", shape, &[&l, &m, &r])?;
    let l = full_param("triangular", &l, dtype, &shape)?;
    let m = full_param("triangular", &m, dtype, &shape)?;
    let r = full_param("triangular", &r, dtype, &shape)?;
    let width = lax::sub(&r, &l)?;
    let fc = lax::div(&lax::sub(&m, &l)?, &width)?;
    let u = uniform(key, &shape, dtype, 0.0, 1.0)?;
    let rising = lax::mul(&lax::mul(&u, &width)?, &lax::sub(&m, &l)?)?;
    let out1 = lax::add(&l, &lax::sqrt(&rising)?)?;
    let one_minus_u = lax::sub(&constant(1.0, dtype), &u)?;
    let falling = lax::mul(&lax::mul(&one_minus_u, &width)?, &lax::sub(&r, &m)?)?;
    let out2 = lax::sub(&r, &lax::sqrt(&falling)?)?;
    lax::select(&lax::lt(&u, &fc)?, &out1, &out2)
}

/// Rayleigh floats with `scale`: `scale sqrt(-2 log u)` for a uniform `u` in `[0, 1)`.
/// `shape` defaults to `scale`'s shape.
///
/// # Errors
/// A malformed key, a non-float dtype, or a `scale` that does not broadcast to `shape`.
pub fn rayleigh(
    key: &Array,
    scale: impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("rayleigh", key)?;
    check_float("rayleigh", dtype)?;
    let sx = scale.to_dtype(dtype)?;
    let shape = sample_shape("rayleigh", shape, &[&sx])?;
    let scale = full_param("rayleigh", &scale, dtype, &shape)?;
    let u = uniform(key, &shape, dtype, 0.0, 1.0)?;
    let root = lax::sqrt(&lax::mul(&log(&u)?, &constant(-2.0, dtype))?)?;
    lax::mul(&scale, &root)
}

/// Wald (inverse Gaussian) floats with `mean` and shape 1, by Michael, Schucany and Haas'
/// method: a normal `v` from the first half of `split(key)` and a uniform `z` from the second,
/// `y = v^2`, `x = mean + mean^2 y / 2 - (mean / 2) sqrt(4 mean y + mean^2 y^2)`, kept when
/// `z <= mean / (mean + x)`, else `mean^2 / x`. `shape` defaults to `mean`'s shape.
///
/// # Errors
/// A malformed key, a non-float dtype, or a `mean` that does not broadcast to `shape`.
pub fn wald(key: &Array, mean: impl Param, shape: Option<&[usize]>, dtype: DType) -> Result<Array> {
    check_key("wald", key)?;
    check_float("wald", dtype)?;
    let mx = mean.to_dtype(dtype)?;
    let shape = sample_shape("wald", shape, &[&mx])?;
    let mu = full_param("wald", &mean, dtype, &shape)?;
    let (k1, k2) = split2(key)?;
    let v = normal(&k1, &shape, dtype)?;
    let z = uniform(&k2, &shape, dtype, 0.0, 1.0)?;
    let k = |x: f64| constant(x, dtype);
    let y = lax::integer_pow(&v, 2)?;
    let y_sq = lax::integer_pow(&y, 2)?;
    let mu_sq = lax::integer_pow(&mu, 2)?;
    // XLA fuses the multiplies into the adds that consume them.
    let radicand = fma(&lax::mul(&k(4.0), &mu)?, &y, &lax::mul(&mu_sq, &y_sq)?)?;
    let sqrt_term = lax::sqrt(&radicand)?;
    let near = lax::add(&mu, &lax::mul(&lax::mul(&mu_sq, &y)?, &k(0.5))?)?;
    let x = fma(&lax::neg(&lax::mul(&mu, &k(0.5))?)?, &sqrt_term, &near)?;
    let keep = lax::le(&z, &lax::div(&mu, &lax::add(&mu, &x)?)?)?;
    lax::select(&keep, &x, &lax::div(&mu_sq, &x)?)
}

/// Geometric counts (i32, support `1, 2, ...`) with success probability `p`:
/// `floor(log u / log1p(-p)) + 1` for a uniform `u` (0 taken as 1) in `p`'s float dtype (f32
/// for a Rust float). `shape` defaults to `p`'s shape.
///
/// # Errors
/// A malformed key, a non-integer `dtype`, or a `p` that does not broadcast to `shape`.
pub fn geometric(
    key: &Array,
    p: impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("geometric", key)?;
    if dtype.is_float() || dtype == DType::Bool {
        return Err(Error::value_err(format!(
            "dtype argument to `geometric` must be an int dtype, got {}",
            dtype.numpy_name()
        )));
    }
    let float = match p.own_dtype() {
        DType::F64 => DType::F64,
        _ => DType::F32,
    };
    let px = p.to_dtype(float)?;
    let shape = sample_shape("geometric", shape, &[&px])?;
    let p = param("geometric", &px, float, &shape)?;
    let u = uniform(key, &shape, float, 0.0, 1.0)?;
    let zero = constant(0.0, float);
    let u = lax::select(
        &lax::eq(&u, &zero)?,
        &lax::broadcast_to_rank(&constant(1.0, float), &shape)?,
        &u,
    )?;
    let log_u = log(&u)?;
    // A known `p` is folded by XLA on the host, with the C library's log1p.
    let log_q = match (p.is_concrete() && staging(), float) {
        (true, DType::F32) => host_map(&p, |q| (-(q as f32)).ln_1p() as f64)?,
        (true, _) => host_map(&p, |q| (-q).ln_1p())?,
        (false, _) => log1p(&lax::neg(&p)?)?,
    };
    let log_q = lax::broadcast_to_rank(&log_q, &shape)?;
    let g = lax::add(
        &lax::floor(&div_by_param(&log_u, &log_q)?)?,
        &constant(1.0, float),
    )?;
    lax::convert_element_type(&g, dtype)
}

/// `f` applied on the host to each value of a concrete float array.
fn host_map(x: &Array, f: impl Fn(f64) -> f64) -> Result<Array> {
    let values: Vec<f64> = x.to_f64_vec()?.into_iter().map(f).collect();
    let out = Array::from_slice(&values);
    let out = lax::convert_element_type(&out, x.dtype())?;
    lax::reshape(&out, x.shape())
}

/// Generalized normal floats with shape parameter `p` (density proportional to
/// `exp(-|x|^p)`): `r g^(1/p)` for `g = gamma(1/p)` and a Rademacher sign `r`, from the two
/// halves of `split(key)`. `p` is a number, as JAX's static use of it requires.
///
/// # Errors
/// A malformed key or a non-float dtype.
pub fn generalized_normal(key: &Array, p: f64, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("generalized_normal", key)?;
    check_float("generalized_normal", dtype)?;
    let (k1, k2) = split2(key)?;
    let g = gamma(&k1, 1.0 / p, Some(shape), dtype)?;
    let r = rademacher(&k2, shape, dtype)?;
    lax::mul(&r, &lax::pow(&g, &constant(1.0 / p, dtype))?)
}

/// Points uniform in the unit `L_p` ball of dimension `d`, shape `shape + (d,)` (Barthe,
/// Guédon, Mendelson and Naor): `g / (sum |g|^p + e)^(1/p)` for generalized normals `g` of
/// shape `shape + (d,)` and an exponential `e` of shape `shape`, from the two halves of
/// `split(key)`.
///
/// # Errors
/// A malformed key or a non-float dtype.
pub fn ball(key: &Array, d: usize, p: f64, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("ball", key)?;
    check_float("ball", dtype)?;
    let (k1, k2) = split2(key)?;
    let full = [shape, &[d]].concat();
    let g = generalized_normal(&k1, p, &full, dtype)?;
    let e = exponential(&k2, shape, dtype)?;
    let powered = lax::pow(&lax::abs(&g)?, &constant(p, dtype))?;
    let norm = lax::add(&lax::reduce_sum(&powered, &[shape.len()])?, &e)?;
    let norm = lax::pow(&norm, &constant(1.0 / p, dtype))?;
    let dims: Vec<usize> = (0..shape.len()).collect();
    lax::div(&g, &lax::broadcast_in_dim(&norm, &full, &dims)?)
}

/// Gumbel floats with JAX's `mode`: `"low"` is [`gumbel`](super::gumbel); in `"high"` mode two
/// uniforms `hi`, `lo` per sample (drawn as one
/// `(2,) + shape` array) give `x = hi` when `hi >= 1/2`, else `hi + 2^-nmant lo + tiny` (the
/// finer resolution near 0), then `-log(-log1p(-x))`.
///
/// `"highest"` is `"high"` in f64; in f32 it draws 64 random bits per sample, turns the
/// number `b` (below 1/2) or `1 - b` (from 1/2 on) of them into an f32 in `(0, 1)` keeping
/// all the precision near 0 ([`u64_fraction_to_f32`]), and returns `-log(-log1p(-x))` or
/// `-log(-log(x))` respectively (JAX's `_gumbel`).
///
/// # Errors
/// A malformed key, a non-float dtype, or a mode other than `"low"`, `"high"` and `"highest"`.
pub fn gumbel_mode(key: &Array, shape: &[usize], dtype: DType, mode: &str) -> Result<Array> {
    check_key("gumbel", key)?;
    check_float("gumbel", dtype)?;
    match mode {
        "low" => return super::gumbel(key, shape, dtype),
        "high" => {}
        "highest" if dtype == DType::F32 => return gumbel_highest_f32(key, shape),
        "highest" => {}
        _ => {
            return Err(Error::value_err(format!(
                "Must provide valid mode for gumbel got: {mode}"
            )))
        }
    }
    let n: usize = shape.iter().product();
    let both = uniform(key, &[2 * n], dtype, 0.0, 1.0)?;
    let hi = lax::reshape(&lax::slice(&both, &[0], &[n], None)?, shape)?;
    let lo = lax::reshape(&lax::slice(&both, &[n], &[2 * n], None)?, shape)?;
    let nmant = if dtype == DType::F32 { 23 } else { 52 };
    let scale = constant(2f64.powi(-nmant), dtype);
    let fine = lax::add(&fma(&scale, &lo, &hi)?, &constant(tiny(dtype), dtype))?;
    let x = lax::select(&lax::ge(&hi, &constant(0.5, dtype))?, &hi, &fine)?;
    lax::neg(&log(&lax::neg(&log1p(&lax::neg(&x)?)?)?)?)
}

/// JAX's f32 `gumbel(mode="highest")`: `bits` are `(hi, lo)` u32 pairs, a 64-bit fraction `b`;
/// below 1/2 it stands for `b`, else its two's-complement negation `1 - b` (carry from `lo`
/// into `hi`) is used and the log taken on the other side.
fn gumbel_highest_f32(key: &Array, shape: &[usize]) -> Result<Array> {
    let mut wide = vec![2];
    wide.extend_from_slice(shape);
    let bits = super::bits(key, &wide)?;
    let half = |x: &Array, i: usize| -> Result<Array> {
        let mut lo = vec![0; wide.len()];
        let mut hi = wide.clone();
        lo[0] = i;
        hi[0] = i + 1;
        lax::reshape(&lax::slice(x, &lo, &hi, None)?, shape)
    };
    let u32c = |v: u32| lax::broadcast_to_rank(&Array::scalar(v), shape);
    let (hi, lo) = (half(&bits, 0)?, half(&bits, 1)?);
    let (neg_hi, neg_lo) = negate_u64(&hi, &lo)?;
    let below_half = lax::lt(&hi, &u32c(1 << 31)?)?;
    let x = u64_fraction_to_f32(
        &lax::select(&below_half, &hi, &neg_hi)?,
        &lax::select(&below_half, &lo, &neg_lo)?,
    )?;
    let small = log1p(&lax::neg(&x)?)?;
    let large = log(&x)?;
    lax::neg(&log(&lax::neg(&lax::select(
        &below_half,
        &small,
        &large,
    )?)?)?)
}

/// `-(hi, lo)` in 64-bit two's complement: `(!hi + carry, !lo + 1)`, the carry when `lo` is 0.
fn negate_u64(hi: &Array, lo: &Array) -> Result<(Array, Array)> {
    let (not_hi, not_lo) = (lax::not(hi)?, lax::not(lo)?);
    let max = lax::broadcast_to_rank(&Array::scalar(u32::MAX), lo.shape())?;
    let carry = lax::convert_element_type(&lax::eq(&not_lo, &max)?, DType::U32)?;
    let one = lax::broadcast_to_rank(&Array::scalar(1u32), lo.shape())?;
    Ok((lax::add(&not_hi, &carry)?, lax::add(&not_lo, &one)?))
}

/// JAX's `_safe_int_to_float`: the 64-bit fraction `(hi, lo)` (u32 halves, not 0) as the f32
/// `2^-(z+1) * 1.m` with `z` its leading zeros and `m` the 23 bits after its leading one
/// (truncated), built from the exponent and mantissa bits.
fn u64_fraction_to_f32(hi: &Array, lo: &Array) -> Result<Array> {
    let shape = hi.shape().to_vec();
    let u = |v: u32| lax::broadcast_to_rank(&Array::scalar(v), &shape);
    let (hz, lz) = (lax::clz(hi)?, lax::clz(lo)?);
    let hi_zero = lax::eq(&hz, &u(32)?)?;
    let top = lax::shift_left(hi, &hz)?;
    let rest = lax::select(
        &hi_zero,
        &lax::shift_left(lo, &lz)?,
        &lax::shift_right_logical(lo, &lax::sub(&u(32)?, &hz)?)?,
    )?;
    let mantissa = lax::shift_right_logical(&lax::or(&top, &rest)?, &u(8)?)?;
    let mantissa = lax::and(&mantissa, &u((1 << 23) - 1)?)?;
    let zeros = lax::select(&hi_zero, &lax::add(&u(32)?, &lz)?, &hz)?;
    let exponent = lax::shift_left(&lax::sub(&u(126)?, &zeros)?, &u(23)?)?;
    let exponent = lax::and(&exponent, &u((1 << 30) - (1 << 22))?)?;
    lax::bitcast_convert_type(&lax::or(&exponent, &mantissa)?, DType::F32)
}

/// Snedecor's F floats with `dfnum` and `dfden` degrees of freedom: `(c1 / dfnum) / (c2 /
/// dfden)` for chi-square draws `c1` (from the second half of `split(key)`) and `c2` (the
/// first). `shape` defaults to the broadcast shape of the parameters.
///
/// # Errors
/// A malformed key, a non-float dtype, or parameters that do not broadcast to `shape`.
pub fn f(
    key: &Array,
    dfnum: impl Param,
    dfden: impl Param,
    shape: Option<&[usize]>,
    dtype: DType,
) -> Result<Array> {
    check_key("f", key)?;
    check_float("f", dtype)?;
    let (num, den) = (dfnum.to_dtype(dtype)?, dfden.to_dtype(dtype)?);
    let shape = sample_shape("f", shape, &[&num, &den])?;
    let (key_den, key_num) = split2(key)?;
    let chi_num = chisquare(&key_num, &num, Some(&shape), dtype)?;
    let chi_den = chisquare(&key_den, &den, Some(&shape), dtype)?;
    lax::div(
        &div_by_param(&chi_num, &num)?,
        &div_by_param(&chi_den, &den)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_fractions_become_f32_and_negate_with_a_carry() {
        let words = |v: &[u32]| Array::from_slice(v);
        let (hi, lo) = (
            words(&[0x4000_0000, 0, 0xFFFF_FFFF, 0x0000_0001, 0]),
            words(&[0, 1, 0xFFFF_FFFF, 0x8000_0000, 0x0000_0300]),
        );
        let x = u64_fraction_to_f32(&hi, &lo)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        let below_one = 1.0f32 - f32::EPSILON / 2.0;
        let want = [
            0.25,
            2f32.powi(-64),
            below_one,
            2f32.powi(-32) * 1.5,
            2f32.powi(-55) * 1.5,
        ];
        assert_eq!(x, want);
        let (nh, nl) = negate_u64(&hi, &lo).unwrap();
        assert_eq!(
            nh.to_vec::<u32>().unwrap(),
            [0xC000_0000, 0xFFFF_FFFF, 0, 0xFFFF_FFFE, 0xFFFF_FFFF]
        );
        assert_eq!(
            nl.to_vec::<u32>().unwrap(),
            [0, 0xFFFF_FFFF, 1, 0x8000_0000, 0xFFFF_FD00]
        );
    }
}
