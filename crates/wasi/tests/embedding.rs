//! WASI through the embedding API: captured stdio, calls made on
//! continuation stacks, and `proc_exit` as the caller sees it.

use fxtime::{Config, Engine, Linker, Module, Store};
use fxtime_wasi::{ReadPipe, WasiCtx, WasiCtxBuilder, WritePipe};
use std::sync::{Arc, RwLock};

/// Echoes a line of stdin to stdout from inside a continuation, once
/// before and once after suspending, then exits with 5.
const ECHO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (type $f (func))
  (type $c (cont $f))
  (tag $pause)

  ;; iovec at 0: 64 bytes at 16; the count lands at 8.
  (func $echo
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (then unreachable)))

  (func $body
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 64))
    (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
      (then unreachable))
    (call $echo)
    (suspend $pause)
    (call $echo))
  (elem declare func $body)

  (func (export "_start")
    (local $k (ref $c))
    (block $paused (result (ref $c))
      (resume $c (on $pause $paused) (cont.new $c (ref.func $body)))
      (unreachable))
    (local.set $k)
    (resume $c (local.get $k))
    (call $exit (i32.const 5))))"#;

#[test]
fn wasi_calls_from_a_continuation_and_proc_exit() -> anyhow::Result<()> {
    let mut config = Config::new();
    config.wasm_stack_switching(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, ECHO)?;
    let mut linker = Linker::<WasiCtx>::new(&engine);
    fxtime_wasi::add_to_linker(&mut linker, |wasi| wasi)?;

    let stdout = Arc::new(RwLock::new(Vec::new()));
    let wasi = WasiCtxBuilder::new()
        .stdin(Box::new(ReadPipe::from("ping\n")))
        .stdout(Box::new(WritePipe::from_shared(stdout.clone())))
        .build();
    let mut store = Store::new(&engine, wasi);
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
    let error = start.call(&mut store, ()).unwrap_err();
    assert_eq!(fxtime_wasi::exit_code(&error), Some(5), "{error:#}");
    assert_eq!(&*stdout.read().unwrap(), b"ping\nping\n");
    assert_eq!(store.live_continuations(), 0);
    Ok(())
}

#[test]
fn a_failed_wasi_call_leaves_the_store_usable() -> anyhow::Result<()> {
    let engine = Engine::default();
    // No `memory` export: every call that needs memory fails, clearly.
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "random_get"
               (func $random (param i32 i32) (result i32)))
             (func (export "fill") (result i32)
               (call $random (i32.const 0) (i32.const 8))))"#,
    )?;
    let mut linker = Linker::<WasiCtx>::new(&engine);
    fxtime_wasi::add_to_linker(&mut linker, |wasi| wasi)?;
    let mut store = Store::new(&engine, WasiCtxBuilder::new().build());
    let instance = linker.instantiate(&mut store, &module)?;
    let fill = instance.get_typed_func::<(), i32>(&store, "fill")?;
    for _ in 0..2 {
        let error = fill.call(&mut store, ()).unwrap_err();
        assert!(format!("{error:#}").contains("`memory`"), "{error:#}");
        assert_eq!(fxtime_wasi::exit_code(&error), None);
    }
    Ok(())
}
