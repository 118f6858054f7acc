#!/usr/bin/env python3
"""Generate simd/crc32z_tables.h: the slice-by-16 tables of the portable CRC-32 (the gzip/zlib
CRC, crc32z) and the constants of its carry-less-multiply kernels.

CRC-32 of gzip and zlib (ISO-HDLC, ITU V.42): polynomial P = 0x04C11DB7, reflected
0xEDB88320, init and final inversion. Kernels return zlib's crc32(): crc32z(0, "123456789")
= 0xCBF43926.

Frames. A register (an integer) stands for a polynomial through a frame e: bit j is the
coefficient of x^(e - j). Sixteen message bytes loaded little-endian are a 128-bit register
in frame 127 (bit 0 of byte 0, the first message bit, is the highest power). A carry-less
multiply adds frames (bit i of a times bit i' of b lands on bit i + i', the coefficient of
x^(ea - i) x^(eb - i')). A right shift by s bits lowers the frame by s. A 32-bit constant
K = x^k mod P stored as fold_const(k) = reflect32(K) << 1 is K in frame 32.

The raw CRC (no inversions) of a message M from state 0 is M(x) x^32 mod P, and a state c
before M is the same as c XORed into M's first four bytes. So every kernel XORs the state
into the first 16 bytes and then only has to keep M(x) mod P, up to a known power of x.

Folding (Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ Instruction",
2009). A 16-byte chunk X = H x^64 + L (H = its first 8 bytes, the low qword) lying D bits
before a chunk Y contributes X x^D to the message. H times fold_const(D + 32) is, in frame
127, H x^(D+64) mod-P-equivalent; L times fold_const(D - 32) likewise L x^D; both products
are at most 96 bits, so
    fold(X, D) ^ Y = clmul(H, fold_const(D + 32)) ^ clmul(L, fold_const(D - 32)) ^ Y
stands for X x^D + Y: the 16 bytes of X can be dropped. CRC32Z_FOLD_<D>_HI/_LO.

Final reduction of one 128-bit register X (frame 127) to the 32-bit state X(x) x^32 mod P
(simd/crc32z_pclmul_template.h, crc32z_reduce128). Read X in frame 159, which is the
factor x^32; then:
  A. 128 -> 96 bits: R1 = clmul(X.lo, fold_const(96)) ^ (X >> 64). The product is in frame
     191; read in frame 95 it is H x^96 (the K is x^96 mod P); X >> 64 is L in frame 95.
  B. 96 -> 64 bits: R2 = (R1 >> 32) ^ clmul(R1 & 0xffffffff, fold_const(64)). The top 32
     coefficients T times x^64 mod P, product in frame 127, read in frame 63; R1 >> 32 is the
     rest in frame 63.
  C. Barrett, 64 -> 32 bits: W = R2 (frame 63, degree < 64), mu = floor(x^64 / P) (degree
     32), q = floor(floor(W / x^32) mu / x^32) = floor(W / P). With mu and P as 33-bit
     reflected constants (frame 32): q = clmul(W & 0xffffffff, MU) & 0xffffffff (frame 31);
     W + qP = clmul(q, P) ^ W has degree < 32: bits 32..63, the reflected CRC state.

Partial last block (r = 1..15 bytes t after the register X, at least 16 bytes in all): the
message X || t is (0^(16-r) || X[0..r-1]) || (X[r..15] || t) (leading zero bytes do not
change a state-0 CRC), so the first half is folded over 128 bits onto the second. Both are
byte shuffles of X (pshufb), and t comes from an unaligned load of the message's last 16
bytes (blend).

ARMv8 (simd/crc32z_armce.c) folds the same way with PMULL and reduces the last register with
the CRC32X instruction (the same polynomial): crc32x(crc32x(0, X.lo), X.hi) = X(x) x^32 mod P.

Every constant is checked below against a bit-at-a-time model of the CRC and zlib, including
a model of each kernel's whole computation for every vector width, before anything is
written.

Usage: scripts/gen_crc32z.py > simd/crc32z_tables.h
"""
import os
import random
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crc_gf2 import Crc32, clmul, reflect  # noqa: E402

POLY = 0x04C11DB7            # normal form, x^32 term implied
POLY_REFL = 0xEDB88320
CRC = Crc32(POLY)
assert CRC.poly_refl == POLY_REFL
fold_const = CRC.fold_const
barrett_mu = CRC.barrett_mu
crc_raw = CRC.crc_raw
M32 = 0xFFFFFFFF
M64 = 2**64 - 1

# Fold distances (bits) the kernels use: 128 (one xmm block, lane reduction), and 1, 2, 4 and
# 8 vectors of 16, 32 and 64 bytes; 384 for the zmm lane reduction.
FOLD_BITS = (128, 256, 384, 512, 1024, 2048, 4096)

BARRETT_MU = reflect(barrett_mu(), 33)
BARRETT_P = reflect((1 << 32) | POLY, 33)


# --- a bit-level model of the kernels, to check the constants --------------------------------

def lo(v):
    return v & M64


def hi(v):
    return v >> 64


def fold(x, d):
    """fold(X, D) of the docstring: X, 16 bytes, moved d bits forward (not yet XORed)."""
    return clmul(lo(x), fold_const(d + 32)) ^ clmul(hi(x), fold_const(d - 32))


def reduce128(x):
    """Steps A, B, C of the docstring, as crc32z_reduce128 does them."""
    r1 = clmul(lo(x), fold_const(96)) ^ (x >> 64)
    assert r1 < 2**96
    r2 = (r1 >> 32) ^ clmul(r1 & M32, fold_const(64))
    assert r2 < 2**64
    q = clmul(r2 & M32, BARRETT_MU) & M32
    return ((r2 ^ clmul(q, BARRETT_P)) >> 32) & M32


def le(b):
    return int.from_bytes(b, "little")


def fold_partial(x, msg, end, r):
    """The last r (1..15) bytes before msg[end], after the register x."""
    xb = x.to_bytes(16, "little")
    a = bytes(16 - r) + xb[:r]
    b = xb[r:] + msg[end - r:end]
    assert b[16 - r:] == msg[end - 16:end][16 - r:]  # what the blend takes from the load
    return fold(le(a), 128) ^ le(b)


def model_pclmul(c, msg, vl):
    """simd/crc32z_pclmul_template.h for vectors of vl bytes: raw state c over msg."""
    n = len(msg)
    if n < 16:
        return crc_raw(c, msg)
    lanes = vl // 16
    p = 0

    def vload(at):
        return [le(msg[at + 16 * i:at + 16 * i + 16]) for i in range(lanes)]

    def vfold(v, data, d):
        return [fold(v[i], d) ^ data[i] for i in range(lanes)]

    def to128(v):
        # every lane folded straight onto the last one
        x = v[-1]
        for i in range(lanes - 1):
            x ^= fold(v[i], 128 * (lanes - 1 - i))
        return x

    if n >= 8 * vl:
        acc = [vload(p + vl * i) for i in range(8)]
        acc[0][0] ^= c
        p += 8 * vl
        while n - p >= 8 * vl:
            acc = [vfold(acc[i], vload(p + vl * i), 64 * vl) for i in range(8)]
            p += 8 * vl
        acc = [vfold(acc[i], acc[i + 4], 32 * vl) for i in range(4)]
        acc = [vfold(acc[i], acc[i + 2], 16 * vl) for i in range(2)]
        v = vfold(acc[0], acc[1], 8 * vl)
        while n - p >= vl:
            v = vfold(v, vload(p), 8 * vl)
            p += vl
        x = to128(v)
    elif vl > 16 and n >= vl:
        v = vload(p)
        v[0] ^= c
        p += vl
        while n - p >= vl:
            v = vfold(v, vload(p), 8 * vl)
            p += vl
        x = to128(v)
    else:
        x = le(msg[:16]) ^ c
        p = 16
    while n - p >= 16:
        x = fold(x, 128) ^ le(msg[p:p + 16])
        p += 16
    if n > p:
        x = fold_partial(x, msg, n, n - p)
    return reduce128(x)


def model_armce(c, msg):
    """simd/crc32z_armce.c: PMULL folding of 8 registers, crc32 instructions for the rest."""
    n = len(msg)
    p = 0
    if n >= 128:
        acc = [le(msg[16 * i:16 * i + 16]) for i in range(8)]
        acc[0] ^= c
        p = 128
        while n - p >= 128:
            acc = [fold(acc[i], 1024) ^ le(msg[p + 16 * i:p + 16 * i + 16]) for i in range(8)]
            p += 128
        acc = [fold(acc[i], 512) ^ acc[i + 4] for i in range(4)]
        acc = [fold(acc[i], 256) ^ acc[i + 2] for i in range(2)]
        x = fold(acc[0], 128) ^ acc[1]
        while n - p >= 16:
            x = fold(x, 128) ^ le(msg[p:p + 16])
            p += 16
        c = crc_raw(0, x.to_bytes(16, "little"))
    return crc_raw(c, msg[p:])


def selfcheck():
    rng = random.Random(1)
    assert crc_raw(M32, b"123456789") ^ M32 == 0xCBF43926
    assert zlib.crc32(b"123456789") == 0xCBF43926
    t = CRC.slice_tables(16)
    assert t[0][1] == 0x77073096 and t[0][255] == 0x2D02EF8D  # zlib's crc_table
    for k in range(200):
        x = rng.getrandbits(128)
        # the final reduction is the raw CRC of the register's 16 bytes from state 0
        assert reduce128(x) == crc_raw(0, x.to_bytes(16, "little"))
    for d in FOLD_BITS:
        for _ in range(8):
            x, y = rng.getrandbits(128), rng.getrandbits(128)
            msg = x.to_bytes(16, "little") + bytes(d // 8 - 16) + y.to_bytes(16, "little")
            f = fold(x, d) ^ y
            assert f < 2**128
            assert crc_raw(0, f.to_bytes(16, "little")) == crc_raw(0, msg), d
    lengths = list(range(0, 300)) + [rng.randrange(300, 5000) for _ in range(60)]
    for n in lengths:
        msg = rng.randbytes(n)
        init = rng.getrandbits(32) if n % 3 else 0
        want = zlib.crc32(msg, init)
        for vl in (16, 32, 64):
            assert model_pclmul(~init & M32, msg, vl) ^ M32 == want, (vl, n)
        assert model_armce(~init & M32, msg) ^ M32 == want, n


def main():
    selfcheck()
    out = sys.stdout
    out.write("/* Generated by scripts/gen_crc32z.py; do not edit. */\n")
    out.write("#ifndef IBC_CRC32Z_TABLES_H\n#define IBC_CRC32Z_TABLES_H\n\n#include <stdint.h>\n\n")
    out.write("/* CRC-32 (gzip/zlib, reflected 0xEDB88320). Slice-by-16 tables: T[k][n] = CRC of\n"
              " * byte n followed by k zero bytes. */\n")
    out.write("static const uint32_t crc32z_slice16[16][256] = {\n")
    for row in CRC.slice_tables(16):
        out.write("    {\n")
        for i in range(0, 256, 6):
            out.write("        " + " ".join("0x%08x," % v for v in row[i:i + 6]) + "\n")
        out.write("    },\n")
    out.write("};\n\n")
    out.write("/* Folding constants, named by fold distance in bits: CRC32Z_FOLD_<D>_LO/HI =\n"
              " * fold_const(D - 32) / fold_const(D + 32) (see the generator's docstring). */\n")
    for d in FOLD_BITS:
        out.write("#define CRC32Z_FOLD_%d_LO 0x%09xull /* x^%d */\n" % (d, fold_const(d - 32), d - 32))
        out.write("#define CRC32Z_FOLD_%d_HI 0x%09xull /* x^%d */\n" % (d, fold_const(d + 32), d + 32))
    out.write("/* Final reduction 128 -> 96 -> 64 bits: x^96 and x^64. */\n")
    out.write("#define CRC32Z_X96 0x%09xull\n" % fold_const(96))
    out.write("#define CRC32Z_X64 0x%09xull\n" % fold_const(64))
    out.write("/* Barrett 64 -> 32 bits: mu = reflect(floor(x^64/P), 33 bits), p = reflect(P, 33). */\n")
    out.write("#define CRC32Z_BARRETT_MU 0x%09xull\n" % BARRETT_MU)
    out.write("#define CRC32Z_BARRETT_P 0x%09xull\n" % BARRETT_P)
    out.write("\n#endif\n")


if __name__ == "__main__":
    main()
