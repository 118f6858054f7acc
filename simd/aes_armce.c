/*
 * aes_armce.c - AES with the ARMv8 Cryptography Extensions (the `armce` tier).
 *
 * AESE does AddRoundKey, SubBytes and ShiftRows; AESMC does MixColumns; AESD/AESIMC are the
 * inverses, consuming the equivalent-inverse schedule of simd.h (dec[]). A round is an
 * AESE+AESMC pair that cores fuse, with a latency of 2-4 cycles and a throughput of one or two
 * per cycle, so every mode that allows it keeps 8 independent blocks in flight: ECB, CTR and
 * CBC decryption by interleaving consecutive blocks, CBC encryption (serial per stream) by
 * interleaving up to 8 streams in the multi-buffer kernel.
 *
 * The fused kernels (CBC decrypt + CRC, CTR + CRC, double CTR + CRC) run one CRC32CX chain
 * over the same 128 bytes that the 8 AES chains work on: 16 CRC32CX per 8 blocks hide under
 * the ~80 AES instructions, so the CRC costs next to nothing. The fused CBC re-key runs up
 * to 8 streams side by side, each block decrypted, re-encrypted and both CRCs updated while
 * it is in registers: the plaintext never reaches memory.
 *
 * Every helper is static and inlined into the entry points, which are built with
 * IBC_FLAGS_ARMCE only.
 */
#include <arm_acle.h>
#include <arm_neon.h>
#include <string.h>

#include "tiers.h"

#if defined(__AARCH64EB__)
#error "aes_armce.c assumes little-endian AArch64"
#endif

#define INLINE static inline __attribute__((always_inline))
#define PAR 8 /* blocks (or streams) in flight */

/* ---- rounds ------------------------------------------------------------------------------ */

/* Encryption rounds r0..Nr of n blocks with key k (r0 = 0 for a whole encryption). */
INLINE void enc_rounds(const ibc_aes_key *k, uint8x16_t *b, int n, uint32_t r0)
{
    uint32_t nr = k->rounds;
    for (uint32_t r = r0; r + 1 < nr; r++) {
        uint8x16_t rk = vld1q_u8(k->enc[r]);
#pragma GCC unroll 8
        for (int j = 0; j < n; j++)
            b[j] = vaesmcq_u8(vaeseq_u8(b[j], rk));
    }
    uint8x16_t rk = vld1q_u8(k->enc[nr - 1]), last = vld1q_u8(k->enc[nr]);
#pragma GCC unroll 8
    for (int j = 0; j < n; j++)
        b[j] = veorq_u8(vaeseq_u8(b[j], rk), last);
}

INLINE void enc_n(const ibc_aes_key *k, uint8x16_t *b, int n)
{
    enc_rounds(k, b, n, 0);
}

/* n blocks under k1 and n blocks under k2 with their rounds interleaved (key sizes may
 * differ: the common rounds run together, the rest separately). */
INLINE void enc2_n(const ibc_aes_key *k1, uint8x16_t *a, const ibc_aes_key *k2, uint8x16_t *b,
                   int n)
{
    uint32_t common = (k1->rounds < k2->rounds ? k1->rounds : k2->rounds) - 1;
    for (uint32_t r = 0; r < common; r++) {
        uint8x16_t rk1 = vld1q_u8(k1->enc[r]), rk2 = vld1q_u8(k2->enc[r]);
#pragma GCC unroll 8
        for (int j = 0; j < n; j++) {
            a[j] = vaesmcq_u8(vaeseq_u8(a[j], rk1));
            b[j] = vaesmcq_u8(vaeseq_u8(b[j], rk2));
        }
    }
    enc_rounds(k1, a, n, common);
    enc_rounds(k2, b, n, common);
}

INLINE void dec_n(const ibc_aes_key *k, uint8x16_t *b, int n)
{
    uint32_t nr = k->rounds;
    for (uint32_t r = 0; r + 1 < nr; r++) {
        uint8x16_t rk = vld1q_u8(k->dec[r]);
#pragma GCC unroll 8
        for (int j = 0; j < n; j++)
            b[j] = vaesimcq_u8(vaesdq_u8(b[j], rk));
    }
    uint8x16_t rk = vld1q_u8(k->dec[nr - 1]), last = vld1q_u8(k->dec[nr]);
#pragma GCC unroll 8
    for (int j = 0; j < n; j++)
        b[j] = veorq_u8(vaesdq_u8(b[j], rk), last);
}

/* CRC32C register (raw, inverted) over the 16 bytes of v. */
INLINE uint32_t crc_vec(uint32_t c, uint8x16_t v)
{
    uint64x2_t w = vreinterpretq_u64_u8(v);
    c = __crc32cd(c, vgetq_lane_u64(w, 0));
    return __crc32cd(c, vgetq_lane_u64(w, 1));
}

INLINE uint32_t crc_bytes(uint32_t c, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        c = __crc32cb(c, p[i]);
    return c;
}

/* ---- key schedule ------------------------------------------------------------------------ */

/* SubWord: AESE with a zero key on four copies of w; ShiftRows only moves equal columns. */
static uint32_t sub_word(uint32_t w)
{
    uint8x16_t v = vaeseq_u8(vreinterpretq_u8_u32(vdupq_n_u32(w)), vdupq_n_u8(0));
    return vgetq_lane_u32(vreinterpretq_u32_u8(v), 0);
}

void aes_expand_armce(ibc_aes_key *k, const uint8_t *key, size_t key_len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_EXPAND, IBC_TIER_ARMCE);
    /* FIPS-197 5.2 KeyExpansion; words are little-endian loads, so storing them back gives
     * the byte order of simd.h. */
    uint32_t w[4 * (IBC_AES_MAX_ROUNDS + 1)];
    uint32_t nk = (uint32_t)(key_len / 4), nr = nk + 6, rcon = 1;
    memcpy(w, key, 4 * nk);
    for (uint32_t i = nk; i < 4 * (nr + 1); i++) {
        uint32_t t = w[i - 1];
        if (i % nk == 0) {
            t = sub_word((t >> 8) | (t << 24)) ^ rcon; /* RotWord, SubWord, Rcon */
            rcon = ((rcon << 1) ^ ((rcon >> 7) * 0x1b)) & 0xff;
        } else if (nk > 6 && i % nk == 4) {
            t = sub_word(t);
        }
        w[i] = w[i - nk] ^ t;
    }
    k->rounds = nr;
    memcpy(k->enc, w, 16 * (nr + 1));
    /* Equivalent inverse cipher schedule: dec[i] = InvMixColumns(enc[nr - i]). */
    vst1q_u8(k->dec[0], vld1q_u8(k->enc[nr]));
    for (uint32_t r = 1; r < nr; r++)
        vst1q_u8(k->dec[r], vaesimcq_u8(vld1q_u8(k->enc[nr - r])));
    vst1q_u8(k->dec[nr], vld1q_u8(k->enc[0]));
    memset(w, 0, sizeof(w));
    __asm__ volatile("" : : "r"(w) : "memory"); /* keep the wipe */
}

/* ---- ECB --------------------------------------------------------------------------------- */

void aes_ecb_enc_armce(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_ENC, IBC_TIER_ARMCE);
    uint8x16_t b[PAR];
    for (; nb >= PAR; nb -= PAR, in += 16 * PAR, out += 16 * PAR) {
#pragma GCC unroll 8
        for (int j = 0; j < PAR; j++)
            b[j] = vld1q_u8(in + 16 * j);
        enc_n(k, b, PAR);
#pragma GCC unroll 8
        for (int j = 0; j < PAR; j++)
            vst1q_u8(out + 16 * j, b[j]);
    }
    for (; nb; nb--, in += 16, out += 16) {
        b[0] = vld1q_u8(in);
        enc_n(k, b, 1);
        vst1q_u8(out, b[0]);
    }
}

void aes_ecb_dec_armce(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_DEC, IBC_TIER_ARMCE);
    uint8x16_t b[PAR];
    for (; nb >= PAR; nb -= PAR, in += 16 * PAR, out += 16 * PAR) {
#pragma GCC unroll 8
        for (int j = 0; j < PAR; j++)
            b[j] = vld1q_u8(in + 16 * j);
        dec_n(k, b, PAR);
#pragma GCC unroll 8
        for (int j = 0; j < PAR; j++)
            vst1q_u8(out + 16 * j, b[j]);
    }
    for (; nb; nb--, in += 16, out += 16) {
        b[0] = vld1q_u8(in);
        dec_n(k, b, 1);
        vst1q_u8(out, b[0]);
    }
}

/* ---- CBC encryption: serial per stream, streams interleaved ------------------------------
 *
 * The chain of one stream is kept as y = E(x) ^ enc[Nr], the ciphertext before its final
 * AddRoundKey. The next block's first AESE then takes y as the state and in ^ enc[0] ^ enc[Nr]
 * as the "key" (AESE XORs them), so no EOR sits on the serial path: Nr AESE and Nr-1 AESMC
 * per block. */

typedef struct cbc_slot {
    const uint8_t *in;
    uint8_t *out;
    size_t left;
    ibc_cbc_lane *lane;
} cbc_slot;

/* m blocks of each of the w streams s[0..w) whose chains are y[0..w). */
INLINE void cbc_enc_run(const ibc_aes_key *k, cbc_slot *s, uint8x16_t *y, int w, size_t m)
{
    uint32_t nr = k->rounds;
    uint8x16_t last = vld1q_u8(k->enc[nr]);
    uint8x16_t first = veorq_u8(vld1q_u8(k->enc[0]), last);
    uint8x16_t x[PAR];
    for (size_t i = 0; i < m; i++) {
#pragma GCC unroll 8
        for (int j = 0; j < w; j++)
            x[j] = vaesmcq_u8(vaeseq_u8(y[j], veorq_u8(vld1q_u8(s[j].in + 16 * i), first)));
        for (uint32_t r = 1; r + 1 < nr; r++) {
            uint8x16_t rk = vld1q_u8(k->enc[r]);
#pragma GCC unroll 8
            for (int j = 0; j < w; j++)
                x[j] = vaesmcq_u8(vaeseq_u8(x[j], rk));
        }
        uint8x16_t rk = vld1q_u8(k->enc[nr - 1]);
#pragma GCC unroll 8
        for (int j = 0; j < w; j++) {
            y[j] = vaeseq_u8(x[j], rk);
            vst1q_u8(s[j].out + 16 * i, veorq_u8(y[j], last));
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < w; j++) {
        s[j].in += 16 * m;
        s[j].out += 16 * m;
        s[j].left -= m;
    }
}

void aes_cbc_enc_armce(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                       size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC, IBC_TIER_ARMCE);
    uint8x16_t last = vld1q_u8(k->enc[k->rounds]);
    uint8x16_t y = veorq_u8(vld1q_u8(iv), last);
    cbc_slot s = {in, out, nb, NULL};
    cbc_enc_run(k, &s, &y, 1, nb);
    vst1q_u8(iv, veorq_u8(y, last));
}

void aes_cbc_enc_mb_armce(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC_MB, IBC_TIER_ARMCE);
    /* Up to PAR streams run together; each run lasts as long as the shortest of them, then the
     * finished streams leave and waiting ones take their slots. */
    uint8x16_t last = vld1q_u8(k->enc[k->rounds]);
    cbc_slot s[PAR];
    uint8x16_t y[PAR];
    size_t next = 0;
    int a = 0;
    for (;;) {
        for (; a < PAR && next < n; next++) {
            if (lanes[next].nblocks == 0)
                continue;
            s[a] = (cbc_slot){lanes[next].in, lanes[next].out, lanes[next].nblocks, &lanes[next]};
            y[a] = veorq_u8(vld1q_u8(lanes[next].iv), last);
            a++;
        }
        if (a == 0)
            break;
        size_t m = s[0].left;
        for (int j = 1; j < a; j++)
            m = s[j].left < m ? s[j].left : m;
        switch (a) { /* one unrolled body per width */
        case 8: cbc_enc_run(k, s, y, 8, m); break;
        case 7: cbc_enc_run(k, s, y, 7, m); break;
        case 6: cbc_enc_run(k, s, y, 6, m); break;
        case 5: cbc_enc_run(k, s, y, 5, m); break;
        case 4: cbc_enc_run(k, s, y, 4, m); break;
        case 3: cbc_enc_run(k, s, y, 3, m); break;
        case 2: cbc_enc_run(k, s, y, 2, m); break;
        default: cbc_enc_run(k, s, y, 1, m); break;
        }
        for (int j = a - 1; j >= 0; j--) {
            if (s[j].left)
                continue;
            vst1q_u8(s[j].lane->iv, veorq_u8(y[j], last));
            a--;
            s[j] = s[a];
            y[j] = y[a];
        }
    }
}

/* ---- CBC decryption (+ CRC of the ciphertext) -------------------------------------------- */

INLINE void cbc_dec_core(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                         size_t nb, uint32_t *crc_in)
{
    uint32_t c = crc_in ? ~*crc_in : 0;
    uint8x16_t prev = vld1q_u8(iv), ct[PAR], b[PAR];
    for (; nb >= PAR; nb -= PAR, in += 16 * PAR, out += 16 * PAR) {
#pragma GCC unroll 8
        for (int j = 0; j < PAR; j++)
            b[j] = ct[j] = vld1q_u8(in + 16 * j);
        if (crc_in)
#pragma GCC unroll 8
            for (int j = 0; j < PAR; j++)
                c = crc_vec(c, ct[j]);
        dec_n(k, b, PAR);
        vst1q_u8(out, veorq_u8(b[0], prev));
#pragma GCC unroll 8
        for (int j = 1; j < PAR; j++)
            vst1q_u8(out + 16 * j, veorq_u8(b[j], ct[j - 1]));
        prev = ct[PAR - 1];
    }
    for (; nb; nb--, in += 16, out += 16) {
        b[0] = ct[0] = vld1q_u8(in);
        if (crc_in)
            c = crc_vec(c, ct[0]);
        dec_n(k, b, 1);
        vst1q_u8(out, veorq_u8(b[0], prev));
        prev = ct[0];
    }
    vst1q_u8(iv, prev);
    if (crc_in)
        *crc_in = ~c;
}

void aes_cbc_dec_armce(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                       size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_DEC, IBC_TIER_ARMCE);
    cbc_dec_core(k, iv, in, out, nb, NULL);
}

void aes_cbc_dec_crc_armce(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in,
                           uint8_t *out, size_t nb, uint32_t *crc_in)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_DEC_CRC, IBC_TIER_ARMCE);
    cbc_dec_core(k, iv, in, out, nb, crc_in);
}

/* ---- CTR (+ second keystream, + CRCs) ----------------------------------------------------
 *
 * The counter is held as two native 64-bit halves; a block is their big-endian bytes, and the
 * increment carries from the low half into the high one (128-bit big-endian counter). */

typedef struct ctr128 {
    uint64_t hi, lo;
} ctr128;

INLINE ctr128 ctr_load(const uint8_t c[16])
{
    uint64x2_t v = vreinterpretq_u64_u8(vrev64q_u8(vld1q_u8(c)));
    return (ctr128){vgetq_lane_u64(v, 0), vgetq_lane_u64(v, 1)};
}

/* The current counter block; then advance by one. */
INLINE uint8x16_t ctr_next(ctr128 *c)
{
    uint8x16_t b = vrev64q_u8(vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(c->hi),
                                                                  vcreate_u64(c->lo))));
    c->lo++;
    c->hi += c->lo == 0;
    return b;
}

/* out = in ^ E(k1, ctr1...) [^ E(k2, ctr2...)], with CRC32C of in and/or out. k2, crc_in and
 * crc_out may be NULL; the entry points pass constants, so the tests fold away. */
INLINE void ctr_core(const ibc_aes_key *k1, const uint8_t ctr1[16], const ibc_aes_key *k2,
                     const uint8_t ctr2[16], const uint8_t *in, uint8_t *out, size_t len,
                     uint32_t *crc_in, uint32_t *crc_out)
{
    ctr128 c1 = ctr_load(ctr1), c2 = {0, 0};
    if (k2)
        c2 = ctr_load(ctr2);
    uint32_t ci = crc_in ? ~*crc_in : 0, co = crc_out ? ~*crc_out : 0;
    uint8x16_t a[PAR], b[PAR], d;
    for (; len >= 16 * PAR; len -= 16 * PAR, in += 16 * PAR, out += 16 * PAR) {
#pragma GCC unroll 8
        for (int j = 0; j < PAR; j++)
            a[j] = ctr_next(&c1);
        if (k2) {
#pragma GCC unroll 8
            for (int j = 0; j < PAR; j++)
                b[j] = ctr_next(&c2);
            enc2_n(k1, a, k2, b, PAR);
        } else {
            enc_n(k1, a, PAR);
        }
#pragma GCC unroll 8
        for (int j = 0; j < PAR; j++) {
            d = vld1q_u8(in + 16 * j);
            if (crc_in)
                ci = crc_vec(ci, d);
            d = veorq_u8(d, a[j]);
            if (k2)
                d = veorq_u8(d, b[j]);
            if (crc_out)
                co = crc_vec(co, d);
            a[j] = d;
        }
#pragma GCC unroll 8
        for (int j = 0; j < PAR; j++)
            vst1q_u8(out + 16 * j, a[j]);
    }
    for (; len; len -= len < 16 ? len : 16, in += 16, out += 16) {
        a[0] = ctr_next(&c1);
        if (k2) {
            b[0] = ctr_next(&c2);
            enc2_n(k1, a, k2, b, 1);
            a[0] = veorq_u8(a[0], b[0]);
        } else {
            enc_n(k1, a, 1);
        }
        if (len >= 16) {
            d = vld1q_u8(in);
            if (crc_in)
                ci = crc_vec(ci, d);
            d = veorq_u8(d, a[0]);
            if (crc_out)
                co = crc_vec(co, d);
            vst1q_u8(out, d);
        } else {
            uint8_t t[16] = {0};
            memcpy(t, in, len);
            if (crc_in)
                ci = crc_bytes(ci, t, len);
            vst1q_u8(t, veorq_u8(vld1q_u8(t), a[0]));
            if (crc_out)
                co = crc_bytes(co, t, len);
            memcpy(out, t, len);
        }
    }
    if (crc_in)
        *crc_in = ~ci;
    if (crc_out)
        *crc_out = ~co;
}

void aes_ctr_armce(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in, uint8_t *out,
                   size_t len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR, IBC_TIER_ARMCE);
    ctr_core(k, ctr, NULL, NULL, in, out, len, NULL, NULL);
}

void aes_ctr_crc_armce(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in,
                       uint8_t *out, size_t len, uint32_t *crc_in, uint32_t *crc_out)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR_CRC, IBC_TIER_ARMCE);
    ctr_core(k, ctr, NULL, NULL, in, out, len, crc_in, crc_out);
}

void aes_ctr2_crc_armce(const ibc_aes_key *k1, const uint8_t ctr1[16], const ibc_aes_key *k2,
                        const uint8_t ctr2[16], const uint8_t *in, uint8_t *out, size_t len,
                        uint32_t *crc_in, uint32_t *crc_out)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR2_CRC, IBC_TIER_ARMCE);
    ctr_core(k1, ctr1, k2, ctr2, in, out, len, crc_in, crc_out);
}

/* ---- fused CBC re-key, multi-buffer -------------------------------------------------------
 *
 * Like the CBC encryption above, up to PAR streams share each step, the shortest deciding how
 * many steps a run lasts. One step takes the next block of every stream through
 * CRC(in), CBC-decrypt under dk, CBC-encrypt under ek (chain kept as y, see above), CRC(out). */

typedef struct rekey_slot {
    const uint8_t *in;
    uint8_t *out;
    size_t left;
    ibc_rekey_lane *lane;
    uint32_t crc_in, crc_out; /* raw (inverted) registers */
} rekey_slot;

INLINE void rekey_run(const ibc_aes_key *dk, const ibc_aes_key *ek, rekey_slot *s,
                      uint8x16_t *prev, uint8x16_t *y, int w, size_t m)
{
    uint32_t nr = ek->rounds;
    uint8x16_t last = vld1q_u8(ek->enc[nr]);
    uint8x16_t first = veorq_u8(vld1q_u8(ek->enc[0]), last);
    uint8x16_t c[PAR], x[PAR];
    for (size_t i = 0; i < m; i++) {
#pragma GCC unroll 8
        for (int j = 0; j < w; j++) {
            x[j] = c[j] = vld1q_u8(s[j].in + 16 * i);
            s[j].crc_in = crc_vec(s[j].crc_in, c[j]);
        }
        dec_n(dk, x, w);
#pragma GCC unroll 8
        for (int j = 0; j < w; j++) {
            x[j] = veorq_u8(veorq_u8(x[j], prev[j]), first); /* plaintext ^ enc[0] ^ enc[Nr] */
            prev[j] = c[j];
            x[j] = vaesmcq_u8(vaeseq_u8(y[j], x[j]));
        }
        for (uint32_t r = 1; r + 1 < nr; r++) {
            uint8x16_t rk = vld1q_u8(ek->enc[r]);
#pragma GCC unroll 8
            for (int j = 0; j < w; j++)
                x[j] = vaesmcq_u8(vaeseq_u8(x[j], rk));
        }
        uint8x16_t rk = vld1q_u8(ek->enc[nr - 1]);
#pragma GCC unroll 8
        for (int j = 0; j < w; j++) {
            y[j] = vaeseq_u8(x[j], rk);
            c[j] = veorq_u8(y[j], last);
            vst1q_u8(s[j].out + 16 * i, c[j]);
            s[j].crc_out = crc_vec(s[j].crc_out, c[j]);
        }
    }
    for (int j = 0; j < w; j++) {
        s[j].in += 16 * m;
        s[j].out += 16 * m;
        s[j].left -= m;
    }
}

void aes_cbc_rekey_mb_armce(const ibc_aes_key *dk, const ibc_aes_key *ek,
                            ibc_rekey_lane *lanes, size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_REKEY_MB, IBC_TIER_ARMCE);
    uint8x16_t last = vld1q_u8(ek->enc[ek->rounds]);
    rekey_slot s[PAR];
    uint8x16_t prev[PAR], y[PAR];
    size_t next = 0;
    int a = 0;
    for (;;) {
        for (; a < PAR && next < n; next++) {
            ibc_rekey_lane *l = &lanes[next];
            if (l->nblocks == 0)
                continue;
            s[a] = (rekey_slot){l->in, l->out, l->nblocks, l, ~l->crc_in, ~l->crc_out};
            prev[a] = vld1q_u8(l->iv_in);
            y[a] = veorq_u8(vld1q_u8(l->iv_out), last);
            a++;
        }
        if (a == 0)
            break;
        size_t m = s[0].left;
        for (int j = 1; j < a; j++)
            m = s[j].left < m ? s[j].left : m;
        switch (a) { /* one unrolled body per width */
        case 8: rekey_run(dk, ek, s, prev, y, 8, m); break;
        case 7: rekey_run(dk, ek, s, prev, y, 7, m); break;
        case 6: rekey_run(dk, ek, s, prev, y, 6, m); break;
        case 5: rekey_run(dk, ek, s, prev, y, 5, m); break;
        case 4: rekey_run(dk, ek, s, prev, y, 4, m); break;
        case 3: rekey_run(dk, ek, s, prev, y, 3, m); break;
        case 2: rekey_run(dk, ek, s, prev, y, 2, m); break;
        default: rekey_run(dk, ek, s, prev, y, 1, m); break;
        }
        for (int j = a - 1; j >= 0; j--) {
            if (s[j].left)
                continue;
            ibc_rekey_lane *l = s[j].lane;
            vst1q_u8(l->iv_in, prev[j]);
            vst1q_u8(l->iv_out, veorq_u8(y[j], last));
            l->crc_in = ~s[j].crc_in;
            l->crc_out = ~s[j].crc_out;
            a--;
            s[j] = s[a];
            prev[j] = prev[a];
            y[j] = y[a];
        }
    }
}

/* The short-stream re-keys are the generic compositions here: the redo log's streams have
 * only been measured on x86 (redo_bench); qemu cannot tell what an interleaved kernel would
 * gain on a real ARM core. */
void aes_cbc_rekey_short_armce(const ibc_aes_key *dk, const ibc_aes_key *ek,
                               ibc_short_lane *lanes, size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_REKEY_SHORT, IBC_TIER_ARMCE);
    ibc_generic_cbc_rekey_short(&ibc_kernels_armce, dk, ek, lanes, n);
}

void aes_ctr2_short_armce(const ibc_aes_key *k1, const ibc_aes_key *k2, ibc_short_lane *lanes,
                          size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR2_SHORT, IBC_TIER_ARMCE);
    ibc_generic_ctr2_short(&ibc_kernels_armce, k1, k2, lanes, n);
}
