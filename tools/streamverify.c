/*
 * streamverify.c - verify --stream=xbstream: check a backup as an xbstream read from stdin,
 * without extracting it: the stream `ibdcrypt backup --stream=xbstream` writes (with its
 * manifest last) or the one `mariadb-backup --backup --stream=xbstream` writes (its files'
 * chunks interleaved by its copy threads), e.g. straight from object storage.
 *
 * Every chunk's own checksum (the CRC-32 xbstream carries) is checked as it is parsed; each
 * file's chunks must follow each other without a gap and end with its end-of-file chunk. The
 * pages of the InnoDB files (ibdata1, undo tablespaces, .ibd) go through the same page work as
 * a verify of a directory (ds_work_pages: checksums, with --deep decryption and the plaintext
 * checks), as their bytes arrive; a tablespace shorter than its page 0 records is an error as
 * there. The redo log (up to 256 MiB, held in memory) is checked as verify checks
 * ib_logfile0; with --deep and keys, so are the Aria tables encrypted with key id 1, their
 * .MAD and .MAI held until both came (the IV is in the .MAI's header; ibdcrypt's stream brings
 * the .MAD first). When the stream carries ibdcrypt's manifest, every file it lists must have
 * come, of the size and whole-file CRC-32C it records. Not checked in a stream: a larger redo
 * log or Aria table, the events of binary logs, and system tablespace files after ibdata1
 * (extract them).
 *
 * The stream is read and parsed in order on the calling thread; the page work of whole pages
 * goes to --threads workers (copies of up to SV_JOB_BYTES of one file's pages, SV_JOBS of them
 * in flight: the memory stays bounded), once the first encrypted pages of the file settled its
 * key and cipher on the calling thread (that mutates the space; the page work only reads it).
 * With one thread, or for those first pages, the page work runs on the calling thread.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ibdcrypt/xbstream.h"
#include "deepcheck.h"
#include "manifest.h"
#include "streamverify.h"

#define MAX_CHUNK (512u << 20) /* a chunk larger than this is refused (writers use ~10 MiB) */
#define MAX_REDO  (256u << 20) /* a redo log held in memory to be checked; a larger one is not */
#define MAX_ARIA  (256u << 20) /* so is each file of an Aria table (the mysql.* ones are small) */
#define MAX_ARIA_ALL (1024u << 20) /* and all of them held at once */
#define KEY_TRIES 8

#define SV_JOB_BYTES (1u << 20)
#define SV_JOBS_PER_WORKER 4

typedef struct sv_file sv_file;

/* Pages of one file copied for a worker. */
typedef struct sv_job {
    sv_file *x;
    uint64_t first; /* page number of the first */
    size_t n;
    uint8_t *buf;   /* SV_JOB_BYTES */
} sv_job;

/* The workers: a ring of queued jobs and a stack of free buffers, under one lock. */
typedef struct sv_workers {
    unsigned n;
    pthread_t *th;
    pthread_mutex_t m;
    pthread_cond_t work, room;
    sv_job *ring;
    size_t cap, head, count;
    uint8_t **free_buf;
    size_t nfree;
    int stop;
} sv_workers;

typedef struct sv_file {
    df_file f;      /* path = rel = the name in the stream; size: the bytes so far */
    ds_file d;      /* the page work's view of it (fd -1: nothing to read again) */
    uint32_t crc;   /* CRC-32C of its bytes so far */
    uint8_t *carry; /* InnoDB files: bytes not yet a whole page (or page 0 not yet parsed) */
    size_t ncarry, capcarry;
    uint64_t pages; /* whole pages handed to the page work */
    /* ib_logfile0 (up to MAX_REDO), or with --deep and keys a file of an Aria table (up to
     * MAX_ARIA): its bytes, held to check it at its end (an Aria table's pages need the IV in
     * its .MAI header, which may come after its .MAD) */
    uint8_t *held;
    size_t nheld, capheld;
    char aria;      /* 'I' its .MAI, 'D' its .MAD, held; 0 */
    int ended, failed, key_tries;
    struct sv_file *next;   /* in stream order */
    struct sv_file *bucket; /* the next of its hash bucket */
} sv_file;

#define BUCKETS 65536

typedef struct sv {
    dataset ds; /* the page work's context: engine, keys, op, scratch, report */
    sv_file *head, **tail;
    sv_file *bucket[BUCKETS]; /* by name (FNV-1a): a stream of a million chunks over a
                               * hundred thousand files */
    size_t nfiles;
    size_t nqp; /* InnoDB files compressed by mariadb-backup --compress */
    char *mf;   /* the manifest's bytes, when the stream carries one */
    size_t nmf, capmf;
    int have_mf;
    uint64_t aria_held; /* bytes of Aria tables' files held (at most MAX_ARIA_ALL) */
    sv_workers w;       /* w.n == 0: the page work on the calling thread */
} sv;

static int is_innodb(const sv_file *x)
{
    return x->f.kind == DF_TABLESPACE || x->f.kind == DF_UNDO ||
           (x->f.kind == DF_SYSTEM && x->f.sys_no == 1);
}

static unsigned hash(const char *p)
{
    uint32_t h = 2166136261u;
    for (; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h % BUCKETS;
}

static sv_file *find_file(sv *s, const char *path)
{
    for (sv_file *x = s->bucket[hash(path)]; x; x = x->bucket)
        if (!strcmp(x->f.rel, path))
            return x;
    return NULL;
}

static sv_file *file_of(sv *s, const char *path)
{
    sv_file *x = find_file(s, path);
    if (x)
        return x;
    unsigned b = hash(path);
    x = calloc(1, sizeof(*x));
    char *p = x ? strdup(path) : NULL;
    if (!p) {
        free(x);
        return NULL;
    }
    x->f.path = x->f.rel = p;
    const char *base = strrchr(p, '/');
    x->f.kind = df_classify(base ? base + 1 : p, &x->f.sys_no);
    x->d.f = &x->f;
    x->d.fd = -1;
    x->d.unit = 1;
    x->d.innodb = is_innodb(x);
    x->d.rf = report_file(s->ds.rep, &x->f);
    size_t l = strlen(p);
    if ((s->ds.flags & DS_DEEP) && s->ds.keys->kr && x->f.kind == DF_OTHER && l > 4 &&
        (!strcmp(p + l - 4, ".MAI") || !strcmp(p + l - 4, ".MAD")))
        x->aria = p[l - 1];
    *s->tail = x;
    s->tail = &x->next;
    x->bucket = s->bucket[b];
    s->bucket[b] = x;
    s->nfiles++;
    if (df_compressed_innodb(base ? base + 1 : p)) {
        s->nqp++;
        rep_note(x->d.rf, "compressed by mariadb-backup --compress: its pages are not checked "
                          "(extract and decompress it, then verify it)");
    }

    if (x->f.kind == DF_SYSTEM && x->f.sys_no > 1)
        rep_note(x->d.rf, "a system tablespace file after ibdata1: its pages are not checked in a "
                          "stream (extract it, then verify it)");
    return x;
}

static int append(uint8_t **buf, size_t *n, size_t *cap, const uint8_t *p, size_t len)
{
    if (!len)
        return 0;
    if (*n + len > *cap) {
        size_t c = *cap ? *cap : 65536;
        while (c < *n + len)
            c *= 2;
        uint8_t *b = realloc(*buf, c);
        if (!b)
            return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *n, p, len);
    *n += len;
    return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Page 0 of x is in its carry (the first pages, whole; `last`: nothing more will come). 1 when
 * the space is open (or the file is given up), 0 when more bytes are needed first. */
static int open_space(sv *s, sv_file *x, int last)
{
    char err[256];
    uint32_t ps;
    if (x->ncarry < IBC_PAGE0_PREFIX && !last)
        return 0;
    if (x->ncarry < IBC_PAGE0_PREFIX ||
        ibc_page0_size(x->carry, x->ncarry, &ps, err, sizeof(err)) != IBC_OK) {
        if (x->ncarry >= IBC_PAGE0_PREFIX && all_zero(x->carry, IBC_PAGE0_PREFIX)) {
            x->d.rf->uninitialized = 1;
            rep_note(x->d.rf, "page 0 is all zero: the file was created but never flushed; crash "
                              "recovery initializes it from the redo log");
        } else {
            rep_error(x->d.rf, "page 0: %s",
                      x->ncarry < IBC_PAGE0_PREFIX ? "the file ends before it" : err);
        }
        x->failed = 1;
        return 1;
    }
    /* the system tablespace's doublewrite location is on page 5 (TRX_SYS) */
    size_t want = x->f.kind == DF_SYSTEM ? 6 * (size_t)ps : ps;
    if (x->ncarry < want && !last)
        return 0;
    if (x->ncarry < ps) {
        rep_error(x->d.rf, "page 0: file shorter than its page size %u", ps);
        x->failed = 1;
        return 1;
    }
    if (ibc_space_open(s->ds.e, x->carry, ps, &x->d.space, err, sizeof(err)) != IBC_OK) {
        rep_error(x->d.rf, "page 0: %s", err);
        x->failed = 1;
        return 1;
    }
    x->d.space_owned = 1;
    x->d.unit = ps;
    ibc_space_info info;
    ibc_space_get_info(x->d.space, &info);
    if (info.space_id == 0 && x->ncarry >= 6 * (size_t)ps &&
        ibc_space_read_trx_sys(x->d.space, x->carry + 5 * (size_t)ps, ps) != IBC_OK)
        rep_note(x->d.rf, "no doublewrite buffer in the TRX_SYS page; using the default location");
    if (info.has_crypt_data && s->ds.keys->kr) {
        ibc_status st = ibc_space_set_key(x->d.space, s->ds.keys->kr, s->ds.keys->algo);
        if (st == IBC_ERR_KEY_MISSING) {
            x->d.rf->key_state = REP_KEY_MISSING;
        } else if (st == IBC_OK && info.crypt_scheme == 1) {
            x->d.rf->key_state = REP_KEY_UNPROVEN;
            x->key_tries = KEY_TRIES;
        }
    } else if (info.has_crypt_data && info.crypt_scheme == 1 && (s->ds.flags & DS_DEEP)) {
        x->d.rf->key_state = REP_KEY_NONE;
    }
    rep_space(x->d.rf, x->d.space);
    return 1;
}

/* ---- the workers ---------------------------------------------------------------------------- */

typedef struct sv_warg {
    sv *s;
    unsigned w;
} sv_warg;

static void page_work(sv *s, unsigned worker, sv_file *x, uint64_t first, uint8_t *p, size_t n)
{
    uint32_t ps = x->d.unit;
    ibc_pool_item it = {.offset = first * ps, .len = n * ps, .nunits = n, .stride = ps};
    ds_work_pages(&s->ds, worker, &x->d, &it, p, NULL, NULL);
}

static void *worker_main(void *arg)
{
    sv_warg *a = arg;
    sv_workers *w = &a->s->w;
    pthread_mutex_lock(&w->m);
    for (;;) {
        while (!w->count && !w->stop)
            pthread_cond_wait(&w->work, &w->m);
        if (!w->count)
            break; /* stopped, and nothing left */
        sv_job j = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
        pthread_mutex_unlock(&w->m);
        page_work(a->s, a->w, j.x, j.first, j.buf, j.n);
        pthread_mutex_lock(&w->m);
        w->free_buf[w->nfree++] = j.buf;
        pthread_cond_signal(&w->room);
    }
    pthread_mutex_unlock(&w->m);
    return NULL;
}

/* n workers (their scratch: s->ds.scratch[0 .. n - 1]; the calling thread's is [n]). 0, or -1
 * (nothing started: the page work stays on the calling thread). */
static int workers_start(sv *s, unsigned n, sv_warg *args)
{
    sv_workers *w = &s->w;
    w->cap = (size_t)n * SV_JOBS_PER_WORKER;
    w->ring = calloc(w->cap, sizeof(*w->ring));
    w->free_buf = calloc(w->cap, sizeof(*w->free_buf));
    w->th = calloc(n, sizeof(*w->th));
    if (!w->ring || !w->free_buf || !w->th)
        goto fail;
    for (; w->nfree < w->cap; w->nfree++)
        if (!(w->free_buf[w->nfree] = malloc(SV_JOB_BYTES)))
            goto fail;
    pthread_mutex_init(&w->m, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->room, NULL);
    for (; w->n < n; w->n++) {
        args[w->n] = (sv_warg){s, w->n};
        if (pthread_create(&w->th[w->n], NULL, worker_main, &args[w->n]))
            break;
    }
    if (w->n)
        return 0;
    pthread_mutex_destroy(&w->m);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->room);
fail:
    for (size_t i = 0; w->free_buf && i < w->nfree; i++)
        free(w->free_buf[i]);
    free(w->ring);
    free(w->free_buf);
    free(w->th);
    memset(w, 0, sizeof(*w));
    return -1;
}

/* Every queued job done, the workers gone. */
static void workers_stop(sv *s)
{
    sv_workers *w = &s->w;
    if (!w->n)
        return;
    pthread_mutex_lock(&w->m);
    w->stop = 1;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->m);
    for (unsigned i = 0; i < w->n; i++)
        pthread_join(w->th[i], NULL);
    for (size_t i = 0; i < w->nfree; i++)
        free(w->free_buf[i]);
    pthread_mutex_destroy(&w->m);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->room);
    free(w->ring);
    free(w->free_buf);
    free(w->th);
    memset(w, 0, sizeof(*w));
}

/* Queue pages [first, first + n) of x (at p; n * page size <= SV_JOB_BYTES), waiting for a
 * free buffer. */
static void queue_pages(sv *s, sv_file *x, uint64_t first, const uint8_t *p, size_t n)
{
    sv_workers *w = &s->w;
    pthread_mutex_lock(&w->m);
    while (!w->nfree)
        pthread_cond_wait(&w->room, &w->m);
    uint8_t *buf = w->free_buf[--w->nfree];
    pthread_mutex_unlock(&w->m);
    memcpy(buf, p, n * (size_t)x->d.unit);
    pthread_mutex_lock(&w->m);
    w->ring[(w->head + w->count) % w->cap] = (sv_job){x, first, n, buf};
    w->count++;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->m);
}

/* n whole pages of x at p, the next ones of the file. */
static void pages(sv *s, sv_file *x, uint8_t *p, size_t n)
{
    uint32_t ps = x->d.unit;
    /* settle the key and the algorithm on the first encrypted pages (as dataset.c does) */
    for (size_t i = 0; i < n && x->key_tries > 0; i++) {
        if (x->pages + i == 0)
            continue;
        ibc_status st = ibc_space_check_key(x->d.space, p + i * ps, (uint32_t)(x->pages + i));
        if (st == IBC_ERR_INVALID_ARG)
            continue; /* not encrypted */
        x->key_tries--;
        if (st == IBC_OK || st == IBC_ERR_KEY_MISMATCH) {
            x->d.rf->key_state = st == IBC_OK ? REP_KEY_OK : REP_KEY_MISMATCH;
            x->key_tries = 0;
        }
    }
    if (!s->w.n || x->key_tries > 0) {
        /* (while the key is unsettled, the space may change: on this thread alone) */
        page_work(s, s->w.n, x, x->pages, p, n);
    } else {
        const size_t per = SV_JOB_BYTES / ps; /* (pages are at most 64 KiB) */
        for (size_t at = 0; at < n; at += per)
            queue_pages(s, x, x->pages + at, p + at * ps, n - at < per ? n - at : per);
    }
    x->pages += n;
}

/* The bytes of x from its carry and then from p (len): whole pages to the page work, the rest
 * kept. `last`: the file's end-of-file chunk came. */
static void feed(sv *s, sv_file *x, const uint8_t *p, size_t len, int last)
{
    if (x->failed || !x->d.innodb || (x->f.kind == DF_SYSTEM && x->f.sys_no > 1))
        return;
    if (!x->d.space || x->ncarry) {
        if (append(&x->carry, &x->ncarry, &x->capcarry, p, len)) {
            rep_io_error(x->d.rf, "out of memory");
            x->failed = 1;
            return;
        }
        p = NULL;
        len = 0;
        if (!x->d.space && (!open_space(s, x, last) || x->failed))
            return;
        uint32_t ps = x->d.unit;
        size_t whole = x->ncarry / ps;
        if (whole)
            pages(s, x, x->carry, whole);
        memmove(x->carry, x->carry + whole * ps, x->ncarry - whole * ps);
        x->ncarry -= whole * ps;
        return;
    }
    uint32_t ps = x->d.unit;
    size_t whole = len / ps;
    if (whole)
        pages(s, x, (uint8_t *)(uintptr_t)p, whole);
    if (len > whole * ps &&
        append(&x->carry, &x->ncarry, &x->capcarry, p + whole * ps, len - whole * ps)) {
        rep_io_error(x->d.rf, "out of memory");
        x->failed = 1;
    }
}

/* The redo log of the stream, whole in x->held: checked as verify checks ib_logfile0 (the
 * framing and CRC-32C of every mini-transaction from the checkpoint; deep: decrypted and
 * parsed), with ibdata1's page size when it came first. */
static void check_redo(sv *s, sv_file *x)
{
    char err[512];
    ibc_status st =
        ibc_redo_open_mem(s->ds.e, x->held, x->nheld, x->f.rel, &x->d.redo, err, sizeof(err));
    if (st != IBC_OK) {
        rep_error(x->d.rf, "%s", err);
        return;
    }
    uint32_t ps = 0;
    for (sv_file *o = s->head; o; o = o->next)
        if (o->f.kind == DF_SYSTEM && o->f.sys_no == 1 && o->d.space)
            ps = o->d.unit;
    ds_redo_setup(&s->ds, &x->d, ps);
    ds_redo_verify(&s->ds, &x->d, s->ds.flags & DS_DEEP);
    ibc_redo_free(x->d.redo);
    x->d.redo = NULL;
}

static void drop_held(sv *s, sv_file *x)
{
    if (x->aria)
        s->aria_held -= x->nheld;
    free(x->held);
    x->held = NULL;
    x->nheld = x->capheld = 0;
}

/* An Aria table whose .MAI and .MAD both came whole: if it is encrypted, every page of both
 * decrypted and checked as verify --deep does (on the .MAI's report line). */
static void check_aria(sv *s, sv_file *mai, sv_file *mad)
{
    ibc_aria a;
    if (mai->nheld && ibc_aria_parse(mai->held, mai->nheld, &a) == 1) {
        deep_src smai = {.name = mai->f.rel, .fd = -1, .mem = mai->held, .len = mai->nheld};
        deep_src smad = {.name = mad->f.rel, .fd = -1, .mem = mad->held, .len = mad->nheld};
        deep_check_aria_table(s->ds.e, &a, s->ds.keys->kr, s->ds.keys->algo, &smad, &smai,
                              mai->d.rf);
    }
    drop_held(s, mai);
    drop_held(s, mad);
    mai->aria = mad->aria = 0;
}

/* The other file of x's Aria table, if the stream brought it. */
static sv_file *aria_partner(sv *s, const sv_file *x)
{
    char other[4200];
    snprintf(other, sizeof(other), "%.*s%c", (int)strlen(x->f.rel) - 1, x->f.rel,
             x->aria == 'I' ? 'D' : 'I');
    return find_file(s, other);
}

static void end_file(sv *s, sv_file *x)
{
    x->ended = 1;
    if (x->f.kind == DF_REDO && !x->failed && x->held && !x->d.rf->error[0])
        check_redo(s, x);
    if (x->aria && !x->failed && !x->d.rf->error[0]) {
        sv_file *o = aria_partner(s, x);
        if (o && o->aria && o->ended)
            check_aria(s, x->aria == 'I' ? x : o, x->aria == 'I' ? o : x);
        /* else held until the other comes */
    } else {
        drop_held(s, x);
    }
    feed(s, x, NULL, 0, 1);
    if (x->d.space)
        rep_space(x->d.rf, x->d.space); /* again: the pages settled the algorithm */
    if (x->d.space && !x->failed) {
        if (x->ncarry)
            rep_note(x->d.rf, "%zu trailing bytes after the last whole page", x->ncarry);
        ibc_space_info info;
        ibc_space_get_info(x->d.space, &info);
        char why[200];
        if (ds_size_short(info.size_in_header, x->d.unit, x->f.size, 0, why, sizeof(why)))
            rep_error(x->d.rf, "%s", why);
    }
    free(x->carry);
    x->carry = NULL;
    x->ncarry = x->capcarry = 0;
}

/* The manifest, when the stream carried one: every file it lists must have come whole, of its
 * size and CRC-32C; a file it does not list is noted. Missing files get report lines. */
static int check_manifest(sv *s, manifest *m, df_file **extra)
{
    for (sv_file *x = s->head; x; x = x->next) {
        if (!strcmp(x->f.rel, MANIFEST_NAME))
            continue;
        mf_entry *e = manifest_find(m, x->f.rel);
        if (!e) {
            rep_note(x->d.rf, "not in the backup's manifest");
            continue;
        }
        e->matched = 1;
        snprintf(x->d.rf->crc32c, sizeof(x->d.rf->crc32c), "%08x", x->crc);
        char why[160] = "";
        if (x->f.size != e->bytes)
            snprintf(why, sizeof(why),
                     "changed since the backup: %llu bytes, the manifest says %llu",
                     (unsigned long long)x->f.size, (unsigned long long)e->bytes);
        else if (x->crc != e->crc32c)
            snprintf(why, sizeof(why),
                     "changed since the backup: CRC-32C %08x, the manifest says %08x", x->crc,
                     e->crc32c);
        if (why[0] && !x->d.rf->error[0])
            rep_error(x->d.rf, "%s", why);
    }
    return verify_report_missing(m, s->ds.rep, extra);
}

int verify_report_missing(manifest *m, report *rep, df_file **extra)
{
    size_t missing = 0;
    for (size_t k = 0; k < m->n; k++)
        missing += !m->v[k].matched;
    *extra = missing ? calloc(missing, sizeof(df_file)) : NULL;
    if (missing && !*extra)
        return -1;
    for (size_t k = 0, j = 0; k < m->n; k++) {
        if (m->v[k].matched)
            continue;
        df_file *f = &(*extra)[j++];
        f->path = f->rel = m->v[k].path;
        f->kind = DF_OTHER;
        rep_error(report_file(rep, f), "missing: the backup's manifest lists it (%llu bytes)",
                  (unsigned long long)m->v[k].bytes);
    }
    return 0;
}

int verify_stream(const cli_global *g, const ibc_engine *e, cli_keys *keys, int deep, int fd,
                  report *rep, uint64_t allow_bad)
{
    sv *s = calloc(1, sizeof(sv)); /* the buckets: 512 KiB */
    if (!s) {
        cli_err("verify --stream: out of memory");
        return EXIT_ENV;
    }
    s->tail = &s->head;
    s->ds.g = g;
    s->ds.e = e;
    s->ds.keys = keys;
    s->ds.flags = deep ? DS_DEEP : 0;
    s->ds.rep = rep;
    s->ds.op = deep ? IBC_OP_VERIFY_DEEP : IBC_OP_VERIFY;
    /* workers (--threads, default one per core) and the calling thread: a scratch each */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned nw = g->threads > 0 ? (unsigned)g->threads : ncpu > 0 ? (unsigned)ncpu : 1;
    if (nw > 256)
        nw = 256;
    ibc_scratch *scs[257] = {0}, *sc = NULL;
    sv_warg wargs[256];
    int ok = 1;
    for (unsigned i = 0; i <= nw; i++)
        ok &= (scs[i] = ibc_scratch_new()) != NULL;
    s->ds.scratch = scs;
    if (ok && nw > 1)
        workers_start(s, nw, wargs); /* (some, or none: the page work then stays here) */
    sc = ok ? scs[s->w.n] : NULL;
    progress pr;
    progress_start(&pr, g, "verify", 0);
    s->ds.pr = &pr;
    rep->threads = s->w.n ? s->w.n : 1;

    uint8_t *buf = NULL;
    size_t cap = 0, have = 0, at = 0;
    uint64_t pos = 0; /* stream offset of buf[at] */
    int eof = 0, rc = 0;
    const char *stream_err = NULL;
    char msg[200];
    while (sc && !stream_err) {
        ibc_xbs_chunk c;
        long long used = have > at ? ibc_xbs_parse(buf + at, have - at, &c) : 0;
        if (used < 0) {
            snprintf(msg, sizeof(msg), "not an xbstream chunk (or a damaged one) at byte %llu",
                     (unsigned long long)pos);
            stream_err = msg;
            break;
        }
        if (used == 0) {
            if (eof) {
                if (have > at) {
                    snprintf(msg, sizeof(msg), "the stream ends inside a chunk at byte %llu",
                             (unsigned long long)pos);
                    stream_err = msg;
                }
                break;
            }
            if (at) { /* keep the unparsed bytes at the start */
                memmove(buf, buf + at, have - at);
                have -= at;
                at = 0;
            }
            if (have == cap) {
                size_t nc = cap ? 2 * cap : (size_t)16 << 20;
                uint8_t *b = nc <= MAX_CHUNK + (1u << 20) ? realloc(buf, nc) : NULL;
                if (!b) {
                    stream_err = nc > MAX_CHUNK ? "a chunk larger than 512 MiB: not an xbstream"
                                                : "out of memory";
                    break;
                }
                buf = b;
                cap = nc;
            }
            ssize_t r = read(fd, buf + have, cap - have);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                snprintf(msg, sizeof(msg), "reading the stream: %s", strerror(errno));
                stream_err = msg;
                rc = EXIT_ENV;
                break;
            }
            if (r == 0)
                eof = 1;
            have += (size_t)r;
            continue;
        }
        sv_file *x = file_of(s, c.path);
        if (!x) {
            stream_err = "out of memory";
            break;
        }
        at += (size_t)used;
        pos += (uint64_t)used;
        if (x->ended) {
            if (!x->d.rf->error[0])
                rep_error(x->d.rf,
                          "a chunk after its end-of-file chunk, at byte %llu of the "
                          "stream",
                          (unsigned long long)(pos - (uint64_t)used));
            x->failed = 1;
            continue;
        }
        if (c.type == 'E') {
            end_file(s, x);
            continue;
        }
        if (c.offset != x->f.size) {
            if (!x->d.rf->error[0])
                rep_error(x->d.rf,
                          "a chunk at offset %llu where %llu was next (a gap or an "
                          "overlap)",
                          (unsigned long long)c.offset, (unsigned long long)x->f.size);
            x->failed = 1;
        }
        x->crc = ibc_crc32c(e, x->crc, c.data, (size_t)c.length);
        x->f.size += c.length;
        if ((x->f.kind == DF_REDO || x->aria) && !x->failed) {
            const uint32_t max = x->aria ? MAX_ARIA : MAX_REDO;
            if (x->f.size > max || (x->aria && s->aria_held + c.length > MAX_ARIA_ALL)) {
                if (x->f.size > max)
                    rep_note(x->d.rf, "larger than %u MiB: %s in a stream (extract it, then "
                             "verify it)", max >> 20, x->aria ? "the pages of its Aria table "
                             "are not checked" : "not checked");
                else
                    rep_note(x->d.rf, "the Aria tables waiting for their other file pass %u "
                             "MiB: the pages of this one are not checked in a stream (extract "
                             "it, then verify it)", MAX_ARIA_ALL >> 20);
                drop_held(s, x);
                if (x->aria) { /* its table is not checked: neither file held */
                    sv_file *o = aria_partner(s, x);
                    if (o && o->aria) {
                        drop_held(s, o);
                        o->aria = 0;
                    }
                    x->aria = 0;
                } else {
                    x->failed = 1;
                }
            } else if (append(&x->held, &x->nheld, &x->capheld, c.data, (size_t)c.length)) {
                stream_err = "out of memory";
            } else if (x->aria) {
                s->aria_held += c.length;
            }
        }
        if (!strcmp(x->f.rel, MANIFEST_NAME)) {
            s->have_mf = 1;
            if (append((uint8_t **)&s->mf, &s->nmf, &s->capmf, c.data, (size_t)c.length))
                stream_err = "out of memory";
        }
        feed(s, x, c.data, (size_t)c.length, 0);
        progress_add(&pr, c.length);
    }
    progress_end(&pr);
    free(buf);
    if (!sc)
        stream_err = "out of memory";

    for (sv_file *x = s->head; x; x = x->next)
        if (!x->ended) {
            if (!x->d.rf->error[0])
                rep_error(x->d.rf, "incomplete: the stream ends before its end-of-file chunk");
            end_file(s, x);
        }
    workers_stop(s); /* every page done before the report */
    /* the Aria tables of which one file came (or came whole) */
    for (sv_file *x = s->head; x; x = x->next)
        if (x->aria) {
            ibc_aria a;
            if (x->aria == 'I' && x->held && ibc_aria_parse(x->held, x->nheld, &a) == 1)
                rep_note(x->d.rf, "its .MAD is not in the stream (or not whole): the pages of "
                                  "this encrypted Aria table are not checked");
            drop_held(s, x);
            x->aria = 0;
        }
    df_file *extra = NULL;
    manifest m = {0};
    if (s->have_mf && !stream_err) {
        char err[400];
        if (manifest_parse(s->mf, s->nmf, &m, err, sizeof(err))) {
            cli_err("verify: the stream's manifest: %s", err);
            rc = EXIT_DATA;
        } else if (check_manifest(s, &m, &extra)) {
            stream_err = "out of memory";
        }
    }
    if (s->nqp)
        cli_info(g,
                 "verify: %zu InnoDB file%s compressed by mariadb-backup --compress (.qp): "
                 "%s pages are not checked (extract, mariadb-backup --decompress, then "
                 "verify)",
                 s->nqp, s->nqp > 1 ? "s" : "", s->nqp > 1 ? "their" : "its");
    if (!s->nfiles && !stream_err)
        stream_err = "no chunk in the stream: not an xbstream";
    if (stream_err) {
        /* a report line of its own, so that the text and JSON reports say it too */
        static char name[] = "(stream)";
        static df_file whole = {.path = name, .rel = name, .kind = DF_OTHER};
        rep_error(report_file(rep, &whole), "%s", stream_err);
        if (!rc)
            rc = EXIT_DATA;
    }
    for (size_t i = 0; i < rep->n; i++)
        report_file_done(rep, rep->files[i]);
    int rrc = report_finish(rep, allow_bad);
    rc = rc ? rc : rrc;
    for (sv_file *x = s->head, *nx; x; x = nx) {
        nx = x->next;
        if (x->d.space)
            ibc_space_free(x->d.space);
        free(x->carry);
        drop_held(s, x);
        free(x->f.path);
        free(x);
    }
    for (unsigned i = 0; i <= nw; i++)
        ibc_scratch_free(scs[i]);
    free(s->mf);
    free(s);
    manifest_free(&m);
    free(extra);
    return rc;
}
