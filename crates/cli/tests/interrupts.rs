//! `fxtime run` keeps runaway programs in bounds: `-W timeout`, `-W fuel`
//! and the `-W max-*` limits, on the programs in `tests/runaway`.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn program(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/runaway");
    path.join(name).to_string_lossy().into_owned()
}

/// Runs fxtime; returns its output and how long it took.
fn fxtime(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_fxtime"))
        .args(args)
        .output()
        .expect("run fxtime");
    (out, started.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Each runaway program stops within 300 ms of a 100 ms deadline, as a
/// trap "interrupt" (exit code 134), however many continuations deep it
/// runs. The time a program that ends at once takes (start, compilation)
/// is subtracted, so that a loaded machine does not fail the test.
#[test]
fn a_timeout_stops_loops_on_any_stack() {
    let (done, baseline) = fxtime(&[
        "run",
        "-W",
        "stack-switching,max-table-elements=10",
        "--invoke",
        "grow_table",
        &program("grow_forever.wat"),
    ]);
    assert!(done.status.success(), "{}", stderr(&done));
    for name in [
        "loop.wat",
        "deep_loop.wat",
        "switch_forever.wat",
        "resume_forever.wat",
    ] {
        let (out, took) = fxtime(&["run", "-W", "stack-switching,timeout=100ms", &program(name)]);
        assert_eq!(out.status.code(), Some(134), "{name}: {}", stderr(&out));
        let message = stderr(&out);
        assert!(
            message.contains("wasm trap: interrupt"),
            "{name}: {message}"
        );
        let late = took.saturating_sub(baseline + Duration::from_millis(100));
        assert!(
            late < Duration::from_millis(300),
            "{name}: stopped {late:?} after its deadline"
        );
    }
}

#[test]
fn fuel_stops_a_loop() {
    let (out, _) = fxtime(&["run", "-W", "fuel=100000", &program("loop.wat")]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(stderr(&out).contains("all fuel consumed by WebAssembly"));
}

#[test]
fn continuations_created_for_ever_stop_at_the_limit() {
    let (out, _) = fxtime(&[
        "run",
        "-W",
        "stack-switching,max-continuations=1000",
        &program("spawn_forever.wat"),
    ]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(stderr(&out).contains("limit on live continuations (max-continuations)"));
    let (out, _) = fxtime(&[
        "run",
        "-W",
        "stack-switching,max-continuation-stack-bytes=16M",
        &program("spawn_forever.wat"),
    ]);
    assert_eq!(out.status.code(), Some(134), "{}", stderr(&out));
    assert!(stderr(&out).contains("max-continuation-stack-bytes"));
}

#[test]
fn memories_tables_and_instances_are_limited() {
    let grow = program("grow_forever.wat");
    let (out, _) = fxtime(&[
        "run",
        "-W",
        "max-memory-size=1M",
        "--invoke",
        "grow_memory",
        &grow,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "16\n");
    let (out, _) = fxtime(&[
        "run",
        "-W",
        "max-table-elements=100",
        "--invoke",
        "grow_table",
        &grow,
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "100\n");
    let (out, _) = fxtime(&[
        "run",
        "-W",
        "max-memory-size=1M,trap-on-grow-failure",
        "--invoke",
        "grow_memory",
        &grow,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("exceeds the store's limit of 1048576"),
        "{}",
        stderr(&out)
    );
    let (out, _) = fxtime(&["run", "-W", "max-instances=0", &grow]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("instance count exceeds"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_values_are_clear_errors() {
    let grow = program("grow_forever.wat");
    for (flag, expected) in [
        ("timeout=soon", "expected a duration"),
        ("fuel=-1", "expected an amount of fuel"),
        ("max-continuations=many", "expected a number"),
    ] {
        let (out, _) = fxtime(&["run", "-W", flag, &grow]);
        assert!(!out.status.success(), "{flag}");
        assert!(stderr(&out).contains(expected), "{flag}: {}", stderr(&out));
    }
    let (out, _) = fxtime(&["wast", "-W", "fuel=10", &grow]);
    assert!(
        stderr(&out).contains("apply to `fxtime run` only"),
        "{}",
        stderr(&out)
    );
}
