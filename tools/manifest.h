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
    uint64_t bytes;  /* the file's size as copied (or as prepare left it) */
    uint32_t crc32c; /* of the whole file as copied (or as prepare left it) */
    unsigned sys_no; /* "kind":"system": file N of the system tablespace (the report lists
                      * them first, in order), else 0 */
    int matched;     /* set by the caller */
    int update;      /* set by the caller: manifest_write writes bytes and crc32c */
    size_t bytes_at, bytes_end, crc_at, crc_end; /* where their values are in the text */
} mf_entry;

typedef struct manifest {
    mf_entry *v; /* sorted by path */
    size_t n;
    unsigned nsys; /* entries of the system tablespace */
    char *prepared_plan; /* "prepared":{"plan": ...} (ibdcrypt prepare or rekey), or NULL */
    char *prepared_by;   /* its "command": "prepare" or "rekey", or NULL */
    char *text;          /* manifest_load_text: the text, NUL-terminated */
    size_t len;
    size_t prep_at, prep_end; /* the value of "prepared" in the text (prep_end 0: none) */
    size_t close_at;          /* the document's closing brace */
} manifest;

/* Read and parse the manifest at path. 0, or -1 with a message in err (not JSON, not a
 * backup's manifest, a file entry without path, bytes or crc32c). */
int manifest_load(const char *path, manifest *m, char *err, size_t errlen);
/* Parse a manifest held in memory (len bytes); as manifest_load. */
int manifest_parse(const char *text, size_t len, manifest *m, char *err, size_t errlen);
/* As manifest_load, keeping the text (m->text) for manifest_write. */
int manifest_load_text(const char *path, manifest *m, char *err, size_t errlen);
mf_entry *manifest_find(const manifest *m, const char *path);
/* Write m (loaded with its text) to path, replacing it whole or not at all (a temporary file,
 * fsynced, renamed over it, the directory fsynced): its text with the bytes and crc32c of
 * each entry whose update is set, and the top-level member "prepared" set to prepared_json
 * (an object), added if there was none. 0, or -1 with errno set. */
int manifest_write(const manifest *m, const char *path, const char *prepared_json);
void manifest_free(manifest *m);

#endif
