/*
 * datadir.c - walk a datadir and classify its files by name, as the server names them:
 * ibdataN (innodb_data_file_path), undoNNN (srv0start.cc), *.ibd, ib_logfile0, ibtmp1; with
 * the tablespaces that .isl files point to (DATA DIRECTORY), and through symbolic links.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadir.h"
#include "ibdcrypt/ibdcrypt.h"

const char *df_kind_name(df_kind k)
{
    static const char *const n[] = {"system", "undo", "tablespace", "redo", "temp", "other"};
    return (unsigned)k <= DF_OTHER ? n[k] : "?";
}

df_kind df_classify(const char *base, unsigned *sys_no)
{
    size_t l = strlen(base);
    *sys_no = 0;
    if (!strncmp(base, "ibdata", 6) && base[6] >= '1' && base[6] <= '9' &&
        strspn(base + 6, "0123456789") == l - 6) {
        *sys_no = (unsigned)atoi(base + 6);
        return DF_SYSTEM;
    }
    if (!strncmp(base, "undo", 4) && l == 7 && strspn(base + 4, "0123456789") == 3)
        return DF_UNDO;
    if (!strcmp(base, "ib_logfile0"))
        return DF_REDO;
    if (!strcmp(base, "ibtmp1"))
        return DF_TEMP;
    if (l > 4 && !strcmp(base + l - 4, ".ibd"))
        return DF_TABLESPACE;
    return DF_OTHER;
}

int df_compressed_innodb(const char *base)
{
    size_t l = strlen(base);
    if (l < 4 || strcmp(base + l - 3, ".qp"))
        return 0;
    char name[256];
    if (l - 3 >= sizeof(name))
        return 0;
    memcpy(name, base, l - 3);
    name[l - 3] = 0;
    unsigned sys_no;
    df_kind k = df_classify(name, &sys_no);
    return k == DF_SYSTEM || k == DF_UNDO || k == DF_TABLESPACE;
}

static int add(df_list *l, const char *path, const char *rel, uint64_t size)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        df_file *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    df_file *f = &l->v[l->n];
    f->path = strdup(path);
    f->rel = strdup(rel);
    f->size = size;
    f->kind = df_classify(base, &f->sys_no);
    if (!f->path || !f->rel)
        return -1;
    l->n++;
    return 0;
}

/* The directories from the root down to the one being walked, to refuse a symbolic link
 * back up the tree. */
typedef struct walk_dir {
    dev_t dev;
    ino_t ino;
    const struct walk_dir *up;
} walk_dir;

/* A tablespace created with DATA DIRECTORY lives elsewhere: the datadir holds db/t.isl, a
 * text file with its path (fil0fil.cc RemoteDatafile::create_link_file, read back by
 * RemoteDatafile::read_link_file: the path, trailing whitespace ignored). Add the tablespace
 * under the name db/t.ibd, unless a db/t.ibd sits beside the .isl: then that one is the
 * tablespace (a backup holds remote tablespaces as copies beside their .isl, and the path in
 * the .isl is the source server's, which a re-key of the backup must never touch). */
static int add_isl(df_list *l, const char *root, const char *path, const char *rel, int inside,
                   char *err, size_t errlen)
{
    char ibd[8192], irel[4096], target[4096];
    size_t pl = strlen(path) - 4, rl = strlen(rel) - 4;
    snprintf(ibd, sizeof(ibd), "%.*s.ibd", (int)pl, path);
    snprintf(irel, sizeof(irel), "%.*s.ibd", (int)rl, rel);
    struct stat st;
    if (!lstat(ibd, &st))
        return 0; /* the local file is the tablespace (and the walk adds it) */
    if (inside) {
        snprintf(err, errlen, "%s: a table created with DATA DIRECTORY, and no %s beside it: "
                 "the backup lacks that tablespace (its .isl names the source server's file, "
                 "which is not the backup's to change)", path, irel);
        return -1;
    }
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(target, 1, sizeof(target) - 1, f) : 0;
    if (f)
        fclose(f);
    target[n] = 0;
    while (n && (target[n - 1] == '\n' || target[n - 1] == '\r' || target[n - 1] == ' '))
        target[--n] = 0;
    char full[8192];
    if (target[0] == '/' || !n)
        snprintf(full, sizeof(full), "%s", target);
    else /* relative: to the datadir, the server's working directory */
        snprintf(full, sizeof(full), "%s/%s", root, target);
    int serr = !n ? 0 : stat(full, &st) ? errno : 0;
    if (!n || serr || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: the tablespace it points to (DATA DIRECTORY) %s%s%s", path,
                 n ? full : "is not named", !n ? "" : ": ",
                 !n ? "" : serr ? strerror(serr) : "not a file");
        return -1;
    }
    if (add(l, full, irel, (uint64_t)st.st_size)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int datadir_contains(const char *dir, const char *path)
{
    char d[PATH_MAX], p[PATH_MAX], rest[PATH_MAX] = "";
    if (!realpath(dir, d))
        return 0;
    snprintf(p, sizeof(p), "%s", path);
    char r[PATH_MAX];
    while (!realpath(p, r)) { /* the nearest existing ancestor, and what follows it */
        char *s = strrchr(p, '/');
        const char *last = s ? s + 1 : p;
        size_t ll = strlen(last), rl = strlen(rest);
        if (ll + 1 + rl >= sizeof(rest))
            return 0;
        memmove(rest + ll + 1, rest, rl + 1); /* rest = "/" last rest */
        rest[0] = '/';
        memcpy(rest + 1, last, ll);
        if (!s) {
            snprintf(p, sizeof(p), ".");
        } else if (s == p) {
            snprintf(p, sizeof(p), "/");
        } else {
            *s = 0;
        }
        if (!strcmp(p, ".") && !realpath(p, r))
            return 0;
    }
    size_t n = strlen(d);
    char full[2 * PATH_MAX];
    snprintf(full, sizeof(full), "%s%s", strcmp(r, "/") ? r : "", rest);
    return !strncmp(full, d, n) && (full[n] == '/' || full[n] == 0);
}

static int walk(df_list *l, const char *root, const char *sub, const walk_dir *up, int inside,
                char *err, size_t errlen)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s%s%s", root, *sub ? "/" : "", sub);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char rel[4096], path[8192];
        snprintf(rel, sizeof(rel), "%s%s%s", sub, *sub ? "/" : "", e->d_name);
        snprintf(path, sizeof(path), "%s/%s", root, rel);
        struct stat st, ls;
        /* symbolic links are followed (a database directory or a file moved to another disk
         * and linked back is part of the datadir); sockets, FIFOs and dangling links are not
         * data */
        if (inside && !lstat(path, &ls) && S_ISLNK(ls.st_mode) && !stat(path, &st) &&
            (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) && !datadir_contains(root, path)) {
            snprintf(err, errlen, "%s: a symbolic link out of the backup: a backup holds its "
                     "files itself (copy them in, or prepare a backup made by ibdcrypt backup "
                     "or mariadb-backup)", path);
            rc = -1;
        } else if (stat(path, &st)) {
            if (lstat(path, &ls) || !S_ISLNK(ls.st_mode)) {
                snprintf(err, errlen, "%s: %s", path, strerror(errno));
                rc = -1;
            }
        } else if (S_ISDIR(st.st_mode)) {
            int loop = 0;
            for (const walk_dir *w = up; w && !loop; w = w->up)
                loop = w->dev == st.st_dev && w->ino == st.st_ino;
            walk_dir here = {st.st_dev, st.st_ino, up};
            if (!loop)
                rc = walk(l, root, rel, &here, inside, err, errlen);
        } else if (S_ISREG(st.st_mode)) {
            size_t nl = strlen(e->d_name);
            if (add(l, path, rel, (uint64_t)st.st_size)) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
            } else if (nl > 4 && !strcmp(e->d_name + nl - 4, ".isl")) {
                rc = add_isl(l, root, path, rel, inside, err, errlen);
            }
        }
    }
    closedir(d);
    return rc;
}

static int order(const void *a, const void *b)
{
    const df_file *x = a, *y = b;
    int kx = x->kind == DF_SYSTEM ? 0 : x->kind == DF_UNDO ? 1 : 2;
    int ky = y->kind == DF_SYSTEM ? 0 : y->kind == DF_UNDO ? 1 : 2;
    if (kx != ky)
        return kx - ky;
    if (kx == 0 && x->sys_no != y->sys_no)
        return x->sys_no < y->sys_no ? -1 : 1;
    return strcmp(x->rel, y->rel);
}

int datadir_scan(char *const *paths, size_t n, int inside, df_list *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        char p[4096];
        snprintf(p, sizeof(p), "%s", paths[i]);
        for (size_t l = strlen(p); l > 1 && p[l - 1] == '/'; l--)
            p[l - 1] = 0;
        if (stat(p, &st)) {
            snprintf(err, errlen, "%s: %s", p, strerror(errno));
            datadir_free(out);
            return -1;
        }
        walk_dir top = {st.st_dev, st.st_ino, NULL};
        int rc = S_ISDIR(st.st_mode) ? walk(out, p, "", &top, inside, err, errlen)
                                     : add(out, p, p, (uint64_t)st.st_size);
        if (rc) {
            if (!S_ISDIR(st.st_mode))
                snprintf(err, errlen, "out of memory");
            datadir_free(out);
            return -1;
        }
    }
    if (out->n > 1) /* qsort's base must not be NULL, even for nothing (an empty directory) */
        qsort(out->v, out->n, sizeof(df_file), order);
    return 0;
}

/* Drop the entry of l named rel (the datadir's own copy of a file the server keeps
 * elsewhere, which it does not use). */
static void drop_rel(df_list *l, const char *rel)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].rel, rel)) {
            free(l->v[i].path);
            free(l->v[i].rel);
            l->v[i] = l->v[--l->n];
            return;
        }
}

int datadir_set_system(df_list *l, char *const *paths, size_t n, const char *what,
                       char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].kind == DF_SYSTEM) {
            l->v[i].kind = DF_OTHER;
            l->v[i].sys_no = 0;
        }
    for (size_t k = 0; k < n; k++) {
        struct stat st;
        int bad = stat(paths[k], &st) ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
        if (bad) {
            snprintf(err, errlen, "%s (file %zu of the system tablespace, from %s): %s",
                     paths[k], k + 1, what, bad == EINVAL ? "not a regular file" : strerror(bad));
            return -1;
        }
        const char *base = strrchr(paths[k], '/');
        base = base ? base + 1 : paths[k];
        drop_rel(l, base);
        if (add(l, paths[k], base, (uint64_t)st.st_size)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        l->v[l->n - 1].kind = DF_SYSTEM;
        l->v[l->n - 1].sys_no = (unsigned)k + 1;
    }
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(df_file), order);
    return 0;
}

/* The files of innodb_data_file_path, "name:size[:autoextend[:max:size]];..." in order
 * (fsp0sysspace.cc SysTablespace::parse_params: a name is the text before the first ':'; a
 * relative one is under innodb_data_home_dir, else the datadir, Tablespace::make_filepath;
 * an absolute one, with innodb_data_home_dir empty, is where it says). */
static int add_data_files(df_list *l, const char *datadir, const char *data_home,
                          const char *spec, char *err, size_t errlen)
{
    char *paths[64];
    size_t n = 0;
    int rc = 0;
    for (const char *s = spec; *s && !rc;) {
        size_t len = strcspn(s, ";");
        char ent[4096], path[8192];
        snprintf(ent, sizeof(ent), "%.*s", (int)(len < sizeof(ent) ? len : sizeof(ent) - 1), s);
        s += len + (s[len] == ';');
        char *colon = strchr(ent, ':');
        if (!colon || colon == ent || n == 64) {
            snprintf(err, errlen, "innodb_data_file_path: \"%s\" is not name:size%s", ent,
                     n == 64 ? " (or one file too many: 64 at most)" : "");
            rc = -1;
            break;
        }
        *colon = 0;
        if (strstr(colon + 1, "raw")) {
            snprintf(err, errlen, "innodb_data_file_path: %s is a raw partition (not supported)",
                     ent);
            rc = -1;
            break;
        }
        const char *home = data_home && *data_home ? data_home : datadir;
        if (ent[0] == '/')
            snprintf(path, sizeof(path), "%s", ent);
        else if (home[0] == '/' || home == datadir)
            snprintf(path, sizeof(path), "%s/%s", home, ent);
        else
            snprintf(path, sizeof(path), "%s/%s/%s", datadir, home, ent);
        if (!(paths[n++] = strdup(path))) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
    }
    if (!rc)
        rc = datadir_set_system(l, paths, n, "innodb_data_file_path", err, errlen);
    for (size_t k = 0; k < n; k++)
        free(paths[k]);
    return rc;
}

int datadir_add_homes(df_list *l, const char *datadir, const char *data_home,
                      const char *data_file_path, const char *undo_dir, const char *log_dir,
                      char *err, size_t errlen)
{
    const char *dirs[3] = {data_home, undo_dir, log_dir};
    const df_kind kinds[3] = {DF_SYSTEM, DF_UNDO, DF_REDO};
    struct stat ds;
    if (stat(datadir, &ds)) {
        snprintf(err, errlen, "%s: %s", datadir, strerror(errno));
        return -1;
    }
    if (data_file_path && *data_file_path &&
        add_data_files(l, datadir, data_home, data_file_path, err, errlen))
        return -1;
    for (int k = 0; k < 3; k++) {
        if (!dirs[k] || !*dirs[k] || (k == 0 && data_file_path && *data_file_path))
            continue;
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s%s%s", dirs[k][0] == '/' ? "" : datadir,
                 dirs[k][0] == '/' ? "" : "/", dirs[k]);
        struct stat st;
        if (stat(dir, &st)) {
            snprintf(err, errlen, "%s (%s): %s", dir,
                     k == 0 ? "innodb_data_home_dir" : k == 1 ? "innodb_undo_directory"
                                                              : "innodb_log_group_home_dir",
                     strerror(errno));
            return -1;
        }
        if (st.st_dev == ds.st_dev && st.st_ino == ds.st_ino)
            continue; /* the datadir itself: walked already */
        DIR *d = opendir(dir);
        if (!d) {
            snprintf(err, errlen, "%s: %s", dir, strerror(errno));
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            unsigned no;
            char path[8192];
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            if (df_classify(e->d_name, &no) != kinds[k] || stat(path, &st) || !S_ISREG(st.st_mode))
                continue;
            drop_rel(l, e->d_name);
            if (add(l, path, e->d_name, (uint64_t)st.st_size)) {
                closedir(d);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
        closedir(d);
    }
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(df_file), order);
    return 0;
}

/* name is stem.NNNNNN (six digits or more) */
static int binlog_name(const char *name, const char *stem, size_t stem_len)
{
    if (strncmp(name, stem, stem_len) || name[stem_len] != '.')
        return 0;
    size_t digits = strspn(name + stem_len + 1, "0123456789");
    return digits >= 6 && !name[stem_len + 1 + digits];
}

int datadir_add_binlogs(df_list *l, const char *datadir, const char *opt, const char *base,
                        char *err, size_t errlen)
{
    if (!base || !*base)
        return 0;
    char dir[4096];
    const char *slash = strrchr(base, '/'), *stem = slash ? slash + 1 : base;
    int n = slash == base ? snprintf(dir, sizeof(dir), "/")
                             : snprintf(dir, sizeof(dir), "%s%s%.*s",
                                        base[0] == '/' ? "" : datadir,
                                        base[0] == '/' ? "" : "/",
                                        slash ? (int)(slash - base) : 0, base);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        snprintf(err, errlen, "%s %s: path too long", opt, base);
        return -1;
    }
    struct stat ds, st;
    if (stat(datadir, &ds)) {
        snprintf(err, errlen, "%s: %s", datadir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st)) {
        snprintf(err, errlen, "%s (%s): %s", dir, opt, strerror(errno));
        return -1;
    }
    if ((st.st_dev == ds.st_dev && st.st_ino == ds.st_ino) || datadir_contains(datadir, dir))
        return 0; /* the datadir or a directory in it: walked already */
    /* the server strips an extension of the base name (a warning says so); both are taken */
    const char *dot = strrchr(stem, '.');
    size_t full = strlen(stem), bare = dot && dot != stem ? (size_t)(dot - stem) : full;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s (%s): %s", dir, opt, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int added = 0;
    while ((e = readdir(d))) {
        char path[8192];
        if (!binlog_name(e->d_name, stem, full) && !binlog_name(e->d_name, stem, bare))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) || !S_ISREG(st.st_mode))
            continue;
        if (add(l, path, path, (uint64_t)st.st_size)) {
            closedir(d);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        l->v[l->n - 1].kind = DF_OTHER;
        added++;
    }
    closedir(d);
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(df_file), order);
    return added;
}

int df_aria_open(const char *path, int flags, ibc_aria *a)
{
    size_t l = strlen(path);
    if (l < 4 || strcmp(path + l - 4, ".MAI"))
        return -1;
    int fd = open(path, flags | O_CLOEXEC);
    uint8_t *buf = fd >= 0 ? malloc(65536) : NULL;
    ssize_t n = buf ? pread(fd, buf, 65536, 0) : -1;
    int ok = n > 0 && ibc_aria_parse(buf, (size_t)n, a) == 1;
    free(buf);
    if (!ok && fd >= 0)
        close(fd);
    return ok ? fd : -1;
}

int df_binlog_encrypted(const char *path)
{
    /* BINLOG_MAGIC fe 'b' 'i' 'n', then the format description event, then, with
     * encrypt_binlog=ON, a START_ENCRYPTION_EVENT (164): log_event.h; each event header is
     * timestamp 4, type 1, server id 4, size 4 (little-endian), ... (confirmed on 10.11.19) */
    uint8_t h[17], e[8];
    int fd = open(path, O_RDONLY | O_CLOEXEC), yes = 0;
    if (fd >= 0 && pread(fd, h, sizeof(h), 0) == (ssize_t)sizeof(h) &&
        !memcmp(h, "\xfe" "bin", 4) && h[8] == 15) {
        uint32_t size = (uint32_t)h[13] | (uint32_t)h[14] << 8 | (uint32_t)h[15] << 16 |
                        (uint32_t)h[16] << 24;
        yes = size < (1u << 20) && pread(fd, e, sizeof(e), (off_t)4 + size) == (ssize_t)sizeof(e) &&
              e[4] == 164;
    }
    if (fd >= 0)
        close(fd);
    return yes;
}

const char *datadir_delta(const df_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->v[i].rel);
        if (n > 6 && !strcmp(l->v[i].rel + n - 6, ".delta"))
            return l->v[i].rel;
    }
    return NULL;
}

int df_id_cmp(const void *a, const void *b)
{
    const df_id *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Is entry a a better name for the file than entry b (datadir_dedupe)? */
static int better_name(const df_file *a, const df_file *b)
{
    int ra = a->kind == DF_OTHER || a->kind == DF_TEMP, rb = b->kind == DF_OTHER ||
                                                             b->kind == DF_TEMP;
    if (ra != rb)
        return ra < rb;
    size_t la = strlen(a->rel), lb = strlen(b->rel);
    if (la != lb)
        return la < lb;
    return strcmp(a->rel, b->rel) < 0;
}

size_t datadir_dedupe(df_list *l, char *note, size_t notelen)
{
    if (notelen)
        note[0] = 0;
    df_id *id = l->n > 1 ? malloc(l->n * sizeof(*id)) : NULL;
    if (!id)
        return 0; /* nothing to compare (or no memory: the list stays as it is) */
    size_t m = 0;
    for (size_t i = 0; i < l->n; i++) {
        struct stat st;
        if (!stat(l->v[i].path, &st))
            id[m++] = (df_id){st.st_dev, st.st_ino, i};
    }
    qsort(id, m, sizeof(*id), df_id_cmp);
    size_t *keep = malloc(l->n * sizeof(*keep)); /* of a dropped entry: the one kept */
    size_t dropped = 0;
    for (size_t i = 0; keep && i < l->n; i++)
        keep[i] = SIZE_MAX;
    for (size_t a = 0; keep && a < m;) {
        size_t b = a + 1, k = id[a].i;
        while (b < m && id[b].dev == id[a].dev && id[b].ino == id[a].ino) {
            if (better_name(&l->v[id[b].i], &l->v[k]))
                k = id[b].i;
            b++;
        }
        for (size_t j = a; j < b; j++)
            if (id[j].i != k)
                keep[id[j].i] = k;
        a = b;
    }
    for (size_t i = 0; keep && i < l->n; i++) /* named: the first in the list's order */
        if (keep[i] != SIZE_MAX && !dropped++ && notelen)
            snprintf(note, notelen, "%s is the same file as %s", l->v[i].rel,
                     l->v[keep[i]].rel);
    size_t n = 0;
    for (size_t i = 0; keep && i < l->n; i++) {
        if (keep[i] == SIZE_MAX) {
            l->v[n++] = l->v[i];
        } else {
            free(l->v[i].path);
            free(l->v[i].rel);
        }
    }
    if (keep)
        l->n = n;
    free(keep);
    free(id);
    return dropped;
}

void datadir_free(df_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].rel);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}
