/*
 * structure.c - is a plaintext B-tree page (FIL_PAGE_INDEX, R-tree, instant root) sound?
 *
 * The checks a deep verify can make without the table definition: the page header fields
 * are in range, the infimum and supremum records are where they must be (and hold their
 * strings, or the instant root's zeros), the page directory's first and last slots point at
 * them, and the singly linked record list starting at infimum
 * reaches supremum through offsets inside the record heap, passing every directory slot in
 * order, each slot's record owning (n_owned) exactly the records since the previous slot's and
 * every other record owning none, with exactly PAGE_N_RECS user records on the way, each with
 * a heap number below PAGE_N_HEAP; the free list accounts for the rest of the heap. These are
 * the checks of page0page.cc page_simple_validate_new/_old. For full_crc32 pages, where the
 * ciphertext checksum covers everything and the plaintext has no checksum of its own, this is
 * what catches ciphertext damage whose checksum was recomputed.
 *
 * Layout facts: page0types.h (PAGE_* header fields, PAGE_NEW/OLD_INFIMUM/SUPREMUM),
 * page0page.h (the directory at the page end, slots of 2 bytes, page_dir_get_nth_slot),
 * rem0rec.inl rec_get_next_offs (compact: offset relative to the record, modulo the page size;
 * redundant: absolute offset; 0 ends the list).
 */
#include "format.h"
#include "page.h"

/* rem0rec.h: the heap number is the top 13 bits of 2 bytes at REC_NEW_HEAP_NO (4) before a
 * compact record, at REC_OLD_HEAP_NO (5) before a redundant one. */
static inline uint32_t heap_no_of(const uint8_t *p, uint32_t rec, int compact)
{
    return be16(p + rec - (compact ? 4 : 5)) >> 3;
}

/* rem0rec.h: n_owned is the low 4 bits (REC_N_OWNED_MASK) of the byte REC_NEW_N_OWNED (5)
 * before a compact record, REC_OLD_N_OWNED (6) before a redundant one. */
static inline uint32_t n_owned_of(const uint8_t *p, uint32_t rec, int compact)
{
    return p[rec - (compact ? 5 : 6)] & 15u;
}

#if defined(__GNUC__)
#define WALK_INLINE inline __attribute__((always_inline))
#else
#define WALK_INLINE inline
#endif

/* The record list and the free list of a page whose header passed, for COMPACT a constant
 * (the two formats place the fields differently; rem0rec.inl rec_get_next_offs: compact
 * next offsets are relative, modulo the page size, redundant ones absolute; 0 ends a list).
 *
 * A walk down a list is a chain of dependent loads, about ten cycles a record; the page
 * directory cuts the record list into independent segments. From slot i - 1's record,
 * n_owned(slot i's record) steps reach slot i's record, through records owning none
 * (page0page.cc page_simple_validate_new: "Wrong owned count", "Dir slot does not point to
 * right rec"). Four segments are walked side by side, and the free list beside them, so their
 * loads overlap; the checks of the records come after each round of walks. Owners own at least
 * one record, so every walk is bounded; as every record of a segment but its last owns none,
 * no record lies on two segments (two walks through one record would end at the same owner),
 * none is visited twice, and the segments joined are the list from infimum to supremum. */
static WALK_INLINE int check_lists(const uint8_t *p, uint32_t ps, const int compact,
                                   uint32_t n_slots, uint32_t heap_top, uint32_t n_heap,
                                   uint32_t n_recs, uint32_t free_head)
{
    const uint32_t infimum = compact ? PAGE_NEW_INFIMUM : PAGE_OLD_INFIMUM;
    const uint32_t supremum = compact ? PAGE_NEW_SUPREMUM : PAGE_OLD_SUPREMUM;
    const uint8_t *slot0 = p + ps - PAGE_DIR - PAGE_DIR_SLOT_SIZE; /* slot i at slot0 - 2 i */
#define SLOT(i) be16(slot0 - PAGE_DIR_SLOT_SIZE * (i))
    /* Every record seen, in a byte map: index rec / 4, value rec % 4 + 1, an exact identity
     * as the records of a sound page lie at least a record header (5 or 6 bytes) apart. */
    uint8_t seen[IBC_MAX_PAGE / 4];
    memset(seen, 0, ps / 4);
#define MARK(r) (seen[(r) >> 2] = (uint8_t)(((r) & 3) + 1))
    if (heap_no_of(p, infimum, compact) != 0 || heap_no_of(p, supremum, compact) != 1)
        return 11;
    if (n_owned_of(p, infimum, compact) != 1)
        return 14;
    if (be16(p + supremum - REC_NEXT) != 0)
        return 5; /* the list ends at supremum */
    MARK(infimum);
    MARK(supremum);
    uint32_t owned = 0; /* by slots 1 .. n_slots - 1: the user records and supremum */
    for (uint32_t i = 1; i < n_slots; i++) {
        uint32_t r = SLOT(i);
        if (i < n_slots - 1) {
            if (r < supremum + 8 || r >= heap_top || seen[r >> 2])
                return 10; /* outside the heap, or a slot repeated */
            if (heap_no_of(p, r, compact) >= n_heap)
                return 11;
            MARK(r);
        }
        uint32_t own = n_owned_of(p, r, compact);
        if (own == 0)
            return 14;
        owned += own;
    }
    if (owned - 1 != n_recs)
        return 9;

    /* The free list (purged records, PAGE_FREE) holds the rest of the heap: n_heap =
     * infimum + supremum + live records + free records (page0page.cc
     * page_simple_validate_new counts the same), at most one per 4 bytes (above). */
    uint32_t n_free = n_heap - 2 - n_recs, f_done = 0, f = free_head;
    uint16_t free_at[IBC_MAX_PAGE / 4];
    if (n_free > ps / 4 || (n_free == 0) != (f == 0))
        return 13;
    /* A walk goes on from an offset clamped to where a record header can be read; the
     * offset itself, unclamped, is what gets checked. */
#define NEXT(r) (compact ? ((r) + be16(p + (r) - REC_NEXT)) & (ps - 1) : be16(p + (r) - REC_NEXT))
#define CLAMP(x) ((x) < supremum || (x) >= ps ? supremum : (x))
#define FREE_STEP()                                                                            \
    do {                                                                                       \
        uint32_t nx_ = NEXT(f);                                                                \
        free_at[f_done++] = (uint16_t)f;                                                       \
        f = CLAMP(nx_);                                                                        \
    } while (0)
    f = CLAMP(f);

    for (uint32_t i = 1; i < n_slots; i += 4) {
        /* segment j: from slot i + j - 1's record to slot i + j's (none past the last) */
        uint32_t t[4], len[4], steps = 0;
        for (uint32_t j = 0; j < 4; j++) {
            t[j] = i + j < n_slots ? SLOT(i + j) : supremum;
            len[j] = i + j < n_slots ? n_owned_of(p, t[j], compact) : 0;
            steps = len[j] > steps ? len[j] : steps;
        }
        uint32_t r0 = SLOT(i - 1), r1 = t[0], r2 = i + 1 < n_slots ? t[1] : supremum,
                 r3 = i + 2 < n_slots ? t[2] : supremum;
        uint16_t vis[16][4]; /* vis[k][j]: record k + 1 of segment j (n_owned < 16) */
        for (uint32_t k = 0; k < steps; k++) {
            if (f_done < n_free)
                FREE_STEP();
#define STEP(j)                                                                                \
    do {                                                                                       \
        uint32_t nx_ = NEXT(r##j);                                                             \
        vis[k][j] = (uint16_t)nx_;                                                             \
        r##j = CLAMP(nx_);                                                                     \
    } while (0)
            STEP(0);
            STEP(1);
            STEP(2);
            STEP(3);
#undef STEP
        }
        for (uint32_t j = 0; j < 4 && len[j]; j++) {
            for (uint32_t k = 0; k + 1 < len[j]; k++) {
                uint32_t x = vis[k][j];
                if (x < supremum + 8 || x >= heap_top || n_owned_of(p, x, compact) != 0)
                    return 7; /* outside the heap, or an owner that no slot points to */
                if (heap_no_of(p, x, compact) >= n_heap)
                    return 11;
                MARK(x);
            }
            if (vis[len[j] - 1][j] != t[j])
                return 7; /* the segment does not end at the next slot's record */
        }
    }
    while (f_done < n_free)
        FREE_STEP();
    for (uint32_t k = 0; k < n_free; k++) {
        uint32_t x = free_at[k];
        if (x < supremum + 8 || x >= heap_top || seen[x >> 2])
            return 12; /* outside the heap, live, or a cycle */
        MARK(x);
    }
    if (n_free && be16(p + free_at[n_free - 1] - REC_NEXT) != 0)
        return 13; /* the free list goes on */
#undef FREE_STEP
#undef CLAMP
#undef NEXT
#undef MARK
#undef SLOT
    return 0;
}

/* The data bytes of the infimum and supremum records: the strings "infimum" and "supremum",
 * or, only on the root page of a clustered index whose table had columns dropped or reordered
 * instantly (FIL_PAGE_TYPE_INSTANT), eight zero bytes and seven zero bytes followed by
 * n_core_null_bytes, at most 128 (btr0btr.cc btr_set_instant writes them; btr0cur.cc
 * btr_cur_instant_root_init accepts exactly these). */
static int bounds_sound(const uint8_t *p, uint32_t infimum, uint32_t supremum)
{
    static const uint8_t zero[8];
    if (!memcmp(p + infimum, "infimum", 8) && !memcmp(p + supremum, "supremum", 8))
        return 1;
    return be16(p + FIL_PAGE_TYPE) == FIL_PAGE_TYPE_INSTANT && !memcmp(p + infimum, zero, 8) &&
           !memcmp(p + supremum, zero, 7) && p[supremum + 7] <= 128;
}

int ibc_index_page_check(const uint8_t *p, uint32_t ps)
{
    const uint8_t *h = p + PAGE_HEADER;
    uint32_t n_slots = be16(h + PAGE_N_DIR_SLOTS), heap_top = be16(h + PAGE_HEAP_TOP);
    uint32_t n_heap_raw = be16(h + PAGE_N_HEAP), n_recs = be16(h + PAGE_N_RECS);
    int compact = (n_heap_raw & 0x8000) != 0;
    uint32_t n_heap = n_heap_raw & 0x7fff;
    uint32_t infimum = compact ? PAGE_NEW_INFIMUM : PAGE_OLD_INFIMUM;
    uint32_t supremum = compact ? PAGE_NEW_SUPREMUM : PAGE_OLD_SUPREMUM;
    uint32_t dir_end = ps - PAGE_DIR; /* slot 0 is the 2 bytes just below this */

    if (!bounds_sound(p, infimum, supremum))
        return 1;
    /* bound every count before it is used in offset arithmetic (damaged pages) */
    if (n_slots < 2 || n_slots > (dir_end - PAGE_DATA) / PAGE_DIR_SLOT_SIZE || n_heap < 2 ||
        n_recs > n_heap - 2)
        return 2;
    if (heap_top < supremum + 8 || heap_top > dir_end - PAGE_DIR_SLOT_SIZE * n_slots)
        return 3;
    if (be16(p + dir_end - PAGE_DIR_SLOT_SIZE) != infimum ||
        be16(p + dir_end - PAGE_DIR_SLOT_SIZE * n_slots) != supremum)
        return 4;
    uint32_t free_head = be16(h + PAGE_FREE);
    return compact ? check_lists(p, ps, 1, n_slots, heap_top, n_heap, n_recs, free_head)
                   : check_lists(p, ps, 0, n_slots, heap_top, n_heap, n_recs, free_head);
}
