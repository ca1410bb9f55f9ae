//! Throwing: the unwinder that finds a handler in generated code.
//!
//! `throw` calls the `Throw` builtin, which is `fxtime_throw`: a shim
//! that hands the wasm caller's return address and frame pointer to
//! `throw_exception`. From there the unwinder follows the frame-pointer
//! chain. At each return address it looks up the call's handlers (the
//! exception tables Cranelift emitted for `try_call`s): a catch-all, or a
//! tag handler whose tag, resolved through that frame's vmctx, is the
//! exception's tag, takes it. The thread then continues in the handler
//! with the frame's stack and frame pointers restored and the exception in
//! the payload register (rax). At an entry trampoline the exception leaves
//! wasm: the call from the host ends with it.

use crate::code::{FrameKind, lookup_call_site, lookup_frame_kind};
use crate::instance::Instance;
use crate::traps::unwind_with_exception;
use fxtime_environ::TagIndex;
use fxtime_environ::vm::{VMExceptionHeader, VMTagDefinition};

/// The `Throw` builtin: `tail fn(vmctx, exception) -> !`. Reached by a
/// `call`, so the return address into wasm is on top of the stack and rbp
/// is still the wasm caller's frame pointer.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn fxtime_throw() {
    std::arch::naked_asm!(
        "mov rdx, [rsp]",
        "mov rcx, rbp",
        "jmp {throw}",
        throw = sym throw_exception,
    )
}

/// Continues in a handler: `resume(pc, sp, fp, payload)`.
#[unsafe(naked)]
unsafe extern "C" fn fxtime_resume(pc: usize, sp: usize, fp: usize, payload: usize) -> ! {
    std::arch::naked_asm!("mov rsp, rsi", "mov rbp, rdx", "mov rax, rcx", "jmp rdi",)
}

/// Unwinds from the wasm frame (`pc`, `fp`) that threw `exception` to the
/// first handler that takes it, or out of wasm.
unsafe extern "C" fn throw_exception(
    _vmctx: *mut u8,
    exception: *mut VMExceptionHeader,
    mut pc: usize,
    mut fp: usize,
) -> ! {
    // SAFETY: exceptions are allocated by the store with a valid tag.
    let tag = unsafe { (*exception).tag };
    // Walk up while the frames are wasm code (or host trampolines).
    // A continuation entry catches everything: an exception never crosses
    // the bottom of a continuation stack here (the entry hands it to the
    // resumer, which raises it again on its own stack).
    while let Some(FrameKind::Wasm | FrameKind::HostTrampoline | FrameKind::ContinuationEntry) =
        lookup_frame_kind(pc)
    {
        if let Some(site) = lookup_call_site(pc) {
            let sp = fp - site.frame_offset;
            // SAFETY: Cranelift stored the frame's vmctx at this offset from
            // the call's stack pointer (the exception table's context).
            let vmctx = unsafe { *((sp + site.vmctx_sp_offset) as *const *mut u8) };
            let taken = site.handlers.iter().find_map(|(handler_tag, handler)| {
                let taken = match handler_tag {
                    None => true,
                    // SAFETY: the vmctx of a live frame of generated code.
                    Some(t) => unsafe { Instance::from_vmctx(vmctx) }.tag(TagIndex(*t)) == tag,
                };
                taken.then_some(*handler)
            });
            // The jump below never returns: nothing with a destructor (the
            // site's handler list) may be left alive in this frame.
            drop(site);
            if let Some(handler) = taken {
                // SAFETY: the handler expects the call's stack and frame
                // pointers and the exception in rax; nothing below this
                // frame (including this function's) is used again.
                unsafe { fxtime_resume(handler, sp, fp, exception as usize) }
            }
        }
        // SAFETY: frames of generated code keep the caller's frame pointer
        // and return address at [fp] and [fp + 8].
        unsafe {
            pc = *((fp + 8) as *const usize);
            fp = *(fp as *const usize);
        }
    }
    // SAFETY: wasm is running on this thread (it just threw), and this
    // frame holds nothing with a destructor.
    unsafe { unwind_with_exception(exception as usize) }
}

/// The tag of an exception.
///
/// # Safety
///
/// `exception` must be an exception of a live store.
pub unsafe fn exception_tag(exception: usize) -> *const VMTagDefinition {
    // SAFETY: per the contract.
    unsafe { (*(exception as *const VMExceptionHeader)).tag }
}
