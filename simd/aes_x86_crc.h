/*
 * aes_x86_crc.h - CRC32C with the SSE4.2 crc32 instruction, in the shapes the fused AES
 * kernels need: several independent chains over consecutive pieces, joined by a carry-less
 * multiply (PCLMULQDQ) by x^(8d) mod P.
 *
 * The crc32 instruction has a latency of 3 cycles and a throughput of 1 per cycle, so one
 * chain runs at a third of its peak; three chains over three pieces of a buffer run at full
 * speed and cost one join per piece triple. All values here are "raw" CRC registers: the
 * zlib-style inversion (simd.h) is applied by the kernel entry points, not here.
 *
 * The fused kernels work in steps of IBC_CRC_STEP = 512 bytes, split into pieces of 21, 21
 * and 22 qwords; each chain starts at 0 and the step is joined to the running value with
 *   crc' = crc * x^4096 + c0 * x^(8*344) + c1 * x^(8*176) + c2.
 * Shift constants come from aes_x86_crc_consts.h (scripts/gen_aes_x86_crc_consts.py).
 *
 * Included by each x86 tier unit (compiled with SSE4.2 and PCLMUL at least); all static.
 */
#ifndef IBC_AES_X86_CRC_H
#define IBC_AES_X86_CRC_H

#include <immintrin.h>
#include <string.h>

#include "aes_x86_crc_consts.h"

#define IBC_CRC_STEP 512 /* bytes per fused step */
#define IBC_CRC_Q0 21    /* qwords of the three pieces of a step */
#define IBC_CRC_Q1 21
#define IBC_CRC_Q2 22

static inline uint64_t crcx_ld(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* One qword into the chain. */
static inline uint32_t crcx_q(uint32_t c, const uint8_t *p)
{
    return (uint32_t)_mm_crc32_u64(c, crcx_ld(p));
}

/* c * x^(64q) as an unreduced 64-bit word; XOR such words, then crcx_red() once. */
static inline uint64_t crcx_mul(uint32_t c, unsigned q)
{
    __m128i a = _mm_cvtsi32_si128((int)c);
    __m128i b = _mm_cvtsi64_si128((long long)ibc_crc_shift_k[q]);
    return (uint64_t)_mm_cvtsi128_si64(_mm_clmulepi64_si128(a, b, 0x00));
}

static inline uint32_t crcx_red(uint64_t w)
{
    return (uint32_t)_mm_crc32_u64(0, w);
}

/* Raw CRC32C of len bytes, continuing c. */
static inline uint32_t crcx_raw(uint32_t c, const uint8_t *p, size_t len)
{
    while (len >= IBC_CRC_STEP) {
        uint32_t c0 = 0, c1 = 0, c2 = 0;
        const uint8_t *p1 = p + 8 * IBC_CRC_Q0, *p2 = p1 + 8 * IBC_CRC_Q1;
        for (int i = 0; i < IBC_CRC_Q0; i++) {
            c0 = crcx_q(c0, p + 8 * i);
            c1 = crcx_q(c1, p1 + 8 * i);
            c2 = crcx_q(c2, p2 + 8 * i);
        }
        c2 = crcx_q(c2, p2 + 8 * IBC_CRC_Q0);
        c = crcx_red(crcx_mul(c, 64) ^ crcx_mul(c0, IBC_CRC_Q1 + IBC_CRC_Q2) ^
                     crcx_mul(c1, IBC_CRC_Q2)) ^
            c2;
        p += IBC_CRC_STEP;
        len -= IBC_CRC_STEP;
    }
    if (len >= 24) {
        /* Three chains of q qwords each; c0 continues c. */
        size_t q = len / 24;
        uint32_t c1 = 0, c2 = 0;
        const uint8_t *p1 = p + 8 * q, *p2 = p1 + 8 * q;
        for (size_t i = 0; i < q; i++) {
            c = crcx_q(c, p + 8 * i);
            c1 = crcx_q(c1, p1 + 8 * i);
            c2 = crcx_q(c2, p2 + 8 * i);
        }
        c = crcx_red(crcx_mul(c, (unsigned)(2 * q)) ^ crcx_mul(c1, (unsigned)q)) ^ c2;
        p += 24 * q;
        len -= 24 * q;
    }
    for (; len >= 8; len -= 8, p += 8)
        c = crcx_q(c, p);
    for (; len; len--)
        c = _mm_crc32_u8(c, *p++);
    return c;
}

#endif
