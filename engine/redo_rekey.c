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
 * own, so the streams of a batch of mtrs go through the short-stream kernels together
 * (redo_batch_rekey): AES_CBC through aes_cbc_rekey_short (the whole blocks, in place), the
 * tails (MyCTX_nopad) XORed with AES-ECB(L, IV) ^ AES-ECB(L', IV), the masks of the whole batch
 * in two ECB calls; AES_CTR through aes_ctr2_short (both keystreams XORed in). AES_CBC streams
 * longer than RK_LONG_BLOCKS wait for IBC_MB_MAX_LANES of them and take the page re-key's
 * multi-buffer kernel (those of several records gathered into a buffer and scattered back).
 * Everything else (FORMAT_10_8 per-record payloads, a change of mode) takes the per-mtr path:
 * decrypt, then encrypt. The new CRCs of a batch go through the
 * multi-message CRC kernel together.
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

#define RK_EMIT_BYTES (4u << 20) /* hand out the re-keyed bytes at least this often */
#define RK_SLOW_MTRS  256        /* mtrs of the per-mtr path re-keyed together */
/* AES_CBC streams with more whole blocks than this skip the batch: they wait until the tier's
 * preferred number of them (mb_lanes) fill the lanes of the multi-buffer re-key. In a batch,
 * a group of the short-stream kernel runs to its longest lane. When the long streams of
 * several records stayed there (2711 of 63 blocks and more among the 2.76 million streams of
 * redo_bench's real CBC log), that kernel stepped 2.2 blocks for every block it re-keyed; since
 * they go here too, redo_bench re-keys that log at 2.24 against 1.85 GB/s (2026-11-24). */
#define RK_LONG_BLOCKS 16
/* Long streams waiting: several groups' worth, taken longest first, so that the lanes of a
 * group are about as long (the multi-buffer kernel steps a group to its longest lane). Taken
 * in arrival order, one group at a time, the kernel re-keyed the 141 MB of long streams of
 * redo_bench's CBC log at 6.7 GB/s; from this pool, longest first, at 9.4 (2026-11-24). */
#define RK_LONG_POOL (4 * IBC_MB_MAX_LANES)
_Static_assert(RK_SLOW_MTRS <= REDO_BATCH_MTRS && IBC_MB_MAX_LANES <= REDO_BATCH_MTRS,
               "rk_ctx.cm holds the CRCs of any group");

typedef struct rk_ctx {
    const ibc_redo_target *t;
    ibc_algo from, to; /* source and target mode (CBC where no stream tells them apart) */
    int fast;          /* FORMAT_ENC_11 and the same mode: batches */
    ibc_redo_write_fn write;
    void *wctx;
    uint64_t framed;             /* the end of the last mtr framed */
    uint64_t emit_from;          /* re-keyed bytes in the window not yet handed out start here */
    uint64_t written, mtrs, refused_at;
    uint64_t fp_lsn;             /* the running CRC of the input covers [checkpoint, fp_lsn) */
    uint32_t fp;
    redo_batch b;                /* the fast path */
    size_t nlong;                /* long CBC streams waiting */
    uint8_t *lp[RK_LONG_POOL];
    redo_mtr lm[RK_LONG_POOL];
    /* the streams of the waiting long mtrs of several records, gathered one after another:
     * lgneed bytes of lgcap (at most RK_EMIT_BYTES and an mtr: a flush takes them) */
    uint8_t *lg;
    size_t lgcap, lgneed;
    size_t nslow;                /* the per-mtr path */
    uint8_t **sp;
    redo_mtr *sm;
    uint8_t *tmp;
    size_t tmp_cap;
    ibc_crc_msg *cm;             /* the new CRCs of a batch (REDO_BATCH_MTRS) */
} rk_ctx;

/* Before any byte of [fp_lsn, framed) changes: fold it into the running CRC of the input. */
static void fp_fold_to(ibc_redo *r, rk_ctx *c)
{
    if (c->framed > c->fp_lsn) {
        c->fp = r->k->crc32c(c->fp, redo_win_at(r, c->fp_lsn), (size_t)(c->framed - c->fp_lsn));
        c->fp_lsn = c->framed;
    }
}

/* The new CRCs, over the records and the nonce, of the n re-keyed mtrs of c->cm (filled with
 * the records of each: their CRCs go through the multi-message kernel together). */
static void put_crcs(const ibc_kernels *k, rk_ctx *c, size_t n)
{
    k->crc32c_mb(c->cm, n, 1, REDO_NONCE);
    for (size_t i = 0; i < n; i++) { /* the mtrs are in the window, which is ours to write */
        uint8_t *p = (uint8_t *)(uintptr_t)c->cm[i].p;
        put_be32(p + c->cm[i].len + 1 + REDO_NONCE, c->cm[i].crc);
    }
}

static inline void crc_msg(rk_ctx *c, size_t i, const uint8_t *p, uint32_t len)
{
    c->cm[i] = (ibc_crc_msg){.p = p, .len = len};
}

static void run_batch(ibc_redo *r, rk_ctx *c)
{
    redo_batch *b = &c->b;
    if (!b->n)
        return;
    fp_fold_to(r, c);
    redo_batch_rekey(r->k, b, &r->key, &c->t->key);
    for (size_t i = 0; i < b->n; i++)
        crc_msg(c, i, b->m[i].p, b->m[i].len);
    put_crcs(r->k, c, b->n);
    c->mtrs += b->n;
    redo_batch_clear(b);
}

/* A group of n <= IBC_MB_MAX_LANES long CBC streams (the waiting ones at indexes at[]): whole
 * blocks in place through the multi-buffer re-key, the tails XORed with AES-ECB(L, IV) ^
 * AES-ECB(L', IV). A stream of several records is gathered first and scattered back after. */
static void run_long_group(ibc_redo *r, rk_ctx *c, const uint32_t *at, size_t n)
{
    const ibc_kernels *k = r->k;
    ibc_rekey_lane lanes[IBC_MB_MAX_LANES];
    uint8_t iv[IBC_MB_MAX_LANES][16], m1[IBC_MB_MAX_LANES][16], m2[IBC_MB_MAX_LANES][16];
    size_t g = 0; /* the group's gathered streams, one after another in c->lg */
    for (size_t i = 0; i < n; i++) {
        const size_t l = at[i];
        const redo_mtr *m = &c->lm[l];
        redo_enc11_iv(c->lp[l], m, iv[i]);
        uint8_t *s = c->lp[l] + m->t1len;
        if (m->nrec > 1) {
            s = c->lg + g;
            g += m->body;
            redo_pieces(c->lp[l], m, s, 0);
        }
        lanes[i].in = lanes[i].out = s;
        lanes[i].nblocks = m->body / 16;
        memcpy(lanes[i].iv_in, iv[i], 16);
        memcpy(lanes[i].iv_out, iv[i], 16);
        lanes[i].crc_in = lanes[i].crc_out = 0;
    }
    ibc_cbc_rekey_mb(k, &r->key, &c->t->key, lanes, n);
    k->aes_ecb_enc(&r->key, iv[0], m1[0], n);
    k->aes_ecb_enc(&c->t->key, iv[0], m2[0], n);
    for (size_t i = 0; i < n; i++) {
        const size_t l = at[i];
        const redo_mtr *m = &c->lm[l];
        uint8_t *s = lanes[i].out, *tail = s + (m->body & ~15u);
        for (uint32_t q = 0; q < m->body % 16; q++)
            tail[q] ^= m1[i][q] ^ m2[i][q];
        if (m->nrec > 1)
            redo_pieces(c->lp[l], m, s, 1);
        crc_msg(c, i, c->lp[l], m->len);
    }
    put_crcs(k, c, n);
    explicit_bzero(lanes, sizeof(lanes));
    explicit_bzero(m1, sizeof(m1));
    explicit_bzero(m2, sizeof(m2));
}

static int by_blocks_desc(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b; /* {whole blocks, index} */
    return (x[0] < y[0]) - (x[0] > y[0]);
}

/* The long CBC streams waiting, longest first, in groups of the tier's preferred lanes. */
static void run_long(ibc_redo *r, rk_ctx *c)
{
    if (!c->nlong)
        return;
    fp_fold_to(r, c);
    uint32_t ord[RK_LONG_POOL][2], at[IBC_MB_MAX_LANES];
    for (size_t l = 0; l < c->nlong; l++) {
        ord[l][0] = c->lm[l].body / 16;
        ord[l][1] = (uint32_t)l;
    }
    qsort(ord, c->nlong, sizeof(ord[0]), by_blocks_desc);
    const size_t g = r->k->mb_lanes; /* <= IBC_MB_MAX_LANES */
    for (size_t i = 0; i < c->nlong; i += g) {
        size_t n = c->nlong - i < g ? c->nlong - i : g;
        for (size_t j = 0; j < n; j++)
            at[j] = ord[i + j][1];
        run_long_group(r, c, at, n);
    }
    c->mtrs += c->nlong;
    c->nlong = 0;
    c->lgneed = 0;
}

/* The per-mtr path (FORMAT_10_8, or a change of mode): decrypt, then encrypt. */
static void run_slow(ibc_redo *r, rk_ctx *c)
{
    if (!c->nslow)
        return;
    fp_fold_to(r, c);
    for (size_t i = 0; i < c->nslow; i++) {
        redo_crypt_mtr(r, &r->key, c->from, 0, c->sp[i], &c->sm[i], c->sp[i], c->tmp);
        redo_crypt_mtr(r, &c->t->key, c->to, 1, c->sp[i], &c->sm[i], c->sp[i], c->tmp);
        crc_msg(c, i, c->sp[i], c->sm[i].len);
    }
    put_crcs(r->k, c, c->nslow);
    c->mtrs += c->nslow;
    c->nslow = 0;
}

/* Re-key everything framed, and hand it out. */
static ibc_status flush(ibc_redo *r, rk_ctx *c)
{
    run_batch(r, c);
    run_long(r, c);
    run_slow(r, c);
    uint64_t a = c->emit_from, b = c->framed;
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
    c->framed = m->lsn + m->size;
    if (!c->fast) {
        if ((st = redo_grow(&c->tmp, &c->tmp_cap, m->len, 1)) != IBC_OK)
            return st; /* room for one mtr's stream */
        c->sp[c->nslow] = p;
        c->sm[c->nslow++] = *m;
        if (c->nslow == RK_SLOW_MTRS)
            run_slow(r, c);
        return IBC_OK;
    }
    if (c->to == IBC_ALGO_CBC && m->body / 16 > RK_LONG_BLOCKS) {
        c->lgneed += m->nrec > 1 ? m->body : 0;
        if ((st = redo_grow(&c->lg, &c->lgcap, c->lgneed, 1)) != IBC_OK)
            return st; /* room for its stream */
        c->lp[c->nlong] = p;
        c->lm[c->nlong++] = *m;
        if (c->nlong == RK_LONG_POOL)
            run_long(r, c);
        return IBC_OK;
    }
    if ((st = redo_batch_add(&c->b, p, m)) != IBC_OK)
        return st;
    if (redo_batch_full(&c->b))
        run_batch(r, c);
    return IBC_OK;
}

/* The second pass: every mtr of [checkpoint, end) as the scan found them, framed again (the
 * framing must hold, but the CRCs are not checked one by one: a running CRC of all input bytes
 * must equal the scan's), re-keyed in batches, and handed out. */
static ibc_status rekey_pass(ibc_redo *r, rk_ctx *c, char *err, size_t errlen)
{
    const uint64_t cp = r->info.checkpoint_lsn, end = r->info.end_lsn;
    const uint64_t limit = cp + r->info.capacity;
    uint64_t lsn = cp;
    ibc_status st;
    redo_mtr m;
    redo_win_reset(r);
    c->emit_from = c->framed = c->fp_lsn = cp;
    while (lsn < end) {
        size_t avail = 0;
        if (r->win.buf && lsn >= r->win.lsn && lsn <= r->win.lsn + r->win.len)
            avail = (size_t)(r->win.lsn + r->win.len - lsn);
        if (avail > end - lsn)
            avail = (size_t)(end - lsn);
        /* (no pointer into the window where it does not hold lsn: the window may lie after it) */
        redo_frame_status fs = redo_walk(r, avail ? redo_win_at(r, lsn) : NULL, avail, lsn, &m);
        /* cut short: finish what the window holds before it moves, and read on */
        while (fs == REDO_FRAME_SHORT && lsn + avail < end && avail < REDO_MTR_BYTES) {
            size_t had = avail;
            if ((st = flush(r, c)) != IBC_OK)
                return st;
            st = redo_win_ensure(r, lsn, had + REDO_CHUNK, limit, &avail, err, errlen);
            if (st != IBC_OK)
                return st;
            if (avail > end - lsn)
                avail = (size_t)(end - lsn);
            if (avail <= had)
                break;
            fs = redo_walk(r, redo_win_at(r, lsn), avail, lsn, &m);
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
        if (c->framed - c->emit_from >= RK_EMIT_BYTES && (st = flush(r, c)) != IBC_OK)
            return st;
    }
    if ((st = flush(r, c)) != IBC_OK)
        return st;
    fp_fold_to(r, c);
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
    redo_batch_free(&c->b);
    free(c->sp);
    free(c->sm);
    free(c->cm);
    redo_grow_free(c->tmp, c->tmp_cap, 1); /* plaintext */
    redo_grow_free(c->lg, c->lgcap, 1);    /* plaintext between the kernel's passes */
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
        c.sp = malloc(RK_SLOW_MTRS * sizeof(*c.sp));
        c.sm = malloc(RK_SLOW_MTRS * sizeof(*c.sm));
        c.cm = malloc(REDO_BATCH_MTRS * sizeof(*c.cm));
        if (!c.sp || !c.sm || !c.cm || redo_batch_init(&c.b, c.to, 0) != IBC_OK)
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
