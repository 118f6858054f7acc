/*
 * test_journal.c - the undo journal under concurrent use: many threads save, overwrite and
 * release ranges through a few slots (the slots go round through the data-file flush while
 * other threads keep working); every range ends with its new bytes and the journal finishes.
 * And after a "crash" (closed with slots in use), a rollback puts every journaled range back
 * to its original bytes.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ibdcrypt/journal.h"
#include "testutil.h"

#define REGION (1u << 20) /* each thread's part of the data file */

typedef struct worker {
    ibc_journal *j;
    int fd;
    unsigned id, rounds;
    uint64_t rng;
    uint8_t *want; /* the region's expected bytes */
    int failed;
} worker;

static uint64_t next(uint64_t *s) /* splitmix64: tu_rand is not for threads */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void *work(void *arg)
{
    worker *w = arg;
    uint8_t *old = malloc(65536), *neu = malloc(65536);
    uint64_t base = (uint64_t)w->id * REGION;
    for (unsigned r = 0; r < w->rounds && !w->failed; r++) {
        size_t len = 4096 + (size_t)(next(&w->rng) % (65536 - 4096));
        size_t at = (size_t)(next(&w->rng) % (REGION - len));
        if (pread(w->fd, old, len, (off_t)(base + at)) != (ssize_t)len) {
            w->failed = 1;
            break;
        }
        for (size_t i = 0; i < len; i++)
            neu[i] = (uint8_t)next(&w->rng);
        struct iovec v = {old, len};
        unsigned slot;
        if (ibc_journal_save(w->j, 0, base + at, &v, 1, &slot) != IBC_OK ||
            pwrite(w->fd, neu, len, (off_t)(base + at)) != (ssize_t)len) {
            w->failed = 1;
            break;
        }
        memcpy(w->want + at, neu, len);
        ibc_journal_release(w->j, slot);
    }
    free(old);
    free(neu);
    return NULL;
}

static void test_concurrent_savers_share_few_slots(void)
{
    char dir[] = "ibc-journal.XXXXXX", jpath[64], dpath[64];
    TU_CHECK(mkdtemp(dir), "mkdtemp");
    snprintf(jpath, sizeof(jpath), "%s/journal", dir);
    snprintf(dpath, sizeof(dpath), "%s/data", dir);
    enum { NT = 6 };
    int fd = open(dpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    TU_CHECK(fd >= 0 && ftruncate(fd, (off_t)NT * REGION) == 0, "data file");
    for (unsigned nslots = 1; nslots <= 7; nslots += 3) {
        ibc_journal *j = NULL;
        TU_CHECK(ibc_journal_create(jpath, "plan", 4, nslots, 65536, &j) == IBC_OK, "create");
        ibc_journal_add_fd(j, 0, fd);
        worker w[NT];
        pthread_t t[NT];
        for (unsigned i = 0; i < NT; i++) {
            w[i] = (worker){j, fd, i, 150, tu_rand(), malloc(REGION), 0};
            TU_CHECK(pread(fd, w[i].want, REGION, (off_t)i * REGION) == REGION, "read");
            pthread_create(&t[i], NULL, work, &w[i]);
        }
        for (unsigned i = 0; i < NT; i++)
            pthread_join(t[i], NULL);
        uint8_t *got = malloc(REGION);
        for (unsigned i = 0; i < NT; i++) {
            TU_CHECK(!w[i].failed, "%u slots: thread %u failed", nslots, i);
            TU_CHECK(pread(fd, got, REGION, (off_t)i * REGION) == REGION, "read back");
            TU_CHECK_MEM(got, w[i].want, REGION, "%u slots: region %u", nslots, i);
            free(w[i].want);
        }
        free(got);
        TU_CHECK(fdatasync(fd) == 0, "fdatasync");
        TU_CHECK(ibc_journal_finish(j) == IBC_OK, "finish");
        TU_CHECK(access(jpath, F_OK) != 0, "the journal is gone after finish");
    }
    close(fd);
    unlink(dpath);
    rmdir(dir);
}

static void test_rollback_restores_journaled_ranges(void)
{
    char dir[] = "ibc-journal.XXXXXX", jpath[64], dpath[64];
    TU_CHECK(mkdtemp(dir), "mkdtemp");
    snprintf(jpath, sizeof(jpath), "%s/journal", dir);
    snprintf(dpath, sizeof(dpath), "%s/data", dir);
    uint8_t orig[65536], neu[16384];
    tu_rand_bytes(orig, sizeof(orig));
    int fd = open(dpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    TU_CHECK(fd >= 0 && pwrite(fd, orig, sizeof(orig), 0) == (ssize_t)sizeof(orig), "data");
    ibc_journal *j = NULL;
    TU_CHECK(ibc_journal_create(jpath, "plan", 4, 4, 16384, &j) == IBC_OK, "create");
    ibc_journal_add_fd(j, 0, fd);
    /* range A overwritten and released, range B overwritten and still held: a crash */
    unsigned sa, sb;
    struct iovec va = {orig + 4096, 16384}, vb = {orig + 40000, 9000};
    TU_CHECK(ibc_journal_save(j, 0, 4096, &va, 1, &sa) == IBC_OK, "save A");
    tu_rand_bytes(neu, sizeof(neu));
    TU_CHECK(pwrite(fd, neu, 16384, 4096) == 16384, "write A");
    ibc_journal_release(j, sa);
    TU_CHECK(ibc_journal_save(j, 0, 40000, &vb, 1, &sb) == IBC_OK, "save B");
    TU_CHECK(pwrite(fd, neu, 9000, 40000) == 9000, "write B");
    ibc_journal_close(j);
    void *blob = NULL;
    size_t blen = 0;
    TU_CHECK(ibc_journal_open(jpath, &j, &blob, &blen) == IBC_OK && blen == 4 &&
                 !memcmp(blob, "plan", 4),
             "open after the crash");
    free(blob);
    unsigned restored = 0;
    TU_CHECK(ibc_journal_rollback(j, &fd, 1, &restored) == IBC_OK, "rollback");
    TU_CHECK(restored == 2, "%u ranges restored, not 2", restored);
    uint8_t got[65536];
    TU_CHECK(pread(fd, got, sizeof(got), 0) == (ssize_t)sizeof(got), "read");
    TU_CHECK_MEM(got, orig, sizeof(got), "after the rollback");
    ibc_journal_close(j);
    close(fd);
    unlink(jpath);
    unlink(dpath);
    rmdir(dir);
}

TU_TESTS(TU_T(test_concurrent_savers_share_few_slots),
         TU_T(test_rollback_restores_journaled_ranges))
