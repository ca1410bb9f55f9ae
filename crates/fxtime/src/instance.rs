//! [`Instance`]: an instantiated module, and instantiation itself.

use crate::module::{canonical_global, canonical_table};
use crate::store::{StoreId, StoreInner};
use crate::{
    AsContext, AsContextMut, Extern, Func, Global, Memory, Module, Table, Trap, TypedFunc,
};
use anyhow::{Context, Result, bail};
use fxtime_environ::vm::VMFuncRef;
use fxtime_environ::{EntityIndex, IndexType, Limits};
use fxtime_runtime::instance::{Imports, Instance as RuntimeInstance, InstantiationError};
use fxtime_runtime::memory::LinearMemory;
use fxtime_runtime::table::Table as RuntimeTable;

/// An instance of a module in a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Instance {
    store: StoreId,
    ptr: usize,
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import
    /// order, then runs its start function.
    pub fn new(
        mut store: impl AsContextMut,
        module: &Module,
        imports: &[Extern],
    ) -> Result<Instance> {
        instantiate(store.as_context_mut().0, module, imports)
    }

    fn runtime<'a>(&self, store: &'a impl AsContext) -> &'a RuntimeInstance {
        let store = store.as_context().0;
        assert_eq!(store.id, self.store, "instance used with another store");
        // SAFETY: the instance is boxed in the store borrowed for `'a`.
        unsafe { &*(self.ptr as *const RuntimeInstance) }
    }

    /// The export called `name`.
    pub fn get_export(&self, store: impl AsContext, name: &str) -> Option<Extern> {
        export(self.store, self.runtime(&store), name)
    }

    /// The exported function called `name`.
    pub fn get_func(&self, store: impl AsContext, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function called `name`, with static types.
    pub fn get_typed_func<P: crate::WasmParams, R: crate::WasmResults>(
        &self,
        store: impl AsContext,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let func = self
            .get_func(&store, name)
            .with_context(|| format!("no exported function `{name}`"))?;
        func.typed(store)
    }

    /// The exported memory called `name`.
    pub fn get_memory(&self, store: impl AsContext, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported table called `name`.
    pub fn get_table(&self, store: impl AsContext, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported global called `name`.
    pub fn get_global(&self, store: impl AsContext, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported tag called `name`.
    pub fn get_tag(&self, store: impl AsContext, name: &str) -> Option<crate::Tag> {
        self.get_export(store, name)?.into_tag()
    }

    /// Every export, in the module's order.
    pub fn exports(&self, store: impl AsContext) -> Vec<(String, Extern)> {
        let instance = self.runtime(&store);
        instance
            .module()
            .info
            .exports
            .iter()
            .map(|e| (e.name.clone(), entity(self.store, instance, e.index)))
            .collect()
    }
}

/// The export `name` of a runtime instance.
pub(crate) fn export(store: StoreId, instance: &RuntimeInstance, name: &str) -> Option<Extern> {
    let index = instance
        .module()
        .info
        .exports
        .iter()
        .find(|e| e.name == name)?
        .index;
    Some(entity(store, instance, index))
}

fn entity(store: StoreId, instance: &RuntimeInstance, index: EntityIndex) -> Extern {
    match index {
        EntityIndex::Function(f) => Extern::Func(Func {
            store,
            func_ref: instance.func_ref(f) as usize,
        }),
        EntityIndex::Memory(m) => Extern::Memory(Memory {
            store,
            ptr: instance.memory_ptr(m) as usize,
        }),
        EntityIndex::Table(t) => Extern::Table(Table {
            store,
            ptr: instance.table_ptr(t) as usize,
        }),
        EntityIndex::Tag(t) => Extern::Tag(crate::Tag {
            store,
            ptr: instance.tag(t) as usize,
        }),
        EntityIndex::Global(g) => {
            let module = instance.module();
            Extern::Global(Global {
                store,
                ptr: instance.global(g) as usize,
                ty: canonical_global(&module.info, &module.type_ids, g),
            })
        }
    }
}

pub(crate) fn instantiate<T>(
    store: &mut StoreInner<T>,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    if !crate::Engine::same(&store.engine, &module.engine) {
        bail!("the module was compiled for another engine");
    }
    let info = module.info();
    if imports.len() != info.imports.len() {
        bail!(
            "expected {} imports, got {}",
            info.imports.len(),
            imports.len()
        );
    }
    let mut resolved = Imports::default();
    for (import, item) in info.imports.iter().zip(imports) {
        let incompatible = |found: String| {
            anyhow::anyhow!(
                "incompatible import type for `{}::{}`: {found}",
                import.module,
                import.name
            )
        };
        match (import.index, *item) {
            (EntityIndex::Function(f), Extern::Func(func)) => {
                store.check(func.store)?;
                let wanted = module.runtime.type_ids[info.functions[f.index()].index()];
                if !store.engine.types().is_subtype(func.type_id(), wanted) {
                    let found = store
                        .engine
                        .types()
                        .func_type(func.type_id())
                        .unwrap_or_default();
                    return Err(incompatible(format!(
                        "expected {}, found {found}",
                        info.func_type(f)
                    )));
                }
                resolved.funcs.push(func.func_ref as *const VMFuncRef);
            }
            (EntityIndex::Table(t), Extern::Table(table)) => {
                store.check(table.store)?;
                let wanted = canonical_table(info, &module.runtime.type_ids, t);
                // SAFETY: the table belongs to this store (checked).
                let actual = unsafe { (*(table.ptr as *const RuntimeTable)).ty() };
                if actual.element != wanted.element
                    || actual.index_type != wanted.index_type
                    || !actual.limits.matches(&wanted.limits)
                {
                    return Err(incompatible(format!(
                        "expected a {}table of {} with {}, found a {}table of {} with {}",
                        index_width(wanted.index_type),
                        wanted.element,
                        limits(&wanted.limits),
                        index_width(actual.index_type),
                        actual.element,
                        limits(&actual.limits)
                    )));
                }
                resolved.tables.push(table.ptr as *mut RuntimeTable);
            }
            (EntityIndex::Memory(m), Extern::Memory(memory)) => {
                store.check(memory.store)?;
                let wanted = info.memories[m.index()];
                // SAFETY: the memory belongs to this store (checked).
                let actual = unsafe { (*(memory.ptr as *const LinearMemory)).ty() };
                if actual.index_type != wanted.index_type || !actual.limits.matches(&wanted.limits)
                {
                    return Err(incompatible(format!(
                        "expected a {}memory with {}, found a {}memory with {}",
                        index_width(wanted.index_type),
                        limits(&wanted.limits),
                        index_width(actual.index_type),
                        limits(&actual.limits)
                    )));
                }
                resolved.memories.push(memory.ptr as *mut LinearMemory);
            }
            (EntityIndex::Global(g), Extern::Global(global)) => {
                store.check(global.store)?;
                let wanted = canonical_global(info, &module.runtime.type_ids, g);
                let matches = if wanted.mutable {
                    global.ty == wanted
                } else {
                    let types = store.engine.types();
                    !global.ty.mutable
                        && global
                            .ty
                            .content
                            .is_subtype_of(&wanted.content, &|a, b| types.is_subtype(a, b))
                };
                if !matches {
                    return Err(incompatible(format!(
                        "expected a global of type {}{}, found {}{}",
                        if wanted.mutable { "mut " } else { "" },
                        wanted.content,
                        if global.ty.mutable { "mut " } else { "" },
                        global.ty.content
                    )));
                }
                resolved
                    .globals
                    .push(global.ptr as *mut fxtime_environ::vm::VMGlobalDefinition);
            }
            (EntityIndex::Tag(t), Extern::Tag(tag)) => {
                store.check(tag.store)?;
                let wanted = module.runtime.type_ids[info.tags[t.index()].index()];
                let tag = tag.ptr as *const fxtime_environ::vm::VMTagDefinition;
                // SAFETY: the tag belongs to this store (checked).
                if unsafe { (*tag).type_id } != wanted {
                    return Err(incompatible(format!(
                        "expected a tag of type {}",
                        info.tag_type(t)
                    )));
                }
                resolved.tags.push(tag);
            }
            (_, other) => {
                return Err(incompatible(format!(
                    "expected a {}, found a {}",
                    kind(import.index),
                    extern_kind(&other)
                )));
            }
        }
    }
    store.check_new(
        1,
        &info.memories[info.num_imported_memories..],
        &info.tables[info.num_imported_tables..],
    )?;
    // SAFETY: every import was checked to belong to this store and to have
    // the type the module expects.
    let result = unsafe { store.opaque.instantiate(module.runtime.clone(), &resolved) };
    let ptr = match result {
        Ok(ptr) => ptr,
        Err(InstantiationError::Trap(kind)) => {
            return Err(anyhow::Error::new(Trap::new(kind, &[])));
        }
        Err(InstantiationError::Resource(message)) => bail!("instantiation failed: {message}"),
    };
    let instance = Instance {
        store: store.id,
        ptr: ptr as usize,
    };
    if let Some(start) = info.start {
        // SAFETY: the instance was just created in this store.
        let func_ref = unsafe { (*ptr).func_ref(start) } as usize;
        let start = Func {
            store: store.id,
            func_ref,
        };
        start.call(crate::StoreContextMut(store), &[], &mut [])?;
    }
    Ok(instance)
}

/// How an error names a memory's or table's index type.
fn index_width(ty: IndexType) -> &'static str {
    match ty {
        IndexType::I32 => "",
        IndexType::I64 => "64-bit ",
    }
}

fn limits(limits: &Limits) -> String {
    match limits.max {
        Some(max) => format!("limits {}..{max}", limits.min),
        None => format!("minimum {}", limits.min),
    }
}

fn kind(index: EntityIndex) -> &'static str {
    match index {
        EntityIndex::Function(_) => "function",
        EntityIndex::Table(_) => "table",
        EntityIndex::Memory(_) => "memory",
        EntityIndex::Global(_) => "global",
        EntityIndex::Tag(_) => "tag",
    }
}

fn extern_kind(item: &Extern) -> &'static str {
    match item {
        Extern::Func(_) => "function",
        Extern::Table(_) => "table",
        Extern::Memory(_) => "memory",
        Extern::Global(_) => "global",
        Extern::Tag(_) => "tag",
    }
}
