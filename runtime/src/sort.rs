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

/// `lax.top_k`'s order of two floats, the reverse of a total order in which -0.0 is below
/// +0.0 and NaN above +inf: `Less` when `a` comes first (is larger).
pub fn top_k_order(a: f64, b: f64) -> Ordering {
    let key = |x: f64| (x.is_nan(), x);
    let (ka, kb) = (key(a), key(b));
    match (ka.0, kb.0) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => b.total_cmp(&a),
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
    assert!(
        perm.len() >= outer * n * inner,
        "sort_permutation: buffer too small"
    );
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

/// The flag of `cranax_sort_perm`'s `dtype` word asking for `lax.top_k`'s order.
pub const TOP_K: u32 = 8;

/// The code of a key dtype in `cranax_sort_perm`'s `dtype` word, by its NumPy name.
pub fn dtype_code(numpy_name: &str) -> u32 {
    match numpy_name {
        "float32" => 0,
        "float64" => 1,
        "int32" => 2,
        "uint32" => 3,
        "int64" => 5,
        "uint64" => 6,
        _ => 4,
    }
}

/// `sort_permutation` of one key array whose elements are `dtype` (0 f32, 1 f64, 2 i32,
/// 3 u32, 4 bool, 5 i64, 6 u64), read from `keys`; with `TOP_K` set in `dtype`, in `lax.top_k`'s order
/// (descending, `top_k_order` for floats), ties keeping their order either way.
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
    let top = dtype & TOP_K != 0;
    let fl = if top { top_k_order } else { float_order };
    let ord = |o: Ordering| if top { o.reverse() } else { o };
    // SAFETY: the caller vouches for the extents; the key buffer is read as its own dtype.
    unsafe {
        let perm = std::slice::from_raw_parts_mut(perm, len);
        match dtype & !TOP_K {
            0 => {
                let k = std::slice::from_raw_parts(keys as *const f32, len);
                sort_permutation(outer, n, inner, |p, q| fl(k[p] as f64, k[q] as f64), perm)
            }
            1 => {
                let k = std::slice::from_raw_parts(keys as *const f64, len);
                sort_permutation(outer, n, inner, |p, q| fl(k[p], k[q]), perm)
            }
            2 => {
                let k = std::slice::from_raw_parts(keys as *const i32, len);
                sort_permutation(outer, n, inner, |p, q| ord(k[p].cmp(&k[q])), perm)
            }
            3 => {
                let k = std::slice::from_raw_parts(keys as *const u32, len);
                sort_permutation(outer, n, inner, |p, q| ord(k[p].cmp(&k[q])), perm)
            }
            5 => {
                let k = std::slice::from_raw_parts(keys as *const i64, len);
                sort_permutation(outer, n, inner, |p, q| ord(k[p].cmp(&k[q])), perm)
            }
            6 => {
                let k = std::slice::from_raw_parts(keys as *const u64, len);
                sort_permutation(outer, n, inner, |p, q| ord(k[p].cmp(&k[q])), perm)
            }
            _ => {
                let k = std::slice::from_raw_parts(keys, len);
                let b = |i: usize| k[i] != 0;
                sort_permutation(outer, n, inner, |p, q| ord(b(p).cmp(&b(q))), perm)
            }
        }
    }
}
