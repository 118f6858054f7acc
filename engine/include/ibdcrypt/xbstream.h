/*
 * xbstream.h - writing (and reading back) MariaDB's xbstream format, the stream of
 * `mariadb-backup --stream=xbstream` that `mbstream -x` extracts. Part of the public API of
 * libibdcrypt; conventions as in ibdcrypt.h.
 */
#ifndef IBDCRYPT_XBSTREAM_H
#define IBDCRYPT_XBSTREAM_H

#include <sys/uio.h>

#include "ibdcrypt/ibdcrypt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IBC_XBS_MAX_PATH 511 /* path_len must be < FN_REFLEN (512) */

/* Write one payload chunk for file `path` (relative, '/' separators): the concatenation of
 * iov[0..n) placed at `offset` in that file. Chunks of one file must come in offset order.
 * Returns 0 or -errno (EPIPE when the reader went away). Writes are complete or fail. The
 * chunk's checksum is computed here, on the calling thread, with the best kernel this CPU has. */
IBC_API int ibc_xbs_write_payload(int fd, const char *path, uint64_t offset,
                                  const struct iovec *iov, int n);

/* The same with the checksum given: crc is the zlib CRC-32 of the concatenated iov bytes
 * (ibc_crc32z, or zlib's crc32), computed by the caller, e.g. by parallel workers before an
 * ordered writer emits the chunks. A wrong crc makes the chunk unreadable for mbstream. */
IBC_API int ibc_xbs_write_payload_crc(int fd, const char *path, uint64_t offset,
                                      const struct iovec *iov, int n, uint32_t crc);

/* Write the end-of-file chunk of `path`. */
IBC_API int ibc_xbs_write_eof(int fd, const char *path);

/* One chunk parsed from memory. */
typedef struct ibc_xbs_chunk {
    char type;           /* 'P' payload, 'E' end of file */
    uint8_t flags;
    char path[IBC_XBS_MAX_PATH + 1];
    uint64_t length;     /* payload bytes */
    uint64_t offset;     /* payload offset in the file */
    const uint8_t *data; /* the payload, inside the parsed buffer */
} ibc_xbs_chunk;

/* Parse the chunk at buf[0..len): returns its total size, 0 if more bytes are needed, or -1
 * for something that is not a chunk (bad magic, unknown type, path too long, bad checksum). */
IBC_API long long ibc_xbs_parse(const uint8_t *buf, size_t len, ibc_xbs_chunk *c);

#ifdef __cplusplus
}
#endif
#endif
