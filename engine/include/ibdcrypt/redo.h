/*
 * redo.h - the redo log (ib_logfile0) part of the public API of libibdcrypt. Included by
 * ibdcrypt.h; the conventions there apply.
 *
 * A MariaDB 10.8+ redo log is one file: a 512-byte header, two checkpoint blocks, and from
 * byte 12288 a ring of mini-transactions (mtrs) addressed by LSN. Recovery parses the mtrs from
 * the newest checkpoint to the end of the log. With innodb_encrypt_log=ON the record bytes are
 * encrypted under a log key L = AES-ECB(file key 1, crypt_msg of the header); the framing (type
 * and length bytes, sequence byte, nonce, CRC-32C) stays plain, so it is checked without keys.
 *
 * Usage:
 *     ibc_redo *r;  ibc_redo_open(engine, "ib_logfile0", &r, err, sizeof err);
 *     ibc_redo_get_info(r, &info);                       header, checkpoints (no scan yet)
 *     ibc_redo_set_key(r, keyring, IBC_ALGO_AUTO, ...);  log key, checked by known plaintext
 *     ibc_redo_verify(r, deep, &res, ...);               every mtr from the checkpoint to the end
 *     ibc_redo_target_new(r, new_keyring, IBC_REKEY_REWRAP or _REENCRYPT, ..., &t, ...);
 *     ibc_redo_rekey(r, t, write_fn, ctx, &res, ...);    the changed bytes, through write_fn
 *
 * The engine reads the file itself (pread of large chunks, bounded memory: a 12 MiB window
 * per handle, whatever the log size, plus room for the longest mtr met) and never writes it: every
 * changed byte range is handed to the caller's write function, which may journal it. Errors name
 * the file and, for a bad mini-transaction, its LSN and file offset; key material never appears in
 * any output. A handle is not thread-safe: use one per thread.
 */
#ifndef IBDCRYPT_REDO_H
#define IBDCRYPT_REDO_H

#include "ibdcrypt/ibdcrypt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ibc_redo ibc_redo;

typedef enum ibc_redo_format {
    IBC_REDO_PLAIN = 0,    /* FORMAT_10_8 (0x50687973), not encrypted */
    IBC_REDO_ENC_10_8 = 1, /* FORMAT_10_8 with crypt info (older 10.8+ releases): each record's
                              payload encrypted on its own, IV = nonce | space id | page no */
    IBC_REDO_ENC_11 = 2    /* FORMAT_ENC_11 (0xF09F979D, e.g. 10.11.19): one cipher stream per
                              mini-transaction, IV = nonce | first type/length bytes */
} ibc_redo_format;

/* Short names: "plain", "enc-10.8", "enc-11". */
IBC_API const char *ibc_redo_format_name(ibc_redo_format f);

typedef struct ibc_redo_checkpoint {
    uint64_t lsn;     /* checkpoint LSN: recovery starts parsing here */
    uint64_t end_lsn; /* LSN of the FILE_CHECKPOINT mtr written for it */
    int valid;        /* the block passed the server's checks (find_checkpoint) */
} ibc_redo_checkpoint;

typedef struct ibc_redo_info {
    ibc_redo_format format;
    uint32_t format_id; /* header bytes 0..3 */
    uint64_t file_size;
    uint64_t capacity;  /* bytes of the record ring: file_size - 12288 */
    uint64_t first_lsn; /* LSN of file offset 12288 on the first pass */
    char creator[33];   /* e.g. "MariaDB 10.11.19", "Backup 10.11.19"; non-printable -> '?' */
    int encrypted;
    uint32_t key_id; /* 1 when encrypted, else 0 */
    uint32_t key_version;
    ibc_redo_checkpoint checkpoint[2]; /* the blocks at 4096 and 8192 */
    int chosen;                        /* index of the valid block with the larger LSN */
    uint64_t checkpoint_lsn;           /* = checkpoint[chosen].lsn */
    uint64_t checkpoint_end_lsn;       /* = checkpoint[chosen].end_lsn */
    /* filled by a scan (ibc_redo_verify, ibc_redo_rekey); 0 before */
    int scanned;
    uint64_t end_lsn;       /* LSN right after the last valid mtr */
    uint64_t end_offset;    /* its file offset */
    uint64_t pending_bytes; /* end_lsn - checkpoint_lsn: redo that recovery would parse */
    uint64_t mtrs;          /* mini-transactions in [checkpoint_lsn, end_lsn) */
    int torn_tail;          /* the log ends in an mtr whose CRC fails and that nothing valid
                               follows (a write cut short by a crash); recovery stops there too */
    /* keys */
    int key_attached;
    int key_verified;   /* the log key decrypted known plaintext (FILE_CHECKPOINT body, or for
                           FORMAT_10_8 records that parse); 0 if the log holds none to check */
    ibc_algo algorithm; /* AES_CBC or AES_CTR once known; AUTO while no mtr tells them apart
                           (streams of up to 16 bytes encrypt the same in both modes) */
} ibc_redo_info;

/* Open ib_logfile0 (read-only) and parse its header and checkpoint blocks. Errors, with a
 * message naming the file in err:
 *   IBC_ERR_IO          cannot open or read;
 *   IBC_ERR_FORMAT      not a 10.8+ redo log (too small, unknown format id, bad header CRC,
 *                       non-zero reserved bytes, no valid checkpoint);
 *   IBC_ERR_UNSUPPORTED a redo log of MariaDB < 10.8 (formats 10.2 ... 10.5), or a crypt header
 *                       with a key id other than 1. */
IBC_API ibc_status ibc_redo_open(const ibc_engine *e, const char *path, ibc_redo **out, char *err,
                                 size_t errlen);

/* The same on a log image in memory (not copied: data must outlive the handle); name is used in
 * messages. */
IBC_API ibc_status ibc_redo_open_mem(const ibc_engine *e, const void *data, size_t len,
                                     const char *name, ibc_redo **out, char *err, size_t errlen);

/* Free the handle and wipe its keys. NULL is a no-op. */
IBC_API void ibc_redo_free(ibc_redo *r);

IBC_API void ibc_redo_get_info(const ibc_redo *r, ibc_redo_info *info);

/* The deep record checks bound offsets by the page size (innodb_page_size of the server that
 * wrote the log); without this call they use 65536, the largest. */
IBC_API ibc_status ibc_redo_set_page_size(ibc_redo *r, uint32_t page_size);

/* Derive the log key from key 1 at the header's key version in kr, and check it:
 *   FORMAT_ENC_11: the FILE_CHECKPOINT mtr at the checkpoint's end_lsn must decrypt to
 *                  FILE_CHECKPOINT(checkpoint LSN) (known plaintext);
 *   ENC_10_8:      the encrypted payloads of the first mtrs after the checkpoint must parse.
 * algo AUTO finds the mode by decrypting mtrs whose stream is longer than 16 bytes in both
 * modes. Returns IBC_ERR_KEY_MISSING (no such key), IBC_ERR_KEY_MISMATCH (the key does not
 * decrypt the log; message in err), IBC_ERR_INVALID_ARG for a plain log, IBC_ERR_CORRUPT or
 * IBC_ERR_IO if the mtrs needed for the check cannot be read. */
IBC_API ibc_status ibc_redo_set_key(ibc_redo *r, const ibc_keyring *kr, ibc_algo algo, char *err,
                                    size_t errlen);

typedef struct ibc_redo_result {
    uint64_t mtrs;          /* mini-transactions checked or re-encrypted */
    uint64_t records;       /* records parsed (deep verify) */
    uint64_t bytes;         /* LSN bytes covered: end_lsn - checkpoint_lsn */
    uint64_t bytes_written; /* bytes handed to the write function (rekey) */
    uint64_t bad_lsn;       /* the first bad mtr: its start LSN (0 if none) */
    uint64_t bad_offset;    /* and its file offset */
} ibc_redo_result;

/* Check every mtr from the checkpoint LSN to the end of the log: framing, sequence bit,
 * CRC-32C, and that the FILE_CHECKPOINT of the checkpoint is there (its type and, where it is
 * readable, its LSN). deep: also decrypt every mtr (a key must be attached for encrypted logs)
 * and check every record as recovery parses it (recv_sys_t::parse_tail). The end of the log is
 * where recovery stops: an end marker (a byte <= 1), old data of the previous pass round the
 * ring, or an mtr with a bad CRC that no valid mtr follows. An mtr that fails while a valid one
 * follows is damage. Returns IBC_OK, or IBC_ERR_CORRUPT (damage, a missing FILE_CHECKPOINT, a
 * malformed record), IBC_ERR_KEY_MISMATCH (deep: the key decrypts the FILE_CHECKPOINT to
 * something else), IBC_ERR_KEY_MISSING (deep on an encrypted log without a key), IBC_ERR_IO;
 * res->bad_lsn/bad_offset and err name the first bad mtr. Fills the scan fields of the info. */
IBC_API ibc_status ibc_redo_verify(ibc_redo *r, int deep, ibc_redo_result *res, char *err,
                                   size_t errlen);

/* Called by a deep ibc_redo_verify for every WRITE, MEMSET and MEMMOVE record it parses (the
 * record's page, and the page bytes [offset, offset + len) it sets). Re-keying needs it: a
 * write of a tablespace's crypt data to page 0 in the pending redo is applied again by
 * recovery, which also takes the crypt-data IV from it (fil0crypt.cc fil_crypt_parse). fn NULL
 * removes the hook. Works on plain logs too (no key needed). */
typedef void (*ibc_redo_write_hook)(void *ctx, uint32_t space_id, uint32_t page_no,
                                    uint32_t offset, uint32_t len);
IBC_API void ibc_redo_set_write_hook(ibc_redo *r, ibc_redo_write_hook fn, void *ctx);

/* ---- re-keying --------------------------------------------------------------------------- */

/* What a re-keyed log looks like: a new header and (for REENCRYPT) a new log key. */
typedef struct ibc_redo_target ibc_redo_target;

/* Build the target of a re-key of r (which must have a verified key) for the keys in kr (key 1
 * at the header's key version):
 *   IBC_REKEY_REWRAP     the log key stays: crypt_msg' = AES-ECB-Decrypt(new key 1, log key);
 *                        only the 512-byte header changes. algo must be AUTO or r's algorithm.
 *   IBC_REKEY_REENCRYPT  a new log key AES-ECB(new key 1, crypt_msg'), crypt_msg' from
 *                        crypt_msg (16 bytes) or random when NULL; every mtr from the checkpoint
 *                        to the end is re-encrypted (algo AUTO = r's algorithm).
 * The target holds key material (wiped by ibc_redo_target_free). */
IBC_API ibc_status ibc_redo_target_new(const ibc_redo *r, const ibc_keyring *kr,
                                       ibc_rekey_mode mode, ibc_algo algo, const uint8_t *crypt_msg,
                                       ibc_redo_target **out, char *err, size_t errlen);
IBC_API void ibc_redo_target_free(ibc_redo_target *t);

/* The new header block: 512 bytes for file offset 0 (crypt_msg' at 56, CRC-32C at 508). */
IBC_API void ibc_redo_target_header(const ibc_redo_target *t, uint8_t hdr[512]);

/* "Write len bytes of data at file offset off" - the caller applies (or journals) them; return
 * 0 to go on, non-zero to stop (ibc_redo_rekey then returns IBC_ERR_IO). data is valid only
 * during the call. */
typedef int (*ibc_redo_write_fn)(void *ctx, uint64_t off, const uint8_t *data, size_t len);

/* Re-key r into t. Scans first (as ibc_redo_verify, not deep) unless r was scanned, and
 * returns an error before any write if the scan fails. Then, for REENCRYPT, decrypts every mtr
 * of [checkpoint, end) and encrypts it under the new key with the same IV, recomputes its CRC
 * (framing, LSNs, nonces unchanged) and hands the changed bytes to write in file order, in
 * chunks of up to about 4 MiB (a range that would cross the end of the ring comes as two);
 * the header comes last, as one 512-byte write at offset 0. For REWRAP only the header is
 * written. write may be NULL: a dry run that computes and checks everything and writes
 * nothing. The bytes re-read are checked against the scan (the framing of each mtr, and a
 * running CRC-32C of all of them at the end); if the file changed since the scan, the call
 * fails with IBC_ERR_CORRUPT, possibly after earlier chunks were written: journal them. Bytes
 * before the checkpoint (old mtrs) and after the end are left alone. Afterwards r describes
 * the file as it was: open it again to read the new log. */
IBC_API ibc_status ibc_redo_rekey(ibc_redo *r, const ibc_redo_target *t, ibc_redo_write_fn write,
                                  void *ctx, ibc_redo_result *res, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
