//! `vmap(f)` with `in_axes`, `out_axes` and `axis_size`, as JAX's.

use super::{flat_fn, Function, OutTemplate};
use crate::core::error::{Error, Result};
use crate::pytree::{ArgTuple, Pytree};
use crate::transform::vmap::vmap_flat;

/// Where the batch axis is: one axis (negative counts from the end) or `None` (not batched),
/// for all arguments/outputs, per argument/output, or per pytree leaf.
#[derive(Clone, Debug, PartialEq)]
pub enum Axes {
    All(Option<isize>),
    PerArg(Vec<Option<isize>>),
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

/// Normalise a possibly negative axis against a rank.
fn normalize(axis: isize, rank: usize, what: &str, index: usize) -> Result<usize> {
    let a = if axis < 0 { axis + rank as isize } else { axis };
    if a < 0 || a as usize >= rank.max(1) && !(rank == 0 && a == 0) {
        return Err(Error::value_err(format!(
            "vmap {what} {axis} is out of range for leaf {index} of rank {rank}"
        )));
    }
    Ok(a as usize)
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
pub struct Vmap<F> {
    f: F,
    in_axes: Axes,
    out_axes: Axes,
    axis_size: Option<usize>,
}

impl<F> Vmap<F> {
    /// `in_axes=(None, 0, 0)` is `.in_axes([None, Some(0), Some(0)])`.
    pub fn in_axes(mut self, axes: impl Into<Axes>) -> Self {
        self.in_axes = axes.into();
        self
    }

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
        let in_axes = self.in_axes.per_leaf("in_axes", &args.arg_leaf_counts())?;
        let in_axes: Vec<Option<usize>> = in_axes
            .iter()
            .zip(&leaves)
            .enumerate()
            .map(|(i, (a, x))| {
                a.map(|a| {
                    let r = if a < 0 { a + x.ndim() as isize } else { a };
                    if r < 0 || r as usize >= x.ndim() {
                        Err(Error::value_err(format!(
                            "vmap was requested to map its argument along axis {a}, which implies that its rank should be at least {}, but is only {} (its shape is {}); leaf {i}",
                            if a < 0 { -a } else { a + 1 },
                            x.ndim(),
                            crate::core::error::shape_str(x.shape())
                        )))
                    } else {
                        Ok(r as usize)
                    }
                })
                .transpose()
            })
            .collect::<Result<_>>()?;
        // Per-example abstract call is unknown until traced; out_axes are resolved per output
        // leaf once the outputs exist.
        let out = OutTemplate::new();
        let flat = flat_fn(&self.f, &args, &out);
        let out_spec = std::cell::RefCell::new(None::<Vec<Option<isize>>>);
        let out_ranks = std::cell::RefCell::new(Vec::<usize>::new());
        let traced = |xs: &[crate::array::Array]| {
            let r = flat(xs)?;
            let template = out.get();
            let counts = per_output_counts(&template);
            *out_spec.borrow_mut() = Some(self.out_axes.per_leaf("out_axes", &counts)?);
            *out_ranks.borrow_mut() = r.iter().map(|o| o.ndim() + 1).collect();
            Ok(r)
        };
        let resolve = |j: usize| -> Option<usize> {
            let spec = out_spec.borrow();
            let a = spec.as_ref().and_then(|s| s.get(j).copied()).flatten()?;
            let rank = out_ranks.borrow()[j];
            normalize(a, rank, "out_axes", j).ok().or(Some(usize::MAX))
        };
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
    let mut def = String::new();
    t.treedef(&mut def);
    let n = t.num_leaves();
    if def.starts_with('(') && def != "()" {
        // Split the top-level tuple's elements by walking the treedef string.
        let inner = &def[1..def.len() - 1];
        let mut counts = Vec::new();
        let (mut depth, mut leaves) = (0i32, 0usize);
        for ch in inner.chars() {
            match ch {
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                '*' => leaves += 1,
                ',' if depth == 0 => {
                    counts.push(leaves);
                    leaves = 0;
                }
                _ => {}
            }
        }
        if counts.iter().sum::<usize>() == n {
            return counts;
        }
    }
    vec![n]
}
