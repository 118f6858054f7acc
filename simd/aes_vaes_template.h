/*
 * aes_vaes_template.h - the x86 AES kernels (ECB, CBC, CTR, multi-buffer CBC, and the fused
 * kernels with CRC32C), written once for any vector width.
 *
 * Included by aes_vaes256.c (IBC_W 256: VAES on ymm), aes_vaes512.c (512: VAES on zmm) and
 * aes_aesni.c (128: AES-NI on xmm, legacy SSE encoding), each of which defines first:
 *   IBC_W       vector width in bits
 *   IBC_SUFFIX  the tier's name, appended to every kernel (aes_ctr_vaes256)
 *   IBC_TIER    the tier id, for IBC_KERNEL_HIT
 * and may define IBC_FUSED_CTR2 0 (default 1): aes_ctr2_crc is then the generic composition
 * (aes_aesni.c: two keystreams in one group need more than sixteen xmm registers in the
 * two-operand SSE encoding; the spilling fused loop is slower than the composition as soon
 * as a CRC is asked for).
 *
 * The one idea: a vector register V holds LPR = IBC_W / 128 AES blocks and one (V)AESENC
 * advances all of them by a round, so every kernel is written on registers, and only the
 * short block of width primitives below knows how wide a register is, and the few places
 * that differ by width say so (#if on LPR). The tests run every tier the CPU has; the zmm tier
 * ran on a Zen 5 since 2026-11-23 (before that it was right by sharing its lines with the
 * ymm and xmm tiers).
 *
 * Throughput model (perf-ceilings.md section 1): (V)AESENC has a latency of 4 cycles and
 * issues 2 per cycle on ymm/xmm (zmm: 1 on Zen 4, 2 on Zen 5, measured), so 8 independent
 * registers keep the AES units busy. Hence:
 *   - parallel modes (ECB, CBC decrypt, CTR) work on groups of NREG = 8 registers;
 *   - CBC encryption is a serial chain per stream: one stream runs at latency (cbc_enc), and
 *     the multi-buffer kernels step up to 8 registers of streams together (8, 16 or 32), one
 *     block of each per step, LPR streams per register (ipsec-mb's multi-buffer idea);
 *   - round keys are broadcast once per call and pinned into a register per round (v_key),
 *     so a hot-loop AESENC never takes a memory operand (perf-ceilings.md lesson 2);
 *   - every loop body is specialised for 10, 12 or 14 rounds (NR_SWITCH) and unrolled;
 *   - the fused kernels interleave three independent crc32 chains with the rounds in program
 *     order (lesson 3): aes_x86_fused_template.h and aes_x86_rekey_template.h, included at
 *     the end of this file;
 *   - many short streams (the redo log's) in one call: aes_x86_short_template.h, also at the
 *     end.
 */
#include <immintrin.h>
#include <string.h>

#include "aes_x86_crc.h"
#include "aes_x86_expand.h"
#include "crc32c_tables.h"
#include "tiers.h"

#if !defined(IBC_W) || !defined(IBC_SUFFIX) || !defined(IBC_TIER)
#error "define IBC_W, IBC_SUFFIX and IBC_TIER before including aes_vaes_template.h"
#endif

#ifndef IBC_FUSED_CTR2
#define IBC_FUSED_CTR2 1
#endif

#define IBC_CAT_(a, b) a##_##b
#define IBC_CAT(a, b) IBC_CAT_(a, b)
#define FN(name) IBC_CAT(name, IBC_SUFFIX)
#define TIER_TABLE IBC_CAT(ibc_kernels, IBC_SUFFIX)

/* Sanitizer and fuzzing builds (IBC_INSTRUMENTED) check behaviour, not speed: forced inlining
 * and full unrolling of this template there cost minutes of compile time per unit. */
#if defined(IBC_INSTRUMENTED)
#define ALWAYS_INLINE inline
#define UNROLL
#elif defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define UNROLL _Pragma("unroll")
#else
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 32")
#endif

/* ---- width primitives: the only width-specific code ------------------------------------- */

#if IBC_W == 128
typedef __m128i V;
#define V_REG "+x"
static inline V v_load(const uint8_t *p)
{
    return _mm_loadu_si128((const __m128i *)(const void *)p);
}
static inline void v_store(uint8_t *p, V v)
{
    _mm_storeu_si128((__m128i *)(void *)p, v);
}
static inline V v_xor(V a, V b)
{
    return _mm_xor_si128(a, b);
}
static inline V v_enc(V a, V k)
{
    return _mm_aesenc_si128(a, k);
}
static inline V v_enclast(V a, V k)
{
    return _mm_aesenclast_si128(a, k);
}
static inline V v_dec(V a, V k)
{
    return _mm_aesdec_si128(a, k);
}
static inline V v_declast(V a, V k)
{
    return _mm_aesdeclast_si128(a, k);
}
static inline V v_add64(V a, V b)
{
    return _mm_add_epi64(a, b);
}
/* The 16 bytes at p in every block of the register. */
static inline V v_bcast(const uint8_t *p)
{
    return v_load(p);
}
/* Reverse the bytes of every block (big-endian counter <-> little-endian integer). */
static inline V v_bswap(V a)
{
    return _mm_shuffle_epi8(a, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}
/* Block i gets base + i * step in its low qword, 0 in its high qword. */
static inline V v_lo64(uint64_t base, uint64_t step)
{
    (void)step;
    return _mm_set_epi64x(0, (long long)base);
}
/* Block i from pp[i] + off. */
static inline V v_gather(const uint8_t *const *pp, size_t off)
{
    return v_load(pp[0] + off);
}
static inline void v_scatter(uint8_t *const *pp, size_t off, V v)
{
    v_store(pp[0] + off, v);
}
/* The blocks preceding those of cur when prev holds the blocks before them:
 * [last block of prev, blocks 0 .. LPR-2 of cur]. */
static inline V v_shift_in(V prev, V cur)
{
    (void)cur;
    return prev;
}

static inline V v_clfold(V acc, V k, V c)
{
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00),
                                       _mm_clmulepi64_si128(acc, k, 0x11)),
                         c);
}

#elif IBC_W == 256
typedef __m256i V;
#define V_REG "+x"
static inline V v_load(const uint8_t *p)
{
    return _mm256_loadu_si256((const __m256i *)(const void *)p);
}
static inline void v_store(uint8_t *p, V v)
{
    _mm256_storeu_si256((__m256i *)(void *)p, v);
}
static inline V v_xor(V a, V b)
{
    return _mm256_xor_si256(a, b);
}
static inline V v_enc(V a, V k)
{
    return _mm256_aesenc_epi128(a, k);
}
static inline V v_enclast(V a, V k)
{
    return _mm256_aesenclast_epi128(a, k);
}
static inline V v_dec(V a, V k)
{
    return _mm256_aesdec_epi128(a, k);
}
static inline V v_declast(V a, V k)
{
    return _mm256_aesdeclast_epi128(a, k);
}
static inline V v_add64(V a, V b)
{
    return _mm256_add_epi64(a, b);
}
static inline V v_bcast(const uint8_t *p)
{
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)p));
}
static inline V v_bswap(V a)
{
    const V m = _mm256_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2,
                                3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm256_shuffle_epi8(a, m);
}
static inline V v_lo64(uint64_t base, uint64_t step)
{
    return _mm256_set_epi64x(0, (long long)(base + step), 0, (long long)base);
}
static inline V v_gather(const uint8_t *const *pp, size_t off)
{
    __m128i b0 = _mm_loadu_si128((const __m128i *)(const void *)(pp[0] + off));
    __m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(pp[1] + off));
    return _mm256_inserti128_si256(_mm256_castsi128_si256(b0), b1, 1);
}
static inline void v_scatter(uint8_t *const *pp, size_t off, V v)
{
    _mm_storeu_si128((__m128i *)(void *)(pp[0] + off), _mm256_castsi256_si128(v));
    _mm_storeu_si128((__m128i *)(void *)(pp[1] + off), _mm256_extracti128_si256(v, 1));
}
static inline V v_shift_in(V prev, V cur)
{
    return _mm256_permute2x128_si256(prev, cur, 0x21); /* [prev.hi, cur.lo] */
}
static inline V v_clfold(V acc, V k, V c)
{
    return _mm256_xor_si256(_mm256_xor_si256(_mm256_clmulepi64_epi128(acc, k, 0x00),
                                             _mm256_clmulepi64_epi128(acc, k, 0x11)),
                            c);
}

#elif IBC_W == 512
typedef __m512i V;
#define V_REG "+v"
static inline V v_load(const uint8_t *p)
{
    return _mm512_loadu_si512((const void *)p);
}
static inline void v_store(uint8_t *p, V v)
{
    _mm512_storeu_si512((void *)p, v);
}
static inline V v_xor(V a, V b)
{
    return _mm512_xor_si512(a, b);
}
static inline V v_enc(V a, V k)
{
    return _mm512_aesenc_epi128(a, k);
}
static inline V v_enclast(V a, V k)
{
    return _mm512_aesenclast_epi128(a, k);
}
static inline V v_dec(V a, V k)
{
    return _mm512_aesdec_epi128(a, k);
}
static inline V v_declast(V a, V k)
{
    return _mm512_aesdeclast_epi128(a, k);
}
static inline V v_add64(V a, V b)
{
    return _mm512_add_epi64(a, b);
}
static inline V v_bcast(const uint8_t *p)
{
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)p));
}
static inline V v_bswap(V a)
{
    const V m = _mm512_broadcast_i32x4(
        _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    return _mm512_shuffle_epi8(a, m);
}
static inline V v_lo64(uint64_t base, uint64_t step)
{
    return _mm512_set_epi64(0, (long long)(base + 3 * step), 0, (long long)(base + 2 * step), 0,
                            (long long)(base + step), 0, (long long)base);
}
static inline V v_gather(const uint8_t *const *pp, size_t off)
{
    /* masked broadcast loads rather than inserts (Zen 5: kernel/aes128_cbc_enc_x32 +3.4 %,
     * page/rekey_cbc +5.8 %, 9 interleaved runs) */
#define LANE(i) _mm_loadu_si128((const __m128i *)(const void *)(pp[i] + off))
    V v = _mm512_castsi128_si512(LANE(0));
    v = _mm512_mask_broadcast_i32x4(v, 0x00F0, LANE(1));
    v = _mm512_mask_broadcast_i32x4(v, 0x0F00, LANE(2));
    return _mm512_mask_broadcast_i32x4(v, 0xF000, LANE(3));
#undef LANE
}
static inline void v_scatter(uint8_t *const *pp, size_t off, V v)
{
    _mm_storeu_si128((__m128i *)(void *)(pp[0] + off), _mm512_castsi512_si128(v));
    _mm_storeu_si128((__m128i *)(void *)(pp[1] + off), _mm512_extracti32x4_epi32(v, 1));
    _mm_storeu_si128((__m128i *)(void *)(pp[2] + off), _mm512_extracti32x4_epi32(v, 2));
    _mm_storeu_si128((__m128i *)(void *)(pp[3] + off), _mm512_extracti32x4_epi32(v, 3));
}
static inline V v_shift_in(V prev, V cur)
{
    return _mm512_alignr_epi64(cur, prev, 6); /* qwords [prev6, prev7, cur0 .. cur5] */
}
static inline V v_clfold(V acc, V k, V c)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(acc, k, 0x00),
                                     _mm512_clmulepi64_epi128(acc, k, 0x11), c, 0x96);
}

#else
#error "IBC_W must be 128, 256 or 512"
#endif

/* ---- shapes ------------------------------------------------------------------------------ */

#define LPR (IBC_W / 128)      /* blocks per register */
#define VB (IBC_W / 8)         /* bytes per register */
#define NREG 8                 /* registers per group of the parallel modes */
#define GBLK (NREG * LPR)      /* blocks per group */
#define GBYTES (GBLK * 16)     /* bytes per group */
#define STEP IBC_CRC_STEP      /* bytes per fused step (512) */
#define GPS (STEP / GBYTES)    /* groups per fused step: 4, 2, 1 */
#define HREG (NREG / 2)        /* registers per key in ctr2 */
#define GPS2 (STEP / (HREG * LPR * 16))

/* Multi-buffer: 8 registers of LPR lanes (xmm 8, ymm 16, zmm 32 lanes). A CBC encryption step
 * is a chain of AES rounds per register, so the registers in flight must cover the AES latency
 * times its throughput: 8 on Zen 3 (ymm, 2 per cycle, latency 4) and on Zen 5 (zmm, 2 per
 * cycle). On zmm a segment of at most 16 lanes steps only MB_REGS_LO registers (mb_regs). */
#define MB_REGS 8
#define MB_SLOTS (MB_REGS * LPR)
#define MB_REGS_LO (LPR == 4 ? MB_REGS / 2 : MB_REGS)

#if STEP % GBYTES != 0 || STEP % (HREG * LPR * 16) != 0
#error "a fused step must hold whole groups"
#endif

/* A round key, materialised in a register at this point of the program: the compiler can
 * neither fold its load into every AESENC nor hoist 15 keys out of the loop where 16
 * registers do not hold them (xmm/ymm); one load (or move) per round and group. Volatile, so
 * that it is neither hoisted nor merged, and so that it keeps its order with the crc32
 * statements (crcx_q): this is what interleaves CRC and AES in program order. */
static inline V v_key(V k)
{
    __asm__ volatile("" : V_REG(k));
    return k;
}

static void wipe(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* Broadcast the nr + 1 round keys of one schedule. */
static inline void load_keys(V *ks, const uint8_t (*rk)[IBC_AES_BLOCK], unsigned nr)
{
    for (unsigned r = 0; r <= nr; r++)
        ks[r] = v_bcast(rk[r]);
}

/* x[0..n) through rounds 1 .. NR (round 0, the first AddRoundKey, is the caller's). NR is a
 * compile-time constant wherever these are used (NR_SWITCH): the rounds are unrolled, which
 * keeps the state in fixed registers (a rounds loop costs a register move per block and
 * round, as many instructions as the AES itself). */
static ALWAYS_INLINE void enc_rounds(V *x, int n, const V *ks, const int NR)
{
    UNROLL for (int r = 1; r < NR; r++)
    {
        V k = v_key(ks[r]);
        UNROLL for (int j = 0; j < n; j++) x[j] = v_enc(x[j], k);
    }
    V k = v_key(ks[NR]);
    UNROLL for (int j = 0; j < n; j++) x[j] = v_enclast(x[j], k);
}

static ALWAYS_INLINE void dec_rounds(V *x, int n, const V *ks, const int NR)
{
    UNROLL for (int r = 1; r < NR; r++)
    {
        V k = v_key(ks[r]);
        UNROLL for (int j = 0; j < n; j++) x[j] = v_dec(x[j], k);
    }
    V k = v_key(ks[NR]);
    UNROLL for (int j = 0; j < n; j++) x[j] = v_declast(x[j], k);
}

/* Call a kernel body specialised for a compile-time round count. */
#define NR_SWITCH(nr, call)                                                                    \
    do {                                                                                       \
        if ((nr) == 10)                                                                        \
            call(10);                                                                          \
        else if ((nr) == 12)                                                                   \
            call(12);                                                                          \
        else                                                                                   \
            call(14);                                                                          \
    } while (0)

/* ---- key expansion ----------------------------------------------------------------------- */

void FN(aes_expand)(ibc_aes_key *k, const uint8_t *key, size_t key_len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_EXPAND, IBC_TIER);
    ibc_x86_aes_expand(k, key, key_len);
}

/* ---- ECB --------------------------------------------------------------------------------- */

static ALWAYS_INLINE void ecb_group(const V *ks, const int NR, const uint8_t *in,
                                    uint8_t *out, int decrypt)
{
    V x[NREG], k0 = v_key(ks[0]);
    UNROLL for (int j = 0; j < NREG; j++) x[j] = v_xor(v_load(in + j * VB), k0);
    if (decrypt)
        dec_rounds(x, NREG, ks, NR);
    else
        enc_rounds(x, NREG, ks, NR);
    UNROLL for (int j = 0; j < NREG; j++) v_store(out + j * VB, x[j]);
}

static ALWAYS_INLINE void ecb_nr(const V *ks, const int NR, const uint8_t *in, uint8_t *out,
                                 size_t nb, int decrypt)
{
    for (; nb >= GBLK; nb -= GBLK, in += GBYTES, out += GBYTES)
        ecb_group(ks, NR, in, out, decrypt);
    if (nb) { /* the last, partial group through a buffer */
        uint8_t buf[GBYTES] = {0};
        memcpy(buf, in, nb * 16);
        ecb_group(ks, NR, buf, buf, decrypt);
        memcpy(out, buf, nb * 16);
        wipe(buf, sizeof(buf));
    }
}

static void ecb(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb, int decrypt)
{
    V ks[IBC_AES_MAX_ROUNDS + 1];
    load_keys(ks, decrypt ? k->dec : k->enc, k->rounds);
    if (decrypt) {
#define CALL(n) ecb_nr(ks, n, in, out, nb, 1)
        NR_SWITCH(k->rounds, CALL);
#undef CALL
    } else {
#define CALL(n) ecb_nr(ks, n, in, out, nb, 0)
        NR_SWITCH(k->rounds, CALL);
#undef CALL
    }
}

void FN(aes_ecb_enc)(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_ENC, IBC_TIER);
    ecb(k, in, out, nb, 0);
}

void FN(aes_ecb_dec)(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_DEC, IBC_TIER);
    ecb(k, in, out, nb, 1);
}

/* ---- CBC encryption: one serial stream --------------------------------------------------- */

/* Latency-bound: one block in flight, nr dependent AESENC per block. The chaining value is
 * carried as C ^ k0, which the last round produces directly (AESENCLAST with k[nr] ^ k0), so
 * the first AddRoundKey of the next block is folded into the XOR with the plaintext. */
void FN(aes_cbc_enc)(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                     size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC, IBC_TIER);
    if (!nb)
        return;
    __m128i ks[IBC_AES_MAX_ROUNDS + 1];
    unsigned nr = k->rounds;
    for (unsigned r = 0; r <= nr; r++)
        ks[r] = _mm_loadu_si128((const __m128i *)(const void *)k->enc[r]);
    const __m128i k0 = ks[0], kl = _mm_xor_si128(ks[nr], ks[0]);
    __m128i t = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(void *)iv), k0);
    for (size_t i = 0; i < nb; i++, in += 16, out += 16) {
        __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)in), t);
        for (unsigned r = 1; r < nr; r++)
            x = _mm_aesenc_si128(x, ks[r]);
        t = _mm_aesenclast_si128(x, kl);
        _mm_storeu_si128((__m128i *)(void *)out, _mm_xor_si128(t, k0));
    }
    _mm_storeu_si128((__m128i *)(void *)iv, _mm_xor_si128(t, k0));
}

/* ---- CBC decryption ---------------------------------------------------------------------- */

/* One group; `last` holds the ciphertext block before the group in its last block, and the
 * group's last ciphertext is returned the same way. All loads precede all stores (in place). */
static ALWAYS_INLINE V cbc_dec_group(const V *ks, const int NR, const uint8_t *in,
                                     uint8_t *out, V last)
{
    V x[NREG], k0 = v_key(ks[0]);
    UNROLL for (int j = 0; j < NREG; j++) x[j] = v_load(in + j * VB);
    V next = x[NREG - 1];
    V p0 = v_shift_in(last, x[0]);
    UNROLL for (int j = 0; j < NREG; j++) x[j] = v_xor(x[j], k0);
    UNROLL for (int r = 1; r < NR; r++)
    {
        V k = v_key(ks[r]);
        UNROLL for (int j = 0; j < NREG; j++) x[j] = v_dec(x[j], k);
    }
    V kl = v_key(ks[NR]);
    UNROLL for (int j = 0; j < NREG; j++)
    {
        V p = j ? v_load(in + j * VB - 16) : p0; /* the previous ciphertext blocks */
        x[j] = v_declast(x[j], v_xor(kl, p));
    }
    UNROLL for (int j = 0; j < NREG; j++) v_store(out + j * VB, x[j]);
    return next;
}

/* The first k blocks of a register (0 < k < LPR), zero beside them, and their store: a ymm
 * register's first block; on zmm masked loads and stores (masked-off bytes are not touched,
 * so a lane's last block may end a mapping). */
static inline V v_load_part(const uint8_t *p, size_t k)
{
#if LPR == 4
    return _mm512_maskz_loadu_epi64((__mmask8)((1u << (2 * k)) - 1), p);
#elif LPR == 2
    (void)k;
    return _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)p));
#else
    (void)k;
    return v_load(p);
#endif
}

static inline void v_store_part(uint8_t *p, V v, size_t k)
{
#if LPR == 4
    _mm512_mask_storeu_epi64(p, (__mmask8)((1u << (2 * k)) - 1), v);
#elif LPR == 2
    (void)k;
    _mm_storeu_si128((__m128i *)(void *)p, _mm256_castsi256_si128(v));
#else
    (void)k;
    v_store(p, v);
#endif
}

/* A group's worth of registers for the nb < GBLK blocks left, read and written in place of the
 * buffer a whole group would need: a register holds LPR of the blocks, fewer (the first ones)
 * or none; the rounds run on all of them. Every input block, the previous ones included, is
 * read before the first store (out may be in). Returns the last input block. */
static ALWAYS_INLINE V cbc_dec_part(const V *ks, const int NR, const uint8_t *in, uint8_t *out,
                                    size_t nb, V last)
{
    V x[NREG], pv[NREG], k0 = v_key(ks[0]);
    UNROLL for (int j = 0; j < NREG; j++)
    {
        const size_t b = (size_t)j * LPR; /* its first block */
        x[j] = b + LPR <= nb ? v_load(in + j * VB)
               : b < nb      ? v_load_part(in + j * VB, nb - b)
                             : k0;
        /* blocks b-1 .. b+LPR-2, as many as there are blocks in x[j] */
        pv[j] = !j || b >= nb   ? x[j]
                : b + LPR <= nb ? v_load(in + j * VB - 16)
                                : v_load_part(in + j * VB - 16, nb - b);
    }
    const V next = v_bcast(in + 16 * (nb - 1));
    pv[0] = v_shift_in(last, x[0]);
    UNROLL for (int j = 0; j < NREG; j++) x[j] = v_xor(x[j], k0);
    UNROLL for (int r = 1; r < NR; r++)
    {
        V k = v_key(ks[r]);
        UNROLL for (int j = 0; j < NREG; j++) x[j] = v_dec(x[j], k);
    }
    V kl = v_key(ks[NR]);
    UNROLL for (int j = 0; j < NREG; j++) x[j] = v_declast(x[j], v_xor(kl, pv[j]));
    UNROLL for (int j = 0; j < NREG; j++)
    {
        const size_t b = (size_t)j * LPR;
        if (b + LPR <= nb)
            v_store(out + j * VB, x[j]);
        else if (b < nb)
            v_store_part(out + j * VB, x[j], nb - b);
    }
    return next;
}

static ALWAYS_INLINE void cbc_dec_blocks_nr(const V *ks, const int NR, V *lastp,
                                            const uint8_t *in, uint8_t *out, size_t nb)
{
    V last = *lastp;
    for (; nb >= GBLK; nb -= GBLK, in += GBYTES, out += GBYTES)
        last = cbc_dec_group(ks, NR, in, out, last);
    if (nb)
        last = cbc_dec_part(ks, NR, in, out, nb, last);
    *lastp = last;
}

/* Whole blocks (also after the fused part of cbc_dec_crc); updates *last. */
static void cbc_dec_blocks(const V *ks, unsigned nr, V *last, const uint8_t *in, uint8_t *out,
                           size_t nb)
{
#define CALL(n) cbc_dec_blocks_nr(ks, n, last, in, out, nb)
    NR_SWITCH(nr, CALL);
#undef CALL
}

static void store_last_block(uint8_t iv[16], V last)
{
    uint8_t b[VB];
    v_store(b, last);
    memcpy(iv, b + VB - 16, 16);
}

void FN(aes_cbc_dec)(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                     size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_DEC, IBC_TIER);
    if (!nb)
        return;
    V ks[IBC_AES_MAX_ROUNDS + 1], last = v_bcast(iv);
    load_keys(ks, k->dec, k->rounds);
    cbc_dec_blocks(ks, k->rounds, &last, in, out, nb);
    store_last_block(iv, last);
}

/* ---- CTR --------------------------------------------------------------------------------- */

/* Counters are kept byte-reversed, as little-endian 128-bit integers, one per block; within a
 * part of a call the low 64 bits do not wrap (ctr_parts), so a 64-bit add per block is the
 * 128-bit increment. */
static inline V ctr_start(const uint8_t ctr[16])
{
    return v_add64(v_bswap(v_bcast(ctr)), v_lo64(0, 1));
}

static ALWAYS_INLINE void ctr_gen(V *x, int n, V *cv, V k0)
{
    const V inc = v_lo64(LPR, 0);
    UNROLL for (int j = 0; j < n; j++)
    {
        x[j] = v_xor(v_bswap(*cv), k0);
        *cv = v_add64(*cv, inc);
    }
}

/* XOR len < 16 * n bytes with the keystream of x[0..n). */
static void xor_tail(const uint8_t *in, uint8_t *out, size_t len, const V *x, int n)
{
    uint8_t ks[GBYTES];
    for (int j = 0; j < n; j++)
        v_store(ks + j * VB, x[j]);
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
        __m128i s = _mm_loadu_si128((const __m128i *)(const void *)(ks + i));
        _mm_storeu_si128((__m128i *)(void *)(out + i), _mm_xor_si128(d, s));
    }
    for (; i < len; i++)
        out[i] = in[i] ^ ks[i];
    wipe(ks, sizeof(ks));
}

static ALWAYS_INLINE void ctr_bytes_nr(const V *ks, const int NR, V *cvp, const uint8_t *in,
                                       uint8_t *out, size_t len)
{
    V x[NREG], cv = *cvp;
    for (; len >= GBYTES; len -= GBYTES, in += GBYTES, out += GBYTES) {
        ctr_gen(x, NREG, &cv, v_key(ks[0]));
        enc_rounds(x, NREG, ks, NR);
        UNROLL for (int j = 0; j < NREG; j++)
            v_store(out + j * VB, v_xor(x[j], v_load(in + j * VB)));
    }
    if (len) {
        ctr_gen(x, NREG, &cv, v_key(ks[0]));
        enc_rounds(x, NREG, ks, NR);
        xor_tail(in, out, len, x, NREG);
    }
    *cvp = cv;
}

/* Any number of bytes, continuing the counter state *cv. */
static void ctr_bytes(const V *ks, unsigned nr, V *cv, const uint8_t *in, uint8_t *out,
                      size_t len)
{
#define CALL(n) ctr_bytes_nr(ks, n, cv, in, out, len)
    NR_SWITCH(nr, CALL);
#undef CALL
}

/* Split a CTR call where the low 64 bits of a counter wrap: returns the number of bytes that
 * can be processed from ctr without a carry into the high half (a multiple of 16 when less
 * than len). */
static size_t ctr_room(const uint8_t ctr[16], size_t len)
{
    uint64_t lo = 0;
    for (int i = 8; i < 16; i++)
        lo = lo << 8 | ctr[i];
    uint64_t room = 0 - lo; /* blocks before the wrap; 0 means 2^64 */
    uint64_t blocks = len / 16 + (len % 16 != 0);
    return (room == 0 || blocks <= room) ? len : (size_t)room * 16;
}

/* CTR from counter block ctr, carrying into the high 64 bits where needed. */
static void ctr_any(const V *ks, unsigned nr, const uint8_t ctr[16], const uint8_t *in,
                    uint8_t *out, size_t len)
{
    uint8_t c[16];
    memcpy(c, ctr, 16);
    while (len) {
        size_t n = ctr_room(c, len);
        V cv = ctr_start(c);
        ctr_bytes(ks, nr, &cv, in, out, n);
        in += n;
        out += n;
        len -= n;
        ibc_ctr128_add(c, n / 16);
    }
}

void FN(aes_ctr)(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in, uint8_t *out,
                 size_t len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR, IBC_TIER);
    V ks[IBC_AES_MAX_ROUNDS + 1];
    load_keys(ks, k->enc, k->rounds);
    ctr_any(ks, k->rounds, ctr, in, out, len);
}

/* ---- multi-buffer CBC: lane scheduling --------------------------------------------------- *
 * MB_SLOTS slots (LPR per register) are stepped together, one block each per step. A segment
 * runs while the set of unfinished lanes is fixed: its length is the shortest remaining lane.
 * Slots without a lane of their own duplicate an active lane (same input, same chaining
 * value): they compute and store the very same bytes, so no step needs a mask or a branch,
 * and because every step loads its blocks before it stores them, in-place lanes stay right.
 * On xmm/ymm a step is latency-bound anyway, so the duplicates cost no time. */

typedef struct mb_plan {
    size_t nact;                  /* active lanes; slot s < nact is lane act[s] */
    size_t len;                   /* blocks in this segment */
    unsigned char act[MB_SLOTS];
} mb_plan;

/* left[i]: blocks left in lane i (m lanes). */
static int mb_next(mb_plan *p, const size_t *left, size_t m)
{
    p->nact = 0;
    p->len = 0;
    for (size_t i = 0; i < m; i++) {
        if (!left[i])
            continue;
        if (!p->nact || left[i] < p->len)
            p->len = left[i];
        p->act[p->nact++] = (unsigned char)i;
    }
    return p->nact != 0;
}

/* The lane of slot s. */
static inline size_t mb_lane(const mb_plan *p, size_t s)
{
    return p->act[s % p->nact];
}

/* Registers to step for the plan's active lanes: the duplicates of idle slots cost nothing on
 * a latency-bound step, but on zmm half the registers hold 16 lanes, and a 32-slot step of 16
 * lanes would do every block twice. */
static inline int mb_regs(const mb_plan *p)
{
    return p->nact <= (size_t)MB_REGS_LO * LPR ? MB_REGS_LO : MB_REGS;
}

/* Two ways to end a step, chosen by width.
 *
 * Folded (xmm, zmm): the serial chain of a step is its nr rounds and nothing else. The last
 * round's key carries the XOR of the next plaintext block, AESENCLAST(x, k[nr] ^ k0 ^ P[s+1]) =
 * C[s] ^ k0 ^ P[s+1], which is the next step's state after round 0; C[s] is recovered off the
 * chain for the store (three XORs per register). Eight xmm or four zmm registers hold the
 * lanes: the step is latency-bound, and a cycle more on the chain costs 2.5 %.
 *
 * ymm: AESENCLAST(x, k[nr]) = C[s] is stored as it is and the next state is C[s] ^ (P[s+1] ^
 * k0): one XOR more on the chain, one XOR fewer per register. Each register's two lanes also
 * take a gather and a scatter (a shuffle each) on the vector pipes the AES rounds use, and the
 * step is bound by those pipes rather than by the chain. Zen 3, 2026-11-23, median of 7
 * interleaved runs: kernel/aes128_cbc_enc_x16 vaes256 +5.5 % with this form, aesni -2 %.
 *
 * Either way the next step's loads sit before the last round, not between the steps. At the
 * last step the "next" block is the current one again (a discarded value; no read past a
 * lane). */
#define MB_FOLD_LAST (LPR != 2)

/* The multi-buffer encryption can take the CRC32C of its output on the way (mb_enc_group's
 * crc), for the CBC re-key of the tiers where that beats a separate CRC pass: the xmm tier,
 * whose CRC pass is the slowest (aes_x86_rekey_template.h). */
#define MB_ENC_CRC (LPR == 1)

/* One slot's CRC of its output block at off (cr: raw CRC registers, one per slot). The crc32
 * instructions run on the integer pipes, beside the AES rounds; they read the block back from
 * the store (forwarded) rather than move it out of a vector register, which would take a vector
 * pipe. */
static ALWAYS_INLINE void mb_crc_reg(uint64_t *cr, uint8_t *const *op, int j, size_t off)
{
    UNROLL for (int i = 0; i < LPR; i++)
    {
        const uint8_t *q = op[j * LPR + i] + off;
        cr[j * LPR + i] = crcx_q(crcx_q(cr[j * LPR + i], q), q + 8);
    }
}

/* The vector form (ymm, zmm: MB_ENC_VCRC), for lanes in place: each 16-byte lane of acc[j]
 * stands for the output of its slot so far, as in the folding CRC (crc32c_vpclmul_template.h).
 * A step XORs the new ciphertext block into it after two carry-less multiplies that carry the
 * old value 16 bytes forward (CRC32C_FOLD_128). The block being stored is in a register anyway,
 * the multiplies go beside the AES rounds, and mb_enc_group takes each slot's CRC from its lane
 * at the end of the segment. ibc_cbc_rekey_mb in simd.h has the figures. */
#define MB_ENC_VCRC (LPR > 1)

static ALWAYS_INLINE V mb_vcrc_fold(V acc, V c)
{
    /* qword 0 (the earlier bytes) times x^160, qword 1 times x^96 (crc32c_tables.h) */
    const __m128i k = _mm_set_epi64x((long long)CRC32C_FOLD_128_LO, (long long)CRC32C_FOLD_128_HI);
#if IBC_W == 512
    return v_clfold(acc, _mm512_broadcast_i32x4(k), c);
#elif IBC_W == 256
    return v_clfold(acc, _mm256_broadcastsi128_si256(k), c);
#else
    return v_clfold(acc, k, c);
#endif
}

/* One step: block `off` of every slot, x the state after round 0 (on return, that of block
 * `on`). IP: 0 when the lanes are in place (read through op, ip unused). cr: NULL, or the raw
 * CRC32C of every slot's output, which this step carries on over the previous step's output,
 * a register's slots per inner round. acc: NULL, or the vector form's accumulators (first:
 * the segment's first step, which XORs its block in unfolded). */
static ALWAYS_INLINE void mb_enc_step(const V *ks, const int NR, const int R, const int IP,
                                      const uint8_t *const *ip, uint8_t *const *op, size_t off,
                                      size_t on, V *x, V kx, uint64_t *cr, V *acc,
                                      const int first)
{
    UNROLL for (int r = 1; r < NR; r++)
    {
        V k = v_key(ks[r]);
        UNROLL for (int j = 0; j < R; j++) x[j] = v_enc(x[j], k);
        if (cr)
            UNROLL for (int j = 0; j < R; j++) if (j % (NR - 1) == r - 1)
                mb_crc_reg(cr, op, j, off - 16);
    }
    if (MB_FOLD_LAST) {
        V kk = v_key(kx), kl = v_key(ks[NR]);
        UNROLL for (int j = 0; j < R; j++)
        {
            /* In place, one load of each slot's pointer serves the gather and the scatter: a
             * local copy, which the stores cannot alias. */
            uint8_t *q[LPR];
            if (!IP)
                UNROLL for (int i = 0; i < LPR; i++) q[i] = op[j * LPR + i];
            V t = v_xor(v_gather(IP ? ip + j * LPR : (const uint8_t *const *)q, on), kk);
            /* t = k[nr] ^ k0 ^ P[s+1] */
            x[j] = v_enclast(x[j], t);
            V c = v_xor(x[j], v_xor(t, kl));
            v_scatter(IP ? op + j * LPR : q, off, c);
            if (acc)
                acc[j] = first ? v_xor(acc[j], c) : mb_vcrc_fold(acc[j], c);
        }
    } else {
        V kl = v_key(ks[NR]), k0 = v_key(ks[0]);
        UNROLL for (int j = 0; j < R; j++)
        {
            V c = v_enclast(x[j], kl);
            v_scatter(op + j * LPR, off, c);
            if (acc)
                acc[j] = first ? v_xor(acc[j], c) : mb_vcrc_fold(acc[j], c);
            x[j] = v_xor(c, v_xor(v_gather(IP ? ip + j * LPR : (const uint8_t *const *)op +
                                                                   j * LPR,
                                           on),
                                  k0)); /* C[s] ^ P[s+1] ^ k0 */
        }
    }
}

/* The segment's first step has no previous output to take the CRC of (cr), so it is peeled
 * off; the last step's output is taken after the loop. */
static ALWAYS_INLINE void mb_enc_segment_nr(const V *ks, const int NR, const int R,
                                            const int IP, const uint8_t *const *ip,
                                            uint8_t *const *op, size_t len, V *chain,
                                            uint64_t *cr, V *acc)
{
    const V kx = v_xor(ks[NR], ks[0]);
    const size_t end = 16 * len;
    V x[MB_REGS], a[MB_REGS];
    /* a local copy of the accumulators: the stores through op may alias acc, not a */
    if (acc)
        UNROLL for (int j = 0; j < R; j++) a[j] = acc[j];
    UNROLL for (int j = 0; j < R; j++)
        x[j] = v_xor(v_gather(IP ? ip + j * LPR : (const uint8_t *const *)op + j * LPR, 0),
                     chain[j]);
    mb_enc_step(ks, NR, R, IP, ip, op, 0, end > 16 ? 16 : 0, x, kx, NULL, acc ? a : NULL, 1);
    for (size_t off = 16; off < end; off += 16)
        mb_enc_step(ks, NR, R, IP, ip, op, off, off + 16 < end ? off + 16 : off, x, kx, cr,
                    acc ? a : NULL, 0);
    if (acc)
        UNROLL for (int j = 0; j < R; j++) acc[j] = a[j];
    const V k0 = ks[0];
    UNROLL for (int j = 0; j < R; j++)
        chain[j] = v_xor(v_gather((const uint8_t *const *)(op + j * LPR), end - 16), k0);
    if (cr)
        UNROLL for (int j = 0; j < R; j++) mb_crc_reg(cr, op, j, end - 16);
}

/* regs: MB_REGS, or MB_REGS_LO (mb_regs). acc (the vector form): lanes in place, ip NULL. */
static void mb_enc_segment(const V *ks, unsigned nr, int regs, const uint8_t *const *ip,
                           uint8_t *const *op, size_t len, V *chain, uint64_t *cr, V *acc)
{
    if (MB_ENC_CRC && cr) {
#define CALL(n) mb_enc_segment_nr(ks, n, MB_REGS, 1, ip, op, len, chain, cr, NULL)
        NR_SWITCH(nr, CALL);
#undef CALL
    } else if (MB_ENC_VCRC && acc && MB_REGS_LO != MB_REGS && regs == MB_REGS_LO) {
#define CALL(n) mb_enc_segment_nr(ks, n, MB_REGS_LO, 0, NULL, op, len, chain, NULL, acc)
        NR_SWITCH(nr, CALL);
#undef CALL
    } else if (MB_ENC_VCRC && acc) {
#define CALL(n) mb_enc_segment_nr(ks, n, MB_REGS, 0, NULL, op, len, chain, NULL, acc)
        NR_SWITCH(nr, CALL);
#undef CALL
    } else if (MB_REGS_LO != MB_REGS && regs == MB_REGS_LO) {
#define CALL(n) mb_enc_segment_nr(ks, n, MB_REGS_LO, 1, ip, op, len, chain, NULL, NULL)
        NR_SWITCH(nr, CALL);
#undef CALL
    } else {
#define CALL(n) mb_enc_segment_nr(ks, n, MB_REGS, 1, ip, op, len, chain, NULL, NULL)
        NR_SWITCH(nr, CALL);
#undef CALL
    }
}

/* crc: NULL, or per lane the CRC32C (zlib-style) to carry on over its output. */
static void mb_enc_group(const V *ks, unsigned nr, ibc_cbc_lane *lanes, size_t m, uint32_t *crc)
{
    size_t left[MB_SLOTS], done[MB_SLOTS] = {0};
    mb_plan p;
    for (size_t i = 0; i < m; i++)
        left[i] = lanes[i].nblocks;
    while (mb_next(&p, left, m)) {
        const uint8_t *ip[MB_SLOTS];
        uint8_t *op[MB_SLOTS];
        uint8_t blk[MB_SLOTS * 16];
        uint64_t cr[MB_SLOTS];
        V chain[MB_REGS], acc[MB_REGS];
        int inplace = 1;
        for (size_t s = 0; s < MB_SLOTS; s++) {
            size_t l = mb_lane(&p, s);
            ip[s] = lanes[l].in + 16 * done[l];
            op[s] = lanes[l].out + 16 * done[l];
            inplace &= ip[s] == op[s];
            memcpy(blk + 16 * s, lanes[l].iv, 16);
            cr[s] = crc ? (uint32_t)~crc[l] : 0;
        }
        for (int j = 0; j < MB_REGS; j++)
            chain[j] = v_xor(v_load(blk + j * VB), ks[0]);
        /* The vector form takes lanes in place (the CBC re-key's); others get a CRC pass. */
        const int vcrc = MB_ENC_VCRC && crc && inplace;
        uint8_t lanecrc[MB_SLOTS * 16];
        if (vcrc) {
            /* the raw CRC goes into the first 4 bytes of the slot's first block */
            memset(lanecrc, 0, sizeof(lanecrc));
            for (size_t s = 0; s < MB_SLOTS; s++)
                memcpy(lanecrc + 16 * s, &(uint32_t){(uint32_t)cr[s]}, 4);
            for (int j = 0; j < MB_REGS; j++)
                acc[j] = v_load(lanecrc + j * VB);
        }
        mb_enc_segment(ks, nr, mb_regs(&p), vcrc ? NULL : ip, op, p.len, chain,
                       MB_ENC_CRC && crc ? cr : NULL, vcrc ? acc : NULL);
        for (int j = 0; j < MB_REGS; j++)
            v_store(blk + j * VB, v_xor(chain[j], ks[0]));
        if (vcrc) {
            /* a lane is a 16-byte stand-in for its slot's output: its CRC from state 0 */
            for (int j = 0; j < MB_REGS; j++)
                v_store(lanecrc + j * VB, acc[j]);
            for (size_t s = 0; s < p.nact; s++)
                cr[s] = _mm_crc32_u64(_mm_crc32_u64(0, crcx_ld(lanecrc + 16 * s)),
                                      crcx_ld(lanecrc + 16 * s + 8));
        } else if (MB_ENC_VCRC && crc) {
            for (size_t s = 0; s < p.nact; s++)
                cr[s] = crcx_raw((uint32_t)cr[s], op[s], 16 * p.len);
        }
        for (size_t s = 0; s < p.nact; s++) {
            size_t l = p.act[s];
            memcpy(lanes[l].iv, blk + 16 * s, 16);
            if (crc)
                crc[l] = ~(uint32_t)cr[s];
            done[l] += p.len;
            left[l] -= p.len;
        }
    }
}

void FN(aes_cbc_enc_mb)(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC_MB, IBC_TIER);
    V ks[IBC_AES_MAX_ROUNDS + 1];
    load_keys(ks, k->enc, k->rounds);
    for (size_t b = 0; b < n; b += MB_SLOTS)
        mb_enc_group(ks, k->rounds, lanes + b, n - b < MB_SLOTS ? n - b : MB_SLOTS, NULL);
    wipe(ks, sizeof(ks)); /* the round keys */
}

void FN(aes_cbc_enc_mb_crc)(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n, uint32_t *crc)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC_MB, IBC_TIER);
    V ks[IBC_AES_MAX_ROUNDS + 1];
    load_keys(ks, k->enc, k->rounds);
    for (size_t b = 0; b < n; b += MB_SLOTS)
        mb_enc_group(ks, k->rounds, lanes + b, n - b < MB_SLOTS ? n - b : MB_SLOTS, crc + b);
    wipe(ks, sizeof(ks)); /* the round keys */
}

#include "aes_x86_fused_template.h"
#include "aes_x86_short_template.h"
