/*
 * pool_internal.h - what the pool's units share: the pool object, placement and NUMA memory
 * (pool_place.c), the io_uring worker (pool_uring.c), and the run-state accessors pool.c
 * gives it.
 */
#ifndef IBC_POOL_INTERNAL_H
#define IBC_POOL_INTERNAL_H

#include "ibdcrypt/pool.h"

struct ibc_pool {
    unsigned n;         /* workers */
    unsigned depth;     /* buffers per worker */
    size_t item_bytes;
    int uring;          /* reads through io_uring */
    int pin;            /* bind workers to their placement */
    ibc_pool_place *place;
    void *topo;         /* hwloc_topology_t, or NULL */
    int real_topology;  /* topo describes this machine (binding allowed) */
};

typedef struct ibc_pool_worker_arg {
    void *run;
    unsigned w;
} ibc_pool_worker_arg;

/* pool_place.c */
int ibc_pool_topology_init(ibc_pool *p, const char *synthetic);
void ibc_pool_topology_free(ibc_pool *p);
/* Place n workers: spread over NUMA nodes first (round robin), then over the cores of each
 * node, then over the remaining hardware threads; -1 fields when nothing is known. */
void ibc_pool_compute_placement(ibc_pool *p);
void ibc_pool_bind_thread(const ibc_pool *p, unsigned w);
uint8_t *ibc_pool_alloc(const ibc_pool *p, unsigned w, size_t bytes);
void ibc_pool_free_buf(const ibc_pool *p, uint8_t *mem, size_t bytes);
unsigned ibc_pool_default_threads(const ibc_pool *p);

/* pool_uring.c: the io_uring worker function, or NULL when not built or not enabled. */
void *(*ibc_pool_uring_worker(const ibc_pool *p))(void *);
int ibc_pool_uring_probe(void);

/* pool.c: run-state accessors for pool_uring.c */
int ibc_pool_run_claim(void *run, ibc_pool_item *it);
void *ibc_pool_run_get_slot(void *run, unsigned w, int wait, uint8_t **mem, ibc_pool_item **it);
void ibc_pool_run_release(void *run, void *slot);
void ibc_pool_run_fail(void *run, int code);
void ibc_pool_run_item_done(void *run, unsigned w, void *slot);
int ibc_pool_run_read(void *run, const ibc_pool_item *it, uint8_t *buf);
const ibc_pool_file *ibc_pool_run_file(void *run, size_t i);
ibc_pool *ibc_pool_run_pool(void *run);
int ibc_pool_run_stopped(void *run);

#endif
