"""crc_gf2: GF(2) polynomial arithmetic for reflected CRC-32s, shared by the generators of the
CRC32C (scripts/gen_crc32c_tables.py) and the CRC-32/gzip (scripts/gen_crc32z.py) constants.

A polynomial P is given in normal form with the x^32 term implied (0x1EDC6F41 for CRC32C,
0x04C11DB7 for CRC-32). fold_const(k) = reflect(x^k mod P, 32) << 1 is the multiplier a
carry-less product uses to move a CRC state by x^k (each generator's docstring derives it).
"""
import functools


def reflect(v, bits):
    r = 0
    for i in range(bits):
        if v >> i & 1:
            r |= 1 << (bits - 1 - i)
    return r


def clmul(a, b):
    """Carry-less product (PCLMULQDQ / PMULL on 64-bit operands)."""
    r = 0
    while b:
        if b & 1:
            r ^= a
        a <<= 1
        b >>= 1
    return r


class Crc32:
    def __init__(self, poly):
        self.poly = poly
        self.poly_refl = reflect(poly, 32)

    def xpow_mod(self, k):
        """x^k mod P in the normal (non-reflected) representation, 32 bits."""
        r = 1
        for _ in range(k):
            r <<= 1
            if r & (1 << 32):
                r ^= (1 << 32) | self.poly
        return r

    @functools.lru_cache(maxsize=None)
    def fold_const(self, k):
        """Constant for a fold term x^k: reflect(x^k mod P) over 32 bits, shifted left by 1."""
        return reflect(self.xpow_mod(k), 32) << 1

    def barrett_mu(self):
        """floor(x^64 / P(x)) as a 33-bit polynomial (normal form)."""
        p = (1 << 32) | self.poly
        num = 1 << 64
        q = 0
        while num.bit_length() >= p.bit_length():
            s = num.bit_length() - p.bit_length()
            q |= 1 << s
            num ^= p << s
        return q

    def slice_tables(self, count):
        """T[k][n]: the CRC register after byte n and k zero bytes (slice-by-count)."""
        t = [[0] * 256 for _ in range(count)]
        for n in range(256):
            c = n
            for _ in range(8):
                c = (c >> 1) ^ self.poly_refl if c & 1 else c >> 1
            t[0][n] = c
        for n in range(256):
            c = t[0][n]
            for k in range(1, count):
                c = t[0][c & 0xFF] ^ (c >> 8)
                t[k][n] = c
        return t

    def crc_raw(self, state, data):
        """Reflected CRC update bit by bit, no pre/post inversion (the crc32 instructions)."""
        for b in data:
            state ^= b
            for _ in range(8):
                state = (state >> 1) ^ self.poly_refl if state & 1 else state >> 1
        return state
