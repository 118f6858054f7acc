/*
 * test_pages.c - the page engine on pages written by a real MariaDB 10.11.19 server
 * (tests/data/mariadb-10.11/: six variants, CBC and CTR, full_crc32 and legacy, 4K/16K/64K,
 * index, BLOB, PAGE_COMPRESSED and ROW_FORMAT=COMPRESSED pages), on every kernel tier:
 *
 *   - verify and deep verify pass every page, and the algorithm is found by trial;
 *   - the batch fast paths give the same statuses and bytes as the per-page reference path;
 *   - decrypt then encrypt gives every file back byte for byte;
 *   - re-key to new keys and back to the old ones (same crypt-data IV) gives the original
 *     bytes; the re-keyed file deep-verifies under the new keys only;
 *   - re-wrap changes page 0 only, and the result opens with the new keys;
 *   - a flipped bit is caught by verify; with the checksum recomputed, by deep verify
 *     wherever the format can tell;
 *   - with a wrong key every encrypted page is a key mismatch.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "checksum.h"
#include "format.h"
#include "page.h"
#include "ref.h"
#include "testutil.h"

typedef struct sample {
    char dir[512];
    char name[64];
    ibc_algo algo;
    uint8_t *data;
    size_t size;
} sample;

static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return p;
}

static ibc_keyring *keys(const char *dir, const char *file)
{
    char path[700], err[256];
    ibc_keyring *kr = NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (ibc_keyring_load(path, NULL, &kr, err, sizeof(err)) != IBC_OK)
        fprintf(stderr, "%s\n", err);
    return kr;
}

/* Samples named after a page_compressed algorithm (t_lz4.ibd, ...: the *-algos variants) whose
 * library this build lacks: the engine reports their pages as unsupported, by design. */
static int algo_missing(const char *file)
{
    static const char *const names[] = {"t_lz4.ibd", "t_lzo.ibd", "t_lzma.ibd", "t_bzip2.ibd",
                                        "t_snappy.ibd"};
    for (uint32_t a = IBC_COMP_LZ4; a <= IBC_COMP_SNAPPY; a++) {
        uint8_t in[1] = {0}, out[16384];
        if (!strcmp(file, names[a - IBC_COMP_LZ4]))
            return ibc_page_decompress(a, in, 0, out, sizeof(out), NULL) == -2;
    }
    return 0;
}

/* All samples: every .ibd in every variant directory. */
static size_t load_samples(sample **out)
{
    char root[400];
    snprintf(root, sizeof(root), "%.350s/data/mariadb-10.11", tu_data_dir());
    size_t n = 0, cap = 64;
    sample *v = calloc(cap, sizeof(*v));
    DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strchr(e->d_name, '-'))
            continue;
        char vdir[512];
        snprintf(vdir, sizeof(vdir), "%.300s/%.200s", root, e->d_name);
        DIR *d2 = opendir(vdir);
        struct dirent *f;
        while (d2 && (f = readdir(d2))) {
            size_t l = strlen(f->d_name);
            if (l < 5 || strcmp(f->d_name + l - 4, ".ibd") || n == cap)
                continue;
            if (algo_missing(f->d_name)) {
                fprintf(stderr, "note: %s/%s skipped: this build has no library for its "
                                "compression\n", e->d_name, f->d_name);
                continue;
            }
            sample *s = &v[n];
            snprintf(s->dir, sizeof(s->dir), "%s", vdir);
            snprintf(s->name, sizeof(s->name), "%.30s/%.30s", e->d_name, f->d_name);
            s->algo = !strncmp(e->d_name, "ctr", 3) ? IBC_ALGO_CTR : IBC_ALGO_CBC;
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", vdir, f->d_name);
            s->data = slurp(path, &s->size);
            if (s->data)
                n++;
        }
        if (d2)
            closedir(d2);
    }
    if (d)
        closedir(d);
    *out = v;
    return n;
}

static void free_samples(sample *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].data);
    free(v);
}

/* Open the sample's space on engine e with keys from file kf; settle the algorithm by trial. */
static ibc_space *open_space(const ibc_engine *e, const sample *s, const char *kf, int trial)
{
    char err[256];
    ibc_space *sp = NULL;
    if (ibc_space_open(e, s->data, s->size, &sp, err, sizeof(err)) != IBC_OK) {
        fprintf(stderr, "%s: %s\n", s->name, err);
        return NULL;
    }
    ibc_keyring *kr = keys(s->dir, kf);
    if (!kr || ibc_space_set_key(sp, kr, IBC_ALGO_AUTO) != IBC_OK) {
        ibc_keyring_free(kr);
        ibc_space_free(sp);
        return NULL;
    }
    ibc_keyring_free(kr);
    if (trial) {
        uint32_t ps = sp->g.physical;
        for (size_t p = 1; p < s->size / ps; p++) {
            ibc_status st = ibc_space_check_key(sp, s->data + p * ps, (uint32_t)p);
            if (st != IBC_ERR_INVALID_ARG)
                break;
        }
    }
    return sp;
}

static ibc_page *page_array(const ibc_space *sp, const uint8_t *src, uint8_t *dst, size_t n)
{
    ibc_page *pg = calloc(n, sizeof(*pg));
    for (size_t i = 0; i < n; i++) {
        pg[i].src = src + i * sp->g.physical;
        pg[i].dst = dst ? dst + i * sp->g.physical : NULL;
        pg[i].page_no = (uint32_t)i;
    }
    return pg;
}

static int all_good(const ibc_page *pg, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++)
        if (pg[i].status != IBC_PAGE_OK && pg[i].status != IBC_PAGE_PLAIN &&
            pg[i].status != IBC_PAGE_ZERO) {
            *bad = i;
            return 0;
        }
    return 1;
}

static void for_each_tier(void (*fn)(const ibc_engine *, sample *, size_t))
{
    sample *v;
    size_t n = load_samples(&v);
    if (n < 20) {
        tu_fail(__FILE__, __LINE__, "only %zu samples found under %s/data", n, tu_data_dir());
        return;
    }
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (size_t ti = 0; ti < nt; ti++) {
        ibc_engine *e = NULL;
        ibc_engine_new(t[ti]->name, &e);
        fn(e, v, n);
        ibc_engine_free(e);
    }
    free_samples(v, n);
}

static void verify_samples(const ibc_engine *e, sample *v, size_t n)
{
    ibc_scratch *sc = ibc_scratch_new();
    for (size_t i = 0; i < n; i++) {
        sample *s = &v[i];
        ibc_space *sp = open_space(e, s, "keys.txt", 1);
        TU_CHECK(sp, "%s: cannot open", s->name);
        TU_CHECK(sp->algo == s->algo, "%s (%s): trial found algorithm %d, want %d", s->name,
                 e->k->name, sp->algo, s->algo);
        size_t np = s->size / sp->g.physical, bad = 0, enc = 0;
        ibc_page *pg = page_array(sp, s->data, NULL, np);
        for (int op = IBC_OP_VERIFY; op <= IBC_OP_VERIFY_DEEP; op++) {
            ibc_batch_run(sp, NULL, (ibc_op)op, pg, np, sc);
            TU_CHECK(all_good(pg, np, &bad), "%s (%s) op %d: page %zu: %s", s->name, e->k->name,
                     op, bad, ibc_page_status_name(pg[bad].status));
        }
        for (size_t p = 0; p < np; p++) {
            enc += (pg[p].flags & IBC_PF_ENCRYPTED) != 0;
            /* IBC_PF_CRC_STORED: exactly the full_crc32 pages checked whole against their
             * stored CRC-32C, and then the reference CRC agrees */
            const uint8_t *pp = s->data + p * sp->g.physical;
            int stored = sp->g.full_crc32 && !(pg[p].flags & IBC_PF_PAGE_COMPRESSED) &&
                         (pg[p].status == IBC_PAGE_OK || pg[p].status == IBC_PAGE_PLAIN);
            TU_CHECK(!(pg[p].flags & IBC_PF_CRC_STORED) == !stored,
                     "%s (%s) page %zu (%s): IBC_PF_CRC_STORED %s", s->name, e->k->name, p,
                     ibc_page_status_name(pg[p].status), stored ? "missing" : "set");
            if (pg[p].flags & IBC_PF_CRC_STORED)
                TU_CHECK(ref_crc32c(0, pp, sp->g.physical - 4) == be32(pp + sp->g.physical - 4),
                         "%s page %zu: IBC_PF_CRC_STORED on a page whose CRC differs", s->name,
                         p);
        }
        TU_CHECK(enc >= 2, "%s: only %zu encrypted pages", s->name, enc);
        free(pg);
        ibc_space_free(sp);
    }
    ibc_scratch_free(sc);
}

static void test_real_pages_verify_and_deep_verify(void)
{
    for_each_tier(verify_samples);
}

/* liblzma and bzip2 hold decompressed bytes (a decrypted page's plaintext) in buffers of their
 * own: deep verification of their real pages goes through the allocator that wipes them on
 * free, every page at least a page's worth (an xz dictionary is at least 4 KiB, bzip2's block
 * arrays far more). */
static void test_decompressor_buffers_are_wiped(void)
{
    sample *v;
    size_t n = load_samples(&v), checked = 0;
    ibc_engine *e = NULL;
    ibc_engine_new("auto", &e);
    ibc_scratch *sc = ibc_scratch_new();
    for (size_t i = 0; i < n; i++) {
        sample *s = &v[i];
        if (!strstr(s->name, "/t_lzma.ibd") && !strstr(s->name, "/t_bzip2.ibd"))
            continue;
        ibc_space *sp = open_space(e, s, "keys.txt", 1);
        TU_CHECK(sp, "%s: cannot open", s->name);
        size_t np = s->size / sp->g.physical, bad = 0, compressed = 0;
        ibc_page *pg = page_array(sp, s->data, NULL, np);
        uint64_t before = ibc_decompress_wiped_bytes();
        ibc_batch_run(sp, NULL, IBC_OP_VERIFY_DEEP, pg, np, sc);
        uint64_t wiped = ibc_decompress_wiped_bytes() - before;
        TU_CHECK(all_good(pg, np, &bad), "%s: page %zu: %s", s->name, bad,
                 ibc_page_status_name(pg[bad].status));
        for (size_t p = 0; p < np; p++)
            compressed += pg[p].status == IBC_PAGE_OK && (pg[p].flags & IBC_PF_PAGE_COMPRESSED);
        TU_CHECK(compressed >= 2, "%s: only %zu page_compressed pages", s->name, compressed);
        TU_CHECK(wiped >= compressed * 4096, "%s: %zu pages decompressed, %llu bytes wiped",
                 s->name, compressed, (unsigned long long)wiped);
        checked++;
        free(pg);
        ibc_space_free(sp);
    }
    /* two variants of each algorithm this build has a library for (load_samples skips the
     * others) */
    size_t want = (algo_missing("t_lzma.ibd") ? 0 : 2) + (algo_missing("t_bzip2.ibd") ? 0 : 2);
    TU_CHECK(checked == want, "%zu lzma and bzip2 samples checked, want %zu", checked, want);
    ibc_scratch_free(sc);
    ibc_engine_free(e);
    free_samples(v, n);
}

static int has_compressed_pages(const ibc_space *sp, const uint8_t *data, size_t np)
{
    for (size_t p = 0; p < np; p++)
        if (be16(data + p * sp->g.physical + FIL_PAGE_TYPE) &
            (1u << FIL_PAGE_COMPRESS_FCRC32_MARKER))
            return 1;
    return 0;
}

/* Batch (fast paths) == per-page reference path, for every op that writes. */
static void fast_equals_reference(const ibc_engine *e, sample *v, size_t n)
{
    ibc_scratch *sc = ibc_scratch_new();
    for (size_t i = 0; i < n; i++) {
        sample *s = &v[i];
        ibc_space *sp = open_space(e, s, "keys.txt", 1);
        TU_CHECK(sp, "%s: cannot open", s->name);
        ibc_keyring *nk = keys(s->dir, "keys-new.txt");
        ibc_space *tg = NULL;
        uint8_t iv[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
        TU_CHECK(ibc_space_derive(sp, nk, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, iv, &tg) == IBC_OK,
                 "derive");
        size_t np = s->size / sp->g.physical;
        uint8_t *a = malloc(s->size), *b = malloc(s->size);
        for (int op = IBC_OP_VERIFY_DEEP; op <= IBC_OP_REKEY; op++) {
            if (op == IBC_OP_ENCRYPT)
                continue;
            memset(a, 0xa5, s->size);
            memset(b, 0x5a, s->size);
            ibc_page *pa = page_array(sp, s->data, a, np), *pb = page_array(sp, s->data, b, np);
            ibc_kernel_hits_reset();
            ibc_batch_run(sp, op == IBC_OP_REKEY ? tg : NULL, (ibc_op)op, pa, np, sc);
            /* The CBC re-key of full_crc32 pages runs in multi-buffer lanes: the reference
             * path's serial encryption (page.c) means that a page fell back, which gives the
             * same bytes, slower. Of the pages here, only PAGE_COMPRESSED ones may. */
            if (op == IBC_OP_REKEY && s->algo == IBC_ALGO_CBC && sp->g.full_crc32 &&
                !has_compressed_pages(sp, s->data, np))
                TU_CHECK(!ibc_kernel_hits[IBC_KOP_AES_CBC_ENC], "%s (%s): a page fell back to "
                         "the serial CBC encryption", s->name, e->k->name);
            /* Likewise the CBC deep verify and decryption: on the x86 tiers the fast path
             * decrypts through the fused decrypt+CRC kernel alone, the reference path through
             * aes_cbc_dec (the generic tiers compose the former of the latter). */
            if ((op == IBC_OP_VERIFY_DEEP || op == IBC_OP_DECRYPT) && s->algo == IBC_ALGO_CBC &&
                sp->g.full_crc32 && !has_compressed_pages(sp, s->data, np) &&
                e->k->tier != IBC_TIER_PORTABLE && e->k->tier != IBC_TIER_ARMCE)
                TU_CHECK(!ibc_kernel_hits[IBC_KOP_AES_CBC_DEC], "%s (%s) op %d: a page fell back "
                         "to the reference path", s->name, e->k->name, op);
            for (size_t p = 0; p < np; p++)
                ibc_page_process(sp, op == IBC_OP_REKEY ? tg : NULL, (ibc_op)op, &pb[p], sc);
            for (size_t p = 0; p < np; p++) {
                TU_CHECK(pa[p].status == pb[p].status, "%s (%s) op %d page %zu: %s vs %s",
                         s->name, e->k->name, op, p, ibc_page_status_name(pa[p].status),
                         ibc_page_status_name(pb[p].status));
                TU_CHECK(pa[p].flags == pb[p].flags, "%s op %d page %zu: flags %x vs %x",
                         s->name, op, p, pa[p].flags, pb[p].flags);
            }
            if (op != IBC_OP_VERIFY_DEEP)
                TU_CHECK_MEM(a, b, s->size, "%s (%s) op %d: output differs", s->name,
                             e->k->name, op);
            free(pa);
            free(pb);
        }
        free(a);
        free(b);
        ibc_space_free(tg);
        ibc_keyring_free(nk);
        ibc_space_free(sp);
    }
    ibc_scratch_free(sc);
}

static void test_fast_paths_equal_reference_path(void)
{
    for_each_tier(fast_equals_reference);
}

static void roundtrips(const ibc_engine *e, sample *v, size_t n)
{
    ibc_scratch *sc = ibc_scratch_new();
    for (size_t i = 0; i < n; i++) {
        sample *s = &v[i];
        ibc_space *sp = open_space(e, s, "keys.txt", 1);
        TU_CHECK(sp, "%s: cannot open", s->name);
        uint32_t ps = sp->g.physical;
        size_t np = s->size / ps, bad = 0;
        uint8_t *plain = malloc(s->size), *back = malloc(s->size), *rk = malloc(s->size);

        /* decrypt, then encrypt: the original bytes */
        ibc_page *pg = page_array(sp, s->data, plain, np);
        ibc_batch_run(sp, NULL, IBC_OP_DECRYPT, pg, np, sc);
        TU_CHECK(all_good(pg, np, &bad), "%s decrypt page %zu: %s", s->name, bad,
                 ibc_page_status_name(pg[bad].status));
        free(pg);
        pg = page_array(sp, plain, back, np);
        ibc_batch_run(sp, NULL, IBC_OP_ENCRYPT, pg, np, sc);
        free(pg);
        TU_CHECK_MEM(back, s->data, s->size, "%s (%s): decrypt+encrypt != original", s->name,
                     e->k->name);

        /* re-key to the new keys (fresh IV), check, re-key back with the original IV */
        ibc_keyring *nk = keys(s->dir, "keys-new.txt"), *ok = keys(s->dir, "keys.txt");
        ibc_space *tg = NULL, *back_sp = NULL, *reopened = NULL;
        TU_CHECK(ibc_space_derive(sp, nk, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, NULL, &tg) ==
                     IBC_OK,
                 "derive");
        memcpy(rk, s->data, s->size);
        pg = page_array(sp, rk, rk, np); /* in place */
        ibc_batch_run(sp, tg, IBC_OP_REKEY, pg, np, sc);
        TU_CHECK(all_good(pg, np, &bad), "%s rekey page %zu: %s", s->name, bad,
                 ibc_page_status_name(pg[bad].status));
        free(pg);
        TU_CHECK(ibc_space_write_page0(tg, rk) == IBC_OK, "write page 0");
        for (size_t p = 1; p < np; p++)
            if (be32(s->data + p * ps + (sp->g.full_crc32 ? 0 : 26)) && sp->cd.present &&
                !ibc_is_zero(s->data + p * ps, ps) && ibc_page_is_encrypted(sp, s->data + p * ps, (uint32_t)p))
                TU_CHECK(memcmp(rk + p * ps, s->data + p * ps, ps), "%s: page %zu unchanged by "
                         "re-encryption", s->name, p);
        /* the re-keyed file: deep-verifies with the new keys, not with the old ones */
        char err[256];
        TU_CHECK(ibc_space_open(e, rk, s->size, &reopened, err, sizeof(err)) == IBC_OK,
                 "reopen: %s", err);
        TU_CHECK(ibc_space_set_key(reopened, nk, s->algo) == IBC_OK, "new key");
        pg = page_array(reopened, rk, NULL, np);
        ibc_batch_run(reopened, NULL, IBC_OP_VERIFY_DEEP, pg, np, sc);
        TU_CHECK(all_good(pg, np, &bad), "%s: re-keyed page %zu: %s", s->name, bad,
                 ibc_page_status_name(pg[bad].status));
        TU_CHECK(ibc_space_set_key(reopened, ok, s->algo) == IBC_OK, "old key");
        ibc_batch_run(reopened, NULL, IBC_OP_VERIFY_DEEP, pg, np, sc);
        for (size_t p = 0; p < np; p++)
            TU_CHECK(!(pg[p].flags & IBC_PF_ENCRYPTED) || pg[p].status == IBC_PAGE_KEY_MISMATCH ||
                         pg[p].status == IBC_PAGE_BAD_INNER,
                     "%s: page %zu deep-verified under the old key after re-key (%s)", s->name, p,
                     ibc_page_status_name(pg[p].status));
        free(pg);
        /* and back, with the original IV: the original bytes */
        TU_CHECK(ibc_space_derive(reopened, ok, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, sp->cd.iv,
                                  &back_sp) == IBC_OK,
                 "derive back");
        TU_CHECK(ibc_space_set_key(reopened, nk, s->algo) == IBC_OK, "new key");
        pg = page_array(reopened, rk, back, np);
        ibc_batch_run(reopened, back_sp, IBC_OP_REKEY, pg, np, sc);
        free(pg);
        TU_CHECK(ibc_space_write_page0(back_sp, back) == IBC_OK, "write page 0");
        TU_CHECK_MEM(back, s->data, s->size, "%s (%s): re-key there and back != original",
                     s->name, e->k->name);
        ibc_space_free(reopened);
        ibc_space_free(back_sp);
        ibc_space_free(tg);
        ibc_keyring_free(nk);
        ibc_keyring_free(ok);
        free(plain);
        free(back);
        free(rk);
        ibc_space_free(sp);
    }
    ibc_scratch_free(sc);
}

static void test_decrypt_encrypt_and_rekey_roundtrips_are_bit_exact(void)
{
    for_each_tier(roundtrips);
}

static void rewrap(const ibc_engine *e, sample *v, size_t n)
{
    ibc_scratch *sc = ibc_scratch_new();
    for (size_t i = 0; i < n; i++) {
        sample *s = &v[i];
        ibc_space *sp = open_space(e, s, "keys.txt", 1), *tg = NULL, *re = NULL;
        TU_CHECK(sp, "%s: cannot open", s->name);
        ibc_keyring *nk = keys(s->dir, "keys-new.txt");
        TU_CHECK(ibc_space_derive(sp, nk, IBC_REKEY_REWRAP, IBC_ALGO_AUTO, NULL, &tg) == IBC_OK,
                 "derive rewrap");
        uint32_t ps = sp->g.physical;
        uint8_t *w = malloc(s->size);
        memcpy(w, s->data, s->size);
        TU_CHECK(ibc_space_write_page0(tg, w) == IBC_OK, "write page 0");
        TU_CHECK(memcmp(w, s->data, ps) != 0, "%s: page 0 unchanged by rewrap", s->name);
        TU_CHECK_MEM(w + ps, s->data + ps, s->size - ps, "%s: rewrap changed other pages",
                     s->name);
        char err[256];
        TU_CHECK(ibc_space_open(e, w, s->size, &re, err, sizeof(err)) == IBC_OK, "reopen: %s",
                 err);
        TU_CHECK(ibc_space_set_key(re, nk, s->algo) == IBC_OK, "set new key");
        size_t np = s->size / ps, bad = 0;
        ibc_page *pg = page_array(re, w, NULL, np);
        ibc_batch_run(re, NULL, IBC_OP_VERIFY_DEEP, pg, np, sc);
        TU_CHECK(all_good(pg, np, &bad), "%s: rewrapped page %zu: %s", s->name, bad,
                 ibc_page_status_name(pg[bad].status));
        free(pg);
        free(w);
        ibc_space_free(re);
        ibc_space_free(tg);
        ibc_keyring_free(nk);
        ibc_space_free(sp);
    }
    ibc_scratch_free(sc);
}

static void test_rewrap_changes_only_page0_and_opens_with_new_keys(void)
{
    for_each_tier(rewrap);
}

/* Recompute the checksum of the page as on disk after tampering (what an attacker or a
 * buggy tool that "fixes" checksums would do). */
static void reseal(const ibc_space *sp, uint8_t *p)
{
    uint32_t ps = sp->g.physical;
    if (sp->g.full_crc32) {
        int c;
        uint32_t size = ibc_fcrc32_size(p, ps, &c);
        put_be32(p + size - 4, sp->k->crc32c(0, p, size - 4));
    } else {
        put_be32(p + 30, ibc_legacy_crypt_checksum(sp->k, p, ps, sp->g.zip));
    }
}

/* The page the server reads from an encrypted page_compressed page: decrypted, then
 * decompressed into out (logical size); 0 if it does not decompress, or does not name its own
 * page and space (the server's checks of a decompressed page). */
static int server_reads(const ibc_space *sp, const uint8_t *a, uint32_t page_no, uint8_t *out,
                        ibc_scratch *sc)
{
    uint32_t ps = sp->g.physical;
    uint8_t *pa = malloc(ps);
    ibc_page pg = {.src = a, .dst = pa, .page_no = page_no};
    ibc_batch_run(sp, NULL, IBC_OP_DECRYPT, &pg, 1, sc);
    uint32_t off, len, algo;
    if (sp->g.full_crc32) {
        int c;
        off = 26;
        algo = sp->g.comp_algo;
        len = (uint32_t)ibc_fcrc32_stream_len(algo, pa, ibc_fcrc32_size(a, ps, &c));
    } else {
        ibc_page_crypt_range(sp, a, &off, &len);
        algo = be16(pa + FIL_PAGE_DATA + FIL_PAGE_ENCRYPT_COMP_ALGO);
    }
    int ok = pg.status == IBC_PAGE_OK &&
             ibc_page_decompress(algo, pa + off, len, out, sp->g.logical, NULL) == 0 &&
             be32(out + FIL_PAGE_OFFSET) == page_no && be32(out + FIL_PAGE_SPACE_ID) == sp->space_id &&
             (sp->g.full_crc32 || !ibc_legacy_is_corrupted(sp->k, out, sp->g.logical, 0));
    free(pa);
    return ok;
}

/* Deep verify passed a damaged page_compressed page: is that what the server makes of it too?
 * Either the damage changes nothing the server reads (the unused high bits of the last deflate
 * byte: the page decompresses to the same bytes), or the algorithm's stream carries no check
 * of its own (LZ4, LZO, snappy, and LZMA as the server writes it, LZMA_CHECK_NONE) and the
 * altered stream still decompresses to a page that names itself: the format cannot tell. zlib
 * (Adler-32) and bzip2 (a CRC per block) always can. */
static int format_cannot_tell(const ibc_space *sp, const uint8_t *orig, const uint8_t *w,
                              uint32_t page_no, ibc_scratch *sc)
{
    uint8_t *oa = malloc(65536), *ob = malloc(65536);
    int a = server_reads(sp, orig, page_no, oa, sc), b = server_reads(sp, w, page_no, ob, sc);
    uint32_t algo = sp->g.full_crc32 ? sp->g.comp_algo
                                     : be16(w + FIL_PAGE_DATA + FIL_PAGE_ENCRYPT_COMP_ALGO);
    int unchecked = algo == IBC_COMP_LZ4 || algo == IBC_COMP_LZO || algo == IBC_COMP_LZMA ||
                    algo == IBC_COMP_SNAPPY;
    int r = a && b && (!memcmp(oa, ob, sp->g.logical) || unchecked);
    free(oa);
    free(ob);
    return r;
}

static void tamper(const ibc_engine *e, sample *v, size_t n)
{
    ibc_scratch *sc = ibc_scratch_new();
    for (size_t i = 0; i < n; i++) {
        sample *s = &v[i];
        ibc_space *sp = open_space(e, s, "keys.txt", 1);
        TU_CHECK(sp, "%s: cannot open", s->name);
        uint32_t ps = sp->g.physical;
        size_t np = s->size / ps;
        uint8_t *w = malloc(ps);
        for (size_t p = 1; p < np; p++) {
            const uint8_t *orig = s->data + p * ps;
            if (!ibc_page_is_encrypted(sp, orig, (uint32_t)p))
                continue;
            uint32_t off, len;
            ibc_page_crypt_range(sp, orig, &off, &len);
            int index = be16(orig + 24) == 17855;
            /* positions the format can tell: anywhere (legacy: plaintext checksum), the space
             * id block, the LSN copy, and for index pages the page header and directory */
            size_t hdr[3] = {38, 42, 54}; /* PAGE_N_DIR_SLOTS, PAGE_N_HEAP, PAGE_N_RECS */
            size_t pos[4] = {off + tu_rand_below(len), 34, ps - 7,
                             hdr[tu_rand_below(3)] + tu_rand_below(2)};
            int npos = sp->g.full_crc32 ? (index ? 4 : 3) : 1;
            int compressed = be16(orig + 24) & 0x8000 || be16(orig + 24) == 37401;
            if (sp->g.full_crc32 && compressed)
                npos = 1; /* the whole payload is checked by decompression */
            for (int k = sp->g.full_crc32 && !compressed ? 1 : 0; k < npos; k++) {
                size_t at = pos[k];
                memcpy(w, orig, ps);
                w[at] ^= (uint8_t)(1u << tu_rand_below(8));
                ibc_page pg = {.src = w, .page_no = (uint32_t)p};
                ibc_batch_run(sp, NULL, IBC_OP_VERIFY, &pg, 1, sc);
                if (be16(orig + 24) == 37401) {
                    /* legacy PAGE_COMPRESSED_ENCRYPTED has no checksum on disk (the server never
                     * verifies one): only decompression can tell, and a broken stream header
                     * looks the same as a wrong key. A flip in the unused high bits of the last
                     * deflate byte changes nothing the server reads: the page inflates to the
                     * same bytes, and verify rightly says ok. */
                    if (pg.status == IBC_PAGE_OK &&
                        format_cannot_tell(sp, orig, w, (uint32_t)p, sc))
                        continue;
                    TU_CHECK(pg.status == IBC_PAGE_BAD_INNER || pg.status == IBC_PAGE_KEY_MISMATCH,
                             "%s page %zu byte %zu: verify said %s", s->name, p, at,
                             ibc_page_status_name(pg.status));
                    continue;
                }
                TU_CHECK(pg.status == IBC_PAGE_BAD_OUTER, "%s page %zu byte %zu: verify said %s",
                         s->name, p, at, ibc_page_status_name(pg.status));
                TU_CHECK(!(pg.flags & IBC_PF_CRC_STORED), "%s page %zu byte %zu: a damaged "
                         "page claims its stored CRC", s->name, p, at);
                reseal(sp, w);
                ibc_batch_run(sp, NULL, IBC_OP_VERIFY, &pg, 1, sc);
                TU_CHECK(pg.status == IBC_PAGE_OK, "%s page %zu: resealed page fails verify (%s)",
                         s->name, p, ibc_page_status_name(pg.status));
                ibc_batch_run(sp, NULL, IBC_OP_VERIFY_DEEP, &pg, 1, sc);
                if (compressed && pg.status == IBC_PAGE_OK &&
                    format_cannot_tell(sp, orig, w, (uint32_t)p, sc))
                    continue;
                TU_CHECK(pg.status != IBC_PAGE_OK && pg.status != IBC_PAGE_PLAIN,
                         "%s (%s) page %zu byte %zu: deep verify missed the damage", s->name,
                         e->k->name, p, at);
            }
        }
        free(w);
        ibc_space_free(sp);
    }
    ibc_scratch_free(sc);
}

static void test_tampered_pages_are_caught(void)
{
    for_each_tier(tamper);
}

/* IBC_OP_REKEY_CHECKED re-keys as IBC_OP_REKEY does and differs in one thing: it does not
 * decompress page_compressed pages again (its caller ran a deep verify before). So a page whose
 * stream was damaged and resealed, which IBC_OP_REKEY refuses, is re-keyed as it is: the damage
 * is carried, still there for a deep verify, not hidden. Under IBC_ALGO_AUTO (nothing settled)
 * it decompresses, as that is what tells CBC from CTR. */
static void rekey_checked(const ibc_engine *e, sample *v, size_t n)
{
    ibc_scratch *sc = ibc_scratch_new();
    size_t damaged = 0;
    for (size_t i = 0; i < n; i++) {
        sample *s = &v[i];
        ibc_space *sp = open_space(e, s, "keys.txt", 1), *tg = NULL;
        TU_CHECK(sp, "%s: cannot open", s->name);
        ibc_keyring *nk = keys(s->dir, "keys-new.txt");
        uint8_t iv[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
        TU_CHECK(ibc_space_derive(sp, nk, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, iv, &tg) == IBC_OK,
                 "derive");
        uint32_t ps = sp->g.physical;
        size_t np = s->size / ps;
        uint8_t *a = malloc(s->size), *b = malloc(s->size), *w = malloc(ps), *o = malloc(ps);
        ibc_page *pa = page_array(sp, s->data, a, np), *pb = page_array(sp, s->data, b, np);
        ibc_batch_run(sp, tg, IBC_OP_REKEY, pa, np, sc);
        ibc_batch_run(sp, tg, IBC_OP_REKEY_CHECKED, pb, np, sc);
        for (size_t p = 0; p < np; p++)
            TU_CHECK(pa[p].status == pb[p].status && pa[p].flags == pb[p].flags,
                     "%s (%s) page %zu: %s/%x vs %s/%x", s->name, e->k->name, p,
                     ibc_page_status_name(pa[p].status), pa[p].flags,
                     ibc_page_status_name(pb[p].status), pb[p].flags);
        TU_CHECK_MEM(a, b, s->size, "%s (%s): REKEY_CHECKED output differs", s->name,
                     e->k->name);
        for (size_t p = 1; p < np; p++) {
            const uint8_t *orig = s->data + p * ps;
            int compressed = be16(orig + 24) & 0x8000 || be16(orig + 24) == 37401;
            if (!compressed || !ibc_page_is_encrypted(sp, orig, (uint32_t)p))
                continue;
            /* a byte in the middle of the stream (not its padding, which tells keys apart) */
            uint32_t off, len;
            ibc_page_crypt_range(sp, orig, &off, &len);
            if (sp->g.full_crc32) {
                ibc_page d = {.src = orig, .dst = o, .page_no = (uint32_t)p};
                ibc_batch_run(sp, NULL, IBC_OP_DECRYPT, &d, 1, sc);
                int c;
                len = (uint32_t)ibc_fcrc32_stream_len(sp->g.comp_algo, o,
                                                      ibc_fcrc32_size(orig, ps, &c));
            }
            memcpy(w, orig, ps);
            w[off + len / 2] ^= 0x10;
            reseal(sp, w);
            ibc_page pg = {.src = w, .page_no = (uint32_t)p};
            ibc_batch_run(sp, NULL, IBC_OP_VERIFY_DEEP, &pg, 1, sc);
            if (pg.status == IBC_PAGE_OK)
                continue; /* a stream without a check of its own (format_cannot_tell) */
            pg = (ibc_page){.src = w, .dst = o, .page_no = (uint32_t)p};
            ibc_batch_run(sp, tg, IBC_OP_REKEY, &pg, 1, sc);
            TU_CHECK(pg.status != IBC_PAGE_OK, "%s page %zu: REKEY re-keyed a damaged stream",
                     s->name, p);
            ibc_batch_run(sp, tg, IBC_OP_REKEY_CHECKED, &pg, 1, sc);
            TU_CHECK(pg.status == IBC_PAGE_OK, "%s page %zu: REKEY_CHECKED said %s", s->name, p,
                     ibc_page_status_name(pg.status));
            /* the damage went along: the re-keyed page's checksum holds (a legacy compressed
             * page has none on disk: its check is the decompression), its stream still fails */
            ibc_page q = {.src = o, .page_no = (uint32_t)p};
            ibc_batch_run(tg, NULL, IBC_OP_VERIFY, &q, 1, sc);
            TU_CHECK(q.status == IBC_PAGE_OK || !sp->g.full_crc32, "%s page %zu: re-keyed: %s",
                     s->name, p, ibc_page_status_name(q.status));
            ibc_batch_run(tg, NULL, IBC_OP_VERIFY_DEEP, &q, 1, sc);
            TU_CHECK(q.status != IBC_PAGE_OK, "%s page %zu: the damage was lost", s->name, p);
            /* nothing settled: decompressed, refused */
            ibc_space *au = open_space(e, s, "keys.txt", 0), *at = NULL;
            TU_CHECK(au && au->algo == IBC_ALGO_AUTO, "%s: not AUTO", s->name);
            TU_CHECK(ibc_space_derive(au, nk, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, iv, &at) ==
                         IBC_OK,
                     "derive");
            pg.status = IBC_PAGE_OK;
            ibc_batch_run(au, at, IBC_OP_REKEY_CHECKED, &pg, 1, sc);
            TU_CHECK(pg.status != IBC_PAGE_OK, "%s page %zu: REKEY_CHECKED under AUTO re-keyed "
                     "a damaged stream", s->name, p);
            ibc_space_free(at);
            ibc_space_free(au);
            damaged++;
            break;
        }
        free(pa);
        free(pb);
        free(a);
        free(b);
        free(w);
        free(o);
        ibc_space_free(tg);
        ibc_keyring_free(nk);
        ibc_space_free(sp);
    }
    TU_CHECK(damaged >= 4, "only %zu samples with a damaged stream to re-key", damaged);
    ibc_scratch_free(sc);
}

static void test_rekey_checked_skips_only_the_decompression(void)
{
    for_each_tier(rekey_checked);
}

static void wrong_key(const ibc_engine *e, sample *v, size_t n)
{
    ibc_scratch *sc = ibc_scratch_new();
    for (size_t i = 0; i < n; i++) {
        sample *s = &v[i];
        ibc_space *sp = open_space(e, s, "keys-new.txt", 0);
        TU_CHECK(sp, "%s: cannot open", s->name);
        uint32_t ps = sp->g.physical;
        size_t np = s->size / ps, enc = 0, mismatch = 0;
        for (size_t p = 1; p < np; p++) {
            ibc_status st = ibc_space_check_key(sp, s->data + p * ps, (uint32_t)p);
            if (st == IBC_ERR_INVALID_ARG)
                continue;
            TU_CHECK(st == IBC_ERR_KEY_MISMATCH, "%s: trial with a wrong key says %s", s->name,
                     ibc_strerror(st));
            break;
        }
        sp->algo = s->algo;
        ibc_page *pg = page_array(sp, s->data, NULL, np);
        ibc_batch_run(sp, NULL, IBC_OP_VERIFY_DEEP, pg, np, sc);
        for (size_t p = 0; p < np; p++) {
            if (!(pg[p].flags & IBC_PF_ENCRYPTED))
                continue;
            enc++;
            mismatch += pg[p].status == IBC_PAGE_KEY_MISMATCH;
            TU_CHECK(pg[p].status != IBC_PAGE_OK, "%s page %zu passes with a wrong key", s->name,
                     p);
        }
        /* every page is a key mismatch, except that a legacy non-index page may only show as
         * a bad plaintext */
        TU_CHECK(mismatch == enc || (!sp->g.full_crc32 && mismatch * 2 >= enc),
                 "%s: %zu of %zu encrypted pages named key mismatch", s->name, mismatch, enc);
        free(pg);
        ibc_space_free(sp);
    }
    ibc_scratch_free(sc);
}

static void test_wrong_key_is_a_key_mismatch(void)
{
    for_each_tier(wrong_key);
}

/* ibc_is_zero (the padding of page_compressed pages, zero pages): one non-zero byte at every
 * position of every length up to 300, at every alignment, is seen, and all-zero is zero */
/* Page 0 of a MySQL 8.0 tablespace (FSP flags 0x6021: POST_ANTELOPE, ATOMIC_BLOBS, ENCRYPTION,
 * SDI, as a real encrypted one has, format sheet mysql.md 3.1) is named as MySQL's, with its
 * MySQL-only flags, and as possibly MariaDB 10.1.0-10.1.20's where those could read so (there
 * 0x6021 is a 4K page size, fsp_flags_convert_from_101); other flags MariaDB rejects keep the
 * generic message. */
static void test_mysql_page0_is_named(void)
{
    static const struct {
        uint32_t flags;
        const char *want;
    } c[] = {{0x6021, "a MySQL 5.7/8.0 or Percona Server tablespace (FSP flags 0x6021: "
                      "ENCRYPTION, SDI), or a MariaDB 10.1.0-10.1.20 one"},
             {0x4021, "(FSP flags 0x4021: SDI): ibdcrypt reads MariaDB's formats only"},
             {0x0821, "(FSP flags 0x821: SHARED), or a MariaDB 10.1.0-10.1.20 one"},
             {0x1821, "(FSP flags 0x1821: SHARED, TEMPORARY): ibdcrypt reads MariaDB's"},
             {0x8021, "not an InnoDB tablespace: FSP flags 0x8021: legacy flags with reserved"},
             {0x40000, "not an InnoDB tablespace: FSP flags 0x40000: legacy flags with unknown"}};
    uint8_t p0[IBC_PAGE0_PREFIX] = {0};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        char err[256] = "";
        uint32_t ps = 0;
        put_be32(p0 + FSP_HEADER_OFFSET + FSP_SPACE_FLAGS, c[i].flags);
        TU_CHECK(ibc_page0_size(p0, sizeof(p0), &ps, err, sizeof(err)) == IBC_ERR_FORMAT,
                 "flags 0x%x accepted", c[i].flags);
        TU_CHECK(strstr(err, c[i].want) != NULL, "flags 0x%x: \"%s\", want \"%s\"", c[i].flags,
                 err, c[i].want);
    }
    /* MariaDB's own flags still open */
    uint32_t ps = 0;
    char err[256] = "";
    put_be32(p0 + FSP_HEADER_OFFSET + FSP_SPACE_FLAGS, 0x15); /* full_crc32, 16K */
    TU_CHECK(ibc_page0_size(p0, sizeof(p0), &ps, err, sizeof(err)) == IBC_OK && ps == 16384,
             "full_crc32 16K flags: %s", err);
}

static void test_is_zero(void)
{
    uint8_t buf[320 + 16];
    memset(buf, 0, sizeof(buf));
    for (size_t al = 0; al < 16; al++)
        for (size_t n = 0; n <= 300; n++) {
            uint8_t *p = buf + al;
            TU_CHECK(ibc_is_zero(p, n), "zeros of length %zu at %zu", n, al);
            for (size_t i = 0; i < n; i++) {
                p[i] = (uint8_t)(1u << (i % 8));
                TU_CHECK(!ibc_is_zero(p, n), "byte %zu of %zu (at %zu) missed", i, n, al);
                p[i] = 0;
            }
            buf[al + n] = 0xff; /* a byte past the end changes nothing */
            TU_CHECK(ibc_is_zero(p, n), "byte past %zu read", n);
            buf[al + n] = 0;
        }
}

TU_TESTS(TU_T(test_is_zero), TU_T(test_real_pages_verify_and_deep_verify),
         TU_T(test_decompressor_buffers_are_wiped), TU_T(test_mysql_page0_is_named),
         TU_T(test_fast_paths_equal_reference_path),
         TU_T(test_decrypt_encrypt_and_rekey_roundtrips_are_bit_exact),
         TU_T(test_rewrap_changes_only_page0_and_opens_with_new_keys),
         TU_T(test_tampered_pages_are_caught), TU_T(test_rekey_checked_skips_only_the_decompression),
         TU_T(test_wrong_key_is_a_key_mismatch))
