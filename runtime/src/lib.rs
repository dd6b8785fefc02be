//! cranax runtime: buffers and kernels shared by eager evaluation and JIT-compiled code.
//! Nothing here knows about tracing. The `extern "C"` entry points (listed in [`symbols`]) are
//! called by compiled code: by address from the JIT, by symbol from an exported object file
//! linked against this crate as a static library; the backend has already checked every shape
//! and pointer it passes.
#![warn(missing_docs, missing_debug_implementations)]

pub mod linalg;
pub mod math_defs;
mod matmul;
pub mod pages;
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

/// Start the worker pool [`for_chunks`] runs on, if it is not running yet, without waiting for
/// its threads to come up. The JIT calls this when it sets itself up, so that the threads
/// (about 0.2 ms to start two) are ready by the first large call instead of starting in it.
pub fn start_workers() {
    num_threads();
}

/// Run `f(lo, hi)` over a partition of `0..n` into at most [`num_threads`] contiguous
/// chunks of near-equal length, in parallel on the worker pool, returning when all are
/// done. Every boundary except `n` itself is a multiple of `align`, and every chunk has at
/// least `min_chunk` elements; with one thread, or when `n` is too small to split so, this
/// is the single call `f(0, n)` on the calling thread.
pub fn for_chunks(n: usize, align: usize, min_chunk: usize, f: impl Fn(usize, usize) + Sync) {
    use rayon::prelude::*;
    let chunks = Chunks::new(n, num_threads(), align, min_chunk);
    if chunks.count == 1 {
        f(0, n);
        return;
    }
    (0..chunks.count)
        .into_par_iter()
        .for_each(|c| f(chunks.bound(c), chunks.bound(c + 1)));
}

/// The partition [`for_chunks`] runs: `count` chunks, chunk `c` being
/// `bound(c)..bound(c + 1)`.
#[derive(Clone, Copy, Debug)]
struct Chunks {
    n: usize,
    count: usize,
    align: usize,
}

impl Chunks {
    fn new(n: usize, threads: usize, align: usize, min_chunk: usize) -> Chunks {
        let align = align.max(1);
        // Inner boundaries round `c * n / count` down to `align`, so every chunk is at least
        // `n / count - (align - 1)` long.
        let count = threads.min(n / (min_chunk.max(1) + align - 1)).max(1);
        Chunks { n, count, align }
    }

    fn bound(&self, c: usize) -> usize {
        match c {
            c if c >= self.count => self.n,
            c => c * self.n / self.count / self.align * self.align,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn chunks_cover_the_range_aligned_near_equal_and_long_enough() {
        let sizes = [0, 1, 15, 16, 17, 1023, 4096, 4097, 65_537, 1_000_000];
        for (n, threads) in sizes
            .into_iter()
            .flat_map(|n| [1, 2, 3, 7, 64, 300].map(|t| (n, t)))
        {
            for (align, min_chunk) in [(1, 1), (16, 1), (16, 1024)] {
                let p = super::Chunks::new(n, threads, align, min_chunk);
                let chunks: Vec<_> = (0..p.count).map(|c| (p.bound(c), p.bound(c + 1))).collect();
                let what = format!("n {n}, {threads} threads, align {align}: {chunks:?}");
                assert!(p.count <= threads, "{what}");
                assert_eq!((chunks[0].0, chunks[p.count - 1].1), (0, n), "{what}");
                assert!(chunks.windows(2).all(|w| w[0].1 == w[1].0), "{what}");
                assert!(chunks.iter().all(|&(lo, _)| lo % align == 0), "{what}");
                if p.count > 1 {
                    assert!(
                        chunks.iter().all(|&(lo, hi)| hi - lo >= min_chunk),
                        "{what}"
                    );
                    let (short, long) = chunks
                        .iter()
                        .fold((n, 0), |(s, l), &(lo, hi)| (s.min(hi - lo), l.max(hi - lo)));
                    assert!(long - short < 2 * align, "{what}: not near-equal");
                }
                // As many chunks as the threads allow: one more would be too short.
                if p.count < threads && n > 0 {
                    let more = n / (p.count + 1);
                    assert!(
                        more < min_chunk + align - 1,
                        "{what}: could use more threads"
                    );
                }
            }
        }
    }

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
