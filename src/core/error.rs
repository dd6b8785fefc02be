//! The one error type. Messages follow JAX's wording and name the operation, shapes and dtypes.

/// Every fallible cranax call returns `Result<T>`; operator overloads and the `numpy` functions
/// panic with the same error's message ([`raise`]), and the transformations turn such a panic
/// from inside a traced function back into the `Err` ([`catch`]).
pub type Result<T, E = Error> = std::result::Result<T, E>;

use crate::core::aval::Aval;
use crate::dtype::DType;

/// What went wrong. Messages follow JAX's wording; the structured variants also carry the
/// operation, shapes and dtypes as fields, for code that handles errors rather than prints
/// them ([`Error::op`], [`Error::shapes`], [`Error::dtypes`]). New variants may be added
/// (`#[non_exhaustive]`): match with a wildcard arm, or use [`Error::is_type_error`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
/// What can go wrong: each variant's message names the operation, the shapes and the dtypes, in JAX's words.
#[non_exhaustive]
pub enum Error {
    /// Shapes or dtypes that an operation cannot take, where no structured variant below
    /// applies (JAX's `TypeError`).
    #[error("{0}")]
    Type(String),
    /// A value out of an operation's domain (an axis out of range, a negative size), or a file
    /// that cannot be read (JAX's `ValueError`).
    #[error("{0}")]
    Value(String),
    /// Elementwise operands whose shapes do not broadcast together:
    /// `add got incompatible shapes for broadcasting: (3,), (4,)`.
    #[error(
        "{op} got incompatible shapes for broadcasting: {}",
        shape_list(shapes)
    )]
    IncompatibleShapes {
        /// The operation (`add`, `mul`, ...).
        op: String,
        /// Every operand's shape, in order.
        shapes: Vec<Vec<usize>>,
    },
    /// Operands whose dtypes must agree and do not:
    /// `add requires arguments to have the same dtypes, got float32, int32.`
    #[error(
        "{op} requires arguments to have the same dtypes, got {}.",
        dtype_list(dtypes)
    )]
    DTypeMismatch {
        /// The operation.
        op: String,
        /// Every operand's dtype, in order.
        dtypes: Vec<DType>,
    },
    /// An operand of a dtype the operation does not accept:
    /// `exp does not accept dtype int32. Accepted dtypes are floating.`
    #[error("{op} does not accept dtype {}.{}", dtype.numpy_name(),
        accepted.map(|a| format!(" Accepted dtypes are {a}.")).unwrap_or_default())]
    UnsupportedDType {
        /// The operation.
        op: String,
        /// The operand's dtype.
        dtype: DType,
        /// The kinds of dtype it takes (`floating`, `integer`, ...), where JAX's message says.
        accepted: Option<&'static str>,
    },
    /// Operands an operation cannot take for a reason of its own (`dot_general`'s dimension
    /// numbers, `reshape`'s sizes, `broadcast_in_dim`'s dimensions): the operation, the
    /// operands' shapes and dtypes, and JAX's message.
    #[error("{message}")]
    InvalidOperands {
        /// The operation.
        op: String,
        /// Every operand's shape, in order.
        shapes: Vec<Vec<usize>>,
        /// Every operand's dtype, in order.
        dtypes: Vec<DType>,
        /// The whole message.
        message: String,
    },
    /// Arguments of a compiled function (`Compiled::call`, `Compiled::call_into`) that are not
    /// of the types it was compiled for: "Argument types differ from the types for which this
    /// computation was compiled".
    #[error("{message}")]
    ArgumentTypes {
        /// `call` or `call_into`.
        op: String,
        /// Each mismatched argument: its name (`args[0]`, `input 1`), the shape and dtype it
        /// was compiled for, and the shape and dtype it got (a slice without a shape as
        /// `[len]`).
        mismatches: Vec<ArgumentMismatch>,
        /// The whole message.
        message: String,
    },
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

/// One argument of an [`Error::ArgumentTypes`].
#[derive(Clone, Debug, PartialEq)]
pub struct ArgumentMismatch {
    /// `args[0]`, `args[1][2]` (a pytree leaf), `input 0`, `output 1`.
    pub name: String,
    /// The shape and dtype compiled for.
    pub expected: (Vec<usize>, DType),
    /// The shape and dtype given.
    pub got: (Vec<usize>, DType),
}

fn shape_list(shapes: &[Vec<usize>]) -> String {
    let all: Vec<String> = shapes.iter().map(|s| shape_str(s)).collect();
    all.join(", ")
}

fn dtype_list(dtypes: &[DType]) -> String {
    let all: Vec<&str> = dtypes.iter().map(|d| d.numpy_name()).collect();
    all.join(", ")
}

impl Error {
    /// An [`Error::Type`] with `msg`.
    pub fn type_err(msg: impl Into<String>) -> Error {
        Error::Type(msg.into())
    }

    /// An [`Error::Value`] with `msg`.
    pub fn value_err(msg: impl Into<String>) -> Error {
        Error::Value(msg.into())
    }

    /// An [`Error::IncompatibleShapes`].
    pub fn incompatible_shapes<'a>(
        op: &str,
        shapes: impl IntoIterator<Item = &'a [usize]>,
    ) -> Error {
        Error::IncompatibleShapes {
            op: op.into(),
            shapes: shapes.into_iter().map(<[usize]>::to_vec).collect(),
        }
    }

    /// An [`Error::InvalidOperands`] for operands of types `avals`.
    pub fn invalid_operands(op: &str, avals: &[&Aval], message: impl Into<String>) -> Error {
        Error::InvalidOperands {
            op: op.into(),
            shapes: avals.iter().map(|a| a.shape.clone()).collect(),
            dtypes: avals.iter().map(|a| a.dtype).collect(),
            message: message.into(),
        }
    }

    /// The operation a structured error is about.
    pub fn op(&self) -> Option<&str> {
        match self {
            Error::IncompatibleShapes { op, .. }
            | Error::DTypeMismatch { op, .. }
            | Error::UnsupportedDType { op, .. }
            | Error::InvalidOperands { op, .. }
            | Error::ArgumentTypes { op, .. } => Some(op),
            _ => None,
        }
    }

    /// The operands' shapes a structured error names (empty for the others); for
    /// [`Error::ArgumentTypes`], the shapes given.
    pub fn shapes(&self) -> Vec<&[usize]> {
        match self {
            Error::IncompatibleShapes { shapes, .. } | Error::InvalidOperands { shapes, .. } => {
                shapes.iter().map(Vec::as_slice).collect()
            }
            Error::ArgumentTypes { mismatches, .. } => {
                mismatches.iter().map(|m| m.got.0.as_slice()).collect()
            }
            _ => vec![],
        }
    }

    /// The operands' dtypes a structured error names (empty for the others); for
    /// [`Error::ArgumentTypes`], the dtypes given.
    pub fn dtypes(&self) -> Vec<DType> {
        match self {
            Error::DTypeMismatch { dtypes, .. } | Error::InvalidOperands { dtypes, .. } => {
                dtypes.clone()
            }
            Error::UnsupportedDType { dtype, .. } => vec![*dtype],
            Error::ArgumentTypes { mismatches, .. } => mismatches.iter().map(|m| m.got.1).collect(),
            _ => vec![],
        }
    }

    /// Whether JAX raises this as a `TypeError` (operands of the wrong shapes or dtypes,
    /// arguments of the wrong types), as opposed to a `ValueError`, a tracer error, a JIT
    /// failure or a gradient-check mismatch.
    pub fn is_type_error(&self) -> bool {
        matches!(
            self,
            Error::Type(_)
                | Error::IncompatibleShapes { .. }
                | Error::DTypeMismatch { .. }
                | Error::UnsupportedDType { .. }
                | Error::InvalidOperands { .. }
                | Error::ArgumentTypes { .. }
        )
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

/// Raise an error from inside an infallible API (an operator, a `numpy` function).
///
/// This panics, with the error's message as the panic's payload (a `String`), so the panic
/// hook prints the message and `#[should_panic(expected = "...")]` matches it. Inside a
/// transformation (a [`catch`] frame on this thread) the error itself is kept aside first, and
/// `catch` returns it as `Err`. The process's panic hook still runs for such a caught panic:
/// cranax installs no hook of its own unless asked ([`install_quiet_panic_hook`]). With
/// `panic = "abort"` the process aborts here instead; the `Result`-returning API never comes
/// here (README, "Errors").
#[track_caller]
pub fn raise(err: Error) -> ! {
    let message = err.to_string();
    if CATCH_DEPTH.get() > 0 {
        RAISED.set(Some((err, message.clone())));
    }
    std::panic::panic_any(message)
}

/// Unwrap a `Result` inside an infallible API, raising its error.
#[track_caller]
pub fn or_raise<T>(r: Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => raise(e),
    }
}

/// Run `f`, turning an error [`raise`]d inside it back into `Err` (other panics continue).
/// This is the one place cranax catches an unwinding panic.
pub fn catch<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let _frame = CatchFrame::enter();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => match raised_error(payload.as_ref()) {
            Some(e) => Err(e),
            None => std::panic::resume_unwind(payload),
        },
    }
}

/// The error `raise` kept aside, if `payload` is the panic it raised with it.
fn raised_error(payload: &(dyn std::any::Any + Send)) -> Option<Error> {
    let (err, message) = RAISED.take()?;
    (payload.downcast_ref::<String>() == Some(&message)).then_some(err)
}

thread_local! {
    /// How many `catch` frames are active on this thread: a raised `Error` inside one is
    /// returned as `Err`.
    static CATCH_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The error being raised on this thread (and its message, the panic's payload), for the
    /// innermost `catch` to return.
    static RAISED: std::cell::Cell<Option<(Error, String)>> = const { std::cell::Cell::new(None) };
}

/// Opt in to silence: install a panic hook that prints nothing for an error that a
/// transformation is about to return as `Err` (an operator or `numpy` function raising inside
/// `grad`, `jit`, `vmap`, ...), and calls the hook that was installed before it for every
/// other panic. cranax never installs it by itself; call it once, at start-up, after any hook
/// of your own (it wraps whichever hook is current). Calling it again does nothing.
pub fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let caught = CATCH_DEPTH.get() > 0 && {
                let pending = RAISED.take();
                let ours = pending.as_ref().map(|(_, m)| m) == info.payload().downcast_ref();
                RAISED.set(pending);
                ours
            };
            if !caught {
                previous(info)
            }
        }));
    });
}

/// Counts a `catch` frame (used by `catch`).
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
