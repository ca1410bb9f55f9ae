//! Continuation stacks for fxtime's stack switching (not built yet).
//!
//! This crate will own the stacks continuations run on: pooled allocation
//! from large mappings, the control context near the top of each stack
//! (saved stack, frame and instruction pointers in the layout Cranelift's
//! `stack_switch` uses), the start trampoline at the bottom with its DWARF
//! CFI, and per-stack limits. See `ARCHITECTURE.md`.
