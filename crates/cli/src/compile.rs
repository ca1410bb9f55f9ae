//! `fxtime compile`: compile a module ahead of time into a precompiled
//! file, for `fxtime run --allow-precompiled` and `Module::deserialize`.

use crate::args::WasmOptions;
use anyhow::{Context, Result, bail};
use clap::Args;
use fxtime::Engine;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct CompileCommand {
    /// Features and code settings, as for `run` (`-W fuel=N` and
    /// `-W timeout=...` compile in the checks they need). A precompiled
    /// file runs only with the settings it was compiled with.
    #[command(flatten)]
    wasm: WasmOptions,
    /// Where to write the precompiled module (default: FILE with the
    /// extension `.cwasm`).
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,
    /// The module (.wasm or .wat).
    file: PathBuf,
}

impl CompileCommand {
    pub fn execute(self) -> Result<ExitCode> {
        let engine = Engine::new(&self.wasm.settings()?.config)?;
        let path = &self.file;
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        if fxtime::Module::is_precompiled(&bytes) {
            bail!("{} is precompiled already", path.display());
        }
        let precompiled = engine
            .precompile_module(&bytes)
            .with_context(|| format!("failed to compile {}", path.display()))?;
        let output = self
            .output
            .unwrap_or_else(|| self.file.with_extension("cwasm"));
        std::fs::write(&output, precompiled)
            .with_context(|| format!("cannot write {}", output.display()))?;
        Ok(ExitCode::SUCCESS)
    }
}
