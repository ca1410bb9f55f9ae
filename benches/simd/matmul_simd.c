// f32 matrix multiply with wasm_simd128.h intrinsics: splats, f32x4 mul
// and add, v128 loads and stores. A power iteration, X <- A * X scaled
// back into [-1, 1], so every product depends on the one before and none
// can be skipped. The last product is checked bit for bit against a
// scalar one that adds in the same order (wasm has no fused multiply-add,
// so both round the same way); a wrong result traps.
#include <stdint.h>
#include <wasm_simd128.h>

#define N 256
#define ROUNDS 600

static float a[N][N], x[N][N], c[N][N];
// X packed in panels of 8 columns, [panel][k][0..8], so that the kernel
// reads each panel contiguously instead of striding down the columns.
static float packed[N / 8][N][8];

static uint32_t lcg_state = 12345;

// A value in [-1, 1) from a linear congruential generator.
static float next_value(void) {
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (float)(lcg_state >> 8) / (float)(1 << 23) - 1.0f;
}

static void pack(void) {
    for (int p = 0; p < N / 8; p++)
        for (int k = 0; k < N; k++)
            for (int j = 0; j < 8; j++)
                packed[p][k][j] = x[k][p * 8 + j];
}

// C = A * X for a block of 4 rows by 8 columns at a time: eight f32x4
// accumulators stay in registers over the whole k loop.
static void multiply(void) {
    pack();
    for (int i = 0; i < N; i += 4) {
        for (int p = 0; p < N / 8; p++) {
            v128_t acc[4][2];
            for (int r = 0; r < 4; r++)
                acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);
            for (int k = 0; k < N; k++) {
                v128_t lo = wasm_v128_load(&packed[p][k][0]);
                v128_t hi = wasm_v128_load(&packed[p][k][4]);
                for (int r = 0; r < 4; r++) {
                    v128_t s = wasm_f32x4_splat(a[i + r][k]);
                    acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(s, lo));
                    acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(s, hi));
                }
            }
            for (int r = 0; r < 4; r++) {
                wasm_v128_store(&c[i + r][p * 8], acc[r][0]);
                wasm_v128_store(&c[i + r][p * 8 + 4], acc[r][1]);
            }
        }
    }
}

// X = C / max|C|, with f32x4 abs and max for the scan.
static void rescale(void) {
    v128_t top = wasm_f32x4_splat(0.0f);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j += 4)
            top = wasm_f32x4_max(top, wasm_f32x4_abs(wasm_v128_load(&c[i][j])));
    // The largest of the four lanes: swap halves, then neighbours.
    top = wasm_f32x4_max(top, wasm_i32x4_shuffle(top, top, 2, 3, 0, 1));
    top = wasm_f32x4_max(top, wasm_i32x4_shuffle(top, top, 1, 0, 3, 2));
    float m = wasm_f32x4_extract_lane(top, 0);
    v128_t scale = wasm_f32x4_splat(1.0f / m);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j += 4)
            wasm_v128_store(&x[i][j], wasm_f32x4_mul(wasm_v128_load(&c[i][j]), scale));
}

void _start(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = next_value();
            x[i][j] = next_value();
        }

    // The last round leaves X alone: it is the input the check needs.
    for (int round = 0; round < ROUNDS; round++) {
        multiply();
        if (round < ROUNDS - 1)
            rescale();
    }

    // The scalar reference: the same sums over k, in the same order.
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < N; k++)
                sum += a[i][k] * x[k][j];
            if (sum != c[i][j])
                __builtin_trap();
        }
}
