//! The runtime side of a store: everything its instances own, and the
//! `VMStoreContext` generated code reads.

use crate::instance::{Imports, Instance, InstantiationError, RuntimeModule};
use crate::libcalls::builtins;
use crate::memory::LinearMemory;
use crate::table::Table;
use fxtime_environ::TableType;
use fxtime_environ::vm::{VMGlobalDefinition, VMStoreContext};
use std::sync::Arc;

/// Owns the instances, memories, tables and host globals of one store.
/// Everything is boxed, so the raw pointers generated code and handles hold
/// stay valid until the store is dropped.
#[derive(Debug, Default)]
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
}

impl StoreOpaque {
    /// An empty store.
    pub fn new() -> StoreOpaque {
        StoreOpaque::default()
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
        let context = self.context();
        // SAFETY: memories and tables are owned by this store, imports
        // live as long (caller's contract), and so do the store context and
        // the static builtin table.
        let mut instance =
            unsafe { Instance::new(module, imports, memories, tables, context, builtins()) };
        let ptr: *mut Instance = &mut *instance;
        self.instances.push(instance);
        // SAFETY: just pushed; boxed, so the pointer is stable.
        unsafe { (*ptr).initialize()? };
        Ok(ptr)
    }
}
