//! Running code on a pooled stack through the start trampoline, and
//! unwinding from it into the parent: by frame pointers and by DWARF CFI.

use fxtime_fibre::{FiberStack, StackPool, StackTop};

unsafe extern "C" {
    /// Switches into the stack whose top is `top`: loads its own context
    /// and stores this one in its resumer's (the convention of Cranelift's
    /// `stack_switch`); returns the payload of the switch back.
    fn test_switch(top: *mut StackTop, payload: usize) -> usize;
    /// The address the parent resumes at after `test_switch` switched away.
    static test_switch_resume: u8;
    /// An entry function (its argument unused) that returns the return
    /// address of the frame that rbp designates at its entry (the
    /// trampoline's frame).
    fn test_return_address_of_caller_frame();
}

// A switch with the same convention as `stack_switch`, saving the host's
// callee-saved registers on its own stack first, with CFI for all of it.
std::arch::global_asm!(
    ".globl test_switch",
    ".globl test_switch_resume",
    ".p2align 4",
    "test_switch:",
    ".cfi_startproc",
    "push rbp",
    ".cfi_def_cfa_offset 16",
    ".cfi_offset rbp, -16",
    "mov rbp, rsp",
    ".cfi_def_cfa_register rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    ".cfi_offset rbx, -24",
    ".cfi_offset r12, -32",
    ".cfi_offset r13, -40",
    ".cfi_offset r14, -48",
    ".cfi_offset r15, -56",
    "sub rsp, 8",
    "mov r8, [rdi]",
    "mov r9, [rdi + 8]",
    "mov r10, [rdi + 16]",
    "lea rax, [rip + test_switch_resume]",
    "mov [rdi + 24], rsp",
    "mov [rdi + 32], rbp",
    "mov [rdi + 40], rax",
    "mov rsp, r8",
    "mov rbp, r9",
    "mov rdi, rsi",
    "jmp r10",
    "test_switch_resume:",
    "mov rax, rdi",
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
    "",
    ".globl test_return_address_of_caller_frame",
    "test_return_address_of_caller_frame:",
    "mov rax, [rbp + 8]",
    "ret",
);

/// What the tests pass to the stack's entry function.
struct Entry {
    input: usize,
    stack_range: (usize, usize),
    backtrace: String,
}

unsafe extern "C" fn double_on_the_fiber(entry: *mut Entry) -> usize {
    // SAFETY: `run` passes its `Entry`, alive during the call.
    let entry = unsafe { &mut *entry };
    let here = 0u8;
    let sp = &here as *const u8 as usize;
    assert!(
        entry.stack_range.0 <= sp && sp < entry.stack_range.1,
        "not on the fiber"
    );
    entry.input * 2
}

unsafe extern "C" fn capture_backtrace(entry: *mut Entry) -> usize {
    // SAFETY: as above.
    let entry = unsafe { &mut *entry };
    entry.backtrace = std::backtrace::Backtrace::force_capture().to_string();
    0
}

/// Runs `func` (an `extern "C" fn(*mut Entry) -> usize`) on `stack` through
/// the start trampoline.
fn run(pool: &StackPool, stack: FiberStack, func: *const u8) -> (usize, Entry) {
    // SAFETY: a stack from the pool that nothing runs on.
    unsafe { stack.prepare_start(func as usize) };
    let mut entry = Entry {
        input: 21,
        stack_range: (stack.top() - pool.stack_size(), stack.top()),
        backtrace: String::new(),
    };
    let top = stack.header().cast::<StackTop>();
    // SAFETY: the stack's own context was prepared to run the trampoline,
    // which switches back when `func` returns.
    let result = unsafe { test_switch(top, &mut entry as *mut Entry as usize) };
    (result, entry)
}

#[test]
fn a_function_runs_on_the_fiber_and_its_result_comes_back() {
    let mut pool = StackPool::new(256 * 1024);
    let stack = pool.allocate().unwrap();
    // One stack, started again and again.
    for _ in 0..1000 {
        let (result, _) = run(&pool, stack, double_on_the_fiber as *const u8);
        assert_eq!(result, 42);
    }
}

#[test]
fn the_frame_pointer_chain_leads_into_the_parent() {
    let mut pool = StackPool::new(256 * 1024);
    let stack = pool.allocate().unwrap();
    let (return_address, _) = run(
        &pool,
        stack,
        test_return_address_of_caller_frame as *const u8,
    );
    // SAFETY: only the symbol's address is taken.
    let resume = unsafe { &test_switch_resume as *const u8 as usize };
    assert_eq!(return_address, resume);
}

#[test]
fn dwarf_unwinding_crosses_into_the_parent_stack() {
    let mut pool = StackPool::new(1024 * 1024);
    let stack = pool.allocate().unwrap();
    let (_, entry) = run(&pool, stack, capture_backtrace as *const u8);
    let trace = entry.backtrace;
    // Inside the fiber: the capturing function and the trampoline...
    assert!(trace.contains("capture_backtrace"), "{trace}");
    // ...and beyond the stack boundary, this test function.
    assert!(
        trace.contains("dwarf_unwinding_crosses_into_the_parent_stack"),
        "{trace}"
    );
}
