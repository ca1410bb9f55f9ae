//! The host as a handler: continuations resumed from Rust
//! (`ContRef::resume`), suspending to tags the host handles.

use anyhow::Result;
use fxtime::{Config, ContRef, ContResumed, Engine, Instance, Module, Store, Tag, TrapKind, Val};
use fxtime_tests::trap_kind;

/// `asker` suspends to `$ask` twice with its argument, then with the sum
/// of the answers, and returns the last answer times 10; it also reaches
/// an inner continuation that wasm handles itself (`$inner`), and
/// `$unhandled`, which no one handles, when its argument is negative.
const MODULE: &str = r#"(module
  (type $f (func (param i32) (result i32)))
  (type $k (cont $f))
  (type $g (func (result i32)))
  (type $gk (cont $g))
  (tag $ask (export "ask") (param i32) (result i32))
  (tag $note (export "note") (param i64 f64))
  (tag $inner (result i32))
  (tag $unhandled (export "unhandled"))
  (func $inner_body (result i32)
    (i32.add (suspend $inner) (i32.const 1)))
  (func $asker (param $x i32) (result i32) (local $a i32) (local $r (ref null $k))
    (if (i32.lt_s (local.get $x) (i32.const 0)) (then (suspend $unhandled)))
    (local.set $a (suspend $ask (local.get $x)))
    (suspend $note (i64.const 7) (f64.const 2.5))
    (local.set $a (i32.add (local.get $a) (suspend $ask (local.get $x))))
    ;; A continuation handled by wasm inside the host's: 41 + 1.
    (local.set $r
      (block $on_inner (result (ref $k))
        (resume $gk (on $inner $on_inner) (cont.new $gk (ref.func $inner_body)))
        (unreachable)))
    (drop (resume $k (i32.const 41) (local.get $r)))
    (local.set $a (i32.add (local.get $a) (suspend $ask (local.get $a))))
    (i32.mul (local.get $a) (i32.const 10)))
  (elem declare func $asker $inner_body)
  (func (export "new") (result (ref $k))
    (cont.new $k (ref.func $asker))))"#;

struct Setup {
    store: Store<()>,
    instance: Instance,
    ask: Tag,
    note: Tag,
}

fn setup() -> Result<Setup> {
    let mut config = Config::new();
    config.wasm_stack_switching(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, MODULE)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let ask = instance.get_tag(&store, "ask").unwrap();
    let note = instance.get_tag(&store, "note").unwrap();
    Ok(Setup {
        store,
        instance,
        ask,
        note,
    })
}

fn new_asker(setup: &mut Setup) -> Result<ContRef> {
    let new = setup.instance.get_func(&setup.store, "new").unwrap();
    let mut out = [Val::ContRef(None)];
    new.call(&mut setup.store, &[], &mut out)?;
    match out[0] {
        Val::ContRef(Some(k)) => Ok(k),
        _ => anyhow::bail!("no continuation"),
    }
}

fn suspended(resumed: ContResumed) -> fxtime::Suspension {
    match resumed {
        ContResumed::Suspended(s) => s,
        ContResumed::Returned(results) => panic!("returned {results:?} instead of suspending"),
    }
}

#[test]
fn the_host_handles_suspensions_and_resumes_with_values() -> Result<()> {
    let mut s = setup()?;
    let tags = [s.ask, s.note];
    let k = new_asker(&mut s)?;
    let first = suspended(k.resume(&mut s.store, &[Val::I32(5)], &tags)?);
    assert_eq!(first.tag(), s.ask);
    assert_eq!(first.payload(), [Val::I32(5)]);
    let second = suspended(
        first
            .continuation()
            .resume(&mut s.store, &[Val::I32(100)], &tags)?,
    );
    assert_eq!(second.tag(), s.note);
    assert_eq!(second.payload(), [Val::I64(7), Val::F64(2.5f64.to_bits())]);
    let third = suspended(second.continuation().resume(&mut s.store, &[], &tags)?);
    assert_eq!(third.payload(), [Val::I32(5)]);
    let fourth = suspended(
        third
            .continuation()
            .resume(&mut s.store, &[Val::I32(20)], &tags)?,
    );
    // 100 + 20, after the inner continuation wasm handled itself.
    assert_eq!(fourth.payload(), [Val::I32(120)]);
    match fourth
        .continuation()
        .resume(&mut s.store, &[Val::I32(3)], &tags)?
    {
        ContResumed::Returned(results) => assert_eq!(results, [Val::I32(1230)]),
        ContResumed::Suspended(_) => panic!("suspended again"),
    }
    // Everything ended: the stacks went back.
    assert_eq!(s.store.live_continuations(), 0);
    Ok(())
}

#[test]
fn references_are_one_shot_and_checked() -> Result<()> {
    let mut s = setup()?;
    let tags = [s.ask, s.note];
    let k = new_asker(&mut s)?;
    let first = suspended(k.resume(&mut s.store, &[Val::I32(1)], &tags)?);
    // The consumed reference, and a wrong argument list.
    let again = k.resume(&mut s.store, &[Val::I32(1)], &tags).unwrap_err();
    assert_eq!(
        trap_kind(&again),
        Some(TrapKind::ContinuationAlreadyConsumed)
    );
    let wrong = first
        .continuation()
        .resume(&mut s.store, &[Val::I64(1)], &tags)
        .unwrap_err();
    assert!(format!("{wrong:#}").contains("type"), "{wrong:#}");
    // A type error consumed nothing: the continuation still runs.
    suspended(
        first
            .continuation()
            .resume(&mut s.store, &[Val::I32(2)], &tags)?,
    );
    Ok(())
}

#[test]
fn dropped_suspensions_are_reclaimed_and_unhandled_tags_trap() -> Result<()> {
    let mut s = setup()?;
    let tags = [s.ask];
    for _ in 0..100 {
        let k = new_asker(&mut s)?;
        let suspension = suspended(k.resume(&mut s.store, &[Val::I32(1)], &tags)?);
        drop(suspension);
    }
    assert!(s.store.live_continuations() >= 100);
    // The host roots of those references were made outside any scope, so
    // they last; a scope makes them go.
    {
        let mut scope = fxtime::RootScope::new(&mut s.store);
        let k = {
            let new = s.instance.get_func(&scope, "new").unwrap();
            let mut out = [Val::ContRef(None)];
            new.call(&mut scope, &[], &mut out)?;
            match out[0] {
                Val::ContRef(Some(k)) => k,
                _ => unreachable!(),
            }
        };
        suspended(k.resume(&mut scope, &[Val::I32(1)], &tags)?);
    }
    let before = s.store.live_continuations();
    s.store.gc();
    assert_eq!(s.store.live_continuations(), before - 1);

    // Suspending to a tag the host does not handle (`$note`) traps, and
    // gives the chain's stacks back.
    let live = s.store.live_continuations();
    let k = new_asker(&mut s)?;
    let first = suspended(k.resume(&mut s.store, &[Val::I32(1)], &tags)?);
    let error = first
        .continuation()
        .resume(&mut s.store, &[Val::I32(1)], &tags)
        .unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::UnhandledTag));
    assert_eq!(s.store.live_continuations(), live);
    // The store goes on.
    let k = new_asker(&mut s)?;
    let error = k.resume(&mut s.store, &[Val::I32(-1)], &tags).unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::UnhandledTag));
    suspended(new_asker(&mut s)?.resume(&mut s.store, &[Val::I32(1)], &tags)?);
    Ok(())
}
