//! The GC builtins: allocation when a free list is empty, and the array
//! operators that work on many elements at once.
//!
//! Arrays are checked for null by generated code before these are called;
//! indices and lengths are checked here.

use crate::instance::Instance;
use crate::libcalls::{instance, join, status};
use fxtime_environ::gc::{ARRAY_DATA_OFFSET, ARRAY_LENGTH_OFFSET, VMGcHeader, storage_size};
use fxtime_environ::vm::GC_OUT_OF_BOUNDS;
use fxtime_environ::{DataIndex, ElemIndex, TypeIndex};

pub(crate) unsafe extern "C" fn gc_alloc(vmctx: *mut u8, header: u64, size: u32) -> *mut u8 {
    let header = VMGcHeader {
        type_id: header as u32,
        kind_and_mark: (header >> 32) as u32,
    };
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    instance
        .store()
        .gc_alloc(header, size)
        .map_or(std::ptr::null_mut(), |p| p.as_ptr())
}

pub(crate) unsafe extern "C" fn gc_remember(vmctx: *mut u8, object: *mut u8) {
    // SAFETY: called by generated code with its vmctx and a live object.
    unsafe { instance(vmctx).store().gc_mut().remember(object) };
}

/// The write barrier for a builtin that stored references into `array` of
/// type `ty`.
fn written(instance: &mut Instance, array: *mut u8, ty: u32) {
    let element = instance.module().info.array_element(TypeIndex(ty));
    if element.storage.is_gc_reference() {
        // SAFETY: generated code passes a live array.
        unsafe { instance.store().gc_mut().remember(array) };
    }
}

/// An array type's element size and canonical id.
fn array_type(instance: &Instance, ty: u32) -> (u32, u32) {
    let ty = TypeIndex(ty);
    let module = instance.module();
    let element = module.info.array_element(ty);
    (storage_size(element.storage), module.type_ids[ty.index()])
}

/// A new array of `len` elements of `ty`, its elements not yet written.
fn new_array(instance: &mut Instance, ty: u32, len: u32) -> Option<*mut u8> {
    let element = instance.module().info.array_element(TypeIndex(ty));
    let (_, type_id) = array_type(instance, ty);
    let array = instance
        .store()
        .new_array_unfilled(type_id, element.storage, len)?;
    Some(array.as_ptr())
}

/// The length of `array`.
///
/// # Safety
///
/// `array` must be a live array.
unsafe fn length(array: *mut u8) -> u32 {
    // SAFETY: an array's length follows its header.
    unsafe { array.add(ARRAY_LENGTH_OFFSET as usize).cast::<u32>().read() }
}

/// The address of element `index` of `array`, if elements `index..index +
/// len` are in bounds.
///
/// # Safety
///
/// `array` must be a live array with elements of `element_size` bytes.
unsafe fn element_range(
    array: *mut u8,
    element_size: u32,
    index: u32,
    len: u32,
) -> Option<*mut u8> {
    // SAFETY: the caller's promise.
    let array_len = unsafe { length(array) };
    if index.checked_add(len)? > array_len {
        return None;
    }
    let start = ARRAY_DATA_OFFSET as usize + index as usize * element_size as usize;
    // SAFETY: element `index` lies inside the array (or just past it when
    // `len` is 0), checked above.
    Some(unsafe { array.add(start) })
}

/// The bytes of elements `index..index + len` of `array`, if in bounds.
///
/// # Safety
///
/// As for [`element_range`], and no other reference to those bytes may be
/// active.
unsafe fn elements<'a>(
    array: *mut u8,
    element_size: u32,
    index: u32,
    len: u32,
) -> Option<&'a mut [u8]> {
    // SAFETY: the caller's promise; the range is in bounds.
    unsafe {
        let start = element_range(array, element_size, index, len)?;
        Some(std::slice::from_raw_parts_mut(
            start,
            len as usize * element_size as usize,
        ))
    }
}

pub(crate) unsafe extern "C" fn array_new(
    vmctx: *mut u8,
    ty: u32,
    len: u32,
    value_low: u64,
    value_high: u64,
) -> *mut u8 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    let element = instance.module().info.array_element(TypeIndex(ty));
    let (_, type_id) = array_type(instance, ty);
    let value = join(value_low, value_high);
    instance
        .store()
        .new_array_filled(type_id, element.storage, len, value)
        .map_or(std::ptr::null_mut(), |array| array.as_ptr())
}

/// A data or element segment of the calling instance.
#[derive(Clone, Copy)]
enum Segment {
    Data(DataIndex),
    Elem(ElemIndex),
}

/// The bytes of `len` elements of `element_size` bytes taken from
/// `segment` from `offset` (bytes of a data segment, values of an element
/// segment); `None` when that is beyond the segment.
fn segment_bytes(
    instance: &Instance,
    segment: Segment,
    offset: u32,
    len: u32,
    element_size: u32,
) -> Option<Vec<u8>> {
    let start = offset as usize;
    match segment {
        Segment::Data(d) => {
            let bytes = (len as usize).checked_mul(element_size as usize)?;
            let data = instance.data_bytes(d);
            Some(data.get(start..start.checked_add(bytes)?)?.to_vec())
        }
        Segment::Elem(e) => {
            let values = instance.element_values(e);
            let values = values.get(start..start.checked_add(len as usize)?)?;
            let mut bytes = vec![0; values.len() * element_size as usize];
            write_values(&mut bytes, element_size, values);
            Some(bytes)
        }
    }
}

/// `array.new_data` and `array.new_elem`: a new array of type `ty` with
/// `len` elements from `segment` at `offset`.
fn new_from_segment(
    instance: &mut Instance,
    ty: u32,
    segment: Segment,
    offset: u32,
    len: u32,
) -> *mut u8 {
    let (element_size, _) = array_type(instance, ty);
    // A copy: the segment's references stay rooted in the instance while
    // the allocation may collect.
    let Some(source) = segment_bytes(instance, segment, offset, len, element_size) else {
        return GC_OUT_OF_BOUNDS as *mut u8;
    };
    let Some(array) = new_array(instance, ty, len) else {
        return std::ptr::null_mut();
    };
    // SAFETY: a new array of that type, ours alone.
    let bytes = unsafe { elements(array, element_size, 0, len) }.unwrap_or_default();
    bytes.copy_from_slice(&source);
    array
}

pub(crate) unsafe extern "C" fn array_new_data(
    vmctx: *mut u8,
    ty: u32,
    data: u32,
    offset: u32,
    len: u32,
) -> *mut u8 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    new_from_segment(instance, ty, Segment::Data(DataIndex(data)), offset, len)
}

pub(crate) unsafe extern "C" fn array_new_elem(
    vmctx: *mut u8,
    ty: u32,
    elem: u32,
    offset: u32,
    len: u32,
) -> *mut u8 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    new_from_segment(instance, ty, Segment::Elem(ElemIndex(elem)), offset, len)
}

/// Writes each of `values` (raw slots) to the next element of `bytes`.
fn write_values(bytes: &mut [u8], element_size: u32, values: &[u128]) {
    for (element, value) in bytes.chunks_exact_mut(element_size as usize).zip(values) {
        element.copy_from_slice(&value.to_le_bytes()[..element_size as usize]);
    }
}

pub(crate) unsafe extern "C" fn array_fill(
    vmctx: *mut u8,
    array: *mut u8,
    ty: u32,
    index: u32,
    value_low: u64,
    value_high: u64,
    len: u32,
) -> u32 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    let (element_size, _) = array_type(instance, ty);
    // SAFETY: generated code passes a live array of type `ty`.
    match unsafe { elements(array, element_size, index, len) } {
        Some(bytes) => {
            super::fill_elements(bytes, element_size, join(value_low, value_high));
            written(instance, array, ty);
            status(true)
        }
        None => status(false),
    }
}

pub(crate) unsafe extern "C" fn array_copy(
    vmctx: *mut u8,
    dst: *mut u8,
    ty: u32,
    dst_index: u32,
    src: *mut u8,
    src_index: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by generated code with its vmctx.
    let instance = unsafe { instance(vmctx) };
    let (element_size, _) = array_type(instance, ty);
    // Validation makes the source's elements the same size as the
    // destination's. The ranges may overlap: check both, then move.
    // SAFETY: generated code passes live arrays of element size
    // `element_size`.
    let ranges = unsafe {
        (
            element_range(dst, element_size, dst_index, len),
            element_range(src, element_size, src_index, len),
        )
    };
    match ranges {
        (Some(to), Some(from)) => {
            // SAFETY: both ranges are in bounds, `len` elements long.
            unsafe { std::ptr::copy(from, to, len as usize * element_size as usize) };
            written(instance, dst, ty);
            status(true)
        }
        _ => status(false),
    }
}

/// `array.init_data` and `array.init_elem`: elements `dst..dst + len` of
/// `array` (of type `ty`) from `segment` at `src`. 1, 0 when the array's
/// range is out of bounds, `GC_OUT_OF_BOUNDS` when the segment's is.
///
/// # Safety
///
/// `array` must be a live array of type `ty` of the instance's module.
unsafe fn init_from_segment(
    instance: &mut Instance,
    array: *mut u8,
    ty: u32,
    segment: Segment,
    [dst, src, len]: [u32; 3],
) -> u32 {
    let (element_size, _) = array_type(instance, ty);
    // SAFETY: the caller's promise.
    let Some(bytes) = (unsafe { elements(array, element_size, dst, len) }) else {
        return status(false);
    };
    match segment_bytes(instance, segment, src, len, element_size) {
        Some(source) => {
            bytes.copy_from_slice(&source);
            written(instance, array, ty);
            status(true)
        }
        None => GC_OUT_OF_BOUNDS as u32,
    }
}

pub(crate) unsafe extern "C" fn array_init_data(
    vmctx: *mut u8,
    array: *mut u8,
    ty: u32,
    data: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    let segment = Segment::Data(DataIndex(data));
    // SAFETY: called by generated code with its vmctx and a live array of
    // type `ty`.
    unsafe { init_from_segment(instance(vmctx), array, ty, segment, [dst, src, len]) }
}

pub(crate) unsafe extern "C" fn array_init_elem(
    vmctx: *mut u8,
    array: *mut u8,
    ty: u32,
    elem: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    let segment = Segment::Elem(ElemIndex(elem));
    // SAFETY: as for `array_init_data`.
    unsafe { init_from_segment(instance(vmctx), array, ty, segment, [dst, src, len]) }
}

/// Defines `$name`, what generated code calls for builtin `$target`, which
/// may collect: it records its own frame as where wasm left for the
/// runtime (`VMStoreContext::last_wasm_exit_fp`, as a host trampoline
/// does), so the collector can walk the wasm frames below, calls the
/// builtin with the same arguments (all in registers) and restores the
/// previous record.
macro_rules! exit_recording_shim {
    ($(#[$doc:meta])* $name:ident => $target:path) => {
        $(#[$doc])*
        #[unsafe(naked)]
        pub(crate) unsafe extern "C" fn $name() {
            std::arch::naked_asm!(
                "push rbp",
                "mov rbp, rsp",
                "mov rax, [rdi + {store_context}]",
                "push rax",
                "push qword ptr [rax + {exit_fp}]",
                "mov [rax + {exit_fp}], rbp",
                "call {target}",
                "mov rcx, [rbp - 8]",
                "mov rdx, [rbp - 16]",
                "mov [rcx + {exit_fp}], rdx",
                "mov rsp, rbp",
                "pop rbp",
                "ret",
                store_context = const fxtime_environ::vm::offsets::VMCTX_STORE_CONTEXT,
                exit_fp = const fxtime_environ::vm::offsets::STORE_LAST_WASM_EXIT_FP,
                target = sym $target,
            )
        }
    };
}

pub(crate) use exit_recording_shim;

exit_recording_shim!(
    /// `GcAlloc`.
    gc_alloc_shim => gc_alloc
);
exit_recording_shim!(
    /// `ArrayNew`.
    array_new_shim => array_new
);
exit_recording_shim!(
    /// `ArrayNewData`.
    array_new_data_shim => array_new_data
);
exit_recording_shim!(
    /// `ArrayNewElem`.
    array_new_elem_shim => array_new_elem
);
