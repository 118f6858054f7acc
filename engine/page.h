/*
 * page.h - one page at a time: the reference implementation of every batch operation.
 *
 * batch.c runs the same operations on many pages at once through multi-buffer and fused
 * kernels; its results must equal these (tests/unit/test_batch.c checks that they do).
 */
#ifndef IBC_PAGE_H
#define IBC_PAGE_H

#include "space.h"

#define IBC_SCRATCH_PAGES 3
#define IBC_MAX_PAGE 65536

struct ibc_scratch {
    uint8_t *buf[IBC_SCRATCH_PAGES]; /* IBC_MAX_PAGE bytes each */
    int checked; /* the batch is IBC_OP_REKEY_CHECKED (run as IBC_OP_REKEY) */
};

/* Whether a page_compressed page's stream need not be decompressed: the batch re-keys pages
 * a deep verify passed, with the algorithm settled (under IBC_ALGO_AUTO, decompressing is
 * what tells CBC from CTR). */
#define IBC_TRUSTED_STREAM(s, sc) ((sc)->checked && (s)->algo != IBC_ALGO_AUTO)

/* Is this page (read from disk as page_no) encrypted under s's rules? */
int ibc_page_is_encrypted(const ibc_space *s, const uint8_t *p, uint32_t page_no);

/* Doublewrite area of the system tablespace? */
int ibc_page_in_doublewrite(const ibc_space *s, uint32_t page_no);

/* The page IV: LE32(space id) | LE32(page number) | LE64(LSN) (sql/encryption.cc do_crypt). For
 * the legacy format the space id is read from the page (it is not encrypted there). */
void ibc_page_iv(const ibc_space *s, const uint8_t *p, uint8_t iv[16]);

/* The encrypted byte range of an (encrypted or to-be-encrypted) page. */
void ibc_page_crypt_range(const ibc_space *s, const uint8_t *p, uint32_t *off, uint32_t *len);

/* MariaDB's cipher over one range: AES-128-CBC over the whole blocks and the tail XORed with
 * AES-ECB(L, iv) (mysys_ssl/my_crypt.cc MyCTX_nopad), or AES-128-CTR. */
void ibc_page_xcrypt(const ibc_space *s, int encrypt, const uint8_t iv[16], const uint8_t *in,
                     uint8_t *out, size_t len);

/* One page, one operation. t is the target space for IBC_OP_REKEY. */
void ibc_page_process(const ibc_space *s, const ibc_space *t, ibc_op op, ibc_page *pg,
                      ibc_scratch *sc);

/* structure.c: B-tree page structure of a plaintext index page; 0 if sound. */
int ibc_index_page_check(const uint8_t *p, uint32_t ps);

/* page_compressed algorithm ids (fsp0pagecompress.h PAGE_ZLIB_ALGORITHM ...). */
enum {
    IBC_COMP_ZLIB = 1,
    IBC_COMP_LZ4 = 2,
    IBC_COMP_LZO = 3,
    IBC_COMP_LZMA = 4,
    IBC_COMP_BZIP2 = 5,
    IBC_COMP_SNAPPY = 6,
};

/* decompress.c: page_compressed payload -> the original page (ps bytes). Returns 0 on success,
 * -1 if the data does not decompress, -2 for an algorithm this build cannot decompress.
 * *consumed (may be NULL) receives the length of the compressed stream. */
int ibc_page_decompress(uint32_t algo, const uint8_t *in, size_t in_len, uint8_t *out,
                        uint32_t ps, size_t *consumed);
/* decompress.c: the bytes that the decompressors' own buffers (liblzma's dictionary, bzip2's
 * block arrays: the plaintext of decrypted pages) held and that were wiped when freed, since
 * the process started (for tests). */
uint64_t ibc_decompress_wiped_bytes(void);
/* page.c: the length of the compressed stream at 26 of a full_crc32 page_compressed page of
 * `size` bytes (its plaintext), 0 if its length byte points outside the page. */
size_t ibc_fcrc32_stream_len(uint32_t algo, const uint8_t *page, uint32_t size);
/* decompress.c: 0 if the len bytes at z cannot start a stream of the algorithm (so a wrong key
 * decrypted them), 1 if they can, -1 if its streams have no header (LZ4, LZO). */
int ibc_page_stream_header(uint32_t algo, const uint8_t *z, size_t len, uint32_t ps);

#endif
