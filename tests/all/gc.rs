//! The garbage collector: what it frees, what it keeps, and the stress
//! mode (a collection before every allocation) over every GC script.

use anyhow::Result;
use fxtime::{Config, Engine, Linker, Module, Store, Val};
use fxtime_tests::{shared_dir, tests_dir, with_big_stack};
use fxtime_wast::WastRunner;

fn call_i32(store: &mut Store<()>, wat: &str, func: &str, args: &[Val]) -> Result<i32> {
    let module = Module::new(store.engine(), wat)?;
    let instance = Linker::new(store.engine()).instantiate(&mut *store, &module)?;
    let f = instance.get_func(&*store, func).expect("export");
    let mut out = [Val::I32(0)];
    f.call(&mut *store, args, &mut out)?;
    Ok(out[0].i32().expect("an i32 result"))
}

const THROW_LOOP: &str = r#"(module
  (tag $e (param i32 anyref))
  (type $s (struct (field i32)))
  (func $thrower (param i32)
    (throw $e (local.get 0) (struct.new $s (local.get 0))))
  ;; Counts the caught exceptions whose struct holds their i32.
  (func (export "run") (param $n i32) (result i32)
    (local $sum i32) (local $v i32) (local $obj anyref)
    (loop $l
      (block $h (result i32 anyref)
        (try_table (catch $e $h) (call $thrower (local.get $n)))
        (unreachable))
      (local.set $obj)
      (local.set $v)
      (local.set $sum (i32.add (local.get $sum)
        (i32.eq (local.get $v) (struct.get $s 0 (ref.cast (ref $s) (local.get $obj))))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $sum)))"#;

/// Exceptions are GC objects: a loop of throws and catches (each
/// exception carrying a struct) runs in a heap of constant size.
#[test]
fn thrown_exceptions_are_collected() -> Result<()> {
    let engine = Engine::new(&Config::new())?;
    let mut store = Store::new(&engine, ());
    let count = 1_000_000;
    assert_eq!(
        call_i32(&mut store, THROW_LOOP, "run", &[Val::I32(count)])?,
        count
    );
    assert!(store.gc_collections() > 0);
    // 1 M exceptions and structs take 48 MB; what stays is the threshold.
    assert!(
        store.gc_heap_bytes() <= 8 << 20,
        "{} bytes",
        store.gc_heap_bytes()
    );
    Ok(())
}

/// Objects nothing refers to are freed: a heap limit far below what a
/// loop allocates in all is enough.
#[test]
fn a_small_heap_holds_a_long_run() -> Result<()> {
    let mut config = Config::new();
    config.gc_heap_max(16 << 20);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let wat = r#"(module
      (type $a (array (mut i64)))
      (func (export "run") (param $n i32) (result i32)
        (local $keep (ref null $a))
        (local.set $keep (array.new $a (i64.const 7) (i32.const 1000)))
        (loop $l
          (drop (array.new $a (i64.const 1) (i32.const 100)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (i32.wrap_i64 (array.get $a (local.get $keep) (i32.const 999)))))"#;
    // 200,000 arrays of 816 bytes: 163 MB in all.
    assert_eq!(call_i32(&mut store, wat, "run", &[Val::I32(200_000)])?, 7);
    Ok(())
}

/// Past the heap limit, an allocation traps; the store goes on.
#[test]
fn the_heap_limit_traps_cleanly() -> Result<()> {
    let mut config = Config::new();
    config.gc_heap_max(4 << 20);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let wat = r#"(module
      (type $a (array (mut anyref)))
      (func (export "hoard") (param $n i32) (result i32)
        (local $list (ref null $a))
        (loop $l
          (local.set $list (array.new_fixed $a 2 (local.get $list) (ref.null any)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (i32.const 1)))"#;
    let err = call_i32(&mut store, wat, "hoard", &[Val::I32(10_000_000)]).unwrap_err();
    assert!(
        format!("{err:?}").contains("GC heap out of memory"),
        "{err:?}"
    );
    assert_eq!(call_i32(&mut store, wat, "hoard", &[Val::I32(1000)])?, 1);
    Ok(())
}

/// Under the stress mode every allocation collects first, so a reference
/// the collector does not find shows up as a wrong value: every GC script
/// of the spec suite, the project's GC scripts, and the stack-switching
/// scripts and examples.
#[test]
fn gc_scripts_pass_under_the_stress_mode() {
    let spec = shared_dir().join("spec/testsuite");
    let mut scripts: Vec<(std::path::PathBuf, bool)> = [
        "array",
        "array_copy",
        "array_fill",
        "array_init_data",
        "array_init_elem",
        "array_new_data",
        "array_new_elem",
        "br_on_cast",
        "br_on_cast_fail",
        "extern",
        "i31",
        "ref_cast",
        "ref_eq",
        "ref_test",
        "struct",
        "table_init",
        "throw",
        "throw_ref",
        "try_table",
    ]
    .iter()
    .map(|name| (spec.join(format!("{name}.wast")), false))
    .collect();
    // The project's GC script and every one of its stack-switching
    // scripts, then every stack-switching spec script and example.
    scripts.push((tests_dir().join("misc/gc_collect.wast"), true));
    for entry in std::fs::read_dir(tests_dir().join("misc")).expect("tests/misc") {
        let path = entry.expect("entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("stack_switching_") && name.ends_with(".wast") {
            scripts.push((path, true));
        }
    }
    let switching = shared_dir().join("spec/stack-switching");
    for name in ["cont", "resume_throw", "validation", "validation_gc"] {
        scripts.push((switching.join(format!("{name}.wast")), true));
    }
    for entry in std::fs::read_dir(switching.join("examples")).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "wast") {
            scripts.push((path, true));
        }
    }
    let mut report = String::new();
    for (path, stack_switching) in scripts {
        let mut config = Config::new();
        config.gc_stress(true).wasm_stack_switching(stack_switching);
        let outcome = with_big_stack(|| WastRunner::new(&config).unwrap().run_file(&path));
        assert!(outcome.total() > 0, "{} ran nothing", path.display());
        for failure in outcome.failures {
            report.push_str(&format!("{failure}\n"));
        }
    }
    assert!(
        report.is_empty(),
        "failures under the stress mode:\n{report}"
    );
}

/// Host values handed to wasm as `externref`s and stored in a table are
/// collected once overwritten, their data dropped; the heap stays small
/// over a million of them. Each round's handle lives in a `RootScope`.
#[test]
fn externrefs_from_the_host_are_collected() -> Result<()> {
    use fxtime::{ExternRef, RootScope};
    use std::sync::atomic::{AtomicUsize, Ordering};
    static DROPPED: AtomicUsize = AtomicUsize::new(0);
    struct Counted(i32);
    impl Drop for Counted {
        fn drop(&mut self) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }
    let engine = Engine::new(&Config::new())?;
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
          (table $t 16 externref)
          (func (export "put") (param i32 externref)
            (table.set $t (local.get 0) (local.get 1)))
          (func (export "get") (param i32) (result externref)
            (table.get $t (local.get 0))))"#,
    )?;
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let put = instance.get_func(&store, "put").expect("put");
    let get = instance.get_func(&store, "get").expect("get");
    let rounds = 1_000_000;
    let mut most_heap = 0;
    for i in 0..rounds {
        {
            let mut scope = RootScope::new(&mut store);
            let value = ExternRef::new(&mut scope, Counted(i))?;
            put.call(
                &mut scope,
                &[Val::I32(i % 16), Val::ExternRef(Some(value))],
                &mut [],
            )?;
        }
        if i % 10_000 == 0 {
            most_heap = most_heap.max(store.gc_heap_bytes());
        }
    }
    store.gc();
    // All but the 16 in the table were dropped; the heap never grew.
    assert_eq!(DROPPED.load(Ordering::Relaxed), rounds as usize - 16);
    assert!(most_heap <= 16 << 20, "{most_heap} bytes");
    // The table's values are intact.
    let mut out = [Val::ExternRef(None)];
    get.call(&mut store, &[Val::I32(5)], &mut out)?;
    let Val::ExternRef(Some(kept)) = out[0] else {
        panic!("expected an externref, got {:?}", out[0]);
    };
    let kept = kept.data(&store).and_then(|d| d.downcast_ref::<Counted>());
    assert_eq!(kept.map(|c| c.0), Some(rounds - 16 + 5));
    Ok(())
}

/// A handle used after its scope ended is refused, not followed.
#[test]
fn a_reference_outlives_its_scope_only_as_an_error() -> Result<()> {
    use fxtime::{ExternRef, RootScope};
    let engine = Engine::new(&Config::new())?;
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module (func (export "id") (param externref) (result externref) (local.get 0)))"#,
    )?;
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let id = instance.get_func(&store, "id").expect("id");
    let stale = {
        let mut scope = RootScope::new(&mut store);
        ExternRef::new(&mut scope, 7u32)?
    };
    store.gc();
    assert!(stale.data(&store).is_none());
    let mut out = [Val::ExternRef(None)];
    let err = id
        .call(&mut store, &[Val::ExternRef(Some(stale))], &mut out)
        .unwrap_err();
    assert!(format!("{err}").contains("root scope"), "{err}");
    // Made outside any scope, a reference lives as long as the store.
    let kept = ExternRef::new(&mut store, 8u32)?;
    store.gc();
    id.call(&mut store, &[Val::ExternRef(Some(kept))], &mut out)?;
    let Val::ExternRef(Some(back)) = out[0] else {
        panic!("expected an externref");
    };
    assert_eq!(back.data(&store).unwrap().downcast_ref::<u32>(), Some(&8));
    Ok(())
}

/// The host makes structs and arrays, reads and writes their fields and
/// elements, and wasm sees the same objects; objects stored by the host
/// into old ones survive collections (the host's writes have the write
/// barrier too).
#[test]
fn the_host_makes_reads_and_writes_objects() -> Result<()> {
    use fxtime::{
        AnyRef, ArrayRef, ArrayType, FieldType, HeapType, RefType, StorageType, StructRef,
        StructType, ValType,
    };
    let engine = Engine::new(&Config::new())?;
    let mut store = Store::new(&engine, ());
    let field = |storage, mutable| FieldType { storage, mutable };
    let anyref = ValType::Ref(RefType {
        nullable: true,
        heap: HeapType::Any,
    });
    let point = StructType::new(
        &engine,
        [
            field(StorageType::Val(ValType::I32), false),
            field(StorageType::I8, true),
            field(StorageType::Val(anyref), true),
        ],
    );
    let list = ArrayType::new(&engine, field(StorageType::Val(anyref), true));
    // Wasm reads a struct of the same shape (one canonical type).
    let module = Module::new(
        &engine,
        r#"(module
          (type $point (struct (field i32) (field (mut i8)) (field (mut anyref))))
          (type $list (array (mut anyref)))
          (func (export "sum") (param anyref) (result i32)
            (local $p (ref $point))
            (local.set $p (ref.cast (ref $point) (local.get 0)))
            (i32.add (struct.get $point 0 (local.get $p))
                     (struct.get_u $point 1 (local.get $p))))
          (func (export "make") (param i32) (result anyref)
            (array.new $list (ref.i31 (local.get 0)) (i32.const 3))))"#,
    )?;
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let p = StructRef::new(
        &mut store,
        &point,
        &[Val::I32(40), Val::I32(0x102), Val::AnyRef(None)],
    )?;
    assert_eq!(p.field(&store, 1)?, Val::I32(2), "packed to 8 bits");
    let sum = instance.get_func(&store, "sum").expect("sum");
    let mut out = [Val::I32(0)];
    sum.call(&mut store, &[Val::AnyRef(Some(p.into()))], &mut out)?;
    assert_eq!(out[0], Val::I32(42));
    assert!(
        p.set_field(&mut store, 0, Val::I32(1)).is_err(),
        "immutable"
    );
    assert!(p.set_field(&mut store, 2, Val::I32(1)).is_err(), "mistyped");

    // An old struct (after a collection) given a new array by the host.
    store.gc();
    {
        // Only the old struct holds the new array once this scope ends.
        let mut scope = fxtime::RootScope::new(&mut store);
        let a = ArrayRef::new(&mut scope, &list, Val::AnyRef(None), 1000)?;
        let seven = AnyRef::from_i31(fxtime::I31::wrapping_u32(7));
        a.set(&mut scope, 999, Val::AnyRef(Some(seven)))?;
        p.set_field(&mut scope, 2, Val::AnyRef(Some(a.into())))?;
    }
    for _ in 0..3 {
        let mut scope = fxtime::RootScope::new(&mut store);
        for _ in 0..20_000 {
            ArrayRef::new(&mut scope, &list, Val::AnyRef(None), 100)?;
        }
    }
    let Val::AnyRef(Some(held)) = p.field(&store, 2)? else {
        panic!("expected the array");
    };
    let held = held.as_array().expect("an array");
    assert_eq!(held.len(&store)?, 1000);
    let Val::AnyRef(Some(seven)) = held.get(&store, 999)? else {
        panic!("expected an i31");
    };
    assert_eq!(seven.as_i31().map(|i| i.get_u32()), Some(7));
    assert!(held.get(&store, 1000).is_err(), "out of bounds");

    // An array wasm made, read by the host.
    let make = instance.get_func(&store, "make").expect("make");
    let mut out = [Val::AnyRef(None)];
    make.call(&mut store, &[Val::I32(5)], &mut out)?;
    let Val::AnyRef(Some(made)) = out[0] else {
        panic!("expected an array");
    };
    let made = made.as_array().expect("an array");
    let Val::AnyRef(Some(five)) = made.get(&store, 2)? else {
        panic!("expected an i31");
    };
    assert_eq!(five.as_i31().map(|i| i.get_u32()), Some(5));
    Ok(())
}

/// Thousands of suspended continuations, each holding structs in locals
/// and on its operand stack, survive many collections and resume with
/// every value intact.
#[test]
fn thousands_of_suspended_continuations_keep_their_objects() -> Result<()> {
    let mut config = Config::new();
    config.wasm_stack_switching(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let script = std::fs::read_to_string(tests_dir().join("misc/stack_switching_gc.wast"))?;
    // The script's module, then its many-suspended function with 3,000.
    let module_text = &script[script.find("(module").expect("module")
        ..script.find("(assert_return").expect("assertions")];
    let sum = call_i32(&mut store, module_text, "many-suspended", &[Val::I32(3000)])?;
    assert_eq!(sum, 71 * 3000);
    assert!(store.gc_collections() > 10, "{}", store.gc_collections());
    Ok(())
}

/// A struct bigger than the largest cell, with fields beyond the
/// unmapped first page (where null checks are explicit), and an array
/// too large for any heap: clean traps, right values.
#[test]
fn large_structs_and_impossible_arrays() -> Result<()> {
    let fields = "(field (mut i64)) ".repeat(600);
    let wat = format!(
        r#"(module
          (type $big (struct {fields}))
          (type $arr (array (mut i64)))
          (func (export "far") (result i32)
            (local $s (ref $big))
            (local.set $s (struct.new_default $big))
            (struct.set $big 599 (local.get $s) (i64.const 42))
            (i32.wrap_i64 (struct.get $big 599 (local.get $s))))
          (func (export "null-far") (result i32)
            (i32.wrap_i64 (struct.get $big 599 (ref.null $big))))
          (func (export "null-far-set") (result i32)
            (struct.set $big 599 (ref.null $big) (i64.const 1))
            (i32.const 0))
          (func (export "huge") (result i32)
            (array.len (array.new_default $arr (i32.const 0x7fffffff)))))"#
    );
    let engine = Engine::new(&Config::new())?;
    let mut store = Store::new(&engine, ());
    assert_eq!(call_i32(&mut store, &wat, "far", &[])?, 42);
    for (func, message) in [
        ("null-far", "null structure reference"),
        ("null-far-set", "null structure reference"),
        ("huge", "GC heap out of memory"),
    ] {
        let err = call_i32(&mut store, &wat, func, &[]).unwrap_err();
        assert!(format!("{err:?}").contains(message), "{func}: {err:?}");
    }
    Ok(())
}

/// A host function called from inside a continuation allocates (and, under
/// the stress mode, collects each time) while the continuation's frames,
/// and its resumer's, hold structs: the walk starts at the host function's
/// trampoline on the continuation's stack and crosses into the resumer.
#[test]
fn host_functions_in_continuations_collect_safely() -> Result<()> {
    use fxtime::{Caller, ExternRef, FuncType, RootScope};
    let mut config = Config::new();
    config.wasm_stack_switching(true).gc_stress(true);
    let engine = Engine::new(&config)?;
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_new(
        "host",
        "churn",
        FuncType::new([], []),
        |mut caller: Caller<'_, ()>, _, _| {
            for i in 0..200 {
                let mut scope = RootScope::new(&mut caller);
                ExternRef::new(&mut scope, i)?;
            }
            Ok(())
        },
    )?;
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "churn" (func $churn))
          (type $box (struct (field i32)))
          (type $f (func (result i32)))
          (type $k (cont $f))
          (func $inside (result i32)
            (local $mine (ref $box))
            (local.set $mine (struct.new $box (i32.const 30)))
            (call $churn)
            (struct.get $box 0 (local.get $mine)))
          (elem declare func $inside)
          (func (export "run") (result i32)
            (local $outer (ref $box))
            (local.set $outer (struct.new $box (i32.const 12)))
            (i32.add
              (resume $k (cont.new $k (ref.func $inside)))
              (struct.get $box 0 (local.get $outer)))))"#,
    )?;
    let instance = linker.instantiate(&mut store, &module)?;
    let run = instance.get_typed_func::<(), i32>(&store, "run")?;
    assert_eq!(run.call(&mut store, ())?, 42);
    assert!(store.gc_collections() >= 200);
    Ok(())
}
