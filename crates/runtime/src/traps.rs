//! Entering wasm and leaving it by a trap.
//!
//! The host enters wasm through [`catch_traps`], which records a catch point
//! (callee-saved registers, stack pointer and return address) in an
//! `Activation` on the current thread. Every trap is raised by generated
//! code: a `ud2` or a faulting load/store at an instruction the compiler
//! listed in its trap table. The signal handler checks that table, and if
//! the instruction is ours it rewrites the signal context so that, when the
//! handler returns, the thread runs `trap_landing` on its own stack. The
//! landing records the trap and the program counters of the wasm frames,
//! then jumps to the catch point, where [`catch_traps`] returns the trap.
//!
//! No Rust frame is ever unwound or skipped: between a catch point and a
//! trap there are only frames of generated code (host functions called from
//! wasm return an error status instead of unwinding).

use crate::code::lookup_trap;
use crate::continuations::Continuations;
use crate::frames::{PausedFrame, walk};
use fxtime_environ::TrapKind;
use fxtime_environ::vm::{VMContRef, VMHandlerList, VMStoreContext};
use std::cell::{Cell, UnsafeCell};
use std::sync::Once;

/// A catch point: rbx, rbp, r12-r15, rsp after return, return address.
#[repr(C)]
#[derive(Default)]
struct CatchPoint {
    registers: [usize; 8],
}

/// A trap that reached the host.
#[derive(Debug, Clone)]
pub struct TrapRecord {
    /// Why execution trapped.
    pub kind: TrapKind,
    /// Program counters of the wasm frames, innermost first.
    pub pcs: Vec<usize>,
}

/// How a call into wasm ended abnormally.
#[derive(Debug, Clone)]
pub enum Unwound {
    /// A trap.
    Trap(TrapRecord),
    /// An exception no handler caught; the address of its
    /// `VMExceptionHeader`, owned by the store.
    Exception(usize),
}

/// One host-to-wasm entry on this thread's stack.
struct Activation {
    catch_point: CatchPoint,
    /// The activation this one was entered from; a fiber's first
    /// activation is linked again to whichever activation resumes it.
    previous: Cell<*const Activation>,
    store: *mut VMStoreContext,
    /// The store's `last_wasm_exit_fp` when this activation began: where
    /// the wasm frames of the enclosing activation continue.
    saved_exit_fp: usize,
    saved_stack_limit: usize,
    /// The running continuation when this activation began (its chain is
    /// invisible to this one: a suspension does not cross host frames).
    saved_continuation: *mut VMContRef,
    /// The stand-in for this activation's stack (see
    /// `VMContRef::host_stand_in`): the running continuation until wasm
    /// resumes one.
    host: UnsafeCell<VMContRef>,
    unwound: UnsafeCell<Option<Unwound>>,
}

thread_local! {
    static ACTIVATION: Cell<*const Activation> = const { Cell::new(std::ptr::null()) };
}

// A fiber (`crate::fiber`) may leave a thread in one of its calls and
// continue on another, so the address of a thread-local must not be
// reused across such a call: every access goes through a function that
// is never inlined, which computes it afresh.

/// This thread's innermost activation.
#[inline(never)]
fn innermost_activation() -> *const Activation {
    ACTIVATION.with(Cell::get)
}

#[inline(never)]
fn set_innermost_activation(activation: *const Activation) {
    ACTIVATION.with(|a| a.set(activation));
}

/// Whether this thread is running wasm called from the host (so a host
/// function is being called from wasm).
pub fn in_wasm() -> bool {
    !innermost_activation().is_null()
}

/// The activations a fiber's run left on this thread, from the innermost
/// down to the one whose `previous` is where the fiber was resumed from.
/// They are taken off the thread while the fiber is suspended, and put
/// back on whichever thread resumes it.
pub(crate) struct DetachedActivations {
    innermost: *const Activation,
    outermost: *const Activation,
}

/// This thread's innermost activation, as an opaque mark (see
/// [`detach_activations_above`]).
pub(crate) fn activation_mark() -> usize {
    innermost_activation() as usize
}

/// Takes the activations above `mark` off this thread (none if it has no
/// others).
///
/// # Safety
///
/// `mark` must be an activation of this thread's chain, or null.
pub(crate) unsafe fn detach_activations_above(mark: usize) -> Option<DetachedActivations> {
    let mark = mark as *const Activation;
    let innermost = innermost_activation();
    if innermost == mark {
        return None;
    }
    let mut outermost = innermost;
    // SAFETY: installed activations are alive, and `mark` is below them.
    unsafe {
        while (*outermost).previous.get() != mark {
            outermost = (*outermost).previous.get();
        }
    }
    set_innermost_activation(mark);
    Some(DetachedActivations {
        innermost,
        outermost,
    })
}

/// Puts detached activations back on this thread, above its innermost.
///
/// # Safety
///
/// The activations must still be alive: their fiber is suspended.
pub(crate) unsafe fn attach_activations(detached: DetachedActivations) {
    // SAFETY: per the contract.
    unsafe { (*detached.outermost).previous.set(innermost_activation()) };
    set_innermost_activation(detached.innermost);
}

/// Calls `f`, which enters wasm code, catching its traps.
///
/// The outermost entry on a thread sets the store's stack limit to
/// `max_wasm_stack` bytes below the current stack pointer; an entry from a
/// host function keeps the limit of the stack wasm was running on (the
/// thread's, or a continuation's).
///
/// # Safety
///
/// `store` must be valid for the whole call, and `f` must not hold values
/// with destructors across its call into generated code: a trap jumps from
/// generated code straight back here, skipping the rest of `f`.
pub unsafe fn catch_traps<F: FnOnce()>(
    store: *mut VMStoreContext,
    max_wasm_stack: usize,
    f: F,
) -> Result<(), Unwound> {
    install_signal_handlers();
    // SAFETY: the caller guarantees `store` is valid.
    let context = unsafe { &mut *store };
    let previous = innermost_activation();
    // The first entry on a thread's stack or a fiber's.
    let fiber_floor = crate::fiber::first_entry_floor(previous as usize);
    let outermost = previous.is_null() || fiber_floor.is_some();
    let stack_limit = if outermost {
        let here = 0u8;
        let sp = &here as *const u8 as usize;
        // Never below the real stack, whatever the budget: leave room for
        // host functions and the trap landing.
        let floor =
            fiber_floor.unwrap_or_else(|| thread_stack_low().saturating_add(HOST_STACK_HEADROOM));
        sp.saturating_sub(max_wasm_stack).max(floor)
    } else if context.stack_limit == 0 {
        // Entered from a host function of another store's wasm: this runs
        // on the stack that wasm ran on (perhaps a continuation's), whose
        // limit that store's context holds.
        // SAFETY: installed activations and their stores are alive.
        unsafe { (*(*previous).store).stack_limit }
    } else {
        context.stack_limit
    };
    // The depth of the continuation the host was called from, if any.
    let depth = if outermost {
        0
    } else {
        // SAFETY: the previous activation and its store are alive, and
        // while it runs wasm its store's running continuation (a
        // continuation or a stand-in) is too.
        unsafe { (*(*(*previous).store).current_continuation).depth }
    };
    let activation = Activation {
        catch_point: CatchPoint::default(),
        previous: Cell::new(previous),
        store,
        saved_exit_fp: context.last_wasm_exit_fp,
        saved_stack_limit: context.stack_limit,
        saved_continuation: context.current_continuation,
        host: UnsafeCell::new(VMContRef::host_stand_in(stack_limit, depth, &NO_HANDLERS.0)),
        unwound: UnsafeCell::new(None),
    };
    context.stack_limit = stack_limit;
    context.current_continuation = activation.host.get();
    set_innermost_activation(&activation);

    let mut f = Some(f);
    extern "C" fn call<F: FnOnce()>(data: *mut u8) {
        // SAFETY: `data` is the `Option<F>` below, alive for this call.
        let f = unsafe { &mut *data.cast::<Option<F>>() };
        if let Some(f) = f.take() {
            f();
        }
    }
    let catch_point = &activation.catch_point as *const CatchPoint as *mut CatchPoint;
    // SAFETY: the catch point lives in `activation` until after this
    // returns; `call::<F>` gets the pointer to `f` it expects.
    let trapped =
        unsafe { fxtime_catch(catch_point, call::<F>, (&mut f as *mut Option<F>).cast()) };

    set_innermost_activation(activation.previous.get());
    // SAFETY: `store` is still valid (caller's guarantee).
    let context = unsafe { &mut *store };
    context.last_wasm_exit_fp = activation.saved_exit_fp;
    context.stack_limit = activation.saved_stack_limit;
    let abandoned = std::mem::replace(
        &mut context.current_continuation,
        activation.saved_continuation,
    );
    if trapped == 0 {
        return Ok(());
    }
    if abandoned != activation.host.get() {
        // SAFETY: the store's context points at its continuations; the
        // trap left `abandoned` and the chain it was running in, which ends
        // at this activation's stand-in.
        unsafe {
            (*context.continuations.cast::<Continuations>())
                .abandon_chain(abandoned, activation.host.get())
        };
    }
    Err(activation
        .unwound
        .into_inner()
        .unwrap_or(Unwound::Trap(TrapRecord {
            kind: TrapKind::HostError,
            pcs: Vec::new(),
        })))
}

/// The handler list of every stand-in: none.
struct NoHandlers(VMHandlerList);

// SAFETY: the list holds only null pointers and is never written.
unsafe impl Sync for NoHandlers {}

static NO_HANDLERS: NoHandlers = NoHandlers(VMHandlerList::EMPTY);

/// Stack kept free below the wasm stack limit for host code.
const HOST_STACK_HEADROOM: usize = 128 * 1024;

/// The lowest address of this thread's stack (0 when unknown), looked up
/// once per thread.
fn thread_stack_low() -> usize {
    thread_local! {
        static LOW: Cell<Option<usize>> = const { Cell::new(None) };
    }
    LOW.with(|low| {
        if let Some(low) = low.get() {
            return low;
        }
        let mut base = 0usize;
        // SAFETY: `attr` is initialized by pthread_getattr_np before use and
        // destroyed after; the out-pointers are valid locals.
        unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) == 0 {
                let mut addr: *mut libc::c_void = std::ptr::null_mut();
                let mut size = 0usize;
                if libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0 {
                    base = addr as usize;
                }
                libc::pthread_attr_destroy(&mut attr);
            }
        }
        low.set(Some(base));
        base
    })
}

// Saves the catch point and calls `f(data)`; returns 0 when `f` returns and
// 1 when `fxtime_unwind` jumps back to the catch point.
#[unsafe(naked)]
unsafe extern "C" fn fxtime_catch(
    catch_point: *mut CatchPoint,
    f: extern "C" fn(*mut u8),
    data: *mut u8,
) -> u32 {
    std::arch::naked_asm!(
        ".cfi_startproc",
        "mov [rdi + 0], rbx",
        "mov [rdi + 8], rbp",
        "mov [rdi + 16], r12",
        "mov [rdi + 24], r13",
        "mov [rdi + 32], r14",
        "mov [rdi + 40], r15",
        "lea rax, [rsp + 8]",
        "mov [rdi + 48], rax",
        "mov rax, [rsp]",
        "mov [rdi + 56], rax",
        // A frame of our own keeps the stack 16-byte aligned for the call;
        // its CFI lets unwinders continue from wasm into the host.
        "push rbp",
        ".cfi_adjust_cfa_offset 8",
        ".cfi_offset rbp, -16",
        "mov rbp, rsp",
        ".cfi_def_cfa_register rbp",
        "mov rdi, rdx",
        "call rsi",
        "pop rbp",
        ".cfi_def_cfa rsp, 8",
        "xor eax, eax",
        "ret",
        ".cfi_endproc",
    )
}

// Resumes at the catch point as if `fxtime_catch` returned 1.
#[unsafe(naked)]
unsafe extern "C" fn fxtime_unwind(catch_point: *const CatchPoint) -> ! {
    std::arch::naked_asm!(
        "mov rbx, [rdi + 0]",
        "mov rbp, [rdi + 8]",
        "mov r12, [rdi + 16]",
        "mov r13, [rdi + 24]",
        "mov r14, [rdi + 32]",
        "mov r15, [rdi + 40]",
        "mov rsp, [rdi + 48]",
        "mov eax, 1",
        "jmp qword ptr [rdi + 56]",
    )
}

/// Where a trapping thread continues after the signal handler: records the
/// trap and its backtrace, then unwinds to the innermost catch point.
pub(crate) extern "C" fn trap_landing(pc: usize, fp: usize, kind: u8) -> ! {
    let activation = innermost_activation();
    let kind = TrapKind::from_u8(kind).unwrap_or(TrapKind::HostError);
    // SAFETY: the handler only redirects here while an activation is
    // active, and the frame pointers come from generated code; the
    // landing's frame holds nothing with a destructor.
    unsafe {
        let pcs = capture_pcs(pc, fp, activation);
        unwind(Unwound::Trap(TrapRecord { kind, pcs }))
    }
}

/// The store context of this thread's innermost activation (null when
/// wasm does not run here).
pub(crate) fn innermost_store_context() -> *mut VMStoreContext {
    let activation = innermost_activation();
    if activation.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: installed activations are alive.
    unsafe { (*activation).store }
}

/// Ends the innermost call into wasm with trap `kind`, from a builtin whose
/// shim recorded where wasm left (`VMStoreContext::last_wasm_exit_fp`): as
/// if the wasm frame that called it had trapped.
///
/// # Safety
///
/// Must be called while wasm runs on this thread, from a builtin called by
/// generated code, in a frame that holds no values with destructors
/// (everything down to the catch point is skipped).
pub(crate) unsafe fn raise_trap(kind: TrapKind) -> ! {
    // SAFETY: per the contract the exit frame is a live shim frame whose
    // caller is wasm.
    let caller = unsafe { PausedFrame::caller_of((*innermost_store_context()).last_wasm_exit_fp) };
    trap_landing(caller.pc, caller.fp, kind as u8)
}

/// Ends the innermost call into wasm with an uncaught exception.
///
/// # Safety
///
/// Must be called while wasm runs on this thread, from a frame that holds
/// no values with destructors (everything down to the catch point is
/// skipped).
pub(crate) unsafe fn unwind_with_exception(exception: usize) -> ! {
    // SAFETY: per the contract.
    unsafe { unwind(Unwound::Exception(exception)) }
}

/// Ends the innermost call into wasm as `unwound` says: records it in the
/// activation and jumps to its catch point.
///
/// # Safety
///
/// As for [`unwind_with_exception`].
unsafe fn unwind(unwound: Unwound) -> ! {
    let activation = innermost_activation();
    // SAFETY: per the contract the activation is live.
    unsafe {
        *(*activation).unwound.get() = Some(unwound);
        fxtime_unwind(&(*activation).catch_point)
    }
}

/// Makes the thread a signal interrupted at `registers` continue, once the
/// handler returns, in `landing` with `args` in rdi, rsi and rdx, on its
/// own stack with its top below `below`: aligned as at a function's entry,
/// with a null return address (a landing never returns).
///
/// # Safety
///
/// The stack below `below` must be free, on the interrupted thread's stack.
pub(crate) unsafe fn continue_in(
    registers: &mut [libc::greg_t; 23],
    below: usize,
    landing: usize,
    args: &[i64],
) {
    let new_sp = (below & !15) - 8;
    // SAFETY: per the contract; the slot becomes the landing's (never
    // used) return address.
    unsafe { *(new_sp as *mut usize) = 0 };
    registers[libc::REG_RSP as usize] = new_sp as i64;
    for (register, arg) in [libc::REG_RDI, libc::REG_RSI, libc::REG_RDX]
        .iter()
        .zip(args)
    {
        registers[*register as usize] = *arg;
    }
    registers[libc::REG_RIP as usize] = landing as i64;
}

/// Program counters of the wasm frames from (`pc`, `fp`) outwards, through
/// every activation on this thread.
///
/// # Safety
///
/// `fp` must be the frame pointer of generated code at `pc`, and
/// `activation` this thread's innermost activation.
unsafe fn capture_pcs(pc: usize, fp: usize, activation: *const Activation) -> Vec<usize> {
    let mut pcs = Vec::new();
    // SAFETY: per the contract, both walks start at frames of generated
    // code, which keep frame pointers.
    unsafe {
        let trapping = PausedFrame {
            pc,
            fp,
            sp: 0,
            at_switch: false,
        };
        record_pcs(trapping, &mut pcs);
        let mut activation = activation;
        while !activation.is_null() {
            let exit_fp = (*activation).saved_exit_fp;
            if (*activation).previous.get().is_null() || exit_fp == 0 {
                break;
            }
            walk_from_exit(exit_fp, &mut pcs);
            activation = (*activation).previous.get();
        }
    }
    pcs
}

/// Program counters of the wasm frames below the host function that is
/// running now (called from wasm on this thread), through every activation.
pub fn current_wasm_pcs() -> Vec<usize> {
    let activation = innermost_activation();
    let mut pcs = Vec::new();
    if activation.is_null() {
        return pcs;
    }
    // SAFETY: the activation is alive while it is installed; the exit frame
    // pointer was stored by a host trampoline on this thread.
    unsafe {
        let exit_fp = (*(*activation).store).last_wasm_exit_fp;
        if exit_fp == 0 {
            return pcs;
        }
        walk_from_exit(exit_fp, &mut pcs);
        let mut activation = activation;
        while !(*activation).previous.get().is_null() && (*activation).saved_exit_fp != 0 {
            walk_from_exit((*activation).saved_exit_fp, &mut pcs);
            activation = (*activation).previous.get();
        }
    }
    pcs
}

/// Where the wasm frames of each activation of `store` on this thread
/// continue from, innermost first: the frame pointer of the trampoline or
/// builtin frame through which that activation's wasm left for the host.
///
/// # Safety
///
/// `store` must be the context of a live store, used on this thread.
pub unsafe fn store_exits(store: *mut VMStoreContext) -> Vec<usize> {
    let mut exits = Vec::new();
    // SAFETY: the caller's promise; installed activations are alive.
    unsafe {
        let mut exit = (*store).last_wasm_exit_fp;
        let mut activation = innermost_activation();
        while !activation.is_null() {
            if (*activation).store == store {
                if exit != 0 {
                    exits.push(exit);
                }
                exit = (*activation).saved_exit_fp;
            }
            activation = (*activation).previous.get();
        }
    }
    exits
}

/// Most frames recorded per backtrace, so a trap after deep recursion stays
/// cheap.
const MAX_FRAMES: usize = 1000;

/// Records the wasm frames starting at the caller of a host trampoline
/// (or builtin shim) whose frame pointer is `exit_fp`.
unsafe fn walk_from_exit(exit_fp: usize, pcs: &mut Vec<usize>) {
    // SAFETY: a trampoline frame holds the saved frame pointer and the
    // return address into its wasm caller.
    unsafe { record_pcs(PausedFrame::caller_of(exit_fp), pcs) }
}

/// Records the program counters of the wasm frames from `frame` outwards
/// (see `frames::walk`: through every continuation of a chain), up to
/// [`MAX_FRAMES`] in all.
unsafe fn record_pcs(frame: PausedFrame, pcs: &mut Vec<usize>) {
    // SAFETY: the caller's promise: a frame of generated code.
    unsafe {
        walk(frame, None, |frame| {
            if pcs.len() < MAX_FRAMES {
                pcs.push(frame.pc);
            }
            pcs.len() < MAX_FRAMES
        });
    }
}

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

struct PreviousHandlers(UnsafeCell<[libc::sigaction; 4]>);
// SAFETY: written once inside `Once::call_once` before any handler of ours
// is installed, read-only afterwards.
unsafe impl Sync for PreviousHandlers {}

static PREVIOUS: PreviousHandlers =
    // SAFETY: an all-zero sigaction is a valid (default) action.
    PreviousHandlers(UnsafeCell::new(unsafe { std::mem::zeroed() }));

fn install_signal_handlers() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        for (i, signal) in SIGNALS.into_iter().enumerate() {
            // SAFETY: zeroed sigaction is valid; we fill in the handler and
            // flags. `PREVIOUS` is written only here, before our handler can
            // run for this signal.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handle_signal as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let previous = &mut (*PREVIOUS.0.get())[i];
                if libc::sigaction(signal, &action, previous) != 0 {
                    panic!("cannot install the handler of signal {signal}");
                }
            }
        }
    });
}

unsafe extern "C" fn handle_signal(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid ucontext for SA_SIGINFO handlers.
    let context = unsafe { &mut *context.cast::<libc::ucontext_t>() };
    let pc = context.uc_mcontext.gregs[libc::REG_RIP as usize] as usize;
    if in_wasm()
        && let Some(kind) = lookup_trap(pc)
    {
        // SAFETY: an interrupt trap of generated code, on its stack.
        if kind == TrapKind::Interrupt && unsafe { crate::checks::land_interrupt(context) } {
            return;
        }
        // Continue in `trap_landing(pc, fp, kind)` on this stack, below the
        // red zone.
        let registers = &mut context.uc_mcontext.gregs;
        let sp = registers[libc::REG_RSP as usize] as usize;
        let fp = registers[libc::REG_RBP as usize];
        // SAFETY: below the red zone of the interrupted stack, everything
        // is free.
        unsafe {
            continue_in(
                registers,
                sp - 256,
                trap_landing as *const () as usize,
                &[pc as i64, fp, kind as u8 as i64],
            )
        };
        return;
    }
    // Not ours: hand it to whoever handled it before us.
    let index = SIGNALS.iter().position(|s| *s == signal).unwrap_or(0);
    // SAFETY: `PREVIOUS` was filled before this handler was installed.
    let previous = unsafe { &(*PREVIOUS.0.get())[index] };
    if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO the previous handler has this signature.
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(previous.sa_sigaction) };
        handler(signal, info, (context as *mut libc::ucontext_t).cast());
    } else if previous.sa_sigaction == libc::SIG_DFL || previous.sa_sigaction == libc::SIG_IGN {
        // Restore the old action; returning re-executes the instruction,
        // which now gets the default treatment (a crash with this signal).
        // SAFETY: reinstalling a previously valid action.
        unsafe { libc::sigaction(signal, previous, std::ptr::null_mut()) };
    } else {
        // SAFETY: without SA_SIGINFO the previous handler takes the signal.
        let handler: extern "C" fn(libc::c_int) =
            unsafe { std::mem::transmute(previous.sa_sigaction) };
        handler(signal);
    }
}
