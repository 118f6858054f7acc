/*
 * crc32c_vaes512.c - CRC32C for the vaes512 tier: VPCLMULQDQ folding on zmm fused with three
 * crc32 chains (crc32c_vpclmul_template.h, the body shared with the aesni and vaes256 tiers;
 * only the vector width differs).
 *
 * The chain share per step (CRC32C_FUSED512_Q in the generator) and the folding threshold are
 * set from the Zen 4 instruction limits in perf-ceilings.md (VPCLMULQDQ zmm one per 2 cycles,
 * crc32 one per cycle, co-issuing), not measured: no AVX-512 machine was at hand.
 */
#define VL               64
#define KERNEL           crc32c_vaes512
#define TIER             IBC_TIER_VAES512
#define CRC32C_VFOLD_MIN 512
#include "crc32c_vpclmul_template.h"
