//! Async calls: wasm waiting on host futures on a suspended stack, polled
//! by hand here so that every test controls exactly when a future is
//! pending, ready, dropped, or moved to another thread.

use anyhow::Result;
use fxtime::{Caller, Config, Engine, Instance, Linker, Module, Store, TrapKind, Val};
use fxtime_tests::trap_kind;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};

/// Pending until its gate opens; then ready with the gate's value, or an
/// error if the value is negative.
struct Gate {
    open: Arc<AtomicBool>,
    value: Arc<AtomicU32>,
}

impl Future for Gate {
    type Output = Result<i32>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<i32>> {
        if !self.open.load(Ordering::SeqCst) {
            return Poll::Pending;
        }
        let value = self.value.load(Ordering::SeqCst) as i32;
        if value < 0 {
            Poll::Ready(Err(anyhow::anyhow!("the gate failed")))
        } else {
            Poll::Ready(Ok(value))
        }
    }
}

/// `run(x)` resumes a chain of three continuations; the innermost calls
/// the async host function `wait` and returns its answer plus `x`, each
/// level adding 100 on the way out. `spin(n)` counts down `n` iterations
/// (for epoch deadlines). `trap` traps after waiting.
const MODULE: &str = r#"(module
  (import "host" "wait" (func $wait (result i32)))
  (import "host" "boom" (func $boom))
  (type $f (func (param i32) (result i32)))
  (type $k (cont $f))
  (func $level3 (param $x i32) (result i32)
    (i32.add (call $wait) (local.get $x)))
  (func $level2 (param $x i32) (result i32)
    (i32.add (resume $k (local.get $x) (cont.new $k (ref.func $level3))) (i32.const 100)))
  (func $level1 (param $x i32) (result i32)
    (i32.add (resume $k (local.get $x) (cont.new $k (ref.func $level2))) (i32.const 100)))
  (elem declare func $level1 $level2 $level3)
  (func (export "run") (param $x i32) (result i32)
    (i32.add (resume $k (local.get $x) (cont.new $k (ref.func $level1))) (i32.const 100)))
  (func $boom_inside
    (call $boom))
  (type $v (func))
  (type $vk (cont $v))
  (elem declare func $boom_inside)
  (func (export "boom")
    (resume $vk (cont.new $vk (ref.func $boom_inside))))
  (func (export "trap") (result i32)
    (drop (call $wait))
    (unreachable))
  (func (export "spin") (param $n i64) (result i64) (local $sum i64)
    (loop $more
      (local.set $sum (i64.add (local.get $sum) (local.get $n)))
      (local.tee $n (i64.sub (local.get $n) (i64.const 1)))
      (br_if $more (i64.gt_s (i64.const 0))))
    (local.get $sum)))"#;

struct Setup {
    engine: Engine,
    store: Store<()>,
    instance: Instance,
    open: Arc<AtomicBool>,
    value: Arc<AtomicU32>,
}

fn setup(configure: impl FnOnce(&mut Config)) -> Result<Setup> {
    let mut config = Config::new();
    config.wasm_stack_switching(true).async_support(true);
    configure(&mut config);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, MODULE)?;
    let open = Arc::new(AtomicBool::new(false));
    let value = Arc::new(AtomicU32::new(0));
    let mut linker = Linker::new(&engine);
    let (gate_open, gate_value) = (open.clone(), value.clone());
    linker.func_wrap_async("host", "wait", move |_: Caller<'_, ()>, (): ()| {
        Box::new(Gate {
            open: gate_open.clone(),
            value: gate_value.clone(),
        })
    })?;
    linker.func_wrap_async("host", "boom", |_: Caller<'_, ()>, (): ()| {
        Box::new(async {
            if std::hint::black_box(true) {
                panic!("boom from the host");
            }
        })
    })?;
    let mut store = Store::new(&engine, ());
    let instance = poll_to_end(linker.instantiate_async(&mut store, &module))?;
    Ok(Setup {
        engine,
        store,
        instance,
        open,
        value,
    })
}

fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn poll_to_end<F: Future>(future: F) -> F::Output {
    poll_counting(future, || ()).0
}

/// Polls `future` to its end, running `before` before each poll; returns
/// its output and how many polls were pending.
fn poll_counting<F: Future>(future: F, mut before: impl FnMut()) -> (F::Output, u64) {
    let mut future = std::pin::pin!(future);
    let mut pending = 0;
    loop {
        before();
        match poll_once(future.as_mut()) {
            Poll::Ready(output) => return (output, pending),
            Poll::Pending => pending += 1,
        }
    }
}

#[test]
fn a_pending_host_future_suspends_a_chain_of_three_continuations() -> Result<()> {
    let mut s = setup(|_| ())?;
    let run = s.instance.get_typed_func::<i32, i32>(&s.store, "run")?;
    let mut call = Box::pin(run.call_async(&mut s.store, 5));
    for _ in 0..3 {
        assert!(poll_once(call.as_mut()).is_pending());
    }
    assert_eq!(s.engine.async_stacks_in_use(), 1);
    s.value.store(30, Ordering::SeqCst);
    s.open.store(true, Ordering::SeqCst);
    let Poll::Ready(answer) = poll_once(call.as_mut()) else {
        panic!("still pending with the gate open");
    };
    assert_eq!(answer?, 30 + 5 + 300);
    drop(call);
    assert_eq!(s.engine.async_stacks_in_use(), 0);
    assert_eq!(s.store.live_continuations(), 0);
    Ok(())
}

#[test]
fn a_trap_or_a_dropped_future_gives_back_every_stack() -> Result<()> {
    let mut s = setup(|_| ())?;
    let run = s.instance.get_typed_func::<i32, i32>(&s.store, "run")?;
    // Dropped while the innermost of three continuations waits.
    for _ in 0..100 {
        let mut call = Box::pin(run.call_async(&mut s.store, 1));
        assert!(poll_once(call.as_mut()).is_pending());
        drop(call);
        assert_eq!(s.engine.async_stacks_in_use(), 0);
        assert_eq!(s.store.live_continuations(), 0);
    }
    // Dropped before its first poll: nothing ran.
    drop(run.call_async(&mut s.store, 1));
    assert_eq!(s.engine.async_stacks_in_use(), 0);
    // The host future fails while the chain waits: a trap, stacks back.
    let mut call = Box::pin(run.call_async(&mut s.store, 1));
    assert!(poll_once(call.as_mut()).is_pending());
    s.value.store(u32::MAX, Ordering::SeqCst);
    s.open.store(true, Ordering::SeqCst);
    let Poll::Ready(outcome) = poll_once(call.as_mut()) else {
        panic!("still pending");
    };
    let error = outcome.unwrap_err();
    assert!(
        format!("{error:#}").contains("the gate failed"),
        "{error:#}"
    );
    drop(call);
    assert_eq!(s.store.live_continuations(), 0);
    // Wasm traps after waiting.
    s.value.store(1, Ordering::SeqCst);
    let trap = s.instance.get_typed_func::<(), i32>(&s.store, "trap")?;
    let error = poll_to_end(trap.call_async(&mut s.store, ())).unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::Unreachable));
    // The store is usable: a whole call again.
    assert_eq!(poll_to_end(run.call_async(&mut s.store, 2))?, 1 + 2 + 300);
    assert_eq!(s.engine.async_stacks_in_use(), 0);
    assert_eq!(s.store.live_continuations(), 0);
    Ok(())
}

#[test]
fn a_panic_in_an_async_host_function_reaches_the_poller() -> Result<()> {
    let mut s = setup(|_| ())?;
    let boom = s.instance.get_typed_func::<(), ()>(&s.store, "boom")?;
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        poll_to_end(boom.call_async(&mut s.store, ()))
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"boom from the host"));
    assert_eq!(s.engine.async_stacks_in_use(), 0);
    assert_eq!(s.store.live_continuations(), 0);
    s.open.store(true, Ordering::SeqCst);
    let run = s.instance.get_typed_func::<i32, i32>(&s.store, "run")?;
    assert_eq!(poll_to_end(run.call_async(&mut s.store, 1))?, 301);
    Ok(())
}

#[test]
fn the_store_moves_to_another_thread_between_polls() -> Result<()> {
    let s = setup(|_| ())?;
    let run = s.instance.get_typed_func::<i32, i32>(&s.store, "run")?;
    let trap = s.instance.get_typed_func::<(), i32>(&s.store, "trap")?;
    let (open, value) = (s.open.clone(), s.value.clone());
    let mut store = s.store;
    let thread = std::thread::spawn(move || -> Result<Store<()>> {
        {
            let mut call = Box::pin(run.call_async(&mut store, 7));
            assert!(poll_once(call.as_mut()).is_pending());
            // The call, suspended three continuations deep, goes on in
            // yet another thread.
            let answer = std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        value.store(10, Ordering::SeqCst);
                        open.store(true, Ordering::SeqCst);
                        poll_to_end(call.as_mut())
                    })
                    .join()
                    .unwrap()
            })?;
            assert_eq!(answer, 10 + 7 + 300);
        }
        // A trap after a move: it unwinds to the catch point of the thread
        // that polls last.
        open.store(false, Ordering::SeqCst);
        let mut call = Box::pin(trap.call_async(&mut store, ()));
        assert!(poll_once(call.as_mut()).is_pending());
        let error = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    open.store(true, Ordering::SeqCst);
                    poll_to_end(call.as_mut())
                })
                .join()
                .unwrap()
        })
        .unwrap_err();
        assert_eq!(trap_kind(&error), Some(TrapKind::Unreachable));
        drop(call);
        Ok(store)
    });
    let store = thread.join().unwrap()?;
    assert_eq!(store.live_continuations(), 0);
    assert_eq!(s.engine.async_stacks_in_use(), 0);
    Ok(())
}

#[test]
fn epoch_deadlines_yield_to_the_executor() -> Result<()> {
    let mut s = setup(|c| {
        c.epoch_interruption(true);
    })?;
    s.store.epoch_deadline_async_yield_and_update(1);
    s.store.set_epoch_deadline(1);
    let spin = s.instance.get_typed_func::<i64, i64>(&s.store, "spin")?;
    let n = 100_000i64;
    let engine = s.engine.clone();
    let (sum, pending) = poll_counting(spin.call_async(&mut s.store, n), || {
        engine.increment_epoch()
    });
    let sum = sum?;
    assert_eq!(sum, n * (n + 1) / 2);
    // A new epoch before every poll: the loop yields at each header.
    assert!(pending >= n as u64 / 2, "yielded {pending} times");
    // Outside an async call, the same deadline traps.
    s.engine.increment_epoch();
    s.engine.increment_epoch();
    let error = spin.call(&mut s.store, n).unwrap_err();
    assert!(format!("{error:#}").contains("async call"), "{error:#}");
    Ok(())
}

#[test]
fn fuel_yields_every_interval_and_runs_out_as_without() -> Result<()> {
    let mut s = setup(|c| {
        c.consume_fuel(true);
    })?;
    let spin = s.instance.get_typed_func::<i64, i64>(&s.store, "spin")?;
    let n = 10_000i64;
    // What a synchronous run leaves, and where it runs out.
    s.store.set_fuel(u64::MAX / 2)?;
    spin.call(&mut s.store, n)?;
    let used = u64::MAX / 2 - s.store.get_fuel()?;
    assert!(used > 10 * n as u64, "{used}");

    s.store.set_fuel(1_000_000)?;
    s.store.fuel_async_yield_interval(Some(1_000))?;
    assert_eq!(s.store.get_fuel()?, 1_000_000);
    let (sum, pending) = poll_counting(spin.call_async(&mut s.store, n), || ());
    let sum = sum?;
    assert_eq!(sum, n * (n + 1) / 2);
    // A yield per 1,000 units of fuel (at the first check past each; the
    // last may be used up with no check left), and the same fuel used.
    assert!(
        (used / 1_000 - 1..=used / 1_000).contains(&pending),
        "{pending} yields"
    );
    assert_eq!(s.store.get_fuel()?, 1_000_000 - used);

    // Half the fuel: it yields, then traps as a synchronous call does.
    let half = used / 2;
    s.store.fuel_async_yield_interval(None)?;
    s.store.set_fuel(half)?;
    let error = spin.call(&mut s.store, n).unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::OutOfFuel));
    s.store.fuel_async_yield_interval(Some(1_000))?;
    s.store.set_fuel(half)?;
    let (outcome, pending) = poll_counting(spin.call_async(&mut s.store, n), || ());
    let error = outcome.unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::OutOfFuel));
    assert!(
        (half / 1_000 - 1..=half / 1_000).contains(&pending),
        "{pending} yields"
    );
    assert_eq!(s.store.get_fuel()?, 0);
    Ok(())
}

#[test]
fn async_host_functions_need_an_async_call() -> Result<()> {
    let s = setup(|_| ())?;
    s.open.store(true, Ordering::SeqCst);
    let mut store = s.store;
    let run = s.instance.get_func(&store, "run").unwrap();
    let mut out = [Val::I32(0)];
    let error = run.call(&mut store, &[Val::I32(1)], &mut out).unwrap_err();
    assert!(
        format!("{error:#}").contains("outside an async call"),
        "{error:#}"
    );
    assert_eq!(store.live_continuations(), 0);
    // And an engine without async support refuses them, and async calls.
    let engine = Engine::default();
    let mut linker = Linker::<()>::new(&engine);
    let refused = linker.func_wrap_async("host", "f", |_: Caller<'_, ()>, (): ()| {
        Box::new(std::future::ready(()))
    });
    assert!(refused.is_err());
    let module = Module::new(&engine, r#"(module (func (export "f")))"#)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let f = instance.get_typed_func::<(), ()>(&store, "f")?;
    assert!(poll_to_end(f.call_async(&mut store, ())).is_err());
    Ok(())
}
