/*
 * decompress.c - inflate a PAGE_COMPRESSED page back to the original page.
 *
 * The compressed stream covers the entire original page (fil0pagecompress.cc
 * fil_page_decompress_low). Algorithm ids: page.h IBC_COMP_*. Each decoder is the library the
 * server itself links for that algorithm (its provider plugin), called as
 * fil_page_decompress_low calls it, and each is optional at build time: an algorithm whose
 * library was not found is reported as unsupported (-2), never guessed. zlib is always there;
 * with libdeflate (optional) it inflates about twice as fast.
 */
#define _DEFAULT_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#ifdef IBC_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
#ifdef IBC_HAVE_LZ4
#include <lz4.h>
#endif
#ifdef IBC_HAVE_LZO
#include <lzo/lzo1x.h>
#endif
#ifdef IBC_HAVE_LZMA
#include <lzma.h>
#endif
#ifdef IBC_HAVE_BZIP2
#include <bzlib.h>
#endif
#ifdef IBC_HAVE_SNAPPY
#include <snappy-c.h>
#endif

#include "page.h"

/* liblzma keeps the decompressed bytes in a dictionary it allocates, bzip2 its block in arrays
 * it allocates, zlib its window when a stream does not end in one call: a decrypted page's
 * plaintext, which must not stay in freed memory. Their allocator hooks get no size on free,
 * so each block carries its size in front.
 *
 * Only the first WIPE_MAX bytes of a block are wiped: an xz stream of the server's
 * (lzma_easy_buffer_encode, innodb_compression_level 6) names an 8 MiB dictionary, which
 * liblzma allocates for every page and fills from its start, the decoded bytes from
 * LZ_DICT_INIT_POS (576) on, wrapping only past the dictionary's size (lz_decoder.h,
 * lz_decoder.c lz_decoder_reset); bzip2's arrays are indexed by the position in the block,
 * two bytes (ll16) and half a byte (ll4) a decoded byte, and its state is 64 KiB
 * (decompress.c). For a page of at most 64 KiB neither writes past 256 KiB; wiping all of the
 * dictionary would write 8 MiB a page. */
#define WIPE_MAX ((size_t)256 << 10)
typedef union wipe_head {
    size_t size;
    max_align_t align;
} wipe_head;

static _Atomic uint64_t wiped_bytes;

/* n * m bytes (calloc's arguments, no zeroing): the allocator hook of liblzma as it is; zlib's
 * and bzip2's take other integer types. opaque is unused. */
static void *wipe_alloc(void *opaque, size_t n, size_t m)
{
    (void)opaque;
    if (m && n > (SIZE_MAX - sizeof(wipe_head)) / m)
        return NULL;
    wipe_head *h = malloc(sizeof(wipe_head) + n * m);
    if (!h)
        return NULL;
    h->size = n * m;
    return h + 1;
}

/* The free hook of all three. */
static void wipe_free(void *opaque, void *p)
{
    (void)opaque;
    if (!p)
        return;
    wipe_head *h = (wipe_head *)p - 1;
    size_t n = h->size < WIPE_MAX ? h->size : WIPE_MAX;
    explicit_bzero(p, n);
    atomic_fetch_add_explicit(&wiped_bytes, n, memory_order_relaxed);
    free(h);
}

uint64_t ibc_decompress_wiped_bytes(void)
{
    return atomic_load_explicit(&wiped_bytes, memory_order_relaxed);
}

static voidpf z_wipe_alloc(voidpf opaque, uInt n, uInt m)
{
    return wipe_alloc(opaque, n, m);
}

#ifdef IBC_HAVE_LZMA
static const lzma_allocator lzma_wiping = {wipe_alloc, wipe_free, NULL};
#endif

#ifdef IBC_HAVE_BZIP2
static void *bz_wipe_alloc(void *opaque, int n, int m)
{
    return n < 0 || m < 0 ? NULL : wipe_alloc(opaque, (size_t)n, (size_t)m);
}
#endif

static int zlib_inflate(const uint8_t *in, size_t in_len, uint8_t *out, uint32_t ps,
                        size_t *consumed)
{
#ifdef IBC_HAVE_LIBDEFLATE
    /* the same checks as below (a whole zlib stream, Adler-32 included, giving exactly ps
     * bytes), twice as fast; a decompressor costs one small allocation */
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (d) {
        size_t used = 0, produced = 0;
        enum libdeflate_result r =
            libdeflate_zlib_decompress_ex(d, in, in_len, out, ps, &used, &produced);
        libdeflate_free_decompressor(d);
        *consumed = r == LIBDEFLATE_SUCCESS ? used : 0;
        return r == LIBDEFLATE_SUCCESS && produced == ps ? 0 : -1;
    }
#endif
    z_stream z;
    memset(&z, 0, sizeof(z));
    z.zalloc = z_wipe_alloc;
    z.zfree = wipe_free;
    if (inflateInit(&z) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const-correct; it only reads */
    z.avail_in = (uInt)in_len;
    z.next_out = out;
    z.avail_out = ps;
    int r = inflate(&z, Z_FINISH);
    size_t produced = ps - z.avail_out;
    *consumed = in_len - z.avail_in;
    inflateEnd(&z);
    return r == Z_STREAM_END && produced == ps ? 0 : -1;
}

#ifdef IBC_HAVE_LZO
static int lzo_ready;
static void lzo_setup(void)
{
    lzo_ready = lzo_init() == LZO_E_OK;
}
#endif

#ifdef IBC_HAVE_LZMA
/* The server decodes with no memory limit; a damaged header could then ask for gigabytes.
 * LZMA presets 0-9 (innodb_compression_level) use dictionaries of at most 64 MiB. */
#define LZMA_MEMLIMIT (96u << 20)
#endif

int ibc_page_decompress(uint32_t algo, const uint8_t *in, size_t in_len, uint8_t *out,
                        uint32_t ps, size_t *consumed)
{
    size_t used = in_len;
    int r = -2;
    switch (algo) {
    case IBC_COMP_ZLIB:
        r = zlib_inflate(in, in_len, out, ps, &used);
        break;
#ifdef IBC_HAVE_LZ4
    case IBC_COMP_LZ4: /* LZ4_decompress_safe over the exact stream, giving exactly ps bytes */
        r = in_len <= INT_MAX && LZ4_decompress_safe((const char *)in, (char *)out, (int)in_len,
                                                     (int)ps) == (int)ps
                ? 0
                : -1;
        break;
#endif
#ifdef IBC_HAVE_LZO
    case IBC_COMP_LZO: { /* lzo1x_decompress_safe over the exact stream */
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, lzo_setup);
        lzo_uint n = ps;
        r = lzo_ready && lzo1x_decompress_safe(in, in_len, out, &n, NULL) == LZO_E_OK && n == ps
                ? 0
                : -1;
        break;
    }
#endif
#ifdef IBC_HAVE_LZMA
    case IBC_COMP_LZMA: { /* one .xz stream (lzma_easy_buffer_encode), trailing bytes ignored */
        uint64_t limit = LZMA_MEMLIMIT;
        size_t in_pos = 0, out_pos = 0;
        r = lzma_stream_buffer_decode(&limit, 0, &lzma_wiping, in, &in_pos, in_len, out,
                                      &out_pos, ps) ==
                        LZMA_OK &&
                    out_pos == ps
                ? 0
                : -1;
        used = in_pos;
        break;
    }
#endif
#ifdef IBC_HAVE_BZIP2
    case IBC_COMP_BZIP2: {
        /* BZ2_bzBuffToBuffDecompress(small = 1) as the server calls it, through the stream API
         * to learn where the stream ends */
        bz_stream z;
        memset(&z, 0, sizeof(z));
        z.bzalloc = bz_wipe_alloc;
        z.bzfree = wipe_free;
        if (in_len > UINT_MAX || BZ2_bzDecompressInit(&z, 0, 1) != BZ_OK) {
            r = -1;
            break;
        }
        z.next_in = (char *)(uintptr_t)in; /* bzip2's API is not const-correct either */
        z.avail_in = (unsigned)in_len;
        z.next_out = (char *)out;
        z.avail_out = ps;
        int b = BZ2_bzDecompress(&z);
        r = b == BZ_STREAM_END && z.avail_out == 0 ? 0 : -1;
        used = in_len - z.avail_in;
        BZ2_bzDecompressEnd(&z);
        break;
    }
#endif
#ifdef IBC_HAVE_SNAPPY
    case IBC_COMP_SNAPPY: { /* snappy_uncompress over the exact stream */
        size_t n = ps;
        r = snappy_uncompress((const char *)in, in_len, (char *)out, &n) == SNAPPY_OK && n == ps
                ? 0
                : -1;
        break;
    }
#endif
    default:
        break;
    }
    if (consumed)
        *consumed = r == 0 ? used : 0;
    return r;
}

/* A stream header that any stream of the algorithm has; a wrong key decrypts the page to
 * random bytes, which fail it. */
int ibc_page_stream_header(uint32_t algo, const uint8_t *z, size_t len, uint32_t ps)
{
    switch (algo) {
    case IBC_COMP_ZLIB: /* RFC 1950: CM = 8, the header a multiple of 31 (1 in 500 by chance) */
        return len >= 2 && (z[0] & 0x0f) == 8 && ((uint32_t)z[0] << 8 | z[1]) % 31 == 0;
    case IBC_COMP_LZMA: { /* the .xz stream header magic */
        static const uint8_t xz_magic[6] = {0xFD, '7', 'z', 'X', 'Z', 0x00};
        return len >= sizeof(xz_magic) && !memcmp(z, xz_magic, sizeof(xz_magic));
    }
    case IBC_COMP_BZIP2: /* "BZh" and the block size digit */
        return len >= 4 && !memcmp(z, "BZh", 3) && z[3] >= '1' && z[3] <= '9';
    case IBC_COMP_SNAPPY: { /* the uncompressed length as a varint first: ps */
        uint32_t v = 0;
        for (size_t i = 0; i < len && i < 5; i++) {
            v |= (uint32_t)(z[i] & 0x7f) << (7 * i);
            if (!(z[i] & 0x80))
                return v == ps;
        }
        return 0;
    }
    default: /* LZ4 and LZO blocks have no header */
        return -1;
    }
}
