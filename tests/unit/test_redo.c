/*
 * test_redo.c - the redo log engine on logs written by a real MariaDB 10.11.19 server
 * (tests/data/redo/, made by make-logs.sh: AES_CBC and AES_CTR FORMAT_ENC_11 logs and a plain
 * one, each killed with -9 with ~450 KB of pending redo that wraps round the end of the ring,
 * and a clean-shutdown log), on every kernel tier:
 *
 *   - verify finds the checkpoint and the end of the log the server itself recovered to, and an
 *     mtr straddling the end of the file; deep verify decrypts and parses every record; the key
 *     and the mode are found by known plaintext and trial decryption;
 *   - wrong keys and the wrong mode are refused; a flipped bit in a record, or in a type byte,
 *     is reported with its LSN; truncated logs and garbage headers are clear errors;
 *   - rewrap changes only crypt_msg and the header CRC, and the result opens with the new keys
 *     only; re-encryption to new keys and back (same crypt_msg) gives the original bytes; a
 *     real log re-encrypted with its own key and crypt_msg is reproduced byte for byte; a
 *     change of mode and back, likewise; a dry run writes nothing.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"
#include "format.h"
#include "redo_internal.h"
#include "test_redo_util.h"

typedef struct real_log {
    const char *name;
    ibc_redo_format format;
    ibc_algo algo;
    int killed;
    uint8_t *img;
    size_t size;
} real_log;

static real_log logs[] = {
    {"cbc-killed", IBC_REDO_ENC_11, IBC_ALGO_CBC, 1, NULL, 0},
    {"ctr-killed", IBC_REDO_ENC_11, IBC_ALGO_CTR, 1, NULL, 0},
    {"plain-killed", IBC_REDO_PLAIN, IBC_ALGO_AUTO, 1, NULL, 0},
    {"cbc-clean", IBC_REDO_ENC_11, IBC_ALGO_AUTO, 0, NULL, 0},
};
#define NLOGS (sizeof(logs) / sizeof(logs[0]))

static ibc_keyring *keys_old, *keys_new;

static int load_all(void)
{
    if (!keys_old) {
        keys_old = tr_keys("keys.txt");
        keys_new = tr_keys("keys-new.txt");
    }
    for (size_t i = 0; i < NLOGS; i++)
        if (!logs[i].img && !(logs[i].img = tr_load_log(logs[i].name, &logs[i].size)))
            return 0;
    return keys_old && keys_new;
}

/* Engines for every usable tier. */
static size_t engines(ibc_engine *e[IBC_TIER_COUNT])
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t), n = 0;
    for (size_t i = 0; i < nt; i++)
        if (ibc_engine_new(t[i]->name, &e[n]) == IBC_OK)
            n++;
    return n;
}

static void free_engines(ibc_engine *e[IBC_TIER_COUNT], size_t n)
{
    for (size_t i = 0; i < n; i++)
        ibc_engine_free(e[i]);
}

/* Open with the key attached (encrypted logs). */
static ibc_redo *open_keyed(ibc_engine *e, const uint8_t *img, size_t size, ibc_keyring *kr,
                            ibc_status *st, char *err, size_t errlen)
{
    ibc_redo *r = NULL;
    *st = ibc_redo_open_mem(e, img, size, "ib_logfile0", &r, err, errlen);
    if (*st == IBC_OK && kr)
        *st = ibc_redo_set_key(r, kr, IBC_ALGO_AUTO, err, errlen);
    return r;
}

/* ---- an internal scan: mtr positions ----------------------------------------------------- */

typedef struct mtr_list {
    uint64_t lsn[8192];
    uint32_t len[8192];
    size_t n;
    int straddles;
} mtr_list;

static ibc_status list_mtr(ibc_redo *r, void *ctx, uint8_t *p, const redo_mtr *m, char *err,
                           size_t errlen)
{
    mtr_list *l = ctx;
    (void)p;
    (void)err;
    (void)errlen;
    if (m && l->n < 8192) {
        l->lsn[l->n] = m->lsn;
        l->len[l->n++] = m->len;
        l->straddles += redo_offset(r, m->lsn) + m->size > r->size;
    }
    return IBC_OK;
}

/* ---- verify ------------------------------------------------------------------------------- */

static void test_real_verify(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e[IBC_TIER_COUNT];
    size_t ne = engines(e);
    for (size_t i = 0; i < NLOGS; i++) {
        real_log *L = &logs[i];
        uint64_t server_cp = tr_log_fact(L->name, "server_checkpoint_lsn");
        uint64_t server_end = tr_log_fact(L->name, "server_end_lsn");
        for (size_t t = 0; t < ne; t++) {
            char err[400] = "";
            ibc_redo *r;
            ibc_status st = ibc_redo_open_mem(e[t], L->img, L->size, L->name, &r, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "%s: open: %s", L->name, err);
            ibc_redo_info in;
            ibc_redo_get_info(r, &in);
            TU_CHECK(in.format == L->format && in.first_lsn == 12288 && in.file_size == 4194304 &&
                         !strcmp(in.creator, "MariaDB 10.11.19") &&
                         in.key_id == (L->format ? 1u : 0u) && !in.scanned,
                     "%s: header", L->name);
            ibc_redo_result res;
            st = ibc_redo_verify(r, 0, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "%s %s: verify: %s", L->name, ibc_engine_isa(e[t]), err);
            ibc_redo_get_info(r, &in);
            TU_CHECK(in.scanned && !in.torn_tail && res.mtrs == in.mtrs &&
                         in.pending_bytes == in.end_lsn - in.checkpoint_lsn &&
                         res.bytes == in.pending_bytes,
                     "%s: scan results", L->name);
            if (L->killed) {
                /* what the server recovered: "Starting crash recovery from checkpoint LSN=",
                 * "End of log at LSN=" */
                TU_CHECK(in.checkpoint_lsn == server_cp && in.end_lsn == server_end,
                         "%s: checkpoint %llu end %llu, the server says %llu %llu", L->name,
                         (unsigned long long)in.checkpoint_lsn, (unsigned long long)in.end_lsn,
                         (unsigned long long)server_cp, (unsigned long long)server_end);
                TU_CHECK(in.mtrs > 3000 && in.pending_bytes > 400000, "%s: pending", L->name);
                mtr_list *ml = calloc(1, sizeof(*ml));
                st = redo_scan(r, list_mtr, ml, &res, err, sizeof(err));
                TU_CHECK(st == IBC_OK && ml->n == in.mtrs && ml->straddles == 1,
                         "%s: %d mtrs straddle the end of the file", L->name, ml->straddles);
                free(ml);
            } else {
                TU_CHECK(in.checkpoint_lsn == in.checkpoint_end_lsn && in.mtrs == 1 &&
                             in.pending_bytes == 24,
                         "%s: a clean log has only the FILE_CHECKPOINT mtr", L->name);
            }
            ibc_redo_free(r);
        }
    }
    free_engines(e, ne);
}

static void test_real_deep_verify(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e[IBC_TIER_COUNT];
    size_t ne = engines(e);
    for (size_t i = 0; i < NLOGS; i++) {
        real_log *L = &logs[i];
        for (size_t t = 0; t < ne; t++) {
            char err[400] = "";
            ibc_status st;
            ibc_redo *r = open_keyed(e[t], L->img, L->size, L->format ? keys_old : NULL, &st, err,
                                     sizeof(err));
            TU_CHECK(st == IBC_OK, "%s %s: set_key: %s", L->name, ibc_engine_isa(e[t]), err);
            ibc_redo_info in;
            ibc_redo_get_info(r, &in);
            TU_CHECK(in.algorithm == L->algo && in.key_verified == (L->format != IBC_REDO_PLAIN),
                     "%s: mode %d verified %d", L->name, in.algorithm, in.key_verified);
            TU_CHECK(ibc_redo_set_page_size(r, 16384) == IBC_OK, "page size");
            ibc_redo_result res;
            st = ibc_redo_verify(r, 1, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "%s %s: deep verify: %s", L->name, ibc_engine_isa(e[t]), err);
            TU_CHECK(res.records >= res.mtrs && (!L->killed || res.records > 8000),
                     "%s: %llu records", L->name, (unsigned long long)res.records);
            ibc_redo_free(r);
        }
    }
    free_engines(e, ne);
}

static void test_real_wrong_key(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    for (size_t i = 0; i < NLOGS; i++) {
        real_log *L = &logs[i];
        char err[400] = "";
        ibc_redo *r;
        TU_CHECK(ibc_redo_open_mem(e, L->img, L->size, L->name, &r, err, sizeof(err)) == IBC_OK,
                 "%s: open", L->name);
        ibc_status st = ibc_redo_set_key(r, keys_new, IBC_ALGO_AUTO, err, sizeof(err));
        if (L->format == IBC_REDO_PLAIN) {
            TU_CHECK(st == IBC_ERR_INVALID_ARG, "%s: a key for a plain log", L->name);
        } else {
            TU_CHECK(st == IBC_ERR_KEY_MISMATCH && strstr(err, "FILE_CHECKPOINT"),
                     "%s: wrong key: %s", L->name, err);
            ibc_redo_info in;
            ibc_redo_get_info(r, &in);
            TU_CHECK(!in.key_attached, "%s: a refused key stays attached", L->name);
            /* deep verify needs the key */
            TU_CHECK(ibc_redo_verify(r, 1, NULL, err, sizeof(err)) == IBC_ERR_KEY_MISSING,
                     "%s: deep verify without a key", L->name);
        }
        if (L->algo != IBC_ALGO_AUTO) { /* the other mode fails on the long mtrs */
            ibc_algo other = L->algo == IBC_ALGO_CBC ? IBC_ALGO_CTR : IBC_ALGO_CBC;
            st = ibc_redo_set_key(r, keys_old, other, err, sizeof(err));
            TU_CHECK(st == IBC_ERR_KEY_MISMATCH, "%s: the wrong mode: %s", L->name, err);
        } else if (L->format != IBC_REDO_PLAIN) { /* one short stream: any mode will do */
            st = ibc_redo_set_key(r, keys_old, IBC_ALGO_CTR, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "%s: explicit mode: %s", L->name, err);
        }
        ibc_redo_free(r);
    }
    ibc_engine_free(e);
}

/* Open the image img of killed log L and list its pending mtrs (the caller frees both); 0 with
 * err set when that fails. */
static int open_listed(ibc_engine *e, const real_log *L, const uint8_t *img, ibc_redo **r,
                       mtr_list **ml, char *err, size_t errlen)
{
    ibc_redo_result res;
    *ml = NULL;
    if (ibc_redo_open_mem(e, img, L->size, L->name, r, err, errlen) != IBC_OK)
        return 0;
    *ml = calloc(1, sizeof(**ml));
    return *ml && redo_scan(*r, list_mtr, *ml, &res, err, errlen) == IBC_OK;
}

/* Damage in the middle of the pending redo: a flipped bit in a record body (CRC), and a type
 * byte turned into an end marker (framing). Both must be reported at the mtr's LSN. */
static void test_real_flipped_bit(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    for (size_t i = 0; i < NLOGS; i++) {
        real_log *L = &logs[i];
        if (!L->killed)
            continue;
        char err[400] = "";
        ibc_redo *r;
        mtr_list *ml;
        TU_CHECK(open_listed(e, L, L->img, &r, &ml, err, sizeof(err)), "%s: %s", L->name, err);
        ibc_redo_result res;
        uint8_t *img = malloc(L->size);
        for (int kind = 0; kind < 2; kind++) {
            for (int k = 0; k < 8; k++) {
                size_t j = 1 + (size_t)tu_rand_below(ml->n - 1);
                while (ml->lsn[ml->n - 1] - ml->lsn[j] < 8192) /* not in the last blocks */
                    j--;
                uint64_t lsn = ml->lsn[j];
                memcpy(img, L->img, L->size);
                uint64_t off = kind ? redo_offset(r, lsn)
                                    : redo_offset(r, lsn + ml->len[j] - 1); /* a body byte */
                if (kind)
                    img[off] = 0; /* an end marker where the mtr should start */
                else
                    img[off] ^= (uint8_t)(1u << tu_rand_below(8));
                ibc_redo *d;
                TU_CHECK(ibc_redo_open_mem(e, img, L->size, L->name, &d, err, sizeof(err)) ==
                             IBC_OK,
                         "open");
                ibc_status st = ibc_redo_verify(d, 0, &res, err, sizeof(err));
                char at[40];
                snprintf(at, sizeof(at), "LSN %llu ", (unsigned long long)lsn);
                TU_CHECK(st == IBC_ERR_CORRUPT && res.bad_lsn == lsn &&
                             res.bad_offset == redo_offset(r, lsn) && strstr(err, at),
                         "%s: damage (%s) at LSN %llu: %s (bad_lsn %llu)", L->name,
                         kind ? "type byte" : "body bit", (unsigned long long)lsn, err,
                         (unsigned long long)res.bad_lsn);
                ibc_redo_free(d);
            }
        }
        free(img);
        free(ml);
        ibc_redo_free(r);
    }
    ibc_engine_free(e);
}

/* The damage search (what follows the end of the log) is remembered between the scans of one
 * handle, for the bytes it looked at: a copy of a valid mtr of this pass planted after the end,
 * where nothing was before, must turn the second verify of the same handle into "damaged". */
static void test_real_damage_search_sees_new_bytes(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    for (size_t i = 0; i < NLOGS; i++) {
        real_log *L = &logs[i];
        if (!L->killed)
            continue;
        char err[400] = "";
        uint8_t *img = malloc(L->size);
        memcpy(img, L->img, L->size);
        ibc_redo *r;
        mtr_list *ml;
        TU_CHECK(open_listed(e, L, img, &r, &ml, err, sizeof(err)), "%s: %s", L->name, err);
        ibc_redo_result res;
        TU_CHECK(ibc_redo_verify(r, 0, &res, err, sizeof(err)) == IBC_OK, "%s: %s", L->name, err);
        ibc_redo_info in;
        ibc_redo_get_info(r, &in);
        /* the last mtr, again 64 bytes into the block after the one the log ends in */
        uint64_t last = ml->lsn[ml->n - 1];
        uint32_t len = ml->len[ml->n - 1], size = len + 1 + r->nonce_len + 4;
        uint64_t at = in.end_lsn + 4096 - redo_offset(r, in.end_lsn) % 4096 + 64;
        uint64_t src = redo_offset(r, last), dst = redo_offset(r, at);
        if (src + size <= L->size && dst + size <= L->size) {
            memmove(img + dst, img + src, size);
            img[dst + len] = redo_seq_bit(r, at + len); /* the CRC leaves it out */
            ibc_status st = ibc_redo_verify(r, 0, &res, err, sizeof(err));
            TU_CHECK(st == IBC_ERR_CORRUPT && strstr(err, "the log is damaged"),
                     "%s: a valid mtr after the end was not seen (%s): %s", L->name,
                     ibc_strerror(st), err);
        }
        free(ml);
        ibc_redo_free(r);
        free(img);
    }
    ibc_engine_free(e);
}

static void test_real_bad_files(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    real_log *L = &logs[0];
    uint8_t *img = malloc(L->size);
    char err[400] = "";
    ibc_redo *r = NULL;
    ibc_redo_result res;
    /* truncated: the ring shrinks, the LSN -> offset map no longer holds */
    ibc_status st = ibc_redo_open_mem(e, L->img, 3u << 20, "trunc", &r, err, sizeof(err));
    TU_CHECK(st == IBC_OK, "truncated: header: %s", err);
    st = ibc_redo_verify(r, 0, &res, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_CORRUPT && strstr(err, "FILE_CHECKPOINT") && strstr(err, "trunc:"),
             "truncated log: %s", err);
    ibc_redo_free(r);
    st = ibc_redo_open_mem(e, L->img, 12000, "trunc", &r, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_FORMAT && !r && strstr(err, "too small"), "12000 bytes: %s", err);
    /* garbage header */
    memcpy(img, L->img, L->size);
    tu_rand_bytes(img, 512);
    img[0] = 0x12;
    st = ibc_redo_open_mem(e, img, L->size, "garbage", &r, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_FORMAT && strstr(err, "format id 0x12"), "garbage: %s", err);
    /* one changed byte in the creator: the header CRC */
    memcpy(img, L->img, L->size);
    img[20] ^= 4;
    st = ibc_redo_open_mem(e, img, L->size, "hdr", &r, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_FORMAT && strstr(err, "CRC"), "header CRC: %s", err);
    /* both checkpoint blocks damaged */
    memcpy(img, L->img, L->size);
    img[4096 + 3] ^= 1;
    img[8192 + 3] ^= 1;
    st = ibc_redo_open_mem(e, img, L->size, "cp", &r, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_FORMAT && strstr(err, "checkpoint"), "checkpoints: %s", err);
    /* one: the other is used (the older checkpoint: still a complete log from there?) */
    memcpy(img, L->img, L->size);
    ibc_redo_open_mem(e, img, L->size, "cp", &r, err, sizeof(err));
    ibc_redo_info in;
    ibc_redo_get_info(r, &in);
    int chosen = in.chosen;
    ibc_redo_free(r);
    img[(chosen ? 8192 : 4096) + 61] ^= 1;
    st = ibc_redo_open_mem(e, img, L->size, "cp", &r, err, sizeof(err));
    TU_CHECK(st == IBC_OK, "one checkpoint left: %s", err);
    ibc_redo_get_info(r, &in);
    TU_CHECK(in.chosen == !chosen && !in.checkpoint[chosen].valid, "the other block");
    ibc_redo_free(r);
    /* a format the engine does not know, with its own CRC: 10.5 */
    memcpy(img, L->img, L->size);
    img[0] = 0x50, img[1] = 0x48, img[2] = 0x59, img[3] = 0x53;
    put_be32(img + 508, ref_crc32c(0, img, 508));
    st = ibc_redo_open_mem(e, img, L->size, "old", &r, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_UNSUPPORTED && strstr(err, "10.5") && strstr(err, "MariaDB 10.11.19"),
             "10.5 log: %s", err);
    /* key id 2 in the crypt header */
    memcpy(img, L->img, L->size);
    put_be32(img + 48, 2);
    put_be32(img + 508, ref_crc32c(0, img, 508));
    st = ibc_redo_open_mem(e, img, L->size, "key2", &r, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_UNSUPPORTED && strstr(err, "key id 2"), "key id 2: %s", err);
    /* a file that is not there */
    st = ibc_redo_open(e, "/nonexistent/ib_logfile0", &r, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_IO && strstr(err, "/nonexistent/ib_logfile0"), "missing: %s", err);
    free(img);
    ibc_engine_free(e);
}

/* ---- re-keying ---------------------------------------------------------------------------- */

/* Re-key img (in place, via the sink) from `from` to `to`. */
static ibc_status rekey(ibc_engine *e, uint8_t *img, size_t size, ibc_keyring *from,
                        ibc_keyring *to, ibc_rekey_mode mode, ibc_algo algo, const uint8_t *msg,
                        tr_sink *sink, ibc_redo_result *res, char *err, size_t errlen)
{
    ibc_status st;
    uint8_t *src = malloc(size); /* the engine reads a snapshot; the sink writes img */
    memcpy(src, img, size);
    ibc_redo *r = open_keyed(e, src, size, from, &st, err, errlen);
    ibc_redo_target *t = NULL;
    if (st == IBC_OK)
        st = ibc_redo_target_new(r, to, mode, algo, msg, &t, err, errlen);
    memset(sink, 0, sizeof(*sink));
    sink->img = img;
    sink->size = size;
    if (st == IBC_OK)
        st = ibc_redo_rekey(r, t, tr_sink_write, sink, res, err, errlen);
    ibc_redo_target_free(t);
    ibc_redo_free(r);
    free(src);
    return st;
}

/* Deep-verify img with kr; return the attached mode. */
static ibc_status deep_check(ibc_engine *e, const uint8_t *img, size_t size, ibc_keyring *kr,
                             ibc_algo *algo, ibc_redo_result *res, char *err, size_t errlen)
{
    ibc_status st;
    ibc_redo *r = open_keyed(e, img, size, kr, &st, err, errlen);
    if (st == IBC_OK)
        st = ibc_redo_verify(r, 1, res, err, errlen);
    ibc_redo_info in;
    if (r) {
        ibc_redo_get_info(r, &in);
        *algo = in.algorithm;
    }
    ibc_redo_free(r);
    return st;
}

static void test_real_rewrap(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e[IBC_TIER_COUNT];
    size_t ne = engines(e);
    for (size_t i = 0; i < NLOGS; i++) {
        real_log *L = &logs[i];
        if (L->format == IBC_REDO_PLAIN)
            continue;
        for (size_t t = 0; t < ne; t++) {
            char err[400] = "";
            uint8_t *img = malloc(L->size);
            memcpy(img, L->img, L->size);
            tr_sink sink;
            ibc_redo_result res;
            ibc_status st = rekey(e[t], img, L->size, keys_old, keys_new, IBC_REKEY_REWRAP,
                                  IBC_ALGO_AUTO, NULL, &sink, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "%s: rewrap: %s", L->name, err);
            TU_CHECK(sink.writes == 1 && sink.bytes == 512 && !sink.bad && res.bytes_written == 512,
                     "%s: rewrap wrote %zu ranges", L->name, sink.writes);
            for (size_t b = 0; b < L->size; b++)
                TU_CHECK(img[b] == L->img[b] || (b >= 56 && b < 72) || (b >= 508 && b < 512),
                         "%s: rewrap changed byte %zu", L->name, b);
            TU_CHECK(memcmp(img + 56, L->img + 56, 16), "%s: crypt_msg unchanged", L->name);
            ibc_algo a;
            st = deep_check(e[t], img, L->size, keys_new, &a, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK && a == L->algo, "%s: the new keys: %s", L->name, err);
            st = deep_check(e[t], img, L->size, keys_old, &a, &res, err, sizeof(err));
            TU_CHECK(st == IBC_ERR_KEY_MISMATCH, "%s: the old keys still open it", L->name);
            free(img);
        }
    }
    free_engines(e, ne);
}

static void test_real_reencrypt_roundtrip(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e[IBC_TIER_COUNT];
    size_t ne = engines(e);
    for (size_t i = 0; i < NLOGS; i++) {
        real_log *L = &logs[i];
        if (L->format == IBC_REDO_PLAIN)
            continue;
        ibc_redo_result ref;
        ibc_algo a;
        char err[400] = "";
        TU_CHECK(deep_check(e[0], L->img, L->size, keys_old, &a, &ref, err, sizeof(err)) == IBC_OK,
                 "%s: %s", L->name, err);
        for (size_t t = 0; t < ne; t++) {
            uint8_t *img = malloc(L->size);
            memcpy(img, L->img, L->size);
            tr_sink sink;
            ibc_redo_result res;
            ibc_status st = rekey(e[t], img, L->size, keys_old, keys_new, IBC_REKEY_REENCRYPT,
                                  IBC_ALGO_AUTO, NULL, &sink, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK && !sink.bad, "%s %s: re-encrypt: %s", L->name,
                     ibc_engine_isa(e[t]), err);
            TU_CHECK(res.mtrs == ref.mtrs && res.bytes == ref.bytes &&
                         sink.bytes == ref.bytes + 512 && res.bytes_written == sink.bytes,
                     "%s: %llu mtrs, %llu bytes written", L->name, (unsigned long long)res.mtrs,
                     (unsigned long long)sink.bytes);
            ibc_redo_result r2;
            st = deep_check(e[t], img, L->size, keys_new, &a, &r2, err, sizeof(err));
            TU_CHECK(st == IBC_OK && a == L->algo && r2.records == ref.records &&
                         r2.mtrs == ref.mtrs,
                     "%s: new log, new keys: %s", L->name, err);
            st = deep_check(e[t], img, L->size, keys_old, &a, &r2, err, sizeof(err));
            TU_CHECK(st == IBC_ERR_KEY_MISMATCH, "%s: new log, old keys", L->name);
            /* every byte of [checkpoint, end) was under the old key; the rest is untouched.
             * A re-encrypted byte (or CRC byte) stays equal by chance, 1 time in 256, and the
             * new crypt_msg is random: cbc-clean has 24 bytes, 14 of them re-encrypted, and
             * two equal by chance once made 12 changed, which a bound of half failed. */
            size_t changed = 0;
            for (size_t b = 512; b < L->size; b++)
                changed += img[b] != L->img[b];
            TU_CHECK(changed + 4 > ref.bytes / 2 && changed <= ref.bytes,
                     "%s: %zu bytes changed", L->name, changed);
            /* and back, with the original crypt_msg */
            st = rekey(e[t], img, L->size, keys_new, keys_old, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO,
                       L->img + 56, &sink, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "%s: back: %s", L->name, err);
            TU_CHECK_MEM(img, L->img, L->size, "%s %s: new keys and back", L->name,
                         ibc_engine_isa(e[t]));
            free(img);
        }
    }
    free_engines(e, ne);
}

/* A real log re-encrypted with its own key and crypt_msg: the engine's encryption reproduces
 * the server's bytes (and CRCs). In a mode change and back, likewise. */
static void test_real_self_reencrypt(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e[IBC_TIER_COUNT];
    size_t ne = engines(e);
    for (size_t i = 0; i < NLOGS; i++) {
        real_log *L = &logs[i];
        if (L->format == IBC_REDO_PLAIN)
            continue;
        for (size_t t = 0; t < ne; t++) {
            char err[400] = "";
            uint8_t *img = malloc(L->size);
            memcpy(img, L->img, L->size);
            tr_sink sink;
            ibc_redo_result res;
            ibc_status st = rekey(e[t], img, L->size, keys_old, keys_old, IBC_REKEY_REENCRYPT,
                                  IBC_ALGO_AUTO, L->img + 56, &sink, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK && sink.bytes > 512, "%s: %s", L->name, err);
            TU_CHECK_MEM(img, L->img, L->size, "%s %s: own key and crypt_msg", L->name,
                         ibc_engine_isa(e[t]));
            if (L->algo == IBC_ALGO_AUTO) {
                free(img);
                continue;
            }
            ibc_algo other = L->algo == IBC_ALGO_CBC ? IBC_ALGO_CTR : IBC_ALGO_CBC, a;
            st = rekey(e[t], img, L->size, keys_old, keys_new, IBC_REKEY_REENCRYPT, other, NULL,
                       &sink, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "%s: to the other mode: %s", L->name, err);
            st = deep_check(e[t], img, L->size, keys_new, &a, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK && a == other, "%s: other mode found: %d %s", L->name, a, err);
            st = rekey(e[t], img, L->size, keys_new, keys_old, IBC_REKEY_REENCRYPT, L->algo,
                       L->img + 56, &sink, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "%s: back: %s", L->name, err);
            TU_CHECK_MEM(img, L->img, L->size, "%s: mode change and back", L->name);
            free(img);
        }
    }
    free_engines(e, ne);
}

static void test_rekey_dry_run_and_refusals(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    char err[400] = "";
    ibc_status st;
    real_log *L = &logs[1];
    uint8_t *img = malloc(L->size);
    memcpy(img, L->img, L->size);
    ibc_redo *r = open_keyed(e, img, L->size, keys_old, &st, err, sizeof(err));
    TU_CHECK(st == IBC_OK, "%s", err);
    ibc_redo_target *t = NULL;
    TU_CHECK(ibc_redo_target_new(r, keys_new, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, NULL, &t, err,
                                 sizeof(err)) == IBC_OK,
             "target");
    ibc_redo_result res;
    st = ibc_redo_rekey(r, t, NULL, NULL, &res, err, sizeof(err));
    ibc_redo_info in;
    ibc_redo_get_info(r, &in);
    TU_CHECK(st == IBC_OK && res.mtrs == in.mtrs && res.bytes_written == in.pending_bytes + 512,
             "dry run: %s", err);
    TU_CHECK_MEM(img, L->img, L->size, "a dry run changed the image");
    /* the file changes between the scan and the re-key: refused (the image is not copied) */
    ibc_redo_info in2;
    ibc_redo_get_info(r, &in2);
    uint64_t off = redo_offset(r, in2.end_lsn - 100);
    img[off] ^= 0x40;
    st = ibc_redo_rekey(r, t, NULL, NULL, &res, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_CORRUPT && strstr(err, "changed"), "changed log: %s", err);
    img[off] ^= 0x40;
    /* a write function that refuses: IBC_ERR_IO, message */
    tr_sink sink = {.img = img, .size = 10}; /* every range is "outside" */
    st = ibc_redo_rekey(r, t, tr_sink_write, &sink, &res, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_IO && strstr(err, "refused"), "refused write: %s", err);
    /* a target of another handle */
    ibc_redo *r2 = open_keyed(e, L->img, L->size, keys_old, &st, err, sizeof(err));
    TU_CHECK(ibc_redo_rekey(r2, t, NULL, NULL, &res, err, sizeof(err)) == IBC_ERR_INVALID_ARG,
             "foreign target");
    /* rewrap cannot change the mode */
    ibc_redo_target *t2 = NULL;
    TU_CHECK(ibc_redo_target_new(r, keys_new, IBC_REKEY_REWRAP, IBC_ALGO_CBC, NULL, &t2, err,
                                 sizeof(err)) == IBC_ERR_INVALID_ARG &&
                 !t2,
             "rewrap to another mode");
    /* new keys without key 1 */
    ibc_keyring *k2 = ibc_keyring_new();
    static const uint8_t k[32] = {1};
    ibc_keyring_add(k2, 2, 1, k, 32);
    TU_CHECK(ibc_redo_target_new(r, k2, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, NULL, &t2, err,
                                 sizeof(err)) == IBC_ERR_KEY_MISSING,
             "no key 1");
    ibc_keyring_free(k2);
    ibc_redo_target_free(t);
    ibc_redo_free(r);
    ibc_redo_free(r2);
    /* a plain log has nothing to re-key; a handle without key cannot make targets */
    ibc_redo_open_mem(e, logs[2].img, logs[2].size, "plain", &r, err, sizeof(err));
    TU_CHECK(ibc_redo_target_new(r, keys_new, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, NULL, &t, err,
                                 sizeof(err)) == IBC_ERR_INVALID_ARG &&
                 strstr(err, "not encrypted"),
             "plain: %s", err);
    ibc_redo_free(r);
    ibc_redo_open_mem(e, logs[0].img, logs[0].size, "nokey", &r, err, sizeof(err));
    TU_CHECK(ibc_redo_target_new(r, keys_new, IBC_REKEY_REWRAP, IBC_ALGO_AUTO, NULL, &t, err,
                                 sizeof(err)) == IBC_ERR_INVALID_ARG,
             "no key attached");
    ibc_redo_free(r);
    free(img);
    ibc_engine_free(e);
}

/* verify, then attach the key (whose probe may stop early), then re-key: the scan the re-key
 * relies on is the complete one. */
static void test_rekey_after_verify_then_key(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    char err[400] = "";
    real_log *L = &logs[0];
    ibc_redo *r;
    ibc_redo_result res;
    TU_CHECK(ibc_redo_open_mem(e, L->img, L->size, "x", &r, err, sizeof(err)) == IBC_OK, "open");
    TU_CHECK(ibc_redo_verify(r, 0, &res, err, sizeof(err)) == IBC_OK, "verify: %s", err);
    TU_CHECK(ibc_redo_set_key(r, keys_old, IBC_ALGO_AUTO, err, sizeof(err)) == IBC_OK, "key");
    ibc_redo_target *t;
    TU_CHECK(ibc_redo_target_new(r, keys_new, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, NULL, &t, err,
                                 sizeof(err)) == IBC_OK,
             "target");
    ibc_status st = ibc_redo_rekey(r, t, NULL, NULL, &res, err, sizeof(err));
    TU_CHECK(st == IBC_OK && res.mtrs > 3000, "re-key after verify and set_key: %s", err);
    ibc_redo_target_free(t);
    ibc_redo_free(r);
    ibc_engine_free(e);
}

/* The engine reads files itself: the same results from a path as from memory. */
static void test_real_from_file(void)
{
    TU_CHECK(load_all(), "cannot load tests/data/redo");
    char path[] = "/tmp/ibc-redo-test.XXXXXX";
    int fd = mkstemp(path);
    TU_CHECK(fd >= 0, "mkstemp");
    real_log *L = &logs[0];
    FILE *f = fdopen(fd, "wb");
    TU_CHECK(fwrite(L->img, 1, L->size, f) == L->size, "write");
    fclose(f);
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    char err[400] = "";
    ibc_redo *r;
    ibc_status st = ibc_redo_open(e, path, &r, err, sizeof(err));
    if (st == IBC_OK)
        st = ibc_redo_set_key(r, keys_old, IBC_ALGO_AUTO, err, sizeof(err));
    ibc_redo_result res;
    if (st == IBC_OK)
        st = ibc_redo_verify(r, 1, &res, err, sizeof(err));
    ibc_redo_info in;
    if (st == IBC_OK)
        ibc_redo_get_info(r, &in);
    unlink(path);
    TU_CHECK(st == IBC_OK && in.end_lsn == tr_log_fact(L->name, "server_end_lsn") &&
                 res.records > 8000,
             "from a file: %s", err);
    ibc_redo_free(r);
    ibc_engine_free(e);
}

TU_TESTS(TU_T(test_real_verify), TU_T(test_real_deep_verify), TU_T(test_real_wrong_key),
         TU_T(test_real_flipped_bit), TU_T(test_real_damage_search_sees_new_bytes),
         TU_T(test_real_bad_files), TU_T(test_real_rewrap),
         TU_T(test_real_reencrypt_roundtrip), TU_T(test_real_self_reencrypt),
         TU_T(test_rekey_dry_run_and_refusals), TU_T(test_rekey_after_verify_then_key),
         TU_T(test_real_from_file))
