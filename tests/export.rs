//! Ahead-of-time export (issue 15 item 2): an object file for the MLP's gradient
//! (`jit(grad(loss))` of examples/mlp.rs's loss, small sizes) and for a `while_loop`, linked by
//! the system C compiler against `libcranax_runtime.a` into a program that prints its outputs'
//! bits: the same bits `jit` gives. Also other targets' objects, the header, and bad options.

use cranax::core::error::or_raise;
use cranax::numpy as jnp;
use cranax::pytree::ArgTuple;
use cranax::scipy::special;
use cranax::*;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/mlp.rs"]
mod mlp;
use mlp::{data, loss, Params};

fn work_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("export-{name}"));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The runtime's static library: the newest `libcranax_runtime*.a` cargo built next to this
/// test binary (cargo builds every crate type of a dependency), else one built now.
fn runtime_staticlib() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = [deps, deps.parent().unwrap()]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("libcranax_runtime") && n.ends_with(".a")
        })
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    found.sort();
    if let Some((_, p)) = found.pop() {
        return p;
    }
    // Not built alongside (another build layout): build it in a target dir of our own.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runtime-staticlib");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "cranax-runtime", "--lib", "--target-dir"])
        .arg(&dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("running cargo to build the runtime's static library");
    assert!(status.success());
    dir.join("debug/libcranax_runtime.a")
}

fn c_compiler() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let ok = Command::new(&cc)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(cc)
}

/// The C literal of an f32 array's bits.
fn c_bits(a: &Array) -> String {
    let v = a.to_vec::<f32>().unwrap();
    let words: Vec<String> = v
        .iter()
        .map(|x| format!("0x{:08x}u", x.to_bits()))
        .collect();
    format!(
        "{{{}}}",
        if words.is_empty() {
            "0".into()
        } else {
            words.join(", ")
        }
    )
}

/// Export `compiled`, write a C program calling it on `inputs` (f32 leaves) that prints every
/// output element's bits, link and run it; the printed bits.
fn run_in_c<A: ArgTuple, O: Pytree>(
    name: &str,
    compiled: &cranax::stages::Compiled<A, O>,
    inputs: &[Array],
) -> Vec<Vec<u32>> {
    let dir = work_dir(name);
    let obj = dir.join(format!("{name}.o"));
    let e = compiled
        .export_object(&obj, &ExportOptions::named(name))
        .unwrap();
    let up = name.to_ascii_uppercase();
    let header = std::fs::read_to_string(obj.with_extension("h")).unwrap();
    assert_eq!(header, e.header);
    assert!(header.contains(&format!(
        "void {name}(const void *const *inputs, void *const *outputs, void *scratch);"
    )));
    let mut c = format!("#include \"{name}.h\"\n#include <stdio.h>\n#include <stdlib.h>\n");
    for (i, x) in inputs.iter().enumerate() {
        c += &format!("static const uint32_t in{i}[] = {};\n", c_bits(x));
    }
    c += "int main(void) {\n";
    c += &format!("  const void *ins[{}];\n", inputs.len().max(1));
    for i in 0..inputs.len() {
        c += &format!("  ins[{i}] = in{i};\n");
    }
    let n_out = e.out_avals.len();
    c += &format!("  void *outs[{}];\n", n_out.max(1));
    for k in 0..n_out {
        c += &format!(
            "  {name}_output{k}_t *out{k} = calloc({up}_OUTPUT{k}_SIZE + 1, sizeof *out{k});\n  outs[{k}] = out{k};\n"
        );
    }
    c += &format!(
        "  void *scratch = {up}_SCRATCH_BYTES ? aligned_alloc(16, ({up}_SCRATCH_BYTES + 15) / 16 * 16) : NULL;\n"
    );
    c += &format!("  {name}(ins, outs, scratch);\n");
    for k in 0..n_out {
        c += &format!(
            "  for (size_t i = 0; i < {up}_OUTPUT{k}_SIZE; i++) {{ uint32_t b; memcpy(&b, &out{k}[i], 4); printf(\"%s%08x\", i ? \" \" : \"\", b); }}\n  printf(\"\\n\");\n"
        );
    }
    c += "  return 0;\n}\n";
    let c = c.replace(
        "#include <stdlib.h>\n",
        "#include <stdlib.h>\n#include <string.h>\n",
    );
    std::fs::write(dir.join("main.c"), c).unwrap();
    let Some(cc) = c_compiler() else {
        panic!("no C compiler found (set CC): this test must link the object with one");
    };
    let prog = dir.join("prog");
    let out = Command::new(&cc)
        .current_dir(&dir)
        .args(["-std=c11", "-Wall", "-Werror", "-O1", "main.c"])
        .arg(&obj)
        .arg(runtime_staticlib())
        .args(["-lm", "-lpthread", "-ldl", "-o"])
        .arg(&prog)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&prog).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            l.split_whitespace()
                .map(|w| u32::from_str_radix(w, 16).unwrap())
                .collect()
        })
        .collect()
}

fn bits(a: &Array) -> Vec<u32> {
    a.to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|x| x.to_bits())
        .collect()
}

#[test]
fn the_mlp_gradient_linked_into_a_c_program_gives_jits_bits() {
    let (n, d_in, hidden, d_out) = (16, 4, 8, 2);
    let p: Params = (
        data(&[d_in, hidden], 0.1),
        data(&[hidden], 0.2),
        data(&[hidden, d_out], 0.3),
        data(&[d_out], 0.4),
    );
    let (x, y) = (data(&[n, d_in], 0.5), data(&[n, d_out], 0.6));
    let f = jit(grad(loss));
    let compiled = f
        .lower((p.clone(), x.clone(), y.clone()))
        .unwrap()
        .compile()
        .unwrap();
    assert!(compiled.kernels_summary().contains("(gemm)"));
    let args = (p, x, y);
    let got = run_in_c("mlp_grad", &compiled, &args.leaves());
    let want = f.call(args).unwrap().leaves();
    assert_eq!(got.len(), 4);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(*g, bits(w));
    }
}

#[test]
fn a_while_loop_linked_into_a_c_program_gives_jits_bits() {
    // Newton's iteration for sqrt(a) with a data-dependent stopping rule, and a count; the
    // first guess scales `a` by a captured constant array (data in the object file).
    let scale = Array::from_slice(&[0.5f32, 0.25, 1.0, 0.125, 2.0]);
    let f = jit(move |a: &Array| -> (Array, Array) {
        or_raise(while_loop(
            |c: &(Array, Array)| {
                let r = &c.0;
                jnp::logical_and(
                    jnp::greater(jnp::max(jnp::abs(r * r - a), None, false), 1e-5f32),
                    jnp::less(&c.1, 50.0f32),
                )
            },
            |c: &(Array, Array)| ((&c.0 + a / &c.0) * 0.5, &c.1 + 1.0),
            (a * &scale, Array::scalar(0.0f32)),
        ))
    });
    let a = Array::from_slice(&[2.0f32, 9.0, 0.25, 30.0, 1.0]);
    let compiled = f.lower((a.clone(),)).unwrap().compile().unwrap();
    assert!(compiled.kernels_summary().contains("while"));
    assert_eq!(compiled.jaxpr().consts.len(), 1, "{}", compiled.jaxpr());
    let got = run_in_c("newton_sqrt", &compiled, std::slice::from_ref(&a));
    let (r, count) = f.call((a,)).unwrap();
    assert_eq!(got, vec![bits(&r), bits(&count)]);
    assert!(count.item::<f32>().unwrap() > 2.0, "the loop ran");
}

#[test]
fn runtime_special_functions_link_into_a_c_program() {
    // lgamma, erf and a float rem compile to calls of the runtime's scalar functions, which an
    // object file imports by name from libcranax_runtime.a.
    let f = jit(|x: &Array| {
        let y = jnp::remainder(special::gammaln(x) + special::erf(x), 0.75f32);
        jnp::tanh(&y)
    });
    let x = Array::from_slice(&[0.3f32, 1.5, 2.25, 7.0, 12.5, 0.01]);
    let compiled = f.lower((x.clone(),)).unwrap().compile().unwrap();
    let got = run_in_c("special", &compiled, std::slice::from_ref(&x));
    let want = f.call((x,)).unwrap();
    assert_eq!(got, vec![bits(&want)]);
}

#[test]
fn objects_for_other_targets_and_bad_options() {
    let f = jit(|x: &Array, w: &Array| jnp::tanh(x.matmul(w)));
    let s = |sh: &[usize]| -> Array { ShapeDtypeStruct::new(sh, DType::F32).into() };
    let lowered = f.lower((s(&[3, 4]), s(&[4, 5]))).unwrap();
    let dir = work_dir("targets");
    // ELF e_machine: 0x3e x86-64, 0xb7 aarch64.
    for (triple, machine) in [
        ("x86_64-unknown-linux-gnu", 0x3eu16),
        ("aarch64-unknown-linux-gnu", 0xb7),
    ] {
        let path = dir.join(format!("{triple}.o"));
        let e = lowered
            .export(&path, &ExportOptions::named("f").target(triple))
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes, e.object);
        assert_eq!(&bytes[..4], b"\x7fELF");
        assert_eq!(
            u16::from_le_bytes([bytes[18], bytes[19]]),
            machine,
            "{triple}"
        );
        let header = std::fs::read_to_string(path.with_extension("h")).unwrap();
        assert!(header.contains("#define F_INPUT1_DIMS {4, 5}"), "{header}");
        assert!(header.contains("typedef float f_output0_t;"), "{header}");
        assert!(header.contains("#define F_NUM_OUTPUTS 1"), "{header}");
    }
    let e = lowered
        .export(dir.join("x.o"), &ExportOptions::named("not an identifier"))
        .unwrap_err();
    assert!(e.to_string().contains("is not a C identifier"), "{e}");
    let e = lowered
        .export(
            dir.join("x.o"),
            &ExportOptions::named("f").target("riscv64gc-unknown-linux-gnu"),
        )
        .unwrap_err();
    assert!(e.to_string().contains("is not supported"), "{e}");
    let e = lowered
        .export(
            dir.join("x.o"),
            &ExportOptions::named("f").target("not-a-triple-at-all"),
        )
        .unwrap_err();
    assert!(e.to_string().contains("bad target triple"), "{e}");
    let e = lowered
        .export(dir.join("no/such/dir/x.o"), &ExportOptions::named("f"))
        .unwrap_err();
    assert!(e.to_string().contains("cannot write"), "{e}");
}
