/*
 * checksum.h - InnoDB page checksums and the server's rules for accepting them.
 */
#ifndef IBC_CHECKSUM_H
#define IBC_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "simd.h"

/* full_crc32: stored size of a page (buf0buf.h buf_page_full_crc32_size): ps, or byte25*256
 * for page_compressed pages. Returns 0 if the compressed size is invalid (>= logical). */
uint32_t ibc_fcrc32_size(const uint8_t *page, uint32_t ps, int *compressed);

/* Legacy "crc32": CRC32C(p[4,26)) ^ CRC32C(p[38, ps-8)) (buf0checksum.cc buf_calc_page_crc32). */
uint32_t ibc_legacy_crc32(const ibc_kernels *k, const uint8_t *p, uint32_t ps);
/* Legacy "innodb" fold checksums (buf0checksum.cc buf_calc_page_new/old_checksum). */
uint32_t ibc_legacy_fold_new(const uint8_t *p, uint32_t ps);
uint32_t ibc_legacy_fold_old(const uint8_t *p);
/* ROW_FORMAT=COMPRESSED: CRC32C(p[4,16)) ^ CRC32C(p[24,26)) ^ CRC32C(p[34,size)), and the Adler-32
 * variant over the same ranges (page0zip.cc page_zip_calc_checksum). */
uint32_t ibc_zip_crc32(const ibc_kernels *k, const uint8_t *p, uint32_t size);
uint32_t ibc_zip_adler32(const uint8_t *p, uint32_t size);

/* buf0buf.cc buf_page_is_corrupted, legacy branch, as innodb_checksum_algorithm=full_crc32
 * (non-strict) reads old files. zip = ROW_FORMAT=COMPRESSED size or 0; ps = physical size.
 * Returns 1 if corrupted. page_compressed pages (34354/37401) are not checked here. */
int ibc_legacy_is_corrupted(const ibc_kernels *k, const uint8_t *p, uint32_t ps, uint32_t zip);

/* fil0crypt.cc fil_space_verify_crypt_checksum (non-strict): the post-encryption checksum at
 * 30 of an encrypted legacy page. Returns 1 if valid. */
int ibc_legacy_crypt_checksum_ok(const ibc_kernels *k, const uint8_t *p, uint32_t ps,
                                 uint32_t zip);
/* The value written at 30 after encryption (fil_encrypt_buf_for_non_full_checksum). */
uint32_t ibc_legacy_crypt_checksum(const ibc_kernels *k, const uint8_t *p, uint32_t ps,
                                   uint32_t zip);

/* Write the plaintext checksum of an unencrypted legacy page the way buf_flush_init_for_writing
 * does: crc32 into field1 and field2 (LSN low copy in the trailer), or the zip checksum at 0. */
void ibc_legacy_write_checksum(const ibc_kernels *k, uint8_t *p, uint32_t ps, uint32_t zip);

int ibc_is_zero(const uint8_t *p, size_t n);

#endif
