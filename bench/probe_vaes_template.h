/*
 * probe_vaes_template.h - the AES-round throughput probe, one body for every vector width.
 *
 * How many AES rounds can one core apply per second? Nothing but VAESENC in the loop: PROBE_CHAINS
 * independent chains (more than latency x throughput, so the units never wait for a result),
 * round keys held in registers (a memory operand would make the probe load-port bound instead:
 * perf-ceilings.md, lesson 2), ten rounds per chain per loop as in AES-128. The page benchmarks
 * are reported against this limit, measured in the same run on the same core.
 *
 * Include once per width after defining:
 *   PROBE_FN        function name            PROBE_VEC      vector type
 *   PROBE_AESENC    one round on a vector    PROBE_BCAST    128-bit value -> vector
 *   PROBE_LOW64     low 64 bits of a vector  PROBE_XOR      vector XOR
 *   PROBE_CHAINS    independent chains       PROBE_KEYS     round keys in registers
 *   PROBE_BLOCKS    16-byte blocks per vector
 *   PROBE_ROUNDS_VAR  name of the "block-rounds per loop" constant
 */
#include <immintrin.h>
#include <stdint.h>

const unsigned PROBE_ROUNDS_VAR = 10u * PROBE_CHAINS * PROBE_BLOCKS;

uint64_t PROBE_FN(uint64_t iters)
{
    PROBE_VEC k[PROBE_KEYS], c[PROBE_CHAINS];
    /* values the compiler cannot know, so nothing is folded away */
    for (int i = 0; i < PROBE_KEYS; i++)
        k[i] = PROBE_BCAST(_mm_set_epi64x((long long)(iters * 0x9E3779B97F4A7C15ull + i),
                                          (long long)(i * 0xBF58476D1CE4E5B9ull ^ iters)));
    for (int j = 0; j < PROBE_CHAINS; j++)
        c[j] = PROBE_BCAST(_mm_set_epi64x((long long)(j + iters), (long long)j));
    for (uint64_t it = 0; it < iters; it++) {
#pragma GCC unroll 10
        for (int r = 0; r < 10; r++) {
#pragma GCC unroll 16
            for (int j = 0; j < PROBE_CHAINS; j++)
                c[j] = PROBE_AESENC(c[j], k[r % PROBE_KEYS]);
        }
    }
    PROBE_VEC x = c[0];
    for (int j = 1; j < PROBE_CHAINS; j++)
        x = PROBE_XOR(x, c[j]);
    return PROBE_LOW64(x);
}
