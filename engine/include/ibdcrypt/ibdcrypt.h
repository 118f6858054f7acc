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

/* CRC-32C (Castagnoli) on the engine's kernels: zlib-style running value (start with 0, pass
 * the previous result to continue); ibc_crc32c_join combines the CRCs of two consecutive
 * pieces given the length of the second. Thread-safe. */
IBC_API uint32_t ibc_crc32c(const ibc_engine *e, uint32_t crc, const void *buf, size_t len);
IBC_API uint32_t ibc_crc32c_join(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
/* Joining many pieces of one length: f = ibc_crc32c_join_factor(len_b) once, then
 * ibc_crc32c_join_by(crc_a, crc_b, f) == ibc_crc32c_join(crc_a, crc_b, len_b), in one
 * multiplication (about 30 ns) instead of one per bit of len_b. */
IBC_API uint32_t ibc_crc32c_join_factor(uint64_t len_b);
IBC_API uint32_t ibc_crc32c_join_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor);

/* CRC-32 of gzip and zlib (reflected 0xEDB88320) on the engine's kernels: the value zlib's
 * crc32() returns, running the same way (start with 0, pass the previous result to continue);
 * the checksum of xbstream chunks. Thread-safe. */
IBC_API uint32_t ibc_crc32z(const ibc_engine *e, uint32_t crc, const void *buf, size_t len);
/* The CRC-32 counterparts of ibc_crc32c_join, _join_factor and _join_by. */
IBC_API uint32_t ibc_crc32z_join(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
IBC_API uint32_t ibc_crc32z_join_factor(uint64_t len_b);
IBC_API uint32_t ibc_crc32z_join_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor);

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

/* ---- tablespaces --------------------------------------------------------------------------
 * An ibc_space describes one tablespace (one .ibd file, or the system tablespace): its format
 * and page size from the FSP flags of page 0, its space id, its crypt data, and (once keys are
 * attached) the derived page key. Set it up on one thread (open, set key), then share it
 * read-only with any number of threads running batches. */

typedef struct ibc_space ibc_space;

/* How pages are encrypted: the server's file_key_management_encryption_algorithm. It is not
 * stored in the files; IBC_ALGO_AUTO finds it by a trial decryption (ibc_space_check_key). */
typedef enum ibc_algo { IBC_ALGO_AUTO = 0, IBC_ALGO_CBC = 1, IBC_ALGO_CTR = 2 } ibc_algo;

typedef enum ibc_format {
    IBC_FORMAT_FULL_CRC32 = 0, /* innodb_checksum_algorithm=full_crc32 (default since 10.5) */
    IBC_FORMAT_LEGACY = 1      /* the crc32/innodb/none page format (and ROW_FORMAT=COMPRESSED) */
} ibc_format;

typedef struct ibc_space_info {
    uint32_t space_id;
    uint32_t flags;             /* FSP_SPACE_FLAGS as stored */
    ibc_format format;
    uint32_t page_size;         /* physical page size on disk */
    uint32_t logical_page_size; /* innodb_page_size */
    int row_compressed;         /* ROW_FORMAT=COMPRESSED (page_size < logical_page_size) */
    int page_compressed;        /* PAGE_COMPRESSED=1 */
    int compression_algorithm;  /* full_crc32 page_compressed: 1 zlib, 2 lz4, 3 lzo, 4 lzma,
                                   5 bzip2, 6 snappy; 0 none or per page (legacy) */
    int has_crypt_data;         /* page 0 carries crypt data (even if scheme 0) */
    int crypt_scheme;           /* 0 unencrypted, 1 encrypted (fil0crypt.h CRYPT_SCHEME_1) */
    uint32_t key_id;            /* ENCRYPTION_KEY_ID */
    uint32_t min_key_version;
    int encryption_mode;        /* 0 DEFAULT, 1 ON, 2 OFF (fil_encryption_t) */
    uint8_t crypt_iv[16];       /* the crypt-data IV (stored in clear in page 0; not a key) */
    uint32_t crypt_offset;      /* where page 0 holds the crypt data (its IV at +8) */
    int key_attached;           /* a page key has been derived */
    ibc_algo algorithm;         /* AUTO until known */
    uint32_t doublewrite[2][2]; /* space 0: first page and count of the two doublewrite blocks */
    uint32_t size_in_header;    /* FSP_SIZE: the size in pages of page_size that page 0 records
                                   (fsp0fsp.h; the system tablespace: all its files) */
} ibc_space_info;

/* Bytes of page 0 needed to know the page size: the first 58 (FSP flags at 54). */
#define IBC_PAGE0_PREFIX 58

/* Physical page size from the first IBC_PAGE0_PREFIX bytes of page 0. IBC_ERR_FORMAT if the
 * flags are not valid InnoDB FSP flags (message in err). */
IBC_API ibc_status ibc_page0_size(const uint8_t *prefix, size_t len, uint32_t *page_size,
                                  char *err, size_t errlen);

/* Parse page 0 (len >= its physical page size) into a new space. Fails with IBC_ERR_FORMAT
 * (bad flags, space id mismatch inside page 0) or IBC_ERR_CORRUPT (page 0 checksum bad), with a
 * message in err. The engine must outlive the space. */
IBC_API ibc_status ibc_space_open(const ibc_engine *e, const uint8_t *page0, size_t len,
                                  ibc_space **out, char *err, size_t errlen);
IBC_API void ibc_space_free(ibc_space *s);
IBC_API void ibc_space_get_info(const ibc_space *s, ibc_space_info *info);

/* For the system tablespace: read the doublewrite buffer location from the TRX_SYS page
 * (page 5). Pages of the doublewrite area are then reported as IBC_PAGE_DOUBLEWRITE (they hold
 * copies of other tablespaces' pages). Without this call, space 0 uses the default location
 * (two blocks of one extent from page FSP_EXTENT_SIZE). */
IBC_API ibc_status ibc_space_read_trx_sys(ibc_space *s, const uint8_t *page5, size_t len);

/* Derive the page key from the keyring (key id of the crypt data, key version 1) and set the
 * algorithm. No-op returning IBC_OK for a space without crypt data. IBC_ERR_KEY_MISSING if the
 * keyring lacks the key. Not thread-safe (set-up phase). */
IBC_API ibc_status ibc_space_set_key(ibc_space *s, const ibc_keyring *kr, ibc_algo algo);

/* Trial decryption of one encrypted page (page_no is its expected number): IBC_OK if the key
 * (and algorithm) open it, settling IBC_ALGO_AUTO; IBC_ERR_KEY_MISMATCH if no algorithm gives a
 * valid plaintext; IBC_ERR_CORRUPT if the page's ciphertext checksum is bad (try another
 * page); IBC_ERR_INVALID_ARG if the page is not encrypted. Not thread-safe (set-up phase). */
IBC_API ibc_status ibc_space_check_key(ibc_space *s, const uint8_t *page, uint32_t page_no);

/* A re-keyed twin of space s for the keys in kr (same key id), to be used as the target of
 * IBC_OP_REKEY and by ibc_space_write_page0:
 *   IBC_REKEY_REWRAP: the page key stays; the crypt-data IV becomes
 *                     AES-ECB-Decrypt(new file key, page key), so only page 0 changes;
 *   IBC_REKEY_REENCRYPT: a fresh crypt-data IV (from iv, or random when iv is NULL), hence a
 *                     new page key; every encrypted page must be re-keyed.
 * algo selects the target algorithm (IBC_ALGO_AUTO = the same as s). s must have a key. */
typedef enum ibc_rekey_mode { IBC_REKEY_REWRAP = 0, IBC_REKEY_REENCRYPT = 1 } ibc_rekey_mode;
IBC_API ibc_status ibc_space_derive(const ibc_space *s, const ibc_keyring *kr,
                                    ibc_rekey_mode mode, ibc_algo algo, const uint8_t *iv,
                                    ibc_space **out);

/* Write s's crypt data into page0 (its physical size) and recompute page 0's checksum. */
IBC_API ibc_status ibc_space_write_page0(const ibc_space *s, uint8_t *page0);

/* ---- Aria tables ---------------------------------------------------------------------------
 * A table of the Aria engine created with aria_encrypt_tables=ON has its pages encrypted as
 * InnoDB's are, with key id 1: page key L = AES-ECB(key 1, IV), the IV in the header of its
 * index file (.MAI). Re-wrapping one changes that IV alone; re-encrypting it gives it a new IV
 * and every page the new page key (engine/aria.c). */
typedef struct ibc_aria {
    uint32_t header_length; /* the .MAI header's length: pass at least this many bytes */
    uint32_t crypt_off;     /* where its crypt data is (the IV 6 bytes further) */
    uint32_t block_size;    /* of its pages */
    uint64_t keystart;      /* the offset of the first index page */
    int transactional;
    uint32_t space;
    uint8_t iv[16];
} ibc_aria;
/* Parse the head of an index file (len bytes from its start): 1 an encrypted Aria table, 0
 * anything else, -1 give at least a->header_length bytes. */
IBC_API int ibc_aria_parse(const uint8_t *head, size_t len, ibc_aria *a);
/* Does key 1 of kr (the version the page names) open index page page_no (block_size bytes)?
 * 1 yes, 0 no (or no such key), -1 the page tells nothing (not in use, no checksums). algo:
 * the key plugin's cipher (file_key_management_encryption_algorithm). */
IBC_API int ibc_aria_page_opens(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *kr,
                                ibc_algo algo, const uint8_t *page, uint64_t page_no);
/* Does key 1 of kr (the version the page names) open page page_no of the table's data file
 * (index_file 0) or index file (1, pages from a->keystart), block_size bytes, under a->iv: its
 * checksum over the plaintext holds? 1 yes, 0 nothing to open (a bitmap page, zeros), -1 no
 * (damaged, or another key), -2 it tells nothing (no checksum). */
IBC_API int ibc_aria_page_check(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *kr,
                                ibc_algo algo, int index_file, const uint8_t *page,
                                uint64_t page_no);
/* Re-encrypt one page of the table in place (reencrypt: a new page key): page page_no of its
 * data file (.MAD, index_file 0) or of its index file (.MAI, index_file 1; pages from
 * a->keystart), block_size bytes, from the page key of key 1 of `from` (the version the page
 * names) and a->iv to that of key 1 version 1 of `to` and new_iv. The page's checksum, over
 * its plaintext, stays. Returns 1 re-encrypted, 2 already under the new page key (a run
 * before), 0 nothing to do (never encrypted: a bitmap page, a page of zeros), -1 neither page
 * key opens it (damaged, or another key), -2 it tells nothing (the table was created with
 * page checksums off). algo: the key plugin's cipher. */
IBC_API int ibc_aria_rekey_page(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *from,
                                const ibc_keyring *to, const uint8_t new_iv[16], ibc_algo algo,
                                int index_file, uint8_t *page, uint64_t page_no);
/* The IV under which key 1 (version 1) of to yields the page key that key 1 of from yields
 * from a->iv. */
IBC_API ibc_status ibc_aria_rewrap(const ibc_engine *e, const ibc_aria *a,
                                   const ibc_keyring *from, const ibc_keyring *to,
                                   uint8_t iv[16]);

/* ---- binary logs --------------------------------------------------------------------------
 * A binary log written with encrypt_binlog=ON: after its format description event, a
 * START_ENCRYPTION_EVENT names the key version of key id 1 and a nonce; every later event is
 * encrypted with key id 1 itself (no wrapped key: re-keying re-encrypts every event), IV =
 * nonce || LE32(the event's offset), the key plugin's cipher (engine/binlog.c). */
typedef struct ibc_binlog {
    uint64_t enc_start;   /* the offset of the first encrypted event */
    uint32_t key_version; /* of key id 1 */
    int checksums;        /* events end in a CRC-32 (binlog_checksum=CRC32) */
    uint8_t nonce[12];
    int relay; /* a replica's relay log (set by the caller): the events its primary sent carry
                * the primary's end positions, so only their CRC tells a key that opens them
                * (checked alone when the log has checksums, relay or not); without checksums
                * nothing does, and every event of a relay log counts as sound */
} ibc_binlog;
/* Parse the head of a binary log (len bytes from its start): 1 an encrypted binary log, 0
 * anything else (a plain one too), -1 give more bytes (at most 70 KiB are ever needed). A
 * replica's relay log has the same format (set relay after the parse). */
IBC_API int ibc_binlog_parse(const uint8_t *head, size_t len, ibc_binlog *b);
/* Does key 1 of kr open the event at file offset off (ev, up to len bytes, starts with it)?
 * 1 yes, 0 no (or no such key). algo: the key plugin's cipher. */
IBC_API int ibc_binlog_event_opens(const ibc_engine *e, const ibc_binlog *b,
                                   const ibc_keyring *kr, ibc_algo algo, const uint8_t *ev,
                                   size_t len, uint64_t off);
/* Re-key in place the whole encrypted events at the start of buf (len bytes from file offset
 * off) from key 1 of from to key 1 of to (same version, nonce and cipher). *done: the bytes
 * of whole events re-keyed; an event cut by the end of buf is left for the next call.
 * *unsound: how many of them did not decrypt to a sound event (damaged before: re-keyed all
 * the same, so that the new key gives the same bytes the old one gave). IBC_ERR_CORRUPT: the
 * event at off + *done has an impossible length; IBC_ERR_KEY_MISSING: no key 1 at that
 * version. */
IBC_API ibc_status ibc_binlog_rekey(const ibc_engine *e, const ibc_binlog *b,
                                    const ibc_keyring *from, const ibc_keyring *to,
                                    ibc_algo algo, uint8_t *buf, size_t len, uint64_t off,
                                    size_t *done, uint32_t *unsound);
/* Check the whole encrypted events at the start of buf as ibc_binlog_rekey does, decrypting
 * them in place (each event's bytes [4, len) decrypted, its timestamp at offset 9). *events:
 * how many; *first_bad: the offset of the first that did not decrypt to a sound event, or 0.
 * Statuses as ibc_binlog_rekey's. */
IBC_API ibc_status ibc_binlog_check(const ibc_engine *e, const ibc_binlog *b,
                                    const ibc_keyring *kr, ibc_algo algo, uint8_t *buf,
                                    size_t len, uint64_t off, size_t *done, uint64_t *events,
                                    uint32_t *unsound, uint64_t *first_bad);

/* ---- batches ------------------------------------------------------------------------------
 * A batch runs one operation over pages of one tablespace. Every page gets a status; a bad
 * page is data, not an error. Pages may mix encrypted, plain, zero and compressed pages.
 * Throughput is best with page buffers allocated by ibc_pages_alloc (staggered so that the
 * multi-buffer lanes do not contend for the same L1 sets) and batch sizes that are a multiple
 * of ibc_engine_lanes(). */

typedef enum ibc_op {
    IBC_OP_VERIFY = 0,  /* checksums and header fields, as the server and mariadb-backup do */
    IBC_OP_VERIFY_DEEP, /* + decrypt encrypted pages and check the plaintext */
    IBC_OP_DECRYPT,     /* deep verify + write the plaintext page (as the server would have
                           written it unencrypted: key version 0, plaintext checksum) */
    IBC_OP_ENCRYPT,     /* plaintext page -> the server's encrypted form (key version 1) */
    IBC_OP_REKEY,       /* encrypted page under s -> encrypted page under target; one pass */
    IBC_OP_REKEY_CHECKED, /* IBC_OP_REKEY for pages that passed IBC_OP_VERIFY_DEEP under s
                             (algorithm settled) and have not changed since: a page_compressed
                             page is not decompressed again (the re-key keeps its plaintext
                             as it is, whatever it holds), the rest as IBC_OP_REKEY */
} ibc_op;

typedef enum ibc_page_status {
    IBC_PAGE_OK = 0,          /* encrypted page, every check passed (and processed) */
    IBC_PAGE_PLAIN,           /* not encrypted, checks passed (copied unchanged if dst) */
    IBC_PAGE_ZERO,            /* all-zero page (never written) */
    IBC_PAGE_DOUBLEWRITE,     /* system tablespace doublewrite area: skipped, copied */
    IBC_PAGE_BAD_OUTER,       /* the stored checksum of the page as on disk does not match */
    IBC_PAGE_BAD_INNER,       /* decrypted/decompressed page fails its plaintext checks */
    IBC_PAGE_BAD_HEADER,      /* page number or space id does not match */
    IBC_PAGE_KEY_UNAVAILABLE, /* encrypted, but no key was attached */
    IBC_PAGE_KEY_MISMATCH,    /* encrypted, and the key decrypts it to garbage */
    IBC_PAGE_UNSUPPORTED,     /* a valid variant not processed: in checks, a page_compressed
                                 algorithm whose library the build lacks; in encrypt, no cipher
                                 mode given, or a page that is not plaintext the server would
                                 encrypt as it stands */
    IBC_PAGE_STATUS_COUNT
} ibc_page_status;

/* Page flags reported with the status. */
#define IBC_PF_ENCRYPTED 1u       /* the input page was encrypted */
#define IBC_PF_PAGE_COMPRESSED 2u /* PAGE_COMPRESSED page */
#define IBC_PF_ROW_COMPRESSED 4u  /* ROW_FORMAT=COMPRESSED page */
#define IBC_PF_INDEX 8u           /* B-tree page whose structure was checked (deep) */
/* full_crc32 page of physical size ps, not page_compressed: the CRC-32C of the input's bytes
 * [0, ps-4) was computed and equals the value stored big-endian at [ps-4, ps). A caller that
 * needs the CRC of the whole input page (a backup manifest) extends that value by the last 4
 * bytes instead of reading the page again. Describes the input as it was read. */
#define IBC_PF_CRC_STORED 16u

typedef struct ibc_page {
    const uint8_t *src; /* in: the page as on disk (physical page size) */
    uint8_t *dst;       /* in: output for DECRYPT/ENCRYPT/REKEY (may equal src), else NULL */
    uint32_t page_no;   /* in: expected page number */
    uint16_t status;    /* out: ibc_page_status */
    uint16_t flags;     /* out: IBC_PF_* */
    uint16_t page_type; /* out: FIL_PAGE_TYPE as stored */
    uint16_t reserved;
} ibc_page;

/* Short stable names for statuses ("ok", "plain", "zero", "doublewrite", "bad-checksum",
 * "bad-plaintext", "bad-header", "key-unavailable", "key-mismatch", "unsupported"). */
IBC_API const char *ibc_page_status_name(ibc_page_status st);

/* Per-thread working memory for batches (plaintext and decompression buffers). */
typedef struct ibc_scratch ibc_scratch;
IBC_API ibc_scratch *ibc_scratch_new(void);
IBC_API void ibc_scratch_free(ibc_scratch *sc);

/* Run op over n pages of space s. target is the re-keyed space for IBC_OP_REKEY (else NULL).
 * Returns IBC_OK when the batch ran (look at each page's status), IBC_ERR_INVALID_ARG for a
 * caller error (missing dst, wrong target). Pages with a failure status leave their dst
 * content unspecified. Thread-safe for distinct scratch and page arrays. */
IBC_API ibc_status ibc_batch_run(const ibc_space *s, const ibc_space *target, ibc_op op,
                                 ibc_page *pages, size_t n, ibc_scratch *sc);

/* Allocate room for n pages of page_size bytes, staggered (page i at i * stride, where stride
 * is page_size plus a small offset so that consecutive pages map to different L1 sets).
 * *stride receives the distance between pages. Free with ibc_pages_free. */
IBC_API uint8_t *ibc_pages_alloc(uint32_t page_size, size_t n, size_t *stride);
IBC_API void ibc_pages_free(uint8_t *p);

#ifdef __cplusplus
}
#endif

#include "ibdcrypt/redo.h"     /* the redo log (ib_logfile0) */
#include "ibdcrypt/pool.h"     /* the worker pool */
#include "ibdcrypt/xbstream.h" /* the xbstream format */
#include "ibdcrypt/journal.h"  /* the undo journal of in-place work */

#endif
