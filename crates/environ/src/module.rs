//! [`ModuleInfo`]: everything about a module except its function bodies.

use crate::{CompositeKind, CompositeType, FieldType, SubType, TypeRef, WasmResult, WasmValType};
use crate::{
    ConstExpr, DataIndex, DefinedFuncIndex, FuncIndex, FuncType, GlobalIndex, GlobalType,
    MemoryIndex, MemoryType, RefType, TableIndex, TableType, TagIndex, TypeIndex,
};
use std::collections::HashMap;
use std::ops::Range;

/// An item in one of the module's index spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityIndex {
    /// A function.
    Function(FuncIndex),
    /// A table.
    Table(TableIndex),
    /// A memory.
    Memory(MemoryIndex),
    /// A global.
    Global(GlobalIndex),
    /// A tag.
    Tag(TagIndex),
}

/// An import.
#[derive(Debug, Clone)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// The index the import occupies.
    pub index: EntityIndex,
}

/// An export.
#[derive(Debug, Clone)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// What is exported.
    pub index: EntityIndex,
}

/// A global: its type and, for defined globals, its initializer.
#[derive(Debug, Clone)]
pub struct Global {
    /// Type and mutability.
    pub ty: GlobalType,
    /// Initializer (`None` for imported globals).
    pub init: Option<ConstExpr>,
}

/// How an element segment is used.
#[derive(Debug, Clone)]
pub enum ElemSegmentKind {
    /// Copied into a table at instantiation.
    Active {
        /// Target table.
        table: TableIndex,
        /// Offset in the table.
        offset: ConstExpr,
    },
    /// Available to `table.init`.
    Passive,
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// An element segment.
#[derive(Debug, Clone)]
pub struct ElemSegment {
    /// Active, passive or declared.
    pub kind: ElemSegmentKind,
    /// Element type.
    pub ty: RefType,
    /// One constant expression per element.
    pub items: Vec<ConstExpr>,
}

/// How a data segment is used.
#[derive(Debug, Clone)]
pub enum DataSegmentKind {
    /// Copied into a memory at instantiation.
    Active {
        /// Target memory.
        memory: MemoryIndex,
        /// Offset in the memory.
        offset: ConstExpr,
    },
    /// Available to `memory.init`.
    Passive,
}

/// A data segment. Its bytes stay in the module binary.
#[derive(Debug, Clone)]
pub struct DataSegment {
    /// Active or passive.
    pub kind: DataSegmentKind,
    /// Where its bytes are in the module binary.
    pub bytes: Range<usize>,
}

/// The translated description of a module, without function bodies.
#[derive(Debug, Clone, Default)]
pub struct ModuleInfo {
    /// Every type definition of the type section.
    pub types: Vec<SubType>,
    /// Per type: where a struct type's fields lie (`None` for the other
    /// kinds), computed once as the types are read.
    pub struct_layouts: Vec<Option<crate::gc::StructLayout>>,
    /// The recursion groups: ranges of `types`, in order.
    pub rec_groups: Vec<Range<u32>>,
    /// Imports, in order.
    pub imports: Vec<Import>,
    /// Exports, in order.
    pub exports: Vec<Export>,
    /// Type of every function, imports first.
    pub functions: Vec<TypeIndex>,
    /// Number of imported functions.
    pub num_imported_funcs: usize,
    /// Every table, imports first.
    pub tables: Vec<TableType>,
    /// Table initializers of defined tables (`None`: null).
    pub table_inits: Vec<Option<ConstExpr>>,
    /// Number of imported tables.
    pub num_imported_tables: usize,
    /// Every memory, imports first.
    pub memories: Vec<MemoryType>,
    /// Number of imported memories.
    pub num_imported_memories: usize,
    /// Every global, imports first.
    pub globals: Vec<Global>,
    /// Number of imported globals.
    pub num_imported_globals: usize,
    /// The function type of every tag, imports first.
    pub tags: Vec<TypeIndex>,
    /// Number of imported tags.
    pub num_imported_tags: usize,
    /// Element segments.
    pub elements: Vec<ElemSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// The start function.
    pub start: Option<FuncIndex>,
    /// Module name from the name section.
    pub name: Option<String>,
    /// Function names from the name section.
    pub func_names: HashMap<FuncIndex, String>,
    /// Where each defined function's body lies in the module's bytes, in
    /// order: an instruction's offset names the function it belongs to,
    /// also where code generation inlined it into another.
    pub body_ranges: Vec<std::ops::Range<usize>>,
}

impl ModuleInfo {
    /// The defined function whose body holds the instruction at byte
    /// `offset` of the module.
    pub fn defined_func_at_offset(&self, offset: u32) -> Option<DefinedFuncIndex> {
        let offset = offset as usize;
        let index = self.body_ranges.partition_point(|r| r.end <= offset);
        let range = self.body_ranges.get(index)?;
        range
            .contains(&offset)
            .then_some(DefinedFuncIndex(index as u32))
    }

    /// The type of function `f`.
    pub fn func_type(&self, f: FuncIndex) -> &FuncType {
        self.func_type_at(self.functions[f.index()])
    }

    /// The function type defined at `t`. Validation makes sure every index
    /// used as a function type is one; anything else gives the empty type.
    pub fn func_type_at(&self, t: TypeIndex) -> &FuncType {
        static EMPTY: std::sync::LazyLock<FuncType> = std::sync::LazyLock::new(FuncType::default);
        self.types
            .get(t.index())
            .and_then(SubType::as_func)
            .unwrap_or(&EMPTY)
    }

    /// The kind of type `index`, if it is defined.
    pub fn kind_of(&self, index: u32) -> Option<CompositeKind> {
        self.types.get(index as usize).map(|t| match t.composite {
            CompositeType::Func(_) => CompositeKind::Func,
            CompositeType::Struct(_) => CompositeKind::Struct,
            CompositeType::Array(_) => CompositeKind::Array,
            CompositeType::Cont(_) => CompositeKind::Cont,
        })
    }

    /// The fields of struct type `t` (validation makes sure it is one).
    pub fn struct_fields(&self, t: TypeIndex) -> &[FieldType] {
        match self.types.get(t.index()).map(|t| &t.composite) {
            Some(CompositeType::Struct(fields)) => fields,
            _ => &[],
        }
    }

    /// The layout of struct type `t` (validation makes sure it is one).
    pub fn struct_layout(&self, t: TypeIndex) -> &crate::gc::StructLayout {
        static EMPTY: std::sync::LazyLock<crate::gc::StructLayout> =
            std::sync::LazyLock::new(|| crate::gc::StructLayout::new(&[]));
        match self.struct_layouts.get(t.index()) {
            Some(Some(layout)) => layout,
            _ => &EMPTY,
        }
    }

    /// The element of array type `t` (validation makes sure it is one).
    pub fn array_element(&self, t: TypeIndex) -> FieldType {
        match self.types.get(t.index()).map(|t| &t.composite) {
            Some(CompositeType::Array(element)) => *element,
            _ => FieldType {
                storage: crate::StorageType::I8,
                mutable: false,
            },
        }
    }

    /// The function type of continuation type `t` (validation makes sure
    /// `t` is one).
    pub fn cont_func_type(&self, t: TypeIndex) -> &FuncType {
        match self.types.get(t.index()).map(|t| &t.composite) {
            Some(CompositeType::Cont(TypeRef::Module(f))) => self.func_type_at(*f),
            _ => self.func_type_at(TypeIndex(u32::MAX)),
        }
    }

    /// Converts a wasmparser value type of this module.
    pub fn convert_val_type(&self, ty: wasmparser::ValType) -> WasmResult<WasmValType> {
        crate::types::convert_val_type_with(ty, &|i| self.kind_of(i))
    }

    /// Converts a wasmparser reference type of this module.
    pub fn convert_ref_type(&self, ty: wasmparser::RefType) -> WasmResult<RefType> {
        crate::heap::convert_ref_type(ty, &|i| self.kind_of(i))
    }

    /// Number of functions the module defines.
    pub fn num_defined_funcs(&self) -> usize {
        self.functions.len() - self.num_imported_funcs
    }

    /// Number of tables the module defines.
    pub fn num_defined_tables(&self) -> usize {
        self.tables.len() - self.num_imported_tables
    }

    /// Number of memories the module defines.
    pub fn num_defined_memories(&self) -> usize {
        self.memories.len() - self.num_imported_memories
    }

    /// Number of globals the module defines.
    pub fn num_defined_globals(&self) -> usize {
        self.globals.len() - self.num_imported_globals
    }

    /// The defined-function index of `f`, or `None` for an import.
    pub fn defined_func_index(&self, f: FuncIndex) -> Option<DefinedFuncIndex> {
        f.index()
            .checked_sub(self.num_imported_funcs)
            .map(|i| DefinedFuncIndex(i as u32))
    }

    /// The function index of defined function `f`.
    pub fn func_index(&self, f: DefinedFuncIndex) -> FuncIndex {
        FuncIndex((f.index() + self.num_imported_funcs) as u32)
    }

    /// Whether tag `t` is imported.
    pub fn is_imported_tag(&self, t: TagIndex) -> bool {
        t.index() < self.num_imported_tags
    }

    /// The function type of tag `t` (its parameters are the payload).
    pub fn tag_type(&self, t: TagIndex) -> &FuncType {
        self.func_type_at(self.tags[t.index()])
    }

    /// Whether global `g` is imported.
    pub fn is_imported_global(&self, g: GlobalIndex) -> bool {
        g.index() < self.num_imported_globals
    }

    /// Whether table `t` is imported.
    pub fn is_imported_table(&self, t: TableIndex) -> bool {
        t.index() < self.num_imported_tables
    }

    /// Whether memory `m` is imported.
    pub fn is_imported_memory(&self, m: MemoryIndex) -> bool {
        m.index() < self.num_imported_memories
    }

    /// A printable name of function `f`: its name-section name, or its index.
    pub fn func_display_name(&self, f: FuncIndex) -> String {
        match self.func_names.get(&f) {
            Some(name) => name.clone(),
            None => format!("<wasm function {}>", f.0),
        }
    }

    /// The data segment `d`.
    pub fn data_segment(&self, d: DataIndex) -> &DataSegment {
        &self.data[d.index()]
    }
}
