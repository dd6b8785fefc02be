//! An ODE integrator as one compiled loop, and its sensitivities by reverse mode through it:
//! classical RK4 for y' = -k y + sin t (several initial values at once) with `fori_loop`, the
//! gradient of the final state with respect to the initial values and to k by `grad`, checked
//! against central finite differences and against the exact solution
//!   y(t) = (y0 + 1/(k^2+1)) e^{-kt} + (k sin t - cos t) / (k^2+1).
//!
//! Run: `cargo run --release --example ode_rk4`

use cranax::core::error::or_raise;
use cranax::lax::fori_loop;
use cranax::numpy as jnp;
use cranax::{grad, jit, Array, DType, Function, Result, ARG0, ARG1};
use std::io::Write;

const STEPS: usize = 300;
const H: f64 = 0.01;

/// y(T), T = STEPS * H, by RK4 from y(0) = y0.
fn integrate(y0: &Array, k: &Array) -> Array {
    let f = |t: &Array, y: &Array| -k * y + jnp::sin(t);
    let step = |i: &Array, y: &Array| {
        let t = jnp::astype(i, DType::F64) * H;
        let k1 = f(&t, y);
        let k2 = f(&(&t + H / 2.0), &(y + H / 2.0 * &k1));
        let k3 = f(&(&t + H / 2.0), &(y + H / 2.0 * &k2));
        let k4 = f(&(&t + H), &(y + H * &k3));
        y + H / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    };
    or_raise(fori_loop(0, STEPS, step, y0.clone()))
}

/// The quantity differentiated: the sum of the final states.
fn final_sum(y0: &Array, k: &Array) -> Array {
    integrate(y0, k).sum()
}

/// Run the example, printing to `out`.
///
/// # Errors
/// What cranax raises, or a failed write.
pub fn run(out: &mut dyn Write) -> Result<()> {
    let io = |e: std::io::Error| cranax::Error::value_err(format!("writing the output: {e}"));
    let y0v = vec![1.0f64, -0.5, 2.0, 0.0];
    let kv = 0.7f64;
    let (y0, k) = (Array::from_slice(&y0v), Array::from(kv));
    let t_end = STEPS as f64 * H;

    let y_t = jit(integrate)
        .call((y0.clone(), k.clone()))?
        .to_vec::<f64>()?;
    let c = kv * kv + 1.0;
    let exact =
        |y0: f64| (y0 + 1.0 / c) * (-kv * t_end).exp() + (kv * t_end.sin() - t_end.cos()) / c;
    writeln!(
        out,
        "y' = -k y + sin t, k = {kv}, RK4 with {STEPS} steps of {H} to t = {t_end}:"
    )
    .map_err(io)?;
    for (y0, y) in y0v.iter().zip(&y_t) {
        writeln!(
            out,
            "  y0 = {y0:5}: y(T) = {y:.12}  exact {:.12}",
            exact(*y0)
        )
        .map_err(io)?;
    }

    let sens = jit(grad(final_sum).argnums((ARG0, ARG1)));
    let (g_y0, g_k) = sens.call((y0.clone(), k.clone()))?;
    let (g_y0, g_k) = (g_y0.to_vec::<f64>()?, g_k.item::<f64>()?);

    // Central differences of the same compiled integrator.
    let value = jit(final_sum);
    // y(T) is linear in y0, so a wide step is exact there; k needs a narrow one.
    let (eps_y0, eps_k) = (1e-2, 1e-6);
    let at = |y0: &[f64], k: f64| -> Result<f64> {
        value
            .call((Array::from_slice(y0), Array::from(k)))?
            .item::<f64>()
    };
    let fd_k = (at(&y0v, kv + eps_k)? - at(&y0v, kv - eps_k)?) / (2.0 * eps_k);
    let mut worst: f64 = ((g_k - fd_k) / fd_k).abs();
    writeln!(
        out,
        "d sum y(T) / d y0 (exact e^(-kT) = {:.12}):",
        (-kv * t_end).exp()
    )
    .map_err(io)?;
    for i in 0..y0v.len() {
        let (mut up, mut down) = (y0v.clone(), y0v.clone());
        up[i] += eps_y0;
        down[i] -= eps_y0;
        let fd = (at(&up, kv)? - at(&down, kv)?) / (2.0 * eps_y0);
        worst = worst.max(((g_y0[i] - fd) / fd).abs());
        writeln!(
            out,
            "  [{i}] grad {:.12}  finite difference {fd:.12}",
            g_y0[i]
        )
        .map_err(io)?;
    }
    writeln!(
        out,
        "d sum y(T) / d k: grad {g_k:.12}  finite difference {fd_k:.12}"
    )
    .map_err(io)?;
    writeln!(
        out,
        "largest relative difference grad vs finite differences: {worst:.1e}"
    )
    .map_err(io)?;
    Ok(())
}

#[allow(dead_code)]
fn main() -> Result<()> {
    run(&mut std::io::stdout().lock())
}
