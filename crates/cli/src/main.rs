//! The `fxtime` command: run WebAssembly programs and spec scripts.

mod args;
mod compile;
mod run;
mod wast;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// fxtime: a WebAssembly runtime with native stack switching.
#[derive(Parser)]
#[command(name = "fxtime", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a WebAssembly module (binary or text).
    Run(run::RunCommand),
    /// Run WebAssembly spec scripts (.wast).
    Wast(wast::WastCommand),
    /// Compile a module ahead of time into a precompiled file (.cwasm).
    Compile(compile::CompileCommand),
}

/// Whether the error is a write to a closed pipe (`fxtime ... | head`),
/// which ends the command quietly.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(command) => command.execute(),
        Command::Wast(command) => command.execute(),
        Command::Compile(command) => command.execute(),
    };
    match result {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
