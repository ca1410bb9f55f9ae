// Integer dot products as in quantized inference, with wasm_simd128.h
// intrinsics: a 512x512 matrix times a vector, once with i16 entries
// (i32x4.dot_i16x8_s) and once with i8 entries (i16x8.extmul of i8 lanes,
// then i32x4.extadd_pairwise); the sums are shifted down and narrowed with
// saturation (i16x8.narrow_i32x4_s, i8x16.narrow_i16x8_s). Every round
// changes one entry of each vector, so no round repeats another. The last
// round is checked against scalar code; a difference traps.
#include <stdint.h>
#include <wasm_simd128.h>

#define N 512
#define ROUNDS 25000
// Shifts that leave a fair share of the results saturated.
#define SHIFT16 9
#define SHIFT8 8

static int16_t w16[N][N];
static int8_t w8[N][N];
static int16_t x16[N], out16[N];
static int8_t x8[N], out8[N];
// The sums of the latest round, before narrowing.
static int32_t y16[N], y8[N];

static uint32_t lcg_state = 99;

static uint32_t next_random(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 16;
}

// The sum of the four i32 lanes.
static int32_t lane_sum(v128_t v) {
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_i32x4_extract_lane(v, 0);
}

static void product16(void) {
    for (int i = 0; i < N; i++) {
        v128_t acc = wasm_i32x4_splat(0);
        for (int j = 0; j < N; j += 8)
            acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_v128_load(&w16[i][j]),
                                                           wasm_v128_load(&x16[j])));
        y16[i] = lane_sum(acc);
    }
    // Shift and narrow 8 sums at a time: i32 -> i16, saturating.
    for (int i = 0; i < N; i += 8) {
        v128_t lo = wasm_i32x4_shr(wasm_v128_load(&y16[i]), SHIFT16);
        v128_t hi = wasm_i32x4_shr(wasm_v128_load(&y16[i + 4]), SHIFT16);
        wasm_v128_store(&out16[i], wasm_i16x8_narrow_i32x4(lo, hi));
    }
}

static void product8(void) {
    for (int i = 0; i < N; i++) {
        v128_t acc = wasm_i32x4_splat(0);
        for (int j = 0; j < N; j += 16) {
            v128_t w = wasm_v128_load(&w8[i][j]);
            v128_t v = wasm_v128_load(&x8[j]);
            // i8 * i8 always fits in i16; pairs of products are then
            // added into i32 lanes.
            acc = wasm_i32x4_add(acc, wasm_i32x4_extadd_pairwise_i16x8(
                                          wasm_i16x8_extmul_low_i8x16(w, v)));
            acc = wasm_i32x4_add(acc, wasm_i32x4_extadd_pairwise_i16x8(
                                          wasm_i16x8_extmul_high_i8x16(w, v)));
        }
        y8[i] = lane_sum(acc);
    }
    // 16 sums at a time: i32 -> i16 -> i8, saturating at each step.
    for (int i = 0; i < N; i += 16) {
        v128_t s[4];
        for (int q = 0; q < 4; q++)
            s[q] = wasm_i32x4_shr(wasm_v128_load(&y8[i + 4 * q]), SHIFT8);
        wasm_v128_store(&out8[i], wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(s[0], s[1]),
                                                           wasm_i16x8_narrow_i32x4(s[2], s[3])));
    }
}

static int32_t saturate(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

void _start(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            w16[i][j] = (int16_t)(next_random() % 128) - 64;
            w8[i][j] = (int8_t)(next_random() % 64) - 32;
        }
    for (int j = 0; j < N; j++) {
        x16[j] = (int16_t)next_random();
        x8[j] = (int8_t)next_random();
    }

    for (int round = 0; round < ROUNDS; round++) {
        x16[round % N] += 1;
        x8[round % N] += 1;
        product16();
        product8();
    }

    // The scalar reference for the last round.
    for (int i = 0; i < N; i++) {
        int32_t sum16 = 0, sum8 = 0;
        for (int j = 0; j < N; j++) {
            sum16 += w16[i][j] * x16[j];
            sum8 += w8[i][j] * x8[j];
        }
        if (sum16 != y16[i] || out16[i] != saturate(sum16 >> SHIFT16, INT16_MIN, INT16_MAX))
            __builtin_trap();
        if (sum8 != y8[i] || out8[i] != saturate(sum8 >> SHIFT8, INT8_MIN, INT8_MAX))
            __builtin_trap();
    }
}
