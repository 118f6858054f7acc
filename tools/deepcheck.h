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

/* The bytes of an Aria table's file: fd >= 0, or mem (len bytes); name for messages. */
typedef struct deep_src {
    const char *name;
    int fd;
    const uint8_t *mem;
    uint64_t len;
} deep_src;

/* One Aria table (a: its .MAI header, encrypted): every page of its .MAD and .MAI decrypted and
 * checked, the outcome on rf (its pages, or what is wrong). Returns 1 when it is bad, else 0. */
int deep_check_aria_table(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *kr,
                          ibc_algo algo, const deep_src *mad, const deep_src *mai, rep_file *rf);

#endif
