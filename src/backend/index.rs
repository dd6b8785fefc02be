//! Static index arithmetic: an element of a node is addressed by an affine function of the
//! kernel's loop variables (`Aff`), one per node dimension (`IndexMap`). Views (broadcast,
//! transpose, rev, slice, squeeze and splitting reshapes) are pushed through maps instead of
//! copying data; row-major strides turn a map into a linear element offset.

/// `c + sum_v k[v] * loop_var[v]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Aff {
    pub c: i64,
    pub k: Vec<i64>,
}

impl Aff {
    pub fn zero(nloops: usize) -> Aff {
        Aff {
            c: 0,
            k: vec![0; nloops],
        }
    }

    /// Loop variable `v` itself.
    pub fn var(nloops: usize, v: usize) -> Aff {
        let mut a = Aff::zero(nloops);
        a.k[v] = 1;
        a
    }

    /// `self * m + c`.
    pub fn scale_add(&self, m: i64, c: i64) -> Aff {
        Aff {
            c: self.c * m + c,
            k: self.k.iter().map(|x| x * m).collect(),
        }
    }

    pub fn add_assign(&mut self, other: &Aff, m: i64) {
        self.c += other.c * m;
        for (a, b) in self.k.iter_mut().zip(&other.k) {
            *a += b * m;
        }
    }
}

/// One `Aff` per dimension of a node.
pub type IndexMap = Vec<Aff>;

/// Row-major strides (in elements).
pub fn row_strides(shape: &[usize]) -> Vec<i64> {
    let mut s = vec![1i64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1] as i64;
    }
    s
}

/// The element offset `sum_d map[d] * strides[d]`.
pub fn linear(map: &IndexMap, strides: &[i64], nloops: usize) -> Aff {
    let mut out = Aff::zero(nloops);
    for (a, &s) in map.iter().zip(strides) {
        out.add_assign(a, s);
    }
    out
}

/// The map that walks `shape` with loop variable `vars[d]` for dimension `d`.
pub fn identity(nloops: usize, vars: &[usize]) -> IndexMap {
    vars.iter().map(|&v| Aff::var(nloops, v)).collect()
}

/// The offset in `x` of element `map` of `take(x, idx, axis)` (or of `updates` in a
/// scatter-add into `x` along `axis`), without the indexed axis' own term: `x`'s strides over
/// its axes before and after `axis` (`map` has the `n_idx` index axes in between).
pub fn gather_offset(map: &[Aff], x_shape: &[usize], n_idx: usize, axis: usize, nl: usize) -> Aff {
    let strides = row_strides(x_shape);
    let mut f = Aff::zero(nl);
    for d in 0..axis {
        f.add_assign(&map[d], strides[d]);
    }
    for d in axis + 1..x_shape.len() {
        f.add_assign(&map[d - 1 + n_idx], strides[d]);
    }
    f
}

/// How a reshape's operand index follows from its output index when that is affine:
/// for each operand dimension, `(output dimension, multiplier)` terms. `None` when some group
/// of operand dimensions merges into fewer output dimensions (a div/mod, not affine).
pub type ReshapePlan = Vec<Vec<(usize, i64)>>;

pub fn reshape_plan(in_shape: &[usize], out_shape: &[usize]) -> Option<ReshapePlan> {
    let mut plan: ReshapePlan = vec![Vec::new(); in_shape.len()];
    if in_shape.contains(&0) || out_shape.contains(&0) {
        // No element is ever read.
        return Some(plan);
    }
    let ins: Vec<usize> = (0..in_shape.len()).filter(|&d| in_shape[d] > 1).collect();
    let outs: Vec<usize> = (0..out_shape.len()).filter(|&d| out_shape[d] > 1).collect();
    let (mut i, mut j) = (0, 0);
    while i < ins.len() && j < outs.len() {
        // One group: operand dims ins[i..i2] hold as many elements as output dims outs[j..j2].
        let (mut pin, mut pout) = (in_shape[ins[i]], out_shape[outs[j]]);
        let (mut i2, mut j2) = (i + 1, j + 1);
        while pin != pout {
            if pin < pout {
                if i2 >= ins.len() {
                    return None;
                }
                pin *= in_shape[ins[i2]];
                i2 += 1;
            } else {
                if j2 >= outs.len() {
                    return None;
                }
                pout *= out_shape[outs[j2]];
                j2 += 1;
            }
        }
        if i2 - i != 1 {
            return None;
        }
        let mut mult = 1i64;
        for &od in outs[j..j2].iter().rev() {
            plan[ins[i]].push((od, mult));
            mult *= out_shape[od] as i64;
        }
        i = i2;
        j = j2;
    }
    if i != ins.len() || j != outs.len() {
        return None;
    }
    Some(plan)
}

/// The operand map of a reshape from its output map.
pub fn apply_reshape(plan: &ReshapePlan, out: &IndexMap, nloops: usize) -> IndexMap {
    plan.iter()
        .map(|terms| {
            let mut a = Aff::zero(nloops);
            for &(od, m) in terms {
                a.add_assign(&out[od], m);
            }
            a
        })
        .collect()
}

/// Loop dimensions merged where every linear form allows it: dims `d` and `d+1` merge when each
/// form has `k[d] == k[d+1] * extent[d+1]`. Extent-1 dimensions are dropped. `boundaries`
/// lists dims that must start a new group (e.g. the first reduced dim of a reduction).
/// Returns groups as (extent, the original dims, innermost last).
pub fn collapse(
    extents: &[usize],
    forms: &[&Aff],
    boundaries: &[usize],
) -> Vec<(usize, Vec<usize>)> {
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    for d in 0..extents.len() {
        if extents[d] == 1 && !boundaries.contains(&d) {
            continue;
        }
        let can_merge = match groups.last() {
            Some((_, dims)) if !boundaries.contains(&d) && extents[d] != 1 => {
                let last = *dims.last().expect("groups are non-empty");
                extents[last] != 1
                    && forms
                        .iter()
                        .all(|f| f.k[last] == f.k[d] * extents[d] as i64)
            }
            _ => false,
        };
        if can_merge {
            let g = groups.last_mut().expect("checked");
            g.0 *= extents[d];
            g.1.push(d);
        } else {
            groups.push((extents[d], vec![d]));
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_plans() {
        // Split [6] -> [2,3]: operand index = 3*o0 + o1.
        assert_eq!(
            reshape_plan(&[6], &[2, 3]),
            Some(vec![vec![(1, 1), (0, 3)]])
        );
        // Merge [2,3] -> [6] is not affine.
        assert_eq!(reshape_plan(&[2, 3], &[6]), None);
        // Unit dims come and go.
        assert_eq!(
            reshape_plan(&[1, 5, 1], &[5]),
            Some(vec![vec![], vec![(0, 1)], vec![]])
        );
        assert_eq!(reshape_plan(&[5], &[5, 1]), Some(vec![vec![(0, 1)]]));
        assert_eq!(reshape_plan(&[], &[1, 1]), Some(vec![]));
    }

    #[test]
    fn collapse_contiguous() {
        let f = Aff {
            c: 0,
            k: vec![12, 4, 1],
        };
        let g = collapse(&[2, 3, 4], &[&f], &[]);
        assert_eq!(g, vec![(24, vec![0, 1, 2])]);
        let bcast = Aff {
            c: 0,
            k: vec![0, 4, 1],
        };
        let g = collapse(&[2, 3, 4], &[&f, &bcast], &[]);
        assert_eq!(g, vec![(2, vec![0]), (12, vec![1, 2])]);
    }
}
