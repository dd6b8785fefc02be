//! The `cranax` command: run, transform, compile and time jaxprs read from files (as JAX or
//! cranax print them). `cranax --help` and `cranax <command> --help` describe each command.

use clap::{Args, Parser, Subcommand, ValueEnum};
use cranax::core::error::or_raise;
use cranax::ir::parse::parse;
use cranax::{
    eval_jaxpr, grad, hessian, jacfwd, jacrev, jit, jvp, make_jaxpr, vjp, vmap, Array, Aval, Axes,
    ClosedJaxpr, Error, Function, Result,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "cranax",
    version,
    about = "Run, differentiate, batch and compile jaxprs read from files",
    long_about = "Run, differentiate, batch and compile jaxprs read from files.\n\nA jaxpr file holds one jaxpr as cranax or JAX (0.4-0.10) prints it: `print(jax.make_jaxpr(f)(x))` in Python, or `make_jaxpr(f).call(..)` printed in Rust. Lines starting with `#` are comments. A jaxpr with constvars takes their values first, as its leading arguments."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate the jaxpr on arguments and print its outputs (compiled with jit unless --eager)
    Run(RunArgs),
    /// Print the jaxpr of grad(f) (f must have one scalar output)
    Grad(TransformArgs),
    /// Print the jaxpr of (primals, tangents) -> (outputs, output tangents)
    Jvp(TransformArgs),
    /// Print the jaxpr of (primals, output cotangents) -> cotangents of the inputs
    Vjp(TransformArgs),
    /// Print the jaxpr of vmap(f) over a new axis of the inputs given by --in-axes
    Vmap(VmapArgs),
    /// Print the jaxpr of hessian(f) with respect to one argument
    Hessian(TransformArgs),
    /// Print the jaxpr of jacfwd(f) with respect to one argument
    Jacfwd(TransformArgs),
    /// Print the jaxpr of jacrev(f) with respect to one argument
    Jacrev(TransformArgs),
    /// Compile the jaxpr with Cranelift and print its Cranelift IR or machine code
    Compile(CompileArgs),
    /// Time the first call (trace and compile included) and the cached calls
    Bench(BenchArgs),
}

#[derive(Args)]
struct RunArgs {
    /// The jaxpr file
    file: PathBuf,
    /// The arguments, in order: numbers or nested lists (`3.0`, `'[1, 2]'`, `'[[1.0], [2.0]]'`,
    /// `True`), or paths of .npy files. Their dtypes are the jaxpr's input types.
    #[arg(long, num_args = 0.., allow_negative_numbers = true)]
    args: Vec<String>,
    /// Evaluate with the reference interpreter instead of compiling
    #[arg(long)]
    eager: bool,
    /// Also write each output to DIR/out<i>.npy
    #[arg(long, value_name = "DIR")]
    save_npy: Option<PathBuf>,
}

#[derive(Args)]
struct TransformArgs {
    /// The jaxpr file
    file: PathBuf,
    /// The arguments to differentiate with respect to, comma-separated (`0,1`); default 0
    #[arg(long, value_delimiter = ',', default_value = "0")]
    argnums: Vec<usize>,
}

#[derive(Args)]
struct VmapArgs {
    /// The jaxpr file
    file: PathBuf,
    /// Per argument, the axis of the batched input that is mapped over, or None (not batched),
    /// comma-separated (`0,None`); default 0 for every argument
    #[arg(long, value_delimiter = ',')]
    in_axes: Vec<String>,
    /// The size of the mapped axis
    #[arg(long, default_value_t = 2)]
    axis_size: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// Cranelift IR
    Clif,
    /// Cranelift's listing of the machine code
    Asm,
    /// A relocatable object file and C header (ahead-of-time export)
    Obj,
}

#[derive(Args)]
struct CompileArgs {
    /// The jaxpr file
    file: PathBuf,
    /// The input types, comma-separated (`f32[3,4],f32[4]`). A jaxpr is typed: when given,
    /// they must be its input types (a check that the file is the one you mean).
    #[arg(long)]
    shapes: Option<String>,
    /// What to emit
    #[arg(long, value_enum, default_value = "clif")]
    emit: Emit,
    /// Write to this file instead of standard output (`--emit obj`: the object, with its C
    /// header beside it; default FILE.o)
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// For `--emit obj`: the target triple (`x86_64-unknown-linux-gnu`,
    /// `aarch64-unknown-linux-gnu`, ...); default: this machine
    #[arg(long)]
    target: Option<String>,
}

#[derive(Args)]
struct BenchArgs {
    /// The jaxpr file
    file: PathBuf,
    /// The arguments, as for `run`
    #[arg(long, num_args = 0.., allow_negative_numbers = true)]
    args: Vec<String>,
    /// How many cached calls to time
    #[arg(long, default_value_t = 1000)]
    iters: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match execute(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> Result<()> {
    match command {
        Command::Run(a) => run(a),
        Command::Grad(a) => transform(&a, Kind::Grad),
        Command::Jvp(a) => transform(&a, Kind::Jvp),
        Command::Vjp(a) => transform(&a, Kind::Vjp),
        Command::Hessian(a) => transform(&a, Kind::Hessian),
        Command::Jacfwd(a) => transform(&a, Kind::Jacfwd),
        Command::Jacrev(a) => transform(&a, Kind::Jacrev),
        Command::Vmap(a) => vmap_command(&a),
        Command::Compile(a) => compile(&a),
        Command::Bench(a) => bench(&a),
    }
}

/// Read and parse a jaxpr file; constvars become leading inputs.
fn load(path: &Path) -> Result<ClosedJaxpr> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::value_err(format!("cannot read {}: {e}", path.display())))?;
    let j = parse(&text).map_err(|e| Error::value_err(format!("{}: {e}", path.display())))?;
    let (j, _) = ClosedJaxpr::from(j).consts_as_invars();
    Ok(j)
}

/// The jaxpr as a function of a list of arrays.
fn as_fn(j: &ClosedJaxpr) -> impl Fn(&Vec<Array>) -> Vec<Array> + Clone + '_ {
    move |xs: &Vec<Array>| or_raise(eval_jaxpr(j, xs))
}

fn run(a: RunArgs) -> Result<()> {
    let j = load(&a.file)?;
    let args = read_args(&a.args, &j.in_avals())?;
    let outs = if a.eager {
        eval_jaxpr(&j, &args)?
    } else {
        jit(as_fn(&j)).call((args,))?
    };
    for (i, o) in outs.iter().enumerate() {
        println!("{o}");
        if let Some(dir) = &a.save_npy {
            cranax::io::save_npy(dir.join(format!("out{i}.npy")), o)?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Kind {
    Grad,
    Jvp,
    Vjp,
    Hessian,
    Jacfwd,
    Jacrev,
}

/// Example arguments of these types (only their types matter to tracing).
fn examples(avals: &[Aval]) -> Vec<Array> {
    avals
        .iter()
        .map(|a| Array::zeros(&a.shape, a.dtype))
        .collect()
}

fn check_argnums(argnums: &[usize], n: usize) -> Result<()> {
    match argnums.iter().find(|&&i| i >= n) {
        Some(i) => Err(Error::value_err(format!(
            "argnums {i} is out of range for a function of {n} arguments"
        ))),
        None if argnums.is_empty() => Err(Error::value_err("argnums must not be empty")),
        None => Ok(()),
    }
}

/// `f` of all arguments, as a function of those at `argnums` (the others fixed).
fn merge(argnums: &[usize], wrt: &[Array], all: &[Array]) -> Vec<Array> {
    let mut xs = all.to_vec();
    for (&i, x) in argnums.iter().zip(wrt) {
        xs[i] = x.clone();
    }
    xs
}

fn transform(a: &TransformArgs, kind: Kind) -> Result<()> {
    let j = load(&a.file)?;
    let avals = j.in_avals();
    let f = as_fn(&j);
    let argnums = &a.argnums;
    let one_output = |outs: Vec<Array>| -> Array {
        if outs.len() != 1 {
            cranax::core::error::raise(Error::type_err(format!(
                "this transformation needs a function with one output; the jaxpr has {}",
                outs.len()
            )));
        }
        outs.into_iter().next().expect("one output")
    };
    let traced = match kind {
        Kind::Grad => {
            check_argnums(argnums, avals.len())?;
            make_jaxpr(|all: &Vec<Array>| {
                let wrt: Vec<Array> = argnums.iter().map(|&i| all[i].clone()).collect();
                let g = grad(|w: &Vec<Array>| one_output(f(&merge(argnums, w, all))));
                or_raise(g.call((wrt,)))
            })
            .call((examples(&avals),))?
        }
        Kind::Jvp => make_jaxpr(|p: &Vec<Array>, t: &Vec<Array>| {
            let (o, to) = or_raise(jvp(&f, (p.clone(),), (t.clone(),)));
            (o, to)
        })
        .call((examples(&avals), examples(&avals)))?,
        Kind::Vjp => {
            let out_avals: Vec<Aval> = j.out_avals().into_iter().map(|a| a.weak(false)).collect();
            make_jaxpr(|p: &Vec<Array>, ct: &Vec<Array>| {
                let (_, pullback) = or_raise(vjp(&f, (p.clone(),)));
                or_raise(pullback.vjp(ct.clone())).0
            })
            .call((examples(&avals), examples(&out_avals)))?
        }
        Kind::Hessian | Kind::Jacfwd | Kind::Jacrev => {
            check_argnums(argnums, avals.len())?;
            let [i] = argnums[..] else {
                return Err(Error::value_err(
                    "hessian, jacfwd and jacrev take one argument number (--argnums N)",
                ));
            };
            make_jaxpr(|all: &Vec<Array>| {
                let g = |x: &Array| {
                    let xs = merge(&[i], std::slice::from_ref(x), all);
                    one_output(f(&xs))
                };
                or_raise(match kind {
                    Kind::Hessian => hessian(g).call((all[i].clone(),)),
                    Kind::Jacfwd => jacfwd(g).call((all[i].clone(),)),
                    _ => jacrev(g).call((all[i].clone(),)),
                })
            })
            .call((examples(&avals),))?
        }
    };
    println!("{traced}");
    Ok(())
}

fn vmap_command(a: &VmapArgs) -> Result<()> {
    let j = load(&a.file)?;
    let avals = j.in_avals();
    let axes: Vec<Option<isize>> = if a.in_axes.is_empty() {
        vec![Some(0); avals.len()]
    } else {
        a.in_axes
            .iter()
            .map(|s| match s.trim() {
                "None" | "none" => Ok(None),
                t => t.parse::<isize>().map(Some).map_err(|_| {
                    Error::value_err(format!("--in-axes: `{t}` is not an integer or None"))
                }),
            })
            .collect::<Result<_>>()?
    };
    if axes.len() != avals.len() {
        return Err(Error::value_err(format!(
            "--in-axes has {} entries but the jaxpr takes {} arguments",
            axes.len(),
            avals.len()
        )));
    }
    let batched: Vec<Aval> = avals
        .iter()
        .zip(&axes)
        .map(|(aval, ax)| match ax {
            None => Ok(aval.clone()),
            Some(ax) => {
                let nd = aval.shape.len() as isize + 1;
                let at = if *ax < 0 { ax + nd } else { *ax };
                if !(0..nd).contains(&at) {
                    return Err(Error::value_err(format!(
                        "in_axes {ax} is out of range for an input of type {aval} (batched rank {nd})"
                    )));
                }
                let mut shape = aval.shape.clone();
                shape.insert(at as usize, a.axis_size);
                Ok(Aval::new(shape, aval.dtype))
            }
        })
        .collect::<Result<_>>()?;
    let f = as_fn(&j);
    let traced = make_jaxpr(|xs: &Vec<Array>| {
        or_raise(
            vmap(&f)
                .in_axes(Axes::PerLeaf(axes.clone()))
                .axis_size(a.axis_size)
                .call((xs.clone(),)),
        )
    })
    .call((examples(&batched),))?;
    println!("{traced}");
    Ok(())
}

/// Parse `f32[3,4],f32[4]` into types.
fn parse_shapes(s: &str) -> Result<Vec<Aval>> {
    let wrapped = format!("{{ lambda ; {}. let in () }}", {
        let mut names = Vec::new();
        let mut depth = 0;
        let mut cur = String::new();
        for c in s.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            }
            if c == ',' && depth == 0 {
                names.push(std::mem::take(&mut cur));
            } else {
                cur.push(c);
            }
        }
        names.push(cur);
        names
            .iter()
            .enumerate()
            .map(|(i, t)| format!("x{i}:{}", t.trim()))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let j = parse(&wrapped).map_err(|e| {
        Error::value_err(format!(
            "--shapes `{s}` should be types such as f32[3,4],i32[] ({e})"
        ))
    })?;
    Ok(j.in_avals())
}

fn compile(a: &CompileArgs) -> Result<()> {
    let j = load(&a.file)?;
    if let Some(shapes) = &a.shapes {
        let want = parse_shapes(shapes)?;
        let have = j.in_avals();
        let same = want.len() == have.len()
            && want
                .iter()
                .zip(&have)
                .all(|(w, h)| w.shape == h.shape && w.dtype == h.dtype);
        if !same {
            let show = |xs: &[Aval]| {
                xs.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            return Err(Error::type_err(format!(
                "--shapes {} do not match the jaxpr's input types {}",
                show(&want),
                show(&have)
            )));
        }
    }
    if let Emit::Obj = a.emit {
        let out = a
            .output
            .clone()
            .unwrap_or_else(|| a.file.with_extension("o"));
        return emit_object(&j, &out, a.target.as_deref());
    }
    if let Emit::Asm = a.emit {
        // Cranelift keeps its listing of the machine code only when asked before compiling.
        std::env::set_var("CRANAX_JIT_DISASM", "1");
    }
    let exe = cranax::backend::compile(&j)?;
    let text = match a.emit {
        Emit::Clif => exe.clif_ir().to_string(),
        Emit::Asm => exe
            .disassembly()
            .map(str::to_string)
            .ok_or_else(|| Error::Jit("no machine code listing was produced".into()))?,
        Emit::Obj => unreachable!("handled above"),
    };
    match &a.output {
        Some(path) => std::fs::write(path, &text)
            .map_err(|e| Error::value_err(format!("cannot write {}: {e}", path.display())))?,
        None => print!("{text}"),
    }
    eprintln!(
        "compiled in {} ({} kernels, {} bytes of machine code)",
        show_duration(exe.compile_time()),
        exe.num_kernels(),
        exe.machine_code().len()
    );
    Ok(())
}

/// `--emit obj`: the ahead-of-time export: a relocatable object with one C entry point named
/// after the file (`loss.jaxpr` → `void loss(inputs, outputs, scratch)`) and its header beside
/// it (`OUT.h`), for `target` or this machine.
fn emit_object(jaxpr: &ClosedJaxpr, out: &Path, target: Option<&str>) -> Result<()> {
    let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("f");
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name.insert(0, '_');
    }
    let mut opts = cranax::ExportOptions::named(name.as_str());
    if let Some(t) = target {
        opts = opts.target(t);
    }
    let start = Instant::now();
    let exported = cranax::backend::export_object(jaxpr, &opts)?;
    exported.write(out)?;
    eprintln!(
        "wrote {} and {} (entry point `{name}`, {} bytes) in {}",
        out.display(),
        out.with_extension("h").display(),
        exported.object.len(),
        show_duration(start.elapsed())
    );
    Ok(())
}

fn bench(a: &BenchArgs) -> Result<()> {
    let j = load(&a.file)?;
    let args = read_args(&a.args, &j.in_avals())?;
    let f = jit(as_fn(&j));
    let start = Instant::now();
    f.call((args.clone(),))?;
    let first = start.elapsed();
    let iters = a.iters.max(1);
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        f.call((args.clone(),))?;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "first call (trace + compile + run): {}",
        show_duration(first)
    );
    println!(
        "cached call: median {}, min {} over {iters} calls",
        show_duration(times[iters / 2]),
        show_duration(times[0])
    );
    Ok(())
}

fn show_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.2} µs", s * 1e6)
    }
}

/// The command-line arguments as arrays of the jaxpr's input types.
fn read_args(args: &[String], avals: &[Aval]) -> Result<Vec<Array>> {
    if args.len() != avals.len() {
        let want: Vec<String> = avals.iter().map(|a| a.to_string()).collect();
        return Err(Error::value_err(format!(
            "the jaxpr takes {} arguments ({}) but {} were given with --args",
            avals.len(),
            want.join(", "),
            args.len()
        )));
    }
    args.iter()
        .zip(avals)
        .enumerate()
        .map(|(i, (s, aval))| {
            let x = if s.ends_with(".npy") {
                cranax::io::load_npy(s)?
            } else {
                cranax::io::parse_array(s, aval.dtype)
                    .map_err(|e| Error::value_err(format!("argument {i} `{s}`: {e}")))?
            };
            if x.shape() != aval.shape.as_slice() || x.dtype() != aval.dtype {
                return Err(Error::type_err(format!(
                    "argument {i} has type {} but the jaxpr takes {aval}",
                    x.aval()
                )));
            }
            Ok(x)
        })
        .collect()
}
