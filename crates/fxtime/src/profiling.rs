//! Telling profilers about generated code.
//!
//! - [`ProfilingStrategy::PerfMap`]: every function the engine links is a
//!   `START SIZE NAME` line of `/tmp/perf-PID.map`, which `perf report`
//!   reads to name JIT code.
//! - [`ProfilingStrategy::JitDump`]: perf's jitdump format, `jit-PID.dump`
//!   in the current directory: a header, then one code-load record per
//!   function (address, size, name and the code bytes, timestamped with
//!   `CLOCK_MONOTONIC`, so record with `perf record -k 1`). The file is
//!   mapped executable once, which is how `perf record` finds it; `perf
//!   inject --jit` then turns it into per-function ELF files.

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
    /// A jitdump file, `jit-PID.dump` in the current directory.
    JitDump,
}

/// Where the engine reports code.
#[derive(Debug, Default)]
pub(crate) struct Profiler {
    perf_map: Option<Mutex<File>>,
    jit_dump: Option<Mutex<JitDump>>,
}

/// An open jitdump file.
#[derive(Debug)]
struct JitDump {
    file: File,
    next_index: u64,
}

const JITDUMP_MAGIC: u32 = 0x4A69_5444;
const JIT_CODE_LOAD: u32 = 0;
const EM_X86_64: u32 = 62;

fn monotonic_nanos() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

impl JitDump {
    fn create() -> std::io::Result<JitDump> {
        let pid = std::process::id();
        let mut file = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(format!("jit-{pid}.dump"))?;
        let mut header = Vec::with_capacity(40);
        for word in [JITDUMP_MAGIC, 1, 40, EM_X86_64, 0, pid] {
            header.extend_from_slice(&word.to_le_bytes());
        }
        header.extend_from_slice(&monotonic_nanos().to_le_bytes());
        header.extend_from_slice(&0u64.to_le_bytes());
        file.write_all(&header)?;
        // perf record notices the file through this executable mapping; it
        // stays mapped for the life of the process.
        // SAFETY: mapping one page of our own open file, never accessed.
        let marker = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_PRIVATE,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        if marker == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(JitDump {
            file,
            next_index: 0,
        })
    }

    fn code_load(&mut self, address: usize, size: usize, name: &str) -> std::io::Result<()> {
        // SAFETY: the function's code is mapped readable for the life of
        // its code object, which is alive while it is being registered.
        let code = unsafe { std::slice::from_raw_parts(address as *const u8, size) };
        let total = 16 + 40 + name.len() + 1 + size;
        let mut record = Vec::with_capacity(total);
        record.extend_from_slice(&JIT_CODE_LOAD.to_le_bytes());
        record.extend_from_slice(&(total as u32).to_le_bytes());
        record.extend_from_slice(&monotonic_nanos().to_le_bytes());
        record.extend_from_slice(&std::process::id().to_le_bytes());
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        record.extend_from_slice(&tid.to_le_bytes());
        for word in [address as u64, address as u64, size as u64, self.next_index] {
            record.extend_from_slice(&word.to_le_bytes());
        }
        record.extend_from_slice(name.as_bytes());
        record.push(0);
        record.extend_from_slice(code);
        self.next_index += 1;
        self.file.write_all(&record)
    }
}

impl Profiler {
    pub(crate) fn new(strategy: ProfilingStrategy) -> std::io::Result<Profiler> {
        Ok(match strategy {
            ProfilingStrategy::None => Profiler::default(),
            ProfilingStrategy::JitDump => Profiler {
                perf_map: None,
                jit_dump: Some(Mutex::new(JitDump::create()?)),
            },
            ProfilingStrategy::PerfMap => {
                let path = format!("/tmp/perf-{}.map", std::process::id());
                let file = File::options().create(true).append(true).open(path)?;
                Profiler {
                    perf_map: Some(Mutex::new(file)),
                    jit_dump: None,
                }
            }
        })
    }

    /// Reports the functions of newly linked code.
    pub(crate) fn register(&self, code: &CodeObject) {
        if let Some(dump) = &self.jit_dump {
            let mut dump = dump.lock().unwrap_or_else(|e| e.into_inner());
            for (address, size, name) in code.symbols() {
                // Best effort, as for the perf map below.
                let _ = dump.code_load(address, size, &name);
            }
        }
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
