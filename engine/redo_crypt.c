/*
 * redo_crypt.c - the ciphers of the encrypted redo formats, and the record checks of recovery.
 *
 * FORMAT_ENC_11 (log0crypt.cc log_decrypt_mtr, mtr_t::encrypt; formats/mariadb.md §10.4): the
 * bodies of all records of an mtr (everything but each record's type/length bytes T_i) form one
 * stream S, encrypted with IV = nonce | T_1 | zeros under the log key: AES-CBC over the whole
 * blocks with the tail XORed with AES-ECB(key, IV) (mysys_ssl/my_crypt.cc MyCTX_nopad), or
 * AES-CTR. A stream of fewer than 16 bytes is S XOR AES-ECB(key, IV) in both modes.
 *
 * FORMAT_10_8 with crypt info (log0crypt.cc log_encrypt_buf; log0recv.cc parse_tail and
 * log_decrypt_legacy; §10.3): each page record's payload after its page id (same-page records:
 * after the type/length bytes) is its own stream with IV = nonce | BE32(space) | BE32(page) of
 * the last page record; FILE_ records stay plain.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "redo_internal.h"

void redo_enc11_iv(const uint8_t *mtr, const redo_mtr *m, uint8_t iv[16])
{
    memcpy(iv, mtr + m->len + 1, 8); /* the nonce as stored */
    memset(iv + 8, 0, 8);
    memcpy(iv + 8, mtr, m->t1len);
}

uint32_t redo_pieces(uint8_t *p, const redo_mtr *m, uint8_t *s, int back)
{
    uint32_t pos = 0, g = 0, hl;
    for (uint32_t i = 0; i < m->nrec && pos < m->len; i++) {
        uint32_t size = redo_rec_size(p + pos, &hl);
        if (back)
            memcpy(p + pos + hl, s + g, size - hl);
        else
            memcpy(s + g, p + pos + hl, size - hl);
        g += size - hl;
        pos += size;
    }
    return g;
}

static void crypt_enc11(const ibc_redo *r, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                        const uint8_t *p, const redo_mtr *m, uint8_t *out, uint8_t *tmp)
{
    /* (redo_pieces only reads the records when gathering) */
    uint32_t g = redo_pieces((uint8_t *)(uintptr_t)p, m, tmp, 0);
    uint8_t iv[16];
    redo_enc11_iv(p, m, iv);
    ibc_nopad_crypt(r->k, key, algo, encrypt, iv, tmp, tmp, g);
    if (out != p)
        memcpy(out, p, m->len);
    redo_pieces(out, m, tmp, 1);
}

static void crypt_enc108(const ibc_redo *r, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                         const uint8_t *p, const redo_mtr *m, uint8_t *out)
{
    uint8_t iv[16];
    memcpy(iv, p + m->len + 1, 8);
    memset(iv + 8, 0, 8);
    if (out != p)
        memcpy(out, p, m->len);
    int got_page_op = 0;
    for (uint32_t pos = 0, hl; pos < m->len;) {
        uint32_t size = redo_rec_size(p + pos, &hl), blen = size - hl;
        const uint8_t b = p[pos], *body = p + pos + hl;
        uint32_t skip = 0; /* page id bytes before the payload */
        if (!((b & REC_SAME_PAGE) && got_page_op)) {
            /* parse_tail: the page id is read from the stored (plain) bytes; a bad one leaves
             * the record alone and the IV as it was */
            uint32_t l1 = redo_varint_len(body[0]);
            if (l1 > 5 || l1 >= blen || redo_varint(body) == MLOG_DECODE_ERROR) {
                pos += size;
                continue;
            }
            uint32_t l2 = redo_varint_len(body[l1]);
            if (l2 > 5 || l2 > blen - l1 || redo_varint(body + l1) == MLOG_DECODE_ERROR) {
                pos += size;
                continue;
            }
            put_be32(iv + 8, redo_varint(body));
            put_be32(iv + 12, redo_varint(body + l1));
            got_page_op = !(b & REC_SAME_PAGE);
            if (!got_page_op) { /* FILE_ record: never encrypted */
                pos += size;
                continue;
            }
            skip = l1 + l2;
        }
        if (blen > skip)
            ibc_nopad_crypt(r->k, key, algo, encrypt, iv, body + skip, out + pos + hl + skip,
                        blen - skip);
        pos += size;
    }
}

void redo_crypt_mtr(const ibc_redo *r, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                    const uint8_t *p, const redo_mtr *m, uint8_t *out, uint8_t *tmp)
{
    if (r->info.format == IBC_REDO_ENC_11)
        crypt_enc11(r, key, algo, encrypt, p, m, out, tmp);
    else if (r->info.format == IBC_REDO_ENC_10_8)
        crypt_enc108(r, key, algo, encrypt, p, m, out);
    else if (out != p)
        memcpy(out, p, m->len);
}

/* ---- batches of FORMAT_ENC_11 streams ------------------------------------------------------ */

static void wipe_free(void *p, size_t n)
{
    if (p) {
        explicit_bzero(p, n);
        free(p);
    }
}

void redo_grow_free(uint8_t *p, size_t cap, size_t unit)
{
    wipe_free(p, cap * unit + REDO_WIN_SLACK);
}

ibc_status redo_grow(uint8_t **p, size_t *cap, size_t need, size_t unit)
{
    if (need <= *cap)
        return IBC_OK;
    size_t c = need + need / 2;
    uint8_t *q = malloc(c * unit + REDO_WIN_SLACK);
    if (!q)
        return IBC_ERR_NOMEM;
    memset(q + c * unit, 0, REDO_WIN_SLACK);
    redo_grow_free(*p, *cap, unit);
    *p = q;
    *cap = c;
    return IBC_OK;
}

/* Grow a buffer keeping its first `keep` bytes. */
static ibc_status grow_keep(uint8_t **p, size_t *cap, size_t need, size_t keep)
{
    if (need <= *cap)
        return IBC_OK;
    size_t c = need + need / 2;
    uint8_t *q = malloc(c + REDO_WIN_SLACK);
    if (!q)
        return IBC_ERR_NOMEM;
    memset(q + c, 0, REDO_WIN_SLACK);
    if (keep)
        memcpy(q, *p, keep);
    redo_grow_free(*p, *cap, 1);
    *p = q;
    *cap = c;
    return IBC_OK;
}

ibc_status redo_batch_init(redo_batch *b, ibc_algo algo, int decrypt)
{
    memset(b, 0, sizeof(*b));
    b->algo = algo;
    b->decrypt = decrypt;
    b->m = malloc(REDO_BATCH_MTRS * sizeof(*b->m));
    b->iv = malloc(REDO_BATCH_MTRS * 16);
    b->m1 = malloc(REDO_BATCH_MTRS * 16);
    b->m2 = malloc(REDO_BATCH_MTRS * 16);
    b->sp = malloc(REDO_BATCH_MTRS * sizeof(*b->sp));
    b->sl = malloc(REDO_BATCH_MTRS * sizeof(*b->sl));
    /* the block buffers exist from the start, so that offsets into them are valid even in a
     * batch whose bodies are all shorter than a block */
    size_t ca = 0, cb = 0;
    if (!b->m || !b->iv || !b->m1 || !b->m2 || !b->sp || !b->sl ||
        redo_grow(&b->a, &ca, 64, 16) != IBC_OK || redo_grow(&b->b, &cb, 64, 16) != IBC_OK) {
        redo_batch_free(b);
        return IBC_ERR_NOMEM;
    }
    b->bcap = ca;
    return IBC_OK;
}

void redo_batch_free(redo_batch *b)
{
    free(b->m);
    wipe_free(b->iv, REDO_BATCH_MTRS * 16);
    wipe_free(b->m1, REDO_BATCH_MTRS * 16); /* keystream */
    wipe_free(b->m2, REDO_BATCH_MTRS * 16);
    free(b->sp);
    free(b->sl);
    free(b->pcs);
    redo_grow_free(b->a, b->bcap, 16); /* keystream, plaintext */
    redo_grow_free(b->b, b->bcap, 16);
    if (b->g)
        wipe_free(b->g, b->gcap + REDO_WIN_SLACK);
    memset(b, 0, sizeof(*b));
}

ibc_status redo_batch_add(redo_batch *b, uint8_t *p, const redo_mtr *m)
{
    ibc_status st;
    size_t nblk = !b->decrypt ? 0 : b->algo == IBC_ALGO_CTR ? (m->body + 15) / 16 : m->body / 16;
    if (b->blocks + nblk > b->bcap) {
        size_t need = b->blocks + nblk, cap = b->bcap;
        if ((st = redo_grow(&b->a, &cap, need, 16)) != IBC_OK)
            return st;
        cap = b->bcap;
        if ((st = redo_grow(&b->b, &cap, need, 16)) != IBC_OK)
            return st;
        b->bcap = cap;
    }
    redo_bm *x = &b->m[b->n];
    x->p = p;
    x->lsn = m->lsn;
    x->len = m->len;
    x->body = m->body;
    x->blk = (uint32_t)b->blocks;
    x->out = (uint32_t)b->out;
    x->hl = m->t1len;
    x->multi = m->nrec > 1;
    x->g = 0;
    if (x->multi) { /* gather the bodies of its records, noting where they lie */
        if ((st = grow_keep(&b->g, &b->gcap, b->glen + m->body + 16, b->glen)) != IBC_OK)
            return st;
        if (b->npcs + m->nrec > b->pcap) {
            size_t c = (b->npcs + m->nrec) * 2;
            struct redo_piece *q = realloc(b->pcs, c * sizeof(*q)); /* offsets, no secrets */
            if (!q)
                return IBC_ERR_NOMEM;
            b->pcs = q;
            b->pcap = c;
        }
        x->g = (uint32_t)b->glen;
        x->pc = (uint32_t)b->npcs;
        uint8_t *d = b->g + b->glen;
        struct redo_piece *pc = b->pcs + b->npcs, *end = pc + m->nrec;
        for (uint32_t pos = 0, hl; pos < m->len && pc < end; pc++) {
            uint32_t size = redo_rec_size(p + pos, &hl);
            redo_copy(d, p + pos + hl, size - hl);
            *pc = (struct redo_piece){pos + hl, size - hl};
            d += size - hl;
            pos += size;
        }
        x->npc = (uint32_t)(pc - (b->pcs + b->npcs));
        b->npcs += x->npc;
        b->glen += m->body + 16;
    }
    redo_enc11_iv(p, m, b->iv[b->n]);
    b->blocks += nblk;
    b->bytes += m->body;
    b->out += m->len + 16;
    b->n++;
    return IBC_OK;
}

/* d = a ^ b for one block (no alignment assumed). */
static inline void xor16(uint8_t *d, const uint8_t *a, const uint8_t *b)
{
    uint64_t x[2], y[2];
    memcpy(x, a, 16);
    memcpy(y, b, 16);
    x[0] ^= y[0];
    x[1] ^= y[1];
    memcpy(d, x, 16);
}

/* 16 bytes 0xFF, then 16 zeros: tail_mask + 16 - t has t bytes 0xFF. */
static const uint8_t tail_mask[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

/* d[0, 16) = s[0, 16) ^ (k & the first t bytes): the bytes from t on are copied. */
static inline void xor16_head(uint8_t *d, const uint8_t *s, const uint8_t *k, unsigned t)
{
    uint64_t x[2], y[2], z[2];
    memcpy(x, s, 16);
    memcpy(y, k, 16);
    memcpy(z, tail_mask + 16 - t, 16);
    x[0] ^= y[0] & z[0];
    x[1] ^= y[1] & z[1];
    memcpy(d, x, 16);
}

/* XOR a stream of n bytes with the keystream ks (n rounded up to blocks), from s into d. */
static inline void xor_stream(uint8_t *d, const uint8_t *s, const uint8_t *ks, uint32_t n)
{
    uint32_t j = 0;
    for (; j + 16 <= n; j += 16)
        xor16(d + j, s + j, ks + j);
    if (j < n)
        xor16_head(d + j, s + j, ks + j, n - j);
}

/* The streams of the batch: in the window, or gathered. */
static void batch_streams(redo_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        redo_bm *x = &b->m[i];
        b->sp[i] = x->multi ? b->g + x->g : x->p + x->hl;
    }
}

/* Scatter the gathered stream of mtr x back into the record bodies at d (its records), where
 * the gathering found them. */
static void scatter(const redo_batch *b, uint8_t *d, const redo_bm *x, const uint8_t *s)
{
    for (const struct redo_piece *pc = b->pcs + x->pc, *e = pc + x->npc; pc < e; pc++) {
        redo_copy(d + pc->off, s, pc->len);
        s += pc->len;
    }
}

/* CTR counter blocks of every stream into a: block j of a stream is IV + j (128-bit
 * big-endian; FORMAT_ENC_11 IVs end in at least four zero bytes, T_1 being at most four
 * bytes long, so that is a 32-bit add there). */
static void ctr_blocks(redo_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const redo_bm *x = &b->m[i];
        uint8_t *c = b->a + 16 * (size_t)x->blk;
        uint32_t nb = (x->body + 15) / 16;
        if (x->hl <= 4) {
            for (uint32_t j = 0; j < nb; j++, c += 16) {
                memcpy(c, b->iv[i], 12);
                put_be32(c + 12, j);
            }
        } else {
            uint8_t v[16];
            memcpy(v, b->iv[i], 16);
            for (uint32_t j = 0; j < nb; j++, c += 16) {
                memcpy(c, v, 16);
                ibc_ctr128_add(v, 1);
            }
        }
    }
}

/* CBC: the plaintext of every whole block into b->b (the ciphertext gathered into a); the
 * tail keystream AES-ECB(key, IV) of every stream into m1. */
static void cbc_decrypt_blocks(const ibc_kernels *k, redo_batch *b, const ibc_aes_key *key)
{
    for (size_t i = 0; i < b->n; i++) {
        const redo_bm *x = &b->m[i];
        redo_copy(b->a + 16 * (size_t)x->blk, b->sp[i], 16 * (size_t)(x->body / 16));
    }
    if (b->blocks)
        k->aes_ecb_dec(key, b->a, b->b, b->blocks);
    for (size_t i = 0; i < b->n; i++) {
        const redo_bm *x = &b->m[i];
        uint32_t nb = x->body / 16;
        uint8_t *d = b->b + 16 * (size_t)x->blk;
        const uint8_t *c = b->a + 16 * (size_t)x->blk;
        if (nb)
            xor16(d, d, b->iv[i]);
        for (uint32_t j = 1; j < nb; j++)
            xor16(d + 16 * j, d + 16 * j, c + 16 * (j - 1));
    }
    k->aes_ecb_enc(key, b->iv[0], b->m1[0], b->n);
}

void redo_batch_decrypt(const ibc_kernels *k, redo_batch *b, const ibc_aes_key *key,
                        uint8_t *out)
{
    batch_streams(b);
    if (b->algo == IBC_ALGO_CTR) {
        ctr_blocks(b);
        if (b->blocks)
            k->aes_ecb_enc(key, b->a, b->a, b->blocks);
    } else {
        cbc_decrypt_blocks(k, b, key);
    }
    for (size_t i = 0; i < b->n; i++) {
        const redo_bm *x = &b->m[i];
        uint8_t *o = out + x->out, *d = x->multi ? b->sp[i] : o + x->hl;
        const uint8_t *s = b->sp[i];
        if (x->multi)
            redo_copy(o, x->p, x->len);
        else
            redo_copy(o, x->p, x->hl);
        if (b->algo == IBC_ALGO_CTR) {
            xor_stream(d, s, b->a + 16 * (size_t)x->blk, x->body);
        } else {
            uint32_t whole = x->body & ~15u;
            redo_copy(d, b->b + 16 * (size_t)x->blk, whole);
            if (whole < x->body)
                xor16_head(d + whole, s + whole, b->m1[i], x->body - whole);
        }
        if (x->multi)
            scatter(b, o, x, d);
    }
}

/* The streams as lanes of the short-stream kernels; CBC: only those with a whole block,
 * longest first (a counting sort), so that the lanes the kernel steps together are about as
 * long. Returns the number of lanes. */
static size_t short_lanes(redo_batch *b, int cbc)
{
    enum { BUCKETS = 64 };
    ibc_short_lane *sl = b->sl;
    if (!cbc) {
        for (size_t i = 0; i < b->n; i++) {
            sl[i].p = b->sp[i];
            sl[i].len = b->m[i].body;
            memcpy(sl[i].iv, b->iv[i], 16);
        }
        return b->n;
    }
    size_t count[BUCKETS] = {0}, start[BUCKETS], nl = 0;
    for (size_t i = 0; i < b->n; i++) {
        uint32_t nb = b->m[i].body / 16;
        if (nb)
            count[nb < BUCKETS ? nb : BUCKETS - 1]++;
    }
    for (size_t q = BUCKETS; q-- > 0;) {
        start[q] = nl;
        nl += count[q];
    }
    for (size_t i = 0; i < b->n; i++) {
        uint32_t nb = b->m[i].body / 16;
        if (!nb)
            continue;
        ibc_short_lane *l = &sl[start[nb < BUCKETS ? nb : BUCKETS - 1]++];
        l->p = b->sp[i];
        l->len = b->m[i].body;
        memcpy(l->iv, b->iv[i], 16);
    }
    return nl;
}

void redo_batch_rekey(const ibc_kernels *k, redo_batch *b, const ibc_aes_key *ko,
                      const ibc_aes_key *kn)
{
    batch_streams(b);
    if (b->algo == IBC_ALGO_CTR) {
        /* both keystreams XORed into the streams where they lie */
        k->aes_ctr2_short(ko, kn, b->sl, short_lanes(b, 0));
    } else {
        /* the whole blocks, then the tails: XOR with AES-ECB(L, IV) ^ AES-ECB(L', IV), in
         * stream order (their 16-byte stores may overhang into the next mtr, putting back what
         * they loaded) */
        k->aes_cbc_rekey_short(ko, kn, b->sl, short_lanes(b, 1));
        k->aes_ecb_enc(ko, b->iv[0], b->m1[0], b->n);
        k->aes_ecb_enc(kn, b->iv[0], b->m2[0], b->n);
        for (size_t i = 0; i < b->n; i++) {
            const redo_bm *x = &b->m[i];
            uint32_t whole = x->body & ~15u;
            if (whole < x->body) {
                xor16(b->m1[i], b->m1[i], b->m2[i]);
                xor16_head(b->sp[i] + whole, b->sp[i] + whole, b->m1[i], x->body - whole);
            }
        }
    }
    for (size_t i = 0; i < b->n; i++)
        if (b->m[i].multi)
            scatter(b, b->m[i].p, &b->m[i], b->sp[i]);
}

/* ---- record checks (log0recv.cc recv_sys_t::parse_tail, storing == YES; log_parse_file) ---- */

#define BAD(...)                                                                                   \
    do {                                                                                           \
        c->bad_at = pos;                                                                           \
        snprintf(c->why, sizeof(c->why), __VA_ARGS__);                                             \
        return -1;                                                                                 \
    } while (0)

static int has_ibd_suffix(const uint8_t *name, size_t n)
{
    return n >= 4 && !memcmp(name + n - 4, ".ibd", 4);
}

/* log_parse_file: a FILE_ record with page id (space, page) and body l[0, rlen); last: it ends
 * the mtr. */
static int check_file_record(redo_recs *c, uint32_t pos, uint8_t b, uint32_t space, uint32_t page,
                             const uint8_t *l, uint32_t rlen, int last)
{
    if (!rlen) {
        if (!space && !page && b == (FILE_CHECKPOINT | 2)) /* padding */
            return 0;
        BAD("empty file record (type 0x%02x)", b);
    }
    if (page)
        BAD("file record with page number %u (must be 0)", page);
    switch (b & 0xF0) {
    case FILE_CHECKPOINT:
        if (space || !last)
            BAD("FILE_CHECKPOINT %s", space ? "with a space id" : "not the last record");
        if (rlen != 8) {
            for (uint32_t i = 0; i < rlen; i++)
                if (l[i])
                    BAD("FILE_CHECKPOINT of %u bytes that are not zero", rlen);
            if (rlen > 65536)
                BAD("FILE_CHECKPOINT of %u bytes", rlen);
            return 0;
        }
        if (be64(l)) {
            c->has_checkpoint = 1;
            c->checkpoint_lsn = be64(l);
        }
        return 0;
    case FILE_DELETE:
    case FILE_MODIFY:
    case FILE_RENAME:
    case FILE_CREATE: {
        if (!space)
            BAD("file record (type 0x%02x) for space 0", b);
        const uint8_t *fn2 = memchr(l, 0, rlen);
        if ((fn2 == NULL) == ((b & 0xF0) == FILE_RENAME))
            BAD("file record (type 0x%02x) with %s", b, fn2 ? "a NUL byte" : "one name");
        const uint8_t *fnend = fn2 ? fn2 : l + rlen;
        if (fn2) {
            fn2++;
            size_t n2 = (size_t)(l + rlen - fn2);
            if (memchr(fn2, 0, n2) || !has_ibd_suffix(fn2, n2))
                BAD("FILE_RENAME: bad new name");
        }
        if (!has_ibd_suffix(l, (size_t)(fnend - l)))
            BAD("file record (type 0x%02x): the name does not end in .ibd", b);
        return 0;
    }
    default:
        BAD("unknown file record type 0x%02x", b);
    }
}

/* WRITE / MEMSET / MEMMOVE at *last_offset (parse_tail). */
static int check_page_write(redo_recs *c, uint32_t pos, uint8_t b, const uint8_t *l, uint32_t rlen,
                            uint32_t *last_offset, uint32_t space, uint32_t page)
{
    const uint32_t ps = c->page_size;
    if (!rlen || *last_offset == 1)
        BAD("%s", rlen ? "write after FREE_PAGE" : "empty write record");
    uint32_t olen = redo_varint_len(*l);
    if (olen >= rlen || olen > 3)
        BAD("bad offset in a write record");
    uint32_t offset = redo_varint(l);
    if (offset >= ps)
        BAD("write offset %u beyond the page", offset);
    *last_offset += offset;
    if (*last_offset < 8 || *last_offset >= ps)
        BAD("write at page offset %u", *last_offset);
    l += olen;
    rlen -= olen;
    if ((b & 0x70) == REC_WRITE) {
        if (rlen + *last_offset > ps)
            BAD("WRITE of %u bytes at %u beyond the page", rlen, *last_offset);
        if (c->hook)
            c->hook(c->hook_ctx, space, page, *last_offset, rlen);
        *last_offset += rlen;
        return 0;
    }
    uint32_t llen = redo_varint_len(*l);
    if (llen > rlen || llen > 3)
        BAD("bad length in a MEMSET/MEMMOVE record");
    uint32_t n = redo_varint(l);
    if (*last_offset + n > ps)
        BAD("MEMSET/MEMMOVE of %u bytes at %u beyond the page", n, *last_offset);
    l += llen;
    rlen -= llen;
    if (c->hook)
        c->hook(c->hook_ctx, space, page, *last_offset, n);
    if ((b & 0x70) == REC_MEMSET) {
        if (rlen > n)
            BAD("MEMSET pattern longer than its length");
        *last_offset += rlen;
        return 0;
    }
    if (!rlen)
        BAD("MEMMOVE without a source");
    uint32_t slen = redo_varint_len(*l);
    if (slen != rlen || slen > 3)
        BAD("bad source in a MEMMOVE record");
    uint32_t s = redo_varint(l);
    s = s & 1 ? *last_offset - (s >> 1) - 1 : *last_offset + (s >> 1) + 1;
    if (s < 8 || s + n > ps)
        BAD("MEMMOVE source %u out of the page", s);
    *last_offset += rlen;
    return 0;
}

int redo_check_records(const uint8_t *recs, size_t len, redo_recs *c)
{
    uint32_t pos = 0, last_offset = 0, space = 0, page = 0, hl;
    int got_page_op = 0;
    c->records = 0;
    c->has_checkpoint = 0;
    c->why[0] = 0;
    for (; pos < len; c->records++) {
        const uint8_t b = recs[pos];
        uint32_t size = redo_rec_size(recs + pos, &hl), rlen = size - hl;
        const uint8_t *l = recs + pos + hl;
        if ((b & 0x70) == REC_RESERVED)
            BAD("unknown record type 0x%02x", b);
        if ((b & REC_SAME_PAGE) && got_page_op) {
            if ((b & 0x70) <= REC_INIT_PAGE)
                BAD("%s with the same-page flag",
                    (b & 0x70) == REC_FREE_PAGE ? "FREE_PAGE" : "INIT_PAGE");
        } else {
            last_offset = 0;
            uint32_t idlen = redo_varint_len(*l);
            if (idlen > 5 || idlen >= rlen) {
                if (!*l && b == (FILE_CHECKPOINT | 1)) { /* padding */
                    pos += size;
                    continue;
                }
                BAD("corrupted page identifier");
            }
            space = redo_varint(l);
            if (space == MLOG_DECODE_ERROR)
                BAD("corrupted page identifier");
            l += idlen;
            rlen -= idlen;
            idlen = redo_varint_len(*l);
            if (idlen > 5 || idlen > rlen || (page = redo_varint(l)) == MLOG_DECODE_ERROR)
                BAD("corrupted page identifier");
            l += idlen;
            rlen -= idlen;
            got_page_op = !(b & REC_SAME_PAGE);
            if (!got_page_op) {
                if (check_file_record(c, pos, b, space, page, l, rlen, pos + size == len))
                    return -1;
                pos += size;
                continue;
            }
        }
        if (rlen && (uint32_t)(l - (recs + pos)) + rlen > c->page_size)
            BAD("record of %u bytes longer than a page", rlen);
        switch (b & 0x70) {
        case REC_FREE_PAGE:
        case REC_INIT_PAGE:
            if (rlen)
                BAD("%s with a payload", (b & 0x70) == REC_FREE_PAGE ? "FREE_PAGE" : "INIT_PAGE");
            last_offset = (b & 0x70) == REC_FREE_PAGE ? 1 : REC_PAGE_TYPE_OFFSET;
            break;
        case REC_EXTENDED:
            if (!rlen)
                BAD("empty EXTENDED record");
            /* TRIM_PAGES (undo or system tablespace only; which spaces are undo tablespaces
             * the log does not say) */
            last_offset = rlen == 1 && *l == REC_EXT_TRIM_PAGES ? 1 : REC_PAGE_TYPE_OFFSET;
            break;
        case REC_OPTION:
            break;
        default: /* WRITE, MEMSET, MEMMOVE */
            if (check_page_write(c, pos, b, l, rlen, &last_offset, space, page))
                return -1;
        }
        pos += size;
    }
    return 0;
}
