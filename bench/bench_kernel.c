/*
 * bench_kernel.c - the kernel group: one AES mode or CRC over one buffer in cache, for every
 * tier this CPU runs and for the peers, in the same process run.
 *
 *   kernel/aes128_ctr/<impl>/<bytes>          AES-128-CTR
 *   kernel/aes256_ctr/<impl>/<bytes>          AES-256-CTR
 *   kernel/aes128_cbc_dec/<impl>/<bytes>      AES-128-CBC decryption
 *   kernel/aes128_cbc_dec_crc/<impl>/<bytes>  CBC decryption with the CRC-32C of the ciphertext
 *                                             (the first pass of a page re-key): ibdcrypt the
 *                                             fused kernel, ibdcrypt_composed the tier's CRC
 *                                             then its decryption, ipsec_mb_isal ipsec-mb's
 *                                             decryption after ISA-L's crc32_iscsi
 *   kernel/aes128_cbc_enc/<impl>/<bytes>      AES-128-CBC encryption of one stream (serial)
 *   kernel/aes128_cbc_enc_x16/<impl>/<bytes>  16 independent streams of <bytes> each, one key
 *                                             (openssl: the 16 streams one after the other)
 *   kernel/aes128_cbc_enc_x32/<impl>/<bytes>  the same with 32 streams (the lanes of the zmm
 *                                             tier; ipsec-mb: 32 jobs of its 16-lane kernel)
 *   kernel/aes128_cbc_rekey_x16/<impl>/<bytes> the multi-buffer re-key of the page engine
 *                                             (CBC-decrypt, CBC-encrypt under another key, both
 *                                             CRCs) on 16 streams, ours only: ibdcrypt.<tier> the
 *                                             fused kernel, ibdcrypt_composed.<tier> the
 *                                             composition of the tier's kernels; the engine
 *                                             takes the one its table names (ibc_cbc_rekey_mb),
 *                                             and these two tell which is faster on a machine
 *   kernel/aes128_cbc_rekey_x32/<impl>/<bytes> the same on 32 streams
 *   kernel/aes128_ecb_block/<impl>/16         one block (the cost of a key derivation or of a
 *                                             CBC tail mask)
 *   kernel/crc32c/<impl>/<bytes>              CRC-32C
 *   kernel/crc32c_mtr/<impl>/<bytes>          the CRC-32C of every redo mini-transaction in
 *                                             <bytes> of them, laid out as in a log (records,
 *                                             sequence byte, 8-byte nonce, CRC; 65 bytes of
 *                                             records on average, as in a real OLTP log; the
 *                                             CRC covers the records and the nonce): ibdcrypt
 *                                             the multi-message kernel (crc32c_mb), ibdcrypt_
 *                                             single one crc32c call per piece, isal the same
 *                                             with ISA-L's crc32_iscsi
 *   kernel/aes128_cbc_rekey_mtr/<impl>/<bytes> re-keying the records of those mtrs in place,
 *   kernel/aes128_ctr2_mtr/<impl>/<bytes>     one stream each under its own IV (the redo log's
 *                                             re-encryption; whole blocks only for CBC):
 *                                             ibdcrypt the short-stream kernels (one call for
 *                                             all), ibdcrypt_single the tier's kernels one call
 *                                             per stream (ibc_generic_*_short), openssl_fresh_ctx
 *                                             one EVP context per stream and direction, as the
 *                                             server encrypts each mtr
 *   kernel/memcpy/libc/<bytes>                the bandwidth reference
 *
 * Buffers are out of place, in the staggered layout of ibc_pages_alloc (a 256-byte stagger per
 * stream), and every state checks once, at setup, that its implementation computes the same
 * bytes as OpenSSL (or the portable CRC), so a benchmark never times a wrong result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "peers.h"

typedef enum kop {
    K_AES128_CTR,
    K_AES256_CTR,
    K_AES128_CBC_DEC,
    K_AES128_CBC_DEC_CRC,
    K_AES128_CBC_ENC,
    K_AES128_CBC_ENC_X16,
    K_AES128_CBC_ENC_X32,
    K_AES128_CBC_REKEY_X16,
    K_AES128_CBC_REKEY_X32,
    K_AES128_ECB_BLOCK,
    K_CRC32C,
    K_CRC32C_MTR,
    K_CBC_REKEY_MTR,
    K_CTR2_MTR,
    K_MEMCPY,
    K_OP_COUNT
} kop;

typedef enum kimpl {
    KI_OURS,
    KI_OPENSSL,
    KI_OPENSSL_FRESH,
    KI_IPSECMB,
    KI_ISAL,
    KI_LIBC,
    KI_COMPOSED, /* ours, the CBC re-key composed from the tier's kernels */
    KI_SINGLE,   /* ours, the mtr CRCs one kernel call per piece */
    KI_MB_ISAL,  /* ISA-L's CRC of the ciphertext, then ipsec-mb's decryption */
    KI_COUNT
} kimpl;

static const struct kop_info {
    const char *name;
    peer_mode mode;
    int enc;
    size_t key_len;
    size_t lanes;
    unsigned impls; /* bit per kimpl */
} kops[K_OP_COUNT] = {
#define CIPHER_IMPLS (1u << KI_OURS | 1u << KI_OPENSSL | 1u << KI_OPENSSL_FRESH | 1u << KI_IPSECMB)
    [K_AES128_CTR] = {"aes128_ctr", PEER_CTR, 1, 16, 1, CIPHER_IMPLS},
    [K_AES256_CTR] = {"aes256_ctr", PEER_CTR, 1, 32, 1, CIPHER_IMPLS},
    [K_AES128_CBC_DEC] = {"aes128_cbc_dec", PEER_CBC, 0, 16, 1, CIPHER_IMPLS},
    [K_AES128_CBC_DEC_CRC] = {"aes128_cbc_dec_crc", PEER_CBC, 0, 16, 1,
                              1u << KI_OURS | 1u << KI_COMPOSED | 1u << KI_MB_ISAL},
    [K_AES128_CBC_ENC] = {"aes128_cbc_enc", PEER_CBC, 1, 16, 1, CIPHER_IMPLS},
    [K_AES128_CBC_ENC_X16] = {"aes128_cbc_enc_x16", PEER_CBC, 1, 16, 16,
                              1u << KI_OURS | 1u << KI_OPENSSL | 1u << KI_IPSECMB},
    [K_AES128_CBC_ENC_X32] = {"aes128_cbc_enc_x32", PEER_CBC, 1, 16, 32,
                              1u << KI_OURS | 1u << KI_IPSECMB},
    [K_AES128_CBC_REKEY_X16] = {"aes128_cbc_rekey_x16", PEER_CBC, 1, 16, 16,
                                1u << KI_OURS | 1u << KI_COMPOSED},
    [K_AES128_CBC_REKEY_X32] = {"aes128_cbc_rekey_x32", PEER_CBC, 1, 16, 32,
                                1u << KI_OURS | 1u << KI_COMPOSED},
    [K_AES128_ECB_BLOCK] = {"aes128_ecb_block", PEER_ECB, 1, 16, 1, CIPHER_IMPLS},
    [K_CRC32C] = {"crc32c", PEER_ECB, 0, 0, 1, 1u << KI_OURS | 1u << KI_ISAL},
    [K_CRC32C_MTR] = {"crc32c_mtr", PEER_ECB, 0, 0, 1,
                      1u << KI_OURS | 1u << KI_SINGLE | 1u << KI_ISAL},
    [K_CBC_REKEY_MTR] = {"aes128_cbc_rekey_mtr", PEER_CBC, 1, 16, 1,
                         1u << KI_OURS | 1u << KI_SINGLE | 1u << KI_OPENSSL_FRESH},
    [K_CTR2_MTR] = {"aes128_ctr2_mtr", PEER_CTR, 1, 16, 1,
                    1u << KI_OURS | 1u << KI_SINGLE | 1u << KI_OPENSSL_FRESH},
    [K_MEMCPY] = {"memcpy", PEER_ECB, 0, 0, 1, 1u << KI_LIBC},
#undef CIPHER_IMPLS
};

static const char *const kimpl_names[KI_COUNT] = {
    [KI_OURS] = "ibdcrypt", [KI_OPENSSL] = "openssl", [KI_OPENSSL_FRESH] = "openssl_fresh_ctx",
    [KI_IPSECMB] = "ipsec_mb", [KI_ISAL] = "isal",      [KI_LIBC] = "libc",
    [KI_COMPOSED] = "ibdcrypt_composed", [KI_SINGLE] = "ibdcrypt_single",
    [KI_MB_ISAL] = "ipsec_mb_isal",
};

/* What one registration stands for (static storage: it is the spec's user pointer). */
typedef struct kdesc {
    kop op;
    kimpl impl;
    const ibc_kernels *k; /* KI_OURS, KI_COMPOSED */
} kdesc;

typedef struct kstate {
    const kdesc *d;
    const struct kop_info *op;
    size_t len; /* bytes per stream */
    uint8_t *mem;
    ibc_cbc_lane lanes[IBC_MB_MAX_LANES]; /* in, out, nblocks, iv of each stream */
    uint8_t key[32]; /* the re-key decrypts under key[0..16), encrypts under key[16..32) */
    ibc_aes_key xk, xk2;
    ossl_reused ossl;
#ifdef BENCH_HAVE_IPSECMB
    mb_peer mb;
#endif
    uint32_t sink;
    ibc_crc_msg *msgs; /* the mtr benchmarks: the mtrs in lanes[0].in (CRC) or .out */
    ibc_short_lane *sl; /* ... their records as streams (re-key) */
    size_t nmsgs;
} kstate;

static int sl_longer_first(const void *a, const void *b)
{
    const ibc_short_lane *x = a, *y = b;
    return (x->len < y->len) - (x->len > y->len);
}

static int mtr_op(kop o)
{
    return o == K_CRC32C_MTR || o == K_CBC_REKEY_MTR || o == K_CTR2_MTR;
}

/* The server's way for the mtr re-keys: a fresh EVP context per stream and direction. */
static const char *mtr_rekey_openssl(kstate *s)
{
    for (size_t i = 0; i < s->nmsgs; i++) {
        ibc_short_lane *l = &s->sl[i];
        size_t n = s->d->op == K_CTR2_MTR ? l->len : l->len / 16 * 16;
        if (ossl_fresh_crypt(s->op->mode, s->d->op == K_CTR2_MTR, s->key, 16, l->iv, l->p, l->p,
                             n) ||
            ossl_fresh_crypt(s->op->mode, 1, s->key + 16, 16, l->iv, l->p, l->p, n))
            return "OpenSSL EVP call failed";
    }
    return NULL;
}

/* K_CRC32C_MTR: the sequence byte between an mtr's records and its nonce, the nonce, the CRC */
#define MTR_GAP   1
#define MTR_NONCE 8
#define MTR_TRAIL (MTR_GAP + MTR_NONCE + 4)

/* The mtr CRCs one piece at a time with crc (ours or ISA-L's); their XOR. */
static uint32_t mtr_crcs_single(const kstate *s, uint32_t (*crc)(uint32_t, const void *, size_t))
{
    uint32_t x = 0;
    for (size_t i = 0; i < s->nmsgs; i++) {
        const ibc_crc_msg *m = &s->msgs[i];
        x ^= crc(crc(0, m->p, m->len), m->p + m->len + MTR_GAP, MTR_NONCE);
    }
    return x;
}

/* ---- run functions: one iteration each ---------------------------------------------------- */

static const char *run_ours(void *p)
{
    kstate *s = p;
    const ibc_kernels *k = s->d->k;
    ibc_cbc_lane *l = &s->lanes[0];
    uint8_t iv[16];
    switch (s->d->op) {
    case K_AES128_CTR:
    case K_AES256_CTR:
        k->aes_ctr(&s->xk, l->iv, l->in, l->out, s->len);
        break;
    case K_AES128_CBC_DEC:
        memcpy(iv, l->iv, 16);
        k->aes_cbc_dec(&s->xk, iv, l->in, l->out, l->nblocks);
        break;
    case K_AES128_CBC_ENC:
        memcpy(iv, l->iv, 16);
        k->aes_cbc_enc(&s->xk, iv, l->in, l->out, l->nblocks);
        break;
    case K_AES128_CBC_DEC_CRC: {
        uint32_t crc = 0;
        memcpy(iv, l->iv, 16);
        if (s->d->impl == KI_COMPOSED) {
            crc = k->crc32c(0, l->in, s->len);
            k->aes_cbc_dec(&s->xk, iv, l->in, l->out, l->nblocks);
        } else {
            k->aes_cbc_dec_crc(&s->xk, iv, l->in, l->out, l->nblocks, &crc);
        }
        s->sink = crc;
        break;
    }
    case K_AES128_CBC_ENC_X16:
    case K_AES128_CBC_ENC_X32: {
        ibc_cbc_lane work[IBC_MB_MAX_LANES]; /* the kernel advances the ivs */
        memcpy(work, s->lanes, sizeof(work));
        k->aes_cbc_enc_mb(&s->xk, work, s->op->lanes);
        break;
    }
    case K_AES128_CBC_REKEY_X16:
    case K_AES128_CBC_REKEY_X32: {
        ibc_rekey_lane work[IBC_MB_MAX_LANES];
        for (size_t i = 0; i < s->op->lanes; i++) {
            work[i] = (ibc_rekey_lane){.in = s->lanes[i].in, .out = s->lanes[i].out,
                                       .nblocks = s->lanes[i].nblocks};
            memcpy(work[i].iv_in, s->lanes[i].iv, 16);
            memcpy(work[i].iv_out, s->lanes[i].iv, 16);
        }
        if (s->d->impl == KI_COMPOSED)
            ibc_generic_cbc_rekey_mb(k, &s->xk, &s->xk2, work, s->op->lanes);
        else
            k->aes_cbc_rekey_mb(&s->xk, &s->xk2, work, s->op->lanes);
        s->sink ^= work[0].crc_in ^ work[0].crc_out;
        break;
    }
    case K_AES128_ECB_BLOCK:
        k->aes_ecb_enc(&s->xk, l->in, l->out, 1);
        break;
    case K_CRC32C:
        s->sink ^= k->crc32c(0, l->in, s->len);
        break;
    case K_CBC_REKEY_MTR:
        if (s->d->impl == KI_SINGLE)
            ibc_generic_cbc_rekey_short(k, &s->xk, &s->xk2, s->sl, s->nmsgs);
        else
            k->aes_cbc_rekey_short(&s->xk, &s->xk2, s->sl, s->nmsgs);
        break;
    case K_CTR2_MTR:
        if (s->d->impl == KI_SINGLE)
            ibc_generic_ctr2_short(k, &s->xk, &s->xk2, s->sl, s->nmsgs);
        else
            k->aes_ctr2_short(&s->xk, &s->xk2, s->sl, s->nmsgs);
        break;
    case K_CRC32C_MTR:
        if (s->d->impl == KI_SINGLE) {
            s->sink = mtr_crcs_single(s, k->crc32c);
        } else {
            k->crc32c_mb(s->msgs, s->nmsgs, MTR_GAP, MTR_NONCE);
            s->sink = 0;
            for (size_t i = 0; i < s->nmsgs; i++)
                s->sink ^= s->msgs[i].crc;
        }
        break;
    default:
        return "no such kernel";
    }
    return NULL;
}

static const char *run_openssl(void *p)
{
    kstate *s = p;
    for (size_t i = 0; i < s->op->lanes; i++) {
        ibc_cbc_lane *l = &s->lanes[i];
        const uint8_t *iv = s->op->mode == PEER_ECB ? NULL : l->iv;
        if (ossl_reused_crypt(&s->ossl, iv, l->in, l->out, s->len))
            return "OpenSSL EVP call failed";
    }
    return NULL;
}

static const char *run_openssl_fresh(void *p)
{
    kstate *s = p;
    if (mtr_op(s->d->op))
        return mtr_rekey_openssl(s);
    ibc_cbc_lane *l = &s->lanes[0];
    if (ossl_fresh_crypt(s->op->mode, s->op->enc, s->key, s->op->key_len, l->iv, l->in, l->out,
                         s->len))
        return "OpenSSL EVP call failed";
    return NULL;
}

#ifdef BENCH_HAVE_IPSECMB
static const char *run_ipsecmb(void *p)
{
    kstate *s = p;
    ibc_cbc_lane *l = &s->lanes[0];
    int r = s->op->lanes > 1
                ? mb_peer_cbc_enc_lanes(&s->mb, s->lanes, s->op->lanes)
                : mb_peer_crypt(&s->mb, s->op->mode, s->op->enc, l->iv, l->in, l->out, s->len);
    return r ? "ipsec-mb job failed" : NULL;
}
#endif

#if defined(BENCH_HAVE_IPSECMB) && defined(BENCH_HAVE_ISAL)
static const char *run_mb_isal(void *p)
{
    kstate *s = p;
    ibc_cbc_lane *l = &s->lanes[0];
    s->sink = isal_crc32c(0, l->in, s->len);
    return mb_peer_crypt(&s->mb, PEER_CBC, 0, l->iv, l->in, l->out, s->len) ? "ipsec-mb job failed"
                                                                           : NULL;
}
#endif

#ifdef BENCH_HAVE_ISAL
static const char *run_isal(void *p)
{
    kstate *s = p;
    if (s->d->op == K_CRC32C_MTR)
        s->sink = mtr_crcs_single(s, isal_crc32c);
    else
        s->sink ^= isal_crc32c(0, s->lanes[0].in, s->len);
    return NULL;
}
#endif

static const char *run_libc(void *p)
{
    kstate *s = p;
    memcpy(s->lanes[0].out, s->lanes[0].in, s->len);
    return NULL;
}

/* ---- setup / teardown --------------------------------------------------------------------- */

static void kernel_teardown(void *p)
{
    kstate *s = p;
    if (!s)
        return;
    ossl_reused_free(&s->ossl);
#ifdef BENCH_HAVE_IPSECMB
    mb_peer_free(&s->mb);
#endif
    ibc_aes_key_wipe(&s->xk);
    ibc_aes_key_wipe(&s->xk2);
    bench_free(s->msgs);
    bench_free(s->sl);
    bench_pages_free(s->mem);
    bench_free(s);
}

/* The bytes every implementation must produce, from OpenSSL (or the portable CRC). */
static int expected_ok(kstate *s, gbc_ctx *ctx)
{
    const struct kop_info *op = s->op;
    if (s->d->op == K_MEMCPY)
        return !memcmp(s->lanes[0].out, s->lanes[0].in, s->len) ||
               !bench_skip(ctx, "memcpy copied wrong bytes");
    if (s->d->op == K_CRC32C) {
        uint32_t want = ibc_kernels_portable.crc32c(0, s->lanes[0].in, s->len);
        return s->sink == want || !bench_skip(ctx, "%s: CRC-32C differs from the portable one",
                                              ctx->name);
    }
    if (s->d->op == K_AES128_CBC_DEC_CRC &&
        s->sink != ibc_kernels_portable.crc32c(0, s->lanes[0].in, s->len))
        return !bench_skip(ctx, "%s: CRC-32C of the input differs from the portable one",
                           ctx->name);
    if (s->d->op == K_CRC32C_MTR) {
        uint32_t want = mtr_crcs_single(s, ibc_kernels_portable.crc32c);
        return s->sink == want || !bench_skip(ctx, "%s: mtr CRCs differ from the portable ones",
                                              ctx->name);
    }
    if (s->d->op == K_CBC_REKEY_MTR || s->d->op == K_CTR2_MTR) {
        /* the first run re-keyed out (a copy of in) in place: OpenSSL does the same to in */
        kstate ref = *s;
        ibc_short_lane *sl = bench_alloc(s->nmsgs * sizeof(*sl));
        uint8_t *buf = bench_alloc(s->len);
        int ok = sl && buf;
        if (ok)
            memcpy(buf, s->lanes[0].in, s->len);
        for (size_t i = 0; ok && i < s->nmsgs; i++) {
            sl[i] = s->sl[i];
            sl[i].p = buf + (s->sl[i].p - s->lanes[0].out);
        }
        ref.sl = sl;
        ok = ok && !mtr_rekey_openssl(&ref) && !memcmp(buf, s->lanes[0].out, s->len);
        bench_free(sl);
        bench_free(buf);
        return ok || !bench_skip(ctx, "%s: re-keyed mtrs differ from OpenSSL's", ctx->name);
    }
    uint8_t *ref = bench_alloc(s->len);
    int ok = ref != NULL, rekey = s->d->op == K_AES128_CBC_REKEY_X16 ||
                                  s->d->op == K_AES128_CBC_REKEY_X32;
    for (size_t i = 0; ok && i < op->lanes; i++) {
        ibc_cbc_lane *l = &s->lanes[i];
        ok = !ossl_fresh_crypt(op->mode, rekey ? 0 : op->enc, s->key, op->key_len, l->iv, l->in,
                               ref, s->len) &&
             (!rekey || !ossl_fresh_crypt(PEER_CBC, 1, s->key + 16, 16, l->iv, ref, ref, s->len)) &&
             !memcmp(ref, l->out, s->len);
    }
    bench_free(ref);
    return ok || !bench_skip(ctx, "%s: output differs from OpenSSL's", ctx->name);
}

static void *kernel_setup(gbc_ctx *ctx)
{
    const kdesc *d = ctx->user;
    const struct kop_info *op = &kops[d->op];
    kstate *s = bench_alloc(sizeof(*s));
    if (!s)
        return bench_skip(ctx, "out of memory");
    s->d = d;
    s->op = op;
    s->len = (size_t)ctx->arg;
    size_t stride;
    s->mem = bench_pages_alloc((uint32_t)s->len, 2 * op->lanes, &stride);
    if (!s->mem) {
        kernel_teardown(s);
        return bench_skip(ctx, "out of memory");
    }
    memset(s->mem, 0, 2 * op->lanes * stride);
    bench_fill(s->key, sizeof(s->key), 0x6b6579);
    for (size_t i = 0; i < op->lanes; i++) {
        ibc_cbc_lane *l = &s->lanes[i];
        l->in = s->mem + 2 * i * stride;
        l->out = s->mem + (2 * i + 1) * stride;
        l->nblocks = s->len / 16;
        bench_fill((uint8_t *)s->mem + 2 * i * stride, s->len, 0x1000 + i);
        bench_fill(l->iv, 16, 0x2000 + i);
        l->iv[12] = 0; /* keep the 32-bit counter of ipsec-mb's CTR away from a wrap */
    }
    if (mtr_op(d->op)) { /* mtrs of 16-115 bytes of records, one after the other */
        size_t most = s->len / (16 + MTR_TRAIL) + 1;
        s->msgs = bench_alloc(most * sizeof(*s->msgs));
        s->sl = bench_alloc(most * sizeof(*s->sl));
        if (!s->msgs || !s->sl) {
            kernel_teardown(s);
            return bench_skip(ctx, "out of memory");
        }
        uint32_t r = 0x6d7472;
        for (size_t at = 0;;) {
            r = r * 1103515245u + 12345u;
            uint32_t len = 16 + (r >> 16) % 100;
            if (at + len + MTR_TRAIL > s->len)
                break;
            s->msgs[s->nmsgs] = (ibc_crc_msg){.p = s->lanes[0].in + at, .len = len};
            s->sl[s->nmsgs] = (ibc_short_lane){.p = s->lanes[0].out + at, .len = len};
            bench_fill(s->sl[s->nmsgs].iv, 16, 0x3000 + s->nmsgs);
            s->nmsgs++;
            at += len + MTR_TRAIL;
        }
        memcpy(s->lanes[0].out, s->lanes[0].in, s->len);
        /* the streams longest first, as the engine passes them (redo_crypt.c short_lanes) */
        qsort(s->sl, s->nmsgs, sizeof(*s->sl), sl_longer_first);
    }
    const char *err = NULL;
    gbc_run_fn run = NULL;
    switch (d->impl) {
    case KI_OURS:
    case KI_COMPOSED:
    case KI_SINGLE:
        if (op->key_len)
            d->k->aes_expand(&s->xk, s->key, op->key_len);
        d->k->aes_expand(&s->xk2, s->key + 16, 16);
        run = run_ours;
        break;
    case KI_OPENSSL:
        if (ossl_reused_init(&s->ossl, op->mode, op->enc, s->key, op->key_len))
            err = "OpenSSL context set-up failed";
        run = run_openssl;
        break;
    case KI_OPENSSL_FRESH:
        run = run_openssl_fresh;
        break;
    case KI_IPSECMB:
#ifdef BENCH_HAVE_IPSECMB
        if (mb_peer_init(&s->mb, s->key, op->key_len))
            err = "ipsec-mb manager set-up failed";
        run = run_ipsecmb;
#endif
        break;
    case KI_ISAL:
#ifdef BENCH_HAVE_ISAL
        run = run_isal;
#endif
        break;
    case KI_MB_ISAL:
#if defined(BENCH_HAVE_IPSECMB) && defined(BENCH_HAVE_ISAL)
        if (mb_peer_init(&s->mb, s->key, op->key_len))
            err = "ipsec-mb manager set-up failed";
        run = run_mb_isal;
#endif
        break;
    case KI_LIBC:
        run = run_libc;
        break;
    default:
        break;
    }
    if (!err && !run)
        err = "implementation not built";
    if (!err && run(s))
        err = "first call failed";
    if (err) {
        kernel_teardown(s);
        return bench_skip(ctx, "%s", err);
    }
    if (!expected_ok(s, ctx)) {
        kernel_teardown(s);
        return NULL;
    }
    ctx->bytes = (double)(s->len * op->lanes);
    return s;
}

/* The spec's run function must be fixed at registration, so it dispatches on the impl. */
static const char *kernel_run(void *p)
{
    kstate *s = p;
    switch (s->d->impl) {
    case KI_OURS:
    case KI_COMPOSED:
    case KI_SINGLE:
        return run_ours(p);
    case KI_OPENSSL:
        return run_openssl(p);
    case KI_OPENSSL_FRESH:
        return run_openssl_fresh(p);
#ifdef BENCH_HAVE_IPSECMB
    case KI_IPSECMB:
        return run_ipsecmb(p);
#endif
#ifdef BENCH_HAVE_ISAL
    case KI_ISAL:
        return run_isal(p);
#endif
#if defined(BENCH_HAVE_IPSECMB) && defined(BENCH_HAVE_ISAL)
    case KI_MB_ISAL:
        return run_mb_isal(p);
#endif
    case KI_LIBC:
        return run_libc(p);
    default:
        return "implementation not built";
    }
}

/* ---- registration ------------------------------------------------------------------------- */

static int impl_built(kimpl i)
{
#ifndef BENCH_HAVE_IPSECMB
    if (i == KI_IPSECMB || i == KI_MB_ISAL)
        return 0;
#endif
#ifndef BENCH_HAVE_ISAL
    if (i == KI_ISAL || i == KI_MB_ISAL)
        return 0;
#endif
    (void)i;
    return 1;
}

void bench_kernel_register(void)
{
    static kdesc descs[K_OP_COUNT * (KI_COUNT + 2 * IBC_TIER_COUNT)];
    size_t nd = 0;
    const ibc_kernels *tiers[IBC_TIER_COUNT];
    size_t nt = bench_tiers(tiers);
    for (int o = 0; o < K_OP_COUNT; o++) {
        const struct kop_info *op = &kops[o];
        for (int i = 0; i < KI_COUNT; i++) {
            if (!(op->impls & (1u << i)) || !impl_built((kimpl)i))
                continue;
            int ours = i == KI_OURS || i == KI_COMPOSED || i == KI_SINGLE;
            size_t nvar = ours ? nt : 1;
            for (size_t v = 0; v < nvar; v++) {
                kdesc *d = &descs[nd++];
                d->op = (kop)o;
                d->impl = (kimpl)i;
                d->k = ours ? tiers[v] : NULL;
                char name[128];
                if (ours)
                    snprintf(name, sizeof(name), "kernel/%s/%s.%s", op->name, kimpl_names[i],
                             d->k->name);
                else
                    snprintf(name, sizeof(name), "kernel/%s/%s", op->name, kimpl_names[i]);
                gbc_spec spec = {
                    .name = name,
                    .setup = kernel_setup,
                    .run = kernel_run,
                    .teardown = kernel_teardown,
                    .user = d,
                };
                if (o == K_AES128_ECB_BLOCK) {
                    spec.args[0] = 16;
                    spec.nargs = 1;
                } else {
                    spec.args[0] = 4096;
                    spec.args[1] = 16384;
                    spec.args[2] = 65536;
                    spec.nargs = 3;
                }
                gbc_register(&spec);
            }
        }
    }
}
