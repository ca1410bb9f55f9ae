//! Runs `.wast` scripts given on the command line and prints each file's
//! totals and first failures.
//!
//! `cargo run -p fxtime-wast --example run_wast -- [-v] [-W FEATURE]... FILE...`
//! (`-v` prints every failure instead of the first five per file; `-W`
//! enables a WebAssembly feature by its Wasmtime name, e.g. `-W stack-switching`).

use fxtime::Config;
use fxtime_wast::{Outcome, WastRunner};

fn main() -> anyhow::Result<()> {
    let mut verbose = false;
    let mut files = Vec::new();
    let mut config = Config::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-v" => verbose = true,
            "-W" => {
                let feature = args
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("-W needs a feature"))?;
                config.wasm_feature(&feature, true)?;
            }
            _ => files.push(arg),
        }
    }
    let mut runner = WastRunner::new(&config)?;
    let mut total = Outcome::default();
    for file in &files {
        let outcome = runner.run_file(file);
        println!(
            "{file}: {} passed, {} failed",
            outcome.passed, outcome.failed
        );
        let shown = if verbose { usize::MAX } else { 5 };
        for failure in outcome.failures.iter().take(shown) {
            println!("  {failure}");
        }
        total.merge(outcome);
    }
    if files.len() > 1 {
        println!("total: {} passed, {} failed", total.passed, total.failed);
    }
    Ok(())
}
