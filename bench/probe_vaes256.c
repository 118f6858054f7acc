/*
 * probe_vaes256.c - AES-round throughput probe on ymm registers (VAES + AVX2). Compiled with the
 * vaes256 tier's flags; called only when the CPU has AVX2 and VAES (bench_probe.c). Twelve
 * chains and two round keys fill 14 of the 16 ymm registers.
 */
#include "bench.h"

#define PROBE_FN ibc_probe_vaesenc_ymm
#define PROBE_ROUNDS_VAR ibc_probe_ymm_block_rounds
#define PROBE_VEC __m256i
#define PROBE_AESENC _mm256_aesenc_epi128
#define PROBE_BCAST _mm256_broadcastsi128_si256
#define PROBE_XOR _mm256_xor_si256
#define PROBE_LOW64(v) ((uint64_t)_mm256_extract_epi64((v), 0))
#define PROBE_CHAINS 12
#define PROBE_KEYS 2
#define PROBE_BLOCKS 2
#include "probe_vaes_template.h"
