//! Mark and sweep.
//!
//! The store reports its roots to a [`Marker`]; marking sets each
//! reached object's mark bit and follows its references (struct fields
//! and array elements of the `any` and `extern` hierarchies, found from
//! its type); extern objects left unmarked drop their host data; the
//! sweep then rebuilds every free list from the unmarked cells, clears the
//! marks, and frees blocks left empty.

use super::{
    AllocFailure, BLOCK_SIZE, Block, FREE_LINK, FreeLists, GcHeap, MIN_THRESHOLD_BLOCKS, make_free,
};
use crate::types::TypeRegistry;
use fxtime_environ::gc::{
    ARRAY_DATA_OFFSET, ARRAY_LENGTH_OFFSET, GC_MARK_BIT, GcKind, SIZE_CLASSES, StructLayout,
    VMGcHeader,
};
use fxtime_environ::vm::{VAL_RAW_SIZE, VMExceptionHeader, offsets};
use fxtime_environ::{CompositeType, StorageType};

/// What the collector follows in objects of one type.
#[derive(Debug, Clone)]
pub(super) enum TraceInfo {
    /// A struct: the offsets of its reference fields.
    Struct(Box<[u32]>),
    /// An array whose elements are references.
    References,
    /// Nothing to follow.
    Leaf,
}

/// Whether values stored as `storage` are references the collector
/// follows.
fn is_traced(storage: StorageType) -> bool {
    matches!(storage, StorageType::Val(ty) if crate::store::is_traced(ty))
}

impl TraceInfo {
    /// For exceptions of the tag whose function type is `type_id`: the
    /// offsets of the payload's references.
    fn of_exception(types: &TypeRegistry, type_id: u32) -> TraceInfo {
        let params = types
            .func_type(type_id)
            .map(|f| f.params)
            .unwrap_or_default();
        let offsets = params
            .iter()
            .enumerate()
            .filter(|(_, ty)| crate::store::is_traced(**ty))
            .map(|(i, _)| offsets::EXCEPTION_PAYLOAD + i as u32 * VAL_RAW_SIZE)
            .collect();
        TraceInfo::Struct(offsets)
    }

    fn of(types: &TypeRegistry, type_id: u32) -> TraceInfo {
        match types.sub_type(type_id).map(|t| t.composite) {
            Some(CompositeType::Struct(fields)) => {
                let layout = StructLayout::new(&fields);
                let offsets = fields
                    .iter()
                    .zip(&layout.offsets)
                    .filter(|(field, _)| is_traced(field.storage))
                    .map(|(_, offset)| *offset)
                    .collect();
                TraceInfo::Struct(offsets)
            }
            Some(CompositeType::Array(element)) if is_traced(element.storage) => {
                TraceInfo::References
            }
            _ => TraceInfo::Leaf,
        }
    }
}

/// Collects the objects reached from the roots.
pub struct Marker {
    stack: Vec<*mut u8>,
    /// The heap's address range, for debug checks.
    range: std::ops::Range<usize>,
}

impl Marker {
    /// Marks the object `word` refers to, if it refers to one (not null,
    /// not an i31) not yet marked.
    pub fn mark_word(&mut self, word: u64) {
        if word == 0 || word & 1 == 1 {
            return;
        }
        let object = word as usize as *mut u8;
        debug_assert!(
            self.range.contains(&(word as usize)),
            "a root outside the heap: {word:#x}"
        );
        // SAFETY: roots and fields hold only null, i31s and addresses of
        // live objects of this heap (checked in debug builds above).
        unsafe {
            let header = &mut *object.cast::<VMGcHeader>();
            if header.kind_and_mark & GC_MARK_BIT == 0 {
                header.kind_and_mark |= GC_MARK_BIT;
                self.stack.push(object);
            }
        }
    }

    /// Marks what the raw slot `slot` (16 bytes, a word of the `any` or
    /// `extern` hierarchy in its low half) refers to.
    pub fn mark_slot(&mut self, slot: u128) {
        self.mark_word(slot as u64);
    }
}

impl GcHeap {
    /// A marker for this heap's roots.
    pub fn marker(&self) -> Marker {
        let base = self.block_address(0) as usize;
        Marker {
            stack: Vec::new(),
            range: base..base + self.blocks.len() * BLOCK_SIZE,
        }
    }

    /// Finishes a collection whose roots `marker` has seen: marks what they
    /// reach, drops the host data of unreached extern objects, and sweeps
    /// into fresh free `lists`.
    pub fn finish_collection(
        &mut self,
        mut marker: Marker,
        types: &TypeRegistry,
        lists: &mut FreeLists,
    ) {
        self.trace(&mut marker, types);
        self.drop_unreached_host_data();
        let mut new_lists: FreeLists = [std::ptr::null_mut(); SIZE_CLASSES.len()];
        let mut empty = Vec::new();
        let mut live_blocks = 0;
        for block in 0..self.blocks.len() {
            match self.blocks[block] {
                Block::Small(class) => {
                    let class = class as usize;
                    // SAFETY: the block holds cells of `class`.
                    let (first, last, live) = unsafe { self.sweep_block(block, class) };
                    if live == 0 {
                        empty.push((block, 1));
                    } else {
                        live_blocks += 1;
                        if !last.is_null() {
                            // SAFETY: `last` is a free cell of this block.
                            unsafe {
                                last.add(FREE_LINK)
                                    .cast::<*mut u8>()
                                    .write(new_lists[class]);
                            }
                            new_lists[class] = first;
                        }
                    }
                }
                Block::Large(count) => {
                    let object = self.block_address(block).cast::<VMGcHeader>();
                    // SAFETY: a large block begins with its object's header.
                    let header = unsafe { &mut *object };
                    if header.kind_and_mark & GC_MARK_BIT != 0 {
                        header.kind_and_mark &= !GC_MARK_BIT;
                        live_blocks += count as usize;
                    } else {
                        empty.push((block, count as usize));
                    }
                }
                Block::Free | Block::LargeTail => {}
            }
        }
        // With the stress mode the free cells stay in the runtime, so that
        // every allocation reaches it.
        match &mut self.stress {
            Some(reserve) => {
                *reserve = new_lists;
                *lists = [std::ptr::null_mut(); SIZE_CLASSES.len()];
            }
            None => *lists = new_lists,
        }
        for (first, count) in empty {
            self.release_blocks(first, count, live_blocks);
        }
        self.threshold = (2 * live_blocks).max(MIN_THRESHOLD_BLOCKS);
        self.collections += 1;
    }

    /// Follows references from every marked object until none is left.
    fn trace(&mut self, marker: &mut Marker, types: &TypeRegistry) {
        while let Some(object) = marker.stack.pop() {
            // SAFETY: only live objects are marked and pushed.
            let header = unsafe { *object.cast::<VMGcHeader>() };
            let kind = (header.kind_and_mark & 0xff) as u8;
            let info = if kind == GcKind::Struct as u8 || kind == GcKind::Array as u8 {
                self.trace_info
                    .entry(header.type_id)
                    .or_insert_with(|| TraceInfo::of(types, header.type_id))
            } else if kind == GcKind::Exception as u8 {
                // SAFETY: an exception's header says its tag, which its
                // store owns.
                let tag_type = unsafe { (*(*object.cast::<VMExceptionHeader>()).tag).type_id };
                self.exception_trace_info
                    .entry(tag_type)
                    .or_insert_with(|| TraceInfo::of_exception(types, tag_type))
            } else {
                continue;
            };
            match info {
                TraceInfo::Struct(offsets) => {
                    for offset in offsets.iter() {
                        // SAFETY: a reference field of the struct.
                        marker.mark_word(unsafe {
                            object.add(*offset as usize).cast::<u64>().read()
                        });
                    }
                }
                TraceInfo::References => {
                    // SAFETY: an array keeps its length after the header,
                    // and its elements (words here) after that.
                    unsafe {
                        let len = object
                            .add(ARRAY_LENGTH_OFFSET as usize)
                            .cast::<u32>()
                            .read();
                        let elements = object.add(ARRAY_DATA_OFFSET as usize).cast::<u64>();
                        for i in 0..len as usize {
                            marker.mark_word(elements.add(i).read_unaligned());
                        }
                    }
                }
                TraceInfo::Leaf => {}
            }
        }
    }

    /// Drops the data of extern objects no root reached.
    fn drop_unreached_host_data(&mut self) {
        for (index, entry) in self.host_data.iter_mut().enumerate() {
            let Some((object, _)) = entry else { continue };
            // SAFETY: the entry's object is alive until this sweep.
            let header = unsafe { &*(*object as *const VMGcHeader) };
            if header.kind_and_mark & GC_MARK_BIT == 0 {
                *entry = None;
                self.free_host_slots.push(index as u32);
            }
        }
    }

    /// Frees the unmarked cells of small block `block`, clears the marks of
    /// the others, and links the free cells in address order: the first
    /// and last free cell (null if none) and the number of live cells.
    ///
    /// # Safety
    ///
    /// The block must hold cells of `class`.
    unsafe fn sweep_block(&mut self, block: usize, class: usize) -> (*mut u8, *mut u8, usize) {
        let start = self.block_address(block);
        let cell_size = SIZE_CLASSES[class] as usize;
        let mut first = std::ptr::null_mut();
        let mut last: *mut u8 = std::ptr::null_mut();
        let mut live = 0;
        for i in 0..BLOCK_SIZE / cell_size {
            // SAFETY: cell i lies inside the block.
            let cell = unsafe { start.add(i * cell_size) };
            // SAFETY: every cell begins with a header (kind 0 when free).
            let header = unsafe { &mut *cell.cast::<VMGcHeader>() };
            if header.kind_and_mark & GC_MARK_BIT != 0 {
                header.kind_and_mark &= !GC_MARK_BIT;
                live += 1;
                continue;
            }
            // SAFETY: an unmarked cell is free or garbage: nobody uses it.
            unsafe { make_free(cell, std::ptr::null_mut()) };
            if last.is_null() {
                first = cell;
            } else {
                // SAFETY: `last` is a free cell of this block.
                unsafe { last.add(FREE_LINK).cast::<*mut u8>().write(cell) };
            }
            last = cell;
        }
        (first, last, live)
    }

    /// Frees `count` blocks from `first`: their pages stay while the free
    /// blocks kept warm are fewer than `live_blocks`, and go back to the
    /// system after that.
    fn release_blocks(&mut self, first: usize, count: usize, live_blocks: usize) {
        for block in first..first + count {
            self.blocks[block] = Block::Free;
        }
        self.blocks_in_use -= count;
        if count == 1 && self.warm.len() < live_blocks.max(MIN_THRESHOLD_BLOCKS / 2) {
            self.warm.insert(first);
            return;
        }
        if let Some(reservation) = &self.reservation {
            // Giving pages back cannot fail on a range of our own mapping;
            // if it did, the blocks would only keep their memory.
            let _ = reservation.discard(first * BLOCK_SIZE, count * BLOCK_SIZE);
        }
        self.cold.extend(first..first + count);
    }
}

impl From<AllocFailure> for fxtime_environ::TrapKind {
    fn from(_: AllocFailure) -> Self {
        fxtime_environ::TrapKind::GcHeapOutOfMemory
    }
}
