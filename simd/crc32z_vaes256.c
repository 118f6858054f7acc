/*
 * crc32z_vaes256.c - CRC-32 of gzip and zlib (crc32z) for the vaes256 tier: VPCLMULQDQ folding
 * on ymm, eight accumulators (crc32z_pclmul_template.h, the body shared with the aesni and
 * vaes512 tiers).
 */
#define VL     32
#define KERNEL crc32z_vaes256
#define TIER   IBC_TIER_VAES256
#include "crc32z_pclmul_template.h"
