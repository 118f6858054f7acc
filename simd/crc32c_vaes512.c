/*
 * crc32c_vaes512.c - CRC32C for the vaes512 tier: carry-less-multiply folding on 512-bit vectors
 * (crc32c_vpclmul_template.h, shared with the other VPCLMULQDQ tier).
 */
#define VL     64
#define KERNEL crc32c_vaes512
#define TIER   IBC_TIER_VAES512
#include "crc32c_vpclmul_template.h"
