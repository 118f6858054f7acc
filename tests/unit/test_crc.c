/*
 * test_crc.c - every CRC32C kernel against ISA-L crc32_iscsi (or a bitwise reference where
 * ISA-L is not available), the multi-message kernel against the same, and crc32c_combine.
 * Both CRC32C kernels of the vaes512 tier run (fused, and folding alone for Intel cores),
 * whichever the dispatch picks on this CPU.
 */
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "testutil.h"

#define MAXLEN 70000

static const char *variant(const ibc_kernels *k)
{
#if defined(IBC_HAVE_TIER_VAES512)
    if (k == &ibc_kernels_vaes512_fold)
        return " (folding alone)";
#endif
    (void)k;
    return "";
}

static void test_crc32c_matches_reference(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT + 1];
    size_t nt = ref_usable_variants(t);
    uint8_t *buf = malloc(MAXLEN + 64);
    for (size_t ti = 0; ti < nt; ti++) {
        size_t spent = 0;
#ifdef IBC_TEST_HAVE_ISAL
        const size_t budget = 64u << 20;
#else
        const size_t budget = 2u << 20; /* the bitwise reference is slow */
#endif
        for (unsigned it = 0; spent < budget || it < 500; it++) {
            size_t len = tu_rand_len(MAXLEN);
            uint8_t *p = buf + tu_rand_below(64);
            uint32_t init = tu_rand_below(4) ? (uint32_t)tu_rand() : 0;
            tu_rand_bytes(p, len);
            uint32_t want = ref_crc32c(init, p, len), got = t[ti]->crc32c(init, p, len);
            TU_CHECK(got == want, "%s%s: len %zu align %u init %08x: got %08x want %08x",
                     t[ti]->name, variant(t[ti]), len, (unsigned)((uintptr_t)p & 63), init, got, want);
            spent += len + 64;
        }
    }
    free(buf);
}

static void test_multipart_equals_one_shot(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    uint8_t *buf = malloc(MAXLEN);
    for (size_t ti = 0; ti < nt; ti++) {
        for (int it = 0; it < 300; it++) {
            size_t len = tu_rand_len(MAXLEN);
            tu_rand_bytes(buf, len);
            uint32_t whole = t[ti]->crc32c(0, buf, len), c = 0;
            size_t off = 0;
            while (off < len) {
                size_t n = 1 + tu_rand_below(tu_rand_below(2) ? 40 : 9000);
                if (n > len - off)
                    n = len - off;
                c = t[ti]->crc32c(c, buf + off, n);
                off += n;
            }
            TU_CHECK(c == whole, "%s: multipart %08x != one-shot %08x (len %zu)", t[ti]->name,
                     c, whole, len);
        }
    }
    free(buf);
}

static void test_crc32c_against_guard_pages(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (size_t ti = 0; ti < nt; ti++) {
        for (int it = 0; it < 200; it++) {
            size_t len = tu_rand_len(9000);
            tu_guard g;
            uint8_t *p = tu_guard_alloc(&g, len, it & 1);
            tu_rand_bytes(p, len);
            uint32_t want = ref_crc32c(0, p, len), got = t[ti]->crc32c(0, p, len);
            tu_guard_free(&g);
            TU_CHECK(got == want, "%s: guard page, len %zu", t[ti]->name, len);
        }
    }
}

/* crc32c_mb: batches of messages of every length class (one at a time, side by side, long),
 * each against a guard page at its far end (its tail piece's last byte, or its first byte), so
 * that a read outside a message faults; against the reference CRC of the two pieces. */
static void test_crc32c_mb_matches_reference(void)
{
    enum { NMAX = 23 };
    static const uint32_t gaps[] = {0, 1, 3}, tails[] = {0, 1, 8, 13};
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (size_t ti = 0; ti < nt; ti++) {
        for (int it = 0; it < 400; it++) {
            tu_guard g[NMAX];
            ibc_crc_msg m[NMAX];
            uint32_t want[NMAX];
            size_t n = tu_rand_below(NMAX + 1);
            uint32_t gap = gaps[tu_rand_below(3)], tail = tails[tu_rand_below(4)];
            for (size_t i = 0; i < n; i++) {
                uint32_t cls = tu_rand_below(8);
                uint32_t len = cls == 0   ? tu_rand_below(9)
                               : cls == 1 ? 1000 + tu_rand_below(2000)
                                          : 8 + tu_rand_below(300);
                uint8_t *p = tu_guard_alloc(&g[i], len + gap + tail, tu_rand_below(2));
                tu_rand_bytes(p, len + gap + tail);
                m[i] = (ibc_crc_msg){.p = p, .len = len, .crc = 0x5a5a5a5a};
                want[i] = ref_crc32c(ref_crc32c(0, p, len), p + len + gap, tail);
            }
            t[ti]->crc32c_mb(m, n, gap, tail);
            for (size_t i = 0; i < n; i++) {
                TU_CHECK(m[i].crc == want[i],
                         "%s: message %zu of %zu (len %u gap %u tail %u): %08x want %08x",
                         t[ti]->name, i, n, m[i].len, gap, tail, m[i].crc, want[i]);
                tu_guard_free(&g[i]);
            }
        }
    }
}

static void test_combine(void)
{
    uint8_t *buf = malloc(MAXLEN);
    for (int it = 0; it < 500; it++) {
        size_t la = tu_rand_len(30000), lb = tu_rand_len(30000);
        tu_rand_bytes(buf, la + lb);
        uint32_t a = ref_crc32c(0, buf, la), b = ref_crc32c(0, buf + la, lb);
        uint32_t whole = ref_crc32c(0, buf, la + lb);
        uint32_t got = ibc_crc32c_combine(a, b, lb);
        TU_CHECK(got == whole, "combine(%zu, %zu): %08x != %08x", la, lb, got, whole);
    }
    /* Huge lengths: combine is associative, whatever the sizes. */
    for (int it = 0; it < 200; it++) {
        uint32_t a = (uint32_t)tu_rand(), b = (uint32_t)tu_rand(), c = (uint32_t)tu_rand();
        uint64_t lb = tu_rand() >> (tu_rand_below(40)), lc = tu_rand() >> (20 + tu_rand_below(40));
        uint32_t left = ibc_crc32c_combine(ibc_crc32c_combine(a, b, lb), c, lc);
        uint32_t right = ibc_crc32c_combine(a, ibc_crc32c_combine(b, c, lc), lb + lc);
        TU_CHECK(left == right, "combine not associative for lb=%llu lc=%llu",
                 (unsigned long long)lb, (unsigned long long)lc);
    }
    TU_CHECK(ibc_crc32c_combine(0x12345678, 0, 0) == 0x12345678, "combine with empty B");
    free(buf);
}

TU_TESTS(TU_T(test_crc32c_matches_reference), TU_T(test_multipart_equals_one_shot),
         TU_T(test_crc32c_against_guard_pages), TU_T(test_crc32c_mb_matches_reference),
         TU_T(test_combine))
