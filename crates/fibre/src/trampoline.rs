//! The start trampoline: the bottom frame of every continuation stack.
//!
//! Every stack begins, at its top, with a [`StackTop`]: two control
//! contexts, the stack's own and its resumer's. A switch *into* the stack
//! (Cranelift's `stack_switch`, or any code with the same convention)
//! loads the first and stores the switcher's state in the second; a
//! switch *out of* it stores its state in the first and loads the second.
//!
//! A fresh stack's own context resumes `fxtime_fibre_start` with the stack
//! pointer at the record itself and, in the frame-pointer register, the
//! function to run: the stack has no frame yet, so the word carries the
//! start's one argument besides the payload. The trampoline calls that
//! function with the payload of the first switch (in rdi). When it
//! returns, the trampoline switches to the resumer's context, passing the
//! function's result as the payload in rdi.
//!
//! While the continuation runs, its frames chain into the resumer's:
//!
//! - frame pointers: the trampoline sets rbp to the resumer context's
//!   frame-pointer slot, which the resumer's frame pointer and resume
//!   address follow, exactly as a saved rbp and a return address would;
//! - DWARF CFI: the trampoline's unwind rules say that the caller's stack
//!   pointer, frame pointer and return address are the resumer context's
//!   three words, so `_Unwind_Backtrace`, gdb and perf continue into the
//!   resumer's frames.

use fxtime_environ::vm::VMControlContext;

/// The record at the top of every stack, the first bytes of its header.
#[repr(C)]
#[derive(Debug)]
pub struct StackTop {
    /// Where a switch to the stack resumes.
    pub context: VMControlContext,
    /// Where a switch out of the stack (or the trampoline, once the
    /// stack's function returned) resumes: the state of whoever switched
    /// to it.
    pub resumer: VMControlContext,
}

impl StackTop {
    /// The own context of a stack about to start: the trampoline, with
    /// the stack pointer at the record at `stack_top` and `entry` in the
    /// frame-pointer word. `entry` is the address of an `extern "C"
    /// fn(payload: usize) -> usize`, called with the payload of the first
    /// switch to the stack; its result is the payload of the switch back.
    pub fn start_context(stack_top: usize, entry: usize) -> VMControlContext {
        VMControlContext {
            stack_pointer: stack_top,
            frame_pointer: entry,
            instruction_pointer: fxtime_fibre_start as *const () as usize,
        }
    }
}

unsafe extern "C" {
    /// The start trampoline (see the module docs). Never called directly:
    /// its address goes into a fresh stack's control context.
    pub fn fxtime_fibre_start();
    /// The first address after the trampoline's code.
    fn fxtime_fibre_start_end();
}

/// The addresses of the start trampoline's code: a frame whose return
/// address falls here is the bottom frame of a continuation stack, and its
/// frame pointer leads into the parent's frames.
pub fn start_trampoline_range() -> std::ops::Range<usize> {
    fxtime_fibre_start as *const () as usize..fxtime_fibre_start_end as *const () as usize
}

// CFI, in DWARF expressions over rsp (register 7), which points at the
// stack's `StackTop` throughout the trampoline; the resumer's context is
// its second record, at rsp + 24:
//   CFA := *(rsp + 24)         0x0f (def_cfa_expression), 3 bytes: breg7 24, deref
//   rbp (6) saved at rsp + 32  0x10 (expression), reg 6, 2 bytes: breg7 32
//   rip (16) saved at rsp + 40 0x10 (expression), reg 16, 2 bytes: breg7 40
std::arch::global_asm!(
    ".pushsection .text.fxtime_fibre_start,\"ax\",@progbits",
    ".globl fxtime_fibre_start",
    ".type fxtime_fibre_start,@function",
    ".p2align 4",
    "fxtime_fibre_start:",
    ".cfi_startproc simple",
    // A frame that switches stacks, like a signal frame: its caller's
    // frame lies on another stack, possibly at a lower address, which gdb
    // otherwise takes for a corrupt stack and stops.
    ".cfi_signal_frame",
    ".cfi_escape 0x0f, 0x03, 0x77, 0x18, 0x06",
    ".cfi_escape 0x10, 0x06, 0x02, 0x77, 0x20",
    ".cfi_escape 0x10, 0x10, 0x02, 0x77, 0x28",
    // The function to run came in the frame-pointer register.
    "mov rax, rbp",
    "lea rbp, [rsp + 32]",
    "call rax",
    // Done: switch to the resumer, the result as payload.
    "mov rdi, rax",
    "mov rcx, rsp",
    "mov rsp, [rcx + 24]",
    "mov rbp, [rcx + 32]",
    "jmp qword ptr [rcx + 40]",
    ".cfi_endproc",
    ".globl fxtime_fibre_start_end",
    ".hidden fxtime_fibre_start_end",
    "fxtime_fibre_start_end:",
    ".size fxtime_fibre_start, . - fxtime_fibre_start",
    ".popsection",
);

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    #[test]
    fn the_trampoline_finds_the_resumer_after_the_context() {
        // The offsets in the trampoline's code and CFI.
        assert_eq!(offset_of!(StackTop, context), 0);
        assert_eq!(offset_of!(StackTop, resumer), 24);
    }
}
