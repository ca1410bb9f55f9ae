//! The project's own spec-style scripts in `tests/misc`.

use fxtime::Config;
use fxtime_tests::{tests_dir, with_big_stack};
use fxtime_wast::WastRunner;

#[test]
fn misc_scripts() {
    let mut files: Vec<_> = std::fs::read_dir(tests_dir().join("misc"))
        .expect("tests/misc")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut report = String::new();
    for file in files {
        // Scripts named stack_switching_* need the feature; the others run
        // with the defaults.
        let mut config = Config::new();
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        config.wasm_stack_switching(name.starts_with("stack_switching"));
        let outcome = with_big_stack(|| WastRunner::new(&config).unwrap().run_file(&file));
        assert!(outcome.total() > 0, "{} ran no assertion", file.display());
        for failure in outcome.failures {
            report.push_str(&format!("{failure}\n"));
        }
    }
    assert!(report.is_empty(), "failures:\n{report}");
}
