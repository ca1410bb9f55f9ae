//! Trap paths: every kind of trap reaches the host with its message and a
//! backtrace of named wasm frames, and the store stays usable.

use anyhow::Result;
use fxtime::{Engine, Instance, Linker, Module, Store, Trap, TrapKind, Val};
use fxtime_tests::with_big_stack;

const TRAPS: &str = r#"(module $traps
  (memory 1)
  (table 2 funcref)
  (type $v (func))
  (elem (i32.const 1) $wrong_type)
  (func $wrong_type (param i32))
  (func $unreachable (export "unreachable") unreachable)
  (func $div (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func $trunc (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
  (func $load (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func $far_load (export "far_load") (param i32) (result i32)
    (i32.load offset=0xfffffff0 (local.get 0)))
  (func $indirect (export "indirect") (param i32) (call_indirect (type $v) (local.get 0)))
  (func $table_get (export "table_get") (param i32) (result funcref) (table.get 0 (local.get 0)))
  (func $fill (export "fill") (param i32) (memory.fill (local.get 0) (i32.const 0) (i32.const 16)))
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $outer (export "outer") (call $middle))
  (func $middle (call $inner))
  (func $inner (drop (i32.div_u (i32.const 1) (i32.const 0)))))"#;

fn setup() -> Result<(Store<()>, Instance)> {
    let engine = Engine::default();
    let module = Module::new(&engine, TRAPS)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    Ok((store, instance))
}

/// The trap that calling export `name` with `args` ends in.
pub(crate) fn trap_of(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    args: &[Val],
) -> Trap {
    let func = instance.get_func(&*store, name).unwrap();
    let mut results = vec![Val::I32(0); func.ty(&*store).results.len()];
    let error = func.call(&mut *store, args, &mut results).unwrap_err();
    error
        .downcast_ref::<Trap>()
        .unwrap_or_else(|| panic!("{name}: not a trap: {error:#}"))
        .clone()
}

fn frame_names(trap: &Trap) -> Vec<String> {
    trap.backtrace()
        .frames()
        .iter()
        .map(|f| f.func_name.clone().unwrap_or_default())
        .collect()
}

#[test]
fn every_trap_kind_reaches_the_host() -> Result<()> {
    with_big_stack(|| {
        let (mut store, instance) = setup()?;
        let cases: &[(&str, &[Val], TrapKind, &str)] = &[
            ("unreachable", &[], TrapKind::Unreachable, "unreachable"),
            (
                "div",
                &[Val::I32(1), Val::I32(0)],
                TrapKind::IntegerDivisionByZero,
                "div",
            ),
            (
                "div",
                &[Val::I32(i32::MIN), Val::I32(-1)],
                TrapKind::IntegerOverflow,
                "div",
            ),
            (
                "trunc",
                &[Val::from(f32::NAN)],
                TrapKind::BadConversionToInteger,
                "trunc",
            ),
            (
                "trunc",
                &[Val::from(3e9f32)],
                TrapKind::IntegerOverflow,
                "trunc",
            ),
            (
                "load",
                &[Val::I32(65533)],
                TrapKind::MemoryOutOfBounds,
                "load",
            ),
            (
                "far_load",
                &[Val::I32(0x100)],
                TrapKind::MemoryOutOfBounds,
                "far_load",
            ),
            (
                "indirect",
                &[Val::I32(5)],
                TrapKind::UndefinedElement,
                "indirect",
            ),
            (
                "indirect",
                &[Val::I32(0)],
                TrapKind::UninitializedElement,
                "indirect",
            ),
            (
                "indirect",
                &[Val::I32(1)],
                TrapKind::IndirectCallTypeMismatch,
                "indirect",
            ),
            (
                "table_get",
                &[Val::I32(2)],
                TrapKind::TableOutOfBounds,
                "table_get",
            ),
            (
                "fill",
                &[Val::I32(65530)],
                TrapKind::MemoryOutOfBounds,
                "fill",
            ),
        ];
        for (name, args, kind, innermost) in cases {
            let trap = trap_of(&mut store, &instance, name, args);
            assert_eq!(trap.kind(), *kind, "{name}{args:?}");
            assert_eq!(trap.to_string(), kind.message());
            assert_eq!(
                frame_names(&trap).first().map(String::as_str),
                Some(*innermost)
            );
        }
        // The store works after all of those.
        let div = instance.get_typed_func::<(i32, i32), i32>(&store, "div")?;
        assert_eq!(div.call(&mut store, (84, 2))?, 42);
        Ok(())
    })
}

#[test]
fn backtraces_list_frames_innermost_first() -> Result<()> {
    let (mut store, instance) = setup()?;
    let trap = trap_of(&mut store, &instance, "outer", &[]);
    assert_eq!(trap.kind(), TrapKind::IntegerDivisionByZero);
    assert_eq!(frame_names(&trap), ["inner", "middle", "outer"]);
    let text = trap.backtrace().to_string();
    assert!(text.contains("traps!inner"), "{text}");
    Ok(())
}

#[test]
fn infinite_recursion_exhausts_the_stack_and_recovers() -> Result<()> {
    with_big_stack(|| {
        let (mut store, instance) = setup()?;
        for _ in 0..3 {
            let trap = trap_of(&mut store, &instance, "recurse", &[Val::I32(0)]);
            assert_eq!(trap.kind(), TrapKind::StackOverflow);
            assert_eq!(trap.to_string(), "call stack exhausted");
            assert!(frame_names(&trap).iter().all(|n| n == "recurse"));
            assert!(!trap.backtrace().frames().is_empty());
        }
        let div = instance.get_typed_func::<(i32, i32), i32>(&store, "div")?;
        assert_eq!(div.call(&mut store, (9, 3))?, 3);
        Ok(())
    })
}

#[test]
fn many_traps_in_a_row() -> Result<()> {
    let (mut store, instance) = setup()?;
    let load = instance.get_typed_func::<i32, i32>(&store, "load")?;
    for i in 0..10_000 {
        assert!(load.call(&mut store, 65536 + i).is_err());
    }
    assert_eq!(load.call(&mut store, 0)?, 0);
    Ok(())
}

#[test]
fn traps_cross_host_frames_with_the_full_backtrace() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "env",
        "reenter",
        |mut caller: fxtime::Caller<'_, ()>| -> Result<()> {
            let inner = caller
                .get_export("crash")
                .and_then(fxtime::Extern::into_func)
                .unwrap();
            inner.call(&mut caller, &[], &mut [])
        },
    )?;
    let module = Module::new(
        &engine,
        r#"(module $m
            (import "env" "reenter" (func $reenter))
            (func $start (export "start") (call $reenter))
            (func $crash (export "crash") unreachable))"#,
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_func(&store, "start").unwrap();
    let error = start.call(&mut store, &[], &mut []).unwrap_err();
    let trap = error
        .downcast_ref::<Trap>()
        .expect("the trap passes through the host");
    assert_eq!(trap.kind(), TrapKind::Unreachable);
    assert_eq!(frame_names(trap), ["crash", "start"]);
    Ok(())
}

#[test]
fn a_trapping_start_function_fails_instantiation() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, "(module (func $s unreachable) (start $s))")?;
    let mut store = Store::new(&engine, ());
    let error = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        TrapKind::Unreachable
    );
    let error = Instance::new(
        &mut store,
        &Module::new(
            &engine,
            r#"(module (memory 1) (data (i32.const 65535) "ab"))"#,
        )?,
        &[],
    )
    .unwrap_err();
    assert_eq!(error.to_string(), "out of bounds memory access");
    Ok(())
}

#[test]
fn recursion_on_a_small_thread_stack_still_traps() -> Result<()> {
    // 384 KiB of stack is less than the 512 KiB wasm budget: the limit must
    // follow the real stack, not run past it into the guard page.
    std::thread::Builder::new()
        .stack_size(384 * 1024)
        .spawn(|| -> Result<()> {
            let (mut store, instance) = setup()?;
            let trap = trap_of(&mut store, &instance, "recurse", &[Val::I32(0)]);
            assert_eq!(trap.kind(), TrapKind::StackOverflow);
            Ok(())
        })?
        .join()
        .unwrap()
}

#[test]
fn backtrace_frames_point_at_their_wasm_instructions() -> Result<()> {
    let wasm = wat::parse_str(TRAPS)?;
    let (mut store, instance) = setup()?;
    let trap = trap_of(&mut store, &instance, "outer", &[]);
    let opcodes: Vec<u8> = trap
        .backtrace()
        .frames()
        .iter()
        .map(|f| wasm[f.wasm_offset.expect("every frame has an offset") as usize])
        .collect();
    // inner traps in i32.div_u (0x6e); middle and outer are in their calls.
    assert_eq!(opcodes, [0x6e, 0x10, 0x10]);
    let trap = trap_of(&mut store, &instance, "load", &[Val::I32(70000)]);
    let offset = trap.backtrace().frames()[0].wasm_offset.unwrap();
    assert_eq!(wasm[offset as usize], 0x28, "i32.load");
    Ok(())
}

/// `unreachable` as the whole body of a taken `if` is reported at the
/// `unreachable` (0x00), not at the `if` (0x04) whose branch Cranelift
/// would otherwise fold into a conditional trap.
#[test]
fn an_unreachable_under_an_if_is_reported_where_it_is() -> Result<()> {
    let wat = r#"(module
        (func (export "check") (param i32) (result i32)
          (if (local.get 0) (then (unreachable)))
          (i32.const 7)))"#;
    let wasm = wat::parse_str(wat)?;
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, &wasm)?;
    let instance = Instance::new(&mut store, &module, &[])?;
    let check = instance.get_typed_func::<i32, i32>(&store, "check")?;
    assert_eq!(check.call(&mut store, 0)?, 7);
    let error = check.call(&mut store, 1).unwrap_err();
    let trap = error.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.kind(), TrapKind::Unreachable);
    let offset = trap.backtrace().frames()[0].wasm_offset.unwrap();
    assert_eq!(wasm[offset as usize], 0x00, "unreachable");
    Ok(())
}
