/*
 * common.c - small helpers every tier shares: key wiping, 128-bit counter arithmetic and
 * CRC32C combination. All portable C.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include <string.h>

#include "simd.h"

void ibc_aes_key_wipe(ibc_aes_key *k)
{
    if (k)
        explicit_bzero(k, sizeof(*k));
}

void ibc_ctr128_add(uint8_t ctr[IBC_AES_BLOCK], uint64_t n)
{
    /* Big-endian 128-bit addition with carry across all 16 bytes (OpenSSL ctr128_inc, which
     * MariaDB's AES_CTR relies on: mysys_ssl/my_crypt.cc, class MyCTX). */
    uint64_t carry = n;
    for (int i = IBC_AES_BLOCK - 1; i >= 0 && carry; i--) {
        uint64_t s = (uint64_t)ctr[i] + (carry & 0xff);
        ctr[i] = (uint8_t)s;
        carry = (carry >> 8) + (s >> 8);
    }
}

/*
 * CRC combination. In the reflected representation used by CRC32C, bit 31 is x^0. A zlib-style
 * CRC of A||B equals (crc(A) * x^(8|B|) mod P) XOR crc(B): the init/final inversions of the two
 * parts cancel, exactly as for zlib's crc32_combine. Products are computed bit by bit; the
 * exponent by square-and-multiply, so the cost is O(log |B|) multiplications.
 */
#define CRC32C_POLY_REFLECTED 0x82F63B78u

static uint32_t gf2_mulmod(uint32_t a, uint32_t b)
{
    uint32_t p = 0;
    for (uint32_t m = 1u << 31; m; m >>= 1) {
        if (a & m)
            p ^= b;
        b = (b & 1) ? (b >> 1) ^ CRC32C_POLY_REFLECTED : b >> 1; /* b *= x */
    }
    return p;
}

static uint32_t xpow8n(uint64_t n)
{
    uint32_t result = 1u << 31;   /* x^0 */
    uint32_t sq = 1u << 23;       /* x^8 */
    while (n) {
        if (n & 1)
            result = gf2_mulmod(result, sq);
        sq = gf2_mulmod(sq, sq);
        n >>= 1;
    }
    return result;
}

uint32_t ibc_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return gf2_mulmod(xpow8n(len_b), crc_a) ^ crc_b;
}
