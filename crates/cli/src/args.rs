//! Options shared by the subcommands.

use anyhow::{Result, bail};
use clap::Args;
use fxtime::Config;

/// WebAssembly feature switches and limits: `-W NAME[=y|n][,...]`,
/// `-W LIMIT=BYTES`.
#[derive(Args, Debug, Default)]
pub struct WasmOptions {
    /// Enable or disable WebAssembly features, e.g. `-W multi-memory=n`
    /// or `-W stack-switching`; names as Wasmtime spells them. Limits in
    /// bytes (suffix K, M or G allowed): `-W max-wasm-stack=N` (default
    /// 512K), `-W continuation-stack-size=N` (default 1M).
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
            if let Some((name, value)) = switch.split_once('=')
                && let Some(set) = limit(name)
            {
                let bytes = parse_size(value)
                    .ok_or_else(|| anyhow::anyhow!("-W {switch}: expected a size in bytes"))?;
                set(&mut config, bytes);
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

/// The setter of the limit `name`, if it is one.
fn limit(name: &str) -> Option<fn(&mut Config, usize)> {
    match name {
        "max-wasm-stack" => Some(|c, n| {
            c.max_wasm_stack(n);
        }),
        "continuation-stack-size" => Some(|c, n| {
            c.continuation_stack_size(n);
        }),
        _ => None,
    }
}

/// `123`, `64K`, `8M` or `1G`.
fn parse_size(text: &str) -> Option<usize> {
    let (digits, unit) = match text.char_indices().last()? {
        (i, 'k' | 'K') => (&text[..i], 1 << 10),
        (i, 'm' | 'M') => (&text[..i], 1 << 20),
        (i, 'g' | 'G') => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("2m"), Some(2 << 20));
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }
}
