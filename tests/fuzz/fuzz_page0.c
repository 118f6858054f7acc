/*
 * fuzz_page0.c - page 0 parsing: FSP flags, geometry, crypt data, the TRX_SYS doublewrite
 * location, key derivation, re-keyed twins and page 0 rewriting, on arbitrary bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "ibdcrypt/ibdcrypt.h"

static ibc_engine *engine;
static ibc_keyring *kr, *kr2;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const uint8_t k1[32] = {1, 2, 3}, k2[16] = {9, 8, 7};
    ibc_engine_new(NULL, &engine);
    kr = ibc_keyring_new();
    kr2 = ibc_keyring_new();
    for (uint32_t id = 1; id <= 200; id++) {
        ibc_keyring_add(kr, id, 1, k1, sizeof(k1));
        ibc_keyring_add(kr2, id, 1, k2, sizeof(k2));
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128];
    uint32_t ps;
    if (ibc_page0_size(data, size, &ps, err, sizeof(err)) != IBC_OK)
        return 0;
    if (size < ps)
        return 0;
    /* a private copy of exactly one page, so reads past it are caught */
    uint8_t *p0 = malloc(ps);
    memcpy(p0, data, ps);
    ibc_space *s = NULL;
    if (ibc_space_open(engine, p0, ps, &s, err, sizeof(err)) == IBC_OK) {
        ibc_space_info info;
        ibc_space_get_info(s, &info);
        if (size >= 2 * (size_t)ps)
            ibc_space_read_trx_sys(s, data + ps, ps);
        if (ibc_space_set_key(s, kr, size & 1 ? IBC_ALGO_CTR : IBC_ALGO_CBC) == IBC_OK &&
            info.has_crypt_data) {
            ibc_space *t = NULL;
            static const uint8_t iv[16] = {0};
            for (int mode = 0; mode < 2; mode++) {
                if (ibc_space_derive(s, kr2, (ibc_rekey_mode)mode, IBC_ALGO_AUTO, iv, &t) ==
                    IBC_OK) {
                    ibc_space_write_page0(t, p0);
                    ibc_space_free(t);
                }
            }
        }
        ibc_space_free(s);
    }
    free(p0);
    return 0;
}
