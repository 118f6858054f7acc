/*
 * bench_page.c - the page group: batches of real-format 16 KiB pages through the engine and
 * through the peers, in the same run.
 *
 *   page/verify[_legacy]/<impl>/16384[/cold]            checksums only (innochecksum's job)
 *   page/deep_verify_{cbc,ctr}[_legacy]/<impl>/16384[/cold]
 *                                                       + decrypt and check the plaintext
 *   page/rekey_{cbc,ctr}[_legacy]/<impl>/16384[/cold]   old key -> new key, in place
 *   page/{rekey,deep_verify}_cbc/ibdcrypt.<tier>/16384/real_time/threads:{1,2}
 *                                                       the same on 1 and 2 threads, wall time
 *
 * No suffix: full_crc32 pages (MariaDB's default format); "_legacy": the crc32 format. Hot: one
 * batch of BENCH_HOT_PAGES pages per thread, in cache; "/cold": each iteration takes the next
 * batch of a rotating set four times the size of the L3. Every iteration checks its statuses,
 * and every hot set-up first checks that its re-key gives the engine's bytes exactly.
 *
 * Peers (the page is processed as the server processes it; formats/mariadb.md §2, §4, §6):
 *   openssl_fresh_ctx  the server's own method (the baseline of the issue targets): the outer
 *                      checksum (ISA-L CRC-32C), then my_aes_crypt per page: a fresh EVP
 *                      context for the CBC body and another for the ECB tail mask, serial CBC;
 *                      the server's plaintext checks; for a re-key the same to encrypt and a new
 *                      checksum.
 *   openssl            the same with EVP contexts made once and reused (new IV per page).
 *   ipsec_mb           a composition of the fastest libraries: ipsec-mb jobs for the cipher
 *                      (CBC encryption of a re-key as one multi-buffer submission of the whole
 *                      batch, staggered buffers), ISA-L for the checksums.
 *   isal               verify only: the outer checksum by ISA-L crc32_iscsi.
 */
#include <stdio.h>
#include <string.h>

#include "page_data.h"
#include "peers.h"

typedef enum pop { P_VERIFY, P_DEEP_CBC, P_DEEP_CTR, P_REKEY_CBC, P_REKEY_CTR, P_OP_COUNT } pop;
typedef enum pimpl { PI_OURS, PI_OPENSSL, PI_OPENSSL_FRESH, PI_IPSECMB, PI_ISAL, PI_COUNT } pimpl;

#define CIPHER_PEERS (1u << PI_OPENSSL | 1u << PI_OPENSSL_FRESH | 1u << PI_IPSECMB)
static const struct pop_info {
    const char *name;
    ibc_op op;
    ibc_algo algo;
    unsigned impls;
} pops[P_OP_COUNT] = {
    [P_VERIFY] = {"verify", IBC_OP_VERIFY, IBC_ALGO_CBC, 1u << PI_OURS | 1u << PI_ISAL},
    [P_DEEP_CBC] = {"deep_verify_cbc", IBC_OP_VERIFY_DEEP, IBC_ALGO_CBC, 1u | CIPHER_PEERS},
    [P_DEEP_CTR] = {"deep_verify_ctr", IBC_OP_VERIFY_DEEP, IBC_ALGO_CTR, 1u | CIPHER_PEERS},
    [P_REKEY_CBC] = {"rekey_cbc", IBC_OP_REKEY, IBC_ALGO_CBC, 1u | CIPHER_PEERS},
    [P_REKEY_CTR] = {"rekey_ctr", IBC_OP_REKEY, IBC_ALGO_CTR, 1u | CIPHER_PEERS},
};

static const char *const pimpl_names[PI_COUNT] = {
    [PI_OPENSSL] = "openssl", [PI_OPENSSL_FRESH] = "openssl_fresh_ctx",
    [PI_IPSECMB] = "ipsec_mb", [PI_ISAL] = "isal",
};

typedef struct pdesc {
    pop op;
    bench_fmt fmt;
    pimpl impl;
    const ibc_kernels *k; /* PI_OURS */
    int cold;
} pdesc;

typedef struct pstate {
    const pdesc *d;
    const struct pop_info *op;
    bench_dataset *ds;
    bench_cold *cold;
    uint8_t *mem; /* hot: this thread's own copy of the hot pages */
    size_t stride;
    uint8_t parity; /* hot: 0 = the pages are under key A, 1 = under B */
    /* ours */
    ibc_page pages[BENCH_HOT_PAGES];
    ibc_scratch *sc;
    /* peers: plaintext scratch pages (staggered), cipher contexts per key */
    uint8_t *plain;
    size_t plain_stride;
    ossl_reused dec[2], enc[2], ecb[2];
#ifdef BENCH_HAVE_IPSECMB
    mb_peer mb[2];
#endif
} pstate;

/* ---- the peers' page pipeline ------------------------------------------------------------- */

/* CRC-32C for the peers: ISA-L where it exists, else the best kernel of this build (AArch64). */
static uint32_t peer_crc(uint32_t crc, const void *buf, size_t len)
{
#ifdef BENCH_HAVE_ISAL
    return isal_crc32c(crc, buf, len);
#else
    static const ibc_kernels *k;
    if (!k)
        k = ibc_tier_kernels(ibc_tier_best(ibc_cpu_features()));
    return k->crc32c(crc, buf, len);
#endif
}

/* The ciphertext checksum as on disk (buf0buf.cc buf_page_is_corrupted, full_crc32: CRC-32C of
 * [0, ps-4); fil0crypt.cc fil_space_verify_crypt_checksum, legacy: buf_calc_page_crc32 of the
 * encrypted page at 30, and the LSN copy of the clear trailer). */
static int peer_outer_ok(bench_fmt fmt, const uint8_t *p, uint32_t ps)
{
    if (fmt == BENCH_FC32)
        return peer_crc(0, p, ps - 4) == bench_be32(p + ps - 4);
    uint32_t c = peer_crc(0, p + 4, 22) ^ peer_crc(0, p + 38, ps - 46);
    return c == bench_be32(p + 30) && !memcmp(p + 20, p + ps - 4, 4);
}

/* MariaDB's cipher over one range with page key `key` (0 = A, 1 = B): CBC over the whole
 * blocks and the tail XORed with AES-ECB(L, iv) (my_crypt.cc MyCTX_nopad), or CTR. */
static int peer_cipher(pstate *s, int key, int enc, const uint8_t iv[16], const uint8_t *in,
                       uint8_t *out, size_t len)
{
    peer_mode mode = s->op->algo == IBC_ALGO_CTR ? PEER_CTR : PEER_CBC;
    if (s->d->impl == PI_OPENSSL_FRESH)
        return ossl_fresh_crypt(mode, enc, s->ds->page_key[key], 16, iv, in, out, len);
    size_t whole = mode == PEER_CTR ? len : len / 16 * 16, tail = len - whole;
    uint8_t t[16], mask[16];
    memcpy(t, in + whole, tail);
    int r = -1;
    if (s->d->impl == PI_OPENSSL) {
        r = ossl_reused_crypt(enc ? &s->enc[key] : &s->dec[key], iv, in, out, whole);
        if (!r && tail)
            r = ossl_reused_crypt(&s->ecb[key], NULL, iv, mask, 16);
    }
#ifdef BENCH_HAVE_IPSECMB
    if (s->d->impl == PI_IPSECMB) {
        r = mb_peer_crypt(&s->mb[key], mode, enc, iv, in, out, whole);
        if (!r && tail)
            r = mb_peer_crypt(&s->mb[key], PEER_ECB, 1, NULL, iv, mask, 16);
    }
#endif
    for (size_t i = 0; i < tail; i++)
        out[whole + i] = t[i] ^ mask[i];
    return r;
}

/* Deep verify of one page under key `key`, the plaintext of the encrypted range into plain.
 * Returns 1 if every check the server makes passes. */
static int peer_open(pstate *s, int key, const uint8_t *p, uint32_t page_no, uint8_t *plain,
                     uint8_t iv[16])
{
    const bench_dataset *ds = s->ds;
    uint32_t ps = ds->ps, off, len;
    bench_fmt fmt = s->d->fmt;
    if (!peer_outer_ok(fmt, p, ps) || bench_be32(p + 4) != page_no)
        return 0;
    bench_crypt_range(fmt, ps, &off, &len);
    /* fil0crypt.cc: the legacy format reads the space id from the page (it is not encrypted) */
    bench_page_iv(fmt == BENCH_FC32 ? ds->space_id : bench_be32(p + 34), p, iv);
    if (peer_cipher(s, key, 0, iv, p + off, plain + off, len))
        return 0;
    if (fmt == BENCH_FC32) /* buf0buf.cc buf_page_full_crc32_is_corrupted */
        return bench_be32(plain + 34) == ds->space_id && !memcmp(plain + ps - 8, p + 20, 4);
    /* legacy: the plaintext crc32 (buf_calc_page_crc32) in field1 and field2, both in clear */
    uint32_t c = peer_crc(0, p + 4, 22) ^ peer_crc(0, plain + 38, ps - 46);
    return c == bench_be32(p) && c == bench_be32(p + ps - 8);
}

/* After encryption: the new ciphertext checksum (fil0crypt.cc fil_encrypt_buf_for_full_crc32 /
 * fil_encrypt_buf_for_non_full_checksum). */
static void peer_seal(bench_fmt fmt, uint8_t *q, uint32_t ps)
{
    if (fmt == BENCH_FC32)
        bench_put_be32(q + ps - 4, peer_crc(0, q, ps - 4));
    else
        bench_put_be32(q + 30, peer_crc(0, q + 4, 22) ^ peer_crc(0, q + 38, ps - 46));
}

/* One batch through a peer. Re-keys go from key `key` to key^1, in place. Returns the number of
 * pages that failed a check (0 when all is well). */
static size_t peer_batch(pstate *s, uint8_t *base, size_t stride, uint32_t first_no, int key)
{
    const uint32_t ps = s->ds->ps;
    uint32_t off, len;
    bench_crypt_range(s->d->fmt, ps, &off, &len);
    size_t bad = 0;
    if (s->d->op == P_VERIFY) {
        for (uint32_t i = 0; i < BENCH_HOT_PAGES; i++)
            bad += !peer_outer_ok(s->d->fmt, base + i * stride, ps);
        return bad;
    }
    int rekey = s->op->op == IBC_OP_REKEY;
    /* ipsec-mb encrypts the CBC re-key of the whole batch in one multi-buffer submission */
    int mb = rekey && s->d->impl == PI_IPSECMB && s->op->algo == IBC_ALGO_CBC;
    uint8_t ivs[BENCH_HOT_PAGES][16];
    for (uint32_t i = 0; i < BENCH_HOT_PAGES; i++) {
        uint8_t *p = base + i * stride, *plain = s->plain + (mb ? i * s->plain_stride : 0);
        if (!peer_open(s, key, p, first_no + i, plain, ivs[i])) {
            bad++;
            continue;
        }
        if (rekey && !mb) {
            bad += peer_cipher(s, key ^ 1, 1, ivs[i], plain + off, p + off, len) != 0;
            peer_seal(s->d->fmt, p, ps);
        }
    }
#ifdef BENCH_HAVE_IPSECMB
    if (mb && !bad) {
        ibc_cbc_lane lanes[BENCH_HOT_PAGES];
        size_t whole = len / 16 * 16, tail = len - whole;
        for (uint32_t i = 0; i < BENCH_HOT_PAGES; i++) {
            lanes[i].in = s->plain + i * s->plain_stride + off;
            lanes[i].out = base + i * stride + off;
            lanes[i].nblocks = whole / 16;
            memcpy(lanes[i].iv, ivs[i], 16);
        }
        if (mb_peer_cbc_enc_lanes(&s->mb[key ^ 1], lanes, BENCH_HOT_PAGES))
            return BENCH_HOT_PAGES;
        for (uint32_t i = 0; i < BENCH_HOT_PAGES; i++) {
            uint8_t mask[16], *q = base + i * stride;
            const uint8_t *t = s->plain + i * s->plain_stride + off + whole;
            bad += mb_peer_crypt(&s->mb[key ^ 1], PEER_ECB, 1, NULL, ivs[i], mask, 16) != 0;
            for (size_t j = 0; j < tail; j++)
                q[off + whole + j] = t[j] ^ mask[j];
            peer_seal(s->d->fmt, q, ps);
        }
    }
#endif
    return bad;
}

/* ---- one iteration ------------------------------------------------------------------------ */

static const char *page_run(void *p)
{
    pstate *s = p;
    uint8_t *base = s->mem, *parity = &s->parity;
    size_t stride = s->stride;
    uint32_t first_no = 1;
    if (s->cold) {
        bench_cold *c = s->cold;
        size_t b = c->cursor;
        c->cursor = (b + 1) % (c->n / BENCH_HOT_PAGES);
        base = c->mem + b * BENCH_HOT_PAGES * c->stride;
        stride = c->stride;
        parity = &c->parity[b];
        first_no = 1 + (uint32_t)(b * BENCH_HOT_PAGES);
    }
    int rekey = s->op->op == IBC_OP_REKEY, key = *parity;
    if (s->d->impl == PI_OURS) {
        for (uint32_t i = 0; i < BENCH_HOT_PAGES; i++) {
            ibc_page *pg = &s->pages[i];
            pg->src = base + i * stride;
            pg->dst = rekey ? base + i * stride : NULL;
            pg->page_no = first_no + i;
        }
        const ibc_space *const *sp = (const ibc_space *const *)s->ds->space[s->d->k->tier];
        ibc_batch_run(sp[key], rekey ? sp[key ^ 1] : NULL, s->op->op, s->pages, BENCH_HOT_PAGES,
                      s->sc);
        for (uint32_t i = 0; i < BENCH_HOT_PAGES; i++)
            if (s->pages[i].status != IBC_PAGE_OK)
                return "a page failed its checks in ibdcrypt";
    } else if (peer_batch(s, base, stride, first_no, key)) {
        return "a page failed its checks in the peer";
    }
    if (rekey)
        *parity ^= 1;
    return NULL;
}

/* ---- setup / teardown --------------------------------------------------------------------- */

static void page_teardown(void *p)
{
    pstate *s = p;
    if (!s)
        return;
    for (int k = 0; k < 2; k++) {
        ossl_reused_free(&s->dec[k]);
        ossl_reused_free(&s->enc[k]);
        ossl_reused_free(&s->ecb[k]);
#ifdef BENCH_HAVE_IPSECMB
        mb_peer_free(&s->mb[k]);
#endif
    }
    ibc_scratch_free(s->sc);
    bench_pages_free(s->plain);
    bench_pages_free(s->mem);
    bench_free(s);
}

static void *page_fail(pstate *s, gbc_ctx *ctx, const char *msg)
{
    bench_skip(ctx, "%s: %s", ctx->name, msg);
    page_teardown(s);
    return NULL;
}

static int peer_contexts(pstate *s)
{
    peer_mode mode = s->op->algo == IBC_ALGO_CTR ? PEER_CTR : PEER_CBC;
    for (int k = 0; k < 2; k++) {
        const uint8_t *L = s->ds->page_key[k];
        if (s->d->impl == PI_OPENSSL &&
            (ossl_reused_init(&s->dec[k], mode, 0, L, 16) ||
             ossl_reused_init(&s->enc[k], mode, 1, L, 16) ||
             ossl_reused_init(&s->ecb[k], PEER_ECB, 1, L, 16)))
            return -1;
#ifdef BENCH_HAVE_IPSECMB
        if (s->d->impl == PI_IPSECMB && mb_peer_init(&s->mb[k], L, 16))
            return -1;
#endif
    }
    return 0;
}

static void *page_setup(gbc_ctx *ctx)
{
    const pdesc *d = ctx->user;
    pstate *s = bench_alloc(sizeof(*s));
    if (!s)
        return bench_skip(ctx, "out of memory");
    s->d = d;
    s->op = &pops[d->op];
    s->ds = bench_dataset_get(d->fmt, s->op->algo);
    if (s->ds->error[0])
        return page_fail(s, ctx, s->ds->error);
    if (d->impl == PI_OURS && !s->ds->space[d->k->tier][0])
        return page_fail(s, ctx, "tier not usable");
    if (d->impl == PI_OURS && BENCH_HOT_PAGES % d->k->mb_lanes)
        return page_fail(s, ctx, "the batch is not a multiple of the tier's lanes");
    s->sc = ibc_scratch_new();
    s->plain = bench_pages_alloc(s->ds->ps, BENCH_HOT_PAGES, &s->plain_stride);
    if (!s->sc || !s->plain)
        return page_fail(s, ctx, "out of memory");
    memset(s->plain, 0, BENCH_HOT_PAGES * s->plain_stride);
    if (peer_contexts(s))
        return page_fail(s, ctx, "peer cipher set-up failed");
    if (d->cold) {
        s->cold = bench_dataset_cold(s->ds);
        if (!s->cold)
            return page_fail(s, ctx, s->ds->error);
    } else {
        /* this thread's own pages (first touched here, so on this thread's node) */
        s->mem = bench_pages_alloc(s->ds->ps, BENCH_HOT_PAGES, &s->stride);
        if (!s->mem)
            return page_fail(s, ctx, "out of memory");
        memcpy(s->mem, s->ds->hot, BENCH_HOT_PAGES * s->stride);
        /* one checked iteration: statuses, and for a re-key the engine's bytes exactly */
        if (page_run(s))
            return page_fail(s, ctx, "the first batch failed its checks");
        if (s->op->op == IBC_OP_REKEY &&
            memcmp(s->mem, s->ds->hot_rekeyed, BENCH_HOT_PAGES * s->stride))
            return page_fail(s, ctx, "the re-keyed pages differ from the engine's");
    }
    ctx->bytes = (double)BENCH_HOT_PAGES * s->ds->ps;
    ctx->pages = BENCH_HOT_PAGES;
    return s;
}

/* ---- registration ------------------------------------------------------------------------- */

static int impl_built(pimpl i)
{
#ifndef BENCH_HAVE_IPSECMB
    if (i == PI_IPSECMB)
        return 0;
#endif
#ifndef BENCH_HAVE_ISAL
    if (i == PI_ISAL)
        return 0;
#endif
    (void)i;
    return 1;
}

static void page_add(const pdesc *d, int threads)
{
    const struct pop_info *op = &pops[d->op];
    char name[128];
    snprintf(name, sizeof(name), "page/%s%s/%s%s", op->name,
             d->fmt == BENCH_LEGACY ? "_legacy" : "", d->impl == PI_OURS ? "ibdcrypt." : "",
             d->impl == PI_OURS ? d->k->name : pimpl_names[d->impl]);
    gbc_spec spec = {
        .name = name,
        .suffix = d->cold ? "cold" : NULL,
        .setup = page_setup,
        .run = page_run,
        .teardown = page_teardown,
        .user = d,
        .args = {BENCH_PAGE_SIZE},
        .nargs = 1,
        .threads = threads,
    };
    gbc_register(&spec);
}

void bench_page_register(void)
{
    static pdesc descs[BENCH_FMT_COUNT * P_OP_COUNT * 2 * (PI_COUNT + IBC_TIER_COUNT)];
    static pdesc scaling[2 * IBC_TIER_COUNT];
    size_t nd = 0, ns = 0;
    const ibc_kernels *tiers[IBC_TIER_COUNT];
    size_t nt = bench_tiers(tiers);
    for (int cold = 0; cold < 2; cold++)
        for (int f = 0; f < BENCH_FMT_COUNT; f++)
            for (int o = 0; o < P_OP_COUNT; o++)
                for (int i = 0; i < PI_COUNT; i++) {
                    if (!(pops[o].impls & (1u << i)) || !impl_built((pimpl)i))
                        continue;
                    for (size_t v = 0; v < (i == PI_OURS ? nt : 1); v++) {
                        pdesc *d = &descs[nd++];
                        *d = (pdesc){.op = (pop)o, .fmt = (bench_fmt)f, .impl = (pimpl)i,
                                     .k = i == PI_OURS ? tiers[v] : NULL, .cold = cold};
                        page_add(d, 0);
                    }
                }
    /* 1 and 2 threads, each with its own pages and scratch: the scaling pairs */
    static const pop scaled[2] = {P_DEEP_CBC, P_REKEY_CBC};
    for (int o = 0; o < 2; o++)
        for (size_t v = 0; v < nt; v++) {
            pdesc *d = &scaling[ns++];
            *d = (pdesc){.op = scaled[o], .fmt = BENCH_FC32, .impl = PI_OURS, .k = tiers[v]};
            page_add(d, 1);
            page_add(d, 2);
        }
}

void bench_page_cleanup(void)
{
    bench_datasets_free();
}
