/*
 * redo_rekey.c - re-keying ib_logfile0: a new header (rewrap), or every mtr from the
 * checkpoint to the end re-encrypted under a new log key (formats/mariadb.md §10.4.8).
 *
 * Rewrap keeps the log key L and stores crypt_msg' = AES-ECB-Decrypt(K1', L), so that
 * AES-ECB(K1', crypt_msg') = L again: only the header changes. Re-encryption takes a new
 * crypt_msg', hence L' = AES-ECB(K1', crypt_msg'), and re-encrypts each mtr with its own IV
 * (nonce and T_1 unchanged), then recomputes its CRC; framing and LSNs do not move.
 *
 * The one idea of the fast path (FORMAT_ENC_11, mode unchanged): an mtr is one short cipher
 * stream (78 bytes on average in a real OLTP log), far too short for a kernel call of its
 * own, so the streams of a batch of mtrs go through the kernels together:
 *   AES_CBC: the whole blocks of all streams are gathered into one buffer and decrypted in
 *            one ECB call (CBC decryption is parallel: XOR with the previous ciphertext block
 *            afterwards); encryption runs in waves, block j of every stream that has one in
 *            one ECB call, longest streams first so that each wave is a prefix, and the few
 *            long streams left finish with aes_cbc_enc; the tails (MyCTX_nopad) are XORed with
 *            AES-ECB(L, IV) ^ AES-ECB(L', IV), the masks of the whole batch in two ECB calls;
 *   AES_CTR: the counter blocks of all streams are encrypted under L and L' in two ECB calls,
 *            and both keystreams XORed into the streams where they lie.
 * (The multi-buffer kernels cost about a microsecond per call whatever the lane lengths: a
 * win for 16 KiB pages, a loss for 5-block streams.) Everything else (FORMAT_10_8 per-record
 * payloads, a change of mode) takes the per-mtr path: decrypt, then encrypt.
 *
 * The scan before the pass checked every CRC; the pass frames the mtrs again and compares a
 * running CRC of all its input bytes (taken in large pieces) with the scan's, instead of the
 * CRC of each mtr. Each mtr's new CRC is computed from its output.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "format.h"
#include "redo_internal.h"

struct ibc_redo_target {
    const ibc_redo *src;
    ibc_rekey_mode mode;
    ibc_algo algo;
    uint8_t hdr[LOG_HDR_SIZE];
    uint8_t log_key[16]; /* secret */
    ibc_aes_key key;     /* secret */
};

void ibc_redo_target_free(ibc_redo_target *t)
{
    if (!t)
        return;
    explicit_bzero(t->log_key, sizeof(t->log_key));
    ibc_aes_key_wipe(&t->key);
    free(t);
}

void ibc_redo_target_header(const ibc_redo_target *t, uint8_t hdr[LOG_HDR_SIZE])
{
    memcpy(hdr, t->hdr, LOG_HDR_SIZE);
}

ibc_status ibc_redo_target_new(const ibc_redo *r, const ibc_keyring *kr, ibc_rekey_mode mode,
                               ibc_algo algo, const uint8_t *crypt_msg, ibc_redo_target **out,
                               char *err, size_t errlen)
{
    if (!out)
        return IBC_ERR_INVALID_ARG;
    *out = NULL;
    if (!r || !kr || algo > IBC_ALGO_CTR ||
        (mode != IBC_REKEY_REWRAP && mode != IBC_REKEY_REENCRYPT))
        return IBC_ERR_INVALID_ARG;
    if (!r->info.encrypted) {
        redo_err(r, err, errlen, "the log is not encrypted: nothing to re-key");
        return IBC_ERR_INVALID_ARG;
    }
    if (!r->have_key) {
        redo_err(r, err, errlen, "attach the current key 1 before re-keying");
        return IBC_ERR_INVALID_ARG;
    }
    if (mode == IBC_REKEY_REWRAP && algo != IBC_ALGO_AUTO && r->algo != IBC_ALGO_AUTO &&
        algo != r->algo) {
        redo_err(r, err, errlen, "a rewrap keeps the log key and the cipher mode");
        return IBC_ERR_INVALID_ARG;
    }
    ibc_redo_target *t = calloc(1, sizeof(*t));
    if (!t)
        return IBC_ERR_NOMEM;
    t->src = r;
    t->mode = mode;
    t->algo = mode == IBC_REKEY_REWRAP || algo == IBC_ALGO_AUTO ? r->algo : algo;
    memcpy(t->hdr, r->hdr, LOG_HDR_SIZE);
    uint8_t fk[IBC_KEY_MAX], msg[16];
    size_t fklen = 0;
    ibc_status st =
        ibc_keyring_get(kr, LOG_DEFAULT_ENCRYPTION_KEY, r->info.key_version, fk, &fklen);
    if (st != IBC_OK) {
        redo_err(r, err, errlen, "the new keys have no key 1 version %u", r->info.key_version);
        ibc_redo_target_free(t);
        return st;
    }
    ibc_aes_key k1;
    r->k->aes_expand(&k1, fk, fklen);
    if (mode == IBC_REKEY_REWRAP) {
        memcpy(t->log_key, r->log_key, 16);
        r->k->aes_ecb_dec(&k1, t->log_key, msg, 1); /* then AES-ECB(K1', msg) = L */
    } else {
        if (crypt_msg)
            memcpy(msg, crypt_msg, 16);
        else if (getrandom(msg, 16, 0) != 16)
            st = IBC_ERR_IO;
        r->k->aes_ecb_enc(&k1, msg, t->log_key, 1);
    }
    ibc_aes_key_wipe(&k1);
    explicit_bzero(fk, sizeof(fk));
    if (st != IBC_OK) {
        redo_err(r, err, errlen, "no random bytes for crypt_msg");
        ibc_redo_target_free(t);
        return st;
    }
    memcpy(t->hdr + LOG_CRYPT_MSG, msg, 16);
    put_be32(t->hdr + LOG_HEADER_CRC, r->k->crc32c(0, t->hdr, LOG_HEADER_CRC));
    r->k->aes_expand(&t->key, t->log_key, 16);
    *out = t;
    return IBC_OK;
}

/* ---- the re-encryption pass --------------------------------------------------------------- */

#define RK_BATCH_BYTES  (64u << 10) /* stream bytes per batch: stays in L2 */
#define RK_BATCH_MTRS   2048
#define RK_EMIT_BYTES   (4u << 20) /* hand out the re-keyed bytes at least this often */
#define RK_WAVE_MIN     8          /* narrower CBC waves go through aes_cbc_enc per stream */
#define RK_SORT_BUCKETS 256

typedef struct rk_ctx {
    const ibc_redo_target *t;
    ibc_algo from, to; /* source and target mode (CBC where no stream tells them apart) */
    int fast;          /* FORMAT_ENC_11 and the same mode */
    ibc_redo_write_fn write;
    void *wctx;
    uint64_t emit_from, emit_to; /* re-keyed bytes in the window not yet handed out */
    uint64_t written, mtrs, refused_at;
    uint32_t fp; /* running CRC-32C of the input bytes, to compare with the scan's */
    /* the batch: mtrs in the window, structure of arrays */
    size_t n;
    uint8_t **p;
    redo_mtr *m;
    uint32_t *nb;  /* whole blocks of its stream */
    uint32_t *w;   /* the first of them in wb (block index) */
    uint32_t *ord; /* streams by decreasing nb */
    size_t blocks; /* whole blocks of the batch */
    size_t sbytes; /* stream bytes of the batch */
    uint8_t (*iv)[16], (*m1)[16], (*m2)[16], (*tl)[16], (*x)[16];
    uint8_t *wb, *db;           /* whole blocks: ciphertext (then new ciphertext), plaintext */
    size_t wcap, dcap, cblocks; /* cblocks: blocks counting partial ones (CTR) */
} rk_ctx;

static ibc_status grow(uint8_t **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return IBC_OK;
    size_t c = need + need / 2;
    uint8_t *q = malloc(c);
    if (!q)
        return IBC_ERR_NOMEM;
    if (*p) {
        explicit_bzero(*p, *cap);
        free(*p);
    }
    *p = q;
    *cap = c;
    return IBC_OK;
}

/* d = a ^ b for one block, in 64-bit words (no alignment assumed). */
static inline void xor16(uint8_t *d, const uint8_t *a, const uint8_t *b)
{
    uint64_t x[2], y[2];
    memcpy(x, a, 16);
    memcpy(y, b, 16);
    x[0] ^= y[0];
    x[1] ^= y[1];
    memcpy(d, x, 16);
}

/* Copy stream bytes [pos, pos + n) of mtr i out of (dir 0) or back into (dir 1) its whole
 * blocks in wb and its tail tl[i]. */
static void stream_io(rk_ctx *c, size_t i, uint8_t *bytes, uint32_t pos, uint32_t n, int dir)
{
    uint32_t whole = 16 * c->nb[i];
    uint8_t *wb = c->wb + 16 * (size_t)c->w[i];
    if (pos < whole) {
        uint32_t k = whole - pos < n ? whole - pos : n;
        if (dir)
            redo_copy(bytes, wb + pos, k);
        else
            redo_copy(wb + pos, bytes, k);
        bytes += k;
        pos += k;
        n -= k;
    }
    if (n) {
        if (dir)
            redo_copy(bytes, c->tl[i] + (pos - whole), n);
        else
            redo_copy(c->tl[i] + (pos - whole), bytes, n);
    }
}

/* Walk the record bodies of mtr i: out of the window (dir 0) or back (dir 1). */
static void move_stream(rk_ctx *c, size_t i, int dir)
{
    uint8_t *p = c->p[i];
    uint32_t len = c->m[i].len, hl;
    if (c->m[i].nrec == 1) { /* one record: one piece */
        hl = c->m[i].t1len;
        stream_io(c, i, p + hl, 0, len - hl, dir);
        return;
    }
    for (uint32_t pos = 0, s = 0; pos < len;) {
        uint32_t size = redo_rec_size(p + pos, &hl);
        stream_io(c, i, p + pos + hl, s, size - hl, dir);
        s += size - hl;
        pos += size;
    }
}

/* AES-CBC, all streams of the batch at once. Decryption is parallel: every whole block in one
 * ECB call, then XOR with the previous ciphertext block (or the IV). Encryption is serial in
 * each stream but not across streams: wave j encrypts block j of every stream that has one, in
 * one ECB call (streams sorted longest first, so a wave is a prefix); when fewer than
 * RK_WAVE_MIN streams are left, each finishes with aes_cbc_enc. Tails: XOR with
 * AES-ECB(L, IV) ^ AES-ECB(L', IV), the masks of all streams in two ECB calls. */
static void rekey_cbc(const ibc_redo *r, rk_ctx *c)
{
    const ibc_kernels *k = r->k;
    const ibc_aes_key *ko = &r->key, *kn = &c->t->key;
    if (c->blocks) {
        k->aes_ecb_dec(ko, c->wb, c->db, c->blocks);
        for (size_t i = 0; i < c->n; i++) {
            uint8_t *d = c->db + 16 * (size_t)c->w[i];
            const uint8_t *prev = c->iv[i], *cw = c->wb + 16 * (size_t)c->w[i];
            for (uint32_t j = 0; j < c->nb[i]; j++, prev = cw + 16 * (j - 1))
                xor16(d + 16 * j, d + 16 * j, prev);
        }
    }
    k->aes_ecb_enc(ko, c->iv[0], c->m1[0], c->n);
    k->aes_ecb_enc(kn, c->iv[0], c->m2[0], c->n);
    /* counting sort by block count, longest first */
    size_t count[RK_SORT_BUCKETS] = {0}, start[RK_SORT_BUCKETS], nl = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->nb[i])
            count[c->nb[i] < RK_SORT_BUCKETS ? c->nb[i] : RK_SORT_BUCKETS - 1]++;
    for (size_t b = RK_SORT_BUCKETS; b-- > 0;) {
        start[b] = nl;
        nl += count[b];
    }
    for (size_t i = 0; i < c->n; i++)
        if (c->nb[i])
            c->ord[start[c->nb[i] < RK_SORT_BUCKETS ? c->nb[i] : RK_SORT_BUCKETS - 1]++] =
                (uint32_t)i;
    /* the waves: wide ones through ECB. Slot s keeps stream ord[s]'s chaining value in x[s]:
     * the IV, then each wave's output block. */
    size_t wave = nl;
    uint32_t j = 0;
    for (size_t q = 0; q < nl; q++)
        memcpy(c->x[q], c->iv[c->ord[q]], 16);
    for (;; j++) {
        while (wave && c->nb[c->ord[wave - 1]] <= j) /* streams without a block j */
            wave--;
        if (wave < RK_WAVE_MIN)
            break;
        for (size_t q = 0; q < wave; q++)
            xor16(c->x[q], c->x[q], c->db + 16 * ((size_t)c->w[c->ord[q]] + j));
        k->aes_ecb_enc(kn, c->x[0], c->x[0], wave);
        for (size_t q = 0; q < wave; q++)
            memcpy(c->wb + 16 * ((size_t)c->w[c->ord[q]] + j), c->x[q], 16);
    }
    /* the long streams left: one serial chain each */
    for (size_t q = 0; q < wave; q++) {
        size_t i = c->ord[q];
        k->aes_cbc_enc(kn, c->x[q], c->db + 16 * ((size_t)c->w[i] + j),
                       c->wb + 16 * ((size_t)c->w[i] + j), c->nb[i] - j);
    }
    for (size_t i = 0; i < c->n; i++)
        xor16(c->tl[i], c->tl[i], c->m1[i]), xor16(c->tl[i], c->tl[i], c->m2[i]);
}

/* AES-CTR: the counter blocks of every stream under both keys, in two ECB calls; the stream
 * is XORed with both keystreams where it lies (no gathering). */
static void rekey_ctr(const ibc_redo *r, rk_ctx *c)
{
    const ibc_kernels *k = r->k;
    uint8_t *ctr = c->db, *k1 = c->wb; /* room for blocks + n blocks each */
    size_t b = 0;
    for (size_t i = 0; i < c->n; i++) {
        uint8_t v[16];
        memcpy(v, c->iv[i], 16);
        for (uint32_t j = 0; j < (c->m[i].body + 15) / 16; j++, b++) {
            memcpy(ctr + 16 * b, v, 16);
            for (int q = 15; q >= 0 && !++v[q]; q--) /* 128-bit big-endian increment */
                ;
        }
    }
    k->aes_ecb_enc(&r->key, ctr, k1, b);
    k->aes_ecb_enc(&c->t->key, ctr, ctr, b);
    for (size_t q = 0; q < 16 * b; q++)
        ctr[q] ^= k1[q];
    const uint8_t *ks = ctr;
    for (size_t i = 0; i < c->n; i++) {
        uint8_t *p = c->p[i];
        uint32_t hl;
        for (uint32_t pos = 0, s = 0; pos < c->m[i].len;) {
            uint32_t size = redo_rec_size(p + pos, &hl);
            for (uint32_t q = hl; q < size; q++)
                p[pos + q] ^= ks[s++];
            pos += size;
        }
        ks += 16 * (size_t)((c->m[i].body + 15) / 16);
    }
}

static ibc_status emit(ibc_redo *r, rk_ctx *c)
{
    uint64_t a = c->emit_from, b = c->emit_to;
    while (a < b) {
        uint64_t off = redo_offset(r, a);
        size_t n = (size_t)(b - a < r->size - off ? b - a : r->size - off);
        if (c->write && c->write(c->wctx, off, redo_win_at(r, a), n) != 0) {
            c->refused_at = off + 1;
            return IBC_ERR_IO;
        }
        c->written += n;
        a += n;
    }
    c->emit_from = b;
    return IBC_OK;
}

static ibc_status run_batch(ibc_redo *r, rk_ctx *c)
{
    if (!c->n)
        return IBC_OK;
    const ibc_kernels *k = r->k;
    uint64_t first = c->m[0].lsn, last = c->m[c->n - 1].lsn + c->m[c->n - 1].size;
    c->fp = k->crc32c(c->fp, c->p[0], (size_t)(last - first)); /* the input, contiguous */
    if (c->fast) {
        for (size_t i = 0; i < c->n; i++)
            redo_enc11_iv(c->p[i], &c->m[i], c->iv[i]);
        if (c->to == IBC_ALGO_CTR) {
            rekey_ctr(r, c);
        } else {
            for (size_t i = 0; i < c->n; i++)
                move_stream(c, i, 0);
            rekey_cbc(r, c);
            for (size_t i = 0; i < c->n; i++)
                move_stream(c, i, 1);
        }
    } else {
        for (size_t i = 0; i < c->n; i++) {
            redo_crypt_mtr(r, &r->key, c->from, 0, c->p[i], &c->m[i], c->p[i], c->db);
            redo_crypt_mtr(r, &c->t->key, c->to, 1, c->p[i], &c->m[i], c->p[i], c->db);
        }
    }
    for (size_t i = 0; i < c->n; i++) /* the new CRC over the records and the nonce */
        put_be32(c->p[i] + c->m[i].len + 1 + REDO_NONCE,
                 redo_mtr_crc(k, c->p[i], c->m[i].len, REDO_NONCE));
    c->emit_to = last;
    c->mtrs += c->n;
    c->n = c->blocks = c->cblocks = c->sbytes = 0;
    return c->emit_to - c->emit_from >= RK_EMIT_BYTES ? emit(r, c) : IBC_OK;
}

static ibc_status add_mtr(ibc_redo *r, rk_ctx *c, uint8_t *p, const redo_mtr *m, char *err,
                          size_t errlen)
{
    ibc_status st;
    if (m->body >= 16 && (r->algo == IBC_ALGO_AUTO || c->t->algo == IBC_ALGO_AUTO)) {
        redo_err(r, err, errlen,
                 "mini-transaction at LSN %llu: the cipher mode (AES_CBC or AES_CTR) is "
                 "unknown; give it when attaching the key",
                 (unsigned long long)m->lsn);
        return IBC_ERR_INVALID_ARG;
    }
    /* room for the blocks of the streams, partial ones counted (CTR), and for one mtr's stream
     * (the per-mtr path gathers it in db) */
    size_t need = 16 * (c->cblocks + (m->body + 15) / 16 + 1);
    if ((st = grow(&c->wb, &c->wcap, need)) != IBC_OK || (st = grow(&c->db, &c->dcap, need)))
        return st;
    size_t i = c->n++;
    c->cblocks += (m->body + 15) / 16;
    c->p[i] = p;
    c->m[i] = *m;
    c->nb[i] = m->body / 16;
    c->w[i] = (uint32_t)c->blocks;
    c->blocks += c->nb[i];
    c->sbytes += m->body;
    if (c->n == RK_BATCH_MTRS || c->sbytes >= RK_BATCH_BYTES)
        return run_batch(r, c);
    return IBC_OK;
}

/* The second pass: every mtr of [checkpoint, end) as the scan found them, framed again (the
 * framing must hold, but the CRCs are not checked one by one: a running CRC of all input bytes
 * must equal the scan's), batched, re-keyed, and handed out. */
static ibc_status rekey_pass(ibc_redo *r, rk_ctx *c, char *err, size_t errlen)
{
    const uint64_t cp = r->info.checkpoint_lsn, end = r->info.end_lsn;
    const uint64_t limit = cp + r->info.capacity;
    uint64_t lsn = cp;
    ibc_status st;
    redo_mtr m;
    r->win.len = 0;
    c->emit_from = c->emit_to = cp;
    while (lsn < end) {
        size_t avail = 0;
        if (r->win.buf && lsn >= r->win.lsn && lsn <= r->win.lsn + r->win.len)
            avail = (size_t)(r->win.lsn + r->win.len - lsn);
        if (avail > end - lsn)
            avail = (size_t)(end - lsn);
        redo_frame_status fs = redo_frame_walk(r, redo_win_at(r, lsn), avail, lsn, &m);
        if (fs == REDO_FRAME_SHORT && lsn + avail < end) {
            /* finish what the window holds before it moves */
            if ((st = run_batch(r, c)) != IBC_OK || (st = emit(r, c)) != IBC_OK)
                return st;
            st = redo_win_ensure(
                r, lsn,
                (size_t)(end - lsn < REDO_MTR_RECS_MAX + 64 ? end - lsn : REDO_MTR_RECS_MAX + 64),
                limit, &avail, err, errlen);
            if (st != IBC_OK)
                return st;
            if (avail > end - lsn)
                avail = (size_t)(end - lsn);
            fs = redo_frame_walk(r, redo_win_at(r, lsn), avail, lsn, &m);
        }
        if (fs != REDO_FRAME_OK) {
            redo_err(r, err, errlen,
                     "the log changed since it was verified: no mini-transaction at LSN %llu "
                     "(file offset %llu) any more (%s)",
                     (unsigned long long)lsn, (unsigned long long)redo_offset(r, lsn),
                     redo_frame_name(fs));
            return IBC_ERR_CORRUPT;
        }
        if ((st = add_mtr(r, c, redo_win_at(r, lsn), &m, err, errlen)) != IBC_OK)
            return st;
        lsn += m.size;
    }
    if ((st = run_batch(r, c)) != IBC_OK || (st = emit(r, c)) != IBC_OK)
        return st;
    if (c->fp != r->scan_fp) {
        redo_err(r, err, errlen,
                 "the log changed since it was verified (the bytes of "
                 "[%llu, %llu) differ)",
                 (unsigned long long)cp, (unsigned long long)end);
        return IBC_ERR_CORRUPT;
    }
    return IBC_OK;
}

static void rk_free(rk_ctx *c)
{
    uint8_t *bufs[] = {c->wb,
                       c->db,
                       (uint8_t *)c->iv,
                       (uint8_t *)c->m1,
                       (uint8_t *)c->m2,
                       (uint8_t *)c->tl,
                       (uint8_t *)c->x};
    size_t lens[] = {c->wcap,
                     c->dcap,
                     16 * RK_BATCH_MTRS,
                     16 * RK_BATCH_MTRS,
                     16 * RK_BATCH_MTRS,
                     16 * RK_BATCH_MTRS,
                     16 * RK_BATCH_MTRS};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        if (bufs[i]) {
            explicit_bzero(bufs[i], lens[i]); /* plaintext, keystream, masks */
            free(bufs[i]);
        }
    free(c->p);
    free(c->m);
    free(c->nb);
    free(c->w);
    free(c->ord);
}

ibc_status ibc_redo_rekey(ibc_redo *r, const ibc_redo_target *t, ibc_redo_write_fn write, void *ctx,
                          ibc_redo_result *res, char *err, size_t errlen)
{
    ibc_redo_result tmp;
    if (!res)
        res = &tmp;
    memset(res, 0, sizeof(*res));
    if (!r || !t || t->src != r || !r->have_key)
        return IBC_ERR_INVALID_ARG;
    ibc_status st = IBC_OK;
    rk_ctx c = {.t = t, .write = write, .wctx = ctx};
    if (t->mode == IBC_REKEY_REENCRYPT) {
        if (!r->info.scanned && (st = ibc_redo_verify(r, 0, res, err, errlen)) != IBC_OK)
            return st;
        c.from = r->algo == IBC_ALGO_AUTO ? IBC_ALGO_CBC : r->algo;
        c.to = t->algo == IBC_ALGO_AUTO ? c.from : t->algo;
        c.fast = r->info.format == IBC_REDO_ENC_11 && c.from == c.to;
        c.p = malloc(RK_BATCH_MTRS * sizeof(*c.p));
        c.m = malloc(RK_BATCH_MTRS * sizeof(*c.m));
        c.nb = malloc(RK_BATCH_MTRS * sizeof(*c.nb));
        c.w = malloc(RK_BATCH_MTRS * sizeof(*c.w));
        c.ord = malloc(RK_BATCH_MTRS * sizeof(*c.ord));
        c.iv = malloc(RK_BATCH_MTRS * 16);
        c.m1 = malloc(RK_BATCH_MTRS * 16);
        c.m2 = malloc(RK_BATCH_MTRS * 16);
        c.tl = malloc(RK_BATCH_MTRS * 16);
        c.x = malloc(RK_BATCH_MTRS * 16);
        if (!c.p || !c.m || !c.nb || !c.w || !c.ord || !c.iv || !c.m1 || !c.m2 || !c.tl || !c.x)
            st = IBC_ERR_NOMEM;
        else
            st = rekey_pass(r, &c, err, errlen);
        if (st == IBC_ERR_IO && c.refused_at)
            redo_err(r, err, errlen, "the write at offset %llu was refused",
                     (unsigned long long)(c.refused_at - 1));
        rk_free(&c);
        if (st != IBC_OK)
            return st;
    }
    if (write && write(ctx, 0, t->hdr, LOG_HDR_SIZE) != 0) {
        redo_err(r, err, errlen, "the write of the new header was refused");
        return IBC_ERR_IO;
    }
    res->mtrs = c.mtrs;
    res->bytes_written = c.written + LOG_HDR_SIZE;
    res->bytes = r->info.scanned ? r->info.pending_bytes : 0;
    return IBC_OK;
}
