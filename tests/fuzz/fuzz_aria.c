/*
 * fuzz_aria.c - pages of Aria tables encrypted with aria_encrypt_tables=ON (engine/aria.c) on
 * arbitrary bytes: the check of a page (ibc_aria_page_check) and its re-encryption under a new
 * page key (ibc_aria_rekey_page). Invariants: a page is changed only when the re-key says it
 * re-encrypted it; the new key and IV then open it, a second re-key finds it done, and the
 * re-key back gives the original bytes exactly; a page the check opens is one the re-key
 * re-encrypts.
 *
 * Input: a flags byte (bit 0: AES_CTR instead of AES_CBC; bit 1: a page of the index file;
 * bit 2: a transactional table; bits 3-4: the block size, 1, 2, 4 or 8 KiB), the table's space
 * (LE32) and header IV (16 bytes), the page number (LE32), then the page (cut or padded with
 * zeros to the block size). Key 1 is the one tests/server/mdb.sh
 * gives a server by default, SHA-256("ibdcrypt:1"), so the seeds (corpus/fuzz_aria/) are real
 * 10.11.19 pages: head, tail and blob pages, a non-transactional table's, an index page and a
 * bitmap page, each with its table's space and IV.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_keys.h"

static const uint8_t other[32] = "ibdcrypt fuzz_aria other key 1.";
static const uint8_t new_iv[16] = "fuzz_aria new iv";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_keys_init(FUZZ_MDB_KEY1, 32, other, 24);
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 25)
        return 0;
    const int ctr = data[0] & 1, index_file = (data[0] >> 1) & 1;
    const ibc_algo algo = ctr ? IBC_ALGO_CTR : IBC_ALGO_CBC;
    const uint32_t bs = 1024u << ((data[0] >> 3) & 3); /* 1, 2, 4, 8 KiB (Aria allows 1-32) */
    ibc_aria a;
    memset(&a, 0, sizeof(a));
    a.block_size = bs;
    a.keystart = bs;
    a.transactional = (data[0] >> 2) & 1;
    a.space = le32(data + 1);
    memcpy(a.iv, data + 5, 16);
    const uint64_t pno = le32(data + 21);
    uint8_t *page = calloc(1, bs), *orig = malloc(bs), *again = malloc(bs);
    memcpy(page, data + 25, size - 25 < bs ? size - 25 : bs);
    memcpy(orig, page, bs);

    const int c = ibc_aria_page_check(engine, &a, kr, algo, index_file, page, pno);
    const int r = ibc_aria_rekey_page(engine, &a, kr, kr2, new_iv, algo, index_file, page, pno);
    if (c < -2 || c > 1 || r < -2 || r > 2 || (c == 1) != (r == 1) || (c == 0) != (r == 0))
        abort(); /* the check and the re-key see the page alike */
    if (r != 1 && memcmp(page, orig, bs))
        abort(); /* changed though not re-encrypted */
    if (r == 1) {
        ibc_aria b = a;
        memcpy(b.iv, new_iv, 16);
        memcpy(again, page, bs);
        if (ibc_aria_page_check(engine, &b, kr2, algo, index_file, page, pno) != 1 ||
            ibc_aria_rekey_page(engine, &a, kr, kr2, new_iv, algo, index_file, again, pno) != 2 ||
            memcmp(again, page, bs))
            abort(); /* the new page key opens it; a second re-key finds it done */
        if (ibc_aria_rekey_page(engine, &b, kr2, kr, a.iv, algo, index_file, page, pno) != 1 ||
            memcmp(page, orig, bs))
            abort(); /* re-keyed back: the same bytes */
    }
    free(page);
    free(orig);
    free(again);
    return 0;
}
