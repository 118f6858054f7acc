/*
 * aes_vaes512.c - the vaes512 tier's AES kernels: VAES on zmm (four blocks per register),
 * AVX-512 F/BW. The kernels are aes_vaes_template.h; this unit only fixes the width.
 */
#define IBC_W 512
#define IBC_SUFFIX vaes512
#define IBC_TIER IBC_TIER_VAES512
#include "aes_vaes_template.h"
