/*
 * tiers.h - declarations of every kernel variant, named <op>_<tier> (conventions.md).
 *
 * Each tier defines all sixteen functions below; dispatch.c assembles them into its
 * ibc_kernels table. A tier without a real fused kernel defines it as a one-line call to the
 * matching ibc_generic_* composition (simd.h), passing its own table.
 */
#ifndef IBC_TIERS_H
#define IBC_TIERS_H

#include "simd.h"

#define IBC_DECLARE_TIER(t)                                                                     \
    void aes_expand_##t(ibc_aes_key *k, const uint8_t *key, size_t key_len);                   \
    void aes_ecb_enc_##t(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb);    \
    void aes_ecb_dec_##t(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb);    \
    void aes_cbc_enc_##t(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out, \
                         size_t nb);                                                           \
    void aes_cbc_dec_##t(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out, \
                         size_t nb);                                                           \
    void aes_cbc_enc_mb_##t(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n);              \
    void aes_ctr_##t(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in,           \
                     uint8_t *out, size_t len);                                                \
    uint32_t crc32c_##t(uint32_t crc, const void *buf, size_t len);                            \
    void crc32c_mb_##t(ibc_crc_msg *m, size_t n, uint32_t gap, uint32_t tail);                 \
    void aes_cbc_dec_crc_##t(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in,          \
                             uint8_t *out, size_t nb, uint32_t *crc_in);                       \
    void aes_ctr_crc_##t(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in,       \
                         uint8_t *out, size_t len, uint32_t *crc_in, uint32_t *crc_out);       \
    void aes_ctr2_crc_##t(const ibc_aes_key *k1, const uint8_t ctr1[16], const ibc_aes_key *k2, \
                          const uint8_t ctr2[16], const uint8_t *in, uint8_t *out, size_t len, \
                          uint32_t *crc_in, uint32_t *crc_out);                                \
    void aes_cbc_rekey_mb_##t(const ibc_aes_key *dk, const ibc_aes_key *ek,                    \
                              ibc_rekey_lane *lanes, size_t n);                                \
    void aes_cbc_rekey_short_##t(const ibc_aes_key *dk, const ibc_aes_key *ek,                 \
                                 ibc_short_lane *lanes, size_t n);                             \
    void aes_ctr2_short_##t(const ibc_aes_key *k1, const ibc_aes_key *k2,                      \
                            ibc_short_lane *lanes, size_t n);                                  \
    uint32_t crc32z_##t(uint32_t crc, const void *buf, size_t len)

/* The x86 tiers also have aes_cbc_enc_mb_crc (NULL in the other tables). */
#define IBC_DECLARE_ENC_MB_CRC(t)                                                              \
    void aes_cbc_enc_mb_crc_##t(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n,           \
                                uint32_t *crc)

IBC_DECLARE_TIER(portable);
#if defined(IBC_HAVE_TIER_AESNI)
IBC_DECLARE_TIER(aesni);
IBC_DECLARE_ENC_MB_CRC(aesni);
#endif
#if defined(IBC_HAVE_TIER_VAES256)
IBC_DECLARE_TIER(vaes256);
IBC_DECLARE_ENC_MB_CRC(vaes256);
#endif
#if defined(IBC_HAVE_TIER_VAES512)
IBC_DECLARE_TIER(vaes512);
IBC_DECLARE_ENC_MB_CRC(vaes512);
/* CRC32C by zmm folding alone, for IBC_CPU_CLMUL512_FULL (crc32c_vaes512.c) */
uint32_t crc32c_vaes512_fold(uint32_t crc, const void *buf, size_t len);
#endif
#if defined(IBC_HAVE_TIER_ARMCE)
IBC_DECLARE_TIER(armce);
#endif

#endif
