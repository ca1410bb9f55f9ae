//! The fxtime virtual machine: what runs compiled WebAssembly.
//!
//! - [`mmap`]: owned mappings (from `fxtime-fibre`).
//! - [`code`]: linked executable code and the registry from program
//!   counters to functions and trap sites.
//! - [`traps`]: entering wasm with a catch point, the signal handler, and
//!   the trap landing that unwinds back to the host.
//! - [`instance`], [`memory`], [`table`]: the structures an instance is made
//!   of, laid out for generated code by `fxtime_environ::VMOffsets`.
//! - [`libcalls`]: builtins generated code calls for bulk operations and
//!   growth.
//! - [`fiber`]: host code on a pooled stack that suspends midway (async
//!   calls).
//! - [`host_resume`]: the host as a handler, resuming continuations.
//! - [`store`]: ownership of everything a store's instances create.
//! - [`types`]: engine-wide canonical function types.
//!
//! Only x86-64 Linux is supported.

#![deny(missing_docs)]

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
compile_error!("fxtime runs on x86-64 Linux only");

mod checks;
pub mod code;
pub mod continuations;
pub mod epoch;
pub mod exceptions;
pub mod fiber;
mod frames;
pub mod gc;
pub mod gdb_jit;
pub mod host_resume;
pub mod instance;
pub mod libcalls;
pub mod memory;
pub use fxtime_fibre::mmap;
pub use fxtime_fibre::{FiberStack, StackPool};
pub mod store;
pub mod table;
pub mod traps;
pub mod types;
pub mod unwind;
