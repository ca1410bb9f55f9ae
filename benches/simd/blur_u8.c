// A 3x3 Gaussian blur ([1 2 1] across, then down, divided by 16 with
// rounding) of a 1024x1024 8-bit image: plain C loops that clang
// auto-vectorizes with -msimd128, widening the u8 pixels to u16 sums and
// narrowing the results back to u8. Every round changes one source pixel,
// so no round repeats another. The last round is checked against the 3x3
// kernel applied directly, pixel by pixel; a difference traps.
#include <stddef.h>
#include <stdint.h>

#define W 1024
#define H 1024
#define ROUNDS 2500

static uint8_t image[H][W];
static uint16_t across[H][W]; // the horizontal pass: at most 4 * 255
static uint8_t blurred[H][W];

// The border stays as it is (zero): only the interior has 3x3 neighbours.
static void blur(void) {
    for (size_t y = 0; y < H; y++) {
        // Three pointers rather than image[y][x - 1], [x], [x + 1]: with
        // those, clang 14 keeps loaded pixels for the next iterations and
        // then gives up vectorizing the loop.
        const uint8_t *left = image[y], *mid = left + 1, *right = left + 2;
        for (size_t x = 0; x < W - 2; x++)
            across[y][x + 1] = left[x] + 2 * mid[x] + right[x];
    }
    for (size_t y = 1; y < H - 1; y++)
        for (size_t x = 1; x < W - 1; x++) {
            // A u16 sum (at most 16 * 255 + 8), so that the vector lanes
            // are 16 bits wide rather than those of C's int.
            uint16_t sum = across[y - 1][x] + 2 * across[y][x] + across[y + 1][x] + 8;
            blurred[y][x] = (uint8_t)(sum >> 4);
        }
}

// One output pixel, straight from the source.
static uint8_t blurred_pixel(size_t y, size_t x) {
    static const int weights[3] = {1, 2, 1};
    int sum = 0;
    for (int dy = 0; dy < 3; dy++)
        for (int dx = 0; dx < 3; dx++)
            sum += weights[dy] * weights[dx] * image[y + dy - 1][x + dx - 1];
    return (uint8_t)((sum + 8) >> 4);
}

void _start(void) {
    uint32_t state = 31337;
    for (size_t y = 0; y < H; y++)
        for (size_t x = 0; x < W; x++) {
            state = state * 1103515245u + 12345u;
            image[y][x] = (uint8_t)(state >> 24);
        }

    for (uint32_t round = 0; round < ROUNDS; round++) {
        image[round * 7 % H][round * 13 % W] += 1;
        blur();
    }

    for (size_t y = 1; y < H - 1; y++)
        for (size_t x = 1; x < W - 1; x++)
            if (blurred[y][x] != blurred_pixel(y, x))
                __builtin_trap();
}
