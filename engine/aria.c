/*
 * aria.c - Aria tables encrypted with aria_encrypt_tables=ON (storage/maria), as far as
 * re-keying needs them (see ibdcrypt.h, "Aria tables").
 *
 * The scheme is InnoDB's (sql/encryption.cc do_crypt, through ma_crypt.c ma_encrypt): page key
 * L = AES-ECB(key 1, IV) with the IV in the index file's header, per-page IV LE32(space) |
 * LE32(page number) | LE64(LSN), MariaDB's no-padding cipher over the encrypted part. A
 * re-wrap stores IV' = AES-ECB-Decrypt(new key 1, L), as for an InnoDB page 0; the pages keep
 * L. Whether a key opens a table is told by an index page: decrypted, its CRC must match
 * (ma_crypt.c ma_crypt_index_post_read_hook, ma_pagecrc.c maria_page_crc_check_index).
 * Confirmed on 10.11.19: every encrypted index page of a fresh server's mysql.* tables and of
 * tables of both kinds (transactional or not) passes this check with the server's key 1, and
 * a server holding only a new key 1 reads every table after the re-wrap.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "checksum.h"
#include "engine_internal.h"
#include "format.h"

int ibc_aria_parse(const uint8_t *head, size_t len, ibc_aria *a)
{
    memset(a, 0, sizeof(*a));
    /* the state header (maria_def.h MARIA_STATE_INFO.header): file_version[4] = fe fe 09 ..
     * (ma_static.c maria_file_magic), options[2], header_length[2], state_info_length[2],
     * base_info_length[2], base_pos[2], high byte first */
    if (len < 14 || head[0] != 0xfe || head[1] != 0xfe || head[2] != 0x09)
        return 0;
    a->header_length = be16(head + 6);
    uint32_t base = be16(head + 12);
    /* the base info (ma_open.c _ma_base_info_read): uuid 16, keystart 8 (high byte first), four
     * more 8-byte and six 4-byte fields, fields, fixed_not_null_fields,
     * fixed_not_null_fields_length, max_field_lengths, pack_fields (2 each), extra_options
     * (90), null_bytes, original_null_bytes, field_offsets, language, block_size (100),
     * rec_reflength, key_reflength, keys, auto_key, born_transactional (106) */
    if (base + 107 > a->header_length || a->header_length > len)
        return a->header_length > len && base + 107 <= a->header_length ? -1 : 0;
    if (!(be16(head + base + 90) & 1)) /* MA_EXTRA_OPTIONS_ENCRYPTED (ma_backup.c) */
        return 0;
    for (int i = 0; i < 8; i++)
        a->keystart = a->keystart << 8 | head[base + 16 + i];
    a->block_size = be16(head + base + 100);
    a->transactional = head[base + 106] != 0;
    /* the crypt data (ma_crypt.c ma_crypt_write: CRYPT_SCHEME_1, 20, space LE32, IV) ends the
     * header (confirmed on 10.11.19) */
    if (a->header_length < 22 || a->block_size < 512 || a->block_size > 65536)
        return 0;
    a->crypt_off = a->header_length - 22;
    const uint8_t *c = head + a->crypt_off;
    if (c[0] != 1 || c[1] != 20)
        return 0;
    a->space = le32(c + 2);
    memcpy(a->iv, c + 6, 16);
    return 1;
}

/* L = AES-ECB(key 1 version v of kr, iv), expanded into *pk. */
static ibc_status page_key(const ibc_kernels *k, const ibc_keyring *kr, uint32_t v,
                           const uint8_t iv[16], ibc_aes_key *pk)
{
    uint8_t fk[IBC_KEY_MAX], l[16];
    size_t fklen = 0;
    ibc_status st = ibc_keyring_get(kr, 1, v, fk, &fklen);
    if (st == IBC_OK) {
        ibc_aes_key key;
        k->aes_expand(&key, fk, fklen);
        k->aes_ecb_enc(&key, iv, l, 1);
        k->aes_expand(pk, l, 16);
        ibc_aes_key_wipe(&key);
    }
    OPENSSL_cleanse(fk, sizeof(fk));
    OPENSSL_cleanse(l, sizeof(l));
    return st;
}

/* The CRC-32 of a page as ma_pagecrc.c maria_page_crc stores it: zlib's, seeded with the page
 * number; the two top values mark pages without a checksum. */
#define ARIA_NO_CRC_BITMAP 0xfffffffeu /* MARIA_NO_CRC_BITMAP_PAGE */
#define ARIA_NO_CRC_NORMAL 0xffffffffu /* MARIA_NO_CRC_NORMAL_PAGE */

static uint32_t page_crc(const ibc_kernels *k, uint64_t page_no, const uint8_t *p, size_t len)
{
    uint32_t crc = k->crc32z((uint32_t)page_no, p, len);
    return crc >= ARIA_NO_CRC_BITMAP ? ARIA_NO_CRC_BITMAP - 1 : crc;
}

/* An encrypted page's layout: the key version at kvo (4 bytes, little-endian), bytes
 * [head, end) encrypted, the checksum over [0, crc_len) of the plaintext with the key version
 * zeroed, stored in the last 4 bytes. */
typedef struct aria_layout {
    uint32_t kvo, head, end, crc_len;
} aria_layout;

/* 1 an encrypted page (*l), or what ibc_aria_rekey_page returns for the others */
static int page_layout(const ibc_kernels *k, const ibc_aria *a, int index_file,
                       const uint8_t *page, uint64_t page_no, aria_layout *l)
{
    const uint32_t bs = a->block_size, stored = le32(page + bs - 4);
    if (ibc_is_zero(page, bs))
        return 0; /* never written */
    if (index_file) {
        /* ma_crypt.c ma_crypt_index_pre_write_hook: [keypage_header, page_used) (a freed page
         * too: ma_page.c _ma_dispose leaves 8 bytes in use). The header (maria_def.h
         * keypage_header): LSN 7 and TRANSID 6 when transactional, else the LSN 7 the
         * encryption adds after the rest; the key version 4 (little-endian), key id 1, flag 1,
         * used 2 (high byte first: the bytes in use, header included); the checksum covers the
         * bytes in use. */
        uint32_t kh = a->transactional ? 13 + 4 + 4 : 4 + 7 + 4, used = be16(page + kh - 2);
        if (used < kh || used > bs - 4)
            return -1;
        if (used == kh)
            return 0; /* nothing encrypted (and nothing a key could be told by) */
        *l = (aria_layout){kh - 8, kh, used, used};
    } else {
        /* the bitmap pages are not encrypted (ma_bitmap.c sets no crypt hooks; seen on
         * 10.11.19: page 0 of every data file, its checksum over its bytes as they are) */
        if (stored == ARIA_NO_CRC_BITMAP || page_crc(k, page_no, page, bs - 4) == stored)
            return 0;
        /* ma_crypt.c ma_crypt_data_pre_write_hook: head and tail pages from
         * PAGE_HEADER_SIZE(share) (16, the key version at 12), blob pages from
         * FULL_PAGE_HEADER_SIZE(share) (12, the key version at 8), to the checksum
         * (ma_blockrec.h; confirmed on 10.11.19 data files of both kinds of table) */
        uint32_t type = page[7] & 7; /* PAGE_TYPE_OFFSET, PAGE_TYPE_MASK */
        if (type > 3)
            return -1;
        *l = type == 3 ? (aria_layout){8, 12, bs - 4, bs - 4} : (aria_layout){12, 16, bs - 4, bs - 4};
    }
    return stored == ARIA_NO_CRC_NORMAL ? -2 : 1;
}

/* The per-page IV (sql/encryption.cc do_crypt): space, page number, the LSN of the page's
 * first 7 bytes (a random one in a non-transactional table's pages). */
static void page_iv(const ibc_aria *a, const uint8_t *page, uint64_t page_no, uint8_t iv[16])
{
    uint64_t lsn = (uint64_t)(page[0] | page[1] << 8 | page[2] << 16) << 32 | le32(page + 3);
    put_le32(iv, a->space);
    put_le32(iv + 4, (uint32_t)page_no);
    for (int i = 0; i < 8; i++)
        iv[8 + i] = (uint8_t)(lsn >> (8 * i));
}

/* Does the page key of (key 1 of kr, the page's key version, hdr_iv) open the page? Its
 * plaintext (key version zeroed) into plain when it does. */
static int layout_opens(const ibc_engine *e, const ibc_aria *a, const uint8_t hdr_iv[16],
                        const ibc_keyring *kr, ibc_algo algo, const uint8_t *page,
                        uint64_t page_no, const aria_layout *l, uint8_t *plain)
{
    ibc_aes_key pk;
    if (page_key(e->k, kr, le32(page + l->kvo), hdr_iv, &pk) != IBC_OK)
        return 0;
    uint8_t iv[16];
    page_iv(a, page, page_no, iv);
    memcpy(plain, page, a->block_size);
    ibc_nopad_crypt(e->k, &pk, algo, 0, iv, page + l->head, plain + l->head, l->end - l->head);
    ibc_aes_key_wipe(&pk);
    memset(plain + l->kvo, 0, 4);
    return page_crc(e->k, page_no, plain, l->crc_len) == le32(page + a->block_size - 4);
}

int ibc_aria_page_opens(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *kr,
                        ibc_algo algo, const uint8_t *page, uint64_t page_no)
{
    /* an index page in use (page_layout) with a key version; the key absent: 0 */
    aria_layout l;
    if (page_layout(e->k, a, 1, page, page_no, &l) != 1 || !le32(page + l.kvo) ||
        l.end - l.head < 4 || page_no >> 32)
        return -1; /* not an index page in use, no checksum, or too few bytes to tell a key */
    uint8_t plain[65536];
    int ok = layout_opens(e, a, a->iv, kr, algo == IBC_ALGO_CTR ? IBC_ALGO_CTR : IBC_ALGO_CBC,
                          page, page_no, &l, plain);
    OPENSSL_cleanse(plain, a->block_size);
    return ok;
}

int ibc_aria_page_check(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *kr,
                        ibc_algo algo, int index_file, const uint8_t *page, uint64_t page_no)
{
    aria_layout l;
    int kind = page_layout(e->k, a, index_file, page, page_no, &l);
    if (kind != 1 || page_no >> 32)
        return kind != 1 ? kind : -1;
    uint8_t plain[65536];
    int ok = layout_opens(e, a, a->iv, kr, algo == IBC_ALGO_CTR ? IBC_ALGO_CTR : IBC_ALGO_CBC,
                          page, page_no, &l, plain);
    OPENSSL_cleanse(plain, a->block_size);
    return ok ? 1 : -1;
}

int ibc_aria_rekey_page(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *from,
                        const ibc_keyring *to, const uint8_t new_iv[16], ibc_algo algo,
                        int index_file, uint8_t *page, uint64_t page_no)
{
    aria_layout l;
    int kind = page_layout(e->k, a, index_file, page, page_no, &l);
    if (kind != 1 || page_no >> 32)
        return kind != 1 ? kind : -1;
    algo = algo == IBC_ALGO_CTR ? IBC_ALGO_CTR : IBC_ALGO_CBC;
    uint8_t plain[65536];
    int rc = -1;
    /* (an index page with 1 to 3 bytes in use after its header, one short key, is told by
     * them alone: another key gives the same bytes 1 time in 2^8 per byte; every other page
     * by at least 4) */
    if (layout_opens(e, a, a->iv, from, algo, page, page_no, &l, plain)) {
        ibc_aes_key pk;
        uint8_t iv[16];
        if (page_key(e->k, to, 1, new_iv, &pk) == IBC_OK) {
            page_iv(a, page, page_no, iv);
            put_le32(page + l.kvo, 1);
            ibc_nopad_crypt(e->k, &pk, algo, 1, iv, plain + l.head, page + l.head,
                            l.end - l.head);
            ibc_aes_key_wipe(&pk);
            rc = 1;
        }
    } else if (layout_opens(e, a, new_iv, to, algo, page, page_no, &l, plain)) {
        rc = 2;
    }
    OPENSSL_cleanse(plain, a->block_size);
    return rc;
}

ibc_status ibc_aria_rewrap(const ibc_engine *e, const ibc_aria *a, const ibc_keyring *from,
                           const ibc_keyring *to, uint8_t iv[16])
{
    uint8_t f1[IBC_KEY_MAX], t1[IBC_KEY_MAX], l[16];
    size_t flen = 0, tlen = 0;
    ibc_status st = ibc_keyring_get(from, 1, 1, f1, &flen);
    if (st == IBC_OK)
        st = ibc_keyring_get(to, 1, 1, t1, &tlen);
    if (st == IBC_OK) {
        ibc_aes_key fk, tk;
        e->k->aes_expand(&fk, f1, flen);
        e->k->aes_expand(&tk, t1, tlen);
        e->k->aes_ecb_enc(&fk, a->iv, l, 1);
        e->k->aes_ecb_dec(&tk, l, iv, 1);
        ibc_aes_key_wipe(&fk);
        ibc_aes_key_wipe(&tk);
    }
    OPENSSL_cleanse(f1, sizeof(f1));
    OPENSSL_cleanse(t1, sizeof(t1));
    OPENSSL_cleanse(l, sizeof(l));
    return st;
}
