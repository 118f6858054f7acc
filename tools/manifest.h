/*
 * manifest.h - the manifest a backup ends with (ibdcrypt-backup.json, written by
 * cmd_backup.c through report_json): what verify --manifest checks a backup against.
 */
#ifndef IBDCRYPT_TOOLS_MANIFEST_H
#define IBDCRYPT_TOOLS_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define MANIFEST_NAME "ibdcrypt-backup.json"

typedef struct mf_entry {
    char *path;      /* relative to the backup's root, as the report names files */
    uint64_t bytes;  /* the file's size as copied */
    uint32_t crc32c; /* of the whole file as copied */
    int matched;     /* set by the caller */
} mf_entry;

typedef struct manifest {
    mf_entry *v; /* sorted by path */
    size_t n;
} manifest;

/* Read and parse the manifest at path. 0, or -1 with a message in err (not JSON, not a
 * backup's manifest, a file entry without path, bytes or crc32c). */
int manifest_load(const char *path, manifest *m, char *err, size_t errlen);
/* Parse a manifest held in memory (len bytes); as manifest_load. */
int manifest_parse(const char *text, size_t len, manifest *m, char *err, size_t errlen);
mf_entry *manifest_find(const manifest *m, const char *path);
void manifest_free(manifest *m);

#endif
