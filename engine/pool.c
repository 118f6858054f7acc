/*
 * pool.c - the worker pool (see ibdcrypt/pool.h for the idea).
 *
 * Threads: one per worker, pinned to a core chosen by placement (pool_place.c), its buffers
 * bound to that core's NUMA node. Items are claimed with one atomic counter, so consecutive
 * ranges of one huge file spread over every worker. Reads: pread/preadv (with a
 * POSIX_FADV_WILLNEED hint for the ranges about to be claimed that the page cache does not
 * hold already), or io_uring with the worker's
 * next reads in flight while it works. In a file the caller holds exclusively (skip_holes),
 * the holes an item starts or ends with are zeroed, not read. Ordered output: the worker that completes the item at
 * the head of the order emits it and every parked item that follows; others park their buffer
 * and go on with another one of theirs, or wait for one to come back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pool_internal.h"

#define STAGGER 256
#define MAX_IOV 1024

/* ---- per-run state ----------------------------------------------------------------------- */

typedef struct slot {
    uint8_t *mem;
    int owner;      /* worker that owns the buffer */
    int busy;       /* claimed by its owner, or parked */
    ibc_pool_item it;
} slot;

typedef struct run {
    ibc_pool *p;
    const ibc_pool_job *job;
    uint64_t *first; /* first[f] = seq of file f's first item; first[nfiles] = total */
    size_t *upi;     /* units per item, per file */
    uint64_t (*known)[2]; /* skip_holes files: a range [0] to [1) found all data (under hm) */
    pthread_mutex_t hm;
    size_t buf_bytes;
    _Atomic uint64_t next_claim;
    _Atomic int stop;
    pthread_mutex_t m;
    pthread_cond_t cv;
    int err;
    uint64_t next_emit;
    slot *slots;     /* n * depth; worker w owns [w*depth, (w+1)*depth) */
    slot **parked;   /* indexed by seq % nslots */
    size_t nslots;
} run;


static void fail(run *r, int code)
{
    pthread_mutex_lock(&r->m);
    if (!r->err)
        r->err = code;
    atomic_store(&r->stop, 1);
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->m);
}

/* seq -> item. */
static void item_of(const run *r, uint64_t seq, ibc_pool_item *it)
{
    size_t lo = 0, hi = r->job->nfiles;
    while (hi - lo > 1) { /* last f with first[f] <= seq */
        size_t mid = (lo + hi) / 2;
        if (r->first[mid] <= seq)
            lo = mid;
        else
            hi = mid;
    }
    const ibc_pool_file *f = &r->job->files[lo];
    uint64_t k = seq - r->first[lo];
    uint64_t item = (uint64_t)r->upi[lo] * f->unit;
    it->file = lo;
    it->seq = seq;
    it->offset = k * item;
    it->len = (size_t)(f->size - it->offset < item ? f->size - it->offset : item);
    it->nunits = it->len / f->unit;
    it->stride = f->unit >= 4096 ? (size_t)f->unit + STAGGER : f->unit;
}

/* Read bytes [a, b) of an item (offsets in the item) into buf, staggered; -errno on failure.
 * One preadv per up to MAX_IOV pieces; a short read falls back to piece by piece. */
static int read_range(int fd, const ibc_pool_item *it, uint32_t unit, uint8_t *buf, size_t a,
                      size_t b)
{
    struct iovec iov[MAX_IOV];
    while (a < b) {
        size_t cnt = 0, want = 0, from = a;
        if (it->stride == unit) { /* not staggered: one piece (units may be single bytes) */
            iov[cnt++] = (struct iovec){buf + a, b - a};
            want = b - a;
            a = b;
        }
        while (a < b && cnt < MAX_IOV) {
            /* the unit a falls in (or the partial one after the last whole unit) */
            size_t in = a % unit, n = unit - in < b - a ? unit - in : b - a;
            iov[cnt++] = (struct iovec){buf + a / unit * it->stride + in, n};
            want += n;
            a += n;
        }
        off_t at = (off_t)(it->offset + from);
        ssize_t n = preadv(fd, iov, (int)cnt, at);
        if (n == (ssize_t)want)
            continue;
        if (n < 0 && errno != EINTR)
            return -errno;
        for (size_t i = 0; i < cnt; i++) { /* slow path */
            size_t done = 0, l = iov[i].iov_len;
            while (done < l) {
                ssize_t m = pread(fd, (uint8_t *)iov[i].iov_base + done, l - done,
                                  at + (off_t)done);
                if (m < 0 && errno == EINTR)
                    continue;
                if (m <= 0)
                    return m < 0 ? -errno : -EIO;
                done += (size_t)m;
            }
            at += (off_t)l;
        }
    }
    return 0;
}

/* The span [*from, *to) of [off, end) of file f that holds its data: without the hole it
 * starts with or ends with, if any (holes between data stay in: reading one costs less than
 * the calls that would find them all). Returns 0 when [off, end) is all hole. Files not marked
 * skip_holes are all data. At most three lseeks, none inside the last data extent found (a
 * file without holes costs three in all: on a network file system each is a round trip);
 * where the file system cannot tell, all is data. */
static int data_span(run *r, size_t f, uint64_t off, uint64_t end, uint64_t *from, uint64_t *to)
{
    *from = off;
    *to = end;
    if (!r->job->files[f].skip_holes)
        return 1;
    pthread_mutex_lock(&r->hm);
    int known = off >= r->known[f][0] && end <= r->known[f][1];
    pthread_mutex_unlock(&r->hm);
    if (known)
        return 1;
    int fd = r->job->files[f].fd;
    off_t d = lseek(fd, (off_t)off, SEEK_DATA);
    if (d < 0)
        return errno != ENXIO; /* ENXIO: no data after off */
    if ((uint64_t)d >= end)
        return 0;
    *from = (uint64_t)d > off ? (uint64_t)d : off;
    off_t h = lseek(fd, (off_t)*from, SEEK_HOLE);
    if (h > (off_t)*from) {
        pthread_mutex_lock(&r->hm);
        r->known[f][0] = *from;
        r->known[f][1] = (uint64_t)h;
        pthread_mutex_unlock(&r->hm);
    }
    if (h < 0 || (uint64_t)h >= end || (uint64_t)h <= *from)
        return 1;
    off_t d2 = lseek(fd, h, SEEK_DATA);
    if ((d2 < 0 && errno == ENXIO) || (d2 >= 0 && (uint64_t)d2 >= end))
        *to = (uint64_t)h; /* a hole to the end */
    return 1;
}

/* Zero bytes [a, b) of an item in buf, staggered. */
static void zero_range(const ibc_pool_item *it, uint32_t unit, uint8_t *buf, size_t a, size_t b)
{
    if (it->stride == unit && a < b) {
        memset(buf + a, 0, b - a);
        return;
    }
    while (a < b) {
        size_t in = a % unit, n = unit - in < b - a ? unit - in : b - a;
        memset(buf + a / unit * it->stride + in, 0, n);
        a += n;
    }
}

/* Read an item into buf, staggered; -errno on failure. In a file marked skip_holes, a hole
 * the item starts or ends with is zeroed in buf instead: reading it has the kernel allocate
 * page-cache pages and clear them (on the test VM, a quarter of a prepare's CPU time on a
 * sparse backup, perf); so would a read-ahead hint over it (claim). */
static int read_item(run *r, const ibc_pool_item *it, uint8_t *buf)
{
    const ibc_pool_file *f = &r->job->files[it->file];
    uint64_t from, to;
    if (!data_span(r, it->file, it->offset, it->offset + it->len, &from, &to))
        from = to;
    size_t a = from - it->offset, b = to - it->offset;
    zero_range(it, f->unit, buf, 0, a);
    zero_range(it, f->unit, buf, b, it->len);
    return a < b ? read_range(f->fd, it, f->unit, buf, a, b) : 0;
}

/* ---- ordered emission -------------------------------------------------------------------- */

/* Called with the item's work done. Emits it (and what follows) or parks it. */
static void complete(run *r, slot *s)
{
    const ibc_pool_job *job = r->job;
    if (!job->emit) {
        pthread_mutex_lock(&r->m);
        s->busy = 0;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->m);
        return;
    }
    pthread_mutex_lock(&r->m);
    if (s->it.seq != r->next_emit) {
        r->parked[s->it.seq % r->nslots] = s; /* stays busy until emitted */
        pthread_mutex_unlock(&r->m);
        return;
    }
    for (;;) {
        pthread_mutex_unlock(&r->m);
        int rc = atomic_load(&r->stop) ? 0 : job->emit(job->ctx, &s->it, s->mem);
        if (rc)
            fail(r, rc);
        pthread_mutex_lock(&r->m);
        s->busy = 0;
        r->next_emit++;
        pthread_cond_broadcast(&r->cv);
        slot **next = &r->parked[r->next_emit % r->nslots];
        if (!*next || (*next)->it.seq != r->next_emit)
            break;
        s = *next;
        *next = NULL;
    }
    pthread_mutex_unlock(&r->m);
}

/* A free buffer of worker w; if wait, waiting while all are in use. NULL when the job stops
 * (or, without wait, when none is free). */
static slot *get_slot_w(run *r, unsigned w, int wait)
{
    unsigned d = r->p->depth;
    pthread_mutex_lock(&r->m);
    for (;;) {
        if (atomic_load(&r->stop)) {
            pthread_mutex_unlock(&r->m);
            return NULL;
        }
        for (unsigned i = 0; i < d; i++) {
            slot *s = &r->slots[w * d + i];
            if (!s->busy) {
                s->busy = 1;
                pthread_mutex_unlock(&r->m);
                return s;
            }
        }
        if (!wait) {
            pthread_mutex_unlock(&r->m);
            return NULL;
        }
        pthread_cond_wait(&r->cv, &r->m);
    }
}

static slot *get_slot(run *r, unsigned w)
{
    return get_slot_w(r, w, 1);
}

/* Whether the page cache seems to hold [off, off+len): its first, middle and last page,
 * asked with cachestat(2) (Linux 6.5; glibc has no wrapper). A WILLNEED hint walks the cache
 * page by page even when every page is there: 4-5 % of a warm backup's CPU time (perf), and
 * cachestat of the whole range still 1.9 %. cachestat neither reads nor touches the file's
 * read-ahead state (a one-byte RWF_NOWAIT read did: it starts a read-ahead of its own and made
 * a cold backup take twice as long). A range only partly cached that the samples miss is read
 * as it would be without a hint; where the call fails, every range is hinted. */
#ifndef SYS_cachestat
#define SYS_cachestat 451 /* the same number on every architecture (asm-generic/unistd.h) */
#endif
static atomic_int no_cachestat;

static int seems_cached(int fd, uint64_t off, uint64_t len)
{
    if (atomic_load_explicit(&no_cachestat, memory_order_relaxed))
        return 0;
    const uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
    const uint64_t at[3] = {off, off + len / 2, off + len - 1};
    for (int i = 0; i < 3; i++) {
        struct {
            uint64_t off, len;
        } range = {at[i] / ps * ps, ps};
        struct {
            uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
        } cs;
        if (syscall(SYS_cachestat, fd, &range, &cs, 0) != 0) {
            /* ENOSYS (before 6.5), EPERM (a seccomp filter), EOPNOTSUPP (hugetlbfs): not
             * asked again in this process */
            atomic_store(&no_cachestat, 1);
            return 0;
        }
        if (!cs.nr_cache)
            return 0;
    }
    return 1;
}

static int claim(run *r, ibc_pool_item *it)
{
    uint64_t total = r->first[r->job->nfiles];
    uint64_t seq = atomic_fetch_add(&r->next_claim, 1);
    if (seq >= total || atomic_load(&r->stop))
        return 0;
    item_of(r, seq, it);
    /* read-ahead hint for the item the pool will reach one round later */
    uint64_t ahead = seq + r->p->n;
    if (ahead < total) {
        ibc_pool_item a;
        item_of(r, ahead, &a);
        /* the data only: a hint over a hole would fill the cache with zeroed pages */
        int fd = r->job->files[a.file].fd;
        uint64_t from, to;
        if (data_span(r, a.file, a.offset, a.offset + a.len, &from, &to) && from < to &&
            !seems_cached(fd, from, to - from))
            posix_fadvise(fd, (off_t)from, (off_t)(to - from), POSIX_FADV_WILLNEED);
    }
    return 1;
}

static void do_item(run *r, unsigned w, slot *s)
{
    const ibc_pool_job *job = r->job;
    int rc = job->work ? job->work(job->ctx, w, &s->it, s->mem) : 0;
    if (rc) {
        fail(r, rc);
        pthread_mutex_lock(&r->m);
        s->busy = 0;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->m);
        return;
    }
    complete(r, s);
}

static void *worker_pread(void *arg)
{
    ibc_pool_worker_arg *a = arg;
    run *r = a->run;
    ibc_pool_bind_thread(r->p, a->w);
    for (;;) {
        slot *s = get_slot(r, a->w);
        if (!s)
            break;
        if (!claim(r, &s->it)) {
            pthread_mutex_lock(&r->m);
            s->busy = 0;
            pthread_cond_broadcast(&r->cv);
            pthread_mutex_unlock(&r->m);
            break;
        }
        int rc = read_item(r, &s->it, s->mem);
        if (rc) {
            fail(r, rc);
            break;
        }
        do_item(r, a->w, s);
    }
    return NULL;
}

/* ---- run --------------------------------------------------------------------------------- */

int ibc_pool_run(ibc_pool *p, const ibc_pool_job *job)
{
    run r;
    memset(&r, 0, sizeof(r));
    r.p = p;
    r.job = job;
    r.first = calloc(job->nfiles + 1, sizeof(uint64_t));
    r.upi = calloc(job->nfiles + 1, sizeof(size_t));
    r.known = calloc(job->nfiles + 1, sizeof(*r.known));
    if (!r.first || !r.upi || !r.known) {
        free(r.first);
        free(r.upi);
        free(r.known);
        return -ENOMEM;
    }
    size_t bytes = 0;
    for (size_t f = 0; f < job->nfiles; f++) {
        uint32_t unit = job->files[f].unit ? job->files[f].unit : 1;
        size_t upi = p->item_bytes / unit ? p->item_bytes / unit : 1;
        uint64_t item = (uint64_t)upi * unit;
        r.upi[f] = upi;
        r.first[f + 1] = r.first[f] + (job->files[f].size + item - 1) / item;
        size_t stride = unit >= 4096 ? unit + STAGGER : unit;
        size_t need = upi * stride + unit;
        if (need > bytes)
            bytes = need;
        posix_fadvise(job->files[f].fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    r.nslots = (size_t)p->n * p->depth;
    r.slots = calloc(r.nslots, sizeof(slot));
    r.parked = calloc(r.nslots, sizeof(slot *));
    int rc = 0;
    if (!r.slots || !r.parked)
        rc = -ENOMEM;
    for (size_t i = 0; !rc && i < r.nslots; i++) {
        r.slots[i].owner = (int)(i / p->depth);
        r.slots[i].mem = ibc_pool_alloc(p, (unsigned)(i / p->depth), bytes);
        if (!r.slots[i].mem)
            rc = -ENOMEM;
    }
    r.buf_bytes = bytes;
    pthread_mutex_init(&r.m, NULL);
    pthread_mutex_init(&r.hm, NULL);
    pthread_cond_init(&r.cv, NULL);
    if (!rc) {
        pthread_t *th = calloc(p->n, sizeof(pthread_t));
        ibc_pool_worker_arg *args = calloc(p->n, sizeof(ibc_pool_worker_arg));
        void *(*fn)(void *) = ibc_pool_uring_worker(p) ? ibc_pool_uring_worker(p) : worker_pread;
        unsigned started = 0;
        for (unsigned w = 0; th && args && w < p->n; w++) {
            args[w] = (ibc_pool_worker_arg){&r, w};
            if (pthread_create(&th[w], NULL, fn, &args[w]) == 0)
                started++;
            else
                break;
        }
        if (started < p->n)
            fail(&r, -EAGAIN);
        for (unsigned w = 0; w < started; w++)
            pthread_join(th[w], NULL);
        free(th);
        free(args);
        rc = r.err;
    }
    for (size_t i = 0; r.slots && i < r.nslots; i++)
        ibc_pool_free_buf(p, r.slots[i].mem, bytes);
    pthread_mutex_destroy(&r.m);
    pthread_mutex_destroy(&r.hm);
    pthread_cond_destroy(&r.cv);
    free(r.slots);
    free(r.parked);
    free(r.first);
    free(r.upi);
    free(r.known);
    return rc;
}

/* Exposed to pool_uring.c through pool_internal.h. */
int ibc_pool_run_claim(void *rv, ibc_pool_item *it)
{
    return claim(rv, it);
}
void *ibc_pool_run_get_slot(void *rv, unsigned w, int wait, uint8_t **mem, ibc_pool_item **it)
{
    slot *s = get_slot_w(rv, w, wait);
    if (s) {
        *mem = s->mem;
        *it = &s->it;
    }
    return s;
}
void ibc_pool_run_release(void *rv, void *sv)
{
    run *r = rv;
    slot *s = sv;
    pthread_mutex_lock(&r->m);
    s->busy = 0;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->m);
}
void ibc_pool_run_fail(void *rv, int code)
{
    fail(rv, code);
}
void ibc_pool_run_item_done(void *rv, unsigned w, void *sv)
{
    do_item(rv, w, sv);
}
int ibc_pool_run_read(void *rv, const ibc_pool_item *it, uint8_t *buf)
{
    return read_item(rv, it, buf);
}
const ibc_pool_file *ibc_pool_run_file(void *rv, size_t i)
{
    return &((run *)rv)->job->files[i];
}
ibc_pool *ibc_pool_run_pool(void *rv)
{
    return ((run *)rv)->p;
}
int ibc_pool_run_stopped(void *rv)
{
    return atomic_load(&((run *)rv)->stop);
}
