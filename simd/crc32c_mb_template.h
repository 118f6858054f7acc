/*
 * crc32c_mb_template.h - the CRC32C of many short messages (the crc32c_mb kernel) for the tiers
 * with a CRC32C instruction: x86 SSE4.2 crc32 (aesni, vaes256, vaes512) and ARMv8 CRC32CX
 * (armce).
 *
 * The instruction takes 8 bytes per cycle but has 2-3 cycles of latency, so the CRC of one short
 * message (a redo mini-transaction is 78 bytes on average in a real OLTP log) is latency-bound,
 * and its loop exit, which depends on the length, is mispredicted about once per message. Here
 * four messages go side by side in straight-line code:
 *   - the len % 8 head bytes of each first, as three conditional 1-, 2- and 4-byte steps
 *     (selects, not branches), so that the rest is whole 8-byte words;
 *   - then max(words) steps, each advancing all four chains; a chain whose message has no word
 *     left keeps its value (a select) and re-reads its last word, so nothing is read outside a
 *     message;
 *   - then the tail piece of each (the same length for all: branches that always go one way).
 * The only data-dependent branch left is the exit of the word loop, once per four messages.
 * Messages shorter than 8 bytes or longer than MB_LONG bytes take the tier's crc32c kernel; when
 * fewer than four are left at the end, the free chains repeat one of them.
 *
 * The including unit defines
 *   MB_KERNEL          the kernel to define (crc32c_mb_<tier>)
 *   MB_TIER            its ibc_tier_id
 *   MB_CRC8/16/32/64(c, v)  the instruction on a raw (inverted) 32-bit state, giving the new one
 *   MB_CRC32C          the tier's crc32c kernel (for the messages taken one at a time)
 * and is compiled with the tier's flags. Everything here is static but MB_KERNEL.
 */
#include <string.h>

#include "tiers.h"

#define MB_LONG 1024 /* longer messages are better served by the folding kernel */

static inline uint64_t mb_ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The first len % 8 bytes of a message of at least 8 bytes; *pp advances past them. */
static inline uint32_t mb_head(uint32_t c, const uint8_t **pp, uint32_t r)
{
    const uint8_t *p = *pp;
    uint16_t h;
    uint32_t w, x;
    x = MB_CRC8(c, p[0]);
    c = r & 1 ? x : c;
    p += r & 1;
    memcpy(&h, p, 2);
    x = MB_CRC16(c, h);
    c = r & 2 ? x : c;
    p += r & 2;
    memcpy(&w, p, 4);
    x = MB_CRC32(c, w);
    c = r & 4 ? x : c;
    p += r & 4;
    *pp = p;
    return c;
}

/* n words at p, one chain (what a chain has left after the common steps). */
static inline uint32_t mb_words(uint32_t c, const uint8_t *p, uint32_t n)
{
    for (; n; n--, p += 8)
        c = MB_CRC64(c, mb_ld64(p));
    return c;
}

/* The tail piece (tail bytes at p), one chain. */
static inline uint32_t mb_tail(uint32_t c, const uint8_t *p, uint32_t tail)
{
    c = mb_words(c, p, tail / 8);
    for (p += tail / 8 * 8, tail %= 8; tail; tail--, p++)
        c = MB_CRC8(c, *p);
    return c;
}

static inline void mb_four(ibc_crc_msg *m0, ibc_crc_msg *m1, ibc_crc_msg *m2, ibc_crc_msg *m3,
                           uint32_t gap, uint32_t tail)
{
    const uint8_t *p0 = m0->p, *p1 = m1->p, *p2 = m2->p, *p3 = m3->p;
    uint32_t c0 = mb_head(~0u, &p0, m0->len & 7), c1 = mb_head(~0u, &p1, m1->len & 7);
    uint32_t c2 = mb_head(~0u, &p2, m2->len & 7), c3 = mb_head(~0u, &p3, m3->len & 7);
    const uint32_t w0 = m0->len >> 3, w1 = m1->len >> 3, w2 = m2->len >> 3, w3 = m3->len >> 3;
    uint32_t w = w0 < w1 ? w0 : w1;
    w = w < w2 ? w : w2;
    w = w < w3 ? w : w3;
    for (uint32_t i = 0; i < 8 * w; i += 8) {
        c0 = MB_CRC64(c0, mb_ld64(p0 + i));
        c1 = MB_CRC64(c1, mb_ld64(p1 + i));
        c2 = MB_CRC64(c2, mb_ld64(p2 + i));
        c3 = MB_CRC64(c3, mb_ld64(p3 + i));
    }
    c0 = mb_words(c0, p0 + 8 * w, w0 - w);
    c1 = mb_words(c1, p1 + 8 * w, w1 - w);
    c2 = mb_words(c2, p2 + 8 * w, w2 - w);
    c3 = mb_words(c3, p3 + 8 * w, w3 - w);
    m0->crc = ~mb_tail(c0, m0->p + m0->len + gap, tail);
    m1->crc = ~mb_tail(c1, m1->p + m1->len + gap, tail);
    m2->crc = ~mb_tail(c2, m2->p + m2->len + gap, tail);
    m3->crc = ~mb_tail(c3, m3->p + m3->len + gap, tail);
}

static inline void mb_one(ibc_crc_msg *m, uint32_t gap, uint32_t tail)
{
    m->crc = MB_CRC32C(MB_CRC32C(0, m->p, m->len), m->p + m->len + gap, tail);
}

/* Messages are grouped by their number of words (a counting sort of MB_CHUNK messages at a
 * time), so that the four of a group have about as many words as the longest of them. */
#define MB_CHUNK   256
#define MB_BUCKETS (MB_LONG / 8 + 1)

void MB_KERNEL(ibc_crc_msg *m, size_t n, uint32_t gap, uint32_t tail)
{
    IBC_KERNEL_HIT(IBC_KOP_CRC32C_MB, MB_TIER);
    uint16_t count[MB_BUCKETS], ord[MB_CHUNK];
    for (size_t c0 = 0; c0 < n; c0 += MB_CHUNK) {
        size_t cn = n - c0 < MB_CHUNK ? n - c0 : MB_CHUNK, k = 0;
        ibc_crc_msg *cm = m + c0;
        memset(count, 0, sizeof(count));
        for (size_t i = 0; i < cn; i++) {
            if (cm[i].len < 8 || cm[i].len > MB_LONG)
                mb_one(&cm[i], gap, tail);
            else
                count[cm[i].len >> 3]++;
        }
        for (unsigned b = 0, at = 0; b < MB_BUCKETS; b++) {
            unsigned c = count[b];
            count[b] = (uint16_t)at;
            at += c;
        }
        for (size_t i = 0; i < cn; i++)
            if (cm[i].len >= 8 && cm[i].len <= MB_LONG) {
                ord[count[cm[i].len >> 3]++] = (uint16_t)i;
                k++;
            }
        size_t i = 0;
        for (; i + 4 <= k; i += 4)
            mb_four(&cm[ord[i]], &cm[ord[i + 1]], &cm[ord[i + 2]], &cm[ord[i + 3]], gap, tail);
        if (i < k) /* the last one to three side by side too, the free chains repeating one */
            mb_four(&cm[ord[i]], &cm[ord[i + 1 < k ? i + 1 : i]], &cm[ord[i + 2 < k ? i + 2 : i]],
                    &cm[ord[i]], gap, tail);
    }
}

#undef MB_LONG
#undef MB_CHUNK
#undef MB_BUCKETS
