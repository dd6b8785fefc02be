//! Every example runs here at a small size and what it prints is checked (the tutorial has
//! its own test, tests/tutorial.rs). Each example file is compiled in as a module and its
//! `run` called with a buffer: one test binary, no `cargo run`.

// Each example includes examples/support/small.rs itself, so this binary holds it several times.
#![allow(clippy::duplicate_mod)]

#[allow(dead_code)]
#[path = "../examples/gaussian_process.rs"]
mod gaussian_process;
#[allow(dead_code)]
#[path = "../examples/mlp.rs"]
mod mlp;
#[allow(dead_code)]
#[path = "../examples/newton.rs"]
mod newton;
#[allow(dead_code)]
#[path = "../examples/ode_rk4.rs"]
mod ode_rk4;
#[allow(dead_code)]
#[path = "../examples/quickstart.rs"]
mod quickstart;
#[allow(dead_code)]
#[path = "../examples/rnn.rs"]
mod rnn;

/// What an example printed.
fn output(run: impl FnOnce(&mut Vec<u8>) -> cranax::Result<()>) -> String {
    let mut buf = Vec::new();
    run(&mut buf).expect("the example runs");
    String::from_utf8(buf).expect("utf-8")
}

/// The number printed right after each occurrence of `marker` (occurrences followed by
/// something else are skipped).
fn numbers_after(text: &str, marker: &str) -> Vec<f64> {
    text.match_indices(marker)
        .filter_map(|(i, _)| {
            let rest = text[i + marker.len()..].trim_start();
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || "+-.e".contains(c)))
                .unwrap_or(rest.len());
            rest[..end].parse().ok()
        })
        .collect()
}

#[test]
fn quickstart_prints_the_readme_values_and_jaxpr() {
    let out = output(|o| quickstart::run(o));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "4.0 4.0 3.0");
    assert_eq!(
        lines[1],
        "{ lambda ; a:f32[] b:f32[]. let _:f32[] = mul a b; c:f32[] = mul 1.0 b in (c,) }"
    );
    assert_eq!(
        lines[2], lines[3],
        "the compiled call prints what the first did"
    );
    let vals: Vec<f64> = lines[2]
        .replace(['[', ']'], " ")
        .split_whitespace()
        .map(|v| v.parse().expect("a number"))
        .collect();
    assert_eq!(vals.len(), 5, "{}", lines[2]);
    assert!(
        vals.iter().all(|&d| d > 0.0 && d <= 1.0),
        "tanh' is in (0, 1]"
    );
}

#[test]
fn newton_solves_to_machine_precision_in_one_compile() {
    let out = output(|o| newton::run(o));
    let root_errors = numbers_after(&out, "|x - root| =");
    assert_eq!(root_errors.len(), 3, "{out}");
    assert!(root_errors.iter().all(|&e| e < 1e-15), "{out}");
    let sqrt = numbers_after(&out, "max relative error vs f64::sqrt");
    assert!(sqrt[0] < 1e-15, "{out}");
    let residuals = numbers_after(&out, "max |F| =");
    assert_eq!(residuals.len(), 2, "{out}");
    assert!(residuals.iter().all(|&r| r < 1e-13), "{out}");
    assert!(
        out.contains("cubic solver: 1 compile(s) for 3 calls"),
        "{out}"
    );
}

#[test]
fn ode_rk4_matches_the_exact_solution_and_finite_differences() {
    let out = output(|o| ode_rk4::run(o));
    let ys = numbers_after(&out, "y(T) =");
    let exact = numbers_after(&out, "exact");
    assert_eq!(ys.len(), 4, "{out}");
    for (y, e) in ys.iter().zip(&exact[..4]) {
        assert!((y - e).abs() < 1e-9, "RK4 {y} vs exact {e}");
    }
    let worst = numbers_after(&out, "grad vs finite differences:");
    assert!(worst[0] < 1e-8, "{out}");
}

#[test]
fn rnn_training_lowers_the_loss() {
    let out = output(|o| rnn::run(o, true));
    let train = numbers_after(&out, "train loss");
    assert!(train.len() >= 2, "{out}");
    assert!(
        train[train.len() - 1] < 0.8 * train[0],
        "the train loss falls: {train:?}"
    );
}

#[test]
fn gaussian_process_fits_and_predicts_the_truth() {
    let out = output(|o| gaussian_process::run(o, true));
    let nlml = numbers_after(&out, "-log p(y) =");
    assert!(nlml[nlml.len() - 1] < nlml[0] - 10.0, "{nlml:?}");
    let rmse = numbers_after(&out, "RMSE of the mean vs the true function");
    assert!(rmse[0] < 0.15, "{out}");
}

#[test]
fn mlp_trains_in_one_jitted_step_and_draws_its_loss_curve() {
    let cfg = mlp::Config::small();
    let mut buf = Vec::new();
    let report = mlp::run(&cfg, &mut buf, &indicatif::ProgressBar::hidden()).expect("mlp");
    let out = String::from_utf8(buf).expect("utf-8");
    assert_eq!(report.losses.len(), cfg.epochs);
    assert_eq!(
        (report.compiles, report.hits),
        (1, cfg.epochs as u64 - 1),
        "one compile of the whole train step"
    );
    let (first, last) = (report.losses[0], report.losses[cfg.epochs - 1]);
    assert!(last < first / 10.0, "the loss falls: {first} -> {last}");
    let printed = numbers_after(&out, "loss ");
    assert!((printed[0] - first as f64).abs() < 1e-6, "{out}");
    // The chart: rows of braille, the largest loss labelling the top row and the smallest
    // the bottom one.
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| l.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c)))
        .collect();
    assert!(rows.len() >= 10, "{out}");
    let top = numbers_after(rows[0], "\u{2800} ");
    let bottom = numbers_after(rows[rows.len() - 1], " ");
    assert!(
        (top[top.len() - 1] - first as f64).abs() < 1e-3,
        "{}",
        rows[0]
    );
    let min = report.losses.iter().cloned().fold(f32::INFINITY, f32::min);
    assert!((bottom[bottom.len() - 1] - min as f64).abs() < 1e-3);
    assert!(out.contains("train step compiled 1 time(s)"), "{out}");
}
