/*
 * binlogjob.h - the binary logs' part of a re-key job (prepare, rekey): a binary log written
 * with encrypt_binlog=ON is encrypted with key id 1 itself, so a new key 1 means re-encrypting
 * every event (engine/binlog.c), in both modes.
 *
 * Each log is written whole to NAME.ibdcrypt-new beside it (owner and mode kept), made
 * durable, then renamed over NAME: a crash at any instant leaves NAME either as it was or
 * re-keyed, and which key 1 opens its first encrypted event tells which, so a re-run does what
 * is left. Nothing about them goes through the page journal.
 */
#ifndef IBC_BINLOGJOB_H
#define IBC_BINLOGJOB_H

#include <stddef.h>
#include <stdint.h>

#include "datadir.h"
#include "ibdcrypt/ibdcrypt.h"
#include "progress.h"

#define BINLOG_TMP_SUFFIX ".ibdcrypt-new"

/* What a file of a datadir is to the binary-log work: 0 nothing (not an encrypted binary log,
 * or a NAME.ibdcrypt-new an interrupted run left), 1 an encrypted binary log, 2 an encrypted
 * relay log (a replica's: the same format, events carrying their primary's positions). */
int binlog_kind(const df_file *f);

typedef struct bl_file {
    const char *path, *rel;
    ibc_binlog b;
    ibc_algo algo; /* the key plugin's cipher, found by trial */
    int todo;      /* the current key 1 opens it (else: the new one, or nothing encrypted) */
    uint64_t size;
} bl_file;

/* Which key 1 opens the binary log at bf->path (bf->path, bf->rel set by the caller; a relay
 * log is told by its name): fills the rest of bf (todo: cur opens it). neu may be NULL (a
 * check: cur must open it). Returns 0; -1 unreadable, or not an encrypted binary log; -2 no
 * key opens it; -3 a relay log without event checksums, where nothing tells (a message in
 * why). */
int binlog_state(const ibc_engine *e, bl_file *bf, const ibc_keyring *cur, const ibc_keyring *neu,
                 char *why, size_t whylen);

/* What a re-key met in a log besides sound events (each is copied or re-keyed so that the
 * server reads with the new keys what it read with the old ones). */
typedef struct bl_result {
    int torn;               /* the last event is cut short by the end of the file (a crash while
                             * the server wrote it): copied as it is */
    uint64_t unframed;      /* an impossible event length at this offset (0 none): from there on,
                             * copied as it is */
    uint64_t unsound;       /* events that did not decrypt to a sound event (damaged
                             * before): re-keyed all the same (the same damage under the new
                             * key) */
    uint64_t first_unsound; /* (binlog_check_file) the offset of the first of them */
    uint64_t events;        /* (binlog_check_file) encrypted events checked */
} bl_result;

/* Re-key one binary log from key 1 of cur to key 1 of neu (through NAME.ibdcrypt-new and a
 * rename). pr may be NULL. Returns 0, or -errno (cannot read, write, rename) with a message
 * in why and the log as it was. */
int binlog_rekey_file(const ibc_engine *e, const bl_file *bf, const ibc_keyring *cur,
                      const ibc_keyring *neu, progress *pr, bl_result *res, char *why,
                      size_t whylen);

/* Decrypt and check every encrypted event of a binary log with key 1 of kr (bf from
 * binlog_state; nothing is written). pr may be NULL. Returns 0, or -errno with a message in
 * why. */
int binlog_check_file(const ibc_engine *e, const bl_file *bf, const ibc_keyring *kr, progress *pr,
                      bl_result *res, char *why, size_t whylen);

#endif
