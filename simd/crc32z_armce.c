/*
 * crc32z_armce.c - CRC-32 of gzip and zlib (crc32z) for the armce tier: PMULL folding, and the
 * ARMv8 CRC32 instructions (which are this polynomial, 0xEDB88320 reflected) for the rest.
 *
 * The folding is that of the x86 kernels (crc32z_pclmul_template.h; the math and a model of
 * this file are in scripts/gen_crc32z.py): the CRC state is XORed into the first four bytes,
 * eight 16-byte registers are folded 128 bytes forward per round by two PMULL each, then onto
 * each other and onto the whole 16-byte blocks left. The register left over stands for
 * everything so far; CRC32X over its two halves from state 0 gives the state, and CRC32X/W/H/B
 * take the last bytes. Inputs shorter than 128 bytes run one CRC32X chain.
 */
#include <arm_acle.h>
#include <arm_neon.h>
#include <string.h>

#include "crc32z_tables.h"
#include "tiers.h"

#if defined(__AARCH64EB__)
#error "crc32z_armce.c assumes little-endian AArch64"
#endif

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64x2_t ld128(const uint8_t *p)
{
    return vreinterpretq_u64_u8(vld1q_u8(p));
}

/* {HI, LO} multipliers of a fold over d bits (CRC32Z_FOLD_<d>_*). */
#define MULTS(d) vcombine_p64(vcreate_p64(CRC32Z_FOLD_##d##_HI), vcreate_p64(CRC32Z_FOLD_##d##_LO))

/* Fold the register x onto data lying as many bits further on as the multipliers k say: its
 * first qword times HI, its second times LO. */
static inline uint64x2_t fold(uint64x2_t x, uint64x2_t data, poly64x2_t k)
{
    poly64x2_t px = vreinterpretq_p64_u64(x);
    uint64x2_t a =
        vreinterpretq_u64_p128(vmull_p64(vgetq_lane_p64(px, 0), vgetq_lane_p64(k, 0)));
    uint64x2_t b = vreinterpretq_u64_p128(vmull_high_p64(px, k));
    return veorq_u64(veorq_u64(a, b), data);
}

/* One CRC32 chain from state c over len bytes. */
static inline uint32_t crc_chain(uint32_t c, const uint8_t *p, size_t len)
{
    for (; len >= 8; p += 8, len -= 8)
        c = __crc32d(c, ld64(p));
    if (len & 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        c = __crc32w(c, w);
        p += 4;
    }
    if (len & 2) {
        uint16_t h;
        memcpy(&h, p, 2);
        c = __crc32h(c, h);
        p += 2;
    }
    if (len & 1)
        c = __crc32b(c, *p);
    return c;
}

uint32_t crc32z_armce(uint32_t crc, const void *buf, size_t len)
{
    IBC_KERNEL_HIT(IBC_KOP_CRC32Z, IBC_TIER_ARMCE);
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    if (len >= 128) {
        const poly64x2_t k8 = MULTS(1024);
        uint64x2_t v0 = ld128(p), v1 = ld128(p + 16), v2 = ld128(p + 32), v3 = ld128(p + 48),
                   v4 = ld128(p + 64), v5 = ld128(p + 80), v6 = ld128(p + 96), v7 = ld128(p + 112);
        v0 = veorq_u64(v0, vsetq_lane_u64(c, vdupq_n_u64(0), 0));
        p += 128;
        len -= 128;
        for (; len >= 128; p += 128, len -= 128) {
            v0 = fold(v0, ld128(p), k8);
            v1 = fold(v1, ld128(p + 16), k8);
            v2 = fold(v2, ld128(p + 32), k8);
            v3 = fold(v3, ld128(p + 48), k8);
            v4 = fold(v4, ld128(p + 64), k8);
            v5 = fold(v5, ld128(p + 80), k8);
            v6 = fold(v6, ld128(p + 96), k8);
            v7 = fold(v7, ld128(p + 112), k8);
        }
        const poly64x2_t k4 = MULTS(512), k2 = MULTS(256), k1 = MULTS(128);
        v0 = fold(v0, v4, k4);
        v1 = fold(v1, v5, k4);
        v2 = fold(v2, v6, k4);
        v3 = fold(v3, v7, k4);
        v0 = fold(v0, v2, k2);
        v1 = fold(v1, v3, k2);
        v0 = fold(v0, v1, k1);
        for (; len >= 16; p += 16, len -= 16)
            v0 = fold(v0, ld128(p), k1);
        c = __crc32d(__crc32d(0, vgetq_lane_u64(v0, 0)), vgetq_lane_u64(v0, 1));
    }
    return ~crc_chain(c, p, len);
}
