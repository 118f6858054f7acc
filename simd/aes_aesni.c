/*
 * aes_aesni.c - TEMPORARY (crc-x86 branch only): the aesni tier's AES entry points as thin
 * wrappers around the portable ones, so that the tier (and its CRC32C kernel) can be built and
 * tested before the real AES kernels land. The lead replaces this file with the AES helper's.
 * The portable callees record the portable tier in the kernel trace as well.
 */
#include "tiers.h"

void aes_expand_aesni(ibc_aes_key *k, const uint8_t *key, size_t key_len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_EXPAND, IBC_TIER_AESNI);
    aes_expand_portable(k, key, key_len);
}

void aes_ecb_enc_aesni(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_ENC, IBC_TIER_AESNI);
    aes_ecb_enc_portable(k, in, out, nb);
}

void aes_ecb_dec_aesni(const ibc_aes_key *k, const uint8_t *in, uint8_t *out, size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_ECB_DEC, IBC_TIER_AESNI);
    aes_ecb_dec_portable(k, in, out, nb);
}

void aes_cbc_enc_aesni(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                       size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC, IBC_TIER_AESNI);
    aes_cbc_enc_portable(k, iv, in, out, nb);
}

void aes_cbc_dec_aesni(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                       size_t nb)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_DEC, IBC_TIER_AESNI);
    aes_cbc_dec_portable(k, iv, in, out, nb);
}

void aes_cbc_enc_mb_aesni(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_ENC_MB, IBC_TIER_AESNI);
    aes_cbc_enc_mb_portable(k, lanes, n);
}

void aes_ctr_aesni(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in, uint8_t *out,
                   size_t len)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR, IBC_TIER_AESNI);
    aes_ctr_portable(k, ctr, in, out, len);
}

void aes_cbc_dec_crc_aesni(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                           size_t nb, uint32_t *crc_in)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_DEC_CRC, IBC_TIER_AESNI);
    ibc_generic_cbc_dec_crc(&ibc_kernels_aesni, k, iv, in, out, nb, crc_in);
}

void aes_ctr_crc_aesni(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in, uint8_t *out,
                       size_t len, uint32_t *crc_in, uint32_t *crc_out)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR_CRC, IBC_TIER_AESNI);
    ibc_generic_ctr_crc(&ibc_kernels_aesni, k, ctr, in, out, len, crc_in, crc_out);
}

void aes_ctr2_crc_aesni(const ibc_aes_key *k1, const uint8_t ctr1[16], const ibc_aes_key *k2,
                        const uint8_t ctr2[16], const uint8_t *in, uint8_t *out, size_t len,
                        uint32_t *crc_in, uint32_t *crc_out)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR2_CRC, IBC_TIER_AESNI);
    ibc_generic_ctr2_crc(&ibc_kernels_aesni, k1, ctr1, k2, ctr2, in, out, len, crc_in, crc_out);
}

void aes_cbc_rekey_mb_aesni(const ibc_aes_key *dk, const ibc_aes_key *ek, ibc_rekey_lane *lanes,
                            size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_REKEY_MB, IBC_TIER_AESNI);
    ibc_generic_cbc_rekey_mb(&ibc_kernels_aesni, dk, ek, lanes, n);
}
