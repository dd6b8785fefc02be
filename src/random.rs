//! `random`: JAX's `jax.random`, bit for bit. A key is a `u32[2]` array (JAX's legacy raw key,
//! `PRNGKey(seed)`); every sampler is a pure function of a key and a shape, built from traceable
//! lax ops around the `threefry2x32` primitive, so samplers run eagerly, under `jit`, and under
//! `vmap` over a batch of keys (`split(key, n)`) with the same bits.
//!
//! The algorithms are JAX's (`jax/_src/random.py`, `jax/_src/prng.py`, `threefry2x32.py`) in
//! the original, non-partitionable threefry mode (`jax_threefry_partitionable=False`, the
//! default before JAX 0.5), or JAX 0.10's partitionable one after
//! `config::set_threefry_partitionable(true)`: same keys, same bits, same floats (see
//! docs/PRNG.md).
//! The floats are those of JAX 0.10 on an x86-64 CPU, whose compiled code fuses multiply-adds
//! and has its own `log`, `log1p`, `erf` and `erf_inv`; `xla_math` writes those out in lax ops.
//! Rust numbers passed as parameters behave like Python scalars with x64 off: floats are f32
//! unless the sample dtype says otherwise, integers i32. Choose f64 per call with `dtype`.
//!
//! `permutation` (and `choice` without replacement) sorts by random keys as JAX does, with
//! the stable `sort` primitive (JAX's `sort_key_val`).
//!
//! Where JAX clamps instead of failing, so does this module: `uniform` with `minval > maxval`
//! returns `minval` everywhere, `randint` with `maxval <= minval` returns `minval`. Where JAX
//! raises, the function returns `Err` with JAX's message (a malformed key, `choice` of more
//! samples than the population without replacement, shapes that do not broadcast).
//!
//! [`KeyStream`] turns a key into a `rand::RngCore` for code written against the `rand` crate.

use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::{DType, Scalar};
use crate::lax;

mod binomial;
mod gamma_grad;
mod multinomial;
mod multivariate;
mod samplers;
mod transforms;
mod xla_math;
pub use binomial::binomial;
pub use gamma_grad::random_gamma_grad;
pub use multinomial::multinomial;
pub use multivariate::{choice_array, choice_p, multivariate_normal, orthogonal};
pub use samplers::{
    beta, chisquare, dirichlet, double_sided_maxwell, exponential, gamma, laplace, loggamma,
    logistic, maxwell, poisson, rademacher, t,
};
pub use transforms::{
    ball, cauchy, f, generalized_normal, geometric, gumbel_mode, lognormal, pareto, rayleigh,
    triangular, wald, weibull_min,
};
use xla_math::{erf, erf_inv, fma, log};

// ---------------------------------------------------------------------------------------------
// Keys

/// A legacy JAX key from a 64-bit seed: `[seed >> 32, seed & 0xFFFFFFFF]` as u32, so
/// `PRNGKey(1234) = [0, 1234]`. All 64 bits count (JAX with x64 on); JAX with x64 off agrees for
/// seeds in `0..2^32` but keeps only the low 32 bits of other seeds (there
/// `PRNGKey(-1) = [0, 2^32-1]` and `PRNGKey(2^32 + 7) = [0, 7]`): `PRNGKey(seed as u32 as i64)`
/// is that key (docs/PRNG.md says why the default is x64 on's).
#[allow(non_snake_case)]
pub fn PRNGKey(seed: i64) -> Array {
    let words = [(seed >> 32) as u32, seed as u32];
    Array::from_slice(&words)
}

/// The same key as [`PRNGKey`] (JAX's `key(seed)` makes a typed key; cranax keys stay `u32[2]`).
pub fn key(seed: i64) -> Array {
    PRNGKey(seed)
}

/// The two words of a concrete key.
///
/// # Errors
/// A key that is not a concrete u32 array of shape `[2]`.
pub fn key_data(key: &Array) -> Result<[u32; 2]> {
    check_key("key_data", key)?;
    let w = key.to_vec::<u32>()?;
    Ok([w[0], w[1]])
}

/// A key must be `u32[2]`; a batch of keys gets JAX's hint to use `vmap`.
fn check_key(name: &str, key: &Array) -> Result<()> {
    let aval = key.aval();
    if aval.dtype == DType::U32 && aval.shape == [2] {
        return Ok(());
    }
    if aval.dtype == DType::U32 && aval.ndim() > 1 && aval.shape.last() == Some(&2) {
        return Err(Error::value_err(format!(
            "{name} accepts a single key, but was given a key array of shape {} != (). \
             Use vmap for batching.",
            shape_str(&aval.shape[..aval.ndim() - 1])
        )));
    }
    Err(Error::type_err(format!(
        "PRNG key must be a uint32 array of shape (2,), got {aval}"
    )))
}

/// The key's words `k0`, `k1` as u32 scalars.
fn key_words(key: &Array) -> Result<(Array, Array)> {
    let word = |i: usize| lax::reshape(&lax::slice(key, &[i], &[i + 1], None)?, &[]);
    Ok((word(0)?, word(1)?))
}

// ---------------------------------------------------------------------------------------------
// Threefry and bits

/// JAX's `threefry_2x32(key, counts)`: flatten the counts, pad an odd length with one 0, hash the
/// first half against the second half pairwise, and return all first outputs then all second
/// outputs (without the pad), in the shape of `counts`.
///
/// # Errors
/// Operands that are not u32, or of shapes that do not broadcast.
pub fn threefry_2x32(key: &Array, counts: &Array) -> Result<Array> {
    check_key("threefry_2x32", key)?;
    if counts.dtype() != DType::U32 {
        return Err(Error::type_err(format!(
            "threefry_2x32 requires uint32 counts, got {}",
            counts.aval()
        )));
    }
    let n = counts.size();
    let mut flat = lax::reshape(counts, &[n])?;
    if n % 2 == 1 {
        flat = lax::concatenate(&[flat, Array::from_slice(&[0u32])], 0)?;
    }
    let half = flat.size() / 2;
    let x0 = lax::slice(&flat, &[0], &[half], None)?;
    let x1 = lax::slice(&flat, &[half], &[2 * half], None)?;
    let (k0, k1) = key_words(key)?;
    let (y0, y1) = lax::threefry2x32(&k0, &k1, &x0, &x1)?;
    let out = lax::concatenate(&[y0, y1], 0)?;
    let out = lax::slice(&out, &[0], &[n], None)?;
    lax::reshape(&out, counts.shape())
}

/// `n` random u32 words: `threefry_2x32(key, iota(n))`.
fn random_bits(key: &Array, n: usize) -> Result<Array> {
    if n >= u32::MAX as usize {
        return Err(Error::value_err(format!(
            "random bits array of size {n} exceeds 2**32 - 2 words (not supported)"
        )));
    }
    threefry_2x32(key, &lax::iota(DType::U32, &[n], 0)?)
}

/// Uniform random u32 of `shape` (JAX's `bits(key, shape, dtype=uint32)`).
///
/// # Errors
/// A key that is not u32 of shape `[2]`, or a shape too large to allocate.
pub fn bits(key: &Array, shape: &[usize]) -> Result<Array> {
    check_key("bits", key)?;
    draw("bits", key, &[], shape, DType::U32, |key, _, shape, _| {
        if crate::config::threefry_partitionable() {
            let (b1, b2) = partitionable_words(key, shape)?;
            return lax::xor(&b1, &b2);
        }
        lax::reshape(&random_bits(key, shape.iter().product())?, shape)
    })
}

/// The partitionable scheme's two words per element: `threefry2x32(k1, k2, hi, lo)` of each
/// element's flat index as a 64-bit counter (`hi` its high word, `lo` its low word: JAX's
/// `iota_2x32_shape`).
fn partitionable_words(key: &Array, shape: &[usize]) -> Result<(Array, Array)> {
    let n: usize = shape.iter().product();
    if n >= u32::MAX as usize {
        return Err(Error::value_err(format!(
            "random bits array of size {n} exceeds 2**32 - 2 elements (not supported)"
        )));
    }
    let (k0, k1) = key_words(key)?;
    // Below 2^32 elements every counter's high word is 0.
    let hi = lax::broadcast_in_dim(&Array::scalar(0u32), shape, &[])?;
    let lo = lax::reshape(&lax::iota(DType::U32, &[n], 0)?, shape)?;
    lax::threefry2x32(&k0, &k1, &hi, &lo)
}

/// Uniform random bits of an unsigned integer dtype (JAX's `bits(key, shape, dtype)`):
/// `ceil(width * size / 32)` words of `threefry_2x32(key, iota)`; for u64 the first half of
/// them are the high words and the second half the low words; for u8 and u16 each word is
/// cut into 4 or 2 pieces, lowest bits first (the words' little-endian bytes).
///
/// # Errors
/// A key that is not u32 of shape `[2]`, or a dtype that is not u8, u16, u32 or u64.
pub fn bits_as(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("bits", key)?;
    let n: usize = shape.iter().product();
    match dtype {
        DType::U32 => bits(key, shape),
        DType::U64 => {
            let (hi, lo) = bits_64(key, shape)?;
            let wide = |x: &Array| lax::convert_element_type(x, DType::U64);
            let hi = lax::shift_left(&wide(&hi)?, &Array::scalar(32u64))?;
            lax::or(&hi, &wide(&lo)?)
        }
        DType::U8 | DType::U16 if crate::config::threefry_partitionable() => {
            lax::convert_element_type(&bits(key, shape)?, dtype)
        }
        DType::U8 | DType::U16 => {
            let width = dtype.bits() as usize;
            let per_word = 32 / width;
            let words = random_bits(key, (n * width).div_ceil(32))?;
            let count = words.size();
            // pieces[i, j] = (word_i >> (width * j)) & mask, read row by row.
            let shifts: Vec<u32> = (0..per_word as u32).map(|j| j * width as u32).collect();
            let shifts =
                lax::broadcast_in_dim(&Array::from_slice(&shifts), &[count, per_word], &[1])?;
            let words = lax::broadcast_in_dim(&words, &[count, per_word], &[0])?;
            let mask = Array::scalar(u32::MAX >> (32 - width));
            let pieces = lax::and(&lax::shift_right_logical(&words, &shifts)?, &mask)?;
            let flat = lax::reshape(&pieces, &[count * per_word])?;
            let flat = lax::slice(&flat, &[0], &[n], None)?;
            lax::reshape(&lax::convert_element_type(&flat, dtype)?, shape)
        }
        _ => Err(Error::type_err(format!(
            "bits: dtype argument must be an unsigned int dtype, got {}",
            dtype.numpy_name()
        ))),
    }
}

/// JAX's 64-bit `random_bits` as two u32 halves: `2n` words, the first `n` the high words and
/// the last `n` the low words of the u64 values.
fn bits_64(key: &Array, shape: &[usize]) -> Result<(Array, Array)> {
    if crate::config::threefry_partitionable() {
        return partitionable_words(key, shape);
    }
    let n: usize = shape.iter().product();
    let words = random_bits(key, 2 * n)?;
    let hi = lax::slice(&words, &[0], &[n], None)?;
    let lo = lax::slice(&words, &[n], &[2 * n], None)?;
    Ok((lax::reshape(&hi, shape)?, lax::reshape(&lo, shape)?))
}

/// `num` new keys, shape `(num, 2)`: `threefry_2x32(key, iota(2 * num))`.
///
/// # Errors
/// A key that is not u32 of shape `[2]`.
pub fn split(key: &Array, num: usize) -> Result<Array> {
    check_key("split", key)?;
    if crate::config::threefry_partitionable() {
        // JAX's `_threefry_split_foldlike`: the two words of counter i are key i.
        let (b1, b2) = partitionable_words(key, &[num])?;
        let col = |b: &Array| lax::reshape(b, &[num, 1]);
        return lax::concatenate(&[col(&b1)?, col(&b2)?], 1);
    }
    lax::reshape(&random_bits(key, 2 * num)?, &[num, 2])
}

/// `split(key, 2)` as two keys.
fn split2(key: &Array) -> Result<(Array, Array)> {
    let keys = split(key, 2)?;
    let row = |i: usize| lax::reshape(&lax::slice(&keys, &[i, 0], &[i + 1, 2], None)?, &[2]);
    Ok((row(0)?, row(1)?))
}

/// `split(key, 3)` as three keys.
fn split3(key: &Array) -> Result<(Array, Array, Array)> {
    let keys = split(key, 3)?;
    let row = |i: usize| lax::reshape(&lax::slice(&keys, &[i, 0], &[i + 1, 2], None)?, &[2]);
    Ok((row(0)?, row(1)?, row(2)?))
}

/// Whether any element of a boolean array is true (a whole-array loop's condition).
fn any(b: &Array) -> Result<Array> {
    let axes: Vec<usize> = (0..b.ndim()).collect();
    lax::reduce_or(b, &axes)
}

/// A new key from a key and a 32-bit integer: `threefry_2x32(key, [0, data])`. `data` may be
/// traced (a u32 or i32 scalar array) or a Rust integer.
///
/// # Errors
/// A key that is not u32 of shape `[2]`.
pub fn fold_in(key: &Array, data: impl Param) -> Result<Array> {
    check_key("fold_in", key)?;
    let data = data.to_dtype(DType::U32)?;
    if data.ndim() != 0 {
        return Err(Error::type_err(format!(
            "fold_in accepts a scalar, but was given an array of shape {} != (). \
             Use vmap for batching.",
            shape_str(data.shape())
        )));
    }
    let counts = lax::concatenate(&[Array::from_slice(&[0u32]), lax::reshape(&data, &[1])?], 0)?;
    threefry_2x32(key, &counts)
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// A distribution parameter (a bound, a probability): a Rust number or an array. Rust numbers
/// are weakly typed, like Python scalars in JAX: they take the sample's dtype exactly (an `f64`
/// bound of an f64 sample is not rounded through f32).
pub trait Param {
    /// The value as an array of `dtype` (JAX's `convert_element_type`).
    fn to_dtype(&self, dtype: DType) -> Result<Array>;
    /// The dtype the value has on its own: f32 for Rust floats (x64 off), i32 for integers.
    fn own_dtype(&self) -> DType;
    /// The values and shape when known now (a Rust number, a concrete array): what XLA sees as
    /// a constant inside `jit` and folds.
    fn host(&self) -> Option<(Vec<f64>, Vec<usize>)>;
}

macro_rules! number_param {
    ($t:ty, $own:ident) => {
        impl Param for $t {
            fn to_dtype(&self, dtype: DType) -> Result<Array> {
                let s = match dtype {
                    // Integers wrap into u32 as NumPy's astype does.
                    DType::U32 if (*self as f64).fract() == 0.0 => Scalar::U32(*self as i64 as u32),
                    _ => Scalar::from_f64(*self as f64, dtype),
                };
                Ok(Array::from_scalar(s))
            }
            fn own_dtype(&self) -> DType {
                DType::$own
            }
            fn host(&self) -> Option<(Vec<f64>, Vec<usize>)> {
                Some((vec![*self as f64], vec![]))
            }
        }
    };
}
number_param!(f32, F32);
number_param!(f64, F32);
number_param!(i32, I32);
number_param!(u32, U32);

impl Param for Array {
    fn to_dtype(&self, dtype: DType) -> Result<Array> {
        lax::convert_element_type(self, dtype)
    }
    fn own_dtype(&self) -> DType {
        self.dtype()
    }
    fn host(&self) -> Option<(Vec<f64>, Vec<usize>)> {
        let values = self.is_concrete().then(|| self.to_f64_vec().ok())??;
        Some((values, self.shape().to_vec()))
    }
}

impl Param for &Array {
    fn to_dtype(&self, dtype: DType) -> Result<Array> {
        lax::convert_element_type(self, dtype)
    }
    fn own_dtype(&self) -> DType {
        self.dtype()
    }
    fn host(&self) -> Option<(Vec<f64>, Vec<usize>)> {
        let values = self.is_concrete().then(|| self.to_f64_vec().ok())??;
        Some((values, self.shape().to_vec()))
    }
}

/// A parameter converted to `dtype` and checked against the sample shape: a scalar stays a
/// scalar (lax broadcasts it), anything else is broadcast to `shape`, which it must fit.
fn param(name: &str, p: &impl Param, dtype: DType, shape: &[usize]) -> Result<Array> {
    let x = p.to_dtype(dtype)?;
    if x.ndim() == 0 || x.shape() == shape {
        return Ok(x);
    }
    let joint = crate::numpy::broadcast_shapes(name, &[x.shape(), shape])?;
    if joint != shape {
        return Err(Error::value_err(format!(
            "{name} parameter shapes must be broadcast-compatible with shape argument, and the \
             result of broadcasting the shapes must equal the shape argument, but got result {} \
             for shape argument {}.",
            shape_str(&joint),
            shape_str(shape)
        )));
    }
    lax::broadcast_to_rank(&x, shape)
}

fn check_float(name: &str, dtype: DType) -> Result<()> {
    if dtype.is_half() && !matches!(name, "uniform" | "normal" | "bernoulli") {
        // JAX's samplers compute 16-bit floats through XLA's f32 functions, rounded after
        // each operation; only uniform and normal follow that here so far.
        Err(Error::value_err(format!(
            "`{name}` does not sample {} yet (uniform and normal do; sample float32 and \
             convert)",
            dtype.numpy_name()
        )))
    } else if dtype.is_float() {
        Ok(())
    } else {
        Err(not_float(name, dtype))
    }
}

fn not_float(name: &str, dtype: DType) -> Error {
    Error::value_err(format!(
        "dtype argument to `{name}` must be a float dtype, got {}",
        dtype.numpy_name()
    ))
}

/// A scalar constant of a float dtype.
fn constant(v: f64, dtype: DType) -> Array {
    Array::from_scalar(Scalar::from_f64(v, dtype))
}

// ---------------------------------------------------------------------------------------------
// Floats

/// Uniform floats in `[0, 1)`: random mantissa bits under the exponent of 1.0, minus 1.
fn unit_floats(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    match dtype {
        DType::F32 => {
            let mantissa = lax::shift_right_logical(&bits(key, shape)?, &Array::scalar(9u32))?;
            let one_to_two = lax::or(&mantissa, &Array::scalar(0x3F80_0000u32))?;
            lax::sub(
                &lax::bitcast_convert_type(&one_to_two, DType::F32)?,
                &Array::scalar(1.0f32),
            )
        }
        // JAX takes u64 bits `(hi << 32) | lo` and keeps the top 52 as the mantissa: the float is
        // `(bits >> 12) * 2^-52 = hi * 2^-32 + (lo >> 12) * 2^-52`. Both terms and their sum are
        // exact in f64 (52 bits in all), so this is the same number without a u64 dtype.
        DType::F64 => {
            let (hi, lo) = bits_64(key, shape)?;
            let lo = lax::shift_right_logical(&lo, &Array::scalar(12u32))?;
            let hi = lax::mul(
                &lax::convert_element_type(&hi, DType::F64)?,
                &Array::scalar(2f64.powi(-32)),
            )?;
            let lo = lax::mul(
                &lax::convert_element_type(&lo, DType::F64)?,
                &Array::scalar(2f64.powi(-52)),
            )?;
            lax::add(&hi, &lo)
        }
        // The top mantissa bits of random bits under the exponent of 1.0, as for f32: 16
        // random bits for f16, 8 for bf16 (JAX draws at least 8 bits, and bf16 has 7).
        DType::F16 | DType::BF16 => {
            let (mantissa_bits, rng_bits, one_bits) = if dtype == DType::F16 {
                (10, 16, 0x3C00u16)
            } else {
                (7, 8, 0x3F80u16)
            };
            let width = DType::int_of_bits(rng_bits, false).expect("8 or 16 bits");
            let b = lax::convert_element_type(&bits_as(key, shape, width)?, DType::U16)?;
            let mantissa =
                lax::shift_right_logical(&b, &Array::scalar((rng_bits - mantissa_bits) as u16))?;
            let one_to_two = lax::or(&mantissa, &Array::scalar(one_bits))?;
            lax::sub(
                &lax::bitcast_convert_type(&one_to_two, dtype)?,
                &constant(1.0, dtype),
            )
        }
        _ => Err(not_float("uniform", dtype)),
    }
}

/// Uniform floats in `[minval, maxval)`: `max(minval, u * (maxval - minval) + minval)`.
///
/// # Errors
/// A key that is not u32 of shape `[2]`, a non-float `dtype`, or bounds that do not broadcast to `shape`.
pub fn uniform(
    key: &Array,
    shape: &[usize],
    dtype: DType,
    minval: impl Param,
    maxval: impl Param,
) -> Result<Array> {
    check_key("uniform", key)?;
    check_float("uniform", dtype)?;
    let lo = param("uniform", &minval, dtype, shape)?;
    let hi = param("uniform", &maxval, dtype, shape)?;
    draw(
        "uniform",
        key,
        &[lo, hi],
        shape,
        dtype,
        |key, p, shape, dtype| {
            let (lo, hi) = (&p[0], &p[1]);
            let u = unit_floats(key, shape, dtype)?;
            // XLA fuses the multiply and the add: one rounding.
            lax::max(lo, &fma(&u, &lax::sub(hi, lo)?, lo)?)
        },
    )
}

/// Standard normal floats: `sqrt(2) * erf_inv(u)` with `u` uniform in `(-1, 1)`.
///
/// # Errors
/// A key that is not u32 of shape `[2]`, or a non-float `dtype`.
pub fn normal(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("normal", key)?;
    check_float("normal", dtype)?;
    draw("normal", key, &[], shape, dtype, |key, _, shape, dtype| {
        // nextafter(-1, 0) in the dtype.
        let above_minus_one = lax::nextafter(&constant(-1.0, dtype), &constant(0.0, dtype))?;
        let u = uniform(key, shape, dtype, above_minus_one, 1.0)?;
        lax::mul(&constant(std::f64::consts::SQRT_2, dtype), &erf_inv(&u)?)
    })
}

/// The fewest elements an eager draw has for [`draw`] to run it compiled: each eager op of a
/// sampler (`normal` has ~140) allocates its result and walks it once, about 1.8 µs per
/// element in all for `normal`, against a compile of a few milliseconds, done once per
/// sampler, shape, dtype and `config::trace_context`.
const COMPILED_DRAWS: usize = 4096;

/// A sampler's lax ops: `(key, parameters, shape, dtype) -> sample`.
pub(super) type DrawOps = fn(&Array, &[Array], &[usize], DType) -> Result<Array>;

/// A sampler's draw: its lax `ops` on `key` and `params` (its array parameters). As JAX's
/// samplers are jitted, an eager draw (no transformation under way, a concrete key and
/// parameters) of [`COMPILED_DRAWS`] elements or more runs compiled, once per (sampler,
/// shape, dtype, parameter types, `config::trace_context`), cached; anything else runs the
/// ops as they are (op by op on small eager draws; under `jit`, `vmap` or `grad` they join
/// the trace, as JAX's inlined jitted sampler does). The same ops either way, so the same bits
/// (`tests/random.rs` holds jitted draws to JAX's bit for bit, as it holds eager ones).
pub(super) fn draw(
    name: &'static str,
    key: &Array,
    params: &[Array],
    shape: &[usize],
    dtype: DType,
    ops: DrawOps,
) -> Result<Array> {
    use crate::api::stages::{Compiled, ShapeDtypeStruct};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    let eager = crate::core::trace::current().is_none()
        && key.is_concrete()
        && params.iter().all(Array::is_concrete);
    if !eager || shape.iter().product::<usize>() < COMPILED_DRAWS {
        return ops(key, params, shape, dtype);
    }
    type Draw = Arc<Compiled<(Array, Vec<Array>), Array>>;
    type Key = (&'static str, Vec<usize>, DType, Vec<Aval>, u32);
    static CACHE: OnceLock<Mutex<HashMap<Key, Draw>>> = OnceLock::new();
    /// The most compiled draws kept (then the cache starts over).
    const CAPACITY: usize = 64;
    let cache = CACHE.get_or_init(Default::default);
    let param_types = params.iter().map(|p| p.aval().clone()).collect();
    let k = (
        name,
        shape.to_vec(),
        dtype,
        param_types,
        crate::config::trace_context(),
    );
    let known = cache.lock().ok().and_then(|c| c.get(&k).cloned());
    let compiled = match known {
        Some(d) => d,
        None => {
            let s = shape.to_vec();
            let f = crate::jit(move |key: &Array, params: &Vec<Array>| {
                crate::core::error::or_raise(ops(key, params, &s, dtype))
            });
            let like = |x: &Array| Array::from(ShapeDtypeStruct::like(x));
            let specs = (like(key), params.iter().map(like).collect::<Vec<_>>());
            let d = Arc::new(f.lower(specs)?.compile()?);
            if let Ok(mut c) = cache.lock() {
                if c.len() >= CAPACITY {
                    c.clear();
                }
                c.insert(k, d.clone());
            }
            d
        }
    };
    compiled.call((key.clone(), params.to_vec()))
}

/// Normal floats truncated to the open interval `(lower, upper)`: a uniform draw between
/// `erf(lower / sqrt 2)` and `erf(upper / sqrt 2)` mapped back through `sqrt(2) * erf_inv`,
/// then clipped strictly inside the bounds.
///
/// # Errors
/// A key that is not u32 of shape `[2]`, a non-float `dtype`, or bounds that do not broadcast to `shape`.
pub fn truncated_normal(
    key: &Array,
    lower: impl Param,
    upper: impl Param,
    shape: &[usize],
    dtype: DType,
) -> Result<Array> {
    check_key("truncated_normal", key)?;
    check_float("truncated_normal", dtype)?;
    let lower = param("truncated_normal", &lower, dtype, shape)?;
    let upper = param("truncated_normal", &upper, dtype, shape)?;
    let sqrt2 = constant(std::f64::consts::SQRT_2, dtype);
    let a = erf(&div_by_sqrt2(&lower)?)?;
    let b = erf(&div_by_sqrt2(&upper)?)?;
    let u = uniform(key, shape, dtype, a, b)?;
    let out = lax::mul(&sqrt2, &erf_inv(&u)?)?;
    let lo = next_after(&lax::stop_gradient(&lower)?, f64::INFINITY)?;
    let hi = next_after(&lax::stop_gradient(&upper)?, f64::NEG_INFINITY)?;
    lax::min(&hi, &lax::max(&lo, &out)?)
}

/// `x / sqrt(2)` as JAX computes it in `truncated_normal`. XLA's CPU code divides by a constant
/// as a multiplication by its reciprocal (`x * (1 / sqrt 2)`, the reciprocal rounded to the
/// dtype), which differs from the true quotient in the last bit for about 1 `x` in 8. Only a
/// bound that is a constant inside a staged (jitted) function is divided exactly: XLA's constant
/// folder evaluates the division before code generation. Eagerly JAX runs `_truncated_normal`
/// as its own jitted function with the bounds as runtime arguments, so the reciprocal applies.
fn div_by_sqrt2(x: &Array) -> Result<Array> {
    let dtype = x.dtype();
    if x.is_concrete() && staging() {
        return lax::div(x, &constant(std::f64::consts::SQRT_2, dtype));
    }
    let reciprocal = match dtype {
        DType::F32 => (1.0f32 / std::f32::consts::SQRT_2) as f64,
        _ => 1.0 / std::f64::consts::SQRT_2,
    };
    lax::mul(x, &constant(reciprocal, dtype))
}

/// Whether a staging trace (`jit`, `make_jaxpr`) is active, where a concrete array becomes a
/// constant of the staged program.
fn staging() -> bool {
    let mut interp = crate::core::trace::current();
    while let Some(i) = interp {
        if i.name() == "make_jaxpr" {
            return true;
        }
        interp = i.parent();
    }
    false
}

/// Gumbel floats: `-log(-log(u))` with `u` uniform in `[tiny, 1)` (JAX's default "low" mode).
///
/// # Errors
/// A key that is not u32 of shape `[2]`, or a non-float `dtype`.
pub fn gumbel(key: &Array, shape: &[usize], dtype: DType) -> Result<Array> {
    check_key("gumbel", key)?;
    check_float("gumbel", dtype)?;
    draw("gumbel", key, &[], shape, dtype, |key, _, shape, dtype| {
        let u = uniform(key, shape, dtype, transforms::tiny(dtype), 1.0)?;
        lax::neg(&log(&lax::neg(&log(&u)?)?)?)
    })
}

// ---------------------------------------------------------------------------------------------
// Discrete samples

/// Booleans that are true with probability `p`: `uniform(key, shape) < p`, in the dtype of `p`
/// (f32 for a Rust float).
///
/// # Errors
/// A key that is not u32 of shape `[2]`, a `p` that is not a float, or one that does not
/// broadcast to `shape`.
pub fn bernoulli(key: &Array, p: impl Param, shape: &[usize]) -> Result<Array> {
    check_key("bernoulli", key)?;
    let dtype = p.own_dtype();
    if !dtype.is_float() {
        return Err(Error::type_err(format!(
            "bernoulli probability `p` must have a floating dtype, got {}.",
            dtype.numpy_name()
        )));
    }
    let p = param("bernoulli", &p, dtype, shape)?;
    draw(
        "bernoulli",
        key,
        &[p],
        shape,
        dtype,
        |key, p, shape, dtype| lax::lt(&uniform(key, shape, dtype, 0.0, 1.0)?, &p[0]),
    )
}

/// Uniform i32 in `[minval, maxval)` (`minval` where `maxval <= minval`). JAX's algorithm: two
/// independent u32 draws combined as one 64-bit number modulo the span, which keeps the
/// modulo bias of a non-power-of-two span near 2^-32.
///
/// # Errors
/// A key that is not u32 of shape `[2]`, a non-integer `dtype`, or bounds that do not broadcast to `shape`.
pub fn randint(
    key: &Array,
    shape: &[usize],
    minval: impl Param,
    maxval: impl Param,
) -> Result<Array> {
    check_key("randint", key)?;
    let lo = param("randint", &minval, DType::I32, shape)?;
    let hi = param("randint", &maxval, DType::I32, shape)?;
    draw("randint", key, &[lo, hi], shape, DType::I32, randint_ops)
}

/// [`randint`]'s lax ops, on bounds already in i32.
fn randint_ops(key: &Array, bounds: &[Array], shape: &[usize], _: DType) -> Result<Array> {
    let lo = full(&bounds[0], shape)?;
    let hi = full(&bounds[1], shape)?;
    let (k1, k2) = split2(key)?;
    let (higher, lower) = (bits(&k1, shape)?, bits(&k2, shape)?);

    let span = lax::convert_element_type(&lax::sub(&hi, &lo)?, DType::U32)?;
    let span = lax::select(
        &lax::le(&hi, &lo)?,
        &full(&Array::scalar(1u32), shape)?,
        &span,
    )?;
    // 2^32 mod span, as JAX computes it in u32: (2^16 mod span)^2 mod span, the square wrapping.
    let multiplier = rem(&Array::scalar(1u32 << 16), &span)?;
    let multiplier = rem(&lax::mul(&multiplier, &multiplier)?, &span)?;
    let offset = lax::add(
        &lax::mul(&rem(&higher, &span)?, &multiplier)?,
        &rem(&lower, &span)?,
    )?;
    let offset = rem(&offset, &span)?;
    lax::add(&lo, &lax::convert_element_type(&offset, DType::I32)?)
}

/// A random permutation of `0..n` (i32): JAX's `permutation(key, n)`, which sorts the range by
/// fresh random u32 keys, `ceil(3 ln n / ln(2^32 - 1))` times (once for n up to 1625).
///
/// # Errors
/// A key that is not u32 of shape `[2]`, or an `n` beyond `i32`.
pub fn permutation(key: &Array, n: usize) -> Result<Array> {
    check_key("permutation", key)?;
    check_i32("permutation", n)?;
    shuffle(key, &lax::iota(DType::I32, &[n], 0)?, 0)
}

/// JAX's `permutation(key, x, axis, independent)` of an array: `x` with its slices along `axis`
/// in a random order (one permutation of `0..n`, as [`permutation`], taken along `axis`), or
/// with `independent` (or a 1-D `x`) every line along `axis` shuffled on its own: sorted by
/// fresh u32 keys of `x`'s whole shape, as many rounds as `x.size` asks. A 0-d integer `x`
/// is the `n` of [`permutation`].
///
/// # Errors
/// A malformed key, an axis out of range, a 0-d `x` that is not a concrete integer.
pub fn permutation_array(key: &Array, x: &Array, axis: isize, independent: bool) -> Result<Array> {
    check_key("permutation", key)?;
    let axis = crate::numpy::normalize_axes("permutation", Some(&[axis]), x.ndim().max(1))?[0];
    if x.ndim() == 0 {
        if !x.dtype().is_int() {
            return Err(Error::type_err(
                "x must be an integer or at least 1-dimensional",
            ));
        }
        if !x.is_concrete() {
            return Err(Error::Concretization(format!(
                "traced array with shape {}\nThe problem arose with the `int` function. The error \
                 arose in argument x of jax.random.permutation()",
                x.aval()
            )));
        }
        let n = x.to_f64_vec()?[0];
        return permutation(key, n.max(0.0) as usize);
    }
    if independent || x.ndim() == 1 {
        return shuffle(key, x, axis);
    }
    let order = shuffle(key, &lax::iota(DType::I32, &[x.shape()[axis]], 0)?, 0)?;
    lax::take_clamped(x, &order, axis)
}

/// JAX's `_shuffle`: `x` sorted along `axis` by fresh random u32 keys of its shape (a stable
/// `sort_key_val`), `shuffle_rounds(x.size)` times, each round with the second half of
/// `split(key)`.
fn shuffle(key: &Array, x: &Array, axis: usize) -> Result<Array> {
    let (mut key, mut x) = (key.clone(), x.clone());
    for _ in 0..shuffle_rounds(x.size()) {
        let (next, subkey) = split2(&key)?;
        let sort_keys = bits(&subkey, x.shape())?;
        x = lax::sort(&[sort_keys, x], axis, true, 1)?.remove(1);
        key = next;
    }
    Ok(x)
}

/// How many sorts `permutation` does (tjablin@'s heuristic, as JAX computes it).
fn shuffle_rounds(n: usize) -> usize {
    (3.0 * (n.max(1) as f64).ln() / (u32::MAX as f64).ln()).ceil() as usize
}

/// Samples from `0..n` (i32) of `shape`: uniform with replacement (`randint`), or the first
/// draws of `permutation(key, n)` without.
///
/// # Errors
/// A key that is not u32 of shape `[2]`, an `n` beyond `i32`, or more draws than `n`
/// without `replace`.
pub fn choice(key: &Array, n: usize, shape: &[usize], replace: bool) -> Result<Array> {
    check_key("choice", key)?;
    check_i32("choice", n)?;
    let draws: usize = shape.iter().product();
    if draws == 0 {
        return Ok(Array::zeros(shape, DType::I32));
    }
    if n == 0 {
        return Err(Error::value_err(
            "a must be greater than 0 unless no samples are taken",
        ));
    }
    if replace {
        return randint(key, shape, 0, n as i32);
    }
    if draws > n {
        return Err(Error::value_err(format!(
            "Cannot take a larger sample (size {draws}) than population (size {n}) when \
             'replace=False'"
        )));
    }
    let first = lax::slice(&permutation(key, n)?, &[0], &[draws], None)?;
    lax::reshape(&first, shape)
}

/// Samples from categorical distributions given by `logits` along `axis` (i32 indices), by the
/// Gumbel-max trick. `shape` defaults to the logits' shape without `axis`; a longer `shape`
/// draws several samples per distribution (its trailing dimensions are the batch).
///
/// # Errors
/// A key that is not u32 of shape `[2]`, or an axis out of range.
pub fn categorical(
    key: &Array,
    logits: &Array,
    axis: isize,
    shape: Option<&[usize]>,
) -> Result<Array> {
    check_key("categorical", key)?;
    check_float("categorical", logits.dtype())?;
    let rank = logits.ndim();
    let axis = crate::numpy::normalize_axes("categorical", Some(&[axis]), rank)?[0];
    let mut batch = logits.shape().to_vec();
    let classes = batch.remove(axis);
    let shape = shape.unwrap_or(&batch).to_vec();
    let joint = crate::numpy::broadcast_shapes("categorical", &[&shape, &batch])?;
    if shape.len() < batch.len() || joint != shape {
        return Err(Error::value_err(format!(
            "categorical parameter shapes must be broadcast-compatible with shape argument, and \
             the result of broadcasting the shapes must equal the shape argument, but got result \
             {} for shape argument {}.",
            shape_str(&joint),
            shape_str(&shape)
        )));
    }
    // Noise of shape `shape` with the classes inserted at `axis` (counted from the end).
    let prefix = shape.len() - batch.len();
    let mut noise_shape = shape.clone();
    let class_axis = prefix + axis;
    noise_shape.insert(class_axis, classes);
    let noise = gumbel(key, &noise_shape, logits.dtype())?;
    let dims: Vec<usize> = (prefix..noise_shape.len()).collect();
    let logits = lax::broadcast_in_dim(logits, &noise_shape, &dims)?;
    lax::argmax(&lax::add(&noise, &logits)?, class_axis, DType::I32)
}

fn check_i32(name: &str, n: usize) -> Result<()> {
    if n > i32::MAX as usize {
        return Err(Error::value_err(format!(
            "{name}: population size {n} does not fit the int32 indices"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Building blocks from lax ops

/// `x` broadcast to `shape` (a scalar or an array already of that shape).
fn full(x: &Array, shape: &[usize]) -> Result<Array> {
    if x.shape() == shape {
        Ok(x.clone())
    } else {
        lax::broadcast_to_rank(x, shape)
    }
}

/// Unsigned remainder as XLA defines it (`a % 0 = a`): `a - (a / b) * b`, where u32 `a / 0` is
/// `2^32 - 1` and the product wraps to 0.
fn rem(a: &Array, b: &Array) -> Result<Array> {
    lax::sub(a, &lax::mul(&lax::div(a, b)?, b)?)
}

/// The next float after `x` toward `+inf` or `-inf` (`direction`), as `lax.nextafter`.
/// Arithmetic rather than bit twiddling, so f64 needs no u64: for a finite nonzero `x`, adding
/// `|x| * (2^-p)(1 + 2^-20)` (p = 24 or 53) lands strictly between half and one and a half
/// spacings away and so rounds to the neighbour; the smallest subnormal covers zero and
/// subnormals; `-inf` steps to `-max`, and NaN and `+inf` stay. Checked against Rust's
/// `next_up`/`next_down` in the unit tests.
fn next_after(x: &Array, direction: f64) -> Result<Array> {
    if direction < 0.0 {
        return lax::neg(&next_after(&lax::neg(x)?, f64::INFINITY)?);
    }
    let dtype = x.dtype();
    let (precision, min_subnormal, max) = match dtype {
        DType::F32 => (24, f32::from_bits(1) as f64, f32::MAX as f64),
        _ => (53, f64::from_bits(1), f64::MAX),
    };
    let c = constant(2f64.powi(-precision) * (1.0 + 2f64.powi(-20)), dtype);
    let step = lax::max(
        &lax::mul(&lax::abs(x)?, &c)?,
        &constant(min_subnormal, dtype),
    )?;
    let up = lax::add(x, &step)?;
    // Stepping from the smallest subnormal to zero keeps the sign, as bit arithmetic does.
    let zero = constant(0.0, dtype);
    let up = lax::select(&lax::eq(&up, &zero)?, &lax::mul(x, &zero)?, &up)?;
    let is_neg_inf = lax::eq(x, &constant(f64::NEG_INFINITY, dtype))?;
    let neg_max = full(&constant(-max, dtype), x.shape())?;
    lax::select(&is_neg_inf, &neg_max, &up)
}

// ---------------------------------------------------------------------------------------------
// rand interop

/// A key as a `rand::RngCore`: an endless stream of u32 words for code written against the
/// `rand` crate (`rng.random::<f32>()`, `shuffle`, distributions). Chunk `c` of the stream (256
/// words) is `bits(fold_in(key, c), (256,))`, so JAX reproduces it; `next_u64` is two words, low
/// first, and `fill_bytes` takes words little-endian. The stream repeats after 2^40 words.
/// It runs on the host: the key must be concrete.
#[derive(Clone, Debug)]
pub struct KeyStream {
    key: [u32; 2],
    chunk: u32,
    words: Vec<u32>,
    next: usize,
}

/// Words per `KeyStream` chunk.
pub const STREAM_CHUNK: usize = 256;

impl KeyStream {
    /// The stream of a concrete key.
    ///
    /// # Errors
    /// A key that is not a concrete u32 array of shape `[2]`.
    pub fn new(key: &Array) -> Result<KeyStream> {
        if !key.is_concrete() {
            return Err(Error::Concretization(
                "KeyStream needs a concrete key (it runs on the host, not under a transformation)"
                    .into(),
            ));
        }
        Ok(KeyStream::from_words(key_data(key)?))
    }

    fn from_words(key: [u32; 2]) -> KeyStream {
        KeyStream {
            key,
            chunk: 0,
            words: Vec::new(),
            next: 0,
        }
    }

    /// The next chunk: `bits(fold_in(key, chunk), (256,))` with the host's threefry.
    fn refill(&mut self) {
        let folded = host_threefry_2x32(self.key, &[0, self.chunk]);
        let counts: Vec<u32> = (0..STREAM_CHUNK as u32).collect();
        self.words = host_threefry_2x32([folded[0], folded[1]], &counts);
        self.chunk = self.chunk.wrapping_add(1);
        self.next = 0;
    }
}

/// `threefry_2x32` on host values (same layout as the traced one, for even lengths).
fn host_threefry_2x32(key: [u32; 2], counts: &[u32]) -> Vec<u32> {
    let half = counts.len() / 2;
    let pairs =
        (0..half).map(|i| crate::defs::threefry::threefry2x32(key, [counts[i], counts[half + i]]));
    let (y0, y1): (Vec<u32>, Vec<u32>) = pairs.unzip();
    [y0, y1].concat()
}

impl rand::RngCore for KeyStream {
    fn next_u32(&mut self) -> u32 {
        if self.next == self.words.len() {
            self.refill();
        }
        self.next += 1;
        self.words[self.next - 1]
    }

    fn next_u64(&mut self) -> u64 {
        let lo = self.next_u32() as u64;
        let hi = self.next_u32() as u64;
        (hi << 32) | lo
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(4) {
            let word = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

impl rand::SeedableRng for KeyStream {
    /// A 64-bit seed, little-endian: the stream of `PRNGKey(i64::from_le_bytes(seed))`.
    type Seed = [u8; 8];

    fn from_seed(seed: [u8; 8]) -> KeyStream {
        let s = i64::from_le_bytes(seed);
        KeyStream::from_words([(s >> 32) as u32, s as u32])
    }

    /// The stream of `PRNGKey(seed as i64)`.
    fn seed_from_u64(seed: u64) -> KeyStream {
        KeyStream::from_seed(seed.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_after_is_the_neighbouring_float() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            -f32::from_bits(1),
            3e38,
            f32::MAX,
            -f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.1,
            -2.5e-40,
        ];
        let x = Array::from_slice(&specials);
        let up = next_after(&x, f64::INFINITY)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        let down = next_after(&x, f64::NEG_INFINITY)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        for (i, v) in specials.iter().enumerate() {
            assert_eq!(up[i].to_bits(), v.next_up().to_bits(), "next_up({v})");
            assert_eq!(down[i].to_bits(), v.next_down().to_bits(), "next_down({v})");
        }
        let wide: Vec<f64> = specials
            .iter()
            .map(|&v| v as f64)
            .chain([f64::MAX, f64::from_bits(1), 1e-310])
            .collect();
        let x = Array::from_slice(&wide);
        let up = next_after(&x, f64::INFINITY)
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        let down = next_after(&x, f64::NEG_INFINITY)
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        for (i, v) in wide.iter().enumerate() {
            assert_eq!(up[i].to_bits(), v.next_up().to_bits(), "next_up({v})");
            assert_eq!(down[i].to_bits(), v.next_down().to_bits(), "next_down({v})");
        }
    }

    #[test]
    fn shuffle_rounds_follow_jax() {
        assert_eq!(shuffle_rounds(0), 0);
        assert_eq!(shuffle_rounds(10), 1);
        assert_eq!(shuffle_rounds(1625), 1);
        assert_eq!(shuffle_rounds(1626), 2);
    }
}
