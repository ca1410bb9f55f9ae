//! [`Val`]: WebAssembly values as the host sees them, and their raw form in
//! the 16-byte slots trampolines use.

use crate::store::StoreId;
use crate::{AsContext, AsContextMut, Func, ThrownException};
use anyhow::{Result, bail};
use fxtime_environ::gc::GcKind;
use fxtime_environ::{HeapType, RefType, TypeRef, WasmValType as ValType};
use fxtime_runtime::gc;
use fxtime_runtime::store::{HostRoot, StoreOpaque};
use fxtime_runtime::types::TypeRegistry;
use std::any::Any;
use std::ptr::NonNull;

/// A WebAssembly value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bits.
    F32(u32),
    /// An `f64`, as its bits.
    F64(u64),
    /// A `v128`: its 16 bytes, lane 0 first, as a little-endian integer.
    V128(u128),
    /// A function reference, `None` being null.
    FuncRef(Option<Func>),
    /// A host reference, `None` being null.
    ExternRef(Option<ExternRef>),
    /// An exception reference, `None` being null.
    ExnRef(Option<ExnRef>),
    /// A reference of the GC hierarchy (`anyref`, `eqref`, ...), `None`
    /// being null.
    AnyRef(Option<AnyRef>),
    /// A continuation reference, `None` being null.
    ContRef(Option<ContRef>),
}

/// A reference to a suspended or fresh continuation (`contref`), as wasm
/// handed it out. The host hands it back to wasm or resumes it itself
/// ([`ContRef::resume`]), once: any use after the first traps
/// "continuation already consumed".
///
/// Like an [`AnyRef`], it keeps its continuation alive while the innermost
/// [`RootScope`](crate::RootScope) it was made in lasts; used after that,
/// it is refused with an error.
#[derive(Debug, Clone, Copy)]
pub struct ContRef {
    pub(crate) store: StoreId,
    /// Object address and revision.
    pub(crate) raw: u128,
    /// Canonical id of its continuation type, when the type it came out
    /// with was concrete.
    pub(crate) type_id: Option<u32>,
    /// What keeps the continuation alive for the host.
    pub(crate) root: HostRoot,
}

impl ContRef {
    /// Its raw form, checking that it belongs to `store` (`opaque`) and is
    /// still rooted.
    pub(crate) fn raw_in(&self, store: StoreId, opaque: &StoreOpaque) -> Result<u128> {
        if self.store != store {
            bail!("continuation reference used with another store");
        }
        match opaque.rooted_cont(self.root) {
            Some(raw) => Ok(raw),
            None => bail!("contref used after the root scope it was made in ended"),
        }
    }
}

/// A non-null reference of the `any` hierarchy (`anyref`, `eqref`,
/// `i31ref`, `structref`, `arrayref`, ...): an [`I31`], which needs no
/// store and is valid in any, or an object of a store's GC heap (a struct,
/// an array, or a host value converted from an `externref`).
///
/// A reference to an object keeps it alive while the innermost
/// [`RootScope`](crate::RootScope) it was made in lasts (while the host
/// function it was given to runs, or, made outside any, as long as the
/// store); used after that, it is refused with an error.
#[derive(Debug, Clone, Copy)]
pub struct AnyRef {
    pub(crate) object: Option<ObjectInfo>,
    /// Its word in generated code.
    pub(crate) word: u64,
    /// What keeps an object alive for the host.
    pub(crate) root: Option<HostRoot>,
}

/// References are equal when they refer to the same thing (the same i31,
/// the same object of the same store), whatever keeps them alive.
macro_rules! identity_eq {
    ($($ty:ident => |$r:ident| $key:expr;)*) => {$(
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                let key = |$r: &$ty| $key;
                key(self) == key(other)
            }
        }
        impl Eq for $ty {}
        impl std::hash::Hash for $ty {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                let key = |$r: &$ty| $key;
                key(self).hash(state);
            }
        }
    )*};
}

identity_eq! {
    AnyRef => |r| (r.object.map(|o| o.store), r.word);
    ContRef => |r| (r.store, r.raw);
    ThrownException => |r| (r.store, r.ptr);
}

/// What a reference to a heap object knows of it, read from its header
/// while its store was at hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ObjectInfo {
    pub(crate) store: StoreId,
    pub(crate) kind: GcKind,
    pub(crate) type_id: u32,
}

impl ObjectInfo {
    /// The object whose (non-null, non-i31) word `word` is, in `store`.
    fn read(store: StoreId, word: u64) -> Option<ObjectInfo> {
        let object = NonNull::new(word as usize as *mut u8)?;
        // SAFETY: generated code and the runtime hand out only words of
        // live objects of the store the value came from, and objects live
        // as long as their store.
        let (kind, type_id) = unsafe { (gc::kind(object)?, gc::type_id(object)) };
        Some(ObjectInfo {
            store,
            kind,
            type_id,
        })
    }
}

/// The object info of a non-null word of the `any` or `extern` hierarchy
/// (`None` for an i31).
fn object_of(store: StoreId, word: u64) -> Option<ObjectInfo> {
    if word & 1 == 1 {
        None
    } else {
        ObjectInfo::read(store, word)
    }
}

impl AnyRef {
    /// The reference to an unboxed 31-bit integer.
    pub fn from_i31(i31: I31) -> AnyRef {
        AnyRef {
            object: None,
            word: u64::from((i31.0 << 1) | 1),
            root: None,
        }
    }

    /// The integer, if this is an `i31` reference.
    pub fn as_i31(&self) -> Option<I31> {
        (self.word & 1 == 1).then_some(I31((self.word as u32) >> 1))
    }

    /// Whether this is a struct.
    pub fn is_struct(&self) -> bool {
        self.object.is_some_and(|o| o.kind == GcKind::Struct)
    }

    /// Whether this is an array.
    pub fn is_array(&self) -> bool {
        self.object.is_some_and(|o| o.kind == GcKind::Array)
    }

    /// The host value converted to this reference (`any.convert_extern`),
    /// as an `externref` again; `None` for i31s, structs and arrays.
    pub fn as_host(&self) -> Option<ExternRef> {
        self.object
            .filter(|o| o.kind == GcKind::Extern)
            .map(|_| ExternRef(*self))
    }

    /// `any.convert_extern`: the host reference as an `anyref`.
    pub fn convert_extern(e: ExternRef) -> AnyRef {
        e.0
    }

    /// Its word, checking that an object belongs to `store` (`opaque`) and
    /// is still rooted; `what` names the reference in errors.
    pub(crate) fn word_in(&self, store: StoreId, opaque: &StoreOpaque, what: &str) -> Result<u64> {
        let Some(object) = self.object else {
            return Ok(self.word);
        };
        if object.store != store {
            bail!("{what} used with another store");
        }
        match self.root.and_then(|root| opaque.rooted(root)) {
            Some(word) => Ok(word),
            None => bail!("{what} used after the root scope it was made in ended"),
        }
    }

    /// The reference a non-null word of the `any` or `extern` hierarchy
    /// stands for, rooted for the host in `opaque`.
    pub(crate) fn from_word(store: StoreId, word: u64, opaque: &StoreOpaque) -> AnyRef {
        AnyRef {
            object: object_of(store, word),
            word,
            root: opaque.root(word),
        }
    }

    /// Whether this reference is of heap type `heap` (an abstract or
    /// canonical type of the `any` hierarchy).
    fn is_of(&self, types: &TypeRegistry, heap: HeapType) -> bool {
        let Some(object) = self.object else {
            return matches!(heap, HeapType::Any | HeapType::Eq | HeapType::I31);
        };
        match (object.kind, heap) {
            (_, HeapType::Any) => true,
            (GcKind::Extern, _) => false,
            (_, HeapType::Eq) => true,
            (GcKind::Struct, HeapType::Struct) | (GcKind::Array, HeapType::Array) => true,
            (GcKind::Struct, HeapType::ConcreteStruct(TypeRef::Engine(id)))
            | (GcKind::Array, HeapType::ConcreteArray(TypeRef::Engine(id))) => {
                types.is_subtype(object.type_id, id)
            }
            _ => false,
        }
    }
}

/// A 31-bit integer, as `i31ref` holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct I31(u32);

impl I31 {
    /// The low 31 bits of `value`.
    pub fn wrapping_u32(value: u32) -> I31 {
        I31(value & 0x7fff_ffff)
    }

    /// The low 31 bits of `value` (so -1 stays -1 as `get_i32` reads it).
    pub fn wrapping_i32(value: i32) -> I31 {
        I31::wrapping_u32(value as u32)
    }

    /// The value zero-extended, as `i31.get_u` reads it.
    pub fn get_u32(self) -> u32 {
        self.0
    }

    /// The value sign-extended from bit 30, as `i31.get_s` reads it.
    pub fn get_i32(self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }
}

/// A reference to a wasm exception (`exnref`), rooted like an
/// [`AnyRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExnRef(ThrownException);

impl ExnRef {
    /// The exception, with its tag and payload.
    pub fn exception(&self) -> ThrownException {
        self.0
    }
}

/// A non-null `externref`: a host value in its store's GC heap, or a
/// reference of the `any` hierarchy converted by `extern.convert_any`. It
/// is the same word as an [`AnyRef`] (the conversions change nothing), and
/// rooted like one: once nothing reaches it (no handle's scope lasts, no
/// wasm value refers to it), a collection frees it and drops the host
/// value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExternRef(AnyRef);

impl ExternRef {
    /// Wraps `value` in a new reference owned by `store`; fails when the
    /// store's GC heap is full.
    pub fn new<T>(
        mut store: impl AsContextMut<Data = T>,
        value: impl Any + Send + Sync,
    ) -> Result<ExternRef> {
        let store = store.as_context_mut().0;
        let Some(object) = store.opaque.gc_alloc_extern(Box::new(value)) else {
            bail!("{}", fxtime_environ::TrapKind::GcHeapOutOfMemory);
        };
        let word = object.as_ptr() as usize as u64;
        Ok(ExternRef(AnyRef::from_word(store.id, word, &store.opaque)))
    }

    /// `extern.convert_any`: a reference of the `any` hierarchy as an
    /// `externref`.
    pub fn convert_any(a: AnyRef) -> ExternRef {
        ExternRef(a)
    }

    /// The wrapped host value; `None` when this reference is a converted
    /// `anyref` (an i31, a struct or an array), belongs to another store,
    /// or is no longer rooted (see [`AnyRef`]).
    pub fn data<'a, S: AsContext + ?Sized>(
        &self,
        store: &'a S,
    ) -> Option<&'a (dyn Any + Send + Sync)> {
        let store = store.as_context().0;
        self.0.object.filter(|o| o.kind == GcKind::Extern)?;
        let word = self.0.word_in(store.id, &store.opaque, "externref").ok()?;
        let address = NonNull::new(word as usize as *mut u8)?;
        // SAFETY: the object belongs to this store and is kept alive by its
        // root (both checked).
        unsafe { store.opaque.gc().host_data(address) }
    }
}

impl Val {
    /// A null reference of type `ty`, or zero of a numeric type.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) => match r.heap.top() {
                HeapType::Func => Val::FuncRef(None),
                HeapType::Exn => Val::ExnRef(None),
                HeapType::Extern => Val::ExternRef(None),
                HeapType::Cont => Val::ContRef(None),
                _ => Val::AnyRef(None),
            },
        }
    }

    /// The `i32`, if this is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The `i64`, if this is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The `f32`, if this is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }

    /// The `f64`, if this is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// Whether this value is of type `ty` (of `store`'s engine, which
    /// decides between concrete types).
    pub fn matches(&self, store: impl AsContext, ty: ValType) -> bool {
        self.matches_in(store.as_context().0.engine.types(), ty)
    }

    pub(crate) fn matches_in(&self, types: &TypeRegistry, ty: ValType) -> bool {
        let ValType::Ref(r) = ty else {
            return matches!(
                (self, ty),
                (Val::I32(_), ValType::I32)
                    | (Val::I64(_), ValType::I64)
                    | (Val::F32(_), ValType::F32)
                    | (Val::F64(_), ValType::F64)
                    | (Val::V128(_), ValType::V128)
            );
        };
        let top = r.heap.top();
        match self {
            Val::FuncRef(f) if top == HeapType::Func => match f {
                None => r.nullable,
                Some(f) => match r.heap {
                    HeapType::Func => true,
                    HeapType::ConcreteFunc(TypeRef::Engine(id)) => {
                        types.is_subtype(f.type_id(), id)
                    }
                    _ => false,
                },
            },
            Val::ExternRef(e) if top == HeapType::Extern => {
                if e.is_some() {
                    r.heap == HeapType::Extern
                } else {
                    r.nullable
                }
            }
            Val::ExnRef(e) if top == HeapType::Exn => {
                if e.is_some() {
                    r.heap == HeapType::Exn
                } else {
                    r.nullable
                }
            }
            Val::AnyRef(a) if top == HeapType::Any => match a {
                None => r.nullable,
                Some(a) => a.is_of(types, r.heap),
            },
            Val::ContRef(c) if top == HeapType::Cont => match c {
                None => r.nullable,
                Some(c) => match (r.heap, c.type_id) {
                    (HeapType::Cont, _) => true,
                    (HeapType::ConcreteCont(TypeRef::Engine(id)), Some(have)) => {
                        types.is_subtype(have, id)
                    }
                    _ => false,
                },
            },
            _ => false,
        }
    }

    /// A type this value has (references: the nullable abstract type).
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::Ref(RefType::FUNCREF),
            Val::ExternRef(_) => ValType::Ref(RefType::EXTERNREF),
            Val::ExnRef(_) => ValType::Ref(RefType {
                nullable: true,
                heap: HeapType::Exn,
            }),
            Val::AnyRef(None) => ValType::Ref(RefType {
                nullable: true,
                heap: HeapType::Any,
            }),
            Val::AnyRef(Some(a)) => ValType::Ref(RefType {
                nullable: false,
                heap: match a.object {
                    None => HeapType::I31,
                    Some(o) => match o.kind {
                        GcKind::Struct => HeapType::ConcreteStruct(TypeRef::Engine(o.type_id)),
                        GcKind::Array => HeapType::ConcreteArray(TypeRef::Engine(o.type_id)),
                        GcKind::Extern | GcKind::Exception => HeapType::Any,
                    },
                },
            }),
            Val::ContRef(_) => ValType::Ref(RefType {
                nullable: true,
                heap: HeapType::Cont,
            }),
        }
    }

    /// The raw slot form, checking that references belong to `store`
    /// (`opaque`) and are still rooted.
    pub(crate) fn to_raw(self, store: StoreId, opaque: &StoreOpaque) -> Result<u128> {
        Ok(match self {
            Val::I32(v) => u128::from(v as u32),
            Val::I64(v) => u128::from(v as u64),
            Val::F32(v) => u128::from(v),
            Val::F64(v) => u128::from(v),
            Val::V128(v) => v,
            Val::FuncRef(None)
            | Val::ExternRef(None)
            | Val::ExnRef(None)
            | Val::AnyRef(None)
            | Val::ContRef(None) => 0,
            Val::AnyRef(Some(a)) => u128::from(a.word_in(store, opaque, "anyref")?),
            Val::ContRef(Some(c)) => c.raw_in(store, opaque)?,
            Val::ExnRef(Some(e)) => e.0.address_in(store, opaque, "exnref")? as u128,
            Val::FuncRef(Some(f)) => {
                if f.store != store {
                    bail!("function reference used with another store");
                }
                f.func_ref as u128
            }
            Val::ExternRef(Some(e)) => u128::from(e.0.word_in(store, opaque, "externref")?),
        })
    }

    /// The value of type `ty` in raw slot form, from `opaque` (store
    /// `store`), whose host roots keep any GC object it refers to alive.
    pub(crate) fn from_raw(raw: u128, ty: ValType, store: StoreId, opaque: &StoreOpaque) -> Val {
        let nonnull = |raw: u128| (raw != 0).then_some(raw as usize);
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as u64 as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw as u64),
            ValType::V128 => Val::V128(raw),
            ValType::Ref(r) if r.is_func() => {
                Val::FuncRef(nonnull(raw).map(|func_ref| Func { store, func_ref }))
            }
            ValType::Ref(r) if r.heap.top() == HeapType::Exn => Val::ExnRef(
                nonnull(raw).map(|ptr| ExnRef(ThrownException::new(store, ptr, opaque))),
            ),
            ValType::Ref(r) if r.heap.top() == HeapType::Any => {
                let word = raw as u64;
                Val::AnyRef((word != 0).then(|| AnyRef::from_word(store, word, opaque)))
            }
            ValType::Ref(r) if r.is_cont() => {
                let type_id = match r.heap {
                    HeapType::ConcreteCont(TypeRef::Engine(id)) => Some(id),
                    _ => None,
                };
                let object = raw as u64;
                Val::ContRef((object != 0).then(|| ContRef {
                    store,
                    raw,
                    type_id,
                    root: opaque.root_cont(raw),
                }))
            }
            ValType::Ref(_) => {
                let word = raw as u64;
                Val::ExternRef(
                    (word != 0).then(|| ExternRef(AnyRef::from_word(store, word, opaque))),
                )
            }
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}

impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}

impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}

/// A `v128` (see [`Val::V128`]).
impl From<u128> for Val {
    fn from(v: u128) -> Val {
        Val::V128(v)
    }
}

/// Checks that `values` match `types` one by one, naming `what` in errors.
pub(crate) fn check_types(
    registry: &TypeRegistry,
    what: &str,
    values: &[Val],
    types: &[ValType],
) -> Result<()> {
    if values.len() != types.len() {
        bail!("expected {} {what}, got {}", types.len(), values.len());
    }
    for (i, (value, ty)) in values.iter().zip(types).enumerate() {
        if !value.matches_in(registry, *ty) {
            bail!("{what} {i}: expected a value of type {ty}, got {:?}", value);
        }
    }
    Ok(())
}
