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

/* ---- mtrs as framed (redo_scan.c) ---------------------------------------------------------- */

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

/* ---- the handle --------------------------------------------------------------------------- */

/* A window of LSN-contiguous log bytes: buf[0] is the byte at LSN `lsn`. The buffer has
 * REDO_WIN_SLACK bytes beyond cap, so that the batched ciphers may load and store whole
 * 16-byte blocks that overhang the end of a stream (storing back the bytes they loaded). */
typedef struct redo_win {
    uint8_t *buf;
    size_t cap;
    size_t hi;   /* bytes of buf ever filled (from 0): what a wipe must cover */
    uint64_t lsn;
    size_t len;
} redo_win;
#define REDO_WIN_SLACK 64
/* Bytes read per refill of the window, and its size: a chunk plus room for the longest mtr
 * (twice: an mtr and the one after it, for the damage look-ahead). Reads are of about a chunk
 * (more only when one mtr is longer), so that the walk meets bytes that are still in the L2
 * cache of the copy that read them. */
#define REDO_CHUNK     (1u << 20)
/* mtrs framed ahead by a scan, so that their CRCs go through the multi-message kernel */
#define REDO_AHEAD 64
#define REDO_MTR_BYTES (REDO_MTR_RECS_MAX + 1 + REDO_NONCE + 4)

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
    /* ibc_redo_set_write_hook */
    ibc_redo_write_hook hook;
    void *hook_ctx;
    /* the running CRC-32C of the bytes a scan has walked (redo_scan.c), and that of all of
     * [checkpoint, end) from the last complete scan */
    int fp_on;
    uint64_t fp_lsn;
    uint32_t fp, scan_fp;
    /* the sequence bit without a division (redo_seq_bit): it is seq_bit0 on
     * [seq_base, seq_base + capacity) and the other one on the next pass; set by the header
     * parse (seq_ok) from the checkpoint, so that scans, which stay within one capacity of it,
     * never divide */
    int seq_ok;
    uint8_t seq_bit0;
    uint64_t seq_base;
    /* the mtrs a scan framed ahead of the one it asked for (redo_scan.c frame_ahead), their CRCs
     * taken together: ahead[ahead_i, ahead_n) follow each other in the window; dropped whenever
     * the window moves (redo_win_ensure) or is read afresh (redo_win_reset) */
    redo_mtr ahead[REDO_AHEAD];
    uint8_t ahead_st[REDO_AHEAD];
    size_t ahead_i, ahead_n;
    /* set by a scan callback that fails on an mtr before the current one (it batches) */
    uint64_t cb_bad_lsn;
    /* the last damage search (redo_scan.c resync): where it looked, a CRC-32C of the bytes it
     * looked at, and what it found; a later scan of the same bytes takes the result */
    int rs_valid;
    uint64_t rs_from, rs_first_lsn, rs_next_ok;
    size_t rs_avail;
    uint32_t rs_crc;
};

/* Write "<name>: <message>" into err. */
void redo_err(const ibc_redo *r, char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- the ring and the window (redo_scan.c) -------------------------------------------------- */

/* File offset of an LSN (log_t::calc_lsn_offset). */
uint64_t redo_offset(const ibc_redo *r, uint64_t lsn);
/* Sequence bit of the byte at lsn: 1 on the first pass round the ring, then alternating
 * (log_t::get_sequence_bit). */
static inline uint8_t redo_seq_bit(const ibc_redo *r, uint64_t lsn)
{
    uint64_t d = lsn - r->seq_base;
    if (r->seq_ok && lsn >= r->seq_base && d / 2 < r->info.capacity)
        return d < r->info.capacity ? r->seq_bit0 : !r->seq_bit0;
    return !(((lsn - r->info.first_lsn) / r->info.capacity) & 1);
}

/* Make [lsn, lsn + need) available in r->win (lsn >= r->win.lsn, or the window restarts at
 * lsn), reading no LSN at or beyond `limit`. *avail receives the bytes available from lsn
 * (less than need only at the limit). IBC_ERR_IO / IBC_ERR_NOMEM on failure. */
ibc_status redo_win_ensure(ibc_redo *r, uint64_t lsn, size_t need, uint64_t limit, size_t *avail,
                           char *err, size_t errlen);
/* Forget what the window holds: the next redo_win_ensure reads afresh. */
static inline void redo_win_reset(ibc_redo *r)
{
    r->win.len = 0;
    r->ahead_i = r->ahead_n = 0;
}
static inline uint8_t *redo_win_at(const ibc_redo *r, uint64_t lsn)
{
    return r->win.buf + (lsn - r->win.lsn);
}
/* Room for one mtr's records in r->tmp. */
ibc_status redo_tmp_reserve(ibc_redo *r, size_t n);

/* ---- mtr framing (redo_scan.c; log0recv.cc log_parse_start) ------------------------------ */

/* Frame the mtr at p (avail bytes, LSN lsn). For SEQ and CRC the framing fields are valid. */
redo_frame_status redo_frame(const ibc_redo *r, const uint8_t *p, size_t avail, uint64_t lsn,
                             redo_mtr *m);
/* The framing alone, up to the sequence byte (no CRC): REDO_FRAME_OK means "CRC next". */
redo_frame_status redo_frame_walk(const ibc_redo *r, const uint8_t *p, size_t avail, uint64_t lsn,
                                  redo_mtr *m);

/* redo_frame_walk, inline for the hot loops: the records are walked as log_parse_start does
 * (before each record: cut short? over MTR_SIZE_MAX? a byte <= 1 ends the mtr), with the
 * checks of the first record hoisted (it always exists: p[0] > 1). */
static inline redo_frame_status redo_walk(const ibc_redo *r, const uint8_t *p, size_t avail,
                                          uint64_t lsn, redo_mtr *m)
{
    redo_frame_status st = REDO_FRAME_OK;
    size_t pos = 0;
    uint32_t total = 0, nrec = 0, body = 0, last_at = 0;
    uint8_t t1len = 0, last_type = 0;
    m->lsn = lsn;
    m->len = m->size = 0;
    m->crc_stored = m->crc_calc = 0;
    if (!avail) {
        st = REDO_FRAME_SHORT;
        goto out;
    }
    if (p[0] <= 1) { /* log_parse_start: an empty mtr is never written */
        st = REDO_FRAME_END;
        goto out;
    }
    for (uint8_t b = p[0];;) { /* pos < avail, b = p[pos] > 1, total < MTR_SIZE_MAX */
        /* mtr_t::parse_length: the low nibble, or 0 and a varint of (length - 15) */
        uint32_t rlen = b & 15, hl = 1;
        if (!rlen) {
            if (pos + 1 >= avail) {
                st = REDO_FRAME_SHORT;
                goto out;
            }
            uint32_t vl = redo_varint_len(p[pos + 1]);
            if (pos + 1 + vl >= avail) {
                st = REDO_FRAME_SHORT;
                goto out;
            }
            uint32_t add = redo_varint(p + pos + 1);
            if (add >= MTR_SIZE_MAX) {
                st = REDO_FRAME_LONG;
                goto out;
            }
            rlen = add + 15; /* counts the varint */
            hl += vl;
        }
        if (!nrec)
            t1len = (uint8_t)hl;
        nrec++;
        last_type = b;
        body += rlen + 1 - hl;
        last_at = (uint32_t)pos;
        pos += 1 + (size_t)rlen;
        total += rlen;
        if (pos >= avail) {
            st = REDO_FRAME_SHORT;
            goto out;
        }
        if (total >= MTR_SIZE_MAX) {
            st = REDO_FRAME_LONG;
            goto out;
        }
        b = p[pos];
        if (b <= 1)
            break;
    }
    m->len = (uint32_t)pos;
    m->size = m->len + 1 + r->nonce_len + 4;
    if (p[pos] != redo_seq_bit(r, lsn + pos))
        st = REDO_FRAME_SEQ;
    else if (m->size > avail)
        st = REDO_FRAME_SHORT;
out:
    m->nrec = nrec;
    m->body = body;
    m->t1len = t1len;
    m->last_type = last_type;
    m->last_at = last_at;
    return st;
}
/* CRC-32C of an mtr's records and nonce (the sequence byte between them left out). */
uint32_t redo_mtr_crc(const ibc_kernels *k, const uint8_t *p, uint32_t len, uint32_t nonce_len);
const char *redo_frame_name(redo_frame_status st);

/* ---- ciphers and records (redo_crypt.c) ---------------------------------------------------- */

/* FORMAT_ENC_11 stream IV: nonce | T_1 | zeros (log0crypt.cc log_decrypt_mtr). */
void redo_enc11_iv(const uint8_t *mtr, const redo_mtr *m, uint8_t iv[16]);

/* Decrypt (encrypt = 0) or encrypt the records of the mtr at p (m framed) into out (m->len
 * bytes; out may equal p); tmp (m->body bytes, distinct from out) gathers the stream. ENC_11:
 * one stream; ENC_10_8: each page record's payload on its own. algo must be CBC or CTR. */
void redo_crypt_mtr(const ibc_redo *r, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                    const uint8_t *p, const redo_mtr *m, uint8_t *out, uint8_t *tmp);

/* ---- batches of FORMAT_ENC_11 streams (redo_crypt.c) -----------------------------------------
 * An mtr's stream is short (78 bytes on average in a real OLTP log): far too short for a kernel
 * call of its own. A batch takes the streams of many mtrs through the kernels together.
 * Decryption (deep verify):
 *   AES_CBC: all whole blocks gathered, decrypted in one ECB call, XORed with the previous
 *            ciphertext block (or the IV); the tails (MyCTX_nopad: XOR with AES-ECB(key, IV))
 *            take one ECB call for all IVs;
 *   AES_CTR: the counter blocks of all streams in one ECB call.
 * Re-keying, in place: the short-stream kernels take every stream of the batch in one call
 *   AES_CBC: aes_cbc_rekey_short over the whole blocks (streams sorted longest first), then the
 *            tails XORed with AES-ECB(L, IV) ^ AES-ECB(L', IV), two ECB calls for all IVs;
 *   AES_CTR: aes_ctr2_short (both keystreams).
 * A stream is contiguous in the window when its mtr has one record (98% of them); the bodies
 * of an mtr with several records are gathered first (and scattered back). Whole 16-byte loads
 * and stores may overhang the end of a stream by up to 15 bytes (REDO_WIN_SLACK; a store puts
 * back the bytes it loaded there). */
#define REDO_BATCH_MTRS  1024
#define REDO_BATCH_BYTES (64u << 10) /* stream bytes per batch: stays in L2 */

typedef struct redo_bm {
    uint8_t *p;    /* the mtr's records */
    uint64_t lsn;
    uint32_t len;  /* record bytes */
    uint32_t body; /* stream bytes */
    uint32_t blk;  /* its first block in the block buffers */
    uint32_t g;    /* several records: offset of its gathered stream in g ... */
    uint32_t pc;   /* ... and its first piece in pcs (one per record) */
    uint32_t npc;
    uint32_t out;  /* decryption: offset of its plaintext records in the output */
    uint8_t hl;    /* type/length bytes of the first record (T_1) */
    uint8_t multi; /* more than one record */
} redo_bm;

typedef struct redo_batch {
    ibc_algo algo;
    int decrypt;   /* for redo_batch_decrypt: the block buffers are in use */
    size_t n;      /* mtrs */
    size_t blocks; /* blocks of the block buffers in use (CBC: whole ones; CTR: all) */
    size_t bytes;  /* stream bytes */
    size_t glen;   /* bytes of g in use */
    size_t out;    /* bytes of plaintext output (decryption) */
    redo_bm *m;
    uint8_t (*iv)[16], (*m1)[16], (*m2)[16];
    uint8_t **sp; /* stream pointers, during a run */
    ibc_short_lane *sl; /* the lanes of a re-key */
    uint8_t *a, *b, *g;
    size_t bcap, gcap; /* blocks of a and b; bytes of g */
    /* the record bodies of the mtrs of several records, as the gathering walked them, for the
     * scatter: offset in the mtr and length */
    struct redo_piece {
        uint32_t off, len;
    } *pcs;
    size_t npcs, pcap;
} redo_batch;

/* decrypt: the batch is for redo_batch_decrypt (which needs block buffers), else for
 * redo_batch_rekey. */
/* A buffer of cap units of unit bytes (and REDO_WIN_SLACK zero bytes after them), grown to at
 * least need units: the old content is dropped and wiped. redo_grow_free wipes and frees one. */
ibc_status redo_grow(uint8_t **p, size_t *cap, size_t need, size_t unit);
void redo_grow_free(uint8_t *p, size_t cap, size_t unit);

/* The bodies of the records of the mtr p (m->nrec records, framed) copied one after another
 * into the stream s (back 0), or from s back into the records (back 1); returns the stream's
 * length. */
uint32_t redo_pieces(uint8_t *p, const redo_mtr *m, uint8_t *s, int back);

ibc_status redo_batch_init(redo_batch *b, ibc_algo algo, int decrypt);
void redo_batch_free(redo_batch *b); /* wipes */
/* Add the mtr at p (framed as m). IBC_ERR_NOMEM. */
ibc_status redo_batch_add(redo_batch *b, uint8_t *p, const redo_mtr *m);
static inline int redo_batch_full(const redo_batch *b)
{
    return b->n == REDO_BATCH_MTRS || b->bytes >= REDO_BATCH_BYTES;
}
/* Re-encrypt every stream in place under kn (same mode). The batch keeps its mtrs until
 * redo_batch_clear. */
void redo_batch_rekey(const ibc_kernels *k, redo_batch *b, const ibc_aes_key *ko,
                      const ibc_aes_key *kn);
/* Decrypt: the plaintext records of mtr i at out + b->m[i].out (len bytes; out holds
 * redo_batch_out_size bytes). The window is left alone. */
void redo_batch_decrypt(const ibc_kernels *k, redo_batch *b, const ibc_aes_key *key,
                        uint8_t *out);
static inline size_t redo_batch_out_size(const redo_batch *b)
{
    return b->out;
}
static inline void redo_batch_clear(redo_batch *b)
{
    b->n = b->blocks = b->bytes = b->glen = b->out = b->npcs = 0;
}

/* The record checks of recovery (recv_sys_t::parse_tail with storing, log_parse_file) on the
 * plaintext records of one mtr. */
typedef struct redo_recs {
    uint32_t page_size;      /* in */
    ibc_redo_write_hook hook; /* in: called for each page write, or NULL */
    void *hook_ctx;
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
