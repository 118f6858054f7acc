/*
 * fsp.c - page 0: FSP flags (both layouts), page geometry, the crypt data blob.
 *
 * The one idea: everything about a tablespace's format is decided by the 32-bit
 * FSP_SPACE_FLAGS at byte 54 of its page 0. A file is full_crc32 iff bit 4 is set (legacy
 * ZIP_SSIZE never reaches it); the crypt data sits at a fixed offset after the XDES array whose
 * size depends on the page size.
 */
#include <stdio.h>

#include "format.h"
#include "space.h"

/* FSP_EXTENT_SIZE: 1 MiB worth of pages up to 16K pages, else 64 pages (fsp0types.h). */
static uint32_t extent_pages(uint32_t logical)
{
    return logical <= 16384 ? (1048576u / logical) : 64u;
}

/* XDES_SIZE = XDES_BITMAP (24) + UT_BITS_IN_BYTES(FSP_EXTENT_SIZE * XDES_BITS_PER_PAGE (2))
 * (fsp0fsp.h). */
static uint32_t xdes_size(uint32_t extent)
{
    return 24 + (2 * extent + 7) / 8;
}

int ibc_geom_from_flags(uint32_t flags, ibc_geom *g, const char **why)
{
    memset(g, 0, sizeof(*g));
    if (flags & FSP_FLAGS_FCRC32_MASK_MARKER) {
        /* fil0fil.h fil_space_t::is_fcrc32_valid_flags, logical_size */
        uint32_t ssize = FSP_FLAGS_FCRC32_PAGE_SSIZE(flags);
        if (ssize < 3 || ssize > 7) {
            *why = "full_crc32 flags with an invalid page size";
            return -1;
        }
        if ((flags >> 5) > 6) {
            *why = "full_crc32 flags with unknown bits or compression algorithm";
            return -1;
        }
        g->full_crc32 = 1;
        g->logical = g->physical = 512u << ssize;
        g->comp_algo = FSP_FLAGS_FCRC32_COMPRESSED_ALGO(flags);
        g->page_compressed = g->comp_algo != 0;
    } else {
        /* fil0fil.h fil_space_t::is_valid_flags (legacy layout) */
        uint32_t ssize = FSP_FLAGS_PAGE_SSIZE(flags), zssize = FSP_FLAGS_ZIP_SSIZE(flags);
        if (flags & ~FSP_FLAGS_MASK) {
            *why = "legacy flags with unknown bits set (MariaDB 10.1.0-10.1.20 layout?)";
            return -1;
        }
        if (ssize == 1 || ssize == 2 || ssize == 5 || ssize > 7) {
            *why = "legacy flags with an invalid page size";
            return -1;
        }
        if (FSP_FLAGS_RESERVED(flags) & ~1u) {
            *why = "legacy flags with reserved bits set";
            return -1;
        }
        if (FSP_FLAGS_ATOMIC_BLOBS(flags) && !FSP_FLAGS_POST_ANTELOPE(flags)) {
            *why = "legacy flags: ATOMIC_BLOBS without POST_ANTELOPE";
            return -1;
        }
        if (zssize > (ssize ? ssize : 5u) ||
            (zssize && !(FSP_FLAGS_POST_ANTELOPE(flags) && FSP_FLAGS_ATOMIC_BLOBS(flags)))) {
            *why = "legacy flags with an invalid ROW_FORMAT=COMPRESSED page size";
            return -1;
        }
        g->logical = ssize ? 512u << ssize : 16384u;
        g->zip = zssize ? 512u << zssize : 0;
        g->physical = g->zip ? g->zip : g->logical;
        g->page_compressed = (int)FSP_FLAGS_HAS_PAGE_COMPRESSION(flags);
    }
    g->extent_pages = extent_pages(g->logical);
    /* fsp0fsp.h fsp_header_get_encryption_offset: FSP_HEADER_OFFSET is added to
     * XDES_ARR_OFFSET, which already includes it (format sheet 3.1). */
    g->crypt_offset = FSP_HEADER_OFFSET + XDES_ARR_OFFSET +
                      xdes_size(g->extent_pages) * (g->physical / g->extent_pages);
    return 0;
}

/* Flags MariaDB 10.1.0-10.1.20 could have written (fsp0fsp.h fsp_flags_convert_from_101, its
 * checks): compression in bits 6-10 (the flag, and a level 1-9 with it), ATOMIC_WRITES in bits
 * 11-12 (not both), PAGE_SSIZE in bits 13-16 (0, 3, 4, 6 or 7), nothing above bit 17. */
static int mariadb101_flags(uint32_t flags)
{
    uint32_t level = (flags >> 7) & 15u, ssize = (flags >> 13) & 15u;
    uint32_t zssize = FSP_FLAGS_ZIP_SSIZE(flags);
    if (flags >> 18 || (FSP_FLAGS_ATOMIC_BLOBS(flags) && !FSP_FLAGS_POST_ANTELOPE(flags)))
        return 0;
    if (((flags >> 6) & 1u) != (level != 0) || level > 9 || ((flags >> 11) & 3u) == 3u)
        return 0;
    if (ssize == 1 || ssize == 2 || ssize == 5 || ssize & 8)
        return 0;
    return !zssize || (zssize <= (ssize ? ssize : 5u) && FSP_FLAGS_POST_ANTELOPE(flags) &&
                       FSP_FLAGS_ATOMIC_BLOBS(flags));
}

int ibc_mysql_flags(uint32_t flags, char *names, size_t n)
{
    /* MySQL's fsp0types.h FSP_FLAGS_POS_SHARED (11), _TEMPORARY (12), _ENCRYPTION (13) and _SDI
     * (14) (format sheet mysql.md 3.1) fall in MariaDB's reserved bits 10-15 of the legacy
     * layout; MySQL sets nothing above bit 14. The same bits could be MariaDB 10.1.0-10.1.20's
     * (ATOMIC_WRITES and a misplaced PAGE_SSIZE): then both are named. */
    static const char *const bit[4] = {"SHARED", "TEMPORARY", "ENCRYPTION", "SDI"};
    if ((flags & FSP_FLAGS_FCRC32_MASK_MARKER) || (flags >> 15) || !((flags >> 11) & 15u))
        return 0;
    size_t k = 0;
    names[0] = 0;
    for (int i = 0; i < 4 && k < n; i++)
        if (flags >> (11 + i) & 1u)
            k += (size_t)snprintf(names + k, n - k, "%s%s", k ? ", " : "", bit[i]);
    return mariadb101_flags(flags) ? 2 : 1;
}

void ibc_crypt_data_read(const uint8_t *page0, const ibc_geom *g, ibc_crypt_data *cd,
                         const char **warning)
{
    /* fil0crypt.cc fil_space_read_crypt_data */
    const uint8_t *b = page0 + g->crypt_offset;
    memset(cd, 0, sizeof(*cd));
    *warning = NULL;
    if (memcmp(b, CRYPT_MAGIC, CRYPT_MAGIC_SIZE) != 0)
        return;
    uint8_t type = b[CRYPT_OFF_TYPE], ivlen = b[CRYPT_OFF_IV_LEN];
    if ((type != CRYPT_SCHEME_UNENCRYPTED && type != CRYPT_SCHEME_1) ||
        ivlen != CRYPT_SCHEME_1_IV_LEN) {
        /* the server logs an error and treats the space as having no crypt data */
        *warning = "crypt data with an unknown scheme or IV length: ignored, as the server does";
        return;
    }
    cd->present = 1;
    cd->type = type;
    memcpy(cd->iv, b + CRYPT_OFF_IV, 16);
    cd->min_key_version = be32(b + CRYPT_OFF_MIN_KEY_VERSION);
    cd->key_id = be32(b + CRYPT_OFF_KEY_ID);
    cd->encryption = b[CRYPT_OFF_ENCRYPTION];
}

void ibc_crypt_data_write(uint8_t *page0, const ibc_geom *g, const ibc_crypt_data *cd)
{
    /* fil0crypt.cc fil_space_crypt_t::write_page0: magic, type, IV length, IV, min key
     * version, key id, encryption mode (33 bytes). */
    uint8_t *b = page0 + g->crypt_offset;
    memcpy(b, CRYPT_MAGIC, CRYPT_MAGIC_SIZE);
    b[CRYPT_OFF_TYPE] = cd->type;
    b[CRYPT_OFF_IV_LEN] = CRYPT_SCHEME_1_IV_LEN;
    memcpy(b + CRYPT_OFF_IV, cd->iv, 16);
    put_be32(b + CRYPT_OFF_MIN_KEY_VERSION, cd->min_key_version);
    put_be32(b + CRYPT_OFF_KEY_ID, cd->key_id);
    b[CRYPT_OFF_ENCRYPTION] = cd->encryption;
}
