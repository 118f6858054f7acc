/*
 * manifest.c - read a backup's manifest (manifest.h).
 *
 * The manifest is the backup's JSON report: {"command":"backup...", ..., "files":[{"path":
 * ..., "bytes": N, "crc32c": "8 hex digits", ...}, ...], ...}. A small JSON reader (RFC 8259:
 * objects, arrays, strings, numbers, literals; nesting bounded) keeps those three members of
 * each file and skips the rest. Strings are byte strings: report.c writes a path's bytes as
 * they are, escaping only '"', '\' and control characters (cli_json_str), so a name that is
 * not UTF-8 comes back byte for byte; \u escapes (and surrogate pairs) become UTF-8.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"

#define MAX_DEPTH 64
#define MAX_SIZE  (256u << 20) /* a manifest of millions of files is still far below */

typedef struct jp {
    const char *start, *p, *end;
    char *err;
    size_t errlen;
    int failed;
} jp;

__attribute__((format(printf, 2, 3))) static int fail(jp *j, const char *fmt, ...)
{
    if (!j->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(j->err, j->errlen, fmt, ap);
        va_end(ap);
        j->failed = 1;
    }
    return -1;
}

static void ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int expect(jp *j, char c)
{
    ws(j);
    if (j->p >= j->end || *j->p != c)
        return fail(j, "expected '%c' at byte %zu", c, (size_t)(j->p - j->start));
    j->p++;
    return 0;
}

static int hex4(jp *j, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++, j->p++) {
        if (j->p >= j->end)
            return fail(j, "unterminated \\u escape");
        char c = *j->p;
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d > 15)
            return fail(j, "bad \\u escape");
        *v = *v << 4 | d;
    }
    return 0;
}

static void put_utf8(char *o, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        o[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*n)++] = (char)(0xc0 | cp >> 6);
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xe0 | cp >> 12);
        o[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        o[(*n)++] = (char)(0xf0 | cp >> 18);
        o[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* A string; *out (NUL-terminated, malloc'd) unless out is NULL. */
static int str(jp *j, char **out)
{
    if (expect(j, '"'))
        return -1;
    const char *s = j->p;
    while (j->p < j->end && *j->p != '"')
        j->p += *j->p == '\\' && j->end - j->p > 1 ? 2 : 1;
    if (j->p >= j->end)
        return fail(j, "unterminated string");
    size_t raw = (size_t)(j->p - s);
    j->p++;
    if (!out)
        return 0;
    /* an escape of 6 characters gives at most 4 bytes: the result is never longer */
    char *o = malloc(raw + 1);
    if (!o)
        return fail(j, "out of memory");
    size_t n = 0;
    jp e = {s, s, s + raw, j->err, j->errlen, 0};
    while (e.p < e.end) {
        char c = *e.p++;
        if ((unsigned char)c < 0x20) {
            free(o);
            return fail(j, "control character in a string");
        }
        if (c != '\\') {
            o[n++] = c;
            continue;
        }
        char x = *e.p++;
        unsigned cp;
        switch (x) {
        case '"':
        case '\\':
        case '/':
            o[n++] = x;
            break;
        case 'b':
            o[n++] = '\b';
            break;
        case 'f':
            o[n++] = '\f';
            break;
        case 'n':
            o[n++] = '\n';
            break;
        case 'r':
            o[n++] = '\r';
            break;
        case 't':
            o[n++] = '\t';
            break;
        case 'u':
            if (hex4(&e, &cp)) { /* its message is in j's buffer already */
                free(o);
                j->failed = 1;
                return -1;
            }
            if (cp < 0x80) {
                o[n++] = (char)cp;
            } else if (cp >= 0xd800 && cp < 0xdc00 && e.end - e.p >= 6 && e.p[0] == '\\' &&
                       e.p[1] == 'u') {
                unsigned lo;
                e.p += 2;
                if (hex4(&e, &lo) || lo < 0xdc00 || lo >= 0xe000) {
                    free(o);
                    return fail(j, "bad surrogate pair");
                }
                put_utf8(o, &n, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
            } else {
                put_utf8(o, &n, cp);
            }
            break;
        default:
            free(o);
            /* the character only when printable: a message is one line */
            if (x > 0x20 && x < 0x7f)
                return fail(j, "bad escape '\\%c'", x);
            return fail(j, "bad escape ('\\' then byte 0x%02x)", (unsigned char)x);
        }
    }
    o[n] = 0;
    if (memchr(o, 0, n)) {
        free(o);
        return fail(j, "NUL in a string");
    }
    *out = o;
    return 0;
}

/* A number; *u its value when it is an integer in [0, 2^64), else *is_uint = 0. */
static int num(jp *j, uint64_t *u, int *is_uint)
{
    ws(j);
    const char *s = j->p;
    *is_uint = 1;
    *u = 0;
    if (j->p < j->end && *j->p == '-')
        j->p++, *is_uint = 0;
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return fail(j, "bad number");
    for (; j->p < j->end && *j->p >= '0' && *j->p <= '9'; j->p++) {
        uint64_t d = (uint64_t)(*j->p - '0');
        if (*u > (UINT64_MAX - d) / 10)
            *is_uint = 0;
        *u = *u * 10 + d;
    }
    if (*s == '0' && j->p - s > 1)
        return fail(j, "bad number");
    if (j->p < j->end && *j->p == '.') {
        *is_uint = 0;
        for (j->p++; j->p < j->end && *j->p >= '0' && *j->p <= '9'; j->p++)
            ;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        *is_uint = 0;
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        for (; j->p < j->end && *j->p >= '0' && *j->p <= '9'; j->p++)
            ;
    }
    return 0;
}

static int skip(jp *j, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(j, "nested too deep");
    ws(j);
    if (j->p >= j->end)
        return fail(j, "unexpected end");
    char c = *j->p;
    if (c == '"')
        return str(j, NULL);
    if (c == '{' || c == '[') {
        char close = c == '{' ? '}' : ']';
        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            if (c == '{' && (str(j, NULL) || expect(j, ':')))
                return -1;
            if (skip(j, depth + 1))
                return -1;
            ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            return expect(j, close);
        }
    }
    static const char *const lits[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(lits[i]);
        if ((size_t)(j->end - j->p) >= l && !memcmp(j->p, lits[i], l)) {
            j->p += l;
            return 0;
        }
    }
    uint64_t u;
    int is_uint;
    return num(j, &u, &is_uint);
}

static int parse_crc(const char *s, uint32_t *v)
{
    if (strlen(s) != 8)
        return -1;
    char *e;
    errno = 0;
    unsigned long x = strtoul(s, &e, 16);
    if (errno || *e || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* An object: each member's key to fn, which parses its value (0, or -1 having failed). */
typedef int (*member_fn)(jp *j, const char *key, void *ctx);
static int object(jp *j, member_fn fn, void *ctx)
{
    if (expect(j, '{'))
        return -1;
    ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        int rc = str(j, &key) || expect(j, ':') ? -1 : fn(j, key, ctx);
        free(key);
        if (rc)
            return -1;
        ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        return expect(j, '}');
    }
}

typedef struct file_st {
    mf_entry e;
    int have_bytes, have_crc, system;
} file_st;

static int file_member(jp *j, const char *key, void *ctx)
{
    file_st *f = ctx;
    if (!strcmp(key, "path") && !f->e.path)
        return str(j, &f->e.path);
    if (!strcmp(key, "kind")) {
        char *k = NULL;
        int rc = str(j, &k);
        f->system = !rc && !strcmp(k, "system");
        free(k);
        return rc;
    }
    if (!strcmp(key, "bytes")) {
        int is_uint;
        ws(j);
        f->e.bytes_at = (size_t)(j->p - j->start);
        if (num(j, &f->e.bytes, &is_uint))
            return -1;
        f->e.bytes_end = (size_t)(j->p - j->start);
        f->have_bytes = 1;
        return is_uint ? 0 : fail(j, "\"bytes\" is not a size");
    }
    if (!strcmp(key, "crc32c")) {
        char *c = NULL;
        ws(j);
        f->e.crc_at = (size_t)(j->p - j->start);
        int rc = str(j, &c);
        f->e.crc_end = (size_t)(j->p - j->start);
        if (!rc && parse_crc(c, &f->e.crc32c))
            rc = fail(j, "\"crc32c\" is not 8 hex digits");
        f->have_crc = 1;
        free(c);
        return rc;
    }
    return skip(j, 2);
}

/* One element of "files". */
static int file_entry(jp *j, manifest *m, size_t *cap)
{
    file_st f = {{0}, 0, 0, 0};
    if (object(j, file_member, &f)) {
        free(f.e.path);
        return -1;
    }
    if (!f.e.path || !f.have_bytes || !f.have_crc) {
        free(f.e.path);
        return fail(j, "file %zu of the manifest lacks its path, bytes or crc32c", m->n + 1);
    }
    if (m->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 256;
        mf_entry *v = realloc(m->v, nc * sizeof(*v));
        if (!v) {
            free(f.e.path);
            return fail(j, "out of memory");
        }
        m->v = v;
        *cap = nc;
    }
    if (f.system)
        f.e.sys_no = ++m->nsys;
    m->v[m->n++] = f.e;
    return 0;
}

/* The value of the top-level "prepared" (ibdcrypt prepare or rekey): its "plan" and
 * "command" are kept. */
static int prepared_member(jp *j, const char *key, void *ctx)
{
    manifest *m = ctx;
    if (!strcmp(key, "plan") && !m->prepared_plan)
        return str(j, &m->prepared_plan);
    if (!strcmp(key, "command") && !m->prepared_by)
        return str(j, &m->prepared_by);
    return skip(j, 2);
}

typedef struct top_st {
    manifest *m;
    size_t cap;
    int is_backup, have_files;
} top_st;

static int top_member(jp *j, const char *key, void *ctx)
{
    top_st *t = ctx;
    if (!strcmp(key, "command")) {
        char *c = NULL;
        int rc = str(j, &c);
        t->is_backup = !rc && !strncmp(c, "backup", 6);
        free(c);
        return rc;
    }
    if (!strcmp(key, "prepared") && !t->m->prep_end) {
        ws(j);
        t->m->prep_at = (size_t)(j->p - j->start);
        if (object(j, prepared_member, t->m))
            return -1;
        t->m->prep_end = (size_t)(j->p - j->start);
        return 0;
    }
    if (!strcmp(key, "files") && !t->have_files) {
        t->have_files = 1;
        if (expect(j, '['))
            return -1;
        ws(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return 0;
        }
        for (;;) {
            if (file_entry(j, t->m, &t->cap))
                return -1;
            ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            return expect(j, ']');
        }
    }
    return skip(j, 1);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const mf_entry *)a)->path, ((const mf_entry *)b)->path);
}

int manifest_parse(const char *text, size_t len, manifest *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    jp j = {text, text, text + len, err, errlen, 0};
    top_st t = {m, 0, 0, 0};
    if (object(&j, top_member, &t))
        goto bad;
    m->close_at = (size_t)(j.p - j.start) - 1; /* the '}' object() took last */
    ws(&j);
    if (j.p != j.end) {
        fail(&j, "text after the JSON document");
        goto bad;
    }
    if (!t.is_backup || !t.have_files) {
        fail(&j, "not the manifest of an ibdcrypt backup (no \"command\":\"backup...\" or no "
                 "\"files\")");
        goto bad;
    }
    if (m->n > 1) /* qsort's base must not be NULL, even for nothing */
        qsort(m->v, m->n, sizeof(*m->v), cmp_entry);
    for (size_t i = 1; i < m->n; i++)
        if (!strcmp(m->v[i - 1].path, m->v[i].path)) {
            char shown[128];
            size_t k = 0;
            for (const char *c = m->v[i].path; *c && k + 1 < sizeof(shown); c++)
                shown[k++] = (unsigned char)*c < 0x20 ? '?' : *c; /* a message is one line */
            shown[k] = 0;
            fail(&j, "the manifest lists %s twice", shown);
            goto bad;
        }
    return 0;
bad:
    manifest_free(m);
    return -1;
}

static int load(const char *path, manifest *m, int keep, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 65536;
            char *b = nc <= MAX_SIZE ? realloc(buf, nc) : NULL;
            if (!b) {
                snprintf(err, errlen, "%s: %s", path,
                         nc > MAX_SIZE ? "too large for a manifest" : "out of memory");
                rc = -1;
                break;
            }
            buf = b;
            cap = nc;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "%s: %s", path, strerror(errno));
                rc = -1;
            }
            break;
        }
    }
    fclose(f);
    if (!rc) {
        char e[400];
        rc = manifest_parse(buf, n, m, e, sizeof(e));
        if (rc)
            snprintf(err, errlen, "%s: %s", path, e);
    }
    if (!rc && keep) {
        /* a full buffer has no room for the NUL: one more byte */
        char *b = n < cap ? buf : realloc(buf, n + 1);
        if (!b) {
            snprintf(err, errlen, "%s: out of memory", path);
            manifest_free(m);
            free(buf);
            return -1;
        }
        b[n] = 0;
        m->text = b;
        m->len = n;
        return 0;
    }
    free(buf);
    return rc;
}

int manifest_load(const char *path, manifest *m, char *err, size_t errlen)
{
    return load(path, m, 0, err, errlen);
}

int manifest_load_text(const char *path, manifest *m, char *err, size_t errlen)
{
    return load(path, m, 1, err, errlen);
}

typedef struct mf_splice {
    size_t at, end;
    char with[48];
} mf_splice;

static int cmp_splice(const void *a, const void *b)
{
    size_t x = ((const mf_splice *)a)->at, y = ((const mf_splice *)b)->at;
    return x < y ? -1 : x > y;
}

int manifest_write(const manifest *m, const char *path, const char *prepared_json)
{
    if (!m->text || !m->close_at) {
        errno = EINVAL;
        return -1;
    }
    size_t ns = 0;
    mf_splice *sp = malloc((2 * m->n + 1) * sizeof(*sp));
    if (!sp)
        return -1;
    for (size_t i = 0; i < m->n; i++) {
        const mf_entry *e = &m->v[i];
        if (!e->update)
            continue;
        sp[ns].at = e->bytes_at;
        sp[ns].end = e->bytes_end;
        snprintf(sp[ns++].with, sizeof(sp->with), "%llu", (unsigned long long)e->bytes);
        sp[ns].at = e->crc_at;
        sp[ns].end = e->crc_end;
        snprintf(sp[ns++].with, sizeof(sp->with), "\"%08x\"", e->crc32c);
    }
    if (ns > 1)
        qsort(sp, ns, sizeof(*sp), cmp_splice);
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.ibdcrypt-new", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(sp);
        return -1;
    }
    /* the text in order: up to each mf_splice, its value, and "prepared" at its place */
    size_t at = 0, pa = m->prep_end ? m->prep_at : m->close_at,
           pe = m->prep_end ? m->prep_end : m->close_at;
    int prep_done = 0;
    for (size_t i = 0; i <= ns; i++) {
        size_t next = i < ns ? sp[i].at : m->len;
        if (!prep_done && pa <= next) {
            fwrite(m->text + at, 1, pa - at, f);
            fprintf(f, "%s%s", m->prep_end ? "" : ",\"prepared\":", prepared_json);
            at = pe;
            prep_done = 1;
        }
        fwrite(m->text + at, 1, next - at, f);
        if (i < ns) {
            fputs(sp[i].with, f);
            at = sp[i].end;
        }
    }
    free(sp);
    int rc = fflush(f) || ferror(f) || fsync(fileno(f)) ? -1 : 0;
    int e = errno;
    if (fclose(f) && !rc) {
        rc = -1;
        e = errno;
    }
    if (!rc && rename(tmp, path)) {
        rc = -1;
        e = errno;
    }
    if (rc) {
        unlink(tmp);
        errno = e;
        return -1;
    }
    /* the rename durable: fsync the directory */
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else
        slash[slash == dir] = 0; /* "/name" keeps its "/" */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return -1;
    rc = fsync(dfd);
    close(dfd);
    return rc ? -1 : 0;
}

mf_entry *manifest_find(const manifest *m, const char *path)
{
    mf_entry key = {.path = (char *)(uintptr_t)path};
    return m->n ? bsearch(&key, m->v, m->n, sizeof(*m->v), cmp_entry) : NULL;
}

void manifest_free(manifest *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    free(m->prepared_plan);
    free(m->prepared_by);
    free(m->text);
    memset(m, 0, sizeof(*m));
}
