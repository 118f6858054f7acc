/*
 * vectors.h - reader for the key-value test vector files in tests/vectors/.
 *
 * Format (BoringSSL-style):
 *   # comment
 *   [Section]            starts a section; applies to the records that follow
 *   Name = value         one attribute per line
 *   (blank line)         ends a record
 * Values are kept as text; tv_hex() decodes hex ("" is zero bytes).
 */
#ifndef IBC_VECTORS_H
#define IBC_VECTORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TV_MAX_ATTRS 16

typedef struct tv_record {
    char section[64];
    int line; /* line number of the record's first attribute */
    int nattrs;
    char name[TV_MAX_ATTRS][32];
    char *value[TV_MAX_ATTRS];
} tv_record;

typedef struct tv_file {
    FILE *fp;
    const char *path;
    int line;
    char section[64];
    char *values; /* storage for the current record's values */
} tv_file;

/* Open tests/vectors/<name> (relative to the test data dir). Returns 0 or -1. */
int tv_open(tv_file *f, const char *name);
/* Read the next record; returns 1, or 0 at the end of the file. */
int tv_next(tv_file *f, tv_record *r);
void tv_close(tv_file *f);

/* Attribute lookup: the value or NULL. */
const char *tv_get(const tv_record *r, const char *name);
/* Decode attribute `name` as hex into buf; returns the byte count or -1 (missing/invalid). */
long tv_hex(const tv_record *r, const char *name, uint8_t *buf, size_t max);

#endif
