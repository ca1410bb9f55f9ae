//! Runner for WebAssembly specification scripts (`.wast` files) on fxtime.
//!
//! A [`WastRunner`] parses a script with the `wast` crate and executes every
//! directive in it (`module`, `register`, `invoke`, `assert_return`,
//! `assert_trap`, `assert_invalid`, ...) against the fxtime engine. Every
//! directive counts as one assertion; the totals and the failures are
//! collected in an [`Outcome`].
//!
//! ```no_run
//! let config = fxtime::Config::new();
//! let mut runner = fxtime_wast::WastRunner::new(&config)?;
//! let outcome = runner.run_file("i32.wast");
//! println!("{} passed, {} failed", outcome.passed, outcome.failed);
//! # anyhow::Ok(())
//! ```

mod messages;
mod outcome;
mod runner;
mod spectest;
mod values;

pub use outcome::{Failure, Outcome};
pub use runner::WastRunner;
