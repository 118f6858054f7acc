/*
 * bench_main.c - registration of every benchmark group, the report context, and the small
 * helpers the groups share (bench.h).
 */
#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"
#include "page_data.h"
#include "peers.h"

size_t bench_tiers(const ibc_kernels *out[IBC_TIER_COUNT])
{
    size_t n = 0;
    uint32_t f = ibc_cpu_features();
    for (int t = 0; t < IBC_TIER_COUNT; t++)
        if (ibc_tier_usable((ibc_tier_id)t, f))
            out[n++] = ibc_tier_kernels((ibc_tier_id)t);
    return n;
}

void *bench_alloc(size_t n)
{
    size_t sz = (n + 63) / 64 * 64;
    void *p = aligned_alloc(64, sz ? sz : 64);
    if (p)
        memset(p, 0, sz ? sz : 64);
    return p;
}

void bench_free(void *p)
{
    free(p);
}

/* Pages in the engine's staggered layout (the stride of ibc_pages_alloc), but in 2 MiB-aligned
 * memory offered to transparent huge pages: a hot batch then sits in one physically contiguous
 * huge page, so its L2 set mapping (physically indexed) is the same from one set-up to the next
 * instead of depending on which 4 KiB frames the kernel handed out. */
#define HUGE_PAGE (2u << 20)

uint8_t *bench_pages_alloc(uint32_t page_size, size_t n, size_t *stride)
{
    uint8_t *probe = ibc_pages_alloc(page_size, 1, stride);
    if (!probe)
        return NULL;
    ibc_pages_free(probe);
    size_t bytes = (n * *stride + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    uint8_t *p = aligned_alloc(HUGE_PAGE, bytes ? bytes : HUGE_PAGE);
    if (!p)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE); /* a hint: without THP the layout is still right */
#endif
    memset(p, 0, bytes);
    return p;
}

void bench_pages_free(uint8_t *p)
{
    free(p);
}

void bench_fill(void *buf, size_t n, uint64_t seed)
{
    uint8_t *p = buf;
    uint64_t x = seed;
    for (size_t i = 0; i < n; i += 8) {
        /* splitmix64 */
        uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        size_t m = n - i < 8 ? n - i : 8;
        memcpy(p + i, &z, m);
    }
}

void *bench_skip(gbc_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->error, sizeof(ctx->error), fmt, ap);
    va_end(ap);
    return NULL;
}

/* "cpu family F model M" from /proc/cpuinfo (the brand string of a VM is often generic). */
static void cpu_family_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    int fam = -1, model = -1;
    while (fgets(line, sizeof(line), f) && (fam < 0 || model < 0)) {
        if (fam < 0 && sscanf(line, "cpu family : %d", &fam) == 1)
            continue;
        if (model < 0 && !strncmp(line, "model\t", 6))
            sscanf(line, "model : %d", &model);
    }
    fclose(f);
    if (fam >= 0 && model >= 0)
        snprintf(buf, n, "family %d model %d", fam, model);
}

static void add_context(void)
{
    ibc_cpu_info ci;
    char buf[256], ossl[128], mb[128], isal[64];
    ibc_cpu_info_get(&ci);
    gbc_add_context("ibdcrypt_version", ibc_version());
    gbc_add_context("ibdcrypt_tier_selected", ci.selected);
    gbc_add_context("ibdcrypt_tiers_usable", ci.usable);
    gbc_add_context("ibdcrypt_tiers_compiled", ci.compiled);
    gbc_add_context("cpu_model", ci.model);
    cpu_family_model(buf, sizeof(buf));
    gbc_add_context("cpu_family_model", buf);
    gbc_add_context("cpu_features", ci.features);
    snprintf(buf, sizeof(buf), "%ld", sysconf(_SC_PAGESIZE));
    gbc_add_context("os_page_size", buf);
    snprintf(buf, sizeof(buf), "%u", BENCH_PAGE_SIZE);
    gbc_add_context("innodb_page_size", buf);
    snprintf(buf, sizeof(buf), "%u pages per batch and thread", BENCH_HOT_PAGES);
    gbc_add_context("page_batch", buf);
    snprintf(buf, sizeof(buf), "%zu MiB per format and cipher", bench_cold_mib());
    gbc_add_context("page_cold_set", buf);
    peers_versions(ossl, sizeof(ossl), mb, sizeof(mb), isal, sizeof(isal));
    gbc_add_context("openssl_version", ossl);
    gbc_add_context("ipsec_mb_version", mb);
    gbc_add_context("isal_version", isal);
}

void ibc_bench_register_all(void)
{
    add_context();
    bench_kernel_register();
    bench_probe_register();
    bench_page_register();
    bench_binlog_register();
}

void ibc_bench_cleanup(void)
{
    bench_page_cleanup();
}
