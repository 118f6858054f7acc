/*
 * engine_internal.h - what the engine's units share and the public header hides.
 */
#ifndef IBC_ENGINE_INTERNAL_H
#define IBC_ENGINE_INTERNAL_H

#include "ibdcrypt/ibdcrypt.h"
#include "simd.h"

struct ibc_engine {
    const ibc_kernels *k; /* resolved once, immutable */
};

#endif
