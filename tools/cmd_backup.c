/*
 * cmd_backup.c - `ibdcrypt backup`: copy a stopped server's datadir (or a filesystem
 * snapshot) to a directory or to an xbstream on stdout, verifying every InnoDB page on the
 * way (deep, decrypting every encrypted page, when keys are given), with a manifest.
 *
 * Durability (design.md): a directory backup is built in a staging directory next to the
 * target, every file fsynced, then renamed into place in one step; on failure the staging
 * directory is removed and nothing is left. A stream ends with the manifest as its last file,
 * so a stream that stops early (a bad page, an error) is detectably incomplete.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dataset.h"
#include "deepcheck.h"
#include "ibdcrypt/journal.h"
#include "filecrc.h"
#include "manifest.h"

#define MANIFEST MANIFEST_NAME

typedef struct bk_opts {
    const char *datadir;
    const char *target;
    int stream;
    int checksums_only;
    int keep_going;
} bk_opts;

typedef struct bk_file {
    int fd;     /* output (directory mode) */
    size_t blk;  /* its file system's block size (a power of two) */
    fc_file crc; /* the items' CRC-32C, joined for the manifest */
} bk_file;

typedef struct bk_ctx {
    dataset ds;
    bk_opts o;
    bk_file *out;
    int out_fd; /* the stream */
    int stream_failed;
    /* stream: the xbstream checksum (zlib CRC-32) of each item's chunk, by item seq, computed
     * by the workers so that the one ordered emitter only writes */
    pthread_mutex_t chunk_lock;
    uint32_t *chunk_crc;
    size_t chunk_cap;
    fc_tables crc_tables;
} bk_ctx;

static void help(FILE *out)
{
    fprintf(out,
            "Usage: ibdcrypt backup [--datadir=DIR] (--target-dir=DIR | --stream=xbstream)\n"
            "                       [key options] [--checksums-only] [--keep-going]\n"
            "\n"
            "Copy every file of a stopped server's datadir, or of a filesystem snapshot of\n"
            "one, checking every InnoDB page on the way: the stored checksums always, and\n"
            "when keys are given, the plaintext of every encrypted page (verify --deep). Torn\n"
            "pages are read again a few times before they are reported. The redo log is\n"
            "checked as verify does (with keys: decrypted and parsed) before anything is\n"
            "written, and with keys so are the binary logs and Aria tables encrypted with key\n"
            "id 1 (every event and page decrypted and checked). Other files (.frm, ...) are\n"
            "copied as they are; ibtmp1 is left out. Symbolic links are followed (a database\n"
            "directory on another disk is copied as a directory), and so are the .isl files\n"
            "of tables created with DATA DIRECTORY: the backup holds such a tablespace as\n"
            "db/t.ibd beside its .isl (as mariadb-backup does; put it back where the .isl\n"
            "points when restoring). With --defaults-file, innodb_data_home_dir,\n"
            "innodb_data_file_path (the system tablespace's files, by any name),\n"
            "innodb_undo_directory and innodb_log_group_home_dir are honoured: those files go\n"
            "to the top of the backup, under their base names, and its manifest says which\n"
            "are the system tablespace. A datadir whose InnoDB files another process has open\n"
            "(a server) is refused, and a file whose size or modification time changes while\n"
            "it is copied (a server started on the datadir meanwhile) fails the backup: exit\n"
            "3, and no target directory.\n"
            "\n"
            "  --datadir=DIR        the source (default: datadir of --defaults-file)\n"
            "  --target-dir=DIR     write the backup here (must not exist, or be empty, and be\n"
            "                       outside the datadir); it is built next to it and renamed\n"
            "                       into place when complete (what a backup stopped before\n"
            "                       its end left there, the next one removes); its files\n"
            "                       are sparse where the source is (zero pages, the\n"
            "                       padding of page_compressed pages)\n"
            "  --stream=xbstream    write an xbstream to stdout instead (extract with\n"
            "                       mbstream -x -C DIR); logs and progress go to stderr\n"
            "  --checksums-only     do not decrypt, even when keys are given\n"
            "  --keep-going         write the backup even when pages are bad (they are listed\n"
            "                       in the manifest and the exit status is 1)\n"
            "\n%s"
            "\n"
            "The backup holds " MANIFEST ": per-file page counts, bad pages, and the keys\n"
            "it needs by fingerprint (never the keys).\n"
            "\n"
            "Exit status: 0 backup complete and every page good; 1 bad pages or a wrong key\n"
            "(no backup unless --keep-going); 2 usage error; 3 environment error (I/O, missing\n"
            "key, a server running on the datadir, no space): nothing is left behind.\n"
            "\n"
            "Examples:\n"
            "  ibdcrypt backup --defaults-file=/etc/mysql/my.cnf --target-dir=/backup/mon\n"
            "  ibdcrypt backup --datadir=/snap/mysql --keyfile=/etc/mysql/keys.txt \\\n"
            "      --stream=xbstream | ssh host 'mbstream -x -C /restore'\n",
            cli_keys_help);
}

/* ---- output ------------------------------------------------------------------------------ */

static int sel_all(const ds_file *d)
{
    (void)d;
    return 1;
}

/* Keep item seq's chunk checksum for emit. 0 or -ENOMEM. */
static int put_chunk_crc(bk_ctx *x, uint64_t seq, uint32_t crc)
{
    int rc = 0;
    pthread_mutex_lock(&x->chunk_lock);
    if (seq >= x->chunk_cap) {
        size_t cap = x->chunk_cap ? x->chunk_cap : 1024;
        while (cap <= seq)
            cap *= 2;
        uint32_t *v = realloc(x->chunk_crc, cap * sizeof(*v));
        if (v) {
            x->chunk_crc = v;
            x->chunk_cap = cap;
        } else {
            rc = -ENOMEM;
        }
    }
    if (!rc)
        x->chunk_crc[seq] = crc;
    pthread_mutex_unlock(&x->chunk_lock);
    return rc;
}

static uint32_t get_chunk_crc(bk_ctx *x, uint64_t seq)
{
    pthread_mutex_lock(&x->chunk_lock);
    uint32_t crc = x->chunk_crc[seq];
    pthread_mutex_unlock(&x->chunk_lock);
    return crc;
}

/* How much of an InnoDB page of l bytes a directory backup writes: up to its last non-zero
 * byte, rounded up to a whole block of blk bytes (the zero bytes after it stay a hole of the
 * pre-sized file); 0 for a zero page. The end of a page is its checksum, so on all but zero
 * and page_compressed pages this looks at 8 bytes. */
static size_t written_part(const uint8_t *p, size_t l, size_t blk)
{
    size_t e = l;
    while (e % 8 && !p[e - 1])
        e--;
    if (e % 8 == 0) {
        uint64_t v = 0;
        while (e >= 8 && (memcpy(&v, p + e - 8, 8), !v))
            e -= 8;
        while (e && !p[e - 1])
            e--;
    }
    if (!e)
        return 0;
    size_t w = (e + blk - 1) / blk * blk;
    return w < l ? w : l;
}

static int work(void *c, unsigned worker, const ibc_pool_item *it, uint8_t *buf)
{
    bk_ctx *x = c;
    size_t i = x->ds.pool_map[it->file];
    ds_file *d = &x->ds.v[i];
    uint8_t sums[1100], *ps = it->nunits <= 1100 ? sums : NULL;
    if (d->innodb && d->space)
        ds_work_pages(&x->ds, worker, d, it, buf, NULL, ps);
    else
        ps = NULL;
    uint32_t crc_c, crc_z;
    fc_item_crcs(&x->crc_tables, x->ds.e, d, it, buf, ps, &crc_c, x->o.stream ? &crc_z : NULL);
    fc_note(&x->out[i].crc, it->offset, it->len, crc_c);
    progress_add(x->ds.pr, it->len);
    if (x->o.stream)
        return put_chunk_crc(x, it->seq, crc_z);
    struct iovec iov[1100];
    int n = fc_item_iov(d, it, buf, iov, 1100);
    /* directory: positional writes into the pre-sized file; the zero bytes at the end of an
     * InnoDB page (all of a zero page, the padding after a page_compressed page's payload,
     * which the server punches out: fil0pagecompress.cc, os_file_punch_hole) are left as
     * holes, whole file system blocks of them, so that the copy takes no more disk than the
     * source */
    uint64_t at = it->offset;
    for (int k = 0; k < n; k++) {
        const uint8_t *p = iov[k].iov_base;
        size_t l = iov[k].iov_len, from = 0, to = 0; /* [from, to) of p: written together */
        for (size_t o = 0, pl; o < l; o += pl) {
            pl = d->innodb && l - o >= d->unit ? d->unit : l - o;
            size_t w = d->innodb ? written_part(p + o, pl, x->out[i].blk) : pl;
            if (!w)
                continue;
            if (to != o) { /* a hole before this page: write what came before it */
                if (to > from && cli_pwrite_all(x->out[i].fd, p + from, to - from, at + from))
                    return errno == ENOSPC ? -ENOSPC : -(errno ? errno : EIO);
                from = o;
            }
            to = o + w;
        }
        if (to > from && cli_pwrite_all(x->out[i].fd, p + from, to - from, at + from))
            return errno == ENOSPC ? -ENOSPC : -(errno ? errno : EIO);
        at += l;
    }
    return 0;
}

static int emit(void *c, const ibc_pool_item *it, uint8_t *buf)
{
    bk_ctx *x = c;
    ds_file *d = &x->ds.v[x->ds.pool_map[it->file]];
    /* a bad page stops the stream (detectably incomplete: no manifest) */
    if (!x->o.keep_going && atomic_load(&x->ds.bad))
        return 1;
    struct iovec iov[1100];
    int n = fc_item_iov(d, it, buf, iov, 1100);
    int rc = ibc_xbs_write_payload_crc(x->out_fd, d->f->rel, it->offset, iov, n,
                                       get_chunk_crc(x, it->seq));
    if (!rc && it->offset + it->len == d->f->size)
        rc = ibc_xbs_write_eof(x->out_fd, d->f->rel);
    if (rc)
        x->stream_failed = rc;
    return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static int mkdirs(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s", dir);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(p, 0750) && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(p, 0750) && errno != EEXIST ? -1 : 0;
}

/* ---- the command ------------------------------------------------------------------------- */

/* The staging directories TARGET.ibdcrypt-partial-PID that backups to this target killed
 * before their end left behind (a partial copy of a datadir can be terabytes): removed, with
 * a word. One whose process still runs is another backup to the same target: refused. */
static int clear_partials(const cli_global *g, const char *target)
{
    char dir[PATH_MAX], prefix[PATH_MAX];
    const char *sl = strrchr(target, '/');
    snprintf(dir, sizeof(dir), "%.*s", sl ? (sl == target ? 1 : (int)(sl - target)) : 1,
             sl ? target : ".");
    snprintf(prefix, sizeof(prefix), "%s.ibdcrypt-partial-", sl ? sl + 1 : target);
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* (a parent that does not exist yet holds none) */
    struct dirent *e;
    int rc = 0;
    size_t pl = strlen(prefix);
    while (!rc && (e = readdir(d))) {
        char *end;
        if (strncmp(e->d_name, prefix, pl))
            continue;
        long pid = strtol(e->d_name + pl, &end, 10);
        if (*end || pid <= 0)
            continue;
        char p[PATH_MAX + 256];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) {
            cli_err("backup: another backup to %s is running (pid %ld, writing %s)", target, pid,
                    p);
            rc = EXIT_ENV;
        } else {
            cli_info(g, "backup: removing %s, the partial copy of a backup that was stopped",
                     p);
            nftw(p, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        }
    }
    closedir(d);
    return rc;
}

static int run(cli_global *g, int argc, char **argv)
{
    bk_ctx x;
    memset(&x, 0, sizeof(x));
    cli_keys keys = {0};
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *v;
        int k = cli_keys_option(&keys, argc, argv, &i);
        if (k < 0)
            return EXIT_USAGE;
        if (k)
            continue;
        if (cli_opt_value("--datadir", argc, argv, &i, &v)) {
            x.o.datadir = v;
        } else if (cli_opt_value("--target-dir", argc, argv, &i, &v)) {
            x.o.target = v;
        } else if (cli_opt_value("--stream", argc, argv, &i, &v)) {
            if (strcmp(v, "xbstream")) {
                cli_err("--stream: only xbstream is supported, got '%s'", v);
                rc = EXIT_USAGE;
            }
            x.o.stream = 1;
        } else if (!strcmp(argv[i], "--checksums-only")) {
            x.o.checksums_only = 1;
        } else if (!strcmp(argv[i], "--keep-going")) {
            x.o.keep_going = 1;
        } else {
            cli_err("backup: unknown argument '%s' (see ibdcrypt backup --help)", argv[i]);
            rc = EXIT_USAGE;
        }
    }
    if (!rc && (rc = cli_keys_load(&keys)) == 0) {
        if (!x.o.datadir)
            x.o.datadir = cli_keys_datadir(&keys);
        if (!x.o.datadir) {
            cli_keys_no_datadir(&keys, "backup", "--datadir=DIR");
            rc = EXIT_USAGE;
        } else if (!x.o.stream == !x.o.target) {
            cli_err("backup: give exactly one of --target-dir=DIR or --stream=xbstream");
            rc = EXIT_USAGE;
        } else if (x.o.stream && isatty(STDOUT_FILENO)) {
            cli_err("backup --stream: stdout is a terminal; redirect it to a file or a pipe");
            rc = EXIT_USAGE;
        }
    }
    if (!rc && x.o.target) {
        struct stat st;
        DIR *dir = NULL;
        if (!stat(x.o.target, &st)) { /* an empty directory is fine */
            struct dirent *e;
            int empty = S_ISDIR(st.st_mode) && (dir = opendir(x.o.target)) != NULL;
            while (empty && (e = readdir(dir)))
                empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
            if (dir)
                closedir(dir);
            if (!empty) {
                cli_err("backup: target %s exists and is not an empty directory", x.o.target);
                rc = EXIT_USAGE;
            }
        }
        if (!rc && datadir_contains(x.o.datadir, x.o.target)) {
            cli_err("backup: target %s is inside the datadir %s (the server would take it for "
                    "a database)", x.o.target, x.o.datadir);
            rc = EXIT_USAGE;
        }
    }
    ibc_engine *e = NULL;
    if (!rc && ibc_engine_new(g->isa, &e) != IBC_OK) {
        cli_err("--isa=%s: not usable here", g->isa);
        rc = EXIT_USAGE;
    }
    if (rc) {
        cli_keys_free(&keys);
        return rc;
    }
    int deep = keys.kr && !x.o.checksums_only;
    report rep;
    report_init(&rep, g, deep ? "backup --deep" : "backup", ibc_engine_isa(e), 1);
    report_set_keyring(&rep, keys.kr);
    /* the report goes to stdout only as JSON, and never onto a stdout that carries a stream */
    if (x.o.stream || !g->json)
        rep.out = stderr;
    char *paths[1] = {(char *)(uintptr_t)x.o.datadir};
    rc = dataset_open(&x.ds, g, e, &keys, paths, 1, DS_ALL | DS_RETRY | (deep ? DS_DEEP : 0),
                      &rep);
    long pid = rc ? 0 : dataset_server_pid(&x.ds);
    if (pid) {
        char holder[160];
        cli_err("backup: %s is running on %s: stop it, or back up a filesystem snapshot (or use "
                "mariadb-backup for a live server)",
                dataset_lock_holder(pid, holder, sizeof(holder)), x.o.datadir);
        rc = EXIT_ENV;
    }
    char who[PATH_MAX + 64];
    if (!rc && !pid && dataset_open_elsewhere(&x.ds, who, sizeof(who))) {
        /* (a server whose ibdata1 and log live elsewhere holds no lock here) */
        cli_err("backup: %s: stop it, or back up a filesystem snapshot", who);
        rc = EXIT_ENV;
    }
    char jcmd[32];
    int jrun = 0;
    if (!rc && dataset_interrupted(&x.ds, jcmd, sizeof(jcmd), &jrun)) {
        cli_err(jrun ? "backup: an `ibdcrypt %s` is re-keying %s right now: back up when it "
                       "has finished"
                     : "backup: %s is in the middle of an interrupted `ibdcrypt %s`: run that "
                       "command again to finish it, then back up",
                jrun ? jcmd : x.o.datadir, jrun ? x.o.datadir : jcmd);
        rc = EXIT_ENV;
    }
    /* the redo log first (it is small next to the data): a backup whose log recovery cannot
     * read does not restore, so nothing is written for it without --keep-going */
    int redo_bad = 0;
    for (size_t i = 0; !rc && i < x.ds.n; i++) {
        if (!x.ds.v[i].redo)
            continue;
        ibc_status st = ds_redo_verify(&x.ds, &x.ds.v[i], deep);
        if (st == IBC_ERR_CORRUPT || st == IBC_ERR_KEY_MISMATCH)
            redo_bad = 1;
    }
    /* so are the binary logs and Aria tables encrypted with key id 1: a restored server
     * could not read them (before the copy: reading them twice costs less than a stream or a
     * directory that must be thrown away) */
    size_t other_bad = 0;
    if (!rc && deep && (!redo_bad || x.o.keep_going))
        other_bad = deep_check_binlogs(g, "backup", e, &x.ds, keys.kr, &rep) +
                    deep_check_aria(e, &x.ds, keys.kr, keys.algo, &rep);
    if ((redo_bad || other_bad) && !x.o.keep_going) {
        int env = 0; /* a file that could not be read: the environment's, not the data's */
        for (size_t i = 0; i < rep.n; i++)
            if (rep.files[i]->have_redo || rep.files[i]->error[0]) {
                env |= rep.files[i]->error[0] && rep.files[i]->env_error;
                report_file_done(&rep, rep.files[i]);
            }
        if (g->json)
            report_finish(&rep, ~0ull);
        cli_err(redo_bad ? "backup NOT written: the redo log is damaged or does not open with "
                           "the keys (see above)"
                         : "backup NOT written: a binary log or an Aria table is damaged or "
                           "does not open with key id 1 (see above)");
        dataset_close(&x.ds);
        report_free(&rep);
        ibc_engine_free(e);
        cli_keys_free(&keys);
        return env ? EXIT_ENV : EXIT_DATA;
    }
    char staging[PATH_MAX] = "";
    ibc_pool_file *pf = NULL;
    size_t npf = 0;
    if (!rc)
        rc = dataset_pool(&x.ds);
    if (!rc && fc_tables_init(&x.crc_tables, x.ds.e))
        rc = EXIT_ENV;
    if (!rc) {
        x.out = calloc(x.ds.n + 1, sizeof(bk_file));
        pf = calloc(x.ds.n + 1, sizeof(*pf));
        x.ds.pool_map = calloc(x.ds.n + 1, sizeof(size_t));
        if (!x.out || !pf || !x.ds.pool_map)
            rc = EXIT_ENV;
    }
    for (size_t i = 0; !rc && i < x.ds.n; i++) {
        fc_file_init(&x.out[i].crc);
        x.out[i].fd = -1;
    }
    if (!rc && !x.o.stream) {
        /* the staging directory, next to the target */
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s", x.o.target);
        for (size_t l = strlen(tmp); l > 1 && tmp[l - 1] == '/'; l--)
            tmp[l - 1] = 0;
        rc = clear_partials(g, tmp);
        snprintf(staging, sizeof(staging), "%s.ibdcrypt-partial-%ld", tmp, (long)getpid());
        if (!rc && mkdirs(staging)) {
            cli_err("backup: cannot create %s: %s", staging, strerror(errno));
            staging[0] = 0;
            rc = EXIT_ENV;
        }
        for (size_t i = 0; !rc && i < x.ds.n; i++) {
            ds_file *d = &x.ds.v[i];
            char p[PATH_MAX];
            snprintf(p, sizeof(p), "%s/%s", staging, d->f->rel);
            char *slash = strrchr(p, '/');
            *slash = 0;
            if (mkdirs(p)) {
                cli_err("backup: cannot create %s: %s", p, strerror(errno));
                rc = EXIT_ENV;
                break;
            }
            *slash = '/';
            struct stat st;
            mode_t mode = d->fd >= 0 && !fstat(d->fd, &st) ? st.st_mode & 0777 : 0640;
            x.out[i].fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
            if (x.out[i].fd < 0 || ftruncate(x.out[i].fd, (off_t)d->f->size)) {
                cli_err("backup: cannot create %s: %s", p, strerror(errno));
                rc = EXIT_ENV;
            }
            struct stat ost;
            x.out[i].blk = 4096;
            if (!rc && !fstat(x.out[i].fd, &ost) && ost.st_blksize >= 512 &&
                ost.st_blksize <= 65536 && !(ost.st_blksize & (ost.st_blksize - 1)))
                x.out[i].blk = (size_t)ost.st_blksize;
        }
    }
    /* a stopped server's files, or a snapshot's, do not change while they are copied: their
     * sizes and modification times now, to compare at the end */
    struct stat *st0 = rc ? NULL : calloc(x.ds.n + 1, sizeof(struct stat));
    for (size_t i = 0; st0 && i < x.ds.n; i++)
        if (x.ds.v[i].fd < 0 || fstat(x.ds.v[i].fd, &st0[i]))
            st0[i].st_nlink = 0; /* (not compared) */
    progress pr;
    int job_rc = 0, unreadable = 0;
    if (!rc) {
        signal(SIGPIPE, SIG_IGN);
        x.out_fd = STDOUT_FILENO;
        npf = dataset_pool_files(&x.ds, sel_all, pf, x.ds.pool_map);
        uint64_t total = 0;
        for (size_t i = 0; i < npf; i++)
            total += pf[i].size;
        rep.threads = ibc_pool_threads(x.ds.pool);
        progress_start(&pr, g, "backup", total);
        x.ds.pr = &pr;
        x.ds.op = deep ? IBC_OP_VERIFY_DEEP : IBC_OP_VERIFY;
        ibc_pool_job job = {pf, npf, work, x.o.stream ? emit : NULL, &x};
        pthread_mutex_init(&x.chunk_lock, NULL);
        job_rc = ibc_pool_run(x.ds.pool, &job);
        pthread_mutex_destroy(&x.chunk_lock);
        free(x.chunk_crc);
        progress_end(&pr);
        for (size_t i = 0; i < x.ds.n; i++) {
            if (x.ds.v[i].fd < 0 && !job_rc) {
                /* an unreadable source file (its report line says why) */
                cli_err("backup: %s could not be read (its report line says why): the backup "
                        "is not complete",
                        x.ds.v[i].f->rel);
                job_rc = -EIO;
                unreadable = 1;
            } else if (x.o.stream && x.ds.v[i].f->size == 0 && !job_rc) {
                /* empty files have no item: one empty chunk creates them */
                job_rc = ibc_xbs_write_payload(x.out_fd, x.ds.v[i].f->rel, 0, NULL, 0);
                if (!job_rc)
                    job_rc = ibc_xbs_write_eof(x.out_fd, x.ds.v[i].f->rel);
            }
        }
    }
    /* verdict: data problems and environment problems */
    int bad = redo_bad || other_bad || atomic_load(&x.ds.bad) > 0;
    for (size_t i = 0; i < rep.n; i++) { /* the dataset's files (and any the checks added) */
        rep_file *rf = rep.files[i];
        if (rf->key_state == REP_KEY_MISMATCH)
            bad = 1;
        report_file_done(&rep, rf);
    }
    if (!rc && job_rc && !(job_rc == 1 && bad)) {
        if (!unreadable)
            cli_err("backup: %s", job_rc == -EPIPE    ? "the stream's reader went away"
                                  : job_rc == -ENOSPC ? "no space left on the target"
                                  : job_rc < 0        ? strerror(-job_rc)
                                                      : "stopped");
        rc = EXIT_ENV;
    }
    ibc_crash_point("backup-copied"); /* (tests: a file changed here must be caught) */
    for (size_t i = 0; !rc && st0 && i < x.ds.n; i++) {
        struct stat s1;
        if (!st0[i].st_nlink || fstat(x.ds.v[i].fd, &s1))
            continue;
        if (s1.st_size != st0[i].st_size || s1.st_mtim.tv_sec != st0[i].st_mtim.tv_sec ||
            s1.st_mtim.tv_nsec != st0[i].st_mtim.tv_nsec) {
            cli_err("backup: %s changed while it was copied%s: the copy is not consistent; "
                    "back up a stopped server or a snapshot",
                    x.ds.v[i].f->rel,
                    dataset_server_pid(&x.ds) ? " (a server started on the datadir)" : "");
            rc = EXIT_ENV;
        }
    }
    free(st0);
    int commit = !rc && (!bad || x.o.keep_going);
    /* the manifest: the report, the source, and the whole-file CRC-32C of every copied file */
    char *extra = NULL;
    size_t elen = 0;
    if (!rc) {
        FILE *ef = open_memstream(&extra, &elen);
        fprintf(ef, "\"source\":");
        cli_json_str(ef, x.o.datadir);
        fclose(ef);
        for (size_t i = 0; i < x.ds.n; i++)
            snprintf(x.ds.v[i].rf->crc32c, sizeof(x.ds.v[i].rf->crc32c), "%08x",
                     fc_file_crc(&x.out[i].crc));
    }
    if (commit) {
        char *json = NULL;
        size_t jlen = 0;
        FILE *mf = open_memstream(&json, &jlen);
        report_json(&rep, mf, 0, extra);
        fclose(mf);
        if (x.o.stream) {
            struct iovec v = {json, jlen};
            int w = ibc_xbs_write_payload(x.out_fd, MANIFEST, 0, &v, 1);
            if (!w)
                w = ibc_xbs_write_eof(x.out_fd, MANIFEST);
            if (w) {
                cli_err("backup: writing the stream: %s", strerror(-w));
                rc = EXIT_ENV;
            }
        } else {
            char p[PATH_MAX];
            snprintf(p, sizeof(p), "%s/%s", staging, MANIFEST);
            FILE *f = fopen(p, "w");
            if (!f || fwrite(json, 1, jlen, f) != jlen || fflush(f) || fsync(fileno(f))) {
                cli_err("backup: writing %s: %s", p, strerror(errno));
                rc = EXIT_ENV;
            }
            if (f)
                fclose(f);
            for (size_t i = 0; !rc && i < x.ds.n; i++)
                if (x.out[i].fd >= 0 && fsync(x.out[i].fd)) {
                    cli_err("backup: fsync of %s: %s", x.ds.v[i].f->rel, strerror(errno));
                    rc = EXIT_ENV;
                }
            /* directories, then the rename that makes the backup appear whole */
            for (size_t i = 0; !rc && i < x.ds.n; i++) {
                snprintf(p, sizeof(p), "%s/%s", staging, x.ds.v[i].f->rel);
                *strrchr(p, '/') = 0;
                cli_fsync_path(p);
            }
            if (!rc) {
                rmdir(x.o.target); /* an empty target directory is replaced */
                if (rename(staging, x.o.target)) {
                    cli_err("backup: cannot rename %s to %s: %s", staging, x.o.target,
                            strerror(errno));
                    rc = EXIT_ENV;
                } else {
                    staging[0] = 0;
                    char parent[PATH_MAX];
                    snprintf(parent, sizeof(parent), "%s", x.o.target);
                    char *sl = strrchr(parent, '/');
                    if (sl && sl != parent)
                        *sl = 0;
                    else
                        snprintf(parent, sizeof(parent), "%s", sl ? "/" : ".");
                    cli_fsync_path(parent);
                }
            }
        }
        free(json);
    }
    for (size_t i = 0; x.out && i < x.ds.n; i++) {
        if (x.out[i].fd >= 0)
            close(x.out[i].fd);
        fc_file_free(&x.out[i].crc);
    }
    if (staging[0])
        nftw(staging, rm_entry, 16, FTW_DEPTH | FTW_PHYS); /* nothing left behind */
    if (rc == EXIT_ENV)
        report_failed(&rep);
    int data_rc = report_finish(&rep, ~0ull);
    if (!rc && bad)
        rc = EXIT_DATA;
    if (!rc && data_rc)
        rc = data_rc;
    if (rc == 0)
        cli_info(g, "backup complete: %s%s", x.o.stream ? "stream written to stdout"
                                                        : "written to ",
                 x.o.stream ? "" : x.o.target);
    else if (rc == EXIT_DATA)
        cli_err("backup %s: bad pages, a wrong key or a damaged file (see above)",
                commit ? "written with problems" : "NOT written");
    free(extra);
    free(pf);
    free(x.out);
    dataset_close(&x.ds);
    report_free(&rep);
    ibc_engine_free(e);
    cli_keys_free(&keys);
    return rc;
}

const cli_command cmd_backup = {"backup", "copy a stopped datadir, verifying every page", run,
                                help};
