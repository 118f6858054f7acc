/*
 * keys.c - the keyring: MariaDB file_key_management key files (plain or OpenSSL-encrypted),
 * keys added by the caller, or a callback into another key management system.
 *
 * The one idea: key bytes live in exactly one place, the keyring's slot array (one
 * allocation, wiped on free and whenever it moves), and every temporary that ever held key
 * material on the way there - the file contents, the decrypted text, the secret, the key and
 * IV derived from the secret - is wiped with OPENSSL_cleanse before it is freed or leaves
 * scope. Messages name files, lines, columns, ids and byte counts, never key bytes.
 *
 * The parser follows plugin/file_key_management/parser.cc (MariaDB 10.6/10.11) and is
 * stricter where the plugin silently does something surprising: a duplicate id (the plugin
 * keeps the later line), a NUL or other control byte (the plugin stops reading at a NUL), a
 * file over 1 MiB (the plugin reads the first 1 MiB) are errors here.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "ibdcrypt/ibdcrypt.h"

/* parser.cc: MAX_KEY_FILE_SIZE, MAX_SECRET_SIZE, OpenSSL_prefix, OpenSSL_salt_len */
#define KEY_FILE_MAX   (1024 * 1024)
#define SECRET_MAX     256
#define SALTED_MAGIC   "Salted__"
#define SALTED_MAGIC_N 8
#define SALT_LEN       8

/* The shortest key line is "1;" and 32 hex digits: 34 bytes plus a newline. */
#define KEY_LINE_MIN 34

typedef struct key_slot {
    uint32_t id;
    uint32_t version;
    uint32_t len;
    uint8_t key[IBC_KEY_MAX];
} key_slot;

struct ibc_keyring {
    key_slot *slots; /* ascending (id, version); the only copy of stored key bytes */
    size_t n, cap;
    ibc_key_fn fn; /* non-NULL: a callback keyring, slots unused */
    void *ctx;
};

/* ---- messages ---------------------------------------------------------------------------- */

/* Where messages go: err/errlen of the caller and the name of the file being read. */
typedef struct msg_sink {
    char *err;
    size_t errlen;
    const char *name;
} msg_sink;

/* "name: what" or, with a position, "name:line:col: what" (the compiler style, so editors
 * jump to it). line 0 means no position. */
__attribute__((format(printf, 4, 5))) static void report(const msg_sink *ms, unsigned line,
                                                         size_t col, const char *fmt, ...)
{
    if (!ms->err || !ms->errlen)
        return;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (line)
        snprintf(ms->err, ms->errlen, "%s:%u:%zu: %s", ms->name, line, col, what);
    else
        snprintf(ms->err, ms->errlen, "%s: %s", ms->name, what);
}

/* A byte as it may appear in a message: 'x' when printable, else its code. Never used on
 * key bytes (only on the byte that ended or broke a token). */
static const char *show_byte(uint8_t c, char buf[12])
{
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, 12, "'%c'", c);
    else
        snprintf(buf, 12, "byte 0x%02x", c);
    return buf;
}

/* ---- slots ------------------------------------------------------------------------------- */

static int slot_cmp(uint32_t id_a, uint32_t ver_a, uint32_t id_b, uint32_t ver_b)
{
    if (id_a != id_b)
        return id_a < id_b ? -1 : 1;
    if (ver_a != ver_b)
        return ver_a < ver_b ? -1 : 1;
    return 0;
}

/* Index of (id, version) if present (*found = 1), else where it would be inserted. */
static size_t slot_find(const ibc_keyring *kr, uint32_t id, uint32_t version, int *found)
{
    size_t lo = 0, hi = kr->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = slot_cmp(kr->slots[mid].id, kr->slots[mid].version, id, version);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static void slots_free(key_slot *s, size_t cap)
{
    if (s) {
        OPENSSL_cleanse(s, cap * sizeof(*s));
        free(s);
    }
}

static int is_valid_key_len(size_t len)
{
    return len == 16 || len == 24 || len == 32;
}

/* ---- public: construction and lookup ----------------------------------------------------- */

ibc_keyring *ibc_keyring_new(void)
{
    return calloc(1, sizeof(ibc_keyring));
}

ibc_keyring *ibc_keyring_new_callback(ibc_key_fn fn, void *ctx)
{
    if (!fn)
        return NULL;
    ibc_keyring *kr = calloc(1, sizeof(*kr));
    if (kr) {
        kr->fn = fn;
        kr->ctx = ctx;
    }
    return kr;
}

void ibc_keyring_free(ibc_keyring *kr)
{
    if (!kr)
        return;
    slots_free(kr->slots, kr->cap);
    OPENSSL_cleanse(kr, sizeof(*kr));
    free(kr);
}

ibc_status ibc_keyring_add(ibc_keyring *kr, uint32_t key_id, uint32_t key_version,
                           const uint8_t *key, size_t len)
{
    if (!kr || kr->fn || !key || !is_valid_key_len(len) || key_id == 0 || key_version == 0)
        return IBC_ERR_INVALID_ARG;
    int found;
    size_t at = slot_find(kr, key_id, key_version, &found);
    if (found)
        return IBC_ERR_INVALID_ARG;
    if (kr->n == kr->cap) {
        /* Grow by hand, not with realloc: realloc may leave the old block unwiped. */
        size_t cap = kr->cap ? kr->cap * 2 : 8;
        key_slot *s = calloc(cap, sizeof(*s));
        if (!s)
            return IBC_ERR_NOMEM;
        if (kr->n)
            memcpy(s, kr->slots, kr->n * sizeof(*s));
        slots_free(kr->slots, kr->cap);
        kr->slots = s;
        kr->cap = cap;
    }
    memmove(&kr->slots[at + 1], &kr->slots[at], (kr->n - at) * sizeof(key_slot));
    key_slot *s = &kr->slots[at];
    memset(s, 0, sizeof(*s));
    s->id = key_id;
    s->version = key_version;
    s->len = (uint32_t)len;
    memcpy(s->key, key, len);
    kr->n++;
    return IBC_OK;
}

size_t ibc_keyring_count(const ibc_keyring *kr)
{
    return kr && !kr->fn ? kr->n : 0;
}

ibc_status ibc_keyring_entry(const ibc_keyring *kr, size_t i, uint32_t *key_id,
                             uint32_t *key_version)
{
    if (!kr || kr->fn || i >= kr->n || !key_id || !key_version)
        return IBC_ERR_INVALID_ARG;
    *key_id = kr->slots[i].id;
    *key_version = kr->slots[i].version;
    return IBC_OK;
}

ibc_status ibc_keyring_get(const ibc_keyring *kr, uint32_t key_id, uint32_t key_version,
                           uint8_t *key, size_t *len)
{
    if (!kr || !key || !len)
        return IBC_ERR_INVALID_ARG;
    *len = 0;
    if (kr->fn) {
        /* The callback writes into a private buffer so a bad answer never reaches the
         * caller; *len holds the buffer size on entry, as in MariaDB's get_key(). */
        uint8_t tmp[IBC_KEY_MAX];
        size_t n = sizeof(tmp);
        int rc = kr->fn(kr->ctx, key_id, key_version, tmp, &n);
        ibc_status st = IBC_ERR_KEY_MISSING;
        if (rc == 0 && is_valid_key_len(n)) {
            memcpy(key, tmp, n);
            *len = n;
            st = IBC_OK;
        }
        OPENSSL_cleanse(tmp, sizeof(tmp));
        return st;
    }
    int found;
    size_t at = slot_find(kr, key_id, key_version, &found);
    if (!found)
        return IBC_ERR_KEY_MISSING;
    memcpy(key, kr->slots[at].key, kr->slots[at].len);
    *len = kr->slots[at].len;
    return IBC_OK;
}

/* SHA-256("ibdcrypt key fingerprint v1" || BE32(id) || BE32(version) || key), the first 8
 * bytes in lowercase hex. The label has no terminating NUL in the hash input. */
ibc_status ibc_keyring_fingerprint(const ibc_keyring *kr, uint32_t key_id, uint32_t key_version,
                                   char *out)
{
    static const char label[] = "ibdcrypt key fingerprint v1";
    static const char hexd[] = "0123456789abcdef";
    if (!out)
        return IBC_ERR_INVALID_ARG;
    out[0] = 0;
    uint8_t key[IBC_KEY_MAX];
    size_t len;
    ibc_status st = ibc_keyring_get(kr, key_id, key_version, key, &len);
    if (st != IBC_OK)
        return st;
    uint8_t msg[sizeof(label) - 1 + 8 + IBC_KEY_MAX];
    size_t m = sizeof(label) - 1;
    memcpy(msg, label, m);
    const uint32_t be[2] = {key_id, key_version};
    for (int w = 0; w < 2; w++)
        for (int b = 3; b >= 0; b--)
            msg[m++] = (uint8_t)(be[w] >> (8 * b));
    memcpy(msg + m, key, len);
    m += len;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int ok = EVP_Digest(msg, m, md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(msg, sizeof(msg));
    if (!ok || mdlen < IBC_FINGERPRINT_LEN / 2) {
        OPENSSL_cleanse(md, sizeof(md));
        return IBC_ERR_NOMEM; /* OpenSSL fails here only when it cannot allocate */
    }
    for (int i = 0; i < IBC_FINGERPRINT_LEN / 2; i++) {
        out[2 * i] = hexd[md[i] >> 4];
        out[2 * i + 1] = hexd[md[i] & 15];
    }
    out[IBC_FINGERPRINT_LEN] = 0;
    OPENSSL_cleanse(md, sizeof(md));
    return IBC_OK;
}

/* ---- key file text ----------------------------------------------------------------------- */

static int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* isspace() in the C locale, minus the newline (parser.cc: parse_line skips these). */
static int is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A byte no text file has: C0 controls other than the blanks and newline, and DEL. */
static int is_control(uint8_t c)
{
    return (c < 0x20 && c != '\n' && !is_blank(c)) || c == 0x7f;
}

/* What may follow a complete key: parser.cc accepts anything that is not a hex digit;
 * "separator" is the subset after which a short key is reported as short (not as a bad
 * digit). */
static int is_separator(const uint8_t *p, const uint8_t *end)
{
    return p == end || *p == '\n' || *p == '#' || is_blank(*p);
}

/* A parsed key line, with its position for the duplicate check. */
typedef struct parsed_key {
    key_slot slot;
    unsigned line;
    size_t col;
} parsed_key;

typedef struct sort_ref {
    uint32_t id;
    unsigned line;
    size_t index;
} sort_ref;

static int sort_ref_cmp(const void *a, const void *b)
{
    const sort_ref *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* The offset of the first control byte (len if none) and its line and column. */
static size_t find_control(const uint8_t *buf, size_t len, unsigned *line, size_t *col)
{
    unsigned ln = 1;
    size_t start = 0, i;
    for (i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            ln++;
            start = i + 1;
        } else if (is_control(buf[i])) {
            break;
        }
    }
    *line = ln;
    *col = i - start + 1;
    return i;
}

/* Parse one non-comment line starting at p (leading blanks skipped; line_start is where the
 * line begins, for columns) into *pk. parser.cc: Parser::parse_line. */
static ibc_status parse_key_line(const msg_sink *ms, const uint8_t *line_start, const uint8_t *p,
                                 const uint8_t *end, unsigned line, parsed_key *pk)
{
    char b[12];
#define COL(q) ((size_t)((q)-line_start) + 1)
    if (!is_digit(*p)) {
        report(ms, line, COL(p), "expected a key id or '#', found %s", show_byte(*p, b));
        return IBC_ERR_KEY_FILE;
    }
    const uint8_t *id_at = p;
    uint64_t id = 0;
    while (p < end && is_digit(*p)) {
        id = id * 10 + (uint64_t)(*p - '0');
        if (id > UINT32_MAX) {
            report(ms, line, COL(id_at), "key id out of range (the largest is 4294967295)");
            return IBC_ERR_KEY_FILE;
        }
        p++;
    }
    if (id == 0) {
        report(ms, line, COL(id_at), "key id 0 is not allowed (ids are 1..4294967295)");
        return IBC_ERR_KEY_FILE;
    }
    if (p == end || *p != ';') {
        if (p == end || *p == '\n')
            report(ms, line, COL(p), "missing ';' after key id %u", (unsigned)id);
        else
            report(ms, line, COL(p), "missing ';' right after key id %u, found %s", (unsigned)id,
                   show_byte(*p, b));
        return IBC_ERR_KEY_FILE;
    }
    p++;
    const uint8_t *hex_at = p;
    while (p < end && hex_value(*p) >= 0)
        p++;
    size_t digits = (size_t)(p - hex_at);
    if (digits % 2 || !is_valid_key_len(digits / 2)) {
        if (digits == 0 && is_separator(p, end))
            report(ms, line, COL(hex_at), "missing key after '%u;'", (unsigned)id);
        else if (!is_separator(p, end))
            report(ms, line, COL(p), "invalid hex digit %s in key %u", show_byte(*p, b),
                   (unsigned)id);
        else if (digits % 2)
            report(ms, line, COL(hex_at), "odd number of hex digits (%zu) in key %u", digits,
                   (unsigned)id);
        else
            report(ms, line, COL(hex_at), "key %u too %s: %zu bytes (allowed: 16, 24 or 32)",
                   (unsigned)id, digits / 2 > 32 ? "long" : "short", digits / 2);
        return IBC_ERR_KEY_FILE;
    }
#undef COL
    memset(pk, 0, sizeof(*pk));
    pk->slot.id = (uint32_t)id;
    pk->slot.version = 1; /* file_key_management_plugin.cc: no key rotation */
    pk->slot.len = (uint32_t)(digits / 2);
    for (size_t i = 0; i < pk->slot.len; i++)
        pk->slot.key[i] = (uint8_t)(hex_value(hex_at[2 * i]) << 4 | hex_value(hex_at[2 * i + 1]));
    pk->line = line;
    pk->col = (size_t)(id_at - line_start) + 1;
    return IBC_OK;
}

/* Parse key file text into a new keyring. parser.cc: Parser::parse_file. encrypted only
 * changes the wording when the text turns out to be binary (then the secret was wrong). */
static ibc_status parse_text(const msg_sink *ms, const uint8_t *buf, size_t len, int encrypted,
                             ibc_keyring **out)
{
    unsigned line;
    size_t col;
    if (len == 0) {
        report(ms, 0, 0, "%s", encrypted ? "decrypted key file is empty" : "file is empty");
        return IBC_ERR_KEY_FILE;
    }
    size_t ctl = find_control(buf, len, &line, &col);
    if (ctl < len) {
        if (encrypted)
            report(ms, 0, 0,
                   "cannot decrypt: wrong secret? (the decrypted data is not text: control "
                   "byte at line %u, column %zu)",
                   line, col);
        else
            report(ms, line, col, "control byte 0x%02x in key file (not a text file?)", buf[ctl]);
        return IBC_ERR_KEY_FILE;
    }
    if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf) {
        report(ms, 1, 1, "file starts with a UTF-8 byte order mark (MariaDB rejects it)");
        return IBC_ERR_KEY_FILE;
    }

    size_t cap = (len + 1) / (KEY_LINE_MIN + 1) + 1;
    parsed_key *pks = calloc(cap, sizeof(*pks));
    sort_ref *refs = calloc(cap, sizeof(*refs));
    ibc_keyring *kr = ibc_keyring_new();
    ibc_status st = IBC_ERR_NOMEM;
    size_t n = 0;
    if (!pks || !refs || !kr)
        goto done;

    const uint8_t *p = buf, *end = buf + len;
    line = 0;
    st = IBC_OK;
    while (p < end && st == IBC_OK) {
        line++;
        const uint8_t *line_start = p;
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *eol = nl ? nl : end;
        while (p < eol && is_blank(*p))
            p++;
        if (p < eol && *p != '#') {
            if (n == cap) { /* cannot happen: cap bounds the number of key lines */
                st = IBC_ERR_NOMEM;
                break;
            }
            st = parse_key_line(ms, line_start, p, eol, line, &pks[n]);
            if (st == IBC_OK)
                n++;
        }
        p = nl ? nl + 1 : end;
    }
    if (st != IBC_OK)
        goto done;

    st = IBC_ERR_KEY_FILE;
    if (n == 0) {
        report(ms, 0, 0,
               "no keys in the file, only comments or blank lines (key id 1 is required)");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        refs[i] = (sort_ref){pks[i].slot.id, pks[i].line, i};
    qsort(refs, n, sizeof(*refs), sort_ref_cmp);
    /* The duplicate to report is the one whose second definition comes first in the file. */
    size_t dup = n;
    for (size_t i = 1; i < n; i++)
        if (refs[i].id == refs[i - 1].id && (dup == n || refs[i].line < refs[dup].line))
            dup = i;
    if (dup != n) {
        const parsed_key *again = &pks[refs[dup].index];
        report(ms, again->line, again->col, "duplicate key id %u (first defined at line %u)",
               (unsigned)refs[dup].id, refs[dup - 1].line);
        goto done;
    }
    if (refs[0].id != 1) {
        report(ms, 0, 0, "key id 1 is missing (MariaDB requires it)");
        goto done;
    }
    st = IBC_ERR_NOMEM;
    kr->slots = calloc(n, sizeof(key_slot));
    if (!kr->slots)
        goto done;
    kr->cap = n;
    for (size_t i = 0; i < n; i++)
        kr->slots[i] = pks[refs[i].index].slot;
    kr->n = n;
    *out = kr;
    kr = NULL;
    st = IBC_OK;
done:
    if (st == IBC_ERR_NOMEM)
        report(ms, 0, 0, "out of memory");
    if (pks) {
        OPENSSL_cleanse(pks, cap * sizeof(*pks));
        free(pks);
    }
    free(refs);
    ibc_keyring_free(kr);
    return st;
}

/* ---- secrets and encrypted key files ----------------------------------------------------- */

/* Room to read a secret file: more than SECRET_MAX so that a long one is reported as long
 * (not silently cut, as parser.cc's 257-byte read would). */
#define SECRET_BUF 1024

static void errno_text(int e, char *buf, size_t n)
{
    if (strerror_r(e, buf, n) != 0)
        snprintf(buf, n, "errno %d", e);
}

/* Read the secret named by filekey: "FILE:/path" (parser.cc: Parser::parse, read_filekey:
 * the whole file, trailing CR/LF stripped, at most 256 bytes) or "ENV:NAME" (ibdcrypt's
 * addition, so a secret need never be on a command line). The plugin also takes a literal
 * secret; the library does not (design: a key is never given on the command line). */
static ibc_status read_secret(const msg_sink *ms, const char *filekey, char secret[SECRET_BUF],
                              size_t *len)
{
    *len = 0;
    if (strncmp(filekey, "FILE:", 5) == 0) {
        const char *path = filekey + 5;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            char et[128];
            errno_text(e, et, sizeof(et));
            report(ms, 0, 0, "cannot open the key file secret %s: %s", path, et);
            errno = e;
            return IBC_ERR_IO;
        }
        size_t got = 0;
        for (;;) {
            ssize_t r = read(fd, secret + got, SECRET_BUF - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                int e = errno;
                char et[128];
                errno_text(e, et, sizeof(et));
                close(fd);
                report(ms, 0, 0, "cannot read the key file secret %s: %s", path, et);
                errno = e;
                return IBC_ERR_IO;
            }
            if (r == 0 || (got += (size_t)r) == SECRET_BUF)
                break;
        }
        close(fd);
        while (got && (secret[got - 1] == '\n' || secret[got - 1] == '\r'))
            got--;
        if (got == 0) {
            report(ms, 0, 0, "the key file secret %s is empty", path);
            return IBC_ERR_KEY_FILE;
        }
        if (got > SECRET_MAX) {
            report(ms, 0, 0, "the key file secret in %s is longer than %d bytes", path, SECRET_MAX);
            return IBC_ERR_KEY_FILE;
        }
        if (memchr(secret, 0, got)) {
            report(ms, 0, 0, "the key file secret in %s contains a NUL byte", path);
            return IBC_ERR_KEY_FILE;
        }
        *len = got;
        return IBC_OK;
    }
    if (strncmp(filekey, "ENV:", 4) == 0) {
        const char *var = filekey + 4;
        const char *v = *var ? getenv(var) : NULL;
        if (!v) {
            report(ms, 0, 0, "environment variable '%s' (the key file secret) is not set", var);
            return IBC_ERR_KEY_FILE;
        }
        size_t n = strlen(v);
        if (n == 0) {
            report(ms, 0, 0, "environment variable '%s' (the key file secret) is empty", var);
            return IBC_ERR_KEY_FILE;
        }
        if (n > SECRET_MAX) {
            report(ms, 0, 0, "the key file secret in '%s' is longer than %d bytes", var,
                   SECRET_MAX);
            return IBC_ERR_KEY_FILE;
        }
        memcpy(secret, v, n);
        *len = n;
        return IBC_OK;
    }
    report(ms, 0, 0, "the key file secret must be given as FILE:/path or ENV:NAME");
    return IBC_ERR_INVALID_ARG;
}

/* Decrypt an `openssl enc -aes-256-cbc -md sha1` file: "Salted__", an 8-byte salt, then
 * AES-256-CBC with PKCS#7 padding under key/IV = EVP_BytesToKey(AES-256-CBC, SHA-1, salt,
 * secret, count 1). parser.cc: Parser::read_and_decrypt_file and Parser::bytes_to_key (which
 * computes the same derivation by hand). On success *plain (len + 16 bytes allocated) is the
 * caller's to wipe and free. */
static ibc_status decrypt_file(const msg_sink *ms, const uint8_t *data, size_t len,
                               const char *filekey, uint8_t **plain, size_t *plain_len)
{
    *plain = NULL;
    *plain_len = 0;
    if (!filekey || !*filekey) {
        report(ms, 0, 0, "encrypted key file: give --keyfile-key");
        return IBC_ERR_KEY_FILE;
    }
    if (len < SALTED_MAGIC_N + SALT_LEN) {
        report(ms, 0, 0, "encrypted key file is truncated: %zu bytes, no room for the salt", len);
        return IBC_ERR_KEY_FILE;
    }
    const uint8_t *salt = data + SALTED_MAGIC_N;
    const uint8_t *ct = salt + SALT_LEN;
    size_t ct_len = len - SALTED_MAGIC_N - SALT_LEN;
    if (ct_len == 0 || ct_len % 16) {
        report(ms, 0, 0,
               "encrypted key file is truncated or damaged: %zu bytes of ciphertext, not a "
               "positive multiple of 16",
               ct_len);
        return IBC_ERR_KEY_FILE;
    }

    char secret[SECRET_BUF];
    size_t secret_len;
    uint8_t key[32], iv[16];
    uint8_t *out = NULL;
    EVP_CIPHER_CTX *cx = NULL;
    ibc_status st = read_secret(ms, filekey, secret, &secret_len);
    if (st != IBC_OK)
        goto done;
    st = IBC_ERR_NOMEM;
    out = malloc(ct_len + 16);
    cx = EVP_CIPHER_CTX_new();
    if (!out || !cx) {
        report(ms, 0, 0, "out of memory");
        goto done;
    }
    int n1 = 0, n2 = 0;
    if (EVP_BytesToKey(EVP_aes_256_cbc(), EVP_sha1(), salt, (const unsigned char *)secret,
                       (int)secret_len, 1, key, iv) != (int)sizeof(key) ||
        !EVP_DecryptInit_ex(cx, EVP_aes_256_cbc(), NULL, key, iv) ||
        !EVP_DecryptUpdate(cx, out, &n1, ct, (int)ct_len)) {
        report(ms, 0, 0, "cannot decrypt: OpenSSL failed");
        st = IBC_ERR_KEY_FILE;
        goto done;
    }
    if (!EVP_DecryptFinal_ex(cx, out + n1, &n2)) {
        report(ms, 0, 0, "cannot decrypt: wrong secret?");
        st = IBC_ERR_KEY_FILE;
        goto done;
    }
    *plain = out;
    *plain_len = (size_t)n1 + (size_t)n2;
    out = NULL;
    st = IBC_OK;
done:
    if (st != IBC_OK)
        ERR_clear_error();   /* an expected failure: leave no stale entries for the caller */
    EVP_CIPHER_CTX_free(cx); /* cleanses the expanded key */
    if (out) {
        OPENSSL_cleanse(out, ct_len + 16);
        free(out);
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(iv, sizeof(iv));
    return st;
}

/* ---- public: key files ------------------------------------------------------------------- */

ibc_status ibc_keyring_parse(const void *data, size_t len, const char *name, const char *filekey,
                             ibc_keyring **out, char *err, size_t errlen)
{
    msg_sink ms = {err, errlen, name ? name : "<key file>"};
    if (err && errlen)
        err[0] = 0;
    if (out)
        *out = NULL;
    if (!out || (!data && len)) {
        report(&ms, 0, 0, "invalid argument");
        return IBC_ERR_INVALID_ARG;
    }
    if (len > KEY_FILE_MAX) {
        report(&ms, 0, 0, "file is larger than 1 MiB (%d bytes), the most MariaDB reads",
               KEY_FILE_MAX);
        return IBC_ERR_KEY_FILE;
    }
    const uint8_t *text = data ? data : (const uint8_t *)"";
    if (len >= SALTED_MAGIC_N && memcmp(text, SALTED_MAGIC, SALTED_MAGIC_N) == 0) {
        uint8_t *plain;
        size_t plain_len;
        ibc_status st = decrypt_file(&ms, text, len, filekey, &plain, &plain_len);
        if (st != IBC_OK)
            return st;
        st = parse_text(&ms, plain, plain_len, 1, out);
        OPENSSL_cleanse(plain, len); /* len - 16 bytes of ciphertext + 16 bytes of slack */
        free(plain);
        return st;
    }
    if (filekey && *filekey) {
        report(&ms, 0, 0,
               "key file is not encrypted, but a secret was given (MariaDB: \"Not encrypted\")");
        return IBC_ERR_KEY_FILE;
    }
    return parse_text(&ms, text, len, 0, out);
}

ibc_status ibc_keyring_load(const char *path, const char *filekey, ibc_keyring **out, char *err,
                            size_t errlen)
{
    msg_sink ms = {err, errlen, path ? path : "<key file>"};
    if (err && errlen)
        err[0] = 0;
    if (out)
        *out = NULL;
    if (!path || !out) {
        report(&ms, 0, 0, "invalid argument");
        return IBC_ERR_INVALID_ARG;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        char et[128];
        errno_text(e, et, sizeof(et));
        report(&ms, 0, 0, "cannot open: %s", et);
        errno = e;
        return IBC_ERR_IO;
    }
    /* One byte more than the limit, to tell "exactly 1 MiB" from "too large". Untouched
     * pages of this buffer are never committed, so the size costs nothing. */
    uint8_t *buf = malloc(KEY_FILE_MAX + 1);
    if (!buf) {
        close(fd);
        report(&ms, 0, 0, "out of memory");
        return IBC_ERR_NOMEM;
    }
    size_t got = 0;
    ibc_status st = IBC_OK;
    int e = 0;
    while (got < KEY_FILE_MAX + 1) {
        ssize_t r = read(fd, buf + got, KEY_FILE_MAX + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = errno;
            char et[128];
            errno_text(e, et, sizeof(et));
            report(&ms, 0, 0, "cannot read: %s", et);
            st = IBC_ERR_IO;
            break;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (st == IBC_OK)
        st = ibc_keyring_parse(buf, got, path, filekey, out, err, errlen);
    OPENSSL_cleanse(buf, got);
    free(buf);
    if (e)
        errno = e;
    return st;
}
