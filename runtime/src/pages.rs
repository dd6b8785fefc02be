//! Large buffers (2 MiB and up) mapped straight from the operating system, for the outputs of
//! compiled calls, with a small process-wide pool of freed ones and a way to fault them in
//! ahead of use on a worker thread.
//!
//! Why: a compiled call's output is fresh memory, and the first write to each 4 KiB page traps
//! into the kernel. On the 2-core VMs the benchmarks run on, a 4 MB output takes ~980 faults
//! at ~1.5 µs each: 1.5-1.8 ms, against a kernel that runs in 0.16 ms, and two threads
//! faulting at once are no faster than one. So:
//! - [`prefault`] maps the buffers a function will return and touches their pages on a worker
//!   while the calling thread compiles the function (the JIT does this on a cache miss), and
//!   leaves them in the pool for the first call. Pages are touched one at a time, not with
//!   `MADV_POPULATE_WRITE`: that holds the address-space lock for the whole range, which
//!   stalled the compiling thread's own allocations (a 0.7 ms compile took 1.7 ms). What it
//!   can save is bounded: faulting is a shared resource on these VMs (populating in chunks
//!   concurrently with a compile slowed the compile by as much as it saved), so a first call
//!   with a 4 MB output still costs ~1.6 ms of faults, now overlapped with the ~0.5 ms compile.
//! - a dropped buffer goes back to the pool (unless it already holds [`POOL_BLOCKS`] buffers
//!   or [`POOL_BYTES`] bytes), and [`Pages::new`] takes a pooled buffer of exactly the mapped
//!   length it needs, so the second call runs with no faults too (glibc's heap gave the
//!   second call of a 4 MB output fresh pages again: its first free only raises the `mmap`
//!   threshold).
//!
//! Transparent huge pages are not requested: measured on these VMs (Firecracker, with the
//! balloon's free page reporting), a 2 MiB page took 0.07-0.2 ms to fault when the host still
//! backed it but 4.4 ms when the host had reclaimed it, about one run in ten, so a 4 MB
//! output's first call became a lottery between 0.4 and 9 ms.
//!
//! Off Linux, [`Pages::new`] returns `None` and callers use the heap. [`release_pool`]
//! unmaps what the pool holds.

use std::ptr::NonNull;
use std::sync::{Arc, Condvar, Mutex};

/// Buffers at least this large are mapped here; smaller ones are left to the heap.
pub const MIN_BYTES: usize = 2 << 20;

/// The most buffers the pool keeps.
pub const POOL_BLOCKS: usize = 8;

/// The most bytes the pool keeps.
pub const POOL_BYTES: usize = 256 << 20;

/// The page size mappings are rounded to.
const PAGE: usize = 4096;

/// An owned, writable, page-aligned mapping of `len` bytes (a multiple of 4 KiB). Its
/// contents start as zeros (a fresh mapping) or as whatever the last user left (pooled).
#[derive(Debug)]
pub struct Pages {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: `Pages` owns its mapping exclusively (like a `Box<[u8]>`); nothing else refers to it.
unsafe impl Send for Pages {}
// SAFETY: shared access only reads through `as_ptr`; writes need `&mut`.
unsafe impl Sync for Pages {}

/// Freed mappings as (address, length), waiting for reuse.
static POOL: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

fn pool() -> std::sync::MutexGuard<'static, Vec<(usize, usize)>> {
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The mapped length for a buffer of `bytes`.
fn mapped_len(bytes: usize) -> usize {
    bytes.div_ceil(PAGE) * PAGE
}

impl Pages {
    /// A buffer of at least `bytes` bytes, from the pool or a new mapping; `None` when
    /// `bytes < MIN_BYTES`, off Linux, or when the system refuses the mapping.
    pub fn new(bytes: usize) -> Option<Pages> {
        if bytes < MIN_BYTES || !cfg!(target_os = "linux") {
            return None;
        }
        let len = mapped_len(bytes);
        let pooled = {
            let mut pool = pool();
            let at = pool.iter().position(|&(_, l)| l == len);
            at.map(|i| pool.swap_remove(i).0)
        };
        let addr = match pooled {
            Some(addr) => addr,
            None => map(len)?,
        };
        Some(Pages {
            ptr: NonNull::new(addr as *mut u8)?,
            len,
        })
    }

    /// The mapped length in bytes (at least what [`Pages::new`] was asked for).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never true: a mapping has at least [`MIN_BYTES`].
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The first byte, page-aligned.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// The first byte, for writing.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        let mut pool = pool();
        let held: usize = pool.iter().map(|&(_, l)| l).sum();
        if pool.len() < POOL_BLOCKS && held + self.len <= POOL_BYTES {
            pool.push((self.ptr.as_ptr() as usize, self.len));
        } else {
            drop(pool);
            unmap(self.ptr.as_ptr() as usize, self.len);
        }
    }
}

/// Unmap every buffer the pool holds (their memory goes back to the system).
pub fn release_pool() {
    let freed = std::mem::take(&mut *pool());
    for (addr, len) in freed {
        unmap(addr, len);
    }
}

/// Map buffers of each of `sizes` bytes (those of at least [`MIN_BYTES`] that the pool does
/// not already hold and has room for) and fault their pages in on a worker thread, leaving
/// them in the pool, where [`Pages::new`] finds them backed by memory. [`Prefault::wait`]
/// returns when they are there.
pub fn prefault(sizes: &[usize]) -> Prefault {
    let lens = {
        let pool = pool();
        let mut held: Vec<usize> = pool.iter().map(|&(_, l)| l).collect();
        let mut bytes: usize = held.iter().sum();
        let mut lens = Vec::new();
        for &size in sizes {
            if size < MIN_BYTES || !cfg!(target_os = "linux") {
                continue;
            }
            let len = mapped_len(size);
            if let Some(i) = held.iter().position(|&l| l == len) {
                held.swap_remove(i); // already pooled (and so already faulted in)
            } else if pool.len() + lens.len() < POOL_BLOCKS && bytes + len <= POOL_BYTES {
                lens.push(len);
                bytes += len;
            }
        }
        lens
    };
    if lens.is_empty() {
        return Prefault(None);
    }
    let job = Arc::new(Job {
        stage: Mutex::new(Stage::Pending),
        changed: Condvar::new(),
    });
    let worker = job.clone();
    rayon::spawn(move || {
        if !worker.advance(Stage::Pending, Stage::Running) {
            return; // cancelled by `wait` before a worker got to it
        }
        for len in lens {
            if let Some(addr) = map(len) {
                touch(addr, len);
                // Dropping it puts it in the pool.
                drop(Pages {
                    ptr: NonNull::new(addr as *mut u8).expect("mmap gives non-null addresses"),
                    len,
                });
            }
        }
        worker.advance(Stage::Running, Stage::Done);
    });
    Prefault(Some(job))
}

/// A [`prefault`] under way.
#[derive(Debug)]
pub struct Prefault(Option<Arc<Job>>);

#[derive(Debug)]
struct Job {
    stage: Mutex<Stage>,
    changed: Condvar,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Pending,
    Running,
    Done,
    Cancelled,
}

impl Job {
    /// Move from `from` to `to`, waking waiters; false (and no change) if not at `from`.
    fn advance(&self, from: Stage, to: Stage) -> bool {
        let mut stage = self.stage.lock().unwrap_or_else(|e| e.into_inner());
        if *stage != from {
            return false;
        }
        *stage = to;
        self.changed.notify_all();
        true
    }
}

impl Prefault {
    /// Return when the buffers are in the pool. A job no worker has started yet (every worker
    /// busy, or this thread itself the only worker) is cancelled instead of waited for, so
    /// this never blocks on work that cannot run; the call then faults its outputs in itself.
    pub fn wait(self) {
        let Some(job) = self.0 else { return };
        if job.advance(Stage::Pending, Stage::Cancelled) {
            return;
        }
        let mut stage = job.stage.lock().unwrap_or_else(|e| e.into_inner());
        while *stage == Stage::Running {
            stage = job.changed.wait(stage).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Make the kernel back every page of the fresh mapping at `addr` with memory.
fn touch(addr: usize, len: usize) {
    for page in (0..len).step_by(PAGE) {
        // SAFETY: inside a fresh mapping this module made, whose bytes are zeros; writing a
        // zero keeps them so.
        unsafe { std::ptr::write_volatile((addr + page) as *mut u8, 0) };
    }
}

/// A fresh anonymous read-write mapping of `len` bytes.
#[cfg(target_os = "linux")]
fn map(len: usize) -> Option<usize> {
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
    // existing memory; the result is checked for failure before use.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    (raw != libc::MAP_FAILED).then_some(raw as usize)
}

#[cfg(not(target_os = "linux"))]
fn map(_len: usize) -> Option<usize> {
    None
}

/// Unmap `len` bytes at `addr`, a mapping `map` made that nothing refers to any more.
#[cfg(target_os = "linux")]
fn unmap(addr: usize, len: usize) {
    // SAFETY: the range was mapped by `map` and is owned by the caller, who drops every
    // reference into it with this call.
    unsafe { libc::munmap(addr as *mut libc::c_void, len) };
}

#[cfg(not(target_os = "linux"))]
fn unmap(_addr: usize, _len: usize) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The lengths of the pooled buffers.
    fn pooled() -> Vec<usize> {
        pool().iter().map(|&(_, l)| l).collect()
    }

    // Each test uses sizes no other test does, so the pool entries it looks at are its own.
    // The prefault tests take turns: one of them keeps every worker busy.
    static WORKERS: Mutex<()> = Mutex::new(());

    /// `prefault(sizes)`, waited for once a worker has started it (a test's `wait` would
    /// otherwise often come first and cancel it).
    fn prefault_started(sizes: &[usize]) {
        let p = prefault(sizes);
        if let Some(job) = &p.0 {
            while *job.stage.lock().unwrap() == Stage::Pending {
                std::thread::yield_now();
            }
        }
        p.wait();
    }

    #[test]
    fn buffers_are_page_aligned_writable_and_reused_after_drop() {
        assert!(Pages::new(MIN_BYTES - 1).is_none());
        let bytes = (6 << 20) + 1;
        let mut p = Pages::new(bytes).expect("mapping");
        assert_eq!(p.len(), (6 << 20) + PAGE);
        assert_eq!(p.as_ptr() as usize % PAGE, 0);
        // SAFETY: writes inside the mapping's `len` bytes.
        unsafe {
            p.as_mut_ptr().write(7);
            p.as_mut_ptr().add(bytes - 1).write(9);
        }
        let addr = p.as_ptr() as usize;
        drop(p);
        let q = Pages::new(bytes).expect("pooled mapping");
        assert_eq!(q.as_ptr() as usize, addr, "the pooled mapping is reused");
        // SAFETY: a read inside the mapping, which keeps what the last user wrote.
        assert_eq!(unsafe { q.as_ptr().add(bytes - 1).read() }, 9);
    }

    #[test]
    fn prefault_leaves_one_buffer_per_size_in_the_pool_and_skips_pooled_ones() {
        let _turn = WORKERS.lock().unwrap_or_else(|e| e.into_inner());
        let (a, b) = (5 << 20, 7 << 20);
        prefault_started(&[a, b, 100]);
        let count = |len: usize| pooled().iter().filter(|&&l| l == len).count();
        assert_eq!((count(a), count(b)), (1, 1));
        // Both are pooled already: nothing new is mapped.
        prefault_started(&[a, b]);
        assert_eq!((count(a), count(b)), (1, 1));
        let p = Pages::new(a).expect("pooled mapping");
        assert_eq!(count(a), 0);
        drop(p);
        assert_eq!(count(a), 1);
    }

    #[test]
    fn a_prefault_no_worker_starts_is_cancelled_not_waited_for() {
        // Every worker busy until the prefault has been waited for: `wait` must not block.
        let _turn = WORKERS.lock().unwrap_or_else(|e| e.into_inner());
        let workers = rayon::current_num_threads();
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let blocked = Arc::new(Mutex::new(blocked));
        let (started, all_started) = std::sync::mpsc::channel();
        for _ in 0..workers {
            let (blocked, started) = (blocked.clone(), started.clone());
            rayon::spawn(move || {
                started.send(()).unwrap();
                let _ = blocked.lock().unwrap().recv();
            });
        }
        for _ in 0..workers {
            all_started.recv().unwrap();
        }
        prefault(&[9 << 20]).wait();
        for _ in 0..workers {
            release.send(()).unwrap();
        }
        assert!(
            !pooled().contains(&(9 << 20)),
            "the cancelled job mapped nothing"
        );
    }
}
