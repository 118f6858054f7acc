/*
 * binlog.c - binary logs written with encrypt_binlog=ON, as far as re-keying needs them (see
 * ibdcrypt.h, "Binary logs").
 *
 * The format (sql/log_event.h Binlog_crypt_data, sql/log_event_server.cc
 * Log_event_writer::write_header / write_data / write_footer / maybe_write_event_len,
 * sql/log_event.cc decrypt_event), confirmed on 10.11.19 with both AES_CBC and AES_CTR:
 *   - BINLOG_MAGIC fe 'b' 'i' 'n', then the format description event (type 15, plain), then
 *     a START_ENCRYPTION_EVENT (type 164, plain): scheme 1 (1 byte), the key version of key
 *     id 1 (LE32), a 12-byte nonce. Every later event is encrypted.
 *   - An event header: timestamp 4, type 1, server id 4, event length 4 (offset 9), end
 *     position log_pos 4 (offset 13), flags 2 (all little-endian); with binlog_checksum=CRC32
 *     the event ends in zlib's CRC-32 of everything before it (my_checksum), computed over
 *     the plaintext with the length in its place.
 *   - Encrypted: the key is key id 1 itself (ENCRYPTION_KEY_SYSTEM_DATA, no wrapping); the IV
 *     is nonce || LE32(the event's offset in the file); the cipher is the key plugin's
 *     (file_key_management_encryption_algorithm) without padding (MariaDB's tail rule,
 *     ibc_nopad_crypt). Before encryption the timestamp is copied over the length (offset 9),
 *     then bytes [4, len) are encrypted as one stream; the 4 ciphertext bytes at offset 9 are
 *     written at offset 0 and the plain length at offset 9 (so a reader finds the length).
 * Whether a key opens an event: decrypted, its CRC must match (binlog_checksum=CRC32, the
 * default), or without checksums its log_pos must be its own end. A re-key decrypts and
 * encrypts every event whatever it holds (a bijection): damage stays the same damage under
 * the new key.
 *
 * A replica's relay log (sql/slave.cc queue_event; seen on 10.11.19 with both ends at
 * encrypt_binlog=ON) is written by the same writer, under the replica's key 1 and the nonce of
 * its own START_ENCRYPTION_EVENT, but the events the primary sent keep the primary's headers:
 * their log_pos is an end position in the primary's binary log. There only the CRC tells: in
 * a relay log without checksums, every event counts as sound.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine_internal.h"
#include "format.h"

#define EV_HEADER      19  /* LOG_EVENT_HEADER_LEN */
#define EV_LEN_OFF     9   /* EVENT_LEN_OFFSET */
#define EV_POS_OFF     13  /* LOG_POS_OFFSET */
#define FDE_TYPE       15  /* FORMAT_DESCRIPTION_EVENT */
#define START_ENC_TYPE 164 /* START_ENCRYPTION_EVENT */

int ibc_binlog_parse(const uint8_t *head, size_t len, ibc_binlog *b)
{
    memset(b, 0, sizeof(*b));
    static const uint8_t magic[4] = {0xfe, 'b', 'i', 'n'}; /* BINLOG_MAGIC */
    if (len < 4 + EV_HEADER)
        return len >= 4 && memcmp(head, magic, 4) ? 0 : -1;
    if (memcmp(head, magic, 4) || head[4 + 4] != FDE_TYPE)
        return 0;
    uint32_t fde = le32(head + 4 + EV_LEN_OFF);
    if (fde < EV_HEADER + 5 || fde > 65536)
        return 0;
    if (len < 4 + (size_t)fde + EV_HEADER)
        return -1;
    /* the format description ends in the checksum algorithm (1 byte: 0 off, 1 CRC32) and a
     * CRC field (log_event.cc Format_description_log_event: BINLOG_CHECKSUM_ALG_DESC_LEN) */
    b->checksums = head[4 + fde - 5] == 1;
    const uint8_t *s = head + 4 + fde;
    uint32_t slen = le32(s + EV_LEN_OFF);
    if (s[4] != START_ENC_TYPE)
        return 0;
    if (slen < EV_HEADER + 17 || slen > 4096)
        return 0;
    if (len < 4 + (size_t)fde + slen)
        return -1;
    /* Start_encryption_log_event: crypto scheme, key version, nonce (log_event.h) */
    if (s[EV_HEADER] != 1)
        return 0;
    b->key_version = le32(s + EV_HEADER + 1);
    memcpy(b->nonce, s + EV_HEADER + 5, 12);
    b->enc_start = 4 + (uint64_t)fde + slen;
    return 1;
}

/* Key id 1 of kr at the log's key version, expanded. */
static ibc_status log_key(const ibc_kernels *k, const ibc_keyring *kr, uint32_t version,
                          ibc_aes_key *out)
{
    uint8_t raw[IBC_KEY_MAX];
    size_t rlen = 0;
    ibc_status st = ibc_keyring_get(kr, 1, version, raw, &rlen);
    if (st == IBC_OK)
        k->aes_expand(out, raw, rlen);
    OPENSSL_cleanse(raw, sizeof(raw));
    return st;
}

static void event_iv(const ibc_binlog *b, uint64_t off, uint8_t iv[16])
{
    memcpy(iv, b->nonce, 12);
    put_le32(iv + 12, (uint32_t)off); /* Binlog_crypt_data::set_iv: int4store of the offset */
}

/* Is the decrypted event ev (len bytes at file offset off; open_event) sound? */
static int event_sound(const ibc_kernels *k, const ibc_binlog *b, const uint8_t *ev, uint32_t len,
                       uint64_t off)
{
    uint8_t l[4];
    if (!b->checksums)
        return b->relay || le32(ev + EV_POS_OFF) == (uint32_t)(off + len);
    /* the CRC of the event as written: timestamp, type and server id, length, the rest */
    put_le32(l, len);
    uint32_t crc = k->crc32z(0, ev + EV_LEN_OFF, 4);
    crc = k->crc32z(crc, ev + 4, EV_LEN_OFF - 4);
    crc = k->crc32z(crc, l, 4);
    crc = k->crc32z(crc, ev + EV_POS_OFF, len - 4 - EV_POS_OFF);
    return crc == le32(ev + len - 4);
}

/* Decrypt event ev (len bytes at file offset off) in place: afterwards ev[4, len) is the
 * decrypted stream, whose bytes at offset 9 are the timestamp. Returns whether it is sound. */
static int open_event(const ibc_kernels *k, const ibc_binlog *b, const ibc_aes_key *key,
                      ibc_algo algo, uint8_t *ev, uint32_t len, uint64_t off)
{
    uint8_t iv[16];
    event_iv(b, off, iv);
    memcpy(ev + EV_LEN_OFF, ev, 4);
    ibc_nopad_crypt(k, key, algo, 0, iv, ev + 4, ev + 4, len - 4);
    return event_sound(k, b, ev, len, off);
}

/* The inverse of open_event: encrypt the stream and put the length back at offset 9. */
static void seal_event(const ibc_kernels *k, const ibc_binlog *b, const ibc_aes_key *key,
                       ibc_algo algo, uint8_t *ev, uint32_t len, uint64_t off)
{
    uint8_t iv[16];
    event_iv(b, off, iv);
    ibc_nopad_crypt(k, key, algo, 1, iv, ev + 4, ev + 4, len - 4);
    memcpy(ev, ev + EV_LEN_OFF, 4);
    put_le32(ev + EV_LEN_OFF, len);
}

static uint32_t min_len(const ibc_binlog *b)
{
    return EV_HEADER + (b->checksums ? 4 : 0);
}

int ibc_binlog_event_opens(const ibc_engine *e, const ibc_binlog *b, const ibc_keyring *kr,
                           ibc_algo algo, const uint8_t *ev, size_t len, uint64_t off)
{
    uint32_t n = len >= EV_HEADER ? le32(ev + EV_LEN_OFF) : 0;
    if (n < min_len(b) || n > len)
        return 0;
    ibc_aes_key key;
    if (log_key(e->k, kr, b->key_version, &key) != IBC_OK)
        return 0;
    uint8_t *copy = malloc(n);
    int ok = copy != NULL;
    if (ok) {
        memcpy(copy, ev, n);
        ok = open_event(e->k, b, &key, algo, copy, n, off);
        OPENSSL_cleanse(copy, n);
        free(copy);
    }
    ibc_aes_key_wipe(&key);
    return ok;
}

#define WINDOW 256 /* events decrypted before their encryption is shared out into lanes */

typedef struct win_ev {
    uint8_t *p;
    uint32_t len;
    uint64_t off;
} win_ev;

/* Decrypt (CBC) the n events of w under key in place, as open_event does, the tails' masks
 * in one call. Returns how many are not sound. */
static uint32_t open_cbc_window(const ibc_kernels *k, const ibc_binlog *b, const ibc_aes_key *key,
                                const win_ev *w, size_t n)
{
    uint8_t iv[WINDOW][16], mask[WINDOW][16];
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++)
        event_iv(b, w[i].off, iv[i]);
    k->aes_ecb_enc(key, iv[0], mask[0], n); /* the tails (ibc_nopad_crypt) */
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = w[i].p, v[16];
        uint32_t nb = (w[i].len - 4) / 16;
        memcpy(p + EV_LEN_OFF, p, 4);
        memcpy(v, iv[i], 16);
        k->aes_cbc_dec(key, v, p + 4, p + 4, nb);
        for (uint32_t j = 0; j < (w[i].len - 4) % 16; j++)
            p[4 + nb * 16 + j] ^= mask[i][j];
        bad += !event_sound(k, b, p, w[i].len, w[i].off);
    }
    OPENSSL_cleanse(mask, sizeof(mask)); /* keystream */
    return bad;
}

/* Encrypt the decrypted streams of the n events of w under key (CBC, MariaDB's tail rule) and
 * put their lengths back: lanes of about equal length side by side, since one event's CBC
 * encryption is a serial chain. */
static void seal_cbc_window(const ibc_kernels *k, const ibc_binlog *b, const ibc_aes_key *key,
                            const win_ev *w, size_t n)
{
    /* a counting sort by length class: exact below 64 blocks, by 64 blocks above */
    enum { CLASSES = 128 };
    uint16_t first[CLASSES + 1] = {0}, order[WINDOW];
    uint8_t cls[WINDOW];
    for (size_t i = 0; i < n; i++) {
        uint32_t nb = (w[i].len - 4) / 16;
        cls[i] = (uint8_t)(nb < 64 ? nb : 64 + (nb / 64 < 63 ? nb / 64 : 63));
        first[cls[i] + 1]++;
    }
    for (int c = 0; c < CLASSES; c++)
        first[c + 1] = (uint16_t)(first[c + 1] + first[c]);
    for (size_t i = 0; i < n; i++)
        order[first[cls[i]]++] = (uint16_t)i;
    for (size_t g = 0; g < n; g += IBC_MB_MAX_LANES) {
        size_t cnt = n - g < IBC_MB_MAX_LANES ? n - g : IBC_MB_MAX_LANES;
        ibc_cbc_lane lane[IBC_MB_MAX_LANES];
        uint8_t iv[IBC_MB_MAX_LANES][16], mask[IBC_MB_MAX_LANES][16];
        for (size_t i = 0; i < cnt; i++) {
            const win_ev *x = &w[order[g + i]];
            event_iv(b, x->off, iv[i]);
            lane[i] = (ibc_cbc_lane){x->p + 4, x->p + 4, (x->len - 4) / 16, {0}};
            memcpy(lane[i].iv, iv[i], 16);
        }
        k->aes_cbc_enc_mb(key, lane, cnt);
        /* the tails (ibc_nopad_crypt): XORed with AES-ECB(key, the IV) */
        k->aes_ecb_enc(key, iv[0], mask[0], cnt);
        for (size_t i = 0; i < cnt; i++) {
            const win_ev *x = &w[order[g + i]];
            uint8_t *t = x->p + 4 + (x->len - 4) / 16 * 16;
            for (uint32_t j = 0; j < (x->len - 4) % 16; j++)
                t[j] ^= mask[i][j];
            memcpy(x->p, x->p + EV_LEN_OFF, 4);
            put_le32(x->p + EV_LEN_OFF, x->len);
        }
        OPENSSL_cleanse(mask, sizeof(mask)); /* keystream */
    }
}

/* The next whole events from buf + *pos (file offset off + *pos), at most WINDOW, into w:
 * their count. *st becomes IBC_ERR_CORRUPT at an impossible length. */
static size_t next_window(const ibc_binlog *b, uint8_t *buf, size_t len, uint64_t off, size_t *pos,
                          win_ev *w, ibc_status *st)
{
    size_t cnt = 0;
    while (cnt < WINDOW && *pos + EV_HEADER <= len) {
        uint32_t l = le32(buf + *pos + EV_LEN_OFF);
        if (l < min_len(b)) {
            *st = IBC_ERR_CORRUPT;
            break;
        }
        if (l > len - *pos)
            break; /* the caller's next buffer */
        w[cnt++] = (win_ev){buf + *pos, l, off + *pos};
        *pos += l;
    }
    return cnt;
}

ibc_status ibc_binlog_rekey(const ibc_engine *e, const ibc_binlog *b, const ibc_keyring *from,
                            const ibc_keyring *to, ibc_algo algo, uint8_t *buf, size_t len,
                            uint64_t off, size_t *done, uint32_t *unsound)
{
    *done = 0;
    *unsound = 0;
    if (algo != IBC_ALGO_CBC && algo != IBC_ALGO_CTR)
        return IBC_ERR_INVALID_ARG;
    ibc_aes_key ok, nk;
    ibc_status st = log_key(e->k, from, b->key_version, &ok);
    if (st == IBC_OK && (st = log_key(e->k, to, b->key_version, &nk)) != IBC_OK)
        ibc_aes_key_wipe(&ok);
    if (st != IBC_OK)
        return st;
    win_ev w[WINDOW];
    size_t pos = 0, cnt;
    while (st == IBC_OK && (cnt = next_window(b, buf, len, off, &pos, w, &st)) > 0) {
        /* decrypting under one key and encrypting under the other is a bijection: an event
         * damaged before decrypts under the new key to the same damaged bytes */
        if (algo == IBC_ALGO_CTR) {
            for (size_t i = 0; i < cnt; i++) {
                *unsound += !open_event(e->k, b, &ok, algo, w[i].p, w[i].len, w[i].off);
                seal_event(e->k, b, &nk, algo, w[i].p, w[i].len, w[i].off);
            }
        } else {
            *unsound += open_cbc_window(e->k, b, &ok, w, cnt);
            seal_cbc_window(e->k, b, &nk, w, cnt);
        }
    }
    ibc_aes_key_wipe(&ok);
    ibc_aes_key_wipe(&nk);
    *done = pos;
    return st;
}

ibc_status ibc_binlog_check(const ibc_engine *e, const ibc_binlog *b, const ibc_keyring *kr,
                            ibc_algo algo, uint8_t *buf, size_t len, uint64_t off, size_t *done,
                            uint64_t *events, uint32_t *unsound, uint64_t *first_bad)
{
    *done = 0;
    *events = 0;
    *unsound = 0;
    *first_bad = 0;
    if (algo != IBC_ALGO_CBC && algo != IBC_ALGO_CTR)
        return IBC_ERR_INVALID_ARG;
    ibc_aes_key key;
    ibc_status st = log_key(e->k, kr, b->key_version, &key);
    if (st != IBC_OK)
        return st;
    win_ev w[WINDOW];
    size_t pos = 0, cnt;
    while (st == IBC_OK && (cnt = next_window(b, buf, len, off, &pos, w, &st)) > 0) {
        for (size_t i = 0; i < cnt; i++)
            if (!open_event(e->k, b, &key, algo, w[i].p, w[i].len, w[i].off) && !(*unsound)++)
                *first_bad = w[i].off;
        *events += cnt;
    }
    ibc_aes_key_wipe(&key);
    *done = pos;
    return st;
}
