/*
 * aes_aesni.c - the aesni tier's AES kernels: AES-NI on xmm (one block per register, legacy
 * SSE encoding), SSE4.2 crc32 and PCLMULQDQ. The kernels are aes_vaes_template.h, the same
 * body as the VAES tiers at a width of 128 bits; this unit only fixes the width.
 */
#define IBC_W 128
#define IBC_SUFFIX aesni
#define IBC_TIER IBC_TIER_AESNI
#define IBC_FUSED_CTR2 0 /* see aes_vaes_template.h */
#include "aes_vaes_template.h"
