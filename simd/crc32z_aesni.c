/*
 * crc32z_aesni.c - CRC-32 of gzip and zlib (crc32z) for the aesni tier: PCLMULQDQ folding on
 * xmm, eight accumulators (crc32z_pclmul_template.h, the body shared with the vaes256 and
 * vaes512 tiers).
 *
 * Zen 3: 8.5-9.5 GB/s, 0.95-1.06x ISA-L's crc32_gzip_refl (the same method), 4.1-4.8x zlib.
 */
#define VL     16
#define KERNEL crc32z_aesni
#define TIER   IBC_TIER_AESNI
#include "crc32z_pclmul_template.h"
