//! WASI preview 1 (`wasi_snapshot_preview1`) for fxtime.
//!
//! The calls themselves are wasi-common's: it implements all of preview 1
//! (args, environment, clocks, random, stdio, files and directories under
//! preopened directories, `poll_oneoff`, `proc_exit`) on cap-std, whose
//! directory handles cannot reach outside the directory they were opened
//! on (`..`, absolute paths and symlinks are resolved beneath it). This
//! crate binds those calls to a [`Linker`]: every import is a host function
//! that takes the caller's exported `memory` and the [`WasiCtx`] out of the
//! store's data and runs wasi-common's ABI function for that import.
//!
//! ```no_run
//! use fxtime::{Engine, Linker, Module, Store};
//! use fxtime_wasi::{WasiCtx, WasiCtxBuilder};
//!
//! let engine = Engine::default();
//! let module = Module::from_file(&engine, "hello.wasm")?;
//! let mut linker = Linker::<WasiCtx>::new(&engine);
//! fxtime_wasi::add_to_linker(&mut linker, |ctx| ctx)?;
//! let wasi = WasiCtxBuilder::new().inherit_stdio().arg("hello")?.build();
//! let mut store = Store::new(&engine, wasi);
//! let instance = linker.instantiate(&mut store, &module)?;
//! let start = instance.get_typed_func::<(), ()>(&store, "_start")?;
//! match start.call(&mut store, ()) {
//!     Ok(()) => {}
//!     Err(error) => match fxtime_wasi::exit_code(&error) {
//!         Some(code) => std::process::exit(code),
//!         None => return Err(error),
//!     },
//! }
//! # anyhow::Ok(())
//! ```

use anyhow::{Result, anyhow};
use fxtime::{Caller, Extern, Linker};
use wasi_common::snapshots::preview_1::wasi_snapshot_preview1 as abi;
use wiggle::GuestMemory;

pub use wasi_common::pipe::{ReadPipe, WritePipe};
pub use wasi_common::sync::{Dir, WasiCtxBuilder, ambient_authority};
pub use wasi_common::{I32Exit, WasiCtx};

/// The module name of every preview 1 import.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The exit code a program asked for with `proc_exit`, if `error` (from a
/// call into wasm) is that request rather than a failure.
pub fn exit_code(error: &anyhow::Error) -> Option<i32> {
    error.downcast_ref::<I32Exit>().map(|exit| exit.0)
}

/// Runs `call` with the calling instance's memory and the store's WASI
/// context, and turns wasi-common's trapping errors (an errno is not one:
/// it is the call's result) into the host function's error.
fn with_memory<T, R>(
    caller: &mut Caller<'_, T>,
    ctx: impl Fn(&mut T) -> &mut WasiCtx,
    call: impl FnOnce(&mut WasiCtx, &mut GuestMemory<'_>) -> wiggle::error::Result<R>,
) -> Result<R> {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
        return Err(anyhow!(
            "WASI needs the calling module to export its linear memory as `memory`"
        ));
    };
    let (bytes, data) = memory.data_and_store_mut(caller);
    let mut guest = GuestMemory::Unshared(bytes);
    call(ctx(data), &mut guest).map_err(|error| match error.downcast::<I32Exit>() {
        Ok(exit) => anyhow::Error::new(exit),
        Err(error) => anyhow!("{error:#}"),
    })
}

/// Defines every `wasi_snapshot_preview1` import in `linker`; `ctx` finds
/// the [`WasiCtx`] in a store's data.
pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    ctx: impl Fn(&mut T) -> &mut WasiCtx + Copy + Send + Sync + 'static,
) -> Result<()> {
    // Each import with its wasm parameters, in the order of the witx
    // definition; all of them return an errno.
    macro_rules! imports {
        ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
            linker.func_wrap(
                MODULE,
                stringify!($name),
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> Result<i32> {
                    with_memory(&mut caller, ctx, |wasi, memory| {
                        wiggle::run_in_dummy_executor(abi::$name(wasi, memory, $($arg),*))?
                    })
                },
            )?;
        )*};
    }
    imports! {
        args_get(argv: i32, buf: i32);
        args_sizes_get(count: i32, size: i32);
        environ_get(environ: i32, buf: i32);
        environ_sizes_get(count: i32, size: i32);
        clock_res_get(id: i32, out: i32);
        clock_time_get(id: i32, precision: i64, out: i32);
        fd_advise(fd: i32, offset: i64, len: i64, advice: i32);
        fd_allocate(fd: i32, offset: i64, len: i64);
        fd_close(fd: i32);
        fd_datasync(fd: i32);
        fd_fdstat_get(fd: i32, out: i32);
        fd_fdstat_set_flags(fd: i32, flags: i32);
        fd_fdstat_set_rights(fd: i32, base: i64, inheriting: i64);
        fd_filestat_get(fd: i32, out: i32);
        fd_filestat_set_size(fd: i32, size: i64);
        fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, flags: i32);
        fd_pread(fd: i32, iovs: i32, iovs_len: i32, offset: i64, out: i32);
        fd_prestat_get(fd: i32, out: i32);
        fd_prestat_dir_name(fd: i32, path: i32, path_len: i32);
        fd_pwrite(fd: i32, iovs: i32, iovs_len: i32, offset: i64, out: i32);
        fd_read(fd: i32, iovs: i32, iovs_len: i32, out: i32);
        fd_readdir(fd: i32, buf: i32, buf_len: i32, cookie: i64, out: i32);
        fd_renumber(fd: i32, to: i32);
        fd_seek(fd: i32, offset: i64, whence: i32, out: i32);
        fd_sync(fd: i32);
        fd_tell(fd: i32, out: i32);
        fd_write(fd: i32, iovs: i32, iovs_len: i32, out: i32);
        path_create_directory(fd: i32, path: i32, path_len: i32);
        path_filestat_get(fd: i32, flags: i32, path: i32, path_len: i32, out: i32);
        path_filestat_set_times(
            fd: i32, flags: i32, path: i32, path_len: i32, atim: i64, mtim: i64, fst: i32
        );
        path_link(
            old_fd: i32, old_flags: i32, old_path: i32, old_len: i32,
            new_fd: i32, new_path: i32, new_len: i32
        );
        path_open(
            fd: i32, dirflags: i32, path: i32, path_len: i32, oflags: i32,
            base: i64, inheriting: i64, fdflags: i32, out: i32
        );
        path_readlink(fd: i32, path: i32, path_len: i32, buf: i32, buf_len: i32, out: i32);
        path_remove_directory(fd: i32, path: i32, path_len: i32);
        path_rename(
            fd: i32, old_path: i32, old_len: i32, new_fd: i32, new_path: i32, new_len: i32
        );
        path_symlink(old_path: i32, old_len: i32, fd: i32, new_path: i32, new_len: i32);
        path_unlink_file(fd: i32, path: i32, path_len: i32);
        poll_oneoff(subscriptions: i32, events: i32, count: i32, out: i32);
        proc_raise(signal: i32);
        sched_yield();
        random_get(buf: i32, buf_len: i32);
        sock_accept(fd: i32, flags: i32, out: i32);
        sock_recv(
            fd: i32, iovs: i32, iovs_len: i32, flags: i32, out_len: i32, out_flags: i32
        );
        sock_send(fd: i32, iovs: i32, iovs_len: i32, flags: i32, out: i32);
        sock_shutdown(fd: i32, how: i32);
    }
    // `proc_exit` returns nothing: wasi-common reports the exit as an error
    // carrying `I32Exit`, which reaches the embedder through the call into
    // wasm.
    linker.func_wrap(
        MODULE,
        "proc_exit",
        move |mut caller: Caller<'_, T>, code: i32| -> Result<()> {
            with_memory(&mut caller, ctx, |wasi, memory| {
                wiggle::run_in_dummy_executor(abi::proc_exit(wasi, memory, code))?
            })
        },
    )?;
    Ok(())
}
