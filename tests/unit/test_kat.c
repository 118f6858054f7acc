/*
 * test_kat.c - known answers, on every tier this CPU supports: FIPS-197 appendix C (AES-ECB),
 * SP 800-38A F.2 (CBC) and F.5 (CTR) for 128/192/256-bit keys, and the CRC32C check value and
 * RFC 3720 B.4 vectors. The vectors live in tests/vectors/.
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "testutil.h"
#include "vectors.h"

static void run_aes_file(const char *file)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    tv_file f;
    tv_record r;
    TU_CHECK(tv_open(&f, file) == 0, "cannot open vectors/%s", file);
    int records = 0;
    while (tv_next(&f, &r)) {
        uint8_t key[32], iv[16], pt[256], ct[256], out[256], iv2[16];
        long kl = tv_hex(&r, "Key", key, sizeof(key));
        long pl = tv_hex(&r, "Plaintext", pt, sizeof(pt));
        long cl = tv_hex(&r, "Ciphertext", ct, sizeof(ct));
        int is_ecb = strcmp(r.section, "AES-ECB") == 0, is_cbc = strcmp(r.section, "AES-CBC") == 0;
        long ivl = is_ecb ? 16 : tv_hex(&r, is_cbc ? "IV" : "Counter", iv, sizeof(iv));
        TU_CHECK(kl > 0 && pl == cl && pl % 16 == 0 && ivl == 16, "%s:%d: malformed record",
                 file, r.line);
        size_t nb = (size_t)pl / 16;
        records++;
        for (size_t i = 0; i < nt; i++) {
            ibc_aes_key k;
            t[i]->aes_expand(&k, key, (size_t)kl);
            const char *tn = t[i]->name;
            if (is_ecb) {
                t[i]->aes_ecb_enc(&k, pt, out, nb);
                TU_CHECK_MEM(out, ct, (size_t)pl, "%s:%d %s ecb encrypt", file, r.line, tn);
                t[i]->aes_ecb_dec(&k, ct, out, nb);
                TU_CHECK_MEM(out, pt, (size_t)pl, "%s:%d %s ecb decrypt", file, r.line, tn);
            } else if (is_cbc) {
                memcpy(iv2, iv, 16);
                t[i]->aes_cbc_enc(&k, iv2, pt, out, nb);
                TU_CHECK_MEM(out, ct, (size_t)pl, "%s:%d %s cbc encrypt", file, r.line, tn);
                memcpy(iv2, iv, 16);
                t[i]->aes_cbc_dec(&k, iv2, ct, out, nb);
                TU_CHECK_MEM(out, pt, (size_t)pl, "%s:%d %s cbc decrypt", file, r.line, tn);
                ibc_cbc_lane lane = {.in = pt, .out = out, .nblocks = nb};
                memcpy(lane.iv, iv, 16);
                t[i]->aes_cbc_enc_mb(&k, &lane, 1);
                TU_CHECK_MEM(out, ct, (size_t)pl, "%s:%d %s cbc mb encrypt", file, r.line, tn);
            } else {
                t[i]->aes_ctr(&k, iv, pt, out, (size_t)pl);
                TU_CHECK_MEM(out, ct, (size_t)pl, "%s:%d %s ctr encrypt", file, r.line, tn);
                t[i]->aes_ctr(&k, iv, ct, out, (size_t)pl);
                TU_CHECK_MEM(out, pt, (size_t)pl, "%s:%d %s ctr decrypt", file, r.line, tn);
                /* a partial last block: the same stream cut short */
                t[i]->aes_ctr(&k, iv, pt, out, (size_t)pl - 5);
                TU_CHECK_MEM(out, ct, (size_t)pl - 5, "%s:%d %s ctr partial", file, r.line, tn);
            }
        }
    }
    tv_close(&f);
    TU_CHECK(records >= 3, "%s: only %d records", file, records);
}

static void test_fips197_appendix_c(void)
{
    run_aes_file("fips197.txt");
}

static void test_sp800_38a_cbc_and_ctr(void)
{
    run_aes_file("sp800-38a.txt");
}

static void test_crc32c_check_value_and_rfc3720(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    tv_file f;
    tv_record r;
    TU_CHECK(tv_open(&f, "crc32c.txt") == 0, "cannot open vectors/crc32c.txt");
    int records = 0;
    while (tv_next(&f, &r)) {
        uint8_t data[256], crcb[4];
        long n = tv_hex(&r, "Data", data, sizeof(data));
        TU_CHECK(n >= 0 && tv_hex(&r, "CRC", crcb, 4) == 4, "crc32c.txt:%d malformed", r.line);
        uint32_t want = (uint32_t)crcb[0] << 24 | crcb[1] << 16 | crcb[2] << 8 | crcb[3];
        records++;
        for (size_t i = 0; i < nt; i++) {
            uint32_t got = t[i]->crc32c(0, data, (size_t)n);
            TU_CHECK(got == want, "crc32c.txt:%d %s: got %08x want %08x", r.line, t[i]->name,
                     got, want);
            /* byte at a time, continuing the running value */
            uint32_t c = 0;
            for (long j = 0; j < n; j++)
                c = t[i]->crc32c(c, data + j, 1);
            TU_CHECK(c == want, "crc32c.txt:%d %s bytewise: got %08x", r.line, t[i]->name, c);
        }
    }
    tv_close(&f);
    TU_CHECK(records >= 6, "crc32c.txt: only %d records", records);
}

TU_TESTS(TU_T(test_fips197_appendix_c), TU_T(test_sp800_38a_cbc_and_ctr),
         TU_T(test_crc32c_check_value_and_rfc3720))
