/*
 * test_pool.c - the worker pool: placement on synthetic multi-node topologies (hwloc), and the
 * pipeline itself: every byte of every file reaches the work callback exactly once, in whole
 * units laid out at the stated stride, emit sees items strictly in order, a tiny memory budget
 * only slows it down, a failing callback stops the job with its code, on both read backends;
 * in sparse files whose holes it skips, the same bytes (zeros), without reading the holes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ibdcrypt/pool.h"
#include "ref.h"
#include "testutil.h"

static void check_spread(const char *topo, unsigned threads, unsigned nodes, unsigned cores)
{
    ibc_pool_opts o = {.threads = threads, .topology = topo};
    ibc_pool *p = NULL;
    if (ibc_pool_new(&o, &p) != IBC_OK) {
        printf("  (hwloc not built in: placement test skipped)\n");
        return;
    }
    unsigned per_node[16] = {0}, core_use[64] = {0};
    for (unsigned i = 0; i < threads; i++) {
        ibc_pool_place pl = ibc_pool_placement(p, i);
        TU_CHECK(pl.core >= 0 && pl.core < (int)cores && pl.node >= 0 && pl.node < (int)nodes,
                 "%s: worker %u at core %d node %d", topo, i, pl.core, pl.node);
        per_node[pl.node]++;
        core_use[pl.core]++;
        /* no core gets a second worker before every core has one */
        for (unsigned c = 0; c < cores && i < cores; c++)
            TU_CHECK(core_use[c] <= 1, "%s: core %u used twice with %u threads", topo, c,
                     threads);
    }
    /* workers are spread over nodes: counts differ by at most one */
    unsigned lo = ~0u, hi = 0;
    for (unsigned n = 0; n < nodes; n++) {
        lo = per_node[n] < lo ? per_node[n] : lo;
        hi = per_node[n] > hi ? per_node[n] : hi;
    }
    TU_CHECK(hi - lo <= 1, "%s with %u threads: nodes get %u..%u workers", topo, threads, lo, hi);
    ibc_pool_free(p);
}

static void test_placement_spreads_over_numa_nodes_then_cores(void)
{
    check_spread("pack:2 numa:1 core:4 pu:2", 2, 2, 8);
    check_spread("pack:2 numa:1 core:4 pu:2", 5, 2, 8);
    check_spread("pack:2 numa:1 core:4 pu:2", 8, 2, 8);
    check_spread("pack:2 numa:1 core:4 pu:2", 16, 2, 8);
    check_spread("numa:4 core:2 pu:1", 4, 4, 8);
    check_spread("numa:4 core:2 pu:1", 6, 4, 8);
    check_spread("pack:1 numa:1 core:2 pu:1", 2, 1, 2);
    /* beyond the cores: the second hardware thread of each core */
    ibc_pool_opts o = {.threads = 16, .topology = "pack:2 numa:1 core:4 pu:2"};
    ibc_pool *p = NULL;
    if (ibc_pool_new(&o, &p) == IBC_OK) {
        int seen[16] = {0};
        for (unsigned i = 0; i < 16; i++) {
            ibc_pool_place pl = ibc_pool_placement(p, i);
            TU_CHECK(pl.pu >= 0 && pl.pu < 16 && !seen[pl.pu]++, "pu %d placed twice", pl.pu);
        }
        ibc_pool_free(p);
    }
    TU_CHECK(ibc_pool_new(&(ibc_pool_opts){.topology = "nonsense:7"}, &p) ==
                 IBC_ERR_INVALID_ARG,
             "a bad synthetic topology is refused");
}

typedef struct job_ctx {
    const ibc_pool_file *files;
    size_t nfiles;
    uint32_t *crc;         /* per file, built by emit in order */
    uint64_t *bytes;       /* per file, from work */
    uint64_t next_seq;
    int order_ok, layout_ok;
    uint64_t fail_at;      /* item seq whose work fails, or ~0 */
    pthread_mutex_t m;
    uint32_t unit_crc_seed;
} job_ctx;

static int work(void *c, unsigned w, const ibc_pool_item *it, uint8_t *buf)
{
    job_ctx *x = c;
    (void)w;
    if (it->seq == x->fail_at)
        return 42;
    const ibc_pool_file *f = &x->files[it->file];
    if (it->nunits * f->unit > it->len || it->len - it->nunits * f->unit >= f->unit ||
        it->offset % f->unit || (f->unit >= 4096 && it->stride == f->unit))
        x->layout_ok = 0;
    pthread_mutex_lock(&x->m);
    x->bytes[it->file] += it->len;
    pthread_mutex_unlock(&x->m);
    /* compact the staggered units in place so emit can CRC a contiguous range */
    for (size_t u = 1; u < it->nunits; u++)
        memmove(buf + u * f->unit, buf + u * it->stride, f->unit);
    size_t tail = it->len - it->nunits * f->unit;
    if (tail)
        memmove(buf + it->nunits * f->unit, buf + it->nunits * it->stride, tail);
    return 0;
}

static int emit(void *c, const ibc_pool_item *it, uint8_t *buf)
{
    job_ctx *x = c;
    if (it->seq != x->next_seq)
        x->order_ok = 0;
    x->next_seq = it->seq + 1;
    x->crc[it->file] = ref_crc32c(x->crc[it->file], buf, it->len);
    return 0;
}

/* File i of a test's scratch directory, open for reading and writing, already unlinked. */
static int scratch_file(const char *dir, int i)
{
    char path[96];
    snprintf(path, sizeof(path), "%s/f%d", dir, i);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        tu_fail(__FILE__, __LINE__, "create %s", path);
    unlink(path);
    return fd;
}

/* Run the job over files with the pool set up each way the tests try (both read backends,
 * 1 to max_threads workers, the default budget and a tiny one of one small buffer a worker):
 * it must return 0, emit in order with the stated layout, and hand every file's bytes
 * (sizes[i], CRC-32C want[i]) to the work exactly once. Then after(p, job, x, arg), if any. */
static void each_setup(const ibc_pool_file *files, size_t nf, unsigned max_threads,
                       const uint64_t *sizes, const uint32_t *want,
                       void (*after)(ibc_pool *, ibc_pool_job *, job_ctx *, void *), void *arg)
{
    for (int uring = 0; uring < 2; uring++) {
        for (unsigned threads = 1; threads <= max_threads; threads++) {
            for (int tiny = 0; tiny < 2; tiny++) {
                ibc_pool_opts o = {.threads = threads, .io_uring = uring,
                                   .item_bytes = tiny ? 65536 : 0,
                                   .memory_budget = tiny ? 300000 : 0, .depth = tiny ? 1 : 0};
                ibc_pool *p = NULL;
                TU_CHECK(ibc_pool_new(&o, &p) == IBC_OK, "pool");
                uint32_t crc[16] = {0};
                uint64_t bytes[16] = {0};
                job_ctx x = {.files = files, .nfiles = nf, .crc = crc, .bytes = bytes,
                             .order_ok = 1, .layout_ok = 1, .fail_at = ~0ull};
                pthread_mutex_init(&x.m, NULL);
                ibc_pool_job job = {files, nf, work, emit, &x};
                int rc = ibc_pool_run(p, &job);
                TU_CHECK(rc == 0, "run returned %d", rc);
                TU_CHECK(x.order_ok && x.layout_ok, "%s, %u threads: order %d layout %d",
                         ibc_pool_backend(p), threads, x.order_ok, x.layout_ok);
                for (size_t i = 0; i < nf; i++) {
                    TU_CHECK(bytes[i] == sizes[i], "file %zu: %llu of %llu bytes", i,
                             (unsigned long long)bytes[i], (unsigned long long)sizes[i]);
                    TU_CHECK(crc[i] == want[i], "%s, %u threads, %s items, file %zu: content "
                             "differs", ibc_pool_backend(p), threads, tiny ? "small" : "1 MiB",
                             i);
                }
                if (after)
                    after(p, &job, &x, arg);
                pthread_mutex_destroy(&x.m);
                ibc_pool_free(p);
            }
        }
    }
}

/* A failing item stops the job with its code; nothing after it is emitted. */
static void fails_at_9(ibc_pool *p, ibc_pool_job *job, job_ctx *x, void *arg)
{
    (void)arg;
    memset(x->crc, 0, x->nfiles * sizeof(*x->crc));
    memset(x->bytes, 0, x->nfiles * sizeof(*x->bytes));
    x->next_seq = 0;
    x->fail_at = 9;
    int rc = ibc_pool_run(p, job);
    TU_CHECK(rc == 42, "failing job returned %d", rc);
    TU_CHECK(x->next_seq <= 9, "items after the failed one were emitted (%llu)",
             (unsigned long long)x->next_seq);
}

static void test_pipeline_covers_every_byte_in_order(void)
{
    char dir[] = "/tmp/ibc-pool.XXXXXX";
    TU_CHECK(mkdtemp(dir), "mkdtemp");
    enum { NF = 7 };
    static const uint64_t sizes[NF] = {0, 1, 16384 * 3, 16384 * 100 + 5000, 4096 * 999,
                                       3 * 1048576 + 17, 65536 * 40};
    static const uint32_t units[NF] = {16384, 1, 16384, 16384, 4096, 1, 65536};
    ibc_pool_file files[NF];
    uint32_t want[NF];
    for (int i = 0; i < NF; i++) {
        int fd = scratch_file(dir, i);
        uint8_t *b = malloc(sizes[i] + 1);
        tu_rand_bytes(b, sizes[i]);
        TU_CHECK(write(fd, b, sizes[i]) == (ssize_t)sizes[i], "write");
        want[i] = ref_crc32c(0, b, sizes[i]);
        free(b);
        files[i] = (ibc_pool_file){fd, sizes[i], units[i], 0};
    }
    rmdir(dir);
    each_setup(files, NF, 4, sizes, want, fails_at_9, NULL);
    for (int i = 0; i < NF; i++)
        close(files[i].fd);
}

/* Pages of fd in [off, off + len) the page cache holds (mincore). */
static size_t cached_pages(int fd, uint64_t off, uint64_t len)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), n = (size_t)(len / ps), held = 0;
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)off);
    unsigned char *v = malloc(n + 1);
    if (m == MAP_FAILED || !v || mincore(m, len, v)) {
        free(v);
        if (m != MAP_FAILED)
            munmap(m, len);
        return (size_t)-1;
    }
    for (size_t i = 0; i < n; i++)
        held += v[i] & 1;
    munmap(m, len);
    free(v);
    return held;
}

/* The leading 3 MiB hole of file 3 and the trailing one of file 0 (from 2 MiB) stayed out of
 * the page cache: the pool did not read them. */
static void holes_not_read(ibc_pool *p, ibc_pool_job *job, job_ctx *x, void *arg)
{
    const ibc_pool_file *files = arg;
    (void)job;
    (void)x;
    TU_CHECK(cached_pages(files[3].fd, 0, 3u << 20) == 0 &&
                 cached_pages(files[0].fd, 2u << 20, 2u << 20) == 0,
             "%s: the leading hole of file 3 or the trailing one of file 0 was read",
             ibc_pool_backend(p));
}

static void test_skip_holes_gives_zeros_and_reads_no_hole(void)
{
    /* in the working directory: /tmp may be a tmpfs, whose holes read without caching */
    char dir[] = "ibc-pool-holes.XXXXXX";
    TU_CHECK(mkdtemp(dir), "mkdtemp");
    enum { NF = 6 };
    const uint64_t M = 1048576;
    /* data pieces [at, at + len) per file; the rest are holes */
    static const struct {
        uint64_t size;
        uint32_t unit;
        uint64_t piece[3][2];
    } spec[NF] = {
        {4 * 1048576 + 5000, 16384, {{0, 65536}, {1572864, 102400}, {0, 0}}},
        {2 * 1048576, 16384, {{0, 0}, {0, 0}, {0, 0}}},             /* all hole */
        {3 * 1048576 + 1000, 1024, {{8192, 3000}, {2097152, 1048576 + 1000}, {0, 0}}},
        {5 * 1048576, 65536, {{3 * 1048576, 2 * 1048576}, {0, 0}, {0, 0}}},
        {2 * 1048576, 4096, {{0, 4096}, {1048576 - 4096, 8192}, {2 * 1048576 - 4096, 4096}}},
        {2 * 1048576 + 3000, 16384, {{0, 0}, {0, 0}, {0, 0}}}, /* striped: below */
    };
    ibc_pool_file files[NF];
    uint32_t want[NF];
    for (int i = 0; i < NF; i++) {
        int fd = scratch_file(dir, i);
        TU_CHECK(ftruncate(fd, (off_t)spec[i].size) == 0, "ftruncate");
        /* file 5: 8 KiB of data every 16 KiB, from 4 KiB on (256 extents) */
        for (uint64_t at = 4096; i == 5 && at < spec[i].size; at += 16384) {
            uint8_t b[8192];
            tu_rand_bytes(b, sizeof(b));
            size_t len = spec[i].size - at < sizeof(b) ? (size_t)(spec[i].size - at) : sizeof(b);
            TU_CHECK(pwrite(fd, b, len, (off_t)at) == (ssize_t)len, "write");
        }
        for (int k = 0; k < 3; k++) {
            size_t len = (size_t)spec[i].piece[k][1];
            if (!len)
                continue;
            uint8_t *b = malloc(len);
            tu_rand_bytes(b, len);
            TU_CHECK(pwrite(fd, b, len, (off_t)spec[i].piece[k][0]) == (ssize_t)len, "write");
            free(b);
        }
        uint8_t *all = malloc(spec[i].size);
        TU_CHECK(pread(fd, all, spec[i].size, 0) == (ssize_t)spec[i].size, "read back");
        want[i] = ref_crc32c(0, all, spec[i].size);
        free(all);
        files[i] = (ibc_pool_file){fd, spec[i].size, spec[i].unit, 1};
    }
    rmdir(dir);
    /* the filesystem keeps the holes, and they are not in the page cache: file 3 starts with
     * 3 MiB of hole, file 0 ends with 2 MiB and more after its data */
    int holes = lseek(files[3].fd, 0, SEEK_DATA) == (off_t)(3 * M) &&
                lseek(files[0].fd, 2 * M, SEEK_DATA) < 0;
    if (holes) {
        posix_fadvise(files[3].fd, 0, 0, POSIX_FADV_DONTNEED);
        posix_fadvise(files[0].fd, 0, 0, POSIX_FADV_DONTNEED);
        holes = cached_pages(files[3].fd, 0, 3 * M) == 0 &&
                cached_pages(files[0].fd, 2 * M, 2 * M) == 0;
    }
    if (!holes)
        printf("  (no holes kept here, or they are cached: the no-read check is skipped)\n");
    uint64_t sizes[NF];
    for (int i = 0; i < NF; i++)
        sizes[i] = spec[i].size;
    each_setup(files, NF, 3, sizes, want, holes ? holes_not_read : NULL, files);
    for (int i = 0; i < NF; i++)
        close(files[i].fd);
}

TU_TESTS(TU_T(test_placement_spreads_over_numa_nodes_then_cores),
         TU_T(test_pipeline_covers_every_byte_in_order),
         TU_T(test_skip_holes_gives_zeros_and_reads_no_hole))
