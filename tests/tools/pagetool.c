/*
 * pagetool.c - a test helper over the engine's page API, for the real-server tests:
 *
 *   pagetool roundtrip KEYS FILE...            decrypt every page, encrypt it again, and
 *                                              compare with the file: exit 1 on any difference
 *   pagetool rekey OLDKEYS NEWKEYS MODE FILE...
 *                                              re-key files in place (MODE reencrypt|rewrap),
 *                                              page 0 last; exit 1 if a page is not sound
 *   pagetool flip FILE PAGE OFFSET [reseal]    flip the low bit of one byte; with "reseal",
 *                                              recompute the page's on-disk checksum as a
 *                                              "checksum fixer" would
 *   pagetool crc32c FILE...                    print each file's CRC-32C by the reference
 *   pagetool fsp-size FILE...                  set FSP_SIZE in page 0 to the pages the file
 *                                              holds, and page 0's checksum to match (for
 *                                              samples cut from longer files)
 *
 * Not a user tool: ibdcrypt's commands (verify, prepare, rekey) are. This drives the engine
 * directly so the tests can check it without the front-end machinery.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checksum.h"
#include "format.h"
#include "ibdcrypt/ibdcrypt.h"
#include "ref.h"
#include "space.h"

static ibc_engine *engine;

static uint8_t *slurp(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        perror(path);
        exit(3);
    }
    uint8_t *b = malloc((size_t)st.st_size + 1);
    if (!b || read(fd, b, (size_t)st.st_size) != st.st_size) {
        perror(path);
        exit(3);
    }
    close(fd);
    *n = (size_t)st.st_size;
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t n)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, b, n) != (ssize_t)n || fsync(fd)) {
        perror(path);
        exit(3);
    }
    close(fd);
}

static ibc_keyring *keys(const char *path)
{
    char err[256];
    ibc_keyring *kr = NULL;
    if (ibc_keyring_load(path, NULL, &kr, err, sizeof(err)) != IBC_OK) {
        fprintf(stderr, "%s\n", err);
        exit(3);
    }
    return kr;
}

/* Open a file's space with keys; settle the algorithm. NULL when not encrypted. */
static ibc_space *open_space(const char *path, const uint8_t *b, size_t n, ibc_keyring *kr)
{
    char err[256];
    ibc_space *s = NULL;
    if (ibc_space_open(engine, b, n, &s, err, sizeof(err)) != IBC_OK) {
        fprintf(stderr, "%s: %s\n", path, err);
        exit(1);
    }
    ibc_space_info info;
    ibc_space_get_info(s, &info);
    if (info.space_id == 0 && n >= 6ull * info.page_size)
        ibc_space_read_trx_sys(s, b + 5 * info.page_size, info.page_size);
    if (!info.has_crypt_data || info.crypt_scheme != 1) {
        ibc_space_free(s);
        return NULL;
    }
    if (ibc_space_set_key(s, kr, IBC_ALGO_AUTO) != IBC_OK) {
        fprintf(stderr, "%s: key id %u missing\n", path, info.key_id);
        exit(3);
    }
    for (size_t p = 1; p < n / info.page_size; p++) {
        ibc_status st = ibc_space_check_key(s, b + p * info.page_size, (uint32_t)p);
        if (st == IBC_OK)
            break;
        if (st == IBC_ERR_KEY_MISMATCH) {
            fprintf(stderr, "%s: key mismatch\n", path);
            exit(1);
        }
    }
    return s;
}

static ibc_page *pages(const ibc_space *s, const uint8_t *src, uint8_t *dst, size_t n)
{
    ibc_space_info info;
    ibc_space_get_info(s, &info);
    size_t np = n / info.page_size;
    ibc_page *pg = calloc(np ? np : 1, sizeof(*pg));
    for (size_t i = 0; i < np; i++)
        pg[i] = (ibc_page){.src = src + i * info.page_size,
                           .dst = dst ? dst + i * info.page_size : NULL,
                           .page_no = (uint32_t)i};
    return pg;
}

static int sound(const ibc_page *pg, size_t np, const char *path, const char *what)
{
    for (size_t i = 0; i < np; i++)
        if (pg[i].status != IBC_PAGE_OK && pg[i].status != IBC_PAGE_PLAIN &&
            pg[i].status != IBC_PAGE_ZERO && pg[i].status != IBC_PAGE_DOUBLEWRITE) {
            fprintf(stderr, "%s: %s: page %zu: %s\n", path, what, i,
                    ibc_page_status_name(pg[i].status));
            return 0;
        }
    return 1;
}

static int roundtrip(const char *kf, int argc, char **argv)
{
    ibc_keyring *kr = keys(kf);
    ibc_scratch *sc = ibc_scratch_new();
    int rc = 0;
    for (int a = 0; a < argc; a++) {
        size_t n;
        uint8_t *b = slurp(argv[a], &n);
        ibc_space *s = open_space(argv[a], b, n, kr);
        if (!s) {
            free(b);
            continue;
        }
        ibc_space_info info;
        ibc_space_get_info(s, &info);
        size_t np = n / info.page_size;
        uint8_t *plain = malloc(n), *back = malloc(n);
        memcpy(back, b, n); /* trailing partial page, if any */
        int bad = 0;
        ibc_page *pg = pages(s, b, plain, n);
        ibc_batch_run(s, NULL, IBC_OP_DECRYPT, pg, np, sc);
        if (!sound(pg, np, argv[a], "decrypt"))
            bad = 1;
        /* encrypt again only what was encrypted: the key rotation skips free and freed pages
         * (fil0crypt.cc fil_crypt_get_page_throttle, fil_crypt_rotate_page), so a page left
         * plain in an encrypted tablespace stays so, as it does in a re-key (seen: an undo
         * page of ibdata1, 64K pages) */
        ibc_page *enc = pages(s, plain, back, n);
        size_t ne = 0;
        for (size_t i = 0; i < np; i++)
            if (pg[i].status == IBC_PAGE_OK)
                enc[ne++] = enc[i];
        ibc_batch_run(s, NULL, IBC_OP_ENCRYPT, enc, ne, sc);
        free(enc);
        free(pg);
        for (size_t p = 0; p < np; p++)
            if (memcmp(back + p * info.page_size, b + p * info.page_size, info.page_size)) {
                size_t i = 0;
                while (back[p * info.page_size + i] == b[p * info.page_size + i])
                    i++;
                fprintf(stderr, "%s: page %zu (type %u) differs after decrypt + encrypt at byte %zu\n",
                        argv[a], p, be16(b + p * info.page_size + 24), i);
                bad = 1;
                break;
            }
        rc |= bad;
        printf("%s: %zu pages (%zu encrypted) round-tripped%s\n", argv[a], np, ne,
               bad ? " WITH DIFFERENCES" : "");
        free(plain);
        free(back);
        free(b);
        ibc_space_free(s);
    }
    ibc_scratch_free(sc);
    ibc_keyring_free(kr);
    return rc;
}

static int rekey(const char *okf, const char *nkf, const char *mode, int argc, char **argv)
{
    ibc_keyring *ok = keys(okf), *nk = keys(nkf);
    ibc_scratch *sc = ibc_scratch_new();
    ibc_rekey_mode m = !strcmp(mode, "rewrap") ? IBC_REKEY_REWRAP : IBC_REKEY_REENCRYPT;
    int rc = 0;
    for (int a = 0; a < argc; a++) {
        size_t n;
        uint8_t *b = slurp(argv[a], &n);
        ibc_space *s = open_space(argv[a], b, n, ok), *t = NULL;
        if (!s) {
            free(b);
            continue;
        }
        ibc_space_info info;
        ibc_space_get_info(s, &info);
        size_t np = n / info.page_size;
        if (ibc_space_derive(s, nk, m, IBC_ALGO_AUTO, NULL, &t) != IBC_OK) {
            fprintf(stderr, "%s: new key id %u missing\n", argv[a], info.key_id);
            return 3;
        }
        if (m == IBC_REKEY_REENCRYPT) {
            ibc_page *pg = pages(s, b, b, n);
            ibc_batch_run(s, t, IBC_OP_REKEY, pg, np, sc);
            int ok_pages = sound(pg, np, argv[a], "rekey");
            free(pg);
            if (!ok_pages) {
                rc = 1;
                free(b);
                ibc_space_free(t);
                ibc_space_free(s);
                continue; /* nothing written */
            }
        }
        ibc_space_write_page0(t, b);
        spit(argv[a], b, n);
        printf("%s: %s to the new keys\n", argv[a], m == IBC_REKEY_REWRAP ? "rewrapped" : "re-encrypted");
        free(b);
        ibc_space_free(t);
        ibc_space_free(s);
    }
    ibc_scratch_free(sc);
    ibc_keyring_free(ok);
    ibc_keyring_free(nk);
    return rc;
}

static int flip(const char *path, long page, long off, int reseal)
{
    size_t n;
    uint8_t *b = slurp(path, &n);
    char err[256];
    uint32_t ps;
    if (ibc_page0_size(b, n, &ps, err, sizeof(err)) != IBC_OK) {
        fprintf(stderr, "%s: %s\n", path, err);
        return 3;
    }
    if ((size_t)(page + 1) * ps > n || off < 0 || (uint32_t)off >= ps) {
        fprintf(stderr, "%s: no byte %ld of page %ld\n", path, off, page);
        return 2;
    }
    uint8_t *p = b + (size_t)page * ps;
    p[off] ^= 1;
    if (reseal) {
        ibc_space *s = NULL;
        ibc_space_open(engine, b, n, &s, err, sizeof(err));
        if (!s) {
            fprintf(stderr, "%s: %s\n", path, err);
            return 3;
        }
        if (s->g.full_crc32) {
            int c;
            uint32_t size = ibc_fcrc32_size(p, ps, &c);
            put_be32(p + size - 4, s->k->crc32c(0, p, size - 4));
        } else {
            put_be32(p + 30, ibc_legacy_crypt_checksum(s->k, p, ps, s->g.zip));
        }
        ibc_space_free(s);
    }
    spit(path, b, n);
    free(b);
    return 0;
}

/* The CRC-32C of each whole file by the reference (ISA-L, or bitwise), not the engine: the
 * oracle for the per-file checksums of a backup manifest. */
static int crc32c_files(int n, char **paths)
{
    for (int i = 0; i < n; i++) {
        size_t len;
        uint8_t *b = slurp(paths[i], &len);
        printf("%08x %s\n", ref_crc32c(0, b, len), paths[i]);
        free(b);
    }
    return 0;
}

/* FSP_SIZE (fsp0fsp.h, FSP_HEADER_OFFSET + FSP_SIZE) := the whole pages of the file; page
 * 0's on-disk checksum recomputed as the server writes it (buf_flush_init_for_writing). */
static int fsp_size(const char *path)
{
    size_t n;
    uint8_t *b = slurp(path, &n);
    char err[256];
    ibc_space *s = NULL;
    if (ibc_space_open(engine, b, n, &s, err, sizeof(err)) != IBC_OK) {
        fprintf(stderr, "%s: %s\n", path, err);
        return 3;
    }
    uint32_t ps = s->g.physical;
    put_be32(b + FSP_HEADER_OFFSET + FSP_SIZE, (uint32_t)(n / ps));
    if (s->g.full_crc32)
        put_be32(b + ps - 4, s->k->crc32c(0, b, ps - 4));
    else
        ibc_legacy_write_checksum(s->k, b, ps, s->g.zip);
    ibc_space_free(s);
    s = NULL;
    if (ibc_space_open(engine, b, n, &s, err, sizeof(err)) != IBC_OK) {
        fprintf(stderr, "%s: page 0 after the change: %s\n", path, err);
        return 1;
    }
    ibc_space_free(s);
    spit(path, b, n);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    ibc_engine_new(NULL, &engine);
    if (argc >= 4 && !strcmp(argv[1], "roundtrip"))
        return roundtrip(argv[2], argc - 3, argv + 3);
    if (argc >= 6 && !strcmp(argv[1], "rekey"))
        return rekey(argv[2], argv[3], argv[4], argc - 5, argv + 5);
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "flip"))
        return flip(argv[2], atol(argv[3]), atol(argv[4]), argc == 6);
    if (argc >= 3 && !strcmp(argv[1], "crc32c"))
        return crc32c_files(argc - 2, argv + 2);
    if (argc >= 3 && !strcmp(argv[1], "fsp-size")) {
        int rc = 0;
        for (int i = 2; i < argc && !rc; i++)
            rc = fsp_size(argv[i]);
        return rc;
    }
    fprintf(stderr, "usage: pagetool roundtrip KEYS FILE... | rekey OLD NEW MODE FILE... | "
                    "flip FILE PAGE OFFSET [reseal] | crc32c FILE... | fsp-size FILE...\n");
    return 2;
}
