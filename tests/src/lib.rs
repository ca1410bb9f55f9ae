//! Helpers shared by fxtime's integration tests.

use std::path::PathBuf;

/// The shared folder beside the repository (`../shared`), or
/// `$FXTIME_SHARED` when set.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("FXTIME_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

/// The folder of this package's own files (`tests/`).
pub fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `f` on a thread with a stack as large as a main thread's, as wasm
/// gets 512 KiB of stack plus what the host needs.
pub fn with_big_stack<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn_scoped(scope, f)
            .expect("spawn a test thread")
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Runs `f` while another thread advances `engine`'s epoch every 100 us,
/// so that wasm with epoch deadlines is interrupted at its checks all the
/// time (see `WastRunner::interrupted`).
pub fn with_ticking_epoch<R>(engine: &fxtime::Engine, f: impl FnOnce() -> R) -> R {
    use std::sync::atomic::{AtomicBool, Ordering};
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                engine.increment_epoch();
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
        });
        let result = f();
        done.store(true, Ordering::Relaxed);
        result
    })
}

/// The kind of the wasm trap `error` is, if it is one.
pub fn trap_kind(error: &anyhow::Error) -> Option<fxtime::TrapKind> {
    error.downcast_ref::<fxtime::Trap>().map(fxtime::Trap::kind)
}
