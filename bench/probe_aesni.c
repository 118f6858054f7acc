/*
 * probe_aesni.c - AES-round throughput probe on xmm registers (AES-NI), the limit of the aesni
 * tier. Compiled with the aesni tier's flags; called only when the CPU has AES-NI
 * (bench_probe.c). Twelve chains and two round keys fill 14 of the 16 xmm registers.
 */
#include "bench.h"

#define PROBE_FN ibc_probe_aesenc_xmm
#define PROBE_ROUNDS_VAR ibc_probe_xmm_block_rounds
#define PROBE_VEC __m128i
#define PROBE_AESENC _mm_aesenc_si128
#define PROBE_BCAST(x) (x)
#define PROBE_XOR _mm_xor_si128
#define PROBE_LOW64(v) ((uint64_t)_mm_cvtsi128_si64(v))
#define PROBE_CHAINS 12
#define PROBE_KEYS 2
#define PROBE_BLOCKS 1
#include "probe_vaes_template.h"
