/*
 * test_dispatch.c - tier selection and forcing, and proof that a forced tier runs its own
 * kernel variants (the per-thread "which variant ran" trace of simd.h).
 */
#include <string.h>

#include "engine_internal.h"
#include "ref.h"
#include "testutil.h"

static int compiled(ibc_tier_id t)
{
    return ibc_tier_kernels(t) != NULL;
}

static void test_best_tier_for_synthetic_feature_sets(void)
{
    uint32_t aesni = ibc_tier_required_features(IBC_TIER_AESNI);
    uint32_t v256 = ibc_tier_required_features(IBC_TIER_VAES256);
    uint32_t v512 = ibc_tier_required_features(IBC_TIER_VAES512);
    uint32_t arm = ibc_tier_required_features(IBC_TIER_ARMCE);
    struct {
        uint32_t features;
        ibc_tier_id want; /* if compiled; else the next one down */
        ibc_tier_id fallback;
    } cases[] = {
        {0, IBC_TIER_PORTABLE, IBC_TIER_PORTABLE},
        {IBC_CPU_AESNI, IBC_TIER_PORTABLE, IBC_TIER_PORTABLE}, /* AES-NI without PCLMUL/SSE4.2 */
        {aesni, IBC_TIER_AESNI, IBC_TIER_PORTABLE},
        {aesni | IBC_CPU_AVX512F | IBC_CPU_AVX512BW | IBC_CPU_AVX512VL, IBC_TIER_AESNI,
         IBC_TIER_PORTABLE}, /* AVX-512 but no VAES (Skylake-X) */
        {v256 & ~IBC_CPU_AVX2, IBC_TIER_AESNI, IBC_TIER_PORTABLE},
        {v256, IBC_TIER_VAES256, IBC_TIER_AESNI}, /* Zen 3, Alder Lake */
        {v512 & ~IBC_CPU_AVX512VL, IBC_TIER_VAES256, IBC_TIER_AESNI},
        {v512, IBC_TIER_VAES512, IBC_TIER_VAES256}, /* Ice Lake, Zen 4 */
        {arm, IBC_TIER_ARMCE, IBC_TIER_PORTABLE},
        {arm & ~IBC_CPU_ARM_PMULL, IBC_TIER_PORTABLE, IBC_TIER_PORTABLE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ibc_tier_id want = compiled(cases[i].want) ? cases[i].want : cases[i].fallback;
        if (!compiled(want))
            want = compiled(IBC_TIER_AESNI) && (cases[i].features & aesni) == aesni
                       ? IBC_TIER_AESNI
                       : IBC_TIER_PORTABLE;
        ibc_tier_id got = ibc_tier_best(cases[i].features);
        TU_CHECK(got == want, "case %zu: features %#x -> %s, want %s", i, cases[i].features,
                 ibc_tier_name(got), ibc_tier_name(want));
    }
}

static void test_forcing_tiers(void)
{
    uint32_t f = ibc_cpu_features();
    ibc_engine *e = NULL;
    TU_CHECK(ibc_engine_new(NULL, &e) == IBC_OK, "auto engine");
    TU_CHECK(strcmp(ibc_engine_isa(e), ibc_tier_name(ibc_tier_best(f))) == 0,
             "auto picked %s", ibc_engine_isa(e));
    ibc_engine_free(e);
    for (int t = 0; t < IBC_TIER_COUNT; t++) {
        const char *name = ibc_tier_name((ibc_tier_id)t);
        ibc_status st = ibc_engine_new(name, &e);
        if (ibc_tier_usable((ibc_tier_id)t, f)) {
            TU_CHECK(st == IBC_OK && e, "forcing usable tier %s failed: %s", name,
                     ibc_strerror(st));
            TU_CHECK(strcmp(ibc_engine_isa(e), name) == 0, "forced %s, got %s", name,
                     ibc_engine_isa(e));
            ibc_engine_free(e);
        } else {
            TU_CHECK(st == IBC_ERR_ISA_UNSUPPORTED && !e, "forcing unusable tier %s: %s", name,
                     ibc_strerror(st));
        }
    }
    TU_CHECK(ibc_engine_new("avx9000", &e) == IBC_ERR_ISA_UNKNOWN && !e, "unknown tier");
}

/* With a forced tier, every operation records exactly that tier in the trace. */
static void test_forced_tier_runs_its_own_variants(void)
{
    uint32_t f = ibc_cpu_features();
    uint8_t key[32] = {1, 2, 3}, iv[16] = {0}, buf[4096], out[4096];
    for (int t = 0; t < IBC_TIER_COUNT; t++) {
        if (!ibc_tier_usable((ibc_tier_id)t, f))
            continue;
        ibc_engine *e = NULL;
        TU_CHECK(ibc_engine_new(ibc_tier_name((ibc_tier_id)t), &e) == IBC_OK, "engine");
        const ibc_kernels *k = e->k;
        ibc_aes_key ak;
        uint32_t c1 = 0, c2 = 0;
        ibc_cbc_lane lane = {.in = buf, .out = out, .nblocks = 8};
        ibc_rekey_lane rl = {.in = buf, .out = out, .nblocks = 8};
        memset(buf, 7, sizeof(buf));
        ibc_kernel_hits_reset();
        k->aes_expand(&ak, key, 32);
        k->aes_ecb_enc(&ak, buf, out, 4);
        k->aes_ecb_dec(&ak, buf, out, 4);
        k->aes_cbc_enc(&ak, iv, buf, out, 4);
        k->aes_cbc_dec(&ak, iv, buf, out, 4);
        k->aes_cbc_enc_mb(&ak, &lane, 1);
        k->aes_ctr(&ak, iv, buf, out, 100);
        k->crc32c(0, buf, sizeof(buf));
        ibc_crc_msg msg = {.p = buf, .len = 100};
        k->crc32c_mb(&msg, 1, 1, 8);
        k->aes_cbc_dec_crc(&ak, iv, buf, out, 8, &c1);
        k->aes_ctr_crc(&ak, iv, buf, out, 1000, &c1, &c2);
        k->aes_ctr2_crc(&ak, iv, &ak, iv, buf, out, 1000, &c1, &c2);
        k->aes_cbc_rekey_mb(&ak, &ak, &rl, 1);
        ibc_short_lane sl = {.p = out, .len = 100};
        k->aes_cbc_rekey_short(&ak, &ak, &sl, 1);
        k->aes_ctr2_short(&ak, &ak, &sl, 1);
        k->crc32z(0, buf, sizeof(buf));
        for (int op = 0; op < IBC_KOP_COUNT; op++)
            TU_CHECK(ibc_kernel_hits[op] == (1u << t), "tier %s: op %d ran variants mask %#x",
                     ibc_tier_name((ibc_tier_id)t), op, ibc_kernel_hits[op]);
        ibc_aes_key_wipe(&ak);
        ibc_engine_free(e);
    }
}

TU_TESTS(TU_T(test_best_tier_for_synthetic_feature_sets), TU_T(test_forcing_tiers),
         TU_T(test_forced_tier_runs_its_own_variants))
