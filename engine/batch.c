/*
 * batch.c - run one operation over many pages of one tablespace.
 *
 * The common case takes a fused fast path; everything else (legacy pages, compressed pages,
 * unknown algorithm, any page that fails a check) goes through the per-page reference path
 * (page.c), which defines the results. The fast paths, for full_crc32 encrypted pages:
 *
 *   deep verify / decrypt: one pass of CBC-decrypt + CRC-32C of the ciphertext
 *                          (aes_cbc_dec_crc), or CTR + CRC (aes_ctr_crc);
 *   re-key, CBC:           up to 16 pages stepped together through ibc_cbc_rekey_mb: the
 *                          fused kernel (each block decrypted under the old key and
 *                          re-encrypted under the new one while in registers, both CRCs on the
 *                          way) or, on the tiers where it is faster, decrypt+CRC of each page
 *                          then one multi-buffer encryption of the batch and the new CRCs; the
 *                          plaintext checks (space id, LSN copy) use the first and last block,
 *                          decrypted on their own beforehand;
 *   re-key, CTR:           ciphertext XOR old keystream XOR new keystream (aes_ctr2_crc), the
 *                          plaintext never stored.
 * A page whose quick checks fail is handed to the reference path, so statuses always come
 * from one place.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "format.h"
#include "page.h"

const char *ibc_page_status_name(ibc_page_status st)
{
    static const char *const names[IBC_PAGE_STATUS_COUNT] = {
        [IBC_PAGE_OK] = "ok",
        [IBC_PAGE_PLAIN] = "plain",
        [IBC_PAGE_ZERO] = "zero",
        [IBC_PAGE_DOUBLEWRITE] = "doublewrite",
        [IBC_PAGE_BAD_OUTER] = "bad-checksum",
        [IBC_PAGE_BAD_INNER] = "bad-plaintext",
        [IBC_PAGE_BAD_HEADER] = "bad-header",
        [IBC_PAGE_KEY_UNAVAILABLE] = "key-unavailable",
        [IBC_PAGE_KEY_MISMATCH] = "key-mismatch",
        [IBC_PAGE_UNSUPPORTED] = "unsupported",
    };
    return (unsigned)st < IBC_PAGE_STATUS_COUNT ? names[st] : "unknown";
}

ibc_scratch *ibc_scratch_new(void)
{
    ibc_scratch *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return NULL;
    for (int i = 0; i < IBC_SCRATCH_PAGES; i++) {
        sc->buf[i] = aligned_alloc(64, IBC_MAX_PAGE);
        if (!sc->buf[i]) {
            ibc_scratch_free(sc);
            return NULL;
        }
    }
    return sc;
}

void ibc_scratch_free(ibc_scratch *sc)
{
    if (!sc)
        return;
    for (int i = 0; i < IBC_SCRATCH_PAGES; i++) {
        if (sc->buf[i])
            explicit_bzero(sc->buf[i], IBC_MAX_PAGE); /* plaintext of encrypted pages */
        free(sc->buf[i]);
    }
    free(sc);
}

uint8_t *ibc_pages_alloc(uint32_t page_size, size_t n, size_t *stride)
{
    /* 256 bytes more than a page: page i starts at i * 256 mod 4096, so sixteen lanes of a
     * multi-buffer kernel touch sixteen different L1 sets (perf-ceilings.md, lesson 1) */
    size_t st = page_size + 256;
    *stride = st;
    size_t bytes = (n * st + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

void ibc_pages_free(uint8_t *p)
{
    free(p);
}

/* ---- quick classification ---------------------------------------------------------------- */

/* A full_crc32, uncompressed, encrypted page with the expected number and the key version we
 * hold: the shape every fast path handles. */
static int fast_candidate(const ibc_space *s, const ibc_page *pg)
{
    const uint8_t *p = pg->src;
    uint32_t ps = s->g.physical;
    if (!s->g.full_crc32 || !s->have_key || s->algo == IBC_ALGO_AUTO)
        return 0;
    if (ibc_page_in_doublewrite(s, pg->page_no) || pg->page_no == 0)
        return 0;
    if (be32(p + FIL_PAGE_OFFSET) != pg->page_no || be32(p) != s->key_version)
        return 0;
    if (be16(p + FIL_PAGE_TYPE) & (1u << FIL_PAGE_COMPRESS_FCRC32_MARKER))
        return 0;
    (void)ps;
    return 1;
}

/* Every fast path checks the input's CRC against its stored value before it calls this. */
static void mark_ok(ibc_page *pg, int index)
{
    pg->status = IBC_PAGE_OK;
    pg->flags = IBC_PF_ENCRYPTED | IBC_PF_CRC_STORED | (index ? IBC_PF_INDEX : 0);
    pg->page_type = (uint16_t)be16(pg->src + FIL_PAGE_TYPE);
}

static int is_index(uint32_t type)
{
    return type == FIL_PAGE_INDEX || type == FIL_PAGE_RTREE || type == FIL_PAGE_TYPE_INSTANT;
}

/* ---- deep verify / decrypt --------------------------------------------------------------- */

/* Returns 1 if the page was fully handled (status OK), 0 to fall back. CBC: cbc_iv is the
 * page's IV and mask AES-ECB(key, IV), the keystream of its tail (both computed for a group of
 * pages at once by fast_decrypt_cbc); CTR: both NULL. */
static int fast_decrypt(const ibc_space *s, ibc_op op, ibc_page *pg, ibc_scratch *sc,
                        const uint8_t *cbc_iv, const uint8_t *mask)
{
    const ibc_kernels *k = s->k;
    const uint8_t *p = pg->src;
    uint32_t ps = s->g.physical, len = ps - 30;
    size_t nb = len / 16, tail = len % 16;
    uint8_t *plain = op == IBC_OP_DECRYPT && pg->dst != p ? pg->dst : sc->buf[0];
    uint32_t crc = k->crc32c(0, p, 26);
    if (s->algo == IBC_ALGO_CBC) {
        uint8_t v[16];
        memcpy(v, cbc_iv, 16);
        k->aes_cbc_dec_crc(&s->key, v, p + 26, plain + 26, nb, &crc);
        const uint8_t *ct = p + 26 + nb * 16;
        crc = k->crc32c(crc, ct, tail);
        for (size_t i = 0; i < tail; i++)
            plain[26 + nb * 16 + i] = ct[i] ^ mask[i];
    } else {
        uint8_t iv[16];
        ibc_page_iv(s, p, iv);
        k->aes_ctr_crc(&s->key, iv, p + 26, plain + 26, len, &crc, NULL);
    }
    if (crc != be32(p + ps - 4))
        return 0;
    /* buf0buf.cc buf_page_full_crc32_is_corrupted: space id and LSN copy in the plaintext */
    if (be32(plain + FIL_PAGE_SPACE_ID) != s->space_id ||
        memcmp(plain + ps - 8, p + FIL_PAGE_LSN + 4, 4))
        return 0;
    memcpy(plain, p, 26);
    uint32_t type = be16(p + FIL_PAGE_TYPE);
    if (is_index(type) && ibc_index_page_check(plain, ps))
        return 0;
    if (op == IBC_OP_DECRYPT) {
        put_be32(plain + FIL_PAGE_FCRC32_KEY_VERSION, 0);
        put_be32(plain + ps - 4, k->crc32c(0, plain, ps - 4));
        if (plain != pg->dst)
            memcpy(pg->dst, plain, ps);
    }
    mark_ok(pg, is_index(type));
    return 1;
}

/* Deep verify or decrypt of CBC pages, IBC_MB_MAX_LANES at a time: the tail keystream blocks of
 * a group's candidates in one ECB call (one call per page cost 4 % of the deep verify, perf on
 * Zen 3), then each page in order. */
static void fast_decrypt_cbc(const ibc_space *s, const ibc_space *t, ibc_op op, ibc_page *pages,
                             size_t n, ibc_scratch *sc)
{
    uint8_t ivs[IBC_MB_MAX_LANES][16], masks[IBC_MB_MAX_LANES][16];
    _Static_assert(IBC_MB_MAX_LANES <= 32, "one bit per lane in cand");
    for (size_t b = 0; b < n; b += IBC_MB_MAX_LANES) {
        size_t g = n - b < IBC_MB_MAX_LANES ? n - b : IBC_MB_MAX_LANES, m = 0;
        uint32_t cand = 0; /* bit i: page b + i takes the fast path */
        for (size_t i = 0; i < g; i++) {
            if (fast_candidate(s, &pages[b + i])) {
                cand |= 1u << i;
                ibc_page_iv(s, pages[b + i].src, ivs[m++]);
            }
        }
        if (m)
            s->k->aes_ecb_enc(&s->key, ivs[0], masks[0], m);
        m = 0;
        for (size_t i = 0; i < g; i++) {
            ibc_page *pg = &pages[b + i];
            if (cand >> i & 1) {
                m++;
                if (fast_decrypt(s, op, pg, sc, ivs[m - 1], masks[m - 1]))
                    continue;
            }
            ibc_page_process(s, t, op, pg, sc);
        }
    }
    explicit_bzero(masks, sizeof(masks)); /* keystream */
}

/* ---- re-key ------------------------------------------------------------------------------ */

/* The plaintext checks of a full_crc32 page from its first and last cipher blocks alone:
 * pb[0], pb[1] are the plaintext of the first and last whole block, mask_old the keystream
 * block of the 2-byte tail. */
static int precheck_ok(const ibc_space *s, const uint8_t *p, uint8_t pb[2][16],
                       const uint8_t mask_old[16])
{
    uint32_t ps = s->g.physical;
    const uint8_t *ct = p + 26 + (ps - 30) / 16 * 16;
    /* space id at page offset 34 = byte 8 of block 0; LSN copy at [ps-8, ps-4) = the last 2
     * bytes of the last whole block and the first 2 bytes of the 2-byte tail */
    uint8_t lsn[4] = {pb[1][14], pb[1][15], (uint8_t)(ct[0] ^ mask_old[0]),
                      (uint8_t)(ct[1] ^ mask_old[1])};
    return be32(pb[0] + 8) == s->space_id && !memcmp(lsn, p + FIL_PAGE_LSN + 4, 4);
}

/* CTR: the first and last whole blocks and the tail's keystream, one call. */
static int rekey_precheck_ctr(const ibc_space *s, const uint8_t *p, const uint8_t iv[16],
                              uint8_t mask_old[16])
{
    const ibc_kernels *k = s->k;
    size_t nb = (s->g.physical - 30) / 16;
    const uint8_t *c0 = p + 26, *clast = p + 26 + (nb - 1) * 16;
    uint8_t ctr[3][16], ks[3][16], pb[2][16];
    memcpy(ctr[0], iv, 16);
    memcpy(ctr[1], iv, 16);
    ibc_ctr128_add(ctr[1], nb - 1);
    memcpy(ctr[2], iv, 16);
    ibc_ctr128_add(ctr[2], nb);
    k->aes_ecb_enc(&s->key, ctr[0], ks[0], 3);
    for (int i = 0; i < 16; i++) {
        pb[0][i] = c0[i] ^ ks[0][i];
        pb[1][i] = clast[i] ^ ks[1][i];
    }
    memcpy(mask_old, ks[2], 16);
    return precheck_ok(s, p, pb, mask_old);
}

typedef struct rekey_slot {
    ibc_page *pg;
    uint8_t iv[16];
    uint8_t mask_old[16];
    uint8_t mask_new[16];
} rekey_slot;

/* Finish the lanes of one multi-buffer call: tails, CRC check of the old page, new CRC. */
static void rekey_finish(const ibc_space *s, const ibc_space *t, rekey_slot *slots,
                         ibc_rekey_lane *lanes, size_t n, ibc_scratch *sc)
{
    const ibc_kernels *k = s->k;
    uint32_t ps = s->g.physical;
    size_t off = 26 + lanes[0].nblocks * 16, tail = (ps - 30) % 16;
    for (size_t i = 0; i < n; i++) {
        ibc_page *pg = slots[i].pg;
        uint8_t ct[16];
        memcpy(ct, pg->src + off, tail);
        uint32_t crc_in = k->crc32c(lanes[i].crc_in, ct, tail);
        if (crc_in != be32(pg->src + ps - 4)) {
            /* damaged ciphertext: let the reference path name it (dst is scratch-safe only
             * when not in place; in place the page is already overwritten, which the API
             * allows for failed pages) */
            if (pg->dst == pg->src) {
                pg->status = IBC_PAGE_BAD_OUTER;
                pg->flags = IBC_PF_ENCRYPTED;
            } else {
                ibc_page_process(s, t, IBC_OP_REKEY, pg, sc);
            }
            continue;
        }
        for (size_t j = 0; j < tail; j++)
            pg->dst[off + j] = ct[j] ^ slots[i].mask_old[j] ^ slots[i].mask_new[j];
        uint32_t crc_out = k->crc32c(lanes[i].crc_out, pg->dst + off, tail);
        put_be32(pg->dst + ps - 4, crc_out);
        mark_ok(pg, 0);
    }
}

/* Up to IBC_MB_MAX_LANES candidate pages: the plaintext checks of all of them, then one
 * multi-buffer re-key of those that pass. The single blocks (each page's first and last cipher
 * block, and its IV under both keys for the tail masks) go through three ECB calls for the
 * whole group: one call per page and block cost 5 % of the re-key (Zen 3, perf). */
static void rekey_cbc_group(const ibc_space *s, const ibc_space *t, ibc_page **pgs, size_t n,
                            ibc_scratch *sc)
{
    const ibc_kernels *k = s->k;
    uint32_t ps = s->g.physical;
    size_t nb = (ps - 30) / 16;
    rekey_slot slots[IBC_MB_MAX_LANES];
    ibc_rekey_lane lanes[IBC_MB_MAX_LANES];
    uint8_t cb[IBC_MB_MAX_LANES][2][16], pb[IBC_MB_MAX_LANES][2][16];
    uint8_t ivs[IBC_MB_MAX_LANES][16], mo[IBC_MB_MAX_LANES][16], mn[IBC_MB_MAX_LANES][16];
    if (!n || n > IBC_MB_MAX_LANES)
        return;
    for (size_t i = 0; i < n; i++) {
        ibc_page_iv(s, pgs[i]->src, ivs[i]);
        memcpy(cb[i][0], pgs[i]->src + 26, 16);
        memcpy(cb[i][1], pgs[i]->src + 26 + (nb - 1) * 16, 16);
    }
    k->aes_ecb_dec(&s->key, cb[0][0], pb[0][0], 2 * n);
    k->aes_ecb_enc(&s->key, ivs[0], mo[0], n);
    k->aes_ecb_enc(&t->key, ivs[0], mn[0], n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        ibc_page *pg = pgs[i];
        for (int j = 0; j < 16; j++) {
            pb[i][0][j] ^= ivs[i][j];
            pb[i][1][j] ^= pg->src[26 + (nb - 2) * 16 + j]; /* the previous cipher block */
        }
        if (!precheck_ok(s, pg->src, pb[i], mo[i])) {
            ibc_page_process(s, t, IBC_OP_REKEY, pg, sc);
            continue;
        }
        rekey_slot *sl = &slots[m];
        sl->pg = pg;
        memcpy(sl->iv, ivs[i], 16);
        memcpy(sl->mask_old, mo[i], 16);
        memcpy(sl->mask_new, mn[i], 16);
        ibc_rekey_lane *l = &lanes[m++];
        l->in = pg->src + 26;
        l->out = pg->dst + 26;
        l->nblocks = nb;
        memcpy(l->iv_in, ivs[i], 16);
        memcpy(l->iv_out, ivs[i], 16);
        l->crc_in = l->crc_out = k->crc32c(0, pg->src, 26);
        if (pg->dst != pg->src)
            memcpy(pg->dst, pg->src, 26);
    }
    if (m) {
        ibc_cbc_rekey_mb(k, &s->key, &t->key, lanes, m);
        rekey_finish(s, t, slots, lanes, m, sc);
    }
    /* keystream and plaintext blocks (page.c wipes its masks too) */
    explicit_bzero(pb, sizeof(pb));
    explicit_bzero(mo, sizeof(mo));
    explicit_bzero(mn, sizeof(mn));
    explicit_bzero(slots, sizeof(slots));
}

static void rekey_cbc_batch(const ibc_space *s, const ibc_space *t, ibc_page *pages, size_t n,
                            ibc_scratch *sc)
{
    ibc_page *group[IBC_MB_MAX_LANES];
    const size_t lanes = s->k->mb_lanes; /* <= IBC_MB_MAX_LANES */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fast_candidate(s, &pages[i])) {
            ibc_page_process(s, t, IBC_OP_REKEY, &pages[i], sc);
            continue;
        }
        group[m++] = &pages[i];
        if (m == lanes) {
            rekey_cbc_group(s, t, group, m, sc);
            m = 0;
        }
    }
    if (m)
        rekey_cbc_group(s, t, group, m, sc);
}

static void rekey_ctr_page(const ibc_space *s, const ibc_space *t, ibc_page *pg, ibc_scratch *sc)
{
    const ibc_kernels *k = s->k;
    uint32_t ps = s->g.physical;
    uint8_t iv[16], mask_old[16];
    ibc_page_iv(s, pg->src, iv);
    if (!rekey_precheck_ctr(s, pg->src, iv, mask_old)) {
        ibc_page_process(s, t, IBC_OP_REKEY, pg, sc);
        return;
    }
    uint32_t crc_in = k->crc32c(0, pg->src, 26), crc_out = crc_in;
    if (pg->dst != pg->src)
        memcpy(pg->dst, pg->src, 26);
    uint32_t stored = be32(pg->src + ps - 4);
    k->aes_ctr2_crc(&s->key, iv, &t->key, iv, pg->src + 26, pg->dst + 26, ps - 30, &crc_in,
                    &crc_out);
    if (crc_in != stored) {
        pg->status = IBC_PAGE_BAD_OUTER;
        pg->flags = IBC_PF_ENCRYPTED;
        return;
    }
    put_be32(pg->dst + ps - 4, crc_out);
    mark_ok(pg, 0);
}

/* ---- entry point ------------------------------------------------------------------------- */

ibc_status ibc_batch_run(const ibc_space *s, const ibc_space *t, ibc_op op, ibc_page *pages,
                         size_t n, ibc_scratch *sc)
{
    if (!s || !sc || (n && !pages) || op > IBC_OP_REKEY_CHECKED)
        return IBC_ERR_INVALID_ARG;
    sc->checked = op == IBC_OP_REKEY_CHECKED;
    if (sc->checked)
        op = IBC_OP_REKEY;
    if (op == IBC_OP_REKEY &&
        (!t || !t->have_key || t->g.physical != s->g.physical || t->space_id != s->space_id))
        return IBC_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (op >= IBC_OP_DECRYPT && !pages[i].dst)
            return IBC_ERR_INVALID_ARG;

    if (op == IBC_OP_REKEY && s->algo == IBC_ALGO_CBC && t->algo == IBC_ALGO_CBC) {
        rekey_cbc_batch(s, t, pages, n, sc);
        return IBC_OK;
    }
    if ((op == IBC_OP_VERIFY_DEEP || op == IBC_OP_DECRYPT) && s->algo == IBC_ALGO_CBC) {
        fast_decrypt_cbc(s, t, op, pages, n, sc);
        return IBC_OK;
    }
    for (size_t i = 0; i < n; i++) {
        ibc_page *pg = &pages[i];
        if (op == IBC_OP_REKEY && s->algo == IBC_ALGO_CTR && t->algo == IBC_ALGO_CTR &&
            fast_candidate(s, pg)) {
            rekey_ctr_page(s, t, pg, sc);
            continue;
        }
        if ((op == IBC_OP_VERIFY_DEEP || op == IBC_OP_DECRYPT) && fast_candidate(s, pg) &&
            fast_decrypt(s, op, pg, sc, NULL, NULL)) /* CTR */
            continue;
        ibc_page_process(s, t, op, pg, sc);
    }
    return IBC_OK;
}
