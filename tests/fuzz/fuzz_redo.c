/*
 * fuzz_redo.c - the redo log (ib_logfile0) parser on arbitrary bytes: header and checkpoint
 * blocks, the framing walk round the ring with its end-of-log and damage decisions, the key
 * check and mode search, the deep record checks, and - for whatever opens with the key - a
 * re-encryption and a rewrap into a copy that must verify again under the new key.
 *
 * Input: one mode byte, then the log image. Mode bits ask the target to repair CRCs the fuzzer
 * cannot compute, so that mutations reach the deeper layers: 1 the header CRC, 2 the checkpoint
 * block CRCs, 4 the CRC of every mtr framed from the checkpoint; 8 selects 16 KiB pages for the
 * record checks, 16 the AES_CTR mode, 32 a rewrap instead of a re-encryption.
 *
 * The seed corpus (corpus/fuzz_redo/: logs of every format, encrypted with key 1 = fuzz_key
 * below, and the minimal clean log) is written by the synthetic-log test:
 *     IBC_TEST_SEED=1 IBC_REDO_CORPUS=tests/fuzz/corpus/fuzz_redo build/tests/test_redo_synth
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_keys.h"
#include "simd.h"

static const uint8_t fuzz_key[32] = "ibdcrypt fuzz_redo key 1 (lab!)";
static const uint8_t other_key[32] = "ibdcrypt fuzz_redo key 1, new..";
static const ibc_kernels *kt;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_keys_init(fuzz_key, 32, other_key, 32);
    kt = ibc_tier_kernels(IBC_TIER_PORTABLE);
    return 0;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Recompute the CRC of each mtr framed from the newest checkpoint (ring-aware, a bounded
 * number of mtrs), the way the log's writer would have. */
static void fix_mtr_crcs(uint8_t *img, size_t size)
{
    uint64_t first = rd64(img + 8), cap = size - 12288;
    uint64_t cp = rd64(img + 4096) > rd64(img + 8192) ? rd64(img + 4096) : rd64(img + 8192);
    int enc = (img[48] | img[49] | img[50] | img[51]) != 0 || img[0] == 0xF0;
    if (cp < first)
        return;
#define AT(l) img[12288 + ((l)-first) % cap]
    uint64_t lsn = cp;
    for (int n = 0; n < 512; n++) {
        uint64_t l = lsn;
        while (AT(l) > 1 && l - lsn < cap) {
            uint32_t rlen = AT(l) & 15;
            if (!rlen) {
                uint8_t v[5];
                for (int i = 0; i < 5; i++)
                    v[i] = AT(l + 1 + i);
                if (v[0] < 0x80)
                    rlen = v[0];
                else if (v[0] < 0xc0)
                    rlen = 0x80 + ((uint32_t)(v[0] & 0x3f) << 8 | v[1]);
                else if (v[0] < 0xe0)
                    rlen = 0x4080 + ((uint32_t)(v[0] & 0x1f) << 16 | (uint32_t)v[1] << 8 | v[2]);
                else
                    return;
                rlen += 15;
            }
            l += 1 + rlen;
        }
        size_t len = (size_t)(l - lsn), tail = enc ? 8 : 0;
        if (l - lsn >= cap || len + 1 + tail + 4 > cap)
            return;
        uint8_t *m = malloc(len + tail);
        for (size_t i = 0; i < len; i++)
            m[i] = AT(lsn + i);
        for (size_t i = 0; i < tail; i++)
            m[len + i] = AT(lsn + len + 1 + i);
        uint8_t c[4];
        wr32(c, kt->crc32c(0, m, len + tail));
        free(m);
        for (size_t i = 0; i < 4; i++)
            AT(lsn + len + 1 + tail + i) = c[i];
        lsn += len + 1 + tail + 4;
    }
#undef AT
}

static int write_copy(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    uint8_t **img = ctx;
    memcpy(img[0] + off, data, len);
    return off + len > (uint64_t)(img[1] - img[0]); /* stop if a range leaves the file */
}

static void rekey_and_check(ibc_redo *r, size_t size, const uint8_t *img, ibc_rekey_mode mode)
{
    char err[256];
    ibc_redo_target *t = NULL;
    static const uint8_t msg[16] = "fuzz crypt_msg.";
    if (ibc_redo_target_new(r, kr2, mode, IBC_ALGO_AUTO, msg, &t, err, sizeof(err)) != IBC_OK)
        return;
    uint8_t *copy = malloc(size);
    memcpy(copy, img, size);
    uint8_t *ends[2] = {copy, copy + size};
    ibc_redo_result res;
    if (ibc_redo_rekey(r, t, write_copy, ends, &res, err, sizeof(err)) == IBC_OK) {
        ibc_redo *c = NULL;
        if (ibc_redo_open_mem(engine, copy, size, "copy", &c, err, sizeof(err)) == IBC_OK &&
            ibc_redo_set_key(c, kr2, IBC_ALGO_AUTO, err, sizeof(err)) == IBC_OK)
            ibc_redo_verify(c, 1, &res, err, sizeof(err));
        ibc_redo_free(c);
    }
    ibc_redo_target_free(t);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    size--;
    /* a private copy of exactly the image, so reads past it are caught */
    uint8_t *img = malloc(size ? size : 1);
    memcpy(img, data + 1, size);
    if (size >= 12288 + 16) {
        if (mode & 2)
            for (int b = 0; b < 2; b++)
                wr32(img + 4096 * (b + 1) + 60, kt->crc32c(0, img + 4096 * (b + 1), 60));
        if (mode & 4)
            fix_mtr_crcs(img, size);
        if (mode & 1)
            wr32(img + 508, kt->crc32c(0, img, 508));
    }
    char err[256];
    ibc_redo *r = NULL;
    if (ibc_redo_open_mem(engine, img, size, "fuzz", &r, err, sizeof(err)) == IBC_OK) {
        ibc_redo_info info;
        ibc_redo_result res;
        ibc_redo_get_info(r, &info);
        if (mode & 8)
            ibc_redo_set_page_size(r, 16384);
        ibc_redo_verify(r, 0, &res, err, sizeof(err));
        if (!info.encrypted) {
            ibc_redo_verify(r, 1, &res, err, sizeof(err));
        } else if (ibc_redo_set_key(r, kr, mode & 16 ? IBC_ALGO_CTR : IBC_ALGO_AUTO, err,
                                    sizeof(err)) == IBC_OK) {
            ibc_redo_verify(r, 1, &res, err, sizeof(err));
            rekey_and_check(r, size, img, mode & 32 ? IBC_REKEY_REWRAP : IBC_REKEY_REENCRYPT);
        }
        ibc_redo_free(r);
    }
    free(img);
    return 0;
}
