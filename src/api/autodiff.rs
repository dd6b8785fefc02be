//! Differentiation: `grad`, `value_and_grad` (with `argnums` and `has_aux`), `jvp`,
//! `linearize`, `vjp` (each with a `_has_aux` form); the Jacobians are in `api::jacobian`.
//! Reverse mode is linearize + transpose, as in JAX, so `make_jaxpr(grad(f))` prints what JAX
//! prints.

use super::{flat_fn, with_leaves, Function, OutTemplate};
use crate::array::Array;
use crate::core::error::{shape_str, Error, Result};
use crate::dtype::DType;
use crate::lax;
use crate::prims::Tangent;
use crate::pytree::{ArgTuple, PerArg, Pytree};
use crate::transform::jvp::jvp_flat;
use crate::transform::linearize::{linearize_flat, LinearFn};
use smallvec::{smallvec, SmallVec};

/// Argument position `N`, for `argnums`: `grad(f).argnums(Argnum::<1>)`,
/// `grad(f).argnums((Argnum::<0>, Argnum::<1>))`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Argnum<const N: usize>;

/// `argnums=0` .. `argnums=11`.
pub const ARG0: Argnum<0> = Argnum;
/// `argnums=1`.
pub const ARG1: Argnum<1> = Argnum;
/// `argnums=2`.
pub const ARG2: Argnum<2> = Argnum;
/// `argnums=3`.
pub const ARG3: Argnum<3> = Argnum;
/// `argnums=4`.
pub const ARG4: Argnum<4> = Argnum;
/// `argnums=5`.
pub const ARG5: Argnum<5> = Argnum;
/// `argnums=6`.
pub const ARG6: Argnum<6> = Argnum;
/// `argnums=7`.
pub const ARG7: Argnum<7> = Argnum;
/// `argnums=8`.
pub const ARG8: Argnum<8> = Argnum;
/// `argnums=9`.
pub const ARG9: Argnum<9> = Argnum;
/// `argnums=10`.
pub const ARG10: Argnum<10> = Argnum;
/// `argnums=11`.
pub const ARG11: Argnum<11> = Argnum;

/// An argument position of a tuple of arguments `Args`: which one, and its type.
pub trait Pick<Args> {
    /// The argument's type.
    type Out: Pytree;
    /// Its position.
    const INDEX: usize;
    /// The argument.
    fn pick(args: &Args) -> &Self::Out;
}

/// `Argnum<k>` picks element `k` of a tuple of arguments (one impl per arity and position).
macro_rules! pick_impls {
    ([$($All:ident),+]) => {};
    ([$($All:ident),+] $T:ident $i:tt $(, $R:ident $k:tt)*) => {
        impl<$($All: Pytree),+> Pick<($($All,)+)> for Argnum<$i> {
            type Out = $T;
            const INDEX: usize = $i;
            fn pick(args: &($($All,)+)) -> &$T {
                &args.$i
            }
        }
        pick_impls!([$($All),+] $($R $k),*);
    };
}
macro_rules! pick_arity {
    ($($T:ident $i:tt),+) => { pick_impls!([$($T),+] $($T $i),+); };
}
crate::pytree::up_to_max_arity!(pick_arity);

/// Which arguments to differentiate, and the type of their gradients (one argument: its
/// type; several: a tuple in that order, as JAX returns).
pub trait Argnums<Args>: Clone {
    /// The gradients' type.
    type Grads: Pytree;
    /// The positions, in order.
    fn indices(&self) -> PerArg<usize>;
    /// The differentiated arguments themselves (the structure the gradients rebuild into).
    fn template(&self, args: &Args) -> Self::Grads;
}

impl<const K: usize, Args> Argnums<Args> for Argnum<K>
where
    Argnum<K>: Pick<Args>,
{
    type Grads = <Argnum<K> as Pick<Args>>::Out;
    fn indices(&self) -> PerArg<usize> {
        smallvec![K]
    }
    fn template(&self, args: &Args) -> Self::Grads {
        <Self as Pick<Args>>::pick(args).clone()
    }
}

/// A tuple of `Argnum`s: gradients as a tuple in that order.
macro_rules! argnums_tuple {
    ($($N:ident $i:tt),+) => {
        impl<Args, $($N: Pick<Args> + Clone),+> Argnums<Args> for ($($N,)+) {
            type Grads = ($($N::Out,)+);
            fn indices(&self) -> PerArg<usize> {
                smallvec![$($N::INDEX),+]
            }
            fn template(&self, args: &Args) -> Self::Grads {
                ($($N::pick(args).clone(),)+)
            }
        }
    };
}
crate::pytree::up_to_max_arity!(argnums_tuple);

/// Which leaves are differentiated.
pub(super) type LeafMask = SmallVec<[bool; 8]>;
/// The differentiated leaves, in the order of their gradients.
pub(super) type LeafOrder = SmallVec<[usize; 8]>;

/// Leaf mask of the differentiated arguments, and the leaf order of their gradients (on the
/// stack for up to eight leaves).
pub(super) fn wrt_leaves(counts: &[usize], indices: &[usize]) -> Result<(LeafMask, LeafOrder)> {
    let start = |i: usize| counts[..i].iter().sum::<usize>();
    let mut mask: LeafMask = smallvec![false; start(counts.len())];
    let mut order = LeafOrder::new();
    for &i in indices {
        if i >= counts.len() {
            return Err(Error::value_err(format!(
                "argnums {i} is out of range for a function of {} positional arguments",
                counts.len()
            )));
        }
        let leaves = start(i)..start(i) + counts[i];
        mask[leaves.clone()].iter_mut().for_each(|m| *m = true);
        order.extend(leaves);
    }
    Ok((mask, order))
}

pub(super) fn check_differentiable_inputs(
    name: &str,
    leaves: &[Array],
    mask: &[bool],
) -> Result<()> {
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

/// The gradients of the differentiated leaves, on the stack for up to four.
type LeafGrads = SmallVec<[Array; 4]>;

/// The core of `grad`: value, gradients of the differentiated leaves (in `order`), and aux.
fn value_and_grad_flat(
    flat: &dyn Fn(&[Array]) -> Result<Vec<Array>>,
    leaves: &[Array],
    mask: &[bool],
    order: &[usize],
    num_aux: usize,
) -> Result<(Array, LeafGrads, Vec<Array>)> {
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
    let mut cts_out: SmallVec<[Tangent; 4]> = smallvec![Some(lax::scalar_like(&out, 1.0))];
    cts_out.extend(lin.out_avals[1..].iter().map(|_| None));
    let cts = lin.transpose(&cts_out)?;
    // The cotangents come per differentiated leaf, in leaf order: leaf `l`'s is at the
    // number of differentiated leaves before it.
    let mut grads = LeafGrads::new();
    for &leaf in order {
        let k = mask[..leaf].iter().filter(|&&m| m).count();
        grads.push(match &cts[k] {
            Some(g) => g.clone(),
            None => lax::zeros(&lin.in_avals[k])?,
        });
    }
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
        let (_, grads, _) = with_leaves(&args, |leaves| {
            value_and_grad_flat(&flat, leaves, &mask, &order, 0)
        })?;
        self.argnums.template(&args).rebuild_cloned(&grads)
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
        let (_, grads, aux) = with_leaves(&args, |leaves| {
            value_and_grad_flat(&flat, leaves, &mask, &order, usize::MAX)
        })?;
        let template = out.take();
        Ok((
            self.argnums.template(&args).rebuild_cloned(&grads)?,
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
        let (value, grads, _) = with_leaves(&args, |leaves| {
            value_and_grad_flat(&flat, leaves, &mask, &order, 0)
        })?;
        Ok((value, self.argnums.template(&args).rebuild_cloned(&grads)?))
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
        let (value, grads, aux) = with_leaves(&args, |leaves| {
            value_and_grad_flat(&flat, leaves, &mask, &order, usize::MAX)
        })?;
        let template = out.take();
        Ok((
            (value, template.1.rebuild(aux)?),
            self.argnums.template(&args).rebuild_cloned(&grads)?,
        ))
    }
}

/// The template of `f`'s output, its primal output leaves and their tangents (zeros where
/// an output does not depend on the inputs).
fn jvp_leaves<Args, F>(
    f: &F,
    primals: Args,
    tangents: Args,
) -> Result<(F::Output, Vec<Array>, Vec<Array>)>
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
    let to = to
        .into_iter()
        .zip(&po)
        .map(|(t, p)| {
            t.map(Ok)
                .unwrap_or_else(|| lax::zeros(&p.aval().clone().weak(false)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((out.take(), po, to))
}

/// `jvp(f, primals, tangents)`: `(f(primals), J tangents)`.
///
/// # Errors
/// Primals and tangents of different structures or types, integer primals, or what `f`
/// raises.
pub fn jvp<Args, F>(f: &F, primals: Args, tangents: Args) -> Result<(F::Output, F::Output)>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    let (template, po, to) = jvp_leaves(f, primals, tangents)?;
    Ok((template.rebuild(po)?, template.rebuild(to)?))
}

/// `jvp(f, primals, tangents, has_aux=True)`: `f` returns `(out, aux)`; the result is
/// `(out, J tangents, aux)` (aux is not differentiated).
///
/// # Errors
/// As [`jvp`].
pub fn jvp_has_aux<Args, F, O, Aux>(f: &F, primals: Args, tangents: Args) -> Result<(O, O, Aux)>
where
    Args: ArgTuple,
    F: Function<Args, Output = (O, Aux)>,
    O: Pytree,
    Aux: Pytree,
{
    let (template, mut po, mut to) = jvp_leaves(f, primals, tangents)?;
    let n = template.0.num_leaves();
    let aux = po.split_off(n);
    to.truncate(n);
    Ok((
        template.0.rebuild(po)?,
        template.0.rebuild(to)?,
        template.1.rebuild(aux)?,
    ))
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
    /// Outputs of the linearized function past `out`'s leaves (an aux output, not
    /// differentiated).
    num_aux: usize,
}

impl<Args: ArgTuple, Out: Pytree> Linearized<Args, Out> {
    /// The JVP at the linearization point: `J t`.
    ///
    /// # Errors
    /// Tangents whose structure or types do not match the primals'.
    pub fn jvp(&self, tangents: Args) -> Result<Out> {
        check_same_types("linearize", &self.args.leaves(), &tangents.leaves())?;
        let mut outs = self.lin.call(&tangents.leaves())?;
        outs.truncate(outs.len() - self.num_aux);
        self.out.rebuild(outs)
    }

    /// The VJP: `ct ↦ Jᵀ ct`, cotangents for every argument.
    ///
    /// # Errors
    /// A cotangent whose structure or types do not match the outputs'.
    pub fn vjp(&self, cotangents: Out) -> Result<Args> {
        check_same_types("vjp", &self.out.leaves(), &cotangents.leaves())?;
        let mut cts: Vec<Tangent> = cotangents.leaves().into_iter().map(Some).collect();
        cts.extend((0..self.num_aux).map(|_| None));
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

/// Linearize `f` at `primals`: the output template, the output leaves, and the linear map.
fn linearize_leaves<Args, F>(f: &F, primals: &Args) -> Result<(F::Output, Vec<Array>, LinearFn)>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    let leaves = primals.leaves();
    check_differentiable_inputs("linearize", &leaves, &vec![true; leaves.len()])?;
    let out = OutTemplate::new();
    let flat = flat_fn(f, primals, &out);
    let (po, lin) = linearize_flat(&flat, &leaves, &vec![true; leaves.len()])?;
    drop(flat);
    Ok((out.take(), po, lin))
}

/// `linearize(f, primals)`: `f(primals)` and the linear map `t ↦ J t`.
///
/// # Errors
/// Integer primals, or what `f` raises.
pub fn linearize<Args, F>(f: &F, primals: Args) -> Result<WithLinear<Args, F::Output>>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    let (template, po, lin) = linearize_leaves(f, &primals)?;
    let value = template.rebuild(po)?;
    Ok((
        value,
        Linearized {
            lin,
            args: primals,
            out: template,
            num_aux: 0,
        },
    ))
}

/// `linearize(f, primals, has_aux=True)`: `f` returns `(out, aux)`; the result is
/// `(out, t ↦ J t, aux)`.
///
/// # Errors
/// As [`linearize`].
pub fn linearize_has_aux<Args, F, O, Aux>(
    f: &F,
    primals: Args,
) -> Result<(O, Linearized<Args, O>, Aux)>
where
    Args: ArgTuple,
    F: Function<Args, Output = (O, Aux)>,
    O: Pytree,
    Aux: Pytree,
{
    let (template, mut po, lin) = linearize_leaves(f, &primals)?;
    let aux = po.split_off(template.0.num_leaves());
    let num_aux = aux.len();
    Ok((
        template.0.rebuild(po)?,
        Linearized {
            lin,
            args: primals,
            out: template.0,
            num_aux,
        },
        template.1.rebuild(aux)?,
    ))
}

/// `vjp(f, primals)`: `f(primals)` and the pullback `ct ↦ Jᵀ ct` (`.vjp(ct)`).
///
/// # Errors
/// As [`linearize`].
pub fn vjp<Args, F>(f: &F, primals: Args) -> Result<WithLinear<Args, F::Output>>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    linearize(f, primals)
}

/// `vjp(f, primals, has_aux=True)`: `(out, pullback, aux)`.
///
/// # Errors
/// As [`linearize`].
pub fn vjp_has_aux<Args, F, O, Aux>(f: &F, primals: Args) -> Result<(O, Linearized<Args, O>, Aux)>
where
    Args: ArgTuple,
    F: Function<Args, Output = (O, Aux)>,
    O: Pytree,
    Aux: Pytree,
{
    linearize_has_aux(f, primals)
}

/// Float dtypes only: integer inputs to differentiation are an error.
pub fn is_differentiable(dtype: DType) -> bool {
    dtype.is_float()
}
