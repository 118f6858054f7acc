/*
 * deepcheck.h - the deep checks of a datadir's other files encrypted with key id 1: the binary
 * and relay logs (encrypt_binlog=ON), every event decrypted and checked, and the Aria tables
 * (aria_encrypt_tables=ON), every page decrypted and checked against its checksum. `verify
 * --deep` and `backup` with keys run them after the InnoDB pages.
 */
#ifndef IBC_DEEPCHECK_H
#define IBC_DEEPCHECK_H

#include "dataset.h"
#include "report.h"

/* Each returns the number of files it found bad (their report lines say why: a wrong key 1, a
 * damaged page or event, a file it could not read). A file of the dataset gets its findings on
 * its report line; another gets a new line at the end of rep->files. The caller prints both
 * (report_file_done). cmd: the command's name for messages. */
size_t deep_check_binlogs(const cli_global *g, const char *cmd, const ibc_engine *e, dataset *ds,
                          const ibc_keyring *kr, report *rep);
/* algo: the cipher of the Aria pages if the key options name one, else IBC_ALGO_AUTO (the
 * first encrypted page tells). */
size_t deep_check_aria(const ibc_engine *e, dataset *ds, const ibc_keyring *kr, ibc_algo algo,
                       report *rep);

#endif
