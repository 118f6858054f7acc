/*
 * crc32c_vaes256.c - CRC32C for the vaes256 tier: VPCLMULQDQ folding on ymm fused with three
 * crc32 chains (crc32c_vpclmul_template.h, the body shared with the aesni and vaes512 tiers).
 *
 * On Zen 3 a ymm fold alone runs at 8 bytes per cycle (VPCLMULQDQ ymm, one per 2 cycles), the
 * same as the crc32 instruction; fused, the two together reach about 12.
 */
#define VL     32
#define KERNEL    crc32c_vaes256
#define MB_KERNEL crc32c_mb_vaes256
#define TIER   IBC_TIER_VAES256
#include "crc32c_vpclmul_template.h"
