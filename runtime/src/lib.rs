//! cranax runtime: buffers and kernels shared by eager evaluation and JIT-compiled code.
//! Nothing here knows about tracing. The `extern "C"` entry points (listed in [`symbols`]) are
//! called by compiled code: by address from the JIT, by symbol from an exported object file
//! linked against this crate as a static library; the backend has already checked every shape
//! and pointer it passes.
#![warn(missing_docs, missing_debug_implementations)]

pub mod linalg;
pub mod math_defs;
mod matmul;
pub mod sort;
pub mod special;
pub mod symbols;
pub mod vecmath;

/// Row-major `c[b] = a[b] @ b[b]` for `batch` independent `m x k` by `k x n` products.
/// Panics if a slice is shorter than its shape says (so it can never read out of bounds).
pub fn matmul_f32(batch: usize, m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    matmul_slices(batch, m, k, n, a, b, c)
}

/// As `matmul_f32`, in f64.
pub fn matmul_f64(batch: usize, m: usize, k: usize, n: usize, a: &[f64], b: &[f64], c: &mut [f64]) {
    matmul_slices(batch, m, k, n, a, b, c)
}

fn matmul_slices<T: Element>(
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    a: &[T],
    b: &[T],
    c: &mut [T],
) {
    assert!(
        a.len() >= batch * m * k && b.len() >= batch * k * n && c.len() >= batch * m * n,
        "matmul: buffers too small"
    );
    let a = Strided::row_major(a.as_ptr(), m, k);
    let b = Strided::row_major(b.as_ptr(), k, n);
    // SAFETY: the assert above keeps every index the row-major strides reach inside the three
    // slices.
    unsafe { matmul_strided(batch, m, k, n, a, b, c.as_mut_ptr()) }
}

/// A matrix operand: its first element and the element strides between batches, rows and
/// columns.
#[derive(Clone, Copy, Debug)]
struct Strided<T> {
    ptr: *const T,
    batch: isize,
    row: isize,
    col: isize,
}

impl<T> Strided<T> {
    fn row_major(ptr: *const T, rows: usize, cols: usize) -> Self {
        Strided {
            ptr,
            batch: (rows * cols) as isize,
            row: cols as isize,
            col: 1,
        }
    }
}

/// `c[i] = a[i] @ b[i]` for each batch `i`, `c` row-major and contiguous, the operands read
/// through their strides.
///
/// # Safety
/// Every element the strides reach for `i < batch`, rows `< m` (`< k` for `b`) and columns
/// `< k` (`< n`) must be valid; `c` must point to `batch*m*n` writable elements not aliased by
/// the operands.
unsafe fn matmul_strided<T: Element>(
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    a: Strided<T>,
    b: Strided<T>,
    c: *mut T,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // SAFETY: c points to batch*m*n writable elements.
        unsafe { std::ptr::write_bytes(c, 0, batch * m * n) };
        return;
    }
    for i in 0..batch {
        let at = |s: Strided<T>| Strided {
            ptr: s.ptr.wrapping_offset(i as isize * s.batch),
            ..s
        };
        // SAFETY: the caller vouches for every element the strides reach, and batch `i` of c
        // is the disjoint block at `i*m*n`.
        unsafe { matmul::product(m, k, n, at(a), at(b), c.add(i * m * n), n as isize) }
    }
}

/// The element types products are computed in, with the constants gemm's `alpha`/`beta` need.
trait Element:
    'static + Copy + faer::traits::ComplexField + faer::traits::Conjugate<Canonical = Self>
{
    const ZERO: Self;
    const ONE: Self;
}

impl Element for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

impl Element for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
}

macro_rules! matmul_entry {
    ($name:ident, $t:ty) => {
        /// `extern "C"` entry for compiled code: `c[i] = a[i] @ b[i]` for `i < batch`, `c`
        /// row-major and contiguous, `a` (`m x k`) and `b` (`k x n`) read through their
        /// element strides between batches, rows and columns (a transposed operand is read in
        /// place, not copied).
        ///
        /// # Safety
        /// Every operand element the strides reach must be valid and `c` must point to
        /// `batch*m*n` writable elements the operands do not overlap.
        #[no_mangle]
        #[allow(clippy::too_many_arguments)]
        pub unsafe extern "C" fn $name(
            batch: usize,
            m: usize,
            k: usize,
            n: usize,
            a: *const $t,
            a_batch: isize,
            a_row: isize,
            a_col: isize,
            b: *const $t,
            b_batch: isize,
            b_row: isize,
            b_col: isize,
            c: *mut $t,
        ) {
            let a = Strided {
                ptr: a,
                batch: a_batch,
                row: a_row,
                col: a_col,
            };
            let b = Strided {
                ptr: b,
                batch: b_batch,
                row: b_row,
                col: b_col,
            };
            // SAFETY: the caller vouches for the operands' extents and c's.
            unsafe { matmul_strided(batch, m, k, n, a, b, c) }
        }
    };
}

matmul_entry!(cranax_matmul_f32, f32);
matmul_entry!(cranax_matmul_f64, f64);

/// Threads available to [`for_chunks`].
pub fn num_threads() -> usize {
    rayon::current_num_threads()
}

/// Run `f(lo, hi)` over a partition of `0..n` into at most [`num_threads`] contiguous
/// chunks, in parallel on the worker pool, returning when all are done. Every boundary
/// except `n` itself is a multiple of `align`; with one thread, or when `n` is too small to
/// split at that alignment, this is the single call `f(0, n)` on the calling thread.
pub fn for_chunks(n: usize, align: usize, f: impl Fn(usize, usize) + Sync) {
    use rayon::prelude::*;
    let align = align.max(1);
    let threads = num_threads().min(n / align).max(1);
    if threads == 1 {
        f(0, n);
        return;
    }
    let per = n.div_ceil(threads).div_ceil(align) * align;
    let chunks = n.div_ceil(per);
    (0..chunks)
        .into_par_iter()
        .for_each(|c| f(c * per, ((c + 1) * per).min(n)));
}

#[cfg(test)]
mod tests {
    #[test]
    fn strided_operands_are_read_in_place() {
        // Batched aᵀ-by-bᵀ: a stored [batch, k, m], b stored [batch, n, k].
        let (batch, m, k, n) = (2, 5, 7, 3);
        let a: Vec<f64> = (0..batch * k * m).map(|i| i as f64 * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..batch * n * k).map(|i| 1.0 - i as f64 * 0.25).collect();
        let mut c = vec![f64::NAN; batch * m * n];
        let (bm, bk) = ((k * m) as isize, (n * k) as isize);
        // SAFETY: the strides stay inside a and b, and c has batch*m*n elements.
        unsafe {
            super::cranax_matmul_f64(
                batch,
                m,
                k,
                n,
                a.as_ptr(),
                bm,
                1,
                m as isize,
                b.as_ptr(),
                bk,
                1,
                k as isize,
                c.as_mut_ptr(),
            )
        };
        for bi in 0..batch {
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|p| a[bi * k * m + p * m + i] * b[bi * n * k + j * k + p])
                        .sum();
                    let got = c[bi * m * n + i * n + j];
                    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn matmul_matches_naive() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| 1.0 - i as f32 * 0.25).collect();
        let mut c = vec![0.0; m * n];
        super::matmul_f32(1, m, k, n, &a, &b, &mut c);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
                assert!(
                    (c[i * n + j] - want).abs() < 1e-4,
                    "{} vs {}",
                    c[i * n + j],
                    want
                );
            }
        }
    }
}
