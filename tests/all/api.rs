//! The embedding API: host functions, memories, globals, tables, values,
//! errors.

use anyhow::Result;
use fxtime::{
    Caller, Config, Engine, Extern, ExternRef, Func, FuncType, Global, GlobalType, Instance,
    Linker, Memory, MemoryType, Module, Mutability, RefType, Store, Table, TableType, Trap, Val,
    ValType,
};

fn instantiate<T: Send + 'static>(
    store: &mut Store<T>,
    linker: &Linker<T>,
    wat: &str,
) -> Result<Instance> {
    let module = Module::new(store.engine(), wat)?;
    linker.instantiate(store, &module)
}

#[test]
fn host_functions_see_store_data_and_caller_memory() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, Vec::<String>::new());
    let mut linker = Linker::new(&engine);
    linker.func_wrap(
        "env",
        "log",
        |mut caller: Caller<'_, Vec<String>>, ptr: i32, len: i32| {
            let memory = caller
                .get_export("memory")
                .and_then(Extern::into_memory)
                .unwrap();
            let mut bytes = vec![0; len as usize];
            memory.read(&caller, ptr as usize, &mut bytes)?;
            caller.data_mut().push(String::from_utf8(bytes)?);
            anyhow::Ok(len)
        },
    )?;
    let instance = instantiate(
        &mut store,
        &linker,
        r#"(module
            (import "env" "log" (func $log (param i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "hello")
            (func (export "run") (result i32)
              (call $log (i32.const 16) (i32.const 5))))"#,
    )?;
    let run = instance.get_typed_func::<(), i32>(&store, "run")?;
    assert_eq!(run.call(&mut store, ())?, 5);
    assert_eq!(store.data(), &["hello".to_string()]);
    Ok(())
}

#[test]
fn host_error_aborts_the_call_and_the_store_stays_usable() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "check", |x: i32| -> Result<i32> {
        if x < 0 {
            anyhow::bail!("negative input {x}");
        }
        Ok(x + 1)
    })?;
    let instance = instantiate(
        &mut store,
        &linker,
        r#"(module
            (import "env" "check" (func $check (param i32) (result i32)))
            (global $after (export "after") (mut i32) (i32.const 0))
            (func (export "run") (param i32) (result i32)
              (call $check (local.get 0))
              (global.set $after (i32.const 1))))"#,
    )?;
    let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
    let error = run.call(&mut store, -5).unwrap_err();
    assert_eq!(error.to_string(), "negative input -5");
    let after = instance.get_global(&store, "after").unwrap();
    assert_eq!(
        after.get(&store),
        Val::I32(0),
        "wasm after the failed call ran"
    );
    assert_eq!(run.call(&mut store, 41)?, 42);
    assert_eq!(after.get(&store), Val::I32(1));
    Ok(())
}

#[test]
fn host_calls_back_into_wasm() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    // The host asks wasm for fib(n - 1) + fib(n - 2), recursively.
    linker.func_wrap(
        "env",
        "fib",
        |mut caller: Caller<'_, ()>, n: i32| -> Result<i32> {
            if n < 2 {
                return Ok(n);
            }
            let fib = caller
                .get_export("fib")
                .and_then(Extern::into_func)
                .unwrap();
            let mut out = [Val::I32(0)];
            fib.call(&mut caller, &[Val::I32(n - 1)], &mut out)?;
            let a = out[0].i32().unwrap();
            fib.call(&mut caller, &[Val::I32(n - 2)], &mut out)?;
            Ok(a + out[0].i32().unwrap())
        },
    )?;
    let instance = instantiate(
        &mut store,
        &linker,
        r#"(module
            (import "env" "fib" (func $host (param i32) (result i32)))
            (func (export "fib") (param i32) (result i32) (call $host (local.get 0))))"#,
    )?;
    let fib = instance.get_typed_func::<i32, i32>(&store, "fib")?;
    assert_eq!(fib.call(&mut store, 15)?, 610);
    Ok(())
}

#[test]
fn memory_access_from_the_host() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let instance = instantiate(
        &mut store,
        &linker,
        r#"(module
            (memory (export "mem") 1 3)
            (func (export "sum") (param i32 i32) (result i32)
              (local $acc i32)
              (block $done (loop $next
                (br_if $done (i32.eqz (local.get 1)))
                (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get 0))))
                (local.set 0 (i32.add (local.get 0) (i32.const 1)))
                (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
                (br $next)))
              (local.get $acc))
            (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1))))"#,
    )?;
    let memory = instance.get_memory(&store, "mem").unwrap();
    memory.write(&mut store, 100, &[1, 2, 3, 4])?;
    let sum = instance.get_typed_func::<(i32, i32), i32>(&store, "sum")?;
    assert_eq!(sum.call(&mut store, (100, 4))?, 10);

    let write = instance.get_typed_func::<(i32, i32), ()>(&store, "store")?;
    write.call(&mut store, (200, 0x0403_0201))?;
    assert_eq!(&memory.data(&store)[200..204], &[1, 2, 3, 4]);

    assert_eq!(memory.grow(&mut store, 2)?, 1);
    assert_eq!(memory.data_size(&store), 3 * 65536);
    assert!(memory.grow(&mut store, 1).is_err(), "grew past the maximum");
    write.call(&mut store, (3 * 65536 - 4, 7))?;
    let error = write.call(&mut store, (3 * 65536 - 3, 7)).unwrap_err();
    assert_eq!(
        error.downcast_ref::<Trap>().unwrap().kind(),
        fxtime::TrapKind::MemoryOutOfBounds
    );
    assert!(memory.write(&mut store, 3 * 65536 - 1, &[0, 0]).is_err());
    Ok(())
}

#[test]
fn imported_globals_memories_and_tables() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let counter = Global::new(
        &mut store,
        GlobalType::new(ValType::I64, Mutability::Var),
        Val::I64(5),
    )?;
    let memory = Memory::new(&mut store, MemoryType::new(1, None))?;
    let table = Table::new(
        &mut store,
        TableType::new(RefType::FUNCREF, 2, None),
        Val::FuncRef(None),
    )?;
    let double = Func::wrap(&mut store, |x: i32| x * 2);
    table.set(&mut store, 1, Val::FuncRef(Some(double)))?;

    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "counter", counter)?;
    linker.define(&store, "host", "memory", memory)?;
    linker.define(&store, "host", "table", table)?;
    let instance = instantiate(
        &mut store,
        &linker,
        r#"(module
            (import "host" "counter" (global $c (mut i64)))
            (import "host" "memory" (memory 1))
            (import "host" "table" (table 2 funcref))
            (type $i2i (func (param i32) (result i32)))
            (func (export "bump") (global.set $c (i64.add (global.get $c) (i64.const 1))))
            (func (export "peek") (result i32) (i32.load (i32.const 8)))
            (func (export "call") (param i32 i32) (result i32)
              (call_indirect (type $i2i) (local.get 1) (local.get 0))))"#,
    )?;
    instance
        .get_typed_func::<(), ()>(&store, "bump")?
        .call(&mut store, ())?;
    assert_eq!(counter.get(&store), Val::I64(6));
    counter.set(&mut store, Val::I64(100))?;
    instance
        .get_typed_func::<(), ()>(&store, "bump")?
        .call(&mut store, ())?;
    assert_eq!(counter.get(&store), Val::I64(101));

    memory.write(&mut store, 8, &42i32.to_le_bytes())?;
    assert_eq!(
        instance
            .get_typed_func::<(), i32>(&store, "peek")?
            .call(&mut store, ())?,
        42
    );

    let call = instance.get_typed_func::<(i32, i32), i32>(&store, "call")?;
    assert_eq!(call.call(&mut store, (1, 21))?, 42);
    let error = call.call(&mut store, (0, 21)).unwrap_err();
    assert_eq!(error.to_string(), "uninitialized element");
    Ok(())
}

#[test]
fn immutable_globals_and_mismatched_values_are_errors() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let constant = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, Mutability::Const),
        Val::I32(1),
    )?;
    assert!(constant.set(&mut store, Val::I32(2)).is_err());
    assert!(
        Global::new(
            &mut store,
            GlobalType::new(ValType::I32, Mutability::Var),
            Val::I64(1)
        )
        .is_err()
    );
    Ok(())
}

#[test]
fn externrefs_round_trip_through_wasm() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let linker = Linker::new(&engine);
    let instance = instantiate(
        &mut store,
        &linker,
        r#"(module
            (table $t 4 externref)
            (func (export "put") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))
            (func (export "get") (param i32) (result externref) (table.get $t (local.get 0))))"#,
    )?;
    let value = ExternRef::new(&mut store, String::from("payload"))?;
    let put = instance.get_func(&store, "put").unwrap();
    put.call(
        &mut store,
        &[Val::I32(3), Val::ExternRef(Some(value))],
        &mut [],
    )?;
    let get = instance.get_func(&store, "get").unwrap();
    let mut out = [Val::ExternRef(None)];
    get.call(&mut store, &[Val::I32(3)], &mut out)?;
    let Val::ExternRef(Some(back)) = out[0] else {
        panic!("expected an externref, got {:?}", out[0]);
    };
    assert_eq!(back, value);
    assert_eq!(
        back.data(&store).unwrap().downcast_ref::<String>().unwrap(),
        "payload"
    );
    get.call(&mut store, &[Val::I32(0)], &mut out)?;
    assert_eq!(out[0], Val::ExternRef(None));
    Ok(())
}

#[test]
fn compile_errors_are_clear() {
    let engine = Engine::default();
    let invalid = Module::new(&engine, "(module (func (result i32) (i64.const 0)))").unwrap_err();
    assert!(
        format!("{invalid:#}").contains("type mismatch"),
        "{invalid:#}"
    );
    assert!(format!("{invalid:#}").contains("at offset"), "{invalid:#}");

    let malformed = Module::new(&engine, b"\0asm\x01\0\0\0\x01").unwrap_err();
    assert!(format!("{malformed:#}").contains("offset"), "{malformed:#}");

    // The compact import encoding of a proposal fxtime does not enable
    // (a module name, an empty item name, then 0x7F and a list of items).
    let compact = [
        0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, // header
        1, 4, 1, 0x60, 0, 0, // type 0: [] -> []
        2, 10, 1, 1, b'm', 0, 0x7f, 1, 1, b'f', 0, 0, // import m.f: type 0
    ];
    let error = Module::new(&engine, compact).unwrap_err();
    assert!(
        format!("{error:#}").contains("compact imports"),
        "{error:#}"
    );

    let mut config = Config::new();
    config.wasm_simd(false);
    let no_simd = Engine::new(&config).unwrap();
    let simd = Module::new(
        &no_simd,
        "(module (func (result v128) (v128.const i64x2 0 0)))",
    )
    .unwrap_err();
    assert!(simd.to_string().contains("simd (disabled"), "{simd:#}");
    let cause = simd
        .chain()
        .last()
        .unwrap()
        .downcast_ref::<fxtime::WasmError>();
    assert!(
        matches!(cause, Some(fxtime::WasmError::Invalid { .. })),
        "{simd:#}"
    );

    let mut config = Config::new();
    config.wasm_multi_memory(false);
    let engine = Engine::new(&config).unwrap();
    let two = Module::new(&engine, "(module (memory 1) (memory 1))").unwrap_err();
    assert!(
        format!("{two:#}").contains("multi-memory (disabled"),
        "{two:#}"
    );

    let mut config = Config::new();
    config.wasm_threads(true);
    assert_eq!(
        Engine::new(&config).unwrap_err().to_string(),
        "unsupported feature: threads"
    );
    assert!(Config::new().wasm_feature("no-such-feature", true).is_err());
}

#[test]
fn linking_errors_name_the_import() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let wat = r#"(module (import "env" "f" (func (param i32))))"#;
    let error = instantiate(&mut store, &linker, wat).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown import: `env::f` has not been defined"
    );
    linker.func_wrap("env", "f", |_: i64| {})?;
    let error = instantiate(&mut store, &linker, wat).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("incompatible import type for `env::f`"),
        "{error}"
    );
    Ok(())
}

#[test]
fn v128_values_cross_the_host_boundary() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    // A host function taking and returning vectors among scalars.
    linker.func_wrap(
        "env",
        "swap_halves",
        |x: u128, k: i32, y: u128| -> (u128, i32) { (x.rotate_left(64) ^ y, k + 1) },
    )?;
    let instance = instantiate(
        &mut store,
        &linker,
        r#"(module
            (import "env" "swap_halves" (func $swap (param v128 i32 v128) (result v128 i32)))
            (global (export "g") (mut v128) (v128.const i64x2 1 2))
            (func (export "call_host") (param v128 v128) (result v128 i32)
              (call $swap (local.get 0) (i32.const 41) (local.get 1)))
            (func (export "lanes") (param v128) (result i32 i64 v128)
              (i32x4.extract_lane 3 (local.get 0))
              (i64x2.extract_lane 0 (local.get 0))
              (i32x4.add (local.get 0) (global.get 0))))"#,
    )?;
    let x: u128 = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210;
    let call_host = instance.get_typed_func::<(u128, u128), (u128, i32)>(&store, "call_host")?;
    assert_eq!(
        call_host.call(&mut store, (x, 0xff))?,
        (x.rotate_left(64) ^ 0xff, 42)
    );

    // Untyped, with lane 0 in the low bits.
    let lanes = instance.get_func(&store, "lanes").unwrap();
    let mut out = [Val::I32(0), Val::I64(0), Val::V128(0)];
    lanes.call(&mut store, &[Val::V128(x)], &mut out)?;
    assert_eq!(out[0], Val::I32(0x0123_4567));
    assert_eq!(out[1], Val::I64(0xfedc_ba98_7654_3210_u64 as i64));
    // Lanes 0 and 2 of the global are 1 and 2 (i64x2 1 2).
    assert_eq!(out[2], Val::V128(x + 1 + (2 << 64)));

    let global = instance.get_global(&store, "g").unwrap();
    assert_eq!(global.get(&store), Val::V128(1 | (2 << 64)));
    global.set(&mut store, Val::V128(u128::MAX))?;
    assert!(global.set(&mut store, Val::I64(1)).is_err());
    lanes.call(&mut store, &[Val::V128(x)], &mut out)?;
    assert_eq!(
        out[2],
        Val::V128(x.wrapping_sub(0x0000_0001_0000_0001_0000_0001_0000_0001))
    );
    Ok(())
}

#[test]
fn i31_references_cross_the_host_boundary() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(
        &mut store,
        &Linker::new(&engine),
        r#"(module
            (global (export "g") (mut anyref) (ref.i31 (i32.const -5)))
            (func (export "make") (param i32) (result i31ref) (ref.i31 (local.get 0)))
            (func (export "get_s") (param anyref) (result i32)
              (i31.get_s (ref.cast i31ref (local.get 0))))
            (func (export "same") (param eqref eqref) (result i32)
              (ref.eq (local.get 0) (local.get 1))))"#,
    )?;
    let make = instance.get_func(&store, "make").unwrap();
    let mut out = [Val::AnyRef(None)];
    make.call(&mut store, &[Val::I32(-1)], &mut out)?;
    let Val::AnyRef(Some(made)) = out[0] else {
        panic!("expected an i31, got {:?}", out[0]);
    };
    // The top bit is lost: -1 keeps its 31 low bits.
    let i31 = made.as_i31().unwrap();
    assert_eq!((i31.get_i32(), i31.get_u32()), (-1, 0x7fff_ffff));

    let from_host = Val::AnyRef(Some(fxtime::AnyRef::from_i31(fxtime::I31::wrapping_i32(
        -42,
    ))));
    let get_s = instance.get_func(&store, "get_s").unwrap();
    let mut result = [Val::I32(0)];
    get_s.call(&mut store, &[from_host], &mut result)?;
    assert_eq!(result[0], Val::I32(-42));
    // A null anyref fails the cast.
    assert!(
        get_s
            .call(&mut store, &[Val::AnyRef(None)], &mut result)
            .is_err()
    );

    let same = instance.get_func(&store, "same").unwrap();
    same.call(&mut store, &[from_host, from_host], &mut result)?;
    assert_eq!(result[0], Val::I32(1));
    same.call(&mut store, &[from_host, out[0]], &mut result)?;
    assert_eq!(result[0], Val::I32(0));

    let global = instance.get_global(&store, "g").unwrap();
    let Val::AnyRef(Some(g)) = global.get(&store) else {
        panic!("the global holds an i31");
    };
    assert_eq!(g.as_i31().map(fxtime::I31::get_i32), Some(-5));
    global.set(&mut store, from_host)?;
    assert_eq!(global.get(&store), from_host);
    Ok(())
}

#[test]
fn typed_funcs_check_their_types() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let instance = instantiate(
        &mut store,
        &Linker::new(&engine),
        r#"(module (func (export "f") (param i32) (result i64) (i64.extend_i32_s (local.get 0))))"#,
    )?;
    assert!(instance.get_typed_func::<i32, i32>(&store, "f").is_err());
    assert_eq!(
        instance
            .get_typed_func::<i32, i64>(&store, "f")?
            .call(&mut store, -3)?,
        -3
    );
    let f = instance.get_func(&store, "f").unwrap();
    assert_eq!(f.ty(&store), FuncType::new([ValType::I32], [ValType::I64]));
    assert!(
        f.call(&mut store, &[Val::I64(1)], &mut [Val::I64(0)])
            .is_err()
    );
    Ok(())
}

#[test]
fn host_panics_propagate_and_the_store_survives() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "boom", |x: i32| -> i32 {
        if x == 0 {
            panic!("host panic");
        }
        x
    })?;
    let instance = instantiate(
        &mut store,
        &linker,
        r#"(module (import "env" "boom" (func $b (param i32) (result i32)))
                   (func (export "run") (param i32) (result i32) (call $b (local.get 0))))"#,
    )?;
    let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, 0)));
    assert!(panic.is_err());
    assert_eq!(run.call(&mut store, 7)?, 7);
    Ok(())
}

#[test]
fn modules_compiled_on_one_thread_run_on_others() -> Result<()> {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "f") (result i32) (i32.const 7)))"#,
    )?;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || -> Result<i32> {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[])?;
                instance
                    .get_typed_func::<(), i32>(&store, "f")?
                    .call(&mut store, ())
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().unwrap()?, 7);
    }
    Ok(())
}

#[test]
fn typed_function_references_cross_modules_and_the_host() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    let provider = instantiate(
        &mut store,
        &linker,
        r#"(module
            (type $unary (func (param i32) (result i32)))
            (func $inc (export "inc") (type $unary) (i32.add (local.get 0) (i32.const 1)))
            (func $other (export "other") (param i64))
            (global (export "op") (mut (ref null $unary)) (ref.func $inc)))"#,
    )?;
    linker.instance(&mut store, "provider", provider)?;

    // A second module declares the same type on its own: canonical ids
    // make the two types one.
    let consumer = instantiate(
        &mut store,
        &linker,
        r#"(module
            (type $f (func (param i32) (result i32)))
            (import "provider" "op" (global $op (mut (ref null $f))))
            (func (export "apply") (param i32) (result i32)
              (call_ref $f (local.get 0) (ref.as_non_null (global.get $op)))))"#,
    )?;
    let apply = consumer.get_typed_func::<i32, i32>(&store, "apply")?;
    assert_eq!(apply.call(&mut store, 41)?, 42);

    let op = provider.get_global(&store, "op").unwrap();
    let inc = provider.get_func(&store, "inc").unwrap();
    assert_eq!(op.get(&store), Val::FuncRef(Some(inc)));
    let other = provider.get_func(&store, "other").unwrap();
    assert!(
        op.set(&mut store, Val::FuncRef(Some(other))).is_err(),
        "wrong function type"
    );
    op.set(&mut store, Val::FuncRef(None))?;
    let error = apply.call(&mut store, 1).unwrap_err();
    assert_eq!(error.to_string(), "null reference");

    // An import of a different type does not link.
    let mismatch = r#"(module
        (type $g (func (param i64)))
        (import "provider" "op" (global (mut (ref null $g)))))"#;
    let error = instantiate(&mut store, &linker, mismatch).unwrap_err();
    assert!(
        error.to_string().starts_with("incompatible import type"),
        "{error}"
    );
    Ok(())
}

#[test]
fn stores_and_handles_move_between_threads() -> Result<()> {
    fn assert_send<T: Send>(_: &T) {}
    let engine = Engine::default();
    let mut store = Store::new(&engine, 5u32);
    let instance = instantiate(
        &mut store,
        &Linker::new(&engine),
        r#"(module (memory (export "m") 1) (func (export "f") (result i32) (i32.const 9)))"#,
    )?;
    let memory = instance.get_memory(&store, "m").unwrap();
    assert_send(&store);
    assert_send(&instance);
    assert_send(&memory);
    // Run it on another thread, then use it here again.
    let (mut store, instance) = std::thread::spawn(move || -> Result<_> {
        let f = instance.get_typed_func::<(), i32>(&store, "f")?;
        assert_eq!(f.call(&mut store, ())?, 9);
        Ok((store, instance))
    })
    .join()
    .unwrap()?;
    let f = instance.get_typed_func::<(), i32>(&store, "f")?;
    assert_eq!(f.call(&mut store, ())? + *store.data() as i32, 14);
    Ok(())
}

#[test]
fn each_linker_definition_gets_its_own_host_function() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let wat = r#"(module (import "host" "f" (func $f (result i32)))
                         (func (export "run") (result i32) (call $f)))"#;
    // Linkers come and go while the store lives: a later definition, even
    // one allocated where an earlier one was, must be called, not the old.
    for expected in 0..50 {
        let mut linker = Linker::new(&engine);
        linker.func_wrap("host", "f", move || expected)?;
        let instance = instantiate(&mut store, &linker, wat)?;
        let run = instance.get_typed_func::<(), i32>(&store, "run")?;
        assert_eq!(run.call(&mut store, ())?, expected);
    }
    Ok(())
}
