/*
 * cmd_verify.c - `ibdcrypt verify`: check every page of a datadir or of chosen files, as
 * innochecksum and mariadb-backup do (the stored checksums), or with --deep, by decrypting
 * every encrypted page and checking its plaintext.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dataset.h"
#include "deepcheck.h"
#include "filecrc.h"
#include "keyopts.h"
#include "manifest.h"
#include "progress.h"
#include "report.h"
#include "streamverify.h"

typedef struct verify_opts {
    int deep;
    long long start_page, end_page; /* inclusive; -1 = open */
    long long allow_mismatches;
    int manifest;              /* --manifest[=FILE] */
    int stream;                /* --stream=xbstream: the backup on stdin */
    const char *manifest_path; /* FILE, or NULL: PATH/MANIFEST_NAME */
} verify_opts;

/* The pool's context: the dataset, and for --manifest the CRC-32C of every file. */
typedef struct vf_ctx {
    dataset *ds;
    int crcs;
    fc_tables tables;
    fc_file *files; /* by dataset index */
} vf_ctx;

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ibdcrypt verify [--deep] [--json] [--manifest] [key options] PATH...\n"
            "       ibdcrypt verify --stream=xbstream [--deep] [--json] [key options] < STREAM\n"
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
            "With --deep and keys, every event of the binary logs and relay logs encrypted with\n"
            "key id 1 (encrypt_binlog=ON) is decrypted and checked too (its CRC-32, or without\n"
            "event checksums its end position), and every page of the Aria tables encrypted\n"
            "with it (aria_encrypt_tables=ON; .MAD and .MAI files, against the checksum of the\n"
            "page's plaintext).\n"
            "On a datadir a server is running on (it holds its lock on ibdata1 or\n"
            "ib_logfile0), the tablespaces are checked as their pages are on disk, a page that\n"
            "fails its checksum read again three times, 100 ms apart (it may have been caught\n"
            "mid-write); the redo log, binary logs and Aria tables the server is writing are\n"
            "not checked: the log's line says NOT CHECKED (JSON verdict \"not-checked\").\n"
            "\n"
            "With --manifest, PATH is a backup that `ibdcrypt backup` wrote (or its stream,\n"
            "extracted by mbstream -x), checked against the manifest it ends with\n"
            "(" MANIFEST_NAME "): every file the manifest lists must be there, of the\n"
            "size and whole-file CRC-32C it had when it was copied; a missing or changed file\n"
            "is an error, one the manifest does not list is noted. This reads every file of\n"
            "the backup, InnoDB or not. A prepare (ibdcrypt's or mariadb-backup's) changes\n"
            "files: check before it.\n"
            "\n"
            "With --stream=xbstream, the backup is an xbstream on stdin, as `ibdcrypt backup\n"
            "--stream=xbstream` or `mariadb-backup --backup --stream=xbstream` write it,\n"
            "checked without extracting it: every chunk's checksum, every file whole and in\n"
            "order, the pages of the InnoDB files as above (by --threads workers, the stream\n"
            "read on one), and the manifest when the stream ends with ibdcrypt's. The redo log\n"
            "is checked too, when it is 256 MiB or less (it is held in memory), and with --deep\n"
            "and keys the pages of the Aria tables encrypted with key id 1 (each file of a\n"
            "table held until the other came: up to 256 MiB a file, 1 GiB in all). Binary logs\n"
            "are not (the manifest's CRC-32C covers them in ibdcrypt's stream; mariadb-backup\n"
            "copies none).\n"
            "\n"
            "Options:\n"
            "  --deep                 decrypt and check every encrypted page (needs the keys)\n"
            "  --page=N               only page N (one file)\n"
            "  --start-page=N, --end-page=N   only pages N.. / ..N (one file)\n"
            "  --allow-mismatches=N   exit 0 while at most N pages are bad\n"
            "  --manifest[=FILE]      check a backup against its manifest (FILE: another copy\n"
            "                         of it; default PATH/" MANIFEST_NAME ")\n"
            "  --stream=xbstream      check the backup streamed on stdin\n"
            "  --json                 a JSON report on stdout\n"
            "\n%s"
            "\n"
            "Exit status: 0 all pages (and the log) good; 1 bad pages, a damaged log, a wrong\n"
            "key, or a file missing or changed since the backup (--manifest); 2 usage error;\n"
            "3 environment error (unreadable file, missing key).\n"
            "\n"
            "Examples:\n"
            "  ibdcrypt verify --deep --keyfile=/etc/mysql/keys.txt /var/lib/mysql\n"
            "  ibdcrypt verify --deep --manifest --keyfile=/etc/mysql/keys.txt /backup/mon\n"
            "  ssh host cat /backup/mon.xbs | ibdcrypt verify --stream=xbstream --deep \\\n"
            "      --keyfile=/etc/mysql/keys.txt\n",
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

static int sel_all(const ds_file *d)
{
    (void)d;
    return 1;
}

static int work(void *ctx, unsigned worker, const ibc_pool_item *it, uint8_t *buf)
{
    vf_ctx *x = ctx;
    dataset *ds = x->ds;
    size_t i = ds->pool_map[it->file];
    ds_file *d = &ds->v[i];
    uint8_t sums[1100], *ps = x->crcs && it->nunits <= 1100 ? sums : NULL;
    if (sel_innodb(d))
        ds_work_pages(ds, worker, d, it, buf, NULL, ps);
    else
        ps = NULL;
    if (x->crcs) {
        uint32_t c;
        fc_item_crcs(&x->tables, ds->e, d, it, buf, ps, &c, NULL);
        fc_note(&x->files[i], it->offset, it->len, c);
    }
    progress_add(ds->pr, it->len);
    return 0;
}

/* --manifest: every file the backup's manifest lists must be there, of the size and whole-file
 * CRC-32C it had when backup wrote it (or as prepare left it); a file it does not list is
 * noted. */
static void check_manifest(vf_ctx *x, manifest *m)
{
    dataset *ds = x->ds;
    for (size_t i = 0; i < ds->n; i++) {
        ds_file *d = &ds->v[i];
        if (!strcmp(d->f->rel, MANIFEST_NAME))
            continue;
        mf_entry *e = manifest_find(m, d->f->rel);
        if (!e) {
            rep_note(d->rf, "not in the backup's manifest");
            continue;
        }
        e->matched = 1;
        char why[160] = "";
        if (d->f->size != e->bytes) {
            snprintf(why, sizeof(why), "changed since the backup: %llu bytes, the manifest says %llu",
                     (unsigned long long)d->f->size, (unsigned long long)e->bytes);
        } else if (fc_file_complete(&x->files[i], d->f->size)) {
            uint32_t c = fc_file_crc(&x->files[i]);
            snprintf(d->rf->crc32c, sizeof(d->rf->crc32c), "%08x", c);
            if (c != e->crc32c)
                snprintf(why, sizeof(why),
                         "changed since the backup: CRC-32C %08x, the manifest says %08x", c,
                         e->crc32c);
        } /* else not read whole: its read error is reported */
        if (why[0] && !d->rf->error[0])
            rep_error(d->rf, "%s", why);
        else if (why[0])
            rep_note(d->rf, "%s", why);
    }
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
        } else if (!strcmp(argv[i], "--manifest")) {
            o.manifest = 1;
        } else if (!strcmp(argv[i], "--stream=xbstream")) {
            o.stream = 1;
        } else if (!strncmp(argv[i], "--stream", 8)) {
            cli_err("verify: --stream takes one format: --stream=xbstream");
            rc = EXIT_USAGE;
        } else if (!strncmp(argv[i], "--manifest=", 11) && argv[i][11]) {
            o.manifest = 1;
            o.manifest_path = argv[i] + 11;
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
    if (!rc && o.stream && (npaths || o.manifest || o.start_page >= 0 || o.end_page >= 0)) {
        cli_err("verify: --stream=xbstream reads the backup from stdin: no PATH, --manifest "
                "(the stream's own is checked) or page selection");
        rc = EXIT_USAGE;
    }
    if (!rc && o.stream && isatty(STDIN_FILENO)) {
        cli_err("verify: --stream=xbstream reads stdin, which is a terminal");
        rc = EXIT_USAGE;
    }
    if (!rc && (rc = cli_keys_load(&keys)) == 0 && !npaths && !o.stream) {
        if (cli_keys_datadir(&keys)) {
            paths[npaths++] = (char *)(uintptr_t)cli_keys_datadir(&keys);
        } else {
            cli_keys_no_datadir(&keys, "verify", "the datadir or files to check");
            rc = EXIT_USAGE;
        }
    }
    if (!rc && o.manifest && (o.start_page >= 0 || o.end_page >= 0)) {
        cli_err("verify: --manifest checks whole files: not with --page/--start-page/--end-page");
        rc = EXIT_USAGE;
    }
    if (!rc && o.manifest && npaths != 1) {
        cli_err("verify: --manifest checks one backup: give its directory alone");
        rc = EXIT_USAGE;
    }
    char mpath[4096];
    manifest man = {0};
    if (!rc && o.manifest) {
        struct stat st;
        if (stat(paths[0], &st) || !S_ISDIR(st.st_mode)) {
            cli_err("verify: --manifest: %s is not a backup directory", paths[0]);
            rc = EXIT_USAGE;
        } else {
            snprintf(mpath, sizeof(mpath), "%s/%s", paths[0], MANIFEST_NAME);
            char err[512];
            const char *mp = o.manifest_path ? o.manifest_path : mpath;
            if (manifest_load(mp, &man, err, sizeof(err))) {
                cli_err("verify: --manifest: %s", err);
                rc = access(mp, R_OK) ? EXIT_ENV : EXIT_DATA;
            } else if (man.prepared_plan) {
                const char *by = man.prepared_by && !strcmp(man.prepared_by, "rekey")
                                     ? "rekey"
                                     : "prepare";
                cli_info(g, "verify: the manifest was updated by ibdcrypt %s (plan %.16s): "
                            "files are checked as %s left them",
                         by, man.prepared_plan, by);
            }
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
        manifest_free(&man);
        cli_keys_free(&keys);
        free(paths);
        return rc;
    }

    report rep;
    dataset ds;
    report_init(&rep, g, o.deep ? "verify --deep" : "verify", ibc_engine_isa(e), 1);
    report_set_keyring(&rep, keys.kr);
    if (o.stream) {
        rc = verify_stream(g, e, &keys, o.deep, STDIN_FILENO, &rep,
                           (uint64_t)o.allow_mismatches);
        report_free(&rep);
        ibc_engine_free(e);
        cli_keys_free(&keys);
        free(paths);
        return rc;
    }
    rc = dataset_open(&ds, g, e, &keys, paths, npaths,
                      (o.deep ? DS_DEEP : 0) | (o.manifest ? DS_ALL : 0), &rep);
    vf_ctx x = {.ds = &ds, .crcs = o.manifest};
    if (!rc && o.manifest) {
        x.files = calloc(ds.n + 1, sizeof(fc_file));
        if (!x.files || fc_tables_init(&x.tables, e))
            rc = EXIT_ENV;
        for (size_t i = 0; x.files && i < ds.n; i++)
            fc_file_init(&x.files[i]);
    }
    size_t ninnodb = 0;
    for (size_t i = 0; !rc && i < ds.n; i++)
        ninnodb += ds.v[i].innodb;
    if (!rc && (o.start_page >= 0 || o.end_page >= 0) && ninnodb != 1) {
        cli_err("verify: --page/--start-page/--end-page need exactly one tablespace file");
        rc = EXIT_USAGE;
    }
    if (!rc && o.start_page >= 0 && o.end_page >= 0 && o.start_page > o.end_page) {
        cli_err("verify: --start-page %lld is after --end-page %lld", o.start_page, o.end_page);
        rc = EXIT_USAGE;
    }
    for (size_t i = 0; !rc && o.start_page >= 0 && i < ds.n; i++) {
        /* a range that starts past the end would check nothing and call that good */
        uint64_t np = ds.v[i].innodb && ds.v[i].unit ? ds.v[i].f->size / ds.v[i].unit : 0;
        if (ds.v[i].innodb && ds.v[i].unit && (uint64_t)o.start_page >= np) {
            cli_err("verify: page %lld is past the end of %s (%llu pages: 0 to %llu)",
                    o.start_page, ds.v[i].f->rel, (unsigned long long)np,
                    (unsigned long long)(np ? np - 1 : 0));
            rc = EXIT_USAGE;
        }
    }
    size_t nredo = 0;
    for (size_t i = 0; !rc && i < ds.n; i++)
        nredo += ds.v[i].f->kind == DF_REDO;
    size_t nqp = 0;
    for (size_t i = 0; !rc && i < ds.files.n; i++) {
        const char *base = strrchr(ds.files.v[i].path, '/');
        nqp += df_compressed_innodb(base ? base + 1 : ds.files.v[i].path);
    }
    if (nqp)
        cli_info(g, "verify: %zu InnoDB file%s compressed by mariadb-backup --compress (.qp): "
                    "%s pages are not checked (mariadb-backup --decompress, then verify)",
                 nqp, nqp > 1 ? "s" : "", nqp > 1 ? "their" : "its");
    const char *delta = rc ? NULL : datadir_delta(&ds.files);
    if (delta)
        cli_info(g, "verify: an incremental backup of mariadb-backup (%s, ...): the pages of its "
                    ".delta files are not checked (mariadb-backup --prepare --incremental-dir "
                    "applies them to the base, which verify then checks)", delta);
    if (!rc && !ninnodb && !nredo && !o.manifest)
        cli_info(g, "verify: no InnoDB files under the given paths");
    /* A running server (its fcntl lock on ibdata1 or ib_logfile0): every tablespace page on
     * disk is a whole page image the server wrote (or one caught mid-write, read again), but
     * the redo log, binary logs and Aria tables it is writing are moving targets. */
    long live = rc ? 0 : dataset_server_pid(&ds);
    if (live) {
        char holder[160];
        ds.flags |= DS_RETRY;
        cli_info(g, "verify: %s is running on these files: the pages of the tablespaces are "
                    "checked as they are on disk (a page caught mid-write is read again); the "
                    "redo log%s being written %s not checked (stop it, or verify a filesystem "
                    "snapshot or a backup)",
                 dataset_lock_holder(live, holder, sizeof(holder)),
                 o.deep && keys.kr ? ", binary logs and Aria tables" : "",
                 o.deep && keys.kr ? "are" : "is");
    }
    if (!rc)
        rc = dataset_pool(&ds);
    progress pr;
    int env_rc = 0;
    df_file *missing = NULL;
    if (!rc) {
        uint64_t total = 0;
        for (size_t i = 0; i < ds.n; i++)
            total += sel_innodb(&ds.v[i]) || o.manifest ? ds.v[i].f->size : 0;
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
            size_t npf = pf && ds.pool_map ? dataset_pool_files(&ds, o.manifest ? sel_all
                                                                                : sel_innodb,
                                                                pf, ds.pool_map)
                                           : 0;
            ibc_pool_job job = {pf, npf, work, NULL, &x};
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
        for (size_t i = 0; o.start_page < 0 && o.end_page < 0 && i < ds.n; i++) {
            if (ds.v[i].redo && live)
                ds.v[i].rf->not_checked = "in use: InnoDB's lock on it is held";
            else if (ds.v[i].redo)
                ds_redo_verify(&ds, &ds.v[i], o.deep);
        }
        if (o.manifest && !env_rc)
            check_manifest(&x, &man);
        size_t own = rep.n; /* the lines of files outside the dataset start here */
        if (o.deep && keys.kr && o.start_page < 0 && o.end_page < 0 && !env_rc && !live) {
            deep_check_binlogs(g, "verify", e, &ds, keys.kr, &rep);
            deep_check_aria(e, &ds, keys.kr, keys.algo, &rep);
        }
        for (size_t i = 0; i < ds.n; i++)
            report_file_done(&rep, ds.v[i].rf);
        for (size_t i = own; i < rep.n; i++)
            report_file_done(&rep, rep.files[i]);
        size_t listed = rep.n;
        if (o.manifest && !env_rc && verify_report_missing(&man, &rep, &missing))
            abort(); /* the CLI: out of memory for report lines */
        for (size_t i = listed; i < rep.n; i++)
            report_file_done(&rep, rep.files[i]);
        if (env_rc)
            report_failed(&rep);
        rc = report_finish(&rep, (uint64_t)o.allow_mismatches);
        if (env_rc && rc != EXIT_DATA)
            rc = env_rc;
    }
    for (size_t i = 0; x.files && i < ds.n; i++)
        fc_file_free(&x.files[i]);
    free(x.files);
    dataset_close(&ds);
    report_free(&rep);
    free(missing);
    manifest_free(&man);
    ibc_engine_free(e);
    cli_keys_free(&keys);
    free(paths);
    return rc;
}

const cli_command cmd_verify = {"verify", "check every page; --deep decrypts and checks plaintext",
                                run, help};
