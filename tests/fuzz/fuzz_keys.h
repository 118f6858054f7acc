/*
 * fuzz_keys.h - what the fuzz targets share: an engine and two key rings with key id 1,
 * version 1, made once (LLVMFuzzerInitialize). Real seeds decrypt with the first when it is
 * the key tests/server/mdb.sh gives a server by default (FUZZ_MDB_KEY1).
 */
#ifndef IBC_FUZZ_KEYS_H
#define IBC_FUZZ_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "ibdcrypt/ibdcrypt.h"

/* key id 1 of a tests/server/mdb.sh server (seed "ibdcrypt"): SHA-256("ibdcrypt:1") */
static const uint8_t FUZZ_MDB_KEY1[32] = {
    0x3c, 0xc9, 0xc8, 0x5f, 0xc4, 0xc8, 0x21, 0x0b, 0x89, 0x0d, 0x8f, 0xbc, 0x0d, 0x08, 0xcc, 0xba,
    0x57, 0x7e, 0x17, 0xb7, 0x8d, 0x02, 0x7a, 0x91, 0xa8, 0xbc, 0xb3, 0xcf, 0x4f, 0x7b, 0x05, 0x38};

static ibc_engine *engine;
static ibc_keyring *kr, *kr2;

/* engine on the best tier; kr: key 1 = k1 (len1 bytes); kr2: key 1 = k2 (len2 bytes) */
static void fuzz_keys_init(const uint8_t *k1, size_t len1, const uint8_t *k2, size_t len2)
{
    ibc_engine_new(NULL, &engine);
    kr = ibc_keyring_new();
    kr2 = ibc_keyring_new();
    ibc_keyring_add(kr, 1, 1, k1, len1);
    ibc_keyring_add(kr2, 1, 1, k2, len2);
}

#endif
