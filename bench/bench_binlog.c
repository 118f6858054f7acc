/*
 * bench_binlog.c - re-keying a binary log written with encrypt_binlog=ON (engine/binlog.c):
 * binlog/rekey/<impl>/<bytes>, a log of <bytes> in cache, every event decrypted under key 1,
 * checked (log_pos and the CRC-32 of the decrypted event) and encrypted under another key 1.
 *
 * Events: a mix of a binary log's sizes (GTID, BEGIN, Xid and table maps of 30-100 bytes, row
 * events of 100-600 bytes and some of 1-8 KiB), checksums on (binlog_checksum=CRC32, the
 * default), AES_CBC, 256-bit keys (a file_key_management key of 64 hex digits).
 *
 * Peers: openssl_fresh_ctx (the server's method: sql/log_event.cc decrypt_event and the
 * writer each run my_aes_crypt, a fresh EVP context per event; the CRC through ISA-L's
 * zlib-compatible crc32_gzip_refl where present, as fast as the server's own my_checksum,
 * else zlib's), and openssl (one context per direction and key, reused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bench.h"
#include "peers.h"

#ifdef BENCH_HAVE_ISAL
#include <isa-l.h>
#endif

#define LOG_BYTES (1u << 20)

typedef enum bimpl { BI_OURS = 0, BI_OPENSSL_FRESH, BI_OPENSSL, BI_COUNT } bimpl;
static const char *const bimpl_names[BI_COUNT] = {"", "openssl_fresh_ctx", "openssl"};

typedef struct bdesc {
    bimpl impl;
    const ibc_kernels *k; /* ours: the tier */
} bdesc;

typedef struct bstate {
    const bdesc *d;
    uint8_t *log;
    size_t size, first;
    uint8_t key[2][32], nonce[12];
    int dir; /* the events are under key[dir] */
    ibc_engine *e;
    ibc_keyring *kr[2];
    ibc_binlog b;
    ossl_reused dec[2], enc[2], ecb[2];
} bstate;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t peer_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
#ifdef BENCH_HAVE_ISAL
    return crc32_gzip_refl(crc, p, n);
#else
    return (uint32_t)crc32(crc, p, (uInt)n);
#endif
}

/* MariaDB's no-padding cipher over one event's stream through the peer. */
static int peer_cipher(bstate *s, int key, int enc, const uint8_t iv[16], uint8_t *p, size_t n)
{
    if (s->d->impl == BI_OPENSSL_FRESH)
        return ossl_fresh_crypt(PEER_CBC, enc, s->key[key], 32, iv, p, p, n);
    size_t whole = n / 16 * 16;
    uint8_t mask[16];
    int r = whole ? ossl_reused_crypt(enc ? &s->enc[key] : &s->dec[key], iv, p, p, whole) : 0;
    if (!r && whole < n)
        r = ossl_reused_crypt(&s->ecb[key], NULL, iv, mask, 16);
    for (size_t i = whole; i < n; i++)
        p[i] ^= mask[i - whole];
    return r;
}

/* One event through the peer: decrypt under key, check, encrypt under key ^ 1 (as the server
 * reads one with decrypt_event and writes one with Log_event_writer). Returns 1 if sound. */
static int peer_event(bstate *s, int key, uint8_t *ev, uint32_t len, uint32_t off)
{
    uint8_t iv[16], l[4];
    memcpy(iv, s->nonce, 12);
    wr32(iv + 12, off);
    memcpy(ev + 9, ev, 4);
    if (peer_cipher(s, key, 0, iv, ev + 4, len - 4))
        return 0;
    wr32(l, len);
    uint32_t crc = peer_crc32(0, ev + 9, 4);
    crc = peer_crc32(crc, ev + 4, 5);
    crc = peer_crc32(crc, l, 4);
    crc = peer_crc32(crc, ev + 13, len - 17);
    int ok = rd32(ev + 13) == off + len && crc == rd32(ev + len - 4);
    if (peer_cipher(s, key ^ 1, 1, iv, ev + 4, len - 4))
        return 0;
    memcpy(ev, ev + 9, 4);
    wr32(ev + 9, len);
    return ok;
}

static const char *binlog_run(void *p)
{
    bstate *s = p;
    size_t pos = s->first, done = 0;
    if (s->d->impl == BI_OURS) {
        uint32_t unsound = 0;
        if (ibc_binlog_rekey(s->e, &s->b, s->kr[s->dir], s->kr[s->dir ^ 1], IBC_ALGO_CBC,
                             s->log + pos, s->size - pos, pos, &done, &unsound) != IBC_OK ||
            done != s->size - pos || unsound)
            return "a re-keyed event did not check";
    } else {
        while (pos < s->size) {
            uint32_t len = rd32(s->log + pos + 9);
            if (!peer_event(s, s->dir, s->log + pos, len, (uint32_t)pos))
                return "a re-keyed event did not check";
            pos += len;
        }
    }
    s->dir ^= 1;
    return NULL;
}

static void binlog_teardown(void *p)
{
    bstate *s = p;
    if (!s)
        return;
    for (int k = 0; k < 2; k++) {
        ibc_keyring_free(s->kr[k]);
        ossl_reused_free(&s->dec[k]);
        ossl_reused_free(&s->enc[k]);
        ossl_reused_free(&s->ecb[k]);
    }
    ibc_engine_free(s->e);
    bench_free(s->log);
    free(s);
}

/* The log: magic, a format description with checksums on, START_ENCRYPTION_EVENT, then
 * events of the sizes above under key[0], encrypted through OpenSSL as the server writes
 * them. */
static int build_log(bstate *s, size_t bytes)
{
    uint8_t *p = s->log;
    uint64_t r = 0x9e3779b97f4a7c15ull;
    memcpy(p, "\xfe" "bin", 4);
    uint32_t pos = 4, fde = 19 + 57 + 5, se = 19 + 17 + 4;
    p[pos + 4] = 15;
    wr32(p + pos + 9, fde);
    wr32(p + pos + 13, pos + fde);
    p[pos + fde - 5] = 1;
    pos += fde;
    p[pos + 4] = 164;
    wr32(p + pos + 9, se);
    wr32(p + pos + 13, pos + se);
    p[pos + 19] = 1;
    wr32(p + pos + 20, 1);
    memcpy(p + pos + 24, s->nonce, 12);
    pos += se;
    s->first = pos;
    for (;;) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t x = (uint32_t)(r >> 33), kind = x % 10;
        uint32_t len = kind < 4 ? 30 + x / 10 % 70 : kind < 9 ? 100 + x / 10 % 500
                                                             : 1024 + x / 10 % 7168;
        if (pos + len > bytes)
            break;
        uint8_t *ev = p + pos;
        bench_fill(ev, len, r);
        ev[4] = (uint8_t)(2 + kind);
        wr32(ev + 9, len);
        wr32(ev + 13, pos + len);
        wr32(ev + len - 4, peer_crc32(0, ev, len - 4));
        uint8_t iv[16];
        memcpy(iv, s->nonce, 12);
        wr32(iv + 12, pos);
        memcpy(ev + 9, ev, 4);
        if (ossl_fresh_crypt(PEER_CBC, 1, s->key[0], 32, iv, ev + 4, ev + 4, len - 4))
            return -1;
        memcpy(ev, ev + 9, 4);
        wr32(ev + 9, len);
        pos += len;
    }
    s->size = pos;
    return 0;
}

static void *binlog_setup(gbc_ctx *ctx)
{
    const bdesc *d = ctx->user;
    bstate *s = calloc(1, sizeof(*s));
    if (!s)
        return bench_skip(ctx, "out of memory");
    s->d = d;
    s->log = bench_alloc(LOG_BYTES);
    bench_fill(s->key, sizeof(s->key), 42);
    bench_fill(s->nonce, sizeof(s->nonce), 43);
    if (!s->log || build_log(s, LOG_BYTES)) {
        binlog_teardown(s);
        return bench_skip(ctx, "cannot build the log");
    }
    if (d->impl == BI_OURS) {
        if (ibc_engine_new(d->k->name, &s->e) != IBC_OK) {
            binlog_teardown(s);
            return bench_skip(ctx, "tier %s not usable", d->k->name);
        }
        for (int k = 0; k < 2; k++) {
            s->kr[k] = ibc_keyring_new();
            if (!s->kr[k] || ibc_keyring_add(s->kr[k], 1, 1, s->key[k], 32) != IBC_OK) {
                binlog_teardown(s);
                return bench_skip(ctx, "keyring");
            }
        }
        if (ibc_binlog_parse(s->log, s->size, &s->b) != 1) {
            binlog_teardown(s);
            return bench_skip(ctx, "the log does not parse");
        }
    } else if (d->impl == BI_OPENSSL) {
        for (int k = 0; k < 2; k++)
            if (ossl_reused_init(&s->dec[k], PEER_CBC, 0, s->key[k], 32) ||
                ossl_reused_init(&s->enc[k], PEER_CBC, 1, s->key[k], 32) ||
                ossl_reused_init(&s->ecb[k], PEER_ECB, 1, s->key[k], 32)) {
                binlog_teardown(s);
                return bench_skip(ctx, "OpenSSL contexts");
            }
    }
    ctx->bytes = (double)(s->size - s->first);
    return s;
}

void bench_binlog_register(void)
{
    static bdesc descs[BI_COUNT + IBC_TIER_COUNT];
    size_t nd = 0;
    const ibc_kernels *tiers[IBC_TIER_COUNT];
    size_t nt = bench_tiers(tiers);
    for (int i = 0; i < BI_COUNT; i++)
        for (size_t v = 0; v < (i == BI_OURS ? nt : 1); v++) {
            bdesc *d = &descs[nd++];
            *d = (bdesc){.impl = (bimpl)i, .k = i == BI_OURS ? tiers[v] : NULL};
            char name[96];
            snprintf(name, sizeof(name), "binlog/rekey/%s%s", i == BI_OURS ? "ibdcrypt." : "",
                     i == BI_OURS ? d->k->name : bimpl_names[i]);
            gbc_spec spec = {
                .name = name,
                .setup = binlog_setup,
                .run = binlog_run,
                .teardown = binlog_teardown,
                .user = d,
                .args = {LOG_BYTES},
                .nargs = 1,
            };
            gbc_register(&spec);
        }
}
