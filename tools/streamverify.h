/*
 * streamverify.h - verify --stream=xbstream: a backup checked as an xbstream read from a file
 * descriptor, without extracting it (streamverify.c).
 */
#ifndef IBDCRYPT_TOOLS_STREAMVERIFY_H
#define IBDCRYPT_TOOLS_STREAMVERIFY_H

#include "dataset.h"
#include "manifest.h"

/* Check the stream on fd: every chunk, every InnoDB page (deep: decrypted), and the manifest
 * when the stream carries one; the files go to rep, which is finished here. Returns the exit
 * code (cli.h EXIT_*). */
int verify_stream(const cli_global *g, const ibc_engine *e, cli_keys *keys, int deep, int fd,
                  report *rep, uint64_t allow_bad);

/* A report line for each file of m not matched (mf_entry.matched): "missing", an error.
 * *extra: their df_files, for the caller to free after the report (they point into m).
 * 0, or -1 (out of memory). */
int verify_report_missing(manifest *m, report *rep, df_file **extra);

#endif
