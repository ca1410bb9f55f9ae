//! Exceptions and the host: uncaught exceptions carry their tag and
//! payload to the host, and exceptions pass through host frames.

use anyhow::Result;
use fxtime::{
    Caller, Engine, Extern, FuncType, Linker, Module, Store, Tag, ThrownException, Val, ValType,
};

const THROWER: &str = r#"(module
  (import "host" "tag" (tag $t (param i32 f64)))
  (import "host" "call_back" (func $call_back (param i32) (result i32)))
  (func $throw (export "throw") (param i32)
    (throw $t (local.get 0) (f64.const 2.5)))
  ;; Catches what the host function's callee throws.
  (func (export "through_host") (param i32) (result i32)
    (block $h (result i32 f64)
      (try_table (catch $t $h) (return (call $call_back (local.get 0))))
      (unreachable))
    (drop)
    (i32.add (i32.const 1000)))
)"#;

fn setup() -> Result<(Store<()>, fxtime::Instance, Tag)> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &FuncType::new([ValType::I32, ValType::F64], []))?;
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "tag", tag)?;
    // Calls back into wasm's `throw`: its exception passes through here.
    linker.func_wrap(
        "host",
        "call_back",
        |mut caller: Caller<'_, ()>, x: i32| -> Result<i32> {
            let throw = caller
                .get_export("throw")
                .and_then(Extern::into_func)
                .unwrap();
            throw.call(&mut caller, &[Val::I32(x)], &mut [])?;
            Ok(-1)
        },
    )?;
    let module = Module::new(&engine, THROWER)?;
    let instance = linker.instantiate(&mut store, &module)?;
    Ok((store, instance, tag))
}

#[test]
fn uncaught_exceptions_carry_tag_and_payload() -> Result<()> {
    let (mut store, instance, tag) = setup()?;
    let throw = instance.get_func(&store, "throw").unwrap();
    let error = throw.call(&mut store, &[Val::I32(5)], &mut []).unwrap_err();
    let exception = error
        .downcast_ref::<ThrownException>()
        .expect("an exception, not a trap");
    assert_eq!(exception.tag(), tag);
    assert_eq!(exception.payload(&store)?, [Val::I32(5), Val::from(2.5f64)]);
    // The store is still usable.
    let error = throw.call(&mut store, &[Val::I32(6)], &mut []).unwrap_err();
    let exception = error.downcast_ref::<ThrownException>().unwrap();
    assert_eq!(exception.payload(&store)?[0], Val::I32(6));
    Ok(())
}

#[test]
fn exceptions_pass_through_host_functions() -> Result<()> {
    let (mut store, instance, _) = setup()?;
    let through = instance.get_typed_func::<i32, i32>(&store, "through_host")?;
    assert_eq!(through.call(&mut store, 7)?, 1007);
    assert_eq!(through.call(&mut store, 8)?, 1008);
    Ok(())
}

#[test]
fn tag_types_must_match_on_import() -> Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let tag = Tag::new(&mut store, &FuncType::new([ValType::I64], []))?;
    let mut linker = Linker::new(&engine);
    linker.define(&store, "host", "tag", tag)?;
    let module = Module::new(
        &engine,
        r#"(module (import "host" "tag" (tag (param i32))))"#,
    )?;
    let error = linker.instantiate(&mut store, &module).unwrap_err();
    assert!(
        error.to_string().starts_with("incompatible import type"),
        "{error}"
    );
    assert!(Tag::new(&mut store, &FuncType::new([], [ValType::I32])).is_err());
    Ok(())
}
