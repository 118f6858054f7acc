/*
 * fuzz_binlog.c - binary logs encrypted with encrypt_binlog=ON (engine/binlog.c) on arbitrary
 * bytes: the head parser, the key check of an event, the check of every event, and the
 * re-key, which must be undone exactly by the re-key back (decrypting under one key and
 * encrypting under the other is a bijection, whatever the bytes hold: the same events must
 * come back, byte for byte, with the same counts).
 *
 * Input: one mode byte (bit 0: AES_CTR instead of AES_CBC; bit 1: read it as a relay log, whose
 * events' end positions are their primary's), then the log. Key 1 is the one
 * tests/server/mdb.sh gives a server by default, SHA-256("ibdcrypt:1"), so the seed corpus
 * (corpus/fuzz_binlog/) holds real 10.11.19 binary logs: a server with encrypt_binlog=ON in
 * each cipher, a few statements and a FLUSH BINARY LOGS; and relay logs: a replica of such a
 * server (encrypt_binlog=ON, relay_log=relay-bin) that fetched its binary log.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_keys.h"

static const uint8_t other[32] = "ibdcrypt fuzz_binlog other key.";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_keys_init(FUZZ_MDB_KEY1, 32, other, 16);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ibc_algo algo = data[0] & 1 ? IBC_ALGO_CTR : IBC_ALGO_CBC;
    const uint8_t *log = data + 1;
    size_t n = size - 1;
    ibc_binlog b;
    if (ibc_binlog_parse(log, n, &b) != 1)
        return 0;
    b.relay = (data[0] >> 1) & 1;
    if (b.enc_start > n)
        abort(); /* a parsed head lies inside what was given */
    const uint8_t *ev = log + b.enc_start;
    size_t len = n - b.enc_start;
    (void)ibc_binlog_event_opens(engine, &b, kr, algo, ev, len, b.enc_start);

    uint8_t *chk = malloc(len + 1), *buf = malloc(len + 1);
    memcpy(chk, ev, len);
    memcpy(buf, ev, len);
    size_t done_c = 0, done_a = 0, done_b = 0;
    uint64_t events = 0, first_bad = 0;
    uint32_t bad_c = 0, bad_a = 0, bad_b = 0;
    ibc_status sc = ibc_binlog_check(engine, &b, kr, algo, chk, len, b.enc_start, &done_c, &events,
                                     &bad_c, &first_bad);
    ibc_status sa =
        ibc_binlog_rekey(engine, &b, kr, kr2, algo, buf, len, b.enc_start, &done_a, &bad_a);
    if (sa != sc || done_a != done_c || bad_a != bad_c || done_a > len ||
        (bad_c && (first_bad < b.enc_start || first_bad >= b.enc_start + done_c)))
        abort(); /* the check and the re-key see the same events */
    if (sa != IBC_OK && sa != IBC_ERR_CORRUPT)
        goto out; /* no key 1 at the version the log names */
    ibc_status sb =
        ibc_binlog_rekey(engine, &b, kr2, kr, algo, buf, done_a, b.enc_start, &done_b, &bad_b);
    if (sb != IBC_OK || done_b != done_a || bad_b != bad_a || memcmp(buf, ev, done_a) ||
        memcmp(buf + done_a, ev + done_a, len - done_a))
        abort(); /* re-keyed back: the same bytes */
out:
    free(chk);
    free(buf);
    return 0;
}
