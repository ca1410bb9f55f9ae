//! Instances: a `VMContext` laid out by [`VMOffsets`], filled in from the
//! module and its imports, plus the state of passive segments.

use crate::code::CodeObject;
use crate::memory::LinearMemory;
use crate::store::StoreOpaque;
use crate::table::Table;
use crate::types::TypeRegistry;
use fxtime_environ::vm::{
    VMCONTEXT_MAGIC, VMContextHeader, VMFuncRef, VMGlobalDefinition, VMTagDefinition,
};
use fxtime_environ::{
    ConstExpr, ConstOp, DataIndex, DataSegmentKind, DefinedFuncIndex, ElemIndex, ElemSegmentKind,
    FuncIndex, GlobalIndex, MemoryIndex, ModuleInfo, TableIndex, TagIndex, TrapKind, TypeIndex,
    VMOffsets,
};
use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// A compiled module as the runtime needs it.
#[derive(Debug)]
pub struct RuntimeModule {
    /// The module's description.
    pub info: Arc<ModuleInfo>,
    /// Its `VMContext` layout.
    pub offsets: VMOffsets,
    /// Its linked code.
    pub code: Arc<CodeObject>,
    /// Engine-wide canonical id of each module type.
    pub type_ids: Box<[u32]>,
    /// The engine's type registry (for subtype checks at run time).
    pub types: Arc<TypeRegistry>,
    /// The module binary (data segments point into it).
    pub wasm: Arc<[u8]>,
    /// Per type index: for a continuation type, its continuation entry.
    pub continuation_entries: Box<[Option<ContinuationEntry>]>,
}

/// What `cont.new` needs to know of a continuation type.
#[derive(Debug, Clone, Copy)]
pub struct ContinuationEntry {
    /// Index in the module's code of the function a fresh continuation's
    /// stack runs first.
    pub code_index: u32,
    /// Values its buffer must hold: the most of its parameters and
    /// results.
    pub values: u32,
}

impl RuntimeModule {
    /// The continuation entry for continuation type `t`.
    /// The entry's address and the values its buffer must hold.
    pub fn continuation_entry(&self, t: TypeIndex) -> Option<(*const u8, usize)> {
        let entry = (*self.continuation_entries.get(t.index())?)?;
        Some((
            self.code.function(entry.code_index as usize),
            entry.values as usize,
        ))
    }

    /// Code address of defined function `f`.
    pub fn function_code(&self, f: DefinedFuncIndex) -> *const u8 {
        self.code.function(f.index())
    }
}

/// What an instance imports, in the module's import order per kind.
#[derive(Debug, Default)]
pub struct Imports {
    /// Function references.
    pub funcs: Vec<*const VMFuncRef>,
    /// Tables (owned by the store).
    pub tables: Vec<*mut Table>,
    /// Memories (owned by the store).
    pub memories: Vec<*mut LinearMemory>,
    /// Global storage.
    pub globals: Vec<*mut VMGlobalDefinition>,
    /// Tags.
    pub tags: Vec<*const VMTagDefinition>,
}

/// Why instantiation failed.
#[derive(Debug)]
pub enum InstantiationError {
    /// A resource could not be created (memory, table).
    Resource(String),
    /// Initialization trapped (a segment out of bounds); the instance exists
    /// and the effects before the trap remain.
    Trap(TrapKind),
}

/// One instance of a module. Lives boxed in its store; the `VMContext`
/// header points back to it.
#[derive(Debug)]
pub struct Instance {
    module: Arc<RuntimeModule>,
    vmctx: NonNull<u8>,
    layout: Layout,
    memories: Vec<*mut LinearMemory>,
    tables: Vec<*mut Table>,
    tags: Vec<*const VMTagDefinition>,
    /// The store that owns the instance.
    store: *mut StoreOpaque,
    /// Values of each element segment, `None` once dropped.
    elements: Vec<Option<Box<[u128]>>>,
    data_dropped: Vec<bool>,
}

// SAFETY: the raw pointers refer to objects owned by the same store, which
// moves between threads as a whole.
unsafe impl Send for Instance {}
// SAFETY: shared references expose no interior mutability.
unsafe impl Sync for Instance {}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: allocated in `Instance::new` with this layout.
        unsafe { std::alloc::dealloc(self.vmctx.as_ptr(), self.layout) };
    }
}

impl Instance {
    /// Allocates and fills the `VMContext`; memories and tables (imported
    /// and defined, in index order) must already exist. Globals and tables'
    /// initial contents are set by [`Instance::initialize`].
    ///
    /// # Safety
    ///
    /// Every pointer in `imports`, `memories`, `tables`, `store` and
    /// `builtins` must stay valid for the instance's lifetime.
    pub unsafe fn new(
        module: Arc<RuntimeModule>,
        imports: &Imports,
        memories: Vec<*mut LinearMemory>,
        tables: Vec<*mut Table>,
        tags: Vec<*const VMTagDefinition>,
        store: *mut StoreOpaque,
        builtins: *const usize,
    ) -> Box<Instance> {
        let size = module.offsets.size() as usize;
        let layout = Layout::from_size_align(size.max(1), 16).expect("vmctx layout");
        // SAFETY: the layout has a non-zero size.
        let vmctx = unsafe { std::alloc::alloc_zeroed(layout) };
        let vmctx = NonNull::new(vmctx).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        let info = &module.info;
        let elements = vec![None; info.elements.len()];
        let mut instance = Box::new(Instance {
            data_dropped: vec![false; info.data.len()],
            module: module.clone(),
            vmctx,
            layout,
            memories,
            tables,
            tags,
            store,
            elements,
        });
        let this: *mut Instance = &mut *instance;
        let offsets = &module.offsets;
        // SAFETY: every write below is at an offset VMOffsets computed for
        // this module, inside the allocation, with the field's type.
        unsafe {
            instance.write(
                0,
                VMContextHeader {
                    magic: VMCONTEXT_MAGIC,
                    _pad: 0,
                    instance: this.cast(),
                    // SAFETY: the store outlives its instances.
                    store_context: (*store).context(),
                    builtins,
                    continuations: (*(*store).context()).continuations,
                    interrupt: AtomicU64::new(0),
                },
            );
            // SAFETY: the word lives in the vmctx, freed with the instance,
            // which the store drops only after `forget_words`.
            (*store).epoch_state().watch(
                instance
                    .vmctx()
                    .add(fxtime_environ::vm::offsets::VMCTX_INTERRUPT as usize)
                    .cast::<AtomicU64>(),
            );
            for (i, id) in module.type_ids.iter().enumerate() {
                let ty = TypeIndex(i as u32);
                instance.write(offsets.type_id(ty), *id);
                let entry = module
                    .continuation_entry(ty)
                    .map_or(std::ptr::null(), |(entry, _)| entry);
                instance.write(offsets.continuation_entry(ty), entry);
            }
            for (i, func_ref) in imports.funcs.iter().enumerate() {
                instance.write(offsets.imported_func(FuncIndex(i as u32)), *func_ref);
            }
            for (i, memory) in instance.memories.clone().into_iter().enumerate() {
                let index = MemoryIndex(i as u32);
                instance.write(offsets.memory_base(index), (*memory).base());
                instance.write(offsets.memory(index), (*memory).definition());
            }
            for (i, table) in instance.tables.clone().into_iter().enumerate() {
                instance.write(offsets.table(TableIndex(i as u32)), (*table).definition());
            }
            for (i, tag) in instance.tags.clone().into_iter().enumerate() {
                instance.write(offsets.tag(TagIndex(i as u32)), tag);
            }
            for (i, global) in imports.globals.iter().enumerate() {
                instance.write(offsets.imported_global(GlobalIndex(i as u32)), *global);
            }
            for i in 0..info.num_defined_funcs() {
                let defined = DefinedFuncIndex(i as u32);
                let ty = info.functions[info.func_index(defined).index()];
                let func_ref = VMFuncRef {
                    wasm_call: module.function_code(defined),
                    vmctx: vmctx.as_ptr(),
                    type_id: module.type_ids[ty.index()],
                };
                instance.write(offsets.func_ref(defined), func_ref);
            }
        }
        instance
    }

    /// # Safety
    /// `offset` must be the offset of a field of type `T` in this vmctx.
    unsafe fn write<T>(&mut self, offset: u32, value: T) {
        // SAFETY: per the contract, in bounds and aligned for `T`.
        unsafe {
            self.vmctx
                .as_ptr()
                .add(offset as usize)
                .cast::<T>()
                .write(value)
        }
    }

    /// The instance's `VMContext`.
    pub fn vmctx(&self) -> *mut u8 {
        self.vmctx.as_ptr()
    }

    /// The module it instantiates.
    pub fn module(&self) -> &Arc<RuntimeModule> {
        &self.module
    }

    /// The instance behind a `VMContext`.
    ///
    /// # Safety
    ///
    /// `vmctx` must be the `VMContext` of a live instance, and no other
    /// reference to that instance may be in use.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut u8) -> &'a mut Instance {
        // SAFETY: per the contract, the header's back pointer is valid.
        unsafe {
            let header = &*vmctx.cast::<VMContextHeader>();
            debug_assert_eq!(header.magic, VMCONTEXT_MAGIC);
            &mut *header.instance.cast::<Instance>()
        }
    }

    /// The `*const VMFuncRef` of function `f`.
    pub fn func_ref(&self, f: FuncIndex) -> *const VMFuncRef {
        let info = &self.module.info;
        let offsets = &self.module.offsets;
        // SAFETY: offsets from this module's layout, inside the vmctx.
        unsafe {
            match info.defined_func_index(f) {
                Some(defined) => self.vmctx().add(offsets.func_ref(defined) as usize).cast(),
                None => *self
                    .vmctx()
                    .add(offsets.imported_func(f) as usize)
                    .cast::<*const VMFuncRef>(),
            }
        }
    }

    /// Storage of global `g`.
    pub fn global(&self, g: GlobalIndex) -> *mut VMGlobalDefinition {
        let offsets = &self.module.offsets;
        // SAFETY: offsets from this module's layout, inside the vmctx.
        unsafe {
            if self.module.info.is_imported_global(g) {
                *self
                    .vmctx()
                    .add(offsets.imported_global(g) as usize)
                    .cast::<*mut VMGlobalDefinition>()
            } else {
                self.vmctx().add(offsets.defined_global(g) as usize).cast()
            }
        }
    }

    /// Tag `t`.
    pub fn tag(&self, t: TagIndex) -> *const VMTagDefinition {
        self.tags[t.index()]
    }

    /// The store that owns the instance.
    pub fn store(&mut self) -> &mut StoreOpaque {
        // SAFETY: the store outlives its instances, and generated code (our
        // only caller's caller) holds no reference to it.
        unsafe { &mut *self.store }
    }

    /// Memory `m`.
    pub fn memory(&mut self, m: MemoryIndex) -> &mut LinearMemory {
        // SAFETY: memories outlive the instance (constructor contract).
        unsafe { &mut *self.memories[m.index()] }
    }

    /// The raw pointer to memory `m`.
    pub fn memory_ptr(&self, m: MemoryIndex) -> *mut LinearMemory {
        self.memories[m.index()]
    }

    /// The raw pointer to table `t`.
    pub fn table_ptr(&self, t: TableIndex) -> *mut Table {
        self.tables[t.index()]
    }

    /// Table `t`.
    pub fn table(&mut self, t: TableIndex) -> &mut Table {
        // SAFETY: tables outlive the instance (constructor contract).
        unsafe { &mut *self.tables[t.index()] }
    }

    /// Evaluates a constant expression to raw value bits; the only failure
    /// is a GC allocation the heap cannot hold.
    pub fn eval(&mut self, expr: &ConstExpr) -> Result<u128, TrapKind> {
        let mut stack: Vec<u128> = Vec::with_capacity(2);
        for op in &expr.ops {
            let value = match *op {
                ConstOp::I32Const(v) => u128::from(v as u32),
                ConstOp::I64Const(v) => u128::from(v as u64),
                ConstOp::F32Const(bits) => u128::from(bits),
                ConstOp::F64Const(bits) => u128::from(bits),
                ConstOp::V128Const(bits) => bits,
                // The word of an i31 reference (see the translator's `gc`).
                ConstOp::RefI31 => {
                    let x = stack.pop().unwrap_or(0) as u32;
                    u128::from((x << 1) | 1)
                }
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(f) => self.func_ref(f) as usize as u128,
                ConstOp::GlobalGet(g) => {
                    // SAFETY: global storage is valid for the instance.
                    u128::from_le_bytes(unsafe { (*self.global(g)).storage })
                }
                ConstOp::ConvertReference => stack.pop().unwrap_or(0),
                ConstOp::StructNew(_)
                | ConstOp::StructNewDefault(_)
                | ConstOp::ArrayNew(_)
                | ConstOp::ArrayNewDefault(_)
                | ConstOp::ArrayNewFixed(..) => self
                    .eval_allocation(*op, &mut stack)
                    .ok_or(TrapKind::GcHeapOutOfMemory)?,
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let (b, a) = (stack.pop(), stack.pop());
                    let (a, b) = (a.unwrap_or(0) as u32, b.unwrap_or(0) as u32);
                    u128::from(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let (b, a) = (stack.pop(), stack.pop());
                    let (a, b) = (a.unwrap_or(0) as u64, b.unwrap_or(0) as u64);
                    u128::from(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
            };
            stack.push(value);
        }
        Ok(stack.pop().unwrap_or(0))
    }

    /// A struct or array a constant expression creates, its operands
    /// popped from `stack`: the object's address.
    fn eval_allocation(&mut self, op: ConstOp, stack: &mut Vec<u128>) -> Option<u128> {
        let module = self.module.clone();
        let info = &module.info;
        let pop_n =
            |stack: &mut Vec<u128>, n: usize| stack.split_off(stack.len().saturating_sub(n));
        let object = match op {
            ConstOp::StructNew(ty) | ConstOp::StructNewDefault(ty) => {
                let fields = info.struct_fields(ty);
                let values = match op {
                    ConstOp::StructNew(_) => pop_n(stack, fields.len()),
                    _ => vec![0; fields.len()],
                };
                let type_id = module.type_ids[ty.index()];
                let layout = info.struct_layout(ty);
                self.store().without_collections(|store| {
                    store.new_struct(type_id, fields, layout, &values)
                })?
            }
            ConstOp::ArrayNewFixed(ty, n) => {
                let values = pop_n(stack, n as usize);
                let element = info.array_element(ty).storage;
                let type_id = module.type_ids[ty.index()];
                self.store()
                    .without_collections(|store| store.new_array(type_id, element, &values))?
            }
            ConstOp::ArrayNew(ty) | ConstOp::ArrayNewDefault(ty) => {
                let len = stack.pop().unwrap_or(0) as u32;
                let value = match op {
                    ConstOp::ArrayNew(_) => stack.pop().unwrap_or(0),
                    _ => 0,
                };
                let element = info.array_element(ty).storage;
                let type_id = module.type_ids[ty.index()];
                self.store().without_collections(|store| {
                    store.new_array_filled(type_id, element, len, value)
                })?
            }
            _ => return None,
        };
        Some(object.as_ptr() as usize as u128)
    }

    /// Sets defined globals and table contents from their initializers,
    /// then applies the element and data segments in order.
    pub fn initialize(&mut self) -> Result<(), InstantiationError> {
        let module = self.module.clone();
        let info = &module.info;
        for (i, global) in info.globals.iter().enumerate() {
            let index = GlobalIndex(i as u32);
            if let Some(init) = &global.init {
                let value = self.eval(init).map_err(InstantiationError::Trap)?;
                // SAFETY: a defined global's storage lies inside the vmctx.
                unsafe { (*self.global(index)).storage = value.to_le_bytes() };
            }
        }
        for (i, init) in info.table_inits.iter().enumerate() {
            if let Some(init) = init {
                let value = self.eval(init).map_err(InstantiationError::Trap)?;
                let table = self.table(TableIndex((i + info.num_imported_tables) as u32));
                let len = table.len();
                table.fill(0, value, len);
            }
        }
        for (i, segment) in info.elements.iter().enumerate() {
            let values = segment
                .items
                .iter()
                .map(|item| self.eval(item))
                .collect::<Result<Box<[u128]>, _>>()
                .map_err(InstantiationError::Trap)?;
            match &segment.kind {
                ElemSegmentKind::Passive => self.elements[i] = Some(values),
                ElemSegmentKind::Declared => {}
                ElemSegmentKind::Active { table, offset } => {
                    // A table64 offset beyond 32 bits is out of bounds of
                    // any table; the clamped one is too.
                    let offset =
                        u32::try_from(self.eval(offset).map_err(InstantiationError::Trap)? as u64)
                            .unwrap_or(u32::MAX);
                    if !self.table(*table).write(offset, &values) {
                        return Err(InstantiationError::Trap(TrapKind::TableOutOfBounds));
                    }
                }
            }
        }
        for (i, segment) in info.data.iter().enumerate() {
            if let DataSegmentKind::Active { memory, offset } = &segment.kind {
                let offset = self.eval(offset).map_err(InstantiationError::Trap)? as u64;
                let bytes = &module.wasm[segment.bytes.clone()];
                self.data_dropped[i] = true;
                if !copy_into(self.memory(*memory).data_mut(), offset, bytes) {
                    return Err(InstantiationError::Trap(TrapKind::MemoryOutOfBounds));
                }
            }
        }
        Ok(())
    }

    /// The values of element segment `e` (empty once dropped).
    pub fn element_values(&self, e: ElemIndex) -> &[u128] {
        self.elements[e.index()].as_deref().unwrap_or(&[])
    }

    /// Every element segment's values (empty once dropped or applied).
    pub fn element_segments(&self) -> impl Iterator<Item = &[u128]> {
        self.elements.iter().map(|e| e.as_deref().unwrap_or(&[]))
    }

    /// `elem.drop`.
    pub fn drop_element(&mut self, e: ElemIndex) {
        self.elements[e.index()] = None;
    }

    /// The bytes of data segment `d` (empty once dropped).
    pub fn data_bytes(&self, d: DataIndex) -> &[u8] {
        if self.data_dropped[d.index()] {
            return &[];
        }
        &self.module.wasm[self.module.info.data_segment(d).bytes.clone()]
    }

    /// `data.drop`.
    pub fn drop_data(&mut self, d: DataIndex) {
        self.data_dropped[d.index()] = true;
    }
}

/// Copies `bytes` into `memory` at `offset`; false when out of bounds.
pub fn copy_into(memory: &mut [u8], offset: u64, bytes: &[u8]) -> bool {
    let Ok(start) = usize::try_from(offset) else {
        return false;
    };
    match start.checked_add(bytes.len()) {
        Some(end) if end <= memory.len() => {
            memory[start..end].copy_from_slice(bytes);
            true
        }
        _ => false,
    }
}
