/*
 * crc32z_vaes512.c - CRC-32 of gzip and zlib (crc32z) for the vaes512 tier: VPCLMULQDQ folding
 * on zmm, eight accumulators (crc32z_pclmul_template.h, the body shared with the aesni and
 * vaes256 tiers; only the vector width and the lane reduction differ).
 *
 * First written without an AVX-512 machine (scripts/gen_crc32z.py checks a model of the zmm
 * computation against zlib, as does tests/unit/test_crc32z_zmm_model.c); since 2026-11-23
 * test_crc32z runs it on a Zen 5 against zlib.
 */
#define VL     64
#define KERNEL crc32z_vaes512
#define TIER   IBC_TIER_VAES512
#include "crc32z_pclmul_template.h"
