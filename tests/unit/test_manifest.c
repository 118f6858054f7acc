/*
 * test_manifest.c - the reader of a backup's manifest (tools/manifest.c): what it keeps of a
 * manifest as backup writes it (names with escapes and bytes that are not UTF-8 included),
 * and what it refuses, with a message: text that is not JSON, a JSON document that is not a
 * backup's manifest, a file without its size or CRC, a name listed twice, nesting without
 * end. Random damage to a real manifest never crashes it (ASan in CI).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "manifest.h"
#include "testutil.h"

#define GOOD                                                                                       \
    "{\"command\":\"backup "                                                                       \
    "--deep\",\"version\":\"0.1.0\",\"source\":\"/d\",\"keys\":[{\"key_id\":1,"                    \
    "\"key_version\":1,\"fingerprint\":\"8a395f3bfa9647d8\"}],\"files\":["                         \
    "{\"path\":\"ibdata1\",\"kind\":\"system\",\"pages\":{\"total\":768,\"bad\":0},"               \
    "\"bad_pages\":[],\"bytes\":12582912,\"crc32c\":\"48942a9f\",\"verdict\":\"ok\"},"             \
    "{\"path\":\"db/q\\\"uote\\\\back\\u0001ctl\",\"bytes\":0,\"crc32c\":\"00000000\"},"           \
    "{\"path\":\"db/caf\\u00e9 \\ud83d\\ude00 raw\xff\",\"bytes\":18446744073709551615,"           \
    "\"crc32c\":\"FFFFFFFF\",\"x\":[1.5e3,-2,true,false,null,{\"a\":[]}]}"                         \
    "],\"summary\":{\"files\":3,\"seconds\":0.088,\"verdict\":\"ok\"}}\n"

static void test_a_manifest_as_backup_writes_it(void)
{
    manifest m;
    char err[256];
    TU_CHECK(manifest_parse(GOOD, strlen(GOOD), &m, err, sizeof(err)) == 0, "refused: %s", err);
    TU_CHECK(m.n == 3, "%zu files", m.n);
    mf_entry *e = manifest_find(&m, "ibdata1");
    TU_CHECK(e && e->bytes == 12582912 && e->crc32c == 0x48942a9fu, "ibdata1");
    e = manifest_find(&m, "db/q\"uote\\back\001ctl");
    TU_CHECK(e && e->bytes == 0 && e->crc32c == 0, "escaped name");
    e = manifest_find(&m, "db/caf\xc3\xa9 \xf0\x9f\x98\x80 raw\xff");
    TU_CHECK(e && e->bytes == UINT64_MAX && e->crc32c == 0xffffffffu, "UTF-8 and raw bytes");
    TU_CHECK(!manifest_find(&m, "ibdata2") && !manifest_find(&m, "ibdata"), "no such file");
    manifest_free(&m);
}

static void refused(const char *text, const char *why)
{
    manifest m;
    char err[256] = "";
    TU_CHECK(manifest_parse(text, strlen(text), &m, err, sizeof(err)) != 0, "accepted: %s", text);
    TU_CHECK(strstr(err, why) != NULL, "%s: message '%s', wanted '%s'", text, err, why);
    TU_CHECK(m.n == 0 && m.v == NULL, "a refused manifest keeps nothing");
}

static void test_what_is_not_a_manifest(void)
{
    refused("", "expected '{'");
    refused("[]", "expected '{'");
    refused("{\"command\":\"verify\",\"files\":[]}", "not the manifest of an ibdcrypt backup");
    refused("{\"command\":\"backup\"}", "not the manifest of an ibdcrypt backup");
    refused("{\"command\":\"backup\",\"files\":[{\"path\":\"a\",\"bytes\":1}]}",
            "lacks its path, bytes or crc32c");
    refused("{\"command\":\"backup\",\"files\":[{\"bytes\":1,\"crc32c\":\"00000000\"}]}",
            "lacks its path");
    refused("{\"command\":\"backup\",\"files\":[{\"path\":\"a\",\"bytes\":-1,\"crc32c\":"
            "\"00000000\"}]}",
            "not a size");
    refused("{\"command\":\"backup\",\"files\":[{\"path\":\"a\",\"bytes\":1.5,\"crc32c\":"
            "\"00000000\"}]}",
            "not a size");
    refused("{\"command\":\"backup\",\"files\":[{\"path\":\"a\",\"bytes\":1,\"crc32c\":\"1234\"}]}",
            "not 8 hex digits");
    refused(
        "{\"command\":\"backup\",\"files\":[{\"path\":\"a\",\"bytes\":1,\"crc32c\":\"-1234567\"}]}",
        "not 8 hex digits");
    refused(
        "{\"command\":\"backup\",\"files\":[{\"path\":\"a\",\"bytes\":1,\"crc32c\":\"00000000\"},"
        "{\"path\":\"a\",\"bytes\":2,\"crc32c\":\"00000001\"}]}",
        "lists a twice");
    refused("{\"command\":\"backup\",\"files\":[]} x", "text after");
    refused("{\"command\":\"backup\",\"files\":[{\"path\":\"a\\q\",\"bytes\":1,\"crc32c\":"
            "\"00000000\"}]}",
            "bad escape");
    refused("{\"command\":\"backup\",\"files\":[{\"path\":\"a\\u12\",\"bytes\":1,\"crc32c\":"
            "\"00000000\"}]}",
            "\\u escape");
    refused("{\"command\":\"backup\",\"files\":[{\"path\":\"a\\u0000b\",\"bytes\":1,\"crc32c\":"
            "\"00000000\"}]}",
            "NUL");
    refused("{\"command\":\"backup\",\"files\":[{\"path\":\"a\nb\",\"bytes\":1,\"crc32c\":"
            "\"00000000\"}]}",
            "control character");
    refused("{\"command\":\"backup\",\"files\":[],\"x\":\"unterminated", "unterminated string");
    refused("{\"command\":\"backup\",\"files\":[],\"x\":01}", "bad number");
    char deep[400] = "{\"command\":\"backup\",\"files\":[],\"x\":";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    refused(deep, "nested too deep");
}

static void test_damaged_manifests_never_crash(void)
{
    size_t n = strlen(GOOD);
    char *w = malloc(n + 1);
    int accepted = 0;
    for (int t = 0; t < 20000; t++) {
        memcpy(w, GOOD, n + 1);
        size_t len = tu_rand_below(4) ? n : (size_t)tu_rand_below(n + 1);
        for (int k = 1 + (int)tu_rand_below(3); k > 0; k--)
            w[tu_rand_below(len ? len : 1)] = (char)tu_rand_below(256);
        manifest m;
        char err[256];
        if (manifest_parse(w, len, &m, err, sizeof(err)) == 0) {
            accepted++;
            for (size_t i = 0; i < m.n; i++)
                TU_CHECK(manifest_find(&m, m.v[i].path) == &m.v[i], "lookup of an entry");
            manifest_free(&m);
        }
    }
    free(w);
    TU_CHECK(accepted > 0 && accepted < 20000, "%d of 20000 damaged manifests accepted", accepted);
}

/* A scratch directory for manifest_write (mkdtemp's template: six X replaced), and the path
 * of the manifest in it; scratch_done removes both. */
typedef struct scratch {
    char dir[32], path[64];
} scratch;

static void scratch_new(scratch *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/ibc-manifest-%s", "XXXXXX");
    TU_CHECK(mkdtemp(t->dir) != NULL, "mkdtemp");
    snprintf(t->path, sizeof(t->path), "%s/m.json", t->dir);
}

static void scratch_done(scratch *t)
{
    unlink(t->path);
    rmdir(t->dir);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *b = f ? malloc(1 << 16) : NULL;
    *len = b ? fread(b, 1, (1 << 16) - 1, f) : 0;
    if (b)
        b[*len] = 0;
    if (f)
        fclose(f);
    return b;
}

/* manifest_write (prepare): the sizes and CRCs of the entries marked, "prepared" added, then
 * replaced by a second prepare; every other byte of the text as it was */
static void test_a_manifest_rewritten(void)
{
    scratch sd;
    scratch_new(&sd);
    char *path = sd.path, err[256];
    FILE *f = fopen(path, "w");
    fputs(GOOD, f);
    fclose(f);
    manifest m;
    TU_CHECK(manifest_load_text(path, &m, err, sizeof(err)) == 0, "load: %s", err);
    TU_CHECK(!m.prepared_plan && m.text && m.len == strlen(GOOD), "no \"prepared\" yet");
    mf_entry *e = manifest_find(&m, "ibdata1");
    e->crc32c = 0x0badf00d;
    e->update = 1;
    e = manifest_find(&m, "db/q\"uote\\back\001ctl");
    e->bytes = 123456789012ull;
    e->crc32c = 0xfedcba98;
    e->update = 1;
    TU_CHECK(manifest_write(&m, path, "{\"plan\":\"0123456789abcdef\",\"n\":[1]}") == 0,
             "write");
    manifest_free(&m);
    size_t len;
    char *t = slurp(path, &len);
    const char *want_a = "\"bytes\":12582912,\"crc32c\":\"0badf00d\"";
    const char *want_b = "\"bytes\":123456789012,\"crc32c\":\"fedcba98\"";
    const char *tail = "\"summary\":{\"files\":3,\"seconds\":0.088,\"verdict\":\"ok\"},"
                       "\"prepared\":{\"plan\":\"0123456789abcdef\",\"n\":[1]}}\n";
    TU_CHECK(t && strstr(t, want_a) && strstr(t, want_b) && strstr(t, tail), "rewritten: %s", t);
    /* the rest unchanged: the text with the old values put back is the original */
    TU_CHECK(t && len == strlen(GOOD) + 11 + strlen(",\"prepared\":{\"plan\":\"0123456789abcdef\","
                                                   "\"n\":[1]}"),
             "length %zu", len);
    TU_CHECK(t && !strncmp(t, GOOD, (size_t)(strstr(GOOD, "48942a9f") - GOOD)),
             "the text before the first change");
    free(t);
    TU_CHECK(manifest_load_text(path, &m, err, sizeof(err)) == 0, "reload: %s", err);
    TU_CHECK(m.prepared_plan && !strcmp(m.prepared_plan, "0123456789abcdef") && !m.prepared_by,
             "plan read back, no command");
    e = manifest_find(&m, "db/q\"uote\\back\001ctl");
    TU_CHECK(e && e->bytes == 123456789012ull && e->crc32c == 0xfedcba98, "values read back");
    TU_CHECK(manifest_write(&m, path, "{\"command\":\"rekey\",\"plan\":\"ffffffffffffffff\"}") ==
                 0,
             "write again");
    manifest_free(&m);
    t = slurp(path, &len);
    TU_CHECK(t &&
                 strstr(t, ",\"prepared\":{\"command\":\"rekey\","
                           "\"plan\":\"ffffffffffffffff\"}}\n") &&
                 !strstr(t, "0123456789abcdef"),
             "\"prepared\" replaced: %s", t);
    free(t);
    TU_CHECK(manifest_load_text(path, &m, err, sizeof(err)) == 0 && m.n == 3 &&
                 !strcmp(m.prepared_plan, "ffffffffffffffff") && m.prepared_by &&
                 !strcmp(m.prepared_by, "rekey"),
             "reload: %s", err);
    manifest_free(&m);
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%s.ibdcrypt-new", path);
    TU_CHECK(access(tmp, F_OK) != 0, "temporary file left");
    scratch_done(&sd);
}

/* manifest_write on damaged manifests that still parse (with and without a "prepared"
 * already): what it writes parses again, with every entry, the new values where marked, the
 * old ones elsewhere, and the new plan */
static void test_rewritten_manifests_read_back(void)
{
    scratch sd;
    scratch_new(&sd);
    char *path = sd.path, err[256];
    static const char prep[] = "\"prepared\":{\"plan\":\"aaaaaaaaaaaaaaaa\",\"x\":[1]},";
    size_t n = strlen(GOOD), np = strlen(prep);
    char *w = malloc(n + np + 1);
    int written = 0;
    for (int t = 0; t < 4000 && written < 150; t++) {
        size_t len = n;
        memcpy(w, GOOD, n + 1);
        if (t % 2) { /* a manifest prepared before */
            memmove(w + 1 + np, w + 1, n);
            memcpy(w + 1, prep, np);
            len += np;
        }
        for (int k = (int)tu_rand_below(3); k > 0; k--)
            w[tu_rand_below(len)] = (char)tu_rand_below(256);
        manifest m, r;
        if (manifest_parse(w, len, &m, err, sizeof(err)))
            continue;
        m.text = malloc(len + 1);
        memcpy(m.text, w, len);
        m.text[len] = 0;
        m.len = len;
        uint64_t bytes[8];
        uint32_t crcs[8];
        for (size_t i = 0; i < m.n && i < 8; i++) {
            m.v[i].update = (int)tu_rand_below(2);
            if (m.v[i].update) {
                m.v[i].bytes = tu_rand_below(2) ? tu_rand_below(100) : UINT64_MAX - tu_rand_below(9);
                m.v[i].crc32c = (uint32_t)tu_rand_below(0xffffffffu);
            }
            bytes[i] = m.v[i].bytes;
            crcs[i] = m.v[i].crc32c;
        }
        TU_CHECK(manifest_write(&m, path, "{\"plan\":\"0123456789abcdef\"}") == 0, "write");
        written++;
        TU_CHECK(manifest_load_text(path, &r, err, sizeof(err)) == 0, "rewritten manifest %d: %s",
                 t, err);
        TU_CHECK(r.n == m.n && r.prepared_plan && !strcmp(r.prepared_plan, "0123456789abcdef"),
                 "manifest %d: %zu entries for %zu, plan %s", t, r.n, m.n,
                 r.prepared_plan ? r.prepared_plan : "(none)");
        for (size_t i = 0; i < m.n && i < 8 && r.n == m.n; i++) {
            mf_entry *e = manifest_find(&r, m.v[i].path);
            TU_CHECK(e && e->bytes == bytes[i] && e->crc32c == crcs[i],
                     "manifest %d entry %zu read back", t, i);
        }
        manifest_free(&r);
        manifest_free(&m);
    }
    free(w);
    TU_CHECK(written >= 100, "only %d damaged manifests parsed", written);
    scratch_done(&sd);
}

TU_TESTS(TU_T(test_a_manifest_as_backup_writes_it), TU_T(test_what_is_not_a_manifest),
         TU_T(test_damaged_manifests_never_crash), TU_T(test_a_manifest_rewritten),
         TU_T(test_rewritten_manifests_read_back))
