/*
 * aes_portable.c - constant-time bitsliced AES in portable C (the `portable` tier).
 *
 * The one idea: four blocks are held as eight 64-bit words ("planes"), word i holding bit i
 * of all 64 state bytes. Every AES step then becomes a fixed sequence of word operations with
 * no table lookups and no branch or index that depends on key or data:
 *
 *   SubBytes    the Boyar-Peralta circuit of 128 XOR/XNOR/AND gates, depth 16, over the
 *               eight planes (J. Boyar, R. Peralta, "A depth-16 circuit for the AES S-box",
 *               IACR ePrint 2011/332: top linear layer, the 63-gate shared GF(2^4)-based
 *               inversion, bottom linear layer); the inverse S-box is
 *               the forward circuit between two inverse affine maps, since
 *               S^-1(x) = A^-1(S(A^-1(x))) where S(x) = A(x^-1) (FIPS-197 5.1.1, 5.3.2);
 *   ShiftRows   masks and shifts inside each plane;
 *   MixColumns  word rotations (a row is 16 bits of a plane) and XORs, with xtime as a
 *               renaming of planes plus three XORs.
 *
 * Bit layout of a plane: bit 16*r + 4*c + b is state byte (row r, column c) of block b
 * (FIPS-197 3.4: byte 4*c + r of the block). Rows are 16-bit groups, so row r+1 is a rotation
 * by 16; columns are nibbles within a row, so ShiftRows rotates nibbles within a group.
 *
 * Packing (pack/unpack) reaches that layout from plain bytes in two steps: the two 32-bit
 * columns c and c+2 of a block are interleaved bytewise into one 64-bit word (eight words
 * for four blocks: word 4*(c&1) + b), then an 8x8 bit-matrix transpose across the eight words
 * (three SWAPMOVE stages) turns "byte p, bit i of word k" into "bit 8*p + k of plane i".
 * 8*p + k = 8*(2r + (c>>1)) + 4*(c&1) + b = 16r + 4c + b.
 *
 * Round keys stay in the tier-independent layout of simd.h; each kernel call packs the key
 * (four copies of each round key) into a local schedule and wipes it on return. Modes that can
 * use four independent blocks do (ECB, CTR, CBC decryption, multi-buffer CBC encryption with
 * four lanes); serial CBC encryption uses one slot of four. Decryption is the inverse cipher of
 * FIPS-197 5.3 on the encryption schedule.
 */
#include <string.h>

#include "tiers.h"

#define NB 4             /* blocks per bitsliced state */
/* The round functions are small and run on eight words the compiler should keep in registers
 * across a whole round; force them inline. */
#define INLINE static inline __attribute__((always_inline))
#define GROUP (16 * NB)  /* bytes per bitsliced state */

typedef struct bs_key {
    uint64_t sk[IBC_AES_MAX_ROUNDS + 1][8];
    uint32_t rounds;
} bs_key;

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void wipe(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ volatile("" : : "r"(p) : "memory"); /* keep the wipe */
}

INLINE uint64_t rotr64(uint64_t x, int n)
{
    return (x >> n) | (x << (64 - n));
}

/* ---- packing ----------------------------------------------------------------------------- */

/* Byte r of the low 32 bits of x to byte 2r, zeros in between. */
static inline uint64_t spread(uint64_t x)
{
    x &= 0xffffffffull;
    x = (x | x << 16) & 0x0000ffff0000ffffull;
    return (x | x << 8) & 0x00ff00ff00ff00ffull;
}

/* Inverse of spread: bytes 0, 2, 4, 6 of x to bytes 0..3. */
static inline uint64_t unspread(uint64_t x)
{
    x &= 0x00ff00ff00ff00ffull;
    x = (x | x >> 8) & 0x0000ffff0000ffffull;
    return (x | x >> 16) & 0xffffffffull;
}

/* Exchange the bits of a selected by m << s with the bits of b selected by m. */
#define SWAPMOVE(a, b, m, s)                                                                   \
    do {                                                                                       \
        uint64_t t_ = (((a) >> (s)) ^ (b)) & (m);                                              \
        (b) ^= t_;                                                                             \
        (a) ^= t_ << (s);                                                                      \
    } while (0)

/* 8x8 bit-matrix transpose within every byte position: bit i of byte p of w[k] <-> bit k of
 * byte p of w[i]. An involution. */
static inline void transpose8(uint64_t w[8])
{
    for (int k = 0; k < 8; k += 2)
        SWAPMOVE(w[k], w[k + 1], 0x5555555555555555ull, 1);
    for (int k = 0; k < 8; k += 4) {
        SWAPMOVE(w[k], w[k + 2], 0x3333333333333333ull, 2);
        SWAPMOVE(w[k + 1], w[k + 3], 0x3333333333333333ull, 2);
    }
    for (int k = 0; k < 4; k++)
        SWAPMOVE(w[k], w[k + 4], 0x0f0f0f0f0f0f0f0full, 4);
}

/* Four 16-byte blocks (64 bytes) into planes. */
static void pack(uint64_t q[8], const uint8_t in[GROUP])
{
    for (int b = 0; b < NB; b++) {
        uint64_t lo = load_le64(in + 16 * b), hi = load_le64(in + 16 * b + 8);
        q[b] = spread(lo) | spread(hi) << 8;                /* columns 0 and 2 */
        q[4 + b] = spread(lo >> 32) | spread(hi >> 32) << 8; /* columns 1 and 3 */
    }
    transpose8(q);
}

static void unpack(uint8_t out[GROUP], const uint64_t q[8])
{
    uint64_t w[8];
    memcpy(w, q, sizeof(w));
    transpose8(w);
    for (int b = 0; b < NB; b++) {
        store_le64(out + 16 * b, unspread(w[b]) | unspread(w[4 + b]) << 32);
        store_le64(out + 16 * b + 8, unspread(w[b] >> 8) | unspread(w[4 + b] >> 8) << 32);
    }
}

/* ---- the round functions ----------------------------------------------------------------- */

/* SubBytes on all 64 bytes: the Boyar-Peralta depth-16 circuit. U0..U7 are input bits 7..0, S0..S7
 * output bits 7..0; T = top linear layer, M = the shared GF(2^4) inversion, L = bottom linear
 * layer (the affine map folded in; ~ marks the XNORs of the constant 0x63). */
INLINE void sub_bytes(uint64_t q[8])
{
    uint64_t u0 = q[7], u1 = q[6], u2 = q[5], u3 = q[4];
    uint64_t u4 = q[3], u5 = q[2], u6 = q[1], u7 = q[0];

    uint64_t t1 = u0 ^ u3, t2 = u0 ^ u5, t3 = u0 ^ u6, t4 = u3 ^ u5, t5 = u4 ^ u6;
    uint64_t t6 = t1 ^ t5, t7 = u1 ^ u2, t8 = u7 ^ t6, t9 = u7 ^ t7, t10 = t6 ^ t7;
    uint64_t t11 = u1 ^ u5, t12 = u2 ^ u5, t13 = t3 ^ t4, t14 = t6 ^ t11, t15 = t5 ^ t11;
    uint64_t t16 = t5 ^ t12, t17 = t9 ^ t16, t18 = u3 ^ u7, t19 = t7 ^ t18, t20 = t1 ^ t19;
    uint64_t t21 = u6 ^ u7, t22 = t7 ^ t21, t23 = t2 ^ t22, t24 = t2 ^ t10, t25 = t20 ^ t17;
    uint64_t t26 = t3 ^ t16, t27 = t1 ^ t12;

    uint64_t m1 = t13 & t6, m2 = t23 & t8, m3 = t14 ^ m1, m4 = t19 & u7, m5 = m4 ^ m1;
    uint64_t m6 = t3 & t16, m7 = t22 & t9, m8 = t26 ^ m6, m9 = t20 & t17, m10 = m9 ^ m6;
    uint64_t m11 = t1 & t15, m12 = t4 & t27, m13 = m12 ^ m11, m14 = t2 & t10, m15 = m14 ^ m11;
    uint64_t m16 = m3 ^ m2, m17 = m5 ^ t24, m18 = m8 ^ m7, m19 = m10 ^ m15, m20 = m16 ^ m13;
    uint64_t m21 = m17 ^ m15, m22 = m18 ^ m13, m23 = m19 ^ t25, m24 = m22 ^ m23;
    uint64_t m25 = m22 & m20, m26 = m21 ^ m25, m27 = m20 ^ m21, m28 = m23 ^ m25;
    uint64_t m29 = m28 & m27, m30 = m26 & m24, m31 = m20 & m23, m32 = m27 & m31;
    uint64_t m33 = m27 ^ m25, m34 = m21 & m22, m35 = m24 & m34, m36 = m24 ^ m25;
    uint64_t m37 = m21 ^ m29, m38 = m32 ^ m33, m39 = m23 ^ m30, m40 = m35 ^ m36;
    uint64_t m41 = m38 ^ m40, m42 = m37 ^ m39, m43 = m37 ^ m38, m44 = m39 ^ m40;
    uint64_t m45 = m42 ^ m41;
    uint64_t m46 = m44 & t6, m47 = m40 & t8, m48 = m39 & u7, m49 = m43 & t16, m50 = m38 & t9;
    uint64_t m51 = m37 & t17, m52 = m42 & t15, m53 = m45 & t27, m54 = m41 & t10;
    uint64_t m55 = m44 & t13, m56 = m40 & t23, m57 = m39 & t19, m58 = m43 & t3;
    uint64_t m59 = m38 & t22, m60 = m37 & t20, m61 = m42 & t1, m62 = m45 & t4, m63 = m41 & t2;

    uint64_t l0 = m61 ^ m62, l1 = m50 ^ m56, l2 = m46 ^ m48, l3 = m47 ^ m55, l4 = m54 ^ m58;
    uint64_t l5 = m49 ^ m61, l6 = m62 ^ l5, l7 = m46 ^ l3, l8 = m51 ^ m59, l9 = m52 ^ m53;
    uint64_t l10 = m53 ^ l4, l11 = m60 ^ l2, l12 = m48 ^ m51, l13 = m50 ^ l0, l14 = m52 ^ m61;
    uint64_t l15 = m55 ^ l1, l16 = m56 ^ l0, l17 = m57 ^ l1, l18 = m58 ^ l8, l19 = m63 ^ l4;
    uint64_t l20 = l0 ^ l1, l21 = l1 ^ l7, l22 = l3 ^ l12, l23 = l18 ^ l2, l24 = l15 ^ l9;
    uint64_t l25 = l6 ^ l10, l26 = l7 ^ l9, l27 = l8 ^ l10, l28 = l11 ^ l14, l29 = l11 ^ l17;

    q[7] = l6 ^ l24;
    q[6] = ~(l16 ^ l26);
    q[5] = ~(l19 ^ l28);
    q[4] = l6 ^ l21;
    q[3] = l20 ^ l22;
    q[2] = l25 ^ l29;
    q[1] = ~(l13 ^ l27);
    q[0] = ~(l6 ^ l23);
}

/* A^-1, the inverse of the S-box's affine map: x -> rotl(x,1) ^ rotl(x,3) ^ rotl(x,6) ^ 0x05
 * on every byte (bit i of the result = x[i-1] ^ x[i-3] ^ x[i-6] ^ bit i of 0x05). */
INLINE void inv_affine(uint64_t q[8])
{
    uint64_t x0 = q[0], x1 = q[1], x2 = q[2], x3 = q[3];
    uint64_t x4 = q[4], x5 = q[5], x6 = q[6], x7 = q[7];
    q[0] = ~(x7 ^ x5 ^ x2);
    q[1] = x0 ^ x6 ^ x3;
    q[2] = ~(x1 ^ x7 ^ x4);
    q[3] = x2 ^ x0 ^ x5;
    q[4] = x3 ^ x1 ^ x6;
    q[5] = x4 ^ x2 ^ x7;
    q[6] = x5 ^ x3 ^ x0;
    q[7] = x6 ^ x4 ^ x1;
}

INLINE void inv_sub_bytes(uint64_t q[8])
{
    inv_affine(q);
    sub_bytes(q);
    inv_affine(q);
}

/* Row r (bits 16r..16r+15) rotates its four nibbles (columns) so that new column c = old
 * column c + r (mod 4): rows 2 and 3 rotate by two nibbles (a byte swap inside the group),
 * then rows 1 and 3 by one more. */
INLINE uint64_t shift_rows1(uint64_t x)
{
    uint64_t t = (x ^ (x >> 8)) & 0x00ff00ff00000000ull;
    x ^= t | (t << 8);
    return (x & 0x0000ffff0000ffffull) | ((x >> 4) & 0x0fff00000fff0000ull) |
           ((x << 12) & 0xf0000000f0000000ull);
}

/* new column c = old column c - r (mod 4): the same byte swap, and the single-nibble
 * rotation the other way. */
INLINE uint64_t inv_shift_rows1(uint64_t x)
{
    uint64_t t = (x ^ (x >> 8)) & 0x00ff00ff00000000ull;
    x ^= t | (t << 8);
    return (x & 0x0000ffff0000ffffull) | ((x << 4) & 0xfff00000fff00000ull) |
           ((x >> 12) & 0x000f0000000f0000ull);
}

INLINE void shift_rows(uint64_t q[8])
{
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        q[i] = shift_rows1(q[i]);
}

INLINE void inv_shift_rows(uint64_t q[8])
{
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        q[i] = inv_shift_rows1(q[i]);
}

/* b_r = 2*a_r ^ 3*a_(r+1) ^ a_(r+2) ^ a_(r+3) = 2*t_r ^ a_(r+1) ^ t_(r+2) with
 * t_r = a_r ^ a_(r+1). Row r+1 sits 16 bits above row r, so a_(r+1) = rotr(a, 16) and
 * t_(r+2) = rotr(t, 32). Multiplying by 2 shifts bit planes up and feeds bit 7 back into
 * bits 0, 1, 3, 4 (x^8 = x^4 + x^3 + x + 1). */
INLINE void mix_columns(uint64_t q[8])
{
    uint64_t a1[8], t[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        a1[i] = rotr64(q[i], 16);
        t[i] = q[i] ^ a1[i];
    }
    q[0] = a1[0] ^ rotr64(t[0], 32) ^ t[7];
    q[1] = a1[1] ^ rotr64(t[1], 32) ^ t[0] ^ t[7];
    q[2] = a1[2] ^ rotr64(t[2], 32) ^ t[1];
    q[3] = a1[3] ^ rotr64(t[3], 32) ^ t[2] ^ t[7];
    q[4] = a1[4] ^ rotr64(t[4], 32) ^ t[3] ^ t[7];
    q[5] = a1[5] ^ rotr64(t[5], 32) ^ t[4];
    q[6] = a1[6] ^ rotr64(t[6], 32) ^ t[5];
    q[7] = a1[7] ^ rotr64(t[7], 32) ^ t[6];
}

/* InvMixColumns = MixColumns after a_r ^= 4 * (a_r ^ a_(r+2)) (the factorisation
 * {0e,0b,0d,09} = {02,01,01,03} x {05,00,04,00}). */
INLINE void inv_mix_columns(uint64_t q[8])
{
    uint64_t u[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        u[i] = q[i] ^ rotr64(q[i], 32);
    /* 4*u: planes shift up by two, bits 6 and 7 fed back through x^8 and x^9 mod P. */
    q[0] ^= u[6];
    q[1] ^= u[6] ^ u[7];
    q[2] ^= u[0] ^ u[7];
    q[3] ^= u[1] ^ u[6];
    q[4] ^= u[2] ^ u[6] ^ u[7];
    q[5] ^= u[3] ^ u[7];
    q[6] ^= u[4];
    q[7] ^= u[5];
    mix_columns(q);
}

INLINE void add_round_key(uint64_t q[8], const uint64_t sk[8])
{
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        q[i] ^= sk[i];
}

static void encrypt4(const bs_key *k, uint64_t q[8])
{
    add_round_key(q, k->sk[0]);
    for (uint32_t r = 1; r < k->rounds; r++) {
        sub_bytes(q);
        shift_rows(q);
        mix_columns(q);
        add_round_key(q, k->sk[r]);
    }
    sub_bytes(q);
    shift_rows(q);
    add_round_key(q, k->sk[k->rounds]);
}

static void decrypt4(const bs_key *k, uint64_t q[8])
{
    add_round_key(q, k->sk[k->rounds]);
    for (uint32_t r = k->rounds - 1; r > 0; r--) {
        inv_shift_rows(q);
        inv_sub_bytes(q);
        add_round_key(q, k->sk[r]);
        inv_mix_columns(q);
    }
    inv_shift_rows(q);
    inv_sub_bytes(q);
    add_round_key(q, k->sk[0]);
}

/* Bitsliced encryption schedule: every round key in all four block slots. */
static void bs_key_load(bs_key *bk, const ibc_aes_key *k)
{
    uint8_t rep[GROUP];
    bk->rounds = k->rounds;
    for (uint32_t r = 0; r <= k->rounds; r++) {
        for (int b = 0; b < NB; b++)
            memcpy(rep + 16 * b, k->enc[r], 16);
        pack(bk->sk[r], rep);
    }
    wipe(rep, sizeof(rep));
}

/* out[0..64) = E(in[0..64)) for four blocks. */
static void encrypt_group(const bs_key *k, const uint8_t in[GROUP], uint8_t out[GROUP])
{
    uint64_t q[8];
    pack(q, in);
    encrypt4(k, q);
    unpack(out, q);
}

static void decrypt_group(const bs_key *k, const uint8_t in[GROUP], uint8_t out[GROUP])
{
    uint64_t q[8];
    pack(q, in);
    decrypt4(k, q);
    unpack(out, q);
}

static void xor_bytes(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] ^ b[i];
}

/* ---- key schedule ------------------------------------------------------------------------ */

/* SubWord of four words at once (bytes 4j..4j+3 of w). */
static void sub_words(uint8_t w[GROUP])
{
    uint64_t q[8];
    pack(q, w);
    sub_bytes(q);
    unpack(w, q);
}

void aes_expand_portable(ibc_aes_key *k, const uint8_t *key, size_t key_len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_EXPAND, IBC_TIER_PORTABLE);
    /* FIPS-197 5.2 KeyExpansion on bytes: w[i] is bytes 4i..4i+3 of enc[]. */
    uint8_t *w = (uint8_t *)k->enc;
    uint8_t t[GROUP];
    uint32_t nk = (uint32_t)(key_len / 4), nr = nk + 6;
    uint8_t rcon = 1;
    memcpy(w, key, key_len);
    memset(t, 0, sizeof(t));
    for (uint32_t i = nk; i < 4 * (nr + 1); i++) {
        memcpy(t, w + 4 * (i - 1), 4);
        if (i % nk == 0) {
            uint8_t r0 = t[0]; /* RotWord */
            memmove(t, t + 1, 3);
            t[3] = r0;
            sub_words(t);
            t[0] ^= rcon;
            rcon = (uint8_t)((rcon << 1) ^ ((rcon >> 7) * 0x1b));
        } else if (nk > 6 && i % nk == 4) {
            sub_words(t);
        }
        xor_bytes(w + 4 * i, w + 4 * (i - nk), t, 4);
    }
    k->rounds = nr;
    /* Equivalent inverse cipher schedule (simd.h): dec[i] = InvMixColumns(enc[nr - i]),
     * four round keys per bitsliced state. */
    memcpy(k->dec[0], k->enc[nr], 16);
    memcpy(k->dec[nr], k->enc[0], 16);
    for (uint32_t r = 1; r < nr; r += NB) {
        uint64_t q[8];
        for (uint32_t j = 0; j < NB; j++)
            memcpy(t + 16 * j, k->enc[r + j < nr ? nr - r - j : 0], 16);
        pack(q, t);
        inv_mix_columns(q);
        unpack(t, q);
        for (uint32_t j = 0; j < NB && r + j < nr; j++)
            memcpy(k->dec[r + j], t + 16 * j, 16);
        wipe(q, sizeof(q));
    }
    wipe(t, sizeof(t));
}

/* ---- ECB --------------------------------------------------------------------------------- */

/* Whole groups straight from the buffers (pack reads all of a group before unpack writes, so
 * in place is fine), a last partial group through a local one. */
static void ecb(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb, int enc)
{
    bs_key bk;
    uint8_t buf[GROUP];
    void (*fn)(const bs_key *, const uint8_t *, uint8_t *) = enc ? encrypt_group : decrypt_group;
    bs_key_load(&bk, k);
    for (; nb >= NB; nb -= NB, in += GROUP, out += GROUP)
        fn(&bk, in, out);
    if (nb) {
        memset(buf, 0, sizeof(buf));
        memcpy(buf, in, 16 * nb);
        fn(&bk, buf, buf);
        memcpy(out, buf, 16 * nb);
        wipe(buf, sizeof(buf));
    }
    wipe(&bk, sizeof(bk));
}

void aes_ecb_enc_portable(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_ENC, IBC_TIER_PORTABLE);
    ecb(k, in, out, nb, 1);
}

void aes_ecb_dec_portable(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_DEC, IBC_TIER_PORTABLE);
    ecb(k, in, out, nb, 0);
}

/* ---- CBC --------------------------------------------------------------------------------- */

/* Up to four CBC encryption streams, one per block slot. Each step encrypts the next block of
 * every active stream; a stream that ends frees its slot for the next waiting one. The serial
 * kernel is the one-stream case. */
static void cbc_enc_lanes(const bs_key *bk, ibc_cbc_lane *lanes, size_t n)
{
    ibc_cbc_lane *slot[NB] = {NULL};
    size_t pos[NB] = {0};
    uint8_t buf[GROUP];
    size_t next = 0;
    memset(buf, 0, sizeof(buf));
    for (;;) {
        int active = 0;
        for (int j = 0; j < NB; j++) {
            while (!slot[j] && next < n) {
                if (lanes[next].nblocks) {
                    slot[j] = &lanes[next];
                    pos[j] = 0;
                }
                next++;
            }
            if (slot[j]) {
                xor_bytes(buf + 16 * j, slot[j]->in + 16 * pos[j], slot[j]->iv, 16);
                active = 1;
            }
        }
        if (!active)
            break;
        encrypt_group(bk, buf, buf);
        for (int j = 0; j < NB; j++) {
            if (!slot[j])
                continue;
            memcpy(slot[j]->out + 16 * pos[j], buf + 16 * j, 16);
            memcpy(slot[j]->iv, buf + 16 * j, 16);
            if (++pos[j] == slot[j]->nblocks)
                slot[j] = NULL;
        }
    }
    wipe(buf, sizeof(buf));
}

void aes_cbc_enc_portable(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                          size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC, IBC_TIER_PORTABLE);
    bs_key bk;
    ibc_cbc_lane l = {in, out, nb, {0}};
    bs_key_load(&bk, k);
    memcpy(l.iv, iv, 16);
    cbc_enc_lanes(&bk, &l, 1);
    memcpy(iv, l.iv, 16);
    wipe(&bk, sizeof(bk));
}

void aes_cbc_enc_mb_portable(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC_MB, IBC_TIER_PORTABLE);
    bs_key bk;
    bs_key_load(&bk, k);
    cbc_enc_lanes(&bk, lanes, n);
    wipe(&bk, sizeof(bk));
}

void aes_cbc_dec_portable(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                          size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_DEC, IBC_TIER_PORTABLE);
    bs_key bk;
    uint8_t c[16 + GROUP], p[GROUP]; /* c = previous ciphertext block, then this group's */
    bs_key_load(&bk, k);
    memcpy(c, iv, 16);
    memset(c + 16, 0, GROUP);
    while (nb) {
        size_t n = nb < NB ? nb : NB;
        memcpy(c + 16, in, 16 * n); /* in place: keep the ciphertext for chaining */
        decrypt_group(&bk, c + 16, p);
        xor_bytes(out, p, c, 16 * n);
        memcpy(c, c + 16 * n, 16);
        in += 16 * n;
        out += 16 * n;
        nb -= n;
    }
    memcpy(iv, c, 16);
    wipe(p, sizeof(p));
    wipe(&bk, sizeof(bk));
}

/* ---- CTR --------------------------------------------------------------------------------- */

void aes_ctr_portable(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in,
                      uint8_t *out, size_t len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR, IBC_TIER_PORTABLE);
    bs_key bk;
    uint8_t c[16], ks[GROUP];
    bs_key_load(&bk, k);
    memcpy(c, ctr, 16);
    while (len) {
        size_t n = len < GROUP ? len : GROUP;
        for (int b = 0; b < NB; b++) {
            memcpy(ks + 16 * b, c, 16);
            ibc_ctr128_add(c, 1);
        }
        encrypt_group(&bk, ks, ks);
        xor_bytes(out, in, ks, n);
        in += n;
        out += n;
        len -= n;
    }
    wipe(ks, sizeof(ks));
    wipe(&bk, sizeof(bk));
}

/* ---- fused kernels: the generic compositions (fused_generic.c) --------------------------- */

void aes_cbc_dec_crc_portable(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in,
                              uint8_t *out, size_t nb, uint32_t *crc_in)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_DEC_CRC, IBC_TIER_PORTABLE);
    ibc_generic_cbc_dec_crc(&ibc_kernels_portable, k, iv, in, out, nb, crc_in);
}

void aes_ctr_crc_portable(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in,
                          uint8_t *out, size_t len, uint32_t *crc_in, uint32_t *crc_out)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR_CRC, IBC_TIER_PORTABLE);
    ibc_generic_ctr_crc(&ibc_kernels_portable, k, ctr, in, out, len, crc_in, crc_out);
}

void aes_ctr2_crc_portable(const ibc_aes_key *k1, const uint8_t ctr1[16], const ibc_aes_key *k2,
                           const uint8_t ctr2[16], const uint8_t *in, uint8_t *out, size_t len,
                           uint32_t *crc_in, uint32_t *crc_out)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR2_CRC, IBC_TIER_PORTABLE);
    ibc_generic_ctr2_crc(&ibc_kernels_portable, k1, ctr1, k2, ctr2, in, out, len, crc_in,
                         crc_out);
}

void aes_cbc_rekey_mb_portable(const ibc_aes_key *dk, const ibc_aes_key *ek,
                               ibc_rekey_lane *lanes, size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_REKEY_MB, IBC_TIER_PORTABLE);
    ibc_generic_cbc_rekey_mb(&ibc_kernels_portable, dk, ek, lanes, n);
}

void aes_cbc_rekey_short_portable(const ibc_aes_key *dk, const ibc_aes_key *ek,
                                  ibc_short_lane *lanes, size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_REKEY_SHORT, IBC_TIER_PORTABLE);
    ibc_generic_cbc_rekey_short(&ibc_kernels_portable, dk, ek, lanes, n);
}

void aes_ctr2_short_portable(const ibc_aes_key *k1, const ibc_aes_key *k2, ibc_short_lane *lanes,
                             size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR2_SHORT, IBC_TIER_PORTABLE);
    ibc_generic_ctr2_short(&ibc_kernels_portable, k1, k2, lanes, n);
}
