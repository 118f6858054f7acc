/*
 * crc32z_pclmul_template.h - CRC-32 of gzip and zlib (crc32z: reflected 0xEDB88320, zlib's
 * crc32()) by carry-less-multiply folding.
 *
 * One body, three widths: crc32z_aesni.c includes it with VL 16 (PCLMULQDQ on xmm),
 * crc32z_vaes256.c with VL 32 (VPCLMULQDQ on ymm) and crc32z_vaes512.c with VL 64 (zmm); they
 * differ only in the vector type and the width-specific macros below, so the ymm tests also
 * cover the logic of the zmm variant. The including unit defines
 *   VL      vector length in bytes: 16, 32 or 64
 *   KERNEL  the name of the kernel to define (crc32z_<tier>)
 *   TIER    its ibc_tier_id
 * and is compiled with the tier's flags (everything here is static).
 *
 * There is no crc32 instruction for this polynomial on x86, so everything is folding
 * (scripts/gen_crc32z.py has the math and checks a model of this file against zlib):
 *   - the CRC state is XORed into the first four message bytes;
 *   - eight vectors of the message are accumulators; each 16-byte lane is folded 8 VL bytes
 *     forward by two carry-less multiplies and XORed into the data that lies there;
 *   - the accumulators are folded onto each other (4 VL, 2 VL, VL apart), whole vectors left
 *     are folded in one by one, the lanes of the vector onto its last lane, whole 16-byte
 *     blocks onto that, and a last partial block by a byte shuffle (crc32z_fold_partial);
 *   - the 16-byte register left is reduced to the 32-bit state: 128 -> 96 -> 64 bits by two
 *     more folds, then a Barrett reduction (crc32z_reduce128).
 * Inputs shorter than one vector start with a single 16-byte register; shorter than 16 bytes
 * they take the table (one byte per step: at most 15).
 *
 * Eight accumulators, as ISA-L's by8 kernels: sixteen independent multiplies per round cover
 * the latency of a fold (multiply, then two XORs) also on cores that start one per cycle.
 */
#include <immintrin.h>

#include "crc32z_tables.h"
#include "tiers.h"

#include "clmul_vec.h"
#if VL == 16
#define MULTS_8V          VMULTS(1024)
#define MULTS_4V          VMULTS(512)
#define MULTS_2V          VMULTS(256)
#define MULTS_1V          VMULTS(128)
#elif VL == 32
#define MULTS_8V          VMULTS(2048)
#define MULTS_4V          VMULTS(1024)
#define MULTS_2V          VMULTS(512)
#define MULTS_1V          VMULTS(256)
#elif VL == 64
#define MULTS_8V          VMULTS(4096)
#define MULTS_4V          VMULTS(2048)
#define MULTS_2V          VMULTS(1024)
#define MULTS_1V          VMULTS(512)
#endif
/* Multipliers for a fold over d bits (scripts/gen_crc32z.py: CRC32Z_FOLD_<d>_*). The first
 * (high-order) qword of each lane is multiplied by HI, the second by LO. */
#define VMULTS(d) VMULTS2(CRC32Z_FOLD_##d##_HI, CRC32Z_FOLD_##d##_LO)

/* Fold the vector v onto data lying as many bits further on as the multipliers k say. */
static inline vec_t crc32z_fold_vec(vec_t v, vec_t data, vec_t k)
{
    return VXOR3(VCLMUL(v, k, 0x00), VCLMUL(v, k, 0x11), data);
}

/* The same for one 16-byte register onto the next 16 bytes. */
static inline __m128i crc32z_fold_128(__m128i x, __m128i data)
{
    const __m128i k = VMULTS2_128(CRC32Z_FOLD_128_HI, CRC32Z_FOLD_128_LO);
    return _mm_xor_si128(
        _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), data);
}

/* A vector as one 16-byte register: each lane folded straight onto the last one (one multiply
 * deep, not a chain). */
static inline __m128i crc32z_vec_to_128(vec_t v)
{
#if VL == 16
    return v;
#elif VL == 32
    return crc32z_fold_128(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
#else
    /* lanes 0, 1, 2 fold over 384, 256, 128 bits; lane 3 takes zero multipliers */
    const __m512i k = _mm512_set_epi64(
        0, 0, (long long)CRC32Z_FOLD_128_LO, (long long)CRC32Z_FOLD_128_HI,
        (long long)CRC32Z_FOLD_256_LO, (long long)CRC32Z_FOLD_256_HI,
        (long long)CRC32Z_FOLD_384_LO, (long long)CRC32Z_FOLD_384_HI);
    __m512i t = VXOR(VCLMUL(v, k, 0x00), VCLMUL(v, k, 0x11));
    __m256i y = _mm256_xor_si256(_mm512_castsi512_si256(t), _mm512_extracti64x4_epi64(t, 1));
    return _mm_xor_si128(_mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1)),
                         _mm512_extracti32x4_epi32(v, 3));
#endif
}

/* pshufb masks for a partial block of r bytes: the 16 bytes at crc32z_shuffle + r move a
 * register's bytes 0..r-1 to the top (16-r..15) and zero the rest; those at + 16 + r move
 * bytes r..15 down to 0..15-r and zero (and, as a blend mask, select) the top r. */
static const uint8_t crc32z_shuffle[48] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
};

/* x followed by the last r (1..15) message bytes, which end at `end`; the 16 bytes before end
 * are readable (the input is at least 16 bytes long). The message x || t is the 32 bytes
 * (0^(16-r) || x[0..r-1]) || (x[r..15] || t): the first half folded onto the second. */
static inline __m128i crc32z_fold_partial(__m128i x, const uint8_t *end, size_t r)
{
    const __m128i up = _mm_loadu_si128((const void *)(crc32z_shuffle + r));
    const __m128i down = _mm_loadu_si128((const void *)(crc32z_shuffle + 16 + r));
    __m128i head = _mm_shuffle_epi8(x, up);
    __m128i rest = _mm_blendv_epi8(_mm_shuffle_epi8(x, down),
                                   _mm_loadu_si128((const void *)(end - 16)), down);
    return crc32z_fold_128(head, rest);
}

/* The raw CRC state (x(x) x^32 mod P) of the 16 bytes of x from state 0: 128 -> 96 -> 64 bits
 * by folds over x^96 and x^64, then Barrett (steps A, B, C of scripts/gen_crc32z.py). */
static inline uint32_t crc32z_reduce128(__m128i x)
{
    const __m128i k = _mm_set_epi64x((long long)CRC32Z_X64, (long long)CRC32Z_X96);
    const __m128i b = _mm_set_epi64x((long long)CRC32Z_BARRETT_P, (long long)CRC32Z_BARRETT_MU);
    const __m128i low32 = _mm_set_epi32(0, 0, 0, -1);
    __m128i r = _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_srli_si128(x, 8));
    r = _mm_xor_si128(_mm_srli_si128(r, 4), _mm_clmulepi64_si128(_mm_and_si128(r, low32), k, 0x10));
    __m128i q = _mm_clmulepi64_si128(_mm_and_si128(r, low32), b, 0x00);
    q = _mm_clmulepi64_si128(_mm_and_si128(q, low32), b, 0x10);
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(r, q), 1);
}

/* Raw CRC state c over len >= 16 bytes. */
static inline uint32_t crc32z_vfold(uint32_t c, const uint8_t *p, size_t len)
{
    __m128i x;
    if (len >= 8 * VL) {
        const vec_t k8 = MULTS_8V;
        vec_t v0 = VLOADU(p), v1 = VLOADU(p + VL), v2 = VLOADU(p + 2 * VL),
              v3 = VLOADU(p + 3 * VL), v4 = VLOADU(p + 4 * VL), v5 = VLOADU(p + 5 * VL),
              v6 = VLOADU(p + 6 * VL), v7 = VLOADU(p + 7 * VL);
        v0 = VXOR(v0, VFROM128(_mm_cvtsi32_si128((int)c)));
        p += 8 * VL;
        len -= 8 * VL;
        for (; len >= 8 * VL; p += 8 * VL, len -= 8 * VL) {
            v0 = crc32z_fold_vec(v0, VLOADU(p), k8);
            v1 = crc32z_fold_vec(v1, VLOADU(p + VL), k8);
            v2 = crc32z_fold_vec(v2, VLOADU(p + 2 * VL), k8);
            v3 = crc32z_fold_vec(v3, VLOADU(p + 3 * VL), k8);
            v4 = crc32z_fold_vec(v4, VLOADU(p + 4 * VL), k8);
            v5 = crc32z_fold_vec(v5, VLOADU(p + 5 * VL), k8);
            v6 = crc32z_fold_vec(v6, VLOADU(p + 6 * VL), k8);
            v7 = crc32z_fold_vec(v7, VLOADU(p + 7 * VL), k8);
        }
        const vec_t k4 = MULTS_4V, k2 = MULTS_2V, k1 = MULTS_1V;
        v0 = crc32z_fold_vec(v0, v4, k4);
        v1 = crc32z_fold_vec(v1, v5, k4);
        v2 = crc32z_fold_vec(v2, v6, k4);
        v3 = crc32z_fold_vec(v3, v7, k4);
        v0 = crc32z_fold_vec(v0, v2, k2);
        v1 = crc32z_fold_vec(v1, v3, k2);
        v0 = crc32z_fold_vec(v0, v1, k1);
        for (; len >= VL; p += VL, len -= VL)
            v0 = crc32z_fold_vec(v0, VLOADU(p), k1);
        x = crc32z_vec_to_128(v0);
    }
#if VL > 16
    else if (len >= VL) {
        const vec_t k1 = MULTS_1V;
        vec_t v0 = VXOR(VLOADU(p), VFROM128(_mm_cvtsi32_si128((int)c)));
        p += VL;
        len -= VL;
        for (; len >= VL; p += VL, len -= VL)
            v0 = crc32z_fold_vec(v0, VLOADU(p), k1);
        x = crc32z_vec_to_128(v0);
    }
#endif
    else {
        x = _mm_xor_si128(_mm_loadu_si128((const void *)p), _mm_cvtsi32_si128((int)c));
        p += 16;
        len -= 16;
    }
    for (; len >= 16; p += 16, len -= 16)
        x = crc32z_fold_128(x, _mm_loadu_si128((const void *)p));
    if (len)
        x = crc32z_fold_partial(x, p + len, len);
    return crc32z_reduce128(x);
}

uint32_t KERNEL(uint32_t crc, const void *buf, size_t len)
{
    IBC_KERNEL_HIT(IBC_KOP_CRC32Z, TIER);
    const uint8_t *p = buf;
    uint32_t c = ~crc;
    if (len >= 16)
        return ~crc32z_vfold(c, p, len);
    while (len--)
        c = crc32z_slice16[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#undef vec_t
#undef VLOADU
#undef VCLMUL
#undef VXOR
#undef VXOR3
#undef VFROM128
#undef VMULTS2
#undef VMULTS2_128
#undef VMULTS
#undef MULTS_8V
#undef MULTS_4V
#undef MULTS_2V
#undef MULTS_1V
