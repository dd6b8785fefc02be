//! Constants stored in the order kernels read them. A constant array is read through index
//! maps like any buffer; when every kernel that loads it walks its dimensions in another
//! order than row-major (a transposed read: the innermost loop steps by a whole row), a
//! vectorised loop would need a gather, so the loop stays scalar. Such a constant gets a copy
//! of its data with the dimensions permuted into the order the loops walk them, and kernels
//! load it through that copy's strides: the same elements, so results do not change, but the
//! innermost loop reads consecutive addresses and vectorises. (The identity basis a
//! `jacfwd`/`hessian` builds is the common case: it is read transposed by the final
//! transpose of the Jacobian.)

use super::graph::{Graph, Kind, NodeId};
use super::index::{self, IndexMap};
use super::plan::{KernelKind, Plan};
use crate::array::Concrete;
use crate::core::aval::Aval;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// A constant's data in another dimension order.
#[derive(Clone)]
pub struct Relaid {
    /// Element strides of each of the constant's (logical) dimensions in `data`.
    pub strides: Vec<i64>,
    /// The permuted copy (its aval has the physical, permuted shape).
    pub data: Arc<Concrete>,
}

/// The dimension order (outermost first) in which `map` walks a node of `ndim` dimensions in
/// a loop nest of `nl` loops, when that order makes the innermost loop contiguous and
/// differs from row-major: each dimension keyed by the innermost loop it moves with.
fn walk_order(map: &IndexMap, nl: usize) -> Option<Vec<usize>> {
    let inner = nl.checked_sub(1)?;
    let key = |d: usize| map[d].k.iter().rposition(|&c| c != 0);
    // Dimensions moving with the innermost loop: exactly one, with step 1.
    let moving: Vec<usize> = (0..map.len()).filter(|&d| map[d].k[inner] != 0).collect();
    if moving.len() != 1 || map[moving[0]].k[inner] != 1 {
        return None;
    }
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by_key(|&d| key(d).map_or(-1, |v| v as i64));
    let identity = order.iter().enumerate().all(|(i, &d)| i == d);
    (!identity && *order.last()? == moving[0]).then_some(order)
}

/// The constants worth relaying: every constant node loaded (not through an alias) by a
/// `Map` or `Reduce` kernel at maps that all agree on one non-row-major walk order, with the
/// permuted copy of each.
pub fn relayout(g: &Graph, plan: &Plan) -> FxHashMap<NodeId, Relaid> {
    let mut orders: FxHashMap<NodeId, Option<Vec<usize>>> = FxHashMap::default();
    for kern in &plan.kernels {
        if !matches!(
            kern.kind,
            KernelKind::Map { .. } | KernelKind::Reduce { .. }
        ) {
            continue;
        }
        let s = &kern.schedule;
        for (&(n, m), e) in &s.exprs {
            let node = &g.nodes[n];
            if e.is_some() || !matches!(node.kind, Kind::Const(_)) || node.shape.len() < 2 {
                continue;
            }
            let map = &s.maps[m as usize];
            if map.iter().all(|a| a.k.iter().all(|&c| c == 0)) {
                continue;
            }
            let order = walk_order(map, kern.dims.len());
            let agreed = orders.entry(n).or_insert_with(|| order.clone());
            if *agreed != order {
                *agreed = None;
            }
        }
    }
    orders
        .into_iter()
        .filter_map(|(n, order)| Some((n, relaid(g, n, &order?))))
        .collect()
}

/// Constant `n`'s data with its dimensions in `order` (outermost first).
fn relaid(g: &Graph, n: NodeId, order: &[usize]) -> Relaid {
    let node = &g.nodes[n];
    let Kind::Const(j) = node.kind else {
        unreachable!("only constants are relaid")
    };
    let shape: Vec<usize> = order.iter().map(|&d| node.shape[d]).collect();
    let physical = index::row_strides(&shape);
    let mut strides = vec![0i64; order.len()];
    for (k, &d) in order.iter().enumerate() {
        strides[d] = physical[k];
    }
    // Physical position p (row-major over `shape`) holds the logical element of the
    // constant transposed by `order`.
    let data = crate::prims::shape::transposed_data(&g.consts[j].data, &node.shape, order);
    Relaid {
        strides,
        data: Arc::new(Concrete {
            aval: Aval::new(shape, node.dtype),
            data,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::index::Aff;

    #[test]
    fn a_transposed_read_is_walked_column_first() {
        // a[j, i] in a loop over (i, j): dimension 1 moves with the outer loop.
        let map = vec![Aff::var(2, 1), Aff::var(2, 0)];
        assert_eq!(walk_order(&map, 2), Some(vec![1, 0]));
        // a[i, j] is already row-major; a[i, i] has no contiguous order.
        assert_eq!(walk_order(&vec![Aff::var(2, 0), Aff::var(2, 1)], 2), None);
        let diag = vec![Aff::var(2, 1), Aff::var(2, 1)];
        assert_eq!(walk_order(&diag, 2), None);
    }
}
