//! Pytrees: nested containers of arrays that transformations take and return. Arrays are the
//! leaves; tuples (up to [`MAX_ARITY`] elements), `Vec`s, fixed-size arrays, `Option`s and
//! `BTreeMap`/`HashMap`s (children in sorted key order, as JAX's dicts) nest; a user struct
//! joins with `#[derive(Pytree)]` (or `impl_pytree!`). `Static<T>` and `#[pytree(static)]`
//! fields hold values that are not traced but key the jit cache by `Hash` and `Eq`.

use crate::array::Array;
use crate::core::error::{Error, Result};
use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt::{Debug, Write as _};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

/// A value made of arrays. `flatten` lists the leaves; `unflatten` rebuilds a value of the
/// same structure as `self` (the template) from leaves; `treedef` describes the structure
/// (part of the jit cache key).
pub trait Pytree: Clone + 'static {
    /// Append the leaves, in order.
    fn flatten(&self, leaves: &mut Vec<Array>);
    /// A value of `self`'s structure whose leaves are taken, in order, from `leaves`.
    ///
    /// # Errors
    /// Too few leaves.
    fn unflatten(&self, leaves: &mut dyn Iterator<Item = Array>) -> Result<Self>;
    /// Append a description of the structure (node kinds, arities, keys, static values'
    /// hashes): two values with equal treedefs rebuild from each other's leaves.
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
        rebuild_exact(self, n, &mut leaves.drain(..))
    }

    /// As [`Pytree::rebuild`], from a slice of leaves, each cloned (no list of them is made:
    /// what a function of flat leaves does to call the user's function on its arguments).
    fn rebuild_cloned(&self, leaves: &[Array]) -> Result<Self> {
        rebuild_exact(self, leaves.len(), &mut leaves.iter().cloned())
    }

    /// How many leaves.
    fn num_leaves(&self) -> usize {
        self.leaves().len()
    }

    /// For a tuple, the number of leaves of each element (what `vmap`'s per-output `out_axes`
    /// count); `None` for anything else.
    fn tuple_leaf_counts(&self) -> Option<Vec<usize>> {
        None
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
    fn num_leaves(&self) -> usize {
        1
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

/// `template` rebuilt from `leaves`, which must be exactly the `n` it holds.
fn rebuild_exact<T: Pytree>(
    template: &T,
    n: usize,
    leaves: &mut dyn Iterator<Item = Array>,
) -> Result<T> {
    let out = template.unflatten(leaves)?;
    if leaves.next().is_some() {
        return Err(Error::type_err(format!(
            "pytree rebuild got {n} leaves, more than the structure holds"
        )));
    }
    Ok(out)
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
    fn num_leaves(&self) -> usize {
        self.iter().map(Pytree::num_leaves).sum()
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
    fn num_leaves(&self) -> usize {
        self.iter().map(Pytree::num_leaves).sum()
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

/// Invoke `$m!` once per prefix of the list: `$m!(T0 0)`, `$m!(T0 0, T1 1)`, ... — how every
/// impl over tuples and argument lists reaches the same maximum arity.
macro_rules! for_each_arity {
    ($m:ident; $($T:ident $i:tt),+) => { $crate::pytree::for_each_arity!(@acc $m; []; $($T $i),+); };
    (@acc $m:ident; [$($D:ident $j:tt,)*]; $T:ident $i:tt $(, $R:ident $k:tt)*) => {
        $m!($($D $j,)* $T $i);
        $crate::pytree::for_each_arity!(@acc $m; [$($D $j,)* $T $i,]; $($R $k),*);
    };
    (@acc $m:ident; [$($D:ident $j:tt,)*];) => {};
}
pub(crate) use for_each_arity;

/// Apply `$m!` to every arity from 1 to [`MAX_ARITY`].
macro_rules! up_to_max_arity {
    ($m:ident) => {
        $crate::pytree::for_each_arity!($m; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11);
    };
}
pub(crate) use up_to_max_arity;

/// The most positional arguments a function may take (and the longest tuple that is a pytree).
pub const MAX_ARITY: usize = 12;

/// One value per positional argument (leaf counts, argnums): never more than [`MAX_ARITY`],
/// so always on the stack (an eager `grad` makes two such lists per call).
pub type PerArg<T> = smallvec::SmallVec<[T; MAX_ARITY]>;

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
            fn tuple_leaf_counts(&self) -> Option<Vec<usize>> {
                Some(vec![$(self.$i.num_leaves()),+])
            }
            fn num_leaves(&self) -> usize {
                0 $(+ self.$i.num_leaves())+
            }
        }

        impl<$($T: Pytree),+> ArgTuple for ($($T,)+) {
            fn arg_leaf_counts(&self) -> PerArg<usize> {
                smallvec::smallvec![$(self.$i.num_leaves()),+]
            }
        }
    };
}
up_to_max_arity!(tuple_pytree);

/// A tuple of positional arguments: how many leaves each argument has.
pub trait ArgTuple: Pytree {
    /// The number of leaves of each argument, in order.
    fn arg_leaf_counts(&self) -> PerArg<usize>;
}

/// The treedef of a map: `{key:child,...}` in sorted key order.
fn map_treedef<'a, K: Debug + 'a, T: Pytree>(
    entries: impl Iterator<Item = (&'a K, &'a T)>,
    out: &mut String,
) {
    out.push('{');
    for (k, v) in entries {
        let _ = write!(out, "{k:?}:");
        v.treedef(out);
        out.push(',');
    }
    out.push('}');
}

impl<K: Ord + Clone + Debug + 'static, T: Pytree> Pytree for BTreeMap<K, T> {
    fn flatten(&self, leaves: &mut Vec<Array>) {
        self.values().for_each(|x| x.flatten(leaves));
    }
    fn unflatten(&self, leaves: &mut dyn Iterator<Item = Array>) -> Result<Self> {
        self.iter()
            .map(|(k, x)| Ok((k.clone(), x.unflatten(leaves)?)))
            .collect()
    }
    fn treedef(&self, out: &mut String) {
        map_treedef(self.iter(), out);
    }
}

/// A `HashMap`'s entries in sorted key order (JAX flattens dicts by sorted keys).
fn sorted<K: Ord, T>(m: &HashMap<K, T, impl BuildHasher>) -> Vec<(&K, &T)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_unstable_by(|a, b| a.0.cmp(b.0));
    v
}

impl<K, T, S> Pytree for HashMap<K, T, S>
where
    K: Ord + Hash + Clone + Debug + 'static,
    T: Pytree,
    S: BuildHasher + Clone + Default + 'static,
{
    fn flatten(&self, leaves: &mut Vec<Array>) {
        sorted(self)
            .into_iter()
            .for_each(|(_, x)| x.flatten(leaves));
    }
    fn unflatten(&self, leaves: &mut dyn Iterator<Item = Array>) -> Result<Self> {
        sorted(self)
            .into_iter()
            .map(|(k, x)| Ok((k.clone(), x.unflatten(leaves)?)))
            .collect()
    }
    fn treedef(&self, out: &mut String) {
        map_treedef(sorted(self).into_iter(), out);
    }
}

/// A static (compile-time) argument: not traced, no leaves; its value is part of the jit cache
/// key (JAX's `static_argnums`), compared with `Eq` and hashed with `Hash`. Use it for sizes,
/// flags, modes. (`Send + Sync`: the cache that keeps it is shared by threads.)
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Static<T>(pub T);

impl<T: Hash + Eq + Clone + Send + Sync + 'static> Pytree for Static<T> {
    fn flatten(&self, _: &mut Vec<Array>) {}
    fn unflatten(&self, _: &mut dyn Iterator<Item = Array>) -> Result<Self> {
        Ok(self.clone())
    }
    fn treedef(&self, out: &mut String) {
        static_treedef(&self.0, out);
    }
}

/// A static value as a cache key: compared by `Eq` (after its type), hashed by `Hash`.
trait StaticKey: Any + Send + Sync {
    fn eq_dyn(&self, other: &dyn StaticKey) -> bool;
    fn as_any(&self) -> &dyn Any;
    fn hash_u64(&self) -> u64;
}

impl<T: Hash + Eq + Send + Sync + 'static> StaticKey for T {
    fn eq_dyn(&self, other: &dyn StaticKey) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn hash_u64(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        TypeId::of::<T>().hash(&mut h);
        self.hash(&mut h);
        h.finish()
    }
}

/// One static value of a signature (see [`Static`]): equal when of one type and `==`.
#[derive(Clone)]
pub struct StaticValue(Arc<dyn StaticKey>);

impl PartialEq for StaticValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_dyn(&*other.0)
    }
}
impl Eq for StaticValue {}
impl Hash for StaticValue {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u64(self.0.hash_u64());
    }
}
impl Debug for StaticValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Static#{:016x}", self.0.hash_u64())
    }
}

thread_local! {
    /// While a signature is being taken: the static values met, in treedef order.
    static STATICS: RefCell<Option<Vec<StaticValue>>> = const { RefCell::new(None) };
}

/// The treedef of a static value (`Static<T>`, a `#[pytree(static)]` field): its hash in the
/// structure string, and, while a signature is being taken ([`treedef_and_statics`]), the
/// value itself, so that a cache hit needs `==` and not only equal hashes.
pub fn static_treedef<T: Hash + Eq + Clone + Send + Sync + 'static>(value: &T, out: &mut String) {
    let _ = write!(out, "Static#{:016x}", StaticKey::hash_u64(value));
    STATICS.with(|s| {
        if let Some(list) = s.borrow_mut().as_mut() {
            list.push(StaticValue(Arc::new(value.clone())));
        }
    });
}

/// `tree.treedef(out)`, and the static values met on the way (their `==` completes the
/// structure comparison).
pub fn treedef_and_statics<T: Pytree>(tree: &T, out: &mut String) -> Vec<StaticValue> {
    let outer = STATICS.with(|s| s.borrow_mut().replace(Vec::new()));
    tree.treedef(out);
    STATICS
        .with(|s| std::mem::replace(&mut *s.borrow_mut(), outer))
        .unwrap_or_default()
}

/// A pytree whose leaves can be replaced by values of another pytree type: the structure of a
/// Jacobian (JAX's `jacfwd` of `f: X -> Y` has `Y`'s structure with an `X` at each leaf).
/// Implemented by arrays, tuples, `Vec`s, fixed-size arrays, `Option`s and maps.
pub trait MapLeaves: Pytree {
    /// `Self` with each array leaf replaced by a `G`.
    type Mapped<G: Pytree>: Pytree;
    /// Replace each leaf, in flattening order, by what `f` makes of it.
    ///
    /// # Errors
    /// The first error of `f`.
    fn map_leaves<G: Pytree>(
        &self,
        f: &mut dyn FnMut(&Array) -> Result<G>,
    ) -> Result<Self::Mapped<G>>;
}

impl MapLeaves for Array {
    type Mapped<G: Pytree> = G;
    fn map_leaves<G: Pytree>(&self, f: &mut dyn FnMut(&Array) -> Result<G>) -> Result<G> {
        f(self)
    }
}

impl MapLeaves for () {
    type Mapped<G: Pytree> = ();
    fn map_leaves<G: Pytree>(&self, _: &mut dyn FnMut(&Array) -> Result<G>) -> Result<()> {
        Ok(())
    }
}

impl<T: MapLeaves> MapLeaves for Vec<T> {
    type Mapped<G: Pytree> = Vec<T::Mapped<G>>;
    fn map_leaves<G: Pytree>(
        &self,
        f: &mut dyn FnMut(&Array) -> Result<G>,
    ) -> Result<Self::Mapped<G>> {
        self.iter().map(|x| x.map_leaves(f)).collect()
    }
}

impl<T: MapLeaves, const N: usize> MapLeaves for [T; N] {
    type Mapped<G: Pytree> = [T::Mapped<G>; N];
    fn map_leaves<G: Pytree>(
        &self,
        f: &mut dyn FnMut(&Array) -> Result<G>,
    ) -> Result<Self::Mapped<G>> {
        let v = self
            .iter()
            .map(|x| x.map_leaves(f))
            .collect::<Result<Vec<_>>>()?;
        Ok(v.try_into().unwrap_or_else(|_| unreachable!("N elements")))
    }
}

impl<T: MapLeaves> MapLeaves for Option<T> {
    type Mapped<G: Pytree> = Option<T::Mapped<G>>;
    fn map_leaves<G: Pytree>(
        &self,
        f: &mut dyn FnMut(&Array) -> Result<G>,
    ) -> Result<Self::Mapped<G>> {
        self.as_ref().map(|x| x.map_leaves(f)).transpose()
    }
}

impl<K: Ord + Clone + Debug + 'static, T: MapLeaves> MapLeaves for BTreeMap<K, T> {
    type Mapped<G: Pytree> = BTreeMap<K, T::Mapped<G>>;
    fn map_leaves<G: Pytree>(
        &self,
        f: &mut dyn FnMut(&Array) -> Result<G>,
    ) -> Result<Self::Mapped<G>> {
        self.iter()
            .map(|(k, x)| Ok((k.clone(), x.map_leaves(f)?)))
            .collect()
    }
}

impl<K, T, S> MapLeaves for HashMap<K, T, S>
where
    K: Ord + Hash + Clone + Debug + 'static,
    T: MapLeaves,
    S: BuildHasher + Clone + Default + 'static,
{
    type Mapped<G: Pytree> = HashMap<K, T::Mapped<G>, S>;
    fn map_leaves<G: Pytree>(
        &self,
        f: &mut dyn FnMut(&Array) -> Result<G>,
    ) -> Result<Self::Mapped<G>> {
        sorted(self)
            .into_iter()
            .map(|(k, x)| Ok((k.clone(), x.map_leaves(f)?)))
            .collect()
    }
}

macro_rules! tuple_map_leaves {
    ($($T:ident $i:tt),+) => {
        impl<$($T: MapLeaves),+> MapLeaves for ($($T,)+) {
            type Mapped<G: Pytree> = ($($T::Mapped<G>,)+);
            fn map_leaves<G: Pytree>(
                &self,
                f: &mut dyn FnMut(&Array) -> Result<G>,
            ) -> Result<Self::Mapped<G>> {
                Ok(($(self.$i.map_leaves(f)?,)+))
            }
        }
    };
}
up_to_max_arity!(tuple_map_leaves);

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
