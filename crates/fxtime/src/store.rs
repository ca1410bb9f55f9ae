//! [`Store`]: the owner of instances and everything they create, plus the
//! host's data `T`.

use crate::Engine;
use fxtime_runtime::store::StoreOpaque;
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies a store, so handles can check they are used with theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    fn fresh() -> StoreId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// All wasm state (instances, memories, tables, globals, host functions)
/// of one unit of work, and the host's data `T`. Dropped as a whole.
pub struct Store<T> {
    inner: Box<StoreInner<T>>,
}

/// What a store holds; boxed so host functions can point back to it.
pub struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) engine: Engine,
    pub(crate) id: StoreId,
    pub(crate) host: HostState,
    pub(crate) data: T,
    /// The resource limiter, from the host data (`Store::limiter`).
    pub(crate) limiter: Option<crate::store_hooks::LimiterFn<T>>,
    /// What reaching the epoch deadline does (`Store::epoch_deadline_*`).
    pub(crate) epoch_deadline: crate::store_hooks::EpochDeadline<T>,
}

/// Host-side objects of a store.
#[derive(Default)]
pub(crate) struct HostState {
    /// Contexts of host functions (each a `HostFuncContext<T>`).
    pub(crate) funcs: Vec<Box<dyn Any + Send>>,
    /// Host function instances per linker definition, so one definition
    /// gives one function per store. Keyed by the definition's address; the
    /// entry keeps the definition alive so that the address cannot be
    /// reused by another definition while the entry exists.
    pub(crate) func_cache: HashMap<usize, (Arc<dyn Any + Send + Sync>, usize)>,
    /// The error of the host function that failed, until the call that
    /// entered wasm returns it.
    pub(crate) pending_error: Option<anyhow::Error>,
    /// The panic of a host function, resumed once wasm is left.
    pub(crate) pending_panic: Option<Box<dyn Any + Send>>,
    /// Types of host resumes (`ContRef::resume`).
    pub(crate) resume_types: crate::host_handler::ResumeTypes,
}

impl<T> Store<T> {
    /// An empty store for `engine`, holding `data`.
    pub fn new(engine: &Engine, data: T) -> Store<T> {
        let mut opaque = StoreOpaque::new();
        opaque.set_type_registry(engine.types_arc());
        opaque.set_gc_heap_max(engine.gc_heap_max());
        opaque.gc_mut().set_stress(engine.gc_stress());
        opaque.set_continuation_stack_size(engine.continuation_stack_size());
        opaque.set_max_continuation_depth(engine.max_continuation_depth());
        // SAFETY: the store keeps its engine, and so the counter, alive.
        unsafe { opaque.set_epoch_counter(engine.epoch_counter()) };
        engine.watch_epoch(opaque.epoch_state());
        let mut inner = Box::new(StoreInner {
            opaque,
            engine: engine.clone(),
            id: StoreId::fresh(),
            host: HostState::default(),
            data,
            limiter: None,
            epoch_deadline: crate::store_hooks::EpochDeadline::Trap,
        });
        // Boxed: the store keeps this address for good.
        inner.opaque.pin_owner();
        Store { inner }
    }

    /// Runs a garbage collection now: every GC object (struct, array,
    /// host value held as an `externref`) that nothing reaches any more
    /// is freed, and the host data of freed `externref`s is dropped.
    pub fn gc(&mut self) {
        self.inner.opaque.collect_garbage(true);
    }

    /// Garbage collections so far.
    pub fn gc_collections(&self) -> u64 {
        self.inner.opaque.gc().collections()
    }

    /// Bytes of the GC heap's blocks in use.
    pub fn gc_heap_bytes(&self) -> usize {
        self.inner.opaque.gc().bytes_used()
    }

    /// Number of continuations holding a stack: created and not yet
    /// returned, thrown out of, or abandoned by a trap. Without a collector,
    /// a suspended continuation nobody resumes counts until the store is
    /// dropped.
    pub fn live_continuations(&self) -> usize {
        self.inner.opaque.live_continuations()
    }

    pub(crate) fn inner_mut(&mut self) -> &mut StoreInner<T> {
        &mut self.inner
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The host data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Consumes the store, returning the host data.
    pub fn into_data(self) -> T {
        self.inner.data
    }
}

impl<T> StoreInner<T> {
    /// Fails unless `id` is this store's.
    pub(crate) fn check(&self, id: StoreId) -> anyhow::Result<()> {
        if id != self.id {
            anyhow::bail!("object used with a store it does not belong to");
        }
        Ok(())
    }
}

/// A shared borrow of a store.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }
}

/// A scope for the GC references the host gets while it lasts (results of
/// calls, values read from globals and tables, new `externref`s): they
/// keep their objects alive until the scope ends, and are refused with an
/// error after. Without one, such references live as long as the store
/// (a host function is a scope of its own for what it is given and
/// makes). A long-running host loop that handles references should run
/// each round in a scope, or its references pile up.
pub struct RootScope<C: AsContextMut> {
    store: C,
    len: usize,
}

impl<C: AsContextMut> RootScope<C> {
    /// A scope over `store` (a `&mut Store`, a `Caller`, another scope).
    pub fn new(mut store: C) -> RootScope<C> {
        let len = store.as_context_mut().0.opaque.host_roots_len();
        RootScope { store, len }
    }
}

impl<C: AsContextMut> Drop for RootScope<C> {
    fn drop(&mut self) {
        self.store
            .as_context_mut()
            .0
            .opaque
            .truncate_host_roots(self.len);
    }
}

impl<C: AsContextMut> AsContext for RootScope<C> {
    type Data = C::Data;
    fn as_context(&self) -> StoreContext<'_, C::Data> {
        self.store.as_context()
    }
}

impl<C: AsContextMut> AsContextMut for RootScope<C> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, C::Data> {
        self.store.as_context_mut()
    }
}

/// Things that give shared access to a store: `Store`, `Caller` and
/// references to them.
pub trait AsContext {
    /// The host data type.
    type Data;
    /// The store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Things that give exclusive access to a store.
pub trait AsContextMut: AsContext {
    /// The store, mutably.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<S: AsContext + ?Sized> AsContext for &S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContext + ?Sized> AsContext for &mut S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, S::Data> {
        (**self).as_context_mut()
    }
}
