//! `fxtime-fuzz`: generates random stack-switching programs whose output
//! it knows from its own model of them (`model`), runs each on fxtime,
//! and reports every program whose run differs, shrunk to a small case.
//!
//! ```sh
//! cargo run --release -p fxtime-fuzz -- --seconds 60 --seed 1
//! ```
//!
//! Its last line is `P programs, D divergences`.

mod model;
mod program;
mod rng;
mod run;
mod wat;

use anyhow::Result;
use clap::Parser;
use program::Program;
use rng::Rng;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use wat::Target;

#[derive(Parser)]
#[command(about = "Runs random stack-switching programs on fxtime against their model")]
struct Args {
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The first seed: program i is generated from seed + i.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop after this many programs.
    #[arg(long)]
    programs: Option<u64>,
    /// Also run each program's portable form (no GC objects, no imports)
    /// on this `wasmtime` binary, against the same model.
    #[arg(long)]
    wasmtime: Option<PathBuf>,
}

/// What the programs run on.
struct Runners {
    fxtime: run::Engines,
    /// The `wasmtime` binary, and a directory for its input.
    wasmtime: Option<(PathBuf, PathBuf)>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let wasmtime = match args.wasmtime {
        Some(path) => {
            let dir = std::env::temp_dir().join(format!("fxtime-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            Some((path, dir))
        }
        None => None,
    };
    let engines = Runners {
        fxtime: run::Engines::new()?,
        wasmtime,
    };
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let (mut programs, mut divergences) = (0u64, 0u64);
    let mut stats = Stats::default();
    while Instant::now() < deadline && args.programs.is_none_or(|max| programs < max) {
        let seed = args.seed + programs;
        programs += 1;
        for report in check_seed(&engines, seed, &mut stats) {
            divergences += 1;
            println!("{report}");
        }
    }
    let c = stats.counts;
    println!(
        "seeds {}..{}: {} returned, {} trapped, {} threw out; {} values logged; \
         {} continuations, {} suspensions ({} forwarded), {} abandoned, {} answered with an exception, \
         {} switches ({} peers returned in place)",
        args.seed,
        args.seed + programs,
        stats.returned,
        stats.trapped,
        stats.uncaught,
        stats.logged,
        c.spawned,
        c.suspensions,
        c.forwarded,
        c.abandoned,
        c.thrown_in,
        c.switches,
        c.finished
    );
    println!("traps: {:?}", stats.traps);
    if let Some((_, dir)) = &engines.wasmtime {
        // Best effort: only the last program's text is left in it.
        let _ = std::fs::remove_dir_all(dir);
        println!(
            "divergences: {} of fxtime, {} of wasmtime",
            stats.fxtime_divergences, stats.wasmtime_divergences
        );
    }
    println!("{programs} programs, {divergences} divergences");
    Ok(())
}

/// The program, start value and mode of `seed`: a quarter of the seeds
/// run with the GC stress mode, another quarter crowded.
fn case(seed: u64) -> (Program, i32, run::Mode) {
    let mut rng = Rng::new(seed);
    let program = Program::generate(&mut rng);
    let acc = rng.below(1 << 16) as i32;
    let mode = run::Mode {
        stress: seed.is_multiple_of(4),
        crowded: seed % 4 == 2,
    };
    (program, acc, mode)
}

/// Why fxtime's run of `program` diverges from its model, if it does.
fn fxtime_divergence(
    engines: &Runners,
    program: &Program,
    acc: i32,
    mode: run::Mode,
) -> Option<String> {
    let (expected, _) = model::expected(program, acc);
    let text = wat::module(program, Target::Fxtime);
    match run::run(&engines.fxtime, &text, acc, mode) {
        Ok(got) if got == expected => None,
        Ok(got) => Some(format!("expected {expected:?}\n     got {got:?}")),
        Err(err) => Some(format!("expected {expected:?}\n  failed: {err:?}")),
    }
}

/// The outcome of `program`'s portable form that its model predicts.
fn portable_expected(program: &Program, acc: i32) -> model::Outcome {
    let (expected, _) = model::expected(program, acc);
    match expected.outcome {
        model::Outcome::Returned(value) => {
            model::Outcome::Returned(wat::portable_result(value, &expected.log))
        }
        other => other,
    }
}

/// Why Wasmtime's run of `program`'s portable form diverges from the
/// model, if it does (with what fxtime gives for the same text).
fn wasmtime_divergence(engines: &Runners, program: &Program, acc: i32) -> Option<String> {
    let (wasmtime, dir) = engines.wasmtime.as_ref()?;
    let expected = portable_expected(program, acc);
    let text = wat::module(program, Target::Portable);
    let got = match run::run_wasmtime(wasmtime, &text, acc, dir) {
        Ok(got) if got == expected => return None,
        Ok(got) => format!("{got:?}"),
        Err(err) => format!("failed: {err:?}"),
    };
    let fxtime = run::run(&engines.fxtime, &text, acc, run::Mode::default()).map(|run| run.outcome);
    Some(format!(
        "expected {expected:?}\n wasmtime {got}\n   fxtime {fxtime:?} (same text)"
    ))
}

/// The smallest program found, from `program` down by one step at a
/// time, that `diverges` still reports, with its report.
fn shrink(
    mut program: Program,
    mut why: String,
    diverges: impl Fn(&Program) -> Option<String>,
) -> (Program, String) {
    'shrink: loop {
        for smaller in program.smaller() {
            if let Some(reason) = diverges(&smaller) {
                program = smaller;
                why = reason;
                continue 'shrink;
            }
        }
        return (program, why);
    }
}

/// How the programs run ended, and how much they did.
#[derive(Default)]
struct Stats {
    returned: u64,
    trapped: u64,
    /// Trap messages, each with how many programs it ended.
    traps: std::collections::BTreeMap<String, u64>,
    uncaught: u64,
    logged: u64,
    counts: model::Counts,
    fxtime_divergences: u64,
    wasmtime_divergences: u64,
}

/// Reports of `seed`'s divergences (fxtime's, and Wasmtime's when it
/// runs too), each with the smallest program found that still diverges.
fn check_seed(engines: &Runners, seed: u64, stats: &mut Stats) -> Vec<String> {
    let (program, acc, mode) = case(seed);
    let (expected, counts) = model::expected(&program, acc);
    stats.logged += expected.log.len() as u64;
    stats.counts += counts;
    match expected.outcome {
        model::Outcome::Returned(_) => stats.returned += 1,
        model::Outcome::Trap(message) => {
            stats.trapped += 1;
            *stats.traps.entry(message.to_string()).or_default() += 1;
        }
        model::Outcome::Failed(_) => unreachable!("the model never fails"),
        model::Outcome::Uncaught => stats.uncaught += 1,
    }
    let mut reports = Vec::new();
    let fxtime = |p: &Program| fxtime_divergence(engines, p, acc, mode);
    if let Some(why) = fxtime(&program) {
        stats.fxtime_divergences += 1;
        let (small, why) = shrink(program.clone(), why, fxtime);
        reports.push(format!(
            "divergence of fxtime: seed {seed}, main({acc}), {mode:?}\n{why}\n{}",
            wat::module(&small, Target::Fxtime)
        ));
    }
    let wasmtime = |p: &Program| wasmtime_divergence(engines, p, acc);
    if let Some(why) = wasmtime(&program) {
        stats.wasmtime_divergences += 1;
        let (small, why) = shrink(program, why, wasmtime);
        reports.push(format!(
            "divergence of wasmtime: seed {seed}, main({acc})\n{why}\n{}",
            wat::module(&small, Target::Portable)
        ));
    }
    reports
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CI's budget: a fixed range of seeds, each program running as its
    /// model says, with suspensions, forwarding, abandonment and
    /// exceptions thrown into continuations among them.
    #[test]
    fn a_fixed_budget_of_programs_runs_as_modelled() {
        const PROGRAMS: u64 = 1500;
        let engines = Runners {
            fxtime: run::Engines::new().expect("engines"),
            wasmtime: None,
        };
        let mut stats = Stats::default();
        let failures: Vec<String> = (0..PROGRAMS)
            .flat_map(|seed| check_seed(&engines, seed, &mut stats))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let c = stats.counts;
        assert!(c.suspensions > PROGRAMS && c.forwarded > 0, "{c:?}");
        assert!(c.abandoned > 0 && c.thrown_in > 0, "{c:?}");
        assert!(c.switches > 0 && c.finished > 0, "{c:?}");
    }
}
