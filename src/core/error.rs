//! The one error type. Messages follow JAX's wording and name the operation, shapes and dtypes.

/// Every fallible cranax call returns `Result<T>`; operator overloads and the `numpy` functions
/// panic with the same `Error` as payload, and the transformations turn such a panic from inside
/// a traced function back into `Err`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
/// What can go wrong: each variant's message names the operation, the shapes and the dtypes, in JAX's words.
pub enum Error {
    /// Shapes or dtypes that an operation cannot take:
    /// `add got incompatible shapes for broadcasting: (3,), (4,)`.
    #[error("{0}")]
    Type(String),
    /// A value out of an operation's domain (an axis out of range, a negative size).
    #[error("{0}")]
    Value(String),
    /// A tracer used after the transformation that made it ended.
    #[error("Encountered an unexpected tracer: a value from a transformation that has already ended ({0}) was used. Return it from the transformed function instead of keeping it (an escaped tracer).")]
    EscapedTracer(String),
    /// A value-dependent operation (reading an element, Python-style `if`) on a traced value.
    #[error("Abstract tracer value encountered where a concrete value is expected: {0}")]
    Concretization(String),
    /// The JIT could not compile or call a function.
    #[error("jit: {0}")]
    Jit(String),
    /// `check_grads` found a mismatch.
    #[error("{0}")]
    GradCheck(String),
}

impl Error {
    /// A `TypeError` with this message (as JAX raises for wrong dtypes or shapes).
    pub fn type_err(msg: impl Into<String>) -> Error {
        Error::Type(msg.into())
    }
    /// A `ValueError` with this message (as JAX raises for bad values of parameters).
    pub fn value_err(msg: impl Into<String>) -> Error {
        Error::Value(msg.into())
    }
}

/// `(3, 4)`, `(5,)`, `()`: shapes as JAX prints them in messages.
pub fn shape_str(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Raise an error from inside an infallible API (an operator, a `numpy` function): the
/// transformations catch it and return it as `Err`. With no transformation (no `catch`) to
/// return it, it is an ordinary panic with the message as its payload, so the default hook
/// prints it and `#[should_panic(expected = "...")]` matches it.
#[track_caller]
pub fn raise(err: Error) -> ! {
    if CATCH_DEPTH.get() == 0 {
        panic!("{err}");
    }
    install_quiet_panic_hook();
    std::panic::panic_any(err)
}

/// Unwrap a `Result` inside an infallible API, raising its error.
#[track_caller]
pub fn or_raise<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => raise(e),
    }
}

/// Run `f`, turning a raised cranax `Error` back into `Err` (other panics continue).
///
/// # Errors
/// The `Err` `f` returns, or the `Error` raised inside it.
pub fn catch<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    install_quiet_panic_hook();
    let _frame = CatchFrame::enter();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => match payload.downcast::<Error>() {
            Ok(e) => Err(*e),
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

thread_local! {
    /// How many `catch` frames are active on this thread: a raised `Error` inside one is
    /// returned as `Err`, so the panic hook stays quiet about it.
    static CATCH_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A panic hook that prints nothing for a cranax `Error` that a transformation will return as
/// `Err`, and defers to the previous hook for everything else (so an uncaught error still
/// prints its message).
fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Error>().is_some() && CATCH_DEPTH.get() > 0 {
                return;
            }
            if let Some(e) = info.payload().downcast_ref::<Error>() {
                eprintln!("cranax error: {e}");
            }
            previous(info)
        }));
    });
}

/// Counts a `catch` frame for the panic hook (used by `catch`).
pub(crate) struct CatchFrame;
impl CatchFrame {
    pub(crate) fn enter() -> CatchFrame {
        CATCH_DEPTH.set(CATCH_DEPTH.get() + 1);
        CatchFrame
    }
}
impl Drop for CatchFrame {
    fn drop(&mut self) {
        CATCH_DEPTH.set(CATCH_DEPTH.get() - 1);
    }
}
