/*
 * page_data.h - encrypted InnoDB pages in the exact on-disk format, built once per run.
 *
 * Source: the pages a real MariaDB 10.11.19 server wrote (tests/data/mariadb-10.11/, variants
 * cbc-fc32-16k and cbc-crc32-16k: index, BLOB, inode and change-buffer bitmap pages of three
 * tables), decrypted with their lab keys into plaintext templates. A page set is then made by
 * cycling through the templates, giving each page its own page number and LSN (hence its own
 * IV) and the tablespace's space id, writing the plaintext checksums as the server does, and
 * ENCRYPTing it with the engine under a fixed key "A" (and the chosen algorithm). Re-key
 * benchmarks turn pages from A to a second fixed key "B" and back (in place, ping-pong), so
 * every iteration does the full work.
 *
 * One dataset per (format, algorithm): the tablespace (page 0 of the sample t_k1.ibd) as an
 * ibc_space under A and under B for every usable tier, the page keys for the peers, a hot source
 * of BENCH_HOT_PAGES pages, and (lazily) a cold set of pages well beyond the last-level cache.
 */
#ifndef IBC_BENCH_PAGE_DATA_H
#define IBC_BENCH_PAGE_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

#define BENCH_PAGE_SIZE 16384u
/* The hot batch: 32 pages (512 KiB), a multiple of every tier's ibc_engine_lanes() (4, 8, 16,
 * 32); in the L2 of Zen 5 (1 MiB), half in that of Zen 3 (512 KiB). */
#define BENCH_HOT_PAGES 32u

typedef enum bench_fmt { BENCH_FC32 = 0, BENCH_LEGACY = 1, BENCH_FMT_COUNT } bench_fmt;

typedef struct bench_cold {
    uint8_t *mem;      /* n pages, ibc_pages_alloc stride */
    size_t stride, n;
    uint8_t *parity;   /* per batch of BENCH_HOT_PAGES pages: 0 = under key A, 1 = under B */
    size_t cursor;     /* next batch; shared, so a benchmark continues where the last stopped */
} bench_cold;

typedef struct bench_dataset {
    bench_fmt fmt;
    ibc_algo algo;
    uint32_t ps, space_id;
    /* per tier id: the tablespace under key A and under key B (NULL if the tier is unusable) */
    ibc_space *space[IBC_TIER_COUNT][2];
    uint8_t page_key[2][16]; /* L_A, L_B: the AES-128 page keys, for the peers */
    /* hot source: BENCH_HOT_PAGES pages under A (pages 1..16), and the same re-keyed to B by
     * the engine (what every re-key implementation must produce) */
    uint8_t *hot, *hot_rekeyed;
    size_t hot_stride;
    bench_cold cold; /* built by bench_dataset_cold() */
    char error[192]; /* set if the dataset could not be built */
} bench_dataset;

/* The dataset for (fmt, algo), built on first use (thread-safe). Never NULL; check ->error. */
bench_dataset *bench_dataset_get(bench_fmt fmt, ibc_algo algo);

/* The cold set of the dataset, built on first use: bench_cold_mib() MiB of pages. Returns NULL
 * (with ds->error) on failure. */
bench_cold *bench_dataset_cold(bench_dataset *ds);

/* Size of a cold set: $IBC_BENCH_COLD_MIB, default 128 MiB (four times the 32 MiB L3). */
size_t bench_cold_mib(void);

/* Release every dataset (at exit). */
void bench_datasets_free(void);

/* ---- format facts the peers need (formats/mariadb.md; cited where used) -------------------- */

/* [off, off + len): the encrypted range of an uncompressed page of this format. */
void bench_crypt_range(bench_fmt fmt, uint32_t ps, uint32_t *off, uint32_t *len);
/* The page IV: LE32(space id) | LE32(page number) | LE64(LSN) (sql/encryption.cc do_crypt). */
void bench_page_iv(uint32_t space_id, const uint8_t *page, uint8_t iv[16]);

static inline uint32_t bench_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void bench_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
