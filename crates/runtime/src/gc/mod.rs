//! A store's GC heap: structs, arrays and host values held as `externref`.
//!
//! The heap is one reservation of address space, handed out in blocks.
//! A block holds cells of one size class (`fxtime_environ::gc`); an object
//! bigger than the largest cell takes a run of whole blocks. Free cells are
//! linked through their first word, one list per class, and the list heads
//! live in the store's `VMStoreContext`, where generated code pops a cell
//! per allocation; the runtime is called only when a list is empty, to
//! carve a new block into cells. Objects never move: an object's address
//! is its identity, for `ref.eq` as for the host.

pub mod arrays;

use fxtime_environ::gc::{
    EXTERN_INDEX_OFFSET, EXTERN_OBJECT_SIZE, GC_KIND_OFFSET, GcKind, NO_TYPE_ID, SIZE_CLASSES,
    VMGcHeader, size_class,
};
use fxtime_fibre::mmap::{Mmap, Protection};
use std::any::Any;
use std::ptr::NonNull;

/// Bytes in a block.
pub const BLOCK_SIZE: usize = 64 << 10;

/// How much more of the reservation is made accessible at a time.
const COMMIT_STEP: usize = 1 << 20;

/// The free-list heads, as they lie in the store context.
pub type FreeLists = [*mut u8; SIZE_CLASSES.len()];

/// Host data behind an extern object.
pub type HostData = Box<dyn Any + Send + Sync>;

/// One store's GC heap.
pub struct GcHeap {
    /// The heap's address space (reserved on the first allocation).
    reservation: Option<Mmap>,
    /// Most bytes the heap may take.
    max_bytes: usize,
    /// Blocks handed out so far, from the reservation's start.
    blocks_used: usize,
    /// Bytes of the reservation made accessible.
    accessible: usize,
    /// The data of extern objects, by the index they keep.
    host_data: Vec<Option<HostData>>,
}

impl std::fmt::Debug for GcHeap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcHeap")
            .field("max_bytes", &self.max_bytes)
            .field("blocks_used", &self.blocks_used)
            .finish_non_exhaustive()
    }
}

/// The default most bytes a store's GC heap may take.
pub const DEFAULT_GC_HEAP_MAX: usize = 4 << 30;

impl Default for GcHeap {
    fn default() -> Self {
        GcHeap::new(DEFAULT_GC_HEAP_MAX)
    }
}

impl GcHeap {
    /// An empty heap that may grow to `max_bytes` (rounded up to blocks).
    pub fn new(max_bytes: usize) -> GcHeap {
        GcHeap {
            reservation: None,
            max_bytes: max_bytes.div_ceil(BLOCK_SIZE) * BLOCK_SIZE,
            blocks_used: 0,
            accessible: 0,
            host_data: Vec::new(),
        }
    }

    /// Bytes of blocks handed out.
    pub fn bytes_used(&self) -> usize {
        self.blocks_used * BLOCK_SIZE
    }

    /// Allocates an object of `size` bytes and writes its header; the
    /// rest is for the caller to fill in. `None` when the heap is full.
    pub fn alloc(
        &mut self,
        lists: &mut FreeLists,
        header: VMGcHeader,
        size: u32,
    ) -> Option<NonNull<u8>> {
        let object = match size_class(size) {
            Some(class) => {
                if lists[class].is_null() {
                    lists[class] = self.carve_block(class)?;
                }
                let cell = lists[class];
                // SAFETY: a free cell's first word links to the next free
                // cell of its class (or is null); the cell is ours now.
                lists[class] = unsafe { cell.cast::<*mut u8>().read() };
                cell
            }
            None => self.take_blocks((size as usize).div_ceil(BLOCK_SIZE))?,
        };
        // SAFETY: the object is at least a header long and 8-aligned.
        unsafe { object.cast::<VMGcHeader>().write(header) };
        NonNull::new(object)
    }

    /// A new extern object holding `data`.
    pub fn alloc_extern(&mut self, lists: &mut FreeLists, data: HostData) -> Option<NonNull<u8>> {
        let header = VMGcHeader {
            type_id: NO_TYPE_ID,
            kind_and_mark: GcKind::Extern as u32,
        };
        let object = self.alloc(lists, header, EXTERN_OBJECT_SIZE)?;
        let index = u32::try_from(self.host_data.len()).ok()?;
        self.host_data.push(Some(data));
        // SAFETY: an extern object has room for its index after the header.
        unsafe {
            object
                .as_ptr()
                .add(EXTERN_INDEX_OFFSET as usize)
                .cast::<u32>()
                .write(index);
        }
        Some(object)
    }

    /// The host data of `object`, if it is an extern object.
    ///
    /// # Safety
    ///
    /// `object` must be a live object of this heap.
    pub unsafe fn host_data(&self, object: NonNull<u8>) -> Option<&(dyn Any + Send + Sync)> {
        // SAFETY: the caller promises a live object, which has a header,
        // and extern objects keep their index after it.
        let index = unsafe {
            if kind(object) != Some(GcKind::Extern) {
                return None;
            }
            object
                .as_ptr()
                .add(EXTERN_INDEX_OFFSET as usize)
                .cast::<u32>()
                .read()
        };
        self.host_data.get(index as usize)?.as_deref()
    }

    /// Splits a fresh block into free cells of `class`, linked in address
    /// order; returns the first.
    fn carve_block(&mut self, class: usize) -> Option<*mut u8> {
        let block = self.take_blocks(1)?;
        let cell = SIZE_CLASSES[class] as usize;
        let count = BLOCK_SIZE / cell;
        for i in 0..count {
            let next = if i + 1 < count {
                // SAFETY: cell i + 1 lies inside the block.
                unsafe { block.add((i + 1) * cell) }
            } else {
                std::ptr::null_mut()
            };
            // SAFETY: cell i lies inside the block, which is ours, 8-aligned.
            unsafe { block.add(i * cell).cast::<*mut u8>().write(next) };
        }
        Some(block)
    }

    /// `count` consecutive fresh blocks, accessible and zeroed.
    fn take_blocks(&mut self, count: usize) -> Option<*mut u8> {
        let start = self.blocks_used * BLOCK_SIZE;
        let end = start.checked_add(count.checked_mul(BLOCK_SIZE)?)?;
        if end > self.max_bytes {
            return None;
        }
        if self.reservation.is_none() {
            self.reservation = Some(Mmap::reserve(self.max_bytes).ok()?);
        }
        let reservation = self.reservation.as_ref()?;
        if end > self.accessible {
            let new_accessible = end.next_multiple_of(COMMIT_STEP).min(self.max_bytes);
            reservation
                .protect(
                    self.accessible,
                    new_accessible - self.accessible,
                    Protection::ReadWrite,
                )
                .ok()?;
            self.accessible = new_accessible;
        }
        self.blocks_used += count;
        // SAFETY: `start` lies inside the reservation (checked against
        // `max_bytes`, its length).
        Some(unsafe { reservation.as_ptr().add(start) })
    }
}

/// Writes the low `size` bytes of raw slot `value` at `offset` in
/// `object`.
///
/// # Safety
///
/// `object + offset .. + size` must lie in a live object that no other
/// reference is using.
pub unsafe fn write_raw(object: NonNull<u8>, offset: u32, size: u32, value: u128) {
    let bytes = value.to_le_bytes();
    // SAFETY: the caller's promise; `size` is at most 16.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            object.as_ptr().add(offset as usize),
            size as usize,
        );
    }
}

/// Reads `size` bytes at `offset` in `object` as a raw slot, zero-extended.
///
/// # Safety
///
/// `object + offset .. + size` must lie in a live object.
pub unsafe fn read_raw(object: NonNull<u8>, offset: u32, size: u32) -> u128 {
    let mut bytes = [0u8; 16];
    // SAFETY: the caller's promise; `size` is at most 16.
    unsafe {
        std::ptr::copy_nonoverlapping(
            object.as_ptr().add(offset as usize),
            bytes.as_mut_ptr(),
            size as usize,
        );
    }
    u128::from_le_bytes(bytes)
}

/// The kind of the object at `object`.
///
/// # Safety
///
/// `object` must point to a live GC object.
pub unsafe fn kind(object: NonNull<u8>) -> Option<GcKind> {
    // SAFETY: a live object starts with its header.
    let byte = unsafe { object.as_ptr().add(GC_KIND_OFFSET as usize).read() };
    [GcKind::Struct, GcKind::Array, GcKind::Extern]
        .into_iter()
        .find(|k| *k as u8 == byte)
}

/// The canonical type id of the struct or array at `object`.
///
/// # Safety
///
/// `object` must point to a live GC object.
pub unsafe fn type_id(object: NonNull<u8>) -> u32 {
    // SAFETY: a live object starts with its header.
    unsafe { object.cast::<VMGcHeader>().read().type_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(size: u32) -> VMGcHeader {
        VMGcHeader {
            type_id: size,
            kind_and_mark: GcKind::Struct as u32,
        }
    }

    #[test]
    fn cells_of_a_class_are_distinct_and_headed() {
        let mut heap = GcHeap::new(1 << 20);
        let mut lists: FreeLists = [std::ptr::null_mut(); SIZE_CLASSES.len()];
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5000 {
            let object = heap.alloc(&mut lists, header(24), 24).unwrap();
            assert_eq!(object.as_ptr() as usize % 8, 0);
            assert!(seen.insert(object.as_ptr() as usize));
            // SAFETY: just allocated.
            unsafe {
                assert_eq!(type_id(object), 24);
                assert_eq!(kind(object), Some(GcKind::Struct));
            }
        }
        // 32-byte cells, 2048 a block.
        assert_eq!(heap.bytes_used(), 3 * BLOCK_SIZE);
    }

    #[test]
    fn large_objects_take_whole_blocks_and_the_limit_holds() {
        let mut heap = GcHeap::new(4 * BLOCK_SIZE);
        let mut lists: FreeLists = [std::ptr::null_mut(); SIZE_CLASSES.len()];
        let big = 2 * BLOCK_SIZE as u32 - 8;
        assert!(heap.alloc(&mut lists, header(1), big).is_some());
        assert!(heap.alloc(&mut lists, header(1), big).is_some());
        assert!(heap.alloc(&mut lists, header(1), 16).is_none());
        assert!(heap.alloc(&mut lists, header(1), big).is_none());
    }

    #[test]
    fn extern_objects_keep_their_data() {
        let mut heap = GcHeap::default();
        let mut lists: FreeLists = [std::ptr::null_mut(); SIZE_CLASSES.len()];
        let a = heap.alloc_extern(&mut lists, Box::new(7u32)).unwrap();
        let b = heap.alloc_extern(&mut lists, Box::new("x")).unwrap();
        // SAFETY: both are live objects of this heap.
        unsafe {
            assert_eq!(heap.host_data(a).unwrap().downcast_ref::<u32>(), Some(&7));
            assert_eq!(
                heap.host_data(b).unwrap().downcast_ref::<&str>(),
                Some(&"x")
            );
        }
        let s = heap.alloc(&mut lists, header(3), 16).unwrap();
        // SAFETY: a live struct.
        assert!(unsafe { heap.host_data(s) }.is_none());
    }
}
