//! Keeping guest code in bounds through the API: fuel, epoch deadlines and
//! resource limits, on plain code and across continuations.

use anyhow::Result;
use fxtime::{
    Config, Engine, Instance, Linker, Memory, MemoryType, Module, RefType, ResourceLimiter, Store,
    StoreLimits, StoreLimitsBuilder, Table, TableType, Trap, TrapKind, UpdateDeadline, Val,
};
use fxtime_tests::trap_kind;
use std::time::{Duration, Instant};

fn instantiate<T: Send + 'static>(store: &mut Store<T>, wat: &str) -> Result<Instance> {
    let module = Module::new(store.engine(), wat)?;
    Linker::new(store.engine()).instantiate(store, &module)
}

/// A loop of `n` iterations, a generator of values suspended in a loop,
/// and a loop for ever.
const PROGRAM: &str = r#"(module
    (type $f (func))
    (type $c (cont $f))
    (tag $yield)
    (func (export "three") (result i32) (i32.add (i32.const 1) (i32.const 2)))
    (func (export "count") (param $n i32) (result i32)
      (local $i i32)
      (loop $again
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $i))
    (func (export "count_in_try") (param $n i32) (result i32)
      (local $i i32)
      (try_table
        (loop $again
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $i) (local.get $n)))))
      (local.get $i))
    (func $add (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "count_by_calls") (param $n i32) (result i32)
      (local $i i32)
      (loop $again
        (local.set $i (call $add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $i))
    (func $body (loop $again (suspend $yield) (br $again)))
    (elem declare func $body)
    (func (export "generate") (param $n i32) (result i32)
      (local $k (ref null $c)) (local $i i32)
      (local.set $k (cont.new $c (ref.func $body)))
      (loop $next
        (block $on_yield (result (ref $c))
          (resume $c (on $yield $on_yield) (local.get $k))
          (unreachable))
        (local.set $k)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
      (local.get $i))
    (func (export "spin") (loop $again (br $again))))"#;

fn engine(configure: impl FnOnce(&mut Config)) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_stack_switching(true);
    configure(&mut config);
    Engine::new(&config)
}

#[test]
fn fuel_counts_each_operator_exactly() -> Result<()> {
    let engine = engine(|c| {
        c.consume_fuel(true);
    })?;
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, PROGRAM)?;
    let three = instance.get_typed_func::<(), i32>(&store, "three")?;
    store.set_fuel(100)?;
    assert_eq!(three.call(&mut store, ())?, 3);
    // i32.const, i32.const, i32.add; `end` is free.
    assert_eq!(store.get_fuel()?, 97);

    // A loop costs the same every iteration: the total is linear in n.
    let count = instance.get_typed_func::<i32, i32>(&store, "count")?;
    let mut used = Vec::new();
    for n in [1, 2, 10] {
        store.set_fuel(1_000_000)?;
        assert_eq!(count.call(&mut store, n)?, n);
        used.push(1_000_000 - store.get_fuel()?);
    }
    let per_iteration = used[1] - used[0];
    assert_eq!(used[2] - used[0], 9 * per_iteration, "{used:?}");

    // Fuel kept in memory (a function with a `try_table`) counts the
    // same as fuel kept in a register, plus the `try_table` itself.
    let count_in_try = instance.get_typed_func::<i32, i32>(&store, "count_in_try")?;
    store.set_fuel(1_000_000)?;
    assert_eq!(count_in_try.call(&mut store, 10)?, 10);
    assert_eq!(1_000_000 - store.get_fuel()?, used[2] + 1);

    // A callee's fuel is counted: `call $add` takes the place of
    // `i32.add`, and the callee's two `local.get`s and `i32.add` cost 3
    // more per iteration (its `end` is free).
    let by_calls = instance.get_typed_func::<i32, i32>(&store, "count_by_calls")?;
    store.set_fuel(1_000_000)?;
    assert_eq!(by_calls.call(&mut store, 10)?, 10);
    assert_eq!(1_000_000 - store.get_fuel()?, used[2] + 10 * 3);
    Ok(())
}

#[test]
fn running_out_of_fuel_traps_at_the_same_point_every_time() -> Result<()> {
    let engine = engine(|c| {
        c.consume_fuel(true);
    })?;
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, PROGRAM)?;
    let generate = instance.get_typed_func::<i32, i32>(&store, "generate")?;
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        store.set_fuel(5_000)?;
        let error = generate.call(&mut store, 1_000_000).unwrap_err();
        assert_eq!(trap_kind(&error), Some(TrapKind::OutOfFuel));
        assert_eq!(error.to_string(), "all fuel consumed by WebAssembly");
        // The interrupted chain gave its stack back.
        assert_eq!(store.live_continuations(), 0);
        let trap = error.downcast_ref::<Trap>().unwrap();
        let frames: Vec<_> = trap
            .backtrace()
            .frames()
            .iter()
            .map(|f| (f.func_index, f.wasm_offset))
            .collect();
        outcomes.push((frames, store.get_fuel()?));
    }
    assert!(outcomes.windows(2).all(|w| w[0] == w[1]), "{outcomes:?}");
    // Refuelled, the store runs again.
    store.set_fuel(u64::MAX)?;
    assert_eq!(generate.call(&mut store, 1000)?, 1000);
    Ok(())
}

#[test]
fn fuel_without_the_setting_is_an_error() {
    let mut store = Store::new(&Engine::default(), ());
    assert!(store.set_fuel(1).is_err());
    assert!(store.get_fuel().is_err());
}

#[test]
fn an_epoch_deadline_stops_a_loop_and_the_store_runs_again() -> Result<()> {
    let engine = engine(|c| {
        c.epoch_interruption(true);
    })?;
    let mut store = Store::new(&engine, ());
    let instance = instantiate(&mut store, PROGRAM)?;
    let spin = instance.get_typed_func::<(), ()>(&store, "spin")?;
    let generate = instance.get_typed_func::<i32, i32>(&store, "generate")?;
    // No deadline set: nothing stops a finite run.
    assert_eq!(generate.call(&mut store, 1000)?, 1000);

    store.set_epoch_deadline(1);
    let ticker = engine.clone();
    let started = Instant::now();
    let timer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        ticker.increment_epoch();
    });
    let error = spin.call(&mut store, ()).unwrap_err();
    timer.join().unwrap();
    assert_eq!(trap_kind(&error), Some(TrapKind::Interrupt));
    assert_eq!(error.to_string(), "interrupt");
    assert!(started.elapsed() >= Duration::from_millis(50));

    // The deadline passed: the next call stops at once, until a new one.
    // (The first call left its generator suspended: no collector yet.)
    let live = store.live_continuations();
    let error = generate.call(&mut store, 10).unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::Interrupt));
    assert_eq!(store.live_continuations(), live);
    store.set_epoch_deadline(1);
    assert_eq!(generate.call(&mut store, 10)?, 10);
    Ok(())
}

/// Each instance tests its own interrupt word: the engine raises those of
/// every instance of the store, one created after the deadline passed
/// starts raised, and a new deadline lowers them all.
#[test]
fn the_deadline_reaches_every_instance_of_the_store() -> Result<()> {
    let engine = engine(|c| {
        c.epoch_interruption(true);
    })?;
    let mut store = Store::new(&engine, ());
    let first = instantiate(&mut store, PROGRAM)?;
    let second = instantiate(&mut store, PROGRAM)?;
    let spin_second = second.get_typed_func::<(), ()>(&store, "spin")?;
    store.set_epoch_deadline(1);
    let ticker = engine.clone();
    let timer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        ticker.increment_epoch();
    });
    let error = spin_second.call(&mut store, ()).unwrap_err();
    timer.join().unwrap();
    assert_eq!(trap_kind(&error), Some(TrapKind::Interrupt));

    // Created after the deadline passed: stops at its first check.
    let third = instantiate(&mut store, PROGRAM)?;
    let count_third = third.get_typed_func::<i32, i32>(&store, "count")?;
    let error = count_third.call(&mut store, 5).unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::Interrupt));

    // A new deadline lowers every word.
    store.set_epoch_deadline(1);
    for instance in [first, second, third] {
        let count = instance.get_typed_func::<i32, i32>(&store, "count")?;
        assert_eq!(count.call(&mut store, 1000)?, 1000);
    }
    // Another store of the engine is not stopped by this one's deadline.
    let mut other = Store::new(&engine, ());
    other.set_epoch_deadline(1000);
    let lone = instantiate(&mut other, PROGRAM)?;
    engine.increment_epoch();
    let count = lone.get_typed_func::<i32, i32>(&other, "count")?;
    assert_eq!(count.call(&mut other, 1000)?, 1000);
    let error = count_third.call(&mut store, 5).unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::Interrupt));
    Ok(())
}

#[test]
fn a_deadline_callback_extends_the_deadline_or_fails() -> Result<()> {
    let engine = engine(|c| {
        c.epoch_interruption(true);
    })?;
    // The host data counts the callback's calls.
    let mut store = Store::new(&engine, 0u32);
    let instance = instantiate(&mut store, PROGRAM)?;
    let spin = instance.get_typed_func::<(), ()>(&store, "spin")?;
    store.epoch_deadline_callback(|mut cx| {
        *cx.data_mut() += 1;
        if *cx.data() < 3 {
            Ok(UpdateDeadline::Continue(1))
        } else {
            anyhow::bail!("enough")
        }
    });
    store.set_epoch_deadline(1);
    let ticker = engine.clone();
    let timer = std::thread::spawn(move || {
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(20));
            ticker.increment_epoch();
        }
    });
    let error = spin.call(&mut store, ()).unwrap_err();
    timer.join().unwrap();
    assert_eq!(error.to_string(), "enough");
    assert_eq!(*store.data(), 3);
    Ok(())
}

/// A loop that keeps integers, floats and vectors in registers through
/// its header, where an epoch check sits, and a recursion whose every
/// activation passes one at its entry.
const MIXER: &str = r#"(module
    (func $deep (param $n i32) (param $x f64) (result f64)
      (if (result f64) (i32.eqz (local.get $n))
        (then (local.get $x))
        (else (f64.add (call $deep (i32.sub (local.get $n) (i32.const 1))
                                   (f64.mul (local.get $x) (f64.const 1.0000001)))
                       (f64.convert_i32_s (local.get $n))))))
    (func (export "mix") (param $n i32) (result i64)
      (local $a i64) (local $b i64) (local $c i32) (local $x f64) (local $y f32)
      (local $v v128) (local $w v128)
      (local $k0 i64) (local $k1 i64) (local $k2 i64) (local $k3 i64) (local $k4 i64)
      (local $k5 i64) (local $k6 i64) (local $k7 i64) (local $k8 i64) (local $k9 i64)
      (local.set $a (i64.const 0x0123456789abcdef))
      (local.set $x (f64.const 1.5))
      (local.set $v (v128.const i32x4 1 2 3 4))
      (local.set $w (v128.const f64x2 0.5 0.25))
      (loop $again
        (local.set $a (i64.rotl (i64.xor (local.get $a) (i64.extend_i32_u (local.get $c))) (i64.const 7)))
        (local.set $b (i64.add (local.get $b) (local.get $a)))
        ;; Ten more integers live through the header: every register.
        (local.set $k0 (i64.add (local.get $k0) (i64.const 1)))
        (local.set $k1 (i64.add (local.get $k1) (local.get $k0)))
        (local.set $k2 (i64.xor (local.get $k2) (local.get $k1)))
        (local.set $k3 (i64.add (local.get $k3) (local.get $k2)))
        (local.set $k4 (i64.sub (local.get $k4) (local.get $k3)))
        (local.set $k5 (i64.xor (local.get $k5) (local.get $k4)))
        (local.set $k6 (i64.add (local.get $k6) (local.get $k5)))
        (local.set $k7 (i64.rotl (local.get $k7) (local.get $k6)))
        (local.set $k8 (i64.add (local.get $k8) (local.get $k7)))
        (local.set $k9 (i64.xor (local.get $k9) (i64.add (local.get $k8) (i64.const 3))))
        (local.set $x (f64.add (f64.mul (local.get $x) (f64.const 0.999)) (f64.const 1)))
        (local.set $y (f32.add (local.get $y) (f32.const 0.5)))
        (local.set $v (i32x4.add (local.get $v) (i32x4.splat (local.get $c))))
        (local.set $w (f64x2.add (local.get $w) (f64x2.splat (local.get $x))))
        (if (i32.eqz (i32.and (local.get $c) (i32.const 1023)))
          (then (local.set $x (call $deep (i32.const 50) (local.get $x)))))
        (local.tee $c (i32.add (local.get $c) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $n))))
      (local.set $b (i64.add (local.get $b)
        (i64.add (i64.add (i64.add (local.get $k0) (local.get $k1)) (i64.add (local.get $k2) (local.get $k3)))
          (i64.add (i64.add (i64.add (local.get $k4) (local.get $k5)) (i64.add (local.get $k6) (local.get $k7)))
                   (i64.add (local.get $k8) (local.get $k9))))))
      (i64.add (i64.add (local.get $b) (i64.reinterpret_f64 (local.get $x)))
        (i64.add (i64.extend_i32_u (i32.reinterpret_f32 (local.get $y)))
          (i64.add (i64x2.extract_lane 0 (local.get $v))
            (i64.add (i64x2.extract_lane 1 (local.get $v))
              (i64.add (i64x2.extract_lane 0 (local.get $w))
                       (i64x2.extract_lane 1 (local.get $w)))))))))"#;

#[test]
fn wasm_interrupted_at_a_check_goes_on_with_every_register_intact() -> Result<()> {
    const N: i32 = 3_000_000;
    let expected = {
        let engine = engine(|_| ())?;
        let mut store = Store::new(&engine, ());
        let instance = instantiate(&mut store, MIXER)?;
        instance
            .get_typed_func::<i32, i64>(&store, "mix")?
            .call(&mut store, N)?
    };
    let engine = engine(|c| {
        c.epoch_interruption(true);
    })?;
    let mut store = Store::new(&engine, 0u64);
    let instance = instantiate(&mut store, MIXER)?;
    let mix = instance.get_typed_func::<i32, i64>(&store, "mix")?;
    store.epoch_deadline_callback(|mut cx| {
        *cx.data_mut() += 1;
        Ok(UpdateDeadline::Continue(1))
    });
    store.set_epoch_deadline(1);
    let ticker = engine.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = done.clone();
    let timer = std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            ticker.increment_epoch();
            std::thread::sleep(Duration::from_micros(50));
        }
    });
    let mut interrupts = 0;
    for _ in 0..5 {
        assert_eq!(mix.call(&mut store, N)?, expected);
        interrupts = *store.data();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    timer.join().unwrap();
    // Interrupted often, at loop headers and function entries alike.
    assert!(interrupts >= 20, "{interrupts} interrupts");
    Ok(())
}

/// A limiter that counts what it was asked.
struct Counting {
    limits: StoreLimits,
    asked: usize,
}

impl ResourceLimiter for Counting {
    fn memory_growing(&mut self, c: usize, d: usize, m: Option<usize>) -> Result<bool> {
        self.asked += 1;
        self.limits.memory_growing(c, d, m)
    }
    fn table_growing(&mut self, c: usize, d: usize, m: Option<usize>) -> Result<bool> {
        self.asked += 1;
        self.limits.table_growing(c, d, m)
    }
    fn instances(&self) -> usize {
        self.limits.instances()
    }
}

#[test]
fn memory_and_table_growth_follow_the_limiter() -> Result<()> {
    let engine = Engine::default();
    let limits = StoreLimitsBuilder::new()
        .memory_size(4 * 65536)
        .table_elements(10)
        .build();
    let mut store = Store::new(&engine, Counting { limits, asked: 0 });
    store.limiter(|c| c);
    let instance = instantiate(
        &mut store,
        r#"(module (memory 1) (table 1 funcref)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (export "grow_table") (param i32) (result i32)
              (table.grow (ref.null func) (local.get 0))))"#,
    )?;
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow")?;
    let grow_table = instance.get_typed_func::<i32, i32>(&store, "grow_table")?;
    assert_eq!(grow.call(&mut store, 3)?, 1);
    assert_eq!(grow.call(&mut store, 1)?, -1);
    assert_eq!(grow_table.call(&mut store, 9)?, 1);
    assert_eq!(grow_table.call(&mut store, 1)?, -1);
    // Instantiation asked about the initial memory and table, then four
    // growths.
    assert_eq!(store.data().asked, 6);
    Ok(())
}

#[test]
fn trap_on_grow_failure_traps_with_the_reason() -> Result<()> {
    let engine = Engine::default();
    let limits = StoreLimitsBuilder::new()
        .memory_size(2 * 65536)
        .trap_on_grow_failure(true)
        .build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    let instance = instantiate(
        &mut store,
        r#"(module (memory 1 3)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    )?;
    let grow = instance.get_typed_func::<i32, i32>(&store, "grow")?;
    assert_eq!(grow.call(&mut store, 1)?, 1);
    let error = grow.call(&mut store, 1).unwrap_err();
    assert!(
        error.to_string().contains("exceeds the store's limit"),
        "{error}"
    );
    // Past the type's own maximum, the failure traps too.
    let error = grow.call(&mut store, 5).unwrap_err();
    assert!(error.to_string().contains("exceeds"), "{error}");
    assert_eq!(grow.call(&mut store, 0)?, 2);
    Ok(())
}

#[test]
fn instances_memories_and_tables_are_counted() -> Result<()> {
    let engine = Engine::default();
    let limits = StoreLimitsBuilder::new()
        .instances(2)
        .memories(1)
        .tables(1)
        .build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    instantiate(&mut store, "(module (memory 1))")?;
    let error = instantiate(&mut store, "(module (memory 1))").unwrap_err();
    assert!(error.to_string().contains("memory count"), "{error}");
    instantiate(&mut store, "(module (table 1 funcref))")?;
    let error = instantiate(&mut store, "(module)").unwrap_err();
    assert!(error.to_string().contains("instance count"), "{error}");

    let limits = StoreLimitsBuilder::new().memory_size(65536).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    let error = instantiate(&mut store, "(module (memory 2))").unwrap_err();
    assert!(
        error.to_string().contains("exceeds the store's limit"),
        "{error}"
    );

    // Memories and tables the host creates count too.
    let limits = StoreLimitsBuilder::new()
        .memories(1)
        .table_elements(5)
        .build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    Memory::new(&mut store, MemoryType::new(1, None))?;
    let error = Memory::new(&mut store, MemoryType::new(1, None)).unwrap_err();
    assert!(error.to_string().contains("memory count"), "{error}");
    let funcs = |min| TableType::new(RefType::FUNCREF, min, None);
    Table::new(&mut store, funcs(5), Val::FuncRef(None))?;
    let error = Table::new(&mut store, funcs(6), Val::FuncRef(None)).unwrap_err();
    assert!(error.to_string().contains("table minimum"), "{error}");
    Ok(())
}

/// Creates `n` continuations that each suspend once and stay alive.
const SPAWN: &str = r#"(module
    (type $f (func))
    (type $c (cont $f))
    (tag $yield)
    (func $body (suspend $yield))
    (elem declare func $body)
    (func (export "spawn") (param $n i32)
      (loop $next
        (if (i32.eqz (local.get $n)) (then (return)))
        (block $on_yield (result (ref $c))
          (resume $c (on $yield $on_yield) (cont.new $c (ref.func $body)))
          (return))
        (drop)
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next))))"#;

#[test]
fn live_continuations_and_their_stack_bytes_are_limited() -> Result<()> {
    let engine = engine(|c| {
        c.continuation_stack_size(1 << 20);
    })?;
    let limits = StoreLimitsBuilder::new().continuations(1000).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    let instance = instantiate(&mut store, SPAWN)?;
    let spawn = instance.get_typed_func::<i32, ()>(&store, "spawn")?;
    spawn.call(&mut store, 1000)?;
    assert_eq!(store.live_continuations(), 1000);
    let error = spawn.call(&mut store, 1).unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::TooManyContinuations));
    assert!(error.to_string().contains("max-continuations"), "{error}");

    let limits = StoreLimitsBuilder::new()
        .continuation_stack_bytes(10 << 20)
        .build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|l| l);
    let instance = instantiate(&mut store, SPAWN)?;
    let spawn = instance.get_typed_func::<i32, ()>(&store, "spawn")?;
    let error = spawn.call(&mut store, 11).unwrap_err();
    assert_eq!(trap_kind(&error), Some(TrapKind::ContinuationStackBytes));
    assert_eq!(store.live_continuations(), 10);
    Ok(())
}
