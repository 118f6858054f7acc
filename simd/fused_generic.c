/*
 * fused_generic.c - the fused kernels composed from a table's basic kernels.
 *
 * These are the reference semantics of every fused kernel (simd.h) and the implementation for
 * tiers that have no real fused variant. They work in chunks small enough to stay in L1, so
 * even the composition touches each byte while it is cached.
 */
#include <string.h>

#include "simd.h"

#define CHUNK 4096 /* bytes per step; a multiple of 16 */

void ibc_generic_cbc_dec_crc(const ibc_kernels *kt, const ibc_aes_key *k,
                             uint8_t iv[IBC_AES_BLOCK], const uint8_t *in, uint8_t *out,
                             size_t nblocks, uint32_t *crc_in)
{
    while (nblocks) {
        size_t nb = nblocks < CHUNK / 16 ? nblocks : CHUNK / 16;
        *crc_in = kt->crc32c(*crc_in, in, nb * 16); /* before an in-place decrypt */
        kt->aes_cbc_dec(k, iv, in, out, nb);
        in += nb * 16;
        out += nb * 16;
        nblocks -= nb;
    }
}

void ibc_generic_ctr_crc(const ibc_kernels *kt, const ibc_aes_key *k,
                         const uint8_t ctr[IBC_AES_BLOCK], const uint8_t *in, uint8_t *out,
                         size_t len, uint32_t *crc_in, uint32_t *crc_out)
{
    uint8_t c[IBC_AES_BLOCK];
    memcpy(c, ctr, sizeof(c));
    while (len) {
        size_t n = len < CHUNK ? len : CHUNK;
        if (crc_in)
            *crc_in = kt->crc32c(*crc_in, in, n);
        kt->aes_ctr(k, c, in, out, n);
        if (crc_out)
            *crc_out = kt->crc32c(*crc_out, out, n);
        ibc_ctr128_add(c, n / 16);
        in += n;
        out += n;
        len -= n;
    }
}

void ibc_generic_ctr2_crc(const ibc_kernels *kt, const ibc_aes_key *k1,
                          const uint8_t ctr1[IBC_AES_BLOCK], const ibc_aes_key *k2,
                          const uint8_t ctr2[IBC_AES_BLOCK], const uint8_t *in, uint8_t *out,
                          size_t len, uint32_t *crc_in, uint32_t *crc_out)
{
    uint8_t c1[IBC_AES_BLOCK], c2[IBC_AES_BLOCK];
    memcpy(c1, ctr1, sizeof(c1));
    memcpy(c2, ctr2, sizeof(c2));
    while (len) {
        size_t n = len < CHUNK ? len : CHUNK;
        if (crc_in)
            *crc_in = kt->crc32c(*crc_in, in, n);
        kt->aes_ctr(k1, c1, in, out, n);
        kt->aes_ctr(k2, c2, out, out, n);
        if (crc_out)
            *crc_out = kt->crc32c(*crc_out, out, n);
        ibc_ctr128_add(c1, n / 16);
        ibc_ctr128_add(c2, n / 16);
        in += n;
        out += n;
        len -= n;
    }
}


void ibc_generic_cbc_rekey_mb(const ibc_kernels *kt, const ibc_aes_key *dk,
                              const ibc_aes_key *ek, ibc_rekey_lane *lanes, size_t n)
{
    /* Per step: decrypt a chunk of each lane into its output with the CRC of the input taken on
     * the way (aes_cbc_dec_crc), encrypt the chunks of all lanes together in place through the
     * multi-buffer kernel, then the CRC of the output (or that kernel takes it on the way:
     * aes_cbc_enc_mb_crc, where the table has one). The plaintext lies in the output buffers
     * between the two passes of one step. A chunk is a whole page: smaller chunks lost more to
     * the calls than they gained in cache (measured on Zen 3; ibc_cbc_rekey_mb in simd.h says
     * where this composition is the engine's re-key), except on Intel cores (rekey_chunk). */
    const size_t chunk = (kt->rekey_chunk ? kt->rekey_chunk : 16384) / 16; /* blocks */
    for (; n > IBC_MB_MAX_LANES; n -= IBC_MB_MAX_LANES, lanes += IBC_MB_MAX_LANES)
        ibc_generic_cbc_rekey_mb(kt, dk, ek, lanes, IBC_MB_MAX_LANES);
    ibc_cbc_lane mb[IBC_MB_MAX_LANES];
    uint32_t crc[IBC_MB_MAX_LANES];
    size_t done = 0;
    for (;;) {
        size_t active = 0;
        for (size_t i = 0; i < n; i++) {
            ibc_rekey_lane *l = &lanes[i];
            if (l->nblocks <= done)
                continue;
            size_t nb = l->nblocks - done < chunk ? l->nblocks - done : chunk;
            uint8_t *dst = l->out + done * 16;
            kt->aes_cbc_dec_crc(dk, l->iv_in, l->in + done * 16, dst, nb, &l->crc_in);
            mb[active].in = dst;
            mb[active].out = dst;
            mb[active].nblocks = nb;
            memcpy(mb[active].iv, l->iv_out, IBC_AES_BLOCK);
            crc[active] = l->crc_out;
            active++;
        }
        if (!active)
            break;
        if (kt->aes_cbc_enc_mb_crc)
            kt->aes_cbc_enc_mb_crc(ek, mb, active, crc);
        else
            kt->aes_cbc_enc_mb(ek, mb, active);
        active = 0;
        for (size_t i = 0; i < n; i++) {
            ibc_rekey_lane *l = &lanes[i];
            if (l->nblocks <= done)
                continue;
            memcpy(l->iv_out, mb[active].iv, IBC_AES_BLOCK);
            l->crc_out = kt->aes_cbc_enc_mb_crc
                             ? crc[active]
                             : kt->crc32c(l->crc_out, mb[active].out, mb[active].nblocks * 16);
            active++;
        }
        done += chunk;
    }
}

void ibc_generic_cbc_rekey_short(const ibc_kernels *kt, const ibc_aes_key *dk,
                                 const ibc_aes_key *ek, ibc_short_lane *lanes, size_t n)
{
    /* Each lane decrypted in place, then encrypted in place: the plaintext lies in the lane
     * between the two calls. */
    for (size_t i = 0; i < n; i++) {
        ibc_short_lane *l = &lanes[i];
        size_t nb = l->len / IBC_AES_BLOCK;
        uint8_t iv[IBC_AES_BLOCK];
        if (!nb)
            continue;
        memcpy(iv, l->iv, IBC_AES_BLOCK);
        kt->aes_cbc_dec(dk, iv, l->p, l->p, nb);
        memcpy(iv, l->iv, IBC_AES_BLOCK);
        kt->aes_cbc_enc(ek, iv, l->p, l->p, nb);
    }
}

void ibc_generic_ctr2_short(const ibc_kernels *kt, const ibc_aes_key *k1, const ibc_aes_key *k2,
                            ibc_short_lane *lanes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kt->aes_ctr2_crc(k1, lanes[i].iv, k2, lanes[i].iv, lanes[i].p, lanes[i].p, lanes[i].len,
                         NULL, NULL);
}
