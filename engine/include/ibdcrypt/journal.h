/*
 * journal.h - an undo journal for in-place work (the doublewrite idea): before a range of a
 * file is overwritten, its original bytes are made durable in a journal slot; after a crash at
 * any instant, rolling back the slots in use puts every range back to either its old or its
 * new content, never a mix, and the interrupted command can simply run again. Part of the
 * public API of libibdcrypt; conventions as in ibdcrypt.h.
 *
 * Protocol for one range: ibc_journal_save (original bytes durable) -> overwrite the range
 * in the file (no fsync needed) -> ibc_journal_release. A released slot is reused only after
 * the journal has fsynced the files (ibc_journal_add_fd registers them), so a slot is never
 * lost while its range might still be torn. Fsyncs are shared by concurrent savers (group
 * commit). The command's own plan (what to do, with which IVs) is an opaque blob kept in the
 * journal's header, so a re-run after a crash does exactly the same work.
 */
#ifndef IBDCRYPT_JOURNAL_H
#define IBDCRYPT_JOURNAL_H

#include <sys/uio.h>

#include "ibdcrypt/ibdcrypt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ibc_journal ibc_journal;

#define IBC_JOURNAL_MAX_BLOB (1u << 20)

/* Create a new journal at path (which must not exist): nslots slots of slot_bytes each, the
 * blob in its header; everything durable (file and directory fsynced) on return. */
IBC_API ibc_status ibc_journal_create(const char *path, const void *blob, size_t blob_len,
                                      unsigned nslots, size_t slot_bytes, ibc_journal **out);

/* Open an existing journal (a previous run stopped): *blob (malloc'ed, caller frees) receives
 * the header blob. IBC_ERR_FORMAT if it is not a journal or its header is damaged (a crash
 * while creating it: nothing was written to the data yet, so the file can be removed). */
IBC_API ibc_status ibc_journal_open(const char *path, ibc_journal **out, void **blob,
                                    size_t *blob_len);

/* Roll back: write the original bytes of every slot in use back to file fds[slot's file],
 * fsync those files, clear the slots. *restored receives the number of ranges put back. */
IBC_API ibc_status ibc_journal_rollback(ibc_journal *j, const int *fds, size_t nfds,
                                        unsigned *restored);

/* Register a data file (index = the `file` of save) to be fsynced before slots are reused. */
IBC_API void ibc_journal_add_fd(ibc_journal *j, unsigned file, int fd);

/* Save the original bytes of a range (iov, total <= slot_bytes) of file `file` at `offset`;
 * durable on return. Waits for a free slot. *slot identifies it for release. Thread-safe. */
IBC_API ibc_status ibc_journal_save(ibc_journal *j, unsigned file, uint64_t offset,
                                    const struct iovec *iov, int n, unsigned *slot);

/* How many slots the journal has. */
IBC_API unsigned ibc_journal_nslots(const ibc_journal *j);

/* Several ranges at once (of any files), each in a slot of its own, made durable by one
 * fdatasync: for many small ranges (page 0 of every tablespace). n <= the number of slots;
 * slots[i] receives the slot of range i, to release each. Slots are taken one by one: do not
 * call it while other threads hold slots. */
typedef struct ibc_journal_range {
    unsigned file;
    uint64_t offset;
    const void *data;
    size_t len;
} ibc_journal_range;
IBC_API ibc_status ibc_journal_save_many(ibc_journal *j, const ibc_journal_range *r, unsigned n,
                                         unsigned *slots);

/* The range of `slot` has been overwritten (not necessarily durable yet). Thread-safe. */
IBC_API void ibc_journal_release(ibc_journal *j, unsigned slot);

/* The data is complete and fsynced by the caller: remove the journal (and fsync its directory).
 * Frees j. */
IBC_API ibc_status ibc_journal_finish(ibc_journal *j);

/* Close without removing (an error stopped the command; a re-run resumes). Frees j. */
IBC_API void ibc_journal_close(ibc_journal *j);

/* Testing hook: when the environment variable IBDCRYPT_CRASH_POINT is "NAME:N", the N-th call
 * of ibc_crash_point("NAME") kills the process with SIGKILL (a crash at a chosen instant);
 * "NAME:N:stop" stops it there instead (SIGSTOP), for a test to look at it mid-run. The
 * journal's own points: "journal-save" (slot written, not yet fsynced), "journal-saved". */
IBC_API void ibc_crash_point(const char *name);

#ifdef __cplusplus
}
#endif
#endif
