//! `fxtime wast`: run spec scripts and report every failure.

use crate::args::WasmOptions;
use anyhow::Result;
use clap::Args;
use fxtime_wast::{Outcome, WastRunner};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct WastCommand {
    #[command(flatten)]
    wasm: WasmOptions,
    /// Load every module from its precompiled form (serialized, then
    /// deserialized), to test loaded code as freshly compiled code.
    #[arg(long)]
    precompiled: bool,
    /// The scripts.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

impl WastCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let config = self.wasm.config()?;
        let mut total = Outcome::default();
        let mut out = std::io::stdout().lock();
        for file in &self.files {
            let mut runner = WastRunner::new(&config)?;
            runner.precompiled(self.precompiled);
            let outcome = runner.run_file(file);
            // What the script printed through `spectest`, as the reference
            // interpreter shows it.
            for line in runner.take_printed() {
                writeln!(out, "{line}")?;
            }
            for failure in &outcome.failures {
                writeln!(out, "{failure}")?;
            }
            total.merge(outcome);
        }
        writeln!(out, "{} passed, {} failed", total.passed, total.failed)?;
        Ok(if total.is_success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
