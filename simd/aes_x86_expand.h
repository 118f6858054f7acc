/*
 * aes_x86_expand.h - AES key expansion with AESKEYGENASSIST and AESIMC, for the x86 tier units.
 *
 * One word-level loop serves all three key sizes: it is FIPS-197 5.2 KeyExpansion as written,
 * with SubWord taken from AESKEYGENASSIST (which applies the S-box to dword 1 of its source in
 * dword 0 of its result; the round constant and RotWord are applied here, in scalar code, so
 * the instruction's immediate is always 0). Key expansion runs once per key, not per page, so
 * this favours the obviously-right form over the shuffle-heavy per-size variants.
 *
 * Included by each tier unit (compiled with that tier's flags); everything is static.
 */
#ifndef IBC_AES_X86_EXPAND_H
#define IBC_AES_X86_EXPAND_H

#include <immintrin.h>
#include <string.h>

#include "simd.h"

/* SubWord of a little-endian word (byte 0 = the word's first byte). */
static inline uint32_t ibc_x86_subword(uint32_t w)
{
    __m128i t = _mm_shuffle_epi32(_mm_cvtsi32_si128((int)w), 0); /* w in every dword */
    return (uint32_t)_mm_cvtsi128_si32(_mm_aeskeygenassist_si128(t, 0));
}

static inline void ibc_x86_aes_expand(ibc_aes_key *k, const uint8_t *key, size_t key_len)
{
    uint32_t w[4 * (IBC_AES_MAX_ROUNDS + 1)];
    uint32_t nk = (uint32_t)(key_len / 4), nr = nk + 6, rcon = 1;
    memcpy(w, key, 4 * nk); /* little-endian host: w[i] holds bytes 4i..4i+3 */
    for (uint32_t i = nk; i < 4 * (nr + 1); i++) {
        uint32_t t = w[i - 1];
        if (i % nk == 0) {
            t = ibc_x86_subword((t >> 8) | (t << 24)) ^ rcon; /* SubWord(RotWord(t)) ^ Rcon */
            rcon = (rcon << 1) ^ ((rcon & 0x80) ? 0x11b : 0);
        } else if (nk > 6 && i % nk == 4) {
            t = ibc_x86_subword(t);
        }
        w[i] = w[i - nk] ^ t;
    }
    k->rounds = nr;
    memcpy(k->enc, w, 16 * (nr + 1));
    /* Equivalent inverse cipher schedule (simd.h): reversed, InvMixColumns on the inner keys. */
    memcpy(k->dec[0], k->enc[nr], 16);
    memcpy(k->dec[nr], k->enc[0], 16);
    for (uint32_t r = 1; r < nr; r++) {
        __m128i e = _mm_loadu_si128((const __m128i *)(const void *)k->enc[nr - r]);
        _mm_storeu_si128((__m128i *)(void *)k->dec[r], _mm_aesimc_si128(e));
    }
    memset(w, 0, sizeof(w));
    __asm__ volatile("" : : "r"(w) : "memory"); /* keep the wipe */
}

#endif
