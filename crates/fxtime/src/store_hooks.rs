//! How a store keeps guest code in bounds: fuel, the epoch deadline and a
//! resource limiter, and the runtime's way back to them while wasm runs
//! (`StoreHooks`, implemented here because only the API knows the host
//! data's type).

use crate::Store;
use crate::limits::ResourceLimiter;
use crate::store::{StoreContextMut, StoreInner};
use anyhow::{Result, bail};
use fxtime_runtime::continuations::ContinuationLimits;
use fxtime_runtime::store::{CheckVerdict, GrowVerdict, Growable, StoreHooks, limiter_size};

/// Gives the limiter out of the host data.
pub(crate) type LimiterFn<T> = Box<dyn (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync>;

/// The callback run when the epoch deadline is reached.
type DeadlineCallback<T> =
    Box<dyn FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync>;

/// What reaching the epoch deadline does.
pub(crate) enum EpochDeadline<T> {
    /// Trap "interrupt".
    Trap,
    /// Ask the callback.
    Callback(DeadlineCallback<T>),
    /// Yield to the executor, then go on with the deadline this many
    /// epochs later.
    Yield(u64),
}

/// What an epoch deadline callback decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateDeadline {
    /// Go on running, with the deadline this many epochs after the one at
    /// which the deadline was reached.
    Continue(u64),
    /// Suspend an async call (see [`crate::Func::call_async`]) to let the
    /// executor run other tasks, then go on, with the deadline set as for
    /// `Continue`. Outside an async call this traps.
    Yield(u64),
}

impl<T> Store<T> {
    /// Sets the fuel the store's wasm may still consume (with
    /// `Config::consume_fuel`).
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        let inner = self.inner_mut();
        if !inner.engine.codegen().consume_fuel {
            bail!("fuel is not configured in this store (Config::consume_fuel)");
        }
        inner
            .opaque
            .set_fuel(i64::try_from(fuel).unwrap_or(i64::MAX));
        Ok(())
    }

    /// The fuel left (0 once wasm trapped for the lack of it).
    pub fn get_fuel(&self) -> Result<u64> {
        let inner: &StoreInner<T> = crate::AsContext::as_context(self).0;
        if !inner.engine.codegen().consume_fuel {
            bail!("fuel is not configured in this store (Config::consume_fuel)");
        }
        Ok(u64::try_from(inner.opaque.fuel()).unwrap_or(0))
    }

    /// Sets the epoch deadline `delta` epochs after the engine's current
    /// one (with `Config::epoch_interruption`; until set, there is none).
    pub fn set_epoch_deadline(&mut self, delta: u64) {
        self.inner_mut().opaque.set_epoch_deadline(delta);
    }

    /// Reaching the deadline traps "interrupt" (the default).
    pub fn epoch_deadline_trap(&mut self) {
        self.inner_mut().epoch_deadline = EpochDeadline::Trap;
    }
}

impl<T: 'static> Store<T> {
    /// Makes an async call yield to the executor every `interval` units of
    /// fuel (with `Config::consume_fuel`; `None` or 0: never): wasm gets
    /// that much at a time and is refuelled from the rest of the store's
    /// fuel, yielding each time, until all of it is consumed. Outside an
    /// async call it just goes on. [`Store::get_fuel`] still counts all of
    /// it, and [`Store::set_fuel`] sets all of it.
    pub fn fuel_async_yield_interval(&mut self, interval: Option<u64>) -> Result<()> {
        let inner = self.inner_mut();
        if !inner.engine.codegen().consume_fuel {
            bail!("fuel is not configured in this store (Config::consume_fuel)");
        }
        inner.opaque.set_fuel_yield_interval(interval.unwrap_or(0));
        inner.install_hooks();
        Ok(())
    }

    /// Reaching the deadline in an async call yields to the executor (the
    /// call's future returns `Pending` once, its task woken at once), then
    /// wasm goes on with the deadline `delta` epochs after the one at which
    /// it yielded: long-running wasm shares its thread with other tasks
    /// instead of trapping. Outside an async call, reaching it traps.
    pub fn epoch_deadline_async_yield_and_update(&mut self, delta: u64) {
        let inner = self.inner_mut();
        inner.epoch_deadline = EpochDeadline::Yield(delta);
        inner.install_hooks();
    }

    /// Reaching the deadline runs `callback`, which either lets wasm go on
    /// with a new deadline or fails, trapping with its error.
    pub fn epoch_deadline_callback(
        &mut self,
        callback: impl FnMut(StoreContextMut<'_, T>) -> Result<UpdateDeadline> + Send + Sync + 'static,
    ) {
        let inner = self.inner_mut();
        inner.epoch_deadline = EpochDeadline::Callback(Box::new(callback));
        inner.install_hooks();
    }

    /// Makes `limiter` (which finds the limiter in the host data) rule the
    /// store's memories, tables, instances and continuations. The limits on
    /// continuations are read now.
    pub fn limiter(
        &mut self,
        mut limiter: impl (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync + 'static,
    ) {
        let inner = self.inner_mut();
        let limits = {
            let limiter = limiter(&mut inner.data);
            ContinuationLimits {
                count: limiter.continuations(),
                stack_bytes: limiter.continuation_stack_bytes(),
            }
        };
        inner.opaque.continuations().set_limits(limits);
        inner.limiter = Some(Box::new(limiter));
        inner.install_hooks();
    }
}

impl<T: 'static> StoreInner<T> {
    fn install_hooks(&mut self) {
        let hooks: *mut dyn StoreHooks = self as *mut StoreInner<T>;
        // SAFETY: the store is boxed (`Store::inner`), so this address is
        // stable for its life, and the runtime only uses the hooks from
        // builtins, while wasm runs and holds no borrow of the store.
        unsafe { self.opaque.set_hooks(hooks) };
    }

    /// The limiter's verdict, its error kept for the call.
    fn verdict(&mut self, decision: Result<bool>) -> GrowVerdict {
        match decision {
            Ok(true) => GrowVerdict::Allow,
            Ok(false) => GrowVerdict::Deny,
            Err(error) => {
                self.host.pending_error = Some(error);
                GrowVerdict::Trap
            }
        }
    }
}

impl<T> StoreInner<T> {
    /// Checks the instance, memory and table counts that creating
    /// `instances` instances (0 or 1) with `memories` and `tables` would
    /// reach, and their initial sizes: for instantiation, and for memories
    /// and tables the host creates.
    pub(crate) fn check_new(
        &mut self,
        instances: usize,
        memories: &[fxtime_environ::MemoryType],
        tables: &[fxtime_environ::TableType],
    ) -> Result<()> {
        let Some(get) = self.limiter.as_mut() else {
            return Ok(());
        };
        let limiter = get(&mut self.data);
        let (instance_count, memory_count, table_count) = self.opaque.counts();
        if instance_count + instances > limiter.instances() {
            bail!(
                "instance count exceeds the store's limit of {}",
                limiter.instances()
            );
        }
        if memory_count + memories.len() > limiter.memories() {
            bail!(
                "memory count exceeds the store's limit of {}",
                limiter.memories()
            );
        }
        if table_count + tables.len() > limiter.tables() {
            bail!(
                "table count exceeds the store's limit of {}",
                limiter.tables()
            );
        }
        let page = fxtime_environ::vm::WASM_PAGE_SIZE;
        for ty in memories {
            let (min, max) = (
                limiter_size(ty.limits.min, page),
                ty.limits.max.map(|m| limiter_size(m, page)),
            );
            if !limiter.memory_growing(0, min, max)? {
                bail!("memory minimum of {min} bytes exceeds the store's limit");
            }
        }
        for ty in tables {
            let (min, max) = (
                limiter_size(ty.limits.min, 1),
                ty.limits.max.map(|m| limiter_size(m, 1)),
            );
            if !limiter.table_growing(0, min, max)? {
                bail!("table minimum of {min} elements exceeds the store's limit");
            }
        }
        Ok(())
    }
}

impl<T: 'static> StoreHooks for StoreInner<T> {
    fn growing(
        &mut self,
        what: Growable,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> GrowVerdict {
        let Some(get) = self.limiter.as_mut() else {
            return GrowVerdict::Allow;
        };
        let limiter = get(&mut self.data);
        let decision = match what {
            Growable::Memory => limiter.memory_growing(current, desired, maximum),
            Growable::Table => limiter.table_growing(current, desired, maximum),
        };
        self.verdict(decision)
    }

    fn grow_failed(&mut self, what: Growable) -> bool {
        let Some(get) = self.limiter.as_mut() else {
            return false;
        };
        let limiter = get(&mut self.data);
        let outcome = match what {
            Growable::Memory => limiter.memory_grow_failed(),
            Growable::Table => limiter.table_grow_failed(),
        };
        match outcome {
            Ok(()) => false,
            Err(error) => {
                self.host.pending_error = Some(error);
                true
            }
        }
    }

    fn epoch_deadline(&mut self) -> CheckVerdict {
        let mut behaviour = std::mem::replace(&mut self.epoch_deadline, EpochDeadline::Trap);
        let decision = match &mut behaviour {
            EpochDeadline::Trap => Ok(None),
            EpochDeadline::Callback(callback) => callback(StoreContextMut(self)).map(Some),
            EpochDeadline::Yield(delta) => Ok(Some(UpdateDeadline::Yield(*delta))),
        };
        let verdict = match decision.and_then(|update| {
            if let Some(UpdateDeadline::Yield(_)) = update {
                crate::async_call::yield_now()?;
            }
            Ok(update)
        }) {
            Ok(None) => CheckVerdict::Trap,
            Ok(Some(UpdateDeadline::Continue(delta) | UpdateDeadline::Yield(delta))) => {
                CheckVerdict::Continue(delta)
            }
            Err(error) => {
                self.host.pending_error = Some(error);
                CheckVerdict::Error
            }
        };
        self.epoch_deadline = behaviour;
        verdict
    }

    fn refuelled(&mut self) -> bool {
        if !fxtime_runtime::fiber::on_fiber() {
            return true;
        }
        match crate::async_call::yield_now() {
            Ok(()) => true,
            Err(error) => {
                self.host.pending_error = Some(error);
                false
            }
        }
    }
}
