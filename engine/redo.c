/*
 * redo.c - an ib_logfile0: its header and checkpoint blocks, and its log key.
 *
 * Header and checkpoints as recovery reads them (log0recv.cc recv_sys_t::find_checkpoint;
 * formats/mariadb.md §10.1, §10.4.1): format id, reserved zero, first LSN >= 12288, creator,
 * crypt info at 48 (log0crypt.cc log_crypt_read_header: key id must be 1), CRC-32C of [0, 508)
 * at 508; two checkpoint blocks of which the valid one with the larger LSN wins (the second on
 * a tie).
 *
 * The log key is L = AES-ECB(file key 1 at the header's key version, crypt_msg), 16 bytes, used
 * as AES-128 (log0crypt.cc init_crypt_key). A wrong key passes every CRC, so it is checked on
 * plaintext: the FILE_CHECKPOINT mtr of the checkpoint (FORMAT_ENC_11; §10.4.6) and the record
 * syntax of the first mtrs after the checkpoint, which also tells AES_CBC from AES_CTR.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "redo_internal.h"

void redo_err(const ibc_redo *r, char *err, size_t n, const char *fmt, ...)
{
    if (!err || !n)
        return;
    int w = snprintf(err, n, "%s: ", r->name);
    if (w < 0 || (size_t)w >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + w, n - (size_t)w, fmt, ap);
    va_end(ap);
}

const char *ibc_redo_format_name(ibc_redo_format f)
{
    switch (f) {
    case IBC_REDO_PLAIN:
        return "plain";
    case IBC_REDO_ENC_10_8:
        return "enc-10.8";
    case IBC_REDO_ENC_11:
        return "enc-11";
    }
    return "unknown";
}

static ibc_status read_at(ibc_redo *r, uint64_t off, uint8_t *dst, size_t n, char *err,
                          size_t errlen)
{
    if (r->mem) {
        memcpy(dst, r->mem + off, n);
        return IBC_OK;
    }
    for (size_t got = 0; got < n;) {
        ssize_t k = pread(r->fd, dst + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            redo_err(r, err, errlen, "read at offset %llu failed: %s",
                     (unsigned long long)(off + got),
                     k < 0 ? strerror(errno) : "unexpected end of file");
            return IBC_ERR_IO;
        }
        got += (size_t)k;
    }
    return IBC_OK;
}

/* Names of the formats recovery upgrades from (log0recv.cc find_checkpoint). */
static const char *old_format_name(uint32_t f)
{
    switch (f & ~LOG_FORMAT_ENCRYPTED) {
    case LOG_FORMAT_10_2:
        return "10.2";
    case LOG_FORMAT_10_3:
        return "10.3";
    case LOG_FORMAT_10_4:
        return "10.4";
    case LOG_FORMAT_10_5:
        return "10.5";
    }
    return NULL;
}

static ibc_status parse_header(ibc_redo *r, char *err, size_t errlen)
{
    ibc_redo_info *in = &r->info;
    uint8_t cpb[2][64];
    in->file_size = r->size;
    if (r->size < LOG_START_OFFSET + SIZE_OF_FILE_CHECKPOINT) {
        redo_err(r, err, errlen, "%llu bytes: too small for a redo log (at least %u)",
                 (unsigned long long)r->size, LOG_START_OFFSET + SIZE_OF_FILE_CHECKPOINT);
        return IBC_ERR_FORMAT;
    }
    ibc_status st = read_at(r, 0, r->hdr, LOG_HDR_SIZE, err, errlen);
    if (st == IBC_OK)
        st = read_at(r, LOG_CHECKPOINT_1, cpb[0], 64, err, errlen);
    if (st == IBC_OK)
        st = read_at(r, LOG_CHECKPOINT_2, cpb[1], 64, err, errlen);
    if (st != IBC_OK)
        return st;
    const uint8_t *h = r->hdr;
    in->format_id = be32(h + LOG_HEADER_FORMAT);
    in->capacity = r->size - LOG_START_OFFSET;
    memcpy(in->creator, h + LOG_HEADER_CREATOR, 32);
    in->creator[32] = 0;
    for (int i = 0; i < 32 && in->creator[i]; i++)
        if (in->creator[i] < 0x20 || in->creator[i] > 0x7e)
            in->creator[i] = '?';
    const char *old = old_format_name(in->format_id);
    if (old) {
        redo_err(r, err, errlen,
                 "redo log format %s (0x%08x%s), created by \"%s\": written by MariaDB < 10.8, "
                 "which only that version can recover; only 10.8+ logs are supported",
                 old, in->format_id, in->format_id & LOG_FORMAT_ENCRYPTED ? ", encrypted" : "",
                 in->creator);
        return IBC_ERR_UNSUPPORTED;
    }
    if (in->format_id != LOG_FORMAT_10_8 && in->format_id != LOG_FORMAT_ENC_11) {
        redo_err(r, err, errlen,
                 "not a MariaDB 10.8+ redo log: format id 0x%08x at offset 0 (expected "
                 "0x%08x, or 0x%08x when encrypted)%s",
                 in->format_id, LOG_FORMAT_10_8, LOG_FORMAT_ENC_11,
                 in->format_id ? "" : " - an all-zero header or a pre-10.2 log");
        return IBC_ERR_FORMAT;
    }
    uint32_t crc = r->k->crc32c(0, h, LOG_HEADER_CRC);
    if (crc != be32(h + LOG_HEADER_CRC)) {
        redo_err(r, err, errlen, "header CRC-32C mismatch (stored %08x, computed %08x)",
                 be32(h + LOG_HEADER_CRC), crc);
        return IBC_ERR_FORMAT;
    }
    in->first_lsn = be64(h + LOG_HEADER_START_LSN);
    if (be32(h + LOG_HEADER_SUBFORMAT) || in->first_lsn < LOG_FIRST_LSN) {
        redo_err(r, err, errlen,
                 "invalid header block (bytes 4..7 not zero, or first LSN "
                 "%llu < %u)",
                 (unsigned long long)in->first_lsn, LOG_FIRST_LSN);
        return IBC_ERR_FORMAT;
    }
    in->key_id = be32(h + LOG_CRYPT_KEY_ID);
    in->key_version = be32(h + LOG_CRYPT_KEY_VERSION);
    if (in->format_id == LOG_FORMAT_10_8 && !in->key_id) {
        in->format = IBC_REDO_PLAIN;
        in->key_version = 0;
    } else if (in->key_id != LOG_DEFAULT_ENCRYPTION_KEY) {
        redo_err(r, err, errlen, "crypt header names key id %u; the server reads only key id 1",
                 in->key_id);
        return IBC_ERR_UNSUPPORTED;
    } else {
        in->format = in->format_id == LOG_FORMAT_ENC_11 ? IBC_REDO_ENC_11 : IBC_REDO_ENC_10_8;
        in->encrypted = 1;
        r->nonce_len = REDO_NONCE;
    }
    /* checkpoint blocks: the valid one with the larger LSN (the second on a tie) */
    static const uint8_t zero[44];
    in->chosen = -1;
    for (int i = 0; i < 2; i++) {
        ibc_redo_checkpoint *c = &in->checkpoint[i];
        c->lsn = be64(cpb[i]);
        c->end_lsn = be64(cpb[i] + 8);
        c->valid = c->lsn >= in->first_lsn && c->end_lsn >= c->lsn &&
                   !memcmp(cpb[i] + 16, zero, sizeof(zero)) &&
                   r->k->crc32c(0, cpb[i], LOG_CHECKPOINT_CRC) == be32(cpb[i] + LOG_CHECKPOINT_CRC);
        if (c->valid && (in->chosen < 0 || c->lsn >= in->checkpoint[in->chosen].lsn))
            in->chosen = i;
    }
    if (in->chosen < 0) {
        redo_err(r, err, errlen, "no valid checkpoint block at offset 4096 or 8192");
        return IBC_ERR_FORMAT;
    }
    in->checkpoint_lsn = in->checkpoint[in->chosen].lsn;
    in->checkpoint_end_lsn = in->checkpoint[in->chosen].end_lsn;
    /* the pass round the ring the checkpoint is in: its start and sequence bit */
    uint64_t pass = (in->checkpoint_lsn - in->first_lsn) / in->capacity;
    r->seq_base = in->first_lsn + pass * in->capacity;
    r->seq_bit0 = !(pass & 1);
    r->seq_ok = 1;
    return IBC_OK;
}

static ibc_status redo_new(const ibc_engine *e, const char *name, ibc_redo **out)
{
    ibc_redo *r = calloc(1, sizeof(*r));
    if (!r)
        return IBC_ERR_NOMEM;
    r->e = e;
    r->k = e->k;
    r->fd = -1;
    r->page_size = 65536;
    snprintf(r->name, sizeof(r->name), "%s", name ? name : "ib_logfile0");
    *out = r;
    return IBC_OK;
}

ibc_status ibc_redo_open(const ibc_engine *e, const char *path, ibc_redo **out, char *err,
                         size_t errlen)
{
    if (!out)
        return IBC_ERR_INVALID_ARG;
    *out = NULL;
    if (!e || !path)
        return IBC_ERR_INVALID_ARG;
    ibc_redo *r;
    ibc_status st = redo_new(e, path, &r);
    if (st != IBC_OK)
        return st;
    struct stat sb;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0 || fstat(r->fd, &sb) != 0) {
        int en = errno;
        redo_err(r, err, errlen, "cannot open: %s", strerror(en));
        ibc_redo_free(r);
        errno = en;
        return IBC_ERR_IO;
    }
    if (!S_ISREG(sb.st_mode)) {
        redo_err(r, err, errlen, "not a regular file");
        ibc_redo_free(r);
        return IBC_ERR_FORMAT;
    }
    r->size = (uint64_t)sb.st_size;
    st = parse_header(r, err, errlen);
    if (st != IBC_OK) {
        ibc_redo_free(r);
        return st;
    }
    *out = r;
    return IBC_OK;
}

ibc_status ibc_redo_open_mem(const ibc_engine *e, const void *data, size_t len, const char *name,
                             ibc_redo **out, char *err, size_t errlen)
{
    if (!out)
        return IBC_ERR_INVALID_ARG;
    *out = NULL;
    if (!e || (!data && len))
        return IBC_ERR_INVALID_ARG;
    ibc_redo *r;
    ibc_status st = redo_new(e, name, &r);
    if (st != IBC_OK)
        return st;
    static const uint8_t empty[1];
    r->mem = data ? data : empty;
    r->size = len;
    st = parse_header(r, err, errlen);
    if (st != IBC_OK) {
        ibc_redo_free(r);
        return st;
    }
    *out = r;
    return IBC_OK;
}

static void wipe_key(ibc_redo *r)
{
    explicit_bzero(r->log_key, sizeof(r->log_key));
    ibc_aes_key_wipe(&r->key);
    r->have_key = 0;
    r->info.key_attached = 0;
    r->info.key_verified = 0;
}

void ibc_redo_set_write_hook(ibc_redo *r, ibc_redo_write_hook fn, void *ctx)
{
    r->hook = fn;
    r->hook_ctx = ctx;
}

void ibc_redo_free(ibc_redo *r)
{
    if (!r)
        return;
    wipe_key(r);
    if (r->fd >= 0)
        close(r->fd);
    if (r->win.buf) {
        /* rekeyed records in flight; the batched ciphers' stores overhang a stream by less
         * than the slack; the rest of the buffer was never written */
        explicit_bzero(r->win.buf, r->win.hi + REDO_WIN_SLACK);
        free(r->win.buf);
    }
    if (r->tmp) {
        explicit_bzero(r->tmp, r->tmp_cap); /* plaintext records */
        free(r->tmp);
    }
    free(r);
}

void ibc_redo_get_info(const ibc_redo *r, ibc_redo_info *info)
{
    *info = r->info;
    info->key_attached = r->have_key;
    info->algorithm = r->algo;
}

ibc_status ibc_redo_set_page_size(ibc_redo *r, uint32_t page_size)
{
    if (!r || page_size < 4096 || page_size > 65536 || (page_size & (page_size - 1)))
        return IBC_ERR_INVALID_ARG;
    r->page_size = page_size;
    return IBC_OK;
}

/* ---- keys -------------------------------------------------------------------------------- */

/* L = AES-ECB(K1, crypt_msg) (log0crypt.cc init_crypt_key). */
static ibc_status derive(const ibc_redo *r, const ibc_keyring *kr, const uint8_t msg[16],
                         uint8_t log_key[16])
{
    uint8_t fk[IBC_KEY_MAX];
    size_t fklen = 0;
    ibc_status st =
        ibc_keyring_get(kr, LOG_DEFAULT_ENCRYPTION_KEY, r->info.key_version, fk, &fklen);
    if (st == IBC_OK) {
        ibc_aes_key k;
        r->k->aes_expand(&k, fk, fklen);
        r->k->aes_ecb_enc(&k, msg, log_key, 1);
        ibc_aes_key_wipe(&k);
    }
    explicit_bzero(fk, sizeof(fk));
    return st;
}

/* The mode search: decrypt mtrs in each candidate mode and check their records. A wrong key or
 * mode garbles nearly every mtr; the right ones leave at most damage, which deep verify names. */
typedef struct probe_ctx {
    ibc_algo cand[2];
    int ncand;
    int fc_ok[2];       /* FORMAT_ENC_11: the candidate decrypts FILE_CHECKPOINT(checkpoint) */
    unsigned fails[2];  /* examined mtrs whose records do not parse */
    unsigned dfails[2]; /* ... of those that tell the modes apart */
    unsigned seen;      /* examined mtrs that tell the modes apart */
    unsigned checked;   /* mtrs examined (with an encrypted byte) */
    uint64_t first_fail_lsn[2];
    char first_fail[2][96];
} probe_ctx;

#define PROBE_MTRS 32

/* Does the mtr carry a stream (ENC_11) or a payload (ENC_10_8) whose cipher depends on the
 * mode (16 bytes or more), and any encrypted byte at all? */
static void probe_kind(const uint8_t *p, const redo_mtr *m, int enc11, int *any, int *tells)
{
    if (enc11) {
        *any = m->body > 0;
        *tells = m->body >= 16;
        return;
    }
    /* ENC_10_8: page record payloads (redo_crypt.c's rule); same-page ones inherit */
    *any = *tells = 0;
    int got = 0;
    for (uint32_t pos = 0; pos < m->len;) {
        uint32_t rlen = p[pos] & 15, hl = 1;
        if (!rlen) {
            hl += redo_varint_len(p[pos + 1]);
            rlen = redo_varint(p + pos + 1) + 15;
        }
        uint8_t b = p[pos];
        uint32_t blen = 1 + rlen - hl, payload = blen;
        if (!((b & REC_SAME_PAGE) && got)) {
            const uint8_t *body = p + pos + hl;
            uint32_t l1 = redo_varint_len(body[0]);
            uint32_t l2 = l1 < blen ? redo_varint_len(body[l1]) : 6;
            if (l1 > 5 || l1 >= blen || l2 > 5 || l2 > blen - l1)
                payload = 0;
            else
                payload = blen - l1 - l2;
            got = !(b & REC_SAME_PAGE);
            if (!got)
                payload = 0;
        }
        *any |= payload > 0;
        *tells |= payload >= 16;
        pos += 1 + rlen;
    }
}

static ibc_status probe_mtr(ibc_redo *r, void *vctx, uint8_t *p, const redo_mtr *m, char *err,
                            size_t errlen)
{
    probe_ctx *pc = vctx;
    (void)err;
    (void)errlen;
    if (!m)
        return IBC_OK;
    int any, tells;
    probe_kind(p, m, r->info.format == IBC_REDO_ENC_11, &any, &tells);
    if (!any)
        return IBC_OK;
    ibc_status st = redo_tmp_reserve(r, 2 * (size_t)m->len);
    if (st != IBC_OK)
        return st;
    pc->checked++;
    for (int i = 0; i < pc->ncand; i++) {
        if (!pc->fc_ok[i])
            continue;
        redo_crypt_mtr(r, &r->key, pc->cand[i], 0, p, m, r->tmp, r->tmp + m->len);
        redo_recs c = {.page_size = r->page_size};
        if (redo_check_records(r->tmp, m->len, &c))
            for (int j = tells ? i : 0; j < (tells ? i + 1 : pc->ncand); j++) {
                if (!pc->fails[j]) {
                    pc->first_fail_lsn[j] = m->lsn;
                    snprintf(pc->first_fail[j], sizeof(pc->first_fail[j]), "%s", c.why);
                }
                pc->fails[j]++;
                pc->dfails[j] += (unsigned)tells;
            }
        if (!tells)
            break; /* both modes decrypt it alike: one trial counts for both */
    }
    if (tells)
        pc->seen++;
    if (pc->seen >= PROBE_MTRS && pc->checked >= PROBE_MTRS)
        return IBC_STATUS_COUNT; /* enough: stop the scan */
    return IBC_OK;
}

/* FORMAT_ENC_11: the FILE_CHECKPOINT mtr at (or shortly after) the checkpoint's end LSN must
 * decrypt to FILE_CHECKPOINT(checkpoint). Returns IBC_OK and narrows pc's candidates. */
static ibc_status check_file_checkpoint(ibc_redo *r, probe_ctx *pc, char *err, size_t errlen)
{
    uint64_t lsn = r->info.checkpoint_end_lsn, limit = r->info.checkpoint_lsn + r->info.capacity;
    redo_mtr m;
    const uint8_t *p = NULL;
    char why[300] = "";
    for (int i = 0;; i++) {
        ibc_status st = lsn < limit && i < 1000 ? redo_read_mtr(r, lsn, &m, &p, why, sizeof(why))
                                                : IBC_ERR_CORRUPT;
        if (st != IBC_OK) {
            redo_err(r, err, errlen,
                     "no FILE_CHECKPOINT(%llu) mini-transaction at or after LSN %llu, the end "
                     "LSN of the checkpoint: %s",
                     (unsigned long long)r->info.checkpoint_lsn,
                     (unsigned long long)r->info.checkpoint_end_lsn,
                     *why ? why : "none in the ring");
            return st;
        }
        if ((m.last_type & 0xF0) == FILE_CHECKPOINT && m.len - m.last_at == 11)
            break;
        lsn += m.size;
    }
    ibc_status st = redo_tmp_reserve(r, 2 * (size_t)m.len);
    if (st != IBC_OK)
        return st;
    int match = 0;
    for (int i = 0; i < pc->ncand; i++) {
        redo_crypt_mtr(r, &r->key, pc->cand[i], 0, p, &m, r->tmp, r->tmp + m.len);
        redo_recs c = {.page_size = r->page_size};
        int ok = !redo_check_records(r->tmp, m.len, &c) && c.has_checkpoint &&
                 c.checkpoint_lsn == r->info.checkpoint_lsn;
        if (m.body < 16) { /* both modes alike */
            pc->fc_ok[0] = pc->fc_ok[1] = match = ok;
            break;
        }
        pc->fc_ok[i] = ok;
        match |= ok;
    }
    if (!match) {
        redo_err(r, err, errlen,
                 "key 1 (version %u) does not decrypt the log: the mini-transaction at LSN %llu "
                 "does not decrypt to FILE_CHECKPOINT(%llu)%s",
                 r->info.key_version, (unsigned long long)lsn,
                 (unsigned long long)r->info.checkpoint_lsn,
                 pc->ncand == 1 ? " (or the cipher mode is the other one)" : "");
        return IBC_ERR_KEY_MISMATCH;
    }
    r->info.key_verified = 1;
    return IBC_OK;
}

ibc_status ibc_redo_set_key(ibc_redo *r, const ibc_keyring *kr, ibc_algo algo, char *err,
                            size_t errlen)
{
    if (!r || !kr || algo > IBC_ALGO_CTR)
        return IBC_ERR_INVALID_ARG;
    wipe_key(r);
    r->algo = IBC_ALGO_AUTO;
    if (!r->info.encrypted) {
        redo_err(r, err, errlen, "the log is not encrypted");
        return IBC_ERR_INVALID_ARG;
    }
    ibc_status st = derive(r, kr, r->hdr + LOG_CRYPT_MSG, r->log_key);
    if (st != IBC_OK) {
        redo_err(r, err, errlen, "key 1 version %u is not in the keyring", r->info.key_version);
        return st;
    }
    r->k->aes_expand(&r->key, r->log_key, 16); /* AES-128 whatever K1's size */
    r->have_key = 1;
    probe_ctx pc = {.ncand = algo == IBC_ALGO_AUTO ? 2 : 1, .fc_ok = {1, 1}};
    pc.cand[0] = algo == IBC_ALGO_AUTO ? IBC_ALGO_CBC : algo;
    pc.cand[1] = IBC_ALGO_CTR;
    if (r->info.format == IBC_REDO_ENC_11) {
        st = check_file_checkpoint(r, &pc, err, errlen);
        if (st != IBC_OK) {
            wipe_key(r);
            return st;
        }
    }
    ibc_redo_result res;
    st = redo_scan(r, probe_mtr, &pc, &res, err, errlen);
    if (st == IBC_ERR_CORRUPT && err && errlen)
        err[0] = 0; /* damage after the mtrs examined is for verify to report */
    else if (st != IBC_OK) {
        wipe_key(r);
        return st;
    }
    /* the candidate with the fewest malformed mtrs, if at most a quarter of them are, and at
     * most a quarter of those that tell the modes apart */
    int best = -1;
    for (int i = 0; i < pc.ncand; i++)
        if (pc.fc_ok[i] && (best < 0 || pc.fails[i] < pc.fails[best]))
            best = i;
    if (best < 0 || pc.fails[best] * 4 > pc.checked || pc.dfails[best] * 4 > pc.seen) {
        int i = best < 0 ? 0 : best;
        redo_err(r, err, errlen,
                 "key 1 (version %u) does not decrypt the log%s: %u of %u mini-transactions "
                 "decrypt to malformed records, the first at LSN %llu (%s)",
                 r->info.key_version,
                 pc.ncand == 1 ? (pc.cand[0] == IBC_ALGO_CBC ? " as AES_CBC" : " as AES_CTR")
                               : " in either mode",
                 pc.fails[i], pc.checked, (unsigned long long)pc.first_fail_lsn[i],
                 pc.first_fail[i]);
        wipe_key(r);
        return IBC_ERR_KEY_MISMATCH;
    }
    if (pc.checked)
        r->info.key_verified = 1;
    if (pc.ncand == 1)
        r->algo = pc.cand[0];
    else if (!pc.fc_ok[!best] || (pc.seen && pc.fails[!best] > pc.fails[best]))
        r->algo = pc.cand[best]; /* else: no mtr tells the modes apart */
    r->info.key_attached = 1;
    r->info.algorithm = r->algo;
    return IBC_OK;
}
