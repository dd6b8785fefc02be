//! The `cranax` command, run as a user runs it: outputs, errors and exit codes on real files.
//! Expected values are hand-derivable (products and sums of small integers) and the expected
//! grad jaxpr is the seed notebook's, printed by JAX.

use cranax::io::{load_npy, save_npy};
use cranax::Array;
use std::path::PathBuf;
use std::process::{Command, Output};

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("cli")
        .join(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cranax(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cranax"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `f(x, y) = (x * y, sum(x))` on f32[2,2].
fn write_file(d: &std::path::Path, name: &str, text: &str) -> String {
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

const PRODUCT: &str = "# x * y and the sum of x\n{ lambda ; a:f32[2,2] b:f32[2,2]. let\n    c:f32[2,2] = mul a b\n    d:f32[] = reduce_sum[axes=(0, 1)] a\n  in (c, d) }\n";

#[test]
fn run_compiled_and_eager_with_list_and_npy_arguments() {
    let d = dir("run");
    let f = write_file(&d, "product.jaxpr", PRODUCT);
    let y = d.join("y.npy");
    save_npy(
        &y,
        &Array::from_vec(vec![2.0f32, 0.5, -1.0, 10.0], &[2, 2]).unwrap(),
    )
    .unwrap();
    let y = y.to_str().unwrap();
    for eager in [false, true] {
        let mut args = vec!["run", &f, "--args", "[[1, 2], [3, 4]]", y];
        if eager {
            args.push("--eager");
        }
        let o = cranax(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "[[ 2.  1.]\n [-3. 40.]]\n10.0\n");
    }
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let o = cranax(&[
        "run",
        &f,
        "--args",
        "[[1, 2], [3, 4]]",
        "[[1, 1], [1, 1]]",
        "--save-npy",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let saved = load_npy(out.join("out1.npy")).unwrap();
    assert_eq!(saved.to_f64_vec().unwrap(), vec![10.0]);
}

#[test]
fn transformations_print_jaxprs() {
    let d = dir("transform");
    let f = write_file(
        &d,
        "mul.jaxpr",
        "{ lambda ; a:f32[] b:f32[]. let c:f32[] = mul a b in (c,) }",
    );
    // The seed notebook's `make_jaxpr(grad(product, argnums=0))(3.0, 4.0)`, printed by JAX.
    let o = cranax(&["grad", &f]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "{ lambda ; a:f32[] b:f32[]. let _:f32[] = mul a b; c:f32[] = mul 1.0 b in (c,) }\n"
    );
    let o = cranax(&["grad", &f, "--argnums", "0,1"]);
    assert!(stdout(&o).contains("in (d, c) }"), "{}", stdout(&o));
    let o = cranax(&["vmap", &f, "--in-axes", "0,None", "--axis-size", "5"]);
    assert_eq!(
        stdout(&o),
        "{ lambda ; a:f32[5] b:f32[]. let c:f32[5] = mul a b in (c,) }\n"
    );
    for cmd in ["jvp", "vjp", "hessian", "jacfwd", "jacrev"] {
        let o = cranax(&[cmd, &f]);
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        assert!(stdout(&o).starts_with("{ lambda "), "{cmd}: {}", stdout(&o));
    }
    let o = cranax(&["grad", &f, "--argnums", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("argnums 2 is out of range"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn compile_and_bench() {
    let d = dir("compile");
    let f = write_file(&d, "product.jaxpr", PRODUCT);
    let o = cranax(&[
        "compile",
        &f,
        "--shapes",
        "f32[2,2],f32[2,2]",
        "--emit",
        "clif",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("function "), "{}", stdout(&o));
    assert!(stderr(&o).contains("compiled in "), "{}", stderr(&o));
    let asm = d.join("product.s");
    let o = cranax(&["compile", &f, "--emit", "asm", "-o", asm.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!std::fs::read_to_string(&asm).unwrap().is_empty());
    let o = cranax(&["compile", &f, "--shapes", "f32[2]"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("do not match"), "{}", stderr(&o));
    let obj = d.join("product.o");
    let o = cranax(&["compile", &f, "--emit", "obj", "-o", obj.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&obj).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "an ELF object");
    let header = std::fs::read_to_string(d.join("product.h")).unwrap();
    assert!(header.contains("void product("), "{header}");
    let o = cranax(&[
        "compile",
        &f,
        "--emit",
        "obj",
        "--target",
        "riscv64gc-unknown-linux-gnu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let o = cranax(&[
        "bench",
        &f,
        "--args",
        "[[1, 2], [3, 4]]",
        "[[1, 1], [1, 1]]",
        "--iters",
        "10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("first call") && stdout(&o).contains("cached call"));
}

#[test]
fn bad_files_and_arguments_fail_clearly() {
    let d = dir("errors");
    let f = write_file(&d, "product.jaxpr", PRODUCT);
    let bad = write_file(
        &d,
        "bad.jaxpr",
        "{ lambda ; a:f32[]. let\n    b:f32[] = frobnicate a\n  in (b,) }",
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "/no/such.jaxpr"], "cannot read /no/such.jaxpr"),
        (
            vec!["run", &bad],
            "line 2, column 15: unknown primitive `frobnicate`",
        ),
        (vec!["run", &f, "--args", "1"], "takes 2 arguments"),
        (
            vec!["run", &f, "--args", "[1, 2]", "[1, 2]"],
            "argument 0 has type f32[2]",
        ),
        (vec!["run", &f, "--args", "[[1, 2], [3]]", "1"], "ragged"),
        (
            vec!["run", &f, "--args", "[[1, x], [3, 4]]", "1"],
            "`x` is not a float32 value",
        ),
        (
            vec!["run", &f, "--args", "/no/such.npy", "1"],
            "/no/such.npy",
        ),
    ];
    for (args, want) in cases {
        let o = cranax(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(cranax(&["frobnicate"]).status.code(), Some(2));
    for cmd in [
        "run", "grad", "jvp", "vjp", "vmap", "hessian", "jacfwd", "jacrev", "compile", "bench",
    ] {
        let o = cranax(&[cmd, "--help"]);
        assert!(o.status.success(), "{cmd} --help");
        assert!(
            stdout(&o).contains("Usage: cranax"),
            "{cmd}: {}",
            stdout(&o)
        );
    }
}
