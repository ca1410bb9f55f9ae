//! Smoke tests: run the runner on an inline script and on a few simple files
//! of the core specification suite, printing the outcome.

use std::path::PathBuf;

use fxtime::Config;
use fxtime_wast::WastRunner;

/// Path of a script of the shared specification suite.
fn spec_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/spec/testsuite")
        .join(name)
}

#[test]
fn unparsable_script_is_one_failure() {
    let mut runner = WastRunner::new(&Config::new()).unwrap();
    let outcome = runner.run_str("bad.wast", "(module\n  (func (result i32) i32.const 1)\n");
    assert_eq!((outcome.passed, outcome.failed), (0, 1), "{outcome}");
}

#[test]
fn inline_script() {
    let script = r#"
        (module $m
          (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
          (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
          (global (export "g") i32 (i32.const 7)))
        (assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
        (assert_return (invoke $m "add" (i32.const 1) (i32.const 2)) (i32.const 4))
        (assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
        (assert_return (get "g") (i32.const 7))
        (assert_malformed (module quote "(func") "unexpected end")
        (assert_invalid (module (func (result i32))) "type mismatch")
        (assert_unlinkable (module (import "spectest" "unknown" (func))) "unknown import")
        (register "M" $m)
        (module (import "M" "add" (func (param i32 i32) (result i32))))
        (invoke $nope "add")
    "#;
    let mut runner = WastRunner::new(&Config::new()).unwrap();
    let outcome = runner.run_str("inline.wast", script);
    println!("{outcome}");
    assert_eq!(outcome.total(), 11, "{outcome}");
    // The deliberately wrong `(i32.const 4)` and the unknown `$nope`.
    let lines: Vec<usize> = outcome.failures.iter().map(|f| f.line).collect();
    assert_eq!(lines, [7, 15], "{outcome}");
}

#[test]
fn simple_spec_files() {
    for name in ["i32.wast", "i64.wast", "fac.wast", "nop.wast"] {
        let path = spec_file(name);
        if !path.exists() {
            eprintln!("skipping {name}: {} not found", path.display());
            continue;
        }
        let mut runner = WastRunner::new(&Config::new()).unwrap();
        let outcome = runner.run_file(&path);
        println!("{name}: {outcome}");
        assert!(outcome.total() > 1, "{name}: {outcome}");
    }
}
