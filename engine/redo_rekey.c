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
 * stream, so mtrs are batched. Their streams are gathered into one buffer (the type/length
 * bytes left out), re-keyed together, and scattered back:
 *   AES_CBC: the whole blocks of all streams go through the multi-buffer fused kernel
 *            (aes_cbc_rekey_mb: decrypt under L, encrypt under L', block by block, 16 streams
 *            stepped together), streams grouped by length so the lanes stay busy; the tails
 *            are XORed with AES-ECB(L, IV) ^ AES-ECB(L', IV), both computed for the whole
 *            batch in two ECB calls;
 *   AES_CTR: the counter blocks of all streams are encrypted under L and L' in two ECB calls
 *            and the stream XORed with both keystreams.
 * Everything else (FORMAT_10_8 per-record payloads, a change of mode) takes the per-mtr path:
 * decrypt, then encrypt.
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

#define RK_BATCH_BYTES  (128u << 10) /* streams gathered per batch: stays in L2 */
#define RK_BATCH_MTRS   2048
#define RK_EMIT_BYTES   (4u << 20) /* hand out the re-keyed bytes at least this often */
#define RK_SORT_BUCKETS 64

typedef struct rk_item {
    uint8_t *p; /* the mtr in the window */
    redo_mtr m;
    uint32_t g; /* its stream in the gather buffer */
} rk_item;

typedef struct rk_ctx {
    const ibc_redo_target *t;
    ibc_algo from, to; /* source and target mode (CBC for streams where it does not matter) */
    int fast;          /* FORMAT_ENC_11 and the same mode */
    ibc_redo_write_fn write;
    void *wctx;
    uint64_t emit_from, emit_to; /* re-keyed bytes not yet handed out */
    uint64_t written, mtrs;
    uint64_t refused_at; /* the write function refused a range at this offset (+1) */
    rk_item *items;
    size_t n, gbytes, blocks;
    uint8_t *g, *ks; /* gather buffer; CTR keystreams / CBC IVs and masks */
    size_t gcap, kscap;
    ibc_rekey_lane *lanes;
    uint32_t *order;
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

static void gather(rk_ctx *c)
{
    for (size_t i = 0, g = 0; i < c->n; i++) {
        rk_item *it = &c->items[i];
        const uint8_t *p = it->p;
        it->g = (uint32_t)g;
        for (uint32_t pos = 0, hl; pos < it->m.len;) {
            uint32_t size = redo_rec_size(p + pos, &hl);
            memcpy(c->g + g, p + pos + hl, size - hl);
            g += size - hl;
            pos += size;
        }
    }
}

static void scatter(rk_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        rk_item *it = &c->items[i];
        uint8_t *p = it->p;
        const uint8_t *g = c->g + it->g;
        for (uint32_t pos = 0, hl; pos < it->m.len;) {
            uint32_t size = redo_rec_size(p + pos, &hl);
            memcpy(p + pos + hl, g, size - hl);
            g += size - hl;
            pos += size;
        }
    }
}

/* All whole blocks through the fused multi-buffer kernel, streams of similar length side by
 * side; the tails with both masks. */
static void rekey_cbc(const ibc_redo *r, rk_ctx *c)
{
    const ibc_kernels *k = r->k;
    uint8_t *ivs = c->ks, *m1 = c->ks + 16 * c->n, *m2 = m1 + 16 * c->n;
    size_t count[RK_SORT_BUCKETS] = {0}, nl = 0;
    for (size_t i = 0; i < c->n; i++) {
        rk_item *it = &c->items[i];
        redo_enc11_iv(it->p, &it->m, ivs + 16 * i);
        size_t nb = it->m.body / 16;
        if (nb)
            count[nb < RK_SORT_BUCKETS ? nb : RK_SORT_BUCKETS - 1]++;
    }
    /* counting sort by block count, longest first */
    size_t start[RK_SORT_BUCKETS];
    for (size_t b = RK_SORT_BUCKETS, s = 0; b-- > 0;) {
        start[b] = s;
        s += count[b];
    }
    for (size_t i = 0; i < c->n; i++) {
        size_t nb = c->items[i].m.body / 16;
        if (nb)
            c->order[start[nb < RK_SORT_BUCKETS ? nb : RK_SORT_BUCKETS - 1]++] = (uint32_t)i;
    }
    for (size_t b = 0; b < RK_SORT_BUCKETS; b++)
        nl += count[b];
    for (size_t j = 0; j < nl; j++) {
        rk_item *it = &c->items[c->order[j]];
        ibc_rekey_lane *l = &c->lanes[j];
        l->in = l->out = c->g + it->g;
        l->nblocks = it->m.body / 16;
        memcpy(l->iv_in, ivs + 16 * c->order[j], 16);
        memcpy(l->iv_out, ivs + 16 * c->order[j], 16);
        l->crc_in = l->crc_out = 0;
    }
    k->aes_ecb_enc(&r->key, ivs, m1, c->n);
    k->aes_ecb_enc(&c->t->key, ivs, m2, c->n);
    for (size_t j = 0; j < nl; j += IBC_MB_MAX_LANES)
        k->aes_cbc_rekey_mb(&r->key, &c->t->key, c->lanes + j,
                            nl - j < IBC_MB_MAX_LANES ? nl - j : IBC_MB_MAX_LANES);
    for (size_t i = 0; i < c->n; i++) {
        rk_item *it = &c->items[i];
        uint32_t nb = it->m.body / 16, tail = it->m.body % 16;
        uint8_t *s = c->g + it->g + 16 * nb;
        for (uint32_t j = 0; j < tail; j++)
            s[j] ^= m1[16 * i + j] ^ m2[16 * i + j];
    }
}

/* Counter blocks of every stream, encrypted under both keys, XORed into the streams. */
static void rekey_ctr(const ibc_redo *r, rk_ctx *c)
{
    const ibc_kernels *k = r->k;
    uint8_t *ctr = c->ks, *k1 = ctr + 16 * c->blocks, *k2 = k1 + 16 * c->blocks;
    size_t nb = 0;
    for (size_t i = 0; i < c->n; i++) {
        rk_item *it = &c->items[i];
        uint8_t iv[16];
        redo_enc11_iv(it->p, &it->m, iv);
        for (uint32_t j = 0; j < (it->m.body + 15) / 16; j++, nb++) {
            memcpy(ctr + 16 * nb, iv, 16);
            for (int b = 15; b >= 0 && !++iv[b]; b--) /* 128-bit big-endian increment */
                ;
        }
    }
    k->aes_ecb_enc(&r->key, ctr, k1, nb);
    k->aes_ecb_enc(&c->t->key, ctr, k2, nb);
    for (size_t i = 0, b = 0; i < c->n; i++) {
        rk_item *it = &c->items[i];
        uint8_t *s = c->g + it->g;
        for (uint32_t j = 0; j < it->m.body; j++)
            s[j] ^= k1[16 * b + j] ^ k2[16 * b + j];
        b += (it->m.body + 15) / 16;
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
    if (c->fast) {
        gather(c);
        if (c->to == IBC_ALGO_CTR)
            rekey_ctr(r, c);
        else
            rekey_cbc(r, c);
        scatter(c);
    } else {
        for (size_t i = 0; i < c->n; i++) {
            rk_item *it = &c->items[i];
            redo_crypt_mtr(r, &r->key, c->from, 0, it->p, &it->m, it->p, c->g);
            redo_crypt_mtr(r, &c->t->key, c->to, 1, it->p, &it->m, it->p, c->g);
        }
    }
    for (size_t i = 0; i < c->n; i++) { /* the new CRC over the records and the nonce */
        rk_item *it = &c->items[i];
        uint32_t crc = k->crc32c(0, it->p, it->m.len);
        crc = k->crc32c(crc, it->p + it->m.len + 1, REDO_NONCE);
        put_be32(it->p + it->m.len + 1 + REDO_NONCE, crc);
    }
    c->emit_to = c->items[c->n - 1].m.lsn + c->items[c->n - 1].m.size;
    c->mtrs += c->n;
    c->n = c->gbytes = c->blocks = 0;
    return c->emit_to - c->emit_from >= RK_EMIT_BYTES ? emit(r, c) : IBC_OK;
}

static ibc_status rekey_mtr(ibc_redo *r, void *vctx, uint8_t *p, const redo_mtr *m, char *err,
                            size_t errlen)
{
    rk_ctx *c = vctx;
    ibc_status st;
    if (!m) { /* the window is about to move, or the end: finish and hand out */
        if ((st = run_batch(r, c)) != IBC_OK)
            return st;
        return emit(r, c);
    }
    if (m->body >= 16 && (r->algo == IBC_ALGO_AUTO || c->t->algo == IBC_ALGO_AUTO)) {
        redo_err(r, err, errlen,
                 "mini-transaction at LSN %llu: the cipher mode (AES_CBC or AES_CTR) is "
                 "unknown; give it when attaching the key",
                 (unsigned long long)m->lsn);
        return IBC_ERR_INVALID_ARG;
    }
    if (!c->n && c->emit_from == c->emit_to)
        c->emit_from = c->emit_to = m->lsn;
    if ((st = grow(&c->g, &c->gcap, c->gbytes + m->len)) != IBC_OK)
        return st;
    size_t blocks = c->blocks + (m->body + 15) / 16;
    size_t ks = 48 * (blocks > c->n + 1 ? blocks : c->n + 1);
    if ((st = grow(&c->ks, &c->kscap, ks)) != IBC_OK)
        return st;
    rk_item *it = &c->items[c->n++];
    it->p = p;
    it->m = *m;
    c->gbytes += m->body;
    c->blocks = blocks;
    if (c->n == RK_BATCH_MTRS || c->gbytes >= RK_BATCH_BYTES)
        return run_batch(r, c);
    return IBC_OK;
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
    ibc_status st;
    rk_ctx c = {.t = t, .write = write, .wctx = ctx};
    if (t->mode == IBC_REKEY_REENCRYPT) {
        if (!r->info.scanned && (st = ibc_redo_verify(r, 0, res, err, errlen)) != IBC_OK)
            return st;
        const ibc_redo_info before = r->info;
        c.from = r->algo == IBC_ALGO_AUTO ? IBC_ALGO_CBC : r->algo;
        c.to = t->algo == IBC_ALGO_AUTO ? c.from : t->algo;
        c.fast = r->info.format == IBC_REDO_ENC_11 && c.from == c.to;
        c.items = malloc(RK_BATCH_MTRS * sizeof(*c.items));
        c.lanes = malloc(RK_BATCH_MTRS * sizeof(*c.lanes));
        c.order = malloc(RK_BATCH_MTRS * sizeof(*c.order));
        if (!c.items || !c.lanes || !c.order)
            st = IBC_ERR_NOMEM;
        else
            st = redo_scan(r, rekey_mtr, &c, res, err, errlen);
        if (st == IBC_ERR_IO && c.refused_at)
            redo_err(r, err, errlen, "the write at offset %llu was refused",
                     (unsigned long long)(c.refused_at - 1));
        if (st == IBC_OK && (r->info.end_lsn != before.end_lsn || r->info.mtrs != before.mtrs)) {
            redo_err(r, err, errlen,
                     "the log changed while it was re-keyed (end LSN %llu, was "
                     "%llu)",
                     (unsigned long long)r->info.end_lsn, (unsigned long long)before.end_lsn);
            st = IBC_ERR_CORRUPT;
        }
        free(c.items);
        free(c.lanes);
        free(c.order);
        if (c.g) {
            explicit_bzero(c.g, c.gcap);
            free(c.g);
        }
        if (c.ks) {
            explicit_bzero(c.ks, c.kscap);
            free(c.ks);
        }
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
