/*
 * bench.h - what the C units of ibdcrypt-bench share.
 *
 * Benchmark names are stable and parsed by ci/perf-gate: "<group>/<operation>/<impl>/<bytes>"
 * with an optional "/cold" suffix, where impl is "ibdcrypt.<tier>" for every kernel tier this
 * CPU runs, or a peer: "openssl" (one EVP context reused, new IV per call), "openssl_fresh_ctx"
 * (a new context per call, as the server does), "ipsec_mb", "isal", "libc".
 */
#ifndef IBC_BENCH_H
#define IBC_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "gbench_c.h"
#include "ibdcrypt/ibdcrypt.h"
#include "simd.h"

/* Kernel tables of every tier this build has and this CPU runs, best last. */
size_t bench_tiers(const ibc_kernels *out[IBC_TIER_COUNT]);

/* 64-byte aligned, zero-filled (so every page is touched by the calling thread), or NULL. */
void *bench_alloc(size_t n);
void bench_free(void *p);

/* n pages of page_size bytes in the layout of ibc_pages_alloc (page i at i * *stride), backed
 * by transparent huge pages where the system offers them. Zero-filled. */
uint8_t *bench_pages_alloc(uint32_t page_size, size_t n, size_t *stride);
void bench_pages_free(uint8_t *p);

/* Deterministic pseudo-random bytes (splitmix64 of seed). */
void bench_fill(void *buf, size_t n, uint64_t seed);

/* ctx->error = message; returns NULL (for setup functions). */
void *bench_skip(gbc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The groups. */
void bench_kernel_register(void);
void bench_page_register(void);
void bench_binlog_register(void);
void bench_probe_register(void);
void bench_page_cleanup(void);

/* AES-round throughput probes (probe_*.c): run `iters` loops of ten rounds on each of the
 * probe's independent chains; return a value derived from the result so the
 * work cannot be optimised away. Only call when the CPU has the features (bench_probe.c). */
uint64_t ibc_probe_aesenc_xmm(uint64_t iters);
uint64_t ibc_probe_vaesenc_ymm(uint64_t iters);
uint64_t ibc_probe_vaesenc_zmm(uint64_t iters);
/* Block-rounds (one AES round applied to one 16-byte block) per loop of the probes. */
extern const unsigned ibc_probe_xmm_block_rounds;
extern const unsigned ibc_probe_ymm_block_rounds;
extern const unsigned ibc_probe_zmm_block_rounds;

#endif
