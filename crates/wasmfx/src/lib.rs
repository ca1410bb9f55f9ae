//! The stack-switching extension of fxtime (not built yet).
//!
//! Everything the stack-switching proposal adds will live here: the
//! continuation object layout, handler tables, the CLIF emitted for
//! `cont.new`, `resume`, `suspend`, `switch` and `resume_throw` (reached
//! from the translator through a narrow hook), and the runtime's slow
//! paths. See `ARCHITECTURE.md`.
