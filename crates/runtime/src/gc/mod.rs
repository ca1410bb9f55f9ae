//! A store's GC heap: structs, arrays and host values held as `externref`.
//!
//! The heap is one reservation of address space, handed out in blocks.
//! A block holds cells of one size class (`fxtime_environ::gc`); an object
//! bigger than the largest cell takes a run of whole blocks. Each block
//! has a mark bitmap, a bit per 16 bytes, kept apart from the cells: after
//! a collection, a block's free cells are the runs of cells whose bits are
//! clear, found without touching the cells. Generated code allocates by
//! bumping a cursor through the current run of its class
//! (`VMStoreContext::gc_bump`); the runtime is called only when that run is
//! used up, to hand out the next run (or a new block). Objects never move:
//! an object's address is its identity, for `ref.eq` as for the host.

pub mod arrays;
mod collect;
pub(crate) mod stacks;

pub use collect::{Marker, Traced};

use fxtime_environ::gc::{
    EXTERN_INDEX_OFFSET, GC_KIND_OFFSET, GC_MARK_BIT, GC_REMEMBERED_BIT, GcKind, SIZE_CLASSES,
    VMGcHeader, size_class,
};
use fxtime_environ::vm::VMGcBump;
use fxtime_fibre::mmap::{Mmap, Protection};
use std::any::Any;
use std::collections::BTreeSet;
use std::ptr::NonNull;

/// Bytes in a block.
pub const BLOCK_SIZE: usize = 64 << 10;

/// How much more of the reservation is made accessible at a time.
const COMMIT_STEP: usize = 1 << 20;

/// Bytes allocated before the first collection, and the least allocated
/// between two collections (see `finish_collection`).
const MIN_NURSERY_BYTES: usize = 8 << 20;

/// The allocation regions, as they lie in the store context.
pub type BumpRegions = [VMGcBump; SIZE_CLASSES.len()];

/// A block's mark bitmap: a bit per 16-byte granule.
pub(crate) type MarkBits = [u64; BLOCK_SIZE / 16 / 64];

/// A bitmap with no marks.
const NO_MARKS: MarkBits = [0; BLOCK_SIZE / 16 / 64];

/// Host data behind an extern object.
pub type HostData = Box<dyn Any + Send + Sync>;

/// What the allocator adds to each boxed host value, about.
const HOST_BOX_OVERHEAD: usize = 16;

/// What a block of the heap holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// Nothing (in `warm` or `cold`).
    Free,
    /// Cells of a size class.
    Small(u8),
    /// The first of `n` blocks holding one large object.
    Large(u32),
    /// A later block of a large object.
    LargeTail,
}

/// Why an allocation did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocFailure {
    /// The nursery is used up: collect, then allocate
    /// with `grow` set.
    Collect,
    /// The heap is full even after a collection.
    Full,
}

/// One store's GC heap.
pub struct GcHeap {
    /// The heap's address space (reserved on the first allocation).
    reservation: Option<Mmap>,
    /// Most bytes the heap may take.
    max_bytes: usize,
    /// What each block below the high-water mark holds.
    blocks: Vec<Block>,
    /// Free blocks whose pages were kept (reused first, no page faults).
    warm: BTreeSet<usize>,
    /// Free blocks whose pages went back to the system.
    cold: BTreeSet<usize>,
    /// Blocks holding cells or large objects.
    blocks_in_use: usize,
    /// Bytes handed out for new objects (runs and blocks) since the last
    /// collection.
    allocated: usize,
    /// A collection is due when `allocated` would pass this.
    nursery: usize,
    /// Bytes of the objects the last full collection kept.
    live_after_full: usize,
    /// Bytes of the objects minor collections kept (made old) since.
    promoted: usize,
    /// Bytes of the reservation made accessible.
    accessible: usize,
    /// The data of extern objects, with the object's address, by the
    /// index the object keeps.
    host_data: Vec<Option<(usize, HostData)>>,
    /// Indices in `host_data` free for reuse.
    free_host_slots: Vec<u32>,
    /// Collections so far.
    collections: u64,
    /// With the stress mode: collect before every allocation, and keep the
    /// allocation regions here rather than in the store context, so that
    /// every allocation reaches the runtime.
    stress: Option<BumpRegions>,
    /// Per size class, the runs of free cells (start, end) the last
    /// collection found, for the regions to take in turn.
    runs: Vec<Vec<(usize, usize)>>,
    /// Per block, its mark bitmap.
    marks: Vec<MarkBits>,
    /// What the collector knows of each struct and array type, by id.
    trace_info: Vec<Option<collect::TraceInfo>>,
    /// Likewise for exceptions, by their tag's function type.
    exception_trace_info: Vec<Option<collect::TraceInfo>>,
    /// Per block: whether it may hold objects allocated since the last
    /// collection (it was carved since, or had free cells after it).
    young: Vec<bool>,
    /// The blocks `young` says so of, which a minor collection sweeps.
    young_blocks: Vec<usize>,
    /// Old objects written with a reference since the last collection
    /// (each with `GC_REMEMBERED_BIT` set): a minor collection traces
    /// them again, as they may refer to new objects.
    remembered: Vec<*mut u8>,
}

// SAFETY: the raw pointers (allocation regions, remembered objects) point
// into this heap's own reservation, which moves with it; a store is used by
// one thread at a time.
unsafe impl Send for GcHeap {}

impl std::fmt::Debug for GcHeap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcHeap")
            .field("max_bytes", &self.max_bytes)
            .field("blocks_in_use", &self.blocks_in_use)
            .field("collections", &self.collections)
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
            blocks: Vec::new(),
            warm: BTreeSet::new(),
            cold: BTreeSet::new(),
            blocks_in_use: 0,
            allocated: 0,
            nursery: MIN_NURSERY_BYTES,
            live_after_full: 0,
            promoted: 0,
            accessible: 0,
            host_data: Vec::new(),
            free_host_slots: Vec::new(),
            collections: 0,
            stress: None,
            runs: vec![Vec::new(); SIZE_CLASSES.len()],
            marks: Vec::new(),
            trace_info: Vec::new(),
            exception_trace_info: Vec::new(),
            young: Vec::new(),
            young_blocks: Vec::new(),
            remembered: Vec::new(),
        }
    }

    /// Collect before every allocation the runtime sees, and make every
    /// allocation reach it (see [`GcHeap::stress`]).
    pub fn set_stress(&mut self, on: bool) {
        self.stress = on.then_some([VMGcBump::EMPTY; SIZE_CLASSES.len()]);
    }

    /// Whether the stress mode is on.
    pub fn is_stressed(&self) -> bool {
        self.stress.is_some()
    }

    /// Bytes of blocks in use.
    pub fn bytes_used(&self) -> usize {
        self.blocks_in_use * BLOCK_SIZE
    }

    /// Collections so far.
    pub fn collections(&self) -> u64 {
        self.collections
    }

    /// Allocates an object of `size` bytes and writes its header; the
    /// rest is for the caller to fill in. Without `grow`, asks for a
    /// collection instead of handing out more than the nursery's bytes
    /// since the last one.
    pub fn alloc(
        &mut self,
        regions: &mut BumpRegions,
        header: VMGcHeader,
        size: u32,
        grow: bool,
    ) -> Result<NonNull<u8>, AllocFailure> {
        if self.stress.is_some() && !grow {
            return Err(AllocFailure::Collect);
        }
        let object = match size_class(size) {
            Some(class) => {
                let cell = SIZE_CLASSES[class] as usize;
                let mut region = match &self.stress {
                    Some(reserve) => reserve[class],
                    None => regions[class],
                };
                // An empty region (null cursor and limit) has no room either.
                if (region.cursor as usize).wrapping_add(cell) > region.limit as usize {
                    let (start, end) = match self.runs[class].last() {
                        Some(&(start, end)) => {
                            self.charge(end - start, grow)?;
                            self.runs[class].pop();
                            (start, end)
                        }
                        None => {
                            self.charge(BLOCK_SIZE, grow)?;
                            let block = self.take_blocks(1)?;
                            self.blocks[block] = Block::Small(class as u8);
                            self.mark_young(block);
                            let start = self.block_address(block) as usize;
                            (start, start + BLOCK_SIZE / cell * cell)
                        }
                    };
                    region = VMGcBump {
                        cursor: start as *mut u8,
                        limit: end as *mut u8,
                    };
                }
                let object = region.cursor;
                region.cursor = object.wrapping_add(cell);
                match &mut self.stress {
                    Some(reserve) => reserve[class] = region,
                    None => regions[class] = region,
                }
                object
            }
            None => {
                let count = (size as usize).div_ceil(BLOCK_SIZE);
                self.charge(count * BLOCK_SIZE, grow)?;
                let first = self.take_blocks(count)?;
                self.blocks[first] = Block::Large(count as u32);
                for tail in &mut self.blocks[first + 1..first + count] {
                    *tail = Block::LargeTail;
                }
                self.mark_young(first);
                self.block_address(first)
            }
        };
        // SAFETY: the object is at least a header long and 8-aligned.
        unsafe { object.cast::<VMGcHeader>().write(header) };
        NonNull::new(object).ok_or(AllocFailure::Full)
    }

    /// Makes the new extern object `object` hold `data`.
    ///
    /// # Safety
    ///
    /// `object` must be a new object of this heap, of `EXTERN_OBJECT_SIZE`
    /// bytes, with an extern header.
    pub unsafe fn attach_host_data(&mut self, object: NonNull<u8>, data: HostData) {
        // The host value's own box counts toward the nursery too, so that
        // big host values are collected as soon as small objects would be
        // (what they own besides is beyond the heap's sight).
        self.allocated += std::mem::size_of_val(&*data) + HOST_BOX_OVERHEAD;
        let entry = Some((object.as_ptr() as usize, data));
        let index = match self.free_host_slots.pop() {
            Some(index) => {
                self.host_data[index as usize] = entry;
                index
            }
            None => {
                self.host_data.push(entry);
                (self.host_data.len() - 1) as u32
            }
        };
        // SAFETY: the caller's promise: an extern object has room for its
        // index after the header.
        unsafe {
            object
                .as_ptr()
                .add(EXTERN_INDEX_OFFSET as usize)
                .cast::<u32>()
                .write(index);
        }
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
        let (_, data) = self.host_data.get(index as usize)?.as_ref()?;
        Some(&**data)
    }

    /// Notes that block `block` may take new objects until the next
    /// collection.
    fn mark_young(&mut self, block: usize) {
        if !self.young[block] {
            self.young[block] = true;
            self.young_blocks.push(block);
        }
    }

    /// Records that the old object `object` was written a reference (the
    /// write barrier's slow path): the next minor collection traces it.
    ///
    /// # Safety
    ///
    /// `object` must be a live object of this heap.
    pub unsafe fn remember(&mut self, object: *mut u8) {
        // SAFETY: the caller's promise: a live object has a header.
        let header = unsafe { &mut *object.cast::<VMGcHeader>() };
        let bits = GC_MARK_BIT | GC_REMEMBERED_BIT;
        if header.kind_and_mark & bits == GC_MARK_BIT {
            header.kind_and_mark |= GC_REMEMBERED_BIT;
            self.remembered.push(object);
        }
    }

    fn block_address(&self, block: usize) -> *mut u8 {
        let base = self
            .reservation
            .as_ref()
            .map_or(std::ptr::null_mut(), Mmap::as_ptr);
        base.wrapping_add(block * BLOCK_SIZE)
    }

    /// Counts `bytes` more handed out for new objects; without `grow`,
    /// asks for a collection instead when that passes the nursery.
    fn charge(&mut self, bytes: usize, grow: bool) -> Result<(), AllocFailure> {
        if !grow && self.allocated + bytes > self.nursery {
            return Err(AllocFailure::Collect);
        }
        self.allocated += bytes;
        Ok(())
    }

    /// `count` consecutive free blocks, accessible: warm ones first, then
    /// cold ones, then new ones past the high-water mark.
    fn take_blocks(&mut self, count: usize) -> Result<usize, AllocFailure> {
        let first = if count == 1 {
            self.warm.pop_first().or_else(|| self.cold.pop_first())
        } else {
            self.free_run(count)
        };
        let first = match first {
            Some(first) => first,
            None => self.new_blocks(count)?,
        };
        self.blocks_in_use += count;
        Ok(first)
    }

    /// The first of `count` consecutive free blocks below the high-water
    /// mark, taken out of the free sets.
    fn free_run(&mut self, count: usize) -> Option<usize> {
        let mut run_start = 0;
        let mut run = 0;
        for (i, block) in self.blocks.iter().enumerate() {
            if *block == Block::Free {
                if run == 0 {
                    run_start = i;
                }
                run += 1;
                if run == count {
                    for b in run_start..run_start + count {
                        self.warm.remove(&b);
                        self.cold.remove(&b);
                    }
                    return Some(run_start);
                }
            } else {
                run = 0;
            }
        }
        None
    }

    /// `count` new blocks past the high-water mark.
    fn new_blocks(&mut self, count: usize) -> Result<usize, AllocFailure> {
        let first = self.blocks.len();
        let end = count
            .checked_add(first)
            .and_then(|n| n.checked_mul(BLOCK_SIZE))
            .filter(|end| *end <= self.max_bytes)
            .ok_or(AllocFailure::Full)?;
        if self.reservation.is_none() {
            self.reservation = Some(Mmap::reserve(self.max_bytes).map_err(|_| AllocFailure::Full)?);
        }
        if end > self.accessible {
            let new_accessible = end.next_multiple_of(COMMIT_STEP).min(self.max_bytes);
            let reservation = self.reservation.as_ref().ok_or(AllocFailure::Full)?;
            reservation
                .protect(
                    self.accessible,
                    new_accessible - self.accessible,
                    Protection::ReadWrite,
                )
                .map_err(|_| AllocFailure::Full)?;
            self.accessible = new_accessible;
        }
        self.blocks.resize(first + count, Block::Free);
        self.young.resize(first + count, false);
        self.marks.resize(first + count, NO_MARKS);
        Ok(first)
    }
}

/// Writes `value`'s low `element_size` bytes to every element of `bytes`.
pub(crate) fn fill_elements(bytes: &mut [u8], element_size: u32, value: u128) {
    let value = &value.to_le_bytes()[..element_size as usize];
    for element in bytes.chunks_exact_mut(element_size as usize) {
        element.copy_from_slice(value);
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
    [
        GcKind::Struct,
        GcKind::Array,
        GcKind::Extern,
        GcKind::Exception,
    ]
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
        let mut lists: BumpRegions = [VMGcBump::EMPTY; SIZE_CLASSES.len()];
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5000 {
            let object = heap.alloc(&mut lists, header(24), 24, true).unwrap();
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
        let mut lists: BumpRegions = [VMGcBump::EMPTY; SIZE_CLASSES.len()];
        let big = 2 * BLOCK_SIZE as u32 - 8;
        assert!(heap.alloc(&mut lists, header(1), big, true).is_ok());
        assert!(heap.alloc(&mut lists, header(1), big, true).is_ok());
        assert_eq!(
            heap.alloc(&mut lists, header(1), 16, true),
            Err(AllocFailure::Full)
        );
        assert_eq!(
            heap.alloc(&mut lists, header(1), big, true),
            Err(AllocFailure::Full)
        );
    }

    fn extern_object(heap: &mut GcHeap, lists: &mut BumpRegions, data: HostData) -> NonNull<u8> {
        let header = VMGcHeader {
            type_id: fxtime_environ::gc::NO_TYPE_ID,
            kind_and_mark: GcKind::Extern as u32,
        };
        let object = heap
            .alloc(lists, header, fxtime_environ::gc::EXTERN_OBJECT_SIZE, true)
            .unwrap();
        // SAFETY: a new extern object of this heap.
        unsafe { heap.attach_host_data(object, data) };
        object
    }

    #[test]
    fn extern_objects_keep_their_data() {
        let mut heap = GcHeap::default();
        let mut lists: BumpRegions = [VMGcBump::EMPTY; SIZE_CLASSES.len()];
        let a = extern_object(&mut heap, &mut lists, Box::new(7u32));
        let b = extern_object(&mut heap, &mut lists, Box::new("x"));
        // SAFETY: both are live objects of this heap.
        unsafe {
            assert_eq!(heap.host_data(a).unwrap().downcast_ref::<u32>(), Some(&7));
            assert_eq!(
                heap.host_data(b).unwrap().downcast_ref::<&str>(),
                Some(&"x")
            );
        }
        let s = heap.alloc(&mut lists, header(3), 16, true).unwrap();
        // SAFETY: a live struct.
        assert!(unsafe { heap.host_data(s) }.is_none());
    }
}
