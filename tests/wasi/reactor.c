// A WASI reactor: no main; `_initialize` runs the constructors before the
// host calls an export.
#include <stdio.h>

static int base;

__attribute__((constructor)) static void set_up(void) { base = 40; }

__attribute__((export_name("answer"))) int answer(int x) {
    printf("answering %d\n", x);
    fflush(stdout);
    return base + x;
}
