/*
 * vectors.c - the one small parser for the files in tests/vectors/ (format in vectors.h).
 */
#include "vectors.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

int tv_open(tv_file *f, const char *name)
{
    static char path[1024];
    memset(f, 0, sizeof(*f));
    snprintf(path, sizeof(path), "%s/vectors/%s", tu_data_dir(), name);
    f->path = path;
    f->fp = fopen(path, "r");
    return f->fp ? 0 : -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

int tv_next(tv_file *f, tv_record *r)
{
    char buf[8192];
    memset(r, 0, sizeof(*r));
    free(f->values);
    f->values = NULL;
    size_t used = 0, cap = 0;
    size_t offs[TV_MAX_ATTRS];
    while (fgets(buf, sizeof(buf), f->fp)) {
        f->line++;
        char *s = trim(buf);
        if (*s == '#')
            continue;
        if (*s == 0) {
            if (r->nattrs)
                break;
            continue;
        }
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (e)
                *e = 0;
            snprintf(f->section, sizeof(f->section), "%s", s + 1);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq || r->nattrs == TV_MAX_ATTRS) {
            fprintf(stderr, "%s:%d: malformed vector line\n", f->path, f->line);
            exit(2);
        }
        *eq = 0;
        char *name = trim(s), *val = trim(eq + 1);
        if (!r->nattrs)
            r->line = f->line;
        snprintf(r->name[r->nattrs], sizeof(r->name[0]), "%s", name);
        size_t vl = strlen(val) + 1;
        if (used + vl > cap) {
            cap = (used + vl) * 2;
            f->values = realloc(f->values, cap);
            if (!f->values)
                exit(2);
        }
        memcpy(f->values + used, val, vl);
        offs[r->nattrs++] = used;
        used += vl;
    }
    for (int i = 0; i < r->nattrs; i++)
        r->value[i] = f->values + offs[i];
    snprintf(r->section, sizeof(r->section), "%s", f->section);
    return r->nattrs > 0;
}

void tv_close(tv_file *f)
{
    if (f->fp)
        fclose(f->fp);
    free(f->values);
    memset(f, 0, sizeof(*f));
}

const char *tv_get(const tv_record *r, const char *name)
{
    for (int i = 0; i < r->nattrs; i++)
        if (strcmp(r->name[i], name) == 0)
            return r->value[i];
    return NULL;
}

long tv_hex(const tv_record *r, const char *name, uint8_t *buf, size_t max)
{
    const char *v = tv_get(r, name);
    return v ? tu_hex_parse(v, buf, max) : -1;
}
