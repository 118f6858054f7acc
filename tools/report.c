/*
 * report.c - see report.h.
 */
#define _DEFAULT_SOURCE
#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "progress.h"

static const char *const key_state_names[] = {"n/a", "none", "missing", "unproven", "ok",
                                              "mismatch"};

const char *rep_format_name(const ibc_space_info *i)
{
    if (i->format == IBC_FORMAT_FULL_CRC32)
        return "full_crc32";
    return i->row_compressed ? "legacy-compressed" : "legacy";
}

const char *rep_algo_name(ibc_algo a)
{
    return a == IBC_ALGO_CBC ? "AES_CBC" : a == IBC_ALGO_CTR ? "AES_CTR" : "unknown";
}

const char *rep_compression_name(int algo)
{
    /* fsp0pagecompress.h: PAGE_ZLIB_ALGORITHM 1 ... PAGE_SNAPPY_ALGORITHM 6 */
    static const char *const names[] = {"none", "zlib", "lz4", "lzo", "lzma", "bzip2", "snappy"};
    return algo >= 0 && algo <= 6 ? names[algo] : "unknown";
}

const char *rep_format_label(const ibc_space_info *i, char *buf, size_t n)
{
    if (!i->page_compressed)
        return rep_format_name(i);
    /* a server restoring the tablespace needs that algorithm's provider plugin */
    snprintf(buf, n, "%s+%s", rep_format_name(i),
             i->compression_algorithm ? rep_compression_name(i->compression_algorithm) : "pc");
    return buf;
}

void report_init(report *r, const cli_global *g, const char *mode, const char *isa,
                 unsigned threads)
{
    memset(r, 0, sizeof(*r));
    r->g = g;
    r->mode = mode;
    r->isa = isa;
    r->threads = threads;
    r->start_ns = progress_now_ns();
    r->out = stdout;
}

void report_set_keyring(report *r, const ibc_keyring *kr)
{
    r->kr = kr;
}

rep_file *report_file(report *r, const df_file *f)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        rep_file **v = realloc(r->files, cap * sizeof(*v));
        if (!v)
            abort(); /* the CLI, not the library: out of memory for a report line */
        r->files = v;
        r->cap = cap;
    }
    rep_file *rf = calloc(1, sizeof(*rf));
    if (!rf)
        abort();
    rf->f = f;
    pthread_mutex_init(&rf->lock, NULL);
    r->files[r->n++] = rf;
    r->bytes += f->size;
    return rf;
}


void rep_space(rep_file *rf, const ibc_space *s)
{
    ibc_space_get_info(s, &rf->info);
    rf->have_space = 1;
}

void rep_redo(rep_file *rf, const ibc_redo *r, const ibc_redo_result *res)
{
    ibc_redo_get_info(r, &rf->redo);
    rf->have_redo = 1;
    if (res) {
        rf->redo_res = *res;
        rf->redo_checked = 1;
    }
}

void rep_redo_describe(const rep_file *rf, char *out, size_t n)
{
    const ibc_redo_info *ri = &rf->redo;
    int k = snprintf(out, n, "redo log %s (%s)", ibc_redo_format_name(ri->format), ri->creator);
    if (k > 0 && (size_t)k < n && ri->encrypted)
        k += snprintf(out + k, n - (size_t)k, ", key %u version %u%s%s", ri->key_id,
                      ri->key_version, ri->algorithm ? ", " : "",
                      ri->algorithm ? rep_algo_name(ri->algorithm) : "");
    if (k > 0 && (size_t)k < n)
        k += snprintf(out + k, n - (size_t)k, ", checkpoint LSN %llu",
                      (unsigned long long)ri->checkpoint_lsn);
    if (k > 0 && (size_t)k < n && ri->scanned)
        snprintf(out + k, n - (size_t)k, ", end LSN %llu: %llu bytes of redo pending in %llu "
                                         "mini-transaction%s%s",
                 (unsigned long long)ri->end_lsn, (unsigned long long)ri->pending_bytes,
                 (unsigned long long)ri->mtrs, ri->mtrs == 1 ? "" : "s",
                 ri->torn_tail ? " (then a torn write)" : "");
}

static int is_bad(uint16_t st)
{
    return st == IBC_PAGE_BAD_OUTER || st == IBC_PAGE_BAD_INNER || st == IBC_PAGE_BAD_HEADER ||
           st == IBC_PAGE_KEY_MISMATCH;
}

void rep_page(rep_file *rf, const ibc_page *pg)
{
    pthread_mutex_lock(&rf->lock);
    rf->status[pg->status]++;
    if (pg->flags & IBC_PF_ENCRYPTED)
        rf->encrypted++;
    if (is_bad(pg->status)) {
        rf->nbad_total++;
        if (rf->nbad < REP_MAX_LISTED) {
            if (rf->nbad == rf->capbad) {
                size_t cap = rf->capbad ? 2 * rf->capbad : 16;
                rep_bad *v = realloc(rf->bad, cap * sizeof(*v));
                if (v) {
                    rf->bad = v;
                    rf->capbad = cap;
                }
            }
            if (rf->nbad < rf->capbad)
                rf->bad[rf->nbad++] = (rep_bad){pg->page_no, pg->status};
        }
    }
    pthread_mutex_unlock(&rf->lock);
}

__attribute__((format(printf, 2, 0))) static void append_note(rep_file *rf, const char *fmt,
                                                           va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t old = rf->notes ? strlen(rf->notes) : 0;
    char *n = realloc(rf->notes, old + strlen(buf) + 2);
    if (!n)
        return;
    if (old)
        n[old++] = '\n';
    strcpy(n + old, buf);
    rf->notes = n;
}

void rep_note(rep_file *rf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append_note(rf, fmt, ap);
    va_end(ap);
}

void rep_error(rep_file *rf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rf->error, sizeof(rf->error), fmt, ap);
    va_end(ap);
}

void rep_io_error(rep_file *rf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rf->error, sizeof(rf->error), fmt, ap);
    va_end(ap);
    rf->env_error = 1;
}

static uint64_t total_pages(const rep_file *rf)
{
    uint64_t t = 0;
    for (int i = 0; i < IBC_PAGE_STATUS_COUNT; i++)
        t += rf->status[i];
    return t;
}

static uint64_t unverified(const rep_file *rf)
{
    return rf->status[IBC_PAGE_KEY_UNAVAILABLE] + rf->status[IBC_PAGE_UNSUPPORTED];
}

/* Things a deep check could not decrypt for lack of a key: pages, or the redo log. */
static int key_missing(const rep_file *rf)
{
    return rf->status[IBC_PAGE_KEY_UNAVAILABLE] || rf->redo_unchecked;
}

static const char *verdict(const rep_file *rf)
{
    if (rf->error[0])
        return "error";
    if (rf->not_checked)
        return "not-checked";
    if (rf->key_state == REP_KEY_MISMATCH)
        return "key-mismatch";
    if (rf->nbad_total)
        return "bad";
    if (key_missing(rf))
        return "key-missing";
    if (rf->uninitialized)
        return "uninitialized";
    return "ok";
}

static void text_line(const report *r, const rep_file *rf)
{
    if (r->g->json || r->g->quiet || !strcmp(r->mode, "inspect"))
        return;
    /* files that are only copied: listed with -v, or when something went wrong */
    if (rf->f->kind > DF_TABLESPACE && !rf->have_redo && !rf->have_binlog && !rf->have_aria &&
        !r->g->verbose &&
        !rf->error[0])
        return;
    const ibc_space_info *i = &rf->info;
    fprintf(r->out, "%-40s ", rf->f->rel);
    if (rf->have_space) {
        char fmt[40];
        fprintf(r->out, "space %-5u %2uK %-17s", i->space_id, i->page_size / 1024,
                rep_format_label(i, fmt, sizeof(fmt)));
        if (i->crypt_scheme == 1)
            fprintf(r->out, " key %-4u %s", i->key_id, i->algorithm ? rep_algo_name(i->algorithm) : "");
        else
            fprintf(r->out, " unencrypted");
        fprintf(r->out, "  %llu pages: %llu encrypted, %llu plain, %llu zero",
               (unsigned long long)total_pages(rf), (unsigned long long)rf->encrypted,
               (unsigned long long)rf->status[IBC_PAGE_PLAIN],
               (unsigned long long)rf->status[IBC_PAGE_ZERO]);
        if (rf->status[IBC_PAGE_DOUBLEWRITE])
            fprintf(r->out, ", %llu doublewrite (skipped)",
                   (unsigned long long)rf->status[IBC_PAGE_DOUBLEWRITE]);
    } else if (rf->have_redo) {
        char d[512];
        rep_redo_describe(rf, d, sizeof(d));
        fprintf(r->out, "%s", d);
    } else if (rf->have_binlog) {
        fprintf(r->out, "%s log, key 1 %s: %llu events decrypted",
                rf->have_binlog == 2 ? "relay" : "binary", rep_algo_name(rf->binlog_algo),
                (unsigned long long)rf->binlog_events);
    } else if (rf->have_aria && !rf->aria_pages) {
        fprintf(r->out, "Aria table, key 1: no encrypted page");
    } else if (rf->have_aria) {
        fprintf(r->out, "Aria table, key 1 %s: %llu pages decrypted (.MAD and .MAI)",
                rep_algo_name(rf->aria_algo), (unsigned long long)rf->aria_pages);
    }
    const char *v = verdict(rf);
    if (!strcmp(v, "ok"))
        fprintf(r->out, "  OK\n");
    else if (!strcmp(v, "error"))
        fprintf(r->out, "  ERROR: %s\n", rf->error);
    else if (!strcmp(v, "key-mismatch") && rf->have_redo)
        fprintf(r->out, "  KEY MISMATCH: key id 1 does not decrypt the redo log\n");
    else if (!strcmp(v, "key-mismatch"))
        fprintf(r->out, "  KEY MISMATCH: key id %u does not decrypt this tablespace\n", i->key_id);
    else if (!strcmp(v, "key-missing") && rf->have_redo)
        fprintf(r->out, "  KEY MISSING: key id 1 is needed to decrypt the redo log (framing and "
                        "checksums were checked)\n");
    else if (!strcmp(v, "key-missing"))
        fprintf(r->out, "  KEY MISSING: %llu encrypted pages not checked (key id %u)\n",
               (unsigned long long)rf->status[IBC_PAGE_KEY_UNAVAILABLE], i->key_id);
    else if (!strcmp(v, "uninitialized"))
        fprintf(r->out, "  UNINITIALIZED\n");
    else if (!strcmp(v, "not-checked"))
        fprintf(r->out, "  NOT CHECKED: %s\n", rf->not_checked);
    else {
        fprintf(r->out, "  BAD: %llu pages\n", (unsigned long long)rf->nbad_total);
        for (size_t b = 0; b < rf->nbad && b < 20; b++)
            fprintf(r->out, "    page %llu: %s\n", (unsigned long long)rf->bad[b].page,
                   ibc_page_status_name(rf->bad[b].status));
        if (rf->nbad_total > 20)
            fprintf(r->out, "    ... %llu more (see --json)\n", (unsigned long long)rf->nbad_total - 20);
    }
    if (rf->notes && r->g->verbose)
        fprintf(r->out, "    note: %s\n", rf->notes);
    if (rf->status[IBC_PAGE_UNSUPPORTED])
        fprintf(r->out, "    %llu pages of an unsupported variant were not checked (a "
                        "page_compressed algorithm this build has no library for)\n",
               (unsigned long long)rf->status[IBC_PAGE_UNSUPPORTED]);
    fflush(r->out);
}

void report_file_done(report *r, rep_file *rf)
{
    if (r->kr && rf->have_space && rf->info.crypt_scheme == 1 &&
        ibc_keyring_fingerprint(r->kr, rf->info.key_id, 1, rf->fingerprint) != IBC_OK)
        rf->fingerprint[0] = 0;
    if (r->kr && rf->have_redo && rf->redo.encrypted &&
        ibc_keyring_fingerprint(r->kr, rf->redo.key_id, rf->redo.key_version,
                                rf->fingerprint) != IBC_OK)
        rf->fingerprint[0] = 0;
    text_line(r, rf);
}

static void json_file(FILE *o, const rep_file *rf)
{
    const ibc_space_info *i = &rf->info;
    fprintf(o, "{\"path\":");
    cli_json_str(o, rf->f->rel);
    fprintf(o, ",\"kind\":\"%s\"", df_kind_name(rf->f->kind));
    if (rf->have_space) {
        fprintf(o, ",\"space_id\":%u,\"page_size\":%u,\"format\":\"%s\",\"flags\":%u", i->space_id,
               i->page_size, rep_format_name(i), i->flags);
        fprintf(o, ",\"page_compressed\":%s", i->page_compressed ? "true" : "false");
        if (i->page_compressed && i->compression_algorithm) /* full_crc32: in the flags */
            fprintf(o, ",\"compression\":\"%s\"", rep_compression_name(i->compression_algorithm));
        fprintf(o, ",\"encrypted\":%s", i->crypt_scheme == 1 ? "true" : "false");
        if (i->has_crypt_data)
            fprintf(o, ",\"key_id\":%u,\"min_key_version\":%u,\"encryption_mode\":%d", i->key_id,
                   i->min_key_version, i->encryption_mode);
        if (i->algorithm)
            fprintf(o, ",\"algorithm\":\"%s\"", rep_algo_name(i->algorithm));
        if (rf->fingerprint[0])
            fprintf(o, ",\"key_fingerprint\":\"%s\"", rf->fingerprint);
    }
    if (rf->have_redo) {
        const ibc_redo_info *ri = &rf->redo;
        fprintf(o, ",\"redo\":{\"format\":\"%s\",\"creator\":", ibc_redo_format_name(ri->format));
        cli_json_str(o, ri->creator);
        fprintf(o, ",\"encrypted\":%s", ri->encrypted ? "true" : "false");
        if (ri->encrypted)
            fprintf(o, ",\"key_id\":%u,\"key_version\":%u", ri->key_id, ri->key_version);
        if (ri->algorithm)
            fprintf(o, ",\"algorithm\":\"%s\"", rep_algo_name(ri->algorithm));
        if (rf->fingerprint[0])
            fprintf(o, ",\"key_fingerprint\":\"%s\"", rf->fingerprint);
        fprintf(o, ",\"capacity\":%llu,\"first_lsn\":%llu,\"checkpoint_lsn\":%llu",
                (unsigned long long)ri->capacity, (unsigned long long)ri->first_lsn,
                (unsigned long long)ri->checkpoint_lsn);
        if (ri->scanned)
            fprintf(o, ",\"end_lsn\":%llu,\"pending_bytes\":%llu,\"mtrs\":%llu,"
                       "\"torn_tail\":%s",
                    (unsigned long long)ri->end_lsn, (unsigned long long)ri->pending_bytes,
                    (unsigned long long)ri->mtrs, ri->torn_tail ? "true" : "false");
        if (rf->redo_checked && rf->redo_res.bad_lsn)
            fprintf(o, ",\"bad_lsn\":%llu,\"bad_offset\":%llu",
                    (unsigned long long)rf->redo_res.bad_lsn,
                    (unsigned long long)rf->redo_res.bad_offset);
        if (rf->redo_checked && rf->redo_res.records)
            fprintf(o, ",\"records_parsed\":%llu", (unsigned long long)rf->redo_res.records);
        fprintf(o, "}");
    }
    if (rf->have_binlog)
        fprintf(o, ",\"binlog\":{\"events\":%llu,\"algorithm\":\"%s\"%s}",
                (unsigned long long)rf->binlog_events, rep_algo_name(rf->binlog_algo),
                rf->have_binlog == 2 ? ",\"relay\":true" : "");
    if (rf->have_aria)
        fprintf(o, ",\"aria\":{\"pages\":%llu,\"algorithm\":\"%s\"}",
                (unsigned long long)rf->aria_pages, rep_algo_name(rf->aria_algo));
    fprintf(o, ",\"key\":\"%s\"", key_state_names[rf->key_state]);
    fprintf(o, ",\"pages\":{\"total\":%llu,\"encrypted\":%llu,\"plain\":%llu,\"zero\":%llu,"
           "\"doublewrite\":%llu,\"bad\":%llu,\"unverified\":%llu}",
           (unsigned long long)total_pages(rf), (unsigned long long)rf->encrypted,
           (unsigned long long)rf->status[IBC_PAGE_PLAIN],
           (unsigned long long)rf->status[IBC_PAGE_ZERO],
           (unsigned long long)rf->status[IBC_PAGE_DOUBLEWRITE],
           (unsigned long long)rf->nbad_total, (unsigned long long)unverified(rf));
    fprintf(o, ",\"bad_pages\":[");
    for (size_t b = 0; b < rf->nbad; b++)
        fprintf(o, "%s{\"page\":%llu,\"problem\":\"%s\"}", b ? "," : "",
               (unsigned long long)rf->bad[b].page, ibc_page_status_name(rf->bad[b].status));
    fprintf(o, "]");
    if (rf->crc32c[0])
        fprintf(o, ",\"bytes\":%llu,\"crc32c\":\"%s\"", (unsigned long long)rf->f->size,
                rf->crc32c);
    if (rf->error[0]) {
        fprintf(o, ",\"error\":");
        cli_json_str(o, rf->error);
    }
    if (rf->notes) {
        fprintf(o, ",\"notes\":");
        cli_json_str(o, rf->notes);
    }
    fprintf(o, ",\"verdict\":\"%s\"}", verdict(rf));
}

typedef struct totals {
    uint64_t tot, enc, plain, zero, dbl, bad, unv, bytes;
    int key_mismatch, errors, env_errors;
} totals;

static void sum(const report *r, totals *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < r->n; i++) {
        const rep_file *rf = r->files[i];
        t->tot += total_pages(rf);
        t->enc += rf->encrypted;
        t->plain += rf->status[IBC_PAGE_PLAIN];
        t->zero += rf->status[IBC_PAGE_ZERO];
        t->dbl += rf->status[IBC_PAGE_DOUBLEWRITE];
        t->bad += rf->nbad_total;
        t->unv += unverified(rf) + (uint64_t)rf->redo_unchecked;
        t->bytes += rf->f->size;
        t->key_mismatch += rf->key_state == REP_KEY_MISMATCH;
        t->errors += rf->error[0] != 0 && !rf->env_error;
        t->env_errors += rf->env_error;
    }
}

static const char *overall(const report *r, const totals *t, uint64_t allow_bad, int *rc)
{
    *rc = 0;
    if (t->bad > allow_bad || t->key_mismatch) {
        *rc = EXIT_DATA;
        return t->key_mismatch ? "key-mismatch" : "bad";
    }
    if (t->errors) {
        *rc = EXIT_DATA;
        return "error";
    }
    if (t->env_errors || r->failed) {
        *rc = EXIT_ENV;
        return "error";
    }
    if (t->unv && strstr(r->mode, "deep")) {
        *rc = EXIT_ENV;
        return "key-missing";
    }
    return "ok";
}

void report_json(const report *r, FILE *o, uint64_t allow_bad, const char *extra)
{
    totals t;
    int rc;
    sum(r, &t);
    const char *v = overall(r, &t, allow_bad, &rc);
    double secs = (double)(progress_now_ns() - r->start_ns) / 1e9;
    fprintf(o, "{\"command\":\"%s\",\"version\":\"%s\",", r->mode, ibc_version());
    if (extra && *extra)
        fprintf(o, "%s,", extra);
    /* the key inventory: every key id the files need, by fingerprint */
    fprintf(o, "\"keys\":[");
    uint32_t seen[256];
    size_t nseen = 0;
    for (size_t i = 0; i < r->n && nseen < 256; i++) {
        const rep_file *rf = r->files[i];
        uint32_t id, ver = 1;
        if (rf->have_space && rf->info.crypt_scheme == 1)
            id = rf->info.key_id;
        else if (rf->have_redo && rf->redo.encrypted)
            id = rf->redo.key_id, ver = rf->redo.key_version;
        else
            continue;
        size_t k = 0;
        while (k < nseen && seen[k] != id)
            k++;
        if (k < nseen)
            continue;
        seen[nseen++] = id;
        fprintf(o, "%s{\"key_id\":%u,\"key_version\":%u", nseen > 1 ? "," : "", id, ver);
        if (rf->fingerprint[0])
            fprintf(o, ",\"fingerprint\":\"%s\"", rf->fingerprint);
        fprintf(o, "}");
    }
    fprintf(o, "],\"files\":[");
    for (size_t i = 0; i < r->n; i++) {
        if (i)
            fputc(',', o);
        json_file(o, r->files[i]);
    }
    fprintf(o,
            "],\"summary\":{\"files\":%zu,\"total\":%llu,\"encrypted\":%llu,\"plain\":%llu,"
            "\"zero\":%llu,\"doublewrite\":%llu,\"bad\":%llu,\"unverified\":%llu,"
            "\"bytes\":%llu,\"seconds\":%.3f,\"isa\":\"%s\",\"threads\":%u,"
            "\"verdict\":\"%s\"}}\n",
            r->n, (unsigned long long)t.tot, (unsigned long long)t.enc,
            (unsigned long long)t.plain, (unsigned long long)t.zero, (unsigned long long)t.dbl,
            (unsigned long long)t.bad, (unsigned long long)t.unv, (unsigned long long)t.bytes,
            secs, r->isa, r->threads, v);
}

void report_failed(report *r)
{
    r->failed = 1;
}

int report_finish(report *r, uint64_t allow_bad)
{
    totals t;
    int rc;
    sum(r, &t);
    const char *v = overall(r, &t, allow_bad, &rc);
    double secs = (double)(progress_now_ns() - r->start_ns) / 1e9;
    if (r->g->json) {
        report_json(r, r->out, allow_bad, NULL);
    } else if (!r->g->quiet || rc) {
        fprintf(r->out,
                "%s: %zu files, %llu pages (%.1f MB) in %.2f s (%.0f MB/s, %s, %u thread%s): "
                "%llu encrypted, %llu plain, %llu zero, %llu bad",
                r->mode, r->n, (unsigned long long)t.tot, (double)t.bytes / 1e6, secs,
                secs > 0 ? (double)t.bytes / 1e6 / secs : 0.0, r->isa, r->threads,
                r->threads == 1 ? "" : "s", (unsigned long long)t.enc,
                (unsigned long long)t.plain, (unsigned long long)t.zero,
                (unsigned long long)t.bad);
        if (t.unv)
            fprintf(r->out, ", %llu not checked", (unsigned long long)t.unv);
        fprintf(r->out, " -- %s\n", rc == 0 ? "all good" : v);
    }
    fflush(r->out);
    return rc;
}

void report_free(report *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->files[i]->bad);
        free(r->files[i]->notes);
        pthread_mutex_destroy(&r->files[i]->lock);
        free(r->files[i]);
    }
    free(r->files);
    memset(r, 0, sizeof(*r));
}
