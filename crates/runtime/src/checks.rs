//! The slow paths of the epoch and fuel checks (`EpochInterrupt`,
//! `OutOfFuel`): builtins that clobber no register.
//!
//! Generated code calls them from the cold block of a check at a loop
//! header or function entry, with Cranelift's `preserve_all` convention, so
//! that regalloc keeps the loop's values in registers through the check
//! instead of spilling them around it on the hot path. Each builtin is a
//! shim that saves every register a Rust function may clobber (the
//! System V caller-saved ones and all sixteen vector registers, whole),
//! records where wasm left for the collector and backtraces, and calls the
//! Rust side. That either returns, to go on, or raises the trap itself by
//! unwinding to the host's catch point: a `preserve_all` call returns no
//! status for generated code to test.

use crate::libcalls::instance;
use crate::store::CheckVerdict;
use crate::traps::raise_trap;
use fxtime_environ::TrapKind;

/// A builtin `$name` that saves the registers generated code may hold
/// through the call, records the exit frame (as `exit_recording_shim`),
/// and calls `$target(vmctx)`.
macro_rules! register_preserving_shim {
    ($(#[$doc:meta])* $name:ident => $target:path) => {
        $(#[$doc])*
        #[unsafe(naked)]
        pub(crate) unsafe extern "C" fn $name() {
            std::arch::naked_asm!(
                "push rbp",
                "mov rbp, rsp",
                "push rax",
                "push rcx",
                "push rdx",
                "push rsi",
                "push rdi",
                "push r8",
                "push r9",
                "push r10",
                "push r11",
                // Nine pushes after rbp: 8 more keep the stack 16-aligned
                // for the vector registers and the call.
                "sub rsp, 264",
                "movdqu [rsp + 0], xmm0",
                "movdqu [rsp + 16], xmm1",
                "movdqu [rsp + 32], xmm2",
                "movdqu [rsp + 48], xmm3",
                "movdqu [rsp + 64], xmm4",
                "movdqu [rsp + 80], xmm5",
                "movdqu [rsp + 96], xmm6",
                "movdqu [rsp + 112], xmm7",
                "movdqu [rsp + 128], xmm8",
                "movdqu [rsp + 144], xmm9",
                "movdqu [rsp + 160], xmm10",
                "movdqu [rsp + 176], xmm11",
                "movdqu [rsp + 192], xmm12",
                "movdqu [rsp + 208], xmm13",
                "movdqu [rsp + 224], xmm14",
                "movdqu [rsp + 240], xmm15",
                // Where wasm left: this frame, whose caller is wasm.
                "mov rax, [rdi + {store_context}]",
                "push rax",
                "push qword ptr [rax + {exit_fp}]",
                "mov [rax + {exit_fp}], rbp",
                "call {target}",
                "pop rdx",
                "pop rcx",
                "mov [rcx + {exit_fp}], rdx",
                "movdqu xmm0, [rsp + 0]",
                "movdqu xmm1, [rsp + 16]",
                "movdqu xmm2, [rsp + 32]",
                "movdqu xmm3, [rsp + 48]",
                "movdqu xmm4, [rsp + 64]",
                "movdqu xmm5, [rsp + 80]",
                "movdqu xmm6, [rsp + 96]",
                "movdqu xmm7, [rsp + 112]",
                "movdqu xmm8, [rsp + 128]",
                "movdqu xmm9, [rsp + 144]",
                "movdqu xmm10, [rsp + 160]",
                "movdqu xmm11, [rsp + 176]",
                "movdqu xmm12, [rsp + 192]",
                "movdqu xmm13, [rsp + 208]",
                "movdqu xmm14, [rsp + 224]",
                "movdqu xmm15, [rsp + 240]",
                "add rsp, 264",
                "pop r11",
                "pop r10",
                "pop r9",
                "pop r8",
                "pop rdi",
                "pop rsi",
                "pop rdx",
                "pop rcx",
                "pop rax",
                "pop rbp",
                "ret",
                store_context = const fxtime_environ::vm::offsets::VMCTX_STORE_CONTEXT,
                exit_fp = const fxtime_environ::vm::offsets::STORE_LAST_WASM_EXIT_FP,
                target = sym $target,
            )
        }
    };
}

register_preserving_shim!(
    /// `EpochInterrupt`, whose callback may collect or yield.
    epoch_interrupt_shim => epoch_interrupt
);

register_preserving_shim!(
    /// `OutOfFuel`, where an async call may yield.
    out_of_fuel_shim => out_of_fuel
);

/// Goes on, or raises the trap `kind` (or the store's pending error).
///
/// # Safety
///
/// Called from a check's builtin, with wasm frames below and no value with
/// a destructor alive in the caller.
unsafe fn act_on(verdict: CheckVerdict, kind: TrapKind) {
    match verdict {
        CheckVerdict::Continue(_) => {}
        // SAFETY: per the contract.
        CheckVerdict::Trap => unsafe { raise_trap(kind) },
        // SAFETY: as above.
        CheckVerdict::Error => unsafe { raise_trap(TrapKind::HostError) },
    }
}

unsafe extern "C" fn epoch_interrupt(vmctx: *mut u8) {
    // SAFETY: called by the shim with generated code's vmctx; the verdict
    // is all that lives on.
    unsafe {
        let verdict = instance(vmctx).store().epoch_deadline_reached();
        act_on(verdict, TrapKind::Interrupt);
    }
}

unsafe extern "C" fn out_of_fuel(vmctx: *mut u8) {
    // SAFETY: as above.
    unsafe {
        let verdict = instance(vmctx).store().fuel_exhausted();
        act_on(verdict, TrapKind::OutOfFuel);
    }
}
