/*
 * test_keys.c - the keyring: key file parsing (every accepted form and every error, with the
 * message it gives), encrypted key files made by the openssl command line, secrets from FILE:
 * and ENV:, programmatic and callback keyrings, and fingerprints against known answers
 * computed independently (python3 hashlib and `openssl dgst -sha256`).
 *
 * Test files are in tests/keys/ (see tests/keys/README.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ibdcrypt/ibdcrypt.h"
#include "testutil.h"

/* The keys of tests/keys/good.txt, good-crlf.txt and good.enc, in ascending id order. */
static const struct {
    uint32_t id;
    const char *hex;
} good_keys[] = {
    {1, "0123456789abcdef0123456789ABCDEF"},
    {2, "000102030405060708090a0b0c0d0e0f1011121314151617"},
    {3, "F5502320F8429037B8DAEF761B189D12F5502320F8429037B8DAEF761B189D12"},
    {17, "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0"},
    {4294967295u, "770A8A65DA156D24EE2A093277530142"},
};
#define N_GOOD (sizeof(good_keys) / sizeof(good_keys[0]))

static const char *path_of(const char *file)
{
    static char buf[4][1024];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof(buf[0]), "%s/keys/%s", tu_data_dir(), file);
    return p;
}

static char *file_key(const char *file)
{
    static char buf[1100];
    snprintf(buf, sizeof(buf), "FILE:%s", path_of(file));
    return buf;
}

/* Read a whole test file; caller frees. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    return buf;
}

/* Write a temporary file; returns its path (static buffer). */
static const char *write_temp(const void *data, size_t len)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/ibc_test_keys_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    const uint8_t *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w <= 0)
            break;
        p += w;
        len -= (size_t)w;
    }
    close(fd);
    return path;
}

/* Does msg contain any 8 consecutive hex digits of any key of the text (case-insensitive)?
 * Keys are the hex runs after "id;" on each line. */
static int leaks_key_hex(const char *msg, const uint8_t *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < len && strchr("0123456789abcdefABCDEF", text[j]) && text[j])
            j++;
        for (size_t s = i + 1; s + 8 <= j; s++)
            for (const char *m = msg; *m; m++)
                if (strncasecmp(m, (const char *)text + s, 8) == 0)
                    return 1;
    }
    return 0;
}

static int check_good_keys(const ibc_keyring *kr, const char *what)
{
    if (ibc_keyring_count(kr) != N_GOOD) {
        tu_fail(__FILE__, __LINE__, "%s: %zu keys, want %zu", what, ibc_keyring_count(kr), N_GOOD);
        return 0;
    }
    for (size_t i = 0; i < N_GOOD; i++) {
        uint32_t id, ver;
        uint8_t want[IBC_KEY_MAX], got[IBC_KEY_MAX];
        size_t len = 0;
        long wl = tu_hex_parse(good_keys[i].hex, want, sizeof(want));
        if (ibc_keyring_entry(kr, i, &id, &ver) != IBC_OK || id != good_keys[i].id || ver != 1 ||
            ibc_keyring_get(kr, id, 1, got, &len) != IBC_OK || (long)len != wl ||
            memcmp(got, want, len) != 0) {
            tu_fail(__FILE__, __LINE__, "%s: entry %zu is not key %u", what, i,
                    (unsigned)good_keys[i].id);
            return 0;
        }
    }
    return 1;
}

static void test_good_file_every_accepted_form(void)
{
    char err[256];
    ibc_keyring *kr = NULL;
    ibc_status st = ibc_keyring_load(path_of("good.txt"), NULL, &kr, err, sizeof(err));
    TU_CHECK(st == IBC_OK, "good.txt: %s: %s", ibc_strerror(st), err);
    TU_CHECK(err[0] == 0, "message on success: %s", err);
    int ok = check_good_keys(kr, "good.txt");
    ibc_keyring_free(kr);
    TU_CHECK(ok, "good.txt keys");

    st = ibc_keyring_load(path_of("good-crlf.txt"), NULL, &kr, err, sizeof(err));
    TU_CHECK(st == IBC_OK, "good-crlf.txt: %s: %s", ibc_strerror(st), err);
    ok = check_good_keys(kr, "good-crlf.txt");
    ibc_keyring_free(kr);
    TU_CHECK(ok, "good-crlf.txt keys");
}

static void test_encrypted_file_matches_plain_twin(void)
{
    const char *keys[] = {file_key("secret.txt"), NULL, "ENV:IBC_TEST_KEYFILE_SECRET"};
    char crlf[1100];
    snprintf(crlf, sizeof(crlf), "%s", file_key("secret-crlf.txt"));
    keys[1] = crlf; /* trailing \r\n stripped, as the server does */
    setenv("IBC_TEST_KEYFILE_SECRET", "ibdcrypt test secret", 1);
    for (size_t i = 0; i < 3; i++) {
        char err[256];
        ibc_keyring *kr = NULL;
        ibc_status st = ibc_keyring_load(path_of("good.enc"), keys[i], &kr, err, sizeof(err));
        TU_CHECK(st == IBC_OK, "good.enc with %s: %s: %s", keys[i], ibc_strerror(st), err);
        int ok = check_good_keys(kr, keys[i]);
        ibc_keyring_free(kr);
        TU_CHECK(ok, "good.enc with %s", keys[i]);
    }
    /* The same bytes through ibc_keyring_parse. */
    size_t len;
    uint8_t *data = slurp(path_of("good.enc"), &len);
    TU_CHECK(data, "read good.enc");
    ibc_keyring *kr = NULL;
    char err[256];
    ibc_status st = ibc_keyring_parse(data, len, "mem", keys[2], &kr, err, sizeof(err));
    free(data);
    int ok = st == IBC_OK && check_good_keys(kr, "parse good.enc");
    ibc_keyring_free(kr);
    TU_CHECK(ok, "parse good.enc: %s", err);
    unsetenv("IBC_TEST_KEYFILE_SECRET");
}

/* Every error file of tests/keys/: status, message content and position. */
static void test_error_files_name_file_line_and_column(void)
{
    static const struct {
        const char *file;
        ibc_status st;
        const char *want; /* substring of the message */
        const char *pos;  /* ":line:col: " or NULL for a whole-file error */
    } cases[] = {
        {"err-bad-hex.txt", IBC_ERR_KEY_FILE, "invalid hex digit 'X' in key 2", ":3:33: "},
        {"err-odd-hex.txt", IBC_ERR_KEY_FILE, "odd number of hex digits (31) in key 2", ":3:3: "},
        {"err-key-short.txt", IBC_ERR_KEY_FILE, "key 2 too short: 15 bytes (allowed: 16, 24 or 32)",
         ":2:3: "},
        {"err-key-long.txt", IBC_ERR_KEY_FILE, "key 3 too long: 48 bytes (allowed: 16, 24 or 32)",
         ":2:3: "},
        {"err-id-zero.txt", IBC_ERR_KEY_FILE, "key id 0 is not allowed", ":2:1: "},
        {"err-id-range.txt", IBC_ERR_KEY_FILE, "key id out of range (the largest is 4294967295)",
         ":2:1: "},
        {"err-missing-semicolon.txt", IBC_ERR_KEY_FILE,
         "missing ';' right after key id 2, found ' '", ":2:2: "},
        {"err-duplicate.txt", IBC_ERR_KEY_FILE, "duplicate key id 2 (first defined at line 2)",
         ":6:1: "},
        {"err-no-key1.txt", IBC_ERR_KEY_FILE, "key id 1 is missing", NULL},
        {"err-empty.txt", IBC_ERR_KEY_FILE, "file is empty", NULL},
        {"err-comments-only.txt", IBC_ERR_KEY_FILE, "no keys in the file", NULL},
        {"err-syntax.txt", IBC_ERR_KEY_FILE, "expected a key id or '#', found 'k'", ":2:1: "},
        {"err-nul.txt", IBC_ERR_KEY_FILE, "control byte 0x00 in key file", ":2:61: "},
        {"err-bom.txt", IBC_ERR_KEY_FILE, "UTF-8 byte order mark", ":1:1: "},
        {"err-missing-key.txt", IBC_ERR_KEY_FILE, "missing key after '2;'", ":2:3: "},
        {"good.enc", IBC_ERR_KEY_FILE, "encrypted key file: give --keyfile-key", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *path = path_of(cases[i].file);
        char err[512];
        ibc_keyring *kr = (ibc_keyring *)&kr; /* must be reset to NULL */
        ibc_status st = ibc_keyring_load(path, NULL, &kr, err, sizeof(err));
        TU_CHECK(st == cases[i].st, "%s: status %s, want %s (%s)", cases[i].file, ibc_strerror(st),
                 ibc_strerror(cases[i].st), err);
        TU_CHECK(kr == NULL, "%s: *out not NULL on failure", cases[i].file);
        TU_CHECK(strncmp(err, path, strlen(path)) == 0,
                 "%s: message does not start with the file name: %s", cases[i].file, err);
        const char *rest = err + strlen(path);
        if (cases[i].pos)
            TU_CHECK(strncmp(rest, cases[i].pos, strlen(cases[i].pos)) == 0,
                     "%s: want position %s: %s", cases[i].file, cases[i].pos, err);
        else
            TU_CHECK(strncmp(rest, ": ", 2) == 0, "%s: want no position: %s", cases[i].file, err);
        TU_CHECK(strstr(err, cases[i].want), "%s: message lacks \"%s\": %s", cases[i].file,
                 cases[i].want, err);
        TU_CHECK(!strchr(err, '\n'), "%s: message is not one line", cases[i].file);
        size_t len;
        uint8_t *text = slurp(path, &len);
        TU_CHECK(text, "read %s", path);
        int leak = leaks_key_hex(err, text, len);
        /* ibc_keyring_parse says the same about the same bytes, under the given name. */
        char err2[512];
        st = ibc_keyring_parse(text, len, path, NULL, &kr, err2, sizeof(err2));
        free(text);
        TU_CHECK(!leak, "%s: message contains key hex: %s", cases[i].file, err);
        TU_CHECK(st == cases[i].st && strcmp(err, err2) == 0, "%s: parse says %s", cases[i].file,
                 err2);
    }
}

static void test_file_size_limit_is_one_mib(void)
{
    /* Exactly 1 MiB: key 1 and a comment filling the rest. Accepted. */
    size_t max = 1 << 20;
    char *buf = malloc(max + 1);
    TU_CHECK(buf, "malloc");
    int n = snprintf(buf, max, "1;%s\n#", good_keys[0].hex);
    memset(buf + n, 'x', max + 1 - (size_t)n);
    ibc_keyring *kr = NULL;
    char err[256];
    ibc_status st = ibc_keyring_parse(buf, max, "big", NULL, &kr, err, sizeof(err));
    ibc_keyring_free(kr);
    TU_CHECK(st == IBC_OK, "1 MiB file refused: %s", err);
    st = ibc_keyring_parse(buf, max + 1, "big", NULL, &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "big: file is larger than 1 MiB"),
             "1 MiB + 1: %s", err);
    const char *tmp = write_temp(buf, max + 1);
    free(buf);
    TU_CHECK(tmp, "temp file");
    st = ibc_keyring_load(tmp, NULL, &kr, err, sizeof(err));
    unlink(tmp);
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "file is larger than 1 MiB"), "load: %s", err);
}

static void test_unreadable_file_reports_errno(void)
{
    char err[256];
    ibc_keyring *kr = NULL;
    errno = 0;
    ibc_status st = ibc_keyring_load("/nonexistent/ibc/keys.txt", NULL, &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_IO && errno == ENOENT, "missing file: %s errno %d", ibc_strerror(st),
             errno);
    TU_CHECK(strcmp(err, "/nonexistent/ibc/keys.txt: cannot open: No such file or directory") == 0,
             "message: %s", err);
    st = ibc_keyring_load(path_of(""), NULL, &kr, err, sizeof(err)); /* a directory */
    TU_CHECK(st == IBC_ERR_IO && errno == EISDIR && strstr(err, "cannot read: Is a directory"),
             "directory: %s", err);
}

static void test_secret_errors(void)
{
    char err[512], enc[1024];
    ibc_keyring *kr = NULL;
    snprintf(enc, sizeof(enc), "%s", path_of("good.enc"));

    ibc_status st = ibc_keyring_load(enc, file_key("secret-wrong.txt"), &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, ": cannot decrypt: wrong secret?"),
             "wrong secret: %s", err);
    TU_CHECK(!strstr(err, "not the secret"), "secret in message: %s", err);

    st = ibc_keyring_load(path_of("good.txt"), file_key("secret.txt"), &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "not encrypted, but a secret was given"),
             "plain file with a secret: %s", err);

    st = ibc_keyring_load(enc, file_key("no-such-secret"), &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_IO && strstr(err, "no-such-secret: No such file or directory"),
             "missing secret file: %s", err);

    unsetenv("IBC_TEST_NO_SUCH_VAR");
    st = ibc_keyring_load(enc, "ENV:IBC_TEST_NO_SUCH_VAR", &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "'IBC_TEST_NO_SUCH_VAR'") &&
                 strstr(err, "is not set"),
             "unset variable: %s", err);

    setenv("IBC_TEST_EMPTY", "", 1);
    st = ibc_keyring_load(enc, "ENV:IBC_TEST_EMPTY", &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "is empty"), "empty variable: %s", err);
    unsetenv("IBC_TEST_EMPTY");

    char longsecret[300];
    memset(longsecret, 's', sizeof(longsecret) - 1);
    longsecret[sizeof(longsecret) - 1] = 0;
    setenv("IBC_TEST_LONG", longsecret, 1);
    st = ibc_keyring_load(enc, "ENV:IBC_TEST_LONG", &kr, err, sizeof(err));
    unsetenv("IBC_TEST_LONG");
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "longer than 256 bytes"), "long env: %s", err);
    TU_CHECK(!strstr(err, "ssssssss"), "secret in message: %s", err);

    /* 257 bytes in a file (plus a newline, which is stripped) is too long; 256 is not. */
    char fk[128];
    longsecret[257] = '\n';
    const char *tmp = write_temp(longsecret, 258);
    TU_CHECK(tmp, "temp file");
    snprintf(fk, sizeof(fk), "FILE:%s", tmp);
    st = ibc_keyring_load(enc, fk, &kr, err, sizeof(err));
    unlink(tmp);
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "longer than 256 bytes"), "long file: %s", err);
    longsecret[256] = '\n';
    tmp = write_temp(longsecret, 257);
    TU_CHECK(tmp, "temp file");
    snprintf(fk, sizeof(fk), "FILE:%s", tmp);
    st = ibc_keyring_load(enc, fk, &kr, err, sizeof(err));
    unlink(tmp);
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "cannot decrypt: wrong secret?"),
             "256-byte secret must be read (and be wrong): %s", err);

    tmp = write_temp("\r\n", 2);
    TU_CHECK(tmp, "temp file");
    snprintf(fk, sizeof(fk), "FILE:%s", tmp);
    st = ibc_keyring_load(enc, fk, &kr, err, sizeof(err));
    unlink(tmp);
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "is empty"), "empty secret file: %s", err);

    snprintf(fk, sizeof(fk), "FILE:%s", tu_data_dir()); /* opens, but read fails */
    st = ibc_keyring_load(enc, fk, &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_IO && errno == EISDIR &&
                 strstr(err, "cannot read the key file secret") && strstr(err, "Is a directory"),
             "secret is a directory: %s", err);

    tmp = write_temp("ibdcrypt\0test secret\n", 21);
    TU_CHECK(tmp, "temp file");
    snprintf(fk, sizeof(fk), "FILE:%s", tmp);
    st = ibc_keyring_load(enc, fk, &kr, err, sizeof(err));
    unlink(tmp);
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "contains a NUL byte"), "NUL in secret: %s",
             err);

    st = ibc_keyring_load(enc, "ibdcrypt test secret", &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_INVALID_ARG && strstr(err, "FILE:/path or ENV:NAME") &&
                 !strstr(err, "ibdcrypt test secret"),
             "literal secret: %s", err);
}

/* Encrypt text the way `openssl enc -aes-256-cbc -md sha1` does, with a fixed salt. */
static size_t salted_encrypt(const char *secret, const uint8_t *in, size_t len, uint8_t *out)
{
    static const uint8_t salt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t key[32], iv[16];
    EVP_BytesToKey(EVP_aes_256_cbc(), EVP_sha1(), salt, (const uint8_t *)secret,
                   (int)strlen(secret), 1, key, iv);
    memcpy(out, "Salted__", 8);
    memcpy(out + 8, salt, 8);
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    EVP_EncryptInit_ex(cx, EVP_aes_256_cbc(), NULL, key, iv);
    EVP_EncryptUpdate(cx, out + 16, &n1, in, (int)len);
    EVP_EncryptFinal_ex(cx, out + 16 + n1, &n2);
    EVP_CIPHER_CTX_free(cx);
    return 16 + (size_t)n1 + (size_t)n2;
}

static void test_damaged_encrypted_files(void)
{
    char err[512];
    ibc_keyring *kr = NULL;
    size_t len;
    uint8_t *enc = slurp(path_of("good.enc"), &len);
    TU_CHECK(enc, "read good.enc");
    setenv("IBC_TEST_KEYFILE_SECRET", "ibdcrypt test secret", 1);
    const char *fk = "ENV:IBC_TEST_KEYFILE_SECRET";
    ibc_status st1 = ibc_keyring_parse(enc, len - 1, "e", fk, &kr, err, sizeof(err));
    int ok1 = strstr(err, "e: encrypted key file is truncated or damaged") != NULL;
    ibc_status st2 = ibc_keyring_parse(enc, 12, "e", fk, &kr, err, sizeof(err));
    int ok2 = strstr(err, "no room for the salt") != NULL;
    ibc_status st3 = ibc_keyring_parse(enc, 16, "e", fk, &kr, err, sizeof(err));
    int ok3 = strstr(err, "0 bytes of ciphertext") != NULL;
    /* A flipped bit in the last block breaks the padding, like a wrong secret. */
    enc[len - 1] ^= 0x80;
    ibc_status st4 = ibc_keyring_parse(enc, len, "e", fk, &kr, err, sizeof(err));
    int ok4 = strstr(err, "cannot decrypt: wrong secret?") != NULL;
    free(enc);
    TU_CHECK(st1 == IBC_ERR_KEY_FILE && ok1, "truncated");
    TU_CHECK(st2 == IBC_ERR_KEY_FILE && ok2, "no salt");
    TU_CHECK(st3 == IBC_ERR_KEY_FILE && ok3, "no ciphertext");
    TU_CHECK(st4 == IBC_ERR_KEY_FILE && ok4, "bad padding");

    /* Valid padding but binary content: how a wrong secret looks 1 time in 256. */
    uint8_t bin[64], out[96];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (uint8_t)(i * 37 + 1);
    size_t n = salted_encrypt("ibdcrypt test secret", bin, sizeof(bin), out);
    ibc_status st = ibc_keyring_parse(out, n, "e", fk, &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "e: cannot decrypt: wrong secret? (the "
                                                   "decrypted data is not text"),
             "binary plaintext: %s", err);
    /* An encrypted text with a syntax error reports its line and column like a plain one. */
    const char *text = "1;0123456789abcdef0123456789ABCDEF\n2;xyz\n";
    n = salted_encrypt("ibdcrypt test secret", (const uint8_t *)text, strlen(text), out);
    st = ibc_keyring_parse(out, n, "e", fk, &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "e:2:3: invalid hex digit 'x' in key 2") &&
                 !leaks_key_hex(err, (const uint8_t *)text, strlen(text)),
             "encrypted syntax error: %s", err);
    /* An encrypted empty text. */
    n = salted_encrypt("ibdcrypt test secret", (const uint8_t *)"", 0, out);
    st = ibc_keyring_parse(out, n, "e", fk, &kr, err, sizeof(err));
    TU_CHECK(st == IBC_ERR_KEY_FILE && strstr(err, "decrypted key file is empty"), "empty: %s",
             err);
    unsetenv("IBC_TEST_KEYFILE_SECRET");
}

static void test_message_buffer_is_optional_and_truncated(void)
{
    ibc_keyring *kr = NULL;
    const char *p = path_of("err-duplicate.txt");
    TU_CHECK(ibc_keyring_load(p, NULL, &kr, NULL, 0) == IBC_ERR_KEY_FILE, "no buffer");
    char small[8];
    memset(small, 'z', sizeof(small));
    TU_CHECK(ibc_keyring_load(p, NULL, &kr, small, sizeof(small)) == IBC_ERR_KEY_FILE, "small");
    TU_CHECK(strlen(small) == sizeof(small) - 1, "truncated message not terminated");
    TU_CHECK(ibc_keyring_load(NULL, NULL, &kr, NULL, 0) == IBC_ERR_INVALID_ARG, "NULL path");
    TU_CHECK(ibc_keyring_load(p, NULL, NULL, NULL, 0) == IBC_ERR_INVALID_ARG, "NULL out");
    TU_CHECK(ibc_keyring_parse(NULL, 1, "x", NULL, &kr, NULL, 0) == IBC_ERR_INVALID_ARG,
             "NULL data");
    char err[64];
    TU_CHECK(ibc_keyring_parse(NULL, 0, NULL, NULL, &kr, err, sizeof(err)) == IBC_ERR_KEY_FILE &&
                 strstr(err, "file is empty"),
             "empty, unnamed: %s", err);
}

/* Ids around the limits and whitespace forms, parsed from memory. */
static void test_edge_lines(void)
{
    static const struct {
        const char *text;
        int ok;
        uint32_t id; /* the second key when ok */
    } cases[] = {
        {"1;00112233445566778899aabbccddeeff\n4294967295;00112233445566778899aabbccddeeff", 1,
         4294967295u},
        {"1;00112233445566778899aabbccddeeff\n0000000042;00112233445566778899aabbccddeeff\n", 1,
         42},
        {"1;00112233445566778899aabbccddeeff\n \t\v\f\r7;00112233445566778899aabbccddeeff#x", 1, 7},
        {"1;00112233445566778899aabbccddeeff\n8;00112233445566778899aabbccddeeffzz", 1, 8},
        {"1;00112233445566778899aabbccddeeff\n99999999999999999999;00", 0, 0},
        {"1;00112233445566778899aabbccddeeff\n-1;00112233445566778899aabbccddeeff", 0, 0},
        {"1;00112233445566778899aabbccddeeff\n5", 0, 0},
        {"1;00112233445566778899aabbccddeeff\n5;", 0, 0},
        {"1;00112233445566778899aabbccddeeff\n5 # ;00", 0, 0},
        {"1;00112233445566778899aabbccddeeff\n9;\x7f", 0, 0},
        {"1;00112233445566778899aabbccddeeff\n6;\xc3\xa9", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ibc_keyring *kr = NULL;
        char err[256];
        ibc_status st = ibc_keyring_parse(cases[i].text, strlen(cases[i].text), "m", NULL, &kr, err,
                                          sizeof(err));
        uint32_t id = 0, ver = 0;
        int good = st == IBC_OK && ibc_keyring_count(kr) == 2 &&
                   ibc_keyring_entry(kr, 1, &id, &ver) == IBC_OK && id == cases[i].id;
        ibc_keyring_free(kr);
        if (cases[i].ok)
            TU_CHECK(good, "case %zu should parse: %s", i, err);
        else
            TU_CHECK(st == IBC_ERR_KEY_FILE && strncmp(err, "m:2:", 4) == 0 &&
                         !leaks_key_hex(err, (const uint8_t *)cases[i].text, strlen(cases[i].text)),
                     "case %zu should fail on line 2: %s", i, err);
    }
}

static void test_add_get_entry_count(void)
{
    ibc_keyring *kr = ibc_keyring_new();
    TU_CHECK(kr, "new");
    TU_CHECK(ibc_keyring_count(kr) == 0, "empty count");
    uint8_t key[IBC_KEY_MAX], got[IBC_KEY_MAX];
    size_t len;
    TU_CHECK(ibc_keyring_get(kr, 1, 1, got, &len) == IBC_ERR_KEY_MISSING, "get from empty");
    /* 300 random distinct (id, version) pairs; each key derived from them. */
    enum { N = 300 };
    static uint32_t ids[N], vers[N];
    size_t n = 0;
    while (n < N) {
        uint32_t id = (uint32_t)tu_rand_below(50) + 1, ver = (uint32_t)tu_rand_below(8) + 1;
        if (tu_rand_below(10) == 0)
            id = 0xffffffffu - (uint32_t)tu_rand_below(3);
        size_t klen = 16 + 8 * (size_t)((id + ver) % 3);
        for (size_t i = 0; i < klen; i++)
            key[i] = (uint8_t)(id * 31 + ver * 7 + i);
        ibc_status st = ibc_keyring_add(kr, id, ver, key, klen);
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= ids[j] == id && vers[j] == ver;
        if (dup) {
            TU_CHECK(st == IBC_ERR_INVALID_ARG, "duplicate (%u,%u) accepted", id, ver);
            continue;
        }
        TU_CHECK(st == IBC_OK, "add (%u,%u): %s", id, ver, ibc_strerror(st));
        ids[n] = id;
        vers[n] = ver;
        n++;
    }
    TU_CHECK(ibc_keyring_count(kr) == N, "count %zu", ibc_keyring_count(kr));
    uint64_t prev = 0;
    for (size_t i = 0; i < N; i++) {
        uint32_t id, ver;
        TU_CHECK(ibc_keyring_entry(kr, i, &id, &ver) == IBC_OK, "entry %zu", i);
        uint64_t cur = (uint64_t)id << 32 | ver;
        TU_CHECK(cur > prev, "entry %zu not ascending", i);
        prev = cur;
        TU_CHECK(ibc_keyring_get(kr, id, ver, got, &len) == IBC_OK, "get (%u,%u)", id, ver);
        size_t klen = 16 + 8 * (size_t)((id + ver) % 3);
        for (size_t k = 0; k < klen; k++)
            key[k] = (uint8_t)(id * 31 + ver * 7 + k);
        TU_CHECK(len == klen && memcmp(got, key, len) == 0, "key (%u,%u) differs", id, ver);
    }
    uint32_t eid, ever;
    TU_CHECK(ibc_keyring_entry(kr, N, &eid, &ever) == IBC_ERR_INVALID_ARG, "entry past the end");
    TU_CHECK(ibc_keyring_entry(kr, 0, NULL, &ever) == IBC_ERR_INVALID_ARG, "entry NULL id");
    TU_CHECK(ibc_keyring_get(kr, 51, 1, got, &len) == IBC_ERR_KEY_MISSING, "absent id");
    TU_CHECK(ibc_keyring_get(kr, 1, 9, got, &len) == IBC_ERR_KEY_MISSING, "absent version");
    TU_CHECK(ibc_keyring_add(kr, 0, 1, key, 16) == IBC_ERR_INVALID_ARG, "id 0");
    TU_CHECK(ibc_keyring_add(kr, 100, 0, key, 16) == IBC_ERR_INVALID_ARG, "version 0");
    TU_CHECK(ibc_keyring_add(kr, 100, 1, key, 20) == IBC_ERR_INVALID_ARG, "length 20");
    TU_CHECK(ibc_keyring_add(kr, 100, 1, key, 0) == IBC_ERR_INVALID_ARG, "length 0");
    TU_CHECK(ibc_keyring_add(kr, 100, 1, NULL, 16) == IBC_ERR_INVALID_ARG, "NULL key");
    TU_CHECK(ibc_keyring_add(NULL, 100, 1, key, 16) == IBC_ERR_INVALID_ARG, "NULL keyring");
    ibc_keyring_free(kr);
    ibc_keyring_free(NULL);
    TU_CHECK(ibc_keyring_count(NULL) == 0, "count NULL");
}

static void test_add_to_a_loaded_keyring(void)
{
    ibc_keyring *kr = NULL;
    char err[256];
    TU_CHECK(ibc_keyring_load(path_of("good.txt"), NULL, &kr, err, sizeof(err)) == IBC_OK, "%s",
             err);
    uint8_t key[16] = {9}, got[IBC_KEY_MAX];
    size_t len;
    ibc_status dup = ibc_keyring_add(kr, 2, 1, key, 16); /* the file's key 2, version 1 */
    ibc_status v2 = ibc_keyring_add(kr, 2, 2, key, 16);
    ibc_status g = ibc_keyring_get(kr, 2, 2, got, &len);
    uint32_t id = 0, ver = 0;
    ibc_keyring_entry(kr, 2, &id, &ver);
    size_t count = ibc_keyring_count(kr);
    ibc_keyring_free(kr);
    TU_CHECK(dup == IBC_ERR_INVALID_ARG, "duplicate of a file key accepted");
    TU_CHECK(v2 == IBC_OK && g == IBC_OK && len == 16 && got[0] == 9, "version 2 of key 2");
    TU_CHECK(count == N_GOOD + 1 && id == 2 && ver == 2, "order after add: %u/%u", id, ver);
}

/* ---- callback keyrings ------------------------------------------------------------------- */

typedef struct cb_ctx {
    int calls;
    size_t len_on_entry;
} cb_ctx;

static int cb_fn(void *vctx, uint32_t id, uint32_t version, uint8_t *key, size_t *len)
{
    cb_ctx *c = vctx;
    c->calls++;
    c->len_on_entry = *len;
    if (id == 7 && version == 3) {
        for (int i = 0; i < 24; i++)
            key[i] = (uint8_t)(0xa0 + i);
        *len = 24;
        return 0;
    }
    if (id == 8) { /* a broken provider: a length no AES key has */
        memset(key, 0x55, 20);
        *len = 20;
        return 0;
    }
    return 1;
}

static void test_callback_keyring(void)
{
    TU_CHECK(ibc_keyring_new_callback(NULL, NULL) == NULL, "NULL callback accepted");
    cb_ctx c = {0, 0};
    ibc_keyring *kr = ibc_keyring_new_callback(cb_fn, &c);
    TU_CHECK(kr, "new_callback");
    uint8_t got[IBC_KEY_MAX], want[24];
    size_t len = 99;
    for (int i = 0; i < 24; i++)
        want[i] = (uint8_t)(0xa0 + i);
    ibc_status st = ibc_keyring_get(kr, 7, 3, got, &len);
    int calls1 = c.calls;
    size_t entry_len = c.len_on_entry, len_hit = len;
    int same = memcmp(got, want, 24) == 0;
    ibc_status miss = ibc_keyring_get(kr, 7, 1, got, &len);
    size_t len_miss = len;
    memset(got, 0, sizeof(got));
    ibc_status bad = ibc_keyring_get(kr, 8, 1, got, &len);
    int untouched = got[0] == 0 && len == 0;
    char fp_cb[IBC_FINGERPRINT_LEN + 1], fp_st[IBC_FINGERPRINT_LEN + 1];
    ibc_status fst = ibc_keyring_fingerprint(kr, 7, 3, fp_cb);
    uint32_t id, ver;
    ibc_status ent = ibc_keyring_entry(kr, 0, &id, &ver);
    size_t count = ibc_keyring_count(kr);
    ibc_status add = ibc_keyring_add(kr, 1, 1, want, 16);
    ibc_keyring_free(kr);

    TU_CHECK(st == IBC_OK && calls1 == 1 && len_hit == 24 && same, "callback get");
    TU_CHECK(entry_len == IBC_KEY_MAX, "*len on entry %zu, want IBC_KEY_MAX", entry_len);
    TU_CHECK(miss == IBC_ERR_KEY_MISSING && len_miss == 0, "callback miss");
    TU_CHECK(bad == IBC_ERR_KEY_MISSING && untouched, "bad length from the callback");
    TU_CHECK(count == 0 && ent == IBC_ERR_INVALID_ARG, "callback keyrings do not enumerate");
    TU_CHECK(add == IBC_ERR_INVALID_ARG, "add to a callback keyring");
    /* The fingerprint goes through the callback and equals that of the same stored key. */
    ibc_keyring *st_kr = ibc_keyring_new();
    TU_CHECK(st_kr && ibc_keyring_add(st_kr, 7, 3, want, 24) == IBC_OK, "stored twin");
    ibc_status fst2 = ibc_keyring_fingerprint(st_kr, 7, 3, fp_st);
    ibc_keyring_free(st_kr);
    TU_CHECK(fst == IBC_OK && fst2 == IBC_OK && strcmp(fp_cb, fp_st) == 0, "fingerprints %s vs %s",
             fp_cb, fp_st);
}

/* ---- fingerprints ------------------------------------------------------------------------ */

/* Known answers: the first 16 hex digits of
 *   SHA-256("ibdcrypt key fingerprint v1" || BE32(id) || BE32(version) || key)
 * computed with python3 (hashlib.sha256(b"ibdcrypt key fingerprint v1" +
 * struct.pack(">II", id, ver) + bytes.fromhex(key)).hexdigest()[:16]); the first checked
 * again with `openssl dgst -sha256`. These must never change: reports and logs of older
 * runs name keys by them. */
static void test_fingerprint_known_answers(void)
{
    static const struct {
        uint32_t id, ver;
        const char *key, *fp;
    } kat[] = {
        {1, 1, "0123456789abcdef0123456789ABCDEF", "a9caf5167763a797"},
        {1, 2, "0123456789abcdef0123456789ABCDEF", "e602e7322d65fa52"},
        {2, 1, "0123456789abcdef0123456789ABCDEF", "5515a268e98a1145"},
        {2, 1, "000102030405060708090a0b0c0d0e0f1011121314151617", "05adf012250e7d24"},
        {3, 1, "F5502320F8429037B8DAEF761B189D12F5502320F8429037B8DAEF761B189D12",
         "7ac0c90acc3ddc7b"},
        {4294967295u, 1, "770A8A65DA156D24EE2A093277530142", "2a6c07a8228902bd"},
    };
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        uint8_t key[IBC_KEY_MAX];
        long n = tu_hex_parse(kat[i].key, key, sizeof(key));
        ibc_keyring *kr = ibc_keyring_new();
        TU_CHECK(kr && ibc_keyring_add(kr, kat[i].id, kat[i].ver, key, (size_t)n) == IBC_OK,
                 "add %zu", i);
        char fp[IBC_FINGERPRINT_LEN + 1], none[IBC_FINGERPRINT_LEN + 1];
        memset(fp, 'z', sizeof(fp));
        memset(none, 'z', sizeof(none));
        ibc_status st = ibc_keyring_fingerprint(kr, kat[i].id, kat[i].ver, fp);
        ibc_status miss = ibc_keyring_fingerprint(kr, kat[i].id, kat[i].ver + 1, none);
        ibc_keyring_free(kr);
        TU_CHECK(st == IBC_OK, "fingerprint %zu", i);
        TU_CHECK(miss == IBC_ERR_KEY_MISSING && none[0] == 0, "fingerprint of a missing key");
        TU_CHECK(strlen(fp) == IBC_FINGERPRINT_LEN && strcmp(fp, kat[i].fp) == 0,
                 "case %zu: %s, want %s", i, fp, kat[i].fp);
    }
}

/* The fingerprints of the keys of good.txt are all different, and the same through the
 * encrypted twin. */
static void test_fingerprints_differ_and_are_stable(void)
{
    ibc_keyring *a = NULL, *b = NULL;
    char err[256];
    TU_CHECK(ibc_keyring_load(path_of("good.txt"), NULL, &a, err, sizeof(err)) == IBC_OK, "%s",
             err);
    ibc_status st =
        ibc_keyring_load(path_of("good.enc"), file_key("secret.txt"), &b, err, sizeof(err));
    char fa[N_GOOD][IBC_FINGERPRINT_LEN + 1], fb[IBC_FINGERPRINT_LEN + 1];
    int same = st == IBC_OK, distinct = 1;
    for (size_t i = 0; i < N_GOOD && same; i++) {
        ibc_keyring_fingerprint(a, good_keys[i].id, 1, fa[i]);
        ibc_keyring_fingerprint(b, good_keys[i].id, 1, fb);
        same &= strcmp(fa[i], fb) == 0;
        for (size_t j = 0; j < i; j++)
            distinct &= strcmp(fa[i], fa[j]) != 0;
    }
    ibc_keyring_free(a);
    ibc_keyring_free(b);
    TU_CHECK(same, "fingerprints differ between good.txt and good.enc (%s)", err);
    TU_CHECK(distinct, "two keys share a fingerprint");
    TU_CHECK(strcmp(fa[0], "a9caf5167763a797") == 0, "key 1 of good.txt: %s", fa[0]);
}

TU_TESTS(TU_T(test_good_file_every_accepted_form), TU_T(test_encrypted_file_matches_plain_twin),
         TU_T(test_error_files_name_file_line_and_column), TU_T(test_file_size_limit_is_one_mib),
         TU_T(test_unreadable_file_reports_errno), TU_T(test_secret_errors),
         TU_T(test_damaged_encrypted_files), TU_T(test_message_buffer_is_optional_and_truncated),
         TU_T(test_edge_lines), TU_T(test_add_get_entry_count), TU_T(test_add_to_a_loaded_keyring),
         TU_T(test_callback_keyring), TU_T(test_fingerprint_known_answers),
         TU_T(test_fingerprints_differ_and_are_stable))
