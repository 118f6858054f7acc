/*
 * crc32c_vpclmul_template.h - CRC32C by carry-less-multiply folding, fused with crc32
 * instruction chains.
 *
 * One body, three widths: crc32c_aesni.c includes it with VL 16 (PCLMULQDQ on xmm),
 * crc32c_vaes256.c with VL 32 (VPCLMULQDQ on ymm) and crc32c_vaes512.c with VL 64 (zmm); they
 * differ only in the vector type and the width-specific macros below. The including unit
 * defines
 *   VL      vector length in bytes: 16, 32 or 64
 *   KERNEL  the name of the kernel to define (crc32c_<tier>)
 *   TIER    its ibc_tier_id
 *   CRC32C_VFOLD_MIN  (optional) the shortest input worth folding
 * and is compiled with the tier's flags (everything here is static).
 *
 * Folding (scripts/gen_crc32c_tables.py has the math): four vectors of the message are kept
 * as accumulators. Each 16-byte lane of an accumulator is "folded" 4*VL bytes forward by two
 * carry-less multiplies (its high- and low-order qwords times x^(D+32) and x^(D-32) mod P)
 * and XORed into the data that lies there; the CRC is unchanged. At the end every lane, and
 * every whole 16-byte block left, is folded straight onto the last of them (crc32c_reduce),
 * and the crc32 instruction takes the CRC of that one lane in two steps, then of the last
 * bytes. The initial CRC state is XORed into the first four message bytes.
 *
 * Fusion (the idea of corsix/fast-crc32): the crc32 instruction and the carry-less multiplies
 * use mostly different execution units, so both can work at once. The input is cut into
 * chunks of m steps (m <= M_MAX, as many as fit):
 *
 *   | 4 VL m bytes: folded | n: chain A | n: chain B | n: chain C | 4 VL: next vectors |
 *
 * Each step folds the 4 accumulators over the next 4 vectors and advances the three crc32
 * chains by Q qwords each (n = 8 Q m). The chains are merged as in crc32c_sse42.h; the merged
 * state stands for everything before the next vectors and is XORed into them like an initial
 * CRC, while the accumulators jump over the chain bytes with a longer fold. All distances
 * depend only on m, so every multiplier is a generated constant (crc32c_fused<bits>[m - 1]).
 * Q and M_MAX per width are in the generator.
 *
 * Inputs shorter than CRC32C_VFOLD_MIN take the 3-way crc32-instruction path
 * (crc32c_sse42.h), which has no setup cost.
 */
#include "crc32c_sse42.h"
#include "tiers.h"

#include "clmul_vec.h"
#if VL == 16
#define MULTS_4V          VMULTS(512)
#define FUSED_TABLE       crc32c_fused128
#define FUSED_Q           CRC32C_FUSED128_Q
#define FUSED_M_MAX       CRC32C_FUSED128_M_MAX
#elif VL == 32
#define MULTS_4V          VMULTS(1024)
#define FUSED_TABLE       crc32c_fused256
#define FUSED_Q           CRC32C_FUSED256_Q
#define FUSED_M_MAX       CRC32C_FUSED256_M_MAX
#elif VL == 64
#define MULTS_4V          VMULTS(2048)
#define FUSED_TABLE       crc32c_fused512
#define FUSED_Q           CRC32C_FUSED512_Q
#define FUSED_M_MAX       CRC32C_FUSED512_M_MAX
#endif
/* Multipliers for a fold over d bits (scripts/gen_crc32c_tables.py: CRC32C_FOLD_<d>_*). */
#define VMULTS(d) VMULTS2(CRC32C_FOLD_##d##_HI, CRC32C_FOLD_##d##_LO)

/* A fused step folds 4 vectors and advances 3 chains by FUSED_Q qwords each. */
#define FUSED_STEP (4 * VL + 3 * 8 * FUSED_Q)

/* Below this many bytes the 3-way crc32 kernel is at least as fast as folding. */
#ifndef CRC32C_VFOLD_MIN
#define CRC32C_VFOLD_MIN 256
#endif
_Static_assert(CRC32C_VFOLD_MIN >= 4 * VL, "crc32c_vfold needs 4 vectors");

/* Fold the vector v (VL bytes) onto data lying D bits further on; k holds the D multipliers. */
static inline vec_t crc32c_fold_vec(vec_t v, vec_t data, vec_t k)
{
    return VXOR3(VCLMUL(v, k, 0x00), VCLMUL(v, k, 0x11), data);
}

/* One step of a chain: the qword at p. */
#define CHAIN(s, p)       ((s) = _mm_crc32_u64((s), crc32c_load64(p)))
#define IBC_UNROLL_CHAINS _Pragma("GCC unroll 16")

/* The final reduction: every lane of the accumulators and each of the nb whole 16-byte blocks
 * at p is folded straight onto the last of them (one multiply deep, not a chain of folds);
 * their XOR is a 16-byte stand-in for all of it. The multipliers of consecutive lanes are
 * consecutive rows of crc32c_lane_fold, whose d = 0 row is zero: the last lane is XORed as it
 * is. */
_Static_assert(2 * (4 * VL / 16 - 1) <= CRC32C_LANE_FOLD_MAX, "crc32c_lane_fold too short");
static inline __m128i crc32c_reduce(vec_t v0, vec_t v1, vec_t v2, vec_t v3, const uint8_t *p,
                                    size_t nb)
{
    /* The first accumulator lane lies 4 VL / 16 - 1 + nb lanes before the last one. */
    const uint8_t *k =
        (const uint8_t *)crc32c_lane_fold + 16 * (CRC32C_LANE_FOLD_MAX - (4 * VL / 16 - 1 + nb));
    const vec_t k0 = VLOADU(k), k1 = VLOADU(k + VL), k2 = VLOADU(k + 2 * VL),
                k3 = VLOADU(k + 3 * VL);
    vec_t t0 = VXOR3(VCLMUL(v0, k0, 0x00), VCLMUL(v0, k0, 0x11), VCLMUL(v1, k1, 0x00));
    vec_t t1 = VXOR3(VCLMUL(v1, k1, 0x11), VCLMUL(v2, k2, 0x00), VCLMUL(v2, k2, 0x11));
    vec_t t2 = VXOR(VCLMUL(v3, k3, 0x00), VCLMUL(v3, k3, 0x11));
    vec_t t = VXOR3(t0, t1, t2);
    /* The blocks before the last one: whole vectors of them, then single lanes. */
    size_t i = 0;
    k = (const uint8_t *)crc32c_lane_fold + 16 * (CRC32C_LANE_FOLD_MAX - (nb ? nb - 1 : 0));
    for (; i + VL / 16 < nb; i += VL / 16) {
        vec_t b = VLOADU(p + 16 * i), kb = VLOADU(k + 16 * i);
        t = VXOR3(t, VCLMUL(b, kb, 0x00), VCLMUL(b, kb, 0x11));
    }
#if VL == 64
    __m256i y = _mm256_xor_si256(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
    __m128i x = _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
    __m128i last = _mm512_extracti32x4_epi32(v3, 3);
#elif VL == 32
    __m128i x = _mm_xor_si128(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    __m128i last = _mm256_extracti128_si256(v3, 1);
#else
    __m128i x = t, last = v3;
#endif
    for (; i + 1 < nb; i++) {
        __m128i b = _mm_loadu_si128((const void *)(p + 16 * i));
        __m128i kb = _mm_loadu_si128((const void *)(k + 16 * i));
        x = _mm_xor_si128(
            x, _mm_xor_si128(_mm_clmulepi64_si128(b, kb, 0x00), _mm_clmulepi64_si128(b, kb, 0x11)));
    }
    if (nb)
        last = _mm_loadu_si128((const void *)(p + 16 * (nb - 1)));
    return _mm_xor_si128(x, last);
}

/* Raw CRC state c over len >= 4 * VL bytes; fuse: with the crc32 chains (else folding alone). */
static IBC_NOINLINE uint32_t crc32c_vfold(uint32_t c, const uint8_t *p, size_t len, int fuse)
{
    const vec_t mults_4v = MULTS_4V;
    vec_t v0 = VLOADU(p), v1 = VLOADU(p + VL), v2 = VLOADU(p + 2 * VL), v3 = VLOADU(p + 3 * VL);
    v0 = VXOR(v0, VFROM128(_mm_cvtsi32_si128((int)c)));
    p += 4 * VL;
    len -= 4 * VL;

    /* Fused chunks of m steps: m * FUSED_STEP bytes, then the 4 vectors after them. */
    while (fuse && len >= FUSED_STEP + 4 * VL) {
        size_t m = (len - 4 * VL) / FUSED_STEP;
        if (m > FUSED_M_MAX)
            m = FUSED_M_MAX;
        const uint64_t *k = FUSED_TABLE[m - 1];
        const size_t n = 8 * FUSED_Q * m; /* bytes per chain */
        const uint8_t *s = p + 4 * VL * m;
        uint64_t a = 0, b = 0, d = 0;
        for (size_t i = 0; i < m; i++) {
            v0 = crc32c_fold_vec(v0, VLOADU(p), mults_4v);
            v1 = crc32c_fold_vec(v1, VLOADU(p + VL), mults_4v);
            v2 = crc32c_fold_vec(v2, VLOADU(p + 2 * VL), mults_4v);
            v3 = crc32c_fold_vec(v3, VLOADU(p + 3 * VL), mults_4v);
            /* The chain steps, unrolled. Where they stand among the folds matters little to
             * an out-of-order core, but compilers schedule the result differently: after the
             * folds was best with gcc 12 on Zen 3 (xmm: 1.31x ISA-L, vs 1.15x spread between
             * the folds; ymm: within 2%); clang 14 code is 5-10% slower either way. */
            IBC_UNROLL_CHAINS
            for (int q = 0; q < FUSED_Q; q++) {
                CHAIN(a, s + 8 * q);
                CHAIN(b, s + 8 * q + n);
                CHAIN(d, s + 8 * q + 2 * n);
            }
            p += 4 * VL;
            s += 8 * FUSED_Q;
        }
        /* Merge the chains; the result stands for everything before the next vector. */
        const __m128i mults_merge = VMULTS2_128(k[2], k[3]);
        __m128i mm =
            _mm_xor_si128(_mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)a), mults_merge, 0x00),
                          _mm_clmulepi64_si128(_mm_cvtsi64_si128((long long)b), mults_merge, 0x10));
        uint32_t merged = (uint32_t)(_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(mm)) ^ d);
        const vec_t mults_cross = VMULTS2(k[0], k[1]);
        p += 3 * n;
        v0 = crc32c_fold_vec(v0, VXOR(VLOADU(p), VFROM128(_mm_cvtsi32_si128((int)merged))),
                             mults_cross);
        v1 = crc32c_fold_vec(v1, VLOADU(p + VL), mults_cross);
        v2 = crc32c_fold_vec(v2, VLOADU(p + 2 * VL), mults_cross);
        v3 = crc32c_fold_vec(v3, VLOADU(p + 3 * VL), mults_cross);
        p += 4 * VL;
        len -= m * FUSED_STEP + 4 * VL;
    }

#if VL > 16
    for (; len >= 4 * VL; p += 4 * VL, len -= 4 * VL) {
        v0 = crc32c_fold_vec(v0, VLOADU(p), mults_4v);
        v1 = crc32c_fold_vec(v1, VLOADU(p + VL), mults_4v);
        v2 = crc32c_fold_vec(v2, VLOADU(p + 2 * VL), mults_4v);
        v3 = crc32c_fold_vec(v3, VLOADU(p + 3 * VL), mults_4v);
    }
    const size_t nb = len / 16; /* whole blocks left, fewer than 4 * VL / 16 */
#else
    const size_t nb = 0; /* xmm folding alone is slower than the 3-way chains: they take the rest */
#endif
    __m128i x = crc32c_reduce(v0, v1, v2, v3, p, nb);
    p += 16 * nb;
    len -= 16 * nb;
    /* The lane is a 16-byte stand-in for everything so far: its CRC from state 0. */
    uint64_t s = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(x));
    s = _mm_crc32_u64(s, (uint64_t)_mm_extract_epi64(x, 1));
    return crc32c_sse42_3way((uint32_t)s, p, len);
}

static inline uint32_t crc32c_entry(uint32_t crc, const void *buf, size_t len, int fuse)
{
    IBC_KERNEL_HIT(IBC_KOP_CRC32C, TIER);
    if (len < CRC32C_SHORT)
        return ~crc32c_sse42_serial(~crc, buf, len);
    if (len < CRC32C_VFOLD_MIN)
        return ~crc32c_sse42_3way(~crc, buf, len);
    return ~crc32c_vfold(~crc, buf, len, fuse);
}

uint32_t KERNEL(uint32_t crc, const void *buf, size_t len)
{
    return crc32c_entry(crc, buf, len, 1);
}

#ifdef KERNEL_FOLD
/* Folding alone: where carry-less multiplies issue every cycle (IBC_CPU_CLMUL512_FULL), the
 * crc32 chains only take issue slots from them. */
uint32_t KERNEL_FOLD(uint32_t crc, const void *buf, size_t len)
{
    return crc32c_entry(crc, buf, len, 0);
}
#endif

/* The multi-message kernel (crc32c_mb_template.h); the including unit names it MB_KERNEL. */
#define MB_TIER          TIER
#define MB_CRC8(c, v)    _mm_crc32_u8((c), (v))
#define MB_CRC16(c, v)   _mm_crc32_u16((c), (v))
#define MB_CRC32(c, v)   _mm_crc32_u32((c), (v))
#define MB_CRC64(c, v)   ((uint32_t)_mm_crc32_u64((c), (v)))
#define MB_CRC32C        KERNEL
#include "crc32c_mb_template.h"

#undef vec_t
#undef VLOADU
#undef VCLMUL
#undef VXOR
#undef VXOR3
#undef VFROM128
#undef VMULTS2
#undef VMULTS
#undef MULTS_4V
#undef CHAIN
#undef FUSED_TABLE
#undef FUSED_Q
#undef FUSED_M_MAX
#undef FUSED_STEP
#undef VMULTS2_128
#undef IBC_UNROLL_CHAINS
