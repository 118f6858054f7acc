/*
 * crc32z_vaes256.c - CRC-32 of gzip and zlib (crc32z) for the vaes256 tier: VPCLMULQDQ folding
 * on ymm, eight accumulators (crc32z_pclmul_template.h, the body shared with the aesni and
 * vaes512 tiers).
 *
 * Zen 3 (2 cores, shared, one run, interleaved medians): 19-21 GB/s from 4 KiB to 1 MiB, 1.9-2.3x
 * ISA-L's crc32_gzip_refl (xmm folding there without AVX-512) and 9-10x zlib's crc32().
 */
#define VL     32
#define KERNEL crc32z_vaes256
#define TIER   IBC_TIER_VAES256
#include "crc32z_pclmul_template.h"
