//! The slow paths of the epoch and fuel checks, which generated code
//! reaches without spilling anything on its hot path.
//!
//! **Epoch.** The check is a load of the instance's interrupt word and a
//! conditional branch to a trap (`trapnz`, trap code "interrupt"): no call,
//! so no register is clobbered and nothing is kept for a collector on the
//! hot path. When the word is raised, the `ud2` it branches to traps; the
//! signal handler sees the interrupt trap code and, instead of unwinding,
//! saves the whole register state on the interrupted stack and continues
//! in [`interrupt_landing`], ordinary code. That asks the store what the
//! deadline means (trap, or a callback, which may set a new deadline or
//! yield an async call) and then either raises the trap or restores every
//! register and continues after the check's branch. There are no stack
//! maps at a check, so collections are held off meanwhile.
//!
//! **Fuel.** `OutOfFuel` is a call from the check's cold block with
//! Cranelift's `preserve_all` convention, so regalloc keeps the loop's
//! values in registers through the check. Its shim saves every register a
//! Rust function may clobber (the System V caller-saved ones and all
//! sixteen vector registers, whole), records where wasm left, and calls
//! the Rust side, which returns to go on or raises the trap itself: a
//! `preserve_all` call returns no status.

use crate::libcalls::instance;
use crate::store::{CheckVerdict, StoreOpaque};
use crate::traps::{continue_in, raise_trap, trap_landing};
use fxtime_environ::TrapKind;
use std::mem::{offset_of, size_of};

/// `OutOfFuel`, where an async call may yield: saves the registers
/// generated code may hold through the call, records the exit frame (as
/// `exit_recording_shim` does), and calls [`out_of_fuel`] with the vmctx.
#[unsafe(naked)]
pub(crate) unsafe extern "C" fn out_of_fuel_shim() {
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
        target = sym out_of_fuel,
    )
}

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

unsafe extern "C" fn out_of_fuel(vmctx: *mut u8) {
    // SAFETY: called by the shim with generated code's vmctx; the verdict
    // is all that lives on when `act_on` raises the trap.
    unsafe {
        let verdict = instance(vmctx).store().fuel_exhausted();
        act_on(verdict, TrapKind::OutOfFuel);
    }
}

/// The state of wasm interrupted at an epoch check, saved by the signal
/// handler: the legacy `fxsave` area of the floating-point and vector
/// state, then the general registers in the kernel's `gregs` order (r8 to
/// r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, rflags).
#[repr(C, align(64))]
pub(crate) struct Interrupted {
    fp_state: [u8; FXSAVE_SIZE],
    gregs: [u64; GREGS],
}

const FXSAVE_SIZE: usize = 512;
const GREGS: usize = 18;

impl Interrupted {
    fn pc(&self) -> usize {
        self.gregs[libc::REG_RIP as usize] as usize
    }

    fn fp(&self) -> usize {
        self.gregs[libc::REG_RBP as usize] as usize
    }
}

/// Continues the thread interrupted at `context` (an interrupt trap of
/// generated code) in [`interrupt_landing`], with its state saved below
/// its stack pointer. False, with nothing changed, when the kernel gave no
/// floating-point state to save (then the interrupt is an ordinary trap).
///
/// # Safety
///
/// Called from the signal handler, for a trap of generated code with the
/// "interrupt" code, whose stack has room below the stack pointer (host
/// headroom, as for any trap landing).
pub(crate) unsafe fn land_interrupt(context: &mut libc::ucontext_t) -> bool {
    if context.uc_mcontext.fpregs.is_null() {
        return false;
    }
    let registers = &mut context.uc_mcontext.gregs;
    let sp = registers[libc::REG_RSP as usize] as usize;
    // Below the red zone, aligned for `fxrstor`.
    let state = (sp - 256 - size_of::<Interrupted>()) & !63;
    // SAFETY: the kernel's frame holds the interrupted registers, and its
    // floating-point state starts with the legacy `fxsave` area; `state`
    // lies on the interrupted stack below everything in use.
    unsafe {
        let saved = &mut *(state as *mut Interrupted);
        for (slot, value) in saved.gregs.iter_mut().zip(registers.iter()) {
            *slot = *value as u64;
        }
        std::ptr::copy_nonoverlapping(
            context.uc_mcontext.fpregs.cast::<u8>(),
            saved.fp_state.as_mut_ptr(),
            FXSAVE_SIZE,
        );
        continue_in(
            registers,
            state,
            interrupt_landing as *const () as usize,
            &[state as i64],
        );
    }
    true
}

/// Where wasm interrupted at an epoch check continues (see the module
/// docs), on its own stack.
unsafe extern "C" fn interrupt_landing(state: *mut Interrupted) -> ! {
    // SAFETY: `land_interrupt` saved the state here, below the interrupted
    // frames; this thread runs wasm, so its innermost activation and store
    // are alive.
    unsafe {
        let (pc, fp) = ((*state).pc(), (*state).fp());
        let context = crate::traps::innermost_store_context();
        let owner = (*context).owner.cast::<StoreOpaque>();
        let verdict = match resume_point(pc) {
            Some(resume) if !owner.is_null() => {
                // A frame record leading to the interrupted frame, so that
                // backtraces taken meanwhile find it.
                let frame = [fp, pc];
                let exit_fp =
                    std::mem::replace(&mut (*context).last_wasm_exit_fp, frame.as_ptr() as usize);
                let verdict = (*owner).without_collections(|store| store.epoch_deadline_reached());
                (*context).last_wasm_exit_fp = exit_fp;
                if let CheckVerdict::Continue(_) = verdict {
                    (*state).gregs[libc::REG_RIP as usize] = resume as u64;
                    resume_interrupted(state);
                }
                verdict
            }
            _ => CheckVerdict::Trap,
        };
        let kind = match verdict {
            CheckVerdict::Error => TrapKind::HostError,
            _ => TrapKind::Interrupt,
        };
        trap_landing(pc, fp, kind as u8)
    }
}

/// Where the check whose trap is at `trap` continues when it does not trap:
/// after the conditional branch to it. Each trap site of Cranelift has its
/// own `ud2`, which one branch of the function targets; Cranelift's x64
/// conditional branches are all `jcc rel32` (`0f 8x` and a displacement),
/// so the branch is found by scanning the function's code for one that
/// lands on the trap. (Short `jcc rel8` forms would match too many bytes
/// of other instructions: `74 24` is also the tail of `mov r14, [rsp+8]`.)
/// `None` if no branch, or more than one, targets it.
fn resume_point(trap: usize) -> Option<usize> {
    let start = crate::code::lookup_function_start(trap)?;
    // SAFETY: registered code is mapped readable from its function's start
    // to the trap.
    let code = unsafe { std::slice::from_raw_parts(start as *const u8, trap - start) };
    let mut found = None;
    for (i, window) in code.windows(6).enumerate() {
        if window[0] != 0x0f || !(0x80..=0x8f).contains(&window[1]) {
            continue;
        }
        let rel = i32::from_le_bytes([window[2], window[3], window[4], window[5]]);
        let next = start + i + 6;
        if next.wrapping_add_signed(rel as isize) == trap {
            if found.is_some() {
                return None;
            }
            found = Some(next);
        }
    }
    found
}

// The state's layout, as `resume_interrupted` reads it.
const GREG: usize = offset_of!(Interrupted, gregs);
const _: () = assert!(GREG == FXSAVE_SIZE);

/// Restores the state saved at `state` (in `rdi`) and continues there:
/// every register, the flags and the floating-point state.
#[unsafe(naked)]
unsafe extern "C" fn resume_interrupted(state: *mut Interrupted) -> ! {
    std::arch::naked_asm!(
        "fxrstor64 [rdi]",
        // Back on the interrupted stack (the state lies below its red
        // zone), with the resume address and the flags pushed for `ret`.
        "mov rsp, [rdi + {greg} + 8 * {rsp}]",
        "push qword ptr [rdi + {greg} + 8 * {rip}]",
        "push qword ptr [rdi + {greg} + 8 * {efl}]",
        "mov r8, [rdi + {greg} + 8 * {r8}]",
        "mov r9, [rdi + {greg} + 8 * {r9}]",
        "mov r10, [rdi + {greg} + 8 * {r10}]",
        "mov r11, [rdi + {greg} + 8 * {r11}]",
        "mov r12, [rdi + {greg} + 8 * {r12}]",
        "mov r13, [rdi + {greg} + 8 * {r13}]",
        "mov r14, [rdi + {greg} + 8 * {r14}]",
        "mov r15, [rdi + {greg} + 8 * {r15}]",
        "mov rsi, [rdi + {greg} + 8 * {rsi}]",
        "mov rbp, [rdi + {greg} + 8 * {rbp}]",
        "mov rbx, [rdi + {greg} + 8 * {rbx}]",
        "mov rdx, [rdi + {greg} + 8 * {rdx}]",
        "mov rax, [rdi + {greg} + 8 * {rax}]",
        "mov rcx, [rdi + {greg} + 8 * {rcx}]",
        "popfq",
        "mov rdi, [rdi + {greg} + 8 * {rdi}]",
        "ret",
        greg = const GREG,
        rsp = const libc::REG_RSP,
        rip = const libc::REG_RIP,
        efl = const libc::REG_EFL,
        r8 = const libc::REG_R8,
        r9 = const libc::REG_R9,
        r10 = const libc::REG_R10,
        r11 = const libc::REG_R11,
        r12 = const libc::REG_R12,
        r13 = const libc::REG_R13,
        r14 = const libc::REG_R14,
        r15 = const libc::REG_R15,
        rsi = const libc::REG_RSI,
        rbp = const libc::REG_RBP,
        rbx = const libc::REG_RBX,
        rdx = const libc::REG_RDX,
        rax = const libc::REG_RAX,
        rcx = const libc::REG_RCX,
        rdi = const libc::REG_RDI,
    )
}
