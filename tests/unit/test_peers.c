/*
 * test_peers.c - multi-buffer CBC encryption and CTR of every tier against intel-ipsec-mb, the
 * multi-buffer peer (the OpenSSL comparisons are in test_aes.c). Skipped where ipsec-mb is not
 * available (AArch64).
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "testutil.h"

#ifdef IBC_TEST_HAVE_IPSECMB
static const size_t key_sizes[3] = {16, 24, 32};

static void test_cbc_multibuffer_matches_ipsecmb(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (size_t ti = 0; ti < nt; ti++) {
        const ibc_kernels *k = t[ti];
        for (int it = 0; it < (k->tier == IBC_TIER_PORTABLE ? 10 : 100); it++) {
            uint8_t key[32];
            size_t kl = key_sizes[tu_rand_below(3)];
            tu_rand_bytes(key, kl);
            ibc_aes_key ek;
            k->aes_expand(&ek, key, kl);
            size_t n = 1 + tu_rand_below(IBC_MB_MAX_LANES);
            ibc_cbc_lane ours[IBC_MB_MAX_LANES], theirs[IBC_MB_MAX_LANES];
            uint8_t *mem[IBC_MB_MAX_LANES];
            for (size_t i = 0; i < n; i++) {
                size_t nb = tu_rand_below(4) ? 1024 : tu_rand_below(1100); /* mostly pages */
                mem[i] = malloc(3 * nb * 16 + 64);
                uint8_t *in = mem[i] + tu_rand_below(64);
                tu_rand_bytes(in, nb * 16);
                ours[i] = (ibc_cbc_lane){.in = in, .out = in + nb * 16, .nblocks = nb};
                tu_rand_bytes(ours[i].iv, 16);
                theirs[i] = ours[i];
                theirs[i].out = in + 2 * nb * 16;
            }
            k->aes_cbc_enc_mb(&ek, ours, n);
            ref_ipsecmb_cbc_enc_mb(key, kl, theirs, n);
            int bad = -1;
            for (size_t i = 0; i < n; i++)
                if (bad < 0 && memcmp(ours[i].out, theirs[i].out, ours[i].nblocks * 16))
                    bad = (int)i;
            for (size_t i = 0; i < n; i++)
                free(mem[i]);
            TU_CHECK(bad < 0, "%s cbc_enc_mb != ipsec-mb in lane %d of %zu (key %zu B)",
                     k->name, bad, n, kl);
        }
    }
}

static void test_ctr_matches_ipsecmb(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    uint8_t *in = malloc(70000), *a = malloc(70000), *b = malloc(70000);
    for (size_t ti = 0; ti < nt; ti++) {
        const ibc_kernels *k = t[ti];
        for (int it = 0; it < (k->tier == IBC_TIER_PORTABLE ? 20 : 300); it++) {
            uint8_t key[32], ctr[16];
            size_t kl = key_sizes[tu_rand_below(3)], len = tu_rand_len(70000);
            tu_rand_bytes(key, kl);
            tu_rand_bytes(ctr, 16);
            ctr[12] &= 0x7f; /* keep the low 32 bits away from a wrap (see ref.h) */
            tu_rand_bytes(in, len);
            ibc_aes_key ek;
            k->aes_expand(&ek, key, kl);
            k->aes_ctr(&ek, ctr, in, a, len);
            ref_ipsecmb_ctr(key, kl, ctr, in, b, len);
            TU_CHECK_MEM(a, b, len, "%s ctr != ipsec-mb (key %zu B, len %zu)", k->name, kl, len);
        }
    }
    free(in);
    free(a);
    free(b);
}

TU_TESTS(TU_T(test_cbc_multibuffer_matches_ipsecmb), TU_T(test_ctr_matches_ipsecmb))
#else
static void test_skipped_without_ipsecmb(void)
{
    printf("ipsec-mb not available on this platform: peer comparison skipped\n");
}
TU_TESTS(TU_T(test_skipped_without_ipsecmb))
#endif
