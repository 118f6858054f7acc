/*
 * filecrc.h - whole-file CRC-32C from the pool's items, which finish in any order: backup
 * writes them into its manifest, verify --manifest checks a backup against them.
 */
#ifndef IBDCRYPT_TOOLS_FILECRC_H
#define IBDCRYPT_TOOLS_FILECRC_H

#include <pthread.h>
#include <stdint.h>
#include <sys/uio.h>

#include "dataset.h"

/* By log2 of the unit size (1 KiB .. 64 KiB): the CRC-32C and CRC-32 of a zero unit and the
 * factors that join a unit's CRC to a running CRC. */
#define FC_MIN_UNIT_LOG 10
#define FC_MAX_UNIT_LOG 16
typedef struct fc_tables {
    struct {
        uint32_t zero_c, zero_z, join_c, join_z;
    } unit[FC_MAX_UNIT_LOG + 1];
} fc_tables;

/* 0, or -1 (out of memory). */
int fc_tables_init(fc_tables *t, const ibc_engine *e);

/* One file's pieces: (offset, length, CRC-32C) of each item, joined at the end. */
typedef struct fc_file {
    pthread_mutex_t lock;
    uint64_t *piece; /* triples */
    size_t n, cap;
} fc_file;

void fc_file_init(fc_file *f);
void fc_file_free(fc_file *f);
/* Thread-safe. An allocation failure leaves the file's CRC wrong, never a crash: callers
 * that compare CRCs must treat fc_file_complete() == 0 as unknown. */
void fc_note(fc_file *f, uint64_t off, uint64_t len, uint32_t crc);
/* The pieces cover [0, size) exactly, each once. */
int fc_file_complete(fc_file *f, uint64_t size);
/* CRC-32C of the whole file (sorts the pieces). */
uint32_t fc_file_crc(fc_file *f);

/* The item's bytes in file order as iovecs, without the pool's stagger (at most max). */
int fc_item_iov(const ds_file *d, const ibc_pool_item *it, uint8_t *buf, struct iovec *iov,
                int max);

/* The item's CRC-32C and, when crc_z is not NULL, its CRC-32 (zlib), over its bytes in file
 * order. sums (NULL: none) say what the page work learned of each unit (DS_SUM_*): such a unit
 * is not read again for its CRC-32C; a zero unit joins constants (for the CRC-32 too), and a
 * unit whose stored CRC-32C was checked (full_crc32) joins that value extended by its last 4
 * bytes. */
void fc_item_crcs(const fc_tables *t, const ibc_engine *e, const ds_file *d,
                  const ibc_pool_item *it, const uint8_t *buf, const uint8_t *sums, uint32_t *crc_c,
                  uint32_t *crc_z);

/* The size and CRC-32C of the whole file open at fd, read from its start (prepare, for the
 * files it re-encrypted). 0, or -1 with errno set. */
int fc_read_crc(const ibc_engine *e, int fd, uint64_t *size, uint32_t *crc);

#endif
