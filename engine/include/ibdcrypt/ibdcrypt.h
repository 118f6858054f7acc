/*
 * ibdcrypt.h - the public API of libibdcrypt.
 *
 * libibdcrypt verifies, decrypts, encrypts and re-keys pages of encrypted InnoDB tablespaces
 * (MariaDB data-at-rest encryption) in batches, on AES/CRC32C kernels chosen once for the CPU.
 *
 * Conventions for every function here:
 *   - Handles are opaque; a function that creates one returns IBC_OK and stores it in *out,
 *     or returns an error and leaves *out NULL. The caller owns what it creates and frees it
 *     with the matching _free function; _free(NULL) is a no-op.
 *   - Errors are returned as ibc_status by value; ibc_strerror() names them. The library never
 *     prints, never exits and never aborts on bad data: a bad page is a per-page status.
 *   - An ibc_engine is immutable after creation and may be shared by any number of threads.
 *   - Keys never appear in any output of the library; they are wiped when freed.
 */
#ifndef IBDCRYPT_H
#define IBDCRYPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(IBC_BUILDING_LIBRARY) && defined(__GNUC__)
#define IBC_API __attribute__((visibility("default")))
#else
#define IBC_API
#endif

/* ---- status ------------------------------------------------------------------------------ */

typedef enum ibc_status {
    IBC_OK = 0,
    IBC_ERR_INVALID_ARG,     /* a caller error: NULL where not allowed, bad size, ... */
    IBC_ERR_NOMEM,           /* allocation failed */
    IBC_ERR_ISA_UNKNOWN,     /* --isa names no tier */
    IBC_ERR_ISA_UNSUPPORTED, /* the tier exists but this build or this CPU lacks it */
    IBC_ERR_IO,              /* read/write/open failed (errno is preserved) */
    IBC_ERR_FORMAT,          /* input is not in a format we know */
    IBC_ERR_KEY_MISSING,     /* a key id/version is not in the key provider */
    IBC_ERR_KEY_FILE,        /* a key file could not be parsed or decrypted */
    IBC_ERR_KEY_MISMATCH,    /* the key does not decrypt the data */
    IBC_ERR_CORRUPT,         /* the data is damaged */
    IBC_ERR_UNSUPPORTED,     /* a valid format we do not (yet) handle */
    IBC_ERR_BUSY,            /* files are held by a running server */
    IBC_ERR_NOSPACE,         /* the target filesystem is full */
    IBC_STATUS_COUNT
} ibc_status;

/* A static English description of s. Never NULL. Thread-safe. */
IBC_API const char *ibc_strerror(ibc_status s);

/* The library version, "MAJOR.MINOR.PATCH". */
IBC_API const char *ibc_version(void);

/* ---- CPU and ISA tiers ------------------------------------------------------------------- */

/* What the CPU offers and which kernel tier would be chosen. Filled by ibc_cpu_info_get(). All
 * strings are NUL-terminated; lists are comma-separated tier or feature names. */
typedef struct ibc_cpu_info {
    char model[64];     /* CPU model string */
    char arch[16];      /* "x86_64", "aarch64", ... */
    char features[256]; /* detected features usable by this OS, e.g. "sse4.2,aes-ni,..." */
    char compiled[64];  /* tiers compiled into this build */
    char usable[64];    /* tiers compiled in and supported by this CPU */
    char selected[16];  /* the tier "auto" selects */
} ibc_cpu_info;

/* Fill *info for this machine. Thread-safe. */
IBC_API void ibc_cpu_info_get(ibc_cpu_info *info);

/* ---- engine ------------------------------------------------------------------------------ */

typedef struct ibc_engine ibc_engine;

/* Create an engine. isa is NULL or "auto" (best tier this CPU supports) or a tier name:
 * "portable", "aesni", "vaes256", "vaes512", "armce". Forcing a tier that is unknown returns
 * IBC_ERR_ISA_UNKNOWN; one this build or CPU lacks returns IBC_ERR_ISA_UNSUPPORTED. */
IBC_API ibc_status ibc_engine_new(const char *isa, ibc_engine **out);
IBC_API void ibc_engine_free(ibc_engine *e);

/* The tier the engine runs ("vaes256", ...). Valid while e lives. */
IBC_API const char *ibc_engine_isa(const ibc_engine *e);

/* Preferred batch width: the number of pages the multi-buffer kernels process together.
 * Batch sizes that are a multiple of it run fastest. */
IBC_API unsigned ibc_engine_lanes(const ibc_engine *e);

/* ---- keys ---------------------------------------------------------------------------------
 * A keyring maps (key id, key version) to key bytes (16, 24 or 32). It is the key provider of
 * the engine: loaded from a file_key_management key file, filled programmatically, or backed
 * by a callback (another key management system). Key bytes are wiped when the keyring is
 * freed and never appear in messages; use fingerprints to name a key in reports.
 * A keyring is immutable once handed to the engine and may then be shared by threads. */

typedef struct ibc_keyring ibc_keyring;

#define IBC_KEY_MAX 32
#define IBC_FINGERPRINT_LEN 16 /* hex characters */

/* Load a file_key_management key file (plugin/file_key_management/parser.cc): `id;hex` lines,
 * '#' comments, 16/24/32-byte keys, ids 1..4294967295, key id 1 required. Stricter than the
 * plugin: a duplicate id is an error. filekey is NULL for a plain file, or the secret of an
 * OpenSSL "Salted__" encrypted key file given as "FILE:/path" (read from a file, trailing
 * CR/LF stripped, at most 256 bytes) or "ENV:NAME" (from an environment variable). Every key
 * gets version 1 (the plugin has no other). On failure returns IBC_ERR_KEY_FILE (bad content,
 * wrong secret) or IBC_ERR_IO (cannot read) and writes a one-line message naming the file and,
 * for syntax errors, the line and column into err (NUL-terminated, never key material). */
IBC_API ibc_status ibc_keyring_load(const char *path, const char *filekey, ibc_keyring **out,
                                    char *err, size_t errlen);

/* The same, from the bytes of a key file in memory; name is used in messages. */
IBC_API ibc_status ibc_keyring_parse(const void *data, size_t len, const char *name,
                                     const char *filekey, ibc_keyring **out, char *err,
                                     size_t errlen);

/* An empty keyring, to fill with ibc_keyring_add. Returns NULL if out of memory. */
IBC_API ibc_keyring *ibc_keyring_new(void);

/* Add a key (copied). IBC_ERR_INVALID_ARG for a bad length, id 0, version 0 or a duplicate
 * (id, version). Not thread-safe: fill a keyring before sharing it. */
IBC_API ibc_status ibc_keyring_add(ibc_keyring *kr, uint32_t key_id, uint32_t key_version,
                                   const uint8_t *key, size_t len);

/* A keyring whose keys come from a callback: fn(ctx, id, version, key, &len) returns 0 and
 * fills key (up to IBC_KEY_MAX bytes) and len, or non-zero if it has no such key. fn must be
 * thread-safe; the engine calls it once per (id, version) per tablespace set up. */
typedef int (*ibc_key_fn)(void *ctx, uint32_t key_id, uint32_t key_version, uint8_t *key,
                          size_t *len);
IBC_API ibc_keyring *ibc_keyring_new_callback(ibc_key_fn fn, void *ctx);

/* Free and wipe. NULL is a no-op. */
IBC_API void ibc_keyring_free(ibc_keyring *kr);

/* Number of stored keys and the i-th (id, version) in ascending order (callback keyrings
 * report 0: they cannot be enumerated). */
IBC_API size_t ibc_keyring_count(const ibc_keyring *kr);
IBC_API ibc_status ibc_keyring_entry(const ibc_keyring *kr, size_t i, uint32_t *key_id,
                                     uint32_t *key_version);

/* Copy key (id, version) into key[IBC_KEY_MAX], its length into *len; IBC_ERR_KEY_MISSING if
 * absent. The caller wipes its copy. */
IBC_API ibc_status ibc_keyring_get(const ibc_keyring *kr, uint32_t key_id, uint32_t key_version,
                                   uint8_t *key, size_t *len);

/* A one-way fingerprint of key (id, version): IBC_FINGERPRINT_LEN lowercase hex characters of
 * SHA-256("ibdcrypt key fingerprint v1" || BE32(id) || BE32(version) || key). Identifies a key
 * across files and reports without revealing it. out must hold IBC_FINGERPRINT_LEN + 1. */
IBC_API ibc_status ibc_keyring_fingerprint(const ibc_keyring *kr, uint32_t key_id,
                                           uint32_t key_version, char *out);

#ifdef __cplusplus
}
#endif
#endif
