/*
 * aes_x86_short_template.h - re-keying many short streams in place (aes_cbc_rekey_short,
 * aes_ctr2_short), part of aes_vaes_template.h, which includes it at its end with the same width
 * parameters.
 *
 * The streams are the redo log's mini-transactions: 78 bytes on average in a real OLTP log, a
 * few blocks each, millions of them. A kernel call per stream costs more than its AES, and the
 * multi-buffer kernels plan segments for lanes of pages (aes_cbc_enc_mb: about a microsecond
 * per call), so these take a whole batch of streams in one call.
 *
 * CBC: a group of SH_LANES = SH_REGS * LPR lanes, in the caller's order, is stepped block by
 * block to the end of its longest lane. A step takes block j of every lane: decrypt (rounds in
 * parallel), XOR with the previous input block (plaintext), XOR with the previous output block,
 * encrypt, store in place. Both chaining values stay in registers for the whole group; a lane
 * with no block j points at a scratch block of its own, whose result is discarded, so a step
 * has no branch and no mask. The encryption is the serial chain (nr rounds of 4 cycles); the
 * decryption of the next step does not depend on it, so with SH_REGS = 4 registers of each the
 * 8 rounds in flight per round time match the AES units (2 per cycle, 4 cycles latency). The
 * caller sorts the lanes by length, so that a group wastes little on scratch blocks.
 *
 * CTR: the blocks of all lanes, one after another, are cut into groups of SH_REGS * LPR; a
 * group's counter blocks are encrypted under both keys together (2 * SH_REGS registers in
 * flight) and the XOR of the two keystreams is XORed into the lanes, a partial last block of a
 * lane through a buffer. Counters are built in scalar code (128-bit big-endian increment).
 */

#define SH_REGS  4
#define SH_LANES (SH_REGS * LPR)

static ALWAYS_INLINE void short_cbc_group_nr(const V *kd, const V *ke, const int NR,
                                             ibc_short_lane *l, size_t m)
{
    uint8_t scratch[SH_LANES][16], ivb[SH_LANES * 16];
    uint8_t *base[SH_LANES], *cur[SH_LANES];
    uint32_t nb[SH_LANES], nbmax = 0;
    memset(scratch, 0, sizeof(scratch));
    for (size_t s = 0; s < SH_LANES; s++) {
        base[s] = s < m ? l[s].p : scratch[s];
        nb[s] = s < m ? l[s].len / 16 : 0;
        nbmax = nb[s] > nbmax ? nb[s] : nbmax;
        memcpy(ivb + 16 * s, s < m ? l[s].iv : l[0].iv, 16);
    }
    const V kd0 = kd[0], ke0 = ke[0];
    V cin[SH_REGS], cout[SH_REGS];
    UNROLL for (int r = 0; r < SH_REGS; r++)
    {
        cin[r] = v_load(ivb + r * VB);
        cout[r] = v_xor(cin[r], ke0); /* carried with the first AddRoundKey folded in */
    }
    for (uint32_t j = 0; j < nbmax; j++) {
        for (size_t s = 0; s < SH_LANES; s++)
            cur[s] = j < nb[s] ? base[s] + 16 * (size_t)j : scratch[s];
        V x[SH_REGS];
        const uint8_t *const *in = (const uint8_t *const *)cur;
        UNROLL for (int r = 0; r < SH_REGS; r++) x[r] = v_xor(v_gather(in + r * LPR, 0), kd0);
        UNROLL for (int q = 1; q < NR; q++)
        {
            V k = v_key(kd[q]);
            UNROLL for (int r = 0; r < SH_REGS; r++) x[r] = v_dec(x[r], k);
        }
        V kl = v_key(kd[NR]);
        UNROLL for (int r = 0; r < SH_REGS; r++)
        {
            x[r] = v_declast(x[r], v_xor(kl, cin[r])); /* the plaintext */
            cin[r] = v_gather(in + r * LPR, 0);
            x[r] = v_xor(x[r], cout[r]);
        }
        UNROLL for (int q = 1; q < NR; q++)
        {
            V k = v_key(ke[q]);
            UNROLL for (int r = 0; r < SH_REGS; r++) x[r] = v_enc(x[r], k);
        }
        V ek = v_key(ke[NR]);
        UNROLL for (int r = 0; r < SH_REGS; r++)
        {
            x[r] = v_enclast(x[r], ek);
            v_scatter(cur + r * LPR, 0, x[r]);
            cout[r] = v_xor(x[r], ke0);
        }
    }
    wipe(scratch, sizeof(scratch));
}

static void short_cbc_group(const V *kd, const V *ke, unsigned nr, ibc_short_lane *l, size_t m)
{
#define CALL(n) short_cbc_group_nr(kd, ke, n, l, m)
    NR_SWITCH(nr, CALL);
#undef CALL
}

void FN(aes_cbc_rekey_short)(const ibc_aes_key *dk, const ibc_aes_key *ek, ibc_short_lane *lanes,
                             size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CBC_REKEY_SHORT, IBC_TIER);
    if (dk->rounds != ek->rounds) { /* keys of different sizes: the composition (rare) */
        ibc_generic_cbc_rekey_short(&TIER_TABLE, dk, ek, lanes, n);
        return;
    }
    V kd[IBC_AES_MAX_ROUNDS + 1], ke[IBC_AES_MAX_ROUNDS + 1];
    load_keys(kd, dk->dec, dk->rounds);
    load_keys(ke, ek->enc, ek->rounds);
    for (size_t b = 0; b < n; b += SH_LANES)
        short_cbc_group(kd, ke, dk->rounds, lanes + b, n - b < SH_LANES ? n - b : SH_LANES);
}

/* ---- CTR ---------------------------------------------------------------------------------- */

typedef struct short_ctr_group {
    IBC_ALIGNED(64) uint8_t ctr[SH_LANES * 16]; /* counter blocks, then the keystreams' XOR */
    uint8_t *dst[SH_LANES];
    uint32_t len[SH_LANES]; /* 1 .. 16 */
    size_t n;
} short_ctr_group;

/* d[0, t) ^= k[0, t) for t < 16: a lane's partial last block, in pieces of 8, 4, 2 and 1. */
static inline void sh_xor_part(uint8_t *d, const uint8_t *k, uint32_t t)
{
    uint64_t x, y;
    uint32_t i = 0;
    if (t & 8) {
        memcpy(&x, d, 8);
        memcpy(&y, k, 8);
        x ^= y;
        memcpy(d, &x, 8);
        i = 8;
    }
    if (t & 4) {
        uint32_t u, v;
        memcpy(&u, d + i, 4);
        memcpy(&v, k + i, 4);
        u ^= v;
        memcpy(d + i, &u, 4);
        i += 4;
    }
    if (t & 2) {
        uint16_t u, v;
        memcpy(&u, d + i, 2);
        memcpy(&v, k + i, 2);
        u = (uint16_t)(u ^ v);
        memcpy(d + i, &u, 2);
        i += 2;
    }
    if (t & 1)
        d[i] ^= k[i];
}

static ALWAYS_INLINE void short_ctr_flush_nr(const V *k1, const V *k2, const int NR,
                                             short_ctr_group *g)
{
    V a[SH_REGS], b[SH_REGS];
    V k10 = v_key(k1[0]), k20 = v_key(k2[0]);
    UNROLL for (int r = 0; r < SH_REGS; r++)
    {
        V c = v_load(g->ctr + r * VB);
        a[r] = v_xor(c, k10);
        b[r] = v_xor(c, k20);
    }
    UNROLL for (int q = 1; q < NR; q++)
    {
        V ka = v_key(k1[q]), kb = v_key(k2[q]);
        UNROLL for (int r = 0; r < SH_REGS; r++)
        {
            a[r] = v_enc(a[r], ka);
            b[r] = v_enc(b[r], kb);
        }
    }
    V ka = v_key(k1[NR]), kb = v_key(k2[NR]);
    UNROLL for (int r = 0; r < SH_REGS; r++)
        v_store(g->ctr + r * VB, v_xor(v_enclast(a[r], ka), v_enclast(b[r], kb)));
    for (size_t s = 0; s < g->n; s++) {
        const uint8_t *k = g->ctr + 16 * s;
        uint8_t *d = g->dst[s];
#if IBC_W == 512
        /* AVX-512BW: a masked load and store, no branch on the length. A lane's last block
         * is partial about one time in three, unpredictably: redo_bench's CTR re-key 2.34
         * against 2.13 GB/s with the branches below (2026-11-24, Zen 5). */
        const __mmask16 mk = (__mmask16)(0xFFFFu >> (16 - g->len[s]));
        __m128i x = _mm_maskz_loadu_epi8(mk, d);
        x = _mm_xor_si128(x, _mm_load_si128((const __m128i *)(const void *)k));
        _mm_mask_storeu_epi8(d, mk, x);
#else
        if (g->len[s] == 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)d);
            x = _mm_xor_si128(x, _mm_load_si128((const __m128i *)(const void *)k));
            _mm_storeu_si128((__m128i *)(void *)d, x);
        } else {
            sh_xor_part(d, k, g->len[s]);
        }
#endif
    }
    g->n = 0;
}

static void short_ctr_flush(const V *k1, const V *k2, unsigned nr, short_ctr_group *g)
{
#define CALL(n) short_ctr_flush_nr(k1, k2, n, g)
    NR_SWITCH(nr, CALL);
#undef CALL
}

static inline uint64_t sh_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static inline void sh_put_be64(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

void FN(aes_ctr2_short)(const ibc_aes_key *k1, const ibc_aes_key *k2, ibc_short_lane *lanes,
                        size_t n)
{
    IBC_KERNEL_HIT(IBC_KOP_AES_CTR2_SHORT, IBC_TIER);
    if (k1->rounds != k2->rounds) { /* keys of different sizes: the composition (rare) */
        ibc_generic_ctr2_short(&TIER_TABLE, k1, k2, lanes, n);
        return;
    }
    V ka[IBC_AES_MAX_ROUNDS + 1], kb[IBC_AES_MAX_ROUNDS + 1];
    load_keys(ka, k1->enc, k1->rounds);
    load_keys(kb, k2->enc, k2->rounds);
    short_ctr_group g;
    g.n = 0;
    for (size_t i = 0; i < n; i++) {
        ibc_short_lane *l = &lanes[i];
        uint64_t hi = sh_be64(l->iv), lo = sh_be64(l->iv + 8);
        for (uint32_t off = 0; off < l->len; off += 16) {
            uint8_t *c = g.ctr + 16 * g.n;
            sh_put_be64(c, hi);
            sh_put_be64(c + 8, lo);
            hi += ++lo == 0; /* the 128-bit big-endian increment */
            g.dst[g.n] = l->p + off;
            g.len[g.n] = l->len - off < 16 ? l->len - off : 16;
            if (++g.n == SH_LANES)
                short_ctr_flush(ka, kb, k1->rounds, &g);
        }
    }
    if (g.n)
        short_ctr_flush(ka, kb, k1->rounds, &g);
    wipe(&g, sizeof(g));
}

#undef SH_REGS
#undef SH_LANES
