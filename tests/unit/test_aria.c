/*
 * test_aria.c - Aria tables encrypted with aria_encrypt_tables=ON (engine/aria.c), against
 * OpenSSL and zlib: index files and pages built here as ma_crypt.c writes them (the page
 * key AES-ECB(key 1, IV), MariaDB's no-padding CBC or CTR over the used part, zlib's CRC-32
 * seeded with the page number) must open with key 1 and not with another; a re-wrapped IV
 * must give the same page key under the new key 1; pages of both files re-encrypted under a
 * new page key must open with it (OpenSSL) to the same plaintext; headers that are not an
 * encrypted Aria table's are not taken for one. Every tier. (tests/server/frontends.sh step 6 runs it on a
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

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)(p[0] | p[1] << 8 | p[2] << 16) | (uint32_t)p[3] << 24;
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

/* MariaDB's no-padding cipher (my_aes no-pad: CBC over the whole blocks, the tail XORed with
 * AES-ECB(L, IV); or CTR) over n bytes, with OpenSSL. */
static void nopad(const uint8_t L[16], int ctr, int enc, const uint8_t iv[16], const uint8_t *in,
                  uint8_t *out, uint32_t n)
{
    uint32_t whole = n / 16 * 16;
    if (ctr) {
        ossl(EVP_aes_128_ctr(), enc, L, iv, in, out, (int)n);
        return;
    }
    uint8_t mask[16];
    ossl(EVP_aes_128_cbc(), enc, L, iv, in, out, (int)whole);
    ossl(EVP_aes_128_ecb(), 1, L, NULL, iv, mask, 16);
    for (uint32_t i = whole; i < n; i++)
        out[i] = in[i] ^ mask[i - whole];
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
    nopad(L, ctr, 1, iv, plain + kh, p + kh, used - kh);
}

/* An encrypted data page (.MAD) as ma_crypt_data_pre_write_hook writes it: type 1 or 2 (head,
 * tail) from byte 16, the key version at 12; type 3 (blob) from 12, the key version at 8; to
 * the checksum; the CRC over the plaintext with the key version zeroed. plain gets that. */
static void make_data_page(uint8_t *p, uint8_t *plain, int type, uint32_t pno, uint32_t space,
                           const uint8_t L[16], int ctr)
{
    uint32_t head = type == 3 ? 12 : 16, kvo = type == 3 ? 8 : 12, n = BS - 4 - head;
    uint8_t iv[16];
    tu_rand_bytes(plain, BS);
    plain[7] = (uint8_t)type;
    uint64_t lsn = tu_rand() & 0xffffffffffffffull;
    le(plain, lsn >> 32, 3);
    le(plain + 3, (uint32_t)lsn, 4);
    memset(plain + kvo, 0, 4);
    uint32_t crc = (uint32_t)crc32(pno, plain, BS - 4);
    if (crc >= 0xfffffffeu)
        crc = 0xfffffffdu;
    le(plain + BS - 4, crc, 4);
    memcpy(p, plain, BS);
    le(p + kvo, 1, 4);
    le(iv, space, 4);
    le(iv + 4, pno, 4);
    le(iv + 8, lsn, 8);
    nopad(L, ctr, 1, iv, plain + head, p + head, n);
}

/* The plaintext of page p under page key L (as the server's read hooks take it). */
static void open_data_page(const uint8_t *p, uint8_t *out, uint32_t pno, uint32_t space,
                           const uint8_t L[16], int ctr)
{
    uint32_t type = p[7] & 7, head = type == 3 ? 12 : 16, kvo = type == 3 ? 8 : 12;
    uint8_t iv[16];
    uint64_t lsn = (uint64_t)(p[0] | p[1] << 8 | p[2] << 16) << 32 |
                   (uint32_t)(p[3] | p[4] << 8 | p[5] << 16 | (uint32_t)p[6] << 24);
    le(iv, space, 4);
    le(iv + 4, pno, 4);
    le(iv + 8, lsn, 8);
    memcpy(out, p, BS);
    nopad(L, ctr, 0, iv, p + head, out + head, BS - 4 - head);
    memset(out + kvo, 0, 4);
}

/* ibc_aria_rekey_page: pages of both files under the old page key re-encrypted under the new
 * one (OpenSSL opens them with it, same plaintext and checksum); a second call finds them done;
 * bitmap and zero pages are left; pages without a checksum tell nothing; a damaged one is
 * neither key's. */
static void test_rekey_pages(void)
{
    const char *tiers[] = {"portable", "aesni", "vaes256", "vaes512", "armce"};
    for (size_t t = 0; t < sizeof(tiers) / sizeof(tiers[0]); t++) {
        ibc_engine *e = NULL;
        if (ibc_engine_new(tiers[t], &e) != IBC_OK)
            continue;
        for (int round = 0; round < 24; round++) {
            uint8_t k1[32], k2[32], ivh[16], ivn[16], L[16], L2[16], h[HL];
            size_t klen = (size_t)(16 + 8 * (round % 3));
            tu_rand_bytes(k1, sizeof(k1));
            tu_rand_bytes(k2, sizeof(k2));
            tu_rand_bytes(ivh, 16);
            tu_rand_bytes(ivn, 16);
            ibc_keyring *kr = ibc_keyring_new(), *neu = ibc_keyring_new();
            ibc_keyring_add(kr, 1, 1, k1, klen);
            ibc_keyring_add(neu, 1, 1, k2, 32);
            const EVP_CIPHER *ecb = klen == 16 ? EVP_aes_128_ecb()
                                  : klen == 24 ? EVP_aes_192_ecb() : EVP_aes_256_ecb();
            ossl(ecb, 1, k1, NULL, ivh, L, 16);
            ossl(EVP_aes_256_ecb(), 1, k2, NULL, ivn, L2, 16);
            int tr = round & 1, ctr = (round >> 1) & 1;
            ibc_algo al = ctr ? IBC_ALGO_CTR : IBC_ALGO_CBC;
            uint32_t space = (uint32_t)tu_rand(), pno = 1 + (uint32_t)tu_rand_below(1000);
            make_header(h, 1, tr, space, ivh);
            ibc_aria a;
            ibc_aria_parse(h, HL, &a);
            uint8_t page[BS], plain[BS], got[BS], was[BS];
            /* data pages: head, tail, blob */
            int type = 1 + round % 3;
            make_data_page(page, plain, type, pno, space, L, ctr);
            memcpy(was, page, BS);
            TU_CHECK(ibc_aria_page_check(e, &a, kr, al, 0, page, pno) == 1 &&
                         ibc_aria_page_check(e, &a, neu, al, 0, page, pno) == -1,
                     "%s: key 1 opens the data page, another not (type %d)", tiers[t], type);
            TU_CHECK(ibc_aria_rekey_page(e, &a, kr, neu, ivn, al, 0, page, pno) == 1,
                     "%s: data page type %d re-encrypted (round %d)", tiers[t], type, round);
            open_data_page(page, got, pno, space, L2, ctr);
            TU_CHECK(le32(page + (type == 3 ? 8 : 12)) == 1 && memcmp(page, was, BS) &&
                         !memcmp(got, plain, BS),
                     "%s: the new page key opens it to the same plaintext (type %d)", tiers[t],
                     type);
            ibc_aria b = a;
            memcpy(b.iv, ivn, 16);
            TU_CHECK(ibc_aria_page_check(e, &b, neu, al, 0, page, pno) == 1,
                     "%s: the new key 1 and IV open the re-encrypted data page", tiers[t]);
            memcpy(got, page, BS);
            TU_CHECK(ibc_aria_rekey_page(e, &a, kr, neu, ivn, al, 0, page, pno) == 2 &&
                         !memcmp(got, page, BS),
                     "%s: a second call finds it done", tiers[t]);
            page[100] ^= 4;
            TU_CHECK(ibc_aria_rekey_page(e, &a, kr, neu, ivn, al, 0, page, pno) == -1,
                     "%s: a damaged page is neither key's", tiers[t]);
            le(page + BS - 4, 0xffffffffu, 4);
            TU_CHECK(ibc_aria_rekey_page(e, &a, kr, neu, ivn, al, 0, page, pno) == -2,
                     "%s: a page without a checksum tells nothing", tiers[t]);
            /* a bitmap page (plain, its checksum over its bytes), and zeros */
            tu_rand_bytes(page, BS);
            uint32_t crc = (uint32_t)crc32(pno, page, BS - 4);
            le(page + BS - 4, crc >= 0xfffffffeu ? 0xfffffffdu : crc, 4);
            memcpy(was, page, BS);
            TU_CHECK(ibc_aria_rekey_page(e, &a, kr, neu, ivn, al, 0, page, pno) == 0 &&
                         !memcmp(was, page, BS) &&
                         ibc_aria_page_check(e, &a, kr, al, 0, page, pno) == 0,
                     "%s: a bitmap page stays", tiers[t]);
            memset(page, 0, BS);
            TU_CHECK(ibc_aria_rekey_page(e, &a, kr, neu, ivn, al, 0, page, pno) == 0,
                     "%s: a page of zeros stays", tiers[t]);
            /* an index page: the new key 1 and IV open it (ibc_aria_page_opens); at least 4
             * bytes in use after the header tell the old key from the new one (fewer: a wrong
             * key can give the same plaintext, 1 in 2^8 per byte) */
            uint32_t kh = tr ? 21 : 15;
            make_page(page, tr, pno, space, L, ctr, kh);
            memcpy(was, page, BS);
            TU_CHECK(ibc_aria_rekey_page(e, &a, kr, neu, ivn, al, 1, page, pno) == 0 &&
                         !memcmp(was, page, BS) &&
                         ibc_aria_page_opens(e, &a, kr, al, page, pno) == -1,
                     "%s: an index page with nothing in use after its header stays", tiers[t]);
            uint32_t used = kh + 4 + (uint32_t)tu_rand_below(BS - 8 - kh);
            make_page(page, tr, pno, space, L, ctr, used);
            TU_CHECK(ibc_aria_rekey_page(e, &a, kr, neu, ivn, al, 1, page, pno) == 1,
                     "%s: index page re-encrypted (used %u)", tiers[t], used);
            TU_CHECK(ibc_aria_page_opens(e, &b, neu, al, page, pno) == 1 &&
                         ibc_aria_page_opens(e, &a, kr, al, page, pno) == 0,
                     "%s: the new key 1 and IV open the index page, the old ones not", tiers[t]);
            TU_CHECK(ibc_aria_rekey_page(e, &a, kr, neu, ivn, al, 1, page, pno) == 2,
                     "%s: a second call finds the index page done", tiers[t]);
            ibc_keyring_free(kr);
            ibc_keyring_free(neu);
        }
        ibc_engine_free(e);
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
            /* 4 bytes in use after the header at least (fewer tell no key: test_rekey_pages) */
            uint32_t used = (tr ? 25 : 19) + (uint32_t)tu_rand_below(BS - 8 - (tr ? 21 : 15));
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

TU_TESTS(TU_T(test_pages), TU_T(test_rekey_pages), TU_T(test_headers))
