/*
 * rekeyjob.h - what `prepare` (a backup) and `rekey` (a stopped server's datadir) share: move
 * every encrypted tablespace of a directory from the current keys to new keys, in place,
 * crash-safe and resumable through an undo journal.
 */
#ifndef IBC_REKEYJOB_H
#define IBC_REKEYJOB_H

#include "keyopts.h"

typedef struct rekey_opts {
    const char *command;      /* "prepare" or "rekey" */
    const char *dir;          /* the backup or the datadir */
    const char *to_keyfile;   /* --to-keyfile */
    const char *to_filekey;   /* --to-keyfile-key (FILE:/ENV:) */
    ibc_rekey_mode mode;
    const char *iv_seed;      /* --deterministic-iv=SEED (testing: reproducible new IVs) */
    int update_backup_cnf;    /* prepare: point backup-my.cnf at the new key file */
    int dry_run;              /* check everything, write nothing */
} rekey_opts;

/* Parse the options both commands share; returns 1 if argv[*i] was one, 0 if not, -1 on a
 * bad value (message printed). */
int rekey_option(rekey_opts *o, cli_keys *keys, int argc, char **argv, int *i);

/* Run the job; returns the exit code. */
int rekey_run(cli_global *g, rekey_opts *o, cli_keys *keys);

extern const char rekey_help_common[];

#endif
