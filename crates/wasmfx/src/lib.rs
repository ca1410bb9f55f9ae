//! The stack-switching extension: the CLIF that creates, resumes, suspends
//! and switches continuations.
//!
//! The translator (fxtime-cranelift) handles the wasm side of each
//! instruction (operands, labels, builtins); the code here emits what runs
//! on the switching paths, straight-line code over the layouts in
//! `fxtime_environ::vm` with Cranelift's `stack_switch` at its heart. No
//! path calls into the runtime except to grow a value buffer.
//!
//! ```text
//!   resume k         consume k; k.parent := current;
//!                    current, stack limit := k.innermost's
//!                    stack_switch(k.resumer, k.context, k)
//!                    dispatch on root.transfer (return / throw / clause)
//!   suspend $t       root := the nearest running continuation whose resume
//!                    has (on $t ..); root.innermost := current;
//!                    current, stack limit := root.parent's
//!                    stack_switch(root.context, root.resumer, root)
//!   switch $t k      h := nearest (on $t switch); k takes h's place under
//!                    that resume (parent, handlers, resumer); h's chain
//!                    becomes the new continuation
//!                    stack_switch(h.context, k.context, k)
//!   (return)         the continuation entry: current, stack limit :=
//!                    the parent's, then the start trampoline switches
//! ```
//!
//! Invariants the code relies on are stated on `fxtime_environ::vm::VMContRef`
//! and in ARCHITECTURE.md ("Stack switching").

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod emit;
