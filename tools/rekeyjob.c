/*
 * rekeyjob.c - re-key a backup or a stopped datadir in place (see rekeyjob.h).
 *
 * The one idea: a plan (which tablespaces, their original crypt-data IVs, the IVs they get,
 * the fingerprints of the new keys) is written into the journal before anything changes;
 * every range is journaled before it is overwritten. A run that finds a journal rolls its
 * slots back and runs the same plan again; pages the new key already opens are left alone.
 * Re-encryption is deterministic given the plan, so the result is byte-identical to an
 * uninterrupted run.
 *
 *   rewrap:    only page 0 changes: IV' = AES-ECB-Decrypt(new file key, page key), so the new
 *              key wraps the same page key (format sheet, key result 10);
 *   reencrypt: a fresh crypt-data IV (random, or from --deterministic-iv), so a new page key
 *              AES-ECB(new file key, IV') even where the file key is the same; every encrypted
 *              page re-encrypted under it, then page 0 last.
 * The pending redo may hold writes of the crypt data to page 0 (fil_space_crypt_t::write_page0),
 * which recovery applies again and takes the IV from (fil_crypt_parse): a tablespace whose
 * crypt data it writes keeps its IV, so rewrap re-encrypts it instead of re-wrapping, and
 * reencrypt changes its page key through the new file key only (redo_prescan). Copies of page
 * 0 in the doublewrite area that hold the old IV get the new one (rekey_doublewrite).
 * The redo log (innodb_encrypt_log=ON) follows the same mode: rewrap writes a header whose
 * crypt_msg makes the new key 1 yield the same log key; reencrypt a new crypt_msg and every
 * mini-transaction from the checkpoint to the end re-encrypted. Its bytes go through an undo
 * copy instead of the journal's slots (redojob.h); the plan names the target crypt_msg.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dataset.h"
#include "filecrc.h"
#include "manifest.h"
#include "binlogjob.h"
#include "redojob.h"
#include "rekeyjob.h"

#define JOURNAL_NAME DS_JOURNAL_NAME
#define PLAN_MAGIC "ibdcrypt-rekey-plan 1"

const char rekey_help_common[] =
    "  --to-keyfile=PATH       the new key file (file_key_management format)\n"
    "  --to-keyfile-key=FILE:PATH | ENV:VAR\n"
    "                          secret of an encrypted new key file\n"
    "  --mode=rewrap           re-wrap: write into page 0 of each tablespace a crypt-data IV\n"
    "                          under which the NEW key yields the SAME page key; no other\n"
    "                          page changes, so it takes seconds for any size. This changes\n"
    "                          which key protects the data key (like MySQL's master-key\n"
    "                          rotation); it is NOT a re-encryption after a key compromise:\n"
    "                          anyone holding the old key and an old copy of page 0 can still\n"
    "                          read the data.\n"
    "                          (A tablespace whose crypt data the log's pending redo\n"
    "                          writes again is re-encrypted instead: recovery would put\n"
    "                          its old IV back.)\n"
    "  --mode=reencrypt        a fresh random crypt-data IV for each tablespace, so a new\n"
    "                          page key (even for a key id whose key is the same in both\n"
    "                          files), and every encrypted page re-encrypted under it: a\n"
    "                          real rotation (reads every page and rewrites each encrypted\n"
    "                          one; holes in the files, ranges never written, stay holes).\n"
    "                          (A tablespace whose crypt data the log's pending redo writes\n"
    "                          again keeps its IV: its page key changes with its key only.)\n"
    "  --dry-run               check everything, change nothing\n"
    "  --deterministic-iv=SEED derive the new crypt-data IVs and the redo log's new\n"
    "                          crypt_msg from SEED instead of at random (testing:\n"
    "                          reproducible results)\n"
    "\n"
    "\n"
    "The redo log (ib_logfile0, innodb_encrypt_log=ON) is re-keyed with the pages, so the\n"
    "server (or mariadb-backup --prepare) recovers from it with the new keys only: rewrap\n"
    "rewrites its header, reencrypt gives it a new log key and re-encrypts every\n"
    "mini-transaction from the checkpoint to the end.\n"
    "\n"
    "Before anything is written, every tablespace is opened with the current keys (a trial\n"
    "decryption; with --mode=reencrypt every page and every redo record is checked), and the\n"
    "new key file must hold every key id needed. Changes go through a journal\n"
    "(" JOURNAL_NAME ") and, for the log, an undo copy (" REDO_UNDO_NAME ") in the\n"
    "directory: after a crash, run the same command again; it finishes the job with the\n"
    "same result as an uninterrupted run. One run at a time per directory: a second one\n"
    "started while the first runs is refused (exit 3), and so is a server (the run holds\n"
    "the locks InnoDB takes on ibdata1 and ib_logfile0); verify, inspect and backup say\n"
    "when a directory is being, or was left half, re-keyed. rekey follows symbolic links\n"
    "and re-keys a table created with DATA DIRECTORY where its .isl file points (so run it\n"
    "on the server's datadir, not on a copy, whose links still name the server's files);\n"
    "prepare changes nothing outside the backup: a db/t.ibd beside its db/t.isl is the\n"
    "tablespace, and a link or an .isl leading out of the backup is an error.\n"
    "With --defaults-file, innodb_data_home_dir, innodb_data_file_path,\n"
    "innodb_undo_directory, innodb_log_group_home_dir, log_bin and relay_log (binary and\n"
    "relay logs in a directory of their own) are honoured; in a backup, the system\n"
    "tablespace's files are those its backup-my.cnf (mariadb-backup) or its manifest\n"
    "(ibdcrypt backup) name.\n"
    "Aria tables encrypted with key id 1 (aria_encrypt_tables=ON: the mysql.* system\n"
    "tables too, when it was on at install) go with the mode: rewrap changes the IV in\n"
    "the header of their .MAI file, so that the new key 1 yields the same page key;\n"
    "reencrypt gives them a new IV and every page of their .MAD and .MAI files the new\n"
    "page key (each page's checksum tells a resumed run which key it is under). Binary\n"
    "logs encrypted with key id 1 (encrypt_binlog=ON) use the key itself: every event of\n"
    "each is re-encrypted under the new key 1, in both modes (each log written whole\n"
    "beside it, then renamed over it), so that replicas and point-in-time recovery can\n"
    "read them with the new keys; so is every event of a replica's relay logs, so that it\n"
    "applies them with the new keys (one without event checksums, where nothing tells\n"
    "which key opens it, is left with a warning saying how the replica gets past it).\n";

int rekey_option(rekey_opts *o, cli_keys *keys, int argc, char **argv, int *i)
{
    const char *v;
    int k = cli_keys_option(keys, argc, argv, i);
    if (k)
        return k;
    if (cli_opt_value("--to-keyfile-key", argc, argv, i, &v)) {
        if (strncmp(v, "FILE:", 5) && strncmp(v, "ENV:", 4)) {
            cli_err("--to-keyfile-key: give the secret as FILE:/path or ENV:VARIABLE");
            return -1;
        }
        o->to_filekey = v;
        return 1;
    }
    if (cli_opt_value("--to-keyfile", argc, argv, i, &v)) {
        o->to_keyfile = v;
        return 1;
    }
    if (cli_opt_value("--mode", argc, argv, i, &v)) {
        if (!strcmp(v, "rewrap"))
            o->mode = IBC_REKEY_REWRAP;
        else if (!strcmp(v, "reencrypt"))
            o->mode = IBC_REKEY_REENCRYPT;
        else {
            cli_err("--mode: expected rewrap or reencrypt, got '%s'", v);
            return -1;
        }
        return 1;
    }
    if (cli_opt_value("--deterministic-iv", argc, argv, i, &v)) {
        o->iv_seed = v;
        return 1;
    }
    if (!strcmp(argv[*i], "--dry-run")) {
        o->dry_run = 1;
        return 1;
    }
    return 0;
}

/* ---- the plan ---------------------------------------------------------------------------- */

typedef struct plan_space {
    size_t ds;             /* index in the dataset */
    uint32_t space_id;
    uint32_t key_id;
    ibc_algo algo;
    uint8_t orig_iv[16];
    uint8_t target_iv[16];
    int reenc;             /* its pages are re-encrypted (reencrypt, or see redo_prescan) */
    int keep_iv;           /* the pending redo writes its crypt-data IV (redo_prescan) */
    ibc_space *old, *target;
} plan_space;

/* An Aria table encrypted with key id 1 (aria_scan): its index file, re-keyed with the InnoDB
 * files (plan_aria), and its data file. Journal slots name the index file by ds.n + its index
 * here, the data file by ds.n + naria + its index. */
typedef struct aria_file {
    const df_file *f;
    int fd, dfd;      /* .MAI, .MAD (-1: not opened, derr says why) */
    int derr;
    ibc_aria a;
    uint8_t target_iv[16];
    int planned;
    int reenc;        /* every page re-encrypted (reencrypt mode; pages with checksums) */
    ibc_algo algo;    /* the cipher its pages opened with (IBC_ALGO_AUTO: not known yet) */
} aria_file;

typedef struct rk {
    cli_global *g;
    rekey_opts *o;
    cli_keys *keys;
    ibc_keyring *newkr;
    dataset ds;
    report rep;
    plan_space *ps;
    size_t nps;
    int *plan_of; /* ds index -> plan index, -1 */
    ibc_journal *j;
    uint8_t **out; /* per worker */
    unsigned nout;
    _Atomic uint64_t changed, skipped_done;
    pthread_mutex_t lock;
    char failure[512];
    /* the redo log */
    int redo_planned;            /* the plan re-keys it (a "redo" line) */
    int redo_done;               /* resume: its header already holds the target crypt_msg */
    int checked;                 /* this run's deep check passed every page it re-keys */
    size_t redo_ds;              /* its dataset index */
    uint8_t redo_orig[16], redo_target[16]; /* crypt_msg before and after */
    ibc_redo_target *redo_t;
    uint64_t redo_written;
    const char *redo_state;      /* what happened to it, for the summary */
    int redo_scanned;            /* redo_prescan read it to its end (deep) */
    ssize_t dblwr_ds;            /* ibdata1 when its doublewrite copies were re-keyed, else -1 */
    aria_file *aria;             /* encrypted Aria tables */
    size_t naria, aria_planned, aria_reenc;
    uint64_t aria_pages;         /* Aria pages re-encrypted */
    bl_file *bl;                 /* binary logs encrypted with key 1 (binlog_scan) */
    size_t nbl, bl_todo, bl_done, bl_relay_done; /* (relay logs among them) */
    uint64_t bl_bytes;           /* the size of those to re-key */
    /* a backup with a manifest: the plan's id, and per dataset file the CRC-32C
     * (from ~0) of its first head_len bytes before the run changed them (update_manifest) */
    char plan_id[17];
    uint32_t *head_crc, *head_len;
    fc_file *mcrc; /* per dataset file: the CRC-32C of its items as written (re-encryption) */
    const char *mf_state; /* the manifest: NULL none, "updated", "left as it is" */
    size_t nmcrc;
    int srvlock[2]; /* hold_server_locks: ibdata1 and ib_logfile0, or -1 */
} rk;

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static int unhex(uint8_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        b[i] = (uint8_t)v;
    }
    return 0;
}

static char *plan_text(rk *x, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    fprintf(f, "%s\ncommand %s\nmode %s\n", PLAN_MAGIC, x->o->command,
            x->o->mode == IBC_REKEY_REWRAP ? "rewrap" : "reencrypt");
    for (size_t i = 0; i < ibc_keyring_count(x->newkr); i++) {
        uint32_t id, ver;
        char fp[IBC_FINGERPRINT_LEN + 1];
        ibc_keyring_entry(x->newkr, i, &id, &ver);
        ibc_keyring_fingerprint(x->newkr, id, ver, fp);
        fprintf(f, "newkey %u %u %s\n", id, ver, fp);
    }
    for (size_t i = 0; i < x->nps; i++) {
        char a[33], b[33];
        hex(a, x->ps[i].orig_iv, 16);
        hex(b, x->ps[i].target_iv, 16);
        fprintf(f, "space %u %s %s %s %s\n", x->ps[i].space_id,
                x->ps[i].algo == IBC_ALGO_CTR ? "AES_CTR" : "AES_CBC", a, b,
                x->ds.v[x->ps[i].ds].f->rel);
    }
    for (size_t i = 0; i < x->naria; i++) {
        char a[33], b[33];
        if (!x->aria[i].planned)
            continue;
        hex(a, x->aria[i].a.iv, 16);
        hex(b, x->aria[i].target_iv, 16);
        fprintf(f, "aria %s %s %s\n", a, b, x->aria[i].f->rel);
    }
    if (x->redo_planned) {
        char a[33], b[33];
        hex(a, x->redo_orig, 16);
        hex(b, x->redo_target, 16);
        fprintf(f, "redo %s %s %s\n", a, b, x->ds.v[x->redo_ds].f->rel);
    }
    for (size_t i = 0; x->head_len && i < x->ds.n; i++)
        if (x->head_len[i])
            fprintf(f, "head %08x %u %s\n", x->head_crc[i], x->head_len[i], x->ds.v[i].f->rel);
    fclose(f);
    if (x->head_len && buf) {
        /* the id: SHA-256 of the rest of the plan (new IVs and all), so that a re-run after a
         * crash writes the same manifest as an uninterrupted run */
        uint8_t md[32];
        unsigned mdlen = 0;
        char line[40];
        EVP_Digest(buf, *len, md, &mdlen, EVP_sha256(), NULL);
        hex(x->plan_id, md, 8);
        int n = snprintf(line, sizeof(line), "manifest %s\n", x->plan_id);
        char *b = realloc(buf, *len + (size_t)n + 1);
        if (!b) {
            free(buf);
            return NULL;
        }
        memcpy(b + *len, line, (size_t)n + 1);
        *len += (size_t)n;
        buf = b;
    }
    return buf;
}

static int heads_alloc(rk *x)
{
    if (!x->head_len) {
        x->head_crc = calloc(x->ds.n + 1, sizeof(uint32_t));
        x->head_len = calloc(x->ds.n + 1, sizeof(uint32_t));
    }
    return x->head_crc && x->head_len ? 0 : -1;
}

/* The dataset index of the file a plan line names, or SIZE_MAX (why says so). */
static size_t ds_index(const rk *x, const char *rel, char *why, size_t whylen)
{
    for (size_t k = 0; k < x->ds.n; k++)
        if (!strcmp(x->ds.v[k].f->rel, rel))
            return k;
    snprintf(why, whylen, "%.400s, in the interrupted plan, is missing", rel);
    return SIZE_MAX;
}

/* Read a plan back; fills x->ps (matching the dataset by relative path). */
static int aria_checksums(rk *x, aria_file *af);

static int plan_parse(rk *x, const char *text, size_t len, char *why, size_t whylen)
{
    char *t = strndup(text, len), *save = NULL;
    int rc = 0, have_magic = 0;
    x->ps = calloc(x->ds.n + 1, sizeof(plan_space));
    for (char *line = strtok_r(t, "\n", &save); line && !rc; line = strtok_r(NULL, "\n", &save)) {
        char w[32], a[40], b[40], al[16], path[PATH_MAX];
        unsigned id, ver;
        char fp[64];
        if (!strcmp(line, PLAN_MAGIC)) {
            have_magic = 1;
        } else if (sscanf(line, "command %31s", w) == 1) {
            if (strcmp(w, x->o->command))
                rc = snprintf(why, whylen, "the journal belongs to `ibdcrypt %s`", w) > 0;
        } else if (sscanf(line, "mode %31s", w) == 1) {
            if (strcmp(w, x->o->mode == IBC_REKEY_REWRAP ? "rewrap" : "reencrypt"))
                rc = snprintf(why, whylen, "the interrupted run used --mode=%s", w) > 0;
        } else if (sscanf(line, "newkey %u %u %63s", &id, &ver, fp) == 3) {
            char mine[IBC_FINGERPRINT_LEN + 1];
            if (ibc_keyring_fingerprint(x->newkr, id, ver, mine) != IBC_OK || strcmp(mine, fp))
                rc = snprintf(why, whylen, "the interrupted run re-keyed to other new keys "
                                           "(key id %u differs)", id) > 0;
        } else if (sscanf(line, "space %u %15s %39s %39s %4095[^\n]", &id, al, a, b, path) == 5) {
            size_t k = ds_index(x, path, why, whylen);
            if (k == SIZE_MAX) {
                rc = 1;
                break;
            }
            plan_space *p = &x->ps[x->nps++];
            p->ds = k;
            p->space_id = id;
            p->algo = !strcmp(al, "AES_CTR") ? IBC_ALGO_CTR : IBC_ALGO_CBC;
            if (unhex(p->orig_iv, a, 16) || unhex(p->target_iv, b, 16))
                rc = snprintf(why, whylen, "damaged plan line '%s'", line) > 0;
        } else if (sscanf(line, "aria %39s %39s %4095[^\n]", a, b, path) == 3) {
            aria_file *af = NULL;
            uint8_t orig[16];
            for (size_t k = 0; k < x->naria && !af; k++)
                if (!strcmp(x->aria[k].f->rel, path))
                    af = &x->aria[k];
            if (!af) {
                rc = snprintf(why, whylen, "the Aria table %s of the plan is gone", path) > 0;
                break;
            }
            if (unhex(orig, a, 16) || unhex(af->target_iv, b, 16)) {
                rc = snprintf(why, whylen, "damaged plan line '%s'", line) > 0;
                break;
            }
            /* its header holds the original IV, or the target (written before the crash) */
            if (memcmp(af->a.iv, orig, 16) && memcmp(af->a.iv, af->target_iv, 16)) {
                rc = snprintf(why, whylen, "%s changed since the interrupted run", path) > 0;
                break;
            }
            memcpy(af->a.iv, orig, 16);
            af->planned = 1;
            af->reenc = x->o->mode == IBC_REKEY_REENCRYPT && aria_checksums(x, af) != 0;
            x->aria_planned++;
        } else if (sscanf(line, "head %8x %u %4095[^\n]", &id, &ver, path) == 3) {
            size_t k = ds_index(x, path, why, whylen);
            if (k == SIZE_MAX) {
                rc = 1;
                break;
            }
            if (heads_alloc(x)) {
                rc = snprintf(why, whylen, "out of memory") > 0;
                break;
            }
            x->head_crc[k] = id;
            x->head_len[k] = ver;
        } else if (sscanf(line, "manifest %16s", fp) == 1 && strlen(fp) == 16) {
            memcpy(x->plan_id, fp, 17);
        } else if (sscanf(line, "redo %39s %39s %4095[^\n]", a, b, path) == 3) {
            size_t k = ds_index(x, path, why, whylen);
            if (k == SIZE_MAX) {
                rc = 1;
                break;
            }
            x->redo_planned = 1;
            x->redo_ds = k;
            if (unhex(x->redo_orig, a, 16) || unhex(x->redo_target, b, 16))
                rc = snprintf(why, whylen, "damaged plan line '%s'", line) > 0;
        }
    }
    if (!have_magic && !rc)
        rc = snprintf(why, whylen, "not an ibdcrypt re-key plan") > 0;
    free(t);
    return rc;
}

/* A tablespace's new crypt-data IV (id = space id), or the redo log's new crypt_msg (id
 * UINT32_MAX), from the --deterministic-iv seed: the first 16 bytes of SHA-256(seed | id). */
static void derive_iv(const char *seed, uint32_t space_id, uint8_t iv[16])
{
    uint8_t msg[512], md[32];
    size_t n = (size_t)snprintf((char *)msg, sizeof(msg) - 4, "%s", seed);
    msg[n] = (uint8_t)(space_id >> 24);
    msg[n + 1] = (uint8_t)(space_id >> 16);
    msg[n + 2] = (uint8_t)(space_id >> 8);
    msg[n + 3] = (uint8_t)space_id;
    unsigned mdlen = 0;
    EVP_Digest(msg, n + 4, md, &mdlen, EVP_sha256(), NULL);
    memcpy(iv, md, 16);
}

/* ---- the work ---------------------------------------------------------------------------- */

static void failure(rk *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failure(rk *x, const char *fmt, ...)
{
    pthread_mutex_lock(&x->lock);
    if (!x->failure[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->failure, sizeof(x->failure), fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&x->lock);
}

static int check_work(void *c, unsigned worker, const ibc_pool_item *it, uint8_t *buf)
{
    dataset *ds = c;
    ds_file *d = &ds->v[ds->pool_map[it->file]];
    ds_work_pages(ds, worker, d, it, buf, NULL, NULL);
    progress_add(ds->pr, it->len);
    return 0;
}

/* Write pages [off, off + total) of a file from iovecs: -errno on failure (named in x). */
static int write_all(rk *x, ds_file *d, const struct iovec *v, size_t n, uint64_t off,
                     size_t total)
{
    size_t done = 0;
    while (done < total) {
        struct iovec w[1024];
        int k = 0;
        size_t skip = done;
        for (size_t i = 0; i < n; i++) {
            if (skip >= v[i].iov_len) {
                skip -= v[i].iov_len;
                continue;
            }
            w[k++] = (struct iovec){(uint8_t *)v[i].iov_base + skip, v[i].iov_len - skip};
            skip = 0;
        }
        ssize_t r = pwritev(d->fd, w, k, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno ? errno : EIO;
            failure(x, "%s: write at %llu: %s", d->f->rel, (unsigned long long)(off + done),
                    strerror(e));
            return -e;
        }
        done += (size_t)r;
    }
    return 0;
}

/* Write the new content of pages [first, last] of an item: journal the originals of the
 * whole range, then overwrite the bytes that change, run by run: the first wlen[i] bytes of
 * page i (0: it keeps its bytes). What is not written keeps its bytes, and a hole the reader
 * skipped (pool.h, skip_holes) stays a hole. */
static int write_run(rk *x, ds_file *d, unsigned file, const ibc_pool_item *it, uint8_t *buf,
                     uint8_t *out, const uint32_t *wlen, size_t first, size_t last)
{
    struct iovec old[1024], neu[1024];
    size_t n = 0;
    if (last < first || last - first >= 1024)
        return -EINVAL;
    for (size_t i = first; i <= last; i++, n++)
        old[n] = (struct iovec){buf + i * it->stride, d->unit};
    uint64_t off = it->offset + first * d->unit;
    unsigned slot;
    ibc_status st = ibc_journal_save(x->j, file, off, old, (int)n, &slot);
    if (st != IBC_OK) {
        failure(x, "journal: %s", ibc_strerror(st));
        return st == IBC_ERR_NOSPACE ? -ENOSPC : -EIO;
    }
    ibc_crash_point("rekey-write");
    for (size_t i = first; i <= last;) {
        if (!wlen[i]) {
            i++;
            continue;
        }
        size_t j = i, k = 0, total = 0;
        do { /* a run ends after a page written only in part */
            neu[k++] = (struct iovec){out + j * it->stride, wlen[j]};
            total += wlen[j];
        } while (wlen[j++] == d->unit && j <= last && wlen[j]);
        int rc = write_all(x, d, neu, k, it->offset + i * d->unit, total);
        if (rc)
            return rc;
        i = j;
    }
    ibc_journal_release(x->j, slot);
    return 0;
}

/* For the manifest (update_manifest): the CRC-32C of the item's bytes as the run leaves them,
 * page 0 of a tablespace left out (it is written last, with the heads). A page re-keyed here
 * joins its new stored checksum extended by its last 4 bytes; others are read. */
static void note_item_crc(rk *x, size_t di, const ibc_pool_item *it, const uint8_t *buf,
                          const uint8_t *out, const uint8_t *changed, const uint8_t *stored)
{
    const ibc_engine *e = x->ds.e;
    const ds_file *d = &x->ds.v[di];
    size_t unit = d->unit, u0 = d->first_page == 0 && it->offset == 0;
    uint32_t c = 0, factor = ibc_crc32c_join_factor(unit);
    for (size_t u = u0; u < it->nunits; u++) {
        const uint8_t *q = (changed[u] ? out : buf) + u * it->stride;
        const uint8_t *t = q + unit - 4; /* the stored checksum, big-endian */
        uint32_t cu = stored[u] ? ibc_crc32c(e, (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 |
                                                    (uint32_t)t[2] << 8 | t[3],
                                             t, 4)
                                : ibc_crc32c(e, 0, q, unit);
        c = u == u0 ? cu : ibc_crc32c_join_by(c, cu, factor);
    }
    size_t tail = it->len - it->nunits * unit;
    if (tail) /* a partial last unit: as read */
        c = ibc_crc32c_join(c, ibc_crc32c(e, 0, buf + it->nunits * it->stride, tail), tail);
    if (it->len > u0 * unit)
        fc_note(&x->mcrc[di], it->offset + u0 * unit, it->len - u0 * unit, c);
}

/* The bytes of a re-keyed page that the re-key changes. A full_crc32 page_compressed page
 * keeps everything past its stored size (buf0buf.h buf_page_full_crc32_size: FIL_PAGE_TYPE
 * bit 15 set, the size byte 25 times 256): zeros that fil0pagecompress.cc
 * fil_page_compress_for_full_crc32 wrote, and that a backup (mbstream -x of a mariadb-backup
 * stream, cp -r) may keep as a hole. */
static uint32_t changed_bytes(const ibc_page *pg, uint32_t unit, int fcrc32)
{
    uint32_t type = (uint32_t)pg->src[24] << 8 | pg->src[25];
    if (!fcrc32 || !(pg->flags & IBC_PF_PAGE_COMPRESSED) || !(type & 0x8000))
        return unit;
    uint32_t size = (type & 0xff) << 8;
    return size && size < unit ? size : unit;
}

static int rk_work(void *c, unsigned worker, const ibc_pool_item *it, uint8_t *buf)
{
    rk *x = c;
    size_t di = x->ds.pool_map[it->file];
    ds_file *d = &x->ds.v[di];
    int pi = x->plan_of[di];
    plan_space *p = &x->ps[pi];
    uint8_t *out = x->out[worker];
    uint8_t changed[1024], stored[1024];
    uint32_t wlen[1024];
    ibc_space_info info;
    ibc_space_get_info(p->old, &info);
    int fcrc32 = info.format == IBC_FORMAT_FULL_CRC32;
    ibc_page pg[64];
    uint64_t base = d->first_page + it->offset / d->unit;
    size_t first = SIZE_MAX, last = 0;
    for (size_t at = 0; at < it->nunits; at += 64) {
        size_t n = it->nunits - at < 64 ? it->nunits - at : 64;
        for (size_t i = 0; i < n; i++)
            pg[i] = (ibc_page){.src = buf + (at + i) * it->stride,
                               .dst = out + (at + i) * it->stride,
                               .page_no = (uint32_t)(base + at + i)};
        ibc_batch_run(p->old, p->target, x->checked ? IBC_OP_REKEY_CHECKED : IBC_OP_REKEY, pg, n,
                      x->ds.scratch[worker]);
        for (size_t i = 0; i < n; i++) {
            size_t u = at + i;
            changed[u] = 0;
            switch (pg[i].status) {
            case IBC_PAGE_OK:
                changed[u] = pg[i].page_no != 0; /* page 0 is written last, on its own */
                break;
            case IBC_PAGE_PLAIN:
            case IBC_PAGE_ZERO:
            case IBC_PAGE_DOUBLEWRITE:
                break;
            default: {
                /* a page an interrupted run already re-keyed: the new key opens it */
                ibc_page again = {.src = pg[i].src, .page_no = pg[i].page_no};
                ibc_batch_run(p->target, NULL, IBC_OP_VERIFY_DEEP, &again, 1,
                              x->ds.scratch[worker]);
                if (again.status == IBC_PAGE_OK) {
                    atomic_fetch_add(&x->skipped_done, 1);
                    break;
                }
                failure(x, "%s: page %u: %s", d->f->rel, pg[i].page_no,
                        ibc_page_status_name(pg[i].status));
                return 1;
            }
            }
            /* a page re-keyed by this run: its new full_crc32 checksum is the CRC-32C of
             * all its bytes but the last 4 (the input's was, IBC_PF_CRC_STORED) */
            stored[u] = changed[u] && (pg[i].flags & IBC_PF_CRC_STORED);
            wlen[u] = changed[u] ? changed_bytes(&pg[i], d->unit, fcrc32) : 0;
            if (changed[u]) {
                atomic_fetch_add(&x->changed, 1);
                if (first == SIZE_MAX)
                    first = u;
                last = u;
            }
        }
    }
    progress_add(x->ds.pr, it->len);
    if (x->mcrc)
        note_item_crc(x, di, it, buf, out, changed, stored);
    if (first == SIZE_MAX || x->o->dry_run)
        return 0;
    return write_run(x, d, (unsigned)di, it, buf, out, wlen, first, last);
}

/* The heads: page 0 of each planned tablespace with its new crypt data, for rewrap the redo
 * log's header block, and the IV in the header of each planned Aria table. Journaled in
 * batches (one fdatasync per batch), then written. */
typedef struct head {
    size_t ds;      /* the file's journal index: in the dataset, or ds.n + its Aria index */
    int fd;
    uint64_t off;
    uint8_t *old, *neu;
    size_t len;
    const char *rel, *what;
} head;

static int write_heads(rk *x)
{
    size_t nh = 0, cap = x->nps + x->naria + 1;
    head *h = calloc(cap, sizeof(*h));
    int rc = h ? 0 : -ENOMEM;
    for (size_t i = 0; !rc && i < x->nps; i++) {
        plan_space *p = &x->ps[i];
        ds_file *d = &x->ds.v[p->ds];
        head *e = &h[nh];
        e->ds = p->ds;
        e->fd = d->fd;
        e->rel = d->f->rel;
        e->what = "page 0";
        e->len = d->unit;
        e->old = malloc(d->unit);
        e->neu = malloc(d->unit);
        if (!e->old || !e->neu || pread(d->fd, e->old, d->unit, 0) != (ssize_t)d->unit) {
            failure(x, "%s: cannot read page 0", d->f->rel);
            rc = -EIO;
            nh++;
            break;
        }
        memcpy(e->neu, e->old, d->unit);
        ibc_space_write_page0(p->target, e->neu);
        nh++;
    }
    if (!rc && x->o->mode == IBC_REKEY_REWRAP && x->redo_planned && !x->redo_done) {
        /* rewrap changes only the log's header: crypt_msg' and its CRC */
        ds_file *d = &x->ds.v[x->redo_ds];
        head *e = &h[nh++];
        e->ds = x->redo_ds;
        e->fd = d->fd;
        e->rel = d->f->rel;
        e->what = "its header";
        e->len = 512;
        e->old = malloc(512);
        e->neu = malloc(512);
        if (!e->old || !e->neu || pread(d->fd, e->old, 512, 0) != 512) {
            failure(x, "%s: cannot read its header", d->f->rel);
            rc = -EIO;
        } else {
            ibc_redo_target_header(x->redo_t, e->neu);
            x->redo_written = 512;
        }
    }
    for (size_t i = 0; !rc && i < x->naria; i++) {
        aria_file *af = &x->aria[i];
        if (!af->planned)
            continue;
        head *e = &h[nh++];
        e->ds = x->ds.n + i;
        e->fd = af->fd;
        e->off = af->a.crypt_off + 6;
        e->rel = af->f->rel;
        e->what = "its crypt data";
        e->len = 16;
        e->old = malloc(16);
        e->neu = malloc(16);
        if (!e->old || !e->neu || pread(af->fd, e->old, 16, (off_t)e->off) != 16) {
            failure(x, "%s: cannot read its header", af->f->rel);
            rc = -EIO;
        } else {
            memcpy(e->neu, af->target_iv, 16);
        }
    }
    /* only the heads that change, in batches of as many slots as the journal has */
    ibc_journal_range r[256];
    unsigned slots[256];
    size_t at = 0;
    while (!rc && !x->o->dry_run && at < nh) {
        unsigned n = 0;
        size_t from = at;
        unsigned cap_n = ibc_journal_nslots(x->j);
        for (; at < nh && n < 256 && n < cap_n; at++)
            if (memcmp(h[at].old, h[at].neu, h[at].len))
                r[n++] = (ibc_journal_range){(unsigned)h[at].ds, h[at].off, h[at].old, h[at].len};
        if (!n)
            continue;
        if (ibc_journal_save_many(x->j, r, n, slots) != IBC_OK) {
            failure(x, "journal: cannot save the page 0s");
            rc = -EIO;
            break;
        }
        ibc_crash_point("rekey-page0");
        unsigned k = 0;
        for (size_t i = from; i < at && !rc; i++) {
            if (!memcmp(h[i].old, h[i].neu, h[i].len))
                continue;
            if (pwrite(h[i].fd, h[i].neu, h[i].len, (off_t)h[i].off) != (ssize_t)h[i].len) {
                failure(x, "%s: writing %s failed: %s", h[i].rel, h[i].what, strerror(errno));
                rc = -EIO;
                break;
            }
            ibc_journal_release(x->j, slots[k++]);
        }
    }
    for (size_t i = 0; h && i < nh; i++) {
        free(h[i].old);
        free(h[i].neu);
    }
    free(h);
    return rc;
}

/* Was dataset file i written by the job? */
static int written(const rk *x, size_t i)
{
    return x->plan_of[i] >= 0 || (x->redo_planned && i == x->redo_ds) ||
           (x->dblwr_ds >= 0 && i == (size_t)x->dblwr_ds);
}

/* ---- the manifest of a prepared backup ------------------------------------------------------
 *
 * A backup ends with a manifest of every file's size and whole-file CRC-32C (cmd_backup.c),
 * which verify --manifest checks it against. prepare changes files, so it brings the manifest
 * along (and so does rekey, should it be run on a backup's directory): for a file of which it
 * changed only the head (page 0 of a re-wrapped tablespace, the redo log's header), by what it
 * changed: the CRC is linear, so the change of the whole file's CRC is the CRC of the change,
 * shifted over the bytes after it; the CRC of the head before the run is in the plan. A file
 * in which the manifest already disagreed with the backup still disagrees, so a file changed
 * since the backup is still named. A file it re-encrypted (each page was checked before) gets
 * the CRC of its bytes as written, joined from its items (note_item_crc: a page re-keyed here
 * by its new checksum, so that the manifest costs no second pass over the data) and its page
 * 0; ibdata1 when its doublewrite copies were re-encrypted, and a re-encrypted redo log, are
 * read again. Last, the top-level "prepared" names the plan and the command, so that a run
 * that crashed after writing the manifest does not apply it twice. */

/* What the run changed in dataset file i. */
enum { CH_NONE, CH_HEAD, CH_WHOLE };
static int change_of(const rk *x, size_t i)
{
    if (x->dblwr_ds >= 0 && i == (size_t)x->dblwr_ds)
        return CH_WHOLE;
    if (x->redo_planned && i == x->redo_ds)
        return x->o->mode == IBC_REKEY_REWRAP ? CH_HEAD : CH_WHOLE;
    if (x->plan_of[i] < 0)
        return CH_NONE;
    const plan_space *p = &x->ps[x->plan_of[i]];
    if (p->reenc)
        return CH_WHOLE;
    return p->ds == i ? CH_HEAD : CH_NONE; /* a continuation file of a re-wrapped ibdata1 */
}

/* First run: the CRCs of the heads about to change, for the plan. Only prepare of a backup
 * that has a manifest. */
static int plan_heads(rk *x)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" MANIFEST_NAME, x->o->dir);
    if (x->o->dry_run || access(path, F_OK))
        return 0;
    /* a manifest that does not parse is no reason to leave a backup unprepared */
    manifest m;
    char err[600];
    if (manifest_load(path, &m, err, sizeof(err))) {
        cli_err("%s: warning: the backup's manifest is left as it is: %s", x->o->command, err);
        x->mf_state = "left as it is";
        return 0;
    }
    manifest_free(&m);
    if (heads_alloc(x))
        return -1;
    uint8_t buf[65536];
    for (size_t i = 0; i < x->ds.n; i++) {
        if (change_of(x, i) != CH_HEAD)
            continue;
        ds_file *d = &x->ds.v[i];
        uint32_t len = d->f->kind == DF_REDO ? 512 : d->unit;
        if (len > sizeof(buf) || pread(d->fd, buf, len, 0) != (ssize_t)len) {
            failure(x, "%s: cannot read %s", d->f->rel,
                    d->f->kind == DF_REDO ? "its header" : "page 0");
            return -1;
        }
        x->head_crc[i] = ibc_crc32c(x->ds.e, 0xffffffffu, buf, len);
        x->head_len[i] = len;
    }
    return 0;
}

/* A re-encrypted file's CRC-32C from the pieces its items left (note_item_crc) and its page 0
 * as written: 0, or -1 when they do not cover it (the doublewrite area of ibdata1 and the redo
 * log change after the pages: read again). */
static int whole_from_pieces(rk *x, size_t i, uint64_t size, uint32_t *crc)
{
    ds_file *d = &x->ds.v[i];
    fc_file *f = x->mcrc ? &x->mcrc[i] : NULL;
    if (!f || (x->dblwr_ds >= 0 && i == (size_t)x->dblwr_ds) || !f->n)
        return -1;
    if (d->first_page == 0) {
        uint8_t *p0 = malloc(d->unit);
        int ok = p0 && pread(d->fd, p0, d->unit, 0) == (ssize_t)d->unit;
        if (ok)
            fc_note(f, 0, d->unit, ibc_crc32c(x->ds.e, 0, p0, d->unit));
        free(p0);
        if (!ok)
            return -1;
    }
    if (!fc_file_complete(f, size))
        return -1;
    *crc = fc_file_crc(f);
    return 0;
}

static int update_manifest(rk *x)
{
    size_t updated = 0;
    if (!x->plan_id[0])
        return 0;
    char path[PATH_MAX], err[600];
    snprintf(path, sizeof(path), "%s/" MANIFEST_NAME, x->o->dir);
    manifest m;
    if (manifest_load_text(path, &m, err, sizeof(err))) {
        /* (it parsed when the run began: someone changed it since) */
        cli_err("%s: warning: the backup's manifest is left as it is: %s", x->o->command, err);
        x->mf_state = "left as it is";
        return 0;
    }
    x->mf_state = "updated";
    if (m.prepared_plan && !strcmp(m.prepared_plan, x->plan_id)) {
        manifest_free(&m); /* written by the run that was interrupted after it */
        return 0;
    }
    uint8_t buf[512];
    int rc = 0;
    for (size_t i = 0; !rc && i < x->ds.n; i++) {
        ds_file *d = &x->ds.v[i];
        int ch = change_of(x, i);
        mf_entry *me = ch != CH_NONE ? manifest_find(&m, d->f->rel) : NULL;
        struct stat st;
        if (!me || fstat(d->fd, &st)) {
            rc = me ? -1 : 0;
            continue;
        }
        if (ch == CH_WHOLE && whole_from_pieces(x, i, (uint64_t)st.st_size, &me->crc32c) == 0) {
            me->bytes = (uint64_t)st.st_size;
        } else if (ch == CH_WHOLE) {
            rc = fc_read_crc(x->ds.e, d->fd, &me->bytes, &me->crc32c);
        } else if (x->head_len[i] && me->bytes == (uint64_t)st.st_size) {
            /* (a file whose size is not the manifest's stays as it is: verify names it) */
            uint32_t len = x->head_len[i];
            uint8_t *h = len <= sizeof(buf) ? buf : malloc(len);
            rc = h && pread(d->fd, h, len, 0) == (ssize_t)len ? 0 : -1;
            if (!rc) {
                uint32_t delta = x->head_crc[i] ^ ibc_crc32c(x->ds.e, 0xffffffffu, h, len);
                me->crc32c ^= ibc_crc32c_join(delta, 0, me->bytes - len);
            }
            if (h != buf)
                free(h);
        } else {
            continue;
        }
        me->update = 1;
        updated++;
    }
    /* the re-keyed Aria tables: read again (the data file too when re-encrypted) */
    for (size_t i = 0; !rc && i < x->naria; i++) {
        aria_file *af = &x->aria[i];
        mf_entry *ae = af->planned ? manifest_find(&m, af->f->rel) : NULL;
        if (ae) {
            rc = fc_read_crc(x->ds.e, af->fd, &ae->bytes, &ae->crc32c);
            ae->update = 1;
            updated++;
        }
        char rel[4200];
        snprintf(rel, sizeof(rel), "%.*sD", (int)strlen(af->f->rel) - 1, af->f->rel);
        mf_entry *de = af->planned && af->reenc && af->dfd >= 0 ? manifest_find(&m, rel) : NULL;
        if (!rc && de) {
            rc = fc_read_crc(x->ds.e, af->dfd, &de->bytes, &de->crc32c);
            de->update = 1;
            updated++;
        }
    }
    /* the re-encrypted binary logs (by this run or an interrupted one): read again */
    for (size_t i = 0; !rc && i < x->nbl; i++) {
        mf_entry *be = manifest_find(&m, x->bl[i].rel);
        int fd = be ? open(x->bl[i].path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd >= 0) {
            rc = fc_read_crc(x->ds.e, fd, &be->bytes, &be->crc32c);
            close(fd);
            be->update = 1;
            updated++;
        }
    }
    /* backup-my.cnf, when prepare pointed it at the new keys */
    char cnf[PATH_MAX];
    snprintf(cnf, sizeof(cnf), "%s/backup-my.cnf", x->o->dir);
    mf_entry *me = x->o->update_backup_cnf ? manifest_find(&m, "backup-my.cnf") : NULL;
    int fd = me ? open(cnf, O_RDONLY) : -1;
    if (!rc && fd >= 0) {
        rc = fc_read_crc(x->ds.e, fd, &me->bytes, &me->crc32c);
        me->update = 1;
        updated++;
    }
    if (fd >= 0)
        close(fd);
    /* "prepared": the plan and the new keys (fingerprints) */
    char *json = NULL;
    size_t jlen = 0;
    FILE *f = rc ? NULL : open_memstream(&json, &jlen);
    if (f) {
        char abs[PATH_MAX];
        fprintf(f, "{\"command\":\"%s\",\"mode\":\"%s\",\"plan\":\"%s\",\"to_keyfile\":",
                x->o->command, x->o->mode == IBC_REKEY_REWRAP ? "rewrap" : "reencrypt",
                x->plan_id);
        cli_json_str(f, realpath(x->o->to_keyfile, abs) ? abs : x->o->to_keyfile);
        fprintf(f, ",\"keys\":[");
        for (size_t k = 0; k < ibc_keyring_count(x->newkr); k++) {
            uint32_t id, ver;
            char fp[IBC_FINGERPRINT_LEN + 1];
            ibc_keyring_entry(x->newkr, k, &id, &ver);
            ibc_keyring_fingerprint(x->newkr, id, ver, fp);
            fprintf(f, "%s{\"key_id\":%u,\"key_version\":%u,\"fingerprint\":\"%s\"}",
                    k ? "," : "", id, ver, fp);
        }
        fprintf(f, "],\"files_updated\":%zu}", updated);
        fclose(f);
    }
    if (!rc && (!json || manifest_write(&m, path, json)))
        rc = -1;
    if (rc)
        failure(x, "the backup's manifest (%s) cannot be updated: %s", path, strerror(errno));
    else
        ibc_crash_point("manifest-written");
    free(json);
    manifest_free(&m);
    return rc;
}

/* Make every written file durable: one syncfs per file system when many files were written
 * (an fsync each costs a device cache flush each), else an fdatasync per file. */
static int sync_written(rk *x)
{
    size_t n = 0;
    for (size_t i = 0; i < x->ds.n; i++)
        n += written(x, i);
    dev_t done_dev[16];
    size_t ndone = 0;
    for (size_t i = 0; i < x->ds.n; i++) {
        ds_file *d = &x->ds.v[i];
        if (!written(x, i) || d->fd < 0)
            continue;
        struct stat st;
        if (n > 8 && !fstat(d->fd, &st) && ndone < 16) {
            size_t k = 0;
            while (k < ndone && done_dev[k] != st.st_dev)
                k++;
            if (k < ndone)
                continue;
            done_dev[ndone++] = st.st_dev;
            if (syncfs(d->fd))
                return -1;
            continue;
        }
        if (fdatasync(d->fd))
            return -1;
    }
    for (size_t i = 0; i < x->naria; i++)
        if (x->aria[i].planned && fdatasync(x->aria[i].fd))
            return -1;
    return 0;
}

/* A copy of a page 0 in the doublewrite area (page 0 is never encrypted: its space id is
 * plain): if it holds the old crypt-data IV of a planned tablespace whose IV changes, and
 * passes its checks (recovery takes no torn copy), its re-keyed form goes into neu: the
 * target's crypt data (fil0crypt.cc fil_space_crypt_t::write_page0) and checksum. Recovery
 * writing an old-IV copy back over page 0 would leave the tablespace under a page key nobody
 * has. Returns 1 when neu is to be written. */
static int dblwr_page0(rk *x, const uint8_t *o, uint8_t *neu, uint32_t unit, ibc_scratch *sc)
{
    uint32_t space_id = (uint32_t)o[34] << 24 | (uint32_t)o[35] << 16 | (uint32_t)o[36] << 8 |
                        o[37]; /* FIL_PAGE_SPACE_ID */
    for (size_t c = 0; c < x->nps; c++) {
        plan_space *p = &x->ps[c];
        if (p->space_id != space_id)
            continue;
        ibc_space_info pi;
        ibc_space_get_info(p->old, &pi);
        if (!memcmp(p->orig_iv, p->target_iv, 16) || pi.page_size > unit ||
            pi.crypt_offset + 8 + 16 > pi.page_size ||
            memcmp(o + pi.crypt_offset + 8, p->orig_iv, 16))
            return 0; /* the IV stays, or the copy does not hold the old one (older, or
                       * re-keyed before an interruption) */
        ibc_page pg = {.src = o, .page_no = 0};
        ibc_batch_run(p->old, NULL, IBC_OP_VERIFY, &pg, 1, sc);
        if (pg.status != IBC_PAGE_PLAIN && pg.status != IBC_PAGE_OK)
            return 0;
        memcpy(neu, o, unit); /* the zero padding after a smaller page stays */
        return ibc_space_write_page0(p->target, neu) == IBC_OK;
    }
    return 0;
}

/* The doublewrite area of ibdata1 holds copies of other tablespaces' pages, encrypted as their
 * home pages are (format sheet §9.3). Recovery writes a copy back over a data page that is all
 * zero or fails its checks (buf0dblwr.cc buf_dblwr_t::recover, recv_dblwr_t::find_page) and
 * decrypts it with the tablespace's key: a backup copied while pages were being written needs
 * them. After reencrypt the copies must open with the new page keys too. A copy names its page
 * number (bytes 4..7, plain); its space id is encrypted in full_crc32, so the owner is found
 * by trial: the tablespace whose current page key decrypts it to a page that passes every
 * plaintext check (one that the target key opens was re-keyed by an interrupted run). Copies
 * no tablespace of the plan opens (unencrypted, stale, torn) are left as they are; copies of
 * a page 0 get the new crypt-data IV (dblwr_page0). */
static int rekey_doublewrite(rk *x, size_t *rekeyed)
{
    *rekeyed = 0;
    ds_file *sys = NULL;
    size_t sysi = 0;
    for (size_t i = 0; i < x->ds.n && !sys; i++)
        if (x->ds.v[i].f->kind == DF_SYSTEM && x->ds.v[i].f->sys_no == 1 && x->ds.v[i].space)
            sys = &x->ds.v[sysi = i];
    if (!sys || !x->nps)
        return 0;
    ibc_space_info si;
    ibc_space_get_info(sys->space, &si);
    uint32_t unit = sys->unit;
    size_t cap = 0;
    for (int b = 0; b < 2; b++)
        cap += si.doublewrite[b][1];
    uint8_t *old = malloc(cap * unit + 1), *neu = malloc(cap * unit + 1);
    uint32_t *at = malloc((cap + 1) * sizeof(uint32_t));
    ibc_scratch *sc = ibc_scratch_new();
    int rc = old && neu && at && sc ? 0 : -ENOMEM;
    size_t n = 0;
    for (int b = 0; b < 2 && !rc; b++) {
        for (uint32_t k = 0; k < si.doublewrite[b][1] && !rc; k++) {
            uint32_t pno = si.doublewrite[b][0] + k;
            uint8_t *o = old + n * unit, *w = neu + n * unit;
            if (pread(sys->fd, o, unit, (off_t)pno * unit) != (ssize_t)unit)
                break; /* a short ibdata1: no more copies */
            int zero = 1;
            for (uint32_t z = 0; z < unit && zero; z++)
                zero = !o[z];
            if (zero)
                continue;
            uint32_t page_no = (uint32_t)o[4] << 24 | (uint32_t)o[5] << 16 |
                               (uint32_t)o[6] << 8 | o[7];
            if (page_no == 0) {
                if (dblwr_page0(x, o, w, unit, sc))
                    at[n++] = pno;
                continue;
            }
            for (size_t c = 0; c < x->nps; c++) {
                plan_space *p = &x->ps[c];
                ds_file *d = &x->ds.v[p->ds];
                ibc_space_info pi;
                ibc_space_get_info(p->old, &pi);
                if (!p->reenc || pi.page_size > unit || page_no == 0 ||
                    (uint64_t)page_no * pi.page_size >= d->f->size)
                    continue;
                memcpy(w, o, unit); /* the zero padding after a smaller page stays */
                ibc_page pg = {.src = o, .dst = w, .page_no = page_no};
                ibc_batch_run(p->old, p->target, IBC_OP_REKEY, &pg, 1, sc);
                if (pg.status == IBC_PAGE_OK) {
                    at[n++] = pno;
                    break;
                }
                ibc_page again = {.src = o, .page_no = page_no};
                ibc_batch_run(p->target, NULL, IBC_OP_VERIFY_DEEP, &again, 1, sc);
                if (again.status == IBC_PAGE_OK)
                    break; /* re-keyed before an interruption */
            }
        }
    }
    *rekeyed = n;
    /* journal the originals (one flush per batch), then write the re-keyed copies */
    if (!rc && n && !x->o->dry_run) {
        ibc_journal_add_fd(x->j, (unsigned)sysi, sys->fd);
        x->dblwr_ds = (ssize_t)sysi;
        ibc_journal_range r[256];
        unsigned slots[256];
        unsigned lim = ibc_journal_nslots(x->j) < 256 ? ibc_journal_nslots(x->j) : 256;
        for (size_t from = 0; from < n && !rc; from += lim) {
            unsigned m = (unsigned)(n - from < lim ? n - from : lim);
            for (unsigned i = 0; i < m; i++)
                r[i] = (ibc_journal_range){(unsigned)sysi, (uint64_t)at[from + i] * unit,
                                           old + (from + i) * unit, unit};
            if (ibc_journal_save_many(x->j, r, m, slots) != IBC_OK) {
                failure(x, "journal: cannot save the doublewrite copies");
                rc = -EIO;
                break;
            }
            for (unsigned i = 0; i < m && !rc; i++) {
                if (pwrite(sys->fd, neu + (from + i) * unit, unit, (off_t)r[i].offset) !=
                    (ssize_t)unit) {
                    failure(x, "%s: writing doublewrite page %u failed: %s", sys->f->rel,
                            at[from + i], strerror(errno));
                    rc = -EIO;
                    break;
                }
                ibc_journal_release(x->j, slots[i]);
            }
        }
    }
    ibc_scratch_free(sc);
    free(old);
    free(neu);
    free(at);
    return rc;
}

/* prepare: backup-my.cnf names the key file by absolute path (format sheet §11.3): point it at
 * the new one, so `mariadb-backup --prepare` on the backup uses the new keys. */
static int update_backup_cnf(rk *x)
{
    char path[PATH_MAX], tmp[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/backup-my.cnf", x->o->dir);
    FILE *in = fopen(path, "r");
    if (!in)
        return 0;
    snprintf(tmp, sizeof(tmp), "%s.ibdcrypt-new", path);
    FILE *out = fopen(tmp, "w");
    char line[4096], abs[PATH_MAX];
    if (!out || !realpath(x->o->to_keyfile, abs)) {
        fclose(in);
        if (out)
            fclose(out);
        return -1;
    }
    while (fgets(line, sizeof(line), in)) {
        if (!strncmp(line, "file_key_management_filename=", 29)) {
            fprintf(out, "file_key_management_filename=%s\n", abs);
        } else if (!strncmp(line, "file_key_management_filekey=", 28)) {
            if (x->o->to_filekey && !strncmp(x->o->to_filekey, "FILE:", 5)) {
                char fabs[PATH_MAX];
                fprintf(out, "file_key_management_filekey=FILE:%s\n",
                        realpath(x->o->to_filekey + 5, fabs) ? fabs : x->o->to_filekey + 5);
            } else {
                fprintf(out, "file_key_management_filekey=\n");
            }
        } else {
            fputs(line, out);
        }
    }
    fclose(in);
    int rc = fflush(out) || fsync(fileno(out));
    fclose(out);
    if (rc || rename(tmp, path))
        return -1;
    return 0;
}

/* Does keyring kr open tablespace d (trial decryption of its first encrypted pages)? */
static int opens_with(const ds_file *d, const ibc_keyring *kr)
{
    ibc_space *t = NULL;
    ibc_space_info info;
    ibc_space_get_info(d->space, &info);
    if (ibc_space_derive(d->space, kr, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, info.crypt_iv, &t) !=
        IBC_OK)
        return 0;
    uint8_t *p = malloc(d->unit);
    int ok = 0;
    for (uint64_t i = 1, tries = 0; p && i < d->f->size / d->unit && tries < 8; i++) {
        if (pread(d->fd, p, d->unit, (off_t)(i * d->unit)) != (ssize_t)d->unit)
            break;
        ibc_status st = ibc_space_check_key(t, p, (uint32_t)i);
        if (st == IBC_ERR_INVALID_ARG)
            continue;
        tries++;
        if (st == IBC_OK || st == IBC_ERR_KEY_MISMATCH) {
            ok = st == IBC_OK;
            break;
        }
    }
    free(p);
    ibc_space_free(t);
    return ok;
}

static int fail_rc(rk *x, int rc, const char *msg)
{
    if (msg)
        cli_err("%s: %s", x->o->command, msg);
    return rc;
}

/* An incremental backup of mariadb-backup (--incremental-basedir): its db/t.ibd.delta files
 * hold the pages changed since the base backup, encrypted as the server wrote them (with its
 * .meta: xtrabackup.cc write_delta_metadata; "backup_type = incremental" in
 * xtrabackup_checkpoints, xtrabackup_write_metadata). Those pages are not re-keyed here, and
 * applied to a re-keyed base they would be under keys the target does not have: the way is
 * to apply the incremental to its base with the current keys first. Returns 1 (message in
 * err) for such a directory. */
static int incremental(const dataset *ds, char *err, size_t errlen)
{
    const char *delta = datadir_delta(&ds->files);
    if (!delta)
        return 0;
    snprintf(err, errlen, "an incremental backup (%s holds pages changed since its base "
                          "backup, under the current keys, which are not re-keyed): apply it "
                          "to its base first, with the current keys (mariadb-backup --prepare "
                          "of the base, then --prepare --incremental-dir=THIS), then prepare "
                          "the base; nothing written", delta);
    return 1;
}

/* Is key 1 the same in the current and the new keys? */
static int key1_kept(const rk *x)
{
    char a[IBC_FINGERPRINT_LEN + 1], b[IBC_FINGERPRINT_LEN + 1];
    return ibc_keyring_fingerprint(x->keys->kr, 1, 1, a) == IBC_OK &&
           ibc_keyring_fingerprint(x->newkr, 1, 1, b) == IBC_OK && !strcmp(a, b);
}

/* Binary logs written with encrypt_binlog=ON are encrypted with key id 1 itself
 * (ENCRYPTION_KEY_SYSTEM_DATA; no wrapped key): with another key 1 a server holding only the
 * new keys could not read them (replicas, point-in-time recovery), so every event is
 * re-encrypted (binlogjob.h), in both modes. Which key opens each tells what is left to do;
 * one that neither opens, or a key 1 missing, stops the run before anything is written.
 * A replica's relay logs are re-encrypted alike (left as a replica with only the new keys
 * could not apply what they hold), but for one without event checksums, where nothing tells
 * which key opens it: those are left with a warning (relay_log_recovery=ON fetches their
 * events again). Returns 0 or an exit code. */
static int binlog_scan(rk *x)
{
    size_t nrelay = 0;
    const char *relay = NULL;
    char err[1024];
    x->bl = calloc(x->ds.files.n + 1, sizeof(bl_file));
    if (!x->bl)
        return fail_rc(x, EXIT_ENV, "out of memory");
    int kept = key1_kept(x);
    for (size_t i = 0; i < x->ds.files.n; i++) {
        const df_file *f = &x->ds.files.v[i];
        if (!binlog_kind(f) || kept)
            continue;
        bl_file *b = &x->bl[x->nbl++];
        b->path = f->path;
        b->rel = f->rel;
        uint8_t probe[IBC_KEY_MAX];
        size_t plen;
        const char *missing = ibc_keyring_get(x->keys->kr, 1, 1, probe, &plen) != IBC_OK
                                  ? "the current keys"
                              : ibc_keyring_get(x->newkr, 1, 1, probe, &plen) != IBC_OK
                                  ? x->o->to_keyfile
                                  : NULL;
        explicit_bzero(probe, sizeof(probe));
        if (missing) {
            snprintf(err, sizeof(err), "key id 1 (needed by the binary log %s, "
                                       "encrypt_binlog=ON) is not in %s: nothing written",
                     f->rel, missing);
            return fail_rc(x, EXIT_ENV, err);
        }
        int st = binlog_state(x->ds.e, b, x->keys->kr, x->newkr, err, sizeof(err));
        if (st == -3) { /* a relay log nothing tells a key of */
            relay = nrelay++ ? relay : f->rel;
            memset(&x->bl[--x->nbl], 0, sizeof(bl_file));
            continue;
        }
        if (st) {
            char m[1100];
            snprintf(m, sizeof(m), "%s: nothing written", err);
            return fail_rc(x, EXIT_DATA, m);
        }
        x->bl_todo += (size_t)b->todo;
        x->bl_bytes += b->todo ? b->size : 0;
    }
    if (nrelay)
        cli_err("%s: warning: %zu relay log%s encrypted with key id 1 without event checksums "
                "(%s%s) stay%s under the current key 1: with only the new keys this replica "
                "cannot apply what %s hold%s; start it with relay_log_recovery=ON, so that it "
                "fetches those events from its primary again", x->o->command, nrelay,
                nrelay == 1 ? "" : "s", relay,
                nrelay == 1 ? "" : ", ...", nrelay == 1 ? "s" : "", nrelay == 1 ? "it" : "they",
                nrelay == 1 ? "s" : "");
    return 0;
}

/* Re-key the binary logs the current key 1 opens (binlog_scan). Returns 0 or an exit code. */
static int binlog_run(rk *x)
{
    char err[1024];
    progress pr;
    int rc = 0;
    progress_start(&pr, x->g, "binary logs", x->bl_bytes);
    for (size_t i = 0; !rc && i < x->nbl; i++) {
        bl_file *b = &x->bl[i];
        bl_result r;
        if (!b->todo)
            continue;
        if (binlog_rekey_file(x->ds.e, b, x->keys->kr, x->newkr, &pr, &r, err, sizeof(err))) {
            rc = fail_rc(x, EXIT_ENV, err);
            break;
        }
        if (r.torn)
            cli_err("%s: warning: the binary log %s ends in an event cut short (the server "
                    "stopped while writing it): its bytes are left as they were", x->o->command,
                    b->rel);
        if (r.unframed)
            cli_err("%s: warning: the binary log %s has an impossible event length at offset "
                    "%llu: from there on its bytes are left as they were (under the current "
                    "key 1)", x->o->command, b->rel, (unsigned long long)r.unframed);
        if (r.unsound)
            cli_err("%s: warning: %llu event%s of the binary log %s did not decrypt to a sound "
                    "event with the current key 1 (damaged before this run): re-encrypted as "
                    "%s, so the new key gives the same bytes", x->o->command,
                    (unsigned long long)r.unsound, r.unsound == 1 ? "" : "s", b->rel,
                    r.unsound == 1 ? "it was" : "they were");
        x->bl_done++;
        x->bl_relay_done += b->b.relay != 0;
    }
    progress_end(&pr);
    return rc;
}

/* The Aria tables encrypted with key id 1 (aria_encrypt_tables=ON; ma_crypt.c
 * get_encryption_key_id: 1 for every table that is not an internal temporary one), the
 * mysql.* system tables among them when it was on at install: a server holding only another
 * key 1 could not open them (tried: "Access denied" for root, "Read page with wrong checksum"
 * for mysql/tables_priv.MAI). Their index and data files are opened (read-write unless a dry
 * run) for the new IV in their headers and, in reencrypt mode, their pages. Returns 0 or -1
 * (out of memory). */
static int aria_scan(rk *x)
{
    x->aria = calloc(x->ds.files.n + 1, sizeof(aria_file));
    if (!x->aria)
        return -1;
    for (size_t i = 0; i < x->ds.files.n; i++) {
        const df_file *f = &x->ds.files.v[i];
        aria_file *af = &x->aria[x->naria];
        af->fd = f->kind == DF_OTHER
                     ? df_aria_open(f->path, x->o->dry_run ? O_RDONLY : O_RDWR, &af->a)
                     : -1;
        if (af->fd < 0)
            continue;
        /* its data file beside it (t.MAI, t.MAD) */
        size_t l = strlen(f->path);
        char *mad = strdup(f->path);
        if (!mad)
            return -1;
        mad[l - 1] = 'D';
        af->dfd = open(mad, (x->o->dry_run ? O_RDONLY : O_RDWR) | O_CLOEXEC);
        af->derr = af->dfd < 0 ? errno : 0;
        free(mad);
        af->algo = IBC_ALGO_AUTO;
        x->aria[x->naria++].f = f;
    }
    return 0;
}

/* Which key 1 opens Aria table af: 1 the current one, 2 the new one, 0 neither, -1 its index
 * pages tell nothing (none in use: an empty table). Up to 8 index pages are tried. */
static int aria_key_state(rk *x, aria_file *af)
{
    uint32_t bs = af->a.block_size;
    uint8_t *page = malloc(bs);
    int state = -1;
    ibc_algo algos[2] = {IBC_ALGO_CBC, IBC_ALGO_CTR};
    int nalgo = x->keys->algo == IBC_ALGO_AUTO ? 2 : 1;
    if (x->keys->algo != IBC_ALGO_AUTO)
        algos[0] = x->keys->algo;
    uint64_t first = af->a.keystart / bs;
    for (uint64_t pno = first; page && pno < first + 8 && state <= 0; pno++) {
        if (pread(af->fd, page, bs, (off_t)(pno * bs)) != (ssize_t)bs)
            break;
        for (int a = 0; a < nalgo && state <= 0; a++) {
            int o = ibc_aria_page_opens(x->ds.e, &af->a, x->keys->kr, algos[a], page, pno);
            int n = o == 1 ? 0 : ibc_aria_page_opens(x->ds.e, &af->a, x->newkr, algos[a], page,
                                                     pno);
            if (o == 1 || n == 1) {
                state = o == 1 ? 1 : 2;
                af->algo = algos[a];
            } else if (o == 0)
                state = 0;
        }
    }
    free(page);
    return state;
}

/* Do the table's pages carry checksums, which tell page by page which page key a page is
 * under (so that a run stopped half way can go on)? 1 yes, 0 no, -1 its first pages tell
 * nothing either way (an empty table). ma_crypt.c sets the checksum of every page it encrypts,
 * PAGE_CHECKSUM=0 or not (seen on 10.11.19), so 0 is for pages some other program wrote. */
static int aria_checksums(rk *x, aria_file *af)
{
    const uint32_t bs = af->a.block_size;
    uint8_t *page = malloc(bs), iv[16] = {0};
    int res = -1;
    for (int index_file = 0; page && index_file < 2 && res < 0; index_file++) {
        int fd = index_file ? af->fd : af->dfd;
        uint64_t first = index_file ? af->a.keystart / bs : 0;
        for (uint64_t pno = first; fd >= 0 && pno < first + 16 && res < 0; pno++) {
            if (pread(fd, page, bs, (off_t)(pno * bs)) != (ssize_t)bs)
                break;
            int r = ibc_aria_rekey_page(x->ds.e, &af->a, x->keys->kr, x->newkr, iv,
                                        IBC_ALGO_CBC, index_file, page, pno);
            res = r == -2 ? 0 : r != 0 ? 1 : -1;
        }
    }
    free(page);
    return res;
}

/* One file of a re-encrypted Aria table in place: every page (of the index file, from its
 * first index page) under the new page key, each range of pages journaled before it is
 * overwritten, as the tablespaces' pages are. A page tells a re-run whether it is done. */
static int aria_file_pages(rk *x, size_t ai, int index_file, int check_only)
{
    aria_file *af = &x->aria[ai];
    const uint32_t bs = af->a.block_size;
    const int fd = index_file ? af->fd : af->dfd;
    const unsigned jf = (unsigned)(x->ds.n + (index_file ? 0 : x->naria) + ai);
    char rel[4200];
    snprintf(rel, sizeof(rel), "%.*s%s", (int)strlen(af->f->rel) - 1, af->f->rel,
             index_file ? "I" : "D");
    struct stat st;
    if (fd < 0) { /* (its pages would stay under the old page key, the header not) */
        failure(x, "%s: %s", rel, strerror(af->derr));
        return -1;
    }
    if (fstat(fd, &st)) {
        failure(x, "%s: %s", rel, strerror(errno));
        return -1;
    }
    const size_t per = ((size_t)1 << 20) / bs; /* pages per journal slot */
    const uint64_t end = (uint64_t)st.st_size / bs;
    uint8_t *old = malloc(per * bs), *neu = malloc(per * bs);
    int rc = old && neu ? 0 : -1;
    if (rc)
        failure(x, "out of memory");
    for (uint64_t p = index_file ? af->a.keystart / bs : 0; !rc && p < end; p += per) {
        size_t n = end - p < per ? (size_t)(end - p) : per, changed = 0;
        if (pread(fd, old, n * bs, (off_t)(p * bs)) != (ssize_t)(n * bs)) {
            failure(x, "%s: cannot read its pages from %llu", rel, (unsigned long long)p);
            rc = -1;
            break;
        }
        memcpy(neu, old, n * bs);
        for (size_t i = 0; i < n && !rc; i++) {
            uint8_t *pg = neu + i * bs;
            ibc_algo al = af->algo == IBC_ALGO_AUTO ? IBC_ALGO_CBC : af->algo;
            int r = ibc_aria_rekey_page(x->ds.e, &af->a, x->keys->kr, x->newkr, af->target_iv,
                                        al, index_file, pg, p + i);
            if (r == -1 && af->algo == IBC_ALGO_AUTO) { /* the cipher: the first page tells */
                al = IBC_ALGO_CTR;
                r = ibc_aria_rekey_page(x->ds.e, &af->a, x->keys->kr, x->newkr, af->target_iv,
                                        al, index_file, pg, p + i);
            }
            if (r > 0)
                af->algo = al;
            if (r < 0) {
                failure(x, "%s: page %llu: %s", rel, (unsigned long long)(p + i),
                        r == -2 ? "no page checksum to tell its key by"
                                : "neither the current nor the new key 1 opens it");
                rc = -1;
            }
            changed += r == 1;
        }
        if (rc || !changed || check_only)
            continue;
        struct iovec iov = {old, n * bs};
        unsigned slot;
        if (ibc_journal_save(x->j, jf, p * bs, &iov, 1, &slot) != IBC_OK) {
            failure(x, "journal: cannot save the pages of %s", rel);
            rc = -1;
            break;
        }
        ibc_crash_point("rekey-aria");
        if (pwrite(fd, neu, n * bs, (off_t)(p * bs)) != (ssize_t)(n * bs)) {
            failure(x, "%s: cannot write its pages from %llu: %s", rel, (unsigned long long)p,
                    strerror(errno ? errno : EIO));
            rc = -1;
        }
        ibc_journal_release(x->j, slot);
        x->aria_pages += changed;
    }
    if (!rc && !check_only && fdatasync(fd)) {
        failure(x, "%s: %s", rel, strerror(errno));
        rc = -1;
    }
    free(old);
    free(neu);
    return rc;
}

/* reencrypt: the pages of the Aria tables, before their headers take the new IVs; or
 * (check_only) whether the current or the new key opens every one of them, before any write */
static int aria_pages(rk *x, int check_only)
{
    for (size_t i = 0; i < x->naria; i++) {
        if (!x->aria[i].planned || !x->aria[i].reenc)
            continue;
        if (aria_file_pages(x, i, 0, check_only) || aria_file_pages(x, i, 1, check_only))
            return -1;
        x->aria_reenc += !check_only;
    }
    return 0;
}

/* The Aria part of the plan (a fresh run; key 1 changes): a table the current key 1 opens is
 * re-wrapped, one the new key 1 opens was by an earlier run. An empty table (whose pages tell
 * nothing) goes with the others, or, when there is none to tell, with the InnoDB files (a
 * run that re-keys them re-wraps it; else an earlier run did). Returns 0 or an exit code. */
static int plan_aria(rk *x, int others_todo)
{
    char m[800];
    if (!x->naria || key1_kept(x))
        return 0;
    uint8_t probe[IBC_KEY_MAX];
    size_t plen;
    int cur = ibc_keyring_get(x->keys->kr, 1, 1, probe, &plen) == IBC_OK;
    int neu = ibc_keyring_get(x->newkr, 1, 1, probe, &plen) == IBC_OK;
    explicit_bzero(probe, sizeof(probe));
    if (!cur || !neu) {
        snprintf(m, sizeof(m), "key id 1 (needed by the Aria table %s, aria_encrypt_tables=ON) "
                               "is not in %s: nothing written", x->aria[0].f->rel,
                 !cur ? "the current keys" : x->o->to_keyfile);
        return fail_rc(x, EXIT_ENV, m);
    }
    int *st = calloc(x->naria, sizeof(int));
    size_t nold = 0, nnew = 0;
    for (size_t i = 0; st && i < x->naria; i++) {
        st[i] = aria_key_state(x, &x->aria[i]);
        if (st[i] == 0) {
            snprintf(m, sizeof(m), "neither the current nor the new key 1 opens the Aria table "
                                   "%s: nothing written", x->aria[i].f->rel);
            free(st);
            return fail_rc(x, EXIT_DATA, m);
        }
        nold += st[i] == 1;
        nnew += st[i] == 2;
    }
    for (size_t i = 0; st && i < x->naria; i++) {
        if (st[i] == -1 && nold && nnew) {
            snprintf(m, sizeof(m), "the Aria tables are under both the current and the new key "
                                   "1, and %s tells not which: nothing written",
                     x->aria[i].f->rel);
            free(st);
            return fail_rc(x, EXIT_DATA, m);
        }
        aria_file *af = &x->aria[i];
        af->planned = st[i] == 1 || (st[i] == -1 && (nold || (!nnew && others_todo)));
        /* reencrypt: a new IV, so a new page key, and every page under it; a table whose pages
         * carry no checksum is re-wrapped (a page could not tell a re-run which key it is
         * under) */
        af->reenc = af->planned && x->o->mode == IBC_REKEY_REENCRYPT && aria_checksums(x, af);
        if (af->reenc && x->o->iv_seed) {
            char seed[600];
            snprintf(seed, sizeof(seed), "%s:aria:%s", x->o->iv_seed, af->f->rel);
            derive_iv(seed, 0, af->target_iv);
        } else if (af->reenc && getrandom(af->target_iv, 16, 0) != 16) {
            free(st);
            return fail_rc(x, EXIT_ENV, "getrandom failed");
        } else if (!af->reenc && af->planned &&
                   ibc_aria_rewrap(x->ds.e, &af->a, x->keys->kr, x->newkr, af->target_iv) !=
                       IBC_OK) {
            af->planned = 0;
        }
        x->aria_planned += af->planned;
    }
    int ok = st != NULL;
    free(st);
    return ok ? 0 : fail_rc(x, EXIT_ENV, "out of memory");
}

/* A server started on the directory while the run changes it would read half re-keyed files
 * and write pages of its own among them. InnoDB takes an fcntl write lock on ibdata1 and
 * ib_logfile0 at its start (os0file.cc os_file_lock) and refuses to start when it cannot
 * ("Unable to lock"); the run holds the same locks (open-file-description locks, which
 * conflict with the server's and, unlike process-owned ones, survive the run closing its other
 * descriptors of those files) until it ends. Returns -1 if a server holds one already. */
static int hold_server_locks(rk *x)
{
    size_t k = 0;
    for (size_t i = 0; i < x->ds.files.n && k < 2; i++) {
        const df_file *f = &x->ds.files.v[i];
        if (!(f->kind == DF_SYSTEM && f->sys_no == 1) && f->kind != DF_REDO)
            continue;
        int fd = open(f->path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            continue; /* (unwritable: the run stops at its first write anyway) */
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
            close(fd);
            return -1;
        }
        x->srvlock[k++] = fd;
    }
    return 0;
}

/* Does key 1 of kr open the redo log of d (its known-plaintext check)? */
static int log_opens_with(const rk *x, const ds_file *d, const ibc_keyring *kr)
{
    ibc_redo *r = NULL;
    char err[256];
    int ok = ibc_redo_open(x->ds.e, d->f->path, &r, err, sizeof(err)) == IBC_OK &&
             ibc_redo_set_key(r, kr, x->keys->algo, err, sizeof(err)) == IBC_OK;
    ibc_redo_free(r);
    return ok;
}

/* A page write of the pending redo (ibc_redo_set_write_hook): one that sets the crypt data of
 * a planned tablespace's page 0 would put the old IV back during recovery, which also takes
 * the IV from it (fil0crypt.cc fil_space_crypt_t::write_page0 logs all of it, fil_crypt_parse
 * reads it). Such a tablespace keeps its IV and is re-encrypted rather than re-wrapped. */
static void page0_write(void *ctx, uint32_t space_id, uint32_t page_no, uint32_t offset,
                        uint32_t len)
{
    rk *x = ctx;
    if (page_no != 0)
        return;
    for (size_t i = 0; i < x->nps; i++) {
        plan_space *p = &x->ps[i];
        ibc_space_info info;
        if (p->space_id != space_id)
            continue;
        ibc_space_get_info(x->ds.v[p->ds].space, &info);
        uint32_t iv = info.crypt_offset + 8; /* magic (6), type, IV length */
        if (offset < iv + 16 && offset + len > iv)
            p->keep_iv = 1;
    }
}

/* Before the plan's targets: read every record of the pending redo (decrypted: deep verify)
 * for crypt-data writes (page0_write): the tablespaces they name keep their crypt-data IV, so
 * rewrap re-encrypts them and reencrypt gives them no fresh IV. A log the current keys do not
 * open is left to plan_redo, which says why (and writes nothing). For reencrypt this is the
 * deep check of the log plan_redo would make. Returns 0 or an exit code. */
static int redo_prescan(rk *x)
{
    x->redo_scanned = 0;
    for (size_t i = 0; i < x->ds.n; i++) {
        ds_file *d = &x->ds.v[i];
        if (!d->redo)
            continue;
        ibc_redo_info ri;
        ibc_redo_get_info(d->redo, &ri);
        if (ri.encrypted && d->rf->key_state != REP_KEY_OK && d->rf->key_state != REP_KEY_UNPROVEN)
            return 0;
        char err[512], m[700];
        ibc_redo_result res;
        ibc_redo_set_write_hook(d->redo, page0_write, x);
        ibc_status st = ibc_redo_verify(d->redo, 1, &res, err, sizeof(err));
        ibc_redo_set_write_hook(d->redo, NULL, NULL);
        if (st != IBC_OK) {
            snprintf(m, sizeof(m), "%.600s: nothing written", err);
            return fail_rc(x, cli_exit_for(st), m);
        }
        x->redo_scanned = 1;
        size_t n = 0;
        for (size_t k = 0; k < x->nps; k++)
            n += x->ps[k].keep_iv;
        if (n && x->o->mode == IBC_REKEY_REWRAP)
            cli_info(x->g, "%s: the pending redo rewrites the crypt data of %zu tablespace%s: "
                           "%s re-encrypted instead of re-wrapped", x->o->command, n,
                     n == 1 ? "" : "s", n == 1 ? "it is" : "they are");
        else if (n)
            cli_info(x->g, "%s: the pending redo rewrites the crypt data of %zu tablespace%s: "
                           "%s crypt-data IV, only the new key changes the page key",
                     x->o->command, n, n == 1 ? "" : "s",
                     n == 1 ? "it keeps its" : "they keep their");
    }
    return 0;
}

/* The redo log's part of the plan: check that the current key 1 opens it, that it reads to its
 * end (every mini-transaction decrypted and parsed for reencrypt) and that the new keys have
 * key 1; build its target. *already is raised when an earlier run finished it. Returns 0 or
 * an exit code (message printed). */
static int plan_redo(rk *x, int resume, size_t *already)
{
    char err[512], m[1024];
    size_t i = 0;
    while (i < x->ds.n && x->ds.v[i].f->kind != DF_REDO)
        i++;
    if (i == x->ds.n || !x->ds.v[i].redo) {
        x->redo_state = "absent";
        if (resume && x->redo_planned) {
            snprintf(m, sizeof(m), "the interrupted run re-keyed the redo log, which is gone");
            return fail_rc(x, EXIT_DATA, m);
        }
        return 0;
    }
    ds_file *d = &x->ds.v[i];
    ibc_redo_info ri;
    ibc_redo_get_info(d->redo, &ri);
    if (!ri.encrypted) {
        x->redo_state = "not encrypted";
        if (resume && x->redo_planned)
            return fail_rc(x, EXIT_DATA, "the interrupted run re-keyed the redo log, which is "
                                         "no longer encrypted");
        return 0;
    }
    uint8_t hdr[512];
    if (pread(d->fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
        snprintf(m, sizeof(m), "%s: cannot read its header", d->f->rel);
        return fail_rc(x, EXIT_ENV, m);
    }
    const uint8_t *cur = hdr + 56; /* crypt_msg: log0crypt.cc log_crypt_write_header */
    if (resume && !x->redo_planned) {
        snprintf(m, sizeof(m), "%s is encrypted but the interrupted run's plan does not name it; "
                               "finish that run with the ibdcrypt version that started it",
                 d->f->rel);
        return fail_rc(x, EXIT_USAGE, m);
    }
    x->redo_ds = i;
    if (resume && !memcmp(cur, x->redo_target, 16)) {
        x->redo_done = 1; /* the interrupted run got past the log */
        x->redo_state = "already";
        return 0;
    }
    switch (d->rf->key_state) {
    case REP_KEY_MISSING:
        snprintf(m, sizeof(m), "key id 1 (needed by the redo log %s) is not in the current "
                               "keys: nothing written", d->f->rel);
        return fail_rc(x, EXIT_ENV, m);
    case REP_KEY_MISMATCH:
        if (!resume && log_opens_with(x, d, x->newkr)) {
            (*already)++;
            x->redo_state = "already";
            return 0;
        }
        snprintf(m, sizeof(m), "the current key id 1 does not decrypt the redo log %s: nothing "
                               "written", d->f->rel);
        return fail_rc(x, EXIT_DATA, m);
    default:
        break;
    }
    if (resume && memcmp(cur, x->redo_orig, 16)) {
        snprintf(m, sizeof(m), "%s changed since the interrupted run (its crypt_msg differs "
                               "from the plan's)", d->f->rel);
        return fail_rc(x, EXIT_DATA, m);
    }
    /* read it to its end: the framing and CRCs; for reencrypt every record decrypted and
     * parsed, as the pages are checked before any write */
    int deep = x->o->mode == IBC_REKEY_REENCRYPT;
    ibc_redo_result res;
    ibc_status st = x->redo_scanned ? IBC_OK : ibc_redo_verify(d->redo, deep, &res, err,
                                                               sizeof(err));
    if (st != IBC_OK) {
        snprintf(m, sizeof(m), "%.600s: nothing written", err);
        return fail_rc(x, cli_exit_for(st), m);
    }
    uint8_t msg[16];
    if (resume)
        memcpy(msg, x->redo_target, 16);
    else if (x->o->iv_seed)
        derive_iv(x->o->iv_seed, UINT32_MAX, msg);
    else if (getrandom(msg, 16, 0) != 16)
        return fail_rc(x, EXIT_ENV, "getrandom failed");
    st = ibc_redo_target_new(d->redo, x->newkr, x->o->mode, IBC_ALGO_AUTO,
                             x->o->mode == IBC_REKEY_REENCRYPT ? msg : NULL, &x->redo_t, err,
                             sizeof(err));
    explicit_bzero(msg, sizeof(msg));
    if (st == IBC_ERR_KEY_MISSING) {
        snprintf(m, sizeof(m), "key id 1 (needed by the redo log %s) is not in %s: nothing "
                               "written", d->f->rel, x->o->to_keyfile);
        return fail_rc(x, EXIT_ENV, m);
    }
    if (st != IBC_OK) {
        snprintf(m, sizeof(m), "%.600s: nothing written", err);
        return fail_rc(x, cli_exit_for(st), m);
    }
    uint8_t th[512];
    ibc_redo_target_header(x->redo_t, th);
    if (resume && memcmp(th + 56, x->redo_target, 16))
        return fail_rc(x, EXIT_DATA, "the redo log's re-wrapped header differs from the "
                                     "interrupted run's plan");
    memcpy(x->redo_orig, cur, 16);
    memcpy(x->redo_target, th + 56, 16);
    x->redo_planned = 1;
    x->redo_state = x->o->mode == IBC_REKEY_REWRAP ? "re-wrapped" : "re-encrypted";
    return 0;
}

/* ---- the job ----------------------------------------------------------------------------- */

static void free_rk(rk *x)
{
    for (size_t i = 0; i < x->nps; i++) {
        ibc_space_free(x->ps[i].old);
        ibc_space_free(x->ps[i].target);
    }
    /* (the dataset, and its pool, may be closed already) */
    for (unsigned w = 0; x->out && w < x->nout; w++)
        free(x->out[w]);
    free(x->out);
    free(x->ps);
    free(x->plan_of);
    free(x->head_crc);
    free(x->head_len);
    for (size_t i = 0; x->mcrc && i < x->nmcrc; i++) /* (the dataset may be closed) */
        fc_file_free(&x->mcrc[i]);
    free(x->mcrc);
    ibc_redo_target_free(x->redo_t);
    ibc_keyring_free(x->newkr);
    for (size_t i = 0; i < x->naria; i++) {
        close(x->aria[i].fd);
        if (x->aria[i].dfd >= 0)
            close(x->aria[i].dfd);
    }
    free(x->aria);
    free(x->bl);
    pthread_mutex_destroy(&x->lock);
}

int rekey_run(cli_global *g, rekey_opts *o, cli_keys *keys)
{
    rk x;
    memset(&x, 0, sizeof(x));
    x.dblwr_ds = -1;
    x.srvlock[0] = x.srvlock[1] = -1;
    x.g = g;
    x.o = o;
    x.keys = keys;
    pthread_mutex_init(&x.lock, NULL);
    char err[512], jpath[PATH_MAX];
    int rc = 0;
    if (!o->to_keyfile) {
        cli_err("%s: give the new key file with --to-keyfile=PATH", o->command);
        return EXIT_USAGE;
    }
    if ((rc = cli_keys_load(keys)) != 0)
        return rc;
    if (!o->dir)
        o->dir = cli_keys_datadir(keys);
    if (!o->dir && !strcmp(o->command, "prepare")) {
        cli_err("prepare: give the backup's directory (--target-dir=DIR)");
        return EXIT_USAGE;
    }
    if (!o->dir) {
        cli_keys_no_datadir(keys, o->command, "--datadir=DIR");
        return EXIT_USAGE;
    }
    if (!keys->kr) {
        cli_err("%s: give the current keys (--keyfile or --defaults-file)", o->command);
        return EXIT_USAGE;
    }
    if (ibc_keyring_load(o->to_keyfile, o->to_filekey, &x.newkr, err, sizeof(err)) != IBC_OK) {
        cli_err("%s", err);
        return EXIT_ENV;
    }
    ibc_engine *e = NULL;
    if (ibc_engine_new(g->isa, &e) != IBC_OK) {
        free_rk(&x);
        cli_err("--isa=%s: not usable here", g->isa);
        return EXIT_USAGE;
    }
    int64_t t0 = progress_now_ns();
    const char *modename = o->mode == IBC_REKEY_REWRAP ? "rewrap" : "reencrypt";
    char label[64];
    snprintf(label, sizeof(label), "%s --mode=%s", o->command, modename);
    report_init(&x.rep, g, label, ibc_engine_isa(e), 1);
    x.rep.out = stderr;
    /* One run per directory: a second one started beside it would take the first's journal for
     * an interrupted run's (or, caught while it is being created, for a torn one, and remove
     * it) and roll back what the first is writing. An advisory lock on the directory, held
     * until the run ends (the process's exit releases it, kill -9 included). */
    int lockfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lockfd >= 0 && flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK
                 ? fail_rc(&x, EXIT_ENV, "another ibdcrypt prepare or rekey is running on the "
                                         "directory; let it finish (or stop it, then run the "
                                         "command again to resume)")
                 : fail_rc(&x, EXIT_ENV, "cannot lock the directory");
        close(lockfd);
        report_free(&x.rep);
        free_rk(&x);
        ibc_engine_free(e);
        return rc;
    }
    char *paths[1] = {(char *)(uintptr_t)o->dir};
    /* prepare changes a backup: nothing outside it (rekey: a datadir, links and all) */
    rc = dataset_open(&x.ds, g, e, keys, paths, 1,
                      DS_WRITABLE | DS_DEEP | (!strcmp(o->command, "prepare") ? DS_INSIDE : 0),
                      &x.rep);
    snprintf(jpath, sizeof(jpath), "%s/" JOURNAL_NAME, o->dir);
    long pid = rc ? 0 : dataset_server_pid(&x.ds);
    if (pid || (!rc && hold_server_locks(&x)))
        rc = fail_rc(&x, EXIT_ENV, "a server is running on the directory (it holds ibdata1 or "
                                   "ib_logfile0); stop it first");
    char who[PATH_MAX + 64];
    if (!rc && (pid = dataset_open_elsewhere(&x.ds, who, sizeof(who))) != 0) {
        /* (a server whose ibdata1 and log live elsewhere holds no lock here) */
        snprintf(err, sizeof(err), "%.440s: stop it first", who);
        rc = fail_rc(&x, EXIT_ENV, err);
    }
    if (!rc && incremental(&x.ds, err, sizeof(err)))
        rc = fail_rc(&x, EXIT_ENV, err);
    if (!rc && aria_scan(&x))
        rc = fail_rc(&x, EXIT_ENV, "out of memory");
    if (!rc && !x.ds.n)
        rc = fail_rc(&x, EXIT_DATA, "no InnoDB files in the directory");
    for (size_t i = 0; !rc && i < x.ds.n; i++)
        if (x.ds.v[i].rf->error[0]) {
            snprintf(err, sizeof(err), "%.200s: %.300s", x.ds.v[i].f->rel, x.ds.v[i].rf->error);
            rc = fail_rc(&x, EXIT_DATA, err);
        }
    x.plan_of = calloc(x.ds.n + 1, sizeof(int));
    for (size_t i = 0; x.plan_of && i < x.ds.n; i++)
        x.plan_of[i] = -1;

    /* an interrupted run? */
    int resume = 0;
    if (!rc && access(jpath, F_OK) == 0) {
        void *blob = NULL;
        size_t blen = 0;
        ibc_status st = ibc_journal_open(jpath, &x.j, &blob, &blen);
        if (st == IBC_ERR_FORMAT) {
            /* torn while being created: nothing was changed yet */
            cli_info(g, "%s: removing an incomplete journal from an interrupted start",
                     o->command);
            unlink(jpath);
        } else if (st != IBC_OK) {
            rc = fail_rc(&x, EXIT_ENV, "cannot open the journal");
        } else if (plan_parse(&x, blob, blen, err, sizeof(err))) {
            char m[1200];
            snprintf(m, sizeof(m), "%.500s holds an interrupted run that differs from this one: %.500s."
                                   " Run that command again to finish it.", jpath, err);
            rc = fail_rc(&x, EXIT_USAGE, m);
        } else {
            resume = 1;
            /* journal slots name files by their index in the dataset */
            int *fds = calloc(x.ds.n + 2 * x.naria + 1, sizeof(int));
            for (size_t i = 0; fds && i < x.ds.n; i++)
                fds[i] = x.ds.v[i].fd;
            for (size_t i = 0; fds && i < x.naria; i++) {
                fds[x.ds.n + i] = x.aria[i].fd;
                fds[x.ds.n + x.naria + i] = x.aria[i].dfd;
            }
            unsigned restored = 0;
            if (!fds ||
                ibc_journal_rollback(x.j, fds, x.ds.n + 2 * x.naria, &restored) != IBC_OK)
                rc = fail_rc(&x, EXIT_ENV, "rolling back the interrupted run failed");
            else
                cli_info(g, "%s: resuming an interrupted run (%u ranges rolled back)",
                         o->command, restored);
            free(fds);
            /* a log caught half re-keyed: its original bytes back from the undo copy */
            if (!rc && x.redo_planned) {
                ds_file *d = &x.ds.v[x.redo_ds];
                int r = redo_undo_restore(e, o->dir, d->fd, err, sizeof(err));
                if (r < 0) {
                    rc = fail_rc(&x, EXIT_ENV, err);
                } else if (r > 0) {
                    cli_info(g, "%s: the redo log was put back as it was before the "
                                "interrupted run", o->command);
                    ds_redo_reopen(&x.ds, d);
                    if (d->rf->error[0])
                        rc = fail_rc(&x, EXIT_DATA, d->rf->error);
                }
            }
        }
        free(blob);
    }

    if (!rc && !resume) {
        char up[PATH_MAX];
        snprintf(up, sizeof(up), "%s/" REDO_UNDO_NAME, o->dir);
        if (access(up, F_OK) == 0) {
            snprintf(err, sizeof(err), "%.400s exists without a journal (not left by ibdcrypt); "
                                       "remove it to go on", up);
            rc = fail_rc(&x, EXIT_USAGE, err);
        }
    }

    /* the plan: every encrypted tablespace, with the keys it needs */
    size_t already = 0;
    if (!rc && !resume) {
        x.ps = calloc(x.ds.n + 1, sizeof(plan_space));
        for (size_t i = 0; x.ps && i < x.ds.n; i++) {
            ds_file *d = &x.ds.v[i];
            ibc_space_info info;
            if (!d->space || !d->space_owned)
                continue;
            ibc_space_get_info(d->space, &info);
            if (info.crypt_scheme != 1)
                continue;
            if (d->rf->key_state == REP_KEY_MISSING) {
                snprintf(err, sizeof(err), "key id %u (needed by %s) is not in the current "
                                           "keys: nothing written", info.key_id, d->f->rel);
                rc = fail_rc(&x, EXIT_ENV, err);
                break;
            }
            if (d->rf->key_state == REP_KEY_MISMATCH) {
                if (opens_with(d, x.newkr)) {
                    already++;
                    continue; /* a finished earlier run: the new keys open it */
                }
                snprintf(err, sizeof(err), "the current key id %u does not decrypt %s: "
                                           "nothing written", info.key_id, d->f->rel);
                rc = fail_rc(&x, EXIT_DATA, err);
                break;
            }
            plan_space *p = &x.ps[x.nps++];
            p->ds = i;
            p->space_id = info.space_id;
            p->key_id = info.key_id;
        }
    }
    /* tablespaces whose crypt data the pending redo writes keep their IV (rewrap: they are
     * re-encrypted instead) */
    if (!rc && !resume)
        rc = redo_prescan(&x);
    /* every key id must be in the new keys; then the old and target twins of each space */
    for (size_t i = 0; !rc && i < x.nps; i++) {
        plan_space *p = &x.ps[i];
        ds_file *d = &x.ds.v[p->ds];
        ibc_space_info info;
        ibc_space_get_info(d->space, &info);
        uint8_t probe[IBC_KEY_MAX];
        size_t plen;
        if (ibc_keyring_get(x.newkr, info.key_id, 1, probe, &plen) != IBC_OK) {
            snprintf(err, sizeof(err), "key id %u (needed by %s) is not in %s: nothing written",
                     info.key_id, d->f->rel, o->to_keyfile);
            rc = fail_rc(&x, EXIT_ENV, err);
            break;
        }
        explicit_bzero(probe, sizeof(probe));
        if (!resume) {
            memcpy(p->orig_iv, info.crypt_iv, 16);
            p->algo = info.algorithm == IBC_ALGO_CTR ? IBC_ALGO_CTR : IBC_ALGO_CBC;
        }
        ibc_status st = ibc_space_derive(d->space, keys->kr, IBC_REKEY_REENCRYPT, p->algo,
                                         p->orig_iv, &p->old);
        /* re-encryption takes a fresh crypt-data IV, hence a page key new even where the key
         * is not; one the pending redo writes into page 0 again stays (redo_prescan) */
        if (!resume)
            p->reenc = p->keep_iv || o->mode == IBC_REKEY_REENCRYPT;
        else
            p->reenc = o->mode == IBC_REKEY_REENCRYPT || !memcmp(p->orig_iv, p->target_iv, 16);
        if (st == IBC_OK && !resume && p->reenc && p->keep_iv)
            memcpy(p->target_iv, p->orig_iv, 16);
        else if (st == IBC_OK && !resume && p->reenc && o->iv_seed)
            derive_iv(o->iv_seed, p->space_id, p->target_iv);
        else if (st == IBC_OK && !resume && p->reenc &&
                 getrandom(p->target_iv, 16, 0) != 16)
            st = IBC_ERR_IO;
        if (st == IBC_OK && !resume && !p->reenc)
            st = ibc_space_derive(p->old, x.newkr, IBC_REKEY_REWRAP, IBC_ALGO_AUTO, NULL,
                                  &p->target);
        else if (st == IBC_OK)
            st = ibc_space_derive(p->old, x.newkr, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO,
                                  p->target_iv, &p->target);
        if (st == IBC_OK && !resume && !p->reenc) {
            ibc_space_info ti;
            ibc_space_get_info(p->target, &ti);
            memcpy(p->target_iv, ti.crypt_iv, 16);
        }
        if (st != IBC_OK) {
            snprintf(err, sizeof(err), "%s: %s", d->f->rel, ibc_strerror(st));
            rc = fail_rc(&x, EXIT_ENV, err);
        }
    }
    /* the redo log */
    if (!rc)
        rc = plan_redo(&x, resume, &already);
    int redo_todo = x.redo_planned && !x.redo_done;
    /* the Aria tables encrypted with key 1: re-keyed in the same run */
    if (!rc && !resume)
        rc = plan_aria(&x, x.nps > 0 || redo_todo);
    /* the binary logs encrypted with key 1: re-encrypted once the journal is there, before the
     * pages */
    if (!rc)
        rc = binlog_scan(&x);
    /* continuation files of the system tablespace follow ibdata1's plan */
    for (size_t i = 0; !rc && i < x.ds.n; i++) {
        ds_file *d = &x.ds.v[i];
        for (size_t k = 0; k < x.nps; k++)
            if (x.ds.v[x.ps[k].ds].space == d->space && d->innodb)
                x.plan_of[i] = (int)k;
    }
    if (!rc && !x.nps && !redo_todo && !x.aria_planned && !x.bl_todo && !resume) {
        if (already)
            cli_info(g, "%s: the %zu encrypted files in %s already open with the keys in "
                        "%s: nothing to do", o->command, already, o->dir, o->to_keyfile);
        else
            cli_info(g, "%s: no encrypted tablespace in %s: nothing to do", o->command, o->dir);
        goto done;
    }
    if (!rc && already && (x.nps || redo_todo)) {
        snprintf(err, sizeof(err), "%zu files already open with the new keys and %zu "
                                   "with the current ones, with no interrupted run to finish: "
                                   "nothing written", already, x.nps + (size_t)redo_todo);
        rc = fail_rc(&x, EXIT_DATA, err);
    }
    ibc_pool_file *pf = calloc(x.ds.n + 1, sizeof(*pf));
    x.ds.pool_map = calloc(x.ds.n + 1, sizeof(size_t));
    if (!rc && (!pf || !x.ds.pool_map))
        rc = EXIT_ENV;
    /* the page work: the tablespaces whose pages are re-encrypted */
    size_t npf = 0;
    for (size_t i = 0; !rc && i < x.ds.n; i++)
        if (x.plan_of[i] >= 0 && x.ps[x.plan_of[i]].reenc && x.ds.v[i].fd >= 0) {
            /* held exclusively (journal lock, no server): holes need not be read */
            pf[npf] = (ibc_pool_file){x.ds.v[i].fd, x.ds.v[i].f->size, x.ds.v[i].unit, 1};
            x.ds.pool_map[npf++] = i;
        }
    uint64_t total = 0;
    for (size_t i = 0; i < npf; i++)
        total += pf[i].size;
    /* workers only for page work: a rewrap writes a page per tablespace, and loading the
     * topology would cost it more than its writes */
    if (!rc && npf)
        rc = dataset_pool(&x.ds);
    progress pr;
    unsigned nthreads = x.ds.pool ? ibc_pool_threads(x.ds.pool) : 1;
    x.rep.threads = nthreads;

    /* first run: every page to re-encrypt checked with the current keys before any write */
    if (!rc && !resume && npf) {
        progress_start(&pr, g, "check", total);
        x.ds.pr = &pr;
        x.ds.op = IBC_OP_VERIFY_DEEP;
        ibc_pool_job job = {pf, npf, check_work, NULL, &x.ds};
        int prc = ibc_pool_run(x.ds.pool, &job);
        progress_end(&pr);
        if (prc) {
            rc = fail_rc(&x, EXIT_ENV, prc < 0 ? strerror(-prc) : "check stopped");
        } else if (atomic_load(&x.ds.bad)) {
            for (size_t i = 0; i < x.ds.n; i++)
                report_file_done(&x.rep, x.ds.v[i].rf);
            rc = fail_rc(&x, EXIT_DATA, "bad pages (listed above): nothing written");
        } else {
            /* the re-key need not decompress page_compressed pages again (the files are
             * held: nothing changes them in between) */
            x.checked = 1;
        }
    }
    /* and the pages of the Aria tables to re-encrypt */
    if (!rc && !resume && aria_pages(&x, 1)) {
        char m[1200];
        snprintf(m, sizeof(m), "%s: nothing written", x.failure);
        rc = fail_rc(&x, EXIT_DATA, m);
    }
    if (!rc && o->dry_run) {
        /* the log's re-key computed and checked, nothing handed out to write */
        ibc_redo_result res;
        if (redo_todo && ibc_redo_rekey(x.ds.v[x.redo_ds].redo, x.redo_t, NULL, NULL, &res, err,
                                        sizeof(err)) != IBC_OK) {
            rc = fail_rc(&x, EXIT_DATA, err);
            goto done_pool;
        }
        char ar[64] = "", bl[64] = "";
        size_t nare = 0;
        for (size_t i = 0; i < x.naria; i++)
            nare += x.aria[i].planned && x.aria[i].reenc;
        if (x.aria_planned)
            snprintf(ar, sizeof(ar), " (and %zu Aria tables re-%s)", x.aria_planned,
                     nare == x.aria_planned ? "encrypted" : nare ? "keyed" : "wrapped");
        if (x.bl_todo)
            snprintf(bl, sizeof(bl), " (and %zu binary logs re-encrypted)", x.bl_todo);
        cli_info(g, "%s --dry-run: %zu encrypted tablespaces%s would be %s%s%s for %s; nothing "
                    "written", o->command, x.nps, redo_todo ? " and the redo log" : "",
                 o->mode == IBC_REKEY_REWRAP ? "re-wrapped" : "re-encrypted", ar, bl,
                 o->to_keyfile);
        goto done_pool;
    }
    if (!rc && !resume && plan_heads(&x))
        rc = fail_rc(&x, EXIT_ENV, x.failure);
    if (!rc && !resume) {
        size_t blen;
        char *blob = plan_text(&x, &blen);
        size_t slot = (size_t)1 << 20;
        /* slots for the page workers, and enough for the heads to go in a few batches (the
         * file is sparse: unused slots take no space) */
        unsigned heads = (unsigned)(x.nps + 1 < 256 ? x.nps + 1 : 256);
        ibc_status st = ibc_journal_create(jpath, blob, blen,
                                           2 * nthreads + 2 + heads,
                                           slot + 65536, &x.j);
        free(blob);
        if (st != IBC_OK)
            rc = fail_rc(&x, st == IBC_ERR_NOSPACE ? EXIT_ENV : EXIT_ENV,
                         st == IBC_ERR_NOSPACE ? "no space for the journal: nothing written"
                                               : "cannot create the journal: nothing written");
    }
    for (size_t i = 0; !rc && i < x.ds.n; i++)
        if (x.plan_of[i] >= 0)
            ibc_journal_add_fd(x.j, (unsigned)i, x.ds.v[i].fd);
    for (size_t i = 0; !rc && i < x.naria; i++)
        if (x.aria[i].planned) {
            ibc_journal_add_fd(x.j, (unsigned)(x.ds.n + i), x.aria[i].fd);
            if (x.aria[i].reenc && x.aria[i].dfd >= 0)
                ibc_journal_add_fd(x.j, (unsigned)(x.ds.n + x.naria + i), x.aria[i].dfd);
        }
    /* every check passed and the journal is there (so that a stop from here on says to run the
     * command again): the binary logs, each whole or not at all (a re-run sees which) */
    if (!rc && x.bl_todo)
        rc = binlog_run(&x);
    if (!rc && npf && x.plan_id[0]) {
        x.mcrc = calloc(x.ds.n + 1, sizeof(fc_file));
        x.nmcrc = x.mcrc ? x.ds.n : 0;
        for (size_t i = 0; i < x.nmcrc; i++)
            fc_file_init(&x.mcrc[i]);
    }
    if (!rc && npf) {
        unsigned nw = ibc_pool_threads(x.ds.pool);
        x.out = calloc(nw, sizeof(uint8_t *));
        x.nout = x.out ? nw : 0;
        for (unsigned w = 0; x.out && w < nw; w++)
            x.out[w] = malloc(((size_t)1 << 20) * 17 / 16 + 65536 * 2);
        progress_start(&pr, g, o->command, total);
        x.ds.pr = &pr;
        ibc_pool_job job = {pf, npf, rk_work, NULL, &x};
        int prc = ibc_pool_run(x.ds.pool, &job);
        progress_end(&pr);
        if (prc) {
            if (!x.failure[0])
                snprintf(x.failure, sizeof(x.failure), "%s", prc < 0 ? strerror(-prc) : "stopped");
            rc = fail_rc(&x, prc == -ENOSPC ? EXIT_ENV : prc > 0 ? EXIT_DATA : EXIT_ENV,
                         x.failure);
        }
    }
    /* the doublewrite copies follow their re-encrypted pages (rewrap keeps the page keys),
     * and the copies of page 0 their new IVs */
    size_t dblwr = 0;
    if (!rc && rekey_doublewrite(&x, &dblwr))
        rc = fail_rc(&x, EXIT_ENV, x.failure[0] ? x.failure : "doublewrite copies: out of memory");
    /* reencrypt: the log, whole or not at all (redojob.h), before the page 0s; rewrap changes
     * only its header, which goes with the page 0s */
    if (!rc && redo_todo && o->mode == IBC_REKEY_REENCRYPT) {
        ds_file *d = &x.ds.v[x.redo_ds];
        ibc_redo_info ri;
        ibc_redo_get_info(d->redo, &ri);
        progress_start(&pr, g, "redo log", ri.pending_bytes + 512);
        ibc_status st = redo_rekey_apply(e, d->redo, x.redo_t, d->fd, o->dir, &pr,
                                         &x.redo_written, err, sizeof(err));
        progress_end(&pr);
        if (st != IBC_OK)
            rc = fail_rc(&x, cli_exit_for(st), err);
    }
    if (!rc && aria_pages(&x, 0))
        rc = fail_rc(&x, EXIT_ENV, x.failure);
    if (!rc && write_heads(&x))
        rc = fail_rc(&x, EXIT_ENV, x.failure);
    if (!rc && o->update_backup_cnf && update_backup_cnf(&x))
        rc = fail_rc(&x, EXIT_ENV, "cannot update backup-my.cnf");
    if (!rc && sync_written(&x))
        rc = fail_rc(&x, EXIT_ENV, "fsync failed");
    if (!rc && update_manifest(&x))
        rc = fail_rc(&x, EXIT_ENV, x.failure);
    if (!rc) {
        ibc_journal_finish(x.j);
        x.j = NULL;
        double secs = (double)(progress_now_ns() - t0) / 1e9;
        if (g->json)
            printf("{\"command\":\"%s\",\"mode\":\"%s\",\"tablespaces\":%zu,"
                   "\"pages_rewritten\":%llu,\"pages_already_done\":%llu,\"bytes\":%llu,"
                   "\"seconds\":%.3f,\"resumed\":%s,\"redo_log\":\"%s\","
                   "\"redo_bytes_rewritten\":%llu,\"doublewrite_copies_rewritten\":%zu,"
                   "\"aria_tables_rewrapped\":%zu,\"aria_tables_reencrypted\":%zu,"
                   "\"aria_pages_rewritten\":%llu,\"binary_logs_reencrypted\":%zu,"
                   "\"relay_logs_reencrypted\":%zu,\"manifest\":\"%s\",\"verdict\":\"ok\"}\n",
                   o->command, modename, x.nps, (unsigned long long)atomic_load(&x.changed),
                   (unsigned long long)atomic_load(&x.skipped_done), (unsigned long long)total,
                   secs, resume ? "true" : "false", x.redo_state ? x.redo_state : "absent",
                   (unsigned long long)x.redo_written, dblwr, x.aria_planned - x.aria_reenc,
                   x.aria_reenc, (unsigned long long)x.aria_pages, x.bl_done,
                   x.bl_relay_done, x.mf_state ? x.mf_state : "none");
        size_t nre = 0;
        for (size_t i = 0; i < x.nps; i++)
            nre += x.ps[i].reenc;
        char what[96];
        if (nre && nre < x.nps)
            snprintf(what, sizeof(what), "re-wrapped (%zu re-encrypted)", nre);
        else
            snprintf(what, sizeof(what), "%s", nre ? "re-encrypted" : "re-wrapped");
        char ar[320] = "";
        size_t arl = 0;
        if (x.aria_reenc)
            arl = (size_t)snprintf(ar, sizeof(ar), "; %zu Aria tables re-encrypted (%llu pages)",
                                   x.aria_reenc, (unsigned long long)x.aria_pages);
        if (x.aria_planned > x.aria_reenc)
            arl += (size_t)snprintf(ar + arl, sizeof(ar) - arl,
                                    "; %zu Aria tables re-wrapped (their pages keep their page "
                                    "key%s)", x.aria_planned - x.aria_reenc,
                                    o->mode == IBC_REKEY_REENCRYPT ? ": no page checksums" : "");
        if (x.bl_done) {
            arl += (size_t)snprintf(
                ar + arl, sizeof(ar) - arl, "; %zu binary log%s re-encrypted (%.1f %s",
                x.bl_done, x.bl_done == 1 ? "" : "s",
                (double)x.bl_bytes / (x.bl_bytes < (1u << 20) ? 1024.0 : 1048576.0),
                x.bl_bytes < (1u << 20) ? "KiB" : "MiB");
            if (x.bl_relay_done)
                arl += (size_t)snprintf(ar + arl, sizeof(ar) - arl, "; %zu of them relay log%s",
                                        x.bl_relay_done, x.bl_relay_done == 1 ? "" : "s");
            snprintf(ar + arl, sizeof(ar) - arl, ")");
        }
        cli_info(g, "%s: %zu encrypted tablespaces %s for the keys in %s (%llu pages "
                    "rewritten, page 0 of each, %zu doublewrite copies)%s; redo log: %s%s%s in "
                    "%.2f s%s",
                 o->command, x.nps, what, o->to_keyfile,
                 (unsigned long long)atomic_load(&x.changed), dblwr, ar,
                 x.redo_state ? x.redo_state : "absent",
                 !strcmp(x.redo_state ? x.redo_state : "", "already") ? " (re-keyed before)" : "",
                 x.mf_state && !strcmp(x.mf_state, "updated") ? "; the backup's manifest updated"
                                                               : "",
                 secs, resume ? " (an interrupted run finished)" : "");
    }
done_pool:
    free(pf);
done:
    if (x.j && rc && rc != EXIT_USAGE && access(jpath, F_OK) == 0)
        cli_err("%s: stopped part-way; %s keeps what is needed: once the cause is removed, run "
                "the same command again to finish (the result is the same as an uninterrupted "
                "run's)",
                o->command, jpath);
    if (x.j)
        ibc_journal_close(x.j); /* a re-run resumes */
    report_free(&x.rep);
    dataset_close(&x.ds);
    free_rk(&x);
    ibc_engine_free(e);
    for (int i = 0; i < 2; i++)
        if (x.srvlock[i] >= 0)
            close(x.srvlock[i]); /* a server may start on it now */
    if (lockfd >= 0)
        close(lockfd); /* releases the directory */
    return rc;
}
