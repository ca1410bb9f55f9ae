//! Precompiled modules and the compilation cache: loaded code behaves as
//! freshly compiled code; files from another build, with other settings,
//! for other CPUs, or damaged, are refused with an error; the cache is hit
//! and survives concurrent writers.

use anyhow::Result;
use fxtime::{
    Config, Engine, Func, Linker, Module, Store, ThrownException, Trap, Val, WasmBacktrace,
};
use std::path::PathBuf;

/// Host calls, stack switching (a generator driven through a host
/// function), exceptions caught and uncaught, and a trap three frames deep.
const PROGRAM: &str = r#"(module $program
  (import "host" "double" (func $double (param i32) (result i32)))
  (type $f (func (param i32) (result i32)))
  (type $c (cont $f))
  (tag $yield (param i32) (result i32))
  (tag $oops (param i32))
  (func $gen (param $n i32) (result i32)
    (loop $l
      (local.set $n (suspend $yield (local.get $n)))
      (br_if $l (i32.lt_u (local.get $n) (i32.const 100))))
    (local.get $n))
  (func (export "drive") (param $x i32) (result i32)
    (local $k (ref null $c)) (local $sum i32)
    (local.set $k (cont.new $c (ref.func $gen)))
    (loop $l
      (block $on_yield (result i32 (ref $c))
        (local.set $x (resume $c (on $yield $on_yield) (local.get $x) (local.get $k)))
        (return (i32.add (local.get $sum) (local.get $x))))
      (local.set $k)
      (local.set $x)
      (local.set $sum (i32.add (local.get $sum) (local.get $x)))
      (local.set $x (call $double (local.get $x)))
      (br $l))
    (unreachable))
  (func $thrower (param i32) (throw $oops (local.get 0)))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $oops $h) (call $thrower (local.get 0)))
      (i32.const -1)))
  (func (export "uncaught") (param i32) (call $thrower (local.get 0)))
  (func $outer (export "outer") (call $middle))
  (func $middle (call $inner))
  (func $inner (drop (i32.div_u (i32.const 1) (i32.const 0))))
  (elem declare func $gen))"#;

fn config() -> Config {
    let mut config = Config::new();
    config.wasm_stack_switching(true);
    config
}

/// What running every export of `module` shows: values, the uncaught
/// exception's payload, and the trap's message and frames (function name
/// and wasm offset, innermost first).
fn behaviour(engine: &Engine, module: &Module) -> Result<Vec<String>> {
    let mut store = Store::new(engine, ());
    let mut linker = Linker::new(engine);
    linker.func_wrap("host", "double", |x: i32| x * 2)?;
    let instance = linker.instantiate(&mut store, module)?;
    let mut seen = Vec::new();
    let call = |store: &mut Store<()>, name: &str, args: &[Val]| -> Result<String> {
        let func: Func = instance.get_func(&*store, name).expect(name);
        let mut results = vec![Val::I32(0); func.ty(&*store).results.len()];
        Ok(match func.call(&mut *store, args, &mut results) {
            Ok(()) => format!("{name}: {results:?}"),
            Err(error) => {
                if let Some(trap) = error.downcast_ref::<Trap>() {
                    format!("{name}: trap {trap} at {}", frames(trap.backtrace()))
                } else if let Some(thrown) = error.downcast_ref::<ThrownException>() {
                    format!("{name}: uncaught {:?}", thrown.payload(&*store)?)
                } else {
                    format!("{name}: error {error:#}")
                }
            }
        })
    };
    seen.push(call(&mut store, "drive", &[Val::I32(3)])?);
    seen.push(call(&mut store, "catch", &[Val::I32(42)])?);
    seen.push(call(&mut store, "uncaught", &[Val::I32(7)])?);
    seen.push(call(&mut store, "outer", &[])?);
    // The store is still usable after the trap.
    seen.push(call(&mut store, "drive", &[Val::I32(5)])?);
    Ok(seen)
}

fn frames(backtrace: &WasmBacktrace) -> String {
    let frames: Vec<String> = backtrace
        .frames()
        .iter()
        .map(|f| {
            format!(
                "{}@{:?}",
                f.func_name.as_deref().unwrap_or("?"),
                f.wasm_offset
            )
        })
        .collect();
    frames.join(" ")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("precompiled")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn precompiled_code_behaves_like_freshly_compiled_code() -> Result<()> {
    let engine = Engine::new(&config())?;
    let fresh = Module::new(&engine, PROGRAM)?;
    let expected = behaviour(&engine, &fresh)?;
    assert_eq!(expected[0], "drive: [I32(381)]");
    assert_eq!(expected[1], "catch: [I32(42)]");
    assert!(expected[2].starts_with("uncaught"), "{expected:?}");
    assert!(
        expected[3].contains("integer divide by zero at inner@Some(")
            && expected[3].contains("middle@")
            && expected[3].contains("outer@"),
        "{expected:?}"
    );

    let serialized = fresh.serialize()?;
    assert!(Module::is_precompiled(&serialized));
    assert!(!Module::is_precompiled(&wat::parse_str(PROGRAM)?));
    let precompiled = engine.precompile_module(PROGRAM.as_bytes())?;
    let path = temp_dir("behaviour").join("program.cwasm");
    std::fs::write(&path, &precompiled)?;
    // A module serialized again is the same file.
    // SAFETY: written by this engine just now.
    let loaded = unsafe { Module::deserialize(&engine, &serialized)? };
    assert_eq!(loaded.serialize()?, serialized);
    assert_eq!(precompiled, serialized);

    // In this engine and in another one with the same settings, from
    // bytes and from a file.
    let other = Engine::new(&config())?;
    for engine in [&engine, &other] {
        // SAFETY: as above.
        let from_bytes = unsafe { Module::deserialize(engine, &serialized)? };
        assert_eq!(behaviour(engine, &from_bytes)?, expected);
        // SAFETY: as above.
        let from_file = unsafe { Module::deserialize_file(engine, &path)? };
        assert_eq!(behaviour(engine, &from_file)?, expected);
        assert_eq!(from_file.name(), Some("program"));
        assert_eq!(from_file.imports().len(), 1);
        assert_eq!(from_file.exports().len(), 4);
    }
    Ok(())
}

/// Where `text` first is in `bytes` (the header comes first).
fn find(bytes: &[u8], text: &str) -> usize {
    bytes
        .windows(text.len())
        .position(|w| w == text.as_bytes())
        .unwrap_or_else(|| panic!("{text} is not in the header"))
}

/// `bytes` with the header's `from` replaced by `to` (same length), and
/// the checksum made right again, so that only the header can refuse it.
fn with_header_changed(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    patched(bytes, find(bytes, from), to.as_bytes())
}

/// `bytes` with `replacement` at `at`, and the checksum made right again.
fn patched(bytes: &[u8], at: usize, replacement: &[u8]) -> Vec<u8> {
    let mut changed = bytes.to_vec();
    changed[at..at + replacement.len()].copy_from_slice(replacement);
    // The trailer: CRC-32 of what precedes it, zero, length, magic.
    let body = changed.len() - 24;
    let checksum = crc32(&changed[..body]);
    changed[body..body + 4].copy_from_slice(&checksum.to_le_bytes());
    changed
}

/// CRC-32 (IEEE), bit by bit: the test's own, independent of fxtime's.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn refusal(engine: &Engine, bytes: &[u8]) -> String {
    // SAFETY: a refused file is never run; one that loads is fxtime's own.
    match unsafe { Module::deserialize(engine, bytes) } {
        Ok(_) => panic!("the file was accepted"),
        Err(error) => format!("{error:#}"),
    }
}

#[test]
fn files_of_another_build_settings_or_cpu_are_refused() -> Result<()> {
    let engine = Engine::new(&config())?;
    let bytes = engine.precompile_module(PROGRAM.as_bytes())?;
    // The unchanged header passes the checks this test's changes fail.
    let same = with_header_changed(&bytes, "fxtime ", "fxtime ");
    // SAFETY: fxtime's own file.
    unsafe { Module::deserialize(&engine, &same)? };

    let version = format!("fxtime {}", fxtime::VERSION);
    let other_version = format!("fxtime {}", "9".repeat(fxtime::VERSION.len()));
    let message = refusal(
        &engine,
        &with_header_changed(&bytes, &version, &other_version),
    );
    assert!(
        message.contains("precompiled by another fxtime"),
        "{message}"
    );
    // The build's identity: one hex digit of it changed.
    let digit = find(&bytes, "\nbuild ") + "\nbuild ".len();
    let other_digit = if bytes[digit] == b'0' { b"1" } else { b"0" };
    let message = refusal(&engine, &patched(&bytes, digit, other_digit));
    assert!(message.contains("another fxtime (build "), "{message}");

    let message = refusal(
        &engine,
        &with_header_changed(&bytes, "has_sse3", "has_zzz3"),
    );
    assert!(
        message.contains("for a CPU with has_zzz3, which this host lacks"),
        "{message}"
    );

    // Other settings, other features.
    let mut fuel = config();
    fuel.consume_fuel(true);
    let message = refusal(&Engine::new(&fuel)?, &bytes);
    assert!(
        message.contains("consume_fuel = false, but this engine has consume_fuel = true"),
        "{message}"
    );
    let message = refusal(&Engine::default(), &bytes);
    assert!(
        message.contains("precompiled with features =") && message.contains("stack-switching"),
        "{message}"
    );
    // A precompiled module is not WebAssembly, and WebAssembly is not a
    // precompiled module.
    let message = format!("{:#}", Module::new(&engine, &bytes).unwrap_err());
    assert!(
        message.contains("load them with Module::deserialize"),
        "{message}"
    );
    let message = refusal(&engine, &wat::parse_str(PROGRAM)?);
    assert!(
        message.contains("not a precompiled fxtime module"),
        "{message}"
    );
    Ok(())
}

/// A tiny deterministic generator for the damage.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn damaged_or_truncated_files_are_refused() -> Result<()> {
    let engine = Engine::new(&config())?;
    let bytes = engine.precompile_module(PROGRAM.as_bytes())?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..1000 {
        let damaged = if i % 2 == 0 {
            let mut flipped = bytes.clone();
            let at = rng.below(bytes.len());
            flipped[at] ^= 1 + rng.below(255) as u8;
            flipped
        } else {
            bytes[..rng.below(bytes.len())].to_vec()
        };
        let message = refusal(&engine, &damaged);
        assert!(
            message.contains("damaged") || message.contains("truncated"),
            "case {i}: {message}"
        );
    }
    // Intact, the same file still loads and runs.
    // SAFETY: fxtime's own file.
    let module = unsafe { Module::deserialize(&engine, &bytes)? };
    assert_eq!(behaviour(&engine, &module)?[0], "drive: [I32(381)]");
    Ok(())
}

#[test]
fn the_cache_is_hit_again_and_replaces_damaged_entries() -> Result<()> {
    let dir = temp_dir("cache");
    let mut config = config();
    config.cache_directory(&dir);
    let engine = Engine::new(&config)?;
    let first = Module::new(&engine, PROGRAM)?;
    let stats = engine.cache_stats();
    assert_eq!(
        (stats.hits, stats.misses, stats.stores),
        (0, 1, 1),
        "{stats:?}"
    );
    let second = Module::new(&engine, PROGRAM)?;
    assert_eq!(engine.cache_stats().hits, 1);
    assert_eq!(behaviour(&engine, &second)?, behaviour(&engine, &first)?);

    // Another engine (as another process would) finds it too; an engine
    // with other settings does not.
    let again = Engine::new(&config)?;
    Module::new(&again, PROGRAM)?;
    assert_eq!(again.cache_stats().hits, 1);
    let mut fuel = config.clone();
    fuel.consume_fuel(true);
    let fueled = Engine::new(&fuel)?;
    Module::new(&fueled, PROGRAM)?;
    assert_eq!(fueled.cache_stats().misses, 1);

    // A damaged entry is compiled again and replaced. (The modules loaded
    // from the entries map them: they go first, as files must not change
    // under live modules.)
    drop((first, second));
    let entries: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    for entry in &entries {
        let mut bytes = std::fs::read(entry)?;
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        std::fs::write(entry, bytes)?;
    }
    let repaired = Engine::new(&config)?;
    let module = Module::new(&repaired, PROGRAM)?;
    let stats = repaired.cache_stats();
    assert_eq!(
        (stats.errors, stats.misses, stats.stores),
        (1, 1, 1),
        "{stats:?}"
    );
    assert_eq!(behaviour(&repaired, &module)?[0], "drive: [I32(381)]");
    let checked = Engine::new(&config)?;
    Module::new(&checked, PROGRAM)?;
    assert_eq!(checked.cache_stats().hits, 1);
    Ok(())
}

#[test]
fn the_cache_survives_concurrent_writers() -> Result<()> {
    let dir = temp_dir("concurrent");
    let mut config = config();
    config.cache_directory(&dir);
    const WRITERS: usize = 8;
    let barrier = std::sync::Barrier::new(WRITERS);
    std::thread::scope(|scope| {
        for _ in 0..WRITERS {
            scope.spawn(|| {
                let engine = Engine::new(&config).unwrap();
                barrier.wait();
                let module = Module::new(&engine, PROGRAM).unwrap();
                assert_eq!(behaviour(&engine, &module).unwrap()[0], "drive: [I32(381)]");
            });
        }
    });
    // One whole entry, no temporary file left behind, and it loads.
    let entries: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let engine = Engine::new(&config)?;
    Module::new(&engine, PROGRAM)?;
    assert_eq!(engine.cache_stats().hits, 1);
    Ok(())
}
