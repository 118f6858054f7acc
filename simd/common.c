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
 * CRC combination. In the reflected representation used by CRC32C and CRC-32, bit 31 is x^0.
 * A zlib-style CRC of A||B equals (crc(A) * x^(8|B|) mod P) XOR crc(B): the init/final
 * inversions of the two parts cancel, exactly as for zlib's crc32_combine. Products are
 * computed bit by bit, without branches on the data; the factor x^(8|B|) by square-and-
 * multiply, so joining costs O(log |B|) multiplications, or one with the factor at hand.
 */
#define CRC32C_POLY_REFLECTED 0x82F63B78u
#define CRC32Z_POLY_REFLECTED 0xEDB88320u

static uint32_t gf2_mulmod(uint32_t a, uint32_t b, uint32_t poly)
{
    uint32_t p = 0;
    for (int i = 31; i >= 0; i--) {
        p ^= b & (0u - (a >> i & 1));
        b = (b >> 1) ^ (poly & (0u - (b & 1))); /* b *= x */
    }
    return p;
}

static uint32_t xpow8n(uint64_t n, uint32_t poly)
{
    uint32_t result = 1u << 31; /* x^0 */
    uint32_t sq = 1u << 23;     /* x^8 */
    while (n) {
        if (n & 1)
            result = gf2_mulmod(result, sq, poly);
        sq = gf2_mulmod(sq, sq, poly);
        n >>= 1;
    }
    return result;
}

uint32_t ibc_crc32c_factor(uint64_t len_b)
{
    return xpow8n(len_b, CRC32C_POLY_REFLECTED);
}

uint32_t ibc_crc32c_combine_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor)
{
    return gf2_mulmod(factor, crc_a, CRC32C_POLY_REFLECTED) ^ crc_b;
}

uint32_t ibc_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return ibc_crc32c_combine_by(crc_a, crc_b, ibc_crc32c_factor(len_b));
}

uint32_t ibc_crc32z_factor(uint64_t len_b)
{
    return xpow8n(len_b, CRC32Z_POLY_REFLECTED);
}

uint32_t ibc_crc32z_combine_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor)
{
    return gf2_mulmod(factor, crc_a, CRC32Z_POLY_REFLECTED) ^ crc_b;
}
