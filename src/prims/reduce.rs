//! Reductions over axes: `reduce_sum`, `reduce_prod`, `reduce_max`, `reduce_min`, the bitwise
//! `reduce_and`, `reduce_or`, `reduce_xor` (bools and integers), `argmax`, `argmin`.

use super::{BatchOut, JvpOut, LinArg, Prim, Tangent};
use crate::array::{Array, Data};
use crate::core::aval::Aval;
use crate::core::error::{shape_str, Error, Result};
use crate::core::trace::bind1;
use crate::dtype::{DType, Scalar};
use crate::ir::parse::PrintedParams;
use crate::ir::pretty::{py_tuple, Param};
use crate::lax;

/// A reduction over `axes`, with JAX's names and parameters.
#[derive(Clone, Debug, PartialEq)]
/// The reductions, with JAX's parameters.
pub enum ReduceOp {
    /// `reduce_sum`.
    Sum {
        /// The reduced dimensions.
        axes: Vec<usize>,
    },
    /// `reduce_prod` (numbers; JAX's JVP, exact where elements are zero).
    Prod {
        /// The reduced dimensions.
        axes: Vec<usize>,
    },
    /// `reduce_and`: bitwise and of bools or integers (`jnp.all`).
    And {
        /// The reduced dimensions.
        axes: Vec<usize>,
    },
    /// `reduce_or`: bitwise or of bools or integers (`jnp.any`).
    Or {
        /// The reduced dimensions.
        axes: Vec<usize>,
    },
    /// `reduce_xor`: bitwise exclusive or of bools or integers.
    Xor {
        /// The reduced dimensions.
        axes: Vec<usize>,
    },
    /// `reduce_max`.
    Max {
        /// The reduced dimensions.
        axes: Vec<usize>,
    },
    /// `reduce_min`.
    Min {
        /// The reduced dimensions.
        axes: Vec<usize>,
    },
    /// Index of the first maximum along one axis (NaN counts as the maximum).
    Argmax {
        /// The reduced dimension (one).
        axes: Vec<usize>,
        /// The dtype of the indices.
        index_dtype: DType,
    },
    /// Index of the first minimum along one axis (NaN counts as the minimum).
    Argmin {
        /// The reduced dimension (one).
        axes: Vec<usize>,
        /// The dtype of the indices.
        index_dtype: DType,
    },
}

use ReduceOp::*;

impl ReduceOp {
    /// The name JAX prints.
    pub fn name(&self) -> &'static str {
        match self {
            Sum { .. } => "reduce_sum",
            Prod { .. } => "reduce_prod",
            And { .. } => "reduce_and",
            Or { .. } => "reduce_or",
            Xor { .. } => "reduce_xor",
            Max { .. } => "reduce_max",
            Min { .. } => "reduce_min",
            Argmax { .. } => "argmax",
            Argmin { .. } => "argmin",
        }
    }

    /// The reduced axes.
    pub fn axes(&self) -> &[usize] {
        match self {
            Sum { axes }
            | Prod { axes }
            | And { axes }
            | Or { axes }
            | Xor { axes }
            | Max { axes }
            | Min { axes }
            | Argmax { axes, .. }
            | Argmin { axes, .. } => axes,
        }
    }

    fn with_axes(&self, axes: Vec<usize>) -> ReduceOp {
        match self {
            Sum { .. } => Sum { axes },
            Prod { .. } => Prod { axes },
            And { .. } => And { axes },
            Or { .. } => Or { axes },
            Xor { .. } => Xor { axes },
            Max { .. } => Max { axes },
            Min { .. } => Min { axes },
            Argmax { index_dtype, .. } => Argmax {
                axes,
                index_dtype: *index_dtype,
            },
            Argmin { index_dtype, .. } => Argmin {
                axes,
                index_dtype: *index_dtype,
            },
        }
    }

    /// The identity of the combining op: +0 for sums (so a sum of -0.0s is +0.0), -inf/+inf
    /// (or the integer extremes) for max/min, 1 for products, all bits set for `and`, none
    /// for `or`/`xor`. Argmax/argmin compare against their first element.
    pub fn identity(&self, dtype: DType) -> Scalar {
        let is_max = matches!(self, Max { .. } | Argmax { .. });
        match self {
            Sum { .. } | Or { .. } | Xor { .. } => Scalar::from_i128(0, dtype),
            Prod { .. } => Scalar::from_i128(1, dtype),
            And { .. } => Scalar::from_i128(-1, dtype),
            _ if dtype == DType::Bool => Scalar::Bool(!is_max),
            _ if dtype.is_float() => Scalar::from_f64(
                if is_max {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                },
                dtype,
            ),
            _ => {
                let range = dtype.iinfo().expect("an integer dtype");
                Scalar::from_i128(if is_max { range.min } else { range.max }, dtype)
            }
        }
    }

    /// Parameters as JAX prints them.
    pub fn params(&self) -> Vec<(&'static str, Param)> {
        let mut ps = vec![("axes", Param::Text(py_tuple(self.axes())))];
        if let Argmax { index_dtype, .. } | Argmin { index_dtype, .. } = self {
            ps.push(("index_dtype", Param::Text(index_dtype.numpy_name().into())));
        }
        ps
    }

    /// The inverse of `name` and `params` (`None`: not a reduction).
    ///
    /// # Errors
    /// Parameters missing or malformed in the printed jaxpr (the message names the primitive and the parameter).
    pub fn from_printed(name: &str, p: &PrintedParams) -> Result<Option<ReduceOp>> {
        let axes = || p.get("axes");
        Ok(Some(match name {
            "reduce_sum" => Sum { axes: axes()? },
            "reduce_prod" => Prod { axes: axes()? },
            "reduce_and" => And { axes: axes()? },
            "reduce_or" => Or { axes: axes()? },
            "reduce_xor" => Xor { axes: axes()? },
            "reduce_max" => Max { axes: axes()? },
            "reduce_min" => Min { axes: axes()? },
            "argmax" => Argmax {
                axes: axes()?,
                index_dtype: p.get("index_dtype")?,
            },
            "argmin" => Argmin {
                axes: axes()?,
                index_dtype: p.get("index_dtype")?,
            },
            _ => return Ok(None),
        }))
    }

    /// The result type, or JAX's error for bad axes or dtypes.
    ///
    /// # Errors
    /// Axes out of range or repeated; bools to `reduce_sum`/`reduce_prod`, floats to the
    /// bitwise reductions; argmax/argmin of several or empty axes.
    pub fn abstract_eval(&self, x: &Aval) -> Result<Aval> {
        let axes = self.axes();
        for (i, &a) in axes.iter().enumerate() {
            if a >= x.ndim() || axes[..i].contains(&a) {
                return Err(Error::value_err(format!(
                    "{}: axes {} are out of range or repeated for an operand of shape {}",
                    self.name(),
                    py_tuple(axes),
                    shape_str(&x.shape)
                )));
            }
        }
        let shape: Vec<usize> = (0..x.ndim())
            .filter(|d| !axes.contains(d))
            .map(|d| x.shape[d])
            .collect();
        match self {
            Sum { .. } | Prod { .. } if x.dtype == DType::Bool => Err(Error::type_err(format!(
                "{} does not accept dtype bool. Accepted dtypes are subtypes of number.",
                self.name()
            ))),
            And { .. } | Or { .. } | Xor { .. } if x.dtype.is_float() => {
                Err(Error::type_err(format!(
                    "{}: logical reduction requires operand dtype bool or int, got {}.",
                    self.name(),
                    x.dtype.numpy_name()
                )))
            }
            Argmax { index_dtype, .. } | Argmin { index_dtype, .. } => {
                if axes.len() != 1 {
                    return Err(Error::value_err(format!(
                        "{} takes exactly one axis, got {}",
                        self.name(),
                        py_tuple(axes)
                    )));
                }
                if !index_dtype.is_int() {
                    return Err(Error::type_err(format!(
                        "{} index_dtype must be an integer type, got {}",
                        self.name(),
                        index_dtype.numpy_name()
                    )));
                }
                if x.shape[axes[0]] == 0 {
                    return Err(Error::value_err(format!(
                        "{} of an empty axis (operand shape {}) is not defined",
                        self.name(),
                        shape_str(&x.shape)
                    )));
                }
                Ok(Aval::new(shape, *index_dtype))
            }
            _ => Ok(Aval::new(shape, x.dtype).weak(x.weak_type)),
        }
    }

    /// Evaluate on a concrete array (types already checked).
    ///
    /// # Errors
    /// A tracer as operand.
    pub fn eval(&self, x: &Array, out: Aval) -> Result<Array> {
        let data = x.data()?;
        let groups = reduction_groups(x.shape(), self.axes());
        let result = match self {
            Sum { .. } => Data::from_scalars(
                out.dtype,
                groups.iter().map(|g| match data {
                    // From +0.0, as XLA's reduce from its init value: an empty sum (or one of
                    // -0.0s) is +0.0 (std's `Sum` for floats starts from -0.0).
                    Data::F32(v) => {
                        Scalar::F32(g.iter().fold(0.0f64, |a, &i| a + v[i] as f64) as f32)
                    }
                    Data::F64(v) => {
                        Scalar::F64(pairwise_sum(&g.iter().map(|&i| v[i]).collect::<Vec<_>>()))
                    }
                    // Narrow floats accumulate in f64 and round once (as jnp.sum's f32
                    // accumulation would, but for double rounding); integers wrap.
                    d if d.dtype().is_float() => Scalar::from_f64(
                        g.iter().fold(0.0f64, |a, &i| a + d.get(i).to_f64()),
                        d.dtype(),
                    ),
                    d => Scalar::from_i128(
                        g.iter()
                            .fold(0i128, |a, &i| a.wrapping_add(d.get(i).to_i128())),
                        d.dtype(),
                    ),
                }),
            ),
            Prod { .. } | And { .. } | Or { .. } | Xor { .. } => Data::from_scalars(
                out.dtype,
                groups.iter().map(|g| {
                    let init = self.identity(data.dtype());
                    g.iter()
                        .fold(init, |acc, &i| self.combine(acc, data.get(i)))
                }),
            ),
            Max { .. } | Min { .. } => {
                let is_max = matches!(self, Max { .. });
                Data::from_scalars(
                    out.dtype,
                    groups.iter().map(|g| {
                        let init = self.identity(data.dtype());
                        g.iter()
                            .fold(init, |acc, &i| choose(acc, data.get(i), is_max))
                    }),
                )
            }
            Argmax { .. } | Argmin { .. } => {
                let is_max = matches!(self, Argmax { .. });
                Data::from_scalars(
                    out.dtype,
                    groups.iter().map(|g| {
                        let mut best = 0usize;
                        for (k, &i) in g.iter().enumerate().skip(1) {
                            let (cur, cand) = (data.get(g[best]), data.get(i));
                            if is_nan(cur) {
                                break;
                            }
                            let order = compare_values(cand, cur);
                            if is_nan(cand)
                                || (is_max && order == Some(std::cmp::Ordering::Greater))
                                || (!is_max && order == Some(std::cmp::Ordering::Less))
                            {
                                best = k;
                            }
                        }
                        Scalar::I32(best as i32)
                    }),
                )
            }
        };
        Ok(Array::from_concrete(out, result))
    }

    /// JVP rule (JAX's): linear for sums, the mean over ties for max/min, a pairwise product
    /// tree for products; the integer and bool results have no tangent.
    ///
    /// # Errors
    /// Errors of the primitives it binds.
    pub fn jvp(&self, x: &Array, g: &Tangent) -> Result<JvpOut> {
        if let Prod { axes } = self {
            return prod_jvp(x, g, axes);
        }
        let ans = bind1(Prim::Reduce(self.clone()), std::slice::from_ref(x))?;
        let Some(g) = g else {
            return Ok((vec![ans], vec![None]));
        };
        let t = match self {
            Sum { axes } => Some(lax::reduce_sum(g, axes)?),
            Max { axes } | Min { axes } => {
                // JAX's `_reduce_chooser_jvp_rule`: the mean of g over the locations of the extremum.
                let kept: Vec<usize> = (0..x.ndim()).filter(|d| !axes.contains(d)).collect();
                let ans_b = lax::broadcast_in_dim(&ans, x.shape(), &kept)?;
                let location = lax::convert_element_type(&lax::eq(x, &ans_b)?, g.dtype())?;
                let counts = lax::reduce_sum(&location, axes)?;
                Some(lax::div(
                    &lax::reduce_sum(&lax::mul(g, &location)?, axes)?,
                    &counts,
                )?)
            }
            Argmax { .. } | Argmin { .. } | And { .. } | Or { .. } | Xor { .. } => None,
            Prod { .. } => unreachable!("handled above"),
        };
        Ok((vec![ans], vec![t]))
    }

    /// `reduce_sum` is linear: its transpose broadcasts the cotangent back.
    ///
    /// # Errors
    /// Any other reduction (not linear).
    pub fn transpose(&self, ct: &Tangent, x: &LinArg) -> Result<Tangent> {
        let Some(ct) = ct else { return Ok(None) };
        match self {
            Sum { axes } => {
                let aval = x.aval();
                let kept: Vec<usize> = (0..aval.ndim()).filter(|d| !axes.contains(d)).collect();
                Ok(Some(lax::broadcast_in_dim(ct, &aval.shape, &kept)?))
            }
            _ => Err(Error::type_err(format!(
                "transpose of {} is not defined: it is not linear",
                self.name()
            ))),
        }
    }

    /// The batch dimension is an extra axis: reduce the shifted axes around it.
    ///
    /// # Errors
    /// Errors of the primitive it binds.
    pub fn batch(&self, x: &Array, d: Option<usize>) -> Result<BatchOut> {
        let d = d.expect("batched operand");
        let axes: Vec<usize> = self
            .axes()
            .iter()
            .map(|&a| if a >= d { a + 1 } else { a })
            .collect();
        let out_dim = d - axes.iter().filter(|&&a| a < d).count();
        let out = bind1(Prim::Reduce(self.with_axes(axes)), std::slice::from_ref(x))?;
        Ok((vec![out], vec![Some(out_dim)]))
    }
}

impl ReduceOp {
    /// One step of `reduce_prod` or a bitwise reduction on scalars of one dtype (integer
    /// products wrap, as XLA's).
    fn combine(&self, acc: Scalar, v: Scalar) -> Scalar {
        use Scalar as S;
        let dtype = acc.dtype();
        match (self, acc, v) {
            (Prod { .. }, S::F64(a), S::F64(b)) => S::F64(a * b),
            // f32, and the 16-bit floats computed in f32.
            (Prod { .. }, a, b) if dtype.is_float() => {
                S::F32(a.to_f64() as f32 * b.to_f64() as f32).convert(dtype)
            }
            (And { .. }, S::Bool(a), S::Bool(b)) => S::Bool(a & b),
            (Or { .. }, S::Bool(a), S::Bool(b)) => S::Bool(a | b),
            (Xor { .. }, S::Bool(a), S::Bool(b)) => S::Bool(a ^ b),
            // Integers: on the values widened to i128, wrapped back to the width.
            (op, a, b) => {
                let (a, b) = (a.to_i128(), b.to_i128());
                let r = match op {
                    Prod { .. } => a.wrapping_mul(b),
                    And { .. } => a & b,
                    Or { .. } => a | b,
                    Xor { .. } => a ^ b,
                    _ => unreachable!("dtypes checked by abstract_eval"),
                };
                S::from_i128(r, dtype)
            }
        }
    }
}

/// Whether a scalar is a float NaN.
fn is_nan(v: Scalar) -> bool {
    v.dtype().is_float() && v.to_f64().is_nan()
}

/// Two scalars of one dtype in order (floats as f64, `None` with a NaN; integers exactly).
fn compare_values(a: Scalar, b: Scalar) -> Option<std::cmp::Ordering> {
    if a.dtype().is_float() {
        a.to_f64().partial_cmp(&b.to_f64())
    } else {
        Some(a.to_i128().cmp(&b.to_i128()))
    }
}

/// JAX's `_reduce_prod_jvp_rule`: the reduced axes moved to the front and flattened, then a
/// product tree (split in halves, the odd half padded with 1, multiplied) differentiated as
/// products are, so a zero element gets the product of the others as its derivative.
fn prod_jvp(x: &Array, g: &Tangent, axes: &[usize]) -> Result<JvpOut> {
    let ans = bind1(
        Prim::Reduce(Prod {
            axes: axes.to_vec(),
        }),
        std::slice::from_ref(x),
    )?;
    let Some(g) = g else {
        return Ok((vec![ans], vec![None]));
    };
    let shape = x.shape();
    let kept: Vec<usize> = (0..x.ndim()).filter(|d| !axes.contains(d)).collect();
    let n: usize = axes.iter().map(|&a| shape[a]).product();
    let perm: Vec<usize> = axes.iter().chain(&kept).copied().collect();
    let new_shape: Vec<usize> = std::iter::once(n)
        .chain(kept.iter().map(|&d| shape[d]))
        .collect();
    let front = |v: &Array| lax::reshape(&lax::transpose(v, &perm)?, &new_shape);
    let (mut p, mut t) = (front(x)?, front(g)?);
    let rest = &new_shape[1..];
    if n == 0 {
        return Ok((
            vec![ans],
            vec![Some(lax::zeros(&Aval::new(rest.to_vec(), g.dtype()))?)],
        ));
    }
    let one = lax::scalar_like(x, 1.0);
    let zero = lax::scalar_like(g, 0.0);
    let half = |v: &Array, lo: usize, hi: usize| {
        let mut start = vec![0; new_shape.len()];
        let mut limit = v.shape().to_vec();
        start[0] = lo;
        limit[0] = hi;
        lax::slice(v, &start, &limit, None)
    };
    while p.shape()[0] > 1 {
        let m = p.shape()[0];
        let n1 = m.div_ceil(2);
        let (p1, t1) = (half(&p, 0, n1)?, half(&t, 0, n1)?);
        let (mut p2, mut t2) = (half(&p, n1, m)?, half(&t, n1, m)?);
        if m - n1 != n1 {
            let mut cfg = vec![(0, 0, 0); new_shape.len()];
            cfg[0] = (0, 1, 0);
            p2 = lax::pad(&p2, &one, &cfg)?;
            t2 = lax::pad(&t2, &zero, &cfg)?;
        }
        t = lax::add(&lax::mul(&t1, &p2)?, &lax::mul(&p1, &t2)?)?;
        p = lax::mul(&p1, &p2)?;
    }
    Ok((vec![ans], vec![Some(lax::squeeze(&t, &[0])?)]))
}

/// For each output element, the flat input indices reduced into it (in row-major order).
pub fn reduction_groups(shape: &[usize], axes: &[usize]) -> Vec<Vec<usize>> {
    let kept: Vec<usize> = (0..shape.len()).filter(|d| !axes.contains(d)).collect();
    let out_size: usize = kept.iter().map(|&d| shape[d]).product();
    let mut groups = vec![Vec::new(); out_size];
    let total: usize = shape.iter().product();
    let mut idx = vec![0usize; shape.len()];
    for flat in 0..total {
        let o = kept.iter().fold(0usize, |acc, &d| acc * shape[d] + idx[d]);
        groups[o].push(flat);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    groups
}

fn pairwise_sum(v: &[f64]) -> f64 {
    if v.len() <= 16 {
        v.iter().fold(0.0, |a, &x| a + x)
    } else {
        let (a, b) = v.split_at(v.len() / 2);
        pairwise_sum(a) + pairwise_sum(b)
    }
}

fn choose(acc: Scalar, v: Scalar, is_max: bool) -> Scalar {
    use super::binary::{float_max, float_min};
    match (acc, v) {
        (Scalar::Bool(a), Scalar::Bool(b)) => Scalar::Bool(if is_max { a | b } else { a & b }),
        _ if acc.dtype().is_float() => {
            let (a, b) = (acc.to_f64(), v.to_f64());
            let r = if is_max {
                float_max(a, b)
            } else {
                float_min(a, b)
            };
            Scalar::from_f64(r, acc.dtype())
        }
        _ => {
            let (a, b) = (acc.to_i128(), v.to_i128());
            Scalar::from_i128(if is_max { a.max(b) } else { a.min(b) }, acc.dtype())
        }
    }
}
