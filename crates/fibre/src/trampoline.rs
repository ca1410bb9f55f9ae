//! The start trampoline: the bottom frame of every continuation stack.
//!
//! Every stack begins, at its top, with a [`StackTop`]: its control
//! context and the function it starts with. A fresh stack's control
//! context points at `fxtime_fibre_start` with the stack pointer at the
//! record itself. The first switch to the stack (Cranelift's
//! `stack_switch`, or any code with the same convention) jumps there with
//! a payload in rdi, and the trampoline calls the record's `entry` with
//! it. When that returns, the trampoline switches to whatever the control
//! context then describes (the parent: a switch *into* a stack stores the
//! switcher's state there), passing the function's result as the payload
//! in rdi.
//!
//! While the continuation runs, its frames chain into the parent's:
//!
//! - frame pointers: the trampoline sets rbp to the control context's
//!   frame-pointer slot, which the parent's frame pointer and resume
//!   address follow, exactly as a saved rbp and a return address would;
//! - DWARF CFI: the trampoline's unwind rules say that the caller's stack
//!   pointer, frame pointer and return address are the control context's
//!   three words, so `_Unwind_Backtrace`, gdb and perf continue into the
//!   parent's frames.

use fxtime_environ::vm::VMControlContext;

/// The record at the top of every stack, the first bytes of its header.
#[repr(C)]
#[derive(Debug)]
pub struct StackTop {
    /// Where a switch to the stack resumes.
    pub context: VMControlContext,
    /// What a fresh stack runs first: the address of an `extern "C"
    /// fn(payload: usize) -> usize`, called with the payload of the first
    /// switch to the stack; its result is the payload of the switch back.
    pub entry: *const u8,
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
// stack's `StackTop` (its control context first) throughout the
// trampoline:
//   CFA := *(rsp + 0)          0x0f (def_cfa_expression), 3 bytes: breg7 0, deref
//   rbp (6) saved at rsp + 8   0x10 (expression), reg 6, 2 bytes: breg7 8
//   rip (16) saved at rsp + 16 0x10 (expression), reg 16, 2 bytes: breg7 16
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
    ".cfi_escape 0x0f, 0x03, 0x77, 0x00, 0x06",
    ".cfi_escape 0x10, 0x06, 0x02, 0x77, 0x08",
    ".cfi_escape 0x10, 0x10, 0x02, 0x77, 0x10",
    "lea rbp, [rsp + 8]",
    // `StackTop::entry`, after the 24 bytes of the control context.
    "call qword ptr [rsp + 24]",
    // Done: switch to the parent, the result as payload.
    "mov rdi, rax",
    "mov rcx, rsp",
    "mov rsp, [rcx]",
    "mov rbp, [rcx + 8]",
    "jmp qword ptr [rcx + 16]",
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
    fn the_trampoline_finds_the_entry_after_the_context() {
        assert_eq!(offset_of!(StackTop, context), 0);
        assert_eq!(offset_of!(StackTop, entry), 24);
    }
}
