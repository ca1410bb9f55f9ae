//! Generated code's unwind information, registered with the system
//! unwinder. A binary of its own: registrations are process-wide, so no
//! other test may create code while these count them.

use anyhow::Result;
use fxtime::{Engine, Linker, Module, Store};
use fxtime_runtime::code::registered_code_objects;
use fxtime_runtime::unwind::live_registrations;
use std::sync::{Arc, Mutex};

/// Serializes the tests: registrations are counted process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

#[inline(never)]
fn enter_wasm_from_here(
    store: &mut Store<Arc<Mutex<String>>>,
    instance: &fxtime::Instance,
) -> Result<()> {
    let run = instance.get_typed_func::<(), ()>(&*store, "outer")?;
    run.call(&mut *store, ())
}

#[test]
fn the_system_unwinder_walks_through_wasm_frames() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let engine = Engine::default();
    let captured = Arc::new(Mutex::new(String::new()));
    let mut store = Store::new(&engine, captured.clone());
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "capture",
        |caller: fxtime::Caller<'_, Arc<Mutex<String>>>| {
            // `_Unwind_Backtrace` from here: through the host trampoline, three
            // wasm frames and the entry trampoline, into this test.
            *caller.data().lock().unwrap() = std::backtrace::Backtrace::force_capture().to_string();
        },
    )?;
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "capture" (func $capture))
            (func (export "outer") (call $middle))
            (func $middle (call $inner))
            (func $inner (call $capture)))"#,
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    enter_wasm_from_here(&mut store, &instance)?;
    let trace = captured.lock().unwrap().clone();
    assert!(
        trace.contains("enter_wasm_from_here"),
        "the unwinder stopped early:\n{trace}"
    );
    assert!(
        trace.contains("the_system_unwinder_walks_through_wasm_frames"),
        "{trace}"
    );
    Ok(())
}

#[test]
fn freed_code_leaves_no_unwind_registrations() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let engine = Engine::default();
    let wat = r#"(module (func (export "f") (param i32) (result i32)
                   (i32.add (local.get 0) (i32.const 1))))"#;
    // The engine's trampolines for the module's type stay registered.
    drop(Module::new(&engine, wat)?);
    let baseline = (live_registrations(), registered_code_objects());
    for _ in 0..10_000 {
        let module = Module::new(&engine, wat)?;
        assert_eq!(live_registrations(), baseline.0 + 1);
        drop(module);
    }
    // Neither the unwinder nor fxtime's own pc registry keeps freed code.
    assert_eq!((live_registrations(), registered_code_objects()), baseline);
    Ok(())
}
