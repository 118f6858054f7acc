/*
 * test_structure.c - the B-tree page structure check (engine/structure.c) against a model.
 *
 * ibc_index_page_check walks the record list in directory segments, four side by side, and
 * the free list beside them. The model (structure_model.h) walks both lists one record at a
 * time, the way
 * page0page.cc page_simple_validate_new/_old does (records owning none between the slots'
 * records, each slot's record owning the records since the previous one), with the checks
 * the engine adds (heap numbers, records inside the heap, no record twice, the free list
 * disjoint from the live one). Both must accept or reject the same pages:
 *
 *   - sound pages built by structure_model.h in both formats, every page size, from empty to full,
 * with and without free lists, slots owning 1 to 8 records, index pages and instant roots
 * (with their infimum and supremum strings, or zeroed after an instant DROP COLUMN): both
 * accept;
 *   - the same pages with bits flipped in the page header, the record headers, the
 *     directory, the page type or the infimum and supremum data, or two next-record links
 *     swapped: both give the same verdict, and the
 *     damage that the model rejects is most of it.
 *
 * Real pages are in test_pages (deep verify passes every index page a real server wrote, and
 * catches damage to their headers).
 */
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "structure_model.h"
#include "testutil.h"

static uint64_t tu_below(void *ctx, uint64_t n)
{
    (void)ctx;
    return tu_rand_below(n);
}

static void tu_bytes(void *ctx, void *p, size_t n)
{
    (void)ctx;
    tu_rand_bytes(p, n);
}

static const sm_rng tu_rng = {tu_below, tu_bytes, NULL};

static void test_sound_pages_pass_both(void)
{
    uint8_t *p = malloc(65536);
    for (int t = 0; t < 3000; t++) {
        uint32_t ps;
        int compact;
        random_page(p, &ps, &compact, &tu_rng);
        TU_CHECK(model(p, ps) == 0, "trial %d (%u, %s): the model rejects a sound page", t, ps,
                 compact ? "compact" : "redundant");
        int r = ibc_index_page_check(p, ps);
        TU_CHECK(r == 0, "trial %d (%u, %s): a sound page fails the check (%d)", t, ps,
                 compact ? "compact" : "redundant", r);
    }
    free(p);
}

static void test_damaged_pages_same_verdict_as_model(void)
{
    uint8_t *p = malloc(65536);
    int rejected = 0, trials = 20000;
    for (int t = 0; t < trials; t++) {
        uint32_t ps;
        int compact;
        random_page(p, &ps, &compact, &tu_rng);
        int k = 1 + (int)tu_rand_below(2);
        for (int i = 0; i < k; i++)
            damage(p, ps, compact, &tu_rng);
        int m = model(p, ps), r = ibc_index_page_check(p, ps);
        TU_CHECK((m != 0) == (r != 0), "trial %d (%u, %s): model %s, check %s (%d)", t, ps,
                 compact ? "compact" : "redundant", m ? "rejects" : "accepts",
                 r ? "rejects" : "accepts", r);
        rejected += m != 0;
    }
    /* most single flips in the structure are damage the format can tell */
    TU_CHECK(rejected > trials / 2, "only %d of %d damaged pages rejected", rejected, trials);
    free(p);
}

TU_TESTS(TU_T(test_sound_pages_pass_both), TU_T(test_damaged_pages_same_verdict_as_model))
