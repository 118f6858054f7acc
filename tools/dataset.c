/*
 * dataset.c - see dataset.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "manifest.h"
#include "ibdcrypt/journal.h"

#define RETRIES 3 /* re-reads of a page whose checksum fails, 100 ms apart */
#define BATCH 64

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Settle the key and the algorithm by trial decryption of the first encrypted pages. */
static void trial_key(ds_file *d)
{
    ibc_space_info info;
    ibc_space_get_info(d->space, &info);
    uint32_t ps = info.page_size;
    uint8_t *p = malloc(ps);
    int tries = 0;
    d->rf->key_state = REP_KEY_UNPROVEN;
    for (uint64_t i = 1; p && i < d->f->size / ps && tries < 8; i++) {
        if (pread(d->fd, p, ps, (off_t)(i * ps)) != (ssize_t)ps)
            break;
        ibc_status st = ibc_space_check_key(d->space, p, (uint32_t)(d->first_page + i));
        if (st == IBC_ERR_INVALID_ARG)
            continue; /* not encrypted */
        tries++;
        if (st == IBC_OK) {
            d->rf->key_state = REP_KEY_OK;
            break;
        }
        if (st == IBC_ERR_KEY_MISMATCH) {
            d->rf->key_state = REP_KEY_MISMATCH;
            break;
        }
    }
    free(p);
}

static void open_space(dataset *ds, ds_file *d)
{
    char err[256];
    uint8_t prefix[IBC_PAGE0_PREFIX];
    uint32_t ps;
    ssize_t r = pread(d->fd, prefix, sizeof(prefix), 0);
    if (r != (ssize_t)sizeof(prefix)) {
        rep_error(d->rf, "not an InnoDB tablespace: file too short (%llu bytes)",
                  (unsigned long long)d->f->size);
        return;
    }
    if (ibc_page0_size(prefix, sizeof(prefix), &ps, err, sizeof(err)) != IBC_OK) {
        if (all_zero(prefix, sizeof(prefix))) {
            d->rf->uninitialized = 1;
            rep_note(d->rf, "page 0 is all zero: the file was created but never flushed; crash "
                            "recovery initializes it from the redo log");
            return;
        }
        rep_error(d->rf, "page 0: %s", err);
        return;
    }
    uint8_t *p0 = malloc(ps);
    if (!p0 || pread(d->fd, p0, ps, 0) != (ssize_t)ps) {
        rep_error(d->rf, "page 0: file shorter than its page size %u", ps);
        free(p0);
        return;
    }
    if (all_zero(p0, ps)) {
        d->rf->uninitialized = 1;
        rep_note(d->rf, "page 0 is all zero: the file was created but never flushed; crash "
                        "recovery initializes it from the redo log");
        free(p0);
        return;
    }
    ibc_status st = ibc_space_open(ds->e, p0, ps, &d->space, err, sizeof(err));
    if (st != IBC_OK) {
        rep_error(d->rf, "page 0: %s", err);
        free(p0);
        return;
    }
    d->space_owned = 1;
    d->unit = ps;
    ibc_space_info info;
    ibc_space_get_info(d->space, &info);
    if (info.space_id == 0 && d->f->size >= 6ull * ps &&
        pread(d->fd, p0, ps, 5 * (off_t)ps) == (ssize_t)ps &&
        ibc_space_read_trx_sys(d->space, p0, ps) != IBC_OK)
        rep_note(d->rf, "no doublewrite buffer in the TRX_SYS page; using the default location");
    free(p0);
    if (info.has_crypt_data && ds->keys->kr) {
        st = ibc_space_set_key(d->space, ds->keys->kr, ds->keys->algo);
        if (st == IBC_ERR_KEY_MISSING)
            d->rf->key_state = REP_KEY_MISSING;
        else if (st == IBC_OK && info.crypt_scheme == 1)
            trial_key(d);
    } else if (info.has_crypt_data && info.crypt_scheme == 1 && (ds->flags & DS_DEEP)) {
        d->rf->key_state = REP_KEY_NONE;
    }
    rep_space(d->rf, d->space);
}

/* A tablespace shorter than page 0 records (FSP_SIZE, fsp0fsp.h: the pages the server
 * allocates within): its last pages are missing, as in a copy cut short. Every page left may
 * be sound, and the server opens such a file at its own size (fil0fil.cc
 * fil_node_t::read_page0) and fails only when it reads a missing page. The server extends a
 * file before it records the new size (fsp0fsp.cc fsp_try_extend_data_file), to that size in
 * bytes rounded down to a multiple of 4096 (fil0fil.cc fil_space_extend_must_retry:
 * ROW_FORMAT=COMPRESSED pages of 1K or 2K are appended by their first write), so a sound file
 * holds at least that much. The size of the system tablespace is that of all its files. */
int ds_size_short(uint32_t size_in_header, uint32_t unit, uint64_t bytes, int several, char *why,
                  size_t n)
{
    uint64_t need = ((uint64_t)size_in_header * unit) & ~(uint64_t)4095;
    if (bytes >= need)
        return 0;
    uint64_t have = bytes / unit;
    char missing[64];
    if (have + 1 == size_in_header)
        snprintf(missing, sizeof(missing), "page %llu is", (unsigned long long)have);
    else
        snprintf(missing, sizeof(missing), "pages %llu to %u are", (unsigned long long)have,
                 size_in_header - 1);
    snprintf(why, n, "truncated: page 0 records %u pages (FSP_SIZE), the file%s hold%s %llu; %s missing",
             size_in_header, several ? "s" : "", several ? "" : "s", (unsigned long long)have,
             missing);
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ib_logfile0: header and checkpoints, and the log key when keys are given (a known-plaintext
 * check: redo.h, ibc_redo_set_key). */
static void open_redo(dataset *ds, ds_file *d, uint32_t page_size)
{
    char err[512];
    ibc_status st = ibc_redo_open(ds->e, d->f->path, &d->redo, err, sizeof(err));
    if (st != IBC_OK) {
        if (st == IBC_ERR_IO)
            rep_io_error(d->rf, "%s", err);
        else
            rep_error(d->rf, "%s", err);
        return;
    }
    ds_redo_setup(ds, d, page_size);
}

void ds_redo_setup(dataset *ds, ds_file *d, uint32_t page_size)
{
    char err[512];
    ibc_status st;
    if (page_size)
        ibc_redo_set_page_size(d->redo, page_size);
    ibc_redo_info ri;
    ibc_redo_get_info(d->redo, &ri);
    if (ri.encrypted && ds->keys->kr) {
        st = ibc_redo_set_key(d->redo, ds->keys->kr, ds->keys->algo, err, sizeof(err));
        if (st == IBC_OK) {
            ibc_redo_get_info(d->redo, &ri);
            d->rf->key_state = ri.key_verified ? REP_KEY_OK : REP_KEY_UNPROVEN;
        } else if (st == IBC_ERR_KEY_MISSING) {
            d->rf->key_state = REP_KEY_MISSING;
        } else if (st == IBC_ERR_KEY_MISMATCH) {
            d->rf->key_state = REP_KEY_MISMATCH;
            rep_note(d->rf, "%s", err);
        } else if (st == IBC_ERR_IO) {
            rep_io_error(d->rf, "%s", err);
        } else {
            rep_error(d->rf, "%s", err);
        }
    } else if (ri.encrypted && (ds->flags & DS_DEEP)) {
        d->rf->key_state = REP_KEY_NONE;
    }
    rep_redo(d->rf, d->redo, NULL);
}

void ds_redo_reopen(dataset *ds, ds_file *d)
{
    ibc_redo_free(d->redo);
    d->redo = NULL;
    d->rf->key_state = REP_KEY_NA;
    d->rf->have_redo = 0;
    d->rf->error[0] = 0;
    d->rf->env_error = 0;
    uint32_t ps = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->v[i].f->kind == DF_SYSTEM && ds->v[i].f->sys_no == 1 && ds->v[i].space)
            ps = ds->v[i].unit;
    open_redo(ds, d, ps);
}

ibc_status ds_redo_verify(dataset *ds, ds_file *d, int deep)
{
    char err[512];
    ibc_redo_result res = {0};
    (void)ds;
    if (!d->redo)
        return IBC_ERR_INVALID_ARG;
    ibc_redo_info ri;
    ibc_redo_get_info(d->redo, &ri);
    /* deep needs the log key; without it the framing and CRCs are still checked */
    int can_deep = deep && (!ri.encrypted || d->rf->key_state == REP_KEY_OK ||
                            d->rf->key_state == REP_KEY_UNPROVEN);
    if (deep && !can_deep && ri.encrypted)
        d->rf->redo_unchecked = 1;
    ibc_status st = ibc_redo_verify(d->redo, can_deep, &res, err, sizeof(err));
    if (st == IBC_ERR_KEY_MISMATCH) {
        d->rf->key_state = REP_KEY_MISMATCH;
        rep_note(d->rf, "%s", err);
    } else if (st == IBC_ERR_IO) {
        rep_io_error(d->rf, "%s", err);
    } else if (st != IBC_OK) {
        rep_error(d->rf, "%s", err);
    }
    rep_redo(d->rf, d->redo, &res);
    return st;
}

/* An ibdcrypt backup of a server whose innodb_data_file_path names its files otherwise than
 * ibdata1, ibdata2, ...: the manifest lists them as "system", in order. Returns -1 (message
 * printed) if one of them is missing. */
static int system_from_manifest(dataset *ds, const char *dir)
{
    char path[PATH_MAX], err[600];
    manifest m;
    if (snprintf(path, sizeof(path), "%s/%s", dir, MANIFEST_NAME) >= (int)sizeof(path) ||
        access(path, R_OK) || manifest_load(path, &m, err, sizeof(err)))
        return 0; /* (verify --manifest says what is wrong with one) */
    char **paths = calloc(m.nsys + 1, sizeof(char *));
    int custom = 0, rc = 0;
    for (size_t i = 0; paths && i < m.n; i++) {
        unsigned k = m.v[i].sys_no;
        char std[32];
        if (!k)
            continue;
        snprintf(std, sizeof(std), "ibdata%u", k);
        custom |= strcmp(m.v[i].path, std) != 0;
        if (asprintf(&paths[k - 1], "%s/%s", dir, m.v[i].path) < 0)
            paths[k - 1] = NULL;
    }
    for (unsigned k = 0; paths && k < m.nsys; k++)
        custom &= paths[k] != NULL; /* (out of memory: the names as they are) */
    if (custom && paths) {
        rc = datadir_set_system(&ds->files, paths, m.nsys, "the backup's manifest", err,
                                sizeof(err));
        if (rc)
            cli_err("%s", err);
    }
    for (unsigned k = 0; paths && k < m.nsys; k++)
        free(paths[k]);
    free(paths);
    manifest_free(&m);
    return rc;
}

int dataset_open(dataset *ds, const cli_global *g, const ibc_engine *e, cli_keys *keys,
                 char *const *paths, size_t npaths, int flags, report *rep)
{
    char err[512];
    memset(ds, 0, sizeof(*ds));
    ds->g = g;
    ds->e = e;
    ds->keys = keys;
    ds->flags = flags;
    ds->rep = rep;
    if (datadir_scan(paths, npaths, (flags & DS_INSIDE) != 0, &ds->files, err, sizeof(err))) {
        cli_err("%s", err);
        return EXIT_ENV;
    }
    /* the server's datadir, as --defaults-file describes it: its system tablespace, undo
     * tablespaces and redo log may live in directories of their own */
    const mycnf *c = keys ? &keys->cnf : NULL;
    struct stat st_p, st_c;
    int homes = c && c->datadir && npaths == 1 && !stat(paths[0], &st_p) &&
                !stat(c->datadir, &st_c) && st_p.st_dev == st_c.st_dev &&
                st_p.st_ino == st_c.st_ino;
    if (homes && datadir_add_homes(&ds->files, c->datadir, c->data_home_dir, c->data_file_path,
                                   c->undo_directory, c->log_dir, err, sizeof(err))) {
        cli_err("%s", err);
        return EXIT_ENV;
    }
    /* and its binary logs (log_bin) and relay logs (relay_log) may be elsewhere: re-keyed,
     * checked and counted with the rest, but not backed up (a backup holds the datadir's
     * files) */
    if (homes && !(flags & DS_ALL) &&
        (datadir_add_binlogs(&ds->files, c->datadir, "log_bin", c->log_bin, err, sizeof(err)) <
             0 ||
         datadir_add_binlogs(&ds->files, c->datadir, "relay_log", c->relay_log, err,
                             sizeof(err)) < 0)) {
        cli_err("%s", err);
        return EXIT_ENV;
    }
    /* a backup: mariadb-backup's backup-my.cnf, or ibdcrypt's manifest, names the files of
     * its system tablespace */
    char bcnf[PATH_MAX];
    mycnf b;
    if (!homes && npaths == 1 && system_from_manifest(ds, paths[0]))
        return EXIT_ENV;
    /* (an incremental backup holds ibdata1.delta, not ibdata1: prepare refuses it) */
    if (!homes && !datadir_delta(&ds->files) && npaths == 1 &&
        snprintf(bcnf, sizeof(bcnf), "%s/backup-my.cnf", paths[0]) < (int)sizeof(bcnf) &&
        !access(bcnf, R_OK)) {
        int rc = 0;
        if (mycnf_read(&b, bcnf, err, sizeof(err)))
            cli_err("warning: %s: the system tablespace is taken as ibdata1, ibdata2, ...", err);
        else
            rc = datadir_add_homes(&ds->files, paths[0], NULL, b.data_file_path, NULL, NULL,
                                   err, sizeof(err));
        mycnf_free(&b);
        if (rc) {
            cli_err("%s (from %s)", err, bcnf);
            return EXIT_ENV;
        }
    }
    /* prepare changes a backup in place: nothing its options name may lie outside it */
    for (size_t i = 0; (flags & DS_INSIDE) && npaths == 1 && i < ds->files.n; i++)
        if (!datadir_contains(paths[0], ds->files.v[i].path)) {
            cli_err("%s: outside %s, which is changed in place: a backup holds its files "
                    "itself", ds->files.v[i].path, paths[0]);
            return EXIT_ENV;
        }
    size_t dup = datadir_dedupe(&ds->files, err, sizeof(err));
    if (dup == 1)
        cli_err("warning: %s: it is taken once, under the shorter name", err);
    else if (dup)
        cli_err("warning: %zu names lead to files listed already (%s): each file is taken "
                "once, under its shortest name", dup, err);
    ds->v = calloc(ds->files.n ? ds->files.n : 1, sizeof(ds_file));
    if (!ds->v)
        return EXIT_ENV;
    ds_file *sys = NULL;
    uint64_t sys_next = 0;
    for (size_t i = 0; i < ds->files.n; i++) {
        const df_file *f = &ds->files.v[i];
        int innodb = f->kind <= DF_TABLESPACE;
        if (!innodb && f->kind != DF_REDO && (!(flags & DS_ALL) || f->kind == DF_TEMP))
            continue;
        ds_file *d = &ds->v[ds->n++];
        d->f = f;
        d->innodb = innodb;
        d->unit = 1;
        d->fd = -1;
        d->rf = report_file(rep, f);
        int rw = (flags & DS_WRITABLE) && (innodb || f->kind == DF_REDO);
        d->fd = open(f->path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (d->fd < 0) {
            rep_io_error(d->rf, "cannot open: %s", strerror(errno));
            continue;
        }
        if (!innodb)
            continue;
        if (f->kind == DF_SYSTEM && f->sys_no > 1) {
            /* a continuation of the system tablespace: pages continue from ibdata1's */
            if (!sys || !sys->space) {
                rep_error(d->rf, "ibdata%u without a readable ibdata1", f->sys_no);
                continue;
            }
            d->space = sys->space;
            d->unit = sys->unit;
            d->first_page = sys_next;
            d->rf->key_state = sys->rf->key_state;
            rep_space(d->rf, d->space);
            sys_next += f->size / d->unit;
            continue;
        }
        open_space(ds, d);
        if (f->kind == DF_SYSTEM && d->space) {
            sys = d;
            sys_next = f->size / d->unit;
        }
    }
    for (size_t i = 0; i < ds->n; i++) {
        ds_file *d = &ds->v[i];
        if (!d->space || !d->space_owned || d->rf->error[0])
            continue;
        ibc_space_info info;
        ibc_space_get_info(d->space, &info);
        int several = d == sys && sys_next != d->f->size / d->unit;
        uint64_t bytes = d == sys ? sys_next * d->unit : d->f->size;
        char why[200];
        struct stat st;
        if (!ds_size_short(info.size_in_header, d->unit, bytes, several, why, sizeof(why)))
            continue;
        /* a file of a running server may have grown since the scan, before page 0 was read:
         * its size now (the extension comes before the new size in page 0) */
        if (d != sys && !fstat(d->fd, &st) &&
            !ds_size_short(info.size_in_header, d->unit, (uint64_t)st.st_size, 0, why, sizeof(why)))
            continue;
        rep_error(d->rf, "%s", why);
    }
    /* Two files with one space id: the server opens one of them, the file its dictionary
     * names (a second one fails, fil0fil.cc fil_space_t::create); a copy left in the datadir,
     * or a file put back under another table's name. Noted on the later file, and said. */
    uint64_t *ids = calloc(ds->n + 1, sizeof(uint64_t)); /* space id << 32 | file index */
    size_t nids = 0, dups = 0;
    for (size_t i = 0; ids && i < ds->n; i++)
        if (ds->v[i].space && ds->v[i].space_owned) {
            ibc_space_info a;
            ibc_space_get_info(ds->v[i].space, &a);
            ids[nids++] = (uint64_t)a.space_id << 32 | i;
        }
    if (nids > 1)
        qsort(ids, nids, sizeof(*ids), cmp_u64);
    for (size_t k = 1; k < nids; k++) {
        if (ids[k] >> 32 != ids[k - 1] >> 32)
            continue;
        ds_file *d = &ds->v[(uint32_t)ids[k]], *o = &ds->v[(uint32_t)ids[k - 1]];
        rep_note(d->rf, "space id %u is also that of %s: the server opens only one of them",
                 (unsigned)(ids[k] >> 32), o->f->rel);
        if (!dups++)
            cli_info(g, "%s has the space id %u of %s: a copy? The server opens only one of "
                        "them (-v lists every such file)",
                     d->f->rel, (unsigned)(ids[k] >> 32), o->f->rel);
    }
    free(ids);
    /* the redo log's records name pages: the system tablespace's page size bounds them */
    for (size_t i = 0; i < ds->n; i++)
        if (ds->v[i].f->kind == DF_REDO && ds->v[i].fd >= 0)
            open_redo(ds, &ds->v[i], sys && sys->space ? sys->unit : 0);
    /* a half re-keyed directory reads as pages under the wrong key: say why first (prepare
     * and rekey, which open it writable, resume from the journal themselves) */
    char cmd[32];
    int running = 0;
    const df_file *jf =
        flags & DS_WRITABLE ? NULL : dataset_interrupted(ds, cmd, sizeof(cmd), &running);
    if (jf && running)
        cli_err("%s: an `ibdcrypt %s` is re-keying this directory right now: its files are "
                "part re-keyed until it finishes",
                jf->path, cmd);
    else if (jf)
        cli_err("%s: an interrupted `ibdcrypt %s` left this journal: its files are part re-keyed "
                "until the same command is run again to finish it",
                jf->path, cmd);
    return 0;
}

void dataset_close(dataset *ds)
{
    for (size_t i = 0; i < ds->n; i++) {
        ibc_redo_free(ds->v[i].redo);
        if (ds->v[i].space_owned)
            ibc_space_free(ds->v[i].space);
        if (ds->v[i].fd >= 0)
            close(ds->v[i].fd);
    }
    if (ds->scratch && ds->pool)
        for (unsigned w = 0; w < ibc_pool_threads(ds->pool); w++)
            ibc_scratch_free(ds->scratch[w]);
    free(ds->scratch);
    free(ds->pool_map);
    ibc_pool_free(ds->pool);
    free(ds->v);
    datadir_free(&ds->files);
    memset(ds, 0, sizeof(*ds));
}

int dataset_pool(dataset *ds)
{
    ibc_pool_opts o = {.threads = (unsigned)ds->g->threads, .pin = 1,
                       .io_uring = ds->g->io_uring};
    if (ibc_pool_new(&o, &ds->pool) != IBC_OK) {
        cli_err("cannot create the worker pool");
        return EXIT_ENV;
    }
    unsigned n = ibc_pool_threads(ds->pool);
    ds->scratch = calloc(n, sizeof(ibc_scratch *));
    for (unsigned w = 0; ds->scratch && w < n; w++)
        if (!(ds->scratch[w] = ibc_scratch_new()))
            return EXIT_ENV;
    return ds->scratch ? 0 : EXIT_ENV;
}

size_t dataset_pool_files(dataset *ds, int (*sel)(const ds_file *), ibc_pool_file *out,
                          size_t *map)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++) {
        ds_file *d = &ds->v[i];
        if (d->fd < 0 || !sel(d))
            continue;
        out[n] = (ibc_pool_file){d->fd, d->f->size, d->unit, 0};
        map[n++] = i;
    }
    return n;
}

static int bad_status(uint16_t st)
{
    return st == IBC_PAGE_BAD_OUTER || st == IBC_PAGE_BAD_INNER || st == IBC_PAGE_BAD_HEADER ||
           st == IBC_PAGE_KEY_MISMATCH;
}

void ds_work_pages(dataset *ds, unsigned worker, ds_file *d, const ibc_pool_item *it,
                   uint8_t *buf, const ibc_space *target, uint8_t *sums)
{
    ibc_page pages[BATCH];
    int writes = ds->op >= IBC_OP_DECRYPT;
    uint64_t base = d->first_page + it->offset / d->unit;
    for (size_t at = 0; at < it->nunits; at += BATCH) {
        size_t n = it->nunits - at < BATCH ? it->nunits - at : BATCH;
        for (size_t i = 0; i < n; i++) {
            uint8_t *p = buf + (at + i) * it->stride;
            pages[i] = (ibc_page){.src = p, .dst = writes ? p : NULL,
                                  .page_no = (uint32_t)(base + at + i)};
        }
        ibc_batch_run(d->space, target, ds->op, pages, n, ds->scratch[worker]);
        for (size_t i = 0; i < n; i++) {
            /* a torn page (read while being written): read it again, a few times */
            for (int r = 0; (ds->flags & DS_RETRY) && r < RETRIES &&
                            pages[i].status == IBC_PAGE_BAD_OUTER && !writes;
                 r++) {
                struct timespec ts = {0, 100 * 1000 * 1000};
                nanosleep(&ts, NULL);
                off_t off = (off_t)(it->offset + (at + i) * d->unit);
                if (pread(d->fd, (void *)(uintptr_t)pages[i].src, d->unit, off) != (ssize_t)d->unit)
                    break;
                ibc_batch_run(d->space, target, ds->op, &pages[i], 1, ds->scratch[worker]);
            }
            if (bad_status(pages[i].status))
                atomic_fetch_add(&ds->bad, 1);
            rep_page(d->rf, &pages[i]);
            if (sums && pages[i].status == IBC_PAGE_ZERO)
                sums[at + i] = DS_SUM_ZERO;
            else if (sums)
                sums[at + i] = pages[i].flags & IBC_PF_CRC_STORED ? DS_SUM_CRC_STORED
                                                                  : DS_SUM_NONE;
        }
    }
    if (it->len > it->nunits * d->unit && it->offset + it->len == d->f->size)
        rep_note(d->rf, "%llu trailing bytes after the last whole page",
                 (unsigned long long)(it->len - it->nunits * d->unit));
}

const df_file *dataset_interrupted(const dataset *ds, char *cmd, size_t n, int *running)
{
    for (size_t i = 0; i < ds->files.n; i++) {
        const df_file *f = &ds->files.v[i];
        const char *base = strrchr(f->rel, '/');
        if (strcmp(base ? base + 1 : f->rel, DS_JOURNAL_NAME))
            continue;
        snprintf(cmd, n, "prepare or rekey");
        /* a live run holds an exclusive flock on the directory (rekeyjob.c) */
        char dir[PATH_MAX] = ".";
        const char *sl = strrchr(f->path, '/');
        if (sl)
            snprintf(dir, sizeof(dir), "%.*s", sl == f->path ? 1 : (int)(sl - f->path), f->path);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *running = dfd >= 0 && flock(dfd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        if (dfd >= 0)
            close(dfd);
        ibc_journal *j = NULL;
        void *blob = NULL;
        size_t len = 0;
        if (ibc_journal_open(f->path, &j, &blob, &len) == IBC_OK) {
            /* the plan rekeyjob.c writes names its command on a line "command NAME" */
            char *t = strndup(blob, len), *c = t ? strstr(t, "\ncommand ") : NULL;
            char w[32];
            if (c && sscanf(c + 9, "%31s", w) == 1 &&
                (!strcmp(w, "prepare") || !strcmp(w, "rekey")))
                snprintf(cmd, n, "%s", w);
            free(t);
            free(blob);
            ibc_journal_close(j);
        }
        return f;
    }
    return NULL;
}

long dataset_open_elsewhere(const dataset *ds, char *who, size_t n)
{
    df_id *set = calloc(ds->n + 1, sizeof(df_id));
    size_t m = 0;
    for (size_t i = 0; set && i < ds->n; i++) {
        struct stat st;
        if ((ds->v[i].innodb || ds->v[i].f->kind == DF_REDO) && !stat(ds->v[i].f->path, &st))
            set[m++] = (df_id){st.st_dev, st.st_ino, i};
    }
    DIR *proc = m ? opendir("/proc") : NULL;
    long found = 0;
    if (m)
        qsort(set, m, sizeof(df_id), df_id_cmp);
    struct dirent *e;
    while (proc && !found && (e = readdir(proc))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        char fdd[64];
        snprintf(fdd, sizeof(fdd), "/proc/%ld/fd", pid);
        DIR *fds = opendir(fdd);
        struct dirent *f;
        while (fds && !found && (f = readdir(fds))) {
            char p[sizeof(fdd) + 260];
            struct stat st;
            if (f->d_name[0] == '.')
                continue;
            snprintf(p, sizeof(p), "%s/%s", fdd, f->d_name);
            if (stat(p, &st) || !S_ISREG(st.st_mode))
                continue;
            df_id k = {st.st_dev, st.st_ino, 0};
            const df_id *hit = bsearch(&k, set, m, sizeof(df_id), df_id_cmp);
            if (hit) {
                char comm[64] = "?", cp[64];
                snprintf(cp, sizeof(cp), "/proc/%ld/comm", pid);
                FILE *c = fopen(cp, "r");
                if (c && fgets(comm, sizeof(comm), c))
                    comm[strcspn(comm, "\n")] = 0;
                if (c)
                    fclose(c);
                snprintf(who, n, "process %ld (%s) has %s open", pid, comm,
                         ds->v[hit->i].f->rel);
                found = pid;
            }
        }
        if (fds)
            closedir(fds);
    }
    if (proc)
        closedir(proc);
    free(set);
    return found;
}

const char *dataset_lock_holder(long pid, char *buf, size_t n)
{
    if (pid > 0)
        snprintf(buf, n, "a server (pid %ld)", pid);
    else
        snprintf(buf, n, "a process holding InnoDB's locks (a server, or an `ibdcrypt rekey` or "
                         "`prepare`)");
    return buf;
}

long dataset_server_pid(const dataset *ds)
{
    for (size_t i = 0; i < ds->files.n; i++) {
        const df_file *f = &ds->files.v[i];
        if (!(f->kind == DF_SYSTEM && f->sys_no == 1) && f->kind != DF_REDO)
            continue;
        int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        long pid = 0;
        if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
            pid = fl.l_pid ? fl.l_pid : -1;
        close(fd);
        if (pid)
            return pid;
    }
    return 0;
}
