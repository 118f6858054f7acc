/*
 * dispatch.c - the tier tables and the choice of the best one.
 *
 * A tier is usable when it was compiled in and the CPU (as detected by cpu.c, with the OS
 * state checks) has every feature it needs. The engine resolves its table once, at creation;
 * nothing here is consulted in a hot loop.
 */
#include <string.h>

#include "tiers.h"

_Thread_local uint8_t ibc_kernel_hits[IBC_KOP_COUNT] IBC_TLS_IE;

void ibc_kernel_hits_reset(void)
{
    memset(ibc_kernel_hits, 0, sizeof(ibc_kernel_hits));
}

#define IBC_TIER_TABLE(t, id, lanes, composed, enc_mb_crc)                                     \
    IBC_TIER_TABLE_AS(ibc_kernels_##t, t, id, lanes, composed, 0, enc_mb_crc, crc32c_##t)
/* the same with its own table name, composed re-key chunk and CRC32C kernel (a variant) */
#define IBC_TIER_TABLE_AS(var, t, id, lanes, composed, chunk, enc_mb_crc, crc)                  \
    const ibc_kernels var = {                                                                  \
        .tier = (id),                                                                          \
        .name = #t,                                                                            \
        .aes_expand = aes_expand_##t,                                                          \
        .aes_ecb_enc = aes_ecb_enc_##t,                                                        \
        .aes_ecb_dec = aes_ecb_dec_##t,                                                        \
        .aes_cbc_enc = aes_cbc_enc_##t,                                                        \
        .aes_cbc_dec = aes_cbc_dec_##t,                                                        \
        .aes_cbc_enc_mb = aes_cbc_enc_mb_##t,                                                  \
        .aes_cbc_enc_mb_crc = (enc_mb_crc),                                                    \
        .aes_ctr = aes_ctr_##t,                                                                \
        .crc32c = (crc),                                                                       \
        .crc32c_mb = crc32c_mb_##t,                                                            \
        .aes_cbc_dec_crc = aes_cbc_dec_crc_##t,                                                \
        .aes_ctr_crc = aes_ctr_crc_##t,                                                        \
        .aes_ctr2_crc = aes_ctr2_crc_##t,                                                      \
        .aes_cbc_rekey_mb = aes_cbc_rekey_mb_##t,                                              \
        .aes_cbc_rekey_short = aes_cbc_rekey_short_##t,                                        \
        .aes_ctr2_short = aes_ctr2_short_##t,                                                  \
        .mb_lanes = (lanes),                                                                   \
        .cbc_rekey_composed = (composed),                                                      \
        .rekey_chunk = (chunk),                                                                \
        .crc32z = crc32z_##t,                                                                  \
    }

/* (t, id, preferred lanes, cbc_rekey_composed: 1 where the composed CBC re-key measured faster
 * than the tier's own kernel, see ibc_cbc_rekey_mb in simd.h; aes_cbc_enc_mb_crc or NULL: the
 * x86 tiers have one, the others take a CRC pass) */
IBC_TIER_TABLE(portable, IBC_TIER_PORTABLE, 4, 0, NULL); /* its fused kernel is the composition */
#if defined(IBC_HAVE_TIER_AESNI)
IBC_TIER_TABLE(aesni, IBC_TIER_AESNI, 8, 0, aes_cbc_enc_mb_crc_aesni);
#endif
#if defined(IBC_HAVE_TIER_VAES256)
IBC_TIER_TABLE(vaes256, IBC_TIER_VAES256, 16, 1, aes_cbc_enc_mb_crc_vaes256);
#endif
#if defined(IBC_HAVE_TIER_VAES512)
IBC_TIER_TABLE(vaes512, IBC_TIER_VAES512, 32, 1, aes_cbc_enc_mb_crc_vaes512);
/* On Intel cores (IBC_CPU_CLMUL512_FULL): CRC32C by folding alone, and the composed re-key in
 * steps of 8 KiB per lane rather than a whole page. page/rekey_cbc/ibdcrypt.vaes512 on a Xeon
 * with AMX (2026-11-24, three interleaved runs of 1 s): 9.40-9.54 GB/s against 8.65-9.06 with
 * 16 KiB steps; 4 KiB 9.04-9.21, 2 KiB 8.56-8.66, 12 KiB 9.19-9.43. */
IBC_TIER_TABLE_AS(ibc_kernels_vaes512_fold, vaes512, IBC_TIER_VAES512, 32, 1, 8192,
                  aes_cbc_enc_mb_crc_vaes512, crc32c_vaes512_fold);
#endif
#if defined(IBC_HAVE_TIER_ARMCE)
IBC_TIER_TABLE(armce, IBC_TIER_ARMCE, 8, 0, NULL);
#endif

static const char *const tier_names[IBC_TIER_COUNT] = {
    "portable", "aesni", "vaes256", "vaes512", "armce",
};

const ibc_kernels *ibc_tier_kernels(ibc_tier_id t)
{
    switch (t) {
    case IBC_TIER_PORTABLE:
        return &ibc_kernels_portable;
#if defined(IBC_HAVE_TIER_AESNI)
    case IBC_TIER_AESNI:
        return &ibc_kernels_aesni;
#endif
#if defined(IBC_HAVE_TIER_VAES256)
    case IBC_TIER_VAES256:
        return &ibc_kernels_vaes256;
#endif
#if defined(IBC_HAVE_TIER_VAES512)
    case IBC_TIER_VAES512:
        return ibc_cpu_features() & IBC_CPU_CLMUL512_FULL ? &ibc_kernels_vaes512_fold
                                                          : &ibc_kernels_vaes512;
#endif
#if defined(IBC_HAVE_TIER_ARMCE)
    case IBC_TIER_ARMCE:
        return &ibc_kernels_armce;
#endif
    default:
        return NULL;
    }
}

uint32_t ibc_tier_required_features(ibc_tier_id t)
{
    const uint32_t aesni = IBC_CPU_SSE42 | IBC_CPU_SSSE3 | IBC_CPU_PCLMUL | IBC_CPU_AESNI;
    const uint32_t vaes256 = aesni | IBC_CPU_AVX | IBC_CPU_AVX2 | IBC_CPU_VAES | IBC_CPU_VPCLMUL;
    switch (t) {
    case IBC_TIER_PORTABLE:
        return 0;
    case IBC_TIER_AESNI:
        return aesni;
    case IBC_TIER_VAES256:
        return vaes256;
    case IBC_TIER_VAES512:
        return vaes256 | IBC_CPU_AVX512F | IBC_CPU_AVX512BW | IBC_CPU_AVX512VL;
    case IBC_TIER_ARMCE:
        return IBC_CPU_ARM_AES | IBC_CPU_ARM_PMULL | IBC_CPU_ARM_CRC32;
    default:
        return ~0u;
    }
}

int ibc_tier_usable(ibc_tier_id t, uint32_t features)
{
    if ((unsigned)t >= IBC_TIER_COUNT || ibc_tier_kernels(t) == NULL)
        return 0;
    uint32_t need = ibc_tier_required_features(t);
    return (features & need) == need;
}

ibc_tier_id ibc_tier_best(uint32_t features)
{
    static const ibc_tier_id order[] = {IBC_TIER_VAES512, IBC_TIER_VAES256, IBC_TIER_ARMCE,
                                        IBC_TIER_AESNI};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (ibc_tier_usable(order[i], features))
            return order[i];
    return IBC_TIER_PORTABLE;
}

int ibc_tier_from_name(const char *name)
{
    for (int i = 0; i < IBC_TIER_COUNT; i++)
        if (strcmp(name, tier_names[i]) == 0)
            return i;
    return -1;
}

const char *ibc_tier_name(ibc_tier_id t)
{
    return (unsigned)t < IBC_TIER_COUNT ? tier_names[t] : "unknown";
}
