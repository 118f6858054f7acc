/*
 * crc32c_armce.c - CRC32C with the ARMv8 CRC32 instructions, three streams combined by PMULL.
 *
 * CRC32CX folds 8 bytes into the CRC in one instruction, but each depends on the previous
 * result, so a single chain runs at the instruction's latency (2-3 cycles), not its
 * throughput (1 per cycle). Splitting a chunk of 3L bytes into three L-byte streams A, B, C
 * computed side by side fills the pipeline; the three CRC registers are then merged:
 *
 *     crc(A||B||C) = crc(A) * x^(16L) + crc(B) * x^(8L) + crc(C)      (mod P)
 *
 * where B and C start from a zero register (the CRC register update is linear, so only A
 * carries the initial value). Multiplying a reflected 32-bit value a by x^N uses one PMULL
 * with k = reflect(x^(N-32) mod P) << 1 and one CRC32CX of the 64-bit product with a zero
 * register, which computes (product) * x^32 mod P: a (x) k as a reflected 64-bit word is
 * A(x) * x^(N-32), and CRC32CX(0, d) = d(x) * x^32 mod P. Those k are the CRC32C_FOLD_<N>_LO
 * constants of crc32c_tables.h (scripts/gen_crc32c_tables.py: fold_const(N - 32)).
 *
 * Chunks are 768 bytes (L = 256) and 192 bytes (L = 64); shorter inputs and the tail run one
 * chain, which is as fast there as anything else.
 */
#include <arm_acle.h>
#include <arm_neon.h>
#include <string.h>

#include "crc32c_tables.h"
#include "tiers.h"

#if defined(__AARCH64EB__)
#error "crc32c_armce.c assumes little-endian AArch64"
#endif

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* a (reflected, 32 bits) times x^N mod P, given k = CRC32C_FOLD_<N>_LO, as a 64-bit value to
 * be reduced by CRC32CX (so that two such products can be added before one reduction). */
static inline uint64_t mul_xn(uint32_t a, uint64_t k)
{
    poly128_t p = vmull_p64((poly64_t)a, (poly64_t)k);
    return vgetq_lane_u64(vreinterpretq_u64_p128(p), 0);
}

/* One chunk of 3 * L bytes; c is the raw (inverted) CRC register. */
static inline uint32_t crc3(uint32_t c, const uint8_t *p, size_t l, uint64_t k2l, uint64_t kl)
{
    uint32_t c1 = 0, c2 = 0;
    for (size_t i = 0; i < l; i += 8) {
        c = __crc32cd(c, ld64(p + i));
        c1 = __crc32cd(c1, ld64(p + l + i));
        c2 = __crc32cd(c2, ld64(p + 2 * l + i));
    }
    return __crc32cd(0, mul_xn(c, k2l) ^ mul_xn(c1, kl)) ^ c2;
}

uint32_t crc32c_armce(uint32_t crc, const void *buf, size_t len)
{
    IBC_KERNEL_HIT(IBC_KOP_CRC32C, IBC_TIER_ARMCE);
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    if (len >= 3 * 64) {
        while ((uintptr_t)p & 7) {
            c = __crc32cb(c, *p++);
            len--;
        }
        while (len >= 3 * 256) {
            c = crc3(c, p, 256, CRC32C_FOLD_4096_LO, CRC32C_FOLD_2048_LO);
            p += 3 * 256;
            len -= 3 * 256;
        }
        while (len >= 3 * 64) {
            c = crc3(c, p, 64, CRC32C_FOLD_1024_LO, CRC32C_FOLD_512_LO);
            p += 3 * 64;
            len -= 3 * 64;
        }
    }
    for (; len >= 8; p += 8, len -= 8)
        c = __crc32cd(c, ld64(p));
    if (len & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        c = __crc32cw(c, w);
        p += 4;
    }
    if (len & 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        c = __crc32ch(c, h);
        p += 2;
    }
    if (len & 1)
        c = __crc32cb(c, *p);
    return ~c;
}

/* The multi-message kernel: four short messages side by side (crc32c_mb_template.h). */
#define MB_KERNEL      crc32c_mb_armce
#define MB_TIER        IBC_TIER_ARMCE
#define MB_CRC8(c, v)  __crc32cb((c), (v))
#define MB_CRC16(c, v) __crc32ch((c), (v))
#define MB_CRC32(c, v) __crc32cw((c), (v))
#define MB_CRC64(c, v) __crc32cd((c), (v))
#define MB_CRC32C      crc32c_armce
#include "crc32c_mb_template.h"
