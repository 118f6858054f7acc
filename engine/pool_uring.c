/*
 * pool_uring.c - the io_uring read backend of the pool (optional: IBC_HAVE_URING). Each worker
 * keeps up to `depth` reads of its next items in flight in its own ring and works on them in
 * the order it claimed them, so the next reads proceed while it computes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "pool_internal.h"

#ifdef IBC_HAVE_URING
#include <liburing.h>

int ibc_pool_uring_probe(void)
{
    struct io_uring ring;
    if (io_uring_queue_init(4, &ring, 0))
        return 0;
    io_uring_queue_exit(&ring);
    return 1;
}

typedef struct inflight {
    void *slot;
    uint8_t *mem;
    ibc_pool_item *it;
    struct iovec iov[1025];
    int done, res;
    size_t want;
} inflight;

static size_t build_iov(void *run, const ibc_pool_item *it, uint8_t *mem, struct iovec *iov,
                        size_t *want)
{
    const ibc_pool_file *f = ibc_pool_run_file(run, it->file);
    size_t n = 0, tail = it->len - it->nunits * f->unit;
    if (it->stride == f->unit) {
        iov[0] = (struct iovec){mem, it->len};
        *want = it->len;
        return 1;
    }
    for (size_t u = 0; u < it->nunits && n < 1024; u++)
        iov[n++] = (struct iovec){mem + u * it->stride, f->unit};
    if (tail)
        iov[n++] = (struct iovec){mem + it->nunits * it->stride, tail};
    *want = it->len;
    return n;
}

static void *worker_uring(void *arg)
{
    ibc_pool_worker_arg *a = arg;
    void *run = a->run;
    ibc_pool *p = ibc_pool_run_pool(run);
    ibc_pool_bind_thread(p, a->w);
    unsigned depth = p->depth;
    struct io_uring ring;
    inflight *q = calloc(depth, sizeof(*q));
    if (!q || io_uring_queue_init(depth * 2, &ring, 0)) {
        free(q);
        ibc_pool_run_fail(run, -ENOMEM);
        return NULL;
    }
    unsigned head = 0, count = 0;
    int more = 1;
    for (;;) {
        /* fill the ring: block for a buffer only when nothing is in flight */
        while (more && count < depth && !ibc_pool_run_stopped(run)) {
            inflight *e = &q[(head + count) % depth];
            e->slot = ibc_pool_run_get_slot(run, a->w, count == 0, &e->mem, &e->it);
            if (!e->slot)
                break;
            if (!ibc_pool_run_claim(run, e->it)) {
                ibc_pool_run_release(run, e->slot);
                more = 0;
                break;
            }
            size_t niov = build_iov(run, e->it, e->mem, e->iov, &e->want);
            const ibc_pool_file *f = ibc_pool_run_file(run, e->it->file);
            if (f->skip_holes) {
                /* reads around the holes: synchronous (a failure is read again below) */
                int rc = ibc_pool_run_read(run, e->it, e->mem);
                e->res = rc ? rc : (int)e->want;
                e->done = 1;
                count++;
                continue;
            }
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            io_uring_prep_readv(sqe, f->fd, e->iov, (unsigned)niov, (off_t)e->it->offset);
            io_uring_sqe_set_data(sqe, e);
            e->done = 0;
            count++;
            io_uring_submit(&ring);
        }
        if (count == 0)
            break;
        inflight *h = &q[head];
        while (!h->done) {
            struct io_uring_cqe *cqe;
            int rc = io_uring_wait_cqe(&ring, &cqe);
            if (rc < 0) {
                if (rc == -EINTR)
                    continue;
                ibc_pool_run_fail(run, rc);
                goto out;
            }
            inflight *e = io_uring_cqe_get_data(cqe);
            e->res = cqe->res;
            e->done = 1;
            io_uring_cqe_seen(&ring, cqe);
        }
        /* a short read (or an error the synchronous path may explain better): read again */
        if (h->res != (int)h->want) {
            int rc = ibc_pool_run_read(run, h->it, h->mem);
            if (rc) {
                ibc_pool_run_fail(run, rc);
                ibc_pool_run_release(run, h->slot);
                head = (head + 1) % depth;
                count--;
                goto out;
            }
        }
        ibc_pool_run_item_done(run, a->w, h->slot);
        head = (head + 1) % depth;
        count--;
    }
out:
    /* drain what is still in flight before the buffers go away */
    while (count) {
        inflight *h = &q[head];
        while (!h->done) {
            struct io_uring_cqe *cqe;
            if (io_uring_wait_cqe(&ring, &cqe) < 0)
                break;
            inflight *e = io_uring_cqe_get_data(cqe);
            e->done = 1;
            io_uring_cqe_seen(&ring, cqe);
        }
        ibc_pool_run_release(run, h->slot);
        head = (head + 1) % depth;
        count--;
    }
    io_uring_queue_exit(&ring);
    free(q);
    return NULL;
}

void *(*ibc_pool_uring_worker(const ibc_pool *p))(void *)
{
    return p->uring ? worker_uring : NULL;
}

#else

int ibc_pool_uring_probe(void)
{
    return 0;
}

void *(*ibc_pool_uring_worker(const ibc_pool *p))(void *)
{
    (void)p;
    return NULL;
}

#endif
