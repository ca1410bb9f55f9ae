//! Index spaces and types of a module, independent of wasmparser.

use crate::heap::{CompositeKind, convert_ref_type};
use crate::{HeapType, RefType, TypeRef, WasmResult};
use std::fmt;

macro_rules! index_types {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            /// The index as a `usize`, for indexing vectors.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

index_types! {
    /// A function in the module's function index space (imports first).
    FuncIndex;
    /// A function defined by the module (index space without imports).
    DefinedFuncIndex;
    /// A type in the module's type section.
    TypeIndex;
    /// A table in the module's table index space.
    TableIndex;
    /// A memory in the module's memory index space.
    MemoryIndex;
    /// A global in the module's global index space.
    GlobalIndex;
    /// An element segment.
    ElemIndex;
    /// A data segment.
    DataIndex;
    /// A tag in the module's tag index space (imports first).
    TagIndex;
}

/// A value type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WasmValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference.
    Ref(RefType),
}

impl fmt::Display for WasmValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasmValType::I32 => f.write_str("i32"),
            WasmValType::I64 => f.write_str("i64"),
            WasmValType::F32 => f.write_str("f32"),
            WasmValType::F64 => f.write_str("f64"),
            WasmValType::V128 => f.write_str("v128"),
            WasmValType::Ref(r) => r.fmt(f),
        }
    }
}

impl WasmValType {
    /// This type with each concrete type reference passed through `f`.
    pub fn map_type_refs(self, f: &impl Fn(TypeRef) -> TypeRef) -> WasmValType {
        match self {
            WasmValType::Ref(r) => WasmValType::Ref(r.map_type_refs(f)),
            other => other,
        }
    }

    /// This type with module type indices replaced by the canonical ids in
    /// `type_ids`.
    pub fn canonicalize(self, type_ids: &[u32]) -> WasmValType {
        self.map_type_refs(&|r| canonical_ref(r, type_ids))
    }

    /// Whether values of this type are references the garbage collector
    /// traces: one word of the `any`, `extern` or `exn` hierarchy (objects
    /// of the GC heap, or i31s). Function references point to objects the
    /// store owns; continuation references are traced too, but are two
    /// words (see [`is_cont_reference`](Self::is_cont_reference)).
    pub fn is_gc_reference(&self) -> bool {
        matches!(
            self,
            WasmValType::Ref(r) if matches!(r.heap.top(), HeapType::Any | HeapType::Extern | HeapType::Exn)
        )
    }

    /// Whether values of this type are continuation references: an object
    /// address and a revision, which the collector follows to the
    /// continuation while the revision is current.
    pub fn is_cont_reference(&self) -> bool {
        matches!(self, WasmValType::Ref(r) if r.is_cont())
    }

    /// Whether the collector looks at values of this type: GC references
    /// or continuation references.
    pub fn is_traced(&self) -> bool {
        self.is_gc_reference() || self.is_cont_reference()
    }

    /// Whether every value of (canonical) type `self` is of type `other`;
    /// `concrete(a, b)` decides between engine type ids.
    pub fn is_subtype_of(&self, other: &WasmValType, concrete: &dyn Fn(u32, u32) -> bool) -> bool {
        match (self, other) {
            (WasmValType::Ref(a), WasmValType::Ref(b)) => a.is_subtype_of(b, concrete),
            (a, b) => a == b,
        }
    }
}

/// `r` with a module type index replaced by its canonical id.
pub fn canonical_ref(r: TypeRef, type_ids: &[u32]) -> TypeRef {
    match r {
        TypeRef::Module(t) => TypeRef::Engine(type_ids[t.index()]),
        other => other,
    }
}

/// A function type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FuncType {
    /// Parameter types.
    pub params: Box<[WasmValType]>,
    /// Result types.
    pub results: Box<[WasmValType]>,
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[WasmValType]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "(func (param {}) (result {}))",
            list(&self.params),
            list(&self.results)
        )
    }
}

/// Size limits of a memory or table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Initial size.
    pub min: u64,
    /// Maximum size, if any.
    pub max: Option<u64>,
}

impl Limits {
    /// Whether limits `self` (of an export) match the import's `wanted`.
    pub fn matches(&self, wanted: &Limits) -> bool {
        self.min >= wanted.min
            && match (self.max, wanted.max) {
                (_, None) => true,
                (Some(have), Some(want)) => have <= want,
                (None, Some(_)) => false,
            }
    }
}

/// The type of the indices (addresses, sizes) of a memory or table: `i32`,
/// or `i64` with the memory64 proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IndexType {
    /// 32-bit indices.
    #[default]
    I32,
    /// 64-bit indices.
    I64,
}

/// A table type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    /// Element type.
    pub element: RefType,
    /// Size limits in elements.
    pub limits: Limits,
    /// The type of element indices.
    pub index_type: IndexType,
}

/// A linear memory type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Size limits in 64 KiB pages.
    pub limits: Limits,
    /// The type of addresses.
    pub index_type: IndexType,
}

/// A global type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// Value type.
    pub content: WasmValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// Converts a wasmparser value type; `kind_of` gives the kind of each
/// module type index (for concrete references).
pub(crate) fn convert_val_type_with(
    ty: wasmparser::ValType,
    kind_of: &dyn Fn(u32) -> Option<CompositeKind>,
) -> WasmResult<WasmValType> {
    use wasmparser::ValType as V;
    Ok(match ty {
        V::I32 => WasmValType::I32,
        V::I64 => WasmValType::I64,
        V::F32 => WasmValType::F32,
        V::F64 => WasmValType::F64,
        V::V128 => WasmValType::V128,
        V::Ref(r) => WasmValType::Ref(convert_ref_type(r, kind_of)?),
    })
}

impl FuncType {
    /// A function type from its parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = WasmValType>,
        results: impl IntoIterator<Item = WasmValType>,
    ) -> FuncType {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// This type with each concrete type reference passed through `f`.
    pub fn map_type_refs(&self, f: &impl Fn(TypeRef) -> TypeRef) -> FuncType {
        let map = |v: &[WasmValType]| v.iter().map(|t| t.map_type_refs(f)).collect();
        FuncType {
            params: map(&self.params),
            results: map(&self.results),
        }
    }

    /// This type with module type indices replaced by the canonical ids in
    /// `type_ids`.
    pub fn canonicalize(&self, type_ids: &[u32]) -> FuncType {
        self.map_type_refs(&|r| canonical_ref(r, type_ids))
    }

    /// The parameter types.
    pub fn params(&self) -> impl ExactSizeIterator<Item = WasmValType> + '_ {
        self.params.iter().copied()
    }

    /// The result types.
    pub fn results(&self) -> impl ExactSizeIterator<Item = WasmValType> + '_ {
        self.results.iter().copied()
    }
}

/// Whether a global can be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// Immutable.
    Const,
    /// Mutable.
    Var,
}

impl GlobalType {
    /// A global type.
    pub fn new(content: WasmValType, mutability: Mutability) -> GlobalType {
        GlobalType {
            content,
            mutable: mutability == Mutability::Var,
        }
    }

    /// The value type.
    pub fn content(&self) -> WasmValType {
        self.content
    }

    /// Whether the global can be changed.
    pub fn mutability(&self) -> Mutability {
        if self.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        }
    }
}

impl MemoryType {
    /// A 32-bit memory type with limits in 64 KiB pages.
    pub fn new(min: u32, max: Option<u32>) -> MemoryType {
        MemoryType {
            limits: Limits {
                min: u64::from(min),
                max: max.map(u64::from),
            },
            index_type: IndexType::I32,
        }
    }

    /// A 64-bit memory type (memory64) with limits in 64 KiB pages.
    pub fn new64(min: u64, max: Option<u64>) -> MemoryType {
        MemoryType {
            limits: Limits { min, max },
            index_type: IndexType::I64,
        }
    }

    /// Whether addresses are 64-bit.
    pub fn is_64(&self) -> bool {
        self.index_type == IndexType::I64
    }
}

impl TableType {
    /// A table type with 32-bit indices and limits in elements.
    pub fn new(element: RefType, min: u32, max: Option<u32>) -> TableType {
        TableType {
            element,
            limits: Limits {
                min: u64::from(min),
                max: max.map(u64::from),
            },
            index_type: IndexType::I32,
        }
    }

    /// A table type with 64-bit indices (table64) and limits in elements.
    pub fn new64(element: RefType, min: u64, max: Option<u64>) -> TableType {
        TableType {
            element,
            limits: Limits { min, max },
            index_type: IndexType::I64,
        }
    }

    /// Whether element indices are 64-bit.
    pub fn is_64(&self) -> bool {
        self.index_type == IndexType::I64
    }
}
