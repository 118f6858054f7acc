/*
 * cmd_inspect.c - `ibdcrypt inspect`: what INFORMATION_SCHEMA.INNODB_TABLESPACES_ENCRYPTION
 * says about a running server, read offline from the files: per tablespace its space id,
 * name, encryption scheme, key versions, key id and mode, plus its page size and format and
 * how many pages are encrypted, plain and empty; then the key ids the datadir needs and the
 * redo log's format, key and pending redo.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binlogjob.h"
#include "dataset.h"

/* Does key 1 of kr open the Aria table (index file path, header a)? 1 yes, 0 no, -1 its first
 * pages tell nothing (no encrypted page among them). The first 16 pages of its data file are
 * tried, then of its index file. */
static int aria_opens(const ibc_engine *e, const char *path, const ibc_aria *a,
                      const ibc_keyring *kr)
{
    const uint32_t bs = a->block_size;
    uint8_t *page = malloc(bs);
    char mad[4200];
    snprintf(mad, sizeof(mad), "%.*sD", (int)strlen(path) - 1, path);
    int res = -1;
    for (int index_file = 0; page && index_file < 2 && res < 0; index_file++) {
        int fd = open(index_file ? path : mad, O_RDONLY | O_CLOEXEC);
        uint64_t first = index_file ? a->keystart / bs : 0;
        for (uint64_t pno = first; fd >= 0 && pno < first + 16 && res < 0; pno++) {
            if (pread(fd, page, bs, (off_t)(pno * bs)) != (ssize_t)bs)
                break;
            int c = ibc_aria_page_check(e, a, kr, IBC_ALGO_CBC, index_file, page, pno);
            if (c == -1)
                c = ibc_aria_page_check(e, a, kr, IBC_ALGO_CTR, index_file, page, pno);
            res = c == 1 ? 1 : c == -1 ? 0 : -1;
        }
        if (fd >= 0)
            close(fd);
    }
    free(page);
    return res;
}

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ibdcrypt inspect [--json] [key options] PATH...\n"
            "\n"
            "Describe the encryption of every InnoDB file under each PATH (a datadir, a backup\n"
            "or single files), like INFORMATION_SCHEMA.INNODB_TABLESPACES_ENCRYPTION does for a\n"
            "running server, with page counts read from every page (encrypted / plain / zero)\n"
            "and the key ids the files need. No key is needed; with keys, each key is checked\n"
            "by a trial decryption and named by fingerprint, and the cipher (AES_CBC or\n"
            "AES_CTR, which the files do not record) is found. The redo log (ib_logfile0) is\n"
            "described too: its format, whether it is encrypted (always with key id 1) and\n"
            "with which key version, the checkpoint and end LSNs, and how much redo recovery\n"
            "would apply. Aria tables and binary logs encrypted with key id 1\n"
            "(aria_encrypt_tables, encrypt_binlog) are counted; with keys, whether key 1\n"
            "opens them is told too.\n"
            "\n%s"
            "\n"
            "Exit status: 0; 1 a file is not readable as a tablespace; 2 usage; 3 I/O error.\n",
            cli_keys_help);
}

static int sel(const ds_file *d)
{
    return d->innodb && d->space;
}

static int work(void *ctx, unsigned worker, const ibc_pool_item *it, uint8_t *buf)
{
    dataset *ds = ctx;
    ds_work_pages(ds, worker, &ds->v[ds->pool_map[it->file]], it, buf, NULL, NULL);
    progress_add(ds->pr, it->len);
    return 0;
}

/* The server's NAME for a tablespace file. */
static void space_name(const df_file *f, char *out, size_t n)
{
    const char *base = strrchr(f->rel, '/');
    base = base ? base + 1 : f->rel;
    if (f->kind == DF_SYSTEM)
        snprintf(out, n, "innodb_system");
    else if (f->kind == DF_UNDO)
        snprintf(out, n, "innodb_%s", base);
    else {
        snprintf(out, n, "%s", f->rel);
        size_t l = strlen(out);
        if (l > 4 && !strcmp(out + l - 4, ".ibd"))
            out[l - 4] = 0;
    }
}

static const char *mode_name(int m)
{
    return m == 0 ? "DEFAULT" : m == 1 ? "ON" : m == 2 ? "OFF" : "?";
}

static int run(cli_global *g, int argc, char **argv)
{
    cli_keys keys = {0};
    char **paths = calloc((size_t)argc + 1, sizeof(char *));
    size_t npaths = 0;
    int rc = paths ? 0 : EXIT_ENV;
    for (int i = 1; i < argc && !rc; i++) {
        int k = cli_keys_option(&keys, argc, argv, &i);
        if (k < 0)
            rc = EXIT_USAGE;
        else if (!k && argv[i][0] == '-') {
            cli_err("inspect: unknown option '%s' (see ibdcrypt inspect --help)", argv[i]);
            rc = EXIT_USAGE;
        } else if (!k)
            paths[npaths++] = argv[i];
    }
    if (!rc)
        rc = cli_keys_load(&keys);
    if (!rc && !npaths && cli_keys_datadir(&keys))
        paths[npaths++] = (char *)(uintptr_t)cli_keys_datadir(&keys);
    if (!rc && !npaths) {
        cli_keys_no_datadir(&keys, "inspect", "the datadir or files to inspect");
        rc = EXIT_USAGE;
    }
    ibc_engine *e = NULL;
    if (!rc && ibc_engine_new(g->isa, &e) != IBC_OK) {
        cli_err("--isa=%s: not usable here", g->isa);
        rc = EXIT_USAGE;
    }
    if (rc) {
        cli_keys_free(&keys);
        free(paths);
        return rc;
    }
    report rep;
    dataset ds;
    report_init(&rep, g, "inspect", ibc_engine_isa(e), 1);
    report_set_keyring(&rep, keys.kr);
    rc = dataset_open(&ds, g, e, &keys, paths, npaths, 0, &rep);
    if (!rc)
        rc = dataset_pool(&ds);
    progress pr;
    if (!rc) {
        ibc_pool_file *pf = calloc(ds.n + 1, sizeof(*pf));
        ds.pool_map = calloc(ds.n + 1, sizeof(size_t));
        size_t npf = pf && ds.pool_map ? dataset_pool_files(&ds, sel, pf, ds.pool_map) : 0;
        uint64_t total = 0;
        for (size_t i = 0; i < npf; i++)
            total += pf[i].size;
        progress_start(&pr, g, "inspect", total);
        ds.pr = &pr;
        ds.op = IBC_OP_VERIFY;
        ibc_pool_job job = {pf, npf, work, NULL, &ds};
        int prc = ibc_pool_run(ds.pool, &job);
        progress_end(&pr);
        free(pf);
        if (prc) {
            cli_err("inspect: %s", prc < 0 ? strerror(-prc) : "stopped");
            rc = EXIT_ENV;
        }
    }
    /* the redo log: format, key, checkpoint, and how much redo is pending (a scan to its end) */
    for (size_t i = 0; !rc && i < ds.n; i++)
        if (ds.v[i].redo)
            ds_redo_verify(&ds, &ds.v[i], 0);
    /* the server's other files encrypted with key id 1: Aria tables, binary logs */
    size_t naria = 0, naria_wrong = 0, nbin = 0, nbin_wrong = 0;
    const char *aria = NULL, *aria_wrong = NULL, *bin = NULL, *bin_wrong = NULL;
    uint8_t probe[IBC_KEY_MAX];
    size_t plen;
    int have1 = keys.kr && ibc_keyring_get(keys.kr, 1, 1, probe, &plen) == IBC_OK;
    explicit_bzero(probe, sizeof(probe));
    for (size_t i = 0; !rc && i < ds.files.n; i++) {
        const df_file *f = &ds.files.v[i];
        ibc_aria a;
        int fd = f->kind == DF_OTHER ? df_aria_open(f->path, O_RDONLY, &a) : -1;
        if (fd >= 0) {
            close(fd);
            aria = naria++ ? aria : f->rel;
            /* with keys: does key 1 open its pages? */
            if (have1 && aria_opens(e, f->path, &a, keys.kr) == 0)
                aria_wrong = naria_wrong++ ? aria_wrong : f->rel;
        } else if (binlog_kind(f)) {
            bin = nbin++ ? bin : f->rel;
            /* with keys: does key 1 open it (its first encrypted event)? */
            bl_file b = {.path = f->path, .rel = f->rel};
            char why[1024];
            if (have1 && binlog_state(e, &b, keys.kr, NULL, why, sizeof(why)) == -2)
                bin_wrong = nbin_wrong++ ? bin_wrong : f->rel;
        }
    }
    if (!rc) {
        for (size_t i = 0; i < ds.n; i++)
            report_file_done(&rep, ds.v[i].rf);
        if (g->json) {
            char extra[300];
            const char *k1 = !have1 ? "missing" : "ok";
            snprintf(extra, sizeof(extra), "\"what\":\"INNODB_TABLESPACES_ENCRYPTION\","
                     "\"aria_tables_encrypted\":%zu,\"binary_logs_encrypted\":%zu%s%s%s%s%s",
                     naria, nbin, keys.kr ? ",\"binary_logs_key\":\"" : "",
                     !keys.kr ? "" : nbin_wrong ? "mismatch" : k1,
                     keys.kr ? "\",\"aria_tables_key\":\"" : "",
                     !keys.kr ? "" : naria_wrong ? "mismatch" : k1, keys.kr ? "\"" : "");
            report_json(&rep, stdout, ~0ull, extra);
        } else {
            printf("%-5s %-34s %6s %7s %7s %6s %-7s %5s %-17s %9s %9s %9s  %s\n", "SPACE",
                   "NAME", "SCHEME", "MIN_KV", "CUR_KV", "KEY_ID", "MODE", "PAGE",
                   "FORMAT", "ENCRYPTED", "PLAIN", "ZERO", "KEY");
            for (size_t i = 0; i < ds.n; i++) {
                ds_file *d = &ds.v[i];
                rep_file *rf = d->rf;
                char name[256];
                if (d->f->kind == DF_REDO)
                    continue; /* below the table */
                space_name(d->f, name, sizeof(name));
                if (!rf->have_space) {
                    printf("%-5s %-34s %s\n", "-", name,
                           rf->error[0] ? rf->error : rf->uninitialized ? "page 0 all zero" : "-");
                    continue;
                }
                const ibc_space_info *in = &rf->info;
                char fmt[40];
                const char *key = "-";
                if (in->crypt_scheme == 1)
                    key = !keys.kr ? "(no keys given)"
                          : rf->key_state == REP_KEY_OK ? (in->algorithm == IBC_ALGO_CTR ? "ok AES_CTR" : "ok AES_CBC")
                          : rf->key_state == REP_KEY_MISSING  ? "MISSING"
                          : rf->key_state == REP_KEY_MISMATCH ? "WRONG KEY"
                                                              : "unproven";
                char curkv[16] = "-";
                if (in->has_crypt_data && keys.kr) {
                    uint8_t tmp[IBC_KEY_MAX];
                    size_t l;
                    if (ibc_keyring_get(keys.kr, in->key_id, 1, tmp, &l) == IBC_OK)
                        snprintf(curkv, sizeof(curkv), "1");
                    explicit_bzero(tmp, sizeof(tmp));
                }
                printf("%-5u %-34s %6d %7u %7s %6u %-7s %4uK %-17s %9llu %9llu %9llu  %s\n",
                       in->space_id, name, in->has_crypt_data ? in->crypt_scheme : 0,
                       in->min_key_version, curkv, in->key_id,
                       in->has_crypt_data ? mode_name(in->encryption_mode) : "-",
                       in->page_size / 1024, rep_format_label(in, fmt, sizeof(fmt)),
                       (unsigned long long)rf->encrypted,
                       (unsigned long long)rf->status[IBC_PAGE_PLAIN],
                       (unsigned long long)rf->status[IBC_PAGE_ZERO], key);
            }
            /* the key inventory, by key id */
            printf("\nkey ids needed:");
            size_t nseen = 0;
            int listed1 = 0;
            for (uint64_t id = 0, next; id != UINT64_MAX; id = next) {
                const rep_file *first = NULL;
                next = UINT64_MAX;
                for (size_t i = 0; i < ds.n; i++) {
                    const rep_file *rf = ds.v[i].rf;
                    if (!rf->have_space || rf->info.crypt_scheme != 1)
                        continue;
                    if (rf->info.key_id == id && !first)
                        first = rf;
                    if (rf->info.key_id > id && rf->info.key_id < next)
                        next = rf->info.key_id;
                }
                if (first) {
                    nseen++;
                    listed1 |= first->info.key_id == 1;
                    printf(" %u", first->info.key_id);
                    if (first->fingerprint[0])
                        printf(" (fingerprint %s)", first->fingerprint);
                }
            }
            for (size_t i = 0; i < ds.n; i++) {
                const rep_file *rf = ds.v[i].rf;
                if (!rf->have_redo || !rf->redo.encrypted)
                    continue;
                int listed = 0;
                for (size_t k = 0; k < ds.n; k++)
                    listed |= ds.v[k].rf->have_space && ds.v[k].rf->info.crypt_scheme == 1 &&
                              ds.v[k].rf->info.key_id == rf->redo.key_id;
                if (!listed) {
                    nseen++;
                    listed1 |= rf->redo.key_id == 1;
                    printf(" %u", rf->redo.key_id);
                    if (rf->fingerprint[0])
                        printf(" (fingerprint %s)", rf->fingerprint);
                }
                printf(" (the redo log needs key %u)", rf->redo.key_id);
            }
            if (naria || nbin) {
                if (!listed1)
                    printf(" 1");
                nseen++;
                printf(" (%s%s%s need key 1)", naria ? "Aria tables" : "",
                       naria && nbin ? " and " : "", nbin ? "binary logs" : "");
            }
            printf("%s\n", nseen ? "" : " none (nothing is encrypted)");
            for (size_t i = 0; i < ds.n; i++) {
                const rep_file *rf = ds.v[i].rf;
                if (ds.v[i].f->kind != DF_REDO)
                    continue;
                if (!rf->have_redo) {
                    printf("\n%s: %s\n", ds.v[i].f->rel, rf->error[0] ? rf->error : "unreadable");
                    continue;
                }
                char desc[512];
                rep_redo_describe(rf, desc, sizeof(desc));
                const char *key = !rf->redo.encrypted                   ? "not encrypted"
                                  : !keys.kr                            ? "no keys given"
                                  : rf->key_state == REP_KEY_OK         ? "key ok"
                                  : rf->key_state == REP_KEY_MISSING    ? "key 1 MISSING"
                                  : rf->key_state == REP_KEY_MISMATCH   ? "WRONG KEY"
                                                                        : "key unproven";
                printf("\n%s: %s; %s%s%s\n", ds.v[i].f->rel, desc, key,
                       rf->error[0] ? "; ERROR: " : "", rf->error);
            }
            if (naria)
                printf("\n%zu Aria table%s encrypted with key id 1 (aria_encrypt_tables=ON; %s%s): "
                       "prepare and rekey re-key them%s%s%s\n", naria, naria == 1 ? "" : "s",
                       aria, naria == 1 ? "" : ", ...",
                       !keys.kr     ? ""
                       : !have1     ? "; key 1 MISSING"
                       : naria_wrong ? "; WRONG KEY: key 1 does not open "
                                     : "; key ok",
                       naria_wrong ? aria_wrong : "", naria_wrong > 1 ? ", ..." : "");
            if (nbin)
                printf("%s%zu binary log%s encrypted with key id 1 (encrypt_binlog=ON; %s%s): "
                       "prepare and rekey re-encrypt them%s%s%s\n", naria ? "" : "\n", nbin,
                       nbin == 1 ? "" : "s", bin, nbin == 1 ? "" : ", ...",
                       !keys.kr    ? ""
                       : !have1    ? "; key 1 MISSING"
                       : nbin_wrong ? "; WRONG KEY: key 1 does not open "
                                    : "; key ok",
                       nbin_wrong ? bin_wrong : "", nbin_wrong > 1 ? ", ..." : "");
        }
        for (size_t i = 0; i < ds.n; i++)
            if (ds.v[i].rf->error[0])
                rc = ds.v[i].rf->env_error ? EXIT_ENV : EXIT_DATA;
    }
    dataset_close(&ds);
    report_free(&rep);
    ibc_engine_free(e);
    cli_keys_free(&keys);
    free(paths);
    return rc;
}

const cli_command cmd_inspect = {"inspect", "encryption state of every tablespace, offline", run,
                                 help};
