// C fibers on WebAssembly stack switching, with WASI for output: a
// generator, round-robin workers that keep data on their shadow stacks
// across switches, and many short-lived fibers.
//
//   clang --target=wasm32-wasi -O2 -Wl,--import-table fibers.c -o fibers.wasm
//   fxtime run -W stack-switching=y --preload env=fiber.wat fibers.wasm
#include <stdio.h>
#include <string.h>

#include "fiber.h"

static void squares(void *arg) {
    int n = *(int *)arg;
    for (int i = 1; i <= n; i++)
        fiber_yield(i * i);
}

static int overwritten;

struct worker {
    int id;
    int rounds;
    long checksum;
};

// Fills a large frame of the shadow stack, below the caller's frames.
__attribute__((noinline)) static int scribble(int seed) {
    volatile char area[4096];
    for (int i = 0; i < (int)sizeof area; i++)
        area[i] = (char)(seed + i);
    return area[seed & 4095];
}

// Keeps a buffer on its own shadow stack, yields between filling and
// checking it: nothing that runs meanwhile, nor its own deeper frames,
// may overwrite it (they would if fibers shared one shadow stack, once the
// first of them returns).
static void work(void *arg) {
    struct worker *w = arg;
    char buffer[256];
    for (int round = 0; round < w->rounds; round++) {
        memset(buffer, 'a' + w->id, sizeof buffer);
        snprintf(buffer, 32, "worker %d round %d", w->id, round);
        fiber_yield(w->id);
        scribble(w->id);
        char expected[32];
        snprintf(expected, sizeof expected, "worker %d round %d", w->id, round);
        if (strcmp(buffer, expected) != 0 || buffer[200] != 'a' + w->id) {
            printf("worker %d: shadow stack overwritten\n", w->id);
            overwritten = 1;
            return;
        }
        w->checksum += buffer[100] + round;
    }
    printf("worker %d finished\n", w->id);
}

static void nothing(void *arg) { (void)arg; }

int main(void) {
    int n = 10;
    fiber *gen = fiber_new(squares, &n);
    int sum = 0;
    for (;;) {
        int value = fiber_resume(gen, 0);
        if (fiber_done(gen))
            break;
        sum += value;
    }
    fiber_free(gen);
    printf("sum of the first %d squares: %d\n", n, sum);

    struct worker workers[3] = {{0, 2, 0}, {1, 4, 0}, {2, 3, 0}};
    fiber *fibers[3];
    for (int i = 0; i < 3; i++)
        fibers[i] = fiber_new(work, &workers[i]);
    for (int live = 3; live > 0;) {
        live = 0;
        for (int i = 0; i < 3; i++) {
            if (fiber_done(fibers[i]))
                continue;
            fiber_resume(fibers[i], 0);
            live += !fiber_done(fibers[i]);
        }
    }
    for (int i = 0; i < 3; i++) {
        printf("worker %d checksum %ld\n", i, workers[i].checksum);
        fiber_free(fibers[i]);
    }

    int created = 0;
    for (int i = 0; i < 100000; i++) {
        fiber *f = fiber_new(nothing, NULL);
        fiber_resume(f, 0);
        created += fiber_done(f);
        fiber_free(f);
    }
    printf("%d short-lived fibers ran to completion\n", created);
    return overwritten || created != 100000;
}
