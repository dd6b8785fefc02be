//! Newton's method as one compiled loop: the whole solve is a `while_loop` inside one `jit`, so
//! the iterations run in native code with no return to Rust between them (not a Rust loop
//! around jitted pieces). The derivative comes from `grad` inside the loop body.
//!
//! Three solves:
//! - Wallis's cubic x^3 - 2x - 5 = 0 (Newton's own example), root 2.0945514815423265...;
//! - square roots of a vector, x^2 = a elementwise, iterating until every element has
//!   converged (the predicate reduces over the vector), checked against `f64::sqrt`;
//! - a system of three equations (a sphere, a plane and a hyperbolic cylinder meeting at
//!   (1, 2, 3)): each step solves `J(x) dx = F(x)` with `jnp.linalg.solve` and the Jacobian
//!   `jacfwd(F)`, both inside the loop body.
//!
//! Run: `cargo run --release --example newton`

use cranax::core::error::or_raise;
use cranax::lax::while_loop;
use cranax::numpy as jnp;
use cranax::numpy::linalg as la;
use cranax::{grad, jacfwd, jit, Array, Function, Result};
use std::io::Write;

/// Wallis's cubic.
fn cubic(x: &Array) -> Array {
    x.pow(3) - x * 2.0 - 5.0
}

/// `(x, iterations)`: `x -= f(x) / f'(x)` from `x0` while `|f(x)| > 1e-14` (at most 50 steps).
fn solve_cubic(x0: &Array) -> (Array, Array) {
    or_raise(while_loop(
        |(x, i): &(Array, Array)| {
            jnp::logical_and(jnp::greater(jnp::abs(cubic(x)), 1e-14), jnp::less(i, 50))
        },
        |(x, i): &(Array, Array)| {
            let slope = or_raise(grad(cubic).call((x.clone(),)));
            (x - cubic(x) / slope, jnp::add(i, 1))
        },
        (x0.clone(), Array::scalar(0i32)),
    ))
}

/// `(x, iterations)`: `x = (x + a/x) / 2` from `x = a` until every element has
/// `|x^2 - a| <= 1e-15 a` (at most 100 steps).
fn solve_sqrt(a: &Array) -> (Array, Array) {
    or_raise(while_loop(
        |(x, i): &(Array, Array)| {
            let rel = jnp::abs(x * x - a) / a;
            jnp::logical_and(
                jnp::greater(jnp::max(rel, None, false), 1e-15),
                jnp::less(i, 100),
            )
        },
        |(x, i): &(Array, Array)| ((x + a / x) * 0.5, jnp::add(i, 1)),
        (a.clone(), Array::scalar(0i32)),
    ))
}

/// `F(x, y, z) = (x² + y² + z² - 14, x + y + z - 6, x z - 3)`, zero at (1, 2, 3).
fn system(v: &Array) -> Array {
    let (x, y, z) = (v.at(0), v.at(1), v.at(2));
    jnp::stack(
        &[
            &x * &x + &y * &y + &z * &z - 14.0,
            &x + &y + &z - 6.0,
            &x * &z - 3.0,
        ],
        0,
    )
}

/// `(x, iterations)`: `x -= J(x)⁻¹ F(x)` from `x0` while `max |F(x)| > 1e-13` (at most 50).
fn solve_system(x0: &Array) -> (Array, Array) {
    or_raise(while_loop(
        |(x, i): &(Array, Array)| {
            let worst = jnp::max(jnp::abs(system(x)), None, false);
            jnp::logical_and(jnp::greater(worst, 1e-13), jnp::less(i, 50))
        },
        |(x, i): &(Array, Array)| {
            let jac = or_raise(jacfwd(system).call((x.clone(),)));
            (x - la::solve(jac, system(x)), jnp::add(i, 1))
        },
        (x0.clone(), Array::scalar(0i32)),
    ))
}

/// Run the example, printing to `out`.
///
/// # Errors
/// What cranax raises, or a failed write.
pub fn run(out: &mut dyn Write) -> Result<()> {
    let io = |e: std::io::Error| cranax::Error::value_err(format!("writing the output: {e}"));
    let root = 2.094_551_481_542_326_5_f64;
    let cubic_solver = jit(solve_cubic);
    for x0 in [1.0f64, 3.0, 10.0] {
        let (x, n) = cubic_solver.call((Array::from(x0),))?;
        let x = x.item::<f64>()?;
        writeln!(
            out,
            "x^3 - 2x - 5 = 0 from x0 = {x0:4}: x = {x:.16} after {} iterations, |x - root| = {:.1e}",
            n.item::<i32>()?,
            (x - root).abs()
        ).map_err(io)?;
    }

    let a: Vec<f64> = vec![0.01, 0.5, 2.0, 3.0, 10.0, 123.456, 1e4, 7e7];
    let (x, n) = jit(solve_sqrt).call((Array::from_slice(&a),))?;
    let x = x.to_vec::<f64>()?;
    let worst = a
        .iter()
        .zip(&x)
        .map(|(a, x)| ((x - a.sqrt()) / a.sqrt()).abs())
        .fold(0.0, f64::max);
    writeln!(
        out,
        "sqrt of {} values by Newton: {} iterations, max relative error vs f64::sqrt {worst:.1e}",
        a.len(),
        n.item::<i32>()?
    )
    .map_err(io)?;
    for (a, x) in a.iter().zip(&x) {
        writeln!(
            out,
            "  sqrt({a:>10}) = {x:.15e}  (f64::sqrt {:.15e})",
            a.sqrt()
        )
        .map_err(io)?;
    }
    let system_solver = jit(solve_system);
    for x0 in [[0.5f64, 1.5, 4.0], [2.0, 2.0, 2.5]] {
        let (x, n) = system_solver.call((Array::from_slice(&x0),))?;
        let r = system(&x).to_vec::<f64>()?;
        let x = x.to_vec::<f64>()?;
        writeln!(
            out,
            "sphere ∩ plane ∩ xz = 3 from {x0:?}: ({:.15}, {:.15}, {:.15}) after {} iterations, max |F| = {:.1e}",
            x[0],
            x[1],
            x[2],
            n.item::<i32>()?,
            r.iter().fold(0.0f64, |m, v| m.max(v.abs()))
        ).map_err(io)?;
    }
    let stats = cubic_solver.stats();
    writeln!(
        out,
        "cubic solver: {} compile(s) for {} calls",
        stats.compiles,
        stats.compiles + stats.hits
    )
    .map_err(io)?;
    Ok(())
}

#[allow(dead_code)]
fn main() -> Result<()> {
    run(&mut std::io::stdout().lock())
}
