/*
 * redojob.h - the redo log's part of a re-key job (prepare, rekey): an undo copy of every byte
 * of ib_logfile0 the re-key will change, made durable before the first of them is written, so
 * that a crash at any instant leaves either the whole log as it was (the copy is put back and
 * the job runs again) or the whole log re-keyed (the copy is gone).
 *
 * The log cannot go through the page journal's slots: after a crash a half re-keyed log would
 * hold mini-transactions under both keys, and nothing in them says which. The copy holds the
 * 512-byte header and the ring bytes from the checkpoint to the end of the log (the pending
 * redo; at most the log's capacity), in the directory being re-keyed.
 */
#ifndef IBC_REDOJOB_H
#define IBC_REDOJOB_H

#include <stddef.h>
#include <stdint.h>

#include "ibdcrypt/ibdcrypt.h"
#include "progress.h"

#define REDO_UNDO_NAME ".ibdcrypt-redo-undo"

/* A found undo copy of an interrupted run: if complete, write its bytes back into the log (fd)
 * and fsync it; then remove the copy. Returns 1 (restored), 0 (none, or an incomplete copy,
 * which means the log was not touched yet), -1 (error, message in err). */
int redo_undo_restore(const ibc_engine *e, const char *dir, int fd, char *err, size_t errlen);

/* Re-key the log: the undo copy, then ibc_redo_rekey writing into fd, fsync, the copy removed.
 * r must have been scanned (ibc_redo_verify). *written receives the bytes changed. Returns
 * IBC_OK or an error with a message in err; on error the undo copy stays (a re-run restores
 * it). */
ibc_status redo_rekey_apply(const ibc_engine *e, ibc_redo *r, const ibc_redo_target *t, int fd, const char *dir,
                            progress *pr, uint64_t *written, char *err, size_t errlen);

#endif
