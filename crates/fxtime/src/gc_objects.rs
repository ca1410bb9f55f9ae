//! Structs and arrays from the host: their types, creating them, and
//! reading and writing their fields and elements.
//!
//! A [`StructRef`] or [`ArrayRef`] is an [`AnyRef`] known to be a struct or
//! an array: rooted the same way (see [`RootScope`](crate::RootScope)), and
//! refused with an error once its scope ended. Writes of references go
//! through the collector's write barrier, as generated code's do.

use crate::store::StoreInner;
use crate::values::{AnyRef, ObjectInfo};
use crate::{AsContext, AsContextMut, Engine, Val};
use anyhow::{Result, bail};
use fxtime_environ::gc::{
    ARRAY_DATA_OFFSET, ARRAY_LENGTH_OFFSET, GcKind, StructLayout, storage_size,
};
use fxtime_environ::{CompositeType, FieldType, StorageType, SubType, WasmValType};
use fxtime_runtime::gc;
use std::ptr::NonNull;

/// A struct type registered with an engine (final, no supertype).
#[derive(Debug, Clone)]
pub struct StructType {
    id: u32,
    fields: Box<[FieldType]>,
    layout: StructLayout,
}

impl StructType {
    /// The struct type with `fields` (their concrete references must be
    /// the engine's: `TypeRef::Engine`).
    pub fn new(engine: &Engine, fields: impl IntoIterator<Item = FieldType>) -> StructType {
        let fields: Box<[FieldType]> = fields.into_iter().collect();
        let id = engine.types().register_single(SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Struct(fields.clone()),
        });
        let layout = StructLayout::new(&fields);
        StructType { id, fields, layout }
    }

    /// The fields.
    pub fn fields(&self) -> &[FieldType] {
        &self.fields
    }
}

/// An array type registered with an engine (final, no supertype).
#[derive(Debug, Clone)]
pub struct ArrayType {
    id: u32,
    element: FieldType,
}

impl ArrayType {
    /// The array type of elements `element`.
    pub fn new(engine: &Engine, element: FieldType) -> ArrayType {
        let id = engine.types().register_single(SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Array(element),
        });
        ArrayType { id, element }
    }

    /// The element type.
    pub fn element(&self) -> FieldType {
        self.element
    }
}

/// A reference to a struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StructRef(AnyRef);

/// A reference to an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayRef(AnyRef);

impl AnyRef {
    /// This reference as a struct, if it is one.
    pub fn as_struct(&self) -> Option<StructRef> {
        self.is_struct().then_some(StructRef(*self))
    }

    /// This reference as an array, if it is one.
    pub fn as_array(&self) -> Option<ArrayRef> {
        self.is_array().then_some(ArrayRef(*self))
    }
}

impl From<StructRef> for AnyRef {
    fn from(r: StructRef) -> AnyRef {
        r.0
    }
}

impl From<ArrayRef> for AnyRef {
    fn from(r: ArrayRef) -> AnyRef {
        r.0
    }
}

/// The value type a field of `storage` is read as (packed ones as `i32`).
fn unpacked(storage: StorageType) -> WasmValType {
    match storage {
        StorageType::I8 | StorageType::I16 => WasmValType::I32,
        StorageType::Val(ty) => ty,
    }
}

/// The raw form of `value` for a field or element of `field`, checked.
fn raw_for<T>(store: &StoreInner<T>, field: FieldType, value: Val, what: &str) -> Result<u128> {
    let ty = unpacked(field.storage);
    if !value.matches_in(store.engine.types(), ty) {
        bail!("{what}: expected a value of type {ty}, got {value:?}");
    }
    value.to_raw(store.id, &store.opaque)
}

/// The object a rooted reference stands for, checked against `store`.
fn object<T>(store: &StoreInner<T>, r: AnyRef, kind: GcKind) -> Result<(NonNull<u8>, ObjectInfo)> {
    let info = r.object.filter(|o| o.kind == kind);
    let Some(info) = info else {
        bail!("not a {kind:?}");
    };
    let word = r.word_in(store.id, &store.opaque, "reference")?;
    let object = NonNull::new(word as usize as *mut u8);
    Ok((object.expect("a rooted object is not null"), info))
}

/// A rooted reference to the new object `object`.
fn new_reference<T>(store: &StoreInner<T>, object: NonNull<u8>) -> AnyRef {
    AnyRef::from_word(store.id, object.as_ptr() as usize as u64, &store.opaque)
}

/// The struct or array type with canonical id `id`.
fn composite<T>(store: &StoreInner<T>, id: u32) -> Result<CompositeType> {
    match store.engine.types().sub_type(id) {
        Some(ty) => Ok(ty.composite),
        None => bail!("unknown type id {id}"),
    }
}

/// Reads `field` at `offset` of `object` as a value of its unpacked type.
fn read<T>(store: &StoreInner<T>, object: NonNull<u8>, offset: u32, field: FieldType) -> Val {
    // SAFETY: the object is alive (rooted) and the field lies inside it.
    let raw = unsafe { gc::read_raw(object, offset, storage_size(field.storage)) };
    Val::from_raw(raw, unpacked(field.storage), store.id, &store.opaque)
}

/// Writes `raw` to `field` at `offset` of `object`, with the write
/// barrier when it is a reference.
fn write<T>(
    store: &mut StoreInner<T>,
    object: NonNull<u8>,
    offset: u32,
    field: FieldType,
    raw: u128,
) {
    // SAFETY: the object is alive (rooted) and the field lies inside it.
    unsafe { gc::write_raw(object, offset, storage_size(field.storage), raw) };
    if field.storage.is_gc_reference() {
        // SAFETY: a live object of this store's heap.
        unsafe { store.opaque.gc_mut().remember(object.as_ptr()) };
    }
}

impl StructRef {
    /// A new struct of type `ty` with `fields`; an error when a value does
    /// not match its field or the GC heap is full.
    pub fn new(mut store: impl AsContextMut, ty: &StructType, fields: &[Val]) -> Result<StructRef> {
        let store = store.as_context_mut().0;
        if fields.len() != ty.fields.len() {
            bail!("expected {} fields, got {}", ty.fields.len(), fields.len());
        }
        let raw = ty
            .fields
            .iter()
            .zip(fields)
            .enumerate()
            .map(|(i, (field, value))| raw_for(store, *field, *value, &format!("field {i}")))
            .collect::<Result<Vec<_>>>()?;
        // The values' objects are rooted by their handles meanwhile.
        let Some(object) = store.opaque.new_struct(ty.id, &ty.fields, &ty.layout, &raw) else {
            bail!("{}", fxtime_environ::TrapKind::GcHeapOutOfMemory);
        };
        Ok(StructRef(new_reference(store, object)))
    }

    /// The fields' types and offsets.
    fn layout<T>(
        store: &StoreInner<T>,
        info: ObjectInfo,
    ) -> Result<(Box<[FieldType]>, StructLayout)> {
        match composite(store, info.type_id)? {
            CompositeType::Struct(fields) => {
                let layout = StructLayout::new(&fields);
                Ok((fields, layout))
            }
            _ => bail!("not a struct type"),
        }
    }

    /// Field `index` (packed fields zero-extended to `i32`).
    pub fn field(&self, store: impl AsContext, index: usize) -> Result<Val> {
        let store = store.as_context().0;
        let (object, info) = object(store, self.0, GcKind::Struct)?;
        let (fields, layout) = Self::layout(store, info)?;
        let Some(field) = fields.get(index) else {
            bail!("field {index} out of bounds ({} fields)", fields.len());
        };
        Ok(read(store, object, layout.offsets[index], *field))
    }

    /// Sets mutable field `index`.
    pub fn set_field(&self, mut store: impl AsContextMut, index: usize, value: Val) -> Result<()> {
        let store = store.as_context_mut().0;
        let (object, info) = object(store, self.0, GcKind::Struct)?;
        let (fields, layout) = Self::layout(store, info)?;
        let Some(field) = fields.get(index) else {
            bail!("field {index} out of bounds ({} fields)", fields.len());
        };
        if !field.mutable {
            bail!("field {index} is immutable");
        }
        let raw = raw_for(store, *field, value, &format!("field {index}"))?;
        write(store, object, layout.offsets[index], *field, raw);
        Ok(())
    }
}

impl ArrayRef {
    /// A new array of type `ty` with `len` elements set to `value`; an
    /// error when it does not match or the GC heap is full.
    pub fn new(
        mut store: impl AsContextMut,
        ty: &ArrayType,
        value: Val,
        len: u32,
    ) -> Result<ArrayRef> {
        let store = store.as_context_mut().0;
        let raw = raw_for(store, ty.element, value, "element")?;
        let array = store
            .opaque
            .new_array_filled(ty.id, ty.element.storage, len, raw);
        let Some(array) = array else {
            bail!("{}", fxtime_environ::TrapKind::GcHeapOutOfMemory);
        };
        Ok(ArrayRef(new_reference(store, array)))
    }

    fn element<T>(store: &StoreInner<T>, info: ObjectInfo) -> Result<FieldType> {
        match composite(store, info.type_id)? {
            CompositeType::Array(element) => Ok(element),
            _ => bail!("not an array type"),
        }
    }

    /// Number of elements.
    pub fn len(&self, store: impl AsContext) -> Result<u32> {
        let store = store.as_context().0;
        let (object, _) = object(store, self.0, GcKind::Array)?;
        // SAFETY: an array keeps its length after the header.
        Ok(unsafe { gc::read_raw(object, ARRAY_LENGTH_OFFSET, 4) } as u32)
    }

    /// Element `index` (packed elements zero-extended to `i32`).
    pub fn get(&self, store: impl AsContext, index: u32) -> Result<Val> {
        let store = store.as_context().0;
        let (object, info) = object(store, self.0, GcKind::Array)?;
        let element = Self::element(store, info)?;
        let offset = self.offset(store, object, element, index)?;
        Ok(read(store, object, offset, element))
    }

    /// Sets element `index` of a mutable array.
    pub fn set(&self, mut store: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let store = store.as_context_mut().0;
        let (object, info) = object(store, self.0, GcKind::Array)?;
        let element = Self::element(store, info)?;
        if !element.mutable {
            bail!("the array is immutable");
        }
        let offset = self.offset(store, object, element, index)?;
        let raw = raw_for(store, element, value, "element")?;
        write(store, object, offset, element, raw);
        Ok(())
    }

    /// Where element `index` lies, if in bounds.
    fn offset<T>(
        &self,
        _store: &StoreInner<T>,
        object: NonNull<u8>,
        element: FieldType,
        index: u32,
    ) -> Result<u32> {
        // SAFETY: an array keeps its length after the header.
        let len = unsafe { gc::read_raw(object, ARRAY_LENGTH_OFFSET, 4) } as u32;
        if index >= len {
            bail!("out of bounds array access: index {index}, length {len}");
        }
        Ok(ARRAY_DATA_OFFSET + index * storage_size(element.storage))
    }
}
