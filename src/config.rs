//! Global switches that change what a traced program computes: JAX's `jax.config` flags that are
//! part of its jit cache key. Each is process-wide (as JAX's are) and read at trace time; the
//! `jit` cache keys compiled code by [`trace_context`], so flipping a switch retraces.

use std::sync::atomic::{AtomicBool, Ordering};

static THREEFRY_PARTITIONABLE: AtomicBool = AtomicBool::new(false);

/// JAX's `jax_threefry_partitionable`: whether `random` draws its bits with the partitionable
/// threefry scheme (one hash per element of a 64-bit counter, its two words combined), JAX
/// 0.10's default, instead of the original one (a hash of pairs of a flat 32-bit iota), which
/// is cranax's default because the seed notebook's numbers were drawn with it.
pub fn threefry_partitionable() -> bool {
    THREEFRY_PARTITIONABLE.load(Ordering::Relaxed)
}

/// Set `jax_threefry_partitionable` (`jax.config.update("jax_threefry_partitionable", on)`);
/// returns the previous value. Set it before tracing: functions already compiled for the other
/// setting are recompiled on their next call.
pub fn set_threefry_partitionable(on: bool) -> bool {
    THREEFRY_PARTITIONABLE.swap(on, Ordering::Relaxed)
}

/// The switches as one value, for the jit cache key.
pub fn trace_context() -> u32 {
    threefry_partitionable() as u32
}
