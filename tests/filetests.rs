//! File tests in the spirit of Cranelift's filetests: each tests/filetests/*.jaxpr holds a
//! jaxpr and directives in comments:
//!
//! - `# run: ARG; ARG -> OUT; OUT`: the jaxpr on these arguments (written as `cranax run`
//!   takes them, typed by the jaxpr's inputs) gives exactly these outputs, under the reference
//!   interpreter and compiled with jit;
//! - `# grad:` (or `# grad(0,1):`), then `#| ` lines: `make_jaxpr(grad(f, argnums))` prints
//!   exactly that text.
//!
//! Each file says where its expected values come from (hand-derivable exact values, JAX's
//! printing, or published known-answer vectors). Together the files use every primitive:
//! `every_primitive_has_a_file_test` lists any that no file exercises.

#[path = "support/primitives.rs"]
#[allow(dead_code)]
mod primitives;

use cranax::core::error::or_raise;
use cranax::io::parse_array;
use cranax::ir::parse::parse;
use cranax::ir::pretty::Param;
use cranax::ir::Jaxpr;
use cranax::{eval_jaxpr, grad, jit, make_jaxpr, Array, ClosedJaxpr, Function};
use std::collections::BTreeSet;
use std::path::PathBuf;

struct FileTest {
    name: String,
    jaxpr: ClosedJaxpr,
    /// (line, arguments, outputs)
    runs: Vec<(usize, String, String)>,
    /// (line, argnums, expected text)
    grads: Vec<(usize, Vec<usize>, String)>,
}

fn files() -> Vec<FileTest> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jaxpr"))
        .collect();
    paths.sort();
    paths.iter().map(|p| read(p)).collect()
}

fn read(path: &std::path::Path) -> FileTest {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let jaxpr = ClosedJaxpr::from(parse(&text).unwrap_or_else(|e| panic!("{name}: {e}")));
    let lines: Vec<&str> = text.lines().collect();
    let (mut runs, mut grads) = (Vec::new(), Vec::new());
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("# run:") {
            let (args, outs) = rest
                .split_once("->")
                .unwrap_or_else(|| panic!("{name}:{}: `# run:` needs `->`", i + 1));
            runs.push((i + 1, args.to_string(), outs.to_string()));
        } else if let Some(rest) = line.strip_prefix("# grad") {
            let spec = rest.strip_suffix(':').expect("`# grad:` or `# grad(0,1):`");
            let argnums = match spec.trim() {
                "" => vec![0],
                s => s
                    .trim_matches(['(', ')'])
                    .split(',')
                    .map(|n| n.trim().parse().unwrap())
                    .collect(),
            };
            let expected: Vec<&str> = lines[i + 1..]
                .iter()
                .map_while(|l| l.strip_prefix("#| "))
                .collect();
            grads.push((i + 1, argnums, expected.join("\n")));
        }
    }
    FileTest {
        name,
        jaxpr,
        runs,
        grads,
    }
}

fn split(list: &str) -> Vec<&str> {
    list.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Equal values (NaN equal to NaN), shapes and dtypes.
fn same(got: &Array, want: &Array) -> bool {
    got.shape() == want.shape()
        && got.dtype() == want.dtype()
        && got
            .to_f64_vec()
            .unwrap()
            .iter()
            .zip(want.to_f64_vec().unwrap())
            .all(|(&a, b)| a == b || (a.is_nan() && b.is_nan()))
}

#[test]
fn file_tests() {
    let mut failures = Vec::new();
    for t in files() {
        let j = &t.jaxpr;
        for (line, args, outs) in &t.runs {
            let at = format!("{}:{line}", t.name);
            let args: Vec<Array> = split(args)
                .iter()
                .zip(j.in_avals())
                .map(|(s, a)| parse_array(s, a.dtype).unwrap_or_else(|e| panic!("{at}: {e}")))
                .collect();
            let want: Vec<Array> = split(outs)
                .iter()
                .zip(j.out_avals())
                .map(|(s, a)| parse_array(s, a.dtype).unwrap_or_else(|e| panic!("{at}: {e}")))
                .collect();
            assert_eq!(want.len(), j.out_avals().len(), "{at}: number of outputs");
            let f = |xs: &Vec<Array>| or_raise(eval_jaxpr(j, xs));
            for (how, got) in [
                ("interpreter", eval_jaxpr(j, &args)),
                ("jit", jit(f).call((args.clone(),))),
            ] {
                let got = got.unwrap_or_else(|e| panic!("{at} ({how}): {e}"));
                for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                    if !same(g, w) {
                        failures.push(format!("{at} ({how}): output {k} is {g}, expected {w}"));
                    }
                }
            }
        }
        for (line, argnums, expected) in &t.grads {
            let args: Vec<Array> = j
                .in_avals()
                .iter()
                .map(|a| Array::zeros(&a.shape, a.dtype))
                .collect();
            let traced = make_jaxpr(|all: &Vec<Array>| {
                let wrt: Vec<Array> = argnums.iter().map(|&i| all[i].clone()).collect();
                let loss = |w: &Vec<Array>| {
                    let mut xs = all.clone();
                    for (&i, x) in argnums.iter().zip(w) {
                        xs[i] = x.clone();
                    }
                    or_raise(eval_jaxpr(j, &xs)).remove(0)
                };
                or_raise(grad(loss).call((wrt,)))
            })
            .call((args,))
            .unwrap()
            .to_string();
            if &traced != expected {
                failures.push(format!(
                    "{}:{line}: grad{argnums:?} prints\n{traced}\nexpected\n{expected}",
                    t.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every primitive used anywhere in `j`, nested jaxprs included.
fn collect(j: &Jaxpr, names: &mut BTreeSet<String>) {
    for e in &j.eqns {
        names.insert(e.prim.name().to_string());
        for (_, p) in e.prim.params() {
            match p {
                Param::Jaxpr(inner) => collect(&inner, names),
                Param::Jaxprs(inner) => inner.iter().for_each(|j| collect(j, names)),
                Param::Text(_) => {}
            }
        }
    }
}

#[test]
fn every_primitive_has_a_file_test() {
    let mut used = BTreeSet::new();
    for t in files() {
        assert!(!t.runs.is_empty(), "{} has no `# run:` line", t.name);
        collect(&t.jaxpr.jaxpr, &mut used);
    }
    // custom_lin carries a Rust backward pass and has no text form.
    let missing: BTreeSet<String> = primitives::instances()
        .iter()
        .map(|(p, _)| p.name().to_string())
        .filter(|n| !used.contains(n) && n != "custom_lin")
        .collect();
    assert!(
        missing.is_empty(),
        "primitives no file test exercises: {missing:?}"
    );
}
