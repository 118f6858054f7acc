/*
 * redo.h - the redo log (ib_logfile0) part of the public API of libibdcrypt. Included by
 * ibdcrypt.h; the conventions there apply.
 */
#ifndef IBDCRYPT_REDO_H
#define IBDCRYPT_REDO_H

#include "ibdcrypt/ibdcrypt.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
