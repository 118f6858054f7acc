/*
 * test_crc32z.c - the CRC-32 of gzip and zlib (crc32z) of every tier this CPU runs against
 * zlib's crc32(): known answers, random lengths, alignments and initial values, every length
 * around the kernels' thresholds, multipart against one-shot, buffers against guard pages;
 * the engine API; and the xbstream chunk checksum, written and parsed back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ibdcrypt/ibdcrypt.h"
#include "ibdcrypt/xbstream.h"
#include "ref.h"
#include "testutil.h"
#include "vectors.h"

#define MAXLEN 70000

static uint32_t zlib_crc(uint32_t crc, const void *buf, size_t len)
{
    return (uint32_t)crc32(crc, buf, (uInt)len);
}

static void test_crc32z_known_answers(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    tv_file f;
    tv_record r;
    TU_CHECK(tv_open(&f, "crc32z.txt") == 0, "cannot open vectors/crc32z.txt");
    int records = 0;
    while (tv_next(&f, &r)) {
        uint8_t data[256], crcb[4];
        long n = tv_hex(&r, "Data", data, sizeof(data));
        TU_CHECK(n >= 0 && tv_hex(&r, "CRC", crcb, 4) == 4, "crc32z.txt:%d malformed", r.line);
        uint32_t want = (uint32_t)crcb[0] << 24 | crcb[1] << 16 | crcb[2] << 8 | crcb[3];
        TU_CHECK(zlib_crc(0, data, (size_t)n) == want, "crc32z.txt:%d: zlib disagrees", r.line);
        records++;
        for (size_t i = 0; i < nt; i++) {
            uint32_t got = t[i]->crc32z(0, data, (size_t)n);
            TU_CHECK(got == want, "crc32z.txt:%d %s: got %08x want %08x", r.line, t[i]->name,
                     got, want);
            uint32_t c = 0; /* byte at a time, continuing the running value */
            for (long j = 0; j < n; j++)
                c = t[i]->crc32z(c, data + j, 1);
            TU_CHECK(c == want, "crc32z.txt:%d %s bytewise: got %08x", r.line, t[i]->name, c);
        }
    }
    tv_close(&f);
    TU_CHECK(records >= 8, "crc32z.txt: only %d records", records);
}

static void test_crc32z_matches_zlib(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    static uint8_t buf[MAXLEN + 64];
    for (size_t ti = 0; ti < nt; ti++) {
        size_t spent = 0, budget = ref_budget(t[ti], 64u << 20);
        for (unsigned it = 0; spent < budget || it < 500; it++) {
            size_t len = tu_rand_len(MAXLEN);
            uint8_t *p = buf + tu_rand_below(64);
            uint32_t init = tu_rand_below(4) ? (uint32_t)tu_rand() : 0;
            tu_rand_bytes(p, len);
            uint32_t want = zlib_crc(init, p, len), got = t[ti]->crc32z(init, p, len);
            TU_CHECK(got == want, "%s: len %zu align %u init %08x: got %08x want %08x",
                     t[ti]->name, len, (unsigned)((uintptr_t)p & 63), init, got, want);
            spent += len + 64;
        }
    }
}

/* Every length up to 8 zmm vectors and two more rounds (the thresholds of all widths: 16-byte
 * blocks, partial blocks, 1 and 8 vectors), at every alignment mod 16 in turn. */
static void test_crc32z_every_short_length(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    enum { N = 3 * 8 * 64 + 40 };
    static uint8_t buf[N + 16];
    tu_rand_bytes(buf, sizeof(buf));
    for (size_t ti = 0; ti < nt; ti++) {
        for (size_t len = 0; len <= N; len++) {
            const uint8_t *p = buf + len % 16;
            uint32_t init = (uint32_t)(len * 0x9E3779B9u);
            uint32_t want = zlib_crc(init, p, len), got = t[ti]->crc32z(init, p, len);
            TU_CHECK(got == want, "%s: len %zu: got %08x want %08x", t[ti]->name, len, got, want);
        }
    }
}

static void test_multipart_equals_one_shot(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    static uint8_t buf[MAXLEN];
    for (size_t ti = 0; ti < nt; ti++) {
        for (int it = 0; it < 300; it++) {
            size_t len = tu_rand_len(MAXLEN);
            tu_rand_bytes(buf, len);
            uint32_t whole = t[ti]->crc32z(0, buf, len), c = 0;
            size_t off = 0;
            while (off < len) {
                size_t n = 1 + tu_rand_below(tu_rand_below(2) ? 40 : 9000);
                if (n > len - off)
                    n = len - off;
                c = t[ti]->crc32z(c, buf + off, n);
                off += n;
            }
            TU_CHECK(c == whole, "%s: multipart %08x != one-shot %08x (len %zu)", t[ti]->name,
                     c, whole, len);
        }
    }
}

/* The kernels read nothing outside the buffer: its last byte before a PROT_NONE page, or its
 * first byte right after one (the partial-block path loads the last 16 bytes again). */
static void test_crc32z_against_guard_pages(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (size_t ti = 0; ti < nt; ti++) {
        for (int it = 0; it < 600; it++) {
            size_t len = it < 400 ? (size_t)it : tu_rand_len(9000);
            tu_guard g;
            uint8_t *p = tu_guard_alloc(&g, len, it & 1);
            tu_rand_bytes(p, len);
            uint32_t want = zlib_crc(0, p, len), got = t[ti]->crc32z(0, p, len);
            tu_guard_free(&g);
            TU_CHECK(got == want, "%s: guard page %s, len %zu", t[ti]->name,
                     it & 1 ? "after" : "before", len);
        }
    }
}

static void test_engine_crc32z_every_tier(void)
{
    uint32_t f = ibc_cpu_features();
    uint8_t buf[20000];
    tu_rand_bytes(buf, sizeof(buf));
    uint32_t want = zlib_crc(0, buf, sizeof(buf));
    for (int t = 0; t < IBC_TIER_COUNT; t++) {
        if (!ibc_tier_usable((ibc_tier_id)t, f))
            continue;
        ibc_engine *e = NULL;
        TU_CHECK(ibc_engine_new(ibc_tier_name((ibc_tier_id)t), &e) == IBC_OK, "engine");
        uint32_t got = ibc_crc32z(e, ibc_crc32z(e, 0, buf, 777), buf + 777, sizeof(buf) - 777);
        ibc_engine_free(e);
        TU_CHECK(got == want, "ibc_crc32z on %s: %08x != %08x", ibc_tier_name((ibc_tier_id)t),
                 got, want);
    }
}

/* The public joins of both CRCs against the reference CRC of the whole: ibc_crc*_join, and
 * _join_by with a factor made once for a length (as a backup joins many pages of one size). */
static void test_public_joins(void)
{
    static const struct {
        const char *name;
        uint32_t (*crc)(uint32_t, const void *, size_t);
        uint32_t (*join)(uint32_t, uint32_t, uint64_t);
        uint32_t (*factor)(uint64_t);
        uint32_t (*join_by)(uint32_t, uint32_t, uint32_t);
    } v[] = {{"crc32c", ref_crc32c, ibc_crc32c_join, ibc_crc32c_join_factor, ibc_crc32c_join_by},
             {"crc32z", zlib_crc, ibc_crc32z_join, ibc_crc32z_join_factor, ibc_crc32z_join_by}};
    static uint8_t buf[2 * 65536];
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        for (int it = 0; it < 300; it++) {
            size_t la = tu_rand_len(65536), lb = tu_rand_len(65536);
            tu_rand_bytes(buf, la + lb);
            uint32_t a = v[k].crc(0, buf, la), b = v[k].crc(0, buf + la, lb);
            uint32_t want = v[k].crc(0, buf, la + lb);
            TU_CHECK(v[k].join(a, b, lb) == want, "%s join(%zu, %zu)", v[k].name, la, lb);
            TU_CHECK(v[k].join_by(a, b, v[k].factor(lb)) == want, "%s join_by(%zu, %zu)",
                     v[k].name, la, lb);
        }
    }
}

/* Read all of fd (a temporary file) from the start. */
static uint8_t *slurp(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);
    uint8_t *b = malloc(end > 0 ? (size_t)end : 1);
    *len = 0;
    if (!b || end < 0 || pread(fd, b, (size_t)end, 0) != (ssize_t)end) {
        free(b);
        return NULL;
    }
    *len = (size_t)end;
    return b;
}

/* Chunks written with the checksum computed inside (ibc_xbs_write_payload) and by the caller
 * (_crc) carry zlib's crc32 of the payload, parse back, and a flipped payload bit or a wrong
 * checksum make the chunk unreadable. */
static void test_xbstream_chunk_checksum_is_zlib_crc32(void)
{
    char path[] = "/tmp/ibc-test-xbs-XXXXXX";
    int fd = mkstemp(path);
    TU_CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
    unlink(path);
    enum { NCHUNK = 40 };
    static uint8_t data[NCHUNK][3 * 16384 + 7];
    size_t lens[NCHUNK];
    uint32_t want[NCHUNK];
    ibc_engine *e = NULL;
    TU_CHECK(ibc_engine_new(NULL, &e) == IBC_OK, "engine");
    int rc = 0;
    for (int i = 0; i < NCHUNK && !rc; i++) {
        lens[i] = i == 0 ? 0 : tu_rand_below(sizeof(data[i]) + 1);
        tu_rand_bytes(data[i], lens[i]);
        want[i] = zlib_crc(0, data[i], lens[i]);
        /* the payload in up to three pieces */
        size_t a = lens[i] ? tu_rand_below(lens[i] + 1) : 0;
        size_t b = a + (lens[i] - a ? tu_rand_below(lens[i] - a + 1) : 0);
        struct iovec iov[3] = {{data[i], a}, {data[i] + a, b - a}, {data[i] + b, lens[i] - b}};
        if (i & 1) {
            uint32_t z = 0;
            for (int k = 0; k < 3; k++)
                z = ibc_crc32z(e, z, iov[k].iov_base, iov[k].iov_len);
            rc = ibc_xbs_write_payload_crc(fd, "db/t1.ibd", 1000u * (unsigned)i, iov, 3, z);
        } else {
            rc = ibc_xbs_write_payload(fd, "db/t1.ibd", 1000u * (unsigned)i, iov, 3);
        }
    }
    ibc_engine_free(e);
    if (!rc)
        rc = ibc_xbs_write_eof(fd, "db/t1.ibd");
    if (!rc) /* the checksum of the last chunk is wrong */
        rc = ibc_xbs_write_payload_crc(fd, "x", 0, &(struct iovec){data[1], 100}, 1,
                                       zlib_crc(0, data[1], 100) ^ 1);
    size_t len = 0;
    uint8_t *s = rc ? NULL : slurp(fd, &len);
    close(fd);
    TU_CHECK(!rc && s, "writing the stream: %d", rc);
    size_t at = 0;
    int fail = 0;
    ibc_xbs_chunk c;
    for (int i = 0; i < NCHUNK && !fail; i++) {
        long long n = ibc_xbs_parse(s + at, len - at, &c);
        size_t hl = 14 + strlen("db/t1.ibd");
        fail = n <= 0 || c.type != 'P' || c.length != lens[i] || c.offset != 1000u * (unsigned)i ||
               memcmp(c.data, data[i], lens[i]) ||
               (uint32_t)(s[at + hl + 16] | s[at + hl + 17] << 8 | s[at + hl + 18] << 16 |
                          (uint32_t)s[at + hl + 19] << 24) != want[i];
        if (fail)
            tu_fail(__FILE__, __LINE__, "chunk %d (len %zu) does not parse back or its checksum "
                    "is not zlib's %08x", i, lens[i], want[i]);
        else if (lens[i]) { /* a flipped payload bit is caught */
            size_t bit = tu_rand_below(8 * lens[i]);
            s[at + hl + 20 + bit / 8] ^= (uint8_t)(1u << bit % 8);
            fail = ibc_xbs_parse(s + at, len - at, &c) != -1;
            s[at + hl + 20 + bit / 8] ^= (uint8_t)(1u << bit % 8);
            if (fail)
                tu_fail(__FILE__, __LINE__, "chunk %d: a flipped bit %zu was not caught", i, bit);
        }
        at += n > 0 ? (size_t)n : 0;
    }
    long long n = fail ? 0 : ibc_xbs_parse(s + at, len - at, &c);
    if (!fail && (n <= 0 || c.type != 'E'))
        fail = 1, tu_fail(__FILE__, __LINE__, "no end-of-file chunk");
    at += n > 0 ? (size_t)n : 0;
    if (!fail && ibc_xbs_parse(s + at, len - at, &c) != -1)
        tu_fail(__FILE__, __LINE__, "a chunk with a wrong checksum was accepted");
    /* a chunk's first bytes alone ask for more; bytes that cannot start a chunk are refused */
    for (size_t k = 0; k < 14; k++)
        if (ibc_xbs_parse(s, k, &c) != 0)
            tu_fail(__FILE__, __LINE__, "the first %zu bytes of a chunk were not 'need more'", k);
    if (ibc_xbs_parse((const uint8_t *)"garbage\n", 8, &c) != -1 ||
        ibc_xbs_parse((const uint8_t *)"XBSTCX", 6, &c) != -1)
        tu_fail(__FILE__, __LINE__, "a short non-chunk was taken for the start of one");
    free(s);
}

TU_TESTS(TU_T(test_crc32z_known_answers), TU_T(test_crc32z_matches_zlib),
         TU_T(test_crc32z_every_short_length), TU_T(test_multipart_equals_one_shot),
         TU_T(test_crc32z_against_guard_pages), TU_T(test_engine_crc32z_every_tier),
         TU_T(test_xbstream_chunk_checksum_is_zlib_crc32), TU_T(test_public_joins))
