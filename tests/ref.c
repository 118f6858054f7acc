/*
 * ref.c - OpenSSL reference AES and tier iteration for the differential tests.
 */
#include "ref.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

static const EVP_CIPHER *cipher(char mode, size_t key_len)
{
    int i = key_len == 16 ? 0 : key_len == 24 ? 1 : 2;
    switch (mode) {
    case 'e':
        return (const EVP_CIPHER *[]){EVP_aes_128_ecb(), EVP_aes_192_ecb(), EVP_aes_256_ecb()}[i];
    case 'c':
        return (const EVP_CIPHER *[]){EVP_aes_128_cbc(), EVP_aes_192_cbc(), EVP_aes_256_cbc()}[i];
    default:
        return (const EVP_CIPHER *[]){EVP_aes_128_ctr(), EVP_aes_192_ctr(), EVP_aes_256_ctr()}[i];
    }
}

void ref_aes(char mode, int enc, const uint8_t *key, size_t key_len, const uint8_t *iv,
             const uint8_t *in, uint8_t *out, size_t len)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    if (!c || !EVP_CipherInit_ex(c, cipher(mode, key_len), NULL, key, iv, enc) ||
        !EVP_CIPHER_CTX_set_padding(c, 0) ||
        (len && !EVP_CipherUpdate(c, out, &n1, in, (int)len)) ||
        !EVP_CipherFinal_ex(c, out + n1, &n2) || (size_t)(n1 + n2) != len) {
        fprintf(stderr, "OpenSSL reference failed (mode %c len %zu)\n", mode, len);
        abort();
    }
    EVP_CIPHER_CTX_free(c);
}

size_t ref_usable_tiers(const ibc_kernels *tables[IBC_TIER_COUNT])
{
    size_t n = 0;
    uint32_t f = ibc_cpu_features();
    for (int t = 0; t < IBC_TIER_COUNT; t++)
        if (ibc_tier_usable((ibc_tier_id)t, f))
            tables[n++] = ibc_tier_kernels((ibc_tier_id)t);
    return n;
}

size_t ref_usable_variants(const ibc_kernels *tables[IBC_TIER_COUNT + 1])
{
    size_t n = ref_usable_tiers(tables);
#if defined(IBC_HAVE_TIER_VAES512)
    for (size_t i = 0, nt = n; i < nt; i++)
        if (tables[i]->tier == IBC_TIER_VAES512)
            tables[n++] = tables[i] == &ibc_kernels_vaes512 ? &ibc_kernels_vaes512_fold
                                                            : &ibc_kernels_vaes512;
#endif
    return n;
}

size_t ref_budget(const ibc_kernels *k, size_t fast_bytes)
{
    return k->tier == IBC_TIER_PORTABLE ? fast_bytes / 16 : fast_bytes;
}

#ifdef IBC_TEST_HAVE_ISAL
#include <isa-l/crc.h>
#include <string.h>
uint32_t ref_crc32c(uint32_t crc, const void *buf, size_t len)
{
    /* ISA-L does no inversion of its own (perf-ceilings.md §9). */
    uint32_t c = ~crc;
    unsigned char *p;
    memcpy(&p, &buf, sizeof(p)); /* crc32_iscsi takes a non-const pointer; it only reads */
    while (len) {
        int n = len > (1u << 30) ? 1 << 30 : (int)len;
        c = crc32_iscsi((unsigned char *)p, n, c);
        p += n;
        len -= (size_t)n;
    }
    return ~c;
}
#else
uint32_t ref_crc32c(uint32_t crc, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    while (len--) {
        c ^= *p++;
        for (int i = 0; i < 8; i++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}
#endif

#ifdef IBC_TEST_HAVE_IPSECMB
#include <intel-ipsec-mb.h>

typedef struct mb_keys {
    IMB_MGR *mgr;
    IBC_ALIGNED(16) uint8_t enc[16 * 15];
    IBC_ALIGNED(16) uint8_t dec[16 * 15];
} mb_keys;

static void mb_setup(mb_keys *m, const uint8_t *key, size_t key_len)
{
    IMB_ARCH arch;
    m->mgr = alloc_mb_mgr(0);
    if (!m->mgr)
        abort();
    init_mb_mgr_auto(m->mgr, &arch);
    if (key_len == 16)
        IMB_AES_KEYEXP_128(m->mgr, key, m->enc, m->dec);
    else if (key_len == 24)
        IMB_AES_KEYEXP_192(m->mgr, key, m->enc, m->dec);
    else
        IMB_AES_KEYEXP_256(m->mgr, key, m->enc, m->dec);
}

static void mb_check(IMB_JOB *job)
{
    if (job && job->status != IMB_STATUS_COMPLETED) {
        fprintf(stderr, "ipsec-mb job failed: status %d\n", (int)job->status);
        abort();
    }
}

static void mb_submit(mb_keys *m, IMB_CIPHER_MODE mode, const uint8_t *iv, const uint8_t *in,
                      uint8_t *out, size_t len, size_t key_len)
{
    IMB_JOB *job = IMB_GET_NEXT_JOB(m->mgr);
    memset(job, 0, sizeof(*job));
    job->cipher_mode = mode;
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_CIPHER_HASH;
    job->hash_alg = IMB_AUTH_NULL;
    job->enc_keys = m->enc;
    job->dec_keys = m->dec;
    job->key_len_in_bytes = key_len;
    job->src = in;
    job->dst = out;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = len;
    job->iv = iv;
    job->iv_len_in_bytes = 16;
    mb_check(IMB_SUBMIT_JOB(m->mgr));
}

static void mb_finish(mb_keys *m)
{
    IMB_JOB *job;
    while ((job = IMB_FLUSH_JOB(m->mgr)) != NULL)
        mb_check(job);
    free_mb_mgr(m->mgr);
}

void ref_ipsecmb_cbc_enc_mb(const uint8_t *key, size_t key_len, ibc_cbc_lane *lanes, size_t n)
{
    mb_keys m;
    mb_setup(&m, key, key_len);
    for (size_t i = 0; i < n; i++)
        if (lanes[i].nblocks)
            mb_submit(&m, IMB_CIPHER_CBC, lanes[i].iv, lanes[i].in, lanes[i].out,
                      lanes[i].nblocks * 16, key_len);
    mb_finish(&m);
}

void ref_ipsecmb_ctr(const uint8_t *key, size_t key_len, const uint8_t ctr[16],
                     const uint8_t *in, uint8_t *out, size_t len)
{
    mb_keys m;
    mb_setup(&m, key, key_len);
    if (len)
        mb_submit(&m, IMB_CIPHER_CNTR, ctr, in, out, len, key_len);
    mb_finish(&m);
}
#endif
