/*
 * test_redo_kat.c - the redo log engine against known answers from real MariaDB 10.11.19 logs
 * (tests/vectors/redo-enc11.txt, formats/mariadb.md §10.4.9) and the minimal clean log of
 * §10.5, on every kernel tier:
 *
 *   - log key = AES-ECB(key 1, crypt_msg); the stream IV nonce | T_1 | zeros; the CRC-32C over
 *     records + nonce; framing and sequence byte;
 *   - the engine decrypts each stored mtr to the known plaintext and encrypts it back to the
 *     stored bytes; OpenSSL (the tests' independent decoder) agrees; the records parse;
 *   - through the public API, logs built around the real mtrs: the key is checked by the
 *     FILE_CHECKPOINT known plaintext, the mode found from the real long mtrs, a wrong key
 *     refused.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "format.h"
#include "redo_internal.h"
#include "test_redo_util.h"
#include "vectors.h"

typedef struct vec {
    char section[16];
    uint8_t fk[32], msg[16], lkey[16], stored[128], iv[16], plain[128];
    long sn, pn;
    uint64_t lsn, checkpoint;
    int line;
} vec;

static int next_vec(tv_file *f, vec *v)
{
    tv_record r;
    if (!tv_next(f, &r))
        return 0;
    memset(v, 0, sizeof(*v));
    snprintf(v->section, sizeof(v->section), "%.15s", r.section);
    v->line = r.line;
    v->sn = tv_hex(&r, "Stored", v->stored, sizeof(v->stored));
    v->pn = tv_hex(&r, "Plain", v->plain, sizeof(v->plain));
    if (tv_hex(&r, "FileKey", v->fk, 32) != 32 || tv_hex(&r, "CryptMsg", v->msg, 16) != 16 ||
        tv_hex(&r, "LogKey", v->lkey, 16) != 16 || tv_hex(&r, "IV", v->iv, 16) != 16 ||
        v->sn < 13 || v->pn != v->sn - 13 || !tv_get(&r, "LSN"))
        return -1;
    v->lsn = strtoull(tv_get(&r, "LSN"), NULL, 10);
    if (tv_get(&r, "Checkpoint"))
        v->checkpoint = strtoull(tv_get(&r, "Checkpoint"), NULL, 10);
    return 1;
}

static void test_enc11_known_answers(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    tv_file f;
    vec v;
    int n = 0, rc;
    TU_CHECK(tv_open(&f, "redo-enc11.txt") == 0, "cannot open vectors/redo-enc11.txt");
    while ((rc = next_vec(&f, &v)) != 0) {
        TU_CHECK(rc > 0, "redo-enc11.txt:%d malformed", v.line);
        ibc_algo algo = strcmp(v.section, "CTR") ? IBC_ALGO_CBC : IBC_ALGO_CTR;
        size_t len = (size_t)v.pn;
        n++;
        /* the independent decoder (OpenSSL) and CRC agree with the vector */
        uint8_t lk[16], buf[128];
        ref_aes('e', 1, v.fk, 32, NULL, v.msg, lk, 16);
        TU_CHECK_MEM(lk, v.lkey, 16, "line %d: OpenSSL log key", v.line);
        memcpy(buf, v.stored, len);
        tr_crypt_recs(TR_ENC_11, algo, 0, lk, v.stored + len + 1, buf, len);
        TU_CHECK_MEM(buf, v.plain, len, "line %d: OpenSSL decryption", v.line);
        uint32_t crc = ref_crc32c(ref_crc32c(0, v.stored, len), v.stored + len + 1, 8);
        TU_CHECK(crc == be32(v.stored + len + 9), "line %d: CRC of records + nonce", v.line);
        for (size_t i = 0; i < nt; i++) {
            const ibc_kernels *k = t[i];
            ibc_aes_key fkey;
            k->aes_expand(&fkey, v.fk, 32);
            k->aes_ecb_enc(&fkey, v.msg, lk, 1);
            TU_CHECK_MEM(lk, v.lkey, 16, "line %d %s: log key", v.line, k->name);
            /* a handle with just what framing and the cipher read */
            ibc_redo r;
            memset(&r, 0, sizeof(r));
            r.k = k;
            r.info.format = IBC_REDO_ENC_11;
            r.info.encrypted = 1;
            r.info.first_lsn = v.lsn - 100; /* first pass: sequence bit 1 */
            r.info.capacity = 1u << 20;
            r.nonce_len = 8;
            redo_mtr m;
            TU_CHECK(redo_frame(&r, v.stored, (size_t)v.sn, v.lsn, &m) == REDO_FRAME_OK,
                     "line %d %s: framing/CRC", v.line, k->name);
            TU_CHECK(m.len == len && m.size == (uint32_t)v.sn, "line %d: mtr length", v.line);
            uint8_t iv[16], out[128], tmp[128];
            redo_enc11_iv(v.stored, &m, iv);
            TU_CHECK_MEM(iv, v.iv, 16, "line %d: IV", v.line);
            ibc_aes_key key;
            k->aes_expand(&key, lk, 16);
            redo_crypt_mtr(&r, &key, algo, 0, v.stored, &m, out, tmp);
            TU_CHECK_MEM(out, v.plain, len, "line %d %s: decryption", v.line, k->name);
            memcpy(out, v.plain, len);
            memcpy(out + len, v.stored + len, 13);
            redo_crypt_mtr(&r, &key, algo, 1, out, &m, out, tmp); /* in place */
            TU_CHECK_MEM(out, v.stored, len, "line %d %s: encryption", v.line, k->name);
            if (m.body < 16) { /* short streams: the other mode gives the same */
                redo_crypt_mtr(&r, &key, algo == IBC_ALGO_CBC ? IBC_ALGO_CTR : IBC_ALGO_CBC, 0,
                               v.stored, &m, out, tmp);
                TU_CHECK_MEM(out, v.plain, len, "line %d: short stream, other mode", v.line);
            } else {
                redo_crypt_mtr(&r, &key, algo == IBC_ALGO_CBC ? IBC_ALGO_CTR : IBC_ALGO_CBC, 0,
                               v.stored, &m, out, tmp);
                TU_CHECK(memcmp(out, v.plain, len) != 0, "line %d: other mode", v.line);
            }
            redo_recs c = {.page_size = 16384};
            TU_CHECK(redo_check_records(v.plain, len, &c) == 0, "line %d: records: %s", v.line,
                     c.why);
            TU_CHECK(c.has_checkpoint == (v.checkpoint != 0) &&
                         (!v.checkpoint || c.checkpoint_lsn == v.checkpoint),
                     "line %d: FILE_CHECKPOINT", v.line);
            ibc_aes_key_wipe(&fkey);
            ibc_aes_key_wipe(&key);
        }
    }
    tv_close(&f);
    TU_CHECK(n == 5, "%d vectors", n);
}

/* A log around a real mtr: header with the real crypt_msg, the checkpoint at the mtr, and -
 * unless the mtr is itself a FILE_CHECKPOINT - a FILE_CHECKPOINT mtr written by the tests'
 * writer after it. */
static void vector_log(const vec *v, ibc_algo algo, tr_log *L)
{
    tr_log_init(L, TR_ENC_11, algo, 12288 + 65536, v->lsn > 13288 ? v->lsn - 1000 : 12288, v->fk,
                32, v->msg, "MariaDB 10.11.19");
    size_t len = (size_t)v->pn;
    tr_put(L, v->lsn, v->stored, (size_t)v->sn);
    L->lsn = v->lsn + (size_t)v->sn;
    uint64_t end = v->lsn;
    if (!v->checkpoint) {
        tr_buf o;
        o.n = 0;
        tr_file_mtr(&o, 1, v->lsn);
        end = tr_log_mtr(L, o.b, o.n, L->lsn);
    }
    tr_log_checkpoint(L, 0, v->lsn, end);
    (void)len;
}

static void test_enc11_vector_logs(void)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    tv_file f;
    vec v;
    int rc;
    TU_CHECK(tv_open(&f, "redo-enc11.txt") == 0, "cannot open vectors/redo-enc11.txt");
    while ((rc = next_vec(&f, &v)) > 0) {
        ibc_algo algo = strcmp(v.section, "CTR") ? IBC_ALGO_CBC : IBC_ALGO_CTR;
        tr_log L;
        vector_log(&v, algo, &L);
        ibc_keyring *kr = ibc_keyring_new(), *wrong = ibc_keyring_new();
        uint8_t other[32];
        memcpy(other, v.fk, 32);
        other[0] ^= 1;
        ibc_keyring_add(kr, 1, 1, v.fk, 32);
        ibc_keyring_add(wrong, 1, 1, other, 32);
        for (size_t i = 0; i < nt; i++) {
            ibc_engine *e;
            char err[300] = "";
            TU_CHECK(ibc_engine_new(t[i]->name, &e) == IBC_OK, "engine %s", t[i]->name);
            ibc_redo *r;
            ibc_status st = ibc_redo_open_mem(e, L.img, L.size, "vector", &r, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "line %d: open: %s", v.line, err);
            ibc_redo_info in;
            ibc_redo_get_info(r, &in);
            TU_CHECK(in.format == IBC_REDO_ENC_11 && in.key_id == 1 && in.encrypted,
                     "line %d: header", v.line);
            TU_CHECK(ibc_redo_set_key(r, wrong, IBC_ALGO_AUTO, err, sizeof(err)) ==
                         IBC_ERR_KEY_MISMATCH,
                     "line %d: a wrong key is accepted", v.line);
            st = ibc_redo_set_key(r, kr, IBC_ALGO_AUTO, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "line %d %s: set_key: %s", v.line, t[i]->name, err);
            ibc_redo_get_info(r, &in);
            TU_CHECK(in.key_verified, "line %d: key not verified", v.line);
            /* a long real mtr tells the mode; a lone FILE_CHECKPOINT cannot */
            TU_CHECK(in.algorithm == (v.checkpoint ? IBC_ALGO_AUTO : algo), "line %d: mode %d",
                     v.line, in.algorithm);
            ibc_redo_result res;
            st = ibc_redo_verify(r, 1, &res, err, sizeof(err));
            TU_CHECK(st == IBC_OK, "line %d %s: deep verify: %s", v.line, t[i]->name, err);
            ibc_redo_get_info(r, &in);
            TU_CHECK(in.end_lsn == L.lsn && res.mtrs == (v.checkpoint ? 1u : 2u),
                     "line %d: end %llu", v.line, (unsigned long long)in.end_lsn);
            ibc_redo_free(r);
            ibc_engine_free(e);
        }
        ibc_keyring_free(kr);
        ibc_keyring_free(wrong);
        free(L.img);
    }
    tv_close(&f);
    TU_CHECK(rc == 0, "redo-enc11.txt:%d malformed", v.line);
}

/* formats/mariadb.md §10.5: the log mariadb-backup --prepare leaves: 12288 + 16 bytes, one
 * FILE_CHECKPOINT mtr `fa 00 00 <BE64 LSN> 01 <CRC32C>`, a known answer at LSN 12288. */
static void test_minimal_clean_log(void)
{
    static const uint8_t mtr[16] = {0xfa, 0,    0,    0,    0,    0,    0,    0,
                                    0,    0x30, 0x00, 0x01, 0x1f, 0xec, 0x1a, 0x80};
    tr_log L;
    tr_log_init(&L, TR_PLAIN, IBC_ALGO_AUTO, 12288 + 16, 12288, NULL, 0, NULL, "Backup 10.11.19");
    tr_log_checkpoint(&L, 0, 12288, 12288);
    memcpy(L.img + 12288, mtr, 16);
    TU_CHECK(ref_crc32c(0, mtr, 11) == 0x1fec1a80u, "known CRC");
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    ibc_redo *r;
    char err[300] = "";
    ibc_status st = ibc_redo_open_mem(e, L.img, L.size, "minimal", &r, err, sizeof(err));
    TU_CHECK(st == IBC_OK, "open: %s", err);
    ibc_redo_result res;
    st = ibc_redo_verify(r, 1, &res, err, sizeof(err));
    ibc_redo_info in;
    ibc_redo_get_info(r, &in);
    TU_CHECK(st == IBC_OK, "verify: %s", err);
    TU_CHECK(in.format == IBC_REDO_PLAIN && in.capacity == 16 && in.end_lsn == 12304 &&
                 in.pending_bytes == 16 && res.mtrs == 1 && res.records == 1 && in.chosen == 0 &&
                 !in.checkpoint[1].valid && !strcmp(in.creator, "Backup 10.11.19"),
             "info: end %llu", (unsigned long long)in.end_lsn);
    ibc_redo_free(r);
    /* one byte short of the minimum */
    st = ibc_redo_open_mem(e, L.img, L.size - 1, "short", &r, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_FORMAT && strstr(err, "too small"), "short log: %s", err);
    ibc_engine_free(e);
    free(L.img);
}

TU_TESTS(TU_T(test_enc11_known_answers), TU_T(test_enc11_vector_logs), TU_T(test_minimal_clean_log))
