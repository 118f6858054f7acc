/*
 * test_crc32z_zmm_model.c - the zmm (vaes512) body of crc32z_pclmul_template.h, run where no
 * AVX-512 is: the ten AVX-512 intrinsics it uses are replaced by models built from 128-bit
 * operations (a zmm register as four xmm lanes), and the result is compared with zlib's
 * crc32. The ymm tier runs the same code at half the width on real hardware (test_crc32z);
 * this covers what only the zmm variant has: its thresholds and its four-lane reduction.
 *
 * Built with the aesni flags and AVX2 (the template's zmm path uses a few ymm operations); the
 * tests do nothing on a CPU without them.
 */
#include <immintrin.h>
#include <string.h>
#include <zlib.h>

#include "testutil.h"

typedef union {
    __m512i v;
    __m128i x[4];
    long long q[8];
} z512;

static inline __m512i m512_loadu(const void *p)
{
    z512 r;
    memcpy(&r, p, sizeof(r));
    return r.v;
}

static inline __m512i m512_xor(__m512i a, __m512i b)
{
    z512 x = {a}, y = {b}, r;
    for (int i = 0; i < 4; i++)
        r.x[i] = _mm_xor_si128(x.x[i], y.x[i]);
    return r.v;
}

/* VPCLMULQDQ zmm: the xmm instruction on each 128-bit lane; imm as the template uses it. */
static inline __m512i m512_clmul(__m512i a, __m512i b, int imm)
{
    z512 x = {a}, y = {b}, r;
    for (int i = 0; i < 4; i++)
        r.x[i] = imm == 0x00   ? _mm_clmulepi64_si128(x.x[i], y.x[i], 0x00)
                 : imm == 0x11 ? _mm_clmulepi64_si128(x.x[i], y.x[i], 0x11)
                 : imm == 0x01 ? _mm_clmulepi64_si128(x.x[i], y.x[i], 0x01)
                               : _mm_clmulepi64_si128(x.x[i], y.x[i], 0x10);
    return r.v;
}

static inline __m512i m512_zext128(__m128i a)
{
    z512 r;
    r.x[0] = a;
    r.x[1] = r.x[2] = r.x[3] = _mm_setzero_si128();
    return r.v;
}

static inline __m512i m512_broadcast128(__m128i a)
{
    z512 r;
    r.x[0] = r.x[1] = r.x[2] = r.x[3] = a;
    return r.v;
}

/* _mm512_set_epi64: the first argument is the highest qword. */
static inline __m512i m512_set_epi64(long long e7, long long e6, long long e5, long long e4,
                                     long long e3, long long e2, long long e1, long long e0)
{
    z512 r = {.q = {e0, e1, e2, e3, e4, e5, e6, e7}};
    return r.v;
}

static inline __m256i m512_256(__m512i a, int i)
{
    z512 x = {a};
    return _mm256_set_m128i(x.x[2 * (i & 1) + 1], x.x[2 * (i & 1)]);
}

static inline __m128i m512_128(__m512i a, int i)
{
    z512 x = {a};
    return x.x[i & 3];
}

#undef _mm512_loadu_si512
#undef _mm512_clmulepi64_epi128
#undef _mm512_xor_si512
#undef _mm512_ternarylogic_epi64
#undef _mm512_zextsi128_si512
#undef _mm512_broadcast_i32x4
#undef _mm512_set_epi64
#undef _mm512_castsi512_si256
#undef _mm512_extracti64x4_epi64
#undef _mm512_extracti32x4_epi32
#define _mm512_loadu_si512(p)                   m512_loadu(p)
#define _mm512_clmulepi64_epi128(a, b, imm)     m512_clmul((a), (b), (imm))
#define _mm512_xor_si512(a, b)                  m512_xor((a), (b))
#define _mm512_ternarylogic_epi64(a, b, c, imm) m512_xor(m512_xor((a), (b)), (c)) /* 0x96 only */
#define _mm512_zextsi128_si512(a)               m512_zext128(a)
#define _mm512_broadcast_i32x4(a)               m512_broadcast128(a)
#define _mm512_set_epi64                        m512_set_epi64
#define _mm512_castsi512_si256(a)               m512_256((a), 0)
#define _mm512_extracti64x4_epi64(a, i)         m512_256((a), (i))
#define _mm512_extracti32x4_epi32(a, i)         m512_128((a), (i))

uint32_t crc32z_zmm_model(uint32_t crc, const void *buf, size_t len);
#define VL     64
#define KERNEL crc32z_zmm_model
#define TIER   IBC_TIER_VAES512
#include "crc32z_pclmul_template.h"

static uint32_t zlib_crc(uint32_t crc, const void *buf, size_t len)
{
    return (uint32_t)crc32(crc, buf, (uInt)len);
}

static int cpu_runs_model(void)
{
    const uint32_t need = ibc_tier_required_features(IBC_TIER_AESNI) | IBC_CPU_AVX2;
    if ((ibc_cpu_features() & need) == need)
        return 1;
    printf("skipped: the model needs AVX2 and PCLMULQDQ\n");
    return 0;
}

/* Every length through 8 zmm vectors and a few more rounds, three alignments each. */
static void test_zmm_body_every_length(void)
{
    static uint8_t buf[8 * 64 * 8 + 64];
    if (!cpu_runs_model())
        return;
    tu_rand_bytes(buf, sizeof(buf));
    for (size_t len = 0; len + 64 <= sizeof(buf); len++) {
        for (size_t a = 0; a < 64; a += 21) {
            uint32_t init = (uint32_t)tu_rand();
            uint32_t got = crc32z_zmm_model(init, buf + a, len), want = zlib_crc(init, buf + a, len);
            TU_CHECK(got == want, "len %zu align %zu: got %08x want %08x", len, a, got, want);
        }
    }
}

static void test_zmm_body_random_lengths(void)
{
    static uint8_t buf[70000 + 64];
    if (!cpu_runs_model())
        return;
    for (int it = 0; it < 2000; it++) {
        size_t len = tu_rand_len(70000);
        uint8_t *p = buf + tu_rand_below(64);
        uint32_t init = tu_rand_below(4) ? (uint32_t)tu_rand() : 0;
        tu_rand_bytes(p, len);
        uint32_t got = crc32z_zmm_model(init, p, len), want = zlib_crc(init, p, len);
        TU_CHECK(got == want, "len %zu: got %08x want %08x", len, got, want);
    }
}

TU_TESTS(TU_T(test_zmm_body_every_length), TU_T(test_zmm_body_random_lengths))
