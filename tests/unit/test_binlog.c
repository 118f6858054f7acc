/*
 * test_binlog.c - binary logs encrypted with encrypt_binlog=ON (engine/binlog.c), against
 * OpenSSL and zlib: logs built here as the server writes them (log_event_server.cc
 * Log_event_writer: CRC-32 of the plaintext, the timestamp over the length, key id 1 itself,
 * IV nonce || offset, MariaDB's no-padding CBC or CTR over bytes [4, len), the length put back
 * in the clear) must open with key 1 and not with another; re-keyed in pieces of any size they
 * must decrypt with OpenSSL under the new key 1 to the same events; a damaged event stops the
 * re-key there and leaves the bytes as they were. Every tier, 16/24/32-byte keys, checksums on
 * and off. A relay log (end positions from its primary: only the CRC tells) too.
 * (tests/server/frontends.sh steps 6 and 7 run it on a real server's binary and relay logs.)
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ibdcrypt/ibdcrypt.h"
#include "ref.h"
#include "testutil.h"

#define MAXLOG (1u << 20)

static const uint8_t magic[4] = {0xfe, 'b', 'i', 'n'}; /* BINLOG_MAGIC */

static void le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8)
        p[i] = (uint8_t)v;
}
static uint32_t rd32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* MariaDB's cipher without padding (my_crypt.cc MyCTX_nopad) with OpenSSL. */
static void nopad(const uint8_t *key, size_t klen, int ctr, int enc, const uint8_t iv[16],
                  uint8_t *p, uint32_t n)
{
    if (ctr) {
        ref_aes('t', enc, key, klen, iv, p, p, n);
        return;
    }
    uint32_t whole = n / 16 * 16;
    uint8_t mask[16];
    if (whole)
        ref_aes('c', enc, key, klen, iv, p, p, whole);
    ref_aes('e', 1, key, klen, NULL, iv, mask, 16);
    for (uint32_t i = whole; i < n; i++)
        p[i] ^= mask[i - whole];
}

/* One event in place, as Log_event_writer encrypts it (enc) or decrypt_event decrypts it. */
static void crypt_event(uint8_t *ev, uint32_t len, uint32_t off, const uint8_t nonce[12],
                        const uint8_t *key, size_t klen, int ctr, int enc)
{
    uint8_t iv[16];
    memcpy(ev + 9, ev, 4);
    memcpy(iv, nonce, 12);
    le(iv + 12, off, 4);
    nopad(key, klen, ctr, enc, iv, ev + 4, len - 4);
    memcpy(ev, ev + 9, 4);
    le(ev + 9, len, 4);
}

typedef struct tlog {
    uint8_t plain[MAXLOG], enc[MAXLOG];
    uint32_t off[4096], n, size, first;
    uint8_t nonce[12];
} tlog;

/* A log of random events: plain[] as the events are, enc[] as the file holds them. relay: a
 * replica's relay log, whose events carry end positions in their primary's log. */
static void make_log(tlog *L, const uint8_t *key, size_t klen, int ctr, int checksums, int relay)
{
    uint8_t *p = L->plain;
    memcpy(p, magic, 4);
    uint32_t pos = 4, fde = 19 + 57 + 5;
    memset(p + pos, 0, fde);
    p[pos + 4] = 15;
    le(p + pos + 9, fde, 4);
    le(p + pos + 13, pos + fde, 4);
    p[pos + fde - 5] = (uint8_t)checksums;
    pos += fde;
    tu_rand_bytes(L->nonce, 12);
    uint32_t se = 19 + 17 + (checksums ? 4 : 0);
    memset(p + pos, 0, se);
    p[pos + 4] = 164;
    le(p + pos + 9, se, 4);
    le(p + pos + 13, pos + se, 4);
    p[pos + 19] = 1;
    le(p + pos + 20, 1, 4);
    memcpy(p + pos + 24, L->nonce, 12);
    pos += se;
    L->first = pos;
    memcpy(L->enc, p, pos);
    L->n = 0;
    while (L->n < 4096) {
        uint32_t min = 19 + (checksums ? 4 : 0);
        uint32_t len = min + (uint32_t)tu_rand_below(tu_rand_below(4) ? 200 : 5000);
        if (pos + len > MAXLOG - 8)
            break;
        uint8_t *ev = p + pos;
        tu_rand_bytes(ev, len);
        ev[4] = (uint8_t)(2 + tu_rand_below(30));
        le(ev + 9, len, 4);
        le(ev + 13, relay ? pos + len + 1 + (uint32_t)tu_rand_below(1u << 30) : pos + len, 4);
        if (checksums)
            le(ev + len - 4, (uint32_t)crc32(0, ev, len - 4), 4);
        memcpy(L->enc + pos, ev, len);
        crypt_event(L->enc + pos, len, pos, L->nonce, key, klen, ctr, 1);
        L->off[L->n++] = pos;
        pos += len;
    }
    L->size = pos;
}

/* Decrypt the file's events with OpenSSL under key into out (the log's size). */
static void decrypt_all(const tlog *L, const uint8_t *buf, const uint8_t *key, size_t klen, int ctr,
                        uint8_t *out)
{
    memcpy(out, buf, L->first);
    for (uint32_t i = 0; i < L->n; i++) {
        uint32_t o = L->off[i], len = rd32(buf + o + 9);
        memcpy(out + o, buf + o, len);
        crypt_event(out + o, len, o, L->nonce, key, klen, ctr, 0);
    }
}

static int decrypts_to_plain(const tlog *L, const uint8_t *buf, const uint8_t *key, size_t klen,
                             int ctr)
{
    static uint8_t out[MAXLOG];
    decrypt_all(L, buf, key, klen, ctr, out);
    return !memcmp(out, L->plain, L->size);
}

static void test_rekey(void)
{
    const char *tiers[] = {"portable", "aesni", "vaes256", "vaes512", "armce"};
    static tlog L;
    static uint8_t buf[MAXLOG], want[MAXLOG], got[MAXLOG];
    for (size_t t = 0; t < sizeof(tiers) / sizeof(tiers[0]); t++) {
        ibc_engine *e = NULL;
        if (ibc_engine_new(tiers[t], &e) != IBC_OK)
            continue; /* not on this CPU */
        for (int round = 0; round < 12; round++) {
            uint8_t k1[32], k2[32];
            size_t klen = (size_t)(16 + 8 * (round % 3)),
                   klen2 = (size_t)(16 + 8 * ((round / 3) % 3));
            int ctr = (round >> 1) & 1, sums = round % 4 != 3;
            ibc_algo al = ctr ? IBC_ALGO_CTR : IBC_ALGO_CBC;
            tu_rand_bytes(k1, sizeof(k1));
            tu_rand_bytes(k2, sizeof(k2));
            ibc_keyring *kr = ibc_keyring_new(), *neu = ibc_keyring_new();
            ibc_keyring_add(kr, 1, 1, k1, klen);
            ibc_keyring_add(neu, 1, 1, k2, klen2);
            make_log(&L, k1, klen, ctr, sums, 0);
            TU_CHECK(decrypts_to_plain(&L, L.enc, k1, klen, ctr), "the test's own log");
            ibc_binlog b;
            TU_CHECK(ibc_binlog_parse(L.enc, 40, &b) == -1, "%s: a short head asks for more",
                     tiers[t]);
            TU_CHECK(ibc_binlog_parse(L.enc, L.size, &b) == 1 && b.enc_start == L.first &&
                         b.key_version == 1 && b.checksums == sums && !memcmp(b.nonce, L.nonce, 12),
                     "%s: the head is parsed", tiers[t]);
            uint32_t o = L.off[0];
            TU_CHECK(ibc_binlog_event_opens(e, &b, kr, al, L.enc + o, L.size - o, o) == 1,
                     "%s: key 1 opens the first event (round %d)", tiers[t], round);
            TU_CHECK(ibc_binlog_event_opens(e, &b, neu, al, L.enc + o, L.size - o, o) == 0,
                     "%s: another key 1 does not", tiers[t]);
            /* nor the other cipher, when the event has a whole block: with none (a header-only
             * event without a checksum) both XOR it with AES-ECB(IV), so both open it */
            const int whole = rd32(L.enc + o + 9) - 4 >= 16;
            TU_CHECK(ibc_binlog_event_opens(e, &b, kr, ctr ? IBC_ALGO_CBC : IBC_ALGO_CTR, L.enc + o,
                                            L.size - o, o) == !whole,
                     "%s: the other cipher opens the event only without a whole block", tiers[t]);
            /* re-key in pieces of random sizes, as a reader with a small buffer would */
            memcpy(buf, L.enc, L.size);
            uint64_t at = L.first;
            while (at < L.size) {
                size_t piece = 19 + tu_rand_below(9000), done = 0;
                uint32_t unsound = 0;
                if (piece > L.size - at)
                    piece = L.size - at;
                ibc_status st =
                    ibc_binlog_rekey(e, &b, kr, neu, al, buf + at, piece, at, &done, &unsound);
                TU_CHECK(st == IBC_OK && !unsound, "%s: rekey at %llu: %s, %u unsound", tiers[t],
                         (unsigned long long)at, ibc_strerror(st), unsound);
                if (!done && piece == L.size - at)
                    break;
                at += done;
            }
            TU_CHECK(at == L.size, "%s: every event re-keyed", tiers[t]);
            TU_CHECK(decrypts_to_plain(&L, buf, k2, klen2, ctr),
                     "%s: OpenSSL decrypts the re-keyed log with the new key 1 (round %d)",
                     tiers[t], round);
            TU_CHECK(ibc_binlog_event_opens(e, &b, neu, al, buf + o, L.size - o, o) == 1,
                     "%s: the new key 1 opens it", tiers[t]);
            /* a damaged event: counted, and re-keyed so that the new key gives the same bytes
             * the old one gave (without checksums only log_pos tells: damage elsewhere goes
             * unseen, as by the server) */
            uint32_t victim = (uint32_t)tu_rand_below(L.n), vo = L.off[victim];
            uint32_t vlen = rd32(L.enc + vo + 9), unsound = 0;
            memcpy(buf, L.enc, L.size);
            buf[vo + 13 + tu_rand_below(sums ? vlen - 13 : 4)] ^= (uint8_t)(1 + tu_rand_below(255));
            decrypt_all(&L, buf, k1, klen, ctr, want);
            /* a check names it, decrypting in place as OpenSSL does */
            uint64_t events = 0, first_bad = 0;
            size_t done = 0;
            memcpy(got, buf, L.size);
            ibc_status st = ibc_binlog_check(e, &b, kr, al, got + L.first, L.size - L.first,
                                             L.first, &done, &events, &unsound, &first_bad);
            TU_CHECK(st == IBC_OK && L.first + done == L.size && events == L.n && unsound == 1 &&
                         first_bad == vo,
                     "%s: a check finds the damaged event (%s, %llu events, %u unsound at %llu)",
                     tiers[t], ibc_strerror(st), (unsigned long long)events, unsound,
                     (unsigned long long)first_bad);
            for (uint32_t i = 0; i < L.n; i++) { /* the stream as decrypted: timestamp at 9 */
                uint8_t *g = got + L.off[i];
                memcpy(g, g + 9, 4);
                memcpy(g + 9, want + L.off[i] + 9, 4);
            }
            TU_CHECK_MEM(got, want, L.size, "%s: the check leaves the plaintext", tiers[t]);
            st = ibc_binlog_rekey(e, &b, kr, neu, al, buf + L.first, L.size - L.first, L.first,
                                  &done, &unsound);
            TU_CHECK(st == IBC_OK && L.first + done == L.size && unsound == 1,
                     "%s: a damaged event at %u is counted (%s, %u)", tiers[t], vo,
                     ibc_strerror(st), unsound);
            decrypt_all(&L, buf, k2, klen2, ctr, got);
            TU_CHECK_MEM(got, want, L.size, "%s: the same damaged bytes under the new key",
                         tiers[t]);
            /* an impossible length */
            memcpy(buf, L.enc, L.size);
            le(buf + vo + 9, 5, 4);
            st = ibc_binlog_rekey(e, &b, kr, neu, al, buf + vo, L.size - vo, vo, &done, &unsound);
            TU_CHECK(st == IBC_ERR_CORRUPT && done == 0, "%s: a length below a header", tiers[t]);
            ibc_keyring_free(kr);
            ibc_keyring_free(neu);
        }
        ibc_engine_free(e);
    }
}

/* A relay log: the events its primary sent carry the primary's end positions. With checksums
 * the CRC alone tells a key, relay or not: key 1 opens its events and another does not, and a
 * re-key gives what OpenSSL decrypts with the new key 1. Without checksums nothing tells: read
 * as a binary log no key opens it (the end positions), as a relay log any key does (the CLI
 * leaves such a log alone). */
static void test_relay(void)
{
    static tlog L;
    static uint8_t buf[MAXLOG];
    ibc_engine *e = NULL;
    TU_CHECK(ibc_engine_new(NULL, &e) == IBC_OK, "engine");
    for (int round = 0; round < 4; round++) {
        const int ctr = round & 1, sums = !(round & 2);
        const ibc_algo al = ctr ? IBC_ALGO_CTR : IBC_ALGO_CBC;
        uint8_t k1[16], k2[32];
        tu_rand_bytes(k1, sizeof(k1));
        tu_rand_bytes(k2, sizeof(k2));
        ibc_keyring *kr = ibc_keyring_new(), *neu = ibc_keyring_new();
        ibc_keyring_add(kr, 1, 1, k1, sizeof(k1));
        ibc_keyring_add(neu, 1, 1, k2, sizeof(k2));
        make_log(&L, k1, sizeof(k1), ctr, sums, 1);
        ibc_binlog b;
        TU_CHECK(ibc_binlog_parse(L.enc, L.size, &b) == 1 && !b.relay, "the head is parsed");
        uint32_t o = L.off[0];
        for (b.relay = 0; b.relay < 2; b.relay++) {
            int mine = ibc_binlog_event_opens(e, &b, kr, al, L.enc + o, L.size - o, o);
            int other = ibc_binlog_event_opens(e, &b, neu, al, L.enc + o, L.size - o, o);
            TU_CHECK(sums ? mine && !other : b.relay ? mine && other : !mine && !other,
                     "%s, checksums %s, read as a %s log: key 1 %d, another %d",
                     ctr ? "CTR" : "CBC", sums ? "on" : "off", b.relay ? "relay" : "binary",
                     mine, other);
        }
        b.relay = 1;
        memcpy(buf, L.enc, L.size);
        size_t done = 0;
        uint32_t unsound = 0;
        ibc_status st = ibc_binlog_rekey(e, &b, kr, neu, al, buf + L.first, L.size - L.first,
                                         L.first, &done, &unsound);
        TU_CHECK(st == IBC_OK && L.first + done == L.size && !unsound,
                 "the relay log is re-keyed (%s, %u unsound)", ibc_strerror(st), unsound);
        TU_CHECK(decrypts_to_plain(&L, buf, k2, sizeof(k2), ctr),
                 "OpenSSL decrypts the re-keyed relay log with the new key 1");
        ibc_keyring_free(kr);
        ibc_keyring_free(neu);
    }
    ibc_engine_free(e);
}

static void test_heads(void)
{
    static tlog L;
    uint8_t key[16] = {1};
    ibc_binlog b;
    make_log(&L, key, 16, 0, 1, 0);
    L.enc[4 + 4] = 16;
    TU_CHECK(ibc_binlog_parse(L.enc, L.size, &b) == 0, "no format description: not a log");
    make_log(&L, key, 16, 0, 1, 0);
    L.enc[4 + 81 + 4] = 163;
    TU_CHECK(ibc_binlog_parse(L.enc, L.size, &b) == 0,
             "no START_ENCRYPTION_EVENT: not an encrypted log");
    make_log(&L, key, 16, 0, 1, 0);
    L.enc[0] = 0xfd;
    TU_CHECK(ibc_binlog_parse(L.enc, L.size, &b) == 0, "another magic");
    for (int i = 0; i < 2000; i++) { /* random bytes: never a crash */
        uint8_t r[512];
        tu_rand_bytes(r, sizeof(r));
        if (i & 1)
            memcpy(r, magic, 4), r[8] = 15;
        (void)ibc_binlog_parse(r, tu_rand_below(sizeof(r) + 1), &b);
    }
}

TU_TESTS(TU_T(test_rekey), TU_T(test_relay), TU_T(test_heads))
