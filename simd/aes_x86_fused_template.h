/*
 * aes_x86_fused_template.h - the fused kernels (AES + CRC32C in one pass), the second half of
 * aes_vaes_template.h, which includes it at its end with the same width parameters.
 *
 * Single-stream kernels (cbc_dec_crc, ctr_crc, ctr2_crc) work in steps of 512 bytes. A step's
 * AES work is a fixed number of rounds (GPS groups x NR rounds, all unrolled: NR is a
 * compile-time constant in each of the three specialisations), and after every round a slot's
 * share of three CRC chains (21, 21 and 22 qwords of a 512-byte step, aes_x86_crc.h) is
 * issued, so crc32 and (V)AESENC are interleaved in program order and run on their separate
 * ports. The CRC of the input runs one step ahead of the AES (it reads the next step's input,
 * which in-place operation has not overwritten yet) and the CRC of the output one step behind
 * (it reads what the previous step stored); the first input step and last output step are
 * taken outside the loop, and at the loop's ends the unused chain reads a valid step and its
 * result is discarded, so the loop body has no branch.
 *
 * The multi-buffer re-key (cbc_rekey_mb) is in aes_x86_rekey_template.h.
 */

/* ---- three CRC chains over one 512-byte step ---------------------------------------------- */

typedef struct crc3 {
    uint64_t c0, c1, c2; /* crc32 keeps chains in 64-bit registers */
} crc3;

/* Slot t of T of three chains of q0, q1, q2 qwords at p: the share of each chain that goes
 * with one AES round. (Bounds and counts are computed before each loop: a loop whose start
 * is a division loses its unroll annotation under -fsanitize=undefined.) */
static ALWAYS_INLINE void crc3_slot_q(crc3 *s, const uint8_t *p, const int q0, const int q1,
                                      const int q2, int t, int T)
{
    const int a0 = q0 * t / T, n0 = q0 * (t + 1) / T - a0;
    const int a1 = q1 * t / T, n1 = q1 * (t + 1) / T - a1;
    const int a2 = q2 * t / T, n2 = q2 * (t + 1) / T - a2;
    UNROLL for (int k = 0; k < n0; k++) s->c0 = crcx_q(s->c0, p + 8 * (a0 + k));
    UNROLL for (int k = 0; k < n1; k++) s->c1 = crcx_q(s->c1, p + 8 * (q0 + a1 + k));
    UNROLL for (int k = 0; k < n2; k++) s->c2 = crcx_q(s->c2, p + 8 * (q0 + q1 + a2 + k));
}

/* Slot t of T of a 512-byte step. */
static ALWAYS_INLINE void crc3_slot(crc3 *s, const uint8_t *p, int t, int T)
{
    crc3_slot_q(s, p, IBC_CRC_Q0, IBC_CRC_Q1, IBC_CRC_Q2, t, T);
}

/* crc of everything before the step, joined with the step's three chains. */
static inline uint64_t crc3_join(uint64_t crc, crc3 s)
{
    uint64_t w = crcx_mul(crc, 64) ^ crcx_mul(s.c0, IBC_CRC_Q1 + IBC_CRC_Q2) ^
                 crcx_mul(s.c1, IBC_CRC_Q2);
    return crcx_red(w) ^ s.c2;
}

/* ---- CTR + CRC ----------------------------------------------------------------------------- */

static ALWAYS_INLINE void ctr_crc_steps(const V *ks, const int NR, V *cvp, const uint8_t *in,
                                        uint8_t *out, size_t nsteps, uint32_t *ci,
                                        uint32_t *co, const int CIN, const int COUT)
{
    V cv = *cvp;
    uint64_t tin = CIN ? *ci : 0, tout = COUT ? *co : 0;
    for (size_t i = 0; i < nsteps; i++) {
        const uint8_t *src = in + i * STEP;
        uint8_t *dst = out + i * STEP;
        const int more = i + 1 < nsteps, back = i > 0;
        const uint8_t *pi = more ? src + STEP : src; /* next step's input */
        const uint8_t *po = back ? dst - STEP : src; /* previous step's output */
        crc3 a = {0, 0, 0}, b = {0, 0, 0};
        UNROLL for (int g = 0; g < GPS; g++)
        {
            V x[NREG];
            ctr_gen(x, NREG, &cv, v_key(ks[0]));
            UNROLL for (int r = 1; r <= NR; r++)
            {
                V k = v_key(ks[r]);
                if (r < NR) {
                    UNROLL for (int j = 0; j < NREG; j++) x[j] = v_enc(x[j], k);
                } else {
                    UNROLL for (int j = 0; j < NREG; j++) x[j] = v_enclast(x[j], k);
                }
                if (CIN)
                    crc3_slot(&a, pi, g * NR + r - 1, GPS * NR);
                if (COUT)
                    crc3_slot(&b, po, g * NR + r - 1, GPS * NR);
            }
            UNROLL for (int j = 0; j < NREG; j++)
            {
                size_t o = (size_t)g * GBYTES + (size_t)j * VB;
                v_store(dst + o, v_xor(x[j], v_load(src + o)));
            }
        }
        if (CIN) {
            uint64_t t = crc3_join(tin, a);
            tin = more ? t : tin;
        }
        if (COUT) {
            uint64_t t = crc3_join(tout, b);
            tout = back ? t : tout;
        }
    }
    *cvp = cv;
    if (CIN)
        *ci = (uint32_t)tin;
    if (COUT)
        *co = (uint32_t)tout;
}

/* One part of a CTR call (no carry out of the low 64 counter bits); ci/co: raw CRCs or NULL,
 * not both NULL. */
static ALWAYS_INLINE void ctr_crc_part_nr(const V *ks, const int NR, const uint8_t c[16],
                                          const uint8_t *in, uint8_t *out, size_t len,
                                          uint32_t *ci, uint32_t *co)
{
    V cv = ctr_start(c);
    size_t nsteps = len / STEP;
    if (nsteps) {
        if (ci)
            *ci = crcx_raw(*ci, in, STEP);
        if (ci && co)
            ctr_crc_steps(ks, NR, &cv, in, out, nsteps, ci, co, 1, 1);
        else if (ci)
            ctr_crc_steps(ks, NR, &cv, in, out, nsteps, ci, co, 1, 0);
        else
            ctr_crc_steps(ks, NR, &cv, in, out, nsteps, ci, co, 0, 1);
        if (co)
            *co = crcx_raw(*co, out + (nsteps - 1) * STEP, STEP);
        in += nsteps * STEP;
        out += nsteps * STEP;
        len -= nsteps * STEP;
    }
    if (len) {
        if (ci)
            *ci = crcx_raw(*ci, in, len);
        ctr_bytes(ks, (unsigned)NR, &cv, in, out, len);
        if (co)
            *co = crcx_raw(*co, out, len);
    }
}

static void ctr_crc_part(const V *ks, unsigned nr, const uint8_t c[16], const uint8_t *in,
                         uint8_t *out, size_t len, uint32_t *ci, uint32_t *co)
{
#define CALL(n) ctr_crc_part_nr(ks, n, c, in, out, len, ci, co)
    NR_SWITCH(nr, CALL);
#undef CALL
}

void FN(aes_ctr_crc)(const ibc_aes_key *k, const uint8_t ctr[16], const uint8_t *in,
                     uint8_t *out, size_t len, uint32_t *crc_in, uint32_t *crc_out)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR_CRC, IBC_TIER);
    V ks[IBC_AES_MAX_ROUNDS + 1];
    load_keys(ks, k->enc, k->rounds);
    if (!crc_in && !crc_out) {
        ctr_any(ks, k->rounds, ctr, in, out, len);
        return;
    }
    uint32_t ri = crc_in ? ~*crc_in : 0, ro = crc_out ? ~*crc_out : 0;
    uint8_t c[16];
    memcpy(c, ctr, 16);
    while (len) {
        size_t n = ctr_room(c, len);
        ctr_crc_part(ks, k->rounds, c, in, out, n, crc_in ? &ri : NULL, crc_out ? &ro : NULL);
        in += n;
        out += n;
        len -= n;
        ibc_ctr128_add(c, n / 16);
    }
    if (crc_in)
        *crc_in = ~ri;
    if (crc_out)
        *crc_out = ~ro;
}

/* ---- CBC decryption + CRC of the ciphertext ------------------------------------------------ */

/* zmm: the CRC of the ciphertext is folded with VPCLMULQDQ into four accumulators 256 bytes
 * apart (the folding of crc32c_vpclmul_template.h), instead of crc32 chains. A 512-byte step
 * has 80 VAESDEC zmm (40 cycles on Zen 5, two per cycle) and its CRC took 64 crc32
 * instructions (64 cycles, one per cycle); its 16 carry-less multiplies cost about as much as
 * 32 more VAESDEC (measured), so folding wins: page/deep_verify_cbc +16 %, page/rekey_cbc
 * +7.5 %. Splitting the CRC between the two (two registers folded, three chains over the rest)
 * measured no faster, and neither did six chains, which the Zen 5's two crc32 per cycle keep
 * busy (kernel/aes128_cbc_dec_crc 38.2 against 37.9 GB/s, the page benchmarks 6-8 % slower). */
#define DEC_CRC_FOLD (LPR == 4)

#if DEC_CRC_FOLD
/* acc folded 256 bytes forward onto data (k: x^2080, x^2016 mod P per lane, as VMULTS(2048)). */
static ALWAYS_INLINE V fold256(V acc, V k, V data)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(acc, k, 0x00),
                                     _mm512_clmulepi64_epi128(acc, k, 0x11), data, 0x96);
}

static ALWAYS_INLINE void cbc_dec_fold_steps(const V *ks, const int NR, V *lastp,
                                             const uint8_t *in, uint8_t *out, size_t nsteps,
                                             uint32_t *ci)
{
    _Static_assert(NREG == 8 && GPS == 1, "a step is 8 zmm registers");
    /* ibc_crc_shift_k[q] = x^(64q - 32) mod P: q = 32 and 33 give a 2048-bit fold */
    const V kf = _mm512_broadcast_i32x4(
        _mm_set_epi64x((long long)ibc_crc_shift_k[32], (long long)ibc_crc_shift_k[33]));
    V last = *lastp, a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    /* the running CRC state goes into the first four bytes of the message */
    V ini = _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)*ci));
    for (size_t i = 0; i < nsteps; i++) {
        const uint8_t *src = in + i * STEP;
        /* the fold loads the step itself, then cbc_dec_group loads it again from L1: 4 %
         * faster than folding the decryption's own registers (kernel/aes128_cbc_dec_crc) */
        a0 = fold256(a0, kf, v_xor(v_load(src), ini));
        a1 = fold256(a1, kf, v_load(src + VB));
        a2 = fold256(a2, kf, v_load(src + 2 * VB));
        a3 = fold256(a3, kf, v_load(src + 3 * VB));
        a0 = fold256(a0, kf, v_load(src + 4 * VB));
        a1 = fold256(a1, kf, v_load(src + 5 * VB));
        a2 = fold256(a2, kf, v_load(src + 6 * VB));
        a3 = fold256(a3, kf, v_load(src + 7 * VB));
        ini = _mm512_setzero_si512();
        last = cbc_dec_group(ks, NR, src, out + i * STEP, last);
    }
    /* the four accumulators are a 256-byte message with the CRC of all the steps */
    uint8_t acc[4 * VB];
    v_store(acc, a0);
    v_store(acc + VB, a1);
    v_store(acc + 2 * VB, a2);
    v_store(acc + 3 * VB, a3);
    *ci = crcx_raw(0, acc, sizeof(acc));
    *lastp = last;
}

static void cbc_dec_fold_run(const V *ks, unsigned nr, V *last, const uint8_t *in,
                             uint8_t *out, size_t nsteps, uint32_t *ci)
{
#define CALL(n) cbc_dec_fold_steps(ks, n, last, in, out, nsteps, ci)
    NR_SWITCH(nr, CALL);
#undef CALL
}
#else
static ALWAYS_INLINE void cbc_dec_crc_steps(const V *ks, const int NR, V *lastp,
                                            const uint8_t *in, uint8_t *out, size_t nsteps,
                                            uint32_t *ci)
{
    V last = *lastp;
    uint64_t tin = *ci;
    for (size_t i = 0; i < nsteps; i++) {
        const uint8_t *src = in + i * STEP;
        uint8_t *dst = out + i * STEP;
        const int more = i + 1 < nsteps;
        const uint8_t *pi = more ? src + STEP : src;
        crc3 a = {0, 0, 0};
        UNROLL for (int g = 0; g < GPS; g++)
        {
            const uint8_t *gi = src + (size_t)g * GBYTES;
            uint8_t *go = dst + (size_t)g * GBYTES;
            V x[NREG], k0 = v_key(ks[0]);
            UNROLL for (int j = 0; j < NREG; j++) x[j] = v_load(gi + j * VB);
            V next = x[NREG - 1], p0 = v_shift_in(last, x[0]);
            UNROLL for (int j = 0; j < NREG; j++) x[j] = v_xor(x[j], k0);
            UNROLL for (int r = 1; r <= NR; r++)
            {
                V k = v_key(ks[r]);
                if (r < NR) {
                    UNROLL for (int j = 0; j < NREG; j++) x[j] = v_dec(x[j], k);
                } else {
                    UNROLL for (int j = 0; j < NREG; j++)
                    {
                        V p = j ? v_load(gi + j * VB - 16) : p0;
                        x[j] = v_declast(x[j], v_xor(k, p));
                    }
                }
                crc3_slot(&a, pi, g * NR + r - 1, GPS * NR);
            }
            UNROLL for (int j = 0; j < NREG; j++) v_store(go + j * VB, x[j]);
            last = next;
        }
        uint64_t t = crc3_join(tin, a);
        tin = more ? t : tin;
    }
    *lastp = last;
    *ci = (uint32_t)tin;
}

static void cbc_dec_crc_run(const V *ks, unsigned nr, V *last, const uint8_t *in, uint8_t *out,
                            size_t nsteps, uint32_t *ci)
{
#define CALL(n) cbc_dec_crc_steps(ks, n, last, in, out, nsteps, ci)
    NR_SWITCH(nr, CALL);
#undef CALL
}
#endif

void FN(aes_cbc_dec_crc)(const ibc_aes_key *k, uint8_t iv[16], const uint8_t *in, uint8_t *out,
                         size_t nb, uint32_t *crc_in)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_DEC_CRC, IBC_TIER);
    if (!nb)
        return;
    V ks[IBC_AES_MAX_ROUNDS + 1], last = v_bcast(iv);
    load_keys(ks, k->dec, k->rounds);
    uint32_t ri = ~*crc_in;
    size_t nsteps = nb * 16 / STEP;
    if (nsteps) {
#if DEC_CRC_FOLD
        cbc_dec_fold_run(ks, k->rounds, &last, in, out, nsteps, &ri);
#else
        ri = crcx_raw(ri, in, STEP);
        cbc_dec_crc_run(ks, k->rounds, &last, in, out, nsteps, &ri);
#endif
        in += nsteps * STEP;
        out += nsteps * STEP;
        nb -= nsteps * (STEP / 16);
    }
    if (nb) {
        ri = crcx_raw(ri, in, nb * 16);
        cbc_dec_blocks(ks, k->rounds, &last, in, out, nb);
    }
    store_last_block(iv, last);
    *crc_in = ~ri;
}

/* ---- CTR re-key: out = in ^ KS(k1) ^ KS(k2), + CRC ------------------------------------------ */

#if IBC_FUSED_CTR2

/* Both keystreams in one group of registers (HREG each), so the plaintext exists only as the
 * XOR of two registers, never in memory. */
static ALWAYS_INLINE void ctr2_crc_steps(const V *k1, const V *k2, const int NR, V *cv1p,
                                         V *cv2p, const uint8_t *in, uint8_t *out,
                                         size_t nsteps, uint32_t *ci, uint32_t *co,
                                         const int CIN, const int COUT)
{
    V cv1 = *cv1p, cv2 = *cv2p;
    uint64_t tin = CIN ? *ci : 0, tout = COUT ? *co : 0;
    for (size_t i = 0; i < nsteps; i++) {
        const uint8_t *src = in + i * STEP;
        uint8_t *dst = out + i * STEP;
        const int more = i + 1 < nsteps, back = i > 0;
        const uint8_t *pi = more ? src + STEP : src;
        const uint8_t *po = back ? dst - STEP : src;
        crc3 a = {0, 0, 0}, b = {0, 0, 0};
        UNROLL for (int g = 0; g < GPS2; g++)
        {
            V x[HREG], y[HREG];
            ctr_gen(x, HREG, &cv1, v_key(k1[0]));
            ctr_gen(y, HREG, &cv2, v_key(k2[0]));
            UNROLL for (int r = 1; r <= NR; r++)
            {
                V ka = v_key(k1[r]), kb = v_key(k2[r]);
                if (r < NR) {
                    UNROLL for (int j = 0; j < HREG; j++)
                    {
                        x[j] = v_enc(x[j], ka);
                        y[j] = v_enc(y[j], kb);
                    }
                } else {
                    UNROLL for (int j = 0; j < HREG; j++)
                    {
                        x[j] = v_enclast(x[j], ka);
                        y[j] = v_enclast(y[j], kb);
                    }
                }
                if (CIN)
                    crc3_slot(&a, pi, g * NR + r - 1, GPS2 * NR);
                if (COUT)
                    crc3_slot(&b, po, g * NR + r - 1, GPS2 * NR);
            }
            UNROLL for (int j = 0; j < HREG; j++)
            {
                size_t o = (size_t)g * HREG * VB + (size_t)j * VB;
                v_store(dst + o, v_xor(v_xor(x[j], y[j]), v_load(src + o)));
            }
        }
        if (CIN) {
            uint64_t t = crc3_join(tin, a);
            tin = more ? t : tin;
        }
        if (COUT) {
            uint64_t t = crc3_join(tout, b);
            tout = back ? t : tout;
        }
    }
    *cv1p = cv1;
    *cv2p = cv2;
    if (CIN)
        *ci = (uint32_t)tin;
    if (COUT)
        *co = (uint32_t)tout;
}

/* The bytes after the last whole step (< STEP), through two keystream buffers. */
static void ctr2_rest(const V *k1, unsigned nr1, V *cv1, const V *k2, unsigned nr2, V *cv2,
                      const uint8_t *in, uint8_t *out, size_t len)
{
    static const uint8_t zero[STEP];
    uint8_t s1[STEP], s2[STEP];
    ctr_bytes(k1, nr1, cv1, zero, s1, len);
    ctr_bytes(k2, nr2, cv2, zero, s2, len);
    size_t i = 0;
    for (; i + 16 <= len; i += 16) {
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(in + i));
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s1 + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s2 + i));
        _mm_storeu_si128((__m128i *)(void *)(out + i), _mm_xor_si128(d, _mm_xor_si128(a, b)));
    }
    for (; i < len; i++)
        out[i] = in[i] ^ s1[i] ^ s2[i];
    wipe(s1, sizeof(s1));
    wipe(s2, sizeof(s2));
}

static ALWAYS_INLINE void ctr2_crc_part_nr(const V *k1, const V *k2, const int NR,
                                           const uint8_t c1[16], const uint8_t c2[16],
                                           const uint8_t *in, uint8_t *out, size_t len,
                                           uint32_t *ci, uint32_t *co)
{
    V cv1 = ctr_start(c1), cv2 = ctr_start(c2);
    size_t nsteps = len / STEP;
    if (nsteps) {
        if (ci)
            *ci = crcx_raw(*ci, in, STEP);
        if (ci && co)
            ctr2_crc_steps(k1, k2, NR, &cv1, &cv2, in, out, nsteps, ci, co, 1, 1);
        else if (ci)
            ctr2_crc_steps(k1, k2, NR, &cv1, &cv2, in, out, nsteps, ci, co, 1, 0);
        else if (co)
            ctr2_crc_steps(k1, k2, NR, &cv1, &cv2, in, out, nsteps, ci, co, 0, 1);
        else
            ctr2_crc_steps(k1, k2, NR, &cv1, &cv2, in, out, nsteps, ci, co, 0, 0);
        if (co)
            *co = crcx_raw(*co, out + (nsteps - 1) * STEP, STEP);
        in += nsteps * STEP;
        out += nsteps * STEP;
        len -= nsteps * STEP;
    }
    if (len) {
        if (ci)
            *ci = crcx_raw(*ci, in, len);
        ctr2_rest(k1, (unsigned)NR, &cv1, k2, (unsigned)NR, &cv2, in, out, len);
        if (co)
            *co = crcx_raw(*co, out, len);
    }
}

static void ctr2_crc_part(const V *k1, const V *k2, unsigned nr, const uint8_t c1[16],
                          const uint8_t c2[16], const uint8_t *in, uint8_t *out, size_t len,
                          uint32_t *ci, uint32_t *co)
{
#define CALL(n) ctr2_crc_part_nr(k1, k2, n, c1, c2, in, out, len, ci, co)
    NR_SWITCH(nr, CALL);
#undef CALL
}

/* Keys of different sizes: keystreams through buffers, STEP bytes at a time. Rare (a re-key
 * between key lengths); correct rather than fast. */
static void ctr2_mixed(const V *k1, unsigned nr1, const V *k2, unsigned nr2,
                       const uint8_t c1[16], const uint8_t c2[16], const uint8_t *in,
                       uint8_t *out, size_t len, uint32_t *ci, uint32_t *co)
{
    V cv1 = ctr_start(c1), cv2 = ctr_start(c2);
    while (len) {
        size_t n = len < STEP ? len : STEP;
        if (ci)
            *ci = crcx_raw(*ci, in, n);
        ctr2_rest(k1, nr1, &cv1, k2, nr2, &cv2, in, out, n);
        if (co)
            *co = crcx_raw(*co, out, n);
        in += n;
        out += n;
        len -= n;
    }
}

void FN(aes_ctr2_crc)(const ibc_aes_key *k1, const uint8_t ctr1[16], const ibc_aes_key *k2,
                      const uint8_t ctr2[16], const uint8_t *in, uint8_t *out, size_t len,
                      uint32_t *crc_in, uint32_t *crc_out)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR2_CRC, IBC_TIER);
    V ks1[IBC_AES_MAX_ROUNDS + 1], ks2[IBC_AES_MAX_ROUNDS + 1];
    load_keys(ks1, k1->enc, k1->rounds);
    load_keys(ks2, k2->enc, k2->rounds);
    uint32_t ri = crc_in ? ~*crc_in : 0, ro = crc_out ? ~*crc_out : 0;
    uint32_t *pi = crc_in ? &ri : NULL, *po = crc_out ? &ro : NULL;
    uint8_t c1[16], c2[16];
    memcpy(c1, ctr1, 16);
    memcpy(c2, ctr2, 16);
    while (len) {
        size_t n = ctr_room(c1, len), n2 = ctr_room(c2, len);
        n = n < n2 ? n : n2;
        if (k1->rounds == k2->rounds)
            ctr2_crc_part(ks1, ks2, k1->rounds, c1, c2, in, out, n, pi, po);
        else
            ctr2_mixed(ks1, k1->rounds, ks2, k2->rounds, c1, c2, in, out, n, pi, po);
        in += n;
        out += n;
        len -= n;
        ibc_ctr128_add(c1, n / 16);
        ibc_ctr128_add(c2, n / 16);
    }
    if (crc_in)
        *crc_in = ~ri;
    if (crc_out)
        *crc_out = ~ro;
}

#else /* !IBC_FUSED_CTR2: the composition (see IBC_FUSED_CTR2 in aes_vaes_template.h) */

void FN(aes_ctr2_crc)(const ibc_aes_key *k1, const uint8_t ctr1[16], const ibc_aes_key *k2,
                      const uint8_t ctr2[16], const uint8_t *in, uint8_t *out, size_t len,
                      uint32_t *crc_in, uint32_t *crc_out)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR2_CRC, IBC_TIER);
    ibc_generic_ctr2_crc(&TIER_TABLE, k1, ctr1, k2, ctr2, in, out, len, crc_in, crc_out);
}

#endif

#include "aes_x86_rekey_template.h"
