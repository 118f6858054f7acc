/*
 * test_manifest.c - the reader of a backup's manifest (tools/manifest.c): what it keeps of a
 * manifest as backup writes it (names with escapes and bytes that are not UTF-8 included),
 * and what it refuses, with a message: text that is not JSON, a JSON document that is not a
 * backup's manifest, a file without its size or CRC, a name listed twice, nesting without
 * end. Random damage to a real manifest never crashes it (ASan in CI).
 */
#include <stdlib.h>
#include <string.h>

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

TU_TESTS(TU_T(test_a_manifest_as_backup_writes_it), TU_T(test_what_is_not_a_manifest),
         TU_T(test_damaged_manifests_never_crash))
