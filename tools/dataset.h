/*
 * dataset.h - the files of a datadir (or backup) opened once for a command: each InnoDB file
 * with its tablespace (page 0 parsed, keys attached, the algorithm settled by a trial
 * decryption), the system tablespace's continuation files chained to ibdata1, everything else
 * as plain files, the redo log with its key; and the page work every command shares (a batch per pool item, torn-page
 * re-reads, the report). Commands add their own output around it.
 */
#ifndef IBC_DATASET_H
#define IBC_DATASET_H

#include <stdatomic.h>

#include "datadir.h"
#include "ibdcrypt/pool.h"
#include "keyopts.h"
#include "progress.h"
#include "report.h"

typedef struct ds_file {
    const df_file *f;
    int fd;
    int innodb;          /* a tablespace file (its pages are checked) */
    ibc_space *space;    /* NULL for other files, or when page 0 could not be parsed */
    int space_owned;     /* ibdata2.. borrow ibdata1's space */
    uint64_t first_page; /* page number of the file's first page */
    uint32_t unit;       /* page size, or 1 */
    rep_file *rf;
    void *out;           /* the command's per-file output state */
    ibc_redo *redo;      /* ib_logfile0: the log, its key attached when the keys open it */
} ds_file;

enum {
    DS_DEEP = 1,     /* decrypt and check every encrypted page (needs keys) */
    DS_WRITABLE = 2, /* open the files read-write (in-place commands) */
    DS_ALL = 4,      /* include every file, not only InnoDB ones (backup) */
    DS_RETRY = 8,    /* re-read pages that fail a checksum (a live or torn source) */
    DS_INSIDE = 16,  /* a backup changed in place: no symbolic link or .isl may lead out of it */
};

typedef struct dataset {
    const cli_global *g;
    const ibc_engine *e;
    cli_keys *keys;
    int flags;
    ds_file *v;
    size_t n;
    df_list files;
    report *rep;
    progress *pr;
    ibc_pool *pool;
    ibc_scratch **scratch; /* per worker */
    ibc_op op;             /* the batch operation of ds_work_pages */
    size_t *pool_map;      /* pool file index -> ds file index */
    _Atomic uint64_t bad;  /* pages with a bad status so far */
} dataset;

/* Scan the paths and open every file (flags DS_*). Per-file problems go to the report (the
 * file's verdict becomes "error"); returns 0 or an exit code for a problem that stops the
 * command (nothing to work on, out of memory). */
int dataset_open(dataset *ds, const cli_global *g, const ibc_engine *e, cli_keys *keys,
                 char *const *paths, size_t npaths, int flags, report *rep);
void dataset_close(dataset *ds);

/* Create the pool (threads from --threads) and per-worker scratch. */
int dataset_pool(dataset *ds);

/* Fill pool files for the selected ds files (sel(ds_file) true); returns their count. */
size_t dataset_pool_files(dataset *ds, int (*sel)(const ds_file *), ibc_pool_file *out,
                          size_t *map);

/* What the page work learned about a unit's bytes as read, for a command that checksums
 * them (backup): nothing, that the last 4 bytes hold the CRC-32C of the rest (checked), or
 * that the unit is all zero (checked). */
enum { DS_SUM_NONE, DS_SUM_CRC_STORED, DS_SUM_ZERO };

/* Run ds->op over the pages of one pool item of file d (in place in buf when the op writes),
 * re-reading torn pages when DS_RETRY, recording every page in the report. sums (NULL, or
 * it->nunits entries) receives a DS_SUM_* per unit. */
void ds_work_pages(dataset *ds, unsigned worker, ds_file *d, const ibc_pool_item *it,
                   uint8_t *buf, const ibc_space *target, uint8_t *sums);

/* Is a tablespace of `bytes` (in pages of `unit`) shorter than its page 0's FSP_SIZE allows?
 * Then 1, with the error in why (several: the system tablespace's files together). */
int ds_size_short(uint32_t size_in_header, uint32_t unit, uint64_t bytes, int several, char *why,
                  size_t n);

/* The redo log just opened in d->redo: the system tablespace's page size (0: unknown) and the
 * log key from the keys (a known-plaintext check), its state in the report. */
void ds_redo_setup(dataset *ds, ds_file *d, uint32_t page_size);

/* Open the redo log of d again (after its bytes were put back from an undo copy). */
void ds_redo_reopen(dataset *ds, ds_file *d);

/* Check the redo log of d (every mini-transaction from the checkpoint to the end; deep:
 * decrypted and parsed) and record the outcome in its report line. Returns the engine's
 * status. */
ibc_status ds_redo_verify(dataset *ds, ds_file *d, int deep);

/* The journal prepare and rekey keep in the directory they change while they run
 * (rekeyjob.c); one left behind means a run stopped before it finished. */
#define DS_JOURNAL_NAME ".ibdcrypt-journal"

/* A journal of prepare or rekey among the files: its file (and in cmd the command it belongs
 * to, "prepare" or "rekey", or "prepare or rekey" when the journal cannot be read; *running:
 * that command still runs, holding the directory's lock, rather than having been
 * interrupted), or NULL. */
const df_file *dataset_interrupted(const dataset *ds, char *cmd, size_t n, int *running);

/* Does another process have one of the InnoDB files or the redo log open (a server whose
 * ibdata1 and log live elsewhere, which dataset_server_pid cannot see, or any other tool)?
 * Its pid (who: "process PID (NAME) has FILE open"), or 0. Reads /proc (Linux); what this user may
 * not read there is not seen. */
long dataset_open_elsewhere(const dataset *ds, char *who, size_t n);

/* Does a running server hold this datadir? (InnoDB takes fcntl write locks on ibdata1 and
 * ib_logfile0: os_file_lock.) Returns the pid holding a lock, or 0. */
long dataset_server_pid(const dataset *ds);

/* Who holds those locks, for messages: "a server (pid PID)", or for a lock that names no pid
 * (an open file description lock, as `ibdcrypt rekey` and `prepare` take) a process that may
 * be either. */
const char *dataset_lock_holder(long pid, char *buf, size_t n);

#endif
