// Base64 encode and decode of a 48 KiB buffer and a four-lane hash, with
// wasm_simd128.h intrinsics: byte shuffles, swizzle table lookups, u8
// range compares, i16x8 and i32x4 shifts, an i32x4 dot product of i16
// lanes, i32x4 multiplies. Every round changes one input byte, encodes,
// decodes and checks that the hash of the decoded bytes is the input's.
// At the end the encoder, decoder and hash are checked against scalar
// versions; any difference traps.
#include <stddef.h>
#include <stdint.h>
#include <wasm_simd128.h>

#define BYTES (48 * 1024) // a multiple of 12: the encoder takes 12 at a time
#define CHARS (BYTES / 3 * 4)
#define ROUNDS 20000

// 4 bytes of slack: the encoder loads 16 bytes for every 12 it uses, the
// decoder stores 16 for every 12 it produces.
static uint8_t input[BYTES + 4];
static uint8_t decoded[BYTES + 4];
static char text[CHARS];
static char expected_text[CHARS];

static const char alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 12 bytes -> 16 characters at a time.
static void encode(const uint8_t *in, size_t len, char *out) {
    const v128_t quarter0 = wasm_v128_load(alphabet);
    const v128_t quarter1 = wasm_v128_load(alphabet + 16);
    const v128_t quarter2 = wasm_v128_load(alphabet + 32);
    const v128_t quarter3 = wasm_v128_load(alphabet + 48);
    for (size_t i = 0; i < len; i += 12, out += 16) {
        v128_t bytes = wasm_v128_load(in + i);
        // Each 3-byte group b0 b1 b2 spread over a 32-bit lane as
        // b1 b0 b2 b1: then every 6-bit field is whole in the lane.
        v128_t v = wasm_i8x16_shuffle(bytes, bytes, 1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8,
                                      7, 10, 9, 11, 10);
        // Move the four fields to the four bytes of the lane, in order.
        v128_t sextets = wasm_v128_or(
            wasm_v128_or(wasm_v128_and(wasm_u32x4_shr(v, 10), wasm_i32x4_splat(0x3f)),
                         wasm_v128_and(wasm_i32x4_shl(v, 4), wasm_i32x4_splat(0x3f00))),
            wasm_v128_or(wasm_v128_and(wasm_u32x4_shr(v, 6), wasm_i32x4_splat(0x3f0000)),
                         wasm_v128_and(wasm_i32x4_shl(v, 8), wasm_i32x4_splat(0x3f000000))));
        // A 64-entry lookup as four 16-entry swizzles: a swizzle gives 0
        // for an index of 16 or more, so only the right quarter answers
        // (an index below the quarter wraps to 240 and up).
        v128_t ascii = wasm_v128_or(
            wasm_v128_or(wasm_i8x16_swizzle(quarter0, sextets),
                         wasm_i8x16_swizzle(quarter1, wasm_i8x16_sub(sextets, wasm_i8x16_splat(16)))),
            wasm_v128_or(wasm_i8x16_swizzle(quarter2, wasm_i8x16_sub(sextets, wasm_i8x16_splat(32))),
                         wasm_i8x16_swizzle(quarter3, wasm_i8x16_sub(sextets, wasm_i8x16_splat(48)))));
        wasm_v128_store(out, ascii);
    }
}

// 16 characters -> 12 bytes at a time; 0 if a character is not in the
// alphabet.
static int decode(const char *in, size_t len, uint8_t *out) {
    for (size_t i = 0; i < len; i += 16, out += 12) {
        v128_t c = wasm_v128_load(in + i);
        v128_t upper = wasm_v128_and(wasm_u8x16_ge(c, wasm_u8x16_splat('A')),
                                     wasm_u8x16_le(c, wasm_u8x16_splat('Z')));
        v128_t lower = wasm_v128_and(wasm_u8x16_ge(c, wasm_u8x16_splat('a')),
                                     wasm_u8x16_le(c, wasm_u8x16_splat('z')));
        v128_t digit = wasm_v128_and(wasm_u8x16_ge(c, wasm_u8x16_splat('0')),
                                     wasm_u8x16_le(c, wasm_u8x16_splat('9')));
        v128_t plus = wasm_i8x16_eq(c, wasm_u8x16_splat('+'));
        v128_t slash = wasm_i8x16_eq(c, wasm_u8x16_splat('/'));
        v128_t known = wasm_v128_or(wasm_v128_or(upper, lower),
                                    wasm_v128_or(digit, wasm_v128_or(plus, slash)));
        if (!wasm_i8x16_all_true(known))
            return 0;
        // What each class adds to a character to get its 6-bit value.
        v128_t offset = wasm_v128_or(
            wasm_v128_or(wasm_v128_and(upper, wasm_i8x16_splat(-'A')),
                         wasm_v128_and(lower, wasm_i8x16_splat(26 - 'a'))),
            wasm_v128_or(wasm_v128_and(digit, wasm_i8x16_splat(52 - '0')),
                         wasm_v128_or(wasm_v128_and(plus, wasm_i8x16_splat(62 - '+')),
                                      wasm_v128_and(slash, wasm_i8x16_splat(63 - '/')))));
        v128_t sextets = wasm_i8x16_add(c, offset);
        // Pairs of sextets s0 s1 in each 16-bit lane -> s0 << 6 | s1.
        v128_t pairs =
            wasm_v128_or(wasm_i16x8_shl(wasm_v128_and(sextets, wasm_i16x8_splat(0xff)), 6),
                         wasm_u16x8_shr(sextets, 8));
        // Pairs of those p0 p1 in each 32-bit lane -> p0 << 12 | p1: the
        // dot product multiplies and adds neighbouring 16-bit lanes.
        v128_t groups = wasm_i32x4_dot_i16x8(pairs, wasm_i32x4_splat(1 << 16 | 1 << 12));
        // Each lane holds its 3 bytes big-endian: take them in order.
        v128_t bytes = wasm_i8x16_shuffle(groups, groups, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14,
                                          13, 12, 3, 7, 11, 15);
        wasm_v128_store(out, bytes);
    }
    return 1;
}

// A hash in the style of xxHash32's main loop: four 32-bit lanes, each
// taking one word of every 16 bytes, mixed by multiply and rotate.
#define PRIME1 0x9E3779B1u
#define PRIME2 0x85EBCA77u
#define PRIME3 0xC2B2AE3Du

static uint32_t rotl(uint32_t x, int r) { return x << r | x >> (32 - r); }

// Merges the four lanes into one value.
static uint32_t merge(uint32_t l0, uint32_t l1, uint32_t l2, uint32_t l3) {
    uint32_t h = rotl(l0, 1) + rotl(l1, 7) + rotl(l2, 12) + rotl(l3, 18);
    h ^= h >> 15;
    h *= PRIME2;
    h ^= h >> 13;
    return h;
}

static uint32_t hash(const uint8_t *bytes, size_t len) {
    v128_t lanes = wasm_u32x4_make(PRIME1 + PRIME2, PRIME2, 0, -PRIME1);
    for (size_t i = 0; i < len; i += 16) {
        v128_t words = wasm_v128_load(bytes + i);
        lanes = wasm_i32x4_add(lanes, wasm_i32x4_mul(words, wasm_u32x4_splat(PRIME2)));
        lanes = wasm_v128_or(wasm_i32x4_shl(lanes, 13), wasm_u32x4_shr(lanes, 19));
        lanes = wasm_i32x4_mul(lanes, wasm_u32x4_splat(PRIME1));
    }
    lanes = wasm_v128_xor(lanes, wasm_u32x4_shr(lanes, 16));
    lanes = wasm_i32x4_mul(lanes, wasm_u32x4_splat(PRIME3));
    return merge(wasm_u32x4_extract_lane(lanes, 0), wasm_u32x4_extract_lane(lanes, 1),
                 wasm_u32x4_extract_lane(lanes, 2), wasm_u32x4_extract_lane(lanes, 3));
}

// The scalar references.

static void encode_scalar(const uint8_t *in, size_t len, char *out) {
    for (size_t i = 0; i < len; i += 3) {
        uint32_t group = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = alphabet[group >> 18];
        *out++ = alphabet[group >> 12 & 63];
        *out++ = alphabet[group >> 6 & 63];
        *out++ = alphabet[group & 63];
    }
}

static uint32_t hash_scalar(const uint8_t *bytes, size_t len) {
    uint32_t lanes[4] = {PRIME1 + PRIME2, PRIME2, 0, -PRIME1};
    for (size_t i = 0; i < len; i += 4) {
        uint32_t word = (uint32_t)bytes[i] | (uint32_t)bytes[i + 1] << 8 |
                        (uint32_t)bytes[i + 2] << 16 | (uint32_t)bytes[i + 3] << 24;
        uint32_t *lane = &lanes[i / 4 % 4];
        *lane = rotl(*lane + word * PRIME2, 13) * PRIME1;
    }
    for (int l = 0; l < 4; l++)
        lanes[l] = (lanes[l] ^ lanes[l] >> 16) * PRIME3;
    return merge(lanes[0], lanes[1], lanes[2], lanes[3]);
}

void _start(void) {
    uint32_t state = 7;
    for (size_t i = 0; i < BYTES; i++) {
        state = state * 1103515245u + 12345u;
        input[i] = (uint8_t)(state >> 24);
    }

    for (uint32_t round = 0; round < ROUNDS; round++) {
        input[round * 7919 % BYTES] += 1;
        encode(input, BYTES, text);
        if (!decode(text, CHARS, decoded) || hash(decoded, BYTES) != hash(input, BYTES))
            __builtin_trap();
    }

    encode_scalar(input, BYTES, expected_text);
    for (size_t i = 0; i < CHARS; i++)
        if (text[i] != expected_text[i])
            __builtin_trap();
    for (size_t i = 0; i < BYTES; i++)
        if (decoded[i] != input[i])
            __builtin_trap();
    if (hash(input, BYTES) != hash_scalar(input, BYTES))
        __builtin_trap();
    // A character outside the alphabet is refused.
    text[CHARS / 2] = '=';
    if (decode(text, CHARS, decoded))
        __builtin_trap();
}
