// Fibers for C on WebAssembly stack switching: the primitives come from
// fiber.wat (preloaded as `env`); this header gives each fiber its own part
// of the C shadow stack (`__stack_pointer` in linear memory), which wasm's
// own stacks do not cover. Every switch restores the stack pointer of the
// side that regains control.
#ifndef FIBER_H
#define FIBER_H

#include <stdlib.h>

#define FIBER_IMPORT(name) __attribute__((import_module("env"), import_name(name)))
FIBER_IMPORT("fiber_new") int fiber_new_raw(void (*entry)(void *), void *arg);
FIBER_IMPORT("fiber_resume") int fiber_resume_raw(int handle, int value);
FIBER_IMPORT("fiber_yield") int fiber_yield_raw(int value);
FIBER_IMPORT("fiber_done") int fiber_done_raw(int handle);
FIBER_IMPORT("fiber_free") void fiber_free_raw(int handle);

#define FIBER_SHADOW_STACK (64 * 1024)

typedef struct fiber {
    int handle;
    void (*body)(void *);
    void *arg;
    char *shadow_stack;
} fiber;

static inline void *fiber_get_sp(void) {
    void *sp;
    __asm__ volatile(".globaltype __stack_pointer, i32\n"
                     "global.get __stack_pointer\n"
                     "local.set %0\n"
                     : "=r"(sp));
    return sp;
}

static inline void fiber_set_sp(void *sp) {
    __asm__ volatile(".globaltype __stack_pointer, i32\n"
                     "local.get %0\n"
                     "global.set __stack_pointer\n"
                     :
                     : "r"(sp));
}

// Runs first on the fiber's wasm stack: moves to its shadow stack.
static void fiber_entry(void *raw) {
    fiber *f = raw;
    fiber_set_sp(f->shadow_stack + FIBER_SHADOW_STACK);
    f->body(f->arg);
}

static inline fiber *fiber_new(void (*body)(void *), void *arg) {
    fiber *f = malloc(sizeof *f);
    if (!f)
        return NULL;
    f->shadow_stack = aligned_alloc(16, FIBER_SHADOW_STACK);
    if (!f->shadow_stack) {
        free(f);
        return NULL;
    }
    f->body = body;
    f->arg = arg;
    f->handle = fiber_new_raw(fiber_entry, f);
    return f;
}

// Runs `f` until it yields (returns the yielded value) or finishes
// (returns 0; fiber_done is then true).
static inline int fiber_resume(fiber *f, int value) {
    void *sp = fiber_get_sp();
    int result = fiber_resume_raw(f->handle, value);
    fiber_set_sp(sp);
    return result;
}

// Gives `value` to the resumer; returns the value of the next resume.
static inline int fiber_yield(int value) {
    void *sp = fiber_get_sp();
    int result = fiber_yield_raw(value);
    fiber_set_sp(sp);
    return result;
}

static inline int fiber_done(fiber *f) { return fiber_done_raw(f->handle); }

static inline void fiber_free(fiber *f) {
    fiber_free_raw(f->handle);
    free(f->shadow_stack);
    free(f);
}

#endif
