/*
 * testutil.h - the small test framework every C test uses.
 *
 *   - TU_CHECK(cond, fmt, ...) records a failure with file:line, the message and the random
 *     seed, and returns from the current test function (tests are void functions);
 *   - a seeded PRNG: the seed comes from IBC_TEST_SEED or the clock and is printed with every
 *     failure, so a failing random test can be replayed exactly;
 *   - buffers placed against PROT_NONE guard pages, to catch reads/writes past either end;
 *   - hex helpers and a test runner (tu_run) with a per-test name filter (argv[1]).
 */
#ifndef IBC_TESTUTIL_H
#define IBC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int tu_failures;
extern uint64_t tu_seed;

void tu_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TU_CHECK(cond, ...)                                                                     \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            tu_fail(__FILE__, __LINE__, __VA_ARGS__);                                           \
            return;                                                                            \
        }                                                                                      \
    } while (0)

/* Compare memory; on mismatch report the first differing offset. */
#define TU_CHECK_MEM(a, b, n, ...)                                                             \
    do {                                                                                       \
        size_t tu_off_;                                                                        \
        if (tu_memdiff((a), (b), (n), &tu_off_)) {                                             \
            tu_fail(__FILE__, __LINE__, "bytes differ at offset %zu of %zu", tu_off_,          \
                    (size_t)(n));                                                              \
            tu_fail(__FILE__, __LINE__, __VA_ARGS__);                                           \
            return;                                                                            \
        }                                                                                      \
    } while (0)

int tu_memdiff(const void *a, const void *b, size_t n, size_t *first);

/* PRNG (xoshiro256**), seeded by tu_init. */
uint64_t tu_rand(void);
uint64_t tu_rand_below(uint64_t n); /* uniform in [0, n) */
void tu_rand_bytes(void *buf, size_t n);
/* A length in [0, max]: mostly small, sometimes around block boundaries, sometimes large. */
size_t tu_rand_len(size_t max);

/* A buffer of n bytes whose last byte sits right before a PROT_NONE page (at_end=1), or whose
 * first byte sits right after one (at_end=0). Free with tu_guard_free. */
typedef struct tu_guard {
    void *map;
    size_t map_len;
    uint8_t *p;
} tu_guard;
uint8_t *tu_guard_alloc(tu_guard *g, size_t n, int at_end);
void tu_guard_free(tu_guard *g);

/* Hex: parse into buf (returns byte count or -1), print to stderr. */
long tu_hex_parse(const char *hex, uint8_t *buf, size_t max);
void tu_hex_dump(const char *label, const void *buf, size_t n);

/* Runner. */
typedef struct tu_test {
    const char *name;
    void (*fn)(void);
} tu_test;
int tu_run(int argc, char **argv, const tu_test *tests, size_t n);
#define TU_TESTS(...)                                                                          \
    static const tu_test tu_tests_[] = {__VA_ARGS__};                                           \
    int main(int argc, char **argv)                                                             \
    {                                                                                          \
        return tu_run(argc, argv, tu_tests_, sizeof(tu_tests_) / sizeof(tu_tests_[0]));        \
    }
#define TU_T(fn) {#fn, fn}

/* Directory of the test data (tests/), from the IBC_TEST_DATA compile definition. */
const char *tu_data_dir(void);

#endif
