//! `jacfwd`, `jacrev` (also `jacobian`) and `hessian` with JAX's `argnums` and `has_aux`, on
//! pytrees: the Jacobian of `f: X -> Y` has `Y`'s structure with, at each output leaf of shape
//! `o`, the differentiated arguments' structure whose leaves have shape `o + i` (`i` each input
//! leaf's shape). Forward mode is a vmap of jvp over the inputs' standard basis, reverse mode a
//! vmap of the pullback over the outputs' basis, as in JAX.

use super::autodiff::{check_differentiable_inputs, wrt_leaves, Argnum, Argnums};
use super::{flat_fn, Function, OutTemplate};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::lax;
use crate::prims::Tangent;
use crate::pytree::{ArgTuple, MapLeaves, Pytree};
use crate::transform::jvp::jvp_flat;
use crate::transform::linearize::linearize_flat;
use crate::transform::vmap::vmap_flat;
use std::cell::Cell;

type FlatFn<'a> = &'a dyn Fn(&[Array]) -> Result<Vec<Array>>;

/// `jacfwd(f)`: the Jacobian of `f` by forward mode, with respect to the first argument
/// (`.argnums(..)` for others, `.has_aux()` when `f` returns `(out, aux)`).
pub fn jacfwd<F>(f: F) -> Jacfwd<F, Argnum<0>> {
    Jacfwd { f, argnums: Argnum }
}

/// `jacrev(f)`: the Jacobian by reverse mode (a vmap of vjp over the output basis).
pub fn jacrev<F>(f: F) -> Jacrev<F, Argnum<0>> {
    Jacrev { f, argnums: Argnum }
}

/// `jacobian` is `jacrev`, as in JAX.
pub fn jacobian<F>(f: F) -> Jacrev<F, Argnum<0>> {
    jacrev(f)
}

/// `hessian(f) = jacfwd(jacrev(f, argnums), argnums)`.
pub fn hessian<F>(f: F) -> Hessian<F, Argnum<0>> {
    Hessian {
        inner: jacfwd(jacrev(f)),
    }
}

/// The function `jacfwd(f)` (JAX's `argnums` and `has_aux` as builder methods).
#[derive(Clone)]
pub struct Jacfwd<F, N> {
    f: F,
    argnums: N,
}

impl<F, N> std::fmt::Debug for Jacfwd<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jacfwd").finish_non_exhaustive()
    }
}

/// The function `jacrev(f)`.
#[derive(Clone)]
pub struct Jacrev<F, N> {
    f: F,
    argnums: N,
}

impl<F, N> std::fmt::Debug for Jacrev<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jacrev").finish_non_exhaustive()
    }
}

/// `jacfwd(f, has_aux=True)`: the result is `(jacobian, aux)`.
#[derive(Clone)]
pub struct JacfwdAux<F, N> {
    f: F,
    argnums: N,
}

impl<F, N> std::fmt::Debug for JacfwdAux<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JacfwdAux").finish_non_exhaustive()
    }
}

/// `jacrev(f, has_aux=True)`: the result is `(jacobian, aux)`.
#[derive(Clone)]
pub struct JacrevAux<F, N> {
    f: F,
    argnums: N,
}

impl<F, N> std::fmt::Debug for JacrevAux<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JacrevAux").finish_non_exhaustive()
    }
}

/// The function `hessian(f)`.
#[derive(Clone)]
pub struct Hessian<F, N> {
    inner: Jacfwd<Jacrev<F, N>, N>,
}

impl<F, N> std::fmt::Debug for Hessian<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hessian").finish_non_exhaustive()
    }
}

/// `hessian(f, has_aux=True)`: the result is `(hessian, aux)`.
#[derive(Clone)]
pub struct HessianAux<F, N> {
    inner: JacfwdAux<JacrevAux<F, N>, N>,
}

impl<F, N> std::fmt::Debug for HessianAux<F, N> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HessianAux").finish_non_exhaustive()
    }
}

macro_rules! jac_builders {
    ($($T:ident => $Aux:ident),*) => {$(
        impl<F, N> $T<F, N> {
            /// Differentiate with respect to other arguments: `ARG1` or a tuple of them.
            pub fn argnums<M>(self, argnums: M) -> $T<F, M> {
                $T { f: self.f, argnums }
            }
            /// `f` returns `(out, aux)`; the result is `(jacobian, aux)`.
            pub fn has_aux(self) -> $Aux<F, N> {
                $Aux { f: self.f, argnums: self.argnums }
            }
        }
    )*};
}
jac_builders!(Jacfwd => JacfwdAux, Jacrev => JacrevAux);

impl<F, N: Clone> Hessian<F, N> {
    /// Differentiate (twice) with respect to other arguments.
    pub fn argnums<M: Clone>(self, argnums: M) -> Hessian<F, M> {
        Hessian {
            inner: jacfwd(jacrev(self.inner.f.f).argnums(argnums.clone())).argnums(argnums),
        }
    }
    /// `f` returns `(out, aux)`; the result is `(hessian, aux)`.
    pub fn has_aux(self) -> HessianAux<F, N> {
        let n = self.inner.argnums;
        HessianAux {
            inner: jacfwd(jacrev(self.inner.f.f).argnums(n.clone()).has_aux())
                .argnums(n)
                .has_aux(),
        }
    }
}

/// The identity basis of `n` directions restricted to each leaf: for leaves of types `avals`
/// (sizes summing to `n`), arrays of shape `[n] + shape` with a one at (offset + j, j).
fn std_basis(avals: &[Aval]) -> Result<Vec<Array>> {
    let n: usize = avals.iter().map(Aval::size).sum();
    let mut offset = 0;
    avals
        .iter()
        .map(|a| {
            let s = a.size();
            let eye = Array::eye(n, a.dtype);
            let cols = lax::slice(&eye, &[0, offset], &[n, offset + s], None)?;
            offset += s;
            let mut shape = vec![n];
            shape.extend(&a.shape);
            lax::reshape(&cols, &shape)
        })
        .collect()
}

/// Rows `[offset, offset + size)` of `x` (axis 0), for each of `sizes` in turn.
fn split_rows(x: &Array, sizes: &[usize]) -> Result<Vec<Array>> {
    let mut start = 0;
    sizes
        .iter()
        .map(|&s| {
            let mut lo = vec![0; x.ndim()];
            let mut hi = x.shape().to_vec();
            lo[0] = start;
            hi[0] = start + s;
            start += s;
            lax::slice(x, &lo, &hi, None)
        })
        .collect()
}

fn concat_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    [a, b].concat()
}

/// `jac[j][k]` is d out_j / d in_k (shape `out_j + in_k`); `k` runs over the differentiated
/// leaves in leaf order. Also the aux outputs, past the first `n_main()` outputs.
type FlatJacobian = (Vec<Vec<Array>>, Vec<Array>);

/// The Jacobian of a flat function by forward mode.
fn jacfwd_flat(
    flat: FlatFn<'_>,
    leaves: &[Array],
    mask: &[bool],
    n_main: &dyn Fn() -> usize,
) -> Result<FlatJacobian> {
    let wrt: Vec<usize> = (0..leaves.len()).filter(|&i| mask[i]).collect();
    let in_avals: Vec<Aval> = wrt
        .iter()
        .map(|&i| leaves[i].aval().clone().weak(false))
        .collect();
    let sizes: Vec<usize> = in_avals.iter().map(Aval::size).collect();
    let basis = std_basis(&in_avals)?;
    let main = Cell::new(0);
    let out_shapes = std::cell::RefCell::new(Vec::new());
    let pushfwd = |ts: &[Array]| -> Result<Vec<Array>> {
        let mut tangents: Vec<Tangent> = vec![None; leaves.len()];
        for (k, &i) in wrt.iter().enumerate() {
            tangents[i] = Some(ts[k].clone());
        }
        let (po, to) = jvp_flat(flat, leaves, &tangents)?;
        let m = n_main();
        main.set(m);
        *out_shapes.borrow_mut() = po[..m].iter().map(|p| p.shape().to_vec()).collect();
        let mut outs = to
            .into_iter()
            .zip(&po)
            .take(m)
            .map(|(t, p)| match t {
                Some(t) => Ok(t),
                None => lax::zeros(&p.aval().clone().weak(false)),
            })
            .collect::<Result<Vec<_>>>()?;
        outs.extend(po[m..].iter().cloned());
        Ok(outs)
    };
    let in_axes = vec![Some(0); basis.len()];
    let mut outs = vmap_flat(
        &pushfwd,
        &basis,
        &in_axes,
        &|j| (j < main.get()).then_some(0),
        Some(sizes.iter().sum()),
    )?;
    let aux = outs.split_off(main.get());
    // Each output: [n] + out.shape, split by input leaf and moved to out.shape + in.shape.
    let jac = outs
        .iter()
        .zip(out_shapes.borrow().iter())
        .map(|(y, o)| {
            split_rows(y, &sizes)?
                .iter()
                .zip(&in_avals)
                .map(|(piece, a)| {
                    let moved = lax::moveaxis(piece, 0, o.len())?;
                    lax::reshape(&moved, &concat_shape(o, &a.shape))
                })
                .collect()
        })
        .collect::<Result<_>>()?;
    Ok((jac, aux))
}

/// The Jacobian of a flat function by reverse mode.
fn jacrev_flat(
    flat: FlatFn<'_>,
    leaves: &[Array],
    mask: &[bool],
    n_main: &dyn Fn() -> usize,
) -> Result<FlatJacobian> {
    let (mut po, lin) = linearize_flat(flat, leaves, mask)?;
    let m = n_main();
    let aux = po.split_off(m);
    if let Some(y) = po.iter().find(|y| !y.dtype().is_float()) {
        return Err(Error::type_err(format!(
            "jacrev requires real-valued outputs (output dtype that is a sub-dtype of np.floating). For holomorphic differentiation, pass holomorphic=True. For differentiation of non-holomorphic functions involving complex outputs, use jax.vjp directly. Got output dtype {}",
            y.dtype().numpy_name()
        )));
    }
    let out_avals: Vec<Aval> = po.iter().map(|y| y.aval().clone().weak(false)).collect();
    let out_sizes: Vec<usize> = out_avals.iter().map(Aval::size).collect();
    let basis = std_basis(&out_avals)?;
    let num_aux = aux.len();
    let pullback = |cts: &[Array]| -> Result<Vec<Array>> {
        let mut c: Vec<Tangent> = cts.iter().cloned().map(Some).collect();
        c.extend((0..num_aux).map(|_| None));
        lin.transpose(&c)?
            .into_iter()
            .zip(&lin.in_avals)
            .map(|(g, a)| g.map(Ok).unwrap_or_else(|| lax::zeros(a)))
            .collect()
    };
    let in_axes = vec![Some(0); basis.len()];
    let rows = vmap_flat(
        &pullback,
        &basis,
        &in_axes,
        &|_| Some(0),
        Some(out_sizes.iter().sum()),
    )?;
    // rows[k]: [m] + in_k.shape, split by output leaf into out_j.shape + in_k.shape.
    let per_input: Vec<Vec<Array>> = rows
        .iter()
        .map(|r| split_rows(r, &out_sizes))
        .collect::<Result<_>>()?;
    let jac = out_avals
        .iter()
        .enumerate()
        .map(|(j, o)| {
            per_input
                .iter()
                .zip(&lin.in_avals)
                .map(|(pieces, a)| lax::reshape(&pieces[j], &concat_shape(&o.shape, &a.shape)))
                .collect()
        })
        .collect::<Result<_>>()?;
    Ok((jac, aux))
}

/// Which flat Jacobian.
type FlatJac = fn(FlatFn<'_>, &[Array], &[bool], &dyn Fn() -> usize) -> Result<FlatJacobian>;

/// A function's output template, one tree of derivatives per differentiated output leaf, and
/// the aux output's leaves.
type OutGradsAux<O, G> = (O, Vec<G>, Vec<Array>);

/// Run a Jacobian on `f(args)`: the output template, the per-output-leaf arguments' trees of
/// derivatives (as `argnums` orders them) and the aux leaves. `main` picks the differentiated
/// part of the output template.
fn jacobian_of<Args, F, N, M>(
    name: &str,
    jac: FlatJac,
    f: &F,
    argnums: &N,
    args: &Args,
    main: impl Fn(&F::Output) -> &M,
) -> Result<OutGradsAux<F::Output, N::Grads>>
where
    Args: ArgTuple,
    F: Function<Args>,
    N: Argnums<Args>,
    M: Pytree,
{
    let (mask, order) = wrt_leaves(&args.arg_leaf_counts(), &argnums.indices())?;
    let leaves = args.leaves();
    check_differentiable_inputs(name, &leaves, &mask)?;
    let out = OutTemplate::new();
    let flat = flat_fn(f, args, &out);
    let n_main = || out.0.borrow().as_ref().map_or(0, |o| main(o).num_leaves());
    let (rows, aux) = jac(&flat, &leaves, &mask, &n_main)?;
    drop(flat);
    // `order` lists leaves (repeats allowed); `rows[j]` holds the differentiated leaves in
    // leaf order.
    let wrt: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();
    let pick: Vec<usize> = order
        .iter()
        .map(|l| {
            wrt.iter()
                .position(|w| w == l)
                .expect("a differentiated leaf")
        })
        .collect();
    let template = argnums.template(args);
    let grads = rows
        .into_iter()
        .map(|row| template.rebuild(pick.iter().map(|&k| row[k].clone()).collect()))
        .collect::<Result<_>>()?;
    Ok((out.take(), grads, aux))
}

/// `out`'s structure with the `k`-th leaf replaced by `grads[k]`.
fn place<O: MapLeaves, G: Pytree>(out: &O, grads: Vec<G>) -> Result<O::Mapped<G>> {
    let mut it = grads.into_iter();
    out.map_leaves(&mut |_| {
        it.next()
            .ok_or_else(|| Error::type_err("jacobian: fewer rows than output leaves"))
    })
}

macro_rules! jac_function {
    ($T:ident, $Aux:ident, $name:literal, $flat:ident) => {
        impl<Args, F, N> Function<Args> for $T<F, N>
        where
            Args: ArgTuple,
            F: Function<Args>,
            F::Output: MapLeaves,
            N: Argnums<Args>,
        {
            type Output = <F::Output as MapLeaves>::Mapped<N::Grads>;

            fn call(&self, args: Args) -> Result<Self::Output> {
                let (out, grads, _) =
                    jacobian_of($name, $flat, &self.f, &self.argnums, &args, |o| o)?;
                place(&out, grads)
            }

            fn name(&self) -> String {
                format!(concat!($name, "({})"), self.f.name())
            }
        }

        impl<Args, F, N, O, A> Function<Args> for $Aux<F, N>
        where
            Args: ArgTuple,
            F: Function<Args, Output = (O, A)>,
            O: MapLeaves,
            A: Pytree,
            N: Argnums<Args>,
        {
            type Output = (O::Mapped<N::Grads>, A);

            fn call(&self, args: Args) -> Result<Self::Output> {
                let (out, grads, aux) =
                    jacobian_of($name, $flat, &self.f, &self.argnums, &args, |o| &o.0)?;
                Ok((place(&out.0, grads)?, out.1.rebuild(aux)?))
            }

            fn name(&self) -> String {
                format!(concat!($name, "({})"), self.f.name())
            }
        }
    };
}
jac_function!(Jacfwd, JacfwdAux, "jacfwd", jacfwd_flat);
jac_function!(Jacrev, JacrevAux, "jacrev", jacrev_flat);

impl<Args, F, N> Function<Args> for Hessian<F, N>
where
    Args: ArgTuple,
    Jacfwd<Jacrev<F, N>, N>: Function<Args>,
{
    type Output = <Jacfwd<Jacrev<F, N>, N> as Function<Args>>::Output;
    fn call(&self, args: Args) -> Result<Self::Output> {
        self.inner.call(args)
    }
    fn name(&self) -> String {
        self.inner.name()
    }
}

impl<Args, F, N> Function<Args> for HessianAux<F, N>
where
    Args: ArgTuple,
    JacfwdAux<JacrevAux<F, N>, N>: Function<Args>,
{
    type Output = <JacfwdAux<JacrevAux<F, N>, N> as Function<Args>>::Output;
    fn call(&self, args: Args) -> Result<Self::Output> {
        self.inner.call(args)
    }
}
