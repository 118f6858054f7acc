/*
 * mycnf.c - read the server settings we need from a MariaDB option file (--defaults-file):
 * datadir, the file_key_management_* options and a few innodb_* ones, from the [mysqld],
 * [mariadb], [mariadbd], [server] and [mariadb-10.11] groups (later values win, as in the
 * server). `!include FILE` and `!includedir DIR` are followed. Option names treat '-' and '_'
 * alike; values may be quoted.
 */
#define _DEFAULT_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mycnf.h"

static const char *const wanted_groups[] = {"mysqld", "mariadb", "mariadbd", "server",
                                            "mariadb-10.11", "mysqld-10.11", NULL};

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

static void normalise(char *name)
{
    for (; *name; name++)
        *name = *name == '-' ? '_' : (char)tolower((unsigned char)*name);
}

static void set(char **slot, const char *v)
{
    free(*slot);
    *slot = strdup(v);
}

static int read_file(mycnf *c, const char *path, int depth, char *err, size_t errlen);

static int read_dir(mycnf *c, const char *dir, int depth, char *err, size_t errlen)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        size_t l = strlen(name);
        if (!rc && l > 4 && !strcmp(name + l - 4, ".cnf")) {
            char p[4096];
            snprintf(p, sizeof(p), "%s/%s", dir, name);
            rc = read_file(c, p, depth + 1, err, errlen);
        }
        free(list[i]);
    }
    free(list);
    return rc;
}

static int read_file(mycnf *c, const char *path, int depth, char *err, size_t errlen)
{
    if (depth > 10) {
        snprintf(err, errlen, "%s: !include nested too deeply", path);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int in_group = 0, lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (!strncmp(s, "!includedir", 11)) {
            rc = read_dir(c, trim(s + 11), depth, err, errlen);
            continue;
        }
        if (!strncmp(s, "!include", 8)) {
            rc = read_file(c, trim(s + 8), depth, err, errlen);
            continue;
        }
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e) {
                snprintf(err, errlen, "%s:%d: unterminated group name", path, lineno);
                rc = -1;
                break;
            }
            *e = 0;
            char *g = trim(s + 1);
            normalise(g);
            in_group = 0;
            for (int i = 0; wanted_groups[i]; i++) {
                char w[64];
                snprintf(w, sizeof(w), "%s", wanted_groups[i]);
                normalise(w);
                if (!strcmp(g, w))
                    in_group = 1;
            }
            continue;
        }
        if (!in_group)
            continue;
        char *eq = strchr(s, '='), *val = "";
        if (eq) {
            *eq = 0;
            val = trim(eq + 1);
            /* strip an end-of-line comment outside quotes, then the quotes */
            if (*val == '"' || *val == '\'') {
                char q = *val++, *e = strchr(val, q);
                if (e)
                    *e = 0;
            } else {
                char *h = strchr(val, '#');
                if (h)
                    *h = 0;
                val = trim(val);
            }
        }
        char *name = trim(s);
        normalise(name);
        if (!strncmp(name, "loose_", 6))
            name += 6;
        if (!strcmp(name, "datadir"))
            set(&c->datadir, val);
        else if (!strcmp(name, "file_key_management_filename"))
            set(&c->keyfile, val);
        else if (!strcmp(name, "file_key_management_filekey"))
            set(&c->filekey, val);
        else if (!strcmp(name, "file_key_management_encryption_algorithm"))
            set(&c->algorithm, val);
        else if (!strcmp(name, "innodb_data_home_dir"))
            set(&c->data_home_dir, val);
        else if (!strcmp(name, "innodb_undo_directory"))
            set(&c->undo_directory, val);
        else if (!strcmp(name, "innodb_log_group_home_dir"))
            set(&c->log_dir, val);
        else if (!strcmp(name, "innodb_data_file_path"))
            set(&c->data_file_path, val);
        else if (!strcmp(name, "innodb_page_size"))
            set(&c->page_size, val);
        else if (!strcmp(name, "log_bin"))
            set(&c->log_bin, val);
        else if (!strcmp(name, "relay_log"))
            set(&c->relay_log, val);
    }
    fclose(f);
    return rc;
}

int mycnf_read(mycnf *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    return read_file(c, path, 0, err, errlen);
}

void mycnf_free(mycnf *c)
{
    free(c->datadir);
    free(c->keyfile);
    if (c->filekey)
        explicit_bzero(c->filekey, strlen(c->filekey)); /* may be a literal secret */
    free(c->filekey);
    free(c->algorithm);
    free(c->data_home_dir);
    free(c->undo_directory);
    free(c->log_dir);
    free(c->log_bin);
    free(c->relay_log);
    free(c->page_size);
    free(c->data_file_path);
    memset(c, 0, sizeof(*c));
}
