//! Continuations are garbage collected: a suspended or fresh continuation
//! lives exactly as long as a reference with its current revision is
//! reachable, wherever that reference lies.

use anyhow::Result;
use fxtime::{Config, Engine, Instance, Linker, Module, RootScope, Store, Val};
use fxtime_tests::tests_dir;

/// A store with the module of `misc/stack_switching_reachability.wast`.
fn reachability_module(config: &mut Config) -> Result<(Store<()>, Instance)> {
    config.wasm_stack_switching(true);
    let engine = Engine::new(config)?;
    let mut store = Store::new(&engine, ());
    let script =
        std::fs::read_to_string(tests_dir().join("misc/stack_switching_reachability.wast"))?;
    let text = &script[script.find("(module").expect("module")
        ..script.find("(assert_return").expect("assertions")];
    let module = Module::new(&engine, text)?;
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    Ok((store, instance))
}

/// Calls export `name` of `instance`; its results.
fn call(store: &mut Store<()>, instance: &Instance, name: &str, args: &[Val]) -> Result<Vec<Val>> {
    let func = instance.get_func(&*store, name).expect("export");
    let mut results = vec![Val::I32(0); func.ty(&*store).results().len()];
    func.call(&mut *store, args, &mut results)?;
    Ok(results)
}

/// Full collections from the host, and collections wasm's allocations run.
fn collect_many(store: &mut Store<()>, instance: &Instance) -> Result<()> {
    for _ in 0..4 {
        store.gc();
        call(store, instance, "churn", &[Val::I32(20_000)])?;
    }
    Ok(())
}

/// The places of the module, each with the continuations it keeps
/// suspended: the victim, and for (a) its holder too.
const PLACES: [(&str, usize); 7] = [
    ("a", 2),
    ("b", 1),
    ("c", 1),
    ("d", 1),
    ("e", 1),
    ("f", 1),
    ("h", 2),
];

/// (a)-(f), (h): the only reference in each place keeps its continuation
/// through many collections, after which it resumes with its struct; once
/// the place lets go, a collection reclaims it.
#[test]
fn a_continuation_lives_exactly_while_it_is_reachable() -> Result<()> {
    let (mut store, instance) = reachability_module(&mut Config::new())?;
    for (number, (place, kept)) in PLACES.iter().enumerate() {
        call(&mut store, &instance, &format!("put-{place}"), &[])?;
        let collections = store.gc_collections();
        collect_many(&mut store, &instance)?;
        assert!(store.gc_collections() >= collections + 8);
        assert_eq!(store.live_continuations(), *kept, "({place}) kept");
        let result = call(&mut store, &instance, &format!("take-{place}"), &[])?;
        assert_eq!(result[0].i32(), Some(2 * number as i32 + 1), "({place})");
        assert_eq!(store.live_continuations(), 0, "({place}) finished");

        call(&mut store, &instance, &format!("put-{place}"), &[])?;
        store.gc();
        assert_eq!(
            store.live_continuations(),
            *kept,
            "({place}) before dropped"
        );
        call(&mut store, &instance, &format!("drop-{place}"), &[])?;
        store.gc();
        assert_eq!(store.live_continuations(), 0, "({place}) dropped");
    }
    Ok(())
}

/// (g): a reference the host holds keeps its continuation (made outside
/// any root scope, as long as the store); made in a scope that ended, it
/// keeps nothing, and is refused after a collection reclaimed it.
#[test]
fn a_host_handle_keeps_its_continuation() -> Result<()> {
    let (mut store, instance) = reachability_module(&mut Config::new())?;
    let made = call(&mut store, &instance, "make", &[])?;
    collect_many(&mut store, &instance)?;
    assert_eq!(store.live_continuations(), 1);
    let result = call(&mut store, &instance, "finish", &made)?;
    assert_eq!(result[0].i32(), Some(1));
    assert_eq!(store.live_continuations(), 0);

    let dropped = {
        let mut scope = RootScope::new(&mut store);
        let func = instance.get_func(&scope, "make").expect("make");
        let mut out = [Val::ContRef(None)];
        func.call(&mut scope, &[], &mut out)?;
        out
    };
    assert_eq!(store.live_continuations(), 1);
    store.gc();
    assert_eq!(store.live_continuations(), 0);
    // Refused, not a use of whatever took the object since.
    let err = call(&mut store, &instance, "finish", &dropped).unwrap_err();
    assert!(format!("{err:?}").contains("root scope"), "{err:?}");
    Ok(())
}

/// A reference used once is stale; once nothing reaches the continuation
/// it led to, the continuation is reclaimed and its object reused, and the
/// stale reference still traps.
#[test]
fn a_stale_reference_still_traps_after_reclamation() -> Result<()> {
    let (mut store, instance) = reachability_module(&mut Config::new())?;
    call(&mut store, &instance, "make-stale", &[])?;
    assert_eq!(store.live_continuations(), 1);
    store.gc();
    assert_eq!(store.live_continuations(), 0);
    // The reclaimed object comes back for a new continuation.
    call(&mut store, &instance, "put-e", &[])?;
    let err = call(&mut store, &instance, "use-stale", &[]).unwrap_err();
    assert!(
        format!("{err:?}").contains("continuation already consumed"),
        "{err:?}"
    );
    let result = call(&mut store, &instance, "take-e", &[])?;
    assert_eq!(result[0].i32(), Some(1));
    Ok(())
}

/// A program that abandons most of the continuations it creates, and
/// allocates too little for its GC heap to ask for a collection, gets them
/// back: creating continuations asks for collections, and live ones stay
/// bounded.
#[test]
fn abandoned_continuations_come_back_without_heap_pressure() -> Result<()> {
    let (mut store, instance) = reachability_module(&mut Config::new())?;
    let result = call(
        &mut store,
        &instance,
        "abandon",
        &[Val::I32(200_000), Val::I32(1000)],
    )?;
    assert_eq!(result[0].i32(), Some(200_000 - 1000 + 1));
    // 200,000 suspended stacks would be 200,000 live; collections for
    // continuations keep them to about twice the survivors, at least 1024.
    assert!(
        store.live_continuations() <= 2048,
        "{} live",
        store.live_continuations()
    );
    assert!(store.gc_collections() > 50, "{}", store.gc_collections());
    store.gc();
    assert_eq!(store.live_continuations(), 0);
    Ok(())
}
