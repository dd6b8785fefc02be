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
//!   concurrently with a compile slowed the compile by as much as it saved): in 4 KiB pages a
//!   4 MB output still costs ~1.6 ms of faults against a ~0.5 ms compile (huge pages, below,
//!   bring that to 0.2-0.5 ms).
//! - a dropped buffer goes back to the pool (unless it already holds [`POOL_BLOCKS`] buffers
//!   or [`POOL_BYTES`] bytes), and [`Pages::new`] takes a pooled buffer of exactly the mapped
//!   length it needs, so the second call runs with no faults too (glibc's heap gave the
//!   second call of a 4 MB output fresh pages again: its first free only raises the `mmap`
//!   threshold).
//!
//! Huge pages: [`prefault`] asks for transparent huge pages (2 MiB: one fault instead of 512)
//! and times each one's first touch. Measured on these VMs (Firecracker, with the balloon's
//! free page reporting), a 2 MiB page faults in 0.07-0.2 ms when the host still backs its
//! memory (a 4 MB output in 0.2-0.5 ms, hidden behind the compile) but in 4.4 ms when the
//! host has reclaimed it, about one run in ten. So the first huge page slower than 1 ms turns
//! the advice off for the process: a process pays that at most once. Buffers mapped outside
//! `prefault` (by the call itself) are not advised (the system's default applies).
//!
//! Off Linux, [`Pages::new`] returns `None` and callers use the heap. [`release_pool`]
//! unmaps what the pool holds.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Whether a pool of `blocks` buffers holding `bytes` has room for one more of `len` bytes.
fn has_room(blocks: usize, bytes: usize, len: usize) -> bool {
    blocks < POOL_BLOCKS && bytes + len <= POOL_BYTES
}

/// The huge-page size mappings are aligned to (when at least this long).
const HUGE: usize = 2 << 20;

/// A huge-page fault slower than this means the host had reclaimed the page's memory.
const SLOW_HUGE_FAULT: std::time::Duration = std::time::Duration::from_micros(1000);

/// Whether [`prefault`] still asks for huge pages (until one faults in slowly).
static HUGE_PAGES: AtomicBool = AtomicBool::new(true);

/// The mapped length for a buffer of `bytes`: whole 2 MiB pages when that wastes at most an
/// eighth (pages past `bytes` are never touched, so cost no memory), else whole 4 KiB pages.
fn mapped_len(bytes: usize) -> usize {
    let huge = bytes.div_ceil(HUGE) * HUGE;
    if huge - bytes <= bytes / 8 {
        huge
    } else {
        bytes.div_ceil(PAGE) * PAGE
    }
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
        if has_room(pool.len(), held, self.len) {
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
            } else if has_room(pool.len() + lens.len(), bytes, len) {
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
///
/// While [`HUGE_PAGES`] holds, the mapping is first advised for transparent huge pages (its
/// 2 MiB-aligned whole pages then take one fault each instead of 512), and each huge page's
/// first touch is timed: one slower than [`SLOW_HUGE_FAULT`] turns the advice off, for the rest
/// of this mapping and for the process.
fn touch(addr: usize, len: usize) {
    if HUGE_PAGES.load(Ordering::Relaxed) && len >= HUGE {
        advise(addr, len, true);
        for huge in (0..len - len % HUGE).step_by(HUGE) {
            let start = std::time::Instant::now();
            // SAFETY: as below.
            unsafe { std::ptr::write_volatile((addr + huge) as *mut u8, 0) };
            if start.elapsed() > SLOW_HUGE_FAULT {
                HUGE_PAGES.store(false, Ordering::Relaxed);
                advise(addr + huge + HUGE, len - huge - HUGE, false);
                break;
            }
        }
    }
    for page in (0..len).step_by(PAGE) {
        // SAFETY: inside a fresh mapping this module made, whose bytes are zeros; writing a
        // zero keeps them so.
        unsafe { std::ptr::write_volatile((addr + page) as *mut u8, 0) };
    }
}

/// A fresh anonymous read-write mapping of `len` bytes, aligned to 2 MiB when `len` is a
/// multiple of 2 MiB (so huge pages can back it).
#[cfg(target_os = "linux")]
fn map(len: usize) -> Option<usize> {
    let align = if len.is_multiple_of(HUGE) { HUGE } else { PAGE };
    let span = len + align - PAGE;
    // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
    // existing memory; the result is checked for failure before use.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return None;
    }
    let raw = raw as usize;
    let start = raw.next_multiple_of(align);
    // The unaligned head and the tail past `len`, both inside the span just mapped.
    if start > raw {
        unmap(raw, start - raw);
    }
    if raw + span > start + len {
        unmap(start + len, raw + span - (start + len));
    }
    Some(start)
}

/// Ask for transparent huge pages on a range of a mapping this module made (or, `!huge`,
/// for none). Advice only: where huge pages are off or unavailable nothing changes.
#[cfg(target_os = "linux")]
fn advise(addr: usize, len: usize, huge: bool) {
    let advice = if huge {
        libc::MADV_HUGEPAGE
    } else {
        libc::MADV_NOHUGEPAGE
    };
    if len > 0 {
        // SAFETY: advice on a range this module mapped; it changes how pages are backed, not
        // their contents.
        unsafe { libc::madvise(addr as *mut libc::c_void, len, advice) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_addr: usize, _len: usize, _huge: bool) {}

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
    fn lengths_round_to_huge_pages_unless_that_wastes_more_than_an_eighth() {
        assert_eq!(mapped_len(4_000_000), 4 << 20);
        assert_eq!(mapped_len(2 << 20), 2 << 20);
        assert_eq!(mapped_len((2 << 20) + 1), (2 << 20) + PAGE);
        let p = Pages::new(4_000_000).expect("mapping");
        assert_eq!(
            p.as_ptr() as usize % HUGE,
            0,
            "a whole-huge-page mapping is aligned"
        );
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
