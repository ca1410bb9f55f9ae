//! Options shared by the subcommands.

use anyhow::{Context, Result, bail};
use clap::Args;
use fxtime::{Config, StoreLimits, StoreLimitsBuilder};
use std::time::Duration;

/// WebAssembly feature switches and limits: `-W NAME[=y|n][,...]`,
/// `-W LIMIT=BYTES`.
#[derive(Args, Debug, Default)]
pub struct WasmOptions {
    /// Enable or disable WebAssembly features, e.g. `-W multi-memory=n`
    /// or `-W stack-switching`; names as Wasmtime spells them. Limits in
    /// bytes (suffix K, M or G allowed): `-W max-wasm-stack=N` (default
    /// 512K), `-W continuation-stack-size=N` (default 1M).
    /// `-W relaxed-simd-deterministic` gives relaxed SIMD operators the
    /// same results on every host. With `run`:
    /// `-W fuel=N`, `-W timeout=DURATION` (`100ms`, `2s`),
    /// `-W epoch-interruption`, `-W max-memory-size=BYTES`,
    /// `-W max-table-elements=N`, `-W max-instances=N`, `-W max-tables=N`,
    /// `-W max-memories=N`, `-W max-continuations=N`,
    /// `-W max-continuation-stack-bytes=BYTES`, `-W trap-on-grow-failure`.
    #[arg(short = 'W', long = "wasm", value_name = "NAME[=y|n]")]
    wasm: Vec<String>,
}

/// What `-W` options set: the engine's configuration, and what `run`
/// sets on its store.
#[derive(Default)]
pub struct Settings {
    pub config: Config,
    /// `-W fuel=N`.
    pub fuel: Option<u64>,
    /// `-W timeout=DURATION`.
    pub timeout: Option<Duration>,
    /// The `-W max-*` limits and `trap-on-grow-failure`, if any was given.
    pub limits: Option<StoreLimitsBuilder>,
}

impl Settings {
    /// The store limits, if any were given.
    pub fn store_limits(&self) -> Option<StoreLimits> {
        self.limits.clone().map(StoreLimitsBuilder::build)
    }

    /// Applies `set` to the limits given so far.
    fn update_limits(&mut self, set: impl FnOnce(StoreLimitsBuilder) -> StoreLimitsBuilder) {
        self.limits = Some(set(self.limits.take().unwrap_or_default()));
    }
}

impl WasmOptions {
    /// The engine configuration alone (for `wast`, whose scripts make
    /// their own stores): store settings are refused.
    pub fn config(&self) -> Result<Config> {
        let settings = self.settings()?;
        if settings.fuel.is_some() || settings.timeout.is_some() || settings.limits.is_some() {
            bail!("-W fuel, timeout and the max-* limits apply to `fxtime run` only");
        }
        Ok(settings.config)
    }

    /// Everything these options describe.
    pub fn settings(&self) -> Result<Settings> {
        let mut settings = Settings::default();
        for switch in self.wasm.iter().flat_map(|s| s.split(',')) {
            let switch = switch.trim();
            if switch.is_empty() {
                continue;
            }
            if let Some((name, value)) = switch.split_once('=')
                && store_setting(&mut settings, name, value)
                    .with_context(|| format!("-W {switch}"))?
            {
                continue;
            }
            if let Some((name, value)) = switch.split_once('=')
                && let Some(set) = limit(name)
            {
                let bytes = parse_size(value)
                    .ok_or_else(|| anyhow::anyhow!("-W {switch}: expected a size in bytes"))?;
                set(&mut settings.config, bytes);
                continue;
            }
            let (name, enable) = match switch.split_once('=') {
                None => (switch, true),
                Some((name, "y" | "yes" | "true")) => (name, true),
                Some((name, "n" | "no" | "false")) => (name, false),
                Some((_, value)) => bail!("-W {switch}: expected `y` or `n`, found `{value}`"),
            };
            match name {
                "epoch-interruption" => {
                    settings.config.epoch_interruption(enable);
                }
                "relaxed-simd-deterministic" => {
                    settings.config.relaxed_simd_deterministic(enable);
                }
                "trap-on-grow-failure" => {
                    settings.update_limits(|limits| limits.trap_on_grow_failure(enable));
                }
                _ => {
                    settings.config.wasm_feature(name, enable)?;
                }
            }
        }
        Ok(settings)
    }
}

/// Applies `-W name=value` if `name` is a setting of the store (fuel, the
/// timeout, a resource limit); false if it is not one.
fn store_setting(settings: &mut Settings, name: &str, value: &str) -> Result<bool> {
    let limit: fn(StoreLimitsBuilder, usize) -> StoreLimitsBuilder = match name {
        "fuel" => {
            let fuel = value
                .parse::<u64>()
                .map_err(|_| anyhow::anyhow!("expected an amount of fuel, found `{value}`"))?;
            settings.config.consume_fuel(true);
            settings.fuel = Some(fuel);
            return Ok(true);
        }
        "timeout" => {
            let timeout = parse_duration(value).ok_or_else(|| {
                anyhow::anyhow!("expected a duration such as `100ms` or `2s`, found `{value}`")
            })?;
            settings.config.epoch_interruption(true);
            settings.timeout = Some(timeout);
            return Ok(true);
        }
        "max-memory-size" => StoreLimitsBuilder::memory_size,
        "max-table-elements" => StoreLimitsBuilder::table_elements,
        "max-instances" => StoreLimitsBuilder::instances,
        "max-tables" => StoreLimitsBuilder::tables,
        "max-memories" => StoreLimitsBuilder::memories,
        "max-continuations" => StoreLimitsBuilder::continuations,
        "max-continuation-stack-bytes" => StoreLimitsBuilder::continuation_stack_bytes,
        _ => return Ok(false),
    };
    let count =
        parse_size(value).ok_or_else(|| anyhow::anyhow!("expected a number, found `{value}`"))?;
    settings.update_limits(|limits| limit(limits, count));
    Ok(true)
}

/// `100ms`, `2s`, `1.5s`, `250us`, `1m`, `1h` (a bare number: seconds).
fn parse_duration(text: &str) -> Option<Duration> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1e3,
        "us" => number / 1e6,
        "ns" => number / 1e9,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
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
    use super::{Duration, parse_duration, parse_size};

    #[test]
    fn durations_parse_as_wasmtime_spells_them() {
        assert_eq!(parse_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("10 parsecs"), None);
        assert_eq!(parse_duration("ms"), None);
        assert_eq!(parse_duration("-1s"), None);
    }

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
