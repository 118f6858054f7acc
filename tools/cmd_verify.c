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

#include "datadir.h"
#include "keyopts.h"
#include "progress.h"
#include "report.h"

#define CHUNK_PAGES 64

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
            "space id, as the server and mariadb-backup do. With --deep, also decrypt every\n"
            "encrypted page and check the plaintext (space id, LSN copy, the legacy plaintext\n"
            "checksum, B-tree structure, page_compressed payloads): this catches a backup made\n"
            "with wrong keys or pages garbled before encryption, which checksums alone pass.\n"
            "The doublewrite area of ibdata1 holds copies of other tablespaces' pages; it is\n"
            "skipped and counted.\n"
            "\n"
            "Options:\n"
            "  --deep                 decrypt and check every encrypted page (needs the keys)\n"
            "  --page=N               only page N (one file)\n"
            "  --start-page=N, --end-page=N   only pages N.. / ..N (one file)\n"
            "  --allow-mismatches=N   exit 0 while at most N pages are bad\n"
            "  --json                 a JSON report on stdout\n"
            "\n%s"
            "\n"
            "Exit status: 0 all pages good; 1 bad pages or a wrong key; 2 usage error;\n"
            "3 environment error (unreadable file, missing key).\n"
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

/* Verify one tablespace file (or a continuation file of the system tablespace, given the
 * space and the page number of its first page). */
static int verify_pages(const cli_global *g, const verify_opts *o, ibc_space *s, int fd,
                        const df_file *f, uint64_t first_page, rep_file *rf, progress *pr,
                        ibc_scratch *sc)
{
    ibc_space_info info;
    ibc_space_get_info(s, &info);
    uint32_t ps = info.page_size;
    uint64_t npages = f->size / ps;
    size_t stride;
    uint8_t *buf = ibc_pages_alloc(ps, CHUNK_PAGES, &stride);
    ibc_page pages[CHUNK_PAGES];
    ibc_op op = o->deep ? IBC_OP_VERIFY_DEEP : IBC_OP_VERIFY;
    if (!buf)
        return EXIT_ENV;
    if (f->size % ps)
        rep_note(rf, "%llu trailing bytes after the last whole page ignored",
                 (unsigned long long)(f->size % ps));
    uint64_t lo = 0, hi = npages;
    if (o->start_page >= 0)
        lo = (uint64_t)o->start_page > first_page ? (uint64_t)o->start_page - first_page : 0;
    if (o->end_page >= 0)
        hi = (uint64_t)o->end_page + 1 > first_page ? (uint64_t)o->end_page + 1 - first_page : 0;
    if (hi > npages)
        hi = npages;
    for (uint64_t at = lo; at < hi;) {
        size_t n = hi - at < CHUNK_PAGES ? (size_t)(hi - at) : CHUNK_PAGES;
        for (size_t i = 0; i < n; i++) {
            uint8_t *p = buf + i * stride;
            ssize_t r = pread(fd, p, ps, (off_t)((at + i) * ps));
            if (r != (ssize_t)ps) {
                rep_error(rf, "read of page %llu failed: %s", (unsigned long long)(first_page + at + i),
                          r < 0 ? strerror(errno) : "short read");
                ibc_pages_free(buf);
                return EXIT_ENV;
            }
            pages[i] = (ibc_page){.src = p, .page_no = (uint32_t)(first_page + at + i)};
        }
        ibc_batch_run(s, NULL, op, pages, n, sc);
        for (size_t i = 0; i < n; i++)
            rep_page(rf, &pages[i]);
        at += n;
        progress_add(pr, (uint64_t)n * ps);
    }
    (void)g;
    ibc_pages_free(buf);
    return 0;
}

/* Settle the key and the algorithm by trial decryption of the first encrypted pages. */
static void trial_key(ibc_space *s, int fd, uint32_t ps, uint64_t npages, rep_file *rf)
{
    uint8_t *p = malloc(ps);
    int tries = 0;
    rf->key_state = REP_KEY_UNPROVEN;
    for (uint64_t i = 1; p && i < npages && tries < 8; i++) {
        if (pread(fd, p, ps, (off_t)(i * ps)) != (ssize_t)ps)
            break;
        ibc_status st = ibc_space_check_key(s, p, (uint32_t)i);
        if (st == IBC_ERR_INVALID_ARG)
            continue; /* not encrypted */
        tries++;
        if (st == IBC_OK) {
            rf->key_state = REP_KEY_OK;
            break;
        }
        if (st == IBC_ERR_KEY_MISMATCH) {
            rf->key_state = REP_KEY_MISMATCH;
            break;
        }
    }
    free(p);
}

static int verify_file(const cli_global *g, const verify_opts *o, cli_keys *keys,
                       const ibc_engine *e, const df_file *f, ibc_space **sys_space,
                       uint64_t *sys_next_page, rep_file *rf, progress *pr, ibc_scratch *sc)
{
    char err[256];
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rep_error(rf, "cannot open: %s", strerror(errno));
        return EXIT_ENV;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    int rc = 0;
    if (f->kind == DF_SYSTEM && f->sys_no > 1) {
        /* a continuation of the system tablespace: no page 0 of its own */
        if (!*sys_space) {
            rep_error(rf, "ibdata%u without ibdata1", f->sys_no);
            close(fd);
            return EXIT_ENV;
        }
        rep_space(rf, *sys_space);
        rc = verify_pages(g, o, *sys_space, fd, f, *sys_next_page, rf, pr, sc);
        ibc_space_info si;
        ibc_space_get_info(*sys_space, &si);
        *sys_next_page += f->size / si.page_size;
        close(fd);
        return rc;
    }
    uint8_t prefix[IBC_PAGE0_PREFIX];
    uint32_t ps;
    ssize_t r = pread(fd, prefix, sizeof(prefix), 0);
    if (r != (ssize_t)sizeof(prefix)) {
        rep_error(rf, "not an InnoDB tablespace: file too short (%llu bytes)",
                  (unsigned long long)f->size);
        close(fd);
        return EXIT_DATA;
    }
    ibc_status st = ibc_page0_size(prefix, sizeof(prefix), &ps, err, sizeof(err));
    uint8_t *p0 = st == IBC_OK ? malloc(ps) : NULL;
    if (st == IBC_OK && (!p0 || pread(fd, p0, ps, 0) != (ssize_t)ps))
        st = IBC_ERR_FORMAT, snprintf(err, sizeof(err), "file shorter than its page size %u", ps);
    if (st == IBC_OK) {
        int zero = 1;
        for (uint32_t i = 0; i < ps && zero; i++)
            zero = p0[i] == 0;
        if (zero) {
            /* a file created just before a crash: recovery writes its page 0 from the log */
            rep_note(rf, "page 0 is all zero: the file was created but never flushed; crash "
                         "recovery initializes it from the redo log");
            rf->uninitialized = 1;
            free(p0);
            close(fd);
            return 0;
        }
    }
    ibc_space *s = NULL;
    if (st == IBC_OK)
        st = ibc_space_open(e, p0, ps, &s, err, sizeof(err));
    if (st != IBC_OK) {
        rep_error(rf, "page 0: %s", err);
        free(p0);
        close(fd);
        return EXIT_DATA;
    }
    ibc_space_info info;
    ibc_space_get_info(s, &info);
    if (info.space_id == 0) {
        if (f->size >= 6ull * ps && pread(fd, p0, ps, 5 * (off_t)ps) == (ssize_t)ps &&
            ibc_space_read_trx_sys(s, p0, ps) != IBC_OK)
            rep_note(rf, "no doublewrite buffer in the TRX_SYS page; using the default location");
    }
    free(p0);
    rep_space(rf, s);
    if (o->deep && info.has_crypt_data) {
        if (!keys->kr) {
            rf->key_state = REP_KEY_NONE;
        } else {
            st = ibc_space_set_key(s, keys->kr, keys->algo);
            if (st == IBC_ERR_KEY_MISSING)
                rf->key_state = REP_KEY_MISSING;
            else
                trial_key(s, fd, ps, f->size / ps, rf);
        }
    }
    rc = verify_pages(g, o, s, fd, f, 0, rf, pr, sc);
    rep_space(rf, s); /* the algorithm may have been settled */
    if (info.space_id == 0 && f->kind == DF_SYSTEM) {
        ibc_space_free(*sys_space);
        *sys_space = s;
        *sys_next_page = f->size / ps;
    } else {
        ibc_space_free(s);
    }
    close(fd);
    return rc;
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
    df_list files = {0};
    char err[512];
    if (!rc && datadir_scan(paths, npaths, &files, err, sizeof(err))) {
        cli_err("%s", err);
        rc = EXIT_ENV;
    }
    size_t ntablespaces = 0;
    for (size_t i = 0; !rc && i < files.n; i++)
        ntablespaces += files.v[i].kind <= DF_TABLESPACE;
    if (!rc && (o.start_page >= 0 || o.end_page >= 0) && ntablespaces != 1) {
        cli_err("verify: --page/--start-page/--end-page need exactly one tablespace file");
        rc = EXIT_USAGE;
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
        datadir_free(&files);
        cli_keys_free(&keys);
        free(paths);
        return rc;
    }

    report rep;
    report_init(&rep, g, o.deep ? "verify --deep" : "verify", ibc_engine_isa(e), 1);
    uint64_t total_bytes = 0;
    for (size_t i = 0; i < files.n; i++)
        if (files.v[i].kind <= DF_TABLESPACE)
            total_bytes += files.v[i].size;
    progress pr;
    progress_start(&pr, g, "verify", total_bytes);
    ibc_scratch *sc = ibc_scratch_new();
    ibc_space *sys = NULL;
    uint64_t sys_next = 0;
    int env_rc = 0;
    for (size_t i = 0; i < files.n; i++) {
        const df_file *f = &files.v[i];
        if (f->kind > DF_TABLESPACE)
            continue;
        rep_file *rf = report_file(&rep, f);
        int r = verify_file(g, &o, &keys, e, f, &sys, &sys_next, rf, &pr, sc);
        if (r == EXIT_ENV)
            env_rc = EXIT_ENV;
        report_file_done(&rep, rf);
    }
    progress_end(&pr);
    ibc_space_free(sys);
    ibc_scratch_free(sc);
    rc = report_finish(&rep, (uint64_t)o.allow_mismatches);
    if (env_rc && rc != EXIT_DATA)
        rc = env_rc;
    report_free(&rep);
    ibc_engine_free(e);
    datadir_free(&files);
    cli_keys_free(&keys);
    free(paths);
    return rc;
}

const cli_command cmd_verify = {"verify", "check every page; --deep decrypts and checks plaintext",
                                run, help};
