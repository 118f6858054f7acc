/*
 * crc32c_aesni.c - CRC32C for the aesni tier: three SSE4.2 crc32 chains merged with PCLMULQDQ
 * (crc32c_sse42.h), and for long inputs the same chains fused with PCLMULQDQ folding on xmm
 * (crc32c_vpclmul_template.h with VL 16).
 *
 * xmm folding alone is no faster than the crc32 chains (on Zen 3 it is half as fast: two
 * PCLMULQDQ at one per 2 cycles per 16 bytes), but the two run largely in parallel, so the
 * fused loop adds the folding's bytes to the chains' 8 bytes per cycle.
 */
#define VL               16
#define KERNEL           crc32c_aesni
#define MB_KERNEL        crc32c_mb_aesni
#define TIER             IBC_TIER_AESNI
#define CRC32C_VFOLD_MIN 1536
#include "crc32c_vpclmul_template.h"
