/*
 * test_mariadb_kat.c - the engine's MariaDB scheme against known answers taken from a real
 * 10.11.19 server (tests/vectors/mariadb-pages.txt, from formats/mariadb.md §14): page key
 * derivation, the little-endian page IV, the CBC tail mask, CBC and CTR over real ciphertext,
 * on every tier.
 */
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "page.h"
#include "ref.h"
#include "testutil.h"
#include "vectors.h"

static void test_page_scheme_known_answers(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    tv_file f;
    tv_record r;
    TU_CHECK(tv_open(&f, "mariadb-pages.txt") == 0, "cannot open vectors/mariadb-pages.txt");
    int records = 0;
    while (tv_next(&f, &r)) {
        uint8_t fk[32], civ[16], lkey[16], piv[16], ct[64], pt[64], tct[18], tpt[18];
        long fkl = tv_hex(&r, "FileKey", fk, 32);
        TU_CHECK(fkl == 32 && tv_hex(&r, "CryptIV", civ, 16) == 16 &&
                     tv_hex(&r, "PageKey", lkey, 16) == 16 && tv_hex(&r, "PageIV", piv, 16) == 16 &&
                     tv_hex(&r, "Cipher", ct, 64) == 48 && tv_hex(&r, "Plain", pt, 64) == 48 &&
                     tv_hex(&r, "TailCipher", tct, 18) == 18 &&
                     tv_hex(&r, "TailPlain", tpt, 18) == 18,
                 "mariadb-pages.txt:%d malformed", r.line);
        int ctr = strstr(r.section, "CTR") != NULL, fc32 = strstr(r.section, "full_crc32") != NULL;
        uint32_t space = (uint32_t)atoi(tv_get(&r, "Space")), pno = (uint32_t)atoi(tv_get(&r, "Page"));
        uint64_t lsn = strtoull(tv_get(&r, "LSN"), NULL, 10);
        uint32_t off = (uint32_t)atoi(tv_get(&r, "Offset"));
        records++;
        for (size_t i = 0; i < nt; i++) {
            const ibc_kernels *k = t[i];
            /* L = AES-ECB(file key, crypt-data IV), AES-256 for a 32-byte file key */
            ibc_aes_key fkey, lk;
            uint8_t l[16], got[64], mask[16];
            k->aes_expand(&fkey, fk, 32);
            k->aes_ecb_enc(&fkey, civ, l, 1);
            TU_CHECK_MEM(l, lkey, 16, "%s %s: page key", r.section, k->name);
            /* the page IV, built by the engine from a page header */
            ibc_space sp;
            memset(&sp, 0, sizeof(sp));
            sp.k = k;
            sp.g.full_crc32 = fc32;
            sp.space_id = space;
            sp.algo = ctr ? IBC_ALGO_CTR : IBC_ALGO_CBC;
            uint8_t hdr[64] = {0};
            put_be32(hdr + FIL_PAGE_OFFSET, pno);
            put_be64(hdr + FIL_PAGE_LSN, lsn);
            put_be32(hdr + FIL_PAGE_SPACE_ID, space); /* legacy: read from the page */
            uint8_t iv[16];
            ibc_page_iv(&sp, hdr, iv);
            TU_CHECK_MEM(iv, piv, 16, "%s %s: page IV", r.section, k->name);
            k->aes_expand(&lk, l, 16);
            k->aes_ecb_enc(&lk, iv, mask, 1);
            if (tv_get(&r, "Mask")) {
                uint8_t m[16];
                tv_hex(&r, "Mask", m, 16);
                TU_CHECK_MEM(mask, m, 16, "%s %s: tail mask", r.section, k->name);
            }
            /* the first 48 encrypted bytes */
            if (ctr) {
                k->aes_ctr(&lk, iv, ct, got, 48);
            } else {
                uint8_t v[16];
                memcpy(v, iv, 16);
                k->aes_cbc_dec(&lk, v, ct, got, 3);
            }
            TU_CHECK_MEM(got, pt, 48, "%s %s: first blocks", r.section, k->name);
            /* the 2-byte tail: XOR with the mask (CBC), or keystream block 1022 (CTR); for CTR
             * the 16 bytes before it are keystream block 1021 */
            uint32_t range_len = fc32 ? 16384 - 30 : 16384 - 46, nb = range_len / 16;
            (void)off;
            if (ctr) {
                uint8_t c[16];
                memcpy(c, iv, 16);
                ibc_ctr128_add(c, nb - 1);
                k->aes_ctr(&lk, c, tct, got, 18);
                TU_CHECK_MEM(got, tpt, 18, "%s %s: last block and tail", r.section, k->name);
            } else {
                for (int j = 0; j < 2; j++)
                    got[j] = tct[16 + j] ^ mask[j];
                TU_CHECK_MEM(got, tpt + 16, 2, "%s %s: CBC tail", r.section, k->name);
            }
            ibc_aes_key_wipe(&fkey);
            ibc_aes_key_wipe(&lk);
        }
    }
    tv_close(&f);
    TU_CHECK(records == 3, "expected 3 records, got %d", records);
}

TU_TESTS(TU_T(test_page_scheme_known_answers))
