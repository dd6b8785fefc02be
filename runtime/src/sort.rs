//! Sorting: the stable permutation that sorts each line of an array along one axis, under
//! JAX's total order (floats: -0.0 equal to +0.0, NaN of either sign after everything else;
//! integers and bools as numbers). Eager evaluation and compiled code (`cranax_sort_perm`)
//! both compute their permutations here.

use std::cmp::Ordering;

/// JAX's sort order of two floats (`_canonicalize_float_for_sort`: zeros and NaNs made one
/// value each): NaN after every number, NaNs equal, -0.0 == +0.0.
pub fn float_order(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).expect("no NaNs"),
    }
}

/// For each of the `outer * inner` lines of length `n` along the middle axis of an
/// `[outer, n, inner]` array, the positions along the axis in stably sorted order: `perm[o,
/// k, i]` is the index of the `k`-th smallest element of line `(o, i)` under `cmp`, which
/// compares two flat element offsets. Panics if `perm` is shorter than the array.
pub fn sort_permutation(
    outer: usize,
    n: usize,
    inner: usize,
    cmp: impl Fn(usize, usize) -> Ordering,
    perm: &mut [i32],
) {
    assert!(perm.len() >= outer * n * inner, "sort_permutation: buffer too small");
    let mut line: Vec<usize> = Vec::with_capacity(n);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| (o * n + k) * inner + i;
            line.clear();
            line.extend(0..n);
            line.sort_by(|&p, &q| cmp(at(p), at(q)));
            for (k, &p) in line.iter().enumerate() {
                perm[at(k)] = p as i32;
            }
        }
    }
}

/// `sort_permutation` of one key array whose elements are `dtype` (0 f32, 1 f64, 2 i32,
/// 3 u32, 4 bool), read from `keys`.
///
/// # Safety
/// `keys` valid for `outer*n*inner` elements of that dtype, `perm` for as many `i32`s.
#[no_mangle]
pub unsafe extern "C" fn cranax_sort_perm(
    dtype: u32,
    outer: usize,
    n: usize,
    inner: usize,
    keys: *const u8,
    perm: *mut i32,
) {
    let len = outer * n * inner;
    // SAFETY: the caller vouches for the extents; the key buffer is read as its own dtype.
    unsafe {
        let perm = std::slice::from_raw_parts_mut(perm, len);
        match dtype {
            0 => {
                let k = std::slice::from_raw_parts(keys as *const f32, len);
                sort_permutation(outer, n, inner, |p, q| float_order(k[p] as f64, k[q] as f64), perm)
            }
            1 => {
                let k = std::slice::from_raw_parts(keys as *const f64, len);
                sort_permutation(outer, n, inner, |p, q| float_order(k[p], k[q]), perm)
            }
            2 => {
                let k = std::slice::from_raw_parts(keys as *const i32, len);
                sort_permutation(outer, n, inner, |p, q| k[p].cmp(&k[q]), perm)
            }
            3 => {
                let k = std::slice::from_raw_parts(keys as *const u32, len);
                sort_permutation(outer, n, inner, |p, q| k[p].cmp(&k[q]), perm)
            }
            _ => {
                let k = std::slice::from_raw_parts(keys, len);
                sort_permutation(outer, n, inner, |p, q| (k[p] != 0).cmp(&(k[q] != 0)), perm)
            }
        }
    }
}
