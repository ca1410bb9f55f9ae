//! [`VMOffsets`]: the layout of one module's `VMContext`.
//!
//! ```text
//! VMContext
//! +---------------------------------------+ 0
//! | VMContextHeader                       |  magic, instance, store ctx, builtins, epoch
//! +---------------------------------------+ type_ids
//! | u32 canonical type id, per module type|
//! +---------------------------------------+ imported_funcs
//! | *const VMFuncRef, per imported func   |
//! +---------------------------------------+ memory_bases
//! | *mut u8 base, per memory              |  cached: bases never move
//! +---------------------------------------+ memories
//! | *mut VMMemoryDefinition, per memory   |
//! +---------------------------------------+ tables
//! | *mut VMTableDefinition, per table     |
//! +---------------------------------------+ tags
//! | *const VMTagDefinition, per tag       |
//! +---------------------------------------+ imported_globals
//! | *mut VMGlobalDefinition, per import   |
//! +---------------------------------------+ defined_globals (16-aligned)
//! | VMGlobalDefinition, per defined global|
//! +---------------------------------------+ func_refs
//! | VMFuncRef, per defined function       |
//! +---------------------------------------+ continuation_entries
//! | *const u8, per module type            |  a continuation type's entry
//! +---------------------------------------+ size
//! ```

use crate::vm::{VMContextHeader, VMFuncRef, VMGlobalDefinition};
use crate::{
    DefinedFuncIndex, FuncIndex, GlobalIndex, MemoryIndex, ModuleInfo, TableIndex, TagIndex,
    TypeIndex,
};
use std::mem::size_of;

const PTR: u32 = size_of::<usize>() as u32;

/// Byte offsets into one module's `VMContext`.
#[derive(Debug, Clone, Default)]
pub struct VMOffsets {
    num_types: u32,
    num_imported_funcs: u32,
    num_imported_globals: u32,
    type_ids: u32,
    imported_funcs: u32,
    memory_bases: u32,
    memories: u32,
    tables: u32,
    tags: u32,
    imported_globals: u32,
    defined_globals: u32,
    func_refs: u32,
    continuation_entries: u32,
    size: u32,
}

fn align(offset: u32, to: u32) -> u32 {
    offset.div_ceil(to) * to
}

impl VMOffsets {
    /// The layout for `module`.
    pub fn new(module: &ModuleInfo) -> VMOffsets {
        let count = |n: usize| n as u32;
        let type_ids = size_of::<VMContextHeader>() as u32;
        let imported_funcs = align(type_ids + 4 * count(module.types.len()), PTR);
        let memory_bases = imported_funcs + PTR * count(module.num_imported_funcs);
        let memories = memory_bases + PTR * count(module.memories.len());
        let tables = memories + PTR * count(module.memories.len());
        let tags = tables + PTR * count(module.tables.len());
        let imported_globals = tags + PTR * count(module.tags.len());
        let defined_globals = align(
            imported_globals + PTR * count(module.num_imported_globals),
            16,
        );
        let global_size = size_of::<VMGlobalDefinition>() as u32;
        let func_refs = defined_globals + global_size * count(module.num_defined_globals());
        let continuation_entries =
            func_refs + size_of::<VMFuncRef>() as u32 * count(module.num_defined_funcs());
        let size = continuation_entries + PTR * count(module.types.len());
        VMOffsets {
            num_types: count(module.types.len()),
            num_imported_funcs: count(module.num_imported_funcs),
            num_imported_globals: count(module.num_imported_globals),
            type_ids,
            imported_funcs,
            memory_bases,
            memories,
            tables,
            tags,
            imported_globals,
            defined_globals,
            func_refs,
            continuation_entries,
            size,
        }
    }

    /// Total size of the `VMContext` in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The canonical id of module type `t` (a `u32`).
    pub fn type_id(&self, t: TypeIndex) -> u32 {
        debug_assert!(t.0 < self.num_types);
        self.type_ids + 4 * t.0
    }

    /// The `*const VMFuncRef` of imported function `f`.
    pub fn imported_func(&self, f: FuncIndex) -> u32 {
        debug_assert!(f.0 < self.num_imported_funcs);
        self.imported_funcs + PTR * f.0
    }

    /// The cached base address of memory `m`.
    pub fn memory_base(&self, m: MemoryIndex) -> u32 {
        self.memory_bases + PTR * m.0
    }

    /// The `*mut VMMemoryDefinition` of memory `m`.
    pub fn memory(&self, m: MemoryIndex) -> u32 {
        self.memories + PTR * m.0
    }

    /// The `*mut VMTableDefinition` of table `t`.
    pub fn table(&self, t: TableIndex) -> u32 {
        self.tables + PTR * t.0
    }

    /// The `*const VMTagDefinition` of tag `t`.
    pub fn tag(&self, t: TagIndex) -> u32 {
        self.tags + PTR * t.0
    }

    /// The `*mut VMGlobalDefinition` of imported global `g`.
    pub fn imported_global(&self, g: GlobalIndex) -> u32 {
        debug_assert!(g.0 < self.num_imported_globals);
        self.imported_globals + PTR * g.0
    }

    /// The inline `VMGlobalDefinition` of defined global `g` (an index into
    /// the global index space, imports included).
    pub fn defined_global(&self, g: GlobalIndex) -> u32 {
        let defined = g.0 - self.num_imported_globals;
        self.defined_globals + size_of::<VMGlobalDefinition>() as u32 * defined
    }

    /// The inline `VMFuncRef` of defined function `f`.
    pub fn func_ref(&self, f: DefinedFuncIndex) -> u32 {
        self.func_refs + size_of::<VMFuncRef>() as u32 * f.0
    }

    /// The code address of the continuation entry of module type `t`, if
    /// it is a continuation type (null otherwise): what `cont.new` stores
    /// in a new continuation.
    pub fn continuation_entry(&self, t: TypeIndex) -> u32 {
        debug_assert!(t.0 < self.num_types);
        self.continuation_entries + PTR * t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FuncType, Global, GlobalType, WasmValType};

    #[test]
    fn regions_do_not_overlap_and_are_aligned() {
        let global = Global {
            ty: GlobalType {
                content: WasmValType::I32,
                mutable: true,
            },
            init: None,
        };
        let m = ModuleInfo {
            types: vec![crate::SubType::func(FuncType::default()); 3],
            functions: vec![TypeIndex(0); 5],
            num_imported_funcs: 2,
            globals: vec![global; 4],
            num_imported_globals: 1,
            ..Default::default()
        };
        let o = VMOffsets::new(&m);
        assert_eq!(o.type_id(TypeIndex(0)), 48);
        assert_eq!(o.imported_func(FuncIndex(0)), 64);
        assert_eq!(o.defined_global(GlobalIndex(1)) % 16, 0);
        assert!(o.defined_global(GlobalIndex(1)) >= o.imported_global(GlobalIndex(0)) + 8);
        assert_eq!(
            o.func_ref(DefinedFuncIndex(0)),
            o.defined_global(GlobalIndex(3)) + 16
        );
        assert_eq!(
            o.continuation_entry(TypeIndex(0)),
            o.func_ref(DefinedFuncIndex(2)) + 24
        );
        assert_eq!(o.size(), o.continuation_entry(TypeIndex(2)) + 8);
    }
}
