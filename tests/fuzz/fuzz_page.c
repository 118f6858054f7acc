/*
 * fuzz_page.c - the page classifier and every batch operation on arbitrary page bytes, as a
 * differential test: the batch (fused fast paths) and the per-page reference path must give
 * the same status, flags and output for every page.
 *
 * The tablespaces are real: page 0 of samples written by MariaDB 10.11.19
 * (tests/data/mariadb-10.11), with their lab keys. The first input byte picks the sample and
 * the page number; the rest is the page.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "page.h"

static const char *const samples[] = {
    "cbc-fc32-16k/t_redundant.ibd", "ctr-fc32-16k/t_pc.ibd",  "cbc-crc32-16k/t_k1.ibd",
    "ctr-crc32-16k/t_pc.ibd",       "cbc-crc32-16k/t_zip.ibd", "cbc-fc32-4k/t_blob.ibd",
    /* page_compressed with the provider plugins' algorithms */
    "cbc-fc32-16k-algos/t_lz4.ibd", "cbc-fc32-16k-algos/t_lzo.ibd",
    "cbc-fc32-16k-algos/t_lzma.ibd", "cbc-fc32-16k-algos/t_bzip2.ibd",
    "cbc-fc32-16k-algos/t_snappy.ibd", "ctr-crc32-16k-algos/t_lz4.ibd",
};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

static ibc_space *space[NSAMPLES], *target[NSAMPLES];
static ibc_scratch *sc;

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *b = malloc(1 << 17);
    *n = fread(b, 1, 1 << 17, f);
    fclose(f);
    return b;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    sc = ibc_scratch_new();
    for (size_t i = 0; i < NSAMPLES; i++) {
        char path[1024], dir[1024], err[256];
        snprintf(path, sizeof(path), "%s/data/mariadb-10.11/%s", IBC_TEST_DATA, samples[i]);
        snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = 0;
        size_t n;
        uint8_t *b = slurp(path, &n);
        ibc_keyring *kr = NULL, *nk = NULL;
        char kp[1100];
        snprintf(kp, sizeof(kp), "%s/keys.txt", dir);
        ibc_keyring_load(kp, NULL, &kr, err, sizeof(err));
        snprintf(kp, sizeof(kp), "%s/keys-new.txt", dir);
        ibc_keyring_load(kp, NULL, &nk, err, sizeof(err));
        if (!b || !kr || !nk || ibc_space_open(e, b, n, &space[i], err, sizeof(err)) != IBC_OK) {
            fprintf(stderr, "fuzz_page: cannot load %s\n", path);
            abort();
        }
        ibc_space_set_key(space[i], kr, strstr(samples[i], "ctr") ? IBC_ALGO_CTR : IBC_ALGO_CBC);
        static const uint8_t iv[16] = {7};
        ibc_space_derive(space[i], nk, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, iv, &target[i]);
        ibc_keyring_free(kr);
        ibc_keyring_free(nk);
        free(b);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t which = data[0] % NSAMPLES;
    ibc_space *s = space[which];
    uint32_t ps = s->g.physical, page_no = data[1] % 8;
    uint8_t *page = calloc(1, ps), *a = malloc(ps), *b = malloc(ps);
    memcpy(page, data + 2, size - 2 < ps ? size - 2 : ps);
    for (int op = IBC_OP_VERIFY; op <= IBC_OP_REKEY; op++) {
        memset(a, 0x11, ps);
        memset(b, 0x22, ps);
        int writes = op >= IBC_OP_DECRYPT;
        ibc_page pa = {.src = page, .dst = writes ? a : NULL, .page_no = page_no};
        ibc_page pb = pa;
        pb.dst = writes ? b : NULL;
        const ibc_space *t = op == IBC_OP_REKEY ? target[which] : NULL;
        ibc_batch_run(s, t, (ibc_op)op, &pa, 1, sc);
        ibc_page_process(s, t, (ibc_op)op, &pb, sc);
        if (pa.status != pb.status || pa.flags != pb.flags ||
            (writes && pa.status <= IBC_PAGE_DOUBLEWRITE && memcmp(a, b, ps))) {
            fprintf(stderr, "fast path and reference disagree: sample %zu op %d: %s/%x vs %s/%x\n",
                    which, op, ibc_page_status_name(pa.status), pa.flags,
                    ibc_page_status_name(pb.status), pb.flags);
            abort();
        }
    }
    free(page);
    free(a);
    free(b);
    return 0;
}
