//! Reference types and type definitions (the GC proposal's type system):
//! heap types with their subtyping, and the struct, array and function
//! types that recursion groups define.

use crate::{FuncType, TypeIndex, WasmError, WasmResult, WasmValType};
use std::fmt;

/// Which type a concrete heap type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeRef {
    /// A type of the module, by its index there.
    Module(TypeIndex),
    /// A type by its engine-wide canonical id: the form outside the module.
    Engine(u32),
    /// A type of the same recursion group, by its position in the group:
    /// only inside the keys that canonicalize recursion groups.
    RecGroup(u32),
}

/// The heap type of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// Any function (`func`).
    Func,
    /// No function (`nofunc`): the bottom of the function hierarchy.
    NoFunc,
    /// Host references (`extern`).
    Extern,
    /// No host reference (`noextern`).
    NoExtern,
    /// Exceptions (`exn`).
    Exn,
    /// No exception (`noexn`).
    NoExn,
    /// Anything of the GC hierarchy (`any`).
    Any,
    /// Comparable references (`eq`).
    Eq,
    /// Unboxed 31-bit integers (`i31`).
    I31,
    /// Any struct (`struct`).
    Struct,
    /// Any array (`array`).
    Array,
    /// Nothing of the GC hierarchy (`none`).
    None,
    /// A function of the given type.
    ConcreteFunc(TypeRef),
    /// A struct of the given type.
    ConcreteStruct(TypeRef),
    /// An array of the given type.
    ConcreteArray(TypeRef),
    /// Any continuation (`cont`).
    Cont,
    /// No continuation (`nocont`): the bottom of the continuation hierarchy.
    NoCont,
    /// A continuation of the given continuation type.
    ConcreteCont(TypeRef),
}

impl HeapType {
    /// The concrete type named, if any.
    pub fn type_ref(self) -> Option<TypeRef> {
        match self {
            HeapType::ConcreteFunc(r)
            | HeapType::ConcreteStruct(r)
            | HeapType::ConcreteArray(r)
            | HeapType::ConcreteCont(r) => Some(r),
            _ => None,
        }
    }

    fn with_type_ref(self, r: TypeRef) -> HeapType {
        match self {
            HeapType::ConcreteFunc(_) => HeapType::ConcreteFunc(r),
            HeapType::ConcreteStruct(_) => HeapType::ConcreteStruct(r),
            HeapType::ConcreteArray(_) => HeapType::ConcreteArray(r),
            HeapType::ConcreteCont(_) => HeapType::ConcreteCont(r),
            other => other,
        }
    }

    /// The top of this type's hierarchy (`func`, `extern`, `exn`, `cont` or
    /// `any`).
    pub fn top(self) -> HeapType {
        use HeapType as H;
        match self {
            H::Func | H::NoFunc | H::ConcreteFunc(_) => H::Func,
            H::Extern | H::NoExtern => H::Extern,
            H::Exn | H::NoExn => H::Exn,
            H::Cont | H::NoCont | H::ConcreteCont(_) => H::Cont,
            _ => H::Any,
        }
    }

    /// Whether this is the bottom of its hierarchy.
    pub fn is_bottom(self) -> bool {
        matches!(
            self,
            HeapType::NoFunc
                | HeapType::NoExtern
                | HeapType::NoExn
                | HeapType::NoCont
                | HeapType::None
        )
    }

    /// Whether every value of (canonical) heap type `self` is of heap type
    /// `other`; `concrete(a, b)` decides between engine type ids.
    pub fn is_subtype_of(self, other: HeapType, concrete: &dyn Fn(u32, u32) -> bool) -> bool {
        use HeapType as H;
        if self == other {
            return true;
        }
        if self.top() != other.top() {
            return false;
        }
        match (self, other) {
            (a, _) if a.is_bottom() => true,
            (_, b) if b == b.top() => true,
            (H::ConcreteFunc(TypeRef::Engine(a)), H::ConcreteFunc(TypeRef::Engine(b)))
            | (H::ConcreteStruct(TypeRef::Engine(a)), H::ConcreteStruct(TypeRef::Engine(b)))
            | (H::ConcreteArray(TypeRef::Engine(a)), H::ConcreteArray(TypeRef::Engine(b)))
            | (H::ConcreteCont(TypeRef::Engine(a)), H::ConcreteCont(TypeRef::Engine(b))) => {
                concrete(a, b)
            }
            (H::I31 | H::Struct | H::Array | H::ConcreteStruct(_) | H::ConcreteArray(_), H::Eq) => {
                true
            }
            (H::ConcreteStruct(_), H::Struct) | (H::ConcreteArray(_), H::Array) => true,
            _ => false,
        }
    }
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

    /// Whether `null` is a value of this type.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// Whether references of this type point to functions.
    pub fn is_func(&self) -> bool {
        self.heap.top() == HeapType::Func
    }

    /// Whether references of this type are continuations (16 bytes wide:
    /// the continuation and its revision).
    pub fn is_cont(&self) -> bool {
        self.heap.top() == HeapType::Cont
    }

    /// This type with each concrete type reference passed through `f`.
    pub fn map_type_refs(self, f: &impl Fn(TypeRef) -> TypeRef) -> RefType {
        let heap = match self.heap.type_ref() {
            Some(r) => self.heap.with_type_ref(f(r)),
            None => self.heap,
        };
        RefType { heap, ..self }
    }

    /// This type with module type indices replaced by the canonical ids in
    /// `type_ids`.
    pub fn canonicalize(self, type_ids: &[u32]) -> RefType {
        self.map_type_refs(&|r| crate::types::canonical_ref(r, type_ids))
    }

    /// Whether every value of (canonical) type `self` is of type `other`.
    pub fn is_subtype_of(&self, other: &RefType, concrete: &dyn Fn(u32, u32) -> bool) -> bool {
        (other.nullable || !self.nullable) && self.heap.is_subtype_of(other.heap, concrete)
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            HeapType::Func => "func",
            HeapType::NoFunc => "nofunc",
            HeapType::Extern => "extern",
            HeapType::NoExtern => "noextern",
            HeapType::Exn => "exn",
            HeapType::NoExn => "noexn",
            HeapType::Any => "any",
            HeapType::Eq => "eq",
            HeapType::I31 => "i31",
            HeapType::Struct => "struct",
            HeapType::Array => "array",
            HeapType::None => "none",
            HeapType::Cont => "cont",
            HeapType::NoCont => "nocont",
            concrete => {
                return match concrete.type_ref() {
                    Some(TypeRef::Module(t)) => write!(f, "{}", t.0),
                    Some(TypeRef::Engine(id)) => write!(f, "<type {id}>"),
                    Some(TypeRef::RecGroup(i)) => write!(f, "<rec {i}>"),
                    None => Ok(()),
                };
            }
        };
        f.write_str(name)
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, self.heap) {
            (true, HeapType::Func) => f.write_str("funcref"),
            (true, HeapType::Extern) => f.write_str("externref"),
            (true, HeapType::Exn) => f.write_str("exnref"),
            (true, HeapType::Any) => f.write_str("anyref"),
            (nullable, heap) => {
                let null = if nullable { "null " } else { "" };
                write!(f, "(ref {null}{heap})")
            }
        }
    }
}

/// How a struct field or array element is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// A packed 8-bit integer.
    I8,
    /// A packed 16-bit integer.
    I16,
    /// A value.
    Val(WasmValType),
}

impl StorageType {
    /// Whether a field or element stored so holds a reference the garbage
    /// collector traces (see [`WasmValType::is_gc_reference`]).
    pub fn is_gc_reference(&self) -> bool {
        matches!(self, StorageType::Val(ty) if ty.is_gc_reference())
    }

    /// Whether a field or element stored so holds a continuation reference
    /// (see [`WasmValType::is_cont_reference`]).
    pub fn is_cont_reference(&self) -> bool {
        matches!(self, StorageType::Val(ty) if ty.is_cont_reference())
    }
}

/// A struct field or array element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldType {
    /// How it is stored.
    pub storage: StorageType,
    /// Whether it can be changed.
    pub mutable: bool,
}

/// What a type definition defines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CompositeType {
    /// A function type.
    Func(FuncType),
    /// A struct type.
    Struct(Box<[FieldType]>),
    /// An array type.
    Array(FieldType),
    /// A continuation type: continuations of functions of the named type.
    Cont(TypeRef),
}

/// A type definition: a composite type, its declared supertype, and
/// whether it may have subtypes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubType {
    /// Whether no type may declare this one as its supertype.
    pub is_final: bool,
    /// The declared supertype.
    pub supertype: Option<TypeRef>,
    /// The type itself.
    pub composite: CompositeType,
}

impl SubType {
    /// A final function type with no supertype (the MVP's `(type (func))`).
    pub fn func(ty: FuncType) -> SubType {
        SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Func(ty),
        }
    }

    /// The function type, if this defines one.
    pub fn as_func(&self) -> Option<&FuncType> {
        match &self.composite {
            CompositeType::Func(f) => Some(f),
            _ => None,
        }
    }

    /// This definition with each concrete type reference passed through
    /// `f` (the supertype included).
    pub fn map_type_refs(&self, f: &impl Fn(TypeRef) -> TypeRef) -> SubType {
        let field = |field: &FieldType| FieldType {
            storage: match field.storage {
                StorageType::Val(v) => StorageType::Val(v.map_type_refs(f)),
                packed => packed,
            },
            mutable: field.mutable,
        };
        SubType {
            is_final: self.is_final,
            supertype: self.supertype.map(f),
            composite: match &self.composite {
                CompositeType::Func(ty) => CompositeType::Func(ty.map_type_refs(f)),
                CompositeType::Struct(fields) => {
                    CompositeType::Struct(fields.iter().map(field).collect())
                }
                CompositeType::Array(element) => CompositeType::Array(field(element)),
                CompositeType::Cont(func) => CompositeType::Cont(f(*func)),
            },
        }
    }
}

/// The kind of composite type a module type index names, for converting
/// references to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompositeKind {
    /// A function type.
    Func,
    /// A struct type.
    Struct,
    /// An array type.
    Array,
    /// A continuation type.
    Cont,
}

/// Converts a wasmparser reference type; `kind_of` gives the kind of each
/// module type index.
pub(crate) fn convert_ref_type(
    ty: wasmparser::RefType,
    kind_of: &dyn Fn(u32) -> Option<CompositeKind>,
) -> WasmResult<RefType> {
    use wasmparser::{AbstractHeapType as A, HeapType as H};
    let heap = match ty.heap_type() {
        H::Abstract { shared: true, .. } => {
            return Err(WasmError::Unsupported("shared-everything-threads".into()));
        }
        H::Abstract { shared: false, ty } => match ty {
            A::Func => HeapType::Func,
            A::NoFunc => HeapType::NoFunc,
            A::Extern => HeapType::Extern,
            A::NoExtern => HeapType::NoExtern,
            A::Exn => HeapType::Exn,
            A::NoExn => HeapType::NoExn,
            A::Any => HeapType::Any,
            A::Eq => HeapType::Eq,
            A::I31 => HeapType::I31,
            A::Struct => HeapType::Struct,
            A::Array => HeapType::Array,
            A::None => HeapType::None,
            A::Cont => HeapType::Cont,
            A::NoCont => HeapType::NoCont,
        },
        H::Concrete(index) | H::Exact(index) => {
            let Some(index) = index.as_module_index() else {
                return Err(WasmError::Bug(
                    "a type reference that is not a module index".into(),
                ));
            };
            let r = TypeRef::Module(TypeIndex(index));
            match kind_of(index) {
                Some(CompositeKind::Func) => HeapType::ConcreteFunc(r),
                Some(CompositeKind::Struct) => HeapType::ConcreteStruct(r),
                Some(CompositeKind::Array) => HeapType::ConcreteArray(r),
                Some(CompositeKind::Cont) => HeapType::ConcreteCont(r),
                None => return Err(WasmError::Bug(format!("unknown type {index}"))),
            }
        }
    };
    Ok(RefType {
        nullable: ty.is_nullable(),
        heap,
    })
}

/// The kind of a wasmparser composite type.
pub(crate) fn composite_kind(ty: &wasmparser::CompositeType) -> WasmResult<CompositeKind> {
    if ty.shared {
        return Err(WasmError::Unsupported("shared-everything-threads".into()));
    }
    if ty.descriptor_idx.is_some() || ty.describes_idx.is_some() {
        return Err(WasmError::Unsupported("custom-descriptors".into()));
    }
    match &ty.inner {
        wasmparser::CompositeInnerType::Func(_) => Ok(CompositeKind::Func),
        wasmparser::CompositeInnerType::Struct(_) => Ok(CompositeKind::Struct),
        wasmparser::CompositeInnerType::Array(_) => Ok(CompositeKind::Array),
        wasmparser::CompositeInnerType::Cont(_) => Ok(CompositeKind::Cont),
    }
}

/// Converts a wasmparser type definition.
pub(crate) fn convert_sub_type(
    ty: &wasmparser::SubType,
    kind_of: &dyn Fn(u32) -> Option<CompositeKind>,
) -> WasmResult<SubType> {
    let val = |v: wasmparser::ValType| crate::types::convert_val_type_with(v, kind_of);
    let field = |f: &wasmparser::FieldType| -> WasmResult<FieldType> {
        Ok(FieldType {
            storage: match f.element_type {
                wasmparser::StorageType::I8 => StorageType::I8,
                wasmparser::StorageType::I16 => StorageType::I16,
                wasmparser::StorageType::Val(v) => StorageType::Val(val(v)?),
            },
            mutable: f.mutable,
        })
    };
    composite_kind(&ty.composite_type)?;
    let composite = match &ty.composite_type.inner {
        wasmparser::CompositeInnerType::Func(f) => {
            let list = |tys: &[wasmparser::ValType]| {
                tys.iter()
                    .map(|t| val(*t))
                    .collect::<WasmResult<Box<[_]>>>()
            };
            CompositeType::Func(FuncType {
                params: list(f.params())?,
                results: list(f.results())?,
            })
        }
        wasmparser::CompositeInnerType::Struct(s) => CompositeType::Struct(
            s.fields
                .iter()
                .map(field)
                .collect::<WasmResult<Box<[_]>>>()?,
        ),
        wasmparser::CompositeInnerType::Array(a) => CompositeType::Array(field(&a.0)?),
        wasmparser::CompositeInnerType::Cont(c) => match c.0.as_module_index() {
            Some(i) => CompositeType::Cont(TypeRef::Module(TypeIndex(i))),
            None => {
                return Err(WasmError::Bug(
                    "a continuation type naming no module type".into(),
                ));
            }
        },
    };
    let supertype = match ty.supertype_idxs.as_slice() {
        [] => None,
        [one] => match one.as_module_index() {
            Some(i) => Some(TypeRef::Module(TypeIndex(i))),
            None => {
                return Err(WasmError::Bug(
                    "a supertype that is not a module index".into(),
                ));
            }
        },
        _ => return Err(WasmError::Unsupported("multiple supertypes".into())),
    };
    Ok(SubType {
        is_final: ty.is_final,
        supertype,
        composite,
    })
}
