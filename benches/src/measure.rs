//! One run of one program on one engine: wall time, peak RSS, success.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An engine's command line: `BINARY run [-W ...] PROGRAM`.
#[derive(Clone)]
pub struct Engine {
    pub name: String,
    binary: PathBuf,
    flags: Vec<String>,
}

impl Engine {
    pub fn new(name: &str, binary: PathBuf, wasm_flags: &[String]) -> Engine {
        let flags = wasm_flags
            .iter()
            .flat_map(|f| ["-W".to_string(), f.clone()])
            .collect();
        Engine {
            name: name.to_string(),
            binary,
            flags,
        }
    }

    /// The same engine with the extra `-W` flags `variant`.
    pub fn with_variant(&self, variant: &str) -> Engine {
        let mut engine = self.clone();
        engine.name = format!("{} -W {variant}", self.name);
        engine.flags.extend(["-W".to_string(), variant.to_string()]);
        engine
    }
}

/// The outcome of one run.
#[derive(Clone, Debug)]
pub enum Sample {
    Ok { wall: Duration, max_rss_kib: u64 },
    Failed(String),
}

/// A call of one export instead of `_start`, and the result it must
/// print: `BINARY run [-W ...] --invoke EXPORT PROGRAM ARGS...`.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub export: String,
    pub args: Vec<String>,
    pub expected: String,
}

/// Runs `program` once on `engine` (calling `invocation` if given).
pub fn run_once(
    engine: &Engine,
    program: &Path,
    invocation: Option<&Invocation>,
) -> Result<Sample> {
    let start = Instant::now();
    let mut command = Command::new(&engine.binary);
    command.arg("run").args(&engine.flags);
    if let Some(call) = invocation {
        command.args(["--invoke", &call.export]);
    }
    command.arg(program);
    if let Some(call) = invocation {
        command.args(&call.args);
    }
    let mut child = command
        .stdout(if invocation.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", engine.binary.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    if waited != pid {
        return Ok(Sample::Failed(format!(
            "wait4: {}",
            std::io::Error::last_os_error()
        )));
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        if let (Some(call), Some(mut pipe)) = (invocation, child.stdout.take()) {
            use std::io::Read;
            let mut printed = String::new();
            pipe.read_to_string(&mut printed).ok();
            let result = printed.lines().last().unwrap_or("").trim();
            if result != call.expected {
                return Ok(Sample::Failed(format!(
                    "printed {result}, expected {}",
                    call.expected
                )));
            }
        }
        return Ok(Sample::Ok {
            wall,
            max_rss_kib: usage.ru_maxrss as u64,
        });
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        pipe.read_to_string(&mut stderr).ok();
    }
    // The innermost cause: the last line of the error report, before any
    // backtrace (Wasmtime prints a chain of causes).
    let reason = stderr
        .lines()
        .take_while(|line| !line.starts_with("Stack backtrace"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .last()
        .unwrap_or("")
        .to_string();
    let code = if libc::WIFEXITED(status) {
        format!("exit code {}", libc::WEXITSTATUS(status))
    } else {
        format!("signal {}", libc::WTERMSIG(status))
    };
    Ok(Sample::Failed(format!("{code}: {reason}")))
}
