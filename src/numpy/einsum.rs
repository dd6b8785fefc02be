//! `jnp.einsum`: Einstein summation from a subscript string (`"ij,jk->ik"`, implicit output
//! `"ij,jk"`, `...` for broadcast leading axes). Each operand first takes its repeated labels'
//! diagonals and sums the labels no one else uses; then operands are contracted two at a time,
//! each step one `dot_general`, choosing greedily the pair whose result is smallest (JAX uses
//! opt_einsum's planner: the same result up to the order of floating-point sums).

use super::shape::diagonal;
use crate::array::Array;
use crate::core::error::{or_raise, shape_str, Error, Result};
use crate::lax;
use crate::prims::DotGeneral;

/// A label: a letter's code, or `ELLIPSIS_BASE + k` for the `k`-th axis under `...` (counted
/// from the right).
type Label = u32;
const ELLIPSIS_BASE: Label = 0x11_0000;

/// An operand with one label per axis.
struct Term {
    x: Array,
    labels: Vec<Label>,
}

fn err<T>(msg: String) -> Result<T> {
    Err(Error::value_err(format!("einsum: {msg}")))
}

/// The labels of one operand's subscripts, `...` expanded for an operand of rank `rank`.
fn parse_term(s: &str, rank: usize) -> Result<Vec<Label>> {
    let (before, after, dots) = match s.split_once("...") {
        Some((b, a)) => (b, a, true),
        None => (s, "", false),
    };
    let letters = |t: &str| -> Result<Vec<Label>> {
        t.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    Ok(c as Label)
                } else {
                    err(format!("invalid subscript '{c}' in {s:?}"))
                }
            })
            .collect()
    };
    let (b, a) = (letters(before)?, letters(after)?);
    let explicit = b.len() + a.len();
    if (!dots && explicit != rank) || explicit > rank {
        return err(format!(
            "subscripts {s:?} do not match an operand of rank {rank}"
        ));
    }
    let n_ell = rank - explicit;
    let ell = (0..n_ell).rev().map(|k| ELLIPSIS_BASE + k as Label);
    Ok(b.into_iter().chain(ell).chain(a).collect())
}

/// `x` with its repeated labels reduced to their diagonals.
fn take_diagonals(mut t: Term) -> Result<Term> {
    while let Some((i, j)) = (0..t.labels.len()).find_map(|i| {
        (i + 1..t.labels.len())
            .find(|&j| t.labels[j] == t.labels[i])
            .map(|j| (i, j))
    }) {
        let l = t.labels[i];
        t.x = diagonal(&t.x, 0, i as isize, j as isize);
        t.labels.retain(|&m| m != l);
        t.labels.push(l);
    }
    Ok(t)
}

/// Sum out the axes whose labels `keep` rejects.
fn sum_unused(t: Term, keep: impl Fn(Label) -> bool) -> Result<Term> {
    let axes: Vec<usize> = (0..t.labels.len())
        .filter(|&d| !keep(t.labels[d]))
        .collect();
    if axes.is_empty() {
        return Ok(t);
    }
    let x = lax::reduce_sum(&t.x, &axes)?;
    let labels = t.labels.into_iter().filter(|&l| keep(l)).collect();
    Ok(Term { x, labels })
}

/// Contract two terms with one `dot_general`; labels needed later (by `keep`) stay.
fn contract(a: Term, b: Term, keep: &dyn Fn(Label) -> bool) -> Result<Term> {
    let shared: Vec<Label> = a
        .labels
        .iter()
        .copied()
        .filter(|l| b.labels.contains(l))
        .collect();
    let pos = |t: &Term, l: Label| t.labels.iter().position(|&m| m == l).expect("shared");
    let (batch, summed): (Vec<Label>, Vec<Label>) = shared.iter().partition(|&&l| keep(l));
    let dims = DotGeneral::new(
        &summed.iter().map(|&l| pos(&a, l)).collect::<Vec<_>>(),
        &summed.iter().map(|&l| pos(&b, l)).collect::<Vec<_>>(),
        &batch.iter().map(|&l| pos(&a, l)).collect::<Vec<_>>(),
        &batch.iter().map(|&l| pos(&b, l)).collect::<Vec<_>>(),
    );
    let x = lax::dot_general(&a.x, &b.x, dims)?;
    let free = |t: &Term| -> Vec<Label> {
        t.labels
            .iter()
            .copied()
            .filter(|l| !shared.contains(l))
            .collect()
    };
    let labels = [batch, free(&a), free(&b)].concat();
    Ok(Term { x, labels })
}

/// The number of elements of the result of contracting `a` and `b`.
fn result_size(a: &Term, b: &Term, keep: &dyn Fn(Label) -> bool) -> usize {
    let mut seen: Vec<Label> = Vec::new();
    let mut size = 1usize;
    for t in [a, b] {
        for (d, &l) in t.labels.iter().enumerate() {
            let shared = a.labels.contains(&l) && b.labels.contains(&l);
            if !seen.contains(&l) && (!shared || keep(l)) {
                seen.push(l);
                size = size.saturating_mul(t.x.shape()[d]);
            }
        }
    }
    size
}

fn einsum_impl(subscripts: &str, operands: &[Array]) -> Result<Array> {
    let spec: String = subscripts.chars().filter(|c| !c.is_whitespace()).collect();
    let (ins, out) = match spec.split_once("->") {
        Some((i, o)) => (i.to_string(), Some(o.to_string())),
        None => (spec.clone(), None),
    };
    let in_specs: Vec<&str> = ins.split(',').collect();
    if in_specs.len() != operands.len() {
        return err(format!(
            "{} operands in the subscripts {subscripts:?} but {} given",
            in_specs.len(),
            operands.len()
        ));
    }
    let v = super::promote_and_broadcast_dtypes(operands)?;
    let mut terms: Vec<Term> = Vec::new();
    for (s, x) in in_specs.iter().zip(v) {
        let labels = parse_term(s, x.ndim())?;
        terms.push(Term { x, labels });
    }
    // Every label's size; size-1 axes broadcast against others (as NumPy's einsum).
    let mut sizes: std::collections::BTreeMap<Label, usize> = Default::default();
    for t in &terms {
        for (d, &l) in t.labels.iter().enumerate() {
            let n = t.x.shape()[d];
            let e = sizes.entry(l).or_insert(n);
            if *e == 1 {
                *e = n;
            } else if n != 1 && n != *e {
                return err(format!(
                    "size of label '{}' is {n} in one operand and {} in another (shapes {})",
                    label_name(l),
                    *e,
                    terms
                        .iter()
                        .map(|t| shape_str(t.x.shape()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    let max_ell = terms
        .iter()
        .map(|t| t.labels.iter().filter(|&&l| l >= ELLIPSIS_BASE).count())
        .max()
        .unwrap_or(0);
    let out_labels: Vec<Label> = match &out {
        Some(o) => parse_term(o, o.replace("...", "").len() + max_ell)?,
        None => {
            // Implicit: the broadcast axes, then the labels used once, in alphabetical order.
            let mut once: Vec<Label> = sizes
                .keys()
                .copied()
                .filter(|&l| {
                    l < ELLIPSIS_BASE
                        && terms
                            .iter()
                            .map(|t| t.labels.iter().filter(|&&m| m == l).count())
                            .sum::<usize>()
                            == 1
                })
                .collect();
            once.sort_unstable();
            (0..max_ell)
                .rev()
                .map(|k| ELLIPSIS_BASE + k as Label)
                .chain(once)
                .collect()
        }
    };
    for (i, l) in out_labels.iter().enumerate() {
        if !sizes.contains_key(l) || out_labels[..i].contains(l) {
            return err(format!(
                "output subscript '{}' must appear once in the output and in some operand",
                label_name(*l)
            ));
        }
    }
    // Broadcast size-1 axes to their label's size, take diagonals.
    let mut work: Vec<Term> = Vec::new();
    for t in terms {
        let full: Vec<usize> = t.labels.iter().map(|l| sizes[l]).collect();
        let x = if full != t.x.shape() {
            let dims: Vec<usize> = (0..full.len()).collect();
            lax::broadcast_in_dim(&t.x, &full, &dims)?
        } else {
            t.x
        };
        work.push(take_diagonals(Term {
            x,
            labels: t.labels,
        })?);
    }
    // Contract pairs until one term is left; before each step, sum the labels that only the
    // term itself holds.
    loop {
        let needed = |work: &[Term], skip: &[usize], l: Label| {
            out_labels.contains(&l)
                || work
                    .iter()
                    .enumerate()
                    .any(|(k, t)| !skip.contains(&k) && t.labels.contains(&l))
        };
        let summed: Vec<Term> = {
            let mut next = Vec::new();
            for k in 0..work.len() {
                let t = Term {
                    x: work[k].x.clone(),
                    labels: work[k].labels.clone(),
                };
                next.push(sum_unused(t, |l| needed(&work, &[k], l))?);
            }
            next
        };
        work = summed;
        if work.len() == 1 {
            break;
        }
        let mut best: Option<(usize, usize, usize)> = None;
        for i in 0..work.len() {
            for j in i + 1..work.len() {
                let keep = |l: Label| needed(&work, &[i, j], l);
                let s = result_size(&work[i], &work[j], &keep);
                if best.is_none_or(|(_, _, bs)| s < bs) {
                    best = Some((i, j, s));
                }
            }
        }
        let (i, j, _) = best.expect("two or more terms");
        let keep_labels: Vec<Label> = sizes
            .keys()
            .copied()
            .filter(|&l| needed(&work, &[i, j], l))
            .collect();
        let b = work.remove(j);
        let a = work.remove(i);
        let c = contract(a, b, &|l| keep_labels.contains(&l))?;
        work.insert(i, c);
    }
    let t = work.pop().expect("one term");
    let perm: Vec<usize> = out_labels
        .iter()
        .map(|l| t.labels.iter().position(|m| m == l).expect("kept"))
        .collect();
    lax::transpose(&t.x, &perm)
}

fn label_name(l: Label) -> String {
    if l >= ELLIPSIS_BASE {
        "...".into()
    } else {
        char::from_u32(l).map(String::from).unwrap_or_default()
    }
}

/// `jnp.einsum(subscripts, *operands)`: Einstein summation, e.g. `"ij,jk->ik"` (a matrix
/// product), `"ii"` (a trace), `"bij,bjk->bik"`, `"...ij,...jk"`. Without `->` the output has
/// the labels used once, alphabetically (after the `...` axes). Three or more operands are
/// contracted pairwise, each step one `dot_general`, the next pair being the one with the
/// smallest result.
pub fn einsum(subscripts: &str, operands: &[Array]) -> Array {
    or_raise(einsum_impl(subscripts, operands))
}
