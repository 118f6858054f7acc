/*
 * bench_probe.c - the AES-round limit of this core, measured in the same run as the pages.
 *
 *   probe/aes_round_limit/aesenc.xmm/16384     AES-NI (the aesni tier's instruction)
 *   probe/aes_round_limit/vaesenc.ymm/16384    VAES on ymm (vaes256)
 *   probe/aes_round_limit/vaesenc.zmm/16384    VAES on zmm (vaes512)
 *
 * Units: a fused CBC (or CTR) re-key of one 16 KiB MariaDB page costs 2 passes x 1022 blocks x
 * 10 rounds = 20440 block-rounds of AES-128 (perf-ceilings.md §2; the two tail masks and the two
 * pre-check blocks add 0.2 %, left out). A probe that applies R block-rounds per second is
 * reported as R / 20440 pages_per_second and 16384 R / 20440 bytes_per_second: the speed of a
 * re-key that did nothing but AES rounds. page/rekey_* divided by this is "the fraction of the
 * AES-round limit". Each probe is registered only where the CPU runs its instructions.
 */
#include "bench.h"

#define PAGE_BLOCK_ROUNDS 20440.0 /* 2 x 1022 x 10 */
#define PAGE_BYTES 16384.0
#define PROBE_LOOPS 2000

typedef struct probe_desc {
    uint64_t (*fn)(uint64_t);
    const unsigned *block_rounds;
} probe_desc;

typedef struct probe_state {
    const probe_desc *d;
    uint64_t sink;
} probe_state;

static void *probe_setup(gbc_ctx *ctx)
{
    probe_state *s = bench_alloc(sizeof(*s));
    if (!s)
        return bench_skip(ctx, "out of memory");
    s->d = ctx->user;
    double rounds = (double)*s->d->block_rounds * PROBE_LOOPS;
    ctx->pages = rounds / PAGE_BLOCK_ROUNDS;
    ctx->bytes = ctx->pages * PAGE_BYTES;
    return s;
}

static const char *probe_run(void *p)
{
    probe_state *s = p;
    s->sink ^= s->d->fn(PROBE_LOOPS);
    return NULL;
}

static void probe_teardown(void *p)
{
    bench_free(p);
}

static void probe_add(const char *name, const probe_desc *d)
{
    gbc_spec spec = {
        .name = name,
        .setup = probe_setup,
        .run = probe_run,
        .teardown = probe_teardown,
        .user = d,
        .args = {16384},
        .nargs = 1,
    };
    gbc_register(&spec);
}

void bench_probe_register(void)
{
    uint32_t f = ibc_cpu_features();
    (void)f;
#ifdef BENCH_HAVE_PROBE_XMM
    static const probe_desc xmm = {ibc_probe_aesenc_xmm, &ibc_probe_xmm_block_rounds};
    if (f & IBC_CPU_AESNI)
        probe_add("probe/aes_round_limit/aesenc.xmm", &xmm);
#endif
#ifdef BENCH_HAVE_PROBE_YMM
    static const probe_desc ymm = {ibc_probe_vaesenc_ymm, &ibc_probe_ymm_block_rounds};
    if ((f & (IBC_CPU_AVX2 | IBC_CPU_VAES)) == (IBC_CPU_AVX2 | IBC_CPU_VAES))
        probe_add("probe/aes_round_limit/vaesenc.ymm", &ymm);
#endif
#ifdef BENCH_HAVE_PROBE_ZMM
    static const probe_desc zmm = {ibc_probe_vaesenc_zmm, &ibc_probe_zmm_block_rounds};
    const uint32_t z = IBC_CPU_AVX512F | IBC_CPU_AVX512BW | IBC_CPU_AVX512VL | IBC_CPU_VAES;
    if ((f & z) == z)
        probe_add("probe/aes_round_limit/vaesenc.zmm", &zmm);
#endif
}
