/*
 * deepcheck.c - the deep checks of the binary logs and Aria tables encrypted with key id 1
 * (see deepcheck.h).
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binlogjob.h"
#include "deepcheck.h"

/* The report line of file f: the dataset's, or a new one. */
static rep_file *line_of(dataset *ds, report *rep, const df_file *f)
{
    for (size_t i = 0; i < ds->n; i++)
        if (ds->v[i].f == f && ds->v[i].rf)
            return ds->v[i].rf;
    return report_file(rep, f);
}

/* Every event of the binary logs and of a replica's relay logs decrypted and checked: its
 * CRC-32, or in a binary log without event checksums its end position (engine/binlog.c). */
size_t deep_check_binlogs(const cli_global *g, const char *cmd, const ibc_engine *e, dataset *ds,
                          const ibc_keyring *kr, report *rep)
{
    size_t nbad = 0;
    uint8_t probe[IBC_KEY_MAX];
    size_t plen;
    int have1 = ibc_keyring_get(kr, 1, 1, probe, &plen) == IBC_OK;
    explicit_bzero(probe, sizeof(probe));
    /* the logs (binlog_kind reads each candidate's head: once), and their size for progress (a
     * busy server's binary logs can be many GB) */
    size_t *logs = malloc((ds->files.n + 1) * sizeof(*logs)), nlogs = 0;
    uint64_t total = 0;
    if (!logs) {
        cli_err("%s: out of memory: the binary logs are not checked", cmd);
        return 1;
    }
    for (size_t i = 0; i < ds->files.n; i++)
        if (binlog_kind(&ds->files.v[i])) {
            logs[nlogs++] = i;
            total += ds->files.v[i].size;
        }
    progress pr, *prp = NULL;
    if (have1 && total) {
        progress_start(&pr, g, "binary logs", total);
        prp = &pr;
    }
    for (size_t j = 0; j < nlogs; j++) {
        const df_file *f = &ds->files.v[logs[j]];
        if (!have1) {
            cli_info(g,
                     "%s: key id 1 is not in the keys: the binary logs encrypted with it "
                     "(%s, ...) are not checked",
                     cmd, f->rel);
            break;
        }
        rep_file *rf = line_of(ds, rep, f);
        bl_file b = {.path = f->path, .rel = f->rel};
        bl_result res;
        char why[1024];
        int st = binlog_state(e, &b, kr, NULL, why, sizeof(why));
        if (st == -3) {
            rep_note(rf, "a relay log without event checksums: its events are not checked");
        } else if (st) {
            nbad++;
            rep_error(rf, "%s",
                      st == -2 ? "key id 1 does not decrypt this binary log "
                                 "(KEY MISMATCH)"
                               : why);
        } else if (binlog_check_file(e, &b, kr, prp, &res, why, sizeof(why))) {
            nbad++;
            rep_io_error(rf, "%s", why);
        } else {
            rf->have_binlog = b.b.relay ? 2 : 1;
            rf->key_state = REP_KEY_OK;
            rf->binlog_events = res.events;
            rf->binlog_algo = b.algo;
            nbad += res.unsound || res.unframed;
            if (res.unsound)
                rep_error(rf,
                          "%llu of %llu events do not decrypt to a sound event with key id 1 "
                          "(the first at offset %llu)",
                          (unsigned long long)res.unsound, (unsigned long long)res.events,
                          (unsigned long long)res.first_unsound);
            else if (res.unframed)
                rep_error(rf, "an impossible event length at offset %llu: the rest is not checked",
                          (unsigned long long)res.unframed);
            else if (res.torn)
                rep_note(rf, "its last event is cut short (the server stopped while writing it)");
        }
    }
    if (prp)
        progress_end(prp);
    free(logs);
    return nbad;
}

/* Up to n bytes at off of an Aria table's file: from fd, or from mem (len bytes) when fd < 0.
 * The count (fewer at the end), or -1 with errno set. */
static ssize_t src_read(const deep_src *src, uint8_t *buf, size_t n, uint64_t off)
{
    if (src->fd >= 0)
        return pread(src->fd, buf, n, (off_t)off);
    if (off >= src->len)
        return 0;
    size_t k = src->len - off < n ? (size_t)(src->len - off) : n;
    memcpy(buf, src->mem + off, k);
    return (ssize_t)k;
}

/* One file of an Aria table (index_file: its .MAI, from its first index page; else its .MAD):
 * every page key 1 opens under the header's IV, counted in *pages. Returns 0, or -1 with the
 * first page it does not open (or cannot read) named in why. algo: as found (AUTO: the first
 * encrypted page tells). */
static int aria_file_check(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *kr,
                           ibc_algo *algo, const deep_src *src, int index_file, uint64_t *pages,
                           char *why, size_t whylen)
{
    const uint32_t bs = a->block_size;
    uint8_t *page = malloc(bs);
    int rc = 0;
    if (!page) {
        snprintf(why, whylen, "%s", strerror(ENOMEM));
        rc = -1;
    }
    for (uint64_t pno = index_file ? a->keystart / bs : 0; !rc; pno++) {
        ssize_t n = src_read(src, page, bs, pno * bs);
        if (n == 0 || (n > 0 && n < (ssize_t)bs))
            break; /* (a partial last block is not a page) */
        if (n < 0) {
            snprintf(why, whylen, "%s: %s", src->name, strerror(errno));
            rc = -1;
            break;
        }
        int r = ibc_aria_page_check(e, a, kr, *algo == IBC_ALGO_AUTO ? IBC_ALGO_CBC : *algo,
                                    index_file, page, pno);
        if (r == -1 && *algo == IBC_ALGO_AUTO &&
            ibc_aria_page_check(e, a, kr, IBC_ALGO_CTR, index_file, page, pno) == 1) {
            *algo = IBC_ALGO_CTR;
            r = 1;
        } else if (r == 1 && *algo == IBC_ALGO_AUTO) {
            *algo = IBC_ALGO_CBC;
        }
        if (r < 0 && r == -1 && !*pages) {
            snprintf(why, whylen, "key id 1 does not decrypt this Aria table (KEY MISMATCH)");
            rc = -1;
        } else if (r < 0) {
            snprintf(why, whylen, "%s page %llu %s", index_file ? ".MAI" : ".MAD",
                     (unsigned long long)pno,
                     r == -2 ? "carries no checksum"
                             : "does not decrypt with key id 1 to its checksum (damaged)");
            rc = -1;
        }
        *pages += r == 1;
    }
    if (page)
        explicit_bzero(page, bs); /* the last page's plaintext */
    free(page);
    return rc;
}

int deep_check_aria_table(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *kr,
                          ibc_algo algo, const deep_src *mad, const deep_src *mai, rep_file *rf)
{
    char why[4400];
    uint64_t pages = 0;
    ibc_algo al = algo;
    if (aria_file_check(e, a, kr, &al, mad, 0, &pages, why, sizeof(why)) ||
        aria_file_check(e, a, kr, &al, mai, 1, &pages, why, sizeof(why))) {
        rep_error(rf, "%s", why);
        return 1;
    }
    rf->have_aria = 1;
    rf->key_state = REP_KEY_OK;
    rf->aria_pages = pages;
    rf->aria_algo = al;
    return 0;
}

/* Every page of the Aria tables decrypted and its checksum checked, one report line each (on
 * the .MAI). */
size_t deep_check_aria(const ibc_engine *e, dataset *ds, const ibc_keyring *kr, ibc_algo algo,
                       report *rep)
{
    size_t nbad = 0;
    for (size_t i = 0; i < ds->files.n; i++) {
        const df_file *f = &ds->files.v[i];
        ibc_aria a;
        int fd = f->kind == DF_OTHER ? df_aria_open(f->path, O_RDONLY, &a) : -1;
        if (fd < 0)
            continue;
        rep_file *rf = line_of(ds, rep, f);
        char mad[4200];
        snprintf(mad, sizeof(mad), "%.*sD", (int)strlen(f->path) - 1, f->path);
        deep_src smai = {.name = f->path, .fd = fd}, smad = {.name = mad, .fd = -1};
        smad.fd = open(mad, O_RDONLY | O_CLOEXEC);
        if (smad.fd < 0) {
            nbad++;
            rep_error(rf, "%s: %s", mad, strerror(errno));
        } else {
            nbad += (size_t)deep_check_aria_table(e, &a, kr, algo, &smad, &smai, rf);
            close(smad.fd);
        }
        close(fd);
    }
    return nbad;
}
