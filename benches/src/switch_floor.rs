//! `switch-floor`: how fast a suspend/resume pair and a `switch` can be on
//! this machine with fxtime's objects, written by hand.
//!
//! Each loop is x86-64 assembly that does only the memory traffic the
//! semantics ask of fxtime's design, on the real `VMContRef`,
//! `VMStoreContext` and `VMHandlerList` layouts and pooled stacks started
//! through the real start trampoline:
//!
//! - resume: consume the reference (check and bump the revision), the
//!   clause list and the parent into the continuation, its innermost
//!   continuation made current with its stack limit, Cranelift's
//!   `stack_switch` sequence (store the resumer's context, load the
//!   continuation's), the `transfer` check after it;
//! - suspend: the leading clause of the current continuation's list
//!   compared with the tag, `transfer` and `innermost` set, the parent made
//!   current with its stack limit, the switch back, the wake-up check;
//! - switch: consume the target, find the leading switch clause, hand the
//!   root's parent, clause list and resumer context to the target, make
//!   the target's innermost continuation current with its stack limit,
//!   pass the count and the root's reference through the target's buffer,
//!   switch; the woken side reads its values back;
//! - spawn: `cont.new` from a warm free list (pop, the start context,
//!   function, parent, innermost, `transfer`, `live`), a resume passing
//!   one argument, the start trampoline and a continuation entry (depth,
//!   a call of the function, its result into the buffer, the parent made
//!   current), and the object given back to the free list;
//! - many live: the same resume and suspension over 10,000 suspended
//!   continuations resumed in turn (as benchfx's `c10m` keeps them), so
//!   that every resume finds its object and frame cold; for the runtime's
//!   pool and for two denser layouts of the stacks.
//!
//! As in generated code, nothing is kept in a register across a switch
//! (`stack_switch` clobbers them all): the store context, the tag and the
//! count live in the frame. No compiler, no spills beyond those: what is
//! left is what any implementation of this design pays. The program prints
//! nanoseconds per operation; compare with `fxtime run` of
//! benches/stack-switching/{suspend_resume,switch}.wat, which do the same
//! loops (20 M pairs, 10 M switches) and spawn.wat (10 M spawns), and
//! the many-live loop with the cold visits of benchfx's `c10m`.

use fxtime_environ::vm::{
    LEADING_SUSPEND_CLAUSES, VMContRef, VMContinuationFreeList, VMHandlerList, VMStoreContext,
    VMTagDefinition, offsets,
};
use fxtime_fibre::{FiberStack, StackPool, StackTop};
use std::arch::global_asm;
use std::mem::size_of;
use std::time::Instant;

/// Cranelift's x86-64 `stack_switch` (basic model): store this stack's
/// stack pointer, frame pointer and resume address at `$store`, continue
/// from the context at `$load`; control comes back at `$resume`.
macro_rules! stack_switch {
    ($store:literal, $load:literal, $resume:literal) => {
        concat!(
            "mov rax, [",
            $load,
            "]\n",
            "mov [",
            $store,
            "], rsp\n",
            "mov rsp, rax\n",
            "mov rax, [",
            $load,
            " + 8]\n",
            "mov [",
            $store,
            " + 8], rbp\n",
            "mov rbp, rax\n",
            "mov rax, [",
            $load,
            " + 16]\n",
            "lea rcx, [rip + ",
            $resume,
            "]\n",
            "mov [",
            $store,
            " + 16], rcx\n",
            "jmp rax\n",
        )
    };
}

/// The resume sequence after the reference is consumed: with the
/// continuation in rdi and the clause list in rcx, and the store context
/// at [rsp]: the clause list and the parent into the continuation, its
/// innermost continuation made current with its stack limit.
macro_rules! run_under_clauses {
    () => {
        concat!(
            "mov [rdi + {handlers}], rcx\n",
            "mov r9, [rsp]\n",
            "mov rdx, [r9 + {current}]\n",
            "mov [rdi + {parent}], rdx\n",
            "mov r10, [rdi + {innermost}]\n",
            "mov [r9 + {current}], r10\n",
            "mov r11, [r10 + {cont_limit}]\n",
            "mov [r9 + {store_limit}], r11\n",
        )
    };
}

/// Saves the registers a System V function must keep for its caller: the
/// loops switch stacks, which clobbers them all.
macro_rules! save_callee_saved {
    () => {
        "push rbp\npush rbx\npush r12\npush r13\npush r14\npush r15\n"
    };
}

/// Restores what `save_callee_saved` saved, and returns.
macro_rules! restore_callee_saved_and_return {
    () => {
        "pop r15\npop r14\npop r13\npop r12\npop rbx\npop rbp\nret\n"
    };
}

/// The frame of a loop taking four arguments: the callee-saved registers
/// saved, then 56 bytes: [rsp] the store context, [rsp + 8] to [rsp + 32]
/// the arguments, [rsp + 40] zero.
macro_rules! enter_loop_frame {
    () => {
        concat!(
            save_callee_saved!(),
            "sub rsp, 56\n",
            "mov rax, [rip + {setup} + 0]\n",
            "mov [rsp], rax\n",
            "mov [rsp + 8], rdi\n",
            "mov [rsp + 16], rsi\n",
            "mov [rsp + 24], rdx\n",
            "mov [rsp + 32], rcx\n",
            "mov qword ptr [rsp + 40], 0\n",
        )
    };
}

/// Parameters the loops read into their frames when they start.
#[repr(C)]
struct Setup {
    store: *mut VMStoreContext,
    tag: *const VMTagDefinition,
    count: u64,
}

/// Switches made, counted by the players as the benchmark counts them.
static mut SWITCHES: u32 = 0;

static mut SETUP: Setup = Setup {
    store: std::ptr::null_mut(),
    tag: std::ptr::null(),
    count: 0,
};

global_asm!(
    // extern "C" fn floor_resume_loop(cont: *mut VMContRef, handlers:
    // *const VMHandlerList) -> u64: resumes `cont` (revision as it is) with
    // `handlers` until it has suspended SETUP.count times.
    // Frame: [rsp] store, [rsp + 8] cont, [rsp + 16] handlers,
    // [rsp + 24] suspensions left.
    ".globl floor_resume_loop",
    "floor_resume_loop:",
    save_callee_saved!(),
    "sub rsp, 40",
    "mov rax, [rip + {setup} + 0]",
    "mov [rsp], rax",
    "mov [rsp + 8], rdi",
    "mov [rsp + 16], rsi",
    "mov rax, [rip + {setup} + 16]",
    "mov [rsp + 24], rax",
    "mov rax, [rdi + {revision}]",
    "2:",
    "mov rdi, [rsp + 8]",
    "cmp rax, [rdi + {revision}]",
    "jne 8f",
    "inc rax",
    "mov [rdi + {revision}], rax",
    "mov rcx, [rsp + 16]",
    run_under_clauses!(),
    stack_switch!("rdi + {resumer}", "rdi + {context}", "3f"),
    "3:",
    "cmp qword ptr [rdi + {transfer}], 2",
    "jne 8f",
    "mov rax, [rdi + {revision}]",
    "dec qword ptr [rsp + 24]",
    "jnz 2b",
    "8:",
    "mov rax, [rsp + 24]",
    "add rsp, 40",
    restore_callee_saved_and_return!(),

    // extern "C" fn floor_suspend_loop(cont: *mut VMContRef): the
    // continuation's function, started by the trampoline; suspends with
    // SETUP.tag, counting its suspensions as the benchmark's $body does,
    // until the resumer stops resuming it. Frame: [rsp] store, [rsp + 8]
    // tag, [rsp + 16] suspensions.
    ".globl floor_suspend_loop",
    "floor_suspend_loop:",
    "sub rsp, 24",
    "mov rax, [rip + {setup} + 0]",
    "mov [rsp], rax",
    "mov rax, [rip + {setup} + 8]",
    "mov [rsp + 8], rax",
    "mov qword ptr [rsp + 16], 0",
    "4:",
    "mov r9, [rsp]",
    "mov rdi, [r9 + {current}]",
    "mov rax, [rdi + {handlers}]",
    "mov rax, [rax + {leading_suspend}]",
    "cmp rax, [rsp + 8]",
    "jne 9f",
    "mov qword ptr [rdi + {transfer}], 2",
    "mov [rdi + {innermost}], rdi",
    "mov rdx, [rdi + {parent}]",
    "mov [r9 + {current}], rdx",
    "mov r11, [rdx + {cont_limit}]",
    "mov [r9 + {store_limit}], r11",
    stack_switch!("rdi + {context}", "rdi + {resumer}", "5f"),
    "5:",
    "cmp qword ptr [rdi + {transfer}], 1",
    "je 9f",
    "inc qword ptr [rsp + 16]",
    "mov rax, [rip + {setup} + 16]",
    "cmp [rsp + 16], rax",
    "jb 4b",
    "9:",
    "ud2",

    // extern "C" fn floor_switch_player(me: *mut VMContRef): a player of
    // the switch loop, started by the trampoline. Its buffer holds the
    // list of the count and the other player's reference, back to front
    // (slots 1 and 0, see `VMContRef::values`). Returns
    // itself once the count reaches SETUP.count.
    // Frame: [rsp] store, [rsp + 8] tag, [rsp + 16] count to reach.
    ".globl floor_switch_player",
    "floor_switch_player:",
    "sub rsp, 24",
    "mov rax, [rip + {setup} + 0]",
    "mov [rsp], rax",
    "mov rax, [rip + {setup} + 8]",
    "mov [rsp + 8], rax",
    "mov rax, [rip + {setup} + 16]",
    "mov [rsp + 16], rax",
    "6:",
    // Woken (or started) with rdi = its own object: its values.
    "cmp qword ptr [rdi + {transfer}], 1",
    "je 9b",
    "mov rcx, [rdi + {values}]",
    "mov eax, [rcx + 16]",
    "mov rsi, [rcx]",
    "mov r8, [rcx + 8]",
    "cmp rax, [rsp + 16]",
    "jae 7f",
    "inc dword ptr [rip + {switches}]",
    // Consume the target.
    "cmp r8, [rsi + {revision}]",
    "jne 9b",
    "inc r8",
    "mov [rsi + {revision}], r8",
    // The root: the current continuation, if its clause list leads with
    // the switch tag.
    "mov r9, [rsp]",
    "mov rdx, [r9 + {current}]",
    "mov r10, [rdx + {handlers}]",
    "mov r10, [r10 + {leading_switch}]",
    "cmp r10, [rsp + 8]",
    "jne 9b",
    "mov [rdx + {innermost}], rdx",
    "mov r10, [rdx + {parent}]",
    "mov [rsi + {parent}], r10",
    "mov r10, [rdx + {handlers}]",
    "mov [rsi + {handlers}], r10",
    "mov r10, [rdx + {resumer}]",
    "mov [rsi + {resumer}], r10",
    "mov r10, [rdx + {resumer} + 8]",
    "mov [rsi + {resumer} + 8], r10",
    "mov r10, [rdx + {resumer} + 16]",
    "mov [rsi + {resumer} + 16], r10",
    "mov r10, [rsi + {innermost}]",
    "mov [r9 + {current}], r10",
    "mov r11, [r10 + {cont_limit}]",
    "mov [r9 + {store_limit}], r11",
    // The count and the root's reference into the target's buffer.
    "mov rcx, [rsi + {values}]",
    "inc eax",
    "mov [rcx + 16], eax",
    "mov [rcx], rdx",
    "mov r10, [rdx + {revision}]",
    "mov [rcx + 8], r10",
    "mov rdi, rsi",
    stack_switch!("rdx + {context}", "rsi + {context}", "6b"),
    "7:",
    "mov qword ptr [rdi + {transfer}], 0",
    "mov rax, rdi",
    "add rsp, 24",
    "ret",

    // extern "C" fn floor_round_robin(table: *mut [u64; 2], n: u64,
    // handlers: *const VMHandlerList, visits: u64) -> u64: resumes the
    // continuations of the `n` references in `table` (object, revision) in
    // turn, `visits` resumes in all, each until it suspends; the table
    // keeps each one's new reference, as a wasm table would. Returns the
    // visits left (0 unless one did not suspend).
    // Frame: [rsp] store, [rsp + 8] table, [rsp + 16] n, [rsp + 24]
    // handlers, [rsp + 32] visits left, [rsp + 40] index.
    ".globl floor_round_robin",
    "floor_round_robin:",
    enter_loop_frame!(),
    "12:",
    "mov r8, [rsp + 40]",
    "shl r8, 4",
    "add r8, [rsp + 8]",
    "mov rdi, [r8]",
    "mov rax, [r8 + 8]",
    "cmp rax, [rdi + {revision}]",
    "jne 18f",
    "inc rax",
    "mov [rdi + {revision}], rax",
    "mov [r8 + 8], rax",
    "mov rcx, [rsp + 24]",
    run_under_clauses!(),
    stack_switch!("rdi + {resumer}", "rdi + {context}", "13f"),
    "13:",
    "cmp qword ptr [rdi + {transfer}], 2",
    "jne 18f",
    "mov rax, [rsp + 40]",
    "inc rax",
    "cmp rax, [rsp + 16]",
    "jb 14f",
    "xor eax, eax",
    "14:",
    "mov [rsp + 40], rax",
    "dec qword ptr [rsp + 32]",
    "jnz 12b",
    "18:",
    "mov rax, [rsp + 32]",
    "add rsp, 56",
    restore_callee_saved_and_return!(),

    // extern "C" fn floor_spawn_loop(list: *mut VMContinuationFreeList,
    // entry: usize, func: usize, count: u64, handlers: *const
    // VMHandlerList) -> u64: `count` times, `cont.new` from the free list
    // (as `emit::reuse_free` does), a resume passing the count left, run to
    // completion, the result added up, the object given back (as
    // `emit::release` does). Returns the sum, or -1 if a step failed.
    // Frame: [rsp] store, [rsp + 8] list, [rsp + 16] entry, [rsp + 24]
    // func, [rsp + 32] count left, [rsp + 40] sum, [rsp + 48] handlers.
    ".globl floor_spawn_loop",
    "floor_spawn_loop:",
    enter_loop_frame!(),
    "mov [rsp + 48], r8",
    "20:",
    // cont.new: pop the first free object and make it fresh.
    "mov r8, [rsp + 8]",
    "mov rdi, [r8 + {list_head}]",
    "test rdi, rdi",
    "jz 28f",
    "mov rax, [rdi + {parent}]",
    "mov [r8 + {list_head}], rax",
    "inc qword ptr [r8 + {list_live}]",
    "mov rax, [r8 + {list_start}]",
    "mov [rdi + {context} + 16], rax",
    "mov [rdi + {context}], rdi",
    "mov rax, [rsp + 16]",
    "mov [rdi + {context} + 8], rax",
    "mov rax, [rsp + 24]",
    "mov [rdi + {func}], rax",
    "mov qword ptr [rdi + {parent}], 0",
    "mov [rdi + {innermost}], rdi",
    "mov qword ptr [rdi + {transfer}], 0",
    "mov qword ptr [rdi + {live}], 1",
    // resume with one argument: the reference is the fresh one.
    "mov rcx, [rdi + {values}]",
    "mov rax, [rsp + 32]",
    "mov [rcx], rax",
    "mov rax, [rdi + {revision}]",
    "inc rax",
    "mov [rdi + {revision}], rax",
    "mov rcx, [rsp + 48]",
    run_under_clauses!(),
    stack_switch!("rdi + {resumer}", "rdi + {context}", "21f"),
    "21:",
    "cmp qword ptr [rdi + {transfer}], 0",
    "jne 28f",
    "mov rcx, [rdi + {values}]",
    "mov rax, [rcx]",
    "add [rsp + 40], rax",
    // Release: back to the free list.
    "mov qword ptr [rdi + {live}], 0",
    "inc qword ptr [rdi + {revision}]",
    "mov r8, [rsp + 8]",
    "mov rax, [r8 + {list_head}]",
    "mov [rdi + {parent}], rax",
    "mov [r8 + {list_head}], rdi",
    "dec qword ptr [r8 + {list_live}]",
    "dec qword ptr [rsp + 32]",
    "jnz 20b",
    "mov rax, [rsp + 40]",
    "jmp 29f",
    "28:",
    "mov rax, -1",
    "29:",
    "add rsp, 56",
    restore_callee_saved_and_return!(),

    // extern "C" fn floor_spawn_entry(cont: *mut VMContRef) -> *mut
    // VMContRef: a continuation entry, called by the start trampoline:
    // its depth, its function called with the argument in its buffer, the
    // result stored back, `transfer` "returned", the parent made current
    // with its stack limit.
    ".globl floor_spawn_entry",
    "floor_spawn_entry:",
    "push rbp",
    "mov rbp, rsp",
    "push rbx",
    "sub rsp, 8",
    "mov rbx, rdi",
    "mov rax, [rdi + {parent}]",
    "mov rax, [rax + {depth}]",
    "inc rax",
    "mov [rdi + {depth}], rax",
    "mov rcx, [rdi + {values}]",
    "mov rdi, [rcx]",
    "call [rbx + {func}]",
    "mov rcx, [rbx + {values}]",
    "mov [rcx], rax",
    "mov qword ptr [rbx + {transfer}], 0",
    "mov r9, [rip + {setup} + 0]",
    "mov rdx, [rbx + {parent}]",
    "mov [r9 + {current}], rdx",
    "mov r11, [rdx + {cont_limit}]",
    "mov [r9 + {store_limit}], r11",
    "mov rax, rbx",
    "add rsp, 8",
    "pop rbx",
    "pop rbp",
    "ret",

    // The continuations' function: its argument plus one.
    ".globl floor_spawn_body",
    "floor_spawn_body:",
    "lea rax, [rdi + 1]",
    "ret",

    setup = sym SETUP,
    switches = sym SWITCHES,
    revision = const offsets::CONT_REVISION,
    context = const offsets::CONT_CONTEXT,
    resumer = const offsets::CONT_RESUMER,
    parent = const offsets::CONT_PARENT,
    innermost = const offsets::CONT_INNERMOST,
    handlers = const offsets::CONT_HANDLERS,
    cont_limit = const offsets::CONT_STACK_LIMIT,
    values = const offsets::CONT_VALUES,
    transfer = const offsets::CONT_TRANSFER,
    current = const offsets::STORE_CURRENT_CONTINUATION,
    store_limit = const offsets::STORE_STACK_LIMIT,
    leading_suspend = const offsets::HANDLERS_LEADING_SUSPEND_TAGS,
    leading_switch = const offsets::HANDLERS_LEADING_SWITCH_TAG,
    func = const offsets::CONT_FUNC,
    live = const offsets::CONT_LIVE,
    depth = const offsets::CONT_DEPTH,
    list_head = const offsets::FREE_LIST_HEAD,
    list_live = const offsets::FREE_LIST_LIVE,
    list_start = const offsets::FREE_LIST_START,
);

unsafe extern "C" {
    fn floor_resume_loop(cont: *mut VMContRef, handlers: *const VMHandlerList) -> u64;
    fn floor_suspend_loop(cont: *mut VMContRef);
    fn floor_switch_player(me: *mut VMContRef);
    fn floor_spawn_loop(
        list: *mut VMContinuationFreeList,
        entry: usize,
        func: usize,
        count: u64,
        handlers: *const VMHandlerList,
    ) -> u64;
    fn floor_spawn_entry(cont: *mut VMContRef) -> *mut VMContRef;
    fn floor_spawn_body(n: u64) -> u64;
    fn floor_round_robin(
        table: *mut [u64; 2],
        n: u64,
        handlers: *const VMHandlerList,
        visits: u64,
    ) -> u64;
}

/// A fresh continuation object in the header of `stack` that runs `entry`.
fn fresh(
    stack: FiberStack,
    entry: unsafe extern "C" fn(*mut VMContRef),
    no_handlers: &'static VMHandlerList,
) -> *mut VMContRef {
    let object = stack.header().cast::<VMContRef>();
    // SAFETY: the header of a stack nothing runs on, big enough for the
    // object (the pool was made with its size) and 64-aligned.
    unsafe {
        object.write(VMContRef::host_stand_in(stack.limit(), 0, no_handlers));
        stack.prepare_start(entry as usize);
        (*object).innermost = object;
        (*object).values = (*object).inline_values.as_mut_ptr();
        (*object).values_capacity = (*object).inline_values.len() as u32;
    }
    object
}

fn main() {
    let pairs: u64 = 20_000_000;
    let switches: u64 = 10_000_000;
    let tag = Box::new(0u64);
    let tag = (&*tag as *const u64).cast::<VMTagDefinition>();
    let mut pool = StackPool::with_header(1 << 20, size_of::<VMContRef>());
    let no_handlers: &'static VMHandlerList = Box::leak(Box::new(VMHandlerList::EMPTY));
    let mut host = Box::new(VMContRef::host_stand_in(0, 0, no_handlers));
    let mut store = Box::new(VMStoreContext {
        current_continuation: &mut *host,
        ..VMStoreContext::default()
    });

    // Suspend/resume.
    let mut list = VMHandlerList::EMPTY;
    list.leading_suspend_tags = [tag; LEADING_SUSPEND_CLAUSES];
    let cont = fresh(
        pool.allocate().expect("a stack"),
        floor_suspend_loop,
        no_handlers,
    );
    let setup = std::ptr::addr_of_mut!(SETUP);
    // SAFETY: single-threaded; the loops only read it.
    unsafe {
        setup.write(Setup {
            store: &mut *store,
            tag,
            count: pairs,
        })
    };
    let start = Instant::now();
    // SAFETY: a fresh continuation of this store, its clause list alive
    // for the call; the loop leaves it suspended, never to be resumed.
    let left = unsafe { floor_resume_loop(cont, &list) };
    let elapsed = start.elapsed();
    assert_eq!(left, 0, "the continuation stopped early");
    println!(
        "suspend/resume pair: {:.2} ns",
        elapsed.as_nanos() as f64 / pairs as f64
    );

    // Switch.
    let mut list = VMHandlerList::EMPTY;
    list.leading_switch_tag = tag;
    let a = fresh(
        pool.allocate().expect("a stack"),
        floor_switch_player,
        no_handlers,
    );
    let b = fresh(
        pool.allocate().expect("a stack"),
        floor_switch_player,
        no_handlers,
    );
    // SAFETY: both objects are fresh and ours; slot 1 is the count, slot 0
    // the other player's reference (address, then revision).
    unsafe {
        (*setup).count = switches;
        let values = (*a).values.cast::<u64>();
        values.write(b as u64);
        values.add(1).write((*b).revision);
        values.add(2).write(0);
    }
    let start = Instant::now();
    // SAFETY: as above; the player that reaches the count returns, which
    // ends the resume without a suspension.
    let left = unsafe { floor_resume_loop(a, &list) };
    let elapsed = start.elapsed();
    assert_eq!(left, switches, "a player suspended");
    // SAFETY: the players are done with it.
    let made = unsafe { std::ptr::addr_of!(SWITCHES).read() };
    assert_eq!(u64::from(made), switches);
    println!(
        "switch: {:.2} ns",
        elapsed.as_nanos() as f64 / switches as f64
    );

    spawn(&mut store, &mut pool, no_handlers);
    many_live(&mut store, tag, no_handlers);
}

/// `cont.new`, a resume that runs the continuation to completion, and the
/// object given back, as benches/stack-switching/spawn.wat does 10 M times,
/// with a warm free list.
fn spawn(store: &mut VMStoreContext, pool: &mut StackPool, no_handlers: &'static VMHandlerList) {
    let spawns: u64 = 10_000_000;
    // The entry is what a fresh object's context carries in its
    // frame-pointer word; the free list's `start` the trampoline.
    let start = StackTop::start_context(0, 0).instruction_pointer as *const u8;
    // Each `cont.new` of the loop gives the object its start context anew.
    let object = fresh(
        pool.allocate().expect("a stack"),
        floor_suspend_loop,
        no_handlers,
    );
    let mut list = VMContinuationFreeList {
        head: object,
        live: 0,
        start,
        pending: std::ptr::null_mut(),
    };
    let setup = std::ptr::addr_of_mut!(SETUP);
    // SAFETY: single-threaded; the loops only read it.
    unsafe { (*setup).store = store };
    let begin = Instant::now();
    // SAFETY: the free list holds one free object of this store, whose
    // stack nothing runs on; the clause list outlives the call.
    let sum = unsafe {
        floor_spawn_loop(
            &mut list,
            floor_spawn_entry as *const () as usize,
            floor_spawn_body as *const () as usize,
            spawns,
            no_handlers,
        )
    };
    let elapsed = begin.elapsed();
    assert_eq!(sum, spawns * (spawns + 1) / 2 + spawns, "a spawn failed");
    assert_eq!(list.live, 0);
    println!(
        "cont.new + resume to completion: {:.2} ns",
        elapsed.as_nanos() as f64 / spawns as f64
    );
}

/// Continuations alive at once in the many-live loop, as in benchfx's
/// `c10m`.
const LIVE: usize = 10_000;

/// The same suspend/resume pair, but over `LIVE` suspended continuations
/// resumed in turn, so that each resume finds its continuation cold (its
/// object and the frame it wakes up in): the floor of a visit to one of
/// many live continuations, for three layouts of their stacks.
fn many_live(
    store: &mut VMStoreContext,
    tag: *const VMTagDefinition,
    no_handlers: &'static VMHandlerList,
) {
    let visits: u64 = 10_000_000;
    let header = size_of::<VMContRef>();
    let layouts = [
        (
            "the runtime's pool, 1 MiB stacks",
            StackPool::with_header(1 << 20, header),
        ),
        (
            "16 KiB stacks back to back",
            StackPool::dense(16 << 10, header, false),
        ),
        (
            "16 KiB stacks back to back, huge pages",
            StackPool::dense(16 << 10, header, true),
        ),
    ];
    let mut list = VMHandlerList::EMPTY;
    list.leading_suspend_tags = [tag; LEADING_SUSPEND_CLAUSES];
    let setup = std::ptr::addr_of_mut!(SETUP);
    // SAFETY: single-threaded; the loops only read it. The continuations
    // never reach this count, so they stay suspended.
    unsafe {
        setup.write(Setup {
            store,
            tag,
            count: u64::MAX,
        })
    };
    for (name, mut pool) in layouts {
        let mut table: Vec<[u64; 2]> = (0..LIVE)
            .map(|_| {
                let cont = fresh(
                    pool.allocate().expect("a stack"),
                    floor_suspend_loop,
                    no_handlers,
                );
                // SAFETY: a fresh object of ours.
                [cont as u64, unsafe { (*cont).revision }]
            })
            .collect();
        // SAFETY: the table holds the current references of continuations
        // of this store that only suspend; the clause list outlives the
        // calls. The first round starts them, the timed rounds wake them.
        let left = unsafe {
            floor_round_robin(table.as_mut_ptr(), LIVE as u64, &list, LIVE as u64);
            let start = Instant::now();
            let left = floor_round_robin(table.as_mut_ptr(), LIVE as u64, &list, visits);
            let elapsed = start.elapsed();
            println!(
                "resume of one of {LIVE} suspended continuations, {name}: {:.1} ns",
                elapsed.as_nanos() as f64 / visits as f64
            );
            left
        };
        assert_eq!(left, 0, "a continuation did not suspend");
        // The continuations stay suspended: their stacks go with the pool.
    }
}
