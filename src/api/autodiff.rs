//! Differentiation: `grad`, `value_and_grad` (with `argnums` and `has_aux`), `jvp`,
//! `linearize`, `vjp`, `jacfwd`, `jacrev`, `hessian`. Reverse mode is linearize + transpose,
//! as in JAX, so `make_jaxpr(grad(f))` prints what JAX prints.

use super::{flat_fn, Function, OutTemplate};
use crate::array::Array;
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::DType;
use crate::lax;
use crate::prims::Tangent;
use crate::pytree::{ArgTuple, Pytree};
use crate::transform::jvp::jvp_flat;
use crate::transform::linearize::{linearize_flat, LinearFn};
use crate::transform::vmap::vmap_flat;

/// Argument position `N`, for `argnums`: `grad(f).argnums(Argnum::<1>)`,
/// `grad(f).argnums((Argnum::<0>, Argnum::<1>))`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Argnum<const N: usize>;

/// The first positional argument, for `argnums`.
pub const ARG0: Argnum<0> = Argnum;
/// The second positional argument, for `argnums`.
pub const ARG1: Argnum<1> = Argnum;
/// The third positional argument, for `argnums`.
pub const ARG2: Argnum<2> = Argnum;
/// The fourth positional argument, for `argnums`.
pub const ARG3: Argnum<3> = Argnum;

/// Which arguments to differentiate, and the type of their gradients (one argument: its
/// type; several: a tuple in that order, as JAX returns).
pub trait Argnums<Args>: Clone {
    /// The gradients' pytree: one argument's type, or a tuple of them.
    type Grads: Pytree;
    /// The positions of the selected arguments.
    fn indices(&self) -> Vec<usize>;
    /// The selected arguments of `args`, as the structure the gradients come back in.
    fn template(&self, args: &Args) -> Self::Grads;
}

macro_rules! argnum_single {
    ([$($T:ident),+] $idx:tt => $G:ident) => {
        impl<$($T: Pytree),+> Argnums<($($T,)+)> for Argnum<$idx> {
            type Grads = $G;
            fn indices(&self) -> Vec<usize> { vec![$idx] }
            fn template(&self, args: &($($T,)+)) -> $G { args.$idx.clone() }
        }
    };
}
macro_rules! argnum_multi {
    ([$($T:ident),+] ($($idx:tt => $G:ident),+)) => {
        impl<$($T: Pytree),+> Argnums<($($T,)+)> for ($(Argnum<$idx>,)+) {
            type Grads = ($($G,)+);
            fn indices(&self) -> Vec<usize> { vec![$($idx),+] }
            fn template(&self, args: &($($T,)+)) -> Self::Grads { ($(args.$idx.clone(),)+) }
        }
    };
}
argnum_single!([A] 0 => A);
argnum_single!([A, B] 0 => A);
argnum_single!([A, B] 1 => B);
argnum_single!([A, B, C] 0 => A);
argnum_single!([A, B, C] 1 => B);
argnum_single!([A, B, C] 2 => C);
argnum_single!([A, B, C, D] 0 => A);
argnum_single!([A, B, C, D] 1 => B);
argnum_single!([A, B, C, D] 2 => C);
argnum_single!([A, B, C, D] 3 => D);
argnum_multi!([A] (0 => A));
argnum_multi!([A, B] (0 => A, 1 => B));
argnum_multi!([A, B] (1 => B, 0 => A));
argnum_multi!([A, B, C] (0 => A, 1 => B));
argnum_multi!([A, B, C] (0 => A, 2 => C));
argnum_multi!([A, B, C] (1 => B, 2 => C));
argnum_multi!([A, B, C] (1 => B, 0 => A));
argnum_multi!([A, B, C] (0 => A, 1 => B, 2 => C));
argnum_multi!([A, B, C, D] (0 => A, 1 => B));
argnum_multi!([A, B, C, D] (0 => A, 2 => C));
argnum_multi!([A, B, C, D] (0 => A, 3 => D));
argnum_multi!([A, B, C, D] (1 => B, 2 => C));
argnum_multi!([A, B, C, D] (1 => B, 3 => D));
argnum_multi!([A, B, C, D] (2 => C, 3 => D));
argnum_multi!([A, B, C, D] (0 => A, 1 => B, 2 => C));
argnum_multi!([A, B, C, D] (1 => B, 2 => C, 3 => D));
argnum_multi!([A, B, C, D] (0 => A, 1 => B, 2 => C, 3 => D));

/// Leaf mask of the differentiated arguments, and the leaf order of their gradients.
fn wrt_leaves(counts: &[usize], indices: &[usize]) -> Result<(Vec<bool>, Vec<usize>)> {
    let mut starts = vec![0];
    for c in counts {
        starts.push(starts.last().expect("non-empty") + c);
    }
    let total = *starts.last().expect("non-empty");
    let mut mask = vec![false; total];
    let mut order = Vec::new();
    for &i in indices {
        if i >= counts.len() {
            return Err(Error::value_err(format!(
                "argnums {i} is out of range for a function of {} positional arguments",
                counts.len()
            )));
        }
        mask[starts[i]..starts[i + 1]]
            .iter_mut()
            .for_each(|m| *m = true);
        order.extend(starts[i]..starts[i + 1]);
    }
    Ok((mask, order))
}

fn check_differentiable_inputs(name: &str, leaves: &[Array], mask: &[bool]) -> Result<()> {
    for (x, &m) in leaves.iter().zip(mask) {
        if m && !x.dtype().is_float() {
            return Err(Error::type_err(format!(
                "{name} requires real-valued inputs (input dtype that is a sub-dtype of np.floating), but got {}. If you want to use integer-valued inputs, use vjp or set allow_int to True.",
                x.dtype().numpy_name()
            )));
        }
    }
    Ok(())
}

/// The core of `grad`: value, gradients of the differentiated leaves (in `order`), and aux.
fn value_and_grad_flat(
    flat: &dyn Fn(&[Array]) -> Result<Vec<Array>>,
    leaves: &[Array],
    mask: &[bool],
    order: &[usize],
    num_aux: usize,
) -> Result<(Array, Vec<Array>, Vec<Array>)> {
    check_differentiable_inputs("grad", leaves, mask)?;
    let (mut outs, lin) = linearize_flat(flat, leaves, mask)?;
    let aux = outs.split_off(1.min(outs.len()));
    let Some(out) = outs.pop() else {
        return Err(Error::type_err("grad: the function returned no output"));
    };
    if out.ndim() != 0 {
        return Err(Error::type_err(format!(
            "Gradient only defined for scalar-output functions. Output had shape: {}",
            shape_str(out.shape())
        )));
    }
    if !out.dtype().is_float() {
        return Err(Error::type_err(format!(
            "grad requires real-valued outputs (output dtype that is a sub-dtype of np.floating). For holomorphic differentiation, pass holomorphic=True. For differentiation of non-holomorphic functions involving complex outputs, use jax.vjp directly. Got output dtype {}",
            out.dtype().numpy_name()
        )));
    }
    debug_assert!(aux.len() == num_aux || num_aux == usize::MAX);
    let mut cts_out: Vec<Tangent> = vec![Some(lax::scalar_like(&out, 1.0))];
    cts_out.extend(lin.out_avals[1..].iter().map(|_| None));
    let cts = lin.transpose(&cts_out)?;
    // The cotangents come per differentiated leaf, in leaf order.
    let diff_leaves: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
    let grads = order
        .iter()
        .map(|leaf| {
            let k = diff_leaves
                .iter()
                .position(|l| l == leaf)
                .expect("a differentiated leaf");
            match &cts[k] {
                Some(g) => Ok(g.clone()),
                None => lax::zeros(&lin.in_avals[k]),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((out, grads, aux))
}

/// `grad(f)`: the gradient of a scalar-valued `f` with respect to its first argument
/// (`argnums` to choose others, `has_aux` for an auxiliary output).
pub fn grad<F>(f: F) -> Grad<F, Argnum<0>> {
    Grad { f, argnums: Argnum }
}

/// `value_and_grad(f)`: `(f(x), grad(f)(x))` in one pass.
pub fn value_and_grad<F>(f: F) -> ValueAndGrad<F, Argnum<0>> {
    ValueAndGrad { f, argnums: Argnum }
}

#[derive(Clone)]
/// `grad(f)`: the gradient of a scalar-valued function (see [`grad`]).
pub struct Grad<F, N> {
    f: F,
    argnums: N,
}

impl<F, N> std::fmt::Debug for Grad<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grad").finish_non_exhaustive()
    }
}

impl<F, N> Grad<F, N> {
    /// Differentiate with respect to other arguments: `Argnum::<1>` or a tuple of them.
    pub fn argnums<M>(self, argnums: M) -> Grad<F, M> {
        Grad { f: self.f, argnums }
    }

    /// `f` returns `(value, aux)`; the result is `(gradients, aux)`.
    pub fn has_aux(self) -> GradAux<F, N> {
        GradAux {
            f: self.f,
            argnums: self.argnums,
        }
    }
}

impl<Args, F, N> Function<Args> for Grad<F, N>
where
    Args: ArgTuple,
    F: Function<Args, Output = Array>,
    N: Argnums<Args>,
{
    type Output = N::Grads;

    fn call(&self, args: Args) -> Result<N::Grads> {
        let (mask, order) = wrt_leaves(&args.arg_leaf_counts(), &self.argnums.indices())?;
        let out = OutTemplate::new();
        let flat = flat_fn(&self.f, &args, &out);
        let (_, grads, _) = value_and_grad_flat(&flat, &args.leaves(), &mask, &order, 0)?;
        self.argnums.template(&args).rebuild(grads)
    }

    fn name(&self) -> String {
        format!("grad({})", self.f.name())
    }
}

#[derive(Clone)]
/// `grad(f).has_aux()`: the gradient of the first output, the second returned as is.
pub struct GradAux<F, N> {
    f: F,
    argnums: N,
}

impl<F, N> std::fmt::Debug for GradAux<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GradAux").finish_non_exhaustive()
    }
}

impl<Args, F, N, Aux> Function<Args> for GradAux<F, N>
where
    Args: ArgTuple,
    Aux: Pytree,
    F: Function<Args, Output = (Array, Aux)>,
    N: Argnums<Args>,
{
    type Output = (N::Grads, Aux);

    fn call(&self, args: Args) -> Result<Self::Output> {
        let (mask, order) = wrt_leaves(&args.arg_leaf_counts(), &self.argnums.indices())?;
        let out = OutTemplate::new();
        let flat = flat_fn(&self.f, &args, &out);
        let (_, grads, aux) =
            value_and_grad_flat(&flat, &args.leaves(), &mask, &order, usize::MAX)?;
        let template = out.take();
        Ok((
            self.argnums.template(&args).rebuild(grads)?,
            template.1.rebuild(aux)?,
        ))
    }
}

#[derive(Clone)]
/// `value_and_grad(f)`: the value and the gradient of a scalar-valued function.
pub struct ValueAndGrad<F, N> {
    f: F,
    argnums: N,
}

impl<F, N> std::fmt::Debug for ValueAndGrad<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueAndGrad").finish_non_exhaustive()
    }
}

impl<F, N> ValueAndGrad<F, N> {
    /// Differentiate with respect to other arguments (`ARG1`, `(ARG0, ARG1)`), as JAX's `argnums`.
    pub fn argnums<M>(self, argnums: M) -> ValueAndGrad<F, M> {
        ValueAndGrad { f: self.f, argnums }
    }

    /// `f` returns `(value, aux)`; the result is `((value, aux), gradients)`.
    pub fn has_aux(self) -> ValueAndGradAux<F, N> {
        ValueAndGradAux {
            f: self.f,
            argnums: self.argnums,
        }
    }
}

impl<Args, F, N> Function<Args> for ValueAndGrad<F, N>
where
    Args: ArgTuple,
    F: Function<Args, Output = Array>,
    N: Argnums<Args>,
{
    type Output = (Array, N::Grads);

    fn call(&self, args: Args) -> Result<Self::Output> {
        let (mask, order) = wrt_leaves(&args.arg_leaf_counts(), &self.argnums.indices())?;
        let out = OutTemplate::new();
        let flat = flat_fn(&self.f, &args, &out);
        let (value, grads, _) = value_and_grad_flat(&flat, &args.leaves(), &mask, &order, 0)?;
        Ok((value, self.argnums.template(&args).rebuild(grads)?))
    }

    fn name(&self) -> String {
        format!("value_and_grad({})", self.f.name())
    }
}

#[derive(Clone)]
/// `value_and_grad(f).has_aux()`: `((value, aux), grad)`.
pub struct ValueAndGradAux<F, N> {
    f: F,
    argnums: N,
}

impl<F, N> std::fmt::Debug for ValueAndGradAux<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValueAndGradAux").finish_non_exhaustive()
    }
}

impl<Args, F, N, Aux> Function<Args> for ValueAndGradAux<F, N>
where
    Args: ArgTuple,
    Aux: Pytree,
    F: Function<Args, Output = (Array, Aux)>,
    N: Argnums<Args>,
{
    type Output = ((Array, Aux), N::Grads);

    fn call(&self, args: Args) -> Result<Self::Output> {
        let (mask, order) = wrt_leaves(&args.arg_leaf_counts(), &self.argnums.indices())?;
        let out = OutTemplate::new();
        let flat = flat_fn(&self.f, &args, &out);
        let (value, grads, aux) =
            value_and_grad_flat(&flat, &args.leaves(), &mask, &order, usize::MAX)?;
        let template = out.take();
        Ok((
            (value, template.1.rebuild(aux)?),
            self.argnums.template(&args).rebuild(grads)?,
        ))
    }
}

/// `jvp(f, primals, tangents)`: `(f(primals), J tangents)`.
///
/// # Errors
/// An error `f` raises while traced (shapes, dtypes), or tangents whose structure or types do not match the primals'.
pub fn jvp<Args, F>(f: &F, primals: Args, tangents: Args) -> Result<(F::Output, F::Output)>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    let (p, t) = (primals.leaves(), tangents.leaves());
    check_same_types("jvp", &p, &t)?;
    check_differentiable_inputs("jvp", &p, &vec![true; p.len()])?;
    let out = OutTemplate::new();
    let flat = flat_fn(f, &primals, &out);
    let tangents: Vec<Tangent> = t.into_iter().map(Some).collect();
    let (po, to) = jvp_flat(&flat, &p, &tangents)?;
    let template = out.take();
    let to = to
        .into_iter()
        .zip(&po)
        .map(|(t, p)| {
            t.map(Ok)
                .unwrap_or_else(|| lax::zeros(&p.aval().clone().weak(false)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((template.rebuild(po)?, template.rebuild(to)?))
}

fn check_same_types(name: &str, a: &[Array], b: &[Array]) -> Result<()> {
    if a.len() != b.len() {
        return Err(Error::type_err(format!(
            "{name}: primals have {} leaves but tangents have {}",
            a.len(),
            b.len()
        )));
    }
    for (x, y) in a.iter().zip(b) {
        if x.shape() != y.shape() || x.dtype() != y.dtype() {
            return Err(Error::type_err(format!(
                "{name} called with different primal and tangent types: primal {} and tangent {}",
                x.aval(),
                y.aval()
            )));
        }
    }
    Ok(())
}

/// The linear map of `linearize` and `vjp`, typed by the function's arguments and outputs.
#[derive(Debug)]
pub struct Linearized<Args, Out> {
    lin: LinearFn,
    args: Args,
    out: Out,
}

impl<Args: ArgTuple, Out: Pytree> Linearized<Args, Out> {
    /// The JVP at the linearization point: `J t`.
    ///
    /// # Errors
    /// Tangents whose structure or types do not match the primals'.
    pub fn jvp(&self, tangents: Args) -> Result<Out> {
        check_same_types("linearize", &self.args.leaves(), &tangents.leaves())?;
        let outs = self.lin.call(&tangents.leaves())?;
        self.out.rebuild(outs)
    }

    /// The VJP: `ct ↦ Jᵀ ct`, cotangents for every argument.
    ///
    /// # Errors
    /// A cotangent whose structure or types do not match the outputs'.
    pub fn vjp(&self, cotangents: Out) -> Result<Args> {
        check_same_types("vjp", &self.out.leaves(), &cotangents.leaves())?;
        let cts: Vec<Tangent> = cotangents.leaves().into_iter().map(Some).collect();
        let grads = self.lin.transpose(&cts)?;
        let grads = grads
            .into_iter()
            .zip(&self.lin.in_avals)
            .map(|(g, a)| g.map(Ok).unwrap_or_else(|| lax::zeros(a)))
            .collect::<Result<Vec<_>>>()?;
        self.args.rebuild(grads)
    }

    /// The staged linear jaxpr (residuals as constvars, tangents as inputs).
    pub fn jaxpr(&self) -> &crate::ir::ClosedJaxpr {
        &self.lin.jaxpr
    }
}

/// A function's value and its linear map.
pub type WithLinear<Args, Out> = (Out, Linearized<Args, Out>);

/// `linearize(f, primals)`: `f(primals)` and the linear map `t ↦ J t`.
///
/// # Errors
/// An error `f` raises while traced.
pub fn linearize<Args, F>(f: &F, primals: Args) -> Result<WithLinear<Args, F::Output>>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    let leaves = primals.leaves();
    check_differentiable_inputs("linearize", &leaves, &vec![true; leaves.len()])?;
    let out = OutTemplate::new();
    let flat = flat_fn(f, &primals, &out);
    let (po, lin) = linearize_flat(&flat, &leaves, &vec![true; leaves.len()])?;
    drop(flat);
    let template = out.take();
    let value = template.rebuild(po)?;
    Ok((
        value,
        Linearized {
            lin,
            args: primals,
            out: template,
        },
    ))
}

/// `vjp(f, primals)`: `f(primals)` and the pullback `ct ↦ Jᵀ ct` (`.vjp(ct)`).
///
/// # Errors
/// An error `f` raises while traced.
pub fn vjp<Args, F>(f: &F, primals: Args) -> Result<WithLinear<Args, F::Output>>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    linearize(f, primals)
}

/// `jacfwd(f)`: the Jacobian of `f: Array -> Array` by forward mode (a vmap of jvp over the
/// input basis). Shape: `out.shape + in.shape`.
pub fn jacfwd<F>(f: F) -> Jacfwd<F> {
    Jacfwd { f }
}

/// `jacrev(f)` (also `jacobian`): the Jacobian by reverse mode (a vmap of vjp over the output
/// basis).
pub fn jacrev<F>(f: F) -> Jacrev<F> {
    Jacrev { f }
}

/// `jacobian` is `jacrev`, as in JAX.
pub fn jacobian<F>(f: F) -> Jacrev<F> {
    Jacrev { f }
}

/// `hessian(f) = jacfwd(jacrev(f))`.
pub fn hessian<F>(f: F) -> Jacfwd<Jacrev<F>> {
    jacfwd(jacrev(f))
}

#[derive(Clone)]
/// `jacfwd(f)`: the Jacobian by forward mode (one JVP per input element, vmapped).
pub struct Jacfwd<F> {
    f: F,
}

impl<F> std::fmt::Debug for Jacfwd<F> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jacfwd").finish_non_exhaustive()
    }
}

#[derive(Clone)]
/// `jacrev(f)`: the Jacobian by reverse mode (one VJP per output element, vmapped).
pub struct Jacrev<F> {
    f: F,
}

impl<F> std::fmt::Debug for Jacrev<F> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jacrev").finish_non_exhaustive()
    }
}

/// The identity basis of an array type, stacked: shape `[n] + shape`.
fn basis(x: &crate::core::aval::Aval) -> Result<Array> {
    let n = x.size();
    let eye = Array::eye(n, x.dtype);
    let mut shape = vec![n];
    shape.extend(&x.shape);
    lax::reshape(&eye, &shape)
}

impl<F> Function<(Array,)> for Jacfwd<F>
where
    F: Function<(Array,), Output = Array>,
{
    type Output = Array;

    fn call(&self, args: (Array,)) -> Result<Array> {
        let x = args.0;
        check_differentiable_inputs("jacfwd", std::slice::from_ref(&x), &[true])?;
        let in_aval = x.aval().clone().weak(false);
        let flat = |ts: &[Array]| -> Result<Vec<Array>> {
            let out = OutTemplate::new();
            let arg = (x.clone(),);
            let inner = flat_fn(&self.f, &arg, &out);
            let (_, t) = jvp_flat(&inner, std::slice::from_ref(&x), &[Some(ts[0].clone())])?;
            let t = t.into_iter().next().expect("one output");
            let t = match t {
                Some(t) => t,
                None => lax::zeros(&out.get().aval().clone().weak(false))?,
            };
            Ok(vec![t])
        };
        // Tangent outputs stacked along the last axis: out.shape + in.shape.
        let e = basis(&in_aval)?;
        let out_rank = std::cell::Cell::new(0);
        let jac = vmap_flat(
            &|ts: &[Array]| {
                let r = flat(ts)?;
                out_rank.set(r[0].ndim());
                Ok(r)
            },
            &[e],
            &[Some(0)],
            &|_| Some(0),
            None,
        )?;
        // jac: [n] + out.shape -> out.shape + in.shape.
        let j = &jac[0];
        let j = lax::moveaxis(j, 0, out_rank.get())?;
        let mut shape = j.shape()[..out_rank.get()].to_vec();
        shape.extend(&in_aval.shape);
        lax::reshape(&j, &shape)
    }

    fn name(&self) -> String {
        format!("jacfwd({})", self.f.name())
    }
}

impl<F> Function<(Array,)> for Jacrev<F>
where
    F: Function<(Array,), Output = Array>,
{
    type Output = Array;

    fn call(&self, args: (Array,)) -> Result<Array> {
        let x = args.0;
        check_differentiable_inputs("jacrev", std::slice::from_ref(&x), &[true])?;
        let out = OutTemplate::new();
        let arg = (x.clone(),);
        let flat = flat_fn(&self.f, &arg, &out);
        let (po, lin) = linearize_flat(&flat, std::slice::from_ref(&x), &[true])?;
        let out_aval = po[0].aval().clone().weak(false);
        let e = basis(&out_aval)?;
        let rows = vmap_flat(
            &|cts: &[Array]| {
                let g = lin.transpose(&[Some(cts[0].clone())])?;
                Ok(vec![match &g[0] {
                    Some(g) => g.clone(),
                    None => lax::zeros(&lin.in_avals[0])?,
                }])
            },
            &[e],
            &[Some(0)],
            &|_| Some(0),
            None,
        )?;
        // rows: [m] + in.shape -> out.shape + in.shape.
        let mut shape = out_aval.shape.clone();
        shape.extend(x.shape());
        lax::reshape(&rows[0], &shape)
    }

    fn name(&self) -> String {
        format!("jacrev({})", self.f.name())
    }
}

/// Float dtypes only: integer inputs to differentiation are an error.
pub fn is_differentiable(dtype: DType) -> bool {
    dtype.is_float()
}
