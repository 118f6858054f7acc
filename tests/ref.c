/*
 * ref.c - OpenSSL reference AES and tier iteration for the differential tests.
 */
#include "ref.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

static const EVP_CIPHER *cipher(char mode, size_t key_len)
{
    int i = key_len == 16 ? 0 : key_len == 24 ? 1 : 2;
    switch (mode) {
    case 'e':
        return (const EVP_CIPHER *[]){EVP_aes_128_ecb(), EVP_aes_192_ecb(), EVP_aes_256_ecb()}[i];
    case 'c':
        return (const EVP_CIPHER *[]){EVP_aes_128_cbc(), EVP_aes_192_cbc(), EVP_aes_256_cbc()}[i];
    default:
        return (const EVP_CIPHER *[]){EVP_aes_128_ctr(), EVP_aes_192_ctr(), EVP_aes_256_ctr()}[i];
    }
}

void ref_aes(char mode, int enc, const uint8_t *key, size_t key_len, const uint8_t *iv,
             const uint8_t *in, uint8_t *out, size_t len)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    if (!c || !EVP_CipherInit_ex(c, cipher(mode, key_len), NULL, key, iv, enc) ||
        !EVP_CIPHER_CTX_set_padding(c, 0) ||
        (len && !EVP_CipherUpdate(c, out, &n1, in, (int)len)) ||
        !EVP_CipherFinal_ex(c, out + n1, &n2) || (size_t)(n1 + n2) != len) {
        fprintf(stderr, "OpenSSL reference failed (mode %c len %zu)\n", mode, len);
        abort();
    }
    EVP_CIPHER_CTX_free(c);
}

size_t ref_usable_tiers(const ibc_kernels *tables[IBC_TIER_COUNT])
{
    size_t n = 0;
    uint32_t f = ibc_cpu_features();
    for (int t = 0; t < IBC_TIER_COUNT; t++)
        if (ibc_tier_usable((ibc_tier_id)t, f))
            tables[n++] = ibc_tier_kernels((ibc_tier_id)t);
    return n;
}

size_t ref_budget(const ibc_kernels *k, size_t fast_bytes)
{
    return k->tier == IBC_TIER_PORTABLE ? fast_bytes / 16 : fast_bytes;
}

#ifdef IBC_TEST_HAVE_ISAL
#include <isa-l/crc.h>
#include <string.h>
uint32_t ref_crc32c(uint32_t crc, const void *buf, size_t len)
{
    /* ISA-L does no inversion of its own (perf-ceilings.md §9). */
    uint32_t c = ~crc;
    unsigned char *p;
    memcpy(&p, &buf, sizeof(p)); /* crc32_iscsi takes a non-const pointer; it only reads */
    while (len) {
        int n = len > (1u << 30) ? 1 << 30 : (int)len;
        c = crc32_iscsi((unsigned char *)p, n, c);
        p += n;
        len -= (size_t)n;
    }
    return ~c;
}
#else
uint32_t ref_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    while (len--) {
        c ^= *p++;
        for (int i = 0; i < 8; i++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}
#endif
