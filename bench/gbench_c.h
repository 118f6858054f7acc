/*
 * gbench_c.h - a small C API over Google Benchmark.
 *
 * The benchmarks of ibdcrypt are written in C; Google Benchmark is C++. This header is the
 * whole bridge: C code registers a benchmark as a name plus three callbacks and the amount of
 * work one iteration does; the wrapper (gbench_c.cc) turns it into a Google Benchmark, times
 * the run callback with Google Benchmark's loop, and reports bytes_per_second and a
 * pages_per_second counter. Everything else (flags, JSON, repetitions, filters, random
 * interleaving) is Google Benchmark's own.
 *
 * The one idea: a benchmark's state is set up per thread, outside the timed loop, and kept
 * while Google Benchmark calls the benchmark again and again to size its iteration count; it is
 * torn down when another benchmark starts (and at exit). So setup may be expensive (building a
 * cold working set) without being timed or repeated for every iteration-count probe.
 *
 * Lifecycle of one registered benchmark with T threads:
 *   setup(ctx) on each thread 0..T-1 (concurrently; each thread gets its own state) ->
 *   run(state) once per iteration, timed, on every thread ->
 *   teardown(state) on the thread that switches to another benchmark (or at exit).
 */
#ifndef IBC_GBENCH_C_H
#define IBC_GBENCH_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What setup sees and may fill in. */
typedef struct gbc_ctx {
    /* in */
    const char *name;  /* the benchmark's full name, e.g. "kernel/aes128_ctr/openssl/16384" */
    int64_t arg;       /* the benchmark's argument (see gbc_spec.args), 0 when it has none */
    int thread_index;  /* 0 .. threads-1 */
    int threads;       /* number of threads running this benchmark */
    const void *user;  /* gbc_spec.user */
    /* out: setup may override the per-iteration work declared in the spec (e.g. when it
     * depends on the argument) */
    double bytes; /* bytes processed by one call of run(), on this thread */
    double pages; /* pages processed by one call of run() (0: no pages_per_second counter) */
    /* out: a reason to skip this benchmark when setup returns NULL */
    char error[192];
} gbc_ctx;

/* Build the per-thread state. Returns NULL (and writes ctx->error) to skip the benchmark with
 * that message, e.g. when the CPU lacks a tier or a peer library is missing. */
typedef void *(*gbc_setup_fn)(gbc_ctx *ctx);
/* One iteration. Returns NULL, or a static message if the iteration found a wrong result (the
 * benchmark is then reported as an error instead of a time). */
typedef const char *(*gbc_run_fn)(void *state);
/* Free the state. May be NULL. */
typedef void (*gbc_teardown_fn)(void *state);

#define GBC_MAX_ARGS 8

typedef struct gbc_spec {
    /* Stable name, "<group>/<operation>/<implementation>"; Google Benchmark appends
     * "/<arg>" for each argument, and the optional suffix is appended after that. */
    const char *name;
    const char *suffix; /* e.g. "cold", or NULL */
    gbc_setup_fn setup;
    gbc_run_fn run;
    gbc_teardown_fn teardown;
    const void *user; /* handed to setup in gbc_ctx.user */
    double bytes; /* default bytes per iteration (setup may override) */
    double pages; /* default pages per iteration (setup may override) */
    int64_t args[GBC_MAX_ARGS];
    size_t nargs; /* 0: no argument */
    /* 0: one thread, timed by its CPU time (the default of Google Benchmark), name as built.
     * N >= 1: N threads (each with its own state), timed by wall-clock time, so that N-thread
     * and 1-thread variants compare; Google Benchmark appends "/real_time/threads:N". */
    int threads;
} gbc_spec;

/* Register a benchmark (the spec is copied; its strings are copied too). One registration
 * with n arguments gives n benchmarks. Returns 0, or -1 if the spec is invalid. */
int gbc_register(const gbc_spec *spec);

/* A key/value pair for the "context" block of every report (the JSON "context" object). */
void gbc_add_context(const char *key, const char *value);

/* Called by main() after Google Benchmark has parsed its flags: the C side registers every
 * benchmark and adds its context here (bench_main.c). */
void ibc_bench_register_all(void);

/* Called by main() after the run: release what the C side built once per process. */
void ibc_bench_cleanup(void);

#ifdef __cplusplus
}
#endif
#endif
