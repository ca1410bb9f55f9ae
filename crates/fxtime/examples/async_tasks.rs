//! Async host functions: 100,000 concurrent wasm calls, each waiting on an
//! async host sleep, on tokio's multi-threaded executor. Each call runs on
//! a pooled stack that is suspended while its sleep is pending, so the
//! threads stay free for the other tasks.
//!
//! Then the cost of one round trip through the executor: a call that
//! awaits a future pending once (tokio's `yield_now`) a million times.
//!
//! Run with `cargo run --release -p fxtime --example async_tasks`.

use fxtime::{Caller, Config, Engine, Linker, Module, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TASKS: i32 = 100_000;
const ROUND_TRIPS: i64 = 1_000_000;

const MODULE: &str = r#"(module
  (import "host" "sleep" (func $sleep (param i64)))
  (import "host" "yield" (func $yield))
  (import "host" "ready" (func $ready))
  ;; Sleeps `ms` milliseconds, then answers `id + 1`.
  (func (export "task") (param $id i32) (param $ms i64) (result i32)
    (call $sleep (local.get $ms))
    (i32.add (local.get $id) (i32.const 1)))
  ;; Awaits `n` futures: pending once each, or ready at once.
  (func (export "spin") (param $n i64) (param $pending i32)
    (loop $more
      (if (local.get $pending) (then (call $yield)) (else (call $ready)))
      (local.tee $n (i64.sub (local.get $n) (i64.const 1)))
      (br_if $more (i64.gt_s (i64.const 0))))))"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut config = Config::new();
    config.async_support(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, MODULE)?;
    let mut linker = Linker::new(&engine);
    linker.func_wrap_async("host", "sleep", |_: Caller<'_, ()>, ms: i64| {
        Box::new(tokio::time::sleep(Duration::from_millis(ms as u64)))
    })?;
    linker.func_wrap_async("host", "yield", |_: Caller<'_, ()>, (): ()| {
        Box::new(tokio::task::yield_now())
    })?;
    linker.func_wrap_async("host", "ready", |_: Caller<'_, ()>, (): ()| {
        Box::new(std::future::ready(()))
    })?;
    let linker = Arc::new(linker);

    let start = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|id| {
            let (engine, linker, module) = (engine.clone(), linker.clone(), module.clone());
            tokio::spawn(async move {
                let mut store = Store::new(&engine, ());
                let instance = linker.instantiate_async(&mut store, &module).await?;
                let task = instance.get_typed_func::<(i32, i64), i32>(&store, "task")?;
                let answer = task.call_async(&mut store, (id, 100)).await?;
                anyhow::ensure!(answer == id + 1, "task {id} answered {answer}");
                anyhow::Ok(())
            })
        })
        .collect();
    let mut completed = 0;
    for task in tasks {
        task.await??;
        completed += 1;
    }
    let elapsed = start.elapsed();
    println!(
        "{completed} tasks in {:.3} s, peak RSS {} MiB",
        elapsed.as_secs_f64(),
        peak_rss_kib() / 1024
    );

    let mut store = Store::new(&engine, ());
    let instance = linker.instantiate_async(&mut store, &module).await?;
    let spin = instance.get_typed_func::<(i64, i32), ()>(&store, "spin")?;
    let mut per_call = [0.0; 2];
    for (pending, nanos) in per_call.iter_mut().enumerate() {
        let start = Instant::now();
        spin.call_async(&mut store, (ROUND_TRIPS, pending as i32))
            .await?;
        *nanos = start.elapsed().as_nanos() as f64 / ROUND_TRIPS as f64;
    }
    println!(
        "an async host call: {:.0} ns ready at once, {:.0} ns pending once \
         (a round trip through the executor: {:.0} ns)",
        per_call[0],
        per_call[1],
        per_call[1] - per_call[0]
    );
    println!("completed {completed} tasks");
    Ok(())
}

/// The process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
