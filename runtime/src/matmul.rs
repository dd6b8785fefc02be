//! One product `c = a @ b` (`c` row-major with row stride `c_row`, the operands read through
//! their strides): which library's kernels compute it, and on how many threads.
//!
//! Products whose dimensions all exceed 1 and that have more than [`FAER_MIN_MACS`]
//! multiply-adds go to faer's packed kernels, which choose AVX-512 or AVX2 at run time on stable
//! Rust (gemm 0.18's AVX-512 kernels need nightly); measured on the MLP gradient's five shapes
//! (AMD Zen 4) they are as fast or 5-25% faster than gemm 0.18's AVX2 kernels, and never slower
//! on the smaller square and thin shapes tried. Every element is summed in `k` order in blocks
//! of 512, whatever the instruction set (`faer_paths_agree_bit_for_bit` checks AVX-512 against
//! AVX2) and however the output is split between threads. The rest (matrix-vector, rank-1 and
//! tiny products, where faer switches to kernels whose sums follow the operands' alignment)
//! stay with gemm, as before.

use crate::{for_chunks, num_threads, Element, Strided};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// Multiply-adds above which a product with no dimension of 1 is faer's (its own threshold for
/// leaving its unrolled tiny-matrix kernels).
const FAER_MIN_MACS: usize = 16 * 16 * 16;

/// Multiply-adds from which one product is shared across the worker pool's threads. The
/// output's rows (or columns) are split, never the `k` sums, so every element is summed in the
/// same order as single-threaded.
const PAR_MIN_MACS: usize = 1 << 21;

/// Where an output split between threads is cut: at a multiple of 32 rows or columns, so both
/// halves of the MLP's 256-wide outputs are whole tiles of faer's kernels (a cut changes how
/// many tiles are partial, never the bits).
const SPLIT_ALIGN: usize = 32;

/// `c = a @ b` for one `m x k` by `k x n` product (`k > 0`), `c` row-major with row stride
/// `c_row`.
///
/// # Safety
/// Every operand element the strides reach for rows `< m` (`< k`) and columns `< k` (`< n`)
/// must be valid, and `c` must point to `m` rows of `n` writable elements (row stride
/// `c_row`) the operands do not overlap.
pub(crate) unsafe fn product<T: Element>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<T>,
    b: Strided<T>,
    c: *mut T,
    c_row: isize,
) {
    let macs = m.saturating_mul(k).saturating_mul(n);
    let threads = if macs >= PAR_MIN_MACS {
        num_threads()
    } else {
        1
    };
    if m == 1 || n == 1 || k == 1 || macs <= FAER_MIN_MACS {
        // SAFETY: as this function's contract.
        unsafe { gemm_product(m, k, n, a, b, c, c_row, threads) };
        return;
    }
    if threads == 1 {
        // SAFETY: as this function's contract.
        unsafe { faer_product(m, k, n, a, b, c, c_row) };
        return;
    }
    let parts = Parts { a, b, c };
    // Split the longer side of the output, so that each part still has whole tiles.
    if m >= n {
        for_chunks(m, SPLIT_ALIGN, 1, |lo, hi| {
            let Parts { a, b, c } = parts.get();
            let a = Strided {
                ptr: a.ptr.wrapping_offset(lo as isize * a.row),
                ..a
            };
            let c = c.wrapping_offset(lo as isize * c_row);
            // SAFETY: rows lo..hi of a and c are inside the caller's; the parts write
            // disjoint rows of c.
            unsafe { faer_product(hi - lo, k, n, a, b, c, c_row) }
        });
    } else {
        for_chunks(n, SPLIT_ALIGN, 1, |lo, hi| {
            let Parts { a, b, c } = parts.get();
            let b = Strided {
                ptr: b.ptr.wrapping_offset(lo as isize * b.col),
                ..b
            };
            let c = c.wrapping_add(lo);
            // SAFETY: columns lo..hi of b and c are inside the caller's; the parts write
            // disjoint columns of c.
            unsafe { faer_product(m, k, hi - lo, a, b, c, c_row) }
        });
    }
}

/// The operands and output of one product, shared by the threads computing its parts.
#[derive(Clone, Copy)]
struct Parts<T> {
    a: Strided<T>,
    b: Strided<T>,
    c: *mut T,
}

impl<T: Copy> Parts<T> {
    /// A copy of the whole (a closure using it captures `Parts`, which is `Sync`, not its
    /// raw-pointer fields).
    fn get(&self) -> Self {
        *self
    }
}

// SAFETY: the operands are only read, and each thread writes its own disjoint block of `c`
// (`product` splits the output, never the sums); the caller of `product` keeps all three
// valid until it returns, which is after every part is done.
unsafe impl<T> Sync for Parts<T> {}

/// `c = a @ b` through faer on the calling thread.
///
/// # Safety
/// As [`product`]'s.
unsafe fn faer_product<T: Element>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<T>,
    b: Strided<T>,
    c: *mut T,
    c_row: isize,
) {
    // SAFETY: the caller vouches for every element these views reach; `c` is not aliased.
    let (a, b, c) = unsafe {
        (
            MatRef::<T>::from_raw_parts(a.ptr, m, k, a.row, a.col),
            MatRef::<T>::from_raw_parts(b.ptr, k, n, b.row, b.col),
            MatMut::<T>::from_raw_parts_mut(c, m, n, c_row, 1),
        )
    };
    matmul(c, Accum::Replace, a, b, T::ONE, Par::Seq);
}

/// `c = a @ b` through gemm (its own threads when `threads > 1`; it splits the output, never
/// the sums).
///
/// # Safety
/// As [`product`]'s.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_product<T: Element>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<T>,
    b: Strided<T>,
    c: *mut T,
    c_row: isize,
    threads: usize,
) {
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the caller vouches for every element the strides reach; read_dst = false
    // overwrites c.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            1,
            c_row,
            false,
            a.ptr,
            a.col,
            a.row,
            b.ptr,
            b.col,
            b.row,
            T::ZERO,
            T::ONE,
            false,
            false,
            false,
            par,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1) that round differently when summed in another order.
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// `c = a @ b` with `a` stored transposed (`k x m`), `b` row-major, on a pool of
    /// `threads` threads.
    fn at_b(m: usize, k: usize, n: usize, threads: usize) -> Vec<f32> {
        let (a, b) = (values(k * m, 1), values(k * n, 2));
        let mut c = vec![f32::NAN; m * n];
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let a_t = Strided {
                ptr: a.as_ptr(),
                batch: 0,
                row: 1,
                col: m as isize,
            };
            let b = Strided::row_major(b.as_ptr(), k, n);
            // SAFETY: the strides stay inside a (k*m) and b (k*n); c has m*n elements.
            unsafe { product(m, k, n, a_t, b, c.as_mut_ptr(), n as isize) }
        });
        // Within f32 summation error of the exact product.
        for i in 0..m {
            for j in 0..n {
                let want: f64 = (0..k)
                    .map(|p| a[p * m + i] as f64 * b[p * n + j] as f64)
                    .sum();
                let got = c[i * n + j] as f64;
                assert!(
                    (got - want).abs() < 1e-5 * k as f64,
                    "{m}x{k}x{n} [{i},{j}]: {got} vs {want}"
                );
            }
        }
        c
    }

    #[test]
    fn splitting_between_threads_keeps_the_bits() {
        // Rows split (m >= n), columns split, k past one 512-deep block, uneven parts.
        for (m, k, n) in [
            (784, 128, 256),
            (128, 784, 256),
            (200, 600, 70),
            (65, 40, 1000),
        ] {
            assert!(m * k * n >= PAR_MIN_MACS);
            let one = at_b(m, k, n, 1);
            for threads in [2, 3] {
                let split = at_b(m, k, n, threads);
                let same = one
                    .iter()
                    .zip(&split)
                    .all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{m}x{k}x{n} on {threads} threads");
            }
        }
    }

    #[test]
    fn faer_paths_agree_bit_for_bit() {
        use private_gemm_x86 as pg;
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return;
        }
        let mut sets = vec![pg::InstrSet::Avx256];
        if is_x86_feature_detected!("avx512f") {
            sets.push(pg::InstrSet::Avx512);
        }
        for (m, k, n) in [
            (128, 784, 256),
            (784, 128, 256),
            (37, 1100, 29),
            (17, 9, 300),
        ] {
            let (a, b) = (values(m * k, 3), values(k * n, 4));
            let mut f32s: Vec<Vec<f32>> = vec![];
            for &set in &sets {
                let mut c = vec![f32::NAN; m * n];
                // What faer calls for a row-major f32 product (its dst column-major: the
                // transposed problem).
                let alpha = 1.0f32;
                // SAFETY: row-major a (m*k), b (k*n), c (m*n); null index and diagonal
                // pointers are the plain product.
                unsafe {
                    pg::gemm(
                        pg::DType::F32,
                        pg::IType::U64,
                        set,
                        m,
                        n,
                        k,
                        c.as_mut_ptr() as *mut (),
                        n as isize,
                        1,
                        std::ptr::null(),
                        std::ptr::null(),
                        pg::DstKind::Full,
                        pg::Accum::Replace,
                        a.as_ptr() as *const (),
                        k as isize,
                        1,
                        false,
                        std::ptr::null(),
                        0,
                        b.as_ptr() as *const (),
                        n as isize,
                        1,
                        false,
                        &raw const alpha as *const (),
                        1,
                    )
                };
                f32s.push(c);
            }
            // The path faer takes here is one of them.
            let mut ours = vec![f32::NAN; m * n];
            // SAFETY: row-major operands and output of these sizes.
            unsafe {
                faer_product(
                    m,
                    k,
                    n,
                    Strided::row_major(a.as_ptr(), m, k),
                    Strided::row_major(b.as_ptr(), k, n),
                    ours.as_mut_ptr(),
                    n as isize,
                )
            };
            for c in &f32s {
                let same = c.iter().zip(&ours).all(|(x, y)| x.to_bits() == y.to_bits());
                assert!(same, "{m}x{k}x{n}: instruction sets disagree");
            }
        }
    }
}
