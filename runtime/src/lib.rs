//! cranax runtime: buffers and kernels shared by eager evaluation and JIT-compiled code.
//! Nothing here knows about tracing. The `extern "C"` entry points (listed in [`symbols`]) are
//! called by compiled code: by address from the JIT, by symbol from an exported object file
//! linked against this crate as a static library; the backend has already checked every shape
//! and pointer it passes.
#![warn(missing_docs, missing_debug_implementations)]

pub mod linalg;
pub mod math_defs;
pub mod sort;
pub mod special;
pub mod symbols;
pub mod vecmath;

/// Row-major `c[b] = a[b] @ b[b]` for `batch` independent `m x k` by `k x n` products.
/// Panics if a slice is shorter than its shape says (so it can never read out of bounds).
pub fn matmul_f32(batch: usize, m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(
        a.len() >= batch * m * k && b.len() >= batch * k * n && c.len() >= batch * m * n,
        "matmul_f32: buffers too small"
    );
    for i in 0..batch {
        // SAFETY: the assert above keeps every index gemm touches inside the three slices.
        unsafe {
            gemm_one(
                m,
                k,
                n,
                a[i * m * k..].as_ptr(),
                b[i * k * n..].as_ptr(),
                c[i * m * n..].as_mut_ptr(),
            );
        }
    }
}

/// As `matmul_f32`, in f64.
pub fn matmul_f64(batch: usize, m: usize, k: usize, n: usize, a: &[f64], b: &[f64], c: &mut [f64]) {
    assert!(
        a.len() >= batch * m * k && b.len() >= batch * k * n && c.len() >= batch * m * n,
        "matmul_f64: buffers too small"
    );
    for i in 0..batch {
        // SAFETY: as in `matmul_f32`.
        unsafe {
            gemm_one(
                m,
                k,
                n,
                a[i * m * k..].as_ptr(),
                b[i * k * n..].as_ptr(),
                c[i * m * n..].as_mut_ptr(),
            );
        }
    }
}

/// One row-major product with the `gemm` crate, overwriting `c`.
///
/// # Safety
/// `a`, `b`, `c` must point to `m*k`, `k*n`, `m*n` valid elements (c writable, not aliased).
unsafe fn gemm_one<T: 'static + Copy + num_traits_lite::Zero + num_traits_lite::One>(
    m: usize,
    k: usize,
    n: usize,
    a: *const T,
    b: *const T,
    c: *mut T,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // SAFETY: c points to m*n writable elements.
        unsafe { std::ptr::write_bytes(c, 0, m * n) };
        return;
    }
    // SAFETY: row-major strides (column stride 1, row stride = row length) describe exactly
    // the buffers the caller vouched for; read_dst = false overwrites c.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c,
            1,
            n as isize,
            false,
            a,
            1,
            k as isize,
            b,
            1,
            n as isize,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            parallelism(m, k, n),
        )
    }
}

/// Multiply-adds from which one product is shared across the worker pool's threads. gemm
/// splits the output's rows and columns between threads, never the `k` sums, so every
/// element is summed in the same order as single-threaded.
const PAR_MIN_MACS: usize = 1 << 21;

fn parallelism(m: usize, k: usize, n: usize) -> gemm::Parallelism {
    let threads = num_threads();
    if threads > 1 && m.saturating_mul(k).saturating_mul(n) >= PAR_MIN_MACS {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    }
}

/// The two constants gemm's `alpha`/`beta` need, for f32 and f64.
mod num_traits_lite {
    pub trait Zero {
        fn zero() -> Self;
    }
    pub trait One {
        fn one() -> Self;
    }
    impl Zero for f32 {
        fn zero() -> Self {
            0.0
        }
    }
    impl One for f32 {
        fn one() -> Self {
            1.0
        }
    }
    impl Zero for f64 {
        fn zero() -> Self {
            0.0
        }
    }
    impl One for f64 {
        fn one() -> Self {
            1.0
        }
    }
}

/// `extern "C"` entry for compiled code: `c = a @ b`, batched, f32, row-major, contiguous.
///
/// # Safety
/// The pointers must be valid for `batch*m*k`, `batch*k*n` and `batch*m*n` elements.
#[no_mangle]
pub unsafe extern "C" fn cranax_matmul_f32(
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
) {
    for i in 0..batch {
        // SAFETY: the caller vouches for the extents; each batch is a disjoint block.
        unsafe {
            gemm_one(
                m,
                k,
                n,
                a.add(i * m * k),
                b.add(i * k * n),
                c.add(i * m * n),
            )
        };
    }
}

/// `extern "C"` entry for compiled code, f64.
///
/// # Safety
/// As `cranax_matmul_f32`.
#[no_mangle]
pub unsafe extern "C" fn cranax_matmul_f64(
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    a: *const f64,
    b: *const f64,
    c: *mut f64,
) {
    for i in 0..batch {
        // SAFETY: as above.
        unsafe {
            gemm_one(
                m,
                k,
                n,
                a.add(i * m * k),
                b.add(i * k * n),
                c.add(i * m * n),
            )
        };
    }
}

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
