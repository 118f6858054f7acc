/*
 * datadir.h - find the files of a MariaDB datadir (or take the files given) and tell what
 * each one is.
 */
#ifndef IBC_DATADIR_H
#define IBC_DATADIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum df_kind {
    DF_SYSTEM,     /* ibdata1, ibdata2, ...: the system tablespace, in order */
    DF_UNDO,       /* undo001 ...: undo tablespaces */
    DF_TABLESPACE, /* *.ibd */
    DF_REDO,       /* ib_logfile0 */
    DF_TEMP,       /* ibtmp1: recreated at every start, never backed up or checked */
    DF_OTHER       /* anything else (.frm, Aria, binlogs, ...) */
} df_kind;

typedef struct df_file {
    char *path;    /* as opened */
    char *rel;     /* relative to the datadir it came from (or the path itself) */
    df_kind kind;
    uint64_t size;
    unsigned sys_no; /* N of ibdataN */
} df_file;

typedef struct df_list {
    df_file *v;
    size_t n, cap;
} df_list;

/* Expand each path: a directory is walked recursively, a file is taken as it is. The list is
 * ordered: system tablespace files by number, undo, then the rest by relative path. Symbolic
 * links are followed, and so are .isl files (DATA DIRECTORY) without a db/t.ibd beside them;
 * with `inside` (a backup: prepare changes it in place) neither may lead out of the directory,
 * which is an error instead. Returns 0, or -1 with a message naming the path. */
int datadir_scan(char *const *paths, size_t n, int inside, df_list *out, char *err,
                 size_t errlen);
/* The server's own files that its options put outside the datadir (innodb_data_home_dir:
 * ibdataN, innodb_undo_directory: undoNNN, innodb_log_group_home_dir: ib_logfile0; NULL or
 * empty: the datadir), added to l under their base names (where a backup keeps them, as
 * mariadb-backup does) in place of any file of that name in the datadir itself, which the
 * server does not use. Relative directories are the datadir's (the server's working
 * directory). innodb_data_file_path (NULL: ibdata1, ibdata2, ... as found) names the files
 * of the system tablespace, in order, whatever their names and wherever they are. Returns
 * 0, or -1 with a message naming the directory or file. */
int datadir_add_homes(df_list *l, const char *datadir, const char *data_home,
                      const char *data_file_path, const char *undo_dir, const char *log_dir,
                      char *err, size_t errlen);
/* The binary logs that log_bin (the server's option: a base name, relative to the datadir or
 * absolute; NULL or empty: the default, in the datadir) puts in a directory other than the
 * datadir: the files BASE.NNNNNN there (BASE: the option's last component, or that without
 * its extension, which the server strips: log_bin=DIR/mybin.log writes DIR/mybin.000001 and
 * DIR/mybin.index, seen on 10.11.19), added to l under their full paths. Others' binary logs
 * in a shared directory have other base names and stay out. The same for a replica's relay
 * logs and relay_log: opt names the option in messages. Returns the number added, or -1 with
 * a message naming the directory. */
int datadir_add_binlogs(df_list *l, const char *datadir, const char *opt, const char *base,
                        char *err, size_t errlen);
/* Make the files at paths[0..n) files 1..n of the system tablespace, under their base names
 * (where a backup keeps them: mariadb-backup writes the names alone into backup-my.cnf,
 * xtrabackup.cc make_local_paths), in place of any entry of that name; a file named like one
 * (ibdataN) that the list does not name is not one. what names the list's source for errors.
 * Returns 0, or -1 with a message naming the file. */
int datadir_set_system(df_list *l, char *const *paths, size_t n, const char *what,
                       char *err, size_t errlen);
/* The first file of l that an incremental backup of mariadb-backup holds (db/t.ibd.delta:
 * the pages changed since its base, xtrabackup.cc xtrabackup_backup_func), or NULL. */
const char *datadir_delta(const df_list *l);
/* An Aria table encrypted with aria_encrypt_tables=ON (key id 1): the fd of its index file
 * (.MAI; open(path, flags)) with its header parsed into *a, or -1 for any other file. */
struct ibc_aria;
int df_aria_open(const char *path, int flags, struct ibc_aria *a);
/* A binary log written with encrypt_binlog=ON (encrypted with key id 1 itself, which ibdcrypt
 * does not re-key): reads the head of the file at path; 0 for anything else. */
int df_binlog_encrypted(const char *path);
/* A file's identity (device, inode) and an index of the caller's; df_id_cmp orders by the
 * identity alone (for qsort and bsearch). */
typedef struct df_id {
    dev_t dev;
    ino_t ino;
    size_t i;
} df_id;
int df_id_cmp(const void *a, const void *b);
/* One entry per file: two names that reach the same file (two symbolic links to one
 * directory, a link back into the datadir, a home directory of --defaults-file inside it)
 * would have it copied twice or, worse, re-keyed twice at once. Of each such group the entry
 * kept is the one with an InnoDB role (system, undo, redo, tablespace before any other
 * file), then the shortest relative path, then the first by name; the order of the list
 * stays. Returns how many entries were dropped; note names the first one dropped and the
 * one kept. */
size_t datadir_dedupe(df_list *l, char *note, size_t notelen);
/* Is path, or where it leads (symbolic links and ".." resolved; parts that do not exist yet
 * taken as written), dir itself or under it? */
int datadir_contains(const char *dir, const char *path);
void datadir_free(df_list *l);
const char *df_kind_name(df_kind k);
/* The kind of a file by its name (base: without directories), as the server names them;
 * sys_no: N of ibdataN, else 0. */
df_kind df_classify(const char *base, unsigned *sys_no);
/* A file that mariadb-backup --compress wrote for an InnoDB file (ibdata1.qp, t.ibd.qp, ...):
 * its pages cannot be checked until it is decompressed. */
int df_compressed_innodb(const char *base);

#endif
