/*
 * engine_internal.h - what the engine's units share and the public header hides.
 */
#ifndef IBC_ENGINE_INTERNAL_H
#define IBC_ENGINE_INTERNAL_H

#include "ibdcrypt/ibdcrypt.h"
#include "simd.h"

struct ibc_engine {
    const ibc_kernels *k; /* resolved once, immutable */
};

/* MariaDB's cipher over one stream without padding (mysys_ssl/my_crypt.cc MyCTX_nopad): AES-CTR,
 * or AES-CBC over the whole blocks and the tail XORed with AES-ECB(key, iv) of the original IV
 * in both directions. Used for pages (page.c) and redo records (redo_crypt.c). */
void ibc_nopad_crypt(const ibc_kernels *k, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                     const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len);

#endif
