/*
 * simd.h - the kernel layer: AES modes and CRC32C, one variant per ISA tier.
 *
 * The one idea: every operation has exactly one signature, and a tier is a table
 * (struct ibc_kernels) of function pointers to its variants. The table is chosen once when an
 * engine is created and never changes, so hot loops never test CPU features. Tests and
 * benchmarks iterate over all tables the CPU supports.
 *
 * Kernels know nothing about pages. They work on 16-byte blocks (AES) or bytes (CRC, CTR).
 * Conventions shared by all of them:
 *   - Argument order: (key, iv/counter, in, out, length) for AES; (crc, buf, len) for CRC.
 *   - in == out (in place) is allowed everywhere; partial overlap is not.
 *   - No alignment requirement on any buffer.
 *   - CRC values are zlib-style: start with 0, pass the previous result to continue; the
 *     kernel applies the init/final inversion internally. crc32c(0, "123456789") = 0xE3069283.
 *   - Kernels never allocate, never fail, and leave no key material in memory they own
 *     (stack temporaries holding round keys or keystream are wiped by the caller's wipe of
 *     the key; registers are not our concern).
 *
 * Internal header: nothing here is part of the public API.
 */
#ifndef IBC_SIMD_H
#define IBC_SIMD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IBC_AES_BLOCK 16
#define IBC_AES_MAX_ROUNDS 14

/* Multi-buffer kernels take up to this many independent streams per call (one key). */
#define IBC_MB_MAX_LANES 32

#if defined(__GNUC__)
#define IBC_ALIGNED(n) __attribute__((aligned(n)))
#else
#define IBC_ALIGNED(n)
#endif

/*
 * An expanded AES key. The layout is tier-independent so that a key expanded by one tier can
 * be used by any other (cross-tier tests depend on this):
 *   enc[0..rounds]  encryption round keys in FIPS-197 byte order (w[4i..4i+3] as bytes);
 *   dec[0..rounds]  round keys for the "equivalent inverse cipher" (FIPS-197 5.3.5) in the
 *                   order they are applied: dec[0] = enc[rounds], dec[i] = InvMixColumns(
 *                   enc[rounds-i]) for 0 < i < rounds, dec[rounds] = enc[0]. This is what
 *                   AESDEC (x86) and AESD+AESIMC (ARMv8) consume.
 * rounds is 10, 12 or 14 for 128/192/256-bit keys. Wipe with ibc_aes_key_wipe().
 */
typedef struct ibc_aes_key {
    IBC_ALIGNED(64) uint8_t enc[IBC_AES_MAX_ROUNDS + 1][IBC_AES_BLOCK];
    IBC_ALIGNED(64) uint8_t dec[IBC_AES_MAX_ROUNDS + 1][IBC_AES_BLOCK];
    uint32_t rounds;
} ibc_aes_key;

/* One stream of a multi-buffer CBC encryption. iv is updated to the last ciphertext block
 * (the chaining value), so a stream can be continued by a later call. nblocks may be 0. */
typedef struct ibc_cbc_lane {
    const uint8_t *in;
    uint8_t *out;
    size_t nblocks;
    uint8_t iv[IBC_AES_BLOCK];
} ibc_cbc_lane;

/* One stream of a fused CBC re-key: out = CBC-Enc(ek, iv_out, CBC-Dec(dk, iv_in, in)).
 * crc_in/crc_out are running CRC32C values (zlib-style) over the input/output bytes of the
 * blocks, continued by the kernel. iv_in/iv_out are updated to the chaining values (last input
 * ciphertext block / last output ciphertext block). nblocks may be 0. */
typedef struct ibc_rekey_lane {
    const uint8_t *in;
    uint8_t *out;
    size_t nblocks;
    uint8_t iv_in[IBC_AES_BLOCK];
    uint8_t iv_out[IBC_AES_BLOCK];
    uint32_t crc_in;
    uint32_t crc_out;
} ibc_rekey_lane;

/* One short stream of the multi-stream re-keys (aes_cbc_rekey_short, aes_ctr2_short), in
 * place, the same IV under both keys: a redo log mini-transaction's records. */
typedef struct ibc_short_lane {
    uint8_t *p;
    uint32_t len; /* bytes */
    uint8_t iv[IBC_AES_BLOCK];
} ibc_short_lane;

/* Expand a 16, 24 or 32-byte key into both schedules. Other lengths are a caller bug. */
typedef void (*ibc_aes_expand_fn)(ibc_aes_key *k, const uint8_t *key, size_t key_len);

/* ECB over nblocks whole blocks. */
typedef void (*ibc_aes_ecb_fn)(const ibc_aes_key *k, const uint8_t *in, uint8_t *out,
                               size_t nblocks);

/* CBC over nblocks whole blocks. iv is read, then overwritten with the chaining value (the
 * last ciphertext block: of the output for encryption, of the input for decryption), so
 * consecutive calls continue one stream. No padding, no tail handling: that is the caller's
 * format (MariaDB's tail rule lives in the engine). */
typedef void (*ibc_aes_cbc_fn)(const ibc_aes_key *k, uint8_t iv[IBC_AES_BLOCK],
                               const uint8_t *in, uint8_t *out, size_t nblocks);

/* n independent CBC encryptions under one key, 0 <= n <= IBC_MB_MAX_LANES, lanes of unequal
 * lengths allowed. Lanes must not overlap each other. */
typedef void (*ibc_aes_cbc_mb_fn)(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n);

/* CTR over len bytes (any length, partial last block allowed). The counter block is
 * incremented as one 128-bit big-endian integer (OpenSSL CRYPTO_ctr128_encrypt semantics:
 * carry across all 16 bytes). ctr is not modified; to continue a stream, the caller advances
 * the counter by len/16 (callers only continue at block boundaries). */
typedef void (*ibc_aes_ctr_fn)(const ibc_aes_key *k, const uint8_t ctr[IBC_AES_BLOCK],
                               const uint8_t *in, uint8_t *out, size_t len);

/* CRC32C (Castagnoli, reflected 0x82F63B78), zlib-style running value. */
typedef uint32_t (*ibc_crc32c_fn)(uint32_t crc, const void *buf, size_t len);

/* One message of a multi-message CRC32C: the bytes p[0, len), then p[len + gap, len + gap +
 * tail) (gap and tail are the call's), e.g. the records of a redo mini-transaction and its
 * nonce after the sequence byte. crc receives the CRC32C of the two pieces (zlib-style, from
 * 0). */
typedef struct ibc_crc_msg {
    const uint8_t *p;
    uint32_t len;
    uint32_t crc;
} ibc_crc_msg;

/* The CRC32C of n independent messages. Short ones run side by side, so that the latency of
 * the CRC instruction is hidden: a single message of 80 bytes is latency-bound. */
typedef void (*ibc_crc32c_mb_fn)(ibc_crc_msg *m, size_t n, uint32_t gap, uint32_t tail);

/* --- fused kernels (one pass over the data while it is in L1) ------------------------------
 * Each has a generic implementation composed from the basic kernels of the same table
 * (fused_generic.c); a tier may provide a real fused variant. Results are identical. */

/* CBC decrypt + CRC32C of the input (ciphertext) bytes. *crc_in may not be NULL. */
typedef void (*ibc_aes_cbc_dec_crc_fn)(const ibc_aes_key *k, uint8_t iv[IBC_AES_BLOCK],
                                       const uint8_t *in, uint8_t *out, size_t nblocks,
                                       uint32_t *crc_in);

/* CTR + CRC32C of the input and/or output bytes (either pointer may be NULL). */
typedef void (*ibc_aes_ctr_crc_fn)(const ibc_aes_key *k, const uint8_t ctr[IBC_AES_BLOCK],
                                   const uint8_t *in, uint8_t *out, size_t len,
                                   uint32_t *crc_in, uint32_t *crc_out);

/* CTR re-key: out = in XOR keystream(k1, ctr1) XOR keystream(k2, ctr2), + CRC32C of input
 * and/or output (either pointer may be NULL). The plaintext never exists in memory. */
typedef void (*ibc_aes_ctr2_crc_fn)(const ibc_aes_key *k1, const uint8_t ctr1[IBC_AES_BLOCK],
                                    const ibc_aes_key *k2, const uint8_t ctr2[IBC_AES_BLOCK],
                                    const uint8_t *in, uint8_t *out, size_t len,
                                    uint32_t *crc_in, uint32_t *crc_out);

/* n independent fused CBC re-keys (decrypt with dk, encrypt with ek), 0 <= n <=
 * IBC_MB_MAX_LANES, unequal lengths allowed, lanes do not overlap each other. */
typedef void (*ibc_aes_cbc_mb_crc_fn)(const ibc_aes_key *k, ibc_cbc_lane *lanes, size_t n,
                                      uint32_t *crc);

typedef void (*ibc_aes_cbc_rekey_mb_fn)(const ibc_aes_key *dk, const ibc_aes_key *ek,
                                        ibc_rekey_lane *lanes, size_t n);

/* n short CBC re-keys in place: p[0, 16 b) = CBC-Enc(ek, iv, CBC-Dec(dk, iv, p[0, 16 b))) with
 * b = len / 16; the bytes after the last whole block are left alone (the caller's tail rule).
 * Lanes must not overlap. The lanes are stepped together in small groups in the given order:
 * sorted by length, the lanes of a group are about as long and little work is wasted. */
typedef void (*ibc_aes_cbc_rekey_short_fn)(const ibc_aes_key *dk, const ibc_aes_key *ek,
                                           ibc_short_lane *lanes, size_t n);

/* n short CTR re-keys in place: p[0, len) ^= keystream(k1, iv) ^ keystream(k2, iv) (the
 * aes_ctr counter rule). Lanes must not overlap. */
typedef void (*ibc_aes_ctr2_short_fn)(const ibc_aes_key *k1, const ibc_aes_key *k2,
                                      ibc_short_lane *lanes, size_t n);

typedef enum ibc_tier_id {
    IBC_TIER_PORTABLE = 0,
    IBC_TIER_AESNI = 1,
    IBC_TIER_VAES256 = 2,
    IBC_TIER_VAES512 = 3,
    IBC_TIER_ARMCE = 4,
    IBC_TIER_COUNT = 5
} ibc_tier_id;

/* Kernel operation ids, for the "which variant ran" trace (see ibc_kernel_hit). */
typedef enum ibc_kop {
    IBC_KOP_AES_EXPAND = 0,
    IBC_KOP_AES_ECB_ENC,
    IBC_KOP_AES_ECB_DEC,
    IBC_KOP_AES_CBC_ENC,
    IBC_KOP_AES_CBC_DEC,
    IBC_KOP_AES_CBC_ENC_MB,
    IBC_KOP_AES_CTR,
    IBC_KOP_CRC32C,
    IBC_KOP_AES_CBC_DEC_CRC,
    IBC_KOP_AES_CTR_CRC,
    IBC_KOP_AES_CTR2_CRC,
    IBC_KOP_AES_CBC_REKEY_MB,
    IBC_KOP_CRC32Z,
    IBC_KOP_CRC32C_MB,
    IBC_KOP_AES_CBC_REKEY_SHORT,
    IBC_KOP_AES_CTR2_SHORT,
    IBC_KOP_COUNT
} ibc_kop;

typedef struct ibc_kernels {
    ibc_tier_id tier;
    const char *name; /* "portable", "aesni", "vaes256", "vaes512", "armce" */
    ibc_aes_expand_fn aes_expand;
    ibc_aes_ecb_fn aes_ecb_enc;
    ibc_aes_ecb_fn aes_ecb_dec;
    ibc_aes_cbc_fn aes_cbc_enc;
    ibc_aes_cbc_fn aes_cbc_dec;
    ibc_aes_cbc_mb_fn aes_cbc_enc_mb;
    /* aes_cbc_enc_mb that also carries on crc[i], the CRC32C (zlib-style) of lane i's output:
     * the tiers where that beats a separate CRC pass in ibc_generic_cbc_rekey_mb; else NULL. */
    ibc_aes_cbc_mb_crc_fn aes_cbc_enc_mb_crc;
    ibc_aes_ctr_fn aes_ctr;
    ibc_crc32c_fn crc32c;
    ibc_crc32c_mb_fn crc32c_mb;
    ibc_aes_cbc_dec_crc_fn aes_cbc_dec_crc;
    ibc_aes_ctr_crc_fn aes_ctr_crc;
    ibc_aes_ctr2_crc_fn aes_ctr2_crc;
    ibc_aes_cbc_rekey_mb_fn aes_cbc_rekey_mb;
    ibc_aes_cbc_rekey_short_fn aes_cbc_rekey_short;
    ibc_aes_ctr2_short_fn aes_ctr2_short;
    /* Preferred number of lanes for the multi-buffer kernels (the engine sizes batches to a
     * multiple of it and groups pages by it), at most IBC_MB_MAX_LANES. */
    unsigned mb_lanes;
    /* 1: the engine re-keys CBC through ibc_generic_cbc_rekey_mb over this table's kernels
     * instead of aes_cbc_rekey_mb, because that composition was measured faster on this tier
     * (see ibc_cbc_rekey_mb). */
    unsigned cbc_rekey_composed;
    /* Bytes per lane and step of that composition (ibc_generic_cbc_rekey_mb); 0: 16384, a
     * whole 16 KiB page. */
    unsigned rekey_chunk;
    /* CRC-32 of gzip/zlib (reflected 0xEDB88320), zlib-style running value: exactly zlib's
     * crc32(); crc32z(0, "123456789") = 0xCBF43926. The xbstream chunk checksum. */
    uint32_t (*crc32z)(uint32_t crc, const void *buf, size_t len);
} ibc_kernels;

/* ---- CPU features (cpu.c) ---------------------------------------------------------------- */

enum {
    IBC_CPU_SSE42 = 1u << 0,
    IBC_CPU_SSSE3 = 1u << 1,
    IBC_CPU_PCLMUL = 1u << 2,
    IBC_CPU_AESNI = 1u << 3,
    IBC_CPU_AVX = 1u << 4,
    IBC_CPU_AVX2 = 1u << 5,
    IBC_CPU_VAES = 1u << 6,
    IBC_CPU_VPCLMUL = 1u << 7,
    IBC_CPU_AVX512F = 1u << 8,
    IBC_CPU_AVX512BW = 1u << 9,
    IBC_CPU_AVX512VL = 1u << 10,
    /* not an instruction set: VPCLMULQDQ on zmm at one per cycle (Intel cores since Ice Lake;
     * Zen 4 issues one per two cycles), where folding alone beats the fused CRC32C */
    IBC_CPU_CLMUL512_FULL = 1u << 11,
    IBC_CPU_ARM_AES = 1u << 16,
    IBC_CPU_ARM_PMULL = 1u << 17,
    IBC_CPU_ARM_CRC32 = 1u << 18,
};

/* Detected features of this CPU, usable by this OS (XCR0 checked for AVX / AVX-512 state).
 * Detection runs once (thread-safe) and the result is cached. */
uint32_t ibc_cpu_features(void);

/* Human-readable CPU model string (x86: CPUID brand string; elsewhere from /proc/cpuinfo or
 * "unknown"). Writes a NUL-terminated string of at most n-1 bytes. */
void ibc_cpu_model(char *buf, size_t n);

/* Names of the feature bits set in f, comma-separated, into buf. */
void ibc_cpu_feature_names(uint32_t f, char *buf, size_t n);

/* Features a tier needs. */
uint32_t ibc_tier_required_features(ibc_tier_id t);

/* ---- dispatch (dispatch.c) --------------------------------------------------------------- */

/* The table of tier t, or NULL if that tier was not compiled into this build. */
const ibc_kernels *ibc_tier_kernels(ibc_tier_id t);

/* True if tier t is compiled in and every feature it needs is in `features`. */
int ibc_tier_usable(ibc_tier_id t, uint32_t features);

/* The best usable tier for `features` (vaes512 > vaes256 > aesni > portable; armce >
 * portable). */
ibc_tier_id ibc_tier_best(uint32_t features);

/* Tier id for a name ("portable", ...), or -1. */
int ibc_tier_from_name(const char *name);
const char *ibc_tier_name(ibc_tier_id t);

/* ---- the "which variant ran" trace -------------------------------------------------------
 * Every kernel entry point records (op, tier) in a per-thread bitmask: one store per call.
 * Tests assert that a forced tier ran its own variants; `ibdcrypt cpu --selftest` reports it. */
#if defined(__GNUC__)
#define IBC_TLS_IE __attribute__((tls_model("initial-exec"))) /* one store, also when -fPIC */
#else
#define IBC_TLS_IE
#endif
extern _Thread_local uint8_t ibc_kernel_hits[IBC_KOP_COUNT] IBC_TLS_IE;
#define IBC_KERNEL_HIT(op, tier) (ibc_kernel_hits[(op)] |= (uint8_t)(1u << (tier)))
void ibc_kernel_hits_reset(void);

/* ---- helpers shared by all tiers --------------------------------------------------------- */

/* Wipe an expanded key (explicit_bzero; never optimised away). */
void ibc_aes_key_wipe(ibc_aes_key *k);

/* Generic fused kernels, composed of the basic kernels of table kt (fused_generic.c). Tiers
 * without a real fused variant point their table at thin wrappers around these. */
void ibc_generic_cbc_dec_crc(const ibc_kernels *kt, const ibc_aes_key *k,
                             uint8_t iv[IBC_AES_BLOCK], const uint8_t *in, uint8_t *out,
                             size_t nblocks, uint32_t *crc_in);
void ibc_generic_ctr_crc(const ibc_kernels *kt, const ibc_aes_key *k,
                         const uint8_t ctr[IBC_AES_BLOCK], const uint8_t *in, uint8_t *out,
                         size_t len, uint32_t *crc_in, uint32_t *crc_out);
void ibc_generic_ctr2_crc(const ibc_kernels *kt, const ibc_aes_key *k1,
                          const uint8_t ctr1[IBC_AES_BLOCK], const ibc_aes_key *k2,
                          const uint8_t ctr2[IBC_AES_BLOCK], const uint8_t *in, uint8_t *out,
                          size_t len, uint32_t *crc_in, uint32_t *crc_out);
void ibc_generic_cbc_rekey_mb(const ibc_kernels *kt, const ibc_aes_key *dk,
                              const ibc_aes_key *ek, ibc_rekey_lane *lanes, size_t n);
void ibc_generic_cbc_rekey_short(const ibc_kernels *kt, const ibc_aes_key *dk,
                                 const ibc_aes_key *ek, ibc_short_lane *lanes, size_t n);
void ibc_generic_ctr2_short(const ibc_kernels *kt, const ibc_aes_key *k1, const ibc_aes_key *k2,
                            ibc_short_lane *lanes, size_t n);

/* The engine's CBC re-key of up to IBC_MB_MAX_LANES lanes (aes_cbc_rekey_mb semantics): the
 * tier's own kernel, or the composition of its decrypt+CRC, multi-buffer encrypt and CRC
 * kernels where that is faster (cbc_rekey_composed). Measured on Zen 3 (2026-11-23, bench
 * kernel/aes128_cbc_rekey_x16/{ibdcrypt,ibdcrypt_composed}.<tier>/16384, medians): vaes256
 * composed 4.32-4.58 GB/s against its fused kernel 3.34-3.41 (two runs); aesni's own kernel,
 * a composition whose encryption takes the output CRC on the way (now the generic composition
 * over aes_cbc_enc_mb_crc), 3.2-3.55 against 2.9-3.0 with a separate CRC pass (seven
 * interleaved runs, twice). On Zen 5
 * (vaes512, 2026-11-23) the composition won too: 8.9 against 7.4 GB/s on 16 lanes with the
 * fused kernel's four registers, 12.0-12.6 on 32 lanes (aes128_cbc_rekey_x32) against 9.5-11.5
 * for a composition whose encryption takes the output CRC with crc32 instructions. Folded
 * with VPCLMULQDQ in the vector registers instead (aes_cbc_enc_mb_crc, 2026-11-24, Zen 5,
 * three interleaved runs): page/rekey_cbc vaes512 966-971 against 871-887 thousand pages/s,
 * kernel/aes128_cbc_rekey_x32/ibdcrypt_composed.vaes512 16.1-16.3 against 14.8-15.1 GB/s;
 * the vaes256 tier on the same Zen 5 621-627 against 595-602 thousand pages/s (not measured on
 * Zen 3). The fused kernel stays for vaes512 on Zen 4, where it was designed for one VAES zmm
 * per cycle; that benchmark tells. */
static inline void ibc_cbc_rekey_mb(const ibc_kernels *k, const ibc_aes_key *dk,
                                    const ibc_aes_key *ek, ibc_rekey_lane *lanes, size_t n)
{
    if (k->cbc_rekey_composed)
        ibc_generic_cbc_rekey_mb(k, dk, ek, lanes, n);
    else
        k->aes_cbc_rekey_mb(dk, ek, lanes, n);
}

/* CRC32C of len zero bytes appended: crc32c_combine(a, b, len_b) = CRC of A||B where
 * a = crc32c(0, A), b = crc32c(0, B), len_b = |B|. Portable, O(log len_b). */
uint32_t ibc_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
/* The factor x^(8 len_b) mod P once, then combines in one multiplication: combine_by(a, b,
 * factor(len_b)) == combine(a, b, len_b). The same for CRC-32 (zlib's polynomial). */
uint32_t ibc_crc32c_factor(uint64_t len_b);
uint32_t ibc_crc32c_combine_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor);
uint32_t ibc_crc32z_factor(uint64_t len_b);
uint32_t ibc_crc32z_combine_by(uint32_t crc_a, uint32_t crc_b, uint32_t factor);

/* 128-bit big-endian counter add: ctr += n (mod 2^128). */
void ibc_ctr128_add(uint8_t ctr[IBC_AES_BLOCK], uint64_t n);

/* Per-tier table declarations (defined in dispatch.c from the tier units' symbols). */
extern const ibc_kernels ibc_kernels_portable;
#if defined(IBC_HAVE_TIER_AESNI)
extern const ibc_kernels ibc_kernels_aesni;
#endif
#if defined(IBC_HAVE_TIER_VAES256)
extern const ibc_kernels ibc_kernels_vaes256;
#endif
#if defined(IBC_HAVE_TIER_VAES512)
extern const ibc_kernels ibc_kernels_vaes512;
extern const ibc_kernels ibc_kernels_vaes512_fold; /* its variant for IBC_CPU_CLMUL512_FULL */
#endif
#if defined(IBC_HAVE_TIER_ARMCE)
extern const ibc_kernels ibc_kernels_armce;
#endif

#ifdef __cplusplus
}
#endif
#endif
