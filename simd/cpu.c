/*
 * cpu.c - CPU feature detection, once per process.
 *
 * x86-64: CPUID leaves 1 and 7, and XGETBV(0): AVX-class features count only when the OS
 * saves the YMM state (XCR0 bits 1-2), AVX-512 only when it also saves opmask and ZMM state
 * (XCR0 bits 5-7) (Intel SDM vol. 1, 13.3 and 15.2). AArch64/Linux: getauxval(AT_HWCAP).
 *
 * The result is published with an atomic store; racing first callers compute the same value.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "simd.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static uint32_t detect(void)
{
    uint32_t a, b, c, d, f = 0;
    if (__get_cpuid_max(0, NULL) < 1)
        return 0;
    __cpuid(0, a, b, c, d);
    int intel = b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu; /* "GenuineIntel" */
    __cpuid(1, a, b, c, d);
    if (c & (1u << 20))
        f |= IBC_CPU_SSE42;
    if (c & (1u << 9))
        f |= IBC_CPU_SSSE3;
    if (c & (1u << 1))
        f |= IBC_CPU_PCLMUL;
    if (c & (1u << 25))
        f |= IBC_CPU_AESNI;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int ymm_ok = osxsave && (xcr0 & 0x6) == 0x6;
    int zmm_ok = ymm_ok && (xcr0 & 0xe6) == 0xe6;
    if (avx && ymm_ok)
        f |= IBC_CPU_AVX;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if (ymm_ok) {
            if (b & (1u << 5))
                f |= IBC_CPU_AVX2;
            if (c & (1u << 9))
                f |= IBC_CPU_VAES;
            if (c & (1u << 10))
                f |= IBC_CPU_VPCLMUL;
        }
        if (zmm_ok) {
            if (b & (1u << 16))
                f |= IBC_CPU_AVX512F;
            if (b & (1u << 30))
                f |= IBC_CPU_AVX512BW;
            if (b & (1u << 31))
                f |= IBC_CPU_AVX512VL;
        }
        if (intel && (f & IBC_CPU_AVX512F) && (f & IBC_CPU_VPCLMUL))
            f |= IBC_CPU_CLMUL512_FULL;
    }
    return f;
}

void ibc_cpu_model(char *buf, size_t n)
{
    uint32_t r[12];
    if (n == 0)
        return;
    buf[0] = 0;
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) < 0x80000004u) {
        snprintf(buf, n, "unknown x86-64");
        return;
    }
    for (uint32_t i = 0; i < 3; i++)
        __cpuid(0x80000002u + i, r[4 * i], r[4 * i + 1], r[4 * i + 2], r[4 * i + 3]);
    char s[49];
    memcpy(s, r, 48);
    s[48] = 0;
    const char *p = s;
    while (*p == ' ')
        p++;
    snprintf(buf, n, "%s", p);
    /* trim trailing blanks */
    for (size_t l = strlen(buf); l > 0 && buf[l - 1] == ' '; l--)
        buf[l - 1] = 0;
}

#elif defined(__aarch64__)
#include <sys/auxv.h>
#ifndef HWCAP_AES
#define HWCAP_AES (1 << 3)
#endif
#ifndef HWCAP_PMULL
#define HWCAP_PMULL (1 << 4)
#endif
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif

static uint32_t detect(void)
{
    unsigned long hw = getauxval(AT_HWCAP);
    uint32_t f = 0;
    if (hw & HWCAP_AES)
        f |= IBC_CPU_ARM_AES;
    if (hw & HWCAP_PMULL)
        f |= IBC_CPU_ARM_PMULL;
    if (hw & HWCAP_CRC32)
        f |= IBC_CPU_ARM_CRC32;
    return f;
}

void ibc_cpu_model(char *buf, size_t n)
{
    if (n == 0)
        return;
    snprintf(buf, n, "unknown aarch64");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp)
        return;
    char line[256];
    unsigned impl = 0, part = 0;
    while (fgets(line, sizeof(line), fp)) {
        sscanf(line, "CPU implementer : %x", &impl);
        sscanf(line, "CPU part : %x", &part);
    }
    fclose(fp);
    if (impl || part)
        snprintf(buf, n, "aarch64 implementer 0x%02x part 0x%03x", impl, part);
}

#else
static uint32_t detect(void)
{
    return 0;
}

void ibc_cpu_model(char *buf, size_t n)
{
    if (n)
        snprintf(buf, n, "unknown");
}
#endif

static _Atomic uint32_t cached; /* detected features | 1u << 31 once computed */

uint32_t ibc_cpu_features(void)
{
    uint32_t v = atomic_load_explicit(&cached, memory_order_acquire);
    if (!(v >> 31)) {
        v = detect() | (1u << 31);
        atomic_store_explicit(&cached, v, memory_order_release);
    }
    return v & ~(1u << 31);
}

void ibc_cpu_feature_names(uint32_t f, char *buf, size_t n)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {IBC_CPU_SSE42, "sse4.2"},       {IBC_CPU_SSSE3, "ssse3"},
        {IBC_CPU_PCLMUL, "pclmulqdq"},   {IBC_CPU_AESNI, "aes-ni"},
        {IBC_CPU_AVX, "avx"},            {IBC_CPU_AVX2, "avx2"},
        {IBC_CPU_VAES, "vaes"},          {IBC_CPU_VPCLMUL, "vpclmulqdq"},
        {IBC_CPU_AVX512F, "avx512f"},    {IBC_CPU_AVX512BW, "avx512bw"},
        {IBC_CPU_AVX512VL, "avx512vl"},  {IBC_CPU_CLMUL512_FULL, "clmul512-full"},
        {IBC_CPU_ARM_AES, "aes"},
        {IBC_CPU_ARM_PMULL, "pmull"},    {IBC_CPU_ARM_CRC32, "crc32"},
    };
    size_t used = 0;
    if (n == 0)
        return;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(f & names[i].bit))
            continue;
        int w = snprintf(buf + used, n - used, "%s%s", used ? "," : "", names[i].name);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
}
