/*
 * mycnf.h - the settings ibdcrypt takes from a MariaDB option file (--defaults-file).
 */
#ifndef IBC_MYCNF_H
#define IBC_MYCNF_H

#include <stddef.h>

typedef struct mycnf {
    char *datadir;
    char *keyfile;   /* file_key_management_filename */
    char *filekey;   /* file_key_management_filekey: FILE:path or a literal secret */
    char *algorithm; /* file_key_management_encryption_algorithm */
    char *data_home_dir, *undo_directory, *log_dir, *page_size;
    char *data_file_path; /* innodb_data_file_path: the system tablespace's files */
    char *log_bin;        /* log_bin: the binary logs' base name (NULL or empty: the default,
                           * in the datadir) */
    char *relay_log;      /* relay_log: a replica's relay logs' base name (likewise) */
} mycnf;

/* Read path (and its !include files). Returns 0, or -1 with a message naming file and line. */
int mycnf_read(mycnf *c, const char *path, char *err, size_t errlen);
void mycnf_free(mycnf *c);

#endif
