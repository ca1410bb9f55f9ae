//! The runtime side of a store: everything its instances own, and the
//! `VMStoreContext` generated code reads.

use crate::continuations::{AllocationError, Continuations, MIN_COLLECTION_LIVE};
use crate::epoch::EpochState;
use crate::gc::{self, GcHeap, HostData, Traced};
use crate::instance::{Imports, Instance, InstantiationError, RuntimeModule};
use crate::libcalls::builtins;
use crate::memory::LinearMemory;
use crate::table::Table;
use crate::types::TypeRegistry;

mod roots;

use fxtime_environ::gc::{
    ARRAY_DATA_OFFSET, ARRAY_LENGTH_OFFSET, EXTERN_OBJECT_SIZE, GcKind, NO_TYPE_ID, StructLayout,
    VMGcHeader, array_size, storage_size,
};
use fxtime_environ::vm::{
    VAL_RAW_SIZE, VMContRef, VMExceptionHeader, VMFuncRef, VMGlobalDefinition, VMStoreContext,
    VMTagDefinition,
};
use fxtime_environ::{FieldType, StorageType, TableType, WasmValType};
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Owns the instances, memories, tables and host globals of one store.
/// Everything is boxed, so the raw pointers generated code and handles hold
/// stay valid until the store is dropped.
#[derive(Debug)]
#[expect(
    clippy::vec_box,
    reason = "generated code holds pointers to these objects: they must not move when a Vec grows"
)]
pub struct StoreOpaque {
    context: Box<VMStoreContext>,
    instances: Vec<Box<Instance>>,
    memories: Vec<Box<LinearMemory>>,
    tables: Vec<Box<Table>>,
    globals: Vec<Box<VMGlobalDefinition>>,
    tags: Vec<Box<VMTagDefinition>>,
    /// Continuation objects and stacks; the context points here.
    continuations: Box<Continuations>,
    /// Structs, arrays and extern objects; its free lists lie in the
    /// context.
    gc: GcHeap,
    /// The embedder's side of the store, once it asks to be consulted
    /// (a resource limiter, an epoch deadline callback).
    hooks: Option<*mut dyn StoreHooks>,
    /// The epoch deadline, shared with the engine, which raises the
    /// interrupt words of the store's instances.
    epoch: Arc<EpochState>,
    /// The engine's epoch (null until set).
    epoch_counter: *const AtomicU64,
    /// Fuel not yet handed to generated code (see `set_fuel_yield_interval`).
    fuel_reserve: u64,
    /// How much fuel generated code gets at a time (0: all of it).
    fuel_yield_interval: u64,
    /// Per host global: its value type (for the collector).
    global_types: Vec<WasmValType>,
    /// The engine's types, which the collector reads object layouts from.
    types: Option<Arc<TypeRegistry>>,
    /// References the host holds, newest last, each with the serial number
    /// its handle carries (see [`HostRoot`]).
    host_roots: RefCell<Vec<(Traced, u64)>>,
    /// The serial number of the next host root.
    next_root: Cell<u64>,
    /// Operands of an allocation in progress, kept alive across the
    /// collection it may run.
    temporary_roots: Vec<Traced>,
    /// While positive, allocations grow the heap instead of collecting
    /// (constant expressions, whose operands no root holds).
    gc_inhibited: u32,
}

impl Drop for StoreOpaque {
    fn drop(&mut self) {
        // Before the instances, and with them their interrupt words, go.
        self.epoch.forget_words();
    }
}

/// A reference the host holds, kept alive by the store's host roots: its
/// place there and the serial number it was given, so that a handle whose
/// root was let go of is told apart from a newer one at the same place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HostRoot {
    index: usize,
    serial: u64,
}

/// A memory or a table, as a resource limiter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growable {
    /// A linear memory (sizes in bytes).
    Memory,
    /// A table (sizes in elements).
    Table,
}

/// `units` of `unit` bytes (pages, or 1 for table elements) as a size for a
/// limiter, saturating at `usize::MAX`.
pub fn limiter_size(units: u64, unit: u64) -> usize {
    usize::try_from(units.saturating_mul(unit)).unwrap_or(usize::MAX)
}

/// What a limiter says of a growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrowVerdict {
    /// Grow (if the memory or table can).
    Allow,
    /// Fail: `memory.grow` or `table.grow` returns -1.
    Deny,
    /// Trap with the error the embedder keeps for the call.
    Trap,
}

/// What happens when a check of generated code finds the epoch at the
/// store's deadline, or the fuel used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckVerdict {
    /// Go on; at a deadline, with the next this many epochs later.
    Continue(u64),
    /// Trap ("interrupt", "all fuel consumed").
    Trap,
    /// Trap with the error the embedder keeps for the call.
    Error,
}

/// What the runtime asks of the embedder's store while wasm runs. The API's
/// store implements it (it knows the host data's type, the runtime does
/// not) and installs itself with [`StoreOpaque::set_hooks`].
pub trait StoreHooks {
    /// A memory or table wants to grow from `current` to `desired`
    /// (`maximum` from its type).
    fn growing(
        &mut self,
        what: Growable,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> GrowVerdict;

    /// An allowed growth failed (beyond the maximum, or no memory): whether
    /// to trap instead of returning -1.
    fn grow_failed(&mut self, what: Growable) -> bool;

    /// The epoch reached the deadline.
    fn epoch_deadline(&mut self) -> CheckVerdict;

    /// Generated code was refuelled from the reserve (see
    /// [`StoreOpaque::set_fuel_yield_interval`]): the moment for an async
    /// call to yield. False to trap with the error the embedder keeps.
    fn refuelled(&mut self) -> bool;
}

// SAFETY: the context's raw pointers point into this store's own objects
// (its continuations), which move with it between threads; a store is
// never used from two threads at once.
unsafe impl Send for StoreOpaque {}

impl Default for StoreOpaque {
    fn default() -> Self {
        StoreOpaque::new()
    }
}

impl StoreOpaque {
    /// An empty store.
    pub fn new() -> StoreOpaque {
        let mut store = StoreOpaque {
            context: Box::default(),
            instances: Vec::new(),
            memories: Vec::new(),
            tables: Vec::new(),
            globals: Vec::new(),
            tags: Vec::new(),
            continuations: Box::default(),
            gc: GcHeap::default(),
            hooks: None,
            epoch: Arc::default(),
            epoch_counter: std::ptr::null(),
            fuel_reserve: 0,
            fuel_yield_interval: 0,
            global_types: Vec::new(),
            types: None,
            host_roots: RefCell::default(),
            next_root: Cell::new(1),
            temporary_roots: Vec::new(),
            gc_inhibited: 0,
        };
        store.context.continuations = (&mut *store.continuations as *mut Continuations).cast();
        store
    }

    /// Sets the usable size of continuation stacks; only before the first
    /// continuation is created.
    pub fn set_continuation_stack_size(&mut self, bytes: usize) {
        if self.continuations.is_unused() {
            *self.continuations = Continuations::new(bytes);
        }
    }

    /// Sets how deeply `resume`s may nest before trapping "call stack
    /// exhausted".
    pub fn set_max_continuation_depth(&mut self, depth: u64) {
        self.context.max_continuation_depth = depth;
    }

    /// How many instances, memories and tables the store holds.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.instances.len(), self.memories.len(), self.tables.len())
    }

    /// Number of live continuations (fresh, running or suspended).
    pub fn live_continuations(&self) -> usize {
        self.continuations.live()
    }

    /// A fresh continuation for `cont.new` (see
    /// [`Continuations::allocate`]), when no free object is at hand, after
    /// the collection continuations may ask for (`collect_for_continuations`).
    pub fn new_continuation(
        &mut self,
        entry: *const u8,
        func: *const VMFuncRef,
        capacity: usize,
    ) -> Result<*mut VMContRef, AllocationError> {
        self.collect_for_continuations();
        self.continuations.allocate(entry, func, capacity)
    }

    /// A stack for pending continuation `pending` (its reference consumed)
    /// when no free one is at hand (see [`Continuations::take_stack`]):
    /// first a collection if continuations ask for one, as for
    /// [`new_continuation`](Self::new_continuation), which keeps
    /// `pending` and what it holds, although no reference reaches it now.
    /// Without this, a program whose continuations all start pending
    /// would carve stacks for the ones it abandons, never collected.
    ///
    /// # Safety
    ///
    /// `pending` must be a live pending continuation of this store whose
    /// reference was consumed.
    pub unsafe fn take_stack(
        &mut self,
        pending: *mut VMContRef,
    ) -> Result<*mut VMContRef, AllocationError> {
        // SAFETY: per the contract, an object of this store.
        let revision = unsafe { (*pending).revision };
        let current = pending as usize as u128 | u128::from(revision) << 64;
        self.temporary_roots.push(Traced::Cont(current));
        self.collect_for_continuations();
        self.temporary_roots.pop();
        // SAFETY: per the contract.
        unsafe { self.continuations.take_stack(pending) }
    }

    /// The collection that creating a continuation may run: a full one
    /// when continuations ask for one (in the stress mode, a minor one
    /// every time while they are few: each walks every live
    /// continuation), so that abandoned ones come back before a new stack
    /// is carved.
    fn collect_for_continuations(&mut self) {
        if self.gc_inhibited == 0 {
            if self.gc.is_stressed() && self.continuations.live() < MIN_COLLECTION_LIVE {
                self.collect_garbage(false);
            } else if self.continuations.collection_due(self.gc.bytes_used()) {
                self.collect_garbage(true);
            }
        }
    }

    /// The store's continuations.
    pub fn continuations(&mut self) -> &mut Continuations {
        &mut self.continuations
    }

    /// Makes the runtime consult `hooks` (see [`StoreHooks`]).
    ///
    /// # Safety
    ///
    /// `hooks` must stay valid, and not be borrowed while wasm of this
    /// store runs, for as long as this store lives.
    pub unsafe fn set_hooks(&mut self, hooks: *mut dyn StoreHooks) {
        self.hooks = Some(hooks);
    }

    /// Asks the embedder about a growth; without hooks, it may grow.
    pub fn growing(
        &mut self,
        what: Growable,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> GrowVerdict {
        match self.hooks {
            // SAFETY: valid and unborrowed while wasm runs (`set_hooks`).
            Some(hooks) => unsafe { (*hooks).growing(what, current, desired, maximum) },
            None => GrowVerdict::Allow,
        }
    }

    /// Tells the embedder a growth failed; whether to trap.
    pub fn grow_failed(&mut self, what: Growable) -> bool {
        match self.hooks {
            // SAFETY: as in `growing`.
            Some(hooks) => unsafe { (*hooks).grow_failed(what) },
            None => false,
        }
    }

    /// Generated code found the interrupt word raised: asks the embedder
    /// (if the deadline is really reached) and sets the new deadline if it
    /// lets wasm go on. Without hooks, wasm traps.
    pub fn epoch_deadline_reached(&mut self) -> CheckVerdict {
        if self.epoch() < self.epoch.deadline() {
            // Raised for an earlier deadline, since moved.
            self.set_epoch_deadline_at(self.epoch.deadline());
            return CheckVerdict::Continue(0);
        }
        // A new deadline counts from the epoch at which this one was
        // reached, however long the embedder's callback (or an async
        // call's yield to its executor) takes.
        let reached = self.epoch();
        let verdict = match self.hooks {
            // SAFETY: as in `growing`.
            Some(hooks) => unsafe { (*hooks).epoch_deadline() },
            None => CheckVerdict::Trap,
        };
        if let CheckVerdict::Continue(delta) = verdict {
            self.set_epoch_deadline_at(reached.saturating_add(delta));
        }
        verdict
    }

    /// Sets the engine's epoch counter.
    ///
    /// # Safety
    ///
    /// `counter` must stay valid as long as this store lives.
    pub unsafe fn set_epoch_counter(&mut self, counter: *const AtomicU64) {
        self.epoch_counter = counter;
    }

    /// The store's epoch state, for the engine to raise its interrupt
    /// words.
    pub fn epoch_state(&self) -> &Arc<EpochState> {
        &self.epoch
    }

    /// The engine's current epoch (0 without a counter).
    fn epoch(&self) -> u64 {
        if self.epoch_counter.is_null() {
            return 0;
        }
        // SAFETY: the engine's counter, alive as long as the store
        // (`set_epoch_counter`).
        unsafe { (*self.epoch_counter).load(Ordering::SeqCst) }
    }

    /// Sets the deadline `delta` epochs after the current one.
    pub fn set_epoch_deadline(&mut self, delta: u64) {
        self.set_epoch_deadline_at(self.epoch().saturating_add(delta));
    }

    /// Sets the deadline to epoch `deadline`, the interrupt words raised
    /// exactly when it has passed. The engine raises them too when it
    /// advances the epoch; with both sides sequentially consistent, an
    /// increment that races with this is seen by one of them (a raise for
    /// the old deadline that lands after this is spurious, and
    /// `epoch_deadline_reached` sets the words again).
    fn set_epoch_deadline_at(&mut self, deadline: u64) {
        self.epoch.set_deadline(deadline);
        self.epoch.set_words(self.epoch() >= deadline);
    }

    /// Fuel left: what generated code holds (negative once it overran it)
    /// and the reserve.
    pub fn fuel(&self) -> i64 {
        let reserve = i64::try_from(self.fuel_reserve).unwrap_or(i64::MAX);
        self.context.fuel.saturating_add(reserve)
    }

    /// Sets the fuel left: generated code gets at most the yield interval
    /// of it at a time, the rest waits in the reserve.
    pub fn set_fuel(&mut self, fuel: i64) {
        let fuel = fuel.max(0);
        let interval = i64::try_from(self.fuel_yield_interval).unwrap_or(i64::MAX);
        let handed = if interval == 0 {
            fuel
        } else {
            fuel.min(interval)
        };
        self.context.fuel = handed;
        self.fuel_reserve = (fuel - handed) as u64;
    }

    /// Makes generated code get `interval` fuel at a time (0: all): each
    /// time it uses that up, the store refuels it from the rest and asks
    /// the embedder whether to go on ([`StoreHooks::refuelled`]), which is
    /// where an async call yields. The fuel left stays the same.
    pub fn set_fuel_yield_interval(&mut self, interval: u64) {
        let fuel = self.fuel();
        self.fuel_yield_interval = interval;
        self.set_fuel(fuel);
    }

    /// Generated code ran out of fuel (`OutOfFuel`): refuels it from the
    /// reserve, or says to trap.
    pub fn fuel_exhausted(&mut self) -> CheckVerdict {
        let interval = self.fuel_yield_interval.max(1);
        while self.context.fuel < 0 && self.fuel_reserve > 0 {
            let take = self.fuel_reserve.min(interval);
            self.fuel_reserve -= take;
            self.context.fuel = self.context.fuel.saturating_add(take as i64);
        }
        if self.context.fuel < 0 {
            return CheckVerdict::Trap;
        }
        match self.hooks {
            // SAFETY: as in `growing`.
            Some(hooks) if !unsafe { (*hooks).refuelled() } => CheckVerdict::Error,
            _ => CheckVerdict::Continue(0),
        }
    }

    /// Tells the context where this store lives (`VMStoreContext::owner`),
    /// for the landing of epoch interrupts. Call it once the store has its
    /// final address; until then, reaching an epoch deadline traps.
    pub fn pin_owner(&mut self) {
        self.context.owner = (self as *mut StoreOpaque).cast();
    }

    /// The context generated code reads (stack limit, exit frame).
    pub fn context(&mut self) -> *mut VMStoreContext {
        &mut *self.context
    }

    /// Adds a memory; returns its stable address.
    pub fn add_memory(&mut self, mut memory: Box<LinearMemory>) -> *mut LinearMemory {
        let ptr: *mut LinearMemory = &mut *memory;
        self.memories.push(memory);
        ptr
    }

    /// Adds a table; returns its stable address.
    pub fn add_table(&mut self, mut table: Box<Table>) -> *mut Table {
        let ptr: *mut Table = &mut *table;
        self.tables.push(table);
        ptr
    }

    /// Adds host-owned global storage of type `ty`; returns its stable
    /// address.
    pub fn add_global(
        &mut self,
        value: VMGlobalDefinition,
        ty: WasmValType,
    ) -> *mut VMGlobalDefinition {
        let mut global = Box::new(value);
        let ptr: *mut VMGlobalDefinition = &mut *global;
        self.globals.push(global);
        self.global_types.push(ty);
        ptr
    }

    /// Runs `f` with collections held off: allocations grow the heap.
    pub fn without_collections<R>(&mut self, f: impl FnOnce(&mut StoreOpaque) -> R) -> R {
        self.gc_inhibited += 1;
        let result = f(self);
        self.gc_inhibited -= 1;
        result
    }

    /// Gives the collector the engine's types (object layouts).
    pub fn set_type_registry(&mut self, types: Arc<TypeRegistry>) {
        self.types = Some(types);
    }

    /// Keeps the object `word` refers to alive for the host, until the
    /// host roots are cut back below it ([`truncate_host_roots`]); `None`
    /// for words that are no object (null, an i31).
    ///
    /// [`truncate_host_roots`]: Self::truncate_host_roots
    pub fn root(&self, word: u64) -> Option<HostRoot> {
        if word == 0 || word & 1 == 1 {
            return None;
        }
        Some(self.add_host_root(Traced::Word(word)))
    }

    /// Keeps the continuation that the non-null continuation reference
    /// `reference` refers to alive for the host, as [`root`](Self::root).
    pub fn root_cont(&self, reference: u128) -> HostRoot {
        self.add_host_root(Traced::Cont(reference))
    }

    fn add_host_root(&self, traced: Traced) -> HostRoot {
        let serial = self.next_root.get();
        self.next_root.set(serial + 1);
        let mut roots = self.host_roots.borrow_mut();
        roots.push((traced, serial));
        HostRoot {
            index: roots.len() - 1,
            serial,
        }
    }

    /// The word `root` keeps alive, if it still does.
    pub fn rooted(&self, root: HostRoot) -> Option<u64> {
        match self.rooted_value(root)? {
            Traced::Word(word) => Some(word),
            Traced::Cont(_) => None,
        }
    }

    /// The continuation reference `root` keeps alive, if it still does.
    pub fn rooted_cont(&self, root: HostRoot) -> Option<u128> {
        match self.rooted_value(root)? {
            Traced::Cont(reference) => Some(reference),
            Traced::Word(_) => None,
        }
    }

    fn rooted_value(&self, root: HostRoot) -> Option<Traced> {
        match self.host_roots.borrow().get(root.index) {
            Some(&(traced, serial)) if serial == root.serial => Some(traced),
            _ => None,
        }
    }

    /// Makes host root `root`, which holds continuation reference `old`,
    /// hold `new` instead; false (and nothing changed) when it holds
    /// something else or has ended.
    pub fn replace_rooted_cont(&self, root: HostRoot, old: u128, new: u128) -> bool {
        let mut roots = self.host_roots.borrow_mut();
        match roots.get_mut(root.index) {
            Some((traced @ Traced::Cont(_), serial))
                if *serial == root.serial && *traced == Traced::Cont(old) =>
            {
                *traced = Traced::Cont(new);
                true
            }
            _ => false,
        }
    }

    /// Number of host roots: where a scope that ends cuts them back to.
    pub fn host_roots_len(&self) -> usize {
        self.host_roots.borrow().len()
    }

    /// Lets go of the host roots made since there were `len`.
    pub fn truncate_host_roots(&self, len: usize) {
        self.host_roots.borrow_mut().truncate(len);
    }

    /// Adds a tag of the function type with canonical id `type_id`; its
    /// address is its identity.
    pub fn add_tag(&mut self, type_id: u32) -> *const VMTagDefinition {
        let tag = Box::new(VMTagDefinition { type_id });
        let ptr: *const VMTagDefinition = &*tag;
        self.tags.push(tag);
        ptr
    }

    /// Allocates a GC object of `size` bytes with `header`; the rest is
    /// the caller's to fill in. Collects first when the heap asks for it;
    /// `None` when the heap is full even then. `keep` are references the
    /// caller holds across the allocation (in no root the collector sees).
    pub fn gc_alloc_keeping(
        &mut self,
        header: VMGcHeader,
        size: u32,
        keep: &[Traced],
    ) -> Option<NonNull<u8>> {
        let lists = &mut self.context.gc_bump;
        if let Ok(object) = self.gc.alloc(lists, header, size, self.gc_inhibited > 0) {
            return Some(object);
        }
        // A minor collection first; a full one when even that leaves no
        // room (old objects die too).
        self.temporary_roots.extend_from_slice(keep);
        self.collect_garbage(false);
        let mut object = self.gc.alloc(&mut self.context.gc_bump, header, size, true);
        if object.is_err() {
            self.collect_garbage(true);
            object = self.gc.alloc(&mut self.context.gc_bump, header, size, true);
        }
        self.temporary_roots.clear();
        object.ok()
    }

    /// [`gc_alloc_keeping`](Self::gc_alloc_keeping) with nothing to keep.
    pub fn gc_alloc(&mut self, header: VMGcHeader, size: u32) -> Option<NonNull<u8>> {
        self.gc_alloc_keeping(header, size, &[])
    }

    /// A new struct of canonical type `type_id` with `fields` laid out as
    /// `layout`, set to the raw slots `values`; `None` when the heap is
    /// full.
    pub fn new_struct(
        &mut self,
        type_id: u32,
        fields: &[FieldType],
        layout: &StructLayout,
        values: &[u128],
    ) -> Option<NonNull<u8>> {
        let header = VMGcHeader {
            type_id,
            kind_and_mark: GcKind::Struct as u32,
        };
        let object = self.gc_alloc(header, layout.size)?;
        for ((field, offset), value) in fields.iter().zip(&layout.offsets).zip(values) {
            // SAFETY: the field lies inside the new object.
            unsafe { gc::write_raw(object, *offset, storage_size(field.storage), *value) };
        }
        Some(object)
    }

    /// A new array of canonical type `type_id` and `len` elements of
    /// `element_size` bytes, its elements not yet written; `None` when the
    /// heap is full or the array too large. `keep` are references the
    /// caller holds across the allocation.
    fn alloc_array(
        &mut self,
        type_id: u32,
        element_size: u32,
        len: u32,
        keep: &[Traced],
    ) -> Option<NonNull<u8>> {
        let size = array_size(element_size, len)?;
        let header = VMGcHeader {
            type_id,
            kind_and_mark: GcKind::Array as u32,
        };
        let array = self.gc_alloc_keeping(header, size, keep)?;
        // SAFETY: an array's length follows its header.
        unsafe { gc::write_raw(array, ARRAY_LENGTH_OFFSET, 4, u128::from(len)) };
        Some(array)
    }

    /// A new array of canonical type `type_id` with `len` elements stored
    /// as `element`, each the raw slot `value` (kept alive across the
    /// allocation when it is a reference); `None` when the heap is full or
    /// the array too large.
    pub fn new_array_filled(
        &mut self,
        type_id: u32,
        element: StorageType,
        len: u32,
        value: u128,
    ) -> Option<NonNull<u8>> {
        let keep = match element {
            StorageType::Val(ty) => Traced::of(ty, value),
            StorageType::I8 | StorageType::I16 => None,
        };
        let keep = keep.as_slice();
        let size = storage_size(element);
        let array = self.alloc_array(type_id, size, len, keep)?;
        // SAFETY: the new array's elements, ours alone.
        let elements = unsafe {
            std::slice::from_raw_parts_mut(
                array.as_ptr().add(ARRAY_DATA_OFFSET as usize),
                len as usize * size as usize,
            )
        };
        gc::fill_elements(elements, size, value);
        Some(array)
    }

    /// A new array of canonical type `type_id` and `len` elements stored
    /// as `element`, for the caller to write; as `new_array_filled`.
    pub fn new_array_unfilled(
        &mut self,
        type_id: u32,
        element: StorageType,
        len: u32,
    ) -> Option<NonNull<u8>> {
        self.alloc_array(type_id, storage_size(element), len, &[])
    }

    /// A new array of canonical type `type_id` holding the raw slots
    /// `values`; `None` when the heap is full or the array too large.
    pub fn new_array(
        &mut self,
        type_id: u32,
        element: StorageType,
        values: &[u128],
    ) -> Option<NonNull<u8>> {
        let element_size = storage_size(element);
        let len = u32::try_from(values.len()).ok()?;
        let array = self.alloc_array(type_id, element_size, len, &[])?;
        for (i, value) in values.iter().enumerate() {
            let offset = ARRAY_DATA_OFFSET + i as u32 * element_size;
            // SAFETY: element `i` lies inside the new array.
            unsafe { gc::write_raw(array, offset, element_size, *value) };
        }
        Some(array)
    }

    /// A new extern object holding `data`; `None` when the heap is full.
    pub fn gc_alloc_extern(&mut self, data: HostData) -> Option<NonNull<u8>> {
        let header = VMGcHeader {
            type_id: NO_TYPE_ID,
            kind_and_mark: GcKind::Extern as u32,
        };
        let object = self.gc_alloc(header, EXTERN_OBJECT_SIZE)?;
        // SAFETY: a new extern object of this store's heap.
        unsafe { self.gc.attach_host_data(object, data) };
        Some(object)
    }

    /// The store's GC heap, to change its settings.
    pub fn gc_mut(&mut self) -> &mut GcHeap {
        &mut self.gc
    }

    /// The store's GC heap.
    pub fn gc(&self) -> &GcHeap {
        &self.gc
    }

    /// Limits the GC heap to `max_bytes`; only before anything is
    /// allocated.
    pub fn set_gc_heap_max(&mut self, max_bytes: usize) {
        assert_eq!(self.gc.bytes_used(), 0, "the GC heap is already in use");
        let stress = self.gc.is_stressed();
        self.gc = GcHeap::new(max_bytes);
        self.gc.set_stress(stress);
    }

    /// Allocates an exception of `tag` with room for `payload` values (to
    /// be filled in by the caller before anything may collect); returns
    /// the address of its header, or null when the GC heap is full.
    pub fn new_exception(&mut self, tag: *const VMTagDefinition, payload: usize) -> *mut u8 {
        let size = u32::try_from(size_of::<VMExceptionHeader>() + payload * VAL_RAW_SIZE as usize)
            .unwrap_or(u32::MAX);
        let gc = VMGcHeader {
            type_id: NO_TYPE_ID,
            kind_and_mark: GcKind::Exception as u32,
        };
        let Some(object) = self.gc_alloc(gc, size) else {
            return std::ptr::null_mut();
        };
        let header = object.as_ptr().cast::<VMExceptionHeader>();
        // SAFETY: the object has room for the header (16 bytes, and cells
        // are 16-aligned).
        unsafe { header.write(VMExceptionHeader { gc, tag }) };
        header.cast()
    }

    /// Instantiates `module` with `imports`: creates its memories and
    /// tables, its `VMContext`, and runs its initializers (not the start
    /// function). On a trap during initialization the instance stays in the
    /// store, as the effects before the trap remain visible.
    ///
    /// # Safety
    ///
    /// Every pointer in `imports` must point to an object owned by this
    /// store (or living longer), with the types the module's imports need.
    pub unsafe fn instantiate(
        &mut self,
        module: Arc<RuntimeModule>,
        imports: &Imports,
    ) -> Result<*mut Instance, InstantiationError> {
        let info = module.info.clone();
        let mut memories = imports.memories.clone();
        for ty in &info.memories[info.num_imported_memories..] {
            let memory = LinearMemory::new(*ty)
                .map_err(|e| InstantiationError::Resource(format!("memory: {e}")))?;
            memories.push(self.add_memory(memory));
        }
        let mut tables = imports.tables.clone();
        for ty in &info.tables[info.num_imported_tables..] {
            let ty = TableType {
                element: ty.element.canonicalize(&module.type_ids),
                ..*ty
            };
            let table = Table::new(ty, 0).map_err(InstantiationError::Resource)?;
            tables.push(self.add_table(table));
        }
        let mut tags = imports.tags.clone();
        for ty in &info.tags[info.num_imported_tags..] {
            tags.push(self.add_tag(module.type_ids[ty.index()]));
        }
        let store: *mut StoreOpaque = self;
        // SAFETY: memories, tables and tags are owned by this store, imports
        // live as long (caller's contract), and so do the store and the
        // static builtin table.
        let mut instance =
            unsafe { Instance::new(module, imports, memories, tables, tags, store, builtins()) };
        let ptr: *mut Instance = &mut *instance;
        self.instances.push(instance);
        // SAFETY: just pushed; boxed, so the pointer is stable.
        unsafe { (*ptr).initialize()? };
        Ok(ptr)
    }
}
