// Counting a byte in a 1 MiB window, once for every byte value: a plain C
// loop that clang auto-vectorizes with -msimd128 (i8x16 compares, the
// matches widened into i32x4 counters). Each count is checked against a
// histogram built by a scalar loop that clang cannot vectorize; a wrong
// count traps.
#include <stddef.h>
#include <stdint.h>

#define WINDOW (1 << 20)
#define ROUNDS 16

// The window slides one byte per round, so no round repeats another.
static uint8_t buffer[WINDOW + ROUNDS];
static uint32_t histogram[256];

static uint32_t count_byte(const uint8_t *bytes, size_t len, uint8_t needle) {
    uint32_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += bytes[i] == needle;
    return count;
}

void _start(void) {
    // Bytes from a linear congruential generator: its high bits.
    uint32_t state = 2024;
    for (size_t i = 0; i < sizeof buffer; i++) {
        state = state * 1103515245u + 12345u;
        buffer[i] = (uint8_t)(state >> 24);
    }
    for (size_t i = 0; i < WINDOW; i++)
        histogram[buffer[i]]++;

    for (int round = 0; round < ROUNDS; round++) {
        for (int needle = 0; needle < 256; needle++)
            if (count_byte(buffer + round, WINDOW, (uint8_t)needle) != histogram[needle])
                __builtin_trap();
        // Slide: the byte leaving the window and the one entering it.
        histogram[buffer[round]]--;
        histogram[buffer[round + WINDOW]]++;
    }
}
