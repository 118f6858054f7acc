/*
 * redo_crypt.c - the ciphers of the encrypted redo formats, and the record checks of recovery.
 *
 * FORMAT_ENC_11 (log0crypt.cc log_decrypt_mtr, mtr_t::encrypt; formats/mariadb.md §10.4): the
 * bodies of all records of an mtr (everything but each record's type/length bytes T_i) form one
 * stream S, encrypted with IV = nonce | T_1 | zeros under the log key: AES-CBC over the whole
 * blocks with the tail XORed with AES-ECB(key, IV) (mysys_ssl/my_crypt.cc MyCTX_nopad), or
 * AES-CTR. A stream of fewer than 16 bytes is S XOR AES-ECB(key, IV) in both modes.
 *
 * FORMAT_10_8 with crypt info (log0crypt.cc log_encrypt_buf; log0recv.cc parse_tail and
 * log_decrypt_legacy; §10.3): each page record's payload after its page id (same-page records:
 * after the type/length bytes) is its own stream with IV = nonce | BE32(space) | BE32(page) of
 * the last page record; FILE_ records stay plain.
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "redo_internal.h"

void redo_xcrypt(const ibc_kernels *k, const ibc_aes_key *key, ibc_algo algo, int encrypt,
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
        /* MyCTX_nopad::finish: the tail is XORed with AES-ECB(key, IV) of the original IV, in
         * both directions */
        k->aes_ecb_enc(key, iv, mask, 1);
        for (size_t i = 0; i < tail; i++)
            out[nb * 16 + i] = t[i] ^ mask[i];
        explicit_bzero(mask, sizeof(mask));
    }
}

void redo_enc11_iv(const uint8_t *mtr, const redo_mtr *m, uint8_t iv[16])
{
    memcpy(iv, mtr + m->len + 1, 8); /* the nonce as stored */
    memset(iv + 8, 0, 8);
    memcpy(iv + 8, mtr, m->t1len);
}

static void crypt_enc11(const ibc_redo *r, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                        const uint8_t *p, const redo_mtr *m, uint8_t *out, uint8_t *tmp)
{
    uint32_t pos = 0, g = 0, hl;
    while (pos < m->len) {
        uint32_t size = redo_rec_size(p + pos, &hl);
        memcpy(tmp + g, p + pos + hl, size - hl);
        g += size - hl;
        pos += size;
    }
    uint8_t iv[16];
    redo_enc11_iv(p, m, iv);
    redo_xcrypt(r->k, key, algo, encrypt, iv, tmp, tmp, g);
    if (out != p)
        memcpy(out, p, m->len);
    for (pos = 0, g = 0; pos < m->len;) {
        uint32_t size = redo_rec_size(p + pos, &hl);
        memcpy(out + pos + hl, tmp + g, size - hl);
        g += size - hl;
        pos += size;
    }
}

static void crypt_enc108(const ibc_redo *r, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                         const uint8_t *p, const redo_mtr *m, uint8_t *out)
{
    uint8_t iv[16];
    memcpy(iv, p + m->len + 1, 8);
    memset(iv + 8, 0, 8);
    if (out != p)
        memcpy(out, p, m->len);
    int got_page_op = 0;
    for (uint32_t pos = 0, hl; pos < m->len;) {
        uint32_t size = redo_rec_size(p + pos, &hl), blen = size - hl;
        const uint8_t b = p[pos], *body = p + pos + hl;
        uint32_t skip = 0; /* page id bytes before the payload */
        if (!((b & REC_SAME_PAGE) && got_page_op)) {
            /* parse_tail: the page id is read from the stored (plain) bytes; a bad one leaves
             * the record alone and the IV as it was */
            uint32_t l1 = redo_varint_len(body[0]);
            if (l1 > 5 || l1 >= blen || redo_varint(body) == MLOG_DECODE_ERROR) {
                pos += size;
                continue;
            }
            uint32_t l2 = redo_varint_len(body[l1]);
            if (l2 > 5 || l2 > blen - l1 || redo_varint(body + l1) == MLOG_DECODE_ERROR) {
                pos += size;
                continue;
            }
            put_be32(iv + 8, redo_varint(body));
            put_be32(iv + 12, redo_varint(body + l1));
            got_page_op = !(b & REC_SAME_PAGE);
            if (!got_page_op) { /* FILE_ record: never encrypted */
                pos += size;
                continue;
            }
            skip = l1 + l2;
        }
        if (blen > skip)
            redo_xcrypt(r->k, key, algo, encrypt, iv, body + skip, out + pos + hl + skip,
                        blen - skip);
        pos += size;
    }
}

void redo_crypt_mtr(const ibc_redo *r, const ibc_aes_key *key, ibc_algo algo, int encrypt,
                    const uint8_t *p, const redo_mtr *m, uint8_t *out, uint8_t *tmp)
{
    if (r->info.format == IBC_REDO_ENC_11)
        crypt_enc11(r, key, algo, encrypt, p, m, out, tmp);
    else if (r->info.format == IBC_REDO_ENC_10_8)
        crypt_enc108(r, key, algo, encrypt, p, m, out);
    else if (out != p)
        memcpy(out, p, m->len);
}

/* ---- record checks (log0recv.cc recv_sys_t::parse_tail, storing == YES; log_parse_file) ---- */

#define BAD(...)                                                                                   \
    do {                                                                                           \
        c->bad_at = pos;                                                                           \
        snprintf(c->why, sizeof(c->why), __VA_ARGS__);                                             \
        return -1;                                                                                 \
    } while (0)

static int has_ibd_suffix(const uint8_t *name, size_t n)
{
    return n >= 4 && !memcmp(name + n - 4, ".ibd", 4);
}

/* log_parse_file: a FILE_ record with page id (space, page) and body l[0, rlen); last: it ends
 * the mtr. */
static int check_file_record(redo_recs *c, uint32_t pos, uint8_t b, uint32_t space, uint32_t page,
                             const uint8_t *l, uint32_t rlen, int last)
{
    if (!rlen) {
        if (!space && !page && b == (FILE_CHECKPOINT | 2)) /* padding */
            return 0;
        BAD("empty file record (type 0x%02x)", b);
    }
    if (page)
        BAD("file record with page number %u (must be 0)", page);
    switch (b & 0xF0) {
    case FILE_CHECKPOINT:
        if (space || !last)
            BAD("FILE_CHECKPOINT %s", space ? "with a space id" : "not the last record");
        if (rlen != 8) {
            for (uint32_t i = 0; i < rlen; i++)
                if (l[i])
                    BAD("FILE_CHECKPOINT of %u bytes that are not zero", rlen);
            if (rlen > 65536)
                BAD("FILE_CHECKPOINT of %u bytes", rlen);
            return 0;
        }
        if (be64(l)) {
            c->has_checkpoint = 1;
            c->checkpoint_lsn = be64(l);
        }
        return 0;
    case FILE_DELETE:
    case FILE_MODIFY:
    case FILE_RENAME:
    case FILE_CREATE: {
        if (!space)
            BAD("file record (type 0x%02x) for space 0", b);
        const uint8_t *fn2 = memchr(l, 0, rlen);
        if ((fn2 == NULL) == ((b & 0xF0) == FILE_RENAME))
            BAD("file record (type 0x%02x) with %s", b, fn2 ? "a NUL byte" : "one name");
        const uint8_t *fnend = fn2 ? fn2 : l + rlen;
        if (fn2) {
            fn2++;
            size_t n2 = (size_t)(l + rlen - fn2);
            if (memchr(fn2, 0, n2) || !has_ibd_suffix(fn2, n2))
                BAD("FILE_RENAME: bad new name");
        }
        if (!has_ibd_suffix(l, (size_t)(fnend - l)))
            BAD("file record (type 0x%02x): the name does not end in .ibd", b);
        return 0;
    }
    default:
        BAD("unknown file record type 0x%02x", b);
    }
}

/* WRITE / MEMSET / MEMMOVE at *last_offset (parse_tail). */
static int check_page_write(redo_recs *c, uint32_t pos, uint8_t b, const uint8_t *l, uint32_t rlen,
                            uint32_t *last_offset)
{
    const uint32_t ps = c->page_size;
    if (!rlen || *last_offset == 1)
        BAD("%s", rlen ? "write after FREE_PAGE" : "empty write record");
    uint32_t olen = redo_varint_len(*l);
    if (olen >= rlen || olen > 3)
        BAD("bad offset in a write record");
    uint32_t offset = redo_varint(l);
    if (offset >= ps)
        BAD("write offset %u beyond the page", offset);
    *last_offset += offset;
    if (*last_offset < 8 || *last_offset >= ps)
        BAD("write at page offset %u", *last_offset);
    l += olen;
    rlen -= olen;
    if ((b & 0x70) == REC_WRITE) {
        if (rlen + *last_offset > ps)
            BAD("WRITE of %u bytes at %u beyond the page", rlen, *last_offset);
        *last_offset += rlen;
        return 0;
    }
    uint32_t llen = redo_varint_len(*l);
    if (llen > rlen || llen > 3)
        BAD("bad length in a MEMSET/MEMMOVE record");
    uint32_t n = redo_varint(l);
    if (*last_offset + n > ps)
        BAD("MEMSET/MEMMOVE of %u bytes at %u beyond the page", n, *last_offset);
    l += llen;
    rlen -= llen;
    if ((b & 0x70) == REC_MEMSET) {
        if (rlen > n)
            BAD("MEMSET pattern longer than its length");
        *last_offset += rlen;
        return 0;
    }
    if (!rlen)
        BAD("MEMMOVE without a source");
    uint32_t slen = redo_varint_len(*l);
    if (slen != rlen || slen > 3)
        BAD("bad source in a MEMMOVE record");
    uint32_t s = redo_varint(l);
    s = s & 1 ? *last_offset - (s >> 1) - 1 : *last_offset + (s >> 1) + 1;
    if (s < 8 || s + n > ps)
        BAD("MEMMOVE source %u out of the page", s);
    *last_offset += rlen;
    return 0;
}

int redo_check_records(const uint8_t *recs, size_t len, redo_recs *c)
{
    uint32_t pos = 0, last_offset = 0, space = 0, page = 0, hl;
    int got_page_op = 0;
    c->records = 0;
    c->has_checkpoint = 0;
    c->why[0] = 0;
    for (; pos < len; c->records++) {
        const uint8_t b = recs[pos];
        uint32_t size = redo_rec_size(recs + pos, &hl), rlen = size - hl;
        const uint8_t *l = recs + pos + hl;
        if ((b & 0x70) == REC_RESERVED)
            BAD("unknown record type 0x%02x", b);
        if ((b & REC_SAME_PAGE) && got_page_op) {
            if ((b & 0x70) <= REC_INIT_PAGE)
                BAD("%s with the same-page flag",
                    (b & 0x70) == REC_FREE_PAGE ? "FREE_PAGE" : "INIT_PAGE");
        } else {
            last_offset = 0;
            uint32_t idlen = redo_varint_len(*l);
            if (idlen > 5 || idlen >= rlen) {
                if (!*l && b == (FILE_CHECKPOINT | 1)) { /* padding */
                    pos += size;
                    continue;
                }
                BAD("corrupted page identifier");
            }
            space = redo_varint(l);
            if (space == MLOG_DECODE_ERROR)
                BAD("corrupted page identifier");
            l += idlen;
            rlen -= idlen;
            idlen = redo_varint_len(*l);
            if (idlen > 5 || idlen > rlen || (page = redo_varint(l)) == MLOG_DECODE_ERROR)
                BAD("corrupted page identifier");
            l += idlen;
            rlen -= idlen;
            got_page_op = !(b & REC_SAME_PAGE);
            if (!got_page_op) {
                if (check_file_record(c, pos, b, space, page, l, rlen, pos + size == len))
                    return -1;
                pos += size;
                continue;
            }
        }
        if (rlen && (uint32_t)(l - (recs + pos)) + rlen > c->page_size)
            BAD("record of %u bytes longer than a page", rlen);
        switch (b & 0x70) {
        case REC_FREE_PAGE:
        case REC_INIT_PAGE:
            if (rlen)
                BAD("%s with a payload", (b & 0x70) == REC_FREE_PAGE ? "FREE_PAGE" : "INIT_PAGE");
            last_offset = (b & 0x70) == REC_FREE_PAGE ? 1 : REC_PAGE_TYPE_OFFSET;
            break;
        case REC_EXTENDED:
            if (!rlen)
                BAD("empty EXTENDED record");
            /* TRIM_PAGES (undo or system tablespace only; which spaces are undo tablespaces
             * the log does not say) */
            last_offset = rlen == 1 && *l == REC_EXT_TRIM_PAGES ? 1 : REC_PAGE_TYPE_OFFSET;
            break;
        case REC_OPTION:
            break;
        default: /* WRITE, MEMSET, MEMMOVE */
            if (check_page_write(c, pos, b, l, rlen, &last_offset))
                return -1;
        }
        pos += size;
    }
    return 0;
}
