/*
 * test_redo_synth.c - the redo log engine on logs built by the tests' own writer
 * (test_redo_util.h) from the format sheet's rules, with OpenSSL and a reference CRC:
 *
 *   - the older encrypted format (FORMAT_10_8 with crypt info, per-record IVs), which no server
 *     here writes: the engine reads, checks, finds key and mode, and re-keys logs written by
 *     the writer, and the writer's decoder reads back what the engine wrote (new key, rewrap,
 *     and back to the original bytes);
 *   - FORMAT_ENC_11 and plain logs the same way: random page and file mini-transactions, long
 *     ones with 2- and 3-byte length varints, pending redo that crosses the end of the file and
 *     a sequence-bit flip, old mtrs of the previous pass behind the end;
 *   - how the log ends: an end marker, old data, a torn last mtr (accepted, noted), damage
 *     followed by valid mtrs (an error at the LSN), a missing FILE_CHECKPOINT, a record that
 *     decrypts to nonsense under a valid CRC (deep verify only).
 * With IBC_REDO_CORPUS=DIR the logs are also written there (the seed corpus of fuzz_redo).
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "format.h"
#include "redo_internal.h"
#include "test_redo_util.h"

#define SYNTH_MAX 4096

typedef struct synth {
    tr_log L;
    uint64_t cp, cp_end, end;
    size_t n; /* pending mtrs */
    uint64_t lsn[SYNTH_MAX];
    uint32_t len[SYNTH_MAX];
    uint8_t *plain[SYNTH_MAX];
    uint8_t fk[32], msg[16];
    size_t malformed; /* index of the malformed mtr, if asked for */
} synth;

enum { END_ZERO = 0, END_OLD = 1 };

/* Key 1 of the fuzz_redo target (tests/fuzz/fuzz_redo.c): the corpus logs use it. */
static const uint8_t fuzz_key[32] = "ibdcrypt fuzz_redo key 1 (lab!)";
static int corpus_key;

static void synth_free(synth *S)
{
    for (size_t i = 0; i < S->n; i++)
        free(S->plain[i]);
    free(S->L.img);
    free(S);
}

static uint64_t put_mtr(synth *S, tr_buf *o, int keep)
{
    uint64_t lsn = S->L.lsn;
    /* the nonce: the flushed LSN when the mtr was encrypted, a little behind it */
    uint64_t nonce = lsn - tu_rand_below(lsn - S->L.first_lsn < 5000 ? lsn - S->L.first_lsn : 5000);
    tr_log_mtr(&S->L, o->b, o->n, nonce);
    if (keep && S->n < SYNTH_MAX) {
        S->lsn[S->n] = lsn;
        S->len[S->n] = (uint32_t)o->n;
        S->plain[S->n] = malloc(o->n);
        memcpy(S->plain[S->n++], o->b, o->n);
    }
    return lsn;
}

/* A log of the given format: old mtrs of the previous pass, then from the checkpoint about
 * `pending` bytes of mtrs that cross the end of the ring (and the pass boundary), with the
 * FILE_CHECKPOINT mtr of the checkpoint a little after it. */
static synth *synth_build(int format, ibc_algo algo, size_t cap, size_t pending, int end_kind,
                          int malformed)
{
    synth *S = calloc(1, sizeof(*S));
    tu_rand_bytes(S->fk, 32);
    if (corpus_key)
        memcpy(S->fk, fuzz_key, 32);
    tu_rand_bytes(S->msg, 16);
    uint64_t first = 12288 + 512 * tu_rand_below(64);
    tr_log_init(&S->L, format, algo, 12288 + cap, first, S->fk, 32, S->msg, "MariaDB 10.11.99");
    S->cp = first + 2 * cap + cap - pending / 3 - tu_rand_below(100);
    tr_buf *o = malloc(sizeof(*o));
    /* the previous pass: its mtrs behind the end of the new ones */
    S->L.lsn = S->cp - cap + pending + 200;
    while (S->L.lsn < S->cp - 300) {
        o->n = 0;
        tr_page_mtr(o, 0);
        put_mtr(S, o, 0);
    }
    S->L.lsn = S->cp;
    S->cp_end = 0;
    int big = 0;
    while (S->L.lsn < S->cp + pending) {
        o->n = 0;
        if (!S->cp_end && S->L.lsn > S->cp + pending / 8) {
            tr_file_mtr(o, (int)tu_rand_below(4), S->cp); /* FILE_MODIFY... FILE_CHECKPOINT */
            S->cp_end = put_mtr(S, o, 1);
            if (malformed) { /* a WRITE of 40 bytes at offset 16380: beyond a 16 KiB page */
                uint8_t pl[48];
                tr_buf t;
                t.n = 0;
                tr_varint(&t, 16380);
                memcpy(pl, t.b, t.n);
                memset(pl + t.n, 0x5a, 40);
                o->n = 0;
                tr_page_rec(o, 0x30, 5, 7, pl, t.n + 40);
                S->malformed = S->n;
                put_mtr(S, o, 1);
            }
            continue;
        }
        if (tu_rand_below(10) == 0)
            tr_file_mtr(o, 1 + (int)tu_rand_below(3), 0);
        else /* a few big ones (up to 8 KiB) where the ring has room */
            tr_page_mtr(o, cap >= (64u << 10) && big < 3 && tu_rand_below(8) == 0 ? ++big : 0);
        put_mtr(S, o, 1);
    }
    if (S->L.lsn - S->cp > cap - 1024) { /* the pending mtrs must not overwrite themselves */
        fprintf(stderr, "synth_build: %zu bytes pending do not fit a %zu-byte ring\n",
                (size_t)(S->L.lsn - S->cp), cap);
        abort();
    }
    S->end = S->L.lsn;
    if (end_kind == END_ZERO)
        S->L.img[tr_off(&S->L, S->end)] = 0;
    tr_log_checkpoint(&S->L, 0, S->cp - 5000, S->cp - 4000); /* an older one */
    tr_log_checkpoint(&S->L, 1, S->cp, S->cp_end);
    free(o);
    return S;
}

static ibc_keyring *synth_keys(const uint8_t fk[32])
{
    ibc_keyring *kr = ibc_keyring_new();
    ibc_keyring_add(kr, 1, 1, fk, 32);
    return kr;
}

/* Every pending mtr decrypts (with the log key of the image's header under fk) to the
 * plaintext the writer put there. */
static int synth_readback(const synth *S, const uint8_t *img, const uint8_t fk[32], ibc_algo algo)
{
    tr_log R = S->L;
    R.img = malloc(S->L.size);
    memcpy(R.img, img, S->L.size);
    if (R.format != TR_PLAIN)
        ref_aes('e', 1, fk, 32, NULL, img + 56, R.log_key, 16);
    uint8_t *buf = malloc(1 << 17);
    int ok = 1;
    for (size_t i = 0; i < S->n && ok; i++)
        ok = tr_read_mtr(&R, R.log_key, algo, S->lsn[i], S->len[i], buf) &&
             !memcmp(buf, S->plain[i], S->len[i]);
    free(buf);
    free(R.img);
    return ok;
}

/* A seed of fuzz_redo: the mode byte 0x0f (repair the CRCs of header, checkpoints and mtrs;
 * 16 KiB pages), then the image. */
static void write_corpus(const char *name, const uint8_t *img, size_t n)
{
    const char *dir = getenv("IBC_REDO_CORPUS");
    if (!dir || !*dir)
        return;
    char path[600];
    snprintf(path, sizeof(path), "%.400s/%.100s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputc(0x0f, f);
        fwrite(img, 1, n, f);
        fclose(f);
    }
}

typedef struct rk_out {
    ibc_status st;
    char err[400];
} rk_out;

/* Re-key img in place from fk to fk2 (via a snapshot) with the engine of tier e. */
static ibc_status synth_rekey(ibc_engine *e, uint8_t *img, size_t size, const uint8_t fk[32],
                              const uint8_t fk2[32], ibc_rekey_mode mode, ibc_algo algo,
                              const uint8_t *msg, char *err, size_t errlen)
{
    uint8_t *src = malloc(size);
    memcpy(src, img, size);
    ibc_keyring *k1 = synth_keys(fk), *k2 = synth_keys(fk2);
    ibc_redo *r = NULL;
    ibc_redo_target *t = NULL;
    tr_sink sink = {.img = img, .size = size};
    ibc_status st = ibc_redo_open_mem(e, src, size, "synth", &r, err, errlen);
    if (st == IBC_OK)
        st = ibc_redo_set_key(r, k1, IBC_ALGO_AUTO, err, errlen);
    if (st == IBC_OK)
        st = ibc_redo_target_new(r, k2, mode, algo, msg, &t, err, errlen);
    if (st == IBC_OK)
        st = ibc_redo_rekey(r, t, tr_sink_write, &sink, NULL, err, errlen);
    if (st == IBC_OK && sink.bad)
        st = IBC_ERR_INVALID_ARG;
    ibc_redo_target_free(t);
    ibc_redo_free(r);
    ibc_keyring_free(k1);
    ibc_keyring_free(k2);
    free(src);
    return st;
}

/* Open, attach the key (if any), deep-verify with 16 KiB pages. */
static ibc_status synth_verify(ibc_engine *e, const uint8_t *img, size_t size, const uint8_t *fk,
                               int deep, ibc_redo_info *in, ibc_redo_result *res, char *err,
                               size_t errlen)
{
    ibc_redo *r = NULL;
    ibc_keyring *kr = fk ? synth_keys(fk) : NULL;
    ibc_status st = ibc_redo_open_mem(e, img, size, "synth", &r, err, errlen);
    if (st == IBC_OK)
        st = ibc_redo_set_page_size(r, 16384);
    if (st == IBC_OK && kr)
        st = ibc_redo_set_key(r, kr, IBC_ALGO_AUTO, err, errlen);
    if (st == IBC_OK)
        st = ibc_redo_verify(r, deep, res, err, errlen);
    if (r)
        ibc_redo_get_info(r, in);
    ibc_redo_free(r);
    ibc_keyring_free(kr);
    return st;
}

static void roundtrip(int format, ibc_algo algo, const char *name)
{
    const ibc_kernels *t[IBC_TIER_COUNT];
    size_t nt = ref_usable_tiers(t);
    for (size_t ti = 0; ti < nt; ti++) {
        synth *S = synth_build(format, algo, 64 << 10, 24 << 10, END_ZERO, 0);
        if (!ti) {
            char cname[64];
            snprintf(cname, sizeof(cname), "%s%s.log", name,
                     format == TR_PLAIN     ? ""
                     : algo == IBC_ALGO_CTR ? "-ctr"
                                            : "-cbc");
            corpus_key = 1;
            synth *C = synth_build(format, algo, 16 << 10, 6 << 10, END_OLD, 0);
            corpus_key = 0;
            write_corpus(cname, C->L.img, C->L.size);
            synth_free(C);
        }
        ibc_engine *e;
        TU_CHECK(ibc_engine_new(t[ti]->name, &e) == IBC_OK, "engine");
        char err[400] = "";
        ibc_redo_info in;
        ibc_redo_result res;
        const uint8_t *fk = format == TR_PLAIN ? NULL : S->fk;
        ibc_status st = synth_verify(e, S->L.img, S->L.size, fk, 1, &in, &res, err, sizeof(err));
        TU_CHECK(st == IBC_OK, "%s %s: deep verify: %s", name, t[ti]->name, err);
        TU_CHECK((int)in.format == format && in.checkpoint_lsn == S->cp && in.end_lsn == S->end &&
                     res.mtrs == S->n && in.chosen == 1 && (format == TR_PLAIN || in.key_verified),
                 "%s: end %llu (%llu) mtrs %llu (%zu)", name, (unsigned long long)in.end_lsn,
                 (unsigned long long)S->end, (unsigned long long)res.mtrs, S->n);
        TU_CHECK(in.algorithm == (format == TR_PLAIN ? IBC_ALGO_AUTO : algo), "%s: mode %d", name,
                 in.algorithm);
        if (format == TR_PLAIN) {
            synth_free(S);
            ibc_engine_free(e);
            continue;
        }
        /* re-encrypt under a new key: the writer's decoder reads it */
        uint8_t fk2[32];
        tu_rand_bytes(fk2, 32);
        uint8_t *img = malloc(S->L.size);
        memcpy(img, S->L.img, S->L.size);
        st = synth_rekey(e, img, S->L.size, S->fk, fk2, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, NULL,
                         err, sizeof(err));
        TU_CHECK(st == IBC_OK, "%s %s: re-encrypt: %s", name, t[ti]->name, err);
        TU_CHECK(synth_readback(S, img, fk2, algo), "%s %s: the decoder cannot read the result",
                 name, t[ti]->name);
        TU_CHECK(!synth_readback(S, img, S->fk, algo), "%s: old key still reads it", name);
        st = synth_verify(e, img, S->L.size, fk2, 1, &in, &res, err, sizeof(err));
        TU_CHECK(st == IBC_OK && in.algorithm == algo, "%s: new log: %s", name, err);
        /* back, with the original crypt_msg: the original bytes */
        st = synth_rekey(e, img, S->L.size, fk2, S->fk, IBC_REKEY_REENCRYPT, IBC_ALGO_AUTO, S->msg,
                         err, sizeof(err));
        TU_CHECK(st == IBC_OK, "%s: back: %s", name, err);
        TU_CHECK_MEM(img, S->L.img, S->L.size, "%s %s: new key and back", name, t[ti]->name);
        /* the other mode and back */
        ibc_algo other = algo == IBC_ALGO_CBC ? IBC_ALGO_CTR : IBC_ALGO_CBC;
        st = synth_rekey(e, img, S->L.size, S->fk, fk2, IBC_REKEY_REENCRYPT, other, NULL, err,
                         sizeof(err));
        TU_CHECK(st == IBC_OK && synth_readback(S, img, fk2, other), "%s: to %d: %s", name, other,
                 err);
        st = synth_rekey(e, img, S->L.size, fk2, S->fk, IBC_REKEY_REENCRYPT, algo, S->msg, err,
                         sizeof(err));
        TU_CHECK(st == IBC_OK, "%s: back: %s", name, err);
        TU_CHECK_MEM(img, S->L.img, S->L.size, "%s: other mode and back", name);
        /* rewrap: the records stay, the log key is the same under the new key */
        st = synth_rekey(e, img, S->L.size, S->fk, fk2, IBC_REKEY_REWRAP, IBC_ALGO_AUTO, NULL, err,
                         sizeof(err));
        TU_CHECK(st == IBC_OK && synth_readback(S, img, fk2, algo) &&
                     !memcmp(img + 512, S->L.img + 512, S->L.size - 512),
                 "%s: rewrap: %s", name, err);
        free(img);
        synth_free(S);
        ibc_engine_free(e);
    }
}

static void test_enc108_roundtrip(void)
{
    roundtrip(TR_ENC_10_8, IBC_ALGO_CBC, "enc108");
    roundtrip(TR_ENC_10_8, IBC_ALGO_CTR, "enc108");
}

static void test_enc11_roundtrip(void)
{
    roundtrip(TR_ENC_11, IBC_ALGO_CBC, "enc11");
    roundtrip(TR_ENC_11, IBC_ALGO_CTR, "enc11");
}

static void test_plain(void)
{
    roundtrip(TR_PLAIN, IBC_ALGO_AUTO, "plain");
    /* and, for the corpus, the smallest log: 12288 + one FILE_CHECKPOINT mtr (§10.5) */
    tr_log L;
    tr_log_init(&L, TR_PLAIN, IBC_ALGO_AUTO, 12288 + 16, 12288, NULL, 0, NULL, "Backup 10.11.19");
    tr_log_checkpoint(&L, 0, 12288, 12288);
    tr_buf o;
    o.n = 0;
    tr_file_mtr(&o, 0, 12288);
    L.lsn = 12288;
    tr_log_mtr(&L, o.b, o.n, 0);
    write_corpus("minimal.log", L.img, L.size);
    free(L.img);
}

/* ENC_10_8 stores FILE_ records and the page ids in plain, the payloads encrypted; FORMAT_ENC_11
 * encrypts all but the type/length bytes. */
static void test_what_is_encrypted(void)
{
    for (int format = TR_ENC_10_8; format <= TR_ENC_11; format++) {
        synth *S = synth_build(format, IBC_ALGO_CBC, 64 << 10, 16 << 10, END_ZERO, 0);
        size_t file_plain = 0, file_recs = 0, ids_plain = 0, page_recs = 0;
        uint8_t *m = malloc(1 << 17);
        for (size_t i = 0; i < S->n; i++) {
            tr_get(&S->L, S->lsn[i], m, S->len[i]);
            const uint8_t *p = S->plain[i];
            size_t hl, size = tr_rec(p, &hl);
            TU_CHECK(!memcmp(m, p, hl), "type/length bytes are plain");
            if (p[0] & 0x80) { /* a file mtr */
                file_recs++;
                file_plain += !memcmp(m, p, size);
            } else {
                page_recs++;
                ids_plain += !memcmp(m + hl, p + hl, 2);
            }
        }
        if (format == TR_ENC_10_8)
            TU_CHECK(file_plain == file_recs && ids_plain == page_recs, "10.8: plain parts");
        else
            TU_CHECK(file_plain == 0 && ids_plain < page_recs / 8 + 1, "ENC_11: %zu of %zu ids",
                     ids_plain, page_recs);
        free(m);
        synth_free(S);
    }
}

/* How logs end, and damage. */
static void test_ends_and_damage(void)
{
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    char err[400] = "";
    ibc_redo_info in;
    ibc_redo_result res;
    for (int format = TR_PLAIN; format <= TR_ENC_11; format++) {
        const char *fn = format == TR_PLAIN ? "plain" : format == TR_ENC_11 ? "enc11" : "enc108";
        /* old data of the previous pass right behind the end (no end marker) */
        synth *S = synth_build(format, IBC_ALGO_CTR, 64 << 10, 24 << 10, END_OLD, 0);
        const uint8_t *fk = format == TR_PLAIN ? NULL : S->fk;
        ibc_status st = synth_verify(e, S->L.img, S->L.size, fk, 1, &in, &res, err, sizeof(err));
        TU_CHECK(st == IBC_OK && in.end_lsn == S->end && !in.torn_tail, "%s: old data: %s", fn,
                 err);
        uint8_t *img = malloc(S->L.size);
        /* a torn last mtr: recovery stops before it; so do we, and say so */
        memcpy(img, S->L.img, S->L.size);
        img[tr_off(&S->L, S->lsn[S->n - 1])] ^= 0x10; /* its type byte: CRC */
        st = synth_verify(e, img, S->L.size, fk, 0, &in, &res, err, sizeof(err));
        TU_CHECK(st == IBC_OK && in.end_lsn == S->lsn[S->n - 1] && in.torn_tail &&
                     in.mtrs == S->n - 1,
                 "%s: torn tail: %s end %llu", fn, err, (unsigned long long)in.end_lsn);
        /* damage in the middle */
        size_t j = S->n / 2; /* after the FILE_CHECKPOINT, before the last 8 KiB */
        while (S->end - S->lsn[j] < 8192 || S->lsn[j] <= S->cp_end)
            j = S->lsn[j] <= S->cp_end ? j + 1 : j - 1;
        memcpy(img, S->L.img, S->L.size);
        img[tr_off(&S->L, S->lsn[j] + S->len[j] - 1)] ^= 1;
        st = synth_verify(e, img, S->L.size, fk, 0, &in, &res, err, sizeof(err));
        TU_CHECK(st == IBC_ERR_CORRUPT && res.bad_lsn == S->lsn[j] && strstr(err, "damaged"),
                 "%s: damage at %llu: %s (%s)", fn, (unsigned long long)S->lsn[j], ibc_strerror(st),
                 err);
        /* the FILE_CHECKPOINT names another LSN */
        memcpy(img, S->L.img, S->L.size);
        tr_log_checkpoint(&S->L, 1, S->cp - 1, S->cp_end);
        memcpy(img + 8192, S->L.img + 8192, 64);
        tr_log_checkpoint(&S->L, 1, S->cp, S->cp_end);
        /* (a checkpoint that is not an mtr boundary is not found either) */
        st = synth_verify(e, img, S->L.size, fk, 0, &in, &res, err, sizeof(err));
        TU_CHECK(st != IBC_OK, "%s: a checkpoint off the mtr boundaries passes", fn);
        /* the end LSN of the checkpoint points past the FILE_CHECKPOINT mtr */
        memcpy(img, S->L.img, S->L.size);
        tr_log_checkpoint(&S->L, 1, S->cp, S->lsn[S->n - 2]);
        memcpy(img + 8192, S->L.img + 8192, 64);
        tr_log_checkpoint(&S->L, 1, S->cp, S->cp_end);
        st = synth_verify(e, img, S->L.size, fk, 0, &in, &res, err, sizeof(err));
        TU_CHECK(st == IBC_ERR_CORRUPT && strstr(err, "FILE_CHECKPOINT"),
                 "%s: missing FILE_CHECKPOINT: %s", fn, err);
        free(img);
        synth_free(S);
    }
    ibc_engine_free(e);
}

/* A record that is malformed after decryption, under a valid CRC (the server would refuse it
 * as "Malformed log record"): only deep verify sees it. */
static void test_malformed_record(void)
{
    ibc_engine *e;
    ibc_engine_new(NULL, &e);
    char err[400] = "";
    ibc_redo_info in;
    ibc_redo_result res;
    for (int format = TR_PLAIN; format <= TR_ENC_11; format++) {
        synth *S = synth_build(format, IBC_ALGO_CBC, 64 << 10, 24 << 10, END_ZERO, 1);
        size_t j = S->malformed;
        const uint8_t *fk = format == TR_PLAIN ? NULL : S->fk;
        ibc_status st = synth_verify(e, S->L.img, S->L.size, fk, 0, &in, &res, err, sizeof(err));
        TU_CHECK(st == IBC_OK, "format %d: verify: %s", format, err);
        st = synth_verify(e, S->L.img, S->L.size, fk, 1, &in, &res, err, sizeof(err));
        char at[40];
        snprintf(at, sizeof(at), "LSN %llu ", (unsigned long long)S->lsn[j]);
        TU_CHECK(st == IBC_ERR_CORRUPT && res.bad_lsn == S->lsn[j] && strstr(err, at) &&
                     strstr(err, "WRITE"),
                 "format %d: deep verify: %s", format, err);
        synth_free(S);
    }
    ibc_engine_free(e);
}

TU_TESTS(TU_T(test_enc108_roundtrip), TU_T(test_enc11_roundtrip), TU_T(test_plain),
         TU_T(test_what_is_encrypted), TU_T(test_ends_and_damage), TU_T(test_malformed_record))
