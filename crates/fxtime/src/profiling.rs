//! Telling profilers about generated code.
//!
//! With [`ProfilingStrategy::PerfMap`], every piece of code the engine
//! links is described in `/tmp/perf-PID.map` (one `START SIZE NAME` line per
//! function), the file `perf report` reads to name JIT code.

use fxtime_runtime::code::CodeObject;
use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

/// How generated code is made known to profilers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfilingStrategy {
    /// Not at all.
    #[default]
    None,
    /// A perf map file, `/tmp/perf-PID.map`.
    PerfMap,
}

/// Where the engine reports code.
#[derive(Debug, Default)]
pub(crate) struct Profiler {
    perf_map: Option<Mutex<File>>,
}

impl Profiler {
    pub(crate) fn new(strategy: ProfilingStrategy) -> std::io::Result<Profiler> {
        Ok(match strategy {
            ProfilingStrategy::None => Profiler::default(),
            ProfilingStrategy::PerfMap => {
                let path = format!("/tmp/perf-{}.map", std::process::id());
                let file = File::options().create(true).append(true).open(path)?;
                Profiler {
                    perf_map: Some(Mutex::new(file)),
                }
            }
        })
    }

    /// Reports the functions of newly linked code.
    pub(crate) fn register(&self, code: &CodeObject) {
        let Some(file) = &self.perf_map else {
            return;
        };
        let mut text = String::new();
        for (address, size, name) in code.symbols() {
            // perf's map format: hexadecimal start and size, then the name.
            text.push_str(&format!("{address:x} {size:x} {name}\n"));
        }
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        // A profiler's map is best effort: a failed write must not fail the
        // program being profiled.
        let _ = file.write_all(text.as_bytes());
    }
}
