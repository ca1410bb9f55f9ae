//! Mark and sweep, generational without moving anything.
//!
//! The store reports its roots to a [`Marker`]; marking sets each reached
//! object's mark bit in its header and in its block's bitmap, and follows
//! its references (struct fields, array elements and exception payloads
//! of the `any`, `extern` and `exn` hierarchies, found from its type). A
//! full collection follows continuation references too: each one whose
//! revision is current reaches its continuation, whose bound values and
//! suspended frames are marked in turn (`stacks::mark_continuation`); the
//! store then gives back the continuations nothing reached.
//! Marks are sticky: an object marked by one collection stays marked, old,
//! until a full collection clears every mark and marks again. A minor
//! collection therefore marks only objects allocated since the last one
//! (plus what the old objects written since refer to: the write barrier
//! remembers them) and looks only at the blocks that took new objects,
//! whose runs of clear bits become the free cells. Extern objects left
//! unmarked drop their host data; blocks left empty are freed.

use super::stacks::mark_continuation;
use super::{BLOCK_SIZE, Block, BumpRegions, GcHeap, MIN_NURSERY_BYTES, MarkBits, NO_MARKS};
use crate::continuations;
use crate::types::TypeRegistry;
use fxtime_environ::CompositeType;
use fxtime_environ::gc::{
    ARRAY_DATA_OFFSET, ARRAY_LENGTH_OFFSET, GC_MARK_BIT, GC_REMEMBERED_BIT, GcKind, SIZE_CLASSES,
    StructLayout, VMGcHeader,
};
use fxtime_environ::vm::{VAL_RAW_SIZE, VMContRef, VMExceptionHeader, VMGcBump, offsets};
use fxtime_environ::{StorageType, WasmValType};

/// What the collector follows in objects of one type.
#[derive(Debug, Clone)]
pub(super) enum TraceInfo {
    /// A struct or an exception: the offsets of its GC reference fields
    /// (a word each) and of its continuation reference fields (two words
    /// each).
    Fields {
        words: Box<[u32]>,
        conts: Box<[u32]>,
    },
    /// An array whose elements are GC references.
    Words,
    /// An array whose elements are continuation references.
    Conts,
    /// Nothing to follow.
    Leaf,
}

impl TraceInfo {
    /// The fields at `offsets` of `storage`, by what they hold.
    fn fields(storage: impl Iterator<Item = (StorageType, u32)> + Clone) -> TraceInfo {
        let of = |keep: fn(&StorageType) -> bool| {
            storage
                .clone()
                .filter(|(s, _)| keep(s))
                .map(|(_, offset)| offset)
                .collect()
        };
        TraceInfo::Fields {
            words: of(StorageType::is_gc_reference),
            conts: of(StorageType::is_cont_reference),
        }
    }

    /// For exceptions of the tag whose function type is `type_id`: the
    /// payload's references.
    fn of_exception(types: &TypeRegistry, type_id: u32) -> TraceInfo {
        let params = types
            .func_type(type_id)
            .map(|f| f.params)
            .unwrap_or_default();
        TraceInfo::fields(params.iter().enumerate().map(|(i, ty)| {
            let offset = offsets::EXCEPTION_PAYLOAD + i as u32 * VAL_RAW_SIZE;
            (StorageType::Val(*ty), offset)
        }))
    }

    fn of(types: &TypeRegistry, type_id: u32) -> TraceInfo {
        match types.sub_type(type_id).map(|t| t.composite) {
            Some(CompositeType::Struct(fields)) => {
                let layout = StructLayout::new(&fields);
                let storage = fields.iter().map(|f| f.storage);
                TraceInfo::fields(storage.zip(layout.offsets.iter().copied()))
            }
            Some(CompositeType::Array(element)) if element.storage.is_gc_reference() => {
                TraceInfo::Words
            }
            Some(CompositeType::Array(element)) if element.storage.is_cont_reference() => {
                TraceInfo::Conts
            }
            _ => TraceInfo::Leaf,
        }
    }
}

/// A reference the collector follows: a GC reference's word, or a
/// continuation reference (object address and revision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traced {
    /// A word of the `any`, `extern` or `exn` hierarchy.
    Word(u64),
    /// A continuation reference.
    Cont(u128),
}

impl Traced {
    /// The reference of type `ty` in raw slot `slot`, if the type is one
    /// the collector follows.
    pub fn of(ty: WasmValType, slot: u128) -> Option<Traced> {
        if ty.is_gc_reference() {
            Some(Traced::Word(slot as u64))
        } else if ty.is_cont_reference() {
            Some(Traced::Cont(slot))
        } else {
            None
        }
    }
}

/// What a full collection needs to follow continuation references.
#[derive(Debug, Clone, Copy)]
struct ContinuationMarking {
    /// The collection's number (see `continuations::mark`).
    collection: u64,
    /// Where fresh continuations wait (the start trampoline).
    start: usize,
}

/// Collects the objects reached from the roots.
pub struct Marker {
    stack: Vec<*mut u8>,
    /// The heap's first block.
    base: usize,
    /// The blocks' mark bitmaps (the heap's, which no one resizes during a
    /// collection), and how many.
    marks: *mut MarkBits,
    blocks: usize,
    /// What each block holds (for the size of what is marked).
    kinds: *const Block,
    /// Bytes of the cells marked.
    marked_bytes: usize,
    /// The roots seen, kept for `verify_marks` (debug builds under the
    /// stress mode).
    roots: Option<Vec<u64>>,
    /// Continuations reached and not yet followed.
    conts: Vec<*mut VMContRef>,
    /// Set in a full collection, which follows continuation references;
    /// a minor one marks every suspended continuation's frames instead.
    continuations: Option<ContinuationMarking>,
}

impl Marker {
    /// Marks the object `word` refers to, if it refers to one (not null,
    /// not an i31) not yet marked.
    pub fn mark_word(&mut self, word: u64) {
        if word == 0 || word & 1 == 1 {
            return;
        }
        if let Some(roots) = &mut self.roots {
            roots.push(word);
        }
        let object = word as usize as *mut u8;
        let offset = (word as usize).wrapping_sub(self.base);
        let block = offset / BLOCK_SIZE;
        debug_assert!(block < self.blocks, "a root outside the heap: {word:#x}");
        // SAFETY: roots and fields hold only null, i31s and addresses of
        // live objects of this heap (checked in debug builds above), whose
        // block has a bitmap.
        unsafe {
            let header = &mut *object.cast::<VMGcHeader>();
            if header.kind_and_mark & GC_MARK_BIT == 0 {
                header.kind_and_mark |= GC_MARK_BIT;
                let granule = (offset % BLOCK_SIZE) / 16;
                (*self.marks.add(block))[granule / 64] |= 1 << (granule % 64);
                self.marked_bytes += match *self.kinds.add(block) {
                    Block::Small(class) => SIZE_CLASSES[class as usize] as usize,
                    Block::Large(count) => count as usize * BLOCK_SIZE,
                    Block::Free | Block::LargeTail => 0,
                };
                self.stack.push(object);
            }
        }
    }

    /// Marks what the raw slot `slot` (16 bytes, a reference word in its
    /// low half) refers to.
    pub fn mark_slot(&mut self, slot: u128) {
        self.mark_word(slot as u64);
    }

    /// In a full collection, marks the continuation that continuation
    /// reference `reference` refers to, if it is not null and its revision
    /// is current.
    pub fn mark_cont(&mut self, reference: u128) {
        let Some(marking) = self.continuations else {
            return;
        };
        let object = reference as u64 as usize as *mut VMContRef;
        if object.is_null() {
            return;
        }
        // SAFETY: roots and fields of continuation types hold only null
        // and references to this store's continuation objects.
        if unsafe { continuations::mark(object, (reference >> 64) as u64, marking.collection) } {
            self.conts.push(object);
        }
    }

    /// Marks what `traced` refers to.
    pub fn mark(&mut self, traced: Traced) {
        match traced {
            Traced::Word(word) => self.mark_word(word),
            Traced::Cont(reference) => self.mark_cont(reference),
        }
    }

    /// Makes this (full) collection follow continuation references: the
    /// continuations it reaches get `collection`'s number; fresh ones wait
    /// at `start`.
    pub fn follow_continuations(&mut self, collection: u64, start: usize) {
        self.continuations = Some(ContinuationMarking { collection, start });
    }
}

impl GcHeap {
    /// Starts a collection: a full one (every object is marked again from
    /// the roots) when `full` or when the old objects have grown enough
    /// since the last, otherwise a minor one (only objects allocated since
    /// the last collection are marked; old objects keep their marks, and
    /// those written since are traced again). Returns the marker for the
    /// roots and whether the collection is full.
    pub fn begin_collection(&mut self, full: bool) -> (Marker, bool) {
        let full = full || self.full_due();
        if full {
            self.clear_marks();
        }
        let marker = Marker {
            stack: Vec::new(),
            base: self.block_address(0) as usize,
            marks: self.marks.as_mut_ptr(),
            blocks: self.marks.len(),
            kinds: self.blocks.as_ptr(),
            marked_bytes: 0,
            roots: (cfg!(debug_assertions) && self.stress.is_some()).then(Vec::new),
            conts: Vec::new(),
            continuations: None,
        };
        (marker, full)
    }

    /// Whether the next collection must be full: the stress mode does one
    /// in four; otherwise when minor collections have made old (and kept
    /// until a full one, garbage or not) a quarter of what the last full
    /// one kept.
    fn full_due(&self) -> bool {
        if self.stress.is_some() {
            return self.collections.is_multiple_of(4);
        }
        self.promoted > self.live_after_full.max(MIN_NURSERY_BYTES) / 4
    }

    /// Clears every mark (in headers and bitmaps) and remembered bit,
    /// before a full collection marks again.
    fn clear_marks(&mut self) {
        for block in 0..self.blocks.len() {
            let start = self.block_address(block);
            let bits = std::mem::replace(&mut self.marks[block], NO_MARKS);
            for (w, mut word) in bits.into_iter().enumerate() {
                while word != 0 {
                    let granule = w * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    // SAFETY: a set bit marks the start of a live object.
                    unsafe {
                        let header = &mut *start.add(granule * 16).cast::<VMGcHeader>();
                        header.kind_and_mark &= !(GC_MARK_BIT | GC_REMEMBERED_BIT);
                    }
                }
            }
        }
        self.remembered.clear();
    }

    /// Finishes a collection whose roots `marker` has seen: marks what they
    /// reach (and, in a minor collection, what old objects written since
    /// the last one refer to), drops the host data of unreached extern
    /// objects, and finds the free runs of every block in a full
    /// collection, of the blocks that took new objects in a minor one. The
    /// allocation `regions` start empty.
    pub fn finish_collection(
        &mut self,
        mut marker: Marker,
        full: bool,
        types: &TypeRegistry,
        regions: &mut BumpRegions,
    ) {
        // The roots alone (children are recorded too while tracing).
        let roots = marker.roots.take();
        for object in self.remembered.drain(..) {
            // SAFETY: remembered objects are live old objects.
            unsafe { (*object.cast::<VMGcHeader>()).kind_and_mark &= !GC_REMEMBERED_BIT };
            marker.stack.push(object);
        }
        self.trace(&mut marker, types);
        if let Some(roots) = roots {
            self.verify_marks(&roots, types);
        }
        self.drop_unreached_host_data();
        let swept: Vec<usize> = if full {
            (0..self.blocks.len()).collect()
        } else {
            std::mem::take(&mut self.young_blocks)
        };
        for &block in &swept {
            self.young[block] = false;
        }
        self.young_blocks.clear();
        for runs in &mut self.runs {
            runs.clear();
        }
        let mut empty = Vec::new();
        for block in swept {
            match self.blocks[block] {
                Block::Small(class) => {
                    if !self.find_runs(block, class as usize) {
                        empty.push((block, 1));
                    }
                }
                Block::Large(count) => {
                    if self.marks[block][0] & 1 == 0 {
                        empty.push((block, count as usize));
                    }
                }
                Block::Free | Block::LargeTail => {}
            }
        }
        *regions = [VMGcBump::EMPTY; SIZE_CLASSES.len()];
        if let Some(reserve) = &mut self.stress {
            *reserve = [VMGcBump::EMPTY; SIZE_CLASSES.len()];
        }
        let kept = self.blocks_in_use - empty.iter().map(|(_, n)| n).sum::<usize>();
        for (first, count) in empty {
            self.release_blocks(first, count, kept);
        }
        if full {
            self.live_after_full = marker.marked_bytes;
            self.promoted = 0;
        } else {
            self.promoted += marker.marked_bytes;
        }
        // Room for new objects: half what the heap keeps, at least the
        // minimum (8 MiB: with 4 MiB, growable_arrays ran 0.78 s, with 8
        // MiB 0.35 s; with 16 MiB persistent_map's peak grew from 24 MB to
        // 35 MB).
        self.nursery = ((self.live_after_full + self.promoted) / 2).max(MIN_NURSERY_BYTES);
        self.allocated = 0;
        self.collections += 1;
    }

    /// Adds the runs of unmarked cells of small block `block` (cells of
    /// `class`) to the free runs, reading only its bitmap; false when
    /// nothing in it is marked (the block is free).
    fn find_runs(&mut self, block: usize, class: usize) -> bool {
        let cell = SIZE_CLASSES[class] as usize;
        let cells = BLOCK_SIZE / cell;
        let start = self.block_address(block) as usize;
        let bits = &self.marks[block];
        let marked = |i: usize| {
            let granule = i * cell / 16;
            bits[granule / 64] & (1 << (granule % 64)) != 0
        };
        let mut runs = Vec::new();
        let mut live = 0;
        let mut run_start = None;
        for i in 0..cells {
            if marked(i) {
                live += 1;
                if let Some(first) = run_start.take() {
                    runs.push((start + first * cell, start + i * cell));
                }
            } else if run_start.is_none() {
                run_start = Some(i);
            }
        }
        if live == 0 {
            return false;
        }
        if let Some(first) = run_start {
            runs.push((start + first * cell, start + cells * cell));
        }
        if !runs.is_empty() {
            // Its free cells take new objects.
            self.runs[class].extend(runs.into_iter().rev());
            self.mark_young(block);
        }
        true
    }

    /// Follows references from every marked object and continuation until
    /// none is left.
    fn trace(&mut self, marker: &mut Marker, types: &TypeRegistry) {
        loop {
            while let Some(object) = marker.stack.pop() {
                // SAFETY: only live objects are marked and pushed.
                unsafe { self.for_each_child(object, types, |child| marker.mark(child)) };
            }
            let (Some(cont), Some(marking)) = (marker.conts.pop(), marker.continuations) else {
                return;
            };
            // SAFETY: only live continuations whose reference was current
            // are pushed: fresh ones and roots of suspended chains.
            unsafe { mark_continuation(marker, cont, marking.start) };
        }
    }

    /// Calls `f` with every reference of `object`: the fields, elements or
    /// payload slots its type says are references.
    ///
    /// # Safety
    ///
    /// `object` must be a live object of this heap.
    unsafe fn for_each_child(
        &mut self,
        object: *mut u8,
        types: &TypeRegistry,
        mut f: impl FnMut(Traced),
    ) {
        // SAFETY: a live object starts with its header.
        let header = unsafe { *object.cast::<VMGcHeader>() };
        let kind = (header.kind_and_mark & 0xff) as u8;
        let info = if kind == GcKind::Struct as u8 || kind == GcKind::Array as u8 {
            cached(&mut self.trace_info, header.type_id, || {
                TraceInfo::of(types, header.type_id)
            })
        } else if kind == GcKind::Exception as u8 {
            // SAFETY: an exception's header says its tag, which its store
            // owns.
            let tag_type = unsafe { (*(*object.cast::<VMExceptionHeader>()).tag).type_id };
            cached(&mut self.exception_trace_info, tag_type, || {
                TraceInfo::of_exception(types, tag_type)
            })
        } else {
            return;
        };
        // SAFETY (reads): the offsets are of reference fields of the
        // object's type; an array keeps its length after the header, and
        // its elements after that.
        let read = |offset: u32| unsafe { object.add(offset as usize) };
        // SAFETY: as above.
        let len = || unsafe { read(ARRAY_LENGTH_OFFSET).cast::<u32>().read() } as usize;
        match info {
            TraceInfo::Fields { words, conts } => {
                for offset in words.iter() {
                    // SAFETY: as above.
                    f(Traced::Word(unsafe { read(*offset).cast::<u64>().read() }));
                }
                for offset in conts.iter() {
                    // SAFETY: as above; fields are 8-aligned at most.
                    f(Traced::Cont(unsafe {
                        read(*offset).cast::<u128>().read_unaligned()
                    }));
                }
            }
            TraceInfo::Words => {
                let elements = read(ARRAY_DATA_OFFSET).cast::<u64>();
                for i in 0..len() {
                    // SAFETY: as above.
                    f(Traced::Word(unsafe { elements.add(i).read_unaligned() }));
                }
            }
            TraceInfo::Conts => {
                let elements = read(ARRAY_DATA_OFFSET).cast::<u128>();
                for i in 0..len() {
                    // SAFETY: as above.
                    f(Traced::Cont(unsafe { elements.add(i).read_unaligned() }));
                }
            }
            TraceInfo::Leaf => {}
        }
    }

    /// Debug builds under the stress mode (the only ones that keep the
    /// roots): checks that every object the roots reach, through old
    /// objects too, is marked, so a missing write barrier or root shows up
    /// at the collection that misses it.
    fn verify_marks(&mut self, roots: &[u64], types: &TypeRegistry) {
        let mut seen = std::collections::HashSet::new();
        let mut stack: Vec<u64> = roots.to_vec();
        while let Some(word) = stack.pop() {
            if word == 0 || word & 1 == 1 || !seen.insert(word) {
                continue;
            }
            let object = word as usize as *mut u8;
            // SAFETY: roots and fields hold live objects.
            let header = unsafe { *object.cast::<VMGcHeader>() };
            assert!(
                header.kind_and_mark & GC_MARK_BIT != 0,
                "GC verification: a reachable object at {word:#x} ({header:?}) is not marked"
            );
            // SAFETY: as above. (Continuations' frames were checked as they
            // were marked: the words they held are among the roots.)
            unsafe {
                self.for_each_child(object, types, |child| {
                    if let Traced::Word(word) = child {
                        stack.push(word);
                    }
                })
            };
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

    /// Frees `count` blocks from `first`: their pages stay while the free
    /// blocks kept warm are fewer than `live_blocks`, and go back to the
    /// system after that.
    fn release_blocks(&mut self, first: usize, count: usize, live_blocks: usize) {
        for block in first..first + count {
            self.blocks[block] = Block::Free;
            self.marks[block] = NO_MARKS;
        }
        self.blocks_in_use -= count;
        if count == 1 && self.warm.len() < live_blocks.max(MIN_NURSERY_BYTES / BLOCK_SIZE / 2) {
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

/// The entry for canonical type id `id` of a table indexed by id (ids are
/// small and dense), made by `make` the first time.
fn cached(
    table: &mut Vec<Option<TraceInfo>>,
    id: u32,
    make: impl FnOnce() -> TraceInfo,
) -> &TraceInfo {
    let index = id as usize;
    if table.len() <= index {
        table.resize(index + 1, None);
    }
    table[index].get_or_insert_with(make)
}
