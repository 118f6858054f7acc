/*
 * test_fused.c - the fused kernels of every tier against OpenSSL + the reference CRC:
 * CBC decrypt + CRC of the ciphertext, CTR + CRCs, CTR re-key with two keystreams, and the
 * multi-lane CBC re-key (lanes of unequal length, in place and out of place), fused and composed
 * from the tier's kernels, and the short-stream re-keys of the redo log (CBC and CTR).
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "testutil.h"

#define MAXLEN 70000
static const size_t key_sizes[3] = {16, 24, 32};

static size_t rand_key(uint8_t key[32])
{
    size_t kl = key_sizes[tu_rand_below(3)];
    tu_rand_bytes(key, kl);
    return kl;
}

static void test_cbc_dec_crc(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    uint8_t *src = malloc(MAXLEN + 64), *dst = malloc(MAXLEN + 64), *want = malloc(MAXLEN);
    for (size_t ti = 0; ti < nt; ti++) {
        const ibc_kernels *k = t[ti];
        int iters = k->tier == IBC_TIER_PORTABLE ? 30 : 400;
        for (int it = 0; it < iters; it++) {
            uint8_t key[32], iv[16], iv2[16];
            size_t kl = rand_key(key), nb = tu_rand_len(MAXLEN) / 16;
            ibc_aes_key ek;
            k->aes_expand(&ek, key, kl);
            uint8_t *in = src + tu_rand_below(64);
            uint8_t *out = tu_rand_below(2) ? in : dst + tu_rand_below(64);
            tu_rand_bytes(in, nb * 16);
            tu_rand_bytes(iv, 16);
            uint32_t crc0 = (uint32_t)tu_rand(), crc = crc0;
            uint32_t want_crc = ref_crc32c(crc0, in, nb * 16);
            uint8_t want_iv[16];
            memcpy(want_iv, nb ? in + 16 * (nb - 1) : iv, 16);
            ref_aes('c', 0, key, kl, iv, in, want, nb * 16);
            memcpy(iv2, iv, 16);
            k->aes_cbc_dec_crc(&ek, iv2, in, out, nb, &crc);
            TU_CHECK_MEM(out, want, nb * 16, "%s cbc_dec_crc plaintext, nb %zu", k->name, nb);
            TU_CHECK(crc == want_crc, "%s cbc_dec_crc crc %08x want %08x nb %zu", k->name, crc,
                     want_crc, nb);
            TU_CHECK_MEM(iv2, want_iv, 16, "%s cbc_dec_crc chaining value", k->name);
        }
    }
    free(src);
    free(dst);
    free(want);
}

static void test_ctr_crc_and_ctr2_crc(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    uint8_t *src = malloc(MAXLEN + 64), *dst = malloc(MAXLEN + 64), *want = malloc(MAXLEN);
    for (size_t ti = 0; ti < nt; ti++) {
        const ibc_kernels *k = t[ti];
        int iters = k->tier == IBC_TIER_PORTABLE ? 30 : 400;
        for (int it = 0; it < iters; it++) {
            uint8_t key1[32], key2[32], c1[16], c2[16];
            size_t kl1 = rand_key(key1), kl2 = rand_key(key2), len = tu_rand_len(MAXLEN);
            ibc_aes_key k1, k2;
            k->aes_expand(&k1, key1, kl1);
            k->aes_expand(&k2, key2, kl2);
            uint8_t *in = src + tu_rand_below(64);
            uint8_t *out = tu_rand_below(2) ? in : dst + tu_rand_below(64);
            tu_rand_bytes(in, len);
            tu_rand_bytes(c1, 16);
            tu_rand_bytes(c2, 16);
            if (tu_rand_below(4) == 0)
                memset(c1 + 8, 0xff, 8); /* low 64 bits wrap inside the call */
            int two = (int)tu_rand_below(2);
            int with_in = (int)tu_rand_below(2), with_out = (int)tu_rand_below(2);
            uint32_t ci = (uint32_t)tu_rand(), co = (uint32_t)tu_rand();
            uint32_t want_ci = ref_crc32c(ci, in, len);
            ref_aes('t', 1, key1, kl1, c1, in, want, len);
            if (two)
                ref_aes('t', 1, key2, kl2, c2, want, want, len);
            uint32_t want_co = ref_crc32c(co, want, len);
            if (two)
                k->aes_ctr2_crc(&k1, c1, &k2, c2, in, out, len, with_in ? &ci : NULL,
                                with_out ? &co : NULL);
            else
                k->aes_ctr_crc(&k1, c1, in, out, len, with_in ? &ci : NULL,
                               with_out ? &co : NULL);
            const char *op = two ? "ctr2_crc" : "ctr_crc";
            TU_CHECK_MEM(out, want, len, "%s %s output, len %zu", k->name, op, len);
            TU_CHECK(!with_in || ci == want_ci, "%s %s crc_in, len %zu", k->name, op, len);
            TU_CHECK(!with_out || co == want_co, "%s %s crc_out, len %zu", k->name, op, len);
        }
    }
    free(src);
    free(dst);
    free(want);
}

static void test_cbc_rekey_multibuffer(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT + 1]; /* the composition steps by rekey_chunk */
    size_t nt = ref_usable_variants(t);
    for (size_t ti = 0; ti < nt; ti++) {
        const ibc_kernels *k = t[ti];
        int iters = k->tier == IBC_TIER_PORTABLE ? 8 : 120;
        for (int it = 0; it < iters; it++) {
            uint8_t key1[32], key2[32];
            size_t kl1 = rand_key(key1), kl2 = rand_key(key2);
            ibc_aes_key dk, ek;
            k->aes_expand(&dk, key1, kl1);
            k->aes_expand(&ek, key2, kl2);
            size_t n = tu_rand_below(IBC_MB_MAX_LANES + 1);
            ibc_rekey_lane lanes[IBC_MB_MAX_LANES], orig[IBC_MB_MAX_LANES];
            uint8_t *bufs[IBC_MB_MAX_LANES], *outs[IBC_MB_MAX_LANES], *want[IBC_MB_MAX_LANES];
            int page_like = tu_rand_below(2) == 0; /* 16 x 1022 blocks, like a page batch */
            for (size_t i = 0; i < n; i++) {
                size_t nb = page_like ? 1022 : tu_rand_below(4) ? tu_rand_below(1100)
                                                                : tu_rand_below(3);
                int inplace = (int)tu_rand_below(2);
                bufs[i] = malloc(nb * 16 + 64);
                outs[i] = inplace ? NULL : malloc(nb * 16 + 64);
                want[i] = malloc(nb * 16 + 16);
                ibc_rekey_lane *l = &lanes[i];
                uint8_t *lin = bufs[i] + tu_rand_below(64);
                l->in = lin;
                l->out = inplace ? lin : outs[i] + tu_rand_below(64);
                l->nblocks = nb;
                tu_rand_bytes(lin, nb * 16);
                tu_rand_bytes(l->iv_in, 16);
                tu_rand_bytes(l->iv_out, 16);
                l->crc_in = (uint32_t)tu_rand();
                l->crc_out = (uint32_t)tu_rand();
                orig[i] = *l;
                ref_aes('c', 0, key1, kl1, l->iv_in, l->in, want[i], nb * 16);
                ref_aes('c', 1, key2, kl2, l->iv_out, want[i], want[i], nb * 16);
                orig[i].crc_in = ref_crc32c(l->crc_in, l->in, nb * 16);
                orig[i].crc_out = ref_crc32c(l->crc_out, want[i], nb * 16);
                if (nb) {
                    memcpy(orig[i].iv_in, l->in + 16 * (nb - 1), 16);
                    memcpy(orig[i].iv_out, want[i] + 16 * (nb - 1), 16);
                }
            }
            /* the fused kernel, and the composition of the tier's kernels the engine uses
             * where it is faster (ibc_cbc_rekey_mb) */
            int composed = it % 2;
            if (composed)
                ibc_generic_cbc_rekey_mb(k, &dk, &ek, lanes, n);
            else
                k->aes_cbc_rekey_mb(&dk, &ek, lanes, n);
            int bad = -1;
            const char *what = "";
            for (size_t i = 0; i < n && bad < 0; i++) {
                ibc_rekey_lane *l = &lanes[i];
                if (tu_memdiff(l->out, want[i], l->nblocks * 16, &(size_t){0}))
                    what = "output";
                else if (l->crc_in != orig[i].crc_in)
                    what = "crc_in";
                else if (l->crc_out != orig[i].crc_out)
                    what = "crc_out";
                else if (memcmp(l->iv_in, orig[i].iv_in, 16) || memcmp(l->iv_out, orig[i].iv_out, 16))
                    what = "chaining values";
                else
                    continue;
                bad = (int)i;
            }
            for (size_t i = 0; i < n; i++) {
                free(bufs[i]);
                free(outs[i]);
                free(want[i]);
            }
            TU_CHECK(bad < 0, "%s cbc_rekey_mb%s: lane %d of %zu: wrong %s", k->name,
                     composed ? " (composed)" : "", bad, n, what);
        }
    }
}

/* The short-stream re-keys (CBC and CTR), in place: lanes packed into one buffer (in a random
 * order and sometimes sorted by length, as the engine passes them) with random gaps between
 * them, some counters about to carry into the high 64 bits; every byte of the buffer must end as
 * the reference says: the lanes' whole blocks (CBC)
 * or all their bytes (CTR) re-keyed, everything else untouched. Lane lengths are mostly those of
 * redo mini-transactions, some of zero, some of a few kilobytes. */
static int by_len_desc(const void *a, const void *b)
{
    const ibc_short_lane *x = a, *y = b;
    return (x->len < y->len) - (x->len > y->len);
}

static void test_short_rekeys(void)
{
    enum { NMAX = 70 };
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (size_t ti = 0; ti < nt; ti++) {
        const ibc_kernels *k = t[ti];
        int iters = k->tier == IBC_TIER_PORTABLE ? 40 : 400;
        for (int it = 0; it < iters; it++) {
            int ctr = it & 1;
            uint8_t key1[32], key2[32];
            size_t kl1 = tu_rand_below(4) ? 16 : rand_key(key1);
            size_t kl2 = kl1 == 16 && tu_rand_below(4) ? 16 : rand_key(key2);
            tu_rand_bytes(key1, kl1);
            tu_rand_bytes(key2, kl2);
            ibc_aes_key k1, k2;
            k->aes_expand(&k1, key1, kl1);
            k->aes_expand(&k2, key2, kl2);
            size_t n = tu_rand_below(NMAX + 1), total = 0;
            uint32_t len[NMAX], gap[NMAX];
            for (size_t i = 0; i < n; i++) {
                uint32_t c = tu_rand_below(16);
                len[i] = c == 0 ? tu_rand_below(16) : c == 1 ? 1000 + tu_rand_below(3000)
                                                              : 16 + tu_rand_below(200);
                gap[i] = tu_rand_below(20);
                total += len[i] + gap[i];
            }
            uint8_t *buf = malloc(total + 1), *want = malloc(total + 1);
            tu_rand_bytes(buf, total);
            memcpy(want, buf, total);
            ibc_short_lane lanes[NMAX];
            for (size_t i = 0, at = 0; i < n; i++) {
                ibc_short_lane *l = &lanes[i];
                l->p = buf + at;
                l->len = len[i];
                tu_rand_bytes(l->iv, 16);
                if (tu_rand_below(4) == 0) /* the low 64 bits of the counter wrap soon */
                    memset(l->iv + 8, 0xff, 7);
                uint8_t *w = want + at;
                size_t whole = ctr ? len[i] : len[i] / 16 * 16;
                if (ctr) {
                    ref_aes('t', 1, key1, kl1, l->iv, w, w, whole);
                    ref_aes('t', 1, key2, kl2, l->iv, w, w, whole);
                } else if (whole) {
                    ref_aes('c', 0, key1, kl1, l->iv, w, w, whole);
                    ref_aes('c', 1, key2, kl2, l->iv, w, w, whole);
                }
                at += len[i] + gap[i];
            }
            if (tu_rand_below(2))
                qsort(lanes, n, sizeof(*lanes), by_len_desc);
            if (ctr)
                k->aes_ctr2_short(&k1, &k2, lanes, n);
            else
                k->aes_cbc_rekey_short(&k1, &k2, lanes, n);
            size_t at = 0;
            int bad = tu_memdiff(buf, want, total, &at);
            free(buf);
            free(want);
            TU_CHECK(!bad, "%s %s: %zu lanes, keys of %zu and %zu bytes: byte %zu of %zu differs",
                     k->name, ctr ? "ctr2_short" : "cbc_rekey_short", n, kl1, kl2, at, total);
        }
    }
}

TU_TESTS(TU_T(test_cbc_dec_crc), TU_T(test_ctr_crc_and_ctr2_crc), TU_T(test_cbc_rekey_multibuffer),
         TU_T(test_short_rekeys))
