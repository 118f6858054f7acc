/*
 * pool.h - the worker pool: large reads of file ranges into bounded, NUMA-local buffers, a
 * callback per range on pinned worker threads, and (optionally) emission in range order.
 * It knows nothing about pages or crypto; the front-ends give it the work. Conventions as in
 * ibdcrypt.h.
 *
 * The one idea: every file is cut into items of up to item_bytes (a whole number of the file's
 * units, e.g. pages), numbered in file order; workers claim items in that order, read each into
 * one of their own buffers (the worker is its own reader: a separate reader thread would take a
 * core from the AES work on small machines; with io_uring a worker keeps its reads in flight
 * ahead of its work), run the work callback, and, when the job wants an ordered output (a
 * stream), hand the buffer to the emitter, which calls emit in item order. Memory is
 * workers x depth x item_bytes, fixed by the budget, whatever the data size: a worker with no
 * free buffer waits (backpressure).
 */
#ifndef IBDCRYPT_POOL_H
#define IBDCRYPT_POOL_H

#include "ibdcrypt/ibdcrypt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ibc_pool ibc_pool;

typedef struct ibc_pool_opts {
    unsigned threads;        /* workers; 0 = one per core */
    size_t memory_budget;    /* bytes for all buffers; 0 = 256 MiB */
    size_t item_bytes;       /* largest item; 0 = 1 MiB (rounded to 64 KiB) */
    unsigned depth;          /* buffers per worker; 0 = 2 */
    int io_uring;            /* 1: use io_uring for reads if available */
    int pin;                 /* 1: pin workers to cores (default behaviour of the CLI) */
    const char *topology;    /* NULL: this machine; else an hwloc synthetic description, e.g.
                                "pack:2 numa:1 core:4 pu:2" (tests: placement only, no pinning) */
} ibc_pool_opts;

/* One input file. The pool neither opens nor closes fd. unit: items hold whole units, and units
 * of 4 KiB and more are laid out staggered in the buffers (see ibc_pages_alloc). skip_holes:
 * set it only for a file nothing else changes while the job runs (its caller holds it
 * exclusively); the holes an item starts or ends with (lseek SEEK_DATA, SEEK_HOLE: at most
 * three calls an item, none within the data extent found last) are then zeroed in the buffer
 * instead of read, and get no read-ahead hint. Those lseeks move fd's file offset: use
 * positional I/O (pread, pwrite) on it while the job runs. */
typedef struct ibc_pool_file {
    int fd;
    uint64_t size;
    uint32_t unit;
    int skip_holes;
} ibc_pool_file;

typedef struct ibc_pool_item {
    size_t file;      /* index into the job's files */
    uint64_t offset;  /* byte offset in the file */
    size_t len;       /* bytes (the last item of a file may end with a partial unit) */
    size_t nunits;    /* whole units in the item */
    size_t stride;    /* distance between units in the buffer (len == nunits*unit when whole) */
    uint64_t seq;     /* global item number, in file order */
} ibc_pool_item;

/* Work on one item whose data is in buf (unit i at buf + i * stride; a trailing partial unit
 * after the last whole one). Runs on worker `worker` (0..threads-1); may modify buf. Return 0,
 * or a non-zero code that stops the job (ibc_pool_run returns it). */
typedef int (*ibc_pool_work_fn)(void *ctx, unsigned worker, const ibc_pool_item *it,
                                uint8_t *buf);
/* Emit one item, in seq order, one call at a time (any thread). Return 0 or a stop code. */
typedef int (*ibc_pool_emit_fn)(void *ctx, const ibc_pool_item *it, uint8_t *buf);

typedef struct ibc_pool_job {
    const ibc_pool_file *files;
    size_t nfiles;
    ibc_pool_work_fn work; /* may be NULL (emit only: a plain copy) */
    ibc_pool_emit_fn emit; /* may be NULL (no ordered output) */
    void *ctx;
} ibc_pool_job;

/* Where a worker runs (from the topology; -1 when unknown). */
typedef struct ibc_pool_place {
    int core; /* logical index of the core */
    int pu;   /* OS index of the processing unit it is bound to */
    int node; /* OS index of its NUMA node (buffers are allocated there) */
} ibc_pool_place;

IBC_API ibc_status ibc_pool_new(const ibc_pool_opts *opts, ibc_pool **out);
IBC_API void ibc_pool_free(ibc_pool *p);
IBC_API unsigned ibc_pool_threads(const ibc_pool *p);
/* The placement of worker i (0 <= i < threads). */
IBC_API ibc_pool_place ibc_pool_placement(const ibc_pool *p, unsigned i);
/* "pread" or "io_uring". */
IBC_API const char *ibc_pool_backend(const ibc_pool *p);

/* Run a job to completion. Returns 0, the first non-zero code of a callback, or -errno of a
 * failed read (the job stops at the first failure; items not yet emitted are not emitted). */
IBC_API int ibc_pool_run(ibc_pool *p, const ibc_pool_job *job);

#ifdef __cplusplus
}
#endif
#endif
