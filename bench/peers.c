/*
 * peers.c - OpenSSL, intel-ipsec-mb and ISA-L behind the small interface of peers.h.
 *
 * The fresh-context OpenSSL path reproduces what MariaDB 10.11 does for every page
 * (mysys_ssl/my_crypt.cc: my_aes_crypt -> MyCTX / MyCTX_nopad init, update, finish), because
 * that is the baseline the page benchmarks are measured against.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "peers.h"

#ifdef BENCH_HAVE_ISAL
#include <isa-l.h>
#endif

const EVP_CIPHER *ossl_cipher(peer_mode mode, size_t key_len)
{
    switch (mode) {
    case PEER_ECB:
        return key_len == 16 ? EVP_aes_128_ecb() : key_len == 24 ? EVP_aes_192_ecb()
                                                                  : EVP_aes_256_ecb();
    case PEER_CBC:
        return key_len == 16 ? EVP_aes_128_cbc() : key_len == 24 ? EVP_aes_192_cbc()
                                                                  : EVP_aes_256_cbc();
    case PEER_CTR:
        return key_len == 16 ? EVP_aes_128_ctr() : key_len == 24 ? EVP_aes_192_ctr()
                                                                  : EVP_aes_256_ctr();
    }
    return NULL;
}

int ossl_reused_init(ossl_reused *r, peer_mode mode, int enc, const uint8_t *key, size_t key_len)
{
    r->enc = enc;
    r->ctx = EVP_CIPHER_CTX_new();
    if (!r->ctx)
        return -1;
    if (EVP_CipherInit_ex(r->ctx, ossl_cipher(mode, key_len), NULL, key, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_set_padding(r->ctx, 0) != 1) {
        ossl_reused_free(r);
        return -1;
    }
    return 0;
}

void ossl_reused_free(ossl_reused *r)
{
    EVP_CIPHER_CTX_free(r->ctx);
    r->ctx = NULL;
}

int ossl_reused_crypt(ossl_reused *r, const uint8_t iv[16], const uint8_t *in, uint8_t *out,
                      size_t len)
{
    int outl = 0;
    /* a NULL cipher and key keep the expanded key; the IV (and CTR position) start afresh */
    if (iv && EVP_CipherInit_ex(r->ctx, NULL, NULL, NULL, iv, r->enc) != 1)
        return -1;
    if (EVP_CipherUpdate(r->ctx, out, &outl, in, (int)len) != 1 || (size_t)outl != len)
        return -1;
    return 0;
}

/* my_crypt.cc MyCTX::init / update / finish with a new EVP_CIPHER_CTX, for whole blocks (or
 * any length in CTR mode). */
static int fresh_whole(peer_mode mode, int enc, const uint8_t *key, size_t key_len,
                       const uint8_t *iv, const uint8_t *in, uint8_t *out, size_t len)
{
    int ok = 0, outl = 0, finl = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx && EVP_CipherInit_ex(ctx, ossl_cipher(mode, key_len), NULL, key, iv, enc) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
        EVP_CipherUpdate(ctx, out, &outl, in, (int)len) == 1 &&
        EVP_CipherFinal_ex(ctx, out + outl, &finl) == 1 && (size_t)(outl + finl) == len)
        ok = 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int ossl_fresh_crypt(peer_mode mode, int enc, const uint8_t *key, size_t key_len,
                     const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len)
{
    if (mode != PEER_CBC || len % 16 == 0)
        return fresh_whole(mode, enc, key, key_len, iv, in, out, len);
    /* MyCTX_nopad: CBC over the whole blocks, then the tail XORed with AES-ECB(key, iv) (of
     * the original IV, in both directions), computed by a nested my_aes_crypt(MY_AES_ECB) */
    size_t whole = len / 16 * 16, tail = len - whole;
    uint8_t t[16], mask[16];
    memcpy(t, in + whole, tail);
    if (whole && fresh_whole(PEER_CBC, enc, key, key_len, iv, in, out, whole))
        return -1;
    if (fresh_whole(PEER_ECB, 1, key, key_len, NULL, iv, mask, 16))
        return -1;
    for (size_t i = 0; i < tail; i++)
        out[whole + i] = t[i] ^ mask[i];
    return 0;
}

/* ---- intel-ipsec-mb ----------------------------------------------------------------------- */
#ifdef BENCH_HAVE_IPSECMB

int mb_peer_init(mb_peer *m, const uint8_t *key, size_t key_len)
{
    IMB_ARCH arch;
    memset(m, 0, sizeof(*m));
    m->mgr = alloc_mb_mgr(0);
    if (!m->mgr)
        return -1;
    init_mb_mgr_auto(m->mgr, &arch);
    m->key_len = key_len;
    if (key_len == 16)
        IMB_AES_KEYEXP_128(m->mgr, key, m->enc, m->dec);
    else if (key_len == 24)
        IMB_AES_KEYEXP_192(m->mgr, key, m->enc, m->dec);
    else
        IMB_AES_KEYEXP_256(m->mgr, key, m->enc, m->dec);
    return 0;
}

void mb_peer_free(mb_peer *m)
{
    if (m->mgr)
        free_mb_mgr(m->mgr);
    m->mgr = NULL;
}

static IMB_JOB *mb_job(mb_peer *m, peer_mode mode, int enc, const uint8_t *iv, const uint8_t *in,
                       uint8_t *out, size_t len)
{
    IMB_JOB *job = IMB_GET_NEXT_JOB(m->mgr);
    memset(job, 0, sizeof(*job));
    job->cipher_mode = mode == PEER_ECB ? IMB_CIPHER_ECB
                       : mode == PEER_CBC ? IMB_CIPHER_CBC
                                          : IMB_CIPHER_CNTR;
    job->cipher_direction = enc ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    job->chain_order = enc ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    job->hash_alg = IMB_AUTH_NULL;
    job->enc_keys = m->enc;
    job->dec_keys = m->dec;
    job->key_len_in_bytes = m->key_len;
    job->src = in;
    job->dst = out;
    job->msg_len_to_cipher_in_bytes = len;
    job->iv = iv;
    job->iv_len_in_bytes = mode == PEER_ECB ? 0 : 16;
    return job;
}

/* Flush every pending job; returns the number completed, or -1 if one failed. */
static int mb_drain(mb_peer *m, IMB_JOB *first)
{
    int done = 0;
    IMB_JOB *job = first;
    for (;;) {
        if (job) {
            if (job->status != IMB_STATUS_COMPLETED)
                return -1;
            done++;
        }
        job = IMB_FLUSH_JOB(m->mgr);
        if (!job)
            return done;
    }
}

/* ipsec-mb's multi-buffer CBC encryption keeps lane lengths in 16 bits: a job encrypts less
 * than 64 KiB. Longer streams are cut into pieces of MB_CBC_PIECE bytes, chained by their IVs
 * (the last ciphertext block of one piece is the IV of the next). */
#define MB_CBC_PIECE 32768

int mb_peer_crypt(mb_peer *m, peer_mode mode, int enc, const uint8_t iv[16], const uint8_t *in,
                  uint8_t *out, size_t len)
{
    if (mode == PEER_CBC && enc && len > MB_CBC_PIECE) {
        ibc_cbc_lane lane = {.in = in, .out = out, .nblocks = len / 16};
        memcpy(lane.iv, iv, 16);
        return mb_peer_cbc_enc_lanes(m, &lane, 1);
    }
    mb_job(m, mode, enc, iv, in, out, len);
    return mb_drain(m, IMB_SUBMIT_JOB(m->mgr)) == 1 ? 0 : -1;
}

int mb_peer_cbc_enc_lanes(mb_peer *m, const ibc_cbc_lane *lanes, size_t n)
{
    size_t longest = 0;
    for (size_t i = 0; i < n; i++)
        longest = lanes[i].nblocks * 16 > longest ? lanes[i].nblocks * 16 : longest;
    for (size_t off = 0; off < longest; off += MB_CBC_PIECE) {
        int want = 0, done = 0;
        for (size_t i = 0; i < n; i++) {
            size_t len = lanes[i].nblocks * 16;
            if (off >= len)
                continue;
            size_t piece = len - off < MB_CBC_PIECE ? len - off : MB_CBC_PIECE;
            const uint8_t *iv = off ? lanes[i].out + off - 16 : lanes[i].iv;
            mb_job(m, PEER_CBC, 1, iv, lanes[i].in + off, lanes[i].out + off, piece);
            want++;
            IMB_JOB *job = IMB_SUBMIT_JOB(m->mgr);
            if (job) {
                if (job->status != IMB_STATUS_COMPLETED)
                    return -1;
                done++;
            }
        }
        int rest = mb_drain(m, NULL);
        if (rest < 0 || done + rest != want)
            return -1;
    }
    return 0;
}

const char *mb_peer_arch_name(void)
{
    static const char *const names[IMB_ARCH_NUM] = {"none", "noaesni", "sse", "avx", "avx2",
                                                    "avx512"};
    IMB_ARCH arch = IMB_ARCH_NONE;
    IMB_MGR *mgr = alloc_mb_mgr(0);
    if (!mgr)
        return "unknown";
    init_mb_mgr_auto(mgr, &arch);
    free_mb_mgr(mgr);
    return (unsigned)arch < IMB_ARCH_NUM ? names[arch] : "unknown";
}
#endif

/* ---- ISA-L -------------------------------------------------------------------------------- */
#ifdef BENCH_HAVE_ISAL
uint32_t isal_crc32c(uint32_t crc, const void *buf, size_t len)
{
    /* ISA-L applies no inversion itself (perf-ceilings.md §9); crc32_iscsi only reads buf */
    unsigned char *p;
    memcpy(&p, &buf, sizeof(p));
    return ~crc32_iscsi(p, (int)len, ~crc);
}
#endif

void peers_versions(char *openssl, size_t n1, char *ipsecmb, size_t n2, char *isal, size_t n3)
{
    snprintf(openssl, n1, "%s", OpenSSL_version(OPENSSL_VERSION));
#ifdef BENCH_HAVE_IPSECMB
    snprintf(ipsecmb, n2, "%s (%s manager)", imb_get_version_str(), mb_peer_arch_name());
#else
    snprintf(ipsecmb, n2, "not available");
#endif
#ifdef BENCH_HAVE_ISAL
    snprintf(isal, n3, "%d.%d.%d", ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION, ISAL_PATCH_VERSION);
#else
    snprintf(isal, n3, "not available");
#endif
}
