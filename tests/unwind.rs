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

/// Calls export `name`: the host frame that enters wasm, which unwinders
/// must reach.
#[inline(never)]
fn enter_wasm_from_here<T: 'static>(
    store: &mut Store<T>,
    instance: &fxtime::Instance,
    name: &str,
) -> Result<()> {
    let run = instance.get_typed_func::<(), ()>(&*store, name)?;
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
    enter_wasm_from_here(&mut store, &instance, "outer")?;
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

/// Three continuations deep: `outer` resumes `first`, which resumes
/// `second`, which resumes `third`, which calls the host.
const NESTED: &str = r#"(module
  (import "host" "capture" (func $capture))
  (type $f (func))
  (type $c (cont $f))
  (func $third (call $capture))
  (func $second (resume $c (cont.new $c (ref.func $third))))
  (func $first (resume $c (cont.new $c (ref.func $second))))
  (func (export "outer") (resume $c (cont.new $c (ref.func $first))))
  (elem declare func $first $second $third))"#;

#[repr(C)]
struct UnwindContext {
    _opaque: [u8; 0],
}

type UnwindTrace = extern "C" fn(*mut UnwindContext, *mut std::ffi::c_void) -> i32;

unsafe extern "C" {
    // The system unwinder (libgcc_s), which follows DWARF CFI only.
    fn _Unwind_Backtrace(trace: UnwindTrace, data: *mut std::ffi::c_void) -> i32;
    fn _Unwind_GetIP(context: *mut UnwindContext) -> usize;
}

/// Return addresses of the frames above this one, by `_Unwind_Backtrace`.
fn unwind_ips() -> Vec<usize> {
    extern "C" fn push(context: *mut UnwindContext, data: *mut std::ffi::c_void) -> i32 {
        // SAFETY: `data` is the `Vec` below, alive for the whole walk;
        // `context` is the unwinder's, valid during this callback.
        unsafe { (*data.cast::<Vec<usize>>()).push(_Unwind_GetIP(context)) };
        0 // _URC_NO_REASON: keep going
    }
    let mut ips = Vec::new();
    // SAFETY: `push` matches the callback type and only touches `ips`.
    unsafe { _Unwind_Backtrace(push, (&mut ips as *mut Vec<usize>).cast()) };
    ips
}

/// The names of the wasm functions among `ips`, in order.
fn wasm_names(ips: &[usize]) -> Vec<String> {
    ips.iter()
        .flat_map(|ip| match fxtime_runtime::code::lookup_pc(*ip) {
            Some(fxtime_runtime::code::PcKind::Wasm(frames)) => frames,
            _ => Vec::new(),
        })
        .filter_map(|frame| frame.func_name)
        .collect()
}

#[derive(Default)]
struct Captured {
    ips: Vec<usize>,
    rust_trace: String,
    fp_names: Vec<String>,
}

#[test]
fn unwinders_walk_from_a_continuation_through_its_parents_to_the_host() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut config = fxtime::Config::new();
    config.wasm_stack_switching(true);
    let engine = Engine::new(&config)?;
    let captured = Arc::new(Mutex::new(Captured::default()));
    let mut store = Store::new(&engine, captured.clone());
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "host",
        "capture",
        |caller: fxtime::Caller<'_, Arc<Mutex<Captured>>>| {
            let ips = unwind_ips();
            let rust_trace = std::backtrace::Backtrace::force_capture().to_string();
            let fp_names = fxtime::WasmBacktrace::capture(&caller)
                .frames()
                .iter()
                .map(|f| f.func_name.clone().unwrap_or_default())
                .collect();
            *caller.data().lock().unwrap() = Captured {
                ips,
                rust_trace,
                fp_names,
            };
        },
    )?;
    let compiled = Module::new(&engine, NESTED)?;
    // SAFETY: serialized by this engine just now.
    let precompiled = unsafe { Module::deserialize(&engine, compiled.serialize()?)? };
    // Code loaded from a precompiled module unwinds as freshly compiled
    // code does.
    for module in [compiled, precompiled] {
        let instance = linker.instantiate(&mut store, &module)?;
        enter_wasm_from_here(&mut store, &instance, "outer")?;
        let captured = captured.lock().unwrap();
        let expected = ["third", "second", "first", "outer"];
        // DWARF: each continuation's bottom frame leads to the frame of the
        // resume that runs it, and on into the host.
        assert_eq!(
            wasm_names(&captured.ips),
            expected,
            "{}",
            captured.rust_trace
        );
        assert!(
            captured.rust_trace.contains("enter_wasm_from_here"),
            "the system unwinder stopped before the host frame:\n{}",
            captured.rust_trace
        );
        // Frame pointers: the same frames.
        assert_eq!(captured.fp_names, expected);
    }
    Ok(())
}

#[test]
fn freed_code_leaves_no_unwind_registrations() -> Result<()> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let engine = Engine::default();
    let wat = r#"(module (func (export "f") (param i32) (result i32)
                   (i32.add (local.get 0) (i32.const 1))))"#;
    // Whatever the engine keeps for good (trampolines, compiled when
    // first needed) is in the baseline.
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
