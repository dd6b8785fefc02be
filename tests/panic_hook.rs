//! cranax and the process's panic hook, in a test binary of its own (the hook is process-wide):
//!
//! 1. cranax installs no hook: an application's own hook is still the one installed after
//!    cranax has raised and caught errors, and it sees every panic.
//! 2. The `Result`-returning API reaches no panic on bad input (the hook, which runs before any
//!    unwinding and also under `panic = "abort"`, is never called), so a program built with
//!    `panic = "abort"` gets the same `Err`s.
//! 3. What does rely on unwinding: an operator or `numpy` function failing inside a traced
//!    closure (the panic is caught and returned as `Err`; under `panic = "abort"` it aborts).
//! 4. `install_quiet_panic_hook` (opt-in) silences exactly those caught panics and defers to
//!    the application's hook for everything else.
//!
//! One `#[test]`, so that the phases run in order on one thread.

use cranax::api::stages::{ArgView, OutView};
use cranax::numpy as jnp;
use cranax::prims::DotGeneral;
use cranax::{grad, io, jit, lax, make_jaxpr, vmap, Array, DType, Function, ShapeDtypeStruct};
use std::cell::Cell;
use std::sync::Mutex;

thread_local! {
    /// Panics the application's hook saw on this thread.
    static SEEN: Cell<usize> = const { Cell::new(0) };
}
/// The messages the application's hook saw (any thread).
static MESSAGES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn app_hook(info: &std::panic::PanicHookInfo<'_>) {
    SEEN.set(SEEN.get() + 1);
    let p = info.payload();
    let text = p
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    eprintln!("app hook: {text} at {:?}", info.location());
    MESSAGES.lock().unwrap().push(text);
}

fn f32s(shape: &[usize]) -> Array {
    let n: usize = shape.iter().product();
    Array::from_vec((0..n).map(|i| i as f32).collect(), shape).unwrap()
}

/// Bad input through the `Result`-returning API: each call must be an `Err` with no panic.
fn result_api_rows() -> Vec<(&'static str, cranax::Result<()>)> {
    let (a, b) = (f32s(&[3]), f32s(&[4]));
    let ints = Array::from_slice(&[1i32, 2, 3]);
    let spec = ShapeDtypeStruct::new(&[3], DType::F32);
    let compiled = jit(|x: &Array| x * 2.0)
        .lower((spec.into(),))
        .unwrap()
        .compile()
        .unwrap();
    let u = |r: cranax::Result<Array>| r.map(|_| ());
    vec![
        ("lax::add shapes", u(lax::add(&a, &b))),
        ("lax::mul dtypes", u(lax::mul(&a, &ints))),
        ("lax::exp int", u(lax::exp(&ints))),
        (
            "lax::dot_general",
            u(lax::dot_general(
                &a,
                &b,
                DotGeneral::new(&[0], &[0], &[], &[]),
            )),
        ),
        ("lax::reshape", u(lax::reshape(&a, &[2]))),
        (
            "lax::broadcast_in_dim",
            u(lax::broadcast_in_dim(&a, &[2], &[0])),
        ),
        ("lax::reduce_sum axis", u(lax::reduce_sum(&a, &[1]))),
        (
            "lax::while_loop pred",
            u(lax::while_loop(
                |x: &Array| x.clone(),
                |x: &Array| x.clone(),
                a.clone(),
            )),
        ),
        ("Array::from_vec", u(Array::from_vec(vec![1.0f32], &[2]))),
        (
            "Array::item",
            Array::from_slice(&[1.0f32, 2.0]).item::<f32>().map(|_| ()),
        ),
        ("Array::allclose", a.allclose(&b, 1e-5, 1e-8).map(|_| ())),
        ("Compiled::call", u(compiled.call((b.clone(),)))),
        (
            "Compiled::call_into",
            compiled.call_into(
                &[ArgView::from(&[1i32, 2, 3][..])],
                &mut [OutView::from(&mut [0.0f32; 3][..])],
            ),
        ),
        ("io::read_npy", u(io::read_npy(b"junk"))),
        ("io::read_npz", io::read_npz(b"junk").map(|_| ())),
        (
            "io::read_safetensors",
            io::read_safetensors(b"junk").map(|_| ()),
        ),
        (
            "ndarray::Array2::try_from",
            ndarray::Array2::<f32>::try_from(&a).map(|_| ()),
        ),
        (
            "DMatrix::try_from",
            nalgebra::DMatrix::<f32>::try_from(&a).map(|_| ()),
        ),
        (
            "faer::Mat::try_from",
            faer::Mat::<f32>::try_from(&a).map(|_| ()),
        ),
        (
            "random::normal key",
            u(cranax::random::normal(&a, &[2], DType::F32)),
        ),
    ]
}

#[test]
fn cranax_leaves_the_applications_panic_hook_alone() {
    std::panic::set_hook(Box::new(app_hook));

    // 2. No panic anywhere on the Result path.
    for (name, r) in result_api_rows() {
        assert!(r.is_err(), "{name} should be an Err");
        assert_eq!(SEEN.get(), 0, "{name} panicked on its way to Err");
    }

    // 3. An operator failing inside a traced closure: caught and returned as Err, and the hook
    //    (ours: cranax installed none) saw that one panic with the error's message.
    let add = |x: &Array, y: &Array| x + y;
    let err = make_jaxpr(add).call((f32s(&[3]), f32s(&[4]))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "add got incompatible shapes for broadcasting: (3,), (4,)"
    );
    assert_eq!(SEEN.get(), 1);
    let loss = |x: &Array| jnp::sum(jnp::reshape(x, &[5]), None, false);
    assert!(grad(loss).call((f32s(&[3]),)).is_err());
    assert!(jit(loss).call((f32s(&[3]),)).is_err());
    assert!(vmap(loss).call((f32s(&[2, 3]),)).is_err());
    assert_eq!(SEEN.get(), 4);
    assert!(MESSAGES
        .lock()
        .unwrap()
        .iter()
        .any(|m| m.starts_with("reshape: cannot reshape an array of shape (3,)")));

    // 1. Our hook is still the installed one: a panic elsewhere reaches it.
    let before = MESSAGES.lock().unwrap().len();
    let _ = std::thread::spawn(|| panic!("the application's own panic")).join();
    let messages = MESSAGES.lock().unwrap();
    assert_eq!(messages.len(), before + 1);
    assert_eq!(messages[before], "the application's own panic");
    drop(messages);

    // 4. Opted in: caught cranax errors are silent, anything else still reaches our hook.
    cranax::install_quiet_panic_hook();
    let seen = SEEN.get();
    assert!(make_jaxpr(add).call((f32s(&[3]), f32s(&[4]))).is_err());
    assert!(jit(loss).call((f32s(&[3]),)).is_err());
    assert_eq!(
        SEEN.get(),
        seen,
        "the quiet hook swallowed the caught errors"
    );
    // An uncaught raise (no transformation) is an ordinary panic and reaches our hook.
    assert!(std::panic::catch_unwind(|| f32s(&[3]) + f32s(&[4])).is_err());
    assert_eq!(SEEN.get(), seen + 1);
    // A panic of the user's own inside a traced closure is not cranax's: it propagates, and
    // our hook sees it.
    let own = |x: &Array| -> Array { panic!("user bug at {}", x.ndim()) };
    assert!(std::panic::catch_unwind(|| jit(own).call((f32s(&[1]),))).is_err());
    assert_eq!(SEEN.get(), seen + 2);
    assert_eq!(MESSAGES.lock().unwrap().last().unwrap(), "user bug at 1");
}
