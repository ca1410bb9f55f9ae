//! Structures shared by generated code and the runtime.
//!
//! Each is `#[repr(C)]` and defined only here; [`crate::VMOffsets`] derives
//! every offset the compiler uses from these definitions with `offset_of!`,
//! so a layout can only change in one place.

use std::mem::{offset_of, size_of};
use std::sync::atomic::AtomicU64;

/// A function reference: what `ref.func`, tables and imports point to.
/// Calling it means calling `wasm_call(vmctx, caller_vmctx, args...)` with
/// the tail calling convention.
#[repr(C)]
#[derive(Debug)]
pub struct VMFuncRef {
    /// Entry point, with the wasm calling convention.
    pub wasm_call: *const u8,
    /// The callee's context: a `VMContext` for wasm functions, a host
    /// function context for host functions.
    pub vmctx: *mut u8,
    /// The engine-wide canonical id of the function's type.
    pub type_id: u32,
}

/// A linear memory as generated code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory. Fixed for the memory's lifetime: its whole
    /// 32-bit range is reserved up front.
    pub base: *mut u8,
    /// Accessible size in bytes.
    pub current_length: usize,
}

/// A table as generated code sees it. Elements are one machine word each:
/// a `*const VMFuncRef` or an externref handle, 0 being null.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// First element. Moves when the table grows.
    pub base: *mut u128,
    /// Number of elements.
    pub current_elements: usize,
}

/// Storage of one global: 16 bytes, enough for any value type.
#[repr(C, align(16))]
#[derive(Debug, Default, Clone, Copy)]
pub struct VMGlobalDefinition {
    /// The value's bytes, little-endian from offset 0.
    pub storage: [u8; 16],
}

/// The context of a host function: what a host-function funcref's `vmctx`
/// points to. It starts with a [`VMContextHeader`] (magic
/// [`VMHOST_MAGIC`], no instance), so code that reads the store context
/// from a "caller vmctx" works whether the caller is wasm or the host. Its
/// trampoline calls `callback(ctx, caller_vmctx, values, len)` with the C
/// calling convention: arguments in `values` (one [`VAL_RAW_SIZE`]-byte
/// slot each) on entry, results on return; the callback returns 0 when the
/// call failed, after leaving the error with the store.
#[repr(C)]
#[derive(Debug)]
pub struct VMHostFuncContext {
    /// Header shared with `VMContext`.
    pub header: VMContextHeader,
    /// The callback, `extern "C" fn(*mut VMHostFuncContext, *mut u8,
    /// *mut u8, usize) -> u32`.
    pub callback: *const u8,
}

/// Value of [`VMContextHeader::magic`] in a [`VMHostFuncContext`].
pub const VMHOST_MAGIC: u32 = u32::from_le_bytes(*b"fxhf");

/// Size of one value slot in the argument/result arrays that trampolines
/// pass between host and wasm: 16 bytes, enough for any value, the value
/// little-endian from offset 0.
pub const VAL_RAW_SIZE: u32 = 16;

/// Bytes per table element (a reference, up to 16 bytes wide).
pub const TABLE_ELEMENT_SIZE: u32 = 16;

/// A tag. Its address is its identity: two tags are the same tag exactly
/// when they are the same object.
#[repr(C)]
#[derive(Debug)]
pub struct VMTagDefinition {
    /// Engine-wide canonical id of the tag's function type.
    pub type_id: u32,
}

/// The start of an exception object, an object of the GC heap; the
/// payload follows, one [`VAL_RAW_SIZE`]-byte slot per tag parameter.
#[repr(C, align(16))]
#[derive(Debug)]
pub struct VMExceptionHeader {
    /// The GC header (kind `GcKind::Exception`).
    pub gc: crate::gc::VMGcHeader,
    /// The exception's tag.
    pub tag: *const VMTagDefinition,
}

/// Where a stack switch resumes: the record Cranelift's `stack_switch`
/// loads from and stores to (its x86-64 layout). The frame pointer and
/// instruction pointer are adjacent, so the record can sit in a frame
/// pointer chain: `frame_pointer` is where a saved frame pointer goes and
/// `instruction_pointer` where its return address goes.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct VMControlContext {
    /// Stack pointer to resume with.
    pub stack_pointer: usize,
    /// Frame pointer to resume with.
    pub frame_pointer: usize,
    /// Instruction to resume at.
    pub instruction_pointer: usize,
}

/// Per-store state that generated code reads and writes.
#[repr(C)]
#[derive(Debug)]
pub struct VMStoreContext {
    /// The lowest address the stack pointer of wasm code may reach;
    /// every function prologue checks against it.
    pub stack_limit: usize,
    /// Frame pointer of the last wasm-to-host trampoline: where a backtrace
    /// taken in host code starts walking wasm frames.
    pub last_wasm_exit_fp: usize,
    /// The continuation running now: the innermost of the chain of
    /// `resume`s since the host last entered wasm, or, on the stack where
    /// the host entered, that entry's stand-in (see
    /// [`VMContRef::host_stand_in`]); never null while wasm runs.
    /// `suspend` and `switch` search for handlers from here outwards.
    pub current_continuation: *mut VMContRef,
    /// How deep continuations may nest (see [`VMContRef::depth`]): a
    /// continuation that would start deeper traps "call stack exhausted",
    /// as runaway recursion through continuations would otherwise take a
    /// new stack per level until memory runs out.
    pub max_continuation_depth: u64,
    /// The store's continuations: a [`VMContinuationFreeList`] first, the
    /// rest opaque to generated code.
    pub continuations: *mut VMContinuationFreeList,
    /// Fuel left, with `Config::consume_fuel`: generated code subtracts
    /// the cost of what it ran and, at function entries and loop headers,
    /// traps "all fuel consumed" once this is negative.
    pub fuel: i64,
    /// Where the GC heap allocates next, a region per size class
    /// ([`crate::gc::SIZE_CLASSES`]): generated code allocates an object by
    /// bumping its class's cursor, and calls `GcAlloc` only when the
    /// region is used up.
    pub gc_bump: [VMGcBump; crate::gc::SIZE_CLASSES.len()],
    /// The runtime's store that owns this context (opaque to generated
    /// code), for code that finds the store from the thread's activation
    /// alone: the landing of an epoch interrupt. Null until the store has
    /// its final address.
    pub owner: *mut u8,
}

impl Default for VMStoreContext {
    fn default() -> Self {
        VMStoreContext {
            stack_limit: 0,
            last_wasm_exit_fp: 0,
            current_continuation: std::ptr::null_mut(),
            max_continuation_depth: DEFAULT_MAX_CONTINUATION_DEPTH,
            continuations: std::ptr::null_mut(),
            fuel: 0,
            gc_bump: [VMGcBump::EMPTY; crate::gc::SIZE_CLASSES.len()],
            owner: std::ptr::null_mut(),
        }
    }
}

/// A run of free cells of one size class: the next object goes at
/// `cursor`, while `cursor` plus the cell size stays at or below `limit`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VMGcBump {
    /// The next free cell.
    pub cursor: *mut u8,
    /// The end of the run.
    pub limit: *mut u8,
}

impl VMGcBump {
    /// No room: the next allocation calls the runtime.
    pub const EMPTY: VMGcBump = VMGcBump {
        cursor: std::ptr::null_mut(),
        limit: std::ptr::null_mut(),
    };
}

/// Default of `VMStoreContext::max_continuation_depth`.
pub const DEFAULT_MAX_CONTINUATION_DEPTH: u64 = 100_000;

/// A continuation: what a `contref` points to.
///
/// A `contref` value is 16 bytes: the address of a `VMContRef` (low half,
/// null for a null reference) and the revision it was issued with (high
/// half). A reference is valid while its revision equals the object's:
/// every use that consumes a reference (`resume`, `resume_throw`,
/// `cont.bind`, being switched to) bumps the object's revision, so a second
/// use of the same reference traps "continuation already consumed". The
/// store owns the objects and reuses them for new continuations without
/// resetting the revision; a reference can therefore never match a later
/// continuation that reuses its object.
///
/// Chains: while a continuation runs, `parent` is the continuation that
/// resumed it (the host's stand-in for the stack the host entered wasm on)
/// and `handlers` the clauses of that `resume`. A `suspend` to a handler
/// of continuation `root` suspends the whole chain from `root` to the
/// innermost running continuation: `root.innermost` remembers where to
/// continue, and a reference to `root` stands for the chain. Whatever
/// leaves a chain for its parent (a suspension, a return, an exception
/// thrown out) makes the parent the running continuation again, with its
/// stack limit, so that a `resume` has nothing to restore.
///
/// Layout: the object heads its stack's header, at the top of the stack
/// (see fxtime-fibre's `StackTop`, which it begins with), 64-aligned. What
/// every switch touches lies in its first two cache lines; what only
/// `cont.new` and the start touch comes last.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct VMContRef {
    /// Where the continuation continues while it is suspended (in its
    /// innermost continuation), written by the switch that suspends it and
    /// read by the one that wakes it. A fresh continuation's says: the
    /// start trampoline, at the stack's top, with the continuation entry of
    /// its function type in the frame-pointer word (see fxtime-fibre's
    /// `StackTop`): `extern "C" fn(*mut VMContRef) -> *mut VMContRef`,
    /// called with this object, which returns the object, with `transfer`
    /// set, as the payload for the switch back to the parent.
    pub context: VMControlContext,
    /// Where the parent continues while this continuation runs: written by
    /// the switch that wakes it (a `resume`, or a `switch` handing over
    /// the root's), read by the one that leaves it. The start trampoline's
    /// unwind rules and frame-pointer link lead here, so backtraces cross
    /// from the stack into the parent's. A separate record from `context`,
    /// so that a `switch` loads the target's state straight from where it
    /// lies.
    pub resumer: VMControlContext,
    /// Revision of the only valid reference (see above).
    pub revision: u64,
    /// While running: the continuation that resumed it.
    pub parent: *mut VMContRef,
    /// While suspended: the innermost continuation of the suspended chain
    /// (itself when fresh or suspended in its own code).
    pub innermost: *mut VMContRef,
    /// While running: the handler clauses of the `resume` that runs it.
    pub handlers: *const VMHandlerList,
    /// The lowest address wasm code on its stack may use.
    pub stack_limit: usize,
    /// Values in transit (arguments, results, tag payloads), 16 bytes each:
    /// `inline_values`, or a bigger buffer on the heap. A list of `n`
    /// values lies back to front, value `i` in slot `n - 1 - i`: both sides
    /// know `n` from the types, so no count is kept, and `cont.bind` can
    /// store the first arguments of a type before `resume` stores the rest
    /// without either knowing about the other.
    pub values: *mut u128,
    /// Why control reached the other side of a switch: into a continuation
    /// [`TRANSFER_RESUME`] or [`TRANSFER_THROW`]; out of it
    /// [`TRANSFER_RETURN`], [`TRANSFER_THROW`] or [`TRANSFER_SUSPEND`] plus
    /// the index of the handler clause.
    pub transfer: u64,
    /// Room in `values`, in values.
    pub values_capacity: u32,
    /// The value buffer while it is small enough.
    pub inline_values: [u128; CONT_INLINE_VALUES],
    /// The function a fresh continuation calls.
    pub func: *const VMFuncRef,
    /// 1 while the continuation holds its stack (fresh, running or
    /// suspended), 0 once it returned, threw out or was abandoned and its
    /// object waits in the free list (see [`VMContinuationFreeList`]).
    pub live: u64,
    /// How deep it nests, set when it starts running: one more than its
    /// parent's (see [`VMContRef::host_stand_in`] for the stack the host
    /// entered wasm on). Fixed from
    /// then on, so that `resume` and `suspend` need not count; runaway
    /// recursion through continuations starts a new one per level and
    /// meets `VMStoreContext::max_continuation_depth`.
    pub depth: u64,
    /// Which slots of the value buffer hold GC references bound by
    /// `cont.bind` (bit `i` for slot `i`), for the collector: the values
    /// wait there until the continuation runs. The code that takes them
    /// out (a start, a wake-up) clears it when they are references, as do
    /// the paths that drop them (an exception raised instead, the runtime
    /// giving the object back): a free object's is always 0, so `cont.new`
    /// need not store it.
    pub gc_bound: u64,
    /// The same for continuation references bound by `cont.bind`, cleared
    /// with `gc_bound`.
    pub cont_bound: u64,
}

impl VMContRef {
    /// What stands for the stack the host entered wasm on while that wasm
    /// runs: the parent of the outermost continuations it resumes. It has
    /// no handlers (`handlers` is an empty list, `parent` null: a search
    /// ends there), the stack limit of that wasm, and a depth that counts
    /// the continuations the host was called from, so that recursion
    /// through host functions meets the nesting limit too. Generated code
    /// only reads it.
    pub fn host_stand_in(stack_limit: usize, depth: u64, handlers: &'static VMHandlerList) -> Self {
        VMContRef {
            context: VMControlContext::default(),
            resumer: VMControlContext::default(),
            revision: 0,
            parent: std::ptr::null_mut(),
            innermost: std::ptr::null_mut(),
            handlers,
            stack_limit,
            values: std::ptr::null_mut(),
            transfer: 0,
            values_capacity: 0,
            inline_values: [0; CONT_INLINE_VALUES],
            func: std::ptr::null(),
            live: 0,
            depth,
            gc_bound: 0,
            cont_bound: 0,
        }
    }
}

/// Values the buffer of every continuation object holds at least (its
/// inline slots): `cont.new` of a type needing no more can take a free
/// object as it is.
pub const CONT_INLINE_VALUES: usize = 4;

/// The free continuation objects of a store, shared by the runtime and
/// generated code: `cont.new` takes the first (a fresh stack from the pool
/// only when there is none), and a continuation that returns or throws out
/// is pushed back, both without calling into the runtime. A free object
/// keeps its stack (the object lives in the stack's header), its revision
/// (already bumped) and its value buffer; while it is free, its `parent`
/// links to the next free object.
#[repr(C)]
#[derive(Debug)]
pub struct VMContinuationFreeList {
    /// The first free object (null when none).
    pub head: *mut VMContRef,
    /// Number of live continuations: fresh, running or suspended, with
    /// or without a stack yet.
    pub live: u64,
    /// The start trampoline, where a fresh continuation's stack begins.
    pub start: *const u8,
    /// The first free *pending* object (null when none): an object with
    /// no stack, for a fresh continuation that takes its stack when it
    /// first runs (see [`PENDING_REVISION`]). While free, its `parent`
    /// links to the next.
    pub pending: *mut VMContRef,
}

/// The bit set in every revision of a pending object (a fresh
/// continuation's, without a stack) and in no revision of a stack's
/// object: a reference's revision tells generated code which it points
/// to, without a load.
///
/// A continuation made while many are live (at least
/// [`PENDING_FROM_LIVE`]) and run much later would find its stack's top
/// cold: a TLB miss and a cache miss for each line its start touches.
/// Pending objects lie densely in memory of their own and hold what
/// `cont.new` and `cont.bind` give a continuation (function, continuation
/// entry, bound arguments); its first `resume` or `switch` moves that into
/// the object of the stack that ended last, which is warm.
pub const PENDING_REVISION: u64 = 1 << 63;

/// Live continuations from which `cont.new` makes pending ones (see
/// [`PENDING_REVISION`]). Below, a new continuation takes its stack at
/// once: with few continuations their stacks stay warm, and a first run
/// moves nothing.
pub const PENDING_FROM_LIVE: u64 = 1024;

/// Into a continuation: continue with the values in its buffer.
pub const TRANSFER_RESUME: u64 = 0;
/// Out of a continuation: it returned, its results in its buffer.
pub const TRANSFER_RETURN: u64 = 0;
/// Either way: an exception, in slot 0 of the buffer, is raised on the
/// other side.
pub const TRANSFER_THROW: u64 = 1;
/// Out of a continuation: suspended to handler clause `transfer -
/// TRANSFER_SUSPEND` of the `resume` that ran it, the payload in its buffer.
pub const TRANSFER_SUSPEND: u64 = 2;

/// The handler clauses of one `resume`, in the resumer's frame: this
/// header, then `suspend_count` tags of `(on $tag $label)` clauses and
/// `switch_count` tags of `(on $tag switch)` clauses, each a `*const
/// VMTagDefinition` (a tag's address is its identity), in clause order.
#[repr(C)]
#[derive(Debug)]
pub struct VMHandlerList {
    /// The tags of the first [`LEADING_SUSPEND_CLAUSES`] `(on $tag $label)`
    /// clauses, null where there are fewer: the handler search compares
    /// them before anything else, without counting.
    pub leading_suspend_tags: [*const VMTagDefinition; LEADING_SUSPEND_CLAUSES],
    /// The tag of the first `(on $tag switch)` clause, null if none.
    pub leading_switch_tag: *const VMTagDefinition,
    /// Number of `(on $tag $label)` clauses.
    pub suspend_count: u64,
    /// Number of `(on $tag switch)` clauses.
    pub switch_count: u64,
}

impl VMHandlerList {
    /// No clauses.
    pub const EMPTY: VMHandlerList = VMHandlerList {
        leading_suspend_tags: [std::ptr::null(); LEADING_SUSPEND_CLAUSES],
        leading_switch_tag: std::ptr::null(),
        suspend_count: 0,
        switch_count: 0,
    };
}

/// How many `(on $tag $label)` clauses of a `resume` the handler search
/// tries first (see [`VMHandlerList::leading_suspend_tags`]): a handler
/// of one or two effects (a generator's yield; a state's get and put) is
/// found without a loop.
pub const LEADING_SUSPEND_CLAUSES: usize = 2;

/// The fixed header at the start of every `VMContext`.
#[repr(C)]
#[derive(Debug)]
pub struct VMContextHeader {
    /// [`VMCONTEXT_MAGIC`], to catch a wrong pointer early in debug checks.
    pub magic: u32,
    /// Padding.
    pub _pad: u32,
    /// The runtime's instance object.
    pub instance: *mut u8,
    /// The store's [`VMStoreContext`].
    pub store_context: *mut VMStoreContext,
    /// The table of builtin function addresses, indexed by [`Builtin`].
    pub builtins: *const usize,
    /// The store's continuations (`VMStoreContext::continuations`), one
    /// load nearer: `cont.new` and a continuation's release start from it,
    /// and the loads in between wait for each other. Null in host
    /// function contexts.
    pub continuations: *mut VMContinuationFreeList,
    /// Non-zero once the store's epoch deadline is reached: the engine
    /// raises the word of every instance of the store (see the runtime's
    /// `epoch`); with `Config::epoch_interruption`, generated code traps
    /// with the "interrupt" code at a function entry or loop header when it
    /// finds its own raised, a trap the runtime resumes after unless the
    /// deadline says to stop (the runtime's `checks`). Unused in host
    /// function contexts.
    pub interrupt: AtomicU64,
}

/// Bytes in a WebAssembly page.
pub const WASM_PAGE_SIZE: u64 = 1 << 16;

/// Address space reserved for each 32-bit linear memory: its whole index
/// range, so that no index can reach past the reservation's guard.
pub const MEMORY_RESERVATION: u64 = 1 << 32;

/// Address space reserved for each 64-bit linear memory (memory64), and so
/// the most it can grow to. Every 64-bit memory reserves the same, so that
/// generated code can check an address against this constant instead of
/// loading the memory's length: an address below it that lies beyond the
/// accessible length faults like any access to the reservation's
/// inaccessible part. (Address space, not memory: only pages made
/// accessible count.)
pub const MEMORY64_RESERVATION: u64 = 32 << 30;

/// Inaccessible bytes after each memory's reservation. An access with a
/// static offset plus size up to this needs no explicit bounds check.
pub const MEMORY_GUARD_SIZE: u64 = 2 << 30;

/// Value of [`VMContextHeader::magic`].
pub const VMCONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"fxvm");

/// Offsets of the fixed structures' fields.
pub mod offsets {
    use super::*;
    /// `VMFuncRef::wasm_call`.
    pub const FUNC_REF_WASM_CALL: u32 = offset_of!(VMFuncRef, wasm_call) as u32;
    /// `VMFuncRef::vmctx`.
    pub const FUNC_REF_VMCTX: u32 = offset_of!(VMFuncRef, vmctx) as u32;
    /// `VMFuncRef::type_id`.
    pub const FUNC_REF_TYPE_ID: u32 = offset_of!(VMFuncRef, type_id) as u32;
    /// `VMMemoryDefinition::current_length`.
    pub const MEMORY_LENGTH: u32 = offset_of!(VMMemoryDefinition, current_length) as u32;
    /// `VMTableDefinition::base`.
    pub const TABLE_BASE: u32 = offset_of!(VMTableDefinition, base) as u32;
    /// `VMTableDefinition::current_elements`.
    pub const TABLE_LENGTH: u32 = offset_of!(VMTableDefinition, current_elements) as u32;
    /// `VMHostFuncContext::callback`.
    pub const HOST_FUNC_CALLBACK: u32 = offset_of!(VMHostFuncContext, callback) as u32;
    /// Offset of an exception's first payload slot.
    pub const EXCEPTION_PAYLOAD: u32 = size_of::<VMExceptionHeader>() as u32;
    /// `VMControlContext::stack_pointer`.
    pub const CONTROL_STACK_POINTER: u32 = offset_of!(VMControlContext, stack_pointer) as u32;
    /// `VMControlContext::frame_pointer`.
    pub const CONTROL_FRAME_POINTER: u32 = offset_of!(VMControlContext, frame_pointer) as u32;
    /// `VMControlContext::instruction_pointer`.
    pub const CONTROL_INSTRUCTION_POINTER: u32 =
        offset_of!(VMControlContext, instruction_pointer) as u32;
    /// `VMStoreContext::stack_limit`.
    pub const STORE_STACK_LIMIT: u32 = offset_of!(VMStoreContext, stack_limit) as u32;
    /// `VMStoreContext::fuel`.
    pub const STORE_FUEL: u32 = offset_of!(VMStoreContext, fuel) as u32;
    /// `VMContextHeader::interrupt`.
    pub const VMCTX_INTERRUPT: u32 = offset_of!(VMContextHeader, interrupt) as u32;
    /// `VMStoreContext::last_wasm_exit_fp`.
    pub const STORE_LAST_WASM_EXIT_FP: u32 = offset_of!(VMStoreContext, last_wasm_exit_fp) as u32;
    /// `VMStoreContext::max_continuation_depth`.
    pub const STORE_MAX_CONTINUATION_DEPTH: u32 =
        offset_of!(VMStoreContext, max_continuation_depth) as u32;
    /// `VMStoreContext::gc_bump`.
    pub const STORE_GC_BUMP: u32 = offset_of!(VMStoreContext, gc_bump) as u32;
    /// `VMGcBump::cursor`.
    pub const GC_BUMP_CURSOR: u32 = offset_of!(VMGcBump, cursor) as u32;
    /// `VMGcBump::limit`.
    pub const GC_BUMP_LIMIT: u32 = offset_of!(VMGcBump, limit) as u32;
    /// Size of a `VMGcBump`.
    pub const GC_BUMP_SIZE: u32 = size_of::<VMGcBump>() as u32;
    /// `VMStoreContext::current_continuation`.
    pub const STORE_CURRENT_CONTINUATION: u32 =
        offset_of!(VMStoreContext, current_continuation) as u32;
    /// `VMContRef::revision`.
    pub const CONT_REVISION: u32 = offset_of!(VMContRef, revision) as u32;
    /// `VMContRef::context`.
    pub const CONT_CONTEXT: u32 = offset_of!(VMContRef, context) as u32;
    /// `VMContRef::resumer`.
    pub const CONT_RESUMER: u32 = offset_of!(VMContRef, resumer) as u32;
    /// `VMContRef::parent`.
    pub const CONT_PARENT: u32 = offset_of!(VMContRef, parent) as u32;
    /// `VMContRef::innermost`.
    pub const CONT_INNERMOST: u32 = offset_of!(VMContRef, innermost) as u32;
    /// `VMContRef::handlers`.
    pub const CONT_HANDLERS: u32 = offset_of!(VMContRef, handlers) as u32;
    /// `VMContRef::stack_limit`.
    pub const CONT_STACK_LIMIT: u32 = offset_of!(VMContRef, stack_limit) as u32;
    /// `VMContRef::func`.
    pub const CONT_FUNC: u32 = offset_of!(VMContRef, func) as u32;
    /// `VMContRef::values`.
    pub const CONT_VALUES: u32 = offset_of!(VMContRef, values) as u32;
    /// `VMContRef::values_capacity`.
    pub const CONT_VALUES_CAPACITY: u32 = offset_of!(VMContRef, values_capacity) as u32;
    /// `VMContRef::transfer`.
    pub const CONT_TRANSFER: u32 = offset_of!(VMContRef, transfer) as u32;
    /// `VMContRef::live`.
    pub const CONT_LIVE: u32 = offset_of!(VMContRef, live) as u32;
    /// `VMContRef::depth`.
    pub const CONT_DEPTH: u32 = offset_of!(VMContRef, depth) as u32;
    /// `VMContRef::gc_bound`.
    pub const CONT_GC_BOUND: u32 = offset_of!(VMContRef, gc_bound) as u32;
    /// `VMContRef::cont_bound`.
    pub const CONT_CONT_BOUND: u32 = offset_of!(VMContRef, cont_bound) as u32;
    /// `VMContinuationFreeList::head`.
    pub const FREE_LIST_HEAD: u32 = offset_of!(VMContinuationFreeList, head) as u32;
    /// `VMContinuationFreeList::live`.
    pub const FREE_LIST_LIVE: u32 = offset_of!(VMContinuationFreeList, live) as u32;
    /// `VMContinuationFreeList::start`.
    pub const FREE_LIST_START: u32 = offset_of!(VMContinuationFreeList, start) as u32;
    /// `VMContinuationFreeList::pending`.
    pub const FREE_LIST_PENDING: u32 = offset_of!(VMContinuationFreeList, pending) as u32;
    /// `VMHandlerList::leading_suspend_tags`.
    pub const HANDLERS_LEADING_SUSPEND_TAGS: u32 =
        offset_of!(VMHandlerList, leading_suspend_tags) as u32;
    /// `VMHandlerList::leading_switch_tag`.
    pub const HANDLERS_LEADING_SWITCH_TAG: u32 =
        offset_of!(VMHandlerList, leading_switch_tag) as u32;
    /// `VMHandlerList::suspend_count`.
    pub const HANDLERS_SUSPEND_COUNT: u32 = offset_of!(VMHandlerList, suspend_count) as u32;
    /// `VMHandlerList::switch_count`.
    pub const HANDLERS_SWITCH_COUNT: u32 = offset_of!(VMHandlerList, switch_count) as u32;
    /// Where the tags follow a `VMHandlerList` header.
    pub const HANDLERS_TAGS: u32 = size_of::<VMHandlerList>() as u32;
    /// `VMContextHeader::store_context`.
    pub const VMCTX_STORE_CONTEXT: u32 = offset_of!(VMContextHeader, store_context) as u32;
    /// `VMContextHeader::builtins`.
    pub const VMCTX_BUILTINS: u32 = offset_of!(VMContextHeader, builtins) as u32;
    /// `VMContextHeader::continuations`.
    pub const VMCTX_CONTINUATIONS: u32 = offset_of!(VMContextHeader, continuations) as u32;
}

/// Scalar types in builtin signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinType {
    /// A pointer-sized integer (the vmctx, a reference).
    Pointer,
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer (addresses and lengths of memories, which 32-bit
    /// memories zero-extend).
    I64,
}

macro_rules! builtins {
    ($($(#[$doc:meta])* $name:ident($($param:ident),*) $(-> $result:ident)?;)*) => {
        /// Runtime functions that generated code calls through the builtin
        /// table (`VMContextHeader::builtins`). All take the caller's vmctx
        /// first and use the host's C calling convention. Builtins never
        /// unwind: one that can fail returns 0 and the generated code traps,
        /// so every trap is raised by generated code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Builtin { $($(#[$doc])* $name,)* }

        impl Builtin {
            /// Whether generated code calls this builtin with the tail
            /// calling convention: `Throw`, so that an exception edge
            /// clobbers every register (the unwinder restores none).
            pub fn uses_tail_convention(self) -> bool {
                matches!(self, Builtin::Throw)
            }

            /// Whether generated code calls this builtin with a convention
            /// that clobbers no register (`OutOfFuel`):
            /// called from the cold path of a check at a loop header, it
            /// then makes regalloc spill nothing on the hot path. Such a
            /// builtin returns nothing: it returns to go on, or traps by
            /// unwinding to the host itself.
            pub fn preserves_registers(self) -> bool {
                matches!(self, Builtin::OutOfFuel)
            }

            /// Every builtin, in table order.
            pub const ALL: &'static [Builtin] = &[$(Builtin::$name,)*];

            /// Parameters after the vmctx, and the result.
            pub fn signature(self) -> (&'static [BuiltinType], Option<BuiltinType>) {
                match self {
                    $(Builtin::$name => (
                        &[$(BuiltinType::$param),*],
                        builtins!(@result $($result)?),
                    ),)*
                }
            }
        }
    };
    (@result) => { None };
    (@result $r:ident) => { Some(BuiltinType::$r) };
}

builtins! {
    /// `memory.grow`: (memory, delta pages) -> old size, -1 when refused,
    /// or [`GROW_TRAP`] (trap with the error the store keeps).
    MemoryGrow(I32, I64) -> I64;
    /// `memory.fill`: (memory, dst, byte, len) -> 0 when out of bounds.
    MemoryFill(I32, I64, I32, I64) -> I32;
    /// `memory.copy`: (dst memory, src memory, dst, src, len) -> 0 when out
    /// of bounds.
    MemoryCopy(I32, I32, I64, I64, I64) -> I32;
    /// `memory.init`: (memory, data segment, dst, src, len) -> 0 when out
    /// of bounds.
    MemoryInit(I32, I32, I64, I32, I32) -> I32;
    /// `data.drop`: (data segment).
    DataDrop(I32);
    /// `table.grow`: (table, init value's low and high words, delta) ->
    /// old size, -1 when refused, or [`GROW_TRAP`] (as for memories).
    TableGrow(I32, Pointer, Pointer, I32) -> I32;
    /// `table.fill`: (table, dst, value's low and high words, len) -> 0
    /// when out of bounds.
    TableFill(I32, I32, Pointer, Pointer, I32) -> I32;
    /// `table.copy`: (dst table, src table, dst, src, len) -> 0 when out of
    /// bounds.
    TableCopy(I32, I32, I32, I32, I32) -> I32;
    /// `table.init`: (table, element segment, dst, src, len) -> 0 when out
    /// of bounds.
    TableInit(I32, I32, I32, I32, I32) -> I32;
    /// `elem.drop`: (element segment).
    ElemDrop(I32);
    /// Allocates an exception of a tag: (tag) -> the exception, its payload
    /// to be filled in by the caller.
    ExceptionNew(I32) -> Pointer;
    /// Whether one canonical type is a subtype of another: (sub, super) ->
    /// 0 or 1.
    IsSubtype(I32, I32) -> I32;
    /// Throws an exception: (exception). Never returns. Called with the
    /// tail calling convention (see `Builtin::uses_tail_convention`).
    Throw(Pointer);
    /// `cont.new`: (function reference, continuation type index) -> a
    /// fresh continuation; null when no stack can be had,
    /// [`CONT_LIMIT_COUNT`] or [`CONT_LIMIT_BYTES`] past a store limit.
    ContNew(Pointer, I32) -> Pointer;
    /// Grows a continuation's value buffer: (continuation, values needed).
    ContReserve(Pointer, I32);
    /// Gives a pending continuation (consumed already) a stack when no
    /// free one is left: (pending object) -> the stack's object, now
    /// holding the continuation; null or a limit code as for `ContNew`.
    /// May collect (keeping the pending continuation), as `ContNew` may.
    ContTakeStack(Pointer) -> Pointer;
    /// The fuel ran out: returns refuelled from the store's reserve (see
    /// `Store::fuel_async_yield_interval`), or traps "all fuel consumed"
    /// (or with the error the store keeps). See
    /// `Builtin::preserves_registers`.
    OutOfFuel();
    /// Allocates a GC object when generated code finds no free cell:
    /// (header: type id in the low half, kind in the high, size) -> the
    /// object with its header written, or null when the heap is full.
    GcAlloc(I64, I32) -> Pointer;
    /// `array.new` and `array.new_default`: (array type, length, value's
    /// low and high words) -> the array, or null when the heap is full.
    ArrayNew(I32, I32, Pointer, Pointer) -> Pointer;
    /// `array.new_data`: (array type, data segment, offset, length) -> the
    /// array, [`GC_OUT_OF_BOUNDS`] or null (see `ArrayNew`).
    ArrayNewData(I32, I32, I32, I32) -> Pointer;
    /// `array.new_elem`: (array type, element segment, offset, length) ->
    /// as `ArrayNewData`.
    ArrayNewElem(I32, I32, I32, I32) -> Pointer;
    /// `array.fill`: (array, array type, index, value's low and high words,
    /// length) -> 0 when out of bounds.
    ArrayFill(Pointer, I32, I32, Pointer, Pointer, I32) -> I32;
    /// `array.copy`: (dst array, dst array type, dst index, src array, src
    /// index, length) -> 0 when out of bounds.
    ArrayCopy(Pointer, I32, I32, Pointer, I32, I32) -> I32;
    /// `array.init_data`: (array, array type, data segment, dst index, src
    /// offset, length) -> 1, 0 when the array's range is out of bounds,
    /// [`GC_OUT_OF_BOUNDS`] when the segment's is.
    ArrayInitData(Pointer, I32, I32, I32, I32, I32) -> I32;
    /// `array.init_elem`: (array, array type, element segment, dst index,
    /// src index, length) -> as `ArrayInitData`.
    ArrayInitElem(Pointer, I32, I32, I32, I32, I32) -> I32;
    /// The write barrier's slow path: (old object written a reference).
    GcRemember(Pointer);
}

/// What the array builtins return when a data or element segment's range
/// (not the array's) is out of bounds.
pub const GC_OUT_OF_BOUNDS: usize = 2;

/// What `MemoryGrow` and `TableGrow` return for a growth that must trap
/// (a resource limiter's error, or `trap_on_grow_failure`): -2 in their
/// result's width.
pub const GROW_TRAP: i64 = -2;

/// `ContNew`'s result past the store's limit on live continuations.
pub const CONT_LIMIT_COUNT: usize = 1;

/// `ContNew`'s result past the store's limit on continuation stack bytes.
pub const CONT_LIMIT_BYTES: usize = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, size_of};

    #[test]
    fn layouts_are_what_generated_code_assumes() {
        // Generated code loads these fields as 64-bit words (and the type id
        // as a 32-bit word); check sizes and alignment as well as offsets.
        assert_eq!(size_of::<VMFuncRef>(), 24);
        assert_eq!(offsets::FUNC_REF_WASM_CALL, 0);
        assert_eq!(offsets::FUNC_REF_VMCTX, 8);
        assert_eq!(offsets::FUNC_REF_TYPE_ID, 16);
        assert_eq!(size_of::<VMMemoryDefinition>(), 16);
        assert_eq!(size_of::<VMTableDefinition>(), 16);
        assert_eq!(size_of::<VMGlobalDefinition>(), 16);
        assert_eq!(align_of::<VMGlobalDefinition>(), 16);
        assert_eq!(size_of::<VMContextHeader>(), 48);
        assert_eq!(offsets::VMCTX_INTERRUPT, 40);
        assert_eq!(offsets::VMCTX_BUILTINS, 24);
        assert_eq!(offsets::VMCTX_CONTINUATIONS, 32);
        // Generated code loads and stores every continuation field as a
        // 64-bit word except the 32-bit buffer capacity.
        // The object begins with fibre's `StackTop`: the continuation's
        // control context, then its resumer's.
        assert_eq!(offsets::CONT_CONTEXT, 0);
        assert_eq!(offsets::CONT_RESUMER, size_of::<VMControlContext>() as u32);
        // What a resume, suspend or switch touches: two cache lines, the
        // first inline value included.
        for hot in [
            offsets::CONT_REVISION,
            offsets::CONT_PARENT,
            offsets::CONT_INNERMOST,
            offsets::CONT_HANDLERS,
            offsets::CONT_STACK_LIMIT,
            offsets::CONT_VALUES,
            offsets::CONT_TRANSFER,
        ] {
            assert!(hot < 128, "{hot}");
        }
        assert_eq!(offset_of!(VMContRef, inline_values), 112);
        assert_eq!(align_of::<VMContRef>(), 64);
        assert_eq!(size_of::<VMContRef>(), 256);
        assert_eq!(offsets::CONT_LIVE % 8, 0);
        assert_eq!(size_of::<VMContinuationFreeList>(), 32);
        assert_eq!(offsets::FREE_LIST_PENDING % 8, 0);
        assert_eq!(offsets::CONT_TRANSFER % 8, 0);
        assert_eq!(offsets::HANDLERS_TAGS, 40);
    }

    #[test]
    fn control_context_matches_cranelifts_stack_switch() {
        // cranelift-codegen's x64 `stack_switch::control_context_layout`.
        assert_eq!(offsets::CONTROL_STACK_POINTER, 0);
        assert_eq!(offsets::CONTROL_FRAME_POINTER, 8);
        assert_eq!(offsets::CONTROL_INSTRUCTION_POINTER, 16);
        assert_eq!(size_of::<VMControlContext>(), 24);
        // A frame-pointer walk reads [fp] then [fp + 8]: the pair must be
        // adjacent and in that order.
        assert_eq!(
            offsets::CONTROL_INSTRUCTION_POINTER - offsets::CONTROL_FRAME_POINTER,
            8
        );
    }

    #[test]
    fn builtin_table_is_dense() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(*b as usize, i);
        }
    }
}
