/*
 * testutil.c - implementation of the test framework (see testutil.h).
 */
#define _DEFAULT_SOURCE
#include "testutil.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int tu_failures;
uint64_t tu_seed;
static uint64_t rng[4];
static const char *current_test = "?";

void tu_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s (%s:%d, seed IBC_TEST_SEED=%llu): ", current_test, file, line,
            (unsigned long long)tu_seed);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    tu_failures++;
}

int tu_memdiff(const void *a, const void *b, size_t n, size_t *first)
{
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) {
            *first = i;
            return 1;
        }
    return 0;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void seed_rng(uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < 4; i++)
        rng[i] = splitmix(&s);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t tu_rand(void)
{
    uint64_t r = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return r;
}

uint64_t tu_rand_below(uint64_t n)
{
    return n ? tu_rand() % n : 0;
}

void tu_rand_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        uint64_t r = tu_rand();
        size_t k = n < 8 ? n : 8;
        memcpy(p, &r, k);
        p += k;
        n -= k;
    }
}

size_t tu_rand_len(size_t max)
{
    size_t len;
    switch (tu_rand_below(8)) {
    case 0:
    case 1:
    case 2:
        len = tu_rand_below(65); /* tiny: all the tails */
        break;
    case 3:
    case 4:
        len = tu_rand_below(1025);
        break;
    case 5: /* around a multiple of 64..512 bytes, where kernels switch strategies */
        len = (tu_rand_below(64) + 1) * ((size_t)64 << tu_rand_below(4));
        len += tu_rand_below(33);
        len = len >= 16 ? len - 16 : len;
        break;
    default:
        len = tu_rand_below(max + 1);
        break;
    }
    return len > max ? max : len;
}

uint8_t *tu_guard_alloc(tu_guard *g, size_t n, int at_end)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (n + pg - 1) / pg * pg;
    g->map_len = body + 2 * pg;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED) {
        perror("mmap");
        abort();
    }
    uint8_t *base = g->map;
    mprotect(base, pg, PROT_NONE);
    mprotect(base + pg + body, pg, PROT_NONE);
    g->p = at_end ? base + pg + body - n : base + pg;
    return g->p;
}

void tu_guard_free(tu_guard *g)
{
    if (g->map)
        munmap(g->map, g->map_len);
    g->map = NULL;
}

long tu_hex_parse(const char *hex, uint8_t *buf, size_t max)
{
    size_t n = 0;
    while (*hex) {
        if (*hex == ' ' || *hex == ':') {
            hex++;
            continue;
        }
        unsigned v;
        if (n >= max || sscanf(hex, "%2x", &v) != 1 || !hex[1])
            return -1;
        buf[n++] = (uint8_t)v;
        hex += 2;
    }
    return (long)n;
}

void tu_hex_dump(const char *label, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    fprintf(stderr, "  %s:", label);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%02x", i % 32 ? "" : "\n    ", p[i]);
    fputc('\n', stderr);
}

const char *tu_data_dir(void)
{
#ifdef IBC_TEST_DATA
    return IBC_TEST_DATA;
#else
    return "tests";
#endif
}

int tu_run(int argc, char **argv, const tu_test *tests, size_t n)
{
    const char *env = getenv("IBC_TEST_SEED");
    if (env && *env)
        tu_seed = strtoull(env, NULL, 0);
    else
        tu_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    const char *filter = argc > 1 ? argv[1] : NULL;
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (filter && !strstr(tests[i].name, filter))
            continue;
        current_test = tests[i].name;
        seed_rng(tu_seed ^ (0x51ed270b27ull * (i + 1))); /* each test replayable alone */
        int before = tu_failures;
        tests[i].fn();
        printf("%s %s\n", tu_failures == before ? "ok  " : "FAIL", tests[i].name);
        ran++;
    }
    if (tu_failures)
        fprintf(stderr, "%d failure(s); replay with IBC_TEST_SEED=%llu\n", tu_failures,
                (unsigned long long)tu_seed);
    if (!ran) {
        fprintf(stderr, "no test matches '%s'\n", filter ? filter : "");
        return 1;
    }
    return tu_failures ? 1 : 0;
}
