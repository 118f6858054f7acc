/*
 * decompress.c - inflate a PAGE_COMPRESSED page back to the original page.
 *
 * The compressed stream covers the entire original page (fil0pagecompress.cc
 * fil_page_decompress_low). Algorithm ids (fsp0pagecompress.h): 1 zlib, 2 lz4, 3 lzo, 4 lzma,
 * 5 bzip2, 6 snappy. Only zlib, the default and the one confirmed on real files, is built in;
 * the others are reported as unsupported (-2), never guessed. With libdeflate (optional) it
 * inflates; otherwise zlib.
 */
#include <string.h>
#include <zlib.h>
#ifdef IBC_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#include "page.h"

#define PAGE_ZLIB_ALGORITHM 1

int ibc_page_decompress(uint32_t algo, const uint8_t *in, size_t in_len, uint8_t *out,
                        uint32_t ps, size_t *consumed)
{
    if (algo != PAGE_ZLIB_ALGORITHM)
        return -2;
#ifdef IBC_HAVE_LIBDEFLATE
    /* the same checks as below (a whole zlib stream, Adler-32 included, giving exactly ps
     * bytes), twice as fast; a decompressor costs one small allocation */
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (d) {
        size_t used = 0, produced = 0;
        enum libdeflate_result r =
            libdeflate_zlib_decompress_ex(d, in, in_len, out, ps, &used, &produced);
        libdeflate_free_decompressor(d);
        if (consumed)
            *consumed = r == LIBDEFLATE_SUCCESS ? used : 0;
        return r == LIBDEFLATE_SUCCESS && produced == ps ? 0 : -1;
    }
#endif
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const-correct; it only reads */
    z.avail_in = (uInt)in_len;
    z.next_out = out;
    z.avail_out = ps;
    int r = inflate(&z, Z_FINISH);
    size_t produced = ps - z.avail_out;
    if (consumed)
        *consumed = in_len - z.avail_in;
    inflateEnd(&z);
    return r == Z_STREAM_END && produced == ps ? 0 : -1;
}
