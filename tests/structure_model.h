/*
 * structure_model.h - a model of the B-tree page structure check (engine/structure.c), and
 * builders of sound and damaged index pages, for test_structure (random pages) and
 * fuzz_structure (pages the fuzzer steers). Header-only: each includer gets its own copy.
 *
 * The model walks the record list and the free list one record at a time, the way
 * page0page.cc page_simple_validate_new/_old does (records owning none between the slots'
 * records, each slot's record owning the records since the previous one), with the checks
 * the engine adds (heap numbers, records inside the heap, no record twice, the free list
 * disjoint from the live one).
 */
#ifndef IBC_TESTS_STRUCTURE_MODEL_H
#define IBC_TESTS_STRUCTURE_MODEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

/* Where the builders take their randomness: below(n) uniform in [0, n) (n > 0), bytes. */
typedef struct sm_rng {
    uint64_t (*below)(void *ctx, uint64_t n);
    void (*bytes)(void *ctx, void *p, size_t n);
    void *ctx;
} sm_rng;
#define RND(n) rng->below(rng->ctx, (n))

/* ---- the model --------------------------------------------------------------------------- */

typedef struct layout {
    int compact;
    uint32_t extra; /* REC_N_NEW_EXTRA_BYTES or REC_N_OLD_EXTRA_BYTES */
    uint32_t infimum, supremum;
} layout;

static layout layout_of(int compact)
{
    layout l = {compact, compact ? REC_N_NEW_EXTRA_BYTES : REC_N_OLD_EXTRA_BYTES,
                compact ? PAGE_NEW_INFIMUM : PAGE_OLD_INFIMUM,
                compact ? PAGE_NEW_SUPREMUM : PAGE_OLD_SUPREMUM};
    return l;
}

/* rem0rec.h: heap_no at REC_NEW_HEAP_NO 4 / REC_OLD_HEAP_NO 5 (top 13 bits), n_owned the low
 * nibble at REC_NEW_N_OWNED 5 / REC_OLD_N_OWNED 6, the next-record field at REC_NEXT 2. */
static uint32_t m_heap_no(const uint8_t *p, const layout *l, uint32_t r)
{
    return be16(p + r - (l->compact ? 4 : 5)) >> 3;
}

static uint32_t m_owned(const uint8_t *p, const layout *l, uint32_t r)
{
    return p[r - (l->compact ? 5 : 6)] & 15u;
}

static uint32_t m_next(const uint8_t *p, const layout *l, uint32_t r, uint32_t ps)
{
    uint32_t f = be16(p + r - REC_NEXT);
    if (f == 0)
        return 0;
    return l->compact ? (r + f) & (ps - 1) : f;
}

/* 0 if sound. Records are told apart by offset / 4 (records lie a header apart at least). */
static int model(const uint8_t *p, uint32_t ps)
{
    const uint8_t *h = p + PAGE_HEADER;
    uint32_t n_slots = be16(h + PAGE_N_DIR_SLOTS), heap_top = be16(h + PAGE_HEAP_TOP);
    uint32_t n_heap = be16(h + PAGE_N_HEAP) & 0x7fff, n_recs = be16(h + PAGE_N_RECS);
    layout l = layout_of((be16(h + PAGE_N_HEAP) & 0x8000) != 0);
    uint32_t dir_end = ps - PAGE_DIR, inf = l.infimum, sup = l.supremum;
#define SLOT(i) be16(p + dir_end - PAGE_DIR_SLOT_SIZE * ((i) + 1))

    if (memcmp(p + inf, "infimum", 8) || memcmp(p + sup, "supremum", 8)) {
        /* an instant root of a table with dropped columns: zeros, then n_core_null_bytes */
        if (be16(p + FIL_PAGE_TYPE) != FIL_PAGE_TYPE_INSTANT || p[sup + 7] > 128)
            return 1;
        for (uint32_t i = 0; i < 15; i++)
            if (p[i < 8 ? inf + i : sup + i - 8])
                return 1;
    }
    if (n_slots < 2 || n_slots > (dir_end - PAGE_DATA) / 2 || n_heap < 2 || n_recs > n_heap - 2)
        return 1;
    if (heap_top < sup + 8 || heap_top > dir_end - 2 * n_slots)
        return 1;
    if (SLOT(0) != inf || SLOT(n_slots - 1) != sup)
        return 1;
    if (m_heap_no(p, &l, inf) != 0 || m_heap_no(p, &l, sup) != 1)
        return 1;

    static uint8_t seen[65536 / 4];
    memset(seen, 0, sizeof(seen));
    uint32_t rec = inf, own = 1, slot = 0, steps = 0;
    for (;;) {
        if (seen[rec / 4])
            return 1; /* a cycle */
        seen[rec / 4] = 1;
        if (rec != inf && rec != sup &&
            (rec < sup + 8 || rec >= heap_top || m_heap_no(p, &l, rec) >= n_heap))
            return 1;
        uint32_t no = m_owned(p, &l, rec);
        if (no) {
            if (no != own || slot >= n_slots || SLOT(slot) != rec)
                return 1;
            own = 0;
            if (rec != sup)
                slot++;
        }
        if (rec == sup)
            break;
        uint32_t next = m_next(p, &l, rec, ps);
        if (next == 0 || next >= ps || (next != sup && (next < sup + 8 || next >= heap_top)))
            return 1;
        rec = next;
        own++;
        steps++;
    }
    if (m_owned(p, &l, sup) == 0 || slot != n_slots - 1 || be16(p + sup - REC_NEXT) != 0 ||
        steps - 1 != n_recs)
        return 1;
    uint32_t n_free = 0;
    for (uint32_t f = be16(h + PAGE_FREE); f; f = m_next(p, &l, f, ps)) {
        if (f >= ps || f < sup + 8 || f >= heap_top || seen[f / 4] || ++n_free > n_heap)
            return 1;
        seen[f / 4] = 1;
    }
    return 2 + n_recs + n_free != n_heap;
#undef SLOT
}

/* ---- sound pages ------------------------------------------------------------------------- */

static void shuffle(uint32_t *v, uint32_t n, const sm_rng *rng)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)RND(i), t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static void set_next(uint8_t *p, const layout *l, uint32_t from, uint32_t to)
{
    put_be16(p + from - REC_NEXT, to == 0 ? 0 : l->compact ? (to - from) & 0xffff : to);
}

static void set_header(uint8_t *p, const layout *l, uint32_t r, uint32_t heap_no, uint32_t owned)
{
    uint8_t *o = p + r - (l->compact ? 5 : 6);
    *o = (uint8_t)((*o & 0xf0) | owned);
    uint8_t *hn = p + r - (l->compact ? 4 : 5);
    put_be16(hn, (heap_no << 3) | (be16(hn) & 7));
}

/* A sound index page of ps bytes: up to n_live user records and n_free purged ones (fewer if
 * the page cannot hold them), in a random heap order, linked in a random key order; slots
 * own `lo` to 8 records. */
static void build(uint8_t *p, uint32_t ps, int compact, uint32_t n_live, uint32_t n_free,
                  uint32_t lo, const sm_rng *rng)
{
    layout l = layout_of(compact);
    rng->bytes(rng->ctx, p, ps);
    /* an index page, or a clustered index's root after instant ALTER TABLE: its strings, or
     * zeros and n_core_null_bytes once columns were dropped (btr0btr.cc btr_set_instant) */
    uint32_t type = RND(3) ? FIL_PAGE_INDEX : FIL_PAGE_TYPE_INSTANT;
    put_be16(p + FIL_PAGE_TYPE, type);
    if (type == FIL_PAGE_TYPE_INSTANT && RND(2)) {
        memset(p + l.infimum, 0, 8);
        memset(p + l.supremum, 0, 7);
        p[l.supremum + 7] = (uint8_t)RND(129);
    } else {
        memcpy(p + l.infimum, "infimum", 8);
        memcpy(p + l.supremum, "supremum", 8);
    }
    uint32_t n = n_live + n_free, *rec = malloc(sizeof(uint32_t) * (n + 2));
    uint32_t *heap = malloc(sizeof(uint32_t) * (n + 2)),
             *order = malloc(sizeof(uint32_t) * (n + 2));
    uint32_t *owners = malloc(sizeof(uint32_t) * (n + 2)), n_slots = 0;
    /* place the records; stop where the directory (at most n + 2 slots) would not fit, or
     * where heap numbers (13 bits) would run out */
    uint32_t pos = l.supremum + 8, placed = 0;
    while (placed < n && placed < 8000) {
        uint32_t r = pos + l.extra, end = r + 1 + (uint32_t)RND(60);
        if (end + 2 * (placed + 3) > ps - PAGE_DIR)
            break;
        rec[placed++] = r;
        pos = end;
    }
    uint32_t heap_top = pos;
    n_free = placed * n_free / (n ? n : 1);
    n_live = placed - n_free;
    /* heap numbers 2 .. placed + 1 in a random order; the first n_live records of a random
     * order are live, the rest free */
    for (uint32_t i = 0; i < placed; i++)
        heap[i] = i + 2, order[i] = i;
    shuffle(heap, placed, rng);
    shuffle(order, placed, rng);
    set_header(p, &l, l.infimum, 0, 1);
    for (uint32_t i = 0; i < placed; i++)
        set_header(p, &l, rec[i], heap[i], 0);
    /* the list: infimum, the live records in `order`, supremum; each slot owns lo..8 of
     * them, the last (supremum's) the 1..8 left */
    owners[n_slots++] = l.infimum;
    uint32_t prev = l.infimum, left = n_live + 1, run = 0;
    uint32_t group = left > 8 ? lo + (uint32_t)RND(9 - lo) : left;
    for (uint32_t i = 0; i <= n_live; i++) {
        uint32_t r = i < n_live ? rec[order[i]] : l.supremum;
        set_next(p, &l, prev, r);
        prev = r;
        left--;
        if (++run == group) {
            set_header(p, &l, r, i < n_live ? heap[order[i]] : 1, run);
            owners[n_slots++] = r;
            run = 0;
            group = left > 8 ? lo + (uint32_t)RND(9 - lo) : left;
        }
    }
    set_next(p, &l, l.supremum, 0);
    /* the free list in a random order */
    uint32_t head = 0;
    for (uint32_t i = n_live; i < placed; i++) {
        uint32_t r = rec[order[i]];
        set_next(p, &l, r, head);
        head = r;
    }
    uint8_t *h = p + PAGE_HEADER;
    put_be16(h + PAGE_N_DIR_SLOTS, n_slots);
    put_be16(h + PAGE_HEAP_TOP, heap_top);
    put_be16(h + PAGE_N_HEAP, (placed + 2) | (compact ? 0x8000 : 0));
    put_be16(h + PAGE_FREE, head);
    put_be16(h + PAGE_N_RECS, n_live);
    for (uint32_t i = 0; i < n_slots; i++)
        put_be16(p + ps - PAGE_DIR - PAGE_DIR_SLOT_SIZE * (i + 1), owners[i]);
    free(rec);
    free(heap);
    free(order);
    free(owners);
}

static const uint32_t sizes[] = {4096, 8192, 16384, 32768, 65536};

static void random_page(uint8_t *p, uint32_t *ps, int *compact, const sm_rng *rng)
{
    *ps = sizes[RND(5)];
    *compact = (int)RND(2);
    uint32_t live = (uint32_t)RND(4) == 0 ? (uint32_t)RND(12) : (uint32_t)RND(*ps / 12);
    uint32_t nfree = RND(3) == 0 ? 0 : (uint32_t)RND(live + 20);
    build(p, *ps, *compact, live, nfree, RND(2) ? 4 : 1, rng);
}

/* ---- damaged pages ----------------------------------------------------------------------- */

/* Flip one bit where the structure lives: the page header, a record header (of a live or a
 * free record, infimum or supremum), the directory, the page type or the infimum and supremum
 * data, or swap two next-record links. */
static void damage(uint8_t *p, uint32_t ps, int compact, const sm_rng *rng)
{
    layout l = layout_of(compact);
    /* as built (an earlier flip may have changed the header: stay inside the page) */
    uint32_t n_slots = be16(p + PAGE_HEADER + PAGE_N_DIR_SLOTS);
    uint32_t heap_top = be16(p + PAGE_HEADER + PAGE_HEAP_TOP);
    if (n_slots < 1 || n_slots > (ps - PAGE_DIR - PAGE_DATA) / 2)
        n_slots = 1;
    if (heap_top < l.supremum + 8 || heap_top > ps - PAGE_DIR)
        heap_top = l.supremum + 8;
    switch (RND(6)) {
    case 5: /* the page type (INDEX and INSTANT differ in few bits) or infimum/supremum data */
    {
        uint32_t at = RND(4) ? (RND(2) ? l.infimum : l.supremum) + (uint32_t)RND(8)
                             : FIL_PAGE_TYPE + (uint32_t)RND(2);
        p[at] ^= (uint8_t)(1u << RND(8));
        break;
    }
    case 0: /* the header fields the check reads */
    {
        static const uint32_t f[] = {PAGE_N_DIR_SLOTS, PAGE_HEAP_TOP, PAGE_N_HEAP, PAGE_FREE,
                                     PAGE_N_RECS};
        p[PAGE_HEADER + f[RND(5)] + RND(2)] ^= (uint8_t)(1u << RND(8));
        break;
    }
    case 1: /* a directory slot */
        p[ps - PAGE_DIR - 2 * (1 + (uint32_t)RND(n_slots)) + RND(2)] ^= (uint8_t)(1u << RND(8));
        break;
    case 2: /* a record header: n_owned, heap_no or next of some record */
    case 3: {
        uint32_t r = l.supremum + 8 + (uint32_t)RND(heap_top - l.supremum - 8 + 1);
        if (RND(8) == 0)
            r = RND(2) ? l.infimum : l.supremum;
        p[r - 1 - RND(l.extra)] ^= (uint8_t)(1u << RND(8));
        break;
    }
    default: { /* swap the next links of two records of the list */
        uint32_t a = be16(p + ps - PAGE_DIR - 2 * (1 + (uint32_t)RND(n_slots)));
        uint32_t b = be16(p + ps - PAGE_DIR - 2 * (1 + (uint32_t)RND(n_slots)));
        if (a < 8 || b < 8 || a >= ps || b >= ps)
            break;
        uint8_t t[2];
        memcpy(t, p + a - REC_NEXT, 2);
        memcpy(p + a - REC_NEXT, p + b - REC_NEXT, 2);
        memcpy(p + b - REC_NEXT, t, 2);
        if (compact) { /* relative links: keep each pointing where the other pointed */
            uint32_t na = (b + be16(p + a - REC_NEXT)) & 0xffff,
                     nb = (a + be16(p + b - REC_NEXT)) & 0xffff;
            put_be16(p + a - REC_NEXT, be16(p + a - REC_NEXT) ? (na - a) & 0xffff : 0);
            put_be16(p + b - REC_NEXT, be16(p + b - REC_NEXT) ? (nb - b) & 0xffff : 0);
        }
        break;
    }
    }
}

#undef RND
#endif
