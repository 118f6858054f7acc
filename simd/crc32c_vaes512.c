/*
 * crc32c_vaes512.c - TEMPORARY CRC32C for the vaes512 tier, so that the tier builds before its real
 * CRC kernel lands: the SSE4.2 crc32 instruction, three chains joined with PCLMULQDQ
 * (aes_x86_crc.h). To be replaced by the CRC helper's file.
 */
#include "aes_x86_crc.h"
#include "tiers.h"

uint32_t crc32c_vaes512(uint32_t crc, const void *buf, size_t len)
{
    IBC_KERNEL_HIT(IBC_KOP_CRC32C, IBC_TIER_VAES512);
    return ~crcx_raw(~crc, (const uint8_t *)buf, len);
}
