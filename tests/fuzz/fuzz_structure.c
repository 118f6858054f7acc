/*
 * fuzz_structure.c - libFuzzer target: the B-tree page structure check (engine/structure.c,
 * ibc_index_page_check) against the one-record-at-a-time model of tests/structure_model.h.
 *
 * The first input byte picks how the page is made:
 *   odd:  the rest of the input is the page (page size 4K..64K from the second byte, zeros
 *         after the input);
 *   even: a sound page built by structure_model.h and then damaged, every random choice of
 *         the builder and of the damage read from the rest of the input (so the fuzzer steers
 *         the page's shape: format, size, record counts, slot ownership, what is damaged).
 * Whatever the page: no crash, no read outside it (ASan), and the check and the model give
 * the same verdict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"
#include "structure_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* randomness read from the input; zeros once it runs out */
typedef struct input_rng {
    const uint8_t *p;
    size_t n;
    uint64_t state;
} input_rng;

static uint64_t in_below(void *ctx, uint64_t n)
{
    input_rng *r = ctx;
    uint64_t v = 0;
    for (int i = 0; i < 3; i++)
        v = v << 8 | (r->n ? (r->n--, *r->p++) : 0);
    return v % n;
}

static void in_bytes(void *ctx, void *p, size_t n)
{
    input_rng *r = ctx;
    uint8_t *o = p;
    uint64_t x = r->state | 1;
    for (size_t i = 0; i < n; i++) { /* xorshift64, seeded by the input */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        o[i] = (uint8_t)x;
    }
    r->state = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t sizes[] = {4096, 8192, 16384, 32768, 65536};
    static uint8_t page[65536];
    if (size < 2)
        return 0;
    uint32_t ps;
    if (data[0] & 1) {
        ps = sizes[data[1] % 5];
        memset(page, 0, ps);
        memcpy(page, data + 2, size - 2 < ps ? size - 2 : ps);
    } else {
        input_rng r = {data + 1, size - 1, (uint64_t)size * 0x9e3779b97f4a7c15ull};
        sm_rng rng = {in_below, in_bytes, &r};
        int compact;
        random_page(page, &ps, &compact, &rng);
        for (uint64_t k = in_below(&r, 4); k > 0; k--)
            damage(page, ps, compact, &rng);
    }
    int m = model(page, ps), c = ibc_index_page_check(page, ps);
    if ((m != 0) != (c != 0))
        abort();
    return 0;
}
