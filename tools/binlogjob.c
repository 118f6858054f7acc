/*
 * binlogjob.c - re-keying the binary logs encrypted with key id 1 (see binlogjob.h).
 */
#define _GNU_SOURCE
#include "binlogjob.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

#define HEAD_MAX (70u << 10) /* enough for any head ibc_binlog_parse asks for */
#define CHUNK    (8u << 20)

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Read up to n bytes at off (fewer at the end of the file): the count, or -1. */
static ssize_t read_upto(int fd, uint8_t *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int binlog_state(const ibc_engine *e, bl_file *bf, const ibc_keyring *cur, const ibc_keyring *neu,
                 char *why, size_t whylen)
{
    int fd = open(bf->path, O_RDONLY | O_CLOEXEC), rc = -1;
    struct stat st;
    uint8_t *buf = malloc(HEAD_MAX);
    ssize_t n = fd >= 0 && buf && !fstat(fd, &st) ? read_upto(fd, buf, HEAD_MAX, 0) : -1;
    bf->todo = 0;
    bf->algo = IBC_ALGO_CBC;
    if (n < 0) {
        snprintf(why, whylen, "%s: %s", bf->rel, strerror(errno ? errno : ENOMEM));
        goto out;
    }
    bf->size = (uint64_t)st.st_size;
    if (ibc_binlog_parse(buf, (size_t)n, &bf->b) != 1) {
        snprintf(why, whylen, "%s: not an encrypted binary log", bf->rel);
        goto out;
    }
    /* the first encrypted event, whole (a log with none, or cut inside it, has nothing to
     * re-key) */
    uint8_t h[19];
    uint64_t at = bf->b.enc_start;
    if (read_upto(fd, h, sizeof(h), at) != (ssize_t)sizeof(h) || at + le32(h + 9) > bf->size ||
        le32(h + 9) < sizeof(h)) {
        rc = 0;
        goto out;
    }
    uint32_t len = le32(h + 9);
    uint8_t *ev = malloc(len);
    if (!ev || read_upto(fd, ev, len, at) != (ssize_t)len) {
        snprintf(why, whylen, "%s: %s", bf->rel,
                 ev ? strerror(errno ? errno : EIO) : "out of memory");
        free(ev);
        goto out;
    }
    const ibc_algo algos[2] = {IBC_ALGO_CBC, IBC_ALGO_CTR};
    int opens_new = 0;
    for (int a = 0; a < 2 && !bf->todo; a++) {
        if (ibc_binlog_event_opens(e, &bf->b, cur, algos[a], ev, len, at)) {
            bf->todo = 1;
            bf->algo = algos[a];
        } else {
            opens_new |= ibc_binlog_event_opens(e, &bf->b, neu, algos[a], ev, len, at);
        }
    }
    OPENSSL_cleanse(ev, len);
    free(ev);
    if (bf->todo || opens_new)
        rc = 0;
    else
        snprintf(why, whylen,
                 "neither the current nor the new key id 1 (version %u) opens the "
                 "binary log %s (its event at offset %llu)",
                 bf->b.key_version, bf->rel, (unsigned long long)at);
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* fsync the directory holding path (a rename in it made durable). */
static int sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    else
        snprintf(dir, sizeof(dir), ".");
    return cli_fsync_path(dir);
}

int binlog_rekey_file(const ibc_engine *e, const bl_file *bf, const ibc_keyring *cur,
                      const ibc_keyring *neu, progress *pr, bl_result *res, char *why,
                      size_t whylen)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s" BINLOG_TMP_SUFFIX, bf->path) >= (int)sizeof(tmp)) {
        snprintf(why, whylen, "%s: path too long", bf->rel);
        return -ENAMETOOLONG;
    }
    memset(res, 0, sizeof(*res));
    int in = open(bf->path, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
    struct stat st;
    size_t cap = CHUNK;
    uint8_t *buf = malloc(cap);
    const char *what = "reading";
    if (in < 0 || !buf || fstat(in, &st))
        goto fail;
    what = "writing";
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
    /* the server's own account must still own and append to it */
    if (out < 0 || fchmod(out, st.st_mode & 07777) ||
        (fchown(out, st.st_uid, st.st_gid) && (errno != EPERM || st.st_uid != geteuid())))
        goto fail;
    uint64_t size = (uint64_t)st.st_size, at = 0, head = bf->b.enc_start;
    /* the head (magic, format description, START_ENCRYPTION_EVENT) as it is */
    while (at < head && at < size) {
        size_t n = (size_t)(head - at < cap ? head - at : cap);
        what = "reading";
        if (cli_pread_all(in, buf, n, at))
            goto fail;
        what = "writing";
        if (cli_pwrite_all(out, buf, n, at))
            goto fail;
        at += n;
    }
    while (at < size) {
        size_t want = (size_t)(size - at < cap ? size - at : cap), done = 0;
        what = "reading";
        if (cli_pread_all(in, buf, want, at))
            goto fail;
        uint32_t unsound = 0;
        ibc_status s = res->unframed ? IBC_ERR_CORRUPT
                                     : ibc_binlog_rekey(e, &bf->b, cur, neu, bf->algo, buf, want,
                                                        at, &done, &unsound);
        res->unsound += unsound;
        if (s == IBC_ERR_CORRUPT) {
            /* no event boundary past here: the rest as it is */
            if (!res->unframed)
                res->unframed = at + done;
            if (!done)
                done = want;
        } else if (s != IBC_OK) {
            what = NULL; /* the message is why's */
            snprintf(why, whylen, "%s: %s", bf->rel, ibc_strerror(s));
            rc = -EINVAL;
            goto fail;
        } else if (!done) {
            uint32_t len = want >= 13 ? le32(buf + 9) : 0;
            if (want >= 13 && at + len <= size && len > cap) {
                /* an event larger than the buffer: make room for it */
                uint8_t *nb = realloc(buf, len);
                if (!nb) {
                    errno = ENOMEM;
                    goto fail;
                }
                buf = nb;
                cap = len;
                continue;
            }
            /* the end of the file cuts the last event short: as it is */
            done = want;
            res->torn = 1;
        }
        what = "writing";
        if (cli_pwrite_all(out, buf, done, at))
            goto fail;
        at += done;
        if (pr)
            progress_add(pr, done);
    }
    what = "syncing";
    if (fdatasync(out))
        goto fail;
    ibc_crash_point("rekey-binlog");
    what = "renaming";
    if (rename(tmp, bf->path) || sync_dir_of(bf->path))
        goto fail;
    rc = 0;
    goto done;
fail:
    if (what) {
        rc = -(errno ? errno : EIO);
        snprintf(why, whylen, "%s: %s %s: %s", bf->rel, what,
                 !strcmp(what, "writing") || !strcmp(what, "syncing") ? tmp : bf->path,
                 strerror(-rc));
    }
    if (out >= 0)
        unlink(tmp);
done:
    if (buf)
        OPENSSL_cleanse(buf, cap); /* plaintext passed through it */
    free(buf);
    if (out >= 0)
        close(out);
    if (in >= 0)
        close(in);
    return rc;
}
