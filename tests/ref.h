/*
 * ref.h - reference implementations for differential tests: OpenSSL EVP for AES, and helpers
 * to walk every kernel tier this CPU can run.
 */
#ifndef IBC_TEST_REF_H
#define IBC_TEST_REF_H

#include <stddef.h>
#include <stdint.h>

#include "simd.h"

/* AES through OpenSSL EVP, no padding. mode: 'e' ECB, 'c' CBC, 't' CTR. iv may be NULL for ECB.
 * len must be a multiple of 16 except for CTR. */
void ref_aes(char mode, int enc, const uint8_t *key, size_t key_len, const uint8_t *iv,
             const uint8_t *in, uint8_t *out, size_t len);

/* Usable tiers, in id order. Returns the count; tables[] gets up to IBC_TIER_COUNT entries. */
size_t ref_usable_tiers(const ibc_kernels *tables[IBC_TIER_COUNT]);
/* The same, and the tier table's variant where this CPU's dispatch would not pick it (the
 * vaes512 tier has two: ibc_kernels_vaes512 and, for Intel cores, ibc_kernels_vaes512_fold),
 * so that both are tested on any CPU with the tier. */
size_t ref_usable_variants(const ibc_kernels *tables[IBC_TIER_COUNT + 1]);

/* Per-tier byte budget for random tests: the portable tier is much slower. */
size_t ref_budget(const ibc_kernels *k, size_t fast_bytes);



/* CRC32C reference, zlib-style running value: ISA-L crc32_iscsi where available (x86), else a
 * bitwise loop (slow but independent of every kernel). */
uint32_t ref_crc32c(uint32_t crc, const void *buf, size_t len);

#ifdef IBC_TEST_HAVE_IPSECMB
/* ipsec-mb 1.3 as a peer oracle (job API, best manager for this CPU). Lanes of zero length are
 * skipped (ipsec-mb rejects them). CTR takes a 16-byte counter block; the caller keeps the low
 * 32 bits away from wrapping (ipsec-mb does not promise a 128-bit carry). */
void ref_ipsecmb_cbc_enc_mb(const uint8_t *key, size_t key_len, ibc_cbc_lane *lanes, size_t n);
void ref_ipsecmb_ctr(const uint8_t *key, size_t key_len, const uint8_t ctr[16],
                     const uint8_t *in, uint8_t *out, size_t len);
#endif
#endif
