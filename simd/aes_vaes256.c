/*
 * aes_vaes256.c - the vaes256 tier's AES kernels: VAES on ymm (two blocks per register),
 * AVX2. The kernels are aes_vaes_template.h; this unit only fixes the width.
 */
#define IBC_W 256
#define IBC_SUFFIX vaes256
#define IBC_TIER IBC_TIER_VAES256
#include "aes_vaes_template.h"
