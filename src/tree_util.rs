//! `jax.tree_util` with JAX's names: flatten a pytree to its leaves and a structure
//! ([`PyTreeDef`]), rebuild it, and map a function over the leaves of one or two trees.

use crate::api::FnResult;
use crate::array::Array;
use crate::core::error::{Error, Result};
use crate::pytree::{treedef_and_statics, Pytree, StaticValue};
use std::fmt;

pub use crate::pytree::MapLeaves;

/// The structure of a pytree of type `T`: its node kinds, arities, keys and static values,
/// without its leaves' values. Equal treedefs rebuild from each other's leaves.
#[derive(Clone)]
pub struct PyTreeDef<T> {
    template: T,
    treedef: String,
    statics: Vec<StaticValue>,
    num_leaves: usize,
}

impl<T: Pytree> PyTreeDef<T> {
    /// How many leaves a tree of this structure has.
    pub fn num_leaves(&self) -> usize {
        self.num_leaves
    }

    /// A tree of this structure with `leaves` (JAX's `treedef.unflatten(leaves)`).
    ///
    /// # Errors
    /// Fewer or more leaves than the structure holds (JAX's wording).
    pub fn unflatten(&self, leaves: impl IntoIterator<Item = Array>) -> Result<T> {
        let leaves: Vec<Array> = leaves.into_iter().collect();
        if leaves.len() < self.num_leaves {
            return Err(Error::value_err(format!(
                "Too few leaves for PyTreeDef; expected {}, got {}.",
                self.num_leaves,
                leaves.len()
            )));
        }
        if leaves.len() > self.num_leaves {
            return Err(Error::value_err(format!(
                "Too many leaves for PyTreeDef; expected {}.",
                self.num_leaves
            )));
        }
        self.template.rebuild(leaves)
    }
}

impl<T> PartialEq for PyTreeDef<T> {
    fn eq(&self, other: &Self) -> bool {
        self.treedef == other.treedef && self.statics == other.statics
    }
}

impl<T> fmt::Display for PyTreeDef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PyTreeDef({})", self.treedef)
    }
}

impl<T> fmt::Debug for PyTreeDef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `tree_leaves(tree)`: the leaves in flattening order.
pub fn tree_leaves<T: Pytree>(tree: &T) -> Vec<Array> {
    tree.leaves()
}

/// `tree_structure(tree)`: the structure of `tree`.
pub fn tree_structure<T: Pytree>(tree: &T) -> PyTreeDef<T> {
    let mut treedef = String::new();
    let statics = treedef_and_statics(tree, &mut treedef);
    PyTreeDef {
        template: tree.clone(),
        treedef,
        statics,
        num_leaves: tree.num_leaves(),
    }
}

/// `tree_flatten(tree)`: the leaves and the structure.
pub fn tree_flatten<T: Pytree>(tree: &T) -> (Vec<Array>, PyTreeDef<T>) {
    (tree.leaves(), tree_structure(tree))
}

/// `tree_unflatten(treedef, leaves)`: the tree of structure `treedef` with `leaves`.
///
/// # Errors
/// Fewer or more leaves than `treedef` holds.
pub fn tree_unflatten<T: Pytree>(
    treedef: &PyTreeDef<T>,
    leaves: impl IntoIterator<Item = Array>,
) -> Result<T> {
    treedef.unflatten(leaves)
}

/// `tree_map(f, tree)`: `tree` with each leaf `x` replaced by `f(x)` (`f` returns an array or
/// a `Result` of one). Works on tracers too: inside `jit` or `grad` it maps traced leaves.
///
/// # Errors
/// The first error `f` returns (or raises).
pub fn tree_map<T, F, R>(f: F, tree: &T) -> Result<T>
where
    T: Pytree,
    F: Fn(&Array) -> R,
    R: FnResult<Output = Array>,
{
    let leaves = tree
        .leaves()
        .iter()
        .map(|x| crate::core::error::catch(|| f(x).into_result()))
        .collect::<Result<Vec<_>>>()?;
    tree.rebuild(leaves)
}

/// `tree_map(f, tree, other)`, JAX's `tree_map` with one more tree: each leaf `x` of `tree`
/// and the leaf `y` at the same place in `other` become `f(x, y)` (a parameter update:
/// `tree_map2(|p, g| p - g * lr, &params, &grads)`).
///
/// # Errors
/// `other` of another structure than `tree` (both structures named), or the first error of `f`.
pub fn tree_map2<T, F, R>(f: F, tree: &T, other: &T) -> Result<T>
where
    T: Pytree,
    F: Fn(&Array, &Array) -> R,
    R: FnResult<Output = Array>,
{
    let (a, b) = (tree_structure(tree), tree_structure(other));
    if a != b {
        return Err(Error::value_err(format!(
            "tree_map: the trees have different structures: {a} and {b}"
        )));
    }
    let leaves = tree
        .leaves()
        .iter()
        .zip(other.leaves().iter())
        .map(|(x, y)| crate::core::error::catch(|| f(x, y).into_result()))
        .collect::<Result<Vec<_>>>()?;
    tree.rebuild(leaves)
}
