//! `vmap(f)` with `in_axes`, `out_axes` and `axis_size`, as JAX's.

use super::{flat_fn, Function, OutTemplate};
use crate::core::error::{Error, Result};
use crate::pytree::{ArgTuple, Pytree};
use crate::transform::vmap::vmap_flat;

/// Where the batch axis is: one axis (negative counts from the end) or `None` (not batched),
/// for all arguments/outputs, per argument/output, or per pytree leaf.
#[derive(Clone, Debug, PartialEq)]
pub enum Axes {
    /// One axis for every argument leaf (`None`: not batched).
    All(Option<isize>),
    /// One axis per positional argument, for all its leaves.
    PerArg(Vec<Option<isize>>),
    /// One axis per flattened argument leaf.
    PerLeaf(Vec<Option<isize>>),
}

impl From<isize> for Axes {
    fn from(a: isize) -> Axes {
        Axes::All(Some(a))
    }
}

impl From<Option<isize>> for Axes {
    fn from(a: Option<isize>) -> Axes {
        Axes::All(a)
    }
}

impl<const N: usize> From<[Option<isize>; N]> for Axes {
    fn from(a: [Option<isize>; N]) -> Axes {
        Axes::PerArg(a.to_vec())
    }
}

impl From<Vec<Option<isize>>> for Axes {
    fn from(a: Vec<Option<isize>>) -> Axes {
        Axes::PerArg(a)
    }
}

impl Axes {
    /// One entry per leaf, given the leaf counts of the arguments (or outputs).
    fn per_leaf(&self, what: &str, counts: &[usize]) -> Result<Vec<Option<isize>>> {
        let total: usize = counts.iter().sum();
        match self {
            Axes::All(a) => Ok(vec![*a; total]),
            Axes::PerArg(v) => {
                if v.len() != counts.len() {
                    return Err(Error::value_err(format!(
                        "vmap {what} specification must have one entry per {} ({}), got {}",
                        if what == "in_axes" {
                            "positional argument"
                        } else {
                            "output"
                        },
                        counts.len(),
                        v.len()
                    )));
                }
                Ok(v.iter()
                    .zip(counts)
                    .flat_map(|(a, &c)| std::iter::repeat_n(*a, c))
                    .collect())
            }
            Axes::PerLeaf(v) => {
                if v.len() != total {
                    return Err(Error::value_err(format!(
                        "vmap {what} per-leaf specification has {} entries for {total} leaves",
                        v.len()
                    )));
                }
                Ok(v.clone())
            }
        }
    }
}

/// Where leaf `i` of the flattened arguments (or outputs) comes from, for messages:
/// `argument 1` when that argument is one array, `leaf 2 of argument 1` in a pytree.
fn leaf_name(what: &str, counts: &[usize], i: usize) -> String {
    let mut start = 0;
    for (k, &c) in counts.iter().enumerate() {
        if i < start + c {
            return if c == 1 {
                format!("{what} {k}")
            } else {
                format!("leaf {} of {what} {k}", i - start)
            };
        }
        start += c;
    }
    format!("{what} leaf {i}")
}

/// JAX's message for batch sizes that differ: the sizes grouped, most common first, each with
/// an example axis, argument and type.
fn inconsistent_sizes(
    leaves: &[crate::array::Array],
    axes: &[Option<usize>],
    counts: &[usize],
) -> Option<Error> {
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for (i, (x, a)) in leaves.iter().zip(axes).enumerate() {
        let Some(a) = a else { continue };
        let n = x.shape()[*a];
        match groups.iter_mut().find(|(m, _)| *m == n) {
            Some((_, members)) => members.push(i),
            None => groups.push((n, vec![i])),
        }
    }
    if groups.len() <= 1 {
        return None;
    }
    groups.sort_by_key(|(_, members)| std::cmp::Reverse(members.len()));
    let describe = |i: usize| {
        format!(
            "axis {} of {} of type {}",
            axes[i].expect("mapped"),
            leaf_name("argument", counts, i),
            leaves[i].aval()
        )
    };
    let lines: Vec<String> = groups
        .iter()
        .enumerate()
        .map(|(g, (n, members))| {
            if members.len() == 1 {
                format!("  * one axis had size {n}: {}", describe(members[0]))
            } else {
                format!(
                    "  * {} axes ({} of them) had size {n}, e.g. {}",
                    if g == 0 { "most" } else { "some" },
                    members.len(),
                    describe(members[0])
                )
            }
        })
        .collect();
    Some(Error::value_err(format!(
        "vmap got inconsistent sizes for array axes to be mapped:\n{}",
        lines.join(";\n")
    )))
}

/// `vmap(f)`: `f` mapped over axis 0 of every argument, results stacked on axis 0.
pub fn vmap<F>(f: F) -> Vmap<F> {
    Vmap {
        f,
        in_axes: Axes::All(Some(0)),
        out_axes: Axes::All(Some(0)),
        axis_size: None,
    }
}

#[derive(Clone)]
/// `vmap(f)`: `f` mapped over a batch axis of its arguments (see [`vmap`]).
pub struct Vmap<F> {
    f: F,
    in_axes: Axes,
    out_axes: Axes,
    axis_size: Option<usize>,
}

impl<F> std::fmt::Debug for Vmap<F> {
    /// The wrapped function is a closure, which has no `Debug`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vmap").finish_non_exhaustive()
    }
}

impl<F> Vmap<F> {
    /// `in_axes=(None, 0, 0)` is `.in_axes([None, Some(0), Some(0)])`.
    pub fn in_axes(mut self, axes: impl Into<Axes>) -> Self {
        self.in_axes = axes.into();
        self
    }

    /// Where the batch axis goes in the outputs (JAX's `out_axes`; default 0).
    pub fn out_axes(mut self, axes: impl Into<Axes>) -> Self {
        self.out_axes = axes.into();
        self
    }

    /// The batch size when no argument is batched.
    pub fn axis_size(mut self, n: usize) -> Self {
        self.axis_size = Some(n);
        self
    }
}

impl<Args, F> Function<Args> for Vmap<F>
where
    Args: ArgTuple,
    F: Function<Args>,
{
    type Output = F::Output;

    fn call(&self, args: Args) -> Result<F::Output> {
        let leaves = args.leaves();
        let counts = args.arg_leaf_counts();
        let in_axes = self.in_axes.per_leaf("in_axes", &counts)?;
        let in_axes: Vec<Option<usize>> = in_axes
            .iter()
            .zip(&leaves)
            .enumerate()
            .map(|(i, (a, x))| {
                a.map(|a| {
                    let r = if a < 0 { a + x.ndim() as isize } else { a };
                    if r < 0 || r as usize >= x.ndim() {
                        Err(Error::value_err(format!(
                            "vmap was requested to map its argument along axis {a}, which implies that its rank should be at least {}, but is only {} (its shape is {}); in_axes for {}",
                            if a < 0 { -a } else { a + 1 },
                            x.ndim(),
                            crate::core::error::shape_str(x.shape()),
                            leaf_name("argument", &counts, i)
                        )))
                    } else {
                        Ok(r as usize)
                    }
                })
                .transpose()
            })
            .collect::<Result<_>>()?;
        if let Some(e) = inconsistent_sizes(&leaves, &in_axes, &counts) {
            return Err(e);
        }
        // The outputs exist only once `f` has been traced: out_axes are checked against them
        // (each output's rank once batched) inside the trace, and applied by `vmap_flat`.
        let out = OutTemplate::new();
        let flat = flat_fn(&self.f, &args, &out);
        let out_axes = std::cell::RefCell::new(Vec::<Option<usize>>::new());
        let traced = |xs: &[crate::array::Array]| {
            let r = flat(xs)?;
            let template = out.get();
            let out_counts = per_output_counts(&template);
            let spec = self.out_axes.per_leaf("out_axes", &out_counts)?;
            let resolved = spec
                .iter()
                .zip(&r)
                .enumerate()
                .map(|(j, (a, o))| {
                    a.map(|a| {
                        let rank = o.ndim() + 1;
                        let n = if a < 0 { a + rank as isize } else { a };
                        if n < 0 || n as usize >= rank {
                            Err(Error::value_err(format!(
                                "vmap out_axes {a} is out of range for {} of per-example shape {}: batched, it has rank {rank}, so out_axes must be in [-{rank}, {rank})",
                                leaf_name("output", &out_counts, j),
                                crate::core::error::shape_str(o.shape()),
                            )))
                        } else {
                            Ok(n as usize)
                        }
                    })
                    .transpose()
                })
                .collect::<Result<Vec<_>>>()?;
            *out_axes.borrow_mut() = resolved;
            Ok(r)
        };
        let resolve = |j: usize| out_axes.borrow().get(j).copied().flatten();
        let outs = vmap_flat(&traced, &leaves, &in_axes, &resolve, self.axis_size)?;
        out.take().rebuild(outs)
    }

    fn name(&self) -> String {
        format!("vmap({})", self.f.name())
    }
}

/// Leaf counts of each top-level output (a tuple output counts per element; anything else is
/// one output).
fn per_output_counts<T: Pytree>(t: &T) -> Vec<usize> {
    t.tuple_leaf_counts()
        .unwrap_or_else(|| vec![t.num_leaves()])
}
