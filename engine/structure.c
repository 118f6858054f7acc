/*
 * structure.c - is a plaintext B-tree page (FIL_PAGE_INDEX, R-tree, instant root) sound?
 *
 * The checks a deep verify can make without the table definition: the page header fields
 * are in range, the infimum and supremum records are where they must be, the page directory's
 * first and last slots point at them, and the singly linked record list starting at infimum
 * reaches supremum in at most n_heap steps, through offsets inside the record heap, passing
 * every directory slot, with exactly PAGE_N_RECS user records on the way, each with a heap
 * number below PAGE_N_HEAP; the free list accounts for the rest of the heap. For full_crc32
 * pages, where the ciphertext checksum covers everything and the plaintext has no checksum of
 * its own, this is what catches ciphertext damage whose checksum was recomputed.
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
static uint32_t heap_no_of(const uint8_t *p, uint32_t rec, int compact)
{
    return be16(p + rec - (compact ? 4 : 5)) >> 3;
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

    if (memcmp(p + infimum, "infimum", 8) != 0 || memcmp(p + supremum, "supremum", 8) != 0)
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

    /* Walk the list; mark the records seen, then check every slot points at one of them. */
    uint8_t seen[IBC_MAX_PAGE / 8];
    memset(seen, 0, ps / 8);
    uint32_t rec = infimum, steps = 0, user = 0;
    for (;;) {
        seen[rec / 8] |= (uint8_t)(1u << (rec % 8));
        uint32_t heap_no = heap_no_of(p, rec, compact);
        if (heap_no >= n_heap || (rec == infimum && heap_no != 0) ||
            (rec == supremum && heap_no != 1))
            return 11;
        uint32_t field = be16(p + rec - REC_NEXT);
        if (rec == supremum) {
            if (field != 0)
                return 5; /* the list ends at supremum */
            break;
        }
        if (field == 0)
            return 6; /* ended before supremum */
        uint32_t next = compact ? (rec + field) & (ps - 1) : field;
        if (next != supremum && (next < supremum + 8 || next >= heap_top))
            return 7; /* outside the record heap */
        if (++steps > n_heap)
            return 8; /* a cycle, or more records than the heap holds */
        if (next != supremum)
            user++;
        if (seen[next / 8] & (1u << (next % 8)))
            return 8;
        rec = next;
    }
    if (user != n_recs)
        return 9;
    /* The free list (purged records, PAGE_FREE) holds the rest of the heap:
     * n_heap = infimum + supremum + live records + free records (page0page.cc
     * page_simple_validate_new counts the same). */
    uint32_t free_recs = 0;
    for (uint32_t f = be16(h + PAGE_FREE); f; free_recs++) {
        if (f < supremum + 8 || f >= heap_top || free_recs > n_heap ||
            (seen[f / 8] & (1u << (f % 8))))
            return 12;
        seen[f / 8] |= (uint8_t)(1u << (f % 8));
        uint32_t field = be16(p + f - REC_NEXT);
        f = field == 0 ? 0 : compact ? (f + field) & (ps - 1) : field;
    }
    if (2 + user + free_recs != n_heap)
        return 13;
    for (uint32_t i = 0; i < n_slots; i++) {
        uint32_t r = be16(p + dir_end - PAGE_DIR_SLOT_SIZE * (i + 1));
        if (r >= ps || !(seen[r / 8] & (1u << (r % 8))))
            return 10;
    }
    return 0;
}
