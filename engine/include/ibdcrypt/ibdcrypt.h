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

#ifdef __cplusplus
}
#endif
#endif
