/*
 * redo_bench.c - throughput of the redo log passes on real logs, against page re-keying as
 * the reference (issue 6: "re-keying the log runs at least at the page rekey throughput per
 * byte"). A measurement tool, not a CTest test.
 *
 *   redo_bench [-n REPS] [-i ISA] [-o WHAT] [-c] CBC_LOG CTR_LOG CBC_PAGES CTR_PAGES
 *
 *   *_LOG    a directory with ib_logfile0, keys.txt (its key file) and keys-new.txt (the
 *            target keys), e.g. a real server's 1 GiB log killed with ~335 MiB of pending redo
 *   *_PAGES  a fixture directory (data/ibc/t_k1.ibd, keys/keys.txt, keys/keys-new.txt): its
 *            encrypted pages are replicated to as many bytes as the log's pending redo
 *   -n       repetitions (default 9); every number is the median
 *   -i       kernel tier (default: the best this CPU has)
 *   -o       run only some measurements (for profiling), a comma list of
 *            verify, deep, cbc, ctr, copy, pages (default: all)
 *   -c       time with the thread's CPU clock instead of the wall clock: steadier on a machine
 *            shared with other jobs (everything runs on the calling thread)
 *
 * Everything runs in one process, interleaved (one repetition measures each pass once, in
 * turn), so that the ratios hold on a machine shared with other jobs. Per log:
 *   verify   ibc_redo_verify(deep = 0): framing, sequence bits, one CRC-32C per mtr
 *   deep     ibc_redo_verify(deep = 1): + decryption and the record checks of recovery
 *   rekey    ibc_redo_rekey(REENCRYPT, same mode, fixed crypt_msg) without a write function
 *            (the pass alone), after the one untimed scan it needs
 *   +copy    the same into a copy of the image (the write function copies the chunks)
 *   pages    ibc_batch_run(IBC_OP_REKEY) in place, PAGE_BATCH pages per batch (as the CLI's
 *            datasets), A->B then B->A
 * Log throughput counts the pending LSN bytes (end - checkpoint); page throughput the page
 * bytes. After the first re-key into the copy, the copy must pass a deep verify under the new
 * keys, and a SHA-256 of its re-encrypted bytes is printed: it must not change between
 * versions of the engine (the output is deterministic for a fixed crypt_msg).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ibdcrypt/ibdcrypt.h"

#define MAX_REPS 101

#define PAGE_BATCH 64 /* a multiple of every tier's lanes (tools/dataset.c BATCH) */

enum { M_VERIFY = 1, M_DEEP = 2, M_CBC = 4, M_CTR = 8, M_COPY = 16, M_PAGES = 32 };

static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec t;
    clock_gettime(clock_id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "redo_bench: %s: %s\n", what, msg);
    exit(2);
}

static uint8_t *slurp(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        die(path, "cannot open");
    uint8_t *b = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (b && got < (size_t)st.st_size) {
        ssize_t k = read(fd, b + got, (size_t)st.st_size - got);
        if (k <= 0)
            die(path, "read failed");
        got += (size_t)k;
    }
    if (!b)
        die(path, "out of memory");
    close(fd);
    *n = (size_t)st.st_size;
    return b;
}

static ibc_keyring *keys(const char *dir, const char *name)
{
    char path[4096], err[512];
    ibc_keyring *kr;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (ibc_keyring_load(path, NULL, &kr, err, sizeof(err)) != IBC_OK)
        die(path, err);
    return kr;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

static int copy_out(void *ctx, uint64_t off, const uint8_t *d, size_t n)
{
    memcpy((uint8_t *)ctx + off, d, n);
    return 0;
}

/* One log: the image, its handle (scanned), a re-encryption target, a copy for the output. */
typedef struct bench_log {
    const char *dir;
    uint8_t *img, *copy;
    size_t len;
    ibc_redo *r;
    ibc_redo_target *t;
    ibc_keyring *kr_new;
    ibc_redo_info info;
    double tv[MAX_REPS], td[MAX_REPS], tr[MAX_REPS], tc[MAX_REPS];
} bench_log;

static const uint8_t fixed_msg[16] = "redo_bench msg!";

static void log_open(ibc_engine *e, bench_log *l, const char *dir)
{
    char path[4096], err[512];
    ibc_redo_result res;
    l->dir = dir;
    snprintf(path, sizeof(path), "%s/ib_logfile0", dir);
    l->img = slurp(path, &l->len);
    l->copy = malloc(l->len);
    if (!l->copy)
        die(path, "out of memory");
    memcpy(l->copy, l->img, l->len);
    ibc_keyring *kr = keys(dir, "keys.txt");
    l->kr_new = keys(dir, "keys-new.txt");
    if (ibc_redo_open_mem(e, l->img, l->len, path, &l->r, err, sizeof(err)) != IBC_OK ||
        ibc_redo_set_key(l->r, kr, IBC_ALGO_AUTO, err, sizeof(err)) != IBC_OK ||
        ibc_redo_verify(l->r, 0, &res, err, sizeof(err)) != IBC_OK ||
        ibc_redo_target_new(l->r, l->kr_new, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, fixed_msg, &l->t,
                            err, sizeof(err)) != IBC_OK)
        die(path, err);
    ibc_keyring_free(kr);
    ibc_redo_get_info(l->r, &l->info);
}

/* The copy after a re-key: a deep verify under the new keys, and a digest of [checkpoint, end)
 * as stored (wrapping round the ring) plus the header. */
static void log_check_copy(ibc_engine *e, bench_log *l)
{
    char err[512], hex[65];
    ibc_redo *r2;
    ibc_redo_result res;
    if (ibc_redo_open_mem(e, l->copy, l->len, l->dir, &r2, err, sizeof(err)) != IBC_OK ||
        ibc_redo_set_key(r2, l->kr_new, IBC_ALGO_AUTO, err, sizeof(err)) != IBC_OK ||
        ibc_redo_verify(r2, 1, &res, err, sizeof(err)) != IBC_OK)
        die("the re-keyed copy", err);
    if (res.bytes != l->info.pending_bytes || res.mtrs != l->info.mtrs)
        die("the re-keyed copy", "does not cover the pending redo of the original");
    ibc_redo_free(r2);
    uint8_t md[32];
    unsigned mdlen = 0;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    EVP_DigestUpdate(h, l->copy, 512);
    uint64_t cap = l->info.capacity, first = l->info.first_lsn;
    for (uint64_t a = l->info.checkpoint_lsn, b = l->info.end_lsn; a < b;) {
        uint64_t off = 12288 + (a - first) % cap;
        uint64_t n = b - a < l->len - off ? b - a : l->len - off;
        EVP_DigestUpdate(h, l->copy + off, (size_t)n);
        a += n;
    }
    EVP_DigestFinal_ex(h, md, &mdlen);
    EVP_MD_CTX_free(h);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    printf("  %s: re-keyed copy deep-verifies under the new keys; sha256 %s\n", l->dir, hex);
}

/* The pages of a fixture, replicated to `bytes` and paired with their re-keyed twin space. */
typedef struct bench_pages {
    ibc_space *s, *s2;
    ibc_page *pg;
    uint8_t *pool;
    size_t n;
    uint32_t ps;
    double tp[MAX_REPS];
} bench_pages;

static void pages_open(ibc_engine *e, bench_pages *b, const char *dir, double bytes)
{
    char path[4096], err[512];
    size_t fn, stride;
    snprintf(path, sizeof(path), "%s/data/ibc/t_k1.ibd", dir);
    uint8_t *ibd = slurp(path, &fn);
    ibc_keyring *kr = keys(dir, "keys/keys.txt"), *kr2 = keys(dir, "keys/keys-new.txt");
    ibc_space_info si;
    if (ibc_space_open(e, ibd, fn, &b->s, err, sizeof(err)) != IBC_OK)
        die(path, err);
    if (ibc_space_set_key(b->s, kr, IBC_ALGO_AUTO) != IBC_OK)
        die(path, "no key");
    ibc_space_get_info(b->s, &si);
    b->ps = si.page_size;
    size_t np = fn / b->ps, nenc = 0;
    uint32_t *enc = malloc(np * sizeof(*enc));
    for (uint32_t i = 1; enc && i < np; i++)
        if (ibc_space_check_key(b->s, ibd + (size_t)i * b->ps, i) == IBC_OK)
            enc[nenc++] = i;
    if (!nenc || ibc_space_derive(b->s, kr2, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, NULL, &b->s2))
        die(path, "no encrypted page, or no target keys");
    ibc_space_get_info(b->s, &si);
    if (si.format != IBC_FORMAT_FULL_CRC32)
        die(path, "not a full_crc32 tablespace");
    b->n = ((size_t)(bytes / b->ps) + PAGE_BATCH - 1) / PAGE_BATCH * PAGE_BATCH;
    b->pool = ibc_pages_alloc(b->ps, b->n, &stride);
    b->pg = calloc(b->n, sizeof(*b->pg));
    if (!b->pool || !b->pg)
        die(path, "out of memory");
    for (size_t i = 0; i < b->n; i++) {
        uint32_t no = enc[i % nenc];
        memcpy(b->pool + i * stride, ibd + (size_t)no * b->ps, b->ps);
        b->pg[i].src = b->pg[i].dst = b->pool + i * stride;
        b->pg[i].page_no = no;
    }
    printf("  %s: %s, %u-byte pages, %zu distinct encrypted, %zu in the pool (%.1f MiB)\n",
           path, si.algorithm == IBC_ALGO_CBC ? "AES_CBC" : "AES_CTR", b->ps, nenc, b->n,
           (double)b->n * b->ps / 1048576.0);
    free(enc);
    free(ibd);
    ibc_keyring_free(kr);
    ibc_keyring_free(kr2);
}

static int pages_run(bench_pages *b, int rep, ibc_scratch *sc)
{
    const ibc_space *from = rep & 1 ? b->s2 : b->s, *to = rep & 1 ? b->s : b->s2;
    int bad = 0;
    for (size_t i = 0; i < b->n; i += PAGE_BATCH)
        bad |= ibc_batch_run(from, to, IBC_OP_REKEY, b->pg + i, PAGE_BATCH, sc) != IBC_OK;
    for (size_t i = 0; i < b->n; i++)
        bad |= b->pg[i].status != IBC_PAGE_OK;
    return bad;
}

static unsigned parse_only(const char *s)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"verify", M_VERIFY}, {"deep", M_DEEP}, {"cbc", M_CBC},
                 {"ctr", M_CTR},       {"copy", M_COPY}, {"pages", M_PAGES}};
    unsigned m = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < sizeof(names) / sizeof(names[0]) && strcmp(names[i].name, w))
            i++;
        if (i == sizeof(names) / sizeof(names[0]))
            die("-o", "unknown measurement (verify, deep, cbc, ctr, copy, pages)");
        m |= names[i].bit;
    }
    return m;
}

int main(int argc, char **argv)
{
    int reps = 9, opt;
    const char *isa = NULL;
    unsigned only = M_VERIFY | M_DEEP | M_CBC | M_CTR | M_COPY | M_PAGES;
    while ((opt = getopt(argc, argv, "n:i:o:c")) != -1) {
        if (opt == 'n')
            reps = atoi(optarg);
        else if (opt == 'i')
            isa = optarg;
        else if (opt == 'o')
            only = parse_only(optarg);
        else if (opt == 'c')
            clock_id = CLOCK_THREAD_CPUTIME_ID;
        else
            return 2;
    }
    if (argc - optind != 4 || reps < 1 || reps > MAX_REPS) {
        fprintf(stderr, "usage: redo_bench [-n REPS (1..%d)] [-i ISA] [-o WHAT] [-c] CBC_LOG "
                        "CTR_LOG CBC_PAGES CTR_PAGES\n",
                MAX_REPS);
        return 2;
    }
    ibc_engine *e;
    if (ibc_engine_new(isa, &e) != IBC_OK)
        die("engine", isa ? isa : "auto");
    static bench_log logs[2];
    static bench_pages pages[2];
    const char *algo[2] = {"CBC", "CTR"};
    printf("redo_bench: tier %s, %d repetitions (median), %s clock\n", ibc_engine_isa(e), reps,
           clock_id == CLOCK_MONOTONIC ? "wall" : "thread CPU");
    for (int a = 0; a < 2; a++) {
        bench_log *l = &logs[a];
        log_open(e, l, argv[optind + a]);
        ibc_redo_info *in = &l->info;
        if (in->algorithm != (a ? IBC_ALGO_CTR : IBC_ALGO_CBC))
            die(l->dir, a ? "not an AES_CTR log" : "not an AES_CBC log");
        printf("  %s: %s AES_%s, %zu MiB file, %.1f MiB pending, %llu mtrs (%.1f B/mtr)\n",
               l->dir, ibc_redo_format_name(in->format), algo[a], l->len >> 20,
               (double)in->pending_bytes / 1048576.0, (unsigned long long)in->mtrs,
               (double)in->pending_bytes / (double)in->mtrs);
        pages_open(e, &pages[a], argv[optind + 2 + a], (double)in->pending_bytes);
    }
    ibc_scratch *sc = ibc_scratch_new();
    char err[512];
    ibc_redo_result res;
    int bad = 0;
    for (int k = 0; k < reps; k++) {
        for (int a = 0; a < 2; a++) {
            bench_log *l = &logs[a];
            unsigned rk = a ? M_CTR : M_CBC;
            double t0 = now();
            if (only & M_VERIFY)
                bad |= ibc_redo_verify(l->r, 0, &res, err, sizeof(err)) != IBC_OK;
            double t1 = now();
            if (only & M_DEEP)
                bad |= ibc_redo_verify(l->r, 1, &res, err, sizeof(err)) != IBC_OK;
            double t2 = now();
            if (only & rk)
                bad |= ibc_redo_rekey(l->r, l->t, NULL, NULL, &res, err, sizeof(err)) != IBC_OK;
            double t3 = now();
            if ((only & rk) && (only & M_COPY))
                bad |= ibc_redo_rekey(l->r, l->t, copy_out, l->copy, &res, err, sizeof(err)) !=
                       IBC_OK;
            double t4 = now();
            if (only & M_PAGES)
                bad |= pages_run(&pages[a], k, sc);
            double t5 = now();
            if (bad) {
                fprintf(stderr, "redo_bench: %s: a run failed: %s\n", l->dir, err);
                return 1;
            }
            l->tv[k] = t1 - t0;
            l->td[k] = t2 - t1;
            l->tr[k] = t3 - t2;
            l->tc[k] = t4 - t3;
            pages[a].tp[k] = t5 - t4;
            if (k == 0 && (only & rk) && (only & M_COPY))
                log_check_copy(e, l);
        }
    }
    printf("GB/s (median of %d)   verify   deep  rekey  +copy  pages | rekey/pages  +copy/pages  "
           "verify/pages  deep/pages\n",
           reps);
    for (int a = 0; a < 2; a++) {
        bench_log *l = &logs[a];
        double pend = (double)l->info.pending_bytes;
        double pb = (double)pages[a].n * pages[a].ps;
        double gv = pend / median(l->tv, reps) / 1e9, gd = pend / median(l->td, reps) / 1e9;
        double gr = pend / median(l->tr, reps) / 1e9, gc = pend / median(l->tc, reps) / 1e9;
        double gp = pb / median(pages[a].tp, reps) / 1e9;
        printf("AES_%s             %7.2f %6.2f %6.2f %6.2f %6.2f | %11.2f  %11.2f  %12.2f  %10.2f\n",
               algo[a], gv, gd, gr, gc, gp, gr / gp, gc / gp, gv / gp, gd / gp);
    }
    for (int a = 0; a < 2; a++) {
        ibc_redo_target_free(logs[a].t);
        ibc_redo_free(logs[a].r);
        ibc_keyring_free(logs[a].kr_new);
        free(logs[a].img);
        free(logs[a].copy);
        ibc_space_free(pages[a].s);
        ibc_space_free(pages[a].s2);
        ibc_pages_free(pages[a].pool);
        free(pages[a].pg);
    }
    ibc_scratch_free(sc);
    ibc_engine_free(e);
    return 0;
}
