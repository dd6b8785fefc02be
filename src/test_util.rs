//! `check_grads`: JAX's `jax.test_util.check_grads`. Derivatives from automatic
//! differentiation are checked against central finite differences along one random direction
//! per check, so a check costs two extra evaluations of the function however large its inputs.
//!
//! What is checked, as in `jax/_src/public_test_util.py`:
//! - **fwd** (`Mode::Fwd`): `jvp(f, x, t)` against `(f(x + eps t) - f(x - eps t)) / (2 eps)`,
//!   with `t` drawn from a standard normal.
//! - **rev** (`Mode::Rev`): the pullback, through the transpose identity
//!   `<Jᵀ c, t> = <c, J t>`, with `J t` by finite differences and `c`, `t` random.
//! - **lin** (`Mode::Lin`): the linear map of `linearize`, as fwd.
//! - Order 2 and above recurse on the derivative functions, as JAX does: the fwd check is
//!   applied to `(x, t) ↦ jvp(f, x, t)` at `(x, x)`, the rev check to `x ↦ vjp(f, x)(f(x))`;
//!   with both modes that checks JVP of JVP, VJP of JVP, JVP of VJP and VJP of VJP.
//!
//! Every finite difference is computed in the dtype of the arguments (f32 arithmetic for f32,
//! so the step `eps = 1e-4` is the same for every dtype, as in JAX). Values are compared as
//! `numpy.testing.assert_allclose(actual, expected, atol, rtol)` is with JAX's
//! `check_close`: `|actual - expected| <= atol + rtol |expected|` elementwise, where
//! `atol = rtol = tol * size` and `tol` is JAX's `default_gradient_tolerance` for the dtype
//! (f32: 2e-3, f64: 1e-5) unless given. Random directions come from
//! `StdRng::seed_from_u64(0)`, fresh for every check, so results are reproducible.

use crate::api::autodiff::{jvp, linearize, vjp};
use crate::api::{flat_fn, Function, OutTemplate};
use crate::array::{Array, Data};
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::DType;
use crate::pytree::ArgTuple;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt;
use std::rc::Rc;

/// The finite-difference step JAX uses (`jax._src.public_test_util.EPS`).
pub const EPS: f64 = 1e-4;

/// Which derivatives `check_grads` checks (JAX's `modes=("fwd", "rev")`; `Lin` is JAX's
/// `"lin"`, the linear map from `linearize`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Forward mode (`jvp`).
    Fwd,
    /// Reverse mode (`vjp`).
    Rev,
    /// The linear map of `linearize`.
    Lin,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Fwd => "fwd",
            Mode::Rev => "rev",
            Mode::Lin => "lin",
        })
    }
}

/// `modes=("fwd", "rev")`, JAX's default.
pub const FWD_REV: &[Mode] = &[Mode::Fwd, Mode::Rev];

/// Tolerances and step for `check_grads_with` (`None`: JAX's defaults).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CheckOptions {
    /// Absolute tolerance per element, before scaling by the array's size.
    pub atol: Option<f64>,
    /// Relative tolerance per element, before scaling by the array's size.
    pub rtol: Option<f64>,
    /// Finite-difference step (default `EPS` = 1e-4).
    pub eps: Option<f64>,
}

/// JAX's `default_gradient_tolerance`: bf16 1e-1, f16 1e-2, f32 2e-3, f64 1e-5; integers and
/// bool must be exact.
pub fn default_gradient_tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::BF16 => 1e-1,
        DType::F16 => 1e-2,
        DType::F32 => 2e-3,
        DType::F64 => 1e-5,
        _ => 0.0,
    }
}

/// Check the derivatives of `f` at `args` up to `order` in the given `modes` against finite
/// differences, as `jax.test_util.check_grads(f, args, order, modes)`.
///
/// Every leaf of `args` must be a float array (close over integer operands such as indices).
/// On a mismatch the error (`Error::GradCheck`) names the mode and order of the failing check
/// (`VJP of JVP`: the rev check of the order-1 JVP function, at order 2), what was compared
/// (primal, tangent, cotangent projection) and by how much it missed.
///
/// ```
/// use cranax::{check_grads, numpy as jnp, Array};
/// use cranax::test_util::FWD_REV;
/// let f = |x: &Array| jnp::sin(x) * x;
/// check_grads(&f, (Array::from_slice(&[0.3f64, -1.2]),), 2, FWD_REV).unwrap();
/// ```
///
/// # Errors
/// A function that fails, or derivatives that disagree with finite differences beyond the tolerances (the message names the mode, the order and the worst element).
pub fn check_grads<Args, F>(f: &F, args: Args, order: usize, modes: &[Mode]) -> Result<()>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    check_grads_with(f, args, order, modes, CheckOptions::default())
}

/// `check_grads` with explicit tolerances or step (`check_grads(..., atol=, rtol=, eps=)`).
///
/// # Errors
/// As [`check_grads`].
pub fn check_grads_with<Args, F>(
    f: &F,
    args: Args,
    order: usize,
    modes: &[Mode],
    opts: CheckOptions,
) -> Result<()>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    let leaves = args.leaves();
    if let Some((i, x)) = leaves
        .iter()
        .enumerate()
        .find(|(_, x)| !x.dtype().is_float())
    {
        return Err(Error::type_err(format!(
            "check_grads: argument leaf {i} has dtype {}; only float arguments can be perturbed (close over integer operands instead)",
            x.dtype().numpy_name()
        )));
    }
    let out = OutTemplate::new();
    let inner = flat_fn(f, &args, &out);
    let flat: Flat<'_> = Rc::new(move |xs: &[Array]| inner(xs));
    let checker = Checker { modes, opts };
    checker.check(&flat, leaves, order, 1, "")
}

/// A function of a flat list of arrays: every derivative function built by the recursion has
/// this one type, so `order` can be a runtime value.
type Flat<'a> = Rc<dyn Fn(&[Array]) -> Result<Vec<Array>> + 'a>;

/// `(primals, tangents) -> (outputs, output tangents)`: `jvp`, or `linearize` then apply.
type JvpFn<'a> = dyn Fn(&[Array], &[Array]) -> Result<(Vec<Array>, Vec<Array>)> + 'a;

/// A `Flat` as a `Function` of one `Vec<Array>` argument, so the public `jvp`, `vjp` and
/// `linearize` are what is checked.
struct FlatFn<'a>(Flat<'a>);

impl Function<(Vec<Array>,)> for FlatFn<'_> {
    type Output = Vec<Array>;
    fn call(&self, args: (Vec<Array>,)) -> Result<Vec<Array>> {
        (self.0)(&args.0)
    }
}

struct Checker<'m> {
    modes: &'m [Mode],
    opts: CheckOptions,
}

impl Checker<'_> {
    fn eps(&self) -> f64 {
        self.opts.eps.unwrap_or(EPS)
    }

    /// JAX's `_check_grads(f, args, order, err_msg)`. `level` is the derivative order being
    /// checked (1 for the first derivatives of the user's function).
    fn check<'a>(
        &self,
        f: &Flat<'a>,
        args: Vec<Array>,
        order: usize,
        level: usize,
        of: &str,
    ) -> Result<()> {
        let name = |what: &str| {
            if of.is_empty() {
                what.to_string()
            } else {
                format!("{what} of {of}")
            }
        };
        if self.modes.contains(&Mode::Fwd) {
            let msg = name("JVP");
            let ff = FlatFn(f.clone());
            let f_jvp = |p: &[Array], t: &[Array]| jvp(&ff, (p.to_vec(),), (t.to_vec(),));
            self.check_jvp(f, &f_jvp, &args, Mode::Fwd, level, &msg)?;
            if order > 1 {
                let g: Flat<'a> = jvp_function(f.clone());
                let doubled = [args.clone(), args.clone()].concat();
                self.check(&g, doubled, order - 1, level + 1, &msg)?;
            }
        }
        if self.modes.contains(&Mode::Rev) {
            let msg = name("VJP");
            self.check_vjp(f, &args, level, &msg)?;
            if order > 1 {
                let ff = FlatFn(f.clone());
                let g: Flat<'a> = Rc::new(move |xs: &[Array]| {
                    let (out, pullback) = vjp(&ff, (xs.to_vec(),))?;
                    Ok(pullback.vjp(out)?.0)
                });
                self.check(&g, args.clone(), order - 1, level + 1, &msg)?;
            }
        }
        if self.modes.contains(&Mode::Lin) {
            let msg = name("LIN");
            let ff = FlatFn(f.clone());
            let f_lin = |p: &[Array], t: &[Array]| {
                let (out, lin) = linearize(&ff, (p.to_vec(),))?;
                Ok((out, lin.jvp((t.to_vec(),))?))
            };
            self.check_jvp(f, &f_lin, &args, Mode::Lin, level, &msg)?;
            if order > 1 {
                let ff = FlatFn(f.clone());
                let g: Flat<'a> = Rc::new(move |xs: &[Array]| {
                    let n = xs.len() / 2;
                    let (out, lin) = linearize(&ff, (xs[..n].to_vec(),))?;
                    let t = lin.jvp((xs[n..].to_vec(),))?;
                    Ok([out, t].concat())
                });
                let doubled = [args.clone(), args.clone()].concat();
                self.check(&g, doubled, order - 1, level + 1, &msg)?;
            }
        }
        Ok(())
    }

    /// JAX's `check_jvp`: the JVP along a random tangent against central differences.
    fn check_jvp(
        &self,
        f: &Flat<'_>,
        f_jvp: &JvpFn<'_>,
        args: &[Array],
        mode: Mode,
        level: usize,
        msg: &str,
    ) -> Result<()> {
        let mut rng = StdRng::seed_from_u64(0);
        let tangent: Vec<Array> = args.iter().map(|x| rand_like(&mut rng, x)).collect();
        let (v_out, t_out) = f_jvp(args, &tangent)?;
        check_float_outputs(&v_out, msg)?;
        check_dtypes_match(&v_out, &t_out, msg, "tangent")?;
        let v_expected = f(args)?;
        check_dtypes_match(&v_out, &v_expected, msg, "primal")?;
        let t_expected = numerical_jvp(f, args, &tangent, self.eps())?;
        let ctx = Ctx { mode, level, msg };
        self.check_close(&v_out, &v_expected, &ctx, "primal")?;
        self.check_close(&t_out, &t_expected, &ctx, "tangent")
    }

    /// JAX's `check_vjp`: `<t, Jᵀ c>` against `<J t, c>` with `J t` by finite differences.
    fn check_vjp(&self, f: &Flat<'_>, args: &[Array], level: usize, msg: &str) -> Result<()> {
        let mut rng = StdRng::seed_from_u64(0);
        let ff = FlatFn(f.clone());
        let (v_out, pullback) = vjp(&ff, (args.to_vec(),))?;
        check_float_outputs(&v_out, msg)?;
        let v_expected = f(args)?;
        let ctx = Ctx {
            mode: Mode::Rev,
            level,
            msg,
        };
        self.check_close(&v_out, &v_expected, &ctx, "primal")?;
        let tangent: Vec<Array> = args.iter().map(|x| rand_like(&mut rng, x)).collect();
        let tangent_out = numerical_jvp(f, args, &tangent, self.eps())?;
        let cotangent: Vec<Array> = v_out.iter().map(|y| rand_like(&mut rng, y)).collect();
        let (cotangent_out,) = pullback.vjp(cotangent.clone())?;
        let ip = inner_prod(&tangent, &cotangent_out)?;
        let ip_expected = inner_prod(&tangent_out, &cotangent)?;
        self.check_close(&[ip], &[ip_expected], &ctx, "cotangent projection")
    }

    /// JAX's `check_close`: every leaf pair as `assert_allclose(a, b, atol=tol*size,
    /// rtol=tol*size)`, `tol` the larger of the two dtypes' tolerances.
    fn check_close(&self, xs: &[Array], ys: &[Array], ctx: &Ctx, what: &str) -> Result<()> {
        if xs.len() != ys.len() {
            return Err(ctx.fail(what, format!("{} leaves, expected {}", xs.len(), ys.len())));
        }
        for (k, (a, b)) in xs.iter().zip(ys).enumerate() {
            if a.shape() != b.shape() {
                return Err(ctx.fail(
                    what,
                    format!(
                        "leaf {k} has shape {}, expected {}",
                        shape_str(a.shape()),
                        shape_str(b.shape())
                    ),
                ));
            }
            let tol_of =
                |given: Option<f64>, d: DType| given.unwrap_or(default_gradient_tolerance(d));
            let atol = tol_of(self.opts.atol, a.dtype()).max(tol_of(self.opts.atol, b.dtype()))
                * a.size() as f64;
            let rtol = tol_of(self.opts.rtol, a.dtype()).max(tol_of(self.opts.rtol, b.dtype()))
                * b.size() as f64;
            let (av, bv) = (a.to_f64_vec()?, b.to_f64_vec()?);
            let mut mismatched = 0;
            let (mut worst, mut max_abs, mut max_rel) = (None, 0.0f64, 0.0f64);
            for (i, (&x, &y)) in av.iter().zip(&bv).enumerate() {
                let close = (x.is_nan() && y.is_nan())
                    || x == y
                    || (x.is_finite() && y.is_finite() && (x - y).abs() <= atol + rtol * y.abs());
                if !close {
                    mismatched += 1;
                    let d = (x - y).abs();
                    if worst.is_none() || d > max_abs || d.is_nan() {
                        worst = Some(i);
                    }
                    max_abs = max_abs.max(d);
                    if y != 0.0 {
                        max_rel = max_rel.max(d / y.abs());
                    }
                }
            }
            if let Some(i) = worst {
                let at = if a.ndim() == 0 {
                    String::new()
                } else {
                    format!(" (worst at flat index {i})")
                };
                return Err(ctx.fail(
                    what,
                    format!(
                        "leaf {k} ({}) mismatched in {mismatched} of {} elements{at}: got {}, expected {}; max absolute difference {max_abs:e}, max relative difference {max_rel:e}; allowed |got - expected| <= {atol:e} + {rtol:e} * |expected|",
                        a.aval(),
                        a.size(),
                        av[i],
                        bv[i]
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Where a comparison happens, for the error message.
struct Ctx<'a> {
    mode: Mode,
    level: usize,
    msg: &'a str,
}

impl Ctx<'_> {
    fn fail(&self, what: &str, detail: String) -> Error {
        Error::GradCheck(format!(
            "check_grads: {} mode, order {} ({} {what}) does not match finite differences: {detail}",
            self.mode, self.level, self.msg
        ))
    }
}

/// `(f(x + eps t) - f(x - eps t)) * (0.5 / eps)`, in each leaf's dtype; equal values (also
/// equal infinities) differ by 0.
fn numerical_jvp(f: &Flat<'_>, x: &[Array], t: &[Array], eps: f64) -> Result<Vec<Array>> {
    let plus: Vec<Array> = x
        .iter()
        .zip(t)
        .map(|(x, t)| axpy(x, t, eps))
        .collect::<Result<_>>()?;
    let minus: Vec<Array> = x
        .iter()
        .zip(t)
        .map(|(x, t)| axpy(x, t, -eps))
        .collect::<Result<_>>()?;
    let (fp, fm) = (f(&plus)?, f(&minus)?);
    fp.iter()
        .zip(&fm)
        .map(|(a, b)| safe_sub_scaled(a, b, 0.5 / eps))
        .collect()
}

/// `x + (t * s)` with both operations in `x`'s dtype (as JAX's `add(x, scalar_mul(t, s))`).
fn axpy(x: &Array, t: &Array, s: f64) -> Result<Array> {
    let data = match (x.data()?, t.data()?) {
        (Data::F32(x), Data::F32(t)) => {
            let s = s as f32;
            Data::F32(x.iter().zip(t).map(|(x, t)| x + t * s).collect())
        }
        (Data::F64(x), Data::F64(t)) => {
            Data::F64(x.iter().zip(t).map(|(x, t)| x + t * s).collect())
        }
        _ => return Err(not_float("perturb", x)),
    };
    Ok(Array::from_concrete(x.aval().clone(), data))
}

/// `where(a == b, 0, a - b) * s` in the dtype of `a`.
fn safe_sub_scaled(a: &Array, b: &Array, s: f64) -> Result<Array> {
    let data = match (a.data()?, b.data()?) {
        (Data::F32(a), Data::F32(b)) => {
            let s = s as f32;
            Data::F32(
                a.iter()
                    .zip(b)
                    .map(|(&a, &b)| if a == b { 0.0 } else { (a - b) * s })
                    .collect(),
            )
        }
        (Data::F64(a), Data::F64(b)) => Data::F64(
            a.iter()
                .zip(b)
                .map(|(&a, &b)| if a == b { 0.0 } else { (a - b) * s })
                .collect(),
        ),
        _ => return Err(not_float("difference", a)),
    };
    Ok(Array::from_concrete(a.aval().clone().weak(false), data))
}

/// `sum_leaves <x, y>`: f64 if any leaf is f64, else f32 (as NumPy's sum of f32 dots).
fn inner_prod(xs: &[Array], ys: &[Array]) -> Result<Array> {
    let mut total = 0.0f64;
    let mut wide = false;
    for (x, y) in xs.iter().zip(ys) {
        wide |= x.dtype() == DType::F64 || y.dtype() == DType::F64;
        let (a, b) = (x.to_f64_vec()?, y.to_f64_vec()?);
        total += a.iter().zip(&b).map(|(a, b)| a * b).sum::<f64>();
    }
    Ok(if wide {
        Array::scalar(total)
    } else {
        Array::scalar(total as f32)
    })
}

/// A standard-normal array like `x` (JAX's `rand_like`: drawn in f64, cast to the dtype).
fn rand_like(rng: &mut StdRng, x: &Array) -> Array {
    let n = x.size();
    let vals: Vec<f64> = (0..n).map(|_| standard_normal(rng)).collect();
    let data = match x.dtype() {
        DType::F32 => Data::F32(vals.iter().map(|&v| v as f32).collect()),
        _ => Data::F64(vals.into()),
    };
    let dtype = data.dtype();
    Array::from_concrete(crate::core::aval::Aval::new(x.shape(), dtype), data)
}

/// Box-Muller on two uniforms from `rng`.
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // in (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn not_float(what: &str, x: &Array) -> Error {
    Error::type_err(format!(
        "check_grads: cannot {what} an array of dtype {}",
        x.dtype().numpy_name()
    ))
}

fn check_float_outputs(outs: &[Array], msg: &str) -> Result<()> {
    match outs.iter().position(|o| !o.dtype().is_float()) {
        None => Ok(()),
        Some(k) => Err(Error::type_err(format!(
            "check_grads ({msg}): output leaf {k} has dtype {}; only float outputs have derivatives to check",
            outs[k].dtype().numpy_name()
        ))),
    }
}

fn check_dtypes_match(xs: &[Array], ys: &[Array], msg: &str, what: &str) -> Result<()> {
    for (k, (x, y)) in xs.iter().zip(ys).enumerate() {
        if x.dtype() != y.dtype() {
            return Err(Error::GradCheck(format!(
                "check_grads: {msg} {what}: output leaf {k} has dtype {} but its {what} has dtype {}",
                x.dtype().numpy_name(),
                y.dtype().numpy_name()
            )));
        }
    }
    Ok(())
}

/// `(x, t) ↦ jvp(f, x, t)` as one flat function of `x ++ t` returning `out ++ t_out`.
fn jvp_function(f: Flat<'_>) -> Flat<'_> {
    let ff = FlatFn(f);
    Rc::new(move |xs: &[Array]| {
        let n = xs.len() / 2;
        let (out, t) = jvp(&ff, (xs[..n].to_vec(),), (xs[n..].to_vec(),))?;
        Ok([out, t].concat())
    })
}
