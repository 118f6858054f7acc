/*
 * crc32c_sse42.h - CRC32C with the SSE4.2 crc32 instruction, shared by the x86 tier units.
 *
 * The crc32 instruction is the CRC32C update itself (no init/final inversion): 8 bytes per
 * instruction, one per cycle, but 3 cycles of latency. One chain therefore runs at a third of
 * the instruction's throughput; three independent chains over three adjacent blocks keep it
 * busy, and the three results are merged with one carry-less multiply each (the multipliers
 * and the math are in scripts/gen_crc32c_tables.py). Every x86 tier uses it for inputs too
 * short to fold and for what is left after folding.
 *
 * Include only from a unit compiled with SSE4.2 and PCLMULQDQ enabled; everything here is
 * static. Values are raw CRC states: the caller applies the zlib-style inversions.
 */
#ifndef IBC_CRC32C_SSE42_H
#define IBC_CRC32C_SSE42_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crc32c_tables.h"

#define IBC_NOINLINE __attribute__((noinline))

/* Below this many bytes one chain is as fast as anything, and the kernels take it directly. */
#define CRC32C_SHORT 64

static inline uint64_t crc32c_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* One chain, any length. For short inputs and tails. */
static inline uint32_t crc32c_sse42_serial(uint32_t c, const uint8_t *p, size_t len)
{
    uint64_t c64 = c;
    for (; len >= 8; p += 8, len -= 8)
        c64 = _mm_crc32_u64(c64, crc32c_load64(p));
    c = (uint32_t)c64;
    if (len & 4) {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        c = _mm_crc32_u32(c, v);
        p += 4;
    }
    if (len & 2) {
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        c = _mm_crc32_u16(c, v);
        p += 2;
    }
    if (len & 1)
        c = _mm_crc32_u8(c, *p);
    return c;
}

/*
 * Three chains over the blocks [0, n), [n, 2n), [2n, 3n) of p (n a positive multiple of 8),
 * merged: crc = A x^(16n) + B x^(8n) + C. The shifted A and B (k = {x^(16n), x^(8n)}
 * multipliers) are XORed into C's last qword before C's last crc32, which saves one crc32 in
 * the merge: crc32q(c, w ^ q) = crc32q(c, w) ^ crc32q(0, q).
 */
static inline uint32_t crc32c_3way_block(uint32_t c, const uint8_t *p, size_t n,
                                         const uint64_t k[2])
{
    const uint8_t *end = p + n - 8;
    uint64_t a = c, b = 0, d = 0;
    for (; p < end; p += 8) {
        a = _mm_crc32_u64(a, crc32c_load64(p));
        b = _mm_crc32_u64(b, crc32c_load64(p + n));
        d = _mm_crc32_u64(d, crc32c_load64(p + 2 * n));
    }
    a = _mm_crc32_u64(a, crc32c_load64(p));
    b = _mm_crc32_u64(b, crc32c_load64(p + n));
    __m128i kv = _mm_loadu_si128((const __m128i *)k);
    __m128i q = _mm_xor_si128(_mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)a), kv, 0x00),
                              _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)b), kv, 0x10));
    uint64_t w = crc32c_load64(p + 2 * n) ^ (uint64_t)_mm_cvtsi128_si64(q);
    return (uint32_t)_mm_crc32_u64(d, w);
}

/* The 3-way kernel, any length: rounds of 3 x n bytes with the largest n the 64-byte table
 * has while the small table cannot cover the rest, then one round of 3 x (a multiple of 8)
 * bytes, then one chain for the last < 24 bytes. Not inlined: callers keep a short path. */
static IBC_NOINLINE uint32_t crc32c_sse42_3way(uint32_t c, const uint8_t *p, size_t len)
{
    while (len >= 3 * 8 * (CRC32C_3WAY_K8_MAX + 1)) {
        size_t i = len / (3 * 64);
        if (i > CRC32C_3WAY_K64_MAX)
            i = CRC32C_3WAY_K64_MAX;
        c = crc32c_3way_block(c, p, 64 * i, crc32c_3way_k64[i - 1]);
        p += 3 * 64 * i;
        len -= 3 * 64 * i;
    }
    if (len >= 3 * 8) {
        size_t i = len / (3 * 8);
        c = crc32c_3way_block(c, p, 8 * i, crc32c_3way_k8[i - 1]);
        p += 3 * 8 * i;
        len -= 3 * 8 * i;
    }
    return crc32c_sse42_serial(c, p, len);
}

#endif
