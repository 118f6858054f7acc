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

void report_init(report *r, const cli_global *g, const char *mode, const char *isa,
                 unsigned threads)
{
    memset(r, 0, sizeof(*r));
    r->g = g;
    r->mode = mode;
    r->isa = isa;
    r->threads = threads;
    r->start_ns = progress_now_ns();
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

static const char *verdict(const rep_file *rf)
{
    if (rf->error[0])
        return "error";
    if (rf->key_state == REP_KEY_MISMATCH)
        return "key-mismatch";
    if (rf->nbad_total)
        return "bad";
    if (rf->status[IBC_PAGE_KEY_UNAVAILABLE])
        return "key-missing";
    if (rf->uninitialized)
        return "uninitialized";
    return "ok";
}

static void text_line(const report *r, const rep_file *rf)
{
    if (r->g->json)
        return;
    const ibc_space_info *i = &rf->info;
    printf("%-40s ", rf->f->rel);
    if (rf->have_space) {
        printf("space %-5u %2uK %-17s", i->space_id, i->page_size / 1024, rep_format_name(i));
        if (i->crypt_scheme == 1)
            printf(" key %-4u %s", i->key_id, i->algorithm ? rep_algo_name(i->algorithm) : "");
        else
            printf(" unencrypted");
        printf("  %llu pages: %llu encrypted, %llu plain, %llu zero",
               (unsigned long long)total_pages(rf), (unsigned long long)rf->encrypted,
               (unsigned long long)rf->status[IBC_PAGE_PLAIN],
               (unsigned long long)rf->status[IBC_PAGE_ZERO]);
        if (rf->status[IBC_PAGE_DOUBLEWRITE])
            printf(", %llu doublewrite (skipped)",
                   (unsigned long long)rf->status[IBC_PAGE_DOUBLEWRITE]);
    }
    const char *v = verdict(rf);
    if (!strcmp(v, "ok"))
        printf("  OK\n");
    else if (!strcmp(v, "error"))
        printf("  ERROR: %s\n", rf->error);
    else if (!strcmp(v, "key-mismatch"))
        printf("  KEY MISMATCH: key id %u does not decrypt this tablespace\n", i->key_id);
    else if (!strcmp(v, "key-missing"))
        printf("  KEY MISSING: %llu encrypted pages not checked (key id %u)\n",
               (unsigned long long)rf->status[IBC_PAGE_KEY_UNAVAILABLE], i->key_id);
    else if (!strcmp(v, "uninitialized"))
        printf("  UNINITIALIZED\n");
    else {
        printf("  BAD: %llu pages\n", (unsigned long long)rf->nbad_total);
        for (size_t b = 0; b < rf->nbad && b < 20; b++)
            printf("    page %llu: %s\n", (unsigned long long)rf->bad[b].page,
                   ibc_page_status_name(rf->bad[b].status));
        if (rf->nbad_total > 20)
            printf("    ... %llu more (see --json)\n", (unsigned long long)rf->nbad_total - 20);
    }
    if (rf->notes && r->g->verbose)
        printf("    note: %s\n", rf->notes);
    if (rf->status[IBC_PAGE_UNSUPPORTED])
        printf("    %llu pages of an unsupported variant were not checked\n",
               (unsigned long long)rf->status[IBC_PAGE_UNSUPPORTED]);
    fflush(stdout);
}

void report_file_done(report *r, rep_file *rf)
{
    if (r->kr && rf->have_space && rf->info.crypt_scheme == 1 &&
        ibc_keyring_fingerprint(r->kr, rf->info.key_id, 1, rf->fingerprint) != IBC_OK)
        rf->fingerprint[0] = 0;
    text_line(r, rf);
}

static void json_file(const rep_file *rf)
{
    const ibc_space_info *i = &rf->info;
    printf("{\"path\":");
    cli_json_str(stdout, rf->f->rel);
    printf(",\"kind\":\"%s\"", df_kind_name(rf->f->kind));
    if (rf->have_space) {
        printf(",\"space_id\":%u,\"page_size\":%u,\"format\":\"%s\",\"flags\":%u", i->space_id,
               i->page_size, rep_format_name(i), i->flags);
        printf(",\"page_compressed\":%s", i->page_compressed ? "true" : "false");
        printf(",\"encrypted\":%s", i->crypt_scheme == 1 ? "true" : "false");
        if (i->has_crypt_data)
            printf(",\"key_id\":%u,\"min_key_version\":%u,\"encryption_mode\":%d", i->key_id,
                   i->min_key_version, i->encryption_mode);
        if (i->algorithm)
            printf(",\"algorithm\":\"%s\"", rep_algo_name(i->algorithm));
        if (rf->fingerprint[0])
            printf(",\"key_fingerprint\":\"%s\"", rf->fingerprint);
    }
    printf(",\"key\":\"%s\"", key_state_names[rf->key_state]);
    printf(",\"pages\":{\"total\":%llu,\"encrypted\":%llu,\"plain\":%llu,\"zero\":%llu,"
           "\"doublewrite\":%llu,\"bad\":%llu,\"unverified\":%llu}",
           (unsigned long long)total_pages(rf), (unsigned long long)rf->encrypted,
           (unsigned long long)rf->status[IBC_PAGE_PLAIN],
           (unsigned long long)rf->status[IBC_PAGE_ZERO],
           (unsigned long long)rf->status[IBC_PAGE_DOUBLEWRITE],
           (unsigned long long)rf->nbad_total, (unsigned long long)unverified(rf));
    printf(",\"bad_pages\":[");
    for (size_t b = 0; b < rf->nbad; b++)
        printf("%s{\"page\":%llu,\"problem\":\"%s\"}", b ? "," : "",
               (unsigned long long)rf->bad[b].page, ibc_page_status_name(rf->bad[b].status));
    printf("]");
    if (rf->error[0]) {
        printf(",\"error\":");
        cli_json_str(stdout, rf->error);
    }
    if (rf->notes) {
        printf(",\"notes\":");
        cli_json_str(stdout, rf->notes);
    }
    printf(",\"verdict\":\"%s\"}", verdict(rf));
}

int report_finish(report *r, uint64_t allow_bad)
{
    double secs = (double)(progress_now_ns() - r->start_ns) / 1e9;
    uint64_t tot = 0, enc = 0, plain = 0, zero = 0, dbl = 0, bad = 0, unv = 0, bytes = 0;
    int key_mismatch = 0, errors = 0, data_errors = 0;
    for (size_t i = 0; i < r->n; i++) {
        const rep_file *rf = r->files[i];
        tot += total_pages(rf);
        enc += rf->encrypted;
        plain += rf->status[IBC_PAGE_PLAIN];
        zero += rf->status[IBC_PAGE_ZERO];
        dbl += rf->status[IBC_PAGE_DOUBLEWRITE];
        bad += rf->nbad_total;
        unv += unverified(rf);
        bytes += rf->f->size;
        key_mismatch += rf->key_state == REP_KEY_MISMATCH;
        errors += rf->error[0] != 0;
    }
    (void)data_errors;
    int rc = 0;
    const char *v = "ok";
    if (bad > allow_bad || key_mismatch) {
        rc = EXIT_DATA;
        v = key_mismatch ? "key-mismatch" : "bad";
    } else if (errors) {
        rc = EXIT_DATA;
        v = "error";
    } else if (unv && strstr(r->mode, "deep")) {
        rc = EXIT_ENV;
        v = "key-missing";
    }
    if (r->g->json) {
        printf("{\"command\":\"%s\",\"files\":[", r->mode);
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                putchar(',');
            json_file(r->files[i]);
        }
        printf("],\"summary\":{\"files\":%zu,\"total\":%llu,\"encrypted\":%llu,\"plain\":%llu,"
               "\"zero\":%llu,\"doublewrite\":%llu,\"bad\":%llu,\"unverified\":%llu,"
               "\"bytes\":%llu,\"seconds\":%.3f,\"isa\":\"%s\",\"threads\":%u,"
               "\"verdict\":\"%s\"}}\n",
               r->n, (unsigned long long)tot, (unsigned long long)enc,
               (unsigned long long)plain, (unsigned long long)zero, (unsigned long long)dbl,
               (unsigned long long)bad, (unsigned long long)unv, (unsigned long long)bytes, secs,
               r->isa, r->threads, v);
    } else {
        printf("%s: %zu files, %llu pages (%.1f MB) in %.2f s (%.0f MB/s, %s, %u thread%s): "
               "%llu encrypted, %llu plain, %llu zero, %llu bad",
               r->mode, r->n, (unsigned long long)tot, (double)bytes / 1e6, secs,
               secs > 0 ? (double)bytes / 1e6 / secs : 0.0, r->isa, r->threads,
               r->threads == 1 ? "" : "s", (unsigned long long)enc, (unsigned long long)plain,
               (unsigned long long)zero, (unsigned long long)bad);
        if (unv)
            printf(", %llu not checked", (unsigned long long)unv);
        printf(" -- %s\n", rc == 0 ? "all good" : v);
    }
    fflush(stdout);
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
