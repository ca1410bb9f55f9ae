//! `fxtime run`: instantiate a module with WASI preview 1 and run `_start`
//! or one export.

use crate::args::WasmOptions;
use anyhow::{Context, Result, bail};
use clap::Args;
use fxtime::{Engine, Linker, Module, ProfilingStrategy, Store, Trap, Val, ValType};
use fxtime_wasi::{Dir, WasiCtx, WasiCtxBuilder, ambient_authority};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code of a run that trapped (as Wasmtime: 128 + SIGABRT).
const TRAP_EXIT_CODE: u8 = 134;

/// The store's host data: WASI's context and the `-W max-*` limits.
struct Host {
    wasi: WasiCtx,
    limits: fxtime::StoreLimits,
}

#[derive(Args)]
pub struct RunCommand {
    #[command(flatten)]
    wasm: WasmOptions,
    /// Call this exported function instead of `_start`, with ARGS parsed by
    /// its parameter types; its results are printed one per line.
    #[arg(long, value_name = "FUNC")]
    invoke: Option<String>,
    /// Make generated code known to a profiler: `perfmap` writes
    /// /tmp/perf-PID.map for `perf report`; `jitdump` writes jit-PID.dump
    /// (in the current directory) for `perf inject --jit`.
    #[arg(long, value_name = "STRATEGY", value_parser = ["perfmap", "jitdump"])]
    profile: Option<String>,
    /// Give the program the host directory HOST, seen as GUEST (default:
    /// HOST). Nothing outside it can be reached through it.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,
    /// Set an environment variable for the program; `--env NAME` passes on
    /// the host's value of NAME.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    envs: Vec<String>,
    /// Pass on the whole host environment (before any `--env`).
    #[arg(long)]
    inherit_env: bool,
    /// Code generation options: `-C cache=y|n` turns the compilation cache
    /// (in `$XDG_CACHE_HOME/fxtime`, or `~/.cache/fxtime`) on or off; it
    /// is on by default.
    #[arg(short = 'C', long = "codegen", value_name = "cache=y|n")]
    codegen: Vec<String>,
    /// Run precompiled modules (made by `fxtime compile`). They are native
    /// code: allow them only from sources you would run native code from.
    #[arg(long)]
    allow_precompiled: bool,
    /// Instantiate MODULE first and let the program import its exports
    /// under the module name NAME.
    #[arg(long, value_name = "NAME=MODULE")]
    preload: Vec<String>,
    /// The module (.wasm or .wat).
    file: PathBuf,
    /// The program's arguments (with --invoke: the function's arguments).
    #[arg(allow_hyphen_values = true)]
    args: Vec<String>,
}

impl RunCommand {
    /// Whether `-C` leaves the compilation cache on.
    fn cache(&self) -> Result<bool> {
        let mut cache = true;
        for option in self.codegen.iter().flat_map(|s| s.split(',')) {
            cache = match option.trim() {
                "cache" | "cache=y" | "cache=yes" | "cache=true" => true,
                "cache=n" | "cache=no" | "cache=false" => false,
                other => bail!("-C {other}: the only code generation option is `cache=y|n`"),
            };
        }
        Ok(cache)
    }

    /// The module at `path`: WebAssembly (binary or text), or a
    /// precompiled module if `--allow-precompiled` allows it.
    fn load(&self, engine: &Engine, path: &std::path::Path) -> Result<Module> {
        let failed = || format!("failed to load {}", path.display());
        let precompiled = is_precompiled_file(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
            .with_context(failed)?;
        if !precompiled {
            return Module::from_file(engine, path).with_context(failed);
        }
        if !self.allow_precompiled {
            bail!(
                "{} is a precompiled module; run it with --allow-precompiled if you trust it as \
                 native code",
                path.display()
            );
        }
        // SAFETY: the user vouched for precompiled files with
        // --allow-precompiled; damaged ones fail their checksum.
        unsafe { Module::deserialize_file(engine, path) }.with_context(failed)
    }

    pub fn execute(self) -> Result<ExitCode> {
        let settings = self.wasm.settings()?;
        let mut config = settings.config.clone();
        // Under a debugger (gdb --args fxtime run ...), the code is
        // described to it; elsewhere that would only cost start-up time (a
        // few milliseconds for a big module).
        config.debug_info(under_debugger());
        match self.profile.as_deref() {
            Some("perfmap") => config.profiler(ProfilingStrategy::PerfMap),
            Some("jitdump") => config.profiler(ProfilingStrategy::JitDump),
            _ => &mut config,
        };
        config.cache(self.cache()?);
        let engine = Engine::new(&config)?;
        let module = self.load(&engine, &self.file)?;
        let host = Host {
            wasi: self.wasi_ctx()?,
            limits: settings.store_limits().unwrap_or_default(),
        };
        let mut store = Store::new(&engine, host);
        if settings.limits.is_some() {
            store.limiter(|host| &mut host.limits);
        }
        if let Some(fuel) = settings.fuel {
            store.set_fuel(fuel)?;
        }
        if let Some(timeout) = settings.timeout {
            // The deadline is the next epoch, which a timer thread starts
            // once the time is up; wasm then stops at its next function
            // entry or loop header, on whatever stack it runs.
            store.set_epoch_deadline(1);
            let engine = engine.clone();
            std::thread::spawn(move || {
                std::thread::sleep(timeout);
                engine.increment_epoch();
            });
        }
        let mut linker = Linker::new(&engine);
        fxtime_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
        for preload in &self.preload {
            let Some((name, path)) = preload.split_once('=') else {
                bail!("--preload {preload}: expected NAME=MODULE");
            };
            let module = self.load(&engine, path.as_ref())?;
            let instance = match linker.instantiate(&mut store, &module) {
                Ok(instance) => instance,
                Err(error) => return report(error.context(format!("preloading {path}"))),
            };
            linker.instance(&mut store, name, instance)?;
        }
        let instance = match linker.instantiate(&mut store, &module) {
            Ok(instance) => instance,
            Err(error) => return report(error),
        };
        // A WASI reactor sets itself up in `_initialize` before any call.
        if let Some(initialize) = instance.get_func(&store, "_initialize")
            && let Err(error) = initialize.call(&mut store, &[], &mut [])
        {
            return report(error);
        }
        let name = self.invoke.as_deref().unwrap_or("_start");
        let Some(func) = instance.get_func(&store, name) else {
            if self.invoke.is_none() {
                bail!("the module exports no `_start` function; name one with --invoke");
            }
            bail!("the module exports no function `{name}`");
        };
        let ty = func.ty(&store);
        if self.invoke.is_none() {
            if let Err(error) = func.call(&mut store, &[], &mut []) {
                return report(error);
            }
            return Ok(ExitCode::SUCCESS);
        }
        if ty.params.len() != self.args.len() {
            bail!(
                "`{name}` takes {} arguments, {} given",
                ty.params.len(),
                self.args.len()
            );
        }
        let params = ty
            .params()
            .zip(&self.args)
            .map(|(ty, arg)| parse_arg(ty, arg))
            .collect::<Result<Vec<_>>>()?;
        let mut results: Vec<Val> = ty.results().map(Val::default_for).collect();
        if let Err(error) = func.call(&mut store, &params, &mut results) {
            return report(error);
        }
        let mut out = std::io::stdout().lock();
        for result in &results {
            writeln!(out, "{}", format_val(result))?;
        }
        Ok(ExitCode::SUCCESS)
    }

    /// The program's WASI context: stdio, arguments, environment and
    /// preopened directories.
    fn wasi_ctx(&self) -> Result<WasiCtx> {
        let mut builder = WasiCtxBuilder::new();
        builder.inherit_stdio();
        builder.arg(&self.file.to_string_lossy())?;
        if self.invoke.is_none() {
            builder.args(&self.args)?;
        }
        if self.inherit_env {
            builder.inherit_env()?;
        }
        for env in &self.envs {
            match env.split_once('=') {
                Some((name, value)) => builder.env(name, value)?,
                None => match std::env::var(env) {
                    Ok(value) => builder.env(env, &value)?,
                    Err(_) => continue,
                },
            };
        }
        for dir in &self.dirs {
            let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
            let handle = Dir::open_ambient_dir(host, ambient_authority())
                .with_context(|| format!("--dir {dir}: cannot open directory {host}"))?;
            builder
                .preopened_dir(handle, guest)
                .map_err(|error| anyhow::anyhow!("--dir {dir}: {error}"))?;
        }
        Ok(builder.build())
    }
}

/// Whether the file at `path` is a precompiled module, from its first and
/// last bytes (a precompiled file can be big; WebAssembly is read later).
fn is_precompiled_file(path: &std::path::Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len < 16 {
        return Ok(false);
    }
    let (mut head, mut tail) = ([0u8; 8], [0u8; 8]);
    file.read_exact(&mut head)?;
    file.seek(SeekFrom::End(-8))?;
    file.read_exact(&mut tail)?;
    Ok(Module::is_precompiled(&[head, tail].concat()))
}

/// Whether a debugger traces this process (`TracerPid` in
/// /proc/self/status is not 0).
fn under_debugger() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("TracerPid:"))
            .is_some_and(|pid| pid.trim() != "0")
    })
}

/// Prints a failed call: a trap with its backtrace, or another error. A
/// program's `proc_exit` is not a failure: its code becomes the process's.
fn report(error: anyhow::Error) -> Result<ExitCode> {
    if let Some(code) = fxtime_wasi::exit_code(&error) {
        return Ok(ExitCode::from(code as u8));
    }
    match error.downcast_ref::<Trap>() {
        Some(trap) => {
            eprintln!("error: wasm trap: {trap}");
            eprint!("{}", trap.backtrace());
            Ok(ExitCode::from(TRAP_EXIT_CODE))
        }
        None => Err(error),
    }
}

fn parse_arg(ty: ValType, arg: &str) -> Result<Val> {
    let bad = || format!("cannot parse `{arg}` as {ty}");
    Ok(match ty {
        ValType::I32 => Val::I32(parse_int(arg, 32).with_context(bad)? as i32),
        ValType::I64 => Val::I64(parse_int(arg, 64).with_context(bad)? as i64),
        ValType::F32 => Val::from(arg.parse::<f32>().with_context(bad)?),
        ValType::F64 => Val::from(arg.parse::<f64>().with_context(bad)?),
        ValType::V128 => Val::V128(parse_v128(arg).with_context(bad)?),
        other => bail!("cannot pass arguments of type {other} from the command line"),
    })
}

/// An integer of `bits` bits, decimal or `0x` hex, signed or unsigned (so
/// `-1` and `0xffffffff` are the same i32): its bits, sign-extended.
fn parse_int(arg: &str, bits: u32) -> Option<i128> {
    let (negative, digits) = match arg.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, arg),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    let value = if negative { -value } else { value };
    let in_range = -(1i128 << (bits - 1)) <= value && value < (1i128 << bits);
    in_range.then_some(value)
}

/// A `v128` as the unsigned 128-bit integer of its little-endian bytes,
/// decimal (as Wasmtime prints it) or `0x` hex.
fn parse_v128(arg: &str) -> Option<u128> {
    match arg.strip_prefix("0x") {
        Some(hex) => u128::from_str_radix(hex, 16).ok(),
        None => arg.parse::<u128>().ok(),
    }
}

fn format_val(val: &Val) -> String {
    match val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(v) => v.to_string(),
        Val::FuncRef(None)
        | Val::ExternRef(None)
        | Val::ExnRef(None)
        | Val::AnyRef(None)
        | Val::ContRef(None) => "null".to_string(),
        Val::ContRef(Some(_)) => "<contref>".to_string(),
        Val::AnyRef(Some(a)) => match a.as_i31() {
            Some(i31) => format!("i31 {}", i31.get_u32()),
            None if a.is_struct() => "<structref>".to_string(),
            None if a.is_array() => "<arrayref>".to_string(),
            None => "<anyref>".to_string(),
        },
        Val::ExnRef(Some(_)) => "<exnref>".to_string(),
        Val::FuncRef(Some(_)) => "<funcref>".to_string(),
        Val::ExternRef(Some(_)) => "<externref>".to_string(),
    }
}
