/*
 * keyopts.h - the key options every command shares: --keyfile, --keyfile-key, --algorithm,
 * --defaults-file. A key is never taken on the command line itself.
 */
#ifndef IBC_KEYOPTS_H
#define IBC_KEYOPTS_H

#include "cli.h"
#include "mycnf.h"

typedef struct cli_keys {
    const char *keyfile;      /* --keyfile */
    const char *filekey;      /* --keyfile-key: FILE:path or ENV:VAR */
    const char *defaults;     /* --defaults-file */
    ibc_algo algo;            /* --algorithm, or from the option file; AUTO otherwise */
    mycnf cnf;                /* what --defaults-file said */
    ibc_keyring *kr;          /* loaded keys, or NULL when none were given */
} cli_keys;

/* If argv[*i] is a key option, consume it (and its value) and return 1; 0 if it is not one;
 * -1 (message printed) for a bad value. */
int cli_keys_option(cli_keys *k, int argc, char **argv, int *i);

/* Read --defaults-file (if given) and load the key file (if any). Returns 0 or an exit code
 * (message printed). After it, k->kr is NULL when no key file was named anywhere. */
int cli_keys_load(cli_keys *k);

/* The datadir named by --defaults-file, or NULL. */
const char *cli_keys_datadir(const cli_keys *k);

/* The usage error of a command that found no datadir: "CMD: give WHAT", and when a
 * --defaults-file was given, that it names none (a distribution's my.cnf often leaves the
 * server's built-in default in force). */
void cli_keys_no_datadir(const cli_keys *k, const char *cmd, const char *what);

void cli_keys_free(cli_keys *k);

/* The help text lines for these options. */
extern const char cli_keys_help[];

#endif
