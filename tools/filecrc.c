/*
 * filecrc.c - whole-file CRC-32C from the pool's items (filecrc.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filecrc.h"

int fc_tables_init(fc_tables *t, const ibc_engine *e)
{
    uint8_t *zero = calloc(1, (size_t)1 << FC_MAX_UNIT_LOG);
    if (!zero)
        return -1;
    memset(t, 0, sizeof(*t));
    for (int l = FC_MIN_UNIT_LOG; l <= FC_MAX_UNIT_LOG; l++) {
        size_t u = (size_t)1 << l;
        t->unit[l].zero_c = ibc_crc32c(e, 0, zero, u);
        t->unit[l].zero_z = ibc_crc32z(e, 0, zero, u);
        t->unit[l].join_c = ibc_crc32c_join_factor(u);
        t->unit[l].join_z = ibc_crc32z_join_factor(u);
    }
    free(zero);
    return 0;
}

void fc_file_init(fc_file *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
}

void fc_file_free(fc_file *f)
{
    free(f->piece);
    f->piece = NULL;
    f->n = f->cap = 0;
    pthread_mutex_destroy(&f->lock);
}

void fc_note(fc_file *f, uint64_t off, uint64_t len, uint32_t crc)
{
    pthread_mutex_lock(&f->lock);
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 64;
        uint64_t *v = realloc(f->piece, cap * 3 * sizeof(uint64_t));
        if (v) {
            f->piece = v;
            f->cap = cap;
        }
    }
    if (f->n < f->cap) {
        f->piece[3 * f->n] = off;
        f->piece[3 * f->n + 1] = len;
        f->piece[3 * f->n + 2] = crc;
        f->n++;
    }
    pthread_mutex_unlock(&f->lock);
}

static int cmp_off(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void sort_pieces(fc_file *f)
{
    if (f->n) /* qsort's base must not be NULL, even for nothing */
        qsort(f->piece, f->n, 3 * sizeof(uint64_t), cmp_off);
}

int fc_file_complete(fc_file *f, uint64_t size)
{
    sort_pieces(f);
    uint64_t at = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->piece[3 * i] != at)
            return 0;
        at += f->piece[3 * i + 1];
    }
    return at == size;
}

uint32_t fc_file_crc(fc_file *f)
{
    sort_pieces(f);
    uint32_t c = 0;
    for (size_t i = 0; i < f->n; i++)
        c = ibc_crc32c_join(c, (uint32_t)f->piece[3 * i + 2], f->piece[3 * i + 1]);
    return c;
}

int fc_item_iov(const ds_file *d, const ibc_pool_item *it, uint8_t *buf, struct iovec *iov, int max)
{
    int n = 0;
    if (it->stride == d->unit || !it->nunits) {
        iov[n++] = (struct iovec){buf, it->len};
        return n;
    }
    for (size_t u = 0; u < it->nunits && n < max; u++)
        iov[n++] = (struct iovec){buf + u * it->stride, d->unit};
    size_t tail = it->len - it->nunits * d->unit;
    if (tail && n < max)
        iov[n++] = (struct iovec){buf + it->nunits * it->stride, tail};
    return n;
}

/* Both passes over every byte cost 11 % of a deep backup (perf, Zen 5), and nearly every page
 * of a full_crc32 datadir is a zero page or one whose stored CRC-32C was checked. */
void fc_item_crcs(const fc_tables *t, const ibc_engine *e, const ds_file *d,
                  const ibc_pool_item *it, const uint8_t *buf, const uint8_t *sums, uint32_t *crc_c,
                  uint32_t *crc_z)
{
    int l = FC_MIN_UNIT_LOG;
    while (l < FC_MAX_UNIT_LOG && ((size_t)1 << l) != d->unit)
        l++;
    if (((size_t)1 << l) != d->unit || !it->nunits)
        sums = NULL;
    uint32_t c = 0, z = 0;
    size_t unit = d->unit, nunits = sums ? it->nunits : 0, at = 0;
    for (size_t u = 0; u < nunits; u++, at += it->stride) {
        const uint8_t *p = buf + at;
        if (sums[u] == DS_SUM_ZERO) {
            c = ibc_crc32c_join_by(c, t->unit[l].zero_c, t->unit[l].join_c);
            if (crc_z)
                z = ibc_crc32z_join_by(z, t->unit[l].zero_z, t->unit[l].join_z);
            continue;
        }
        if (sums[u] == DS_SUM_CRC_STORED) {
            uint32_t stored = (uint32_t)p[unit - 4] << 24 | (uint32_t)p[unit - 3] << 16 |
                              (uint32_t)p[unit - 2] << 8 | p[unit - 1];
            c = ibc_crc32c_join_by(c, ibc_crc32c(e, stored, p + unit - 4, 4), t->unit[l].join_c);
        } else {
            c = ibc_crc32c(e, c, p, unit);
        }
        if (crc_z)
            z = ibc_crc32z(e, z, p, unit);
    }
    if (sums) {
        /* the bytes after the last whole page */
        size_t tail = it->len - it->nunits * unit;
        c = ibc_crc32c(e, c, buf + at, tail);
        if (crc_z)
            z = ibc_crc32z(e, z, buf + at, tail);
    } else {
        struct iovec iov[1100];
        int n = fc_item_iov(d, it, (uint8_t *)(uintptr_t)buf, iov, 1100);
        for (int i = 0; i < n; i++) {
            c = ibc_crc32c(e, c, iov[i].iov_base, iov[i].iov_len);
            if (crc_z)
                z = ibc_crc32z(e, z, iov[i].iov_base, iov[i].iov_len);
        }
    }
    *crc_c = c;
    if (crc_z)
        *crc_z = z;
}

int fc_read_crc(const ibc_engine *e, int fd, uint64_t *size, uint32_t *crc)
{
    const size_t chunk = (size_t)1 << 20;
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return -1;
    uint64_t at = 0;
    uint32_t c = 0;
    for (;;) {
        ssize_t n = pread(fd, buf, chunk, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            free(buf);
            errno = err;
            return -1;
        }
        if (n == 0)
            break;
        c = ibc_crc32c(e, c, buf, (size_t)n);
        at += (uint64_t)n;
    }
    free(buf);
    *size = at;
    *crc = c;
    return 0;
}
