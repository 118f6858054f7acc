/*
 * report.h - per-file page counts, bad pages and notes, printed as text lines while the work
 * goes on or as one JSON document at the end (design.md, "The CLI": JSON fields). Keys are
 * named by fingerprint only.
 */
#ifndef IBC_REPORT_H
#define IBC_REPORT_H

#include <pthread.h>

#include "cli.h"
#include "datadir.h"

#define REP_MAX_LISTED 1000 /* bad pages listed per file (all are counted) */

enum rep_key_state {
    REP_KEY_NA = 0,   /* not encrypted, or not a deep check */
    REP_KEY_NONE,     /* deep check without any key file */
    REP_KEY_MISSING,  /* the key file lacks this key id */
    REP_KEY_UNPROVEN, /* key attached, no encrypted page could prove it */
    REP_KEY_OK,
    REP_KEY_MISMATCH
};

typedef struct rep_bad {
    uint64_t page;
    uint16_t status;
} rep_bad;

typedef struct rep_file {
    const df_file *f;
    int have_space;
    ibc_space_info info;
    char fingerprint[IBC_FINGERPRINT_LEN + 1];
    uint64_t status[IBC_PAGE_STATUS_COUNT];
    uint64_t encrypted; /* pages that were encrypted (any status) */
    rep_bad *bad;
    size_t nbad, capbad;
    uint64_t nbad_total;
    char *notes;
    char error[512];
    int env_error; /* the error is the environment's (I/O), not the data's */
    int key_state;
    int uninitialized;
    char crc32c[9]; /* of the whole file, when a command computed it */
    /* ib_logfile0 */
    int have_redo;
    ibc_redo_info redo;
    ibc_redo_result redo_res; /* of the last check (bad_lsn names the first bad mtr) */
    int redo_checked;
    int redo_unchecked; /* an encrypted log a deep check could not decrypt (no key) */
    const char *not_checked; /* why this file was not checked at all (verdict "not-checked") */
    /* a binary log (1) or a relay log (2) encrypted with key id 1 whose events a deep check
     * decrypted */
    int have_binlog;
    uint64_t binlog_events;
    ibc_algo binlog_algo;
    /* an Aria table (its .MAI) encrypted with key id 1 whose pages (.MAD and .MAI) a deep check
     * decrypted */
    int have_aria;
    uint64_t aria_pages;
    ibc_algo aria_algo;
    pthread_mutex_t lock; /* rep_page from several workers */
} rep_file;

typedef struct report {
    const cli_global *g;
    const char *mode;
    const char *isa;
    unsigned threads;
    const ibc_keyring *kr;
    rep_file **files;
    size_t n, cap;
    int64_t start_ns;
    uint64_t bytes;
    FILE *out; /* where the report goes: stdout, or stderr when stdout carries data */
    int failed; /* the run stopped for a reason of the environment (report_failed) */
} report;

void report_init(report *r, const cli_global *g, const char *mode, const char *isa,
                 unsigned threads);
void report_set_keyring(report *r, const ibc_keyring *kr);
rep_file *report_file(report *r, const df_file *f);
void rep_space(rep_file *rf, const ibc_space *s);
void rep_page(rep_file *rf, const ibc_page *pg); /* thread-safe */
/* The redo log's state (res: the outcome of a check, or NULL before one). */
void rep_redo(rep_file *rf, const ibc_redo *r, const ibc_redo_result *res);
/* "enc-11 (MariaDB 10.11.19), key 1 version 1, AES_CTR, checkpoint LSN ..." for humans. */
void rep_redo_describe(const rep_file *rf, char *out, size_t n);
void rep_note(rep_file *rf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rep_error(rep_file *rf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, for an I/O problem (exit status 3 rather than 1). */
void rep_io_error(rep_file *rf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_file_done(report *r, rep_file *rf);
/* The run stopped short for a reason of the environment that the command has already named
 * (a file it could not create, a reader that went away): the summary's verdict is then
 * "error" and report_finish returns 3 unless the data's own verdict is worse. */
void report_failed(report *r);
/* Summary (text) or the whole JSON document; returns the exit code for the data: 0, or 1 when
 * bad pages exceed allow_bad or a key is wrong; 3 when encrypted pages could not be checked
 * for lack of a key. */
int report_finish(report *r, uint64_t allow_bad);
/* The whole report as one JSON document (what --json prints; also the backup manifest). extra:
 * more members for the top object (\"name\":value,...), or NULL. */
void report_json(const report *r, FILE *o, uint64_t allow_bad, const char *extra);
void report_free(report *r);

/* Names used in text and JSON. */
const char *rep_format_name(const ibc_space_info *i);
const char *rep_algo_name(ibc_algo a);
/* The page_compressed algorithm's name (zlib, lz4, lzo, lzma, bzip2, snappy). */
const char *rep_compression_name(int algo);
/* The format for text reports: rep_format_name, and for a page_compressed tablespace "+" its
 * algorithm (full_crc32: from the flags) or "+pc" (legacy: named on each page); in buf. */
const char *rep_format_label(const ibc_space_info *i, char *buf, size_t n);

#endif
