/*
 * progress.h - progress of long work on stderr: a line per second when stderr is a terminal
 * (--progress=auto), JSON lines (--progress=json), or nothing (--progress=none, -q).
 * progress_add is thread-safe.
 */
#ifndef IBC_PROGRESS_H
#define IBC_PROGRESS_H

#include <stdatomic.h>
#include <stdint.h>

#include "cli.h"

typedef struct progress {
    int mode; /* 0 none, 1 text, 2 json */
    const char *label;
    uint64_t total;
    _Atomic uint64_t done;
    _Atomic int64_t next_ns; /* when the next line is due */
    int64_t start_ns;
    int printed;
} progress;

int64_t progress_now_ns(void);
void progress_start(progress *p, const cli_global *g, const char *label, uint64_t total_bytes);
void progress_add(progress *p, uint64_t bytes);
void progress_end(progress *p);

#endif
