//! [`Memory`], [`Table`], [`Global`] and [`Extern`]: handles to a store's
//! objects.

use crate::store::StoreId;
use crate::{AsContext, AsContextMut, Func, Tag, Val};
use anyhow::{Result, bail};
use fxtime_environ::vm::VMGlobalDefinition;
use fxtime_environ::{GlobalType, MemoryType, TableType};
use fxtime_runtime::memory::LinearMemory;
use fxtime_runtime::table::Table as RuntimeTable;

/// Anything an instance can import or export.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// A global.
    Global(Global),
    /// An exception tag.
    Tag(Tag),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }

    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }

    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }

    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }

    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<Tag> {
        if let Extern::Tag(t) = self {
            Some(t)
        } else {
            None
        }
    }
}

macro_rules! into_extern {
    ($($ty:ident),*) => {$(
        impl From<$ty> for Extern {
            fn from(item: $ty) -> Extern {
                Extern::$ty(item)
            }
        }
    )*};
}
into_extern!(Func, Table, Memory, Global, Tag);

/// The object of type `O` at `ptr`, owned by `store`.
///
/// # Safety
///
/// `ptr` must be the address of an `O` boxed in the store `id`.
unsafe fn stored<O>(store: &impl AsContext, id: StoreId, ptr: usize) -> &O {
    assert_eq!(
        store.as_context().0.id,
        id,
        "object used with another store"
    );
    // SAFETY: per the contract; the result borrows the store.
    unsafe { &*(ptr as *const O) }
}

/// The object of type `O` at `ptr`, owned by `store`, mutably.
///
/// # Safety
///
/// `ptr` must be the address of an `O` boxed in the store `id`.
unsafe fn stored_mut<O, S: AsContextMut>(store: &mut S, id: StoreId, ptr: usize) -> &mut O {
    assert_eq!(
        store.as_context_mut().0.id,
        id,
        "object used with another store"
    );
    // SAFETY: per the contract; the result borrows the store mutably.
    unsafe { &mut *(ptr as *mut O) }
}

/// A linear memory of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: StoreId,
    pub(crate) ptr: usize,
}

impl Memory {
    /// A new memory of type `ty`.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let store = store.as_context_mut().0;
        store.check_new(0, &[ty], &[])?;
        let memory = LinearMemory::new(ty)?;
        let ptr = store.opaque.add_memory(memory) as usize;
        Ok(Memory {
            store: store.id,
            ptr,
        })
    }

    fn get<'a>(&self, store: &'a impl AsContext) -> &'a LinearMemory {
        // SAFETY: `ptr` is a `LinearMemory` boxed in the handle's store.
        unsafe { stored(store, self.store, self.ptr) }
    }

    fn get_mut<'a, S: AsContextMut>(&self, store: &'a mut S) -> &'a mut LinearMemory {
        // SAFETY: `ptr` is a `LinearMemory` boxed in the handle's store.
        unsafe { stored_mut(store, self.store, self.ptr) }
    }

    /// The memory's type (with its current size as minimum).
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        self.get(&store).ty()
    }

    /// Size in 64 KiB pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.get(&store).pages()
    }

    /// Size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.get(&store).len()
    }

    /// The memory's bytes.
    pub fn data<'a, S: AsContext>(&self, store: &'a S) -> &'a [u8] {
        self.get(store).data()
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a, S: AsContextMut>(&self, store: &'a mut S) -> &'a mut [u8] {
        self.get_mut(store).data_mut()
    }

    /// The memory's bytes and the store's host data, both mutably: what a
    /// host function needs to read its arguments from guest memory while it
    /// updates its own state.
    pub fn data_and_store_mut<'a, T: 'a, S: AsContextMut<Data = T>>(
        &self,
        store: &'a mut S,
    ) -> (&'a mut [u8], &'a mut T) {
        let bytes: *mut [u8] = self.get_mut(store).data_mut();
        let inner = store.as_context_mut().0;
        let data = &mut inner.data;
        // SAFETY: the bytes live in the memory's own mapping, outside the
        // store's host data, so the two borrows never overlap; both end with
        // the borrow of the store.
        (unsafe { &mut *bytes }, data)
    }

    /// Copies bytes at `offset` into `buffer`.
    pub fn read(&self, store: impl AsContext, offset: usize, buffer: &mut [u8]) -> Result<()> {
        let data = self.get(&store).data();
        match offset
            .checked_add(buffer.len())
            .and_then(|end| data.get(offset..end))
        {
            Some(bytes) => {
                buffer.copy_from_slice(bytes);
                Ok(())
            }
            None => bail!("out of bounds memory access"),
        }
    }

    /// Copies `buffer` into the memory at `offset`.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buffer: &[u8]) -> Result<()> {
        let data = self.get_mut(&mut store).data_mut();
        match offset
            .checked_add(buffer.len())
            .and_then(|end| data.get_mut(offset..end))
        {
            Some(bytes) => {
                bytes.copy_from_slice(buffer);
                Ok(())
            }
            None => bail!("out of bounds memory access"),
        }
    }

    /// Grows by `delta` pages; returns the old size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        match self.get_mut(&mut store).grow(delta) {
            Some(old) => Ok(old),
            None => bail!("failed to grow memory by {delta} pages"),
        }
    }
}

/// A table of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) ptr: usize,
}

impl Table {
    /// A new table of type `ty` with every element set to `init`.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        let store = store.as_context_mut().0;
        if !init.matches_in(
            store.engine.types(),
            fxtime_environ::WasmValType::Ref(ty.element),
        ) {
            bail!("table initial value does not match the element type");
        }
        let init = init.to_raw(store.id, &store.opaque)?;
        store.check_new(0, &[], &[ty])?;
        let table = RuntimeTable::new(ty, init).map_err(anyhow::Error::msg)?;
        let ptr = store.opaque.add_table(table) as usize;
        Ok(Table {
            store: store.id,
            ptr,
        })
    }

    fn get_table<'a>(&self, store: &'a impl AsContext) -> &'a RuntimeTable {
        // SAFETY: `ptr` is a runtime `Table` boxed in the handle's store.
        unsafe { stored(store, self.store, self.ptr) }
    }

    fn get_table_mut<'a, S: AsContextMut>(&self, store: &'a mut S) -> &'a mut RuntimeTable {
        // SAFETY: `ptr` is a runtime `Table` boxed in the handle's store.
        unsafe { stored_mut(store, self.store, self.ptr) }
    }

    /// The table's type (with its current size as minimum).
    pub fn ty(&self, store: impl AsContext) -> TableType {
        self.get_table(&store).ty()
    }

    /// Number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        u64::from(self.get_table(&store).len())
    }

    /// Element `index`, or `None` out of bounds.
    pub fn get(&self, store: impl AsContext, index: u64) -> Option<Val> {
        let id = store.as_context().0.id;
        let table = self.get_table(&store);
        let ty = fxtime_environ::WasmValType::Ref(table.ty().element);
        let raw = table.get(u32::try_from(index).ok()?)?;
        Some(Val::from_raw(raw, ty, id, &store.as_context().0.opaque))
    }

    /// Sets element `index`.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, value: Val) -> Result<()> {
        let id = store.as_context_mut().0.id;
        let engine = store.as_context().0.engine.clone();
        let raw = value.to_raw(id, &store.as_context().0.opaque);
        let table = self.get_table_mut(&mut store);
        if !value.matches_in(
            engine.types(),
            fxtime_environ::WasmValType::Ref(table.ty().element),
        ) {
            bail!("value does not match the table's element type");
        }
        let in_bounds = match u32::try_from(index) {
            Ok(index) => table.set(index, raw?),
            Err(_) => false,
        };
        if !in_bounds {
            bail!("out of bounds table access");
        }
        Ok(())
    }

    /// Grows by `delta` elements set to `init`; returns the old size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64> {
        let id = store.as_context_mut().0.id;
        let init = init.to_raw(id, &store.as_context().0.opaque)?;
        let table = self.get_table_mut(&mut store);
        match u32::try_from(delta).ok().and_then(|d| table.grow(d, init)) {
            Some(old) => Ok(u64::from(old)),
            None => bail!("failed to grow table by {delta} elements"),
        }
    }
}

/// A global of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) ptr: usize,
    pub(crate) ty: GlobalType,
}

impl Global {
    /// A new global of type `ty` holding `value`.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global> {
        let store = store.as_context_mut().0;
        if !value.matches_in(store.engine.types(), ty.content) {
            bail!("global value does not match type {}", ty.content);
        }
        let storage = value.to_raw(store.id, &store.opaque)?.to_le_bytes();
        let ptr = store
            .opaque
            .add_global(VMGlobalDefinition { storage }, ty.content) as usize;
        Ok(Global {
            store: store.id,
            ptr,
            ty,
        })
    }

    /// The global's type.
    pub fn ty(&self, _store: impl AsContext) -> GlobalType {
        self.ty
    }

    /// The current value.
    pub fn get(&self, store: impl AsContext) -> Val {
        let store = store.as_context().0;
        assert_eq!(store.id, self.store, "global used with another store");
        // SAFETY: the storage is owned by the store borrowed here.
        let raw =
            u128::from_le_bytes(unsafe { (*(self.ptr as *const VMGlobalDefinition)).storage });
        Val::from_raw(raw, self.ty.content, store.id, &store.opaque)
    }

    /// Sets the value of a mutable global.
    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<()> {
        let store = store.as_context_mut().0;
        store.check(self.store)?;
        if !self.ty.mutable {
            bail!("cannot set an immutable global");
        }
        if !value.matches_in(store.engine.types(), self.ty.content) {
            bail!("global value does not match type {}", self.ty.content);
        }
        let storage = value.to_raw(store.id, &store.opaque)?.to_le_bytes();
        // SAFETY: the storage is owned by the store borrowed mutably here.
        unsafe { (*(self.ptr as *mut VMGlobalDefinition)).storage = storage };
        Ok(())
    }
}
