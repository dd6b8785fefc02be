//! A small recurrent network trained by reverse mode through a loop: `scan` over
//! `h = tanh(W h + U x)`, a linear readout of the last state, `grad` through the `scan`, and
//! plain SGD. The toy task: read a sequence of numbers and output their mean; the loss
//! printed falls as the network learns to integrate its input.
//!
//! Run: `cargo run --release --example rnn`

use cranax::core::error::or_raise;
use cranax::lax::scan;
use cranax::numpy as jnp;
use cranax::{jit, random, value_and_grad, Array, DType, Function, Result};
use std::io::Write;

#[path = "support/small.rs"]
mod small;
use small::small_from_env;

const T: usize = 12; // sequence length
const B: usize = 64; // sequences per batch
const HIDDEN: usize = 16;

/// `(W, U, v)`: recurrence, input and readout weights.
type Params = (Array, Array, Array);

/// The readout of the last state for a batch: `xs` is `(T, B, 1)`, the result `(B,)`.
fn predict((w, u, v): &Params, xs: &Array) -> Array {
    let step = |h: &Array, x: &Array| {
        // h: (B, HIDDEN), x: (B, 1); row-wise h W^T + x U^T.
        let h = jnp::tanh(h.matmul(&w.t()) + x.matmul(&u.t()));
        (h, ())
    };
    let h0 = jnp::zeros(&[xs.shape()[1], HIDDEN], DType::F32);
    let (h, ()) = or_raise(scan(step, h0, xs.clone()));
    h.matmul(v)
}

fn loss(p: &Params, xs: &Array, y: &Array) -> Array {
    (predict(p, xs) - y).pow(2).mean()
}

/// Run the example, printing to `out` (`small`: the test suite's few-iteration size).
///
/// # Errors
/// What cranax raises, or a failed write.
pub fn run(out: &mut dyn Write, small: bool) -> Result<()> {
    let io = |e: std::io::Error| cranax::Error::value_err(format!("writing the output: {e}"));
    let keys = random::split(&random::PRNGKey(0), 4)?;
    let normal = |i: i32, shape: &[usize]| random::normal(&keys.at(i), shape, DType::F32);
    let mut params: Params = (
        normal(0, &[HIDDEN, HIDDEN])? * 0.1,
        normal(1, &[HIDDEN, 1])? * 0.5,
        normal(2, &[HIDDEN])? * 0.1,
    );
    let batch_keys = random::split(&keys.at(3), 2)?;
    let batch = |i: i32| -> Result<(Array, Array)> {
        let xs = random::normal(&batch_keys.at(i), &[T, B, 1], DType::F32)?;
        let y = jnp::mean(&xs, Some(&[0, 2]), false);
        Ok((xs, y))
    };
    let (train_x, train_y) = batch(0)?;
    let (test_x, test_y) = batch(1)?;

    let step = jit(value_and_grad(loss));
    let test_loss = jit(loss);
    let lr = 0.1f32;
    let iters = if small { 50 } else { 400 };
    for it in 0..=iters {
        let (l, g) = step.call((params.clone(), train_x.clone(), train_y.clone()))?;
        if it % 50 == 0 {
            let lt = test_loss.call((params.clone(), test_x.clone(), test_y.clone()))?;
            writeln!(
                out,
                "step {it:3}  train loss {:.6}  held-out loss {:.6}",
                l.item::<f32>()?,
                lt.item::<f32>()?
            )
            .map_err(io)?;
        }
        params = (
            &params.0 - &g.0 * lr,
            &params.1 - &g.1 * lr,
            &params.2 - &g.2 * lr,
        );
    }
    let baseline = test_y.pow(2).mean().item::<f32>()?;
    writeln!(
        out,
        "(predicting 0 everywhere scores {baseline:.6} on the held-out batch)"
    )
    .map_err(io)?;
    Ok(())
}

#[allow(dead_code)]
fn main() -> Result<()> {
    run(&mut std::io::stdout().lock(), small_from_env())
}
