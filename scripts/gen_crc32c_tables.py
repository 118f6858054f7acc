#!/usr/bin/env python3
"""Generate simd/crc32c_tables.h: the slice-by-8 tables of the portable CRC32C and the
constants of the carry-less-multiply kernels.

CRC32C (Castagnoli) in the reflected representation: polynomial P = 0x1EDC6F41, reflected
0x82F63B78; bit 31 of a 32-bit value is the coefficient of x^0.

How a reflected carry-less product lines up. Message bytes are loaded little-endian, so in a
64-bit lane bit i is the coefficient of x^(63-i) (the first message bit is the highest power).
PCLMULQDQ multiplies the bit strings, so for lanes a, b the 128-bit product, read the same
way (bit k = x^(127-k)), is x * A(x) * B(x): one factor x too many. A 32-bit constant
reflect(K) placed in a lane is the polynomial x^32 * K(x); shifted left by one it is
x^31 * K(x), and the stray x is absorbed. With fold_const(k) = reflect(x^k mod P) << 1:

    clmul(lane(A), fold_const(k)) = x^32 * A(x) * (x^k mod P)  (as a 128-bit value)

Folding (Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction",
2009). A 16-byte chunk X = H x^64 + L (H = its first 8 bytes) that lies D bits before a later
chunk Y contributes X x^D. Reduced mod P term by term, H x^(D+64) + L x^D fits in 128 bits
again, so it can be XORed into Y. By the identity above that is
    clmul(H, fold_const(D + 32)) ^ clmul(L, fold_const(D - 32)),
called CRC32C_FOLD_<D>_HI and _LO below (HI multiplies the first, high-order qword).
After folding, a 16-byte accumulator is a stand-in for all the data folded into it: the CRC
state is the crc32 instruction run over its two qwords (or a Barrett reduction).

Shifting a CRC state over n zero bytes (the 3-way crc32-instruction kernels): the crc32
instruction with state 0 maps a qword Q to Q(x) x^32 mod P. A 32-bit state c in the low half
of a lane is the polynomial x^32 c(x); times fold_const(8n - 32) that is x^64 c(x) K(x), i.e.
a low qword equal to c(x) (x^(8n-32) mod P) and a high qword of zero, so

    crc32q(0, clmul(c, fold_const(8n - 32))) = c x^(8n) mod P = c advanced over n zero bytes.

The tables of those multipliers serve the kernel that runs three crc32 chains over three
adjacent blocks of n bytes and merges them: crc = A x^(16n) + B x^(8n) + C.

Fused chunks (simd/crc32c_vpclmul_template.h): M steps of 4 VL-byte vectors folded while
three crc32 chains cover 3 x 8QM bytes behind them; then the accumulators jump over the chain
bytes onto the next 4 vectors, a fold over D = 8 (4 VL + 24 Q M) bits, and the chains merge
with the 3-way multipliers for n = 8QM. One table row per M.

Final reduction (the template): every 16-byte lane left in the accumulators, and every whole
16-byte block after them, is folded straight onto the last of those lanes: lane j, d lanes
before it, by the fold over 128 d bits. crc32c_lane_fold lists those multipliers by
decreasing d, so that one vector load fetches the multipliers of consecutive lanes; the row
for d = 0 is zero (the last lane is taken as it is).

Every constant is checked below against a bit-at-a-time model of the CRC before anything
is written.

Usage: scripts/gen_crc32c_tables.py > simd/crc32c_tables.h
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crc_gf2 import Crc32, clmul, reflect  # noqa: E402

POLY = 0x1EDC6F41            # normal form, x^32 term implied
POLY_REFL = 0x82F63B78
CRC = Crc32(POLY)
assert CRC.poly_refl == POLY_REFL
fold_const = CRC.fold_const
barrett_mu = CRC.barrett_mu
crc_raw = CRC.crc_raw

# The 3-way crc32-instruction kernel (simd/crc32c_sse42.h) runs three chains over n-byte
# blocks: rounds of n = 64 * i (1 <= i <= THREEWAY_K64_MAX) while more than THREEWAY_K8_MAX
# qwords per chain remain, then one round of n = 8 * i (1 <= i <= THREEWAY_K8_MAX).
THREEWAY_K64_MAX = 64        # largest block: 4096 bytes per chain, 12 KiB per round
THREEWAY_K8_MAX = 64         # 512 bytes per chain: one round for up to 1559 bytes

# Fused folding + crc32 kernels, per vector length VL in bytes: Q qwords per chain per step
# and up to M_MAX steps per chunk. VL 16 and 32 were tuned on Zen 3 (Q 4..12 and M_MAX 16..48
# tried). VL 64 on Zen 5 (a step of 4 zmm folds takes 16 cycles of VPCLMULQDQ there): Q = 5
# ran 14-17 % faster than the first, conservative Q = 3 (kernel/crc32c 16 and 64 KiB), Q = 6
# the same as 5, Q = 4 and 7 slower (interleaved runs, 2026-11-23).
# Lane folds for the final reduction: up to 4 zmm accumulators (16 lanes) and 15 blocks.
LANE_FOLD_MAX = 30

FUSED = [  # (VL, Q, M_MAX)
    (16, 6, 32),
    (32, 5, 32),
    (64, 5, 32),
]


def shift_const(n):
    """Multiplier that advances a CRC state over n zero bytes (see the docstring)."""
    return fold_const(8 * n - 32)


# --- a bit-level model of the instructions, to check the constants --------------------------

def crc32q(state, q):
    return crc_raw(state, q.to_bytes(8, "little"))


def fold(acc, hi_const, lo_const):
    """Fold a 128-bit chunk (bytes 0..7 in the low qword) forward, as the kernels do."""
    return clmul(acc & (2**64 - 1), hi_const) ^ clmul(acc >> 64, lo_const)


def check_fold(rng, d):
    """Folding a chunk over d bits keeps the CRC of chunk, gap, next chunk."""
    x = rng.getrandbits(128)
    y = rng.getrandbits(128)
    msg = x.to_bytes(16, "little") + bytes(d // 8 - 16) + y.to_bytes(16, "little")
    acc = fold(x, fold_const(d + 32), fold_const(d - 32)) ^ y
    assert acc < 2**128
    assert crc32q(crc32q(0, acc & (2**64 - 1)), acc >> 64) == crc_raw(0, msg), d


def check_merge(rng, n):
    """The shift multipliers, and the 3-way merge of chains over adjacent n-byte blocks."""
    c = rng.getrandbits(32)
    for k in (shift_const(n), shift_const(2 * n)):
        assert clmul(c, k) < 2**64
    assert crc32q(0, clmul(c, shift_const(n))) == crc_raw(c, bytes(n)), n
    blk = [rng.randbytes(n) for _ in range(3)]
    a, b, cc = crc_raw(c, blk[0]), crc_raw(0, blk[1]), crc_raw(0, blk[2])
    merged = crc32q(0, clmul(a, shift_const(2 * n)) ^ clmul(b, shift_const(n))) ^ cc
    assert merged == crc_raw(c, blk[0] + blk[1] + blk[2]), n


def selfcheck():
    rng = random.Random(1)
    assert crc_raw(0xFFFFFFFF, b"123456789") ^ 0xFFFFFFFF == 0xE3069283
    for d in (128, 256, 384, 512, 1024, 2048, 4096):
        for _ in range(4):
            check_fold(rng, d)
    for n in ([64 * i for i in range(1, THREEWAY_K64_MAX + 1)] +
              [8 * i for i in range(1, THREEWAY_K8_MAX + 1)]):
        check_merge(rng, n)
    for d in range(1, LANE_FOLD_MAX + 1):
        check_fold(rng, 128 * d)
    for vl, q, m_max in FUSED:
        for m in range(1, m_max + 1):
            check_fold(rng, fused_cross_bits(vl, q, m))
            check_merge(rng, 8 * q * m)


def fused_cross_bits(vl, q, m):
    return 8 * (4 * vl + 3 * 8 * q * m)

def write_pairs(out, name, comment, ns):
    out.write(comment)
    out.write("static const uint64_t %s[%d][2] = {\n" % (name, len(ns)))
    for n in ns:
        out.write("    {0x%09xull, 0x%09xull}, /* n = %d */\n"
                  % (shift_const(2 * n), shift_const(n), n))
    out.write("};\n\n")


def main():
    selfcheck()
    out = sys.stdout
    out.write("/* Generated by scripts/gen_crc32c_tables.py; do not edit. */\n")
    out.write("#ifndef IBC_CRC32C_TABLES_H\n#define IBC_CRC32C_TABLES_H\n\n#include <stdint.h>\n\n")
    out.write("/* Slice-by-8 tables: T[k][n] = CRC of byte n followed by k zero bytes. */\n")
    out.write("static const uint32_t crc32c_slice8[8][256] = {\n")
    for row in CRC.slice_tables(8):
        out.write("    {\n")
        for i in range(0, 256, 6):
            out.write("        " + " ".join("0x%08x," % v for v in row[i:i + 6]) + "\n")
        out.write("    },\n")
    out.write("};\n\n")
    out.write("/* Folding constants, named by fold distance in bits: CRC32C_FOLD_<D>_LO/HI =\n"
              " * fold_const(D - 32) / fold_const(D + 32) (see the generator's docstring). */\n")
    for d in (128, 256, 384, 512, 1024, 2048, 4096):
        out.write("#define CRC32C_FOLD_%d_LO 0x%09xull /* x^%d */\n" % (d, fold_const(d - 32), d - 32))
        out.write("#define CRC32C_FOLD_%d_HI 0x%09xull /* x^%d */\n" % (d, fold_const(d + 32), d + 32))
    out.write("/* 128 -> 64 -> 32 bit final reduction: x^64 and x^96 terms. */\n")
    out.write("#define CRC32C_X64 0x%09xull\n" % fold_const(64))
    out.write("#define CRC32C_X96 0x%09xull\n" % fold_const(96))
    out.write("/* Barrett: mu = reflect(floor(x^64/P), 33 bits), p = reflect(P, 33 bits). */\n")
    out.write("#define CRC32C_BARRETT_MU 0x%09xull\n" % reflect(barrett_mu(), 33))
    out.write("#define CRC32C_BARRETT_P 0x%09xull\n" % reflect((1 << 32) | POLY, 33))
    out.write("\n")
    out.write("/* 3-way crc32-instruction kernels: three chains over adjacent n-byte blocks A, B, C\n"
              " * merge as crc32q(0, clmul(a, T[i][0]) ^ clmul(b, T[i][1])) ^ c, where\n"
              " * T[i] = {shift_const(2n), shift_const(n)} advance a state over 2n / n zero bytes\n"
              " * (see the generator's docstring). */\n")
    out.write("#define CRC32C_3WAY_K64_MAX %d /* largest block: 64 * this many bytes */\n"
              % THREEWAY_K64_MAX)
    write_pairs(out, "crc32c_3way_k64",
                "/* n = 64 * (i + 1), 0 <= i < CRC32C_3WAY_K64_MAX. */\n",
                [64 * i for i in range(1, THREEWAY_K64_MAX + 1)])
    out.write("#define CRC32C_3WAY_K8_MAX %d\n" % THREEWAY_K8_MAX)
    write_pairs(out, "crc32c_3way_k8", "/* n = 8 * (i + 1), 0 <= i < CRC32C_3WAY_K8_MAX. */\n",
                [8 * i for i in range(1, THREEWAY_K8_MAX + 1)])
    out.write("/* Fused folding + crc32 chunks of VL-byte vectors (see the generator's docstring).\n"
              " * Row M - 1: {CROSS_HI, CROSS_LO, SHIFT_2N, SHIFT_N}: the fold over the chain bytes\n"
              " * and the 3-way merge multipliers for chains of n = 8 Q M bytes. */\n")
    for vl, q, m_max in FUSED:
        bits = 8 * vl
        out.write("#define CRC32C_FUSED%d_Q %d\n" % (bits, q))
        out.write("#define CRC32C_FUSED%d_M_MAX %d\n" % (bits, m_max))
        out.write("static const uint64_t crc32c_fused%d[%d][4] = {\n" % (bits, m_max))
        for m in range(1, m_max + 1):
            d = fused_cross_bits(vl, q, m)
            n = 8 * q * m
            out.write("    {0x%09xull, 0x%09xull, 0x%09xull, 0x%09xull}, /* M = %d */\n"
                      % (fold_const(d + 32), fold_const(d - 32), shift_const(2 * n),
                         shift_const(n), m))
        out.write("};\n\n")
    out.write("/* Final reduction: row LANE_FOLD_MAX - d folds a 16-byte lane over d lanes: {HI, LO}\n"
              " * of CRC32C_FOLD_<128 d>; d = 0 is zero (see the generator's docstring). */\n")
    out.write("#define CRC32C_LANE_FOLD_MAX %d\n" % LANE_FOLD_MAX)
    out.write("static const uint64_t crc32c_lane_fold[%d][2] = {\n" % (LANE_FOLD_MAX + 1))
    for d in range(LANE_FOLD_MAX, -1, -1):
        hi, lo = (fold_const(128 * d + 32), fold_const(128 * d - 32)) if d else (0, 0)
        out.write("    {0x%09xull, 0x%09xull}, /* d = %d */\n" % (hi, lo, d))
    out.write("};\n\n")
    out.write("#endif\n")


if __name__ == "__main__":
    main()
