/*
 * probe_vaes512.c - AES-round throughput probe on zmm registers (VAES + AVX-512). Compiled with
 * the vaes512 tier's flags; called only when the CPU and OS support AVX-512 and VAES
 * (bench_probe.c). Sixteen chains and all eleven AES-128 round keys fit in the 32 zmm registers.
 */
#include "bench.h"

#define PROBE_FN ibc_probe_vaesenc_zmm
#define PROBE_ROUNDS_VAR ibc_probe_zmm_block_rounds
#define PROBE_VEC __m512i
#define PROBE_AESENC _mm512_aesenc_epi128
#define PROBE_BCAST _mm512_broadcast_i32x4
#define PROBE_XOR _mm512_xor_si512
#define PROBE_LOW64(v) ((uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(v)))
#define PROBE_CHAINS 16
#define PROBE_KEYS 11
#define PROBE_BLOCKS 4
#include "probe_vaes_template.h"
