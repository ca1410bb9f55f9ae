// SIMD through wasm_simd128.h (built with -msimd128): integer and float
// lane arithmetic, a dot product, shuffles and a swizzle, saturating
// operations and conversions, loads and stores. Prints one line of results.
#include <stdint.h>
#include <stdio.h>
#include <wasm_simd128.h>

// Read at run time, so that clang cannot compute the results itself and
// leave no SIMD operators to run.
static volatile int one = 1;

// The four i32 lanes added up: swap halves, then neighbours.
static int32_t lane_sum(v128_t v) {
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_i32x4_extract_lane(v, 0);
}

int main(void) {
    int k = one;
    int32_t ints[64];
    int16_t a[16], b[16];
    float floats[8];
    char letters[17] = {0};
    for (int i = 0; i < 64; i++)
        ints[i] = (i + 1) * k;
    for (int i = 0; i < 16; i++) {
        a[i] = (int16_t)((i - 8) * k);
        b[i] = (int16_t)((3 * i + 1) * k);
        letters[i] = (char)('a' + i * k);
    }
    for (int i = 0; i < 8; i++)
        floats[i] = (1.5f * i - 4.0f) * k; // -4 -2.5 -1 0.5 2 3.5 5 6.5

    // 1 + 2 + ... + 64 in four lanes.
    v128_t acc = wasm_i32x4_splat(0);
    for (int i = 0; i < 64; i += 4)
        acc = wasm_i32x4_add(acc, wasm_v128_load(&ints[i]));
    int32_t sum = lane_sum(acc);

    // The sum of a[i] * b[i], 16 i16 products added in pairs into i32 lanes.
    int32_t dot = lane_sum(wasm_i32x4_add(
        wasm_i32x4_dot_i16x8(wasm_v128_load(&a[0]), wasm_v128_load(&b[0])),
        wasm_i32x4_dot_i16x8(wasm_v128_load(&a[8]), wasm_v128_load(&b[8]))));

    // Largest and smallest float, and the Euclidean norm of all eight.
    v128_t low = wasm_v128_load(&floats[0]), high = wasm_v128_load(&floats[4]);
    v128_t top = wasm_f32x4_max(low, high), bottom = wasm_f32x4_min(low, high);
    top = wasm_f32x4_max(top, wasm_i32x4_shuffle(top, top, 2, 3, 0, 1));
    top = wasm_f32x4_max(top, wasm_i32x4_shuffle(top, top, 1, 0, 3, 2));
    bottom = wasm_f32x4_min(bottom, wasm_i32x4_shuffle(bottom, bottom, 2, 3, 0, 1));
    bottom = wasm_f32x4_min(bottom, wasm_i32x4_shuffle(bottom, bottom, 1, 0, 3, 2));
    v128_t squares = wasm_f32x4_add(wasm_f32x4_mul(low, low), wasm_f32x4_mul(high, high));
    squares = wasm_f32x4_add(squares, wasm_i32x4_shuffle(squares, squares, 2, 3, 0, 1));
    squares = wasm_f32x4_add(squares, wasm_i32x4_shuffle(squares, squares, 1, 0, 3, 2));
    float norm = wasm_f32x4_extract_lane(wasm_f32x4_sqrt(squares), 0);

    // The letters reversed by a shuffle, stored back as a string.
    char reversed[17] = {0};
    v128_t text = wasm_v128_load(letters);
    wasm_v128_store(reversed, wasm_i8x16_shuffle(text, text, 15, 14, 13, 12, 11, 10, 9, 8, 7,
                                                 6, 5, 4, 3, 2, 1, 0));

    // A swizzle gives 0 for any index of 16 or more, 112 too (its low four
    // bits alone would pick lane 0): those print as '.'.
    char picked[17] = {0};
    wasm_v128_store(picked, wasm_i8x16_swizzle(text, wasm_i8x16_make(0, 15, 16, 112, (int8_t)200,
                                                                     7, 0, 0, 0, 0, 0, 0, 0, 0,
                                                                     0, 0)));
    for (int i = 0; i < 6; i++)
        picked[i] = picked[i] ? picked[i] : '.';
    picked[6] = 0;

    // Which letters come after 'h', one bit per lane.
    uint32_t mask = wasm_i8x16_bitmask(wasm_i8x16_gt(text, wasm_i8x16_splat('h')));

    // Saturation: u8 addition, and i32 -> i16 narrowing.
    uint8_t sat = wasm_u8x16_extract_lane(
        wasm_u8x16_add_sat(wasm_u8x16_splat((uint8_t)(250 * k)), wasm_u8x16_splat(10)), 0);
    v128_t narrow = wasm_i16x8_narrow_i32x4(wasm_i32x4_make(70000 * k, -70000 * k, 5 * k, -5 * k),
                                            wasm_i32x4_splat(0));

    // Float -> int conversion saturates, and takes NaN to 0.
    float zero = 0.0f * k;
    v128_t truncated = wasm_i32x4_trunc_sat_f32x4(
        wasm_f32x4_make(3.7f * k, -2.5f * k, 1e10f * k, zero / zero));

    printf("sum=%d dot=%d max=%.1f min=%.1f norm=%.4f rev=%s swizzle=%s mask=0x%x "
           "sat=%u narrow=%d,%d,%d,%d trunc=%d,%d,%d,%d\n",
           sum, dot, wasm_f32x4_extract_lane(top, 0), wasm_f32x4_extract_lane(bottom, 0), norm,
           reversed, picked, mask, sat, wasm_i16x8_extract_lane(narrow, 0),
           wasm_i16x8_extract_lane(narrow, 1), wasm_i16x8_extract_lane(narrow, 2),
           wasm_i16x8_extract_lane(narrow, 3), wasm_i32x4_extract_lane(truncated, 0),
           wasm_i32x4_extract_lane(truncated, 1), wasm_i32x4_extract_lane(truncated, 2),
           wasm_i32x4_extract_lane(truncated, 3));
    return 0;
}
