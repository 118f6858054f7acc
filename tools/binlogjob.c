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

/* A relay log is named BASE-relay-bin.NNNNNN by default (relay_log=NAME names it otherwise;
 * with event checksums that does not matter: their CRC tells a key either way). */
static int relay_name(const char *rel)
{
    return strstr(rel, "relay-bin") != NULL;
}

int binlog_kind(const df_file *f)
{
    size_t n = strlen(f->rel), ns = strlen(BINLOG_TMP_SUFFIX);
    if (f->kind != DF_OTHER || (n > ns && !strcmp(f->rel + n - ns, BINLOG_TMP_SUFFIX)) ||
        !df_binlog_encrypted(f->path))
        return 0;
    return relay_name(f->rel) ? 2 : 1;
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
    bf->b.relay = relay_name(bf->rel);
    if (bf->b.relay && !bf->b.checksums) {
        /* its events' end positions are the primary's: without CRCs nothing tells a key */
        snprintf(why, whylen, "%s: a relay log without event checksums (binlog_checksum=NONE): "
                 "which key 1 opens it cannot be told", bf->rel);
        rc = -3;
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
    /* an event without a whole cipher block decrypts alike in AES_CBC and AES_CTR (its bytes
     * are XORed with AES-ECB(IV) either way): the first event with one tells the cipher */
    for (int k = 0; k < 64 && len - 4 < 16; k++) {
        uint64_t next = at + len;
        if (read_upto(fd, h, sizeof(h), next) != (ssize_t)sizeof(h) || le32(h + 9) < sizeof(h) ||
            next + le32(h + 9) > bf->size)
            break;
        at = next;
        len = le32(h + 9);
    }
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
            opens_new |= neu && ibc_binlog_event_opens(e, &bf->b, neu, algos[a], ev, len, at);
        }
    }
    OPENSSL_cleanse(ev, len);
    free(ev);
    rc = bf->todo || opens_new ? 0 : -2;
    if (rc && neu)
        snprintf(why, whylen,
                 "neither the current nor the new key id 1 (version %u) opens the "
                 "binary log %s (its event at offset %llu)",
                 bf->b.key_version, bf->rel, (unsigned long long)at);
    else if (rc)
        snprintf(why, whylen,
                 "key id 1 (version %u) does not open the binary log %s (its event "
                 "at offset %llu)",
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

/* One pass over a log (in): its head, then buffers of whole events handed to step, which
 * sets *done; the bytes no event boundary covers (a last event cut short, everything after an
 * impossible length) are left as they are. With out >= 0 every byte is written there at its
 * offset. Returns 0, -1 with errno and what set, or -2 with why set. */
typedef struct walk {
    const ibc_engine *e;
    const bl_file *bf;
    const ibc_keyring *from, *to; /* to: NULL for a check */
    int in, out;
    progress *pr;
    bl_result *res;
    const char *what;
} walk;

static ibc_status walk_step(walk *w, uint8_t *buf, size_t n, uint64_t at, size_t *done)
{
    uint32_t unsound = 0;
    uint64_t events = 0, first_bad = 0;
    ibc_status s = w->to ? ibc_binlog_rekey(w->e, &w->bf->b, w->from, w->to, w->bf->algo, buf, n,
                                            at, done, &unsound)
                         : ibc_binlog_check(w->e, &w->bf->b, w->from, w->bf->algo, buf, n, at, done,
                                            &events, &unsound, &first_bad);
    if (unsound && !w->res->unsound)
        w->res->first_unsound = first_bad;
    w->res->unsound += unsound;
    w->res->events += events;
    return s;
}

static int walk_log(walk *w, uint64_t size, char *why, size_t whylen)
{
    size_t cap = CHUNK;
    uint8_t *buf = malloc(cap);
    uint64_t at = 0, head = w->bf->b.enc_start;
    int rc = -1;
    w->what = "reading";
    if (!buf)
        goto out;
    while (at < size) {
        size_t want = (size_t)(size - at < cap ? size - at : cap), done = 0;
        if (at < head && want > head - at)
            want = (size_t)(head - at);
        w->what = "reading";
        if (cli_pread_all(w->in, buf, want, at))
            goto out;
        ibc_status s =
            at < head || w->res->unframed ? IBC_ERR_CORRUPT : walk_step(w, buf, want, at, &done);
        if (at < head) {
            done = want; /* the head (magic, format description, START_ENCRYPTION_EVENT) */
        } else if (s == IBC_ERR_CORRUPT) {
            if (!w->res->unframed)
                w->res->unframed = at + done;
            if (!done)
                done = want;
        } else if (s != IBC_OK) {
            snprintf(why, whylen, "%s: %s", w->bf->rel, ibc_strerror(s));
            rc = -2;
            goto out;
        } else if (!done) {
            uint32_t len = want >= 13 ? le32(buf + 9) : 0;
            if (want >= 13 && at + len <= size && len > cap) {
                /* an event larger than the buffer: make room for it */
                uint8_t *nb = realloc(buf, len);
                if (!nb) {
                    errno = ENOMEM;
                    goto out;
                }
                buf = nb;
                cap = len;
                continue;
            }
            done = want; /* the end of the file cuts the last event short */
            w->res->torn = 1;
        }
        w->what = "writing";
        if (w->out >= 0 && cli_pwrite_all(w->out, buf, done, at))
            goto out;
        at += done;
        if (w->pr)
            progress_add(w->pr, done);
    }
    rc = 0;
out:
    if (buf)
        OPENSSL_cleanse(buf, cap); /* plaintext passed through it */
    free(buf);
    return rc;
}

int binlog_check_file(const ibc_engine *e, const bl_file *bf, const ibc_keyring *kr, progress *pr,
                      bl_result *res, char *why, size_t whylen)
{
    memset(res, 0, sizeof(*res));
    walk w = {e, bf, kr, NULL, open(bf->path, O_RDONLY | O_CLOEXEC), -1, pr, res, "reading"};
    struct stat st;
    int rc = w.in < 0 || fstat(w.in, &st) ? -1 : walk_log(&w, (uint64_t)st.st_size, why, whylen);
    if (rc == -1) {
        rc = -(errno ? errno : EIO);
        snprintf(why, whylen, "%s: %s: %s", bf->rel, w.what, strerror(-rc));
    }
    if (w.in >= 0)
        close(w.in);
    return rc < 0 ? rc : 0;
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
    walk w = {e, bf, cur, neu, open(bf->path, O_RDONLY | O_CLOEXEC), -1, pr, res, "reading"};
    int rc = -1;
    struct stat st;
    const char *what = "reading";
    if (w.in < 0 || fstat(w.in, &st))
        goto fail;
    what = "writing";
    w.out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
    /* the server's own account must still own and append to it */
    if (w.out < 0 || fchmod(w.out, st.st_mode & 07777) ||
        (fchown(w.out, st.st_uid, st.st_gid) && (errno != EPERM || st.st_uid != geteuid())))
        goto fail;
    int r = walk_log(&w, (uint64_t)st.st_size, why, whylen);
    what = w.what;
    if (r == -2) {
        what = NULL; /* the message is why's */
        rc = -EINVAL;
    }
    if (r)
        goto fail;
    what = "syncing";
    if (fdatasync(w.out))
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
    if (w.out >= 0)
        unlink(tmp);
done:
    if (w.out >= 0)
        close(w.out);
    if (w.in >= 0)
        close(w.in);
    return rc;
}
