/*
 * cmd_verify.c - `ibdcrypt verify`: check every page of a datadir or of chosen files, as
 * innochecksum and mariadb-backup do (the stored checksums), or with --deep, by decrypting
 * every encrypted page and checking its plaintext.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "keyopts.h"
#include "progress.h"
#include "report.h"

typedef struct verify_opts {
    int deep;
    long long start_page, end_page; /* inclusive; -1 = open */
    long long allow_mismatches;
} verify_opts;

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ibdcrypt verify [--deep] [--json] [key options] PATH...\n"
            "\n"
            "Check every page of the InnoDB files under each PATH (a datadir, a backup, or\n"
            "single files): the stored checksum of each page as on disk, its page number and\n"
            "space id, as the server and mariadb-backup do, and that no file is shorter than\n"
            "the size its page 0 records (a copy cut short). With --deep, also decrypt every\n"
            "encrypted page and check the plaintext (space id, LSN copy, the legacy plaintext\n"
            "checksum, B-tree structure, page_compressed payloads in zlib, lz4, lzo, lzma,\n"
            "bzip2 or snappy): this catches a backup made with wrong keys or pages garbled\n"
            "before encryption, which checksums alone pass.\n"
            "The doublewrite area of ibdata1 holds copies of other tablespaces' pages; it is\n"
            "skipped and counted.\n"
            "\n"
            "The redo log (ib_logfile0, MariaDB 10.8+ formats, plain or encrypted) is checked\n"
            "too: the header, the checkpoints, and the framing and CRC-32C of every\n"
            "mini-transaction from the checkpoint to the end of the log, as recovery reads\n"
            "them; with --deep, each one is also decrypted with key id 1 and its records are\n"
            "parsed. A damaged mini-transaction is named by its LSN and file offset.\n"
            "\n"
            "Options:\n"
            "  --deep                 decrypt and check every encrypted page (needs the keys)\n"
            "  --page=N               only page N (one file)\n"
            "  --start-page=N, --end-page=N   only pages N.. / ..N (one file)\n"
            "  --allow-mismatches=N   exit 0 while at most N pages are bad\n"
            "  --json                 a JSON report on stdout\n"
            "\n%s"
            "\n"
            "Exit status: 0 all pages (and the log) good; 1 bad pages, a damaged log or a wrong\n"
            "key; 2 usage error; 3 environment error (unreadable file, missing key).\n"
            "\n"
            "Example:\n"
            "  ibdcrypt verify --deep --keyfile=/etc/mysql/keys.txt /var/lib/mysql\n",
            cli_keys_help);
}

static int parse_ll(const char *opt, const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < 0) {
        cli_err("%s: expected a non-negative number, got '%s'", opt, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int sel_innodb(const ds_file *d)
{
    return d->innodb && d->space;
}

static int work(void *ctx, unsigned worker, const ibc_pool_item *it, uint8_t *buf)
{
    dataset *ds = ctx;
    ds_file *d = &ds->v[ds->pool_map[it->file]];
    ds_work_pages(ds, worker, d, it, buf, NULL, NULL);
    progress_add(ds->pr, it->len);
    return 0;
}

/* --page / --start-page / --end-page: one file, the chosen range, read directly. */
static int verify_range(dataset *ds, ds_file *d, const verify_opts *o)
{
    uint64_t npages = d->f->size / d->unit;
    uint64_t lo = o->start_page >= 0 ? (uint64_t)o->start_page : 0;
    uint64_t hi = o->end_page >= 0 ? (uint64_t)o->end_page + 1 : npages;
    if (hi > npages)
        hi = npages;
    uint8_t *buf = malloc((size_t)d->unit * 64);
    if (!buf)
        return EXIT_ENV;
    for (uint64_t at = lo; at < hi; at += 64) {
        size_t n = hi - at < 64 ? (size_t)(hi - at) : 64;
        ssize_t r = pread(d->fd, buf, n * d->unit, (off_t)(at * d->unit));
        if (r != (ssize_t)(n * d->unit)) {
            rep_io_error(d->rf, "read of pages %llu..%llu failed: %s", (unsigned long long)at,
                      (unsigned long long)(at + n - 1), r < 0 ? strerror(errno) : "short read");
            free(buf);
            return EXIT_ENV;
        }
        ibc_pool_item it = {.offset = at * d->unit, .len = n * d->unit, .nunits = n,
                            .stride = d->unit};
        ds_work_pages(ds, 0, d, &it, buf, NULL, NULL);
    }
    free(buf);
    return 0;
}

static int run(cli_global *g, int argc, char **argv)
{
    verify_opts o = {.start_page = -1, .end_page = -1, .allow_mismatches = 0};
    cli_keys keys = {0};
    char **paths = calloc((size_t)argc, sizeof(char *));
    size_t npaths = 0;
    int rc = 0;
    if (!paths)
        return EXIT_ENV;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int k = cli_keys_option(&keys, argc, argv, &i);
        if (k < 0) {
            free(paths);
            return EXIT_USAGE;
        }
        if (k)
            continue;
        if (!strcmp(argv[i], "--deep")) {
            o.deep = 1;
        } else if (cli_opt_value("--page", argc, argv, &i, &v)) {
            if (parse_ll("--page", v, &o.start_page))
                rc = EXIT_USAGE;
            o.end_page = o.start_page;
        } else if (cli_opt_value("--start-page", argc, argv, &i, &v)) {
            if (parse_ll("--start-page", v, &o.start_page))
                rc = EXIT_USAGE;
        } else if (cli_opt_value("--end-page", argc, argv, &i, &v)) {
            if (parse_ll("--end-page", v, &o.end_page))
                rc = EXIT_USAGE;
        } else if (cli_opt_value("--allow-mismatches", argc, argv, &i, &v)) {
            if (parse_ll("--allow-mismatches", v, &o.allow_mismatches))
                rc = EXIT_USAGE;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_err("verify: unknown option '%s' (see ibdcrypt verify --help)", argv[i]);
            rc = EXIT_USAGE;
        } else {
            paths[npaths++] = argv[i];
        }
        if (rc)
            break;
    }
    if (!rc && (rc = cli_keys_load(&keys)) == 0 && !npaths) {
        if (cli_keys_datadir(&keys)) {
            paths[npaths++] = (char *)(uintptr_t)cli_keys_datadir(&keys);
        } else {
            cli_err("verify: give a datadir or files to check (or --defaults-file with a "
                    "datadir)");
            rc = EXIT_USAGE;
        }
    }
    if (!rc && o.deep && !keys.kr)
        cli_info(g, "verify --deep without keys: encrypted pages cannot be decrypted "
                    "(give --keyfile or --defaults-file)");
    ibc_engine *e = NULL;
    if (!rc) {
        ibc_status st = ibc_engine_new(g->isa, &e);
        if (st != IBC_OK) {
            cli_err("--isa=%s: %s", g->isa, ibc_strerror(st));
            rc = EXIT_USAGE;
        }
    }
    if (rc) {
        cli_keys_free(&keys);
        free(paths);
        return rc;
    }

    report rep;
    dataset ds;
    report_init(&rep, g, o.deep ? "verify --deep" : "verify", ibc_engine_isa(e), 1);
    report_set_keyring(&rep, keys.kr);
    rc = dataset_open(&ds, g, e, &keys, paths, npaths, o.deep ? DS_DEEP : 0, &rep);
    size_t ninnodb = 0;
    for (size_t i = 0; !rc && i < ds.n; i++)
        ninnodb += ds.v[i].innodb;
    if (!rc && (o.start_page >= 0 || o.end_page >= 0) && ninnodb != 1) {
        cli_err("verify: --page/--start-page/--end-page need exactly one tablespace file");
        rc = EXIT_USAGE;
    }
    size_t nredo = 0;
    for (size_t i = 0; !rc && i < ds.n; i++)
        nredo += ds.v[i].f->kind == DF_REDO;
    if (!rc && !ninnodb && !nredo)
        cli_info(g, "verify: no InnoDB files under the given paths");
    if (!rc)
        rc = dataset_pool(&ds);
    progress pr;
    int env_rc = 0;
    if (!rc) {
        uint64_t total = 0;
        for (size_t i = 0; i < ds.n; i++)
            total += sel_innodb(&ds.v[i]) ? ds.v[i].f->size : 0;
        rep.threads = ibc_pool_threads(ds.pool);
        progress_start(&pr, g, "verify", total);
        ds.pr = &pr;
        ds.op = o.deep ? IBC_OP_VERIFY_DEEP : IBC_OP_VERIFY;
        if (o.start_page >= 0 || o.end_page >= 0) {
            rep.threads = 1;
            for (size_t i = 0; i < ds.n; i++)
                if (sel_innodb(&ds.v[i]))
                    env_rc = verify_range(&ds, &ds.v[i], &o);
        } else {
            ibc_pool_file *pf = calloc(ds.n + 1, sizeof(*pf));
            ds.pool_map = calloc(ds.n + 1, sizeof(size_t));
            size_t npf = pf && ds.pool_map ? dataset_pool_files(&ds, sel_innodb, pf, ds.pool_map)
                                           : 0;
            ibc_pool_job job = {pf, npf, work, NULL, &ds};
            int prc = pf && ds.pool_map ? ibc_pool_run(ds.pool, &job) : -ENOMEM;
            if (prc) {
                cli_err("verify: %s", prc < 0 ? strerror(-prc) : "stopped");
                env_rc = EXIT_ENV;
            }
            free(pf);
        }
        progress_end(&pr);
        /* the redo log: framing and CRC-32C of every mini-transaction from the checkpoint to
         * the end; with --deep each one decrypted and its records parsed */
        for (size_t i = 0; o.start_page < 0 && o.end_page < 0 && i < ds.n; i++)
            if (ds.v[i].redo)
                ds_redo_verify(&ds, &ds.v[i], o.deep);
        for (size_t i = 0; i < ds.n; i++)
            report_file_done(&rep, ds.v[i].rf);
        rc = report_finish(&rep, (uint64_t)o.allow_mismatches);
        if (env_rc && rc != EXIT_DATA)
            rc = env_rc;
    }
    dataset_close(&ds);
    report_free(&rep);
    ibc_engine_free(e);
    cli_keys_free(&keys);
    free(paths);
    return rc;
}

const cli_command cmd_verify = {"verify", "check every page; --deep decrypts and checks plaintext",
                                run, help};
