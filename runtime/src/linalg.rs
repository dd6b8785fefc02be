//! Dense linear-algebra kernels (faer) on batches of row-major matrices: Cholesky, triangular
//! solve, LU with partial pivoting, and the decompositions QR (optionally column-pivoted),
//! symmetric eigendecomposition and SVD. The safe functions are what eager evaluation calls;
//! the `extern "C"` entry points below are what compiled code calls; both run the same code, so
//! eager and compiled results agree bit for bit. Failures are values, as in JAX: a matrix that
//! is not positive definite gives a Cholesky factor of NaNs, a singular one zero pivots; a
//! matrix with a non-finite entry gives `qr`, `eigh` and `svd` results that are NaN throughout
//! (faer's QR would treat a NaN column as zero and go on; LAPACK's leaves some entries finite),
//! as does an eigen- or singular-value iteration that does not converge.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::evd::{self_adjoint_evd, self_adjoint_evd_scratch, ComputeEigenvectors};
use faer::linalg::householder::{
    apply_block_householder_sequence_on_the_left_in_place_scratch as householder_scratch,
    apply_block_householder_sequence_on_the_left_in_place_with_conj as apply_householder,
};
use faer::linalg::lu::partial_pivoting::factor::{lu_in_place, lu_in_place_scratch};
use faer::linalg::qr::col_pivoting::factor as col_piv_qr;
use faer::linalg::qr::no_pivoting::factor as plain_qr;
use faer::linalg::svd::{svd as faer_svd, svd_scratch, ComputeSvdVectors};
use faer::linalg::triangular_solve as tri;
use faer::traits::RealField;
use faer::{Conj, Mat, MatMut, MatRef, Par};

/// The element types the kernels take (f32 and f64).
pub trait Real: RealField + Copy + From<f32> + Into<f64> {}
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
        // Factor a column-major copy: faer is several times slower on row-major strides.
        let mut c = to_mat(n, n, m);
        let ok = cholesky_in_place(
            c.as_mut(),
            Default::default(),
            Par::Seq,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .is_ok();
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] = if !ok {
                    T::from(f32::NAN)
                } else if j > i {
                    T::from(0.0)
                } else {
                    c[(i, j)]
                };
            }
        }
    }
}

/// JAX's `triangular_solve` parameters (real matrices: `conjugate_a` changes nothing).
#[derive(Clone, Copy, Debug)]
pub struct TriangularSolve {
    /// Solve `x a = b` instead of `a x = b`.
    pub left_side: bool,
    /// `a` is lower triangular.
    pub lower: bool,
    /// Use `a`'s transpose.
    pub transpose_a: bool,
    /// Take `a`'s diagonal as ones.
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
        let out = &mut lu[b * m * n..(b + 1) * m * n];
        if n > 0 {
            // A column-major copy, as for `cholesky`.
            let mut c = to_mat(m, n, out);
            lu_in_place(
                c.as_mut(),
                &mut fwd,
                &mut inv,
                Par::Seq,
                MemStack::new(&mut buf),
                Default::default(),
            );
            write_rows(out, c.as_ref());
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

/// The decompositions with several results (JAX's `qr`, `eigh`, `svd`), with their parameters.
/// Each runs on `m x n` matrices (`eigh`: `m == n`) and writes its results packed per matrix,
/// in JAX's result order, into one buffer (see [`Decomposition::parts`]); integer results
/// (qr's column permutation) are stored as floats (small integers, exact).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decomposition {
    /// `(q, r[, p])`: `q` `m x k`, `r` `k x n` upper triangular, `k = m` (full) or `min(m, n)`;
    /// with pivoting `p` (`n`) orders the columns: `a[:, p] = q r`.
    Qr {
        /// Square `q`.
        full_matrices: bool,
        /// Column pivoting.
        pivoting: bool,
    },
    /// `(v, w)`: eigenvalues `w[lo..hi]` of the symmetric `a` in ascending order and their
    /// orthonormal eigenvectors, the columns of `v` (`n x (hi - lo)`); only the triangle
    /// `lower` names is read.
    Eigh {
        /// Read the lower triangle.
        lower: bool,
        /// The first eigenpair kept.
        lo: usize,
        /// One past the last eigenpair kept.
        hi: usize,
    },
    /// `(s[, u, vt])`: singular values `s[lo..hi]` in descending order, `u` `m x ku`,
    /// `vt` `kv x n` (`ku = m`, `kv = n` full, else `hi - lo` each).
    Svd {
        /// Square `u` and `vt`.
        full_matrices: bool,
        /// Compute `u` and `vt`, not only `s`.
        compute_uv: bool,
        /// The first singular triple kept.
        lo: usize,
        /// One past the last singular triple kept.
        hi: usize,
    },
}

impl Decomposition {
    /// The per-matrix element counts of the packed results, in order.
    pub fn parts(&self, m: usize, n: usize) -> Vec<usize> {
        match *self {
            Decomposition::Qr {
                full_matrices,
                pivoting,
            } => {
                let k = if full_matrices { m } else { m.min(n) };
                let mut p = vec![m * k, k * n];
                if pivoting {
                    p.push(n);
                }
                p
            }
            Decomposition::Eigh { lo, hi, .. } => vec![n * (hi - lo), hi - lo],
            Decomposition::Svd {
                full_matrices,
                compute_uv,
                lo,
                hi,
            } => {
                let r = hi - lo;
                if !compute_uv {
                    return vec![r];
                }
                let (ku, kv) = if full_matrices { (m, n) } else { (r, r) };
                vec![r, m * ku, kv * n]
            }
        }
    }

    /// The per-matrix width of the packed buffer.
    pub fn width(&self, m: usize, n: usize) -> usize {
        self.parts(m, n).iter().sum()
    }

    /// The decomposition and its parameters as compiled code passes them: a word of flags
    /// (bits 0..2 the kind: 0 qr, 1 eigh, 2 svd; bit 2 full_matrices or lower; bit 3
    /// pivoting or compute_uv) and the index range `lo..hi` (0, 0 for qr).
    pub fn encode(&self) -> (usize, usize, usize) {
        let bit = |b: bool, i: usize| usize::from(b) << i;
        match *self {
            Decomposition::Qr {
                full_matrices,
                pivoting,
            } => (bit(full_matrices, 2) | bit(pivoting, 3), 0, 0),
            Decomposition::Eigh { lower, lo, hi } => (1 | bit(lower, 2), lo, hi),
            Decomposition::Svd {
                full_matrices,
                compute_uv,
                lo,
                hi,
            } => (2 | bit(full_matrices, 2) | bit(compute_uv, 3), lo, hi),
        }
    }

    /// The inverse of [`Decomposition::encode`].
    pub fn decode(flags: usize, lo: usize, hi: usize) -> Decomposition {
        let (b2, b3) = (flags & 4 != 0, flags & 8 != 0);
        match flags & 3 {
            0 => Decomposition::Qr {
                full_matrices: b2,
                pivoting: b3,
            },
            1 => Decomposition::Eigh { lower: b2, lo, hi },
            _ => Decomposition::Svd {
                full_matrices: b2,
                compute_uv: b3,
                lo,
                hi,
            },
        }
    }
}

/// `d` on each of `batch` row-major `m x n` matrices of `a`, results packed per matrix into
/// `out` (`batch * d.width(m, n)` elements).
pub fn decompose<T: Real>(
    d: Decomposition,
    batch: usize,
    m: usize,
    n: usize,
    a: &[T],
    out: &mut [T],
) {
    let parts = d.parts(m, n);
    let w: usize = parts.iter().sum();
    assert!(
        a.len() == batch * m * n && out.len() == batch * w,
        "decompose: buffer sizes"
    );
    if let Decomposition::Eigh { lo, hi, .. } = d {
        assert!(
            m == n && lo <= hi && hi <= n,
            "eigh: square, 0 <= lo <= hi <= n"
        );
    }
    if let Decomposition::Svd { lo, hi, .. } = d {
        assert!(
            lo <= hi && hi <= m.min(n),
            "svd: 0 <= lo <= hi <= min(m, n)"
        );
    }
    for b in 0..batch {
        let x = &a[b * m * n..(b + 1) * m * n];
        let mut rest = &mut out[b * w..(b + 1) * w];
        let mut outs = Vec::with_capacity(parts.len());
        for &len in &parts {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
            outs.push(head);
            rest = tail;
        }
        let finite = x.iter().all(|&v| Into::<f64>::into(v).is_finite());
        let ok = finite
            && match d {
                Decomposition::Qr {
                    full_matrices,
                    pivoting,
                } => {
                    qr_one(m, n, full_matrices, pivoting, x, &mut outs);
                    true
                }
                Decomposition::Eigh { lower, lo, hi } => eigh_one(n, lower, lo, hi, x, &mut outs),
                Decomposition::Svd {
                    full_matrices,
                    compute_uv,
                    lo,
                    hi,
                } => svd_one(m, n, full_matrices, compute_uv, lo, hi, x, &mut outs),
            };
        if !ok {
            outs.iter_mut().for_each(|o| o.fill(T::from(f32::NAN)));
        }
    }
}

/// A row-major `m x n` slice as an owned column-major matrix (faer's preferred layout).
fn to_mat<T: Real>(m: usize, n: usize, a: &[T]) -> Mat<T> {
    Mat::from_fn(m, n, |i, j| a[i * n + j])
}

/// Write `x[rows, cols]` row-major into `out`.
fn write_rows<T: Real>(out: &mut [T], x: MatRef<'_, T>) {
    let n = x.ncols();
    for i in 0..x.nrows() {
        for j in 0..n {
            out[i * n + j] = x[(i, j)];
        }
    }
}

/// One QR (Householder, as LAPACK's `geqrf`/`geqp3`: the signs of `r`'s diagonal are LAPACK's).
fn qr_one<T: Real>(m: usize, n: usize, full: bool, pivoting: bool, a: &[T], outs: &mut [&mut [T]]) {
    let size = m.min(n);
    let k = if full { m } else { size };
    let mut qr = to_mat(m, n, a);
    if size == 0 {
        // As JAX: q the m x k identity, r zeros, p zeros.
        write_rows(outs[0], Mat::<T>::identity(m, k).as_ref());
        outs[1].fill(T::from(0.0));
        if pivoting {
            outs[2].fill(T::from(0.0));
        }
        return;
    }
    let bs = plain_qr::recommended_block_size::<T>(m, n);
    let mut coeff = Mat::<T>::zeros(bs, size);
    if pivoting {
        let (mut fwd, mut inv) = (vec![0usize; n], vec![0usize; n]);
        let mut buf = MemBuffer::new(col_piv_qr::qr_in_place_scratch::<usize, T>(
            m,
            n,
            bs,
            Par::Seq,
            Default::default(),
        ));
        col_piv_qr::qr_in_place(
            qr.as_mut(),
            coeff.as_mut(),
            &mut fwd,
            &mut inv,
            Par::Seq,
            MemStack::new(&mut buf),
            Default::default(),
        );
        for (o, &p) in outs[2].iter_mut().zip(&fwd) {
            *o = T::from(p as f32);
        }
    } else {
        let mut buf = MemBuffer::new(plain_qr::qr_in_place_scratch::<T>(
            m,
            n,
            bs,
            Par::Seq,
            Default::default(),
        ));
        plain_qr::qr_in_place(
            qr.as_mut(),
            coeff.as_mut(),
            Par::Seq,
            MemStack::new(&mut buf),
            Default::default(),
        );
    }
    let r = &mut *outs[1];
    for i in 0..k {
        for j in 0..n {
            r[i * n + j] = if i <= j && i < size {
                qr[(i, j)]
            } else {
                T::from(0.0)
            };
        }
    }
    // q: the Householder reflections applied to the first k columns of the identity.
    let mut q = Mat::<T>::identity(m, k);
    let mut buf = MemBuffer::new(householder_scratch::<T>(m, bs, k));
    apply_householder(
        qr.as_ref().get(.., ..size),
        coeff.as_ref(),
        Conj::No,
        q.as_mut(),
        Par::Seq,
        MemStack::new(&mut buf),
    );
    write_rows(outs[0], q.as_ref());
}

/// One symmetric eigendecomposition (faer's tridiagonal QR / divide and conquer, eigenvalues
/// ascending as LAPACK's `syevd`); false if it did not converge.
fn eigh_one<T: Real>(
    n: usize,
    lower: bool,
    lo: usize,
    hi: usize,
    a: &[T],
    outs: &mut [&mut [T]],
) -> bool {
    if n == 0 {
        return true;
    }
    // faer reads the lower triangle: the upper one of `a` is the lower one of `aᵀ`.
    let sym = Mat::from_fn(n, n, |i, j| {
        let (i, j) = if i >= j { (i, j) } else { (j, i) };
        if lower {
            a[i * n + j]
        } else {
            a[j * n + i]
        }
    });
    let mut s = Diag::<T>::zeros(n);
    let mut u = Mat::<T>::zeros(n, n);
    let mut buf = MemBuffer::new(self_adjoint_evd_scratch::<T>(
        n,
        ComputeEigenvectors::Yes,
        Par::Seq,
        Default::default(),
    ));
    let ok = self_adjoint_evd(
        sym.as_ref(),
        s.as_mut(),
        Some(u.as_mut()),
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .is_ok();
    let s = s.column_vector();
    write_rows(outs[0], u.as_ref().get(.., lo..hi));
    for (o, i) in outs[1].iter_mut().zip(lo..hi) {
        *o = s[i];
    }
    ok
}

/// One SVD (faer's bidiagonal divide and conquer, singular values descending as LAPACK's
/// `gesdd`); false if it did not converge.
#[allow(clippy::too_many_arguments)]
fn svd_one<T: Real>(
    m: usize,
    n: usize,
    full: bool,
    compute_uv: bool,
    lo: usize,
    hi: usize,
    a: &[T],
    outs: &mut [&mut [T]],
) -> bool {
    let size = m.min(n);
    if size == 0 {
        // As JAX: no singular values; full u and vt are identities.
        if compute_uv {
            write_rows(
                outs[1],
                Mat::<T>::identity(m, if full { m } else { 0 }).as_ref(),
            );
            write_rows(
                outs[2],
                Mat::<T>::identity(if full { n } else { 0 }, n).as_ref(),
            );
        }
        return true;
    }
    let x = to_mat(m, n, a);
    let which = match (compute_uv, full) {
        (false, _) => ComputeSvdVectors::No,
        (true, false) => ComputeSvdVectors::Thin,
        (true, true) => ComputeSvdVectors::Full,
    };
    let (ku, kv) = if full { (m, n) } else { (size, size) };
    let mut s = Diag::<T>::zeros(size);
    let (mut u, mut v) = if compute_uv {
        (Mat::<T>::zeros(m, ku), Mat::<T>::zeros(n, kv))
    } else {
        (Mat::<T>::zeros(0, 0), Mat::<T>::zeros(0, 0))
    };
    let mut buf = MemBuffer::new(svd_scratch::<T>(
        m,
        n,
        which,
        which,
        Par::Seq,
        Default::default(),
    ));
    let ok = faer_svd(
        x.as_ref(),
        s.as_mut(),
        compute_uv.then(|| u.as_mut()),
        compute_uv.then(|| v.as_mut()),
        Par::Seq,
        MemStack::new(&mut buf),
        Default::default(),
    )
    .is_ok();
    let s = s.column_vector();
    for (o, i) in outs[0].iter_mut().zip(lo..hi) {
        *o = s[i];
    }
    if compute_uv {
        let (uc, vc) = if full { (0..m, 0..n) } else { (lo..hi, lo..hi) };
        write_rows(outs[1], u.as_ref().get(.., uc));
        write_rows(outs[2], v.as_ref().get(.., vc).transpose());
    }
    ok
}

/// The `extern "C"` entries of [`decompose`] for compiled code, one per element type.
macro_rules! decompose_entry {
    ($name:ident, $t:ty) => {
        #[doc = concat!("`extern \"C\"` entry for compiled code: [`decompose`] on ", stringify!($t))]
        /// matrices (the decomposition as [`Decomposition::encode`] gives it).
        ///
        /// # Safety
        /// `a` valid for `batch*m*n` elements, `out` for `batch * width(m, n)`, not aliased;
        /// the parameters must be valid for the shape (as `decompose` asserts).
        #[no_mangle]
        #[allow(clippy::too_many_arguments)]
        pub unsafe extern "C" fn $name(
            flags: usize,
            lo: usize,
            hi: usize,
            batch: usize,
            m: usize,
            n: usize,
            a: *const $t,
            out: *mut $t,
        ) {
            let d = Decomposition::decode(flags, lo, hi);
            let (a_len, out_len) = (batch * m * n, batch * d.width(m, n));
            // SAFETY: the caller vouches for the extents.
            let (a, out) = unsafe { (slice(a, a_len), slice_mut(out, out_len)) };
            decompose(d, batch, m, n, a, out)
        }
    };
}

decompose_entry!(cranax_decompose_f32, f32);
decompose_entry!(cranax_decompose_f64, f64);

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
