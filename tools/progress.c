/*
 * progress.c - see progress.h.
 */
#define _DEFAULT_SOURCE
#include "progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t progress_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void progress_start(progress *p, const cli_global *g, const char *label, uint64_t total_bytes)
{
    memset(p, 0, sizeof(*p));
    p->label = label;
    p->total = total_bytes;
    p->start_ns = progress_now_ns();
    atomic_store(&p->next_ns, p->start_ns + 1000000000);
    if (g->quiet || !strcmp(g->progress, "none"))
        p->mode = 0;
    else if (!strcmp(g->progress, "json"))
        p->mode = 2;
    else
        p->mode = isatty(STDERR_FILENO) ? 1 : 0;
}

static void print_line(progress *p, uint64_t done, int64_t now, int final)
{
    double secs = (double)(now - p->start_ns) / 1e9;
    double rate = secs > 0 ? (double)done / secs / 1e6 : 0;
    double pct = p->total ? 100.0 * (double)done / (double)p->total : 100.0;
    if (p->mode == 2) {
        fprintf(stderr,
                "{\"progress\":\"%s\",\"bytes\":%llu,\"total\":%llu,\"percent\":%.1f,"
                "\"seconds\":%.2f,\"mb_per_s\":%.1f%s}\n",
                p->label, (unsigned long long)done, (unsigned long long)p->total, pct, secs, rate,
                final ? ",\"done\":true" : "");
    } else if (!p->total) { /* a stream: no end known */
        fprintf(stderr, "\r%s: %llu MB  %.0f MB/s   %s", p->label,
                (unsigned long long)(done >> 20), rate, final ? "\n" : "");
    } else {
        double eta = rate > 0 && p->total > done ? (double)(p->total - done) / 1e6 / rate : 0;
        fprintf(stderr, "\r%s: %5.1f%%  %llu / %llu MB  %.0f MB/s  ETA %.0fs   %s", p->label, pct,
                (unsigned long long)(done >> 20), (unsigned long long)(p->total >> 20), rate, eta,
                final ? "\n" : "");
    }
    fflush(stderr);
    p->printed = 1;
}

void progress_add(progress *p, uint64_t bytes)
{
    uint64_t done = atomic_fetch_add(&p->done, bytes) + bytes;
    if (!p->mode)
        return;
    int64_t now = progress_now_ns(), due = atomic_load(&p->next_ns);
    if (now < due || !atomic_compare_exchange_strong(&p->next_ns, &due, now + 1000000000))
        return;
    print_line(p, done, now, 0);
}

void progress_end(progress *p)
{
    if (p->mode && (p->printed || p->mode == 2))
        print_line(p, atomic_load(&p->done), progress_now_ns(), 1);
}
