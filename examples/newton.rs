//! A compiled function inside a plain Rust numeric loop: implicit (backward) Euler steps of a
//! stiff ODE, each solved by Newton's method with a jitted residual and a jitted Jacobian
//! (`jit(jacfwd(residual))`). Compiles once, then every step runs native code.
//!
//! The system (Robertson-like stiff kinetics, simplified):
//!   y0' = -0.04 y0 + 1e4 y1 y2
//!   y1' =  0.04 y0 - 1e4 y1 y2 - 3e7 y1^2
//!   y2' =  3e7 y1^2
//!
//! Run: `cargo run --release --example newton`

use cranax::numpy as jnp;
use cranax::{jacfwd, jit, Array, Function, Result};

fn rhs(y: &Array) -> Array {
    let (y0, y1, y2) = (y.at(0), y.at(1), y.at(2));
    let r1 = &y0 * 0.04;
    let r2 = &y1 * &y2 * 1e4;
    let r3 = y1.pow(2) * 3e7;
    jnp::stack(&[&r2 - &r1, &r1 - &r2 - &r3, r3], 0)
}

/// Backward Euler residual for step `h` from `y_prev`: `y - y_prev - h f(y)`, with `y_prev`
/// and `h` packed after `y` so one array is differentiated.
fn residual(v: &Array) -> Array {
    let y = jnp::take(v, Array::from_slice(&[0i32, 1, 2]), 0);
    let y_prev = jnp::take(v, Array::from_slice(&[3i32, 4, 5]), 0);
    let h = v.at(6);
    &y - &y_prev - rhs(&y) * h
}

fn main() -> Result<()> {
    let f = jit(residual);
    let jac = jit(jacfwd(residual));
    let mut y = vec![1.0f64, 0.0, 0.0];
    let h = 1e-3f64;
    for step in 0..=1000 {
        let mut guess = y.clone();
        for _ in 0..8 {
            let v = Array::from_vec([guess.clone(), y.clone(), vec![h]].concat(), &[7])?;
            let r = f.call((v.clone(),))?.to_vec::<f64>()?;
            let j = jac.call((v,))?.to_vec::<f64>()?; // 3 x 7: the first 3 columns are dr/dy
            let a = |i: usize, k: usize| j[i * 7 + k];
            let delta = solve3(
                [
                    [a(0, 0), a(0, 1), a(0, 2)],
                    [a(1, 0), a(1, 1), a(1, 2)],
                    [a(2, 0), a(2, 1), a(2, 2)],
                ],
                [r[0], r[1], r[2]],
            );
            for i in 0..3 {
                guess[i] -= delta[i];
            }
            if delta.iter().map(|d| d.abs()).fold(0.0, f64::max) < 1e-12 {
                break;
            }
        }
        y = guess;
        if step % 200 == 0 {
            println!(
                "t = {:.3}  y = [{:.6e}, {:.6e}, {:.6e}]  sum = {:.12}",
                step as f64 * h,
                y[0],
                y[1],
                y[2],
                y.iter().sum::<f64>()
            );
        }
    }
    let (fs, js) = (f.stats(), jac.stats());
    println!(
        "residual: {} compile(s), {} cached calls; jacobian: {} compile(s), {} cached calls",
        fs.compiles, fs.hits, js.compiles, js.hits
    );
    Ok(())
}

/// Solve a 3x3 linear system by Gaussian elimination with partial pivoting.
fn solve3(mut a: [[f64; 3]; 3], mut b: [f64; 3]) -> [f64; 3] {
    for c in 0..3 {
        let p = (c..3)
            .max_by(|&i, &k| a[i][c].abs().total_cmp(&a[k][c].abs()))
            .unwrap_or(c);
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..3 {
            let m = a[r][c] / a[c][c];
            let pivot_row = a[c];
            for (x, p) in a[r].iter_mut().zip(pivot_row).skip(c) {
                *x -= m * p;
            }
            b[r] -= m * b[c];
        }
    }
    let mut x = [0.0; 3];
    for r in (0..3).rev() {
        x[r] = (b[r] - (r + 1..3).map(|k| a[r][k] * x[k]).sum::<f64>()) / a[r][r];
    }
    x
}
