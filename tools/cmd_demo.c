/*
 * cmd_demo.c - `ibdcrypt demo`: the main job end to end on a throwaway server.
 *
 *   1. start a throwaway MariaDB 10.11 with data-at-rest encryption (file_key_management,
 *      random lab keys), load a data set, record CHECKSUM TABLE, stop it cleanly;
 *   2. ibdcrypt backup --deep of its datadir (every page decrypted and checked), and the
 *      backup checked against its manifest (verify --deep --manifest);
 *   3. ibdcrypt prepare of the backup for a NEW key file (rewrap: seconds), and of a copy
 *      with --mode=reencrypt (every page re-encrypted); each checked against its manifest
 *      (prepare updates it) with the new keys;
 *   4. start a server on each prepared backup holding ONLY the new keys: CHECK TABLE and
 *      CHECKSUM TABLE must equal what was recorded;
 *   5. print throughput and the verdict.
 *
 * The server is run as the format sheet's §15 says: its own option file first on every command
 * line, private socket/pid/log paths, nothing from /etc/mysql, the distro datadir untouched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"

extern char **environ;

typedef struct demo {
    cli_global *g;
    char root[256];
    long rows;
    int keep;
    const char *plugin_dir;
} demo;

static void help(FILE *out)
{
    fputs("Usage: ibdcrypt demo [--rows=N] [--keep] [--dir=DIR]\n"
          "\n"
          "The main job end to end, on a throwaway MariaDB 10.11 server with encrypted tables:\n"
          "load a data set and record CHECKSUM TABLE; stop the server; back it up with\n"
          "`ibdcrypt backup` (every page decrypted and checked) and check the backup against\n"
          "its manifest (`ibdcrypt verify --deep --manifest`); re-key the backup for a new\n"
          "key file with `ibdcrypt prepare` (--mode=rewrap, and --mode=reencrypt on a copy)\n"
          "and check it again against its manifest, which prepare updated, with the new keys;\n"
          "start a server on each result with ONLY the new keys and require CHECK TABLE and\n"
          "the recorded CHECKSUM TABLE values. Prints the throughput and a verdict.\n"
          "\n"
          "  --rows=N    rows per table (default 200000)\n"
          "  --keep      keep the working directory (default: removed)\n"
          "  --dir=DIR   where to work (default: a new /tmp/ibcdemo.XXXXXX)\n"
          "\n"
          "Needs mariadb-server and mariadb-backup 10.11 (ci/setup.sh installs them).\n"
          "Exit status: 0 the restored servers returned the same data; 1 they did not; 3 the\n"
          "server could not be run.\n",
          out);
}

/* ---- running programs -------------------------------------------------------------------- */

/* Run argv; stdout into out (NUL-terminated, may be NULL), stdin from `in` (may be NULL).
 * Returns the exit status, or -1. */
static int run_prog(char *const argv[], const char *in, char *out, size_t outlen, int quiet)
{
    int pin[2], pout[2];
    if (pipe(pin) || pipe(pout))
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    if (quiet)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, pin[1]);
    posix_spawn_file_actions_addclose(&fa, pout[0]);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pin[0]);
    close(pout[1]);
    if (rc) {
        close(pin[1]);
        close(pout[0]);
        return -1;
    }
    if (in) {
        size_t l = strlen(in);
        while (l) {
            ssize_t w = write(pin[1], in, l);
            if (w <= 0)
                break;
            in += w;
            l -= (size_t)w;
        }
    }
    close(pin[1]);
    size_t got = 0;
    char sink[4096];
    for (;;) {
        ssize_t r = out && got + 1 < outlen ? read(pout[0], out + got, outlen - 1 - got)
                                            : read(pout[0], sink, sizeof(sink));
        if (r <= 0)
            break;
        if (out && got + 1 < outlen)
            got += (size_t)r;
    }
    if (out)
        out[got] = 0;
    close(pout[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void say(const demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const demo *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("demo: ");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
    (void)d;
}

static double now(void)
{
    return (double)progress_now_ns() / 1e9;
}

/* ---- one server instance ----------------------------------------------------------------- */

typedef struct inst {
    char dir[300], cnf[320], data[320];
    pid_t pid;
} inst;

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static void make_keys(const char *path, unsigned seed_kind)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "# ibdcrypt demo keys (%s), random, 256-bit\n", seed_kind ? "new" : "original");
    for (int id = 1; id <= 2; id++) {
        uint8_t k[32];
        if (getrandom(k, sizeof(k), 0) != (ssize_t)sizeof(k))
            memset(k, id + (int)seed_kind * 7, sizeof(k));
        fprintf(f, "%d;", id);
        for (int i = 0; i < 32; i++)
            fprintf(f, "%02x", k[i]);
        fprintf(f, "\n");
        explicit_bzero(k, sizeof(k));
    }
    fclose(f);
    chmod(path, 0600);
}

static int inst_config(const demo *dm, inst *in, const char *name, const char *datadir,
                       const char *keyfile)
{
    snprintf(in->dir, sizeof(in->dir), "%s/%s", dm->root, name);
    snprintf(in->cnf, sizeof(in->cnf), "%s/my.cnf", in->dir);
    snprintf(in->data, sizeof(in->data), "%s", datadir);
    char p[512];
    mkdir(in->dir, 0700);
    snprintf(p, sizeof(p), "%s/run", in->dir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/log", in->dir);
    mkdir(p, 0700);
    char cnf[4096];
    snprintf(cnf, sizeof(cnf),
             "[mysqld]\n"
             "datadir=%s\n"
             "socket=%s/run/s\n"
             "pid-file=%s/run/pid\n"
             "log-error=%s/log/error.log\n"
             "skip-networking\n"
             "innodb_page_size=16k\n"
             "innodb_buffer_pool_size=128M\n"
             "innodb_log_file_size=64M\n"
             "plugin_dir=%s\n"
             "plugin_load_add=file_key_management\n"
             "file_key_management_filename=%s\n"
             "file_key_management_encryption_algorithm=AES_CBC\n"
             "innodb_encrypt_tables=ON\n"
             "innodb_encrypt_log=ON\n"
             "innodb_encryption_threads=2\n"
             "[client]\n"
             "socket=%s/run/s\n",
             datadir, in->dir, in->dir, in->dir, dm->plugin_dir, keyfile, in->dir);
    return write_file(in->cnf, cnf);
}

static int sql(const inst *in, const char *q, char *out, size_t outlen)
{
    char df[400];
    snprintf(df, sizeof(df), "--defaults-file=%s", in->cnf);
    char *argv[] = {"mariadb", df, "-N", "-B", NULL};
    return run_prog(argv, q, out, outlen, 0);
}

static int inst_start(const demo *dm, inst *in)
{
    char df[400], log[400];
    snprintf(df, sizeof(df), "--defaults-file=%s", in->cnf);
    snprintf(log, sizeof(log), "%s/log/mariadbd.stderr", in->dir);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {"mariadbd", df, getuid() == 0 ? "--user=root" : NULL, NULL};
    int rc = posix_spawnp(&in->pid, "mariadbd", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc) {
        in->pid = 0;
        return -1;
    }
    char *ping[] = {"mariadb-admin", df, "--connect-timeout=1", "ping", NULL};
    for (int i = 0; i < 1200; i++) {
        int st;
        if (waitpid(in->pid, &st, WNOHANG) == in->pid) {
            in->pid = 0;
            say(dm, "the server stopped while starting; see %s/log/error.log", in->dir);
            return -1;
        }
        if (run_prog(ping, NULL, NULL, 0, 1) == 0)
            return 0;
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    say(dm, "the server did not answer in 120 s; see %s/log/error.log", in->dir);
    return -1;
}

static void inst_stop(inst *in)
{
    if (!in->pid)
        return;
    char df[400];
    snprintf(df, sizeof(df), "--defaults-file=%s", in->cnf);
    char *argv[] = {"mariadb-admin", df, "shutdown", NULL};
    if (run_prog(argv, NULL, NULL, 0, 1) != 0)
        kill(in->pid, SIGTERM);
    int st;
    for (int i = 0; i < 1200 && waitpid(in->pid, &st, WNOHANG) == 0; i++) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
    }
    kill(in->pid, SIGKILL);
    waitpid(in->pid, &st, 0);
    in->pid = 0;
}

static const char *tables[] = {"t_key1", "t_key2", "t_default", "t_plain", "t_compressed",
                               "t_blob"};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static int load_data(const inst *in, long rows)
{
    char q[4096];
    snprintf(q, sizeof(q),
             "CREATE DATABASE demo;\n"
             "USE demo;\n"
             "CREATE TABLE t_key1 (id INT PRIMARY KEY, a VARCHAR(100), b BIGINT, KEY(b)) "
             "ENCRYPTED=YES ENCRYPTION_KEY_ID=1;\n"
             "CREATE TABLE t_key2 (id INT PRIMARY KEY, a VARCHAR(100), b BIGINT) "
             "ENCRYPTED=YES ENCRYPTION_KEY_ID=2;\n"
             "CREATE TABLE t_default (id INT PRIMARY KEY, a VARCHAR(100), b BIGINT);\n"
             "CREATE TABLE t_plain (id INT PRIMARY KEY, a VARCHAR(100), b BIGINT) ENCRYPTED=NO;\n"
             "CREATE TABLE t_compressed (id INT PRIMARY KEY, a VARCHAR(100), b BIGINT) "
             "PAGE_COMPRESSED=1 ENCRYPTED=YES;\n"
             "CREATE TABLE t_blob (id INT PRIMARY KEY, t MEDIUMTEXT) ENCRYPTED=YES "
             "ENCRYPTION_KEY_ID=2;\n"
             "INSERT INTO t_key1 SELECT seq, SHA2(seq, 256), seq * 7919 FROM seq_1_to_%ld;\n"
             "INSERT INTO t_key2 SELECT id, a, b FROM t_key1;\n"
             "INSERT INTO t_default SELECT id, a, b FROM t_key1;\n"
             "INSERT INTO t_plain SELECT id, a, b FROM t_key1;\n"
             "INSERT INTO t_compressed SELECT id, REPEAT('x', 80), b FROM t_key1;\n"
             "INSERT INTO t_blob SELECT seq, REPEAT(SHA2(seq, 512), 64) FROM seq_1_to_%ld;\n",
             rows, rows / 50 + 1);
    return sql(in, q, NULL, 0);
}

static int checksums(const inst *in, char *out, size_t n)
{
    char q[1024] = "CHECKSUM TABLE";
    for (size_t i = 0; i < NTABLES; i++) {
        strcat(q, i ? ", demo." : " demo.");
        strcat(q, tables[i]);
    }
    strcat(q, ";\n");
    int rc = sql(in, q, out, n);
    return rc || strstr(out, "NULL") ? -1 : 0;
}

static int check_tables(const inst *in)
{
    char q[1024] = "CHECK TABLE", out[4096];
    for (size_t i = 0; i < NTABLES; i++) {
        strcat(q, i ? ", demo." : " demo.");
        strcat(q, tables[i]);
    }
    strcat(q, ";\n");
    if (sql(in, q, out, sizeof(out)))
        return -1;
    int ok = 0;
    for (char *p = out; (p = strstr(p, "\tOK")); p++)
        ok++;
    return ok == (int)NTABLES ? 0 : -1;
}

/* Run one of our own commands in-process. */
static int self(cli_global *g, const cli_command *c, char **args)
{
    int argc = 0;
    while (args[argc])
        argc++;
    return c->run(g, argc, args);
}

/* verify --deep --manifest of a backup with the given keys, as a line of the demo. */
static int verify_backup(const demo *dm, cli_global *g, const char *dir, const char *keys,
                         const char *what)
{
    char a1[420], a2[420];
    snprintf(a1, sizeof(a1), "--keyfile=%s", keys);
    snprintf(a2, sizeof(a2), "%s", dir);
    char *args[] = {"verify", "--deep", "--manifest", a1, a2, NULL};
    double t = now();
    int rc = self(g, &cmd_verify, args);
    say(dm, "   verify --deep --manifest: %s in %.2f s", rc ? "FAILED" : what, now() - t);
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

static int copy_tree(const char *from, const char *to)
{
    char *argv[] = {"cp", "-a", "--sparse=always", (char *)(uintptr_t)from,
                    (char *)(uintptr_t)to, NULL};
    return run_prog(argv, NULL, NULL, 0, 0);
}

static int restore_and_check(demo *dm, const char *name, const char *datadir,
                             const char *newkeys, const char *want)
{
    inst s;
    memset(&s, 0, sizeof(s));
    inst_config(dm, &s, name, datadir, newkeys);
    double t = now();
    if (inst_start(dm, &s))
        return EXIT_ENV;
    char got[4096];
    int bad = check_tables(&s) || checksums(&s, got, sizeof(got)) || strcmp(got, want);
    inst_stop(&s);
    say(dm, "%s: server started on it with only the new keys; CHECK TABLE %s, CHECKSUM "
            "TABLE %s (%.1f s)",
        name, bad ? "/ CHECKSUM FAILED" : "OK", bad ? "DIFFERS" : "identical", now() - t);
    return bad ? EXIT_DATA : 0;
}

static int run(cli_global *g, int argc, char **argv)
{
    demo dm = {.g = g, .rows = 200000, .plugin_dir = "/usr/lib/mysql/plugin"};
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_opt_value("--rows", argc, argv, &i, &v)) {
            dm.rows = atol(v);
            if (dm.rows < 100 || dm.rows > 100000000) {
                cli_err("demo: --rows must be between 100 and 100000000");
                return EXIT_USAGE;
            }
        } else if (cli_opt_value("--dir", argc, argv, &i, &v)) {
            dir = v;
        } else if (!strcmp(argv[i], "--keep")) {
            dm.keep = 1;
        } else {
            cli_err("demo: unknown argument '%s' (see ibdcrypt demo --help)", argv[i]);
            return EXIT_USAGE;
        }
    }
    char *probe[] = {"mariadbd", "--version", NULL};
    char ver[512];
    if (run_prog(probe, NULL, ver, sizeof(ver), 1) != 0 || !strstr(ver, "10.11")) {
        cli_err("demo: MariaDB 10.11 (mariadbd) is not installed; run ci/setup.sh (Debian 12: "
                "apt-get install mariadb-server mariadb-backup)");
        return EXIT_ENV;
    }
    if (dir) {
        snprintf(dm.root, sizeof(dm.root), "%s", dir);
        if (mkdir(dm.root, 0700) && errno != EEXIST) {
            cli_err("demo: cannot create %s: %s", dm.root, strerror(errno));
            return EXIT_ENV;
        }
    } else {
        snprintf(dm.root, sizeof(dm.root), "/tmp/ibcdemo.XXXXXX");
        if (!mkdtemp(dm.root)) {
            cli_err("demo: cannot create a working directory: %s", strerror(errno));
            return EXIT_ENV;
        }
    }
    char keys[400], newkeys[400], data[400], bk[400], bk2[400];
    snprintf(keys, sizeof(keys), "%s/keys.txt", dm.root);
    snprintf(newkeys, sizeof(newkeys), "%s/keys-new.txt", dm.root);
    snprintf(data, sizeof(data), "%s/data", dm.root);
    snprintf(bk, sizeof(bk), "%s/backup", dm.root);
    snprintf(bk2, sizeof(bk2), "%s/backup-reencrypt", dm.root);
    make_keys(keys, 0);
    make_keys(newkeys, 1);
    say(&dm, "working in %s (MariaDB %s)", dm.root, strtok(ver, "\n"));
    int rc = 0;
    inst src;
    memset(&src, 0, sizeof(src));
    inst_config(&dm, &src, "source", data, keys);

    /* 1. the source server */
    double t = now();
    char df[400];
    snprintf(df, sizeof(df), "--defaults-file=%s", src.cnf);
    char *install[] = {"mariadb-install-db", df, getuid() == 0 ? "--user=root" : NULL, NULL};
    char want[4096] = "";
    if (run_prog(install, NULL, NULL, 0, 1) || inst_start(&dm, &src)) {
        cli_err("demo: could not start the source server (see %s/source/log)", dm.root);
        rc = EXIT_ENV;
    } else if (load_data(&src, dm.rows) || checksums(&src, want, sizeof(want))) {
        cli_err("demo: loading the data set failed");
        rc = EXIT_ENV;
    }
    if (!rc) {
        /* let the encryption threads finish with the system tablespace */
        char out[64];
        for (int i = 0; i < 300; i++) {
            sql(&src, "SELECT COUNT(*) FROM information_schema.INNODB_TABLESPACES_ENCRYPTION "
                      "WHERE ROTATING_OR_FLUSHING <> 0;\n", out, sizeof(out));
            if (atoi(out) == 0)
                break;
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
        }
        say(&dm, "1. source server: %zu tables, %ld rows each, encrypted with key ids 1 and 2 "
                 "(one plain, one page_compressed): loaded in %.1f s",
            NTABLES, dm.rows, now() - t);
    }
    inst_stop(&src);

    /* 2. backup, every page decrypted and checked */
    if (!rc) {
        say(&dm, "2. ibdcrypt backup --deep of the stopped datadir:");
        char a1[420], a2[420], a3[420];
        snprintf(a1, sizeof(a1), "--datadir=%s", data);
        snprintf(a2, sizeof(a2), "--keyfile=%s", keys);
        snprintf(a3, sizeof(a3), "--target-dir=%s", bk);
        char *args[] = {"backup", a1, a2, a3, NULL};
        t = now();
        rc = self(g, &cmd_backup, args);
        say(&dm, "   backup %s in %.2f s", rc ? "FAILED" : "done", now() - t);
    }
    /* the backup at rest, against the manifest it ends with */
    if (!rc)
        rc = verify_backup(&dm, g, bk, keys, "every page and every file as copied");
    if (!rc && copy_tree(bk, bk2))
        rc = EXIT_ENV;

    /* 3. prepare for the new keys: rewrap, and reencrypt on a copy */
    const char *modes[2] = {"--mode=rewrap", "--mode=reencrypt"};
    const char *dirs[2] = {bk, bk2};
    for (int m = 0; m < 2 && !rc; m++) {
        char a1[420], a2[420], a3[420];
        snprintf(a1, sizeof(a1), "--target-dir=%s", dirs[m]);
        snprintf(a2, sizeof(a2), "--keyfile=%s", keys);
        snprintf(a3, sizeof(a3), "--to-keyfile=%s", newkeys);
        char *args[] = {"prepare", a1, a2, a3, (char *)(uintptr_t)modes[m], NULL};
        say(&dm, "3. ibdcrypt prepare %s for a new key file:", modes[m]);
        t = now();
        rc = self(g, &cmd_prepare, args);
        say(&dm, "   prepare %s %s in %.2f s", modes[m] + 7, rc ? "FAILED" : "done", now() - t);
        /* prepare updated the manifest: the backup checks out against it with the new keys */
        if (!rc)
            rc = verify_backup(&dm, g, dirs[m], newkeys, "every page and file, with the new keys");
    }

    /* 4. restore with only the new keys */
    if (!rc)
        rc = restore_and_check(&dm, "4a. rewrapped backup", bk, newkeys, want);
    if (!rc)
        rc = restore_and_check(&dm, "4b. re-encrypted backup", bk2, newkeys, want);

    /* 5. the verdict */
    if (!rc)
        say(&dm, "5. VERDICT: PASS - a backup taken with the original keys, re-keyed by ibdcrypt, "
                 "restores on servers holding only the new keys, with identical data");
    else
        say(&dm, "5. VERDICT: FAIL (exit %d)%s", rc, dm.keep ? "" : "; rerun with --keep to look");
    if (!dm.keep)
        nftw(dm.root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        say(&dm, "kept %s", dm.root);
    return rc;
}

const cli_command cmd_demo = {"demo", "the main job end to end on a throwaway server", run, help};
