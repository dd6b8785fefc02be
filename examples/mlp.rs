//! Train a two-layer tanh MLP on synthetic regression data with plain SGD, one jitted train
//! step per epoch: `value_and_grad` of the loss and the `tree_map` update run inside one
//! `jit`, compiled once. The parameters are a `#[derive(Pytree)]` struct. A progress bar runs
//! over the epochs and the loss curve is drawn as a terminal chart at the end.
//!
//! Run: `cargo run --release --example mlp` (`-- --small`, or `CRANAX_EXAMPLE_SMALL=1`, for
//! the few-epoch size the test suite runs: tests/examples.rs).

use cranax::numpy as jnp;
use cranax::{jit, random, tree_map2, value_and_grad, Array, DType, Function, Pytree, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;

#[path = "support/small.rs"]
mod small;
use textplots::{Chart, LabelBuilder, LabelFormat, Plot, Shape};

/// The network's parameters: a pytree by derive, its four arrays the leaves.
#[derive(Clone, Pytree)]
pub struct Mlp {
    w1: Array,
    b1: Array,
    w2: Array,
    b2: Array,
}

/// Problem size.
pub struct Config {
    /// Training examples.
    pub n: usize,
    /// Hidden units.
    pub hidden: usize,
    /// SGD epochs (each one jitted step over the whole batch).
    pub epochs: usize,
}

impl Config {
    /// The full size.
    pub fn full() -> Config {
        Config {
            n: 256,
            hidden: 32,
            epochs: 300,
        }
    }

    /// A size that runs in milliseconds (the test suite's).
    pub fn small() -> Config {
        Config {
            n: 32,
            hidden: 8,
            epochs: 40,
        }
    }

    /// `--small` or `CRANAX_EXAMPLE_SMALL` set: small; otherwise full.
    pub fn from_env() -> Config {
        if small::small_from_env() {
            Config::small()
        } else {
            Config::full()
        }
    }
}

/// What a run measured.
pub struct Report {
    /// The loss before each epoch's update.
    pub losses: Vec<f32>,
    /// How many times the train step was compiled.
    pub compiles: u64,
    /// Calls that found the compiled step in the cache.
    pub hits: u64,
}

fn predict(p: &Mlp, x: &Array) -> Array {
    jnp::tanh(x.matmul(&p.w1) + &p.b1).matmul(&p.w2) + &p.b2
}

fn loss(p: &Mlp, x: &Array, y: &Array) -> Array {
    (predict(p, x) - y).pow(2).mean()
}

/// One SGD step, traced and compiled as a whole: the loss and its gradient, and every leaf
/// of the parameters moved against its gradient.
fn train_step(p: &Mlp, x: &Array, y: &Array) -> Result<(Mlp, Array)> {
    let lr = 0.1f32;
    let (l, g) = value_and_grad(loss).call((p.clone(), x.clone(), y.clone()))?;
    Ok((tree_map2(|p, g| p - g * lr, p, &g)?, l))
}

/// The loss curve as a braille chart of `width` x `height` dots, labelled with epochs and loss.
pub fn loss_chart(losses: &[f32]) -> String {
    let points: Vec<(f32, f32)> = losses
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as f32, l))
        .collect();
    let shape = Shape::Lines(&points);
    let mut chart = Chart::new(120, 40, 0.0, (losses.len().max(2) - 1) as f32);
    let chart = chart
        .lineplot(&shape)
        .y_label_format(LabelFormat::Custom(Box::new(|v| format!("{v:.3}"))));
    chart.axis();
    chart.figures();
    chart.to_string()
}

/// Train at size `cfg`, printing the loss every tenth of the run, the chart and the cache
/// statistics to `out`, and advancing `bar` once per epoch.
///
/// # Errors
/// What cranax raises (none for these shapes), or a failed write.
pub fn run(cfg: &Config, out: &mut dyn Write, bar: &ProgressBar) -> Result<Report> {
    let (d_in, d_out) = (8, 1);
    let keys = random::split(&random::PRNGKey(0), 5)?;
    let normal = |i: i32, shape: &[usize]| random::normal(&keys.at(i), shape, DType::F32);

    // Targets from a fixed random "teacher" network plus a little noise.
    let x = normal(0, &[cfg.n, d_in])?;
    let teacher = Mlp {
        w1: normal(1, &[d_in, cfg.hidden])?,
        b1: Array::zeros(&[cfg.hidden], DType::F32),
        w2: normal(2, &[cfg.hidden, d_out])? * 0.3,
        b2: Array::zeros(&[d_out], DType::F32),
    };
    let y: Array = predict(&teacher, &x) + normal(3, &[cfg.n, d_out])? * 0.01;

    let k = random::split(&keys.at(4), 2)?;
    let mut params = Mlp {
        w1: random::normal(&k.at(0), &[d_in, cfg.hidden], DType::F32)?
            * (1.0 / (d_in as f32).sqrt()),
        b1: Array::zeros(&[cfg.hidden], DType::F32),
        w2: random::normal(&k.at(1), &[cfg.hidden, d_out], DType::F32)?
            * (1.0 / (cfg.hidden as f32).sqrt()),
        b2: Array::zeros(&[d_out], DType::F32),
    };

    let step = jit(train_step);
    let io = |e: std::io::Error| cranax::Error::value_err(format!("writing the report: {e}"));
    let mut losses = Vec::with_capacity(cfg.epochs);
    let every = (cfg.epochs / 10).max(1);
    for epoch in 0..cfg.epochs {
        let (next, l) = step.call((params, x.clone(), y.clone()))?;
        params = next;
        let l = l.item::<f32>()?;
        losses.push(l);
        bar.set_message(format!("loss {l:.4}"));
        bar.inc(1);
        if epoch % every == 0 || epoch + 1 == cfg.epochs {
            bar.suspend(|| writeln!(out, "epoch {epoch:4}  loss {l:.6}"))
                .map_err(io)?;
        }
    }
    bar.finish_and_clear();
    let stats = step.stats();
    writeln!(
        out,
        "loss over {} epochs:\n{}",
        cfg.epochs,
        loss_chart(&losses)
    )
    .map_err(io)?;
    writeln!(
        out,
        "train step compiled {} time(s) in {:.2} ms; {} cached calls",
        stats.compiles,
        stats.compile_time.as_secs_f64() * 1e3,
        stats.hits
    )
    .map_err(io)?;
    Ok(Report {
        losses,
        compiles: stats.compiles,
        hits: stats.hits,
    })
}

/// A progress bar over `epochs` (drawn on stderr only when it is a terminal).
pub fn progress_bar(epochs: usize) -> ProgressBar {
    let bar = ProgressBar::new(epochs as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} epochs  {msg}  [{elapsed}]")
    {
        bar.set_style(style);
    }
    bar
}

#[allow(dead_code)]
fn main() -> Result<()> {
    let cfg = Config::from_env();
    run(&cfg, &mut std::io::stdout(), &progress_bar(cfg.epochs))?;
    Ok(())
}
