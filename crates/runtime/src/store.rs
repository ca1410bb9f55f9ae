//! The runtime side of a store: everything its instances own, and the
//! `VMStoreContext` generated code reads.

use crate::continuations::Continuations;
use crate::instance::{Imports, Instance, InstantiationError, RuntimeModule};
use crate::libcalls::builtins;
use crate::memory::LinearMemory;
use crate::table::Table;
use fxtime_environ::TableType;
use fxtime_environ::vm::{VMExceptionHeader, VMGlobalDefinition, VMStoreContext, VMTagDefinition};
use std::sync::Arc;

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
    /// Exceptions ever thrown: a header slot and one slot per payload value
    /// each. Without a collector they live as long as the store.
    exceptions: Vec<Box<[u128]>>,
    /// Continuation objects and stacks; the context points here.
    continuations: Box<Continuations>,
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
            exceptions: Vec::new(),
            continuations: Box::default(),
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

    /// Number of continuations holding a stack.
    pub fn live_continuations(&self) -> usize {
        self.continuations.live()
    }

    /// The store's continuations.
    pub fn continuations(&mut self) -> &mut Continuations {
        &mut self.continuations
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

    /// Adds host-owned global storage; returns its stable address.
    pub fn add_global(&mut self, value: VMGlobalDefinition) -> *mut VMGlobalDefinition {
        let mut global = Box::new(value);
        let ptr: *mut VMGlobalDefinition = &mut *global;
        self.globals.push(global);
        ptr
    }

    /// Adds a tag of the function type with canonical id `type_id`; its
    /// address is its identity.
    pub fn add_tag(&mut self, type_id: u32) -> *const VMTagDefinition {
        let tag = Box::new(VMTagDefinition { type_id });
        let ptr: *const VMTagDefinition = &*tag;
        self.tags.push(tag);
        ptr
    }

    /// Allocates an exception of `tag` with room for `payload` values;
    /// returns the address of its header.
    pub fn new_exception(&mut self, tag: *const VMTagDefinition, payload: usize) -> *mut u8 {
        let mut slots = vec![0u128; 1 + payload].into_boxed_slice();
        let header = slots.as_mut_ptr().cast::<VMExceptionHeader>();
        // SAFETY: slot 0 is 16 bytes, 16-aligned: room for the header.
        unsafe { header.write(VMExceptionHeader { tag }) };
        self.exceptions.push(slots);
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
