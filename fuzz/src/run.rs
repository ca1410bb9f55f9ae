//! Running a generated program on fxtime and comparing with the model.

use crate::model::{Expected, Outcome, UNHANDLED, trap_message};
use crate::program::TrapKind;
use anyhow::{Context, Result};
use fxtime::{Caller, Config, Engine, Linker, Module, Store, Val};
use std::path::Path;
use std::process::Command;

/// The engines programs run on: plain, and with the GC stress mode (a
/// collection before every allocation), which a quarter of the programs
/// use.
pub struct Engines {
    plain: Engine,
    stressed: Engine,
}

impl Engines {
    pub fn new() -> Result<Engines> {
        let engine = |stress: bool| {
            let mut config = Config::new();
            config.wasm_stack_switching(true).gc_stress(stress);
            Engine::new(&config)
        };
        Ok(Engines {
            plain: engine(false)?,
            stressed: engine(true)?,
        })
    }
}

/// What a run showed, in the model's terms.
pub fn run(engines: &Engines, text: &str, acc: i32, stress: bool) -> Result<Expected> {
    let engine = if stress {
        &engines.stressed
    } else {
        &engines.plain
    };
    let module = Module::new(engine, text).context("compiling a generated program")?;
    let mut store = Store::new(engine, Vec::<i32>::new());
    let mut linker = Linker::new(engine);
    linker.func_wrap("env", "log", |mut caller: Caller<'_, Vec<i32>>, x: i32| {
        caller.data_mut().push(x);
    })?;
    let instance = linker.instantiate(&mut store, &module)?;
    let main = instance.get_func(&store, "main").context("main")?;
    let mut out = [Val::I32(0)];
    let outcome = match main.call(&mut store, &[Val::I32(acc)], &mut out) {
        Ok(()) => Outcome::Returned(out[0].i32().context("an i32 result")?),
        Err(err) => classify(&err),
    };
    // Nothing of the run is reachable once the parked references are
    // dropped: every continuation it made must come back.
    let clear = instance.get_func(&store, "clear").context("clear")?;
    clear.call(&mut store, &[], &mut [])?;
    store.gc();
    let live = store.live_continuations();
    anyhow::ensure!(live == 0, "{live} continuations live after the run");
    Ok(Expected {
        log: std::mem::take(store.data_mut()),
        outcome,
    })
}

/// The outcome an error stands for.
fn classify(err: &anyhow::Error) -> Outcome {
    if err.downcast_ref::<fxtime::ThrownException>().is_some() {
        return Outcome::Uncaught;
    }
    let text = format!("{err:?}");
    let messages = TrapKind::ALL.map(trap_message);
    match messages
        .into_iter()
        .chain([UNHANDLED])
        .find(|message| text.contains(message))
    {
        Some(message) => Outcome::Trap(message),
        None => Outcome::Failed(text),
    }
}

/// What the `wasmtime` binary at `wasmtime` showed for the portable module
/// `text` (its log folded into the result).
pub fn run_wasmtime(wasmtime: &Path, text: &str, acc: i32, dir: &Path) -> Result<Outcome> {
    let file = dir.join("program.wat");
    std::fs::write(&file, text)?;
    let output = Command::new(wasmtime)
        .args([
            "run",
            "-W",
            "stack-switching=y,exceptions=y,function-references=y",
        ])
        .args(["--invoke", "main"])
        .arg(&file)
        .arg(acc.to_string())
        .output()
        .context("running wasmtime")?;
    if output.status.success() {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let value = stdout.trim().lines().last().unwrap_or_default();
        return Ok(Outcome::Returned(
            value
                .parse()
                .with_context(|| format!("wasmtime printed {stdout:?}"))?,
        ));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("thrown Wasm exception") {
        return Ok(Outcome::Uncaught);
    }
    // Wasmtime's words for each trap the model knows.
    let wasmtime_words = |kind| match kind {
        TrapKind::Unreachable => "wasm `unreachable` instruction executed",
        TrapKind::DivideByZero => "integer divide by zero",
        TrapKind::OutOfBounds => "memory fault at wasm address",
        TrapKind::NullContinuation => "null reference",
        TrapKind::Consumed => "continuation already consumed",
    };
    let trap = TrapKind::ALL
        .into_iter()
        .map(|kind| (wasmtime_words(kind), trap_message(kind)))
        .chain([(UNHANDLED, UNHANDLED)])
        .find(|(words, _)| stderr.contains(words));
    Ok(match trap {
        Some((_, message)) => Outcome::Trap(message),
        None => Outcome::Failed(stderr.lines().take(8).collect::<Vec<_>>().join("\n")),
    })
}
