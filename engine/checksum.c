/*
 * checksum.c - InnoDB page checksums (buf0checksum.cc, page0zip.cc) and the server's rules for
 * deciding that a page is corrupted (buf0buf.cc buf_page_is_corrupted; fil0crypt.cc
 * fil_space_verify_crypt_checksum), for the legacy page format. full_crc32 is simple enough
 * to live where it is used (one CRC-32C over [0, size-4)).
 */
#include <zlib.h>

#include "checksum.h"
#include "format.h"

/* Four 16-byte accumulators, 64 bytes a step, so that the baseline SSE2 build loads two
 * vectors a cycle: the padding after a page_compressed page's stream (about half of each such
 * page) is checked here, and the byte-at-a-time form cost 2 % of a deep backup's CPU time. */
int ibc_is_zero(const uint8_t *p, size_t n)
{
    typedef uint64_t v2 __attribute__((vector_size(16)));
    v2 a = {0, 0}, b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        v2 x, y, z, w;
        memcpy(&x, p + i, 16);
        memcpy(&y, p + i + 16, 16);
        memcpy(&z, p + i + 32, 16);
        memcpy(&w, p + i + 48, 16);
        a |= x;
        b |= y;
        c |= z;
        d |= w;
    }
    a |= b | c | d;
    uint64_t acc = a[0] | a[1];
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        acc |= v;
    }
    for (; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

uint32_t ibc_fcrc32_size(const uint8_t *page, uint32_t ps, int *compressed)
{
    uint32_t type = be16(page + FIL_PAGE_TYPE);
    *compressed = 0;
    if (!(type & (1u << FIL_PAGE_COMPRESS_FCRC32_MARKER)))
        return ps;
    /* buf0buf.h buf_page_full_crc32_size: bits 8..14 must be 0, size = byte 25 * 256, and the
     * page is corrupted if that is not below srv_page_size */
    *compressed = 1;
    uint32_t size = (type & 0xff) << 8;
    if ((type & 0x7f00) || size == 0 || size >= ps)
        return 0;
    return size;
}

uint32_t ibc_legacy_crc32(const ibc_kernels *k, const uint8_t *p, uint32_t ps)
{
    return k->crc32c(0, p + FIL_PAGE_OFFSET, FIL_PAGE_KEY_VERSION - FIL_PAGE_OFFSET) ^
           k->crc32c(0, p + FIL_PAGE_DATA, ps - FIL_PAGE_DATA - FIL_PAGE_DATA_END);
}

/* ut0rnd.h ut_fold_ulint_pair; the server computes in ulint and truncates, and with only +, ^
 * and << the low 32 bits are the same in uint32 arithmetic. */
static uint32_t fold_pair(uint32_t n1, uint32_t n2)
{
    return ((((n1 ^ n2 ^ UT_HASH_RANDOM_MASK2) << 8) + n1) ^ UT_HASH_RANDOM_MASK) + n2;
}

static uint32_t fold_binary(const uint8_t *p, size_t n)
{
    uint32_t f = 0;
    for (size_t i = 0; i < n; i++)
        f = fold_pair(f, p[i]);
    return f;
}

uint32_t ibc_legacy_fold_new(const uint8_t *p, uint32_t ps)
{
    return fold_binary(p + FIL_PAGE_OFFSET, FIL_PAGE_KEY_VERSION - FIL_PAGE_OFFSET) +
           fold_binary(p + FIL_PAGE_DATA, ps - FIL_PAGE_DATA - FIL_PAGE_DATA_END);
}

uint32_t ibc_legacy_fold_old(const uint8_t *p)
{
    return fold_binary(p, FIL_PAGE_KEY_VERSION);
}

uint32_t ibc_zip_crc32(const ibc_kernels *k, const uint8_t *p, uint32_t size)
{
    return k->crc32c(0, p + FIL_PAGE_OFFSET, FIL_PAGE_LSN - FIL_PAGE_OFFSET) ^
           k->crc32c(0, p + FIL_PAGE_TYPE, 2) ^
           k->crc32c(0, p + FIL_PAGE_SPACE_ID, size - FIL_PAGE_SPACE_ID);
}

uint32_t ibc_zip_adler32(const uint8_t *p, uint32_t size)
{
    uLong a = adler32(0L, Z_NULL, 0);
    a = adler32(a, p + FIL_PAGE_OFFSET, FIL_PAGE_LSN - FIL_PAGE_OFFSET);
    a = adler32(a, p + FIL_PAGE_TYPE, 2);
    a = adler32(a, p + FIL_PAGE_SPACE_ID, size - FIL_PAGE_SPACE_ID);
    return (uint32_t)a;
}

/* page0zip.cc page_zip_verify_checksum, non-strict: the crc32 or adler32 variant, the
 * "none" magic, or an empty page. */
static int zip_checksum_ok(const ibc_kernels *k, const uint8_t *p, uint32_t size)
{
    uint32_t stored = be32(p + FIL_PAGE_SPACE_OR_CHKSUM);
    if (stored == 0 && be64(p + FIL_PAGE_LSN) == 0 && ibc_is_zero(p, size))
        return 1;
    if (stored == BUF_NO_CHECKSUM_MAGIC)
        return 1;
    return stored == ibc_zip_crc32(k, p, size) || stored == ibc_zip_adler32(p, size);
}

int ibc_legacy_is_corrupted(const ibc_kernels *k, const uint8_t *p, uint32_t ps, uint32_t zip)
{
    if (zip)
        return !zip_checksum_ok(k, p, zip);
    /* LSN low 32 bits at 20..23 must equal the trailer copy at ps-4 */
    if (memcmp(p + FIL_PAGE_LSN + 4, p + ps - FIL_PAGE_DATA_END + 4, 4))
        return 1;
    uint32_t f1 = be32(p + FIL_PAGE_SPACE_OR_CHKSUM), f2 = be32(p + ps - FIL_PAGE_DATA_END);
    if (!f1 && !f2) {
        /* an all-zero page is fine, ignoring FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION (26..33) */
        if (ibc_is_zero(p, FIL_PAGE_KEY_VERSION) &&
            ibc_is_zero(p + FIL_PAGE_SPACE_ID, ps - FIL_PAGE_SPACE_ID))
            return 0;
    }
    if (f1 == BUF_NO_CHECKSUM_MAGIC && f2 == BUF_NO_CHECKSUM_MAGIC)
        return 0;
    uint32_t crc = ibc_legacy_crc32(k, p, ps);
    int crc_ok = f1 == crc && f2 == crc;
    /* very old InnoDB stored the LSN high word in field2 */
    if (f2 != be32(p + FIL_PAGE_LSN) && f2 != BUF_NO_CHECKSUM_MAGIC && !crc_ok &&
        f2 != ibc_legacy_fold_old(p))
        return 1;
    if (f1 != 0 && f1 != BUF_NO_CHECKSUM_MAGIC && !crc_ok && f1 != ibc_legacy_fold_new(p, ps))
        return 1;
    return 0;
}

uint32_t ibc_legacy_crypt_checksum(const ibc_kernels *k, const uint8_t *p, uint32_t ps,
                                   uint32_t zip)
{
    return zip ? ibc_zip_crc32(k, p, zip) : ibc_legacy_crc32(k, p, ps);
}

int ibc_legacy_crypt_checksum_ok(const ibc_kernels *k, const uint8_t *p, uint32_t ps,
                                 uint32_t zip)
{
    uint32_t stored = be32(p + FIL_PAGE_CRYPT_CHECKSUM);
    if (be16(p + FIL_PAGE_TYPE) == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED)
        return 1; /* never verified for this type */
    if (stored == BUF_NO_CHECKSUM_MAGIC)
        return 1;
    if (zip)
        return stored == ibc_zip_crc32(k, p, zip) || stored == ibc_zip_adler32(p, zip);
    return stored == ibc_legacy_crc32(k, p, ps) || stored == ibc_legacy_fold_new(p, ps);
}

void ibc_legacy_write_checksum(const ibc_kernels *k, uint8_t *p, uint32_t ps, uint32_t zip)
{
    if (zip) {
        put_be32(p + FIL_PAGE_SPACE_OR_CHKSUM, ibc_zip_crc32(k, p, zip));
        return;
    }
    /* buf0flu.cc buf_flush_init_for_writing: trailer = LSN low, then crc32 in both fields */
    memcpy(p + ps - FIL_PAGE_DATA_END + 4, p + FIL_PAGE_LSN + 4, 4);
    uint32_t crc = ibc_legacy_crc32(k, p, ps);
    put_be32(p + FIL_PAGE_SPACE_OR_CHKSUM, crc);
    put_be32(p + ps - FIL_PAGE_DATA_END, crc);
}
