/*
 * cli.h - what the subcommands of the ibdcrypt CLI share: global options, exit codes, output.
 *
 * Exit codes (design.md, "The CLI"): 0 all good; 1 the data has a problem (corrupt page, wrong
 * key, mismatch); 2 usage error; 3 environment error (I/O, missing key, server running, no
 * space).
 */
#ifndef IBC_CLI_H
#define IBC_CLI_H

#include <stdio.h>

#include "ibdcrypt/ibdcrypt.h"

enum { EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_ENV = 3 };

typedef struct cli_global {
    const char *isa;      /* --isa=, NULL = auto */
    int threads;          /* --threads= / --parallel=, 0 = all cores */
    int json;             /* --json */
    int quiet, verbose;   /* -q, -v */
    const char *progress; /* --progress=auto|none|json */
    int io_uring;         /* --io=io_uring */
} cli_global;

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(cli_global *g, int argc, char **argv); /* argv[0] = command name */
    void (*help)(FILE *out);
} cli_command;

/* Diagnostics on stderr, prefixed "ibdcrypt: ". */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_info(const cli_global *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Option parsing: returns 1 and sets *val when arg is "--name=VAL" or "--name" followed by a
 * value in argv (advancing *i). */
int cli_opt_value(const char *name, int argc, char **argv, int *i, const char **val);

/* Exit code for an ibc_status: data problems 1, environment 3, caller/usage 2. */
int cli_exit_for(ibc_status s);

/* fsync a file or directory by path (a directory after a create, rename or unlink in it).
 * Returns 0 or -1 (errno set). */
int cli_fsync_path(const char *path);

/* pwrite / pread of all n bytes at off, retrying EINTR and short transfers. Returns 0, or -1
 * with errno set (EIO when the file ends before n bytes were read or a write makes no
 * progress). */
int cli_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);
int cli_pread_all(int fd, void *buf, size_t n, uint64_t off);

/* JSON string output with escaping. */
void cli_json_str(FILE *out, const char *s);

/* Subcommands (one file each). */
extern const cli_command cmd_cpu;
extern const cli_command cmd_inspect;
extern const cli_command cmd_verify;
extern const cli_command cmd_backup;
extern const cli_command cmd_prepare;
extern const cli_command cmd_rekey;
extern const cli_command cmd_demo;

#endif
