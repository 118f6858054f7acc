/*
 * test_aes.c - every AES kernel of every tier this CPU supports, against OpenSSL.
 *
 * Random key sizes, lengths 0..70000, alignments, in place and out of place, buffers against
 * guard pages, CTR counters whose low 64 bits (or all 128) wrap, multi-buffer lanes of unequal
 * lengths; then cross-tier (encrypt with one tier, decrypt with every other) and the key
 * schedule layout shared by all tiers.
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "testutil.h"

#define MAXLEN 70000
#define SLACK 64

static const size_t key_sizes[3] = {16, 24, 32};

static size_t rand_key(uint8_t key[32])
{
    size_t kl = key_sizes[tu_rand_below(3)];
    tu_rand_bytes(key, kl);
    return kl;
}

/* A random counter block; sometimes with the low 64 bits (or all 128) about to wrap. */
static void rand_counter(uint8_t ctr[16])
{
    tu_rand_bytes(ctr, 16);
    switch (tu_rand_below(4)) {
    case 0:
        memset(ctr + 8, 0xff, 8);
        ctr[15] = (uint8_t)(0xff - tu_rand_below(8));
        break;
    case 1:
        memset(ctr, 0xff, 16);
        ctr[15] = (uint8_t)(0xff - tu_rand_below(8));
        break;
    default:
        break;
    }
}

static void test_key_schedule_layout_is_shared_by_all_tiers(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (int it = 0; it < 50; it++) {
        uint8_t key[32];
        size_t kl = key_sizes[it % 3];
        tu_rand_bytes(key, kl);
        ibc_aes_key ref, k;
        ibc_kernels_portable.aes_expand(&ref, key, kl);
        TU_CHECK(ref.rounds == 6 + kl / 4, "portable rounds %u for %zu-byte key", ref.rounds, kl);
        for (size_t i = 0; i < nt; i++) {
            memset(&k, 0xa5, sizeof(k));
            t[i]->aes_expand(&k, key, kl);
            TU_CHECK(k.rounds == ref.rounds, "%s: rounds %u != %u", t[i]->name, k.rounds,
                     ref.rounds);
            TU_CHECK_MEM(k.enc, ref.enc, 16 * (ref.rounds + 1), "%s: enc schedule, key %zu B",
                         t[i]->name, kl);
            TU_CHECK_MEM(k.dec, ref.dec, 16 * (ref.rounds + 1), "%s: dec schedule, key %zu B",
                         t[i]->name, kl);
        }
    }
}

static void test_ecb_cbc_ctr_match_openssl(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    uint8_t *src = malloc(MAXLEN + SLACK), *dst = malloc(MAXLEN + SLACK),
            *want = malloc(MAXLEN + SLACK);
    for (size_t ti = 0; ti < nt; ti++) {
        const ibc_kernels *k = t[ti];
        size_t budget = ref_budget(k, 24u << 20), spent = 0;
        for (unsigned it = 0; spent < budget || it < 300; it++) {
            uint8_t key[32], iv[16], iv2[16], iv_want[16];
            size_t kl = rand_key(key);
            ibc_aes_key ek;
            k->aes_expand(&ek, key, kl);
            size_t len = tu_rand_len(MAXLEN), nb = len / 16;
            int op = (int)tu_rand_below(5), inplace = (int)tu_rand_below(2);
            uint8_t *in = src + tu_rand_below(SLACK);
            uint8_t *out = inplace ? in : dst + tu_rand_below(SLACK);
            tu_rand_bytes(in, len);
            tu_rand_bytes(iv, 16);
            memcpy(iv2, iv, 16);
            switch (op) {
            case 0: /* ECB encrypt */
                ref_aes('e', 1, key, kl, NULL, in, want, nb * 16);
                k->aes_ecb_enc(&ek, in, out, nb);
                TU_CHECK_MEM(out, want, nb * 16, "%s ecb_enc key %zu nb %zu", k->name, kl, nb);
                break;
            case 1: /* ECB decrypt */
                ref_aes('e', 0, key, kl, NULL, in, want, nb * 16);
                k->aes_ecb_dec(&ek, in, out, nb);
                TU_CHECK_MEM(out, want, nb * 16, "%s ecb_dec key %zu nb %zu", k->name, kl, nb);
                break;
            case 2: /* CBC encrypt; iv becomes the last ciphertext block */
                ref_aes('c', 1, key, kl, iv, in, want, nb * 16);
                memcpy(iv_want, nb ? want + 16 * (nb - 1) : iv, 16);
                k->aes_cbc_enc(&ek, iv2, in, out, nb);
                TU_CHECK_MEM(out, want, nb * 16, "%s cbc_enc key %zu nb %zu", k->name, kl, nb);
                TU_CHECK_MEM(iv2, iv_want, 16, "%s cbc_enc chaining value", k->name);
                break;
            case 3: /* CBC decrypt; iv becomes the last input block */
                ref_aes('c', 0, key, kl, iv, in, want, nb * 16);
                memcpy(iv_want, nb ? in + 16 * (nb - 1) : iv, 16);
                k->aes_cbc_dec(&ek, iv2, in, out, nb);
                TU_CHECK_MEM(out, want, nb * 16, "%s cbc_dec key %zu nb %zu inplace %d", k->name,
                             kl, nb, inplace);
                TU_CHECK_MEM(iv2, iv_want, 16, "%s cbc_dec chaining value", k->name);
                break;
            default: /* CTR, any length */
                rand_counter(iv);
                ref_aes('t', 1, key, kl, iv, in, want, len);
                memcpy(iv2, iv, 16);
                k->aes_ctr(&ek, iv2, in, out, len);
                TU_CHECK_MEM(out, want, len, "%s ctr key %zu len %zu", k->name, kl, len);
                TU_CHECK_MEM(iv2, iv, 16, "%s ctr must not modify the counter", k->name);
                break;
            }
            spent += len + 64;
        }
    }
    free(src);
    free(dst);
    free(want);
}

/* A CBC stream split over several calls equals one call (the iv in/out contract). */
static void test_cbc_stream_continues_across_calls(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    uint8_t in[4096], out[4096], want[4096];
    for (size_t ti = 0; ti < nt; ti++) {
        for (int it = 0; it < 40; it++) {
            uint8_t key[32], iv[16], iv2[16];
            size_t kl = rand_key(key);
            ibc_aes_key ek;
            t[ti]->aes_expand(&ek, key, kl);
            tu_rand_bytes(in, sizeof(in));
            tu_rand_bytes(iv, 16);
            int enc = it & 1;
            ref_aes('c', enc, key, kl, iv, in, want, sizeof(in));
            memcpy(iv2, iv, 16);
            size_t done = 0;
            while (done < 256) {
                size_t nb = 1 + tu_rand_below(40);
                if (nb > 256 - done)
                    nb = 256 - done;
                (enc ? t[ti]->aes_cbc_enc : t[ti]->aes_cbc_dec)(&ek, iv2, in + 16 * done,
                                                                out + 16 * done, nb);
                done += nb;
            }
            TU_CHECK_MEM(out, want, sizeof(in), "%s cbc %s split", t[ti]->name,
                         enc ? "enc" : "dec");
        }
    }
}

/* Every operation on buffers whose last (or first) byte touches a PROT_NONE page. */
static void test_buffers_against_guard_pages(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (size_t ti = 0; ti < nt; ti++) {
        const ibc_kernels *k = t[ti];
        for (int it = 0; it < 60; it++) {
            size_t len = tu_rand_len(20000), nb = len / 16;
            int at_end = it & 1;
            tu_guard gi, go;
            uint8_t *in = tu_guard_alloc(&gi, len, at_end);
            uint8_t *out = tu_guard_alloc(&go, len, !at_end);
            uint8_t *want = malloc(len + 1), key[32], iv[16], iv2[16];
            size_t kl = rand_key(key);
            ibc_aes_key ek;
            k->aes_expand(&ek, key, kl);
            tu_rand_bytes(in, len);
            tu_rand_bytes(iv, 16);
            /* Block ops on the block-rounded prefix placed at the page edge. */
            uint8_t *bin = at_end ? in + (len - nb * 16) : in;
            uint8_t *bout = at_end ? out : out + (len - nb * 16);
            ref_aes('c', 1, key, kl, iv, bin, want, nb * 16);
            memcpy(iv2, iv, 16);
            k->aes_cbc_enc(&ek, iv2, bin, bout, nb);
            int ok = !tu_memdiff(bout, want, nb * 16, &(size_t){0});
            ref_aes('c', 0, key, kl, iv, bin, want, nb * 16);
            memcpy(iv2, iv, 16);
            k->aes_cbc_dec(&ek, iv2, bin, bout, nb);
            ok = ok && !tu_memdiff(bout, want, nb * 16, &(size_t){0});
            ref_aes('e', 1, key, kl, NULL, bin, want, nb * 16);
            k->aes_ecb_enc(&ek, bin, bout, nb);
            ok = ok && !tu_memdiff(bout, want, nb * 16, &(size_t){0});
            ref_aes('t', 1, key, kl, iv, in, want, len);
            k->aes_ctr(&ek, iv, in, out, len);
            ok = ok && !tu_memdiff(out, want, len, &(size_t){0});
            free(want);
            tu_guard_free(&gi);
            tu_guard_free(&go);
            TU_CHECK(ok, "%s: wrong result next to a guard page (len %zu)", k->name, len);
        }
    }
}

static void test_cbc_multibuffer_lanes_match_openssl(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (size_t ti = 0; ti < nt; ti++) {
        const ibc_kernels *k = t[ti];
        int iters = k->tier == IBC_TIER_PORTABLE ? 20 : 200;
        for (int it = 0; it < iters; it++) {
            uint8_t key[32];
            size_t kl = rand_key(key);
            ibc_aes_key ek;
            k->aes_expand(&ek, key, kl);
            size_t n = tu_rand_below(IBC_MB_MAX_LANES + 1);
            ibc_cbc_lane lanes[IBC_MB_MAX_LANES];
            uint8_t *bufs[IBC_MB_MAX_LANES], *outs[IBC_MB_MAX_LANES], *want[IBC_MB_MAX_LANES];
            uint8_t ivs[IBC_MB_MAX_LANES][16];
            int same_len = tu_rand_below(3) == 0;
            size_t common = tu_rand_below(1100);
            for (size_t i = 0; i < n; i++) {
                size_t nb = same_len ? common : tu_rand_below(4) ? tu_rand_below(1100)
                                                                 : tu_rand_below(3);
                int inplace = (int)tu_rand_below(2);
                bufs[i] = malloc(nb * 16 + SLACK);
                outs[i] = inplace ? NULL : malloc(nb * 16 + SLACK);
                want[i] = malloc(nb * 16 + 16);
                uint8_t *lin = bufs[i] + tu_rand_below(SLACK);
                lanes[i].in = lin;
                lanes[i].out = inplace ? lin : outs[i] + tu_rand_below(SLACK);
                lanes[i].nblocks = nb;
                tu_rand_bytes(lin, nb * 16);
                tu_rand_bytes(ivs[i], 16);
                memcpy(lanes[i].iv, ivs[i], 16);
                ref_aes('c', 1, key, kl, ivs[i], lanes[i].in, want[i], nb * 16);
            }
            /* half of the time the variant that carries on a CRC of each lane's output */
            int with_crc = k->aes_cbc_enc_mb_crc && it % 2;
            uint32_t crc[IBC_MB_MAX_LANES], crc_want[IBC_MB_MAX_LANES];
            for (size_t i = 0; i < n; i++) {
                crc[i] = (uint32_t)tu_rand();
                crc_want[i] = ref_crc32c(crc[i], want[i], lanes[i].nblocks * 16);
            }
            if (with_crc)
                k->aes_cbc_enc_mb_crc(&ek, lanes, n, crc);
            else
                k->aes_cbc_enc_mb(&ek, lanes, n);
            int bad = -1;
            for (size_t i = 0; i < n; i++) {
                size_t nb = lanes[i].nblocks;
                const uint8_t *last = nb ? want[i] + 16 * (nb - 1) : ivs[i];
                if (bad < 0 && (tu_memdiff(lanes[i].out, want[i], nb * 16, &(size_t){0}) ||
                                memcmp(lanes[i].iv, last, 16) ||
                                (with_crc && crc[i] != crc_want[i])))
                    bad = (int)i;
            }
            for (size_t i = 0; i < n; i++) {
                free(bufs[i]);
                free(outs[i]);
                free(want[i]);
            }
            TU_CHECK(bad < 0, "%s cbc_enc_mb%s: lane %d of %zu wrong (key %zu B)", k->name,
                     with_crc ? "_crc" : "", bad, n, kl);
        }
    }
}

/* Encrypt with every tier, decrypt with every other; compare with the plaintext. */
static void test_cross_tier_encrypt_decrypt(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    enum { LEN = 16 * 700 + 9 };
    uint8_t *p = malloc(LEN), *c = malloc(LEN), *d = malloc(LEN);
    for (int it = 0; it < 6; it++) {
        uint8_t key[32], iv[16], iv2[16];
        size_t kl = key_sizes[it % 3];
        tu_rand_bytes(key, kl);
        tu_rand_bytes(iv, 16);
        tu_rand_bytes(p, LEN);
        for (size_t a = 0; a < nt; a++) {
            for (size_t b = 0; b < nt; b++) {
                ibc_aes_key ka, kb;
                t[a]->aes_expand(&ka, key, kl);
                t[b]->aes_expand(&kb, key, kl);
                size_t nb = LEN / 16;
                /* CBC: single-stream encrypt on a, multi-buffer encrypt on a, decrypt on b */
                memcpy(iv2, iv, 16);
                t[a]->aes_cbc_enc(&ka, iv2, p, c, nb);
                memcpy(iv2, iv, 16);
                t[b]->aes_cbc_dec(&kb, iv2, c, d, nb);
                TU_CHECK_MEM(d, p, nb * 16, "cbc enc %s -> dec %s", t[a]->name, t[b]->name);
                ibc_cbc_lane lane = {.in = p, .out = c, .nblocks = nb};
                memcpy(lane.iv, iv, 16);
                t[a]->aes_cbc_enc_mb(&ka, &lane, 1);
                memcpy(iv2, iv, 16);
                t[b]->aes_cbc_dec(&kb, iv2, c, d, nb);
                TU_CHECK_MEM(d, p, nb * 16, "cbc mb enc %s -> dec %s", t[a]->name, t[b]->name);
                t[a]->aes_ecb_enc(&ka, p, c, nb);
                t[b]->aes_ecb_dec(&kb, c, d, nb);
                TU_CHECK_MEM(d, p, nb * 16, "ecb enc %s -> dec %s", t[a]->name, t[b]->name);
                t[a]->aes_ctr(&ka, iv, p, c, LEN);
                t[b]->aes_ctr(&kb, iv, c, d, LEN);
                TU_CHECK_MEM(d, p, LEN, "ctr %s -> %s", t[a]->name, t[b]->name);
            }
        }
    }
    free(p);
    free(c);
    free(d);
}

TU_TESTS(TU_T(test_key_schedule_layout_is_shared_by_all_tiers),
         TU_T(test_ecb_cbc_ctr_match_openssl), TU_T(test_cbc_stream_continues_across_calls),
         TU_T(test_buffers_against_guard_pages), TU_T(test_cbc_multibuffer_lanes_match_openssl),
         TU_T(test_cross_tier_encrypt_decrypt))
