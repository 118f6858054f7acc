/*
 * aes_portable.c - constant-time AES in portable C (the `portable` tier).
 *
 * No table lookups and no branches depend on key or data. The state is held as two 64-bit
 * words of eight bytes each and every byte operation runs on all eight at once (SWAR):
 *   SubBytes      = affine(inverse in GF(2^8)), the inverse computed as x^254 with carry-less
 *                   multiplications built from shifts and masks (FIPS-197 5.1.1);
 *   MixColumns    = the xtime formulation b_i = a_i ^ T ^ 2(a_i ^ a_{i+1}), T = a0^a1^a2^a3;
 *   ShiftRows     = a fixed byte permutation (data-independent indices).
 * It is slow next to AES-NI (tens of cycles per byte) and exists for CPUs without AES
 * instructions and as an independent reference for the other tiers.
 */
#include <string.h>

#include "tiers.h"

#define B01 0x0101010101010101ull
#define B7F 0x7f7f7f7f7f7f7f7full

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

/* Multiply each byte by x modulo x^8 + x^4 + x^3 + x + 1. */
static uint64_t xtime8(uint64_t x)
{
    return ((x & B7F) << 1) ^ (((x >> 7) & B01) * 0x1b);
}

/* Bytewise GF(2^8) product of a and b. */
static uint64_t gmul8(uint64_t a, uint64_t b)
{
    uint64_t r = 0;
    for (int i = 0; i < 8; i++) {
        uint64_t m = ((b >> i) & B01) * 0xff; /* 0xff in each byte whose bit i is set */
        r ^= a & m;
        a = xtime8(a);
    }
    return r;
}

/* Bytewise inverse (0 maps to 0): x^254 by an addition chain of 11 products. */
static uint64_t ginv8(uint64_t x)
{
    uint64_t x2 = gmul8(x, x), x3 = gmul8(x2, x), x6 = gmul8(x3, x3), x12 = gmul8(x6, x6);
    uint64_t x14 = gmul8(x12, x2), x15 = gmul8(x12, x3);
    uint64_t x30 = gmul8(x15, x15), x60 = gmul8(x30, x30), x120 = gmul8(x60, x60);
    uint64_t x240 = gmul8(x120, x120);
    return gmul8(x240, x14);
}

/* Rotate every byte left by n (1..7). */
static uint64_t rotb(uint64_t x, int n)
{
    uint64_t lo = (uint64_t)(0xffu >> n) * B01;              /* bits that stay in the byte */
    uint64_t hi = (uint64_t)((0xffu << (8 - n)) & 0xff) * B01; /* bits that wrap around */
    return ((x & lo) << n) | ((x & hi) >> (8 - n));
}

static uint64_t sub_bytes8(uint64_t x)
{
    uint64_t b = ginv8(x);
    return b ^ rotb(b, 1) ^ rotb(b, 2) ^ rotb(b, 3) ^ rotb(b, 4) ^ (0x63 * B01);
}

static uint64_t inv_sub_bytes8(uint64_t y)
{
    return ginv8(rotb(y, 1) ^ rotb(y, 3) ^ rotb(y, 6) ^ (0x05 * B01));
}

/* Within each 32-bit column (bytes a0..a3 at bits 0..31), move byte i+k to position i. */
static uint64_t colrot(uint64_t x, int k)
{
    int s = 8 * k;
    uint64_t lo = (0xffffffffull >> s) * 0x0000000100000001ull;
    return ((x >> s) & lo) | ((x << (32 - s)) & ~lo);
}

static uint64_t mix_columns8(uint64_t a)
{
    uint64_t a1 = colrot(a, 1);
    uint64_t t = a ^ a1 ^ colrot(a, 2) ^ colrot(a, 3);
    return a ^ t ^ xtime8(a ^ a1);
}

static uint64_t inv_mix_columns8(uint64_t a)
{
    a ^= xtime8(xtime8(a ^ colrot(a, 2)));
    return mix_columns8(a);
}

/* State byte index = 4*column + row (FIPS-197 3.4). ShiftRows: row r rotates left by r. */
static void shift_rows(uint8_t s[16], int inverse)
{
    uint8_t t[16];
    for (int c = 0; c < 4; c++)
        for (int r = 0; r < 4; r++) {
            int src = inverse ? (c + 4 - r) % 4 : (c + r) % 4;
            t[4 * c + r] = s[4 * src + r];
        }
    memcpy(s, t, 16);
}

static void encrypt_block(const ibc_aes_key *k, const uint8_t in[16], uint8_t out[16])
{
    uint8_t s[16];
    uint64_t lo = load_le64(in) ^ load_le64(k->enc[0]);
    uint64_t hi = load_le64(in + 8) ^ load_le64(k->enc[0] + 8);
    for (uint32_t r = 1; r <= k->rounds; r++) {
        lo = sub_bytes8(lo);
        hi = sub_bytes8(hi);
        store_le64(s, lo);
        store_le64(s + 8, hi);
        shift_rows(s, 0);
        lo = load_le64(s);
        hi = load_le64(s + 8);
        if (r != k->rounds) {
            lo = mix_columns8(lo);
            hi = mix_columns8(hi);
        }
        lo ^= load_le64(k->enc[r]);
        hi ^= load_le64(k->enc[r] + 8);
    }
    store_le64(out, lo);
    store_le64(out + 8, hi);
}

/* The straightforward inverse cipher (FIPS-197 5.3) on the encryption schedule. */
static void decrypt_block(const ibc_aes_key *k, const uint8_t in[16], uint8_t out[16])
{
    uint8_t s[16];
    uint64_t lo = load_le64(in) ^ load_le64(k->enc[k->rounds]);
    uint64_t hi = load_le64(in + 8) ^ load_le64(k->enc[k->rounds] + 8);
    for (uint32_t r = k->rounds; r-- > 0;) {
        store_le64(s, lo);
        store_le64(s + 8, hi);
        shift_rows(s, 1);
        lo = inv_sub_bytes8(load_le64(s)) ^ load_le64(k->enc[r]);
        hi = inv_sub_bytes8(load_le64(s + 8)) ^ load_le64(k->enc[r] + 8);
        if (r != 0) {
            lo = inv_mix_columns8(lo);
            hi = inv_mix_columns8(hi);
        }
    }
    store_le64(out, lo);
    store_le64(out + 8, hi);
}

void aes_expand_portable(ibc_aes_key *k, const uint8_t *key, size_t key_len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_EXPAND, IBC_TIER_PORTABLE);
    /* FIPS-197 5.2 KeyExpansion, words as little-endian uint32 of the key bytes. */
    uint32_t w[4 * (IBC_AES_MAX_ROUNDS + 1)];
    uint32_t nk = (uint32_t)(key_len / 4), nr = nk + 6, rcon = 1;
    for (uint32_t i = 0; i < nk; i++)
        w[i] = (uint32_t)key[4 * i] | (uint32_t)key[4 * i + 1] << 8 |
               (uint32_t)key[4 * i + 2] << 16 | (uint32_t)key[4 * i + 3] << 24;
    for (uint32_t i = nk; i < 4 * (nr + 1); i++) {
        uint32_t t = w[i - 1];
        if (i % nk == 0) {
            t = (t >> 8) | (t << 24); /* RotWord */
            t = (uint32_t)sub_bytes8(t) ^ rcon;
            rcon = (uint32_t)(xtime8(rcon) & 0xff);
        } else if (nk > 6 && i % nk == 4) {
            t = (uint32_t)sub_bytes8(t);
        }
        w[i] = w[i - nk] ^ t;
    }
    k->rounds = nr;
    for (uint32_t r = 0; r <= nr; r++)
        for (int j = 0; j < 4; j++)
            for (int b = 0; b < 4; b++)
                k->enc[r][4 * j + b] = (uint8_t)(w[4 * r + j] >> (8 * b));
    /* Equivalent inverse cipher schedule (simd.h). */
    memcpy(k->dec[0], k->enc[nr], 16);
    memcpy(k->dec[nr], k->enc[0], 16);
    for (uint32_t r = 1; r < nr; r++) {
        store_le64(k->dec[r], inv_mix_columns8(load_le64(k->enc[nr - r])));
        store_le64(k->dec[r] + 8, inv_mix_columns8(load_le64(k->enc[nr - r] + 8)));
    }
    memset(w, 0, sizeof(w));
    __asm__ volatile("" : : "r"(w) : "memory"); /* keep the wipe */
}

void aes_ecb_enc_portable(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_ENC, IBC_TIER_PORTABLE);
    for (size_t i = 0; i < nb; i++)
        encrypt_block(k, in + 16 * i, out + 16 * i);
}

void aes_ecb_dec_portable(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_DEC, IBC_TIER_PORTABLE);
    for (size_t i = 0; i < nb; i++)
        decrypt_block(k, in + 16 * i, out + 16 * i);
}

static void cbc_enc(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                    size_t nb)
{
    uint8_t x[16];
    for (size_t i = 0; i < nb; i++) {
        for (int j = 0; j < 16; j++)
            x[j] = in[16 * i + j] ^ iv[j];
        encrypt_block(k, x, out + 16 * i);
        memcpy(iv, out + 16 * i, 16);
    }
}

void aes_cbc_enc_portable(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                          size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC, IBC_TIER_PORTABLE);
    cbc_enc(k, iv, in, out, nb);
}

void aes_cbc_dec_portable(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                          size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_DEC, IBC_TIER_PORTABLE);
    uint8_t c[16], p[16];
    for (size_t i = 0; i < nb; i++) {
        memcpy(c, in + 16 * i, 16); /* in place: keep the ciphertext for chaining */
        decrypt_block(k, c, p);
        for (int j = 0; j < 16; j++)
            out[16 * i + j] = p[j] ^ iv[j];
        memcpy(iv, c, 16);
    }
}

void aes_cbc_enc_mb_portable(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC_MB, IBC_TIER_PORTABLE);
    for (size_t i = 0; i < n; i++)
        cbc_enc(k, lanes[i].iv, lanes[i].in, lanes[i].out, lanes[i].nblocks);
}

void aes_ctr_portable(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in,
                      uint8_t *out, size_t len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR, IBC_TIER_PORTABLE);
    uint8_t c[16], ks[16];
    memcpy(c, ctr, 16);
    while (len) {
        size_t n = len < 16 ? len : 16;
        encrypt_block(k, c, ks);
        for (size_t j = 0; j < n; j++)
            out[j] = in[j] ^ ks[j];
        ibc_ctr128_add(c, 1);
        in += n;
        out += n;
        len -= n;
    }
}

/* No real fused kernels on this tier: the generic compositions (fused_generic.c). */
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
