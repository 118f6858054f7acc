/*
 * peers.h - the libraries ibdcrypt is measured against, behind one small interface each:
 * OpenSSL 3 EVP (a reused context, or a fresh one per call as MariaDB's my_aes_crypt does),
 * intel-ipsec-mb (job API, best manager for the CPU) and ISA-L (crc32_iscsi).
 *
 * ipsec-mb and ISA-L are optional (they do not exist for AArch64): BENCH_HAVE_IPSECMB and
 * BENCH_HAVE_ISAL say whether they were found at configure time.
 */
#ifndef IBC_BENCH_PEERS_H
#define IBC_BENCH_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "simd.h"

typedef enum peer_mode { PEER_ECB = 0, PEER_CBC, PEER_CTR } peer_mode;

/* ---- OpenSSL ------------------------------------------------------------------------------ */

/* The legacy cipher object MariaDB passes to EVP_CipherInit_ex (mysys_ssl/my_crypt.cc
 * aes_ecb/aes_cbc/aes_ctr): EVP_aes_<bits>_<mode>(), resolved by OpenSSL 3 at each init. */
const EVP_CIPHER *ossl_cipher(peer_mode mode, size_t key_len);

/* One EVP context kept for many calls with new IVs (the fast way to use OpenSSL). */
typedef struct ossl_reused {
    EVP_CIPHER_CTX *ctx;
    int enc;
} ossl_reused;
int ossl_reused_init(ossl_reused *r, peer_mode mode, int enc, const uint8_t *key, size_t key_len);
void ossl_reused_free(ossl_reused *r);
/* len bytes (whole blocks for ECB/CBC) with a new IV; returns 0 on success. */
int ossl_reused_crypt(ossl_reused *r, const uint8_t iv[16], const uint8_t *in, uint8_t *out,
                      size_t len);

/* MariaDB's my_aes_crypt (mysys_ssl/my_crypt.cc): a new context, init, set_padding(0) (the
 * ENCRYPTION_FLAG_NOPAD classes), update, final, free; for CBC a partial last block is XORed
 * with AES-ECB(key, iv) computed through a second fresh context (MyCTX_nopad::finish). Returns
 * 0 on success. */
int ossl_fresh_crypt(peer_mode mode, int enc, const uint8_t *key, size_t key_len,
                     const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len);

/* ---- intel-ipsec-mb ----------------------------------------------------------------------- */
#ifdef BENCH_HAVE_IPSECMB
#include <intel-ipsec-mb.h>

typedef struct mb_peer {
    IMB_MGR *mgr;
    IBC_ALIGNED(16) uint8_t enc[16 * 15];
    IBC_ALIGNED(16) uint8_t dec[16 * 15];
    size_t key_len;
} mb_peer;
/* A manager from init_mb_mgr_auto (the best code paths for this CPU) and an expanded key. */
int mb_peer_init(mb_peer *m, const uint8_t *key, size_t key_len);
void mb_peer_free(mb_peer *m);
/* One job, run to completion (CBC encryption is a multi-buffer job: it is flushed). */
int mb_peer_crypt(mb_peer *m, peer_mode mode, int enc, const uint8_t iv[16], const uint8_t *in,
                  uint8_t *out, size_t len);
/* n CBC encryptions submitted together, then flushed: ipsec-mb's multi-buffer path. The lanes'
 * ivs are not updated. */
int mb_peer_cbc_enc_lanes(mb_peer *m, const ibc_cbc_lane *lanes, size_t n);
/* The manager's architecture ("avx2", "avx512", ...). */
const char *mb_peer_arch_name(void);
#endif

/* ---- ISA-L -------------------------------------------------------------------------------- */
#ifdef BENCH_HAVE_ISAL
/* zlib-style CRC32C (crc32c(0, "123456789") = 0xE3069283) through ISA-L crc32_iscsi. */
uint32_t isal_crc32c(uint32_t crc, const void *buf, size_t len);
#endif

/* "OpenSSL 3.0.x ...", ipsec-mb and ISA-L versions, for the report context. */
void peers_versions(char *openssl, size_t n1, char *ipsecmb, size_t n2, char *isal, size_t n3);

#endif
