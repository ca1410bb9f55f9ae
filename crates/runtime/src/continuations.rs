//! Continuation objects and their stacks, owned by a store.
//!
//! Objects are never freed while the store lives: a reference may point at
//! an object long after its continuation ended, and must still find a
//! revision there that tells it is stale (see `VMContRef`). A continuation
//! that returns, throws out, or is abandoned by a trap gives its stack back
//! to the pool and its object to the free list, so creating continuations
//! costs no system call in the steady state and memory stays bounded by
//! the number alive at once. (Suspended continuations nobody resumes stay
//! until the store is dropped: there is no collector yet.)

use fxtime_environ::vm::{VMContRef, VMFuncRef};
use fxtime_fibre::{FiberStack, StackPool};

/// A continuation object with what only the runtime needs.
#[repr(C)]
struct Continuation {
    /// First, so that a `*mut VMContRef` is a `*mut Continuation`.
    vm: VMContRef,
    stack: Option<FiberStack>,
    /// The storage behind `vm.values`.
    values: Vec<u128>,
}

/// The continuations of one store.
#[derive(Debug)]
pub struct Continuations {
    pool: StackPool,
    /// Every object made; boxed, so addresses are stable.
    #[expect(
        clippy::vec_box,
        reason = "references hold pointers to these objects: they must not move when the Vec grows"
    )]
    objects: Vec<Box<Continuation>>,
    /// Objects whose continuation ended, reused first.
    free: Vec<*mut Continuation>,
}

impl std::fmt::Debug for Continuation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Continuation")
            .field("revision", &self.vm.revision)
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

// SAFETY: the raw pointers point into objects this value owns (or into
// their stacks); a store and its continuations move between threads as a
// whole, never shared.
unsafe impl Send for Continuations {}

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
            pool: StackPool::new(stack_size),
            objects: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Usable bytes of each continuation stack.
    pub fn stack_size(&self) -> usize {
        self.pool.stack_size()
    }

    /// Number of continuations holding a stack (fresh, running or
    /// suspended).
    pub fn live(&self) -> usize {
        self.pool.in_use()
    }

    /// Number of continuation objects ever made (live or reusable).
    pub fn objects(&self) -> usize {
        self.objects.len()
    }

    /// A fresh continuation that will call `entry` with itself, which runs
    /// `func`; its buffer holds `capacity` values. `None` when no stack can
    /// be had.
    pub fn allocate(
        &mut self,
        entry: *const u8,
        func: *const VMFuncRef,
        capacity: usize,
    ) -> Option<*mut VMContRef> {
        let stack = self.pool.allocate().ok()?;
        let cont = match self.free.pop() {
            Some(cont) => cont,
            None => {
                let mut object = Box::new(Continuation {
                    vm: VMContRef {
                        entry,
                        revision: 0,
                        context: std::ptr::null_mut(),
                        parent: std::ptr::null_mut(),
                        innermost: std::ptr::null_mut(),
                        handlers: std::ptr::null(),
                        stack_limit: 0,
                        func,
                        values: std::ptr::null_mut(),
                        values_len: 0,
                        values_capacity: 0,
                        transfer: 0,
                    },
                    stack: None,
                    values: Vec::new(),
                });
                let ptr: *mut Continuation = &mut *object;
                self.objects.push(object);
                ptr
            }
        };
        // SAFETY: `cont` is one of our objects, ended or new: no generated
        // code uses it.
        let object = unsafe { &mut *cont };
        // SAFETY: the stack was just handed out, so nothing runs on it.
        unsafe { stack.prepare_start() };
        object.stack = Some(stack);
        object.vm.entry = entry;
        object.vm.func = func;
        object.vm.context = stack.control_context();
        object.vm.parent = std::ptr::null_mut();
        object.vm.innermost = &mut object.vm;
        object.vm.handlers = std::ptr::null();
        object.vm.stack_limit = stack.limit();
        object.vm.transfer = 0;
        object.vm.values_len = 0;
        ensure_capacity(object, capacity.max(1));
        Some(&mut object.vm)
    }

    /// Gives the stack of `cont` (which returned, threw out, or was
    /// abandoned) back and makes its object reusable.
    ///
    /// # Safety
    ///
    /// `cont` must be a live continuation of this store that nothing runs
    /// on any more.
    pub unsafe fn release(&mut self, cont: *mut VMContRef) {
        // SAFETY: per the contract.
        unsafe { self.give_back(cont, false) }
    }

    /// [`release`](Self::release), returning the stack's pages to the
    /// system when `discard`.
    ///
    /// # Safety
    ///
    /// As for `release`.
    unsafe fn give_back(&mut self, cont: *mut VMContRef, discard: bool) {
        let object = cont.cast::<Continuation>();
        // SAFETY: per the contract, one of our objects, not in use.
        let object = unsafe { &mut *object };
        if let Some(stack) = object.stack.take() {
            if !discard || self.pool.release_discarding(stack).is_err() {
                self.pool.release(stack);
            }
            // Every reference issued for it was consumed, which bumped the
            // revision; a bump more keeps stale copies stale regardless.
            object.vm.revision += 1;
            object.vm.values_len = 0;
            self.free.push(object);
        }
    }

    /// Grows the value buffer of `cont` to at least `needed` values,
    /// keeping those in it.
    ///
    /// # Safety
    ///
    /// `cont` must be a continuation object of this store.
    pub unsafe fn reserve(&mut self, cont: *mut VMContRef, needed: usize) {
        // SAFETY: per the contract.
        let object = unsafe { &mut *cont.cast::<Continuation>() };
        ensure_capacity(object, needed);
    }

    /// Releases the chain of running continuations from `innermost`
    /// outwards (through `parent` links up to null): after a trap, nothing
    /// will run on their stacks again.
    ///
    /// # Safety
    ///
    /// `innermost` must be null or the innermost running continuation of
    /// this store, with the chain's links intact.
    pub unsafe fn abandon_chain(&mut self, innermost: *mut VMContRef) {
        let mut cont = innermost;
        while !cont.is_null() {
            // SAFETY: per the contract, every link is one of our objects.
            let parent = unsafe { (*cont).parent };
            // SAFETY: the trap left the chain; nothing runs on it. It may
            // have run deep (a stack overflow): give its pages back.
            unsafe { self.give_back(cont, true) };
            cont = parent;
        }
    }
}

fn ensure_capacity(object: &mut Continuation, needed: usize) {
    if object.values.len() < needed {
        let len = object.vm.values_len as usize;
        let mut values = vec![0u128; needed.next_power_of_two()];
        values[..len].copy_from_slice(&object.values[..len]);
        object.values = values;
    }
    object.vm.values = object.values.as_mut_ptr();
    object.vm.values_capacity = object.values.len() as u32;
}
