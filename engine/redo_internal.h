/*
 * redo_internal.h - what the redo log units (redo.c, redo_scan.c, redo_crypt.c, redo_rekey.c)
 * share: the byte-level facts of ib_logfile0, the handle, the LSN window, mtr framing and the
 * per-format ciphers.
 *
 * Facts are from the MariaDB/server sources (10.8+ storage/innobase: include/log0log.h log_t,
 * log/log0recv.cc recv_sys_t::find_checkpoint, log_parse_start, recv_sys_t::parse_tail,
 * log_parse_file; log/log0crypt.cc log_crypt_read_header, log_decrypt_mtr, mtr_t::encrypt,
 * log_encrypt_buf; include/mtr0log.h mlog_decode_varint; include/mtr0types.h), as restated and
 * confirmed on 10.11.19 in formats/mariadb.md §10.
 */
#ifndef IBC_REDO_INTERNAL_H
#define IBC_REDO_INTERNAL_H

#include <string.h>

#include "engine_internal.h"

/* ---- the file (log0log.h log_t) ----------------------------------------------------------- */
#define LOG_FORMAT_3_23      0u
#define LOG_FORMAT_10_2      1u
#define LOG_FORMAT_10_3      103u
#define LOG_FORMAT_10_4      104u
#define LOG_FORMAT_10_5      0x50485953u
#define LOG_FORMAT_10_8      0x50687973u /* "Phys" */
#define LOG_FORMAT_ENC_11    0xF09F979Du /* U+1F5DD in UTF-8; has the FORMAT_ENCRYPTED bit */
#define LOG_FORMAT_ENCRYPTED 0x80000000u

#define LOG_START_OFFSET       12288 /* log_t::START_OFFSET: the record ring starts here */
#define LOG_FIRST_LSN          12288 /* log_t::FIRST_LSN: the smallest valid first_lsn */
#define LOG_HDR_SIZE           512
#define LOG_HEADER_FORMAT      0
#define LOG_HEADER_SUBFORMAT   4 /* must be 0 */
#define LOG_HEADER_START_LSN   8
#define LOG_HEADER_CREATOR     16
#define LOG_HEADER_CREATOR_END 48
#define LOG_HEADER_CRC         508 /* CRC-32C of [0, 508) */
/* log0crypt.cc log_crypt_write_header, at LOG_HEADER_CREATOR_END */
#define LOG_CRYPT_KEY_ID           48
#define LOG_CRYPT_KEY_VERSION      52
#define LOG_CRYPT_MSG              56
#define LOG_CRYPT_NONCE            72
#define LOG_DEFAULT_ENCRYPTION_KEY 1
/* checkpoint blocks: [0,8) checkpoint LSN, [8,16) end LSN, [16,60) zero, [60,64) CRC-32C */
#define LOG_CHECKPOINT_1   4096
#define LOG_CHECKPOINT_2   8192
#define LOG_CHECKPOINT_CRC 60
/* FILE_CHECKPOINT mtr: type/length, 00 00, LSN(8), sequence byte, CRC (log0log.h) */
#define SIZE_OF_FILE_CHECKPOINT 16

/* ---- records (mtr0types.h mrec_type_t, mfile_type_t, mrec_ext_t) ---------------------------- */
#define REC_FREE_PAGE        0x00
#define REC_INIT_PAGE        0x10
#define REC_EXTENDED         0x20
#define REC_WRITE            0x30
#define REC_MEMSET           0x40
#define REC_MEMMOVE          0x50
#define REC_RESERVED         0x60
#define REC_OPTION           0x70
#define REC_SAME_PAGE        0x80
#define FILE_CREATE          0x80
#define FILE_DELETE          0x90
#define FILE_RENAME          0xA0
#define FILE_MODIFY          0xB0
#define FILE_CHECKPOINT      0xF0
#define REC_EXT_TRIM_PAGES   10
#define REC_PAGE_TYPE_OFFSET 24         /* FIL_PAGE_TYPE: last_offset after INIT_PAGE / EXTENDED */
#define MTR_SIZE_MAX         (1u << 20) /* log0recv.h recv_sys_t::MTR_SIZE_MAX */
#define MLOG_DECODE_ERROR    0xFFFFFFFFu
/* Records of one mtr: each record's length after its type byte is below MTR_SIZE_MAX + 15 and
 * counted into a total checked against MTR_SIZE_MAX before each record (log_parse_start), and
 * every record is at least 2 bytes, so an mtr's record bytes stay below 2 * 2 * MTR_SIZE_MAX. */
#define REDO_MTR_RECS_MAX (4u * MTR_SIZE_MAX + 64)
#define REDO_NONCE        8 /* encrypted formats: the nonce after the sequence byte */

/* mtr0log.h: the varint of record lengths, page ids and offsets. */
#define MLOG_MIN_2BYTE 0x80u
#define MLOG_MIN_3BYTE (MLOG_MIN_2BYTE + (1u << 14))
#define MLOG_MIN_4BYTE (MLOG_MIN_3BYTE + (1u << 21))
#define MLOG_MIN_5BYTE (MLOG_MIN_4BYTE + (1u << 28))

static inline uint32_t redo_varint_len(uint8_t first)
{
    return 1u + (first >= 0x80) + (first >= 0xc0) + (first >= 0xe0) + (first >= 0xf0);
}

/* Decode the varint at p (redo_varint_len(p[0]) bytes must be readable). */
static inline uint32_t redo_varint(const uint8_t *p)
{
    uint32_t i = p[0];
    if (i < 0x80)
        return i;
    if (i < 0xc0)
        return MLOG_MIN_2BYTE + ((i & 0x3f) << 8 | p[1]);
    if (i < 0xe0)
        return MLOG_MIN_3BYTE + ((i & 0x1f) << 16 | (uint32_t)p[1] << 8 | p[2]);
    if (i < 0xf0)
        return MLOG_MIN_4BYTE +
               ((i & 0x0f) << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    if (i == 0xf0) {
        uint32_t j = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
        if (j <= ~MLOG_MIN_5BYTE)
            return MLOG_MIN_5BYTE + j;
    }
    return MLOG_DECODE_ERROR;
}

/* A framed record at p (its length varint valid): its size (type byte + rlen) and the length
 * of its type/length bytes T (mtr_t::parse_length). */
static inline uint32_t redo_rec_size(const uint8_t *p, uint32_t *hl)
{
    uint32_t rlen = p[0] & 15;
    *hl = 1;
    if (!rlen) {
        *hl += redo_varint_len(p[1]);
        rlen = redo_varint(p + 1) + 15;
    }
    return 1 + rlen;
}

/* memcpy for the short pieces of mtrs (non-overlapping buffers): fixed-size copies the
 * compiler inlines, the last one overlapping, instead of a library call per piece. */
static inline void redo_copy(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n >= 16) {
        size_t i = 0;
        for (; i + 16 <= n; i += 16)
            memcpy(d + i, s + i, 16);
        if (i < n)
            memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

/* ---- the handle --------------------------------------------------------------------------- */

/* A window of LSN-contiguous log bytes: buf[0] is the byte at LSN `lsn`. */
typedef struct redo_win {
    uint8_t *buf;
    size_t cap;
    uint64_t lsn;
    size_t len;
} redo_win;

struct ibc_redo {
    const ibc_engine *e;
    const ibc_kernels *k;
    char name[256];
    int fd;             /* -1 for an image in memory */
    const uint8_t *mem; /* the image, or NULL */
    uint64_t size;
    uint8_t hdr[LOG_HDR_SIZE];
    ibc_redo_info info;
    uint32_t nonce_len; /* 0 (plain) or REDO_NONCE */
    uint32_t page_size; /* bound of the deep record checks */
    /* the log key (secret) */
    int have_key;
    ibc_algo algo;
    uint8_t log_key[16];
    ibc_aes_key key;
    /* working memory: the window, and room for one mtr's records (gather / plaintext) */
    redo_win win;
    uint8_t *tmp;
    size_t tmp_cap;
    /* the running CRC-32C of the bytes a scan has walked (redo_scan.c), and that of all of
     * [checkpoint, end) from the last complete scan */
    int fp_on;
    uint64_t fp_lsn;
    uint32_t fp, scan_fp;
};

/* Write "<name>: <message>" into err. */
void redo_err(const ibc_redo *r, char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- the ring and the window (redo_scan.c) -------------------------------------------------- */

/* File offset of an LSN (log_t::calc_lsn_offset). */
uint64_t redo_offset(const ibc_redo *r, uint64_t lsn);
/* Sequence bit of the byte at lsn: 1 on the first pass round the ring, then alternating
 * (log_t::get_sequence_bit). */
uint8_t redo_seq_bit(const ibc_redo *r, uint64_t lsn);

/* Make [lsn, lsn + need) available in r->win (lsn >= r->win.lsn, or the window restarts at
 * lsn), reading no LSN at or beyond `limit`. *avail receives the bytes available from lsn
 * (less than need only at the limit). IBC_ERR_IO / IBC_ERR_NOMEM on failure. */
ibc_status redo_win_ensure(ibc_redo *r, uint64_t lsn, size_t need, uint64_t limit, size_t *avail,
                           char *err, size_t errlen);
static inline uint8_t *redo_win_at(const ibc_redo *r, uint64_t lsn)
{
    return r->win.buf + (lsn - r->win.lsn);
}
/* Room for one mtr's records in r->tmp. */
ibc_status redo_tmp_reserve(ibc_redo *r, size_t n);

/* ---- mtr framing (redo_scan.c; log0recv.cc log_parse_start) ------------------------------ */

typedef enum redo_frame_status {
    REDO_FRAME_OK = 0,
    REDO_FRAME_END,   /* the first byte is <= 1: the end marker (no empty mtr is ever written) */
    REDO_FRAME_LONG,  /* the records exceed MTR_SIZE_MAX, or a length varint is invalid */
    REDO_FRAME_SHORT, /* the bytes end before the mtr does */
    REDO_FRAME_SEQ,   /* the sequence byte is not the sequence bit of its LSN */
    REDO_FRAME_CRC    /* the CRC-32C of the records and nonce does not match */
} redo_frame_status;

typedef struct redo_mtr {
    uint64_t lsn;        /* start LSN */
    uint32_t len;        /* record bytes (the sequence byte is at lsn + len) */
    uint32_t size;       /* len + 1 + nonce + 4 */
    uint32_t nrec;       /* records */
    uint32_t body;       /* bytes of all records minus their type/length bytes */
    uint8_t t1len;       /* type/length bytes of the first record (1..4) */
    uint8_t last_type;   /* the last record's type byte ... */
    uint32_t last_at;    /* ... and its offset */
    uint32_t crc_stored; /* SEQ/CRC/OK: the stored and computed CRCs */
    uint32_t crc_calc;
} redo_mtr;

/* Frame the mtr at p (avail bytes, LSN lsn). For SEQ and CRC the framing fields are valid. */
redo_frame_status redo_frame(const ibc_redo *r, const uint8_t *p, size_t avail, uint64_t lsn,
                             redo_mtr *m);
/* The framing alone, up to the sequence byte (no CRC): REDO_FRAME_OK means "CRC next". */
redo_frame_status redo_frame_walk(const ibc_redo *r, const uint8_t *p, size_t avail, uint64_t lsn,
                                  redo_mtr *m);
/* CRC-32C of an mtr's records and nonce (the sequence byte between them left out). */
uint32_t redo_mtr_crc(const ibc_kernels *k, const uint8_t *p, uint32_t len, uint32_t nonce_len);
const char *redo_frame_name(redo_frame_status st);

/* ---- ciphers and records (redo_crypt.c) ---------------------------------------------------- */

/* MariaDB's cipher over one stream (mysys_ssl/my_crypt.cc): AES-CBC over the whole blocks and
 * the tail XORed with AES-ECB(key, iv) of the original IV, or AES-CTR. */
void redo_xcrypt(const ibc_kernels *k, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                 const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len);

/* FORMAT_ENC_11 stream IV: nonce | T_1 | zeros (log0crypt.cc log_decrypt_mtr). */
void redo_enc11_iv(const uint8_t *mtr, const redo_mtr *m, uint8_t iv[16]);

/* Decrypt (encrypt = 0) or encrypt the records of the mtr at p (m framed) into out (m->len
 * bytes; out may equal p); tmp (m->body bytes, distinct from out) gathers the stream. ENC_11:
 * one stream; ENC_10_8: each page record's payload on its own. algo must be CBC or CTR. */
void redo_crypt_mtr(const ibc_redo *r, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                    const uint8_t *p, const redo_mtr *m, uint8_t *out, uint8_t *tmp);

/* The record checks of recovery (recv_sys_t::parse_tail with storing, log_parse_file) on the
 * plaintext records of one mtr. */
typedef struct redo_recs {
    uint32_t page_size;      /* in */
    uint32_t records;        /* out: records parsed */
    int has_checkpoint;      /* out: a FILE_CHECKPOINT record with an LSN was seen ... */
    uint64_t checkpoint_lsn; /* ... and its LSN */
    uint32_t bad_at;         /* out, on failure: offset of the bad record in the mtr */
    char why[96];            /* out, on failure */
} redo_recs;
int redo_check_records(const uint8_t *recs, size_t len, redo_recs *c);

/* ---- scan (redo_scan.c) -------------------------------------------------------------------- */

/* Per-mtr callback of a scan: the mtr's bytes are at p (LSN-contiguous, m->size bytes, in the
 * window: the callback may rewrite them, and they stay until it is called with m == NULL, the
 * flush before the window moves and at the end).
 * Return IBC_OK to go on; anything else stops the scan with that status (msg in err). */
typedef ibc_status (*redo_mtr_fn)(ibc_redo *r, void *ctx, uint8_t *p, const redo_mtr *m, char *err,
                                  size_t errlen);

/* Walk the mtrs from the checkpoint to the end of the log (as verify describes), calling fn
 * (may be NULL) for each valid one; fill the scan fields of r->info. */
ibc_status redo_scan(ibc_redo *r, redo_mtr_fn fn, void *ctx, ibc_redo_result *res, char *err,
                     size_t errlen);

/* Read and frame the mtr at lsn into the window (valid CRC required). */
ibc_status redo_read_mtr(ibc_redo *r, uint64_t lsn, redo_mtr *m, const uint8_t **p, char *err,
                         size_t errlen);

#endif
