/*
 * space.h - the internal view of a tablespace (struct ibc_space) shared by the engine units.
 */
#ifndef IBC_SPACE_H
#define IBC_SPACE_H

#include "engine_internal.h"

/* Geometry from the FSP flags (fsp.c). */
typedef struct ibc_geom {
    int full_crc32;
    uint32_t physical;     /* page size on disk */
    uint32_t logical;      /* innodb_page_size */
    uint32_t zip;          /* ROW_FORMAT=COMPRESSED page size, 0 if not */
    int page_compressed;   /* PAGE_COMPRESSED */
    uint32_t comp_algo;    /* full_crc32 only */
    uint32_t extent_pages; /* FSP_EXTENT_SIZE */
    uint32_t crypt_offset; /* where the crypt data blob sits in page 0 */
} ibc_geom;

typedef struct ibc_crypt_data {
    int present;
    uint8_t type;
    uint8_t iv[16];
    uint32_t min_key_version;
    uint32_t key_id;
    uint8_t encryption;
} ibc_crypt_data;

struct ibc_space {
    const ibc_engine *e;
    const ibc_kernels *k;
    ibc_geom g;
    ibc_crypt_data cd;
    uint32_t space_id;
    uint32_t flags;
    uint32_t size_in_header; /* FSP_SIZE */
    ibc_algo algo;
    int have_key;
    uint32_t key_version;
    uint8_t page_key[16]; /* secret: L = AES-ECB(file key, crypt data IV) */
    ibc_aes_key key;      /* secret: L expanded */
    uint32_t dblwr[2][2]; /* first page, count */
};

/* fsp.c */
int ibc_geom_from_flags(uint32_t flags, ibc_geom *g, const char **why);
/* fsp.c: 1 if flags are a MySQL 5.7/8.0 (or Percona Server) tablespace's, which MariaDB's
 * layout rejects, with the MySQL-only flags set named in names ("SDI, ENCRYPTION"); 2 if they
 * could also be MariaDB 10.1.0-10.1.20's (fsp_flags_convert_from_101); else 0. */
int ibc_mysql_flags(uint32_t flags, char *names, size_t n);
void ibc_crypt_data_read(const uint8_t *page0, const ibc_geom *g, ibc_crypt_data *cd,
                         const char **warning);
void ibc_crypt_data_write(uint8_t *page0, const ibc_geom *g, const ibc_crypt_data *cd);

/* Wipe the secret parts of a space. */
void ibc_space_wipe_key(ibc_space *s);

#endif
