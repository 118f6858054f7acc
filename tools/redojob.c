/*
 * redojob.c - see redojob.h.
 *
 * The undo copy, REDO_UNDO_NAME in the directory:
 *   [0,16)   magic "ibdcrypt-redo-u1"
 *   [16,24)  the log's size, [24,28) number of ranges, [28,32) zero   (little-endian)
 *   ranges:  offset (8), length (8), then the bytes
 *   trailer: "complete", CRC-32C of everything before the trailer (4), zero (4)
 * It counts only when the trailer is there and its CRC matches: it is written, fsynced (file
 * and directory) before the first byte of the log changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "redojob.h"

#define MAGIC "ibdcrypt-redo-u1"
#define TRAILER "complete"
#define CHUNK ((size_t)1 << 20)
#define HDR 512 /* the log header block: ibc_redo_rekey writes it last */

typedef struct range {
    uint64_t off, len;
} range;

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void undo_path(const char *dir, char *out, size_t n)
{
    snprintf(out, n, "%s/" REDO_UNDO_NAME, dir);
}

/* The bytes a re-key changes: the header, and the pending redo from the checkpoint to the end
 * of the log (as file ranges of the ring, which may wrap round: log_t::calc_lsn_offset). */
static size_t rekey_ranges(const ibc_redo_info *ri, range out[3])
{
    size_t n = 0;
    out[n++] = (range){0, HDR};
    uint64_t start = 12288, pend = ri->pending_bytes; /* log_t::START_OFFSET */
    if (!pend)
        return n;
    if (ri->end_offset - start >= pend) {
        out[n++] = (range){ri->end_offset - pend, pend};
    } else {
        uint64_t head = ri->end_offset - start; /* the part after the wrap */
        out[n++] = (range){ri->file_size - (pend - head), pend - head};
        if (head)
            out[n++] = (range){start, head};
    }
    return n;
}

/* ---- the copy ---------------------------------------------------------------------------- */

static int undo_save(const ibc_engine *e, const char *dir, int logfd, const ibc_redo_info *ri,
                     const range *rg, size_t nrg, char *err, size_t errlen)
{
    char path[PATH_MAX];
    undo_path(dir, path, sizeof(path));
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    uint8_t *buf = malloc(CHUNK);
    uint8_t h[32] = {0};
    uint32_t crc = 0;
    int rc = fd < 0 || !buf ? -1 : 0;
    memcpy(h, MAGIC, 16);
    put64(h + 16, ri->file_size);
    h[24] = (uint8_t)nrg;
    uint64_t at_out = 0; /* where the copy's next bytes go */
    if (!rc) {
        rc = cli_pwrite_all(fd, h, sizeof(h), at_out);
        at_out += sizeof(h);
        crc = ibc_crc32c(e, crc, h, sizeof(h));
    }
    for (size_t i = 0; !rc && i < nrg; i++) {
        uint8_t rh[16];
        put64(rh, rg[i].off);
        put64(rh + 8, rg[i].len);
        rc = cli_pwrite_all(fd, rh, sizeof(rh), at_out);
        at_out += sizeof(rh);
        crc = ibc_crc32c(e, crc, rh, sizeof(rh));
        for (uint64_t at = 0; !rc && at < rg[i].len; at += CHUNK) {
            size_t n = rg[i].len - at < CHUNK ? (size_t)(rg[i].len - at) : CHUNK;
            rc = cli_pread_all(logfd, buf, n, rg[i].off + at);
            if (!rc)
                rc = cli_pwrite_all(fd, buf, n, at_out);
            at_out += n;
            crc = ibc_crc32c(e, crc, buf, n);
        }
    }
    if (!rc) {
        uint8_t t[16] = {0};
        memcpy(t, TRAILER, 8);
        for (int i = 0; i < 4; i++)
            t[8 + i] = (uint8_t)(crc >> (8 * i));
        rc = cli_pwrite_all(fd, t, sizeof(t), at_out);
    }
    if (!rc)
        rc = fsync(fd);
    int saved = errno;
    if (fd >= 0)
        close(fd);
    free(buf);
    if (!rc)
        rc = cli_fsync_path(dir);
    if (rc) {
        snprintf(err, errlen, "%s: cannot write the redo log's undo copy: %s", path,
                 strerror(saved ? saved : EIO));
        unlink(path);
        return -1;
    }
    ibc_crash_point("redo-undo-saved");
    return 0;
}

int redo_undo_restore(const ibc_engine *e, const char *dir, int logfd, char *err, size_t errlen)
{
    char path[PATH_MAX];
    undo_path(dir, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    uint8_t h[32], t[16];
    uint8_t *buf = malloc(CHUNK);
    int complete = 0, rc = 0;
    /* first pass: is it complete? (the trailer and the CRC of everything before it) */
    if (buf && !fstat(fd, &st) && st.st_size >= (off_t)(sizeof(h) + sizeof(t)) &&
        pread(fd, t, sizeof(t), st.st_size - (off_t)sizeof(t)) == (ssize_t)sizeof(t) &&
        !memcmp(t, TRAILER, 8)) {
        uint32_t want = (uint32_t)t[8] | (uint32_t)t[9] << 8 | (uint32_t)t[10] << 16 |
                        (uint32_t)t[11] << 24;
        uint32_t crc = 0;
        uint64_t body = (uint64_t)st.st_size - sizeof(t);
        for (uint64_t at = 0; at < body; at += CHUNK) {
            size_t n = body - at < CHUNK ? (size_t)(body - at) : CHUNK;
            if (pread(fd, buf, n, (off_t)at) != (ssize_t)n)
                break;
            crc = ibc_crc32c(e, crc, buf, n);
            if (at + n == body)
                complete = crc == want;
        }
    }
    /* second pass: put the bytes back */
    if (complete) {
        uint64_t at_in = sizeof(h);
        rc = cli_pread_all(fd, h, sizeof(h), 0);
        if (!rc && memcmp(h, MAGIC, 16))
            rc = -1;
        for (unsigned i = 0; !rc && i < h[24]; i++) {
            uint8_t rh[16];
            rc = cli_pread_all(fd, rh, sizeof(rh), at_in);
            at_in += sizeof(rh);
            uint64_t off = get64(rh), len = get64(rh + 8);
            for (uint64_t at = 0; !rc && at < len; at += CHUNK) {
                size_t n = len - at < CHUNK ? (size_t)(len - at) : CHUNK;
                rc = cli_pread_all(fd, buf, n, at_in);
                at_in += n;
                if (!rc)
                    rc = cli_pwrite_all(logfd, buf, n, off + at);
            }
        }
        if (!rc)
            rc = fsync(logfd);
    }
    close(fd);
    free(buf);
    if (rc) {
        snprintf(err, errlen, "%s: putting the redo log's original bytes back failed: %s", path,
                 strerror(errno ? errno : EIO));
        return -1;
    }
    if (unlink(path) || cli_fsync_path(dir)) {
        snprintf(err, errlen, "%s: cannot remove: %s", path, strerror(errno));
        return -1;
    }
    return complete;
}

/* ---- the re-key -------------------------------------------------------------------------- */

typedef struct wctx {
    int fd;
    const range *rg;
    size_t nrg;
    progress *pr;
    uint64_t written;
    int bad_range;
    int err;
} wctx;

static int write_fn(void *c, uint64_t off, const uint8_t *data, size_t len)
{
    wctx *w = c;
    int inside = 0;
    for (size_t i = 0; i < w->nrg && !inside; i++)
        inside = off >= w->rg[i].off && off + len <= w->rg[i].off + w->rg[i].len;
    if (!inside) {
        w->bad_range = 1; /* never write a byte the undo copy does not hold */
        return 1;
    }
    ibc_crash_point("redo-write");
    if (cli_pwrite_all(w->fd, data, len, off)) {
        w->err = errno ? errno : EIO;
        return 1;
    }
    w->written += len;
    progress_add(w->pr, len);
    return 0;
}

ibc_status redo_rekey_apply(const ibc_engine *e, ibc_redo *r, const ibc_redo_target *t,
                            int fd, const char *dir, progress *pr, uint64_t *written, char *err,
                            size_t errlen)
{
    ibc_redo_info ri;
    ibc_redo_get_info(r, &ri);
    range rg[3];
    size_t nrg = rekey_ranges(&ri, rg);
    if (!ri.scanned) {
        snprintf(err, errlen, "internal: the redo log was not scanned");
        return IBC_ERR_INVALID_ARG;
    }
    if (undo_save(e, dir, fd, &ri, rg, nrg, err, errlen))
        return IBC_ERR_IO;
    wctx w = {.fd = fd, .rg = rg, .nrg = nrg, .pr = pr};
    ibc_redo_result res;
    ibc_status st = ibc_redo_rekey(r, t, write_fn, &w, &res, err, errlen);
    if (w.bad_range) {
        snprintf(err, errlen, "internal: a redo write outside the pending redo; the log is put "
                              "back when the command runs again");
        return IBC_ERR_INVALID_ARG;
    }
    if (w.err) {
        snprintf(err, errlen, "ib_logfile0: write failed: %s", strerror(w.err));
        return IBC_ERR_IO;
    }
    if (st != IBC_OK)
        return st;
    if (fsync(fd)) {
        snprintf(err, errlen, "ib_logfile0: fsync failed: %s", strerror(errno));
        return IBC_ERR_IO;
    }
    ibc_crash_point("redo-written");
    char path[PATH_MAX];
    undo_path(dir, path, sizeof(path));
    if (unlink(path) || cli_fsync_path(dir)) {
        snprintf(err, errlen, "%s: cannot remove: %s", path, strerror(errno));
        return IBC_ERR_IO;
    }
    *written = w.written;
    return IBC_OK;
}
