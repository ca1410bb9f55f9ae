//! Continuation stacks for fxtime's stack switching.
//!
//! ```text
//!  chunk (one mapping, carved into stacks)            high addresses
//!  +--------------------------------------------+ <- top of stack 0
//!  | color: 0-31 pages and 0-47 cache lines,    |    different for
//!  | unused                                     |    neighbouring stacks
//!  +--------------------------------------------+
//!  | header (the owner's, e.g. the continuation,|
//!  | 64-aligned), starting with the StackTop:   |
//!  |   context: sp, fp, ip                      |    where a switch to
//!  |                                            |    this stack resumes
//!  |   resumer: sp, fp, ip                      |    where a switch out
//!  |                                            |    of it resumes
//!  +--------------------------------------------+ <- initial stack pointer
//!  | frames of the continuation, growing down   |
//!  |                                            |
//!  | ...                                        |
//!  +- - - - - - - - - - - - - - - - - - - - - - + <- limit: the lowest
//!  | headroom for host code and trap handling   |    address wasm may use
//!  +--------------------------------------------+ <- base
//!  | guard page(s), inaccessible                |
//!  +--------------------------------------------+ <- top of stack 1
//!  | ...                                        |
//! ```
//!
//! [`StackPool`] hands out stacks from chunks of one mapping each (chunks
//! grow geometrically, so small programs reserve little); their owner
//! reuses them (the runtime through a free list in their headers), so in
//! the steady state creating a continuation costs no system call. Memory
//! is reserved up front but only touched pages cost memory.
//! [`fxtime_fibre_start`] is the frame every stack starts with; its unwind
//! information links each continuation's frames to its parent's.
//! [`switch`] lets host code switch stacks with the same convention.

#![deny(missing_docs)]

pub mod mmap;
mod pool;
mod switch;
mod trampoline;

pub use pool::HOST_HEADROOM;
pub use pool::{FiberStack, StackPool};
pub use switch::switch;
pub use trampoline::{StackTop, fxtime_fibre_start, start_trampoline_range};
