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
 * The multi-buffer re-key (cbc_rekey_mb) splits its slots into halves A and B and runs two
 * phases per step: [encrypt A(s) | decrypt B(s)] then [encrypt B(s) | decrypt A(s+1)]. Each
 * phase has one serial chain (the encryption) and one parallel job (the decryption) in
 * flight, so the AES units stay busy although CBC encryption is serial. CRCs are per lane: the
 * input blocks of each step are kept in a ring, and during each batch of RK_K steps the CRCs
 * of the previous batch are taken, RK_LPJ lanes per step, again interleaved with the rounds.
 */

/* ---- three CRC chains over one 512-byte step ---------------------------------------------- */

typedef struct crc3 {
    uint64_t c0, c1, c2; /* crc32 keeps chains in 64-bit registers */
} crc3;

/* Slot t of T: the share of each chain's qwords that goes with one AES round of a step. */
static ALWAYS_INLINE void crc3_slot(crc3 *s, const uint8_t *p, int t, int T)
{
    UNROLL for (int q = IBC_CRC_Q0 * t / T; q < IBC_CRC_Q0 * (t + 1) / T; q++)
        s->c0 = crcx_q(s->c0, p + 8 * q);
    UNROLL for (int q = IBC_CRC_Q1 * t / T; q < IBC_CRC_Q1 * (t + 1) / T; q++)
        s->c1 = crcx_q(s->c1, p + 8 * (IBC_CRC_Q0 + q));
    UNROLL for (int q = IBC_CRC_Q2 * t / T; q < IBC_CRC_Q2 * (t + 1) / T; q++)
        s->c2 = crcx_q(s->c2, p + 8 * (IBC_CRC_Q0 + IBC_CRC_Q1 + q));
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
        ri = crcx_raw(ri, in, STEP);
        cbc_dec_crc_run(ks, k->rounds, &last, in, out, nsteps, &ri);
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

/* ---- multi-buffer CBC re-key ---------------------------------------------------------------- */

#define RK_K 8                     /* steps per CRC batch */
#define RK_RING (3 * RK_K)         /* input blocks kept: the batch being CRC'd, the current and
                                      the next (A decrypts one step ahead) */
#define RK_LPJ (MB_SLOTS / RK_K)   /* lanes whose CRCs one step takes: 2 (xmm: 1) */

typedef struct rk_state {
    const uint8_t *ip[MB_SLOTS]; /* slot input / output at the segment's start */
    uint8_t *op[MB_SLOTS];
    size_t nact;                 /* slots 0 .. nact-1 are the active lanes */
    uint32_t cin[MB_SLOTS];      /* their raw CRCs */
    uint32_t cout[MB_SLOTS];
    uint32_t dummy;              /* sink of the idle CRC tasks */
    V ivin[MB_REGS];             /* input ciphertext block before the segment */
    V chain[MB_REGS];            /* output chaining value ^ ek[0] */
    V ring[RK_RING * MB_REGS];   /* input block s of the segment at ring[s % RK_RING] */
} rk_state;

static inline const uint8_t *rk_ring_block(const rk_state *st, size_t blk, size_t lane)
{
    return (const uint8_t *)(st->ring + (blk % RK_RING) * MB_REGS + lane / LPR) +
           16 * (lane % LPR);
}

/* CRCs of blocks [b0, b0 + n) of one lane. */
static void rk_crc_lane(rk_state *st, size_t lane, size_t b0, size_t n)
{
    uint64_t c = st->cin[lane];
    for (size_t b = b0; b < b0 + n; b++) {
        const uint8_t *p = rk_ring_block(st, b, lane);
        c = crcx_q(crcx_q(c, p), p + 8);
    }
    st->cin[lane] = (uint32_t)c;
    st->cout[lane] = crcx_raw(st->cout[lane], st->op[lane] + 16 * b0, 16 * n);
}

/* The CRC work of one phase: RK_LPJ chains of 2 * RK_K qwords, each the input or the output
 * CRC of one lane over the previous batch. Task e of step s (e = 2 * RK_LPJ per step) is
 * lane (s % RK_K) * RK_LPJ + e / 2, input CRC if e is even, else output CRC; phase `part`
 * takes tasks part * RK_LPJ .. +RK_LPJ-1, so a task's direction is a compile-time constant.
 * The qwords are spread over the phase's rounds: the crc32 unit's scheduler is small, and a
 * block of 32 dependent crc32 would stall dispatch and serialise with the AES work. Tasks
 * with nothing to do (the first batch, lanes beyond nact) read the ring into a dummy CRC, so
 * the round code has no branch. */
#define RK_SUB 2                       /* independent chains per task */
#define RK_SUBQ (2 * RK_K / RK_SUB)    /* qwords per chain */

typedef struct rk_task {
    const uint8_t *p; /* first qword of the task */
    uint32_t *crc;
    uint64_t c[RK_SUB];
} rk_task;

#define RK_TASK_DIR(part, u) (((part) * RK_LPJ + (u)) % 2) /* 0: input (ring), 1: output */
#define RK_RING_STRIDE (MB_REGS * VB)                       /* bytes between ring blocks */

static ALWAYS_INLINE void rk_tasks_begin(rk_state *st, size_t s, int part, rk_task *t)
{
    size_t batch = s / RK_K, b0 = batch ? (batch - 1) * RK_K : 0;
    UNROLL for (int u = 0; u < RK_LPJ; u++)
    {
        size_t lane = (s % RK_K) * RK_LPJ + (size_t)((part * RK_LPJ + u) / 2);
        int live = batch && lane < st->nact;
        if (!live) {
            t[u].p = (const uint8_t *)st->ring;
            t[u].crc = &st->dummy;
        } else if (RK_TASK_DIR(part, u) == 0) {
            t[u].p = (const uint8_t *)(st->ring + (b0 % RK_RING) * MB_REGS + lane / LPR) +
                     16 * (lane % LPR);
            t[u].crc = &st->cin[lane];
        } else {
            t[u].p = st->op[lane] + 16 * b0;
            t[u].crc = &st->cout[lane];
        }
        UNROLL for (int k = 0; k < RK_SUB; k++) t[u].c[k] = 0;
    }
}

/* Slot i of n of the tasks' qwords: qword m of every chain of every task. A task's chains
 * are short (RK_SUBQ crc32 of 3 cycles) so that the phase retires without waiting for them. */
static ALWAYS_INLINE void rk_tasks_slot(rk_task *t, int part, int i, int n)
{
    UNROLL for (int m = RK_SUBQ * i / n; m < RK_SUBQ * (i + 1) / n; m++)
    {
        UNROLL for (int u = 0; u < RK_LPJ; u++)
        {
            const size_t stride = RK_TASK_DIR(part, u) == 0 ? RK_RING_STRIDE : 16;
            UNROLL for (int k = 0; k < RK_SUB; k++)
            {
                int q = k * RK_SUBQ + m;
                t[u].c[k] = crcx_q(t[u].c[k], t[u].p + (size_t)(q / 2) * stride + 8 * (size_t)(q % 2));
            }
        }
    }
}

/* Join: crc' = crc * x^(64 * 2K) + sum of chain k * x^(64 * qwords after it). */
static ALWAYS_INLINE void rk_tasks_end(rk_task *t)
{
    UNROLL for (int u = 0; u < RK_LPJ; u++)
    {
        uint64_t w = crcx_mul(*t[u].crc, 2 * RK_K);
        UNROLL for (int k = 0; k < RK_SUB - 1; k++)
            w ^= crcx_mul(t[u].c[k], (unsigned)((RK_SUB - 1 - k) * RK_SUBQ));
        *t[u].crc = (uint32_t)(crcx_red(w) ^ t[u].c[RK_SUB - 1]);
    }
}

/* The CRCs the jobs have not taken by the end of a segment of len steps. */
static void rk_flush(rk_state *st, size_t len)
{
    size_t batch = len / RK_K, t = len % RK_K;
    for (size_t lane = 0; lane < st->nact; lane++) {
        size_t from = 0;
        if (batch)
            from = lane < t * RK_LPJ ? batch * RK_K : (batch - 1) * RK_K;
        rk_crc_lane(st, lane, from, len - from);
    }
}

/* Phase h of step s: encrypt half h at step s, decrypt half h at step s + 1. The decryption
 * a phase starts is consumed a whole step later, so no phase waits for the one before it. At
 * the last step the "next" block is the current one again (a discarded re-read). */
static ALWAYS_INLINE void rk_phase(rk_state *st, const V *kd, const V *ke, const int NR, V kel,
                                   const int h, size_t s, size_t len, V *d, V *chain,
                                   rk_task *task)
{
    const int j0 = h * MB_HALF;
    const size_t o = 16 * s, on = s + 1 < len ? o + 16 : o;
    V *rn = st->ring + ((s + 1) % RK_RING) * MB_REGS;
    const V *rp = s ? st->ring + ((s + RK_RING - 1) % RK_RING) * MB_REGS : st->ivin;
    V e[MB_HALF];
    {
        /* the last decryption round, fused with both CBC XORs and the first encryption
         * AddRoundKey: declast(x, dk[nr] ^ C[s-1] ^ (Y[s-1] ^ ek[0])) = P[s] ^ Y[s-1] ^ ek[0] */
        V kl = v_key(kd[NR]);
        UNROLL for (int j = 0; j < MB_HALF; j++)
            e[j] = v_declast(d[j], v_xor(v_xor(kl, rp[j0 + j]), chain[j0 + j]));
    }
    {
        V k0 = v_key(kd[0]);
        UNROLL for (int j = 0; j < MB_HALF; j++)
        {
            V c = v_gather(st->ip + (j0 + j) * LPR, on);
            rn[j0 + j] = c;
            d[j] = v_xor(c, k0);
        }
    }
    rk_tasks_begin(st, s, h, task);
    UNROLL for (int r = 1; r < NR; r++)
    {
        V ka = v_key(ke[r]), kb = v_key(kd[r]);
        UNROLL for (int j = 0; j < MB_HALF; j++)
        {
            e[j] = v_enc(e[j], ka);
            d[j] = v_dec(d[j], kb);
        }
        rk_tasks_slot(task, h, r - 1, NR - 1);
    }
    rk_tasks_end(task);
    {
        V kl = v_key(kel), kz = v_key(ke[0]);
        UNROLL for (int j = 0; j < MB_HALF; j++)
        {
            chain[j0 + j] = v_enclast(e[j], kl); /* Y[s] ^ ek[0] */
            v_scatter(st->op + (j0 + j) * LPR, o, v_xor(chain[j0 + j], kz));
        }
    }
}

static ALWAYS_INLINE void rekey_run(rk_state *st, const V *kd, const V *ke, const int NR,
                                    size_t len)
{
    const V kel = v_xor(ke[NR], ke[0]);
    V chain[MB_REGS], da[MB_HALF], db[MB_HALF];
    rk_task task[RK_LPJ];
    UNROLL for (int j = 0; j < MB_REGS; j++) chain[j] = st->chain[j];
    { /* prologue: the inner decryption rounds of every slot's first block */
        V k0 = v_key(kd[0]);
        UNROLL for (int j = 0; j < MB_HALF; j++)
        {
            st->ring[j] = v_gather(st->ip + j * LPR, 0);
            st->ring[MB_HALF + j] = v_gather(st->ip + (MB_HALF + j) * LPR, 0);
            da[j] = v_xor(st->ring[j], k0);
            db[j] = v_xor(st->ring[MB_HALF + j], k0);
        }
        UNROLL for (int r = 1; r < NR; r++)
        {
            V k = v_key(kd[r]);
            UNROLL for (int j = 0; j < MB_HALF; j++)
            {
                da[j] = v_dec(da[j], k);
                db[j] = v_dec(db[j], k);
            }
        }
    }
    for (size_t s = 0; s < len; s++) {
        rk_phase(st, kd, ke, NR, kel, 0, s, len, da, chain, task);
        rk_phase(st, kd, ke, NR, kel, 1, s, len, db, chain, task);
    }
    UNROLL for (int j = 0; j < MB_REGS; j++) st->chain[j] = chain[j];
}

static void rekey_segment(rk_state *st, const V *kd, const V *ke, unsigned nr, size_t len)
{
#define CALL(n) rekey_run(st, kd, ke, n, len)
    NR_SWITCH(nr, CALL);
#undef CALL
}

static void rekey_group(const V *kd, const V *ke, unsigned nr, ibc_rekey_lane *lanes, size_t m)
{
    size_t left[MB_SLOTS], done[MB_SLOTS] = {0};
    mb_plan p;
    rk_state st;
    for (size_t i = 0; i < m; i++)
        left[i] = lanes[i].nblocks;
    while (mb_next(&p, left, m)) {
        uint8_t bi[MB_SLOTS * 16], bo[MB_SLOTS * 16];
        st.nact = p.nact;
        for (size_t s = 0; s < MB_SLOTS; s++) {
            size_t l = mb_lane(&p, s);
            st.ip[s] = lanes[l].in + 16 * done[l];
            st.op[s] = lanes[l].out + 16 * done[l];
            memcpy(bi + 16 * s, lanes[l].iv_in, 16);
            memcpy(bo + 16 * s, lanes[l].iv_out, 16);
            st.cin[s] = ~lanes[l].crc_in;
            st.cout[s] = ~lanes[l].crc_out;
        }
        for (int j = 0; j < MB_REGS; j++) {
            st.ivin[j] = v_load(bi + j * VB);
            st.chain[j] = v_xor(v_load(bo + j * VB), ke[0]);
        }
        rekey_segment(&st, kd, ke, nr, p.len);
        rk_flush(&st, p.len);
        for (int j = 0; j < MB_REGS; j++)
            v_store(bo + j * VB, v_xor(st.chain[j], ke[0]));
        for (size_t s = 0; s < p.nact; s++) {
            size_t l = p.act[s];
            memcpy(lanes[l].iv_in, rk_ring_block(&st, p.len - 1, s), 16);
            memcpy(lanes[l].iv_out, bo + 16 * s, 16);
            lanes[l].crc_in = ~st.cin[s];
            lanes[l].crc_out = ~st.cout[s];
            done[l] += p.len;
            left[l] -= p.len;
        }
    }
}

void FN(aes_cbc_rekey_mb)(const ibc_aes_key *dk, const ibc_aes_key *ek, ibc_rekey_lane *lanes,
                          size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_REKEY_MB, IBC_TIER);
    if (dk->rounds != ek->rounds) {
        /* Keys of different sizes: the composition (rare; see ctr2_mixed). */
        ibc_generic_cbc_rekey_mb(&TIER_TABLE, dk, ek, lanes, n);
        return;
    }
    V kd[IBC_AES_MAX_ROUNDS + 1], ke[IBC_AES_MAX_ROUNDS + 1];
    load_keys(kd, dk->dec, dk->rounds);
    load_keys(ke, ek->enc, ek->rounds);
    for (size_t b = 0; b < n; b += MB_SLOTS)
        rekey_group(kd, ke, dk->rounds, lanes + b, n - b < MB_SLOTS ? n - b : MB_SLOTS);
}
