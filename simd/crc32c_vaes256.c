/*
 * crc32c_vaes256.c - CRC32C for the vaes256 tier: carry-less-multiply folding on 256-bit vectors
 * (crc32c_vpclmul_template.h, shared with the other VPCLMULQDQ tier).
 */
#define VL     32
#define KERNEL crc32c_vaes256
#define TIER   IBC_TIER_VAES256
#include "crc32c_vpclmul_template.h"
