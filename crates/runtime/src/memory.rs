//! Linear memories: a reservation (the whole index range of a 32-bit
//! memory, `MEMORY64_RESERVATION` for a 64-bit one) plus a guard region, of
//! which the first `current_length` bytes are accessible.

use crate::mmap::{Mmap, Protection};
use fxtime_environ::MemoryType;
use fxtime_environ::vm::{
    MEMORY_GUARD_SIZE, MEMORY_RESERVATION, MEMORY64_RESERVATION, VMMemoryDefinition, WASM_PAGE_SIZE,
};
use std::io;

/// Most pages a 32-bit memory can have.
pub const MAX_PAGES: u64 = MEMORY_RESERVATION / WASM_PAGE_SIZE;

/// The bytes reserved for a memory of type `ty`, without the guard.
fn reservation(ty: &MemoryType) -> u64 {
    if ty.is_64() {
        MEMORY64_RESERVATION
    } else {
        MEMORY_RESERVATION
    }
}

/// A linear memory. `#[repr(C)]` with the definition first, so the
/// `*mut VMMemoryDefinition` in a `VMContext` also points to this object.
#[repr(C)]
#[derive(Debug)]
pub struct LinearMemory {
    definition: VMMemoryDefinition,
    mmap: Mmap,
    ty: MemoryType,
}

// SAFETY: the raw pointer in the definition points into `mmap`, which this
// object owns; moving the object between threads moves that ownership.
unsafe impl Send for LinearMemory {}
// SAFETY: shared references expose no interior mutability.
unsafe impl Sync for LinearMemory {}

impl LinearMemory {
    /// A memory of type `ty`, with its initial pages accessible and zero.
    pub fn new(ty: MemoryType) -> io::Result<Box<LinearMemory>> {
        let reserved = reservation(&ty);
        if ty.limits.min > reserved / WASM_PAGE_SIZE {
            return Err(io::Error::other(format!(
                "memory minimum of {} pages is larger than {} GiB",
                ty.limits.min,
                reserved >> 30
            )));
        }
        let size = reserved + MEMORY_GUARD_SIZE;
        let mmap = Mmap::reserve(size as usize).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot reserve {} GiB of address space for a linear memory ({e}); \
                     is the address space limited (ulimit -v, valgrind)?",
                    size >> 30
                ),
            )
        })?;
        let length = (ty.limits.min * WASM_PAGE_SIZE) as usize;
        mmap.protect(0, length, Protection::ReadWrite)?;
        Ok(Box::new(LinearMemory {
            definition: VMMemoryDefinition {
                base: mmap.as_ptr(),
                current_length: length,
            },
            mmap,
            ty,
        }))
    }

    /// The memory's type, with its current size as minimum.
    pub fn ty(&self) -> MemoryType {
        let mut ty = self.ty;
        ty.limits.min = self.pages();
        ty
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.definition.current_length as u64 / WASM_PAGE_SIZE
    }

    /// Current size in bytes.
    pub fn len(&self) -> usize {
        self.definition.current_length
    }

    /// Whether the memory has no pages.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Start of the memory.
    pub fn base(&self) -> *mut u8 {
        self.definition.base
    }

    /// The definition generated code reads.
    pub fn definition(&mut self) -> *mut VMMemoryDefinition {
        &mut self.definition
    }

    /// Grows by `delta` pages; returns the old size in pages, or `None`
    /// beyond the maximum (or when the system has no memory for it).
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages();
        let new = old.checked_add(delta)?;
        let most = reservation(&self.ty) / WASM_PAGE_SIZE;
        if new > self.ty.limits.max.unwrap_or(most).min(most) {
            return None;
        }
        let old_bytes = (old * WASM_PAGE_SIZE) as usize;
        let delta_bytes = (delta * WASM_PAGE_SIZE) as usize;
        self.mmap
            .protect(old_bytes, delta_bytes, Protection::ReadWrite)
            .ok()?;
        self.definition.current_length = old_bytes + delta_bytes;
        Some(old)
    }

    /// The accessible bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: the first `current_length` bytes are mapped read-write and
        // owned by this memory.
        unsafe { std::slice::from_raw_parts(self.base(), self.len()) }
    }

    /// The accessible bytes, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.base(), self.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_respects_the_maximum() {
        let ty = MemoryType::new(1, Some(3));
        let mut memory = LinearMemory::new(ty).unwrap();
        memory.data_mut()[65535] = 1;
        assert_eq!(memory.grow(2), Some(1));
        memory.data_mut()[3 * 65536 - 1] = 2;
        assert_eq!(memory.grow(1), None);
        assert_eq!(memory.pages(), 3);
    }

    #[test]
    fn a_64_bit_memory_grows_past_4_gib_up_to_its_reservation() {
        let mut memory = LinearMemory::new(MemoryType::new64(1, None)).unwrap();
        assert_eq!(memory.grow(MAX_PAGES), Some(1));
        let len = memory.len();
        assert_eq!(len as u64, (MAX_PAGES + 1) * WASM_PAGE_SIZE);
        memory.data_mut()[len - 1] = 7;
        assert_eq!(memory.data()[len - 1], 7);
        let most = MEMORY64_RESERVATION / WASM_PAGE_SIZE;
        assert_eq!(memory.grow(most - memory.pages() + 1), None);
    }
}
