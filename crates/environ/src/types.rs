//! Index spaces and types of a module, independent of wasmparser.

use crate::{WasmError, WasmResult};
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

/// The heap type of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// Any function (`func`).
    Func,
    /// Host references (`extern`).
    Extern,
    /// Exceptions (`exn`).
    Exn,
    /// A function of a type of the module (`(ref $t)`), as the module
    /// names it.
    ConcreteFunc(TypeIndex),
    /// A function of the type with this engine-wide canonical id: the form
    /// of `ConcreteFunc` outside its module (imports, exports, the API).
    CanonicalFunc(u32),
}

/// A reference type: nullability plus a heap type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RefType {
    /// Whether `null` is a value of this type.
    pub nullable: bool,
    /// What the reference points to.
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`.
    pub const FUNCREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Func,
    };
    /// `externref`.
    pub const EXTERNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Extern,
    };

    /// Whether references of this type point to functions.
    pub fn is_func(&self) -> bool {
        matches!(
            self.heap,
            HeapType::Func | HeapType::ConcreteFunc(_) | HeapType::CanonicalFunc(_)
        )
    }

    /// This type with module type indices replaced by the canonical ids in
    /// `type_ids`.
    pub fn canonicalize(self, type_ids: &[u32]) -> RefType {
        let heap = match self.heap {
            HeapType::ConcreteFunc(t) => HeapType::CanonicalFunc(type_ids[t.index()]),
            other => other,
        };
        RefType { heap, ..self }
    }

    /// Whether every value of (canonical) type `self` is of type `other`.
    pub fn is_subtype_of(&self, other: &RefType) -> bool {
        let heap = match (self.heap, other.heap) {
            (a, b) if a == b => true,
            (HeapType::CanonicalFunc(_), HeapType::Func) => true,
            _ => false,
        };
        heap && (other.nullable || !self.nullable)
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (nullable, heap) => {
                let null = if nullable { "null " } else { "" };
                match heap {
                    HeapType::Func => write!(f, "(ref {null}func)"),
                    HeapType::Extern => write!(f, "(ref {null}extern)"),
                    HeapType::Exn => write!(f, "(ref {null}exn)"),
                    HeapType::ConcreteFunc(t) => write!(f, "(ref {null}{})", t.0),
                    HeapType::CanonicalFunc(id) => write!(f, "(ref {null}<type {id}>)"),
                }
            }
        }
    }
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
    /// This type with module type indices replaced by canonical ids.
    pub fn canonicalize(self, type_ids: &[u32]) -> WasmValType {
        match self {
            WasmValType::Ref(r) => WasmValType::Ref(r.canonicalize(type_ids)),
            other => other,
        }
    }

    /// Whether every value of (canonical) type `self` is of type `other`.
    pub fn is_subtype_of(&self, other: &WasmValType) -> bool {
        match (self, other) {
            (WasmValType::Ref(a), WasmValType::Ref(b)) => a.is_subtype_of(b),
            (a, b) => a == b,
        }
    }

    /// The module type indices this type refers to.
    fn type_reference(&self) -> Option<TypeIndex> {
        match self {
            WasmValType::Ref(RefType {
                heap: HeapType::ConcreteFunc(t),
                ..
            }) => Some(*t),
            _ => None,
        }
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

/// A table type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableType {
    /// Element type.
    pub element: RefType,
    /// Size limits in elements.
    pub limits: Limits,
}

/// A linear memory type (32-bit memories only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Size limits in 64 KiB pages.
    pub limits: Limits,
}

/// A global type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// Value type.
    pub content: WasmValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// Converts wasmparser types into fxtime's, rejecting what fxtime does not
/// support yet.
pub fn convert_val_type(ty: wasmparser::ValType) -> WasmResult<WasmValType> {
    use wasmparser::ValType as V;
    Ok(match ty {
        V::I32 => WasmValType::I32,
        V::I64 => WasmValType::I64,
        V::F32 => WasmValType::F32,
        V::F64 => WasmValType::F64,
        V::V128 => return Err(WasmError::Unsupported("simd".into())),
        V::Ref(r) => WasmValType::Ref(convert_ref_type(r)?),
    })
}

pub(crate) fn convert_ref_type(ty: wasmparser::RefType) -> WasmResult<RefType> {
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    let heap = match ty.heap_type() {
        H::Abstract {
            shared: false,
            ty: A::Func,
        } => HeapType::Func,
        H::Abstract {
            shared: false,
            ty: A::Extern,
        } => HeapType::Extern,
        H::Abstract {
            shared: false,
            ty: A::Exn,
        } => HeapType::Exn,
        H::Concrete(idx) => match idx.as_module_index() {
            Some(i) => HeapType::ConcreteFunc(TypeIndex(i)),
            None => return Err(WasmError::Unsupported("gc".into())),
        },
        _ => return Err(WasmError::Unsupported("gc".into())),
    };
    Ok(RefType {
        nullable: ty.is_nullable(),
        heap,
    })
}

pub(crate) fn convert_func_type(ty: &wasmparser::FuncType) -> WasmResult<FuncType> {
    let convert = |tys: &[wasmparser::ValType]| {
        tys.iter()
            .map(|t| convert_val_type(*t))
            .collect::<WasmResult<Box<[_]>>>()
    };
    Ok(FuncType {
        params: convert(ty.params())?,
        results: convert(ty.results())?,
    })
}

impl RefType {
    /// Whether `null` is a value of this type.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }
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

    /// This type with module type indices replaced by the canonical ids in
    /// `type_ids`.
    pub fn canonicalize(&self, type_ids: &[u32]) -> FuncType {
        let map = |v: &[WasmValType]| v.iter().map(|t| t.canonicalize(type_ids)).collect();
        FuncType {
            params: map(&self.params),
            results: map(&self.results),
        }
    }

    /// The module type indices this type refers to.
    pub fn type_references(&self) -> impl Iterator<Item = TypeIndex> + '_ {
        self.params
            .iter()
            .chain(self.results.iter())
            .filter_map(WasmValType::type_reference)
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
    /// A memory type with limits in 64 KiB pages.
    pub fn new(min: u32, max: Option<u32>) -> MemoryType {
        MemoryType {
            limits: Limits {
                min: u64::from(min),
                max: max.map(u64::from),
            },
        }
    }
}

impl TableType {
    /// A table type with limits in elements.
    pub fn new(element: RefType, min: u32, max: Option<u32>) -> TableType {
        TableType {
            element,
            limits: Limits {
                min: u64::from(min),
                max: max.map(u64::from),
            },
        }
    }
}
