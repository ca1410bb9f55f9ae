//! `fxtime run` with WASI preview 1: C programs compiled with clang against
//! wasi-libc (`ci/install-test-tools.sh` installs both), run as a user
//! would run them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/wasi");
const FIBERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/wasi-fibers");

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("wasi")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles the C program `source` for wasm32-wasi into `out_dir`.
fn compile(source: &Path, out_dir: &Path, extra: &[&str]) -> PathBuf {
    let name = source.file_stem().unwrap().to_str().unwrap();
    let wasm = out_dir.join(format!("{name}.wasm"));
    let status = Command::new("clang")
        .args(["--target=wasm32-wasi", "-O2", "-Wall", "-Werror"])
        .args(extra)
        .arg(source)
        .arg("-o")
        .arg(&wasm)
        .status()
        .expect("clang is needed for the WASI tests: run ci/install-test-tools.sh");
    assert!(status.success(), "clang failed on {}", source.display());
    wasm
}

/// Compiles `tests/wasi/PROGRAM.c` into a fresh scratch folder; returns
/// the folder and the module.
fn build(program: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let dir = scratch(program);
    let source = Path::new(SOURCES).join(format!("{program}.c"));
    let wasm = compile(&source, &dir, extra);
    (dir, wasm)
}

/// A `sandbox` folder in `dir`, and the `--dir` value that shows it to the
/// program as `/sandbox`.
fn sandbox(dir: &Path) -> (PathBuf, String) {
    let sandbox = dir.join("sandbox");
    std::fs::create_dir(&sandbox).unwrap();
    let mapping = format!("{}::/sandbox", path(&sandbox));
    (sandbox, mapping)
}

fn fxtime(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fxtime"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run fxtime");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn the_echo_example_prints_its_arguments() {
    let echo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/echo.wat");
    let out = fxtime(&["run", echo, "hello", "big world", "-n"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello big world -n\n");
}

#[test]
fn arguments_environment_stdio_and_exit_codes() {
    let (_, wasm) = build("hello", &[]);
    let wasm = path(&wasm);

    let out = fxtime(&["run", "--env", "GREETING=hi", wasm, "a", "b c"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "argc=3\nargv[1]=a\nargv[2]=b c\nGREETING=hi\n"
    );
    assert_eq!(text(&out.stderr), "a line on stderr\n");

    // `exit` goes through proc_exit, a non-zero `return` from main too.
    let out = fxtime(&["run", wasm, "exit", "42"], b"");
    assert_eq!(out.status.code(), Some(42));
    let out = fxtime(&["run", wasm, "return", "7"], b"");
    assert_eq!(out.status.code(), Some(7));

    // The host's environment is passed on only when asked for.
    let inherit = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_fxtime"))
            .args(args)
            .env("GREETING", "from the host")
            .output()
            .unwrap();
        text(&out.stdout).lines().last().unwrap().to_string()
    };
    assert_eq!(inherit(&["run", wasm]), "GREETING=(unset)");
    assert_eq!(
        inherit(&["run", "--inherit-env", wasm]),
        "GREETING=from the host"
    );
    assert_eq!(
        inherit(&["run", "--env", "GREETING", wasm]),
        "GREETING=from the host"
    );
}

#[test]
fn a_reactor_is_initialized_before_the_invoked_export() {
    let (_, wasm) = build("reactor", &["-mexec-model=reactor"]);
    let out = fxtime(&["run", "--invoke", "answer", path(&wasm), "2"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "answering 2\n42\n");
}

#[test]
fn files_and_directories_in_a_preopened_directory() {
    let (dir, wasm) = build("files", &[]);
    let (sandbox, mapping) = sandbox(&dir);
    std::fs::write(sandbox.join("input.txt"), "first\nsecond\n").unwrap();

    let out = fxtime(&["run", "--dir", &mapping, path(&wasm)], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stdout),
        "input: first\n\
         input: second\n\
         at 5: one\n\
         size by seek: 18\n\
         pread at 9: lin\n\
         size by fstat: 23, regular: 1\n\
         size after truncate: 9\n\
         link -> moved.txt\n\
         entry: .\n\
         entry: ..\n\
         entry: inner\n\
         entry: link\n\
         entry: moved.txt\n\
         done\n"
    );
    assert_eq!(
        std::fs::read_to_string(sandbox.join("output.txt")).unwrap(),
        "written by wasm\n"
    );
    assert!(!sandbox.join("sub").exists());

    // Without the directory the program cannot open its input.
    let out = fxtime(&["run", path(&wasm)], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).starts_with("FAILED: open input.txt"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn nothing_escapes_a_preopened_directory() {
    let (dir, wasm) = build("escape", &[]);
    let (sandbox, mapping) = sandbox(&dir);
    std::fs::write(dir.join("secret.txt"), "secret\n").unwrap();
    std::fs::write(sandbox.join("mine.txt"), "mine\n").unwrap();
    std::os::unix::fs::symlink("..", sandbox.join("up")).unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), sandbox.join("abs")).unwrap();

    let out = fxtime(&["run", "--dir", &mapping, path(&wasm)], b"");
    // Leaving through `..` or a symlink is refused by the host (EPERM, as
    // in Wasmtime); a path under no preopened directory never reaches it
    // (wasi-libc says ENOTCAPABLE).
    assert_eq!(
        text(&out.stdout),
        "open ../secret.txt: EPERM\n\
         open sub/../../secret.txt: EPERM\n\
         open /etc/passwd: ENOTCAPABLE\n\
         open relative ../secret.txt: ENOTCAPABLE\n\
         open through symlink up/: EPERM\n\
         open absolute symlink: EPERM\n\
         stat through symlink up/: EPERM\n\
         create ../planted.txt: EPERM\n\
         mkdir ../planted: EPERM\n\
         rename into ../: EPERM\n\
         unlink ../secret.txt: EPERM\n\
         unlink up/secret.txt: EPERM\n\
         open planted symlink: EPERM\n\
         0 escaped\n"
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("secret.txt")).unwrap(),
        "secret\n"
    );
    assert!(sandbox.join("mine.txt").exists());
    for planted in ["planted.txt", "planted", "stolen.txt"] {
        assert!(!dir.join(planted).exists(), "{planted} was created outside");
    }
}

#[test]
fn clocks_sleep_random_and_polling_stdin() {
    let (_, wasm) = build("clocks", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let out = fxtime(&["run", path(&wasm), &now], b"ping\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "realtime within 60 s of the host: 1\n\
         monotonic resolution > 0: 1\n\
         slept at least 30 ms: 1\n\
         random bytes differ: 1\n\
         sched_yield: 0\n\
         poll stdin: 1, readable: 1, read: ping\n"
    );
}

#[test]
fn simd_intrinsics_in_a_c_program() {
    // SIMD is on by default: no -W needed, as in Wasmtime.
    let (_, wasm) = build("simd", &["-msimd128"]);
    let out = fxtime(&["run", path(&wasm)], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "sum=2080 dot=832 max=6.5 min=-4.0 norm=10.3441 rev=ponmlkjihgfedcba \
         swizzle=ap...h mask=0xff00 sat=255 narrow=32767,-32768,5,-5 \
         trunc=3,-2,2147483647,0\n"
    );
}

#[test]
fn c_fibers_on_stack_switching_with_a_preloaded_module() {
    let dir = scratch("fibers");
    let fibers = Path::new(FIBERS);
    let wasm = compile(&fibers.join("fibers.c"), &dir, &["-Wl,--import-table"]);
    let preload = format!("env={}", path(&fibers.join("fiber.wat")));
    let out = fxtime(
        &[
            "run",
            "-W",
            "stack-switching=y",
            "--preload",
            &preload,
            path(&wasm),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The workers print from their own stacks: WASI calls made on
    // continuation stacks.
    assert_eq!(
        text(&out.stdout),
        "sum of the first 10 squares: 385\n\
         worker 0 finished\n\
         worker 2 finished\n\
         worker 1 finished\n\
         worker 0 checksum 195\n\
         worker 1 checksum 398\n\
         worker 2 checksum 300\n\
         100000 short-lived fibers ran to completion\n"
    );

    // The fiber module needs the feature, and says so.
    let out = fxtime(&["run", "--preload", &preload, path(&wasm)], b"");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("stack-switching"), "{stderr}");
    assert!(stderr.contains("fiber.wat"), "{stderr}");
}

#[test]
fn bad_wasi_options_and_calls_are_clear_errors() {
    let dir = scratch("errors");
    let no_memory = dir.join("no_memory.wat");
    std::fs::write(
        &no_memory,
        r#"(module
             (import "wasi_snapshot_preview1" "fd_write"
               (func $fd_write (param i32 i32 i32 i32) (result i32)))
             (func (export "_start")
               (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0)))))"#,
    )
    .unwrap();
    let bad_exit = dir.join("bad_exit.wat");
    std::fs::write(
        &bad_exit,
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $exit (i32.const 300))))"#,
    )
    .unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", "--dir", "/no/such/dir", path(&no_memory)],
            "--dir /no/such/dir: cannot open directory /no/such/dir",
        ),
        (
            vec!["run", "--preload", "fibers", path(&no_memory)],
            "--preload fibers: expected NAME=MODULE",
        ),
        (
            vec!["run", "--preload", "x=/no/such.wat", path(&no_memory)],
            "failed to load /no/such.wat",
        ),
        (
            vec!["run", path(&no_memory)],
            "export its linear memory as `memory`",
        ),
        (
            vec!["run", path(&bad_exit)],
            "exit with invalid exit status",
        ),
    ];
    for (args, expected) in cases {
        let out = fxtime(&args, b"");
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
