//! Options shared by the subcommands.

use anyhow::{Result, bail};
use clap::Args;
use fxtime::Config;

/// WebAssembly feature switches: `-W NAME[=y|n][,NAME[=y|n]...]`.
#[derive(Args, Debug, Default)]
pub struct WasmOptions {
    /// Enable or disable WebAssembly features, e.g. `-W multi-memory=n`
    /// or `-W simd`. Names as Wasmtime spells them.
    #[arg(short = 'W', long = "wasm", value_name = "NAME[=y|n]")]
    wasm: Vec<String>,
}

impl WasmOptions {
    /// The configuration these options describe.
    pub fn config(&self) -> Result<Config> {
        let mut config = Config::new();
        for switch in self.wasm.iter().flat_map(|s| s.split(',')) {
            let switch = switch.trim();
            if switch.is_empty() {
                continue;
            }
            let (name, enable) = match switch.split_once('=') {
                None => (switch, true),
                Some((name, "y" | "yes" | "true")) => (name, true),
                Some((name, "n" | "no" | "false")) => (name, false),
                Some((_, value)) => bail!("-W {switch}: expected `y` or `n`, found `{value}`"),
            };
            config.wasm_feature(name, enable)?;
        }
        Ok(config)
    }
}
