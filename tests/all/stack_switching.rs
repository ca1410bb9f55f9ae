//! Stack switching: the proposal's scripts and examples, and what only the
//! embedding API shows (backtraces through continuation chains, stacks
//! given back after traps, host frames inside continuations, continuation
//! references held by the host).

use anyhow::Result;
use fxtime::{
    Config, ContResumed, Engine, Func, FuncType, Instance, Linker, Module, Store,
    StoreLimitsBuilder, Trap, TrapKind, Val,
};
use fxtime_tests::{shared_dir, tests_dir, trap_kind, with_big_stack, with_ticking_epoch};
use fxtime_wast::WastRunner;

use crate::traps::trap_of;

fn config() -> Config {
    let mut config = Config::new();
    config.wasm_stack_switching(true);
    config
}

/// The proposal's scripts: plain, with fuel and epoch checks compiled in
/// and firing all the time (`WastRunner::interrupted`, the epoch advanced
/// every 100 us), which must change no result, and with every module
/// loaded from its precompiled form.
#[test]
fn proposal_scripts_pass() {
    let dir = shared_dir().join("spec/stack-switching");
    let mut report = String::new();
    for (mode, checks, precompiled) in [
        ("plain", false, false),
        ("checks", true, false),
        ("precompiled", false, true),
    ] {
        let mut config = config();
        config.consume_fuel(checks).epoch_interruption(checks);
        for name in ["cont", "resume_throw", "validation", "validation_gc"] {
            let path = dir.join(format!("{name}.wast"));
            let outcome = with_big_stack(|| {
                let mut runner = WastRunner::new(&config).unwrap();
                runner.precompiled(precompiled).interrupted(checks);
                let engine = runner.engine().clone();
                with_ticking_epoch(&engine, || runner.run_file(&path))
            });
            assert!(outcome.total() > 0, "{name} ran nothing");
            for failure in outcome.failures {
                report.push_str(&format!("{mode}: {failure}\n"));
            }
        }
    }
    assert!(report.is_empty(), "failures:\n{report}");
}

/// Each example runs to completion and prints what it should, compiled,
/// precompiled, and interrupted at its checks all the time: the
/// transcripts in tests/stack-switching/examples are what Wasmtime 48
/// prints for the same programs.
#[test]
fn proposal_examples_print_their_expected_output() {
    let dir = shared_dir().join("spec/stack-switching/examples");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("examples")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 17);
    let mut checks = config();
    checks.consume_fuel(true).epoch_interruption(true);
    let modes = [
        ("compiled", false),
        ("precompiled", true),
        ("interrupted", false),
    ];
    for (path, (mode, precompiled)) in names
        .iter()
        .flat_map(|p| modes.iter().map(move |mode| (p, *mode)))
    {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let expected = std::fs::read_to_string(
            tests_dir().join(format!("stack-switching/examples/{stem}.out")),
        )
        .unwrap_or_else(|e| panic!("{stem}: no transcript: {e}"));
        let interrupted = mode == "interrupted";
        let (outcome, printed) = with_big_stack(|| {
            let config = if interrupted {
                checks.clone()
            } else {
                config()
            };
            let mut runner = WastRunner::new(&config).unwrap();
            runner.precompiled(precompiled).interrupted(interrupted);
            let engine = runner.engine().clone();
            let outcome = with_ticking_epoch(&engine, || runner.run_file(path));
            (outcome, runner.take_printed())
        });
        assert!(
            outcome.is_success(),
            "{stem} ({mode}): {:?}",
            outcome.failures
        );
        let expected: Vec<_> = expected.lines().map(str::to_string).collect();
        assert_eq!(printed, expected, "{stem} ({mode}) printed something else");
    }
}

const CHAIN: &str = r#"(module $chain
  (type $f (func))
  (type $c (cont $f))
  (type $gf (func (result i32)))
  (type $gc (cont $gf))
  (func $level3 (drop (i32.div_u (i32.const 1) (global.get $zero))))
  (func $level2 (resume $c (cont.new $c (ref.func $level3))))
  (func $level1 (resume $c (cont.new $c (ref.func $level2))))
  (func (export "trap_three_deep") (resume $c (cont.new $c (ref.func $level1))))
  (func $recurse (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func $deep (drop (call $recurse (i32.const 0))))
  (func $overflow_outer (resume $c (cont.new $c (ref.func $deep))))
  (func (export "overflow_nested") (resume $c (cont.new $c (ref.func $overflow_outer))))
  (func $seven (result i32) (i32.const 7))
  (func (export "seven") (result i32) (resume $gc (cont.new $gc (ref.func $seven))))
  (global $zero (mut i32) (i32.const 0))
  (elem declare func $level1 $level2 $level3 $deep $overflow_outer $seven))"#;

#[test]
fn a_trap_in_a_chain_lists_every_continuation_and_frees_their_stacks() -> Result<()> {
    with_big_stack(|| {
        let engine = Engine::new(&config())?;
        let module = Module::new(&engine, CHAIN)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        for _ in 0..3 {
            let trap = trap_of(&mut store, &instance, "trap_three_deep", &[]);
            assert_eq!(trap.kind(), TrapKind::IntegerDivisionByZero);
            let names: Vec<_> = trap
                .backtrace()
                .frames()
                .iter()
                .map(|f| f.func_name.clone().unwrap_or_default())
                .collect();
            // Innermost first: one frame per continuation, then the caller.
            assert_eq!(
                names,
                ["level3", "level2", "level1", "trap_three_deep"],
                "{trap:?}"
            );
            assert_eq!(store.live_continuations(), 0, "abandoned stacks not freed");
        }
        let seven = instance.get_typed_func::<(), i32>(&store, "seven")?;
        assert_eq!(seven.call(&mut store, ())?, 7);
        assert_eq!(store.live_continuations(), 0);
        Ok(())
    })
}

/// A small function that suspends is inlined into its caller (see
/// fxtime-cranelift's `inlining`); a trap in it still lists the helper,
/// at its instruction, then the caller, whose call is gone. One that also
/// calls a function is not inlined.
#[test]
fn a_trap_in_an_inlined_helper_lists_the_helper_then_its_caller() -> Result<()> {
    let wasm = wat::parse_str(
        r#"(module
          (tag $nobody)
          (func $pause (suspend $nobody))
          (func $caller (export "caller") (call $pause))
          (func $nop)
          (func $pause_after_a_call (call $nop) (suspend $nobody))
          (func (export "not_inlined") (call $pause_after_a_call)))"#,
    )?;
    let engine = Engine::new(&config())?;
    let module = Module::new(&engine, &wasm)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let trap = trap_of(&mut store, &instance, "caller", &[]);
    assert_eq!(trap.kind(), TrapKind::UnhandledTag);
    let frames = trap.backtrace().frames();
    let names: Vec<_> = frames.iter().map(|f| f.func_name.clone()).collect();
    assert_eq!(names, [Some("pause".into()), Some("caller".into())]);
    let suspend = frames[0].wasm_offset.expect("the helper's offset");
    assert_eq!(wasm[suspend as usize], 0xe2, "suspend");
    assert_eq!(frames[1].wasm_offset, None, "the call was inlined");
    // A function that calls another is not inlined: its caller's frame
    // keeps the call's offset.
    let trap = trap_of(&mut store, &instance, "not_inlined", &[]);
    let frames = trap.backtrace().frames();
    assert_eq!(frames.len(), 2, "{trap:?}");
    let call = frames[1].wasm_offset.expect("the call's offset");
    assert_eq!(wasm[call as usize], 0x10, "call");
    Ok(())
}

/// Inlining into one function stops at a budget: of 300 calls of a helper
/// that suspends, the first is inlined and the last stays a call.
#[test]
fn inlining_into_one_function_is_bounded() -> Result<()> {
    let calls: String = (0..300)
        .map(|k| format!("(if (i32.eq (local.get 0) (i32.const {k})) (then (call $pause)))\n"))
        .collect();
    let wasm = wat::parse_str(format!(
        r#"(module
          (tag $nobody)
          (func $pause (suspend $nobody))
          (func (export "call") (param i32) {calls}))"#
    ))?;
    let engine = Engine::new(&config())?;
    let module = Module::new(&engine, &wasm)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let caller_offset = |store: &mut Store<()>, k: i32| {
        let trap = trap_of(store, &instance, "call", &[Val::I32(k)]);
        assert_eq!(trap.kind(), TrapKind::UnhandledTag);
        let frames = trap.backtrace().frames();
        assert_eq!(frames.len(), 2, "{trap:?}");
        frames[1].wasm_offset
    };
    assert_eq!(
        caller_offset(&mut store, 0),
        None,
        "the first call is inlined"
    );
    let last = caller_offset(&mut store, 299).expect("the last call is a call");
    assert_eq!(wasm[last as usize], 0x10, "call");
    Ok(())
}

#[test]
fn stack_overflow_in_a_nested_continuation_traps_and_the_store_goes_on() -> Result<()> {
    with_big_stack(|| {
        let mut config = config();
        config.continuation_stack_size(512 * 1024);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, CHAIN)?;
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        for _ in 0..3 {
            let trap = trap_of(&mut store, &instance, "overflow_nested", &[]);
            assert_eq!(trap.kind(), TrapKind::StackOverflow);
            assert_eq!(store.live_continuations(), 0);
        }
        let seven = instance.get_typed_func::<(), i32>(&store, "seven")?;
        assert_eq!(seven.call(&mut store, ())?, 7);
        Ok(())
    })
}

const GENERATOR: &str = r#"(module $gen
  (import "host" "from_continuation" (func $host (param i32) (result i32)))
  (type $gf (func (param i32)))
  (type $gc (cont $gf))
  (type $vf (func))
  (type $vc (cont $vf))
  (type $bf (func (result i32)))
  (type $bc (cont $bf))
  (tag $yield (export "yield") (param i32))
  ;; Yields 1..n.
  (func $generate (param $n i32)
    (local $i i32)
    (loop $next
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (suspend $yield (local.get $i))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))
  ;; Sums what a generator of 1..n yields, resuming it from here.
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $k (ref null $vc)) (local $total i32)
    (local.set $k (cont.bind $gc $vc (local.get $n) (cont.new $gc (ref.func $generate))))
    (block $done
      (loop $again
        (block $on_yield (result i32 (ref $vc))
          (resume $vc (on $yield $on_yield) (local.get $k))
          (br $done))
        (local.set $k)
        (local.set $total (i32.add (local.get $total)))
        (br $again)))
    (local.get $total))
  ;; Runs in a continuation: asks the host, which re-enters wasm.
  (func $body (result i32) (call $host (i32.const 10)))
  (func (export "run") (result i32) (resume $bc (cont.new $bc (ref.func $body))))
  ;; Suspends to whoever handles $yield: called by the host from inside
  ;; a continuation whose resumer handles $yield, it must not get there.
  (func (export "yield_to_outside") (suspend $yield (i32.const 1)))
  (func $body2 (result i32) (call $host (i32.const -1)))
  (func (export "run_barrier") (result i32)
    (block $on_yield (result i32 (ref $bc))
      (return (resume $bc (on $yield $on_yield) (cont.new $bc (ref.func $body2)))))
    (drop) (drop) (i32.const -100))
  (elem declare func $generate $body $body2))"#;

/// A host function that, called from a continuation, calls `sum` (which
/// creates and resumes continuations) or, for -1, `yield_to_outside`.
fn host_calls_back(store: &mut Store<()>, engine: &Engine) -> Result<Instance> {
    let module = Module::new(engine, GENERATOR)?;
    let mut linker = Linker::new(engine);
    let ty = FuncType::new([fxtime::ValType::I32], [fxtime::ValType::I32]);
    linker.func_new(
        "host",
        "from_continuation",
        ty,
        |mut caller, params, results| {
            let n = params[0].i32().unwrap();
            let export = |caller: &mut fxtime::Caller<'_, ()>, name| -> Func {
                caller.get_export(name).unwrap().into_func().unwrap()
            };
            if n < 0 {
                let inner = export(&mut caller, "yield_to_outside");
                let error = inner.call(&mut caller, &[], &mut []).unwrap_err();
                let trap = error.downcast_ref::<Trap>().expect("a trap");
                assert_eq!(trap.kind(), TrapKind::UnhandledTag);
                results[0] = Val::I32(1);
            } else {
                let sum = export(&mut caller, "sum");
                let mut out = [Val::I32(0)];
                sum.call(&mut caller, &[Val::I32(n)], &mut out)?;
                results[0] = out[0];
            }
            Ok(())
        },
    )?;
    linker.instantiate(store, &module)
}

#[test]
fn host_functions_called_from_continuations_reenter_wasm() -> Result<()> {
    with_big_stack(|| {
        let engine = Engine::new(&config())?;
        let mut store = Store::new(&engine, ());
        let instance = host_calls_back(&mut store, &engine)?;
        let run = instance.get_typed_func::<(), i32>(&store, "run")?;
        for _ in 0..100 {
            assert_eq!(run.call(&mut store, ())?, 55);
        }
        assert_eq!(store.live_continuations(), 0);
        Ok(())
    })
}

#[test]
fn a_suspension_does_not_cross_a_host_frame() -> Result<()> {
    with_big_stack(|| {
        let engine = Engine::new(&config())?;
        let mut store = Store::new(&engine, ());
        let instance = host_calls_back(&mut store, &engine)?;
        // The resume in `run_barrier` handles $yield, but the suspension
        // comes from wasm the host called: it traps there instead.
        let run = instance.get_typed_func::<(), i32>(&store, "run_barrier")?;
        assert_eq!(run.call(&mut store, ())?, 1);
        assert_eq!(store.live_continuations(), 0);
        Ok(())
    })
}

const NEST_THROUGH_HOST: &str = r#"(module
  (import "host" "again" (func $again))
  (type $f (func))
  (type $c (cont $f))
  ;; Each level runs the next in a new continuation, through the host.
  (func $body (call $again))
  (func (export "nest") (resume $c (cont.new $c (ref.func $body))))
  (func (export "seven") (result i32) (i32.const 7))
  (elem declare func $body))"#;

#[test]
fn recursion_through_host_functions_meets_the_nesting_limit() -> Result<()> {
    with_big_stack(|| {
        let mut config = config();
        config.max_continuation_depth(40);
        let engine = Engine::new(&config)?;
        let module = Module::new(&engine, NEST_THROUGH_HOST)?;
        // The store counts the levels; the host gives up far beyond the
        // limit, so that a missing limit fails the test rather than
        // exhausting memory.
        let mut store = Store::new(&engine, 0u32);
        let mut linker = Linker::new(&engine);
        linker.func_wrap("host", "again", |mut caller: fxtime::Caller<'_, u32>| {
            *caller.data_mut() += 1;
            if *caller.data() > 1000 {
                anyhow::bail!("the nesting limit did not stop the recursion");
            }
            let nest = caller.get_export("nest").unwrap().into_func().unwrap();
            nest.call(&mut caller, &[], &mut [])
        })?;
        let instance = linker.instantiate(&mut store, &module)?;
        let nest = instance.get_typed_func::<(), ()>(&store, "nest")?;
        for _ in 0..2 {
            *store.data_mut() = 0;
            let error = nest.call(&mut store, ()).unwrap_err();
            assert!(
                format!("{error:?}").contains("call stack exhausted"),
                "{error:?}"
            );
            // Each level is a continuation 1 deeper than the one the host
            // was called from.
            assert_eq!(*store.data(), 40);
            assert_eq!(store.live_continuations(), 0);
        }
        let seven = instance.get_typed_func::<(), i32>(&store, "seven")?;
        assert_eq!(seven.call(&mut store, ())?, 7);
        Ok(())
    })
}

const HANDLES: &str = r#"(module
  (type $f (func (param i32) (result i32)))
  (type $c (cont $f))
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "make") (result (ref null $c)) (cont.new $c (ref.func $double)))
  (func (export "start") (param (ref null $c)) (param i32) (result i32)
    (resume $c (local.get 1) (local.get 0)))
  (elem declare func $double))"#;

#[test]
fn continuation_references_held_by_the_host_are_one_shot() -> Result<()> {
    let engine = Engine::new(&config())?;
    let module = Module::new(&engine, HANDLES)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let make = instance.get_func(&store, "make").unwrap();
    let start = instance.get_func(&store, "start").unwrap();
    let mut k = [Val::I32(0)];
    make.call(&mut store, &[], &mut k)?;
    assert!(matches!(k[0], Val::ContRef(Some(_))));
    assert_eq!(store.live_continuations(), 1);
    let mut out = [Val::I32(0)];
    start.call(&mut store, &[k[0], Val::I32(21)], &mut out)?;
    assert_eq!(out[0].i32(), Some(42));
    assert_eq!(store.live_continuations(), 0);
    // The same reference again: consumed, even though a new continuation
    // now reuses the object.
    make.call(&mut store, &[], &mut [Val::I32(0)])?;
    let error = start
        .call(&mut store, &[k[0], Val::I32(1)], &mut out)
        .unwrap_err();
    let trap = error.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.kind(), TrapKind::ContinuationAlreadyConsumed);
    let error = start
        .call(&mut store, &[Val::ContRef(None), Val::I32(1)], &mut out)
        .unwrap_err();
    let trap = error.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.kind(), TrapKind::NullContinuationReference);
    Ok(())
}

/// A host function running on a continuation of one store calls into
/// another store: that wasm runs on the continuation's stack, within its
/// limit, and may use continuations of its own.
#[test]
fn another_store_called_from_a_continuation_runs_on_its_stack() -> Result<()> {
    with_big_stack(|| {
        let engine = Engine::new(&config())?;
        let mut outer = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        let inner_engine = engine.clone();
        let ty = FuncType::new([fxtime::ValType::I32], [fxtime::ValType::I32]);
        linker.func_new(
            "host",
            "from_continuation",
            ty,
            move |_caller, params, results| {
                let mut inner = Store::new(&inner_engine, ());
                let instance = host_calls_back(&mut inner, &inner_engine)?;
                let sum = instance.get_typed_func::<i32, i32>(&inner, "sum")?;
                results[0] = Val::I32(sum.call(&mut inner, params[0].i32().unwrap())?);
                Ok(())
            },
        )?;
        let module = Module::new(&engine, GENERATOR)?;
        let instance = linker.instantiate(&mut outer, &module)?;
        let run = instance.get_typed_func::<(), i32>(&outer, "run")?;
        assert_eq!(run.call(&mut outer, ())?, 55);
        assert_eq!(outer.live_continuations(), 0);
        Ok(())
    })
}

/// The module of `misc/stack_switching_pending.wast`.
fn pending_module(engine: &Engine) -> Result<Module> {
    let script = std::fs::read_to_string(tests_dir().join("misc/stack_switching_pending.wast"))?;
    let text =
        &script[script.find("(module").expect("module")..script.find("(invoke").expect("invoke")];
    Module::new(engine, text)
}

/// Continuations made while many are live hold no stack until they first
/// run (`misc/stack_switching_pending.wast` runs them every way): with
/// stack bytes for 1,200 stacks, 1,100 parked continuations and then
/// 20,000 fresh ones fit, unreached ones are collected, and the fresh ones
/// run one after another, each on the stack the last one left. The host's
/// resume moves one to a stack as wasm's does.
#[test]
fn fresh_continuations_made_while_many_live_take_a_stack_when_they_run() -> Result<()> {
    let engine = Engine::new(&config())?;
    let module = pending_module(&engine)?;
    let stack_size = 1 << 20;
    let limits = StoreLimitsBuilder::new()
        .continuation_stack_bytes(1200 * stack_size)
        .build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|limits| limits);
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let park = instance.get_typed_func::<i32, ()>(&store, "park")?;
    let make = instance.get_typed_func::<i32, ()>(&store, "make")?;
    let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
    park.call(&mut store, 1100)?;
    make.call(&mut store, 20_000)?;
    assert_eq!(store.live_continuations(), 21_100);
    // 20,000 more in their place: a collection gives back those before.
    make.call(&mut store, 20_000)?;
    store.gc();
    assert_eq!(store.live_continuations(), 21_100);
    assert_eq!(run.call(&mut store, 20_000)?, 800_020_000);
    assert_eq!(store.live_continuations(), 1100);

    // From the host: suspends once to `yield`, then returns 4 + 2*2 + 3.
    let fresh = instance.get_func(&store, "fresh").expect("fresh");
    let mut out = [Val::ContRef(None)];
    fresh.call(&mut store, &[], &mut out)?;
    let Val::ContRef(Some(k)) = out[0] else {
        anyhow::bail!("no continuation")
    };
    let yield_tag = instance.get_tag(&store, "yield").expect("yield");
    let args = [Val::I32(1), Val::I32(2), Val::I32(3)];
    let ContResumed::Suspended(suspension) = k.resume(&mut store, &args, &[yield_tag])? else {
        anyhow::bail!("returned before its suspension")
    };
    let ContResumed::Returned(results) =
        suspension
            .continuation()
            .resume(&mut store, &[], &[yield_tag])?
    else {
        anyhow::bail!("suspended twice")
    };
    assert_eq!(results[0].i32(), Some(11));
    let again = k.resume(&mut store, &args, &[yield_tag]).unwrap_err();
    assert_eq!(
        trap_kind(&again),
        Some(TrapKind::ContinuationAlreadyConsumed)
    );
    Ok(())
}

/// Continuations abandoned at a suspension after they started pending
/// come back too: a pending continuation's first run asks for the
/// collection a new stack may need, as `cont.new` does, and that
/// collection keeps the pending continuation and the struct bound to it
/// (each checks its struct after allocations that reuse freed cells).
#[test]
fn abandoned_continuations_that_started_pending_come_back() -> Result<()> {
    let engine = Engine::new(&config())?;
    let module = pending_module(&engine)?;
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
    let park = instance.get_typed_func::<i32, ()>(&store, "park")?;
    let abandon = instance.get_typed_func::<i32, ()>(&store, "abandon")?;
    park.call(&mut store, 1100)?;
    abandon.call(&mut store, 100_000)?;
    // A collection comes once live continuations have doubled.
    let live = store.live_continuations();
    assert!(live <= 2 * 2200, "{live} live");
    store.gc();
    assert_eq!(store.live_continuations(), 1100);
    Ok(())
}
