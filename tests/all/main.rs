//! fxtime's integration tests, one binary with a module per topic.

mod api;
mod async_calls;
mod continuation_gc;
mod exceptions;
mod gc;
mod host_handler;
mod interrupts;
mod memory64;
mod misc;
mod precompiled;
mod spec;
mod stack_switching;
mod trap_locations;
mod traps;
