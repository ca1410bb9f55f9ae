//! Running code on a pooled stack through the start trampoline, and
//! unwinding from it into the parent: by frame pointers and by DWARF CFI.

use fxtime_fibre::{FiberStack, StackPool, StackTop, switch};

unsafe extern "C" {
    /// An entry function (its argument unused) that returns the return
    /// address of the frame that rbp designates at its entry (the
    /// trampoline's frame).
    fn test_return_address_of_caller_frame();
}

std::arch::global_asm!(
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
    // which switches back to the resumer context when `func` returns.
    let result = unsafe {
        switch(
            &raw mut (*top).resumer,
            &raw const (*top).context,
            &mut entry as *mut Entry as usize,
        )
    };
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
    // The trampoline's frame returns to where `switch` left the parent.
    // SAFETY: the stack's header is its `StackTop`, alive in the pool.
    let resume = unsafe {
        (*stack.header().cast::<StackTop>())
            .resumer
            .instruction_pointer
    };
    assert_ne!(resume, 0);
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

/// A round trip of the stack of `ping_pong`: the top of its stack.
static PING_PONG_TOP: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe extern "C" fn ping_pong(first: usize) -> usize {
    let top = PING_PONG_TOP.load(std::sync::atomic::Ordering::Relaxed) as *mut StackTop;
    let mut value = first;
    // Callee-saved state across the switches: a float and a counter.
    let mut sum = 0.5f64;
    for _ in 0..3 {
        sum += value as f64;
        // SAFETY: the resumer context holds the parent, waiting in
        // `switch`; it switches back here through this stack's context.
        value = unsafe {
            switch(
                &raw mut (*top).context,
                &raw const (*top).resumer,
                value + 1,
            )
        };
    }
    sum as usize + value
}

#[test]
fn a_stack_suspends_midway_and_resumes_with_its_state() {
    let mut pool = StackPool::new(256 * 1024);
    let stack = pool.allocate().unwrap();
    let top = stack.header().cast::<StackTop>();
    PING_PONG_TOP.store(top as usize, std::sync::atomic::Ordering::Relaxed);
    // SAFETY: a stack from the pool that nothing runs on.
    unsafe { stack.prepare_start(ping_pong as *const () as usize) };
    let mut sent = 10;
    let mut replies = Vec::new();
    for _ in 0..4 {
        // SAFETY: the stack is fresh or waits in `switch`; `ping_pong`
        // switches back to this resumer context each time.
        let reply = unsafe { switch(&raw mut (*top).resumer, &raw const (*top).context, sent) };
        replies.push(reply);
        sent = reply * 2;
    }
    // 10 -> 11, 22 -> 23, 46 -> 47, then 94 ends it: 0.5 + 10 + 22 + 46
    // truncated, plus 94.
    assert_eq!(replies, [11, 23, 47, 78 + 94]);
}
