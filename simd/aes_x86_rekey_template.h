/*
 * aes_x86_rekey_template.h - the multi-buffer CBC re-key (cbc_rekey_mb), part of
 * aes_vaes_template.h (included through aes_x86_fused_template.h, same width parameters).
 * Two implementations, chosen by width:
 *
 * ymm, zmm: the fused kernel below. It lost to the composition of the tier's own kernels
 * (ibc_generic_cbc_rekey_mb; the table says which one the engine uses, see ibc_cbc_rekey_mb in
 * simd.h) on Zen 3 (ymm) and on Zen 5 (zmm: kernel/aes128_cbc_rekey_x16 7.4 against 8.9 GB/s,
 * 2026-11-23, before the composition's encryption took 32 lanes). It was designed for Zen 4,
 * whose one VAES zmm per cycle four registers keep busy, and stays, tested, for such a CPU.
 *
 * xmm (MB_ENC_CRC): the composition ibc_generic_cbc_rekey_mb over the tier's own table (at the
 * end of this file), whose aes_cbc_enc_mb_crc takes the CRC of its output with crc32
 * instructions on the integer pipes between its AES rounds. The AES-NI tier's separate CRC pass
 * is its slowest part: kernel/aes128_cbc_rekey_x16/ibdcrypt.aesni ran 10-18 % faster than with
 * that pass and 27 % faster than the fused kernel (Zen 3, 2026-11-23, medians of 7 interleaved
 * runs). The ymm and zmm tables have an aes_cbc_enc_mb_crc too, which folds the CRC with
 * VPCLMULQDQ in the vector registers (MB_ENC_VCRC in aes_vaes_template.h; ibc_cbc_rekey_mb in
 * simd.h has the figures); the crc32-instruction form had run 5 % slower on ymm (Zen 3).
 *
 * The fused kernel.
 *
 * Per lane: out = CBC-Enc(ek, CBC-Dec(dk, in)), with the CRC32C of the input and the output.
 * CBC encryption is a serial chain, so the RK_SLOTS lanes are encrypted together, one block of
 * each per step (as in aes_cbc_enc_mb): that is latency-bound and leaves half of the AES
 * throughput unused. CBC decryption is parallel within a lane, and it fills that half:
 *
 *   - a lane's blocks are cut into chunks of RK_K = RK_SLOTS blocks; "round" c of a segment
 *     encrypts chunk c of every slot in RK_K steps, reading the plaintext from a stash;
 *   - during round c, step t also decrypts the whole chunk c + 1 of slot t (RK_K contiguous
 *     blocks: plain loads, no gathers) into the other half of the stash; its rounds are
 *     interleaved with the encryption's rounds in program order, one half of the registers
 *     after the other, so the encryption (RK_REGS registers) and the decryption (RK_HALF
 *     registers at a time) are in flight together;
 *   - the same step takes the CRC of slot t's chunk c + 1 input (just loaded, not yet
 *     overwritten in place) and of its chunk c - 1 output (finished in the previous round),
 *     each in three chains joined with PCLMULQDQ, spread over the rounds like the AES work.
 *
 * The plaintext exists only in registers and in the stash (on the stack, wiped on return).
 * Segments (lanes of unequal length) and idle slots work as in aes_cbc_enc_mb; idle slots
 * duplicate an active lane and their CRCs go to a sink. Only the chunk round that reaches the
 * end of a segment has less than a full chunk to decrypt; it takes that chunk through a
 * buffer, outside the interleaved path.
 */

#if !MB_ENC_CRC

/* The registers of the encryption: 8 on ymm, 4 on zmm (16 lanes), as the kernel was designed;
 * the multi-buffer encryption's 8 zmm registers would double the stash and the chunks. */
#define RK_REGS MB_REGS_LO
#define RK_SLOTS (RK_REGS * LPR)
#define RK_HALF (RK_REGS / 2)
#define RK_K RK_SLOTS            /* blocks per chunk = steps per round */
#define RK_CQ (2 * RK_K)         /* qwords per chunk */
#define RK_Q0 ((RK_CQ + 2) / 3)  /* the three CRC chains of a chunk */
#define RK_Q1 ((RK_CQ + 1) / 3)
#define RK_Q2 (RK_CQ / 3)
#define RK_SINK RK_SLOTS         /* CRC index of idle jobs */

typedef struct rk_state {
    const uint8_t *ip[RK_SLOTS];  /* slot input / output at the segment's start */
    uint8_t *op[RK_SLOTS];
    size_t nact;                  /* slots 0 .. nact-1 are the active lanes */
    uint32_t cin[RK_SLOTS + 1];   /* raw CRCs per slot; [RK_SINK] takes idle jobs */
    uint32_t cout[RK_SLOTS + 1];
    uint8_t prevc[RK_SLOTS][16];  /* per slot: the input block before its next chunk */
    V chain[RK_REGS];             /* per slot: last output block ^ ek[0] */
    V stash[RK_K][2][RK_REGS];    /* [t][c % 2][j]: plaintext block c * RK_K + t, reg j */
} rk_state;

/* The stash interleaves the rows of the chunk being encrypted and of the chunk being
 * decrypted, so that modulo 4 KiB the row the encryption loads (in the last round of a step)
 * never shares an address with the rows the decryption stores in that step: such a 4K alias
 * holds a load until the older store has executed and would tie the encryption chain to the
 * end of the decryption. */
typedef V rk_row[RK_REGS];

/* One CRC job: the three chains over one chunk (RK_CQ qwords at p), joined into *crc. */
typedef struct rk_crc {
    const uint8_t *p;
    uint32_t *crc;
    crc3 s;
} rk_crc;

static inline void rk_crc_init(rk_crc *j, const uint8_t *p, uint32_t *crc)
{
    j->p = p;
    j->crc = crc;
    j->s.c0 = j->s.c1 = j->s.c2 = 0;
}

static ALWAYS_INLINE void rk_crc_slot(rk_crc *j, int t, int T)
{
    crc3_slot_q(&j->s, j->p, RK_Q0, RK_Q1, RK_Q2, t, T);
}

static inline void rk_crc_join(rk_crc *j)
{
    uint64_t w = crcx_mul(*j->crc, RK_CQ) ^ crcx_mul(j->s.c0, RK_Q1 + RK_Q2) ^
                 crcx_mul(j->s.c1, RK_Q2);
    *j->crc = (uint32_t)(crcx_red(w) ^ j->s.c2);
}

/* Decryption of one chunk (RK_K blocks at din) of slot `slot` into the stash rows `rows`, in
 * stages: stage 0 loads and adds round key 0, stages 1 .. NR-1 are the inner rounds, stage NR
 * is the last round with the CBC XOR and the store. Half h holds registers h * RK_HALF ..;
 * prev is the input block before the chunk (in the last block of a register). */
static ALWAYS_INLINE void rk_dstage(const V *kd, const int NR, const int h, const int stage,
                                   const uint8_t *din, V prev, V *d, rk_row (*rows)[2],
                                   int half, size_t slot)
{
    const int j0 = h * RK_HALF;
    if (stage == 0) {
        V k0 = v_key(kd[0]);
        UNROLL for (int j = 0; j < RK_HALF; j++) d[j] = v_xor(v_load(din + (j0 + j) * VB), k0);
    } else if (stage < NR) {
        V k = v_key(kd[stage]);
        UNROLL for (int j = 0; j < RK_HALF; j++) d[j] = v_dec(d[j], k);
    } else {
        V kl = v_key(kd[NR]);
        UNROLL for (int j = 0; j < RK_HALF; j++)
        {
            const int b = (j0 + j) * LPR; /* first block of this register in the chunk */
            V p = b ? v_load(din + 16 * b - 16) : v_shift_in(prev, v_load(din));
            d[j] = v_declast(d[j], v_xor(kl, p));
            uint8_t *pp[LPR];
            UNROLL for (int i = 0; i < LPR; i++)
                pp[i] = (uint8_t *)&rows[b + i][half][slot / LPR] + 16 * (slot % LPR);
            v_scatter(pp, 0, d[j]);
        }
    }
}

/* A chunk of n <= RK_K blocks, not interleaved: the prologue and the segment's last chunk. */
static ALWAYS_INLINE void rk_dchunk(rk_state *st, const V *kd, const int NR, size_t slot,
                                   size_t blk0, size_t n, int half)
{
    uint8_t buf[RK_K * 16] = {0};
    const uint8_t *src = st->ip[slot] + 16 * blk0;
    V d[RK_HALF], prev = v_bcast(st->prevc[slot]);
    memcpy(buf, src, 16 * n);
    memcpy(st->prevc[slot], src + 16 * (n - 1), 16);
    if (slot < st->nact)
        st->cin[slot] = crcx_raw(st->cin[slot], src, 16 * n);
    UNROLL for (int h = 0; h < 2; h++)
    {
        UNROLL for (int stage = 0; stage <= NR; stage++)
            rk_dstage(kd, NR, h, stage, buf, prev, d, st->stash, half, slot);
    }
    wipe(buf, sizeof(buf));
}

/* One step: the encryption of block s of every slot (x: the state after round 0; on return,
 * the state of block s + 1 after round 0, taken from prow), interleaved with the decryption
 * of a chunk (DOD) and the CRC jobs. Decryption half h runs its NR + 1 stages during
 * encryption rounds h * NR/2 + 1 .. (h + 1) * NR/2. */
static ALWAYS_INLINE void rk_step(rk_state *st, const V *kd, const V *ke, const int NR, V *x,
                                  const V *prow, size_t o, const int DOD, const uint8_t *din,
                                  int dhalf, size_t dslot, rk_crc *ji, rk_crc *jo)
{
    V d[RK_HALF], prev = v_bcast(st->prevc[dslot]);
    if (DOD)
        memcpy(st->prevc[dslot], din + 16 * (RK_K - 1), 16);
    UNROLL for (int r = 1; r <= NR; r++)
    {
        if (DOD) {
            const int h = (r - 1) / (NR / 2), i = (r - 1) % (NR / 2);
            const int s0 = (NR + 1) * i / (NR / 2), ns = (NR + 1) * (i + 1) / (NR / 2) - s0;
            UNROLL for (int k = 0; k < ns; k++)
                rk_dstage(kd, NR, h, s0 + k, din, prev, d, st->stash, dhalf, dslot);
            rk_crc_slot(ji, r - 1, NR);
        }
        rk_crc_slot(jo, r - 1, NR);
        if (r < NR) {
            V k = v_key(ke[r]);
            UNROLL for (int j = 0; j < RK_REGS; j++) x[j] = v_enc(x[j], k);
        } else {
            /* AESENCLAST(x, k[nr] ^ k0 ^ P[s+1]) = C[s] ^ k0 ^ P[s+1] (see mb_enc_segment) */
            V kx = v_key(v_xor(ke[NR], ke[0])), kl = v_key(ke[NR]);
            UNROLL for (int j = 0; j < RK_REGS; j++)
            {
                V t = v_xor(prow[j], kx);
                x[j] = v_enclast(x[j], t);
                v_scatter(st->op + j * LPR, o, v_xor(x[j], v_xor(t, kl)));
            }
        }
    }
    if (DOD)
        rk_crc_join(ji);
    rk_crc_join(jo);
}

static ALWAYS_INLINE void rekey_run(rk_state *st, const V *kd, const V *ke, const int NR,
                                    size_t len)
{
    const size_t nch = (len + RK_K - 1) / RK_K;
    V x[RK_REGS];
    for (size_t t = 0; t < RK_SLOTS; t++)
        rk_dchunk(st, kd, NR, t, 0, len < RK_K ? len : RK_K, 0);
    UNROLL for (int j = 0; j < RK_REGS; j++) x[j] = v_xor(st->stash[0][0][j], st->chain[j]);
    for (size_t c = 0; c < nch; c++) {
        const size_t steps = len - c * RK_K < RK_K ? len - c * RK_K : RK_K;
        const size_t nlen = c + 1 < nch ? (len - (c + 1) * RK_K < RK_K ? len - (c + 1) * RK_K
                                                                        : RK_K)
                                        : 0; /* blocks of the next chunk */
        const int hc = (int)(c % 2), hn = hc ^ 1;
        for (size_t t = 0; t < steps; t++) {
            const size_t o = 16 * (c * RK_K + t);
            const V *prow = t + 1 < steps ? st->stash[t + 1][hc]
                                          : nlen ? st->stash[0][hn] : st->stash[t][hc];
            rk_crc ji, jo;
            if (c && t < st->nact)
                rk_crc_init(&jo, st->op[t] + 16 * (c - 1) * RK_K, &st->cout[t]);
            else
                rk_crc_init(&jo, (const uint8_t *)st->stash, &st->cout[RK_SINK]);
            if (nlen == RK_K) {
                const uint8_t *din = st->ip[t] + 16 * (c + 1) * RK_K;
                rk_crc_init(&ji, din, t < st->nact ? &st->cin[t] : &st->cin[RK_SINK]);
                rk_step(st, kd, ke, NR, x, prow, o, 1, din, hn, t, &ji, &jo);
            } else {
                if (nlen)
                    rk_dchunk(st, kd, NR, t, (c + 1) * RK_K, nlen, hn);
                rk_step(st, kd, ke, NR, x, prow, o, 0, NULL, hn, 0, NULL, &jo);
            }
        }
    }
    const V k0 = ke[0];
    UNROLL for (int j = 0; j < RK_REGS; j++)
        st->chain[j] =
            v_xor(v_gather((const uint8_t *const *)(st->op + j * LPR), 16 * (len - 1)), k0);
}

static void rekey_segment(rk_state *st, const V *kd, const V *ke, unsigned nr, size_t len)
{
#define CALL(n) rekey_run(st, kd, ke, n, len)
    NR_SWITCH(nr, CALL);
#undef CALL
}

/* The output CRCs the rounds have not taken: round c takes chunk c - 1 of slot t at step t, so
 * the last round (c = nch - 1, `steps` long) leaves chunk nch - 2 of the slots >= steps and
 * chunk nch - 1 of all. */
static void rk_flush(rk_state *st, size_t len)
{
    size_t nch = (len + RK_K - 1) / RK_K, last = nch - 1, steps = len - last * RK_K;
    for (size_t slot = 0; slot < st->nact; slot++) {
        size_t from = last == 0 ? 0 : slot < steps ? last * RK_K : (last - 1) * RK_K;
        st->cout[slot] = crcx_raw(st->cout[slot], st->op[slot] + 16 * from, 16 * (len - from));
    }
}

static void rekey_group(const V *kd, const V *ke, unsigned nr, ibc_rekey_lane *lanes, size_t m,
                        rk_state *st)
{
    size_t left[RK_SLOTS], done[RK_SLOTS] = {0};
    mb_plan p;
    for (size_t i = 0; i < m; i++)
        left[i] = lanes[i].nblocks;
    while (mb_next(&p, left, m)) {
        uint8_t bo[RK_SLOTS * 16];
        st->nact = p.nact;
        for (size_t s = 0; s < RK_SLOTS; s++) {
            size_t l = mb_lane(&p, s);
            st->ip[s] = lanes[l].in + 16 * done[l];
            st->op[s] = lanes[l].out + 16 * done[l];
            memcpy(st->prevc[s], lanes[l].iv_in, 16);
            memcpy(bo + 16 * s, lanes[l].iv_out, 16);
            st->cin[s] = ~lanes[l].crc_in;
            st->cout[s] = ~lanes[l].crc_out;
        }
        for (int j = 0; j < RK_REGS; j++)
            st->chain[j] = v_xor(v_load(bo + j * VB), ke[0]);
        rekey_segment(st, kd, ke, nr, p.len);
        rk_flush(st, p.len);
        for (int j = 0; j < RK_REGS; j++)
            v_store(bo + j * VB, v_xor(st->chain[j], ke[0]));
        for (size_t s = 0; s < p.nact; s++) {
            size_t l = p.act[s];
            memcpy(lanes[l].iv_in, st->prevc[s], 16);
            memcpy(lanes[l].iv_out, bo + 16 * s, 16);
            lanes[l].crc_in = ~st->cin[s];
            lanes[l].crc_out = ~st->cout[s];
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
    rk_state st;
    load_keys(kd, dk->dec, dk->rounds);
    load_keys(ke, ek->enc, ek->rounds);
    for (size_t b = 0; b < n; b += RK_SLOTS)
        rekey_group(kd, ke, dk->rounds, lanes + b, n - b < RK_SLOTS ? n - b : RK_SLOTS, &st);
    wipe(st.stash, sizeof(st.stash)); /* plaintext */
}

#else /* MB_ENC_CRC: xmm */

/* The composition (ibc_generic_cbc_rekey_mb) over this tier's table, whose multi-buffer
 * encryption takes the CRC of its output on the way (aes_cbc_enc_mb_crc). */
void FN(aes_cbc_rekey_mb)(const ibc_aes_key *dk, const ibc_aes_key *ek, ibc_rekey_lane *lanes,
                          size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_REKEY_MB, IBC_TIER);
    ibc_generic_cbc_rekey_mb(&TIER_TABLE, dk, ek, lanes, n);
}

#endif /* MB_ENC_CRC */
