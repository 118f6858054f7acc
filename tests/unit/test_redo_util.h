/*
 * test_redo_util.h - shared by the redo log tests (static functions, included once per test):
 *
 *   - loading test data: the zstd-compressed real logs of tests/data/redo/ (libzstd), key files;
 *   - an independent log writer that builds ib_logfile0 images from the format sheet's rules
 *     (formats/mariadb.md §10): header, checkpoint blocks, mtrs laid round the ring with their
 *     sequence bits, encrypted as FORMAT_ENC_11 (one stream per mtr) or as the older
 *     FORMAT_10_8 crypt scheme (each page record's payload on its own, IV = nonce | space |
 *     page), CRC-32C over records + nonce;
 *   - the matching decoder, to read back what the engine wrote.
 * Both use OpenSSL for AES and the reference CRC (tests/ref.c), never the engine's kernels, so
 * they are an oracle for the engine rather than a copy of it.
 */
#ifndef IBC_TEST_REDO_UTIL_H
#define IBC_TEST_REDO_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ibdcrypt/ibdcrypt.h"
#include "ref.h"
#include "testutil.h"

/* Not every test uses every helper. */
#define TR_FN static __attribute__((unused))

/* ---- test data ---------------------------------------------------------------------------- */

TR_FN uint8_t *tr_slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(len > 0 ? (size_t)len : 1);
    if (p && fread(p, 1, (size_t)len, f) != (size_t)len) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* tests/data/redo/<name>.ib_logfile0.zst, decompressed. */
TR_FN uint8_t *tr_load_log(const char *name, size_t *n)
{
    char path[600];
    snprintf(path, sizeof(path), "%.400s/data/redo/%.100s.ib_logfile0.zst", tu_data_dir(), name);
    size_t zn;
    uint8_t *z = tr_slurp(path, &zn);
    if (!z)
        return NULL;
    unsigned long long len = ZSTD_getFrameContentSize(z, zn);
    uint8_t *p = NULL;
    if (len != ZSTD_CONTENTSIZE_ERROR && len != ZSTD_CONTENTSIZE_UNKNOWN &&
        (p = malloc((size_t)len)) != NULL) {
        size_t got = ZSTD_decompress(p, (size_t)len, z, zn);
        if (ZSTD_isError(got) || got != len) {
            free(p);
            p = NULL;
        }
    }
    free(z);
    *n = (size_t)len;
    return p;
}

/* "key=value" from tests/data/redo/<name>.txt, or 0. */
TR_FN uint64_t tr_log_fact(const char *name, const char *key)
{
    char path[600], line[512];
    snprintf(path, sizeof(path), "%.400s/data/redo/%.100s.txt", tu_data_dir(), name);
    FILE *f = fopen(path, "r");
    uint64_t v = 0;
    size_t kl = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, kl) && line[kl] == '=')
            v = strtoull(line + kl + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

TR_FN ibc_keyring *tr_keys(const char *file)
{
    char path[600], err[256];
    ibc_keyring *kr = NULL;
    snprintf(path, sizeof(path), "%.400s/data/redo/%.100s", tu_data_dir(), file);
    if (ibc_keyring_load(path, NULL, &kr, err, sizeof(err)) != IBC_OK)
        fprintf(stderr, "%s\n", err);
    return kr;
}

/* A write function of ibc_redo_rekey into an image, recording what it was given. */
typedef struct tr_sink {
    uint8_t *img;
    size_t size;
    size_t writes;
    uint64_t bytes;
    int bad; /* a range outside the file, or crossing its end */
} tr_sink;

TR_FN int tr_sink_write(void *ctx, uint64_t off, const uint8_t *data, size_t len)
{
    tr_sink *s = ctx;
    if (off > s->size || len > s->size - off || !len) {
        s->bad = 1;
        return 1;
    }
    memcpy(s->img + off, data, len);
    s->writes++;
    s->bytes += len;
    return 0;
}

/* ---- the writer ----------------------------------------------------------------------------- */

enum { TR_PLAIN = 0, TR_ENC_10_8 = 1, TR_ENC_11 = 2 }; /* = ibc_redo_format */

TR_FN void tr_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
TR_FN void tr_be64(uint8_t *p, uint64_t v)
{
    tr_be32(p, (uint32_t)(v >> 32));
    tr_be32(p + 4, (uint32_t)v);
}
TR_FN uint64_t tr_rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

typedef struct tr_log {
    uint8_t *img;
    size_t size;
    uint64_t first_lsn, cap;
    int format;
    ibc_algo algo;
    uint8_t log_key[16];
    uint64_t lsn; /* where the next mtr goes */
} tr_log;

/* MariaDB's NOPAD cipher: CBC with the tail XORed with AES-ECB(key, IV), or CTR. */
TR_FN void tr_xcrypt(ibc_algo algo, int enc, const uint8_t key[16], const uint8_t iv[16],
                     const uint8_t *in, uint8_t *out, size_t len)
{
    if (!len)
        return;
    if (algo == IBC_ALGO_CTR) {
        ref_aes('t', enc, key, 16, iv, in, out, len);
        return;
    }
    size_t whole = len / 16 * 16;
    uint8_t mask[16], tail[16];
    memcpy(tail, in + whole, len - whole);
    if (whole)
        ref_aes('c', enc, key, 16, iv, in, out, whole);
    ref_aes('e', 1, key, 16, NULL, iv, mask, 16);
    for (size_t i = 0; i < len - whole; i++)
        out[whole + i] = tail[i] ^ mask[i];
}

/* The header of a new log: format, first LSN, creator, crypt info (key 1 version 1), CRC. */
TR_FN void tr_log_init(tr_log *L, int format, ibc_algo algo, size_t size, uint64_t first_lsn,
                       const uint8_t *file_key, size_t fklen, const uint8_t msg[16],
                       const char *creator)
{
    memset(L, 0, sizeof(*L));
    L->img = calloc(1, size);
    L->size = size;
    L->first_lsn = first_lsn;
    L->cap = size - 12288;
    L->format = format;
    L->algo = algo;
    tr_be32(L->img, format == TR_ENC_11 ? 0xF09F979Du : 0x50687973u);
    tr_be64(L->img + 8, first_lsn);
    memcpy(L->img + 16, creator, strlen(creator) < 32 ? strlen(creator) : 32);
    if (format != TR_PLAIN) {
        tr_be32(L->img + 48, 1);
        tr_be32(L->img + 52, 1);
        memcpy(L->img + 56, msg, 16);
        tu_rand_bytes(L->img + 72, 4); /* crypt_nonce: no reader uses it */
        ref_aes('e', 1, file_key, fklen, NULL, msg, L->log_key, 16);
    }
    tr_be32(L->img + 508, ref_crc32c(0, L->img, 508));
}

TR_FN void tr_log_checkpoint(tr_log *L, int block, uint64_t cp, uint64_t end)
{
    uint8_t *b = L->img + (block ? 8192 : 4096);
    memset(b, 0, 64);
    tr_be64(b, cp);
    tr_be64(b + 8, end);
    tr_be32(b + 60, ref_crc32c(0, b, 60));
}

TR_FN uint64_t tr_off(const tr_log *L, uint64_t lsn)
{
    return 12288 + (lsn - L->first_lsn) % L->cap;
}

TR_FN void tr_put(tr_log *L, uint64_t lsn, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        L->img[tr_off(L, lsn + i)] = p[i];
}

TR_FN void tr_get(const tr_log *L, uint64_t lsn, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = L->img[tr_off(L, lsn + i)];
}

/* Record at p: total size and type/length bytes (mtr_t::parse_length). */
TR_FN size_t tr_rec(const uint8_t *p, size_t *hl)
{
    size_t rlen = p[0] & 15;
    *hl = 1;
    if (!rlen) {
        uint8_t b = p[1];
        if (b < 0x80) {
            rlen = b;
            *hl = 2;
        } else if (b < 0xc0) {
            rlen = 0x80 + ((size_t)(b & 0x3f) << 8 | p[2]);
            *hl = 3;
        } else {
            rlen = 0x4080 + ((size_t)(b & 0x1f) << 16 | (size_t)p[2] << 8 | p[3]);
            *hl = 4;
        }
        rlen += 15;
    }
    return 1 + rlen;
}

/* Encrypt (enc) or decrypt the records of one mtr in place under key, as the sheet says. */
TR_FN void tr_crypt_recs(int format, ibc_algo algo, int enc, const uint8_t key[16],
                         const uint8_t nonce[8], uint8_t *recs, size_t len)
{
    uint8_t iv[16] = {0};
    memcpy(iv, nonce, 8);
    if (format == TR_ENC_11) {
        uint8_t *s = calloc(1, len + 1);
        size_t n = 0, hl, t1 = 0;
        for (size_t pos = 0; pos < len;) {
            size_t size = tr_rec(recs + pos, &hl);
            if (!pos)
                t1 = hl;
            memcpy(s + n, recs + pos + hl, size - hl);
            n += size - hl;
            pos += size;
        }
        memcpy(iv + 8, recs, t1);
        tr_xcrypt(algo, enc, key, iv, s, s, n);
        n = 0;
        for (size_t pos = 0; pos < len;) {
            size_t size = tr_rec(recs + pos, &hl);
            memcpy(recs + pos + hl, s + n, size - hl);
            n += size - hl;
            pos += size;
        }
        free(s);
    } else if (format == TR_ENC_10_8) {
        /* log0crypt.cc log_encrypt_buf: a page record (type < 0x80) puts its page id into the
         * IV; its payload after the id, and a same-page record's whole body, are encrypted.
         * The writer only builds page mtrs or file mtrs: file mtrs stay plain. */
        if (recs[0] & 0x80)
            return;
        for (size_t pos = 0, hl; pos < len;) {
            size_t size = tr_rec(recs + pos, &hl), skip = 0;
            uint8_t *body = recs + pos + hl;
            if (!(recs[pos] & 0x80)) {
                uint32_t v[2];
                for (int k = 0; k < 2; k++) { /* the writer's ids: 1- or 2-byte varints */
                    if (body[skip] < 0x80) {
                        v[k] = body[skip];
                        skip += 1;
                    } else {
                        v[k] = 0x80 + ((uint32_t)(body[skip] & 0x3f) << 8 | body[skip + 1]);
                        skip += 2;
                    }
                }
                tr_be32(iv + 8, v[0]);
                tr_be32(iv + 12, v[1]);
            }
            tr_xcrypt(algo, enc, key, iv, body + skip, body + skip, size - hl - skip);
            pos += size;
        }
    }
}

/* Append one mtr of plaintext records at L->lsn: encrypt, sequence byte, nonce, CRC. Returns
 * its start LSN. */
TR_FN uint64_t tr_log_mtr(tr_log *L, const uint8_t *recs, size_t len, uint64_t nonce)
{
    uint64_t lsn = L->lsn;
    size_t nl = L->format == TR_PLAIN ? 0 : 8, size = len + 1 + nl + 4;
    uint8_t *m = malloc(size);
    memcpy(m, recs, len);
    m[len] = (uint8_t) !(((lsn + len - L->first_lsn) / L->cap) & 1);
    if (nl) {
        tr_be64(m + len + 1, nonce);
        tr_crypt_recs(L->format, L->algo, 1, L->log_key, m + len + 1, m, len);
    }
    uint32_t crc = ref_crc32c(0, m, len);
    if (nl)
        crc = ref_crc32c(crc, m + len + 1, nl);
    tr_be32(m + len + 1 + nl, crc);
    tr_put(L, lsn, m, size);
    free(m);
    L->lsn += size;
    return lsn;
}

/* Read back the mtr of `len` record bytes at lsn with key: CRC check, decrypt into out. */
TR_FN int tr_read_mtr(const tr_log *L, const uint8_t key[16], ibc_algo algo, uint64_t lsn,
                      size_t len, uint8_t *out)
{
    size_t nl = L->format == TR_PLAIN ? 0 : 8;
    uint8_t *m = malloc(len + 13);
    tr_get(L, lsn, m, len + 1 + nl + 4);
    uint32_t crc = ref_crc32c(0, m, len);
    if (nl)
        crc = ref_crc32c(crc, m + len + 1, nl);
    uint32_t stored = (uint32_t)m[len + 1 + nl] << 24 | (uint32_t)m[len + 2 + nl] << 16 |
                      (uint32_t)m[len + 3 + nl] << 8 | m[len + 4 + nl];
    int ok = crc == stored && m[len] == (uint8_t) !(((lsn + len - L->first_lsn) / L->cap) & 1);
    if (nl)
        tr_crypt_recs(L->format, algo, 0, key, m + len + 1, m, len);
    memcpy(out, m, len);
    free(m);
    return ok;
}

/* ---- records -------------------------------------------------------------------------------- */

typedef struct tr_buf {
    uint8_t b[1 << 17];
    size_t n;
} tr_buf;

TR_FN void tr_varint(tr_buf *o, uint32_t v)
{
    if (v < 0x80) {
        o->b[o->n++] = (uint8_t)v;
    } else if (v < 0x4080) {
        v -= 0x80;
        o->b[o->n++] = (uint8_t)(0x80 | v >> 8);
        o->b[o->n++] = (uint8_t)v;
    } else {
        v -= 0x4080;
        o->b[o->n++] = (uint8_t)(0xc0 | v >> 16);
        o->b[o->n++] = (uint8_t)(v >> 8);
        o->b[o->n++] = (uint8_t)v;
    }
}

/* A record: type (high nibble, same-page bit) and body; the length encoding chosen here. */
TR_FN void tr_record(tr_buf *o, uint8_t type, const uint8_t *body, size_t n)
{
    if (n >= 1 && n <= 15) {
        o->b[o->n++] = (uint8_t)(type | n);
    } else {
        /* rlen = varint + 15 counts the varint's own bytes */
        size_t vl = n - 14 < 0x80 ? 1 : n - 13 < 0x4080 ? 2 : 3;
        o->b[o->n++] = type;
        tr_varint(o, (uint32_t)(n + vl - 15));
    }
    memcpy(o->b + o->n, body, n);
    o->n += n;
}

/* A page record with page id and payload. */
TR_FN void tr_page_rec(tr_buf *o, uint8_t type, uint32_t space, uint32_t page,
                       const uint8_t *payload, size_t n)
{
    tr_buf b;
    b.n = 0;
    tr_varint(&b, space);
    tr_varint(&b, page);
    if (n)
        memcpy(b.b + b.n, payload, n);
    tr_record(o, type, b.b, b.n + n);
}

/* A random page mtr whose records pass recovery's checks for 16 KiB pages: INIT_PAGE or
 * WRITE or EXTENDED first, then same-page WRITE / MEMSET / MEMMOVE / OPTION records. `big`
 * adds one large WRITE (several KiB: 2- and 3-byte length varints). */
TR_FN void tr_page_mtr(tr_buf *o, int big)
{
    uint32_t space = (uint32_t)tu_rand_below(300), page = (uint32_t)tu_rand_below(16000);
    uint8_t pl[8192 + 16];
    tr_buf t;
    uint32_t last; /* last_offset as parse_tail keeps it */
    switch (tu_rand_below(4)) {
    case 0:
        tr_page_rec(o, 0x10, space, page, NULL, 0); /* INIT_PAGE */
        last = 24;
        break;
    case 1: { /* FREE_PAGE, alone */
        tr_page_rec(o, 0x00, space, page, NULL, 0);
        return;
    }
    case 2:
        pl[0] = (uint8_t)tu_rand_below(10); /* an EXTENDED subtype, not TRIM_PAGES */
        tu_rand_bytes(pl + 1, 6);
        tr_page_rec(o, 0x20, space, page, pl, 1 + tu_rand_below(7));
        last = 24;
        break;
    default: {
        size_t n = big ? 1000 + tu_rand_below(7000) : 1 + tu_rand_below(40);
        uint32_t off = 38 + (uint32_t)tu_rand_below(16384 - 38 - n);
        t.n = 0;
        tr_varint(&t, off);
        tu_rand_bytes(t.b + t.n, n);
        t.n += n;
        tr_page_rec(o, 0x30, space, page, t.b, t.n);
        last = off + (uint32_t)n;
        big = 0;
    }
    }
    for (int i = (int)tu_rand_below(6); i > 0; i--) {
        uint32_t room = 16384 - last;
        if (room < 300)
            break;
        uint32_t delta = 1 + (uint32_t)tu_rand_below(200);
        t.n = 0;
        switch (tu_rand_below(big ? 1 : 4)) {
        case 0: { /* WRITE */
            size_t n = big ? 1000 + tu_rand_below(room - delta - 1 < 7000 ? room - delta - 1 : 7000)
                           : 1 + tu_rand_below(60);
            if (n > room - delta - 1)
                n = room - delta - 1;
            tr_varint(&t, delta);
            tu_rand_bytes(t.b + t.n, n);
            t.n += n;
            tr_record(o, 0x80 | 0x30, t.b, t.n);
            last += delta + (uint32_t)n;
            big = 0;
            break;
        }
        case 1: { /* MEMSET: offset, length, pattern */
            uint32_t len = 1 + (uint32_t)tu_rand_below(80);
            size_t pat = 1 + tu_rand_below(len < 4 ? len : 4);
            tr_varint(&t, delta);
            tr_varint(&t, len);
            tu_rand_bytes(t.b + t.n, pat);
            t.n += pat;
            tr_record(o, 0x80 | 0x40, t.b, t.n);
            last += delta + (uint32_t)pat;
            break;
        }
        case 2: { /* MEMMOVE: offset, length, source (relative, backwards) */
            uint32_t len = 1 + (uint32_t)tu_rand_below(40), back = (uint32_t)tu_rand_below(20);
            if (last + delta < back + 9) /* the source must stay at or after byte 8 */
                back = 0;
            tr_varint(&t, delta);
            tr_varint(&t, len);
            tr_varint(&t, back << 1 | 1);
            tr_record(o, 0x80 | 0x50, t.b, t.n);
            last += delta + 1; /* parse_tail adds the source varint's length */
            break;
        }
        default: /* OPTION */
            tu_rand_bytes(t.b, 5);
            tr_record(o, 0x80 | 0x70, t.b, 5);
        }
    }
}

/* A file mtr: FILE_CREATE / FILE_MODIFY / FILE_RENAME / FILE_DELETE records, and optionally
 * FILE_CHECKPOINT(cp) last. */
TR_FN void tr_file_mtr(tr_buf *o, int nfiles, uint64_t cp)
{
    static const uint8_t types[4] = {0x80, 0xB0, 0xA0, 0x90};
    for (int i = 0; i < nfiles; i++) {
        uint8_t t = types[tu_rand_below(4)];
        char name[80];
        int n = snprintf(name, sizeof(name), "./ibc/t_%u.ibd", (unsigned)tu_rand_below(100000));
        if (t == 0xA0) {
            name[n] = 0;
            n += 1 + snprintf(name + n + 1, sizeof(name) - (size_t)n - 1, "./ibc/r_%u.ibd",
                              (unsigned)tu_rand_below(100));
        }
        tr_page_rec(o, t, 1 + (uint32_t)tu_rand_below(200), 0, (const uint8_t *)name, (size_t)n);
    }
    if (cp) {
        uint8_t l[8];
        tr_be64(l, cp);
        tr_page_rec(o, 0xF0, 0, 0, l, 8);
    }
}

#endif
