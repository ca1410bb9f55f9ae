//! fxtime: a WebAssembly runtime that compiles to native code with
//! Cranelift.
//!
//! The embedding API follows Wasmtime's shape:
//!
//! ```
//! use fxtime::{Engine, Linker, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"
//!     (module
//!       (import "host" "double" (func $double (param i32) (result i32)))
//!       (func (export "run") (param i32) (result i32)
//!         (call $double (i32.add (local.get 0) (i32.const 1)))))
//! "#)?;
//! let mut store = Store::new(&engine, ());
//! let mut linker = Linker::new(&engine);
//! linker.func_wrap("host", "double", |x: i32| x * 2)?;
//! let instance = linker.instantiate(&mut store, &module)?;
//! let run = instance.get_typed_func::<i32, i32>(&store, "run")?;
//! assert_eq!(run.call(&mut store, 20)?, 42);
//! # anyhow::Ok(())
//! ```
//!
//! - [`Config`] and [`Engine`]: features, the compiler, shared state.
//! - [`Module`]: a validated, compiled module.
//! - [`Store`]: owns instances and everything they create; host data `T`.
//! - [`Linker`], [`Instance`]: imports by name, instantiation, exports.
//! - [`Func`], [`TypedFunc`], [`Caller`]: calls in both directions.
//! - [`Memory`], [`Table`], [`Global`], [`Val`]: the rest of the objects.
//! - [`Trap`], [`WasmBacktrace`]: how traps reach the host.
//! - [`ContRef::resume`]: the host as a handler of stack switching.
//! - [`Func::call_async`], [`Linker::func_wrap_async`]: async calls (with
//!   [`Config::async_support`]), wasm waiting on host futures.

#![deny(missing_docs)]

mod async_call;
mod cache;
mod config;
mod engine;
mod exception;
mod externals;
mod func;
mod gc_objects;
mod host_handler;
mod instance;
mod limits;
mod linker;
mod module;
mod precompiled;
mod profiling;
mod store;
mod store_hooks;
mod trap;
mod values;

pub use config::{Config, DEFAULT_ASYNC_STACK_SIZE};
pub use engine::Engine;
pub use exception::{Tag, ThrownException};
pub use externals::{Extern, Global, Memory, Table};
pub use func::{Caller, Func, IntoFunc, TypedFunc, WasmParams, WasmResults, WasmRet, WasmTy};
pub use fxtime_environ::{
    FieldType, FuncType, GlobalType, HeapType, IndexType, Limits, MemoryType, Mutability, RefType,
    StorageType, TableType, TrapKind, TypeRef, WasmError, WasmValType as ValType,
};
pub use fxtime_runtime::code::FrameInfo;
pub use gc_objects::{ArrayRef, ArrayType, StructRef, StructType};
pub use host_handler::{ContResumed, Suspension};
pub use instance::Instance;
pub use limits::{
    DEFAULT_INSTANCE_LIMIT, DEFAULT_MEMORY_LIMIT, DEFAULT_TABLE_LIMIT, ResourceLimiter,
    StoreLimits, StoreLimitsBuilder,
};
pub use linker::Linker;
pub use module::{ExternType, Module};
pub use profiling::ProfilingStrategy;
pub use store::{AsContext, AsContextMut, RootScope, Store, StoreContext, StoreContextMut};
pub use store_hooks::UpdateDeadline;
pub use trap::{Trap, WasmBacktrace};
pub use values::{AnyRef, ContRef, ExnRef, ExternRef, I31, Val};

/// Errors of the API (`anyhow`'s).
pub use anyhow::{Error, Result};
pub use cache::CacheStats;

/// fxtime's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
