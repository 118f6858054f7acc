/*
 * fuzz_keyfile.c - libFuzzer target: the key file parser, ibc_keyring_parse, plain and
 * encrypted.
 *
 * The first input byte picks a mode and the size of the message buffer; the rest is the file.
 *   mode 0: parse the bytes as a key file without a secret;
 *   mode 1: encrypt the bytes as `openssl enc -aes-256-cbc -md sha1` would (fixed salt and
 *           secret) and parse that with the secret. The outcome must equal mode 0's on the
 *           same bytes: the same status and, on success, the same keys - decryption must be a
 *           transparent layer over the text parser;
 *   mode 2: parse the bytes as they are with the secret (damaged "Salted__" files; the seed
 *           corpus has tests/keys/good.enc, which this secret opens).
 * Whatever the input: on success the keyring holds key id 1, lists strictly ascending
 * (id, version 1) entries and gives every key back with get and fingerprint; on failure *out
 * is NULL; the message always fits its buffer, is one NUL-terminated line, and never quotes 8
 * consecutive hex digits (with a letter among them) of anything that follows a ';' in the
 * file - a message must never carry key material.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "ibdcrypt/ibdcrypt.h"

#define SECRET_VAR "IBC_FUZZ_KEYFILE_SECRET"
#define SECRET     "ibdcrypt test secret" /* tests/keys/secret.txt */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv(SECRET_VAR, SECRET, 1);
    return 0;
}

static void require(int cond)
{
    if (!cond)
        abort();
}

/* `openssl enc -aes-256-cbc -md sha1 -S 0102030405060708 -pass pass:SECRET` */
static uint8_t *encrypt_like_openssl(const uint8_t *in, size_t len, size_t *out_len)
{
    static const uint8_t salt[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t key[32], iv[16];
    uint8_t *out = malloc(len + 32);
    require(out != NULL);
    require(EVP_BytesToKey(EVP_aes_256_cbc(), EVP_sha1(), salt, (const uint8_t *)SECRET,
                           (int)strlen(SECRET), 1, key, iv) == 32);
    memcpy(out, "Salted__", 8);
    memcpy(out + 8, salt, 8);
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    require(cx && EVP_EncryptInit_ex(cx, EVP_aes_256_cbc(), NULL, key, iv) &&
            EVP_EncryptUpdate(cx, out + 16, &n1, in, (int)len) &&
            EVP_EncryptFinal_ex(cx, out + 16 + n1, &n2));
    EVP_CIPHER_CTX_free(cx);
    *out_len = 16 + (size_t)n1 + (size_t)n2;
    return out;
}

static int is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Does msg contain 8 consecutive hex digits, one of them a letter, of a run after a ';'? */
static int quotes_key_hex(const char *msg, const uint8_t *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < len && is_hex(text[j]))
            j++;
        for (size_t s = i + 1; s + 8 <= j; s++) {
            int letter = 0;
            for (size_t k = s; k < s + 8; k++)
                letter |= text[k] > '9';
            if (!letter)
                continue;
            for (const char *m = msg; *m; m++)
                if (strncasecmp(m, (const char *)text + s, 8) == 0)
                    return 1;
        }
    }
    return 0;
}

/* Parse and check the invariants that hold for any input. */
static ibc_status parse_checked(const uint8_t *file, size_t len, const char *filekey, size_t errlen,
                                const uint8_t *text, size_t text_len, ibc_keyring **out)
{
    /* An exact-size buffer, so ASan catches a write past errlen; errlen 0 gets a byte that
     * must stay untouched. */
    char *err = malloc(errlen ? errlen : 1);
    require(err != NULL);
    err[0] = 'Z';
    ibc_keyring *kr = (ibc_keyring *)&kr;
    ibc_status st = ibc_keyring_parse(file, len, "fuzz", filekey, &kr, err, errlen);
    if (errlen == 0) {
        require(err[0] == 'Z');
    } else {
        require(memchr(err, 0, errlen) != NULL && !strchr(err, '\n'));
        size_t shown = strlen(err); /* the message, maybe truncated, starts with the name */
        require(st == IBC_OK ? shown == 0 : strncmp(err, "fuzz", shown < 4 ? shown : 4) == 0);
        require(!quotes_key_hex(err, text, text_len));
    }
    free(err);
    if (st != IBC_OK) {
        require(kr == NULL && st == IBC_ERR_KEY_FILE);
        return st;
    }
    size_t n = ibc_keyring_count(kr);
    require(n >= 1);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t id, ver;
        uint8_t key[IBC_KEY_MAX];
        size_t klen;
        char fp[IBC_FINGERPRINT_LEN + 1];
        require(ibc_keyring_entry(kr, i, &id, &ver) == IBC_OK && ver == 1);
        require(i > 0 || id == 1);
        require(((uint64_t)id << 32 | ver) > prev);
        prev = (uint64_t)id << 32 | ver;
        require(ibc_keyring_get(kr, id, ver, key, &klen) == IBC_OK);
        require(klen == 16 || klen == 24 || klen == 32);
        require(ibc_keyring_fingerprint(kr, id, ver, fp) == IBC_OK && strlen(fp) == 16);
    }
    *out = kr;
    return st;
}

/* Same keys, same order? */
static int same_keys(const ibc_keyring *a, const ibc_keyring *b)
{
    size_t n = ibc_keyring_count(a);
    if (n != ibc_keyring_count(b))
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t ia, va, ib, vb;
        uint8_t ka[IBC_KEY_MAX], kb[IBC_KEY_MAX];
        size_t la, lb;
        ibc_keyring_entry(a, i, &ia, &va);
        ibc_keyring_entry(b, i, &ib, &vb);
        if (ia != ib || va != vb)
            return 0;
        ibc_keyring_get(a, ia, va, ka, &la);
        ibc_keyring_get(b, ib, vb, kb, &lb);
        if (la != lb || memcmp(ka, kb, la) != 0)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t errlens[4] = {256, 0, 1, 24};
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 3;
    size_t errlen = errlens[(data[0] / 3) % 4];
    const uint8_t *text = data + 1;
    size_t len = size - 1;
    ibc_keyring *plain = NULL, *enc = NULL;

    if (mode == 2) {
        parse_checked(text, len, "ENV:" SECRET_VAR, errlen, text, len, &enc);
        ibc_keyring_free(enc);
        return 0;
    }
    ibc_status sp = parse_checked(text, len, NULL, errlen, text, len, &plain);
    if (mode == 1) {
        size_t clen;
        uint8_t *ct = encrypt_like_openssl(text, len, &clen);
        ibc_status se = parse_checked(ct, clen, "ENV:" SECRET_VAR, errlen, text, len, &enc);
        free(ct);
        require(se == sp);
        require(sp != IBC_OK || same_keys(plain, enc));
        ibc_keyring_free(enc);
    }
    ibc_keyring_free(plain);
    return 0;
}
