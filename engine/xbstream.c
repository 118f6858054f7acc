/*
 * xbstream.c - the xbstream chunk format (extra/mariabackup/xbstream.h, xbstream_write.cc
 * xb_stream_write_data / xb_stream_write_eof, xbstream_read.cc xb_stream_read_chunk):
 *
 *   payload chunk: "XBSTCK01" | flags (1) | 'P' | path_len (LE32) | path | length (LE64) |
 *                  offset (LE64) | checksum (LE32, zlib CRC-32 of the payload) | payload
 *   end of file:   "XBSTCK01" | flags (1) | 'E' | path_len (LE32) | path
 *
 * All integers little-endian (int4store/int8store). mbstream requires the chunks of a file in
 * offset order; files may interleave.
 *
 * The checksum is the CRC-32 of gzip (zlib's crc32()), which the kernel layer has as crc32z:
 * a writer that has its chunks' CRCs already (computed by parallel workers) passes them in;
 * otherwise the best kernel of this CPU computes them here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "ibdcrypt/xbstream.h"
#include "simd.h"

#define MAGIC "XBSTCK01"
#define MAGIC_LEN 8

static void le64(uint8_t *p, uint64_t v)
{
    put_le64(p, v);
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* writev that finishes or fails */
static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n > 1024 ? 1024 : n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0 && w > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static size_t header(uint8_t *h, char type, const char *path, size_t plen)
{
    memcpy(h, MAGIC, MAGIC_LEN);
    h[8] = 0; /* flags: neither ignorable nor a rewrite */
    h[9] = (uint8_t)type;
    put_le32(h + 10, (uint32_t)plen);
    memcpy(h + 14, path, plen);
    return 14 + plen;
}

/* zlib's crc32() on the best kernel this CPU has (the detection is cached: a few branches). */
static uint32_t crc32z_best(uint32_t crc, const void *buf, size_t len)
{
    return ibc_tier_kernels(ibc_tier_best(ibc_cpu_features()))->crc32z(crc, buf, len);
}

int ibc_xbs_write_payload_crc(int fd, const char *path, uint64_t offset, const struct iovec *iov,
                              int n, uint32_t crc)
{
    size_t plen = strlen(path);
    if (plen > IBC_XBS_MAX_PATH || n < 0 || n > 4096)
        return -EINVAL;
    uint8_t h[14 + IBC_XBS_MAX_PATH + 20];
    size_t hl = header(h, 'P', path, plen);
    uint64_t len = 0;
    for (int i = 0; i < n; i++)
        len += iov[i].iov_len;
    le64(h + hl, len);
    le64(h + hl + 8, offset);
    put_le32(h + hl + 16, crc);
    struct iovec v[4097];
    v[0] = (struct iovec){h, hl + 20};
    if (n) /* (an empty payload may come with no iov at all) */
        memcpy(v + 1, iov, (size_t)n * sizeof(*iov));
    return write_all(fd, v, n + 1);
}

int ibc_xbs_write_payload(int fd, const char *path, uint64_t offset, const struct iovec *iov,
                          int n)
{
    uint32_t crc = 0;
    for (int i = 0; i < n && n <= 4096; i++)
        crc = crc32z_best(crc, iov[i].iov_base, iov[i].iov_len);
    return ibc_xbs_write_payload_crc(fd, path, offset, iov, n, crc);
}

int ibc_xbs_write_eof(int fd, const char *path)
{
    size_t plen = strlen(path);
    if (plen > IBC_XBS_MAX_PATH)
        return -EINVAL;
    uint8_t h[14 + IBC_XBS_MAX_PATH];
    struct iovec v = {h, header(h, 'E', path, plen)};
    return write_all(fd, &v, 1);
}

long long ibc_xbs_parse(const uint8_t *buf, size_t len, ibc_xbs_chunk *c)
{
    if (len < 14) /* more bytes needed, unless those there already differ from the magic */
        return memcmp(buf, MAGIC, len < MAGIC_LEN ? len : MAGIC_LEN) ? -1 : 0;
    if (memcmp(buf, MAGIC, MAGIC_LEN))
        return -1;
    c->flags = buf[8];
    c->type = (char)buf[9];
    uint32_t plen = get_le32(buf + 10);
    if (plen > IBC_XBS_MAX_PATH || (c->type != 'P' && c->type != 'E'))
        return -1;
    if (len < 14 + (size_t)plen)
        return 0;
    memcpy(c->path, buf + 14, plen);
    c->path[plen] = 0;
    c->length = c->offset = 0;
    c->data = NULL;
    if (c->type == 'E')
        return 14 + plen;
    size_t at = 14 + plen;
    if (len < at + 20)
        return 0;
    c->length = get_le64(buf + at);
    c->offset = get_le64(buf + at + 8);
    uint32_t sum = get_le32(buf + at + 16);
    if (c->length > (1ull << 40))
        return -1;
    if (len - (at + 20) < c->length)
        return 0;
    c->data = buf + at + 20;
    if (crc32z_best(0, c->data, (size_t)c->length) != sum)
        return -1;
    return (long long)(at + 20 + c->length);
}
