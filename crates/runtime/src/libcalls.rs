//! The builtins generated code calls (see `fxtime_environ::vm::Builtin`).
//!
//! Each takes the calling instance's vmctx first. Those that can fail
//! return 0 and the generated code raises the trap; only the checks' slow
//! paths (`crate::checks`) and `Throw` unwind.

use crate::checks;
use crate::continuations::AllocationError;
use crate::exceptions::fxtime_throw;
use crate::gc::arrays;
use crate::instance::Instance;
use crate::store::{GrowVerdict, Growable, StoreOpaque, limiter_size};
use fxtime_environ::gc::NO_TYPE_ID;
use fxtime_environ::vm::{
    Builtin, CONT_LIMIT_BYTES, CONT_LIMIT_COUNT, GROW_TRAP, VMContRef, VMFuncRef, WASM_PAGE_SIZE,
};
use fxtime_environ::{DataIndex, ElemIndex, MemoryIndex, TableIndex, TagIndex, TypeIndex};
use std::sync::LazyLock;

/// The builtin table every `VMContext` points to, in `Builtin` order.
pub fn builtins() -> *const usize {
    static TABLE: LazyLock<Box<[usize]>> = LazyLock::new(|| {
        Builtin::ALL
            .iter()
            .map(|b| match b {
                Builtin::MemoryGrow => memory_grow as *const () as usize,
                Builtin::MemoryFill => memory_fill as *const () as usize,
                Builtin::MemoryCopy => memory_copy as *const () as usize,
                Builtin::MemoryInit => memory_init as *const () as usize,
                Builtin::DataDrop => data_drop as *const () as usize,
                Builtin::TableGrow => table_grow as *const () as usize,
                Builtin::TableFill => table_fill as *const () as usize,
                Builtin::TableCopy => table_copy as *const () as usize,
                Builtin::TableInit => table_init as *const () as usize,
                Builtin::ElemDrop => elem_drop as *const () as usize,
                Builtin::ExceptionNew => exception_new_shim as *const () as usize,
                Builtin::IsSubtype => is_subtype as *const () as usize,
                Builtin::Throw => fxtime_throw as *const () as usize,
                // It may collect, for continuations.
                Builtin::ContNew => cont_new_shim as *const () as usize,
                Builtin::ContReserve => cont_reserve as *const () as usize,
                Builtin::ContTakeStack => cont_take_stack_shim as *const () as usize,
                // The embedder's callback may allocate, and so collect.
                Builtin::OutOfFuel => checks::out_of_fuel_shim as *const () as usize,
                // The builtins that may collect go through shims that record
                // where wasm left (see `arrays::exit_recording_shim`).
                Builtin::GcAlloc => arrays::gc_alloc_shim as *const () as usize,
                Builtin::ArrayNew => arrays::array_new_shim as *const () as usize,
                Builtin::ArrayNewData => arrays::array_new_data_shim as *const () as usize,
                Builtin::ArrayNewElem => arrays::array_new_elem_shim as *const () as usize,
                Builtin::ArrayFill => arrays::array_fill as *const () as usize,
                Builtin::ArrayCopy => arrays::array_copy as *const () as usize,
                Builtin::ArrayInitData => arrays::array_init_data as *const () as usize,
                Builtin::ArrayInitElem => arrays::array_init_elem as *const () as usize,
                Builtin::GcRemember => arrays::gc_remember as *const () as usize,
            })
            .collect()
    });
    TABLE.as_ptr()
}

/// The calling instance.
///
/// # Safety
///
/// `vmctx` must be the vmctx generated code passed to a builtin.
pub(crate) unsafe fn instance<'a>(vmctx: *mut u8) -> &'a mut Instance {
    // SAFETY: generated code passes its own, live vmctx; no other reference
    // to the instance is active while wasm runs.
    unsafe { Instance::from_vmctx(vmctx) }
}

/// A 16-byte table element from its two halves.
pub(crate) fn join(low: u64, high: u64) -> u128 {
    u128::from(low) | (u128::from(high) << 64)
}

pub(crate) fn status(ok: bool) -> u32 {
    u32::from(ok)
}

/// The range `start..start + len` if it lies within `size` elements.
/// Memories pass 64-bit addresses (32-bit ones zero-extended).
fn range(start: u64, len: u64, size: usize) -> Option<std::ops::Range<usize>> {
    let end = start.checked_add(len)?;
    (end <= size as u64).then_some(start as usize..end as usize)
}

/// A growth by `delta` (pages or elements, `unit` bytes each) from
/// `current` units, as the store's limiter rules: the old size; -1
/// (`u64::MAX`) when refused or failed; `GROW_TRAP` when it must trap.
fn grow(
    store: &mut StoreOpaque,
    what: Growable,
    current: u64,
    delta: u64,
    unit: u64,
    maximum: Option<u64>,
    apply: impl FnOnce() -> Option<u64>,
) -> u64 {
    if delta > 0 {
        let size = |units: u64| limiter_size(units, unit);
        let desired = size(current.saturating_add(delta));
        match store.growing(what, size(current), desired, maximum.map(size)) {
            GrowVerdict::Allow => {}
            GrowVerdict::Deny => return u64::MAX,
            GrowVerdict::Trap => return GROW_TRAP as u64,
        }
    }
    match apply() {
        Some(old) => old,
        None if store.grow_failed(what) => GROW_TRAP as u64,
        None => u64::MAX,
    }
}

/// `memory.grow`'s result for a 32-bit memory is the low half: -1 and -2
/// stay themselves and sizes of such memories fit.
unsafe extern "C" fn memory_grow(vmctx: *mut u8, memory: u32, delta: u64) -> u64 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: the memory is alive (owned by the store) and nothing else
    // refers to it while this builtin runs.
    let memory = unsafe { &mut *instance.memory_ptr(MemoryIndex(memory)) };
    let maximum = memory.ty().limits.max;
    grow(
        instance.store(),
        Growable::Memory,
        memory.pages(),
        delta,
        WASM_PAGE_SIZE,
        maximum,
        || memory.grow(delta),
    )
}

unsafe extern "C" fn memory_fill(
    vmctx: *mut u8,
    memory: u32,
    dst: u64,
    byte: u32,
    len: u64,
) -> u32 {
    // SAFETY: called by generated code with its vmctx.
    let data = unsafe { instance(vmctx) }
        .memory(MemoryIndex(memory))
        .data_mut();
    let Some(range) = range(dst, len, data.len()) else {
        return status(false);
    };
    data[range].fill(byte as u8);
    status(true)
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut u8,
    dst_memory: u32,
    src_memory: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    let dst_memory = instance.memory_ptr(MemoryIndex(dst_memory));
    let src_memory = instance.memory_ptr(MemoryIndex(src_memory));
    // SAFETY: both memories are alive (owned by the store); the ranges are
    // checked against their lengths, and `ptr::copy` allows overlap (the
    // two may be the same memory).
    unsafe {
        let (Some(d), Some(s)) = (
            range(dst, len, (*dst_memory).len()),
            range(src, len, (*src_memory).len()),
        ) else {
            return status(false);
        };
        let from = (*src_memory).base().add(s.start);
        let to = (*dst_memory).base().add(d.start);
        std::ptr::copy(from, to, len as usize);
    }
    status(true)
}

unsafe extern "C" fn memory_init(
    vmctx: *mut u8,
    memory: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    let memory = instance.memory_ptr(MemoryIndex(memory));
    let bytes = instance.data_bytes(DataIndex(data));
    // SAFETY: the memory is alive and distinct from the module's bytes.
    let target = unsafe { (*memory).data_mut() };
    let len = u64::from(len);
    match (
        range(u64::from(src), len, bytes.len()),
        range(dst, len, target.len()),
    ) {
        (Some(s), Some(d)) => {
            target[d].copy_from_slice(&bytes[s]);
            status(true)
        }
        _ => status(false),
    }
}

unsafe extern "C" fn data_drop(vmctx: *mut u8, data: u32) {
    // SAFETY: called by generated code with its vmctx.
    unsafe { instance(vmctx) }.drop_data(DataIndex(data));
}

unsafe extern "C" fn table_grow(
    vmctx: *mut u8,
    table: u32,
    init_low: u64,
    init_high: u64,
    delta: u32,
) -> u32 {
    let init = join(init_low, init_high);
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: the table is alive (owned by the store) and nothing else
    // refers to it while this builtin runs.
    let table = unsafe { &mut *instance.table_ptr(TableIndex(table)) };
    let maximum = table.ty().limits.max;
    let result = grow(
        instance.store(),
        Growable::Table,
        u64::from(table.len()),
        u64::from(delta),
        1,
        maximum,
        || table.grow(delta, init).map(u64::from),
    );
    // -1 and -2 narrow to themselves.
    result as u32
}

unsafe extern "C" fn table_fill(
    vmctx: *mut u8,
    table: u32,
    dst: u32,
    value_low: u64,
    value_high: u64,
    len: u32,
) -> u32 {
    let value = join(value_low, value_high);
    // SAFETY: called by generated code with its vmctx.
    let table = unsafe { instance(vmctx) }.table(TableIndex(table));
    status(table.fill(dst, value, len))
}

unsafe extern "C" fn table_copy(
    vmctx: *mut u8,
    dst_table: u32,
    src_table: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    let dst_table = instance.table_ptr(TableIndex(dst_table));
    let src_table = instance.table_ptr(TableIndex(src_table));
    if dst_table == src_table {
        // SAFETY: the table is alive (owned by the store).
        return status(unsafe { (*dst_table).copy_within(dst, src, len) });
    }
    // SAFETY: two distinct live tables.
    unsafe {
        match (*src_table).slice(src, len) {
            Some(values) => status((*dst_table).write(dst, values)),
            None => status(false),
        }
    }
}

unsafe extern "C" fn table_init(
    vmctx: *mut u8,
    table: u32,
    elem: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    let table = instance.table_ptr(TableIndex(table));
    let values = instance.element_values(ElemIndex(elem));
    let Some(range) = range(u64::from(src), u64::from(len), values.len()) else {
        return status(false);
    };
    // SAFETY: the table is alive and not part of the instance's segments.
    status(unsafe { (*table).write(dst, &values[range]) })
}

crate::gc::arrays::exit_recording_shim!(
    /// `ExceptionNew`, which may collect.
    exception_new_shim => exception_new
);

unsafe extern "C" fn exception_new(vmctx: *mut u8, tag: u32) -> *mut u8 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    let tag_index = TagIndex(tag);
    let payload = instance.module().info.tag_type(tag_index).params.len();
    let tag = instance.tag(tag_index);
    instance.store().new_exception(tag, payload)
}

unsafe extern "C" fn is_subtype(vmctx: *mut u8, sub: u32, sup: u32) -> u32 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    // Objects that are not structs or arrays have no type id.
    status(sup != NO_TYPE_ID && sub != NO_TYPE_ID && instance.module().types.is_subtype(sub, sup))
}

unsafe extern "C" fn elem_drop(vmctx: *mut u8, elem: u32) {
    // SAFETY: called by generated code with its vmctx.
    unsafe { instance(vmctx) }.drop_element(ElemIndex(elem));
}

crate::gc::arrays::exit_recording_shim!(
    /// `ContNew`, which may collect.
    cont_new_shim => cont_new
);

unsafe extern "C" fn cont_new(
    vmctx: *mut u8,
    func: *const VMFuncRef,
    cont_type: u32,
) -> *mut VMContRef {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    let Some((entry, capacity)) = instance.module().continuation_entry(TypeIndex(cont_type)) else {
        return std::ptr::null_mut();
    };
    allocation_result(instance.store().new_continuation(entry, func, capacity))
}

crate::gc::arrays::exit_recording_shim!(
    /// `ContTakeStack`, which may collect.
    cont_take_stack_shim => cont_take_stack
);

unsafe extern "C" fn cont_take_stack(vmctx: *mut u8, pending: *mut VMContRef) -> *mut VMContRef {
    // SAFETY: called by generated code with its vmctx, for a pending
    // continuation of its store whose reference it consumed.
    allocation_result(unsafe { instance(vmctx).store().take_stack(pending) })
}

/// What `ContNew` and `ContTakeStack` return for an allocation.
fn allocation_result(allocated: Result<*mut VMContRef, AllocationError>) -> *mut VMContRef {
    match allocated {
        Ok(cont) => cont,
        Err(AllocationError::NoMemory) => std::ptr::null_mut(),
        Err(AllocationError::TooMany) => CONT_LIMIT_COUNT as *mut VMContRef,
        Err(AllocationError::TooManyBytes) => CONT_LIMIT_BYTES as *mut VMContRef,
    }
}

/// Never collects: it runs between the consumption of a continuation's
/// reference and the switch to it, while no reference reaches the
/// continuation, which a full collection would give back.
unsafe extern "C" fn cont_reserve(vmctx: *mut u8, cont: *mut VMContRef, needed: u32) {
    // SAFETY: called by generated code with its vmctx, for a continuation
    // object of its store.
    unsafe {
        instance(vmctx)
            .store()
            .continuations()
            .reserve(cont, needed as usize)
    }
}
