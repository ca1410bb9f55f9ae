//! Tables: vectors of 16-byte references, 0 being null. Function and
//! host references use the low word; continuation references both (the
//! object and its revision).

use fxtime_environ::TableType;
use fxtime_environ::vm::VMTableDefinition;

/// Most elements a table may have (an implementation limit).
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table. `#[repr(C)]` with the definition first, so the
/// `*mut VMTableDefinition` in a `VMContext` also points to this object.
#[repr(C)]
#[derive(Debug)]
pub struct Table {
    definition: VMTableDefinition,
    elements: Vec<u128>,
    ty: TableType,
}

// SAFETY: the definition points into `elements`, which this object owns.
unsafe impl Send for Table {}
// SAFETY: shared references expose no interior mutability.
unsafe impl Sync for Table {}

impl Table {
    /// A table of type `ty` with every element set to `init`.
    pub fn new(ty: TableType, init: u128) -> Result<Box<Table>, String> {
        if ty.limits.min > MAX_TABLE_ELEMENTS {
            return Err(format!(
                "table minimum of {} elements exceeds the limit of {MAX_TABLE_ELEMENTS}",
                ty.limits.min
            ));
        }
        let mut table = Box::new(Table {
            definition: VMTableDefinition {
                base: std::ptr::null_mut(),
                current_elements: 0,
            },
            elements: vec![init; ty.limits.min as usize],
            ty,
        });
        table.sync_definition();
        Ok(table)
    }

    fn sync_definition(&mut self) {
        self.definition.base = self.elements.as_mut_ptr();
        self.definition.current_elements = self.elements.len();
    }

    /// The table's type, with its current size as minimum.
    pub fn ty(&self) -> TableType {
        let mut ty = self.ty;
        ty.limits.min = self.elements.len() as u64;
        ty
    }

    /// The definition generated code reads.
    pub fn definition(&mut self) -> *mut VMTableDefinition {
        &mut self.definition
    }

    /// Number of elements.
    pub fn len(&self) -> u32 {
        self.elements.len() as u32
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// Element `index`.
    pub fn get(&self, index: u32) -> Option<u128> {
        self.elements.get(index as usize).copied()
    }

    /// Sets element `index`; false when out of bounds.
    pub fn set(&mut self, index: u32, value: u128) -> bool {
        match self.elements.get_mut(index as usize) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        }
    }

    /// Grows by `delta` elements set to `init`; returns the old size, or
    /// `None` beyond the maximum.
    pub fn grow(&mut self, delta: u32, init: u128) -> Option<u32> {
        let old = self.elements.len() as u64;
        let new = old + u64::from(delta);
        let max = self.ty.limits.max.unwrap_or(u64::from(u32::MAX));
        if new > max || new > MAX_TABLE_ELEMENTS {
            return None;
        }
        self.elements.resize(new as usize, init);
        self.sync_definition();
        Some(old as u32)
    }

    /// Sets `len` elements from `dst` to `value`; false when out of bounds.
    pub fn fill(&mut self, dst: u32, value: u128, len: u32) -> bool {
        match self.range(dst, len) {
            Some(range) => {
                self.elements[range].fill(value);
                true
            }
            None => false,
        }
    }

    /// Copies `values` to `dst`; false when out of bounds.
    pub fn write(&mut self, dst: u32, values: &[u128]) -> bool {
        let Ok(len) = u32::try_from(values.len()) else {
            return false;
        };
        match self.range(dst, len) {
            Some(range) => {
                self.elements[range].copy_from_slice(values);
                true
            }
            None => false,
        }
    }

    /// The elements `start..start + len`, if in bounds.
    pub fn slice(&self, start: u32, len: u32) -> Option<&[u128]> {
        self.range(start, len).map(|r| &self.elements[r])
    }

    /// Copies `len` elements within this table (the ranges may overlap);
    /// false when out of bounds.
    pub fn copy_within(&mut self, dst: u32, src: u32, len: u32) -> bool {
        match (self.range(dst, len), self.range(src, len)) {
            (Some(d), Some(s)) => {
                self.elements.copy_within(s, d.start);
                true
            }
            _ => false,
        }
    }

    fn range(&self, start: u32, len: u32) -> Option<std::ops::Range<usize>> {
        let end = u64::from(start) + u64::from(len);
        (end <= self.elements.len() as u64).then_some(start as usize..end as usize)
    }
}
