//! [`switch`]: a stack switch that Rust code can call, with the convention
//! of Cranelift's `stack_switch`, so that host code and generated code can
//! switch to each other's stacks.

use fxtime_environ::vm::VMControlContext;

/// Saves the caller's state in `save` and continues where `load` says,
/// passing `payload`; returns the payload of the switch that later
/// continues at `save`.
///
/// The convention is `stack_switch`'s: a control context is stack pointer,
/// frame pointer and resume address, and the payload travels in rdi. The
/// callee-saved registers of the caller stay on its own stack, under the
/// frame whose pointer `save` records, so frame-pointer walks and the
/// function's CFI lead from a suspended `switch` to its caller.
///
/// # Safety
///
/// `load` must hold where a suspended stack continues, or the start of a
/// prepared stack (see [`crate::FiberStack::prepare_start`]), and `save`
/// must stay valid until something switches back to it. Nothing may switch
/// back to `save` more than once per switch away.
#[inline]
pub unsafe fn switch(
    save: *mut VMControlContext,
    load: *const VMControlContext,
    payload: usize,
) -> usize {
    // SAFETY: the caller's contract.
    unsafe { fxtime_fibre_switch(save, load, payload) }
}

unsafe extern "C" {
    fn fxtime_fibre_switch(
        save: *mut VMControlContext,
        load: *const VMControlContext,
        payload: usize,
    ) -> usize;
}

// Offsets in a control context: stack pointer 0, frame pointer 8,
// resume address 16 (`VMControlContext`, pinned by environ's tests).
std::arch::global_asm!(
    ".pushsection .text.fxtime_fibre_switch,\"ax\",@progbits",
    ".globl fxtime_fibre_switch",
    ".type fxtime_fibre_switch,@function",
    ".p2align 4",
    "fxtime_fibre_switch:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "push rbx",
    ".cfi_offset rbx, -24",
    "push r12",
    ".cfi_offset r12, -32",
    "push r13",
    ".cfi_offset r13, -40",
    "push r14",
    ".cfi_offset r14, -48",
    "push r15",
    ".cfi_offset r15, -56",
    // The floating-point control words are callee-saved too.
    "sub rsp, 8",
    "stmxcsr [rsp]",
    "fnstcw [rsp + 4]",
    "lea rax, [rip + 2f]",
    "mov [rdi], rsp",
    "mov [rdi + 8], rbp",
    "mov [rdi + 16], rax",
    "mov rdi, rdx",
    "mov rsp, [rsi]",
    "mov rbp, [rsi + 8]",
    "jmp qword ptr [rsi + 16]",
    // Switched back to: the payload came in rdi.
    "2:",
    "mov rax, rdi",
    "ldmxcsr [rsp]",
    "fldcw [rsp + 4]",
    "add rsp, 8",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    ".cfi_def_cfa rsp, 8",
    "ret",
    ".cfi_endproc",
    ".size fxtime_fibre_switch, . - fxtime_fibre_switch",
    ".popsection",
);
