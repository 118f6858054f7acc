/*
 * page.c - one page, one operation: the reference implementation of verify, deep verify,
 * decrypt, encrypt and re-key, following the server's read and write paths:
 *
 *   read  (buf0buf.cc buf_page_is_corrupted, buf_page_decrypt_after_read,
 *          buf_page_check_corrupt; fil0crypt.cc fil_space_decrypt; buf0buf.cc
 *          buf_page_full_crc32_is_corrupted)
 *   write (buf0flu.cc buf_page_encrypt; fil0crypt.cc fil_encrypt_buf_for_full_crc32,
 *          fil_encrypt_buf_for_non_full_checksum)
 *
 * Statuses separate what the disk says (the stored checksum) from what the plaintext says
 * (space id and LSN copy for full_crc32, the plaintext checksum for the legacy format, page
 * structure, decompression), so a wrong key is reported as a key mismatch, not as corruption.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include <stdlib.h>

#include "checksum.h"
#include "format.h"
#include "page.h"

int ibc_page_in_doublewrite(const ibc_space *s, uint32_t page_no)
{
    if (s->space_id != 0)
        return 0;
    for (int b = 0; b < 2; b++)
        if (s->dblwr[b][1] && page_no >= s->dblwr[b][0] &&
            page_no - s->dblwr[b][0] < s->dblwr[b][1])
            return 1;
    return 0;
}

int ibc_page_is_encrypted(const ibc_space *s, const uint8_t *p, uint32_t page_no)
{
    /* buf0buf.cc buf_page_decrypt_after_read: key version != 0 and the space has crypt data;
     * page 0 never (fil0crypt.cc); for the legacy format FSP_HDR, XDES and R-tree pages never,
     * since bytes 26..33 mean something else there (fil_space_encrypt_valid_page_type). */
    if (!s->cd.present || page_no == 0)
        return 0;
    if (s->g.full_crc32)
        return be32(p + FIL_PAGE_FCRC32_KEY_VERSION) != 0;
    uint32_t type = be16(p + FIL_PAGE_TYPE);
    if (type == FIL_PAGE_TYPE_FSP_HDR || type == FIL_PAGE_TYPE_XDES || type == FIL_PAGE_RTREE)
        return 0;
    return be32(p + FIL_PAGE_KEY_VERSION) != 0;
}

void ibc_page_iv(const ibc_space *s, const uint8_t *p, uint8_t iv[16])
{
    /* sql/encryption.cc do_crypt: int4store(space), int4store(page), int8store(lsn). For the
     * legacy format the decrypting side reads the space id from the page (fil0crypt.cc
     * fil_space_decrypt_for_non_full_checksum); for full_crc32 it is encrypted there. */
    uint32_t sid = s->g.full_crc32 ? s->space_id : be32(p + FIL_PAGE_SPACE_ID);
    put_le32(iv, sid);
    put_le32(iv + 4, be32(p + FIL_PAGE_OFFSET));
    put_le64(iv + 8, be64(p + FIL_PAGE_LSN));
}

void ibc_page_crypt_range(const ibc_space *s, const uint8_t *p, uint32_t *off, uint32_t *len)
{
    uint32_t ps = s->g.physical;
    if (s->g.full_crc32) {
        int compressed;
        uint32_t size = ibc_fcrc32_size(p, ps, &compressed);
        *off = FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION; /* [26, size - 4) */
        *len = size > 30 ? size - 30 : 0;
    } else if (be16(p + FIL_PAGE_TYPE) == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED) {
        uint32_t l = be16(p + FIL_PAGE_DATA + FIL_PAGE_COMP_SIZE);
        *off = FIL_PAGE_DATA + FIL_PAGE_ENCRYPT_COMP_METADATA_LEN; /* [42, 42 + len) */
        *len = l <= ps - *off ? l : 0;
    } else {
        *off = FIL_PAGE_DATA; /* [38, ps - 8) */
        *len = ps - FIL_PAGE_DATA - FIL_PAGE_DATA_END;
    }
}

void ibc_nopad_crypt(const ibc_kernels *k, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                     const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len)
{
    if (algo == IBC_ALGO_CTR) {
        k->aes_ctr(key, iv, in, out, len);
        return;
    }
    size_t nb = len / 16, tail = len % 16;
    uint8_t v[16], mask[16], t[16];
    memcpy(t, in + nb * 16, tail);
    memcpy(v, iv, 16);
    if (encrypt)
        k->aes_cbc_enc(key, v, in, out, nb);
    else
        k->aes_cbc_dec(key, v, in, out, nb);
    if (tail) {
        /* my_crypt.cc MyCTX_nopad::finish: the tail is XORed with AES-ECB(key, IV) of the
         * original IV, the same for both directions */
        k->aes_ecb_enc(key, iv, mask, 1);
        for (size_t i = 0; i < tail; i++)
            out[nb * 16 + i] = t[i] ^ mask[i];
        explicit_bzero(mask, sizeof(mask)); /* keystream */
    }
}

void ibc_page_xcrypt(const ibc_space *s, int encrypt, const uint8_t iv[16], const uint8_t *in,
                     uint8_t *out, size_t len)
{
    ibc_nopad_crypt(s->k, &s->key, s->algo, encrypt, iv, in, out, len);
}

static int is_index_type(uint32_t type)
{
    return type == FIL_PAGE_INDEX || type == FIL_PAGE_RTREE || type == FIL_PAGE_TYPE_INSTANT;
}

/* Does a decrypted legacy page look like the output of a wrong key rather than of damaged
 * ciphertext? CBC/CTR damage is local, a wrong key garbles everything: an index page keeps
 * its infimum/supremum records, and any real page has far more zero bytes than the 1/256 of
 * random data. */
static int looks_like_wrong_key(const uint8_t *p, uint32_t ps)
{
    uint32_t type = be16(p + FIL_PAGE_TYPE);
    if (is_index_type(type))
        return memcmp(p + PAGE_NEW_INFIMUM, "infimum", 7) != 0 &&
               memcmp(p + PAGE_OLD_INFIMUM, "infimum", 7) != 0;
    uint32_t zeros = 0;
    for (uint32_t i = FIL_PAGE_DATA; i < ps - FIL_PAGE_DATA_END; i++)
        zeros += p[i] == 0;
    return zeros < 2 * (ps / 256);
}

/* full_crc32 output: CRC-32C of [0, size-4) at size-4. */
static void fcrc32_seal(const ibc_kernels *k, uint8_t *p, uint32_t size)
{
    put_be32(p + size - FIL_PAGE_FCRC32_CHECKSUM, k->crc32c(0, p, size - 4));
}

/* Check a decompressed page against what it must be: not compressed again, the right page
 * number and space id, and for the legacy format its own checksums (mariadb-backup
 * fil_cur.cc page_is_corrupted). */
static int decompressed_ok(const ibc_space *s, const uint8_t *d, uint32_t page_no)
{
    uint32_t type = be16(d + FIL_PAGE_TYPE);
    if (type == FIL_PAGE_PAGE_COMPRESSED || type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED ||
        (s->g.full_crc32 && (type & (1u << FIL_PAGE_COMPRESS_FCRC32_MARKER))))
        return 0;
    if (be32(d + FIL_PAGE_OFFSET) != page_no || be32(d + FIL_PAGE_SPACE_ID) != s->space_id)
        return 0;
    if (!s->g.full_crc32 && ibc_legacy_is_corrupted(s->k, d, s->g.logical, 0))
        return 0;
    return 1;
}

/* full_crc32 plaintext checks (buf0buf.cc buf_page_full_crc32_is_corrupted): the space id at
 * 34 and the LSN copy at ps-8. Both wrong: the key is wrong (everything is garbage). */
static ibc_page_status fcrc32_plain_check(const ibc_space *s, const uint8_t *p,
                                          const uint8_t *plain, uint32_t ps)
{
    int sid_ok = be32(plain + FIL_PAGE_SPACE_ID) == s->space_id;
    int lsn_ok = !memcmp(plain + ps - 8, p + FIL_PAGE_LSN + 4, 4);
    if (!sid_ok && !lsn_ok)
        return IBC_PAGE_KEY_MISMATCH;
    if (!sid_ok)
        return IBC_PAGE_BAD_HEADER;
    return lsn_ok ? IBC_PAGE_OK : IBC_PAGE_BAD_INNER;
}

/* The compressed stream of a full_crc32 page_compressed page of `size` bytes (the page or its
 * decryption): it starts at 26 (fil0pagecompress.cc fil_page_compress_for_full_crc32). LZ4,
 * LZO and snappy need its exact length (fil0fil.h full_crc32_page_compressed_len): the server
 * stores the low byte of 26 + length + 5 at size - 5, and the stream ends at size - 5 less
 * (that byte ? 256 - that byte : 0) (fil_page_decompress_for_full_crc32). The other decoders
 * get [26, size - 4) and stop at their stream's end. Bytes between the stream's end and the
 * length byte, or the checksum, are zero. Returns the stream length, 0 if the length byte
 * points outside the page. */
static int fcrc32_len_byte(uint32_t algo)
{
    return algo == IBC_COMP_LZ4 || algo == IBC_COMP_LZO || algo == IBC_COMP_SNAPPY;
}

size_t ibc_fcrc32_stream_len(uint32_t algo, const uint8_t *page, uint32_t size)
{
    if (!fcrc32_len_byte(algo))
        return size - 30;
    uint32_t lsb = page[size - 5];
    int64_t end = (int64_t)size - 5 - (lsb ? 256 - lsb : 0);
    return end > FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION
               ? (size_t)end - FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION
               : 0;
}

/* A full_crc32 page_compressed page (its plaintext) decompresses to a sound page: the checks
 * apply to the page it decompresses to (buf0buf.cc buf_page_decrypt_after_read decompresses
 * before buf_page_check_corrupt). A stream without the algorithm's header, or whose padding is
 * not zero, means the key is wrong; a stream that breaks later, damage. */
static ibc_page_status fcrc32_compressed_check(const ibc_space *s, const uint8_t *plain,
                                               uint32_t size, uint32_t page_no, ibc_scratch *sc)
{
    const uint32_t algo = s->g.comp_algo, head = FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION;
    const uint8_t *z = plain + head;
    size_t len = ibc_fcrc32_stream_len(algo, plain, size);
    int exact = fcrc32_len_byte(algo);
    int header = len ? ibc_page_stream_header(algo, z, len, s->g.physical) : 0;
    if (!header || (exact && !ibc_is_zero(z + len, size - 5 - head - len)))
        return IBC_PAGE_KEY_MISMATCH;
    if (IBC_TRUSTED_STREAM(s, sc))
        return IBC_PAGE_OK;
    size_t used = 0;
    int r = ibc_page_decompress(algo, z, len, sc->buf[1], s->g.physical, &used);
    if (r == -2)
        return IBC_PAGE_UNSUPPORTED;
    /* an LZ4 or LZO stream that fills its space to the length byte had nothing to tell a wrong
     * key by: one that does not decompress is more likely one than a page the server garbled
     * before encrypting it, whose checksum held (and the other cipher mode is then tried) */
    if (r != 0 && header < 0 && head + len == size - 5)
        return IBC_PAGE_KEY_MISMATCH;
    if (r != 0 || !decompressed_ok(s, sc->buf[1], page_no))
        return IBC_PAGE_BAD_INNER;
    /* the decompressed page is a page like any other: index pages have their structure */
    if (is_index_type(be16(sc->buf[1] + FIL_PAGE_TYPE)) &&
        ibc_index_page_check(sc->buf[1], s->g.physical))
        return IBC_PAGE_BAD_INNER;
    /* fil_page_compress_for_full_crc32 zeroes the rest up to the checksum */
    if (!exact && !ibc_is_zero(z + used, len - used))
        return IBC_PAGE_BAD_INNER;
    return IBC_PAGE_OK;
}

#define DONE(st)                                                                               \
    do {                                                                                       \
        pg->status = (st);                                                                     \
        return;                                                                                \
    } while (0)

static void copy_through(const ibc_page *pg, uint32_t ps)
{
    if (pg->dst && pg->dst != pg->src)
        memcpy(pg->dst, pg->src, ps);
}

/* ---- full_crc32 -------------------------------------------------------------------------- */

static void fcrc32_process(const ibc_space *s, const ibc_space *t, ibc_op op, ibc_page *pg,
                           ibc_scratch *sc)
{
    const ibc_kernels *k = s->k;
    const uint8_t *p = pg->src;
    uint32_t ps = s->g.physical, page_no = pg->page_no;
    int deep = op == IBC_OP_VERIFY_DEEP || op == IBC_OP_DECRYPT;
    int compressed;
    uint32_t size = ibc_fcrc32_size(p, ps, &compressed);
    if (compressed)
        pg->flags |= IBC_PF_PAGE_COMPRESSED;
    if (!size || k->crc32c(0, p, size - 4) != be32(p + size - 4))
        DONE(IBC_PAGE_BAD_OUTER);
    if (!compressed)
        pg->flags |= IBC_PF_CRC_STORED;
    if (!ibc_page_is_encrypted(s, p, page_no)) {
        /* buf_page_is_corrupted: unencrypted uncompressed pages carry the LSN copy */
        if (!compressed && !be32(p) && memcmp(p + FIL_PAGE_LSN + 4, p + ps - 8, 4))
            DONE(IBC_PAGE_BAD_OUTER);
        /* in a compressed page byte 34 is compressed data: its space id is checked on the
         * decompressed page */
        if (!compressed && be32(p + FIL_PAGE_SPACE_ID) != s->space_id)
            DONE(IBC_PAGE_BAD_HEADER);
        if (deep && compressed) {
            /* not encrypted: whatever breaks is damage, not a key */
            ibc_page_status st = fcrc32_compressed_check(s, p, size, page_no, sc);
            if (st != IBC_PAGE_OK)
                DONE(st == IBC_PAGE_KEY_MISMATCH ? IBC_PAGE_BAD_INNER : st);
        }
        if (deep && !compressed && is_index_type(pg->page_type)) {
            pg->flags |= IBC_PF_INDEX;
            if (ibc_index_page_check(p, ps))
                DONE(IBC_PAGE_BAD_INNER);
        }
        copy_through(pg, ps);
        DONE(IBC_PAGE_PLAIN);
    }
    pg->flags |= IBC_PF_ENCRYPTED;
    if (op == IBC_OP_VERIFY)
        DONE(IBC_PAGE_OK);
    if (!s->have_key || be32(p) != s->key_version)
        DONE(IBC_PAGE_KEY_UNAVAILABLE);

    /* decrypt [26, size-4) into scratch; AUTO tries CBC, then CTR */
    uint8_t *plain = sc->buf[0], iv[16];
    ibc_page_iv(s, p, iv);
    ibc_algo algos[2] = {s->algo, IBC_ALGO_AUTO};
    if (s->algo == IBC_ALGO_AUTO) {
        algos[0] = IBC_ALGO_CBC;
        algos[1] = IBC_ALGO_CTR;
    }
    ibc_page_status st = IBC_PAGE_KEY_MISMATCH;
    ibc_algo used = algos[0];
    for (int a = 0; a < 2 && algos[a] != IBC_ALGO_AUTO; a++) {
        used = algos[a];
        memcpy(plain, p, ps);
        ibc_nopad_crypt(k, &s->key, used, 0, iv, p + 26, plain + 26, size - 30);
        st = compressed ? fcrc32_compressed_check(s, plain, size, page_no, sc)
                        : fcrc32_plain_check(s, p, plain, ps);
        if (st != IBC_PAGE_KEY_MISMATCH)
            break;
    }
    if (st != IBC_PAGE_OK)
        DONE(st);
    if (deep && !compressed && is_index_type(pg->page_type)) {
        pg->flags |= IBC_PF_INDEX;
        if (ibc_index_page_check(plain, ps))
            DONE(IBC_PAGE_BAD_INNER);
    }
    if (op == IBC_OP_DECRYPT) {
        /* as the server writes an unencrypted page: key version 0, CRC of the plaintext */
        put_be32(plain + FIL_PAGE_FCRC32_KEY_VERSION, 0);
        fcrc32_seal(k, plain, size);
        memcpy(pg->dst, plain, ps);
    } else if (op == IBC_OP_REKEY) {
        uint8_t *o = pg->dst;
        memcpy(o, plain, ps); /* header [0,26) incl. key version, and the bytes past size */
        ibc_nopad_crypt(k, &t->key, t->algo == IBC_ALGO_AUTO ? used : t->algo, 1, iv, plain + 26,
                        o + 26, size - 30);
        fcrc32_seal(k, o, size);
    }
    DONE(IBC_PAGE_OK);
}

/* ---- legacy format ----------------------------------------------------------------------- */

static void legacy_process(const ibc_space *s, const ibc_space *t, ibc_op op, ibc_page *pg,
                           ibc_scratch *sc)
{
    const ibc_kernels *k = s->k;
    const uint8_t *p = pg->src;
    uint32_t ps = s->g.physical, zip = s->g.zip, page_no = pg->page_no;
    uint32_t type = pg->page_type;
    int deep = op == IBC_OP_VERIFY_DEEP || op == IBC_OP_DECRYPT;
    int pcomp = type == FIL_PAGE_PAGE_COMPRESSED || type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED;
    if (zip)
        pg->flags |= IBC_PF_ROW_COMPRESSED;
    if (pcomp) {
        pg->flags |= IBC_PF_PAGE_COMPRESSED;
        if (!s->g.page_compressed)
            DONE(IBC_PAGE_BAD_OUTER);
    }
    if (!ibc_page_is_encrypted(s, p, page_no)) {
        if (type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED)
            DONE(IBC_PAGE_BAD_OUTER); /* claims encryption without a key version */
        if (type == FIL_PAGE_PAGE_COMPRESSED) {
            /* fil0pagecompress.cc: length at 38, algorithm in the low bytes of 26..33 */
            uint32_t len = be16(p + FIL_PAGE_DATA), algo = be16(p + 32);
            if (len == 0 || len > ps - FIL_PAGE_DATA - FIL_PAGE_COMP_METADATA_LEN)
                DONE(IBC_PAGE_BAD_OUTER);
            int r = ibc_page_decompress(algo, p + FIL_PAGE_DATA + FIL_PAGE_COMP_METADATA_LEN, len,
                                        sc->buf[1], s->g.logical, NULL);
            if (r == -2)
                DONE(IBC_PAGE_UNSUPPORTED);
            if (r != 0 || !decompressed_ok(s, sc->buf[1], page_no))
                DONE(IBC_PAGE_BAD_INNER);
            copy_through(pg, ps);
            DONE(IBC_PAGE_PLAIN);
        }
        if (ibc_legacy_is_corrupted(k, p, ps, zip))
            DONE(IBC_PAGE_BAD_OUTER);
        if (be32(p + FIL_PAGE_SPACE_ID) != s->space_id)
            DONE(IBC_PAGE_BAD_HEADER);
        if (deep && !zip && is_index_type(type)) {
            pg->flags |= IBC_PF_INDEX;
            if (ibc_index_page_check(p, ps))
                DONE(IBC_PAGE_BAD_INNER);
        }
        copy_through(pg, ps);
        DONE(IBC_PAGE_PLAIN);
    }
    pg->flags |= IBC_PF_ENCRYPTED;
    /* the on-disk checks: the post-encryption checksum, and the plaintext LSN copy of the
     * trailer (never encrypted) of ordinary pages */
    if (!ibc_legacy_crypt_checksum_ok(k, p, ps, zip))
        DONE(IBC_PAGE_BAD_OUTER);
    if (!zip && !pcomp && memcmp(p + FIL_PAGE_LSN + 4, p + ps - 4, 4))
        DONE(IBC_PAGE_BAD_OUTER);
    if (be32(p + FIL_PAGE_SPACE_ID) != s->space_id)
        DONE(IBC_PAGE_BAD_HEADER);
    if (op == IBC_OP_VERIFY && !pcomp)
        DONE(IBC_PAGE_OK);
    if (!s->have_key || be32(p + FIL_PAGE_KEY_VERSION) != s->key_version)
        DONE(IBC_PAGE_KEY_UNAVAILABLE);

    uint32_t off, len;
    ibc_page_crypt_range(s, p, &off, &len);
    if (pcomp && len == 0)
        DONE(IBC_PAGE_BAD_OUTER);
    uint8_t *plain = sc->buf[0], iv[16];
    ibc_page_iv(s, p, iv);
    ibc_algo algos[2] = {s->algo, IBC_ALGO_AUTO};
    if (s->algo == IBC_ALGO_AUTO) {
        algos[0] = IBC_ALGO_CBC;
        algos[1] = IBC_ALGO_CTR;
    }
    ibc_page_status bad = IBC_PAGE_OK;
    ibc_algo used = algos[0];
    for (int a = 0; a < 2 && algos[a] != IBC_ALGO_AUTO; a++) {
        used = algos[a];
        memcpy(plain, p, ps);
        ibc_nopad_crypt(k, &s->key, used, 0, iv, p + off, plain + off, len);
        bad = IBC_PAGE_OK;
        if (pcomp && IBC_TRUSTED_STREAM(s, sc)) {
            /* decompressed by the deep verify before; the stream's header still tells keys
             * apart, as in fcrc32_compressed_check */
            uint32_t algo = be16(plain + FIL_PAGE_DATA + FIL_PAGE_ENCRYPT_COMP_ALGO);
            if (!ibc_page_stream_header(algo, plain + off, len, s->g.logical))
                bad = IBC_PAGE_KEY_MISMATCH;
        } else if (pcomp) {
            /* 37401: algorithm at 40, payload at 42 (fil0pagecompress.cc) */
            uint32_t algo = be16(plain + FIL_PAGE_DATA + FIL_PAGE_ENCRYPT_COMP_ALGO);
            int r = ibc_page_decompress(algo, plain + off, len, sc->buf[1], s->g.logical, NULL);
            if (r == -2)
                DONE(IBC_PAGE_UNSUPPORTED);
            /* a stream that does not decompress behind a checksum that held: a wrong key when
             * the stream's header says so, or when it has none (LZ4, LZO) */
            if (r != 0)
                bad = ibc_page_stream_header(algo, plain + off, len, s->g.logical) != 1
                          ? IBC_PAGE_KEY_MISMATCH
                          : IBC_PAGE_BAD_INNER;
            else if (!decompressed_ok(s, sc->buf[1], page_no))
                bad = IBC_PAGE_BAD_INNER;
        } else if (zip ? ibc_legacy_crypt_checksum(k, plain, ps, zip) !=
                             be32(plain + FIL_PAGE_SPACE_OR_CHKSUM)
                       : ibc_legacy_is_corrupted(k, plain, ps, 0)) {
            bad = looks_like_wrong_key(plain, ps) ? IBC_PAGE_KEY_MISMATCH : IBC_PAGE_BAD_INNER;
        }
        if (bad == IBC_PAGE_OK)
            break;
    }
    if (bad != IBC_PAGE_OK)
        DONE(bad);
    if (deep && !zip && !pcomp && is_index_type(type)) {
        pg->flags |= IBC_PF_INDEX;
        if (ibc_index_page_check(plain, ps))
            DONE(IBC_PAGE_BAD_INNER);
    }
    if (op == IBC_OP_DECRYPT) {
        /* an unencrypted page has bytes 26..33 zero (buf0flu.cc buf_page_encrypt) */
        memset(plain + FIL_PAGE_KEY_VERSION, 0, 8);
        memcpy(pg->dst, plain, ps);
    } else if (op == IBC_OP_REKEY) {
        uint8_t *o = pg->dst;
        memcpy(o, plain, ps);
        ibc_nopad_crypt(k, &t->key, t->algo == IBC_ALGO_AUTO ? used : t->algo, 1, iv, plain + off,
                        o + off, len);
        put_be32(o + FIL_PAGE_CRYPT_CHECKSUM, ibc_legacy_crypt_checksum(k, o, ps, zip));
    }
    DONE(IBC_PAGE_OK);
}

/* ---- encrypt: plaintext page -> the server's encrypted form ----------------------------- */

/* Would the server encrypt this page when writing it? (buf0flu.cc buf_page_encrypt,
 * fil0crypt.cc fil_space_encrypt_valid_page_type; format sheet §4.5) */
static int encryptable(const ibc_space *s, const uint8_t *p, uint32_t page_no)
{
    uint32_t type = be16(p + FIL_PAGE_TYPE);
    if (!s->cd.present || s->cd.type != CRYPT_SCHEME_1 || s->cd.encryption == FIL_ENCRYPTION_OFF)
        return 0;
    if (page_no == 0 || type == FIL_PAGE_TYPE_FSP_HDR || type == FIL_PAGE_TYPE_XDES)
        return 0;
    if (!s->g.full_crc32 && type == FIL_PAGE_RTREE)
        return 0;
    if (s->space_id == 0 && page_no == TRX_SYS_PAGE_NO)
        return 0;
    return 1;
}

static void encrypt_process(const ibc_space *s, ibc_page *pg, ibc_scratch *sc)
{
    const ibc_kernels *k = s->k;
    const uint8_t *p = pg->src;
    uint32_t ps = s->g.physical, page_no = pg->page_no, zip = s->g.zip;
    if (be32(p + FIL_PAGE_OFFSET) != page_no)
        DONE(IBC_PAGE_BAD_HEADER);
    if (!encryptable(s, p, page_no)) {
        copy_through(pg, ps);
        DONE(IBC_PAGE_PLAIN);
    }
    if (!s->have_key)
        DONE(IBC_PAGE_KEY_UNAVAILABLE);
    if (s->algo == IBC_ALGO_AUTO)
        DONE(IBC_PAGE_UNSUPPORTED); /* the algorithm must be known to encrypt */
    uint8_t *o = sc->buf[0], iv[16];
    memcpy(o, p, ps);
    ibc_page_iv(s, p, iv);
    uint32_t off, len;
    if (s->g.full_crc32) {
        int compressed;
        uint32_t size = ibc_fcrc32_size(p, ps, &compressed);
        if (!size || be32(p))
            DONE(IBC_PAGE_UNSUPPORTED); /* not a plaintext page */
        if (compressed)
            pg->flags |= IBC_PF_PAGE_COMPRESSED;
        put_be32(o + FIL_PAGE_FCRC32_KEY_VERSION, s->key_version);
        ibc_page_crypt_range(s, o, &off, &len);
        ibc_nopad_crypt(k, &s->key, s->algo, 1, iv, p + off, o + off, len);
        fcrc32_seal(k, o, size);
    } else {
        uint32_t type = be16(p + FIL_PAGE_TYPE);
        if (type == FIL_PAGE_PAGE_COMPRESSED || be32(p + FIL_PAGE_KEY_VERSION))
            DONE(IBC_PAGE_UNSUPPORTED); /* 34354 -> 37401 conversion, or already encrypted */
        if (type == FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED)
            pg->flags |= IBC_PF_PAGE_COMPRESSED;
        if (zip)
            pg->flags |= IBC_PF_ROW_COMPRESSED;
        put_be32(o + FIL_PAGE_KEY_VERSION, s->key_version);
        ibc_page_crypt_range(s, o, &off, &len);
        ibc_nopad_crypt(k, &s->key, s->algo, 1, iv, p + off, o + off, len);
        put_be32(o + FIL_PAGE_CRYPT_CHECKSUM, ibc_legacy_crypt_checksum(k, o, ps, zip));
    }
    memcpy(pg->dst, o, ps);
    pg->flags |= IBC_PF_ENCRYPTED;
    DONE(IBC_PAGE_OK);
}

void ibc_page_process(const ibc_space *s, const ibc_space *t, ibc_op op, ibc_page *pg,
                      ibc_scratch *sc)
{
    const uint8_t *p = pg->src;
    uint32_t ps = s->g.physical;
    pg->flags = 0;
    pg->page_type = (uint16_t)be16(p + FIL_PAGE_TYPE);
    if (ibc_page_in_doublewrite(s, pg->page_no)) {
        copy_through(pg, ps);
        DONE(IBC_PAGE_DOUBLEWRITE);
    }
    /* a zero page has a zero checksum field: test that first, it is almost never the case */
    if (be32(s->g.full_crc32 ? p + ps - 4 : p) == 0 && ibc_is_zero(p, ps)) {
        copy_through(pg, ps);
        DONE(IBC_PAGE_ZERO);
    }
    if (op == IBC_OP_ENCRYPT) {
        encrypt_process(s, pg, sc);
        return;
    }
    if (be32(p + FIL_PAGE_OFFSET) != pg->page_no)
        DONE(IBC_PAGE_BAD_HEADER);
    if (s->g.full_crc32)
        fcrc32_process(s, t, op, pg, sc);
    else
        legacy_process(s, t, op, pg, sc);
}
