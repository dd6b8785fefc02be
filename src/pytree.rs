//! Pytrees: nested containers of arrays that transformations take and return. Arrays are the
//! leaves; tuples, `Vec`s, fixed-size arrays and `Option`s nest; a user struct joins with a
//! small `Pytree` impl (flatten its fields in order, rebuild them in the same order).

use crate::array::Array;
use crate::core::error::{Error, Result};

/// A value made of arrays. `flatten` lists the leaves; `unflatten` rebuilds a value of the
/// same structure as `self` (the template) from leaves; `treedef` describes the structure
/// (part of the jit cache key).
pub trait Pytree: Clone + 'static {
    /// Append the leaves, in order.
    fn flatten(&self, leaves: &mut Vec<Array>);
    /// A value of this structure with its leaves taken from `leaves` in order.
    ///
    /// # Errors
    /// Too few leaves.
    fn unflatten(&self, leaves: &mut dyn Iterator<Item = Array>) -> Result<Self>;
    /// Write the structure (and static values) as text: the jit cache key's structure part.
    fn treedef(&self, out: &mut String);

    /// The leaves as a new vector.
    fn leaves(&self) -> Vec<Array> {
        let mut v = Vec::new();
        self.flatten(&mut v);
        v
    }

    /// Rebuild from a list of leaves that must be exactly the right number.
    fn rebuild(&self, mut leaves: Vec<Array>) -> Result<Self> {
        self.rebuild_from(&mut leaves)
    }

    /// As [`Pytree::rebuild`], taking the leaves out of `leaves` (left empty, its
    /// allocation kept for reuse).
    fn rebuild_from(&self, leaves: &mut Vec<Array>) -> Result<Self> {
        let n = leaves.len();
        let mut it = leaves.drain(..);
        let out = self.unflatten(&mut it)?;
        if it.next().is_some() {
            return Err(Error::type_err(format!(
                "pytree rebuild got {n} leaves, more than the structure holds"
            )));
        }
        Ok(out)
    }

    /// How many leaves.
    fn num_leaves(&self) -> usize {
        self.leaves().len()
    }
}

fn next_leaf(leaves: &mut dyn Iterator<Item = Array>) -> Result<Array> {
    leaves
        .next()
        .ok_or_else(|| Error::type_err("pytree rebuild ran out of leaves"))
}

impl Pytree for Array {
    fn flatten(&self, leaves: &mut Vec<Array>) {
        leaves.push(self.clone());
    }
    fn unflatten(&self, leaves: &mut dyn Iterator<Item = Array>) -> Result<Self> {
        next_leaf(leaves)
    }
    fn treedef(&self, out: &mut String) {
        out.push('*');
    }
}

impl Pytree for () {
    fn flatten(&self, _: &mut Vec<Array>) {}
    fn unflatten(&self, _: &mut dyn Iterator<Item = Array>) -> Result<Self> {
        Ok(())
    }
    fn treedef(&self, out: &mut String) {
        out.push_str("()");
    }
}

/// The treedef of a sequence (a `Vec` or an array): `[` each child's treedef and `,` `]`.
fn list_treedef<T: Pytree>(children: &[T], out: &mut String) {
    out.push('[');
    children.iter().for_each(|x| {
        x.treedef(out);
        out.push(',');
    });
    out.push(']');
}

impl<T: Pytree> Pytree for Vec<T> {
    fn flatten(&self, leaves: &mut Vec<Array>) {
        self.iter().for_each(|x| x.flatten(leaves));
    }
    fn unflatten(&self, leaves: &mut dyn Iterator<Item = Array>) -> Result<Self> {
        self.iter().map(|x| x.unflatten(leaves)).collect()
    }
    fn treedef(&self, out: &mut String) {
        list_treedef(self, out);
    }
}

impl<T: Pytree, const N: usize> Pytree for [T; N] {
    fn flatten(&self, leaves: &mut Vec<Array>) {
        self.iter().for_each(|x| x.flatten(leaves));
    }
    fn unflatten(&self, leaves: &mut dyn Iterator<Item = Array>) -> Result<Self> {
        // Element by element in place (no intermediate `Vec`), stopping at the first error.
        let mut err = None;
        let parts: [Option<T>; N] = std::array::from_fn(|i| match err {
            Some(_) => None,
            None => self[i].unflatten(leaves).map_err(|e| err = Some(e)).ok(),
        });
        match err {
            Some(e) => Err(e),
            None => Ok(parts.map(|p| p.expect("every part rebuilt"))),
        }
    }
    fn treedef(&self, out: &mut String) {
        list_treedef(self, out);
    }
}

impl<T: Pytree> Pytree for Option<T> {
    fn flatten(&self, leaves: &mut Vec<Array>) {
        if let Some(x) = self {
            x.flatten(leaves);
        }
    }
    fn unflatten(&self, leaves: &mut dyn Iterator<Item = Array>) -> Result<Self> {
        self.as_ref().map(|x| x.unflatten(leaves)).transpose()
    }
    fn treedef(&self, out: &mut String) {
        match self {
            None => out.push_str("None"),
            Some(x) => {
                out.push_str("Some(");
                x.treedef(out);
                out.push(')');
            }
        }
    }
}

macro_rules! tuple_pytree {
    ($($T:ident $i:tt),+) => {
        impl<$($T: Pytree),+> Pytree for ($($T,)+) {
            fn flatten(&self, leaves: &mut Vec<Array>) {
                $(self.$i.flatten(leaves);)+
            }
            fn unflatten(&self, leaves: &mut dyn Iterator<Item = Array>) -> Result<Self> {
                Ok(($(self.$i.unflatten(leaves)?,)+))
            }
            fn treedef(&self, out: &mut String) {
                out.push('(');
                $(self.$i.treedef(out); out.push(',');)+
                out.push(')');
            }
        }
    };
}
tuple_pytree!(A 0);
tuple_pytree!(A 0, B 1);
tuple_pytree!(A 0, B 1, C 2);
tuple_pytree!(A 0, B 1, C 2, D 3);
tuple_pytree!(A 0, B 1, C 2, D 3, E 4);
tuple_pytree!(A 0, B 1, C 2, D 3, E 4, F 5);

/// A tuple of positional arguments: how many leaves each argument has.
pub trait ArgTuple: Pytree {
    /// How many leaves each positional argument has.
    fn arg_leaf_counts(&self) -> Vec<usize>;
}

macro_rules! arg_tuple {
    ($($T:ident $i:tt),+) => {
        impl<$($T: Pytree),+> ArgTuple for ($($T,)+) {
            fn arg_leaf_counts(&self) -> Vec<usize> {
                vec![$(self.$i.num_leaves()),+]
            }
        }
    };
}
arg_tuple!(A 0);
arg_tuple!(A 0, B 1);
arg_tuple!(A 0, B 1, C 2);
arg_tuple!(A 0, B 1, C 2, D 3);

/// A static (compile-time) argument: not traced, no leaves; its value is part of the jit cache
/// key (JAX's `static_argnums`). Use it for sizes, flags, modes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Static<T>(pub T);

impl<T: Clone + std::fmt::Debug + 'static> Pytree for Static<T> {
    fn flatten(&self, _: &mut Vec<Array>) {}
    fn unflatten(&self, _: &mut dyn Iterator<Item = Array>) -> Result<Self> {
        Ok(self.clone())
    }
    fn treedef(&self, out: &mut String) {
        out.push_str(&format!("Static({:?})", self.0));
    }
}

/// Make a struct with named fields a pytree: its fields, in the order listed, are its children.
///
/// ```
/// use cranax::{impl_pytree, Array};
/// #[derive(Clone)]
/// struct Layer {
///     w: Array,
///     b: Array,
/// }
/// impl_pytree!(Layer { w, b });
/// ```
#[macro_export]
macro_rules! impl_pytree {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl $crate::Pytree for $name {
            fn flatten(&self, leaves: &mut Vec<$crate::Array>) {
                $( $crate::Pytree::flatten(&self.$field, leaves); )*
            }
            fn unflatten(
                &self,
                leaves: &mut dyn Iterator<Item = $crate::Array>,
            ) -> $crate::Result<Self> {
                Ok($name { $( $field: $crate::Pytree::unflatten(&self.$field, leaves)?, )* })
            }
            fn treedef(&self, out: &mut String) {
                out.push_str(concat!(stringify!($name), "{"));
                $( $crate::Pytree::treedef(&self.$field, out); out.push(','); )*
                out.push('}');
            }
        }
    };
}
