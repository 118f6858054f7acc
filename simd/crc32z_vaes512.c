/*
 * crc32z_vaes512.c - CRC-32 of gzip and zlib (crc32z) for the vaes512 tier: VPCLMULQDQ folding
 * on zmm, eight accumulators (crc32z_pclmul_template.h, the body shared with the aesni and
 * vaes256 tiers; only the vector width and the lane reduction differ).
 *
 * Not run here: no AVX-512 machine was at hand. The ymm variant, the same code at half the
 * width, is what the tests exercise; scripts/gen_crc32z.py checks a model of the zmm
 * computation against zlib.
 */
#define VL     64
#define KERNEL crc32z_vaes512
#define TIER   IBC_TIER_VAES512
#include "crc32z_pclmul_template.h"
