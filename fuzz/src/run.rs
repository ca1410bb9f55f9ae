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

/// How a program runs on fxtime.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode {
    /// With the GC stress mode: a collection before every allocation.
    pub stress: bool,
    /// Beside [`CROWD`] continuations parked by another instance, so that
    /// every continuation the program makes is pending (takes its stack
    /// only when it first runs).
    pub crowded: bool,
}

/// Continuations parked beside a crowded run: more than fxtime-environ's
/// `PENDING_FROM_LIVE`.
const CROWD: usize = 1100;

/// The module that parks them: `park` suspends `CROWD` continuations and
/// keeps them, `drop` lets go of them.
const CROWD_MODULE: &str = r#"(module
  (type $idle (func))
  (type $k (cont $idle))
  (tag $wait)
  (table $parked 1100 (ref null $k))
  (func $idle (loop $again (suspend $wait) (br $again)))
  (elem declare func $idle)
  (func (export "park") (local $i i32) (local $k (ref null $k))
    (loop $more
      (block $parked (result (ref $k))
        (resume $k (on $wait $parked) (cont.new $k (ref.func $idle)))
        (unreachable))
      (local.set $k)
      (table.set $parked (local.get $i) (local.get $k))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (table.size $parked)))))
  (func (export "drop")
    (table.fill $parked (i32.const 0) (ref.null $k) (table.size $parked))))"#;

/// What a run showed, in the model's terms.
pub fn run(engines: &Engines, text: &str, acc: i32, mode: Mode) -> Result<Expected> {
    let engine = if mode.stress {
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
    let crowd = if mode.crowded {
        let module = Module::new(engine, CROWD_MODULE).context("compiling the crowd")?;
        let crowd = linker.instantiate(&mut store, &module)?;
        let park = crowd.get_func(&store, "park").context("park")?;
        park.call(&mut store, &[], &mut [])?;
        anyhow::ensure!(store.live_continuations() == CROWD, "the crowd is parked");
        Some(crowd)
    } else {
        None
    };
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
    if let Some(crowd) = crowd {
        let drop = crowd.get_func(&store, "drop").context("drop")?;
        drop.call(&mut store, &[], &mut [])?;
    }
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
