/*
 * pool_place.c - where the workers run and where their buffers live (hwloc), and the pool's
 * lifetime. Without hwloc (IBC_HAVE_HWLOC unset) workers are not pinned and buffers come from
 * the ordinary allocator.
 *
 * Placement spreads workers over NUMA nodes first, so that every memory controller feeds some
 * of them, then over the cores of each node, and only then over extra hardware threads (SMT
 * siblings share the AES units; they come last). Each worker's buffers are bound to its node.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pool_internal.h"

#ifdef IBC_HAVE_HWLOC
#include <hwloc.h>
#endif

int ibc_pool_topology_init(ibc_pool *p, const char *synthetic)
{
    p->topo = NULL;
    p->real_topology = 0;
#ifdef IBC_HAVE_HWLOC
    hwloc_topology_t t;
    if (hwloc_topology_init(&t))
        return synthetic ? -1 : 0;
    if (synthetic && hwloc_topology_set_synthetic(t, synthetic)) {
        hwloc_topology_destroy(t);
        return -1;
    }
    if (hwloc_topology_load(t)) {
        hwloc_topology_destroy(t);
        return synthetic ? -1 : 0;
    }
    p->topo = t;
    p->real_topology = synthetic == NULL;
#else
    if (synthetic)
        return -1; /* placement tests need hwloc */
#endif
    return 0;
}

void ibc_pool_topology_free(ibc_pool *p)
{
#ifdef IBC_HAVE_HWLOC
    if (p->topo)
        hwloc_topology_destroy((hwloc_topology_t)p->topo);
#endif
    p->topo = NULL;
}

unsigned ibc_pool_default_threads(const ibc_pool *p)
{
#ifdef IBC_HAVE_HWLOC
    if (p->topo) {
        int n = hwloc_get_nbobjs_by_type((hwloc_topology_t)p->topo, HWLOC_OBJ_CORE);
        if (n > 0)
            return (unsigned)n;
    }
#else
    (void)p;
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

void ibc_pool_compute_placement(ibc_pool *p)
{
    for (unsigned i = 0; i < p->n; i++)
        p->place[i] = (ibc_pool_place){-1, -1, -1};
#ifdef IBC_HAVE_HWLOC
    hwloc_topology_t t = p->topo;
    if (!t)
        return;
    int ncores = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
    int nnodes = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_NUMANODE);
    if (ncores <= 0)
        return;
    if (nnodes <= 0)
        nnodes = 1;
    /* cores grouped by node, in core order */
    int *node_of = calloc((size_t)ncores, sizeof(int));
    int *order = calloc((size_t)ncores, sizeof(int));
    int *fill = calloc((size_t)nnodes, sizeof(int));
    if (!node_of || !order || !fill) {
        free(node_of);
        free(order);
        free(fill);
        return;
    }
    for (int c = 0; c < ncores; c++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)c);
        int node = 0;
        if (core->nodeset) {
            int first = hwloc_bitmap_first(core->nodeset);
            for (int n = 0; n < nnodes; n++) {
                hwloc_obj_t no = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, (unsigned)n);
                if (no && (int)no->os_index == first)
                    node = n;
            }
        }
        node_of[c] = node;
    }
    /* round robin over nodes, taking each node's next unused core */
    int placed = 0;
    while (placed < ncores) {
        for (int n = 0; n < nnodes && placed < ncores; n++) {
            for (int c = 0, seen = 0; c < ncores; c++) {
                if (node_of[c] != n)
                    continue;
                if (seen++ == fill[n]) {
                    order[placed++] = c;
                    fill[n]++;
                    break;
                }
            }
        }
    }
    for (unsigned i = 0; i < p->n; i++) {
        unsigned round = i / (unsigned)ncores; /* 0: first PU of each core, 1: second, ... */
        int c = order[i % (unsigned)ncores];
        hwloc_obj_t core = hwloc_get_obj_by_type(t, HWLOC_OBJ_CORE, (unsigned)c);
        int pu = hwloc_bitmap_first(core->cpuset);
        for (unsigned k = 0; k < round; k++) {
            int next = hwloc_bitmap_next(core->cpuset, pu);
            pu = next >= 0 ? next : hwloc_bitmap_first(core->cpuset);
        }
        hwloc_obj_t node = hwloc_get_obj_by_type(t, HWLOC_OBJ_NUMANODE, (unsigned)node_of[c]);
        p->place[i] = (ibc_pool_place){c, pu, node ? (int)node->os_index : -1};
    }
    free(node_of);
    free(order);
    free(fill);
#endif
}

void ibc_pool_bind_thread(const ibc_pool *p, unsigned w)
{
#ifdef IBC_HAVE_HWLOC
    if (!p->pin || !p->real_topology || p->place[w].pu < 0)
        return;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set)
        return;
    hwloc_bitmap_only(set, (unsigned)p->place[w].pu);
    hwloc_set_cpubind((hwloc_topology_t)p->topo, set, HWLOC_CPUBIND_THREAD);
    hwloc_bitmap_free(set);
#else
    (void)p;
    (void)w;
#endif
}

uint8_t *ibc_pool_alloc(const ibc_pool *p, unsigned w, size_t bytes)
{
    size_t len = (bytes + 4095) / 4096 * 4096;
    uint8_t *m = aligned_alloc(4096, len);
#ifdef IBC_HAVE_HWLOC
    /* bind the pages to the worker's node before anything touches them */
    if (m && p->real_topology && p->place[w].node >= 0) {
        hwloc_bitmap_t ns = hwloc_bitmap_alloc();
        if (ns) {
            hwloc_bitmap_only(ns, (unsigned)p->place[w].node);
            hwloc_set_area_membind((hwloc_topology_t)p->topo, m, len, ns, HWLOC_MEMBIND_BIND,
                                   HWLOC_MEMBIND_BYNODESET);
            hwloc_bitmap_free(ns);
        }
    }
#else
    (void)p;
    (void)w;
#endif
    return m;
}

void ibc_pool_free_buf(const ibc_pool *p, uint8_t *mem, size_t bytes)
{
    (void)p;
    if (!mem)
        return;
    explicit_bzero(mem, bytes); /* the buffers held plaintext of encrypted pages */
    free(mem);
}

/* ---- lifetime ---------------------------------------------------------------------------- */

ibc_status ibc_pool_new(const ibc_pool_opts *opts, ibc_pool **out)
{
    static const ibc_pool_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    *out = NULL;
    ibc_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return IBC_ERR_NOMEM;
    if (ibc_pool_topology_init(p, opts->topology)) {
        free(p);
        return IBC_ERR_INVALID_ARG;
    }
    p->n = opts->threads ? opts->threads : ibc_pool_default_threads(p);
    p->depth = opts->depth ? opts->depth : 2;
    size_t budget = opts->memory_budget ? opts->memory_budget : (size_t)256 << 20;
    size_t item = opts->item_bytes ? opts->item_bytes : (size_t)1 << 20;
    /* the budget bounds workers x depth buffers of item size (plus stagger) */
    while (item > 65536 && (size_t)p->n * p->depth * (item + item / 64 + 65536) > budget)
        item /= 2;
    p->item_bytes = item < 65536 ? 65536 : item / 65536 * 65536;
    p->pin = opts->pin;
    p->place = calloc(p->n, sizeof(ibc_pool_place));
    if (!p->place) {
        ibc_pool_free(p);
        return IBC_ERR_NOMEM;
    }
    ibc_pool_compute_placement(p);
    p->uring = opts->io_uring && ibc_pool_uring_probe();
    *out = p;
    return IBC_OK;
}

void ibc_pool_free(ibc_pool *p)
{
    if (!p)
        return;
    ibc_pool_topology_free(p);
    free(p->place);
    free(p);
}

unsigned ibc_pool_threads(const ibc_pool *p)
{
    return p->n;
}

ibc_pool_place ibc_pool_placement(const ibc_pool *p, unsigned i)
{
    return i < p->n ? p->place[i] : (ibc_pool_place){-1, -1, -1};
}

const char *ibc_pool_backend(const ibc_pool *p)
{
    return p->uring ? "io_uring" : "pread";
}
