//! Continuation objects and their stacks, owned by a store.
//!
//! Objects are never freed while the store lives: a reference may point at
//! an object long after its continuation ended, and must still find a
//! revision there that tells it is stale (see `VMContRef`). A continuation
//! that returns, throws out, or is abandoned by a trap goes, with its
//! stack, onto the free list (`VMContinuationFreeList`), which `cont.new`
//! takes from first: creating continuations costs no system call in the
//! steady state, and memory stays bounded by the number alive at once.
//! Generated code pops and pushes free objects itself; the functions here
//! are its slow paths (no free object, a large value buffer) and the
//! runtime's own uses (traps, collections).
//!
//! A continuation made while many are live is *pending* at first (see
//! `PENDING_REVISION`): its object lies in a dense chunk of objects without
//! stacks, and it takes a stack, the one that ended last, when it first
//! runs (`take_stack`, or generated code's own copy of it). Pending objects
//! are reused through a list of their own and, like stacks' objects, never
//! freed while the store lives.
//!
//! A fresh or suspended continuation that no reference with its current
//! revision reaches any more can never run again: a full collection
//! reclaims it, with its whole suspended chain (`reclaim_unreached`), and
//! asks for itself when live continuations have doubled since the last
//! one (`collection_due`).

use fxtime_environ::vm::{
    CONT_INLINE_VALUES, PENDING_FROM_LIVE, PENDING_REVISION, VMContRef, VMContinuationFreeList,
    VMFuncRef,
};
use fxtime_fibre::{FiberStack, StackPool};
use std::collections::HashMap;
use std::mem::size_of;

/// A continuation object with what only the runtime needs. It lives in the
/// header of its stack (in a page the continuation touches anyway and
/// that nothing discards), so a continuation costs no
/// allocation besides its stack, and the object stays at its address, its
/// revision intact, while the store lives. A pending object (no stack)
/// lives in a chunk of them instead (`Continuations::pending_chunks`).
#[repr(C)]
#[derive(Debug)]
struct Continuation {
    /// First, so that a `*mut VMContRef` is a `*mut Continuation`.
    vm: VMContRef,
    /// The stack whose header this is (all zero for a pending object).
    stack: FiberStack,
    /// Whether its value buffer moved to the heap (`Continuations::spilled`).
    spilled: u64,
    /// The number of the last full collection that reached it.
    reached: u64,
}

/// The continuations of one store.
#[repr(C)]
#[derive(Debug)]
pub struct Continuations {
    /// First: `VMStoreContext::continuations` points here, for generated
    /// code.
    free: VMContinuationFreeList,
    /// Where stacks come from when no free object has one.
    pool: StackPool,
    /// Value buffers that outgrew their object's inline slots, by object
    /// address (kept for the object's next continuations).
    spilled: HashMap<usize, Box<[u128]>>,
    /// Stacks carved from the pool so far: every object is live or free,
    /// and free ones are reused before a stack is carved, so this bounds
    /// the live continuations, and the bytes of their stacks.
    carved: usize,
    /// The store's limits on live continuations and on the bytes of their
    /// stacks (`StoreLimits`): checked only when a stack is carved, never
    /// on `cont.new`'s fast path (see `carved`).
    limits: ContinuationLimits,
    /// Every object, live or free, pending ones too, for the collector.
    objects: Vec<*mut VMContRef>,
    /// Where pending objects live, [`PENDING_CHUNK`] to a chunk.
    pending_chunks: Vec<Box<[Continuation]>>,
    /// Full collections that looked for unreached continuations so far:
    /// the number of the current one while it marks.
    collections: u64,
    /// Live continuations after the last of those.
    live_after_collection: usize,
    /// How many times `live_after_collection` live continuations ask for
    /// the next collection: 2, or 4 after a collection that gave back
    /// little (a program that keeps its continuations should not pay for
    /// looking at them often).
    growth: usize,
}

/// Live continuations below which none asks for a collection: a program
/// that abandons continuations keeps at most about this many stacks' worth
/// of touched pages (a few KiB each) before it gets them back.
pub const MIN_COLLECTION_LIVE: usize = 1024;

/// A full collection costs time in proportion to the live GC heap, so
/// continuations ask for one only once they are at least that heap's bytes
/// over this many (a few times what a short-lived continuation's stack
/// touches): collections for continuations then cost time in proportion
/// to the memory they give back.
const STACK_BYTES_FOR_COLLECTION: usize = 16 * 1024;

/// The most continuations a store may hold at once, and the most bytes
/// their stacks may take (each stack counts its size in the pool,
/// [`Continuations::stack_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContinuationLimits {
    /// Live continuations.
    pub count: usize,
    /// Bytes of continuation stacks.
    pub stack_bytes: usize,
}

impl Default for ContinuationLimits {
    fn default() -> Self {
        ContinuationLimits {
            count: usize::MAX,
            stack_bytes: usize::MAX,
        }
    }
}

/// Why `cont.new` got no continuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocationError {
    /// The system gave no memory for a stack.
    NoMemory,
    /// The limit on live continuations is reached.
    TooMany,
    /// Another stack would pass the limit on stack bytes.
    TooManyBytes,
}

// SAFETY: the raw pointers point into stacks this value owns; a store and
// its continuations move between threads as a whole, never shared.
unsafe impl Send for Continuations {}

/// Records that full collection `collection` reached continuation object
/// `cont` through a reference of revision `revision`; true the first time
/// for a live continuation whose current revision that is (a stale
/// reference reaches nothing).
///
/// # Safety
///
/// `cont` must be a continuation object of a live store (any address a
/// continuation reference of that store holds).
pub(crate) unsafe fn mark(cont: *mut VMContRef, revision: u64, collection: u64) -> bool {
    // SAFETY: per the contract; objects are never freed while their store
    // lives.
    let object = unsafe { &mut *cont.cast::<Continuation>() };
    if object.vm.live == 0 || object.vm.revision != revision || object.reached == collection {
        return false;
    }
    object.reached = collection;
    true
}

/// Pending objects per chunk: 80 KiB, about twenty pages.
const PENDING_CHUNK: usize = 256;

impl Continuation {
    /// Whether this is a pending object, which has no stack.
    fn is_pending(&self) -> bool {
        self.vm.revision & PENDING_REVISION != 0
    }
}

/// Default usable size of a continuation stack.
pub const DEFAULT_STACK_SIZE: usize = 1 << 20;

impl Default for Continuations {
    fn default() -> Self {
        Continuations::new(DEFAULT_STACK_SIZE)
    }
}

impl Continuations {
    /// No continuations yet; stacks of at least `stack_size` bytes.
    pub fn new(stack_size: usize) -> Continuations {
        Continuations {
            free: VMContinuationFreeList {
                head: std::ptr::null_mut(),
                live: 0,
                start: fxtime_fibre::fxtime_fibre_start as *const u8,
                pending: std::ptr::null_mut(),
            },
            pool: StackPool::with_header(stack_size, size_of::<Continuation>()),
            spilled: HashMap::new(),
            carved: 0,
            limits: ContinuationLimits::default(),
            objects: Vec::new(),
            pending_chunks: Vec::new(),
            collections: 0,
            live_after_collection: 0,
            growth: 2,
        }
    }

    /// Sets the limits on live continuations and the bytes of their stacks.
    pub fn set_limits(&mut self, limits: ContinuationLimits) {
        self.limits = limits;
    }

    /// Usable bytes of each continuation stack.
    pub fn stack_size(&self) -> usize {
        self.pool.stack_size()
    }

    /// Number of live continuations (fresh, running or suspended, pending
    /// ones included).
    pub fn live(&self) -> usize {
        self.free.live as usize
    }

    /// Every continuation object of the store, live or free, pending
    /// ones included.
    pub fn objects(&self) -> &[*mut VMContRef] {
        &self.objects
    }

    /// Where a fresh continuation's context resumes: the start trampoline.
    pub fn start_address(&self) -> usize {
        self.free.start as usize
    }

    /// Whether `cont.new` should run a full collection before it carves a
    /// new stack: no free object is left and live continuations have
    /// doubled since the last collection, or quadrupled if that one gave
    /// back little (and are many, compared with the GC heap's
    /// `heap_live_bytes`).
    pub fn collection_due(&self, heap_live_bytes: usize) -> bool {
        let threshold = (self.growth * self.live_after_collection)
            .max(MIN_COLLECTION_LIVE)
            .max(heap_live_bytes / STACK_BYTES_FOR_COLLECTION);
        let none_free = self.free.head.is_null() || self.free.pending.is_null();
        none_free && self.live() >= threshold
    }

    /// Starts marking for a full collection: returns its number, which
    /// [`mark`] records in what it reaches.
    pub(crate) fn begin_marking(&mut self) -> u64 {
        self.collections += 1;
        self.collections
    }

    /// Gives back every fresh or suspended continuation that full
    /// collection `collection` did not reach, with the continuations of
    /// its suspended chain; returns how many it gave back. Their stacks'
    /// pages stay for reuse while the free stacks are fewer than twice the
    /// survivors (at least `MIN_COLLECTION_LIVE`); the rest go back to
    /// the system.
    pub(crate) fn reclaim_unreached(&mut self, collection: u64) -> usize {
        let unreached: Vec<*mut VMContRef> = self
            .objects
            .iter()
            .copied()
            .filter(|&object| {
                // SAFETY: objects live in the headers of this store's stacks.
                let cont = unsafe { &*object.cast::<Continuation>() };
                // Roots of suspended chains and fresh continuations have no
                // parent; running ones always have one.
                cont.vm.live == 1 && cont.vm.parent.is_null() && cont.reached != collection
            })
            .collect();
        let survivors = self.live() - unreached.len();
        let warm = (2 * survivors).max(MIN_COLLECTION_LIVE);
        let live_pending = self
            .objects
            .iter()
            .filter(|&&object| {
                // SAFETY: as above.
                let cont = unsafe { &*object.cast::<Continuation>() };
                cont.is_pending() && cont.vm.live == 1
            })
            .count();
        let free = self.carved - (self.live() - live_pending);
        // The free list is a stack: the first given back are reused last,
        // so they are the ones whose pages go.
        let mut discard = (free + unreached.len()).saturating_sub(warm);
        let mut reclaimed = 0;
        for root in unreached {
            // SAFETY: a live root of this store's: its chain runs from its
            // innermost continuation (itself when fresh) through parent
            // links up to it, and nothing runs on any of them.
            unsafe {
                let mut cont = (*root).innermost;
                loop {
                    let parent = (*cont).parent;
                    self.give_back(cont, discard > 0);
                    reclaimed += 1;
                    if cont == root {
                        break;
                    }
                    cont = parent;
                }
            }
            discard = discard.saturating_sub(1);
        }
        // Little: under a quarter of what was live.
        self.growth = if 4 * reclaimed < self.live() + reclaimed {
            4
        } else {
            2
        };
        self.live_after_collection = self.live();
        reclaimed
    }

    /// Whether no continuation was ever created.
    pub fn is_unused(&self) -> bool {
        self.pool.mappings() == 0
    }

    /// A fresh continuation that will call `entry` with itself, which runs
    /// `func`; its buffer holds `capacity` values. A pending one while
    /// many are live (see `PENDING_REVISION`). Fails when no stack can be
    /// had or a limit is reached.
    pub fn allocate(
        &mut self,
        entry: *const u8,
        func: *const VMFuncRef,
        capacity: usize,
    ) -> Result<*mut VMContRef, AllocationError> {
        if self.free.live >= PENDING_FROM_LIVE && capacity <= CONT_INLINE_VALUES {
            return self.allocate_pending(entry, func);
        }
        self.allocate_on_stack(entry, func, capacity)
    }

    /// [`allocate`](Self::allocate) with a stack.
    fn allocate_on_stack(
        &mut self,
        entry: *const u8,
        func: *const VMFuncRef,
        capacity: usize,
    ) -> Result<*mut VMContRef, AllocationError> {
        let object = match self.pop_free() {
            Some(object) => object,
            None => self.new_object()?,
        };
        // SAFETY: an object in the header of one of this store's stacks,
        // alive as long as the store; it was free or new, so nothing else
        // uses it or runs on its stack.
        let object = unsafe { &mut *object };
        // SAFETY: as above, nothing runs on the stack. Its `StackTop` is the
        // object's `context` and `resumer` (a test checks the layouts).
        unsafe { object.stack.prepare_start(entry as usize) };
        object.vm.live = 1;
        object.vm.func = func;
        object.vm.parent = std::ptr::null_mut();
        object.vm.innermost = &mut object.vm;
        object.vm.handlers = std::ptr::null();
        object.vm.transfer = 0;
        self.ensure_capacity(object, capacity.max(1));
        self.free.live += 1;
        Ok(&mut object.vm)
    }

    /// A pending continuation (no stack yet) that will call `entry`, which
    /// runs `func`: what generated code's `cont.new` does when the store's
    /// pending objects are all in use.
    fn allocate_pending(
        &mut self,
        entry: *const u8,
        func: *const VMFuncRef,
    ) -> Result<*mut VMContRef, AllocationError> {
        let object = match self.free.pending {
            head if !head.is_null() => {
                // SAFETY: the list links pending objects of this store's
                // chunks (see `give_back`), alive as long as the store.
                self.free.pending = unsafe { (*head).parent };
                head.cast::<Continuation>()
            }
            _ => self.new_pending()?,
        };
        // SAFETY: a pending object of this store's chunks, free or new, so
        // nothing else uses it.
        let object = unsafe { &mut *object };
        object.vm.live = 1;
        object.vm.func = func;
        object.vm.parent = std::ptr::null_mut();
        // What the first run moves to its stack's object (generated code's
        // `cont.new` sets only this and the function).
        object.vm.context.frame_pointer = entry as usize;
        self.free.live += 1;
        Ok(&mut object.vm)
    }

    /// A new pending object, from a new chunk when the last is full.
    #[cold]
    fn new_pending(&mut self) -> Result<*mut Continuation, AllocationError> {
        if self.free.live as usize >= self.limits.count {
            return Err(AllocationError::TooMany);
        }
        let made = self.pending_chunks.len() * PENDING_CHUNK;
        if self.objects.len() >= self.carved + made {
            let chunk = Box::<[Continuation]>::new_zeroed_slice(PENDING_CHUNK);
            // SAFETY: every field of a `Continuation` is a plain integer or
            // pointer, valid as zero.
            self.pending_chunks.push(unsafe { chunk.assume_init() });
        }
        let used = self.objects.len() - self.carved;
        let chunk = self.pending_chunks.last_mut().expect("a chunk with room");
        let object = &mut chunk[used % PENDING_CHUNK];
        // Never changed after: the pending bit (bumps keep it), a fresh
        // continuation's resume address, innermost and buffer.
        object.vm.revision = PENDING_REVISION;
        object.vm.context.instruction_pointer = self.free.start as usize;
        object.vm.innermost = &mut object.vm;
        object.vm.values = object.vm.inline_values.as_mut_ptr();
        object.vm.values_capacity = CONT_INLINE_VALUES as u32;
        let object: *mut Continuation = object;
        self.objects.push(object.cast());
        Ok(object)
    }

    /// Moves pending continuation `pending` (its reference consumed) to a
    /// stack: its function, continuation entry and bound arguments go to a
    /// free stack's object, or a new one's, and the pending object goes
    /// back to its list. Returns the object that now holds the
    /// continuation. Fails as [`allocate`](Self::allocate) does, the
    /// pending object then given back.
    ///
    /// # Safety
    ///
    /// `pending` must be a live pending object of this store whose
    /// reference was consumed.
    pub unsafe fn take_stack(
        &mut self,
        pending: *mut VMContRef,
    ) -> Result<*mut VMContRef, AllocationError> {
        // SAFETY: per the contract.
        let from = unsafe { &mut *pending.cast::<Continuation>() };
        let entry = from.vm.context.frame_pointer as *const u8;
        let capacity = from.vm.values_capacity as usize;
        let taken = self.allocate_on_stack(entry, from.vm.func, capacity);
        if let Ok(object) = taken {
            // SAFETY: both buffers have room for `capacity` values (the
            // new object's was sized for them), and differ.
            unsafe {
                std::ptr::copy_nonoverlapping(from.vm.values, (*object).values, capacity);
                (*object).gc_bound = from.vm.gc_bound;
                (*object).cont_bound = from.vm.cont_bound;
            }
        }
        // SAFETY: per the contract; nothing refers to it any more.
        unsafe { self.give_back(pending, false) };
        taken
    }

    /// The first free object, taken off the list.
    fn pop_free(&mut self) -> Option<*mut Continuation> {
        let head = self.free.head;
        if head.is_null() {
            return None;
        }
        // SAFETY: the list links objects in the headers of this store's
        // stacks (see `give_back`), alive as long as the store.
        self.free.head = unsafe { (*head).parent };
        Some(head.cast())
    }

    /// The object in the header of a stack new from the pool.
    #[cold]
    fn new_object(&mut self) -> Result<*mut Continuation, AllocationError> {
        if self.carved >= self.limits.count {
            return Err(AllocationError::TooMany);
        }
        let bytes = (self.carved + 1).checked_mul(self.stack_size());
        if bytes.is_none_or(|bytes| bytes > self.limits.stack_bytes) {
            return Err(AllocationError::TooManyBytes);
        }
        let stack = self
            .pool
            .allocate()
            .map_err(|_| AllocationError::NoMemory)?;
        self.carved += 1;
        let object = stack.header().cast::<Continuation>();
        self.objects.push(object.cast());
        // SAFETY: the header of a stack never handed out: room for a
        // `Continuation` (the pool's header size), 64-aligned and zero (all
        // of its fields are plain integers and pointers, valid as zero).
        // Nothing else uses it, and the pool never unmaps it while the
        // store lives.
        unsafe {
            (*object).stack = stack;
            (*object).vm.stack_limit = stack.limit();
        }
        Ok(object)
    }

    /// Gives the stack of `cont` (which returned, threw out, or was
    /// abandoned) back; its object comes back with the stack.
    ///
    /// # Safety
    ///
    /// `cont` must be a continuation of this store that nothing runs on
    /// any more.
    pub unsafe fn release(&mut self, cont: *mut VMContRef) {
        // SAFETY: per the contract.
        unsafe { self.give_back(cont, false) }
    }

    /// [`release`](Self::release), returning the stack's pages below its
    /// header's page to the system when `discard`.
    ///
    /// # Safety
    ///
    /// As for `release`.
    unsafe fn give_back(&mut self, cont: *mut VMContRef, discard: bool) {
        // SAFETY: per the contract, an object in one of our stack headers,
        // not in use.
        let object = unsafe { &mut *cont.cast::<Continuation>() };
        if object.vm.live == 0 {
            return;
        }
        object.vm.live = 0;
        // Arguments bound to it, never taken, go with it.
        object.vm.gc_bound = 0;
        object.vm.cont_bound = 0;
        // Every reference issued for it was consumed, which bumped the
        // revision; a bump more keeps stale copies stale regardless.
        object.vm.revision += 1;
        self.free.live -= 1;
        if object.is_pending() {
            object.vm.parent = self.free.pending;
            self.free.pending = cont;
            return;
        }
        if discard {
            // Best effort: a stack that keeps its pages is still usable.
            let _ = self.pool.discard_below_header(object.stack);
        }
        object.vm.parent = self.free.head;
        self.free.head = cont;
    }

    /// Grows the value buffer of `cont` to at least `needed` values, for a
    /// tag's payload that replaces what it holds.
    ///
    /// # Safety
    ///
    /// `cont` must be a live continuation of this store.
    pub unsafe fn reserve(&mut self, cont: *mut VMContRef, needed: usize) {
        // SAFETY: per the contract.
        let object = unsafe { &mut *cont.cast::<Continuation>() };
        self.ensure_capacity(object, needed);
    }

    /// Releases the chain of running continuations from `innermost`
    /// outwards (through `parent` links up to `outside`, the stand-in of
    /// the host's entry): after a trap, nothing will run on their stacks
    /// again.
    ///
    /// # Safety
    ///
    /// `innermost` must be `outside` or the innermost running continuation
    /// of this store, with the chain's links intact up to `outside`.
    pub unsafe fn abandon_chain(&mut self, innermost: *mut VMContRef, outside: *mut VMContRef) {
        let mut cont = innermost;
        while cont != outside && !cont.is_null() {
            // SAFETY: per the contract, every link is one of our objects.
            let parent = unsafe { (*cont).parent };
            // SAFETY: the trap left the chain; nothing runs on it. It may
            // have run deep (a stack overflow): give its pages back.
            unsafe { self.give_back(cont, true) };
            cont = parent;
        }
    }

    /// Points the buffer of `object` at room for `needed` values: its
    /// inline slots, or a heap buffer (kept for the object's next
    /// continuations) that grows by doubling.
    #[inline]
    fn ensure_capacity(&mut self, object: &mut Continuation, needed: usize) {
        if object.spilled == 0 && needed <= CONT_INLINE_VALUES {
            object.vm.values = object.vm.inline_values.as_mut_ptr();
            object.vm.values_capacity = CONT_INLINE_VALUES as u32;
            return;
        }
        self.ensure_heap_capacity(object, needed);
    }

    /// [`ensure_capacity`](Self::ensure_capacity) beyond the inline slots.
    #[cold]
    fn ensure_heap_capacity(&mut self, object: &mut Continuation, needed: usize) {
        let key = object as *mut Continuation as usize;
        if object.spilled != 0
            && let Some(buffer) = self.spilled.get_mut(&key)
            && buffer.len() >= needed
        {
            object.vm.values = buffer.as_mut_ptr();
            object.vm.values_capacity = buffer.len() as u32;
            return;
        }
        // Nothing to keep: a buffer grows for a new continuation or for a
        // tag's payload, which replaces what the buffer held.
        let mut buffer = vec![0u128; needed.next_power_of_two()].into_boxed_slice();
        object.vm.values = buffer.as_mut_ptr();
        object.vm.values_capacity = buffer.len() as u32;
        object.spilled = 1;
        self.spilled.insert(key, buffer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fxtime_fibre::StackTop;
    use std::mem::offset_of;

    #[test]
    fn an_object_begins_with_its_stacks_start_record() {
        assert_eq!(
            offset_of!(VMContRef, context),
            offset_of!(StackTop, context)
        );
        assert_eq!(
            offset_of!(VMContRef, resumer),
            offset_of!(StackTop, resumer)
        );
        let mut continuations = Continuations::new(64 * 1024);
        let cont = continuations
            .allocate(std::ptr::null(), std::ptr::null(), 1)
            .unwrap();
        // SAFETY: a live continuation object of this store, unused.
        let object = unsafe { &*cont.cast::<Continuation>() };
        assert_eq!(object.stack.header(), cont.cast::<u8>());
        // The header size fibre's colors are laid out for: the lowest
        // header leaves the first frames 768 bytes of its page.
        assert!(size_of::<Continuation>() <= 320);
        assert_eq!(
            object.stack.control_context(),
            &object.vm.context as *const _ as *mut _
        );
    }

    #[test]
    fn objects_outlive_their_continuations_with_growing_revisions() {
        let mut continuations = Continuations::new(64 * 1024);
        let null = std::ptr::null();
        let first = continuations.allocate(null, std::ptr::null(), 1).unwrap();
        // SAFETY: a live continuation object of this store, unused.
        let revision = unsafe { (*first).revision };
        // SAFETY: as above; nothing runs on it.
        unsafe { continuations.release(first) };
        // Released twice (a trap after a return, say): no double free.
        // SAFETY: as above.
        unsafe { continuations.release(first) };
        assert_eq!(continuations.live(), 0);
        let second = continuations.allocate(null, std::ptr::null(), 1).unwrap();
        assert_eq!(second, first, "the object comes back with its stack");
        // SAFETY: as above.
        assert!(
            unsafe { (*second).revision } > revision,
            "stale references stay stale"
        );
        assert_eq!(continuations.live(), 1);
    }

    #[test]
    fn a_million_continuations_reuse_one_stack() {
        let mut continuations = Continuations::new(64 * 1024);
        let null = std::ptr::null();
        let first = continuations.allocate(null, std::ptr::null(), 1).unwrap();
        // SAFETY: a live continuation object of this store; nothing runs
        // on it (here and below).
        unsafe { continuations.release(first) };
        let mappings = continuations.pool.mappings();
        for _ in 0..1_000_000 {
            let cont = continuations.allocate(null, std::ptr::null(), 1).unwrap();
            assert_eq!(cont, first);
            // SAFETY: as above.
            unsafe { continuations.release(cont) };
        }
        assert_eq!(continuations.pool.mappings(), mappings);
        assert_eq!(continuations.live(), 0);
    }

    #[test]
    fn pending_continuations_take_the_last_ended_stack_when_they_run() {
        let mut continuations = Continuations::new(64 * 1024);
        let null = std::ptr::null();
        let stacks: Vec<_> = (0..PENDING_FROM_LIVE)
            .map(|_| continuations.allocate(null, std::ptr::null(), 1).unwrap())
            .collect();
        let entry = 0x1000 as *const u8;
        let pending = continuations.allocate(entry, std::ptr::null(), 2).unwrap();
        // SAFETY: live continuation objects of this store, unused; their
        // buffers have room for the values written (here and below).
        let issued = unsafe { (*pending).revision };
        assert_ne!(issued & PENDING_REVISION, 0);
        assert!(!stacks.contains(&pending));
        unsafe {
            // What `cont.bind` leaves: a bound reference in slot 1.
            *(*pending).values.add(1) = 77;
            (*pending).gc_bound = 0b10;
            continuations.release(stacks[5]);
            // Consumed by its resume.
            (*pending).revision += 1;
        }
        // SAFETY: as above.
        let object = unsafe { continuations.take_stack(pending) }.unwrap();
        assert_eq!(object, stacks[5], "the stack that ended last");
        // SAFETY: as above.
        unsafe {
            assert_eq!((*object).context.frame_pointer, entry as usize);
            assert_eq!(*(*object).values.add(1), 77);
            assert_eq!((*object).gc_bound, 0b10);
            assert_eq!((*object).revision & PENDING_REVISION, 0);
        }
        assert_eq!(continuations.live(), PENDING_FROM_LIVE as usize);
        // The pending object comes back with a revision no reference has.
        let again = continuations.allocate(entry, std::ptr::null(), 1).unwrap();
        assert_eq!(again, pending);
        // SAFETY: as above.
        unsafe {
            assert!((*again).revision > issued + 1);
            assert_eq!((*again).gc_bound, 0);
        }
    }

    #[test]
    fn value_buffers_grow_and_stay_with_their_objects() {
        let mut continuations = Continuations::new(64 * 1024);
        let null = std::ptr::null();
        let cont = continuations.allocate(null, std::ptr::null(), 2).unwrap();
        // SAFETY: a live continuation object of this store; its buffer has
        // room for the values written, as its capacity says.
        unsafe {
            assert_eq!((*cont).values, (*cont).inline_values.as_mut_ptr());
            continuations.reserve(cont, 40);
            assert!((*cont).values_capacity >= 40);
            for i in 0..40 {
                *(*cont).values.add(i) = i as u128;
            }
            continuations.release(cont);
        }
        // The same object, with the grown buffer, even for a small type.
        let again = continuations.allocate(null, std::ptr::null(), 1).unwrap();
        assert_eq!(again, cont);
        // SAFETY: as above.
        unsafe { assert!((*again).values_capacity >= 40) };
    }
}
