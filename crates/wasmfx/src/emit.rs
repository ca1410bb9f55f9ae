//! Emitting the switching paths into a function under construction.
//!
//! Values: a continuation *reference* is an `i128` (object address in the
//! low half, revision in the high half); a continuation *object* is its
//! `i64` address.
//!
//! Value buffers: a running continuation's buffer is empty, and a fresh or
//! suspended one holds exactly its bound arguments; values written for the
//! other side of a switch are taken (and the buffer emptied) right after
//! it. So storing or taking no values needs no code.

use cranelift_codegen::cursor::FuncCursor;
use cranelift_codegen::ir::MemFlagsData;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I32, I64};
use cranelift_codegen::ir::{self, InstBuilder, StackSlotData, StackSlotKey, StackSlotKind, Value};
use cranelift_frontend::FunctionBuilder;
use fxtime_environ::vm::{
    CONT_INLINE_VALUES, LEADING_SUSPEND_CLAUSES, TRANSFER_RESUME, TRANSFER_SUSPEND, VAL_RAW_SIZE,
    offsets as o,
};

/// The trap codes of the switching paths.
#[derive(Debug, Clone, Copy)]
pub struct Traps {
    /// A null continuation reference.
    pub null: ir::TrapCode,
    /// A reference whose continuation was consumed already.
    pub consumed: ir::TrapCode,
    /// No handler for a `suspend` or `switch`.
    pub unhandled: ir::TrapCode,
    /// A `resume` nested too deeply.
    pub too_deep: ir::TrapCode,
}

/// Accesses that cannot trap. Not marked aligned: value buffers hold
/// `v128`s in 16-byte slots whose base nothing promises to align to 16
/// bytes, and an aligned vector access may become an SSE instruction
/// that faults on misalignment.
fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

fn load(b: &mut FunctionBuilder<'_>, ty: ir::Type, base: Value, offset: u32) -> Value {
    b.ins().load(ty, flags(), base, offset as i32)
}

fn store(b: &mut FunctionBuilder<'_>, value: Value, base: Value, offset: u32) {
    b.ins().store(flags(), value, base, offset as i32);
}

/// Adds `delta` to the 64-bit word at `base + offset`.
fn add_to(b: &mut FunctionBuilder<'_>, base: Value, offset: u32, delta: i64) {
    let word = load(b, I64, base, offset);
    let word = b.ins().iadd_imm_s(word, delta);
    store(b, word, base, offset);
}

/// A reference to continuation object `cont` with its current revision.
pub fn reference(b: &mut FunctionBuilder<'_>, cont: Value) -> Value {
    let revision = load(b, I64, cont, o::CONT_REVISION);
    b.ins().iconcat(cont, revision)
}

/// The null continuation reference.
pub fn null_reference(b: &mut FunctionBuilder<'_>) -> Value {
    let zero = b.ins().iconst(I64, 0);
    b.ins().iconcat(zero, zero)
}

/// The object a reference points to (0 for null).
pub fn object(b: &mut FunctionBuilder<'_>, reference: Value) -> Value {
    b.ins().isplit(reference).0
}

/// Makes `object`, the first free continuation object of `free_list` (see
/// `VMContinuationFreeList`), a fresh continuation that runs `func` through
/// the continuation entry `entry`: takes it off the list and sets what a
/// new continuation needs. What a free object keeps is already right: its
/// stack and stack limit, its bumped revision, an empty
/// value buffer of at least `CONT_INLINE_VALUES` values, no bound
/// references (`gc_bound` and `cont_bound` 0).
pub fn reuse_free(
    b: &mut FunctionBuilder<'_>,
    free_list: Value,
    object: Value,
    entry: Value,
    func: Value,
) {
    take_first(b, free_list, o::FREE_LIST_HEAD, object);
    // The stack starts in the start trampoline, its frame at the top of the
    // stack (the object), the entry in the frame-pointer word (fibre's
    // `StackTop::start_context`).
    set_fresh(b, object, entry, func);
    let context = context(b, object);
    store(b, object, context, o::CONTROL_STACK_POINTER);
    let start = load(b, I64, free_list, o::FREE_LIST_START);
    store(b, start, context, o::CONTROL_INSTRUCTION_POINTER);
    store(b, object, object, o::CONT_INNERMOST);
    let zero = b.ins().iconst(I64, 0);
    store(b, zero, object, o::CONT_TRANSFER);
}

/// Makes `pending`, the first free pending object of `free_list` (see
/// `PENDING_REVISION`), a fresh continuation that will run `func` through
/// the continuation entry `entry` once it has a stack: takes it off the
/// list and sets those two. What a free pending object keeps is already
/// right: its revision, its buffer, no bound references, and what the
/// runtime set once (a fresh continuation's resume address, itself as
/// innermost).
pub fn reuse_pending(
    b: &mut FunctionBuilder<'_>,
    free_list: Value,
    pending: Value,
    entry: Value,
    func: Value,
) {
    take_first(b, free_list, o::FREE_LIST_PENDING, pending);
    // Where a stack's object keeps the entry; the move copies it.
    set_fresh(b, pending, entry, func);
}

/// Takes `object`, the first of the list of `free_list` at `list`, off
/// that list (free objects link through `parent`) and counts it live.
fn take_first(b: &mut FunctionBuilder<'_>, free_list: Value, list: u32, object: Value) {
    let next = load(b, I64, object, o::CONT_PARENT);
    store(b, next, free_list, list);
    add_to(b, free_list, o::FREE_LIST_LIVE, 1);
}

/// Puts `object`, live until now, first on the list of `free_list` at
/// `list`: the reverse of [`take_first`].
fn put_first(b: &mut FunctionBuilder<'_>, free_list: Value, list: u32, object: Value) {
    let zero = b.ins().iconst(I64, 0);
    store(b, zero, object, o::CONT_LIVE);
    let head = load(b, I64, free_list, list);
    store(b, head, object, o::CONT_PARENT);
    store(b, object, free_list, list);
    add_to(b, free_list, o::FREE_LIST_LIVE, -1);
}

/// What every fresh continuation's object holds: the continuation entry
/// `entry` in the frame-pointer word of its context, the function `func`,
/// live, no parent.
fn set_fresh(b: &mut FunctionBuilder<'_>, object: Value, entry: Value, func: Value) {
    let context = context(b, object);
    store(b, entry, context, o::CONTROL_FRAME_POINTER);
    let one = b.ins().iconst(I64, 1);
    store(b, one, object, o::CONT_LIVE);
    store(b, func, object, o::CONT_FUNC);
    let zero = b.ins().iconst(I64, 0);
    store(b, zero, object, o::CONT_PARENT);
}

/// Moves pending continuation `pending` (consumed) to `object`, the first
/// free object of `free_list`, and gives `pending` back to its list: what
/// the runtime's `Continuations::take_stack` does, without the call.
/// `first_unbound` is the first buffer slot `cont.bind` may have written
/// (the slots below are for what the caller stores next).
pub fn take_free_stack(
    b: &mut FunctionBuilder<'_>,
    free_list: Value,
    object: Value,
    pending: Value,
    first_unbound: usize,
) {
    let context = context(b, pending);
    let entry = load(b, I64, context, o::CONTROL_FRAME_POINTER);
    let func = load(b, I64, pending, o::CONT_FUNC);
    reuse_free(b, free_list, object, entry, func);
    // Bound arguments: a pending continuation's type has at most
    // CONT_INLINE_VALUES values, so they lie in that many slots.
    let (from, to) = (
        load(b, I64, pending, o::CONT_VALUES),
        load(b, I64, object, o::CONT_VALUES),
    );
    let slot_words = (VAL_RAW_SIZE / 8) as usize;
    for word in first_unbound * slot_words..CONT_INLINE_VALUES * slot_words {
        let offset = word as u32 * 8;
        let value = load(b, I64, from, offset);
        store(b, value, to, offset);
    }
    let zero = b.ins().iconst(I64, 0);
    for field in [o::CONT_GC_BOUND, o::CONT_CONT_BOUND] {
        let mask = load(b, I64, pending, field);
        store(b, mask, object, field);
        store(b, zero, pending, field);
    }
    // The pending object goes back; it was counted live as the object is
    // now.
    put_first(b, free_list, o::FREE_LIST_PENDING, pending);
}

/// Records that `cont.bind` stored references in the slots of `mask` of
/// `cont`'s buffer, in the mask at `field`: `CONT_GC_BOUND` for GC
/// references, `CONT_CONT_BOUND` for continuation references (see
/// `VMContRef::gc_bound`).
pub fn add_bound(b: &mut FunctionBuilder<'_>, cont: Value, field: u32, mask: u64) {
    let bound = load(b, I64, cont, field);
    let bound = b.ins().bor_imm_u(bound, mask as i64);
    store(b, bound, cont, field);
}

/// Records that `cont`'s buffer holds no bound references any more (they
/// were taken out, or dropped).
pub fn clear_bound(b: &mut FunctionBuilder<'_>, cont: Value) {
    let zero = b.ins().iconst(I64, 0);
    store(b, zero, cont, o::CONT_GC_BOUND);
    store(b, zero, cont, o::CONT_CONT_BOUND);
}

/// The control context of continuation object `cont` (where it
/// continues), which it begins with: no load.
fn context(b: &mut FunctionBuilder<'_>, cont: Value) -> Value {
    b.ins().iadd_imm_s(cont, i64::from(o::CONT_CONTEXT))
}

/// The control context of the resumer of continuation object `cont`
/// (where its parent continues while it runs).
fn resumer(b: &mut FunctionBuilder<'_>, cont: Value) -> Value {
    b.ins().iadd_imm_s(cont, i64::from(o::CONT_RESUMER))
}

/// Gives continuation object `cont`, which returned or threw out (its
/// buffer taken), back to `free_list` with its stack: what the runtime's
/// `Continuations::release` does, without the call.
pub fn release(b: &mut FunctionBuilder<'_>, free_list: Value, cont: Value) {
    // Every reference was consumed; a bump more keeps stale copies stale
    // regardless.
    add_to(b, cont, o::CONT_REVISION, 1);
    put_first(b, free_list, o::FREE_LIST_HEAD, cont);
}

/// Checks `reference` (not null, not consumed) and consumes it: bumps the
/// revision so that no copy of it is valid any more. Returns the object
/// and its new revision (`cont.bind` makes its reference of them).
///
/// The new revision is computed from the reference's, equal to the
/// object's once checked: a chain of uses of one continuation (`cont.bind`
/// then `resume`, resume after resume) then waits for no load of what the
/// last use stored, only for the compare that checks it, which the
/// processor predicts.
pub fn consume(b: &mut FunctionBuilder<'_>, reference: Value, traps: Traps) -> (Value, Value) {
    let (cont, revision) = b.ins().isplit(reference);
    // A null object faults on this load (the first pages are never
    // mapped): the null check costs no instruction.
    let current = b
        .ins()
        .load(I64, faulting(traps.null), cont, o::CONT_REVISION as i32);
    let stale = b.ins().icmp(IntCC::NotEqual, current, revision);
    b.ins().trapnz(stale, traps.consumed);
    (cont, bump(b, cont, revision))
}

/// [`consume`] for a reference known to be the object's current one (just
/// made by `cont.new` or `cont.bind`): no load, no check.
pub fn consume_fresh(b: &mut FunctionBuilder<'_>, reference: Value) -> (Value, Value) {
    let (cont, revision) = b.ins().isplit(reference);
    (cont, bump(b, cont, revision))
}

/// Gives `cont`, whose current revision is `revision`, the next one.
fn bump(b: &mut FunctionBuilder<'_>, cont: Value, revision: Value) -> Value {
    let next = b.ins().iadd_imm_s(revision, 1);
    store(b, next, cont, o::CONT_REVISION);
    next
}

/// Flags for a load through a pointer that may be null, which traps with
/// `code` when it is: the fault of reading the unmapped first page, which
/// the signal handler turns into that trap.
fn faulting(code: ir::TrapCode) -> MemFlagsData {
    MemFlagsData::new()
        .with_aligned()
        .with_trap_code(Some(code))
}

/// Emits, given the continuation object and the number of values needed,
/// the call that grows its value buffer.
pub type EmitReserve<'a> = &'a mut dyn FnMut(&mut FunctionBuilder<'_>, Value, Value);

/// Stores `values`, the first `values.len()` of a list of `count`, into the
/// value buffer of `cont`, back to front (value `i` in slot `count - 1 - i`;
/// see `VMContRef::values`). So `cont.bind` stores the first arguments of
/// a type with `count` parameters, and `resume` or `switch` the rest (a
/// whole list of their own count), at slots known when compiling.
///
/// A buffer always has room for the parameters and for the results of the
/// function type its continuation was created with (`cont.new` sizes it),
/// and for at least `CONT_INLINE_VALUES` values, so arguments, bound
/// arguments, results, an exception (one value) and small payloads need no
/// check. A tag's payload may need more: for it, `reserve` is
/// `Some(emit)`, where `emit(b, cont, needed)` emits the call that grows
/// the buffer when it is too small (it keeps nothing of the old contents,
/// which the payload replaces).
pub fn store_values(
    b: &mut FunctionBuilder<'_>,
    cont: Value,
    values: &[Value],
    count: usize,
    reserve: Option<EmitReserve<'_>>,
) {
    debug_assert!(values.len() <= count);
    if values.is_empty() {
        return;
    }
    if let Some(reserve) = reserve.filter(|_| count > CONT_INLINE_VALUES) {
        let needed = b.ins().iconst(I32, count as i64);
        let capacity = load(b, I32, cont, o::CONT_VALUES_CAPACITY);
        let too_small = b.ins().icmp(IntCC::UnsignedLessThan, capacity, needed);
        let grow = b.create_block();
        let ready = b.create_block();
        b.ins().brif(too_small, grow, &[], ready, &[]);
        b.set_cold_block(grow);
        enter_sealed(b, grow);
        reserve(b, cont, needed);
        b.ins().jump(ready, &[]);
        enter_sealed(b, ready);
    }
    let base = load(b, I64, cont, o::CONT_VALUES);
    for (i, value) in values.iter().enumerate() {
        store(b, *value, base, slot(count, i));
    }
}

/// Loads a list of values of `types` from the value buffer of `cont` (see
/// [`store_values`]).
pub fn take_values(b: &mut FunctionBuilder<'_>, cont: Value, types: &[ir::Type]) -> Vec<Value> {
    if types.is_empty() {
        return Vec::new();
    }
    let base = load(b, I64, cont, o::CONT_VALUES);
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| load(b, *ty, base, slot(types.len(), i)))
        .collect()
}

/// The offset of value `i` of a list of `count` in a value buffer.
fn slot(count: usize, i: usize) -> u32 {
    (count - 1 - i) as u32 * VAL_RAW_SIZE
}

/// The key of the stack slots that [`handler_list`] makes. Nothing but
/// the stores it emits writes such a slot, each once, with a constant or
/// a tag address loaded from the vmctx: code inlined into another
/// function may have them moved out of the loops around them.
pub const HANDLER_LIST_SLOT: u64 = u64::from_le_bytes(*b"handlers");

/// Builds the handler list of a `resume` in a new slot of this frame, at
/// `pos` (the function's prologue: the clauses of a `resume` are the same
/// every time it runs): the tags of its `(on $tag $label)` clauses, then
/// those of its `(on $tag switch)` clauses (tag addresses). Returns the
/// slot (keyed [`HANDLER_LIST_SLOT`]); its address is the list.
pub fn handler_list(
    pos: &mut FuncCursor<'_>,
    suspend: &[Value],
    switch: &[Value],
) -> ir::StackSlot {
    let count = suspend.len() + switch.len();
    let size = o::HANDLERS_TAGS + 8 * count as u32;
    let slot = pos
        .func
        .create_sized_stack_slot(StackSlotData::new_with_key(
            StackSlotKind::ExplicitSlot,
            size,
            3,
            StackSlotKey::new(HANDLER_LIST_SLOT),
        ));
    let list = pos.ins().stack_addr(I64, slot, 0);
    let set = |pos: &mut FuncCursor<'_>, value: Value, offset: u32| {
        pos.ins().store(flags(), value, list, offset as i32);
    };
    let zero = pos.ins().iconst(I64, 0);
    for k in 0..LEADING_SUSPEND_CLAUSES {
        let tag = suspend.get(k).copied().unwrap_or(zero);
        set(pos, tag, o::HANDLERS_LEADING_SUSPEND_TAGS + 8 * k as u32);
    }
    set(
        pos,
        switch.first().copied().unwrap_or(zero),
        o::HANDLERS_LEADING_SWITCH_TAG,
    );
    for (tags, count_offset) in [
        (suspend, o::HANDLERS_SUSPEND_COUNT),
        (switch, o::HANDLERS_SWITCH_COUNT),
    ] {
        let n = pos.ins().iconst(I64, tags.len() as i64);
        set(pos, n, count_offset);
    }
    for (i, tag) in suspend.iter().chain(switch).enumerate() {
        set(pos, *tag, o::HANDLERS_TAGS + 8 * i as u32);
    }
    slot
}

/// Runs continuation `cont` (consumed already) under handler list
/// `handlers`, telling it `transfer` (`TRANSFER_RESUME`, or
/// `TRANSFER_THROW` with the exception in its buffer). Returns, once
/// control comes back, the root of the chain that came back (whose
/// `transfer` says why).
pub fn resume(
    b: &mut FunctionBuilder<'_>,
    store_context: Value,
    cont: Value,
    handlers: Value,
    transfer: u64,
) -> Value {
    store(b, handlers, cont, o::CONT_HANDLERS);
    // A suspended or fresh continuation's `transfer` is never
    // TRANSFER_THROW (a woken one resets it when it raises), so a plain
    // resume leaves it as it is.
    if transfer != TRANSFER_RESUME {
        set_transfer(b, cont, transfer);
    }
    let parent = load(b, I64, store_context, o::STORE_CURRENT_CONTINUATION);
    store(b, parent, cont, o::CONT_PARENT);
    let innermost = load(b, I64, cont, o::CONT_INNERMOST);
    enter(b, store_context, innermost);
    let context = context(b, cont);
    let resumer = resumer(b, cont);
    // The payload is the root of the chain that wakes up (see `suspend`).
    // Whatever comes back made this stack's continuation the running one
    // again (see `leave`).
    b.ins().stack_switch(resumer, context, cont)
}

/// Before a switch from the chain of `root` back to the resume that runs
/// it (a suspension, a return, an exception thrown out): makes the
/// resumer's continuation, `root`'s parent, the running one again, with
/// its stack limit.
pub fn leave(b: &mut FunctionBuilder<'_>, store_context: Value, root: Value) {
    let parent = load(b, I64, root, o::CONT_PARENT);
    enter(b, store_context, parent);
}

/// Clears the `parent` of `root`, whose chain is being suspended: a
/// suspended root is the one live continuation, besides fresh ones, with
/// no parent, which is how the collector finds the suspended chains whose
/// stacks it scans (members of a chain keep theirs).
fn forget_parent(b: &mut FunctionBuilder<'_>, root: Value) {
    let zero = b.ins().iconst(I64, 0);
    store(b, zero, root, o::CONT_PARENT);
}

/// The start of a continuation's first run, in its continuation entry:
/// sets its [depth](fxtime_environ::vm::VMContRef::depth), trapping with
/// `traps.too_deep` beyond `max_depth`.
pub fn check_depth(b: &mut FunctionBuilder<'_>, cont: Value, max_depth: Value, traps: Traps) {
    let parent = load(b, I64, cont, o::CONT_PARENT);
    let parent_depth = load(b, I64, parent, o::CONT_DEPTH);
    let too_deep = b
        .ins()
        .icmp(IntCC::UnsignedGreaterThanOrEqual, parent_depth, max_depth);
    b.ins().trapnz(too_deep, traps.too_deep);
    let depth = b.ins().iadd_imm_s(parent_depth, 1);
    store(b, depth, cont, o::CONT_DEPTH);
}

/// Makes `innermost` the running continuation, with its stack limit.
fn enter(b: &mut FunctionBuilder<'_>, store_context: Value, innermost: Value) {
    store(b, innermost, store_context, o::STORE_CURRENT_CONTINUATION);
    let limit = load(b, I64, innermost, o::CONT_STACK_LIMIT);
    store(b, limit, store_context, o::STORE_STACK_LIMIT);
}

/// Continues emitting in `block`, whose predecessors are all known.
pub fn enter_sealed(b: &mut FunctionBuilder<'_>, block: ir::Block) {
    b.switch_to_block(block);
    b.seal_block(block);
}

/// Sets the `transfer` of `cont`.
pub fn set_transfer(b: &mut FunctionBuilder<'_>, cont: Value, transfer: u64) {
    let transfer = b.ins().iconst(I64, transfer as i64);
    store(b, transfer, cont, o::CONT_TRANSFER);
}

/// Why control came back (or into a woken continuation): the `transfer`
/// of `root`.
pub fn transfer(b: &mut FunctionBuilder<'_>, root: Value) -> Value {
    load(b, I64, root, o::CONT_TRANSFER)
}

/// Where [`find_handler`] found the clause.
#[derive(Debug, Clone, Copy)]
pub struct Handler {
    /// The continuation whose `resume` has the clause: the root of the
    /// chain to suspend.
    pub root: Value,
    /// For an `(on $tag $label)` clause, its index in the list (0 for a
    /// switch clause, whose index no one needs).
    pub index: Value,
    /// The running continuation, innermost of the chain.
    pub current: Value,
}

/// What to do where [`find_handler`] found the clause: emits the switch
/// away (given where the clause is) and returns the root of the chain once
/// it wakes up.
pub type EmitAtHandler<'a> = &'a mut dyn FnMut(&mut FunctionBuilder<'_>, Handler) -> Value;

/// Finds the nearest handler for `tag` (a tag address) from the running
/// continuation outwards, among the `(on $tag switch)` clauses if
/// `switch`, else among the `(on $tag $label)` ones, and runs `at_handler`
/// there; traps when the search reaches the host's stand-in. Returns what
/// `at_handler` returned.
///
/// The leading clauses of the nearest resume are tried first, each with
/// its own copy of `at_handler`'s code (which then knows the root and the
/// clause's index as constants), the general search last with another.
pub fn find_handler(
    b: &mut FunctionBuilder<'_>,
    store_context: Value,
    tag: Value,
    switch: bool,
    traps: Traps,
    at_handler: EmitAtHandler<'_>,
) -> Value {
    let woken = b.create_block();
    let root_after = b.append_block_param(woken, I64);
    // chain(c): the clauses of the resume running continuation c.
    let chain = b.create_block();
    let c = b.append_block_param(chain, I64);
    // scan(c, list, at, end): `at` walks the tags of the wanted kind.
    let scan = b.create_block();
    let scan_c = b.append_block_param(scan, I64);
    let scan_list = b.append_block_param(scan, I64);
    let scan_at = b.append_block_param(scan, I64);
    let scan_end = b.append_block_param(scan, I64);
    let check = b.create_block();
    let hit = b.create_block();
    let outer = b.create_block();

    // Fast path: the leading clauses of the kind wanted, in the clauses of
    // the resume running the current continuation (none on the host's
    // stand-in).
    let start = load(b, I64, store_context, o::STORE_CURRENT_CONTINUATION);
    let list = load(b, I64, start, o::CONT_HANDLERS);
    let leading: Vec<u32> = if switch {
        vec![o::HANDLERS_LEADING_SWITCH_TAG]
    } else {
        (0..LEADING_SUSPEND_CLAUSES as u32)
            .map(|k| o::HANDLERS_LEADING_SUSPEND_TAGS + 8 * k)
            .collect()
    };
    for (k, offset) in leading.iter().enumerate() {
        let leading_tag = load(b, I64, list, *offset);
        let matches = b.ins().icmp(IntCC::Equal, leading_tag, tag);
        let here = b.create_block();
        let next = b.create_block();
        b.ins().brif(matches, here, &[], next, &[]);
        enter_sealed(b, here);
        // A switch clause's index is not needed (see `Handler::index`).
        let index = b.ins().iconst(I64, if switch { 0 } else { k as i64 });
        let handler = Handler {
            root: start,
            index,
            current: start,
        };
        let root = at_handler(b, handler);
        b.ins().jump(woken, &[root.into()]);
        enter_sealed(b, next);
    }
    b.ins().jump(chain, &[start.into()]);

    b.switch_to_block(chain);
    b.ins().trapz(c, traps.unhandled);
    let list = load(b, I64, c, o::CONT_HANDLERS);
    let suspend_count = load(b, I64, list, o::HANDLERS_SUSPEND_COUNT);
    let tags = b.ins().iadd_imm_s(list, i64::from(o::HANDLERS_TAGS));
    let suspend_end = b.ins().ishl_imm_u(suspend_count, 3);
    let suspend_end = b.ins().iadd(tags, suspend_end);
    let (from, end) = if switch {
        let switch_count = load(b, I64, list, o::HANDLERS_SWITCH_COUNT);
        let size = b.ins().ishl_imm_u(switch_count, 3);
        let end = b.ins().iadd(suspend_end, size);
        (suspend_end, end)
    } else {
        (tags, suspend_end)
    };
    b.ins()
        .jump(scan, &[c.into(), list.into(), from.into(), end.into()]);

    b.switch_to_block(scan);
    let done = b
        .ins()
        .icmp(IntCC::UnsignedGreaterThanOrEqual, scan_at, scan_end);
    b.ins().brif(done, outer, &[], check, &[]);

    enter_sealed(b, check);
    let candidate = load(b, I64, scan_at, 0);
    let next = b.ins().iadd_imm_s(scan_at, 8);
    let matches = b.ins().icmp(IntCC::Equal, candidate, tag);
    b.ins().brif(
        matches,
        hit,
        &[],
        scan,
        &[
            scan_c.into(),
            scan_list.into(),
            next.into(),
            scan_end.into(),
        ],
    );
    b.seal_block(scan);

    // The clause's index in the whole list.
    enter_sealed(b, hit);
    let clause = if switch {
        b.ins().iconst(I64, 0)
    } else {
        let offset = b.ins().isub(scan_at, scan_list);
        let offset = b.ins().iadd_imm_s(offset, -i64::from(o::HANDLERS_TAGS));
        b.ins().ushr_imm_u(offset, 3)
    };
    let handler = Handler {
        root: scan_c,
        index: clause,
        current: start,
    };
    let root = at_handler(b, handler);
    b.ins().jump(woken, &[root.into()]);

    enter_sealed(b, outer);
    let parent = load(b, I64, scan_c, o::CONT_PARENT);
    b.ins().jump(chain, &[parent.into()]);
    b.seal_block(chain);

    enter_sealed(b, woken);
    root_after
}

/// Suspends the chain from the root of `handler` to the running
/// continuation, to the clause `handler` found. Returns once the chain is
/// resumed, with its root (the caller then looks at its [`transfer`]).
///
/// Whoever wakes a suspended chain passes its root as the payload of the
/// switch (`resume` the continuation it resumes, `switch` its target), so
/// the woken code has it in a register, not spilled across the switch.
pub fn suspend(b: &mut FunctionBuilder<'_>, store_context: Value, handler: Handler) -> Value {
    let Handler {
        root,
        index,
        current,
    } = handler;
    let transfer = b.ins().iadd_imm_s(index, TRANSFER_SUSPEND as i64);
    store(b, transfer, root, o::CONT_TRANSFER);
    store(b, current, root, o::CONT_INNERMOST);
    leave(b, store_context, root);
    forget_parent(b, root);
    let context = context(b, root);
    let resumer = resumer(b, root);
    b.ins().stack_switch(context, resumer, root)
}

/// `switch`: suspends the chain from the root of `handler` to the running
/// continuation, and runs `target` (consumed already, its arguments in its
/// buffer) in its place under the same `resume`. Returns once the
/// suspended chain is resumed, with its root, as [`suspend`] does.
pub fn switch(
    b: &mut FunctionBuilder<'_>,
    store_context: Value,
    handler: Handler,
    target: Value,
) -> Value {
    let root = handler.root;
    store(b, handler.current, root, o::CONT_INNERMOST);
    // The target takes the root's place in the chain.
    let parent = load(b, I64, root, o::CONT_PARENT);
    store(b, parent, target, o::CONT_PARENT);
    forget_parent(b, root);
    let handlers = load(b, I64, root, o::CONT_HANDLERS);
    store(b, handlers, target, o::CONT_HANDLERS);
    let target_innermost = load(b, I64, target, o::CONT_INNERMOST);
    enter(b, store_context, target_innermost);
    // The target continues where it was suspended (or starts), and the
    // resume that ran the root is now the target's resumer.
    let root_resumer = resumer(b, root);
    let target_resumer = resumer(b, target);
    for offset in [
        o::CONTROL_STACK_POINTER,
        o::CONTROL_FRAME_POINTER,
        o::CONTROL_INSTRUCTION_POINTER,
    ] {
        let word = load(b, I64, root_resumer, offset);
        store(b, word, target_resumer, offset);
    }
    let root_context = context(b, root);
    let target_context = context(b, target);
    b.ins().stack_switch(root_context, target_context, target)
}
