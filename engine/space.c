/*
 * space.c - a tablespace: page 0 parsing, page keys, re-keyed twins, page 0 rewriting.
 *
 * Key facts (formats/mariadb.md §4.1, sql/encryption.cc scheme_get_key / do_crypt): the page
 * key L is AES-ECB(file key, crypt data IV), one block, with the AES size chosen by the file
 * key length; all page encryption is AES-128 under L. Because AES is a permutation, a new file
 * key K' can wrap the same L by storing IV' = AES-ECB-Decrypt(K', L) (the "rewrap").
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>

#include "checksum.h"
#include "format.h"
#include "page.h"
#include "space.h"

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t n, const char *fmt, ...)
{
    if (!err || !n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

ibc_status ibc_page0_size(const uint8_t *prefix, size_t len, uint32_t *page_size, char *err,
                          size_t errlen)
{
    ibc_geom g;
    const char *why = "";
    if (len < IBC_PAGE0_PREFIX) {
        set_err(err, errlen, "file too short for an InnoDB page 0 (%zu bytes)", len);
        return IBC_ERR_FORMAT;
    }
    uint32_t flags = be32(prefix + FSP_HEADER_OFFSET + FSP_SPACE_FLAGS);
    if (ibc_geom_from_flags(flags, &g, &why) != 0) {
        char mysql[80];
        int m = ibc_mysql_flags(flags, mysql, sizeof(mysql));
        if (m)
            set_err(err, errlen, "a MySQL 5.7/8.0 or Percona Server tablespace (FSP flags 0x%x: "
                                 "%s)%s", flags, mysql,
                    m == 2 ? ", or a MariaDB 10.1.0-10.1.20 one whose flags no later server "
                             "corrected: ibdcrypt reads neither"
                           : ": ibdcrypt reads MariaDB's formats only");
        else
            set_err(err, errlen, "not an InnoDB tablespace: FSP flags 0x%x: %s", flags, why);
        return IBC_ERR_FORMAT;
    }
    *page_size = g.physical;
    return IBC_OK;
}

void ibc_space_wipe_key(ibc_space *s)
{
    explicit_bzero(s->page_key, sizeof(s->page_key));
    ibc_aes_key_wipe(&s->key);
    s->have_key = 0;
}

static int page0_checksum_ok(const ibc_space *s, const uint8_t *p)
{
    uint32_t ps = s->g.physical;
    if (s->g.full_crc32)
        return s->k->crc32c(0, p, ps - 4) == be32(p + ps - 4) &&
               !memcmp(p + FIL_PAGE_LSN + 4, p + ps - FIL_PAGE_FCRC32_END_LSN, 4);
    return !ibc_legacy_is_corrupted(s->k, p, ps, s->g.zip);
}

ibc_status ibc_space_open(const ibc_engine *e, const uint8_t *page0, size_t len,
                          ibc_space **out, char *err, size_t errlen)
{
    *out = NULL;
    uint32_t ps;
    ibc_status st = ibc_page0_size(page0, len, &ps, err, errlen);
    if (st != IBC_OK)
        return st;
    if (len < ps) {
        set_err(err, errlen, "page 0 is %zu bytes, the flags say %u", len, ps);
        return IBC_ERR_FORMAT;
    }
    ibc_space *s = calloc(1, sizeof(*s));
    if (!s)
        return IBC_ERR_NOMEM;
    s->e = e;
    s->k = e->k;
    s->flags = be32(page0 + FSP_HEADER_OFFSET + FSP_SPACE_FLAGS);
    const char *why;
    ibc_geom_from_flags(s->flags, &s->g, &why);
    s->space_id = be32(page0 + FSP_HEADER_OFFSET + FSP_SPACE_ID);
    s->size_in_header = be32(page0 + FSP_HEADER_OFFSET + FSP_SIZE);
    s->key_version = 1; /* file_key_management has only version 1 (format sheet §7.3) */
    if (be32(page0 + FIL_PAGE_SPACE_ID) != s->space_id || be32(page0 + FIL_PAGE_OFFSET) != 0) {
        set_err(err, errlen, "page 0 header disagrees with its FSP header (space id %u vs %u)",
                be32(page0 + FIL_PAGE_SPACE_ID), s->space_id);
        free(s);
        return IBC_ERR_FORMAT;
    }
    if (!page0_checksum_ok(s, page0)) {
        set_err(err, errlen, "page 0 checksum mismatch");
        free(s);
        return IBC_ERR_CORRUPT;
    }
    ibc_crypt_data_read(page0, &s->g, &s->cd, &why);
    /* space 0: doublewrite buffer default location, two blocks of one extent from page
     * FSP_EXTENT_SIZE (buf0dblwr.cc; format sheet §9.3) */
    if (s->space_id == 0) {
        s->dblwr[0][0] = s->g.extent_pages;
        s->dblwr[0][1] = s->g.extent_pages;
        s->dblwr[1][0] = 2 * s->g.extent_pages;
        s->dblwr[1][1] = s->g.extent_pages;
    }
    *out = s;
    return IBC_OK;
}

void ibc_space_free(ibc_space *s)
{
    if (!s)
        return;
    ibc_space_wipe_key(s);
    free(s);
}

void ibc_space_get_info(const ibc_space *s, ibc_space_info *info)
{
    memset(info, 0, sizeof(*info));
    info->space_id = s->space_id;
    info->flags = s->flags;
    info->size_in_header = s->size_in_header;
    info->format = s->g.full_crc32 ? IBC_FORMAT_FULL_CRC32 : IBC_FORMAT_LEGACY;
    info->page_size = s->g.physical;
    info->logical_page_size = s->g.logical;
    info->row_compressed = s->g.zip != 0;
    info->page_compressed = s->g.page_compressed;
    info->compression_algorithm = (int)s->g.comp_algo;
    info->has_crypt_data = s->cd.present;
    info->crypt_scheme = s->cd.type;
    info->key_id = s->cd.key_id;
    info->min_key_version = s->cd.min_key_version;
    info->encryption_mode = s->cd.encryption;
    memcpy(info->crypt_iv, s->cd.iv, 16);
    info->key_attached = s->have_key;
    info->algorithm = s->algo;
    memcpy(info->doublewrite, s->dblwr, sizeof(info->doublewrite));
    info->crypt_offset = s->g.crypt_offset;
}

ibc_status ibc_space_read_trx_sys(ibc_space *s, const uint8_t *page5, size_t len)
{
    /* trx0sys.h: TRX_SYS_DOUBLEWRITE at page size - 200: FSEG header, magic, block1, block2 */
    uint32_t ps = s->g.physical;
    if (s->space_id != 0 || len < ps)
        return IBC_ERR_INVALID_ARG;
    const uint8_t *d = page5 + ps - TRX_SYS_DOUBLEWRITE_FROM_END;
    if (be32(d + TRX_SYS_DOUBLEWRITE_MAGIC) != TRX_SYS_DOUBLEWRITE_MAGIC_N)
        return IBC_ERR_FORMAT;
    uint32_t b1 = be32(d + TRX_SYS_DOUBLEWRITE_BLOCK1), b2 = be32(d + TRX_SYS_DOUBLEWRITE_BLOCK2);
    if (!b1 || !b2)
        return IBC_ERR_FORMAT;
    s->dblwr[0][0] = b1;
    s->dblwr[0][1] = s->g.extent_pages;
    s->dblwr[1][0] = b2;
    s->dblwr[1][1] = s->g.extent_pages;
    return IBC_OK;
}

/* L = AES-ECB(K, iv) for file key (id, version); expands L into s->key. */
static ibc_status derive_page_key(ibc_space *s, const ibc_keyring *kr, const uint8_t iv[16])
{
    uint8_t fk[IBC_KEY_MAX];
    size_t fklen = 0;
    ibc_status st = ibc_keyring_get(kr, s->cd.key_id, s->key_version, fk, &fklen);
    if (st != IBC_OK)
        return st;
    ibc_aes_key k;
    s->k->aes_expand(&k, fk, fklen);
    s->k->aes_ecb_enc(&k, iv, s->page_key, 1);
    s->k->aes_expand(&s->key, s->page_key, 16);
    ibc_aes_key_wipe(&k);
    explicit_bzero(fk, sizeof(fk));
    s->have_key = 1;
    return IBC_OK;
}

ibc_status ibc_space_set_key(ibc_space *s, const ibc_keyring *kr, ibc_algo algo)
{
    if (!s || !kr)
        return IBC_ERR_INVALID_ARG;
    s->algo = algo;
    if (!s->cd.present)
        return IBC_OK;
    ibc_space_wipe_key(s);
    return derive_page_key(s, kr, s->cd.iv);
}

ibc_status ibc_space_check_key(ibc_space *s, const uint8_t *page, uint32_t page_no)
{
    if (!s->cd.present || !ibc_page_is_encrypted(s, page, page_no))
        return IBC_ERR_INVALID_ARG;
    if (!s->have_key)
        return IBC_ERR_KEY_MISSING;
    ibc_scratch *sc = ibc_scratch_new();
    if (!sc)
        return IBC_ERR_NOMEM;
    static const ibc_algo candidates[2] = {IBC_ALGO_CBC, IBC_ALGO_CTR};
    ibc_algo given = s->algo;
    ibc_status result = IBC_ERR_KEY_MISMATCH;
    for (int i = 0; i < 2; i++) {
        if (given != IBC_ALGO_AUTO && candidates[i] != given)
            continue;
        s->algo = candidates[i];
        ibc_page pg = {.src = page, .page_no = page_no};
        ibc_page_process(s, NULL, IBC_OP_VERIFY_DEEP, &pg, sc);
        if (pg.status == IBC_PAGE_OK) {
            result = IBC_OK;
            break;
        }
        if (pg.status == IBC_PAGE_BAD_OUTER || pg.status == IBC_PAGE_BAD_HEADER) {
            result = IBC_ERR_CORRUPT;
            break;
        }
    }
    s->algo = result == IBC_OK ? s->algo : given;
    ibc_scratch_free(sc);
    return result;
}

ibc_status ibc_space_derive(const ibc_space *s, const ibc_keyring *kr, ibc_rekey_mode mode,
                            ibc_algo algo, const uint8_t *iv, ibc_space **out)
{
    *out = NULL;
    if (!s->cd.present || !s->have_key || !kr)
        return IBC_ERR_INVALID_ARG;
    ibc_space *t = malloc(sizeof(*t));
    if (!t)
        return IBC_ERR_NOMEM;
    memcpy(t, s, sizeof(*t));
    t->algo = algo == IBC_ALGO_AUTO ? s->algo : algo;
    ibc_status st;
    if (mode == IBC_REKEY_REWRAP) {
        /* IV' = AES-ECB-Decrypt(K', L): then AES-ECB(K', IV') = L again */
        uint8_t fk[IBC_KEY_MAX];
        size_t fklen = 0;
        st = ibc_keyring_get(kr, s->cd.key_id, s->key_version, fk, &fklen);
        if (st == IBC_OK) {
            ibc_aes_key k;
            t->k->aes_expand(&k, fk, fklen);
            t->k->aes_ecb_dec(&k, s->page_key, t->cd.iv, 1);
            ibc_aes_key_wipe(&k);
            st = derive_page_key(t, kr, t->cd.iv);
        }
        explicit_bzero(fk, sizeof(fk));
    } else {
        st = IBC_OK;
        if (iv)
            memcpy(t->cd.iv, iv, 16);
        else if (getrandom(t->cd.iv, 16, 0) != 16)
            st = IBC_ERR_IO;
        if (st == IBC_OK)
            st = derive_page_key(t, kr, t->cd.iv);
    }
    if (st != IBC_OK) {
        ibc_space_free(t);
        return st;
    }
    *out = t;
    return IBC_OK;
}

ibc_status ibc_space_write_page0(const ibc_space *s, uint8_t *page0)
{
    uint32_t ps = s->g.physical;
    if (!s->cd.present)
        return IBC_ERR_INVALID_ARG;
    ibc_crypt_data_write(page0, &s->g, &s->cd);
    if (s->g.full_crc32)
        put_be32(page0 + ps - 4, s->k->crc32c(0, page0, ps - 4));
    else
        ibc_legacy_write_checksum(s->k, page0, ps, s->g.zip);
    return IBC_OK;
}
