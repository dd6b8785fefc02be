//! The examples' size switch: `--small` or `CRANAX_EXAMPLE_SMALL` set (not `0`) runs the
//! few-iteration size that tests/examples.rs runs.

/// Whether the small size was asked for.
pub fn small_from_env() -> bool {
    std::env::args().any(|a| a == "--small")
        || std::env::var("CRANAX_EXAMPLE_SMALL").is_ok_and(|v| !v.is_empty() && v != "0")
}
