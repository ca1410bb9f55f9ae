//! [`Engine`]: the compiler, the canonical type registry and the
//! trampolines, shared by every module and store made from it.

use crate::Config;
use crate::cache::{Cache, CacheStats};
use crate::profiling::Profiler;
use anyhow::{Context, Result};
use fxtime_cranelift::{Compiled, Compiler};
use fxtime_environ::{EhFrame, FeatureSet, FuncType, ModuleInfo, WasmError};
use fxtime_runtime::code::{CodeKind, CodeObject, LinkedCode, MappedCode, link};
use fxtime_runtime::epoch::EpochState;
use fxtime_runtime::types::TypeRegistry;
use fxtime_runtime::{FiberStack, StackPool};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

/// The entry trampoline's signature: `(callee_vmctx, caller_vmctx, code,
/// values)`.
pub(crate) type EntryTrampoline = unsafe extern "C" fn(*mut u8, *mut u8, *const u8, *mut u8);

/// Compiles and runs WebAssembly. Cheap to clone (shared), `Send + Sync`.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    compiler: Compiler,
    features: FeatureSet,
    max_wasm_stack: usize,
    continuation_stack_size: usize,
    max_continuation_depth: u64,
    gc_stress: bool,
    gc_heap_max: usize,
    types: Arc<TypeRegistry>,
    /// Read on every call from the host; written when types are new.
    trampolines: RwLock<Trampolines>,
    profiler: Profiler,
    debug_info: bool,
    /// Compiled modules kept on disk (`Config::cache`).
    cache: Option<Cache>,
    /// The epoch: stores' deadlines are counted in it.
    epoch: AtomicU64,
    /// The epoch states of the stores (with `Config::epoch_interruption`),
    /// whose interrupt words `increment_epoch` raises at their deadlines.
    epoch_stores: Mutex<Vec<Weak<EpochState>>>,
    /// The stacks of async calls (`Config::async_support`), if enabled.
    async_stacks: Option<Mutex<AsyncStacks>>,
}

/// Stacks for async calls, shared by the engine's stores: a store per task
/// is the usual shape of an async embedding, so a pool per store would map
/// a chunk of stacks per task.
struct AsyncStacks {
    pool: StackPool,
    /// Stacks handed out and not given back.
    in_use: usize,
    /// Stacks given back, reused last in first out (the warmest first).
    free: Vec<FiberStack>,
}

#[derive(Default)]
struct Trampolines {
    /// Canonical type id to (entry, host) trampoline addresses.
    by_type: HashMap<u32, (usize, usize)>,
    /// The code the addresses point into.
    code: Vec<Arc<CodeObject>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("features", &self.inner.features)
            .finish_non_exhaustive()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}

impl Engine {
    /// An engine for `config`. Fails when the configuration enables a
    /// feature fxtime does not implement, or on an unsupported host.
    pub fn new(config: &Config) -> Result<Engine> {
        let features = config.features()?;
        let compiler = Compiler::new(config.codegen)?;
        Ok(Engine {
            inner: Arc::new(EngineInner {
                compiler,
                features,
                max_wasm_stack: config.max_wasm_stack,
                continuation_stack_size: config.continuation_stack_size,
                max_continuation_depth: config.max_continuation_depth,
                gc_stress: config.gc_stress,
                gc_heap_max: config.gc_heap_max,
                types: Arc::new(TypeRegistry::default()),
                trampolines: RwLock::new(Trampolines::default()),
                profiler: Profiler::new(config.profiling)?,
                debug_info: config.debug_info,
                cache: config.cache.clone().map(Cache::new),
                epoch: AtomicU64::new(0),
                epoch_stores: Mutex::default(),
                async_stacks: config.async_support.then(|| {
                    let size = config
                        .async_stack_size
                        .max(config.max_wasm_stack + 64 * 1024);
                    Mutex::new(AsyncStacks {
                        pool: StackPool::new(size),
                        in_use: 0,
                        free: Vec::new(),
                    })
                }),
            }),
        })
    }

    /// The precompiled form of a module in binary or text format, for
    /// [`Module::deserialize`](crate::Module::deserialize), compiled
    /// without loading it.
    pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let wasm = wat::parse_bytes(bytes)?;
        let (_, linked, eh_frame) =
            crate::module::compile_code(self, &wasm).map_err(anyhow::Error::new)?;
        crate::precompiled::write(self, &wasm, &linked, &eh_frame)
    }

    /// What the compilation cache (`Config::cache`) did so far; all zero
    /// without a cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner
            .cache
            .as_ref()
            .map(Cache::stats)
            .unwrap_or_default()
    }

    pub(crate) fn cache(&self) -> Option<&Cache> {
        self.inner.cache.as_ref()
    }

    /// Whether two handles are the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// Advances the epoch by one. Callable from any thread (not from a
    /// signal handler: it takes a lock); wasm of every store of this
    /// engine whose deadline is reached then stops at its next loop header
    /// or function entry (with `Config::epoch_interruption`). Costs a pass
    /// over the engine's live stores.
    pub fn increment_epoch(&self) {
        let now = self.inner.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        self.epoch_stores().retain(|store| match store.upgrade() {
            Some(state) => {
                if now >= state.deadline() {
                    state.raise();
                }
                true
            }
            None => false,
        });
    }

    /// The epoch counter, for stores.
    pub(crate) fn epoch_counter(&self) -> &AtomicU64 {
        &self.inner.epoch
    }

    /// Makes `increment_epoch` watch a store's deadline.
    pub(crate) fn watch_epoch(&self, state: &Arc<EpochState>) {
        if !self.codegen().epoch_interruption {
            return;
        }
        let mut stores = self.epoch_stores();
        // Dropped stores leave dead entries, which `increment_epoch` also
        // sweeps; sweeping when the list is full keeps it within twice the
        // live stores at a constant cost per store, with or without epochs.
        if stores.len() == stores.capacity() {
            stores.retain(|store| store.strong_count() > 0);
        }
        stores.push(Arc::downgrade(state));
    }

    fn epoch_stores(&self) -> MutexGuard<'_, Vec<Weak<EpochState>>> {
        // A panic while the lock was held left the list itself intact.
        self.inner
            .epoch_stores
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether async calls are enabled (`Config::async_support`).
    pub(crate) fn async_support(&self) -> bool {
        self.inner.async_stacks.is_some()
    }

    /// A stack for an async call.
    pub(crate) fn take_async_stack(&self) -> Result<FiberStack> {
        let Some(stacks) = &self.inner.async_stacks else {
            anyhow::bail!("async calls need an engine with Config::async_support");
        };
        let mut stacks = stacks.lock().unwrap_or_else(|p| p.into_inner());
        let stack = match stacks.free.pop() {
            Some(stack) => stack,
            None => stacks
                .pool
                .allocate()
                .context("cannot map a stack for an async call")?,
        };
        stacks.in_use += 1;
        Ok(stack)
    }

    /// Gives back a stack of [`Engine::take_async_stack`] that nothing runs
    /// on any more.
    pub(crate) fn give_back_async_stack(&self, stack: FiberStack) {
        if let Some(stacks) = &self.inner.async_stacks {
            let mut stacks = stacks.lock().unwrap_or_else(|p| p.into_inner());
            stacks.in_use -= 1;
            stacks.free.push(stack);
        }
    }

    /// How many stacks async calls hold now: one per call that has started
    /// and not yet completed or been dropped (0 without
    /// `Config::async_support`).
    pub fn async_stacks_in_use(&self) -> usize {
        self.inner.async_stacks.as_ref().map_or(0, |stacks| {
            stacks.lock().unwrap_or_else(|p| p.into_inner()).in_use
        })
    }

    pub(crate) fn codegen(&self) -> fxtime_cranelift::CodegenOptions {
        self.inner.compiler.options()
    }

    pub(crate) fn compiler(&self) -> &Compiler {
        &self.inner.compiler
    }

    pub(crate) fn features(&self) -> &FeatureSet {
        &self.inner.features
    }

    pub(crate) fn gc_stress(&self) -> bool {
        self.inner.gc_stress
    }

    pub(crate) fn gc_heap_max(&self) -> usize {
        self.inner.gc_heap_max
    }

    pub(crate) fn max_continuation_depth(&self) -> u64 {
        self.inner.max_continuation_depth
    }

    pub(crate) fn continuation_stack_size(&self) -> usize {
        self.inner.continuation_stack_size
    }

    pub(crate) fn max_wasm_stack(&self) -> usize {
        self.inner.max_wasm_stack
    }

    /// Links compiled functions at offsets from an unknown base, with
    /// their `.eh_frame` (see [`link`]).
    pub(crate) fn link(
        &self,
        compiled: Vec<Compiled>,
        num_imported: usize,
    ) -> Result<(LinkedCode, EhFrame), WasmError> {
        let (functions, unwind): (Vec<_>, Vec<_>) =
            compiled.into_iter().map(|c| (c.function, c.unwind)).unzip();
        let linked =
            link(&functions, num_imported).map_err(|e| WasmError::Bug(format!("linking: {e}")))?;
        let placed: Vec<_> = unwind
            .iter()
            .zip(&linked.tables.functions)
            .map(|(info, range)| (info, range.start))
            .collect();
        let eh_frame = self.compiler().build_eh_frame(&placed)?;
        Ok((linked, eh_frame))
    }

    /// Places linked code in executable memory (see [`CodeObject::load`])
    /// and makes it known: its
    /// unwind information to the system unwinder, its symbols to the
    /// configured profiler (and to gdb with `Config::debug_info`).
    pub(crate) fn load_code(
        &self,
        linked: LinkedCode,
        mapped: Option<MappedCode>,
        eh_frame: EhFrame,
        kind: CodeKind,
        module: Option<Arc<ModuleInfo>>,
    ) -> Result<Arc<CodeObject>, WasmError> {
        let code = CodeObject::load(linked, mapped, eh_frame, kind, module)
            .map_err(|e| WasmError::Limit(format!("code memory: {e}")))?;
        code.register_unwind_info();
        if self.inner.debug_info {
            code.register_with_gdb();
        }
        self.inner.profiler.register(&code);
        Ok(code)
    }

    pub(crate) fn types(&self) -> &TypeRegistry {
        &self.inner.types
    }

    pub(crate) fn types_arc(&self) -> Arc<TypeRegistry> {
        self.inner.types.clone()
    }

    /// Registers `ty` and makes sure its trampolines exist.
    pub(crate) fn register_type(&self, ty: &FuncType) -> Result<u32> {
        let id = self.inner.types.register_func(ty);
        self.ensure_trampolines(&[id])?;
        Ok(id)
    }

    /// Compiles the trampolines of the given canonical types that do not
    /// exist yet, as one batch (types other than functions need none).
    pub(crate) fn ensure_trampolines(&self, ids: &[u32]) -> Result<()> {
        let mut trampolines = self.write();
        let mut missing: Vec<u32> = ids
            .iter()
            .copied()
            .filter(|id| !trampolines.by_type.contains_key(id))
            .filter(|id| self.inner.types.func_type(*id).is_some())
            .collect();
        missing.sort_unstable();
        missing.dedup();
        if missing.is_empty() {
            return Ok(());
        }
        let (mut entries, mut hosts) = (Vec::new(), Vec::new());
        for id in &missing {
            let ty = self
                .inner
                .types
                .func_type(*id)
                .context("unregistered type")?;
            entries.push(self.compiler().compile_entry_trampoline(&ty)?);
            hosts.push(self.compiler().compile_host_trampoline(&ty)?);
        }
        let load = |compiled, kind| {
            let (linked, eh_frame) = self.link(compiled, 0)?;
            self.load_code(linked, None, eh_frame, kind, None)
        };
        let entry_code = load(entries, CodeKind::EntryTrampolines)?;
        let host_code = load(hosts, CodeKind::HostTrampolines)?;
        for (i, id) in missing.into_iter().enumerate() {
            let entry = entry_code.function(i) as usize;
            let host = host_code.function(i) as usize;
            trampolines.by_type.insert(id, (entry, host));
        }
        trampolines.code.push(entry_code);
        trampolines.code.push(host_code);
        Ok(())
    }

    /// The entry trampoline of canonical type `id`.
    pub(crate) fn entry_trampoline(&self, id: u32) -> Result<EntryTrampoline> {
        let (entry, _) = self.trampolines_of(id)?;
        // SAFETY: the address is the start of a compiled entry trampoline,
        // which has exactly this signature and lives as long as the engine.
        Ok(unsafe { std::mem::transmute::<usize, EntryTrampoline>(entry) })
    }

    /// The host trampoline of canonical type `id`.
    pub(crate) fn host_trampoline(&self, id: u32) -> Result<*const u8> {
        Ok(self.trampolines_of(id)?.1 as *const u8)
    }

    fn trampolines_of(&self, id: u32) -> Result<(usize, usize)> {
        if let Some(t) = self.read().by_type.get(&id) {
            return Ok(*t);
        }
        self.ensure_trampolines(&[id])?;
        self.read()
            .by_type
            .get(&id)
            .copied()
            .context("trampoline missing after compilation")
    }

    fn read(&self) -> RwLockReadGuard<'_, Trampolines> {
        self.inner
            .trampolines
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Trampolines> {
        self.inner
            .trampolines
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_shareable() {
        assert_send_sync::<Engine>();
    }
}
