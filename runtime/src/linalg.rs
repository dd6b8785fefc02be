//! Dense linear-algebra kernels (faer) on batches of row-major matrices: Cholesky, triangular
//! solve, LU with partial pivoting. The safe functions are what eager evaluation calls; the
//! `extern "C"` entry points below are what compiled code calls; both run the same code, so
//! eager and compiled results agree bit for bit. Failures are values, as in JAX: a matrix that
//! is not positive definite gives a Cholesky factor of NaNs, a singular one zero pivots.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
use faer::linalg::triangular_solve as tri;
use faer::traits::RealField;
use faer::{MatMut, MatRef, Par};

/// The element types the kernels take (f32 and f64).
pub trait Real: RealField + Copy + From<f32> {}
impl Real for f32 {}
impl Real for f64 {}

/// `out[b]` = the lower Cholesky factor of `a[b]` (`n x n`, only its lower triangle read),
/// zeros above the diagonal; all NaN where `a[b]` is not positive definite.
pub fn cholesky<T: Real>(batch: usize, n: usize, a: &[T], out: &mut [T]) {
    assert!(
        a.len() == batch * n * n && out.len() == a.len(),
        "cholesky: buffer sizes"
    );
    out.copy_from_slice(a);
    if n == 0 {
        return;
    }
    let mut buf = MemBuffer::new(cholesky_in_place_scratch::<T>(
        n,
        Par::Seq,
        Default::default(),
    ));
    for m in out.chunks_exact_mut(n * n) {
        let ok = cholesky_in_place(
            MatMut::from_row_major_slice_mut(m, n, n),
            Default::default(),
            Par::Seq,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .is_ok();
        for i in 0..n {
            for j in 0..n {
                if !ok {
                    m[i * n + j] = T::from(f32::NAN);
                } else if j > i {
                    m[i * n + j] = T::from(0.0);
                }
            }
        }
    }
}

/// JAX's `triangular_solve` parameters (real matrices: `conjugate_a` changes nothing).
#[derive(Clone, Copy, Debug)]
pub struct TriangularSolve {
    pub left_side: bool,
    pub lower: bool,
    pub transpose_a: bool,
    pub unit_diagonal: bool,
}

/// `out[b]` = `x` solving `op(a[b]) x = b[b]` (left side, `b` is `m x n`, `a` is `m x m`) or
/// `x op(a[b]) = b[b]` (right side, `a` is `n x n`), `op(a) = a` or `aᵀ`. Only the triangle
/// `lower` names is read (and not the diagonal when `unit_diagonal`).
pub fn triangular_solve<T: Real>(
    p: TriangularSolve,
    batch: usize,
    m: usize,
    n: usize,
    a: &[T],
    b: &[T],
    out: &mut [T],
) {
    let k = if p.left_side { m } else { n };
    assert!(
        a.len() == batch * k * k && b.len() == batch * m * n && out.len() == b.len(),
        "triangular_solve: buffer sizes"
    );
    out.copy_from_slice(b);
    if m * n == 0 {
        return;
    }
    // Right side: x op(a) = b is op(a)ᵀ xᵀ = bᵀ, a left-side solve on the transposed views.
    let transposed = p.transpose_a == p.left_side;
    let lower = p.lower != transposed;
    for (ab, xb) in a.chunks_exact(k * k).zip(out.chunks_exact_mut(m * n)) {
        let a = MatRef::from_row_major_slice(ab, k, k);
        let a = if transposed { a.transpose() } else { a };
        let x = MatMut::from_row_major_slice_mut(xb, m, n);
        let x = if p.left_side { x } else { x.transpose_mut() };
        match (lower, p.unit_diagonal) {
            (true, false) => tri::solve_lower_triangular_in_place(a, x, Par::Seq),
            (true, true) => tri::solve_unit_lower_triangular_in_place(a, x, Par::Seq),
            (false, false) => tri::solve_upper_triangular_in_place(a, x, Par::Seq),
            (false, true) => tri::solve_unit_upper_triangular_in_place(a, x, Par::Seq),
        }
    }
}

/// LU with partial pivoting of each `m x n` matrix `a[b]`, as LAPACK's `getrf` and JAX's `lu`:
/// `lu[b]` holds unit-lower `L` (below the diagonal) and `U`, `pivots[b][i]` the row swapped
/// with row `i` at step `i` (`min(m, n)` of them), `perm[b]` the resulting row order
/// (`a[perm] = L U`).
pub fn lu<T: Real>(
    batch: usize,
    m: usize,
    n: usize,
    a: &[T],
    lu: &mut [T],
    pivots: &mut [i32],
    perm: &mut [i32],
) {
    let k = m.min(n);
    assert!(
        a.len() == batch * m * n
            && lu.len() == a.len()
            && pivots.len() == batch * k
            && perm.len() == batch * m,
        "lu: buffer sizes"
    );
    lu.copy_from_slice(a);
    if m == 0 {
        return;
    }
    let mut buf = MemBuffer::new(lu_in_place_scratch::<usize, T>(
        m,
        n,
        Par::Seq,
        Default::default(),
    ));
    let (mut fwd, mut inv) = (vec![0usize; m], vec![0usize; m]);
    for b in 0..batch {
        let mat = MatMut::from_row_major_slice_mut(&mut lu[b * m * n..(b + 1) * m * n], m, n);
        if n > 0 {
            lu_in_place(
                mat,
                &mut fwd,
                &mut inv,
                Par::Seq,
                MemStack::new(&mut buf),
                Default::default(),
            );
        } else {
            fwd.iter_mut().enumerate().for_each(|(i, p)| *p = i);
        }
        // The swaps that produce `fwd` row by row: at step i the row now at `fwd[i]`'s place.
        let (mut cur, mut pos): (Vec<usize>, Vec<usize>) = ((0..m).collect(), (0..m).collect());
        for i in 0..k {
            let j = pos[fwd[i]];
            pivots[b * k + i] = j as i32;
            let (ri, rj) = (cur[i], cur[j]);
            cur.swap(i, j);
            pos[ri] = j;
            pos[rj] = i;
        }
        for i in 0..m {
            perm[b * m + i] = fwd[i] as i32;
        }
    }
}

/// The row order LAPACK-style `pivots` (`batch` rows of `k`: row `i` swapped with row
/// `pivots[i]` in turn) produce on `m` rows; an out-of-range pivot swaps nothing.
pub fn lu_pivots_to_permutation(
    batch: usize,
    k: usize,
    m: usize,
    pivots: &[i32],
    perm: &mut [i32],
) {
    assert!(
        pivots.len() == batch * k && perm.len() == batch * m && k <= m,
        "lu_pivots_to_permutation: buffer sizes"
    );
    for b in 0..batch {
        let p = &mut perm[b * m..(b + 1) * m];
        p.iter_mut().enumerate().for_each(|(i, v)| *v = i as i32);
        for i in 0..k {
            let j = pivots[b * k + i];
            if (0..m as i32).contains(&j) {
                p.swap(i, j as usize);
            }
        }
    }
}

/// `lu` with its three results packed per matrix into one buffer of `m*n + min(m,n) + m`
/// elements: the factors, then the pivots and the permutation (small integers, exact in
/// floats). Compiled code unpacks them with slices and conversions.
pub fn lu_packed<T: Real>(batch: usize, m: usize, n: usize, a: &[T], out: &mut [T]) {
    let k = m.min(n);
    let w = m * n + k + m;
    assert!(
        a.len() == batch * m * n && out.len() == batch * w,
        "lu_packed: buffer sizes"
    );
    let mut f = vec![T::from(0.0); m * n];
    let (mut piv, mut perm) = (vec![0i32; k], vec![0i32; m]);
    for b in 0..batch {
        lu(
            1,
            m,
            n,
            &a[b * m * n..(b + 1) * m * n],
            &mut f,
            &mut piv,
            &mut perm,
        );
        let o = &mut out[b * w..(b + 1) * w];
        o[..m * n].copy_from_slice(&f);
        for (d, &v) in o[m * n..].iter_mut().zip(piv.iter().chain(&perm)) {
            *d = T::from(v as f32);
        }
    }
}

/// `extern "C"` entry for compiled code: `lu_pivots_to_permutation`.
///
/// # Safety
/// `pivots` valid for `batch*k` elements, `perm` for `batch*m`, `k <= m`.
#[no_mangle]
pub unsafe extern "C" fn cranax_lu_pivots_to_permutation(
    batch: usize,
    k: usize,
    m: usize,
    pivots: *const i32,
    perm: *mut i32,
) {
    // SAFETY: the caller vouches for the extents.
    unsafe {
        lu_pivots_to_permutation(
            batch,
            k,
            m,
            slice(pivots, batch * k),
            slice_mut(perm, batch * m),
        )
    }
}

/// `extern "C"` entry for compiled code: `lu_packed`, f32.
///
/// # Safety
/// `a` valid for `batch*m*n` elements, `out` for `batch*(m*n + min(m,n) + m)`.
#[no_mangle]
pub unsafe extern "C" fn cranax_lu_packed_f32(
    batch: usize,
    m: usize,
    n: usize,
    a: *const f32,
    out: *mut f32,
) {
    let w = m * n + m.min(n) + m;
    // SAFETY: the caller vouches for the extents.
    unsafe {
        lu_packed(
            batch,
            m,
            n,
            slice(a, batch * m * n),
            slice_mut(out, batch * w),
        )
    }
}

/// As `cranax_lu_packed_f32`, f64.
///
/// # Safety
/// As `cranax_lu_packed_f32`.
#[no_mangle]
pub unsafe extern "C" fn cranax_lu_packed_f64(
    batch: usize,
    m: usize,
    n: usize,
    a: *const f64,
    out: *mut f64,
) {
    let w = m * n + m.min(n) + m;
    // SAFETY: the caller vouches for the extents.
    unsafe {
        lu_packed(
            batch,
            m,
            n,
            slice(a, batch * m * n),
            slice_mut(out, batch * w),
        )
    }
}

/// `extern "C"` entry for compiled code: `cholesky` on `batch` `n x n` matrices.
///
/// # Safety
/// `a` and `out` must be valid for `batch*n*n` elements, `out` writable and not aliased.
#[no_mangle]
pub unsafe extern "C" fn cranax_cholesky_f32(batch: usize, n: usize, a: *const f32, out: *mut f32) {
    // SAFETY: the caller vouches for the extents.
    unsafe {
        cholesky(
            batch,
            n,
            slice(a, batch * n * n),
            slice_mut(out, batch * n * n),
        )
    }
}

/// As `cranax_cholesky_f32`, f64.
///
/// # Safety
/// As `cranax_cholesky_f32`.
#[no_mangle]
pub unsafe extern "C" fn cranax_cholesky_f64(batch: usize, n: usize, a: *const f64, out: *mut f64) {
    // SAFETY: the caller vouches for the extents.
    unsafe {
        cholesky(
            batch,
            n,
            slice(a, batch * n * n),
            slice_mut(out, batch * n * n),
        )
    }
}

/// The flags of `TriangularSolve` packed in bits 0..4 (left_side, lower, transpose_a,
/// unit_diagonal), as compiled code passes them.
pub fn unpack_flags(flags: u32) -> TriangularSolve {
    TriangularSolve {
        left_side: flags & 1 != 0,
        lower: flags & 2 != 0,
        transpose_a: flags & 4 != 0,
        unit_diagonal: flags & 8 != 0,
    }
}

/// `extern "C"` entry for compiled code: `triangular_solve` (flags as `unpack_flags`).
///
/// # Safety
/// `a` valid for `batch*k*k` (k = m left, n right), `b` and `out` for `batch*m*n` elements.
#[no_mangle]
pub unsafe extern "C" fn cranax_triangular_solve_f32(
    flags: u32,
    batch: usize,
    m: usize,
    n: usize,
    a: *const f32,
    b: *const f32,
    out: *mut f32,
) {
    let p = unpack_flags(flags);
    let k = if p.left_side { m } else { n };
    // SAFETY: the caller vouches for the extents.
    unsafe {
        triangular_solve(
            p,
            batch,
            m,
            n,
            slice(a, batch * k * k),
            slice(b, batch * m * n),
            slice_mut(out, batch * m * n),
        )
    }
}

/// As `cranax_triangular_solve_f32`, f64.
///
/// # Safety
/// As `cranax_triangular_solve_f32`.
#[no_mangle]
pub unsafe extern "C" fn cranax_triangular_solve_f64(
    flags: u32,
    batch: usize,
    m: usize,
    n: usize,
    a: *const f64,
    b: *const f64,
    out: *mut f64,
) {
    let p = unpack_flags(flags);
    let k = if p.left_side { m } else { n };
    // SAFETY: the caller vouches for the extents.
    unsafe {
        triangular_solve(
            p,
            batch,
            m,
            n,
            slice(a, batch * k * k),
            slice(b, batch * m * n),
            slice_mut(out, batch * m * n),
        )
    }
}

/// `extern "C"` entry for compiled code: `lu` of `batch` `m x n` matrices.
///
/// # Safety
/// `a`, `lu` valid for `batch*m*n`, `pivots` for `batch*min(m,n)`, `perm` for `batch*m`.
#[no_mangle]
pub unsafe extern "C" fn cranax_lu_f32(
    batch: usize,
    m: usize,
    n: usize,
    a: *const f32,
    lu_out: *mut f32,
    pivots: *mut i32,
    perm: *mut i32,
) {
    // SAFETY: the caller vouches for the extents.
    unsafe {
        lu(
            batch,
            m,
            n,
            slice(a, batch * m * n),
            slice_mut(lu_out, batch * m * n),
            slice_mut(pivots, batch * m.min(n)),
            slice_mut(perm, batch * m),
        )
    }
}

/// As `cranax_lu_f32`, f64.
///
/// # Safety
/// As `cranax_lu_f32`.
#[no_mangle]
pub unsafe extern "C" fn cranax_lu_f64(
    batch: usize,
    m: usize,
    n: usize,
    a: *const f64,
    lu_out: *mut f64,
    pivots: *mut i32,
    perm: *mut i32,
) {
    // SAFETY: the caller vouches for the extents.
    unsafe {
        lu(
            batch,
            m,
            n,
            slice(a, batch * m * n),
            slice_mut(lu_out, batch * m * n),
            slice_mut(pivots, batch * m.min(n)),
            slice_mut(perm, batch * m),
        )
    }
}

/// # Safety
/// `p` valid for `len` reads (any pointer when `len == 0`).
unsafe fn slice<'a, T>(p: *const T, len: usize) -> &'a [T] {
    if len == 0 {
        return &[];
    }
    // SAFETY: the caller vouches for `len` elements.
    unsafe { std::slice::from_raw_parts(p, len) }
}

/// # Safety
/// `p` valid for `len` writes, not aliased (any pointer when `len == 0`).
unsafe fn slice_mut<'a, T>(p: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 {
        return &mut [];
    }
    // SAFETY: the caller vouches for `len` elements.
    unsafe { std::slice::from_raw_parts_mut(p, len) }
}
