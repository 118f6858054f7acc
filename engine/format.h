/*
 * format.h - byte-level facts of MariaDB InnoDB pages that the engine encodes.
 *
 * Every constant cites its upstream source in the MariaDB/server repository (as read for
 * 10.6-10.11; confirmed on files written by 10.11.19 where the format sheet
 * formats/mariadb.md says so). InnoDB integers are big-endian (mach0data.h mach_read_from_N);
 * the encryption IV is little-endian (sql/encryption.cc do_crypt, int4store/int8store).
 */
#ifndef IBC_FORMAT_H
#define IBC_FORMAT_H

#include <stdint.h>
#include <string.h>

/* ---- FIL header and trailer (storage/innobase/include/fil0fil.h) ------------------------- */
#define FIL_PAGE_SPACE_OR_CHKSUM 0 /* legacy: checksum field1; full_crc32: key version */
#define FIL_PAGE_OFFSET 4          /* page number */
#define FIL_PAGE_PREV 8
#define FIL_PAGE_NEXT 12
#define FIL_PAGE_LSN 16 /* 8 bytes */
#define FIL_PAGE_TYPE 24
#define FIL_PAGE_FILE_FLUSH_LSN_OR_KEY_VERSION 26 /* legacy: key version at 26, crypt chksum 30 */
#define FIL_PAGE_KEY_VERSION 26
#define FIL_PAGE_CRYPT_CHECKSUM 30 /* fil0crypt.cc fil_encrypt_buf_for_non_full_checksum */
#define FIL_PAGE_SPACE_ID 34       /* FIL_PAGE_ARCH_LOG_NO_OR_SPACE_ID */
#define FIL_PAGE_DATA 38
#define FIL_PAGE_DATA_END 8       /* legacy trailer: field2 + low 32 bits of the LSN */
#define FIL_PAGE_FCRC32_END_LSN 8 /* full_crc32: [ps-8, ps-4) LSN low, [ps-4, ps) CRC-32C */
#define FIL_PAGE_FCRC32_CHECKSUM 4
#define FIL_PAGE_FCRC32_KEY_VERSION 0

/* Page types (fil0fil.h FIL_PAGE_*) */
#define FIL_PAGE_PAGE_COMPRESSED_ENCRYPTED 37401 /* legacy format only */
#define FIL_PAGE_PAGE_COMPRESSED 34354           /* legacy format only */
#define FIL_PAGE_INDEX 17855
#define FIL_PAGE_RTREE 17854
#define FIL_PAGE_TYPE_ALLOCATED 0
#define FIL_PAGE_UNDO_LOG 2
#define FIL_PAGE_INODE 3
#define FIL_PAGE_TYPE_SYS 6
#define FIL_PAGE_TYPE_TRX_SYS 7
#define FIL_PAGE_TYPE_FSP_HDR 8
#define FIL_PAGE_TYPE_XDES 9
#define FIL_PAGE_TYPE_BLOB 10
#define FIL_PAGE_TYPE_INSTANT 18
/* full_crc32 page_compressed marker: bit 15 of FIL_PAGE_TYPE, byte 25 = stored size / 256
 * (fil0fil.h FIL_PAGE_COMPRESS_FCRC32_MARKER; buf0buf.h buf_page_full_crc32_size) */
#define FIL_PAGE_COMPRESS_FCRC32_MARKER 15

/* Legacy page_compressed metadata (fil0fil.h FIL_PAGE_COMP_*): compressed length at 38, for
 * type 37401 the algorithm at 40 and the payload at 42; for 34354 the payload at 40 and the
 * algorithm in bytes 26..33 (BE64). */
#define FIL_PAGE_COMP_SIZE 0
#define FIL_PAGE_COMP_METADATA_LEN 2
#define FIL_PAGE_ENCRYPT_COMP_ALGO 2
#define FIL_PAGE_ENCRYPT_COMP_METADATA_LEN 4

/* ---- FSP header on page 0 (fsp0fsp.h, fsp0types.h) --------------------------------------- */
#define FSP_HEADER_OFFSET FIL_PAGE_DATA
#define FSP_SPACE_ID 0
#define FSP_SIZE 8
#define FSP_FREE_LIMIT 12
#define FSP_SPACE_FLAGS 16 /* absolute byte 54 */
#define FSP_HEADER_SIZE (32 + 5 * 16)
#define XDES_ARR_OFFSET (FSP_HEADER_OFFSET + FSP_HEADER_SIZE) /* 150 */

/* full_crc32 flags (fsp0types.h FSP_FLAGS_FCRC32_*; fil0fil.h fil_space_t::full_crc32) */
#define FSP_FLAGS_FCRC32_MASK_MARKER (1u << 4)
#define FSP_FLAGS_FCRC32_PAGE_SSIZE(f) ((f) & 15u)
#define FSP_FLAGS_FCRC32_COMPRESSED_ALGO(f) (((f) >> 5) & 7u)
/* legacy flags (fsp0types.h FSP_FLAGS_POS_*) */
#define FSP_FLAGS_POST_ANTELOPE(f) ((f) & 1u)
#define FSP_FLAGS_ZIP_SSIZE(f) (((f) >> 1) & 15u)
#define FSP_FLAGS_ATOMIC_BLOBS(f) (((f) >> 5) & 1u)
#define FSP_FLAGS_PAGE_SSIZE(f) (((f) >> 6) & 15u)
#define FSP_FLAGS_RESERVED(f) (((f) >> 10) & 63u)
#define FSP_FLAGS_HAS_PAGE_COMPRESSION(f) (((f) >> 16) & 1u)
#define FSP_FLAGS_MASK 0x1FFFFu

/* ---- crypt_data in page 0 (fil0crypt.cc fil_space_read_crypt_data, write_page0) ---------- */
#define CRYPT_MAGIC "\x73\x0e\x0c\x52\x45\x74" /* 's', 0x0E, 0x0C, 'R', 'E', 't' */
#define CRYPT_MAGIC_SIZE 6
#define CRYPT_SCHEME_UNENCRYPTED 0
#define CRYPT_SCHEME_1 1
#define CRYPT_SCHEME_1_IV_LEN 16
#define CRYPT_DATA_SIZE (CRYPT_MAGIC_SIZE + 2 + 16 + 4 + 4 + 1) /* 33 */
/* relative offsets within the blob */
#define CRYPT_OFF_TYPE 6
#define CRYPT_OFF_IV_LEN 7
#define CRYPT_OFF_IV 8
#define CRYPT_OFF_MIN_KEY_VERSION 24
#define CRYPT_OFF_KEY_ID 28
#define CRYPT_OFF_ENCRYPTION 32
/* fil_encryption_t (fil0crypt.h) */
#define FIL_ENCRYPTION_DEFAULT 0
#define FIL_ENCRYPTION_ON 1
#define FIL_ENCRYPTION_OFF 2

/* ---- checksums (buf0checksum.cc, buf0buf.h) ---------------------------------------------- */
#define BUF_NO_CHECKSUM_MAGIC 0xDEADBEEFu
#define UT_HASH_RANDOM_MASK 1463735687u  /* ut0rnd.h */
#define UT_HASH_RANDOM_MASK2 1653893711u

/* ---- system tablespace (trx0sys.h) ------------------------------------------------------- */
#define TRX_SYS_PAGE_NO 5
#define TRX_SYS_DOUBLEWRITE_FROM_END 200 /* TRX_SYS_DOUBLEWRITE = page size - 200 */
#define TRX_SYS_DOUBLEWRITE_MAGIC 10     /* after the 10-byte FSEG header */
#define TRX_SYS_DOUBLEWRITE_BLOCK1 14
#define TRX_SYS_DOUBLEWRITE_BLOCK2 18
#define TRX_SYS_DOUBLEWRITE_MAGIC_N 536853855u

/* ---- index pages (page0types.h, rem0rec.h, page0page.h) ---------------------------------- */
#define PAGE_HEADER FIL_PAGE_DATA
#define PAGE_N_DIR_SLOTS 0
#define PAGE_HEAP_TOP 2
#define PAGE_N_HEAP 4 /* bit 15: compact format */
#define PAGE_FREE 6
#define PAGE_N_RECS 16
#define PAGE_DATA (PAGE_HEADER + 36 + 2 * 10) /* 94 */
#define REC_N_OLD_EXTRA_BYTES 6
#define REC_N_NEW_EXTRA_BYTES 5
#define PAGE_OLD_INFIMUM (PAGE_DATA + 1 + REC_N_OLD_EXTRA_BYTES)          /* 101 */
#define PAGE_OLD_SUPREMUM (PAGE_DATA + 2 + 2 * REC_N_OLD_EXTRA_BYTES + 8) /* 116 */
#define PAGE_NEW_INFIMUM (PAGE_DATA + REC_N_NEW_EXTRA_BYTES)              /* 99 */
#define PAGE_NEW_SUPREMUM (PAGE_DATA + 2 * REC_N_NEW_EXTRA_BYTES + 8)     /* 112 */
#define REC_NEXT 2 /* rem0rec.h: 2 bytes before the record origin */
#define PAGE_DIR FIL_PAGE_DATA_END
#define PAGE_DIR_SLOT_SIZE 2

/* ---- byte order helpers ------------------------------------------------------------------ */
static inline uint32_t be16(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}
static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}
static inline void put_be16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}
static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
