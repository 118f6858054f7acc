/*
 * page_data.c - the page sets of the page benchmarks (see page_data.h for what and why).
 *
 * Everything here runs once per process, under one lock, before any timing: decrypting the
 * real sample pages, re-encrypting them under the fixed bench keys, and building the cold set.
 */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page_data.h"
#include "peers.h"

#ifndef IBC_BENCH_DATA_DIR
#define IBC_BENCH_DATA_DIR "tests/data/mariadb-10.11"
#endif

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static bench_dataset *g_ds[BENCH_FMT_COUNT][3]; /* [fmt][algo] */
static ibc_engine *g_engines[IBC_TIER_COUNT];

/* The sample variants (AES_CBC; the algorithm of the bench pages is chosen when they are
 * re-encrypted) and the tables whose pages become templates: t_k1 (COMPACT/DYNAMIC index
 * pages), t_blob (with a BLOB page), t_redundant (ROW_FORMAT=REDUNDANT index pages). t_pc
 * (PAGE_COMPRESSED) and t_zip (ROW_FORMAT=COMPRESSED) are left out: the benchmarks measure the
 * common, uncompressed case. t_k1's page 0 is the tablespace of every bench page. */
static const char *const variant_dir[BENCH_FMT_COUNT] = {"cbc-fc32-16k", "cbc-crc32-16k"};
static const char *const template_files[] = {"t_k1.ibd", "t_blob.ibd", "t_redundant.ibd"};

/* The fixed bench keys: file keys (AES-256, like the lab keys) and crypt-data IVs of the
 * tablespace under key A and key B. */
#define FILE_KEY_SEED_A 0x41414141u
#define FILE_KEY_SEED_B 0x42424242u
#define CRYPT_IV_SEED_A 0x61616161u
#define CRYPT_IV_SEED_B 0x62626262u

static const char *data_dir(void)
{
    const char *d = getenv("IBC_BENCH_DATA");
    return d && *d ? d : IBC_BENCH_DATA_DIR;
}

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *p = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        p = malloc((size_t)n);
        if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
            free(p);
            p = NULL;
        }
    }
    fclose(f);
    *size = n > 0 ? (size_t)n : 0;
    return p;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    bench_put_be32(p, (uint32_t)(v >> 32));
    bench_put_be32(p + 4, (uint32_t)v);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void bench_crypt_range(bench_fmt fmt, uint32_t ps, uint32_t *off, uint32_t *len)
{
    /* fil0crypt.cc fil_encrypt_buf_for_full_crc32: [26, ps-4);
     * fil_encrypt_buf_for_non_full_checksum: [38, ps-8) (formats/mariadb.md §4.3) */
    *off = fmt == BENCH_FC32 ? 26 : 38;
    *len = fmt == BENCH_FC32 ? ps - 30 : ps - 46;
}

void bench_page_iv(uint32_t space_id, const uint8_t *page, uint8_t iv[16])
{
    put_le32(iv, space_id);
    put_le32(iv + 4, bench_be32(page + 4));
    /* the LSN: BE64 at 16 on the page, LE64 in the IV */
    uint64_t lsn = (uint64_t)bench_be32(page + 16) << 32 | bench_be32(page + 20);
    for (int i = 0; i < 8; i++)
        iv[8 + i] = (uint8_t)(lsn >> (8 * i));
}

static ibc_engine *engine_for(const ibc_kernels *k)
{
    if (!g_engines[k->tier] && ibc_engine_new(k->name, &g_engines[k->tier]) != IBC_OK)
        g_engines[k->tier] = NULL;
    return g_engines[k->tier];
}

/* Plaintext templates: every encrypted, uncompressed page of the sample files, decrypted by the
 * engine with the lab keys (as the server would have written it unencrypted). */
typedef struct templates {
    uint8_t *pages;
    size_t n;
    uint8_t *page0; /* t_k1.ibd page 0 */
} templates;

static int load_templates(bench_dataset *ds, ibc_engine *e, ibc_keyring *lab, templates *t)
{
    const uint32_t ps = BENCH_PAGE_SIZE;
    size_t cap = 64;
    t->pages = malloc(cap * ps);
    t->n = 0;
    t->page0 = NULL;
    ibc_scratch *sc = ibc_scratch_new();
    int ok = t->pages && sc;
    for (size_t f = 0; ok && f < sizeof(template_files) / sizeof(template_files[0]); f++) {
        char path[1024], err[256] = "";
        snprintf(path, sizeof(path), "%s/%s/%s", data_dir(), variant_dir[ds->fmt],
                 template_files[f]);
        size_t size;
        uint8_t *file = slurp(path, &size);
        ibc_space *sp = NULL;
        if (!file || size < 2 * ps ||
            ibc_space_open(e, file, size, &sp, err, sizeof(err)) != IBC_OK ||
            ibc_space_set_key(sp, lab, IBC_ALGO_CBC) != IBC_OK) {
            snprintf(ds->error, sizeof(ds->error), "sample %.100s: %.70s", path,
                     file ? (err[0] ? err : "cannot open the tablespace") : "cannot read");
            ok = 0;
        }
        size_t np = size / ps;
        for (size_t p = 1; ok && p < np && t->n < cap; p++) {
            ibc_page pg = {.src = file + p * ps, .dst = t->pages + t->n * ps,
                           .page_no = (uint32_t)p};
            ibc_batch_run(sp, NULL, IBC_OP_DECRYPT, &pg, 1, sc);
            if (pg.status == IBC_PAGE_OK && (pg.flags & IBC_PF_ENCRYPTED) &&
                !(pg.flags & (IBC_PF_PAGE_COMPRESSED | IBC_PF_ROW_COMPRESSED)))
                t->n++;
        }
        if (ok && f == 0) {
            t->page0 = malloc(ps);
            if (t->page0)
                memcpy(t->page0, file, ps);
            ok = t->page0 != NULL;
        }
        ibc_space_free(sp);
        free(file);
    }
    ibc_scratch_free(sc);
    if (ok && t->n < 8) {
        snprintf(ds->error, sizeof(ds->error), "only %zu template pages in %.120s/%.20s", t->n,
                 data_dir(), variant_dir[ds->fmt]);
        ok = 0;
    }
    return ok;
}

static ibc_keyring *fixed_keyring(uint32_t key_id, uint64_t seed, uint8_t file_key[32])
{
    bench_fill(file_key, 32, seed);
    ibc_keyring *kr = ibc_keyring_new();
    if (kr && ibc_keyring_add(kr, key_id, 1, file_key, 32) != IBC_OK) {
        ibc_keyring_free(kr);
        kr = NULL;
    }
    return kr;
}

/* The tablespace under keys A and B for every usable tier. */
static int make_spaces(bench_dataset *ds, const templates *t, ibc_keyring *lab)
{
    const ibc_kernels *tiers[IBC_TIER_COUNT];
    size_t nt = bench_tiers(tiers);
    uint8_t fk[2][32], civ[2][16];
    ibc_keyring *kr[2] = {NULL, NULL};
    int ok = 1;
    for (size_t ti = 0; ok && ti < nt; ti++) {
        ibc_engine *e = engine_for(tiers[ti]);
        ibc_space *base = NULL;
        char err[256] = "";
        if (!e || ibc_space_open(e, t->page0, BENCH_PAGE_SIZE, &base, err, sizeof(err)) ||
            ibc_space_set_key(base, lab, IBC_ALGO_CBC) != IBC_OK) {
            snprintf(ds->error, sizeof(ds->error), "tier %s: page 0: %.120s", tiers[ti]->name,
                     err[0] ? err : "cannot set the lab key");
            ibc_space_free(base);
            ok = 0;
            break;
        }
        if (!kr[0]) {
            ibc_space_info info;
            ibc_space_get_info(base, &info);
            ds->space_id = info.space_id;
            kr[0] = fixed_keyring(info.key_id, FILE_KEY_SEED_A, fk[0]);
            kr[1] = fixed_keyring(info.key_id, FILE_KEY_SEED_B, fk[1]);
            bench_fill(civ[0], 16, CRYPT_IV_SEED_A);
            bench_fill(civ[1], 16, CRYPT_IV_SEED_B);
            /* sql/encryption.cc scheme_get_key: L = AES-ECB(file key, crypt data IV); the peers
             * get L computed by OpenSSL, so a wrong derivation would show as a mismatch */
            for (int k = 0; k < 2; k++)
                if (ossl_fresh_crypt(PEER_ECB, 1, fk[k], 32, NULL, civ[k], ds->page_key[k], 16))
                    ok = 0;
        }
        for (int k = 0; ok && k < 2; k++)
            if (!kr[k] || ibc_space_derive(base, kr[k], IBC_REKEY_REENCRYPT, ds->algo, civ[k],
                                           &ds->space[tiers[ti]->tier][k]) != IBC_OK)
                ok = 0;
        ibc_space_free(base);
        if (!ok && !ds->error[0])
            snprintf(ds->error, sizeof(ds->error), "cannot derive the bench keys");
    }
    ibc_keyring_free(kr[0]);
    ibc_keyring_free(kr[1]);
    explicit_bzero(fk, sizeof(fk));
    return ok;
}

static ibc_space *best_space(bench_dataset *ds, int key)
{
    for (int t = IBC_TIER_COUNT - 1; t >= 0; t--)
        if (ds->space[t][key])
            return ds->space[t][key];
    return NULL;
}

/* n encrypted pages (under key A) numbered first_no.. into dst (stride apart). Plaintexts are
 * made 64 at a time in a scratch area and encrypted by the engine's IBC_OP_ENCRYPT. */
static int make_pages(bench_dataset *ds, const templates *t, uint8_t *dst, size_t stride,
                      size_t n, uint32_t first_no)
{
    enum { CHUNK = 64 };
    const uint32_t ps = ds->ps;
    ibc_space *sa = best_space(ds, 0);
    const ibc_kernels *k = ibc_tier_kernels(ibc_tier_best(ibc_cpu_features()));
    uint8_t *plain = bench_alloc((size_t)CHUNK * ps);
    ibc_page *pg = calloc(CHUNK, sizeof(*pg));
    ibc_scratch *sc = ibc_scratch_new();
    int ok = plain && pg && sc && sa;
    for (size_t base = 0; ok && base < n; base += CHUNK) {
        size_t m = n - base < CHUNK ? n - base : CHUNK;
        for (size_t i = 0; i < m; i++) {
            size_t idx = base + i;
            uint32_t no = first_no + (uint32_t)idx;
            uint8_t *p = plain + i * ps;
            memcpy(p, t->pages + (idx % t->n) * ps, ps);
            bench_put_be32(p + 4, no);            /* FIL_PAGE_OFFSET */
            bench_put_be32(p + 34, ds->space_id); /* FIL_PAGE_SPACE_ID */
            put_be64(p + 16, 0x1000000ull + (uint64_t)no * 40503u); /* FIL_PAGE_LSN */
            if (ds->fmt == BENCH_FC32) {
                /* buf0flu.cc buf_flush_init_for_writing, full_crc32: key version 0, LSN low
                 * copy at ps-8, CRC-32C of [0, ps-4) at ps-4 */
                bench_put_be32(p, 0);
                memcpy(p + ps - 8, p + 20, 4);
                bench_put_be32(p + ps - 4, k->crc32c(0, p, ps - 4));
            } else {
                /* legacy crc32 (buf0checksum.cc buf_calc_page_crc32) into field1 and field2,
                 * LSN low in the last 4 bytes, bytes 26..33 zero (buf0flu.cc) */
                memset(p + 26, 0, 8);
                memcpy(p + ps - 4, p + 20, 4);
                uint32_t c = k->crc32c(0, p + 4, 22) ^ k->crc32c(0, p + 38, ps - 46);
                bench_put_be32(p, c);
                bench_put_be32(p + ps - 8, c);
            }
            pg[i] = (ibc_page){.src = p, .dst = dst + idx * stride, .page_no = no};
        }
        ibc_batch_run(sa, NULL, IBC_OP_ENCRYPT, pg, m, sc);
        for (size_t i = 0; ok && i < m; i++)
            if (pg[i].status != IBC_PAGE_OK || !(pg[i].flags & IBC_PF_ENCRYPTED)) {
                snprintf(ds->error, sizeof(ds->error), "encrypting bench page %zu: %s",
                         base + i, ibc_page_status_name((ibc_page_status)pg[i].status));
                ok = 0;
            }
    }
    ibc_scratch_free(sc);
    free(pg);
    bench_free(plain);
    return ok;
}

/* The engine's re-key A -> B of the hot source: the reference output of every re-key. */
static int make_hot_rekeyed(bench_dataset *ds)
{
    ibc_page pg[BENCH_HOT_PAGES];
    ibc_scratch *sc = ibc_scratch_new();
    if (!sc)
        return 0;
    memcpy(ds->hot_rekeyed, ds->hot, BENCH_HOT_PAGES * ds->hot_stride);
    for (uint32_t i = 0; i < BENCH_HOT_PAGES; i++)
        pg[i] = (ibc_page){.src = ds->hot_rekeyed + i * ds->hot_stride,
                           .dst = ds->hot_rekeyed + i * ds->hot_stride,
                           .page_no = i + 1};
    ibc_batch_run(best_space(ds, 0), best_space(ds, 1), IBC_OP_REKEY, pg, BENCH_HOT_PAGES, sc);
    ibc_scratch_free(sc);
    for (uint32_t i = 0; i < BENCH_HOT_PAGES; i++)
        if (pg[i].status != IBC_PAGE_OK) {
            snprintf(ds->error, sizeof(ds->error), "re-keying bench page %u: %s", i + 1,
                     ibc_page_status_name((ibc_page_status)pg[i].status));
            return 0;
        }
    return 1;
}

/* The lab keys of the sample variant and the plaintext templates decrypted with them. */
static ibc_keyring *lab_templates(bench_dataset *ds, templates *t)
{
    char err[256] = "", path[1024];
    ibc_engine *e = engine_for(ibc_tier_kernels(ibc_tier_best(ibc_cpu_features())));
    snprintf(path, sizeof(path), "%s/%s/keys.txt", data_dir(), variant_dir[ds->fmt]);
    ibc_keyring *lab = NULL;
    if (!e || ibc_keyring_load(path, NULL, &lab, err, sizeof(err)) != IBC_OK) {
        snprintf(ds->error, sizeof(ds->error), "lab keys: %.80s (set IBC_BENCH_DATA to the "
                 "tests/data/mariadb-10.11 directory)", err[0] ? err : "no engine");
        return NULL;
    }
    if (!load_templates(ds, e, lab, t)) {
        ibc_keyring_free(lab);
        return NULL;
    }
    return lab;
}

static void templates_free(templates *t)
{
    free(t->page0);
    free(t->pages);
}

static void build(bench_dataset *ds)
{
    templates t = {0};
    ibc_keyring *lab = lab_templates(ds, &t);
    if (lab && make_spaces(ds, &t, lab)) {
        ds->hot = bench_pages_alloc(ds->ps, BENCH_HOT_PAGES, &ds->hot_stride);
        ds->hot_rekeyed = bench_pages_alloc(ds->ps, BENCH_HOT_PAGES, &ds->hot_stride);
        if (!ds->hot || !ds->hot_rekeyed)
            snprintf(ds->error, sizeof(ds->error), "out of memory");
        else if (make_pages(ds, &t, ds->hot, ds->hot_stride, BENCH_HOT_PAGES, 1))
            make_hot_rekeyed(ds);
    }
    ibc_keyring_free(lab);
    templates_free(&t);
}

bench_dataset *bench_dataset_get(bench_fmt fmt, ibc_algo algo)
{
    pthread_mutex_lock(&g_lock);
    bench_dataset *ds = g_ds[fmt][algo];
    if (!ds) {
        ds = calloc(1, sizeof(*ds));
        if (ds) {
            ds->fmt = fmt;
            ds->algo = algo;
            ds->ps = BENCH_PAGE_SIZE;
            build(ds);
            g_ds[fmt][algo] = ds;
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (!ds) {
        static bench_dataset oom = {.error = "out of memory"};
        return &oom;
    }
    return ds;
}

size_t bench_cold_mib(void)
{
    const char *env = getenv("IBC_BENCH_COLD_MIB");
    long mib = env ? strtol(env, NULL, 10) : 0;
    return mib > 0 ? (size_t)mib : 128;
}

bench_cold *bench_dataset_cold(bench_dataset *ds)
{
    bench_cold *c = &ds->cold;
    pthread_mutex_lock(&g_lock);
    if (!c->mem && !ds->error[0]) {
        size_t n = bench_cold_mib() * (1024 * 1024 / BENCH_PAGE_SIZE);
        n = (n + BENCH_HOT_PAGES - 1) / BENCH_HOT_PAGES * BENCH_HOT_PAGES;
        templates t = {0};
        ibc_keyring *lab = lab_templates(ds, &t);
        if (lab) {
            c->mem = bench_pages_alloc(ds->ps, n, &c->stride);
            c->parity = calloc(n / BENCH_HOT_PAGES, 1);
            c->n = n;
            c->cursor = 0;
            if (!c->mem || !c->parity || !make_pages(ds, &t, c->mem, c->stride, n, 1)) {
                if (!ds->error[0])
                    snprintf(ds->error, sizeof(ds->error), "out of memory for the cold set");
                bench_pages_free(c->mem);
                free(c->parity);
                c->mem = NULL;
                c->parity = NULL;
            }
        }
        ibc_keyring_free(lab);
        templates_free(&t);
    }
    pthread_mutex_unlock(&g_lock);
    return c->mem ? c : NULL;
}

void bench_datasets_free(void)
{
    pthread_mutex_lock(&g_lock);
    for (int f = 0; f < BENCH_FMT_COUNT; f++)
        for (int a = 0; a < 3; a++) {
            bench_dataset *ds = g_ds[f][a];
            if (!ds)
                continue;
            for (int t = 0; t < IBC_TIER_COUNT; t++)
                for (int k = 0; k < 2; k++)
                    ibc_space_free(ds->space[t][k]);
            explicit_bzero(ds->page_key, sizeof(ds->page_key));
            bench_pages_free(ds->hot);
            bench_pages_free(ds->hot_rekeyed);
            bench_pages_free(ds->cold.mem);
            free(ds->cold.parity);
            free(ds);
            g_ds[f][a] = NULL;
        }
    for (int t = 0; t < IBC_TIER_COUNT; t++) {
        ibc_engine_free(g_engines[t]);
        g_engines[t] = NULL;
    }
    pthread_mutex_unlock(&g_lock);
}
