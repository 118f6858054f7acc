/*
 * redo_scan.c - reading the record ring of ib_logfile0 and walking its mini-transactions.
 *
 * The one idea: everything here works on LSN-contiguous bytes. The ring maps LSN l to file
 * offset 12288 + (l - first_lsn) mod capacity (log0log.h log_t::calc_lsn_offset), so an mtr
 * that straddles the end of the file is simply two reads into one window buffer; framing,
 * CRC and decryption never see the wrap (as recovery's recv_ring does in log0recv.cc).
 *
 * The walk from the checkpoint mirrors recovery (log0recv.cc log_parse_start and the loop of
 * recv_scan_log): an mtr ends at the first byte <= 1, which must be the sequence bit of its
 * LSN, followed (encrypted formats) by an 8-byte nonce and a CRC-32C of the records and the
 * nonce. Recovery treats the first mtr that fails any of this as the end of the log; we do too,
 * except that an mtr that fails while the next one is valid is reported as damage.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "redo_internal.h"


uint64_t redo_offset(const ibc_redo *r, uint64_t lsn)
{
    return LOG_START_OFFSET + (lsn - r->info.first_lsn) % r->info.capacity;
}

/* Read n LSN-contiguous bytes from lsn into dst (at most one wrap, since n <= capacity). */
static ibc_status read_lsn(ibc_redo *r, uint64_t lsn, uint8_t *dst, size_t n, char *err,
                           size_t errlen)
{
    while (n) {
        uint64_t off = redo_offset(r, lsn);
        size_t part = (size_t)(r->size - off < n ? r->size - off : n);
        if (r->mem) {
            memcpy(dst, r->mem + off, part);
        } else {
            size_t got = 0;
            while (got < part) {
                ssize_t k = pread(r->fd, dst + got, part - got, (off_t)(off + got));
                if (k < 0 && errno == EINTR)
                    continue;
                if (k <= 0) {
                    redo_err(r, err, errlen, "read of %zu bytes at offset %llu failed: %s",
                             part - got, (unsigned long long)(off + got),
                             k < 0 ? strerror(errno) : "unexpected end of file");
                    return IBC_ERR_IO;
                }
                got += (size_t)k;
            }
        }
        dst += part;
        lsn += part;
        n -= part;
    }
    return IBC_OK;
}

ibc_status redo_tmp_reserve(ibc_redo *r, size_t n)
{
    if (n <= r->tmp_cap)
        return IBC_OK;
    size_t cap = n < 65536 ? 65536 : n + n / 2;
    if (cap > REDO_MTR_RECS_MAX)
        cap = n > REDO_MTR_RECS_MAX ? n : REDO_MTR_RECS_MAX;
    uint8_t *p = malloc(cap);
    if (!p)
        return IBC_ERR_NOMEM;
    if (r->tmp) {
        explicit_bzero(r->tmp, r->tmp_cap); /* may hold plaintext */
        free(r->tmp);
    }
    r->tmp = p;
    r->tmp_cap = cap;
    return IBC_OK;
}

ibc_status redo_win_ensure(ibc_redo *r, uint64_t lsn, size_t need, uint64_t limit, size_t *avail,
                           char *err, size_t errlen)
{
    redo_win *w = &r->win;
    if (!w->buf) {
        uint64_t cap = REDO_CHUNK + 2 * (uint64_t)REDO_MTR_BYTES;
        if (cap > r->info.capacity)
            cap = r->info.capacity;
        w->buf = malloc((size_t)cap + REDO_WIN_SLACK);
        if (w->buf)
            memset(w->buf + cap, 0, REDO_WIN_SLACK);
        if (!w->buf) {
            redo_err(r, err, errlen, "out of memory for a %llu-byte read window",
                     (unsigned long long)cap);
            return IBC_ERR_NOMEM;
        }
        w->cap = (size_t)cap;
        w->hi = 0;
        w->lsn = lsn;
        w->len = 0;
    }
    r->ahead_i = r->ahead_n = 0; /* the framed-ahead mtrs may move */
    if (lsn < w->lsn || lsn > w->lsn + w->len) {
        w->lsn = lsn; /* not contiguous with what we hold: start over */
        w->len = 0;
    }
    if (need > w->cap)
        need = w->cap;
    if (lsn + need > w->lsn + w->len && w->lsn + w->len < limit) {
        size_t drop = (size_t)(lsn - w->lsn);
        if (drop) {
            memmove(w->buf, w->buf + drop, w->len - drop);
            w->lsn = lsn;
            w->len -= drop;
        }
        uint64_t from = w->lsn + w->len, until = lsn + need;
        if (until > w->lsn + w->cap)
            until = w->lsn + w->cap;
        if (until > limit)
            until = limit;
        if (until > from) {
            if (w->len + (size_t)(until - from) > w->hi)
                w->hi = w->len + (size_t)(until - from);
            ibc_status st = read_lsn(r, from, w->buf + w->len, (size_t)(until - from), err, errlen);
            if (st != IBC_OK) {
                w->len = 0;
                return st;
            }
            w->len += (size_t)(until - from);
        }
    }
    *avail = (size_t)(w->lsn + w->len - lsn);
    return IBC_OK;
}

const char *redo_frame_name(redo_frame_status st)
{
    switch (st) {
    case REDO_FRAME_OK:
        return "valid";
    case REDO_FRAME_END:
        return "end-of-log marker";
    case REDO_FRAME_LONG:
        return "records longer than the 1 MiB limit of a mini-transaction, or a bad length";
    case REDO_FRAME_SHORT:
        return "cut short by the end of the ring";
    case REDO_FRAME_SEQ:
        return "wrong sequence bit (data of the previous pass round the ring)";
    case REDO_FRAME_CRC:
        return "CRC-32C mismatch";
    }
    return "?";
}

redo_frame_status redo_frame_walk(const ibc_redo *r, const uint8_t *p, size_t avail, uint64_t lsn,
                                  redo_mtr *m)
{
    return redo_walk(r, p, avail, lsn, m);
}

uint32_t redo_mtr_crc(const ibc_kernels *k, const uint8_t *p, uint32_t len, uint32_t nonce_len)
{
    ibc_crc_msg msg = {.p = p, .len = len};
    k->crc32c_mb(&msg, 1, 1, nonce_len);
    return msg.crc;
}

/* The CRC check of a framed mtr, given its computed CRC. */
static redo_frame_status crc_check(const ibc_redo *r, const uint8_t *p, redo_mtr *m, uint32_t crc)
{
    m->crc_calc = crc;
    m->crc_stored = be32(p + m->len + 1 + r->nonce_len);
    return crc == m->crc_stored ? REDO_FRAME_OK : REDO_FRAME_CRC;
}

static redo_frame_status frame_crc(const ibc_redo *r, const uint8_t *p, redo_mtr *m)
{
    return crc_check(r, p, m, redo_mtr_crc(r->k, p, m->len, r->nonce_len));
}

redo_frame_status redo_frame(const ibc_redo *r, const uint8_t *p, size_t avail, uint64_t lsn,
                             redo_mtr *m)
{
    redo_frame_status st = redo_frame_walk(r, p, avail, lsn, m);
    return st == REDO_FRAME_OK ? frame_crc(r, p, m) : st;
}

/* redo_frame of the mtr at lsn (avail bytes of the window from there), and of as many as
 * REDO_AHEAD - 1 mtrs after it whose framing holds within the window, kept in r->ahead: all their
 * CRCs in one call of the multi-message kernel, which hides the latency of the CRC
 * instruction that a single 78-byte mtr is bound by. */
static redo_frame_status frame_ahead(ibc_redo *r, uint64_t lsn, size_t avail, redo_mtr *m)
{
    const uint8_t *p = redo_win_at(r, lsn);
    redo_frame_status st = redo_walk(r, p, avail, lsn, &r->ahead[0]);
    r->ahead_i = r->ahead_n = 0;
    if (st != REDO_FRAME_OK) {
        *m = r->ahead[0];
        return st;
    }
    ibc_crc_msg msg[REDO_AHEAD];
    size_t n = 0, at = 0;
    do {
        msg[n] = (ibc_crc_msg){.p = p + at, .len = r->ahead[n].len};
        at += r->ahead[n++].size;
    } while (n < REDO_AHEAD && at < avail &&
             redo_walk(r, p + at, avail - at, lsn + at, &r->ahead[n]) == REDO_FRAME_OK);
    r->k->crc32c_mb(msg, n, 1, r->nonce_len);
    for (size_t i = 0; i < n; i++)
        r->ahead_st[i] = (uint8_t)crc_check(r, msg[i].p, &r->ahead[i], msg[i].crc);
    *m = r->ahead[0];
    r->ahead_i = 1;
    r->ahead_n = n;
    return (redo_frame_status)r->ahead_st[0];
}

/* For the damage search only: could the bytes at p be an mtr the server wrote? len is where the
 * walk of its records ends (the sequence byte; redo_frame_walk finds the same end when it
 * accepts the framing), and len + 13 <= avail. Cheap tests before the framing and the CRC: the
 * nonce of an encrypted mtr is the flushed LSN when it was encrypted, so between first_lsn and
 * its own LSN (formats/mariadb.md §10.4.5); plain records must parse. */
static int plausible_mtr(const ibc_redo *r, const uint8_t *p, size_t avail, uint64_t lsn,
                         size_t len, redo_mtr *m)
{
    if (r->nonce_len) {
        uint64_t nonce = be64(p + len + 1);
        if (nonce < r->info.first_lsn || nonce > lsn)
            return 0;
    }
    if (redo_frame_walk(r, p, avail, lsn, m) != REDO_FRAME_OK || m->len != len)
        return 0;
    if (!r->nonce_len) {
        redo_recs c = {.page_size = r->page_size};
        if (redo_check_records(p, m->len, &c))
            return 0;
    }
    return frame_crc(r, p, m) == REDO_FRAME_OK;
}

/* The scan's fingerprint: a running CRC-32C of every byte of [checkpoint, lsn), taken in large
 * pieces before the window moves. The re-encryption pass compares it with its own, so that it
 * need not check each mtr's CRC again. */
static void fp_fold(ibc_redo *r, uint64_t lsn)
{
    if (r->fp_on && lsn > r->fp_lsn && r->fp_lsn >= r->win.lsn) {
        r->fp = r->k->crc32c(r->fp, redo_win_at(r, r->fp_lsn), (size_t)(lsn - r->fp_lsn));
        r->fp_lsn = lsn;
    }
}

/* Frame the mtr at lsn, refilling the window when it is cut short. Calls fn(NULL) (flush)
 * before the window moves. */
static ibc_status frame_at(ibc_redo *r, uint64_t lsn, uint64_t limit, redo_mtr_fn fn, void *ctx,
                           redo_frame_status *fs, redo_mtr *m, uint8_t **p, char *err,
                           size_t errlen)
{
    size_t avail = 0;
    ibc_status st = IBC_OK;
    if (r->ahead_i < r->ahead_n && r->ahead[r->ahead_i].lsn == lsn) { /* framed already */
        *m = r->ahead[r->ahead_i];
        *fs = (redo_frame_status)r->ahead_st[r->ahead_i++];
        *p = redo_win_at(r, lsn);
        return IBC_OK;
    }
    if (lsn >= r->win.lsn && lsn <= r->win.lsn + r->win.len && r->win.buf)
        avail = (size_t)(r->win.lsn + r->win.len - lsn);
    else
        st = redo_win_ensure(r, lsn, REDO_CHUNK, limit, &avail, err, errlen);
    if (st != IBC_OK)
        return st;
    *fs = frame_ahead(r, lsn, avail, m);
    /* cut short: read on, a chunk at a time (an mtr may be up to REDO_MTR_BYTES long) */
    while (*fs == REDO_FRAME_SHORT && r->win.lsn + r->win.len < limit && avail < REDO_MTR_BYTES) {
        size_t had = avail;
        fp_fold(r, lsn);
        if (fn && (st = fn(r, ctx, NULL, NULL, err, errlen)) != IBC_OK)
            return st;
        st = redo_win_ensure(r, lsn, had + REDO_CHUNK, limit, &avail, err, errlen);
        if (st != IBC_OK)
            return st;
        if (avail <= had)
            break;
        *fs = frame_ahead(r, lsn, avail, m);
    }
    *p = redo_win_at(r, lsn);
    return IBC_OK;
}

ibc_status redo_read_mtr(ibc_redo *r, uint64_t lsn, redo_mtr *m, const uint8_t **p, char *err,
                         size_t errlen)
{
    redo_frame_status fs;
    uint64_t limit = r->info.checkpoint_lsn + r->info.capacity;
    uint8_t *q = NULL;
    ibc_status st = frame_at(r, lsn, limit, NULL, NULL, &fs, m, &q, err, errlen);
    *p = q;
    if (st != IBC_OK)
        return st;
    if (fs != REDO_FRAME_OK) {
        redo_err(r, err, errlen, "mini-transaction at LSN %llu (file offset %llu): %s",
                 (unsigned long long)lsn, (unsigned long long)redo_offset(r, lsn),
                 redo_frame_name(fs));
        return IBC_ERR_CORRUPT;
    }
    return IBC_OK;
}

/* The LSN named by an mtr whose last record is FILE_CHECKPOINT (type 0xFA, body 00 00 LSN),
 * from its plaintext records; 0 if it is not that record. */
static uint64_t file_checkpoint_lsn(const uint8_t *recs, const redo_mtr *m)
{
    const uint8_t *l = recs + m->last_at;
    if (m->len - m->last_at != 11 || l[0] != (FILE_CHECKPOINT | 10) || l[1] || l[2])
        return 0;
    return be64(l + 3);
}

/* Does the mtr at p carry FILE_CHECKPOINT(checkpoint)? 1 yes, 0 no, -1 unreadable (encrypted
 * and no key: the type byte alone must do). */
static int names_checkpoint(ibc_redo *r, const uint8_t *p, const redo_mtr *m)
{
    if (r->info.format == IBC_REDO_ENC_11) {
        int shaped = m->last_type == (FILE_CHECKPOINT | 10) && m->len - m->last_at == 11;
        if (!r->have_key || (m->body >= 16 && r->algo == IBC_ALGO_AUTO) ||
            redo_tmp_reserve(r, 2 * (size_t)m->len) != IBC_OK)
            return shaped ? -1 : 0;
        redo_crypt_mtr(r, &r->key, r->algo == IBC_ALGO_AUTO ? IBC_ALGO_CBC : r->algo, 0, p, m,
                       r->tmp, r->tmp + m->len);
        return file_checkpoint_lsn(r->tmp, m) == r->info.checkpoint_lsn;
    }
    /* plain and ENC_10_8: FILE_ records are never encrypted */
    return file_checkpoint_lsn(p, m) == r->info.checkpoint_lsn;
}

/* The walk stopped at lsn. Is that the end of the log, or damage?
 *
 * Past the real end there is, up to the end of the block the last write ended in, whatever the
 * server's write buffer held (it writes whole blocks: a 0 after the last mtr, then stale copies
 * of earlier mtrs of this pass, which frame and pass their CRC), and from the next block on
 * only zeros or old mtrs of the previous pass round the ring, whose sequence bit is the other
 * one. So the log goes on past damage iff a plausible mtr of this pass starts within
 * REDO_RESYNC bytes after the next REDO_BLOCK boundary of the file: *next_ok receives its LSN.
 * Damage in the last block of the log cannot be told from a write cut short by a crash
 * (recovery stops there too), nor an mtr longer than REDO_RESYNC_MTR from old data. A CRC-32C
 * matching by chance is a 2^-32 event. */
#define REDO_BLOCK      4096u
#define REDO_RESYNC     (256u << 10) /* candidate starts after the boundary */
#define REDO_RESYNC_MTR (256u << 10) /* longest mtr looked for */
#define REDO_TRIES      32           /* exact checks per candidate end */
#define TERM_DEAD       (-2)

/* term[x] = where the records walked from position x of p (w bytes) end: the offset of the
 * first byte <= 1 (the sequence byte), or TERM_DEAD when a walk leaves the window or meets an
 * impossible length. A walk from x continues as the walk from the next record's start, so one
 * pass from the back fills every position in linear time, reading term[] mostly a few bytes
 * ahead of where it writes. */
static void walk_ends(const uint8_t *p, size_t w, int32_t *term)
{
    for (size_t x = w; x-- > 0;) {
        if (p[x] <= 1) {
            term[x] = (int32_t)x;
            continue;
        }
        size_t rlen = p[x] & 15;
        if (!rlen) {
            if (x + 6 >= w || redo_varint(p + x + 1) >= MTR_SIZE_MAX) {
                term[x] = TERM_DEAD;
                continue;
            }
            rlen = redo_varint(p + x + 1) + 15;
        }
        term[x] = x + 1 + rlen < w ? term[x + 1 + rlen] : TERM_DEAD;
    }
}

static ibc_status resync(ibc_redo *r, uint64_t lsn, redo_mtr_fn fn, void *ctx, uint64_t limit,
                         uint64_t *next_ok, char *err, size_t errlen)
{
    ibc_status st;
    *next_ok = 0;
    const uint64_t from = lsn + REDO_BLOCK - redo_offset(r, lsn) % REDO_BLOCK;
    if (from >= limit)
        return IBC_OK;
    if (fn && (st = fn(r, ctx, NULL, NULL, err, errlen)) != IBC_OK)
        return st;
    size_t avail;
    st = redo_win_ensure(r, from, REDO_RESYNC + REDO_RESYNC_MTR + 16, limit, &avail, err, errlen);
    if (st != IBC_OK)
        return st;
    const uint8_t *p = redo_win_at(r, from);
    /* the search reads no further (a candidate ends within the window, and 13 bytes of
     * sequence byte, nonce and CRC follow); so the answer depends only on these bytes, from and
     * first_lsn, and the scans of one command (key check, verify, re-key) ask it again of an
     * unchanged log */
    if (avail > REDO_RESYNC + REDO_RESYNC_MTR + 16)
        avail = REDO_RESYNC + REDO_RESYNC_MTR + 16;
    uint32_t crc = r->k->crc32c(0, p, avail);
    if (r->rs_valid && r->rs_from == from && r->rs_avail == avail && r->rs_crc == crc &&
        r->rs_first_lsn == r->info.first_lsn) {
        *next_ok = r->rs_next_ok;
        return IBC_OK;
    }
    size_t w = avail < REDO_RESYNC + REDO_RESYNC_MTR ? avail : REDO_RESYNC + REDO_RESYNC_MTR;
    int32_t *term = malloc(w * sizeof(*term));
    if (!term) {
        redo_err(r, err, errlen, "out of memory");
        return IBC_ERR_NOMEM;
    }
    walk_ends(p, w, term);
    int32_t last_t = TERM_DEAD;
    unsigned tries = 0;
    redo_mtr nm;
    for (size_t i = 0; i < w && i < REDO_RESYNC; i++) {
        if (p[i] <= 1)
            continue;
        int32_t t = term[i];
        if (t < 0 || (size_t)t - i > REDO_RESYNC_MTR || (size_t)t + 13 > avail ||
            p[t] != redo_seq_bit(r, from + (size_t)t))
            continue;
        if (t != last_t) {
            last_t = t;
            tries = 0;
        }
        if (tries++ >= REDO_TRIES)
            continue;
        if (plausible_mtr(r, p + i, avail - i, from + i, (size_t)t - i, &nm)) {
            *next_ok = from + i;
            break;
        }
    }
    free(term);
    r->rs_valid = 1;
    r->rs_from = from;
    r->rs_avail = avail;
    r->rs_crc = crc;
    r->rs_first_lsn = r->info.first_lsn;
    r->rs_next_ok = *next_ok;
    return IBC_OK;
}

ibc_status redo_scan(ibc_redo *r, redo_mtr_fn fn, void *ctx, ibc_redo_result *res, char *err,
                     size_t errlen)
{
    ibc_redo_info *in = &r->info;
    const uint64_t cp = in->checkpoint_lsn, cp_end = in->checkpoint_end_lsn;
    const uint64_t limit = cp + in->capacity;
    uint64_t lsn = cp, mtrs = 0;
    int reached = cp_end == cp, found = 0;
    redo_frame_status fs;
    redo_mtr m;
    uint8_t *p;
    ibc_status st;
    memset(res, 0, sizeof(*res));
    redo_win_reset(r); /* always read fresh: the file may have been rewritten */
    r->fp_on = 1;
    r->fp_lsn = cp;
    r->fp = 0;
    r->cb_bad_lsn = 0;
    for (;;) {
        st = frame_at(r, lsn, limit, fn, ctx, &fs, &m, &p, err, errlen);
        if (st != IBC_OK)
            goto fail;
        if (fs != REDO_FRAME_OK)
            break;
        if (lsn == cp_end)
            reached = 1;
        if (!found && lsn >= cp_end && (m.last_type & 0xF0) == FILE_CHECKPOINT) {
            found = names_checkpoint(r, p, &m) != 0;
        }
        if (fn && (st = fn(r, ctx, p, &m, err, errlen)) != IBC_OK) {
            if (st == IBC_STATUS_COUNT) { /* stop early: the caller has what it needs */
                r->fp_on = 0;
                return IBC_OK;
            }
            if (!r->cb_bad_lsn)
                r->cb_bad_lsn = lsn;
            goto fail;
        }
        lsn += m.size;
        mtrs++;
    }
    fp_fold(r, lsn);
    r->fp_on = 0;
    /* what the callback holds back comes first: a failure there precedes where the walk
     * stopped */
    if (fn && (st = fn(r, ctx, NULL, NULL, err, errlen)) != IBC_OK)
        goto fail;
    /* Where the walk stopped: the end of the log, or damage? */
    uint64_t next_ok = 0;
    redo_mtr bad = m;
    redo_frame_status bad_fs = fs;
    if (fs != REDO_FRAME_SHORT && (st = resync(r, lsn, fn, ctx, limit, &next_ok, err, errlen)))
        goto fail;
    int damaged = next_ok != 0;
    in->scanned = 1;
    r->scan_fp = r->fp;
    in->end_lsn = lsn;
    in->end_offset = redo_offset(r, lsn);
    in->pending_bytes = lsn - cp;
    in->mtrs = mtrs;
    in->torn_tail = !damaged && bad_fs == REDO_FRAME_CRC;
    res->mtrs = mtrs;
    res->bytes = lsn - cp;
    char why[160];
    if (bad_fs == REDO_FRAME_CRC)
        snprintf(why, sizeof(why), "CRC-32C mismatch (stored %08x, computed %08x)", bad.crc_stored,
                 bad.crc_calc);
    else
        snprintf(why, sizeof(why), "%s", redo_frame_name(bad_fs));
    if (damaged || !found || !reached) {
        res->bad_lsn = lsn;
        res->bad_offset = redo_offset(r, lsn);
        in->scanned = 0;
    }
    if (damaged) {
        redo_err(r, err, errlen,
                 "mini-transaction at LSN %llu (file offset %llu): %s, but valid ones follow "
                 "from LSN %llu: the log is damaged",
                 (unsigned long long)lsn, (unsigned long long)redo_offset(r, lsn), why,
                 (unsigned long long)next_ok);
        return IBC_ERR_CORRUPT;
    }
    if (!reached || !found) {
        redo_err(r, err, errlen,
                 "the log ends at LSN %llu (file offset %llu: %s) without FILE_CHECKPOINT(%llu) "
                 "%s%llu; recovery from this checkpoint would fail (damaged or truncated log)",
                 (unsigned long long)lsn, (unsigned long long)redo_offset(r, lsn), why,
                 (unsigned long long)cp, reached ? "at or after LSN " : "expected at LSN ",
                 (unsigned long long)cp_end);
        return IBC_ERR_CORRUPT;
    }
    if (fn && (st = fn(r, ctx, NULL, NULL, err, errlen)) != IBC_OK)
        return st == IBC_STATUS_COUNT ? IBC_OK : st;
    return IBC_OK;
fail:
    r->fp_on = 0;
    if (st == IBC_STATUS_COUNT)
        return IBC_OK;
    if (r->cb_bad_lsn) {
        res->bad_lsn = r->cb_bad_lsn;
        res->bad_offset = redo_offset(r, r->cb_bad_lsn);
    }
    return st;
}

/* ---- verify ------------------------------------------------------------------------------ */

typedef struct deep_ctx {
    uint64_t records;
    int batched;   /* FORMAT_ENC_11: decrypt in batches */
    redo_batch b;
    uint8_t *out;  /* the plaintext records of a batch */
    size_t out_cap;
    redo_recs rc;  /* its inputs set once: a per-mtr initialiser cleared its 96-byte message */
} deep_ctx;

static ibc_status deep_check(ibc_redo *r, deep_ctx *dc, const uint8_t *plain, uint64_t lsn,
                             uint32_t len, char *err, size_t errlen)
{
    redo_recs *c = &dc->rc;
    if (redo_check_records(plain, len, c)) {
        redo_err(r, err, errlen,
                 "mini-transaction at LSN %llu (file offset %llu), record %u at +%u: %s",
                 (unsigned long long)lsn, (unsigned long long)redo_offset(r, lsn),
                 c->records + 1, c->bad_at, c->why);
        r->cb_bad_lsn = lsn;
        return IBC_ERR_CORRUPT;
    }
    dc->records += c->records;
    return IBC_OK;
}

/* Decrypt and check the mtrs of the batch, in order. */
static ibc_status deep_flush(ibc_redo *r, deep_ctx *dc, char *err, size_t errlen)
{
    redo_batch *b = &dc->b;
    if (!b->n)
        return IBC_OK;
    size_t need = redo_batch_out_size(b) + REDO_WIN_SLACK;
    if (need > dc->out_cap) {
        uint8_t *q = malloc(need + need / 2);
        if (!q) {
            redo_err(r, err, errlen, "out of memory");
            return IBC_ERR_NOMEM;
        }
        if (dc->out) {
            explicit_bzero(dc->out, dc->out_cap);
            free(dc->out);
        }
        dc->out = q;
        dc->out_cap = need + need / 2;
    }
    redo_batch_decrypt(r->k, b, &r->key, dc->out);
    ibc_status st = IBC_OK;
    for (size_t i = 0; i < b->n && st == IBC_OK; i++)
        st = deep_check(r, dc, dc->out + b->m[i].out, b->m[i].lsn, b->m[i].len, err, errlen);
    redo_batch_clear(b);
    return st;
}

static ibc_status deep_mtr(ibc_redo *r, void *vctx, uint8_t *p, const redo_mtr *m, char *err,
                           size_t errlen)
{
    deep_ctx *dc = vctx;
    ibc_status st;
    if (!m)
        return dc->batched ? deep_flush(r, dc, err, errlen) : IBC_OK;
    if (!r->info.encrypted)
        return deep_check(r, dc, p, m->lsn, m->len, err, errlen);
    if (r->info.format == IBC_REDO_ENC_11 && m->body >= 16 && r->algo == IBC_ALGO_AUTO) {
        if (dc->batched && (st = deep_flush(r, dc, err, errlen)) != IBC_OK)
            return st;
        redo_err(r, err, errlen,
                 "mini-transaction at LSN %llu: the cipher mode (AES_CBC or AES_CTR) is "
                 "unknown; give it when attaching the key",
                 (unsigned long long)m->lsn);
        return IBC_ERR_INVALID_ARG;
    }
    if (dc->batched) {
        if ((st = redo_batch_add(&dc->b, p, m)) != IBC_OK) {
            redo_err(r, err, errlen, "out of memory");
            return st;
        }
        return redo_batch_full(&dc->b) ? deep_flush(r, dc, err, errlen) : IBC_OK;
    }
    /* FORMAT_10_8: payloads of page records, each its own stream */
    if ((st = redo_tmp_reserve(r, 2 * (size_t)m->len)) != IBC_OK)
        return st;
    ibc_algo a = r->algo == IBC_ALGO_AUTO ? IBC_ALGO_CBC : r->algo;
    redo_crypt_mtr(r, &r->key, a, 0, p, m, r->tmp, r->tmp + m->len);
    return deep_check(r, dc, r->tmp, m->lsn, m->len, err, errlen);
}

ibc_status ibc_redo_verify(ibc_redo *r, int deep, ibc_redo_result *res, char *err, size_t errlen)
{
    ibc_redo_result tmp;
    if (!r)
        return IBC_ERR_INVALID_ARG;
    if (!res)
        res = &tmp;
    if (deep && r->info.encrypted && !r->have_key) {
        memset(res, 0, sizeof(*res));
        redo_err(r, err, errlen, "deep verify of an encrypted log needs key 1");
        return IBC_ERR_KEY_MISSING;
    }
    deep_ctx dc = {.rc = {.page_size = r->page_size, .hook = r->hook, .hook_ctx = r->hook_ctx}};
    ibc_status st;
    memset(res, 0, sizeof(*res));
    if (deep && r->info.format == IBC_REDO_ENC_11) {
        /* the mode: CBC where no stream tells them apart (as redo_crypt_mtr) */
        if ((st = redo_batch_init(&dc.b, r->algo == IBC_ALGO_CTR ? IBC_ALGO_CTR : IBC_ALGO_CBC, 1)))
            return st;
        dc.batched = 1;
    }
    st = redo_scan(r, deep ? deep_mtr : NULL, &dc, res, err, errlen);
    res->records = dc.records;
    if (dc.batched)
        redo_batch_free(&dc.b);
    if (dc.out) {
        explicit_bzero(dc.out, dc.out_cap); /* plaintext */
        free(dc.out);
    }
    return st;
}
