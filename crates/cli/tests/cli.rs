//! The `fxtime` command: exit codes and messages.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fxtime(args: &[&str]) -> Output {
    command().args(args).output().expect("run fxtime")
}

/// `fxtime`, with its compilation cache in the target directory rather
/// than the user's.
fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fxtime"));
    command.env("XDG_CACHE_HOME", cache_home());
    command
}

fn cache_home() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes `contents` to a fresh file in the target directory.
fn file(name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

const ADD: &str = r#"(module
  (func (export "add") (param i32 i64) (result i64)
    (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
  (func (export "half") (param f64) (result f64 f32)
    (f64.div (local.get 0) (f64.const 2)) (f32.const 1.5))
  (func (export "_start"))
  (func $boom (export "boom") (i32.div_u (i32.const 1) (i32.const 0)) (drop)))"#;

#[test]
fn invoke_prints_results_one_per_line() {
    let path = file("add.wat", ADD);
    let out = fxtime(&[
        "run",
        "--invoke",
        "add",
        path.to_str().unwrap(),
        "-5",
        "0x10",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "11\n");
    let out = fxtime(&["run", "--invoke", "half", path.to_str().unwrap(), "5"]);
    assert_eq!(text(&out.stdout), "2.5\n1.5\n");
    let out = fxtime(&["run", path.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn traps_print_the_message_and_backtrace() {
    let path = file("trap.wat", ADD);
    let out = fxtime(&["run", "--invoke", "boom", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(134));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: wasm trap: integer divide by zero\n"),
        "{stderr}"
    );
    assert!(stderr.contains("!boom"), "{stderr}");
}

#[test]
fn v128_on_the_command_line() {
    let wat = file(
        "v128.wat",
        r#"(module (func (export "twice") (param v128) (result v128 i32)
              (i32x4.add (local.get 0) (local.get 0))
              (i32x4.extract_lane 3 (local.get 0))))"#,
    );
    let wat = wat.to_str().unwrap();
    // Printed as Wasmtime prints it: the unsigned 128-bit integer of the
    // little-endian bytes; taken in that form or in hex.
    for arg in ["0x30000000200000001", "55340232229718589441"] {
        let out = fxtime(&["run", "--invoke", "twice", wat, arg]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "110680464459437178882\n0\n");
    }
    let out = fxtime(&["run", "--invoke", "twice", wat, "0x1g"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("cannot parse `0x1g` as v128"));
}

#[test]
fn bad_input_is_a_one_line_error() {
    let wat = file("ok.wat", ADD);
    let wat = wat.to_str().unwrap();
    let invalid = file("invalid.wat", "(module (func (result i32)))");
    let garbage = file("garbage.wasm", "\0asm\u{1}\0\0\0\u{1}\u{ff}");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", "/no/such/file.wasm"],
            "cannot read /no/such/file.wasm",
        ),
        (vec!["run", invalid.to_str().unwrap()], "type mismatch"),
        (vec!["run", garbage.to_str().unwrap()], "offset"),
        (
            vec!["run", "--invoke", "nope", wat],
            "exports no function `nope`",
        ),
        (
            vec!["run", "--invoke", "add", wat, "1"],
            "takes 2 arguments, 1 given",
        ),
        (
            vec!["run", "--invoke", "add", wat, "x", "1"],
            "cannot parse `x` as i32",
        ),
        (
            vec!["run", "-W", "threads=y", wat],
            "unsupported feature: threads",
        ),
        (
            vec!["run", "-W", "bogus", wat],
            "bogus is not a known WebAssembly feature",
        ),
        (vec!["run", "-W", "simd=maybe", wat], "expected `y` or `n`"),
        (
            vec!["run", "-W", "continuation-stack-size=lots", wat],
            "expected a size in bytes",
        ),
        (vec!["wast", "/no/such.wast"], "no/such.wast"),
    ];
    for (args, expected) in cases {
        let out = fxtime(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let all = text(&out.stderr) + &text(&out.stdout);
        assert!(all.contains(expected), "{args:?}: {all}");
        assert!(!all.contains("panicked"), "{args:?} panicked: {all}");
    }
    let out = fxtime(&["run", "--no-such-flag", wat]);
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
}

const UNHANDLED: &str = r#"(module
  (tag $nobody_handles)
  (func $lost (suspend $nobody_handles))
  (func (export "_start") (call $lost)))"#;

#[test]
fn stack_switching_runs_generators_and_reports_unhandled_suspensions() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/generator.wat");
    let args = [
        "run",
        "-W",
        "stack-switching",
        "--invoke",
        "sum",
        root,
        "100",
    ];
    let out = fxtime(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "5050\n");
    // Without the feature, the module is rejected and says what it needs.
    let out = fxtime(&["run", "--invoke", "sum", root, "100"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("stack-switching"),
        "{}",
        text(&out.stderr)
    );
    // A suspension nobody handles is a trap with a backtrace.
    let path = file("unhandled.wat", UNHANDLED);
    let out = fxtime(&["run", "-W", "stack-switching", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(134));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("unhandled tag"), "{stderr}");
    assert!(stderr.contains("lost"), "{stderr}");
}

#[test]
fn wast_reports_failures_and_totals() {
    let good = file(
        "good.wast",
        r#"(module (func (export "f") (result i32) (i32.const 1)))
           (assert_return (invoke "f") (i32.const 1))
           (assert_trap (module (func $s unreachable) (start $s)) "unreachable")"#,
    );
    let out = fxtime(&["wast", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout).lines().last(), Some("3 passed, 0 failed"));

    let bad = file(
        "bad.wast",
        "(module (func (export \"f\") (result i32) (i32.const 1)))\n\
         (assert_return (invoke \"f\") (i32.const 2))\n",
    );
    let out = fxtime(&["wast", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("bad.wast:2:"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("4 passed, 1 failed"));
}

/// Runs `ADD`'s `add` with `--profile=STRATEGY` in `dir`; returns the
/// process id, which names the profile's file.
/// A stack-switching program: `add` runs on a continuation.
const PROFILED: &str = r#"(module
  (type $f (func (param i32 i64) (result i64)))
  (type $c (cont $f))
  (func $add_inside (param i32 i64) (result i64)
    (i64.add (i64.extend_i32_s (local.get 0)) (local.get 1)))
  (func (export "add") (param i32 i64) (result i64)
    (resume $c (local.get 0) (local.get 1) (cont.new $c (ref.func $add_inside))))
  (func (export "half") (param f64) (result f64 f32)
    (f64.div (local.get 0) (f64.const 2)) (f32.const 1.5))
  (func (export "_start"))
  (func $boom (export "boom") (i32.div_u (i32.const 1) (i32.const 0)) (drop))
  (elem declare func $add_inside))"#;

/// Runs PROFILED's `add` with `--profile=strategy` in `dir`, from a
/// precompiled file if `precompiled`; returns the process id.
fn run_profiled(strategy: &str, dir: &std::path::Path, precompiled: bool) -> u32 {
    let mut path = file(&format!("profiled-{strategy}.wat"), PROFILED);
    let mut flags = vec!["-W", "stack-switching"];
    if precompiled {
        let wat = path.to_str().unwrap().to_string();
        path = path.with_extension("cwasm");
        let out = fxtime(&[
            "compile",
            "-W",
            "stack-switching",
            &wat,
            "-o",
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        flags.push("--allow-precompiled");
    }
    let child = command()
        .current_dir(dir)
        .arg("run")
        .arg(format!("--profile={strategy}"))
        .args(flags)
        .args(["--invoke", "add", path.to_str().unwrap(), "1", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start fxtime");
    let pid = child.id();
    let out = child.wait_with_output().expect("run fxtime");
    assert!(out.status.success(), "{}", text(&out.stderr));
    pid
}

/// The same names for code compiled in the process and code loaded from a
/// precompiled file.
#[test]
fn perfmap_names_every_compiled_function() {
    for precompiled in [false, true] {
        check_perfmap(run_profiled("perfmap", &std::env::temp_dir(), precompiled));
    }
}

fn check_perfmap(pid: u32) {
    let map = PathBuf::from(format!("/tmp/perf-{pid}.map"));
    let contents = std::fs::read_to_string(&map).expect("the perf map of the run");
    std::fs::remove_file(&map).ok();
    for name in [
        "::add",
        "::half",
        "::_start",
        "::boom",
        "::add_inside",
        "::continuation_entry[0]",
        "fxtime::entry_trampoline",
    ] {
        assert!(contents.contains(name), "{name} missing from {contents}");
    }
    for line in contents.lines() {
        let fields: Vec<_> = line.splitn(3, ' ').collect();
        assert_eq!(fields.len(), 3, "{line}");
        let hex = |f: &str| usize::from_str_radix(f, 16).is_ok();
        assert!(hex(fields[0]) && hex(fields[1]), "{line}");
    }
}

/// Traps three calls deep, for gdb's backtraces.
const DEBUGGED: &str = r#"(module $debugged
  (func $outer (export "outer") (call $middle))
  (func $middle (call $inner))
  (func $inner (drop (i32.div_u (i32.const 1) (i32.const 0)))))"#;

#[test]
fn gdb_backtraces_name_wasm_functions_down_to_main() {
    let path = file("gdb.wat", DEBUGGED);
    assert_gdb_backtrace(&[], &path, &["inner", "middle", "outer"]);
}

/// Runs `fxtime run [flags] --invoke outer PATH` under gdb until it stops
/// (at the trap's signal, before fxtime's handler runs), and checks that
/// `bt` lists the wasm functions `innermost_first` in that order, then
/// `fxtime::main`.
fn assert_gdb_backtrace(flags: &[&str], path: &std::path::Path, innermost_first: &[&str]) {
    let out = Command::new("gdb")
        .env("XDG_CACHE_HOME", cache_home())
        .args(["-batch", "-nx", "-ex", "run", "-ex", "bt", "--args"])
        .arg(env!("CARGO_BIN_EXE_fxtime"))
        .arg("run")
        .args(flags)
        .args(["--invoke", "outer", path.to_str().unwrap()])
        .output()
        .expect("gdb (the CI script installs it)");
    let stdout = text(&out.stdout);
    let bt: Vec<&str> = stdout.lines().filter(|l| l.starts_with('#')).collect();
    let position = |name: &str| {
        bt.iter()
            .position(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} missing from the backtrace:\n{stdout}"))
    };
    let mut positions: Vec<usize> = innermost_first
        .iter()
        .map(|f| position(&format!("wasm[debugged]::{f}")))
        .collect();
    positions.push(position("fxtime::main"));
    assert!(positions.is_sorted(), "{stdout}");
}

#[test]
fn gdb_backtraces_cross_every_continuation_of_a_chain() {
    let path = file(
        "gdb_continuations.wat",
        r#"(module $debugged
             (type $f (func))
             (type $c (cont $f))
             (func $third (drop (i32.div_u (i32.const 1) (i32.const 0))))
             (func $second (resume $c (cont.new $c (ref.func $third))))
             (func $first (resume $c (cont.new $c (ref.func $second))))
             (func $outer (export "outer") (resume $c (cont.new $c (ref.func $first))))
             (elem declare func $first $second $third))"#,
    );
    assert_gdb_backtrace(
        &["-W", "stack-switching"],
        &path,
        &["third", "second", "first", "outer"],
    );
}

#[test]
fn jitdump_records_every_compiled_function() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("jitdump");
    std::fs::create_dir_all(&dir).unwrap();
    let pid = run_profiled("jitdump", &dir, false);
    let dump = dir.join(format!("jit-{pid}.dump"));
    let bytes = std::fs::read(&dump).expect("the jitdump of the run");
    std::fs::remove_file(&dump).ok();
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let long = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    assert_eq!(word(0), 0x4A69_5444, "magic");
    assert_eq!(
        (word(4), word(8), word(12)),
        (1, 40, 62),
        "version, header size, x86-64"
    );
    let mut names = Vec::new();
    let mut at = 40;
    while at < bytes.len() {
        let (id, total) = (word(at), word(at + 4) as usize);
        assert_eq!(id, 0, "JIT_CODE_LOAD");
        let code_size = long(at + 40) as usize;
        let name_end = at + 56 + bytes[at + 56..].iter().position(|b| *b == 0).unwrap();
        names.push(String::from_utf8(bytes[at + 56..name_end].to_vec()).unwrap());
        assert_eq!(total, name_end + 1 - at + code_size, "record size");
        at += total;
    }
    for name in [
        "::add",
        "::half",
        "::_start",
        "::boom",
        "fxtime::entry_trampoline[0]",
    ] {
        assert!(
            names.iter().any(|n| n.contains(name)),
            "{name} missing from {names:?}"
        );
    }
}

#[test]
fn text_errors_name_the_file() {
    let path = file("garbage.wat", "hello\u{0}\u{1} not wasm");
    let out = fxtime(&["run", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:1:6", path.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("<anon>"), "{stderr}");
}

#[test]
fn precompiled_modules_run_only_when_allowed() {
    let wat = file("precompiled.wat", ADD);
    let cwasm = wat.with_extension("cwasm");
    let _ = std::fs::remove_file(&cwasm);
    let out = fxtime(&["compile", wat.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cwasm = cwasm.to_str().unwrap();
    let out = fxtime(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "add",
        cwasm,
        "1",
        "2",
    ]);
    assert_eq!(text(&out.stdout), "3\n", "{}", text(&out.stderr));

    // Not without the flag.
    let out = fxtime(&["run", "--invoke", "add", cwasm, "1", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("run it with --allow-precompiled"));

    // Traps report the wasm function as compiled code does.
    let out = fxtime(&["run", "--allow-precompiled", "--invoke", "boom", cwasm]);
    assert_eq!(out.status.code(), Some(134));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("integer divide by zero") && stderr.contains("boom"),
        "{stderr}"
    );

    // Other settings (`-o` names the file), and damage, are refused.
    let fueled = wat.with_file_name("fueled.cwasm");
    let fueled = fueled.to_str().unwrap();
    let out = fxtime(&[
        "compile",
        "-W",
        "fuel=10",
        "-o",
        fueled,
        wat.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = fxtime(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "add",
        fueled,
        "1",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("consume_fuel = true"));
    let out = fxtime(&[
        "run",
        "-W",
        "fuel=10",
        "--allow-precompiled",
        "--invoke",
        "add",
        fueled,
        "1",
        "2",
    ]);
    assert_eq!(text(&out.stdout), "3\n", "{}", text(&out.stderr));
    let mut bytes = std::fs::read(cwasm).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    let damaged = wat.with_file_name("damaged.cwasm");
    std::fs::write(&damaged, bytes).unwrap();
    let out = fxtime(&[
        "run",
        "--allow-precompiled",
        "--invoke",
        "add",
        damaged.to_str().unwrap(),
        "1",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("damaged"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn gdb_backtraces_name_precompiled_wasm_functions() {
    let wat = file("gdb_precompiled.wat", DEBUGGED);
    let cwasm = wat.with_extension("cwasm");
    let out = fxtime(&[
        "compile",
        wat.to_str().unwrap(),
        "-o",
        cwasm.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_gdb_backtrace(
        &["--allow-precompiled"],
        &cwasm,
        &["inner", "middle", "outer"],
    );
}

#[test]
fn run_caches_compiled_modules() {
    let home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache-test");
    let _ = std::fs::remove_dir_all(&home);
    let entries = || -> Vec<PathBuf> {
        match std::fs::read_dir(home.join("fxtime")) {
            Ok(dir) => dir.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        }
    };
    let run = |extra: &[&str], path: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_fxtime"))
            .env("XDG_CACHE_HOME", &home)
            .arg("run")
            .args(extra)
            .args(["--invoke", "add", path.to_str().unwrap(), "40", "2"])
            .output()
            .unwrap();
        assert_eq!(text(&out.stdout), "42\n", "{}", text(&out.stderr));
    };
    let wat = file("cached.wat", ADD);
    run(&[], &wat);
    let first = entries();
    assert_eq!(first.len(), 1, "{first:?}");
    let written = std::fs::metadata(&first[0]).unwrap().modified().unwrap();
    // A hit loads the entry and leaves it as it is.
    run(&[], &wat);
    assert_eq!(entries(), first);
    assert_eq!(
        std::fs::metadata(&first[0]).unwrap().modified().unwrap(),
        written
    );
    // `-C cache=n` neither reads nor writes it.
    let other = file(
        "uncached.wat",
        &ADD.replace("(i32.const 0)", "(i32.const 00)")
            .replace("$boom", "$kaboom"),
    );
    run(&["-C", "cache=n"], &other);
    assert_eq!(entries(), first);
    let out = fxtime(&["run", "-C", "opt-level=9", wat.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("cache=y|n"));

    // Four processes compiling one new module at once leave one entry,
    // and all run it.
    let together = file("together.wat", &ADD.replace("$boom", "$crash"));
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_fxtime"))
                .env("XDG_CACHE_HOME", &home)
                .args([
                    "run",
                    "--invoke",
                    "add",
                    together.to_str().unwrap(),
                    "40",
                    "2",
                ])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(text(&out.stdout), "42\n");
    }
    assert_eq!(entries().len(), 2, "{:?}", entries());
}
