//! Layouts of GC heap objects, shared by generated code and the runtime.
//!
//! Every object begins with a [`VMGcHeader`]: the canonical id of its type
//! and a word holding its kind and the collector's mark. Structs place
//! their fields after the header, each aligned to its own size; arrays
//! keep their length after the header and their elements from
//! [`ARRAY_DATA_OFFSET`]. An object lives in a cell of one of the
//! [`SIZE_CLASSES`] (or, bigger than the largest, in a mapping of its own).

use crate::{FieldType, StorageType, WasmValType};

/// The first eight bytes of every GC object.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VMGcHeader {
    /// Canonical type id of a struct or array; [`NO_TYPE_ID`] for the
    /// other kinds.
    pub type_id: u32,
    /// The object's [`GcKind`] in the low byte, [`GC_MARK_BIT`] above it.
    pub kind_and_mark: u32,
}

/// The type id of objects that are not structs or arrays: no canonical id
/// equals it, so a cast to a concrete type fails on them.
pub const NO_TYPE_ID: u32 = u32::MAX;

/// Set in [`VMGcHeader::kind_and_mark`] while a collection finds an object
/// reachable.
pub const GC_MARK_BIT: u32 = 1 << 8;

/// Set in [`VMGcHeader::kind_and_mark`] of an old object (marked by the
/// last collection) written a reference since: the write barrier records
/// it once, and the next minor collection traces it again.
pub const GC_REMEMBERED_BIT: u32 = 1 << 9;

/// What an object is; the low byte of [`VMGcHeader::kind_and_mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum GcKind {
    /// A struct.
    Struct = 1,
    /// An array.
    Array = 2,
    /// A host value the program holds as an `externref` (its data stays
    /// in the store, at the index after the header).
    Extern = 3,
    /// An exception (`VMExceptionHeader`): its tag, then its payload.
    Exception = 4,
}

/// Where [`VMGcHeader::type_id`] lies.
pub const GC_TYPE_ID_OFFSET: u32 = 0;
/// Where the kind byte lies.
pub const GC_KIND_OFFSET: u32 = 4;
/// Where an array keeps its length (a `u32`).
pub const ARRAY_LENGTH_OFFSET: u32 = 8;
/// Where an array's elements begin.
pub const ARRAY_DATA_OFFSET: u32 = 16;
/// Where a struct's fields may begin.
pub const STRUCT_DATA_OFFSET: u32 = size_of::<VMGcHeader>() as u32;
/// Where an extern object keeps the index of its host data (a `u32`).
pub const EXTERN_INDEX_OFFSET: u32 = 8;
/// Size of an extern object.
pub const EXTERN_OBJECT_SIZE: u32 = 16;

/// Cell sizes of the heap's size classes: 16-byte steps to 256, then four
/// steps per doubling to 4 KiB (at most a fifth of a cell is waste beyond
/// 256 bytes).
pub const SIZE_CLASSES: [u32; 32] = [
    16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 320, 384, 448, 512,
    640, 768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096,
];

/// Size of the largest cell: bigger objects get a mapping of their own.
pub const MAX_CELL_SIZE: u32 = SIZE_CLASSES[SIZE_CLASSES.len() - 1];

/// The class whose cells hold `size` bytes, if any does.
pub fn size_class(size: u32) -> Option<usize> {
    if size <= 256 {
        return Some((size.max(1) as usize).div_ceil(16) - 1);
    }
    SIZE_CLASSES.iter().position(|&cell| size <= cell)
}

/// Bytes a field or element takes.
pub fn storage_size(storage: StorageType) -> u32 {
    match storage {
        StorageType::I8 => 1,
        StorageType::I16 => 2,
        StorageType::Val(v) => value_size(v),
    }
}

/// Bytes a value takes in an object.
pub fn value_size(ty: WasmValType) -> u32 {
    match ty {
        WasmValType::I32 | WasmValType::F32 => 4,
        WasmValType::I64 | WasmValType::F64 => 8,
        WasmValType::V128 => 16,
        // A continuation reference is an address and a revision.
        WasmValType::Ref(r) if r.is_cont() => 16,
        WasmValType::Ref(_) => 8,
    }
}

/// Where a struct type's fields lie, and its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructLayout {
    /// The object's size in bytes (header included).
    pub size: u32,
    /// Each field's offset from the object's start.
    pub offsets: Box<[u32]>,
}

impl StructLayout {
    /// Lays out `fields` in order, each aligned to its size (at most 8).
    pub fn new(fields: &[FieldType]) -> StructLayout {
        let mut end = STRUCT_DATA_OFFSET;
        let offsets = fields
            .iter()
            .map(|field| {
                let size = storage_size(field.storage);
                let align = size.min(8);
                let offset = end.next_multiple_of(align);
                end = offset + size;
                offset
            })
            .collect();
        StructLayout {
            size: end.next_multiple_of(8),
            offsets,
        }
    }
}

/// Size of an array of `len` elements of `element_size` bytes, if it fits
/// in a `u32`.
pub fn array_size(element_size: u32, len: u32) -> Option<u32> {
    element_size
        .checked_mul(len)?
        .checked_add(ARRAY_DATA_OFFSET)
        .map(|size| size.next_multiple_of(8))
        .filter(|size| *size < u32::MAX - 8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RefType;

    #[test]
    fn size_classes_cover_every_small_size() {
        for size in 1..=MAX_CELL_SIZE {
            let class = size_class(size).unwrap();
            assert!(SIZE_CLASSES[class] >= size);
            assert!(class == 0 || SIZE_CLASSES[class - 1] < size, "{size}");
        }
        assert_eq!(size_class(MAX_CELL_SIZE + 1), None);
        assert!(SIZE_CLASSES.iter().all(|s| s % 16 == 0));
    }

    #[test]
    fn struct_fields_are_aligned_in_order() {
        let field = |storage| FieldType {
            storage,
            mutable: true,
        };
        let layout = StructLayout::new(&[
            field(StorageType::I8),
            field(StorageType::Val(WasmValType::I64)),
            field(StorageType::I16),
            field(StorageType::Val(WasmValType::Ref(RefType::FUNCREF))),
            field(StorageType::Val(WasmValType::V128)),
        ]);
        assert_eq!(&*layout.offsets, &[8, 16, 24, 32, 40]);
        assert_eq!(layout.size, 56);
        assert_eq!(StructLayout::new(&[]).size, 8);
    }

    #[test]
    fn header_layout() {
        assert_eq!(size_of::<VMGcHeader>(), 8);
        assert_eq!(
            std::mem::offset_of!(VMGcHeader, kind_and_mark) as u32,
            GC_KIND_OFFSET
        );
        assert_eq!(array_size(4, 3), Some(32));
        assert_eq!(array_size(8, u32::MAX), None);
    }
}
