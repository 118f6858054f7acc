/*
 * test_aria.c - Aria tables encrypted with aria_encrypt_tables=ON (engine/aria.c), against
 * OpenSSL and zlib: index files and pages built here as ma_crypt.c writes them (the page
 * key AES-ECB(key 1, IV), MariaDB's no-padding CBC or CTR over the used part, zlib's CRC-32
 * seeded with the page number) must open with key 1 and not with another; a re-wrapped IV
 * must give the same page key under the new key 1; headers that are not an encrypted Aria
 * table's are not taken for one. Every tier. (tests/server/frontends.sh step 6 runs it on a
 * real server's files.)
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <openssl/evp.h>

#include "ibdcrypt/ibdcrypt.h"
#include "testutil.h"

#define BS 8192
#define HL 470
#define BASE 239

static void be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void ossl(const EVP_CIPHER *c, int enc, const uint8_t *key, const uint8_t *iv,
                 const uint8_t *in, uint8_t *out, int len)
{
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    EVP_CipherInit_ex(x, c, NULL, key, iv, enc);
    EVP_CIPHER_CTX_set_padding(x, 0);
    EVP_CipherUpdate(x, out, &n, in, len);
    EVP_CipherFinal_ex(x, out + n, &m);
    EVP_CIPHER_CTX_free(x);
}

/* An index file header: encrypted or not, transactional or not. */
static void make_header(uint8_t *h, int encrypted, int transactional, uint32_t space,
                        const uint8_t iv[16])
{
    memset(h, 0, HL);
    h[0] = 0xfe, h[1] = 0xfe, h[2] = 0x09, h[3] = 0x03;
    be(h + 6, HL, 2);
    be(h + 12, BASE, 2);
    be(h + BASE + 16, BS, 8); /* keystart */
    be(h + BASE + 90, encrypted ? 1 : 0, 2);
    be(h + BASE + 100, BS, 2);
    h[BASE + 106] = (uint8_t)transactional;
    h[HL - 22] = 1, h[HL - 21] = 20;
    le(h + HL - 20, space, 4);
    memcpy(h + HL - 16, iv, 16);
}

/* An encrypted index page as ma_crypt_index_pre_write_hook writes it. */
static void make_page(uint8_t *p, int transactional, uint32_t pno, uint32_t space,
                      const uint8_t L[16], int ctr, uint32_t used)
{
    uint32_t kh = transactional ? 21 : 15;
    uint8_t plain[BS], iv[16];
    tu_rand_bytes(plain, BS);
    uint64_t lsn = tu_rand() & 0xffffffffffffffull;
    le(plain, lsn >> 32, 3);
    le(plain + 3, (uint32_t)lsn, 4);
    memset(plain + kh - 8, 0, 4);
    be(plain + kh - 2, used, 2);
    uint32_t crc = (uint32_t)crc32(pno, plain, used);
    if (crc >= 0xfffffffeu)
        crc = 0xfffffffdu;
    le(plain + BS - 4, crc, 4);
    memcpy(p, plain, BS);
    le(p + kh - 8, 1, 4); /* the key version */
    le(iv, space, 4);
    le(iv + 4, pno, 4);
    le(iv + 8, lsn, 8);
    uint32_t n = used - kh, whole = n / 16 * 16;
    if (ctr) {
        ossl(EVP_aes_128_ctr(), 1, L, iv, plain + kh, p + kh, (int)n);
    } else {
        uint8_t mask[16];
        ossl(EVP_aes_128_cbc(), 1, L, iv, plain + kh, p + kh, (int)whole);
        ossl(EVP_aes_128_ecb(), 1, L, NULL, iv, mask, 16);
        for (uint32_t i = whole; i < n; i++)
            p[kh + i] = plain[kh + i] ^ mask[i - whole];
    }
}

static void test_pages(void)
{
    const char *tiers[] = {"portable", "aesni", "vaes256", "vaes512", "armce"};
    for (size_t t = 0; t < sizeof(tiers) / sizeof(tiers[0]); t++) {
        ibc_engine *e = NULL;
        if (ibc_engine_new(tiers[t], &e) != IBC_OK)
            continue; /* not on this CPU */
        for (int round = 0; round < 40; round++) {
            uint8_t k1[32], k2[32], ivh[16], L[16], h[HL];
            size_t klen = (size_t)(16 + 8 * (round % 3));
            tu_rand_bytes(k1, sizeof(k1));
            tu_rand_bytes(k2, sizeof(k2));
            tu_rand_bytes(ivh, 16);
            ibc_keyring *kr = ibc_keyring_new(), *other = ibc_keyring_new(),
                        *neu = ibc_keyring_new();
            ibc_keyring_add(kr, 1, 1, k1, klen);
            ibc_keyring_add(other, 1, 1, k2, klen);
            ibc_keyring_add(neu, 1, 1, k2, 32);
            const EVP_CIPHER *ecb = klen == 16 ? EVP_aes_128_ecb()
                                  : klen == 24 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
            ossl(ecb, 1, k1, NULL, ivh, L, 16);
            int tr = round & 1, ctr = (round >> 1) & 1;
            uint32_t space = (uint32_t)tu_rand(), pno = 1 + (uint32_t)tu_rand_below(1000);
            make_header(h, 1, tr, space, ivh);
            ibc_aria a;
            TU_CHECK(ibc_aria_parse(h, HL, &a) == 1, "%s: an encrypted header", tiers[t]);
            TU_CHECK(a.block_size == BS && a.keystart == BS && a.transactional == tr &&
                         a.space == space && a.crypt_off == HL - 22 && !memcmp(a.iv, ivh, 16),
                     "%s: header fields", tiers[t]);
            uint32_t used = (tr ? 21 : 15) + (uint32_t)tu_rand_below(BS - 4 - (tr ? 21 : 15));
            uint8_t page[BS];
            make_page(page, tr, pno, space, L, ctr, used);
            ibc_algo al = ctr ? IBC_ALGO_CTR : IBC_ALGO_CBC;
            TU_CHECK(ibc_aria_page_opens(e, &a, kr, al, page, pno) == 1,
                     "%s: key 1 opens the page (round %d, used %u)", tiers[t], round, used);
            TU_CHECK(ibc_aria_page_opens(e, &a, other, al, page, pno) == 0,
                     "%s: another key 1 does not", tiers[t]);
            TU_CHECK(ibc_aria_page_opens(e, &a, kr, al, page, pno + 1) == 0,
                     "%s: nor at another page number", tiers[t]);
            page[tr ? 19 : 13] = 0, page[tr ? 20 : 14] = 1; /* used below the header */
            TU_CHECK(ibc_aria_page_opens(e, &a, kr, al, page, pno) == -1,
                     "%s: a page not in use tells nothing", tiers[t]);
            /* re-wrap: the new key 1 yields the same page key from the new IV */
            uint8_t iv2[16], L2[16];
            TU_CHECK(ibc_aria_rewrap(e, &a, kr, neu, iv2) == IBC_OK, "%s: rewrap", tiers[t]);
            ossl(EVP_aes_256_ecb(), 1, k2, NULL, iv2, L2, 16);
            TU_CHECK_MEM(L, L2, 16, "%s: the re-wrapped IV gives the page key", tiers[t]);
            ibc_keyring_free(kr);
            ibc_keyring_free(other);
            ibc_keyring_free(neu);
        }
        ibc_engine_free(e);
    }
}

static void test_headers(void)
{
    uint8_t h[HL], iv[16] = {0};
    ibc_aria a;
    make_header(h, 0, 1, 7, iv);
    TU_CHECK(ibc_aria_parse(h, HL, &a) == 0, "an unencrypted table is not taken");
    make_header(h, 1, 1, 7, iv);
    TU_CHECK(ibc_aria_parse(h, 200, &a) == -1 && a.header_length == HL,
             "a short head asks for the whole header");
    h[HL - 21] = 19;
    TU_CHECK(ibc_aria_parse(h, HL, &a) == 0, "unknown crypt data is not taken");
    make_header(h, 1, 1, 7, iv);
    h[2] = 0x0a;
    TU_CHECK(ibc_aria_parse(h, HL, &a) == 0, "another magic is not taken");
    for (int i = 0; i < 2000; i++) { /* random bytes: never a crash, rarely a table */
        uint8_t r[HL];
        tu_rand_bytes(r, sizeof(r));
        (void)ibc_aria_parse(r, tu_rand_below(HL + 1), &a);
    }
}

TU_TESTS(TU_T(test_pages), TU_T(test_headers))
