/*
 * aes_x86_crc.h - CRC32C with the SSE4.2 crc32 instruction, in the shapes the fused AES
 * kernels need: several independent chains over consecutive pieces, joined by a carry-less
 * multiply (PCLMULQDQ) by x^(8d) mod P.
 *
 * The crc32 instruction has a latency of 3 cycles and a throughput of 1 per cycle (Zen 3, Zen
 * 4; the Zen 5 issues 2 per cycle, measured: six chains run twice as fast as three), so one
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

/* One qword into the chain. An asm statement with a memory operand, and volatile: the load
 * stays inside the crc32 (no separate load for the compiler to hoist and spill) and the
 * statement stays where the kernel placed it between the AES rounds (volatile asm statements
 * keep their order; see v_key in aes_vaes_template.h). */
typedef uint64_t crcx_u64_unaligned __attribute__((may_alias, aligned(1)));
static inline uint64_t crcx_q(uint64_t c, const uint8_t *p)
{
    __asm__ volatile("crc32q %1, %0" : "+r"(c) : "m"(*(const crcx_u64_unaligned *)(const void *)p));
    return c;
}

/* c * x^(64q) as an unreduced 64-bit word; XOR such words, then crcx_red() once. */
static inline uint64_t crcx_mul(uint64_t c, unsigned q)
{
    __m128i a = _mm_cvtsi32_si128((int)c);
    __m128i b = _mm_cvtsi64_si128((long long)ibc_crc_shift_k[q]);
    return (uint64_t)_mm_cvtsi128_si64(_mm_clmulepi64_si128(a, b, 0x00));
}

static inline uint64_t crcx_red(uint64_t w)
{
    return _mm_crc32_u64(0, w);
}

/* Raw CRC32C of len bytes, continuing c. Chain values are kept in 64-bit registers (the
 * crc32 instruction's destination; the upper half is always 0). */
static inline uint32_t crcx_raw(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = crc;
    while (len >= IBC_CRC_STEP) {
        uint64_t c0 = 0, c1 = 0, c2 = 0;
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
        uint64_t c1 = 0, c2 = 0;
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
    uint32_t c32 = (uint32_t)c;
    for (; len; len--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

#endif
