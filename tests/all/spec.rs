//! The WebAssembly core spec suite, through the same runner as
//! `fxtime wast`, minus the scripts in `tests/spec/skip.txt`.

use fxtime::Config;
use fxtime_tests::{shared_dir, tests_dir, with_big_stack, with_ticking_epoch};
use fxtime_wast::{Outcome, WastRunner};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// The skip list: script name to the features it needs.
fn skip_list() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(tests_dir().join("spec/skip.txt")).expect("read skip.txt");
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once(char::is_whitespace) {
            Some((name, reason)) => (name.to_string(), reason.trim().to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect()
}

fn scripts(dir: &str) -> Vec<PathBuf> {
    let dir = shared_dir().join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wast"))
        .collect();
    files.sort();
    files
}

fn name(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// How modules reach the scripts, and how they run.
#[derive(Clone, Copy)]
enum Loading {
    /// Compiled in the process.
    Compiled,
    /// Compiled, serialized and deserialized (`WastRunner::precompiled`).
    Precompiled,
    /// Compiled in the process, and interrupted at their checks all the
    /// time (`WastRunner::interrupted`, a thread advancing the epoch).
    Interrupted,
}

/// Runs `files` on two threads; returns each file's outcome.
fn run_all(files: &[PathBuf], config: &Config, loading: Loading) -> Vec<(PathBuf, Outcome)> {
    let queue = Mutex::new(files.iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let Some(file) = queue.lock().unwrap().next() else {
                        break;
                    };
                    let outcome = with_big_stack(|| {
                        let mut runner = WastRunner::new(config).expect("runner");
                        runner.precompiled(matches!(loading, Loading::Precompiled));
                        if !matches!(loading, Loading::Interrupted) {
                            return runner.run_file(file);
                        }
                        runner.interrupted(true);
                        let engine = runner.engine().clone();
                        with_ticking_epoch(&engine, || runner.run_file(file))
                    });
                    results.lock().unwrap().push((file.clone(), outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results
}

/// Every failure of running `files` with `config`, a line each.
fn failures(files: &[PathBuf], config: &Config, loading: Loading) -> String {
    run_all(files, config, loading)
        .iter()
        .flat_map(|(_, outcome)| &outcome.failures)
        .map(|failure| format!("{failure}\n"))
        .collect()
}

/// The suite again with fuel and epoch checks compiled in, and firing all
/// the time: a thread advances the epoch every 100 us, each deadline's
/// callback lets wasm go on, and fuel (unlimited) is handed to wasm 1,000
/// units at a time. The checks change every function's control flow, and
/// their slow paths save and restore whatever wasm holds in registers
/// (vectors included); none of it may change a result.
#[test]
fn core_suite_with_fuel_and_epoch_checks() {
    let skip = skip_list();
    let files: Vec<PathBuf> = scripts("spec/testsuite")
        .into_iter()
        .filter(|f| !skip.contains_key(&name(f)))
        .collect();
    let mut config = Config::new();
    config.consume_fuel(true).epoch_interruption(true);
    let report = failures(&files, &config, Loading::Interrupted);
    assert!(report.is_empty(), "failures with the checks:\n{report}");
}

/// The suite again with every module loaded from its precompiled form:
/// loaded code must behave exactly as freshly compiled code.
#[test]
fn core_suite_through_precompiled_modules() {
    let skip = skip_list();
    let files: Vec<PathBuf> = scripts("spec/testsuite")
        .into_iter()
        .filter(|f| !skip.contains_key(&name(f)))
        .collect();
    let report = failures(&files, &Config::new(), Loading::Precompiled);
    assert!(
        report.is_empty(),
        "failures of precompiled modules:\n{report}"
    );
}

/// The relaxed SIMD scripts again with deterministic results: each of
/// their assertions accepts the deterministic result, so both modes must
/// pass them all.
#[test]
fn relaxed_simd_scripts_deterministic() {
    let files: Vec<PathBuf> = scripts("spec/testsuite")
        .into_iter()
        .filter(|f| name(f).contains("relaxed"))
        .collect();
    assert!(files.len() >= 7, "the relaxed SIMD scripts are missing");
    let mut config = Config::new();
    config.relaxed_simd_deterministic(true);
    let report = failures(&files, &config, Loading::Compiled);
    assert!(report.is_empty(), "deterministic relaxed SIMD:\n{report}");
}

#[test]
fn core_suite() {
    let skip = skip_list();
    let files = scripts("spec/testsuite");
    assert!(files.len() > 200, "the core suite is missing");
    let for_skip = |skipped: bool| -> Vec<PathBuf> {
        files
            .iter()
            .filter(|f| skip.contains_key(&name(f)) == skipped)
            .cloned()
            .collect()
    };
    let config = Config::new();

    let mut total = Outcome::default();
    let mut report = String::new();
    for (file, outcome) in run_all(&for_skip(false), &config, Loading::Compiled) {
        for failure in &outcome.failures {
            report.push_str(&format!("{failure}\n"));
        }
        if outcome.total() == 0 {
            report.push_str(&format!("{}: ran no assertion\n", file.display()));
        }
        total.merge(outcome);
    }
    println!(
        "core suite: {} passed, {} failed ({} scripts, {} skipped)",
        total.passed,
        total.failed,
        files.len() - skip.len(),
        skip.len()
    );
    assert!(report.is_empty(), "core suite failures:\n{report}");

    // Skipped scripts must still be handled gracefully (a panic would be a
    // failure labelled by the runner), and still fail.
    let mut now_passing = Vec::new();
    let mut panics = String::new();
    for (file, outcome) in run_all(&for_skip(true), &config, Loading::Compiled) {
        if outcome.is_success() {
            now_passing.push(name(&file));
        }
        for failure in &outcome.failures {
            if failure.message.starts_with("panic") {
                panics.push_str(&format!("{failure}\n"));
            }
        }
    }
    assert!(panics.is_empty(), "the engine panicked:\n{panics}");
    assert!(
        now_passing.is_empty(),
        "these scripts pass now; take them off tests/spec/skip.txt: {now_passing:?}"
    );
    let missing: Vec<_> = skip
        .keys()
        .filter(|s| !files.iter().any(|f| &name(f) == *s))
        .collect();
    assert!(
        missing.is_empty(),
        "skip.txt names unknown scripts: {missing:?}"
    );
}
