/*
 * journal.c - the undo journal (see ibdcrypt/journal.h for the protocol).
 *
 * File layout (little-endian):
 *   [0, 4096)         header: "IBCJRNL1", version, nslots, slot_bytes, blob_len, CRC-32C of
 *                     these fields and of the blob
 *   [4096, B)         the blob, padded to 4 KiB
 *   slot i at B + i * (4096 + slot_bytes):
 *                     4 KiB slot header: "IBCSLOT1", seq, file, offset, len, CRC-32C of the
 *                     data, CRC-32C of the header; then the data
 * A slot counts as in use when its header and data CRCs hold. Data is written before the header
 * is trusted (one pwritev, then fdatasync), and a range is overwritten in place only after its
 * slot is durable, so a slot torn by a crash never guards a range that was touched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_internal.h"
#include "format.h"
#include "ibdcrypt/journal.h"

#define HDR 4096
#define MAX_FILES 65536

enum { FREE = 0, BUSY, RELEASED, SYNCING };

struct ibc_journal {
    char *path;
    int fd;
    unsigned nslots;
    size_t slot_bytes;
    uint64_t slots_at;
    pthread_mutex_t m;
    pthread_cond_t cv;
    uint8_t *state;
    uint64_t seq;                 /* slot writes issued */
    uint64_t synced;              /* slot writes known durable */
    int syncing;
    int data_syncing;             /* a thread is making the data files durable (sync_data) */
    int *fds;                     /* registered data files */
    unsigned nfds;
};

/* The CRCs of the slots cover every byte a re-encryption journals, so they take the best
 * kernel of this CPU (the journal has no engine, and every tier computes the same CRC). The
 * portable one cost 11 % of the CPU time of `prepare --mode=reencrypt` on a 1.3 GB datadir,
 * more than all its AES (perf, Zen 3). */
static uint32_t crc(uint32_t c, const void *p, size_t n)
{
    static const ibc_kernels *_Atomic kt;
    const ibc_kernels *k = atomic_load_explicit(&kt, memory_order_relaxed);
    if (!k) {
        k = ibc_tier_kernels(ibc_tier_best(ibc_cpu_features()));
        atomic_store_explicit(&kt, k, memory_order_relaxed);
    }
    return k->crc32c(c, p, n);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int pwrite_all(int fd, const void *b, size_t n, off_t at)
{
    const uint8_t *p = b;
    while (n) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        at += w;
    }
    return 0;
}

static int pread_all(int fd, void *b, size_t n, off_t at)
{
    uint8_t *p = b;
    while (n) {
        ssize_t r = pread(fd, p, n, at);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
        at += r;
    }
    return 0;
}

static void fsync_dir_of(const char *path)
{
    char d[4096];
    snprintf(d, sizeof(d), "%s", path);
    char *s = strrchr(d, '/');
    if (s == d)
        s[1] = 0;
    else if (s)
        *s = 0;
    else
        snprintf(d, sizeof(d), ".");
    int fd = open(d, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static char crash_name[64];
static long crash_at;
static int crash_sig = SIGKILL;
static _Atomic long crash_count;
static pthread_once_t crash_once = PTHREAD_ONCE_INIT;

static void crash_init(void)
{
    static char v[96];
    const char *env = getenv("IBDCRYPT_CRASH_POINT");
    if (!env || strlen(env) >= sizeof(v))
        return;
    strcpy(v, env);
    size_t l = strlen(v);
    if (l > 5 && !strcmp(v + l - 5, ":stop")) { /* stop there instead (SIGSTOP) */
        v[l - 5] = 0;
        crash_sig = SIGSTOP;
    }
    const char *e = v;
    const char *c = strrchr(e, ':');
    if (c && (size_t)(c - e) < sizeof(crash_name)) {
        memcpy(crash_name, e, (size_t)(c - e));
        crash_name[c - e] = 0;
        crash_at = atol(c + 1);
    }
}

void ibc_crash_point(const char *name)
{
    pthread_once(&crash_once, crash_init);
    if (crash_at > 0 && !strcmp(name, crash_name) &&
        atomic_fetch_add(&crash_count, 1) + 1 == crash_at)
        raise(crash_sig);
}

static ibc_journal *alloc_journal(const char *path, int fd, unsigned nslots, size_t slot_bytes,
                                  uint64_t slots_at)
{
    ibc_journal *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->path = strdup(path);
    j->fd = fd;
    j->nslots = nslots;
    j->slot_bytes = slot_bytes;
    j->slots_at = slots_at;
    j->state = calloc(nslots ? nslots : 1, 1);
    j->fds = calloc(MAX_FILES, sizeof(int));
    if (!j->path || !j->state || !j->fds) {
        free(j->path);
        free(j->state);
        free(j->fds);
        free(j);
        return NULL;
    }
    for (unsigned i = 0; i < MAX_FILES; i++)
        j->fds[i] = -1;
    pthread_mutex_init(&j->m, NULL);
    pthread_cond_init(&j->cv, NULL);
    return j;
}

static void free_journal(ibc_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    pthread_mutex_destroy(&j->m);
    pthread_cond_destroy(&j->cv);
    free(j->path);
    free(j->state);
    free(j->fds);
    free(j);
}

ibc_status ibc_journal_create(const char *path, const void *blob, size_t blob_len,
                              unsigned nslots, size_t slot_bytes, ibc_journal **out)
{
    *out = NULL;
    if (blob_len > IBC_JOURNAL_MAX_BLOB || !nslots || !slot_bytes)
        return IBC_ERR_INVALID_ARG;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == ENOSPC ? IBC_ERR_NOSPACE : IBC_ERR_IO;
    size_t bpad = (blob_len + HDR - 1) / HDR * HDR;
    uint8_t *h = calloc(1, HDR + bpad);
    if (!h) {
        close(fd);
        unlink(path);
        return IBC_ERR_NOMEM;
    }
    memcpy(h, "IBCJRNL1", 8);
    put_le32(h + 8, 1);
    put_le32(h + 12, nslots);
    put_le64(h + 16, slot_bytes);
    put_le32(h + 24, (uint32_t)blob_len);
    memcpy(h + HDR, blob, blob_len);
    put_le32(h + 28, crc(crc(0, h, 28), h + HDR, blob_len));
    uint64_t slots_at = HDR + bpad;
    int bad = pwrite_all(fd, h, HDR + bpad, 0) ||
              ftruncate(fd, (off_t)(slots_at + (uint64_t)nslots * (HDR + slot_bytes))) ||
              fdatasync(fd);
    free(h);
    if (bad) {
        int e = errno;
        close(fd);
        unlink(path);
        return e == ENOSPC ? IBC_ERR_NOSPACE : IBC_ERR_IO;
    }
    fsync_dir_of(path);
    ibc_journal *j = alloc_journal(path, fd, nslots, slot_bytes, slots_at);
    if (!j) {
        close(fd);
        return IBC_ERR_NOMEM;
    }
    *out = j;
    return IBC_OK;
}

ibc_status ibc_journal_open(const char *path, ibc_journal **out, void **blob, size_t *blob_len)
{
    *out = NULL;
    *blob = NULL;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return IBC_ERR_IO;
    uint8_t h[HDR];
    if (pread_all(fd, h, HDR, 0) || memcmp(h, "IBCJRNL1", 8) || rd32(h + 8) != 1) {
        close(fd);
        return IBC_ERR_FORMAT;
    }
    uint32_t nslots = rd32(h + 12), len = rd32(h + 24);
    uint64_t slot_bytes = rd64(h + 16);
    if (len > IBC_JOURNAL_MAX_BLOB || !nslots || nslots > 65536 || !slot_bytes ||
        slot_bytes > (1u << 30)) {
        close(fd);
        return IBC_ERR_FORMAT;
    }
    uint8_t *b = malloc(len ? len : 1);
    if (!b || pread_all(fd, b, len, HDR) || crc(crc(0, h, 28), b, len) != rd32(h + 28)) {
        free(b);
        close(fd);
        return IBC_ERR_FORMAT;
    }
    ibc_journal *j = alloc_journal(path, fd, nslots, slot_bytes,
                                   HDR + ((uint64_t)len + HDR - 1) / HDR * HDR);
    if (!j) {
        free(b);
        close(fd);
        return IBC_ERR_NOMEM;
    }
    *blob = b;
    *blob_len = len;
    *out = j;
    return IBC_OK;
}

static uint64_t slot_at(const ibc_journal *j, unsigned i)
{
    return j->slots_at + (uint64_t)i * (HDR + j->slot_bytes);
}

ibc_status ibc_journal_rollback(ibc_journal *j, const int *fds, size_t nfds, unsigned *restored)
{
    *restored = 0;
    uint8_t *h = malloc(HDR), *data = malloc(j->slot_bytes);
    ibc_status st = IBC_OK;
    uint8_t *touched = calloc(nfds ? nfds : 1, 1);
    if (!h || !data || !touched) {
        free(h);
        free(data);
        free(touched);
        return IBC_ERR_NOMEM;
    }
    for (unsigned i = 0; i < j->nslots && st == IBC_OK; i++) {
        if (pread_all(j->fd, h, HDR, (off_t)slot_at(j, i)))
            continue;
        if (memcmp(h, "IBCSLOT1", 8) || crc(0, h, 44) != rd32(h + 44))
            continue;
        uint32_t file = rd32(h + 16);
        uint64_t off = rd64(h + 20), len = rd64(h + 28);
        if (len > j->slot_bytes || file >= nfds || fds[file] < 0)
            continue;
        if (pread_all(j->fd, data, len, (off_t)(slot_at(j, i) + HDR)) ||
            crc(0, data, len) != rd32(h + 36))
            continue; /* torn while being written: its range was never touched */
        if (pwrite_all(fds[file], data, len, (off_t)off)) {
            st = errno == ENOSPC ? IBC_ERR_NOSPACE : IBC_ERR_IO;
            break;
        }
        touched[file] = 1;
        (*restored)++;
    }
    for (size_t f = 0; f < nfds && st == IBC_OK; f++)
        if (touched[f] && fsync(fds[f]))
            st = IBC_ERR_IO;
    if (st == IBC_OK) {
        /* the ranges are back: forget the slots */
        memset(h, 0, HDR);
        for (unsigned i = 0; i < j->nslots; i++)
            pwrite_all(j->fd, h, HDR, (off_t)slot_at(j, i));
        if (fdatasync(j->fd))
            st = IBC_ERR_IO;
    }
    free(h);
    free(data);
    free(touched);
    return st;
}

void ibc_journal_add_fd(ibc_journal *j, unsigned file, int fd)
{
    if (file < MAX_FILES) {
        pthread_mutex_lock(&j->m);
        j->fds[file] = fd;
        if (file >= j->nfds)
            j->nfds = file + 1;
        pthread_mutex_unlock(&j->m);
    }
}

/* Make the released slots reusable: fdatasync every data file. Called with the mutex held,
 * which it lets go meanwhile: the other threads go on with the free slots (with the mutex
 * held through the flush, every worker waited for it). A slot released before the flush
 * starts had its data written before, so the flush covers it. */
static int sync_data(ibc_journal *j)
{
    for (unsigned i = 0; i < j->nslots; i++)
        if (j->state[i] == RELEASED)
            j->state[i] = SYNCING;
    j->data_syncing = 1;
    unsigned nfds = j->nfds;
    pthread_mutex_unlock(&j->m);
    int err = 0;
    for (unsigned f = 0; f < nfds && !err; f++)
        if (j->fds[f] >= 0 && fdatasync(j->fds[f]))
            err = -1;
    pthread_mutex_lock(&j->m);
    j->data_syncing = 0;
    for (unsigned i = 0; i < j->nslots; i++)
        if (j->state[i] == SYNCING)
            j->state[i] = err ? RELEASED : FREE;
    pthread_cond_broadcast(&j->cv);
    return err;
}

/* Take a free slot; returns it and the sequence number of its write in *seq, or -1 on an
 * fsync error. Released slots are made reusable (sync_data) once half the slots wait for
 * it, so that a flush runs while free slots remain, or when none is free. */
static int take_slot(ibc_journal *j, uint64_t *seq)
{
    pthread_mutex_lock(&j->m);
    unsigned s;
    for (;;) {
        unsigned free = 0, released = 0;
        for (unsigned i = 0; i < j->nslots; i++) {
            free += j->state[i] == FREE;
            released += j->state[i] == RELEASED;
        }
        if (!j->data_syncing && released && (!free || 2 * released >= j->nslots)) {
            if (sync_data(j)) {
                pthread_mutex_unlock(&j->m);
                return -1;
            }
            continue;
        }
        if (free)
            break;
        pthread_cond_wait(&j->cv, &j->m);
    }
    for (s = 0; j->state[s] != FREE; s++)
        ;
    j->state[s] = BUSY;
    *seq = ++j->seq;
    pthread_mutex_unlock(&j->m);
    return (int)s;
}

/* Write slot s: its header (sequence, file, offset, length, CRCs) and the data. Returns 0 or
 * an errno. */
static int write_slot(ibc_journal *j, unsigned s, uint64_t seq, unsigned file, uint64_t offset,
                      const struct iovec *iov, int n, size_t len)
{
    uint8_t h[HDR];
    memset(h, 0, sizeof(h));
    memcpy(h, "IBCSLOT1", 8);
    put_le64(h + 8, seq);
    put_le32(h + 16, file);
    put_le64(h + 20, offset);
    put_le64(h + 28, len);
    uint32_t c = 0;
    for (int i = 0; i < n; i++)
        c = crc(c, iov[i].iov_base, iov[i].iov_len);
    put_le32(h + 36, c);
    put_le32(h + 44, crc(0, h, 44));
    struct iovec v[1024];
    v[0] = (struct iovec){h, HDR};
    memcpy(v + 1, iov, (size_t)n * sizeof(*iov));
    off_t at = (off_t)slot_at(j, s);
    size_t total = HDR + len, done = 0;
    while (done < total) { /* pwritev to the end, resuming after short writes */
        struct iovec w[1024];
        int k = 0;
        size_t skip = done;
        for (int i = 0; i <= n && k < 1024; i++) {
            if (skip >= v[i].iov_len) {
                skip -= v[i].iov_len;
                continue;
            }
            w[k++] = (struct iovec){(uint8_t *)v[i].iov_base + skip, v[i].iov_len - skip};
            skip = 0;
        }
        ssize_t r = pwritev(j->fd, w, k, at + (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return errno ? errno : EIO;
        done += (size_t)r;
    }
    return 0;
}

/* Group commit: one fdatasync covers every slot written before it started. Returns once slot
 * write number seq is durable: 0, or an errno. */
static int commit(ibc_journal *j, uint64_t seq)
{
    int err = 0;
    pthread_mutex_lock(&j->m);
    while (!err && j->synced < seq) {
        if (j->syncing) {
            pthread_cond_wait(&j->cv, &j->m);
            continue;
        }
        j->syncing = 1;
        uint64_t target = j->seq;
        pthread_mutex_unlock(&j->m);
        int r = fdatasync(j->fd);
        pthread_mutex_lock(&j->m);
        j->syncing = 0;
        if (r)
            err = errno ? errno : EIO;
        else if (target > j->synced)
            j->synced = target;
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->m);
    return err;
}

static void free_slot(ibc_journal *j, unsigned s)
{
    pthread_mutex_lock(&j->m);
    j->state[s] = FREE;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->m);
}

static ibc_status err_status(int err)
{
    return err == ENOSPC ? IBC_ERR_NOSPACE : IBC_ERR_IO;
}

ibc_status ibc_journal_save(ibc_journal *j, unsigned file, uint64_t offset,
                            const struct iovec *iov, int n, unsigned *slot)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    if (len > j->slot_bytes || n > 1022)
        return IBC_ERR_INVALID_ARG;
    uint64_t seq;
    int s = take_slot(j, &seq);
    if (s < 0)
        return IBC_ERR_IO;
    int err = write_slot(j, (unsigned)s, seq, file, offset, iov, n, len);
    ibc_crash_point("journal-save");
    if (!err)
        err = commit(j, seq);
    if (err) {
        free_slot(j, (unsigned)s);
        return err_status(err);
    }
    ibc_crash_point("journal-saved");
    *slot = (unsigned)s;
    return IBC_OK;
}

unsigned ibc_journal_nslots(const ibc_journal *j)
{
    return j->nslots;
}

ibc_status ibc_journal_save_many(ibc_journal *j, const ibc_journal_range *r, unsigned n,
                                 unsigned *slots)
{
    if (n > j->nslots)
        return IBC_ERR_INVALID_ARG;
    for (unsigned i = 0; i < n; i++)
        if (r[i].len > j->slot_bytes)
            return IBC_ERR_INVALID_ARG;
    uint64_t last = 0;
    int err = 0;
    unsigned taken = 0;
    for (; taken < n && !err; taken++) {
        int s = take_slot(j, &last);
        if (s < 0) {
            err = EIO;
            break;
        }
        slots[taken] = (unsigned)s;
        struct iovec v = {(void *)(uintptr_t)r[taken].data, r[taken].len};
        err = write_slot(j, (unsigned)s, last, r[taken].file, r[taken].offset, &v, 1,
                         r[taken].len);
        ibc_crash_point("journal-save");
    }
    if (!err)
        err = commit(j, last);
    if (err) {
        for (unsigned i = 0; i < taken; i++)
            free_slot(j, slots[i]);
        return err_status(err);
    }
    ibc_crash_point("journal-saved");
    return IBC_OK;
}

void ibc_journal_release(ibc_journal *j, unsigned slot)
{
    pthread_mutex_lock(&j->m);
    if (slot < j->nslots)
        j->state[slot] = RELEASED;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->m);
}

ibc_status ibc_journal_finish(ibc_journal *j)
{
    ibc_status st = IBC_OK;
    if (unlink(j->path))
        st = IBC_ERR_IO;
    else
        fsync_dir_of(j->path);
    free_journal(j);
    return st;
}

void ibc_journal_close(ibc_journal *j)
{
    if (j)
        free_journal(j);
}
