//! Observability: what cranax compiles, why, and how long each stage took, as records of the
//! [`log`] facade (so any logger sees them: `env_logger`, a `tracing` subscriber through
//! `tracing-log`, a test's own), and every compiled program dumped to a directory on request.
//!
//! # Records
//!
//! - Target [`COMPILE_TARGET`] (`cranax::compile`): one record per compilation (a `jit`ted
//!   function meeting a new signature, a top-level `pjit`, [`Lowered::compile`]) with the
//!   function's name, its signature, the time of each stage and what came out:
//!
//!   ```text
//!   compiled `scale` for (f32[3]) in 1.446 ms: tracing and transformations 0.176 ms, graph
//!   rewrites 0.058 ms, lowering 0.403 ms, Cranelift 0.810 ms; 1 kernels, 480 bytes of code
//!   ```
//!
//!   The transformations (`grad`, `vmap`, ...) run as interpreters while the function is
//!   traced, so tracing and transforming are one interleaved pass and one figure (as JAX's
//!   "Finished tracing + transforming"); the graph rewrites are the backend's passes over the
//!   traced program (inlining, simplification, common subexpressions, dead code), lowering is
//!   the fusion plan and the Cranelift IR, Cranelift its optimisation, register allocation
//!   and code emission.
//! - Target [`CACHE_MISS_TARGET`] (`cranax::cache_miss`): why a jitted call missed the cache,
//!   as JAX's `explain_cache_misses`: the function was never compiled, or how its signature
//!   differs from the nearest cached one, argument by argument (shape, dtype, weak type, a
//!   [`Static`](crate::Static) value, the pytree structure).
//!
//! Both are `debug` records; with compile logging on ([`set_log_compiles`], or
//! `CRANAX_LOG_COMPILES=1` in the environment) they are `warn` records, as JAX's
//! `jax_log_compiles` raises them to `WARNING`, and when no logger takes them they are
//! printed to stderr: `CRANAX_LOG_COMPILES=1` works in a program with no logger at all.
//!
//! # Dumps
//!
//! With a dump directory ([`set_dump_dir`], or `CRANAX_DUMP_DIR=dir`), each compilation writes
//! one set of files named `<pid>-<seq>-<name>` (the process id, a per-process sequence number
//! and the function's name): `.jaxpr` (the traced program), `.clif` (the Cranelift IR),
//! `.bin` (the machine code: `objdump -D -b binary -mi386:x86-64 FILE`), `.asm` (Cranelift's
//! listing of that code) and `.txt` (the compile record and the fusion plan). A directory that
//! cannot be written is reported as a `warn` record; the compilation itself goes on.
//!
//! [`Lowered::compile`]: crate::api::stages::Lowered::compile

use crate::backend::Executable;
use crate::core::aval::Aval;
use crate::ir::ClosedJaxpr;
use log::Level;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// The `log` target of compile records.
pub const COMPILE_TARGET: &str = "cranax::compile";

/// The `log` target of cache-miss explanations.
pub const CACHE_MISS_TARGET: &str = "cranax::cache_miss";

/// Compile logging: 0 while the environment has not been read, then 1 (off) or 2 (on).
static LOG_COMPILES: AtomicU8 = AtomicU8::new(0);

/// The dump directory: `None` while the environment has not been read.
static DUMP_DIR: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);

/// Compilations dumped so far in this process (the `<seq>` of the file names).
static DUMPS: AtomicU64 = AtomicU64::new(0);

/// Whether an environment variable is set to something other than empty or `0`.
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Turn compile logging on or off for the whole process (overriding `CRANAX_LOG_COMPILES`):
/// compile and cache-miss records become `warn` records, printed to stderr when no logger
/// takes them.
pub fn set_log_compiles(on: bool) {
    LOG_COMPILES.store(if on { 2 } else { 1 }, Ordering::Relaxed);
}

/// Whether compile logging is on ([`set_log_compiles`], else `CRANAX_LOG_COMPILES`).
pub fn log_compiles() -> bool {
    match LOG_COMPILES.load(Ordering::Relaxed) {
        0 => {
            let on = env_flag("CRANAX_LOG_COMPILES");
            // A concurrent `set_log_compiles` wins over the environment.
            let _ = LOG_COMPILES.compare_exchange(
                0,
                if on { 2 } else { 1 },
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            LOG_COMPILES.load(Ordering::Relaxed) == 2
        }
        v => v == 2,
    }
}

/// Dump every later compilation into `dir` (created if missing), or stop dumping with `None`;
/// overrides `CRANAX_DUMP_DIR`.
pub fn set_dump_dir(dir: Option<impl AsRef<Path>>) {
    let dir = dir.map(|d| d.as_ref().to_path_buf());
    *DUMP_DIR.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir);
}

/// The directory compilations are dumped into, if any ([`set_dump_dir`], else
/// `CRANAX_DUMP_DIR`).
pub fn dump_dir() -> Option<PathBuf> {
    let mut dir = DUMP_DIR.lock().unwrap_or_else(|e| e.into_inner());
    dir.get_or_insert_with(|| {
        std::env::var_os("CRANAX_DUMP_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    })
    .clone()
}

/// The level of compile and cache-miss records.
fn level() -> Level {
    if log_compiles() {
        Level::Warn
    } else {
        Level::Debug
    }
}

/// Whether a record for `target` would go anywhere (a logger, or stderr).
fn wanted(target: &str) -> bool {
    log_compiles() || log::log_enabled!(target: target, level())
}

/// Give `msg` to the logger, or print it to stderr when compile logging is on and no logger
/// takes it.
fn emit(target: &str, msg: &str) {
    let level = level();
    if log::log_enabled!(target: target, level) {
        log::log!(target: target, level, "{msg}");
    } else if level == Level::Warn {
        eprintln!("cranax: {msg}");
    }
}

/// Milliseconds, for messages.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One compilation, as the API layer saw it.
pub(crate) struct CompileEvent<'a> {
    /// The function's name (`Function::name`, `pjit`'s `name` parameter).
    pub name: &'a str,
    /// The input types, as printed in the record.
    pub signature: &'a str,
    pub jaxpr: &'a ClosedJaxpr,
    pub exe: &'a Executable,
    /// Tracing (with the transformations), when this compilation traced.
    pub trace: Option<Duration>,
}

impl CompileEvent<'_> {
    fn message(&self) -> String {
        let e = self.exe;
        let trace = self.trace.unwrap_or_default();
        let mut m = format!(
            "compiled `{}` for {} in {:.3} ms: ",
            self.name,
            self.signature,
            ms(trace + e.compile_time())
        );
        if let Some(t) = self.trace {
            let _ = write!(m, "tracing and transformations {:.3} ms, ", ms(t));
        }
        let lower = e
            .compile_time()
            .saturating_sub(e.cranelift_time() + e.rewrite_time);
        let _ = write!(
            m,
            "graph rewrites {:.3} ms, lowering {:.3} ms, Cranelift {:.3} ms; {} kernels, {} \
             bytes of code",
            ms(e.rewrite_time),
            ms(lower),
            ms(e.cranelift_time()),
            e.num_kernels(),
            e.machine_code().len()
        );
        m
    }
}

/// Report a compilation: the compile record, and the dump when a directory is set.
pub(crate) fn compiled(ev: &CompileEvent<'_>) {
    let dir = dump_dir();
    if dir.is_none() && !wanted(COMPILE_TARGET) {
        return;
    }
    let mut msg = ev.message();
    if let Some(dir) = dir {
        match dump(&dir, ev, &msg) {
            Ok(stem) => {
                let _ = write!(msg, "; dumped to {}.*", stem.display());
            }
            Err(e) => log::warn!(
                target: COMPILE_TARGET,
                "could not dump `{}` into {}: {e}",
                ev.name,
                dir.display()
            ),
        }
    }
    emit(COMPILE_TARGET, &msg);
}

/// Whether compilations should keep Cranelift's listing (for the `.asm` dump).
pub(crate) fn dumping() -> bool {
    dump_dir().is_some()
}

/// A function name as a file name: letters, digits and `_` kept, runs of others one `_`.
fn file_name(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            s.push(c);
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    let s = s.trim_matches('_');
    if s.is_empty() {
        "f".into()
    } else {
        s.into()
    }
}

/// Write one compilation's files into `dir`; their common path without extension.
fn dump(dir: &Path, ev: &CompileEvent<'_>, msg: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let seq = DUMPS.fetch_add(1, Ordering::Relaxed);
    let stem = dir.join(format!(
        "{}-{seq:04}-{}",
        std::process::id(),
        file_name(ev.name)
    ));
    let file = |ext: &str, bytes: &[u8]| std::fs::write(stem.with_extension(ext), bytes);
    file("jaxpr", format!("{}\n", ev.jaxpr).as_bytes())?;
    file("clif", ev.exe.clif_ir().as_bytes())?;
    file("bin", ev.exe.machine_code())?;
    if let Some(listing) = ev.exe.disassembly() {
        file("asm", listing.as_bytes())?;
    }
    let summary = format!("{msg}\n\nkernels:\n{}\n", ev.exe.kernels_summary());
    file("txt", summary.as_bytes())?;
    Ok(stem)
}

/// `args[i]` for a leaf that is a whole positional argument, `args[i][j]` for the `j`-th leaf
/// of one (`arg_leaves`: how many leaves each argument has).
pub(crate) fn leaf_path(arg_leaves: &[usize], leaf: usize) -> String {
    let mut start = 0;
    for (i, &n) in arg_leaves.iter().enumerate() {
        if leaf < start + n {
            return if n == 1 {
                format!("args[{i}]")
            } else {
                format!("args[{i}][{}]", leaf - start)
            };
        }
        start += n;
    }
    format!("leaf {leaf}")
}

/// The children of a tuple's treedef `(a,b,)`, or `None` for anything else.
fn tuple_children(treedef: &str) -> Option<Vec<&str>> {
    let inner = treedef.strip_prefix('(')?.strip_suffix(')')?;
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    (depth == 0 && start == inner.len()).then_some(parts)
}

/// A treedef with every static value removed (the contents of `Static(...)`, the hash of
/// `Static#...`): what fixes the leaves' order.
fn skeleton(treedef: &str) -> String {
    let mut hashless = String::new();
    let mut rest = treedef;
    while let Some(at) = rest.find("Static#") {
        hashless.push_str(&rest[..at + "Static#".len()]);
        rest = rest[at + "Static#".len()..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    hashless.push_str(rest);
    let mut out = String::new();
    let mut rest = hashless.as_str();
    while let Some(at) = rest.find("Static(") {
        out.push_str(&rest[..at + "Static(".len()]);
        rest = &rest[at + "Static(".len()..];
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(rest.len(), |(i, _)| i);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// How `(treedef, avals)` differs from a cached `(seen_treedef, seen_avals)`: one line per
/// difference (argument by argument), most informative first.
fn differences(
    treedef: &str,
    avals: &[Aval],
    seen_treedef: &str,
    seen_avals: &[Aval],
    arg_leaves: &[usize],
) -> Vec<String> {
    let mut out = Vec::new();
    if treedef != seen_treedef {
        match (tuple_children(treedef), tuple_children(seen_treedef)) {
            (Some(now), Some(seen)) if now.len() == seen.len() => {
                for (i, (n, s)) in now.iter().zip(&seen).enumerate() {
                    if n == s {
                        continue;
                    }
                    // `Static(..)` where the value is printed, `Static#hash` where it is not.
                    let what = if n.starts_with("Static") && s.starts_with("Static") {
                        "static value"
                    } else {
                        "pytree structure"
                    };
                    out.push(format!("args[{i}]: {what} seen {s}, but now given {n}"));
                }
            }
            _ => out.push(format!(
                "the arguments' pytree structure: seen {seen_treedef}, but now given {treedef}"
            )),
        }
        if skeleton(treedef) != skeleton(seen_treedef) || avals.len() != seen_avals.len() {
            // The leaves are not in correspondence: the structure is the whole story.
            return out;
        }
    }
    for (k, (now, seen)) in avals.iter().zip(seen_avals).enumerate() {
        if now == seen {
            continue;
        }
        let what = if now.dtype != seen.dtype {
            "dtype"
        } else if now.shape != seen.shape {
            "shape"
        } else {
            "weak type"
        };
        let weak = |a: &Aval| if a.weak_type { " (weak)" } else { "" };
        out.push(format!(
            "{}: {what} changed: seen {seen}{}, but now given {now}{}",
            leaf_path(arg_leaves, k),
            weak(seen),
            weak(now)
        ));
    }
    out
}

/// What the jit cache knew when a call missed it.
pub(crate) struct CacheMiss<'a> {
    pub name: &'a str,
    pub treedef: &'a str,
    pub avals: &'a [Aval],
    /// How many leaves each positional argument has.
    pub arg_leaves: &'a [usize],
    /// The cached signatures: treedef and leaf types.
    pub seen: Vec<(&'a str, &'a [Aval])>,
    pub evictions: u64,
    pub capacity: usize,
}

/// Whether a cache miss would be reported (so the caller gathers a [`CacheMiss`] only then).
pub(crate) fn explaining_cache_misses() -> bool {
    wanted(CACHE_MISS_TARGET)
}

/// Explain a cache miss against the nearest cached signature, as JAX's
/// `explain_cache_misses`.
pub(crate) fn cache_miss(m: &CacheMiss<'_>) {
    let sig: Vec<String> = m.avals.iter().map(|a| a.to_string()).collect();
    let mut msg = format!("cache miss for `{}` at ({}): ", m.name, sig.join(", "));
    let nearest = m
        .seen
        .iter()
        .map(|(t, a)| differences(m.treedef, m.avals, t, a, m.arg_leaves))
        .min_by_key(|d| d.len());
    match nearest {
        None => msg.push_str("never seen the function (its first compilation)"),
        Some(diffs) => {
            let _ = write!(
                msg,
                "the closest of {} cached signatures has {} mismatch{}:",
                m.seen.len(),
                diffs.len(),
                if diffs.len() == 1 { "" } else { "es" }
            );
            for d in diffs.iter().take(8) {
                let _ = write!(msg, "\n  * {d}");
            }
            if diffs.len() > 8 {
                let _ = write!(msg, "\n  * ... and {} more", diffs.len() - 8);
            }
        }
    }
    if m.evictions > 0 {
        let _ = write!(
            msg,
            "\n  ({} signatures evicted so far: the cache keeps {}; `Jit::with_capacity` \
             raises it)",
            m.evictions, m.capacity
        );
    }
    emit(CACHE_MISS_TARGET, &msg);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    #[test]
    fn tuple_children_split_at_the_top_level_only() {
        assert_eq!(
            tuple_children("(*,[*,*,],Static((1, 2)),)"),
            Some(vec!["*", "[*,*,]", "Static((1, 2))"])
        );
        assert_eq!(tuple_children("[*,]"), None);
    }

    #[test]
    fn skeletons_drop_static_values() {
        assert_eq!(skeleton("(*,Static(Some((3, [1]))),*,)"), "(*,Static(),*,)");
        assert_eq!(skeleton("(*,Static#832248a1628a3df2,*,)"), "(*,Static#,*,)");
    }

    #[test]
    fn differences_name_the_argument_and_what_changed() {
        let f32_3 = Aval::new([3], DType::F32);
        let d = differences(
            "(*,Static(2),)",
            &[Aval::new([4], DType::F32)],
            "(*,Static(1),)",
            std::slice::from_ref(&f32_3),
            &[1, 0],
        );
        assert_eq!(
            d,
            [
                "args[1]: static value seen Static(1), but now given Static(2)",
                "args[0]: shape changed: seen f32[3], but now given f32[4]"
            ]
        );
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_name("<lambda>"), "lambda");
        assert_eq!(file_name("jvp(my fn)"), "jvp_my_fn");
        assert_eq!(file_name("<>"), "f");
    }
}
